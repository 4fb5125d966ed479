"""How much memory a graph holds for backward: `saved_bytes` and a per-node `summary`."""

from __future__ import annotations

from dataclasses import dataclass

from .._tensor import Tensor
from .graph import Node, SavedTensor

__all__ = ["saved_bytes", "summary", "GraphSummary", "NodeMemory"]


@dataclass(frozen=True)
class NodeMemory:
    name: str
    shapes: tuple
    bytes: int


class GraphSummary(list):
    """A list of NodeMemory rows that prints as a table; `.total` counts shared arrays once."""

    total: int = 0

    def __str__(self) -> str:
        lines = [f"{'node':<28}{'saved shapes':<40}{'bytes':>12}"]
        for row in self:
            shapes = ", ".join(str(list(s)) for s in row.shapes) or "-"
            lines.append(f"{row.name:<28}{shapes:<40}{row.bytes:>12,}")
        lines.append(f"{'total (each array once)':<68}{self.total:>12,}")
        return "\n".join(lines)


def _nodes(t: Tensor):
    roots = [t.grad_fn] if isinstance(t, Tensor) else [x.grad_fn for x in t]
    seen: set = set()
    stack = [r for r in roots if r is not None]
    while stack:
        node = stack.pop()
        if node in seen:
            continue
        seen.add(node)
        yield node
        stack.extend(n for n, _ in node.next_functions if n is not None and n not in seen)


def _arrays(node: Node):
    saved = node._saved
    if not saved:
        return
    for s in saved:
        if type(s) is SavedTensor:
            yield from s.arrays()
    yield from getattr(node, "_saved_arrays", ())


def _root_buffer(arr):
    while arr.base is not None and hasattr(arr.base, "base"):
        arr = arr.base
    return arr


def summary(t) -> GraphSummary:
    """One row per node reachable from `t` that holds arrays for backward."""
    rows = GraphSummary()
    seen: set = set()
    total = 0
    for node in _nodes(t):
        arrays = list(_arrays(node))
        if not arrays:
            continue
        nbytes = 0
        for arr in arrays:
            nbytes += arr.nbytes
            base = _root_buffer(arr)
            if id(base) not in seen:
                seen.add(id(base))
                total += base.nbytes
        rows.append(NodeMemory(type(node).__name__, tuple(a.shape for a in arrays), nbytes))
    rows.total = total
    return rows


def saved_bytes(t) -> int:
    """Bytes of the arrays that the graph reachable from `t` keeps for backward (each
    underlying buffer counted once, even when several nodes or views share it)."""
    return summary(t).total
