"""Fused gates of the LSTM and GRU cells: one node per time step.

Each op takes the two projections of a step, gx = x @ W_ih.T + b_ih and
gh = h @ W_hh.T + b_hh (PyTorch's gate order: LSTM i, f, g, o; GRU r, z, n), and the
previous cell state (LSTM) or hidden state (GRU). The forward keeps the gate activations,
so a plain backward is a handful of NumPy expressions. When the backward is itself
recorded (create_graph), the activations are recomputed from the saved inputs with ember
ops, so that higher derivatives see their dependence on the inputs. The gradient formulas
are written once and run on arrays or on tensors alike.
"""

from __future__ import annotations

from functools import lru_cache

from .._backend import np
from .._tensor import Tensor, _make
from ..autograd.grad_mode import _tracking
from . import elementwise as ew
from . import shape
from ._define import Op, record, wrap

__all__ = ["lstm_gates", "gru_gates"]


def _sigmoid_(a) -> None:
    """sigmoid in place, as 0.5 * tanh(a / 2) + 0.5: one transcendental, no overflow."""
    a *= 0.5
    np.tanh(a, out=a)
    a *= 0.5
    a += 0.5


def _np_cat(parts: list):
    return np.concatenate(parts, axis=-1)


def _ember_cat(parts: list):
    return shape.cat(parts, -1)


# ----- LSTM -----------------------------------------------------------------------------
@lru_cache(maxsize=64)
def _lstm_affine(n: int, dtype: np.dtype) -> tuple:
    """(scale, shift) with act = scale * tanh(scale * z) + shift giving sigmoid for the
    i, f, o gates and tanh for g: one tanh over the whole contiguous block."""
    scale = np.full(4 * n, 0.5, dtype)
    scale[2 * n: 3 * n] = 1
    shift = np.full(4 * n, 0.5, dtype)
    shift[2 * n: 3 * n] = 0
    return scale, shift


def _lstm_forward(gx, gh, c):
    """(h', c', activations [i f g o], tanh(c'))."""
    n = c.shape[-1]
    scale, shift = _lstm_affine(n, gx.dtype)
    act = gx + gh
    act *= scale
    np.tanh(act, out=act)
    act *= scale
    act += shift
    i, f, g, o = (act[..., k * n: (k + 1) * n] for k in range(4))
    c_new = f * c
    c_new += i * g
    tc = np.tanh(c_new)
    return o * tc, c_new, act, tc


def _lstm_grads(dh, dc, i, f, g, o, tc, c, cat):
    """(d gates, d c) from the gradients of h' and c'."""
    dc = dh * o * (1 - tc * tc) + dc
    gates = cat([dc * g * i * (1 - i), dc * c * f * (1 - f), dc * i * (1 - g * g),
                 dh * tc * o * (1 - o)])
    return gates, dc * f


class ThnnFusedLstmCellBackward0(Op):
    """(h', c') of an LSTM step from (gx, gh, c); backward gives (d gx, d gh, d c)."""

    needs = ((0, 1, 2),) * 3
    num_outputs = 2

    def backward(self, dh, dc):
        act, tc = self.args
        gx, gh, c, _ = self.saved_tensors
        if not _tracking.get():
            n = tc.shape[-1]
            gates, gc = _lstm_grads(
                dh._data, dc._data, *(act[..., k * n: (k + 1) * n] for k in range(4)), tc,
                c._data, _np_cat)
            gates = wrap(gates)
            return gates, gates, wrap(gc)
        n = c.shape[-1]
        z = gx + gh
        i, f, o = (ew.sigmoid(z[..., k * n: (k + 1) * n]) for k in (0, 1, 3))
        g = ew.tanh(z[..., 2 * n: 3 * n])
        tc = ew.tanh(f * c + i * g)
        gates, gc = _lstm_grads(dh, dc, i, f, g, o, tc, c, _ember_cat)
        return gates, gates, gc


def lstm_gates(gx: Tensor, gh: Tensor, c: Tensor) -> tuple[Tensor, Tensor]:
    """One LSTM step from its projections: c' = f*c + i*g, h' = o*tanh(c')."""
    h_new, c_new, act, tc = _lstm_forward(gx._data, gh._data, c._data)
    if _tracking.get() and (gx._requires_grad or gh._requires_grad or c._requires_grad):
        h_t = record(ThnnFusedLstmCellBackward0, h_new, (gx, gh, c), (act, tc))
        node = h_t._grad_fn
        meta = (h_new.shape, h_new.dtype)
        node._out_meta = (meta, meta)
        c_t = _make(c_new, True, node)
        c_t._output_nr = 1
        return h_t, c_t
    return wrap(h_new), wrap(c_new)


# ----- GRU ------------------------------------------------------------------------------
def _gru_forward(gx, gh, h):
    """(h', activations [r z n])."""
    n = h.shape[-1]
    act = np.add(gx[..., : 2 * n], gh[..., : 2 * n])
    _sigmoid_(act)
    cand = act[..., :n] * gh[..., 2 * n:]
    cand += gx[..., 2 * n:]
    np.tanh(cand, out=cand)
    z = act[..., n:]
    h_new = h - cand
    h_new *= z
    h_new += cand
    return h_new, np.concatenate([act, cand], axis=-1)


def _gru_grads(dh, r, z, n, h, ghn, cat):
    """(d gx, d gh, d h) from the gradient of h' = (1 - z) * n + z * h."""
    dn = dh * (1 - z) * (1 - n * n)
    dz = dh * (h - n) * z * (1 - z)
    dr = dn * ghn * r * (1 - r)
    return cat([dr, dz, dn]), cat([dr, dz, dn * r]), dh * z


class ThnnFusedGruCellBackward0(Op):
    """h' of a GRU step from (gx, gh, h); backward gives (d gx, d gh, d h)."""

    needs = ((0, 1, 2),) * 3

    def backward(self, dh):
        gx, gh, h, _ = self.saved_tensors
        n = h.shape[-1]
        if not _tracking.get():
            act = self.args[0]
            grads = _gru_grads(dh._data, *(act[..., k * n: (k + 1) * n] for k in range(3)),
                               h._data, gh._data[..., 2 * n:], _np_cat)
            return tuple(wrap(a) for a in grads)
        ghn = gh[..., 2 * n:]
        r, z = (ew.sigmoid(gx[..., k * n: (k + 1) * n] + gh[..., k * n: (k + 1) * n])
                for k in (0, 1))
        cand = ew.tanh(gx[..., 2 * n:] + r * ghn)
        return _gru_grads(dh, r, z, cand, h, ghn, _ember_cat)


def gru_gates(gx: Tensor, gh: Tensor, h: Tensor) -> Tensor:
    """One GRU step from its projections: n = tanh(gx_n + r * gh_n), h' = (1-z)*n + z*h."""
    h_new, act = _gru_forward(gx._data, gh._data, h._data)
    if _tracking.get() and (gx._requires_grad or gh._requires_grad or h._requires_grad):
        return record(ThnnFusedGruCellBackward0, h_new, (gx, gh, h), (act,))
    return wrap(h_new)
