"""Reductions: sum/mean/prod, nansum/nanmean, max/min/amax/amin/aminmax/argmax, var/std
(and var_mean/std_mean), norm, logsumexp, softmax/log_softmax, the cumulative ops
(cumsum, cumprod, cummax/cummin, logcumsumexp), count_nonzero, and sum_to_size."""

from __future__ import annotations

import builtins
import warnings
from collections import namedtuple

import numpy as np

from .._tensor import Tensor, _make, _wrap_dim
from ..autograd.grad_mode import _mode, _tracking
from . import elementwise as _ew
from ._define import OUT, Op, record, to_tensor, unary, wrap

__all__ = [
    "sum", "mean", "sum_to_size", "prod", "max", "min", "amax", "amin", "argmax", "argmin",
    "var", "std", "logsumexp", "norm", "softmax", "log_softmax", "cumsum", "count_nonzero",
    "cumprod", "cummax", "cummin", "logcumsumexp", "var_mean", "std_mean", "nansum", "nanmean",
    "aminmax",
]

_INF = float("inf")


# ----- dims ------------------------------------------------------------------------------

def norm_dims(dim, ndim: int) -> tuple[int, ...] | None:
    """Normalise an int or tuple of dims to a sorted tuple of non-negative ints."""
    if dim is None:
        return None
    dims = (dim,) if isinstance(dim, (int, np.integer)) else tuple(dim)
    n = builtins.max(ndim, 1)
    out = []
    for d in dims:
        if not -n <= d < n:
            raise IndexError(
                f"Dimension out of range (expected to be in range of [{-n}, {n - 1}], "
                f"but got {d})"
            )
        out.append(int(d) % n)
    if len(set(out)) != len(out):
        dup = next(d for d in out if out.count(d) > 1)
        raise RuntimeError(f"dim {dup} appears multiple times in the list of dims")
    return tuple(sorted(out)) if ndim else ()


def _dims(dim, ndim: int) -> tuple[int, ...] | None:
    """Like `norm_dims`, but an empty dim list means every dim, as in PyTorch."""
    dims = norm_dims(dim, ndim)
    return None if dims == () else dims


def kept_shape(shape: tuple, dims: tuple | None) -> tuple:
    """The shape of a reduction over `dims` with keepdim=True."""
    if dims is None:
        return (1,) * len(shape)
    return tuple(1 if i in dims else s for i, s in enumerate(shape))


def expand_back(g: Tensor, shape: tuple, dims: tuple | None, keepdim: bool) -> Tensor:
    """Broadcast the gradient of a reduction back over the reduced dims."""
    if _mode.get() != 0:  # no graph of the backward itself: a read-only NumPy broadcast
        arr = g._data if keepdim else g._data.reshape(kept_shape(shape, dims))
        return _make(np.broadcast_to(arr, shape))
    if not keepdim:
        g = g.reshape(kept_shape(shape, dims))
    return g.expand(shape)


def _kept(t: Tensor, shape: tuple, dims: tuple | None, keepdim: bool) -> Tensor:
    """A reduction's result (or gradient) with the reduced dims back as size 1."""
    return t if keepdim else t.reshape(kept_shape(shape, dims))


def _type_name(np_dtype) -> str:
    return {"int64": "Long", "int32": "Int", "int16": "Short", "int8": "Char", "bool": "Bool",
            "uint8": "Byte", "float32": "Float", "float64": "Double", "float16": "Half"}.get(
        np.dtype(np_dtype).name, np.dtype(np_dtype).name)


def _np_dtype(dtype):
    if dtype is None:
        return None
    from .._dtypes import to_numpy_dtype

    return to_numpy_dtype(dtype)


def _cast(x: Tensor, dtype) -> Tensor:
    """`x` converted to `dtype` first (the `dtype=` argument of softmax, norm...)."""
    if type(x) is not Tensor and not isinstance(x, Tensor):
        x = to_tensor(x)
    return x if dtype is None else _ew.to_dtype(x, dtype)


def _safe_div(g: Tensor, d: Tensor) -> Tensor:
    """g / d, taken as 0 where d == 0 (without dividing by zero)."""
    zero = d._data == 0
    if not zero.any():
        return g / d
    zero = wrap(zero)
    return _ew.where(zero, 0.0, g / _ew.where(zero, 1.0, d))


def _check_nonempty(name: str, x: np.ndarray, dims: tuple | None) -> None:
    if x.size:
        return
    if dims is None:
        raise RuntimeError(
            f"{name}(): Expected reduction dim to be specified for input.numel() == 0. "
            "Specify the reduction dim with the 'dim' argument."
        )
    for d in dims:
        if x.shape[d] == 0:
            raise IndexError(f"{name}(): Expected reduction dim {d} to have non-zero size.")


def _int_dim(name: str, dim) -> None:
    if not isinstance(dim, (int, np.integer)) or isinstance(dim, bool):
        raise TypeError(
            f"{name}() received an invalid combination of arguments - got "
            f"({type(dim).__name__}), but expected (int dim, bool keepdim = False)"
        )


# ----- sum, mean, sum_to_size ------------------------------------------------------------

_add_reduce = np.add.reduce


