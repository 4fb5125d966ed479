"""`ember.nn.functional`: the math behind the layers, as functions.

Modules call these; these call ops (one definition per op, in `ember.ops`). This file
checks arguments and picks the op, and builds composite functions (losses with
label smoothing, KL divergence, normalize, ...) from existing ops.
"""

from __future__ import annotations

import importlib
import warnings

import numpy as np

from .._creation import default_generator
from .._tensor import Tensor
from ..ops import activation as _act
from ..ops import elementwise as _ew
from ..ops import loss as _loss
from ..ops import reduction as _red
from ..ops import shape as _shape
from ..ops._define import to_tensor, wrap
from ..ops.linalg import linear, matmul

__all__ = [
    "linear", "bilinear", "relu", "relu6", "leaky_relu", "elu", "selu", "celu", "gelu", "silu",
    "mish", "sigmoid", "tanh", "softmax", "log_softmax", "softmin", "softplus", "hardtanh",
    "hardsigmoid", "hardswish", "logsigmoid", "threshold", "prelu", "softsign", "tanhshrink",
    "glu", "dropout", "dropout1d", "dropout2d", "dropout3d", "cross_entropy", "nll_loss",
    "mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss", "binary_cross_entropy",
    "binary_cross_entropy_with_logits", "kl_div", "one_hot", "normalize", "cosine_similarity",
    "pairwise_distance",
]


# ----- linear ---------------------------------------------------------------------------

def bilinear(input1: Tensor, input2: Tensor, weight: Tensor, bias: Tensor | None = None
             ) -> Tensor:
    """y[..., o] = sum_ij x1[..., i] * weight[o, i, j] * x2[..., j] + bias[o]."""
    out_f, in1, in2 = weight.shape
    if input1.shape[-1] != in1 or input2.shape[-1] != in2:
        raise RuntimeError(
            f"bilinear(): input sizes {list(input1.shape)} and {list(input2.shape)} do not "
            f"match weight of shape {list(weight.shape)}"
        )
    lead = tuple(input1.shape[:-1])
    x1 = input1.reshape(-1, in1)
    x2 = input2.reshape(-1, in2)
    # (B, in1) @ (in1, out*in2) -> (B, out, in2), then contract in2 with x2.
    w = weight.permute(1, 0, 2).reshape(in1, out_f * in2)
    y = (matmul(x1, w).reshape(-1, out_f, in2) * x2.unsqueeze(1)).sum(-1)
    if bias is not None:
        y = y + bias
    return y.reshape(*lead, out_f)


# ----- activations ----------------------------------------------------------------------

def relu(input: Tensor, inplace: bool = False) -> Tensor:
    if inplace and hasattr(input, "relu_"):
        return input.relu_()
    return _ew.relu(input)


def relu6(input: Tensor, inplace: bool = False) -> Tensor:
    return _act.hardtanh(input, 0.0, 6.0)


def hardtanh(input: Tensor, min_val: float = -1.0, max_val: float = 1.0,
             inplace: bool = False) -> Tensor:
    if min_val > max_val:
        raise ValueError("min_val cannot be greater than max_val")
    return _act.hardtanh(input, min_val, max_val)


