"""Custom autograd Functions: ctx, saved tensors, flags, several outputs, double backward."""

import numpy as np
import pytest

import ember
from ember.autograd import Function, gradcheck, gradgradcheck
from ember.autograd.function import once_differentiable
from tests.helpers import grad_fn_name


class MyExp(Function):
    @staticmethod
    def forward(ctx, x):
        y = x.exp()
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        return g * y


class Cube(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x ** 3

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * 3 * x * x


class Scale(Function):
    """A tensor and a non-tensor argument."""

    @staticmethod
    def forward(ctx, x, k):
        ctx.k = k
        ctx.seen_needs = ctx.needs_input_grad
        ctx.grad_mode = ember.is_grad_enabled()
        return x * k

    @staticmethod
    def backward(ctx, g):
        return g * ctx.k, None


def _x(values=(1.0, 2.0)):
    return ember.tensor(list(values), requires_grad=True)


# ----- basics -----------------------------------------------------------------------------
def test_forward_and_backward_values():
    x = _x()
    y = MyExp.apply(x)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), np.exp([1.0, 2.0]), rtol=1e-6)


def test_node_is_named_after_the_function():
    y = MyExp.apply(_x())
    assert grad_fn_name(y) == "MyExpBackward"
    assert y.grad_fn.next_functions[0][0] is not None


def test_ctx_is_the_node_and_keeps_attributes():
    y = Scale.apply(_x(), 3.0)
    assert y.grad_fn.k == 3.0


def test_forward_runs_without_recording():
    y = Scale.apply(_x(), 2.0)
    assert y.grad_fn.grad_mode is False
    assert ember.is_grad_enabled()


def test_needs_input_grad_has_one_entry_per_argument():
    y = Scale.apply(_x(), 2.0)
    assert y.grad_fn.seen_needs == (True, False)


def test_needs_input_grad_is_false_for_inputs_without_grad():
    class Both(Function):
        @staticmethod
        def forward(ctx, a, b):
            ctx.flags = ctx.needs_input_grad
            return a * b

        @staticmethod
        def backward(ctx, g):
            return g, g

    y = Both.apply(_x(), ember.ones(2))
    assert y.grad_fn.flags == (True, False)


def test_non_tensor_argument_gets_no_gradient():
    x = _x()
    Scale.apply(x, 5.0).sum().backward()
    assert x.grad.tolist() == [5.0, 5.0]


def test_output_requires_grad_only_when_an_input_does():
    y = Scale.apply(ember.ones(2), 2.0)
    assert not y.requires_grad and y.grad_fn is None


def test_output_does_not_require_grad_under_no_grad():
    with ember.no_grad():
        y = Scale.apply(_x(), 2.0)
    assert not y.requires_grad and y.grad_fn is None


def test_output_is_an_inference_tensor_in_inference_mode():
    with ember.inference_mode():
        y = Scale.apply(_x(), 2.0)
    assert y.is_inference() and not y.requires_grad


def test_matches_builtin_gradients_in_a_larger_graph():
    x = _x((0.5, -1.0, 2.0))
    (MyExp.apply(x * 2) * x).sum().backward()
    expected = np.exp(2 * np.array([0.5, -1.0, 2.0])) * (2 * x.detach().numpy() + 1)
    np.testing.assert_allclose(x.grad.numpy(), expected, rtol=1e-5)


def test_gradcheck_and_gradgradcheck_pass():
    x = ember.tensor([0.3, -0.7, 1.1], dtype=ember.float64, requires_grad=True)
    assert gradcheck(Cube.apply, (x,))
    assert gradgradcheck(Cube.apply, (x,))


def test_double_backward_through_the_function():
    x = _x((1.0, 2.0, 3.0))
    (g,) = ember.autograd.grad(Cube.apply(x).sum(), x, create_graph=True)
    (gg,) = ember.autograd.grad(g.sum(), x)
    assert g.tolist() == [3.0, 12.0, 27.0]
    assert gg.tolist() == [6.0, 12.0, 18.0]


def test_setup_context_style():
    class Square(Function):
        @staticmethod
        def forward(x):
            return x * x

        @staticmethod
        def setup_context(ctx, inputs, output):
            (x,) = inputs
            ctx.save_for_backward(x)

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return 2 * g * x

    x = _x()
    Square.apply(x).sum().backward()
    assert x.grad.tolist() == [2.0, 4.0]


# ----- gradient count and shapes ----------------------------------------------------------
def test_too_few_gradients_raise():
    class Bad(Scale):
        @staticmethod
        def backward(ctx, g):
            return g

    with pytest.raises(RuntimeError, match=r"function BadBackward returned an incorrect number "
                       r"of gradients \(expected 2, got 1\)"):
        Bad.apply(_x(), 2.0).sum().backward()


def test_extra_none_gradients_are_dropped():
    class Extra(Scale):
        @staticmethod
        def backward(ctx, g):
            return g * ctx.k, None, None

    x = _x()
    Extra.apply(x, 2.0).sum().backward()
    assert x.grad.tolist() == [2.0, 2.0]


