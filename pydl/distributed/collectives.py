"""The collectives, as torch.distributed's: in place on the tensors given, on the default group.

With ``async_op=True`` each returns a ``Work`` whose ``wait()`` must be called before the tensors
are read; otherwise it returns None once the result is in place."""
import numbers

from pydl.distributed.group import default_group
from pydl.distributed.reduce_op import ReduceOp
from pydl.tensor import Tensor


def _check_tensor(t, op, what="tensor"):
    if not isinstance(t, Tensor):
        raise TypeError(f"{op}: {what} should be a pydl.Tensor, got {type(t).__name__}")


def _check_op(reduce_op, op):
    if not isinstance(reduce_op, ReduceOp):
        raise TypeError(f"{op}: op should be a pydl.distributed.ReduceOp, got {reduce_op!r}")


def _check_group(group, op):
    if group is not None:
        raise ValueError(f"{op}: only the default group (group=None) is supported")
    return default_group(op)


def _check_rank(rank, size, op, what):
    if isinstance(rank, bool) or not isinstance(rank, numbers.Integral) or not 0 <= rank < size:
        raise ValueError(f"{op}: {what} should be a rank in [0, {size}), got {rank!r}")


def _same(t, ref, op, what):
    if tuple(t.shape) != tuple(ref.shape) or t.dtype != ref.dtype or t.device != ref.device:
        raise ValueError(f"{op}: {what} has shape {tuple(t.shape)}, {t.dtype.name} on {t.device}; expected "
                         f"{tuple(ref.shape)}, {ref.dtype.name} on {ref.device}")


def _done(work, async_op):
    if async_op:
        return work
    work.wait()
    return None


def all_reduce(tensor, op=ReduceOp.SUM, group=None, async_op=False):
    """Every rank's ``tensor`` becomes the reduction (SUM, AVG, PRODUCT, MIN, MAX) of all ranks'."""
    g = _check_group(group, "all_reduce")
    _check_tensor(tensor, "all_reduce")
    _check_op(op, "all_reduce")
    return _done(g.all_reduce(tensor, op), async_op)


def broadcast(tensor, src=0, group=None, async_op=False):
    """Every rank's ``tensor`` becomes rank ``src``'s."""
    g = _check_group(group, "broadcast")
    _check_tensor(tensor, "broadcast")
    _check_rank(src, g.size, "broadcast", "src")
    return _done(g.broadcast(tensor, src), async_op)


def _check_tensor_list(tensors, like, size, op, what):
    """tensors: a list of world_size tensors shaped like `like`."""
    if not isinstance(tensors, (list, tuple)) or len(tensors) != size:
        got = f"{len(tensors)} tensors" if isinstance(tensors, (list, tuple)) else type(tensors).__name__
        raise ValueError(f"{op}: {what} should hold world_size={size} tensors, got {got}")
    for i, t in enumerate(tensors):
        _check_tensor(t, op, f"{what}[{i}]")
        _same(t, like, op, f"{what}[{i}]")


def all_gather(tensor_list, tensor, group=None, async_op=False):
    """``tensor_list[r]`` receives rank r's ``tensor`` (the list holds world_size tensors like it)."""
    g = _check_group(group, "all_gather")
    _check_tensor(tensor, "all_gather")
    _check_tensor_list(tensor_list, tensor, g.size, "all_gather", "tensor_list")
    return _done(g.all_gather(list(tensor_list), tensor), async_op)


def all_gather_into_tensor(output_tensor, input_tensor, group=None, async_op=False):
    """``output_tensor`` (world_size times input's elements) receives every rank's input, rank by rank."""
    g = _check_group(group, "all_gather_into_tensor")
    _check_tensor(output_tensor, "all_gather_into_tensor", "output_tensor")
    _check_tensor(input_tensor, "all_gather_into_tensor", "input_tensor")
    _check_sizes(output_tensor, input_tensor, g.size, "all_gather_into_tensor")
    return _done(g.all_gather_into_tensor(output_tensor, input_tensor), async_op)


def reduce_scatter(output, input_list, op=ReduceOp.SUM, group=None, async_op=False):
    """Rank r's ``output`` becomes the reduction over ranks of their ``input_list[r]``."""
    g = _check_group(group, "reduce_scatter")
    _check_tensor(output, "reduce_scatter", "output")
    _check_op(op, "reduce_scatter")
    _check_tensor_list(input_list, output, g.size, "reduce_scatter", "input_list")
    return _done(g.reduce_scatter(output, list(input_list), op), async_op)


def reduce_scatter_tensor(output, input, op=ReduceOp.SUM, group=None, async_op=False):
    """``input`` holds world_size chunks of output's size; rank r's ``output`` becomes chunk r reduced."""
    g = _check_group(group, "reduce_scatter_tensor")
    _check_tensor(output, "reduce_scatter_tensor", "output")
    _check_tensor(input, "reduce_scatter_tensor", "input")
    _check_op(op, "reduce_scatter_tensor")
    _check_sizes(input, output, g.size, "reduce_scatter_tensor")
    return _done(g.reduce_scatter_tensor(output, input, op), async_op)


def barrier(group=None, async_op=False, device_ids=None):
    """Returns once every rank has entered it."""
    g = _check_group(group, "barrier")
    return _done(g.barrier(), async_op)


def _check_sizes(big, small, size, op):
    if big.numel() != size * small.numel() or big.dtype != small.dtype or big.device != small.device:
        raise ValueError(f"{op}: expected a tensor of world_size * {small.numel()} = {size * small.numel()} elements, "
                         f"{small.dtype.name} on {small.device}; got {big.numel()}, {big.dtype.name} on {big.device}")
