"""The backward pass: dependency-counted, iterative execution of the graph."""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np

from .._tensor import Tensor, _make
from .grad_mode import _get_state, _set_state
from .graph import AccumulateGrad, Node, edge_of

__all__ = ["backward", "grad"]

_NO_GRAD_FN = "element {} of tensors does not require grad and does not have a grad_fn"


def _as_tuple(x) -> tuple:
    if x is None:
        return ()
    if isinstance(x, Tensor):
        return (x,)
    return tuple(x)


def _root_grads(outputs: Sequence[Tensor], grad_outputs, create_graph: bool) -> list:
    grads = list(_as_tuple(grad_outputs)) if grad_outputs is not None else [None] * len(outputs)
    if len(grads) != len(outputs):
        raise RuntimeError(
            "grad can be implicitly created only for scalar outputs"
            if not grads else
            f"Mismatch in number of gradients: got {len(grads)} gradients for "
            f"{len(outputs)} outputs"
        )
    result = []
    for i, (out, g) in enumerate(zip(outputs, grads)):
        if not isinstance(out, Tensor):
            raise TypeError(f"outputs must be Tensors, got {type(out).__name__} at index {i}")
        if not out._requires_grad:
            raise RuntimeError(_NO_GRAD_FN.format(i))
        if g is None:
            if out._data.size != 1:
                raise RuntimeError("grad can be implicitly created only for scalar outputs")
            g = _make(np.ones_like(out._data), False, None)
        else:
            if not isinstance(g, Tensor):
                g = _make(np.asarray(g, dtype=out._data.dtype), False, None)
            if g._data.shape != out._data.shape:
                raise RuntimeError(
                    f"Mismatch in shape: grad_output[{i}] has a shape of {g.shape} and "
                    f"output[{i}] has a shape of {out.shape}."
                )
            if not create_graph:
                g = _make(g._data, False, None)
        result.append(g)
    return result


def _collect(roots: list[Node]) -> dict[Node, int]:
    """Number of edges into each node reachable from the roots (iterative DFS)."""
    deps: dict[Node, int] = {}
    seen = set(roots)
    stack = list(roots)
    while stack:
        node = stack.pop()
        for nxt, _ in node.next_functions:
            if nxt is None:
                continue
            deps[nxt] = deps.get(nxt, 0) + 1
            if nxt not in seen:
                seen.add(nxt)
                stack.append(nxt)
    return deps


def _needed(roots: list[Node], targets: set) -> set:
    """Nodes from which some target node can be reached (the ones worth running)."""
    needed: set = set()
    state: dict = {}
    for root in roots:
        if root in state:
            continue
        stack = [(root, iter(root.next_functions))]
        state[root] = 0
        while stack:
            node, it = stack[-1]
            advanced = False
            for nxt, _ in it:
                if nxt is None:
                    continue
                if nxt not in state:
                    state[nxt] = 0
                    stack.append((nxt, iter(nxt.next_functions)))
                    advanced = True
                    break
                if nxt in needed:
                    needed.add(node)
            if advanced:
                continue
            stack.pop()
            if node in targets or any(n in needed for n, _ in node.next_functions if n):
                needed.add(node)
    return needed


def _leaf_hooks(var: Tensor, g: Tensor) -> Tensor:
    """Run the hooks registered on a leaf; a non-None result replaces the gradient."""
    hooks = var._hooks.get("leaf") if var._hooks else None
    if hooks:
        for hook in list(hooks.values()):
            new = hook(g)
            if new is not None:
                g = new
    return g


def _accumulate(var: Tensor, g: Tensor, create_graph: bool, owned: set) -> None:
    g = _leaf_hooks(var, g)
    old = var._grad
    if create_graph:
        if old is None:
            # A tensor of its own (PyTorch's CopyBackwards): g may flow on to other leaves.
            var._grad = g.clone() if g._requires_grad else _make(g._data.copy(), False, None)
        else:
            var._grad = old + g
        return
    arr = g._data
    if old is None:
        # Keep the array itself when nothing else can see it; otherwise copy it.
        if (arr.base is not None or id(arr) in owned or not arr.flags.writeable
                or arr.dtype != var._data.dtype or arr.shape != var._data.shape):
            arr = np.array(np.broadcast_to(arr, var._data.shape), dtype=var._data.dtype)
        owned.add(id(arr))
        var._grad = _make(arr, False, None)
    elif old._grad_fn is None and old._data.flags.writeable:
        old._data += arr
        old._bump_version()
    else:
        var._grad = old + g


