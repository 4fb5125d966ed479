import numpy as np
import pytest

import ember
from ember.autograd.graph import save_as, save_on_disk, saved_bytes, saved_tensors_hooks


def test_pack_runs_at_save_and_unpack_at_backward():
    events = []

    def pack(t):
        events.append(("pack", tuple(t.shape)))
        return t

    def unpack(t):
        events.append(("unpack", tuple(t.shape)))
        return t

    x = ember.randn(3, requires_grad=True)
    with saved_tensors_hooks(pack, unpack):
        y = (x * x).sum()
    assert events == [("pack", (3,)), ("pack", (3,))]
    y.backward()
    assert [e[0] for e in events[2:]] == ["unpack", "unpack"]
    np.testing.assert_allclose(x.grad.numpy(), 2 * x.detach().numpy())


def test_hooks_apply_only_inside_the_block_and_the_innermost_wins():
    seen = []
    x = ember.randn(2, requires_grad=True)
    with saved_tensors_hooks(lambda t: seen.append("outer") or t, lambda t: t):
        with saved_tensors_hooks(lambda t: seen.append("inner") or t, lambda t: t):
            x.exp()
        x.sin()
    x.cos()
    assert seen == ["inner", "outer"]


def test_unpack_must_return_a_tensor():
    x = ember.randn(2, requires_grad=True)
    with saved_tensors_hooks(lambda t: t, lambda t: "nope"):
        y = x.exp().sum()
    with pytest.raises(TypeError, match="unpack_hook should return a Tensor"):
        y.backward()


def test_save_as_float16_halves_saved_bytes_and_keeps_gradients_close():
    ember.manual_seed(0)
    x = ember.randn(64, 64, requires_grad=True)
    w = ember.randn(64, 64)
    full = saved_bytes((x @ w).tanh())
    with save_as(ember.float16):
        y = (x @ w).tanh()
    assert saved_bytes(y) == full // 2
    y.sum().backward()
    x2 = x.detach().requires_grad_()
    (x2 @ w).tanh().sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), x2.grad.numpy(), rtol=2e-2, atol=2e-2)


def test_save_on_disk_keeps_no_saved_arrays_in_memory_and_gives_exact_gradients(tmp_path):
    x = ember.randn(32, 16, requires_grad=True)
    w = ember.randn(16, 16)
    with save_on_disk(str(tmp_path)):
        y = (x @ w).tanh()
    assert saved_bytes(y) == 0
    assert any(tmp_path.iterdir())
    y.sum().backward()
    x2 = x.detach().requires_grad_()
    (x2 @ w).tanh().sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), x2.grad.numpy())
