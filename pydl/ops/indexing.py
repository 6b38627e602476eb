"""Indexing: ``x[...]`` and ``x[...] = v``, gather / scatter_add, index_select / index_add.

Basic indices (ints, slices, None, Ellipsis) give views. Integer-array and bool-mask
indices (advanced) are turned into one flat index and an index_select, so
``logits[range(n), labels]`` works and is differentiable. As in PyTorch, ints are basic
indices: advanced ones on dims left apart by a slice put their broadcast dims first."""
import numbers

import numpy as np

from pydl import _C
from pydl._C import ArgumentError
from pydl._dtype import bool_, int64
from pydl.autograd.function import Function
from pydl.autograd.grad_mode import state as grad_state
from pydl.ops._util import Reduce
from pydl.ops.shape import Viewed
from pydl.tensor import Tensor, _wrap


class _Pick(Function):
    """out = pick(x, dim, index); the gradient is put back where it was picked, into zeros."""

    pick = put = None

    @classmethod
    def forward(cls, ctx, x, dim, index):
        ctx.shape, ctx.dtype, ctx.device, ctx.dim, ctx.index = x._a.shape, x._a.dtype, x._a.device, dim, index._a
        return _wrap(cls.pick(x._a, dim, index._a))

    @classmethod
    def backward(cls, ctx, g):
        zeros = _C.full(list(ctx.shape), 0.0, ctx.dtype, ctx.device)
        return _wrap(cls.put(zeros, ctx.dim, ctx.index, g._a)), None, None


class _Put(Function):
    """out = put(x, dim, index, src) (adding src at the indexed places); src's gradient is picked there."""

    pick = put = None

    @classmethod
    def forward(cls, ctx, x, dim, index, src):
        ctx.dim, ctx.index = dim, index._a
        return _wrap(cls.put(x._a, dim, index._a, src._a))

    @classmethod
    def backward(cls, ctx, g):
        gsrc = _wrap(cls.pick(g._a, ctx.dim, ctx.index)) if ctx.needs_input_grad[3] else None
        return g, None, None, gsrc


class Gather(_Pick):
    pick, put = staticmethod(_C.gather), staticmethod(_C.scatter_add)


class ScatterAdd(_Put):
    pick, put = staticmethod(_C.gather), staticmethod(_C.scatter_add)


class IndexSelect(_Pick):
    pick, put = staticmethod(_C.index_select), staticmethod(_C.index_add)


class IndexAdd(_Put):
    pick, put = staticmethod(_C.index_select), staticmethod(_C.index_add)


def _index_tensor(arr, device):
    """A host array of indices as an int64 tensor on device."""
    return _wrap(_C.from_numpy(np.ascontiguousarray(arr, dtype=np.int64))).to(device)


def _long_index(index, like, op):
    if isinstance(index, Tensor):
        return index
    arr = np.asarray(index)
    if arr.size and arr.dtype.kind not in "iu":  # as with a Tensor index: no silent truncation of floats
        raise TypeError(f"{op}: expected an integer index, got {arr.dtype} values")
    return _index_tensor(arr, like.device)


class Resample(Function):
    """Along dim, out_size outputs each from the source positions src (int64, out_size x taps,
    on x's device) with weights (None: one position, a copy); see kernels/common/resample.h.
    The backward adds the weighted gradient back onto the sources."""

    @staticmethod
    def forward(ctx, x, dim, src, weight, out_size):
        ctx.dim, ctx.src, ctx.weight, ctx.size = dim, src._a, None if weight is None else weight._a, x._a.shape[dim]
        return _wrap(_C.resample(x._a, dim, src._a, ctx.weight, out_size))

    @staticmethod
    def backward(ctx, g):
        return _wrap(_C.resample_backward(g._a, ctx.dim, ctx.src, ctx.weight, ctx.size)), None, None, None, None


def resample(x, dim, src, weight=None):
    """Resample.apply with host arrays: src (out_size,) or (out_size, taps), weight alike."""
    weight = None if weight is None else _wrap(_C.from_numpy(np.ascontiguousarray(weight, x.dtype.numpy))).to(x.device)
    return Resample.apply(x, dim, _index_tensor(src, x.device), weight, len(src))


def repeat_index(repeats, size, device, op):
    """The int64 index (on device) that takes slice i of a dim of `size` repeats[i] times."""
    counts = repeats.cpu().numpy() if isinstance(repeats, Tensor) else np.asarray(repeats)
    if counts.dtype.kind not in "iu" or counts.ndim > 1 or counts.size not in (1, size):
        raise ArgumentError(f"{op}: expected repeats as an int or {size} integer counts, got shape {counts.shape} "
                            f"of {counts.dtype}")
    if (counts < 0).any():
        raise ArgumentError(f"{op}: repeats must be non-negative, got {counts.min()}")
    return _index_tensor(np.repeat(np.arange(size), np.broadcast_to(counts.reshape(-1), (size,))), device)


