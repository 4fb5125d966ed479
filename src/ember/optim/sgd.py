"""Stochastic gradient descent, with optional momentum, Nesterov momentum and L2 decay."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from .._tensor import _make
from .optimizer import Optimizer, _check, _direction

__all__ = ["SGD"]


class SGD(Optimizer):
    """`p -= lr * d`, where `d` is the gradient (plus `weight_decay * p`), or its momentum
    buffer `b = momentum * b + (1 - dampening) * d` (Nesterov: `d + momentum * b`)."""

    def __init__(self, params: Iterable, lr: float = 1e-3, momentum: float = 0,
                 dampening: float = 0, weight_decay: float = 0, nesterov: bool = False, *,
                 maximize: bool = False, foreach: bool | None = None,
                 fused: bool | None = None) -> None:
        # foreach/fused only pick a kernel in PyTorch; ember has one vectorized path.
        _check("learning rate", lr)
        _check("momentum value", momentum)
        _check("weight_decay value", weight_decay)
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening,
                        weight_decay=weight_decay, nesterov=nesterov, maximize=maximize)
        super().__init__(params, defaults)

    def _update_group(self, group: dict[str, Any]) -> None:
        lr = float(group["lr"])
        momentum = float(group["momentum"])
        keep = 1.0 - float(group["dampening"])
        weight_decay = float(group["weight_decay"])
        nesterov = group["nesterov"]
        maximize = group["maximize"]
        state = self.state
        for p in group["params"]:
            grad = p._grad
            if grad is None:
                continue
            x = p._data
            d = _direction(x, grad._data, weight_decay, maximize)
            if momentum:
                st = state[p]
                buf = st.get("momentum_buffer")
                if buf is None:
                    buf = st["momentum_buffer"] = _make(np.array(d, copy=True), False, None)
                    b = buf._data
                else:
                    b = buf._data
                    b *= momentum
                    if keep == 1.0:
                        b += d
                    else:
                        b += keep * d
                if nesterov:
                    d = d + momentum * b
                else:
                    d = b
            x -= lr * d
            p._bump_version()
