"""Automatic differentiation: the engine, grad modes, custom Functions and checks.

Only `grad_mode` is imported eagerly (the Tensor class needs it); the rest loads on
first use, so that `ember._tensor` can import the grad-mode flags without a cycle.
"""

from importlib import import_module

from .grad_mode import (
    enable_grad,
    inference_mode,
    is_grad_enabled,
    is_inference_mode_enabled,
    no_grad,
    set_grad_enabled,
)

_LAZY = {
    "backward": ("engine", "backward"),
    "grad": ("engine", "grad"),
    "Node": ("graph", "Node"),
    "Function": ("function", "Function"),
    "gradcheck": ("gradcheck", "gradcheck"),
    "gradgradcheck": ("gradcheck", "gradgradcheck"),
    "detect_anomaly": ("anomaly", "detect_anomaly"),
    "set_detect_anomaly": ("anomaly", "set_detect_anomaly"),
    "is_anomaly_enabled": ("anomaly", "is_anomaly_enabled"),
    "graph": ("graph", None),
}

__all__ = [
    "no_grad", "enable_grad", "set_grad_enabled", "inference_mode", "is_grad_enabled",
    "is_inference_mode_enabled", *_LAZY,
]


def __getattr__(name: str):
    if name in _LAZY:
        module, attr = _LAZY[name]
        value = import_module(f".{module}", __name__)
        if attr is not None:
            value = getattr(value, attr)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
