"""The backward engine and the graph it walks: propagation of requires_grad, grad_fn and
next_functions, backward() and autograd.grad() semantics and errors, .grad, retain_grad
and hooks. Values and messages follow PyTorch 2.13 (reference sections 0, 11, 13, 18).
"""

from __future__ import annotations

import re
import warnings

import pytest

import ember
from ember.autograd import grad as autograd_grad

NO_GRAD_FN = "element 0 of tensors does not require grad and does not have a grad_fn"
SCALAR_OUTPUTS = "grad can be implicitly created only for scalar outputs"
SECOND_TIME = (
    "Trying to backward through the graph a second time (or directly access saved tensors "
    "after they have already been freed). Saved intermediate values of the graph are freed "
    "when you call .backward() or autograd.grad(). Specify retain_graph=True if you need to "
    "backward through the graph a second time or if you need to access saved tensors after "
    "calling backward."
)
LEAF_FLAGS = (
    "you can only change requires_grad flags of leaf variables. If you want to use a computed "
    "variable in a subgraph that doesn't require differentiation use var_no_grad = var.detach()."
)
NOT_LEAF_GRAD = (
    "The .grad attribute of a Tensor that is not a leaf Tensor is being accessed. Its .grad "
    "attribute won't be populated during autograd.backward(). If you indeed want the .grad "
    "field to be populated for a non-leaf Tensor, use .retain_grad() on the non-leaf Tensor. "
    "If you access the non-leaf Tensor by mistake, make sure you access the leaf Tensor "
    "instead. See github.com/pytorch/pytorch/pull/30531 for more information."
)


def exact(message: str) -> str:
    return "^" + re.escape(message) + "$"


def name(t) -> str | None:
    return None if t.grad_fn is None else type(t.grad_fn).__name__


@pytest.fixture
def a():
    return ember.tensor([1.0, 2.0, 3.0], requires_grad=True)


# ----- propagation of requires_grad (section 13) ----------------------------------------
def test_result_requires_grad_when_any_input_does(a):
    b = ember.tensor([1.0, 1.0, 1.0])
    y = a * b
    assert y.requires_grad and not y.is_leaf and name(y) == "MulBackward0"


def test_result_of_inputs_without_requires_grad_is_a_leaf():
    y = ember.ones(2) * ember.ones(2)
    assert (y.requires_grad, y.grad_fn, y.is_leaf) == (False, None, True)


def test_leaf_that_requires_grad_is_a_leaf_without_grad_fn(a):
    assert a.is_leaf and a.grad_fn is None and a.requires_grad


def test_python_scalars_never_make_a_result_require_grad():
    y = ember.tensor([1.0]) * 2.0 + 1
    assert not y.requires_grad and y.is_leaf


@pytest.mark.parametrize(
    "make",
    [
        lambda: ember.randn(3, requires_grad=True),
        lambda: ember.zeros(2, 2, requires_grad=True),
        lambda: ember.ones(2, requires_grad=True),
        lambda: ember.tensor([1.0], requires_grad=True),
        lambda: ember.full((2,), 1.5, requires_grad=True),
    ],
    ids=["randn", "zeros", "ones", "tensor", "full"],
)
def test_factories_ignore_no_grad(make):
    with ember.no_grad():
        t = make()
    assert t.requires_grad and t.is_leaf and t.grad_fn is None


# ----- requires_grad_ and .requires_grad ------------------------------------------------
def test_requires_grad_underscore_returns_self():
    t = ember.ones(2)
    assert t.requires_grad_() is t and t.requires_grad
    assert t.requires_grad_(False) is t and not t.requires_grad


def test_requires_grad_true_on_a_non_leaf_is_a_no_op(a):
    b = a * 2
    assert b.requires_grad_(True) is b
    assert b.requires_grad and name(b) == "MulBackward0"


