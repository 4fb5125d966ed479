"""Indexing: `x[key]`, gather/scatter, index_select/index_add, masked_fill/masked_select.

`x[key]` follows PyTorch: ints, slices, None and `...` give a view (SelectBackward0,
SliceBackward0, UnsqueezeBackward0 or AliasBackward0, after the last step PyTorch would
take); integer or boolean tensors, lists and arrays give a copy (IndexBackward0) whose
gradient is a scatter-add, so repeated indices accumulate. `index_key` turns a key into
the equivalent NumPy key, for `__setitem__` too.
"""

from __future__ import annotations

import warnings

import numpy as np

from .._tensor import Tensor, _make, _wrap_dim
from ..autograd.grad_mode import _tracking
from ._define import Op, record, to_tensor, unary, wrap
from .elementwise import where
from .shape import (
    AliasBackward0,
    SelectBackward0,
    SliceBackward0,
    _slice_put,
    _UnsqueezeIndex,
    basic_index,
    expand,
    reshape,
)

__all__ = [
    "gather", "index_select", "index_add", "masked_fill", "masked_select", "take_along_dim",
    "nonzero", "argwhere", "scatter", "scatter_add",
]

_ndarray = np.ndarray
_BAD_KEY = (
    "only integers, slices (`:`), ellipsis (`...`), None and long or byte Variables are "
    "valid indices (got {})"
)
_BAD_DTYPE = "tensors used as indices must be long, int, byte or bool tensors"


# ----- parsing a key ----------------------------------------------------------------------
def _as_index_array(arr: np.ndarray) -> np.ndarray:
    kind = arr.dtype.kind
    if kind == "b" or kind == "i" or (kind == "u" and arr.dtype != np.uint8):
        return arr
    if arr.dtype == np.uint8:  # PyTorch reads byte tensors as masks
        return arr.astype(np.bool_)
    if arr.size == 0:
        return arr.astype(np.int64)
    raise IndexError(_BAD_DTYPE)


def _int(v) -> int | None:
    return None if v is None else int(v)


def _entry(k):
    """One key entry: int, slice, None, Ellipsis or an index ndarray."""
    t = type(k)
    if t is int or k is None or k is Ellipsis:
        return k
    if t is slice:
        step = _int(k.step)
        if step is not None and step <= 0:
            raise ValueError("slice step cannot be zero" if step == 0 else
                             "step must be greater than zero")
        return slice(_int(k.start), _int(k.stop), step)
    if isinstance(k, Tensor):
        arr = k._data
    elif isinstance(k, np.ndarray):
        arr = k
    elif t is bool or isinstance(k, np.bool_):
        return np.asarray(bool(k))
    elif isinstance(k, np.integer):
        return int(k)
    elif isinstance(k, (list, tuple)):
        arr = np.asarray([e._data if isinstance(e, Tensor) else e for e in k])
        if arr.dtype == object:
            raise IndexError(_BAD_DTYPE)
    else:
        raise IndexError(_BAD_KEY.format(t.__name__))
    if arr.ndim == 0 and arr.dtype.kind in "iu":
        return int(arr)  # a 0-d integer tensor selects, as an int does
    return _as_index_array(arr)


def _legacy_tuple(key: list) -> bool:
    """PyTorch still reads a short list holding slices, tensors or lists as a tuple."""
    return len(key) < 32 and any(
        isinstance(e, (slice, list, tuple, Tensor, np.ndarray)) or e is None or e is Ellipsis
        for e in key
    )


def _entries(key) -> list:
    if type(key) is tuple:
        items = key
    elif type(key) is list and _legacy_tuple(key):
        warnings.warn(
            "Using a non-tuple sequence for multidimensional indexing is deprecated; use "
            "x[tuple(seq)] instead of x[seq].", UserWarning, stacklevel=4,
        )
        items = tuple(key)
    else:
        items = (key,)
    return [_entry(k) for k in items]


