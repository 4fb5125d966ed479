import numpy as np
import pytest

import ember
from ember.autograd.graph import saved_bytes
from ember.utils.checkpoint import checkpoint


def _layers(n, width, seed=0):
    ember.manual_seed(seed)
    return [(ember.randn(width, width) * 0.3).requires_grad_() for _ in range(n)]


def _run(ws, h):
    for w in ws:
        h = (h @ w).tanh()
    return h


def test_checkpointed_gradients_equal_plain_ones():
    ws = _layers(6, 32)
    x = ember.randn(16, 32, requires_grad=True)
    _run(ws, x).sum().backward()
    plain = [w.grad.numpy().copy() for w in ws] + [x.grad.numpy().copy()]
    for t in ws + [x]:
        t.grad = None
    out = _run(ws[3:], checkpoint(lambda h: _run(ws[:3], h), x))
    out.sum().backward()
    for a, t in zip(plain, ws + [x]):
        np.testing.assert_allclose(t.grad.numpy(), a, atol=1e-6)


def test_checkpoint_drops_the_saved_bytes_of_the_segment():
    width, batch = 64, 32
    ws = _layers(8, width)
    x = ember.randn(batch, width, requires_grad=True)
    per_layer = 2 * batch * width * 4 + width * width * 4  # input, tanh output, weight
    full = saved_bytes(_run(ws, x))
    inner = checkpoint(lambda h: _run(ws[:6], h), x)
    ck = saved_bytes(_run(ws[6:], inner))
    # the first six layers keep nothing; the last two save their input, output and weight
    assert full - ck >= 5 * per_layer - 6 * batch * width * 4
    assert ck <= 2 * per_layer


def test_checkpoint_replays_the_random_state_for_dropout_like_masks():
    x = ember.ones(1000, requires_grad=True)

    def noisy(h):
        return h * (ember.rand(1000) > 0.5)

    out = checkpoint(noisy, x)
    out.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), out.detach().numpy())


def test_second_backward_through_a_checkpoint_is_refused():
    ws = _layers(2, 8)
    x = ember.randn(2, 8, requires_grad=True)
    y = checkpoint(lambda h: _run(ws, h), x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="second time"):
        y.backward()
