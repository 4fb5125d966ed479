import shutil

import pytest

import ember

graphviz = pytest.importorskip("graphviz")
from ember.viz import DETACHED, FROZEN, TRAINABLE, draw  # noqa: E402


def _model_with_frozen_middle():
    ember.manual_seed(0)
    params = {
        "encoder.weight": ember.randn(4, 3, requires_grad=True),
        "middle.weight": ember.randn(4, 4),  # frozen
        "head.weight": ember.randn(2, 4, requires_grad=True),
    }
    x = ember.randn(5, 3)
    h = (x @ params["encoder.weight"].t()).relu()
    h = h @ params["middle.weight"].t()
    out = (h * h.detach()) @ params["head.weight"].t()  # no gradient through the detached h
    return out.sum(), params


def test_picture_shows_trainable_and_frozen_colours_and_the_detach_marker():
    loss, params = _model_with_frozen_middle()
    src = draw(loss, params=params).source
    assert TRAINABLE in src and FROZEN in src and DETACHED in src
    assert "encoder.weight" in src and "head.weight" in src
    assert "middle.weight (frozen)" in src
    assert "detach()" in src


def test_op_nodes_carry_grad_fn_names_and_saved_bytes():
    loss, params = _model_with_frozen_middle()
    src = draw(loss, params=params).source
    assert "SumBackward0" in src and "MmBackward0" in src and "ReluBackward0" in src
    assert "saved 112 B" in src


def test_graph_without_grad_is_just_the_output():
    with ember.no_grad():
        y = ember.ones(3) * 2
    src = draw(y).source
    assert "Backward" not in src


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed")
def test_picture_renders_to_svg_and_png(tmp_path):
    loss, params = _model_with_frozen_middle()
    dot = draw(loss, params=params)
    svg = dot.render(str(tmp_path / "graph"), format="svg", cleanup=True)
    png = dot.render(str(tmp_path / "graph"), format="png", cleanup=True)
    assert open(svg).read().lstrip().startswith(("<?xml", "<svg"))
    assert open(png, "rb").read(8) == b"\x89PNG\r\n\x1a\n"


def test_frozen_parameters_that_recorded_no_node_are_drawn_as_a_frozen_cluster():
    ember.manual_seed(0)
    frozen = {"features.0.weight": ember.randn(4, 3), "features.0.bias": ember.randn(4)}
    head = ember.randn(2, 4, requires_grad=True)
    x = ember.randn(5, 3)
    feats = (x @ frozen["features.0.weight"].t() + frozen["features.0.bias"]).relu()
    loss = (feats @ head.t()).sum()
    src = draw(loss, params={**frozen, "head.weight": head}).source
    assert "cluster_frozen" in src and "no graph recorded" in src
    assert "features.0" in src and "weight (4, 3)" in src and FROZEN in src