def test_requires_grad_false_on_a_non_leaf_raises(a):
    b = a * 2
    with pytest.raises(RuntimeError, match=exact(LEAF_FLAGS)):
        b.requires_grad_(False)
    with pytest.raises(RuntimeError, match=exact(LEAF_FLAGS)):
        b.requires_grad = False


def test_integer_tensor_cannot_require_grad_at_creation():
    msg = exact("Only Tensors of floating point and complex dtype can require gradients")
    with pytest.raises(RuntimeError, match=msg):
        ember.tensor([1, 2, 3], requires_grad=True)
    with pytest.raises(RuntimeError, match=msg):
        ember.zeros(3, dtype=ember.int64, requires_grad=True)


def test_integer_tensor_requires_grad_underscore_raises():
    with pytest.raises(
        RuntimeError, match=exact("only Tensors of floating point dtype can require gradients")
    ):
        ember.tensor([1, 2, 3]).requires_grad_()


def test_integer_tensor_requires_grad_attribute_raises():
    t = ember.tensor([True, False])
    with pytest.raises(
        RuntimeError,
        match=exact("only Tensors of floating point and complex dtype can require gradients"),
    ):
        t.requires_grad = True


def test_integer_tensor_requires_grad_false_is_fine():
    t = ember.tensor([1, 2, 3])
    assert t.requires_grad_(False) is t and not t.requires_grad


# ----- grad_fn, next_functions, is_leaf -------------------------------------------------
@pytest.mark.parametrize(
    "fn, expected",
    [
        (lambda a: a * a, "MulBackward0"),
        (lambda a: a + a, "AddBackward0"),
        (lambda a: a - 1, "SubBackward0"),
        (lambda a: a / 2, "DivBackward0"),
        (lambda a: a ** 2, "PowBackward0"),
        (lambda a: a.sum(), "SumBackward0"),
        (lambda a: a.mean(), "MeanBackward0"),
        (lambda a: a.dot(a), "DotBackward0"),
    ],
    ids=["mul", "add", "sub", "div", "pow", "sum", "mean", "dot"],
)
def test_grad_fn_class_names_match_pytorch(a, fn, expected):
    assert name(fn(a)) == expected


def test_grad_fn_name_method(a):
    assert (a * 2).grad_fn.name() == "MulBackward0"


def test_next_functions_lead_to_accumulate_grad_of_leaves(a):
    loss = (a * a).sum()
    (mul, idx), = loss.grad_fn.next_functions
    assert type(mul).__name__ == "MulBackward0" and idx == 0
    (acc1, i1), (acc2, i2) = mul.next_functions
    assert type(acc1).__name__ == "AccumulateGrad" and acc1 is acc2 and (i1, i2) == (0, 0)
    assert acc1.variable is a


def test_next_functions_of_an_input_without_grad_is_none(a):
    y = a * ember.ones(3)
    assert y.grad_fn.next_functions[1] == (None, 0)


def test_grad_fn_repr_names_the_class(a):
    assert repr((a * 2).grad_fn).startswith("<MulBackward0 object at 0x")


# ----- backward(): errors (section 11) --------------------------------------------------
def test_backward_without_graph_raises():
    with pytest.raises(RuntimeError, match=exact(NO_GRAD_FN)):
        ember.ones(1).backward()


def test_backward_from_a_no_grad_result_raises_before_the_scalar_check(a):
    big = ember.randn(10, requires_grad=True)
    with ember.no_grad():
        y = big * 2
    with pytest.raises(RuntimeError, match=exact(NO_GRAD_FN)):
        y.backward()


def test_backward_of_non_scalar_without_gradient_raises(a):
    with pytest.raises(RuntimeError, match=exact(SCALAR_OUTPUTS)):
        (a * 2).backward()


@pytest.mark.parametrize("shape", [(1,), (1, 1), ()])
def test_backward_of_one_element_output_of_any_shape(shape):
    x = ember.ones(shape, requires_grad=True)
    (x * 3).backward()
    assert x.grad.tolist() == ember.full(shape, 3.0).tolist()


