"""Element-wise ops and matmul: gradcheck, gradgradcheck and torch as oracle, one line each;
then type promotion and the comparisons, which never require grad."""

import numpy as np
import pytest

import ember
from tests.helpers import check_op


# ----- arithmetic, with scalars on both sides and broadcasting ------------------------
def test_add_broadcast():
    check_op(lambda lib, a, b: a + b, (3, 4), (4,))


def test_add_scalar_both_sides():
    check_op(lambda lib, a: (a + 2.5) + (1.5 + a), (3,))


def test_sub_broadcast():
    check_op(lambda lib, a, b: a - b, (2, 1, 3), (4, 1))


def test_sub_scalar_both_sides():
    check_op(lambda lib, a: (a - 2.0) * (3.0 - a), (4,))


def test_mul_broadcast():
    check_op(lambda lib, a, b: a * b, (3, 4), (3, 1))


def test_mul_scalar_both_sides():
    check_op(lambda lib, a: (a * 3.0) + (0.5 * a), (2, 3))


def test_div_broadcast():
    check_op(lambda lib, a, b: a / b, (3, 4), (4,), positive=True)


def test_div_scalar_both_sides():
    check_op(lambda lib, a: a / 4.0 + 2.0 / a, (5,), positive=True)


def test_pow_tensor_exponent():
    check_op(lambda lib, a, b: a ** b, (3, 2), (2,), positive=True)


def test_pow_scalar_exponent():
    check_op(lambda lib, a: a ** 3 + a ** 0.5, (4,), positive=True)


def test_pow_scalar_base():
    check_op(lambda lib, a: 2.0 ** a, (4,))


def test_pow_function():
    check_op(lambda lib, a, b: lib.pow(a, b), (3,), (3,), positive=True)


def test_neg():
    check_op(lambda lib, a: -a, (2, 3))


def test_chained_arithmetic_reuses_inputs():
    check_op(lambda lib, a, b: (a * b - a / (b * b + 1)) * a, (3, 3), (3,))


# ----- matmul ---------------------------------------------------------------------------
def test_matmul_vector_vector():
    check_op(lambda lib, a, b: a @ b, (4,), (4,))


def test_matmul_matrix_vector():
    check_op(lambda lib, a, b: a @ b, (3, 4), (4,))


def test_matmul_vector_matrix():
    check_op(lambda lib, a, b: a @ b, (4,), (4, 2))


def test_matmul_matrix_matrix():
    check_op(lambda lib, a, b: lib.matmul(a, b), (3, 4), (4, 2))


def test_matmul_batched():
    check_op(lambda lib, a, b: a @ b, (2, 3, 4), (2, 4, 5))


def test_matmul_broadcast_batch():
    check_op(lambda lib, a, b: a @ b, (2, 1, 3, 4), (5, 4, 2))


def test_matmul_batched_times_vector():
    check_op(lambda lib, a, b: a @ b, (2, 3, 4), (4,))


# ----- unary ----------------------------------------------------------------------------
def test_exp():
    check_op(lambda lib, a: lib.exp(a), (3, 4))


def test_log():
    check_op(lambda lib, a: lib.log(a), (3, 4), positive=True)


def test_log1p():
    check_op(lambda lib, a: lib.log1p(a), (3, 4), positive=True)


def test_sqrt():
    check_op(lambda lib, a: lib.sqrt(a), (3, 4), positive=True)


def test_rsqrt():
    check_op(lambda lib, a: lib.rsqrt(a), (3, 4), positive=True)


def test_abs():
    check_op(lambda lib, a: lib.abs(a), (3, 4))


def test_sign_has_zero_gradient():
    check_op(lambda lib, a: lib.sign(a) * a, (3, 4))


def test_sin():
    check_op(lambda lib, a: lib.sin(a), (3, 4))


def test_cos():
    check_op(lambda lib, a: lib.cos(a), (3, 4))


def test_tanh():
    check_op(lambda lib, a: lib.tanh(a), (3, 4))


def test_sigmoid():
    check_op(lambda lib, a: lib.sigmoid(a), (3, 4))


