"""Element-wise differentiable ops: arithmetic, exp/log and trig families, rounding and
remainders, activations, clamp.

Ops whose result is always floating (exp, sin, atan2...) give PyTorch's default float
dtype for integer and bool inputs, where NumPy would give float64 (or float16 for bool).
"""

from __future__ import annotations

import math

import numpy as np

from .._dtypes import _default, to_numpy_dtype
from .._tensor import Tensor
from ..autograd.grad_mode import _tracking
from ._define import OUT, Op, _operands, binary, record, to_tensor, unary, wrap

__all__ = [
    "add", "sub", "mul", "div", "pow", "neg", "exp", "log", "log1p", "sqrt", "rsqrt",
    "abs", "sign", "sin", "cos", "tanh", "sigmoid", "relu", "clamp", "maximum", "minimum",
    "clone", "to_dtype", "expm1", "log2", "square", "reciprocal", "where",
    "divide", "true_divide", "tan", "asin", "acos", "atan", "sinh", "cosh", "asinh", "acosh",
    "atanh", "atan2", "arcsin", "arccos", "arctan", "arcsinh", "arccosh", "arctanh", "arctan2",
    "log10", "exp2", "logaddexp", "logaddexp2", "xlogy", "erf", "erfc", "erfinv", "lerp",
    "hypot", "floor", "ceil", "round", "trunc", "fix", "frac", "fmod", "remainder",
    "floor_divide", "sgn", "signbit", "copysign", "nan_to_num", "float_power", "positive",
    "clamp_min", "clamp_max", "clip",
]

_LN2 = math.log(2.0)
_LN10 = math.log(10.0)
_ints = (int, bool, np.integer, np.bool_)


def _intlike(v) -> bool:
    """An integer or bool operand (array or Python/NumPy scalar)."""
    if type(v) is np.ndarray:
        return v.dtype.kind in "biu"
    return isinstance(v, _ints)


def _boollike(v) -> bool:
    if type(v) is np.ndarray:
        return v.dtype.kind == "b"
    return isinstance(v, (bool, np.bool_))


def _not_implemented(kernel: str, *operands) -> NotImplementedError:
    from .reduction import _type_name

    dt = np.result_type(*operands)
    return NotImplementedError(f'"{kernel}" not implemented for \'{_type_name(dt)}\'')


def _floating(fn):
    """The forward of an op with a floating result, from its float kernel `fn`."""

    def forward(x):
        if x.dtype.kind in "biu":
            x = x.astype(_default[0].np)
        return fn(x)

    forward.__name__ = getattr(fn, "__name__", "forward")
    forward.float_kernel = fn
    return forward


def _floating2(fn, kernel: str | None = None):
    """Like `_floating` for two operands; with `kernel`, integer operands are refused
    as PyTorch refuses them (NotImplementedError naming its kernel)."""

    def forward(a, b):
        if _intlike(a) and _intlike(b):
            if kernel is not None:
                raise _not_implemented(kernel, a, b)
            f = _default[0].np
            if type(a) is np.ndarray:
                a = a.astype(f)
            if type(b) is np.ndarray:
                b = b.astype(f)
        return fn(a, b)

    forward.__name__ = getattr(fn, "__name__", "forward")
    return forward


class AddBackward0(Op):
    needs = ((), ())
    forward = staticmethod(np.add)

    def backward(self, g):
        return g, g


class SubBackward0(Op):
    needs = ((), ())
    forward = staticmethod(np.subtract)

    def backward(self, g):
        return g, (-g if self.next_functions[1][0] is not None else None)


class MulBackward0(Op):
    needs = ((1,), (0,))
    forward = staticmethod(np.multiply)

    def backward(self, g):
        a, b, _ = self.saved_tensors
        need_a, need_b = self.needs_input_grad
        return (g * b if need_a else None), (g * a if need_b else None)


_F64 = np.dtype(np.float64)


def _true_divide(a, b):
    out = np.true_divide(a, b)
    if type(out) is np.ndarray and out.dtype is _F64:
        # int / int gives the default float in PyTorch, not float64.
        ints = (not isinstance(a, np.ndarray) or a.dtype.kind in "biu") and (
            not isinstance(b, np.ndarray) or b.dtype.kind in "biu")
        if ints and (isinstance(a, np.ndarray) or isinstance(b, np.ndarray)):
            out = out.astype(np.float32)
    return out


class DivBackward0(Op):
    needs = ((1,), (0, 1))
    forward = staticmethod(_true_divide)

    def backward(self, g):
        a, b, _ = self.saved_tensors
        need_a, need_b = self.needs_input_grad
        ga = g / b if need_a else None
        gb = -g * a / (b * b) if need_b else None
        return ga, gb


