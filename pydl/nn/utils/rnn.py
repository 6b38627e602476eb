"""Variable-length sequences for the recurrent layers, as torch.nn.utils.rnn: pack_padded_sequence,
pad_packed_sequence, pad_sequence, pack_sequence.

A PackedSequence carries PyTorch's fields (data: the steps of all sequences packed time-major,
longest first; batch_sizes; sorted_indices / unsorted_indices) and, for pydl's layers, the padded
(steps, batch, *) tensor and the lengths it came from: nn.RNN / LSTM / GRU run the padded batch with
each row's state held past its length (kernels/common/rnn.h), so nothing is sorted or unpacked."""
import numpy as np

from pydl._C import ArgumentError
from pydl.creation import full, tensor
from pydl.ops.shape import stack
from pydl.tensor import Tensor

__all__ = ["PackedSequence", "pack_padded_sequence", "pad_packed_sequence", "pad_sequence", "pack_sequence"]


class PackedSequence:
    def __init__(self, padded, lengths, sorted_indices=None, unsorted_indices=None):
        """padded: (steps, batch, *) time-major; lengths: a list of ints, one per batch row."""
        self.padded, self.lengths = padded, [int(n) for n in lengths]
        order = np.argsort(-np.asarray(self.lengths), kind="stable")
        self.sorted_indices = sorted_indices
        self.unsorted_indices = unsorted_indices
        steps = max(self.lengths)
        self.batch_sizes = tensor([int(np.sum(np.asarray(self.lengths) > t)) for t in range(steps)])
        self._order = order

    @property
    def data(self):
        """The steps of all sequences, time-major, longest sequence first within a step (PyTorch's layout)."""
        from pydl.ops.indexing import index_select

        batch = len(self.lengths)
        rows = [t * batch + int(b) for t in range(int(self.batch_sizes.shape[0])) for b in self._order
                if self.lengths[int(b)] > t]
        flat = self.padded.reshape(self.padded.shape[0] * batch, *self.padded.shape[2:])
        return index_select(flat, 0, tensor(rows, device=flat.device))

    def to(self, *args, **kwargs):
        return PackedSequence(self.padded.to(*args, **kwargs), self.lengths, self.sorted_indices,
                              self.unsorted_indices)

    def __iter__(self):  # (data, batch_sizes, sorted_indices, unsorted_indices), as PyTorch's namedtuple
        return iter((self.data, self.batch_sizes, self.sorted_indices, self.unsorted_indices))

    def __repr__(self):
        return f"PackedSequence(batch={len(self.lengths)}, lengths={self.lengths})"


def _lengths_list(lengths):
    values = lengths.tolist() if isinstance(lengths, Tensor) else list(lengths)
    return [int(v) for v in values]


def pack_padded_sequence(input, lengths, batch_first=False, enforce_sorted=True):
    """input (steps, batch, *) (or (batch, steps, *)) with each row's valid length."""
    lengths = _lengths_list(lengths)
    padded = input.transpose(0, 1) if batch_first else input
    if len(lengths) != padded.shape[1]:
        raise ArgumentError(f"pack_padded_sequence: expected {padded.shape[1]} lengths (one per sequence), got "
                            f"{len(lengths)}")
    if any(n < 1 or n > padded.shape[0] for n in lengths):
        raise ArgumentError(f"pack_padded_sequence: lengths must lie in [1, {padded.shape[0]}], got {lengths}")
    if enforce_sorted and any(a < b for a, b in zip(lengths, lengths[1:])):
        raise ArgumentError("pack_padded_sequence: lengths must be sorted in decreasing order with "
                            "enforce_sorted=True (pass enforce_sorted=False otherwise)")
    sorted_indices = unsorted_indices = None
    if not enforce_sorted:
        order = np.argsort(-np.asarray(lengths), kind="stable")
        sorted_indices, unsorted_indices = tensor(order.tolist()), tensor(np.argsort(order).tolist())
    return PackedSequence(padded[:max(lengths)], lengths, sorted_indices, unsorted_indices)


def pad_packed_sequence(sequence, batch_first=False, padding_value=0.0, total_length=None):
    """(padded (steps, batch, *) or (batch, steps, *), lengths int64 tensor): zeros (padding_value) past each length."""
    padded, lengths = sequence.padded, sequence.lengths
    steps = padded.shape[0]
    if total_length is not None:
        if total_length < steps:
            raise ArgumentError(f"pad_packed_sequence: total_length {total_length} is shorter than the longest "
                                f"sequence ({steps})")
        if total_length > steps:
            extra = full((total_length - steps,) + tuple(padded.shape[1:]), padding_value, dtype=padded.dtype,
                         device=padded.device)
            from pydl.ops.shape import cat

            padded = cat([padded, extra], 0)
    valid = (np.arange(padded.shape[0])[:, None] < np.asarray(lengths)[None, :])
    mask = tensor(valid, device=padded.device).reshape(tuple(valid.shape) + (1,) * (padded.dim() - 2))
    from pydl.ops.elementwise import where

    out = where(mask, padded, padding_value)
    return (out.transpose(0, 1) if batch_first else out), tensor(lengths)


def pad_sequence(sequences, batch_first=False, padding_value=0.0, padding_side="right"):
    """A list of (length_i, *) tensors -> (max length, batch, *) (or batch first), padded with padding_value."""
    if padding_side not in ("right", "left"):
        raise ArgumentError(f"pad_sequence: padding_side must be 'right' or 'left', got {padding_side!r}")
    longest = max(s.shape[0] for s in sequences)
    rows = []
    for s in sequences:
        gap = longest - s.shape[0]
        if gap:
            from pydl.ops.shape import cat

            pad = full((gap,) + tuple(s.shape[1:]), padding_value, dtype=s.dtype, device=s.device)
            s = cat([s, pad] if padding_side == "right" else [pad, s], 0)
        rows.append(s)
    out = stack(rows, 1)
    return out.transpose(0, 1) if batch_first else out


def pack_sequence(sequences, enforce_sorted=True):
    return pack_padded_sequence(pad_sequence(sequences), [s.shape[0] for s in sequences],
                                enforce_sorted=enforce_sorted)

