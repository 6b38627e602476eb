"""CUDA backend switches.

``pydl.backends.cuda.matmul.allow_tf32`` (default False, as PyTorch): when True, float32
matmuls on CUDA may run on the tensor cores in TF32 (10-bit mantissa inputs, float32
accumulation: about 1e-3 relative error instead of 1e-6, several times faster). The CPU
ignores it.
"""
from pydl import _C


class _MatMulSettings:
    __slots__ = ()

    @property
    def allow_tf32(self):
        return _C.allow_tf32()

    @allow_tf32.setter
    def allow_tf32(self, value):
        _C.set_allow_tf32(bool(value))

    def __repr__(self):
        return f"pydl.backends.cuda.matmul(allow_tf32={self.allow_tf32})"


matmul = _MatMulSettings()
