"""Custom differentiable ops: subclass `Function` with static `forward` and `backward`.

```python
class Exp(Function):
    @staticmethod
    def forward(ctx, x):
        y = x.exp()
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        return g * y

y = Exp.apply(x)
```

As in PyTorch, `ctx` is the graph node itself (an instance of `<Name>Backward`), so
attributes set on it in `forward` are there in `backward`. `forward` runs without
recording; the outputs require grad when a graph is being recorded and any tensor input
requires grad.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from .._tensor import Tensor, _make, _VersionCounter
from .grad_mode import _tracking, no_grad
from .graph import _SECOND_TIME, Node, RebasedCounter, SavedTensor, edge_of

__all__ = ["Function", "FunctionCtx", "BackwardCFunction", "once_differentiable"]


class FunctionCtx:
    """What `forward` leaves for `backward`: saved tensors, flags, any attribute."""

    __slots__ = ()

    def save_for_backward(self, *tensors: Tensor | None) -> None:
        """Keep tensors for backward; they are checked for in-place changes on use."""
        for i, t in enumerate(tensors):
            if t is not None and not isinstance(t, Tensor):
                raise TypeError(
                    f"save_for_backward can only save variables, but argument {i} is of type "
                    f"{type(t).__name__}"
                )
        self._to_save = tensors

    def mark_dirty(self, *tensors: Tensor) -> None:
        """Declare inputs that `forward` modified in place (they must be returned)."""
        self._dirty = tensors

    def mark_non_differentiable(self, *tensors: Tensor) -> None:
        """Declare outputs that never get a gradient (indices, masks...)."""
        self._non_differentiable = tensors

    def set_materialize_grads(self, value: bool) -> None:
        """With False, `backward` gets None (not zeros) for outputs that got no gradient."""
        self._materialize = bool(value)


class BackwardCFunction(FunctionCtx, Node):
    """The node of one `Function.apply` call; it is also that call's `ctx`."""

    _forward_cls: type = None  # set on each generated <Name>Backward class
    _to_save = None
    _dirty = ()
    _non_differentiable = ()
    _materialize = True
    _saved_nrs = ()
    _ctx_freed = False

    @property
    def saved_tensors(self) -> tuple:
        saved = self._saved
        if saved is None:
            if self._ctx_freed:
                raise RuntimeError(_SECOND_TIME)
            return ()
        out = []
        for s, nr in zip(saved, self._saved_nrs):
            if s is None:
                out.append(None)
                continue
            t = s.unpack(self)
            if nr:
                t._output_nr = nr
            out.append(t)
        return tuple(out)

    def _release(self) -> None:
        # Freed like any node, but PyTorch only complains when backward reads them again.
        if self._saved is not None:
            self._saved = None
            self._ctx_freed = True

    def backward(self, *grads):
        result = self._forward_cls.backward(self, *grads)
        if not isinstance(result, tuple):
            result = (result,)
        n_in = len(self.next_functions)
        name = type(self).__name__
        if len(result) > n_in and all(g is None for g in result[n_in:]):
            result = result[:n_in]
        if len(result) != n_in:
            raise RuntimeError(
                f"function {name} returned an incorrect number of gradients (expected {n_in}, "
                f"got {len(result)})"
            )
        for i, (g, (shape, dtype)) in enumerate(zip(result, self._shapes)):
            if g is None:
                continue
            if dtype is None:
                raise RuntimeError(
                    f"function {name} returned a gradient different than None at position "
                    f"{i + 1}, but the corresponding forward input was not a Variable"
                )
            gshape = tuple(np.shape(g._data if isinstance(g, Tensor) else g))
            if gshape != shape and not _expandable(shape, gshape):
                raise RuntimeError(
                    f"Function {name} returned an invalid gradient at index {i} - got "
                    f"{list(gshape)} but expected shape compatible with {list(shape)}"
                )
        return result

    def apply(self, *grads):
        """Run this node's backward by hand (PyTorch's `ctx.apply`)."""
        return self.backward(*grads)


def _expandable(shape: tuple, to: tuple) -> bool:
    if len(shape) > len(to):
        return False
    return all(s == t or s == 1 for s, t in zip(shape[::-1], to[::-1]))


