"""The autograd graph of one training step, as SVG (with Graphviz's `dot`) or DOT source."""

from __future__ import annotations

import shutil
from pathlib import Path

import ember
from ember import nn
from ember.viz import draw

__all__ = ["write_graph"]

FEATURES = "features(x)"


def write_graph(model: nn.Module, images: ember.Tensor, labels: ember.Tensor,
                out: Path) -> Path:
    """Draw the loss of one train-mode forward into `out`, run its backward, drop grads.

    A frozen extractor records no nodes at all (nothing upstream needs a gradient), so
    its output enters the head as a constant; naming that tensor in `params` shows it in
    the picture as a frozen input, next to the trainable head parameters.
    """
    model.train()
    features = model.features(images)
    loss = nn.functional.cross_entropy(model.head(features), labels)
    dot = draw(loss, params={FEATURES: features, **dict(model.named_parameters())})
    if shutil.which("dot"):
        path = out / "graph.svg"
        path.write_bytes(dot.pipe(format="svg"))
    else:
        path = out / "graph.dot"
        path.write_text(dot.source)
    loss.backward()  # the step's backward also frees what the graph saved
    model.zero_grad()
    return path