def _width(e) -> int:
    """How many dimensions of the indexed tensor an entry consumes."""
    if e is None or e is Ellipsis:
        return 0
    if type(e) is _ndarray and e.dtype == np.bool_:
        return e.ndim
    return 1


def _expand_ellipsis(entries: list, ndim: int) -> list:
    used = sum(_width(e) for e in entries)
    if used > ndim:
        if ndim == 0:
            raise IndexError(
                "invalid index of a 0-dim tensor. Use `tensor.item()` in Python or "
                "`tensor.item<T>()` in C++ to convert a 0-dim tensor to a number"
            )
        raise IndexError(f"too many indices for tensor of dimension {ndim}")
    out, done = [], False
    for e in entries:
        if e is Ellipsis:
            if not done:
                out.extend([slice(None)] * (ndim - used))
                done = True
        else:
            out.append(e)
    return out


def _check(entries: list, shape: tuple) -> None:
    """Bounds of ints and integer arrays, shapes of masks."""
    d = 0
    for e in entries:
        if type(e) is int:
            n = shape[d]
            if not -n <= e < n:
                raise IndexError(f"index {e} is out of bounds for dimension {d} with size {n}")
        elif type(e) is _ndarray:
            if e.dtype == np.bool_:
                part = shape[d : d + e.ndim]
                if e.shape != part:
                    j = next(i for i, (a, b) in enumerate(zip(e.shape, part)) if a != b)
                    raise IndexError(
                        f"The shape of the mask {list(e.shape)} at index {j} does not match "
                        f"the shape of the indexed tensor {list(shape)} at index {d + j}"
                    )
            elif e.size:
                check_bounds(e, shape[d], d, IndexError)
        d += _width(e)


def check_bounds(idx: np.ndarray, n: int, dim: int, exc=RuntimeError,
                 low: int | None = None) -> None:
    """Raise PyTorch's out-of-bounds error for the first index outside [low, n)."""
    low = -n if low is None else low
    if idx.size and (idx.min() < low or idx.max() >= n):
        bad = idx.flat[int(np.argmax((idx.reshape(-1) < low) | (idx.reshape(-1) >= n)))]
        raise exc(f"index {bad} is out of bounds for dimension {dim} with size {n}")


def _is_adjacent(entries: list, members) -> bool:
    pos = [i for i, e in enumerate(entries) if type(e) in members]
    return all(type(entries[i]) in (_ndarray, int) for i in range(pos[0], pos[-1] + 1))


def _pure_advanced(entries: list, shape: tuple) -> tuple:
    """An all-array NumPy key with PyTorch's result layout.

    PyTorch applies ints before advanced indexing, NumPy counts them as advanced indices;
    the two disagree on where the indexed dimensions go when an int is separated from the
    index arrays by a slice (`x[0, :, [1, 2]]`). Spelling every dimension as an index
    array that broadcasts to the wanted result removes the ambiguity.
    """
    entries = entries + [slice(None)] * (len(shape) - sum(_width(e) for e in entries))
    block = np.broadcast_shapes(*(
        (int(e.sum()),) if e.dtype == np.bool_ else e.shape
        for e in entries if type(e) is _ndarray
    ))
    target, slots, p, d = [], [], None, 0  # result shape; result axis of each slice
    for e in entries:
        slots.append(len(target) if type(e) is slice else None)
        if type(e) is slice:
            target.append(len(range(*e.indices(shape[d]))))
        elif e is None:
            target.append(1)
        elif type(e) is _ndarray and p is None:
            p = len(target)
            target.extend(block)
        d += _width(e)
    tail = (1,) * (len(target) - p - len(block))
    key, d = [], 0
    for e, j in zip(entries, slots):
        if j is not None:
            rng = np.arange(*e.indices(shape[d]))
            key.append(rng.reshape((-1,) + (1,) * (len(target) - j - 1)))
        elif type(e) is int:
            key.append(e)
        elif type(e) is _ndarray:
            parts = (e,) if e.dtype != np.bool_ else np.nonzero(e) if e.ndim else ()
            key.extend(a.reshape(a.shape + tail) for a in parts)
        d += _width(e)
    # The first entry carries the full result shape (a 0-d bool adds an axis no array has).
    key[0] = np.broadcast_to(key[0], tuple(target))
    return tuple(key)


