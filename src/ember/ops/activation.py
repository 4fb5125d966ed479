"""Activation ops that PyTorch records as one node (GeluBackward0, SiluBackward0, ...),
the error function they need, and the dropout mask op.

Every activation here is y = f(x) with backward g * f'(x). A plain backward computes
f'(x) with NumPy in a few in-place passes (`slope`); when the gradient is itself being
recorded (`create_graph=True`) the same f'(x) is built from ember ops (`slope_ops`), so
higher derivatives work. For piecewise-linear activations f'(x) is piecewise constant and
one NumPy formula serves every order.
"""

from __future__ import annotations

import math

import numpy as np

from ..autograd.grad_mode import _tracking
from ._define import Op, unary, wrap
from .elementwise import clamp, exp, sigmoid, tanh, where

__all__ = [
    "erf", "leaky_relu", "elu", "gelu", "silu", "softplus", "hardtanh", "mish",
    "log_sigmoid", "hardsigmoid", "hardswish", "native_dropout",
]


class _Smooth(Op):
    """y = f(x) with a NumPy f'(x) (`slope`) and an ember-ops f'(x) (`slope_ops`)."""

    __slots__ = ()
    needs = ((0,),)

    def backward(self, g):
        x = self.saved_tensors[0]
        if _tracking.get():
            return g * self.slope_ops(x, *self.args)
        return wrap(g._data * self.slope(x._data, *self.args))


class _PiecewiseLinear(Op):
    """y = f(x) with f'(x) piecewise constant: its own derivative is zero."""

    __slots__ = ()
    needs = ((0,),)

    def backward(self, g):
        return g * wrap(self.slope(self.saved_tensors[0]._data, *self.args))


# ----- fast NumPy kernels -----------------------------------------------------------------
# NumPy's float32 log1p is not vectorized (about 4x slower than log plus a few arithmetic
# passes), and masked ufuncs (`where=`) are slow too, so selections below are written as
# arithmetic with boolean factors.

def _log1p(u: np.ndarray) -> np.ndarray:
    """log(1 + u) for u >= -1; float32 uses log(1 + u) * u / ((1 + u) - 1) (Kahan), which
    keeps full precision for small u."""
    if u.dtype != np.float32:
        return np.log1p(u)
    w = u + 1
    d = w - 1  # the part of u that survived the rounding of 1 + u
    lost = d == 0  # there log1p(u) = u to working precision
    out = np.log(w)
    out *= u
    d += lost
    out /= d
    out += u * lost
    return out


def _softplus_np(z: np.ndarray) -> np.ndarray:
    """log(1 + exp(z)) without overflow: max(z, 0) + log1p(exp(-|z|))."""
    e = np.abs(z)
    np.negative(e, out=e)
    np.exp(e, out=e)
    out = _log1p(e)
    out += np.maximum(z, 0, dtype=z.dtype)
    return out


def _sigmoid_np(x: np.ndarray) -> np.ndarray:
    out = x * x.dtype.type(0.5)
    np.tanh(out, out=out)
    out *= 0.5
    out += 0.5
    return out


# ----- erf ------------------------------------------------------------------------------
# NumPy has no vectorized erf. erf(a)/a is smooth and even, so it is fitted once, at import,
# by piecewise Chebyshev interpolation of math.erf on [0, 6) (12 pieces), and evaluated with
# Horner's rule: erf(x) = x * f(|x|), clipped to [-1, 1] (exact beyond |x| = 6). The float64
# table (degree 13) is accurate to a few ulp; float32 uses degree 6 in float32 arithmetic.

_ERF_STEP = 0.5
_ERF_PIECES = 12


def _erf_over_x(a: float) -> float:
    return math.erf(a) / a if a else 2.0 / math.sqrt(math.pi)


def _erf_table(degree: int, np_dtype) -> np.ndarray:
    """Power-basis coefficients per piece, shape (degree + 1, pieces), in t in [-1, 1]."""
    cheb = np.polynomial.chebyshev
    nodes = np.cos(np.pi * (np.arange(degree + 1) + 0.5) / (degree + 1))
    rows = []
    for i in range(_ERF_PIECES):
        xs = (i + (nodes + 1) / 2) * _ERF_STEP
        ys = [_erf_over_x(float(v)) for v in xs]
        rows.append(cheb.cheb2poly(cheb.chebfit(nodes, ys, degree)))
    return np.ascontiguousarray(np.array(rows).T.astype(np_dtype))


_ERF_TABLES = {
    np.dtype(np.float64): _erf_table(13, np.float64),
    np.dtype(np.float32): _erf_table(6, np.float32),
}


