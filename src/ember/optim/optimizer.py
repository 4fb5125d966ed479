"""The Optimizer base class: parameter groups, per-parameter state and state_dict.

Subclasses implement `_update_group(group)`, which applies one step to the parameters
of a group. Updates work directly on the NumPy arrays of parameters and gradients, in
place, so they record no graph; each updated parameter's version counter is bumped so
that a backward through a graph that saved the old value fails loudly.
"""

from __future__ import annotations

import copy
import warnings
from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from .._tensor import Tensor, _make, tensor_type_name
from ..autograd.grad_mode import enable_grad

__all__ = ["Optimizer", "required"]


class _Required:
    """Marks an option that every parameter group must set (no default)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "<required parameter>"


required = _Required()


def _typename(obj: Any) -> str:
    if isinstance(obj, Tensor):
        return tensor_type_name(obj._data.dtype)
    kind = type(obj)
    return kind.__name__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__name__}"


class Optimizer:
    """Base class of all optimizers.

    `params` is an iterable of tensors, of `(name, tensor)` pairs, or of dicts that each
    define a parameter group (`{"params": [...], "lr": ...}`); options missing from a
    group take the values in `defaults`.
    """

    def __init__(self, params: Iterable, defaults: dict[str, Any]) -> None:
        self.defaults = defaults
        self.state: defaultdict[Tensor, dict] = defaultdict(dict)
        self.param_groups: list[dict[str, Any]] = []
        if isinstance(params, Tensor):
            raise TypeError(
                "params argument given to the optimizer should be an iterable of Tensors or "
                f"dicts, but got {_typename(params)}"
            )
        groups = list(params)
        if not groups:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    # ----- parameter groups ------------------------------------------------------------
    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group of parameters with its own options (e.g. a layer unfrozen later)."""
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group).__name__}")
        params = param_group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, set):
            raise TypeError(
                "optimizer parameters need to be organized in ordered collections, but the "
                "ordering of tensors in sets will change between runs. Please use a list instead."
            )
        else:
            params = list(params)
        names = [p[0] for p in params if isinstance(p, tuple)]
        if names:
            if len(names) != len(params):
                raise ValueError(
                    "all optimizer params should be with/without names. Some param names are "
                    "missing"
                )
            params = [p[1] for p in params]
            param_group["param_names"] = names
        param_group["params"] = params
        for p in params:
            if not isinstance(p, Tensor):
                raise TypeError(
                    f"optimizer can only optimize Tensors, but one of the params is {_typename(p)}"
                )
            if p._grad_fn is not None and not p.retains_grad:
                raise ValueError("can't optimize a non-leaf Tensor")
        for name, default in self.defaults.items():
            if default is required and name not in param_group:
                raise ValueError(
                    "parameter group didn't specify a value of required optimization parameter "
                    f"{name}"
                )
            param_group.setdefault(name, default)
        ids = {id(p) for p in params}
        if len(ids) != len(params):
            warnings.warn(
                "optimizer contains a parameter group with duplicate parameters; in future, "
                "this will cause an error",
                UserWarning,
                stacklevel=3,
            )
        for group in self.param_groups:
            if ("param_names" in group) != ("param_names" in param_group):
                which = "with names" if "param_names" in param_group else "without names"
                raise ValueError(
                    "all optimizer param groups should be with/without names. cannot add param "
                    f"group {which} to the optimizer"
                )
            if any(id(p) in ids for p in group["params"]):
                raise ValueError("some parameters appear in more than one parameter group")
        self.param_groups.append(param_group)

    # ----- gradients and steps ---------------------------------------------------------
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset the gradients: drop them (default) or fill them with zeros in place."""
        for group in self.param_groups:
            for p in group["params"]:
                g = p._grad
                if g is None:
                    continue
                if set_to_none:
                    p._grad = None
                    continue
                if g._grad_fn is not None:
                    g.detach_()
                g._requires_grad = False
                if g._data.flags.writeable:
                    g._data.fill(0)
                    g._bump_version()
                else:
                    p._grad = _make(np.zeros_like(p._data), False, None)

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Update every parameter that has a gradient; return the closure's loss, if any."""
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        for group in self.param_groups:
            self._update_group(group)
        self._opt_called = True
        return loss

    def _update_group(self, group: dict[str, Any]) -> None:
        raise NotImplementedError

    # ----- saving and loading ----------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """`{'state': {index: {...}}, 'param_groups': [{..., 'params': [indices]}]}`.

        Parameters are numbered in the order they appear across groups; state values are
        the live tensors (copy them, or save to disk, to keep a snapshot).
        """
        index: dict[int, int] = {}
        groups = []
        for group in self.param_groups:
            packed = {k: v for k, v in group.items() if k != "params"}
            for p in group["params"]:
                index.setdefault(id(p), len(index))
            packed["params"] = [index[id(p)] for p in group["params"]]
            groups.append(packed)
        state = {
            (index[id(k)] if isinstance(k, Tensor) else k): v for k, v in self.state.items()
        }
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore options and state saved by `state_dict`; state tensors are copied."""
        saved_groups = copy.deepcopy(state_dict["param_groups"])
        if len(saved_groups) != len(self.param_groups):
            raise ValueError("loaded state dict has a different number of parameter groups")
        if any(len(g["params"]) != len(s["params"])
               for g, s in zip(self.param_groups, saved_groups)):
            raise ValueError(
                "loaded state dict contains a parameter group that doesn't match the size of "
                "optimizer's group"
            )
        id_map = {}
        for group, saved in zip(self.param_groups, saved_groups):
            id_map.update(zip(saved["params"], group["params"]))
        state: defaultdict[Any, dict] = defaultdict(dict)
        for key, value in state_dict["state"].items():
            param = id_map.get(key)
            if param is None:
                state[key] = value
            else:
                state[param] = {k: _copy_state(param, v, k) for k, v in value.items()}
        for group, saved in zip(self.param_groups, saved_groups):
            saved["params"] = group["params"]
            if "param_names" in group and "param_names" not in saved:
                saved["param_names"] = group["param_names"]
            for name, default in self.defaults.items():
                saved.setdefault(name, default)
        self.state = state
        self.param_groups = saved_groups

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines.extend(f"    {k}: {group[k]}" for k in sorted(group) if k != "params")
        lines.append(")")
        return "\n".join(lines)