class PowBackward0(Op):
    needs = ((0, 1), (0, 1, OUT))
    forward = staticmethod(np.power)

    def backward(self, g):
        a, b, out = self.saved_tensors
        need_a, need_b = self.needs_input_grad
        ga = gb = None
        if need_a:
            if isinstance(b, Tensor):
                ga = where(b == 0, 0.0, g * b * a ** (b - 1))
            else:
                ga = g * 0.0 if b == 0 else g * b * a ** (b - 1)
        if need_b:
            # d(a**b)/db = a**b * log(a); taken as 0 where a == 0 and b >= 0, as PyTorch does.
            if isinstance(a, Tensor):
                gb = where((a == 0) & (b >= 0), 0.0, g * out * log(a))
            elif a == 0:
                gb = where(b >= 0, 0.0, g * out * float("-inf"))
            else:
                gb = g * out * (math.log(a) if a > 0 else float("nan"))
        return ga, gb


class PowBackward1(PowBackward0):
    """Tensor ** tensor."""


class PowBackward2(PowBackward0):
    """Number ** tensor."""


class NegBackward0(Op):
    needs = ((),)
    forward = staticmethod(np.negative)

    def backward(self, g):
        return -g


class ExpBackward0(Op):
    needs = ((OUT,),)
    forward = staticmethod(_floating(np.exp))

    def backward(self, g):
        return g * self.saved_tensors[-1]


class Expm1Backward0(Op):
    needs = ((OUT,),)
    forward = staticmethod(_floating(np.expm1))

    def backward(self, g):
        return g * (self.saved_tensors[-1] + 1)


class LogBackward0(Op):
    needs = ((0,),)
    forward = staticmethod(_floating(np.log))

    def backward(self, g):
        return g / self.saved_tensors[0]


class Log2Backward0(Op):
    needs = ((0,),)
    forward = staticmethod(_floating(np.log2))

    def backward(self, g):
        return g / (self.saved_tensors[0] * float(np.log(2.0)))


class Log1PBackward0(Op):
    needs = ((0,),)
    forward = staticmethod(_floating(np.log1p))

    def backward(self, g):
        return g / (self.saved_tensors[0] + 1)


class SqrtBackward0(Op):
    needs = ((OUT,),)
    forward = staticmethod(_floating(np.sqrt))

    def backward(self, g):
        return g / (2 * self.saved_tensors[-1])


def _rsqrt(x):
    return 1 / np.sqrt(x)


class RsqrtBackward0(Op):
    needs = ((OUT,),)
    forward = staticmethod(_floating(_rsqrt))

    def backward(self, g):
        out = self.saved_tensors[-1]
        return -0.5 * g * out * out * out


class ReciprocalBackward0(Op):
    needs = ((OUT,),)
    forward = staticmethod(_floating(np.reciprocal))

    def backward(self, g):
        out = self.saved_tensors[-1]
        return -g * out * out


class AbsBackward0(Op):
    needs = ((0,),)
    forward = staticmethod(np.abs)

    def backward(self, g):
        return g * sign(self.saved_tensors[0])


def _sign(x):
    return np.sign(x) if x.dtype.kind != "b" else x.copy()


class SignBackward0(Op):
    needs = ((),)
    forward = staticmethod(_sign)

    def backward(self, g):
        return g * 0


class SinBackward0(Op):
    needs = ((0,),)
    forward = staticmethod(_floating(np.sin))

    def backward(self, g):
        return g * cos(self.saved_tensors[0])


class CosBackward0(Op):
    needs = ((0,),)
    forward = staticmethod(_floating(np.cos))

    def backward(self, g):
        return -g * sin(self.saved_tensors[0])


class TanhBackward0(Op):
    needs = ((OUT,),)
    forward = staticmethod(_floating(np.tanh))

    def backward(self, g):
        out = self.saved_tensors[-1]
        return g * (1 - out * out)


def _sigmoid(x):
    # tanh form: one transcendental call and no overflow for large |x|.
    out = np.tanh(x * 0.5)
    out *= 0.5
    out += 0.5
    return out


class SigmoidBackward0(Op):
    needs = ((OUT,),)
    forward = staticmethod(_floating(_sigmoid))

    def backward(self, g):
        out = self.saved_tensors[-1]
        return g * out * (1 - out)


def _relu(x):
    return np.maximum(x, 0) if x.dtype.kind != "b" else x.copy()


class ReluBackward0(Op):
    needs = ((OUT,),)
    forward = staticmethod(_relu)

    def backward(self, g):
        return g * (self.saved_tensors[-1] > 0)


def _clamp(x, lo, hi):
    if lo is None and hi is None:
        raise RuntimeError("torch.clamp: At least one of 'min' or 'max' must not be None")
    return np.clip(x, lo, hi)


class ClampBackward1(Op):
    needs = ((0,),)
    forward = staticmethod(_clamp)

    def backward(self, g):
        x = self.saved_tensors[0]
        lo, hi = self.args
        if lo is None:
            mask = x <= hi
        elif hi is None:
            mask = x >= lo
        else:
            mask = (x >= lo) & (x <= hi)
        return g * mask


def _tie_share(a, b, greater: bool):
    """The share of the gradient that goes to `a`: 1 where it won, 1/2 on ties."""
    wins = (a > b) if greater else (a < b)
    return wins + (a == b) * 0.5


