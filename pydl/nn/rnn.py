"""Recurrent layers with torch.nn's signatures, gate order and parameter names (so state dicts load
from PyTorch): RNN (tanh or relu), LSTM, GRU, stacked (num_layers) and bidirectional, with dropout
between layers, batch_first, initial states and unbatched inputs; and their one-step cells. Each
layer and direction runs its whole sequence as one Function (pydl/nn/functional/recurrent.py).
A PackedSequence input (nn.utils.rnn) runs as its padded batch with each row's state held past its
length; the output is packed the same way."""
import math

from pydl.creation import empty, tensor, zeros
from pydl.nn import functional as F
from pydl.nn import init
from pydl.nn.functional.recurrent import CELLS, RecurrentLayer
from pydl.nn.module import Module, Parameter
from pydl.ops.shape import cat, stack

__all__ = ["RNN", "LSTM", "GRU", "RNNCell", "LSTMCell", "GRUCell"]

GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}


def _uniform_init(module, hidden_size):
    bound = 1.0 / math.sqrt(hidden_size) if hidden_size > 0 else 0.0
    for p in module.parameters():
        init.uniform_(p, -bound, bound)


class RNNBase(Module):
    def __init__(self, mode, input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
                 bidirectional=False, proj_size=0, device=None, dtype=None):
        super().__init__()
        name = type(self).__name__
        if proj_size:
            raise ValueError(f"{name}: proj_size is not supported")
        if not isinstance(num_layers, int) or num_layers < 1 or hidden_size < 1:
            raise ValueError(f"{name}: expected num_layers >= 1 and hidden_size >= 1, got {num_layers} and "
                             f"{hidden_size}")
        if not 0 <= dropout <= 1:
            raise ValueError(f"{name}: dropout must be in [0, 1], got {dropout}")
        self.mode, self.input_size, self.hidden_size, self.num_layers = mode, input_size, hidden_size, num_layers
        self.bias, self.batch_first, self.dropout = bias, batch_first, float(dropout)
        self.bidirectional, self.proj_size = bidirectional, proj_size
        gates = GATES[mode] * hidden_size
        for layer in range(num_layers):
            for suffix in ("", "_reverse")[:2 if bidirectional else 1]:
                width = input_size if layer == 0 else hidden_size * (2 if bidirectional else 1)
                setattr(self, f"weight_ih_l{layer}{suffix}", Parameter(empty(gates, width, device=device,
                                                                            dtype=dtype)))
                setattr(self, f"weight_hh_l{layer}{suffix}", Parameter(empty(gates, hidden_size, device=device,
                                                                            dtype=dtype)))
                if bias:
                    setattr(self, f"bias_ih_l{layer}{suffix}", Parameter(empty(gates, device=device, dtype=dtype)))
                    setattr(self, f"bias_hh_l{layer}{suffix}", Parameter(empty(gates, device=device, dtype=dtype)))
        self.reset_parameters()

    def reset_parameters(self):
        _uniform_init(self, self.hidden_size)

    def _layer_params(self, layer, suffix):
        get = lambda kind: getattr(self, f"{kind}_l{layer}{suffix}", None)  # noqa: E731
        return get("weight_ih"), get("weight_hh"), get("bias_ih"), get("bias_hh")

    def forward(self, input, hx=None):
        from pydl.nn.utils.rnn import PackedSequence

        name, lstm = type(self).__name__, self.mode == "LSTM"
        packed = input if isinstance(input, PackedSequence) else None
        if packed is not None:
            input, lengths = packed.padded, tensor(packed.lengths, device=packed.padded.device)
            if self.batch_first:  # the packed batch is time-major whatever batch_first says
                input = input.transpose(0, 1)
        else:
            lengths = None
        if input.dim() not in (2, 3) or input.shape[-1] != self.input_size:
            raise ValueError(f"{name}: expected an input of shape (L, {self.input_size}) or (L, N, "
                             f"{self.input_size}) (N and L swapped with batch_first), got {tuple(input.shape)}")
        batched = input.dim() == 3
        x = input if batched else input.unsqueeze(1)
        if batched and self.batch_first:
            x = x.transpose(0, 1)
        steps, batch = x.shape[0], x.shape[1]
        directions = 2 if self.bidirectional else 1
        state_shape = (self.num_layers * directions, batch, self.hidden_size)
        h0, c0 = self._initial_state(hx, batched, state_shape, x, name)
        h_n, c_n = [], []
        for layer in range(self.num_layers):
            outs = []
            for d, suffix in enumerate(("", "_reverse")[:directions]):
                k = layer * directions + d
                out = RecurrentLayer.apply(x, *self._layer_params(layer, suffix), h0[k], c0[k] if lstm else None,
                                           CELLS[self.mode], d == 1, lengths)
                hs = out[:steps] if lstm else out
                outs.append(hs)
                h_n.append(hs[steps - 1] if d == 0 else hs[0])
                if lstm:
                    c_n.append(out[steps])
            x = outs[0] if directions == 1 else cat(outs, -1)
            if self.dropout and self.training and layer < self.num_layers - 1:
                x = F.dropout(x, self.dropout)
        if packed is not None:
            x = PackedSequence(x, packed.lengths, packed.sorted_indices, packed.unsorted_indices)
        elif batched and self.batch_first:
            x = x.transpose(0, 1)
        h_n = stack(h_n)
        if not batched:
            x, h_n = x.squeeze(1), h_n.squeeze(1)
        if lstm:
            c_n = stack(c_n)
            return x, (h_n, c_n if batched else c_n.squeeze(1))
        return x, h_n

    def _initial_state(self, hx, batched, shape, x, name):
        lstm = self.mode == "LSTM"
        if hx is None:
            h0 = zeros(*shape, dtype=x.dtype, device=x.device)
            return h0, (zeros(*shape, dtype=x.dtype, device=x.device) if lstm else None)
        states = tuple(hx) if lstm else (hx,)
        if lstm and len(states) != 2:
            raise ValueError(f"{name}: expected hx = (h0, c0), got {len(states)} tensors")
        fixed = []
        for s in states:
            s = s if batched else s.unsqueeze(1)
            if tuple(s.shape) != shape:
                raise ValueError(f"{name}: expected an initial state of shape {shape if batched else shape[::2]}, "
                                 f"got {tuple(s.shape if batched else s.squeeze(1).shape)}")
            fixed.append(s)
        return fixed[0], (fixed[1] if lstm else None)

    def extra_repr(self):
        s = f"{self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if self.mode == "RNN_RELU":
            s += ", nonlinearity='relu'"
        for key, default in (("bias", True), ("batch_first", False), ("dropout", 0.0), ("bidirectional", False)):
            if getattr(self, key) != default:
                s += f", {key}={getattr(self, key)}"
        return s


