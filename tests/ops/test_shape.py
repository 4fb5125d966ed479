"""Shape ops: gradients (finite differences, double backward, torch), views, errors."""

import numpy as np
import pytest

import ember
from tests.helpers import check_op, grad_fn_name


def leaf(*shape, dtype=ember.float32):
    data = np.arange(np.prod(shape), dtype=np.float64).reshape(shape)
    return ember.tensor(data, dtype=dtype, requires_grad=True)


# ----- gradients: finite differences, double backward and torch ---------------------------
def test_reshape_gradients():
    check_op(lambda lib, a: a.reshape(4, 3) ** 2, (2, 6))


def test_reshape_of_non_contiguous_input_gradients():
    check_op(lambda lib, a: a.t().reshape(-1) ** 2, (3, 4))


def test_view_gradients():
    check_op(lambda lib, a: a.view(3, -1) ** 2, (2, 6))


def test_transpose_gradients():
    check_op(lambda lib, a: a.transpose(0, 2) ** 2, (2, 3, 4))


def test_permute_gradients():
    check_op(lambda lib, a: a.permute(2, 0, 1) ** 2, (2, 3, 4))


def test_t_gradients():
    check_op(lambda lib, a: a.t() ** 2, (2, 3))


def test_expand_gradients_sum_over_expanded_dims():
    check_op(lambda lib, a: a.expand(4, 3, 2) ** 2, (3, 1))


def test_unsqueeze_and_squeeze_gradients():
    check_op(lambda lib, a: a.unsqueeze(1).squeeze() ** 2, (2, 1, 3))


def test_squeeze_dim_gradients():
    check_op(lambda lib, a: a.squeeze(1) ** 2, (2, 1, 3))


def test_flatten_gradients():
    check_op(lambda lib, a: a.flatten(1) ** 2, (2, 3, 2))


def test_movedim_gradients():
    check_op(lambda lib, a: a.movedim(0, 2) ** 2, (2, 3, 4))


def test_movedim_with_several_dims_gradients():
    check_op(lambda lib, a: lib.movedim(a, (0, 1), (2, 0)) ** 2, (2, 3, 4))


def test_unflatten_gradients():
    check_op(lambda lib, a: a.unflatten(1, (2, -1)) ** 2, (3, 4))


def test_repeat_gradients_accumulate_over_copies():
    check_op(lambda lib, a: a.repeat(2, 1, 3) ** 2, (2, 3))


def test_tile_gradients():
    check_op(lambda lib, a: lib.tile(a, (2,)) ** 2, (2, 3))


def test_cat_gradients():
    check_op(lambda lib, a, b: lib.cat([a, b], 1) ** 2, (2, 3), (2, 1))


def test_cat_of_three_along_negative_dim_gradients():
    check_op(lambda lib, a, b, c: lib.cat((a, b, c), -2) ** 2, (1, 3), (2, 3), (1, 3))


def test_concat_gradients():
    check_op(lambda lib, a, b: lib.concat([a, b]) ** 2, (2, 3), (1, 3))


def test_stack_gradients():
    check_op(lambda lib, a, b: lib.stack([a, b], 1) ** 2, (2, 3), (2, 3))


def test_split_by_size_gradients():
    check_op(lambda lib, a: tuple(p ** 2 for p in a.split(2, 1)), (2, 5))


def test_split_by_sizes_gradients():
    check_op(lambda lib, a: tuple(p ** 2 for p in lib.split(a, [1, 3], 0)), (4, 2))


def test_chunk_gradients():
    check_op(lambda lib, a: tuple(p ** 2 for p in a.chunk(3, 1)), (2, 5))


def test_unbind_gradients():
    check_op(lambda lib, a: tuple(p ** 2 for p in a.unbind(1)), (2, 3))


def test_one_split_output_alone_gets_zero_gradient_elsewhere():
    check_op(lambda lib, a: a.split(2)[1] ** 2, (5, 2))


def test_flip_gradients():
    check_op(lambda lib, a: a.flip(0, 2) ** 2, (2, 3, 2))


def test_roll_gradients():
    check_op(lambda lib, a: a.roll((1, -2), (0, 1)) ** 2, (3, 4))


def test_roll_flattened_gradients():
    check_op(lambda lib, a: a.roll(5) ** 2, (3, 4))


def test_narrow_gradients():
    check_op(lambda lib, a: a.narrow(1, 1, 2) ** 2, (3, 4))