def test_backward_with_gradient_is_a_vector_jacobian_product(a):
    (a * 2).backward(ember.tensor([1.0, 10.0, 100.0]))
    assert a.grad.tolist() == [2.0, 20.0, 200.0]


def test_backward_gradient_of_wrong_shape_raises():
    x = ember.ones(2, requires_grad=True)
    msg = (
        "Mismatch in shape: grad_output[0] has a shape of ember.Size([3]) and output[0] has "
        "a shape of ember.Size([2])."
    )
    with pytest.raises(RuntimeError, match=exact(msg)):
        (x * 2).backward(ember.ones(3))


def test_backward_returns_none(a):
    assert (a * a).sum().backward() is None


# ----- second backward and retain_graph -------------------------------------------------
@pytest.mark.parametrize("fn", [lambda a: (a * a).sum(), lambda a: (a * 2).sum()],
                         ids=["a*a", "a*2 (scalar is saved)"])
def test_second_backward_through_saved_values_raises(a, fn):
    loss = fn(a)
    loss.backward()
    with pytest.raises(RuntimeError, match=exact(SECOND_TIME)):
        loss.backward()


def test_second_backward_through_nodes_without_saved_values_works_and_accumulates(a):
    loss = (a + 1).sum()
    loss.backward()
    loss.backward()
    assert a.grad.tolist() == [2.0, 2.0, 2.0]


def test_retain_graph_keeps_buffers_for_exactly_one_more_call():
    x = ember.tensor([1.0, 2.0], requires_grad=True)
    loss = (x * x).sum()
    loss.backward(retain_graph=True)
    assert x.grad.tolist() == [2.0, 4.0]
    loss.backward()
    assert x.grad.tolist() == [4.0, 8.0]
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        loss.backward()


def test_second_backward_error_names_retain_graph(a):
    loss = (a * a).sum()
    loss.backward()
    with pytest.raises(RuntimeError, match="Specify retain_graph=True"):
        loss.backward()


# ----- .grad accumulation and assignment ------------------------------------------------
def test_leaf_grad_starts_as_none(a):
    assert a.grad is None


def test_grads_accumulate_across_backward_calls():
    x = ember.tensor([1.0, 2.0], requires_grad=True)
    for _ in range(3):
        (x * x).sum().backward()
    assert x.grad.tolist() == [6.0, 12.0]


def test_grad_itself_does_not_require_grad(a):
    (a * a).sum().backward()
    assert (a.grad.requires_grad, a.grad.grad_fn, a.grad.is_leaf) == (False, None, True)
    assert a.grad.dtype is ember.float32 and a.grad.shape == (3,)


def test_setting_grad_to_none_starts_afresh():
    x = ember.tensor([1.0, 2.0], requires_grad=True)
    (x * x).sum().backward()
    old = x.grad
    x.grad = None
    (x * 3).sum().backward()
    assert x.grad.tolist() == [3.0, 3.0] and x.grad is not old
    assert old.tolist() == [2.0, 4.0]


def test_assigned_grad_is_added_to_by_backward():
    x = ember.tensor([1.0, 2.0], requires_grad=True)
    x.grad = ember.tensor([10.0, 10.0])
    (x * x).sum().backward()
    assert x.grad.tolist() == [12.0, 14.0]


def test_assigning_a_wrong_sized_grad_raises():
    x = ember.ones(2, requires_grad=True)
    msg = (
        "attempting to assign a gradient of size '[3]' to a tensor of size '[2]'. Please "
        "ensure that the gradient and the tensor are the same size"
    )
    with pytest.raises(RuntimeError, match=exact(msg)):
        x.grad = ember.zeros(3)


def test_assigning_a_wrong_dtype_grad_raises():
    x = ember.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="attempting to assign a gradient with dtype"):
        x.grad = ember.zeros(2, dtype=ember.float64)