def leaky_relu(input: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    return _act.leaky_relu(input, negative_slope)


def elu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    return _act.elu(input, alpha, 1.0, 1.0)


_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def selu(input: Tensor, inplace: bool = False) -> Tensor:
    return _act.elu(input, _SELU_ALPHA, _SELU_SCALE, 1.0)


def celu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    return _act.elu(input, alpha, 1.0, 1.0 / alpha)


def gelu(input: Tensor, approximate: str = "none") -> Tensor:
    if approximate not in ("none", "tanh"):
        raise RuntimeError("approximate argument must be either none or tanh.")
    return _act.gelu(input, approximate)


def silu(input: Tensor, inplace: bool = False) -> Tensor:
    return _act.silu(input)


def mish(input: Tensor, inplace: bool = False) -> Tensor:
    return _act.mish(input)


def sigmoid(input: Tensor) -> Tensor:
    return _ew.sigmoid(input)


def tanh(input: Tensor) -> Tensor:
    return _ew.tanh(input)


def softplus(input: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    return _act.softplus(input, beta, threshold)


def logsigmoid(input: Tensor) -> Tensor:
    return _act.log_sigmoid(input)


def hardsigmoid(input: Tensor, inplace: bool = False) -> Tensor:
    return _act.hardsigmoid(input)


def hardswish(input: Tensor, inplace: bool = False) -> Tensor:
    return _act.hardswish(input)


def threshold(input: Tensor, threshold: float, value: float, inplace: bool = False) -> Tensor:
    """`input` where it is above `threshold`, else `value`."""
    return _ew.where(input > threshold, input, value)


def prelu(input: Tensor, weight: Tensor) -> Tensor:
    """max(0, x) + weight * min(0, x), with one weight per channel (dim 1) or one shared."""
    if weight.numel() != 1:
        channels = input.shape[1] if input.ndim > 1 else input.shape[0]
        if weight.numel() != channels:
            raise RuntimeError(
                "Mismatch of parameter numbers and input channel size. Found parameter "
                f"numbers = {weight.numel()} and channel size = {channels}."
            )
        if input.ndim > 1:
            weight = weight.reshape(channels, *([1] * (input.ndim - 2)))
    return _ew.where(input > 0, input, weight * input)


def softsign(input: Tensor) -> Tensor:
    return input / (1 + input.abs())


def tanhshrink(input: Tensor) -> Tensor:
    return input - _ew.tanh(input)


def glu(input: Tensor, dim: int = -1) -> Tensor:
    """a * sigmoid(b) where a, b are the two halves of `input` along `dim`."""
    if input.shape[dim] % 2:
        raise RuntimeError(
            f"Halving dimension must be even, but dimension {dim % input.ndim} is size "
            f"{input.shape[dim]}"
        )
    a, b = _shape.chunk(input, 2, dim)
    return a * _ew.sigmoid(b)


def _softmax_dim(ndim: int, name: str) -> int:
    warnings.warn(
        f"Implicit dimension choice for {name} has been deprecated. Change the call to "
        "include dim=X as an argument.",
        UserWarning,
        stacklevel=3,
    )
    return 0 if ndim in (0, 1, 3) else 1


def softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype=None) -> Tensor:
    if dim is None:
        dim = _softmax_dim(input.ndim, "softmax")
    return _red.softmax(input, dim, dtype=dtype)


def log_softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3,
                dtype=None) -> Tensor:
    if dim is None:
        dim = _softmax_dim(input.ndim, "log_softmax")
    return _red.log_softmax(input, dim, dtype=dtype)


def softmin(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype=None) -> Tensor:
    if dim is None:
        dim = _softmax_dim(input.ndim, "softmin")
    return _red.softmax(-input, dim, dtype=dtype)


# ----- dropout --------------------------------------------------------------------------

def _check_p(p: float) -> None:
    if p < 0.0 or p > 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")


def _dropout(input: Tensor, p: float, mask_shape: tuple) -> Tensor:
    dtype = input._data.dtype
    if p == 1.0:
        mask = np.zeros(mask_shape, dtype)
    else:
        keep = default_generator._rng.random(mask_shape, dtype=np.float32) >= np.float32(p)
        mask = np.multiply(keep, 1.0 / (1.0 - p), dtype=dtype)
    return _act.native_dropout(input, mask)


def dropout(input: Tensor, p: float = 0.5, training: bool = True,
            inplace: bool = False) -> Tensor:
    """In training, zero each element with probability `p` and scale the rest by
    1/(1-p); otherwise return `input` itself. Active under no_grad too."""
    _check_p(p)
    if not training or p == 0.0:
        return input
    return _dropout(input, p, input._data.shape)


