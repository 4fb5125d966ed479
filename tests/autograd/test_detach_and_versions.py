"""detach()/detach_(), .data, numpy()/item(), version counters and in-place ops on
tensors the graph needs (reference sections 8, 9, 10, 12; values from PyTorch 2.13).

Tests named `test_inplace_*` use in-place ops (`add_`, `+=`, `zero_`, `x[0] = ...`); they
check the engine's version checks through the public API.
"""

from __future__ import annotations

import re
import warnings

import numpy as np
import pytest

import ember

HINT = (
    " Hint: enable anomaly detection to find the operation that failed to compute its "
    "gradient, with ember.autograd.set_detect_anomaly(True, check_nan=False)."
)
MODIFIED = (
    "one of the variables needed for gradient computation has been modified by an inplace "
    "operation: "
)
LEAF_INPLACE = "a leaf Variable that requires grad is being used in an in-place operation."
NUMPY_REQUIRES_GRAD = (
    "Can't call numpy() on Tensor that requires grad. Use tensor.detach().numpy() instead."
)
DETACH_VIEW = (
    "Can't detach views in-place. Use detach() instead. If you are using "
    "DistributedDataParallel (DDP) for training, and gradient_as_bucket_view is set as True, "
    "gradients are views of DDP buckets, and hence detach_() cannot be called on these "
    "gradients. To fix this error, please refer to the Optimizer.zero_grad() function in "
    "ember/optim/optimizer.py as the solution."
)


def exact(message: str) -> str:
    return "^" + re.escape(message) + "$"


@pytest.fixture
def a():
    return ember.tensor([1.0, 2.0, 3.0], requires_grad=True)


# ----- detach() (section 8) -------------------------------------------------------------
def test_detach_is_a_new_leaf_cut_from_the_graph(a):
    b = a ** 2
    d = b.detach()
    assert d is not b
    assert (d.requires_grad, d.grad_fn, d.is_leaf) == (False, None, True)
    assert d.tolist() == [1.0, 4.0, 9.0]


def test_detach_shares_memory(a):
    b = a ** 2
    assert b.detach().data_ptr() == b.data_ptr()
    assert a.detach().data_ptr() == a.data_ptr()


def test_detach_under_no_grad_does_not_require_grad(a):
    with ember.no_grad():
        assert not a.detach().requires_grad


def test_gradient_stops_at_a_detached_factor(a):
    (a * a.detach()).sum().backward()
    assert a.grad.tolist() == [1.0, 2.0, 3.0]


def test_detached_alias_made_to_require_grad_is_a_new_leaf(a):
    d = a.detach().requires_grad_()
    (d * 2).sum().backward()
    assert d.grad.tolist() == [2.0, 2.0, 2.0]
    assert a.grad is None


def test_inplace_detach_shares_the_version_counter(a):
    d = a.detach()
    d.add_(1)
    assert (a._version, d._version) == (1, 1)


def test_inplace_writes_through_a_detached_alias_show_in_the_original(a):
    d = a.detach()
    d[0] = 100
    d.add_(1)
    assert a.tolist() == [101.0, 3.0, 4.0]
    assert a.requires_grad and a.is_leaf


def test_inplace_write_through_detached_alias_of_saved_tensor_fails_at_backward(a):
    y = (a * a).sum()
    a.detach().zero_()
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.backward()


# ----- detach_() ------------------------------------------------------------------------
def test_detach_underscore_returns_self_and_cuts_it_from_the_graph(a):
    b = a ** 2
    assert type(b.grad_fn).__name__ == "PowBackward0"
    assert b.detach_() is b
    assert (b.grad_fn, b.requires_grad, b.is_leaf) == (None, False, True)


def test_detach_underscore_on_a_trainable_leaf(a):
    a.detach_()
    assert not a.requires_grad and a.is_leaf


def test_graph_recorded_before_detach_underscore_still_works(a):
    b = a ** 2
    c = b * 3
    b.detach_()
    c.sum().backward()
    assert a.grad.tolist() == [6.0, 12.0, 18.0]


def test_ops_after_detach_underscore_are_untracked(a):
    b = a * 2
    b.detach_()
    with pytest.raises(
        RuntimeError,
        match="element 0 of tensors does not require grad and does not have a grad_fn",
    ):
        (b * 2).sum().backward()


def test_detach_underscore_on_a_view_raises(a):
    b = a * 2
    with pytest.raises(RuntimeError, match=exact(DETACH_VIEW)):
        b.view(3).detach_()


# ----- .data ----------------------------------------------------------------------------
def test_data_is_an_untracked_alias(a):
    d = a.data
    assert (d.requires_grad, d.grad_fn, d.is_leaf) == (False, None, True)
    assert d.data_ptr() == a.data_ptr()
    assert d.tolist() == [1.0, 2.0, 3.0]


def test_data_of_a_non_leaf_is_a_leaf(a):
    assert (a * 2).data.is_leaf


