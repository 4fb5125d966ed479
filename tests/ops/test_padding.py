"""F.pad and the padding layers: gradients (finite differences, double backward, torch),
cropping, grad_fn names, PyTorch's errors, module reprs."""

from __future__ import annotations

import pytest

import ember
import ember.nn as nn
import ember.nn.functional as F
from tests.helpers import check_op, grad_fn_name


def _pad(pad, mode="constant", value=None):
    return lambda lib, a: lib.nn.functional.pad(a, pad, mode=mode, value=value)


# ----- gradients: finite differences, double backward and torch ---------------------------

@pytest.mark.parametrize("shape, pad, mode", [
    ((2, 3, 4), (1, 2), "constant"),
    ((2, 3, 4), (1, -1, 2, 0), "constant"),
    ((2, 3, 4), (-1, -2, 0, 1, 1, 0), "constant"),
    ((2, 3, 5), (2, 3), "reflect"),
    ((2, 3, 5), (-1, 3), "reflect"),
    ((2, 3, 4), (1, 2, 2, 1), "reflect"),
    ((1, 2, 3, 4), (1, 2, 2, 1), "reflect"),
    ((1, 3, 3, 4), (1, 2, 1, 1, 2, 0), "reflect"),
    ((2, 3, 5), (4, 1), "replicate"),
    ((2, 3, 5), (-2, 1), "replicate"),
    ((1, 2, 3, 4), (3, 2, 5, 1), "replicate"),
    ((1, 2, 3, 4), (1, 2, 1, 3, 2, 1), "replicate"),
    ((2, 3, 5), (5, 2), "circular"),
    ((2, 3, 5), (-2, 3), "circular"),
    ((1, 2, 3, 4), (1, 2, 3, 1), "circular"),
    ((1, 2, 3, 4), (1, 2, 1, 1, 2, 0), "circular"),
])
def test_pad_grad(shape, pad, mode):
    check_op(_pad(pad, mode), shape)


def test_constant_pad_fill_value_grad():
    check_op(_pad((1, 1, 2, 0), value=1.5), (2, 3))


# ----- values, names ------------------------------------------------------------------

def test_constant_pad_fills_value_and_negative_pad_crops():
    x = ember.arange(6.0).reshape(2, 3)
    assert F.pad(x, (1, -1), value=9.0).tolist() == [[9.0, 0.0, 1.0], [9.0, 3.0, 4.0]]


def test_constant_pad_value_takes_the_input_dtype():
    out = F.pad(ember.tensor([[1, 2]]), [1, 1], value=2.5)
    assert out.dtype == ember.int64 and out.tolist() == [[2, 1, 2, 2]]


def test_reflect_replicate_circular_values():
    x = ember.arange(4.0).reshape(1, 1, 4)
    assert F.pad(x, (2, 1), "reflect").flatten().tolist() == [2, 1, 0, 1, 2, 3, 2]
    assert F.pad(x, (2, 1), "replicate").flatten().tolist() == [0, 0, 0, 1, 2, 3, 3]
    assert F.pad(x, (2, 1), "circular").flatten().tolist() == [2, 3, 0, 1, 2, 3, 0]


def test_circular_pad_with_crop_wraps_the_kept_part_like_torch():
    x = ember.arange(5.0).reshape(1, 1, 5)
    assert F.pad(x, (-2, 3), "circular").flatten().tolist() == [2, 3, 4, 2, 3, 4]


def test_pad_of_unbatched_input_uses_the_last_dims():
    out = F.pad(ember.zeros(3, 4), (1, 1), "replicate")
    assert out.shape == (3, 6)


@pytest.mark.parametrize("mode, name", [
    ("constant", "ConstantPadNdBackward0"), ("reflect", "ReflectionPad2DBackward0"),
    ("replicate", "ReplicationPad2DBackward0"), ("circular", "CopySlices"),
])
def test_pad_grad_fn_names_match_torch(mode, name):
    x = ember.zeros(1, 1, 3, 3, requires_grad=True)
    assert grad_fn_name(F.pad(x, (1, 1, 1, 1), mode)) == name


