"""``Optimizer``: parameter groups, per-parameter state, zero_grad, state_dict / load_state_dict,
as torch.optim.Optimizer. Subclasses implement _update(): one multi-tensor kernel call per group."""
import copy

from pydl.autograd.grad_mode import enable_grad, no_grad
from pydl.tensor import Tensor


class Optimizer:
    def __init__(self, params, defaults):
        self.defaults = dict(defaults)
        self.state = {}  # Parameter -> dict of state (Tensors hash by identity)
        self.param_groups = []
        if isinstance(params, (Tensor, set)):  # as torch: a lone tensor or an unordered set is refused
            raise TypeError(f"{type(self).__name__}: params must be an ordered iterable of Tensors or dicts, "
                            f"got {type(params).__name__}")
        params = list(params)
        if not params:
            raise ValueError(f"{type(self).__name__}: got an empty parameter list")
        if not isinstance(params[0], dict):
            params = [{"params": params}]
        for group in params:
            self.add_param_group(group)

    def add_param_group(self, group):
        group = dict(group)
        ps = group["params"]
        group["params"] = [ps] if isinstance(ps, Tensor) else list(ps)
        for p in group["params"]:  # as torch: tensors that do not require grad are kept (and skipped)
            if not isinstance(p, Tensor):
                raise TypeError(f"{type(self).__name__}: can only optimize Tensors, got {type(p).__name__}")
            if not p.is_leaf:
                raise ValueError(f"{type(self).__name__}: can't optimize a non-leaf Tensor")
        for key, value in self.defaults.items():
            group.setdefault(key, value)
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if any(id(p) in seen for p in group["params"]):
            raise ValueError(f"{type(self).__name__}: some parameters appear in more than one parameter group")
        self.param_groups.append(group)

    def zero_grad(self, set_to_none=True):
        for group in self.param_groups:
            for p in group["params"]:
                if set_to_none:
                    p.grad = None
                elif p.grad is not None:
                    p.grad.detach_().zero_()

    @staticmethod
    def _closure_loss(closure):
        """closure() with the graph recorded (step() itself runs under no_grad), as torch."""
        if closure is None:
            return None
        with enable_grad():
            return closure()

    @no_grad()
    def step(self, closure=None):
        """One update of every parameter that has a gradient: one kernel call per group."""
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            params, grads = self._with_grads(group)
            if params:
                self._update(group, params, grads)
        return loss

    def _update(self, group, params, grads):
        raise NotImplementedError

    def _with_grads(self, group):
        """(params, grads) of the group's parameters that have a gradient."""
        ps = [p for p in group["params"] if p.grad is not None]
        return ps, [p.grad for p in ps]

    def state_dict(self):
        """{"state": {index: {name: value}}, "param_groups": [{hyperparameters, "params": [indices]}]}."""
        index, groups = {}, []
        for group in self.param_groups:
            ids = []
            for p in group["params"]:
                index.setdefault(id(p), len(index))
                ids.append(index[id(p)])
            groups.append({**{k: v for k, v in group.items() if k != "params"}, "params": ids})
        state = {index[id(p)]: {k: (v.clone() if isinstance(v, Tensor) else v) for k, v in s.items()}
                 for p, s in self.state.items()}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict):
        groups = state_dict["param_groups"]
        if len(groups) != len(self.param_groups):
            raise ValueError(f"{type(self).__name__}.load_state_dict: {len(groups)} parameter groups in the state dict, "
                             f"{len(self.param_groups)} in the optimizer")
        for saved, group in zip(groups, self.param_groups):
            if len(saved["params"]) != len(group["params"]):
                raise ValueError(f"{type(self).__name__}.load_state_dict: a group has {len(saved['params'])} "
                                 f"parameters in the state dict and {len(group['params'])} in the optimizer")
        params = {}
        for saved, group in zip(groups, self.param_groups):
            for i, p in zip(saved["params"], group["params"]):
                params[int(i)] = p
        state = {}  # built (and checked) in full before the optimizer changes: a refused dict changes nothing
        for i, s in state_dict["state"].items():
            p = params.get(int(i))
            if p is None:
                raise KeyError(f"{type(self).__name__}.load_state_dict: state for unknown parameter index {i}")
            restored = {}
            for k, v in s.items():
                if isinstance(v, Tensor):
                    if k != "step" and tuple(v.shape) != tuple(p.shape):
                        raise ValueError(f"{type(self).__name__}.load_state_dict: state '{k}' of parameter {i} has "
                                         f"shape {tuple(v.shape)}, the parameter {tuple(p.shape)}")
                    v = v.to(p.device, p.dtype) if v.dtype.is_floating_point else v.to(p.device)
                    v = v.clone()
                restored[k] = v
            state[p] = restored
        for saved, group in zip(groups, self.param_groups):
            for k, v in saved.items():
                if k != "params":
                    group[k] = copy.deepcopy(v)
        self.state = state

    def state_of(self, p):
        """The state dict of parameter p (created empty on first use)."""
        s = self.state.get(p)
        if s is None:
            s = self.state[p] = {}
        return s

    def __repr__(self):
        lines = [f"{type(self).__name__} ("]
        for i, g in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines.extend(f"    {k}: {v}" for k, v in sorted(g.items()) if k != "params")
        return "\n".join(lines + [")"])


def check_hyperparameters(name, **values):
    """ValueError for a negative learning rate, momentum, weight decay, eps and friends, as PyTorch."""
    for key, v in values.items():
        if key.startswith("beta"):
            if not 0.0 <= v < 1.0:
                raise ValueError(f"{name}: invalid {key} {v}; expected a value in [0, 1)")
        elif key in ("alpha", "rho"):
            if not 0.0 <= v <= 1.0:
                raise ValueError(f"{name}: invalid {key} {v}; expected a value in [0, 1]")
        elif v < 0.0:
            raise ValueError(f"{name}: invalid {key} {v}; expected a non-negative value")
