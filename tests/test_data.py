"""pydl.data: datasets, random_split, DataLoader, samplers, collate, transforms, and the MNIST
readers (IDX and npz, written here in tmp_path, corrupt variants included)."""
import collections
import gzip
import math
import struct
import warnings

import numpy as np
import pytest

import pydl
from pydl import _C
from pydl.data import (BatchSampler, CollatedBatch, ConcatDataset, DataLoader, Dataset, Generator, IterableDataset,
                       RandomSampler, SequentialSampler, Subset, SubsetRandomSampler, TensorDataset,
                       WeightedRandomSampler, default_collate, random_split)
from pydl.data import transforms as T
from pydl.data.datasets import MNIST, load_mnist_5k, mnist_5k, read_idx


def _np(t):
    return t.detach().cpu().numpy()


class ListDataset(Dataset):
    """Map-style dataset without __getitems__ (the per-item path)."""

    def __init__(self, n):
        self.n = n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        if not 0 <= i < self.n:
            raise IndexError(i)
        return i


def _loader_indices(loader):
    return [int(v) for b in loader for v in np.atleast_1d(_np(b[0] if isinstance(b, list) else b))]


# ---------------------------------------------------------------------- datasets
def test_tensor_dataset_items_and_batches():
    x = pydl.arange(20, dtype=pydl.float32).reshape(10, 2)
    y = pydl.arange(10)
    ds = TensorDataset(x, y)
    assert len(ds) == 10
    xi, yi = ds[3]
    np.testing.assert_array_equal(_np(xi), [6.0, 7.0])
    assert yi.shape == () and yi.item() == 3
    batch = ds.__getitems__([4, 0, -1])
    assert isinstance(batch, CollatedBatch) and len(batch) == 3
    bx, by = batch.batch
    np.testing.assert_array_equal(_np(bx), _np(x)[[4, 0, 9]])
    np.testing.assert_array_equal(_np(by), [4, 0, 9])
    # the batch still reads as a sequence of samples (for custom collate functions)
    np.testing.assert_array_equal(_np(batch[1][0]), _np(ds[0][0]))
    assert int(batch[-1][1].item()) == 9
    with pytest.raises(IndexError):
        ds.__getitems__([10])
    with pytest.raises(TypeError):
        ds.__getitems__([0.5])


def test_tensor_dataset_validates():
    with pytest.raises(ValueError, match="size mismatch"):
        TensorDataset(pydl.zeros(3, 2), pydl.zeros(4))
    with pytest.raises(TypeError):
        TensorDataset([1, 2, 3])
    with pytest.raises(ValueError):
        TensorDataset()


def test_subset_and_concat():
    base = TensorDataset(pydl.arange(10) * 10)
    sub = Subset(base, [7, 2, 5])
    assert len(sub) == 3 and sub[0][0].item() == 70 and sub[-1][0].item() == 50
    np.testing.assert_array_equal(_np(sub.__getitems__([2, 0]).batch[0]), [50, 70])  # forwarded fast path
    plain = Subset(ListDataset(5), [4, 1])
    assert plain.__getitems__([0, 1]) == [4, 1]
    cat = ConcatDataset([ListDataset(3), ListDataset(2)])
    assert len(cat) == 5 and [cat[i] for i in range(5)] == [0, 1, 2, 0, 1]
    assert cat[-1] == 1 and cat.cumulative_sizes == [3, 5]
    with pytest.raises(IndexError):
        cat[5]
    with pytest.raises(ValueError):
        cat[-6]
    both = ListDataset(2) + ListDataset(3)
    assert isinstance(both, ConcatDataset) and len(both) == 5
    with pytest.raises(ValueError):
        ConcatDataset([])


# ---------------------------------------------------------------------- random_split
@pytest.mark.parametrize("n,lengths", [(10, [0.33, 0.33, 0.34]), (7, [0.5, 0.5]), (5, [1]), (11, [0.7, 0.2, 0.1]),
                                       (10, [3, 7]), (100, [0.8, 0.2])])
