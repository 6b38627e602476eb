"""Adagrad (torch.optim.Adagrad): lr decay, weight decay, initial accumulator value."""
from pydl.creation import full_like
from pydl.optim import functional as F
from pydl.optim.optimizer import Optimizer, check_hyperparameters


class Adagrad(Optimizer):
    def __init__(self, params, lr=1e-2, lr_decay=0.0, weight_decay=0.0, initial_accumulator_value=0.0, eps=1e-10,
                 maximize=False):
        check_hyperparameters("Adagrad", lr=lr, lr_decay=lr_decay, weight_decay=weight_decay, eps=eps,
                              initial_accumulator_value=initial_accumulator_value)
        super().__init__(params, dict(lr=lr, lr_decay=lr_decay, weight_decay=weight_decay, eps=eps,
                                      initial_accumulator_value=initial_accumulator_value, maximize=maximize))

    def add_param_group(self, group):
        super().add_param_group(group)
        g = self.param_groups[-1]
        for p in g["params"]:  # as PyTorch: the state exists from the start (groups added later included)
            self._state(p, g)

    def _state(self, p, g):
        s = self.state_of(p)
        if not s:
            s.update(step=0, sum=full_like(p, g["initial_accumulator_value"]))
        return s

    def _update(self, g, params, grads):
        states = [self._state(p, g) for p in params]
        for s in states:
            s["step"] += 1
        F.adagrad(params, grads, [s["sum"] for s in states], [s["step"] for s in states], lr=g["lr"],
                  lr_decay=g["lr_decay"], weight_decay=g["weight_decay"], eps=g["eps"], maximize=g["maximize"])
