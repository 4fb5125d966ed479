"""PyTorch-style printing of tensors."""

from __future__ import annotations

import numpy as np

from . import _dtypes

__all__ = ["format_tensor"]

_IMPLICIT = ("float32", "int64", "bool")


def _float_formatter(arr: np.ndarray):
    finite = arr[np.isfinite(arr)] if arr.size else arr
    if finite.size == 0:
        return lambda v: _special(v) or f"{v:.4f}"
    absmax = float(np.max(np.abs(finite)))
    nonzero = np.abs(finite[finite != 0])
    absmin = float(np.min(nonzero)) if nonzero.size else 0.0
    if np.all(finite == np.round(finite)) and absmax < 1e8:
        return lambda v: _special(v) or f"{v:.0f}."
    if absmax >= 1e8 or (absmin and absmin < 1e-4) or (absmin and absmax / absmin > 1e3 and absmin < 1e-2):
        return lambda v: _special(v) or f"{v:.4e}"
    return lambda v: _special(v) or f"{v:.4f}"


def _special(v) -> str | None:
    if np.isnan(v):
        return "nan"
    if np.isinf(v):
        return "inf" if v > 0 else "-inf"
    return None


def _body(arr: np.ndarray) -> str:
    kind = arr.dtype.kind
    if kind == "f":
        fmt = _float_formatter(arr.astype(np.float64))
        formatter = {"float_kind": lambda v: fmt(float(v))}
    elif kind == "b":
        formatter = {"bool": lambda v: "True" if v else "False"}
    else:
        formatter = None
    if arr.ndim == 0:
        if kind == "f":
            return formatter["float_kind"](arr.item())
        return str(arr.item())
    threshold = 1000
    return np.array2string(
        arr, separator=", ", prefix="tensor(", formatter=formatter, threshold=threshold,
        edgeitems=3, max_line_width=80,
    )


def format_tensor(t) -> str:
    arr = t._data
    parts = [_body(arr)]
    if arr.size == 0 and arr.ndim > 1:
        parts.append(f"size={tuple(arr.shape)}")
    name = arr.dtype.name
    if name not in _IMPLICIT or (arr.size == 0 and name != "float32"):
        parts.append(f"dtype={_dtypes.from_numpy_dtype(arr.dtype)!r}")
    if t._grad_fn is not None:
        parts.append(f"grad_fn=<{type(t._grad_fn).__name__}>")
    elif t._requires_grad:
        parts.append("requires_grad=True")
    return "tensor(" + ", ".join(parts) + ")"