def test_assigning_a_non_tensor_grad_raises_type_error():
    x = ember.ones(2, requires_grad=True)
    with pytest.raises(
        TypeError, match="assigned grad expected to be a Tensor or None but got grad of type list"
    ):
        x.grad = [1.0, 2.0]


def test_backward_with_create_graph_warns_and_makes_a_differentiable_grad():
    x = ember.tensor([1.0, 2.0], requires_grad=True)
    with pytest.warns(UserWarning, match="Using backward\\(\\) with create_graph=True"):
        (x ** 3).sum().backward(create_graph=True)
    assert x.grad.tolist() == [3.0, 12.0]
    assert x.grad.requires_grad and x.grad.grad_fn is not None


def test_backward_with_create_graph_gives_each_leaf_its_own_grad():
    x = ember.ones(2, requires_grad=True)
    y = ember.ones(2, requires_grad=True)
    with pytest.warns(UserWarning, match="create_graph=True"):
        (x + y).sum().backward(create_graph=True)
    assert x.grad is not y.grad
    assert x.grad.tolist() == y.grad.tolist() == [1.0, 1.0]


def test_second_order_through_grad_made_by_backward_with_create_graph():
    x = ember.tensor([1.0, 2.0], requires_grad=True)
    with pytest.warns(UserWarning, match="create_graph=True"):
        (x ** 3).sum().backward(create_graph=True)
    x.grad.sum().backward()  # adds d/dx sum(3x^2) = 6x
    assert x.grad.tolist() == [9.0, 24.0]


# ----- backward(inputs=...) -------------------------------------------------------------
def test_backward_inputs_fills_only_the_listed_leaves():
    x = ember.tensor([1.0, 2.0], requires_grad=True)
    w = ember.tensor([3.0, 4.0], requires_grad=True)
    (x * w).sum().backward(inputs=[x])
    assert x.grad.tolist() == [3.0, 4.0]
    assert w.grad is None


def test_backward_inputs_accepts_a_single_tensor():
    x = ember.tensor([1.0, 2.0], requires_grad=True)
    w = ember.tensor([3.0, 4.0], requires_grad=True)
    (x * w).sum().backward(inputs=w)
    assert w.grad.tolist() == [1.0, 2.0] and x.grad is None


def test_backward_inputs_on_a_non_leaf_fills_its_grad_only():
    x = ember.tensor([1.0, 2.0], requires_grad=True)
    b = x * 2
    (b * b).sum().backward(inputs=[b])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a populated .grad is read without the warning
        assert b.grad.tolist() == [4.0, 8.0]
    assert x.grad is None


def test_functional_backward_with_several_roots():
    x = ember.tensor([1.0, 2.0], requires_grad=True)
    ember.autograd.backward([(x * 2).sum(), (x * x).sum()])
    assert x.grad.tolist() == [4.0, 6.0]


def test_functional_backward_names_the_root_without_grad():
    x = ember.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="^element 1 of tensors does not require grad"):
        ember.autograd.backward([(x * 2).sum(), ember.ones(())])


# ----- graph shapes the engine must handle ----------------------------------------------
def test_diamond_sums_both_paths_before_going_on():
    x = ember.tensor([2.0], requires_grad=True)
    h = x * 3
    y = h * h + h  # dy/dh = 2h + 1 = 13, dh/dx = 3
    y.backward()
    assert x.grad.tolist() == [39.0]


def test_tensor_used_twice_in_one_op():
    x = ember.tensor([3.0], requires_grad=True)
    (x * x).backward()
    assert x.grad.tolist() == [6.0]


def test_very_deep_graph_needs_no_recursion():
    x = ember.tensor([1.0], requires_grad=True)
    y = x
    for _ in range(5000):
        y = y * 1.0
    y.backward()
    assert x.grad.tolist() == [1.0]