def test_assigning_data_replaces_the_values_and_keeps_the_flags(a):
    a.data = ember.tensor([7.0, 8.0, 9.0])
    assert a.tolist() == [7.0, 8.0, 9.0]
    assert a.requires_grad and a.is_leaf


def test_inplace_on_data_is_invisible_to_the_version_check(a):
    # .data has its own version counter: the classic way to make silent wrong gradients.
    y = (a * a).sum()
    a.data.mul_(2)
    y.backward()
    assert a.grad.tolist() == [4.0, 8.0, 12.0]
    assert a._version == 0


# ----- numpy(), item(), tolist() (section 12) -------------------------------------------
def test_numpy_on_a_leaf_that_requires_grad_raises(a):
    with pytest.raises(RuntimeError, match=exact(NUMPY_REQUIRES_GRAD)):
        a.numpy()


def test_numpy_on_a_non_leaf_raises(a):
    with pytest.raises(RuntimeError, match=exact(NUMPY_REQUIRES_GRAD)):
        (a * 2).numpy()


def test_numpy_is_allowed_inside_no_grad(a):
    with ember.no_grad():
        assert a.numpy().tolist() == [1.0, 2.0, 3.0]
        b = a * 2
    b2 = a * 2
    with ember.no_grad():
        assert b2.numpy().tolist() == [2.0, 4.0, 6.0]
    assert b.numpy().tolist() == [2.0, 4.0, 6.0]


def test_np_asarray_on_a_tensor_that_requires_grad_raises_like_numpy(a):
    with pytest.raises(RuntimeError, match=exact(NUMPY_REQUIRES_GRAD)):
        np.asarray(a)


def test_detach_numpy_shares_memory(a):
    arr = a.detach().numpy()
    arr[0] = 50.0
    assert a.tolist() == [50.0, 2.0, 3.0]


def test_numpy_of_a_plain_tensor_is_the_same_memory():
    t = ember.tensor([1.0, 2.0])
    t.numpy()[1] = 9.0
    assert t.tolist() == [1.0, 9.0]


def test_item_works_on_tensors_that_require_grad(a):
    value = a.sum().item()
    assert value == 6.0 and type(value) is float


def test_item_of_many_elements_raises():
    with pytest.raises(
        RuntimeError, match=exact("a Tensor with 2 elements cannot be converted to Scalar")
    ):
        ember.tensor([1.0, 2.0]).item()


def test_tolist_works_on_tensors_that_require_grad(a):
    assert a.tolist() == [1.0, 2.0, 3.0]


# ----- version counter (section 9) ------------------------------------------------------
def test_out_of_place_ops_do_not_bump_the_version(a):
    a * 2
    a.sum()
    a.detach()
    assert a._version == 0


def test_inplace_each_inplace_op_bumps_the_version():
    t = ember.zeros(3)
    versions = [t._version]
    t.add_(1)
    versions.append(t._version)
    t[0] = 3
    versions.append(t._version)
    with ember.no_grad():
        t.mul_(2)
    versions.append(t._version)
    assert versions == [0, 1, 2, 3]


def test_inplace_views_share_the_version_counter():
    t = ember.zeros(2, 2)
    v = t.view(4)
    v.add_(1)
    assert (t._version, v._version) == (1, 1)


def test_inplace_modified_saved_non_leaf_raises_at_backward_not_at_the_op(a):
    b = a * 2
    c = b * b
    b.add_(1)  # no error here
    msg = (MODIFIED + "[ember.FloatTensor [3]], which is output 0 of Add, is at version 1; "
           "expected version 0 instead." + HINT)
    with pytest.raises(RuntimeError, match=exact(msg)):
        c.sum().backward()


def test_inplace_modified_saved_leaf_message_has_no_op_name(a):
    y = (a * a).sum()
    with ember.no_grad():
        a.mul_(2)
    msg = MODIFIED + "[ember.FloatTensor [3]] is at version 1; expected version 0 instead." + HINT
    with pytest.raises(RuntimeError, match=exact(msg)):
        y.backward()


def test_inplace_optimizer_step_before_backward_of_a_second_loss():
    x = ember.ones(2, 3, requires_grad=True)
    w = ember.ones(3, 2, requires_grad=True)
    y = x @ w  # saves w because x requires grad
    with ember.no_grad():
        w.mul_(2)
        w.add_(1)
    msg = (MODIFIED + "[ember.FloatTensor [3, 2]] is at version 2; expected version 0 instead."
           + HINT)
    with pytest.raises(RuntimeError, match=exact(msg)):
        y.sum().backward()


def test_inplace_step_between_two_backward_calls_of_one_graph():
    # The two-loss pattern: backward(retain_graph=True), optimizer step, second backward.
    x = ember.ones(4, 3, requires_grad=True)
    w = ember.ones(3, 1, requires_grad=True)
    h = x @ w
    loss1, loss2 = h.sum(), (h * 2).sum()
    loss1.backward(retain_graph=True)
    with ember.no_grad():
        w -= 0.1 * w.grad
    with pytest.raises(
        RuntimeError,
        match=re.escape("[ember.FloatTensor [3, 1]] is at version 1; expected version 0"),
    ):
        loss2.backward()


