"""batch_norm, layer_norm, group_norm (finite differences incl. double backward, torch as
oracle) and the BatchNorm/LayerNorm/GroupNorm layers: running statistics, modes, reprs."""

from __future__ import annotations

import numpy as np
import pytest

import ember
import ember.nn as nn
import ember.nn.functional as F
from tests.helpers import check_op, grad_fn_name


def _torch():
    return pytest.importorskip("torch")


def _F(lib):
    return F if lib is ember else lib.nn.functional


_RM = np.array([0.1, -0.2, 0.3])
_RV = np.array([1.5, 0.5, 2.0])


def _running(lib, like):
    make = ember.tensor if lib is ember else lib.tensor
    return make(_RM, dtype=like.dtype), make(_RV, dtype=like.dtype)


# ----- functional ----------------------------------------------------------------------------

def test_batch_norm_training_2d_matches_torch():
    check_op(lambda lib, x, w, b: _F(lib).batch_norm(x, None, None, w, b, True), (4, 3),
             (3,), (3,))


def test_batch_norm_training_3d_matches_torch():
    check_op(lambda lib, x, w, b: _F(lib).batch_norm(x, None, None, w, b, True, eps=1e-3),
             (4, 3, 5), (3,), (3,))


def test_batch_norm_training_4d_without_affine_matches_torch():
    check_op(lambda lib, x: _F(lib).batch_norm(x, None, None, training=True), (3, 2, 2, 3))


def test_batch_norm_eval_uses_running_stats_and_matches_torch():
    check_op(lambda lib, x, w, b: _F(lib).batch_norm(x, *_running(lib, x), w, b, False),
             (4, 3, 5), (3,), (3,))


def test_batch_norm_records_one_native_node():
    x = ember.randn(4, 3, requires_grad=True)
    assert grad_fn_name(F.batch_norm(x, None, None, training=True)) == "NativeBatchNormBackward0"


def test_batch_norm_weight_only_gradient():
    w = ember.ones(2, requires_grad=True)
    x = ember.tensor([[1.0, 2.0], [3.0, 6.0]])
    (F.batch_norm(x, None, None, w, None, True) * ember.tensor([[1.0, 1.0], [2.0, 0.0]])
     ).sum().backward()
    np.testing.assert_allclose(w.grad.numpy(), [1.0, -1.0], atol=1e-4)


def test_batch_norm_bias_only_gradient_is_the_batch_sum():
    b = ember.zeros(2, requires_grad=True)
    F.batch_norm(ember.randn(5, 2), None, None, None, b, True).sum().backward()
    np.testing.assert_allclose(b.grad.numpy(), [5.0, 5.0])


def test_batch_norm_running_mean_size_mismatch_raises():
    with pytest.raises(RuntimeError, match="running_mean should contain 4 elements not 2"):
        F.batch_norm(ember.randn(3, 4), ember.zeros(2), ember.ones(2), training=True)


def test_layer_norm_matches_torch():
    check_op(lambda lib, x, w, b: _F(lib).layer_norm(x, (4, 5), w, b), (3, 4, 5), (4, 5),
             (4, 5))


def test_layer_norm_whole_input_without_affine_matches_torch():
    check_op(lambda lib, x: _F(lib).layer_norm(x, (2, 5), eps=1e-3), (2, 5))


def test_layer_norm_records_native_node():
    y = F.layer_norm(ember.randn(2, 3, requires_grad=True), (3,))
    assert grad_fn_name(y) == "NativeLayerNormBackward0"


def test_layer_norm_shape_mismatch_raises_torch_message():
    with pytest.raises(RuntimeError, match=r"Given normalized_shape=\[3\], expected input with "
                       r"shape \[\*, 3\], but got input of size\[3, 4\]"):
        F.layer_norm(ember.randn(3, 4), (3,))


def test_group_norm_matches_torch():
    check_op(lambda lib, x, w, b: _F(lib).group_norm(x, 2, w, b), (3, 4, 5), (4,), (4,))


def test_group_norm_4d_matches_torch():
    check_op(lambda lib, x, w, b: _F(lib).group_norm(x, 3, w, b, 1e-3), (2, 6, 2, 3), (6,),
             (6,))


def test_group_norm_records_native_node():
    y = F.group_norm(ember.randn(2, 4, 3, requires_grad=True), 2)
    assert grad_fn_name(y) == "NativeGroupNormBackward0"


