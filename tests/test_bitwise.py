"""Bitwise ops (&, |, ^, ~, <<, >>) on integer and bool tensors, and the logical ops, with
PyTorch's results and dtypes: bitwise on integers, logical on bool."""
import numpy as np
import pytest

import pydl

A = [1, -8, 1, 0, 123456789012, -1]
B = [3, 5, 0, -7, 987654321, 6]
BITWISE = [("bitwise_and", np.bitwise_and), ("bitwise_or", np.bitwise_or), ("bitwise_xor", np.bitwise_xor)]


@pytest.mark.parametrize("name, ref", BITWISE)
def test_bitwise_on_int64_is_bitwise(device, name, ref):
    out = getattr(pydl, name)(pydl.tensor(A, device=device), pydl.tensor(B, device=device))
    assert out.dtype == pydl.int64
    np.testing.assert_array_equal(out.cpu().numpy(), ref(np.array(A), np.array(B)))


def test_operators_on_integers_follow_pytorch(device):
    a, b = pydl.tensor([1, -8, 1], device=device), pydl.tensor([3, 5, 0], device=device)
    assert (a & b).tolist() == [1, 0, 0]
    assert (a | b).tolist() == [3, -3, 1]
    assert (a ^ b).tolist() == [2, -3, 1]
    assert (~a).tolist() == [-2, 7, -2]
    assert (a & 6).tolist() == [0, 0, 0] and (6 | a).tolist() == [7, -2, 7] and (a ^ -1).tolist() == [-2, 7, -2]
    assert (a & b).dtype == pydl.int64


def test_uint8_stays_uint8(device):
    a = pydl.tensor([0, 1, 200, 255], dtype=pydl.uint8, device=device)
    assert (~a).dtype == pydl.uint8 and (~a).tolist() == [255, 254, 55, 0]
    assert (a & 15).tolist() == [0, 1, 8, 15] and (a & 15).dtype == pydl.uint8
    assert (a << 1).tolist() == [0, 2, 144, 254]


def test_bool_operands_give_bool(device):
    t = pydl.tensor([True, True, False, False], device=device)
    f = pydl.tensor([True, False, True, False], device=device)
    for out, expected in ((t & f, [True, False, False, False]), (t | f, [True, True, True, False]),
                          (t ^ f, [False, True, True, False]), (~t, [False, False, True, True])):
        assert out.dtype == pydl.bool and out.tolist() == expected


def test_python_bool_beside_a_bool_tensor(device):
    t = pydl.tensor([True, False], device=device)
    for out, expected in ((t | False, [True, False]), (t | True, [True, True]), (t & True, [True, False]),
                          (False | t, [True, False]), (True & t, [True, False]), (t ^ True, [False, True])):
        assert out.dtype == pydl.bool and out.tolist() == expected
    assert (t | 2).dtype == pydl.int64 and (t | 2).tolist() == [3, 2]  # an int scalar: int64, as PyTorch


def test_bool_with_int_tensor_promotes(device):
    out = pydl.tensor([True, False], device=device) | pydl.tensor([4, 4], device=device)
    assert out.dtype == pydl.int64 and out.tolist() == [5, 4]


def test_shifts_follow_pytorch(device):
    a = pydl.tensor([1, -8, 5, 3, -3], device=device)
    assert (a << 2).tolist() == [4, -32, 20, 12, -12]
    assert (a >> 1).tolist() == [0, -4, 2, 1, -2]  # arithmetic shift, as PyTorch
    counts = pydl.tensor([0, 1, 63, 64, 100], device=device)
    assert (pydl.tensor([1, 1, 1, 1, 1], device=device) << counts).tolist() == [1, 2, -2 ** 63, 0, 0]
    assert (pydl.tensor([-5, -5, -5, -5, 7], device=device) >> counts).tolist() == [-5, -3, -1, -1, 0]
    assert (1 << pydl.tensor([3], device=device)).tolist() == [8]


@pytest.mark.parametrize("op", [lambda a, b: a & b, lambda a, b: a | b, lambda a, b: a ^ b,
                                lambda a, b: a << b, lambda a, b: a >> b])
def test_float_operands_are_refused(device, op):
    x = pydl.tensor([1.0, 2.0], device=device)
    with pytest.raises(TypeError, match="bitwise"):
        op(x, x)
    with pytest.raises(RuntimeError, match="bitwise"):  # PyTorch's exception type works too
        op(x, x)
    with pytest.raises(TypeError, match="bitwise.*float"):
        op(pydl.tensor([1, 2], device=device), 1.5)


def test_invert_of_float_is_refused():
    with pytest.raises(TypeError, match="bitwise_not: expected an integer or bool tensor, got float32"):
        ~pydl.tensor([1.0])


def test_shift_of_bool_is_refused():
    with pytest.raises(TypeError, match="bitwise_left_shift: expected integer tensors, got bool"):
        pydl.tensor([True]) << pydl.tensor([True])


def test_in_place_bitwise(device):
    a = pydl.tensor([12, 10], device=device)
    a &= pydl.tensor([10, 6], device=device)
    assert a.tolist() == [8, 2]
    a |= 1
    assert a.tolist() == [9, 3]
    a ^= 3
    assert a.tolist() == [10, 0]
    m = pydl.tensor([True, False], device=device)
    m |= pydl.tensor([False, True], device=device)
    assert m.dtype == pydl.bool and m.tolist() == [True, True]


def test_logical_ops_take_any_dtype_and_scalars(device):
    a, b = pydl.tensor([1.5, 0.0, -2.0, 0.0], device=device), pydl.tensor([3, 0, 0, 7], device=device)
    assert pydl.logical_and(a, b).tolist() == [True, False, False, False]
    assert pydl.logical_or(a, b).tolist() == [True, False, True, True]
    assert pydl.logical_xor(a, b).tolist() == [False, False, True, True]
    assert pydl.logical_not(a).tolist() == [False, True, False, True]
    assert pydl.logical_or(a, False).tolist() == [True, False, True, False]
    assert pydl.logical_and(1, b).tolist() == [True, False, False, True]
    assert a.logical_xor(b).dtype == pydl.bool


@pytest.mark.parametrize("name", ["maximum", "minimum"])
def test_maximum_of_bools_is_bool(device, name):
    t, f = pydl.tensor([True, True, False], device=device), pydl.tensor([True, False, False], device=device)
    out = getattr(pydl, name)(t, f)
    assert out.dtype == pydl.bool
    assert out.tolist() == ([True, True, False] if name == "maximum" else [True, False, False])


def test_against_pytorch(device):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    a, b = rng.integers(-2 ** 40, 2 ** 40, 64), rng.integers(-2 ** 40, 2 ** 40, 64)
    s = rng.integers(-3, 70, 64)
    pa, pb, ps = (pydl.tensor(v.tolist(), device=device) for v in (a, b, s))
    ta, tb, ts = (torch.tensor(v) for v in (a, b, s))
    ps, ts = ps.clamp(0, 63), ts.clamp(0, 63)
    for mine, theirs in ((pa & pb, ta & tb), (pa | pb, ta | tb), (pa ^ pb, ta ^ tb), (~pa, ~ta), (pa << ps, ta << ts),
                         (pa >> ps, ta >> ts)):
        np.testing.assert_array_equal(mine.cpu().numpy(), theirs.numpy())


def test_two_python_numbers_are_refused():
    with pytest.raises(TypeError, match="bitwise_and: expected a Tensor operand, got int and int"):
        pydl.bitwise_and(1, 2)
