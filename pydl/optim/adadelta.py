"""Adadelta (torch.optim.Adadelta, default lr 1.0)."""
from pydl.creation import zeros_like
from pydl.optim import functional as F
from pydl.optim.optimizer import Optimizer, check_hyperparameters


class Adadelta(Optimizer):
    def __init__(self, params, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0.0, maximize=False):
        check_hyperparameters("Adadelta", lr=lr, rho=rho, eps=eps, weight_decay=weight_decay)
        super().__init__(params, dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, maximize=maximize))

    def _update(self, g, params, grads):
        states = [self._state(p) for p in params]
        F.adadelta(params, grads, [s["square_avg"] for s in states], [s["acc_delta"] for s in states],
                   lr=g["lr"], rho=g["rho"], eps=g["eps"], weight_decay=g["weight_decay"], maximize=g["maximize"])
        for s in states:
            s["step"] += 1

    def _state(self, p):
        s = self.state_of(p)
        if not s:
            s.update(step=0, square_avg=zeros_like(p), acc_delta=zeros_like(p))
        return s
