"""In-place ops: same memory, version bumps, leaf and inference rules, graph recording
(incl. views and __setitem__), dtype rules and the random fills."""

import numpy as np
import pytest

import ember
from tests.helpers import grad_fn_name

LEAF = "a leaf Variable that requires grad is being used in an in-place operation."
VIEW_OF_LEAF = "a view of a leaf Variable that requires grad"
INFERENCE = "Inplace update to inference tensor outside InferenceMode is not allowed"

# (name, ember/torch call on a tensor t); values compared with torch, untracked.
OPS = [
    ("add_", lambda lib, t: t.add_(lib.tensor([1.0, 2.0, 3.0]))),
    ("add_alpha", lambda lib, t: t.add_(lib.tensor([1.0, 2.0, 3.0]), alpha=2)),
    ("sub_", lambda lib, t: t.sub_(0.5)),
    ("sub_alpha", lambda lib, t: t.sub_(lib.tensor([1.0, 2.0, 3.0]), alpha=0.5)),
    ("mul_", lambda lib, t: t.mul_(lib.tensor([2.0, -1.0, 0.5]))),
    ("div_", lambda lib, t: t.div_(4.0)),
    ("div_floor", lambda lib, t: t.div_(0.3, rounding_mode="floor")),
    ("div_trunc", lambda lib, t: t.div_(-0.3, rounding_mode="trunc")),
    ("pow_", lambda lib, t: t.pow_(2)),
    ("neg_", lambda lib, t: t.neg_()),
    ("exp_", lambda lib, t: t.exp_()),
    ("log_", lambda lib, t: t.abs_().log_()),
    ("sqrt_", lambda lib, t: t.abs_().sqrt_()),
    ("abs_", lambda lib, t: t.abs_()),
    ("tanh_", lambda lib, t: t.tanh_()),
    ("sigmoid_", lambda lib, t: t.sigmoid_()),
    ("relu_", lambda lib, t: t.relu_()),
    ("clamp_", lambda lib, t: t.clamp_(-0.5, 0.5)),
    ("clamp_tensor", lambda lib, t: t.clamp_(lib.tensor([0.0, -1.0, 0.0]), lib.tensor(1.0))),
    ("clamp_min_", lambda lib, t: t.clamp_min_(0.0)),
    ("zero_", lambda lib, t: t.zero_()),
    ("fill_", lambda lib, t: t.fill_(7.5)),
    ("fill_tensor", lambda lib, t: t.fill_(lib.tensor(2.0))),
    ("copy_", lambda lib, t: t.copy_(lib.tensor([4.0, 5.0, 6.0]))),
    ("copy_broadcast", lambda lib, t: t.copy_(lib.tensor([4.0]))),
    ("masked_fill_", lambda lib, t: t.masked_fill_(lib.tensor([True, False, True]), -1.0)),
    ("iadd", lambda lib, t: t.__iadd__(2.0)),
    ("isub", lambda lib, t: t.__isub__(lib.tensor([1.0, 1.0, 1.0]))),
    ("imul", lambda lib, t: t.__imul__(3.0)),
    ("itruediv", lambda lib, t: t.__itruediv__(2.0)),
    ("ipow", lambda lib, t: t.__ipow__(3)),
]
VALUES = [0.25, -1.5, 2.0]


def _torch():
    return pytest.importorskip("torch")


# ----- memory and versions --------------------------------------------------------------
@pytest.mark.parametrize("name,op", OPS, ids=[n for n, _ in OPS])
def test_inplace_values_match_torch(name, op):
    torch = _torch()
    e, t = ember.tensor(VALUES), torch.tensor(VALUES)
    op(ember, e)
    op(torch, t)
    np.testing.assert_allclose(e.numpy(), t.numpy(), rtol=1e-6)


@pytest.mark.parametrize("name,op", OPS, ids=[n for n, _ in OPS])
def test_inplace_keeps_memory_and_returns_self(name, op):
    t = ember.tensor(VALUES)
    ptr = t.data_ptr()
    assert op(ember, t) is t
    assert t.data_ptr() == ptr


