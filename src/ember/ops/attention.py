"""Attention: `scaled_dot_product_attention` as one node, and the multi-head attention
that `nn.MultiheadAttention` runs (`multi_head_attention_forward`), composed of ops.

The fused node keeps q, k, v, the (float) mask, the attention probabilities P and the
dropout mask. A plain backward is NumPy on those arrays:
    dV = Pd^T g,  dPd = g V^T,  dS = P * (dP - rowsum(dP * P)),  dQ = s dS K,  dK = s dS^T Q
(Pd = P * dropout scale, dP = dPd * dropout scale). When the backward is itself recorded
(create_graph) P is rebuilt from q, k and the mask with ember ops and the same formulas run
on tensors, so double backward sees every dependence.

Rows whose every score is masked (-inf) give zeros, not NaN, as PyTorch's SDPA does; the
explicit path of multi-head attention with `need_weights=True` uses a plain softmax there
(NaN), as PyTorch does too.
"""

from __future__ import annotations

import math
import warnings

from .._backend import np
from .._creation import default_generator, zeros
from .._tensor import Tensor
from ..autograd.grad_mode import _tracking
from . import activation as _act
from . import elementwise as _ew
from . import reduction as _red
from . import shape as _shape
from ._define import Op, record, wrap
from ._write import C_NAMES
from .linalg import linear, matmul

__all__ = ["scaled_dot_product_attention", "multi_head_attention_forward"]

_NEG_INF = float("-inf")


# ----- the fused node -------------------------------------------------------------------

def _keep_mask(shape: tuple, p: float):
    """The kept positions of dropout with probability p, drawn from ember's generator."""
    return default_generator._rng.random(shape, dtype=np.float32) >= np.float32(p)


def _dropout_scale(keep, p: float, dtype):
    """keep / (1 - p) as `dtype` (all zeros when p == 1)."""
    return np.multiply(keep, 0.0 if p >= 1.0 else 1.0 / (1.0 - p), dtype=dtype)


def _swap(a):
    return np.swapaxes(a, -1, -2)


def _probabilities(q, k, bias, allow, scale: float):
    """softmax(scale * q k^T + bias, masked by `allow`) over the last dim; fully masked
    rows are zeros."""
    s = np.matmul(q * q.dtype.type(scale), _swap(k))
    if bias is not None:
        if np.broadcast_shapes(s.shape, bias.shape) == s.shape:
            s += bias
        else:
            s = (s + bias).astype(q.dtype, copy=False)
    if allow is not None:
        if np.broadcast_shapes(s.shape, allow.shape) == s.shape:
            np.copyto(s, _NEG_INF, where=~allow)
        else:
            s = np.where(allow, s, q.dtype.type(_NEG_INF))
    top = s.max(-1, keepdims=True, initial=_NEG_INF)
    dead = top == _NEG_INF
    any_dead = dead.any()
    if any_dead:
        top[dead] = 0
    s -= top
    np.exp(s, out=s)
    total = s.sum(-1, keepdims=True)
    if any_dead:
        total[dead] = 1
    s /= total
    return s


class ScaledDotProductFlashAttentionForCpuBackward0(Op):
    """softmax(scale * q k^T + mask) v with dropout on the probabilities, as one node
    (PyTorch's CPU name for it). Inputs (query, key, value, float mask or None);
    args (scale, allowed-positions bool array or None, dropout p); it also keeps the
    probabilities and the dropout mask (after the usual saved layout)."""

    needs = ((0, 1, 2, 3),) * 4

    @property
    def _saved_arrays(self):
        saved = self._saved
        return () if saved is None else tuple(a for a in saved[5:] if a is not None)

    def backward(self, g):
        q, k, v, bias, _, probs, keep = self.saved_tensors
        scale, allow, p = self.args
        need_q, need_k, need_v, need_b = self.needs_input_grad
        if _tracking.get():
            return _tracked_grads(g, q, k, v, bias, allow, scale, p, keep,
                                  self.needs_input_grad)
        qd, kd, vd, gd = q._data, k._data, v._data, g._data
        drop = None if keep is None else _dropout_scale(keep, p, probs.dtype)
        gq = gk = gv = gb = None
        if need_v:
            gv = wrap(np.matmul(_swap(probs if drop is None else probs * drop), gd))
        if need_q or need_k or need_b:
            ds = np.matmul(gd, _swap(vd))
            if drop is not None:
                ds *= drop
            ds -= np.einsum("...j,...j->...", ds, probs)[..., None]
            ds *= probs
            if need_q:
                gq = wrap(np.matmul(ds, kd) * qd.dtype.type(scale))
            if need_k:
                gk = wrap(np.matmul(_swap(ds), qd) * qd.dtype.type(scale))
            if need_b:
                gb = wrap(ds)
        return gq, gk, gv, gb


