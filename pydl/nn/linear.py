"""Linear (x @ W.T + b, PyTorch's default init) and Identity."""
import math

from pydl.creation import empty
from pydl.nn import init
from pydl.nn.functional.linear import linear, linear_relu
from pydl.nn.module import Module, Parameter


class Linear(Module):
    def __init__(self, in_features, out_features, bias=True, device=None, dtype=None):
        super().__init__()
        if in_features < 0 or out_features < 0:
            raise ValueError(f"Linear: feature counts must be non-negative, got {in_features} and {out_features}")
        self.in_features, self.out_features = in_features, out_features
        self.weight = Parameter(empty(out_features, in_features, device=device, dtype=dtype))
        self.bias = Parameter(empty(out_features, device=device, dtype=dtype)) if bias else None
        if not bias:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self):
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))  # U(-1/sqrt(in), 1/sqrt(in)), as PyTorch
        if self.bias is not None:
            bound = 1 / math.sqrt(self.in_features) if self.in_features > 0 else 0
            init.uniform_(self.bias, -bound, bound)

    def forward(self, x):
        self._check(x)
        return linear(x, self.weight, self.bias)

    def forward_relu(self, x):
        """relu(self(x)) in one GEMM: Sequential calls this for Linear followed by ReLU."""
        self._check(x)
        return linear_relu(x, self.weight, self.bias)

    def _check(self, x):
        """A ValueError naming the layer and both shapes when x's last dimension is not in_features."""
        w = self.weight
        if x.dim() == 0 or x.shape[-1] != w.shape[1]:
            raise ValueError(f"Linear(in_features={self.in_features}, out_features={self.out_features}): input of "
                             f"shape {tuple(x.shape)} does not match weight of shape {tuple(w.shape)} (the input's "
                             f"last dimension must be {w.shape[1]})")

    def extra_repr(self):
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


class Identity(Module):
    def __init__(self, *args, **kwargs):
        super().__init__()

    def forward(self, x):
        return x