@pytest.mark.parametrize("name,op", OPS, ids=[n for n, _ in OPS])
def test_inplace_bumps_version(name, op):
    t = ember.tensor(VALUES)
    before = t._version
    op(ember, t)
    assert t._version > before


def test_augmented_assignment_keeps_the_same_object():
    t = ember.ones(3)
    alias = t
    t += 1
    t *= 3
    assert t is alias
    assert t.tolist() == [6.0, 6.0, 6.0]


def test_view_sees_inplace_change():
    t = ember.zeros(2, 3)
    row = t[1]
    t.add_(1)
    row.mul_(5)
    assert t.tolist() == [[1.0, 1.0, 1.0], [5.0, 5.0, 5.0]]


def test_version_counter_is_shared_with_views_and_detached_aliases():
    t = ember.zeros(3)
    view, alias = t[1:], t.detach()
    view.add_(1)
    alias.zero_()
    assert t._version == view._version == alias._version == 2


def test_versions_count_each_inplace_op_also_under_no_grad():
    t = ember.zeros(3)
    seen = [t._version]
    t.add_(1)
    seen.append(t._version)
    t[0] = 3.0
    seen.append(t._version)
    with ember.no_grad():
        t.mul_(2)
    seen.append(t._version)
    assert seen == [0, 1, 2, 3]


def test_out_of_place_op_does_not_bump_version():
    t = ember.zeros(3)
    t + 1
    assert t._version == 0


# ----- leaves -----------------------------------------------------------------------------
@pytest.mark.parametrize("op", [
    lambda w: w.add_(1), lambda w: w.__iadd__(1), lambda w: w.__isub__(0.1),
    lambda w: w.zero_(), lambda w: w.mul_(2), lambda w: w.uniform_(),
    lambda w: w.copy_(ember.ones(2)), lambda w: w.masked_fill_(ember.tensor([True, False]), 0),
])
def test_inplace_on_leaf_requiring_grad_raises(op):
    w = ember.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match=LEAF):
        op(w)
    assert w.tolist() == [1.0, 1.0] and w._version == 0


def test_setitem_on_leaf_requiring_grad_raises_view_message():
    w = ember.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match=VIEW_OF_LEAF):
        w[0] = 2.0


def test_inplace_on_view_of_leaf_requiring_grad_raises():
    w = ember.ones(4, requires_grad=True)
    with pytest.raises(RuntimeError, match=VIEW_OF_LEAF):
        w[:2].add_(1)


def test_manual_sgd_under_no_grad_keeps_a_trainable_leaf():
    w = ember.tensor([1.0, 2.0], requires_grad=True)
    (w * w).sum().backward()
    with ember.no_grad():
        w -= 0.1 * w.grad
    assert w.tolist() == pytest.approx([0.8, 1.6])
    assert w.requires_grad and w.is_leaf and w.grad_fn is None
    assert w._version == 1


def test_inplace_on_leaf_allowed_in_inference_mode():
    w = ember.ones(2, requires_grad=True)
    with ember.inference_mode():
        w.mul_(3)
    assert w.tolist() == [3.0, 3.0]
    assert w.requires_grad and w.is_leaf


def test_inplace_on_leaf_without_grad_is_fine():
    t = ember.ones(2)
    t.add_(1)
    assert t.is_leaf and not t.requires_grad


def test_iadd_of_grad_operand_makes_a_non_leaf():
    t = ember.zeros(2)
    a = ember.ones(2, requires_grad=True)
    t += a
    assert t.requires_grad and not t.is_leaf
    assert grad_fn_name(t) == "AddBackward0"
    (t * 3).sum().backward()
    assert a.grad.tolist() == [3.0, 3.0]


