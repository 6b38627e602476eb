"""SGD with momentum, dampening, Nesterov and weight decay (torch.optim.SGD)."""
from pydl.optim import functional as F
from pydl.optim.optimizer import Optimizer, check_hyperparameters


class SGD(Optimizer):
    def __init__(self, params, lr=1e-3, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False,
                 maximize=False):
        check_hyperparameters("SGD", lr=lr, momentum=momentum, weight_decay=weight_decay)
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("SGD: Nesterov momentum requires a momentum and zero dampening")
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
                                      nesterov=nesterov, maximize=maximize))

    def _update(self, g, params, grads):
        buffers = [self.state_of(p).get("momentum_buffer") for p in params]
        F.sgd(params, grads, buffers, lr=g["lr"], momentum=g["momentum"], dampening=g["dampening"],
              nesterov=g["nesterov"], weight_decay=g["weight_decay"], maximize=g["maximize"])
        if g["momentum"] != 0:
            for p, b in zip(params, buffers):
                self.state[p]["momentum_buffer"] = b