def test_random_split_lengths_match_torch(n, lengths):
    tdata = pytest.importorskip("torch.utils.data")
    expected = [len(s) for s in tdata.random_split(range(n), lengths)]
    got = random_split(ListDataset(n), lengths, generator=0)
    assert [len(s) for s in got] == expected
    seen = sorted(i for s in got for i in s.indices)
    assert seen == list(range(n))  # disjoint and covering


def test_random_split_is_deterministic():
    ds = ListDataset(50)
    a = [s.indices for s in random_split(ds, [30, 20], generator=Generator(7))]
    b = [s.indices for s in random_split(ds, [30, 20], generator=7)]
    c = [s.indices for s in random_split(ds, [30, 20], generator=8)]
    assert a == b and a != c
    assert a[0] != sorted(a[0])  # actually shuffled
    # without a generator: pydl's seed decides, and the global RNG is not consumed
    pydl.manual_seed(3)
    state = _C.rng_state()
    d = [s.indices for s in random_split(ds, [0.5, 0.5])]
    assert _C.rng_state() == state
    pydl.manual_seed(3)
    assert [s.indices for s in random_split(ds, [0.5, 0.5])] == d
    pydl.manual_seed(4)
    assert [s.indices for s in random_split(ds, [0.5, 0.5])] != d


def test_random_split_errors():
    with pytest.raises(ValueError, match="sum of input lengths"):
        random_split(ListDataset(10), [3, 3])
    with pytest.raises(ValueError):
        random_split(ListDataset(10), [12, -2])
    with pytest.raises(TypeError):
        random_split(ListDataset(10), [5, 5], generator="seed")
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        parts = random_split(ListDataset(2), [0.1, 0.1, 0.8], generator=0)
    assert [len(p) for p in parts] == [1, 0, 1] and any("empty" in str(x.message) for x in w)


# ---------------------------------------------------------------------- DataLoader
@pytest.mark.parametrize("n,bs,drop_last", [(10, 3, False), (10, 3, True), (9, 3, True), (9, 3, False),
                                            (2, 5, True), (2, 5, False), (0, 4, False), (64, 64, True)])
def test_loader_len_and_batches_match_torch(n, bs, drop_last):
    torch = pytest.importorskip("torch")
    from torch.utils.data import DataLoader as TorchLoader, TensorDataset as TorchTensorDataset

    tl = TorchLoader(TorchTensorDataset(torch.arange(n)), batch_size=bs, drop_last=drop_last)
    pl = DataLoader(TensorDataset(pydl.arange(n)), batch_size=bs, drop_last=drop_last)
    assert len(pl) == len(tl)
    tb = [b[0].tolist() for b in tl]
    pb = [_np(b[0]).tolist() for b in pl]
    assert pb == tb and len(pb) == len(pl)


def test_loader_batches_are_stacked_tuples():
    x = pydl.randn(10, 3, 4)
    y = pydl.arange(10)
    batches = list(DataLoader(TensorDataset(x, y), batch_size=4))
    assert [tuple(b[0].shape) for b in batches] == [(4, 3, 4), (4, 3, 4), (2, 3, 4)]
    assert isinstance(batches[0], list) and batches[0][1].dtype == pydl.int64
    np.testing.assert_array_equal(_np(batches[1][0]), _np(x)[4:8])


def test_loader_uses_getitems_once_per_batch():
    calls = []

    class Counting(TensorDataset):
        def __getitem__(self, i):
            raise AssertionError("per-item path used")

        def __getitems__(self, indices):
            calls.append(list(indices))
            return super().__getitems__(indices)

    ds = Counting(pydl.arange(10))
    out = [_np(b[0]).tolist() for b in DataLoader(ds, batch_size=4)]
    assert out == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]] and calls == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]


