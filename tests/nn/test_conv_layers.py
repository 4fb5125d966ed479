"""Convolution and pooling layers: shapes, PyTorch's init and parameter shapes, reprs,
argument errors, and agreement with torch 2.13 given the same weights."""

from __future__ import annotations

import math

import numpy as np
import pytest

import ember
import ember.nn as nn


def _torch():
    return pytest.importorskip("torch")


def _copy_weights(e_mod, t_mod) -> None:
    torch = _torch()
    e_params = dict(e_mod.named_parameters())
    t_params = dict(t_mod.named_parameters())
    assert list(e_params) == list(t_params)
    with torch.no_grad():
        for name, p in e_params.items():
            assert tuple(p.shape) == tuple(t_params[name].shape)
            t_params[name].copy_(torch.from_numpy(p.detach().numpy().copy()))


def _compare(e_mod, t_mod, shape, atol=1e-5, rtol=1e-4) -> None:
    """Same weights and input: output, input grad and parameter grads agree."""
    torch = _torch()
    _copy_weights(e_mod, t_mod)
    rng = np.random.default_rng(0)
    a = rng.uniform(-2, 2, shape).astype(np.float32)
    e_x, t_x = ember.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    e_y, t_y = e_mod(e_x), t_mod(t_x)
    np.testing.assert_allclose(e_y.detach().numpy(), t_y.detach().numpy(), atol=atol, rtol=rtol)
    probe = rng.standard_normal(tuple(t_y.shape)).astype(np.float32)
    (e_y * ember.tensor(probe)).sum().backward()
    (t_y * torch.tensor(probe)).sum().backward()
    np.testing.assert_allclose(e_x.grad.numpy(), t_x.grad.numpy(), atol=atol * 10, rtol=rtol)
    t_params = dict(t_mod.named_parameters())
    for name, p in e_mod.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), t_params[name].grad.numpy(),
                                   atol=atol * 10, rtol=rtol * 10, err_msg=name)


# ----- Conv -------------------------------------------------------------------------------

def test_conv2d_output_and_parameter_shapes():
    conv = nn.Conv2d(3, 4, 3)
    assert conv(ember.randn(2, 3, 5, 5)).shape == (2, 4, 3, 3)
    assert conv.weight.shape == (4, 3, 3, 3)
    assert conv.bias.shape == (4,)


def test_conv2d_stride_two_padding_one_keeps_odd_size_halved():
    assert nn.Conv2d(3, 4, 3, stride=2, padding=1)(ember.randn(2, 3, 5, 5)).shape == (2, 4, 3, 3)


def test_conv2d_grouped_weight_shape():
    assert nn.Conv2d(4, 6, (3, 2), groups=2).weight.shape == (6, 2, 3, 2)


def test_conv2d_init_is_bounded_by_inverse_sqrt_fan_in():
    ember.manual_seed(0)
    conv = nn.Conv2d(8, 16, 3)
    bound = 1 / math.sqrt(8 * 9)
    w, b = conv.weight.detach().numpy(), conv.bias.detach().numpy()
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.9 * bound
    assert np.abs(b).max() <= bound
    assert conv.weight.requires_grad and conv.weight.is_leaf


def test_conv2d_without_bias_has_only_weight():
    conv = nn.Conv2d(2, 3, 3, bias=False)
    assert conv.bias is None
    assert [name for name, _ in conv.named_parameters()] == ["weight"]


def test_conv2d_matches_torch():
    _compare(nn.Conv2d(3, 4, 3, stride=2, padding=1), _torch().nn.Conv2d(3, 4, 3, 2, 1),
             (2, 3, 7, 6))


def test_conv2d_same_padding_dilation_groups_match_torch():
    _compare(nn.Conv2d(4, 6, 3, padding="same", dilation=2, groups=2),
             _torch().nn.Conv2d(4, 6, 3, padding="same", dilation=2, groups=2), (2, 4, 6, 6))


def test_conv1d_matches_torch():
    _compare(nn.Conv1d(3, 5, 3, stride=2), _torch().nn.Conv1d(3, 5, 3, stride=2), (2, 3, 9))


def test_conv_transpose2d_weight_shape_and_torch_agreement():
    e = nn.ConvTranspose2d(4, 6, 3, stride=2, padding=1, output_padding=1, groups=2)
    assert e.weight.shape == (4, 3, 3, 3)
    t = _torch().nn.ConvTranspose2d(4, 6, 3, stride=2, padding=1, output_padding=1, groups=2)
    _compare(e, t, (2, 4, 3, 4))


def test_conv_transpose2d_output_size_picks_output_padding():
    up = nn.ConvTranspose2d(2, 2, 3, stride=2, padding=1)
    x = ember.randn(1, 2, 4, 4)
    assert up(x).shape == (1, 2, 7, 7)
    assert up(x, output_size=(8, 8)).shape == (1, 2, 8, 8)
    with pytest.raises(ValueError, match="requested an output size of"):
        up(x, output_size=(10, 10))


def test_conv_transpose1d_matches_torch():
    _compare(nn.ConvTranspose1d(3, 2, 4, stride=2), _torch().nn.ConvTranspose1d(3, 2, 4, 2),
             (2, 3, 5))


