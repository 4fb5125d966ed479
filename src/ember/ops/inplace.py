"""In-place ops: `add_`, `mul_`, `zero_`, `copy_`, `+=`, `t[key] = value`, ...

Every in-place op writes into the tensor's own array (views see the change) and bumps
the shared version counter, so a tensor saved for backward and then modified raises at
backward. Without a graph to record, the ops write with NumPy's `out=`; with one, the
machinery in `_write` records the change (see there).
"""

from __future__ import annotations

import numpy as np

from .. import _creation
from .._tensor import Tensor, _make
from . import elementwise as ew
from ._define import Op, _operands, record, scalar_types, to_tensor
from ._write import (
    C_NAMES,
    TORCH_NAMES,
    VIEW_OF_LEAF,
    CopySlices,
    IndexPutBackward0,
    begin_write,
    check_broadcast,
    check_cast,
    check_result,
    read_from_base,
    rebase,
    record_write,
    saves_first_input,
    view_positions,
    writable_array,
)
from .indexing import index_key

_ndarray = np.ndarray

__all__ = [
    "add_", "sub_", "mul_", "div_", "pow_", "neg_", "exp_", "log_", "sqrt_", "abs_",
    "tanh_", "sigmoid_", "relu_", "clamp_", "clamp_min_", "clamp_max_", "zero_", "fill_",
    "copy_", "uniform_", "normal_", "bernoulli_", "masked_fill_", "setitem",
]

# ----- arithmetic -----------------------------------------------------------------------
def _binary_(t: Tensor, other, ufunc, op, cls: type[Op]) -> Tensor:
    if begin_write(t, (other,)):
        return record_write(t, lambda old: op(old, other), saves_first_input(cls))
    x = writable_array(t)
    _, _, ad, bd = _operands(t, other)
    if type(bd) is _ndarray and bd.shape != x.shape:
        check_broadcast(x.shape, bd.shape)
    if ad is x and x.dtype.kind == "f" and (type(bd) is not _ndarray or bd.dtype == x.dtype):
        ufunc(x, bd, out=x)
    else:
        r = np.asarray(cls.forward(ad, bd))
        check_result(x, r)
        np.copyto(x, r, casting="unsafe")
    t._bump_version()
    return t


def _scaled(t: Tensor, other, alpha):
    if alpha == 1:
        return other
    if isinstance(alpha, float) and t._data.dtype.kind != "f" and not (
        isinstance(other, Tensor) and other._data.dtype.kind == "f"
    ):
        raise RuntimeError(
            "For integral input tensors, argument alpha must not be a floating point number."
        )
    if isinstance(other, Tensor):
        return ew.mul(other, alpha)
    return to_tensor(other, like=t)._data * alpha if not isinstance(
        other, scalar_types) else other * alpha


def add_(self: Tensor, other, *, alpha=1) -> Tensor:
    """self += alpha * other."""
    return _binary_(self, _scaled(self, other, alpha), np.add, ew.add, ew.AddBackward0)


def sub_(self: Tensor, other, *, alpha=1) -> Tensor:
    """self -= alpha * other."""
    return _binary_(self, _scaled(self, other, alpha), np.subtract, ew.sub, ew.SubBackward0)


def mul_(self: Tensor, other) -> Tensor:
    return _binary_(self, other, np.multiply, ew.mul, ew.MulBackward0)


def _rounded_div(a, b, mode):
    return ew.div(a, b, rounding_mode=mode)


def div_(self: Tensor, other, *, rounding_mode: str | None = None) -> Tensor:
    if rounding_mode is None:
        return _binary_(self, other, np.true_divide, ew.div, ew.DivBackward0)
    if rounding_mode not in ("trunc", "floor"):
        raise RuntimeError(
            "div expected rounding_mode to be one of None, 'trunc', or 'floor' but found "
            f"'{rounding_mode}'"
        )
    if begin_write(self, (other,)):
        return record_write(self, lambda old: _rounded_div(old, other, rounding_mode), False)
    x = writable_array(self)
    r = _rounded_div(_make(x), other, rounding_mode)._data
    check_result(x, r)
    np.copyto(x, r, casting="unsafe")
    self._bump_version()
    return self


