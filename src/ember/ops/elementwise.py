"""Element-wise differentiable ops: arithmetic, exp/log family, activations, clamp."""

from __future__ import annotations

import math

import numpy as np

from .._dtypes import to_numpy_dtype
from .._tensor import Tensor
from ..autograd.grad_mode import _tracking
from ._define import OUT, Op, _operands, binary, record, to_tensor, unary, wrap

__all__ = [
    "add", "sub", "mul", "div", "pow", "neg", "exp", "log", "log1p", "sqrt", "rsqrt",
    "abs", "sign", "sin", "cos", "tanh", "sigmoid", "relu", "clamp", "maximum", "minimum",
    "clone", "to_dtype", "expm1", "log2", "square", "reciprocal", "where",
]


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
    forward = staticmethod(np.exp)

    def backward(self, g):
        return g * self.saved_tensors[-1]


class Expm1Backward0(Op):
    needs = ((OUT,),)
    forward = staticmethod(np.expm1)

    def backward(self, g):
        return g * (self.saved_tensors[-1] + 1)


class LogBackward0(Op):
    needs = ((0,),)
    forward = staticmethod(np.log)

    def backward(self, g):
        return g / self.saved_tensors[0]


class Log2Backward0(Op):
    needs = ((0,),)
    forward = staticmethod(np.log2)

    def backward(self, g):
        return g / (self.saved_tensors[0] * float(np.log(2.0)))


class Log1PBackward0(Op):
    needs = ((0,),)
    forward = staticmethod(np.log1p)

    def backward(self, g):
        return g / (self.saved_tensors[0] + 1)


class SqrtBackward0(Op):
    needs = ((OUT,),)
    forward = staticmethod(np.sqrt)

    def backward(self, g):
        return g / (2 * self.saved_tensors[-1])


def _rsqrt(x):
    return 1 / np.sqrt(x)


class RsqrtBackward0(Op):
    needs = ((OUT,),)
    forward = staticmethod(_rsqrt)

    def backward(self, g):
        out = self.saved_tensors[-1]
        return -0.5 * g * out * out * out


class ReciprocalBackward0(Op):
    needs = ((OUT,),)
    forward = staticmethod(np.reciprocal)

    def backward(self, g):
        out = self.saved_tensors[-1]
        return -g * out * out


class AbsBackward0(Op):
    needs = ((0,),)
    forward = staticmethod(np.abs)

    def backward(self, g):
        return g * sign(self.saved_tensors[0])


class SignBackward0(Op):
    needs = ((),)
    forward = staticmethod(np.sign)

    def backward(self, g):
        return g * 0


class SinBackward0(Op):
    needs = ((0,),)
    forward = staticmethod(np.sin)

    def backward(self, g):
        return g * cos(self.saved_tensors[0])


class CosBackward0(Op):
    needs = ((0,),)
    forward = staticmethod(np.cos)

    def backward(self, g):
        return -g * sin(self.saved_tensors[0])


class TanhBackward0(Op):
    needs = ((OUT,),)
    forward = staticmethod(np.tanh)

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
    forward = staticmethod(_sigmoid)

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


add = binary(AddBackward0)
sub = binary(SubBackward0)
mul = binary(MulBackward0)
div = binary(DivBackward0)
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
    return mul(x, x)


def clamp(x: Tensor, min=None, max=None) -> Tensor:
    """Clamp to [min, max]; tensor bounds go through maximum/minimum."""
    if isinstance(min, Tensor) or isinstance(max, Tensor):
        out = x
        if min is not None:
            out = maximum(out, min)
        if max is not None:
            out = minimum(out, max)
        return out
    return _clamp_op(x, min, max)


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


TENSOR_METHODS = {"where": _where_method}