def test_loader_custom_collate_sees_samples():
    ds = TensorDataset(pydl.arange(6) * 2)
    seen = []

    def collate(samples):
        seen.append([int(s[0].item()) for s in samples])
        return len(samples)

    assert list(DataLoader(ds, batch_size=4, collate_fn=collate)) == [4, 2]
    assert seen == [[0, 2, 4, 6], [8, 10]]
    # the per-item path (no __getitems__) collates numbers like PyTorch
    (b,) = list(DataLoader(ListDataset(3), batch_size=3))
    assert b.dtype == pydl.int64 and _np(b).tolist() == [0, 1, 2]


def test_loader_shuffle_seeded():
    ds = TensorDataset(pydl.arange(100))
    a = DataLoader(ds, batch_size=10, shuffle=True, seed=5)
    e1, e2 = _loader_indices(a), _loader_indices(a)
    assert sorted(e1) == list(range(100)) and sorted(e2) == list(range(100))
    assert e1 != list(range(100)) and e1 != e2  # shuffled, and anew each epoch
    b = DataLoader(ds, batch_size=10, shuffle=True, generator=Generator(5))
    assert _loader_indices(b) == e1 and _loader_indices(b) == e2
    g = Generator(5)
    d = DataLoader(ds, batch_size=10, shuffle=True, generator=g)
    assert _loader_indices(d) == e1
    g.manual_seed(5)  # reseeding the generator replays the epochs, as with torch.Generator
    assert _loader_indices(d) == e1
    c = DataLoader(ds, batch_size=10, shuffle=True, generator=6)
    assert _loader_indices(c) != e1
    assert _loader_indices(DataLoader(ds, batch_size=7)) == list(range(100))


def test_loader_shuffle_from_global_seed_without_consuming_it():
    ds = TensorDataset(pydl.arange(50))
    pydl.manual_seed(11)
    state = _C.rng_state()
    loader = DataLoader(ds, batch_size=8, shuffle=True)
    e1, e2 = _loader_indices(loader), _loader_indices(loader)
    assert _C.rng_state() == state  # dropout masks etc. do not depend on shuffling
    assert e1 != e2 and sorted(e1) == list(range(50))
    pydl.manual_seed(11)
    again = DataLoader(ds, batch_size=8, shuffle=True)
    assert _loader_indices(again) == e1 and _loader_indices(again) == e2
    pydl.manual_seed(12)
    assert _loader_indices(DataLoader(ds, batch_size=8, shuffle=True)) != e1


def test_loader_shuffle_drop_last():
    loader = DataLoader(TensorDataset(pydl.arange(10)), batch_size=3, shuffle=True, drop_last=True, seed=0)
    sizes = [b[0].shape[0] for b in loader]
    assert sizes == [3, 3, 3] and len(loader) == 3


def test_loader_argument_errors():
    ds = TensorDataset(pydl.arange(4))
    for bs in (0, -1, 1.5, True):
        with pytest.raises(ValueError):
            DataLoader(ds, batch_size=bs)
    for bad in ({"num_workers": -1}, {"num_workers": 1.5}, {"persistent_workers": True}, {"prefetch_factor": 2},
                {"num_workers": 2, "prefetch_factor": 0}, {"timeout": -1}):
        with pytest.raises(ValueError):
            DataLoader(ds, **bad)
    with pytest.raises(ValueError):
        DataLoader(ds, sampler=SequentialSampler(ds), shuffle=True)
    with pytest.raises(ValueError):
        DataLoader(ds, batch_sampler=BatchSampler(SequentialSampler(ds), 2, False), batch_size=2)
    with pytest.raises(TypeError):
        DataLoader(ds, shuffle=True, generator=object())
    with pytest.raises(ValueError):
        DataLoader(ds, seed=1, generator=2)