def gather(x, dim, index):
    return Gather.apply(x, dim, _long_index(index, x, "gather"))


def scatter_add(x, dim, index, src):
    return ScatterAdd.apply(x, dim, _long_index(index, x, "scatter_add"), src)


def index_select(x, dim, index):
    return IndexSelect.apply(x, dim, _long_index(index, x, "index_select").reshape(-1))


def index_add(x, dim, index, source, alpha=1):
    index = _long_index(index, x, "index_add").reshape(-1)
    return IndexAdd.apply(x, dim, index, source if alpha == 1 else source * alpha)


# ---------------------------------------------------------------------- x[...]
def _check_masks(x, expanded, masks, consumed):
    """Each bool mask must have the shape of the dims it indexes (PyTorch's IndexError)."""
    shape, d = list(x._a.shape), 0
    for i, it in enumerate(expanded):
        if it is Ellipsis:
            d += len(shape) - consumed
        elif it is not None:
            mask = masks.get(i)
            if mask is not None and shape[d:d + len(mask)] != mask:
                raise IndexError(f"index: the shape of the mask {mask} at index {d} does not match the shape "
                                 f"of the indexed tensor {shape} at index {d}")
            d += 1


def _index_array(it):
    """A list, range or array index as a C-ordered numpy array; an empty list is an empty int64
    index (numpy would make it float64), as in numpy's and PyTorch's x[[]]."""
    arr = np.asarray(it, order="C")
    return arr.astype(np.int64) if arr.size == 0 and not isinstance(it, np.ndarray) else arr


def _parse(x, index):
    """Splits an index into a view function (basic part) and advanced indices
    [(dim in the view's result, int64 Tensor), ...]."""
    items = index if isinstance(index, tuple) else (index,)
    # A bool mask stands for as many dims as it has; expand it to integer arrays.
    expanded, masks = [], {}  # masks: position in expanded of a mask's first coordinate -> its shape
    for it in items:
        if isinstance(it, (Tensor, np.ndarray, list, tuple, range)):
            arr = it if isinstance(it, Tensor) else _wrap(_C.from_numpy(_index_array(it)))
            if arr._a.dtype == bool_.code:  # bool: its nonzero coordinates, one index array per mask dim
                masks[len(expanded)] = list(arr._a.shape)
                coords = np.nonzero(arr._a.to("cpu").numpy())
                expanded.extend(_index_tensor(c, x.device) for c in coords)
                continue
            if arr._a.dtype != int64.code:
                if arr.dtype.is_floating_point:
                    raise IndexError("index: tensors used as indices must be int64, int32 or bool")
                arr = arr.long()
            expanded.append(arr.to(x.device))  # CPU indices (lists, arrays) serve a CUDA tensor too
        elif it is None or it is Ellipsis or isinstance(it, (slice, numbers.Integral)):
            expanded.append(it)
        else:
            raise IndexError(f"index: unsupported index of type {type(it).__name__}")
    consumed = sum(1 for it in expanded if it is not None and it is not Ellipsis)
    if consumed > x._a.ndim:
        raise IndexError(f"index: too many indices for a tensor of {x._a.ndim} dimension(s)")
    if sum(1 for it in expanded if it is Ellipsis) > 1:
        raise IndexError("index: an index can only have a single ellipsis")
    if masks:
        _check_masks(x, expanded, masks, consumed)
    steps, advanced, d = [], [], 0
    for it in expanded:
        if it is Ellipsis:
            n = x._a.ndim - consumed
            d += n
        elif it is None:
            steps.append(("unsqueeze", d))
            d += 1
        elif isinstance(it, slice):
            start, stop, step = it.start, it.stop, it.step
            if step is not None and step <= 0:
                raise ArgumentError("index: slice step must be positive")
            if start is not None or stop is not None or step is not None:
                steps.append(("slice", d, 0 if start is None else int(start),
                              2 ** 62 if stop is None else int(stop), 1 if step is None else int(step)))
            d += 1
        elif isinstance(it, Tensor):
            advanced.append((d, it))
            d += 1
        else:
            steps.append(("select", d, int(it)))

    if not steps:
        return None, advanced

    def pick(a):
        for step in steps:
            if step[0] == "select":
                a = a.select(step[1], step[2])
            elif step[0] == "slice":
                a = a.slice(*step[1:])
            else:
                a = a.unsqueeze(step[1])
        return a

    return pick, advanced


