"""The Tensor class: attributes, conversions, and printing like PyTorch."""

from __future__ import annotations

import numpy as np
import pytest

import ember

ONE_ELEMENT = "only one element tensors can be converted to Python scalars"


@pytest.fixture
def x():
    return ember.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])


# ----- shape and size -------------------------------------------------------------------
def test_shape_is_an_ember_size(x):
    assert isinstance(x.shape, ember.Size) and isinstance(x.shape, tuple)
    assert x.shape == (2, 3)
    assert repr(x.shape) == "ember.Size([2, 3])"
    assert repr(ember.tensor(1.0).shape) == "ember.Size([])"


def test_size_method(x):
    assert x.size() == (2, 3) and isinstance(x.size(), ember.Size)
    assert x.size(1) == 3 and x.size(-1) == 3 and x.size(0) == 2


def test_size_of_a_missing_dim_raises(x):
    with pytest.raises(
        IndexError,
        match=r"Dimension out of range \(expected to be in range of \[-2, 1\], but got 2\)",
    ):
        x.size(2)


def test_size_slices_and_sums_stay_sizes(x):
    assert repr(x.shape[1:]) == "ember.Size([3])"
    assert repr(x.shape + (1,)) == "ember.Size([2, 3, 1])"
    assert repr((1,) + x.shape) == "ember.Size([1, 2, 3])"
    assert x.shape[0] == 2 and type(x.shape[0]) is int
    assert x.shape.numel() == 6


def test_dim_ndim_numel(x):
    assert (x.dim(), x.ndim, x.ndimension()) == (2, 2, 2)
    assert (x.numel(), x.nelement()) == (6, 6)
    assert ember.tensor(3.0).dim() == 0 and ember.tensor(3.0).numel() == 1


def test_len(x):
    assert len(x) == 2
    assert len(ember.zeros(0)) == 0
    with pytest.raises(TypeError, match="len\\(\\) of a 0-d tensor"):
        len(ember.tensor(1.0))


def test_T_reverses_the_dims(x):
    assert x.T.tolist() == [[1.0, 4.0], [2.0, 5.0], [3.0, 6.0]]
    assert ember.zeros(2, 3, 4).T.shape == (4, 3, 2)


def test_device_is_cpu(x):
    assert x.device == "cpu" and str(x.device) == "cpu"
    assert not x.is_cuda
    assert x.cpu() is x


def test_element_size_and_nbytes(x):
    assert x.element_size() == 4 and x.nbytes == 24
    assert ember.tensor([1]).element_size() == 8


def test_is_floating_point(x):
    assert x.is_floating_point()
    assert not ember.tensor([1]).is_floating_point()


# ----- conversions ----------------------------------------------------------------------
def test_item_returns_a_python_number():
    assert ember.tensor([2.5]).item() == 2.5 and type(ember.tensor([2.5]).item()) is float
    assert type(ember.tensor([[3]]).item()) is int
    assert ember.tensor(True).item() is True


def test_item_of_an_empty_tensor_raises():
    with pytest.raises(RuntimeError,
                       match="a Tensor with 0 elements cannot be converted to Scalar"):
        ember.tensor([]).item()


def test_tolist(x):
    assert x.tolist() == [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]
    assert ember.tensor(2.0).tolist() == 2.0
    assert ember.tensor([1, 2]).tolist() == [1, 2]


def test_array_protocol(x):
    arr = np.asarray(x)
    assert arr.dtype == np.float32 and arr.tolist() == x.tolist()
    assert np.asarray(x, dtype=np.float64).dtype == np.float64


def test_python_number_conversions():
    assert float(ember.tensor([2.5])) == 2.5
    assert int(ember.tensor(3.7)) == 3
    assert bool(ember.tensor([1.0])) and not bool(ember.tensor(0))
    assert list(range(10))[ember.tensor(2)] == 2


def test_python_number_conversion_of_many_elements_raises():
    with pytest.raises(ValueError, match=ONE_ELEMENT):
        float(ember.tensor([2.5, 1.0]))
    with pytest.raises(ValueError, match=ONE_ELEMENT):
        int(ember.tensor([1, 2]))


def test_truth_value_of_many_elements_raises():
    with pytest.raises(
        RuntimeError, match="Boolean value of Tensor with more than one value is ambiguous"
    ):
        bool(ember.tensor([1.0, 2.0]))


