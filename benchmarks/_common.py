"""Timing and reporting helpers shared by the benchmark scripts.

Timings are the minimum over several repeats of a calibrated inner loop, after a warmup:
the minimum is the figure least disturbed by other work on the machine. The garbage
collector stays on, because a library that leaves reference cycles should pay for them.
"""

from __future__ import annotations

import math
import os
import sys
import time
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager

_SRC = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "src")


def use_local_source() -> None:
    """Import ember from this checkout when it is not installed."""
    try:
        import ember  # noqa: F401
    except ImportError:
        sys.path.insert(0, _SRC)


def single_thread() -> None:
    """Pin BLAS/OpenMP to one thread; call before NumPy or torch is imported."""
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = "1"


def try_import_torch():
    """torch pinned to one thread, or None when it is not installed."""
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(1)
    return torch


def _calibrate(fn: Callable[[], object], target_s: float, warmup_s: float) -> int:
    """Warm `fn` up, then return how many calls take about `target_s`.

    The count is timed after the warmup, so one slow first call (lazy set-up in a
    library) does not shrink the loops to a single call.
    """
    clock = time.perf_counter
    n, start = 0, clock()
    while n < 3 or clock() - start < warmup_s:
        fn()
        n += 1
    n = 1
    while True:
        t0 = clock()
        for _ in range(n):
            fn()
        elapsed = clock() - t0
        if elapsed >= target_s / 4:
            return max(1, round(n * target_s / elapsed))
        n *= 2


def per_call(
    cases: dict[str, tuple[Callable[[], object], Callable[[], AbstractContextManager]]],
    *,
    repeats: int = 7,
    target_s: float = 0.02,
    warmup_s: float = 0.01,
) -> dict[str, float]:
    """Seconds per call of each `fn` in `{name: (fn, mode)}`: min over `repeats` loops.

    The cases take turns, one loop each per round, so a change in machine load affects
    them all alike. `mode` (e.g. `torch.no_grad`) is entered around each whole loop, so
    its entry cost is not counted per call.
    """
    clock = time.perf_counter
    loops = {}
    for name, (fn, mode) in cases.items():
        with mode():
            loops[name] = _calibrate(fn, target_s, warmup_s)
    best = dict.fromkeys(cases, math.inf)
    for _ in range(repeats):
        for name, (fn, mode) in cases.items():
            n = loops[name]
            with mode():
                t0 = clock()
                for _ in range(n):
                    fn()
                best[name] = min(best[name], (clock() - t0) / n)
    return best


def per_step(steps: dict[str, Callable[[], object]], *, rounds: int = 10,
             warmup: int = 2) -> dict[str, float]:
    """Seconds per call of each long-running `step` (a training step): min over `rounds`.

    The steps take turns, as in `per_call`.
    """
    for step in steps.values():
        for _ in range(warmup):
            step()
    best = dict.fromkeys(steps, math.inf)
    for _ in range(rounds):
        for name, step in steps.items():
            t0 = time.perf_counter()
            step()
            best[name] = min(best[name], time.perf_counter() - t0)
    return best


def geomean(values: Iterable[float]) -> float:
    vals = [v for v in values if v and v > 0 and math.isfinite(v)]
    if not vals:
        return math.nan
    return math.exp(sum(math.log(v) for v in vals) / len(vals))


def fmt(value: float | None, digits: int = 2) -> str:
    """A number for a table cell; '-' when it was not measured."""
    if value is None or not math.isfinite(value):
        return "-"
    return f"{value:.{digits}f}"


def verdict(value: float | None, target: float) -> str:
    if value is None or not math.isfinite(value):
        return "not measured"
    return "met" if value <= target else "NOT met"


def table(header: list[str], rows: list[list[str]]) -> str:
    """A plain fixed-width table: first column left-aligned, the rest right-aligned."""
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        first = cells[0].ljust(widths[0])
        rest = [c.rjust(w) for c, w in zip(cells[1:], widths[1:])]
        return "  ".join([first, *rest])

    sep = "  ".join("-" * w for w in widths)
    return "\n".join([line(header), sep, *(line(r) for r in rows)])


def describe_machine(torch=None) -> str:
    import platform

    import numpy as np

    parts = [f"python {platform.python_version()}", f"numpy {np.__version__}"]
    if torch is not None:
        parts.append(f"torch {torch.__version__} (1 thread)")
    else:
        parts.append("torch not installed")
    parts.append(platform.machine() or "unknown cpu")
    return ", ".join(parts)