def pow_(self: Tensor, exponent) -> Tensor:
    return _binary_(self, exponent, np.power, ew.pow, ew.PowBackward0)


# ----- unary ----------------------------------------------------------------------------
def _sigmoid_out(x, out):
    np.multiply(x, 0.5, out=out)
    np.tanh(out, out=out)
    out *= 0.5
    out += 0.5
    return out


def _relu_out(x, out):
    return np.maximum(x, 0, out=out)


def _unary_(t: Tensor, kernel, op, cls: type[Op]) -> Tensor:
    if begin_write(t):
        return record_write(t, op, saves_first_input(cls))
    x = writable_array(t)
    if x.dtype.kind == "f":
        kernel(x, out=x)
    else:
        r = np.asarray(cls.forward(x))
        # An integer input gives PyTorch's default float, whatever NumPy picked.
        check_result(x, r, "Float" if r.dtype.kind == "f" else None)
        np.copyto(x, r, casting="unsafe")
    t._bump_version()
    return t


def neg_(self: Tensor) -> Tensor:
    if self._data.dtype.kind == "b":
        raise RuntimeError(
            "Negation, the `-` operator, on a bool tensor is not supported. If you are trying "
            "to invert a mask, use the `~` or `logical_not()` operator instead."
        )
    return _unary_(self, np.negative, ew.neg, ew.NegBackward0)


def exp_(self: Tensor) -> Tensor:
    return _unary_(self, np.exp, ew.exp, ew.ExpBackward0)


def log_(self: Tensor) -> Tensor:
    return _unary_(self, np.log, ew.log, ew.LogBackward0)


def sqrt_(self: Tensor) -> Tensor:
    return _unary_(self, np.sqrt, ew.sqrt, ew.SqrtBackward0)


def abs_(self: Tensor) -> Tensor:
    return _unary_(self, np.abs, ew.abs, ew.AbsBackward0)


def tanh_(self: Tensor) -> Tensor:
    return _unary_(self, np.tanh, ew.tanh, ew.TanhBackward0)


def sigmoid_(self: Tensor) -> Tensor:
    return _unary_(self, _sigmoid_out, ew.sigmoid, ew.SigmoidBackward0)


def relu_(self: Tensor) -> Tensor:
    return _unary_(self, _relu_out, ew.relu, ew.ReluBackward0)


def clamp_(self: Tensor, min=None, max=None) -> Tensor:
    """Clamp into [min, max] in place; bounds may be numbers or tensors."""
    if min is None and max is None:
        raise RuntimeError("torch.clamp: At least one of 'min' or 'max' must not be None")
    if begin_write(self, (min, max)):
        return record_write(self, lambda old: ew.clamp(old, min, max), True)
    x = writable_array(self)
    lo = min._data if isinstance(min, Tensor) else min
    hi = max._data if isinstance(max, Tensor) else max
    for bound in (lo, hi):
        if type(bound) is _ndarray:
            check_broadcast(x.shape, bound.shape)
    floats = any(isinstance(b, float) or (type(b) is _ndarray and b.dtype.kind == "f")
                 for b in (lo, hi))
    if x.dtype.kind != "f" and floats:
        check_cast(np.dtype(np.float32), x.dtype, "Float")
    if lo is None:
        np.minimum(x, hi, out=x, casting="unsafe")
    elif hi is None:
        np.maximum(x, lo, out=x, casting="unsafe")
    else:
        np.clip(x, lo, hi, out=x, casting="unsafe")
    self._bump_version()
    return self


def clamp_min_(self: Tensor, min) -> Tensor:
    return clamp_(self, min=min)