def _channel_dropout(input: Tensor, p: float, training: bool, batched_ndim: int,
                     name: str) -> Tensor:
    _check_p(p)
    if not training or p == 0.0:
        return input
    shape = input._data.shape
    if len(shape) not in (batched_ndim - 1, batched_ndim):
        raise RuntimeError(
            f"{name}: Expected {batched_ndim - 1}D or {batched_ndim}D input, but received a "
            f"{len(shape)}D input."
        )
    spatial = batched_ndim - 2
    return _dropout(input, p, shape[: len(shape) - spatial] + (1,) * spatial)


def dropout1d(input: Tensor, p: float = 0.5, training: bool = True,
              inplace: bool = False) -> Tensor:
    """Zero whole channels of (N, C, L) or (C, L) input."""
    return _channel_dropout(input, p, training, 3, "dropout1d")


def dropout2d(input: Tensor, p: float = 0.5, training: bool = True,
              inplace: bool = False) -> Tensor:
    """Zero whole channels of (N, C, H, W) or (C, H, W) input."""
    return _channel_dropout(input, p, training, 4, "dropout2d")


def dropout3d(input: Tensor, p: float = 0.5, training: bool = True,
              inplace: bool = False) -> Tensor:
    return _channel_dropout(input, p, training, 5, "dropout3d")


# ----- losses ---------------------------------------------------------------------------

_REDUCTIONS = ("none", "mean", "sum")

_TYPE_NAMES = {
    "float32": "Float", "float64": "Double", "float16": "Half", "int64": "Long",
    "int32": "Int", "int16": "Short", "int8": "Char", "uint8": "Byte", "bool": "Bool",
}


def _legacy_reduction(size_average, reduce, reduction: str) -> str:
    """Map the deprecated `size_average`/`reduce` flags to `reduction`."""
    if size_average is None and reduce is None:
        return reduction
    warnings.warn(
        "size_average and reduce args will be deprecated, please use reduction='"
        + ("none" if reduce is False else "mean" if size_average in (None, True) else "sum")
        + "' instead.",
        UserWarning,
        stacklevel=3,
    )
    if reduce is False:
        return "none"
    return "sum" if size_average is False else "mean"


def _check_reduction(reduction: str) -> None:
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{reduction} is not a valid value for reduction")


def _warn_size(input: Tensor, target: Tensor) -> None:
    if input.shape != target.shape:
        warnings.warn(
            f"Using a target size ({target.shape}) that is different to the input size "
            f"({input.shape}). This will likely lead to incorrect results due to "
            "broadcasting. Please ensure they have the same size.",
            UserWarning,
            stacklevel=3,
        )
        _broadcast_check(input._data.shape, target._data.shape)


def _broadcast_check(a: tuple, b: tuple) -> None:
    for i, (x, y) in enumerate(zip(a[::-1], b[::-1])):
        if x != y and x != 1 and y != 1:
            dim = max(len(a), len(b)) - 1 - i
            raise RuntimeError(
                f"The size of tensor a ({x}) must match the size of tensor b ({y}) at "
                f"non-singleton dimension {dim}"
            )


def _class_targets(input: Tensor, target: Tensor, weight: Tensor | None,
                   ignore_index: int) -> tuple[np.ndarray, np.ndarray | None]:
    """Check (input, class-index target, weight); return the target and weight arrays."""
    x, t = input._data, target._data
    if x.ndim == 0:
        raise ValueError(f"Expected 1 or more dimensions (got {x.ndim})")
    if t.dtype.kind not in "iu":
        raise RuntimeError(
            f"expected target dtype to be Long or Byte, but got {_TYPE_NAMES.get(t.dtype.name)}"
        )
    if x.ndim == 1:
        if t.ndim != 0:
            raise RuntimeError("0D or 1D target tensor expected, multi-target not supported")
    elif t.ndim == 0 or t.shape[0] != x.shape[0]:
        got = t.shape[0] if t.ndim else 0
        raise ValueError(
            f"Expected input batch_size ({x.shape[0]}) to match target batch_size ({got})."
        )
    elif x.ndim == 2 and t.ndim != 1:
        raise RuntimeError("0D or 1D target tensor expected, multi-target not supported")
    elif t.shape != x.shape[:1] + x.shape[2:]:
        expected = [x.shape[0], *x.shape[2:]]
        raise RuntimeError(f"Expected target size {expected}, got {list(t.shape)}")
    classes = x.shape[0] if x.ndim == 1 else x.shape[1]
    bad = (t != ignore_index) & ((t < 0) | (t >= classes))
    if bad.any():
        raise IndexError(f"Target {t[bad].flat[0]} is out of bounds.")
    if weight is None:
        return t.astype(np.intp, copy=False), None
    w = weight._data
    if w.shape != (classes,):
        raise RuntimeError(
            f"weight tensor should be defined either for all {classes} classes or no classes "
            f"but got weight tensor of shape: {list(w.shape)}"
        )
    return t.astype(np.intp, copy=False), w


