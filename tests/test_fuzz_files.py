"""Fuzzing of the files pydl reads: a checkpoint (``pydl.save``, safetensors), MNIST IDX files
(plain and gzip) and MNIST .npz archives (stored and deflated). Hypothesis mutates a valid file:
bytes flipped or overwritten, integers (sizes, lengths, offsets) and format tokens replaced,
the file truncated or extended; archives and gzip files are also rebuilt around a mutated
member, so that the checksums hold and the damage reaches the parser behind them.

Loading must either succeed with a valid result or raise ValueError / OSError (or a subclass)
whose message names the file; any other exception fails the test.

CI runs a fixed, small set of examples. For a long run (no deadline, many examples, a new
random set on each run):  PYDL_FUZZ_LONG=1 pytest tests/test_fuzz_files.py
and PYDL_FUZZ_EXAMPLES=N sets the number of examples per test explicitly.
"""
import gzip
import io
import json
import os
import re
import struct
import zipfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import pydl
from pydl import nn
from pydl.data.datasets import MNIST, read_idx

LONG = os.environ.get("PYDL_FUZZ_LONG", "") not in ("", "0")


def fuzz_settings(ci_examples):
    """CI: few, fixed examples. PYDL_FUZZ_LONG=1: many random ones, no deadline."""
    n = int(os.environ.get("PYDL_FUZZ_EXAMPLES", 0)) or (500 * ci_examples if LONG else ci_examples)
    return settings(max_examples=n, deadline=None, derandomize=not LONG, database=None, print_blob=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


# ---------------------------------------------------------------------- valid files
def _checkpoint():
    pydl.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 2), nn.ReLU(), nn.Linear(2, 1))
    obj = {"model": model.state_dict(),
           "optimizer": {"state": {0: {"step": pydl.tensor(3.0), "exp_avg": pydl.zeros(2, 3)}},
                         "param_groups": [{"lr": 1e-3, "betas": (0.9, 0.999), "amsgrad": False, "params": [0, 1],
                                           "name": None}]},
           "epoch": 3, "best": float("inf"), "ids": pydl.tensor([1, 2, 3]), "mask": pydl.tensor([True, False]),
           "pixels": pydl.tensor(np.arange(4, dtype=np.uint8))}
    buf = io.BytesIO()
    pydl.save(obj, buf)
    return buf.getvalue()


def _idx(arr):
    dtype = {np.uint8: 0x08, np.int32: 0x0C, np.float64: 0x0E}[arr.dtype.type]
    head = bytes([0, 0, dtype, arr.ndim]) + struct.pack(f">{arr.ndim}I", *arr.shape)
    return head + arr.astype(arr.dtype.newbyteorder(">")).tobytes()


def _npy(arr):
    buf = io.BytesIO()
    np.save(buf, arr)
    return buf.getvalue()


def _zip(members, compression):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return buf.getvalue()


RNG = np.random.default_rng(0)
IMAGES = RNG.integers(0, 256, (3, 4, 4), dtype=np.uint8)
LABELS = RNG.integers(0, 10, 3, dtype=np.uint8)
CHECKPOINT = _checkpoint()
IDX_FILES = {"images": _idx(IMAGES), "labels": _idx(LABELS), "floats": _idx(np.linspace(-1, 1, 4)),
             "ints": _idx(np.arange(-3, 3, dtype=np.int32).reshape(2, 3))}
NPZ_MEMBERS = {"plain": {"images.npy": _npy(IMAGES), "labels.npy": _npy(LABELS.astype(np.int64))},
               "keras": {"x_train.npy": _npy(IMAGES), "y_train.npy": _npy(LABELS),
                         "x_test.npy": _npy(IMAGES[:2]), "y_test.npy": _npy(LABELS[:2])}}

# Same-length tokens of each format, swapped for one another (as a fuzzer's dictionary).
CHECKPOINT_TOKENS = [[b'\\"' + k + b'\\"' for k in (b"t", b"v", b"d", b"l", b"u", b"f")],  # pydl.structure kinds
                     [b"true", b"null"], [b"[", b"{", b"]", b"}"],
                     [b"F32", b"F64", b"I64", b"I32", b"F16", b"U16", b"I16"], [b"BOOL", b"BF16"], [b"U8", b"I8"],
                     [b"%d" % i for i in range(10)]]
