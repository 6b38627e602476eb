"""RMSprop (torch.optim.RMSprop): alpha, eps, weight decay, momentum, centered."""
from pydl.creation import zeros_like
from pydl.optim import functional as F
from pydl.optim.optimizer import Optimizer, check_hyperparameters


class RMSprop(Optimizer):
    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0, centered=False,
                 maximize=False):
        check_hyperparameters("RMSprop", lr=lr, eps=eps, momentum=momentum, weight_decay=weight_decay, alpha=alpha)
        super().__init__(params, dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay, momentum=momentum,
                                      centered=centered, maximize=maximize))

    def _update(self, g, params, grads):
        states = [self._state(p, g) for p in params]
        F.rmsprop(params, grads, [s["square_avg"] for s in states],
                  [s["grad_avg"] for s in states] if g["centered"] else None,
                  [s["momentum_buffer"] for s in states] if g["momentum"] > 0 else None,
                  lr=g["lr"], alpha=g["alpha"], eps=g["eps"], weight_decay=g["weight_decay"],
                  momentum=g["momentum"], centered=g["centered"], maximize=g["maximize"])
        for s in states:
            s["step"] += 1

    def _state(self, p, g):
        s = self.state_of(p)
        if not s:
            s.update(step=0, square_avg=zeros_like(p))
        if g["centered"] and "grad_avg" not in s:
            s["grad_avg"] = zeros_like(p)
        if g["momentum"] > 0 and "momentum_buffer" not in s:
            s["momentum_buffer"] = zeros_like(p)
        return s
