"""matmul / @ (torch.matmul semantics) against numpy float64 references.

Tolerances, as a relative error max|got - ref| / max|ref| with ref the float64 product
of the (possibly float32-rounded) inputs: float64 < 1e-10, float32 < 1e-4.
"""
import ast
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import pydl

TOL = {np.float64: 1e-10, np.float32: 1e-4}
DTYPES = [np.float64, np.float32]
DT_IDS = ["float64", "float32"]


def T(a, device):
    return pydl.tensor(a, device=device)


def check(got, ref, npdt):
    """got (a Tensor) matches the float64 reference ref to TOL[npdt] relative to max|ref|."""
    assert isinstance(got, pydl.Tensor)
    g = got.detach().cpu().numpy()
    assert g.shape == ref.shape, f"shape {g.shape} != {ref.shape}"
    assert g.dtype == np.dtype(npdt), f"dtype {g.dtype} != {np.dtype(npdt)}"
    if ref.size == 0:
        return
    scale = max(np.max(np.abs(ref)), 1e-30)
    err = np.max(np.abs(g.astype(np.float64) - ref)) / scale
    assert err < TOL[npdt], f"relative error {err:.3g} >= {TOL[npdt]}"


def operands(rng, sa, sb, npdt):
    """Random operands of the given shapes, rounded to npdt, and their float64 reference product."""
    a = rng.standard_normal(sa).astype(npdt)
    b = rng.standard_normal(sb).astype(npdt)
    return a, b, np.matmul(a.astype(np.float64), b.astype(np.float64))


SHAPES = [
    ((5,), (5,)),  # 1-d . 1-d -> 0-d
    ((5,), (5, 3)),  # 1-d . 2-d
    ((4, 5), (5,)),  # 2-d . 1-d
    ((4, 5), (5, 3)),
    ((2, 4, 5), (2, 5, 3)),  # batched 3-d
    ((2, 4, 5), (5, 3)),  # batch against a matrix
    ((4, 5), (3, 5, 2)),  # matrix against a batch
    ((2, 1, 3, 4), (5, 4, 6)),  # 4-d with broadcast batch dims
    ((1, 3, 3, 4), (2, 1, 4, 2)),
    ((3, 2, 4, 5), (3, 2, 5, 1)),
    ((5,), (2, 3, 5, 4)),  # 1-d against a batch
    ((2, 3, 4, 5), (5,)),
]


@pytest.mark.parametrize("npdt", DTYPES, ids=DT_IDS)
@pytest.mark.parametrize("sa,sb", SHAPES, ids=str)
def test_matmul_shapes(sa, sb, npdt, device, rng):
    a, b, ref = operands(rng, sa, sb, npdt)
    ta, tb = T(a, device), T(b, device)
    check(ta @ tb, ref, npdt)
    check(pydl.matmul(ta, tb), ref, npdt)
    check(ta.matmul(tb), ref, npdt)
    # the operands are left as they were
    np.testing.assert_array_equal(ta.cpu().numpy(), a)
    np.testing.assert_array_equal(tb.cpu().numpy(), b)


@pytest.mark.parametrize("npdt", DTYPES, ids=DT_IDS)
def test_mm_dot_outer(npdt, device, rng):
    a, b, ref = operands(rng, (6, 7), (7, 8), npdt)
    check(pydl.mm(T(a, device), T(b, device)), ref, npdt)
    u, v = rng.standard_normal(9).astype(npdt), rng.standard_normal(9).astype(npdt)
    d = pydl.dot(T(u, device), T(v, device))
    assert d.shape == ()
    check(d, np.dot(u.astype(np.float64), v.astype(np.float64)), npdt)
    check(pydl.outer(T(u, device), T(v[:4], device)), np.outer(u.astype(np.float64), v[:4].astype(np.float64)), npdt)
    with pytest.raises(ValueError, match="mm"):
        pydl.mm(T(u, device), T(b, device))
    with pytest.raises(ValueError, match="dot"):
        pydl.dot(T(a, device), T(u, device))


@pytest.mark.parametrize("npdt", DTYPES, ids=DT_IDS)
@pytest.mark.parametrize("ta_,tb_", [(False, False), (True, False), (False, True), (True, True)],
                         ids=["NN", "TN", "NT", "TT"])