def test_select_gradients():
    check_op(lambda lib, a: a.select(1, -1) ** 2, (3, 4))


def test_view_as_reshape_as_expand_as_gradients():
    check_op(lambda lib, a, b: a.view_as(b) ** 2 + a.reshape_as(b) * b, (2, 3), (3, 2))
    check_op(lambda lib, a, b: a.expand_as(b) * b, (1, 3), (2, 3))


def test_broadcast_to_gradients():
    check_op(lambda lib, a: lib.broadcast_to(a, (2, 2, 3)) ** 2, (1, 3))


def test_hstack_and_vstack_gradients():
    check_op(lambda lib, a, b: lib.hstack([a, b]) ** 2, (2, 3), (2, 1))
    check_op(lambda lib, a, b: lib.vstack([a, b]) ** 2, (3,), (2, 3))


# ----- grad_fn names -------------------------------------------------------------------
@pytest.mark.parametrize("fn, name", [
    (lambda x: x.reshape(6, 4), "ViewBackward0"),
    (lambda x: x.transpose(0, 1).reshape(6, 4), "UnsafeViewBackward0"),
    (lambda x: x.squeeze(), "SqueezeBackward0"),
    (lambda x: x.squeeze(0), "SqueezeBackward1"),
    (lambda x: x.squeeze((0,)), "SqueezeBackward2"),
    (lambda x: ember.cat([x, x]), "CatBackward0"),
    (lambda x: ember.stack([x, x]), "StackBackward0"),
    (lambda x: x.split(2, 2)[0], "SplitBackward0"),
    (lambda x: x.split([1, 3], 2)[1], "SplitWithSizesBackward0"),
    (lambda x: x.chunk(2, 2)[0], "SplitBackward0"),
    (lambda x: x.unbind(1)[2], "UnbindBackward0"),
    (lambda x: x.flip(0), "FlipBackward0"),
    (lambda x: x.roll(1, 0), "RollBackward0"),
    (lambda x: x.repeat(1, 2, 1), "RepeatBackward0"),
    (lambda x: x.tile((2,)), "RepeatBackward0"),
    (lambda x: x.narrow(1, 0, 2), "SliceBackward0"),
    (lambda x: x.select(1, 0), "SelectBackward0"),
    (lambda x: x.view_as(ember.ones(6, 4)), "ViewBackward0"),
    (lambda x: x.expand_as(ember.ones(2, 2, 3, 4)), "ExpandBackward0"),
    (lambda x: x.movedim(0, 2), "PermuteBackward0"),
])
def test_grad_fn_names_match_pytorch(fn, name):
    assert grad_fn_name(fn(leaf(2, 3, 4))) == name


# ----- views share memory and the version counter ------------------------------------------
@pytest.mark.parametrize("fn", [
    lambda x: x.reshape(4, 6),
    lambda x: x.view(-1),
    lambda x: x.transpose(0, 2),
    lambda x: x.permute(1, 2, 0),
    lambda x: x.mT,
    lambda x: x[:1].expand(3, 3, 4),
    lambda x: x.unsqueeze(0),
    lambda x: x.unsqueeze(1).squeeze(1),
    lambda x: x.flatten(),
    lambda x: x.narrow(2, 1, 2),
    lambda x: x.select(0, 1),
    lambda x: x.split(1)[1],
    lambda x: x.chunk(2, 2)[1],
    lambda x: x.unbind(2)[3],
    lambda x: x.movedim(2, 0),
    lambda x: x.view_as(ember.ones(24)),
    lambda x: ember.broadcast_to(x, (2, 2, 3, 4)),
])
def test_views_share_memory_and_version_counter_with_their_base(fn):
    x = leaf(2, 3, 4)
    y = fn(x)
    assert y._base is x
    assert np.shares_memory(y._data, x._data)
    x._bump_version()
    assert y._version == x._version == 1


def test_view_of_a_view_has_the_root_as_base():
    x = leaf(2, 3, 4)
    assert x[0].reshape(-1)._base is x


def test_writes_to_the_base_show_through_a_view():
    x = ember.zeros(2, 3)
    y = x.t()
    x._data[0, 1] = 5.0
    assert y[1, 0].item() == 5.0


def test_reshape_that_must_copy_is_not_a_view():
    x = leaf(2, 3)
    y = x.t().reshape(6)
    assert y._base is None
    assert not np.shares_memory(y._data, x._data)