class MaximumBackward0(Op):
    needs = ((0, 1), (0, 1))
    forward = staticmethod(np.maximum)

    def backward(self, g):
        a, b, _ = self.saved_tensors
        share = _tie_share(a, b, True)
        need_a, need_b = self.needs_input_grad
        return (g * share if need_a else None), (g * (1 - share) if need_b else None)


class MinimumBackward0(Op):
    needs = ((0, 1), (0, 1))
    forward = staticmethod(np.minimum)

    def backward(self, g):
        a, b, _ = self.saved_tensors
        share = _tie_share(a, b, False)
        need_a, need_b = self.needs_input_grad
        return (g * share if need_a else None), (g * (1 - share) if need_b else None)


class CloneBackward0(Op):
    needs = ((),)
    forward = staticmethod(np.copy)

    def backward(self, g):
        return g


def _astype(x, np_dtype):
    return x.astype(np_dtype)


class ToCopyBackward0(Op):
    needs = ((),)
    forward = staticmethod(_astype)

    def backward(self, g):
        return g.to(self._shapes[0][1])


class WhereBackward0(Op):
    needs = ((), (0,), (0,))

    @staticmethod
    def forward(cond, a, b):
        return np.where(cond, a, b)

    def backward(self, g):
        cond = self.saved_tensors[0]
        _, need_a, need_b = self.needs_input_grad
        zero = g * 0
        return (None, where(cond, g, zero) if need_a else None,
                where(cond, zero, g) if need_b else None)


# ----- trigonometric and hyperbolic ------------------------------------------------------
class TanBackward0(Op):
    needs = ((OUT,),)
    forward = staticmethod(_floating(np.tan))

    def backward(self, g):
        out = self.saved_tensors[-1]
        return g * (1 + out * out)


class AsinBackward0(Op):
    needs = ((0,),)
    forward = staticmethod(_floating(np.arcsin))

    def backward(self, g):
        x = self.saved_tensors[0]
        return g * rsqrt(1 - x * x)


class AcosBackward0(Op):
    needs = ((0,),)
    forward = staticmethod(_floating(np.arccos))

    def backward(self, g):
        x = self.saved_tensors[0]
        return -g * rsqrt(1 - x * x)


class AtanBackward0(Op):
    needs = ((0,),)
    forward = staticmethod(_floating(np.arctan))

    def backward(self, g):
        x = self.saved_tensors[0]
        return g / (x * x + 1)


class SinhBackward0(Op):
    needs = ((0,),)
    forward = staticmethod(_floating(np.sinh))

    def backward(self, g):
        return g * cosh(self.saved_tensors[0])


class CoshBackward0(Op):
    needs = ((0,),)
    forward = staticmethod(_floating(np.cosh))

    def backward(self, g):
        return g * sinh(self.saved_tensors[0])


class AsinhBackward0(Op):
    needs = ((0,),)
    forward = staticmethod(_floating(np.arcsinh))

    def backward(self, g):
        x = self.saved_tensors[0]
        return g * rsqrt(x * x + 1)


class AcoshBackward0(Op):
    needs = ((0,),)
    forward = staticmethod(_floating(np.arccosh))

    def backward(self, g):
        x = self.saved_tensors[0]
        return g * rsqrt(x * x - 1)


class AtanhBackward0(Op):
    needs = ((0,),)
    forward = staticmethod(_floating(np.arctanh))

    def backward(self, g):
        x = self.saved_tensors[0]
        return g / (1 - x * x)


class Atan2Backward0(Op):
    needs = ((0, 1), (0, 1))
    forward = staticmethod(_floating2(np.arctan2))

    def backward(self, g):
        a, b, _ = self.saved_tensors
        need_a, need_b = self.needs_input_grad
        denom = a * a + b * b
        # 1 / (a^2 + b^2), taken as 0 at the origin (PyTorch's gradient there is 0).
        zero = denom == 0
        recip = where(zero, 0.0, 1 / where(zero, 1.0, denom))
        return (g * b * recip if need_a else None), (-g * a * recip if need_b else None)


# ----- exponentials and logarithms -------------------------------------------------------
class Log10Backward0(Op):
    needs = ((0,),)
    forward = staticmethod(_floating(np.log10))

    def backward(self, g):
        return g / (self.saved_tensors[0] * _LN10)


class Exp2Backward0(Op):
    needs = ((OUT,),)
    forward = staticmethod(_floating(np.exp2))

    def backward(self, g):
        return g * self.saved_tensors[-1] * _LN2


class LogaddexpBackward0(Op):
    needs = ((0, 1), (0, 1))
    forward = staticmethod(_floating2(np.logaddexp, "logaddexp_cpu"))
    scale = 1.0

    def backward(self, g):
        a, b, _ = self.saved_tensors
        need_a, need_b = self.needs_input_grad
        # d/da log(e^a + e^b) = 1 / (1 + e^(b - a)) = sigmoid(a - b), without overflow.
        d = (a - b) * self.scale if self.scale != 1.0 else a - b
        return (g * sigmoid(d) if need_a else None), (g * sigmoid(-d) if need_b else None)


