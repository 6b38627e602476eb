"""BatchNorm1d / BatchNorm2d: batch statistics in training, running statistics in eval."""
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
