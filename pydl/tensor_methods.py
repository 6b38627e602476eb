"""Tensor's operator overloads and op methods, bound to the functions in pydl.ops,
so that ``x.exp()`` and ``pydl.exp(x)`` are the same call."""
from pydl import _C
from pydl.autograd.grad_mode import state as grad_state
from pydl.dlpack import _tensor_dlpack, _tensor_dlpack_device
from pydl.ops import elementwise as ew
from pydl.ops import indexing, linalg, reduction, shape
from pydl.ops import unary as un
from pydl.ops._util import Binary


def _reflected(fn):
    return lambda self, other: fn(other, self)


def _inplace(code):
    def method(self, other, alpha=1):
        return ew.inplace(code, self, other if alpha == 1 else other * alpha)

    return method


def _augmented(code, fallback):
    """x += y: in place when autograd does not need x's old value, else x = x + y."""

    def method(self, other):
        if grad_state.enabled and (self.requires_grad or getattr(other, "requires_grad", False)):
            return fallback(self, other)
        return ew.inplace(code, self, other)

    return method


def _check_writable(t, op):
    if grad_state.enabled and t.requires_grad:
        raise RuntimeError(f"{op}: in-place write into a tensor that requires grad; use pydl.no_grad()")


def _zero_(self):
    return _fill_(self, 0.0)


def _fill_(self, value):
    _check_writable(self, "fill_")
    self._a.fill_(float(value))
    return self


def _copy_(self, src):
    _check_writable(self, "copy_")
    self._a.copy_(src._a if hasattr(src, "_a") else _as_array(src, self))
    return self


def _as_array(value, like):
    from pydl.ops._util import as_tensor_like

    return as_tensor_like(value, like)._a


def _uniform_(self, a=0.0, b=1.0):
    _check_writable(self, "uniform_")
    self._a.copy_(_C.uniform(list(self._a.shape), a, b, self._a.dtype, self._a.device))
    return self


def _normal_(self, mean=0.0, std=1.0):
    _check_writable(self, "normal_")
    self._a.copy_(_C.normal(list(self._a.shape), mean, std, self._a.dtype, self._a.device))
    return self


def _T(self):
    return shape.permute(self, list(range(self._a.ndim))[::-1])


def _mT(self):
    return shape.transpose(self, -2, -1)


def install(Tensor):
    methods = {
        # arithmetic
        "__add__": ew.add, "__radd__": _reflected(ew.add), "__sub__": ew.sub, "__rsub__": _reflected(ew.sub),
        "__mul__": ew.mul, "__rmul__": _reflected(ew.mul), "__truediv__": ew.div,
        "__rtruediv__": _reflected(ew.div), "__pow__": ew.pow, "__rpow__": _reflected(ew.pow),
        "__matmul__": linalg.matmul, "__rmatmul__": _reflected(linalg.matmul), "__neg__": un.neg,
        "__abs__": un.abs, "__pos__": lambda self: self,
        "__eq__": ew.eq, "__ne__": ew.ne, "__lt__": ew.lt, "__le__": ew.le, "__gt__": ew.gt, "__ge__": ew.ge,
        "__and__": ew.logical_and, "__or__": ew.logical_or, "__invert__": ew.logical_not,
        "__iadd__": _augmented(Binary.ADD, ew.add), "__isub__": _augmented(Binary.SUB, ew.sub),
        "__imul__": _augmented(Binary.MUL, ew.mul), "__itruediv__": _augmented(Binary.DIV, ew.div),
        "add": ew.add, "sub": ew.sub, "mul": ew.mul, "div": ew.div, "pow": ew.pow, "maximum": ew.maximum,
        "minimum": ew.minimum, "eq": ew.eq, "ne": ew.ne, "lt": ew.lt, "le": ew.le, "gt": ew.gt, "ge": ew.ge,
        "neg": un.neg, "exp": un.exp, "log": un.log, "sqrt": un.sqrt, "rsqrt": un.rsqrt, "abs": un.abs,
        "sign": un.sign, "tanh": un.tanh, "sigmoid": un.sigmoid, "relu": un.relu, "square": ew.square,
        "log1p": un.log1p, "expm1": un.expm1,
        "clamp": ew.clamp, "clip": ew.clamp, "masked_fill": indexing.masked_fill,
        "logical_and": ew.logical_and, "logical_or": ew.logical_or, "logical_not": ew.logical_not,
        "where": lambda self, condition, other: ew.where(condition, self, other),
        "matmul": linalg.matmul, "mm": linalg.mm, "dot": linalg.dot,
        # in place
        "add_": _inplace(Binary.ADD), "sub_": _inplace(Binary.SUB), "mul_": _inplace(Binary.MUL),
        "div_": _inplace(Binary.DIV),
        "zero_": _zero_, "fill_": _fill_, "copy_": _copy_, "uniform_": _uniform_, "normal_": _normal_,
        # reductions
        "sum": reduction.sum, "mean": reduction.mean, "var": reduction.var, "std": reduction.std,
        "max": reduction.max, "min": reduction.min, "amax": reduction.amax, "amin": reduction.amin,
        "argmax": reduction.argmax, "argmin": reduction.argmin, "all": reduction.all, "any": reduction.any,
        # shapes and views
        "view": shape.view, "reshape": shape.reshape, "squeeze": shape.squeeze, "unsqueeze": shape.unsqueeze,
        "flatten": shape.flatten, "unflatten": shape.unflatten, "permute": shape.permute,
        "transpose": shape.transpose, "t": shape.t, "expand": shape.expand, "broadcast_to": shape.broadcast_to,
        "expand_as": lambda self, other: shape.expand(self, list(other.shape)),
        "view_as": lambda self, other: shape.view(self, list(other.shape)),
        "reshape_as": lambda self, other: shape.reshape(self, list(other.shape)),
        "contiguous": shape.contiguous, "clone": shape.clone, "narrow": shape.narrow, "split": shape.split,
        "chunk": shape.chunk, "unbind": shape.unbind,
        # indexing
        "__getitem__": indexing.getitem, "__setitem__": indexing.setitem, "gather": indexing.gather,
        "scatter_add": indexing.scatter_add, "index_select": indexing.index_select, "index_add": indexing.index_add,
        "__dlpack__": _tensor_dlpack, "__dlpack_device__": _tensor_dlpack_device,
    }
    for name, fn in methods.items():
        setattr(Tensor, name, fn)
    Tensor.T = property(_T)
    Tensor.mT = property(_mT)
