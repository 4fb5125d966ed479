"""One helper checks an op both ways: finite differences (float64) and torch as oracle.

Usage, one line per op: `check_op(lambda lib, a, b: a * b, (3, 4), (4,))`, where `lib`
is `ember` or `torch` and the tensors come from the same random arrays.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

import ember
from ember.autograd import gradcheck, gradgradcheck

try:  # the oracle is optional: tests skip it cleanly when torch is absent
    import torch
except ImportError:  # pragma: no cover - CI installs torch
    torch = None


def make_arrays(shapes: Sequence, seed: int = 0, low: float = -2.0, high: float = 2.0,
                positive: bool = False) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    arrays = []
    for s in shapes:
        if isinstance(s, np.ndarray):
            arrays.append(s.astype(np.float64))
            continue
        a = rng.uniform(low, high, size=s)
        if positive:
            a = np.abs(a) + 0.5
        arrays.append(a)
    return arrays


def _outs(x):
    return x if isinstance(x, tuple) else (x,)


def check_op(
    fn: Callable,
    *shapes,
    seed: int = 0,
    low: float = -2.0,
    high: float = 2.0,
    positive: bool = False,
    grad: bool = True,
    second_order: bool = True,
    atol: float = 1e-5,
    rtol: float = 1e-4,
    oracle: bool = True,
) -> None:
    """Gradcheck `fn` in float64 (and its double backward), then compare forward and
    gradients in float32 with torch 2.13 when torch is installed."""
    arrays = make_arrays(shapes, seed, low, high, positive)
    if grad:
        inputs = [ember.tensor(a, dtype=ember.float64, requires_grad=True) for a in arrays]
        assert gradcheck(lambda *xs: fn(ember, *xs), inputs)
        if second_order:
            assert gradgradcheck(lambda *xs: fn(ember, *xs), inputs)
    if oracle and torch is not None:
        compare_with_torch(fn, arrays, grad=grad, atol=atol, rtol=rtol)


def compare_with_torch(fn: Callable, arrays: Sequence[np.ndarray], grad: bool = True,
                       atol: float = 1e-5, rtol: float = 1e-4) -> None:
    e_in = [ember.tensor(a, dtype=ember.float32, requires_grad=grad) for a in arrays]
    t_in = [torch.tensor(a, dtype=torch.float32, requires_grad=grad) for a in arrays]
    e_out, t_out = _outs(fn(ember, *e_in)), _outs(fn(torch, *t_in))
    assert len(e_out) == len(t_out)
    for e, t in zip(e_out, t_out):
        assert tuple(e.shape) == tuple(t.shape), (e.shape, t.shape)
        np.testing.assert_allclose(e.detach().numpy(), t.detach().numpy(), atol=atol, rtol=rtol)
    if not grad:
        return
    rng = np.random.default_rng(1)
    probes = [rng.standard_normal(tuple(t.shape)).astype(np.float32) for t in t_out]
    e_loss = sum((e * ember.tensor(p)).sum() for e, p in zip(e_out, probes) if e.requires_grad)
    t_loss = sum((t * torch.tensor(p)).sum() for t, p in zip(t_out, probes) if t.requires_grad)
    if isinstance(t_loss, int):
        return
    e_loss.backward()
    t_loss.backward()
    for e, t in zip(e_in, t_in):
        if t.grad is None:
            assert e.grad is None or not np.any(e.grad.numpy())
            continue
        assert e.grad is not None
        np.testing.assert_allclose(e.grad.numpy(), t.grad.numpy(), atol=atol * 10, rtol=rtol * 10)


def grad_fn_name(t) -> str | None:
    return None if t.grad_fn is None else type(t.grad_fn).__name__