def test_extra_non_none_gradient_raises():
    class Extra(Scale):
        @staticmethod
        def backward(ctx, g):
            return g, None, g

    with pytest.raises(RuntimeError, match=r"expected 2, got 3"):
        Extra.apply(_x(), 2.0).sum().backward()


def test_gradient_for_a_non_tensor_input_raises():
    class Wrong(Scale):
        @staticmethod
        def backward(ctx, g):
            return g, g

    with pytest.raises(RuntimeError, match="returned a gradient different than None at position "
                       "2, but the corresponding forward input was not a Variable"):
        Wrong.apply(_x(), 2.0).sum().backward()


def test_gradient_of_incompatible_shape_raises():
    class WrongShape(Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return ember.ones(3)

    with pytest.raises(RuntimeError, match=r"returned an invalid gradient at index 0 - got \[3\] "
                       r"but expected shape compatible with \[2\]"):
        WrongShape.apply(_x()).sum().backward()


def test_broadcast_gradient_is_summed_to_the_input_shape():
    class Spread(Function):
        @staticmethod
        def forward(ctx, x):
            return x * 1

        @staticmethod
        def backward(ctx, g):
            return g.expand(3, 2)

    x = _x()
    Spread.apply(x).sum().backward()
    assert x.grad.tolist() == [3.0, 3.0]


# ----- saved tensors ----------------------------------------------------------------------
def test_saved_input_modified_in_place_raises_at_backward():
    a = _x()
    b = a * 1
    y = Cube.apply(b)
    with ember.no_grad():
        b.add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()


def test_saved_output_modified_in_place_raises_at_backward():
    x = _x()
    y = MyExp.apply(x)
    y.mul_(2)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()


def test_saved_tensors_are_freed_after_backward():
    y = Cube.apply(_x())
    y.sum().backward()
    with pytest.raises(RuntimeError, match="second time"):
        y.sum().backward()


def test_retain_graph_keeps_saved_tensors():
    x = _x()
    y = Cube.apply(x)
    y.sum().backward(retain_graph=True)
    y.sum().backward()
    assert x.grad.tolist() == [6.0, 24.0]


def test_backward_that_reads_nothing_saved_can_run_twice():
    x = _x()
    y = Scale.apply(x, 2.0)
    y.sum().backward()
    y.sum().backward()
    assert x.grad.tolist() == [4.0, 4.0]


def test_save_for_backward_rejects_non_tensors():
    class SavesInt(Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x, 3)
            return x * 1

    with pytest.raises(TypeError, match="save_for_backward can only save variables, but argument "
                       "1 is of type int"):
        SavesInt.apply(_x())


def test_saved_none_comes_back_as_none():
    class SavesNone(Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(None, x)
            return x * 2

        @staticmethod
        def backward(ctx, g):
            nothing, x = ctx.saved_tensors
            assert nothing is None
            return g * 2

    x = _x()
    SavesNone.apply(x).sum().backward()
    assert x.grad.tolist() == [2.0, 2.0]


def test_inference_tensor_cannot_be_saved_while_recording():
    with ember.inference_mode():
        it = ember.ones(2)

    class SaveBoth(Function):
        @staticmethod
        def forward(ctx, a, b):
            ctx.save_for_backward(a, b)
            return a * b

    with pytest.raises(RuntimeError, match="Inference tensors cannot be saved for backward"):
        SaveBoth.apply(_x(), it)


# ----- several outputs --------------------------------------------------------------------
class SplitScale(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.shapes_seen = []
        return x * 2, x * 3

    @staticmethod
    def backward(ctx, g1, g2):
        ctx.got = (g1, g2)
        return g1 * 2 + g2 * 3


def test_several_outputs_share_one_node():
    a, b = SplitScale.apply(_x())
    assert a.grad_fn is b.grad_fn
    assert (a.output_nr, b.output_nr) == (0, 1)


def test_both_outputs_contribute():
    x = _x()
    a, b = SplitScale.apply(x)
    (a + b).sum().backward()
    assert x.grad.tolist() == [5.0, 5.0]


def test_missing_output_gradient_is_zero_filled():
    x = _x()
    a, b = SplitScale.apply(x)
    b.sum().backward()
    g1, _ = b.grad_fn.got
    assert g1.tolist() == [0.0, 0.0]
    assert x.grad.tolist() == [3.0, 3.0]


def test_set_materialize_grads_false_passes_none():
    class NoMaterialize(Function):
        @staticmethod
        def forward(ctx, x):
            ctx.set_materialize_grads(False)
            return x * 2, x * 3

        @staticmethod
        def backward(ctx, g1, g2):
            ctx.got = (g1, g2)
            return g2 * 3 if g1 is None else g1 * 2 + g2 * 3

    x = _x()
    _, b = NoMaterialize.apply(x)
    b.sum().backward()
    assert b.grad_fn.got[0] is None
    assert x.grad.tolist() == [3.0, 3.0]


def test_non_tensor_outputs_pass_through():
    class WithCount(Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2, 7

        @staticmethod
        def backward(ctx, g):
            return g * 2

    x = _x()
    y, n = WithCount.apply(x)
    assert n == 7
    y.sum().backward()
    assert x.grad.tolist() == [2.0, 2.0]


def test_mark_non_differentiable_output():
    class SortLike(Function):
        @staticmethod
        def forward(ctx, x):
            idx = ember.tensor([1, 0])
            out = x * 1
            ctx.mark_non_differentiable(idx)
            return out, idx

        @staticmethod
        def backward(ctx, g, g_idx):
            ctx.g_idx = g_idx
            return g

    x = _x()
    out, idx = SortLike.apply(x)
    assert out.requires_grad and not idx.requires_grad
    out.sum().backward()
    assert out.grad_fn.g_idx.tolist() == [0, 0]


def test_mark_non_differentiable_on_float_output():
    class Detached(Function):
        @staticmethod
        def forward(ctx, x):
            out = x * 2
            ctx.mark_non_differentiable(out)
            return out

    assert not Detached.apply(_x()).requires_grad


def test_input_returned_as_is_becomes_a_new_tensor_with_the_node():
    class Identity(Function):
        @staticmethod
        def forward(ctx, x):
            return x

        @staticmethod
        def backward(ctx, g):
            return g * 5

    x = _x()
    y = Identity.apply(x)
    assert y is not x and x.is_leaf
    assert y.data_ptr() == x.data_ptr()
    y.sum().backward()
    assert x.grad.tolist() == [5.0, 5.0]


# ----- mark_dirty -------------------------------------------------------------------------
class AddOneInPlace(Function):
    @staticmethod
    def forward(ctx, x):
        x.add_(1)
        ctx.mark_dirty(x)
        return x

    @staticmethod
    def backward(ctx, g):
        return g * 1


def test_mark_dirty_moves_the_input_onto_the_node():
    w = _x()
    b = w * 2
    out = AddOneInPlace.apply(b)
    assert out is b
    assert grad_fn_name(b) == "AddOneInPlaceBackward"
    assert b.tolist() == [3.0, 5.0] and b._version == 1
    b.sum().backward()
    assert w.grad.tolist() == [2.0, 2.0]


def test_mark_dirty_on_leaf_requiring_grad_raises():
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad has been used in "
                       "an in-place operation."):
        AddOneInPlace.apply(_x())


def test_dirty_input_must_be_returned():
    class Forgets(Function):
        @staticmethod
        def forward(ctx, x):
            x.add_(1)
            ctx.mark_dirty(x)
            return x * 1

    with pytest.raises(RuntimeError, match="marked as dirty"):
        Forgets.apply(_x() * 1)


def test_dirty_input_saved_earlier_raises_at_backward():
    w = _x()
    b = w * 2
    c = b * b
    AddOneInPlace.apply(b)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        c.sum().backward()


# ----- once_differentiable and legacy use -------------------------------------------------
class NumpyExp(Function):
    @staticmethod
    def forward(ctx, x):
        y = ember.tensor(np.exp(x.numpy()))
        ctx.save_for_backward(y)
        return y

    @staticmethod
    @once_differentiable
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        return ember.tensor(g.numpy() * y.numpy())


def test_once_differentiable_first_order_works():
    x = _x((0.0, 1.0))
    NumpyExp.apply(x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), np.exp([0.0, 1.0]), rtol=1e-6)


def test_once_differentiable_double_backward_raises():
    x = _x((0.0, 1.0))
    v = ember.ones(2, requires_grad=True)
    (g,) = ember.autograd.grad(NumpyExp.apply(x), x, grad_outputs=v, create_graph=True)
    with pytest.raises(RuntimeError, match="trying to differentiate twice a function that was "
                       "marked with @once_differentiable"):
        g.sum().backward()


def test_instantiating_a_function_warns_and_calling_it_raises():
    with pytest.warns(DeprecationWarning, match="should not be instantiated"):
        fn = MyExp()
    with pytest.raises(RuntimeError, match="Legacy autograd function"):
        fn(_x())


def test_missing_backward_raises_not_implemented():
    class NoBackward(Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

    with pytest.raises(NotImplementedError, match="backward"):
        NoBackward.apply(_x()).sum().backward()


def test_matches_torch_custom_function():
    torch = pytest.importorskip("torch")
    data = np.array([0.5, -1.0, 2.0], dtype=np.float32)
    grads = []
    for lib in (ember, torch):
        class Softplus(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x, beta):
                ctx.save_for_backward(x)
                ctx.beta = beta
                return (1 + (x * beta).exp()).log() / beta

            @staticmethod
            def backward(ctx, g):
                (x,) = ctx.saved_tensors
                return g * (x * ctx.beta).sigmoid(), None

        x = lib.tensor(data, requires_grad=True)
        (Softplus.apply(x, 2.0) * x).sum().backward()
        grads.append(x.grad.numpy().copy())
    np.testing.assert_allclose(grads[0], grads[1], rtol=1e-6)
