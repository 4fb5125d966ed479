"""Gradient-mode state and the context managers that change it.

The state lives in `contextvars`, so each thread starts with grad enabled and each
asyncio task sees only its own mode. Three variables are kept: the two public flags
and `_tracking` (grad on and not in inference mode), derived from them on every change,
so that an op decides whether to record a graph with a single lookup.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

__all__ = [
    "no_grad", "enable_grad", "set_grad_enabled", "inference_mode",
    "is_grad_enabled", "is_inference_mode_enabled",
]

_grad_enabled: ContextVar[bool] = ContextVar("ember_grad_enabled", default=True)
_inference_mode: ContextVar[bool] = ContextVar("ember_inference_mode", default=False)
_tracking: ContextVar[bool] = ContextVar("ember_tracking", default=True)
# The whole state as one small int, so an op reads it with a single lookup:
# 0 tracking, 1 grad off, 2 inference, 3 inference with grad on. Ops record a graph only
# in state 0, and mark their results as inference tensors in states >= _INFERENCE_MODES.
_mode: ContextVar[int] = ContextVar("ember_mode", default=0)
_INFERENCE_MODES = 2


def is_grad_enabled() -> bool:
    """True when ops record a graph for tensors that require grad."""
    return _grad_enabled.get()


def is_inference_mode_enabled() -> bool:
    return _inference_mode.get()


def _get_state() -> tuple[bool, bool]:
    return _grad_enabled.get(), _inference_mode.get()


def _set_state(grad: bool, inference: bool) -> None:
    _grad_enabled.set(grad)
    _inference_mode.set(inference)
    _tracking.set(grad and not inference)
    _mode.set((2 if inference else 0) + (grad == inference))


def _set_grad(grad: bool) -> None:
    _set_state(grad, _inference_mode.get())


def _wrap_generator(make_ctx: Callable[[], Any], func: Callable) -> Callable:
    """Run every step of the generator under a fresh mode; the consumer keeps its own."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        gen = func(*args, **kwargs)
        try:
            with make_ctx():
                response = gen.send(None)
            while True:
                try:
                    request = yield response
                except GeneratorExit:
                    with make_ctx():
                        gen.close()
                    raise
                except BaseException as exc:
                    with make_ctx():
                        response = gen.throw(exc)
                else:
                    with make_ctx():
                        response = gen.send(request)
        except StopIteration as stop:
            return stop.value

    return wrapper


def _wrap_async_generator(make_ctx: Callable[[], Any], func: Callable) -> Callable:
    @functools.wraps(func)
    async def wrapper(*args, **kwargs):
        agen = func(*args, **kwargs)
        try:
            with make_ctx():
                response = await agen.asend(None)
            while True:
                try:
                    request = yield response
                except GeneratorExit:
                    with make_ctx():
                        await agen.aclose()
                    raise
                except BaseException as exc:
                    with make_ctx():
                        response = await agen.athrow(exc)
                else:
                    with make_ctx():
                        response = await agen.asend(request)
        except StopAsyncIteration:
            return

    return wrapper


class _ModeContext:
    """Base of the grad-mode objects: a context manager that is also a decorator.

    Subclasses define `_target()` (the (grad, inference) state to enter) and `clone()`.
    Entering pushes the previous state on a per-instance stack, so one instance can be
    nested with itself and still restore exactly.
    """

    def __init__(self) -> None:
        self._prev: list[tuple[bool, bool]] = []

    def _target(self) -> tuple[bool, bool]:
        raise NotImplementedError

    def clone(self) -> _ModeContext:
        return self.__class__()

    def __enter__(self) -> None:
        self._prev.append(_get_state())
        _set_state(*self._target())

    def __exit__(self, exc_type, exc, tb) -> None:
        _set_state(*self._prev.pop())

    def __call__(self, func: Callable) -> Callable:
        if inspect.isclass(func):
            raise TypeError(
                f"{type(self).__name__} cannot decorate a class ({func.__name__}); "
                "decorate its __init__ or its methods instead"
            )
        if not callable(func):
            raise TypeError(f"{type(self).__name__} can only decorate a function, got {func!r}")
        make_ctx = self.clone
        if inspect.isasyncgenfunction(func):
            return _wrap_async_generator(make_ctx, func)
        if inspect.isgeneratorfunction(func):
            return _wrap_generator(make_ctx, func)
        if inspect.iscoroutinefunction(func):

            @functools.wraps(func)
            async def async_wrapper(*args, **kwargs):
                with make_ctx():
                    return await func(*args, **kwargs)

            return async_wrapper

        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            with make_ctx():
                return func(*args, **kwargs)

        return wrapper


class _NoParamMode(_ModeContext):
    """A mode usable as `@mode` as well as `@mode()` and `with mode():`."""

    def __new__(cls, func: Callable | None = None):
        if func is None:
            return super().__new__(cls)
        if not callable(func):
            raise TypeError(f"{cls.__name__}() takes no arguments, got {func!r}")
        return cls()(func)  # decorating a class raises there

    def __init__(self, func: Callable | None = None) -> None:
        super().__init__()


class no_grad(_NoParamMode):
    """Disable graph recording: results of ops do not require grad and nothing is saved."""

    def _target(self) -> tuple[bool, bool]:
        return False, _inference_mode.get()


class enable_grad(_NoParamMode):
    """Re-enable graph recording, e.g. inside `no_grad`."""

    def _target(self) -> tuple[bool, bool]:
        return True, _inference_mode.get()


class set_grad_enabled(_ModeContext):
    """Set grad mode on or off. A plain call switches at once; as a context manager or
    decorator it restores the mode seen at construction."""

    def __init__(self, mode: bool) -> None:
        if not isinstance(mode, bool):
            raise TypeError(
                "set_grad_enabled(): argument 'enabled' (position 1) must be bool, "
                f"not {type(mode).__name__}"
            )
        super().__init__()
        self.mode = mode
        self.prev = _grad_enabled.get()
        _set_grad(mode)

    def clone(self) -> set_grad_enabled:
        return self.__class__(self.mode)

    def __enter__(self) -> None:
        _set_grad(self.mode)

    def __exit__(self, exc_type, exc, tb) -> None:
        _set_grad(self.prev)

    def __call__(self, func: Callable) -> Callable:
        _set_grad(self.prev)  # decorating must not change the caller's mode
        return super().__call__(func)

    def __repr__(self) -> str:
        return f"ember.autograd.grad_mode.set_grad_enabled(mode={self.mode})"


class inference_mode(_ModeContext):
    """No graph, no version counting: tensors made inside are inference tensors.

    `inference_mode(False)` turns grad on and inference off, even inside `no_grad`.
    """

    def __new__(cls, mode: Any = True):
        if callable(mode) and not isinstance(mode, bool):
            return cls()(mode)  # `@inference_mode` without parentheses
        return super().__new__(cls)

    def __init__(self, mode: bool = True) -> None:
        if not isinstance(mode, bool):
            raise TypeError(
                f"inference_mode(): argument 'mode' must be bool, not {type(mode).__name__}"
            )
        super().__init__()
        self.mode = mode

    def clone(self) -> inference_mode:
        return self.__class__(self.mode)

    def _target(self) -> tuple[bool, bool]:
        return (False, True) if self.mode else (True, False)