def _erf(x: np.ndarray) -> np.ndarray:
    in_dtype = x.dtype
    if in_dtype != np.float64 and in_dtype != np.float32:
        x = x.astype(np.float32)
    table = _ERF_TABLES[x.dtype]
    t = np.abs(x)
    np.fmin(t, _ERF_STEP * _ERF_PIECES, out=t)  # fmin: NaN maps to a valid piece
    t *= 1.0 / _ERF_STEP
    piece = np.floor(t)
    np.minimum(piece, _ERF_PIECES - 1, out=piece)
    t -= piece
    t *= 2.0
    t -= 1.0  # position inside the piece, in [-1, 1]
    idx = piece.astype(np.int32)
    del piece
    out = np.take(table[-1], idx)
    coef = np.empty_like(out)
    for row in table[-2::-1]:
        out *= t
        out += np.take(row, idx, out=coef)
    out *= x
    np.clip(out, -1.0, 1.0, out=out)
    return out.astype(in_dtype, copy=False) if in_dtype.kind == "f" else out  # ints: float


_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)
_SQRT_HALF = math.sqrt(0.5)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_GELU_K = math.sqrt(2.0 / math.pi)
_GELU_C = 0.044715


def _gauss(x: np.ndarray, scale: float) -> np.ndarray:
    """scale * exp(-x^2 / 2)."""
    out = x * x
    out *= -0.5
    np.exp(out, out=out)
    out *= scale
    return out


class ErfBackward0(_Smooth):
    __slots__ = ()
    forward = staticmethod(_erf)

    @staticmethod
    def slope(x):
        return _gauss(x * x.dtype.type(math.sqrt(2.0)), _TWO_OVER_SQRT_PI)

    @staticmethod
    def slope_ops(x):
        return _TWO_OVER_SQRT_PI * exp(-(x * x))


erf = unary(ErfBackward0)


# ----- piecewise-linear activations -----------------------------------------------------

def _leaky_relu(x, slope):
    if 0.0 <= slope <= 1.0:
        return np.maximum(x, x * x.dtype.type(slope))
    return np.where(x > 0, x, x * x.dtype.type(slope))


class LeakyReluBackward0(_PiecewiseLinear):
    __slots__ = ()
    forward = staticmethod(_leaky_relu)

    @staticmethod
    def slope(x, negative_slope):
        out = (x > 0).astype(x.dtype)
        out *= 1.0 - negative_slope
        out += negative_slope
        return out


def _hardtanh(x, lo, hi):
    return np.clip(x, lo, hi).astype(x.dtype, copy=False)