# ----- inference tensors ------------------------------------------------------------------
@pytest.mark.parametrize("op", [
    lambda t: t.add_(1), lambda t: t.__iadd__(1), lambda t: t.zero_(),
    lambda t: t.__setitem__(0, 5.0), lambda t: t.normal_(),
])
@pytest.mark.parametrize("no_grad", [False, True])
def test_inplace_on_inference_tensor_outside_inference_mode_raises_before_writing(op, no_grad):
    with ember.inference_mode():
        it = ember.ones(3)
    if no_grad:
        with ember.no_grad(), pytest.raises(RuntimeError, match=INFERENCE):
            op(it)
    else:
        with pytest.raises(RuntimeError, match=INFERENCE):
            op(it)
    assert it.tolist() == [1.0, 1.0, 1.0]


def test_inplace_on_inference_tensor_inside_inference_mode_is_allowed():
    with ember.inference_mode():
        it = ember.ones(2)
        it.add_(1)
        it[0] = 5.0
    assert it.tolist() == [5.0, 2.0]


# ----- recording on non-leaves -------------------------------------------------------------
def test_iadd_on_non_leaf_is_recorded():
    w = ember.tensor([1.0, 2.0], requires_grad=True)
    b = w * 2
    b += w
    assert grad_fn_name(b) == "AddBackward0"
    b.sum().backward()
    assert w.grad.tolist() == [3.0, 3.0]


def test_iadd_of_itself_is_recorded():
    w = ember.tensor([1.0, 2.0], requires_grad=True)
    b = w * 2
    b += b
    b.sum().backward()
    assert w.grad.tolist() == [4.0, 4.0]


# (op on b = w * 1.5 with x requiring grad too); gradients of w and x checked against torch.
TRACKED = [
    lambda lib, b, x: b.add_(x, alpha=2),
    lambda lib, b, x: b.sub_(x),
    lambda lib, b, x: b.mul_(x),
    lambda lib, b, x: b.div_(x),
    lambda lib, b, x: b.pow_(2),
    lambda lib, b, x: b.abs_().pow_(x),
    lambda lib, b, x: b.neg_(),
    lambda lib, b, x: b.exp_(),
    lambda lib, b, x: b.abs_().log_(),
    lambda lib, b, x: b.abs_().sqrt_(),
    lambda lib, b, x: b.tanh_(),
    lambda lib, b, x: b.sigmoid_(),
    lambda lib, b, x: b.relu_(),
    lambda lib, b, x: b.clamp_(-0.5, 1.0),
    lambda lib, b, x: b.clamp_min_(0.2),
    lambda lib, b, x: b.zero_(),
    lambda lib, b, x: b.fill_(2.0),
    lambda lib, b, x: b.fill_(x.sum()),
    lambda lib, b, x: b.copy_(x),
    lambda lib, b, x: b.masked_fill_(x > 0, 0.0),
    lambda lib, b, x: b.masked_fill_(x > 0, x.sum()),
    lambda lib, b, x: b.__imul__(x).__iadd__(b * 0 + 1),
    lambda lib, b, x: b.div_(x, rounding_mode="floor"),
]


@pytest.mark.parametrize("op", TRACKED)
def test_recorded_inplace_gradients_match_torch(op):
    torch = _torch()
    w0 = np.array([0.3, -1.2, 2.0, 0.7], dtype=np.float32)
    x0 = np.array([1.5, -0.5, 0.8, 2.0], dtype=np.float32)
    probe = np.array([1.0, -2.0, 0.5, 3.0], dtype=np.float32)
    grads = []
    for lib in (ember, torch):
        w = lib.tensor(w0, requires_grad=True)
        x = lib.tensor(x0, requires_grad=True)
        b = w * 1.5
        out = op(lib, b, x)
        assert out is b
        (b * lib.tensor(probe)).sum().backward()
        grads.append([None if t.grad is None else t.grad.numpy().copy() for t in (w, x)])
        grads.append(type(b.grad_fn).__name__)
    (e_grads, e_name, t_grads, t_name) = grads
    for e, t in zip(e_grads, t_grads):
        if t is None:
            assert e is None or not np.any(e)
        else:
            np.testing.assert_allclose(e, t, rtol=1e-5, atol=1e-6)
    if t_name not in ("ClampMinBackward0", "DivBackward1"):
        assert e_name == t_name


