"""Graph nodes: `Node` (a tensor's grad_fn), `AccumulateGrad` and `SavedTensor`."""

from __future__ import annotations

import weakref
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

import numpy as np

from .._tensor import _INFERENCE, Tensor, _make, _VersionCounter, tensor_type_name

__all__ = [
    "Node", "AccumulateGrad", "SavedTensor", "RemovableHandle", "edge_of", "saved_tensors_hooks",
    "save_as", "save_on_disk", "saved_bytes", "summary",
]

_SECOND_TIME = (
    "Trying to backward through the graph a second time (or directly access saved tensors "
    "after they have already been freed). Saved intermediate values of the graph are freed "
    "when you call .backward() or autograd.grad(). Specify retain_graph=True if you need to "
    "backward through the graph a second time or if you need to access saved tensors after "
    "calling backward."
)
_INFERENCE_SAVE = (
    "Inference tensors cannot be saved for backward. Please do not use Tensors created in "
    "inference mode in computation tracked by autograd. To work around this, you can make a "
    "clone to get a normal tensor and use it in autograd, or use `ember.no_grad()` instead "
    "of `ember.inference_mode()`."
)


class RemovableHandle:
    """Returned by `register_hook`; `remove()` unregisters the hook."""

    __slots__ = ("_store", "_key")
    _next_key = 0

    def __init__(self, store: dict) -> None:
        self._store = store
        RemovableHandle._next_key += 1
        self._key = RemovableHandle._next_key

    def remove(self) -> None:
        self._store.pop(self._key, None)

    def __enter__(self) -> RemovableHandle:
        return self

    def __exit__(self, *exc) -> None:
        self.remove()


class SavedTensor:
    """A tensor kept for backward, with the version it had when saved.

    An op's output is kept as its array and version counter only (not the Tensor, which
    would point back at the node and form a cycle); unpacking rebuilds it with the node
    as its grad_fn, so double backward through the output still works. Inside
    `saved_tensors_hooks`, the pack hook's result is kept instead (and not version-checked,
    as in PyTorch: the hooks own what they store).
    """

    __slots__ = ("_tensor", "_data", "_vc", "_version", "_output_of_requires_grad",
                 "_packed", "_unpack")

    def __init__(self, t: Tensor, is_output: bool = False) -> None:
        vc = t._vc
        if vc is _INFERENCE:
            raise RuntimeError(_INFERENCE_SAVE)
        hooks = _saved_hooks.get()
        if hooks:
            pack, self._unpack = hooks[-1]
            self._packed = pack(t)
            self._tensor = self._data = self._vc = None
            self._version = 0
            self._output_of_requires_grad = is_output and t._requires_grad
            return
        self._unpack = None
        self._version = 0 if vc is None else vc.value
        if is_output:
            if vc is None:
                vc = t._new_vc()
            self._tensor = None
            self._data = t._data
            self._vc = vc
            self._output_of_requires_grad = t._requires_grad
        else:
            self._tensor = t
            self._data = None
            self._vc = None
            self._output_of_requires_grad = False

    def unpack(self, node: Node) -> Tensor:
        if self._unpack is not None:
            t = self._unpack(self._packed)
            if not isinstance(t, Tensor):
                raise TypeError(
                    f"unpack_hook should return a Tensor, but got {type(t).__name__} instead"
                )
            if self._output_of_requires_grad:
                t = _make(t._data, True, node)
            return t
        t = self._tensor
        if t is None:
            vc = self._vc
            current = vc.value
            if current != self._version:
                raise _version_error(
                    self._data.shape, self._data.dtype, node, current, self._version)
            t = _make(self._data, self._output_of_requires_grad, node)
            t._vc = vc
            return t
        vc = t._vc
        current = 0 if vc is None else vc.value
        if current != self._version:
            raise _version_error(t.shape, t._data.dtype, t._grad_fn, current, self._version)
        return t

    def arrays(self):
        """The in-memory arrays this saved value holds (memory-mapped ones excluded)."""
        if self._unpack is None:
            yield self._data if self._tensor is None else self._tensor._data
        else:
            yield from _arrays_in(self._packed)

    @property
    def nbytes(self) -> int:
        return sum(a.nbytes for a in self.arrays())


