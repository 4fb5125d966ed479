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
