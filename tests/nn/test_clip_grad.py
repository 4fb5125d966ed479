"""nn.utils: clip_grad_norm_ (reference section 16), clip_grad_value_ and the
parameter <-> vector conversions."""

from __future__ import annotations

import numpy as np
import pytest

import ember
import ember.nn as nn
from ember.nn.utils import (
    clip_grad_norm_,
    clip_grad_value_,
    parameters_to_vector,
    vector_to_parameters,
)


def param_with_grad(values, grad):
    p = nn.Parameter(ember.tensor(values))
    p.grad = ember.tensor(grad)
    return p


def test_clip_grad_norm_returns_total_norm_and_scales_in_place():
    p = param_with_grad([0.0, 0.0], [3.0, 4.0])
    grad = p.grad
    total = clip_grad_norm_([p], max_norm=1.0)
    assert total.shape == () and total.dtype == ember.float32 and not total.requires_grad
    assert total.item() == pytest.approx(5.0)
    assert p.grad is grad
    np.testing.assert_allclose(grad.numpy(), [0.6, 0.8], rtol=1e-5)


def test_clip_grad_norm_is_global_over_parameters():
    a, b = param_with_grad([0.0, 0.0], [3.0, 0.0]), param_with_grad([0.0], [4.0])
    assert clip_grad_norm_([a, b], 1.0).item() == pytest.approx(5.0)
    np.testing.assert_allclose(b.grad.numpy(), [0.8], rtol=1e-5)


def test_grads_below_the_limit_are_unchanged():
    p = param_with_grad([0.0, 0.0], [0.3, 0.4])
    assert clip_grad_norm_(p, 1.0).item() == pytest.approx(0.5)
    np.testing.assert_allclose(p.grad.numpy(), [0.3, 0.4], rtol=1e-6)


def test_inf_norm_uses_max_abs():
    p = param_with_grad([0.0, 0.0, 0.0], [3.0, -7.0, 4.0])
    assert clip_grad_norm_([p], 100.0, norm_type=float("inf")).item() == 7.0


def test_params_without_grad_are_skipped_and_no_grads_give_zero():
    empty = nn.Parameter(ember.zeros(2))
    total = clip_grad_norm_([empty], 1.0)
    assert total.item() == 0.0 and empty.grad is None
    p = param_with_grad([0.0], [2.0])
    assert clip_grad_norm_([empty, p], 1.0).item() == pytest.approx(2.0)


def test_clip_grad_norm_accepts_a_generator_and_works_under_no_grad():
    model = nn.Linear(3, 2)
    model(ember.randn(4, 3)).sum().backward()
    with ember.no_grad():
        clip_grad_norm_(model.parameters(), 0.01)
    norm = np.sqrt(sum((p.grad.numpy() ** 2).sum() for p in model.parameters()))
    assert norm == pytest.approx(0.01, rel=1e-3)


def test_nonfinite_norm_raises_when_asked():
    p = param_with_grad([0.0], [float("nan")])
    with pytest.raises(RuntimeError, match="is non-finite, so it cannot be clipped"):
        clip_grad_norm_(p, 1.0, error_if_nonfinite=True)
    assert np.isnan(clip_grad_norm_(p, 1.0).item())


@pytest.mark.parametrize("norm_type", [1.0, 2.0, 3.0, float("inf")])
def test_clip_grad_norm_matches_torch(norm_type):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    grads = [rng.standard_normal(s).astype(np.float32) for s in [(3, 4), (4,), (2, 2, 2)]]
    e_params = [param_with_grad(np.zeros_like(g), g) for g in grads]
    t_params = [torch.nn.Parameter(torch.zeros(g.shape)) for g in grads]
    for p, g in zip(t_params, grads):
        p.grad = torch.tensor(g)
    e_total = clip_grad_norm_(e_params, 0.5, norm_type)
    t_total = torch.nn.utils.clip_grad_norm_(t_params, 0.5, norm_type)
    assert e_total.item() == pytest.approx(t_total.item(), rel=1e-5)
    for e, t in zip(e_params, t_params):
        np.testing.assert_allclose(e.grad.numpy(), t.grad.numpy(), rtol=1e-5, atol=1e-7)


def test_clip_grad_value_clamps_in_place():
    p = param_with_grad([0.0, 0.0, 0.0], [-3.0, 0.5, 2.0])
    grad = p.grad
    assert clip_grad_value_([p], 1.0) is None
    assert p.grad is grad
    np.testing.assert_allclose(grad.numpy(), [-1.0, 0.5, 1.0])


def test_parameters_to_vector_and_back():
    model = nn.Linear(3, 2)
    vec = parameters_to_vector(model.parameters())
    assert vec.shape == (8,)
    np.testing.assert_allclose(vec.detach().numpy()[:6],
                               model.weight.detach().numpy().ravel())
    vector_to_parameters(ember.arange(8, dtype=ember.float32), model.parameters())
    np.testing.assert_array_equal(model.weight.detach().numpy(), np.arange(6).reshape(2, 3))
    np.testing.assert_array_equal(model.bias.detach().numpy(), [6, 7])


def test_parameters_to_vector_is_differentiable():
    model = nn.Linear(2, 1)
    (parameters_to_vector(model.parameters()) ** 2).sum().backward()
    np.testing.assert_allclose(model.weight.grad.numpy(), 2 * model.weight.detach().numpy())


def test_vector_to_parameters_rejects_non_tensor():
    with pytest.raises(TypeError, match="expected ember.Tensor, but got: list"):
        vector_to_parameters([1.0], nn.Linear(1, 1).parameters())