class RNN(RNNBase):
    def __init__(self, input_size, hidden_size, num_layers=1, nonlinearity="tanh", bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, device=None, dtype=None):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNN: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
        super().__init__("RNN_" + nonlinearity.upper(), input_size, hidden_size, num_layers, bias, batch_first,
                         dropout, bidirectional, device=device, dtype=dtype)
        self.nonlinearity = nonlinearity


class LSTM(RNNBase):
    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
                 bidirectional=False, proj_size=0, device=None, dtype=None):
        super().__init__("LSTM", input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         proj_size, device, dtype)


class GRU(RNNBase):
    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
                 bidirectional=False, device=None, dtype=None):
        super().__init__("GRU", input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         device=device, dtype=dtype)


class _Cell(Module):
    def __init__(self, mode, input_size, hidden_size, bias, device, dtype):
        super().__init__()
        self.mode, self.input_size, self.hidden_size, self.bias = mode, input_size, hidden_size, bias
        gates = GATES[self.mode] * hidden_size
        self.weight_ih = Parameter(empty(gates, input_size, device=device, dtype=dtype))
        self.weight_hh = Parameter(empty(gates, hidden_size, device=device, dtype=dtype))
        if bias:
            self.bias_ih = Parameter(empty(gates, device=device, dtype=dtype))
            self.bias_hh = Parameter(empty(gates, device=device, dtype=dtype))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        _uniform_init(self, hidden_size)

    def forward(self, input, hx=None):
        name, lstm = type(self).__name__, self.mode == "LSTM"
        if input.dim() not in (1, 2) or input.shape[-1] != self.input_size:
            raise ValueError(f"{name}: expected an input of shape (N, {self.input_size}) or ({self.input_size},), "
                             f"got {tuple(input.shape)}")
        batched = input.dim() == 2
        x = input if batched else input.unsqueeze(0)
        shape = (x.shape[0], self.hidden_size)
        states = [zeros(*shape, dtype=x.dtype, device=x.device)] * (2 if lstm else 1) if hx is None else \
            [s if batched else s.unsqueeze(0) for s in (hx if lstm else (hx,))]
        if any(tuple(s.shape) != shape for s in states):
            raise ValueError(f"{name}: expected states of shape {shape if batched else shape[1:]}")
        out = RecurrentLayer.apply(x.unsqueeze(0), self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh,
                                   states[0], states[1] if lstm else None, CELLS[self.mode], False, None)
        h = out[0] if batched else out[0].squeeze(0)
        if lstm:
            return h, (out[1] if batched else out[1].squeeze(0))
        return h

    def extra_repr(self):
        return f"{self.input_size}, {self.hidden_size}" + ("" if self.bias else ", bias=False")


class RNNCell(_Cell):
    def __init__(self, input_size, hidden_size, bias=True, nonlinearity="tanh", device=None, dtype=None):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNNCell: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
        super().__init__("RNN_" + nonlinearity.upper(), input_size, hidden_size, bias, device, dtype)
        self.nonlinearity = nonlinearity


class LSTMCell(_Cell):
    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None):
        super().__init__("LSTM", input_size, hidden_size, bias, device, dtype)


class GRUCell(_Cell):
    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None):
        super().__init__("GRU", input_size, hidden_size, bias, device, dtype)
