"""The budgets of the two run modes: epochs and training-slice size per experiment.

The default mode fits in well under 15 minutes on 2 CPU cores with the bundled 5,000 digits;
``--quick`` (a smoke test of the whole lab, under 2 minutes) cuts every experiment down."""
from dataclasses import dataclass


@dataclass(frozen=True)
class Budget:
    epochs: int
    train_size: int = None  # digits from the training split; None: all of it
    batch_size: int = 64

    def describe(self, n_train):
        n = n_train if self.train_size is None else min(self.train_size, n_train)
        return f"{self.epochs} epochs on {n:,} training digits, mini-batches of {self.batch_size}"


@dataclass(frozen=True)
class Settings:
    mode: str
    depth: Budget
    init: Budget
    regularization: Budget
    optimizers: Budget
    cnn: Budget
    reg_width: int = 512  # hidden units of the over-parameterized MLP (two hidden layers)
    patience: int = 5     # early stopping on the validation loss


DEFAULT = Settings(
    mode="default",
    depth=Budget(epochs=30, batch_size=10),  # Nielsen's recipe: 30 epochs, mini-batches of 10
    init=Budget(epochs=15, batch_size=32),
    regularization=Budget(epochs=60, train_size=1000, batch_size=32),
    optimizers=Budget(epochs=15, batch_size=64),
    cnn=Budget(epochs=15, batch_size=64),
)

QUICK = Settings(
    mode="quick",
    depth=Budget(epochs=3, train_size=2000, batch_size=10),
    init=Budget(epochs=3, train_size=2000, batch_size=32),
    regularization=Budget(epochs=8, train_size=500, batch_size=32),
    optimizers=Budget(epochs=3, train_size=2000, batch_size=64),
    cnn=Budget(epochs=3, train_size=2000, batch_size=64),
    reg_width=256,
    patience=2,
)
