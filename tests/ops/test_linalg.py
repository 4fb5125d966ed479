"""Linear algebra: products, einsum, diagonals, cross/cdist and ember.linalg, each checked
by gradcheck, gradgradcheck and torch; then dtypes, errors and return types."""

import warnings

import numpy as np
import pytest

import ember
from tests.helpers import check_op, grad_fn_name


def _spd(lib, a):
    """A symmetric positive-definite matrix (batch) built from `a`."""
    n = a.shape[-1]
    return a @ a.mT + n * lib.eye(n, dtype=a.dtype)


def _sym(lib, a):
    return a + a.mT


# ----- products with an added term --------------------------------------------------------
def test_addmm_broadcast_input_and_scalars():
    check_op(lambda lib, c, a, b: lib.addmm(c, a, b, beta=0.5, alpha=2.0), (4,), (3, 2), (2, 4))


def test_addmv():
    check_op(lambda lib, c, a, v: lib.addmv(c, a, v, alpha=-1.5), (3,), (3, 4), (4,))


def test_baddbmm():
    check_op(lambda lib, c, a, b: lib.baddbmm(c, a, b, beta=2.0), (3, 4), (2, 3, 5), (2, 5, 4))


def test_outer_and_ger():
    check_op(lambda lib, a, b: lib.outer(a, b) + a.ger(b), (3,), (4,))


# ----- einsum, tensordot, kron ----------------------------------------------------------------
def test_einsum_matrix_product():
    check_op(lambda lib, a, b: lib.einsum("ij,jk->ik", a, b), (3, 4), (4, 2))


def test_einsum_batched_with_ellipsis():
    check_op(lambda lib, a, b: lib.einsum("...ij,...jk", a, b), (2, 1, 3, 4), (5, 4, 2))


def test_einsum_three_operands_list_form():
    check_op(lambda lib, a, b, c: lib.einsum("i,ij,j->", [a, b, c]), (3,), (3, 4), (4,))


def test_einsum_implicit_output_is_sorted():
    check_op(lambda lib, a, b: lib.einsum("ba,cb", a, b), (3, 2), (4, 3))


def test_einsum_diagonal_and_trace():
    check_op(lambda lib, a: lib.einsum("ii->i", a) + lib.einsum("ii", a), (3, 3))


def test_einsum_sums_labels_only_one_operand_has():
    check_op(lambda lib, a, b: lib.einsum("ij,k->ik", a, b), (3, 4), (2,))


def test_einsum_broadcasts_size_one_dims():
    check_op(lambda lib, a, b: lib.einsum("bij,bjk->bik", a, b), (1, 3, 4), (2, 4, 2))


def test_einsum_same_tensor_twice():
    check_op(lambda lib, a: lib.einsum("ij,ij->i", a, a), (3, 4))


def test_tensordot_int_dims():
    check_op(lambda lib, a, b: lib.tensordot(a, b, 2), (2, 3, 4), (3, 4, 5))


def test_tensordot_dim_lists():
    check_op(lambda lib, a, b: lib.tensordot(a, b, dims=([0, 2], [1, 0])), (2, 3, 4), (4, 2))


def test_kron():
    check_op(lambda lib, a, b: lib.kron(a, b), (2, 3), (3,))


# ----- diagonals, triangles, trace --------------------------------------------------------
def test_diagonal_offset_and_dims():
    check_op(lambda lib, a: lib.diagonal(a, 1, 0, 2), (3, 2, 4))


def test_diag_embed():
    check_op(lambda lib, a: lib.diag_embed(a, -1, 0, 2), (2, 3))


def test_diag_of_vector_and_matrix():
    check_op(lambda lib, v, m: lib.diag(v, 1).sum() * lib.diag(m, -1), (3,), (4, 3))


def test_tril_triu():
    check_op(lambda lib, a: a.tril(-1) * 2 + lib.triu(a, 1), (2, 3, 4))


def test_trace():
    check_op(lambda lib, a: lib.trace(a) * a, (3, 4))


