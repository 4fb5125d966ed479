"""Tensor factories: dtype inference, memory sharing, shapes, random generators."""

from __future__ import annotations

import numpy as np
import pytest

import ember


# ----- tensor(): dtype inference --------------------------------------------------------
@pytest.mark.parametrize(
    "data, expected",
    [
        ([1.5, 2.0], ember.float32),
        (1.5, ember.float32),
        ([1, 2], ember.int64),
        (3, ember.int64),
        ([True, False], ember.bool),
        (True, ember.bool),
        ([1, 2.5], ember.float32),
        ([True, 2], ember.int64),
        ([], ember.float32),
        (np.array([1.0]), ember.float64),
        (np.float64(2.0), ember.float64),
        ([np.float64(1.0), 2.0], ember.float64),
        (np.array([1], dtype=np.int32), ember.int32),
        (np.int32(3), ember.int32),
        ([np.int32(1), np.int32(2)], ember.int32),
        ([np.int32(1), 2], ember.int64),
        ([np.float16(1.0), 2.5], ember.float32),
        (np.float32(1.0), ember.float32),
    ],
    ids=[
        "floats", "float", "ints", "int", "bools", "bool", "int+float", "bool+int", "empty",
        "np-f64-array", "np-f64-scalar", "np-f64-in-list", "np-i32-array", "np-i32-scalar",
        "np-i32-list", "np-i32+int", "np-f16+float", "np-f32-scalar",
    ],
)
def test_tensor_infers_dtype_like_pytorch(data, expected):
    assert ember.tensor(data).dtype is expected


def test_tensor_of_tensors_keeps_their_dtype():
    t = ember.tensor([ember.tensor(1.0, dtype=ember.float64), 2.0])
    assert t.dtype is ember.float64 and t.tolist() == [1.0, 2.0]


def test_tensor_with_explicit_dtype():
    assert ember.tensor([1, 2], dtype=ember.float32).tolist() == [1.0, 2.0]
    assert ember.tensor([1, 0], dtype=ember.bool).tolist() == [True, False]


def test_tensor_copies_its_data():
    arr = np.array([1.0, 2.0])
    t = ember.tensor(arr)
    arr[0] = 100.0
    assert t.tolist() == [1.0, 2.0]
    src = ember.tensor([1.0])
    assert ember.tensor(src).data_ptr() != src.data_ptr()


def test_tensor_requires_grad_makes_a_trainable_leaf():
    t = ember.tensor([1.0, 2.0], requires_grad=True)
    assert t.requires_grad and t.is_leaf and t.grad_fn is None


def test_tensor_shapes_from_nesting():
    assert ember.tensor([[1, 2], [3, 4]]).shape == (2, 2)
    assert ember.tensor([[]]).shape == (1, 0)
    assert ember.tensor(5).shape == ()


def test_ragged_nested_list_raises_a_clear_error():
    with pytest.raises(ValueError, match=r"^expected sequence of length 2 at dim 1 \(got 1\)$"):
        ember.tensor([[1, 2], [3]])
    with pytest.raises(ValueError, match=r"expected sequence of length 1 at dim 2 \(got 2\)"):
        ember.tensor([[[1], [2]], [[1], [2, 3]]])


def test_unsupported_data_raises():
    with pytest.raises(RuntimeError, match="^Could not infer dtype of dict$"):
        ember.tensor({"a": 1})
    with pytest.raises(RuntimeError, match="^Could not infer dtype of dict$"):
        ember.tensor([{"a": 1}])


# ----- as_tensor / from_numpy -----------------------------------------------------------
def test_from_numpy_shares_memory_and_keeps_dtype():
    arr = np.ones(3)
    t = ember.from_numpy(arr)
    arr[0] = 5.0
    assert t.dtype is ember.float64 and t.tolist() == [5.0, 1.0, 1.0]
    t.numpy()[1] = 7.0
    assert arr[1] == 7.0


def test_from_numpy_rejects_non_arrays():
    with pytest.raises(TypeError, match=r"expected np.ndarray \(got list\)"):
        ember.from_numpy([1, 2])


def test_as_tensor_shares_memory_with_an_array():
    arr = np.ones(2)
    t = ember.as_tensor(arr)
    arr[0] = 9.0
    assert t.tolist() == [9.0, 1.0]


def test_as_tensor_returns_a_tensor_itself_and_converts_lists():
    t = ember.ones(2)
    assert ember.as_tensor(t) is t
    assert ember.as_tensor([1, 2]).dtype is ember.int64
    assert ember.as_tensor(np.ones(2), dtype=ember.float32).dtype is ember.float32


# ----- filled factories -----------------------------------------------------------------
@pytest.mark.parametrize("args", [(2, 3), ((2, 3),), ([2, 3],), (ember.Size([2, 3]),)],
                         ids=["varargs", "tuple", "list", "Size"])
def test_size_arguments(args):
    for make in (ember.zeros, ember.ones, ember.empty, ember.rand, ember.randn):
        t = make(*args)
        assert t.shape == (2, 3) and isinstance(t.shape, ember.Size)


def test_zeros_ones_values_and_default_dtype():
    assert ember.zeros(2).tolist() == [0.0, 0.0] and ember.zeros(2).dtype is ember.float32
    assert ember.ones(2, dtype=ember.int64).tolist() == [1, 1]
    assert ember.zeros(()).shape == ()


def test_negative_size_raises():
    with pytest.raises(
        RuntimeError, match=r"^Trying to create tensor with negative dimension -1: \[2, -1, -3\]$"
    ):
        ember.ones(2, -1, -3)