class Logaddexp2Backward0(LogaddexpBackward0):
    forward = staticmethod(_floating2(np.logaddexp2, "logaddexp2_cpu"))
    scale = _LN2


def _xlogy(x, y):
    with np.errstate(divide="ignore", invalid="ignore"):
        out = x * np.log(y)
    # 0 * log(y) is 0 even where log(y) is -inf, but NaN stays NaN.
    return np.where((x == 0) & (y == y), 0, out)


class XlogyBackward0(Op):
    """xlogy(tensor, tensor); 1: a number first; 2: a number second."""

    needs = ((0, 1), (0, 1))
    forward = staticmethod(_floating2(_xlogy))

    def backward(self, g):
        a, b, _ = self.saved_tensors
        need_a, need_b = self.needs_input_grad
        ga = gb = None
        if need_a:
            ga = g * xlogy((a != 0).to(g.dtype), b)
        if need_b:
            gb = g * a / b
        return ga, gb


class XlogyBackward1(XlogyBackward0):
    pass


class XlogyBackward2(XlogyBackward0):
    pass


def _erfc(x):
    # 1 - erf in float64: its absolute error is ~1e-16, so the relative error of erfc
    # grows in the far right tail (x > 5).
    return (1.0 - _erf(x.astype(np.float64, copy=False))).astype(x.dtype, copy=False)


class ErfcBackward0(Op):
    needs = ((0,),)
    forward = staticmethod(_floating(_erfc))

    def backward(self, g):
        x = self.saved_tensors[0]
        return g * (-_TWO_OVER_SQRT_PI * exp(-(x * x)))


_WINITZKI_A = 0.147


def _erfinv(y):
    """erf(x) = y solved for x: a closed-form first guess (Winitzki's approximation,
    about 2e-3 relative error), then two Halley steps on erf, in float64."""
    z = y.astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        w = np.log1p(-z * z)
        t = 2.0 / (math.pi * _WINITZKI_A) + 0.5 * w
        x = np.copysign(np.sqrt(np.sqrt(t * t - w / _WINITZKI_A) - t), z)
        for _ in range(2):
            u = (_erf(x) - z) / (_TWO_OVER_SQRT_PI * np.exp(-x * x))
            step = u / (1 + x * u)
            x = np.where(np.isfinite(step), x - step, x)
    return x.astype(y.dtype, copy=False)


class ErfinvBackward0(Op):
    needs = ((OUT,),)
    forward = staticmethod(_floating(_erfinv))

    def backward(self, g):
        out = self.saved_tensors[-1]
        return g * (math.sqrt(math.pi) / 2) * exp(out * out)


class HypotBackward0(Op):
    needs = ((0, OUT), (1, OUT))
    forward = staticmethod(_floating2(np.hypot, "hypot_cpu"))

    def backward(self, g):
        a, b, out = self.saved_tensors
        need_a, need_b = self.needs_input_grad
        return (g * a / out if need_a else None), (g * b / out if need_b else None)


def _lerp(start, end, weight):
    return start + weight * (end - start)


class LerpBackward0(Op):
    """lerp with a number as weight; LerpBackward1: a tensor weight."""

    needs = ((), ())
    forward = staticmethod(_lerp)

    def backward(self, g):
        w = self.args[0]
        need_s, need_e = self.needs_input_grad
        return (g * (1 - w) if need_s else None), (g * w if need_e else None)


class LerpBackward1(Op):
    needs = ((2,), (2,), (0, 1))
    forward = staticmethod(_lerp)

    def backward(self, g):
        s, e, w, _ = self.saved_tensors
        need_s, need_e, need_w = self.needs_input_grad
        return (g * (1 - w) if need_s else None), (g * w if need_e else None), (
            g * (e - s) if need_w else None)


# ----- rounding: zero gradient --------------------------------------------------------
def _rounding(fn, kernel: str):
    """Forward of floor/ceil/round/trunc: integers are already whole (a copy, same
    dtype, as in PyTorch); bool is refused."""

    def forward(x):
        kind = x.dtype.kind
        if kind == "f":
            return fn(x)
        if kind == "b":
            raise _not_implemented(kernel, x)
        return x.copy()

    return forward


class _ZeroGrad(Op):
    needs = ((),)

    def backward(self, g):
        return g * 0


class FloorBackward0(_ZeroGrad):
    forward = staticmethod(_rounding(np.floor, "floor_vml_cpu"))


class CeilBackward0(_ZeroGrad):
    forward = staticmethod(_rounding(np.ceil, "ceil_vml_cpu"))


class RoundBackward0(_ZeroGrad):
    forward = staticmethod(_rounding(np.rint, "round_vml_cpu"))


def _round_decimals(x, decimals):
    if x.dtype.kind != "f":
        raise _not_implemented("round_cpu", x)
    # PyTorch's scaling: multiply by 10^d for d > 0, divide by 10^-d otherwise.
    if decimals > 0:
        scale = x.dtype.type(10.0 ** decimals)
        return np.rint(x * scale) / scale
    scale = x.dtype.type(10.0 ** -decimals)
    return np.rint(x / scale) * scale


