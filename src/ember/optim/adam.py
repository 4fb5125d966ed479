"""Adam: per-parameter steps from bias-corrected running moments of the gradient."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np

from .._tensor import _make
from .optimizer import Optimizer, _check, _count_step, _direction, _new_step

__all__ = ["Adam"]


class Adam(Optimizer):
    """Adam (Kingma & Ba). `weight_decay` is an L2 term added to the gradient, unless
    `decoupled_weight_decay=True`, which shrinks the weights directly as AdamW does;
    `amsgrad` keeps the running maximum of the second moment."""

    def __init__(self, params: Iterable, lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, amsgrad: bool = False, *, maximize: bool = False,
                 decoupled_weight_decay: bool = False, foreach: bool | None = None,
                 fused: bool | None = None) -> None:
        _check("learning rate", lr)
        _check("epsilon value", eps)
        _check("beta parameter at index 0", betas[0], 1.0)
        _check("beta parameter at index 1", betas[1], 1.0)
        _check("weight_decay value", weight_decay)
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                        amsgrad=amsgrad, maximize=maximize,
                        decoupled_weight_decay=decoupled_weight_decay)
        super().__init__(params, defaults)

    def _update_group(self, group: dict[str, Any]) -> None:
        lr = float(group["lr"])
        beta1, beta2 = (float(b) for b in group["betas"])
        eps = float(group["eps"])
        weight_decay = float(group["weight_decay"])
        decoupled = group.get("decoupled_weight_decay", False)
        amsgrad = group["amsgrad"]
        maximize = group["maximize"]
        state = self.state
        for p in group["params"]:
            grad = p._grad
            if grad is None:
                continue
            x = p._data
            st = state[p]
            if not st:
                _init_state(st, x, amsgrad)
            step = _count_step(st)
            if decoupled:
                if weight_decay:
                    x *= 1.0 - lr * weight_decay
                d = np.negative(grad._data) if maximize else grad._data
            else:
                d = _direction(x, grad._data, weight_decay, maximize)
            m = st["exp_avg"]._data
            v = st["exp_avg_sq"]._data
            buf = np.subtract(d, m)  # m moves toward d: m += (1 - beta1) * (d - m)
            buf *= 1.0 - beta1
            m += buf
            np.multiply(d, d, out=buf)
            buf *= 1.0 - beta2
            v *= beta2
            v += buf
            if amsgrad:
                if "max_exp_avg_sq" not in st:  # amsgrad switched on after the first step
                    st["max_exp_avg_sq"] = _make(np.zeros_like(x), False, None)
                vmax = st["max_exp_avg_sq"]._data
                np.maximum(vmax, v, out=vmax)
                v = vmax
            step_size = lr / (1.0 - beta1 ** step)
            np.sqrt(v, out=buf)
            buf /= math.sqrt(1.0 - beta2 ** step)
            buf += eps
            np.divide(m, buf, out=buf)
            buf *= step_size
            x -= buf
            p._bump_version()


def _init_state(st: dict, x: np.ndarray, amsgrad: bool) -> None:
    st["step"] = _new_step()
    st["exp_avg"] = _make(np.zeros_like(x), False, None)
    st["exp_avg_sq"] = _make(np.zeros_like(x), False, None)
    if amsgrad:
        st["max_exp_avg_sq"] = _make(np.zeros_like(x), False, None)
