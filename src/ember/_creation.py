"""Tensor factories and the global random generator.

Factories ignore the grad mode (a `requires_grad=True` tensor made under `no_grad` is a
trainable leaf), but tensors made inside `inference_mode` are inference tensors.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from . import _dtypes
from ._tensor import Tensor, _make

__all__ = [
    "tensor", "as_tensor", "from_numpy", "zeros", "ones", "full", "empty", "arange",
    "linspace", "eye", "rand", "randn", "randint", "randperm", "zeros_like", "ones_like",
    "full_like", "empty_like", "rand_like", "randn_like", "randint_like", "manual_seed",
    "seed", "initial_seed", "Generator", "default_generator", "normal", "bernoulli",
    "multinomial", "get_rng_state", "set_rng_state",
]

_NON_FLOAT_GRAD = "Only Tensors of floating point and complex dtype can require gradients"


class Generator:
    """A seeded source of random numbers (wraps NumPy's PCG64)."""

    def __init__(self, device: str = "cpu") -> None:
        self._seed = 67280421310721
        self._rng = np.random.default_rng(self._seed)

    def manual_seed(self, seed: int) -> Generator:
        self._seed = int(seed)
        self._rng = np.random.default_rng(self._seed)
        return self

    def seed(self) -> int:
        s = int(np.random.SeedSequence().entropy % (2**63))
        self.manual_seed(s)
        return s

    def initial_seed(self) -> int:
        return self._seed

    def get_state(self) -> Tensor:
        """The generator's full state as a uint8 tensor (JSON of NumPy's PCG64 state)."""
        raw = json.dumps(self._rng.bit_generator.state).encode()
        return _make(np.frombuffer(raw, dtype=np.uint8).copy())

    def set_state(self, new_state: Tensor) -> Generator:
        self._rng.bit_generator.state = json.loads(bytes(np.asarray(new_state._data, np.uint8)))
        return self


default_generator = Generator()


def _rng(generator: Generator | None) -> np.random.Generator:
    return (generator or default_generator)._rng


def manual_seed(seed: int) -> Generator:
    """Seed ember's global generator; runs are then reproducible."""
    return default_generator.manual_seed(seed)


def seed() -> int:
    return default_generator.seed()


def initial_seed() -> int:
    return default_generator.initial_seed()


def get_rng_state() -> Tensor:
    return default_generator.get_state()


def set_rng_state(state: Tensor) -> None:
    default_generator.set_state(state)


def _finish(arr: np.ndarray, requires_grad: bool) -> Tensor:
    t = _make(arr, False, None)
    if requires_grad:
        if arr.dtype.kind != "f":
            raise RuntimeError(_NON_FLOAT_GRAD)
        t._requires_grad = True
    return t


def _shape(size: Sequence) -> tuple:
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = size[0]
    elif len(size) == 1 and hasattr(size[0], "__iter__") and not isinstance(size[0], int):
        size = tuple(size[0])
    try:
        shape = tuple(int(s) for s in size)
    except TypeError:
        raise TypeError(f"size must be a sequence of ints, got {size!r}") from None
    negative = [s for s in shape if s < 0]
    if negative:
        raise RuntimeError(
            f"Trying to create tensor with negative dimension {negative[0]}: {list(shape)}")
    return shape


def _float_dtype(dtype) -> np.dtype:
    return _dtypes.get_default_dtype().np if dtype is None else _dtypes.to_numpy_dtype(dtype)


def _infer(data: Any, target: np.dtype | None = None) -> np.ndarray:
    """The array for `data` with PyTorch's dtype inference: Python floats give the default
    dtype, ints int64, bools bool; NumPy scalars and tensors keep their own dtype."""
    if isinstance(data, Tensor):
        return data._data
    if isinstance(data, np.ndarray):
        _dtypes.from_numpy_dtype(data.dtype)
        return data
    if isinstance(data, (list, tuple)):
        dt = None
        has_tensor = False
        for v in _flat(data):
            if isinstance(v, Tensor):
                has_tensor = True
            d = _scalar_dtype(v)
            dt = d if dt is None else _dtypes.promote_np(dt, d)
        if has_tensor:
            data = _nested_to_lists(data)
        try:
            arr = np.asarray(data)
        except ValueError:
            raise _ragged(data) from None
        if arr.dtype == object:
            raise _ragged(data)
        if target is None:
            target = _dtypes.get_default_dtype().np if dt is None else dt
        return arr.astype(target, copy=False)  # straight from Python's float64 values
    return np.asarray(data, dtype=_scalar_dtype(data) if target is None else target)


def _scalar_dtype(v: Any) -> np.dtype:
    if isinstance(v, Tensor):
        return v._data.dtype
    if isinstance(v, np.generic):
        return _dtypes.from_numpy_dtype(v.dtype).np
    if isinstance(v, bool):
        return np.dtype(np.bool_)
    if isinstance(v, int):
        return np.dtype(np.int64)
    if isinstance(v, float):
        return _dtypes.get_default_dtype().np
    raise RuntimeError(f"Could not infer dtype of {type(v).__name__}")


def _ragged(data) -> Exception:
    """The error for nested sequences that do not form a rectangular array."""
    shape = []
    x = data
    while isinstance(x, (list, tuple)):
        shape.append(len(x))
        x = x[0] if len(x) else None
    stack = [(data, 0)]
    while stack:
        x, dim = stack.pop()
        is_seq = isinstance(x, (list, tuple))
        if dim < len(shape) and not is_seq:
            return TypeError(f"expected a sequence at dim {dim}, got {type(x).__name__}")
        if dim >= len(shape) and is_seq:
            return ValueError(f"expected a number at dim {dim}, got a sequence")
        if is_seq:
            if len(x) != shape[dim]:
                return ValueError(
                    f"expected sequence of length {shape[dim]} at dim {dim} (got {len(x)})")
            stack.extend((v, dim + 1) for v in reversed(x))
    return RuntimeError(f"Could not infer dtype of {type(data).__name__}")


def _flat(data):
    for v in data:
        if isinstance(v, (list, tuple)):
            yield from _flat(v)
        else:
            yield v


def _nested_to_lists(data):
    if isinstance(data, Tensor):
        return data._data.tolist()
    if isinstance(data, (list, tuple)):
        return [_nested_to_lists(v) for v in data]
    return data


def tensor(data: Any, dtype=None, device=None, requires_grad: bool = False,
           pin_memory: bool = False) -> Tensor:
    """A new tensor that owns a copy of `data` (a number, nested list, array or tensor)."""
    np_dtype = None if dtype is None else _dtypes.to_numpy_dtype(dtype)
    arr = np.array(_infer(data, np_dtype), dtype=np_dtype, copy=True)
    return _finish(arr, requires_grad)


def as_tensor(data: Any, dtype=None, device=None) -> Tensor:
    """Like `tensor`, but shares memory with a NumPy array or tensor when it can."""
    if isinstance(data, Tensor) and (
            dtype is None or data._data.dtype == _dtypes.to_numpy_dtype(dtype)):
        return data
    arr = _infer(data)
    if dtype is not None:
        arr = arr.astype(_dtypes.to_numpy_dtype(dtype), copy=False)
    return _make(arr, False, None)


def from_numpy(arr: np.ndarray) -> Tensor:
    """A tensor sharing memory with a NumPy array."""
    if not isinstance(arr, np.ndarray):
        raise TypeError(f"expected np.ndarray (got {type(arr).__name__})")
    _dtypes.from_numpy_dtype(arr.dtype)
    return _make(arr, False, None)


def zeros(*size, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    return _finish(np.zeros(_shape(size), _float_dtype(dtype)), requires_grad)


def ones(*size, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    return _finish(np.ones(_shape(size), _float_dtype(dtype)), requires_grad)


def empty(*size, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    return _finish(np.empty(_shape(size), _float_dtype(dtype)), requires_grad)


def full(size, fill_value, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    if dtype is None:
        if isinstance(fill_value, bool):
            np_dtype = np.dtype(np.bool_)
        elif isinstance(fill_value, int):
            np_dtype = np.dtype(np.int64)
        else:
            np_dtype = _dtypes.get_default_dtype().np
    else:
        np_dtype = _dtypes.to_numpy_dtype(dtype)
    return _finish(np.full(_shape((size,)), fill_value, np_dtype), requires_grad)


def arange(start, end=None, step=1, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    if end is None:
        start, end = 0, start
    if step == 0:
        raise RuntimeError("step must be nonzero")
    if (end - start) * step < 0:
        raise RuntimeError("upper bound and lower bound inconsistent with step sign")
    if dtype is None:
        ints = all(isinstance(v, (int, np.integer)) for v in (start, end, step))
        np_dtype = np.dtype(np.int64) if ints else _dtypes.get_default_dtype().np
    else:
        np_dtype = _dtypes.to_numpy_dtype(dtype)
    n = max(math.ceil((end - start) / step), 0)
    arr = (start + step * np.arange(n, dtype=np.float64)).astype(np_dtype) if np_dtype.kind == "f" \
        else np.arange(start, end, step, dtype=np_dtype)
    return _finish(arr, requires_grad)


def linspace(start, end, steps: int, dtype=None, device=None,
             requires_grad: bool = False) -> Tensor:
    arr = np.linspace(start, end, int(steps), dtype=np.float64).astype(_float_dtype(dtype))
    return _finish(arr, requires_grad)


def eye(n: int, m: int | None = None, dtype=None, device=None,
        requires_grad: bool = False) -> Tensor:
    return _finish(np.eye(n, m, dtype=_float_dtype(dtype)), requires_grad)


def rand(*size, generator: Generator | None = None, dtype=None, device=None,
         requires_grad: bool = False) -> Tensor:
    """Uniform samples on [0, 1)."""
    np_dtype = _float_dtype(dtype)
    arr = _rng(generator).random(
        _shape(size), dtype=np.float64 if np_dtype == np.float64 else np.float32)
    return _finish(arr.astype(np_dtype, copy=False), requires_grad)


def randn(*size, generator: Generator | None = None, dtype=None, device=None,
          requires_grad: bool = False) -> Tensor:
    """Standard normal samples."""
    np_dtype = _float_dtype(dtype)
    arr = _rng(generator).standard_normal(
        _shape(size), dtype=np.float64 if np_dtype == np.float64 else np.float32)
    return _finish(arr.astype(np_dtype, copy=False), requires_grad)


def randint(low, high=None, size=None, *, generator: Generator | None = None, dtype=None,
            device=None, requires_grad: bool = False) -> Tensor:
    """Integers drawn uniformly from [low, high)."""
    if size is None:
        if high is None or not isinstance(high, (tuple, list)):
            raise TypeError("randint() missing required argument 'size'")
        low, high, size = 0, low, high
    if high is None:
        low, high = 0, low
    np_dtype = np.dtype(np.int64) if dtype is None else _dtypes.to_numpy_dtype(dtype)
    arr = _rng(generator).integers(low, high, size=_shape((size,)), dtype=np.int64)
    return _finish(arr.astype(np_dtype, copy=False), requires_grad)


def randperm(n: int, *, generator: Generator | None = None, dtype=None, device=None,
             requires_grad: bool = False) -> Tensor:
    arr = _rng(generator).permutation(int(n)).astype(
        np.int64 if dtype is None else _dtypes.to_numpy_dtype(dtype))
    return _finish(arr, requires_grad)


def normal(mean: float = 0.0, std: float = 1.0, size=None, *, generator: Generator | None = None,
           dtype=None, requires_grad: bool = False) -> Tensor:
    if isinstance(mean, Tensor) or isinstance(std, Tensor):
        m = mean._data if isinstance(mean, Tensor) else mean
        s = std._data if isinstance(std, Tensor) else std
        shape = np.broadcast_shapes(np.shape(m), np.shape(s))
        arr = _rng(generator).normal(m, s, size=shape).astype(_float_dtype(dtype))
    else:
        arr = _rng(generator).normal(mean, std, size=_shape((size,))).astype(_float_dtype(dtype))
    return _finish(arr, requires_grad)


def bernoulli(input: Tensor, p: float | None = None, *,
              generator: Generator | None = None) -> Tensor:
    probs = input._data if p is None else np.full(input._data.shape, p)
    arr = (_rng(generator).random(input._data.shape) < probs).astype(input._data.dtype)
    return _make(arr, False, None)


def multinomial(input: Tensor, num_samples: int, replacement: bool = False, *,
                generator: Generator | None = None) -> Tensor:
    probs = np.asarray(input._data, dtype=np.float64)
    rows = probs.reshape(-1, probs.shape[-1])
    out = np.empty((rows.shape[0], num_samples), dtype=np.int64)
    for i, row in enumerate(rows):
        out[i] = _rng(generator).choice(row.size, size=num_samples, replace=replacement,
                                        p=row / row.sum())
    return _make(out.reshape(probs.shape[:-1] + (num_samples,)), False, None)


def _like(x: Tensor, dtype) -> tuple[tuple, np.dtype]:
    return x._data.shape, (x._data.dtype if dtype is None else _dtypes.to_numpy_dtype(dtype))


def zeros_like(x: Tensor, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    shape, dt = _like(x, dtype)
    return _finish(np.zeros(shape, dt), requires_grad)


def ones_like(x: Tensor, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    shape, dt = _like(x, dtype)
    return _finish(np.ones(shape, dt), requires_grad)


def empty_like(x: Tensor, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    shape, dt = _like(x, dtype)
    return _finish(np.empty(shape, dt), requires_grad)


def full_like(x: Tensor, fill_value, dtype=None, device=None,
              requires_grad: bool = False) -> Tensor:
    shape, dt = _like(x, dtype)
    return _finish(np.full(shape, fill_value, dt), requires_grad)


def _float_like(name: str, x: Tensor, dtype) -> tuple[tuple, np.dtype]:
    shape, dt = _like(x, dtype)
    if dt.kind != "f":
        raise NotImplementedError(
            f"{name}(): expected a floating point dtype, got {_dtypes.from_numpy_dtype(dt)}; "
            "pass dtype=ember.float32 or use randint_like"
        )
    return shape, dt


def rand_like(x: Tensor, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    shape, dt = _float_like("rand_like", x, dtype)
    return rand(shape, dtype=_dtypes.from_numpy_dtype(dt), requires_grad=requires_grad)


def randn_like(x: Tensor, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    shape, dt = _float_like("randn_like", x, dtype)
    return randn(shape, dtype=_dtypes.from_numpy_dtype(dt), requires_grad=requires_grad)


def randint_like(x: Tensor, low, high=None, dtype=None, device=None) -> Tensor:
    shape, dt = _like(x, dtype)
    return randint(low, high, shape, dtype=_dtypes.from_numpy_dtype(dt))
