"""Convolution and pooling: conv1d/conv2d, conv_transpose2d, max/avg/adaptive-avg pooling.

Each call is one fused node. A convolution is im2col plus matrix products, done a few
images at a time so that each chunk's columns are still in cache for the GEMM: a strided
window view of the input copies into the column matrix, and GEMMs with the (O, C*kh*kw)
weight give the (N, O, oh, ow) result. The transposed product scatters back with one add
per kernel offset (never np.add.at). Three kernels close under differentiation, so double
backward comes for free:

* `conv(x, w)`, its adjoint in x `conv_t(g, w)` (also the transposed convolution), and
* its adjoint in w `conv_w(x, g)` (the weight gradient).

A backward that records no graph skips the ops and gets both gradients from
`_conv_grads`, which for stride-1 convolutions shares one pass over g between them.
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


# Work goes a few images at a time, so that a chunk's column matrix and GEMM result are
# still in cache when the next pass reads them (a GEMM on cached columns also runs faster
# than one over the whole batch).
_CHUNK_BYTES = 1 << 22


def _step(n: int, per_image: int) -> int:
    """Images per chunk when each image needs `per_image` bytes of scratch (chunks of
    even size: no small last one)."""
    step = max(1, min(n, _CHUNK_BYTES // max(1, per_image)))
    chunks = -(-n // step)
    return -(-n // chunks) if chunks else 1


def _windows(xp, kh: int, kw: int, oh: int, ow: int, p: ConvParams):
    """The (C, kh, kw, N, oh, ow) view of padded input xp that im2col copies."""
    n, c = xp.shape[:2]
    sn, sc, sh, sw = xp.strides
    (st_h, st_w), (dh, dw) = p.stride, p.dilation
    return _as_strided(xp, (c, kh, kw, n, oh, ow),
                       (sc, sh * dh, sw * dw, sn, sh * st_h, sw * st_w), writeable=False)


def _conv(x, w, b, p: ConvParams, transposed: bool, out_hw):
    if transposed:
        return _conv_t(x, w, b, p, out_hw)
    return _conv_fwd(x, w, b, p, out_hw)


def _conv_fwd(x, w, b, p: ConvParams, out_hw):
    """The convolution: per chunk of images, im2col into a cache-sized buffer, then one GEMM
    per image and group straight into the NCHW result, and the bias added.

    The columns are not kept for the weight gradient, which makes them again: keeping
    them holds C*kh*kw times the output's size from forward to backward, and such large
    blocks, freed and allocated anew each step, come back from the OS page by page.
    """
    x4, w4 = _lift(x), _lift(w)
    n, c, h, wd = x4.shape
    o, cg, kh, kw = w4.shape
    if out_hw is None:
        pt, pb, pl, pr = p.pad
        oh = (h + pt + pb - p.dilation[0] * (kh - 1) - 1) // p.stride[0] + 1
        ow = (wd + pl + pr - p.dilation[1] * (kw - 1) - 1) // p.stride[1] + 1
    else:  # the adjoint of a transposed convolution, which may have had output padding
        oh, ow = out_hw if len(out_hw) == 2 else (1, out_hw[0])
    groups, size, k = p.groups, oh * ow, cg * kh * kw
    step = _step(n, (c * kh * kw + o) * size * x4.itemsize)
    col, win, _ = _col_buffer(x4, kh, kw, oh, ow, p, step, True)
    wm = w4.reshape(groups, o // groups, k)
    out = np.empty((n, o, oh, ow), dtype=x4.dtype)
    for n0 in range(0, n, step):
        m = min(step, n - n0)
        part = col[:m]
        np.copyto(part, win[n0:n0 + m])
        dst = out[n0:n0 + m]
        np.matmul(wm, part.reshape(m, groups, k, size),
                  out=dst.reshape(m, groups, o // groups, size))
        if b is not None:
            dst += b.reshape(o, 1, 1)
    return _drop(out, x.ndim)


def _col_buffer(x4, kh: int, kw: int, oh: int, ow: int, p: ConvParams, images: int,
                image_major: bool):
    """(an empty im2col buffer for `images` images, the window view it copies from, the
    axis of both that counts images).

    Image-major columns (images, C, kh, kw, oh, ow) give GEMMs per image; the other layout,
    (C, kh, kw, images, oh, ow), one GEMM for all of them.
    """
    win = _windows(_pad(x4, p.pad), kh, kw, oh, ow, p)
    c = x4.shape[1]
    if image_major:
        win = win.transpose(3, 0, 1, 2, 4, 5)
        return np.empty((images, c, kh, kw, oh, ow), dtype=x4.dtype), win, 0
    return np.empty((c, kh, kw, images, oh, ow), dtype=x4.dtype), win, 3


def _conv_t(g, w, b, p: ConvParams, out_hw):
    """Adjoint of the convolution in its input: g (N, O, oh, ow) -> (N, C, *out_hw)."""
    g4, w4 = _lift(g), _lift(w)
    h, wd = out_hw if len(out_hw) == 2 else (1, out_hw[0])
    # The dense scatter relies on zero gradients times the weight being zero.
    if p.stride == (1, 1) and p.groups == 1 and np.isfinite(w4).all():
        out = _dense_grads(g4, w4, p, h, wd)[0]
    else:
        out = _col2im_chunked(g4, w4, p, h, wd)
    if b is not None:
        out += b.reshape(-1, 1, 1)
    return _drop(out, g.ndim)


def _dense_grads(g4, w4, p: ConvParams, h: int, wd: int, x4=None):
    """Stride-1, one-group gradients, image by image: (the input gradient; with input x4,
    the weight gradient (O, C*kh*kw), else None).

    g goes into rows as wide as the padded input (zeros past ow). For the input gradient,
    the column matrix goes into planes as large as the padded input (zeros past oh rows),
    so the column block of kernel offset (i, j) lands at flat offset i*dh*wp + j*dw of each
    image's (C*hp*wp) run, as one contiguous add: with the weight's rows ordered (i, j, c),
    each offset's rows are one block, and whatever a block carries past a plane's end
    comes from the zeros. For the weight gradient, im2col rows of the same width copy as
    long runs; their extra columns meet the zeros of g, so they add nothing unless x holds
    inf or NaN (the caller checks the result for that).
    """
    n, o, oh, ow = g4.shape
    _, c, kh, kw = w4.shape
    pt, pb, pl, pr = p.pad
    hp, wp = h + pt + pb, wd + pl + pr
    plane, run, span = hp * wp, c * hp * wp, oh * wp
    k, tail = c * kh * kw, (oh - 1) * wp + ow
    dh, dw = p.dilation
    dt = g4.dtype
    per_image = o * span + k * plane + run + (k * tail if x4 is not None else 0)
    step = _step(n, per_image * g4.itemsize)
    gbuf = np.empty((step, o, oh, wp), dtype=dt)
    gbuf[:, :, :, ow:] = 0
    wt = w4.transpose(2, 3, 1, 0).reshape(kh * kw * c, o)
    dcol = np.empty((step, k, plane), dtype=dt)
    dcol[:, :, span:] = 0
    gx = np.empty((n, c, h, wd), dtype=dt)
    padded = pt or pb or pl or pr
    scratch = np.empty((step, run), dtype=dt) if padded else None
    gw = None
    if x4 is not None:
        xp = _pad(x4, p.pad)
        sn, sc, sh, sw = xp.strides
        win = _as_strided(xp, (n, c, kh, kw, tail), (sn, sc, sh * dh, sw * dw, sw),
                          writeable=False)
        col = np.empty((step, c, kh, kw, tail), dtype=dt)
        tmp = np.empty((step, o, k), dtype=dt)
        gw = np.zeros((o, k), dtype=dt)
    for n0 in range(0, n, step):
        m = min(step, n - n0)
        gbuf[:m, :, :, :ow] = g4[n0:n0 + m]
        if x4 is not None:
            np.copyto(col[:m], win[n0:n0 + m])
            np.matmul(gbuf[:m].reshape(m, o, span)[:, :, :tail],
                      col[:m].reshape(m, k, tail).transpose(0, 2, 1), out=tmp[:m])
            gw += tmp[:m].sum(0)
        d = dcol[:m]
        np.matmul(wt, gbuf[:m].reshape(m, o, span), out=d[:, :, :span])
        acc = scratch[:m] if padded else gx[n0:n0 + m].reshape(m, run)
        blocks = [(i * dh * wp + j * dw, d[:, (i * kw + j) * c:(i * kw + j + 1) * c])
                  for i in range(kh) for j in range(kw)]
        first = blocks[0][1].reshape(m, run)
        if len(blocks) == 1:
            np.copyto(acc, first)
        else:  # the first two blocks in one pass
            start, block = blocks[1]
            np.copyto(acc[:, :start], first[:, :start])
            np.add(first[:, start:], block.reshape(m, run)[:, :run - start], out=acc[:, start:])
        for start, block in blocks[2:]:
            dst = acc[:, start:]
            np.add(dst, block.reshape(m, run)[:, :run - start], out=dst)
        if padded:
            gx[n0:n0 + m] = acc.reshape(m, c, hp, wp)[:, :, pt:pt + h, pl:pl + wd]
    return gx, gw


def _conv_grads(x, w, g, p: ConvParams, x_shape, w_shape):
    """(input gradient, weight gradient) of the convolution of x with w, in NumPy; pass
    x = None for no weight gradient and w = None for no input gradient. One pass over g
    gives both (sharing g's wide copy) while the stride is 1, there is one group and the
    kernel taps are few next to the output pixels; else the two adjoints run."""
    g4 = _lift(g)
    h, wd = x_shape[2:] if len(x_shape) == 4 else (1, x_shape[-1])
    gx = gw = None
    if (x is not None and w is not None and p.stride == (1, 1) and p.groups == 1
            and 2 * w[0].size <= g4[0, 0].size and np.isfinite(w).all()):
        gx, gw = _dense_grads(g4, _lift(w), p, h, wd, _lift(x))
        if not np.isfinite(gw).all():
            gw = None  # x holds inf or NaN, which its extra columns met
    if w is not None:
        gx = _conv_t(g, w, None, p, x_shape[2:]) if gx is None else _drop(gx, g.ndim)
    if x is not None:
        gw = _conv_w(x, g, p, w_shape) if gw is None else gw.reshape(w_shape)
    return gx, gw


def _col2im_chunked(g4, w4, p: ConvParams, h: int, wd: int):
    """col2im for any stride and groups: the transposed product scattered back a few
    images at a time, with one strided add per kernel offset."""
    n, o, oh, ow = g4.shape
    _, cg, kh, kw = w4.shape
    groups = p.groups
    c = cg * groups
    pt, pb, pl, pr = p.pad
    hp, wp = h + pt + pb, wd + pl + pr
    wt = w4.reshape(groups, o // groups, -1).transpose(0, 2, 1)
    out = np.empty((n, c, h, wd), dtype=g4.dtype)
    padded = pt or pb or pl or pr
    step = _step(n, c * kh * kw * oh * wp * g4.itemsize)
    scratch = np.empty((step, c, hp, wp), g4.dtype) if padded else None
    wide = p.stride == (1, 1) and np.isfinite(w4).all()
    for n0 in range(0, n, step):
        part = g4[n0:n0 + step]
        buf = scratch[:part.shape[0]] if padded else out[n0:n0 + step]
        if wide:
            _col2im_wide(part, wt, buf, kh, kw, p.dilation)
        else:
            _col2im_strided(part, wt, buf, kh, kw, p)
        if padded:
            out[n0:n0 + step] = buf[:, :, pt:pt + h, pl:pl + wd]
    return out


def _col2im_strided(g4, wt, buf, kh: int, kw: int, p: ConvParams):
    """buf (N, C, hp, wp) = the column matrix wt @ g summed back at each kernel offset."""
    n, _, oh, ow = g4.shape
    c = buf.shape[1]
    (st_h, st_w), (dh, dw) = p.stride, p.dilation
    gm = g4.transpose(1, 0, 2, 3).reshape(wt.shape[0], wt.shape[2], -1)
    dcol = np.matmul(wt, gm).reshape(c, kh, kw, n, oh, ow)
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


def _conv_w(x, g, p: ConvParams, w_shape):
    """Adjoint of the convolution in its weight: the weight gradient, shaped like w.

    Per chunk of images, im2col again and add g @ col.T into the result: while the kernel
    taps k (= C/groups*kh*kw) are few next to the output pixels, one GEMM per image and
    group (whose (O, k) results are then summed); else one per group, with g laid out
    (O, images*oh*ow).
    """
    g4 = _lift(g)
    n, o, oh, ow = g4.shape
    kh, kw = w_shape[-2:] if len(w_shape) == 4 else (1, w_shape[-1])
    groups, size = p.groups, oh * ow
    og, c, k = o // groups, w_shape[1] * groups, w_shape[1] * kh * kw
    dt = g4.dtype
    step = _step(n, (o + c * kh * kw) * size * g4.itemsize)
    image_major = 2 * k <= size
    col, win, axis = _col_buffer(_lift(x), kh, kw, oh, ow, p, step, image_major)
    acc = np.zeros((groups, og, k), dtype=dt)
    if image_major:
        tmp = np.empty((step, groups, og, k), dtype=dt)
    else:
        tmp = np.empty_like(acc)
        gbuf = np.empty(o * step * size, dtype=dt)
    for n0 in range(0, n, step):
        m = min(step, n - n0)
        part = col[(slice(None),) * axis + (slice(0, m),)]
        np.copyto(part, win[(slice(None),) * axis + (slice(n0, n0 + m),)])
        if image_major:
            res = tmp[:m]
            np.matmul(g4[n0:n0 + m].reshape(m, groups, og, size),
                      part.reshape(m, groups, k, size).transpose(0, 1, 3, 2), out=res)
            acc += res.sum(0)
            continue
        gm = gbuf[:o * m * size].reshape(o, m, size)
        np.copyto(gm, g4[n0:n0 + m].reshape(m, o, size).transpose(1, 0, 2))
        np.matmul(gm.reshape(groups, og, m * size),
                  part.reshape(groups, k, m * size).transpose(0, 2, 1), out=tmp)
        acc += tmp
    return acc.reshape(w_shape)


# ----- nodes ------------------------------------------------------------------------------


class ConvolutionBackward0(Op):
    """conv (or, with `transposed`, its adjoint) of x with w, plus bias; one node."""

    needs = ((1,), (0,), ())
    forward = staticmethod(_conv)

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
        elif (need_x or need_w) and not _tracked(x, w, g):
            gx, gw = _conv_grads(x._data if need_w else None, w._data if need_x else None,
                                 g._data, p, self._shapes[0][0], w_shape)
            gx = None if gx is None else wrap(gx)
            gw = None if gw is None else wrap(gw)
        else:
            if need_x:
                gx = _convolution(g, w, None, p, True, x_hw)
            if need_w:
                gw = _conv_weight(x, g, p, w_shape)
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
    out = _conv(x._data, w._data, bd, p, transposed, out_hw)
    if _tracked(x, w, b):
        return record(ConvolutionBackward0, out, (x, w, b), (p, transposed, out_hw))
    return wrap(out)


def _conv_weight(x: Tensor, g: Tensor, p: ConvParams, w_shape) -> Tensor:
    out = _conv_w(x._data, g._data, p, w_shape)
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