def test_transposed_views(ta_, tb_, npdt, device, rng):
    m, k, n = 37, 70, 29
    a, b, ref = operands(rng, (m, k), (k, n), npdt)
    # store the transposed operands contiguously and hand matmul a transposed view of them
    ta = T(np.ascontiguousarray(a.T), device).T if ta_ else T(a, device)
    tb = T(np.ascontiguousarray(b.T), device).transpose(-1, -2) if tb_ else T(b, device)
    assert ta.is_contiguous() != ta_ and tb.is_contiguous() != tb_
    check(ta @ tb, ref, npdt)
    # batched, through .transpose(-1, -2) and .mT, with a broadcast batch dim
    a3, b3, ref3 = operands(rng, (3, m, k), (1, k, n), npdt)
    ta3 = T(np.ascontiguousarray(a3.transpose(0, 2, 1)), device).transpose(-1, -2) if ta_ else T(a3, device)
    tb3 = T(np.ascontiguousarray(b3.transpose(0, 2, 1)), device).mT if tb_ else T(b3, device)
    check(ta3 @ tb3, ref3, npdt)


@pytest.mark.parametrize("npdt", DTYPES, ids=DT_IDS)
def test_other_strided_operands(npdt, device, rng):
    big = rng.standard_normal((40, 50)).astype(npdt)
    other = rng.standard_normal((50, 30)).astype(npdt)
    tbig, tother = T(big, device), T(other, device)
    # row-stepped (leading dimension > cols), column-stepped (needs a copy), offset slices
    cases = [
        (tbig[::2], tother, big[::2], other),
        (tbig[:, ::2], tother[::2], big[:, ::2], other[::2]),
        (tbig[3:9, 5:45], tother[10:50, 1:30], big[3:9, 5:45], other[10:50, 1:30]),
        (tbig[1], tother, big[1], other),  # a row as a 1-d operand
        (tbig[:, 7], tother[:40], big[:, 7], other[:40]),  # a column (stride 50) as a 1-d operand
        (tother.T, tbig.T[:, 7:17:3], other.T, big.T[:, 7:17:3]),  # transposed a, stepped transposed b
        (tbig[::3, 0:1], tother[0:1, :], big[::3, 0:1], other[0:1, :]),  # k = 1 with strides
    ]
    for ta, tb, a, b in cases:
        check(ta @ tb, a.astype(np.float64) @ b.astype(np.float64), npdt)
    # an expanded (stride-0) batch operand
    a = rng.standard_normal((6, 7)).astype(npdt)
    b = rng.standard_normal((4, 7, 5)).astype(npdt)
    check(T(a, device).expand(4, 6, 7) @ T(b, device), np.matmul(a.astype(np.float64), b.astype(np.float64)), npdt)
    # a permuted batch (non-uniform batch strides)
    b4 = rng.standard_normal((3, 2, 7, 5)).astype(npdt)
    tb4 = T(np.ascontiguousarray(b4.transpose(1, 0, 2, 3)), device).permute(1, 0, 2, 3)
    check(T(a, device) @ tb4, np.matmul(a.astype(np.float64), b4.astype(np.float64)), npdt)


@pytest.mark.parametrize("npdt", DTYPES, ids=DT_IDS)
def test_row_major_a_read_in_place(npdt, device, rng):
    """Products past the small path with a narrow C read a row-major A in place (its last, partial
    strip packed); rows a multiple of 4 KiB apart, or a wide C, pack it. Each against float64."""
    big = rng.standard_normal((130, 1100)).astype(npdt)
    b = rng.standard_normal((700, 100)).astype(npdt)
    aligned = rng.standard_normal((50, 1024)).astype(np.float32)
    wide = rng.standard_normal((700, 600)).astype(npdt)
    cases = [(big[:, :700], b), (big[:125, 200:900], b[:, :33]), (big[:, :700], wide),
             (aligned[:, :600].astype(npdt), b[:600, :64])]
    for a, w in cases:
        check(T(a, device) @ T(w, device), a.astype(np.float64) @ w.astype(np.float64), npdt)
    check(T(aligned, device)[:, :600] @ T(b[:600].astype(np.float32), device),
          aligned[:, :600].astype(np.float64) @ b[:600].astype(np.float64), np.float32)


