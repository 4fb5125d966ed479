"""Shape ops.

Views share memory and the version counter with their input: reshape (when no copy is
needed), view, transpose/permute, expand, squeeze/unsqueeze, narrow/select and basic
indexing, split/chunk/unbind. Copies: cat/stack, flip, roll, repeat/tile.
"""

from __future__ import annotations

import warnings

import numpy as np

from .._dtypes import result_type
from .._tensor import Tensor, _make, _wrap_dim, tensor_type_name
from ..autograd.grad_mode import _mode, _tracking
from ._define import Op, record, unary
from ._view import _as_view, is_view_of, view_op

__all__ = [
    "reshape", "view", "transpose", "permute", "t", "expand", "unsqueeze", "squeeze",
    "flatten", "movedim", "moveaxis", "swapaxes", "swapdims", "unflatten", "ravel",
    "broadcast_to", "narrow", "select", "cat", "concat", "concatenate", "stack", "hstack",
    "vstack", "split", "chunk", "unbind", "flip", "fliplr", "flipud", "roll", "tile",
    "tensor_split", "repeat_interleave", "rot90", "diff", "meshgrid", "cartesian_prod",
    "atleast_1d", "atleast_2d", "atleast_3d", "column_stack", "dstack",
]

_ints = (int, np.integer)


def shape_arg(size) -> tuple:
    """Accept f(2, 3), f((2, 3)) and f([2, 3])."""
    if len(size) == 1 and not isinstance(size[0], _ints):
        size = size[0]
    return tuple(int(s) for s in size)


def _dims_arg(dims, ndim: int) -> tuple:
    """Wrap an int or a sequence of dims; duplicates are an error, as in PyTorch."""
    if len(dims) == 1 and not isinstance(dims[0], _ints):
        dims = dims[0]
    if isinstance(dims, _ints):
        dims = (dims,)
    out = tuple(_wrap_dim(int(d), ndim) for d in dims)
    for d in out:
        if out.count(d) > 1:
            raise RuntimeError(f"dim {d} appears multiple times in the list of dims")
    return out


def _finish(cls, out: np.ndarray, x: Tensor, args: tuple, is_view: bool) -> Tensor:
    """Record (when tracking) and wrap the result of a one-input op; mark views."""
    if x._requires_grad and _mode.get() == 0:
        t = record(cls, out, (x,), args)
    else:
        t = _make(out, False, None)
    return _as_view(t, x) if is_view else t


def _shares(out: np.ndarray, x: np.ndarray) -> bool:
    return out.size == 0 or np.may_share_memory(out, x)


# ----- reshape / view ------------------------------------------------------------------
def _reshape(x, shape):
    if shape.count(-1) > 1:
        raise RuntimeError("only one dimension can be inferred")
    for s in shape:
        if s < -1:
            raise RuntimeError(f"invalid shape dimension {s}")
    try:
        return x.reshape(shape)
    except ValueError:
        raise RuntimeError(
            f"shape '{list(shape)}' is invalid for input of size {x.size}"
        ) from None


def _view(x, shape):
    out = _reshape(x, shape)
    if not _shares(out, x):
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


class UnsafeViewBackward0(ViewBackward0):
    """A reshape that had to copy (the input's layout allows no view)."""

    forward = staticmethod(_reshape)


def reshape(x: Tensor, *shape) -> Tensor:
    """A view with the new shape when the layout allows it, else a copy."""
    if len(shape) == 1 and type(shape[0]) is not int:
        shape = shape[0]
    xd = x._data
    try:
        out = xd.reshape(shape)
    except (ValueError, TypeError):
        out = _reshape(xd, shape_arg((shape,)))  # raises PyTorch's error
    if is_view_of(out, xd):
        return _finish(ViewBackward0, out, x, (out.shape,), True)
    return _finish(UnsafeViewBackward0, out, x, (out.shape,), False)


def view(x: Tensor, *shape) -> Tensor:
    if len(shape) == 1 and not isinstance(shape[0], (int, np.integer, tuple, list)):
        from .elementwise import to_dtype

        return to_dtype(x, shape[0])
    shape = shape_arg(shape)
    return _finish(ViewBackward0, _view(x._data, shape), x, (shape,), True)


def view_as(x: Tensor, other: Tensor) -> Tensor:
    return view(x, other._data.shape)


def reshape_as(x: Tensor, other: Tensor) -> Tensor:
    return reshape(x, other._data.shape)


def ravel(x: Tensor) -> Tensor:
    return reshape(x, (-1,))


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