def test_broadcast_input_gets_a_gradient_of_its_own_shape():
    x = ember.tensor([1.0, 2.0], requires_grad=True)
    (x * ember.ones(3, 2)).sum().backward()
    assert x.grad.tolist() == [3.0, 3.0]


# ----- .grad of non-leaves and retain_grad ----------------------------------------------
def test_grad_of_a_non_leaf_is_none_with_a_warning(a):
    b = a * 2
    with pytest.warns(UserWarning) as record:
        assert b.grad is None
    assert str(record[0].message) == NOT_LEAF_GRAD
    (b * b).sum().backward()
    with pytest.warns(UserWarning, match="not a leaf Tensor"):
        assert b.grad is None


def test_grad_of_a_leaf_without_requires_grad_is_none_silently():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert ember.ones(2).grad is None


def test_retain_grad_fills_the_grad_of_a_non_leaf():
    a = ember.tensor([1.0, 1.0], requires_grad=True)
    b = a * 2
    assert b.retain_grad() is None
    (b * b).sum().backward()
    assert b.retains_grad
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert b.grad.tolist() == [4.0, 4.0]


def test_retained_grad_accumulates_over_backward_calls():
    a = ember.tensor([1.0, 1.0], requires_grad=True)
    b = a * 2
    b.retain_grad()
    loss = (b * b).sum()
    loss.backward(retain_graph=True)
    loss.backward()
    assert b.grad.tolist() == [8.0, 8.0]


def test_retain_grad_on_a_leaf_is_a_no_op(a):
    a.retain_grad()
    assert not a.retains_grad
    (a * 1).sum().backward()
    assert a.grad.tolist() == [1.0, 1.0, 1.0]


def test_retain_grad_without_requires_grad_raises():
    with pytest.raises(
        RuntimeError, match=exact("can't retain_grad on Tensor that has requires_grad=False")
    ):
        ember.ones(2).retain_grad()


def test_retained_grad_sees_the_gradient_after_hooks():
    a = ember.tensor([1.0, 1.0], requires_grad=True)
    b = a * 2
    b.retain_grad()
    b.register_hook(lambda g: g * 100)
    (b * 1).sum().backward()
    assert b.grad.tolist() == [100.0, 100.0]
    assert a.grad.tolist() == [200.0, 200.0]


# ----- hooks ----------------------------------------------------------------------------
def test_hook_on_a_leaf_sees_the_gradient(a):
    seen = []
    a.register_hook(lambda g: seen.append(g.tolist()))
    (a * a).sum().backward()
    assert seen == [[2.0, 4.0, 6.0]]
    assert a.grad.tolist() == [2.0, 4.0, 6.0]


def test_hook_on_a_leaf_can_replace_the_gradient_before_accumulation(a):
    a.register_hook(lambda g: g * 10)
    (a * 1).sum().backward()
    assert a.grad.tolist() == [10.0, 10.0, 10.0]


def test_hook_on_a_non_leaf_changes_what_flows_upstream(a):
    b = a * 2
    b.register_hook(lambda g: g * 100)
    (b * 1).sum().backward()
    assert a.grad.tolist() == [200.0, 200.0, 200.0]


def test_removed_hook_no_longer_runs(a):
    handle = a.register_hook(lambda g: g * 10)
    (a * 1).sum().backward()
    handle.remove()
    a.grad = None
    (a * 1).sum().backward()
    assert a.grad.tolist() == [1.0, 1.0, 1.0]


def test_removed_non_leaf_hook_no_longer_runs(a):
    b = a * 2
    handle = b.register_hook(lambda g: g * 100)
    handle.remove()
    (b * 1).sum().backward()
    assert a.grad.tolist() == [2.0, 2.0, 2.0]


def test_hook_handle_type_name(a):
    assert type(a.register_hook(lambda g: None)).__name__ == "RemovableHandle"


def test_hooks_run_in_registration_order(a):
    a.register_hook(lambda g: g + 1)
    a.register_hook(lambda g: g * 10)
    (a * 1).sum().backward()
    assert a.grad.tolist() == [20.0, 20.0, 20.0]