def _arrays_in(obj):
    if isinstance(obj, Tensor):
        obj = obj._data
    if isinstance(obj, np.ndarray):
        if not isinstance(obj, np.memmap) and not isinstance(obj.base, np.memmap):
            yield obj
    elif isinstance(obj, (tuple, list)):
        for item in obj:
            yield from _arrays_in(item)
    elif isinstance(obj, dict):
        for item in obj.values():
            yield from _arrays_in(item)


# A stack of (pack_hook, unpack_hook) pairs; the innermost pair applies.
_saved_hooks: ContextVar[tuple] = ContextVar("ember_saved_tensors_hooks", default=())


class saved_tensors_hooks:
    """Transform every tensor saved for backward inside the block: `pack_hook(tensor)`
    runs when the tensor is saved, `unpack_hook(packed)` when backward needs it."""

    def __init__(self, pack_hook: Callable[[Tensor], Any],
                 unpack_hook: Callable[[Any], Tensor]) -> None:
        self.pack_hook = pack_hook
        self.unpack_hook = unpack_hook
        self._tokens: list = []

    def __enter__(self) -> saved_tensors_hooks:
        self._tokens.append(
            _saved_hooks.set(_saved_hooks.get() + ((self.pack_hook, self.unpack_hook),)))
        return self

    def __exit__(self, *exc) -> None:
        _saved_hooks.reset(self._tokens.pop())


class save_as(saved_tensors_hooks):
    """Keep saved tensors in a smaller dtype (e.g. float16) and cast them back for
    backward: about half the graph memory for float32 activations, at float16 precision."""

    def __init__(self, dtype) -> None:
        def pack(t: Tensor):
            return (_make(t._data.astype(_np_dtype(dtype)), False, None), t._data.dtype)

        def unpack(packed) -> Tensor:
            small, original = packed
            return _make(small._data.astype(original), False, None)

        super().__init__(pack, unpack)


class save_on_disk(saved_tensors_hooks):
    """Offload saved tensors to memory-mapped files in `directory` (a temporary directory
    by default): the graph keeps almost nothing in RAM; backward reads them back."""

    def __init__(self, directory: str | None = None) -> None:
        import tempfile

        self._tmp = None if directory else tempfile.TemporaryDirectory(prefix="ember-saved-")
        folder = directory or self._tmp.name
        counter = [0]

        def pack(t: Tensor):
            import os

            counter[0] += 1
            arr = t._data
            path = os.path.join(folder, f"saved-{id(self):x}-{counter[0]}.npy")
            mm = np.lib.format.open_memmap(path, mode="w+", dtype=arr.dtype, shape=arr.shape)
            mm[...] = arr
            mm.flush()
            return np.lib.format.open_memmap(path, mode="r")

        def unpack(mm) -> Tensor:
            return _make(np.array(mm), False, None)

        super().__init__(pack, unpack)


def _np_dtype(dtype):
    from .._dtypes import to_numpy_dtype

    return to_numpy_dtype(dtype)


def _version_error(shape, np_dtype, grad_fn, current: int, expected: int) -> RuntimeError:
    where = ""
    if grad_fn is not None:
        # PyTorch names the op without "Backward" and without a trailing 0: AddBackward0 is
        # "Add", ClampBackward1 is "Clamp1".
        base, _, number = type(grad_fn).__name__.rpartition("Backward")
        op = base + ("" if number == "0" else number) if base else type(grad_fn).__name__
        where = f", which is output 0 of {op},"
    dims = "[" + ", ".join(str(s) for s in shape) + "]"
    return RuntimeError(
        "one of the variables needed for gradient computation has been modified by an "
        f"inplace operation: [{tensor_type_name(np_dtype)} {dims}]{where} is at version "
        f"{current}; expected version {expected} instead. Hint: enable anomaly detection to "
        "find the operation that failed to compute its gradient, with "
        "ember.autograd.set_detect_anomaly(True, check_nan=False)."
    )


