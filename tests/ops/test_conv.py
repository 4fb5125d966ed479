"""Convolution and pooling ops: finite differences (with double backward) and torch as oracle
for every option that changes the geometry; then grad_fn names, shapes and errors."""

from __future__ import annotations

import numpy as np
import pytest

import ember
import ember.nn.functional as F
from ember.ops import conv as conv_ops
from tests.helpers import check_op, compare_with_torch, grad_fn_name, make_arrays


def _F(lib):
    return F if lib is ember else lib.nn.functional


# ----- convolutions ----------------------------------------------------------------------

def test_conv2d_plain_matches_torch():
    check_op(lambda lib, x, w, b: _F(lib).conv2d(x, w, b), (2, 3, 5, 5), (4, 3, 3, 3), (4,))


def test_conv2d_stride_and_padding_match_torch():
    check_op(lambda lib, x, w, b: _F(lib).conv2d(x, w, b, stride=2, padding=1),
             (2, 3, 5, 5), (4, 3, 3, 3), (4,))


def test_conv2d_asymmetric_stride_padding_dilation_groups_match_torch():
    check_op(lambda lib, x, w, b: _F(lib).conv2d(x, w, b, stride=(2, 1), padding=(1, 2),
                                                 dilation=(2, 1), groups=2),
             (2, 4, 7, 6), (6, 2, 3, 2), (6,))


@pytest.mark.filterwarnings("ignore:Using padding='same'")  # torch's note on its own copy
def test_conv2d_same_padding_with_even_kernel_matches_torch():
    check_op(lambda lib, x, w: _F(lib).conv2d(x, w, padding="same", dilation=(1, 2)),
             (1, 2, 5, 6), (3, 2, 2, 3))


def test_conv2d_valid_padding_without_bias_matches_torch():
    check_op(lambda lib, x, w: _F(lib).conv2d(x, w, padding="valid"), (2, 2, 4, 4), (3, 2, 2, 2))


def test_conv2d_stride_that_skips_trailing_rows_matches_torch():
    check_op(lambda lib, x, w, b: _F(lib).conv2d(x, w, b, stride=3), (2, 2, 7, 8),
             (3, 2, 3, 3), (3,))


def test_conv2d_unbatched_input_matches_torch():
    check_op(lambda lib, x, w, b: _F(lib).conv2d(x, w, b, padding=1), (2, 4, 4), (3, 2, 3, 3),
             (3,))


def test_conv1d_matches_torch():
    check_op(lambda lib, x, w, b: _F(lib).conv1d(x, w, b, stride=2, padding=1, dilation=2),
             (2, 3, 9), (4, 3, 3), (4,))


@pytest.mark.filterwarnings("ignore:Using padding='same'")
def test_conv1d_depthwise_same_padding_matches_torch():
    check_op(lambda lib, x, w: _F(lib).conv1d(x, w, padding="same", groups=3), (2, 3, 7),
             (6, 1, 4))


def test_conv_transpose2d_matches_torch():
    check_op(lambda lib, x, w, b: _F(lib).conv_transpose2d(x, w, b), (2, 3, 4, 4),
             (3, 2, 3, 3), (2,))


def test_conv_transpose2d_stride_padding_output_padding_match_torch():
    check_op(lambda lib, x, w, b: _F(lib).conv_transpose2d(x, w, b, stride=2, padding=1,
                                                           output_padding=1),
             (2, 3, 3, 4), (3, 2, 3, 3), (2,))


def test_conv_transpose2d_groups_dilation_mixed_strides_match_torch():
    check_op(lambda lib, x, w, b: _F(lib).conv_transpose2d(
        x, w, b, stride=(2, 3), padding=(0, 1), output_padding=(1, 0), groups=3,
        dilation=(1, 2)), (1, 3, 3, 4), (3, 2, 3, 3), (6,))


def test_conv_transpose2d_output_padding_below_dilation_matches_torch():
    check_op(lambda lib, x, w: _F(lib).conv_transpose2d(x, w, dilation=2, output_padding=1),
             (1, 2, 3, 4), (2, 2, 3, 2))


def test_conv_transpose1d_matches_torch():
    check_op(lambda lib, x, w, b: _F(lib).conv_transpose1d(x, w, b, stride=2, padding=1),
             (2, 3, 5), (3, 4, 3), (4,))


@pytest.mark.parametrize("stride, padding", [(1, 0), (1, 2), (2, 1)])
def test_conv2d_input_gradient_scattered_image_by_image_matches_torch(monkeypatch, stride,
                                                                       padding):
    monkeypatch.setattr(conv_ops, "_CHUNK_BYTES", 1)
    compare_with_torch(lambda lib, x, w, b: _F(lib).conv2d(x, w, b, stride, padding),
                       make_arrays([(3, 2, 6, 5), (4, 2, 3, 3), (4,)]))


