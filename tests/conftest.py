"""Shared fixtures: `device` runs a test on the CPU and, where a GPU is present, on CUDA."""
import numpy as np
import pytest

import pydl

DEVICES = ["cpu"] + (["cuda"] if pydl.cuda.is_available() else [])


def pytest_collection_modifyitems(config, items):
    skip = pytest.mark.skip(reason="needs a CUDA GPU")
    for item in items:
        if "cuda" in item.keywords and not pydl.cuda.is_available():
            item.add_marker(skip)


@pytest.fixture(params=DEVICES)
def device(request):
    return request.param


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


def assert_close(actual, expected, rtol=1e-5, atol=1e-6):
    """Compares a Tensor (or array) with a numpy reference, shapes included."""
    a = actual.detach().cpu().numpy() if isinstance(actual, pydl.Tensor) else np.asarray(actual)
    e = np.asarray(expected)
    assert a.shape == e.shape, f"shape {a.shape} != {e.shape}"
    np.testing.assert_allclose(a, e, rtol=rtol, atol=atol)


# Property tests run on shared, sometimes loaded machines: no per-example deadline, no "too slow" failures.
from hypothesis import HealthCheck, settings  # noqa: E402

settings.register_profile("pydl", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("pydl")