class Function:
    """Base class of custom ops; call them with `MyFunction.apply(*args)`."""

    _backward_cls: type[BackwardCFunction]

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        cls._backward_cls = type(
            f"{cls.__name__}Backward", (BackwardCFunction,),
            {"_forward_cls": cls, "__module__": cls.__module__,
             "__qualname__": f"{cls.__qualname__}Backward"},
        )

    def __init__(self, *args, **kwargs) -> None:
        warnings.warn(
            f"{type(self)} should not be instantiated. Methods on autograd functions are all "
            "static, so you should invoke them on the class itself.",
            DeprecationWarning, stacklevel=2,
        )

    def __call__(self, *args, **kwargs):
        raise RuntimeError(
            "Legacy autograd function with non-static forward method is deprecated. Please use "
            "new-style autograd function with static forward method."
        )

    @staticmethod
    def forward(ctx: Any, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(
            "You must implement the forward function for custom autograd.Function."
        )

    @staticmethod
    def setup_context(ctx: Any, inputs: tuple, output: Any) -> None:
        """Optional: with it, `forward(*args)` takes no ctx and this fills the ctx."""
        raise NotImplementedError("setup_context is not implemented.")

    @staticmethod
    def backward(ctx: Any, *grad_outputs: Any) -> Any:
        raise NotImplementedError(
            "You must implement either the backward or vjp method for your custom "
            "autograd.Function to use it with backward mode AD."
        )

    vjp = backward

    @classmethod
    def apply(cls, *args: Any, **kwargs: Any) -> Any:
        """Run `forward` and, when recording, link its outputs to a `<Name>Backward` node."""
        if cls is Function:
            raise RuntimeError("Function.apply must be called on a subclass of Function")
        node = cls._backward_cls()
        recording = _tracking.get() and any(
            isinstance(a, Tensor) and a._requires_grad for a in args
        )
        edges, shapes = [], []
        for a in args:
            if isinstance(a, Tensor):
                shapes.append((a._data.shape, a._data.dtype))
                edges.append(edge_of(a) if recording and a._requires_grad else (None, 0))
            else:
                shapes.append(((), None))
                edges.append((None, 0))
        node.next_functions = tuple(edges)
        node._shapes = tuple(shapes)
        with no_grad():
            if _overrides(cls, "setup_context"):
                output = cls.forward(*args, **kwargs)
                cls.setup_context(node, args, output)
            else:
                output = cls.forward(node, *args, **kwargs)
        if not recording:
            node._to_save = None
            return output
        return _link_outputs(node, args, output)


def _overrides(cls: type, name: str) -> bool:
    return getattr(cls, name) is not getattr(Function, name)


def _link_outputs(node: BackwardCFunction, args: tuple, output: Any) -> Any:
    """Give the tensor outputs their grad_fn (`node`) and save what forward asked for."""
    is_tuple = isinstance(output, tuple)
    outputs = output if is_tuple else (output,)
    dirty = {id(t) for t in node._dirty}
    non_diff = {id(t) for t in node._non_differentiable}
    inputs = {id(a) for a in args if isinstance(a, Tensor)}
    returned = {id(o) for o in outputs if isinstance(o, Tensor)}
    if not dirty <= returned:
        raise RuntimeError(
            "Some elements marked as dirty during the forward method were not returned as "
            "output. The inputs that are modified inplace must all be outputs of the Function."
        )
    results, meta, out_nr, seen = [], [], {}, set()
    for o in outputs:
        if not isinstance(o, Tensor):
            results.append(o)
            continue
        nr = len(meta)
        meta.append((o._data.shape, o._data.dtype))
        differentiable = id(o) not in non_diff and o._data.dtype.kind == "f"
        if id(o) in dirty and id(o) not in seen:
            if o._grad_fn is None and o._requires_grad:
                raise RuntimeError(
                    "a leaf Variable that requires grad has been used in an in-place operation."
                )
            if o._base is not None and o._base._requires_grad:
                raise RuntimeError(
                    "ember does not support mark_dirty on a view of a tensor that requires "
                    "grad; modify the base tensor itself, or work on a clone() of the view"
                )
            target = o
            if differentiable:
                vc = o._new_vc()
                if type(vc) is _VersionCounter:
                    vc.__class__ = RebasedCounter  # views of it now read from this node
        elif id(o) in inputs or id(o) in seen:
            # An input returned as is (or an output returned twice): a new alias.
            target = _make(o._data, False, None)
            target._vc = o._new_vc()
        else:
            target = o
        seen.add(id(o))
        if differentiable:
            target._grad_fn = node
            target._output_nr = nr
            target._requires_grad = True
        out_nr.setdefault(id(o), (nr, target, differentiable))
        results.append(target)
    node.num_outputs = len(meta)
    node._out_meta = meta if node._materialize else None
    _save(node, out_nr)
    return tuple(results) if is_tuple else results[0]


def _save(node: BackwardCFunction, out_nr: dict) -> None:
    to_save = node._to_save
    node._to_save = None
    if to_save is None:
        return
    saved, nrs = [], []
    for t in to_save:
        nr = 0
        if t is None:
            saved.append(None)
        elif id(t) in out_nr and out_nr[id(t)][2]:
            # An output is kept as its array, not the tensor (which points at the node).
            nr, target, _ = out_nr[id(t)]
            saved.append(SavedTensor(target, True))
        else:
            saved.append(SavedTensor(t))
        nrs.append(nr)
    node._saved = tuple(saved)
    node._saved_nrs = tuple(nrs)


class DelayedError(Node):
    """Stands for the gradients of a `once_differentiable` backward: differentiating them
    again raises."""

    def backward(self, *grads):
        raise RuntimeError(
            "trying to differentiate twice a function that was marked with @once_differentiable"
        )


def once_differentiable(backward: Callable) -> Callable:
    """Decorate a `backward` that is written with NumPy or is otherwise not differentiable:
    it runs without recording, and a double backward through it raises."""

    @functools.wraps(backward)
    def wrapper(ctx, *grads):
        with no_grad():
            result = backward(ctx, *grads)
        if not _tracking.get():
            return result
        needing = [g for g in grads if isinstance(g, Tensor) and g._requires_grad]
        if not needing:
            return result
        single = not isinstance(result, tuple)
        results = (result,) if single else result
        node = DelayedError()
        node.next_functions = tuple(edge_of(g) for g in needing)
        node._shapes = tuple((g._data.shape, g._data.dtype) for g in needing)
        out, meta = [], []
        for r in results:
            if isinstance(r, Tensor):
                t = _make(r._data, True, node)
                t._output_nr = len(meta)
                meta.append((r._data.shape, r._data.dtype))
                out.append(t)
            else:
                out.append(r)
        node._out_meta = meta
        node.num_outputs = len(meta)
        return out[0] if single else tuple(out)

    return wrapper
