"""dtypes and PyTorch's type promotion: Python scalars do not upcast a tensor, categories
(bool < int < float) decide before sizes, dimensioned tensors beat 0-dim ones."""

from __future__ import annotations

import numpy as np
import pytest

import ember


def test_dtype_repr_and_aliases():
    assert repr(ember.float32) == "ember.float32"
    assert ember.float is ember.float32 and ember.double is ember.float64
    assert ember.half is ember.float16 and ember.long is ember.int64
    assert ember.int is ember.int32 and ember.short is ember.int16
    assert repr(ember.bool) == "ember.bool"


def test_dtype_properties():
    assert ember.float32.is_floating_point and not ember.int64.is_floating_point
    assert ember.float16.itemsize == 2 and ember.float64.itemsize == 8
    assert ember.int32.is_signed and not ember.uint8.is_signed and not ember.bool.is_signed
    assert not ember.float32.is_complex


def test_default_dtype_is_float32():
    assert ember.get_default_dtype() is ember.float32


def test_set_default_dtype_changes_factories_and_python_floats():
    try:
        ember.set_default_dtype(ember.float64)
        assert ember.tensor([1.5]).dtype is ember.float64
        assert ember.zeros(2).dtype is ember.float64
        assert (ember.tensor([1, 2]) * 0.5).dtype is ember.float64
    finally:
        ember.set_default_dtype(ember.float32)
    assert ember.tensor([1.5]).dtype is ember.float32


def test_set_default_dtype_rejects_integer_types():
    with pytest.raises(TypeError, match="only floating-point types"):
        ember.set_default_dtype(ember.int64)


def test_tensor_dtype_comes_from_the_array():
    assert ember.tensor([1.0]).dtype is ember.float32
    assert ember.tensor([1.0], dtype=ember.float16).dtype is ember.float16


# ----- tensor with Python scalar --------------------------------------------------------
@pytest.mark.parametrize(
    "make, expected",
    [
        (lambda: ember.tensor([1.0]) * 2.5, ember.float32),
        (lambda: ember.tensor([1.0], dtype=ember.float16) * 2.0, ember.float16),
        (lambda: ember.tensor([1.0], dtype=ember.float64) * 2.0, ember.float64),
        (lambda: ember.tensor([1, 2]) * 2.5, ember.float32),
        (lambda: 2.5 * ember.tensor([1, 2]), ember.float32),
        (lambda: ember.tensor([1, 2]) * 2, ember.int64),
        (lambda: ember.tensor([1], dtype=ember.int32) * 2, ember.int32),
        (lambda: ember.tensor([True]) + 1, ember.int64),
        (lambda: ember.tensor([True]) * 1.5, ember.float32),
        (lambda: ember.tensor([1.0]) * True, ember.float32),
        (lambda: 1 - ember.tensor([1, 2]), ember.int64),
        (lambda: ember.tensor([1, 2]) ** 0.5, ember.float32),
        (lambda: ember.tensor([1.0]) + np.float64(2.0), ember.float32),
        (lambda: ember.tensor([1]) * np.float64(2.0), ember.float32),
    ],
    ids=[
        "f32*float", "f16*float", "f64*float", "int*float", "float*int", "int*int",
        "i32*int", "bool+int", "bool*float", "f32*bool", "int-rsub", "int**float",
        "f32+np.float64", "int*np.float64",
    ],
)
def test_python_scalars_do_not_upcast(make, expected):
    assert make().dtype is expected


def test_float32_times_python_float_keeps_values():
    y = ember.tensor([1.0, 2.0]) * 0.5
    assert y.dtype is ember.float32 and y.tolist() == [0.5, 1.0]


def test_integer_tensor_times_float_scalar_computes_in_float():
    y = ember.tensor([1, 2]) * 2.5
    assert y.tolist() == [2.5, 5.0]


def test_integer_true_division_gives_the_default_float():
    assert (ember.tensor([1, 2]) / ember.tensor([2, 2])).dtype is ember.float32
    assert (ember.tensor([1, 2]) / 2).tolist() == [0.5, 1.0]


# ----- tensor with tensor ---------------------------------------------------------------
@pytest.mark.parametrize(
    "a, b, expected",
    [
        (([1, 2], None), ([1.0, 2.0], ember.float16), ember.float16),
        (([1.0, 2.0], None), (1.0, ember.float64), ember.float32),
        ((1.0, None), (1.0, ember.float64), ember.float64),
        (([1.0], ember.float64), (1.0, None), ember.float64),
        (([1], ember.int32), (1, None), ember.int32),
        (([1], ember.int32), (1.0, ember.float64), ember.float64),
        (([1], ember.int32), ([1], None), ember.int64),
        (([1], ember.uint8), ([1], ember.int8), ember.int16),
        (([True], None), ([True], None), ember.bool),
        (([1.0], ember.float16), ([1.0], ember.float32), ember.float32),
    ],
    ids=[
        "int64+f16", "f32+f64-0d", "0d-f32+0d-f64", "f64+f32-0d", "i32+i64-0d",
        "i32+f64-0d", "i32+i64", "u8+i8", "bool+bool", "f16+f32",
    ],
)
def test_tensor_tensor_promotion(a, b, expected):
    ta = ember.tensor(a[0], dtype=a[1])
    tb = ember.tensor(b[0], dtype=b[1])
    assert (ta + tb).dtype is expected
    assert (tb + ta).dtype is expected


def test_promote_types_follows_categories_first():
    from ember._dtypes import promote_types

    assert promote_types(ember.int64, ember.float16) is ember.float16
    assert promote_types(ember.uint8, ember.int8) is ember.int16
    assert promote_types(ember.bool, ember.int32) is ember.int32
    assert promote_types(ember.float32, ember.float64) is ember.float64


def test_gradient_comes_back_in_the_input_dtype():
    x = ember.tensor([1.0, 2.0], dtype=ember.float16, requires_grad=True)
    (x * ember.tensor([3.0, 4.0])).sum().backward()
    assert x.grad.dtype is ember.float16
    assert x.grad.tolist() == [3.0, 4.0]


# ----- conversions ----------------------------------------------------------------------
def test_to_dtype_and_shortcuts():
    t = ember.tensor([1.7, -1.7])
    assert t.to(ember.int64).tolist() == [1, -1]
    assert t.long().dtype is ember.int64
    assert t.double().dtype is ember.float64
    assert ember.tensor([1]).float().dtype is ember.float32
    assert t.to(dtype=ember.float16).dtype is ember.float16
    assert ember.tensor([0.0, 2.0]).bool().tolist() == [False, True]


def test_to_the_same_dtype_returns_the_tensor_itself():
    t = ember.tensor([1.0])
    assert t.to(ember.float32) is t
    assert t.to("cpu") is t


def test_dtype_conversion_is_differentiable():
    x = ember.tensor([1.0, 2.0], requires_grad=True)
    y = x.double()
    assert type(y.grad_fn).__name__ == "ToCopyBackward0"
    (y * y).sum().backward()
    assert x.grad.dtype is ember.float32 and x.grad.tolist() == [2.0, 4.0]


def test_unsupported_numpy_dtype_is_refused():
    with pytest.raises(TypeError, match="can't convert np.ndarray of type"):
        ember.from_numpy(np.array([1 + 2j]))
