"""View ops: results that share memory and the version counter with their input."""

from __future__ import annotations

import numpy as np

from .._tensor import Tensor, _make
from ..autograd.grad_mode import _tracking
from ._define import Op, record

__all__ = ["view_op"]


def _as_view(out: Tensor, base: Tensor) -> Tensor:
    out._base = base._base if base._base is not None else base
    out._vc = base._new_vc()
    return out


def view_op(cls: type[Op]):
    """Like `unary`, for ops whose NumPy forward returns a view of the input."""
    fwd = cls.forward

    def op(x: Tensor, *args):
        out = fwd(x._data, *args)
        if x._requires_grad and _tracking.get():
            t = record(cls, out, (x,), args)
        else:
            t = _make(out if type(out) is np.ndarray else np.asarray(out), False, None)
        if np.may_share_memory(t._data, x._data):
            _as_view(t, x)
        return t

    op.__name__ = op.__qualname__ = cls.__name__.replace("Backward0", "").lower()
    return op
