"""Reductions and the softmax family: gradcheck, gradgradcheck and torch as the oracle."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import ember
from tests.helpers import check_op, compare_with_torch, grad_fn_name

INF = float("inf")


def _t(values, requires_grad=False, dtype=ember.float64):
    return ember.tensor(values, dtype=dtype, requires_grad=requires_grad)


# ----- sum, mean -------------------------------------------------------------------------

@pytest.mark.parametrize("dim, keepdim", [(None, False), (1, False), (-1, True), ((0, 2), False),
                                          ((0, -1), True), ((), False)])
def test_sum_over_dims_matches_torch(dim, keepdim):
    check_op(lambda lib, a: a.sum(dim, keepdim) if dim is not None else a.sum(), (2, 3, 4))


@pytest.mark.parametrize("dim, keepdim", [(None, False), (0, True), (-2, False), ((1, 2), True)])
def test_mean_over_dims_matches_torch(dim, keepdim):
    check_op(lambda lib, a: lib.mean(a, dim, keepdim) if dim is not None else a.mean(), (2, 3, 4))


def test_sum_of_ints_is_int64():
    out = ember.tensor([[1, 2], [3, 4]], dtype=ember.int32).sum(0)
    assert out.dtype == ember.int64
    assert out.tolist() == [4, 6]


def test_sum_over_empty_dim_list_reduces_everything():
    assert _t([[1.0, 2.0], [3.0, 4.0]]).sum(()).item() == 10.0


def test_mean_of_ints_raises_torch_error():
    with pytest.raises(RuntimeError, match="mean\\(\\): could not infer output dtype.*Got: Long"):
        ember.tensor([1, 2]).mean()


def test_sum_bad_dim_raises_index_error():
    with pytest.raises(IndexError, match=r"expected to be in range of \[-2, 1\], but got 2\)"):
        ember.zeros(2, 3).sum(2)


def test_repeated_dim_raises():
    with pytest.raises(RuntimeError, match="dim 1 appears multiple times in the list of dims"):
        ember.zeros(2, 3).amax((1, -1))


# ----- prod ------------------------------------------------------------------------------

@pytest.mark.parametrize("dim, keepdim", [(None, False), (1, False), (-1, True), (0, True)])
def test_prod_matches_torch(dim, keepdim):
    check_op(lambda lib, a: a.prod(dim, keepdim) if dim is not None else a.prod(), (3, 4),
             low=0.5, high=1.5)


def test_prod_grad_with_one_zero_matches_torch():
    check_op(lambda lib, a: a.prod(), np.array([[0.0, 2.0], [3.0, -1.5]]))


def test_prod_grad_with_zeros_along_dim_matches_torch():
    x = np.array([[0.0, 2.0, 3.0], [0.0, 0.0, 1.5], [1.0, 2.0, -1.0]])
    check_op(lambda lib, a: a.prod(1), x)
    check_op(lambda lib, a: a.prod(0, keepdim=True), x)


def test_prod_grad_with_zeros_without_create_graph_is_exact():
    x = _t([[0.0, 2.0, 3.0], [0.0, 0.0, 1.5]], requires_grad=True)
    x.prod(1).sum().backward()
    assert x.grad.tolist() == [[6.0, 0.0, 0.0], [0.0, 0.0, 0.0]]


def test_prod_of_ints_is_int64():
    out = ember.tensor([[1, 2], [3, 4]], dtype=ember.int32).prod(1)
    assert out.dtype == ember.int64
    assert out.tolist() == [2, 12]


def test_prod_rejects_a_tuple_dim():
    with pytest.raises(TypeError, match="prod\\(\\) received an invalid combination"):
        ember.ones(2, 2).prod((0, 1))


def test_prod_grad_fn_names():
    x = ember.ones(2, 2, requires_grad=True)
    assert grad_fn_name(x.prod()) == "ProdBackward0"
    assert grad_fn_name(x.prod(0)) == "ProdBackward1"


# ----- max, min --------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["max", "min"])
def test_full_max_min_match_torch(name):
    check_op(lambda lib, a: getattr(a, name)(), (3, 4))


@pytest.mark.parametrize("name", ["max", "min"])
@pytest.mark.parametrize("dim, keepdim", [(1, False), (-1, True), (0, False)])
def test_max_min_along_dim_match_torch(name, dim, keepdim):
    check_op(lambda lib, a: getattr(lib, name)(a, dim, keepdim).values, (3, 4))


@pytest.mark.parametrize("name", ["max", "min"])
def test_max_min_along_dim_indices_match_torch(name):
    check_op(lambda lib, a: getattr(lib, name)(a, dim=1), (3, 4), grad=False)


def test_max_with_dim_unpacks_into_values_and_indices():
    values, indices = _t([[1.0, 5.0, 2.0], [7.0, 0.0, 7.0]]).max(1)
    assert values.tolist() == [5.0, 7.0]
    assert indices.tolist() == [1, 0]
    assert indices.dtype == ember.int64


def test_max_with_dim_result_has_named_fields_and_torch_repr():
    out = _t([[1.0, 5.0]]).max(1, keepdim=True)
    assert out.values.shape == (1, 1)
    assert out.indices.tolist() == [[1]]
    assert repr(out).startswith("ember.return_types.max(\nvalues=")


def test_max_with_dim_grad_goes_to_returned_index_on_ties():
    x = _t([[1.0, 3.0, 3.0, 2.0]], requires_grad=True)
    x.max(1).values.sum().backward()
    assert x.grad.tolist() == [[0.0, 1.0, 0.0, 0.0]]


def test_full_max_splits_grad_evenly_among_ties_like_torch():
    compare_with_torch(lambda lib, a: a.max(), [np.array([1.0, 3.0, 3.0, 2.0])])


def test_full_min_splits_grad_evenly_among_ties_like_torch():
    compare_with_torch(lambda lib, a: lib.min(a), [np.array([[1.0, 3.0], [1.0, 1.0]])])


def test_max_with_tensor_argument_is_maximum():
    a, b = _t([1.0, 5.0], requires_grad=True), _t([3.0, 2.0])
    out = ember.max(a, b)
    assert out.tolist() == [3.0, 5.0]
    assert grad_fn_name(out) == "MaximumBackward0"
    assert ember.min(a, b).tolist() == [1.0, 2.0]


def test_max_grad_fn_names():
    x = ember.ones(2, 2, requires_grad=True)
    assert grad_fn_name(x.max()) == "MaxBackward1"
    assert grad_fn_name(x.max(0).values) == "MaxBackward0"
    assert grad_fn_name(x.min()) == "MinBackward1"
    assert grad_fn_name(x.min(0)[0]) == "MinBackward0"


def test_max_with_dim_of_0d_tensor_returns_itself_and_index_zero():
    values, indices = _t(3.0).max(0)
    assert values.item() == 3.0 and indices.item() == 0 and indices.shape == ()


def test_max_propagates_nan_and_its_index():
    values, indices = _t([1.0, float("nan"), 3.0]).max(0)
    assert np.isnan(values.item()) and indices.item() == 1


def test_max_of_empty_tensor_raises_torch_error():
    with pytest.raises(RuntimeError, match="Expected reduction dim to be specified"):
        ember.zeros(0, 3).max()


def test_max_over_empty_dim_raises_index_error():
    with pytest.raises(IndexError, match="max\\(\\): Expected reduction dim 0 to have non-zero"):
        ember.zeros(0, 3).max(0)


def test_max_bad_dim_raises_index_error():
    with pytest.raises(IndexError, match=r"expected to be in range of \[-2, 1\], but got 2\)"):
        ember.zeros(2, 3).max(2)


def test_max_of_ints_keeps_dtype():
    out = ember.tensor([[1, 9], [4, 2]]).max(1)
    assert out.values.dtype == ember.int64 and out.values.tolist() == [9, 4]


# ----- amax, amin ------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["amax", "amin"])
@pytest.mark.parametrize("dim, keepdim", [((), False), (1, False), (-1, True), ((0, 2), False),
                                          ((0, 1, 2), True)])
def test_amax_amin_match_torch(name, dim, keepdim):
    check_op(lambda lib, a: getattr(lib, name)(a, dim, keepdim), (2, 3, 4))


def test_amax_splits_grad_evenly_among_ties_like_torch():
    x = np.array([[2.0, 2.0, 1.0], [0.0, 5.0, 5.0], [4.0, 4.0, 4.0]])
    compare_with_torch(lambda lib, a: a.amax(1), [x])
    compare_with_torch(lambda lib, a: lib.amin(a, 0, True), [x])


def test_amax_grad_fn_name():
    assert grad_fn_name(ember.ones(2, requires_grad=True).amax()) == "AmaxBackward0"
    assert grad_fn_name(ember.ones(2, requires_grad=True).amin()) == "AminBackward0"


def test_amax_over_empty_dim_raises_index_error():
    with pytest.raises(IndexError, match="amax\\(\\): Expected reduction dim 0 to have non-zero"):
        ember.zeros(0, 3).amax(0)


# ----- argmax, argmin, count_nonzero -----------------------------------------------------

@pytest.mark.parametrize("name", ["argmax", "argmin"])
@pytest.mark.parametrize("dim, keepdim", [(None, False), (None, True), (1, False), (-2, True)])
def test_argmax_argmin_match_torch(name, dim, keepdim):
    check_op(lambda lib, a: getattr(a, name)(dim, keepdim), (3, 4), grad=False)


def test_argmax_returns_int64_without_grad():
    out = _t([[1.0, 4.0], [3.0, 2.0]], requires_grad=True).argmax(1)
    assert out.dtype == ember.int64 and not out.requires_grad
    assert out.tolist() == [1, 0]


def test_argmax_of_empty_tensor_raises_index_error():
    with pytest.raises(IndexError, match="argmax\\(\\): Expected reduction dim to be specified"):
        ember.zeros(0).argmax()


@pytest.mark.parametrize("dim", [None, 0, -1, (0, 1)])
def test_count_nonzero_matches_torch(dim):
    x = np.array([[0.0, 1.0, 2.0], [0.0, 0.0, 3.0]])
    compare_with_torch(lambda lib, a: lib.count_nonzero(a, dim), [x], grad=False)


def test_count_nonzero_is_int64():
    assert ember.count_nonzero(ember.tensor([0, 3, 0, 1])).dtype == ember.int64


# ----- var, std --------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["var", "std"])
@pytest.mark.parametrize("kwargs", [{}, {"dim": 1}, {"dim": -1, "keepdim": True},
                                    {"dim": (0, 2)}, {"dim": 0, "unbiased": False},
                                    {"dim": 1, "correction": 0}, {"correction": 2}])
def test_var_std_match_torch(name, kwargs):
    check_op(lambda lib, a: getattr(a, name)(**kwargs), (2, 3, 4))


@pytest.mark.parametrize("name", ["var", "std"])
def test_var_std_over_empty_dim_list_reduce_everything(name):
    # torch 2.13 agrees on the value but its backward divides by N - 1 with N = 1 here
    # (all-inf gradients), so finite differences are the only reference.
    check_op(lambda lib, a: getattr(a, name)((), keepdim=True), (2, 3), oracle=False)
    x = ember.tensor([[1.0, 2.0], [4.0, 8.0]])
    assert getattr(x, name)(()).item() == pytest.approx(getattr(x, name)().item())


def test_var_accepts_legacy_positional_unbiased():
    x = _t([1.0, 2.0, 3.0, 4.0])
    assert x.var(False).item() == pytest.approx(1.25)
    assert x.std(0, False).item() == pytest.approx(1.25 ** 0.5)


def test_var_with_both_unbiased_and_correction_raises_type_error():
    with pytest.raises(TypeError):
        ember.ones(3).var(0, unbiased=True, correction=1)


def test_var_of_ints_raises_torch_error():
    with pytest.raises(RuntimeError, match="std and var only support floating point"):
        ember.tensor([1, 2, 3]).var()


def test_var_without_degrees_of_freedom_warns_and_gives_nan():
    with pytest.warns(UserWarning, match="var\\(\\): degrees of freedom is <= 0"):
        out = ember.ones(1).var()
    assert np.isnan(out.item())


def test_std_grad_is_zero_where_std_is_zero_like_torch():
    x = _t([[2.0, 2.0, 2.0], [1.0, 2.0, 4.0]], requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        x.std(1).sum().backward()
    assert x.grad.tolist()[0] == [0.0, 0.0, 0.0]
    compare_with_torch(lambda lib, a: a.std(1), [x.detach().numpy()])


def test_var_std_grad_fn_names():
    x = ember.ones(2, 2, requires_grad=True)
    assert grad_fn_name(x.var(1)) == "VarBackward0"
    assert grad_fn_name(x.std()) == "StdBackward0"


# ----- logsumexp -------------------------------------------------------------------------

@pytest.mark.parametrize("dim, keepdim", [(1, False), (-1, True), ((0, 2), False),
                                          ((0, 1, 2), False)])
def test_logsumexp_matches_torch(dim, keepdim):
    check_op(lambda lib, a: lib.logsumexp(a, dim, keepdim), (2, 3, 4))


def test_logsumexp_is_stable_for_large_inputs():
    out = ember.logsumexp(ember.tensor([1000.0, 1000.0]), 0)
    assert out.item() == pytest.approx(1000.0 + np.log(2.0))


def test_logsumexp_of_all_minus_inf_is_minus_inf():
    assert ember.logsumexp(ember.tensor([-INF, -INF]), 0).item() == -INF


def test_logsumexp_of_ints_gives_default_float():
    out = ember.logsumexp(ember.tensor([0, 1, 2]), 0)
    assert out.dtype == ember.float32
    assert out.item() == pytest.approx(float(np.log(np.exp([0, 1, 2]).sum())), rel=1e-6)


def test_logsumexp_grad_fn_name():
    assert grad_fn_name(ember.ones(2, requires_grad=True).logsumexp(0)) == "LogsumexpBackward0"


# ----- softmax, log_softmax --------------------------------------------------------------

@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
@pytest.mark.parametrize("dim", [0, 1, -1])
def test_softmax_family_matches_torch(name, dim):
    check_op(lambda lib, a: getattr(lib, name)(a, dim), (2, 3, 4))


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_softmax_family_as_methods_match_torch(name):
    check_op(lambda lib, a: getattr(a, name)(-1) * 2.0, (3, 5))


def test_softmax_is_stable_for_large_inputs():
    out = ember.tensor([[1000.0, 1000.0], [-1000.0, 0.0]]).softmax(1)
    np.testing.assert_allclose(out.numpy(), [[0.5, 0.5], [0.0, 1.0]])
    out = ember.tensor([1000.0, 0.0]).log_softmax(0)
    np.testing.assert_allclose(out.numpy(), [0.0, -1000.0])


def test_softmax_dtype_argument_casts_first():
    x = ember.tensor([1, 2, 3])
    out = ember.softmax(x, 0, dtype=ember.float64)
    assert out.dtype == ember.float64
    assert out.sum().item() == pytest.approx(1.0)


def test_softmax_of_ints_raises_torch_error():
    with pytest.raises(NotImplementedError, match="\"softmax_lastdim_kernel_impl\" not implemented "
                                                  "for 'Long'"):
        ember.tensor([[1, 2]]).softmax(1)


def test_softmax_of_0d_tensor_is_one():
    assert ember.tensor(5.0).softmax(0).item() == 1.0


def test_softmax_grad_fn_names():
    x = ember.ones(2, requires_grad=True)
    assert grad_fn_name(x.softmax(0)) == "SoftmaxBackward0"
    assert grad_fn_name(x.log_softmax(0)) == "LogSoftmaxBackward0"


# ----- norm ------------------------------------------------------------------------------

@pytest.mark.parametrize("p", ["fro", 2, 1, INF, -INF, 3, 0.5, 0])
def test_norm_of_whole_tensor_matches_torch(p):
    check_op(lambda lib, a: a.norm(p), (3, 4))


@pytest.mark.parametrize("p, dim, keepdim", [(2, 1, False), (2, -1, True), (1, (0, 1), False),
                                             (INF, 0, True), ("fro", (0, 1), True), (3, 1, False)])
def test_norm_over_dims_matches_torch(p, dim, keepdim):
    check_op(lambda lib, a: lib.norm(a, p, dim, keepdim), (3, 4))


def test_norm_default_is_two_norm():
    assert ember.tensor([3.0, 4.0]).norm().item() == pytest.approx(5.0)


def test_norm_grad_at_zero_vector_is_zero_like_torch():
    x = ember.zeros(3, requires_grad=True)
    x.norm().backward()
    assert x.grad.tolist() == [0.0, 0.0, 0.0]


def test_norm_dtype_argument_casts_first():
    out = ember.tensor([3.0, 4.0]).norm(dtype=ember.float64)
    assert out.dtype == ember.float64


def test_norm_of_ints_raises_torch_error():
    with pytest.raises(RuntimeError, match="Expected a floating point or complex tensor as "
                                           "input. Got Long"):
        ember.tensor([1, 2]).norm()


def test_norm_rejects_unknown_order():
    with pytest.raises(RuntimeError, match="Order abc not supported"):
        ember.ones(2, 2).norm("abc")


def test_norm_grad_fn_name():
    assert grad_fn_name(ember.ones(2, requires_grad=True).norm()) == "LinalgVectorNormBackward0"


# ----- cumsum ----------------------------------------------------------------------------

@pytest.mark.parametrize("dim", [0, 1, -1])
def test_cumsum_matches_torch(dim):
    check_op(lambda lib, a: a.cumsum(dim), (3, 4))


def test_cumsum_of_ints_is_int64():
    out = ember.tensor([1, 2, 3], dtype=ember.int32).cumsum(0)
    assert out.dtype == ember.int64 and out.tolist() == [1, 3, 6]


def test_cumsum_grad_fn_name():
    assert grad_fn_name(ember.ones(2, requires_grad=True).cumsum(0)) == "CumsumBackward0"


# ----- no_grad ---------------------------------------------------------------------------

def test_reductions_record_nothing_under_no_grad():
    x = ember.ones(2, 3, requires_grad=True)
    with ember.no_grad():
        outs = [x.prod(), x.max(), x.max(1).values, x.var(), x.norm(), x.softmax(1),
                x.logsumexp(1), x.cumsum(0), x.amax(0)]
    assert all(o.grad_fn is None and not o.requires_grad for o in outs)


# ----- cumprod, cummax/cummin, logcumsumexp ------------------------------------------------

def test_cumprod_grad():
    check_op(lambda lib, a: lib.cumprod(a, 1), (3, 4))


def test_cumprod_grad_with_zeros_is_exact_to_second_order():
    data = np.array([[1.0, 0, 2, 3, 0, 2], [0, 2, 3, 1, 1, 1], [2, 3, 1, 2, 1, 0.5]])
    check_op(lambda lib, a: lib.cumprod(a, 1), data)


def test_cumprod_of_ints_is_int64():
    out = ember.tensor([1, 2, 3], dtype=ember.int32).cumprod(0)
    assert out.dtype == ember.int64 and out.tolist() == [1, 2, 6]


def test_cummax_grad():
    check_op(lambda lib, a: lib.cummax(a, 1).values, (3, 5))


def test_cummin_method_grad():
    check_op(lambda lib, a: a.cummin(0).values, (3, 5))


def test_cummax_indices_move_forward_on_ties_and_nan_like_torch():
    out = ember.cummax(_t([1.0, 1, 0, 1, 2, 2]), 0)
    assert out.values.tolist() == [1, 1, 1, 1, 2, 2]
    assert out.indices.tolist() == [0, 1, 1, 3, 4, 5]
    assert ember.cummax(_t([1.0, float("nan"), 0, float("nan"), 2]), 0).indices.tolist() == [
        0, 1, 1, 3, 3]
    assert type(out).__name__ == "cummax"


def test_cummin_tie_grad_goes_to_the_latest_index_like_torch():
    compare_with_torch(lambda lib, a: lib.cummin(a, 0).values, [np.array([1.0, 1, 2, 1, 0, 0])])


def test_logcumsumexp_grad():
    check_op(lambda lib, a: lib.logcumsumexp(a, 1), (3, 5))


def test_logcumsumexp_does_not_overflow():
    out = ember.logcumsumexp(_t([1000.0, 1000.0]), 0)
    np.testing.assert_allclose(out.numpy(), [1000.0, 1000.0 + np.log(2)])


def test_logcumsumexp_of_ints_raises_like_torch():
    with pytest.raises(NotImplementedError, match="\"logcumsumexp_out_cpu\" not implemented for "
                       "'Long'"):
        ember.logcumsumexp(ember.tensor([1, 2]), 0)


# ----- var_mean, std_mean, aminmax, nansum, nanmean --------------------------------------

def test_var_mean_grad():
    check_op(lambda lib, a: lib.var_mean(a, 1), (3, 5))


def test_std_mean_grad():
    check_op(lambda lib, a: lib.std_mean(a, (0, 1), correction=0, keepdim=True), (3, 5))


def test_var_mean_outputs_share_one_node():
    v, m = ember.var_mean(_t([[1.0, 2.0, 4.0]], requires_grad=True), 1, unbiased=False)
    assert v.grad_fn is m.grad_fn and grad_fn_name(v) == "VarMeanBackward0"
    np.testing.assert_allclose(v.detach().numpy(), [14 / 9])
    assert m.tolist() == [7 / 3]


def test_std_mean_grad_of_mean_alone():
    x = _t([1.0, 2.0, 6.0], requires_grad=True)
    ember.std_mean(x)[1].backward()
    np.testing.assert_allclose(x.grad.numpy(), [1 / 3] * 3)


def test_aminmax_grad():
    check_op(lambda lib, a: tuple(lib.aminmax(a, dim=1)), (3, 5))


def test_aminmax_global_ties_share_grad_like_torch():
    compare_with_torch(lambda lib, a: tuple(lib.aminmax(a)), [np.array([[1.0, 3.0, 3.0, 1.0]])])


def test_aminmax_named_tuple_and_keepdim():
    out = ember.aminmax(_t([[1.0, 3.0], [0.0, 2.0]]), dim=0, keepdim=True)
    assert type(out).__name__ == "aminmax"
    assert out.min.tolist() == [[0.0, 2.0]] and out.max.tolist() == [[1.0, 3.0]]


def test_aminmax_of_empty_raises_like_torch():
    with pytest.raises(RuntimeError, match="aminmax\\(\\): cannot compute aminmax over an empty "
                       "dimension as the operation has no identity."):
        ember.aminmax(ember.zeros(0))
    with pytest.raises(IndexError, match="aminmax: Expected reduction dim 1 to have non-zero"):
        ember.aminmax(ember.zeros(2, 0), dim=1)


def test_nansum_grad():
    check_op(lambda lib, a: lib.nansum(a, 1), (3, 5))


def test_nanmean_grad():
    check_op(lambda lib, a: lib.nanmean(a, 1, keepdim=True), (3, 5))


def test_nansum_and_nanmean_skip_nan_like_torch():
    data = np.array([[1.0, float("nan"), 3.0], [float("nan")] * 3])
    compare_with_torch(lambda lib, a: lib.nansum(a, 1), [data])
    compare_with_torch(lambda lib, a: lib.nanmean(a, 1), [data])


def test_nanmean_of_ints_raises_like_torch():
    with pytest.raises(RuntimeError, match="nanmean\\(\\): expected input to have floating point "
                       "or complex dtype but got Long"):
        ember.nanmean(ember.tensor([1, 2]))
