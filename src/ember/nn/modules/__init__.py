"""The layers of `ember.nn`."""

from __future__ import annotations

import importlib

from .activation import *  # noqa: F403
from .activation import __all__ as _activation_all
from .container import *  # noqa: F403
from .container import __all__ as _container_all
from .dropout import *  # noqa: F403
from .dropout import __all__ as _dropout_all
from .flatten import *  # noqa: F403
from .flatten import __all__ as _flatten_all
from .linear import *  # noqa: F403
from .linear import __all__ as _linear_all
from .loss import *  # noqa: F403
from .loss import __all__ as _loss_all
from .module import Module

__all__ = [
    "Module", *_activation_all, *_container_all, *_dropout_all, *_flatten_all, *_linear_all,
    *_loss_all,
]

for _name in ("conv", "pooling", "normalization", "sparse", "padding", "rnn", "attention",
              "transformer"):
    _module = importlib.import_module(f"{__name__}.{_name}")
    for _attr in _module.__all__:
        globals()[_attr] = getattr(_module, _attr)
        __all__.append(_attr)