def _tracked_grads(g, q, k, v, bias, allow, scale, p, keep, need):
    """The gradients written with ember ops (P rebuilt from the inputs): differentiable."""
    s = matmul(q * scale, k.mT)
    if bias is not None:
        s = s + bias
    if allow is not None:
        s = _ew.where(wrap(allow), s, _NEG_INF)
    dead = s._data.max(-1, keepdims=True, initial=_NEG_INF) == _NEG_INF
    if dead.any():
        s = _ew.where(wrap(dead), 0.0, s)
    probs = _red.softmax(s, -1)
    if dead.any():
        probs = _ew.where(wrap(dead), 0.0, probs)
    drop = None if keep is None else wrap(_dropout_scale(keep, p, probs._data.dtype))
    gq = gk = gv = gb = None
    if need[2]:
        gv = (probs if drop is None else probs * drop).mT @ g
    if need[0] or need[1] or need[3]:
        dp = g @ v.mT
        if drop is not None:
            dp = dp * drop
        ds = probs * (dp - (dp * probs).sum(-1, keepdim=True))
        if need[0]:
            gq = (ds @ k) * scale
        if need[1]:
            gk = (ds.mT @ q) * scale
        if need[3]:
            gb = ds
    return gq, gk, gv, gb


def _attention(q: Tensor, k: Tensor, v: Tensor, bias: Tensor | None, allow, scale: float,
               p: float) -> Tensor:
    qd = q._data
    bd = None if bias is None else bias._data
    probs = _probabilities(qd, k._data, bd, allow, scale)
    keep = None
    if p > 0.0:
        keep = _keep_mask(probs.shape, p)
        out = np.matmul(probs * _dropout_scale(keep, p, probs.dtype), v._data)
    else:
        out = np.matmul(probs, v._data)
    inputs = (q, k, v, bias)
    if _tracking.get() and any(t is not None and t._requires_grad for t in inputs):
        t = record(ScaledDotProductFlashAttentionForCpuBackward0, out, inputs,
                   (scale, allow, p))
        node = t._grad_fn
        node._saved = node._saved + (probs, keep)
        return t
    return wrap(out)


# ----- checks ---------------------------------------------------------------------------

def _broadcast(a: tuple, b: tuple) -> tuple:
    """The broadcast of two shapes, with PyTorch's error when they do not broadcast."""
    n = max(len(a), len(b))
    a, b = (1,) * (n - len(a)) + tuple(a), (1,) * (n - len(b)) + tuple(b)
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y and x != 1 and y != 1:
            raise RuntimeError(f"The size of tensor a ({x}) must match the size of tensor b "
                               f"({y}) at non-singleton dimension {i}")
    return tuple(max(x, y) if x and y else 0 for x, y in zip(a, b))