def test_relu():
    check_op(lambda lib, a: lib.relu(a) * a, (3, 4))


def test_clamp_both_bounds():
    check_op(lambda lib, a: lib.clamp(a, -1.0, 1.0) * a, (3, 4))


def test_clamp_min_only():
    check_op(lambda lib, a: a.clamp(min=0.5) * a, (3, 4))


def test_clamp_max_only():
    check_op(lambda lib, a: a.clamp(max=-0.5) * a, (3, 4))


def test_clamp_tensor_bounds():
    check_op(lambda lib, a, lo, hi: lib.clamp(a, lo - 1, hi + 1), (3, 4), (4,), (3, 1))


# ----- binary element-wise functions ----------------------------------------------------
def test_maximum():
    check_op(lambda lib, a, b: lib.maximum(a, b), (3, 4), (4,))


def test_minimum():
    check_op(lambda lib, a, b: lib.minimum(a, b), (3, 4), (3, 1))


def test_where():
    check_op(lambda lib, a, b: lib.where(a > b, a * a, b), (3, 4), (4,))


def test_where_with_scalar():
    check_op(lambda lib, a: lib.where(a > 0, a, 0.0), (3, 4))


def test_maximum_tie_splits_gradient():
    a = ember.tensor([1.0, 2.0], requires_grad=True)
    b = ember.tensor([1.0, 3.0], requires_grad=True)
    ember.maximum(a, b).sum().backward()
    assert a.grad.tolist() == [0.5, 0.0]
    assert b.grad.tolist() == [0.5, 1.0]


# ----- type promotion -------------------------------------------------------------------
def test_float32_times_python_float_stays_float32():
    assert (ember.ones(2) * 2.5).dtype is ember.float32


def test_python_float_times_float32_stays_float32():
    assert (2.5 * ember.ones(2)).dtype is ember.float32


def test_int_tensor_times_python_float_gives_float32():
    out = ember.tensor([1, 2]) * 2.5
    assert out.dtype is ember.float32
    assert out.tolist() == [2.5, 5.0]


def test_int_tensor_times_python_int_stays_int64():
    assert (ember.tensor([1, 2]) * 3).dtype is ember.int64


def test_int_divided_by_int_gives_float32():
    out = ember.tensor([1, 3]) / ember.tensor([2, 2])
    assert out.dtype is ember.float32
    assert out.tolist() == [0.5, 1.5]


def test_int_tensor_divided_by_python_int_gives_float32():
    assert (ember.tensor([1, 3]) / 2).dtype is ember.float32


def test_float32_plus_float64_tensor_gives_float64():
    assert (ember.ones(2) + ember.ones(2, dtype=ember.float64)).dtype is ember.float64


def test_float32_plus_zero_dim_float64_stays_float32():
    assert (ember.ones(2) + ember.tensor(1.0, dtype=ember.float64)).dtype is ember.float32


def test_int_plus_bool_gives_int():
    assert (ember.tensor([1, 2]) + ember.tensor([True, False])).dtype is ember.int64


def test_float32_grad_of_float64_mix_has_input_dtype():
    a = ember.ones(2, requires_grad=True)
    b = ember.ones(2, dtype=ember.float64, requires_grad=True)
    (a * b).sum().backward()
    assert a.grad.dtype is ember.float32
    assert b.grad.dtype is ember.float64


# ----- comparisons and logic never require grad -----------------------------------------
@pytest.mark.parametrize("op", [
    lambda a, b: a == b, lambda a, b: a != b, lambda a, b: a < b, lambda a, b: a <= b,
    lambda a, b: a > b, lambda a, b: a >= b, lambda a, b: ember.eq(a, b),
    lambda a, b: ember.logical_and(a > 0, b > 0), lambda a, b: ember.logical_or(a > 0, b),
    lambda a, b: ember.logical_not(a), lambda a, b: ember.isnan(a), lambda a, b: a > 0.5,
])
def test_comparison_result_is_bool_and_never_requires_grad(op):
    a = ember.tensor([0.5, -1.0, 2.0], requires_grad=True)
    b = ember.tensor([0.5, 1.0, -2.0], requires_grad=True)
    out = op(a, b)
    assert out.dtype is ember.bool
    assert not out.requires_grad
    assert out.grad_fn is None