def test_exp_inplace_double_backward_matches_torch():
    torch = _torch()
    out = []
    for lib in (ember, torch):
        w = lib.tensor([0.5, -1.0], requires_grad=True)
        b = w * 2
        b.exp_()
        (g,) = lib.autograd.grad(b.sum(), w, create_graph=True)
        (gg,) = lib.autograd.grad(g.sum(), w)
        out.append(gg.numpy().copy())
    np.testing.assert_allclose(out[0], out[1], rtol=1e-5)


# ----- saved tensors and versions ---------------------------------------------------------
def test_modifying_a_saved_tensor_raises_at_backward():
    a = ember.tensor([1.0, 2.0, 3.0], requires_grad=True)
    b = a * 2
    c = b * b
    b.add_(1)  # no error here
    with pytest.raises(RuntimeError, match=(
            r"modified by an inplace operation: \[ember.FloatTensor \[3\]\], which is output 0 "
            r"of Add, is at version 1; expected version 0 instead")):
        c.sum().backward()


def test_modifying_a_tensor_that_was_not_saved_is_fine():
    a = ember.tensor([1.0, 2.0, 3.0], requires_grad=True)
    b = a * 2
    c = b + 1
    b.add_(1)
    c.sum().backward()
    assert a.grad.tolist() == [2.0, 2.0, 2.0]


