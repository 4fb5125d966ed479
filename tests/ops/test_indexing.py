"""Indexing: x[key], gather/scatter, index_select/index_add, masks, nonzero, index_key."""

import numpy as np
import pytest

import ember
from ember.ops.indexing import index_key
from tests.helpers import check_op, grad_fn_name


def leaf(*shape):
    data = np.arange(np.prod(shape), dtype=np.float32).reshape(shape)
    return ember.tensor(data, requires_grad=True)


# ----- x[key] gradients -----------------------------------------------------------------
@pytest.mark.parametrize("key", [
    1, -1, (slice(None), 2), slice(1, None), slice(None, None, 2), (slice(None), slice(1, 3)),
    None, (Ellipsis, None), (0, None), Ellipsis, (1, 2),
], ids=repr)
def test_basic_index_gradients(key):
    check_op(lambda lib, a: a[key] ** 2, (3, 4))


def test_advanced_index_with_repeats_gradients():
    check_op(lambda lib, a: a[1:, [0, 2, 2]], (3, 4))
    check_op(lambda lib, a: a[1:, [0, 2, 2]] ** 2, (3, 4))


def test_index_with_int_tensor_gradients():
    check_op(lambda lib, a: a[lib.tensor([[0, 1], [2, 0]])] ** 2, (3, 2))


def test_index_with_two_int_lists_gradients():
    check_op(lambda lib, a: a[[0, 2, 0], [1, 1, 1]] ** 2, (3, 4))


def test_index_with_bool_mask_gradients():
    mask = [[True, False, True, False], [False, False, True, True], [True, True, True, False]]
    check_op(lambda lib, a: a[lib.tensor(mask)] ** 2, (3, 4))


def test_index_with_bool_list_on_one_dim_gradients():
    check_op(lambda lib, a: a[:, [True, False, True]] ** 2, (2, 3, 2))


def test_index_mixing_int_slice_and_list_uses_pytorch_layout():
    check_op(lambda lib, a: a[0, :, [1, 2]] ** 2, (2, 3, 4))


def test_index_with_separated_lists_moves_dims_to_front():
    check_op(lambda lib, a: a[[0, 1], :, [1, 2]] ** 2, (2, 3, 4))


def test_index_with_none_and_list_gradients():
    check_op(lambda lib, a: a[None, [1, 0], 1:] ** 2, (2, 3))


def test_index_with_zero_dim_int_tensor_selects():
    check_op(lambda lib, a: a[lib.tensor(1), 2:] ** 2, (3, 4))


def test_repeated_indices_accumulate_gradients():
    x = ember.zeros(3, requires_grad=True)
    x[[0, 0, 1, 0]].sum().backward()
    assert x.grad.tolist() == [3.0, 1.0, 0.0]


# ----- x[key]: grad_fn, views, values ---------------------------------------------------
@pytest.mark.parametrize("key, name", [
    (0, "SelectBackward0"), ((slice(None), 1), "SelectBackward0"),
    (slice(1, None), "SliceBackward0"), (slice(None), "SliceBackward0"),
    (Ellipsis, "AliasBackward0"), ((), "AliasBackward0"), (None, "UnsqueezeBackward0"),
    ((0, None), "UnsqueezeBackward0"), ((None, 0), "SelectBackward0"),
    ((slice(None), None, slice(None)), "UnsqueezeBackward0"), ((0, 0, 0), "SelectBackward0"),
    ([0, 1], "IndexBackward0"), ((slice(None), 0, [1, 2]), "IndexBackward0"),
    (True, "IndexBackward0"),
], ids=repr)
def test_index_grad_fn_names_match_pytorch(key, name):
    assert grad_fn_name(leaf(2, 3, 4)[key]) == name


@pytest.mark.parametrize("key", [
    0, (slice(None), 1), slice(1, None), Ellipsis, None, (0, 0, 0), (slice(None, None, 2), 1),
], ids=repr)
def test_basic_index_is_a_view_sharing_memory_and_version(key):
    x = leaf(2, 3, 4)
    y = x[key]
    assert y._base is x
    assert np.shares_memory(y._data, x._data)
    x._bump_version()
    assert y._version == 1


def test_advanced_index_is_a_copy():
    x = leaf(2, 3)
    y = x[[0, 1]]
    assert y._base is None
    assert not np.shares_memory(y._data, x._data)


