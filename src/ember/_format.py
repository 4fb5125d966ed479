"""PyTorch-style printing of tensors.

Follows PyTorch's printing rules: one formatter per tensor chooses integer, fixed (4
decimals) or scientific notation from the non-zero finite values and pads every element
to a common width; tensors over 1000 elements show 3 items at each edge.
"""

from __future__ import annotations

import math

import numpy as np

from . import _dtypes

__all__ = ["format_tensor"]

_PRECISION = 4
_THRESHOLD = 1000
_EDGEITEMS = 3
_LINEWIDTH = 80


class _Formatter:
    """Chooses the notation and common width of one tensor's elements."""

    __slots__ = ("floating", "int_mode", "sci_mode", "width")

    def __init__(self, arr: np.ndarray) -> None:
        self.floating = arr.dtype.kind == "f"
        self.int_mode = True
        self.sci_mode = False
        self.width = 1
        flat = arr.reshape(-1)
        if not self.floating:
            self.width = max([1, *(len(str(v)) for v in flat.tolist())])
            return
        vals = flat[np.isfinite(flat) & (flat != 0)].astype(np.float64)
        if vals.size == 0:
            return
        absv = np.abs(vals)
        lo, hi = float(absv.min()), float(absv.max())
        self.int_mode = bool(np.all(vals == np.ceil(vals)))
        values = vals.tolist()
        if self.int_mode:
            self.sci_mode = hi / lo > 1000.0 or hi > 1.0e8
            if not self.sci_mode:
                self.width = max(len(f"{v:.0f}") + 1 for v in values)
                return
        else:
            self.sci_mode = hi / lo > 1000.0 or hi > 1.0e8 or lo < 1.0e-4
        spec = f".{_PRECISION}e" if self.sci_mode else f".{_PRECISION}f"
        self.width = max(len(format(v, spec)) for v in values)

    def format(self, value) -> str:
        if not self.floating:
            text = str(value)
        elif self.sci_mode:
            text = f"{value:{self.width}.{_PRECISION}e}"
        elif self.int_mode:
            text = f"{value:.0f}"
            if math.isfinite(value):
                text += "."
        else:
            text = f"{value:.{_PRECISION}f}"
        return text.rjust(self.width)


def _summarized(arr: np.ndarray) -> np.ndarray:
    """The edge items that a summarized print shows (what the formatter is fitted to)."""
    if arr.ndim == 0:
        return arr
    n = arr.shape[0]
    idx = np.r_[0:_EDGEITEMS, n - _EDGEITEMS:n] if n > 2 * _EDGEITEMS else slice(None)
    part = arr[idx]
    if arr.ndim == 1:
        return part
    return np.stack([_summarized(row) for row in part])


def _vector(arr: np.ndarray, indent: int, summarize: bool, fmt: _Formatter) -> str:
    per_line = max(1, (_LINEWIDTH - indent) // (fmt.width + 2))
    n = arr.shape[0]
    if summarize and n > 2 * _EDGEITEMS:
        items = ([fmt.format(v) for v in arr[:_EDGEITEMS].tolist()] + [" ..."]
                 + [fmt.format(v) for v in arr[-_EDGEITEMS:].tolist()])
    else:
        items = [fmt.format(v) for v in arr.tolist()]
    lines = [", ".join(items[i:i + per_line]) for i in range(0, len(items), per_line)]
    return "[" + (",\n" + " " * (indent + 1)).join(lines) + "]"


def _nested(arr: np.ndarray, indent: int, summarize: bool, fmt: _Formatter) -> str:
    if arr.ndim == 1:
        return _vector(arr, indent, summarize, fmt)
    n = arr.shape[0]
    if summarize and n > 2 * _EDGEITEMS:
        rows = ([_nested(arr[i], indent + 1, summarize, fmt) for i in range(_EDGEITEMS)]
                + ["..."]
                + [_nested(arr[i], indent + 1, summarize, fmt) for i in range(n - _EDGEITEMS, n)])
    else:
        rows = [_nested(arr[i], indent + 1, summarize, fmt) for i in range(n)]
    return "[" + ("," + "\n" * (arr.ndim - 1) + " " * (indent + 1)).join(rows) + "]"


def _body(arr: np.ndarray, indent: int) -> str:
    if arr.size == 0:
        return "[]"
    if arr.dtype == np.float16:
        arr = arr.astype(np.float32)
    summarize = arr.size > _THRESHOLD
    fmt = _Formatter(_summarized(arr) if summarize else arr)
    if arr.ndim == 0:
        return fmt.format(arr.item())
    return _nested(arr, indent, summarize, fmt)


def format_tensor(t) -> str:
    arr = t._data
    prefix = "tensor("
    indent = len(prefix)
    suffixes = []
    default = _dtypes.get_default_dtype().np
    if arr.size == 0:
        if arr.ndim != 1:
            suffixes.append(f"size={tuple(arr.shape)}")
        if arr.dtype != default:
            suffixes.append(f"dtype={_dtypes.from_numpy_dtype(arr.dtype)!r}")
    elif arr.dtype not in (default, np.int64, np.bool_):
        suffixes.append(f"dtype={_dtypes.from_numpy_dtype(arr.dtype)!r}")
    if t._grad_fn is not None:
        suffixes.append(f"grad_fn=<{type(t._grad_fn).__name__}>")
    elif t._requires_grad:
        suffixes.append("requires_grad=True")
    return _with_suffixes(prefix + _body(arr, indent), suffixes, indent)


def _with_suffixes(text: str, suffixes: list[str], indent: int) -> str:
    """Append `, suffix` items, moving one to a new line when it would pass 80 columns."""
    parts = [text]
    last_line = len(text) - text.rfind("\n") + 1
    for suffix in suffixes:
        if last_line + len(suffix) + 2 > _LINEWIDTH:
            parts.append(",\n" + " " * indent + suffix)
            last_line = indent + len(suffix)
        else:
            parts.append(", " + suffix)
            last_line += len(suffix) + 2
    return "".join(parts) + ")"