def test_loader_samplers_and_no_batching():
    ds = ListDataset(6)
    bs = BatchSampler(SequentialSampler(ds), 4, drop_last=False)
    assert list(bs) == [[0, 1, 2, 3], [4, 5]] and len(bs) == 2
    loader = DataLoader(ds, batch_sampler=bs)
    assert [_np(b).tolist() for b in loader] == [[0, 1, 2, 3], [4, 5]] and loader.batch_size is None
    assert list(DataLoader(ds, batch_size=None)) == [0, 1, 2, 3, 4, 5]
    sub = SubsetRandomSampler([1, 3, 5], generator=0)
    assert sorted(sub) == [1, 3, 5] and len(sub) == 3
    rs = RandomSampler(ds, replacement=True, num_samples=20, generator=1)
    draws = list(rs)
    assert len(draws) == 20 and set(draws) <= set(range(6))
    ws = WeightedRandomSampler([0, 0, 1, 0, 0, 0], 5, generator=0)
    assert list(ws) == [2] * 5
    assert list(DataLoader(ds, batch_size=2, sampler=[5, 4, 3])) != []
    assert [_np(b).tolist() for b in DataLoader(ds, batch_size=2, sampler=[5, 4, 3])] == [[5, 4], [3]]
    with pytest.raises(ValueError):
        BatchSampler(SequentialSampler(ds), 0, False)


def test_iterable_dataset():
    class Stream(IterableDataset):
        def __iter__(self):
            return iter(range(7))

    batches = [_np(b).tolist() for b in DataLoader(Stream(), batch_size=3)]
    assert batches == [[0, 1, 2], [3, 4, 5], [6]]
    assert [_np(b).tolist() for b in DataLoader(Stream(), batch_size=3, drop_last=True)] == [[0, 1, 2], [3, 4, 5]]
    with pytest.raises(ValueError):
        DataLoader(Stream(), shuffle=True)
    with pytest.raises(TypeError):
        len(DataLoader(Stream(), batch_size=3))


def test_default_collate_matches_torch():
    torch = pytest.importorskip("torch")
    from torch.utils.data import default_collate as torch_collate

    Point = collections.namedtuple("Point", "x y")
    samples = [(i, 0.5 * i, i % 2 == 0, f"s{i}", {"a": [i, i + 1], "b": np.full((2,), i, np.float32)},
                Point(i, -i)) for i in range(3)]
    ours = default_collate(samples)
    theirs = torch_collate(samples)

    def same(a, b):
        if isinstance(b, torch.Tensor):
            assert isinstance(a, pydl.Tensor), type(a)
            assert a.dtype.name == str(b.dtype).replace("torch.", ""), (a.dtype, b.dtype)
            np.testing.assert_array_equal(_np(a), b.numpy())
        elif isinstance(b, dict):
            assert type(a) is type(b) and list(a) == list(b)
            for k in b:
                same(a[k], b[k])
        elif isinstance(b, (list, tuple)):
            assert type(a) is type(b) and len(a) == len(b), (type(a), type(b))
            for x, y in zip(a, b):
                same(x, y)
        else:
            assert a == b

    same(ours, theirs)
    stacked = default_collate([pydl.ones(2, 2), pydl.zeros(2, 2)])
    assert stacked.shape == (2, 2, 2) and _np(stacked)[0].sum() == 4
    with pytest.raises(RuntimeError):
        default_collate([pydl.ones(2), pydl.ones(3)])
    with pytest.raises(TypeError):
        default_collate([None, None])


def test_generator_state_resumes():
    g = Generator(42)
    g.rng.random(3)
    state = g.get_state()
    ahead = g.rng.random(5)
    g2 = Generator(0).set_state(state)
    np.testing.assert_array_equal(g2.rng.random(5), ahead)
    assert g2.initial_seed() == 42
    pydl.manual_seed(9)
    assert Generator().initial_seed() == 9
    np.testing.assert_array_equal(Generator(42).rng.random(3), np.random.default_rng(42).random(3))