def test_index_of_all_dims_gives_a_zero_dim_view():
    x = leaf(2, 3)
    y = x[1, 2]
    assert y.shape == () and y.item() == 5.0 and y._base is x


@pytest.mark.parametrize("key, shape", [
    ((0, slice(None), [1, 2]), (3, 2)), ((slice(None), 0, [1, 2]), (2, 2)),
    (([0, 1], slice(None), [1, 2]), (2, 3)), (([[0, 1], [1, 0]],), (2, 2, 3, 4)),
    (([True, False],), (1, 3, 4)), ((Ellipsis, [0, 0, 0]), (2, 3, 3)),
    ((slice(5, 10),), (0, 3, 4)), (([],), (0, 3, 4)), ((0, [1], None, 2), (1, 1)),
], ids=repr)
def test_index_result_shapes_match_pytorch(key, shape):
    assert leaf(2, 3, 4)[key].shape == shape


def test_index_values_match_numpy():
    x = leaf(3, 4)
    assert x[[2, 0], 1:3].tolist() == x._data[[2, 0], 1:3].tolist()


def test_index_with_mask_selects_true_positions():
    x = ember.tensor([1.0, -2.0, 3.0])
    assert x[x > 0].tolist() == [1.0, 3.0]


def test_index_with_a_list_holding_slices_is_read_as_a_tuple():
    x = leaf(2, 3)
    with pytest.warns(UserWarning, match="non-tuple sequence"):
        y = x[[0, slice(None)]]
    assert y.tolist() == [0.0, 1.0, 2.0]


# ----- x[key] errors ------------------------------------------------------------------------
def test_int_index_out_of_bounds():
    with pytest.raises(IndexError, match="index 5 is out of bounds for dimension 0 with size 3"):
        leaf(3)[5]


def test_negative_int_index_out_of_bounds():
    with pytest.raises(IndexError, match="index -4 is out of bounds for dimension 1 with size 3"):
        leaf(2, 3)[:, -4]


def test_list_index_out_of_bounds():
    with pytest.raises(IndexError, match="index 5 is out of bounds for dimension 1 with size 3"):
        leaf(2, 3)[:, [0, 5]]


def test_too_many_indices():
    with pytest.raises(IndexError, match="too many indices for tensor of dimension 2"):
        leaf(2, 3)[0, 0, 0]


def test_int_index_of_a_zero_dim_tensor():
    with pytest.raises(IndexError, match="invalid index of a 0-dim tensor"):
        ember.tensor(1.0)[0]


def test_negative_slice_step_is_refused_as_in_pytorch():
    with pytest.raises(ValueError, match="step must be greater than zero"):
        leaf(3)[::-1]


def test_zero_slice_step():
    with pytest.raises(ValueError, match="slice step cannot be zero"):
        leaf(3)[::0]


def test_float_index_tensor():
    with pytest.raises(IndexError, match="tensors used as indices must be long, int, byte or bool "
                       "tensors"):
        leaf(3)[ember.tensor([0.5])]


def test_float_index():
    with pytest.raises(IndexError, match=r"only integers, slices .* \(got float\)"):
        leaf(3)[1.5]


def test_mask_of_the_wrong_shape():
    with pytest.raises(IndexError, match=r"The shape of the mask \[2, 4\] at index 1 does not "
                       r"match the shape of the indexed tensor \[2, 3, 4\] at index 1"):
        leaf(2, 3, 4)[ember.ones(2, 4, dtype=ember.bool)]


def test_index_arrays_that_do_not_broadcast():
    with pytest.raises(IndexError, match=r"shape mismatch: indexing tensors could not be "
                       r"broadcast together with shapes \[2, 2\], \[1, 4\]"):
        leaf(2, 3, 4)[[[0, 1], [1, 0]], [[0, 1, 1, 0]]]


# ----- index_key --------------------------------------------------------------------------
def test_index_key_turns_tensors_into_arrays():
    key = index_key((ember.tensor([0, 1]), slice(1, None)), (2, 3))
    assert isinstance(key[0], np.ndarray) and key[0].tolist() == [0, 1]
    assert key[1] == slice(1, None)


def test_index_key_reads_zero_dim_int_tensors_as_ints():
    assert index_key(ember.tensor(2), (3,))[0] == 2