class RoundBackward1(_ZeroGrad):
    forward = staticmethod(_round_decimals)


class TruncBackward0(_ZeroGrad):
    forward = staticmethod(_rounding(np.trunc, "trunc_vml_cpu"))


class SgnBackward0(SignBackward0):
    pass


def _frac(x):
    if x.dtype.kind != "f":
        raise _not_implemented("frac_cpu", x)
    return np.fmod(x, 1)


class FracBackward0(Op):
    needs = ((),)
    forward = staticmethod(_frac)

    def backward(self, g):
        return g


# ----- remainders and rounded division ---------------------------------------------------
def _check_divisor(a, b, kernel: str) -> None:
    """Integer division by zero raises (as in PyTorch); bool operands are refused."""
    if _intlike(a) and _intlike(b):
        if _boollike(a) and _boollike(b):
            raise _not_implemented(kernel, a, b)
        if not np.all(b):
            raise RuntimeError("ZeroDivisionError")


def _fmod(a, b):
    _check_divisor(a, b, "fmod_cpu")
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.fmod(a, b)


def _remainder(a, b):
    _check_divisor(a, b, "remainder_cpu")
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.remainder(a, b)


def _floor_divide(a, b):
    _check_divisor(a, b, "div_floor_cpu")
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.floor_divide(a, b)


def _trunc_divide(a, b):
    _check_divisor(a, b, "div_trunc_cpu")
    if _intlike(a) and _intlike(b):
        # Exact in integers: floor division, one step up where the quotient is negative
        # and inexact.
        q = np.floor_divide(a, b)
        return q + ((q * b != a) & ((np.less(a, 0)) != (np.less(b, 0))))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.trunc(np.true_divide(a, b))


class FmodBackward0(Op):
    """fmod by a number; FmodBackward1: by a tensor."""

    needs = ((), (0, 1))
    forward = staticmethod(_fmod)

    def backward(self, g):
        a, b, _ = self.saved_tensors
        need_a, need_b = self.needs_input_grad
        gb = -g * div(a, b, rounding_mode="trunc") if need_b else None
        return (g if need_a else None), gb


class FmodBackward1(FmodBackward0):
    pass


class RemainderBackward0(Op):
    """remainder by a number; RemainderBackward1: by a tensor."""

    needs = ((), (0, 1))
    forward = staticmethod(_remainder)

    def backward(self, g):
        a, b, _ = self.saved_tensors
        need_a, need_b = self.needs_input_grad
        gb = -g * div(a, b, rounding_mode="floor") if need_b else None
        return (g if need_a else None), gb


class RemainderBackward1(RemainderBackward0):
    pass


class DivBackward2(Op):
    """Division with rounding (`rounding_mode`): its gradient is zero almost everywhere."""

    needs = ((), ())

    @staticmethod
    def forward(a, b, mode):
        return _floor_divide(a, b) if mode == "floor" else _trunc_divide(a, b)

    def backward(self, g):
        need_a, need_b = self.needs_input_grad
        return (g * 0 if need_a else None), (g * 0 if need_b else None)


class _NoDerivative(Op):
    """The node PyTorch records for an op without a derivative (`NotImplemented`):
    backward through it raises."""

    needs = ((), ())
    aten = ""

    def backward(self, g):
        raise RuntimeError(f"derivative for aten::{self.aten} is not implemented")


_FloorDivideNode = type("NotImplemented", (_NoDerivative,), {
    "aten": "floor_divide", "forward": staticmethod(_floor_divide)})
_RemainderNode = type("NotImplemented", (_NoDerivative,), {
    "aten": "remainder", "forward": staticmethod(_remainder)})


# ----- signs ---------------------------------------------------------------------------
class CopysignBackward0(Op):
    """copysign by a tensor; CopysignBackward1: by a number. No gradient for the sign."""

    needs = ((0, OUT), ())
    forward = staticmethod(_floating2(np.copysign))

    def backward(self, g):
        x, _, out = self.saved_tensors
        need_x, need_s = self.needs_input_grad
        gx = None
        if need_x:
            xd = x._data
            with np.errstate(invalid="ignore", divide="ignore"):
                ratio = np.where(xd == 0, 0, out._data / xd).astype(out._data.dtype, copy=False)
            gx = g * wrap(ratio)
        return gx, (g * 0 if need_s else None)


class CopysignBackward1(CopysignBackward0):
    pass


class NanToNumBackward0(Op):
    needs = ((0,),)

    @staticmethod
    def forward(x, nan, posinf, neginf):
        return np.nan_to_num(x, nan=nan, posinf=posinf, neginf=neginf)

    def backward(self, g):
        return g * wrap(np.isfinite(self.saved_tensors[0]._data))