def _check_broadcast(arrays: list) -> None:
    shapes = [(int(a.sum()),) if a.dtype == np.bool_ else a.shape for a in arrays]
    try:
        np.broadcast_shapes(*shapes)
    except ValueError:
        raise IndexError(
            "shape mismatch: indexing tensors could not be broadcast together with shapes "
            + ", ".join(str(list(s)) for s in shapes)
        ) from None


def _parse(key, shape: tuple):
    """(NumPy key, basic-index node class or None when the key is advanced)."""
    entries = _expand_ellipsis(_entries(key), len(shape))
    _check(entries, shape)
    advanced = [e for e in entries if type(e) is _ndarray]
    if not advanced:
        if type(key) is slice:
            return tuple(entries) + (Ellipsis,), SliceBackward0
        cls, d = AliasBackward0, 0
        for e in entries:
            if type(e) is int:
                cls = SelectBackward0
            elif e is None:
                cls = _UnsqueezeIndex
                continue
            elif not (e.start in (None, 0) and e.step in (None, 1)
                      and e.indices(shape[d])[1] == shape[d]):
                cls = SliceBackward0  # PyTorch skips only slices spelled from 0 to the end
            d += 1
        return tuple(entries) + (Ellipsis,), cls
    _check_broadcast(advanced)
    if any(type(e) is int for e in entries) and _is_adjacent(entries, (_ndarray,)) and not (
        _is_adjacent(entries, (_ndarray, int))
    ):
        return _pure_advanced(entries, shape), None
    return tuple(entries), None


def index_key(key, shape: tuple | None = None) -> tuple:
    """The NumPy key equivalent to PyTorch's reading of `key` (Tensors become arrays).

    With `shape` (the indexed tensor's), the key is also checked, raising PyTorch's
    IndexError for out-of-bounds indices, too many indices or masks of the wrong shape,
    and ints mixed with index arrays are laid out as PyTorch does.
    """
    if shape is None:
        return tuple(_entries(key))
    return _parse(key, tuple(shape))[0]


# ----- x[key] -----------------------------------------------------------------------------
def _has_int_arrays(key: tuple) -> bool:
    return any(type(k) is _ndarray and k.dtype != np.bool_ for k in key)


def _index_put_zeros(g, shape, key):
    out = np.zeros(shape, g.dtype)
    if _has_int_arrays(key):
        np.add.at(out, key, g)  # repeated indices accumulate
    else:
        out[key] = g
    return out


class IndexBackward0(Op):
    needs = ((),)

    @staticmethod
    def forward(x, key):
        return x[key]

    def backward(self, g):
        return _index_put(g, self._shapes[0][0], self.args[0])


class IndexPutBackward0(Op):
    """The gradient of `x[key]`: zeros of x's shape with `g` added at `key`."""

    needs = ((),)
    forward = staticmethod(_index_put_zeros)

    def backward(self, gg):
        return _index(gg, self.args[1])


_index = unary(IndexBackward0)
_index_put = unary(IndexPutBackward0)


def getitem(x: Tensor, key) -> Tensor:
    """`x[key]`: a view for basic keys, a copy for integer/boolean index tensors."""
    if type(key) is int:  # the common case, without parsing
        shape = x._data.shape
        if shape and -shape[0] <= key < shape[0]:
            return basic_index(x, (key, Ellipsis), SelectBackward0)
    np_key, cls = _parse(key, x._data.shape)
    if cls is not None:
        return basic_index(x, np_key, cls)
    return _index(x, np_key)


# ----- gather / scatter ---------------------------------------------------------------
def _along(index: np.ndarray, dim: int) -> tuple:
    """The NumPy key picking `index[i, j, ...]` along `dim` at each position of `index`."""
    nd = index.ndim
    return tuple(
        index if d == dim else np.arange(n).reshape((n,) + (1,) * (nd - d - 1))
        for d, n in enumerate(index.shape)
    )