def getitem(x, index):
    pick, advanced = _parse(x, index)
    out = x if pick is None else Viewed.apply(x, pick)
    if not advanced:
        return out
    return _advanced_index(out, advanced)


def _advanced_index(x, advanced):
    dims = [d for d, _ in advanced]
    d0 = dims[0]
    if dims != list(range(d0, d0 + len(dims))):  # apart: the indexed dims go first, as in numpy and PyTorch
        x, d0 = x.permute(*dims, *(d for d in range(x._a.ndim) if d not in dims)), 0
    shape = list(x._a.shape)
    sizes = shape[d0:d0 + len(dims)]
    bshape = ()
    for _, idx in advanced:
        bshape = _C.broadcast_shapes(list(bshape), list(idx._a.shape))
    flat = None
    for (d, idx), size in zip(advanced, sizes):
        if idx._a.numel:
            lo = _C.reduce(Reduce.MIN, idx._a, [], False, 0.0).item()
            hi = _C.reduce(Reduce.MAX, idx._a, [], False, 0.0).item()
            if lo < -size or hi >= size:
                bad = lo if lo < -size else hi
                raise IndexError(f"index {bad} is out of bounds for dimension {d} with size {size}")
        idx = idx.expand(*bshape)
        if len(advanced) > 1:  # negative indices wrapped before they are combined
            idx = idx + (idx < 0) * size
        flat = idx if flat is None else flat * size + idx
    merged = 1
    for s in sizes:
        merged *= s
    y = x.reshape(shape[:d0] + [merged] + shape[d0 + len(dims):])
    y = IndexSelect.apply(y, d0, flat.reshape(-1))
    return y.reshape(shape[:d0] + list(bshape) + shape[d0 + len(dims):])


def setitem(x, index, value):
    """x[index] = value, written into x's memory (slices, ints, Ellipsis, None, or one bool mask)."""
    if grad_state.enabled and x.requires_grad:
        raise RuntimeError("setitem: in-place assignment into a tensor that requires grad; use pydl.no_grad() "
                           "or build a new tensor")
    pick, advanced = _parse(x, index)
    if isinstance(value, Tensor):
        src = value._a
    else:
        src = _wrap(_C.from_numpy(np.array(value, dtype=x.dtype.numpy, order="C"))).to(x.device)._a  # keeps 0-d
    if not advanced:
        (x._a if pick is None else pick(x._a)).copy_(src)
        return
    mask = index if isinstance(index, Tensor) else None
    if mask is not None and mask._a.dtype == bool_.code and mask._a.shape == x._a.shape:
        x._a.copy_(_C.where(mask._a, src.astype(x._a.dtype), x._a))
        return
    raise NotImplementedError("setitem: assignment through integer-array indices is not supported; "
                              "use index_add / scatter_add or a bool mask of the tensor's shape")


def masked_fill(x, mask, value):
    from pydl.ops.elementwise import where

    return where(mask, value, x)


def masked_select(x, mask):
    """The entries of x where mask (broadcast against x) is True, as a 1-d tensor."""
    shape = _C.broadcast_shapes(list(x._a.shape), list(mask._a.shape))
    return getitem(x.expand(*shape), mask.expand(*shape))


def nonzero(x, as_tuple=False):
    """The coordinates of x's nonzero entries: an (n, x.dim()) int64 tensor, or one 1-d tensor per dim."""
    values = x._a.to("cpu").numpy()
    coords = np.nonzero(values.reshape(1) if values.ndim == 0 else values)
    if as_tuple:
        return tuple(_index_tensor(c, x.device) for c in coords)
    return _index_tensor(np.stack(coords, 1) if values.ndim else np.zeros((coords[0].size, 0)), x.device)


argwhere = nonzero


def _scattered(x, dim, index, src):
    """(the sum of src's entries scattered to each position of x, how many landed there)."""
    from pydl.creation import ones_like, zeros_like

    index = _long_index(index, x, "scatter")
    return scatter_add(zeros_like(x), dim, index, src), scatter_add(zeros_like(x), dim, index, ones_like(src))


def scatter(x, dim, index, src=None, value=None):
    """x with src's entries (or value) written at index along dim; of repeated indices the last is
    written on the CPU, any one of them on CUDA (PyTorch leaves the pick unspecified)."""
    from pydl.creation import full

    if (src is None) == (value is None):
        raise ArgumentError("scatter: give exactly one of src and value")
    index = _long_index(index, x, "scatter")
    if src is None or not isinstance(src, Tensor):  # scatter(dim, index, 2.5): a number in src's place, as PyTorch
        src = full(tuple(index.shape), value if src is None else src, dtype=x.dtype, device=x.device)
    return ScatterReduce.apply(x, dim, index, src, _C.Scatter.SET, True)


