"""scikit-learn's handwritten digits, split once into train/validation/test with a seed."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

import ember
from ember.utils.data import TensorDataset, random_split

__all__ = ["Digits", "load", "SPLITS"]

SPLITS = ("train", "val", "test")
HELD_OUT = 0.2  # fraction of the images in each of validation and test


@dataclass(frozen=True)
class Digits:
    """All 1,797 images as (N, 1, 8, 8) float32 in [0, 1], labels 0-9, split indices."""

    images: np.ndarray
    labels: np.ndarray
    indices: dict[str, np.ndarray]

    def split(self, name: str, digits: range | None = None) -> TensorDataset:
        """Images of split `name`; with `digits`, only those, relabelled 0, 1, ..."""
        idx = self.indices[name]
        labels = self.labels[idx]
        if digits is not None:
            keep = (labels >= digits.start) & (labels < digits.stop)
            idx, labels = idx[keep], labels[keep] - digits.start
        return TensorDataset(ember.from_numpy(self.images[idx]), ember.from_numpy(labels))


def load(seed: int) -> Digits:
    """Load the digits bundled with scikit-learn (no network) and split them at random."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    images = (bunch.images / 16.0).astype(np.float32)[:, None]  # pixel values are 0..16
    labels = bunch.target.astype(np.int64)
    n = len(labels)
    held = math.ceil(n * HELD_OUT)
    parts = random_split(range(n), [n - 2 * held, held, held],
                         generator=ember.Generator().manual_seed(seed))
    indices = {name: np.sort(np.asarray(part.indices)) for name, part in zip(SPLITS, parts)}
    return Digits(images, labels, indices)