# ----- clamp by one bound, clamp by tensors ---------------------------------------------
class ClampMinBackward0(Op):
    """clamp_min by a number; ClampMinBackward1: by a tensor (which gets the gradient
    where it won)."""

    needs = ((0, 1), (0, 1))
    forward = staticmethod(np.maximum)

    def backward(self, g):
        x, lo, _ = self.saved_tensors
        need_x, need_lo = self.needs_input_grad
        keep = x >= lo
        return (g * keep if need_x else None), (g * ~keep if need_lo else None)


class ClampMinBackward1(ClampMinBackward0):
    pass


class ClampMaxBackward0(Op):
    needs = ((0, 1), (0, 1))
    forward = staticmethod(np.minimum)

    def backward(self, g):
        x, hi, _ = self.saved_tensors
        need_x, need_hi = self.needs_input_grad
        keep = x <= hi
        return (g * keep if need_x else None), (g * ~keep if need_hi else None)


class ClampMaxBackward1(ClampMaxBackward0):
    pass


class ClampBackward0(Op):
    """clamp with tensor bounds (either may be None): a bound gets the gradient where it
    is the result; when min > max the result is max."""

    needs = ((0, 1, 2), (0, 1, 2), (0, 1, 2))

    @staticmethod
    def forward(x, lo, hi):
        return np.clip(x, lo, hi)

    def backward(self, g):
        x, lo, hi, _ = self.saved_tensors
        _, need_lo, need_hi = self.needs_input_grad
        below = None if lo is None else x < lo
        above = None if hi is None else x > hi
        if below is None:
            outside = above
        elif above is None:
            outside = below
        else:
            outside = below | above
        zero = g * 0
        gx = where(outside, zero, g)
        glo = ghi = None
        if need_lo:
            glo = where(below if hi is None else below & (lo < hi), g, zero)
        if need_hi:
            ghi = where(above if lo is None else above | (hi < lo), g, zero)
        return gx, glo, ghi


add = binary(AddBackward0)
sub = binary(SubBackward0)
mul = binary(MulBackward0)
true_divide = binary(DivBackward0)
_pow_scalar_exponent = binary(PowBackward0)
_pow_tensors = binary(PowBackward1)
_pow_scalar_base = binary(PowBackward2)
maximum = binary(MaximumBackward0)
minimum = binary(MinimumBackward0)
neg = unary(NegBackward0)
exp = unary(ExpBackward0)
expm1 = unary(Expm1Backward0)
log = unary(LogBackward0)
log2 = unary(Log2Backward0)
log1p = unary(Log1PBackward0)
sqrt = unary(SqrtBackward0)
rsqrt = unary(RsqrtBackward0)
reciprocal = unary(ReciprocalBackward0)
abs = unary(AbsBackward0)
sign = unary(SignBackward0)
sin = unary(SinBackward0)
cos = unary(CosBackward0)
tanh = unary(TanhBackward0)
sigmoid = unary(SigmoidBackward0)
relu = unary(ReluBackward0)
clone = unary(CloneBackward0)
_clamp_op = unary(ClampBackward1)
_to_op = unary(ToCopyBackward0)


def pow(input, exponent) -> Tensor:
    """`input ** exponent`; either may be a number. Named like PyTorch's node for each."""
    if not isinstance(exponent, Tensor):
        return _pow_scalar_exponent(input, exponent)
    if isinstance(input, Tensor):
        return _pow_tensors(input, exponent)
    return _pow_scalar_base(input, exponent)


def square(x: Tensor) -> Tensor:
    """`x ** 2` (recorded as PowBackward0, as in PyTorch)."""
    return pow(x, 2)


def clamp(x: Tensor, min=None, max=None) -> Tensor:
    """Clamp to [min, max]; either bound may be None, a number or a tensor."""
    if isinstance(min, Tensor) or isinstance(max, Tensor):
        return _clamp_tensors(x, min, max)
    return _clamp_op(x, min, max)


clip = clamp


def to_dtype(x: Tensor, dtype) -> Tensor:
    np_dtype = to_numpy_dtype(dtype)
    if x._data.dtype == np_dtype:
        return x
    return _to_op(x, np_dtype)


def where(condition, input, other) -> Tensor:
    """Elements of `input` where `condition` holds, else of `other` (both broadcast)."""
    cond = to_tensor(condition)
    if cond._data.dtype != np.bool_:
        raise RuntimeError(
            f"where expected condition to be a boolean tensor, but got a tensor with dtype "
            f"{cond.dtype}"
        )
    a, b, ad, bd = _operands(input, other)
    out = np.where(cond._data, ad, bd)
    if _tracking.get() and any(isinstance(t, Tensor) and t._requires_grad for t in (a, b)):
        return record(WhereBackward0, out, (cond, a, b))
    return wrap(out)


def _where_method(self: Tensor, condition, other) -> Tensor:
    return where(condition, self, other)


