"""Normalization and embedding: batch_norm, layer_norm, group_norm, embedding.

Each normalization is one node (`Native*NormBackward0`) over inputs (x, weight, bias). They
share one backward: with x reshaped to the "statistics shape" (stats taken over `axes`),
dx = invstd * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat)). The formula is written once
and runs on NumPy arrays (reductions by einsum: one pass, no temporaries) for a plain
backward, or on ember tensors when the backward itself is recorded (create_graph); then the
mean and invstd are recomputed from x, so double backward sees their dependence on x.
"""

from __future__ import annotations

import math
from typing import NamedTuple

from .._backend import np
from .._tensor import Size, Tensor
from ..autograd.grad_mode import _tracking
from ._define import Op, record, wrap

__all__ = ["batch_norm", "layer_norm", "group_norm", "embedding"]

_LETTERS = "abcdefghijklmnopqrstuvwxyz"


class NormGeometry(NamedTuple):
    """How a normalization views x: stats over `axes` of x.reshape(stat_shape); the affine
    parameters broadcast as `param_shape` and their gradients sum over `param_axes`."""

    stat_shape: tuple
    axes: tuple
    param_shape: tuple
    param_axes: tuple
    eps: float
    batch_stats: bool  # False when mean/invstd are fixed running stats (eval batch norm)


def _esum(axes: tuple, keepdims: bool, a, b=None):
    """sum(a * b) over `axes` in one einsum pass (b=None: sum(a))."""
    sub = _LETTERS[:a.ndim]
    kept = "".join(c for i, c in enumerate(sub) if i not in axes)
    out = np.einsum(f"{sub}->{kept}", a) if b is None else np.einsum(
        f"{sub},{sub}->{kept}", a, b)
    if keepdims:
        out = out.reshape(tuple(1 if i in axes else n for i, n in enumerate(a.shape)))
    return out


def _count(shape: tuple, axes: tuple) -> int:
    return math.prod(shape[i] for i in axes)


def _moments(xs, axes: tuple, eps: float):
    """(mean, biased variance, 1/sqrt(var + eps), xs - mean), kept dims over `axes`."""
    n = max(_count(xs.shape, axes), 1)
    mean = _esum(axes, True, xs) / n
    centered = xs - mean
    var = _esum(axes, True, centered, centered) / n
    return mean, var, 1.0 / np.sqrt(var + eps), centered


def _affine(centered, shape: tuple, geo: NormGeometry, invstd, w, b):
    """centered * invstd * w + b, in place on `centered`."""
    centered *= invstd
    out = centered.reshape(shape)
    if w is not None:
        out *= w.reshape(geo.param_shape)
    if b is not None:
        out += b.reshape(geo.param_shape)
    return out


def _norm_grads(g, xhat, inv, w, geo: NormGeometry, shape: tuple, need: tuple, smean, psum):
    """(dx, dweight, dbias) from xhat and invstd (stat shaped); on arrays or on tensors.

    smean(a[, b]) is mean(a * b) over the stat axes (kept); psum(a[, b]) is sum(a * b) over
    the parameter axes."""
    need_x, need_w, need_b = need
    gx = gw = gb = None
    if need_b:
        gb = psum(g)
    if need_w:
        gw = psum(g, xhat.reshape(shape))
    if need_x:
        gs = (g if w is None else g * w.reshape(geo.param_shape)).reshape(geo.stat_shape)
        if geo.batch_stats:
            gs = gs - smean(gs) - xhat * smean(gs, xhat)
        gx = (gs * inv).reshape(shape)
    return gx, gw, gb


