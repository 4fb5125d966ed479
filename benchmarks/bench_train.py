"""Training-step time at one thread: ember vs torch vs the same math in raw NumPy.

(a) MLP 784-1024-1024-10, ReLU, CrossEntropyLoss, SGD(lr=0.01), batch 128
(b) CNN Conv2d(1,16,3)-ReLU-Conv2d(16,32,3)-ReLU-Flatten-Linear(32*24*24,10), batch 64
    of 1x28x28, SGD (raw NumPy: a plain im2col convolution)
(c) peak traced memory (tracemalloc) of one MLP step, ember vs raw NumPy

All three start from the same weights and the losses of the first steps are printed
side by side, so the timings compare the same computation.
Targets: MLP step <= 1.05x raw NumPy; CNN step <= 1.0x torch; MLP peak memory <= 1.2x.
Run: python benchmarks/bench_train.py [--steps N]
"""

from __future__ import annotations

import argparse
import importlib
import time
import tracemalloc

from _common import (
    describe_machine,
    fmt,
    per_step,
    single_thread,
    table,
    try_import_torch,
    use_local_source,
    verdict,
)

single_thread()
use_local_source()

import numpy as np  # noqa: E402
from numpy.lib.stride_tricks import sliding_window_view  # noqa: E402

import ember  # noqa: E402

LR = 0.01
MLP_TARGET = 1.05  # ember / raw NumPy
CNN_TARGET = 1.0  # ember / torch
MEM_TARGET = 1.2  # ember / raw NumPy
MLP_SIZES = (784, 1024, 1024, 10)
CNN_CONVS = ((1, 16), (16, 32))
CHECK_STEPS = 3


# ----- shared set-up ------------------------------------------------------------------
def missing_pieces(names: tuple[str, ...]) -> list[str]:
    """The names among e.g. 'nn.Linear', 'optim.SGD' that ember does not provide yet."""
    missing = []
    for name in names:
        module_name, attr = name.rsplit(".", 1)
        try:
            module = importlib.import_module(f"ember.{module_name}")
        except ImportError:
            missing.append(name)
            continue
        if not hasattr(module, attr):
            missing.append(name)
    return missing


def uniform_init(rng: np.random.Generator, shape: tuple[int, ...], fan_in: int) -> np.ndarray:
    """PyTorch's default Linear/Conv init range, drawn with NumPy so no library is needed."""
    bound = 1.0 / np.sqrt(fan_in)
    return rng.uniform(-bound, bound, size=shape).astype(np.float32)


def mlp_weights(rng: np.random.Generator) -> list[np.ndarray]:
    params = []
    for fan_in, fan_out in zip(MLP_SIZES[:-1], MLP_SIZES[1:]):
        params += [uniform_init(rng, (fan_out, fan_in), fan_in),
                   uniform_init(rng, (fan_out,), fan_in)]
    return params


def cnn_weights(rng: np.random.Generator) -> list[np.ndarray]:
    params = []
    for c_in, c_out in CNN_CONVS:
        params += [uniform_init(rng, (c_out, c_in, 3, 3), c_in * 9),
                   uniform_init(rng, (c_out,), c_in * 9)]
    flat = CNN_CONVS[-1][1] * 24 * 24
    return params + [uniform_init(rng, (10, flat), flat), uniform_init(rng, (10,), flat)]


# ----- the PyTorch-style version: the same code runs on ember and on torch ---------------
def build_mlp(lib):
    nn = lib.nn
    return nn.Sequential(
        nn.Linear(784, 1024), nn.ReLU(), nn.Linear(1024, 1024), nn.ReLU(), nn.Linear(1024, 10)
    )


def build_cnn(lib):
    nn = lib.nn
    (a, b), (c, d) = CNN_CONVS
    return nn.Sequential(
        nn.Conv2d(a, b, 3), nn.ReLU(), nn.Conv2d(c, d, 3), nn.ReLU(), nn.Flatten(),
        nn.Linear(d * 24 * 24, 10),
    )


def library_step(lib, model, weights: list[np.ndarray], x: np.ndarray, y: np.ndarray):
    """A training-step closure for `model` (ember or torch) loaded with `weights`."""
    params = list(model.parameters())
    for p, w in zip(params, weights, strict=True):
        p.data = lib.from_numpy(w.copy())
    criterion = lib.nn.CrossEntropyLoss()
    optimizer = lib.optim.SGD(params, lr=LR)
    xt, yt = lib.from_numpy(x), lib.from_numpy(y)

    def step() -> float:
        optimizer.zero_grad()
        loss = criterion(model(xt), yt)
        loss.backward()
        optimizer.step()
        return loss.item()

    return step


