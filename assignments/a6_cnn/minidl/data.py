"""Minibatches: a ``DataLoader`` that cuts a data set into batches, reshuffled every epoch.

PyTorch equivalent: ``torch.utils.data.DataLoader(TensorDataset(X, y), batch_size,
shuffle, drop_last)`` with a seeded ``generator``. PyTorch draws its permutations with its
own random generator, so the orders differ from PyTorch's; what must agree is the contract:
every sample exactly once per epoch, the batch sizes, and a new order every epoch.
"""
import numpy as np

from minidl._validate import samples, whole_number

__all__ = ["DataLoader"]


class DataLoader:
    """Iterate over ``(X_batch, y_batch)`` minibatches of ``(X, y)``.

    Parameters
    ----------
    X : array-like of shape (N, ...)
        The samples (the first axis indexes them).
    y : array-like of shape (N,)
        Their labels (or targets).
    batch_size : int
        Samples per batch; the last batch of an epoch is smaller when ``batch_size`` does not
        divide N (unless ``drop_last``).
    shuffle : bool
        Whether to visit the samples in a new random order every epoch; when False, the
        order is always 0, 1, ..., N-1.
    seed : int, numpy.random.Generator or None
        Seeds the loader's **own** generator, made once: two loaders with the same seed give
        the same sequence of epochs, and each epoch (each ``iter``) draws a new permutation
        from it. ``rng`` is another name for it (as elsewhere in minidl).
    drop_last : bool
        Whether to leave out the last batch of an epoch when it is smaller than
        ``batch_size`` (it is kept by default, as in PyTorch).

    ``len(loader)`` is the number of batches per epoch: ``ceil(N / batch_size)``, or
    ``floor(N / batch_size)`` with ``drop_last``.
    """

    def __init__(self, X, y, batch_size, shuffle=True, seed=0, drop_last=False, *, rng=None):
        self.X, self.y = samples(X, y)
        self.batch_size = whole_number("batch_size", batch_size, 1)
        self.shuffle, self.drop_last = bool(shuffle), bool(drop_last)
        self.rng = np.random.default_rng(seed if rng is None else rng)

    def __len__(self):
        """The number of batches in one epoch."""
        n = len(self.X)
        if self.drop_last:
            return n // self.batch_size
        return -(-n // self.batch_size)

    def __iter__(self):
        """One epoch: yield ``(X[batch], y[batch])`` for consecutive slices of one order."""
        n = len(self.X)
        order = self.rng.permutation(n) if self.shuffle else np.arange(n)
        stop = n - n % self.batch_size if self.drop_last else n
        for start in range(0, stop, self.batch_size):
            batch = order[start:start + self.batch_size]
            yield self.X[batch], self.y[batch]

    def __repr__(self):
        return (f"DataLoader({len(self.X)} samples, batch_size={self.batch_size}, "
                f"shuffle={self.shuffle}, drop_last={self.drop_last})")
