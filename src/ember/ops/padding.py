"""Padding: `pad(input, pad, mode, value)` with PyTorch's pad-tuple convention.

`pad` lists (left, right) pairs from the last dimension backwards. Constant mode pads any
number of dimensions and crops where a pad is negative; its gradient is the inner slice
(a constant pad by the negated pads). Reflect, replicate and circular modes are one
gather along the padded dims, each output position reading a source position; their
gradient adds every output position back onto its source.
"""

from __future__ import annotations

import numpy as np

from .._tensor import Tensor
from ._define import Op, to_tensor, unary

__all__ = ["pad"]

_MODES = ("constant", "reflect", "replicate", "circular")


# ----- constant --------------------------------------------------------------------------

def _constant_pad(x: np.ndarray, pairs: tuple, value) -> np.ndarray:
    """`pairs` holds (left, right) per dim of `x`, in dim order."""
    shape = tuple(n + lo + hi for n, (lo, hi) in zip(x.shape, pairs))
    if any(s < 0 for s in shape):
        raise RuntimeError("narrow(): length must be non-negative.")
    out = np.full(shape, value, dtype=x.dtype)
    src, dst = [], []
    for n, (lo, hi) in zip(x.shape, pairs):
        start, stop = max(-lo, 0), n - max(-hi, 0)
        length = max(stop - start, 0)
        src.append(slice(start, start + length))
        dst.append(slice(max(lo, 0), max(lo, 0) + length))
    out[tuple(dst)] = x[tuple(src)]
    return out


class ConstantPadNdBackward0(Op):
    needs = ((),)
    forward = staticmethod(_constant_pad)

    def backward(self, g):
        pairs = tuple((-lo, -hi) for lo, hi in self.args[0])
        return _constant(g, pairs, 0)


_constant = unary(ConstantPadNdBackward0)


# ----- reflect, replicate, circular: a gather and its scatter-add ------------------------

def _source(n: int, lo: int, hi: int, mode: str) -> np.ndarray:
    """For each output position along one dim, the input position it copies."""
    if mode == "circular":
        # PyTorch wraps around the kept (possibly cropped) middle, not the whole input.
        first, kept = max(-lo, 0), n - max(-lo, 0) - max(-hi, 0)
        return first + (np.arange(n + lo + hi) - max(lo, 0)) % kept
    p = np.arange(-lo, n + hi)
    if mode == "replicate":
        return np.clip(p, 0, n - 1)
    p = np.abs(p)  # reflect about 0, then about n - 1
    return np.where(p > n - 1, 2 * (n - 1) - p, p)


def _gather(x: np.ndarray, pairs: tuple, mode: str) -> np.ndarray:
    """`x` padded along its last `len(pairs)` dims: one read of each output position."""
    k = len(pairs)
    shape = x.shape[x.ndim - k:]
    sources = [_source(n, lo, hi, mode) for n, (lo, hi) in zip(shape, pairs)]
    return x[(Ellipsis,) + np.ix_(*sources)]


def _scatter_add(g: np.ndarray, pairs: tuple, mode: str, shape: tuple) -> np.ndarray:
    """The adjoint of `_gather`: each gradient element added onto its source position.

    Dims are undone one at a time; along each, the unpadded middle is one slice copy and
    only the border positions need an indexed add.
    """
    k = len(pairs)
    for i in reversed(range(k)):
        axis = g.ndim - k + i
        n, (lo, hi) = shape[axis], pairs[i]
        out = np.zeros(g.shape[:axis] + (n,) + g.shape[axis + 1:], g.dtype)
        moved_out, moved_g = np.moveaxis(out, axis, 0), np.moveaxis(g, axis, 0)
        first, skip = max(-lo, 0), max(lo, 0)
        length = max(n - first - max(-hi, 0), 0)
        moved_out[first:first + length] = moved_g[skip:skip + length]
        src = _source(n, lo, hi, mode)
        border = np.r_[0:skip, skip + length:src.size]
        if border.size:
            np.add.at(moved_out, src[border], moved_g[border])
        g = out
    return g


class _GatherPad(Op):
    needs = ((),)
    forward = staticmethod(_gather)

    def backward(self, g):
        pairs, mode = self.args
        return _scatter_ops[type(self)](g, pairs, mode, self._shapes[0][0])


class ReflectionPad1DBackward0(_GatherPad):
    pass


class ReflectionPad2DBackward0(_GatherPad):
    pass


class ReflectionPad3DBackward0(_GatherPad):
    pass


class ReplicationPad1DBackward0(_GatherPad):
    pass


class ReplicationPad2DBackward0(_GatherPad):
    pass


class ReplicationPad3DBackward0(_GatherPad):
    pass


class CopySlices(_GatherPad):
    """Circular padding (PyTorch builds it from slice copies, hence the name)."""


