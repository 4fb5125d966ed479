"""The Tensor class: an array, its autograd attributes and its version counter.

Ops are not defined here: `ember._bind` attaches operators and methods after `ops/`
is loaded, so this module never imports `ops/`.
"""

from __future__ import annotations

import warnings
import weakref
from collections.abc import Callable
from typing import Any

import numpy as np

from . import _device, _dtypes
from .autograd.grad_mode import _INFERENCE_MODES, _grad_enabled, _inference_mode, _mode, _tracking

__all__ = ["Tensor", "Size", "tensor_type_name"]

_ndarray = np.ndarray


class Size(tuple):
    """A tensor's shape: a tuple that prints like PyTorch's."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f"ember.Size({list(self)})"

    def __getitem__(self, key):
        item = tuple.__getitem__(self, key)
        return Size(item) if isinstance(key, slice) else item

    def __add__(self, other) -> Size:
        return Size(tuple.__add__(self, tuple(other)))

    def __radd__(self, other) -> Size:
        return Size(tuple(other) + tuple(self))

    def __mul__(self, n: int) -> Size:
        return Size(tuple.__mul__(self, n))

    __rmul__ = __mul__

    def numel(self) -> int:
        n = 1
        for s in self:
            n *= s
        return n


class _VersionCounter:
    """Shared by a tensor, its views and its detached aliases; bumped by in-place ops."""

    __slots__ = ("value",)

    def __init__(self) -> None:
        self.value = 0


# Inference tensors carry this marker instead of a version counter.
_INFERENCE = _VersionCounter()

_TYPE_NAMES = {
    "float32": "FloatTensor", "float64": "DoubleTensor", "float16": "HalfTensor",
    "int64": "LongTensor", "int32": "IntTensor", "int16": "ShortTensor", "int8": "CharTensor",
    "uint8": "ByteTensor", "bool": "BoolTensor",
}


def tensor_type_name(np_dtype) -> str:
    return "ember." + _TYPE_NAMES.get(np.dtype(np_dtype).name, "Tensor")


_NOT_LEAF_GRAD = (
    "The .grad attribute of a Tensor that is not a leaf Tensor is being accessed. Its .grad "
    "attribute won't be populated during autograd.backward(). If you indeed want the .grad "
    "field to be populated for a non-leaf Tensor, use .retain_grad() on the non-leaf Tensor. "
    "If you access the non-leaf Tensor by mistake, make sure you access the leaf Tensor "
    "instead. See github.com/pytorch/pytorch/pull/30531 for more information."
)
_LEAF_FLAGS = (
    "you can only change requires_grad flags of leaf variables. If you want to use a computed "
    "variable in a subgraph that doesn't require differentiation use var_no_grad = var.detach()."
)
_NUMPY_REQUIRES_GRAD = (
    "Can't call numpy() on Tensor that requires grad. Use tensor.detach().numpy() instead."
)
_ONE_ELEMENT = "only one element tensors can be converted to Python scalars"
_DETACH_VIEW = (
    "Can't detach views in-place. Use detach() instead. If you are using "
    "DistributedDataParallel (DDP) for training, and gradient_as_bucket_view is set as True, "
    "gradients are views of DDP buckets, and hence detach_() cannot be called on these "
    "gradients. To fix this error, please refer to the Optimizer.zero_grad() function in "
    "ember/optim/optimizer.py as the solution."
)


class Tensor:
    """An n-dimensional array that can record the ops applied to it for backward."""

    # Only the array is a slot. The other attributes are class-level defaults that an
    # instance overrides in its __dict__ when it differs, so wrapping an op's result sets
    # one attribute: that is most of the cost of a small op under no_grad.
    __slots__ = ("_data", "__dict__", "__weakref__")
    _requires_grad = False
    _grad_fn = None
    _output_nr = 0
    _grad = None
    _vc = None  # version counter, created on first share or bump; _INFERENCE marks inference
    _base = None  # the tensor this one is a view of
    _acc = None  # weakref to the AccumulateGrad node of a leaf
    _hooks = None
    _detached = False  # made by detach() from a tensor that required grad
    __array_priority__ = 1000

    def __init__(self, *data: Any, requires_grad: bool = False) -> None:
        """`Tensor(data)` copies data as the default float dtype; `Tensor(2, 3)` or
        `Tensor(size)` makes a zero-filled tensor of that shape; `Tensor()` is empty."""
        default = _dtypes.get_default_dtype().np
        if not data:
            arr = np.empty(0, default)
        elif isinstance(data[0], Size) or all(
            isinstance(d, int) and not isinstance(d, bool) for d in data
        ):
            shape = tuple(data[0]) if isinstance(data[0], Size) else data
            arr = np.zeros(shape, default)
        elif len(data) == 1:
            src = data[0]._data if isinstance(data[0], Tensor) else data[0]
            arr = np.array(src, dtype=default)
        else:
            raise TypeError(f"Tensor() got an invalid combination of arguments: {data!r}")
        _init(self, arr, False, None)
        if requires_grad:
            self.requires_grad_(True)

    @staticmethod
    def _from_array(arr: np.ndarray) -> Tensor:
        """Wrap an array without copying (internal helper for tests and tools)."""
        return _make(np.asarray(arr), False, None)

    # ----- basic attributes -------------------------------------------------------------
    @property
    def shape(self) -> Size:
        return Size(self._data.shape)

    def size(self, dim: int | None = None):
        if dim is None:
            return Size(self._data.shape)
        return self._data.shape[_wrap_dim(dim, self._data.ndim)]

    @property
    def dtype(self) -> _dtypes.dtype:
        return _dtypes.from_numpy_dtype(self._data.dtype)

    @property
    def ndim(self) -> int:
        return self._data.ndim

    def dim(self) -> int:
        return self._data.ndim

    ndimension = dim

    def numel(self) -> int:
        return self._data.size

    nelement = numel

    def element_size(self) -> int:
        return self._data.itemsize

    @property
    def nbytes(self) -> int:
        return self._data.nbytes

    @property
    def itemsize(self) -> int:
        return self._data.itemsize

    @property
    def device(self) -> _device.device:
        return _device.CPU

    @property
    def is_cuda(self) -> bool:
        return False

    def is_floating_point(self) -> bool:
        return self._data.dtype.kind == "f"

    def is_complex(self) -> bool:
        return False

    def data_ptr(self) -> int:
        return self._data.__array_interface__["data"][0]

    def is_contiguous(self) -> bool:
        return self._data.flags.c_contiguous

    def __len__(self) -> int:
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._data.shape[0]

    def __hash__(self) -> int:
        return id(self)

    # ----- conversion to Python and NumPy ----------------------------------------------
    def item(self):
        if self._data.size != 1:
            raise RuntimeError(
                f"a Tensor with {self._data.size} elements cannot be converted to Scalar"
            )
        return self._data.item()

    def tolist(self):
        return self._data.tolist()

    def numpy(self, *, force: bool = False) -> np.ndarray:
        if self._requires_grad and _grad_enabled.get() and not force:
            raise RuntimeError(_NUMPY_REQUIRES_GRAD)
        return self._data

    def __array__(self, dtype=None, copy=None):
        if self._requires_grad and _grad_enabled.get():
            raise RuntimeError(_NUMPY_REQUIRES_GRAD)
        arr = self._data
        if dtype is not None:
            return arr.astype(dtype, copy=bool(copy))
        return arr.copy() if copy else arr

    def __bool__(self) -> bool:
        if self._data.size != 1:
            raise RuntimeError(
                "Boolean value of Tensor with more than one value is ambiguous"
            )
        return bool(self._data)

    def __float__(self) -> float:
        if self._data.size != 1:
            raise ValueError(_ONE_ELEMENT)
        return float(self._data.item())

    def __int__(self) -> int:
        if self._data.size != 1:
            raise ValueError(_ONE_ELEMENT)
        return int(self._data.item())

    def __index__(self) -> int:
        if self._data.dtype.kind not in "biu" or self._data.size != 1:
            raise TypeError("only integer tensors of a single element can be converted to an index")
        return int(self._data.item())

    def cpu(self) -> Tensor:
        return self

    # ----- autograd attributes ---------------------------------------------------------
    @property
    def requires_grad(self) -> bool:
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, value: bool) -> None:
        self._set_requires_grad(bool(value), "only Tensors of floating point and complex dtype "
                                "can require gradients")

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        self._set_requires_grad(bool(requires_grad),
                                "only Tensors of floating point dtype can require gradients")
        return self

    def _set_requires_grad(self, value: bool, dtype_message: str) -> None:
        if self._grad_fn is not None:
            if value:
                return
            raise RuntimeError(_LEAF_FLAGS)
        if value:
            if self._data.dtype.kind != "f":
                raise RuntimeError(dtype_message)
            if self._vc is _INFERENCE and not _inference_mode.get():
                raise RuntimeError(
                    "Setting requires_grad=True on inference tensor outside InferenceMode "
                    "is not allowed."
                )
        self._requires_grad = value

    @property
    def grad_fn(self):
        return self._grad_fn

    @property
    def is_leaf(self) -> bool:
        return self._grad_fn is None

    @property
    def output_nr(self) -> int:
        return self._output_nr

    @property
    def grad(self) -> Tensor | None:
        if self._grad is None and self._grad_fn is not None and not self.retains_grad:
            warnings.warn(_NOT_LEAF_GRAD, UserWarning, stacklevel=2)
        return self._grad

    @grad.setter
    def grad(self, value: Tensor | None) -> None:
        if value is not None:
            if not isinstance(value, Tensor):
                raise TypeError(
                    f"assigned grad expected to be a Tensor or None but got grad of type "
                    f"{type(value).__name__}"
                )
            if value._data.shape != self._data.shape:
                raise RuntimeError(
                    f"attempting to assign a gradient of size '{list(value._data.shape)}' to a "
                    f"tensor of size '{list(self._data.shape)}'. Please ensure that the "
                    "gradient and the tensor are the same size"
                )
            if value._data.dtype != self._data.dtype:
                raise RuntimeError(
                    "attempting to assign a gradient with dtype "
                    f"'{value.dtype}' to a tensor with dtype '{self.dtype}'. Please ensure that "
                    "the gradient and the tensor have the same dtype"
                )
        self._grad = value

    @property
    def retains_grad(self) -> bool:
        return bool(self._hooks) and "retain_grad" in self._hooks

    def retain_grad(self) -> None:
        if not self._requires_grad:
            raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
        if self._grad_fn is None or self.retains_grad:
            return
        ref = weakref.ref(self)

        def keep(grad):
            t = ref()
            if t is not None:
                if t._grad is None:
                    t._grad = _make(grad._data.copy(), False, None)
                else:
                    t._grad = _make(t._grad._data + grad._data, False, None)
            return None

        handle = self._grad_fn._tensor_pre_hook(self._output_nr, keep)
        if self._hooks is None:
            self._hooks = {}
        self._hooks["retain_grad"] = handle

    def register_hook(self, hook: Callable) -> Any:
        """Call `hook(grad)` when this tensor's gradient is computed; a non-None return
        value replaces the gradient."""
        if not self._requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        if self._grad_fn is not None:
            handle = self._grad_fn._tensor_pre_hook(self._output_nr, hook)
            if self.retains_grad:
                # As in PyTorch, .grad keeps the gradient after all hooks: move that hook last.
                keep = self._hooks["retain_grad"]
                keep._store[keep._key] = keep._store.pop(keep._key)
            return handle
        from .autograd.graph import RemovableHandle

        if self._hooks is None:
            self._hooks = {}
        store = self._hooks.setdefault("leaf", {})
        handle = RemovableHandle(store)
        store[handle._key] = hook
        return handle

    def register_post_accumulate_grad_hook(self, hook: Callable) -> Any:
        """Call `hook(tensor)` after a backward pass has accumulated into this leaf's `.grad`."""
        if not self._requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        if self._grad_fn is not None:
            raise RuntimeError(
                "post accumulate grad hooks cannot be registered on non-leaf tensors")
        from .autograd.graph import RemovableHandle

        if self._hooks is None:
            self._hooks = {}
        store = self._hooks.setdefault("post_accumulate", {})
        handle = RemovableHandle(store)
        store[handle._key] = hook
        return handle

    def backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None) -> None:
        from .autograd.engine import backward

        backward((self,), None if gradient is None else (gradient,), retain_graph,
                 create_graph, inputs=inputs)

    # ----- detach, data, versions ------------------------------------------------------
    def _new_vc(self) -> _VersionCounter:
        vc = self._vc
        if vc is None:
            vc = self._vc = _VersionCounter()
        return vc

    @property
    def _version(self) -> int:
        vc = self._vc
        if vc is _INFERENCE:
            raise RuntimeError("Inference tensors do not track version counter.")
        return 0 if vc is None else vc.value

    def _bump_version(self) -> None:
        vc = self._vc
        if vc is None:
            self._vc = vc = _VersionCounter()
        if vc is not _INFERENCE:
            vc.value += 1

    def __deepcopy__(self, memo: dict) -> Tensor:
        if self._grad_fn is not None:
            raise RuntimeError(
                "Only Tensors created explicitly by the user (graph leaves) support the "
                "deepcopy protocol at the moment."
            )
        if id(self) in memo:
            return memo[id(self)]
        new = type(self).__new__(type(self))
        new._data = self._data.copy()
        if self._requires_grad:
            new._requires_grad = True
        if self._vc is _INFERENCE:
            new._vc = _INFERENCE
        if self._grad is not None:
            new._grad = self._grad.__deepcopy__(memo)
        memo[id(self)] = new
        return new

    def detach(self) -> Tensor:
        """A new tensor on the same memory and version counter, cut from the graph."""
        t = _make(self._data, False, None)
        t._vc = self._new_vc()
        if self._requires_grad:
            t._detached = True  # lets a graph picture mark where the graph was cut
        return t

    def detach_(self) -> Tensor:
        if self._base is not None:
            raise RuntimeError(_DETACH_VIEW)
        self._grad_fn = None
        self._requires_grad = False
        self._output_nr = 0
        return self

    @property
    def data(self) -> Tensor:
        t = _make(self._data, False, None)
        if self._vc is _INFERENCE:
            t._vc = _INFERENCE
        return t

    @data.setter
    def data(self, value: Tensor) -> None:
        if not isinstance(value, Tensor):
            raise TypeError(f"data must be a Tensor, got {type(value).__name__}")
        self._data = value._data

    def is_inference(self) -> bool:
        return self._vc is _INFERENCE

    # ----- printing --------------------------------------------------------------------
    def __repr__(self) -> str:
        from ._format import format_tensor

        return format_tensor(self)

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        if self._data.ndim == 0 and spec:
            return format(self._data.item(), spec)
        return repr(self)


def _init(t: Tensor, data: np.ndarray, requires_grad: bool, grad_fn) -> None:
    t._data = data
    if requires_grad:
        t._requires_grad = True
    if grad_fn is not None:
        t._grad_fn = grad_fn
    if _mode.get() >= _INFERENCE_MODES:
        t._vc = _INFERENCE


_new = object.__new__


def _make(data: np.ndarray, requires_grad: bool = False, grad_fn=None) -> Tensor:
    """Wrap an array without copying or checking: the fast path of every op."""
    t = _new(Tensor)
    t._data = data
    if requires_grad:
        t._requires_grad = True
    if grad_fn is not None:
        t._grad_fn = grad_fn
    if _mode.get() >= _INFERENCE_MODES:
        t._vc = _INFERENCE
    return t


def _wrap_dim(dim: int, ndim: int) -> int:
    n = max(ndim, 1)
    if not -n <= dim < n:
        raise IndexError(
            f"Dimension out of range (expected to be in range of [{-n}, {n - 1}], but got {dim})"
        )
    return dim % n if ndim else 0


# Re-exported for op modules that want the tracking flag without another import.
tracking = _tracking
