"""``DistributedDataParallel``: one model replica per rank, gradients averaged during backward."""
import contextlib

from pydl import distributed as dist
from pydl.autograd.grad_mode import is_grad_enabled, no_grad
from pydl.creation import tensor as make_tensor
from pydl.distributed.group import default_group
from pydl.nn.module import Module
from pydl.nn.parallel.reducer import Reducer


class DistributedDataParallel(Module):
    """Wraps ``module`` for data-parallel training on the default process group, as
    torch.nn.parallel.DistributedDataParallel: at construction every rank checks that its
    parameters and buffers have the shapes rank 0's have, then takes rank 0's values; each
    ``backward()`` all-reduces (averages) the gradients in buckets while it runs and returns with
    them in ``.grad``; each forward first broadcasts rank 0's buffers (batch-norm running
    statistics) when ``broadcast_buffers``. Parameters that a step does not use count zero
    gradients. ``no_sync()`` skips the all-reduce for gradient accumulation."""

    def __init__(self, module, device_ids=None, output_device=None, dim=0, broadcast_buffers=True,
                 process_group=None, bucket_cap_mb=25, find_unused_parameters=False, gradient_as_bucket_view=False,
                 static_graph=False):
        super().__init__()
        op = "DistributedDataParallel"
        if not isinstance(module, Module):
            raise TypeError(f"{op}: module should be a pydl.nn.Module, got {type(module).__name__}")
        if process_group is not None:
            raise ValueError(f"{op}: only the default process group (process_group=None) is supported")
        if not bucket_cap_mb > 0:
            raise ValueError(f"{op}: bucket_cap_mb should be positive, got {bucket_cap_mb}")
        dist.get_world_size()  # raises when no process group is initialized
        self.module = module
        self.broadcast_buffers = bool(broadcast_buffers)
        self.bucket_cap_mb = bucket_cap_mb
        self.require_backward_grad_sync = True
        params = [p for p in module.parameters() if p.requires_grad]
        _verify_shapes_across_ranks(module)
        _broadcast_from_rank0([p for p in module.parameters()] + [b for b in module.buffers()])
        object.__setattr__(self, "reducer", Reducer(params, bucket_cap_mb))

    def forward(self, *args, **kwargs):
        if self.broadcast_buffers and dist.get_world_size() > 1:
            _broadcast_from_rank0(list(self.module.buffers()))
        if is_grad_enabled() and self.require_backward_grad_sync:
            self.reducer.armed = True
        return self.module(*args, **kwargs)

    @contextlib.contextmanager
    def no_sync(self):
        """Backward passes of forwards run inside accumulate their gradients locally; the first one
        after it all-reduces the accumulated gradients."""
        previous = self.require_backward_grad_sync
        self.require_backward_grad_sync = False
        try:
            yield
        finally:
            self.require_backward_grad_sync = previous

    def extra_repr(self):
        return f"world_size={dist.get_world_size()}, bucket_cap_mb={self.bucket_cap_mb}"


def _broadcast_from_rank0(tensors):
    with no_grad():
        works = [dist.broadcast(t, 0, async_op=True) for t in tensors]
        for w in works:
            w.wait()


def _signature(module):
    """Every parameter's and buffer's dtype code, ndim and sizes, as one list of ints."""
    sig = []
    for t in list(module.parameters()) + list(module.buffers()):
        sig += [t.dtype.code, t.dim(), *t.shape]
    return sig


def _verify_shapes_across_ranks(module):
    """Raises on every rank, naming the first mismatch, when a rank's model differs from rank 0's."""
    size = dist.get_world_size()
    if size == 1:
        return
    device = default_group("DistributedDataParallel").device
    sig = _signature(module)
    lengths = [make_tensor([0], device=device) for _ in range(size)]
    dist.all_gather(lengths, make_tensor([len(sig)], device=device))
    lengths = [int(t.item()) for t in lengths]
    longest = max(lengths)
    mine = make_tensor(sig + [-1] * (longest - len(sig)), device=device)
    gathered = [make_tensor([0] * longest, device=device) for _ in range(size)]
    dist.all_gather(gathered, mine)
    sigs = [gathered[r].tolist()[:lengths[r]] for r in range(size)]
    bad = [r for r in range(size) if sigs[r] != sigs[0]]
    if not bad:
        return
    names = [n for n, _ in module.named_parameters()] + [n for n, _ in module.named_buffers()]
    raise ValueError(f"DistributedDataParallel: rank(s) {', '.join(map(str, bad))} hold a model that differs from "
                     f"rank 0's (parameters and buffers must have the same shapes and dtypes on every rank): "
                     f"{_first_difference(sigs[bad[0]], bad[0], sigs[0], names)}")


def _first_difference(sig, rank, reference, names):
    i = j = 0
    for name in names:
        if i >= len(sig) or j >= len(reference):
            break
        theirs, ours = sig[i:i + 2 + sig[i + 1]], reference[j:j + 2 + reference[j + 1]]
        if theirs != ours:
            return f"'{name}' has {_describe(theirs)} on rank {rank}, {_describe(ours)} on rank 0"
        i, j = i + len(theirs), j + len(ours)
    return f"rank {rank} has a different number of parameters and buffers"


def _describe(entry):
    from pydl._dtype import DTYPES

    return f"shape {tuple(entry[2:])} {DTYPES[entry[0]].name}"