def _sum(x, dims, keepdim, dtype):
    # np.add.reduce is np.sum without its Python-level dispatch (same pairwise summation).
    if dtype is None and x.dtype.kind in "biu":
        dtype = np.int64
    return _add_reduce(x, axis=dims, keepdims=keepdim, dtype=dtype)


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
    if dtype is not None or x.dtype.itemsize < 4:  # float16 accumulates in float32
        return np.mean(x, axis=dims, keepdims=keepdim, dtype=dtype)
    total = _add_reduce(x, axis=dims, keepdims=keepdim)
    count = x.size if dims is None else _count(x.shape, dims)
    if type(total) is not np.ndarray:
        return np.asarray(total / count if count else np.nan, dtype=x.dtype)
    return np.true_divide(total, count, out=total) if count else total * np.nan


def _count(shape: tuple, dims: tuple) -> int:
    n = 1
    for d in dims:
        n *= shape[d]
    return n


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


def sum(x: Tensor, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """Sum over `dim` (int or tuple; all dims when None or empty)."""
    if dim is None:
        return _sum0(x, None, keepdim, _np_dtype(dtype))
    return _sum1(x, _dims(dim, x._data.ndim), keepdim, _np_dtype(dtype))


def mean(x: Tensor, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """Mean over `dim` (int or tuple; all dims when None or empty)."""
    if dim is None:
        return _mean0(x, None, keepdim, _np_dtype(dtype))
    return _mean1(x, _dims(dim, x._data.ndim), keepdim, _np_dtype(dtype))


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


# ----- prod ------------------------------------------------------------------------------

def _prod(x, dims, keepdim, dtype):
    if x.dtype.kind in "biu" and dtype is None:
        dtype = np.int64
    return np.prod(x, axis=dims, keepdims=keepdim, dtype=dtype)


class ProdBackward0(Op):
    needs = ((0, OUT),)
    forward = staticmethod(_prod)

    def backward(self, g):
        x, out = self.saved_tensors[0], self.saved_tensors[-1]
        dims, keepdim, _ = self.args
        shape = self._shapes[0][0]
        if not shape:
            return g
        g = _kept(g, shape, dims, keepdim)
        zero = x._data == 0
        if not zero.any():
            return g * _kept(out, shape, dims, keepdim) / x
        if _tracking.get():  # create_graph: a form that stays differentiable at the zeros
            return g * _prod_of_others(x, dims)
        # d prod / d x_i is the product of the others: the product of the non-zero
        # entries where x_i is the only zero, 0 where there are more zeros.
        nzeros = zero.sum(axis=dims, keepdims=True)
        zero_t = wrap(zero)
        safe = _ew.where(zero_t, 1.0, x)
        others = _prod0(safe, None, True, None) if dims is None else _prod1(safe, dims, True, None)
        return g * _ew.where(wrap(nzeros == 0), others / safe,
                             _ew.where(wrap(zero & (nzeros == 1)), others, 0.0))


def _prod_of_others(x: Tensor, dims: tuple | None) -> Tensor:
    """For each element, the product of the other elements of its slice over `dims`.

    Row i of an n x n matrix holds the slice with element i replaced by 1; its product
    is built from differentiable ops only, so higher derivatives stay exact at zeros.
    """
    shape = tuple(x.shape)
    red = list(range(len(shape))) if dims is None else list(dims)
    keep = [d for d in range(len(shape)) if d not in red]
    order = keep + red
    n = int(np.prod([shape[d] for d in red]))
    moved = x.permute(order).reshape(*[shape[d] for d in keep], 1, n)
    eye = wrap(np.eye(n, dtype=bool))
    others = _prod1(_ew.where(eye, 1.0, moved), (len(keep) + 1,), False, None)
    others = others.reshape(*[shape[d] for d in order])
    return others.permute(tuple(int(i) for i in np.argsort(order)))


class ProdBackward1(ProdBackward0):
    pass


_prod0, _prod1 = unary(ProdBackward0), unary(ProdBackward1)


def prod(x: Tensor, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """Product over `dim` (one int; all elements when None)."""
    if dim is None:
        return _prod0(x, None, False, _np_dtype(dtype))
    _int_dim("prod", dim)
    return _prod1(x, norm_dims(dim, x._data.ndim) or None, keepdim, _np_dtype(dtype))


# ----- max, min, amax, amin, argmax, argmin ----------------------------------------------

def _even_share(x: np.ndarray, out: np.ndarray) -> np.ndarray:
    """Each element's share of the gradient of a max/min: 1/count on ties, NaNs win."""
    mask = x == out
    nan = np.isnan(x) if x.dtype.kind == "f" else None
    if nan is not None and nan.any():
        mask |= nan
    # The sum over the broadcast (reduced) axes: the number of winners in each slice.
    axes = tuple(i for i, (a, b) in enumerate(zip(x.shape, out.shape)) if a != b) or None
    count = np.sum(mask, axis=axes, keepdims=True, dtype=x.dtype)
    return mask / count


class _ExtremumBackward(Op):
    """max()/min()/amax()/amin(): the gradient is split evenly among tied extrema."""

    needs = ((0, OUT),)

    def backward(self, g):
        x, out = self.saved_tensors[0], self.saved_tensors[-1]
        dims, keepdim = self.args
        shape = self._shapes[0][0]
        share = _even_share(x._data, out._data.reshape(kept_shape(shape, dims)))
        return _kept(g, shape, dims, keepdim) * wrap(share.astype(x._data.dtype, copy=False))


class MaxBackward1(_ExtremumBackward):
    @staticmethod
    def forward(x, dims, keepdim):
        return np.max(x, axis=dims, keepdims=keepdim)


class MinBackward1(_ExtremumBackward):
    @staticmethod
    def forward(x, dims, keepdim):
        return np.min(x, axis=dims, keepdims=keepdim)


class AmaxBackward0(MaxBackward1):
    pass


class AminBackward0(MinBackward1):
    pass


_max_all, _min_all = unary(MaxBackward1), unary(MinBackward1)
_amax, _amin = unary(AmaxBackward0), unary(AminBackward0)


class MaxBackward0(Op):
    """max(dim)/min(dim): the gradient goes to the position of the returned index."""

    needs = ((1,), ())

    def backward(self, g):
        idx = self.saved_tensors[1]
        d, keepdim = self.args
        shape = self._shapes[0][0]
        if not shape:
            return g, None
        mask = np.zeros(shape, dtype=self._shapes[0][1])
        np.put_along_axis(mask, idx if keepdim else np.expand_dims(idx, d), 1, axis=d)
        return _kept(g, shape, (d,), keepdim) * wrap(mask), None


class MinBackward0(MaxBackward0):
    pass


RETURN_TYPES: dict = {}  # name -> class, published as ember.return_types


def _return_type(name: str, fields: tuple = ("values", "indices")):
    """A named tuple that prints like PyTorch's `torch.return_types.<name>`."""
    cls = RETURN_TYPES[name] = namedtuple(name, fields)
    cls.__module__ = "ember.return_types"

    def __repr__(self) -> str:
        body = ",\n".join(f"{f}={v!r}" for f, v in zip(fields, self))
        return f"ember.return_types.{name}(\n{body})"

    cls.__repr__ = __repr__
    return cls


_MaxResult = _return_type("max")
_MinResult = _return_type("min")


def _extremum_dim(name, x, dim, keepdim, arg, cls, result):
    _int_dim(name, dim)
    xd = x._data
    d = _wrap_dim(dim, xd.ndim)
    if xd.ndim == 0:
        values, idx = xd.copy(), np.zeros((), np.int64)
    else:
        _check_nonempty(name, xd, (d,))
        idx = arg(xd, axis=d, keepdims=True)
        values = np.take_along_axis(xd, idx, axis=d)
        if not keepdim:
            idx, values = idx.squeeze(d), values.squeeze(d)
    if x._requires_grad and _tracking.get():
        out = record(cls, values, (x, idx), (d, keepdim))
    else:
        out = _make(values, False, None)
    return result(out, _make(idx.astype(np.int64, copy=False), False, None))


def max(input: Tensor, dim=None, keepdim: bool = False):
    """The largest element; with `dim`, `(values, indices)` along it; with a tensor, `maximum`."""
    x = input if isinstance(input, Tensor) else to_tensor(input)
    if isinstance(dim, Tensor):
        return _ew.maximum(x, dim)
    if dim is None:
        _check_nonempty("max", x._data, None)
        return _max_all(x, None, False)
    return _extremum_dim("max", x, dim, keepdim, np.argmax, MaxBackward0, _MaxResult)


def min(input: Tensor, dim=None, keepdim: bool = False):
    """The smallest element; with `dim`, `(values, indices)` along it; with a tensor, `minimum`."""
    x = input if isinstance(input, Tensor) else to_tensor(input)
    if isinstance(dim, Tensor):
        return _ew.minimum(x, dim)
    if dim is None:
        _check_nonempty("min", x._data, None)
        return _min_all(x, None, False)
    return _extremum_dim("min", x, dim, keepdim, np.argmin, MinBackward0, _MinResult)


def amax(x: Tensor, dim=(), keepdim: bool = False) -> Tensor:
    """The maximum over `dim` (int or tuple; all dims when empty); ties share the gradient."""
    dims = _dims(dim, x._data.ndim)
    _check_nonempty("amax", x._data, dims)
    return _amax(x, dims, keepdim)


def amin(x: Tensor, dim=(), keepdim: bool = False) -> Tensor:
    """The minimum over `dim` (int or tuple; all dims when empty); ties share the gradient."""
    dims = _dims(dim, x._data.ndim)
    _check_nonempty("amin", x._data, dims)
    return _amin(x, dims, keepdim)


def _arg(name: str, fn, x: Tensor, dim, keepdim: bool) -> Tensor:
    xd = to_tensor(x)._data
    if dim is None:
        if not xd.size:
            raise IndexError(
                f"{name}(): Expected reduction dim to be specified for input.numel() == 0."
            )
        out = np.asarray(fn(xd), dtype=np.int64)
        return wrap(out.reshape((1,) * xd.ndim) if keepdim else out)
    _int_dim(name, dim)
    d = _wrap_dim(dim, xd.ndim)
    if xd.ndim == 0:
        return wrap(np.zeros((), np.int64))
    _check_nonempty(name, xd, (d,))
    return wrap(fn(xd, axis=d, keepdims=keepdim).astype(np.int64, copy=False))


def argmax(x: Tensor, dim=None, keepdim: bool = False) -> Tensor:
    """Index of the largest element (of the flattened tensor when `dim` is None)."""
    return _arg("argmax", np.argmax, x, dim, keepdim)


def argmin(x: Tensor, dim=None, keepdim: bool = False) -> Tensor:
    """Index of the smallest element (of the flattened tensor when `dim` is None)."""
    return _arg("argmin", np.argmin, x, dim, keepdim)


# ----- var, std --------------------------------------------------------------------------

def _dof(shape: tuple, dims: tuple | None, correction) -> float:
    n = int(np.prod([shape[d] for d in dims] if dims is not None else shape))
    return n - correction


def _moments_forward(fn, name):
    def forward(x, dims, keepdim, correction):
        if _dof(x.shape, dims, correction) <= 0:
            warnings.warn(
                f"{name}(): degrees of freedom is <= 0. Correction should be strictly less than "
                "the reduction factor (input numel divided by output numel).",
                UserWarning, stacklevel=4,
            )
            with warnings.catch_warnings(), np.errstate(divide="ignore", invalid="ignore"):
                warnings.simplefilter("ignore", RuntimeWarning)
                return fn(x, axis=dims, ddof=correction, keepdims=keepdim)
        return fn(x, axis=dims, ddof=correction, keepdims=keepdim)

    return staticmethod(forward)


def _var_grad(g: Tensor, x: Tensor, dims, keepdim, correction, shape) -> Tensor:
    """d var / dx times g (g already scaled for std): 2 (x - mean) / (N - correction)."""
    dof = _dof(shape, dims, correction)
    scale = 2.0 / dof if dof else _INF
    return _kept(g, shape, dims, keepdim) * scale * (x - mean(x, dims, True))


class VarBackward0(Op):
    needs = ((0,),)
    forward = _moments_forward(np.var, "var")

    def backward(self, g):
        dims, keepdim, correction = self.args
        return _var_grad(g, self.saved_tensors[0], dims, keepdim, correction,
                         self._shapes[0][0])


class StdBackward0(Op):
    needs = ((0, OUT),)
    forward = _moments_forward(np.std, "std")

    def backward(self, g):
        x, out = self.saved_tensors[0], self.saved_tensors[-1]
        dims, keepdim, correction = self.args
        return _var_grad(_safe_div(g, out * 2), x, dims, keepdim, correction,
                         self._shapes[0][0])


_var, _std = unary(VarBackward0), unary(StdBackward0)


def _moment_args(name: str, x, dim, unbiased, correction) -> tuple:
    """(x, dims, correction) from var/std's argument forms."""
    if isinstance(dim, bool):  # var(x, False): the legacy `unbiased` positional form
        dim, unbiased = None, dim
    if unbiased is not None and correction is not None:
        raise TypeError(f"{name}(): cannot take both 'unbiased' and 'correction'")
    if correction is None:
        correction = 0 if unbiased is False else 1
    x = to_tensor(x)
    if x._data.dtype.kind != "f":
        raise RuntimeError("std and var only support floating point and complex dtypes")
    return x, _dims(dim, x._data.ndim), correction


def _moments(name: str, op, x, dim, unbiased, keepdim, correction) -> Tensor:
    x, dims, correction = _moment_args(name, x, dim, unbiased, correction)
    return op(x, dims, keepdim, correction)


def var(x: Tensor, dim=None, unbiased: bool | None = None, keepdim: bool = False, *,
        correction=None) -> Tensor:
    """Variance over `dim`, dividing by N - correction (correction=1 unless unbiased=False)."""
    return _moments("var", _var, x, dim, unbiased, keepdim, correction)


def std(x: Tensor, dim=None, unbiased: bool | None = None, keepdim: bool = False, *,
        correction=None) -> Tensor:
    """Standard deviation over `dim`; see `var` for `unbiased` and `correction`."""
    return _moments("std", _std, x, dim, unbiased, keepdim, correction)


# ----- logsumexp -------------------------------------------------------------------------

def _logsumexp(x, dims, keepdim):
    if x.size:
        shift = np.max(x, axis=dims, keepdims=True)
        # Slices that are all -inf (or hold an inf) need no shift, and must not get NaN.
        shift = np.where(np.isfinite(shift), shift, 0).astype(x.dtype, copy=False)
    else:
        shift = np.zeros(kept_shape(x.shape, dims), x.dtype)
    e = np.subtract(x, shift, out=np.empty_like(x))
    np.exp(e, out=e)
    with np.errstate(divide="ignore"):
        out = np.log(np.sum(e, axis=dims, keepdims=True))
    out += shift
    return out if keepdim else out.squeeze(axis=dims)


class LogsumexpBackward0(Op):
    needs = ((0, OUT),)
    forward = staticmethod(_logsumexp)

    def backward(self, g):
        x, out = self.saved_tensors[0], self.saved_tensors[-1]
        dims, keepdim = self.args
        shape = self._shapes[0][0]
        return _kept(g, shape, dims, keepdim) * (x - _kept(out, shape, dims, keepdim)).exp()


_logsumexp_op = unary(LogsumexpBackward0)


def logsumexp(x: Tensor, dim, keepdim: bool = False) -> Tensor:
    """log(sum(exp(x))) over `dim`, computed without overflow."""
    x = to_tensor(x)
    if x._data.dtype.kind != "f":
        from .._dtypes import get_default_dtype

        x = _ew.to_dtype(x, get_default_dtype())
    return _logsumexp_op(x, _dims(dim, x._data.ndim), keepdim)


# ----- softmax, log_softmax --------------------------------------------------------------

def _softmax(x, axis):
    if not x.size:
        return x.copy()
    e = np.subtract(x, np.max(x, axis=axis, keepdims=True), out=np.empty_like(x))
    np.exp(e, out=e)
    e /= np.sum(e, axis=axis, keepdims=True)
    return e


def _log_softmax(x, axis):
    if not x.size:
        return x.copy()
    s = np.subtract(x, np.max(x, axis=axis, keepdims=True), out=np.empty_like(x))
    e = np.exp(s)
    s -= np.log(np.sum(e, axis=axis, keepdims=True))
    return s


class SoftmaxBackward0(Op):
    needs = ((OUT,),)
    forward = staticmethod(_softmax)

    def backward(self, g):
        y = self.saved_tensors[-1]
        axis = self.args[0] or None
        return y * (g - sum(g * y, axis, True))


class LogSoftmaxBackward0(Op):
    needs = ((OUT,),)
    forward = staticmethod(_log_softmax)

    def backward(self, g):
        y = self.saved_tensors[-1]
        axis = self.args[0] or None
        return g - y.exp() * sum(g, axis, True)


_softmax_op, _log_softmax_op = unary(SoftmaxBackward0), unary(LogSoftmaxBackward0)


def _softmax_call(name: str, op, x, dim: int, dtype) -> Tensor:
    x = _cast(x, dtype)
    xd = x._data
    if dim is None:
        raise TypeError(f"{name}(): argument 'dim' (position 2) must be int, not NoneType")
    axis = (_wrap_dim(dim, xd.ndim),) if xd.ndim else ()
    if xd.dtype.kind != "f":
        last = "lastdim_" if not axis or axis[0] == xd.ndim - 1 else ""
        raise NotImplementedError(
            f'"{name}_{last}kernel_impl" not implemented for \'{_type_name(xd.dtype)}\''
        )
    return op(x, axis)


def softmax(x: Tensor, dim: int, dtype=None) -> Tensor:
    """exp(x) / sum(exp(x)) along `dim`, shifted by the max so that it cannot overflow."""
    return _softmax_call("softmax", _softmax_op, x, dim, dtype)


def log_softmax(x: Tensor, dim: int, dtype=None) -> Tensor:
    """x - logsumexp(x) along `dim`, computed stably."""
    return _softmax_call("log_softmax", _log_softmax_op, x, dim, dtype)


# ----- norm ------------------------------------------------------------------------------

def _vector_norm(x, p, dims, keepdim):
    if p == 2 and dims is None and not keepdim:
        flat = x.ravel()
        return np.sqrt(np.vdot(flat, flat))
    return np.linalg.vector_norm(x, ord=p, axis=dims, keepdims=keepdim)


class LinalgVectorNormBackward0(Op):
    needs = ((0, OUT),)
    forward = staticmethod(_vector_norm)

    def backward(self, g):
        x, out = self.saved_tensors[0], self.saved_tensors[-1]
        p, dims, keepdim = self.args
        shape = self._shapes[0][0]
        g = _kept(g, shape, dims, keepdim)
        if p == 0:
            return g.expand(shape) * 0
        if p == 1:
            return g * x.sign()
        out = _kept(out, shape, dims, keepdim)
        if p == 2:
            return x * _safe_div(g, out)
        if p in (_INF, -_INF):
            share = _even_share(np.abs(x._data), out._data).astype(x._data.dtype, copy=False)
            return g * x.sign() * wrap(share)
        ax = x.abs()
        if p < 1 and (x._data == 0).any():
            zero = wrap(x._data == 0)
            powed = _ew.where(zero, 0.0, _ew.where(zero, 1.0, ax) ** (p - 1))
        else:
            powed = ax ** (p - 1)
        return x.sign() * powed * _safe_div(g, out ** (p - 1))


_vector_norm_op = unary(LinalgVectorNormBackward0)


def vector_norm(x: Tensor, ord=2, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """The p-norm (`ord`) of `x` over `dim` (all elements when None), as torch.linalg's."""
    x = _cast(x, dtype)
    xd = x._data
    if xd.dtype.kind != "f":
        raise RuntimeError(
            "linalg.vector_norm: Expected a floating point or complex tensor as input. "
            f"Got {_type_name(xd.dtype)}"
        )
    dims = _dims(dim, xd.ndim)
    p = float(ord)
    if p in (_INF, -_INF) and not xd.size:
        if dims is None:
            raise RuntimeError(
                "linalg.vector_norm cannot compute the inf norm on an empty tensor because the "
                "operation does not have an identity"
            )
        for d in dims:
            if xd.shape[d] == 0:
                raise RuntimeError(
                    f"linalg.vector_norm cannot compute the inf norm on the dimension {d}"
                    "because this dimension is empty and the operation does not have an "
                    "identity"
                )
    return _vector_norm_op(x, p, dims, keepdim)


def norm(x: Tensor, p="fro", dim=None, keepdim: bool = False, dtype=None) -> Tensor:
    """The p-norm over `dim`: 'fro' (default, the 2-norm), 1, 2, inf, -inf, 0 or any p."""
    if isinstance(p, str):
        if p != "fro":
            raise RuntimeError(f"linalg.matrix_norm: Order {p} not supported.")
        if dim is not None and not isinstance(dim, (int, np.integer)) and len(dim) > 2:
            raise RuntimeError(
                f"linalg.matrix_norm: dim must be a 2-tuple. Got {' '.join(map(str, dim))}"
            )
        p = 2
    return vector_norm(x, 2 if p is None else p, dim, keepdim, dtype=dtype)


# ----- cumsum, count_nonzero -------------------------------------------------------------

def _cumsum(x, d, dtype):
    if x.dtype.kind in "biu" and dtype is None:
        dtype = np.int64
    if x.ndim == 0:
        return x.astype(dtype or x.dtype)
    return np.cumsum(x, axis=d, dtype=dtype)


def _reverse_cumsum(x, d):
    if x.ndim == 0:
        return x.copy()
    return np.flip(np.cumsum(np.flip(x, d), axis=d), d)


class CumsumBackward0(Op):
    needs = ((),)
    forward = staticmethod(_cumsum)

    def backward(self, g):
        return _reverse_cumsum_op(g, self.args[0])


class ReverseCumsumBackward0(Op):
    """Sum from each position to the end along a dim: the backward of cumsum."""

    needs = ((),)
    forward = staticmethod(_reverse_cumsum)

    def backward(self, g):
        return _cumsum_op(g, self.args[0], None)


_cumsum_op, _reverse_cumsum_op = unary(CumsumBackward0), unary(ReverseCumsumBackward0)


def cumsum(x: Tensor, dim: int, *, dtype=None) -> Tensor:
    """Running sum along `dim` (integers accumulate in int64)."""
    x = to_tensor(x)
    return _cumsum_op(x, _wrap_dim(dim, x._data.ndim), _np_dtype(dtype))


def count_nonzero(x: Tensor, dim=None) -> Tensor:
    """The number of non-zero elements over `dim` (all when None); an int64 tensor."""
    xd = to_tensor(x)._data
    dims = _dims(dim, xd.ndim)
    return wrap(np.asarray(np.count_nonzero(xd, axis=dims), dtype=np.int64))


# ----- two outputs of one node: var_mean, std_mean, aminmax ------------------------------

def _two_outputs(cls, x: Tensor, first: np.ndarray, second: np.ndarray, args: tuple) -> tuple:
    """Both results of one `cls` node (the first is its OUT); PyTorch records one node."""
    first, second = np.asarray(first), np.asarray(second)
    if not (x._requires_grad and _tracking.get()):
        return _make(first, False, None), _make(second, False, None)
    a = record(cls, first, (x,), args)
    node = a._grad_fn
    node.num_outputs = 2
    node._out_meta = ((first.shape, first.dtype), (second.shape, second.dtype))
    b = _make(second, True, node)
    b._output_nr = 1
    return a, b


def _mean_grad(g: Tensor, shape: tuple, dims, keepdim: bool) -> Tensor:
    count = _count(shape, dims) if dims is not None else int(np.prod(shape))
    g = expand_back(g, shape, dims, keepdim)
    return g / count if count else g * float("nan")


class VarMeanBackward0(Op):
    needs = ((0,),)

    def backward(self, g_var, g_mean):
        dims, keepdim, correction = self.args
        shape = self._shapes[0][0]
        return (_var_grad(g_var, self.saved_tensors[0], dims, keepdim, correction, shape)
                + _mean_grad(g_mean, shape, dims, keepdim))


class StdMeanBackward0(Op):
    needs = ((0, OUT),)

    def backward(self, g_std, g_mean):
        x, out = self.saved_tensors[0], self.saved_tensors[-1]
        dims, keepdim, correction = self.args
        shape = self._shapes[0][0]
        return (_var_grad(_safe_div(g_std, out * 2), x, dims, keepdim, correction, shape)
                + _mean_grad(g_mean, shape, dims, keepdim))


def var_mean(input: Tensor, dim=None, unbiased: bool | None = None, keepdim: bool = False, *,
             correction=None) -> tuple:
    """`(var, mean)` over `dim` in one pass; see `var` for `unbiased` and `correction`."""
    x, dims, correction = _moment_args("var_mean", input, dim, unbiased, correction)
    xd = x._data
    v = VarBackward0.forward(xd, dims, keepdim, correction)
    return _two_outputs(VarMeanBackward0, x, v, _mean(xd, dims, keepdim, None),
                        (dims, keepdim, correction))


def std_mean(input: Tensor, dim=None, unbiased: bool | None = None, keepdim: bool = False, *,
             correction=None) -> tuple:
    """`(std, mean)` over `dim` in one pass; see `var` for `unbiased` and `correction`."""
    x, dims, correction = _moment_args("std_mean", input, dim, unbiased, correction)
    xd = x._data
    sd = StdBackward0.forward(xd, dims, keepdim, correction)
    return _two_outputs(StdMeanBackward0, x, sd, _mean(xd, dims, keepdim, None),
                        (dims, keepdim, correction))


_AminmaxResult = _return_type("aminmax", ("min", "max"))


class AminmaxBackward0(Op):
    """Each of min and max shares its gradient evenly among tied elements."""

    needs = ((0,),)

    def backward(self, g_min, g_max):
        x = self.saved_tensors[0]
        dims, keepdim = self.args
        xd, shape = x._data, self._shapes[0][0]
        lo = _even_share(xd, np.min(xd, axis=dims, keepdims=True)).astype(xd.dtype, copy=False)
        hi = _even_share(xd, np.max(xd, axis=dims, keepdims=True)).astype(xd.dtype, copy=False)
        return (_kept(g_min, shape, dims, keepdim) * wrap(lo)
                + _kept(g_max, shape, dims, keepdim) * wrap(hi))


def aminmax(input: Tensor, *, dim: int | None = None, keepdim: bool = False):
    """`(min, max)` over `dim` (all elements when None), as a named tuple."""
    x = to_tensor(input)
    xd = x._data
    if dim is None:
        if not xd.size:
            raise RuntimeError(
                "aminmax(): cannot compute aminmax over an empty dimension as the operation "
                "has no identity.")
        dims = None
    else:
        dims = (_wrap_dim(dim, xd.ndim),) if xd.ndim else None
        if dims and not xd.shape[dims[0]]:
            raise IndexError(
                f"aminmax: Expected reduction dim {dims[0]} to have non-zero size.")
    lo = np.min(xd, axis=dims, keepdims=keepdim)
    hi = np.max(xd, axis=dims, keepdims=keepdim)
    return _AminmaxResult(*_two_outputs(AminmaxBackward0, x, lo, hi, (dims, keepdim)))


# ----- nansum, nanmean -------------------------------------------------------------------

def _nansum(x, dims, keepdim, dtype):
    if dtype is None and x.dtype.kind in "biu":
        dtype = np.int64
    return np.nansum(x, axis=dims, keepdims=keepdim, dtype=dtype)


class NansumBackward0(Op):
    needs = ((0,),)
    forward = staticmethod(_nansum)

    def backward(self, g):
        x = self.saved_tensors[0]
        dims, keepdim, _ = self.args
        g = expand_back(g, self._shapes[0][0], dims, keepdim)
        if x._data.dtype.kind != "f":
            return g
        return g * wrap(~np.isnan(x._data))


_nansum_op = unary(NansumBackward0)


def nansum(input: Tensor, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """Sum over `dim`, NaNs counting as zero."""
    x = to_tensor(input)
    return _nansum_op(x, _dims(dim, x._data.ndim), keepdim, _np_dtype(dtype))


def nanmean(input: Tensor, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """Mean over `dim` of the elements that are not NaN."""
    x = _cast(to_tensor(input), dtype)
    xd = x._data
    if xd.dtype.kind != "f":
        raise RuntimeError(
            "nanmean(): expected input to have floating point or complex dtype but got "
            f"{_type_name(xd.dtype)}")
    dims = _dims(dim, xd.ndim)
    count = np.asarray(np.sum(~np.isnan(xd), axis=dims, keepdims=keepdim, dtype=xd.dtype))
    count[count == 0] = np.nan  # an all-NaN slice gives NaN (as 0/0 would), without warnings
    return nansum(x, dims, keepdim) / wrap(count)


# ----- cumprod, cummax/cummin, logcumsumexp ----------------------------------------------

def _cumprod(x, d, dtype):
    if x.dtype.kind in "biu" and dtype is None:
        dtype = np.int64
    if x.ndim == 0:
        return x.astype(dtype or x.dtype)
    return np.cumprod(x, axis=d, dtype=dtype)


def _cumprod_grad(x: Tensor, out: Tensor, g: Tensor, d: int) -> Tensor:
    """The gradient of cumprod, exact with zeros and differentiable again.

    Without zeros it is reverse_cumsum(g * out) / x. Otherwise, with z the first zero of
    a slice, out = cumprod(y) * m where y is x with x_z replaced by 1 and m is x_z from z
    on (1 before): x_z gets sum_{j >= z} g_j cumprod(y)_j, every other element the
    gradient of cumprod(y) for g * m, found the same way (y has one zero fewer).
    """
    xd = x._data
    zero = xd == 0
    if not zero.any():
        return _reverse_cumsum_op(g * out, d) / x
    pos = np.arange(xd.shape[d]).reshape([-1 if i == d else 1 for i in range(xd.ndim)])
    first = np.where(zero.any(axis=d, keepdims=True), np.argmax(zero, axis=d, keepdims=True),
                     xd.shape[d])
    is_first = wrap(pos == first)
    y = _ew.where(is_first, 1.0, x)
    x_z = sum(_ew.where(is_first, x, 0.0), (d,), True)
    m = _ew.where(wrap(pos >= first), x_z, 1.0)
    cy = _cumprod_op(y, d, None)
    return _ew.where(is_first, _reverse_cumsum_op(g * cy, d), _cumprod_grad(y, cy, g * m, d))


class CumprodBackward0(Op):
    needs = ((0, OUT),)
    forward = staticmethod(_cumprod)

    def backward(self, g):
        x, out = self.saved_tensors[0], self.saved_tensors[-1]
        if x._data.ndim == 0:
            return g
        return _cumprod_grad(x, out, g, self.args[0])


_cumprod_op = unary(CumprodBackward0)


def cumprod(input: Tensor, dim: int, *, dtype=None) -> Tensor:
    """Running product along `dim` (integers accumulate in int64)."""
    x = to_tensor(input)
    return _cumprod_op(x, _wrap_dim(dim, x._data.ndim), _np_dtype(dtype))


_CummaxResult = _return_type("cummax")
_CumminResult = _return_type("cummin")


class CummaxBackward0(Op):
    """Each running extreme's gradient goes to the position it was taken from."""

    needs = ((),)

    def backward(self, g):
        from .indexing import scatter_add

        idx, d = self.args
        shape, dtype = self._shapes[0]
        if not shape:
            return g
        return scatter_add(wrap(np.zeros(shape, dtype)), d, idx, g)


class CumminBackward0(CummaxBackward0):
    pass


def _cum_extreme(input, dim: int, fn, cls, result):
    x = to_tensor(input)
    xd = x._data
    d = _wrap_dim(dim, xd.ndim)
    if xd.ndim == 0:
        values, idx = xd.copy(), np.zeros((), np.int64)
    else:
        values = fn.accumulate(xd, axis=d)
        taken = xd == values  # ties move the index forward, and so does each NaN
        if xd.dtype.kind == "f":
            taken |= np.isnan(xd)
        pos = np.arange(xd.shape[d]).reshape([-1 if i == d else 1 for i in range(xd.ndim)])
        idx = np.maximum.accumulate(np.where(taken, pos, 0), axis=d) if xd.size else (
            np.zeros(xd.shape, np.int64))
    if x._requires_grad and _tracking.get():
        out = record(cls, values, (x,), (idx, d))
    else:
        out = _make(values, False, None)
    return result(out, _make(idx.astype(np.int64, copy=False), False, None))


def cummax(input: Tensor, dim: int):
    """`(values, indices)` of the running maximum along `dim`."""
    return _cum_extreme(input, dim, np.maximum, CummaxBackward0, _CummaxResult)


def cummin(input: Tensor, dim: int):
    """`(values, indices)` of the running minimum along `dim`."""
    return _cum_extreme(input, dim, np.minimum, CumminBackward0, _CumminResult)


def _logcumsumexp(x, d):
    return x.copy() if x.ndim == 0 else np.logaddexp.accumulate(x, axis=d)


class LogcumsumexpBackward0(Op):
    """grad_i = sum_{j >= i} g_j exp(x_i - out_j), summed in log space for the positive and
    the negative parts of g separately so that nothing overflows."""

    needs = ((0, OUT),)
    forward = staticmethod(_logcumsumexp)

    def backward(self, g):
        x, out = self.saved_tensors[0], self.saved_tensors[-1]
        d = self.args[0]
        if x._data.ndim == 0:
            return g
        lowest = float(np.finfo(x._data.dtype).min)  # log(0), kept finite

        def part(mask: np.ndarray, gp: Tensor) -> Tensor:
            m = wrap(mask)
            log_g = _ew.where(m, _ew.where(m, gp, 1.0).log(), lowest)
            rev = _logcumsumexp_op((log_g - out).flip(d), d).flip(d)
            return (rev + x).exp()

        gd = g._data
        with np.errstate(over="ignore"):  # lowest + lowest is -inf, whose exp is the 0 meant
            return part(gd > 0, g) - part(gd < 0, -g)


_logcumsumexp_op = unary(LogcumsumexpBackward0)


def logcumsumexp(input: Tensor, dim: int) -> Tensor:
    """log(cumsum(exp(x))) along `dim`, computed without overflow."""
    x = to_tensor(input)
    if x._data.dtype.kind != "f":
        raise NotImplementedError(
            f'"logcumsumexp_out_cpu" not implemented for \'{_type_name(x._data.dtype)}\'')
    return _logcumsumexp_op(x, _wrap_dim(dim, x._data.ndim))


TENSOR_METHODS = {
    "sum": sum, "mean": mean, "sum_to_size": sum_to_size, "prod": prod, "max": max,
    "min": min, "amax": amax, "amin": amin, "argmax": argmax, "argmin": argmin, "var": var,
    "std": std, "logsumexp": logsumexp, "norm": norm, "softmax": softmax,
    "log_softmax": log_softmax, "cumsum": cumsum, "count_nonzero": count_nonzero,
    "cumprod": cumprod, "cummax": cummax, "cummin": cummin, "logcumsumexp": logcumsumexp,
    "nansum": nansum, "nanmean": nanmean, "aminmax": aminmax,
}