def unflatten(x: Tensor, dim: int, sizes) -> Tensor:
    """Split dimension `dim` into `sizes` (one entry may be -1)."""
    shape = x._data.shape
    d = _wrap_dim(dim, len(shape))
    sizes = tuple(int(s) for s in sizes)
    known = int(np.prod([s for s in sizes if s != -1]))
    if (-1 in sizes and (known == 0 or shape[d] % known)) or (
        -1 not in sizes and known != shape[d]
    ):
        raise RuntimeError(
            f"unflatten: Provided sizes {list(sizes)} don't multiply up to the size of dim "
            f"{dim} ({shape[d]}) in the input tensor"
        )
    return reshape(x, shape[:d] + sizes + shape[d + 1 :])


# ----- transpose / permute / expand / squeeze ---------------------------------------
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
    """squeeze(): all size-1 dims."""

    needs = ((),)

    @staticmethod
    def forward(x, dims):
        return np.squeeze(x, axis=dims) if dims else x.view()

    def backward(self, g):
        return g.reshape(self._shapes[0][0])


class SqueezeBackward1(SqueezeBackward0):
    """squeeze(dim) with an int dim."""


class SqueezeBackward2(SqueezeBackward0):
    """squeeze(dims) with a tuple of dims."""


_transpose = view_op(TransposeBackward0)
_t = view_op(TBackward0)
_permute = view_op(PermuteBackward0)
_expand = view_op(ExpandBackward0)
_unsqueeze = view_op(UnsqueezeBackward0)


def transpose(x: Tensor, dim0: int, dim1: int) -> Tensor:
    n = x._data.ndim
    return _transpose(x, _wrap_dim(dim0, n), _wrap_dim(dim1, n))


swapaxes = swapdims = transpose


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


def movedim(x: Tensor, source, destination) -> Tensor:
    """Move dims `source` (int or sequence) to positions `destination`."""
    n = x._data.ndim
    src = (source,) if isinstance(source, _ints) else tuple(source)
    dst = (destination,) if isinstance(destination, _ints) else tuple(destination)
    if len(src) != len(dst):
        raise RuntimeError(
            f"movedim: Invalid source or destination dims: source ({list(src)} dims) should "
            f"contain the same number of dims as destination ({list(dst)} dims)"
        )
    src = tuple(_wrap_dim(int(d), n) for d in src)
    dst = tuple(_wrap_dim(int(d), n) for d in dst)
    for name, ds in (("source", src), ("destination", dst)):
        if len(set(ds)) != len(ds):
            raise RuntimeError(f"movedim: repeated dim in `{name}` ({list(ds)})")
    order = [None] * n
    for s, d in zip(src, dst):
        order[d] = s
    rest = iter(d for d in range(n) if d not in src)
    order = [next(rest) if o is None else o for o in order]
    return _permute(x, tuple(order))


moveaxis = movedim


