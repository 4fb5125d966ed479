"""How in-place ops write: whether a tensor may be written now, whether the write is
recorded, and how the graph is rewired when it is.

A recorded write runs the op out of place on an alias of the old value; the tensor then
takes over the result's node. Writing into a view (or `t[key] = v`) gives the base a
`CopySlices` node, which sends the written part of the gradient to the new values and the
rest to the old base; the view then reads its gradient back from the base
(`AsStridedBackward0`). Views taken before such a change get the same treatment the next
time they are used (`refresh_view`), as PyTorch regenerates their grad_fn.
"""

from __future__ import annotations

import numpy as np

from .._tensor import _INFERENCE, Tensor, _make, _VersionCounter
from ..autograd.grad_mode import _inference_mode, _tracking
from ..autograd.graph import RebasedCounter, SavedTensor, edge_of, refresh_view
from ._define import Op, record, unary

_LEAF = "a leaf Variable that requires grad is being used in an in-place operation."
VIEW_OF_LEAF = (
    "a view of a leaf Variable that requires grad is being used in an in-place operation."
)
_INFERENCE_UPDATE = (
    "Inplace update to inference tensor outside InferenceMode is not allowed.You can make a "
    "clone to get a normal tensor before doing inplace update.See "
    "https://github.com/pytorch/rfcs/pull/17 for more details."
)
_NO_GRAD_VIEW = (
    "A view was created in no_grad mode and is being modified inplace with grad mode "
    "enabled. Given that this use case is ambiguous and error-prone, it is forbidden. You can "
    "clarify your code by moving both the view and the inplace either both inside the "
    "no_grad block (if you don't want the inplace to be tracked) or both outside (if you "
    "want the inplace to be tracked)."
)
_OVERLAP = (
    "unsupported operation: more than one element of the written-to tensor refers to a "
    "single memory location. Please clone() the tensor before performing the operation."
)
TORCH_NAMES = {
    "float32": "Float", "float64": "Double", "float16": "Half", "int64": "Long",
    "int32": "Int", "int16": "Short", "int8": "Char", "uint8": "Byte", "bool": "Bool",
}
C_NAMES = {
    "float32": "float", "float64": "double", "float16": "c10::Half", "int64": "long int",
    "int32": "int", "int16": "short int", "int8": "signed char", "uint8": "unsigned char",
}
_ndarray = np.ndarray


# ----- checks -------------------------------------------------------------------------
def begin_write(t: Tensor, operands: tuple = (), leaf_message: str = _LEAF) -> bool:
    """Check that `t` may be written now; True when the write must be recorded."""
    if t._vc is _INFERENCE and not _inference_mode.get():
        raise RuntimeError(_INFERENCE_UPDATE)
    if not _tracking.get():
        return False
    base = t._base
    if base is not None and base._requires_grad:
        if base._grad_fn is None:
            raise RuntimeError(VIEW_OF_LEAF)
        if not t._requires_grad:
            raise RuntimeError(_NO_GRAD_VIEW)
        return True
    if t._requires_grad:
        if t._grad_fn is None:
            raise RuntimeError(leaf_message)
        return True
    for o in operands:
        if isinstance(o, Tensor) and o._requires_grad:
            return True
    return False


def writable_array(t: Tensor) -> np.ndarray:
    x = t._data
    if not x.flags.writeable:
        if any(s == 0 and n > 1 for s, n in zip(x.strides, x.shape)):
            raise RuntimeError(_OVERLAP)
        raise RuntimeError(
            "cannot write into a read-only tensor (its NumPy array is not writeable); "
            "clone() it first"
        )
    return x


def _category(dt: np.dtype) -> int:
    return 0 if dt.kind == "b" else 2 if dt.kind == "f" else 1


def check_cast(result: np.dtype, out: np.dtype, name: str | None = None) -> None:
    """PyTorch refuses in-place results of a higher kind (float into int, int into bool)."""
    if _category(result) > _category(out):
        raise RuntimeError(
            f"result type {name or TORCH_NAMES.get(result.name, result.name)} can't be cast "
            f"to the desired output type {TORCH_NAMES.get(out.name, out.name)}"
        )


