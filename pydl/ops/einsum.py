"""``einsum`` as torch.einsum: subscripts with an optional ``->`` output and ``...`` for
broadcast dims. Operands are contracted left to right, each pair as one batched matmul
(dims kept, summed over, or only on one side, grouped by a permute and a reshape); repeated
subscripts within an operand take its diagonal; subscripts needed nowhere later are summed
out first. Everything is an existing differentiable op, so the gradients come with it."""
import math
import string

from pydl._C import ArgumentError
from pydl.ops.linalg import matmul
from pydl.ops.rearrange import diagonal
from pydl.ops.reduction import sum as sum_dims

_LETTERS = string.ascii_letters


def _parse(equation, operands):
    """The subscripts of each operand and of the output, '...' spelt as letters the equation leaves free."""
    equation = equation.replace(" ", "")
    inputs, arrow, output = equation.partition("->")
    terms = inputs.split(",")
    if len(terms) != len(operands):
        raise ArgumentError(f"einsum: the equation has {len(terms)} operand(s), got {len(operands)} tensor(s)")
    used = set(c for c in equation if c.isalpha())
    spare = [c for c in _LETTERS if c not in used]
    ellipsis_dims = max((x.dim() - len(t.replace("...", "")) for t, x in zip(terms, operands) if "..." in t),
                        default=0)
    if len(spare) < ellipsis_dims:
        raise ArgumentError("einsum: too many dims under '...'")
    batch = "".join(spare[:ellipsis_dims])
    subscripts = []
    for t, x in zip(terms, operands):
        if "..." in t:
            n = x.dim() - len(t.replace("...", ""))
            t = t.replace("...", batch[ellipsis_dims - n:] if n else "")
        if any(not c.isalpha() for c in t) or len(t) != x.dim():
            raise ArgumentError(f"einsum: subscripts '{t}' do not match an operand of {x.dim()} dims")
        subscripts.append(t)
    if arrow:
        output = output.replace("...", batch)
        if any(not c.isalpha() for c in output) or len(set(output)) != len(output):
            raise ArgumentError(f"einsum: bad output subscripts '{output}'")
    else:
        counts = {c: "".join(subscripts).count(c) for c in set("".join(subscripts))}
        output = batch + "".join(sorted(c for c, n in counts.items() if n == 1 and c not in batch))
    for c in output:
        if c not in "".join(subscripts):
            raise ArgumentError(f"einsum: output subscript '{c}' appears in no operand")
    return subscripts, output


def _take_diagonals(x, sub):
    """x with each repeated subscript reduced to its diagonal (moved last)."""
    while len(set(sub)) != len(sub):
        c = next(c for c in sub if sub.count(c) > 1)
        first = sub.index(c)
        second = sub.index(c, first + 1)
        x = diagonal(x, 0, first, second)
        sub = sub[:first] + sub[first + 1:second] + sub[second + 1:] + c
    return x, sub


def _sum_out(x, sub, keep):
    dims = [i for i, c in enumerate(sub) if c not in keep]
    if not dims:
        return x, sub
    return sum_dims(x, dims), "".join(c for c in sub if c in keep)


def _contract(a, sa, b, sb, keep):
    """a and b (subscripts sa, sb) multiplied and summed over the shared subscripts not in keep."""
    batch = [c for c in sa if c in sb and c in keep]
    summed = [c for c in sa if c in sb and c not in keep]
    left, right = [c for c in sa if c not in sb], [c for c in sb if c not in sa]
    size = {c: n for s, x in ((sa, a), (sb, b)) for c, n in zip(s, x.shape)}
    for c in batch + summed:  # a dim of 1 on one side broadcasts, as in torch.einsum
        size[c] = max(a.shape[sa.index(c)], b.shape[sb.index(c)])

    def prod(cs):
        return math.prod(size[c] for c in cs)

    a = a.permute(*[sa.index(c) for c in batch + left + summed]).expand(*[size[c] for c in batch + left + summed])
    b = b.permute(*[sb.index(c) for c in batch + summed + right]).expand(*[size[c] for c in batch + summed + right])
    a = a.reshape(prod(batch), prod(left), prod(summed))
    b = b.reshape(prod(batch), prod(summed), prod(right))
    out = matmul(a, b).reshape([size[c] for c in batch + left + right])
    return out, "".join(batch + left + right)


def einsum(equation, *operands):
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    subscripts, output = _parse(equation, operands)
    pending = [_take_diagonals(x, s) for x, s in zip(operands, subscripts)]
    x, sub = pending[0]
    for i in range(1, len(pending) + 1):
        later = output + "".join(s for _, s in pending[i:])
        x, sub = _sum_out(x, sub, later)
        if i == len(pending):
            break
        y, sy = pending[i]
        y, sy = _sum_out(y, sy, later + sub)
        x, sub = _contract(x, sub, y, sy, later)
    return x.permute(*[sub.index(c) for c in output]) if sub != output else x