def test_hook_on_a_tensor_without_requires_grad_raises():
    with pytest.raises(
        RuntimeError,
        match=exact("cannot register a hook on a tensor that doesn't require gradient"),
    ):
        ember.ones(2).register_hook(lambda g: g)


def test_hook_on_an_input_fires_under_autograd_grad():
    x = ember.tensor([1.0, 2.0], requires_grad=True)
    seen = []
    x.register_hook(lambda g: (seen.append(g.tolist()), g * 10)[1])
    (gx,) = autograd_grad((x * x).sum(), x)
    assert seen == [[2.0, 4.0]]
    assert gx.tolist() == [20.0, 40.0]
    assert x.grad is None


# ----- ember.autograd.grad (section 18) -------------------------------------------------
def test_grad_returns_a_tuple_and_leaves_dot_grad_alone():
    x = ember.tensor([1.0, 2.0], requires_grad=True)
    x.grad = ember.tensor([100.0, 100.0])
    result = autograd_grad((x * x).sum(), x)
    assert isinstance(result, tuple) and len(result) == 1
    assert result[0].tolist() == [2.0, 4.0]
    assert not result[0].requires_grad and result[0].grad_fn is None
    assert x.grad.tolist() == [100.0, 100.0]


def test_grad_one_entry_per_input():
    x = ember.tensor([1.0, 2.0], requires_grad=True)
    w = ember.tensor([3.0, 4.0], requires_grad=True)
    gx, gw = autograd_grad((x * w).sum(), [x, w])
    assert gx.tolist() == [3.0, 4.0] and gw.tolist() == [1.0, 2.0]


def test_grad_frees_the_graph_like_backward():
    x = ember.tensor([1.0, 2.0], requires_grad=True)
    loss = (x * x).sum()
    autograd_grad(loss, x)
    with pytest.raises(RuntimeError, match=exact(SECOND_TIME)):
        autograd_grad(loss, x)


def test_grad_with_retain_graph_can_run_again():
    x = ember.tensor([1.0, 2.0], requires_grad=True)
    loss = (x * x).sum()
    (g1,) = autograd_grad(loss, x, retain_graph=True)
    (g2,) = autograd_grad(loss, x)
    assert g1.tolist() == g2.tolist() == [2.0, 4.0]


def test_grad_of_an_unused_input_raises():
    x = ember.tensor([1.0, 2.0], requires_grad=True)
    u = ember.tensor([1.0], requires_grad=True)
    msg = (
        "The differentiated Tensor at index 1 appears to not have been used in the graph. "
        "Set allow_unused=True if this is the desired behavior."
    )
    with pytest.raises(RuntimeError, match=exact(msg)):
        autograd_grad((x * 2).sum(), [x, u])


def test_grad_allow_unused_gives_none():
    x = ember.tensor([1.0, 2.0], requires_grad=True)
    u = ember.tensor([1.0], requires_grad=True)
    gx, gu = autograd_grad((x * 2).sum(), [x, u], allow_unused=True)
    assert gx.tolist() == [2.0, 2.0] and gu is None


def test_grad_wrt_an_input_without_requires_grad_raises():
    x = ember.tensor([1.0, 2.0], requires_grad=True)
    frozen = ember.ones(2)
    with pytest.raises(
        RuntimeError, match=exact("One of the differentiated Tensors does not require grad")
    ):
        autograd_grad((x * frozen).sum(), [x, frozen])


def test_grad_of_an_output_without_grad_fn_raises():
    x = ember.tensor([1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match=exact(NO_GRAD_FN)):
        autograd_grad(ember.ones(1), x)


def test_grad_of_a_non_scalar_without_grad_outputs_raises():
    x = ember.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match=exact(SCALAR_OUTPUTS)):
        autograd_grad(x * 2, x)


