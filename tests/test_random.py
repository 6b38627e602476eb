"""Philox4x32-10 and the seeded random ops: known answers, reproducibility, statistics."""
import numpy as np
import pytest

import pydl

M32 = 0xFFFFFFFF
M64 = 0xFFFFFFFFFFFFFFFF


# ---------------------------------------------------------------------- Philox known answers
# Random123's kat_vectors for philox4x32 with 10 rounds. The binding takes the 128-bit
# counter as (counter_lo, counter_hi) = (c0 | c1 << 32, c2 | c3 << 32) and the key as
# k0 | k1 << 32.
def _philox(ctr, key):
    c0, c1, c2, c3 = ctr
    k0, k1 = key
    return tuple(pydl._C.philox(c0 | c1 << 32, c2 | c3 << 32, k0 | k1 << 32))


@pytest.mark.parametrize("ctr,key,expected", [
    ((0, 0, 0, 0), (0, 0), (0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8)),
    ((M32, M32, M32, M32), (M32, M32), (0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD)),
    ((0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344), (0xA4093822, 0x299F31D0),
     (0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1)),
])
def test_philox_known_answers(ctr, key, expected):
    assert _philox(ctr, key) == expected


def test_philox_raw_binding_layout():
    assert tuple(pydl._C.philox(0, 0, 0)) == (0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8)
    assert tuple(pydl._C.philox(M64, M64, M64)) == (0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD)
    out = pydl._C.philox(1, 0, 0)
    assert len(out) == 4 and all(isinstance(v, int) and 0 <= v <= M32 for v in out)
    assert tuple(out) != tuple(pydl._C.philox(0, 0, 0))
    assert tuple(pydl._C.philox(0, 1, 0)) != tuple(pydl._C.philox(0, 0, 0))
    assert tuple(pydl._C.philox(0, 0, 1 << 32)) != tuple(pydl._C.philox(0, 0, 0))