def _index_array(index, fn: str) -> np.ndarray:
    arr = index._data if isinstance(index, Tensor) else np.asarray(index)
    if arr.dtype.kind not in "iu":
        raise RuntimeError(f"{fn}(): Expected dtype int32/int64 for index")
    return arr


def _check_along(fn: str, shape: tuple, dim: int, idx: np.ndarray, src: tuple | None = None):
    if idx.ndim != len(shape) and not (idx.ndim <= 1 and len(shape) <= 1):
        what = "input" if fn == "gather" else "self"
        raise RuntimeError(
            f"Index tensor must have the same number of dimensions as {what} tensor"
        )
    for d, (i, s) in enumerate(zip(idx.shape, shape)):
        if d != dim and i > s:
            if fn == "gather":
                raise RuntimeError(
                    f"Size does not match at dimension {d} expected index {list(idx.shape)} to "
                    f"be no larger than self {list(shape)} apart from dimension {dim}"
                )
            raise RuntimeError(
                f"Expected index {list(idx.shape)} to be no larger than self {list(shape)} "
                f"apart from dimension {dim}"
            )
    if src is not None and any(i > s for i, s in zip(idx.shape, src)):
        raise RuntimeError(
            f"Expected index {list(idx.shape)} to be no larger than self {list(shape)} apart "
            f"from dimension {dim} and to be no larger size than src {list(src)}"
        )
    if shape:
        check_bounds(idx, shape[dim], dim, RuntimeError, low=0)


def _fit(g: Tensor, shape: tuple) -> Tensor:
    """Pad a gradient of the index's shape with zeros up to `shape` (a larger src)."""
    if g._data.shape == tuple(shape):
        return g
    key = tuple(slice(0, n) for n in g._data.shape) + (Ellipsis,)
    return _slice_put(g, tuple(shape), key)


class GatherBackward0(Op):
    needs = ((),)

    @staticmethod
    def forward(x, dim, idx):
        return x[_along(idx, dim)] if x.ndim else np.take(x.reshape(1), idx)

    def backward(self, g):
        dim, idx = self.args
        zeros = _make(np.zeros(self._shapes[0][0], g._data.dtype), False, None)
        return _scatter_add(zeros, dim, idx, g)


class ScatterAddBackward0(Op):
    needs = ((), ())

    @staticmethod
    def forward(x, src, dim, idx):
        out = x.copy()
        part = src[tuple(slice(0, n) for n in idx.shape)]
        np.add.at(out, _along(idx, dim), part.astype(x.dtype, copy=False))
        return out

    def backward(self, g):
        dim, idx = self.args
        need_x, need_src = self.needs_input_grad
        gsrc = _fit(_gather(g, dim, idx), self._shapes[1][0]) if need_src else None
        return (g if need_x else None), gsrc


class ScatterBackward0(Op):
    needs = ((), ())

    @staticmethod
    def forward(x, src, dim, idx):
        out = x.copy()
        out[_along(idx, dim)] = src[tuple(slice(0, n) for n in idx.shape)]
        return out

    def backward(self, g):
        dim, idx = self.args
        need_x, need_src = self.needs_input_grad
        gx = _scatter_value(g, dim, idx, 0) if need_x else None
        gsrc = _fit(_gather(g, dim, idx), self._shapes[1][0]) if need_src else None
        return gx, gsrc


class ScatterBackward1(Op):
    needs = ((),)

    @staticmethod
    def forward(x, dim, idx, value):
        out = x.copy()
        out[_along(idx, dim)] = value
        return out

    def backward(self, g):
        dim, idx, _ = self.args
        return _scatter_value(g, dim, idx, 0)


_gather = unary(GatherBackward0)
_scatter_value = unary(ScatterBackward1)


def _two(cls, x: Tensor, src: Tensor, args: tuple) -> Tensor:
    out = cls.forward(x._data, src._data, *args)
    if _tracking.get() and (x._requires_grad or src._requires_grad):
        return record(cls, out, (x, src), args)
    return _make(out, False, None)


