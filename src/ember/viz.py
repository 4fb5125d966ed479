"""A picture of the autograd graph: what backward will run, what it keeps, and where
gradient flow stops (frozen parameters, `detach()` cuts).

Needs the `graphviz` Python package (extra `viz`); rendering to SVG/PNG also needs
Graphviz's `dot` program, while `.source` works without it.
"""

from __future__ import annotations

from collections.abc import Mapping

from ._tensor import Tensor
from .autograd.graph import AccumulateGrad, SavedTensor

__all__ = ["draw", "TRAINABLE", "FROZEN", "DETACHED"]

TRAINABLE = "#9ecae1"  # parameters that receive gradients
FROZEN = "#d9d9d9"  # parameters with requires_grad=False
DETACHED = "#fdae6b"  # values cut from the graph by detach()
OP = "#ffffff"
OUTPUT = "#a1d99b"


def _size(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} B"


def _shape(shape) -> str:
    return "(" + ", ".join(str(s) for s in shape) + ")"


def _saved_bytes(node) -> int:
    saved = node._saved or ()
    return sum(s.nbytes for s in saved if type(s) is SavedTensor)


def draw(output: Tensor | tuple, params: Mapping[str, Tensor] | None = None,
         show_saved: bool = True, show_constants: bool = False):
    """Return a `graphviz.Digraph` of the graph that produced `output`.

    Op nodes carry their grad_fn names (and the bytes they saved for backward); leaves
    are labelled with their names in `params` (e.g. `dict(model.named_parameters())`)
    and shapes, trainable ones in blue and frozen ones in grey; an orange node marks
    each place where `detach()` cut the graph.
    """
    try:
        from graphviz import Digraph
    except ImportError as exc:  # pragma: no cover - depends on the extra
        raise ImportError("ember.viz needs the graphviz package: pip install 'ember[viz]'") from exc

    names = {id(p): name for name, p in (params or {}).items()}
    outputs = output if isinstance(output, (tuple, list)) else (output,)
    dot = Digraph("ember_graph", graph_attr={"rankdir": "BT", "fontname": "Helvetica"},
                  node_attr={"shape": "box", "style": "filled,rounded", "fontname": "Helvetica",
                             "fontsize": "11", "fillcolor": OP})
    seen: set = set()
    drawn_frozen: set = set()

    def node_id(obj) -> str:
        return f"n{id(obj)}"

    stack = []
    for i, out in enumerate(outputs):
        oid = f"out{i}"
        dot.node(oid, f"output\n{_shape(out.shape)}", fillcolor=OUTPUT, shape="oval")
        if out.grad_fn is not None:
            dot.edge(node_id(out.grad_fn), oid)
            stack.append(out.grad_fn)
        elif out.requires_grad:
            dot.edge(f"leaf{id(out)}", oid)
            dot.node(f"leaf{id(out)}", f"{names.get(id(out), 'leaf')}\n{_shape(out.shape)}",
                     fillcolor=TRAINABLE)
    shown: set = set()  # ids of the parameters that appear in the picture
    while stack:
        fn = stack.pop()
        if fn in seen:
            continue
        seen.add(fn)
        if type(fn) is AccumulateGrad:
            var = fn.variable
            shown.add(id(var))
            label = f"{names.get(id(var), 'leaf')}\n{_shape(var.shape)}"
            dot.node(node_id(fn), label, fillcolor=TRAINABLE)
            continue
        label = type(fn).__name__
        saved = _saved_bytes(fn)
        if show_saved and saved:
            label += f"\nsaved {_size(saved)}"
        dot.node(node_id(fn), label)
        for nxt, _ in fn.next_functions:
            if nxt is not None:
                dot.edge(node_id(nxt), node_id(fn))
                stack.append(nxt)
        for _pos, tid, shape, detached in getattr(fn, "_consts", ()):
            if tid in names:
                shown.add(tid)
                cid = f"p{tid}"
                if cid not in drawn_frozen:
                    drawn_frozen.add(cid)
                    dot.node(cid, f"{names[tid]} (frozen)\n{_shape(shape)}", fillcolor=FROZEN,
                             style="filled,rounded,dashed")
                dot.edge(cid, node_id(fn), style="dashed", color="#969696")
            elif detached:
                cid = f"d{id(fn)}_{tid}"
                dot.node(cid, f"detach()\n{_shape(shape)}", fillcolor=DETACHED, shape="octagon")
                dot.edge(cid, node_id(fn), style="dashed", color="#e6550d", label="no grad")
            elif show_constants:
                cid = f"c{id(fn)}_{tid}"
                dot.node(cid, f"constant\n{_shape(shape)}", shape="oval", fillcolor="#f7f7f7")
                dot.edge(cid, node_id(fn), style="dotted")
    _draw_unrecorded_frozen(dot, params or {}, shown)
    return dot


def _draw_unrecorded_frozen(dot, params: Mapping[str, Tensor], shown: set) -> None:
    """Frozen parameters that no recorded op touched (a frozen extractor in front of the
    first trainable layer records nothing): one grey box per module, in a cluster."""
    groups: dict[str, list[str]] = {}
    for name, p in params.items():
        if id(p) in shown or p.requires_grad or p.grad_fn is not None:
            continue
        module, _, leaf = name.rpartition(".")
        groups.setdefault(module or name, []).append(f"{leaf or name} {_shape(p.shape)}")
    if not groups:
        return
    with dot.subgraph(name="cluster_frozen") as sub:
        sub.attr(label="frozen: no graph recorded", style="dashed", color="#969696",
                 fontname="Helvetica", fontsize="11")
        for module, entries in groups.items():
            sub.node(f"frozen_{module}", module + "\n" + "\n".join(entries),
                     fillcolor=FROZEN, style="filled,rounded,dashed")