def expand(x: Tensor, *size) -> Tensor:
    size = shape_arg(size)
    shape = x._data.shape
    lead = len(size) - len(shape)
    if lead < 0:
        raise RuntimeError(
            f"expand({tensor_type_name(x._data.dtype)}{{{list(shape)}}}, size={list(size)}): "
            f"the number of sizes provided ({len(size)}) must be greater or equal to the number "
            f"of dimensions in the tensor ({len(shape)})"
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


def expand_as(x: Tensor, other: Tensor) -> Tensor:
    return expand(x, other._data.shape)


def broadcast_to(x: Tensor, size) -> Tensor:
    return expand(x, tuple(size))


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
        cls, dims = SqueezeBackward0, tuple(i for i, s in enumerate(shape) if s == 1)
    else:
        cls = SqueezeBackward1 if isinstance(dim, _ints) else SqueezeBackward2
        ds = (dim,) if isinstance(dim, _ints) else tuple(dim)
        dims = tuple(sorted({_wrap_dim(int(d), len(shape)) for d in ds}))
        dims = tuple(d for d in dims if len(shape) and shape[d] == 1)
    return _finish(cls, cls.forward(x._data, dims), x, (dims,), True)


# ----- basic indexing: narrow, select, x[ints, slices, None, ...] ----------------------
class _BasicIndex(Op):
    """`x[key]` for a NumPy basic key (ints, slices, None, Ellipsis): always a view."""

    needs = ((),)

    @staticmethod
    def forward(x, key):
        return x[key]

    def backward(self, g):
        return _index_into_zeros[type(self)](g, self._shapes[0][0], self.args[0])


class SelectBackward0(_BasicIndex):
    pass


class SliceBackward0(_BasicIndex):
    pass


class AliasBackward0(_BasicIndex):
    pass


class _UnsqueezeIndex(_BasicIndex):
    """`x[..., None]`-style keys whose last step is an unsqueeze."""


_UnsqueezeIndex.__name__ = _UnsqueezeIndex.__qualname__ = "UnsqueezeBackward0"


class SliceBackwardBackward0(Op):
    """The gradient of a basic index: zeros of the input's shape, `g` written at `key`."""

    needs = ((),)

    @staticmethod
    def forward(g, shape, key):
        out = np.zeros(shape, g.dtype)
        out[key] = g
        return out

    def backward(self, gg):
        return basic_index(gg, self.args[1], SliceBackward0)


class SelectBackwardBackward0(SliceBackwardBackward0):
    def backward(self, gg):
        return basic_index(gg, self.args[1], SelectBackward0)


_slice_put = unary(SliceBackwardBackward0)
_index_into_zeros = {
    SliceBackward0: _slice_put,
    SelectBackward0: unary(SelectBackwardBackward0),
    AliasBackward0: _slice_put,
    _UnsqueezeIndex: _slice_put,
}


def basic_index(x: Tensor, key: tuple, cls: type[Op] = SliceBackward0) -> Tensor:
    """The view `x[key]` recorded as `cls`; `key` must hold only basic entries."""
    if Ellipsis not in key:
        key = key + (Ellipsis,)  # keeps an all-int key a 0-d view rather than a scalar
    return _finish(cls, x._data[key], x, (key,), True)


def _dim_slice(dim: int, start: int, stop: int) -> tuple:
    return (slice(None),) * dim + (slice(start, stop), Ellipsis)


def narrow(x: Tensor, dim: int, start, length: int) -> Tensor:
    """The view of `length` elements of dimension `dim` from `start`."""
    shape = x._data.shape
    if not shape:
        raise RuntimeError("narrow() cannot be applied to a 0-dim tensor.")
    d = _wrap_dim(dim, len(shape))
    start, length, n = int(start), int(length), shape[d]
    if length < 0:
        raise RuntimeError("narrow(): length must be non-negative.")
    if not -n <= start <= n:
        raise IndexError(
            f"start out of range (expected to be in range of [{-n}, {n}], but got {start})"
        )
    if start < 0:
        start += n
    if start + length > n:
        raise RuntimeError(
            f"start ({start}) + length ({length}) exceeds dimension size ({n})."
        )
    return basic_index(x, _dim_slice(d, start, start + length), SliceBackward0)


def select(x: Tensor, dim: int, index) -> Tensor:
    """The view of element `index` along `dim` (that dimension is removed)."""
    shape = x._data.shape
    if not shape:
        raise IndexError("select() cannot be applied to a 0-dim tensor.")
    d = _wrap_dim(dim, len(shape))
    index = int(index)
    if not -shape[d] <= index < shape[d]:
        raise IndexError(
            f"select(): index {index} out of range for tensor of size {list(shape)} at "
            f"dimension {d}"
        )
    return basic_index(x, (slice(None),) * d + (index, Ellipsis), SelectBackward0)


# ----- several outputs: split, chunk, unbind -------------------------------------------
class _MultiOutput(Op):
    """An op with several outputs: backward receives one gradient per output."""

    __slots__ = ("num_outputs",)
    needs = ((),)


class SplitBackward0(_MultiOutput):
    def backward(self, *grads):
        return cat(grads, self.args[0])


class SplitWithSizesBackward0(SplitBackward0):
    pass


class UnbindBackward0(_MultiOutput):
    def backward(self, *grads):
        return stack(grads, self.args[0])


def _views(cls: type[_MultiOutput], x: Tensor, outs: list, dim: int) -> tuple:
    """Wrap `outs` (views of x) as the outputs of one `cls` node."""
    if outs and x._requires_grad and _tracking.get():
        first = record(cls, outs[0], (x,), (dim,))
        node = first._grad_fn
        node.num_outputs = len(outs)
        node._out_meta = tuple((o.shape, o.dtype) for o in outs)
        results = [first]
        for i, o in enumerate(outs[1:], 1):
            t = _make(o, True, node)
            t._output_nr = i
            results.append(t)
    else:
        results = [_make(o, False, None) for o in outs]
    for r in results:
        _as_view(r, x)
    return tuple(results)


def _split_sizes(x: Tensor, cls, sizes: list, dim: int) -> tuple:
    arr = x._data
    outs, start = [], 0
    for s in sizes:
        outs.append(arr[_dim_slice(dim, start, start + s)])
        start += s
    return _views(cls, x, outs, dim)


def split(x: Tensor, split_size_or_sections, dim: int = 0) -> tuple:
    """Views of pieces of `split_size` (the last may be smaller) or of the listed sizes."""
    shape = x._data.shape
    d = _wrap_dim(dim, len(shape))
    n = shape[d] if shape else 1
    if isinstance(split_size_or_sections, _ints):
        s = int(split_size_or_sections)
        if s < 0:
            raise RuntimeError(f"split expects split_size be non-negative, but got split_size={s}")
        if s == 0 and n:
            raise RuntimeError(
                f"split_size can only be 0 if dimension size is 0, but got dimension size of {n}"
            )
        count = max(-(-n // s), 1) if s else 1
        sizes = [s] * (count - 1) + [n - s * (count - 1)]
        return _split_sizes(x, SplitBackward0, sizes, d)
    sizes = [int(s) for s in split_size_or_sections]
    if any(s < 0 for s in sizes):
        raise RuntimeError(
            "split_with_sizes expects split_sizes have only non-negative entries, but got "
            f"split_sizes={sizes}"
        )
    if sum(sizes) != n:
        raise RuntimeError(
            f"split_with_sizes expects split_sizes to sum exactly to {n} (input tensor's size "
            f"at dimension {d}), but got split_sizes={sizes}"
        )
    return _split_sizes(x, SplitWithSizesBackward0, sizes, d)


def chunk(x: Tensor, chunks: int, dim: int = 0) -> tuple:
    """Split into `chunks` views of equal size (the last may be smaller, or fewer pieces)."""
    if chunks <= 0:
        raise RuntimeError(f"chunk expects `chunks` to be greater than 0, got: {chunks}")
    shape = x._data.shape
    d = _wrap_dim(dim, len(shape))
    n = shape[d] if shape else 1
    if n == 0:
        return _split_sizes(x, SplitBackward0, [0] * chunks, d)
    return split(x, -(-n // chunks), d)


def unbind(x: Tensor, dim: int = 0) -> tuple:
    """The views `x.select(dim, i)` for every i, as the outputs of one node."""
    shape = x._data.shape
    if not shape:
        raise IndexError("Dimension specified as 0 but tensor has no dimensions")
    d = _wrap_dim(dim, len(shape))
    lead = (slice(None),) * d
    outs = [x._data[lead + (i, Ellipsis)] for i in range(shape[d])]
    return _views(UnbindBackward0, x, outs, d)


def _iter(x: Tensor):
    if x._data.ndim == 0:
        raise TypeError("iteration over a 0-d tensor")
    return iter(unbind(x, 0))


# ----- cat / stack ----------------------------------------------------------------------
class _NothingSaved:
    """`needs` of an op with any number of inputs, none of which backward needs."""

    __slots__ = ()

    def __getitem__(self, i: int) -> tuple:
        return ()


def _tensor_list(tensors, fn: str) -> list:
    if isinstance(tensors, Tensor):
        raise TypeError(
            f"{fn}(): argument 'tensors' (position 1) must be tuple of Tensors, not Tensor"
        )
    tensors = list(tensors)
    for i, t in enumerate(tensors):
        if not isinstance(t, Tensor):
            raise TypeError(
                f"expected Tensor as element {i} in argument 0, but got {type(t).__name__}"
            )
    return tensors


def _promoted(arrays: list) -> np.dtype:
    """PyTorch's promotion over a list (cat/stack inputs all count as dimensioned)."""
    dt = arrays[0].dtype
    for a in arrays[1:]:
        if a.dtype != dt:
            dt = result_type(np.empty(0, dt), np.empty(0, a.dtype))
    return dt


def _record_many(cls, out: np.ndarray, tensors: list, args: tuple) -> Tensor:
    if _tracking.get() and any(t._requires_grad for t in tensors):
        return record(cls, out, tuple(tensors), args)
    return _make(out, False, None)


class CatBackward0(Op):
    needs = _NothingSaved()

    def backward(self, g):
        dim = self.args[0]
        grads, start = [], 0
        for (shape, _), (fn, _) in zip(self._shapes, self.next_functions):
            if shape == (0,) and g._data.ndim != 1:  # skipped legacy empty input
                grads.append(None)
                continue
            n = shape[dim]
            grads.append(
                None if fn is None else basic_index(g, _dim_slice(dim, start, start + n))
            )
            start += n
        return tuple(grads)


def cat(tensors, dim: int = 0, *, axis: int | None = None) -> Tensor:
    """Concatenate along `dim`; dtypes are promoted as in PyTorch."""
    tensors = _tensor_list(tensors, "cat")
    if not tensors:
        raise ValueError("torch.cat(): expected a non-empty list of Tensors")
    if axis is not None:
        dim = axis
    for i, t in enumerate(tensors):
        if t._data.ndim == 0:
            raise RuntimeError(f"zero-dimensional tensor (at position {i}) cannot be concatenated")
    # Like PyTorch, 1-d empty tensors are skipped when checking shapes (legacy behaviour).
    kept = [t for t in tensors if t._data.shape != (0,)] or tensors[:1]
    ref = kept[0]._data.shape
    d = _wrap_dim(dim, len(ref))
    for t in kept[1:]:
        shape = t._data.shape
        if len(shape) != len(ref):
            raise RuntimeError(
                f"Tensors must have same number of dimensions: got {len(ref)} and {len(shape)}"
            )
    for i, t in enumerate(tensors):
        shape = t._data.shape
        if shape == (0,) and len(ref) != 1:
            continue
        for k, (a, b) in enumerate(zip(ref, shape)):
            if k != d and a != b:
                raise RuntimeError(
                    f"Sizes of tensors must match except in dimension {d}. Expected size {a} "
                    f"but got size {b} for tensor number {i} in the list."
                )
    arrays = [t._data for t in tensors]
    dt = _promoted(arrays)
    parts = [a for a in arrays if a.shape != (0,)] if len(ref) != 1 else arrays
    out = np.concatenate(parts or arrays, axis=d, dtype=dt, casting="unsafe")
    return _record_many(CatBackward0, out, tensors, (d,))


concat = concatenate = cat


class StackBackward0(Op):
    needs = _NothingSaved()

    def backward(self, g):
        return unbind(g, self.args[0])


def stack(tensors, dim: int = 0) -> Tensor:
    """Join equal-shaped tensors along a new dimension `dim`."""
    tensors = _tensor_list(tensors, "stack")
    if not tensors:
        raise RuntimeError("stack expects a non-empty TensorList")
    ref = tensors[0]._data.shape
    for i, t in enumerate(tensors[1:], 1):
        if t._data.shape != ref:
            raise RuntimeError(
                f"stack expects each tensor to be equal size, but got {list(ref)} at entry 0 "
                f"and {list(t._data.shape)} at entry {i}"
            )
    d = _wrap_dim(dim, len(ref) + 1)
    arrays = [t._data for t in tensors]
    out = np.stack(arrays, axis=d, dtype=_promoted(arrays), casting="unsafe")
    return _record_many(StackBackward0, out, tensors, (d,))


def hstack(tensors) -> Tensor:
    tensors = _tensor_list(tensors, "hstack")
    tensors = [reshape(t, (1,)) if t._data.ndim == 0 else t for t in tensors]
    return cat(tensors, 0 if tensors and tensors[0]._data.ndim == 1 else 1)


def vstack(tensors) -> Tensor:
    tensors = _tensor_list(tensors, "vstack")
    return cat([reshape(t, (1, -1)) if t._data.ndim < 2 else t for t in tensors], 0)


# ----- flip / roll / repeat -------------------------------------------------------------
class FlipBackward0(Op):
    needs = ((),)

    @staticmethod
    def forward(x, dims):
        return np.flip(x, dims).copy()

    def backward(self, g):
        return _flip(g, self.args[0])


class RollBackward0(Op):
    needs = ((),)

    @staticmethod
    def forward(x, shifts, dims):
        return np.roll(x, shifts, dims)

    def backward(self, g):
        shifts, dims = self.args
        return _roll(g, tuple(-s for s in shifts), dims)


class RepeatBackward0(Op):
    needs = ((),)

    @staticmethod
    def forward(x, repeats):
        return np.tile(x, repeats)

    def backward(self, g):
        repeats = self.args[0]
        shape = self._shapes[0][0]
        padded = (1,) * (len(repeats) - len(shape)) + tuple(shape)
        # Give each repeat its own axis next to the axis it repeats, then sum those away.
        pairs = tuple(v for r, s in zip(repeats, padded) for v in (r, s))
        g = g.reshape(pairs).sum(tuple(range(0, len(pairs), 2)))
        return g.reshape(shape)


_flip = unary(FlipBackward0)
_roll = unary(RollBackward0)
_repeat = unary(RepeatBackward0)


def flip(x: Tensor, *dims) -> Tensor:
    """A copy with the order of elements reversed along `dims`."""
    return _flip(x, _dims_arg(dims, x._data.ndim))


def fliplr(x: Tensor) -> Tensor:
    if x._data.ndim < 2:
        raise RuntimeError("Input must be >= 2-d.")
    return _flip(x, (1,))


def flipud(x: Tensor) -> Tensor:
    if x._data.ndim < 1:
        raise RuntimeError("Input must be >= 1-d.")
    return _flip(x, (0,))


def roll(x: Tensor, shifts, dims=None) -> Tensor:
    """Shift elements cyclically along `dims` (over the flattened tensor when None)."""
    shifts = (int(shifts),) if isinstance(shifts, _ints) else tuple(int(s) for s in shifts)
    if dims is None:
        if len(shifts) != 1:
            raise RuntimeError(
                f"shifts and dimensions must align. shifts: {len(shifts)}, dims:0"
            )
        return _roll(x, shifts, None)
    dims = (dims,) if isinstance(dims, _ints) else tuple(dims)
    if len(shifts) != len(dims):
        raise RuntimeError(
            f"shifts and dimensions must align. shifts: {len(shifts)}, dims:{len(dims)}"
        )
    return _roll(x, shifts, tuple(_wrap_dim(int(d), x._data.ndim) for d in dims))


def repeat(x: Tensor, *sizes) -> Tensor:
    """Tile `x` `sizes[i]` times along each dimension (leading sizes add dimensions)."""
    sizes = shape_arg(sizes)
    shape = x._data.shape
    if len(sizes) < len(shape):
        raise RuntimeError(
            "Number of dimensions of repeat dims can not be smaller than number of dimensions "
            "of tensor"
        )
    padded = (1,) * (len(sizes) - len(shape)) + tuple(shape)
    target = [r * s for r, s in zip(sizes, padded)]
    for v in target:
        if v < 0:
            raise RuntimeError(f"Trying to create tensor with negative dimension {v}: {target}")
    return _repeat(x, sizes)


def tile(x: Tensor, *dims) -> Tensor:
    dims = shape_arg(dims)
    return repeat(x, (1,) * (x._data.ndim - len(dims)) + dims)


# ----- tensor_split, repeat_interleave -------------------------------------------------
def tensor_split(input: Tensor, indices_or_sections, dim: int = 0) -> tuple:
    """Views of `input` cut into `sections` near-equal pieces (the first ones one larger),
    or cut before each of `indices` (Python slice rules: pieces may be empty)."""
    shape = input._data.shape
    if not shape:
        raise RuntimeError(
            "tensor_split expected at least a 1-dimensional tensor, but got a tensor with 0 dims")
    split_at = indices_or_sections
    if isinstance(split_at, Tensor):
        arr = split_at._data
        if arr.dtype != np.int64:
            from .reduction import _type_name

            raise RuntimeError(
                "tensor_split expected tensor_indices_or_sections to have dtype of long, but "
                f"got {_type_name(arr.dtype)}")
        if arr.ndim > 1:
            raise RuntimeError(
                "tensor_split expected tensor_indices_or_sections to be a zero-dimensional or "
                f"one-dimensional tensor, but got a tensor with {arr.ndim} dims")
        split_at = int(arr) if arr.ndim == 0 else arr.tolist()
    d = _wrap_dim(dim, len(shape))
    if isinstance(split_at, _ints):
        sections, n = int(split_at), shape[d]
        if sections <= 0:
            raise RuntimeError(f"number of sections must be larger than 0, got {sections}")
        size, extra = divmod(n, sections)
        bounds = np.cumsum([0] + [size + 1] * extra + [size] * (sections - extra)).tolist()
    else:
        bounds = [0, *(int(i) for i in split_at), None]
    return tuple(
        basic_index(input, (slice(None),) * d + (slice(a, b), Ellipsis))
        for a, b in zip(bounds[:-1], bounds[1:])
    )


def repeat_interleave(input: Tensor, repeats=None, dim: int | None = None, *,
                      output_size: int | None = None) -> Tensor:
    """Repeat each element (each slice along `dim`; of the flattened tensor when None)
    `repeats` times (an int, or a 1-D tensor with a count per element)."""
    if repeats is None:  # repeat_interleave(counts): each index i, counts[i] times
        counts = input._data
        if counts.ndim != 1:
            raise RuntimeError("repeat_interleave only accept 1D vector as repeat")
        return _make(np.repeat(np.arange(counts.size), counts), False, None)
    if dim is None:
        input, dim = reshape(input, (-1,)), 0
    shape = input._data.shape
    d = _wrap_dim(dim, len(shape))
    if isinstance(repeats, Tensor) and repeats._data.size != 1:
        counts = repeats._data
        if counts.dtype.kind not in "iu":
            from .reduction import _type_name

            raise NotImplementedError(
                f'"repeat_interleave_cpu" not implemented for \'{_type_name(counts.dtype)}\'')
        if counts.ndim != 1:
            raise RuntimeError("repeat_interleave only accept 1D vector as repeat")
        n = shape[d] if shape else 1
        if counts.size != n:
            raise RuntimeError(
                "repeats must have the same size as input along dim, but got "
                f"repeats.size(0) = {counts.size} and input.size({d}) = {n}")
        if (counts < 0).any():
            raise RuntimeError("repeats can not be negative")
        from .indexing import index_select

        return index_select(input, d, np.repeat(np.arange(n), counts))
    r = int(repeats.item() if isinstance(repeats, Tensor) else repeats)
    if r < 0:
        raise RuntimeError("Repeats must be non-negative")
    if not shape:
        input, shape = reshape(input, (1,)), (1,)
    spread = expand(unsqueeze(input, d + 1), shape[: d + 1] + (r,) + shape[d + 1:])
    return view(spread.contiguous(), shape[:d] + (shape[d] * r,) + shape[d + 1:])


# ----- rot90, diff ----------------------------------------------------------------------
class Rot90Backward0(Op):
    needs = ((),)

    @staticmethod
    def forward(x, k, dims):
        return np.rot90(x, k, dims).copy()

    def backward(self, g):
        k, dims = self.args
        return _rot90(g, -k, dims)


_rot90 = unary(Rot90Backward0)


def rot90(input: Tensor, k: int = 1, dims=(0, 1)) -> Tensor:
    """Rotate by 90 degrees `k` times in the plane of `dims`, from the first towards the
    second."""
    dims = tuple(dims)
    ndim = input._data.ndim
    if len(dims) != 2:
        raise RuntimeError(f"expected total rotation dims == 2, but got dims = {len(dims)}")
    if ndim < 2:
        raise RuntimeError(f"expected total dims >= 2, but got total dims = {ndim}")
    d0, d1 = (_wrap_dim(int(d), ndim) for d in dims)
    if d0 == d1:
        raise RuntimeError(
            f"expected rotation dims to be different, but got dim0 = {dims[0]} and "
            f"dim1 = {dims[1]}")
    return _rot90(input, int(k) % 4, (d0, d1))


def diff(input: Tensor, n: int = 1, dim: int = -1, prepend=None, append=None) -> Tensor:
    """The `n`-th forward difference along `dim`, after adding `prepend`/`append`."""
    ndim = input._data.ndim
    if ndim == 0:
        raise RuntimeError("diff expects input to be at least one-dimensional")
    if n < 0:
        raise RuntimeError(f"order must be non-negative but got {n}")
    d = _wrap_dim(dim, ndim)
    for extra in (prepend, append):
        if extra is not None and (not isinstance(extra, Tensor) or extra._data.ndim != ndim):
            raise RuntimeError("diff expects prepend or append to be the same dimension as input")
    parts = [t for t in (prepend, input, append) if t is not None]
    x = cat(parts, d) if len(parts) > 1 else input
    if x._data.dtype == np.bool_:  # booleans differ by xor, as in PyTorch
        return _make(np.diff(x._data, n, axis=d), False, None)
    for _ in range(n):
        size = x._data.shape[d]
        if size == 0:
            break
        x = narrow(x, d, 1, size - 1) - narrow(x, d, 0, size - 1)
    return x


# ----- meshgrid, cartesian_prod ---------------------------------------------------------
def _tensors_arg(tensors: tuple) -> list:
    """Accept f(a, b) and f([a, b])."""
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        return list(tensors[0])
    return list(tensors)


def meshgrid(*tensors, indexing: str | None = None) -> tuple:
    """Coordinate grids of 0-d/1-d tensors; 'ij' (matrix) or 'xy' (Cartesian) indexing."""
    tensors = _tensors_arg(tensors)
    if indexing is None:
        warnings.warn(
            "torch.meshgrid: in an upcoming release, it will be required to pass the indexing "
            "argument.", UserWarning, stacklevel=2)
        indexing = "ij"
    if indexing not in ("ij", "xy"):
        raise RuntimeError(
            'torch.meshgrid: indexing must be one of "xy" or "ij", but received: '
            f"{indexing}")
    if not tensors:
        raise RuntimeError("meshgrid expects a non-empty TensorList")
    for t in tensors:
        if t._data.ndim > 1:
            raise RuntimeError(
                f"torch.meshgrid: Expected 0D or 1D tensor in the tensor list but got: {t}")
    if any(t._data.dtype != tensors[0]._data.dtype for t in tensors):
        raise RuntimeError("meshgrid expects all tensors to have the same dtype")
    order = list(range(len(tensors)))
    if indexing == "xy" and len(tensors) > 1:
        order[0], order[1] = 1, 0  # the first two inputs swap places in the grid
    grid = [0] * len(tensors)
    for i, pos in enumerate(order):
        grid[pos] = tensors[i]._data.size
    grid = tuple(grid)
    out = []
    for i, t in enumerate(tensors):
        shape = [1] * len(grid)
        shape[order[i]] = -1
        out.append(expand(reshape(t, tuple(shape)), grid))
    return tuple(out)


def cartesian_prod(*tensors) -> Tensor:
    """Every combination of the elements of 1-d tensors, one per row."""
    tensors = _tensors_arg(tensors)
    for t in tensors:
        if t._data.ndim != 1:
            raise RuntimeError(f"Expect a 1D vector, but got shape {list(t._data.shape)}")
    if len(tensors) == 1:
        return tensors[0]
    grids = meshgrid(*tensors, indexing="ij")
    return stack([reshape(g, (-1,)) for g in grids], 1)


# ----- atleast_nd, column_stack, dstack -------------------------------------------------
def _atleast(tensors: tuple, fn):
    items = _tensors_arg(tensors)
    if len(tensors) == 1 and not isinstance(tensors[0], (list, tuple)):
        return fn(items[0])
    return tuple(fn(t) for t in items)


def _at_least_1d(x: Tensor) -> Tensor:
    return reshape(x, (1,)) if x._data.ndim == 0 else x


def _at_least_2d(x: Tensor) -> Tensor:
    ndim = x._data.ndim
    return reshape(x, (1, 1)) if ndim == 0 else unsqueeze(x, 0) if ndim == 1 else x


def _at_least_3d(x: Tensor) -> Tensor:
    ndim = x._data.ndim
    if ndim == 0:
        return reshape(x, (1, 1, 1))
    if ndim == 1:
        return unsqueeze(unsqueeze(x, 0), -1)
    return unsqueeze(x, -1) if ndim == 2 else x


def atleast_1d(*tensors):
    """The tensor(s) with at least one dimension (0-d becomes shape (1,))."""
    return _atleast(tensors, _at_least_1d)


def atleast_2d(*tensors):
    """The tensor(s) with at least two dimensions (a vector becomes a row)."""
    return _atleast(tensors, _at_least_2d)


def atleast_3d(*tensors):
    """The tensor(s) with at least three dimensions ((n,) -> (1, n, 1), (m, n) -> (m, n, 1))."""
    return _atleast(tensors, _at_least_3d)


def column_stack(tensors) -> Tensor:
    """Join along dim 1, vectors and scalars becoming columns."""
    tensors = _tensor_list(tensors, "column_stack")
    if not tensors:
        raise RuntimeError("column_stack expects a non-empty TensorList")
    return cat([reshape(t, (-1, 1)) if t._data.ndim < 2 else t for t in tensors], 1)


def dstack(tensors) -> Tensor:
    """Join along dim 2 (depth), after making every tensor at least 3-d."""
    tensors = _tensor_list(tensors, "dstack")
    if not tensors:
        raise RuntimeError("dstack expects a non-empty TensorList")
    return cat([_at_least_3d(t) for t in tensors], 2)


TENSOR_METHODS = {
    "reshape": reshape, "view": view, "view_as": view_as, "reshape_as": reshape_as,
    "ravel": ravel, "flatten": flatten, "unflatten": unflatten, "transpose": transpose,
    "swapaxes": transpose, "swapdims": transpose, "permute": permute, "t": t,
    "movedim": movedim, "moveaxis": movedim, "expand": expand, "expand_as": expand_as,
    "broadcast_to": broadcast_to, "unsqueeze": unsqueeze, "squeeze": squeeze,
    "narrow": narrow, "select": select, "split": split, "chunk": chunk, "unbind": unbind,
    "flip": flip, "fliplr": fliplr, "flipud": flipud, "roll": roll, "repeat": repeat,
    "tile": tile, "__iter__": _iter, "tensor_split": tensor_split,
    "repeat_interleave": repeat_interleave, "rot90": rot90, "diff": diff,
}