def test_float_tensor_is_not_an_index():
    with pytest.raises(TypeError, match="only integer tensors of a single element"):
        list(range(10))[ember.tensor(2.0)]


def test_data_ptr_is_an_int_and_shared_by_aliases(x):
    assert isinstance(x.data_ptr(), int)
    assert x.detach().data_ptr() == x.data_ptr()


def test_clone_copies_memory_and_is_differentiable():
    a = ember.tensor([1.0, 2.0], requires_grad=True)
    c = a.clone()
    assert c.data_ptr() != a.data_ptr() and c.tolist() == [1.0, 2.0]
    assert type(c.grad_fn).__name__ == "CloneBackward0"
    c.sum().backward()
    assert a.grad.tolist() == [1.0, 1.0]


def test_contiguous(x):
    assert x.contiguous() is x
    assert not x.T.is_contiguous()
    c = x.T.contiguous()
    assert c.is_contiguous() and c.tolist() == x.T.tolist()


def test_format_spec_on_a_scalar():
    assert f"{ember.tensor(2.5):.2f}" == "2.50"
    assert f"{ember.tensor([2.5])}" == "tensor([2.5000])"


def test_tensors_hash_by_identity(x):
    assert len({x, x, x.detach()}) == 2


def test_tensor_constructor():
    assert ember.Tensor([1, 2]).dtype is ember.float32
    assert ember.Tensor(np.ones(2)).dtype is ember.float32
    assert ember.Tensor(2, 3).shape == (2, 3)
    assert ember.Tensor().shape == (0,)
    assert isinstance(ember.ones(1), ember.Tensor)


# ----- repr -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "make, expected",
    [
        (lambda: ember.tensor([2.0], requires_grad=True), "tensor([2.], requires_grad=True)"),
        (lambda: (ember.tensor([1.0, 2.0, 3.0], requires_grad=True) ** 2).sum(),
         "tensor(14., grad_fn=<SumBackward0>)"),
        (lambda: ember.tensor([1.0, 2.0], dtype=ember.float64),
         "tensor([1., 2.], dtype=ember.float64)"),
        (lambda: ember.tensor([3.0, 12.0, 27.0]), "tensor([ 3., 12., 27.])"),
        (lambda: ember.tensor([1.0, 2.5]), "tensor([1.0000, 2.5000])"),
        (lambda: ember.tensor([0.1, 0.25, 100.0]), "tensor([  0.1000,   0.2500, 100.0000])"),
        (lambda: ember.tensor([1.0, 1e5]), "tensor([1.0000e+00, 1.0000e+05])"),
        (lambda: ember.tensor([1e-5, 1.0]), "tensor([1.0000e-05, 1.0000e+00])"),
        (lambda: ember.tensor(3.5), "tensor(3.5000)"),
        (lambda: ember.tensor(0.0), "tensor(0.)"),
        (lambda: ember.tensor(3), "tensor(3)"),
        (lambda: ember.tensor([1, 2, -30]), "tensor([  1,   2, -30])"),
        (lambda: ember.tensor([True, False]), "tensor([ True, False])"),
        (lambda: ember.tensor([float("nan"), 1.0, 10.0]), "tensor([nan,  1., 10.])"),
        (lambda: ember.tensor([float("inf"), 1e-6, -10.0]),
         "tensor([        inf,  1.0000e-06, -1.0000e+01])"),
        (lambda: ember.tensor([1, 2], dtype=ember.int32), "tensor([1, 2], dtype=ember.int32)"),
        (lambda: ember.tensor([1.5, 2.0], dtype=ember.float16),
         "tensor([1.5000, 2.0000], dtype=ember.float16)"),
        (lambda: ember.zeros(0), "tensor([])"),
        (lambda: ember.zeros(2, 0), "tensor([], size=(2, 0))"),
        (lambda: ember.tensor([], dtype=ember.int64), "tensor([], dtype=ember.int64)"),
        (lambda: ember.tensor([[1.0, -2.0], [300.0, 4.5]]),
         "tensor([[  1.0000,  -2.0000],\n        [300.0000,   4.5000]])"),
        (lambda: ember.tensor([[True, False], [False, False]]),
         "tensor([[ True, False],\n        [False, False]])"),
        (lambda: ember.ones(2, requires_grad=True) * 2,
         "tensor([2., 2.], grad_fn=<MulBackward0>)"),
    ],
    ids=[
        "requires_grad", "grad_fn", "float64", "int-mode-padding", "fixed", "fixed-padding",
        "sci-ratio", "sci-small", "scalar", "scalar-zero", "scalar-int", "ints", "bools",
        "nan", "inf-sci", "int32", "float16", "empty", "empty-2d", "empty-int64", "2d",
        "bool-2d", "mul",
    ],
)
def test_repr_matches_pytorch(make, expected):
    assert repr(make()) == expected