class _ScatterPad(Op):
    needs = ((),)
    forward = staticmethod(_scatter_add)
    gather: type[_GatherPad] = _GatherPad

    def backward(self, gg):
        pairs, mode, _ = self.args
        return _gather_ops[self.gather](gg, pairs, mode)


_gather_ops: dict = {}
_scatter_ops: dict = {}
_BY_MODE: dict = {}
for _cls in (ReflectionPad1DBackward0, ReflectionPad2DBackward0, ReflectionPad3DBackward0,
             ReplicationPad1DBackward0, ReplicationPad2DBackward0, ReplicationPad3DBackward0,
             CopySlices):
    _name = _cls.__name__.replace("Backward0", "") + "BackwardBackward0"
    _back = type(_name, (_ScatterPad,), {"gather": _cls, "__module__": __name__})
    _gather_ops[_cls] = unary(_cls)
    _scatter_ops[_cls] = unary(_back)
for _k in (1, 2, 3):
    _BY_MODE["reflect", _k] = _gather_ops[globals()[f"ReflectionPad{_k}DBackward0"]]
    _BY_MODE["replicate", _k] = _gather_ops[globals()[f"ReplicationPad{_k}DBackward0"]]
    _BY_MODE["circular", _k] = _gather_ops[CopySlices]


# ----- checks and the public function ----------------------------------------------------

_AXES = "DHW"


def _check_border_mode(shape: tuple, pad: tuple, mode: str) -> None:
    k, ndim = len(pad) // 2, len(shape)
    if ndim not in (k + 1, k + 2):
        raise NotImplementedError(
            f"Padding size {len(pad)} is not supported for {ndim}D input tensor.")
    inner = shape[1:] if ndim == k + 2 else shape
    if mode == "circular":
        for i in range(k):
            lo, hi = pad[2 * i], pad[2 * i + 1]
            kept = shape[ndim - 1 - i] - max(-lo, 0) - max(-hi, 0)
            if lo > kept or hi > kept:
                raise RuntimeError("Padding value causes wrapping around more than once.")
        return
    if 0 in inner:
        raise RuntimeError(
            f"Expected {k + 1}D or {k + 2}D (batch mode) tensor with possibly 0 batch size and "
            f"other non-zero dimensions for input, but got: {list(shape)}")
    if mode == "reflect":
        for i in range(k):
            axis, lo, hi = ndim - 1 - i, pad[2 * i], pad[2 * i + 1]
            if lo >= shape[axis] or hi >= shape[axis]:
                raise RuntimeError(
                    f"Argument #{4 + 2 * i}: Padding size should be less than the corresponding "
                    f"input dimension, but got: padding ({lo}, {hi}) at dimension {axis} of "
                    f"input {list(shape)}")
    sizes = shape[ndim - k:]
    outs = [n + pad[2 * (k - 1 - j)] + pad[2 * (k - 1 - j) + 1] for j, n in enumerate(sizes)]
    if min(outs) < 1:
        names = _AXES[3 - k:]
        given = ", ".join(f"{a}: {n}" for a, n in zip(names, sizes))
        got = " ".join(f"{a}: {n}" for a, n in zip(names, outs))
        raise RuntimeError(f"input ({given}) is too small. Calculated output {got}")


def pad(input: Tensor, pad, mode: str = "constant", value: float | None = None) -> Tensor:
    """Pad `input` by `pad` = (left, right) pairs from the last dim backwards.

    mode: 'constant' (fill with `value`; negative pads crop), 'reflect' (mirror without
    the edge), 'replicate' (repeat the edge) or 'circular' (wrap around). The last three
    pad the last 1, 2 or 3 dims of a batched or unbatched input.
    """
    x = input if isinstance(input, Tensor) else to_tensor(input)
    shape = x._data.shape
    pad = tuple(int(p) for p in pad)
    if len(pad) % 2:
        raise RuntimeError("Padding length must be divisible by 2")
    if len(pad) // 2 > len(shape):
        raise RuntimeError(
            "Padding length should be less than or equal to two times the input dimension but "
            f"got padding length {len(pad)} and input of dimension {len(shape)}")
    if mode not in _MODES:
        raise NotImplementedError(f"Unrecognised padding mode {mode}")
    k = len(pad) // 2
    # (left, right) per padded dim, in dim order (the pad tuple runs from the last dim).
    pairs = tuple((pad[2 * i], pad[2 * i + 1]) for i in reversed(range(k)))
    if mode == "constant":
        full = ((0, 0),) * (len(shape) - k) + pairs
        return _constant(x, full, 0 if value is None else value)
    if value:
        raise RuntimeError(f'Padding mode "{mode}" doesn\'t take in value argument')
    _check_border_mode(shape, pad, mode)
    return _BY_MODE[mode, k](x, pairs, mode)