def _scatter_add(x: Tensor, dim: int, idx: np.ndarray, src: Tensor) -> Tensor:
    return _two(ScatterAddBackward0, x, src, (dim, idx))


def gather(input: Tensor, dim: int, index: Tensor, *, sparse_grad: bool = False) -> Tensor:
    """out[i][j][k] = input[i][index[i][j][k]][k] (for dim=1); index may be smaller."""
    shape = input._data.shape
    d = _wrap_dim(dim, len(shape))
    idx = _index_array(index, "gather")
    _check_along("gather", shape, d, idx)
    return _gather(input, d, idx)


def scatter(input: Tensor, dim: int, index: Tensor, src=None, *, value=None) -> Tensor:
    """A copy of `input` with `src[i][j][k]` (or `value`) written at index[i][j][k] along
    `dim`."""
    if src is None:
        src = value
    shape = input._data.shape
    d = _wrap_dim(dim, len(shape))
    idx = _index_array(index, "scatter")
    if isinstance(src, Tensor):
        _check_along("scatter", shape, d, idx, src._data.shape)
        return _two(ScatterBackward0, input, src, (d, idx))
    _check_along("scatter", shape, d, idx)
    return _scatter_value(input, d, idx, np.asarray(src).astype(input._data.dtype))


def scatter_add(input: Tensor, dim: int, index: Tensor, src: Tensor) -> Tensor:
    """A copy of `input` with `src[i][j][k]` added at index[i][j][k] along `dim`."""
    shape = input._data.shape
    d = _wrap_dim(dim, len(shape))
    idx = _index_array(index, "scatter_add")
    src = to_tensor(src, input)
    _check_along("scatter_add", shape, d, idx, src._data.shape)
    return _scatter_add(input, d, idx, src)


def take_along_dim(input: Tensor, indices: Tensor, dim: int | None = None) -> Tensor:
    """Pick values along `dim` at `indices`, broadcasting the other dimensions."""
    if dim is None:
        flat = reshape(input, (-1,))
        return gather(flat, 0, reshape(to_tensor(indices), (-1,)))
    shape, idx = input._data.shape, _index_array(indices, "take_along_dim")
    if idx.ndim != len(shape):
        raise RuntimeError(
            "torch.take_along_dim(): input and indices should have the same number of "
            f"dimensions, but got {len(shape)} dimensions for input, and {idx.ndim} "
            "dimensions for indices"
        )
    d = _wrap_dim(dim, len(shape))
    common = list(np.broadcast_shapes(
        tuple(1 if k == d else s for k, s in enumerate(shape)),
        tuple(1 if k == d else s for k, s in enumerate(idx.shape)),
    ))
    x_shape = tuple(shape[k] if k == d else s for k, s in enumerate(common))
    i_shape = tuple(idx.shape[k] if k == d else s for k, s in enumerate(common))
    x = input if x_shape == shape else expand(input, x_shape)
    check_bounds(idx, shape[d], d, RuntimeError)
    return _gather(x, d, np.broadcast_to(idx % max(shape[d], 1), i_shape))


# ----- index_select / index_add -------------------------------------------------------
class IndexSelectBackward0(Op):
    needs = ((),)

    @staticmethod
    def forward(x, dim, idx):
        return np.take(x, idx, axis=dim) if x.ndim else x.copy()

    def backward(self, g):
        dim, idx = self.args
        zeros = _make(np.zeros(self._shapes[0][0], g._data.dtype), False, None)
        return _index_add(zeros, g, (dim, idx))


class IndexAddBackward0(Op):
    needs = ((), ())

    @staticmethod
    def forward(x, src, dim, idx):
        out = x.copy()
        if x.ndim == 0:
            out += src.sum()
        else:
            # moveaxis gives views, so adding into them writes into `out`
            np.add.at(np.moveaxis(out, dim, 0), idx, np.moveaxis(src, dim, 0))
        return out

    def backward(self, g):
        dim, idx = self.args
        need_x, need_src = self.needs_input_grad
        return (g if need_x else None), (_index_select(g, dim, idx) if need_src else None)