def clamp_max_(self: Tensor, max) -> Tensor:
    return clamp_(self, max=max)


# ----- overwriting: zero_, fill_, copy_, masked_fill_, random fills ----------------------
class _Overwrite(Op):
    """Values that do not depend on the old ones: no gradient flows to the old tensor."""

    needs = ((),)

    def backward(self, g):
        return g * 0


class ZeroBackward0(_Overwrite):
    pass


class FillBackward2(_Overwrite):
    pass


class UniformBackward0(_Overwrite):
    pass


class NormalBackward0(_Overwrite):
    pass


class BernoulliBackward2(_Overwrite):
    pass


class FillBackward3(Op):
    """Filled with a 0-dim tensor: each element's gradient goes to it."""

    needs = ((), ())

    def backward(self, g):
        need_old, need_value = self.needs_input_grad
        return (g * 0 if need_old else None), (g.sum() if need_value else None)


class CopyBackwards(Op):
    needs = ((), ())

    def backward(self, g):
        need_old, need_src = self.needs_input_grad
        return (g * 0 if need_old else None), (g if need_src else None)


class MaskedFillBackward0(Op):
    needs = ((), ())

    def backward(self, g):
        mask = _make(self.args[0])
        need_old, need_value = self.needs_input_grad
        g_old = ew.where(mask, 0.0, g) if need_old else None
        g_value = ew.where(mask, g, 0.0).sum() if need_value else None
        return g_old, g_value


class MaskedFillBackward1(MaskedFillBackward0):
    """Filled with a 0-dim tensor."""


def _overwrite(t: Tensor, new: np.ndarray, cls: type[Op], operands: tuple = (),
               args: tuple = ()) -> Tensor:
    """Write `new` (any shape that broadcasts to t's) into t, recording `cls` if needed."""
    if begin_write(t, operands):
        x = t._data
        full = np.array(np.broadcast_to(new, x.shape), dtype=x.dtype)
        return record_write(t, lambda old: record(cls, full, (old, *operands), args), False,
                        strict_dtype=False)
    x = writable_array(t)
    np.copyto(x, new, casting="unsafe")
    t._bump_version()
    return t


def zero_(self: Tensor) -> Tensor:
    if not begin_write(self):
        x = writable_array(self)
        x.fill(0)
        self._bump_version()
        return self
    return _overwrite(self, np.zeros((), self._data.dtype), ZeroBackward0)


def _fill_value(value, what: str):
    if isinstance(value, Tensor):
        if value._data.ndim:
            raise RuntimeError(
                f"{what} only supports 0-dimension value tensor but got tensor with "
                f"{value._data.ndim} dimensions."
            )
        return value._data
    if not isinstance(value, scalar_types):
        raise TypeError(f"{what}(): argument 'value' must be a Number or a Tensor, not "
                        f"{type(value).__name__}")
    return value


def fill_(self: Tensor, value) -> Tensor:
    """Set every element to `value` (a number or a 0-dim tensor)."""
    v = _fill_value(value, "fill_")
    if isinstance(value, Tensor):
        return _overwrite(self, v, FillBackward3, (value,))
    if not begin_write(self):
        x = writable_array(self)
        x.fill(v)
        self._bump_version()
        return self
    return _overwrite(self, np.asarray(v), FillBackward2)


def copy_(self: Tensor, src: Tensor, non_blocking: bool = False) -> Tensor:
    """Copy `src` (broadcast to this shape, cast to this dtype) into this tensor."""
    if not isinstance(src, Tensor):
        raise TypeError(f"copy_(): argument 'src' must be Tensor, not {type(src).__name__}")
    check_broadcast(self._data.shape, src._data.shape)
    return _overwrite(self, src._data, CopyBackwards, (src,))