# ---------------------------------------------------------------------- transforms
def test_to_float_and_normalize():
    raw = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4) * 10
    x = T.ToFloat()(pydl.tensor(raw))
    assert x.dtype == pydl.float32
    np.testing.assert_array_equal(_np(x), raw.astype(np.float32) / np.float32(255))
    mean, std = [0.1, 0.2], [0.5, 0.25]
    norm = T.Normalize(mean, std)
    expected = (_np(x) - np.array(mean, np.float32)[:, None, None]) / np.array(std, np.float32)[:, None, None]
    np.testing.assert_allclose(_np(norm(x)), expected, rtol=1e-6)
    batch = pydl.stack([x, x * 0.5])
    np.testing.assert_allclose(_np(norm(batch))[0], expected, rtol=1e-6)  # per channel on (N, C, H, W)
    np.testing.assert_allclose(_np(T.Normalize(0.5, 2.0)(x)), (_np(x) - 0.5) / 2.0, rtol=1e-6)
    with pytest.raises(ValueError):
        T.Normalize([0.1, 0.2, 0.3], [1, 1, 1])(x)  # 3 channel values, 2 channels
    with pytest.raises(ValueError):
        T.Normalize(0.0, 0.0)
    with pytest.raises(TypeError):
        norm(pydl.tensor(raw))  # uint8: apply ToFloat first


def test_gaussian_noise():
    x = pydl.zeros(64, 1, 16, 16)
    a = T.GaussianNoise(0.5, generator=3)(x)
    b = T.GaussianNoise(0.5, generator=3)(x)
    np.testing.assert_array_equal(_np(a), _np(b))
    assert abs(float(_np(a).std()) - 0.5) < 0.02 and abs(float(_np(a).mean())) < 0.02
    assert not np.array_equal(_np(a), _np(T.GaussianNoise(0.5, generator=4)(x)))
    pydl.manual_seed(1)
    c = T.GaussianNoise(0.1)(x)
    pydl.manual_seed(1)
    np.testing.assert_array_equal(_np(c), _np(T.GaussianNoise(0.1)(x)))
    assert T.GaussianNoise(0.0)(x) is x


def _shift_np(img, dy, dx):
    """img (C, H, W) moved by (dy, dx), zero-filled."""
    out = np.zeros_like(img)
    h, w = img.shape[1:]
    out[:, max(dy, 0):h + min(dy, 0), max(dx, 0):w + min(dx, 0)] = \
        img[:, max(-dy, 0):h - max(dy, 0), max(-dx, 0):w - max(dx, 0)]
    return out


def test_random_shift_is_a_translation():
    rng = np.random.default_rng(0)
    imgs = rng.random((32, 2, 7, 6)).astype(np.float32)
    out = _np(T.RandomShift(2, generator=0)(pydl.tensor(imgs)))
    assert out.shape == imgs.shape
    shifts = set()
    for img, o in zip(imgs, out):
        match = [(dy, dx) for dy in range(-2, 3) for dx in range(-2, 3) if np.array_equal(_shift_np(img, dy, dx), o)]
        assert match, "output is not a zero-filled shift of the input within max_shift"
        shifts.add(match[0])
    assert len(shifts) > 5  # each sample draws its own shift
    single = _np(T.RandomShift(1, generator=1)(pydl.tensor(imgs[0])))
    assert single.shape == imgs[0].shape
    assert any(np.array_equal(_shift_np(imgs[0], dy, dx), single) for dy in (-1, 0, 1) for dx in (-1, 0, 1))
    np.testing.assert_array_equal(_np(T.RandomShift(0)(pydl.tensor(imgs))), imgs)


