"""Views and shape ops: reshape/view/squeeze/unsqueeze/flatten, permute/transpose,
expand, slicing (narrow/split/chunk), cat/stack, contiguous/clone. Views share storage."""
import operator

from pydl import _C
from pydl._C import ArgumentError
from pydl.autograd.function import Function
from pydl.ops._util import sum_to
from pydl.tensor import Tensor, _wrap


def _shape_arg(shape):
    """reshape(2, 3) and reshape((2, 3)) alike."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = shape[0]
    return [int(s) for s in shape]


class Reshaped(Function):
    """Any op that only regroups elements (view, reshape, squeeze, unsqueeze, flatten):
    the result array comes computed; the gradient is reshaped back."""

    @staticmethod
    def forward(ctx, x, out):
        ctx.shape = x._a.shape
        return _wrap(out)

    @staticmethod
    def backward(ctx, g):
        return _wrap(g._a.reshape(list(ctx.shape))), None


def view(x, *shape):
    """x's elements under another shape, or (given one dtype) its bytes read as that dtype."""
    from pydl._dtype import as_dtype, dtype

    if len(shape) == 1 and isinstance(shape[0], dtype):
        to = as_dtype(shape[0])
        if to == x.dtype:
            return x
        return _wrap(x._a.view_as(to.code))  # another dtype: outside the graph, as PyTorch's for most
    return Reshaped.apply(x, x._a.view(_shape_arg(shape)))


def reshape(x, *shape):
    return Reshaped.apply(x, x._a.reshape(_shape_arg(shape)))


def squeeze(x, dim=None):
    dims = [] if dim is None else ([dim] if isinstance(dim, int) else list(dim))
    return Reshaped.apply(x, x._a.squeeze(dims))


def unsqueeze(x, dim):
    return Reshaped.apply(x, x._a.unsqueeze(dim))


def flatten(x, start_dim=0, end_dim=-1):
    shape = list(x._a.shape)
    if not shape:
        return Reshaped.apply(x, x._a.reshape([1]))
    nd = len(shape)
    s, e = start_dim % nd, end_dim % nd
    if s > e:
        raise ArgumentError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim}")
    n = 1
    for d in shape[s:e + 1]:
        n *= d
    return Reshaped.apply(x, x._a.reshape(shape[:s] + [n] + shape[e + 1:]))


def unflatten(x, dim, sizes):
    shape = list(x._a.shape)
    d = dim % len(shape)
    return Reshaped.apply(x, x._a.reshape(shape[:d] + list(sizes) + shape[d + 1:]))


class Permute(Function):
    @staticmethod
    def forward(ctx, x, dims):
        out = x._a.permute(dims)
        nd = len(dims)
        ctx.inverse = [0] * nd
        for i, d in enumerate(dims):
            ctx.inverse[d % nd] = i
        return _wrap(out)

    @staticmethod
    def backward(ctx, g):
        return _wrap(g._a.permute(ctx.inverse)), None


def permute(x, *dims):
    return Permute.apply(x, _shape_arg(dims))


def _movedim_dims(dims, nd, what):
    """movedim's source or destination as non-negative dims (an int or a sequence of ints)."""
    dims = [dims] if not isinstance(dims, (tuple, list)) else list(dims)
    out = []
    for d in dims:
        try:
            d = operator.index(d)
        except TypeError:
            raise TypeError(f"movedim: {what} must be an int or a sequence of ints, got {type(d).__name__}") from None
        n = max(nd, 1)  # a 0-d tensor takes dim 0 (or -1), as PyTorch
        if not -n <= d < n:
            raise IndexError(f"movedim: {what} dim {d} is out of range for a tensor of {nd} dimension(s)")
        out.append(d % n)
    if len(set(out)) != len(out):
        raise ArgumentError(f"movedim: repeated dim in {what} {tuple(dims)}")
    return out