def _check_sdpa(q: Tensor, k: Tensor, v: Tensor, attn_mask, dropout_p: float,
                is_causal: bool) -> None:
    qd, kd, vd = q._data, k._data, v._data
    if min(qd.ndim, kd.ndim, vd.ndim) < 2:
        raise RuntimeError(
            "Expected query, key, and value to all be  at least 2 dimensional, but got "
            f"query.dim: {qd.ndim} key.dim: {kd.ndim} and value.dim: {vd.ndim} instead.")
    if not qd.dtype == kd.dtype == vd.dtype:
        raise RuntimeError(
            "Expected query, key, and value to have the same dtype, but got query.dtype: "
            f"{C_NAMES.get(qd.dtype.name, qd.dtype.name)} key.dtype: "
            f"{C_NAMES.get(kd.dtype.name, kd.dtype.name)} and value.dtype: "
            f"{C_NAMES.get(vd.dtype.name, vd.dtype.name)} instead.")
    if qd.dtype.kind != "f":
        raise RuntimeError("scaled_dot_product_attention expects floating point query, key and "
                           f"value, but got {C_NAMES.get(qd.dtype.name, qd.dtype.name)}")
    if qd.shape[-1] != kd.shape[-1]:
        raise RuntimeError(
            "Expected query and key to have the same embedding size (last dim), but got "
            f"query of shape {list(qd.shape)} and key of shape {list(kd.shape)}")
    if kd.shape[-2] != vd.shape[-2]:
        raise RuntimeError(
            "Expected key and value to have the same sequence length (dim -2), but got key "
            f"of shape {list(kd.shape)} and value of shape {list(vd.shape)}")
    if attn_mask is not None:
        md = attn_mask._data
        if md.dtype != np.bool_ and md.dtype.kind != "f":
            raise RuntimeError(
                "Expected attn_mask dtype to be bool or float or to match query dtype, but got "
                f"attn_mask.dtype: {C_NAMES.get(md.dtype.name, md.dtype.name)} and  "
                f"query.dtype: {C_NAMES.get(qd.dtype.name, qd.dtype.name)} instead.")
        if is_causal:
            raise RuntimeError("_scaled_dot_product_attention: Explicit attn_mask should not "
                               "be set when is_causal=True")
    if not 0.0 <= dropout_p <= 1.0:
        raise RuntimeError(f"dropout probability has to be between 0 and 1, but got {dropout_p}")