NPY_TOKENS = [[b"'|u1'", b"'<i8'", b"'<f8'", b"'>i4'", b"'|b1'", b"'<f2'", b"'<c8'", b"'|O1'", b"'<U1'"],
              [b"False", b"True,"], [b"%d" % i for i in range(10)], [b"images", b"labels", b"x_test", b"y_test"],
              [b"PK\x03\x04", b"PK\x01\x02", b"PK\x05\x06"],
              [b"), }" + b" " * 12, b"000000000000), }"]]  # the last dim of a shape x 10**12, in the header's padding
INTERESTING = [0, 1, 2, 255, 256, 2**15, 2**16 - 1, 2**31 - 1, 2**31, 2**32 - 1, 2**62, 2**63 - 1, 2**64 - 1]


# ---------------------------------------------------------------------- mutations
def mutations(tokens=()):
    pos = st.integers(0, 2**16)  # taken modulo the length
    ops = [st.tuples(st.just("flip"), pos, st.integers(1, 255)),
           st.tuples(st.just("byte"), pos, st.sampled_from([0, 0xFF, 0x7F, 0x80, 1, 0x22, 0x5B, 0x7B, 0x39])),
           st.tuples(st.just("int"), pos, st.sampled_from([1, 2, 4, 8]), st.sampled_from("<>"),
                     st.sampled_from(INTERESTING)),
           st.tuples(st.just("truncate"), pos),
           st.tuples(st.just("extend"), st.binary(min_size=1, max_size=40) | st.sampled_from([b"\0" * 8, b"PK\5\6"]))]
    if tokens:
        ops.append(st.tuples(st.just("token"), st.integers(0, len(tokens) - 1), st.integers(0, 20), st.integers(0, 20),
                             st.integers(0, 20)))
    return st.lists(st.one_of(ops), min_size=1, max_size=4)


def mutate(data, steps, tokens=()):
    b = bytearray(data)
    for step in steps:
        kind, args = step[0], step[1:]
        if kind == "extend":
            b += args[0]
        elif not b:
            continue
        elif kind == "flip":
            b[args[0] % len(b)] ^= args[1]
        elif kind == "byte":
            b[args[0] % len(b)] = args[1]
        elif kind == "int":
            p, size, order, value = args
            raw = (value % 256**size).to_bytes(size, "little" if order == "<" else "big")
            p %= len(b)
            b[p:p + size] = raw[:len(b) - p]
        elif kind == "truncate":
            del b[args[0] % len(b):]
        else:  # token: the k-th occurrence of one token of a group becomes another of that group
            group = tokens[args[0]]
            old, new = group[args[1] % len(group)], group[args[2] % len(group)]
            hits = [m.start() for m in re.finditer(re.escape(old), bytes(b))]
            if hits:
                p = hits[args[3] % len(hits)]
                b[p:p + len(old)] = new
    return bytes(b)


# ---------------------------------------------------------------------- the contract
def load_or_reject(load, path, loader):
    """load(): its result, or None when it raised ValueError / OSError naming the file at path."""
    try:
        return load()
    except (ValueError, OSError) as e:
        assert str(path) in str(e), f"{loader}: {type(e).__name__} does not name the file {path}: {e}"
    except Exception as e:
        raise AssertionError(f"{loader}: {type(e).__module__}.{type(e).__name__} instead of ValueError / OSError: "
                             f"{e}") from e
    return None


def check_structure(obj):
    """A loaded checkpoint holds only Tensors and plain values, each Tensor readable."""
    if isinstance(obj, pydl.Tensor):
        a = obj.numpy()
        assert a.shape == tuple(obj.shape) and obj.device == pydl.device("cpu")
    elif isinstance(obj, dict):
        for k, v in obj.items():
            assert isinstance(k, (str, int)), k
            check_structure(v)
    elif isinstance(obj, (list, tuple)):
        for v in obj:
            check_structure(v)
    else:
        assert obj is None or isinstance(obj, (bool, int, float, str)), type(obj)