# ----- cross, cdist ---------------------------------------------------------------------------
def test_cross_broadcast():
    check_op(lambda lib, a, b: lib.linalg.cross(a, b), (2, 3), (1, 3))


def test_cross_with_dim():
    check_op(lambda lib, a, b: lib.cross(a, b, dim=0), (3, 4), (3, 4))


@pytest.mark.parametrize("p", [2.0, 1.0, 3.0, float("inf")])
def test_cdist(p):
    check_op(lambda lib, a, b: lib.cdist(a, b, p=p), (2, 4, 3), (5, 3))


def test_cdist_many_points_matches_torch():
    check_op(lambda lib, a, b: lib.cdist(a, b), (30, 3), (4, 3), atol=1e-4)


# ----- ember.linalg ---------------------------------------------------------------------------
def test_inv():
    check_op(lambda lib, a: lib.linalg.inv(_spd(lib, a)), (2, 3, 3))


def test_det():
    check_op(lambda lib, a: lib.linalg.det(a + 3 * lib.eye(3, dtype=a.dtype)), (2, 3, 3))


def test_slogdet():
    check_op(lambda lib, a: lib.linalg.slogdet(a + 3 * lib.eye(3, dtype=a.dtype)).logabsdet,
             (3, 3))


def test_logdet():
    check_op(lambda lib, a: lib.logdet(_spd(lib, a)), (3, 3))


def test_solve_matrix():
    check_op(lambda lib, a, b: lib.linalg.solve(_spd(lib, a), b), (3, 3), (2, 3, 2))


def test_solve_batch_of_vectors():
    check_op(lambda lib, a, b: lib.linalg.solve(_spd(lib, a), b), (2, 3, 3), (2, 3))


def test_cholesky():
    check_op(lambda lib, a: lib.linalg.cholesky(_spd(lib, a)), (2, 3, 3))


def test_cholesky_upper():
    check_op(lambda lib, a: lib.linalg.cholesky(_spd(lib, a), upper=True), (3, 3))


def test_qr_tall():
    check_op(lambda lib, a: lib.linalg.qr(a), (4, 3))


def test_qr_wide():
    check_op(lambda lib, a: lib.linalg.qr(a), (3, 5))


def test_qr_only_r_used():
    check_op(lambda lib, a: lib.linalg.qr(a).R, (2, 4, 3))


def test_eigh_eigenvalues():
    check_op(lambda lib, a: lib.linalg.eigvalsh(_sym(lib, a)), (2, 4, 4))


def test_eigh_sign_free_function_of_eigenvectors():
    check_op(lambda lib, a: lib.linalg.eigh(_sym(lib, a)).eigenvectors ** 2, (4, 4))


def test_svdvals():
    check_op(lambda lib, a: lib.linalg.svdvals(a), (4, 3))


def test_svd_reduced_sign_free():
    def fn(lib, a):
        u, s, vh = lib.linalg.svd(a, full_matrices=False)
        return u ** 2, s, vh ** 2, u @ vh

    check_op(fn, (4, 3))


def test_svd_wide_full_matrices_uses_the_first_rows_of_vh():
    def fn(lib, a):
        u, s, vh = lib.linalg.svd(a)
        return u ** 2, vh[..., :2, :] ** 2

    check_op(fn, (2, 3))


def test_pinv():
    check_op(lambda lib, a: lib.linalg.pinv(a), (4, 3))


def test_pinv_wide():
    check_op(lambda lib, a: lib.pinverse(a), (2, 4))


@pytest.mark.parametrize("ord", ["fro", "nuc", 1, -1, 2, -2, float("inf"), -float("inf")])
def test_matrix_norm(ord):
    check_op(lambda lib, a: lib.linalg.matrix_norm(a, ord), (2, 3, 4))


def test_matrix_norm_keepdim_and_dims():
    check_op(lambda lib, a: lib.linalg.matrix_norm(a, 1, dim=(0, 2), keepdim=True), (3, 2, 4))