def nll_loss(input: Tensor, target: Tensor, weight: Tensor | None = None, size_average=None,
             ignore_index: int = -100, reduce=None, reduction: str = "mean") -> Tensor:
    """Mean (or sum) of -input[n, target[n]] (weighted); input holds log-probabilities."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction)
    t, w = _class_targets(input, target, weight, ignore_index)
    return _loss.nll_loss(input, t, w, reduction, ignore_index)


def _class_weight_view(weight: Tensor, ndim: int) -> Tensor:
    """weight of shape (C,) shaped to broadcast along the class dim of an ndim input."""
    if ndim <= 2:
        return weight
    return weight.reshape(-1, *([1] * (ndim - 2)))


def cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None,
                  size_average=None, ignore_index: int = -100, reduce=None,
                  reduction: str = "mean", label_smoothing: float = 0.0) -> Tensor:
    """Cross entropy of logits `input` (N, C, d1, ...) against class indices (N, d1, ...)
    or class probabilities (same shape as input)."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction)
    if not 0.0 <= label_smoothing <= 1.0:
        raise RuntimeError(
            f"label_smoothing must be between 0.0 and 1.0. Got: {label_smoothing}"
        )
    target = to_tensor(target)
    x = input._data
    if x.ndim == 0:
        raise ValueError(f"Expected 1 or more dimensions (got {x.ndim})")
    class_dim = 0 if x.ndim == 1 else 1
    classes = x.shape[class_dim]
    if target._data.dtype.kind == "f":
        return _cross_entropy_probs(input, target, weight, reduction, label_smoothing,
                                    class_dim)
    t, w = _class_targets(input, target, weight, ignore_index)
    logp = _red.log_softmax(input, class_dim)
    nll = _loss.nll_loss(logp, t, w, reduction, ignore_index)
    if label_smoothing == 0.0:
        return nll
    keep = t != ignore_index
    if weight is not None:
        smooth = -(logp * _class_weight_view(weight, x.ndim)).sum(class_dim)
    else:
        smooth = -logp.sum(class_dim)
    if not keep.all():
        smooth = smooth * wrap(keep.astype(x.dtype))
    if reduction == "mean":
        denom = w[t[keep]].sum() if w is not None else keep.sum()
        smooth = smooth.sum() / float(denom)
    elif reduction == "sum":
        smooth = smooth.sum()
    return (1.0 - label_smoothing) * nll + smooth * (label_smoothing / classes)


def _cross_entropy_probs(input: Tensor, target: Tensor, weight: Tensor | None,
                         reduction: str, label_smoothing: float, class_dim: int) -> Tensor:
    if target.shape != input.shape:
        raise RuntimeError(
            f"Expected target size {list(input.shape)}, got {list(target.shape)}"
        )
    classes = input.shape[class_dim]
    logp = _red.log_softmax(input, class_dim)
    if label_smoothing > 0.0:
        target = target * (1.0 - label_smoothing) + label_smoothing / classes
    prod = logp * target
    if weight is not None:
        prod = prod * _class_weight_view(weight, input.ndim)
    loss = -prod.sum(class_dim)
    if reduction == "mean":
        return loss.sum() / float(input.numel() // classes if classes else 0)
    if reduction == "sum":
        return loss.sum()
    return loss


def mse_loss(input: Tensor, target: Tensor, size_average=None, reduce=None,
             reduction: str = "mean", weight: Tensor | None = None) -> Tensor:
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction)
    target = to_tensor(target)
    _warn_size(input, target)
    if weight is not None:
        diff = input - target
        return _weighted_by(diff * diff, weight, reduction, input)
    return _loss.mse_loss(input, target, reduction)


