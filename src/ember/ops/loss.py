"""Loss ops that PyTorch records as one node: NllLossBackward0, MseLossBackward0,
SmoothL1LossBackward0, HuberLossBackward0, BinaryCrossEntropyBackward0 and
BinaryCrossEntropyWithLogitsBackward0.

Inputs are checked by `ember.nn.functional`; these take valid arrays. `reduction` is
"none", "mean" or "sum". Targets of class indices and per-class weights are constants
(arguments, not inputs): like PyTorch, no gradient flows to them.
"""

from __future__ import annotations

import numpy as np

from .._tensor import Tensor
from ..autograd.grad_mode import _tracking
from ._define import Op, record, to_tensor, wrap
from .activation import _log1p, _softplus_np
from .elementwise import clamp, log, log1p, sigmoid, where

__all__ = [
    "nll_loss", "mse_loss", "smooth_l1_loss", "huber_loss", "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
]


def _reduce(loss: np.ndarray, reduction: str) -> np.ndarray:
    if reduction == "mean":
        return np.asarray(loss.mean(dtype=loss.dtype))
    if reduction == "sum":
        return np.asarray(loss.sum(dtype=loss.dtype))
    return loss


def _scale(g: Tensor, reduction: str, count: int) -> Tensor:
    """The incoming gradient of a reduced loss, per element."""
    return g / count if reduction == "mean" else g


def _call(cls: type[Op], inputs: tuple, args: tuple) -> Tensor:
    out = cls.forward(*(t._data if isinstance(t, Tensor) else t for t in inputs), *args)
    if _tracking.get() and any(isinstance(t, Tensor) and t._requires_grad for t in inputs):
        return record(cls, out, inputs, args)
    return wrap(out)


# ----- negative log likelihood ----------------------------------------------------------

def _nll_parts(dtype, target: np.ndarray, weight, ignore_index: int):
    """Per-position weights (0 where ignored) and target indices that are safe to gather."""
    keep = target != ignore_index
    safe = np.where(keep, target, 0)
    w = np.ones(safe.shape, dtype) if weight is None else weight[safe].astype(dtype)
    w *= keep
    return w, safe


def _class_index(safe: np.ndarray, x_ndim: int) -> np.ndarray:
    # Target (N, d1, ...) becomes (N, 1, d1, ...) to index the class dim 1 of the input.
    return safe.reshape(()) if x_ndim == 1 else np.expand_dims(safe, 1)


def _nll(x, target, weight, reduction, ignore_index):
    w, safe = _nll_parts(x.dtype, target, weight, ignore_index)
    if x.ndim == 1:
        picked = x[safe]
    else:
        picked = np.take_along_axis(x, _class_index(safe, x.ndim), axis=1).squeeze(1)
    loss = -(picked * w)
    if reduction == "none":
        return loss
    total = loss.sum(dtype=x.dtype)
    if reduction == "sum":
        return np.asarray(total)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.asarray(total / w.sum(dtype=x.dtype))


class NllLossBackward0(Op):
    """-x[n, target[n]] * weight[target[n]], reduced; ignored targets contribute 0."""

    needs = ((),)
    forward = staticmethod(_nll)

    def backward(self, g):
        target, weight, reduction, ignore_index = self.args
        shape, dtype = self._shapes[0]
        w, safe = _nll_parts(dtype, target, weight, ignore_index)
        if reduction == "mean":
            with np.errstate(invalid="ignore", divide="ignore"):
                w = w / w.sum(dtype=dtype)
        scatter = np.zeros(shape, dtype)
        if len(shape) == 1:
            scatter[safe] = -w
        else:
            np.put_along_axis(scatter, _class_index(safe, len(shape)),
                              -np.expand_dims(w, 1), axis=1)
        if reduction == "none" and len(shape) > 1:
            g = g.unsqueeze(1)
        return g * wrap(scatter)


def nll_loss(x: Tensor, target: np.ndarray, weight: np.ndarray | None, reduction: str,
             ignore_index: int) -> Tensor:
    """The op behind `nn.functional.nll_loss`; `target` is an integer array."""
    return _call(NllLossBackward0, (x,), (target, weight, reduction, ignore_index))


# ----- regression losses ----------------------------------------------------------------

def _mse(a, b, reduction):
    d = a - b
    d *= d
    return _reduce(d, reduction)


class MseLossBackward0(Op):
    needs = ((0, 1), (0, 1))
    forward = staticmethod(_mse)

    def backward(self, g):
        a, b, _ = self.saved_tensors
        diff = a - b
        ga = _scale(g, self.args[0], diff._data.size) * (2 * diff)
        need_a, need_b = self.needs_input_grad
        return (ga if need_a else None), (-ga if need_b else None)


def _smooth_l1(a, b, reduction, beta):
    d = np.abs(a - b)
    loss = np.where(d < beta, (0.5 / beta) * d * d, d - 0.5 * beta).astype(d.dtype, copy=False)
    return _reduce(loss, reduction)


