"""`Parameter`: a leaf tensor that a Module registers as trainable state."""

from __future__ import annotations

import numpy as np

from .._tensor import Tensor, _init

__all__ = ["Parameter", "Buffer"]


class Parameter(Tensor):
    """A tensor that is a module parameter: a leaf on the same memory as `data`.

    It requires grad by default, also when made under `no_grad` (factories ignore the
    grad mode). Ops on a Parameter give plain Tensors.
    """

    __slots__ = ()

    def __new__(cls, data: Tensor | None = None, requires_grad: bool = True) -> Parameter:
        if data is None:
            data = Tensor(np.empty(0, dtype=np.float32))
        elif not isinstance(data, Tensor):
            raise TypeError(
                f"Parameter() expects a Tensor as data, got {type(data).__name__}"
            )
        p = object.__new__(cls)
        _init(p, data._data, False, None)
        p._vc = data._new_vc()
        if requires_grad:
            p._set_requires_grad(
                True, "Only Tensors of floating point and complex dtype can require gradients"
            )
        return p

    def __init__(self, data: Tensor | None = None, requires_grad: bool = True) -> None:
        pass  # everything happens in __new__; Tensor.__init__ must not run again

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()

    def __deepcopy__(self, memo: dict) -> Parameter:
        if id(self) in memo:
            return memo[id(self)]
        copy = Parameter(Tensor._from_array(self._data.copy()), self._requires_grad)
        if self._grad is not None:
            copy._grad = Tensor._from_array(self._grad._data.copy())
        memo[id(self)] = copy
        return copy

    def __reduce_ex__(self, protocol):
        return (_rebuild_parameter, (self._data, self._requires_grad))


def _rebuild_parameter(data: np.ndarray, requires_grad: bool) -> Parameter:
    return Parameter(Tensor._from_array(data), requires_grad)


class Buffer(Tensor):
    """Marks a tensor to be registered as a buffer when assigned to a Module attribute.

    The module stores a plain tensor on the same memory; `persistent=False` keeps it
    out of `state_dict()`.
    """

    __slots__ = ("persistent",)

    def __new__(cls, data: Tensor | None = None, *, persistent: bool = True) -> Buffer:
        if data is None:
            data = Tensor(np.empty(0, dtype=np.float32))
        b = object.__new__(cls)
        _init(b, data._data, False, None)
        b._vc = data._new_vc()
        b.persistent = persistent
        return b

    def __init__(self, data: Tensor | None = None, *, persistent: bool = True) -> None:
        pass