tan = unary(TanBackward0)
asin = arcsin = unary(AsinBackward0)
acos = arccos = unary(AcosBackward0)
atan = arctan = unary(AtanBackward0)
sinh = unary(SinhBackward0)
cosh = unary(CoshBackward0)
asinh = arcsinh = unary(AsinhBackward0)
acosh = arccosh = unary(AcoshBackward0)
atanh = arctanh = unary(AtanhBackward0)
atan2 = arctan2 = binary(Atan2Backward0)
log10 = unary(Log10Backward0)
exp2 = unary(Exp2Backward0)
logaddexp = binary(LogaddexpBackward0)
logaddexp2 = binary(Logaddexp2Backward0)
erfc = unary(ErfcBackward0)
erfinv = unary(ErfinvBackward0)
hypot = binary(HypotBackward0)
floor = unary(FloorBackward0)
ceil = unary(CeilBackward0)
trunc = fix = unary(TruncBackward0)
frac = unary(FracBackward0)
sgn = unary(SgnBackward0)
floor_divide = binary(_FloorDivideNode)
floor_divide.__name__ = floor_divide.__qualname__ = "floor_divide"
_round0 = unary(RoundBackward0)
_round_decimals_op = unary(RoundBackward1)
_xlogy_tensors, _xlogy_number_first, _xlogy_number_second = (
    binary(XlogyBackward0), binary(XlogyBackward1), binary(XlogyBackward2))
_fmod_number, _fmod_tensor = binary(FmodBackward0), binary(FmodBackward1)
_remainder_number, _remainder_tensor = binary(RemainderBackward0), binary(RemainderBackward1)
_remainder_number_first = binary(_RemainderNode)
_copysign_tensor, _copysign_number = binary(CopysignBackward0), binary(CopysignBackward1)
_clamp_min = binary(ClampMinBackward0), binary(ClampMinBackward1)
_clamp_max = binary(ClampMaxBackward0), binary(ClampMaxBackward1)
_nan_to_num_op = unary(NanToNumBackward0)


def div(input, other, *, rounding_mode: str | None = None) -> Tensor:
    """`input / other`; `rounding_mode` 'trunc' or 'floor' rounds the quotient (integer
    inputs then stay integer)."""
    if rounding_mode is None:
        return true_divide(input, other)
    if rounding_mode != "trunc" and rounding_mode != "floor":
        raise RuntimeError(
            "div expected rounding_mode to be one of None, 'trunc', or 'floor' but found "
            f"'{rounding_mode}'"
        )
    a, b, ad, bd = _operands(input, other)
    out = DivBackward2.forward(ad, bd, rounding_mode)
    if _tracking.get() and any(isinstance(o, Tensor) and o._requires_grad for o in (a, b)):
        return record(DivBackward2, out, (a, b), (rounding_mode,))
    return wrap(out)


divide = div


def round(input: Tensor, *, decimals: int = 0) -> Tensor:
    """Round half to even; with `decimals`, to that many decimal places (negative: to
    tens, hundreds...)."""
    if decimals == 0:
        return _round0(input)
    return _round_decimals_op(input, int(decimals))


def xlogy(input, other) -> Tensor:
    """`input * log(other)`, 0 where input is 0 (unless other is NaN)."""
    if not isinstance(input, Tensor):
        return _xlogy_number_first(input, other)
    if not isinstance(other, Tensor):
        return _xlogy_number_second(input, other)
    return _xlogy_tensors(input, other)


def fmod(input: Tensor, other) -> Tensor:
    """The C remainder of `input / other` (its sign follows `input`)."""
    return (_fmod_tensor if isinstance(other, Tensor) else _fmod_number)(input, other)


def remainder(input, other) -> Tensor:
    """The Python remainder of `input / other` (its sign follows `other`): `input % other`."""
    if not isinstance(input, Tensor):
        return _remainder_number_first(input, other)
    return (_remainder_tensor if isinstance(other, Tensor) else _remainder_number)(input, other)


def copysign(input: Tensor, other) -> Tensor:
    """|input| with the sign of `other` (a tensor or a number)."""
    return (_copysign_tensor if isinstance(other, Tensor) else _copysign_number)(input, other)


def signbit(input: Tensor) -> Tensor:
    """Whether the sign bit is set (True for -0.0); a bool tensor, never tracked."""
    x = to_tensor(input)._data
    return wrap(np.signbit(x) if x.dtype.kind != "b" else np.zeros(x.shape, np.bool_))


def nan_to_num(input: Tensor, nan: float = 0.0, posinf: float | None = None,
               neginf: float | None = None) -> Tensor:
    """NaN to `nan`, infinities to `posinf`/`neginf` (default: the dtype's extremes)."""
    return _nan_to_num_op(input, nan, posinf, neginf)


def _float64(x):
    if isinstance(x, Tensor):
        return x if x._data.dtype == np.float64 else to_dtype(x, "float64")
    return float(x)


