"""Adagrad: steps scaled by the root of the summed squared gradients."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from .._tensor import _make
from .optimizer import Optimizer, _check, _count_step, _direction, _new_step

__all__ = ["Adagrad"]


class Adagrad(Optimizer):
    """`s += d**2; p -= clr * d / (sqrt(s) + eps)` with `clr = lr / (1 + (t - 1) * lr_decay)`.

    As in PyTorch, every parameter gets its state (`step`, `sum`) at construction.
    """

    def __init__(self, params: Iterable, lr: float = 1e-2, lr_decay: float = 0,
                 weight_decay: float = 0, initial_accumulator_value: float = 0,
                 eps: float = 1e-10, foreach: bool | None = None, *, maximize: bool = False,
                 fused: bool | None = None) -> None:
        _check("learning rate", lr)
        _check("lr_decay value", lr_decay)
        _check("weight_decay value", weight_decay)
        _check("initial_accumulator_value value", initial_accumulator_value)
        _check("epsilon value", eps)
        defaults = dict(lr=lr, lr_decay=lr_decay, eps=eps, weight_decay=weight_decay,
                        initial_accumulator_value=initial_accumulator_value, maximize=maximize)
        super().__init__(params, defaults)
        for group in self.param_groups:
            for p in group["params"]:
                _init_state(self.state[p], p._data, group["initial_accumulator_value"])

    def _update_group(self, group: dict[str, Any]) -> None:
        lr = float(group["lr"])
        lr_decay = float(group["lr_decay"])
        eps = float(group["eps"])
        weight_decay = float(group["weight_decay"])
        maximize = group["maximize"]
        state = self.state
        for p in group["params"]:
            grad = p._grad
            if grad is None:
                continue
            x = p._data
            st = state[p]
            if not st:  # a parameter added with add_param_group
                _init_state(st, x, group["initial_accumulator_value"])
            step = _count_step(st)
            d = _direction(x, grad._data, weight_decay, maximize)
            s = st["sum"]._data
            buf = np.multiply(d, d)
            s += buf
            np.sqrt(s, out=buf)
            buf += eps
            np.divide(d, buf, out=buf)
            buf *= lr / (1.0 + (step - 1.0) * lr_decay)
            x -= buf
            p._bump_version()


def _init_state(st: dict, x: np.ndarray, initial: float) -> None:
    st["step"] = _new_step()
    st["sum"] = _make(np.full_like(x, initial), False, None)
