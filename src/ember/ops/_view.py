"""View ops: results that share memory and the version counter with their input."""

from __future__ import annotations

import numpy as np

from .._tensor import _INFERENCE, Tensor
from ..autograd.grad_mode import _INFERENCE_MODES, _mode
from ._define import Op, record

__all__ = ["view_op", "is_view_of"]

_new = object.__new__


def _as_view(out: Tensor, base: Tensor) -> Tensor:
    out._base = base._base if base._base is not None else base
    vc = base._vc
    # Views share the base's counter; a view of an inference tensor is one too, while a
    # view of a normal tensor taken inside inference_mode stays normal (as in PyTorch).
    out._vc = vc if vc is not None else base._new_vc()
    return out


def is_view_of(out: np.ndarray, x: np.ndarray) -> bool:
    """Whether NumPy returned a view of `x` (cheap: NumPy points a view at the owner)."""
    owner = out.base
    if owner is None:
        return out.size == 0
    return owner is x or owner is x.base or out.size == 0 or np.may_share_memory(out, x)


def view_op(cls: type[Op]):
    """Like `unary`, for ops whose NumPy forward always returns a view of the input."""
    fwd = cls.forward
    mode = _mode.get

    def op(x: Tensor, *args):
        out = fwd(x._data, *args)
        code = mode()
        if code == 0 and x._requires_grad:
            t = record(cls, out, (x,), args)
        else:
            t = _new(Tensor)
            t._data = out
            if code >= _INFERENCE_MODES:
                t._vc = _INFERENCE
        return _as_view(t, x)

    op.__name__ = op.__qualname__ = cls.__name__.replace("Backward0", "").lower()
    return op
