"""Adagrad (torch.optim.Adagrad): lr decay, weight decay, initial accumulator value."""
from pydl.autograd.grad_mode import no_grad
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
        for g in self.param_groups:  # as PyTorch: the state exists from the start
            for p in g["params"]:
                self.state_of(p).update(step=0, sum=full_like(p, g["initial_accumulator_value"]))

    @no_grad()
    def step(self, closure=None):
        loss = closure() if closure is not None else None
        for g in self.param_groups:
            params, grads = self._with_grads(g)
            if not params:
                continue
            states = [self.state[p] for p in params]
            for s in states:
                s["step"] += 1
            F.adagrad(params, grads, [s["sum"] for s in states], [s["step"] for s in states], lr=g["lr"],
                      lr_decay=g["lr_decay"], weight_decay=g["weight_decay"], eps=g["eps"], maximize=g["maximize"])
        return loss