def test_random_crop():
    img = np.arange(5 * 5, dtype=np.float32).reshape(1, 5, 5)
    crop = T.RandomCrop(3, padding=1, fill=-1.0, generator=0)
    padded = np.pad(img, ((0, 0), (1, 1), (1, 1)), constant_values=-1.0)
    for _ in range(5):
        o = _np(crop(pydl.tensor(img)))
        assert o.shape == (1, 3, 3)
        assert any(np.array_equal(padded[:, i:i + 3, j:j + 3], o) for i in range(5) for j in range(5))
    hw = _np(T.RandomCrop((2, 4))(pydl.tensor(img[0])))  # (H, W) input, global RNG
    assert hw.shape == (2, 4)
    with pytest.raises(ValueError):
        T.RandomCrop(9)(pydl.tensor(img))


def test_random_horizontal_flip():
    imgs = np.random.default_rng(1).random((40, 3, 4, 5)).astype(np.float32)
    x = pydl.tensor(imgs)
    np.testing.assert_array_equal(_np(T.RandomHorizontalFlip(1.0)(x)), imgs[..., ::-1])
    np.testing.assert_array_equal(_np(T.RandomHorizontalFlip(0.0)(x)), imgs)
    out = _np(T.RandomHorizontalFlip(0.5, generator=2)(x))
    flipped = [np.array_equal(o, i[..., ::-1]) for o, i in zip(out, imgs)]
    kept = [np.array_equal(o, i) for o, i in zip(out, imgs)]
    assert all(f != k for f, k in zip(flipped, kept)) and 5 < sum(flipped) < 35
    with pytest.raises(ValueError):
        T.RandomHorizontalFlip(1.5)


def test_compose_on_sample_and_batch():
    raw = pydl.tensor(np.full((1, 4, 4), 255, np.uint8))
    tf = T.Compose([T.ToFloat(), T.Normalize(0.5, 0.5), T.Lambda(lambda t: t * 2)])
    np.testing.assert_allclose(_np(tf(raw)), np.full((1, 4, 4), 2.0))
    np.testing.assert_allclose(_np(tf(pydl.stack([raw, raw]))), np.full((2, 1, 4, 4), 2.0))
    with pytest.raises(TypeError):
        T.Compose([1])


# ---------------------------------------------------------------------- MNIST files
def _idx_bytes(arr, code=0x08):
    arr = np.asarray(arr)
    return bytes([0, 0, code, arr.ndim]) + struct.pack(f">{arr.ndim}I", *arr.shape) + arr.astype(">u1").tobytes()


def _write(path, data, gz=False):
    path.write_bytes(gzip.compress(data) if gz else data)
    return path


def _mnist_arrays(n, seed):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (n, 28, 28), dtype=np.uint8), rng.integers(0, 10, n, dtype=np.uint8)


def _write_mnist(folder, n_train=6, n_test=4, gz=False, dotted=False):
    folder.mkdir(parents=True, exist_ok=True)
    arrays = {}
    for prefix, n, seed in (("train", n_train, 0), ("t10k", n_test, 1)):
        images, labels = _mnist_arrays(n, seed)
        sep = "." if dotted else "-"
        suffix = ".gz" if gz else ""
        _write(folder / f"{prefix}-images{sep}idx3-ubyte{suffix}", _idx_bytes(images), gz)
        _write(folder / f"{prefix}-labels{sep}idx1-ubyte{suffix}", _idx_bytes(labels), gz)
        arrays[prefix] = (images, labels)
    return arrays


@pytest.mark.parametrize("gz,dotted", [(False, False), (True, False), (False, True)])
def test_mnist_idx(tmp_path, gz, dotted):
    arrays = _write_mnist(tmp_path, gz=gz, dotted=dotted)
    for train, prefix in ((True, "train"), (False, "t10k")):
        ds = MNIST(tmp_path, train=train)
        images, labels = arrays[prefix]
        assert len(ds) == len(labels)
        img, label = ds[2]
        assert img.shape == (1, 28, 28) and img.dtype == pydl.float32
        assert label.shape == () and label.dtype == pydl.int64 and label.item() == labels[2]
        np.testing.assert_array_equal(_np(img)[0], images[2].astype(np.float32) / np.float32(255))
        assert ds.data.dtype == pydl.uint8 and ds.targets.dtype == pydl.int64


