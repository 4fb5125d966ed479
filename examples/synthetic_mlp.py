"""Train a tiny MLP on synthetic data, then evaluate it three ways.

Run: `python examples/synthetic_mlp.py [--epochs N] [--seed S] [--quiet]`.

The task is three concentric noisy rings in the plane (class = ring), which no linear
model can separate. The MLP is written with raw parameters and core ops only, so the
example shows the autograd engine itself: a forward pass, `loss.backward()`, and an SGD
update under `no_grad`. Evaluating a large batch with grad enabled, under `no_grad` and
under `inference_mode` then shows what recording a graph costs in time and memory.
"""

from __future__ import annotations

import argparse
import time
import tracemalloc
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext

import numpy as np

import ember
from ember import Tensor

__all__ = ["main", "make_rings"]

CLASSES = 3
HIDDEN = 256
DEPTH = 4  # hidden layers: a graph keeps one activation per layer, no_grad keeps none
LR = 0.02
MOMENTUM = 0.9
BATCH = 100
TRAIN_POINTS = 1500
EVAL_POINTS = 20000
REPEATS = 3
MODES = {
    "grad enabled": nullcontext,
    "no_grad": ember.no_grad,
    "inference_mode": ember.inference_mode,
}


def make_rings(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """`n` points on three noisy rings of radius 1, 2, 3; the label is the ring."""
    labels = rng.integers(0, CLASSES, size=n)
    radius = labels + 1.0 + rng.normal(0.0, 0.2, size=n)
    angle = rng.uniform(0.0, 2 * np.pi, size=n)
    points = np.stack([radius * np.cos(angle), radius * np.sin(angle)], axis=1)
    return points.astype(np.float32), labels.astype(np.int64)


def init_params(hidden: int, depth: int) -> list[Tensor]:
    """He-initialised weights (in, out) and zero biases: w1, b1, w2, b2, ..."""
    sizes = (2, *[hidden] * depth, CLASSES)
    params = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        w = ember.randn(fan_in, fan_out) * (2.0 / fan_in) ** 0.5
        params += [w.requires_grad_(), ember.zeros(fan_out, requires_grad=True)]
    return params


def forward(params: list[Tensor], x: Tensor) -> Tensor:
    *hidden, w_out, b_out = params
    for w, b in zip(hidden[::2], hidden[1::2]):
        x = (x @ w + b).relu()
    return x @ w_out + b_out


def cross_entropy(logits: Tensor, onehot: Tensor) -> Tensor:
    """Mean softmax cross-entropy, from exp/log/sum.

    The row maximum is subtracted for stability as a constant: a log-softmax does not
    change when a row is shifted, so its gradient stays exact.
    """
    shifted = logits - ember.from_numpy(logits.detach().numpy().max(axis=1, keepdims=True))
    log_probs = shifted - shifted.exp().sum(1, keepdim=True).log()
    return -(log_probs * onehot).sum(1).mean()


def sgd_step(params: list[Tensor], velocity: list[Tensor], lr: float) -> None:
    """SGD with momentum, in place; the update must not be recorded, hence `no_grad`."""
    with ember.no_grad():
        for p, v in zip(params, velocity):
            v.mul_(MOMENTUM).add_(p.grad)
            p -= lr * v
            p.grad = None


def accuracy(logits: Tensor, labels: np.ndarray) -> float:
    return float((logits.detach().numpy().argmax(axis=1) == labels).mean())


def train(params: list[Tensor], x: np.ndarray, y: np.ndarray, epochs: int,
          rng: np.random.Generator, log: Callable[[str], None]) -> None:
    onehot = np.eye(CLASSES, dtype=np.float32)[y]
    every = max(1, epochs // 5)
    velocity = [ember.zeros_like(p) for p in params]
    for epoch in range(1, epochs + 1):
        lr = LR * (1 - (epoch - 1) / epochs)  # linear decay settles the last epochs
        order = rng.permutation(len(x))
        for start in range(0, len(x), BATCH):
            idx = order[start:start + BATCH]
            loss = cross_entropy(forward(params, ember.from_numpy(x[idx])),
                                 ember.from_numpy(onehot[idx]))
            loss.backward()
            sgd_step(params, velocity, lr)
        if epoch % every == 0 or epoch == epochs:
            with ember.no_grad():
                acc = accuracy(forward(params, ember.from_numpy(x)), y)
            log(f"epoch {epoch:3d}  loss {loss.item():.4f}  train accuracy {acc:6.1%}")


def measure(params: list[Tensor], x: Tensor,
            mode: Callable[[], AbstractContextManager]) -> tuple[float, float]:
    """(ms, peak traced MiB) of predicting classes for `x` under `mode`."""

    def evaluate() -> np.ndarray:
        with mode():
            logits = forward(params, x)
            return logits.detach().numpy().argmax(axis=1)

    evaluate()
    best = float("inf")
    for _ in range(REPEATS):
        t0 = time.perf_counter()
        evaluate()
        best = min(best, time.perf_counter() - t0)
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        evaluate()
        peak = tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
    return best * 1e3, peak / 2**20


def report(results: dict[str, tuple[float, float]]) -> None:
    """Print each mode's time and peak memory, and both relative to grad enabled."""
    ref_ms, ref_mib = results["grad enabled"]
    print(f"\nevaluating {EVAL_POINTS} points "
          f"(time: min of {REPEATS} runs; peak memory: tracemalloc)")
    print(f"{'mode':<16}{'time ms':>9}{'peak MiB':>10}{'time vs grad':>14}{'memory vs grad':>16}")
    for name, (ms, mib) in results.items():
        print(f"{name:<16}{ms:>9.2f}{mib:>10.1f}{ms / ref_ms:>13.2f}x{mib / ref_mib:>15.2f}x")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="synthetic_mlp.py", description=__doc__)
    parser.add_argument("--epochs", type=int, default=20, help="training epochs (default 20)")
    parser.add_argument("--seed", type=int, default=0, help="seed of data and weights")
    parser.add_argument("--quiet", action="store_true", help="skip the per-epoch lines")
    args = parser.parse_args(argv)

    start = time.perf_counter()
    rng = np.random.default_rng(args.seed)
    ember.manual_seed(args.seed)
    x_train, y_train = make_rings(TRAIN_POINTS, rng)
    x_test, y_test = make_rings(EVAL_POINTS, rng)
    params = init_params(HIDDEN, DEPTH)
    log = (lambda line: None) if args.quiet else print
    widths = "-".join(map(str, (2, *[HIDDEN] * DEPTH, CLASSES)))
    print(f"ember example: 3 noisy rings, MLP {widths}, {TRAIN_POINTS} training points, "
          f"SGD lr {LR} (linear decay) momentum {MOMENTUM}, {args.epochs} epochs, "
          f"seed {args.seed}")
    train(params, x_train, y_train, args.epochs, rng, log)

    x_eval = ember.from_numpy(x_test)
    with ember.no_grad():
        test_acc = accuracy(forward(params, x_eval), y_test)
    print(f"test accuracy (no_grad, {EVAL_POINTS} points): {test_acc:.1%}")

    report({name: measure(params, x_eval, mode) for name, mode in MODES.items()})
    print(f"\ndone in {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
