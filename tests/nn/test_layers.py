"""Layers and activations against torch 2.13 with the same weights: forward values and the
gradients of inputs and parameters; activations also gradchecked (and double backward)."""

from __future__ import annotations

import numpy as np
import pytest

import ember
import ember.nn as nn
import ember.nn.functional as F
from tests.helpers import check_op, grad_fn_name

torch = pytest.importorskip("torch")


def _same_weights(e_mod, t_mod) -> None:
    e_params = dict(e_mod.named_parameters())
    t_params = dict(t_mod.named_parameters())
    assert list(e_params) == list(t_params)
    with torch.no_grad():
        for name, p in e_params.items():
            t_params[name].copy_(torch.from_numpy(p.detach().numpy().copy()))


def compare_module(e_mod, t_mod, *shapes, seed: int = 0, atol: float = 1e-5,
                   rtol: float = 1e-4) -> None:
    """Same weights, same inputs: outputs, input grads and parameter grads agree."""
    _same_weights(e_mod, t_mod)
    rng = np.random.default_rng(seed)
    arrays = [rng.uniform(-2, 2, s).astype(np.float32) for s in shapes]
    e_in = [ember.tensor(a, requires_grad=True) for a in arrays]
    t_in = [torch.tensor(a, requires_grad=True) for a in arrays]
    e_out, t_out = e_mod(*e_in), t_mod(*t_in)
    assert tuple(e_out.shape) == tuple(t_out.shape)
    np.testing.assert_allclose(e_out.detach().numpy(), t_out.detach().numpy(), atol=atol,
                               rtol=rtol)
    probe = rng.standard_normal(tuple(t_out.shape)).astype(np.float32)
    (e_out * ember.tensor(probe)).sum().backward()
    (t_out * torch.tensor(probe)).sum().backward()
    for e, t in zip(e_in, t_in):
        np.testing.assert_allclose(e.grad.numpy(), t.grad.numpy(), atol=atol * 10,
                                   rtol=rtol * 10)
    t_params = dict(t_mod.named_parameters())
    for name, p in e_mod.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), t_params[name].grad.numpy(),
                                   atol=atol * 10, rtol=rtol * 10)


# ----- Linear, Bilinear, Identity, Flatten --------------------------------------------

def test_linear_matches_torch_forward_and_grads():
    compare_module(nn.Linear(4, 3), torch.nn.Linear(4, 3), (5, 4))


def test_linear_on_batched_3d_input_matches_torch():
    compare_module(nn.Linear(4, 3), torch.nn.Linear(4, 3), (2, 5, 4))


def test_linear_without_bias_matches_torch():
    e = nn.Linear(4, 3, bias=False)
    assert e.bias is None and [n for n, _ in e.named_parameters()] == ["weight"]
    compare_module(e, torch.nn.Linear(4, 3, bias=False), (5, 4))


def test_linear_records_one_addmm_node():
    out = nn.Linear(2, 3)(ember.randn(4, 2))
    assert grad_fn_name(out) == "AddmmBackward0"
    assert all(fn is None or type(fn).__name__ == "AccumulateGrad"
               for fn, _ in out.grad_fn.next_functions)


def test_linear_default_init_is_within_kaiming_bounds():
    ember.manual_seed(0)
    layer = nn.Linear(100, 50)
    bound = 1 / np.sqrt(100)  # kaiming_uniform(a=sqrt(5)) gives the same bound as the bias
    w, b = layer.weight.detach().numpy(), layer.bias.detach().numpy()
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.9 * bound
    assert np.abs(b).max() <= bound
    assert abs(w.std() - bound / np.sqrt(3)) < 0.01


def test_linear_init_is_reproducible_with_manual_seed():
    ember.manual_seed(3)
    a = nn.Linear(3, 2).weight.detach().numpy().copy()
    ember.manual_seed(3)
    b = nn.Linear(3, 2).weight.detach().numpy()
    np.testing.assert_array_equal(a, b)


def test_linear_accepts_float64_dtype():
    layer = nn.Linear(3, 2, dtype=ember.float64)
    assert layer.weight.dtype == ember.float64
    assert layer(ember.randn(4, 3, dtype=ember.float64)).dtype == ember.float64


def test_linear_shape_mismatch_names_the_shapes():
    msg = r"mat1 and mat2 shapes cannot be multiplied \(4x5 and 3x2\)"
    with pytest.raises(RuntimeError, match=msg):
        nn.Linear(3, 2)(ember.randn(4, 5))


def test_bilinear_matches_torch():
    compare_module(nn.Bilinear(3, 4, 2), torch.nn.Bilinear(3, 4, 2), (5, 3), (5, 4))


