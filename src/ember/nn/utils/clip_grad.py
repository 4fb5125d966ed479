"""Gradient clipping: by global norm and by value, in place on `.grad`."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from ..._tensor import Tensor, _make

__all__ = ["get_total_norm", "clip_grads_with_norm_", "clip_grad_norm_", "clip_grad_value_"]

_INF = float("inf")


def _tensors(tensors: Tensor | Iterable[Tensor]) -> list[Tensor]:
    return [tensors] if isinstance(tensors, Tensor) else list(tensors)


def _grads(parameters: Tensor | Iterable[Tensor]) -> list[Tensor]:
    return [p._grad for p in _tensors(parameters) if p._grad is not None]


def _norm(a: np.ndarray, p: float) -> float:
    if p == 2.0:
        flat = a.ravel()
        return float(np.sqrt(np.vdot(flat, flat)))
    if not a.size:
        return 0.0
    return float(np.linalg.vector_norm(a, ord=p))


def get_total_norm(tensors: Tensor | Iterable[Tensor], norm_type: float = 2.0,
                   error_if_nonfinite: bool = False, foreach=None) -> Tensor:
    """The norm of all `tensors` taken together (the norm of their norms), as a 0-dim
    tensor of their dtype; `tensor(0.)` when there are none."""
    tensors = _tensors(tensors)
    p = float(norm_type)
    if not tensors:
        return _make(np.asarray(0.0, np.float32))
    dtype = tensors[0]._data.dtype
    norms = np.array([_norm(t._data, p) for t in tensors])
    total = np.asarray(_norm(norms, p), dtype)
    if error_if_nonfinite and not np.isfinite(total):
        raise RuntimeError(
            f"The total norm of order {p} for gradients from `parameters` is non-finite, so "
            "it cannot be clipped. To disable this error and scale the gradients by the "
            "non-finite norm anyway, set `error_if_nonfinite=False`"
        )
    return _make(total)


def clip_grads_with_norm_(parameters: Tensor | Iterable[Tensor], max_norm: float,
                          total_norm: Tensor, foreach=None) -> None:
    """Scale the grads in place by min(max_norm / (total_norm + 1e-6), 1)."""
    grads = _grads(parameters)
    if not grads:
        return
    total = total_norm._data
    coef = np.minimum(np.asarray(max_norm, total.dtype) / (total + total.dtype.type(1e-6)), 1)
    for g in grads:
        np.multiply(g._data, coef.astype(g._data.dtype), out=g._data)
        g._bump_version()


def clip_grad_norm_(parameters: Tensor | Iterable[Tensor], max_norm: float,
                    norm_type: float = 2.0, error_if_nonfinite: bool = False,
                    foreach=None) -> Tensor:
    """Clip the global gradient norm of `parameters` to `max_norm`, in place.

    Returns the total norm before clipping (0-dim tensor). Parameters without a grad are
    skipped; grads below the limit are left as they are.
    """
    parameters = _tensors(parameters)
    total = get_total_norm(_grads(parameters), norm_type, error_if_nonfinite)
    clip_grads_with_norm_(parameters, max_norm, total)
    return total


def clip_grad_value_(parameters: Tensor | Iterable[Tensor], clip_value: float,
                     foreach=None) -> None:
    """Clamp every gradient element to [-clip_value, clip_value], in place."""
    clip_value = float(clip_value)
    for g in _grads(parameters):
        np.clip(g._data, -clip_value, clip_value, out=g._data)
        g._bump_version()