@pytest.mark.parametrize("stride, padding, dilation, groups",
                         [(1, 1, 1, 1), (1, (2, 1), 2, 1), (1, 1, 1, 2), (2, 1, 1, 2)])
def test_conv2d_two_images_at_a_time_with_a_partial_last_chunk_matches_torch(
        monkeypatch, stride, padding, dilation, groups):
    monkeypatch.setattr(conv_ops, "_step", lambda n, per_image: min(n, 2))
    check_op(lambda lib, x, w, b: _F(lib).conv2d(x, w, b, stride, padding, dilation, groups),
             (3, 4, 6, 5), (4, 4 // groups, 3, 3), (4,))


@pytest.mark.parametrize("x_shape, w_shape, groups, dilation",
                         [((3, 1, 7, 6), (2, 1, 3, 3), 1, 1), ((3, 2, 9, 8), (3, 2, 3, 2), 1, 2),
                          ((3, 2, 8, 8), (4, 1, 3, 3), 2, 1)])
def test_conv2d_with_few_kernel_taps_per_pixel_in_chunks_matches_torch(
        monkeypatch, x_shape, w_shape, groups, dilation):
    # image-by-image columns, and (one group) both gradients from one pass over g
    monkeypatch.setattr(conv_ops, "_step", lambda n, per_image: min(n, 2))
    check_op(lambda lib, x, w, b: _F(lib).conv2d(x, w, b, padding=1, dilation=dilation,
                                                 groups=groups),
             x_shape, w_shape, (w_shape[0],))


def test_conv_transpose2d_two_images_at_a_time_matches_torch(monkeypatch):
    monkeypatch.setattr(conv_ops, "_step", lambda n, per_image: min(n, 2))
    check_op(lambda lib, x, w, b: _F(lib).conv_transpose2d(x, w, b, padding=1, dilation=2,
                                                           output_padding=1),
             (3, 2, 4, 3), (2, 3, 3, 2), (3,))


@pytest.mark.filterwarnings("ignore:invalid value")
def test_conv2d_input_gradient_with_an_infinite_weight_matches_torch():
    torch = pytest.importorskip("torch")
    x, w = make_arrays([(2, 2, 5, 5), (3, 2, 3, 3)])
    w[1, 0, 0, 0] = np.inf
    grads = []
    for lib in (ember, torch):
        xt = lib.tensor(x, requires_grad=True)
        y = _F(lib).conv2d(xt, lib.tensor(w), padding=1)
        y.backward(lib.ones_like(y))
        grads.append(xt.grad.numpy())
    assert np.isfinite(grads[1]).any()
    np.testing.assert_allclose(grads[0], grads[1], rtol=1e-6)


@pytest.mark.filterwarnings("ignore:invalid value")
def test_conv2d_weight_gradient_with_an_infinite_input_matches_torch():
    torch = pytest.importorskip("torch")
    x, w = make_arrays([(2, 1, 7, 7), (2, 1, 3, 3)])
    x[0, 0, 2, 6] = np.inf  # in the last column: met by one kernel column only
    grads = []
    for lib in (ember, torch):
        xt, wt = lib.tensor(x, requires_grad=True), lib.tensor(w, requires_grad=True)
        y = _F(lib).conv2d(xt, wt)
        y.backward(lib.ones_like(y))
        grads.append((xt.grad.numpy(), wt.grad.numpy()))
    assert np.isfinite(grads[1][1]).any()
    for e, t in zip(*grads):
        np.testing.assert_allclose(e, t, rtol=1e-5)


def test_conv2d_input_gradient_is_contiguous():
    x = ember.randn(2, 3, 6, 6, requires_grad=True)
    y = F.conv2d(x, ember.randn(4, 3, 3, 3), padding=1)
    assert y.is_contiguous() and y.view(2, -1).shape == (2, 144)
    y.sum().backward()
    assert x.grad.is_contiguous()


def test_conv2d_records_one_convolution_node():
    x = ember.randn(1, 2, 4, 4, requires_grad=True)
    w = ember.randn(3, 2, 3, 3, requires_grad=True)
    y = F.conv2d(x, w, ember.zeros(3))
    assert grad_fn_name(y) == "ConvolutionBackward0"
    assert [fn is not None for fn, _ in y.grad_fn.next_functions] == [True, True, False]


def test_conv_transpose2d_records_one_convolution_node():
    y = F.conv_transpose2d(ember.randn(1, 2, 3, 3), ember.randn(2, 3, 2, 2, requires_grad=True))
    assert grad_fn_name(y) == "ConvolutionBackward0"


def test_conv2d_bias_only_gradient_sums_over_batch_and_space():
    b = ember.zeros(3, requires_grad=True)
    F.conv2d(ember.randn(2, 2, 4, 4), ember.randn(3, 2, 3, 3), b).sum().backward()
    np.testing.assert_allclose(b.grad.numpy(), [8.0, 8.0, 8.0])


def test_conv2d_output_shapes():
    x = ember.randn(2, 3, 5, 5)
    w = ember.randn(4, 3, 3, 3)
    assert F.conv2d(x, w).shape == (2, 4, 3, 3)
    assert F.conv2d(x, w, stride=2, padding=1).shape == (2, 4, 3, 3)
    assert F.conv2d(x, w, padding="same").shape == (2, 4, 5, 5)


def test_conv2d_without_grad_records_nothing():
    with ember.no_grad():
        y = F.conv2d(ember.randn(1, 1, 3, 3), ember.randn(1, 1, 2, 2, requires_grad=True))
    assert y.grad_fn is None and not y.requires_grad


def test_conv2d_channel_mismatch_raises_torch_message():
    with pytest.raises(RuntimeError, match=r"Given groups=1, weight of size \[4, 3, 3, 3\], "
                       r"expected input\[2, 5, 5, 5\] to have 3 channels, but got 5 channels"):
        F.conv2d(ember.randn(2, 5, 5, 5), ember.randn(4, 3, 3, 3))


def test_conv2d_kernel_larger_than_input_raises():
    with pytest.raises(RuntimeError, match=r"Calculated padded input size per channel: "
                       r"\(2 x 2\). Kernel size: \(3 x 3\)"):
        F.conv2d(ember.randn(1, 3, 2, 2), ember.randn(4, 3, 3, 3))


def test_conv2d_wrong_input_rank_raises():
    with pytest.raises(RuntimeError, match=r"Expected 3D \(unbatched\) or 4D \(batched\) input "
                       r"to conv2d, but got input of size: \[5, 5\]"):
        F.conv2d(ember.randn(5, 5), ember.randn(4, 3, 3, 3))


def test_conv2d_same_padding_with_stride_raises():
    with pytest.raises(RuntimeError, match="padding='same' is not supported for strided"):
        F.conv2d(ember.randn(1, 3, 5, 5), ember.randn(4, 3, 3, 3), stride=2, padding="same")


def test_conv2d_bad_bias_size_raises():
    with pytest.raises(RuntimeError, match="expected bias to be 1-dimensional with 4 elements"):
        F.conv2d(ember.randn(1, 3, 5, 5), ember.randn(4, 3, 3, 3), ember.randn(3))


def test_conv2d_mixed_dtypes_raise():
    with pytest.raises(RuntimeError, match="expected scalar type Double but found Float"):
        F.conv2d(ember.randn(1, 3, 5, 5, dtype=ember.float64), ember.randn(4, 3, 3, 3))


def test_conv_transpose2d_large_output_padding_raises():
    with pytest.raises(RuntimeError, match="output padding must be smaller than either stride "
                       "or dilation"):
        F.conv_transpose2d(ember.randn(1, 3, 4, 4), ember.randn(3, 2, 3, 3), stride=2,
                           output_padding=2)


# ----- pooling -------------------------------------------------------------------------------

def test_max_pool2d_matches_torch():
    check_op(lambda lib, x: _F(lib).max_pool2d(x, 2), (2, 3, 6, 6))


def test_max_pool2d_overlapping_padded_windows_match_torch():
    check_op(lambda lib, x: _F(lib).max_pool2d(x, 3, stride=2, padding=1), (2, 2, 7, 6))


def test_max_pool2d_dilation_and_ceil_mode_match_torch():
    check_op(lambda lib, x: _F(lib).max_pool2d(x, (3, 2), (2, 1), (1, 1), 2, ceil_mode=True),
             (1, 2, 8, 7))


def test_max_pool2d_indices_match_torch():
    torch = pytest.importorskip("torch")
    a = np.random.default_rng(0).standard_normal((2, 3, 7, 8)).astype(np.float32)
    _, e_idx = F.max_pool2d(ember.tensor(a), 3, 2, 1, 1, True, return_indices=True)
    _, t_idx = torch.nn.functional.max_pool2d(torch.tensor(a), 3, 2, 1, 1, True, True)
    assert e_idx.dtype == ember.int64
    np.testing.assert_array_equal(e_idx.numpy(), t_idx.numpy())


def test_max_pool2d_ties_take_the_first_element_and_nan_wins():
    x = ember.tensor([[[[1.0, 1.0], [float("nan"), 0.0]], [[2.0, 2.0], [2.0, 2.0]]]])
    out, idx = F.max_pool2d(x, 2, return_indices=True)
    assert np.isnan(out.numpy()[0, 0, 0, 0])
    assert idx.numpy().ravel().tolist() == [2, 0]


def test_max_pool2d_all_minus_inf_windows_pick_the_first_real_cell_like_torch():
    torch = pytest.importorskip("torch")
    a = np.full((1, 1, 4, 5), -np.inf, dtype=np.float32)
    a[0, 0, 3, 4] = 1.0
    _, e_idx = F.max_pool2d(ember.tensor(a), 3, 2, 1, return_indices=True)
    _, t_idx = torch.nn.functional.max_pool2d(torch.tensor(a), 3, 2, 1, return_indices=True)
    np.testing.assert_array_equal(e_idx.numpy(), t_idx.numpy())


def test_max_pool2d_gradient_goes_to_the_maximum_only():
    x = ember.tensor([[[[1.0, 5.0], [3.0, 2.0]]]], requires_grad=True)
    F.max_pool2d(x, 2).sum().backward()
    assert x.grad.numpy().ravel().tolist() == [0.0, 1.0, 0.0, 0.0]


def test_max_pool1d_matches_torch():
    check_op(lambda lib, x: _F(lib).max_pool1d(x, 3, 2, 1, ceil_mode=True), (2, 3, 8))


def test_max_pool2d_records_max_pool_node():
    y = F.max_pool2d(ember.randn(1, 1, 4, 4, requires_grad=True), 2)
    assert grad_fn_name(y) == "MaxPool2DWithIndicesBackward0"


def test_max_pool2d_large_padding_raises():
    with pytest.raises(RuntimeError, match="pad should be at most half of effective kernel "
                       "size, but got pad=2, kernel_size=3 and dilation=1"):
        F.max_pool2d(ember.randn(1, 1, 5, 5), 3, padding=2)


def test_avg_pool2d_matches_torch():
    check_op(lambda lib, x: _F(lib).avg_pool2d(x, 2), (2, 3, 6, 6))


def test_avg_pool2d_padding_counted_matches_torch():
    check_op(lambda lib, x: _F(lib).avg_pool2d(x, 3, 2, 1), (2, 2, 7, 6))


def test_avg_pool2d_ceil_mode_without_padding_count_matches_torch():
    check_op(lambda lib, x: _F(lib).avg_pool2d(x, 3, 2, 1, ceil_mode=True,
                                               count_include_pad=False), (1, 2, 8, 7))


def test_avg_pool2d_ceil_mode_counting_padding_matches_torch():
    check_op(lambda lib, x: _F(lib).avg_pool2d(x, 3, 2, 1, ceil_mode=True), (1, 2, 8, 7))


def test_avg_pool2d_divisor_override_matches_torch():
    check_op(lambda lib, x: _F(lib).avg_pool2d(x, (2, 3), 2, divisor_override=5), (1, 2, 6, 7))


def test_avg_pool1d_matches_torch():
    check_op(lambda lib, x: _F(lib).avg_pool1d(x, 3, 2, 1, count_include_pad=False), (2, 3, 8))


def test_avg_pool2d_records_avg_pool_node():
    y = F.avg_pool2d(ember.randn(1, 1, 4, 4, requires_grad=True), 2)
    assert grad_fn_name(y) == "AvgPool2DBackward0"


def test_adaptive_avg_pool2d_uneven_bins_match_torch():
    check_op(lambda lib, x: _F(lib).adaptive_avg_pool2d(x, (3, 2)), (2, 3, 8, 7))


def test_adaptive_avg_pool2d_none_keeps_input_size_matches_torch():
    check_op(lambda lib, x: _F(lib).adaptive_avg_pool2d(x, (None, 4)), (1, 2, 5, 7))


def test_adaptive_avg_pool2d_to_one_is_a_mean():
    x = ember.randn(2, 3, 4, 5, requires_grad=True)
    y = F.adaptive_avg_pool2d(x, 1)
    assert y.shape == (2, 3, 1, 1)
    assert grad_fn_name(y) == "MeanBackward1"
    np.testing.assert_allclose(y.detach().numpy()[..., 0, 0], x.detach().numpy().mean((2, 3)),
                               rtol=1e-6)


def test_adaptive_avg_pool2d_records_adaptive_node():
    y = F.adaptive_avg_pool2d(ember.randn(1, 1, 6, 6, requires_grad=True), 3)
    assert grad_fn_name(y) == "AdaptiveAvgPool2DBackward0"
