"""nn.init: in place, untracked, reproducible, with PyTorch's gains, fans and bounds."""

from __future__ import annotations

import math

import numpy as np
import pytest

import ember
import ember.nn as nn
from ember.nn import init

torch = pytest.importorskip("torch")


@pytest.mark.parametrize(("name", "param"), [
    ("linear", None), ("conv2d", None), ("sigmoid", None), ("tanh", None), ("relu", None),
    ("leaky_relu", None), ("leaky_relu", 0.2), ("selu", None),
])
def test_calculate_gain_matches_torch(name, param):
    assert init.calculate_gain(name, param) == pytest.approx(
        torch.nn.init.calculate_gain(name, param))


def test_calculate_gain_rejects_unknown_nonlinearity():
    with pytest.raises(ValueError, match="Unsupported nonlinearity swish"):
        init.calculate_gain("swish")


@pytest.mark.parametrize("shape", [(4, 3), (8, 4, 3, 3), (5, 2, 7)])
def test_fan_in_and_fan_out_match_torch(shape):
    assert init._calculate_fan_in_and_fan_out(ember.empty(*shape)) == \
        torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(*shape))


def test_fan_of_a_vector_raises():
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        init._calculate_fan_in_and_fan_out(ember.empty(3))


def test_init_writes_in_place_and_keeps_a_trainable_leaf():
    p = nn.Parameter(ember.zeros(50, 40))
    ptr, version = p.data_ptr(), p._version
    assert init.normal_(p) is p
    assert p.data_ptr() == ptr and p._version == version + 1
    assert p.requires_grad and p.is_leaf and p.grad_fn is None
    assert p.detach().numpy().std() > 0.5


def test_uniform_statistics_and_range():
    t = init.uniform_(ember.empty(200, 200), -3.0, 1.0)
    a = t.numpy()
    assert a.min() >= -3.0 and a.max() < 1.0
    assert abs(a.mean() + 1.0) < 0.03


def test_normal_statistics():
    a = init.normal_(ember.empty(300, 300), mean=2.0, std=0.5).numpy()
    assert abs(a.mean() - 2.0) < 0.01 and abs(a.std() - 0.5) < 0.01


def test_init_is_reproducible_with_manual_seed_and_generator():
    ember.manual_seed(7)
    a = init.normal_(ember.empty(5)).numpy().copy()
    ember.manual_seed(7)
    np.testing.assert_array_equal(init.normal_(ember.empty(5)).numpy(), a)
    g = ember.Generator().manual_seed(1)
    b = init.uniform_(ember.empty(5), generator=g).numpy().copy()
    g.manual_seed(1)
    np.testing.assert_array_equal(init.uniform_(ember.empty(5), generator=g).numpy(), b)


def test_constant_zeros_ones_and_eye():
    assert np.all(init.constant_(ember.empty(2, 3), 0.3).numpy() == np.float32(0.3))
    assert not init.zeros_(ember.ones(4)).numpy().any()
    assert np.all(init.ones_(ember.zeros(4)).numpy() == 1)
    np.testing.assert_array_equal(init.eye_(ember.empty(2, 3)).numpy(), np.eye(2, 3))


def test_eye_rejects_non_matrices():
    with pytest.raises(ValueError, match="Only tensors with 2 dimensions are supported"):
        init.eye_(ember.empty(2, 2, 2))


def test_dirac_makes_a_centered_identity_kernel():
    w = init.dirac_(ember.empty(3, 3, 3)).numpy()
    expected = np.zeros((3, 3, 3))
    expected[np.arange(3), np.arange(3), 1] = 1
    np.testing.assert_array_equal(w, expected)


def test_xavier_uniform_bound():
    a = init.xavier_uniform_(ember.empty(300, 200), gain=2.0).numpy()
    bound = 2.0 * math.sqrt(6 / 500)
    assert np.abs(a).max() <= bound and np.abs(a).max() > 0.99 * bound


def test_xavier_normal_std():
    a = init.xavier_normal_(ember.empty(300, 200)).numpy()
    assert abs(a.std() - math.sqrt(2 / 500)) < 0.002


def test_kaiming_uniform_relu_fan_out_bound():
    a = init.kaiming_uniform_(ember.empty(200, 50), mode="fan_out", nonlinearity="relu").numpy()
    bound = math.sqrt(2.0) * math.sqrt(3 / 200)
    assert np.abs(a).max() <= bound and np.abs(a).max() > 0.99 * bound


def test_kaiming_normal_std_for_conv_weight():
    a = init.kaiming_normal_(ember.empty(64, 32, 3, 3), nonlinearity="relu").numpy()
    assert abs(a.std() - math.sqrt(2 / (32 * 9))) < 0.003


def test_kaiming_on_zero_element_tensor_warns():
    with pytest.warns(UserWarning, match="Initializing zero-element tensors is a no-op"):
        init.kaiming_uniform_(ember.empty(0, 3))


def test_kaiming_rejects_unknown_mode():
    with pytest.raises(ValueError, match="Mode fan_avg not supported"):
        init.kaiming_normal_(ember.empty(3, 3), mode="fan_avg")


def test_trunc_normal_stays_in_bounds_with_truncated_std():
    a = init.trunc_normal_(ember.empty(300, 300), std=1.0, a=-2.0, b=2.0).numpy()
    assert a.min() >= -2.0 and a.max() <= 2.0
    assert abs(a.std() - 0.8796) < 0.01  # std of N(0, 1) truncated to [-2, 2]


@pytest.mark.parametrize("shape", [(3, 5), (5, 3), (4, 2, 3, 3)])
def test_orthogonal_gives_orthonormal_rows_or_columns(shape):
    w = init.orthogonal_(ember.empty(*shape), gain=2.0).numpy().reshape(shape[0], -1)
    small = min(w.shape)
    gram = w @ w.T if w.shape[0] == small else w.T @ w
    np.testing.assert_allclose(gram, 4.0 * np.eye(small), atol=1e-5)


def test_sparse_zeroes_a_fraction_of_each_column():
    w = init.sparse_(ember.empty(10, 6), sparsity=0.3).numpy()
    assert np.all((w == 0).sum(0) == 3)


def test_init_on_parameter_outside_no_grad_does_not_raise():
    layer = nn.Linear(3, 3)
    init.zeros_(layer.weight)
    assert not layer.weight.detach().numpy().any() and layer.weight.requires_grad