@pytest.mark.parametrize("fn", [
    lambda x: ember.cat([x, x]), lambda x: ember.stack([x]), lambda x: x.flip(0),
    lambda x: x.roll(1), lambda x: x.repeat(1, 1),
])
def test_copying_ops_do_not_share_memory(fn):
    x = leaf(2, 3)
    y = fn(x)
    assert y._base is None
    assert not np.shares_memory(y._data, x._data)


def test_split_outputs_are_outputs_of_one_node():
    parts = leaf(5, 2).split(2)
    assert [p.output_nr for p in parts] == [0, 1, 2]
    assert parts[0].grad_fn is parts[2].grad_fn


def test_retain_grad_on_one_split_output_sees_its_own_gradient():
    x = leaf(4, 2)
    a, b = x.split(2)
    b.retain_grad()
    (b * 3).sum().backward()
    assert b.grad.tolist() == [[3.0, 3.0], [3.0, 3.0]]
    assert x.grad.tolist() == [[0.0, 0.0], [0.0, 0.0], [3.0, 3.0], [3.0, 3.0]]


def test_views_of_tensors_that_need_no_grad_are_still_views():
    x = ember.arange(6.0)
    y = x.view(2, 3)
    assert y._base is x and y.grad_fn is None and not y.requires_grad


def test_views_under_no_grad_are_untracked_views():
    x = leaf(2, 3)
    with ember.no_grad():
        y = x.t()
    assert y.grad_fn is None and y._base is x


# ----- values -----------------------------------------------------------------------------
def test_split_sizes_match_pytorch():
    x = ember.arange(7.0)
    assert [p.tolist() for p in x.split(3)] == [[0, 1, 2], [3, 4, 5], [6]]
    assert [tuple(p.shape) for p in x.split([2, 5])] == [(2,), (5,)]


def test_chunk_may_return_fewer_pieces():
    assert [p.numel() for p in ember.arange(6.0).chunk(4)] == [2, 2, 2]


def test_chunk_of_an_empty_dim_returns_the_requested_number_of_pieces():
    assert len(ember.zeros(0, 3).chunk(3)) == 3


def test_iterating_a_tensor_yields_its_rows():
    x = ember.tensor([[1.0, 2.0], [3.0, 4.0]])
    assert [row.tolist() for row in x] == [[1.0, 2.0], [3.0, 4.0]]


def test_iterating_gives_gradients_to_each_row():
    x = leaf(3, 2)
    total = sum(row.sum() * (i + 1) for i, row in enumerate(x))
    total.backward()
    assert x.grad.tolist() == [[1, 1], [2, 2], [3, 3]]


def test_cat_promotes_dtypes():
    a = ember.ones(2, dtype=ember.int64)
    assert ember.cat([a, ember.ones(2)]).dtype == ember.float32
    assert ember.cat([ember.ones(2, dtype=ember.bool), ember.ones(2, dtype=ember.int32)]).dtype \
        == ember.int32


def test_cat_gradients_come_back_in_each_input_dtype():
    a = ember.ones(2, dtype=ember.float32, requires_grad=True)
    b = ember.ones(2, dtype=ember.float64, requires_grad=True)
    out = ember.cat([a, b])
    assert out.dtype == ember.float64
    out.sum().backward()
    assert a.grad.dtype == ember.float32 and b.grad.dtype == ember.float64


def test_cat_skips_legacy_empty_1d_tensors():
    x = leaf(2, 3)
    out = ember.cat([x, ember.zeros(0)])
    assert out.shape == (2, 3)


def test_stack_of_scalars_makes_a_vector():
    assert ember.stack([ember.tensor(1.0), ember.tensor(2.0)]).tolist() == [1.0, 2.0]


def test_repeat_matches_numpy_tile():
    x = ember.tensor([[1.0, 2.0]])
    assert x.repeat(2, 2).tolist() == np.tile([[1.0, 2.0]], (2, 2)).tolist()


def test_flip_returns_a_reversed_copy():
    assert ember.tensor([1.0, 2.0, 3.0]).flip(0).tolist() == [3.0, 2.0, 1.0]


def test_roll_without_dims_rolls_the_flattened_tensor():
    x = ember.tensor([[1.0, 2.0], [3.0, 4.0]])
    assert x.roll(1).tolist() == [[4.0, 1.0], [2.0, 3.0]]


