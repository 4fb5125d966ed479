"""Collation: turning a list of samples into one batch (`default_collate`), and turning
NumPy data into tensors without batching (`default_convert`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ..._tensor import Tensor, _make
from ...autograd.grad_mode import _tracking

__all__ = ["default_collate", "default_convert"]

_UNSUPPORTED = ("default_collate: batch must contain tensors, numpy arrays, numbers, dicts or "
                "lists; found {}")


def _stack(arrays: list[np.ndarray]) -> np.ndarray:
    shape = arrays[0].shape
    for i, a in enumerate(arrays):
        if a.shape != shape:
            raise RuntimeError(
                "stack expects each tensor to be equal size, but got "
                f"{list(shape)} at entry 0 and {list(a.shape)} at entry {i}"
            )
    return np.stack(arrays)


def _collate_tensors(batch: list[Tensor]) -> Tensor:
    if _tracking.get() and any(t._requires_grad for t in batch):
        from ... import stack  # a differentiable stack, only when a graph is wanted

        return stack(batch)
    return _make(_stack([t._data for t in batch]), False, None)


def _is_namedtuple(x: Any) -> bool:
    return isinstance(x, tuple) and hasattr(x, "_fields")


def default_collate(batch: list) -> Any:
    """Stack tensors, NumPy arrays and numbers along a new first dim, recursing into
    dicts, tuples and lists; strings stay a list."""
    elem = batch[0]
    if isinstance(elem, Tensor):
        return _collate_tensors(batch)
    if isinstance(elem, np.ndarray):
        if elem.dtype.kind in "SUOV":
            raise TypeError(_UNSUPPORTED.format(elem.dtype))
        return _make(_stack(batch), False, None)
    if isinstance(elem, np.generic) and not isinstance(elem, (np.str_, np.bytes_)):
        return _make(np.array(batch), False, None)
    if isinstance(elem, bool):
        return _make(np.array(batch, dtype=np.bool_), False, None)
    if isinstance(elem, float):
        return _make(np.array(batch, dtype=np.float64), False, None)
    if isinstance(elem, int):
        return _make(np.array(batch, dtype=np.int64), False, None)
    if isinstance(elem, (str, bytes)):
        return batch
    if isinstance(elem, Mapping):
        merged = {key: default_collate([d[key] for d in batch]) for key in elem}
        try:
            return type(elem)(merged)
        except TypeError:
            return merged
    if _is_namedtuple(elem):
        return type(elem)(*(default_collate(list(s)) for s in zip(*batch)))
    if isinstance(elem, Sequence):
        size = len(elem)
        if any(len(e) != size for e in batch):
            raise RuntimeError("each element in list of batch should be of equal size")
        columns = [default_collate(list(s)) for s in zip(*batch)]
        if isinstance(elem, tuple):
            return columns
        try:
            return type(elem)(columns)
        except TypeError:
            return columns
    raise TypeError(_UNSUPPORTED.format(type(elem)))


def default_convert(data: Any) -> Any:
    """Turn NumPy arrays and scalars into tensors, recursing into containers; no batching."""
    if isinstance(data, Tensor):
        return data
    if isinstance(data, np.ndarray):
        return data if data.dtype.kind in "SUOV" else _make(data, False, None)
    if isinstance(data, np.generic) and not isinstance(data, (np.str_, np.bytes_)):
        return _make(np.asarray(data), False, None)
    if isinstance(data, (str, bytes)):
        return data
    if isinstance(data, Mapping):
        converted = {key: default_convert(v) for key, v in data.items()}
        try:
            return type(data)(converted)
        except TypeError:
            return converted
    if _is_namedtuple(data):
        return type(data)(*(default_convert(v) for v in data))
    if isinstance(data, tuple):
        return [default_convert(v) for v in data]
    if isinstance(data, Sequence):
        try:
            return type(data)([default_convert(v) for v in data])
        except TypeError:
            return [default_convert(v) for v in data]
    return data