def masked_fill_(self: Tensor, mask: Tensor, value) -> Tensor:
    """Set the elements where `mask` is True to `value` (a number or 0-dim tensor)."""
    m = mask._data if isinstance(mask, Tensor) else np.asarray(mask)
    if m.dtype != np.bool_:
        raise RuntimeError(
            "masked_fill_ only supports boolean masks, but got mask with dtype "
            f"{C_NAMES.get(m.dtype.name, m.dtype.name)}"
        )
    if isinstance(value, Tensor) and value._data.ndim:
        raise RuntimeError(
            "masked_fill_ only supports a 0-dimensional value tensor, but got tensor with "
            f"{value._data.ndim} dimension(s)."
        )
    check_broadcast(self._data.shape, m.shape)
    v = value._data if isinstance(value, Tensor) else value
    if not begin_write(self, (value,)):
        x = writable_array(self)
        np.copyto(x, v, casting="unsafe", where=m)
        self._bump_version()
        return self
    m = np.broadcast_to(m, self._data.shape)
    new = np.where(m, np.asarray(v, dtype=self._data.dtype), self._data)
    if isinstance(value, Tensor):
        return _overwrite(self, new, MaskedFillBackward1, (value,), (m,))
    return _overwrite(self, new, MaskedFillBackward0, (to_tensor(value, like=self),), (m,))


def _random_dtype(t: Tensor, kernel: str) -> np.dtype:
    dt = t._data.dtype
    if dt.kind != "f":
        raise NotImplementedError(f'"{kernel}" not implemented for \'{TORCH_NAMES[dt.name]}\'')
    return dt


def _rng(generator):
    return (generator or _creation.default_generator)._rng


def _fill_random(t: Tensor, sample, cls: type[Op]) -> Tensor:
    """`sample(out)` writes the random values into an array of t's shape and dtype."""
    x = t._data
    if not begin_write(t):
        x = writable_array(t)
        if x.flags.c_contiguous and x.dtype in (np.float32, np.float64):
            sample(x)
        else:
            tmp = np.empty(x.shape, np.float64 if x.dtype == np.float64 else np.float32)
            sample(tmp)
            np.copyto(x, tmp, casting="unsafe")
        t._bump_version()
        return t
    tmp = np.empty(x.shape, np.float64 if x.dtype == np.float64 else np.float32)
    sample(tmp)
    return _overwrite(t, tmp.astype(x.dtype, copy=False), cls)


def uniform_(self: Tensor, a: float = 0.0, b: float = 1.0, *, generator=None) -> Tensor:
    """Fill with samples from U[a, b) drawn from ember's global (or the given) generator."""
    _random_dtype(self, "check_uniform_bounds")
    if a > b:
        raise RuntimeError(
            f"uniform_ expects to return a [from, to) range, but found from={a} > to={b}"
        )
    rng = _rng(generator)

    def sample(out):
        rng.random(out=out, dtype=out.dtype)
        if (a, b) != (0.0, 1.0):
            out *= b - a
            out += a

    return _fill_random(self, sample, UniformBackward0)


def normal_(self: Tensor, mean: float = 0.0, std: float = 1.0, *, generator=None) -> Tensor:
    """Fill with samples from N(mean, std**2)."""
    _random_dtype(self, "normal_kernel_cpu")
    if std < 0:
        raise RuntimeError(f"normal expects std >= 0.0, but found std {std}")
    rng = _rng(generator)

    def sample(out):
        rng.standard_normal(out=out, dtype=out.dtype)
        if std != 1.0:
            out *= std
        if mean != 0.0:
            out += mean

    return _fill_random(self, sample, NormalBackward0)


def bernoulli_(self: Tensor, p=0.5, *, generator=None) -> Tensor:
    """Fill with 1 with probability `p` (a number or a tensor broadcast to this shape), else 0."""
    pa = p._data if isinstance(p, Tensor) else p
    if type(pa) is _ndarray:
        check_broadcast(self._data.shape, pa.shape)
        if pa.size and (pa.min() < 0 or pa.max() > 1):
            raise RuntimeError("bernoulli_ expects all elements of p to be in [0, 1]")
    elif not 0 <= pa <= 1:
        raise RuntimeError(f"bernoulli_ expects p to be in [0, 1], but got p={pa}")
    draws = _rng(generator).random(self._data.shape) < pa
    return _overwrite(self, draws, BernoulliBackward2)