def test_conv2d_repr_matches_torch():
    assert repr(nn.Conv2d(3, 4, 3)) == "Conv2d(3, 4, kernel_size=(3, 3), stride=(1, 1))"
    assert repr(nn.Conv2d(3, 4, (3, 2), stride=2, padding=1, dilation=2, bias=False)) == (
        "Conv2d(3, 4, kernel_size=(3, 2), stride=(2, 2), padding=(1, 1), dilation=(2, 2), "
        "bias=False)")
    assert repr(nn.Conv2d(3, 4, 3, padding="same")) == (
        "Conv2d(3, 4, kernel_size=(3, 3), stride=(1, 1), padding=same)")


def test_conv_layer_argument_errors_match_torch():
    with pytest.raises(ValueError, match="in_channels must be divisible by groups"):
        nn.Conv2d(3, 4, 3, groups=2)
    with pytest.raises(ValueError, match="out_channels must be divisible by groups"):
        nn.Conv2d(4, 3, 3, groups=2)
    with pytest.raises(ValueError, match="padding='same' is not supported for strided"):
        nn.Conv2d(3, 4, 3, stride=2, padding="same")
    with pytest.raises(ValueError, match="padding_mode must be one of"):
        nn.Conv2d(3, 4, 3, padding_mode="x")


@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular"])
def test_conv2d_padding_mode_matches_torch(mode):
    _compare(nn.Conv2d(3, 4, 3, stride=2, padding=(1, 2), padding_mode=mode),
             _torch().nn.Conv2d(3, 4, 3, stride=2, padding=(1, 2), padding_mode=mode),
             (2, 3, 6, 7))


def test_conv2d_same_padding_with_reflect_mode_matches_torch():
    _compare(nn.Conv2d(2, 3, (4, 3), padding="same", padding_mode="reflect"),
             _torch().nn.Conv2d(2, 3, (4, 3), padding="same", padding_mode="reflect"),
             (1, 2, 5, 6))


@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular"])
def test_conv1d_padding_mode_matches_torch(mode):
    _compare(nn.Conv1d(3, 2, 3, padding=2, dilation=2, padding_mode=mode),
             _torch().nn.Conv1d(3, 2, 3, padding=2, dilation=2, padding_mode=mode), (2, 3, 8))


def test_conv2d_padding_mode_repr_matches_torch():
    assert repr(nn.Conv2d(1, 1, 3, padding=1, padding_mode="circular")) == (
        "Conv2d(1, 1, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1), "
        "padding_mode=circular)")


# ----- pooling ------------------------------------------------------------------------------

def test_max_pool2d_module_matches_torch():
    torch = _torch()
    _compare(nn.MaxPool2d(3, stride=2, padding=1, ceil_mode=True),
             torch.nn.MaxPool2d(3, stride=2, padding=1, ceil_mode=True), (2, 3, 8, 7))


def test_max_pool2d_module_returns_indices():
    out, idx = nn.MaxPool2d(2, return_indices=True)(ember.tensor([[[[1.0, 4.0], [3.0, 2.0]]]]))
    assert out.item() == 4.0 and idx.item() == 1


def test_avg_pool2d_module_matches_torch():
    torch = _torch()
    _compare(nn.AvgPool2d(3, 2, 1, count_include_pad=False),
             torch.nn.AvgPool2d(3, 2, 1, count_include_pad=False), (2, 3, 7, 7))


def test_adaptive_avg_pool2d_module_matches_torch():
    _compare(nn.AdaptiveAvgPool2d((2, 3)), _torch().nn.AdaptiveAvgPool2d((2, 3)), (2, 3, 7, 8))


def test_pool1d_modules_match_torch():
    torch = _torch()
    _compare(nn.MaxPool1d(2), torch.nn.MaxPool1d(2), (2, 3, 8))
    _compare(nn.AvgPool1d(3, 2, 1), torch.nn.AvgPool1d(3, 2, 1), (2, 3, 8))


def test_pooling_reprs_match_torch():
    assert repr(nn.MaxPool2d(2)) == (
        "MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)")
    assert repr(nn.AvgPool2d(2, padding=1)) == "AvgPool2d(kernel_size=2, stride=2, padding=1)"
    assert repr(nn.AdaptiveAvgPool2d(3)) == "AdaptiveAvgPool2d(output_size=3)"


# ----- a small CNN end to end ---------------------------------------------------------------

def _small_cnn(lib):
    return lib.nn.Sequential(
        lib.nn.Conv2d(1, 4, 3), lib.nn.ReLU(), lib.nn.MaxPool2d(2),
        lib.nn.Conv2d(4, 8, 3, padding=1), lib.nn.BatchNorm2d(8), lib.nn.ReLU(),
        lib.nn.AdaptiveAvgPool2d(2), lib.nn.Flatten(), lib.nn.Linear(32, 10))


def test_small_cnn_loss_and_gradients_match_torch():
    torch = _torch()
    e_net, t_net = _small_cnn(ember), _small_cnn(torch)
    _copy_weights(e_net, t_net)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 1, 10, 10)).astype(np.float32)
    y = np.array([1, 0, 3, 9])
    e_loss = nn.CrossEntropyLoss()(e_net(ember.tensor(x)), ember.tensor(y))
    t_loss = torch.nn.CrossEntropyLoss()(t_net(torch.tensor(x)), torch.tensor(y))
    e_loss.backward()
    t_loss.backward()
    np.testing.assert_allclose(e_loss.item(), t_loss.item(), rtol=1e-5)
    t_params = dict(t_net.named_parameters())
    for name, p in e_net.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), t_params[name].grad.numpy(), atol=1e-5,
                                   rtol=1e-3, err_msg=name)