_index_select = unary(IndexSelectBackward0)


def _index_add(x: Tensor, src: Tensor, args: tuple) -> Tensor:
    return _two(IndexAddBackward0, x, src, args)


def _vector_index(index, fn: str, n: int) -> np.ndarray:
    arr = index._data if isinstance(index, Tensor) else np.asarray(index)
    if arr.dtype.kind not in "iu":
        raise RuntimeError(f"{fn}(): Expected dtype int32 or int64 for index")
    if arr.ndim > 1:
        raise IndexError(f"{fn}(): Index is supposed to be a vector")
    arr = arr.reshape(-1)
    if arr.size and (arr.min() < 0 or arr.max() >= n):
        bad = arr[np.argmax((arr < 0) | (arr >= n))]
        raise RuntimeError(f"INDICES element is out of DATA bounds, id={bad} axis_dim={n}")
    return arr


def index_select(input: Tensor, dim: int, index: Tensor) -> Tensor:
    """The entries of `input` at `index` (a vector) along `dim`."""
    shape = input._data.shape
    d = _wrap_dim(dim, len(shape))
    idx = _vector_index(index, "index_select", shape[d] if shape else 1)
    if not shape and idx.size != 1:
        raise RuntimeError(
            f"index_select(): Index to scalar can have only 1 value, got {idx.size} value(s)"
        )
    return _index_select(input, d, idx)


def index_add(input: Tensor, dim: int, index: Tensor, source: Tensor, *, alpha=1) -> Tensor:
    """A copy of `input` with `alpha * source` added at `index` along `dim`."""
    shape = input._data.shape
    d = _wrap_dim(dim, len(shape))
    idx = _vector_index(index, "index_add", shape[d] if shape else 1)
    source = to_tensor(source, input)
    expected = shape[:d] + (idx.size,) + shape[d + 1 :] if shape else source._data.shape
    if source._data.shape != expected:
        raise RuntimeError(
            f"index_add_(): Source/destination tensor must have same slice shapes. "
            f"Destination slice shape: {list(shape[:d] + shape[d + 1:])} at dimension {d} and "
            f"source slice shape: {list(source._data.shape[:d] + source._data.shape[d + 1:])} "
            f"at dimension {d}."
        )
    if alpha != 1:
        source = source * alpha
    return _index_add(input, source, (d, idx))


# ----- masks ----------------------------------------------------------------------------
_MASK_DTYPE_NAMES = {
    "float32": "float", "float64": "double", "float16": "c10::Half", "int64": "long int",
    "int32": "int", "int16": "short int", "int8": "signed char", "uint8": "unsigned char",
}


def _mask(mask, fn: str) -> Tensor:
    mask = to_tensor(mask)
    dt = mask._data.dtype
    if dt != np.bool_:
        if fn == "masked_select":
            raise RuntimeError("masked_select: expected BoolTensor for mask")
        raise RuntimeError(
            f"{fn} only supports boolean masks, but got mask with dtype "
            f"{_MASK_DTYPE_NAMES.get(dt.name, dt.name)}"
        )
    return mask


def _broadcast_shape(a: tuple, b: tuple) -> tuple:
    try:
        return np.broadcast_shapes(a, b)
    except ValueError:
        pass
    for i in range(1, max(len(a), len(b)) + 1):
        x = a[-i] if i <= len(a) else 1
        y = b[-i] if i <= len(b) else 1
        if x != y and x != 1 and y != 1:
            raise RuntimeError(
                f"The size of tensor a ({x}) must match the size of tensor b ({y}) at "
                f"non-singleton dimension {max(len(a), len(b)) - i}"
            )
    raise AssertionError("unreachable")  # pragma: no cover


class MaskedFillBackward0(Op):
    needs = ((1,), ())

    @staticmethod
    def forward(x, mask, value):
        return np.where(mask, value, x)

    def backward(self, g):
        return where(self.saved_tensors[1], 0.0, g), None