@pytest.mark.parametrize("npdt", DTYPES, ids=DT_IDS)
def test_small_products_read_a_row_major_b_in_place(npdt, device, rng):
    """The small path reads a row-major B in place, its last partial vector masked: B a slice of wider
    rows (whose further columns must not leak in), and rows 4 KiB apart (then packed), against float64."""
    wide = rng.standard_normal((100, 1024)).astype(npdt)
    a = rng.standard_normal((64, 100)).astype(npdt)
    tw, ta = T(wide, device), T(a, device)
    for k, j0, j1 in ((100, 0, 10), (100, 3, 103), (10, 5, 105), (100, 1000, 1003), (100, 7, 19), (10, 0, 1024),
                      (10, 0, 100)):
        rows, cols = slice(0, k), slice(j0, j1)
        check(ta[:, :k] @ tw[rows, cols], a[:, :k].astype(np.float64) @ wide[rows, cols].astype(np.float64), npdt)


@pytest.mark.parametrize("npdt", DTYPES, ids=DT_IDS)
def test_tall_transposed_products_computed_swapped(npdt, device, rng):
    """C = A^T B much taller than wide and deep enough (a weight gradient g^T x with few inputs) runs on
    the CPU as C^T = B^T A, transposed back: the same products in the same order, so the same bits as
    the same product within a batch (which keeps the direct route), and float64-accurate. Each thread
    computes a band of C^T: the same bits from a team of 1, 2 or 3 (an MLP's dW1, 784x100 from 64).
    Small ones under a vector wide too (an MLP's dW2 stored as h^T g, 100x10 from 64)."""
    before = pydl.get_num_threads()
    try:
        for m, n, k in [(512, 28, 1792), (300, 100, 700), (257, 33, 300), (784, 100, 64), (100, 10, 64),
                        (64, 3, 20), (37, 5, 9)]:
            a, b = rng.standard_normal((k, m)).astype(npdt), rng.standard_normal((k, n)).astype(npdt)
            got = T(a, device).mT @ T(b, device)
            check(got, a.T.astype(np.float64) @ b.astype(np.float64), npdt)
            if device == "cpu":
                direct = (T(np.stack([a, a]), device).mT @ T(np.stack([b, b]), device))[1]
                np.testing.assert_array_equal(got.numpy(), direct.numpy())
                for threads in (1, 3):
                    pydl.set_num_threads(threads)
                    np.testing.assert_array_equal((T(a, device).mT @ T(b, device)).numpy(), got.numpy())
                pydl.set_num_threads(before)
    finally:
        pydl.set_num_threads(before)


def check_x_at_w_t(rng, m, k, n, npdt, device):
    """x @ W.T, and a Linear's with its bias and ReLU fused, against float64; returns (x, W, x @ W.T)."""
    from pydl.nn.functional.linear import linear_relu

    x = rng.standard_normal((m, k)).astype(npdt)
    w = rng.standard_normal((n, k)).astype(npdt)
    b = rng.standard_normal(n).astype(npdt)
    ref = x.astype(np.float64) @ w.T.astype(np.float64)
    check(T(x, device) @ T(w, device).T, ref, npdt)
    check(linear_relu(T(x, device), T(w, device), T(b, device)), np.maximum(ref + b, 0), npdt)
    return x, w, ref


@pytest.mark.parametrize("npdt", DTYPES, ids=DT_IDS)
def test_few_rows_against_a_transposed_b(npdt, device, rng):
    """x @ W.T with up to 6 rows runs as dot products along K, W read in place; a few more rows take the
    small path, which copies W's transpose by blocks. Depths and widths around whole vectors, with the
    fused bias and ReLU of a Linear, against float64."""
    for m in (1, 2, 3, 6, 7, 12):
        for k, n in ((5, 3), (16, 4), (33, 10), (784, 100), (128, 130)):
            check_x_at_w_t(rng, m, k, n, npdt, device)


