"""Conv2d (NCHW, weight (C_out, C_in / groups, kH, kW)), ConvTranspose2d (weight (C_in,
C_out / groups, kH, kW)), their 1-d forms and Conv3d, with PyTorch's default init."""
import math

from pydl.creation import empty
from pydl.nn import functional as F
from pydl.nn import init
from pydl.nn.functional.conv import conv2d_relu, conv2d_relu_max_pool2d
from pydl.nn.functional.pooling import max_pool_window
from pydl.nn.module import Module, Parameter


def _pair(v):
    return tuple(v) if isinstance(v, (tuple, list)) else (v, v)


def _single(v):
    return tuple(v) if isinstance(v, (tuple, list)) else (v,)


def _triple(v):
    return tuple(v) if isinstance(v, (tuple, list)) else (v, v, v)


class _ConvNd(Module):
    """The parameters and init shared by the convolutions: weight (C_out, C_in / groups, *k), or
    (C_in, C_out / groups, *k) when transposed; PyTorch's kaiming-uniform init, the bias bound
    from the weight's fan-in (its dim 1 times the kernel's extent)."""

    def __init__(self, name, in_channels, out_channels, kernel_size, transposed, groups, bias, device, dtype):
        super().__init__()
        if in_channels <= 0 or out_channels <= 0:
            raise ValueError(f"{name}: channel counts must be positive, got {in_channels} and {out_channels}")
        if groups <= 0 or in_channels % groups or out_channels % groups:
            raise ValueError(f"{name}: groups={groups} must be positive and divide in_channels={in_channels} "
                             f"and out_channels={out_channels}")
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size, self.groups = kernel_size, groups
        dims = (in_channels, out_channels // groups) if transposed else (out_channels, in_channels // groups)
        self.weight = Parameter(empty(*dims, *kernel_size, device=device, dtype=dtype))
        if bias:
            self.bias = Parameter(empty(out_channels, device=device, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self):
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in = self.weight.shape[1] * math.prod(self.kernel_size)
            bound = 1 / math.sqrt(fan_in)
            init.uniform_(self.bias, -bound, bound)

    def extra_repr(self):
        s = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        for name, default in (("padding", 0), ("output_padding", 0), ("dilation", 1)):
            value = getattr(self, name, None)
            if value is not None and value != (default,) * len(self.kernel_size):
                s += f", {name}={value}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        return s


class Conv2d(_ConvNd):
    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1, bias=True,
                 device=None, dtype=None):
        super().__init__("Conv2d", in_channels, out_channels, _pair(kernel_size), False, groups, bias, device, dtype)
        self.stride, self.dilation = _pair(stride), _pair(dilation)
        self.padding = padding if isinstance(padding, str) else _pair(padding)  # or 'same' / 'valid'

    def forward(self, x):
        return F.conv2d(x, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups)

    def forward_relu(self, x):
        """relu(self(x)) in one pass: Sequential calls this for Conv2d followed by ReLU."""
        return conv2d_relu(x, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups)

    def forward_relu_max_pool(self, x, pool):
        """pool(relu(self(x))) as one node: Sequential calls this for Conv2d, ReLU, MaxPool2d."""
        window = max_pool_window(pool.kernel_size, pool.stride, pool.padding, pool.dilation)
        return conv2d_relu_max_pool2d(x, self.weight, self.bias, self.stride, self.padding, self.dilation,
                                      self.groups, window, pool.ceil_mode)


class Conv3d(_ConvNd):
    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1, bias=True,
                 device=None, dtype=None):
        super().__init__("Conv3d", in_channels, out_channels, _triple(kernel_size), False, groups, bias, device, dtype)
        self.stride, self.padding, self.dilation = _triple(stride), _triple(padding), _triple(dilation)

    def forward(self, x):
        return F.conv3d(x, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups)


class Conv1d(_ConvNd):
    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1, bias=True,
                 device=None, dtype=None):
        super().__init__("Conv1d", in_channels, out_channels, _single(kernel_size), False, groups, bias, device, dtype)
        self.stride, self.dilation = _single(stride), _single(dilation)
        self.padding = padding if isinstance(padding, str) else _single(padding)

    def forward(self, x):
        return F.conv1d(x, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups)


class ConvTranspose2d(_ConvNd):
    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, output_padding=0, groups=1,
                 bias=True, dilation=1, device=None, dtype=None):
        super().__init__("ConvTranspose2d", in_channels, out_channels, _pair(kernel_size), True, groups, bias, device,
                         dtype)
        self.stride, self.padding, self.output_padding = _pair(stride), _pair(padding), _pair(output_padding)
        self.dilation = _pair(dilation)

    def forward(self, x):
        return F.conv_transpose2d(x, self.weight, self.bias, self.stride, self.padding, self.output_padding,
                                  self.groups, self.dilation)


class ConvTranspose1d(_ConvNd):
    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, output_padding=0, groups=1,
                 bias=True, dilation=1, device=None, dtype=None):
        super().__init__("ConvTranspose1d", in_channels, out_channels, _single(kernel_size), True, groups, bias,
                         device, dtype)
        self.stride, self.padding, self.output_padding = _single(stride), _single(padding), _single(output_padding)
        self.dilation = _single(dilation)

    def forward(self, x):
        return F.conv_transpose1d(x, self.weight, self.bias, self.stride, self.padding, self.output_padding,
                                  self.groups, self.dilation)