def test_full_infers_dtype_from_the_fill_value():
    assert ember.full((2,), 7).dtype is ember.int64
    assert ember.full((2,), 7.0).dtype is ember.float32
    assert ember.full((2,), True).dtype is ember.bool
    assert ember.full([2, 1], 1.5).tolist() == [[1.5], [1.5]]


def test_empty_has_the_shape_and_dtype():
    t = ember.empty(2, 3, dtype=ember.float64)
    assert t.shape == (2, 3) and t.dtype is ember.float64


def test_arange():
    assert ember.arange(5).tolist() == [0, 1, 2, 3, 4]
    assert ember.arange(5).dtype is ember.int64
    assert ember.arange(1, 4).tolist() == [1, 2, 3]
    assert ember.arange(0, 1, 0.25).tolist() == [0.0, 0.25, 0.5, 0.75]
    assert ember.arange(3.0).dtype is ember.float32
    assert ember.arange(5, 0, -2).tolist() == [5, 3, 1]
    assert ember.arange(0).shape == (0,)
    assert ember.arange(3, dtype=ember.float64).dtype is ember.float64


def test_arange_errors():
    with pytest.raises(RuntimeError, match="step must be nonzero"):
        ember.arange(0, 1, 0)
    with pytest.raises(RuntimeError,
                       match="upper bound and lower bound inconsistent with step sign"):
        ember.arange(0, 5, -1)


def test_linspace():
    assert ember.linspace(0, 1, 5).tolist() == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert ember.linspace(0, 1, 1).tolist() == [0.0]
    assert ember.linspace(0, 10, 3, dtype=ember.int64).tolist() == [0, 5, 10]
    assert ember.linspace(0, 1, 3).dtype is ember.float32


def test_eye():
    assert ember.eye(2).tolist() == [[1.0, 0.0], [0.0, 1.0]]
    assert ember.eye(2, 3).tolist() == [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]


def test_like_factories_take_shape_and_dtype():
    i = ember.tensor([1, 2])
    f = ember.tensor([[1.0, 2.0]], dtype=ember.float64)
    assert ember.zeros_like(i).tolist() == [0, 0] and ember.zeros_like(i).dtype is ember.int64
    assert ember.ones_like(f).dtype is ember.float64 and ember.ones_like(f).shape == (1, 2)
    assert ember.ones_like(i, dtype=ember.float32).dtype is ember.float32
    assert ember.full_like(i, 3.7).tolist() == [3, 3]
    assert ember.empty_like(f).shape == (1, 2)
    assert ember.rand_like(f).dtype is ember.float64 and ember.rand_like(f).shape == (1, 2)
    assert ember.randn_like(f).dtype is ember.float64


def test_like_factories_do_not_copy_requires_grad():
    x = ember.ones(2, requires_grad=True)
    assert not ember.zeros_like(x).requires_grad
    assert ember.zeros_like(x, requires_grad=True).requires_grad


def test_rand_like_of_an_integer_tensor_raises():
    with pytest.raises(NotImplementedError):
        ember.rand_like(ember.tensor([1, 2]))
    with pytest.raises(NotImplementedError):
        ember.randn_like(ember.tensor([True]))


# ----- random ---------------------------------------------------------------------------
def test_rand_is_uniform_in_unit_interval():
    ember.manual_seed(0)
    t = ember.rand(1000)
    assert t.dtype is ember.float32
    assert 0.0 <= t.min().item() and t.max().item() < 1.0
    assert abs(t.mean().item() - 0.5) < 0.05


def test_randn_is_standard_normal():
    ember.manual_seed(0)
    t = ember.randn(4000, dtype=ember.float64)
    assert t.dtype is ember.float64
    assert abs(t.mean().item()) < 0.1
    assert abs(t.std().item() - 1.0) < 0.1


def test_randint_range_dtype_and_forms():
    ember.manual_seed(0)
    t = ember.randint(3, 6, (200,))
    assert t.dtype is ember.int64
    assert set(t.tolist()) == {3, 4, 5}
    assert ember.randint(5, (2, 2)).shape == (2, 2)
    assert ember.randint(3, 4, (3,)).tolist() == [3, 3, 3]


def test_manual_seed_makes_runs_reproducible():
    def draw():
        return (ember.rand(3).tolist(), ember.randn(2, 2).tolist(),
                ember.randint(0, 100, (4,)).tolist())

    ember.manual_seed(123)
    first = draw()
    ember.manual_seed(123)
    second = draw()
    assert first == second
    ember.manual_seed(124)
    assert ember.rand(3).tolist() != first[0]


def test_generator_argument_is_independent_of_the_global_seed():
    g = ember.Generator().manual_seed(7)
    a = ember.randn(3, generator=g).tolist()
    ember.randn(5)
    g.manual_seed(7)
    assert ember.randn(3, generator=g).tolist() == a


def test_factories_under_inference_mode_make_inference_tensors():
    with ember.inference_mode():
        t = ember.zeros(2)
    assert t.is_inference()
    assert not ember.zeros(2).is_inference()


def test_float64_tensor_from_python_floats_keeps_full_precision():
    assert ember.tensor([0.1], dtype=ember.float64).item() == 0.1
    assert ember.tensor(0.1, dtype=ember.float64).item() == 0.1
    assert ember.tensor([[0.1, 0.2]], dtype=ember.float64).tolist() == [[0.1, 0.2]]
