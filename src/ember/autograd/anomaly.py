"""Anomaly detection: remember where each node was created, and stop at the first
backward that produces NaN (or inf), naming the op and showing its forward traceback."""

from __future__ import annotations

import traceback

import numpy as np

from ..ops import _define
from .grad_mode import _ModeContext

__all__ = ["detect_anomaly", "set_detect_anomaly", "is_anomaly_enabled"]

_check_nan = [True]


def is_anomaly_enabled() -> bool:
    return _define._anomaly[0]


def _set(enabled: bool, check_nan: bool) -> None:
    _define._anomaly[0] = enabled
    _check_nan[0] = check_nan


class detect_anomaly(_ModeContext):
    """Context manager and decorator that turns anomaly detection on (process-wide)."""

    def __init__(self, check_nan: bool = True) -> None:
        super().__init__()
        self.check_nan = check_nan
        self._saved: list[tuple[bool, bool]] = []

    def clone(self) -> detect_anomaly:
        return detect_anomaly(self.check_nan)

    def __enter__(self) -> None:
        self._saved.append((_define._anomaly[0], _check_nan[0]))
        _set(True, self.check_nan)

    def __exit__(self, *exc) -> None:
        _set(*self._saved.pop())


class set_detect_anomaly:
    """Turn anomaly detection on or off; as a context manager, restore it on exit."""

    def __init__(self, mode: bool, check_nan: bool = True) -> None:
        self.prev = (_define._anomaly[0], _check_nan[0])
        _set(bool(mode), check_nan)

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc) -> None:
        _set(*self.prev)


def remember_trace(node) -> None:
    """Called by `record` while anomaly mode is on: keep the forward call's stack."""
    node._trace = "".join(traceback.format_stack()[:-3])


def check_gradients(node, grads) -> None:
    """Raise if a node's backward produced NaN/inf, naming the node and its origin."""
    if not _check_nan[0]:
        return
    for i, g in enumerate(grads):
        if g is None:
            continue
        arr = g._data
        if arr.dtype.kind == "f" and not np.all(np.isfinite(arr)):
            what = "nan" if np.isnan(arr).any() else "inf"
            raise RuntimeError(
                f"Function '{type(node).__name__}' returned {what} values in its {i}th output.\n"
                f"Error detected in {type(node).__name__}. Traceback of forward call that "
                f"caused the error:\n{node._trace}"
            )
