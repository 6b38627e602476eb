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


def _topological_order(root, op="backward"):
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
                f"{op}: trying to backward through the graph a second time (its saved values were freed); "
                f"pass retain_graph=True to the first {op}() if you need to"
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


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False, allow_unused=None,
         materialize_grads=False):
    """The gradients of outputs with respect to inputs (each a tensor or a sequence of them), as a tuple in
    the order of inputs, as torch.autograd.grad. No ``.grad`` is touched.

    grad_outputs: the gradient of each output (None for a scalar output: ones). A non-leaf input gets the
    total gradient that flows into it. An input the outputs do not depend on raises, unless allow_unused
    (then None, or zeros with materialize_grads). Only the nodes on a path to an input run; the graph is
    freed unless retain_graph. As in PyTorch, a leaf input's register_hook hooks see its total gradient
    and may replace what is returned; post-accumulate hooks do not run.
    """
    op = "autograd.grad"
    if create_graph:
        raise NotImplementedError(f"{op}: create_graph=True is not supported: pydl computes first-order "
                                  "gradients only (no higher-order gradients)")
    if allow_unused is None:
        allow_unused = materialize_grads
    elif materialize_grads and not allow_unused:
        raise ValueError(f"{op}: materialize_grads=True needs allow_unused=True or left unset")
    if retain_graph is None:
        retain_graph = create_graph
    outputs = _tensor_list(outputs, "outputs")
    inputs = _tensor_list(inputs, "inputs")
    if not outputs or not inputs:
        raise RuntimeError(f"{op}: {'outputs' if not outputs else 'inputs'} cannot be empty")
    if grad_outputs is None:
        grad_outputs = [None] * len(outputs)
    else:
        grad_outputs = [grad_outputs] if isinstance(grad_outputs, TensorBase) else list(grad_outputs)
        if len(grad_outputs) != len(outputs):
            raise RuntimeError(f"{op}: got {len(outputs)} outputs and {len(grad_outputs)} grad_outputs")
    seeds, implicit = [], []
    for i, (out, g) in enumerate(zip(outputs, grad_outputs)):
        if not out.requires_grad:
            raise RuntimeError(f"{op}: output {i} does not require grad and has no grad_fn")
        if g is None:
            if out.numel() != 1:
                raise RuntimeError(f"{op}: grad can be implicitly created only for scalar outputs; output {i} has "
                                   f"shape {tuple(out.shape)}: pass its gradient in grad_outputs")
            g = out._grad_seed()
            implicit.append(g)
        elif not isinstance(g, TensorBase):
            raise TypeError(f"{op}: grad_outputs[{i}] must be a Tensor or None, got {type(g).__name__}")
        elif tuple(g.shape) != tuple(out.shape):
            raise RuntimeError(f"{op}: grad_outputs[{i}] has shape {tuple(g.shape)}, but output {i} has shape "
                               f"{tuple(out.shape)}")
        seeds.append(g)
    wanted = set()
    for i, t in enumerate(inputs):
        if not t.requires_grad:
            raise RuntimeError(f"{op}: input {i} does not require grad")
        wanted.add(id(t) if t._node is None else id(t._node))

    saved = _backward.unit_seed, _backward.callbacks  # grad() may run inside another backward's hook
    with no_grad():
        _backward.unit_seed = implicit[0] if len(outputs) == 1 and implicit else None
        _backward.callbacks = callbacks = []
        try:
            totals = _run_backward(_Outputs(outputs, seeds), True, retain_graph, wanted, op)
            results, hooked = [], set()
            for i, t in enumerate(inputs):
                key = id(t) if t._node is None else id(t._node)
                g = totals.get(key)
                if g is None:
                    if not allow_unused:
                        raise RuntimeError(f"{op}: input {i} was not used in the graph of the outputs; pass "
                                           "allow_unused=True if that is intended")
                    if materialize_grads:
                        g = t.new_zeros(tuple(t.shape))
                elif t._node is None and t._hooks and key not in hooked:  # a repeated input: hooks run once
                    hooked.add(key)
                    g = totals[key] = _tensor_hooks(t, g)
                if g is not None and not g._a.is_contiguous():
                    g = g.contiguous()
                results.append(g)
            for fn in callbacks:
                fn()
        finally:
            _backward.unit_seed, _backward.callbacks = saved
    return tuple(results)


class _Outputs:
    """grad()'s root: a node whose inputs are the outputs, and whose backward hands each its gradient."""

    def __init__(self, outputs, grads):
        self.inputs, self.grads = tuple(outputs), tuple(grads)

    @staticmethod
    def backward(ctx, _):
        return ctx.grads


def _tensor_list(x, what):
    if isinstance(x, TensorBase):
        return [x]
    if not isinstance(x, (list, tuple)):
        raise TypeError(f"autograd.grad: {what} must be a Tensor or a sequence of Tensors, got {type(x).__name__}")
    for i, t in enumerate(x):
        if not isinstance(t, TensorBase):
            raise TypeError(f"autograd.grad: {what}[{i}] is a {type(t).__name__}, not a Tensor")
    return list(x)


def _tensor_hooks(t, g):
    """g after leaf t's register_hook hooks (which may replace it); post-accumulate hooks are left out."""
    for hook in t._hooks:
        if type(hook) is not PostAccumulateGradHook:
            replaced = hook(g)
            if replaced is not None:
                g = replaced
    return g


def _last_uses(order):
    """Leaf id -> the position in order of the last node that feeds it a gradient."""
    last = {}
    for i, node in enumerate(order):
        for t in node.inputs:
            if t is not None and t._node is None:
                last[id(t)] = i
    return last


def _needed(order, wanted):
    """For grad(): ids of the nodes whose backward leads to a wanted leaf or node (ids in wanted)."""
    run = set()
    for node in reversed(order):  # the nodes of a node's inputs come before it
        for t in node.inputs:
            if t is None:
                continue
            n = t._node
            if (id(t) in wanted) if n is None else (id(n) in wanted or id(n) in run):
                run.add(id(node))
                break
    return run


def _run_backward(root, grad, retain_graph, wanted=None, op="backward"):
    """One walk of the graph back from the root node, seeded with grad.

    backward() (wanted None): every node runs, and each leaf reached accumulates its total into .grad.
    grad() (wanted: ids of the input leaves and of the nodes that made the non-leaf inputs): only the
    nodes on a path to a wanted one run, nothing is accumulated, and the totals that reach the wanted
    ones are returned, by id.
    """
    pending = {id(root): grad}
    leaves = {}  # id -> (leaf, summed gradient): hooks see one total per backward, as PyTorch
    order = _topological_order(root, op)
    if wanted is None:
        last = _last_uses(order)
    else:
        last, run, captured = None, _needed(order, wanted), {}
    for i, node in enumerate(order):
        g = pending.pop(id(node), None)
        if g is None:
            continue
        if last is None:
            if id(node) in wanted:
                captured[id(node)] = g
            if id(node) not in run:
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
                if last is None and id(t) not in wanted:
                    continue
                prev = leaves.get(id(t))
                leaves[id(t)] = (t, gi if prev is None else prev[1] + gi)
            else:
                key = id(t._node)
                if last is None and key not in run and key not in wanted:
                    continue
                prev = pending.get(key)
                pending[key] = gi if prev is None else prev + gi
        if last is not None:
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
    if last is None:
        for key, (t, g) in leaves.items():
            captured[key] = g
        return captured
    for t, g in leaves.values():  # those whose last feeding node received no gradient
        _accumulate_leaf(t, g)