def _copy_state(param: Tensor, value: Any, key: Any = None) -> Any:
    """A deep copy of one state entry; floating tensors take the parameter's dtype
    (except the step count, which keeps its own)."""
    if isinstance(value, Tensor):
        arr = value._data
        if key != "step" and param._data.dtype.kind == "f" and arr.dtype.kind == "f":
            return _make(arr.astype(param._data.dtype, copy=True), False, None)
        return _make(arr.copy(), False, None)
    if isinstance(value, dict):
        return {k: _copy_state(param, v, k) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_copy_state(param, v) for v in value)
    return value


# ----- helpers shared by the update rules ----------------------------------------------
def _direction(p: np.ndarray, g: np.ndarray, weight_decay: float, maximize: bool) -> np.ndarray:
    """The gradient with `maximize` and L2 weight decay applied, never writing into `g`."""
    if weight_decay:
        d = np.multiply(p, weight_decay)
        if maximize:
            d -= g
        else:
            d += g
        return d
    return np.negative(g) if maximize else g


def _count_step(state: dict) -> float:
    """Advance the per-parameter step counter (a 0-dim float32 tensor) and return it."""
    step = state["step"]._data
    step += 1
    return float(step)


def _new_step() -> Tensor:
    return _make(np.zeros((), np.float32), False, None)


def _check(label: str, value: float, upper: float | None = None) -> None:
    """Raise PyTorch's ValueError for an option outside [0, upper)."""
    if not (value >= 0.0 and (upper is None or value < upper)):
        raise ValueError(f"Invalid {label}: {value}")
