"""Inference tensors: what inference_mode makes, what they may and may not do outside it
(reference section 7; messages from PyTorch 2.13 with ember's names).

Tests named `test_inplace_*` use in-place ops.
"""

from __future__ import annotations

import re

import pytest

import ember

SAVED_FOR_BACKWARD = (
    "Inference tensors cannot be saved for backward. Please do not use Tensors created in "
    "inference mode in computation tracked by autograd. To work around this, you can make a "
    "clone to get a normal tensor and use it in autograd, or use `ember.no_grad()` instead of "
    "`ember.inference_mode()`."
)
INPLACE_OUTSIDE = (
    "Inplace update to inference tensor outside InferenceMode is not allowed.You can make a "
    "clone to get a normal tensor before doing inplace update.See "
    "https://github.com/pytorch/rfcs/pull/17 for more details."
)


def exact(message: str) -> str:
    return "^" + re.escape(message) + "$"


@pytest.fixture
def x():
    return ember.tensor([1.0, 2.0, 3.0], requires_grad=True)


@pytest.fixture
def it():
    with ember.inference_mode():
        return ember.tensor([1.0, 2.0, 3.0]) * 2


# ----- what inference_mode makes --------------------------------------------------------
def test_results_in_inference_mode_are_untracked_inference_tensors(x):
    with ember.inference_mode():
        y = x * 2
        z = ember.ones(2)
    assert (y.requires_grad, y.grad_fn, y.is_leaf) == (False, None, True)
    assert y.is_inference() and z.is_inference()
    assert not x.is_inference()
    assert y.tolist() == [2.0, 4.0, 6.0]


def test_no_grad_tensors_are_not_inference_tensors(x):
    with ember.no_grad():
        y = x * 2
        z = ember.ones(2)
    assert not y.is_inference() and not z.is_inference()


def test_factory_with_requires_grad_in_inference_mode_keeps_the_flag():
    with ember.inference_mode():
        p = ember.randn(2, requires_grad=True)
    assert p.is_inference() and p.requires_grad and p.is_leaf


def test_enable_grad_inside_inference_mode_still_makes_inference_tensors(x):
    with ember.inference_mode(), ember.enable_grad():
        assert ember.is_grad_enabled()
        y = x * 2
    assert y.is_inference() and not y.requires_grad and y.grad_fn is None


def test_inference_mode_false_inside_inference_mode_records_normally(x):
    with ember.inference_mode():
        with ember.inference_mode(False):
            y = x * 2
        z = x * 2
    assert not y.is_inference() and type(y.grad_fn).__name__ == "MulBackward0"
    assert z.is_inference()
    y.sum().backward()
    assert x.grad.tolist() == [2.0, 2.0, 2.0]


def test_view_of_an_inference_tensor_is_an_inference_tensor(it):
    assert it.view(3).is_inference()
    with ember.inference_mode():
        assert it.view(3, 1).is_inference()


def test_view_of_a_normal_tensor_made_in_inference_mode_is_normal():
    a = ember.ones(4)
    with ember.inference_mode():
        v = a.view(2, 2)
        s = a[:2]
    assert not v.is_inference() and not s.is_inference()


def test_inference_tensors_stay_inference_after_leaving_the_block(it):
    assert it.is_inference()
    assert not ember.is_inference_mode_enabled()


# ----- errors outside inference mode ----------------------------------------------------
def test_requires_grad_on_an_inference_tensor_outside_raises(it):
    with pytest.raises(
        RuntimeError,
        match=exact("Setting requires_grad=True on inference tensor outside InferenceMode is "
                    "not allowed."),
    ):
        it.requires_grad_()


def test_requires_grad_false_on_an_inference_tensor_is_fine(it):
    assert it.requires_grad_(False) is it


def test_requires_grad_on_an_inference_tensor_inside_inference_mode_is_allowed(it):
    with ember.inference_mode():
        it.requires_grad_()
    assert it.requires_grad


@pytest.mark.parametrize(
    "fn", [lambda w, t: w * t, lambda w, t: t * w, lambda w, t: (t * w).sum()],
    ids=["w*it", "it*w", "(it*w).sum()"],
)
def test_inference_tensor_saved_for_backward_raises_in_the_forward(x, it, fn):
    with pytest.raises(RuntimeError, match=exact(SAVED_FOR_BACKWARD)):
        fn(x, it)


def test_ops_that_save_nothing_accept_inference_tensors(x, it):
    (x + it).sum().backward()
    assert x.grad.tolist() == [1.0, 1.0, 1.0]


def test_inference_tensor_under_no_grad_can_be_used_freely(x, it):
    with ember.no_grad():
        assert (x * it).tolist() == [2.0, 8.0, 18.0]


def test_version_of_an_inference_tensor_raises(it):
    with pytest.raises(
        RuntimeError, match=exact("Inference tensors do not track version counter.")
    ):
        _ = it._version


@pytest.mark.parametrize(
    "op",
    [lambda t: t.add_(1), lambda t: t.__iadd__(1), lambda t: t.zero_(),
     lambda t: t.__setitem__(0, 5.0)],
    ids=["add_", "+=", "zero_", "setitem"],
)
def test_inplace_on_an_inference_tensor_outside_raises_and_writes_nothing(it, op):
    with pytest.raises(RuntimeError, match=exact(INPLACE_OUTSIDE)):
        op(it)
    assert it.tolist() == [2.0, 4.0, 6.0]  # PyTorch writes first, then raises


def test_inplace_on_an_inference_tensor_under_no_grad_raises(it):
    with ember.no_grad():
        with pytest.raises(RuntimeError, match=exact(INPLACE_OUTSIDE)):
            it.add_(1)


# ----- what is allowed ------------------------------------------------------------------
def test_inference_tensors_can_be_read_outside(it):
    assert (it * 2).tolist() == [4.0, 8.0, 12.0]
    assert not (it * 2).is_inference()
    assert it.numpy().tolist() == [2.0, 4.0, 6.0]
    assert it.sum().item() == 12.0


def test_detach_of_an_inference_tensor_stays_inference(it):
    d = it.detach()
    assert d.is_inference() and d.data_ptr() == it.data_ptr()


def test_clone_of_an_inference_tensor_is_a_normal_tensor(it, x):
    c = it.clone()
    assert not c.is_inference()
    c.requires_grad_()
    (c * x).sum().backward()
    assert c.grad.tolist() == [1.0, 2.0, 3.0]


def test_inplace_on_inference_tensors_inside_inference_mode(it):
    with ember.inference_mode():
        it.add_(1)
        it[0] = 0.0
    assert it.tolist() == [0.0, 5.0, 7.0]


def test_inplace_on_normal_tensors_inside_inference_mode_keeps_them_normal():
    t = ember.ones(2)
    with ember.inference_mode():
        t.mul_(3)
    assert t.tolist() == [3.0, 3.0] and not t.is_inference()
    assert t._version == 1


def test_inplace_on_a_trainable_leaf_inside_inference_mode_keeps_it_trainable():
    w = ember.tensor([1.0, 2.0], requires_grad=True)
    with ember.inference_mode():
        w.sub_(1)
    assert w.tolist() == [0.0, 1.0]
    assert w.requires_grad and w.is_leaf and not w.is_inference()


def test_backward_inside_inference_mode_on_a_graph_built_outside(x):
    loss = (x * x).sum()
    with ember.inference_mode():
        loss.backward()
    assert x.grad.tolist() == [2.0, 4.0, 6.0]
