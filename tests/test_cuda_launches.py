"""Kernel launches per step, counted by the CUDA emulation (PYDL_CUDA=EMULATE, as CI builds it):
small training steps are bound by launches, so a fusion that stops working shows here as more."""
import ctypes
import os

import numpy as np
import pytest

import pydl
from pydl import nn, optim
from pydl.nn import functional as F


def _launch_counter():
    try:
        lib = ctypes.CDLL(pydl._C.__file__)
        count = lib.pydl_emu_launch_count
    except (OSError, AttributeError):
        pytest.skip("counts launches only in the CUDA emulation build (PYDL_CUDA=EMULATE)")
    count.restype = ctypes.c_uint64
    return count


def _syncs(fn):
    try:
        count = ctypes.CDLL(pydl._C.__file__).pydl_emu_sync_count
    except (OSError, AttributeError):
        pytest.skip("counts synchronizations only in the CUDA emulation build (PYDL_CUDA=EMULATE)")
    count.restype = ctypes.c_uint64
    before = count()
    fn()
    return count() - before


def _launches(fn):
    count = _launch_counter()
    before = count()
    fn()
    return count() - before


@pytest.mark.cuda
def test_cross_entropy_backward_from_the_seed_scales_nothing():
    rng = np.random.default_rng(0)
    x = pydl.tensor(rng.standard_normal((64, 10)).astype(np.float32), device="cuda", requires_grad=True)
    t = pydl.tensor(rng.integers(0, 10, 64), device="cuda")
    loss = F.cross_entropy(x, t)
    # the seed of ones is filled; dlogits, computed with the loss, become x.grad as they are
    assert _launches(loss.backward) == 1
    scaled = F.cross_entropy(x, t) * 2.0
    assert _launches(scaled.backward) == 4  # seed, the product's backward, dlogits scaled, x.grad summed


@pytest.mark.cuda
def test_mlp_training_step_launches():
    rng = np.random.default_rng(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(784, 100), nn.ReLU(), nn.Linear(100, 10)).to("cuda")
    opt = optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    x = pydl.tensor(rng.random((64, 1, 28, 28), dtype=np.float32), device="cuda")
    y = pydl.tensor(rng.integers(0, 10, 64), device="cuda")
    loss_fn = nn.CrossEntropyLoss()

    def step():
        opt.zero_grad()
        loss_fn(model(x), y).backward()
        opt.step()

    step()  # momentum buffers are made on the first step
    if os.environ.get("PYDL_CUDA_NO_CACHING", "0") in ("", "0"):  # exact blocks wait at each free
        assert _syncs(step) == 0  # labels are checked on the device: the host never waits for it
    # forward: 2 GEMMs (bias and ReLU fused), the label check, the fused cross-entropy, its sum;
    # backward: the seed, 4 GEMMs, 2 bias sums, ReLU's backward; then one SGD launch
    assert _launches(step) <= 13
