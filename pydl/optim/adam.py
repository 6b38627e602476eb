"""Adam and AdamW (torch.optim.Adam / AdamW), bias-corrected, with optional amsgrad."""
from pydl.creation import zeros_like
from pydl.optim import functional as F
from pydl.optim.optimizer import Optimizer, check_hyperparameters


class Adam(Optimizer):
    decoupled = False

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, amsgrad=False,
                 maximize=False):
        name = type(self).__name__
        check_hyperparameters(name, lr=lr, eps=eps, weight_decay=weight_decay, beta1=betas[0], beta2=betas[1])
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay, amsgrad=amsgrad,
                                      maximize=maximize))

    def _update(self, g, params, grads):
        states = [self._state(p, g["amsgrad"]) for p in params]
        for s in states:
            s["step"] += 1
        F.adam(params, grads, [s["exp_avg"] for s in states], [s["exp_avg_sq"] for s in states],
               [s["max_exp_avg_sq"] for s in states] if g["amsgrad"] else None, [s["step"] for s in states],
               lr=g["lr"], beta1=g["betas"][0], beta2=g["betas"][1], eps=g["eps"],
               weight_decay=g["weight_decay"], amsgrad=g["amsgrad"], maximize=g["maximize"],
               decoupled_weight_decay=self.decoupled)

    def _state(self, p, amsgrad):
        s = self.state_of(p)
        if not s:
            s.update(step=0, exp_avg=zeros_like(p), exp_avg_sq=zeros_like(p))
        if amsgrad and "max_exp_avg_sq" not in s:
            s["max_exp_avg_sq"] = zeros_like(p)
        return s


class AdamW(Adam):
    decoupled = True

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, amsgrad=False,
                 maximize=False):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize)