class SmoothL1LossBackward0(Op):
    needs = ((0, 1), (0, 1))
    forward = staticmethod(_smooth_l1)

    def backward(self, g):
        a, b, _ = self.saved_tensors
        reduction, beta = self.args
        diff = a - b
        slope = where(diff.abs() < beta, diff / beta, diff.sign())
        ga = _scale(g, reduction, diff._data.size) * slope
        need_a, need_b = self.needs_input_grad
        return (ga if need_a else None), (-ga if need_b else None)


def _huber(a, b, reduction, delta):
    d = np.abs(a - b)
    loss = np.where(d < delta, 0.5 * d * d, delta * (d - 0.5 * delta)).astype(d.dtype, copy=False)
    return _reduce(loss, reduction)


class HuberLossBackward0(Op):
    needs = ((0, 1), (0, 1))
    forward = staticmethod(_huber)

    def backward(self, g):
        a, b, _ = self.saved_tensors
        reduction, delta = self.args
        diff = a - b
        slope = where(diff.abs() < delta, diff, delta * diff.sign())
        ga = _scale(g, reduction, diff._data.size) * slope
        need_a, need_b = self.needs_input_grad
        return (ga if need_a else None), (-ga if need_b else None)


def mse_loss(a: Tensor, b: Tensor, reduction: str) -> Tensor:
    return _call(MseLossBackward0, (a, b), (reduction,))


def smooth_l1_loss(a: Tensor, b: Tensor, reduction: str, beta: float) -> Tensor:
    return _call(SmoothL1LossBackward0, (a, b), (reduction, beta))


def huber_loss(a: Tensor, b: Tensor, reduction: str, delta: float) -> Tensor:
    return _call(HuberLossBackward0, (a, b), (reduction, delta))


# ----- binary cross entropy -------------------------------------------------------------

def _bce(x, t, reduction, weight):
    if x.size and (x.min() < 0 or x.max() > 1):
        raise RuntimeError("all elements of input should be between 0 and 1")
    with np.errstate(divide="ignore"):
        log_x = np.maximum(np.log(x), -100)
        log_1mx = np.maximum(_log1p(-x), -100)
    loss = -(t * log_x + (1 - t) * log_1mx)
    if weight is not None:
        loss = loss * weight
    return _reduce(loss.astype(x.dtype, copy=False), reduction)


class BinaryCrossEntropyBackward0(Op):
    needs = ((0, 1), (0,))
    forward = staticmethod(_bce)

    def backward(self, g):
        x, t, _ = self.saved_tensors
        reduction, weight = self.args
        g = _scale(g, reduction, x._data.size)
        if weight is not None:
            g = g * wrap(weight)
        need_x, need_t = self.needs_input_grad
        gx = gt = None
        if need_x:
            gx = g * (x - t) / clamp((1 - x) * x, min=1e-12)
        if need_t:
            gt = g * (clamp(log1p(-x), min=-100) - clamp(log(x), min=-100))
        return gx, gt


def _bce_logits(x, t, reduction, weight, pos_weight):
    sp = _softplus_np(-x)
    if pos_weight is not None:
        sp = sp * (1 + (pos_weight - 1) * t)
    loss = (1 - t) * x + sp
    if weight is not None:
        loss = loss * weight
    return _reduce(loss.astype(x.dtype, copy=False), reduction)


class BinaryCrossEntropyWithLogitsBackward0(Op):
    needs = ((0, 1), (0, 1))
    forward = staticmethod(_bce_logits)

    def backward(self, g):
        x, t, _ = self.saved_tensors
        reduction, weight, pos_weight = self.args
        g = _scale(g, reduction, x._data.size)
        if weight is not None:
            g = g * wrap(weight)
        need_x, need_t = self.needs_input_grad
        gx = gt = None
        if pos_weight is None:
            if need_x:
                gx = g * (sigmoid(x) - t)
            if need_t:
                gt = -g * x
        else:
            pw = wrap(pos_weight)
            if need_x:
                gx = g * ((1 - t) - (1 + (pw - 1) * t) * sigmoid(-x))
            if need_t:
                sp = clamp(-x, min=0) + log1p((-x.abs()).exp())
                gt = g * ((pw - 1) * sp - x)
        return gx, gt


def binary_cross_entropy(x: Tensor, t: Tensor, reduction: str,
                         weight: np.ndarray | None) -> Tensor:
    return _call(BinaryCrossEntropyBackward0, (x, to_tensor(t)), (reduction, weight))


def binary_cross_entropy_with_logits(x: Tensor, t: Tensor, reduction: str,
                                     weight: np.ndarray | None,
                                     pos_weight: np.ndarray | None) -> Tensor:
    return _call(BinaryCrossEntropyWithLogitsBackward0, (x, to_tensor(t)),
                 (reduction, weight, pos_weight))