def test_group_norm_indivisible_channels_raise():
    with pytest.raises(RuntimeError, match="Expected number of channels in input to be "
                       r"divisible by num_groups, but got input of shape \[3, 4, 5\] and "
                       "num_groups=3"):
        F.group_norm(ember.randn(3, 4, 5), 3)


# ----- BatchNorm layers -----------------------------------------------------------------------

def _reference_batch():
    return ember.tensor([[1.0, 2.0], [3.0, 6.0], [5.0, 10.0]])


def test_batch_norm1d_training_updates_running_stats_with_unbiased_variance():
    bn = nn.BatchNorm1d(2)
    y = bn(_reference_batch())
    np.testing.assert_allclose(bn.running_mean.numpy(), [0.3, 0.6], rtol=1e-6)
    np.testing.assert_allclose(bn.running_var.numpy(), [1.3, 2.5], rtol=1e-6)
    assert bn.num_batches_tracked.item() == 1
    assert bn.num_batches_tracked.dtype == ember.int64
    # normalized with the biased variance
    np.testing.assert_allclose(y.detach().numpy()[:, 0], [-1.2247, 0.0, 1.2247], atol=1e-4)


def test_batch_norm1d_eval_uses_running_stats_without_updating():
    bn = nn.BatchNorm1d(2)
    bn(_reference_batch())
    bn.eval()
    y = bn(ember.tensor([[0.3, 0.6]]))
    np.testing.assert_allclose(y.detach().numpy(), [[0.0, 0.0]], atol=1e-6)
    np.testing.assert_allclose(bn.running_mean.numpy(), [0.3, 0.6], rtol=1e-6)
    assert bn.num_batches_tracked.item() == 1
    assert y.requires_grad and grad_fn_name(y) == "NativeBatchNormBackward0"


def test_batch_norm1d_updates_running_stats_under_no_grad():
    bn = nn.BatchNorm1d(2)
    with ember.no_grad():
        y = bn(_reference_batch())
    assert not y.requires_grad
    np.testing.assert_allclose(bn.running_mean.numpy(), [0.3, 0.6], rtol=1e-6)


def test_batch_norm1d_updates_running_stats_with_frozen_parameters():
    bn = nn.BatchNorm1d(2).requires_grad_(False)
    bn(_reference_batch())
    np.testing.assert_allclose(bn.running_var.numpy(), [1.3, 2.5], rtol=1e-6)


def test_running_stat_update_bumps_the_buffer_version():
    bn = nn.BatchNorm1d(2)
    before = bn.running_mean._version
    bn(_reference_batch())
    assert bn.running_mean._version > before


def test_batch_norm_training_with_one_value_per_channel_raises():
    with pytest.raises(ValueError, match=r"Expected more than 1 value per channel when "
                       r"training, got input size ember.Size\(\[1, 2\]\)"):
        nn.BatchNorm1d(2)(ember.randn(1, 2))


def test_batch_norm_eval_with_batch_of_one_is_fine():
    assert nn.BatchNorm1d(2).eval()(ember.randn(1, 2)).shape == (1, 2)


def test_batch_norm_momentum_none_is_a_cumulative_average():
    bn = nn.BatchNorm1d(1, momentum=None)
    bn(ember.tensor([[1.0], [3.0]]))
    bn(ember.tensor([[5.0], [7.0]]))
    np.testing.assert_allclose(bn.running_mean.numpy(), [4.0])
    np.testing.assert_allclose(bn.running_var.numpy(), [2.0])


def test_batch_norm_without_running_stats_uses_batch_stats_in_eval():
    bn = nn.BatchNorm1d(2, track_running_stats=False).eval()
    assert bn.running_mean is None and bn.num_batches_tracked is None
    y = bn(_reference_batch())
    np.testing.assert_allclose(y.detach().numpy()[:, 1], [-1.2247, 0.0, 1.2247], atol=1e-4)


def test_batch_norm_parameters_and_buffers_follow_torch():
    bn = nn.BatchNorm2d(3)
    assert [n for n, _ in bn.named_parameters()] == ["weight", "bias"]
    assert [n for n, _ in bn.named_buffers()] == [
        "running_mean", "running_var", "num_batches_tracked"]
    assert list(bn.state_dict()) == [
        "weight", "bias", "running_mean", "running_var", "num_batches_tracked"]
    assert nn.BatchNorm1d(3, affine=False).weight is None


