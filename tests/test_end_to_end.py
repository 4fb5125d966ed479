"""An MLP and a small CNN learn synthetic tasks to a stated accuracy in a few seconds."""

import numpy as np

import ember
import ember.nn as nn
from ember.utils.data import DataLoader, TensorDataset


def _fit(model, x, y, epochs, lr, batch_size=32):
    loader = DataLoader(TensorDataset(x, y), batch_size=batch_size, shuffle=True,
                        generator=ember.Generator().manual_seed(0))
    opt = ember.optim.Adam(model.parameters(), lr=lr)
    loss_fn = nn.CrossEntropyLoss()
    model.train()
    for _ in range(epochs):
        for xb, yb in loader:
            opt.zero_grad()
            loss_fn(model(xb), yb).backward()
            opt.step()


def _accuracy(model, x, y) -> float:
    model.eval()
    with ember.no_grad():
        return (model(x).argmax(1) == y).float().mean().item()


def _blobs(n, seed):
    rng = np.random.default_rng(seed)
    centers = np.array([[0, 3], [3, -2], [-3, -2]], dtype=np.float32)
    labels = rng.integers(0, 3, n)
    points = centers[labels] + rng.normal(0, 0.8, (n, 2)).astype(np.float32)
    return ember.tensor(points), ember.tensor(labels)


def test_mlp_learns_three_gaussian_blobs_to_at_least_95_percent():
    ember.manual_seed(0)
    x, y = _blobs(600, seed=1)
    xt, yt = _blobs(300, seed=2)
    model = nn.Sequential(nn.Linear(2, 32), nn.ReLU(), nn.Linear(32, 3))
    _fit(model, x, y, epochs=10, lr=0.02)
    assert _accuracy(model, xt, yt) >= 0.95


def _bars(n, seed):
    """8x8 images holding one noisy bar: horizontal (class 0) or vertical (class 1)."""
    rng = np.random.default_rng(seed)
    images = rng.normal(0, 0.3, (n, 1, 8, 8)).astype(np.float32)
    labels = rng.integers(0, 2, n)
    where = rng.integers(1, 7, n)
    for i in range(n):
        if labels[i] == 0:
            images[i, 0, where[i], :] += 1.5
        else:
            images[i, 0, :, where[i]] += 1.5
    return ember.tensor(images), ember.tensor(labels)


def test_small_cnn_learns_bar_orientation_to_at_least_95_percent():
    ember.manual_seed(0)
    x, y = _bars(400, seed=3)
    xt, yt = _bars(200, seed=4)
    model = nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(8, 8, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
        nn.Linear(8, 2),
    )
    _fit(model, x, y, epochs=6, lr=0.01)
    assert _accuracy(model, xt, yt) >= 0.95
