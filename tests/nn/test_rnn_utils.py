"""ember.nn.utils.rnn: packing, padding and PackedSequence, against torch."""

from __future__ import annotations

import numpy as np
import pytest

import ember
from ember.nn.utils import rnn

torch = pytest.importorskip("torch")
trnn = torch.nn.utils.rnn


def _leaves(array):
    return (ember.tensor(array, requires_grad=True), torch.tensor(array, requires_grad=True))


def _same(e, t):
    assert tuple(e.shape) == tuple(t.shape)
    np.testing.assert_allclose(e.detach().numpy(), t.detach().numpy(), rtol=1e-6)


def _indices(t):
    return None if t is None else t.tolist()


def _backward_same(e_out, t_out, e_in, t_in):
    probe = np.random.default_rng(3).standard_normal(tuple(t_out.shape)).astype(np.float32)
    (e_out * ember.tensor(probe)).sum().backward()
    (t_out * torch.tensor(probe)).sum().backward()
    for e, t in zip(e_in, t_in):
        _same(e.grad, t.grad)


PADDED = np.random.default_rng(0).standard_normal((5, 4, 2)).astype(np.float32)


@pytest.mark.parametrize("batch_first", [False, True], ids=["time_major", "batch_first"])
@pytest.mark.parametrize("lengths,enforce_sorted", [
    ([5, 3, 2, 1], True),
    ([2, 5, 1, 3], False),
    ([5, 3, 2, 1], False),
])
def test_pack_padded_sequence_matches_torch(batch_first, lengths, enforce_sorted):
    array = PADDED.transpose(1, 0, 2).copy() if batch_first else PADDED
    e_in, t_in = _leaves(array)
    e = rnn.pack_padded_sequence(e_in, lengths, batch_first, enforce_sorted)
    t = trnn.pack_padded_sequence(t_in, lengths, batch_first, enforce_sorted)
    _same(e.data, t.data)
    assert e.batch_sizes.tolist() == t.batch_sizes.tolist()
    assert e.batch_sizes.dtype == ember.int64
    assert _indices(e.sorted_indices) == _indices(t.sorted_indices)
    assert _indices(e.unsorted_indices) == _indices(t.unsorted_indices)
    _backward_same(e.data, t.data, [e_in], [t_in])


def test_pack_padded_sequence_accepts_a_lengths_tensor():
    e = rnn.pack_padded_sequence(ember.tensor(PADDED), ember.tensor([4, 3, 3, 1]))
    assert e.batch_sizes.tolist() == [4, 3, 3, 1]


@pytest.mark.parametrize("batch_first", [False, True], ids=["time_major", "batch_first"])
@pytest.mark.parametrize("total_length", [None, 7])
@pytest.mark.parametrize("padding_value", [0.0, -1.5])
def test_pad_packed_sequence_matches_torch(batch_first, total_length, padding_value):
    e_in, t_in = _leaves(PADDED)
    lengths = [2, 4, 1, 3]
    e_packed = rnn.pack_padded_sequence(e_in, lengths, enforce_sorted=False)
    t_packed = trnn.pack_padded_sequence(t_in, lengths, enforce_sorted=False)
    e, e_len = rnn.pad_packed_sequence(e_packed, batch_first, padding_value, total_length)
    t, t_len = trnn.pad_packed_sequence(t_packed, batch_first, padding_value, total_length)
    _same(e, t)
    assert e_len.tolist() == t_len.tolist() == lengths
    _backward_same(e, t, [e_in], [t_in])


def test_pad_packed_sequence_rejects_a_short_total_length():
    packed = rnn.pack_padded_sequence(ember.tensor(PADDED), [5, 3, 2, 1])
    with pytest.raises(ValueError, match="total_length=3 and max sequence length being 5"):
        rnn.pad_packed_sequence(packed, total_length=3)


SEQUENCES = [np.random.default_rng(i).standard_normal((n, 3)).astype(np.float32)
             for i, n in enumerate([2, 5, 3])]


@pytest.mark.parametrize("batch_first", [False, True], ids=["time_major", "batch_first"])
@pytest.mark.parametrize("padding_side", ["right", "left"])
def test_pad_sequence_matches_torch(batch_first, padding_side):
    e_in, t_in = zip(*(_leaves(a) for a in SEQUENCES))
    e = rnn.pad_sequence(list(e_in), batch_first, 9.0, padding_side)
    t = trnn.pad_sequence(list(t_in), batch_first, 9.0, padding_side)
    _same(e, t)
    _backward_same(e, t, e_in, t_in)