def test_identity_returns_its_input():
    x = ember.randn(2, 3)
    assert nn.Identity(54, unused="x")(x) is x


def test_flatten_keeps_batch_dim():
    assert nn.Flatten()(ember.randn(2, 3, 4, 5)).shape == (2, 60)
    assert nn.Flatten(0, 2)(ember.randn(2, 3, 4, 5)).shape == (24, 5)


def test_unflatten_splits_a_dim_including_minus_one():
    assert nn.Unflatten(1, (2, 5))(ember.randn(3, 10)).shape == (3, 2, 5)
    assert nn.Unflatten(1, (-1, 5))(ember.randn(3, 10, 4)).shape == (3, 2, 5, 4)


def test_flatten_and_unflatten_backward_match_torch():
    compare_module(nn.Sequential(nn.Flatten(), nn.Unflatten(1, (4, 3))),
                   torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Unflatten(1, (4, 3))),
                   (2, 3, 4))


# ----- activations ------------------------------------------------------------------

ACTIVATIONS = [
    ("ReLU", (), {}),
    ("LeakyReLU", (0.2,), {}),
    ("ELU", (0.7,), {}),
    ("SELU", (), {}),
    ("CELU", (0.5,), {}),
    ("GELU", (), {}),
    ("GELU", (), {"approximate": "tanh"}),
    ("SiLU", (), {}),
    ("Sigmoid", (), {}),
    ("Tanh", (), {}),
    ("Softmax", (), {"dim": 1}),
    ("LogSoftmax", (), {"dim": 1}),
    ("Softmin", (), {"dim": 0}),
    ("Softplus", (), {}),
    ("Softplus", (2.0, 3.0), {}),
    ("Hardtanh", (), {}),
    ("Hardtanh", (-0.5, 1.5), {}),
    ("ReLU6", (), {}),
    ("Mish", (), {}),
    ("LogSigmoid", (), {}),
    ("Hardsigmoid", (), {}),
    ("Hardswish", (), {}),
    ("Softsign", (), {}),
    ("Tanhshrink", (), {}),
    ("Threshold", (0.1, -3.0), {}),
    ("GLU", (), {}),
]


@pytest.mark.parametrize(("name", "args", "kwargs"), ACTIVATIONS,
                         ids=[f"{n}{a}{k}" for n, a, k in ACTIVATIONS])
def test_activation_module_matches_torch(name, args, kwargs):
    # Scaled to reach the kinks and saturations (|x| up to 8).
    e_mod = getattr(nn, name)(*args, **kwargs)
    t_mod = getattr(torch.nn, name)(*args, **kwargs)
    compare_module(e_mod, t_mod, (6, 8))
    x = np.linspace(-8, 8, 48, dtype=np.float32).reshape(6, 8)
    np.testing.assert_allclose(e_mod(ember.tensor(x)).numpy(),
                               t_mod(torch.tensor(x)).numpy(), atol=1e-6, rtol=1e-5)


@pytest.mark.parametrize("fn", [
    lambda lib, x: lib.nn.functional.leaky_relu(x, 0.1),
    lambda lib, x: lib.nn.functional.elu(x, 1.3),
    lambda lib, x: lib.nn.functional.selu(x),
    lambda lib, x: lib.nn.functional.gelu(x),
    lambda lib, x: lib.nn.functional.gelu(x, approximate="tanh"),
    lambda lib, x: lib.nn.functional.silu(x),
    lambda lib, x: lib.nn.functional.softplus(x, 1.5, 2.0),
    lambda lib, x: lib.nn.functional.mish(x),
    lambda lib, x: lib.nn.functional.logsigmoid(x),
    lambda lib, x: lib.nn.functional.hardtanh(x, -1.2, 0.7),
    lambda lib, x: lib.nn.functional.hardswish(x * 2),
    lambda lib, x: lib.nn.functional.hardsigmoid(x * 2),
    lambda lib, x: lib.nn.functional.softmax(x, dim=-1),
    lambda lib, x: lib.nn.functional.log_softmax(x, dim=0),
    lambda lib, x: lib.nn.functional.softsign(x),
], ids=["leaky_relu", "elu", "selu", "gelu", "gelu_tanh", "silu", "softplus", "mish",
        "logsigmoid", "hardtanh", "hardswish", "hardsigmoid", "softmax", "log_softmax",
        "softsign"])
def test_activation_gradcheck_and_double_backward(fn):
    check_op(fn, (4, 5))