def test_linalg_norm_vector_and_matrix():
    check_op(lambda lib, a: lib.linalg.norm(a) + lib.linalg.norm(a, 1, dim=1).sum()
             + lib.linalg.norm(a[0], 3), (3, 4))


def test_linalg_norm_of_matrix_with_ord():
    check_op(lambda lib, a: lib.linalg.norm(a, float("inf")), (3, 4))


def test_vector_norm_is_reductions():
    check_op(lambda lib, a: lib.linalg.vector_norm(a, 3, dim=-1), (3, 4))


def test_multi_dot():
    check_op(lambda lib, a, b, c: lib.linalg.multi_dot([a, b, c]), (3,), (3, 4), (4, 2))


# ----- grad_fn names ----------------------------------------------------------------------------
@pytest.mark.parametrize("fn, name", [
    (lambda m, v: ember.addmm(m, m, m), "AddmmBackward0"),
    (lambda m, v: ember.addmv(v, m, v), "AddmvBackward0"),
    (lambda m, v: ember.baddbmm(m, m[None], m[None]), "BaddbmmBackward0"),
    (lambda m, v: ember.outer(v, v), "MulBackward0"),
    (lambda m, v: ember.diag(v), "DiagEmbedBackward0"),
    (lambda m, v: ember.diag(m), "DiagonalBackward0_copy"),
    (lambda m, v: m.diagonal(), "DiagonalBackward0"),
    (lambda m, v: m.tril(), "TrilBackward0"), (lambda m, v: m.trace(), "TraceBackward0"),
    (lambda m, v: ember.cross(m, m, dim=0), "LinalgCrossBackward0"),
    (lambda m, v: ember.cdist(m, m), "CdistBackward0"),
    (lambda m, v: ember.linalg.inv(m), "LinalgInvExBackward0"),
    (lambda m, v: ember.linalg.det(m), "LinalgDetBackward0"),
    (lambda m, v: ember.linalg.slogdet(m)[1], "LinalgSlogdetBackward0"),
    (lambda m, v: ember.linalg.solve(m, v), "LinalgSolveExBackward0"),
    (lambda m, v: ember.linalg.cholesky(m @ m.mT + ember.eye(3)), "LinalgCholeskyExBackward0"),
    (lambda m, v: ember.linalg.qr(m)[1], "LinalgQrBackward0"),
    (lambda m, v: ember.linalg.eigvalsh(m), "LinalgEighBackward0"),
    (lambda m, v: ember.linalg.svdvals(m), "LinalgSvdBackward0"),
    (lambda m, v: ember.linalg.pinv(m), "LinalgPinvBackward0"),
    (lambda m, v: ember.linalg.norm(m), "LinalgVectorNormBackward0"),
    (lambda m, v: ember.linalg.matrix_norm(m, 1), "AmaxBackward0"),
    (lambda m, v: ember.linalg.matrix_norm(m, "nuc"), "SumBackward1"),
    (lambda m, v: ember.logdet(m @ m.mT), "WhereBackward0"),
])
def test_grad_fn_is_named_like_pytorch(fn, name):
    m = ember.tensor([[2.0, 0.5, 0.1], [0.3, 3.0, 0.2], [0.1, 0.4, 4.0]], requires_grad=True)
    v = ember.tensor([1.0, -1.0, 0.5], requires_grad=True)
    assert grad_fn_name(fn(m, v)) == name


def test_multi_output_results_share_one_node():
    a = ember.randn(4, 3, requires_grad=True)
    u, s, vh = ember.linalg.svd(a, full_matrices=False)
    assert u.grad_fn is s.grad_fn is vh.grad_fn


def test_return_types_have_torch_fields():
    a = ember.eye(3)
    assert ember.linalg.slogdet(a).logabsdet.item() == 0.0
    assert ember.linalg.qr(a).R.shape == (3, 3)
    assert ember.linalg.eigh(a).eigenvalues.tolist() == [1.0, 1.0, 1.0]
    assert ember.linalg.svd(a).Vh.shape == (3, 3)


