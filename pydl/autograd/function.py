"""The autograd graph: a ``Function`` is one op with its forward and backward side by
side; applying it to tensors that require grad records a node, and ``backward``
walks the recorded nodes once in topological order."""
import threading

from pydl._dtype import HALF_CODES
from pydl.autograd.grad_mode import no_grad, state
from pydl.autograd.tensor_base import TensorBase


_new = object.__new__


class Function:
    """Subclass with ``forward(ctx, *args) -> Tensor`` and ``backward(ctx, grad) -> grads``.

    ``backward`` returns one gradient per positional argument of ``forward`` (a tuple
    when there are several; None for an argument that needs none). ``ctx`` is the node:
    store what backward needs on it, and ``ctx.needs_input_grad[i]`` says which inputs
    want a gradient. Never store the forward's output Tensor on ctx (that would make a
    reference cycle): store its ``_a`` array, or recompute.
    """

    __slots__ = ("inputs", "needs_input_grad", "__dict__")

    @classmethod
    def apply(cls, *args):
        ctx = _new(cls)
        try:
            if state.enabled:
                for a in args:
                    if isinstance(a, TensorBase) and a.requires_grad:
                        return cls._record(ctx, args)
            ctx.needs_input_grad = _NO_GRADS
            return cls.forward(ctx, *args)
        except TypeError as e:  # (a try costs nothing until it catches)
            _explain_half(cls, args, e)
            raise

    @classmethod
    def _record(cls, ctx, args):
        """apply when an input requires grad: forward, then ctx becomes the output's node."""
        if len(args) == 1:
            needs, inputs = [True], args
        else:  # one plain loop: a generator here would cost as much as the op's kernel call
            needs, inputs = [], []
            for a in args:
                n = isinstance(a, TensorBase) and a.requires_grad
                needs.append(n)
                inputs.append(a if n else None)
            inputs = tuple(inputs)
        ctx.needs_input_grad = needs
        out = cls.forward(ctx, *args)
        ctx.inputs = inputs
        out.requires_grad = True
        out._node = ctx
        return out

    @staticmethod
    def forward(ctx, *args):
        raise NotImplementedError

    @staticmethod
    def backward(ctx, grad):
        raise NotImplementedError

    def name(self):
        return type(self).__name__

    def __repr__(self):
        return f"<{self.name()}Backward>"


def _explain_half(cls, args, error):
    """The kernels refuse float16/bfloat16 (storage types: creation, casts, views and matmul) with
    a TypeError; make sure it names the op and says what to do."""
    if not any(isinstance(a, TensorBase) and a._a.dtype in HALF_CODES for a in args):
        return
    msg = str(error)
    if msg.startswith("no kernel for"):  # the dtype dispatch's refusal: name the op
        msg = f"{cls.__name__.lstrip('_').lower()}: {msg}"
    elif ".float()" not in msg:
        msg += " (float16/bfloat16 support creation, casts, views and matmul; convert with .float() first)"
    else:
        return
    raise TypeError(msg) from error


class _NoGrads:
    """needs_input_grad when nothing is recorded: every position is False."""

    def __getitem__(self, i):
        return False


_NO_GRADS = _NoGrads()


def _topological_order(root):
    """Nodes reachable from root, each after every node that feeds it a gradient (root first).
    Iterative, so 10,000-deep chains do not hit the recursion limit."""
    order, visited = [], set()
    stack = [(root, False)]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
            continue
        if id(node) in visited:
            continue
        visited.add(id(node))
        if node.inputs is None:
            raise RuntimeError(
                "backward: trying to backward through the graph a second time (its saved values were freed); "
                "pass retain_graph=True to the first backward() if you need to"
            )
        stack.append((node, True))
        for t in node.inputs:
            if t is not None and t._node is not None and id(t._node) not in visited:
                stack.append((t._node, False))
    order.reverse()
    return order


class PostAccumulateGradHook:
    """A hook in a leaf's ``_hooks`` that runs after its ``.grad`` was updated (takes the leaf)."""

    __slots__ = ("fn",)

    def __init__(self, fn):
        self.fn = fn


