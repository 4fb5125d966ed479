"""Sorting and selection: sort/argsort/msort, topk, kthvalue, median/nanmedian, mode,
unique/unique_consecutive, searchsorted/bucketize.

The selecting ops return PyTorch's named tuples (`values`, `indices`). Their gradient goes
back to the selected positions only (a scatter into zeros); the global median shares it
evenly among tied elements, as PyTorch does. Sorts are stable, with NaN ordered above
every number (last ascending, first descending).
"""

from __future__ import annotations

import numpy as np

from .._tensor import Tensor, _make, _wrap_dim
from ..autograd.grad_mode import _tracking
from ._define import OUT, Op, record, to_tensor, wrap
from .indexing import scatter
from .reduction import _check_nonempty, _even_share, _int_dim, _return_type, _type_name

__all__ = [
    "sort", "argsort", "msort", "topk", "kthvalue", "median", "nanmedian", "mode", "unique",
    "unique_consecutive", "searchsorted", "bucketize",
]

_SortResult = _return_type("sort")
_TopkResult = _return_type("topk")
_KthvalueResult = _return_type("kthvalue")
_MedianResult = _return_type("median")
_NanmedianResult = _return_type("nanmedian")
_ModeResult = _return_type("mode")


# ----- array helpers ---------------------------------------------------------------------

def _argsort(x: np.ndarray, axis: int, descending: bool) -> np.ndarray:
    """Stable argsort along `axis`; descending keeps tied elements in their input order."""
    if not descending:
        return np.argsort(x, axis=axis, kind="stable")
    # Sorting the reversed slice and reversing back keeps ties in input order.
    rev = np.argsort(np.flip(x, axis), axis=axis, kind="stable")
    return (x.shape[axis] - 1) - np.flip(rev, axis)


def _take(x: np.ndarray, idx: np.ndarray, axis: int) -> np.ndarray:
    return np.take_along_axis(x, idx, axis=axis)


def _first_nan(x: np.ndarray, axis: int) -> tuple[np.ndarray, np.ndarray] | None:
    """(slices holding a NaN, index of their first NaN) along `axis`, kept dims; None if
    there is no NaN."""
    if x.dtype.kind != "f":
        return None
    nan = np.isnan(x)
    has = nan.any(axis=axis, keepdims=True)
    if not has.any():
        return None
    return has, np.argmax(nan, axis=axis, keepdims=True)


def _index(idx: np.ndarray) -> Tensor:
    return _make(idx.astype(np.int64, copy=False), False, None)


# ----- the gradient of a selection -------------------------------------------------------

class _SelectBackward(Op):
    """Values picked at `indices` along `dim`: the gradient is scattered back there."""

    needs = ((),)

    def backward(self, g):
        idx, d, keepdim = self.args
        shape, dtype = self._shapes[0]
        if not shape:
            return g
        if not keepdim:
            g, idx = g.unsqueeze(d), np.expand_dims(idx, d)
        return scatter(wrap(np.zeros(shape, dtype)), d, idx, g)


class SortBackward0(_SelectBackward):
    pass


class SortBackward1(_SelectBackward):
    pass


class TopkBackward0(_SelectBackward):
    pass


class KthvalueBackward0(_SelectBackward):
    pass


class MedianBackward1(_SelectBackward):
    pass


class NanmedianBackward1(_SelectBackward):
    pass


class ModeBackward0(_SelectBackward):
    pass


def _selected(cls, x: Tensor, values: np.ndarray, idx: np.ndarray, d: int, keepdim: bool,
              result):
    """The (values, indices) named tuple of a selection, recording `cls` when tracking."""
    if x._requires_grad and _tracking.get():
        out = record(cls, values, (x,), (idx, d, keepdim))
    else:
        out = _make(np.asarray(values), False, None)
    return result(out, _index(idx))


def _squeeze(values: np.ndarray, idx: np.ndarray, d: int, keepdim: bool) -> tuple:
    if keepdim:
        return values, idx
    return values.squeeze(d), idx.squeeze(d)


# ----- sort, argsort, msort --------------------------------------------------------------