def test_index_key_reads_byte_tensors_as_masks():
    key = index_key(ember.tensor([1, 0], dtype=ember.uint8), (2,))
    assert key[0].dtype == np.bool_


def test_index_key_checks_bounds():
    with pytest.raises(IndexError, match="index 5 is out of bounds for dimension 0 with size 3"):
        index_key(5, (3,))


def test_index_key_gives_pytorch_layout_when_numpy_would_differ():
    data = np.arange(24.0).reshape(2, 3, 4)
    key = index_key((0, slice(None), [1, 2]), data.shape)
    assert data[key].tolist() == data[0][:, [1, 2]].tolist()


def test_index_key_can_be_used_to_assign():
    data = np.zeros((2, 3))
    data[index_key((ember.tensor([1]), slice(None, 2)), data.shape)] = 7.0
    assert data.tolist() == [[0, 0, 0], [7, 7, 0]]


# ----- gather / scatter / take_along_dim -------------------------------------------------
IDX = [[0, 2, 2], [1, 0, 1]]


def test_gather_gradients():
    check_op(lambda lib, a: a.gather(1, lib.tensor(IDX)) ** 2, (2, 4))


def test_gather_with_smaller_index_gradients():
    check_op(lambda lib, a: lib.gather(a, 0, lib.tensor([[1, 0]])) ** 2, (3, 4))


def test_gather_grad_fn_name():
    assert grad_fn_name(leaf(2, 4).gather(1, ember.tensor(IDX))) == "GatherBackward0"


def test_scatter_gradients():
    check_op(lambda lib, a, b: a.scatter(1, lib.tensor([[0, 2], [3, 1]]), b) ** 2, (2, 4), (2, 2))


def test_scatter_with_larger_src_gradients():
    check_op(lambda lib, a, b: a.scatter(1, lib.tensor([[0], [3]]), b) ** 2, (2, 4), (2, 2),
             oracle=False)


def test_scatter_value_gradients():
    check_op(lambda lib, a: a.scatter(1, lib.tensor([[0, 2], [3, 1]]), 1.5) ** 2, (2, 4))


def test_scatter_add_gradients():
    check_op(lambda lib, a, b: a.scatter_add(1, lib.tensor(IDX), b) ** 2, (2, 4), (2, 3))


def test_scatter_add_accumulates_repeated_indices():
    out = ember.zeros(3).scatter_add(0, ember.tensor([0, 0, 2]), ember.ones(3))
    assert out.tolist() == [2.0, 0.0, 1.0]


def test_scatter_grad_fn_names():
    x, idx = leaf(2, 4), ember.tensor(IDX)
    assert grad_fn_name(x.scatter(1, idx, leaf(2, 3))) == "ScatterBackward0"
    assert grad_fn_name(x.scatter(1, idx, 2.0)) == "ScatterBackward1"
    assert grad_fn_name(x.scatter_add(1, idx, leaf(2, 3))) == "ScatterAddBackward0"


def test_take_along_dim_gradients():
    check_op(lambda lib, a: lib.take_along_dim(a, lib.tensor([[0, 2]]), 1) ** 2, (3, 4))


def test_take_along_dim_without_dim_gradients():
    check_op(lambda lib, a: lib.take_along_dim(a, lib.tensor([0, 5, 5])) ** 2, (2, 3))


def test_gather_index_out_of_bounds():
    with pytest.raises(RuntimeError, match="index 5 is out of bounds for dimension 1 with size 4"):
        leaf(2, 4).gather(1, ember.tensor([[5]]))


def test_gather_index_with_other_ndim():
    with pytest.raises(RuntimeError, match="Index tensor must have the same number of dimensions "
                       "as input tensor"):
        leaf(2, 4).gather(1, ember.tensor([0]))


def test_gather_index_larger_than_input():
    with pytest.raises(RuntimeError, match=r"Size does not match at dimension 0 expected index "
                       r"\[3, 1\] to be no larger than self \[2, 4\] apart from dimension 1"):
        leaf(2, 4).gather(1, ember.zeros(3, 1, dtype=ember.int64))


def test_gather_float_index():
    with pytest.raises(RuntimeError, match="gather\\(\\): Expected dtype int32/int64 for index"):
        leaf(2, 4).gather(1, ember.zeros(2, 1))


