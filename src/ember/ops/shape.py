"""Shape ops: reshape/view, transpose/permute, expand, squeeze/unsqueeze, flatten."""

from __future__ import annotations

import numpy as np

from .._tensor import Tensor, _wrap_dim
from ._define import Op
from ._view import view_op

__all__ = [
    "reshape", "view", "transpose", "permute", "t", "expand", "unsqueeze", "squeeze",
    "flatten", "movedim",
]


def shape_arg(size) -> tuple:
    """Accept f(2, 3), f((2, 3)) and f([2, 3])."""
    if len(size) == 1 and not isinstance(size[0], (int, np.integer)):
        size = size[0]
    return tuple(int(s) for s in size)


def _reshape(x, shape):
    try:
        return x.reshape(shape)
    except ValueError:
        raise RuntimeError(
            f"shape '{list(shape)}' is invalid for input of size {x.size}"
        ) from None


def _view(x, shape):
    out = _reshape(x, shape)
    if not np.may_share_memory(out, x) and x.size:
        raise RuntimeError(
            "view size is not compatible with input tensor's size and stride (at least one "
            "dimension spans across two contiguous subspaces). Use .reshape(...) instead."
        )
    return out


class ViewBackward0(Op):
    needs = ((),)
    forward = staticmethod(_view)

    def backward(self, g):
        return g.reshape(self._shapes[0][0])


class ReshapeAliasBackward0(ViewBackward0):
    forward = staticmethod(_reshape)


class TransposeBackward0(Op):
    needs = ((),)

    @staticmethod
    def forward(x, d0, d1):
        return np.swapaxes(x, d0, d1)

    def backward(self, g):
        d0, d1 = self.args
        return g.transpose(d0, d1)


class TBackward0(TransposeBackward0):
    pass


class PermuteBackward0(Op):
    needs = ((),)

    @staticmethod
    def forward(x, dims):
        return np.transpose(x, dims)

    def backward(self, g):
        return g.permute(tuple(np.argsort(self.args[0])))


class ExpandBackward0(Op):
    needs = ((),)

    @staticmethod
    def forward(x, shape):
        return np.broadcast_to(x, shape)

    def backward(self, g):
        return g.sum_to_size(self._shapes[0][0])


class UnsqueezeBackward0(Op):
    needs = ((),)

    @staticmethod
    def forward(x, dim):
        return np.expand_dims(x, dim)

    def backward(self, g):
        return g.squeeze(self.args[0])


class SqueezeBackward0(Op):
    needs = ((),)

    @staticmethod
    def forward(x, dims):
        return np.squeeze(x, axis=dims) if dims else x.view()

    def backward(self, g):
        return g.reshape(self._shapes[0][0])


_view_op = view_op(ViewBackward0)
_reshape_op = view_op(ReshapeAliasBackward0)
_transpose = view_op(TransposeBackward0)
_t = view_op(TBackward0)
_permute = view_op(PermuteBackward0)
_expand = view_op(ExpandBackward0)
_unsqueeze = view_op(UnsqueezeBackward0)
_squeeze = view_op(SqueezeBackward0)


def reshape(x: Tensor, *shape) -> Tensor:
    return _reshape_op(x, shape_arg(shape))


def view(x: Tensor, *shape) -> Tensor:
    if len(shape) == 1 and not isinstance(shape[0], (int, np.integer, tuple, list)):
        from .elementwise import to_dtype

        return to_dtype(x, shape[0])
    return _view_op(x, shape_arg(shape))


def transpose(x: Tensor, dim0: int, dim1: int) -> Tensor:
    n = x._data.ndim
    return _transpose(x, _wrap_dim(dim0, n), _wrap_dim(dim1, n))


def t(x: Tensor) -> Tensor:
    n = x._data.ndim
    if n > 2:
        raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is {n}D")
    return _t(x, 0, 1) if n == 2 else _t(x, 0, 0)


def permute(x: Tensor, *dims) -> Tensor:
    dims = shape_arg(dims)
    n = x._data.ndim
    if len(dims) != n:
        raise RuntimeError(
            f"permute(sparse_coo): number of dimensions in the tensor input does not match the "
            f"length of the desired ordering of dimensions i.e. input.dim() = {n} is not equal "
            f"to len(dims) = {len(dims)}"
        )
    dims = tuple(_wrap_dim(d, n) for d in dims)
    if len(set(dims)) != n:
        raise RuntimeError("permute(): duplicate dims are not allowed.")
    return _permute(x, dims)


def movedim(x: Tensor, source: int, destination: int) -> Tensor:
    n = x._data.ndim
    order = [d for d in range(n) if d != _wrap_dim(source, n)]
    order.insert(_wrap_dim(destination, n), _wrap_dim(source, n))
    return _permute(x, tuple(order))


def expand(x: Tensor, *size) -> Tensor:
    size = shape_arg(size)
    shape = x._data.shape
    lead = len(size) - len(shape)
    if lead < 0:
        raise RuntimeError(
            f"expand(ember.FloatTensor{{{list(shape)}}}, size={list(size)}): the number of sizes "
            f"provided ({len(size)}) must be greater or equal to the number of dimensions in "
            f"the tensor ({len(shape)})"
        )
    target = []
    for i, s in enumerate(size):
        if s == -1:
            if i < lead:
                raise RuntimeError("expand: -1 is not allowed in a leading, non-existing dimension")
            s = shape[i - lead]
        elif i >= lead and shape[i - lead] not in (1, s):
            raise RuntimeError(
                f"The expanded size of the tensor ({s}) must match the existing size "
                f"({shape[i - lead]}) at non-singleton dimension {i}.  Target sizes: "
                f"{list(size)}.  Tensor sizes: {list(shape)}"
            )
        target.append(s)
    return _expand(x, tuple(target))


def unsqueeze(x: Tensor, dim: int) -> Tensor:
    n = x._data.ndim + 1
    if not -n <= dim < n:
        raise IndexError(
            f"Dimension out of range (expected to be in range of [{-n}, {n - 1}], but got {dim})"
        )
    return _unsqueeze(x, dim % n)


def squeeze(x: Tensor, dim=None) -> Tensor:
    shape = x._data.shape
    if dim is None:
        dims = tuple(i for i, s in enumerate(shape) if s == 1)
    else:
        ds = (dim,) if isinstance(dim, int) else tuple(dim)
        dims = tuple(sorted({_wrap_dim(d, len(shape)) for d in ds}))
        dims = tuple(d for d in dims if len(shape) and shape[d] == 1)
    return _squeeze(x, dims)


def flatten(x: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    shape = x._data.shape
    if not shape:
        return reshape(x, (1,))
    s = _wrap_dim(start_dim, len(shape))
    e = _wrap_dim(end_dim, len(shape))
    if s > e:
        raise RuntimeError("flatten() has invalid args: start_dim cannot come after end_dim")
    new = shape[:s] + (int(np.prod(shape[s : e + 1])),) + shape[e + 1 :]
    return reshape(x, new)