def test_comparison_values_match_torch():
    torch = pytest.importorskip("torch")
    a = np.array([0.5, -1.0, 2.0, 3.0], dtype=np.float32)
    b = np.array([0.5, 1.0, -2.0, 3.5], dtype=np.float32)
    ea, eb, ta, tb = ember.tensor(a), ember.tensor(b), torch.tensor(a), torch.tensor(b)
    for name in ("eq", "ne", "lt", "le", "gt", "ge"):
        assert getattr(ea, name)(eb).tolist() == getattr(ta, name)(tb).tolist(), name


def test_where_condition_must_be_bool():
    with pytest.raises(RuntimeError, match="boolean"):
        ember.where(ember.tensor([1, 0]), ember.ones(2), ember.zeros(2))


def test_where_method_takes_condition_then_other():
    out = ember.tensor([1.0, 2.0]).where(ember.tensor([True, False]), 5.0)
    assert out.tolist() == [1.0, 5.0]


def test_comparing_with_none_is_identity_not_elementwise():
    t = ember.tensor([1, 2])
    assert (t == None) is False  # noqa: E711 - the operator itself is under test
    assert (t != None) is True  # noqa: E711


# ----- trigonometric and hyperbolic -----------------------------------------------------
def test_tan():
    check_op(lambda lib, a: lib.tan(a), (3, 4), low=-1.2, high=1.2)


def test_asin():
    check_op(lambda lib, a: lib.asin(a), (3, 4), low=-0.9, high=0.9)


def test_acos():
    check_op(lambda lib, a: lib.acos(a), (3, 4), low=-0.9, high=0.9)


def test_atan():
    check_op(lambda lib, a: lib.atan(a), (3, 4))


def test_sinh():
    check_op(lambda lib, a: lib.sinh(a), (3, 4))


def test_cosh():
    check_op(lambda lib, a: lib.cosh(a), (3, 4))


def test_asinh():
    check_op(lambda lib, a: lib.asinh(a), (3, 4))


def test_acosh():
    check_op(lambda lib, a: lib.acosh(a + 1.5), (3, 4), positive=True)


def test_atanh():
    check_op(lambda lib, a: lib.atanh(a), (3, 4), low=-0.9, high=0.9)


def test_atan2_broadcast():
    check_op(lambda lib, a, b: lib.atan2(a, b), (3, 4), (4,))


# ----- exponentials, logarithms, erf ----------------------------------------------------
def test_log10():
    check_op(lambda lib, a: lib.log10(a), (3, 4), positive=True)


def test_exp2():
    check_op(lambda lib, a: lib.exp2(a), (3, 4))


def test_logaddexp():
    check_op(lambda lib, a, b: lib.logaddexp(a, b), (3, 4), (4,))


def test_logaddexp2():
    check_op(lambda lib, a, b: lib.logaddexp2(a, b), (3, 4), (3, 1))


def test_xlogy_tensors():
    check_op(lambda lib, a, b: lib.xlogy(a, b), (3, 4), (4,), positive=True)


def test_xlogy_with_numbers():
    check_op(lambda lib, a: lib.xlogy(a, 2.5) + lib.xlogy(1.5, a), (3, 4), positive=True)


def test_erf():
    check_op(lambda lib, a: lib.erf(a) + a.erf(), (3, 4))


def test_erfc():
    check_op(lambda lib, a: lib.erfc(a), (3, 4))


def test_erfinv():
    check_op(lambda lib, a: lib.erfinv(a), (3, 4), low=-0.95, high=0.95)


def test_lerp_number_weight():
    check_op(lambda lib, a, b: lib.lerp(a, b, 0.3), (3, 4), (4,))


def test_lerp_tensor_weight():
    check_op(lambda lib, a, b, w: a.lerp(b, w), (3, 4), (3, 4), (4,))