def _inside(x: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """1 strictly between the bounds, 0 elsewhere (PyTorch's hardtanh gradient)."""
    inside = x > lo
    inside &= x < hi
    return inside.astype(x.dtype)


class HardtanhBackward0(_PiecewiseLinear):
    __slots__ = ()
    forward = staticmethod(_hardtanh)
    slope = staticmethod(_inside)


def _hardsigmoid(x):
    out = x + x.dtype.type(3)
    np.clip(out, 0, 6, out=out)
    out /= x.dtype.type(6)
    return out


class HardsigmoidBackward0(_PiecewiseLinear):
    __slots__ = ()
    forward = staticmethod(_hardsigmoid)

    @staticmethod
    def slope(x):
        out = _inside(x, -3.0, 3.0)
        out /= 6
        return out


# ----- smooth activations ---------------------------------------------------------------

def _hardswish(x):
    return x * _hardsigmoid(x)


class HardswishBackward0(_Smooth):
    __slots__ = ()
    forward = staticmethod(_hardswish)

    @staticmethod
    def slope(x):
        middle = x >= -3
        middle &= x <= 3
        out = x / x.dtype.type(3)
        out += 0.5
        out *= middle
        out += x > 3
        return out

    @staticmethod
    def slope_ops(x):
        return where(x < -3, 0.0, where(x <= 3, x / 3 + 0.5, 1.0))


def _elu(x, alpha, scale, input_scale):
    out = np.minimum(x, 0, dtype=x.dtype)
    out *= input_scale
    np.expm1(out, out=out)
    out *= alpha * scale
    positive = np.maximum(x, 0, dtype=x.dtype)  # each term is zero on the other side
    positive *= scale
    out += positive
    return out


class EluBackward0(_Smooth):
    """ELU, and SELU/CELU through `scale` and `input_scale`."""

    __slots__ = ()
    forward = staticmethod(_elu)

    @staticmethod
    def slope(x, alpha, scale, input_scale):
        positive = x > 0
        out = np.minimum(x, 0, dtype=x.dtype)
        out *= input_scale
        np.exp(out, out=out)
        out *= alpha * scale * input_scale
        out *= ~positive
        out += positive * x.dtype.type(scale)
        return out

    @staticmethod
    def slope_ops(x, alpha, scale, input_scale):
        neg = (alpha * scale * input_scale) * exp(clamp(x, max=0) * input_scale)
        return where(x > 0, scale, neg)


def _gelu(x, approximate):
    if approximate == "tanh":
        inner = x * x
        inner *= _GELU_C
        inner += 1
        inner *= x
        inner *= _GELU_K
        out = np.tanh(inner, out=inner)
    else:
        out = _erf(x * x.dtype.type(_SQRT_HALF))
    out += 1
    out *= x
    out *= 0.5
    return out


class GeluBackward0(_Smooth):
    __slots__ = ()
    forward = staticmethod(_gelu)

    @staticmethod
    def slope(x, approximate):
        if approximate == "tanh":
            x2 = x * x
            t = x2 * _GELU_C
            t += 1
            t *= x
            t *= _GELU_K
            np.tanh(t, out=t)
            x2 *= 3 * _GELU_C
            x2 += 1
            x2 *= 0.5 * _GELU_K
            x2 *= x
            out = t * t
            np.subtract(1, out, out=out)
            out *= x2
            t += 1
            t *= 0.5
            out += t
            return out
        out = _erf(x * x.dtype.type(_SQRT_HALF))
        out += 1
        out *= 0.5
        pdf = _gauss(x, _INV_SQRT_2PI)
        pdf *= x
        out += pdf
        return out

    @staticmethod
    def slope_ops(x, approximate):
        if approximate == "tanh":
            x2 = x * x
            t = tanh(_GELU_K * x * (1 + _GELU_C * x2))
            return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * (_GELU_K * (1 + 3 * _GELU_C * x2))
        cdf = 0.5 * (1 + erf(x * _SQRT_HALF))
        return cdf + x * (_INV_SQRT_2PI * exp(-0.5 * (x * x)))


def _silu(x):
    out = _sigmoid_np(x)
    out *= x
    return out


class SiluBackward0(_Smooth):
    __slots__ = ()
    forward = staticmethod(_silu)

    @staticmethod
    def slope(x):
        s = _sigmoid_np(x)
        out = np.subtract(1, s, dtype=x.dtype)
        out *= x
        out += 1
        out *= s
        return out

    @staticmethod
    def slope_ops(x):
        s = sigmoid(x)
        return s * (1 + x * (1 - s))


def _softplus(x, beta, threshold):
    bx = x * x.dtype.type(beta) if beta != 1 else x
    out = _softplus_np(bx)
    if beta != 1:
        out /= x.dtype.type(beta)
    linear = bx > threshold
    if linear.any():
        out += (x - out) * linear
    return out


class SoftplusBackward0(_Smooth):
    __slots__ = ()
    forward = staticmethod(_softplus)

    @staticmethod
    def slope(x, beta, threshold):
        bx = x * x.dtype.type(beta) if beta != 1 else x
        out = _sigmoid_np(bx)
        linear = bx > threshold
        if linear.any():
            out += (1 - out) * linear
        return out

    @staticmethod
    def slope_ops(x, beta, threshold):
        bx = x * beta if beta != 1 else x
        return where(bx > threshold, 1.0, sigmoid(bx))


def _log_sigmoid(x):
    out = _softplus_np(-x)
    np.negative(out, out=out)
    return out


class LogSigmoidBackward0(_Smooth):
    __slots__ = ()
    forward = staticmethod(_log_sigmoid)

    @staticmethod
    def slope(x):
        return _sigmoid_np(-x)

    @staticmethod
    def slope_ops(x):
        return sigmoid(-x)


def _tanh_softplus(x: np.ndarray) -> np.ndarray:
    """tanh(log(1 + e^x)) = n(n + 2) / (n(n + 2) + 2) with n = e^x (one exp, no overflow:
    the ratio is 1 to working precision once x > 20)."""
    n = np.minimum(x, 20.0, dtype=x.dtype)
    np.exp(n, out=n)
    p = n + 2
    p *= n
    out = p + 2
    np.divide(p, out, out=out)
    return out


def _mish(x):
    out = _tanh_softplus(x)
    out *= x
    return out


class MishBackward0(_Smooth):
    __slots__ = ()
    forward = staticmethod(_mish)

    @staticmethod
    def slope(x):
        t = _tanh_softplus(x)
        out = t * t
        np.subtract(1, out, out=out)
        out *= _sigmoid_np(x)
        out *= x
        out += t
        return out

    @staticmethod
    def slope_ops(x):
        t = tanh(softplus(x, 1.0, 20.0))
        return t + x * sigmoid(x) * (1 - t * t)


# ----- dropout --------------------------------------------------------------------------

def _scale_by(x, mask):
    return x * mask


class NativeDropoutBackward0(Op):
    """x * mask, where mask holds 0 or 1/(1-p); the mask is kept, not the input."""

    __slots__ = ()
    needs = ((),)
    forward = staticmethod(_scale_by)

    def backward(self, g):
        return g * wrap(self.args[0])


leaky_relu = unary(LeakyReluBackward0)
elu = unary(EluBackward0)
hardtanh = unary(HardtanhBackward0)
hardsigmoid = unary(HardsigmoidBackward0)
hardswish = unary(HardswishBackward0)
gelu = unary(GeluBackward0)
silu = unary(SiluBackward0)
softplus = unary(SoftplusBackward0)
log_sigmoid = unary(LogSigmoidBackward0)
mish = unary(MishBackward0)
native_dropout = unary(NativeDropoutBackward0)