def _group_heads(q: Tensor, k: Tensor, v: Tensor, mask):
    """Grouped-query attention: query heads (dim -3) as (kv heads, group), key and value
    with a size-1 group dim, so each key head serves `group` consecutive query heads."""
    if min(q._data.ndim, k._data.ndim, v._data.ndim) < 3:
        return q, k, v, mask
    hq, hk, hv = q._data.shape[-3], k._data.shape[-3], v._data.shape[-3]
    if hk != hv or hq % hk:
        raise RuntimeError(
            "Number of heads in key and value must divide the number of heads in query, but "
            f"got {hq} query heads, {hk} key heads and {hv} value heads")
    if hq == hk:
        return q, k, v, mask
    q = _shape.unflatten(q, -3, (hk, hq // hk))
    k, v = _shape.unsqueeze(k, -3), _shape.unsqueeze(v, -3)
    if mask is not None and mask._data.ndim >= 3:
        if mask._data.shape[-3] == hq:
            mask = _shape.unflatten(mask, -3, (hk, hq // hk))
        else:
            mask = _shape.unsqueeze(mask, -3)
    return q, k, v, mask


def scaled_dot_product_attention(query: Tensor, key: Tensor, value: Tensor,
                                 attn_mask: Tensor | None = None, dropout_p: float = 0.0,
                                 is_causal: bool = False, scale: float | None = None,
                                 enable_gqa: bool = False) -> Tensor:
    """softmax(query @ key^T * scale + mask) @ value over the last two dims.

    `attn_mask` is bool (True: the position takes part) or float (added to the scores),
    broadcastable to (..., L, S); `is_causal` masks the positions above the diagonal
    (top-left aligned). Dropout with probability `dropout_p` applies whenever it is > 0
    (pass 0.0 in eval). `scale` defaults to 1/sqrt(E).
    """
    _check_sdpa(query, key, value, attn_mask, dropout_p, is_causal)
    grouped = enable_gqa and min(query.ndim, key.ndim, value.ndim) >= 3 and (
        query._data.shape[-3] != key._data.shape[-3])
    if enable_gqa:
        query, key, value, attn_mask = _group_heads(query, key, value, attn_mask)
    qd, kd, vd = query._data, key._data, value._data
    batch = _broadcast(_broadcast(qd.shape[:-2], kd.shape[:-2]), vd.shape[:-2])
    length, source = qd.shape[-2], kd.shape[-2]
    allow = bias = None
    if is_causal:
        allow = np.tri(length, source, dtype=np.bool_)
    elif attn_mask is not None:
        _broadcast(batch + (length, source), attn_mask._data.shape)
        if attn_mask._data.dtype == np.bool_:
            allow = attn_mask._data
        else:
            bias = attn_mask
    if scale is None:
        scale = 1.0 / math.sqrt(qd.shape[-1]) if qd.shape[-1] else 1.0
    out = _attention(query, key, value, bias, allow, float(scale), float(dropout_p))
    if grouped:
        out = _shape.flatten(out, -4, -3)
    return out


# ----- multi-head attention -------------------------------------------------------------

def _canonical_mask(mask: Tensor | None, name: str, dtype, other: Tensor | None = None,
                    other_name: str = "", check_other: bool = True) -> Tensor | None:
    """A bool mask (True: masked out) as a float mask of `dtype` (-inf where True); float
    masks pass through."""
    if mask is None:
        return None
    md = mask._data
    if md.dtype != np.bool_ and md.dtype.kind != "f":
        raise AssertionError(f"only bool and floating types of {name} are supported")
    if check_other and other is not None and other._data.dtype != md.dtype:
        warnings.warn(f"Support for mismatched {name} and {other_name} is deprecated. Use "
                      "same type for both instead.", UserWarning, stacklevel=4)
    if md.dtype == np.bool_:
        out = np.zeros(md.shape, dtype)
        out[md] = _NEG_INF
        return wrap(out)
    return mask


def _shape_check(query: Tensor, key: Tensor, value: Tensor, key_padding_mask, attn_mask,
                 num_heads: int) -> bool:
    """Check the input dims; True when the input is batched (3-D query)."""
    qn, kn, vn = query._data.ndim, key._data.ndim, value._data.ndim
    if qn == 3:
        if kn != 3 or vn != 3:
            raise AssertionError("For batched (3-D) `query`, expected `key` and `value` to be "
                                 f"3-D but found {kn}-D and {vn}-D tensors respectively")
        if key_padding_mask is not None and key_padding_mask.ndim != 2:
            raise AssertionError(
                "For batched (3-D) `query`, expected `key_padding_mask` to be `None` or 2-D "
                f"but found {key_padding_mask.ndim}-D tensor instead")
        if attn_mask is not None and attn_mask.ndim not in (2, 3):
            raise AssertionError(
                "For batched (3-D) `query`, expected `attn_mask` to be `None`, 2-D or 3-D "
                f"but found {attn_mask.ndim}-D tensor instead")
        return True
    if qn == 2:
        if kn != 2 or vn != 2:
            raise AssertionError("For unbatched (2-D) `query`, expected `key` and `value` to "
                                 f"be 2-D but found {kn}-D and {vn}-D tensors respectively")
        if key_padding_mask is not None and key_padding_mask.ndim != 1:
            raise AssertionError(
                "For unbatched (2-D) `query`, expected `key_padding_mask` to be `None` or 1-D "
                f"but found {key_padding_mask.ndim}-D tensor instead")
        if attn_mask is not None:
            if attn_mask.ndim not in (2, 3):
                raise AssertionError(
                    "For unbatched (2-D) `query`, expected `attn_mask` to be `None`, 2-D or "
                    f"3-D but found {attn_mask.ndim}-D tensor instead")
            want = (num_heads, query._data.shape[0], key._data.shape[0])
            if attn_mask.ndim == 3 and attn_mask._data.shape != want:
                raise AssertionError(f"Expected `attn_mask` shape to be {want} but got "
                                     f"{attn_mask.shape}")
        return False
    raise AssertionError(
        f"query should be unbatched 2D or batched 3D tensor but received {qn}-D query tensor")


def _project(query: Tensor, key: Tensor, value: Tensor, w_q, w_k, w_v, b) -> tuple:
    """The in-projections; self-attention with one packed weight is a single product."""
    if w_k is None:
        if query is key and key is value:
            return _shape.chunk(linear(query, w_q, b), 3, -1)
        w_q, w_k, w_v = _shape.chunk(w_q, 3)
    bq = bk = bv = None
    if b is not None:
        bq, bk, bv = _shape.chunk(b, 3)
    return linear(query, w_q, bq), linear(key, w_k, bk), linear(value, w_v, bv)


def _pad_column(mask: Tensor | None) -> Tensor | None:
    """A zero (attend) column appended to a float mask's last dim."""
    if mask is None:
        return None
    col = zeros(*mask._data.shape[:-1], 1, dtype=mask.dtype)
    return _shape.cat([mask, col], -1)


def _heads(x: Tensor, length: int, bsz: int, num_heads: int) -> Tensor:
    """(length, bsz, E) -> (bsz, heads, length, head_dim), a view."""
    return x.reshape(length, bsz, num_heads, -1).permute(1, 2, 0, 3)


def _static(t: Tensor, name: str, bsz: int, num_heads: int, head_dim: int) -> Tensor:
    shape = t._data.shape
    if shape[0] != bsz * num_heads:
        raise AssertionError(
            f"expecting {name}.size(0) of {bsz * num_heads}, but got {shape[0]}")
    if shape[2] != head_dim:
        raise AssertionError(f"expecting {name}.size(2) of {head_dim}, but got {shape[2]}")
    return t.reshape(bsz, num_heads, shape[1], head_dim)


def _dropout(x: Tensor, p: float) -> Tensor:
    if p <= 0.0:
        return x
    return _act.native_dropout(x, _dropout_scale(_keep_mask(x._data.shape, p), p,
                                                 x._data.dtype))


def multi_head_attention_forward(
        query: Tensor, key: Tensor, value: Tensor, embed_dim_to_check: int, num_heads: int,
        in_proj_weight: Tensor | None, in_proj_bias: Tensor | None, bias_k: Tensor | None,
        bias_v: Tensor | None, add_zero_attn: bool, dropout_p: float,
        out_proj_weight: Tensor, out_proj_bias: Tensor | None, training: bool = True,
        key_padding_mask: Tensor | None = None, need_weights: bool = True,
        attn_mask: Tensor | None = None, use_separate_proj_weight: bool = False,
        q_proj_weight: Tensor | None = None, k_proj_weight: Tensor | None = None,
        v_proj_weight: Tensor | None = None, static_k: Tensor | None = None,
        static_v: Tensor | None = None, average_attn_weights: bool = True,
        is_causal: bool = False) -> tuple[Tensor, Tensor | None]:
    """Multi-head attention on sequence-first input (L, N, E) or unbatched (L, E).

    Returns (output, weights): weights are (N, L, S) averaged over heads, (N, H, L, S)
    per head, or None when `need_weights` is False (then the fused attention runs).
    Masks: `key_padding_mask` (N, S) and `attn_mask` (L, S) or (N*H, L, S), bool (True:
    masked out) or float (added to the scores).
    """
    batched = _shape_check(query, key, value, key_padding_mask, attn_mask, num_heads)
    if not batched:
        query, key, value = (_shape.unsqueeze(t, 1) for t in (query, key, value))
        if key_padding_mask is not None:
            key_padding_mask = _shape.unsqueeze(key_padding_mask, 0)
    tgt_len, bsz, embed_dim = query._data.shape
    src_len = key._data.shape[0]
    dtype = query._data.dtype
    key_padding_mask = _canonical_mask(key_padding_mask, "key_padding_mask", dtype, attn_mask,
                                       "attn_mask")
    if is_causal and attn_mask is None:
        raise RuntimeError(
            "Need attn_mask if specifying the is_causal hint. You may use the Transformer "
            "module method `generate_square_subsequent_mask` to create this mask.")
    if is_causal and key_padding_mask is None and not need_weights:
        attn_mask = None  # the fused attention applies the causal mask itself
    else:
        attn_mask = _canonical_mask(attn_mask, "attn_mask", dtype, check_other=False)
        if key_padding_mask is not None:
            is_causal = False
    if embed_dim != embed_dim_to_check:
        raise AssertionError(
            f"was expecting embedding dimension of {embed_dim_to_check}, but got {embed_dim}")
    head_dim = embed_dim // num_heads
    if head_dim * num_heads != embed_dim:
        raise AssertionError(f"embed_dim {embed_dim} not divisible by num_heads {num_heads}")
    if use_separate_proj_weight:
        if key._data.shape[:2] != value._data.shape[:2]:
            raise AssertionError(f"key's sequence and batch dims {key.shape[:2]} do not match "
                                 f"value's {value.shape[:2]}")
    elif key._data.shape != value._data.shape:
        raise AssertionError(f"key shape {key.shape} does not match value shape {value.shape}")
    if key._data.shape[1] != bsz:
        raise RuntimeError(f"Expected query, key and value to have the same batch size, but "
                           f"got query of shape {list(query.shape)} and key of shape "
                           f"{list(key.shape)}")
    if use_separate_proj_weight:
        q, k, v = _project(query, key, value, q_proj_weight, k_proj_weight, v_proj_weight,
                           in_proj_bias)
    else:
        q, k, v = _project(query, key, value, in_proj_weight, None, None, in_proj_bias)

    if attn_mask is not None:
        if attn_mask.ndim == 2:
            if attn_mask._data.shape != (tgt_len, src_len):
                raise RuntimeError(f"The shape of the 2D attn_mask is {attn_mask.shape}, but "
                                   f"should be {(tgt_len, src_len)}.")
            attn_mask = _shape.unsqueeze(attn_mask, 0)
        elif attn_mask.ndim == 3:
            if attn_mask._data.shape != (bsz * num_heads, tgt_len, src_len):
                raise RuntimeError(f"The shape of the 3D attn_mask is {attn_mask.shape}, but "
                                   f"should be {(bsz * num_heads, tgt_len, src_len)}.")
        else:
            raise RuntimeError(f"attn_mask's dimension {attn_mask.ndim} is not supported")

    if bias_k is not None and bias_v is not None:
        if static_k is not None or static_v is not None:
            raise AssertionError("bias cannot be added to static key or value.")
        k = _shape.cat([k, bias_k.expand(1, bsz, embed_dim)])
        v = _shape.cat([v, bias_v.expand(1, bsz, embed_dim)])
        attn_mask = _pad_column(attn_mask)
        key_padding_mask = _pad_column(key_padding_mask)
    elif bias_k is not None or bias_v is not None:
        raise AssertionError("bias_k and bias_v must both be given or both be None")

    q = _heads(q, tgt_len, bsz, num_heads)
    k = _heads(k, k._data.shape[0], bsz, num_heads) if static_k is None else _static(
        static_k, "static_k", bsz, num_heads, head_dim)
    v = _heads(v, v._data.shape[0], bsz, num_heads) if static_v is None else _static(
        static_v, "static_v", bsz, num_heads, head_dim)
    if add_zero_attn:
        k = _shape.cat([k, zeros(bsz, num_heads, 1, head_dim, dtype=k.dtype)], 2)
        v = _shape.cat([v, zeros(bsz, num_heads, 1, head_dim, dtype=v.dtype)], 2)
        attn_mask = _pad_column(attn_mask)
        key_padding_mask = _pad_column(key_padding_mask)
    src_len = k._data.shape[2]

    # Masks broadcast as (N or 1, H or 1, L, S) rather than being expanded per head.
    if attn_mask is not None:
        first = attn_mask._data.shape[0]
        attn_mask = attn_mask.reshape(1 if first == 1 else bsz, 1 if first == 1 else num_heads,
                                      tgt_len, src_len)
    if key_padding_mask is not None:
        if key_padding_mask._data.shape != (bsz, src_len):
            raise AssertionError(f"Expected key_padded_mask.shape[1] to be {src_len}, but got "
                                 f"{key_padding_mask._data.shape[-1]}")
        kpm = key_padding_mask.reshape(bsz, 1, 1, src_len)
        attn_mask = kpm if attn_mask is None else attn_mask + kpm
    if not training:
        dropout_p = 0.0

    if need_weights:
        scores = matmul(q * math.sqrt(1.0 / head_dim), k.mT)
        if attn_mask is not None:
            scores = scores + attn_mask
        weights = _dropout(_red.softmax(scores, -1), dropout_p)
        out = matmul(weights, v)
    else:
        out = scaled_dot_product_attention(q, k, v, attn_mask, dropout_p, is_causal)
        weights = None
    out = out.permute(2, 0, 1, 3).reshape(tgt_len, bsz, embed_dim)
    out = linear(out, out_proj_weight, out_proj_bias)
    if weights is not None and average_attn_weights:
        weights = weights.mean(1)
    if not batched:
        out = _shape.squeeze(out, 1)
        if weights is not None:
            weights = _shape.squeeze(weights, 0)
    return out, weights
