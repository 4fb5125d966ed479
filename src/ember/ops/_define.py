"""The op contract: how a differentiable op is declared and how it records itself.

An op is a `Node` subclass (named like PyTorch's grad_fn, e.g. `MulBackward0`) with:

* `forward(*arrays, *args)`: NumPy in, NumPy out (a static method);
* `needs`: for each input, which values its gradient needs: input indices, or `OUT`
  for the op's result. Only the values needed by inputs that require grad are saved,
  and only when a graph is being recorded;
* `backward(self, grad)`: ember ops in, one gradient (or None) per input out. It reads
  `self.saved_tensors` (inputs..., result; None where not saved), `self.args` (the
  non-tensor arguments) and `self.needs_input_grad`.

Gradients that come back with a broadcast shape are summed back by the engine, so no op
undoes broadcasting itself. `unary(Op)` and `binary(Op)` build the callable from the class.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._dtypes import result_type, scalar_result_dtype
from .._tensor import _INFERENCE, Tensor, _make
from ..autograd.grad_mode import _INFERENCE_MODES, _mode
from ..autograd.graph import Node, SavedTensor, edge_of

__all__ = ["Op", "OUT", "unary", "binary", "record", "to_tensor", "wrap", "scalar_types"]

OUT = -1
_ndarray = np.ndarray
_FLOATS = (np.dtype(np.float32), np.dtype(np.float64), np.dtype(np.float16))
_new = object.__new__
scalar_types = (int, float, bool, np.number, np.bool_)


class Op(Node):
    """Base of built-in ops; see the module docstring for the contract."""

    __slots__ = ()
    needs: tuple = ()

    @property
    def saved_tensors(self) -> tuple:
        """(inputs..., result), None where not saved; the layout holds even when nothing
        was saved (e.g. only a bias needed a gradient)."""
        saved = self._saved
        if saved is None and not self._freed:
            return (None,) * (len(self.next_functions) + 1)
        return Node.saved_tensors.fget(self)

    @staticmethod
    def forward(*arrays):  # pragma: no cover - each op defines it
        raise NotImplementedError


def wrap(out) -> Tensor:
    """An untracked result (also makes NumPy scalars into 0-d arrays)."""
    if type(out) is not _ndarray:
        out = np.asarray(out)
    return _make(out, False, None)


def record(cls: type[Node], out, inputs: tuple, args: tuple = ()) -> Tensor:
    """Make the node of one op call, saving what `cls.needs` asks for, and its output."""
    if type(out) is not _ndarray:
        out = np.asarray(out)
    node = _new(cls)
    node._freed = False
    node.args = args
    node._pre_hooks = None
    node._hooks = None
    node._trace = None
    node._out_meta = None
    needs = cls.needs
    edges = []
    shapes = []
    want: set = set()
    consts = None
    for i, t in enumerate(inputs):
        if type(t) is Tensor or isinstance(t, Tensor):
            shapes.append((t._data.shape, t._data.dtype))
            if t._requires_grad:
                edges.append(edge_of(t))
                want.update(needs[i])
                continue
            # Inputs without grad are remembered by id only, for pictures of the graph
            # (frozen parameters, detach() boundaries); nothing is kept alive.
            if consts is None:
                consts = []
            base = t._base if t._base is not None else t
            consts.append((i, id(base), t._data.shape, t._detached or base._detached))
        else:
            shapes.append(((), None))
        edges.append((None, 0))
    node.next_functions = tuple(edges)
    node._shapes = tuple(shapes)
    if consts is not None:
        node._consts = tuple(consts)
    result = _make(out, True, node)
    if want:
        saved: list[Any] = [None] * (len(inputs) + 1)
        for j in want:
            if j == OUT:
                saved[-1] = SavedTensor(result, True)
            else:
                t = inputs[j]
                saved[j] = SavedTensor(t) if isinstance(t, Tensor) else t
        node._saved = tuple(saved)
    else:
        node._saved = None
    if _anomaly[0]:
        from ..autograd.anomaly import remember_trace

        remember_trace(node)
    return result


# Set by ember.autograd.anomaly; a list so that the flag is read without an import.
_anomaly = [False]


def to_tensor(x, like: Tensor | None = None) -> Tensor:
    """Turn an op argument that is not a Tensor (scalar, list, array) into one."""
    if isinstance(x, Tensor):
        return x
    if isinstance(x, scalar_types) and like is not None:
        dt = scalar_result_dtype(like._data.dtype, x.item() if isinstance(x, np.generic) else x)
        return _make(np.asarray(x, dtype=dt), False, None)
    arr = np.asarray(x)
    if arr.dtype == np.float64 and not isinstance(x, np.ndarray):
        arr = arr.astype(np.float32)
    return _make(arr, False, None)


def _takes_args(fwd) -> bool:
    if isinstance(fwd, np.ufunc):
        return fwd.nin > 1
    import inspect

    params = list(inspect.signature(fwd).parameters.values())
    return len(params) > 1 or any(p.kind == p.VAR_POSITIONAL for p in params)


def unary(cls: type[Op]):
    """The callable of a one-input op: `f(x, *args)`; args are non-tensor arguments."""
    fwd = cls.forward
    mode = _mode.get

    if _takes_args(fwd):

        def op(x, *args):
            if type(x) is not Tensor:
                x = to_tensor(x)
            out = fwd(x._data, *args)
            code = mode()
            if code == 0 and x._requires_grad:
                return record(cls, out, (x,), args)
            if type(out) is not _ndarray:
                out = np.asarray(out)
            t = _new(Tensor)
            t._data = out
            if code >= _INFERENCE_MODES:
                t._vc = _INFERENCE
            return t

    else:
        # A forward wrapped for integer inputs (see elementwise._floating) exposes its float
        # kernel, called directly on float arrays: the wrapper's frame costs more than the
        # whole op on a small tensor.
        kernel = getattr(fwd, "float_kernel", None)

        def op(x):
            if type(x) is not Tensor:
                x = to_tensor(x)
            xd = x._data
            out = kernel(xd) if kernel is not None and xd.dtype in _FLOATS else fwd(xd)
            code = mode()
            if code == 0 and x._requires_grad:
                return record(cls, out, (x,))
            if type(out) is not _ndarray:
                out = np.asarray(out)
            t = _new(Tensor)
            t._data = out
            if code >= _INFERENCE_MODES:
                t._vc = _INFERENCE
            return t

    op.__name__ = op.__qualname__ = cls.__name__.replace("Backward0", "").lower()
    op.__doc__ = cls.__doc__
    return op


def _operands(a, b):
    """The arrays of a binary op's operands after PyTorch's type promotion.

    Python scalars stay scalars (NumPy then keeps the tensor's dtype, as PyTorch does),
    except a float scalar with an integer or bool tensor, which gives the default float.
    """
    if type(a) is Tensor:
        ad = a._data
    elif isinstance(a, Tensor):
        ad = a._data
    elif isinstance(a, scalar_types):
        ad = a.item() if isinstance(a, np.generic) else a
    else:
        a = to_tensor(a)
        ad = a._data
    if type(b) is Tensor:
        bd = b._data
    elif isinstance(b, Tensor):
        bd = b._data
    elif isinstance(b, scalar_types):
        bd = b.item() if isinstance(b, np.generic) else b
    else:
        b = to_tensor(b)
        bd = b._data
    ta, tb = type(ad), type(bd)
    if ta is _ndarray:
        if tb is _ndarray:
            # A bool operand with a non-bool one: NumPy already promotes as PyTorch does
            # (the other dtype wins), inside the ufunc loop, without a converted copy.
            if ad.dtype != bd.dtype and ad.dtype.kind != "b" and bd.dtype.kind != "b":
                dt = result_type(ad, bd)
                ad = ad.astype(dt, copy=False)
                bd = bd.astype(dt, copy=False)
        elif ad.dtype.kind != "f" and (tb is float or (tb is int and ad.dtype.kind == "b")):
            ad = ad.astype(scalar_result_dtype(ad.dtype, bd))
    elif tb is _ndarray:
        if bd.dtype.kind != "f" and (ta is float or (ta is int and bd.dtype.kind == "b")):
            bd = bd.astype(scalar_result_dtype(bd.dtype, ad))
    else:
        raise TypeError("at least one operand must be a Tensor")
    return a, b, ad, bd


def binary(cls: type[Op]):
    """The callable of a two-input op `f(a, b)`; either may be a Python scalar."""
    fwd = cls.forward
    mode = _mode.get

    def op(a, b):
        # Fast path: two plain tensors of one dtype, or a plain tensor and a Python scalar
        # that NumPy already promotes as PyTorch does (an int, or a float with a float
        # tensor). Everything else goes through _operands.
        ta, tb = type(a), type(b)
        fast = False
        if ta is Tensor:
            ad = a._data
            if tb is Tensor:
                bd = b._data
                fast = ad.dtype is bd.dtype
            elif tb is int or (tb is float and ad.dtype.kind == "f"):
                bd = b
                fast = True
        elif tb is Tensor and (ta is int or (ta is float and b._data.dtype.kind == "f")):
            ad, bd = a, b._data
            fast = True
        if fast:
            out = fwd(ad, bd)
            code = mode()
            if code == 0 and (
                (ta is Tensor and a._requires_grad) or (tb is Tensor and b._requires_grad)
            ):
                return record(cls, out, (a, b))
            if type(out) is not _ndarray:
                out = np.asarray(out)
            t = _new(Tensor)
            t._data = out
            if code >= _INFERENCE_MODES:
                t._vc = _INFERENCE
            return t
        a, b, ad, bd = _operands(a, b)
        out = fwd(ad, bd)
        # After _operands an operand is a Tensor exactly when its array is an ndarray.
        if mode() == 0 and (
            (type(ad) is _ndarray and a._requires_grad)
            or (type(bd) is _ndarray and b._requires_grad)
        ):
            return record(cls, out, (a, b))
        return _make(out if type(out) is _ndarray else np.asarray(out), False, None)

    op.__name__ = op.__qualname__ = cls.__name__.replace("Backward0", "").lower()
    op.__doc__ = cls.__doc__
    return op
