"""RMSprop: steps scaled by a running average of squared gradients."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from .._tensor import _make
from .optimizer import Optimizer, _check, _count_step, _direction, _new_step

__all__ = ["RMSprop"]


class RMSprop(Optimizer):
    """`p -= lr * d / (sqrt(avg(d**2)) + eps)`; `centered` subtracts the squared running
    mean of `d` under the root, `momentum` accumulates the scaled steps."""

    def __init__(self, params: Iterable, lr: float = 1e-2, alpha: float = 0.99,
                 eps: float = 1e-8, weight_decay: float = 0, momentum: float = 0,
                 centered: bool = False, foreach: bool | None = None, maximize: bool = False
                 ) -> None:
        _check("learning rate", lr)
        _check("epsilon value", eps)
        _check("momentum value", momentum)
        _check("weight_decay value", weight_decay)
        _check("alpha value", alpha)
        defaults = dict(lr=lr, momentum=momentum, alpha=alpha, eps=eps, centered=centered,
                        weight_decay=weight_decay, maximize=maximize)
        super().__init__(params, defaults)

    def _update_group(self, group: dict[str, Any]) -> None:
        lr = float(group["lr"])
        alpha = float(group["alpha"])
        eps = float(group["eps"])
        weight_decay = float(group["weight_decay"])
        momentum = float(group["momentum"])
        centered = group["centered"]
        maximize = group["maximize"]
        state = self.state
        for p in group["params"]:
            grad = p._grad
            if grad is None:
                continue
            x = p._data
            st = state[p]
            if not st:
                st["step"] = _new_step()
                st["square_avg"] = _make(np.zeros_like(x), False, None)
            _count_step(st)
            d = _direction(x, grad._data, weight_decay, maximize)
            sq = st["square_avg"]._data
            buf = np.multiply(d, d)
            buf *= 1.0 - alpha
            sq *= alpha
            sq += buf
            if centered:
                mean = _buffer(st, "grad_avg", x)
                np.subtract(d, mean, out=buf)
                buf *= 1.0 - alpha
                mean += buf
                np.multiply(mean, mean, out=buf)
                np.subtract(sq, buf, out=buf)
                np.sqrt(buf, out=buf)
            else:
                np.sqrt(sq, out=buf)
            buf += eps
            np.divide(d, buf, out=buf)
            if momentum > 0:
                mom = _buffer(st, "momentum_buffer", x)
                mom *= momentum
                mom += buf
                np.multiply(mom, lr, out=buf)
            else:
                buf *= lr
            x -= buf
            p._bump_version()


def _buffer(st: dict, key: str, like: np.ndarray) -> np.ndarray:
    t = st.get(key)
    if t is None:
        t = st[key] = _make(np.zeros_like(like), False, None)
    return t._data
