"""Comparisons and logic: results are bool tensors that never require grad."""

from __future__ import annotations

import numpy as np

from .._tensor import Tensor
from ._define import _operands, to_tensor, wrap

__all__ = [
    "eq", "ne", "lt", "le", "gt", "ge", "logical_and", "logical_or", "logical_xor",
    "logical_not", "isnan", "isinf", "isfinite", "all", "any", "equal", "allclose", "isclose",
    "bitwise_and", "bitwise_or", "bitwise_not", "bitwise_xor",
]


def _compare(ufunc, name: str):
    def op(a, b) -> Tensor:
        _, _, ad, bd = _operands(a, b)
        return wrap(ufunc(ad, bd))

    op.__name__ = op.__qualname__ = name
    op.__doc__ = f"Element-wise `{name}`; the result never requires grad."
    return op


def _predicate(ufunc, name: str):
    def op(x) -> Tensor:
        return wrap(ufunc(to_tensor(x)._data))

    op.__name__ = op.__qualname__ = name
    return op


eq = _compare(np.equal, "eq")
ne = _compare(np.not_equal, "ne")
lt = _compare(np.less, "lt")
le = _compare(np.less_equal, "le")
gt = _compare(np.greater, "gt")
ge = _compare(np.greater_equal, "ge")
logical_and = _compare(np.logical_and, "logical_and")
logical_or = _compare(np.logical_or, "logical_or")
logical_xor = _compare(np.logical_xor, "logical_xor")
bitwise_and = _compare(np.bitwise_and, "bitwise_and")
bitwise_or = _compare(np.bitwise_or, "bitwise_or")
bitwise_xor = _compare(np.bitwise_xor, "bitwise_xor")
logical_not = _predicate(np.logical_not, "logical_not")
bitwise_not = _predicate(np.invert, "bitwise_not")
isnan = _predicate(np.isnan, "isnan")
isinf = _predicate(np.isinf, "isinf")
isfinite = _predicate(np.isfinite, "isfinite")


def all(x: Tensor, dim=None, keepdim: bool = False) -> Tensor:
    return wrap(np.all(to_tensor(x)._data, axis=dim, keepdims=keepdim))


def any(x: Tensor, dim=None, keepdim: bool = False) -> Tensor:
    return wrap(np.any(to_tensor(x)._data, axis=dim, keepdims=keepdim))


def equal(a: Tensor, b: Tensor) -> bool:
    """True when both tensors have the same shape and elements."""
    return a._data.shape == b._data.shape and bool(np.array_equal(a._data, b._data))


def isclose(a: Tensor, b: Tensor, rtol: float = 1e-5, atol: float = 1e-8,
            equal_nan: bool = False) -> Tensor:
    return wrap(np.isclose(a._data, to_tensor(b)._data, rtol=rtol, atol=atol, equal_nan=equal_nan))


def allclose(a: Tensor, b: Tensor, rtol: float = 1e-5, atol: float = 1e-8,
             equal_nan: bool = False) -> bool:
    return bool(np.allclose(a._data, to_tensor(b)._data, rtol=rtol, atol=atol, equal_nan=equal_nan))


def _eq_method(self, other):
    # `t == None` is plain Python identity, as in PyTorch (not an element-wise compare).
    return False if other is None else eq(self, other)


def _ne_method(self, other):
    return True if other is None else ne(self, other)


def _reflect(fn):
    return lambda self, other: fn(other, self)


TENSOR_METHODS = {
    "eq": eq, "ne": ne, "lt": lt, "le": le, "gt": gt, "ge": ge,
    "__eq__": _eq_method, "__ne__": _ne_method, "__lt__": lt, "__le__": le, "__gt__": gt,
    "__ge__": ge,
    "logical_and": logical_and, "logical_or": logical_or, "logical_xor": logical_xor,
    "logical_not": logical_not, "isnan": isnan, "isinf": isinf, "isfinite": isfinite,
    "all": all, "any": any, "equal": equal, "isclose": isclose, "allclose": allclose,
    "__and__": bitwise_and, "__or__": bitwise_or, "__xor__": bitwise_xor,
    "__rand__": _reflect(bitwise_and), "__ror__": _reflect(bitwise_or),
    "__rxor__": _reflect(bitwise_xor), "__invert__": bitwise_not,
}
