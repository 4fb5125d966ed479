"""Convolution and pooling: conv1d/conv2d, conv_transpose2d, max/avg/adaptive-avg pooling.

Each call is one fused node. A convolution is im2col plus one matrix product: a strided
window view of the input copies into a (C*kh*kw, N*oh*ow) matrix, one GEMM with the
(O, C*kh*kw) weight gives an (O, N*oh*ow) product, and one pass turns that into the
contiguous (N, O, oh, ow) result while adding the bias. The transposed product scatters back
with one strided add per kernel offset (never np.add.at). Three kernels close under
differentiation, so double backward comes for free:

* `conv(x, w)`, its adjoint in x `conv_t(g, w)` (also the transposed convolution), and
* its adjoint in w `conv_w(x, g)` (the weight gradient).

1-D convolutions run the 2-D kernels on a height-1 view.
"""

from __future__ import annotations

from typing import NamedTuple

from .._backend import np
from .._tensor import Tensor
from ..autograd.grad_mode import _tracking
from ._define import Op, record, wrap

__all__ = [
    "conv1d", "conv2d", "conv_transpose1d", "conv_transpose2d", "max_pool1d", "max_pool2d",
    "avg_pool1d", "avg_pool2d", "adaptive_avg_pool2d",
]

_as_strided = np.lib.stride_tricks.as_strided


class ConvParams(NamedTuple):
    """Geometry of a 2-D convolution; `pad` is (top, bottom, left, right)."""

    stride: tuple
    pad: tuple
    dilation: tuple
    groups: int


# ----- NumPy kernels (2-D; 1-D arrays are lifted to height 1) ---------------------------


def _lift(a):
    return a[:, :, None, :] if a.ndim == 3 else a


def _drop(a, ndim: int):
    return a[:, :, 0, :] if ndim == 3 else a


def _pad(x, pad, value=0.0):
    """x (N, C, H, W) with (top, bottom, left, right) borders of `value`."""
    pt, pb, pl, pr = pad
    if not (pt or pb or pl or pr):
        return x
    n, c, h, w = x.shape
    buf = np.full((n, c, h + pt + pb, w + pl + pr), value, dtype=x.dtype)
    buf[:, :, pt:pt + h, pl:pl + w] = x
    return buf