@pytest.mark.parametrize(("name", "expected"), [
    ("leaky_relu", "LeakyReluBackward0"), ("elu", "EluBackward0"), ("gelu", "GeluBackward0"),
    ("silu", "SiluBackward0"), ("softplus", "SoftplusBackward0"),
    ("hardtanh", "HardtanhBackward0"), ("relu6", "HardtanhBackward0"),
    ("mish", "MishBackward0"), ("relu", "ReluBackward0"), ("sigmoid", "SigmoidBackward0"),
])
def test_activation_records_pytorch_grad_fn_name(name, expected):
    x = ember.randn(3, requires_grad=True)
    assert grad_fn_name(getattr(F, name)(x)) == expected


def test_erf_matches_torch_to_float_precision():
    x = np.linspace(-7, 7, 10001)
    from ember.ops.activation import erf

    np.testing.assert_allclose(erf(ember.tensor(x, dtype=ember.float64)).numpy(),
                               torch.erf(torch.tensor(x)).numpy(), atol=2e-15, rtol=0)
    np.testing.assert_allclose(erf(ember.tensor(x)).numpy(),
                               torch.erf(torch.tensor(x, dtype=torch.float32)).numpy(),
                               atol=3e-7, rtol=0)


def test_prelu_matches_torch_per_channel():
    compare_module(nn.PReLU(3, 0.1), torch.nn.PReLU(3, 0.1), (2, 3, 4))


def test_softmax_without_dim_warns_and_picks_dim_1_for_2d():
    x = ember.randn(2, 3)
    with pytest.warns(UserWarning, match="Implicit dimension choice for softmax"):
        out = F.softmax(x)
    np.testing.assert_allclose(out.sum(1).numpy(), [1, 1], rtol=1e-6)


def test_gelu_rejects_unknown_approximation():
    with pytest.raises(RuntimeError, match="approximate argument must be either none or tanh"):
        F.gelu(ember.randn(2), approximate="fast")


def test_relu_inplace_flag_gives_relu_values():
    x = ember.tensor([-1.0, 2.0])
    assert nn.ReLU(inplace=True)(x).tolist() == [0.0, 2.0]


# ----- dropout -----------------------------------------------------------------------

def test_dropout_train_zeros_about_p_and_scales_survivors():
    ember.manual_seed(0)
    out = nn.Dropout(0.5)(ember.ones(100, 100)).numpy()
    assert set(np.unique(out)) <= {0.0, 2.0}
    assert 0.45 < (out == 0).mean() < 0.55


def test_dropout_gradient_uses_the_same_mask():
    x = ember.ones(50, 50, requires_grad=True)
    out = F.dropout(x, 0.3, training=True)
    out.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), out.detach().numpy())


def test_dropout_is_active_under_no_grad_in_train_mode():
    with ember.no_grad():
        out = nn.Dropout(0.5)(ember.ones(1000))
    assert (out.numpy() == 0).any()
    assert not out.requires_grad


def test_dropout_in_eval_returns_the_input_object():
    d = nn.Dropout(0.5).eval()
    x = ember.randn(4)
    assert d(x) is x


def test_dropout_p_one_gives_all_zeros_and_p_zero_identity():
    assert not F.dropout(ember.ones(10), 1.0).numpy().any()
    x = ember.ones(10)
    assert F.dropout(x, 0.0) is x


def test_dropout_probability_out_of_range_raises():
    msg = "dropout probability has to be between 0 and 1, but got 1.5"
    with pytest.raises(ValueError, match=msg):
        nn.Dropout(1.5)


def test_dropout_preserves_float64():
    assert F.dropout(ember.ones(4, dtype=ember.float64), 0.5).dtype == ember.float64


def test_dropout2d_zeros_whole_channels():
    ember.manual_seed(1)
    out = nn.Dropout2d(0.5)(ember.ones(8, 16, 3, 3)).numpy()
    per_channel = out.reshape(8, 16, 9)
    assert np.all((per_channel == 0).all(-1) | (per_channel == 2).all(-1))


def test_dropout_repr_matches_pytorch():
    assert repr(nn.Dropout(0.3)) == "Dropout(p=0.3, inplace=False)"


# ----- reprs -------------------------------------------------------------------------

@pytest.mark.parametrize("make", [
    lambda lib: lib.nn.Linear(2, 3),
    lambda lib: lib.nn.Bilinear(2, 3, 4, bias=False),
    lambda lib: lib.nn.GELU(approximate="tanh"),
    lambda lib: lib.nn.LeakyReLU(0.2, True),
    lambda lib: lib.nn.ELU(),
    lambda lib: lib.nn.Softmax(dim=1),
    lambda lib: lib.nn.Softplus(),
    lambda lib: lib.nn.Hardtanh(-2, 2, True),
    lambda lib: lib.nn.ReLU6(),
    lambda lib: lib.nn.ReLU(inplace=True),
    lambda lib: lib.nn.Flatten(),
    lambda lib: lib.nn.Unflatten(1, (2, 5)),
    lambda lib: lib.nn.Threshold(0.1, 20),
    lambda lib: lib.nn.PReLU(),
    lambda lib: lib.nn.Identity(),
])
def test_layer_repr_matches_torch(make):
    assert repr(make(ember)) == repr(make(torch))