def test_hypot():
    check_op(lambda lib, a, b: lib.hypot(a, b), (3, 4), (4,))


# ----- rounding, remainders, signs ------------------------------------------------------
def test_rounding_ops_have_zero_gradient():
    check_op(lambda lib, a: (lib.floor(a) + lib.ceil(a) + lib.round(a) + lib.trunc(a)) * a,
             (3, 4))


def test_round_decimals():
    check_op(lambda lib, a: lib.round(a, decimals=2) * a + a.round(decimals=-1), (3, 4))


def test_frac():
    check_op(lambda lib, a: lib.frac(a * 3), (3, 4))


def test_fmod_by_tensor():
    check_op(lambda lib, a, b: lib.fmod(a * 3, b), (3, 4), (4,), positive=True)


def test_fmod_by_number():
    check_op(lambda lib, a: lib.fmod(a * 3, 1.5), (3, 4))


def test_remainder_by_tensor():
    check_op(lambda lib, a, b: (a * 3) % b, (3, 4), (4,), positive=True)


def test_remainder_by_number():
    check_op(lambda lib, a: lib.remainder(a * 3, -1.5), (3, 4))


def test_div_rounding_modes_have_zero_gradient():
    check_op(lambda lib, a, b: (lib.div(a, b, rounding_mode="trunc")
                                + a.div(b, rounding_mode="floor")) * a, (3, 4), (4,))


def test_sgn():
    check_op(lambda lib, a: lib.sgn(a) * a, (3, 4))


def test_copysign_by_tensor():
    check_op(lambda lib, a, b: lib.copysign(a, b), (3, 4), (4,))


def test_copysign_by_number():
    check_op(lambda lib, a: lib.copysign(a, -1.0), (3, 4))


def test_nan_to_num():
    check_op(lambda lib, a: lib.nan_to_num(lib.log(a), neginf=-5.0), (3, 4))


def test_float_power():
    check_op(lambda lib, a, b: lib.float_power(a, b) + lib.float_power(a, 2), (3, 4), (4,),
             positive=True)


def test_square():
    check_op(lambda lib, a: lib.square(a), (3, 4))


def test_positive():
    check_op(lambda lib, a: lib.positive(a) * +a, (3, 4))


def test_clamp_min_number():
    check_op(lambda lib, a: lib.clamp_min(a, 0.3) * a, (3, 4))


def test_clamp_max_tensor():
    check_op(lambda lib, a, b: a.clamp_max(b), (3, 4), (4,))


def test_clamp_min_tensor():
    check_op(lambda lib, a, b: lib.clamp_min(a, b), (3, 4), (3, 1))


def test_clamp_both_tensor_bounds_crossing():
    check_op(lambda lib, a, lo, hi: lib.clamp(a, lo, hi), (3, 4), (4,), (4,))


