"""The array module behind ember's tensors.

Every op body asks `array_module(...)` for its array library instead of importing
NumPy directly, so that a second backend (CuPy) later changes only this file.
"""

from __future__ import annotations

import numpy

__all__ = ["array_module", "np"]

np = numpy


def array_module(*arrays):  # noqa: ARG001 - the arrays pick the backend once there are two
    """Return the array library that owns `arrays` (NumPy for now)."""
    return numpy