@pytest.mark.parametrize("name", ["elu", "selu", "celu", "gelu", "silu", "softplus", "mish",
                                  "logsigmoid", "hardswish"])
def test_plain_and_recorded_backward_give_the_same_gradient(name):
    # A plain backward uses NumPy slopes; create_graph=True builds them from ember ops.
    x = ember.tensor(np.linspace(-30, 30, 241), dtype=ember.float64, requires_grad=True)
    fn = getattr(F, name)
    (plain,) = ember.autograd.grad(fn(x).sum(), x)
    (recorded,) = ember.autograd.grad(fn(x).sum(), x, create_graph=True)
    assert recorded.requires_grad
    np.testing.assert_allclose(plain.numpy(), recorded.detach().numpy(), rtol=1e-12,
                               atol=1e-14)


def test_gelu_tanh_plain_and_recorded_backward_agree():
    x = ember.tensor(np.linspace(-9, 9, 181), dtype=ember.float64, requires_grad=True)
    (plain,) = ember.autograd.grad(F.gelu(x, approximate="tanh").sum(), x)
    (recorded,) = ember.autograd.grad(F.gelu(x, approximate="tanh").sum(), x,
                                      create_graph=True)
    np.testing.assert_allclose(plain.numpy(), recorded.detach().numpy(), rtol=1e-12)


def test_float32_softplus_and_elu_keep_relative_precision_near_zero():
    # float32 uses log/exp with Kahan's corrections instead of NumPy's slow log1p/expm1.
    x = np.array([-30.0, -17.0, -1e-3, -1e-6, -1e-9], np.float32)
    np.testing.assert_allclose(F.softplus(ember.tensor(x)).numpy(),
                               np.log1p(np.exp(x.astype(np.float64))), rtol=2e-7)
    np.testing.assert_allclose(F.elu(ember.tensor(x)).numpy(),
                               np.expm1(x.astype(np.float64)), rtol=2e-7)
    np.testing.assert_allclose(F.logsigmoid(ember.tensor(-x)).numpy(),
                               -np.log1p(np.exp(x.astype(np.float64))), rtol=2e-7)


def test_activations_of_extreme_inputs_are_finite():
    x = ember.tensor([-1e4, -100.0, 100.0, 1e4], requires_grad=True)
    for name in ("gelu", "silu", "mish", "softplus", "elu", "logsigmoid"):
        out = getattr(F, name)(x)
        (grad,) = ember.autograd.grad(out.sum(), x)
        assert np.isfinite(out.detach().numpy()).all(), name
        assert np.isfinite(grad.numpy()).all(), name


# ----- functional utilities ----------------------------------------------------------

def test_one_hot_matches_torch():
    idx = np.array([[0, 2], [1, 3]])
    np.testing.assert_array_equal(F.one_hot(ember.tensor(idx)).numpy(),
                                  torch.nn.functional.one_hot(torch.tensor(idx)).numpy())
    assert F.one_hot(ember.tensor([1]), 4).shape == (1, 4)


def test_one_hot_rejects_class_beyond_num_classes():
    with pytest.raises(RuntimeError, match="Class values must be smaller than num_classes."):
        F.one_hot(ember.tensor([3]), 2)


@pytest.mark.parametrize("fn", [
    lambda lib, x: lib.nn.functional.normalize(x, dim=1),
    lambda lib, x: lib.nn.functional.normalize(x, p=1.0, dim=0),
    lambda lib, x, y: lib.nn.functional.cosine_similarity(x, y),
    lambda lib, x, y: lib.nn.functional.pairwise_distance(x, y),
    lambda lib, x: lib.nn.functional.glu(x, dim=1),
    lambda lib, x: lib.nn.functional.softmin(x, dim=1),
    lambda lib, x: lib.nn.functional.threshold(x, 0.3, -1.0),
    lambda lib, x, y, w: lib.nn.functional.bilinear(x, y, w),
], ids=["normalize", "normalize_p1", "cosine_similarity", "pairwise_distance", "glu",
        "softmin", "threshold", "bilinear"])
def test_functional_utility_matches_torch(fn):
    n_args = fn.__code__.co_argcount - 1
    shapes = [(3, 4), (3, 4), (2, 4, 4)][:n_args]
    check_op(fn, *shapes)


def test_inplace_relu_after_linear_matches_torch():
    compare_module(nn.Sequential(nn.Linear(3, 4), nn.ReLU(inplace=True)),
                   torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(inplace=True)),
                   (5, 3))