def float_power(input, exponent) -> Tensor:
    """`input ** exponent` computed in float64 (the result is float64)."""
    if not isinstance(input, Tensor) and not isinstance(exponent, Tensor):
        raise TypeError("float_power(): at least one argument must be a Tensor")
    a, b = _float64(input), _float64(exponent)
    out = np.power(a._data if isinstance(a, Tensor) else a,
                   b._data if isinstance(b, Tensor) else b)
    if not isinstance(b, Tensor):
        cls = PowBackward0
    elif isinstance(a, Tensor):
        cls = PowBackward1
    else:
        cls = PowBackward2
    if _tracking.get() and any(isinstance(t, Tensor) and t._requires_grad for t in (a, b)):
        return record(cls, out, (a, b))
    return wrap(out)


def positive(input: Tensor) -> Tensor:
    """`+input`: the tensor itself (refused for bool, as in PyTorch)."""
    if input._data.dtype.kind == "b":
        raise RuntimeError("The `+` operator, on a bool tensor is not supported.")
    return input


_C_NAME = {"float32": "float", "float64": "double", "float16": "c10::Half"}


def lerp(input: Tensor, end: Tensor, weight) -> Tensor:
    """`input + weight * (end - input)`; `weight` a number or a tensor."""
    end = to_tensor(end, like=input)
    sd, ed = input._data, end._data
    if sd.dtype.kind != "f":
        raise _not_implemented("lerp_kernel_scalar", sd)
    if ed.dtype != sd.dtype:
        raise RuntimeError(
            f"expected dtype {_C_NAME.get(sd.dtype.name, sd.dtype.name)} for `end` but got "
            f"dtype {_C_NAME.get(ed.dtype.name, ed.dtype.name)}"
        )
    tracking = _tracking.get()
    if isinstance(weight, Tensor):
        wd = weight._data
        if wd.dtype != sd.dtype:
            raise RuntimeError(
                f"expected dtype {_C_NAME.get(sd.dtype.name, sd.dtype.name)} for `weight` but "
                f"got dtype {_C_NAME.get(wd.dtype.name, wd.dtype.name)}"
            )
        out = _lerp(sd, ed, wd)
        if tracking and (input._requires_grad or end._requires_grad or weight._requires_grad):
            return record(LerpBackward1, out, (input, end, weight))
        return wrap(out)
    out = _lerp(sd, ed, weight)
    if tracking and (input._requires_grad or end._requires_grad):
        return record(LerpBackward0, out, (input, end), (weight,))
    return wrap(out)



def clamp_min(input: Tensor, min) -> Tensor:
    """max(input, min) elementwise; `min` a number or a tensor."""
    return _clamp_min[isinstance(min, Tensor)](input, min)


def clamp_max(input: Tensor, max) -> Tensor:
    """min(input, max) elementwise; `max` a number or a tensor."""
    return _clamp_max[isinstance(max, Tensor)](input, max)


def _clamp_tensors(x, lo, hi) -> Tensor:
    x = to_tensor(x)
    lo = None if lo is None else to_tensor(lo, like=x)
    hi = None if hi is None else to_tensor(hi, like=x)
    out = np.clip(x._data, None if lo is None else lo._data, None if hi is None else hi._data)
    if _tracking.get() and any(t is not None and t._requires_grad for t in (x, lo, hi)):
        return record(ClampBackward0, out, (x, lo, hi))
    return wrap(out)


def _floordiv_method(self, other):
    return floor_divide(self, other)


def _rfloordiv(self, other):
    return floor_divide(other, self)


def _rmod(self, other):
    return remainder(other, self)


def _rtruediv(self, other):
    return true_divide(other, self)


# NumPy has no erf: the one kernel lives with the activations that need it (GELU). Imported
# last because activation imports this module; ember imports this module first.
from .activation import _TWO_OVER_SQRT_PI, _erf, erf  # noqa: E402

TENSOR_METHODS = {
    "where": _where_method, "div": div, "divide": div, "true_divide": true_divide,
    "__truediv__": true_divide, "__rtruediv__": _rtruediv, "tan": tan, "asin": asin,
    "arcsin": asin, "acos": acos, "arccos": acos, "atan": atan, "arctan": atan, "sinh": sinh,
    "cosh": cosh, "asinh": asinh, "arcsinh": asinh, "acosh": acosh, "arccosh": acosh,
    "atanh": atanh, "arctanh": atanh, "atan2": atan2, "arctan2": atan2, "log10": log10,
    "exp2": exp2, "logaddexp": logaddexp, "logaddexp2": logaddexp2, "xlogy": xlogy,
    "erf": erf, "erfc": erfc, "erfinv": erfinv, "lerp": lerp, "hypot": hypot, "floor": floor,
    "ceil": ceil, "round": round, "trunc": trunc, "fix": fix, "frac": frac, "fmod": fmod,
    "remainder": remainder, "floor_divide": floor_divide, "sgn": sgn, "signbit": signbit,
    "copysign": copysign, "nan_to_num": nan_to_num, "float_power": float_power,
    "positive": positive, "clamp_min": clamp_min, "clamp_max": clamp_max, "square": square,
    "__mod__": remainder, "__rmod__": _rmod, "__floordiv__": _floordiv_method,
    "__rfloordiv__": _rfloordiv, "__pos__": positive,
}