def _sorted(name: str, input, dim: int, descending: bool) -> tuple:
    x = input if isinstance(input, Tensor) else to_tensor(input)
    _int_dim(name, dim)
    xd = x._data
    d = _wrap_dim(dim, xd.ndim)
    if xd.ndim == 0:
        return x, xd.copy(), np.zeros((), np.int64), d
    idx = _argsort(xd, d, descending)
    return x, _take(xd, idx, d), idx, d


def sort(input: Tensor, dim: int = -1, descending: bool = False, *,
         stable: bool | None = None):
    """`(values, indices)` of `input` sorted along `dim` (a stable sort)."""
    x, values, idx, d = _sorted("sort", input, dim, descending)
    cls = SortBackward0 if stable is None else SortBackward1
    return _selected(cls, x, values, idx, d, True, _SortResult)


def argsort(input: Tensor, dim: int = -1, descending: bool = False,
            stable: bool = False) -> Tensor:
    """The indices that sort `input` along `dim`."""
    return _index(_sorted("argsort", input, dim, descending)[2])


def msort(input: Tensor) -> Tensor:
    """`input` sorted along its first dimension."""
    return sort(input, 0).values


# ----- topk, kthvalue --------------------------------------------------------------------

def topk(input: Tensor, k: int, dim: int = -1, largest: bool = True, sorted: bool = True):
    """The `k` largest (or smallest) elements along `dim`, in order, with their indices."""
    x, values, idx, d = _sorted("topk", input, dim, largest)
    n = x._data.shape[d] if x._data.ndim else 1
    if not 0 <= k <= n:
        raise RuntimeError("selected index k out of range")
    if x._data.ndim:
        key = (slice(None),) * d + (slice(0, k),)
        values, idx = values[key], idx[key]
    return _selected(TopkBackward0, x, values, idx, d, True, _TopkResult)


def kthvalue(input: Tensor, k: int, dim: int = -1, keepdim: bool = False):
    """The `k`-th smallest element (1-based) along `dim`, with its index."""
    x = input if isinstance(input, Tensor) else to_tensor(input)
    _int_dim("kthvalue", dim)
    xd = x._data
    d = _wrap_dim(dim, xd.ndim)
    n = xd.shape[d] if xd.ndim else 1
    if not 1 <= k <= n:
        raise RuntimeError(f"kthvalue(): selected number k out of range for dimension {d}")
    if xd.ndim == 0:
        return _selected(KthvalueBackward0, x, xd.copy(), np.zeros((), np.int64), d, True,
                         _KthvalueResult)
    # A partition is enough for one order statistic (NaN sorts last, as in a sort).
    idx = np.take(np.argpartition(xd, k - 1, axis=d), [k - 1], axis=d)
    values, idx = _squeeze(_take(xd, idx, d), idx, d, keepdim)
    return _selected(KthvalueBackward0, x, values, idx, d, keepdim, _KthvalueResult)


# ----- median, nanmedian, mode -----------------------------------------------------------

class MedianBackward0(Op):
    """The global median: the gradient is shared evenly among elements equal to it."""

    needs = ((0, OUT),)

    def backward(self, g):
        x, out = self.saved_tensors[0], self.saved_tensors[-1]
        xd = x._data
        share = _even_share(xd, out._data.reshape((1,) * xd.ndim))
        return g * wrap(share.astype(xd.dtype, copy=False))


class NanmedianBackward0(MedianBackward0):
    pass