def test_fliplr_and_flipud():
    x = ember.tensor([[1.0, 2.0], [3.0, 4.0]])
    assert ember.fliplr(x).tolist() == [[2.0, 1.0], [4.0, 3.0]]
    assert ember.flipud(x).tolist() == [[3.0, 4.0], [1.0, 2.0]]


# ----- errors ---------------------------------------------------------------------------
def test_cat_mismatched_sizes_names_the_sizes():
    with pytest.raises(RuntimeError, match="Sizes of tensors must match except in dimension 1. "
                       "Expected size 4 but got size 3 for tensor number 1 in the list."):
        ember.cat([ember.ones(2, 3, 4), ember.ones(2, 2, 3)], 1)


def test_cat_mismatched_ndim():
    with pytest.raises(RuntimeError, match="Tensors must have same number of dimensions: got 2 "
                       "and 1"):
        ember.cat([ember.ones(2, 3), ember.ones(3)])


def test_cat_empty_list():
    with pytest.raises(ValueError, match="expected a non-empty list of Tensors"):
        ember.cat([])


def test_cat_zero_dim_tensor():
    with pytest.raises(RuntimeError, match=r"zero-dimensional tensor \(at position 0\) cannot be "
                       "concatenated"):
        ember.cat([ember.tensor(1.0), ember.tensor(2.0)])


def test_cat_of_a_non_tensor_element():
    with pytest.raises(TypeError, match="expected Tensor as element 1 in argument 0, but got int"):
        ember.cat([ember.ones(2), 1])


def test_cat_dim_out_of_range():
    with pytest.raises(IndexError, match=r"Dimension out of range \(expected to be in range of "
                       r"\[-2, 1\], but got 2\)"):
        ember.cat([ember.ones(2, 3)], 2)


def test_stack_unequal_shapes():
    with pytest.raises(RuntimeError, match=r"stack expects each tensor to be equal size, but got "
                       r"\[2, 3\] at entry 0 and \[3\] at entry 1"):
        ember.stack([ember.ones(2, 3), ember.ones(3)])


def test_split_sizes_must_sum_to_the_dim():
    with pytest.raises(RuntimeError, match=r"split_with_sizes expects split_sizes to sum "
                       r"exactly to 4 \(input tensor's size at dimension 0\), but got "
                       r"split_sizes=\[1, 2\]"):
        ember.ones(4).split([1, 2])


def test_split_size_zero():
    with pytest.raises(RuntimeError, match="split_size can only be 0 if dimension size is 0"):
        ember.ones(4).split(0)


def test_chunk_needs_positive_chunks():
    with pytest.raises(RuntimeError, match="chunk expects `chunks` to be greater than 0, got: 0"):
        ember.ones(4).chunk(0)


def test_view_of_incompatible_layout():
    with pytest.raises(RuntimeError, match="view size is not compatible"):
        ember.ones(2, 3).t().view(6)


def test_view_of_wrong_size():
    with pytest.raises(RuntimeError, match=r"shape '\[5, 5\]' is invalid for input of size 24"):
        ember.ones(2, 3, 4).view(5, 5)


def test_view_with_two_inferred_dims():
    with pytest.raises(RuntimeError, match="only one dimension can be inferred"):
        ember.ones(4).view(-1, -1)


def test_narrow_past_the_end():
    with pytest.raises(RuntimeError, match=r"start \(2\) \+ length \(2\) exceeds dimension size "
                       r"\(3\)."):
        ember.ones(2, 3).narrow(1, 2, 2)


def test_select_out_of_range():
    with pytest.raises(IndexError, match=r"select\(\): index 3 out of range for tensor of size "
                       r"\[2, 3\] at dimension 1"):
        ember.ones(2, 3).select(1, 3)


def test_repeat_with_fewer_sizes_than_dims():
    with pytest.raises(RuntimeError, match="Number of dimensions of repeat dims can not be "
                       "smaller than number of dimensions of tensor"):
        ember.ones(2, 3).repeat(2)


def test_flip_with_repeated_dims():
    with pytest.raises(RuntimeError, match="dim 0 appears multiple times in the list of dims"):
        ember.ones(2, 3).flip(0, 0)


def test_roll_shifts_and_dims_must_align():
    with pytest.raises(RuntimeError, match="shifts and dimensions must align. shifts: 2, dims:1"):
        ember.ones(2, 3).roll((1, 2), 0)


def test_unbind_of_a_scalar():
    with pytest.raises(IndexError, match="Dimension specified as 0 but tensor has no dimensions"):
        ember.tensor(1.0).unbind()