def library_steps(torch, build, parts: tuple[str, ...], weights, x, y) -> dict:
    """The ember and torch step closures; ember's is skipped, with a note, while the
    pieces it needs are missing or fail to build."""
    steps = {}
    missing = missing_pieces(parts)
    if missing:
        print(f"\n(ember skipped: ember lacks {', '.join(missing)})")
    else:
        try:
            steps["ember"] = library_step(ember, build(ember), weights, x, y)
        except Exception as exc:  # a piece still being written must not stop the others
            print(f"\n(ember skipped: building it raised {type(exc).__name__}: {exc})")
    if torch is not None:
        steps["torch"] = library_step(torch, build(torch), weights, x, y)
    return steps


# ----- raw NumPy ------------------------------------------------------------------------
def _softmax_xent(logits: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean cross-entropy and its gradient with respect to the logits."""
    n = len(y)
    shifted = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(shifted)
    s = e.sum(axis=1, keepdims=True)
    rows = np.arange(n)
    loss = float(np.log(s[:, 0]).mean() - shifted[rows, y].mean())
    d = e / s
    d[rows, y] -= 1
    d /= n
    return loss, d


def numpy_mlp_step(weights: list[np.ndarray], x: np.ndarray, y: np.ndarray):
    w1, b1, w2, b2, w3, b3 = params = [w.copy() for w in weights]

    def step() -> float:
        h1 = np.maximum(x @ w1.T + b1, 0)
        h2 = np.maximum(h1 @ w2.T + b2, 0)
        loss, d3 = _softmax_xent(h2 @ w3.T + b3, y)
        d2 = (d3 @ w3) * (h2 > 0)
        d1 = (d2 @ w2) * (h1 > 0)
        grads = (d1.T @ x, d1.sum(0), d2.T @ h1, d2.sum(0), d3.T @ h2, d3.sum(0))
        for p, g in zip(params, grads):
            p -= LR * g
        return loss

    return step


def _im2col(x_nhwc: np.ndarray, k: int) -> np.ndarray:
    """(N, H, W, C) -> (N*Ho*Wo, C*k*k), columns in PyTorch's (c, kh, kw) weight order."""
    win = sliding_window_view(x_nhwc, (k, k), axis=(1, 2))  # N, Ho, Wo, C, k, k
    n, ho, wo = win.shape[:3]
    return win.reshape(n * ho * wo, -1)


def _col2im(dcols: np.ndarray, shape: tuple[int, ...], k: int) -> np.ndarray:
    """The adjoint of `_im2col`: scatter-add column gradients back to (N, H, W, C)."""
    n, h, w, c = shape
    ho, wo = h - k + 1, w - k + 1
    d = dcols.reshape(n, ho, wo, c, k, k)
    out = np.zeros(shape, dtype=dcols.dtype)
    for i in range(k):
        for j in range(k):
            out[:, i:i + ho, j:j + wo, :] += d[..., i, j]
    return out


def numpy_cnn_step(weights: list[np.ndarray], x: np.ndarray, y: np.ndarray):
    """Activations kept channels-last; the flatten matches PyTorch's (C, H, W) order."""
    params = [w.copy() for w in weights]
    k1, b1, k2, b2, w3, b3 = params
    n = x.shape[0]
    x_nhwc = np.ascontiguousarray(x.transpose(0, 2, 3, 1))
    c1, c2 = k1.shape[0], k2.shape[0]

    def step() -> float:
        m1, m2 = k1.reshape(c1, -1), k2.reshape(c2, -1)
        cols1 = _im2col(x_nhwc, 3)
        h1 = np.maximum(cols1 @ m1.T + b1, 0)  # (N*26*26, 16)
        h1_img = h1.reshape(n, 26, 26, c1)
        cols2 = _im2col(h1_img, 3)
        h2 = np.maximum(cols2 @ m2.T + b2, 0)  # (N*24*24, 32)
        flat = h2.reshape(n, 24, 24, c2).transpose(0, 3, 1, 2).reshape(n, -1)
        loss, d3 = _softmax_xent(flat @ w3.T + b3, y)
        dflat = (d3 @ w3).reshape(n, c2, 24, 24).transpose(0, 2, 3, 1).reshape(-1, c2)
        d2 = dflat * (h2 > 0)
        d1 = _col2im(d2 @ m2, h1_img.shape, 3).reshape(-1, c1) * (h1 > 0)
        grads = (
            (d1.T @ cols1).reshape(k1.shape), d1.sum(0),
            (d2.T @ cols2).reshape(k2.shape), d2.sum(0),
            d3.T @ flat, d3.sum(0),
        )
        for p, g in zip(params, grads):
            p -= LR * g
        return loss

    return step


# ----- measurement ----------------------------------------------------------------------
def peak_traced_mib(step) -> float:
    """Peak traced allocation (MiB) during one call of a warmed-up `step`."""
    step()
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        step()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return (peak - base) / 2**20


def run_section(title: str, steps: dict, n_steps: int) -> dict[str, float]:
    """Check the libraries agree on the first losses, then time each one's step."""
    print(f"\n{title}")
    losses = {}
    for name, step in list(steps.items()):
        try:
            losses[name] = [step() for _ in range(CHECK_STEPS)]
        except Exception as exc:  # a piece still being written must not stop the others
            print(f"  ({name} skipped: its step raised {type(exc).__name__}: {exc})")
            del steps[name]
    for name, values in losses.items():
        print(f"  {name:>6} losses of the first {CHECK_STEPS} steps: "
              + ", ".join(f"{v:.5f}" for v in values))
    ref = losses["numpy"]
    worst = max(abs(a - b) for vals in losses.values() for a, b in zip(vals, ref))
    print(f"  largest loss difference from raw NumPy: {worst:.2e}"
          + ("" if worst < 1e-3 else "  (the libraries DISAGREE: timings not comparable)"))
    times = {name: s * 1e3 for name, s in per_step(steps, rounds=n_steps).items()}
    print(table(["library", "ms/step"], [[k, fmt(v)] for k, v in times.items()]))
    return times


def ratio(times: dict, a: str, b: str) -> float | None:
    return times[a] / times[b] if a in times and b in times else None


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=10, help="timed steps per library")
    args = parser.parse_args(argv)
    torch = try_import_torch()
    print(f"ember training step, 1 thread; {describe_machine(torch)}")
    start = time.perf_counter()
    rng = np.random.default_rng(0)
    summary = []

    # (a) MLP
    x = rng.standard_normal((128, 784)).astype(np.float32)
    y = rng.integers(0, 10, size=128).astype(np.int64)
    weights = mlp_weights(rng)
    mlp_parts = ("nn.Sequential", "nn.Linear", "nn.ReLU", "nn.CrossEntropyLoss", "optim.SGD")
    steps = {"numpy": numpy_mlp_step(weights, x, y)}
    steps.update(library_steps(torch, build_mlp, mlp_parts, weights, x, y))
    mlp = run_section("(a) MLP 784-1024-1024-10, batch 128", steps, args.steps)
    r = ratio(mlp, "ember", "numpy")
    summary.append(["MLP step ember / raw NumPy", fmt(r, 3), f"<= {MLP_TARGET}",
                    verdict(r, MLP_TARGET)])
    summary.append(["MLP step ember / torch", fmt(ratio(mlp, "ember", "torch"), 3), "", ""])

    # (c) memory of one MLP step (tracemalloc sees NumPy's buffers, not torch's)
    if "ember" in steps:
        mem = {name: peak_traced_mib(steps[name]) for name in ("numpy", "ember")}
        print("\n(c) peak traced memory of one MLP step")
        print(table(["library", "MiB"], [[k, fmt(v, 1)] for k, v in mem.items()]))
        r = mem["ember"] / mem["numpy"]
    else:
        r = None
    summary.append(["MLP peak memory ember / raw NumPy", fmt(r, 3), f"<= {MEM_TARGET}",
                    verdict(r, MEM_TARGET)])

    # (b) CNN
    x = rng.standard_normal((64, 1, 28, 28)).astype(np.float32)
    y = rng.integers(0, 10, size=64).astype(np.int64)
    weights = cnn_weights(rng)
    steps = {"numpy": numpy_cnn_step(weights, x, y)}
    cnn_parts = (*mlp_parts, "nn.Conv2d", "nn.Flatten")
    steps.update(library_steps(torch, build_cnn, cnn_parts, weights, x, y))
    cnn = run_section("(b) CNN conv16-conv32-linear, batch 64 of 1x28x28", steps, args.steps)
    r = ratio(cnn, "ember", "torch")
    summary.append(["CNN step ember / torch", fmt(r, 3), f"<= {CNN_TARGET}",
                    verdict(r, CNN_TARGET)])
    summary.append(["CNN step ember / raw NumPy", fmt(ratio(cnn, "ember", "numpy"), 3), "", ""])
    summary.append(["CNN step torch / raw NumPy", fmt(ratio(cnn, "torch", "numpy"), 3), "", ""])

    print("\nsummary")
    print(table(["ratio", "value", "target", "status"], summary))
    print(f"\n(total {time.perf_counter() - start:.1f} s)")


if __name__ == "__main__":
    main()