def test_mnist_batches_match_items(tmp_path):
    _write_mnist(tmp_path / "MNIST" / "raw", gz=True)  # torchvision's layout
    ds = MNIST(tmp_path, transform=T.Normalize(0.1307, 0.3081))
    batch = ds.__getitems__([5, 0, 3])
    bx, by = batch.batch
    assert bx.shape == (3, 1, 28, 28) and by.shape == (3,)
    for k, i in enumerate([5, 0, 3]):
        x, y = ds[i]
        np.testing.assert_allclose(_np(bx)[k], _np(x), rtol=1e-6)
        assert _np(by)[k] == y.item()
    xs, ys = next(iter(DataLoader(ds, batch_size=4, shuffle=True, seed=0)))
    assert xs.shape == (4, 1, 28, 28) and ys.dtype == pydl.int64


def test_mnist_npz(tmp_path):
    (xtr, ytr), (xte, yte) = _mnist_arrays(5, 0), _mnist_arrays(3, 1)
    keras = tmp_path / "mnist.npz"
    np.savez(keras, x_train=xtr, y_train=ytr, x_test=xte, y_test=yte)
    assert len(MNIST(keras, train=True)) == 5 and len(MNIST(keras, train=False)) == 3
    assert len(MNIST(tmp_path, train=False)) == 3  # a folder holding mnist.npz
    np.testing.assert_array_equal(_np(MNIST(keras, train=False).data), xte)
    plain = tmp_path / "subset.npz"
    np.savez_compressed(plain, images=xtr, labels=ytr.astype(np.int64))
    ds = MNIST(plain)
    assert ds[4][1].item() == ytr[4]
    np.testing.assert_array_equal(_np(ds.targets), ytr)


def _expect_error(path, match=None, **kw):
    with pytest.raises(ValueError) as e:
        MNIST(path, **kw)
    assert path.name in str(e.value) or str(path) in str(e.value), str(e.value)
    if match:
        assert match in str(e.value), str(e.value)


def test_mnist_corrupt_idx_files(tmp_path):
    images, labels = _mnist_arrays(4, 0)
    good_img, good_lab = _idx_bytes(images), _idx_bytes(labels)
    cases = {
        "bad_magic": (b"\x08\x03\x00\x00" + good_img[4:], good_lab, "magic"),
        "bad_type": (b"\x00\x00\x07\x03" + good_img[4:], good_lab, "magic"),
        "truncated_data": (good_img[:-10], good_lab, "truncated"),
        "truncated_header": (good_img[:9], good_lab, "truncated"),
        "trailing": (good_img + b"\x00", good_lab, "trailing"),
        "labels_as_images": (good_lab, good_lab, "(N, H, W)"),
        "count_mismatch": (good_img, _idx_bytes(labels[:3]), "4 images but"),
        "empty": (b"", good_lab, "truncated"),
        "bad_gzip": (gzip.compress(good_img)[:-20], good_lab, "gzip"),
    }
    for name, (img, lab, match) in cases.items():
        folder = tmp_path / name
        folder.mkdir()
        (folder / "train-images-idx3-ubyte").write_bytes(img)
        (folder / "train-labels-idx1-ubyte").write_bytes(lab)
        with pytest.raises(ValueError) as e:
            MNIST(folder)
        assert str(folder) in str(e.value) and match in str(e.value), (name, str(e.value))
    # read_idx on its own: big-endian multi-byte types, and the file named on errors
    ints = np.arange(6, dtype=np.int32).reshape(2, 3) - 2
    raw = bytes([0, 0, 0x0C, 2]) + struct.pack(">2I", 2, 3) + ints.astype(">i4").tobytes()
    np.testing.assert_array_equal(read_idx(_write(tmp_path / "ints-idx2", raw, gz=True)), ints)
    with pytest.raises(ValueError, match="ints-short"):
        read_idx(_write(tmp_path / "ints-short", raw[:-1]))