def _add(a, b):
    if a is None:
        return b
    if b is None:
        return a
    return a + b


def run_backward(
    outputs: Sequence[Tensor],
    grad_outputs,
    retain_graph: bool | None,
    create_graph: bool,
    inputs: Sequence[Tensor] | None,
    accumulate: bool,
    allow_unused: bool = False,
):
    """Run the graph from `outputs`. With `accumulate`, leaves' `.grad` (or only the
    `inputs`' `.grad`) gets the gradients; otherwise the gradients of `inputs` are returned."""
    outputs = _as_tuple(outputs)
    if retain_graph is None:
        retain_graph = create_graph
    root_grads = _root_grads(outputs, grad_outputs, create_graph)
    if create_graph and accumulate:
        warnings.warn(
            "Using backward() with create_graph=True will create a reference cycle between "
            "the parameter and its gradient which can cause a memory leak. We recommend using "
            "autograd.grad when creating the graph to avoid this.",
            UserWarning, stacklevel=3,
        )

    buffers: dict[Node, list] = {}
    roots: list[Node] = []
    for out, g in zip(outputs, root_grads):
        node, nr = edge_of(out)
        if node not in buffers:
            buffers[node] = [None] * node.num_outputs
            roots.append(node)
        buffers[node][nr] = _add(buffers[node][nr], g)

    # The gradient of each input is read at the edge it receives through.
    targets: dict = {}
    input_edges = []
    if inputs is not None:
        for i, t in enumerate(_as_tuple(inputs)):
            if not isinstance(t, Tensor):
                raise TypeError(f"inputs must be Tensors, got {type(t).__name__}")
            if not t._requires_grad:
                raise RuntimeError("One of the differentiated Tensors does not require grad")
            edge = edge_of(t)
            input_edges.append((t, edge))
            targets.setdefault(edge[0], []).append((edge[1], t, i))
    captured: list = [None] * len(input_edges)

    deps = _collect(roots)
    needed = _needed(roots, set(targets)) if inputs is not None else None
    owned = {id(g._data) for g in root_grads}
    ready = [n for n in roots if deps.get(n, 0) == 0]
    prev_state = _get_state()
    _set_state(create_graph, False)
    try:
        while ready:
            node = ready.pop()
            grads = buffers.pop(node)
            if node._pre_hooks:
                for hook in list(node._pre_hooks.values()):
                    new = hook(tuple(grads))
                    if new is not None:
                        grads = list(new)
            if node in targets:
                for nr, t, i in targets[node]:
                    g = grads[nr]
                    if accumulate:
                        if g is not None:
                            _accumulate_input(t, g, create_graph, owned)
                    else:
                        if g is not None and type(node) is AccumulateGrad:
                            g = _leaf_hooks(t, g)
                        captured[i] = g
                if needed is not None and not any(
                    n in needed for n, _ in node.next_functions if n is not None
                ):
                    _skip(node, False, deps, ready, buffers)
                    continue
            if needed is not None and node not in needed:
                _skip(node, False, deps, ready, buffers)
                continue
            if type(node) is AccumulateGrad:
                if accumulate and inputs is None and grads[0] is not None:
                    _accumulate(node.variable, grads[0], create_graph, owned)
                    _post_accumulate(node.variable)
                continue
            in_grads = _apply(node, grads, retain_graph)
            for (nxt, nr), g in zip(node.next_functions, in_grads):
                if nxt is None:
                    continue
                if g is not None:
                    buf = buffers.get(nxt)
                    if buf is None:
                        buf = buffers[nxt] = [None] * nxt.num_outputs
                    buf[nr] = g if buf[nr] is None else buf[nr] + g
                left = deps[nxt] - 1
                deps[nxt] = left
                if left == 0:
                    if nxt in buffers:
                        ready.append(nxt)
                    else:
                        _skip(nxt, not retain_graph, deps, ready, buffers)
    finally:
        _set_state(*prev_state)

    if accumulate:
        return None
    for i, g in enumerate(captured):
        if g is None and not allow_unused:
            raise RuntimeError(
                f"The differentiated Tensor at index {i} appears to not have been used in the "
                "graph. Set allow_unused=True if this is the desired behavior."
            )
    return tuple(
        None if g is None else (g if create_graph else _make(g._data, False, None))
        for g in captured
    )