# ----- grad_fn names -------------------------------------------------------------------
@pytest.mark.parametrize("fn, name", [
    (lambda x, y: x.tan(), "TanBackward0"), (lambda x, y: x.atan2(y), "Atan2Backward0"),
    (lambda x, y: x.logaddexp(y), "LogaddexpBackward0"),
    (lambda x, y: ember.xlogy(2.0, y), "XlogyBackward1"),
    (lambda x, y: ember.xlogy(x, 2.0), "XlogyBackward2"), (lambda x, y: x.erfc(), "ErfcBackward0"),
    (lambda x, y: x.lerp(y, x), "LerpBackward1"), (lambda x, y: x.round(decimals=1),
                                                    "RoundBackward1"),
    (lambda x, y: x.fmod(0.3), "FmodBackward0"), (lambda x, y: x % y, "RemainderBackward1"),
    (lambda x, y: x.div(y, rounding_mode="floor"), "DivBackward2"),
    (lambda x, y: x // y, "NotImplemented"), (lambda x, y: x.copysign(-1.0), "CopysignBackward1"),
    (lambda x, y: x.nan_to_num(), "NanToNumBackward0"), (lambda x, y: x.square(), "PowBackward0"),
    (lambda x, y: x.float_power(y), "PowBackward1"), (lambda x, y: x.clamp_min(y),
                                                       "ClampMinBackward1"),
    (lambda x, y: x.clamp_max(0.5), "ClampMaxBackward0"), (lambda x, y: x.clamp(y),
                                                            "ClampBackward0"),
])
def test_grad_fn_is_named_like_pytorch(fn, name):
    x = ember.tensor([0.5, 1.5], requires_grad=True)
    y = ember.tensor([1.0, 0.25], requires_grad=True)
    assert type(fn(x, y).grad_fn).__name__ == name


def test_floor_divide_backward_raises_like_pytorch():
    x = ember.tensor([0.5, 1.5], requires_grad=True)
    with pytest.raises(RuntimeError, match="derivative for aten::floor_divide is not "
                                           "implemented"):
        (x // 2).sum().backward()


def test_number_remainder_tensor_backward_raises():
    x = ember.tensor([0.5, 1.5], requires_grad=True)
    with pytest.raises(RuntimeError, match="derivative for aten::remainder"):
        (2.0 % x).sum().backward()


def test_positive_returns_the_tensor_itself():
    x = ember.ones(2)
    assert ember.positive(x) is x and +x is x


def test_positive_refuses_bool():
    with pytest.raises(RuntimeError, match="`\\+` operator, on a bool tensor"):
        +ember.tensor([True])


# ----- integer and bool inputs -----------------------------------------------------------
@pytest.mark.parametrize("name", [
    "exp", "log", "sqrt", "sin", "tanh", "sigmoid", "reciprocal", "tan", "asin", "atan",
    "sinh", "log10", "exp2", "erf", "erfc", "erfinv", "expm1", "rsqrt",
])
@pytest.mark.parametrize("values", [[1, -2, 3], [True, False, True]])
def test_float_ops_on_int_and_bool_give_default_float(name, values):
    torch = pytest.importorskip("torch")
    out = getattr(ember, name)(ember.tensor(values))
    expected = getattr(torch, name)(torch.tensor(values))
    assert out.dtype is ember.float32
    np.testing.assert_allclose(out.numpy(), expected.numpy(), rtol=1e-5, equal_nan=True)


@pytest.mark.parametrize("name", ["floor", "ceil", "round", "trunc"])
def test_rounding_int_keeps_int_values(name):
    out = getattr(ember, name)(ember.tensor([1, -2, 3]))
    assert out.dtype is ember.int64 and out.tolist() == [1, -2, 3]


@pytest.mark.parametrize("name, kernel", [
    ("floor", "floor_vml_cpu"), ("ceil", "ceil_vml_cpu"), ("trunc", "trunc_vml_cpu"),
    ("frac", "frac_cpu"),
])
def test_rounding_bool_is_not_implemented(name, kernel):
    with pytest.raises(NotImplementedError, match=f'"{kernel}" not implemented for \'Bool\''):
        getattr(ember, name)(ember.tensor([True]))


def test_frac_of_int_is_not_implemented():
    with pytest.raises(NotImplementedError, match="'Long'"):
        ember.frac(ember.tensor([1]))


@pytest.mark.parametrize("op", [
    lambda lib, a, b: a % b, lambda lib, a, b: a // b, lambda lib, a, b: lib.fmod(a, b),
    lambda lib, a, b: lib.div(a, b, rounding_mode="trunc"),
    lambda lib, a, b: lib.div(a, b, rounding_mode="floor"), lambda lib, a, b: a % 3,
    lambda lib, a, b: 7 // b, lambda lib, a, b: lib.remainder(5, b),
])
def test_integer_division_family_matches_torch(op):
    torch = pytest.importorskip("torch")
    a, b = [7, -7, 3, -3], [2, 2, -2, -2]
    out = op(ember, ember.tensor(a), ember.tensor(b))
    expected = op(torch, torch.tensor(a), torch.tensor(b))
    assert out.dtype is ember.int64
    assert out.tolist() == expected.tolist()


@pytest.mark.parametrize("op", [
    lambda a, b: a % b, lambda a, b: a // b, lambda a, b: ember.fmod(a, b),
    lambda a, b: ember.div(a, b, rounding_mode="trunc"),
])
def test_integer_division_by_zero_raises(op):
    with pytest.raises(RuntimeError, match="ZeroDivisionError"):
        op(ember.tensor([1, 2]), ember.tensor([1, 0]))


def test_float_division_family_matches_torch_with_negatives():
    torch = pytest.importorskip("torch")
    a, b = [7.5, -7.5, 3.0, -3.0], [2.0, 2.0, -2.0, -0.5]
    for op in (lambda x, y: x % y, lambda x, y: x // y, lambda x, y: x.fmod(y),
               lambda x, y: x.div(y, rounding_mode="trunc")):
        assert op(ember.tensor(a), ember.tensor(b)).tolist() == op(
            torch.tensor(a), torch.tensor(b)).tolist()


def test_div_rejects_unknown_rounding_mode():
    with pytest.raises(RuntimeError, match="rounding_mode to be one of None, 'trunc', or "
                                           "'floor' but found 'up'"):
        ember.div(ember.ones(2), 2, rounding_mode="up")


@pytest.mark.parametrize("name", ["logaddexp", "hypot"])
def test_int_logaddexp_and_hypot_are_not_implemented(name):
    with pytest.raises(NotImplementedError, match=f'"{name}_cpu" not implemented for \'Long\''):
        getattr(ember, name)(ember.tensor([1]), ember.tensor([2]))


@pytest.mark.parametrize("name", ["atan2", "copysign", "xlogy"])
def test_int_float_binary_ops_give_default_float(name):
    torch = pytest.importorskip("torch")
    a, b = [7, -7, 3], [2, 2, -2]
    out = getattr(ember, name)(ember.tensor(a), ember.tensor(b))
    expected = getattr(torch, name)(torch.tensor(a), torch.tensor(b))
    assert out.dtype is ember.float32
    np.testing.assert_allclose(out.numpy(), expected.numpy(), rtol=1e-6, equal_nan=True)


def test_float_power_is_float64():
    out = ember.float_power(ember.tensor([2, 3]), 2)
    assert out.dtype is ember.float64 and out.tolist() == [4.0, 9.0]


def test_float_power_grad_has_input_dtype():
    x = ember.tensor([2.0, 3.0], requires_grad=True)
    ember.float_power(x, 2).sum().backward()
    assert x.grad.dtype is ember.float32 and x.grad.tolist() == [4.0, 6.0]


def test_square_of_bool_is_int64():
    assert ember.square(ember.tensor([True, False])).tolist() == [1, 0]
    assert ember.square(ember.tensor([True])).dtype is ember.int64


def test_sign_and_signbit_of_bool():
    assert ember.sign(ember.tensor([True, False])).tolist() == [True, False]
    assert ember.signbit(ember.tensor([True])).tolist() == [False]


def test_signbit_sees_negative_zero():
    assert ember.signbit(ember.tensor([-0.0, 0.0, -1.0])).tolist() == [True, False, True]


def test_lerp_refuses_int_and_mixed_dtypes():
    with pytest.raises(NotImplementedError, match="lerp_kernel_scalar"):
        ember.lerp(ember.tensor([1]), ember.tensor([2]), 0.5)
    with pytest.raises(RuntimeError, match="expected dtype float for `end` but got dtype double"):
        ember.lerp(ember.ones(2), ember.ones(2, dtype=ember.float64), 0.5)


# ----- special values ---------------------------------------------------------------------
def test_round_is_half_to_even_and_decimals_match_torch():
    torch = pytest.importorskip("torch")
    v = [0.5, 1.5, 2.5, -0.5, 1.2345, 15.0, 1234.5]
    assert ember.round(ember.tensor(v)).tolist() == torch.round(torch.tensor(v)).tolist()
    for d in (2, -1, -2):
        np.testing.assert_allclose(ember.round(ember.tensor(v), decimals=d).numpy(),
                                   torch.round(torch.tensor(v), decimals=d).numpy())


def test_nan_to_num_defaults_to_dtype_extremes():
    out = ember.nan_to_num(ember.tensor([float("nan"), float("inf"), -float("inf"), 1.0]))
    big = float(np.finfo(np.float32).max)
    assert out.tolist() == [0.0, big, -big, 1.0]


def test_nan_to_num_gradient_is_zero_at_non_finite():
    x = ember.tensor([float("nan"), float("inf"), 1.0], requires_grad=True)
    ember.nan_to_num(x).sum().backward()
    assert x.grad.tolist() == [0.0, 0.0, 1.0]


def test_xlogy_is_zero_where_x_is_zero_unless_y_is_nan():
    out = ember.xlogy(ember.tensor([0.0, 0.0, 2.0]), ember.tensor([0.0, float("nan"), 1.0]))
    assert out[0].item() == 0.0 and np.isnan(out[1].item()) and out[2].item() == 0.0


def test_xlogy_gradients_at_zero_match_torch():
    x = ember.tensor([0.0, 1.0, 2.0], requires_grad=True)
    y = ember.tensor([0.0, 0.0, 3.0], requires_grad=True)
    ember.xlogy(x, y).sum().backward()
    assert x.grad.tolist()[:2] == [0.0, float("-inf")]
    assert np.isnan(y.grad[0].item()) and y.grad[1].item() == float("inf")


def test_atan2_gradient_at_origin_is_zero():
    x = ember.tensor([0.0], requires_grad=True)
    y = ember.tensor([0.0], requires_grad=True)
    ember.atan2(x, y).sum().backward()
    assert x.grad.tolist() == [0.0] and y.grad.tolist() == [0.0]


def test_copysign_gradient_is_zero_at_zero_and_flips_sign():
    x = ember.tensor([0.0, 1.0, -2.0], requires_grad=True)
    ember.copysign(x, ember.tensor([0.0, -0.0, 3.0])).sum().backward()
    assert x.grad.tolist() == [0.0, -1.0, -1.0]


def test_erfinv_edges():
    out = ember.erfinv(ember.tensor([1.0, -1.0, 1.5, 0.0]))
    assert out.tolist()[:2] == [float("inf"), float("-inf")]
    assert np.isnan(out[2].item()) and out[3].item() == 0.0


def test_erfinv_inverts_erf_in_float64():
    x = ember.tensor(np.linspace(-3.5, 3.5, 41), dtype=ember.float64)
    np.testing.assert_allclose(ember.erfinv(ember.erf(x)).numpy(), x.numpy(), rtol=1e-9)


def test_erf_of_nan_is_nan():
    assert np.isnan(ember.erf(ember.tensor([float("nan")])).item())


def test_true_division_operator_is_unchanged():
    a = ember.tensor([3.0, 1.0], requires_grad=True)
    out = 6 / a
    assert type(out.grad_fn).__name__ == "DivBackward0" and out.tolist() == [2.0, 6.0]


def test_aliases_are_the_same_ops():
    x = ember.tensor([0.25, 0.5])
    for a, b in [("arcsin", "asin"), ("arctan2", "atan2"), ("fix", "trunc"), ("clip", "clamp"),
                 ("divide", "div")]:
        assert getattr(ember, a) is getattr(ember, b)
    assert x.arccos().tolist() == x.acos().tolist()


def test_methods_and_operators_are_bound():
    x = ember.tensor([5.5, -2.5])
    assert x.floor().tolist() == [5.0, -3.0] and x.ceil().tolist() == [6.0, -2.0]
    assert (x % 2).tolist() == [1.5, 1.5] and (x // 2).tolist() == [2.0, -2.0]
    assert (7 // ember.tensor([2, -2])).tolist() == [3, -4]
    assert x.clamp_min(0).tolist() == [5.5, 0.0] and x.clamp_max(0).tolist() == [0.0, -2.5]
    assert x.frac().tolist() == [0.5, -0.5] and x.sgn().tolist() == [1.0, -1.0]
