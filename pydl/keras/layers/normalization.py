"""BatchNormalization over the last axis (channels_last), on pydl's fused batch_norm kernel."""
import pydl
from pydl.autograd.grad_mode import no_grad
from pydl.keras import initializers
from pydl.keras.layers.core import float_input
from pydl.keras.layers.layer import Layer
from pydl.nn import functional as F


class BatchNormalization(Layer):
    """Keras's defaults: axis=-1, momentum=0.99 (moving = 0.99 * moving + 0.01 * batch; PyTorch's
    momentum=0.01), epsilon=1e-3. In training it normalizes with the batch statistics and updates the
    moving ones; otherwise (and always when the layer is frozen, trainable=False, as Keras) it uses the
    moving statistics. The moving variance follows the biased batch variance, as Keras's (PyTorch's
    running_var follows the unbiased one)."""

    def __init__(self, axis=-1, momentum=0.99, epsilon=1e-3, center=True, scale=True, beta_initializer="zeros",
                 gamma_initializer="ones", moving_mean_initializer="zeros", moving_variance_initializer="ones",
                 **kwargs):
        super().__init__(**kwargs)
        if not 0.0 <= momentum <= 1.0:
            raise ValueError(f"BatchNormalization: momentum must be in [0, 1], got {momentum}")
        self.axis, self.momentum, self.epsilon, self.center, self.scale = axis, momentum, epsilon, center, scale
        self.beta_initializer, self.gamma_initializer = beta_initializer, gamma_initializer
        self.moving_mean_initializer = moving_mean_initializer
        self.moving_variance_initializer = moving_variance_initializer

    def build(self, input_shape):
        ndim = len(input_shape)
        axis = self.axis if self.axis >= 0 else ndim + self.axis
        if not 0 < axis < ndim or input_shape[axis] is None:
            raise ValueError(f"BatchNormalization '{self.name}': axis {self.axis} is not a known feature axis of an "
                             f"input of shape {input_shape}")
        self._axis = axis
        n = (input_shape[axis],)
        self.gamma = self.add_weight(shape=n, initializer=initializers.get(self.gamma_initializer), name="gamma") \
            if self.scale else None
        self.beta = self.add_weight(shape=n, initializer=initializers.get(self.beta_initializer), name="beta") \
            if self.center else None
        self.moving_mean = self.add_weight(shape=n, initializer=self.moving_mean_initializer, name="moving_mean",
                                           trainable=False)
        self.moving_variance = self.add_weight(shape=n, initializer=self.moving_variance_initializer,
                                               name="moving_variance", trainable=False)

    def call(self, inputs, training=None):
        inputs = float_input(self, inputs)
        c = self.moving_mean.shape[0]
        if inputs.dim() <= self._axis or inputs.shape[self._axis] != c:
            raise ValueError(f"BatchNormalization '{self.name}': expected {c} features on axis {self.axis}, got an "
                             f"input of shape {tuple(inputs.shape)}")
        order = list(range(inputs.dim()))  # the kernel's channels are dim 1
        order.insert(1, order.pop(self._axis))
        x = inputs if self._axis == 1 else inputs.permute(*order)
        if training and self.trainable:
            # the kernel's momentum-1 "running" statistics are the batch's: the mean and the unbiased variance
            batch_mean, batch_var = pydl.zeros_like(self.moving_mean), pydl.zeros_like(self.moving_variance)
            y = F.batch_norm(x, batch_mean, batch_var, self.gamma, self.beta, True, 1.0, self.epsilon)
            n = x.numel() // c
            with no_grad():
                self.moving_mean.mul_(self.momentum).add_(batch_mean * (1.0 - self.momentum))
                self.moving_variance.mul_(self.momentum).add_(batch_var * ((1.0 - self.momentum) * (n - 1) / n))
        else:
            y = F.batch_norm(x, self.moving_mean, self.moving_variance, self.gamma, self.beta, False, 0.0,
                             self.epsilon)
        return y if self._axis == 1 else y.permute(*[order.index(d) for d in range(len(order))])