def test_iteration_over_a_scalar():
    with pytest.raises(TypeError, match="iteration over a 0-d tensor"):
        iter(ember.tensor(1.0))


def test_expand_to_incompatible_size():
    with pytest.raises(RuntimeError, match=r"The expanded size of the tensor \(4\) must match the "
                       r"existing size \(3\) at non-singleton dimension 1"):
        ember.ones(2, 3).expand(2, 4)


# ----- tensor_split, repeat_interleave, rot90, diff ---------------------------------------

def test_tensor_split_sections_grad():
    check_op(lambda lib, a: lib.tensor_split(a, 3, 1), (2, 7))


def test_tensor_split_indices_grad():
    check_op(lambda lib, a: a.tensor_split([1, 4], dim=1), (2, 7))


def test_tensor_split_sections_put_the_extra_elements_first():
    parts = ember.tensor_split(ember.arange(10.0), 3)
    assert [p.tolist() for p in parts] == [[0, 1, 2, 3], [4, 5, 6], [7, 8, 9]]


def test_tensor_split_indices_follow_slice_rules():
    parts = ember.tensor_split(ember.arange(10.0), [2, 8, 5, 12])
    assert [len(p) for p in parts] == [2, 6, 0, 5, 0]
    assert [p.tolist() for p in ember.tensor_split(ember.arange(4.0), [-1])] == [[0, 1, 2], [3]]


def test_tensor_split_pieces_are_slice_views():
    x = leaf(2, 6)
    parts = ember.tensor_split(x, ember.tensor(2), 1)
    assert [grad_fn_name(p) for p in parts] == ["SliceBackward0", "SliceBackward0"]
    assert parts[1]._base is x


def test_tensor_split_errors_match_torch():
    with pytest.raises(RuntimeError, match="number of sections must be larger than 0, got 0"):
        ember.tensor_split(ember.zeros(4), 0)
    with pytest.raises(RuntimeError, match="tensor_split expected at least a 1-dimensional "
                       "tensor, but got a tensor with 0 dims"):
        ember.tensor_split(ember.tensor(1.0), 2)
    with pytest.raises(RuntimeError, match="to have dtype of long, but got Float"):
        ember.tensor_split(ember.zeros(4), ember.tensor([1.0]))


def test_repeat_interleave_int_grad():
    check_op(lambda lib, a: lib.repeat_interleave(a, 2, 1), (2, 3))


def test_repeat_interleave_flattens_without_dim_grad():
    check_op(lambda lib, a: a.repeat_interleave(3), (2, 3))


def test_repeat_interleave_tensor_repeats_grad():
    check_op(lambda lib, a: lib.repeat_interleave(a, lib.tensor([1, 0, 2]), dim=1), (2, 3))


def test_repeat_interleave_grad_fn_names_match_torch():
    x = leaf(2, 3)
    assert grad_fn_name(ember.repeat_interleave(x, 2, 0)) == "ViewBackward0"
    assert grad_fn_name(x.repeat_interleave(ember.tensor([1, 2]), dim=0)) == (
        "IndexSelectBackward0")


def test_repeat_interleave_of_counts_alone():
    assert ember.repeat_interleave(ember.tensor([2, 0, 1])).tolist() == [0, 0, 2]


def test_repeat_interleave_errors_match_torch():
    with pytest.raises(RuntimeError, match=r"repeats must have the same size as input along dim, "
                       r"but got repeats.size\(0\) = 2 and input.size\(0\) = 3"):
        ember.repeat_interleave(ember.zeros(3), ember.tensor([1, 2]))
    with pytest.raises(RuntimeError, match="repeats can not be negative"):
        ember.repeat_interleave(ember.zeros(3), ember.tensor([1, -2, 1]))
    with pytest.raises(RuntimeError, match="Repeats must be non-negative"):
        ember.repeat_interleave(ember.zeros(3), -1)


@pytest.mark.parametrize("k, dims", [(1, (1, 2)), (2, (0, 2)), (-1, (2, 0)), (7, (0, 1))])
def test_rot90_grad(k, dims):
    check_op(lambda lib, a: lib.rot90(a, k, dims), (2, 3, 4))


def test_rot90_records_rot90_backward():
    assert grad_fn_name(leaf(2, 3).rot90()) == "Rot90Backward0"