def check_broadcast(out_shape: tuple, other_shape: tuple) -> None:
    """`other` must broadcast to the written tensor's shape without growing it."""
    if other_shape == out_shape:
        return
    n = max(len(out_shape), len(other_shape))
    a = (1,) * (n - len(out_shape)) + tuple(out_shape)
    b = (1,) * (n - len(other_shape)) + tuple(other_shape)
    for i in range(n - 1, -1, -1):
        if a[i] != b[i] and a[i] != 1 and b[i] != 1:
            raise RuntimeError(
                f"The size of tensor a ({a[i]}) must match the size of tensor b ({b[i]}) at "
                f"non-singleton dimension {i}"
            )
    full = tuple(max(x, y) for x, y in zip(a, b))
    if full != tuple(out_shape):
        raise RuntimeError(
            f"output with shape {list(out_shape)} doesn't match the broadcast shape "
            f"{list(full)}"
        )


def check_result(x: np.ndarray, r: np.ndarray, name: str | None = None) -> None:
    if r.shape != x.shape:
        check_broadcast(x.shape, r.shape)
    check_cast(r.dtype, x.dtype, name)


# ----- positions of a view inside its base ----------------------------------------------
def _grid(offset: int, shape: tuple, strides: tuple) -> np.ndarray:
    """offset + sum_k i_k * strides[k] over the index grid of `shape` (in elements)."""
    idx = np.array(offset, dtype=np.intp)
    for n, s in zip(shape, strides):
        idx = idx[..., None] + np.arange(n, dtype=np.intp) * s
    return idx


