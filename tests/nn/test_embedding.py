"""embedding and nn.Embedding: lookup, scatter-add gradient, padding_idx, frequency scaling,
max_norm, from_pretrained, and torch 2.13 as oracle."""

from __future__ import annotations

import numpy as np
import pytest

import ember
import ember.nn as nn
import ember.nn.functional as F
from tests.helpers import check_op, compare_with_torch, grad_fn_name, make_arrays

_IDX = np.array([[0, 2, 2], [4, 0, 1]])


def _lookup(lib, w, **kwargs):
    make = ember.tensor if lib is ember else lib.tensor
    fn = F.embedding if lib is ember else lib.nn.functional.embedding
    return fn(make(_IDX), w, **kwargs)


def test_embedding_matches_finite_differences_and_torch():
    check_op(lambda lib, w: _lookup(lib, w), (5, 3))


def test_embedding_padding_idx_matches_torch():
    compare_with_torch(lambda lib, w: _lookup(lib, w, padding_idx=2), make_arrays([(5, 3)]))


def test_embedding_scale_grad_by_freq_with_negative_padding_idx_matches_torch():
    compare_with_torch(lambda lib, w: _lookup(lib, w, padding_idx=-1, scale_grad_by_freq=True),
                       make_arrays([(5, 3)]))


def test_embedding_gradient_accumulates_repeated_rows():
    w = ember.zeros(3, 2, requires_grad=True)
    F.embedding(ember.tensor([1, 1, 2, 1]), w).sum().backward()
    assert w.grad.numpy().tolist() == [[0.0, 0.0], [3.0, 3.0], [1.0, 1.0]]


def test_embedding_padding_row_gets_no_gradient():
    w = ember.ones(3, 2, requires_grad=True)
    F.embedding(ember.tensor([0, 1, 1]), w, padding_idx=1).sum().backward()
    assert w.grad.numpy().tolist() == [[1.0, 1.0], [0.0, 0.0], [0.0, 0.0]]


def test_embedding_double_backward_respects_padding():
    w = ember.ones(3, 2, dtype=ember.float64, requires_grad=True)
    out = F.embedding(ember.tensor([0, 1]), w, padding_idx=1)
    (g,) = ember.autograd.grad((out * out).sum(), w, create_graph=True)
    g.sum().backward()
    assert w.grad.numpy().tolist() == [[2.0, 2.0], [0.0, 0.0], [0.0, 0.0]]


def test_embedding_records_embedding_node_with_weight_edge_only():
    out = F.embedding(ember.tensor([0, 1]), ember.randn(2, 3, requires_grad=True))
    assert grad_fn_name(out) == "EmbeddingBackward0"
    assert len(out.grad_fn.next_functions) == 1
    assert out.shape == (2, 3)


def test_embedding_max_norm_renormalizes_looked_up_rows_in_place():
    w = ember.tensor([[3.0, 4.0], [0.3, 0.4], [6.0, 8.0]])
    out = F.embedding(ember.tensor([0, 1]), w, max_norm=1.0)
    np.testing.assert_allclose(w.numpy()[0], [0.6, 0.8], rtol=1e-5)
    np.testing.assert_allclose(w.numpy()[2], [6.0, 8.0])
    np.testing.assert_allclose(out.numpy()[1], [0.3, 0.4])


def test_embedding_out_of_range_index_raises():
    with pytest.raises(IndexError, match="index out of range in self"):
        F.embedding(ember.tensor([1, 3]), ember.randn(3, 2))


def test_embedding_float_indices_raise_torch_message():
    with pytest.raises(RuntimeError, match="Expected tensor for argument #1 'indices' to have "
                       "one of the following scalar types: Long, Int; but got "
                       "ember.FloatTensor instead"):
        F.embedding(ember.tensor([1.0, 2.0]), ember.randn(3, 2))


def test_embedding_module_init_and_padding_row():
    ember.manual_seed(0)
    emb = nn.Embedding(10, 4, padding_idx=3)
    assert emb.weight.shape == (10, 4) and emb.weight.requires_grad
    w = emb.weight.detach().numpy()
    assert not w[3].any() and np.abs(w).max() > 0.5  # N(0, 1) rows elsewhere
    assert emb(ember.tensor([[3, 1]])).shape == (1, 2, 4)


def test_embedding_module_negative_padding_idx_and_range_check():
    assert nn.Embedding(5, 2, padding_idx=-1).padding_idx == 4
    with pytest.raises(AssertionError, match="Padding_idx must be within num_embeddings"):
        nn.Embedding(3, 2, padding_idx=5)


def test_embedding_module_repr_matches_torch():
    assert repr(nn.Embedding(3, 4)) == "Embedding(3, 4)"
    assert repr(nn.Embedding(3, 4, padding_idx=1, max_norm=2.0, norm_type=3,
                             scale_grad_by_freq=True)) == (
        "Embedding(3, 4, padding_idx=1, max_norm=2.0, norm_type=3, scale_grad_by_freq=True)")


def test_from_pretrained_shares_memory_and_freezes_by_default():
    table = ember.tensor([[1.0, 2.0], [3.0, 4.0]])
    emb = nn.Embedding.from_pretrained(table)
    assert not emb.weight.requires_grad
    assert emb.weight.data_ptr() == table.data_ptr()
    assert emb(ember.tensor([1])).numpy().tolist() == [[3.0, 4.0]]
    assert nn.Embedding.from_pretrained(table, freeze=False).weight.requires_grad


def test_from_pretrained_requires_a_matrix():
    with pytest.raises(AssertionError, match="Embeddings parameter is expected to be "
                       "2-dimensional"):
        nn.Embedding.from_pretrained(ember.zeros(3))


def test_embedding_module_matches_torch():
    torch = pytest.importorskip("torch")
    e, t = nn.Embedding(6, 3, padding_idx=0), torch.nn.Embedding(6, 3, padding_idx=0)
    with torch.no_grad():
        t.weight.copy_(torch.from_numpy(e.weight.detach().numpy().copy()))
    idx = np.array([[0, 5, 5, 2]])
    e_out, t_out = e(ember.tensor(idx)), t(torch.tensor(idx))
    np.testing.assert_allclose(e_out.detach().numpy(), t_out.detach().numpy())
    e_out.pow(2).sum().backward()
    t_out.pow(2).sum().backward()
    np.testing.assert_allclose(e.weight.grad.numpy(), t.weight.grad.numpy(), rtol=1e-6)