class Node:
    """One recorded op: what flows back to its inputs and what it kept to compute that.

    Subclasses implement `backward(self, *grad_outputs)` with ember ops and return one
    gradient (or None) per input. They read their saved tensors with `self.saved_tensors`
    and their non-tensor arguments from `self.args`.
    """

    __slots__ = (
        "next_functions", "_saved", "_freed", "_shapes", "args", "_pre_hooks", "_hooks",
        "_trace", "_out_meta", "__weakref__",
    )
    num_outputs = 1

    def __init__(self) -> None:
        self.next_functions: tuple = ()
        self._saved = None
        self._freed = False
        self._shapes = ()
        self.args = ()
        self._pre_hooks = None
        self._hooks = None
        self._trace = None
        self._out_meta = None

    def name(self) -> str:
        return type(self).__name__

    def __repr__(self) -> str:
        return f"<{type(self).__name__} object at {id(self):#x}>"

    @property
    def saved_tensors(self) -> tuple:
        saved = self._saved
        if saved is None:
            if self._freed:
                raise RuntimeError(_SECOND_TIME)
            return ()
        return tuple(s.unpack(self) if type(s) is SavedTensor else s for s in saved)

    @property
    def needs_input_grad(self) -> tuple[bool, ...]:
        return tuple(fn is not None for fn, _ in self.next_functions)

    def backward(self, *grad_outputs):  # pragma: no cover - every subclass overrides it
        raise NotImplementedError(f"{type(self).__name__} has no backward")

    def _release(self) -> None:
        if self._saved is not None:
            self._saved = None
            self._freed = True

    def register_hook(self, fn: Callable) -> RemovableHandle:
        """fn(grad_inputs, grad_outputs) runs after this node; may return new grad_inputs."""
        if self._hooks is None:
            self._hooks = {}
        handle = RemovableHandle(self._hooks)
        self._hooks[handle._key] = fn
        return handle

    def register_prehook(self, fn: Callable) -> RemovableHandle:
        """fn(grad_outputs) runs before this node; may return new grad_outputs."""
        return self._add_pre_hook(lambda grads: fn(grads))

    def _add_pre_hook(self, fn: Callable) -> RemovableHandle:
        if self._pre_hooks is None:
            self._pre_hooks = {}
        handle = RemovableHandle(self._pre_hooks)
        self._pre_hooks[handle._key] = fn
        return handle

    def _tensor_pre_hook(self, output_nr: int, fn: Callable[[Any], Any]) -> RemovableHandle:
        """A hook on one output tensor: sees and may replace that output's gradient."""

        def hook(grads):
            g = grads[output_nr]
            if g is None:
                return None
            new = fn(g)
            if new is None:
                return None
            grads = list(grads)
            grads[output_nr] = new
            return grads

        return self._add_pre_hook(hook)


class AccumulateGrad(Node):
    """The node of a leaf that requires grad: adds incoming gradients into `.grad`."""

    __slots__ = ("variable",)

    def __init__(self, variable: Tensor) -> None:
        super().__init__()
        self.variable = variable
        self._shapes = ((variable._data.shape, variable._data.dtype),)

    def backward(self, grad):  # the engine accumulates; this only exists for completeness
        return ()


class RebasedCounter(_VersionCounter):
    """The version counter of a storage whose graph an in-place op replaced: views of it
    taken before then get a fresh grad_fn from their base when next used."""

    __slots__ = ()


# Set by ember.ops._write: refresh_view[0](view) returns the view's up-to-date grad_fn.
refresh_view: list = [None]


def edge_of(t: Tensor) -> tuple:
    """The (node, output index) that receives the gradient of `t`, or (None, 0)."""
    fn = t._grad_fn
    if fn is not None:
        if t._base is not None and type(t._vc) is RebasedCounter:
            fn = refresh_view[0](t)
        return (fn, t._output_nr)
    if not t._requires_grad:
        return (None, 0)
    acc = t._acc() if t._acc is not None else None
    if acc is None:
        acc = AccumulateGrad(t)
        t._acc = weakref.ref(acc)
    return (acc, 0)


# The memory views of a graph live in their own module; re-exported here for
# `ember.autograd.graph.saved_bytes(t)` / `summary(t)`.
from .memory import saved_bytes, summary  # noqa: E402,F401
