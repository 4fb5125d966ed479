"""`ember.linalg`: PyTorch's torch.linalg names over the ops in `ember.ops.linalg` (and the
vector norm of `ember.ops.reduction`)."""

from __future__ import annotations

from ._tensor import Tensor
from .ops.linalg import (
    LinAlgError,
    cholesky,
    det,
    eigh,
    eigvalsh,
    inv,
    matmul,
    matrix_norm,
    multi_dot,
    pinv,
    qr,
    slogdet,
    solve,
    svd,
    svdvals,
)
from .ops.linalg import _linalg_cross as cross
from .ops.linalg import diagonal as _diagonal
from .ops.linalg import linalg_norm as norm
from .ops.reduction import vector_norm

__all__ = [
    "LinAlgError", "cholesky", "cross", "det", "diagonal", "eigh", "eigvalsh", "inv", "matmul",
    "matrix_norm", "multi_dot", "norm", "pinv", "qr", "slogdet", "solve", "svd", "svdvals",
    "vector_norm",
]


def diagonal(A: Tensor, *, offset: int = 0, dim1: int = -2, dim2: int = -1) -> Tensor:
    """The diagonals of the matrices in the last two dims (a view)."""
    return _diagonal(A, offset, dim1, dim2)