def test_inplace_modified_saved_output_names_the_op_that_saved_it(a):
    b = a.exp()  # exp saves its result
    b.add_(1)
    msg = (MODIFIED + "[ember.FloatTensor [3]], which is output 0 of Exp, is at version 1; "
           "expected version 0 instead." + HINT)
    with pytest.raises(RuntimeError, match=exact(msg)):
        b.sum().backward()


def test_inplace_version_error_names_dtype_shape_and_both_versions():
    x = ember.ones(2, 3, dtype=ember.float64, requires_grad=True)
    b = x * 2
    y = b * b
    b.add_(1)
    b.add_(1)
    msg = (MODIFIED + "[ember.DoubleTensor [2, 3]], which is output 0 of Add, is at version 2; "
           "expected version 0 instead." + HINT)
    with pytest.raises(RuntimeError, match=exact(msg)):
        y.sum().backward()


def test_inplace_op_name_keeps_a_nonzero_overload_number(a):
    b = a * 2
    c = b * b
    b.clamp_(0, 1)
    with pytest.raises(RuntimeError, match="which is output 0 of Clamp1, is at version 1"):
        c.sum().backward()


def test_inplace_on_a_tensor_that_was_not_saved_is_fine(a):
    b = a * 2
    c = b + 1  # add saves nothing
    b.add_(1)
    c.sum().backward()
    assert a.grad.tolist() == [2.0, 2.0, 2.0]


def test_inplace_on_a_non_leaf_is_recorded_in_the_graph():
    w = ember.tensor([1.0, 2.0], requires_grad=True)
    b = w * 2
    b += w
    assert type(b.grad_fn).__name__ == "AddBackward0"
    b.sum().backward()
    assert w.grad.tolist() == [3.0, 3.0]


# ----- in-place on leaves (section 10) --------------------------------------------------
@pytest.mark.parametrize(
    "op",
    [lambda w: w.add_(1), lambda w: w.__iadd__(1), lambda w: w.__isub__(0.1),
     lambda w: w.zero_()],
    ids=["add_", "+=", "-=", "zero_"],
)
def test_inplace_on_a_trainable_leaf_raises(op):
    w = ember.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match=exact(LEAF_INPLACE)):
        op(w)
    assert w.tolist() == [1.0, 2.0]


def test_inplace_augmented_assignment_on_a_trainable_leaf_raises():
    w = ember.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match=exact(LEAF_INPLACE)):
        w -= 0.1
    assert w.is_leaf


def test_inplace_setitem_on_a_trainable_leaf_raises():
    w = ember.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(
        RuntimeError,
        match=exact("a view of a leaf Variable that requires grad is being used in an "
                    "in-place operation."),
    ):
        w[0] = 2.0


@pytest.mark.parametrize("mode", [ember.no_grad, ember.inference_mode],
                         ids=["no_grad", "inference"])
def test_inplace_sgd_step_under_a_no_grad_mode_keeps_a_trainable_leaf(mode):
    w = ember.tensor([1.0, 2.0], requires_grad=True)
    (w * w).sum().backward()
    with mode():
        w -= 0.1 * w.grad
    assert w.tolist() == pytest.approx([0.8, 1.6])
    assert (w.requires_grad, w.is_leaf, w.grad_fn) == (True, True, None)
    assert w._version == 1
    assert not w.is_inference()


def test_out_of_place_update_makes_a_non_leaf():
    w = ember.tensor([1.0, 2.0], requires_grad=True)
    (w * w).sum().backward()
    w = w - 0.1 * w.grad
    assert type(w.grad_fn).__name__ == "SubBackward0" and not w.is_leaf
    (w * w).sum().backward()
    with pytest.warns(UserWarning, match="not a leaf Tensor"):
        assert w.grad is None


def test_inplace_on_a_leaf_without_requires_grad_is_fine():
    t = ember.tensor([1.0, 2.0])
    t.add_(1)
    assert t.tolist() == [2.0, 3.0] and t.is_leaf


def test_inplace_add_of_a_tensor_that_requires_grad_makes_a_non_leaf():
    t = ember.tensor([1.0, 2.0])
    a = ember.tensor([1.0, 1.0], requires_grad=True)
    t += a
    assert t.requires_grad and not t.is_leaf
    assert type(t.grad_fn).__name__ == "AddBackward0"
    t.sum().backward()
    assert a.grad.tolist() == [1.0, 1.0]


def test_inplace_grad_zero_keeps_the_same_tensor():
    x = ember.tensor([1.0, 2.0], requires_grad=True)
    (x * x).sum().backward()
    g = x.grad
    x.grad.zero_()
    (x * x).sum().backward()
    assert x.grad is g
    assert x.grad.tolist() == [2.0, 4.0]


def test_no_warning_for_reading_grad_of_a_leaf():
    x = ember.tensor([1.0], requires_grad=True)
    (x * 2).sum().backward()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert x.grad.tolist() == [2.0]