@pytest.mark.parametrize("npdt", DTYPES, ids=DT_IDS)
def test_row_counts_around_the_tile_choice(npdt, device, rng):
    """On Intel the register tile has 12 rows, or 8 where 8-row strips pad fewer rows (32, 64): each
    count around the switch is right, from a row-major A read in place and from a transposed one."""
    for m in (24, 32, 36, 40, 64, 72, 96, 100):
        a, b, ref = operands(rng, (m, 128), (128, 512), npdt)
        check(T(a, device) @ T(b, device), ref, npdt)
        check(T(np.ascontiguousarray(a.T), device).mT @ T(b, device), ref, npdt)


@pytest.mark.parametrize("npdt", DTYPES, ids=DT_IDS)
def test_last_strips_of_a_tiled_product(npdt, device, rng):
    """Past the small path, C's last columns when a few past whole strips (100 = 3 x 32 + 4) run as dot
    products against a transposed B, and A's last, short strip (100 = 8 x 12 + 4) a 4- or 8-row tile:
    each width and row count around them, over one and several K blocks, from A read in place and
    transposed, with a Linear's fused bias and ReLU, against float64."""
    for m in (100, 104, 131):
        for k, n in ((300, 36), (784, 100), (1000, 40), (200, 41), (129, 68)):
            x, w, ref = check_x_at_w_t(rng, m, k, n, npdt, device)
            check(T(np.ascontiguousarray(x.T), device).mT @ T(w, device).T, ref, npdt)
            check(T(x, device) @ T(np.ascontiguousarray(w.T), device), ref, npdt)


ODD = [
    (1, 1, 1), (1, 7, 1), (7, 1, 7), (7, 7, 7), (33, 1, 33), (1, 33, 127), (127, 33, 1), (33, 127, 7),
    (127, 127, 127), (1000, 3, 5), (5, 1000, 3), (3, 5, 1000), (7, 600, 33),  # k beyond one 256-deep block
    (170, 40, 9),  # m beyond one row block
    (9, 40, 1100),  # n beyond one column panel
    (600, 9, 130), (515, 120, 13),  # thin products taking the small path beyond its general size
]


@pytest.mark.parametrize("npdt", DTYPES, ids=DT_IDS)
@pytest.mark.parametrize("m,k,n", ODD, ids=str)
def test_odd_sizes(m, k, n, npdt, device, rng):
    a, b, ref = operands(rng, (m, k), (k, n), npdt)
    check(T(a, device) @ T(b, device), ref, npdt)


@pytest.mark.parametrize("npdt", DTYPES, ids=DT_IDS)
def test_empty_dims(npdt, device):
    dt = pydl.float64 if npdt is np.float64 else pydl.float32

    def z(*shape):
        return pydl.zeros(*shape, dtype=dt, device=device)

    def o(*shape):
        return pydl.ones(*shape, dtype=dt, device=device)

    check(o(3, 0) @ o(0, 4), np.zeros((3, 4)), npdt)  # k = 0: sums of nothing
    check(o(2, 3, 0) @ z(0, 5), np.zeros((2, 3, 5)), npdt)
    check(o(0) @ o(0), np.array(0.0), npdt)
    check(z(0, 5) @ z(5, 4), np.zeros((0, 4)), npdt)  # m = 0
    check(z(3, 5) @ z(5, 0), np.zeros((3, 0)), npdt)  # n = 0
    check(z(0, 3, 5) @ z(5, 4), np.zeros((0, 3, 4)), npdt)  # no batches
    check(z(2, 0, 5) @ z(2, 5, 0), np.zeros((2, 0, 0)), npdt)