# ----- errors ---------------------------------------------------------------------------

def test_odd_pad_length_raises():
    with pytest.raises(RuntimeError, match="Padding length must be divisible by 2"):
        F.pad(ember.zeros(2, 3), (1,))


def test_pad_longer_than_dims_raises():
    with pytest.raises(RuntimeError, match="Padding length should be less than or equal to two "
                       "times the input dimension but got padding length 6 and input of "
                       "dimension 2"):
        F.pad(ember.zeros(2, 3), (1, 1, 1, 1, 1, 1))


def test_unknown_mode_raises():
    with pytest.raises(NotImplementedError, match="Unrecognised padding mode foo"):
        F.pad(ember.zeros(1, 2, 3), (1, 1), "foo")


def test_reflect_pad_too_large_raises():
    with pytest.raises(RuntimeError, match=r"Argument #4: Padding size should be less than the "
                       r"corresponding input dimension, but got: padding \(4, 1\) at dimension 2 "
                       r"of input \[1, 3, 4\]"):
        F.pad(ember.zeros(1, 3, 4), (4, 1), "reflect")


def test_border_mode_on_wrong_rank_raises():
    with pytest.raises(NotImplementedError, match="Padding size 2 is not supported for 1D input "
                       "tensor."):
        F.pad(ember.zeros(4), (1, 1), "reflect")


def test_border_mode_rejects_a_fill_value():
    with pytest.raises(RuntimeError, match='Padding mode "reflect" doesn\'t take in value'):
        F.pad(ember.zeros(1, 3, 4), (1, 1), "reflect", value=2.0)


def test_circular_pad_wrapping_twice_raises():
    with pytest.raises(RuntimeError, match="Padding value causes wrapping around more than once."):
        F.pad(ember.zeros(1, 3, 4), (5, 1), "circular")


def test_replicate_pad_of_empty_dim_raises():
    with pytest.raises(RuntimeError, match=r"Expected 2D or 3D \(batch mode\) tensor with "
                       r"possibly 0 batch size and other non-zero dimensions for input, but got: "
                       r"\[1, 3, 0\]"):
        F.pad(ember.zeros(1, 3, 0), (1, 1), "replicate")


# ----- modules --------------------------------------------------------------------------

def test_padding_module_reprs_match_torch():
    assert repr(nn.ZeroPad2d(1)) == "ZeroPad2d((1, 1, 1, 1))"
    assert repr(nn.ConstantPad1d(2, 3.5)) == "ConstantPad1d(padding=(2, 2), value=3.5)"
    assert repr(nn.ReflectionPad2d((1, 2, 3, 4))) == "ReflectionPad2d((1, 2, 3, 4))"
    assert repr(nn.ReplicationPad1d((1, 2))) == "ReplicationPad1d((1, 2))"
    assert repr(nn.CircularPad2d(1)) == "CircularPad2d((1, 1, 1, 1))"


def test_zero_pad_is_a_constant_pad():
    assert isinstance(nn.ZeroPad2d(1), nn.ConstantPad2d)
    assert nn.ZeroPad2d(1).value == 0.0


@pytest.mark.parametrize("name, args, shape", [
    ("ZeroPad2d", ((1, 0, 2, 1),), (2, 3, 4)),
    ("ConstantPad2d", (2, -0.5), (1, 2, 3, 4)),
    ("ReflectionPad1d", ((2, 1),), (2, 3, 4)),
    ("ReflectionPad2d", (2,), (1, 2, 3, 4)),
    ("ReplicationPad1d", (3,), (3, 4)),
    ("ReplicationPad2d", ((1, 2, 0, 3),), (1, 2, 3, 4)),
    ("CircularPad2d", (1,), (1, 2, 3, 4)),
])
def test_padding_modules_match_torch(name, args, shape):
    check_op(lambda lib, a: getattr(lib.nn, name)(*args)(a), shape, second_order=False)


def test_circular_pad_module_checks_input_rank():
    with pytest.raises(ValueError, match=r"expected 3D or 4D input \(got 2D input\)"):
        nn.CircularPad2d(1)(ember.zeros(3, 3))
