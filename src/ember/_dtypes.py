"""ember's dtypes and PyTorch's type-promotion rules."""

from __future__ import annotations

import builtins

import numpy as np

__all__ = [
    "dtype", "float16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8",
    "bool_", "half", "float", "double", "int", "long", "short",
    "get_default_dtype", "set_default_dtype", "to_numpy_dtype", "from_numpy_dtype",
    "result_type", "scalar_result_dtype", "promote_types",
]


class dtype:
    """A tensor element type; compares by identity like `torch.dtype`."""

    __slots__ = ("name", "np", "is_floating_point", "is_signed", "itemsize", "_kind")

    def __init__(self, name: str, np_dtype: np.dtype, kind: int):
        self.name = name
        self.np = np.dtype(np_dtype)
        self._kind = kind  # 0 bool, 1 integer, 2 floating: the promotion category
        self.is_floating_point = kind == 2
        self.is_signed = self.np.kind in "fi"
        self.itemsize = self.np.itemsize

    @property
    def is_complex(self) -> bool:
        return False

    def __repr__(self) -> str:
        return f"ember.{self.name}"

    def __reduce__(self):
        return self.name


float16 = half = dtype("float16", np.float16, 2)
float32 = float = dtype("float32", np.float32, 2)
float64 = double = dtype("float64", np.float64, 2)
uint8 = dtype("uint8", np.uint8, 1)
int8 = dtype("int8", np.int8, 1)
int16 = short = dtype("int16", np.int16, 1)
int32 = int = dtype("int32", np.int32, 1)
int64 = long = dtype("int64", np.int64, 1)
bool_ = dtype("bool", np.bool_, 0)

_ALL = (float16, float32, float64, uint8, int8, int16, int32, int64, bool_)
_FROM_NP = {d.np: d for d in _ALL}
_default = [float32]


def get_default_dtype() -> dtype:
    return _default[0]


def set_default_dtype(d: dtype) -> None:
    if not isinstance(d, dtype) or not d.is_floating_point:
        raise TypeError(f"only floating-point types are supported as the default type, got {d}")
    _default[0] = d


def from_numpy_dtype(np_dtype) -> dtype:
    """The ember dtype for a NumPy dtype; raises TypeError for unsupported ones."""
    try:
        return _FROM_NP[np.dtype(np_dtype)]
    except (KeyError, TypeError):
        raise TypeError(
            f"can't convert np.ndarray of type {np.dtype(np_dtype)}. The only supported types are: "
            "float64, float32, float16, int64, int32, int16, int8, uint8, and bool."
        ) from None


def to_numpy_dtype(d) -> np.dtype:
    """Accept an ember dtype, a NumPy dtype or a Python type; return the NumPy dtype."""
    if isinstance(d, dtype):
        return d.np
    if d is builtins.float:
        return _default[0].np
    if d is builtins.int:
        return np.dtype(np.int64)
    if d is builtins.bool:
        return np.dtype(np.bool_)
    return from_numpy_dtype(d).np


def _category(np_dtype: np.dtype) -> builtins.int:
    return _FROM_NP[np_dtype]._kind


def promote_np(da: np.dtype, db: np.dtype) -> np.dtype:
    """PyTorch's promotion of two dtypes: a higher category (bool < int < float) wins
    outright, so int64 with float16 gives float16; within a category NumPy's rule holds."""
    if da == db:
        return da
    ka, kb = _category(da), _category(db)
    if ka != kb:
        return da if ka > kb else db
    return np.promote_types(da, db)


def promote_types(type1: dtype, type2: dtype) -> dtype:
    """The dtype an op on tensors of `type1` and `type2` computes in."""
    return _FROM_NP[promote_np(to_numpy_dtype(type1), to_numpy_dtype(type2))]


def result_type(a: np.ndarray, b: np.ndarray) -> np.dtype:
    """PyTorch's promotion for two tensors: a higher category wins outright; within a
    category, dimensioned tensors take precedence over zero-dim ones."""
    da, db = a.dtype, b.dtype
    if da == db:
        return da
    ka, kb = _category(da), _category(db)
    if ka != kb:
        return da if ka > kb else db
    if a.ndim and not b.ndim:
        return da
    if b.ndim and not a.ndim:
        return db
    return np.promote_types(da, db)


def scalar_result_dtype(arr_dtype: np.dtype, scalar) -> np.dtype:
    """PyTorch's promotion of a tensor with a Python scalar: the scalar only matters
    when it is of a higher category (bool < int < float)."""
    if isinstance(scalar, builtins.bool):
        kind = 0
    elif isinstance(scalar, builtins.int):
        kind = 1
    else:
        kind = 2
    have = _category(arr_dtype)
    if kind <= have:
        return arr_dtype
    return _default[0].np if kind == 2 else np.dtype(np.int64)