def check_mnist(ds):
    assert ds.data.dtype == pydl.uint8 and ds.data.ndim == 3
    assert ds.targets.dtype == pydl.int64 and tuple(ds.targets.shape) == (len(ds),) == (ds.data.shape[0],)
    if len(ds):
        img, label = ds[len(ds) - 1]
        pixels = img.numpy()
        assert pixels.shape == (1, *ds.data.shape[1:]) and ((0 <= pixels) & (pixels <= 1)).all()
        assert label.item() >= 0


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    return tmp_path_factory.mktemp("fuzz_files")


# ---------------------------------------------------------------------- the tests
@fuzz_settings(45)
@given(steps=mutations(CHECKPOINT_TOKENS))
def test_checkpoint(workdir, steps):
    path = workdir / "model.safetensors"
    path.write_bytes(mutate(CHECKPOINT, steps, CHECKPOINT_TOKENS))
    out = load_or_reject(lambda: pydl.load(path), path, "checkpoint")
    if out is not None:
        check_structure(out)


@fuzz_settings(25)
@given(name=st.sampled_from(sorted(IDX_FILES)), gz=st.sampled_from(["no", "outer", "inner"]), steps=mutations())
def test_read_idx(workdir, name, gz, steps):
    """read_idx: an array whose header-declared size is the file's size, or a clean error."""
    data = IDX_FILES[name]
    if gz == "inner":  # a well-formed gzip of a damaged IDX file
        data = gzip.compress(mutate(data, steps), mtime=0)
    else:
        data = mutate(gzip.compress(data, mtime=0) if gz == "outer" else data, steps)
    path = workdir / "data-idx"
    path.write_bytes(data)
    arr = load_or_reject(lambda: read_idx(path), path, "idx")
    if arr is not None:
        raw = gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data
        assert isinstance(arr, np.ndarray) and arr.dtype.isnative and arr.ndim == raw[3]
        assert 4 + 4 * arr.ndim + arr.nbytes == len(raw)


@fuzz_settings(20)
@given(which=st.sampled_from(["images", "labels"]), gz=st.booleans(), steps=mutations())
def test_mnist_idx_folder(workdir, which, gz, steps):
    folder = workdir / "mnist"
    folder.mkdir(exist_ok=True)
    suffix = ".gz" if gz else ""
    for f in folder.iterdir():
        f.unlink()
    for part in ("images", "labels"):
        data = IDX_FILES[part]
        if part == which:
            data = mutate(data, steps)
        (folder / f"train-{part}-idx{3 if part == 'images' else 1}-ubyte{suffix}").write_bytes(
            gzip.compress(data, mtime=0) if gz else data)
    damaged = folder / f"train-{which}-idx{3 if which == 'images' else 1}-ubyte{suffix}"
    ds = load_or_reject(lambda: MNIST(folder), damaged, "idx")  # errors name the damaged file
    if ds is not None:
        check_mnist(ds)


@fuzz_settings(40)
@given(layout=st.sampled_from(sorted(NPZ_MEMBERS)), deflate=st.booleans(), inner=st.booleans(),
       member=st.integers(0, 3), steps=mutations(NPY_TOKENS))
def test_mnist_npz(workdir, layout, deflate, inner, member, steps):
    members = dict(NPZ_MEMBERS[layout])
    compression = zipfile.ZIP_DEFLATED if deflate else zipfile.ZIP_STORED
    if inner:  # a well-formed archive around one damaged .npy member
        key = sorted(members)[member % len(members)]
        members[key] = mutate(members[key], steps, NPY_TOKENS)
        data = _zip(members, compression)
    else:
        data = mutate(_zip(members, compression), steps, NPY_TOKENS)
    path = workdir / "mnist.npz"
    path.write_bytes(data)
    ds = load_or_reject(lambda: MNIST(path), path, "npz")
    if ds is not None:
        check_mnist(ds)


# ---------------------------------------------------------------------- what the fuzzers found, reduced
def _expect_clean_error(load, path):
    with pytest.raises((ValueError, OSError)) as e:
        load()
    assert str(path) in str(e.value)