def _accumulate_leaf(t, g):
    """Adds this backward's total gradient g into leaf t's .grad, after t's hooks (which may replace g);
    then runs its post-accumulate hooks."""
    post = ()
    for hook in t._hooks or ():
        if type(hook) is PostAccumulateGradHook:
            post += (hook,)
            continue
        replaced = hook(g)
        if replaced is not None:
            g = replaced
    if t.grad is None:
        t.grad = g if g._a.is_contiguous() else g.contiguous()
    else:
        t.grad = t.grad + g
    for hook in post:
        hook.fn(t)


class _Backward(threading.local):
    # The ones that this thread's backward in progress seeded itself (loss.backward()), while
    # it runs: a Function may take it as exactly 1 without reading it back from a GPU.
    unit_seed = None
    callbacks = None  # what queue_callback() asked to run when this thread's backward ends


_backward = _Backward()


def is_unit_seed(g):
    """Whether the incoming gradient g is backward()'s own seed of ones."""
    return g is _backward.unit_seed


def queue_callback(fn):
    """Runs fn() once the backward in progress on this thread has accumulated every gradient
    (what DistributedDataParallel waits for its gradient all-reduces in)."""
    if _backward.callbacks is None:
        raise RuntimeError("queue_callback: no backward is running on this thread")
    _backward.callbacks.append(fn)


def backward(tensor, grad=None, retain_graph=False):
    seeded = grad is None
    if not tensor.requires_grad:
        raise RuntimeError("backward: the tensor does not require grad and has no grad_fn")
    if grad is None:
        if tensor.numel() != 1:
            raise RuntimeError(
                f"backward: grad can be created implicitly only for a scalar output, got shape {tuple(tensor.shape)}"
            )
        grad = tensor._grad_seed()
    elif not isinstance(grad, TensorBase):
        raise TypeError(f"backward: gradient must be a Tensor, got {type(grad).__name__}")
    elif tuple(grad.shape) != tuple(tensor.shape):
        raise ValueError(f"backward: gradient shape {tuple(grad.shape)} does not match tensor shape {tuple(tensor.shape)}")
    root = tensor._node
    with no_grad():
        _backward.unit_seed = grad if seeded and root is not None else None
        _backward.callbacks = callbacks = []
        try:
            if root is None:
                _accumulate_leaf(tensor, grad)
            else:
                _run_backward(root, grad, retain_graph)
            for fn in callbacks:
                fn()
        finally:
            _backward.unit_seed = _backward.callbacks = None


def _last_uses(order):
    """Leaf id -> the position in order of the last node that feeds it a gradient."""
    last = {}
    for i, node in enumerate(order):
        for t in node.inputs:
            if t is not None and t._node is None:
                last[id(t)] = i
    return last


def _run_backward(root, grad, retain_graph):
    pending = {id(root): grad}
    leaves = {}  # id -> (leaf, summed gradient): hooks see one total per backward, as PyTorch
    order = _topological_order(root)
    last = _last_uses(order)
    for i, node in enumerate(order):
        g = pending.pop(id(node), None)
        if g is None:
            continue
        grads = node.backward(node, g)
        if not isinstance(grads, tuple):
            grads = (grads,)
        for t, gi in zip(node.inputs, grads):
            if t is None or gi is None:
                continue
            if gi._a.dtype != t._a.dtype:  # a float32 input of a float64 op gets a float32 gradient
                gi = gi.to(t.dtype)
            if t._node is None:
                prev = leaves.get(id(t))
                leaves[id(t)] = (t, gi if prev is None else prev[1] + gi)
            else:
                key = id(t._node)
                prev = pending.get(key)
                pending[key] = gi if prev is None else prev + gi
        # A leaf's gradient is whole once the last node that feeds it has run: accumulate it now,
        # so that its hooks (DistributedDataParallel's all-reduce) start while backward goes on.
        for t in node.inputs:
            if t is not None and t._node is None and last.get(id(t)) == i:
                total = leaves.pop(id(t), None)
                if total is not None:
                    _accumulate_leaf(*total)
        if not retain_graph:
            node.inputs = None
            node.__dict__.clear()
    for t, g in leaves.values():  # those whose last feeding node received no gradient
        _accumulate_leaf(t, g)