def l1_loss(input: Tensor, target: Tensor, size_average=None, reduce=None,
            reduction: str = "mean", weight: Tensor | None = None) -> Tensor:
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction)
    target = to_tensor(target)
    _warn_size(input, target)
    loss = (input - target).abs()
    if weight is not None:
        return _weighted_by(loss, weight, reduction, input)
    return _weighted(loss, reduction)


def _weighted(loss: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


def _weighted_by(loss: Tensor, weight: Tensor, reduction: str, input: Tensor) -> Tensor:
    """weight * loss, where 'mean' divides by the total weight (PyTorch's mse/l1 rule)."""
    if weight.shape != input.shape:
        raise ValueError("Weights and input must have the same size.")
    loss = loss * weight
    if reduction == "mean":
        return loss.sum() / weight.sum()
    return _weighted(loss, reduction)


def smooth_l1_loss(input: Tensor, target: Tensor, size_average=None, reduce=None,
                   reduction: str = "mean", beta: float = 1.0) -> Tensor:
    """0.5 d^2 / beta where |d| < beta, else |d| - beta / 2 (d = input - target)."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction)
    if beta < 0:
        raise RuntimeError("smooth_l1_loss does not support negative values for beta.")
    target = to_tensor(target)
    _warn_size(input, target)
    if beta == 0.0:
        return l1_loss(input, target, reduction=reduction)
    return _loss.smooth_l1_loss(input, target, reduction, float(beta))


def huber_loss(input: Tensor, target: Tensor, reduction: str = "mean", delta: float = 1.0,
               weight: Tensor | None = None) -> Tensor:
    """0.5 d^2 where |d| < delta, else delta (|d| - delta / 2)."""
    _check_reduction(reduction)
    if delta <= 0:
        raise RuntimeError("huber_loss does not support non-positive values for delta.")
    target = to_tensor(target)
    _warn_size(input, target)
    if weight is not None:
        if weight.shape != input.shape:
            raise ValueError("Weights and input must have the same size.")
        return _weighted(_loss.huber_loss(input, target, "none", float(delta)) * weight,
                         reduction)
    return _loss.huber_loss(input, target, reduction, float(delta))


def _array_or_none(t: Tensor | None) -> np.ndarray | None:
    return None if t is None else to_tensor(t)._data


def binary_cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None,
                         size_average=None, reduce=None, reduction: str = "mean") -> Tensor:
    """-(t log x + (1 - t) log(1 - x)), logs clamped at -100; `input` holds probabilities."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction)
    target = to_tensor(target)
    if target.shape != input.shape:
        raise ValueError(
            f"Using a target size ({target.shape}) that is different to the input size "
            f"({input.shape}) is deprecated. Please ensure they have the same size."
        )
    return _loss.binary_cross_entropy(input, target, reduction, _array_or_none(weight))


def binary_cross_entropy_with_logits(input: Tensor, target: Tensor,
                                     weight: Tensor | None = None, size_average=None,
                                     reduce=None, reduction: str = "mean",
                                     pos_weight: Tensor | None = None) -> Tensor:
    """Sigmoid + binary cross entropy in one numerically stable step; `pos_weight`
    weighs the positive term (per class, broadcast along the last dim)."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction)
    target = to_tensor(target)
    if target.shape != input.shape:
        raise ValueError(
            f"Target size ({target.shape}) must be the same as input size ({input.shape})"
        )
    return _loss.binary_cross_entropy_with_logits(
        input, target, reduction, _array_or_none(weight), _array_or_none(pos_weight)
    )


def kl_div(input: Tensor, target: Tensor, size_average=None, reduce=None,
           reduction: str = "mean", log_target: bool = False) -> Tensor:
    """KL(target || exp(input)) pointwise: target * (log target - input); `input` holds
    log-probabilities (and `target` too when `log_target`)."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    if reduction not in (*_REDUCTIONS, "batchmean"):
        raise ValueError(f"{reduction} is not a valid value for reduction")
    if reduction == "mean":
        warnings.warn(
            "reduction: 'mean' divides the total loss by both the batch size and the support "
            "size.'batchmean' divides only by the batch size, and aligns with the KL div math "
            "definition.'mean' will be changed to behave the same as 'batchmean' in the next "
            "major release.",
            UserWarning,
            stacklevel=2,
        )
    target = to_tensor(target)
    if log_target:
        loss = _ew.exp(target) * (target - input)
    elif target._requires_grad:
        positive = target > 0
        safe = _ew.where(positive, target, 1.0)
        loss = target * _ew.log(safe) - target * input
    else:
        t = target._data
        with np.errstate(divide="ignore", invalid="ignore"):
            xlogx = np.where(t > 0, t * np.log(np.where(t > 0, t, 1)), 0).astype(t.dtype)
        loss = wrap(xlogx) - target * input
    if reduction == "batchmean":
        total = loss.sum()
        return total / input.shape[0] if input.ndim else total
    return _weighted(loss, reduction)


# ----- utilities ------------------------------------------------------------------------

def one_hot(tensor: Tensor, num_classes: int = -1) -> Tensor:
    """int64 one-hot encoding along a new last dim."""
    idx = tensor._data
    if idx.dtype != np.int64:
        raise RuntimeError(
            "one_hot is only applicable to index tensor of type LongTensor."
        )
    if idx.size and idx.min() < 0:
        raise RuntimeError("Class values must be non-negative.")
    if num_classes == -1:
        if not idx.size:
            raise RuntimeError("Can not infer total number of classes from empty tensor.")
        num_classes = int(idx.max()) + 1
    elif idx.size and idx.max() >= num_classes:
        raise RuntimeError("Class values must be smaller than num_classes.")
    out = np.zeros(idx.shape + (num_classes,), np.int64)
    np.put_along_axis(out, idx[..., None], 1, axis=-1)
    return wrap(out)


def normalize(input: Tensor, p: float = 2.0, dim: int = 1, eps: float = 1e-12,
              out: Tensor | None = None) -> Tensor:
    """input / max(||input||_p along dim, eps)."""
    norm = _red.vector_norm(input, p, dim, True)
    return input / _ew.clamp(norm, min=eps)


def cosine_similarity(x1: Tensor, x2: Tensor, dim: int = 1, eps: float = 1e-8) -> Tensor:
    """sum(x1 * x2) / (max(||x1||, eps) * max(||x2||, eps)) along `dim`."""
    n1 = _ew.clamp(_red.vector_norm(x1, 2, dim, True), min=eps)
    n2 = _ew.clamp(_red.vector_norm(x2, 2, dim, True), min=eps)
    return ((x1 / n1) * (x2 / n2)).sum(dim)


def pairwise_distance(x1: Tensor, x2: Tensor, p: float = 2.0, eps: float = 1e-6,
                      keepdim: bool = False) -> Tensor:
    """||x1 - x2 + eps||_p along the last dim."""
    return _red.vector_norm(x1 - x2 + eps, p, -1, keepdim)


# ----- ops of other families: convolution, pooling, normalization, attention, padding ----

def _reexport(family: str) -> None:
    module = importlib.import_module(f"{__package__.rpartition('.')[0]}.ops.{family}")
    for attr in module.__all__:
        if attr not in globals():
            globals()[attr] = getattr(module, attr)
            __all__.append(attr)


for _family in ("conv", "nn_ops", "attention", "padding"):
    _reexport(_family)
