"""Variable-length sequences for the recurrent layers: PackedSequence and the helpers
that pack, pad and unpad.

Packing lays the sequences out step by step, the items still running at each step in
order of decreasing length; `batch_sizes[t]` counts them. Every conversion here is one
gather (`index_select`) with an index array computed in NumPy, so gradients flow through
packing and padding.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

import numpy as np

from ... import _creation
from ..._dtypes import float16, float32, float64, int32, int64
from ..._tensor import Tensor
from ...ops import shape as sh
from ...ops.indexing import index_select

__all__ = [
    "PackedSequence", "invert_permutation", "pack_padded_sequence", "pad_packed_sequence",
    "pad_sequence", "unpad_sequence", "pack_sequence", "unpack_sequence",
]


class _PackedFields(NamedTuple):
    data: Tensor
    batch_sizes: Tensor
    sorted_indices: Tensor | None
    unsorted_indices: Tensor | None


class PackedSequence(_PackedFields):
    """(data, batch_sizes, sorted_indices, unsorted_indices) of a packed batch.

    Made by `pack_padded_sequence` and `pack_sequence`; `unsorted_indices` is derived
    from `sorted_indices` when not given.
    """

    __slots__ = ()

    def __new__(cls, data, batch_sizes: Tensor | None = None,
                sorted_indices: Tensor | None = None,
                unsorted_indices: Tensor | None = None) -> PackedSequence:
        if unsorted_indices is None:
            unsorted_indices = invert_permutation(sorted_indices)
        if batch_sizes is None:
            if not (isinstance(data, (list, tuple)) and len(data) == 2):
                raise AssertionError("Expected data to be a list or tuple of length 2")
            data, batch_sizes = data
        return super().__new__(cls, data, batch_sizes, sorted_indices, unsorted_indices)

    def to(self, *args, **kwargs) -> PackedSequence:
        """The same packing with `data.to(...)`; the index tensors are kept."""
        data = self.data.to(*args, **kwargs)
        if data is self.data:
            return self
        return type(self)(data, self.batch_sizes, self.sorted_indices, self.unsorted_indices)

    def cpu(self) -> PackedSequence:
        return self

    def double(self) -> PackedSequence:
        return self.to(float64)

    def float(self) -> PackedSequence:
        return self.to(float32)

    def half(self) -> PackedSequence:
        return self.to(float16)

    def long(self) -> PackedSequence:
        return self.to(int64)

    def int(self) -> PackedSequence:
        return self.to(int32)

    @property
    def is_cuda(self) -> bool:
        return False

    def is_pinned(self) -> bool:
        return False


def _long(array) -> Tensor:
    return _creation.tensor(np.asarray(array, dtype=np.int64), dtype=int64)


def invert_permutation(permutation: Tensor | None) -> Tensor | None:
    """The inverse of a permutation vector (None stays None)."""
    if permutation is None:
        return None
    perm = np.asarray(permutation.tolist(), dtype=np.int64)
    inverse = np.empty_like(perm)
    inverse[perm] = np.arange(perm.size)
    return _long(inverse)


def _lengths_array(lengths) -> np.ndarray:
    if isinstance(lengths, Tensor):
        if lengths.dim() != 1:
            raise RuntimeError("'lengths' argument should be a 1D CPU int64 tensor, but got "
                               f"{lengths.dim()}D cpu tensor")
        lengths = lengths.tolist()
    return np.asarray(lengths, dtype=np.int64).reshape(-1)


def pack_padded_sequence(input: Tensor, lengths, batch_first: bool = False,
                         enforce_sorted: bool = True) -> PackedSequence:
    """Pack a padded batch (T, B, *) or (B, T, *) of sequences with the given lengths.

    With `enforce_sorted=False` the batch is sorted by decreasing length first and the
    permutation is kept in the result.
    """
    lens = _lengths_array(lengths)
    if input.dim() < 2:
        raise ValueError(f"pack_padded_sequence: expected input with at least 2 dimensions "
                         f"(T, B, *), got {input.dim()}D")
    batch_dim = 0 if batch_first else 1
    batch, steps = input.shape[batch_dim], input.shape[1 - batch_dim]
    if lens.size != batch:
        raise RuntimeError(f"Expected `len(lengths)` to be equal to batch_size, but got "
                           f"{lens.size} (batch_size={batch})")
    sorted_indices = None
    order = np.arange(batch)
    if enforce_sorted:
        if np.any(lens[1:] > lens[:-1]):
            raise RuntimeError(
                "`lengths` array must be sorted in decreasing order when `enforce_sorted` is "
                "True. You can pass `enforce_sorted=False` to pack_padded_sequence and/or "
                "pack_sequence to sidestep this requirement if you do not need ONNX "
                "exportability.")
    else:
        order = np.argsort(-lens, kind="stable")
        lens = lens[order]
        sorted_indices = _long(order)
    if lens.size and lens[-1] <= 0:
        raise RuntimeError("Length of all samples has to be greater than 0, but found an "
                           "element in 'lengths' that is <= 0")
    if lens.size and lens[0] > steps:
        raise ValueError(f"pack_padded_sequence: a length ({lens[0]}) exceeds the padded "
                         f"sequence length ({steps})")
    alive = lens[None, :] > np.arange(lens[0] if lens.size else 0)[:, None]  # (T', B)
    t_idx, b_idx = np.nonzero(alive)  # step-major, as packed data is laid out
    b_src = order[b_idx]
    rows = b_src * steps + t_idx if batch_first else t_idx * batch + b_src
    flat = input.reshape(batch * steps, *input.shape[2:])
    data = index_select(flat, 0, rows)
    return PackedSequence(data, _long(alive.sum(1)), sorted_indices, None)


def pad_packed_sequence(sequence: PackedSequence, batch_first: bool = False,
                        padding_value: float = 0.0,
                        total_length: int | None = None) -> tuple[Tensor, Tensor]:
    """Undo packing: (padded (T, B, *) or (B, T, *), lengths), in the original order."""
    sizes = np.asarray(sequence.batch_sizes.tolist(), dtype=np.int64)
    steps = sizes.size
    if total_length is not None:
        if total_length < steps:
            raise ValueError(
                "Expected total_length to be at least the length of the longest sequence in "
                f"input, but got total_length={total_length} and max sequence length being "
                f"{steps}")
        steps = total_length
    data = sequence.data
    batch = int(sizes[0])
    lengths = (sizes[None, :] > np.arange(batch)[:, None]).sum(1)
    # Row of (t, b) in data, or the padding row appended after the data.
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    rows = np.full((steps, batch), data.shape[0], dtype=np.int64)
    alive = np.arange(batch)[None, :] < sizes[:, None]
    rows[: sizes.size][alive] = (starts[:, None] + np.arange(batch)[None, :])[alive]
    if sequence.unsorted_indices is not None:
        unsorted = np.asarray(sequence.unsorted_indices.tolist(), dtype=np.int64)
        rows, lengths = rows[:, unsorted], lengths[unsorted]
    if batch_first:
        rows = rows.T
    pad = _creation.full((1, *data.shape[1:]), padding_value, dtype=data.dtype)
    padded = index_select(sh.cat([data, pad]), 0, rows.reshape(-1))
    return padded.reshape(*rows.shape, *data.shape[1:]), _long(lengths)


def pad_sequence(sequences, batch_first: bool = False, padding_value: float = 0.0,
                 padding_side: str = "right") -> Tensor:
    """Stack sequences of shape (L_i, *) into (T, B, *) (or (B, T, *)), padded to the
    longest with `padding_value` on `padding_side`."""
    if not isinstance(sequences, Iterable):
        raise RuntimeError("pad_sequence: Expected iterable for input sequences, but got arg "
                           f"of type: {type(sequences)}")
    sequences = list(sequences)
    if not sequences:
        raise RuntimeError("received an empty list of sequences")
    if padding_side not in ("left", "right"):
        raise RuntimeError(
            f"Expected padding_side to be one of left or right, but got {padding_side}.")
    trailing = tuple(sequences[0].shape[1:])
    for i, s in enumerate(sequences):
        if s.dim() == 0 or tuple(s.shape[1:]) != trailing:
            raise RuntimeError(
                f"pad_sequence: all sequences must have shape (L, {', '.join(map(str, trailing))})"
                f"; sequence 0 has {list(sequences[0].shape)} and sequence {i} has "
                f"{list(s.shape)}")
    lens = np.array([s.shape[0] for s in sequences], dtype=np.int64)
    steps, total = int(lens.max()), int(lens.sum())
    starts = np.concatenate([[0], np.cumsum(lens)[:-1]])
    t = np.arange(steps)[:, None]  # (T, 1) against (1, B)
    shift = (steps - lens)[None, :] if padding_side == "left" else 0
    pos = t - shift
    rows = np.where((pos >= 0) & (pos < lens[None, :]), starts[None, :] + pos, total)
    if batch_first:
        rows = rows.T
    dtype = sequences[0].dtype
    pad = _creation.full((1, *trailing), padding_value, dtype=dtype)
    padded = index_select(sh.cat([*sequences, pad]), 0, rows.reshape(-1))
    return padded.reshape(*rows.shape, *trailing)


def unpad_sequence(padded_sequences: Tensor, lengths, batch_first: bool = False) -> list:
    """The sequences of a padded batch, each cut to its length."""
    lens = _lengths_array(lengths)
    if batch_first:
        return [padded_sequences[b, : int(n)] for b, n in enumerate(lens)]
    return [padded_sequences[: int(n), b] for b, n in enumerate(lens)]


def pack_sequence(sequences, enforce_sorted: bool = True) -> PackedSequence:
    """Pack a list of sequences of shape (L_i, *); see pack_padded_sequence."""
    sequences = list(sequences)
    lengths = [s.shape[0] for s in sequences]
    return pack_padded_sequence(pad_sequence(sequences), lengths,
                                enforce_sorted=enforce_sorted)


def unpack_sequence(packed_sequences: PackedSequence) -> list:
    """The list of sequences a PackedSequence holds, in their original order."""
    padded, lengths = pad_packed_sequence(packed_sequences, batch_first=True)
    return unpad_sequence(padded, lengths, batch_first=True)