ISA_SCRIPT = textwrap.dedent("""
    import sys
    import numpy as np
    import pydl
    rng = np.random.default_rng(20240607)
    out = {"isa": np.array(pydl._C.cpu_isa())}
    for i, (sa, sb) in enumerate([((1, 1), (1, 1)), ((7, 33), (33, 127)), ((127, 300), (300, 33)),
                                  ((2, 1, 13, 17), (3, 17, 9)), ((40,), (40, 70)), ((300, 100), (100, 200))]):
        for dt in (np.float32, np.float64):
            a = rng.standard_normal(sa).astype(dt)
            b = rng.standard_normal(sb).astype(dt)
            out[f"p{i}_{dt.__name__}"] = (pydl.tensor(a) @ pydl.tensor(b)).numpy()
            # (a @ b)^T from transposed views: exercises the transposed packing of each ISA
            ta = pydl.tensor(a).mT if a.ndim > 1 else pydl.tensor(a)
            out[f"t{i}_{dt.__name__}"] = (pydl.tensor(b).mT @ ta).numpy()
            out[f"a{i}_{dt.__name__}"], out[f"b{i}_{dt.__name__}"] = a, b
    for dt in (np.float32, np.float64):  # a small A^T B under a vector wide: computed swapped
        h, g = rng.standard_normal((64, 100)).astype(dt), rng.standard_normal((64, 3)).astype(dt)
        out[f"s_{dt.__name__}"] = (pydl.tensor(h).mT @ pydl.tensor(g)).numpy()
        out[f"sh_{dt.__name__}"], out[f"sg_{dt.__name__}"] = h, g
    for i, (m, k, n) in enumerate([(7, 33, 20), (64, 100, 10), (130, 120, 70), (100, 300, 36)]):  # bias + ReLU fused
        x, w, bias = (rng.standard_normal(s).astype(np.float32) for s in ((m, k), (n, k), (n,)))
        out[f"lin{i}"] = pydl.nn.functional.relu(pydl.nn.functional.linear(*map(pydl.tensor, (x, w, bias)))).numpy()
        out[f"x{i}"], out[f"w{i}"], out[f"bias{i}"] = x, w, bias
    np.savez(sys.argv[1], **out)
    print("checksum", sum(float(np.sum(np.abs(v))) for k, v in out.items() if k[0] == "p"))
""")


# The GEMM's run-time choices, each forced: the ISA, the register tile's rows (kernels/cpu/gemm_plan.h)
# and a blocking small enough that every product above the small-product path spans many K, M and N blocks.
GEMM_PLANS = {"generic": {"PYDL_CPU_ISA": "generic"}, "avx2": {"PYDL_CPU_ISA": "avx2"}, "default": {},
              "tile_rows_8": {"PYDL_GEMM_TILE_ROWS": "8"}, "tile_rows_12": {"PYDL_GEMM_TILE_ROWS": "12"},
              "small_blocks": {"PYDL_GEMM_BLOCKING": "32,24,64"}}