# ----- forward values and dtypes -------------------------------------------------------------
def test_einsum_forward_matches_numpy_for_many_forms():
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((2, 3, 4)), rng.standard_normal((4, 5))
    for eq, ops in [("bij,jk->bki", (a, b)), ("bij->", (a,)), ("...j,jk", (a, b)),
                    ("bij,bij->b", (a, a))]:
        out = ember.einsum(eq, *[ember.tensor(x, dtype=ember.float64) for x in ops])
        np.testing.assert_allclose(out.numpy(), np.einsum(eq, *ops), rtol=1e-12)


def test_einsum_permutation_result_is_not_a_view():
    a = ember.ones(2, 3)
    out = ember.einsum("ij->ji", a)
    out.add_(1)
    assert a.tolist() == [[1.0] * 3] * 2


def test_einsum_on_ints_stays_int():
    out = ember.einsum("i,i->", ember.tensor([1, 2]), ember.tensor([3, 4]))
    assert out.dtype is ember.int64 and out.item() == 11


def test_trace_of_int_matrix_is_int64():
    out = ember.trace(ember.tensor([[1, 2], [3, 4]]))
    assert out.dtype is ember.int64 and out.item() == 5


def test_diagonal_is_a_writable_view():
    m = ember.zeros(3, 3)
    m.diagonal().add_(2.0)
    assert m.tolist() == [[2.0, 0, 0], [0, 2.0, 0], [0, 0, 2.0]]


def test_inplace_write_through_diagonal_keeps_gradients():
    a = ember.ones(3, 3, requires_grad=True)
    b = a * 1
    b.diagonal().mul_(3.0)
    b.sum().backward()
    assert a.grad.tolist() == [[3.0, 1, 1], [1, 3.0, 1], [1, 1, 3.0]]


def test_cross_without_dim_warns_and_uses_first_size_three_dim():
    a, b = ember.randn(3, 2), ember.randn(3, 2)
    with pytest.warns(UserWarning, match="without specifying the dim"):
        out = ember.cross(a, b)
    np.testing.assert_allclose(out.numpy(), np.cross(a.numpy(), b.numpy(), axis=0), rtol=1e-6)


def test_cdist_zero_distance_has_zero_gradient():
    a = ember.tensor([[0.0, 1.0]], requires_grad=True)
    ember.cdist(a, a.detach()).sum().backward()
    assert a.grad.tolist() == [[0.0, 0.0]]


def test_addmm_beta_zero_ignores_nan_input():
    out = ember.addmm(ember.tensor([[float("nan")]]), ember.ones(1, 1), ember.ones(1, 1), beta=0)
    assert out.tolist() == [[1.0]]


def test_eigh_gradient_on_symmetric_leaf_is_symmetric_like_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    m = rng.standard_normal((4, 4))
    s = m + m.T
    probe = rng.standard_normal((4, 4))
    e = ember.tensor(s, dtype=ember.float64, requires_grad=True)
    t = torch.tensor(s, requires_grad=True)
    (ember.linalg.eigh(e).eigenvectors ** 2 * ember.tensor(probe, dtype=ember.float64)).sum(
        ).backward()
    (torch.linalg.eigh(t).eigenvectors ** 2 * torch.tensor(probe)).sum().backward()
    np.testing.assert_allclose(e.grad.numpy(), t.grad.numpy(), atol=1e-10)


def test_cholesky_gradient_is_symmetric_like_torch():
    torch = pytest.importorskip("torch")
    a = np.array([[4.0, 1.0, 0.5], [1.0, 3.0, 0.2], [0.5, 0.2, 2.0]], dtype=np.float32)
    e, t = ember.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    (ember.linalg.cholesky(e) * ember.tensor(a)).sum().backward()
    (torch.linalg.cholesky(t) * torch.tensor(a)).sum().backward()
    np.testing.assert_allclose(e.grad.numpy(), t.grad.numpy(), atol=1e-5)