def _identity(dtype, op):
    """The entry that the scatter step `op` leaves unchanged (what a place's own value becomes
    when include_self=False), as a Python number of dtype's kind."""
    if op == _C.Scatter.PROD:
        return 1
    if dtype.is_floating_point:
        return float("-inf") if op == _C.Scatter.AMAX else float("inf")
    if dtype == bool_:
        return op != _C.Scatter.AMAX
    info = np.iinfo(dtype.numpy)
    return int(info.min) if op == _C.Scatter.AMAX else int(info.max)


class ScatterReduce(Function):
    """x with src's entries written (set) or combined in at index along dim by amax, amin or prod
    (the scatter kernels' step, kernels/common/scatter.h). The gradients are PyTorch's: a written
    place passes none to x, and each src entry takes its place's; amax / amin share a place's
    gradient evenly among the entries equal to its result; prod gives each entry the product of
    the others, exact where one of them is zero."""

    @staticmethod
    def forward(ctx, x, dim, index, src, op, include_self):
        from pydl.creation import ones, zeros
        from pydl.ops.elementwise import where

        x, src = x.detach(), src.detach()
        scattered = None  # where src lands: needed without include_self, and by a written place's gradient
        if not include_self or op == _C.Scatter.SET:
            hits = scatter_add(zeros(*x.shape, dtype=int64, device=x.device), dim, index,
                               ones(*index.shape, dtype=int64, device=x.device))
            scattered = hits > 0
        base = x if include_self else where(scattered, _identity(x.dtype, op), x)
        out = _C.scatter_reduce(op, base._a, dim, index._a, src._a)
        ctx.saved = x, dim, index, src, op, include_self, scattered, out
        return _wrap(out)

    @staticmethod
    def backward(ctx, g):
        from pydl.ops.elementwise import where

        x, dim, index, src, op, include_self, scattered, out = ctx.saved
        result = _wrap(out)
        if op == _C.Scatter.SET:
            return where(scattered, 0, g), None, None, g.gather(dim, index), None, None
        if op == _C.Scatter.PROD:
            masked_x = where(x == 0, 1, x)
            gx = g * _wrap(_C.scatter_reduce(op, (masked_x if include_self else
                                                 where(scattered, 1, masked_x))._a, dim, index._a, src._a)) / masked_x
            src_zero = src == 0
            single_zero = src_zero & (_scattered(x, dim, index, src_zero.to(x.dtype))[0].gather(dim, index) == 1)
            base = x if include_self else where(scattered, 1, x)
            without_zero = _wrap(_C.scatter_reduce(op, base._a, dim, index._a, where(single_zero, 1, src)._a))
            gsrc = where(single_zero, (g * without_zero).gather(dim, index),
                         (g * result).gather(dim, index) / where(src_zero, 1, src))
        else:
            value = result.gather(dim, index)
            x_is, src_is = (x == result).to(x.dtype), (src == value).to(x.dtype)
            share = g / scatter_add(x_is, dim, index, src_is)
            gx, gsrc = x_is * share, src_is * share.gather(dim, index)
        if not include_self:
            gx = where(scattered, 0, gx)
        return gx, None, None, gsrc, None, None


def scatter_reduce(x, dim, index, src, reduce, include_self=True):
    """PyTorch's scatter_reduce: reduce is 'sum', 'mean', 'prod', 'amax' or 'amin'; with
    include_self=False a place that receives entries forgets its own value."""
    from pydl.ops.elementwise import where

    steps = {"prod": _C.Scatter.PROD, "amax": _C.Scatter.AMAX, "amin": _C.Scatter.AMIN}
    if reduce not in ("sum", "mean", *steps):
        raise ArgumentError(f"scatter_reduce: reduce must be 'sum', 'prod', 'mean', 'amax' or 'amin', got {reduce!r}")
    index = _long_index(index, x, "scatter_reduce")
    if reduce in steps:
        return ScatterReduce.apply(x, dim, index, src, steps[reduce], bool(include_self))
    total, count = _scattered(x, dim, index, src)
    if include_self:
        total, count = total + x, count + 1
    if reduce == "mean":  # integers: floor division, as PyTorch
        divisor = where(count > 0, count, 1)
        total = total / divisor if x.dtype.is_floating_point else total // divisor
    return where(count > 0, total, x)