def test_modifying_a_saved_leaf_under_no_grad_raises_at_backward():
    w = ember.tensor([1.0, 2.0], requires_grad=True)
    y = (w * w).sum()
    with ember.no_grad():
        w.sub_(0.1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.backward()


def test_writing_through_a_detached_alias_is_caught():
    a = ember.tensor([1.0, 2.0], requires_grad=True)
    y = (a * a).sum()
    a.detach().zero_()
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.backward()


def test_saved_output_of_inplace_op_modified_again_raises():
    w = ember.tensor([1.0, 2.0], requires_grad=True)
    b = w * 1
    b.exp_()
    b.add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        b.sum().backward()


def test_mul_by_itself_inplace_raises_at_backward_like_torch():
    w = ember.tensor([1.0, 2.0], requires_grad=True)
    b = w * 2
    b.mul_(b)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        b.sum().backward()


# ----- dtype and shape rules --------------------------------------------------------------
@pytest.mark.parametrize("op,message", [
    (lambda: ember.zeros(3, dtype=ember.int64).add_(1.5), "result type Float can't be cast "
     "to the desired output type Long"),
    (lambda: ember.zeros(3, dtype=ember.int64).div_(2), "result type Float can't be cast to "
     "the desired output type Long"),
    (lambda: ember.zeros(3, dtype=ember.int64).mul_(ember.tensor(2.0)), "result type Float"),
    (lambda: ember.zeros(3, dtype=ember.int64).exp_(), "result type Float"),
    (lambda: ember.zeros(3, dtype=ember.bool).add_(1), "result type Long can't be cast to the "
     "desired output type Bool"),
    (lambda: ember.zeros(3, dtype=ember.int64).clamp_(0.5, 2.5), "result type Float"),
])
def test_inplace_result_that_cannot_be_cast_raises(op, message):
    with pytest.raises(RuntimeError, match=message):
        op()


def test_failed_cast_leaves_the_tensor_unchanged():
    t = ember.tensor([1, 2])
    with pytest.raises(RuntimeError):
        t.add_(0.5)
    assert t.tolist() == [1, 2] and t._version == 0


def test_float_tensor_accepts_int_and_float64_operands():
    t = ember.ones(2)
    t.add_(ember.tensor([1, 2]))
    t.mul_(ember.tensor([2.0, 2.0], dtype=ember.float64))
    assert t.dtype is ember.float32 and t.tolist() == [4.0, 6.0]


def test_int_tensor_accepts_int_operand():
    t = ember.tensor([1, 2])
    t.mul_(3)
    assert t.dtype is ember.int64 and t.tolist() == [3, 6]


def test_float_alpha_on_int_tensor_raises():
    with pytest.raises(RuntimeError, match="alpha must not be a floating point"):
        ember.tensor([1, 2]).add_(ember.tensor([1, 1]), alpha=2.5)


def test_operand_that_would_grow_the_tensor_raises():
    with pytest.raises(RuntimeError, match=r"output with shape \[3\] doesn't match the "
                       r"broadcast shape \[2, 3\]"):
        ember.zeros(3).add_(ember.zeros(2, 3))


def test_operand_of_wrong_size_raises():
    with pytest.raises(RuntimeError, match=r"The size of tensor a \(3\) must match the size of "
                       r"tensor b \(2\) at non-singleton dimension 0"):
        ember.zeros(3).mul_(ember.zeros(2))


def test_inplace_on_expanded_view_raises():
    with pytest.raises(RuntimeError, match="more than one element of the written-to tensor"):
        ember.zeros(1).expand(3).add_(1)


def test_copy_casts_to_the_destination_dtype():
    t = ember.zeros(3, dtype=ember.int64)
    t.copy_(ember.tensor([1.5, 2.0, 3.9]))
    assert t.dtype is ember.int64 and t.tolist() == [1, 2, 3]


def test_fill_rejects_non_scalar_tensor():
    with pytest.raises(RuntimeError, match="fill_ only supports 0-dimension value tensor"):
        ember.zeros(3).fill_(ember.zeros(2))


def test_masked_fill_rejects_non_bool_mask():
    with pytest.raises(RuntimeError, match="only supports boolean masks"):
        ember.zeros(3).masked_fill_(ember.tensor([1, 0, 1]), 1.0)


def test_neg_of_bool_raises():
    with pytest.raises(RuntimeError, match="on a bool tensor is not supported"):
        ember.tensor([True]).neg_()


# ----- random fills -----------------------------------------------------------------------
def test_uniform_uses_the_global_generator():
    ember.manual_seed(3)
    first = ember.empty(5).uniform_(2.0, 4.0).tolist()
    ember.manual_seed(3)
    second = ember.empty(5).uniform_(2.0, 4.0).tolist()
    assert first == second
    assert all(2.0 <= v < 4.0 for v in first)


def test_normal_has_the_requested_moments():
    ember.manual_seed(0)
    t = ember.empty(20000).normal_(3.0, 0.5)
    assert abs(t.mean().item() - 3.0) < 0.02
    assert abs(t.numpy().std() - 0.5) < 0.02


def test_normal_fills_non_contiguous_views():
    t = ember.zeros(4, 4)
    t.t().normal_()
    assert np.all(t.numpy() != 0)


def test_bernoulli_gives_zeros_and_ones_at_rate_p():
    ember.manual_seed(0)
    t = ember.empty(10000).bernoulli_(0.3)
    assert set(np.unique(t.numpy())) <= {0.0, 1.0}
    assert abs(t.mean().item() - 0.3) < 0.02


def test_random_fill_of_int_tensor_raises():
    with pytest.raises(NotImplementedError, match="not implemented for 'Long'"):
        ember.zeros(3, dtype=ember.int64).uniform_()


# ----- __setitem__ ------------------------------------------------------------------------
SETITEM = [
    ("int", lambda lib, t: t.__setitem__(1, 9.0)),
    ("negative_int", lambda lib, t: t.__setitem__(-1, 9.0)),
    ("slice", lambda lib, t: t.__setitem__(slice(0, 2), 9.0)),
    ("tuple", lambda lib, t: t.__setitem__((1, slice(None, None, 2)), 9.0)),
    ("row_tensor", lambda lib, t: t.__setitem__(0, lib.tensor([1.0, 2.0, 3.0]))),
    ("broadcast_tensor", lambda lib, t: t.__setitem__(slice(None), lib.tensor([1.0, 2.0, 3.0]))),
    ("mask", lambda lib, t: t.__setitem__(t > 2, 0.0)),
    ("mask_tensor_value", lambda lib, t: t.__setitem__(t > 2, lib.tensor(-1.0))),
    ("int_array", lambda lib, t: t.__setitem__(lib.tensor([1, 0]), lib.tensor([7.0, 8.0, 9.0]))),
    ("list", lambda lib, t: t.__setitem__([0], 4.0)),
    ("ellipsis", lambda lib, t: t.__setitem__((Ellipsis, 0), 5.0)),
    ("array_pair", lambda lib, t: t.__setitem__((lib.tensor([0, 1]), lib.tensor([2, 0])), 6.0)),
]


@pytest.mark.parametrize("name,op", SETITEM, ids=[n for n, _ in SETITEM])
def test_setitem_matches_torch(name, op):
    torch = _torch()
    data = np.arange(6, dtype=np.float32).reshape(2, 3)
    e, t = ember.tensor(data), torch.tensor(data)
    ptr = e.data_ptr()
    op(ember, e)
    op(torch, t)
    np.testing.assert_array_equal(e.numpy(), t.numpy())
    assert e.data_ptr() == ptr and e._version == 1


def test_setitem_float_into_int_truncates():
    t = ember.zeros(3, dtype=ember.int64)
    t[0] = 2.7
    assert t.tolist() == [2, 0, 0]


def test_setitem_shape_mismatch_raises():
    with pytest.raises(RuntimeError, match="shape mismatch"):
        ember.zeros(2, 3)[0] = ember.ones(2)


@pytest.mark.parametrize("name,op", SETITEM, ids=[n for n, _ in SETITEM])
def test_recorded_setitem_gradients_match_torch(name, op):
    torch = _torch()
    data = np.linspace(-1, 2, 6, dtype=np.float32).reshape(2, 3)
    probe = np.array([[1.0, -2.0, 0.5], [3.0, 0.25, -1.0]], dtype=np.float32)
    results = []
    for lib in (ember, torch):
        w = lib.tensor(data, requires_grad=True)
        b = w * 2
        op(lib, b)
        (b * lib.tensor(probe)).sum().backward()
        results.append((w.grad.numpy().copy(), type(b.grad_fn).__name__))
    np.testing.assert_allclose(results[0][0], results[1][0], rtol=1e-6)
    assert results[0][1] == results[1][1]


def test_setitem_sends_gradient_to_the_value():
    t = ember.zeros(2, 3)
    v = ember.tensor([1.0, 2.0, 3.0], requires_grad=True)
    t[1] = v
    assert grad_fn_name(t) == "CopySlices" and t.requires_grad
    (t * ember.tensor([[1.0, 1.0, 1.0], [2.0, 3.0, 4.0]])).sum().backward()
    assert v.grad.tolist() == [2.0, 3.0, 4.0]


def test_setitem_broadcast_value_gets_summed_gradient():
    t = ember.zeros(2, 3)
    v = ember.tensor(2.0, requires_grad=True)
    t[:, 1:] = v
    t.sum().backward()
    assert v.grad.item() == 4.0


def test_setitem_with_mask_uses_index_put_node():
    w = ember.ones(3, requires_grad=True)
    b = w * 1
    b[ember.tensor([True, False, True])] = 0.0
    assert grad_fn_name(b) == "IndexPutBackward0"
    b.sum().backward()
    assert w.grad.tolist() == [0.0, 1.0, 0.0]


def test_setitem_value_gradient_double_backward_matches_torch():
    torch = _torch()
    out = []
    for lib in (ember, torch):
        v = lib.tensor([0.5, -1.0], requires_grad=True)
        t = lib.zeros(2, 2)
        t[0] = v * v
        (g,) = lib.autograd.grad((t * t).sum(), v, create_graph=True)
        (gg,) = lib.autograd.grad(g.sum(), v)
        out.append((g.detach().numpy().copy(), gg.numpy().copy()))
    for e, t in zip(*out):
        np.testing.assert_allclose(e, t, rtol=1e-6)


# ----- views of tensors that require grad ---------------------------------------------------
def test_inplace_on_view_rebases_the_base():
    w = ember.tensor([1.0, 2.0], requires_grad=True)
    b = w * 2
    v = b[:1]
    v.mul_(3)
    assert grad_fn_name(b) == "CopySlices"
    assert grad_fn_name(v) == "AsStridedBackward0"
    assert b.tolist() == [6.0, 4.0]
    b.sum().backward()
    assert w.grad.tolist() == [6.0, 2.0]


def test_gradient_through_the_modified_view():
    w = ember.tensor([1.0, 2.0], requires_grad=True)
    b = w * 2
    v = b[:1]
    v.mul_(3)
    (v * 10).sum().backward()
    assert w.grad.tolist() == [60.0, 0.0]


def test_view_taken_before_base_changed_reads_the_new_graph():
    w = ember.tensor([1.0, 2.0], requires_grad=True)
    b = w * 2
    v = b[0]
    b.mul_(3)
    v.backward()
    assert w.grad.tolist() == [6.0, 0.0]


def test_view_taken_after_base_changed_keeps_its_own_node():
    w = ember.tensor([1.0, 2.0], requires_grad=True)
    b = w * 2
    b.mul_(3)
    v = b[0]
    name = grad_fn_name(v)
    v.backward()
    assert grad_fn_name(v) == name
    assert w.grad.tolist() == [6.0, 0.0]


@pytest.mark.parametrize("case", ["transpose", "column", "nested", "setitem_on_view"])
def test_views_of_2d_tensors_match_torch(case):
    torch = _torch()
    data = np.arange(12, dtype=np.float32).reshape(3, 4) / 4
    probe = np.linspace(-1, 1, 12, dtype=np.float32).reshape(3, 4)
    grads = []
    for lib in (ember, torch):
        w = lib.tensor(data, requires_grad=True)
        x = lib.tensor(data[0], requires_grad=True)
        b = w * 1
        if case == "transpose":
            b.t().mul_(lib.tensor([1.0, 2.0, 3.0]))
        elif case == "column":
            b[:, 1].add_(x[:3] * x[:3])
        elif case == "nested":
            inner = b[1:][:, ::2]
            inner.exp_()
            (inner * 2).sum().backward(retain_graph=True)
        else:
            b[1][1:3] = x[:2]
        (b * lib.tensor(probe)).sum().backward()
        grads.append([t.grad.numpy().copy() if t.grad is not None else None for t in (w, x)])
    for e, t in zip(*grads):
        if t is None:
            assert e is None
        else:
            np.testing.assert_allclose(e, t, rtol=1e-5, atol=1e-6)


def test_view_made_under_no_grad_cannot_be_modified_with_grad_on():
    w = ember.ones(2, requires_grad=True)
    b = w * 2
    with ember.no_grad():
        v = b[:1]
    with pytest.raises(RuntimeError, match="A view was created in no_grad mode"):
        v.add_(1)


def test_inplace_on_view_under_no_grad_is_not_recorded():
    w = ember.ones(2, requires_grad=True)
    b = w * 2
    node = b.grad_fn
    with ember.no_grad():
        b[:1].add_(1)
    assert b.grad_fn is node and b.tolist() == [3.0, 2.0]


def test_retain_grad_follows_the_inplace_op():
    w = ember.ones(2, requires_grad=True)
    b = w * 2
    b.retain_grad()
    b.mul_(3)
    b.sum().backward()
    assert b.grad.tolist() == [1.0, 1.0]


def test_chain_of_inplace_writes_matches_torch():
    torch = _torch()
    rng = np.random.default_rng(0)
    w0 = rng.standard_normal((4, 4)).astype(np.float32)
    x0 = rng.standard_normal((3, 4)).astype(np.float32)
    results = []
    for lib in (ember, torch):
        w, x = lib.tensor(w0, requires_grad=True), lib.tensor(x0, requires_grad=True)
        h = (x @ w).relu() * 1
        h += x
        h[:, 0] = 0
        h.view(-1)[::5].mul_(3)
        h.t()[1].mul_(x[:, 1])
        h.t()[2].add_(x[:, 0])
        (h * h).sum().backward()
        results.append([t.detach().numpy().copy() for t in (h, w.grad, x.grad)])
    for e, t in zip(*results):
        np.testing.assert_allclose(e, t, rtol=1e-5, atol=1e-5)