def movedim(x, source, destination):
    """A view with the dims in source moved to the places in destination; the others keep their order."""
    nd = x._a.ndim
    src = _movedim_dims(source, nd, "source")
    dst = _movedim_dims(destination, nd, "destination")
    if len(src) != len(dst):
        raise ArgumentError(f"movedim: source has {len(src)} dims but destination has {len(dst)}")
    if nd == 0:
        return Permute.apply(x, [])
    perm = [None] * nd
    for s, d in zip(src, dst):
        perm[d] = s
    rest = iter(d for d in range(nd) if d not in src)
    return Permute.apply(x, [next(rest) if p is None else p for p in perm])


class Transpose(Function):
    @staticmethod
    def forward(ctx, x, d0, d1):
        ctx.dims = (d0, d1)
        return _wrap(x._a.transpose(d0, d1))

    @staticmethod
    def backward(ctx, g):
        return _wrap(g._a.transpose(*ctx.dims)), None, None


def transpose(x, dim0, dim1):
    return Transpose.apply(x, dim0, dim1)


def t(x):
    if x._a.ndim > 2:
        raise ArgumentError(f"t: expects a tensor with <= 2 dimensions, got {x._a.ndim}")
    return Transpose.apply(x, 0, -1) if x._a.ndim == 2 else x


class Expand(Function):
    @staticmethod
    def forward(ctx, x, shape):
        ctx.shape = x._a.shape
        return _wrap(x._a.expand(shape))

    @staticmethod
    def backward(ctx, g):
        return sum_to(g, ctx.shape), None


def expand(x, *shape):
    return Expand.apply(x, _shape_arg(shape))


def broadcast_to(x, shape):
    return Expand.apply(x, [int(s) for s in shape])


class Identity(Function):
    """contiguous() and clone(): new memory (or the same), the gradient passes through."""

    @staticmethod
    def forward(ctx, x, out):
        return _wrap(out)

    @staticmethod
    def backward(ctx, g):
        return g, None


def contiguous(x):
    return x if x._a.is_contiguous() else Identity.apply(x, x._a.contiguous())


def clone(x):
    return Identity.apply(x, x._a.clone())


class Viewed(Function):
    """A view picked out of x by `pick` (Array -> Array: slicing, select, ...).
    Backward writes the gradient into the same view of zeros."""

    @staticmethod
    def forward(ctx, x, pick):
        ctx.shape, ctx.dtype, ctx.device, ctx.pick = x._a.shape, x._a.dtype, x._a.device, pick
        return _wrap(pick(x._a))

    @staticmethod
    def backward(ctx, g):
        gx = _C.full(list(ctx.shape), 0.0, ctx.dtype, ctx.device)
        ctx.pick(gx).copy_(g._a)
        return _wrap(gx), None


def narrow(x, dim, start, length):
    size = x._a.shape[dim]
    if not -size <= start <= size:
        raise IndexError(f"narrow: start {start} is out of range for dimension {dim} of size {size}")
    start = start + size if start < 0 else start  # negative start counts from the end, as PyTorch
    if not 0 <= length <= size - start:
        raise ArgumentError(f"narrow: start {start} + length {length} exceeds size {size} of dimension {dim}")
    return Viewed.apply(x, lambda a: a.slice(dim, start, start + length, 1))


def split(x, split_size_or_sections, dim=0):
    size = x._a.shape[dim]
    if isinstance(split_size_or_sections, int):
        if split_size_or_sections <= 0:
            raise ArgumentError(f"split: split_size must be positive, got {split_size_or_sections}")
        sections = [min(split_size_or_sections, size - s) for s in range(0, size, split_size_or_sections)] or [0]
    else:
        sections = list(split_size_or_sections)
        if sum(sections) != size:
            raise ArgumentError(f"split: sections {sections} do not add up to size {size} of dim {dim}")
    out, start = [], 0
    for n in sections:
        out.append(narrow(x, dim, start, n))
        start += n
    return tuple(out)


