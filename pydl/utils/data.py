"""``pydl.utils.data`` is ``pydl.data`` (the name ``torch.utils.data`` code imports)."""
import sys

from pydl import data as _data

sys.modules[__name__] = _data