class _NormBackward(Op):
    needs = ((0, 1), (0,), ())

    def backward(self, g):
        geo, mean, invstd = self.args
        need = self.needs_input_grad
        x, w, _, _ = self.saved_tensors if need[0] or need[1] else (None,) * 4
        shape = self._shapes[0][0]
        axes, paxes = geo.axes, geo.param_axes
        n = max(_count(geo.stat_shape, axes), 1)
        if not _tracking.get():
            xs = None if x is None else x._data.reshape(geo.stat_shape)
            xhat = None if xs is None else (xs - mean) * invstd
            grads = _norm_grads(
                g._data, xhat, invstd, None if w is None else w._data, geo, shape, need,
                lambda a, b=None: _esum(axes, True, a, b) / n,
                lambda a, b=None: _esum(paxes, False, a, b) if paxes else a if b is None
                else a * b)
            return tuple(None if a is None else wrap(a) for a in grads)
        xhat = inv = None
        if x is not None:
            xs = x.reshape(geo.stat_shape)
            if geo.batch_stats and x._requires_grad:
                centered = xs - xs.mean(axes, keepdim=True)
                inv = ((centered * centered).mean(axes, keepdim=True) + geo.eps).rsqrt()
                xhat = centered * inv
            else:
                inv = wrap(invstd)
                xhat = (xs - wrap(mean)) * inv
        return _norm_grads(
            g, xhat, inv, w, geo, shape, need,
            lambda a, b=None: (a if b is None else a * b).mean(axes, keepdim=True),
            lambda a, b=None: (a if b is None else a * b).sum(paxes) if paxes
            else a if b is None else a * b)


class NativeBatchNormBackward0(_NormBackward):
    pass


class NativeLayerNormBackward0(_NormBackward):
    pass


class NativeGroupNormBackward0(_NormBackward):
    pass


def _normalize(cls, x: Tensor, w, b, geo: NormGeometry, mean, invstd, centered) -> Tensor:
    wd = None if w is None else w._data
    bd = None if b is None else b._data
    out = _affine(centered, x._data.shape, geo, invstd, wd, bd)
    if _tracking.get() and (x._requires_grad or (w is not None and w._requires_grad)
                            or (b is not None and b._requires_grad)):
        return record(cls, out, (x, w, b), (geo, mean, invstd))
    return wrap(out)


def _check_param(name: str, t: Tensor | None, size: int) -> None:
    if t is not None and t._data.size != size:
        raise RuntimeError(f"{name} should contain {size} elements not {t._data.size}")


def _update(stat: Tensor, new, momentum: float) -> None:
    """stat = (1 - momentum) * stat + momentum * new, in place (a version bump)."""
    arr = stat._data
    np.copyto(arr, (1.0 - momentum) * arr + momentum * new.reshape(arr.shape), casting="unsafe")
    stat._bump_version()