def test_rand_is_philox_of_seed_and_offset():
    """Element i of rand (float32) is the top 24 bits of word i % 4 of block i // 4, keyed by the seed."""
    seed = 1234567
    pydl.manual_seed(seed)
    got = pydl.rand(10).numpy()
    words = [pydl._C.philox(i // 4, 0, seed)[i % 4] for i in range(10)]
    expected = np.array([(w >> 8) / 2.0 ** 24 for w in words], dtype=np.float32)
    np.testing.assert_array_equal(got, expected)


# ---------------------------------------------------------------------- reproducibility
DRAWS = {
    "rand": lambda: pydl.rand(3, 5),
    "rand64": lambda: pydl.rand(7, dtype=pydl.float64),
    "randn": lambda: pydl.randn(2, 9),
    "randn64": lambda: pydl.randn(11, dtype=pydl.float64),
    "randint": lambda: pydl.randint(-5, 17, (20,)),
    "randperm": lambda: pydl.randperm(25),
    "rand_like": lambda: pydl.rand_like(pydl.zeros(4, 2)),
    "randn_like": lambda: pydl.randn_like(pydl.zeros(6, dtype=pydl.float64)),
}


@pytest.mark.parametrize("name", sorted(DRAWS))
def test_manual_seed_reproducible(name):
    draw = DRAWS[name]
    pydl.manual_seed(42)
    a, a2 = draw().numpy(), draw().numpy()
    pydl.manual_seed(42)
    b, b2 = draw().numpy(), draw().numpy()
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(a2, b2)
    assert not np.array_equal(a, a2)  # consecutive draws move on
    pydl.manual_seed(43)
    assert not np.array_equal(draw().numpy(), a)


def test_initial_seed():
    pydl.manual_seed(987654321)
    assert pydl.initial_seed() == 987654321
    pydl.manual_seed(-1)  # wraps to 64 bits, as PyTorch
    assert pydl.initial_seed() == M64


@pytest.mark.parametrize("dtype", [pydl.float32, pydl.float64])
@pytest.mark.parametrize("fn", ["rand", "randn"])
def test_element_is_pure_function_of_seed_and_offset(fn, dtype):
    draw = getattr(pydl, fn)
    pydl.manual_seed(7)
    short = draw(8, dtype=dtype).numpy()
    pydl.manual_seed(7)
    long = draw(16, dtype=dtype).numpy()
    np.testing.assert_array_equal(short, long[:8])
    # shape does not matter either: elements are laid out in order
    pydl.manual_seed(7)
    np.testing.assert_array_equal(draw(2, 4, dtype=dtype).numpy().ravel(), short)
    # two consecutive draws of 8 are the 16 (8 is a multiple of the 4-wide Philox block)
    pydl.manual_seed(7)
    first, second = draw(8, dtype=dtype).numpy(), draw(8, dtype=dtype).numpy()
    np.testing.assert_array_equal(np.concatenate([first, second]), long)


def test_offset_advances_by_whole_blocks():
    pydl.manual_seed(5)
    pydl.rand(3)
    seed, offset = pydl._C.rng_state()
    assert (seed, offset) == (5, 4)
    pydl.rand(4)
    assert pydl._C.rng_state()[1] == 8
    a = pydl.rand(4).numpy()
    pydl.manual_seed(5)
    np.testing.assert_array_equal(pydl.rand(12).numpy()[8:], a)


# ---------------------------------------------------------------------- statistics
def test_randn_statistics():
    pydl.manual_seed(2024)
    for dtype in (pydl.float32, pydl.float64):
        x = pydl.randn(100_000, dtype=dtype)
        assert x.dtype == dtype
        a = x.numpy().astype(np.float64)
        assert np.all(np.isfinite(a))
        assert abs(a.mean()) < 0.02
        assert abs(a.std() - 1.0) < 0.02
        assert abs(np.mean(a ** 3)) < 0.05  # symmetric
        assert abs(np.mean(a ** 4) - 3.0) < 0.1  # gaussian kurtosis
        assert 0.67 < np.mean(np.abs(a) < 1.0) < 0.70  # 68.3% within one sigma
        assert len(np.unique(a)) > 99_000


def test_rand_statistics_and_range():
    pydl.manual_seed(11)
    for dtype in (pydl.float32, pydl.float64):
        a = pydl.rand(100_000, dtype=dtype).numpy()
        assert a.dtype == dtype.numpy
        assert a.min() >= 0.0 and a.max() < 1.0
        assert abs(a.mean() - 0.5) < 0.01
        assert abs(a.var() - 1 / 12) < 0.005
        hist = np.histogram(a, bins=10, range=(0, 1))[0]
        assert hist.min() > 9_000 and hist.max() < 11_000


def test_rand_float64_has_more_than_float32_resolution():
    pydl.manual_seed(3)
    a = pydl.rand(10_000, dtype=pydl.float64).numpy()
    # float32 rand values are multiples of 2**-24; float64 ones use 53 bits
    assert np.mean(a * 2.0 ** 24 != np.floor(a * 2.0 ** 24)) > 0.99


def test_randint_range_and_coverage():
    pydl.manual_seed(9)
    r = pydl.randint(3, 10, (20_000,))
    assert r.dtype == pydl.int64
    a = r.numpy()
    assert a.min() == 3 and a.max() == 9
    counts = np.bincount(a - 3)
    assert len(counts) == 7 and counts.min() > 2_500
    assert tuple(pydl.randint(5, size=(2, 3)).shape) == (2, 3)
    assert pydl.randint(4, size=(100,)).numpy().max() < 4
    with pytest.raises(ValueError):
        pydl.randint(5, 5, (2,))


def test_randperm_is_a_permutation():
    pydl.manual_seed(1)
    p = pydl.randperm(1000)
    assert p.dtype == pydl.int64
    a = p.numpy()
    np.testing.assert_array_equal(np.sort(a), np.arange(1000))
    assert not np.array_equal(a, np.arange(1000))
    assert pydl.randperm(0).numel() == 0


def test_rand_integer_dtype_rejected():
    with pytest.raises(TypeError):
        pydl.rand(3, dtype=pydl.int64)
    with pytest.raises(TypeError):
        pydl.randn(3, dtype=pydl.uint8)


# ---------------------------------------------------------------------- in place
def test_uniform_in_place():
    x = pydl.zeros(50_000, dtype=pydl.float64)
    ptr = x.data_ptr()
    assert x.uniform_(-2.0, 3.0) is x
    assert x.data_ptr() == ptr
    a = x.numpy()
    assert a.min() >= -2.0 and a.max() < 3.0
    assert abs(a.mean() - 0.5) < 0.05
    assert a.min() < -1.9 and a.max() > 2.9


def test_normal_in_place():
    x = pydl.empty(2, 50_000)
    assert x.normal_(mean=5.0, std=0.5) is x
    a = x.numpy()
    assert a.shape == (2, 50_000)
    assert abs(a.mean() - 5.0) < 0.01
    assert abs(a.std() - 0.5) < 0.01


def test_in_place_random_reproducible_and_matches_rand():
    pydl.manual_seed(77)
    a = pydl.empty(9).uniform_().numpy()
    pydl.manual_seed(77)
    np.testing.assert_array_equal(pydl.rand(9).numpy(), a)
    pydl.manual_seed(77)
    b = pydl.empty(9).normal_().numpy()
    pydl.manual_seed(77)
    np.testing.assert_array_equal(pydl.randn(9).numpy(), b)


def test_in_place_random_on_view_and_grad_tensor():
    x = pydl.zeros(4, 4)
    x[1:3].uniform_(1.0, 2.0)
    a = x.numpy()
    assert np.all(a[[0, 3]] == 0.0)
    assert np.all((a[1:3] >= 1.0) & (a[1:3] < 2.0))
    w = pydl.zeros(3, requires_grad=True)
    with pytest.raises(RuntimeError):
        w.normal_()
    with pydl.no_grad():
        w.normal_()
    assert w.requires_grad and np.any(w.detach().numpy() != 0.0)


def test_normal_negative_std_rejected():
    with pytest.raises(ValueError):
        pydl.zeros(3).normal_(0.0, -1.0)
