"""``pydl.nn.functional``: differentiable deep-learning ops, each a ``Function`` over a
hand-written kernel (forward and backward side by side), as ``torch.nn.functional``."""
from pydl._missing import module_getattr as _module_getattr
from pydl.nn.functional.activation import *  # noqa: F401,F403
from pydl.nn.functional.attention import *  # noqa: F401,F403
from pydl.nn.functional.conv import *  # noqa: F401,F403
from pydl.nn.functional.dropout import *  # noqa: F401,F403
from pydl.nn.functional.embedding import *  # noqa: F401,F403
from pydl.nn.functional.interpolate import *  # noqa: F401,F403
from pydl.nn.functional.linear import *  # noqa: F401,F403
from pydl.nn.functional.loss import *  # noqa: F401,F403
from pydl.nn.functional.norm import *  # noqa: F401,F403
from pydl.nn.functional.padding import *  # noqa: F401,F403
from pydl.nn.functional.pooling import *  # noqa: F401,F403
from pydl.nn.functional.unfold import *  # noqa: F401,F403

__getattr__ = _module_getattr("pydl.nn.functional")
