"""Per-op overhead on a 64-element float32 tensor: ember vs torch vs raw NumPy.

Three protocols, the same for every library:
  fwd+bwd    y = op(*inputs) on inputs that require grad, then y.backward(g)
             (raw NumPy: the forward call plus the backward formula)
  no_grad    y = op(*inputs) inside no_grad (raw NumPy: the forward call)
  inference  y = op(*inputs) inside inference_mode

Prints microseconds per op and the issue's targets:
  ember fwd+bwd / torch fwd+bwd <= 0.8     ember no_grad fwd / raw NumPy fwd <= 1.5
Run: python benchmarks/bench_ops.py [--repeats N] [--target-ms MS]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass

from _common import (
    describe_machine,
    fmt,
    geomean,
    per_call,
    single_thread,
    table,
    try_import_torch,
    use_local_source,
    verdict,
)

single_thread()
use_local_source()

import numpy as np  # noqa: E402

import ember  # noqa: E402

FWD_BWD_TARGET = 0.8  # ember / torch
NO_GRAD_TARGET = 1.5  # ember / raw NumPy


def _sigmoid(a):
    return 1.0 / (1.0 + np.exp(-a))


@dataclass
class Case:
    """One op: how to call it on tensors, and the same math in raw NumPy."""

    name: str
    shapes: tuple[tuple[int, ...], ...]
    call: Callable  # (*tensors) -> tensor; identical for ember and torch
    np_fwd: Callable  # (*arrays) -> array
    np_bwd: Callable  # (g, out, *arrays) -> tuple of arrays
    positive: bool = False  # inputs kept away from zero (log, div)


V, M = (64,), (8, 8)
CASES = [
    Case("add", (V, V), lambda a, b: a + b, np.add, lambda g, o, a, b: (g, g)),
    Case("sub", (V, V), lambda a, b: a - b, np.subtract, lambda g, o, a, b: (g, -g)),
    Case("mul", (V, V), lambda a, b: a * b, np.multiply, lambda g, o, a, b: (g * b, g * a)),
    Case("div", (V, V), lambda a, b: a / b, np.divide,
         lambda g, o, a, b: (g / b, -g * a / (b * b)), positive=True),
    Case("exp", (V,), lambda a: a.exp(), np.exp, lambda g, o, a: (g * o,)),
    Case("log", (V,), lambda a: a.log(), np.log, lambda g, o, a: (g / a,), positive=True),
    Case("tanh", (V,), lambda a: a.tanh(), np.tanh, lambda g, o, a: (g * (1 - o * o),)),
    Case("sigmoid", (V,), lambda a: a.sigmoid(), _sigmoid,
         lambda g, o, a: (g * o * (1 - o),)),
    Case("relu", (V,), lambda a: a.relu(), lambda a: np.maximum(a, 0),
         lambda g, o, a: (g * (o > 0),)),
    Case("matmul 8x8", (M, M), lambda a, b: a @ b, np.matmul,
         lambda g, o, a, b: (g @ b.T, a.T @ g)),
    Case("sum", (V,), lambda a: a.sum(), np.sum,
         lambda g, o, a: (np.broadcast_to(g, a.shape),)),
    Case("mean", (V,), lambda a: a.mean(), np.mean,
         lambda g, o, a: (np.broadcast_to(g / a.size, a.shape),)),
    Case("reshape 64->8x8", (V,), lambda a: a.reshape(8, 8), lambda a: a.reshape(8, 8),
         lambda g, o, a: (g.reshape(a.shape),)),
    Case("transpose 8x8", (M,), lambda a: a.t(), np.transpose, lambda g, o, a: (g.T,)),
]


def _arrays(case: Case, rng: np.random.Generator) -> list[np.ndarray]:
    arrays = [rng.standard_normal(s).astype(np.float32) for s in case.shapes]
    if case.positive:
        arrays = [np.abs(a) + np.float32(0.5) for a in arrays]
    return arrays


def _cases(lib, name: str, case: Case, arrays) -> dict:
    """The fwd+bwd, no_grad and inference_mode callables of one op in ember or torch."""
    leaves = [lib.tensor(a.copy(), requires_grad=True) for a in arrays]
    call = case.call
    with lib.no_grad():
        probe = call(*leaves)
    grad = lib.ones(tuple(probe.shape)) if probe.ndim else None

    def fwd_bwd():
        call(*leaves).backward(grad)

    def fwd():
        call(*leaves)

    return {
        (name, "fwd+bwd"): (fwd_bwd, nullcontext),
        (name, "no_grad"): (fwd, lib.no_grad),
        (name, "inference"): (fwd, lib.inference_mode),
    }


def _numpy_cases(case: Case, arrays) -> dict:
    fwd_np, bwd_np = case.np_fwd, case.np_bwd
    grad = np.ones_like(np.asarray(fwd_np(*arrays)))

    def fwd_bwd():
        out = fwd_np(*arrays)
        bwd_np(grad, out, *arrays)

    def fwd():
        fwd_np(*arrays)

    return {("numpy", "fwd+bwd"): (fwd_bwd, nullcontext), ("numpy", "fwd"): (fwd, nullcontext)}


def measure(case: Case, torch, timing: dict, rng: np.random.Generator) -> dict:
    """{library: {protocol: seconds}} for one op, the libraries measured in turns."""
    arrays = _arrays(case, rng)
    cases = _cases(ember, "ember", case, arrays)
    if torch is not None:
        cases.update(_cases(torch, "torch", case, arrays))
    cases.update(_numpy_cases(case, arrays))
    out: dict[str, dict[str, float]] = {"ember": {}, "torch": {}, "numpy": {}}
    for (lib, protocol), seconds in per_call(cases, **timing).items():
        out[lib][protocol] = seconds
    return out


def _us(seconds: float | None) -> str:
    return fmt(None if seconds is None else seconds * 1e6, 2)


def _ratio(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else a / b


def _summary(label: str, ratios: dict[str, float | None], target: float) -> str:
    got = {k: v for k, v in ratios.items() if v is not None}
    if not got:
        return f"{label}: not measured"
    worst = max(got, key=got.get)
    met = sum(v <= target for v in got.values())
    return (
        f"{label} (target <= {target}): geomean {geomean(got.values()):.2f}, "
        f"worst {got[worst]:.3f} ({worst}); met for {met}/{len(got)} ops -> "
        f"{verdict(got[worst], target)}"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7, help="timed loops per figure")
    parser.add_argument("--target-ms", type=float, default=20.0, help="length of one loop")
    args = parser.parse_args(argv)
    timing = {"repeats": args.repeats, "target_s": args.target_ms / 1000}

    torch = try_import_torch()
    print(f"ember op overhead, 64-element float32 tensors; {describe_machine(torch)}")
    print("microseconds per op, min of repeats\n")
    start = time.perf_counter()
    rng = np.random.default_rng(0)
    results = []
    for case in CASES:
        results.append((case.name, measure(case, torch, timing, rng)))

    fb_ratio, ng_ratio = {}, {}
    fb_rows, fwd_rows = [], []
    for name, r in results:
        e, t, n = r["ember"], r["torch"], r["numpy"]
        fb_ratio[name] = _ratio(e["fwd+bwd"], t.get("fwd+bwd"))
        ng_ratio[name] = _ratio(e["no_grad"], n["fwd"])
        fb_rows.append([
            name, _us(e["fwd+bwd"]), _us(t.get("fwd+bwd")), _us(n["fwd+bwd"]),
            fmt(fb_ratio[name]), fmt(_ratio(e["fwd+bwd"], n["fwd+bwd"])),
        ])
        fwd_rows.append([
            name, _us(e["no_grad"]), _us(e["inference"]), _us(t.get("no_grad")),
            _us(t.get("inference")), _us(n["fwd"]), fmt(ng_ratio[name]),
            fmt(_ratio(e["inference"], n["fwd"])), fmt(_ratio(e["no_grad"], t.get("no_grad"))),
        ])

    print("forward + backward (us)")
    print(table(["op", "ember", "torch", "numpy", "ember/torch", "ember/numpy"], fb_rows))
    print("\nforward only (us)")
    print(table(
        ["op", "ember no_grad", "ember inference", "torch no_grad", "torch inference",
         "numpy", "ng/numpy", "inf/numpy", "ng/torch ng"],
        fwd_rows,
    ))
    print()
    print(_summary("ember fwd+bwd / torch fwd+bwd", fb_ratio, FWD_BWD_TARGET))
    print(_summary("ember no_grad fwd / raw NumPy fwd", ng_ratio, NO_GRAD_TARGET))
    print(f"\n(total {time.perf_counter() - start:.1f} s)")


if __name__ == "__main__":
    main()