def _lower_median(x: np.ndarray, ignore_nan: bool) -> np.ndarray:
    flat = x.reshape(-1)
    if ignore_nan and flat.dtype.kind == "f":
        flat = flat[~np.isnan(flat)]
    if not flat.size:  # NaN, or the lowest integer, as PyTorch gives
        kind = x.dtype.kind
        return np.asarray(np.nan if kind == "f" else np.iinfo(x.dtype).min if kind in "iu" else 0,
                          x.dtype)
    if not ignore_nan and flat.dtype.kind == "f" and np.isnan(flat).any():
        return np.asarray(np.nan, x.dtype)
    return np.partition(flat, (flat.size - 1) // 2)[(flat.size - 1) // 2]


def _median_dim(name: str, x: Tensor, dim: int, keepdim: bool, ignore_nan: bool):
    _int_dim(name, dim)
    xd = x._data
    d = _wrap_dim(dim, xd.ndim)
    if xd.ndim == 0:
        return xd.copy(), np.zeros((), np.int64), d
    _check_nonempty(name, xd, (d,))
    order = _argsort(xd, d, False)  # stable: the first of tied middle elements
    n = xd.shape[d]
    if ignore_nan and xd.dtype.kind == "f":
        count = n - np.isnan(xd).sum(axis=d, keepdims=True)
        pos = np.maximum(count - 1, 0) // 2
    else:
        pos = np.full(xd.shape[:d] + (1,) + xd.shape[d + 1:], (n - 1) // 2)
    idx = _take(order, pos, d)
    values = _take(xd, idx, d)
    if not ignore_nan:
        nan = _first_nan(xd, d)
        if nan is not None:  # a NaN makes the median NaN, at the first NaN's index
            idx = np.where(nan[0], nan[1], idx)
            values = np.where(nan[0], np.nan, values).astype(xd.dtype, copy=False)
    values, idx = _squeeze(values, idx, d, keepdim)
    return values, idx, d


def median(input: Tensor, dim: int | None = None, keepdim: bool = False):
    """The lower median of all elements; with `dim`, `(values, indices)` along it."""
    x = input if isinstance(input, Tensor) else to_tensor(input)
    if dim is None:
        out = _lower_median(x._data, False)
        if x._requires_grad and _tracking.get():
            return record(MedianBackward0, out, (x,))
        return wrap(out)
    values, idx, d = _median_dim("median", x, dim, keepdim, False)
    return _selected(MedianBackward1, x, values, idx, d, keepdim, _MedianResult)


def nanmedian(input: Tensor, dim: int | None = None, keepdim: bool = False):
    """Like `median`, ignoring NaNs (NaN only where a slice is all NaN)."""
    x = input if isinstance(input, Tensor) else to_tensor(input)
    if dim is None:
        out = _lower_median(x._data, True)
        if x._requires_grad and _tracking.get():
            return record(NanmedianBackward0, out, (x,))
        return wrap(out)
    values, idx, d = _median_dim("nanmedian", x, dim, keepdim, True)
    return _selected(NanmedianBackward1, x, values, idx, d, keepdim, _NanmedianResult)


def mode(input: Tensor, dim: int = -1, keepdim: bool = False):
    """The most frequent value along `dim` (the smallest on ties) and its last index."""
    x = input if isinstance(input, Tensor) else to_tensor(input)
    _int_dim("mode", dim)
    xd = x._data
    d = _wrap_dim(dim, xd.ndim)
    if xd.ndim == 0:
        return _selected(ModeBackward0, x, xd.copy(), np.zeros((), np.int64), d, True,
                         _ModeResult)
    _check_nonempty("mode", xd, (d,))
    moved = np.moveaxis(xd, d, -1)
    n = moved.shape[-1]
    rows = moved.reshape(-1, n)
    order = np.argsort(rows, axis=1, kind="stable")
    s = np.take_along_axis(rows, order, axis=1)
    change = s[:, 1:] != s[:, :-1]
    pos = np.arange(n)
    edge = np.ones((rows.shape[0], 1), bool)
    # Each position's run of equal sorted values: where it starts and where it ends.
    start = np.maximum.accumulate(np.where(np.hstack([edge, change]), pos, 0), axis=1)
    end_mark = np.where(np.hstack([change, edge]), pos, n)
    end = np.flip(np.minimum.accumulate(np.flip(end_mark, 1), axis=1), 1)
    best = np.argmax(end - start, axis=1)[:, None]  # first longest run: smallest value
    last = np.take_along_axis(end, best, axis=1)
    # A stable sort keeps equal values in input order: the run's end is the last index.
    idx = np.take_along_axis(order, last, axis=1)
    values = np.take_along_axis(s, last, axis=1)
    kept = moved.shape[:-1] + (1,)
    idx = np.moveaxis(idx.reshape(kept), -1, d)
    values = np.moveaxis(values.reshape(kept), -1, d)
    values, idx = _squeeze(values, idx, d, keepdim)
    return _selected(ModeBackward0, x, values, idx, d, keepdim, _ModeResult)


# ----- unique, unique_consecutive --------------------------------------------------------

class _NotDifferentiable(Op):
    """A node that exists (as in PyTorch) but whose gradient is not implemented."""

    needs = ((),)
    _what = ""

    def backward(self, g):
        raise NotImplementedError(f"the derivative for '{self._what}' is not implemented.")


class Unique2Backward0(_NotDifferentiable):
    _what = "_unique2"


class UniqueDimBackward0(_NotDifferentiable):
    _what = "unique_dim"


class UniqueConsecutiveBackward0(_NotDifferentiable):
    _what = "unique_consecutive"


def _unique_result(cls, x: Tensor, out: np.ndarray, inverse, counts, return_inverse: bool,
                   return_counts: bool):
    if x._requires_grad and _tracking.get():
        values = record(cls, out, (x,))
    else:
        values = wrap(out)
    if not return_inverse and not return_counts:
        return values
    result = (values,)
    if return_inverse:
        result += (_index(inverse),)
    if return_counts:
        result += (_index(counts),)
    return result


def unique(input: Tensor, sorted: bool = True, return_inverse: bool = False,
           return_counts: bool = False, dim: int | None = None):
    """The distinct elements (or slices along `dim`), sorted; optionally with the index of
    each input element in the result and the count of each distinct element."""
    x = input if isinstance(input, Tensor) else to_tensor(input)
    xd = x._data
    if dim is None:
        out, inverse, counts = np.unique(xd.reshape(-1), return_inverse=True,
                                         return_counts=True)
        return _unique_result(Unique2Backward0, x, out, inverse.reshape(xd.shape), counts,
                              return_inverse, return_counts)
    d = _wrap_dim(dim, xd.ndim)
    if xd.size == 0:
        out, inverse, counts = xd.copy(), np.zeros(0, np.int64), np.zeros(0, np.int64)
    else:
        out, inverse, counts = np.unique(xd, return_inverse=True, return_counts=True, axis=d)
    return _unique_result(UniqueDimBackward0, x, out, inverse.reshape(-1), counts,
                          return_inverse, return_counts)


def unique_consecutive(input: Tensor, return_inverse: bool = False,
                       return_counts: bool = False, dim: int | None = None):
    """Collapse each run of equal consecutive elements (or slices along `dim`) to one."""
    x = input if isinstance(input, Tensor) else to_tensor(input)
    xd = x._data
    if dim is None:
        rows, d = xd.reshape(-1, 1), 0
    else:
        d = _wrap_dim(dim, xd.ndim)
        rows = np.moveaxis(xd, d, 0).reshape(xd.shape[d] if xd.ndim else 1, -1)
    n = rows.shape[0]
    first = np.ones(n, bool)
    if n > 1:
        first[1:] = (rows[1:] != rows[:-1]).any(axis=1)
    starts = np.flatnonzero(first)
    inverse = np.cumsum(first) - 1
    counts = np.diff(np.append(starts, n))
    if dim is None:
        out = xd.reshape(-1)[starts]
        inverse = inverse.reshape(xd.shape)
    else:
        out = np.take(xd, starts, axis=d) if xd.ndim else xd.copy()
    return _unique_result(UniqueConsecutiveBackward0, x, out, inverse, counts,
                          return_inverse, return_counts)


# ----- searchsorted, bucketize -----------------------------------------------------------

def _search_rows(seq: np.ndarray, vals: np.ndarray, side: str) -> np.ndarray:
    """Per-row searchsorted of `vals` (B, k) in `seq` (B, m), without a loop over rows.

    Every element is replaced by its rank among all of them, and row r's ranks are offset
    by r times the number of ranks: the rows then form one sorted sequence.
    """
    b, m = seq.shape
    if m == 0:
        return np.zeros(vals.shape, np.int64)
    _, rank = np.unique(np.concatenate([seq.reshape(-1), vals.reshape(-1)]),
                        return_inverse=True)
    width = int(rank.max()) + 1
    offset = np.arange(b, dtype=np.int64)[:, None] * width
    keys = (rank[: seq.size].reshape(seq.shape) + offset).reshape(-1)
    found = np.searchsorted(keys, (rank[seq.size:].reshape(vals.shape) + offset), side)
    return found - np.arange(b, dtype=np.int64)[:, None] * m


def searchsorted(sorted_sequence: Tensor, input, *, out_int32: bool = False,
                 right: bool = False, side: str | None = None, sorter=None) -> Tensor:
    """The index where each element of `input` would be inserted into the innermost dim of
    `sorted_sequence` to keep it sorted (`right`/`side='right'`: after equal elements)."""
    seq = to_tensor(sorted_sequence)._data
    scalar = not isinstance(input, Tensor) and np.ndim(input) == 0
    vals = np.asarray(input._data if isinstance(input, Tensor) else input)
    if side is not None:
        if side not in ("left", "right"):
            raise RuntimeError(
                f"torch.searchsorted(): side can only be 'left' or 'right' but got {side}")
        if right and side == "left":
            raise RuntimeError(
                "torch.searchsorted(): side and right can't be set to opposites, got side of "
                "left while right was True")
    side = side or ("right" if right else "left")
    if sorter is not None:
        order = to_tensor(sorter)._data
        if order.dtype != np.int64:
            raise RuntimeError(
                "torch.searchsorted(): sorter must be a tensor of long dtype but got dtype "
                f"{_type_name(order.dtype)}")
        if order.shape != seq.shape:
            raise RuntimeError(
                "torch.searchsorted(): boundary and sorter must have the same size, but got "
                f"boundary tensor {list(seq.shape)}and got sorter tensor {list(order.shape)}")
        seq = np.take_along_axis(seq, order, axis=-1)
    if seq.ndim == 0:
        raise RuntimeError(
            "torch.searchsorted(): boundaries tensor should be 1 dimension or the first N-1 "
            "dimensions of boundaries tensor and input value tensor must match, but we got "
            f"boundaries tensor {list(seq.shape)} and input value tensor {list(vals.shape)}")
    if seq.ndim == 1:
        out = np.searchsorted(seq, vals, side)
    elif scalar or vals.ndim == 0:
        raise RuntimeError(
            "torch.searchsorted(): input value can be a scalar only when boundaries tensor "
            f"dimension is 1, but we got boundaries tensor dim({seq.ndim}) and input value's "
            f"dim({vals.ndim}) numel({vals.size})")
    elif seq.shape[:-1] != vals.shape[:-1]:
        raise RuntimeError(
            "torch.searchsorted(): boundaries tensor should be 1 dimension or the first N-1 "
            "dimensions of boundaries tensor and input value tensor must match, but we got "
            f"boundaries tensor {list(seq.shape)} and input value tensor {list(vals.shape)}")
    else:
        m = seq.shape[-1]
        out = _search_rows(seq.reshape(-1, m), vals.reshape(-1, vals.shape[-1]), side)
        out = out.reshape(vals.shape)
    return wrap(np.asarray(out, np.int32 if out_int32 else np.int64))


def bucketize(input, boundaries: Tensor, *, out_int32: bool = False,
              right: bool = False) -> Tensor:
    """The bucket of each element of `input` given 1-D sorted `boundaries`."""
    bd = to_tensor(boundaries)._data
    if bd.ndim != 1:
        raise RuntimeError(f"boundaries tensor must be 1 dimension, but got dim({bd.ndim})")
    return searchsorted(boundaries, input, out_int32=out_int32, right=right)


TENSOR_METHODS = {
    "sort": sort, "argsort": argsort, "msort": msort, "topk": topk, "kthvalue": kthvalue,
    "median": median, "nanmedian": nanmedian, "mode": mode, "unique": unique,
    "unique_consecutive": unique_consecutive,
}