def test_grad_with_grad_outputs():
    x = ember.tensor([1.0, 2.0], requires_grad=True)
    (g,) = autograd_grad(x * 2, x, grad_outputs=ember.tensor([1.0, 10.0]))
    assert g.tolist() == [2.0, 20.0]


def test_grad_of_several_outputs_sums_them():
    x = ember.tensor([1.0, 2.0], requires_grad=True)
    (g,) = autograd_grad([(x * 2).sum(), (x * x).sum()], x)
    assert g.tolist() == [4.0, 6.0]


def test_grad_of_a_grad_without_create_graph_raises():
    x = ember.tensor([1.0, 2.0, 3.0], requires_grad=True)
    (g,) = autograd_grad((x ** 3).sum(), x)
    with pytest.raises(RuntimeError, match=exact(NO_GRAD_FN)):
        autograd_grad(g.sum(), x)


def test_grad_with_create_graph_is_differentiable():
    x = ember.tensor([1.0, 2.0, 3.0], requires_grad=True)
    (g,) = autograd_grad((x ** 3).sum(), x, create_graph=True)
    assert g.tolist() == [3.0, 12.0, 27.0]
    assert name(g) == "MulBackward0"
    (gg,) = autograd_grad(g.sum(), x)
    assert gg.tolist() == [6.0, 12.0, 18.0]


def test_gradient_penalty_backward_through_create_graph():
    x = ember.tensor([1.0, 2.0, 3.0], requires_grad=True)
    (g,) = autograd_grad((x ** 3).sum(), x, create_graph=True)
    (g ** 2).sum().backward()
    assert x.grad.tolist() == [36.0, 288.0, 972.0]


def test_create_graph_overrides_no_grad():
    x = ember.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = (x ** 3).sum()
    with ember.no_grad():
        (g,) = autograd_grad(y, x, create_graph=True)
        assert not ember.is_grad_enabled()
    assert g.requires_grad and g.grad_fn is not None
    (gg,) = autograd_grad(g.sum(), x)
    assert gg.tolist() == [6.0, 12.0, 18.0]


def test_backward_formulas_do_not_record_without_create_graph():
    x = ember.tensor([1.0, 2.0], requires_grad=True)
    (g,) = autograd_grad((x ** 3).sum(), x)
    assert g.grad_fn is None and not g.requires_grad


def test_grad_wrt_a_non_leaf():
    x = ember.tensor([1.0, 2.0, 3.0], requires_grad=True)
    h = 3 * x
    (gh,) = autograd_grad((h * h).sum(), h)
    assert gh.tolist() == [6.0, 12.0, 18.0]


def test_grad_wrt_a_non_leaf_leaves_the_rest_of_the_graph_usable():
    x = ember.tensor([1.0, 2.0, 3.0], requires_grad=True)
    h = 3 * x
    autograd_grad((h * h).sum(), h)
    (gx,) = autograd_grad((h * h).sum(), x)  # the node of h never ran, so it is intact
    assert gx.tolist() == [18.0, 36.0, 54.0]


def test_engine_restores_the_callers_mode():
    x = ember.tensor([1.0], requires_grad=True)
    y = (x * x).sum()
    with ember.no_grad():
        autograd_grad(y, x, create_graph=True, retain_graph=True)
        assert not ember.is_grad_enabled()
    autograd_grad(y, x)
    assert ember.is_grad_enabled()


def test_gradgradcheck_skips_integer_outputs_such_as_sort_indices():
    from ember.autograd import gradgradcheck

    x = ember.tensor([0.3, -1.2, 2.0, 0.7], dtype=ember.float64, requires_grad=True)
    assert gradgradcheck(lambda t: ember.sort(t * t), [x])


def test_return_types_are_importable_like_torch():
    import ember.return_types as rt

    assert isinstance(ember.tensor([2.0, 1.0]).sort(), rt.sort)
    assert isinstance(ember.randn(2, 3).max(1), rt.max)