# ----- errors ---------------------------------------------------------------------------------
def test_inv_of_singular_matrix_raises_linalg_error():
    with pytest.raises(ember.linalg.LinAlgError, match="linalg.inv: The diagonal element 1 is "
                                                       "zero, the inversion could not be"):
        ember.linalg.inv(ember.zeros(3, 3))


def test_inv_singular_batch_element_is_named():
    a = ember.stack([ember.eye(2), ember.tensor([[1.0, 2.0], [2.0, 4.0]])])
    with pytest.raises(RuntimeError, match=r"\(Batch element 1\): The diagonal element 2"):
        ember.linalg.inv(a)


def test_inv_needs_square_float_matrices():
    with pytest.raises(RuntimeError, match="must be batches of square matrices, but they are "
                                           "3 by 2 matrices"):
        ember.linalg.inv(ember.ones(3, 2))
    with pytest.raises(RuntimeError, match="Expected a floating point or complex tensor as "
                                           "input. Got Long"):
        ember.linalg.inv(ember.tensor([[1, 2], [3, 4]]))


def test_cholesky_names_the_failing_minor():
    a = ember.tensor([[1.0, 0, 0], [0, -1.0, 0], [0, 0, 1.0]])
    with pytest.raises(ember.linalg.LinAlgError, match="leading minor of order 2 is not "
                                                       "positive-definite"):
        ember.linalg.cholesky(a)


def test_solve_singular_and_shape_errors():
    with pytest.raises(ember.linalg.LinAlgError, match="input matrix is singular"):
        ember.linalg.solve(ember.zeros(3, 3), ember.ones(3))
    with pytest.raises(RuntimeError, match=r"Incompatible shapes of A and B for the equation "
                                           r"AX = B \(3x3 and 4x1\)"):
        ember.linalg.solve(ember.eye(3), ember.ones(4))


def test_qr_backward_refuses_complete_tall_and_r_modes():
    a = ember.randn(4, 3, requires_grad=True)
    with pytest.raises(RuntimeError, match="not differentiable when mode='complete'"):
        ember.linalg.qr(a, mode="complete").Q.sum().backward()
    with pytest.raises(RuntimeError, match="not computed when mode='r'"):
        ember.linalg.qr(a, mode="r").R.sum().backward()


@pytest.mark.parametrize("call, message", [
    (lambda: ember.einsum("ij,jk->ik", ember.ones(2, 3), ember.ones(2, 2)),
     "subscript j has size 2 for operand 1 which does not broadcast with previously seen size 3"),
    (lambda: ember.einsum("ij,jk->ik", ember.ones(2, 3)), "fewer operands were provided"),
    (lambda: ember.einsum("ij->ijk", ember.ones(2, 3)),
     "output subscript k does not appear in the equation for any input operand"),
    (lambda: ember.einsum("ij", ember.ones(2, 3, 4)),
     r"the number of subscripts in the equation \(2\) does not match the number of dimensions "
     r"\(3\) for operand 0 and no ellipsis was given"),
    (lambda: ember.einsum("ii->i", ember.ones(2, 3)),
     "subscript i is repeated for operand 0 but the sizes don't match, 2 != 3"),
    (lambda: ember.einsum("i->ii", ember.ones(2)), "output subscript i appears more than once"),
    (lambda: ember.einsum("i2->i", ember.ones(2, 2)), "invalid subscript given at index 1"),
    (lambda: ember.einsum("i,i", ember.ones(2), ember.ones(2, dtype=ember.float64)),
     "expected scalar type Float but found Double"),
])
def test_einsum_errors_match_torch(call, message):
    with pytest.raises(RuntimeError, match=message):
        call()


