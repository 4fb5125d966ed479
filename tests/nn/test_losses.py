"""Losses against torch 2.13: values and gradients (input and, where it has one, target)
for every reduction, the reference values, gradchecks and the error messages."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import ember
import ember.nn as nn
import ember.nn.functional as F
from tests.helpers import check_op, grad_fn_name

torch = pytest.importorskip("torch")

LOGITS = [[2.0, 0.5, -1.0], [0.1, 0.2, 0.3]]


def compare_loss(name: str, x: np.ndarray, target: np.ndarray, *, target_grad: bool = False,
                 atol: float = 1e-5, **kwargs) -> None:
    """`F.<name>(x, target, **kwargs)` in ember and torch: value, x.grad and target.grad.
    Tensor-valued kwargs are given as arrays."""
    def run(lib):
        xt = lib.tensor(x, requires_grad=True)
        is_float = target.dtype.kind == "f"
        tt = lib.tensor(target, requires_grad=target_grad and is_float)
        kw = {k: lib.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kwargs.items()}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = getattr(lib.nn.functional, name)(xt, tt, **kw)
        probe = np.random.default_rng(5).standard_normal(tuple(out.shape)).astype(np.float32)
        (out * lib.tensor(probe)).sum().backward()
        grads = [xt.grad.numpy()]
        if target_grad:
            grads.append(tt.grad.numpy())
        return out.detach().numpy(), grads

    (e_out, e_grads), (t_out, t_grads) = run(ember), run(torch)
    assert e_out.shape == t_out.shape
    np.testing.assert_allclose(e_out, t_out, atol=atol, rtol=1e-4)
    for e, t in zip(e_grads, t_grads):
        np.testing.assert_allclose(e, t, atol=atol, rtol=1e-4)


def _rand(*shape, seed=0, low=-2.0, high=2.0):
    return np.random.default_rng(seed).uniform(low, high, shape).astype(np.float32)


def _classes(*shape, n=4, seed=1):
    return np.random.default_rng(seed).integers(0, n, shape).astype(np.int64)


REDUCTIONS = ["mean", "sum", "none"]


# ----- cross entropy and NLL ---------------------------------------------------------

def test_cross_entropy_reference_value_and_gradient():
    x = ember.tensor(LOGITS, requires_grad=True)
    loss = nn.CrossEntropyLoss()(x, ember.tensor([0, 2]))
    assert loss.item() == pytest.approx(0.6216, abs=1e-4)
    loss.backward()
    p = np.exp(LOGITS) / np.exp(LOGITS).sum(1, keepdims=True)
    np.testing.assert_allclose(x.grad.numpy(), (p - np.eye(3)[[0, 2]]) / 2, atol=1e-6)


def test_cross_entropy_records_nll_after_log_softmax():
    loss = F.cross_entropy(ember.tensor(LOGITS, requires_grad=True), ember.tensor([0, 2]))
    assert grad_fn_name(loss) == "NllLossBackward0"
    assert type(loss.grad_fn.next_functions[0][0]).__name__ == "LogSoftmaxBackward0"


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_class_indices_match_torch(reduction):
    compare_loss("cross_entropy", _rand(6, 4), _classes(6), reduction=reduction)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_weight_and_ignore_index_match_torch(reduction):
    target = _classes(8)
    target[[1, 5]] = -1
    compare_loss("cross_entropy", _rand(8, 4), target, reduction=reduction, ignore_index=-1,
                 weight=np.array([0.2, 1.0, 3.0, 0.5], np.float32))


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_label_smoothing_with_weight_and_ignore_matches_torch(reduction):
    target = _classes(8)
    target[2] = 7
    compare_loss("cross_entropy", _rand(8, 4), target, reduction=reduction, ignore_index=7,
                 label_smoothing=0.2, weight=np.array([0.2, 1.0, 3.0, 0.5], np.float32))


def test_cross_entropy_label_smoothing_without_weight_matches_torch():
    compare_loss("cross_entropy", _rand(8, 4), _classes(8), label_smoothing=0.1)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_spatial_input_matches_torch(reduction):
    compare_loss("cross_entropy", _rand(2, 4, 3, 5), _classes(2, 3, 5), reduction=reduction,
                 weight=np.array([1.0, 2.0, 0.5, 1.5], np.float32))


def test_cross_entropy_unbatched_input_matches_torch():
    compare_loss("cross_entropy", _rand(5), np.array(3, np.int64))


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_probability_targets_match_torch(reduction):
    probs = np.random.default_rng(2).dirichlet(np.ones(4), 6).astype(np.float32)
    compare_loss("cross_entropy", _rand(6, 4), probs, reduction=reduction, target_grad=True,
                 label_smoothing=0.1, weight=np.array([0.2, 1.0, 3.0, 0.5], np.float32))


def test_cross_entropy_all_targets_ignored_gives_nan_like_torch():
    loss = F.cross_entropy(ember.randn(2, 3), ember.tensor([-100, -100]))
    assert np.isnan(loss.item())


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_nll_loss_matches_torch(reduction):
    target = _classes(7)
    target[3] = -100
    compare_loss("nll_loss", _rand(7, 4), target, reduction=reduction,
                 weight=np.array([1.0, 0.5, 2.0, 1.0], np.float32))


def test_nll_loss_values_of_none_reduction():
    out = F.nll_loss(ember.tensor(LOGITS), ember.tensor([0, 2]), reduction="none")
    np.testing.assert_allclose(out.numpy(), [-2.0, -0.3], rtol=1e-6)


def test_cross_entropy_gradcheck_and_double_backward():
    check_op(lambda lib, x: lib.nn.functional.cross_entropy(
        x, lib.tensor([0, 3, 1]), label_smoothing=0.1), (3, 4))


def test_nll_loss_gradcheck_spatial():
    check_op(lambda lib, x: lib.nn.functional.nll_loss(x, lib.tensor([[0, 2], [1, 1]]),
                                                       reduction="sum"), (2, 3, 2))


def test_target_out_of_bounds_raises_index_error():
    with pytest.raises(IndexError, match="Target 5 is out of bounds."):
        F.cross_entropy(ember.tensor(LOGITS), ember.tensor([0, 5]))


def test_batch_size_mismatch_raises_value_error():
    msg = r"Expected input batch_size \(2\) to match target batch_size \(3\)\."
    with pytest.raises(ValueError, match=msg):
        F.nll_loss(ember.tensor(LOGITS), ember.tensor([0, 2, 1]))


def test_float_class_target_raises_dtype_error():
    msg = "expected target dtype to be Long or Byte, but got Float"
    with pytest.raises(RuntimeError, match=msg):
        F.nll_loss(ember.tensor(LOGITS), ember.tensor([0.0, 2.0]))


def test_class_weight_of_wrong_size_raises():
    with pytest.raises(RuntimeError, match="weight tensor should be defined either for all 3"):
        F.cross_entropy(ember.tensor(LOGITS), ember.tensor([0, 1]), weight=ember.ones(2))


def test_invalid_reduction_raises_value_error():
    with pytest.raises(ValueError, match="foo is not a valid value for reduction"):
        F.mse_loss(ember.ones(2), ember.ones(2), reduction="foo")


def test_cross_entropy_loss_keeps_weight_as_buffer():
    loss = nn.CrossEntropyLoss(weight=ember.tensor([1.0, 2.0]))
    assert list(loss.state_dict()) == ["weight"]


# ----- regression losses -------------------------------------------------------------

def test_mse_reference_value_and_gradient():
    x = ember.tensor([1.0, 2.0, 3.0], requires_grad=True)
    target = ember.tensor([1.0, 0.0, 0.0], requires_grad=True)
    loss = nn.MSELoss()(x, target)
    assert loss.item() == pytest.approx(4.3333, abs=1e-4)
    assert grad_fn_name(loss) == "MseLossBackward0"
    loss.backward()
    np.testing.assert_allclose(x.grad.numpy(), [0, 4 / 3, 2], rtol=1e-6)
    np.testing.assert_allclose(target.grad.numpy(), [0, -4 / 3, -2], rtol=1e-6)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name", ["mse_loss", "l1_loss"])
def test_pointwise_regression_loss_matches_torch(name, reduction):
    compare_loss(name, _rand(4, 5), _rand(4, 5, seed=3), target_grad=True, reduction=reduction)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("beta", [1.0, 0.5, 0.0])
def test_smooth_l1_loss_matches_torch(beta, reduction):
    compare_loss("smooth_l1_loss", _rand(4, 5), _rand(4, 5, seed=3), target_grad=True,
                 reduction=reduction, beta=beta)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("delta", [1.0, 0.4])
def test_huber_loss_matches_torch(delta, reduction):
    compare_loss("huber_loss", _rand(4, 5), _rand(4, 5, seed=3), target_grad=True,
                 reduction=reduction, delta=delta)


def test_mse_with_broadcast_target_warns_like_torch():
    with pytest.warns(UserWarning, match="Using a target size"):
        F.mse_loss(ember.ones(3), ember.ones(3, 1))


@pytest.mark.parametrize("fn", [
    lambda lib, x, t: lib.nn.functional.mse_loss(x, t),
    lambda lib, x, t: lib.nn.functional.l1_loss(x, t, reduction="sum"),
    lambda lib, x, t: lib.nn.functional.smooth_l1_loss(x, t, beta=0.7),
    lambda lib, x, t: lib.nn.functional.huber_loss(x, t, reduction="none", delta=0.6),
], ids=["mse", "l1", "smooth_l1", "huber"])
def test_regression_loss_gradcheck(fn):
    check_op(fn, (3, 4), (3, 4))


# ----- binary cross entropy ------------------------------------------------------------

@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_bce_matches_torch_with_weight_and_target_grad(reduction):
    x = _rand(4, 3, low=0.02, high=0.98)
    t = _rand(4, 3, seed=4, low=0.0, high=1.0)
    compare_loss("binary_cross_entropy", x, t, target_grad=True, reduction=reduction,
                 weight=_rand(4, 3, seed=6, low=0.5, high=2.0))


def test_bce_clamps_log_at_minus_100():
    loss = F.binary_cross_entropy(ember.tensor([0.0, 1.0]), ember.tensor([1.0, 0.0]))
    assert loss.item() == pytest.approx(100.0)


def test_bce_rejects_inputs_outside_zero_one():
    with pytest.raises(RuntimeError, match="all elements of input should be between 0 and 1"):
        F.binary_cross_entropy(ember.tensor([1.5]), ember.tensor([1.0]))


def test_bce_rejects_target_of_other_size():
    with pytest.raises(ValueError, match="Please ensure they have the same size"):
        F.binary_cross_entropy(ember.tensor([0.5]), ember.tensor([1.0, 0.0]))


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_bce_with_logits_matches_torch_with_pos_weight(reduction):
    t = (_rand(5, 3, seed=4) > 0).astype(np.float32)
    compare_loss("binary_cross_entropy_with_logits", _rand(5, 3) * 4, t, target_grad=True,
                 reduction=reduction, pos_weight=np.array([0.5, 2.0, 3.0], np.float32),
                 weight=_rand(5, 3, seed=6, low=0.5, high=2.0))


def test_bce_with_logits_without_weights_matches_torch():
    compare_loss("binary_cross_entropy_with_logits", _rand(5, 3) * 4,
                 _rand(5, 3, seed=4, low=0, high=1), target_grad=True)


def test_bce_with_logits_is_stable_for_extreme_logits():
    x = ember.tensor([-200.0, 200.0, 100.0], requires_grad=True)
    loss = F.binary_cross_entropy_with_logits(x, ember.tensor([1.0, 0.0, 1.0]), reduction="sum")
    assert loss.item() == pytest.approx(400.0)
    loss.backward()
    np.testing.assert_allclose(x.grad.numpy(), [-1.0, 1.0, 0.0], atol=1e-6)


def test_bce_with_logits_size_mismatch_raises():
    with pytest.raises(ValueError, match="must be the same as input size"):
        F.binary_cross_entropy_with_logits(ember.ones(2, 3), ember.ones(2))


def test_bce_gradcheck():
    check_op(lambda lib, x, t: lib.nn.functional.binary_cross_entropy(x, t), (3, 4), (3, 4),
             low=0.1, high=0.9)


def test_bce_with_logits_gradcheck_with_pos_weight():
    check_op(lambda lib, x, t: lib.nn.functional.binary_cross_entropy_with_logits(
        x, t, pos_weight=lib.tensor([1.5, 0.5, 2.0, 1.0], dtype=x.dtype)), (3, 4), (3, 4))


# ----- KL divergence -------------------------------------------------------------------

@pytest.mark.parametrize("reduction", ["batchmean", "sum", "none", "mean"])
def test_kl_div_matches_torch(reduction):
    logp = np.log(np.random.default_rng(0).dirichlet(np.ones(4), 3)).astype(np.float32)
    q = np.random.default_rng(1).dirichlet(np.ones(4), 3).astype(np.float32)
    q[0, 1] = 0.0  # zero target probability contributes 0
    compare_loss("kl_div", logp, q, reduction=reduction)


def test_kl_div_log_target_matches_torch_with_target_grad():
    logp = np.log(np.random.default_rng(0).dirichlet(np.ones(4), 3)).astype(np.float32)
    logq = np.log(np.random.default_rng(1).dirichlet(np.ones(4), 3)).astype(np.float32)
    compare_loss("kl_div", logp, logq, target_grad=True, reduction="batchmean",
                 log_target=True)


def test_kl_div_mean_reduction_warns():
    with pytest.warns(UserWarning, match="'batchmean' divides only by the batch size"):
        F.kl_div(ember.zeros(2), ember.ones(2))


# ----- modules -------------------------------------------------------------------------

@pytest.mark.parametrize("make", [
    lambda lib: lib.nn.CrossEntropyLoss(label_smoothing=0.1),
    lambda lib: lib.nn.NLLLoss(reduction="sum"),
    lambda lib: lib.nn.MSELoss(),
    lambda lib: lib.nn.L1Loss(),
    lambda lib: lib.nn.SmoothL1Loss(beta=0.5),
    lambda lib: lib.nn.HuberLoss(delta=2.0),
    lambda lib: lib.nn.BCELoss(),
    lambda lib: lib.nn.BCEWithLogitsLoss(pos_weight=lib.tensor([2.0, 1.0, 1.0])),
    lambda lib: lib.nn.KLDivLoss(reduction="batchmean", log_target=True),
])
def test_loss_module_matches_functional_and_repr(make):
    e_mod, t_mod = make(ember), make(torch)
    assert repr(e_mod) == repr(t_mod)
    x = _rand(2, 3, low=0.1, high=0.9)
    if isinstance(e_mod, (nn.CrossEntropyLoss, nn.NLLLoss)):
        t = np.array([0, 2])
    else:
        t = _rand(2, 3, seed=2, low=0.1, high=0.9)
    np.testing.assert_allclose(e_mod(ember.tensor(x), ember.tensor(t)).numpy(),
                               t_mod(torch.tensor(x), torch.tensor(t)).numpy(), rtol=1e-5)


def test_legacy_size_average_false_means_sum():
    with pytest.warns(UserWarning):
        loss = nn.MSELoss(size_average=False)
    assert loss.reduction == "sum"


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name", ["mse_loss", "l1_loss", "huber_loss"])
def test_elementwise_weighted_loss_matches_torch(name, reduction):
    compare_loss(name, _rand(3, 4), _rand(3, 4, seed=3), target_grad=True, reduction=reduction,
                 weight=_rand(3, 4, seed=7, low=0.1, high=2.0))


def test_elementwise_weight_of_other_size_raises():
    with pytest.raises(ValueError, match="Weights and input must have the same size."):
        F.mse_loss(ember.ones(2, 3), ember.ones(2, 3), weight=ember.ones(3))
