"""``pydl.nn.utils``: gradient clipping and penalties (clip.py), packed sequences for the
recurrent layers (rnn.py), as torch.nn.utils."""
from pydl.nn.utils import rnn  # noqa: F401
from pydl.nn.utils.clip import clip_grad_norm_, clip_grad_value_, l1_penalty

__all__ = ["clip_grad_norm_", "clip_grad_value_", "l1_penalty", "rnn"]
