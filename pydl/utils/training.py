"""Early stopping and accuracy, for the few lines of a training loop that every example repeats."""
import copy

from pydl.autograd.grad_mode import no_grad


def accuracy(logits, targets):
    """Fraction of rows whose arg-max matches the integer target."""
    with no_grad():
        return (logits.argmax(dim=-1) == targets).float().mean().item()


class EarlyStopping:
    """Stops once `patience` epochs in a row bring no improvement larger than `min_delta`; with
    restore_best_weights, puts the best epoch's weights back into the model when it stops.

        stopper = EarlyStopping(patience=3)
        for epoch in ...:
            ...
            if stopper.step(val_loss, model):
                break
    """

    def __init__(self, patience=5, min_delta=0.0, mode="min", restore_best_weights=True):
        if patience < 0 or min_delta < 0:
            raise ValueError(f"EarlyStopping: patience and min_delta must be non-negative, got {patience}, {min_delta}")
        if mode not in ("min", "max"):
            raise ValueError(f"EarlyStopping: mode must be 'min' or 'max', got '{mode}'")
        self.patience, self.min_delta, self.mode = patience, min_delta, mode
        self.restore_best_weights = restore_best_weights
        self.best, self.best_epoch, self.bad_epochs, self.epoch = None, -1, 0, -1
        self.best_state = None
        self.stopped = False

    def _improved(self, value):
        if self.best is None:
            return True
        return value < self.best - self.min_delta if self.mode == "min" else value > self.best + self.min_delta

    def step(self, value, model=None):
        """Records this epoch's metric; returns True when training should stop."""
        self.epoch += 1
        value = float(value)
        if self._improved(value):
            self.best, self.best_epoch, self.bad_epochs = value, self.epoch, 0
            if model is not None and self.restore_best_weights:
                self.best_state = {k: v.clone() for k, v in model.state_dict().items()}
            return False
        self.bad_epochs += 1
        if self.bad_epochs >= self.patience:
            self.stopped = True
            if model is not None and self.best_state is not None:
                model.load_state_dict(self.best_state)
            return True
        return False

    def state_dict(self):
        return {"best": self.best, "best_epoch": self.best_epoch, "bad_epochs": self.bad_epochs, "epoch": self.epoch}

    def load_state_dict(self, state):
        self.__dict__.update(copy.deepcopy(state))
