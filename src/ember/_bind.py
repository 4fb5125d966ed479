"""Bind operators and op methods onto Tensor, in one place above `ops/`.

Each ops module lists the methods it provides in `TENSOR_METHODS` (name -> function
taking the tensor first); this module installs them, plus the Python operators.
"""

from __future__ import annotations

import importlib

from ._device import check_device, device
from ._tensor import Tensor
from .ops import elementwise as ew
from .ops import linalg, shape

_FAMILIES = (
    "elementwise", "reduction", "shape", "linalg", "indexing", "comparison", "inplace",
    "sorting",
)


def _swap(fn):
    def reflected(self, other):
        return fn(other, self)

    reflected.__name__ = f"r{fn.__name__}"
    return reflected


def _methods() -> dict:
    """The core arithmetic and matrix products, then each op family's own table."""
    methods = {
        "add": ew.add, "sub": ew.sub, "subtract": ew.sub, "mul": ew.mul, "multiply": ew.mul,
        "pow": ew.pow, "neg": ew.neg, "negative": ew.neg, "exp": ew.exp, "expm1": ew.expm1,
        "log": ew.log, "log2": ew.log2, "log1p": ew.log1p, "sqrt": ew.sqrt, "rsqrt": ew.rsqrt,
        "reciprocal": ew.reciprocal, "abs": ew.abs, "sign": ew.sign, "sin": ew.sin,
        "cos": ew.cos, "tanh": ew.tanh, "sigmoid": ew.sigmoid, "relu": ew.relu,
        "clamp": ew.clamp, "clip": ew.clamp, "maximum": ew.maximum, "minimum": ew.minimum,
        "clone": ew.clone, "matmul": linalg.matmul, "mm": linalg.mm, "bmm": linalg.bmm,
        "dot": linalg.dot,
        "__add__": ew.add, "__radd__": ew.add, "__sub__": ew.sub, "__rsub__": _swap(ew.sub),
        "__mul__": ew.mul, "__rmul__": ew.mul, "__pow__": ew.pow, "__rpow__": _swap(ew.pow),
        "__matmul__": linalg.matmul, "__rmatmul__": _swap(linalg.matmul),
        "__neg__": ew.neg, "__abs__": ew.abs,
    }
    for family in _FAMILIES:
        module = importlib.import_module(f".ops.{family}", __package__)
        methods.update(module.TENSOR_METHODS)
    return methods


def _to(self, *args, dtype=None, **kwargs):
    """`to(dtype)`, `to("cpu")`, `to(other_tensor)`; devices other than cpu are refused."""
    for a in args:
        if isinstance(a, Tensor):
            dtype = a._data.dtype
        elif isinstance(a, (str, device)):
            check_device(a)
        elif a is not None:
            dtype = a
    check_device(kwargs.get("device"))
    if dtype is None:
        return self
    return ew.to_dtype(self, dtype)


def _mT(self):
    return shape.transpose(self, -2, -1)


def bind() -> None:
    for name, fn in _methods().items():
        setattr(Tensor, name, fn)
    Tensor.to = _to
    Tensor.type_as = lambda self, other: ew.to_dtype(self, other._data.dtype)
    Tensor.float = lambda self: ew.to_dtype(self, "float32")
    Tensor.double = lambda self: ew.to_dtype(self, "float64")
    Tensor.half = lambda self: ew.to_dtype(self, "float16")
    Tensor.long = lambda self: ew.to_dtype(self, "int64")
    Tensor.int = lambda self: ew.to_dtype(self, "int32")
    Tensor.bool = lambda self: ew.to_dtype(self, "bool")
    Tensor.contiguous = lambda self: self if self._data.flags.c_contiguous else ew.clone(self, "C")
    Tensor.T = property(lambda self: shape.permute(self, tuple(range(self._data.ndim))[::-1]))
    Tensor.mT = property(_mT)