def test_mnist_corrupt_npz_files(tmp_path):
    images, labels = _mnist_arrays(4, 0)
    garbage = _write(tmp_path / "garbage.npz", b"this is not a zip archive at all")
    _expect_error(garbage)
    full = tmp_path / "full.npz"
    np.savez(full, images=images, labels=labels)
    truncated = _write(tmp_path / "truncated.npz", full.read_bytes()[:300])
    _expect_error(truncated)
    missing = tmp_path / "missing.npz"
    np.savez(missing, pictures=images, labels=labels)
    _expect_error(missing, "expected arrays")
    mismatch = tmp_path / "mismatch.npz"
    np.savez(mismatch, images=images, labels=labels[:2])
    _expect_error(mismatch, "4 images but")
    floats = tmp_path / "floats.npz"
    np.savez(floats, images=images / 255.0, labels=labels)
    _expect_error(floats, "uint8")
    npy = tmp_path / "single.npz"
    with open(npy, "wb") as f:
        np.save(f, images)
    _expect_error(npy, "npz")
    test_only = tmp_path / "test_only.npz"
    np.savez(test_only, x_test=images, y_test=labels)
    _expect_error(test_only, "train split")


def test_mnist_missing_files(tmp_path):
    with pytest.raises(FileNotFoundError):
        MNIST(tmp_path)
    with pytest.raises(FileNotFoundError):
        MNIST(tmp_path / "nowhere")
    (tmp_path / "train-images-idx3-ubyte").write_bytes(_idx_bytes(_mnist_arrays(2, 0)[0]))
    with pytest.raises(FileNotFoundError, match="labels"):
        MNIST(tmp_path)


def test_mnist_5k_bundled():
    ds = mnist_5k()
    assert len(ds) == 5000
    counts = np.bincount(_np(ds.targets), minlength=10)
    assert counts.tolist() == [500] * 10
    img, label = ds[123]
    assert img.shape == (1, 28, 28) and 0.0 <= float(_np(img).min()) and float(_np(img).max()) <= 1.0
    assert float(_np(img).max()) > 0.5  # a real digit, not a blank
    images, labels = load_mnist_5k()
    assert images.shape == (5000, 28, 28) and images.dtype == pydl.uint8 and labels.dtype == pydl.int64
    np.testing.assert_array_equal(_np(ds.data), _np(images))
    train, val = random_split(ds, [0.9, 0.1], generator=0)
    xb, yb = next(iter(DataLoader(train, batch_size=32, shuffle=True, seed=1)))  # Subset forwards __getitems__
    assert xb.shape == (32, 1, 28, 28) and yb.shape == (32,)
    assert math.isclose(len(train) / len(ds), 0.9)


def test_batches_and_transforms_on_device(device):
    x = pydl.tensor(np.random.default_rng(0).random((6, 1, 5, 5)).astype(np.float32)).to(device)
    y = pydl.arange(6).to(device)
    bx, by = next(iter(DataLoader(TensorDataset(x, y), batch_size=4, shuffle=True, seed=0)))
    assert bx.device == pydl.device(device) and by.device == pydl.device(device)
    tf = T.Compose([T.RandomShift(1, generator=0), T.RandomHorizontalFlip(generator=1), T.GaussianNoise(0.1),
                    T.Normalize(0.5, 0.25)])
    out = tf(bx)
    assert out.device == pydl.device(device) and out.shape == (4, 1, 5, 5)
    flipped = T.RandomHorizontalFlip(1.0)(bx)
    np.testing.assert_array_equal(_np(flipped), _np(bx)[..., ::-1])