@pytest.mark.parametrize("call, message", [
    (lambda: ember.addmm(ember.ones(3), ember.ones(3), ember.ones(3, 3)),
     "mat1 must be a matrix, got 1-D tensor"),
    (lambda: ember.addmm(ember.ones(4), ember.ones(2, 3), ember.ones(3, 3)),
     r"The expanded size of the tensor \(3\) must match the existing size \(4\)"),
    (lambda: ember.addmv(ember.ones(4), ember.ones(3, 3), ember.ones(3)),
     r"size mismatch, got input \(4\), mat \(3x3\), vec \(3\)"),
    (lambda: ember.baddbmm(ember.ones(3), ember.ones(2, 3, 4), ember.ones(2, 3, 3)),
     r"batch2 tensor to be: \[2, 4\] but got: \[2, 3\]"),
    (lambda: ember.outer(ember.ones(3, 2), ember.ones(3)),
     "outer: Expected 1-D argument self, but got 2-D"),
    (lambda: ember.tril(ember.ones(3)), "tril: input tensor must have at least 2 dimensions"),
    (lambda: ember.diag(ember.ones(2, 2, 2)), "diag\\(\\): Supports 1D or 2D tensors. Got 3D"),
    (lambda: ember.diagonal(ember.ones(3, 3), dim1=0, dim2=0),
     "diagonal dimensions cannot be identical 0, 0"),
    (lambda: ember.trace(ember.ones(2, 2, 2)), "trace: expected a matrix, but got tensor with "
                                               "dim 3"),
    (lambda: ember.linalg.cross(ember.ones(3, 2), ember.ones(3, 2)),
     "linalg.cross: inputs dimension -1 must have length 3. Got 2 and 2"),
    (lambda: ember.cdist(ember.ones(3, 2), ember.ones(3, 4)),
     "X1 and X2 must have the same number of columns. X1: 2 X2: 4"),
    (lambda: ember.cdist(ember.ones(3), ember.ones(3, 4)),
     "cdist only supports at least 2D tensors, X1 got: 1D"),
    (lambda: ember.tensordot(ember.ones(2, 3), ember.ones(4, 5), dims=1),
     "contracted dimensions need to match, but first has size 3 in dim 1 and second has "
     "size 4 in dim 0"),
    (lambda: ember.linalg.matrix_norm(ember.ones(3)),
     "linalg.matrix_norm: The input tensor A must have at least 2 dimensions."),
    (lambda: ember.linalg.norm(ember.ones(3, 3, 3), ord=2),
     "If dim is not specified but ord is, the input must be 1D or 2D. Got 3D."),
])
def test_shape_errors_match_torch(call, message):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(RuntimeError, match=message):
            call()


def test_linalg_namespace_has_torch_names():
    for name in ("inv", "det", "slogdet", "solve", "cholesky", "qr", "eigh", "eigvalsh", "svd",
                 "svdvals", "pinv", "norm", "vector_norm", "matrix_norm", "cross", "diagonal",
                 "multi_dot", "matmul", "LinAlgError"):
        assert hasattr(ember.linalg, name), name
    assert issubclass(ember.linalg.LinAlgError, RuntimeError)


def test_linalg_diagonal_defaults_to_last_two_dims():
    a = ember.arange(8.0).reshape(2, 2, 2)
    assert ember.linalg.diagonal(a).tolist() == [[0.0, 3.0], [4.0, 7.0]]


def test_matrix_methods_are_bound():
    m = ember.tensor([[2.0, 1.0], [1.0, 3.0]])
    assert m.det().item() == pytest.approx(5.0)
    np.testing.assert_allclose((m.inverse() @ m).numpy(), np.eye(2), atol=1e-6)
    assert m.trace().item() == 5.0 and m.diag().tolist() == [2.0, 3.0]
    assert m.triu(1).tolist() == [[0.0, 1.0], [0.0, 0.0]]


def test_det_gradient_of_singular_matrix_is_zero_like_torch():
    a = ember.tensor([[[1.0, 2.0], [2.0, 4.0]], [[1.0, 0.0], [0.0, 2.0]]], requires_grad=True)
    ember.linalg.det(a).sum().backward()
    assert a.grad.tolist() == [[[0.0, 0.0], [0.0, 0.0]], [[2.0, 0.0], [0.0, 1.0]]]