def batch_norm(input: Tensor, running_mean: Tensor | None, running_var: Tensor | None,
               weight: Tensor | None = None, bias: Tensor | None = None,
               training: bool = False, momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """Normalize each channel (dim 1) of (N, C, *) input.

    Training uses the batch mean and biased variance, and updates the running stats in
    place (also under no_grad) with the unbiased variance; otherwise the running stats
    normalize and nothing changes.
    """
    x = input._data
    if x.ndim < 2:
        raise ValueError(f"expected 2D or more input (got {x.ndim}D input)")
    c = x.shape[1]
    for name, t in (("running_mean", running_mean), ("running_var", running_var),
                    ("weight", weight), ("bias", bias)):
        _check_param(name, t, c)
    axes = (0,) + tuple(range(2, x.ndim))
    pshape = (1, c) + (1,) * (x.ndim - 2)
    count = x.size // c if c else 0
    if training:
        if count == 1:
            raise ValueError("Expected more than 1 value per channel when training, got input "
                             f"size {Size(x.shape)!r}")
        mean, var, invstd, centered = _moments(x, axes, eps)
        if running_mean is not None:
            _update(running_mean, mean, momentum)
        if running_var is not None:
            _update(running_var, var * (count / max(count - 1, 1)), momentum)
    else:
        if running_mean is None or running_var is None:
            raise RuntimeError("running_mean and running_var must be defined in evaluation mode")
        # Copies: the buffers may change in place before this node's backward runs.
        mean = running_mean._data.reshape(pshape).astype(x.dtype)
        var = running_var._data.reshape(pshape).astype(x.dtype)
        invstd = 1.0 / np.sqrt(var + eps)
        centered = x - mean
    geo = NormGeometry(x.shape, axes, pshape, axes, eps, training)
    return _normalize(NativeBatchNormBackward0, input, weight, bias, geo, mean, invstd,
                      centered)


def layer_norm(input: Tensor, normalized_shape, weight: Tensor | None = None,
               bias: Tensor | None = None, eps: float = 1e-5) -> Tensor:
    """Normalize over the trailing `normalized_shape` dims of each sample."""
    norm = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    x = input._data
    k = len(norm)
    if k == 0 or x.ndim < k or x.shape[x.ndim - k:] != norm:
        raise RuntimeError(
            f"Given normalized_shape={list(norm)}, expected input with shape "
            f"[*, {', '.join(map(str, norm))}], but got input of size{list(x.shape)}")
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and tuple(t._data.shape) != norm:
            raise RuntimeError(
                f"Expected {name} to be of same shape as normalized_shape, but got {name} of "
                f"shape {list(t._data.shape)} and normalized_shape = {list(norm)}")
    axes = tuple(range(x.ndim - k, x.ndim))
    mean, _, invstd, centered = _moments(x, axes, eps)
    geo = NormGeometry(x.shape, axes, norm, tuple(range(x.ndim - k)), eps, True)
    return _normalize(NativeLayerNormBackward0, input, weight, bias, geo, mean, invstd,
                      centered)


def group_norm(input: Tensor, num_groups: int, weight: Tensor | None = None,
               bias: Tensor | None = None, eps: float = 1e-5) -> Tensor:
    """Normalize each group of `C / num_groups` channels of every sample of (N, C, *)."""
    x = input._data
    if x.ndim < 2:
        raise RuntimeError(f"Expected at least 2 dimensions for input tensor but received "
                           f"{x.ndim}")
    n, c = x.shape[:2]
    if c % num_groups:
        raise RuntimeError(
            "Expected number of channels in input to be divisible by num_groups, but got "
            f"input of shape {list(x.shape)} and num_groups={num_groups}")
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and t._data.size != c:
            raise RuntimeError(
                f"Expected {name} to be a vector of size equal to the number of channels in "
                f"input, but got {name} of shape {list(t._data.shape)} and input of shape "
                f"{list(x.shape)}")
    stat_shape = (n, num_groups, x.size // (n * num_groups) if n * num_groups else 0)
    mean, _, invstd, centered = _moments(x.reshape(stat_shape), (2,), eps)
    pshape = (1, c) + (1,) * (x.ndim - 2)
    geo = NormGeometry(stat_shape, (2,), pshape, (0,) + tuple(range(2, x.ndim)), eps, True)
    return _normalize(NativeGroupNormBackward0, input, weight, bias, geo, mean, invstd,
                      centered)


# ----- embedding -----------------------------------------------------------------------------


def _gather_rows(weight, idx, padding_idx, scale_freq: bool, masked: bool):
    out = weight[idx]
    if masked:
        if padding_idx is not None:
            out[idx == padding_idx] = 0
        if scale_freq:
            out /= _counts(idx)[..., None].astype(out.dtype)
    return out


def _counts(idx):
    """How often each entry's index occurs in the whole index array."""
    uniq, inverse, counts = np.unique(idx.ravel(), return_inverse=True, return_counts=True)
    return counts[inverse].reshape(idx.shape)


def _scatter_rows(g, idx, num_rows: int, padding_idx, scale_freq: bool):
    """Sum the rows of g into a (num_rows, D) gradient at idx (sort, then segment sums)."""
    d = g.shape[-1]
    flat = idx.ravel()
    rows = g.reshape(-1, d)
    if scale_freq:
        rows = rows / _counts(flat)[:, None].astype(rows.dtype)
    if padding_idx is not None:
        keep = flat != padding_idx
        flat, rows = flat[keep], rows[keep]
    out = np.zeros((num_rows, d), dtype=g.dtype)
    if flat.size:
        order = np.argsort(flat, kind="stable")
        sorted_idx = flat[order]
        starts = np.flatnonzero(np.r_[True, sorted_idx[1:] != sorted_idx[:-1]])
        out[sorted_idx[starts]] = np.add.reduceat(rows[order], starts, axis=0)
    return out


class EmbeddingBackward0(Op):
    """Row lookup weight[idx]; `masked` (its use in double backward) zeroes padding rows
    and applies the frequency scaling, as the adjoint of the weight gradient."""

    needs = ((),)
    forward = staticmethod(_gather_rows)

    def backward(self, g):
        idx, padding_idx, scale_freq, _ = self.args
        return _rows_op(EmbeddingDenseBackwardBackward0, g, idx, self._shapes[0][0][0],
                        padding_idx, scale_freq)


class EmbeddingDenseBackwardBackward0(Op):
    """The weight gradient of embedding: a scatter-add of rows."""

    needs = ((),)
    forward = staticmethod(_scatter_rows)

    def backward(self, g):
        idx, _, padding_idx, scale_freq = self.args
        return _rows_op(EmbeddingBackward0, g, idx, padding_idx, scale_freq, True)


def _rows_op(cls, t: Tensor, *args) -> Tensor:
    out = cls.forward(t._data, *args)
    if t._requires_grad and _tracking.get():
        return record(cls, out, (t,), args)
    return wrap(out)


def _renorm_rows(weight: Tensor, idx, max_norm: float, norm_type: float) -> None:
    """Scale the looked-up rows whose norm exceeds max_norm down to it, in place."""
    rows = np.unique(idx)
    w = weight._data
    norms = np.linalg.norm(w[rows].astype(np.float64), ord=norm_type, axis=1)
    big = norms > max_norm
    if big.any():
        scale = max_norm / (norms[big] + 1e-7)
        w[rows[big]] *= scale[:, None].astype(w.dtype)
        weight._bump_version()


def embedding(input: Tensor, weight: Tensor, padding_idx: int | None = None,
              max_norm: float | None = None, norm_type: float = 2.0,
              scale_grad_by_freq: bool = False, sparse: bool = False) -> Tensor:
    """Rows of `weight` at the integer indices `input`; output shape input.shape + (D,)."""
    idx = input._data if isinstance(input, Tensor) else np.asarray(input)
    if idx.dtype.kind not in "iu":
        name = {"f": "Float", "b": "Bool"}.get(idx.dtype.kind, idx.dtype.name)
        if idx.dtype == np.float64:
            name = "Double"
        raise RuntimeError(
            "Expected tensor for argument #1 'indices' to have one of the following scalar "
            f"types: Long, Int; but got ember.{name}Tensor instead (while checking arguments "
            "for embedding)")
    if weight._data.ndim != 2:
        raise RuntimeError("'weight' must be 2-D")
    if sparse:
        raise RuntimeError("ember has no sparse tensors: use embedding(..., sparse=False)")
    num = weight._data.shape[0]
    if padding_idx is not None:
        if not -num <= padding_idx < num:
            raise AssertionError("Padding_idx must be within num_embeddings")
        padding_idx %= num
    if idx.size and (idx.min() < 0 or idx.max() >= num):
        raise IndexError("index out of range in self")
    if max_norm is not None and idx.size:
        _renorm_rows(weight, idx, float(max_norm), float(norm_type))
    return _rows_op(EmbeddingBackward0, weight, idx, padding_idx, bool(scale_grad_by_freq),
                    False)