def chunk(x, chunks, dim=0):
    if chunks <= 0:
        raise ArgumentError(f"chunk: chunks must be positive, got {chunks}")
    size = x._a.shape[dim]
    return split(x, max(-(-size // chunks), 1), dim)


def unbind(x, dim=0):
    return tuple(Viewed.apply(x, lambda a, i=i: a.select(dim, i)) for i in range(x._a.shape[dim]))


class Cat(Function):
    @staticmethod
    def forward(ctx, dim, *xs):
        ctx.dim = dim
        out = _C.cat([x._a for x in xs], dim)  # first: it checks dim and shapes, naming the op
        ctx.sizes = [x._a.shape[dim] if x._a.ndim else 1 for x in xs]
        return _wrap(out)

    @staticmethod
    def backward(ctx, g):
        grads, start = [None], 0
        for n, need in zip(ctx.sizes, ctx.needs_input_grad[1:]):
            grads.append(_wrap(g._a.slice(ctx.dim, start, start + n, 1)) if need else None)
            start += n
        return tuple(grads)


def cat(tensors, dim=0):
    tensors = list(tensors)
    for i, x in enumerate(tensors):
        if not isinstance(x, Tensor):
            raise TypeError(f"cat: expected a sequence of Tensors, element {i} is {type(x).__name__}")
    return Cat.apply(dim, *tensors)


concat = concatenate = cat


def stack(tensors, dim=0):
    tensors = list(tensors)
    if not tensors:
        raise ArgumentError("stack: expected a non-empty sequence of tensors")
    shape = tensors[0]._a.shape
    for i, x in enumerate(tensors):
        if x._a.shape != shape:
            raise ArgumentError(f"stack: all tensors must have the same shape; tensor {i} has {tuple(x._a.shape)}, "
                             f"tensor 0 has {tuple(shape)}")
    return cat([unsqueeze(x, dim) for x in tensors], dim)


def repeat(x, *sizes):
    """x tiled sizes[i] times along each dim (leading sizes add new dims), as torch.Tensor.repeat:
    an expand of x with a unit dim before each of its dims, then one copy into the merged shape."""
    sizes = _shape_arg(sizes)
    shape = list(x._a.shape)
    if len(sizes) < len(shape):
        raise ArgumentError(f"repeat: expected at least {len(shape)} repeat sizes for a {len(shape)}-d tensor, "
                            f"got {len(sizes)}")
    if any(s < 0 for s in sizes):
        raise ArgumentError(f"repeat: repeat sizes must be non-negative, got {tuple(sizes)}")
    shape = [1] * (len(sizes) - len(shape)) + shape
    spread = [d for pair in zip([1] * len(shape), shape) for d in pair]  # (1, s0, 1, s1, ...)
    tiled = [d for pair in zip(sizes, shape) for d in pair]  # (r0, s0, r1, s1, ...)
    return reshape(expand(reshape(x, spread), tiled), [r * s for r, s in zip(sizes, shape)])


def tile(x, dims):
    """torch.tile: repeat, with missing leading dims taken as 1."""
    dims = _shape_arg([dims] if isinstance(dims, int) else dims)
    return repeat(x, [1] * (x._a.ndim - len(dims)) + dims)


def repeat_interleave(x, repeats, dim=None):
    """Each element (slice along dim) repeated in place: [a, b] -> [a, a, b, b]. repeats is an
    int or a tensor of one count per slice; dim=None works on the flattened tensor."""
    if dim is None:
        x, dim = reshape(x, [-1]), 0
    dim = dim + x._a.ndim if dim < 0 else dim
    size = x._a.shape[dim]
    if isinstance(repeats, int):
        if repeats < 0:
            raise ArgumentError(f"repeat_interleave: repeats must be non-negative, got {repeats}")
        shape = list(x._a.shape)
        spread = shape[:dim + 1] + [1] + shape[dim + 1:]
        out = expand(reshape(x, spread), shape[:dim + 1] + [repeats] + shape[dim + 1:])
        return reshape(out, shape[:dim] + [size * repeats] + shape[dim + 1:])
    from pydl.ops.indexing import index_select, repeat_index

    return index_select(x, dim, repeat_index(repeats, size, x.device, "repeat_interleave"))
