"""Sorting and selection: gradients (finite differences, double backward, torch), values
and indices on ties and NaN, named tuples, unique/searchsorted, and PyTorch's errors."""

from __future__ import annotations

import numpy as np
import pytest

import ember
from tests.helpers import check_op, compare_with_torch, grad_fn_name

NAN = float("nan")


def _t(values, requires_grad=False, dtype=None):
    return ember.tensor(values, dtype=dtype, requires_grad=requires_grad)


# ----- gradients: finite differences, double backward and torch ---------------------------

def test_sort_descending_grad():
    check_op(lambda lib, a: lib.sort(a, 1, descending=True).values, (3, 5))


def test_sort_stable_grad():
    check_op(lambda lib, a: lib.sort(a, dim=0, stable=True).values, (4, 3))


def test_msort_grad():
    check_op(lambda lib, a: lib.msort(a), (4, 3))


def test_topk_smallest_grad():
    check_op(lambda lib, a: lib.topk(a, 2, dim=0, largest=False).values, (4, 3))


def test_topk_method_grad():
    check_op(lambda lib, a: a.topk(3)[0], (4, 5))


def test_kthvalue_keepdim_grad():
    check_op(lambda lib, a: lib.kthvalue(a, 2, 1, True).values, (4, 5))


def test_median_global_grad():
    check_op(lambda lib, a: lib.median(a), (4, 5))


def test_median_dim_grad():
    check_op(lambda lib, a: lib.median(a, 0).values, (4, 5))


def test_nanmedian_dim_grad():
    check_op(lambda lib, a: lib.nanmedian(a, 1, keepdim=True).values, (4, 5))


def test_mode_grad():
    check_op(lambda lib, a: lib.mode(a, 1).values, (4, 5))


# ----- values, indices, ties, NaN ---------------------------------------------------------

def test_sort_matches_torch_indices_with_ties_and_nan():
    data = np.array([[2.0, 1, 2, 1, NAN, 0], [3, 3, 1, 1, 2, 2]])
    for desc in (False, True):
        compare_with_torch(lambda lib, a, d=desc: tuple(lib.sort(a, descending=d, stable=True)),
                           [data], grad=False)


def test_sort_descending_stable_keeps_input_order_of_ties():
    out = ember.sort(_t([2.0, 1, 2, 1, 0]), descending=True, stable=True)
    assert out.indices.tolist() == [0, 2, 1, 3, 4]


def test_sort_returns_named_tuple():
    out = _t([3.0, 1.0, 2.0]).sort()
    values, indices = out
    assert type(out).__name__ == "sort" and type(out).__module__ == "ember.return_types"
    assert values.tolist() == [1.0, 2.0, 3.0] and indices.tolist() == [1, 2, 0]
    assert repr(out).startswith("ember.return_types.sort(\nvalues=tensor([1., 2., 3.])")


def test_sort_grad_fn_names_match_torch():
    x = _t([3.0, 1.0], requires_grad=True)
    assert grad_fn_name(ember.sort(x).values) == "SortBackward0"
    assert grad_fn_name(ember.sort(x, stable=True).values) == "SortBackward1"
    assert ember.sort(x).indices.requires_grad is False


def test_sort_of_scalar():
    out = ember.sort(_t(3.0))
    assert out.values.item() == 3.0 and out.indices.item() == 0


def test_argsort_descending_matches_torch():
    compare_with_torch(lambda lib, a: lib.argsort(a, 0, True), [np.array([3.0, 1, 2])],
                       grad=False)


def test_topk_values_and_order():
    out = ember.topk(_t([1.0, 5, 3, 4]), 2)
    assert out.values.tolist() == [5.0, 4.0] and out.indices.tolist() == [1, 3]
    assert grad_fn_name(ember.topk(_t([1.0, 2], requires_grad=True), 1).values) == "TopkBackward0"


def test_topk_k_out_of_range():
    with pytest.raises(RuntimeError, match="selected index k out of range"):
        ember.topk(ember.zeros(3), 4)


def test_kthvalue_k_out_of_range():
    with pytest.raises(RuntimeError, match="kthvalue\\(\\): selected number k out of range for "
                       "dimension 0"):
        ember.kthvalue(ember.zeros(3), 0)


def test_median_is_the_lower_median():
    assert ember.median(_t([4.0, 1, 3, 2])).item() == 2.0
    out = ember.median(_t([[4.0, 1, 3, 2]]), 1)
    assert out.values.tolist() == [2.0] and out.indices.tolist() == [3]


def test_median_global_shares_grad_among_ties_like_torch():
    compare_with_torch(lambda lib, a: lib.median(a), [np.array([1.0, 2, 2, 3])])


def test_median_with_nan_is_nan_at_first_nan_like_torch():
    compare_with_torch(lambda lib, a: tuple(lib.median(a, 1)),
                       [np.array([[NAN, 1, NAN], [1, 3, 2]])], grad=False)
    assert np.isnan(ember.median(_t([1.0, NAN])).item())


