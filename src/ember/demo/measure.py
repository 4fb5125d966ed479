"""What recording a graph costs: one evaluation timed and traced in each grad mode."""

from __future__ import annotations

import time
import tracemalloc
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass

import ember
from ember import nn
from ember.autograd.graph import saved_bytes

__all__ = ["REPEATS", "FROZEN_ROW", "Cost", "all_trainable", "measure", "table"]

REPEATS = 5
FROZEN_ROW = "grad, frozen features"
# name: (make every parameter trainable?, grad mode)
RUNS = {
    "grad enabled": (True, nullcontext),
    FROZEN_ROW: (False, nullcontext),
    "no_grad": (False, ember.no_grad),
    "inference_mode": (False, ember.inference_mode),
}


@dataclass(frozen=True)
class Cost:
    ms: float
    peak_mib: float
    graph_bytes: int  # what the output's graph keeps for backward (saved_bytes)


@contextmanager
def all_trainable(model: nn.Module) -> Iterator[nn.Module]:
    """Every parameter requires grad inside the block; the flags are restored after."""
    flags = [(p, p.requires_grad) for p in model.parameters()]
    model.requires_grad_(True)
    try:
        yield model
    finally:
        for p, flag in flags:
            p.requires_grad_(flag)


def _classify(model: nn.Module, images: ember.Tensor, mode) -> ember.Tensor:
    with mode():
        logits = model(images)
        logits.argmax(1)
    return logits


def _traced(model: nn.Module, images: ember.Tensor, mode) -> tuple[float, int]:
    """(tracemalloc peak in MiB, graph bytes) of one classification."""
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        logits = _classify(model, images, mode)
        peak = tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
    return peak / 2**20, saved_bytes(logits)


def measure(model: nn.Module, images: ember.Tensor) -> dict[str, Cost]:
    """Time (best of `REPEATS`), tracemalloc peak and graph size of classifying `images`
    in eval mode: grad enabled with every parameter trainable, grad enabled with the
    model's own flags (frozen features), `no_grad` and `inference_mode`."""
    model.eval()
    best = dict.fromkeys(RUNS, float("inf"))
    traced = {}
    # Each round runs every mode once, so a burst of load on a shared machine slows all
    # modes alike; round 0 warms up and traces memory.
    for rnd in range(REPEATS + 1):
        for name, (trainable, mode) in RUNS.items():
            with all_trainable(model) if trainable else nullcontext():
                if rnd == 0:
                    _classify(model, images, mode)
                    traced[name] = _traced(model, images, mode)
                    continue
                t0 = time.perf_counter()
                _classify(model, images, mode)
                best[name] = min(best[name], time.perf_counter() - t0)
    model.train()
    return {name: Cost(best[name] * 1e3, *traced[name]) for name in RUNS}


def table(costs: dict[str, Cost]) -> list[str]:
    """Rows of time, peak memory and graph size per mode, relative to grad enabled."""
    ref = costs["grad enabled"]
    rows = [f"{'mode':<23}{'time ms':>9}{'peak MiB':>10}{'graph MiB':>11}{'time vs grad':>14}"
            f"{'memory vs grad':>16}"]
    for name, c in costs.items():
        rows.append(f"{name:<23}{c.ms:>9.1f}{c.peak_mib:>10.1f}{c.graph_bytes / 2**20:>11.1f}"
                    f"{c.ms / ref.ms:>13.2f}x{c.peak_mib / ref.peak_mib:>15.2f}x")
    return rows
