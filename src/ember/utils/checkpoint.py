"""Activation checkpointing: trade compute for memory.

`checkpoint(fn, *args)` runs `fn` under `no_grad`, so none of its intermediate arrays are
kept; during backward it runs `fn` again with grad enabled (with the random state it saw
the first time, so dropout masks repeat) and backpropagates through that recomputation.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .._creation import default_generator
from .._tensor import Tensor, _make
from ..autograd.engine import backward as run_backward
from ..autograd.grad_mode import _tracking, enable_grad, no_grad
from ..autograd.graph import Node, edge_of

__all__ = ["checkpoint", "checkpoint_sequential"]


class CheckpointFunctionBackward(Node):
    """Recomputes the checkpointed segment and backpropagates through it."""

    def backward(self, *grads):
        fn, args, kwargs, rng_state = self.args
        if self._freed:
            from ..autograd.graph import _SECOND_TIME

            raise RuntimeError(_SECOND_TIME)
        detached = [
            a.detach().requires_grad_(a._requires_grad) if isinstance(a, Tensor) else a
            for a in args
        ]
        current = default_generator.get_state() if rng_state is not None else None
        if rng_state is not None:
            default_generator.set_state(rng_state)
        try:
            with enable_grad():
                outs = fn(*detached, **kwargs)
        finally:
            if current is not None:
                default_generator.set_state(current)
        outs = outs if isinstance(outs, tuple) else (outs,)
        pairs = [(o, g) for o, g in zip(outs, grads) if isinstance(o, Tensor) and o._requires_grad]
        if pairs:
            run_backward([o for o, _ in pairs], [g for _, g in pairs])
        return tuple(
            d._grad if isinstance(d, Tensor) and a._requires_grad else None
            for d, a in zip(detached, args)
        )


def checkpoint(fn: Callable, *args: Any, use_reentrant: bool | None = None,
               preserve_rng_state: bool = True, **kwargs: Any):
    """Run `fn(*args)` without keeping its activations; recompute them in backward.

    Parameters used inside `fn` get their gradients during that recomputation. Gradients
    equal those of running `fn` directly.
    """
    rng_state = default_generator.get_state() if preserve_rng_state else None
    with no_grad():
        outs = fn(*args, **kwargs)
    single = not isinstance(outs, tuple)
    outs_t = (outs,) if single else outs
    if not _tracking.get():
        return outs
    node = CheckpointFunctionBackward()
    node.args = (fn, args, kwargs, rng_state)
    node.next_functions = tuple(
        edge_of(a) if isinstance(a, Tensor) else (None, 0) for a in args
    )
    node._shapes = tuple(
        (a._data.shape, a._data.dtype) if isinstance(a, Tensor) else ((), None) for a in args
    )
    node._saved = ()  # marks the node as holding state, so a second backward is refused
    tensor_outs = [o for o in outs_t if isinstance(o, Tensor)]
    node.num_outputs = len(tensor_outs)
    node._out_meta = tuple((o._data.shape, o._data.dtype) for o in tensor_outs)
    results = []
    k = 0
    for o in outs_t:
        if isinstance(o, Tensor) and o._data.dtype.kind == "f":
            t = _make(o._data, True, node)
            t._output_nr = k
            k += 1
            results.append(t)
        else:
            if isinstance(o, Tensor):
                k += 1
            results.append(o)
    return results[0] if single else tuple(results)


def checkpoint_sequential(functions, segments: int, input: Tensor,
                          use_reentrant: bool | None = None, **kwargs: Any) -> Tensor:
    """Split a Sequential (or list of modules) into `segments` checkpointed chunks."""
    functions = list(functions.children()) if hasattr(functions, "children") else list(functions)
    size = int(np.ceil(len(functions) / segments))

    def run(chunk):
        def forward(x):
            for f in chunk:
                x = f(x)
            return x

        return forward

    x = input
    for start in range(0, len(functions), size):
        chunk = functions[start : start + size]
        if start + size >= len(functions):
            x = run(chunk)(x)
        else:
            x = checkpoint(run(chunk), x, **kwargs)
    return x