@pytest.mark.parametrize("old, new", [
    pytest.param(b'{\\"l\\":[', b'{\\"t\\":[', id="tensor-named-by-a-list"),  # was TypeError: unhashable type
    pytest.param(b'{\\"v\\":3}', b'{\\"d\\":3}', id="dict-of-an-int"),  # was TypeError: not iterable
])
def test_checkpoint_malformed_structure(tmp_path, old, new):
    assert old in CHECKPOINT
    path = tmp_path / "model.safetensors"
    path.write_bytes(CHECKPOINT.replace(old, new, 1))
    _expect_clean_error(lambda: pydl.load(path), path)


@pytest.mark.parametrize("doc", [{"version": "1", "root": {"v": 1}}, {"version": [], "root": {"v": 1}}, [1],
                                 {"version": 1}])
def test_checkpoint_malformed_metadata(tmp_path, doc):
    from safetensors.numpy import save_file

    path = tmp_path / "model.safetensors"
    save_file({"x": np.zeros(2, np.float32)}, str(path), metadata={"pydl.structure": json.dumps(doc)})
    _expect_clean_error(lambda: pydl.load(path), path)


def _central_directory(data, offset, value):
    """data with a 2-byte field of each central directory entry (6: version needed, 8: flags, 10: method) set."""
    b = bytearray(data)
    for m in re.finditer(b"PK\x01\x02", data):
        b[m.start() + offset:m.start() + offset + 2] = struct.pack("<H", value)
    return bytes(b)


def _npy_edit(old, new):
    return lambda npy: npy.replace(old, new + b" " * (len(old) - len(new)), 1) if len(new) <= len(old) else \
        npy.replace(old + b" " * (len(new) - len(old)), new, 1)  # the header keeps its length


NPZ_DAMAGE = {  # case: (edit of images.npy, central directory field patched); what zipfile / numpy raised before
    "compression-method-99": (None, (10, 99)),  # NotImplementedError
    "zip-version-25.5": (None, (6, 255)),  # NotImplementedError
    "patched-data-flag": (None, (8, 0x20)),  # NotImplementedError
    "encrypted-flag": (None, (8, 0x01)),  # RuntimeError
    "huge-shape": (_npy_edit(b"(3, 4, 4), }", b"(3, 4, 4000000000000), }"), None),  # MemoryError (43.7 TiB)
    "shape-beyond-int64": (_npy_edit(b"(3, 4, 4), }", b"(3, 4, 40000000000000000000), }"), None),  # OverflowError
    "descr-with-comma": (_npy_edit(b"'|u1'", b"'<,8'"), None),  # SyntaxError
    "cut-header": (lambda npy: npy[:8] + struct.pack("<H", 20) + npy[10:], None),  # tokenize.TokenError
    "bytes-key": (_npy_edit(b"'fortran_order'", b"b'fortran_orde'"), None),  # TypeError (the long fuzz's case)
}


@pytest.mark.parametrize("case", sorted(NPZ_DAMAGE))
def test_npz_damaged_member(tmp_path, case):
    edit, patch = NPZ_DAMAGE[case]
    members = dict(NPZ_MEMBERS["plain"])
    if edit:
        members["images.npy"] = edit(members["images.npy"])
        assert members["images.npy"] != NPZ_MEMBERS["plain"]["images.npy"]
    data = _zip(members, zipfile.ZIP_STORED)
    path = tmp_path / "mnist.npz"
    path.write_bytes(_central_directory(data, *patch) if patch else data)
    _expect_clean_error(lambda: MNIST(path), path)


def test_idx_header_with_a_zero_dim_and_huge_others(tmp_path):
    """The long fuzz's case: a zero dim makes the data empty, so the size check passes, but numpy
    refuses the shape (its other dims' bytes overflow) with a ValueError that named no file."""
    path = tmp_path / "data-idx"
    path.write_bytes(struct.pack(">BBBB4I", 0, 0, 0x08, 4, 0, 2**31, 2**31, 2**31))
    with pytest.raises(ValueError, match=re.escape(str(path)) + ".*beyond what an array can hold"):
        read_idx(path)
    path.write_bytes(struct.pack(">BBBB2I", 0, 0, 0x08, 2, 0, 2**31))  # empty, and a shape numpy takes
    assert read_idx(path).shape == (0, 2**31)