def _cols(xp, kh: int, kw: int, oh: int, ow: int, p: ConvParams):
    """The im2col matrix of padded input xp: (groups, C/groups*kh*kw, N*oh*ow)."""
    n, c = xp.shape[:2]
    sn, sc, sh, sw = xp.strides
    (st_h, st_w), (dh, dw) = p.stride, p.dilation
    win = _as_strided(xp, (c, kh, kw, n, oh, ow),
                      (sc, sh * dh, sw * dw, sn, sh * st_h, sw * st_w), writeable=False)
    return win.reshape(p.groups, c // p.groups * kh * kw, n * oh * ow)


def _cnhw_matrix(g, groups: int):
    """g (N, O, oh, ow) as (groups, O/groups, N*oh*ow) (a copy unless g is laid out CNHW)."""
    n, o = g.shape[:2]
    return g.transpose(1, 0, 2, 3).reshape(groups, o // groups, -1)


def _conv(x, w, b, p: ConvParams, transposed: bool, out_hw):
    if transposed:
        return _conv_t(x, w, b, p, out_hw)
    return _conv_and_cols(x, w, b, p, out_hw)[0]


def _conv_and_cols(x, w, b, p: ConvParams, out_hw):
    """The convolution and its im2col matrix (which the weight gradient can reuse)."""
    x4, w4 = _lift(x), _lift(w)
    n, c, h, wd = x4.shape
    o, cg, kh, kw = w4.shape
    if out_hw is None:
        pt, pb, pl, pr = p.pad
        oh = (h + pt + pb - p.dilation[0] * (kh - 1) - 1) // p.stride[0] + 1
        ow = (wd + pl + pr - p.dilation[1] * (kw - 1) - 1) // p.stride[1] + 1
    else:  # the adjoint of a transposed convolution, which may have had output padding
        oh, ow = out_hw if len(out_hw) == 2 else (1, out_hw[0])
    col = _cols(_pad(x4, p.pad), kh, kw, oh, ow, p)
    prod = np.matmul(w4.reshape(p.groups, o // p.groups, -1), col).reshape(o, n, oh, ow)
    # One pass turns the product's (O, N, oh, ow) memory order into a contiguous NCHW
    # result and adds the bias.
    out = np.empty((n, o, oh, ow), dtype=prod.dtype)
    if b is None:
        np.copyto(out, prod.transpose(1, 0, 2, 3))
    else:
        np.add(prod.transpose(1, 0, 2, 3), b.reshape(o, 1, 1), out=out)
    return _drop(out, x.ndim), col


# The transposed product is scattered back a few images at a time, so that its column
# matrix is still in cache when the per-offset adds read it.
_CHUNK_BYTES = 1 << 22


def _conv_t(g, w, b, p: ConvParams, out_hw):
    """Adjoint of the convolution in its input: g (N, O, oh, ow) -> (N, C, *out_hw)."""
    g4, w4 = _lift(g), _lift(w)
    n, o, oh, ow = g4.shape
    _, cg, kh, kw = w4.shape
    groups = p.groups
    c = cg * groups
    h, wd = out_hw if len(out_hw) == 2 else (1, out_hw[0])
    pt, pb, pl, pr = p.pad
    hp, wp = h + pt + pb, wd + pl + pr
    wt = w4.reshape(groups, o // groups, -1).transpose(0, 2, 1)
    out = np.empty((n, c, h, wd), dtype=g4.dtype)
    padded = pt or pb or pl or pr
    step = max(1, _CHUNK_BYTES // max(1, c * kh * kw * oh * wp * g4.itemsize))
    scratch = np.empty((min(step, n), c, hp, wp), g4.dtype) if padded else None
    for n0 in range(0, n, step):
        part = g4[n0:n0 + step]
        buf = scratch[:part.shape[0]] if padded else out[n0:n0 + step]
        if p.stride == (1, 1):
            _col2im_wide(part, wt, buf, kh, kw, p.dilation)
        else:
            _col2im_strided(part, wt, buf, kh, kw, p)
        if padded:
            out[n0:n0 + step] = buf[:, :, pt:pt + h, pl:pl + wd]
    if b is not None:
        out += b.reshape(c, 1, 1)
    return _drop(out, g.ndim)


def _col2im_strided(g4, wt, buf, kh: int, kw: int, p: ConvParams):
    """buf (N, C, hp, wp) = the column matrix wt @ g summed back at each kernel offset."""
    n, _, oh, ow = g4.shape
    c = buf.shape[1]
    (st_h, st_w), (dh, dw) = p.stride, p.dilation
    dcol = np.matmul(wt, _cnhw_matrix(g4, wt.shape[0])).reshape(c, kh, kw, n, oh, ow)
    buf[...] = 0
    for i in range(kh):
        r = i * dh
        for j in range(kw):
            s = j * dw
            buf[:, :, r:r + st_h * (oh - 1) + 1:st_h, s:s + st_w * (ow - 1) + 1:st_w] += (
                dcol[:, i, j].transpose(1, 0, 2, 3))


def _col2im_wide(g4, wt, buf, kh: int, kw: int, dilation: tuple) -> None:
    """Stride-1 col2im into buf (N, C, hp, wp), on rows as wide as the padded input.

    g is laid out with rows of width wp (zeros past ow), so the column matrix for each
    kernel offset lands in each flattened (hp*wp) plane as one contiguous run at offset
    i*dh*wp + j*dw. The run's zero tail would pass the plane's end only in its last row,
    so it is cut there.
    """
    n, o, oh, ow = g4.shape
    _, c, hp, wp = buf.shape
    dh, dw = dilation
    groups = wt.shape[0]
    gw = np.zeros((o, n, oh, wp), dtype=g4.dtype)
    gw[:, :, :, :ow] = g4.transpose(1, 0, 2, 3)
    span = oh * wp
    dcol = np.matmul(wt, gw.reshape(groups, o // groups, -1)).reshape(c, kh, kw, n, span)
    flat = buf.reshape(n, c, hp * wp)
    flat[:, :, :span] = dcol[:, 0, 0].transpose(1, 0, 2)
    flat[:, :, span:] = 0
    for i in range(kh):
        for j in range(kw):
            if i or j:
                start = i * dh * wp + j * dw
                size = min(span, hp * wp - start)
                flat[:, :, start:start + size] += dcol[:, i, j, :, :size].transpose(1, 0, 2)


def _conv_w(x, g, p: ConvParams, w_shape, col=None):
    """Adjoint of the convolution in its weight: the weight gradient, shaped like w.
    `col` is x's im2col matrix when forward kept it."""
    g4 = _lift(g)
    if col is None:
        kh, kw = w_shape[-2:] if len(w_shape) == 4 else (1, w_shape[-1])
        oh, ow = g4.shape[2:]
        col = _cols(_pad(_lift(x), p.pad), kh, kw, oh, ow, p)
    gw = np.matmul(_cnhw_matrix(g4, p.groups), col.transpose(0, 2, 1))
    return gw.reshape(w_shape)


# ----- nodes ------------------------------------------------------------------------------


class ConvolutionBackward0(Op):
    """conv (or, with `transposed`, its adjoint) of x with w, plus bias; one node.

    Like PyTorch's own im2col path, the node keeps forward's column matrix for the weight
    gradient when the weight requires grad; it goes when the graph is freed.
    """

    needs = ((1,), (0,), ())
    forward = staticmethod(_conv)
    _col = None

    def _release(self) -> None:
        self._col = None
        Op._release(self)

    def backward(self, g):
        p, transposed, _ = self.args
        need_x, need_w, need_b = self.needs_input_grad
        x, w, _, _ = self.saved_tensors if need_x or need_w else (None,) * 4
        gx = gw = gb = None
        x_hw = self._shapes[0][0][2:]
        w_shape = self._shapes[1][0]
        if transposed:
            if need_x:
                gx = _convolution(g, w, None, p, False, x_hw)
            if need_w:
                gw = _conv_weight(g, x, p, w_shape)
        else:
            if need_x:
                gx = _convolution(g, w, None, p, True, x_hw)
            if need_w:
                gw = _conv_weight(x, g, p, w_shape, self._col)
        if need_b:
            gb = g.sum((0,) + tuple(range(2, g.ndim)))
        return gx, gw, gb


class ConvolutionBackwardBackward0(Op):
    """The weight gradient conv_w(x, g) as a differentiable op."""

    needs = ((1,), (0,))
    forward = staticmethod(_conv_w)

    def backward(self, h):
        x, g, _ = self.saved_tensors
        p, _ = self.args
        need_x, need_g = self.needs_input_grad
        gx = _convolution(g, h, None, p, True, self._shapes[0][0][2:]) if need_x else None
        gg = _convolution(x, h, None, p, False, self._shapes[1][0][2:]) if need_g else None
        return gx, gg


def _tracked(*ts) -> bool:
    return _tracking.get() and any(t is not None and t._requires_grad for t in ts)


def _convolution(x: Tensor, w: Tensor, b: Tensor | None, p: ConvParams, transposed: bool,
                 out_hw) -> Tensor:
    bd = None if b is None else b._data
    if not _tracked(x, w, b):
        return wrap(_conv(x._data, w._data, bd, p, transposed, out_hw))
    if transposed or not w._requires_grad:
        out = _conv(x._data, w._data, bd, p, transposed, out_hw)
        return record(ConvolutionBackward0, out, (x, w, b), (p, transposed, out_hw))
    out, col = _conv_and_cols(x._data, w._data, bd, p, out_hw)
    y = record(ConvolutionBackward0, out, (x, w, b), (p, transposed, out_hw))
    y._grad_fn._col = col
    return y


def _conv_weight(x: Tensor, g: Tensor, p: ConvParams, w_shape, col=None) -> Tensor:
    out = _conv_w(x._data, g._data, p, w_shape, col)
    if _tracked(x, g):
        return record(ConvolutionBackwardBackward0, out, (x, g), (p, w_shape))
    return wrap(out)


# ----- argument checks ----------------------------------------------------------------------


def _ntuple(value, n: int, name: str) -> tuple:
    if isinstance(value, (int, np.integer)):
        return (int(value),) * n
    out = tuple(int(v) for v in value)
    if len(out) == 1:
        return out * n
    if len(out) != n:
        raise RuntimeError(
            f"expected {name} to be a single integer value or a list of {n} values to match "
            f"the convolution dimensions, but got {name}={list(out)}")
    return out


def _dims(shape) -> str:
    return "[" + ", ".join(str(s) for s in shape) + "]"


def _type_name(dtype) -> str:
    return {"float32": "Float", "float64": "Double", "float16": "Half", "int64": "Long",
            "int32": "Int"}.get(np.dtype(dtype).name, np.dtype(dtype).name)


def _conv_params(x: Tensor, w: Tensor, b, stride, padding, dilation, groups: int, n: int,
                 name: str, transposed: bool = False) -> ConvParams:
    xs, ws = x._data.shape, w._data.shape
    if len(xs) not in (n + 1, n + 2):
        raise RuntimeError(f"Expected {n + 1}D (unbatched) or {n + 2}D (batched) input to "
                           f"{name}, but got input of size: {_dims(xs)}")
    if len(ws) != n + 2:
        raise RuntimeError(f"weight should have {n + 2} dimensions for {name}, but got weight "
                           f"of size {_dims(ws)}")
    if x._data.dtype != w._data.dtype:
        raise RuntimeError(f"expected scalar type {_type_name(x._data.dtype)} but found "
                           f"{_type_name(w._data.dtype)}")
    stride = _ntuple(stride, n, "stride")
    dilation = _ntuple(dilation, n, "dilation")
    if any(s <= 0 for s in stride):
        raise RuntimeError("non-positive stride is not supported")
    if any(d <= 0 for d in dilation):
        raise RuntimeError("dilation should be greater than zero")
    if groups <= 0:
        raise RuntimeError("non-positive groups is not supported")
    kernel = ws[2:]
    if isinstance(padding, str):
        if padding == "valid":
            pads = (0,) * (2 * n)
        elif padding == "same":
            if any(s != 1 for s in stride):
                raise RuntimeError("padding='same' is not supported for strided convolutions")
            pads = ()
            for k, d in zip(kernel, dilation):
                total = d * (k - 1)
                pads += (total // 2, total - total // 2)
        else:
            raise RuntimeError(f"Invalid padding string: '{padding}'")
    else:
        pads = tuple(q for v in _ntuple(padding, n, "padding") for q in (v, v))
    if any(q < 0 for q in pads):
        raise RuntimeError("negative padding is not supported")
    channels = xs[-n - 1]
    out_dim, in_per_group = (ws[1] * groups, ws[0]) if transposed else (ws[0], ws[1] * groups)
    if ws[0] % groups:
        raise RuntimeError(
            f"Given groups={groups}, expected weight to be divisible by {groups} at "
            f"dimension 0, but got weight of size {_dims(ws)} instead")
    if transposed:
        if channels != ws[0]:
            raise RuntimeError(
                f"Given transposed=1, weight of size {_dims(ws)}, expected input{_dims(xs)} to "
                f"have {ws[0]} channels, but got {channels} channels instead")
    else:
        if channels != in_per_group:
            raise RuntimeError(
                f"Given groups={groups}, weight of size {_dims(ws)}, expected input{_dims(xs)} "
                f"to have {in_per_group} channels, but got {channels} channels instead")
        spatial = xs[-n:]
        padded = tuple(s + pads[2 * i] + pads[2 * i + 1] for i, s in enumerate(spatial))
        eff = tuple(d * (k - 1) + 1 for k, d in zip(kernel, dilation))
        if any(p < k for p, k in zip(padded, eff)):
            raise RuntimeError(
                f"Calculated padded input size per channel: ({' x '.join(map(str, padded))}). "
                f"Kernel size: ({' x '.join(map(str, eff))}). Kernel size can't be greater "
                "than actual input size")
    if b is not None and tuple(b._data.shape) != (out_dim,):
        raise RuntimeError(
            f"Given weight of size {_dims(ws)}, expected bias to be 1-dimensional with "
            f"{out_dim} elements, but got bias of size {_dims(b._data.shape)} instead")
    if n == 1:
        return ConvParams((1,) + stride, (0, 0) + pads, (1,) + dilation, groups)
    return ConvParams(stride, pads, dilation, groups)


def _batched(x: Tensor, n: int):
    """(x with a batch dim, whether one was added)."""
    if x._data.ndim == n + 1:
        return x.unsqueeze(0), True
    return x, False


# ----- public convolutions ------------------------------------------------------------------


def conv2d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0,
           dilation=1, groups: int = 1) -> Tensor:
    """2-D convolution (cross-correlation) of (N, C, H, W) or (C, H, W) input."""
    return _conv_nd(input, weight, bias, stride, padding, dilation, groups, 2, "conv2d")


def conv1d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0,
           dilation=1, groups: int = 1) -> Tensor:
    """1-D convolution (cross-correlation) of (N, C, L) or (C, L) input."""
    return _conv_nd(input, weight, bias, stride, padding, dilation, groups, 1, "conv1d")


def _conv_nd(x, w, b, stride, padding, dilation, groups, n, name) -> Tensor:
    p = _conv_params(x, w, b, stride, padding, dilation, groups, n, name)
    x, unbatched = _batched(x, n)
    out = _convolution(x, w, b, p, False, None)
    return out.squeeze(0) if unbatched else out


def conv_transpose2d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1,
                     padding=0, output_padding=0, groups: int = 1, dilation=1) -> Tensor:
    """2-D transposed convolution; weight is (C_in, C_out/groups, kh, kw)."""
    return _conv_t_nd(input, weight, bias, stride, padding, output_padding, groups, dilation, 2,
                      "conv_transpose2d")


def conv_transpose1d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1,
                     padding=0, output_padding=0, groups: int = 1, dilation=1) -> Tensor:
    """1-D transposed convolution; weight is (C_in, C_out/groups, k)."""
    return _conv_t_nd(input, weight, bias, stride, padding, output_padding, groups, dilation, 1,
                      "conv_transpose1d")


def _conv_t_nd(x, w, b, stride, padding, output_padding, groups, dilation, n, name) -> Tensor:
    if isinstance(padding, str):
        raise RuntimeError(f"{name}: padding must be an int or a tuple, not '{padding}'")
    p = _conv_params(x, w, b, stride, padding, dilation, groups, n, name, transposed=True)
    op = _ntuple(output_padding, n, "output_padding")
    stride_n, dil_n = p.stride[-n:], p.dilation[-n:]
    if any(q >= s and q >= d for q, s, d in zip(op, stride_n, dil_n)):
        sizes = " ".join(f"output_padding_{a}: {v}" for a, v in zip(("height", "width")[-n:], op))
        raise RuntimeError(
            f"output padding must be smaller than either stride or dilation, but got {sizes} "
            + " ".join(f"stride_{a}: {v}" for a, v in zip(("height", "width")[-n:], stride_n))
            + " "
            + " ".join(f"dilation_{a}: {v}" for a, v in zip(("height", "width")[-n:], dil_n)))
    x, unbatched = _batched(x, n)
    kernel = w._data.shape[2:]
    pads = p.pad[-2 * n:]
    out_hw = tuple(
        (s - 1) * st - pads[2 * i] - pads[2 * i + 1] + d * (k - 1) + q + 1
        for i, (s, st, d, k, q) in enumerate(
            zip(x._data.shape[2:], stride_n, dil_n, kernel, op)))
    if any(s <= 0 for s in out_hw):
        raise RuntimeError(f"Given input size per channel: {_dims(x._data.shape[2:])}. "
                           f"Calculated output size per channel: {_dims(out_hw)}. "
                           "Output size is too small")
    out = _convolution(x, w, b, p, True, out_hw)
    return out.squeeze(0) if unbatched else out


# ----- pooling ------------------------------------------------------------------------------


class PoolParams(NamedTuple):
    """Geometry of a 2-D pooling window; `pad` is (top, bottom, left, right), where
    bottom/right include the extra room ceil_mode needs."""

    kernel: tuple
    stride: tuple
    pad: tuple
    dilation: tuple
    out_hw: tuple


def _pool_out(size: int, k: int, s: int, p: int, d: int, ceil: bool) -> int:
    span = size + 2 * p - d * (k - 1) - 1
    out = (-(-span // s) if ceil else span // s) + 1
    if ceil and (out - 1) * s >= size + p:
        out -= 1
    return out


def _pool_params(x: Tensor, kernel_size, stride, padding, dilation, ceil_mode: bool, n: int,
                 name: str) -> PoolParams:
    shape = x._data.shape
    if len(shape) not in (n + 1, n + 2) or 0 in shape[-n - 1:]:
        raise RuntimeError(
            f"non-empty {n + 1}D or {n + 2}D (batch mode) tensor expected for input")
    kernel = _ntuple(kernel_size, n, "kernel_size")
    stride = kernel if stride is None or (not isinstance(stride, int) and not len(stride)) \
        else _ntuple(stride, n, "stride")
    padding = _ntuple(padding, n, "padding")
    dilation = _ntuple(dilation, n, "dilation")
    if any(k <= 0 for k in kernel):
        raise RuntimeError(f"{name}: kernel_size must be greater than zero, but got "
                           f"{list(kernel)}")
    if any(s <= 0 for s in stride):
        raise RuntimeError(f"{name}: stride must be greater than zero, but got {list(stride)}")
    if any(d <= 0 for d in dilation):
        raise RuntimeError(f"{name}: dilation must be greater than zero, but got "
                           f"{list(dilation)}")
    for k, p, d in zip(kernel, padding, dilation):
        if p < 0 or 2 * p > d * (k - 1) + 1:
            raise RuntimeError(f"pad should be at most half of effective kernel size, but got "
                               f"pad={p}, kernel_size={k} and dilation={d}")
    spatial = shape[-n:]
    out = tuple(_pool_out(*a, ceil_mode) for a in zip(spatial, kernel, stride, padding, dilation))
    if any(o <= 0 for o in out):
        c = shape[-n - 1]
        raise RuntimeError(
            f"Given input size: ({'x'.join(map(str, (c,) + spatial))}). Calculated output size: "
            f"({'x'.join(map(str, (c,) + out))}). Output size is too small")
    pads = ()
    for size, k, s, p, d, o in zip(spatial, kernel, stride, padding, dilation, out):
        need = (o - 1) * s + d * (k - 1) + 1
        pads += (p, max(p, need - size - p))
    if n == 1:
        return PoolParams((1,) + kernel, (1,) + stride, (0, 0) + pads, (1,) + dilation, (1,) + out)
    return PoolParams(kernel, stride, pads, dilation, out)


def _offsets(p: PoolParams):
    """(index, row slice, col slice) of each kernel offset in the padded input."""
    (kh, kw), (sh, sw), (dh, dw), (oh, ow) = p.kernel, p.stride, p.dilation, p.out_hw
    for i in range(kh):
        for j in range(kw):
            r, c = i * dh, j * dw
            rows = slice(r, r + sh * (oh - 1) + 1, sh)
            yield i * kw + j, rows, slice(c, c + sw * (ow - 1) + 1, sw)


def _first_valid(k: int, s: int, p: int, d: int, o: int):
    """Per output position, the first kernel offset that falls inside the input."""
    start = np.arange(o) * s - p
    return np.clip(-(start // d), 0, k - 1)


def _max_pool(x, p: PoolParams, want_arg: bool = True):
    """(values, argmax kernel offset per output or None); ties keep the first, NaN wins.

    The max is a running np.maximum over the kernel offsets; the argmax is then the first
    offset equal to it. Windows whose max is NaN or the padding value take the exact
    element-by-element scan instead (NaN equals nothing; padding ties with real -inf).
    """
    x4 = _lift(x)
    low = -np.inf if x4.dtype.kind == "f" else np.iinfo(x4.dtype).min
    xp = _pad(x4, p.pad, low)
    offsets = list(_offsets(p))
    best = None
    for _, rows, cols in offsets:
        v = xp[:, :, rows, cols]
        best = v.copy() if best is None else np.maximum(best, v, out=best)
    if not want_arg:
        return _drop(best, x.ndim), None
    arg = np.zeros(best.shape, dtype=np.uint8 if len(offsets) < 256 else np.int64)
    for k, rows, cols in reversed(offsets):
        np.putmask(arg, xp[:, :, rows, cols] == best, k)
    special = best == low
    if x4.dtype.kind == "f":
        special |= np.isnan(best)
    if special.any():
        _exact_argmax(xp, arg, p, special)
    return _drop(best, x.ndim), arg


def _exact_argmax(xp, arg, p: PoolParams, where) -> None:
    """PyTorch's scan for the windows in `where`: start at the first in-bounds element, then
    move on to any later element that is greater or NaN."""
    (kh, kw), (sh, sw), (dh, dw), (oh, ow) = p.kernel, p.stride, p.dilation, p.out_hw
    first = (_first_valid(kh, sh, p.pad[0], dh, oh)[:, None] * kw
             + _first_valid(kw, sw, p.pad[2], dw, ow)[None, :])
    pick = np.broadcast_to(first, arg.shape).astype(arg.dtype)
    best = np.full(arg.shape, -np.inf if xp.dtype.kind == "f" else np.iinfo(xp.dtype).min,
                   dtype=xp.dtype)
    for k, rows, cols in _offsets(p):
        v = xp[:, :, rows, cols]
        win = v > best
        if xp.dtype.kind == "f":
            win |= np.isnan(v)
        np.copyto(best, v, where=win)
        np.copyto(pick, k, where=win)
    np.copyto(arg, pick, where=where)


def _pool_gather(x, arg, p: PoolParams):
    """The input values at each window's chosen kernel offset."""
    x4 = _lift(x)
    xp = _pad(x4, p.pad)
    out = np.zeros(arg.shape, dtype=x4.dtype)
    for k, rows, cols in _offsets(p):
        np.copyto(out, xp[:, :, rows, cols], where=arg == k)
    return _drop(out, x.ndim)


def _pool_scatter(g, arg, p: PoolParams, in_shape):
    """Adjoint of `_pool_gather`: each output gradient goes to its chosen input cell."""
    g4 = _lift(g)
    n, c = g4.shape[:2]
    h, w = in_shape[-2:] if len(in_shape) == 4 else (1, in_shape[-1])
    pt, pb, pl, pr = p.pad
    buf = np.zeros((n, c, h + pt + pb, w + pl + pr), dtype=g4.dtype)
    # Windows that do not overlap give each cell at most one value: write, do not add.
    disjoint = all(s >= d * (k - 1) + 1 for k, s, d in zip(p.kernel, p.stride, p.dilation))
    for k, rows, cols in _offsets(p):
        cell = buf[:, :, rows, cols]
        if disjoint:
            np.multiply(g4, arg == k, out=cell)
        else:
            cell += g4 * (arg == k)
    return _drop(buf[:, :, pt:pt + h, pl:pl + w], g.ndim)


class MaxPool2DWithIndicesBackward0(Op):
    """Max pooling as a gather at the argmax offsets found in forward (saved in args)."""

    needs = ((),)
    forward = staticmethod(_pool_gather)

    def backward(self, g):
        arg, p = self.args
        return _pool_op(MaxPool2DWithIndicesBackwardBackward0, g, arg, p, self._shapes[0][0])


class MaxPool2DWithIndicesBackwardBackward0(Op):
    needs = ((),)
    forward = staticmethod(_pool_scatter)

    def backward(self, g):
        arg, p, _ = self.args
        return _pool_op(MaxPool2DWithIndicesBackward0, g, arg, p)


def _pool_op(cls, x: Tensor, *args, values=None) -> Tensor:
    out = cls.forward(x._data, *args) if values is None else values
    if _tracked(x):
        return record(cls, out, (x,), args)
    return wrap(out)


def _plane_indices(arg, p: PoolParams, in_w: int):
    """Flat indices into each unpadded input plane, as return_indices gives them."""
    kw, (sh, sw), (dh, dw), (oh, ow) = p.kernel[1], p.stride, p.dilation, p.out_hw
    arg = arg.astype(np.int64)
    rows = (np.arange(oh) * sh - p.pad[0])[:, None] + (arg // kw) * dh
    cols = (np.arange(ow) * sw - p.pad[2])[None, :] + (arg % kw) * dw
    return rows * in_w + cols


def max_pool2d(input: Tensor, kernel_size, stride=None, padding=0, dilation=1,
               ceil_mode: bool = False, return_indices: bool = False):
    """2-D max pooling; with return_indices also the flat argmax index in each input plane."""
    return _max_pool_nd(input, kernel_size, stride, padding, dilation, ceil_mode, return_indices,
                        2, "max_pool2d")


def max_pool1d(input: Tensor, kernel_size, stride=None, padding=0, dilation=1,
               ceil_mode: bool = False, return_indices: bool = False):
    """1-D max pooling over (N, C, L) or (C, L) input."""
    return _max_pool_nd(input, kernel_size, stride, padding, dilation, ceil_mode, return_indices,
                        1, "max_pool1d")


def _max_pool_nd(x, kernel_size, stride, padding, dilation, ceil_mode, return_indices, n, name):
    p = _pool_params(x, kernel_size, stride, padding, dilation, ceil_mode, n, name)
    x, unbatched = _batched(x, n)
    values, arg = _max_pool(x._data, p, return_indices or _tracked(x))
    out = _pool_op(MaxPool2DWithIndicesBackward0, x, arg, p, values=values)
    if unbatched:
        out = out.squeeze(0)
    if not return_indices:
        return out
    idx = _drop(_plane_indices(arg, p, x._data.shape[-1]), x._data.ndim)
    return out, wrap(idx[0] if unbatched else idx)


def _avg_divisor(p: PoolParams, in_hw, count_include_pad: bool, divisor_override):
    """Per-output divisor map (oh, ow), or a number."""
    if divisor_override:
        return float(divisor_override)
    counts = []
    for size, k, s, p0, o in zip(in_hw, p.kernel, p.stride, p.pad[::2], p.out_hw):
        start = np.arange(o) * s - p0
        end = np.minimum(start + k, size + p0)
        if not count_include_pad:
            end = np.minimum(end, size)
            start = np.maximum(start, 0)
        counts.append(end - start)
    return (counts[0][:, None] * counts[1][None, :]).astype(np.float64)


def _avg_pool(x, p: PoolParams, div):
    x4 = _lift(x)
    xp = _pad(x4, p.pad)
    n, c = x4.shape[:2]
    acc = np.zeros((n, c) + p.out_hw, dtype=x4.dtype)
    for _, rows, cols in _offsets(p):
        acc += xp[:, :, rows, cols]
    acc /= np.asarray(div, dtype=x4.dtype)
    return _drop(acc, x.ndim)


def _avg_pool_t(g, p: PoolParams, div, in_shape):
    """Adjoint of `_avg_pool`: each output gradient spread evenly over its window."""
    g4 = _lift(g) / np.asarray(div, dtype=g.dtype)
    n, c = g4.shape[:2]
    h, w = in_shape[-2:] if len(in_shape) == 4 else (1, in_shape[-1])
    pt, pb, pl, pr = p.pad
    buf = np.zeros((n, c, h + pt + pb, w + pl + pr), dtype=g4.dtype)
    for _, rows, cols in _offsets(p):
        buf[:, :, rows, cols] += g4
    return _drop(buf[:, :, pt:pt + h, pl:pl + w], g.ndim)


class AvgPool2DBackward0(Op):
    needs = ((),)
    forward = staticmethod(_avg_pool)

    def backward(self, g):
        p, div = self.args
        return _pool_op(AvgPool2DBackwardBackward0, g, p, div, self._shapes[0][0])


class AvgPool2DBackwardBackward0(Op):
    needs = ((),)
    forward = staticmethod(_avg_pool_t)

    def backward(self, g):
        p, div, _ = self.args
        return _pool_op(AvgPool2DBackward0, g, p, div)


def avg_pool2d(input: Tensor, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
               count_include_pad: bool = True, divisor_override: int | None = None) -> Tensor:
    """2-D average pooling."""
    return _avg_pool_nd(input, kernel_size, stride, padding, ceil_mode, count_include_pad,
                        divisor_override, 2, "avg_pool2d")


def avg_pool1d(input: Tensor, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
               count_include_pad: bool = True) -> Tensor:
    """1-D average pooling over (N, C, L) or (C, L) input."""
    return _avg_pool_nd(input, kernel_size, stride, padding, ceil_mode, count_include_pad,
                        None, 1, "avg_pool1d")


def _avg_pool_nd(x, kernel_size, stride, padding, ceil_mode, count_include_pad,
                 divisor_override, n, name) -> Tensor:
    if divisor_override is not None and divisor_override <= 0:
        raise RuntimeError("divisor must be not zero")
    p = _pool_params(x, kernel_size, stride, padding, 1, ceil_mode, n, name)
    x, unbatched = _batched(x, n)
    in_hw = _lift(x._data).shape[2:]
    div = _avg_divisor(p, in_hw, count_include_pad, divisor_override)
    out = _pool_op(AvgPool2DBackward0, x, p, div)
    return out.squeeze(0) if unbatched else out


def _bins(size: int, out: int):
    """(out, size) averaging matrix of adaptive pooling along one axis."""
    i = np.arange(out)
    start = (i * size) // out
    end = -((-(i + 1) * size) // out)
    cells = np.arange(size)
    m = ((cells >= start[:, None]) & (cells < end[:, None])).astype(np.float64)
    return m / (end - start)[:, None]


def _sandwich(x, left, right):
    """left @ x @ right.T over the last two axes of x."""
    return np.matmul(left, np.matmul(x, right.T))


class AdaptiveAvgPool2DBackward0(Op):
    needs = ((),)
    forward = staticmethod(_sandwich)

    def backward(self, g):
        left, right = self.args
        return _pool_op(AdaptiveAvgPool2DBackwardBackward0, g, left.T, right.T)


class AdaptiveAvgPool2DBackwardBackward0(Op):
    needs = ((),)
    forward = staticmethod(_sandwich)

    def backward(self, g):
        left, right = self.args
        return _pool_op(AdaptiveAvgPool2DBackward0, g, left.T, right.T)


def adaptive_avg_pool2d(input: Tensor, output_size) -> Tensor:
    """Average pooling to a fixed (oh, ow) output; None keeps that input size."""
    shape = input._data.shape
    if len(shape) not in (3, 4) or 0 in shape[-3:]:
        raise RuntimeError(
            "adaptive_avg_pool2d(): Expected 3D or 4D tensor, but got " + _dims(shape))
    sizes = (output_size,) * 2 if isinstance(output_size, int) or output_size is None \
        else tuple(output_size)
    out_hw = tuple(s if o is None else int(o) for s, o in zip(shape[-2:], sizes))
    if out_hw == (1, 1):
        return input.mean((-2, -1), keepdim=True)
    dt = input._data.dtype if input._data.dtype.kind == "f" else np.float32
    left = _bins(shape[-2], out_hw[0]).astype(dt)
    right = _bins(shape[-1], out_hw[1]).astype(dt)
    return _pool_op(AdaptiveAvgPool2DBackward0, input, left, right)