# ----- __setitem__ ----------------------------------------------------------------------
def _is_advanced(key) -> bool:
    items = key if isinstance(key, tuple) else (key,)
    return any(type(k) is _ndarray for k in items)


def _selection_error(x: np.ndarray, key, value: np.ndarray) -> RuntimeError:
    try:
        shape = x[key].shape
    except IndexError as exc:
        return exc
    return RuntimeError(
        f"shape mismatch: value tensor of shape {list(value.shape)} cannot be broadcast to "
        f"indexing result of shape {list(shape)}"
    )


def setitem(self: Tensor, key, value) -> None:
    """`self[key] = value` for ints, slices, None, Ellipsis, masks and integer arrays."""
    x = writable_array(self)
    key = index_key(key, x.shape)
    # PyTorch writes through a view of the tensor, hence the "view of a leaf" wording.
    recording = begin_write(self, (value,), VIEW_OF_LEAF)
    v = value._data if isinstance(value, Tensor) else value
    if not recording:
        try:
            x[key] = v
        except ValueError:
            raise _selection_error(x, key, np.asarray(v)) from None
        self._bump_version()
        return
    value = value if isinstance(value, Tensor) else to_tensor(value, like=self)
    base = self._base
    root = self if base is None else base
    advanced = _is_advanced(key)
    sub = None if advanced or base is not None else x[key]
    if type(sub) is _ndarray and sub.shape == x.shape and sub.strides == x.strides \
            and sub.__array_interface__["data"] == x.__array_interface__["data"]:
        # The whole tensor: PyTorch then records a plain fill_ or copy_.
        if value._data.ndim:
            copy_(self, value)
        else:
            _overwrite(self, value._data, FillBackward3, (value,))
        return
    if type(sub) is _ndarray:
        pos = view_positions(sub, x)
    else:
        everywhere = (np.arange(x.size).reshape(x.shape) if base is None
                      else view_positions(x, root._data))
        pos = np.asarray(everywhere[key])
    try:
        x[key] = value._data
    except ValueError:
        raise _selection_error(x, key, value._data) from None
    self._bump_version()
    unique = not advanced or np.unique(pos).size == pos.size
    rebase(root, pos, value, unique, IndexPutBackward0 if advanced else CopySlices)
    if base is not None:
        read_from_base(self, base)


# ----- operators ------------------------------------------------------------------------
def _iadd(self, other):
    return add_(self, other)


def _isub(self, other):
    return sub_(self, other)


def _imul(self, other):
    return mul_(self, other)


def _itruediv(self, other):
    return div_(self, other)


def _ipow(self, other):
    return pow_(self, other)


TENSOR_METHODS = {
    "add_": add_, "sub_": sub_, "subtract_": sub_, "mul_": mul_, "multiply_": mul_,
    "div_": div_, "divide_": div_, "true_divide_": div_, "pow_": pow_, "neg_": neg_,
    "negative_": neg_, "exp_": exp_, "log_": log_, "sqrt_": sqrt_, "abs_": abs_,
    "tanh_": tanh_, "sigmoid_": sigmoid_, "relu_": relu_, "clamp_": clamp_, "clip_": clamp_,
    "clamp_min_": clamp_min_, "clamp_max_": clamp_max_, "zero_": zero_, "fill_": fill_,
    "copy_": copy_, "uniform_": uniform_, "normal_": normal_, "bernoulli_": bernoulli_,
    "masked_fill_": masked_fill_, "__setitem__": setitem,
    "__iadd__": _iadd, "__isub__": _isub, "__imul__": _imul, "__itruediv__": _itruediv,
    "__ipow__": _ipow,
}