def test_nanmedian_ignores_nan_like_torch():
    data = np.array([[NAN, NAN, NAN], [1, NAN, 2], [4, 3, NAN]])
    compare_with_torch(lambda lib, a: tuple(lib.nanmedian(a, 1)), [data], grad=False)
    assert ember.nanmedian(_t([1.0, NAN, 3.0, NAN])).item() == 1.0


def test_median_of_empty_dim_raises():
    with pytest.raises(IndexError, match="median\\(\\): Expected reduction dim 1 to have non-zero"):
        ember.median(ember.zeros(2, 0), 1)


def test_mode_picks_smallest_most_frequent_and_last_index_like_torch():
    data = np.array([[3.0, 1, 1, 3, 2], [3, 1, 1, 3, 3]])
    compare_with_torch(lambda lib, a: tuple(lib.mode(a)), [data], grad=False)
    out = ember.mode(_t([3.0, 1, 1, 3, 1, 2]))
    assert out.values.item() == 1.0 and out.indices.item() == 4


def test_mode_of_empty_dim_raises():
    with pytest.raises(IndexError, match="mode\\(\\): Expected reduction dim 0 to have non-zero"):
        ember.mode(ember.zeros(0))


# ----- unique, unique_consecutive ---------------------------------------------------------

def test_unique_with_inverse_and_counts():
    out, inverse, counts = ember.unique(_t([[3, 1], [2, 1]]), return_inverse=True,
                                        return_counts=True)
    assert out.tolist() == [1, 2, 3]
    assert inverse.tolist() == [[2, 0], [1, 0]]
    assert counts.tolist() == [2, 1, 1]


def test_unique_along_dim():
    out, inverse, counts = _t([[3, 1], [2, 1], [3, 1]]).unique(
        dim=0, return_inverse=True, return_counts=True)
    assert out.tolist() == [[2, 1], [3, 1]]
    assert inverse.tolist() == [1, 0, 1] and counts.tolist() == [1, 2]


def test_unique_backward_is_not_implemented_like_torch():
    y = ember.unique(_t([1.0, 2.0, 1.0], requires_grad=True))
    assert grad_fn_name(y) == "Unique2Backward0"
    with pytest.raises(NotImplementedError, match="the derivative for '_unique2' is not "
                       "implemented."):
        y.sum().backward()


def test_unique_consecutive_collapses_runs():
    out, inverse, counts = ember.unique_consecutive(
        _t([1, 1, 2, 2, 3, 1, 1, 2]), return_inverse=True, return_counts=True)
    assert out.tolist() == [1, 2, 3, 1, 2]
    assert inverse.tolist() == [0, 0, 1, 1, 2, 3, 3, 4]
    assert counts.tolist() == [2, 2, 1, 2, 1]


def test_unique_consecutive_along_dim():
    out, counts = ember.unique_consecutive(_t([[1, 1], [1, 1], [2, 3]]), dim=0,
                                           return_counts=True)
    assert out.tolist() == [[1, 1], [2, 3]] and counts.tolist() == [2, 1]


# ----- searchsorted, bucketize ------------------------------------------------------------

@pytest.mark.parametrize("right", [False, True])
def test_searchsorted_batched_matches_torch(right):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    seq = np.sort(rng.integers(0, 10, (3, 2, 6)), axis=-1)
    vals = rng.integers(-1, 11, (3, 2, 5))
    got = ember.searchsorted(_t(seq), _t(vals), right=right)
    want = torch.searchsorted(torch.tensor(seq), torch.tensor(vals), right=right)
    assert got.tolist() == want.tolist()


def test_searchsorted_scalar_side_sorter_and_int32():
    seq = _t([5, 1, 3])
    out = ember.searchsorted(seq, 3, side="right", sorter=_t([1, 2, 0]), out_int32=True)
    assert out.item() == 2 and out.dtype == ember.int32
    assert ember.searchsorted(_t([1.0, 2.0, 3.0]), _t([[1.5, NAN]])).tolist() == [[1, 3]]


def test_searchsorted_errors_match_torch():
    with pytest.raises(RuntimeError, match="first N-1 dimensions of boundaries tensor and input "
                       r"value tensor must match, but we got boundaries tensor \[2, 3\] and "
                       r"input value tensor \[3, 1\]"):
        ember.searchsorted(ember.zeros(2, 3), ember.zeros(3, 1))
    with pytest.raises(RuntimeError, match="side and right can't be set to opposites"):
        ember.searchsorted(ember.zeros(3), ember.zeros(3), side="left", right=True)


def test_bucketize_matches_torch():
    x = _t([1, 3, 5])
    assert ember.bucketize(x, x, right=True).tolist() == [1, 2, 3]
    assert ember.bucketize(3, x).item() == 1
    with pytest.raises(RuntimeError, match="boundaries tensor must be 1 dimension, but got dim"):
        ember.bucketize(x, ember.zeros(2, 2))