def _accumulate_input(t: Tensor, g: Tensor, create_graph: bool, owned: set) -> None:
    if g._data.shape != t._data.shape:
        g = g.sum_to_size(t.shape)
    _accumulate(t, g, create_graph, owned)
    _post_accumulate(t)


def _post_accumulate(var: Tensor) -> None:
    """Run `register_post_accumulate_grad_hook` hooks once `.grad` holds the new sum."""
    hooks = var._hooks.get("post_accumulate") if var._hooks else None
    if hooks:
        for hook in list(hooks.values()):
            hook(var)


def _skip(node: Node, release: bool, deps, ready, buffers) -> None:
    """Pass 'no gradient' on from a node that does not run: one that got no gradient at
    all (its buffers are freed, as if it ran) or one pruned because no requested input
    lies beyond it (left intact, so the graph can still be used from elsewhere)."""
    stack = [node]
    while stack:
        n = stack.pop()
        if release:
            n._release()
        for nxt, _ in n.next_functions:
            if nxt is None:
                continue
            left = deps[nxt] - 1
            deps[nxt] = left
            if left == 0:
                if nxt in buffers:
                    ready.append(nxt)
                else:
                    stack.append(nxt)


def _apply(node: Node, grads: list, retain_graph: bool) -> tuple:
    if node._freed:
        from .graph import _SECOND_TIME

        raise RuntimeError(_SECOND_TIME)
    for i, g in enumerate(grads):
        if g is None and node._out_meta is not None:  # None: the node takes None grads
            shape, dtype = node._out_meta[i]
            grads[i] = _make(np.zeros(shape, dtype), False, None)
    try:
        result = node.backward(*grads)
    finally:
        if not retain_graph:
            node._release()
    if not isinstance(result, tuple):
        result = (result,)
    n_in = len(node.next_functions)
    if len(result) != n_in:
        raise RuntimeError(
            f"function {type(node).__name__} returned an incorrect number of gradients "
            f"(expected {n_in}, got {len(result)})"
        )
    fixed = []
    for (nxt, _), g, (shape, dtype) in zip(node.next_functions, result, node._shapes):
        if nxt is None or g is None:
            fixed.append(None)
            continue
        if not isinstance(g, Tensor):
            g = _make(np.asarray(g, dtype=dtype), False, None)
        if g._data.shape != shape:
            g = g.sum_to_size(shape)
        if g._data.dtype != dtype:
            g = g.to(dtype)
        fixed.append(g)
    if node._hooks:
        for hook in list(node._hooks.values()):
            new = hook(tuple(fixed), tuple(grads))
            if new is not None:
                fixed = list(new)
    if node._trace is not None:
        from .anomaly import check_gradients

        check_gradients(node, fixed)
    return fixed


def backward(
    tensors,
    grad_tensors=None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
    inputs=None,
) -> None:
    """Compute the gradients of `tensors` and accumulate them into the leaves' `.grad`."""
    run_backward(tensors, grad_tensors, retain_graph, create_graph, inputs, accumulate=True)


def grad(
    outputs,
    inputs,
    grad_outputs=None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
    allow_unused: bool | None = None,
    materialize_grads: bool = False,
) -> tuple:
    """Return the gradients of `outputs` with respect to `inputs` without touching `.grad`."""
    inputs_t = _as_tuple(inputs)
    result = run_backward(outputs, grad_outputs, retain_graph, create_graph, inputs_t,
                          accumulate=False, allow_unused=bool(allow_unused) or materialize_grads)
    if materialize_grads:
        result = tuple(
            _make(np.zeros_like(t._data), False, None) if g is None else g
            for g, t in zip(result, inputs_t)
        )
    return result