def test_every_cpu_isa_path_agrees(tmp_path):
    script = tmp_path / "isa_product.py"
    script.write_text(ISA_SCRIPT)
    procs = {}
    for isa, forced in GEMM_PLANS.items():
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PYDL_CPU_ISA", "PYDL_GEMM_"))}
        env.update(forced)
        procs[isa] = subprocess.Popen([sys.executable, str(script), str(tmp_path / f"{isa}.npz")], env=env,
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    results = {}
    for isa, p in procs.items():
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, f"{isa}: {err}"
        assert "checksum" in out
        results[isa] = dict(np.load(tmp_path / f"{isa}.npz"))
    # the variable can only lower the ISA
    assert str(results["generic"]["isa"]) == "generic"
    assert str(results["avx2"]["isa"]) in ("avx2", "generic")
    assert str(results["default"]["isa"]) in ("avx512", "avx2", "generic")
    assert str(results["default"]["isa"]) == pydl._C.cpu_isa()
    ref_run = results["default"]
    for isa, res in results.items():
        for i in range(4):
            x, w, bias = (ref_run[f"{name}{i}"].astype(np.float64) for name in ("x", "w", "bias"))
            check(pydl.tensor(res[f"lin{i}"]), np.maximum(x @ w.T + bias, 0), np.float32)
        for key in (k for k in res if k[0] in "pt"):
            npdt = np.float32 if key.endswith("float32") else np.float64
            a, b = ref_run["a" + key[1:]], ref_run["b" + key[1:]]
            np.testing.assert_array_equal(res["a" + key[1:]], a)  # same inputs everywhere
            ref = np.matmul(a.astype(np.float64), b.astype(np.float64))
            if key[0] == "t":
                ref = np.swapaxes(ref, -1, -2) if ref.ndim > 1 else ref
            check(pydl.tensor(res[key]), ref, npdt)
            # and the paths agree with each other at float32 accuracy
            scale = max(np.max(np.abs(ref)), 1e-30)
            assert np.max(np.abs(res[key].astype(np.float64) - ref_run[key])) / scale < 1e-4, (isa, key)
        for dt in ("float32", "float64"):
            h, g = ref_run[f"sh_{dt}"].astype(np.float64), ref_run[f"sg_{dt}"].astype(np.float64)
            check(pydl.tensor(res[f"s_{dt}"]), h.T @ g, np.dtype(dt).type)


@pytest.mark.skipif(pydl._C.cpu_isa() != "avx512", reason="the figures below are AVX-512's register tiles")
@pytest.mark.parametrize("caches, rows, plan", [
    ("32,1024,32768", "8", {"tile": (8, 32), "kc": 512, "mc": 80, "nc": 1024}),  # AMD EPYC Zen 4
    ("48,2048,491520", "12", {"tile": (12, 32), "kc": 512, "mc": 168, "nc": 2048}),  # Intel Xeon (Sapphire Rapids)
    ("16,512,8192", "8", {"tile": (8, 32), "kc": 256, "mc": 80, "nc": 512}),  # a small L1: a shallower strip
], ids=["zen4", "xeon", "small-l1"])
def test_gemm_blocking_follows_the_caches(caches, rows, plan, tmp_path):
    """A KC x NR strip of B fills two L1s (up to 512 deep), an MC x KC block of A a sixth of L2, B's panel up
    to 4 MiB of L3."""
    env = dict(os.environ, PYDL_CPU_CACHES=caches, PYDL_GEMM_TILE_ROWS=rows)
    env.pop("PYDL_GEMM_BLOCKING", None)
    out = subprocess.run([sys.executable, "-c", "import pydl; print(pydl._C.gemm_cpu_plan())"], env=env,
                         cwd=tmp_path, capture_output=True, text=True, timeout=60)  # not the source tree's pydl
    assert out.returncode == 0, out.stderr
    got = ast.literal_eval(out.stdout)
    assert {k: got[k] for k in plan} == plan and got["caches"][0] == int(caches.split(",")[0]) << 10


@pytest.mark.skipif(pydl._C.cpu_isa() != "avx512", reason="the figures below are AVX-512's register tiles")
def test_gemm_blocks_are_even_over_a_product(tmp_path):
    """No thin last block: 784 deep runs as 2 x 392 (not 512 + 272), 512 rows as 4 blocks of up to 132 (not
    168 + 168 + 168 + 8); 784 deep in one block where the narrow side's operand (784 x 100) fits in half of
    L2, either way round; a product within one block keeps the machine's sizes, and a shallower one's A block
    is as tall as a sixth of L2 holds at its depth (300 deep: 288 rows, not 168; 64 deep: the most, 64 tile
    rows, so that an MLP's dW1, 100x784 from 64, is one block); a forced blocking stays."""
    shapes = ((512, 400, 784), (64, 100, 300), (1024, 1024, 2048), (512, 100, 784), (100, 512, 784),
              (100, 784, 64))  # (m, n, k)
    plans = f"import pydl; print([pydl._C.gemm_cpu_plan(s) for s in {shapes}])"
    env = dict(os.environ, PYDL_CPU_CACHES="48,2048,491520", PYDL_GEMM_TILE_ROWS="12")
    env.pop("PYDL_GEMM_BLOCKING", None)
    got = []
    for extra in ({}, {"PYDL_GEMM_BLOCKING": "32,24,64"}):
        out = subprocess.run([sys.executable, "-c", plans], env=dict(env, **extra), cwd=tmp_path,
                             capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        got.append([(p["kc"], p["mc"], p["nc"]) for p in ast.literal_eval(out.stdout)])
    assert got[0] == [(392, 132, 2048), (512, 288, 2048), (512, 156, 2048), (784, 132, 2048), (784, 168, 2048),
                      (512, 768, 2048)]
    assert got[1] == [(32, 24, 64)] * 6


@pytest.mark.parametrize("npdt", DTYPES, ids=DT_IDS)
def test_threaded_product_matches_one_thread(npdt, rng):
    a, b, ref = operands(rng, (300, 400), (400, 500), npdt)
    a3, b3, ref3 = operands(rng, (64, 20, 30), (64, 30, 40), npdt)  # many small products, one per thread
    tall, narrow, ref_tall = operands(rng, (700, 300), (300, 70), npdt)  # split by bands of A's rows
    ta, tb, ta3, tb3 = T(a, "cpu"), T(b, "cpu"), T(a3, "cpu"), T(b3, "cpu")
    before = pydl.get_num_threads()
    try:
        pydl.set_num_threads(1)
        assert pydl.get_num_threads() == 1
        one, one3, one_t, one_tall = ta @ tb, ta3 @ tb3, tb.T @ ta.T, T(tall, "cpu") @ T(narrow, "cpu")
        pydl.set_num_threads(2)
        assert pydl.get_num_threads() == 2
        two, two3, two_t, two_tall = ta @ tb, ta3 @ tb3, tb.T @ ta.T, T(tall, "cpu") @ T(narrow, "cpu")
    finally:
        pydl.set_num_threads(before)
    for got in (one, two):
        check(got, ref, npdt)
    for got in (one3, two3):
        check(got, ref3, npdt)
    for got in (one_t, two_t):
        check(got, ref.T, npdt)
    for got in (one_tall, two_tall):
        check(got, ref_tall, npdt)
    tight = 1e-12 if npdt is np.float64 else 1e-6
    for x, y in ((one, two), (one3, two3), (one_t, two_t), (one_tall, two_tall)):
        assert np.max(np.abs(x.numpy() - y.numpy())) <= tight * np.max(np.abs(y.numpy()))


def test_mismatched_inner_dims_raise_value_error(device):
    a, b = pydl.ones(3, 4, dtype=pydl.float64, device=device), pydl.ones(5, 6, dtype=pydl.float64, device=device)
    with pytest.raises(ValueError, match=r"matmul.*\(3, 4\).*\(5, 6\)"):
        a @ b
    v = pydl.ones(3, dtype=pydl.float64, device=device)
    with pytest.raises(ValueError, match=r"matmul.*\(3, 4\).*\(3,\)"):
        a @ v
    with pytest.raises(ValueError, match=r"matmul.*\(3,\).*\(5, 6\)"):
        v @ b
    with pytest.raises(ValueError, match="matmul"):  # batch dims that do not broadcast
        pydl.ones(2, 3, 4, device=device) @ pydl.ones(3, 4, 5, device=device)


def test_bad_dtypes_and_ranks(device):
    i = pydl.tensor(np.arange(6).reshape(2, 3), device=device)
    f = pydl.ones(3, 2, dtype=pydl.float32, device=device)
    d = pydl.ones(3, 2, dtype=pydl.float64, device=device)
    with pytest.raises(TypeError, match="matmul"):
        i @ pydl.tensor(np.arange(6).reshape(3, 2), device=device)
    with pytest.raises(TypeError, match="matmul"):
        i @ f
    with pytest.raises(TypeError, match="matmul"):
        pydl.ones(2, 3, dtype=pydl.float32, device=device) @ d
    with pytest.raises(TypeError, match="matmul"):
        pydl.tensor(np.ones((2, 3), dtype=bool), device=device) @ pydl.tensor(np.ones((3, 2), dtype=bool),
                                                                               device=device)
    s = pydl.tensor(2.0, dtype=pydl.float64, device=device)
    assert s.shape == ()
    with pytest.raises(ValueError, match="matmul.*dimension"):
        s @ d
    with pytest.raises(ValueError, match="matmul.*dimension"):
        d @ s


def test_against_torch(rng):
    torch = pytest.importorskip("torch")
    for sa, sb in SHAPES:
        a, b = rng.standard_normal(sa), rng.standard_normal(sb)
        expected = torch.matmul(torch.tensor(a), torch.tensor(b)).numpy()
        check(pydl.tensor(a) @ pydl.tensor(b), expected, np.float64)
