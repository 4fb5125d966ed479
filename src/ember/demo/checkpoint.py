"""Save model and optimizer state, load them into fresh objects, compare predictions."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

import ember
from ember import nn
from ember.optim import Optimizer

__all__ = ["save", "restore", "same_state"]

MODEL_FILE = "model.safetensors"
OPTIMIZER_FILE = "optimizer.safetensors"


def save(model: nn.Module, optimizer: Optimizer, out: Path) -> tuple[Path, Path]:
    paths = out / MODEL_FILE, out / OPTIMIZER_FILE
    ember.save(model.state_dict(), paths[0])
    ember.save(optimizer.state_dict(), paths[1])
    return paths


def restore(out: Path, make_model: Callable[[], nn.Module],
            make_optimizer: Callable[[nn.Module], Optimizer]) -> tuple[nn.Module, Optimizer]:
    """A fresh model and optimizer, built as the saved ones were, with the saved state."""
    model = make_model()
    model.load_state_dict(ember.load(out / MODEL_FILE))
    optimizer = make_optimizer(model)
    optimizer.load_state_dict(ember.load(out / OPTIMIZER_FILE))
    return model, optimizer


def same_state(a: Optimizer, b: Optimizer) -> bool:
    """Whether two optimizers hold equal options and bit-identical state tensors."""
    sa, sb = a.state_dict(), b.state_dict()
    if sa["param_groups"] != sb["param_groups"] or sa["state"].keys() != sb["state"].keys():
        return False
    for key, entry in sa["state"].items():
        other = sb["state"][key]
        if entry.keys() != other.keys():
            return False
        for name, value in entry.items():
            if isinstance(value, ember.Tensor):
                if not np.array_equal(value.numpy(), other[name].numpy()):
                    return False
            elif value != other[name]:
                return False
    return True