def test_repr_summarizes_large_tensors():
    assert repr(ember.arange(2000.0)) == (
        "tensor([0.0000e+00, 1.0000e+00, 2.0000e+00,  ..., 1.9970e+03, 1.9980e+03,\n"
        "        1.9990e+03])"
    )
    assert repr(ember.ones(3, 2000)) == (
        "tensor([[1., 1., 1.,  ..., 1., 1., 1.],\n"
        "        [1., 1., 1.,  ..., 1., 1., 1.],\n"
        "        [1., 1., 1.,  ..., 1., 1., 1.]])"
    )


def test_repr_wraps_long_rows_at_80_columns():
    text = repr(ember.arange(30.0) / 7)
    lines = text.split("\n")
    assert all(len(line) <= 80 for line in lines)
    assert lines[1].startswith("        ")


def test_repr_of_3d_tensor_separates_blocks_with_blank_lines():
    assert repr(ember.arange(8.0).reshape(2, 2, 2)) == (
        "tensor([[[0., 1.],\n"
        "         [2., 3.]],\n"
        "\n"
        "        [[4., 5.],\n"
        "         [6., 7.]]])"
    )


def test_repr_moves_suffixes_to_a_new_line_when_too_long():
    t = ember.arange(7.0, dtype=ember.float64, requires_grad=True) / 3 + 100
    assert repr(t) == (
        "tensor([100.0000, 100.3333, 100.6667, 101.0000, 101.3333, 101.6667, 102.0000],\n"
        "       dtype=ember.float64, grad_fn=<AddBackward0>)"
    )
    t = ember.arange(10.0, dtype=ember.float64, requires_grad=True) / 3 + 100
    assert repr(t).endswith("103.0000], dtype=ember.float64,\n       grad_fn=<AddBackward0>)")


def test_repr_follows_the_default_dtype():
    try:
        ember.set_default_dtype(ember.float64)
        assert repr(ember.tensor([1.0])) == "tensor([1.])"
        assert repr(ember.tensor([1.0], dtype=ember.float32)) == "tensor([1.], dtype=ember.float32)"
    finally:
        ember.set_default_dtype(ember.float32)


def test_str_is_repr():
    t = ember.tensor([1.0, 2.0])
    assert str(t) == repr(t)


def _random_arrays():
    rng = np.random.default_rng(0)
    for shape in [(), (1,), (5,), (3, 4), (2, 3, 4), (40,), (7, 20), (1001,), (2, 600),
                  (1200, 2), (3, 4, 100)]:
        base = rng.standard_normal(shape)
        yield np.asarray(base, np.float32)
        yield np.asarray(np.round(base * 10), np.float32)
        yield np.asarray(base * 1e9, np.float32)
        yield np.asarray(base * 1e-6, np.float32)
        yield np.asarray(base * 10.0 ** rng.integers(-3, 4, size=shape), np.float32)
        yield np.asarray(base > 0)
        yield np.round(base * 1000).astype(np.int64)
        yield np.asarray(base * 100, np.float64)
        yield np.asarray(base, np.float16)
        yield np.zeros(shape, np.float32)


def test_repr_matches_torch_on_many_arrays():
    torch = pytest.importorskip("torch")
    for arr in _random_arrays():
        expected = repr(torch.tensor(arr)).replace("torch.", "ember.")
        assert repr(ember.tensor(arr)) == expected, arr.shape


def test_deepcopy_of_a_leaf_copies_data_flag_and_grad():
    import copy

    t = ember.randn(3, requires_grad=True)
    (t * 2).sum().backward()
    c = copy.deepcopy(t)
    assert c.requires_grad and c.is_leaf and c.data_ptr() != t.data_ptr()
    assert c.grad.tolist() == [2.0, 2.0, 2.0] and c.grad is not t.grad


def test_deepcopy_of_a_non_leaf_raises_like_torch():
    import copy

    with pytest.raises(RuntimeError, match="graph leaves"):
        copy.deepcopy(ember.randn(2, requires_grad=True) * 2)
