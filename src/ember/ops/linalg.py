"""Matrix products: matmul (1-D, 2-D, batched, broadcast) and linear."""

from __future__ import annotations

import numpy as np

from .._tensor import Tensor
from ..autograd.grad_mode import _tracking
from ._define import Op, _operands, record, wrap

__all__ = ["matmul", "mm", "bmm", "dot", "linear"]


def _check_matmul(a: np.ndarray, b: np.ndarray) -> None:
    if a.ndim == 0 or b.ndim == 0:
        raise RuntimeError(
            f"both arguments to matmul need to be at least 1D, but they are {a.ndim}D and "
            f"{b.ndim}D"
        )
    k_a = a.shape[-1]
    k_b = b.shape[0] if b.ndim == 1 else b.shape[-2]
    if k_a != k_b:
        left = a.shape if a.ndim > 1 else (1,) + a.shape
        right = b.shape if b.ndim > 1 else b.shape + (1,)
        raise RuntimeError(
            f"mat1 and mat2 shapes cannot be multiplied ({'x'.join(map(str, left[-2:]))} and "
            f"{'x'.join(map(str, right[-2:]))})"
        )


class MatmulBackward0(Op):
    """Shared backward of all matrix products."""

    needs = ((1,), (0,))
    forward = staticmethod(np.matmul)

    def backward(self, g):
        a, b, _ = self.saved_tensors
        need_a, need_b = self.needs_input_grad
        a_vec = self._shapes[0][0].__len__() == 1
        b_vec = self._shapes[1][0].__len__() == 1
        if a_vec and b_vec:
            G = g.reshape(1, 1)
        elif a_vec:
            G = g.unsqueeze(-2)
        elif b_vec:
            G = g.unsqueeze(-1)
        else:
            G = g
        ga = gb = None
        if need_a:
            B = b.unsqueeze(-1) if b_vec else b
            ga = G @ B.transpose(-2, -1)
            if a_vec:
                ga = ga.squeeze(-2)
        if need_b:
            A = a.unsqueeze(0) if a_vec else a
            gb = A.transpose(-2, -1) @ G
            if b_vec:
                gb = gb.squeeze(-1)
        return ga, gb


class MmBackward0(MatmulBackward0):
    pass


class DotBackward0(MatmulBackward0):
    pass


class MvBackward0(MatmulBackward0):
    pass


class BmmBackward0(MatmulBackward0):
    pass


def matmul(a, b) -> Tensor:
    """Matrix product with NumPy/PyTorch broadcasting rules."""
    if type(a) is Tensor and type(b) is Tensor and a._data.dtype is b._data.dtype:
        ad, bd = a._data, b._data
    else:
        a, b, ad, bd = _operands(a, b)
    if type(ad) is not np.ndarray or type(bd) is not np.ndarray:
        raise RuntimeError("both arguments to matmul need to be at least 1D, but one is a scalar")
    try:
        out = np.matmul(ad, bd)
    except ValueError:
        _check_matmul(ad, bd)
        raise
    if (a._requires_grad or b._requires_grad) and _tracking.get():
        if ad.ndim == 2 and bd.ndim == 2:
            cls = MmBackward0
        elif ad.ndim == 1 and bd.ndim == 1:
            cls = DotBackward0
        elif ad.ndim == 2 and bd.ndim == 1:
            cls = MvBackward0
        else:
            cls = MatmulBackward0
        return record(cls, out, (a, b))
    return wrap(out)


def mm(a: Tensor, b: Tensor) -> Tensor:
    if a.ndim != 2 or b.ndim != 2:
        raise RuntimeError("self must be a matrix")
    return matmul(a, b)


def bmm(a: Tensor, b: Tensor) -> Tensor:
    if a.ndim != 3 or b.ndim != 3:
        raise RuntimeError("batch1 must be a 3D tensor")
    return matmul(a, b)


def dot(a: Tensor, b: Tensor) -> Tensor:
    if a.ndim != 1 or b.ndim != 1:
        raise RuntimeError(
            f"1D tensors expected, but got {a.ndim}D and {b.ndim}D tensors"
        )
    return matmul(a, b)


def _linear(x, w, b):
    out = np.matmul(x, w.T)
    if b is not None:
        out += b
    return out


class AddmmBackward0(Op):
    """y = x @ w.T + b in one node (what nn.Linear records)."""

    needs = ((1,), (0,), ())
    forward = staticmethod(_linear)

    def backward(self, g):
        x, w, _, _ = self.saved_tensors
        need_x, need_w, need_b = self.needs_input_grad
        gx = g @ w if need_x else None
        gw = gb = None
        if need_w:
            g2 = g if g.ndim == 2 else g.reshape(-1, self._shapes[1][0][0])
            x2 = x if x.ndim == 2 else x.reshape(-1, self._shapes[1][0][1])
            gw = g2.t() @ x2
        if need_b:
            gb = g.sum(tuple(range(g.ndim - 1))) if g.ndim > 1 else g
        return gx, gw, gb


# Without a bias PyTorch records the product alone.
_LinearNoBias = type("MmBackward0", (AddmmBackward0,), {})


def linear(x: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """x @ weight.T + bias, recorded as a single node."""
    if x._data.shape[-1] != weight._data.shape[-1]:
        rows = int(np.prod(x._data.shape[:-1])) if x._data.ndim > 1 else 1
        raise RuntimeError(
            f"mat1 and mat2 shapes cannot be multiplied ({rows}x{x._data.shape[-1]} and "
            f"{weight._data.shape[1]}x{weight._data.shape[0]})"
        )
    bd = None if bias is None else bias._data
    out = _linear(x._data, weight._data, bd)
    if _tracking.get() and (x._requires_grad or weight._requires_grad
                            or (bias is not None and bias._requires_grad)):
        cls = AddmmBackward0 if bias is not None else _LinearNoBias
        return record(cls, out, (x, weight, bias))
    return wrap(out)