def view_positions(view: np.ndarray, base: np.ndarray) -> np.ndarray:
    """For each element of `view` (an array on `base`'s memory), its flat C-order index
    in `base`."""
    item = base.itemsize
    if view.itemsize != item:
        raise RuntimeError("ember cannot write through a view with a different element size")
    start = view.__array_interface__["data"][0] - base.__array_interface__["data"][0]
    vstrides = tuple(s // item for s in view.strides)
    if base.flags.c_contiguous:
        return _grid(start // item, view.shape, vstrides)
    # Any other layout: match element addresses against the base's sorted addresses.
    addr = _grid(0, base.shape, tuple(s // item for s in base.strides)).ravel()
    order = np.argsort(addr, kind="stable")
    return order[np.searchsorted(addr[order], _grid(start // item, view.shape, vstrides))]


def no_overlap(arr: np.ndarray) -> bool:
    return not any(s == 0 and n > 1 for s, n in zip(arr.strides, arr.shape))


# ----- the gather / scatter pair used by CopySlices and refreshed views ------------------
class AsStridedBackward0(Op):
    """A view read back from its base: the elements of `x` at flat positions `pos`."""

    needs = ((),)

    @staticmethod
    def forward(x, pos, unique):
        return x.reshape(-1)[pos]

    def backward(self, g):
        pos, unique = self.args
        return _scatter(g, pos, unique, self._shapes[0][0])


class AsStridedScatterBackward0(Op):
    """Zeros of shape `shape` with `x` put (added, if `pos` repeats) at flat positions."""

    needs = ((),)

    @staticmethod
    def forward(x, pos, unique, shape):
        out = np.zeros(int(np.prod(shape)), dtype=x.dtype)
        if unique:
            out[pos.ravel()] = x.ravel()
        else:
            np.add.at(out, pos.ravel(), x.ravel())
        return out.reshape(shape)

    def backward(self, g):
        pos, unique, _ = self.args
        return _gather(g, pos, unique)


class IndexFillBackward0(Op):
    """`x` with the flat positions `pos` set to zero (self-adjoint)."""

    needs = ((),)

    @staticmethod
    def forward(x, pos):
        out = np.array(x, order="C")
        out.reshape(-1)[pos.ravel()] = 0
        return out

    def backward(self, g):
        return _zero_at(g, self.args[0])


_gather = unary(AsStridedBackward0)
_scatter_op = unary(AsStridedScatterBackward0)
_zero_at = unary(IndexFillBackward0)


def _scatter(g: Tensor, pos: np.ndarray, unique: bool, shape: tuple) -> Tensor:
    return _scatter_op(g, pos, unique, tuple(shape))


class CopySlices(Op):
    """A base after writing `value` at flat positions `pos`: the written part of the
    gradient goes to `value`, the rest to the old base."""

    needs = ((), ())

    def backward(self, g):
        pos, unique = self.args
        need_old, need_value = self.needs_input_grad
        g_old = _zero_at(g, pos) if need_old else None
        g_value = None
        if need_value:
            g_value = _gather(g, pos, unique)
            shape = self._shapes[1][0]
            if len(shape) > g_value.ndim:  # NumPy accepts extra leading 1s in the value
                g_value = g_value.reshape((1,) * (len(shape) - g_value.ndim) + g_value.shape)
        return g_old, g_value


class IndexPutBackward0(CopySlices):
    pass


# ----- recording ------------------------------------------------------------------------
def _alias(t: Tensor, copy: bool) -> Tensor:
    """The tensor's current value and graph position, as a separate Tensor."""
    fn, nr = edge_of(t) if t._grad_fn is not None else (None, 0)
    a = _make(t._data.copy() if copy else t._data, t._requires_grad, fn)
    a._output_nr = nr
    if not copy:
        a._vc = t._new_vc()
    return a


def _mark_rebased(t: Tensor) -> None:
    vc = t._vc
    if type(vc) is _VersionCounter and vc is not _INFERENCE:
        vc.__class__ = RebasedCounter


def _keep_output_in(t: Tensor, r: Tensor) -> None:
    """If r's node saved r, point that at t's array (where r was written), so that a
    later in-place change of t is caught at backward and no second copy is kept."""
    saved = getattr(r._grad_fn, "_saved", None)
    if saved:
        s = saved[-1]
        if (type(s) is SavedTensor and s._tensor is None and s._data is r._data
                and r._data.dtype == t._data.dtype):
            vc = t._new_vc()
            s._data, s._vc, s._version = t._data, vc, vc.value


def _adopt(t: Tensor, r: Tensor) -> None:
    """Make the recorded result `r` (already written into `t`) the graph of `t`."""
    node = r._grad_fn
    hooks = t._hooks
    keep = bool(hooks) and "retain_grad" in hooks
    if keep:
        hooks.pop("retain_grad").remove()
    t._grad_fn = node
    t._output_nr = r._output_nr
    t._requires_grad = r._requires_grad
    _keep_output_in(t, r)
    _mark_rebased(t)
    if keep:
        t.retain_grad()


def rebase(base: Tensor, pos: np.ndarray, value: Tensor, unique: bool,
           cls: type[CopySlices] = CopySlices) -> None:
    """Record that `value` was written at `pos` of `base` (the data is already there)."""
    old = _alias(base, False)
    node = record(cls, base._data, (old, value), (pos, unique))._grad_fn
    base._grad_fn = node
    base._output_nr = 0
    base._requires_grad = True
    _mark_rebased(base)


def read_from_base(view: Tensor, base: Tensor, pos: np.ndarray | None = None) -> None:
    """Give `view` a grad_fn that reads its elements from the base's current graph."""
    if pos is None:
        pos = view_positions(view._data, base._data)
    node = record(AsStridedBackward0, view._data, (base,), (pos, no_overlap(view._data)))
    view._grad_fn = node._grad_fn
    view._output_nr = 0
    view._requires_grad = True


def _refresh(view: Tensor):
    """The grad_fn of a view whose base was changed in place: kept when it was taken
    after the change (its chain of nodes reaches the base's current node), else rebuilt."""
    base = view._base
    target = base._grad_fn
    fn = view._grad_fn
    if target is None or not base._requires_grad:
        return fn
    node = fn
    for _ in range(16):
        edges = node.next_functions
        if not edges or edges[0][0] is None:
            break
        node = edges[0][0]
        if node is target:
            return fn
    read_from_base(view, base)
    return view._grad_fn


refresh_view[0] = _refresh


def record_write(t: Tensor, make, saves_self: bool, name: str | None = None,
                 strict_dtype: bool = True) -> Tensor:
    """Run `make(old)` (an out-of-place ember op on an alias of t's value, copied when
    the op saves it) and write the result into `t`, which takes over its graph."""
    old = _alias(t, saves_self)
    r = make(old)
    x = writable_array(t)
    rd = r._data
    if strict_dtype:
        check_result(x, rd, name)
    elif rd.shape != x.shape:
        check_broadcast(x.shape, rd.shape)
    base = t._base
    pos = view_positions(x, base._data) if base is not None else None
    if rd is not x:
        np.copyto(x, rd, casting="unsafe")
    t._bump_version()
    if base is None:
        _adopt(t, r)
        return t
    rebase(base, pos, r, no_overlap(x))
    _keep_output_in(t, r)
    read_from_base(t, base, pos)
    return t


def saves_first_input(cls: type[Op]) -> bool:
    """Whether the op may keep its first input for backward (then it gets a copy)."""
    return any(0 in n for n in cls.needs)
