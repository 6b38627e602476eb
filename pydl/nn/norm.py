"""BatchNorm1d / BatchNorm2d: batch statistics in training, running statistics in eval. LayerNorm:
each sample normalized over its last dims, in training and eval alike."""
from pydl.creation import ones, tensor, zeros
from pydl.nn import functional as F
from pydl.nn.module import Module, Parameter


class _BatchNorm(Module):
    expected_dims = ()
    expected_layouts = ()

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True, device=None,
                 dtype=None):
        super().__init__()
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        if affine:
            self.weight = Parameter(ones(num_features, device=device, dtype=dtype))
            self.bias = Parameter(zeros(num_features, device=device, dtype=dtype))
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if track_running_stats:
            self.register_buffer("running_mean", zeros(num_features, device=device, dtype=dtype))
            self.register_buffer("running_var", ones(num_features, device=device, dtype=dtype))
            self.register_buffer("num_batches_tracked", tensor(0, device=device))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)

    def reset_running_stats(self):
        if self.track_running_stats:
            self.running_mean.zero_()
            self.running_var.fill_(1.0)
            self.num_batches_tracked.zero_()

    def forward(self, x):
        if x.dim() not in self.expected_dims or x.shape[1] != self.num_features:
            c = self.num_features
            expected = " or ".join(f"{layout.count(',') + 1}-d {layout.format(c=c)}"
                                   for layout in self.expected_layouts)
            raise ValueError(f"{type(self).__name__}({c}): expected a {expected} input, got shape {tuple(x.shape)}")
        use_batch_stats = self.training or not self.track_running_stats
        if self.training and self.track_running_stats:
            self.num_batches_tracked._a.copy_((self.num_batches_tracked + 1)._a)
        return F.batch_norm(x, self.running_mean if self.track_running_stats else None,
                            self.running_var if self.track_running_stats else None, self.weight, self.bias,
                            use_batch_stats, self.momentum, self.eps)

    def extra_repr(self):
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
                f"track_running_stats={self.track_running_stats}")


class BatchNorm1d(_BatchNorm):
    expected_dims = (2, 3)
    expected_layouts = ("(N, {c})", "(N, {c}, L)")


class BatchNorm2d(_BatchNorm):
    expected_dims = (4,)
    expected_layouts = ("(N, {c}, H, W)",)


class LayerNorm(Module):
    """torch.nn.LayerNorm: normalizes over the last dims given by normalized_shape, with a learned
    elementwise weight (ones) and bias (zeros) of that shape when elementwise_affine."""

    def __init__(self, normalized_shape, eps=1e-5, elementwise_affine=True, bias=True, device=None, dtype=None):
        super().__init__()
        shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
        self.normalized_shape, self.eps, self.elementwise_affine = tuple(int(n) for n in shape), eps, elementwise_affine
        if elementwise_affine:
            self.weight = Parameter(ones(*self.normalized_shape, device=device, dtype=dtype))
            if bias:
                self.bias = Parameter(zeros(*self.normalized_shape, device=device, dtype=dtype))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)

    def reset_parameters(self):
        if self.weight is not None:
            self.weight._a.fill_(1.0)
        if self.bias is not None:
            self.bias._a.fill_(0.0)

    def forward(self, x):
        return F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"
