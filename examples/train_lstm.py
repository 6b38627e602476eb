"""Train an LSTM that reads each digit row by row (28 steps of 28 pixels) on the bundled MNIST digits
(or full MNIST with --data), classifying from its last hidden state.

    python examples/train_lstm.py [--epochs 20] [--hidden 128] [--optimizer adam] [--lr 0.002] [--device cpu]
"""
from common import parse_args, train

from pydl import nn


class RowLSTM(nn.Module):
    """(N, 1, 28, 28) images -> 28 rows in sequence -> LSTM -> the last hidden state -> 10 logits."""

    def __init__(self, hidden):
        super().__init__()
        self.lstm = nn.LSTM(28, hidden, batch_first=True)
        self.head = nn.Linear(hidden, 10)

    def forward(self, x):
        _, (h, _) = self.lstm(x.reshape(x.shape[0], 28, 28))
        return self.head(h[-1])


def main():
    args = parse_args(__doc__.splitlines()[0], epochs=20, lr=0.002, optimizer="adam",
                      extra=lambda p: p.add_argument("--hidden", type=int, default=128))
    train(RowLSTM(args.hidden), args, "lstm")


if __name__ == "__main__":
    main()