def test_rot90_errors_match_torch():
    with pytest.raises(RuntimeError, match="expected total dims >= 2, but got total dims = 1"):
        ember.rot90(ember.zeros(3))
    with pytest.raises(RuntimeError, match="expected total rotation dims == 2, but got dims = 1"):
        ember.rot90(ember.zeros(2, 3), 1, [0])
    with pytest.raises(RuntimeError, match="expected rotation dims to be different, but got "
                       "dim0 = 0 and dim1 = 0"):
        ember.rot90(ember.zeros(2, 3), 1, [0, 0])


def test_diff_with_prepend_and_append_grad():
    check_op(lambda lib, a, b, c: lib.diff(a, 2, 0, prepend=b, append=c), (4, 3), (2, 3), (1, 3))


def test_diff_of_bools_is_xor():
    assert ember.diff(ember.tensor([True, False, False])).tolist() == [True, False]


def test_diff_order_beyond_length_is_empty():
    assert ember.diff(ember.arange(3.0), 5).shape == (0,)


def test_diff_errors_match_torch():
    with pytest.raises(RuntimeError, match="diff expects input to be at least one-dimensional"):
        ember.diff(ember.tensor(1.0))
    with pytest.raises(RuntimeError, match="order must be non-negative but got -1"):
        ember.diff(ember.zeros(3), -1)
    with pytest.raises(RuntimeError, match="diff expects prepend or append to be the same "
                       "dimension as input"):
        ember.diff(ember.zeros(3), prepend=ember.zeros(2, 2))


# ----- meshgrid, cartesian_prod, atleast_nd, column_stack, dstack -------------------------

@pytest.mark.parametrize("indexing", ["ij", "xy"])
def test_meshgrid_grad(indexing):
    check_op(lambda lib, a, b, c: lib.meshgrid(a, b, c, indexing=indexing), (3,), (4,), (2,))


def test_meshgrid_without_indexing_warns_and_uses_ij():
    with pytest.warns(UserWarning, match="it will be required to pass the indexing argument"):
        grids = ember.meshgrid(ember.zeros(2), ember.zeros(3))
    assert [g.shape for g in grids] == [(2, 3), (2, 3)]


def test_meshgrid_accepts_a_list_and_scalars():
    grids = ember.meshgrid([ember.zeros(2), ember.tensor(3.0)], indexing="xy")
    assert [g.shape for g in grids] == [(1, 2), (1, 2)]


def test_meshgrid_errors_match_torch():
    with pytest.raises(RuntimeError, match='indexing must be one of "xy" or "ij", but received: '
                       "foo"):
        ember.meshgrid(ember.zeros(2), indexing="foo")
    with pytest.raises(RuntimeError, match="meshgrid expects all tensors to have the same dtype"):
        ember.meshgrid(ember.zeros(2), ember.tensor([1, 2]), indexing="ij")
    with pytest.raises(RuntimeError, match="Expected 0D or 1D tensor in the tensor list"):
        ember.meshgrid(ember.zeros(2, 2), indexing="ij")


def test_cartesian_prod_grad():
    check_op(lambda lib, a, b: lib.cartesian_prod(a, b), (3,), (4,))


def test_cartesian_prod_rejects_non_vectors():
    with pytest.raises(RuntimeError, match=r"Expect a 1D vector, but got shape \[2, 1\]"):
        ember.cartesian_prod(ember.zeros(2), ember.zeros(2, 1))


def test_atleast_nd_shapes_match_torch():
    s, v, m = ember.tensor(1.0), ember.zeros(3), ember.zeros(2, 3)
    assert ember.atleast_1d(s).shape == (1,)
    assert [t.shape for t in ember.atleast_2d(s, v, m)] == [(1, 1), (1, 3), (2, 3)]
    assert [t.shape for t in ember.atleast_3d([s, v, m])] == [(1, 1, 1), (1, 3, 1), (2, 3, 1)]
    assert ember.atleast_2d(m) is m


def test_atleast_3d_grad():
    check_op(lambda lib, a, b: lib.atleast_3d(a, b), (3,), (2, 4))


def test_column_stack_grad():
    check_op(lambda lib, a, b: lib.column_stack([a, b]), (3,), (3, 4))


def test_dstack_grad():
    check_op(lambda lib, a, b: lib.dstack([a, b]), (3,), (3,))


def test_column_stack_and_dstack_of_nothing_raise():
    with pytest.raises(RuntimeError, match="column_stack expects a non-empty TensorList"):
        ember.column_stack([])
    with pytest.raises(RuntimeError, match="dstack expects a non-empty TensorList"):
        ember.dstack([])
