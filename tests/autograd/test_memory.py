"""Where the memory goes: no_grad keeps nothing for backward, a recorded graph keeps one
activation per layer until backward frees it, and a dropped graph is freed by reference
counting alone (no cycles). Measured with tracemalloc, which sees NumPy's buffers.
"""

from __future__ import annotations

import contextlib
import gc
import tracemalloc
import weakref

import pytest

import ember

SIZE, DEPTH = 256, 20
ACT = SIZE * SIZE * 4  # bytes of one float32 activation


@pytest.fixture(scope="module")
def weights():
    ember.manual_seed(0)
    return [(ember.randn(SIZE, SIZE) * 0.06).requires_grad_() for _ in range(DEPTH)]


@pytest.fixture(scope="module")
def x0():
    return ember.randn(SIZE, SIZE)


def forward(x, weights):
    for w in weights:
        x = (x @ w).tanh()
    return x


def nodes_of(t) -> list:
    """Every node reachable from t.grad_fn (iterative walk)."""
    seen, stack = [], [t.grad_fn]
    while stack:
        node = stack.pop()
        if node is None or any(node is s for s in seen):
            continue
        seen.append(node)
        stack.extend(n for n, _ in node.next_functions)
    return seen


class Traced:
    """tracemalloc readings, in activations, while the block runs."""

    def current(self) -> float:
        return tracemalloc.get_traced_memory()[0] / ACT

    def peak(self) -> float:
        return tracemalloc.get_traced_memory()[1] / ACT


@contextlib.contextmanager
def traced():
    gc.collect()
    tracemalloc.start()
    try:
        yield Traced()
    finally:
        tracemalloc.stop()


def drop_grads(weights) -> None:
    for w in weights:
        w.grad = None


# ----- no_grad / inference_mode keep nothing --------------------------------------------
@pytest.mark.parametrize("mode", [ember.no_grad, ember.inference_mode],
                         ids=["no_grad", "inference_mode"])
def test_untracked_forward_keeps_about_one_activation(weights, x0, mode):
    with traced() as mem:
        with mode():
            y = forward(x0, weights)
        current, peak = mem.current(), mem.peak()
    assert y.grad_fn is None and not y.requires_grad
    assert current < 1.5  # just y
    assert peak < 4.0  # a layer's input, its product and its output: flat in depth


def test_tracked_forward_holds_one_activation_per_layer_until_backward(weights, x0):
    with traced() as mem:
        y = forward(x0, weights)
        current = mem.current()
    assert DEPTH - 1 < current < DEPTH + 3
    nodes = nodes_of(y)
    assert sum(type(n).__name__ == "TanhBackward0" for n in nodes) == DEPTH
    assert all(n._saved is not None for n in nodes if type(n).__name__ != "AccumulateGrad")


def test_backward_releases_the_saved_arrays(weights, x0):
    with traced() as mem:
        y = forward(x0, weights)
        nodes = [n for n in nodes_of(y) if n._saved is not None]
        before = mem.current()
        y.sum().backward()
        drop_grads(weights)
        after = mem.current()
    assert len(nodes) == 2 * DEPTH  # a matmul and a tanh per layer
    assert all(n._saved is None for n in nodes)
    assert before > DEPTH - 1
    assert after < 2.5  # y itself (and a little change)


def test_retain_graph_keeps_the_saved_arrays(weights, x0):
    with traced() as mem:
        y = forward(x0, weights)
        loss = y.sum()
        loss.backward(retain_graph=True)
        drop_grads(weights)
        kept = mem.current()
        loss.backward()  # the buffers' last use
        drop_grads(weights)
        released = mem.current()
    assert kept > DEPTH - 1
    assert released < 2.5


def test_memory_grows_with_depth_only_when_recording(weights, x0):
    with traced() as mem:
        with ember.no_grad():
            forward(x0, weights[:5])
            shallow = mem.peak()
        tracemalloc.reset_peak()
        with ember.no_grad():
            forward(x0, weights)
            deep = mem.peak()
    assert deep < shallow + 1.0


# ----- no reference cycles: refcounting alone frees a graph -----------------------------
@contextlib.contextmanager
def refcounting_only():
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def test_dropped_output_frees_its_whole_graph(weights):
    x = ember.randn(4, SIZE, requires_grad=True)
    with refcounting_only():
        y = forward(x, weights[:3])
        refs = [weakref.ref(n) for n in nodes_of(y)]
        assert len(refs) == 2 * 3 + 4  # 6 ops, AccumulateGrad of x and of 3 weights
        del y
        assert all(r() is None for r in refs)


def test_graph_is_freed_after_backward(weights):
    x = ember.randn(4, SIZE, requires_grad=True)
    with refcounting_only():
        y = forward(x, weights[:3]).sum()
        refs = [weakref.ref(n) for n in nodes_of(y)]
        y.backward()
        del y
        assert all(r() is None for r in refs)


def test_retain_grad_and_hooks_do_not_keep_the_graph_alive():
    a = ember.randn(8, requires_grad=True)
    with refcounting_only():
        b = a * 2
        b.retain_grad()
        b.register_hook(lambda g: g * 1)
        y = (b * b).sum()
        ref = weakref.ref(b.grad_fn)
        ref_b = weakref.ref(b)
        del b, y
        assert ref() is None and ref_b() is None


def test_leaf_accumulate_grad_node_does_not_keep_the_leaf_alive():
    a = ember.randn(8, requires_grad=True)
    with refcounting_only():
        y = a * 2
        acc = y.grad_fn.next_functions[0][0]
        ref_acc, ref_a = weakref.ref(acc), weakref.ref(a)
        del acc, y
        assert ref_acc() is None
        del a
    assert ref_a() is None


def test_saved_output_does_not_form_a_cycle_with_its_node():
    a = ember.randn(8, requires_grad=True)
    with refcounting_only():
        y = a.tanh()  # tanh saves its own result
        ref_node, ref_y = weakref.ref(y.grad_fn), weakref.ref(y)
        del y
        assert ref_node() is None and ref_y() is None


def test_create_graph_result_is_freed_with_its_graph():
    a = ember.randn(8, requires_grad=True)
    with refcounting_only():
        y = (a ** 3).sum()
        (g,) = ember.autograd.grad(y, a, create_graph=True)
        refs = [weakref.ref(n) for n in nodes_of(g)]
        del y, g
        assert all(r() is None for r in refs)