def test_batch_norm_repr_matches_torch():
    assert repr(nn.BatchNorm2d(3)) == ("BatchNorm2d(3, eps=1e-05, momentum=0.1, affine=True, "
                                       "bias=True, track_running_stats=True)")


def test_batch_norm_input_rank_errors_match_torch():
    with pytest.raises(ValueError, match=r"expected 2D or 3D input \(got 4D input\)"):
        nn.BatchNorm1d(3)(ember.randn(2, 3, 4, 5))
    with pytest.raises(ValueError, match=r"expected 4D input \(got 3D input\)"):
        nn.BatchNorm2d(3)(ember.randn(2, 3, 4))


@pytest.mark.parametrize("shape", [(4, 3), (4, 3, 5)])
def test_batch_norm1d_matches_torch_over_two_steps(shape):
    _compare_bn(nn.BatchNorm1d(3), _torch().nn.BatchNorm1d(3), shape)


def test_batch_norm2d_matches_torch_over_two_steps():
    _compare_bn(nn.BatchNorm2d(3, momentum=0.3), _torch().nn.BatchNorm2d(3, momentum=0.3),
                (2, 3, 4, 5))


def _compare_bn(e_bn, t_bn, shape) -> None:
    torch = _torch()
    rng = np.random.default_rng(0)
    for step in range(2):
        a = rng.uniform(-2, 2, shape).astype(np.float32) + step
        e_x, t_x = ember.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
        e_y, t_y = e_bn(e_x), t_bn(t_x)
        np.testing.assert_allclose(e_y.detach().numpy(), t_y.detach().numpy(), atol=1e-5)
        probe = rng.standard_normal(shape).astype(np.float32)
        (e_y * ember.tensor(probe)).sum().backward()
        (t_y * torch.tensor(probe)).sum().backward()
        np.testing.assert_allclose(e_x.grad.numpy(), t_x.grad.numpy(), atol=1e-4)
    for name in ("running_mean", "running_var"):
        np.testing.assert_allclose(getattr(e_bn, name).numpy(),
                                   getattr(t_bn, name).numpy(), rtol=1e-5)
    for name in ("weight", "bias"):
        np.testing.assert_allclose(getattr(e_bn, name).grad.numpy(),
                                   getattr(t_bn, name).grad.numpy(), atol=1e-4, rtol=1e-4)


# ----- LayerNorm and GroupNorm layers -------------------------------------------------------

def test_layer_norm_module_matches_torch():
    torch = _torch()
    e, t = nn.LayerNorm((4, 5)), torch.nn.LayerNorm((4, 5))
    with torch.no_grad():
        rng = np.random.default_rng(1)
        for name in ("weight", "bias"):
            a = rng.standard_normal((4, 5)).astype(np.float32)
            getattr(e, name)._data[...] = a
            getattr(t, name).copy_(torch.tensor(a))
    a = np.random.default_rng(0).standard_normal((3, 4, 5)).astype(np.float32)
    np.testing.assert_allclose(e(ember.tensor(a)).detach().numpy(),
                               t(torch.tensor(a)).detach().numpy(), atol=1e-5)


def test_layer_norm_module_parameters_and_repr():
    ln = nn.LayerNorm(3)
    assert ln.weight.shape == (3,) and ln.normalized_shape == (3,)
    assert ln.weight.numpy(force=True).tolist() == [1.0, 1.0, 1.0]
    assert repr(ln) == "LayerNorm((3,), eps=1e-05, elementwise_affine=True, bias=True)"
    assert nn.LayerNorm(3, elementwise_affine=False).weight is None


def test_group_norm_module_matches_torch():
    torch = _torch()
    a = np.random.default_rng(0).standard_normal((2, 6, 3, 3)).astype(np.float32)
    e, t = nn.GroupNorm(3, 6), torch.nn.GroupNorm(3, 6)
    np.testing.assert_allclose(e(ember.tensor(a)).detach().numpy(),
                               t(torch.tensor(a)).detach().numpy(), atol=1e-5)


def test_group_norm_module_checks_divisibility_and_reprs():
    with pytest.raises(ValueError, match=r"num_channels \(3\) must be divisible by "
                       r"num_groups \(2\)"):
        nn.GroupNorm(2, 3)
    assert repr(nn.GroupNorm(2, 4)) == "GroupNorm(2, 4, eps=1e-05, affine=True, bias=True)"