class MaskedFillBackward1(Op):
    needs = ((1,), (), (1,))

    @staticmethod
    def forward(x, mask, value):
        return np.where(mask, value.astype(x.dtype), x)

    def backward(self, g):
        mask = self.saved_tensors[1]
        need_x, _, need_v = self.needs_input_grad
        gx = where(mask, 0.0, g) if need_x else None
        gv = where(mask, g, 0.0).sum() if need_v else None
        return gx, None, gv


def masked_fill(input: Tensor, mask: Tensor, value) -> Tensor:
    """A copy of `input` with `value` (a scalar or 0-d tensor) where `mask` is True."""
    mask = _mask(mask, "masked_fill_")
    _broadcast_shape(input._data.shape, mask._data.shape)
    if isinstance(value, Tensor):
        if value._data.ndim:
            raise RuntimeError(
                "masked_fill_ only supports a 0-dimensional value tensor, but got tensor with "
                f"{value._data.ndim} dimension(s)."
            )
        out = MaskedFillBackward1.forward(input._data, mask._data, value._data)
        if _tracking.get() and (input._requires_grad or value._requires_grad):
            return record(MaskedFillBackward1, out, (input, mask, value))
        return _make(out, False, None)
    fill = np.asarray(value).astype(input._data.dtype)
    out = MaskedFillBackward0.forward(input._data, mask._data, fill)
    if _tracking.get() and input._requires_grad:
        return record(MaskedFillBackward0, out, (input, mask), (fill,))
    return _make(out, False, None)


def _masked_select_arrays(x: np.ndarray, mask: np.ndarray) -> np.ndarray:
    shape = _broadcast_shape(x.shape, mask.shape)
    return np.broadcast_to(x, shape)[np.broadcast_to(mask, shape)]


class MaskedSelectBackward0(Op):
    needs = ((1,), ())

    @staticmethod
    def forward(x, mask):
        return _masked_select_arrays(x, mask)

    def backward(self, g):
        mask = self.saved_tensors[1]
        shape = np.broadcast_shapes(self._shapes[0][0], mask._data.shape)
        return _masked_scatter(g, mask, shape), None


class MaskedScatterBackward0(Op):
    """The gradient of masked_select: zeros with `g` written where the mask is True."""

    needs = ((),)

    @staticmethod
    def forward(g, mask, shape):
        out = np.zeros(shape, g.dtype)
        out[np.broadcast_to(mask, shape)] = g
        return out

    def backward(self, gg):
        return masked_select(gg, wrap(self.args[0]))


_masked_scatter_op = unary(MaskedScatterBackward0)


def _masked_scatter(g: Tensor, mask: Tensor, shape: tuple) -> Tensor:
    return _masked_scatter_op(g, mask._data, shape)


def masked_select(input: Tensor, mask: Tensor) -> Tensor:
    """The 1-d tensor of `input`'s entries where `mask` (broadcast) is True."""
    mask = _mask(mask, "masked_select")
    out = _masked_select_arrays(input._data, mask._data)
    if _tracking.get() and input._requires_grad:
        return record(MaskedSelectBackward0, out, (input, mask))
    return _make(out, False, None)


# ----- nonzero ----------------------------------------------------------------------------
def nonzero(input: Tensor, *, as_tuple: bool = False):
    """Indices of the non-zero entries: an (n, ndim) int64 tensor, or one per dim."""
    arr = input._data
    if as_tuple:
        return tuple(wrap(a.astype(np.int64)) for a in np.nonzero(np.atleast_1d(arr)))
    return wrap(np.argwhere(arr).astype(np.int64, copy=False))


def argwhere(input: Tensor) -> Tensor:
    return nonzero(input)


TENSOR_METHODS = {
    "__getitem__": getitem, "gather": gather, "scatter": scatter, "scatter_add": scatter_add,
    "take_along_dim": take_along_dim, "index_select": index_select, "index_add": index_add,
    "masked_fill": masked_fill, "masked_select": masked_select, "nonzero": nonzero,
    "argwhere": argwhere,
}
