import ember
from ember.autograd.graph import saved_bytes, summary


def _deep(x, weights):
    h = x
    for w in weights:
        h = (h @ w).tanh()
    return h


def test_saved_bytes_counts_each_saved_array_once():
    x = ember.randn(8, 16, requires_grad=True)
    y = x * x  # x saved twice (both operands), counted once
    assert saved_bytes(y) == 8 * 16 * 4


def test_saved_bytes_is_zero_under_no_grad_and_inference_mode():
    x = ember.randn(8, 16, requires_grad=True)
    ws = [ember.randn(16, 16) for _ in range(3)]
    with ember.no_grad():
        assert saved_bytes(_deep(x, ws)) == 0
    with ember.inference_mode():
        assert saved_bytes(_deep(x, ws)) == 0


def test_saved_bytes_fall_to_zero_after_backward_without_retain_graph():
    x = ember.randn(8, 16, requires_grad=True)
    ws = [ember.randn(16, 16) for _ in range(3)]
    y = _deep(x, ws)
    assert saved_bytes(y) == 3 * (16 * 16 * 4 + 8 * 16 * 4)  # each layer: weight, tanh output
    y.sum().backward(retain_graph=True)
    assert saved_bytes(y) > 0
    y.sum().backward()
    assert saved_bytes(y) == 0


def test_summary_lists_nodes_with_shapes_and_prints_a_table():
    x = ember.randn(4, 5, requires_grad=True)
    w = ember.randn(5, 3)
    rows = summary((x @ w).exp())
    assert [r.name for r in rows] == ["ExpBackward0", "MmBackward0"]
    assert rows[0].shapes == ((4, 3),)
    assert rows[1].bytes == 5 * 3 * 4
    text = str(rows)
    assert "ExpBackward0" in text and "total" in text