# ----- index_select / index_add ---------------------------------------------------------
def test_index_select_gradients_accumulate_repeats():
    check_op(lambda lib, a: a.index_select(1, lib.tensor([0, 2, 2])) ** 2, (2, 3))


def test_index_select_grad_fn_name():
    assert grad_fn_name(leaf(2, 3).index_select(0, ember.tensor([1]))) == "IndexSelectBackward0"


def test_index_add_gradients():
    check_op(lambda lib, a, b: a.index_add(0, lib.tensor([2, 0, 2]), b) ** 2, (3, 2), (3, 2))


def test_index_select_needs_a_vector():
    with pytest.raises(IndexError, match="index_select\\(\\): Index is supposed to be a vector"):
        leaf(2, 3).index_select(0, ember.zeros(2, 2, dtype=ember.int64))


def test_index_select_index_out_of_range():
    with pytest.raises(RuntimeError, match="INDICES element is out of DATA bounds, id=5 "
                       "axis_dim=3"):
        leaf(2, 3).index_select(1, ember.tensor([5]))


def test_index_select_float_index():
    with pytest.raises(RuntimeError, match="Expected dtype int32 or int64 for index"):
        leaf(2, 3).index_select(1, ember.tensor([0.0]))


# ----- masks ------------------------------------------------------------------------------
MASK = [[True, False, False], [False, True, True]]


def test_masked_fill_gradients():
    check_op(lambda lib, a: a.masked_fill(lib.tensor(MASK), 0.5) ** 2, (2, 3))


def test_masked_fill_with_broadcast_mask_gradients():
    check_op(lambda lib, a: a.masked_fill(lib.tensor([True, False, True]), -1.0) ** 2, (2, 3))


def test_masked_fill_with_tensor_value_gradients():
    check_op(lambda lib, a, v: a.masked_fill(lib.tensor(MASK), v) ** 2, (2, 3), ())


def test_masked_fill_gradient_is_zero_at_masked_positions():
    x = ember.ones(3, requires_grad=True)
    v = ember.tensor(2.0, requires_grad=True)
    out = x.masked_fill(ember.tensor([True, False, True]), v)
    assert grad_fn_name(out) == "MaskedFillBackward1"
    out.sum().backward()
    assert x.grad.tolist() == [0.0, 1.0, 0.0]
    assert v.grad.item() == 2.0


def test_masked_fill_casts_the_value_to_the_tensor_dtype():
    x = ember.ones(3, dtype=ember.int64)
    out = x.masked_fill(ember.tensor([True, False, True]), 2.7)
    assert out.dtype == ember.int64 and out.tolist() == [2, 1, 2]


def test_masked_fill_needs_a_bool_mask():
    with pytest.raises(RuntimeError, match="masked_fill_ only supports boolean masks, but got "
                       "mask with dtype float"):
        leaf(3).masked_fill(ember.ones(3), 0.0)


def test_masked_fill_needs_a_zero_dim_value():
    with pytest.raises(RuntimeError, match="only supports a 0-dimensional value tensor, but got "
                       r"tensor with 1 dimension\(s\)."):
        leaf(3).masked_fill(ember.ones(3, dtype=ember.bool), ember.ones(1))


def test_masked_select_gradients():
    check_op(lambda lib, a: a.masked_select(lib.tensor(MASK)) ** 2, (2, 3))


def test_masked_select_with_broadcast_input_gradients():
    check_op(lambda lib, a: lib.masked_select(a, lib.tensor(MASK)) ** 2, (3,))


def test_masked_select_needs_a_bool_mask():
    with pytest.raises(RuntimeError, match="masked_select: expected BoolTensor for mask"):
        leaf(3).masked_select(ember.ones(3))


# ----- nonzero --------------------------------------------------------------------------
def test_nonzero_gives_int64_coordinates():
    out = ember.nonzero(ember.tensor([[0.0, 1.0], [2.0, 0.0]]))
    assert out.dtype == ember.int64 and out.tolist() == [[0, 1], [1, 0]]


def test_nonzero_as_tuple_gives_one_tensor_per_dim():
    rows, cols = ember.tensor([[0.0, 1.0], [2.0, 0.0]]).nonzero(as_tuple=True)
    assert rows.tolist() == [0, 1] and cols.tolist() == [1, 0]


def test_nonzero_never_requires_grad():
    assert not leaf(3).nonzero().requires_grad
