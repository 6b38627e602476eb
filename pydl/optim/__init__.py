"""``pydl.optim``: optimizers with torch.optim's names and semantics, each step one
multi-tensor kernel call per parameter group (``pydl.optim.functional``), and LR schedules."""
from pydl._missing import module_getattr as _module_getattr
from pydl.optim import functional, lr_scheduler  # noqa: F401
from pydl.optim.adadelta import Adadelta
from pydl.optim.adagrad import Adagrad
from pydl.optim.adam import Adam, AdamW
from pydl.optim.optimizer import Optimizer
from pydl.optim.rmsprop import RMSprop
from pydl.optim.sgd import SGD

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adadelta", "functional", "lr_scheduler"]

__getattr__ = _module_getattr("pydl.optim")
