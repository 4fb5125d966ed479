"""Reductions: sum, mean, and the broadcast-undoing sum_to_size the engine uses."""

from __future__ import annotations

import numpy as np

from .._tensor import Tensor
from ._define import Op, unary

__all__ = ["sum", "mean", "sum_to_size"]


def norm_dims(dim, ndim: int) -> tuple[int, ...] | None:
    """Normalise an int or tuple of dims to a sorted tuple of non-negative ints."""
    if dim is None:
        return None
    dims = (dim,) if isinstance(dim, int) else tuple(dim)
    n = max(ndim, 1)
    out = []
    for d in dims:
        if not -n <= d < n:
            raise IndexError(
                f"Dimension out of range (expected to be in range of [{-n}, {n - 1}], "
                f"but got {d})"
            )
        out.append(d % n)
    if len(set(out)) != len(out):
        raise RuntimeError(f"dim {dims} appears multiple times in the list of dims")
    return tuple(sorted(out)) if ndim else ()


def kept_shape(shape: tuple, dims: tuple | None) -> tuple:
    """The shape of a reduction over `dims` with keepdim=True."""
    if dims is None:
        return (1,) * len(shape)
    return tuple(1 if i in dims else s for i, s in enumerate(shape))


def expand_back(g: Tensor, shape: tuple, dims: tuple | None, keepdim: bool) -> Tensor:
    """Broadcast the gradient of a reduction back over the reduced dims."""
    if not keepdim:
        g = g.reshape(kept_shape(shape, dims))
    return g.expand(shape)


def _sum(x, dims, keepdim, dtype):
    if x.dtype.kind in "biu" and dtype is None:
        dtype = np.int64
    return np.sum(x, axis=dims, keepdims=keepdim, dtype=dtype)


class SumBackward0(Op):
    needs = ((),)
    forward = staticmethod(_sum)

    def backward(self, g):
        dims, keepdim, _ = self.args
        return expand_back(g, self._shapes[0][0], dims, keepdim)


class SumBackward1(SumBackward0):
    pass


def _mean(x, dims, keepdim, dtype):
    if x.dtype.kind != "f" and dtype is None:
        raise RuntimeError(
            "mean(): could not infer output dtype. Input dtype must be either a floating point "
            f"or complex dtype. Got: {_type_name(x.dtype)}"
        )
    return np.mean(x, axis=dims, keepdims=keepdim, dtype=dtype)


def _type_name(np_dtype) -> str:
    return {"int64": "Long", "int32": "Int", "bool": "Bool", "uint8": "Byte"}.get(
        np.dtype(np_dtype).name, np.dtype(np_dtype).name)


class MeanBackward0(Op):
    needs = ((),)
    forward = staticmethod(_mean)

    def backward(self, g):
        dims, keepdim, _ = self.args
        shape = self._shapes[0][0]
        count = int(np.prod([shape[d] for d in dims])) if dims is not None else int(np.prod(shape))
        g = expand_back(g, shape, dims, keepdim)
        return g / count if count else g * float("nan")


class MeanBackward1(MeanBackward0):
    pass


_sum0, _sum1 = unary(SumBackward0), unary(SumBackward1)
_mean0, _mean1 = unary(MeanBackward0), unary(MeanBackward1)


def _np_dtype(dtype):
    if dtype is None:
        return None
    from .._dtypes import to_numpy_dtype

    return to_numpy_dtype(dtype)


def sum(x: Tensor, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """Sum over `dim` (int or tuple; all dims when None)."""
    dims = norm_dims(dim, x._data.ndim)
    if dims is None:
        return _sum0(x, None, keepdim, _np_dtype(dtype))
    return _sum1(x, dims, keepdim, _np_dtype(dtype))


def mean(x: Tensor, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """Mean over `dim` (int or tuple; all dims when None)."""
    dims = norm_dims(dim, x._data.ndim)
    if dims is None:
        return _mean0(x, None, keepdim, _np_dtype(dtype))
    return _mean1(x, dims, keepdim, _np_dtype(dtype))


def _sum_to(x, shape):
    lead = x.ndim - len(shape)
    if lead < 0:
        raise RuntimeError(f"size {list(shape)} is not expandable to size {list(x.shape)}")
    axes = tuple(range(lead)) + tuple(
        lead + i for i, s in enumerate(shape) if s == 1 and x.shape[lead + i] != 1
    )
    for i, s in enumerate(shape):
        if s != 1 and x.shape[lead + i] != s:
            raise RuntimeError(f"size {list(shape)} is not expandable to size {list(x.shape)}")
    out = np.sum(x, axis=axes, keepdims=True) if axes else x
    return out.reshape(shape) if lead else out


class SumToSizeBackward0(Op):
    needs = ((),)
    forward = staticmethod(_sum_to)

    def backward(self, g):
        return g.expand(self._shapes[0][0])


_sum_to_size = unary(SumToSizeBackward0)


def sum_to_size(x: Tensor, *size) -> Tensor:
    """Sum `x` down to `size`, which `x`'s shape must broadcast from."""
    shape = tuple(size[0]) if len(size) == 1 and not isinstance(size[0], int) else tuple(size)
    if tuple(x._data.shape) == shape:
        return x
    return _sum_to_size(x, shape)