def test_pad_sequence_of_vectors_matches_torch():
    e = rnn.pad_sequence([ember.ones(2), ember.ones(4) * 2])
    t = trnn.pad_sequence([torch.ones(2), torch.ones(4) * 2])
    _same(e, t)


@pytest.mark.parametrize("enforce_sorted", [True, False])
def test_pack_sequence_matches_torch(enforce_sorted):
    arrays = sorted(SEQUENCES, key=len, reverse=True) if enforce_sorted else SEQUENCES
    e = rnn.pack_sequence([ember.tensor(a) for a in arrays], enforce_sorted)
    t = trnn.pack_sequence([torch.tensor(a) for a in arrays], enforce_sorted)
    _same(e.data, t.data)
    assert e.batch_sizes.tolist() == t.batch_sizes.tolist()
    assert _indices(e.sorted_indices) == _indices(t.sorted_indices)


def test_unpack_sequence_returns_the_packed_sequences():
    packed = rnn.pack_sequence([ember.tensor(a) for a in SEQUENCES], enforce_sorted=False)
    for out, a in zip(rnn.unpack_sequence(packed), SEQUENCES):
        np.testing.assert_array_equal(out.numpy(), a)


def test_unpad_sequence_cuts_each_sequence_to_its_length():
    padded = rnn.pad_sequence([ember.tensor(a) for a in SEQUENCES], batch_first=True)
    outs = rnn.unpad_sequence(padded, ember.tensor([2, 5, 3]), batch_first=True)
    for out, a in zip(outs, SEQUENCES):
        np.testing.assert_array_equal(out.numpy(), a)


def test_packed_sequence_unpacks_like_a_tuple():
    packed = rnn.pack_padded_sequence(ember.tensor(PADDED), [3, 5, 2, 1], enforce_sorted=False)
    data, batch_sizes, sorted_indices, unsorted_indices = packed
    assert data is packed.data and batch_sizes.tolist() == [4, 3, 2, 1, 1]
    assert sorted_indices.tolist() == [1, 0, 2, 3]
    assert unsorted_indices.tolist() == [1, 0, 2, 3]


def test_packed_sequence_derives_unsorted_indices():
    packed = rnn.PackedSequence(ember.zeros(3, 1), ember.tensor([2, 1]), ember.tensor([2, 0, 1]))
    assert packed.unsorted_indices.tolist() == [1, 2, 0]
    assert rnn.invert_permutation(None) is None


def test_packed_sequence_to_converts_only_the_data():
    packed = rnn.pack_padded_sequence(ember.tensor(PADDED), [5, 3, 2, 1])
    double = packed.double()
    assert isinstance(double, rnn.PackedSequence)
    assert double.data.dtype == ember.float64 and double.batch_sizes.dtype == ember.int64
    assert packed.to(ember.float32) is packed
    assert not packed.is_cuda


@pytest.mark.parametrize("call,exc,message", [
    (lambda: rnn.pack_padded_sequence(ember.tensor(PADDED), [3, 5, 2, 1]), RuntimeError,
     "`lengths` array must be sorted in decreasing order when `enforce_sorted` is True"),
    (lambda: rnn.pack_padded_sequence(ember.tensor(PADDED), [5, 3, 2, 0]), RuntimeError,
     "Length of all samples has to be greater than 0"),
    (lambda: rnn.pack_padded_sequence(ember.tensor(PADDED), [5, 3]), RuntimeError,
     "Expected `len(lengths)` to be equal to batch_size, but got 2 (batch_size=4)"),
    (lambda: rnn.pack_padded_sequence(ember.tensor(PADDED), [6, 3, 2, 1]), ValueError,
     "exceeds the padded sequence length (5)"),
    (lambda: rnn.pad_sequence([]), RuntimeError, "received an empty list of sequences"),
    (lambda: rnn.pad_sequence([ember.ones(2)], padding_side="up"), RuntimeError,
     "Expected padding_side to be one of left or right, but got up."),
    (lambda: rnn.pad_sequence([ember.ones(2, 3), ember.ones(2, 4)]), RuntimeError,
     "sequence 1 has [2, 4]"),
    (lambda: rnn.pad_sequence(3), RuntimeError,
     "pad_sequence: Expected iterable for input sequences"),
])
def test_bad_arguments_raise_torch_errors(call, exc, message):
    with pytest.raises(exc) as info:
        call()
    assert message in str(info.value)


def test_rnn_is_a_submodule_of_nn_utils():
    assert ember.nn.utils.rnn.pad_sequence is rnn.pad_sequence
