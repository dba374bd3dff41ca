"""Running mean and variance of a stream of batches (used by ``VecNormalize``)."""

from __future__ import annotations

import numpy as np


class RunningMeanStd:
    """Track the mean and variance of a stream of samples, batch by batch.

    Batches are merged with the parallel-variance formula (Chan et al.), so the result does not depend
    on how the stream was split into batches. The state starts as a pseudo-sample of weight ``epsilon``
    with mean 0 and variance 1, which keeps the first normalisation finite.

    :param epsilon: initial pseudo-count
    :param shape: shape of one sample
    """

    def __init__(self, epsilon: float = 1e-4, shape: tuple[int, ...] = ()) -> None:
        self.mean = np.zeros(shape, dtype=np.float64)
        self.var = np.ones(shape, dtype=np.float64)
        self.count: float = float(epsilon)

    def copy(self) -> RunningMeanStd:
        """Return an independent copy."""
        new = RunningMeanStd(shape=self.mean.shape)
        new.mean = self.mean.copy()
        new.var = self.var.copy()
        new.count = float(self.count)
        return new

    def combine(self, other: RunningMeanStd) -> None:
        """Merge the statistics of ``other`` into this one (as if its samples had been seen here)."""
        self.update_from_moments(other.mean, other.var, other.count)

    def update(self, arr: np.ndarray) -> None:
        """Add a batch of samples; axis 0 is the batch axis."""
        arr = np.asarray(arr, dtype=np.float64)
        if arr.shape[1:] != self.mean.shape:
            raise ValueError(f"RunningMeanStd expects batches of shape (batch, *{self.mean.shape}), got {arr.shape}")
        self.update_from_moments(arr.mean(axis=0), arr.var(axis=0), arr.shape[0])

    def update_from_moments(self, batch_mean: np.ndarray, batch_var: np.ndarray, batch_count: float) -> None:
        """Merge a batch given by its mean, (population) variance and size."""
        total = self.count + batch_count
        delta = batch_mean - self.mean
        # Sum of squared deviations of both parts plus the between-group term.
        m2 = self.var * self.count + batch_var * batch_count + np.square(delta) * (self.count * batch_count / total)
        self.mean = self.mean + delta * (batch_count / total)
        self.var = m2 / total
        self.count = float(total)
