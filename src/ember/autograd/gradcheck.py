"""Check analytic gradients against central finite differences (use float64 inputs)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from .._tensor import Tensor
from .engine import grad as autograd_grad
from .grad_mode import enable_grad, no_grad

__all__ = ["gradcheck", "gradgradcheck", "GradcheckError"]


class GradcheckError(RuntimeError):
    """Raised by gradcheck when analytic and numerical gradients disagree."""


def _outputs(fn: Callable, inputs: Sequence) -> tuple[Tensor, ...]:
    out = fn(*inputs)
    return out if isinstance(out, tuple) else (out,)


def _numerical(fn, inputs, i: int, out_index: int, probe: np.ndarray, eps: float) -> np.ndarray:
    """d <probe, out> / d inputs[i], by central differences."""
    x = inputs[i]._data
    grad = np.zeros_like(x, dtype=np.float64)
    flat = x.reshape(-1)  # a view: x is contiguous in float64 checks
    if not np.shares_memory(flat, x):
        raise GradcheckError(f"gradcheck needs contiguous inputs (input {i} is not)")
    gflat = grad.reshape(-1)
    with no_grad():
        for k in range(flat.size):
            orig = flat[k]
            flat[k] = orig + eps
            plus = float(np.sum(_outputs(fn, inputs)[out_index]._data * probe))
            flat[k] = orig - eps
            minus = float(np.sum(_outputs(fn, inputs)[out_index]._data * probe))
            flat[k] = orig
            gflat[k] = (plus - minus) / (2 * eps)
    return grad


def gradcheck(
    fn: Callable,
    inputs,
    *,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    raise_exception: bool = True,
    seed: int = 0,
) -> bool:
    """True when the gradients of `fn` at `inputs` match finite differences.

    Each output is contracted with a random probe, so one backward checks the whole
    vector-Jacobian product against the numerical one.
    """
    inputs = tuple(inputs) if isinstance(inputs, (tuple, list)) else (inputs,)
    diff_idx = [i for i, t in enumerate(inputs) if isinstance(t, Tensor) and t.requires_grad]
    for i in diff_idx:
        if inputs[i]._data.dtype != np.float64:
            raise GradcheckError(
                f"gradcheck input {i} has dtype {inputs[i].dtype}; use float64 for precision"
            )
    rng = np.random.default_rng(seed)
    outputs = _outputs(fn, inputs)
    for o, out in enumerate(outputs):
        if not isinstance(out, Tensor) or not out.requires_grad:
            continue
        probe = rng.standard_normal(out._data.shape)
        analytic = autograd_grad(
            out, [inputs[i] for i in diff_idx],
            grad_outputs=Tensor._from_array(probe.astype(out._data.dtype)),
            retain_graph=True, allow_unused=True,
        )
        for i, a in zip(diff_idx, analytic):
            numeric = _numerical(fn, inputs, i, o, probe, eps)
            got = np.zeros_like(numeric) if a is None else a._data.astype(np.float64)
            if not np.allclose(got, numeric, atol=atol, rtol=rtol):
                if raise_exception:
                    raise GradcheckError(
                        f"Jacobian mismatch for output {o} with respect to input {i},\n"
                        f"numerical:{numeric}\nanalytical:{got}\n"
                    )
                return False
    return True


def _differentiable(outputs: tuple) -> tuple:
    """The outputs that carry gradients (e.g. values, not the indices of a sort)."""
    return tuple(o for o in outputs if isinstance(o, Tensor) and o._data.dtype.kind == "f")


def gradgradcheck(fn: Callable, inputs, *, eps: float = 1e-6, atol: float = 1e-5,
                  rtol: float = 1e-3, raise_exception: bool = True, seed: int = 0) -> bool:
    """Check second derivatives: gradcheck of the (create_graph) gradient of `fn`."""
    inputs = tuple(inputs) if isinstance(inputs, (tuple, list)) else (inputs,)
    rng = np.random.default_rng(seed + 1)
    first = _differentiable(_outputs(fn, inputs))
    probes = [Tensor._from_array(rng.standard_normal(o._data.shape)) for o in first]

    def grads_of(*xs):
        with enable_grad():
            return _first_grads(xs)

    def _first_grads(xs):
        outs = _differentiable(_outputs(fn, xs))
        gs = autograd_grad(outs, [x for x in xs if isinstance(x, Tensor) and x.requires_grad],
                           grad_outputs=probes, create_graph=True, allow_unused=True)
        return tuple(g for g in gs if g is not None)

    return gradcheck(grads_of, inputs, eps=eps, atol=atol, rtol=rtol,
                     raise_exception=raise_exception, seed=seed)
