"""Linear algebra: matrix products (matmul, addmm, einsum, ...), diagonals and triangles,
cross and cdist, and the decompositions behind `ember.linalg` (inv, det, solve, cholesky,
qr, eigh, svd, pinv, matrix norms).

Decompositions with several outputs (qr, eigh, svd) record one node whose backward gets one
gradient (or None) per output; their formulas are written with ember ops, so they can be
differentiated again.
"""

from __future__ import annotations

import builtins
import functools
import math
import string
import warnings
from collections import Counter

import numpy as np

from .._tensor import Tensor, _make, _wrap_dim, tensor_type_name
from ..autograd.grad_mode import _tracking
from ..autograd.graph import SavedTensor
from ._define import OUT, Op, _operands, record, to_tensor, unary, wrap
from ._view import view_op
from .elementwise import where
from .reduction import _cast, _return_type, _type_name, vector_norm
from .shape import cat

__all__ = [
    "matmul", "mm", "bmm", "dot", "linear", "addmm", "addmv", "baddbmm", "outer", "ger",
    "einsum", "tensordot", "kron", "diag", "diagonal", "diag_embed", "tril", "triu", "trace",
    "cross", "cdist", "inverse", "det", "logdet", "slogdet", "pinverse",
]


def _check_matmul(a: np.ndarray, b: np.ndarray) -> None:
    if a.ndim == 0 or b.ndim == 0:
        raise RuntimeError(
            f"both arguments to matmul need to be at least 1D, but they are {a.ndim}D and "
            f"{b.ndim}D"
        )
    k_a = a.shape[-1]
    k_b = b.shape[0] if b.ndim == 1 else b.shape[-2]
    if k_a != k_b:
        left = a.shape if a.ndim > 1 else (1,) + a.shape
        right = b.shape if b.ndim > 1 else b.shape + (1,)
        raise RuntimeError(
            f"mat1 and mat2 shapes cannot be multiplied ({'x'.join(map(str, left[-2:]))} and "
            f"{'x'.join(map(str, right[-2:]))})"
        )


class MatmulBackward0(Op):
    """Shared backward of all matrix products."""

    needs = ((1,), (0,))
    forward = staticmethod(np.matmul)

    def backward(self, g):
        a, b, _ = self.saved_tensors
        need_a, need_b = self.needs_input_grad
        a_vec = self._shapes[0][0].__len__() == 1
        b_vec = self._shapes[1][0].__len__() == 1
        if a_vec and b_vec:
            G = g.reshape(1, 1)
        elif a_vec:
            G = g.unsqueeze(-2)
        elif b_vec:
            G = g.unsqueeze(-1)
        else:
            G = g
        ga = gb = None
        if need_a:
            B = b.unsqueeze(-1) if b_vec else b
            ga = G @ B.transpose(-2, -1)
            if a_vec:
                ga = ga.squeeze(-2)
        if need_b:
            A = a.unsqueeze(0) if a_vec else a
            gb = A.transpose(-2, -1) @ G
            if b_vec:
                gb = gb.squeeze(-1)
        return ga, gb


class MmBackward0(MatmulBackward0):
    pass


class DotBackward0(MatmulBackward0):
    pass


class MvBackward0(MatmulBackward0):
    pass


class BmmBackward0(MatmulBackward0):
    pass


def matmul(a, b) -> Tensor:
    """Matrix product with NumPy/PyTorch broadcasting rules."""
    if type(a) is Tensor and type(b) is Tensor and a._data.dtype is b._data.dtype:
        ad, bd = a._data, b._data
    else:
        a, b, ad, bd = _operands(a, b)
    if type(ad) is not np.ndarray or type(bd) is not np.ndarray:
        raise RuntimeError("both arguments to matmul need to be at least 1D, but one is a scalar")
    try:
        out = np.matmul(ad, bd)
    except ValueError:
        _check_matmul(ad, bd)
        raise
    if (a._requires_grad or b._requires_grad) and _tracking.get():
        if ad.ndim == 2 and bd.ndim == 2:
            cls = MmBackward0
        elif ad.ndim == 1 and bd.ndim == 1:
            cls = DotBackward0
        elif ad.ndim == 2 and bd.ndim == 1:
            cls = MvBackward0
        else:
            cls = MatmulBackward0
        return record(cls, out, (a, b))
    return wrap(out)


def mm(a: Tensor, b: Tensor) -> Tensor:
    if a.ndim != 2 or b.ndim != 2:
        raise RuntimeError("self must be a matrix")
    return matmul(a, b)


def bmm(a: Tensor, b: Tensor) -> Tensor:
    if a.ndim != 3 or b.ndim != 3:
        raise RuntimeError("batch1 must be a 3D tensor")
    return matmul(a, b)


def dot(a: Tensor, b: Tensor) -> Tensor:
    if a.ndim != 1 or b.ndim != 1:
        raise RuntimeError(
            f"1D tensors expected, but got {a.ndim}D and {b.ndim}D tensors"
        )
    return matmul(a, b)


def _linear(x, w, b):
    out = np.matmul(x, w.T)
    if b is not None:
        out += b
    return out


class AddmmBackward0(Op):
    """y = x @ w.T + b in one node (what nn.Linear records)."""

    needs = ((1,), (0,), ())
    forward = staticmethod(_linear)

    def backward(self, g):
        x, w, _, _ = self.saved_tensors
        need_x, need_w, need_b = self.needs_input_grad
        gx = g @ w if need_x else None
        gw = gb = None
        if need_w:
            g2 = g if g.ndim == 2 else g.reshape(-1, self._shapes[1][0][0])
            x2 = x if x.ndim == 2 else x.reshape(-1, self._shapes[1][0][1])
            gw = g2.t() @ x2
        if need_b:
            gb = g.sum(tuple(range(g.ndim - 1))) if g.ndim > 1 else g
        return gx, gw, gb


# Without a bias PyTorch records the product alone.
_LinearNoBias = type("MmBackward0", (AddmmBackward0,), {})


def linear(x: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """x @ weight.T + bias, recorded as a single node."""
    if x._data.shape[-1] != weight._data.shape[-1]:
        rows = int(np.prod(x._data.shape[:-1])) if x._data.ndim > 1 else 1
        raise RuntimeError(
            f"mat1 and mat2 shapes cannot be multiplied ({rows}x{x._data.shape[-1]} and "
            f"{weight._data.shape[1]}x{weight._data.shape[0]})"
        )
    bd = None if bias is None else bias._data
    out = _linear(x._data, weight._data, bd)
    if _tracking.get() and (x._requires_grad or weight._requires_grad
                            or (bias is not None and bias._requires_grad)):
        cls = AddmmBackward0 if bias is not None else _LinearNoBias
        return record(cls, out, (x, weight, bias))
    return wrap(out)


# ----- helpers ---------------------------------------------------------------------------
def _named(cls: type, name: str) -> type:
    """Give an op class PyTorch's grad_fn name when another class here already has it."""
    cls.__name__ = cls.__qualname__ = name
    return cls


def _needs_graph(*tensors) -> bool:
    return _tracking.get() and any(isinstance(t, Tensor) and t._requires_grad for t in tensors)


def _shape_str(shape: tuple) -> str:
    return "x".join(map(str, shape)) if shape else "()"


def _tensor_arg(x) -> Tensor:
    return x if isinstance(x, Tensor) else to_tensor(x)


def _record_outputs(cls: type[Op], outs: tuple, inputs: tuple, args: tuple = (),
                    saved_inputs: tuple = ()) -> tuple:
    """Several outputs of one `cls` node; backward gets one gradient (or None) per output
    and `saved_tensors` is (the inputs in `saved_inputs`, None elsewhere..., the outputs)."""
    if not _needs_graph(*inputs):
        return tuple(wrap(o) for o in outs)
    first = record(cls, outs[0], inputs, args)
    node = first._grad_fn
    node.num_outputs = len(outs)
    results = [first]
    for i, o in enumerate(outs[1:], 1):
        t = _make(np.asarray(o), True, node)
        t._output_nr = i
        results.append(t)
    saved = [SavedTensor(t) if i in saved_inputs else None for i, t in enumerate(inputs)]
    node._saved = tuple(saved) + tuple(SavedTensor(t, True) for t in results)
    return tuple(results)


def _outputs_of(node: Op, n_inputs: int) -> list:
    """The saved outputs of a `_record_outputs` node, each wired to its own output slot."""
    outs = list(node.saved_tensors[n_inputs:])
    for i, t in enumerate(outs):
        if t is not None and t._grad_fn is node:
            t._output_nr = i
    return outs


# ----- matrix products with an added term: addmm, addmv, baddbmm -------------------------
def _add_product(inp, p1, p2, beta, alpha):
    out = np.matmul(p1, p2)
    if alpha != 1:
        out *= alpha
    if beta != 0:  # beta == 0 ignores input entirely (NaN included), as in PyTorch
        out += inp if beta == 1 else beta * inp
    return out


class _AddProduct(Op):
    """beta * input + alpha * (p1 @ p2): the one backward of addmm, addmv (p2 a vector)
    and baddbmm."""

    needs = ((), (2,), (1,))
    forward = staticmethod(_add_product)

    def backward(self, g):
        _, p1, p2, _ = self.saved_tensors
        beta, alpha = self.args
        need_in, need_1, need_2 = self.needs_input_grad
        g_in = g_1 = g_2 = None
        if need_in:
            g_in = g * beta if beta != 1 else g
        ga = g * alpha if alpha != 1 else g
        if need_1:
            g_1 = ga.unsqueeze(-1) * p2 if p2.ndim == 1 else ga @ p2.mT
        if need_2:
            g_2 = p1.mT @ ga
        return g_in, g_1, g_2


# AddmmBackward0 above is nn.Linear's node (x @ w.T + b); this is torch.addmm's.
_AddmmBackward = _named(type("AddmmBackward", (_AddProduct,), {}), "AddmmBackward0")


class AddmvBackward0(_AddProduct):
    pass


class BaddbmmBackward0(_AddProduct):
    pass


def _check_input_shape(inp: np.ndarray, shape: tuple) -> None:
    for i in range(1, min(inp.ndim, len(shape)) + 1):
        if inp.shape[-i] not in (1, shape[-i]):
            raise RuntimeError(
                f"The expanded size of the tensor ({shape[-i]}) must match the existing size "
                f"({inp.shape[-i]}) at non-singleton dimension {len(shape) - i}.  Target sizes: "
                f"{list(shape)}.  Tensor sizes: {list(inp.shape)}"
            )
    if inp.ndim > len(shape):
        raise RuntimeError(
            f"expand({tensor_type_name(inp.dtype)}{{{list(inp.shape)}}}, size={list(shape)}): "
            f"the number of sizes provided ({len(shape)}) must be greater or equal to the "
            f"number of dimensions in the tensor ({inp.ndim})"
        )


def _add_product_call(cls, input, p1, p2, beta, alpha, out_shape) -> Tensor:
    inp = _tensor_arg(input)
    _check_input_shape(inp._data, out_shape)
    out = _add_product(inp._data, p1._data, p2._data, beta, alpha)
    if _needs_graph(inp, p1, p2):
        return record(cls, out, (inp, p1, p2), (beta, alpha))
    return wrap(out)


def addmm(input, mat1: Tensor, mat2: Tensor, *, beta=1, alpha=1) -> Tensor:
    """beta * input + alpha * (mat1 @ mat2), input broadcast to the product's shape."""
    a, b = mat1._data, mat2._data
    if a.ndim != 2:
        raise RuntimeError(f"mat1 must be a matrix, got {a.ndim}-D tensor")
    if b.ndim != 2:
        raise RuntimeError(f"mat2 must be a matrix, got {b.ndim}-D tensor")
    if a.shape[1] != b.shape[0]:
        raise RuntimeError(
            f"mat1 and mat2 shapes cannot be multiplied ({_shape_str(a.shape)} and "
            f"{_shape_str(b.shape)})"
        )
    return _add_product_call(_AddmmBackward, input, mat1, mat2, beta, alpha,
                             (a.shape[0], b.shape[1]))


def addmv(input, mat: Tensor, vec: Tensor, *, beta=1, alpha=1) -> Tensor:
    """beta * input + alpha * (mat @ vec)."""
    inp = _tensor_arg(input)
    m, v = mat._data, vec._data
    if m.ndim != 2 or v.ndim != 1 or inp._data.ndim > 1:
        raise RuntimeError(
            f"vector + matrix @ vector expected, got {inp._data.ndim}, {m.ndim}, {v.ndim}")
    if m.shape[1] != v.shape[0] or inp._data.shape not in ((), (1,), (m.shape[0],)):
        raise RuntimeError(
            f"size mismatch, got input ({_shape_str(inp._data.shape)}), mat "
            f"({_shape_str(m.shape)}), vec ({v.shape[0]})"
        )
    return _add_product_call(AddmvBackward0, inp, mat, vec, beta, alpha, (m.shape[0],))


def baddbmm(input, batch1: Tensor, batch2: Tensor, *, beta=1, alpha=1) -> Tensor:
    """beta * input + alpha * (batch1 @ batch2) for batches of matrices."""
    a, b = batch1._data, batch2._data
    if a.ndim != 3:
        raise RuntimeError("batch1 must be a 3D tensor")
    if b.ndim != 3:
        raise RuntimeError("batch2 must be a 3D tensor")
    if b.shape[:2] != (a.shape[0], a.shape[2]):
        raise RuntimeError(
            "Expected size for first two dimensions of batch2 tensor to be: "
            f"[{a.shape[0]}, {a.shape[2]}] but got: [{b.shape[0]}, {b.shape[1]}]."
        )
    return _add_product_call(BaddbmmBackward0, input, batch1, batch2, beta, alpha,
                             (a.shape[0], a.shape[1], b.shape[2]))


def outer(input: Tensor, vec2: Tensor) -> Tensor:
    """The outer product of two vectors (recorded as a product, as in PyTorch)."""
    for name, v in (("self", input), ("vec2", vec2)):
        if v.ndim != 1:
            raise RuntimeError(f"outer: Expected 1-D argument {name}, but got {v.ndim}-D")
    return input.reshape(-1, 1) * vec2


ger = outer


# ----- einsum --------------------------------------------------------------------------
_LETTERS = string.ascii_uppercase + string.ascii_lowercase


@functools.lru_cache(maxsize=512)
def _einsum_terms(equation: str, shapes: tuple) -> tuple[tuple[str, ...], str, dict]:
    """Parse an einsum equation into explicit per-operand labels (ellipses expanded into
    unused letters), the output labels and each label's size, with PyTorch's checks and
    messages."""
    eq = equation.replace(" ", "")
    lhs, arrow, rhs = eq.partition("->")
    terms = lhs.split(",")
    if len(terms) > len(shapes):
        raise RuntimeError("einsum(): fewer operands were provided than specified in the equation")
    if len(terms) < len(shapes):
        raise RuntimeError("einsum(): more operands were provided than specified in the equation")
    for i, ch in enumerate(eq):
        if not (ch in _LETTERS or ch in ".,->"):
            raise RuntimeError(
                f"einsum(): invalid subscript given at index {i} in the equation string, "
                "subscripts must be in [a-zA-Z]"
            )
    free = [c for c in _LETTERS if c not in eq]
    parsed, ell_dims = [], 0
    for k, (term, shape) in enumerate(zip(terms, shapes)):
        ndim = len(shape)
        has_ell = "..." in term
        letters = term.replace("...", "")
        if "." in letters:
            raise RuntimeError(
                f"einsum(): found '.' for operand {k} that is not part of any ellipsis")
        if not has_ell and len(letters) != ndim:
            raise RuntimeError(
                f"einsum(): the number of subscripts in the equation ({len(letters)}) does not "
                f"match the number of dimensions ({ndim}) for operand {k} and no ellipsis "
                "was given"
            )
        if has_ell and len(letters) > ndim:
            raise RuntimeError(
                f"einsum(): the number of subscripts in the equation ({len(letters)}) is more "
                f"than the number of dimensions ({ndim}) for operand {k}"
            )
        n_ell = ndim - len(letters) if has_ell else 0
        ell_dims = max(ell_dims, n_ell)
        parsed.append((term, n_ell))
    if ell_dims > len(free):
        raise RuntimeError("einsum(): too many dimensions for the available subscript letters")
    ell = "".join(free[len(free) - ell_dims:])
    labels = tuple(term.replace("...", ell[ell_dims - n:]) for term, n in parsed)
    if arrow:
        if "." in rhs.replace("...", ""):
            raise RuntimeError("einsum(): found '.' for output but it is not part of any ellipsis")
        out = rhs.replace("...", ell)
        seen = "".join(labels)
        for c in out:
            if c not in seen:
                raise RuntimeError(
                    f"einsum(): output subscript {c} does not appear in the equation for any "
                    "input operand"
                )
            if out.count(c) > 1:
                raise RuntimeError(f"einsum(): output subscript {c} appears more than once in "
                                   "the output")
    else:
        counts = Counter("".join(labels))
        out = ell + "".join(sorted(c for c, n in counts.items() if n == 1 and c not in ell))
    return labels, out, _einsum_sizes(labels, shapes)


def _einsum_sizes(labels: tuple, shapes: tuple) -> dict:
    sizes: dict = {}
    for k, (lab, shape) in enumerate(zip(labels, shapes)):
        own: dict = {}
        for c, n in zip(lab, shape):
            if c in own and own[c] != n:
                raise RuntimeError(
                    f"einsum(): subscript {c} is repeated for operand {k} but the sizes don't "
                    f"match, {own[c]} != {n}"
                )
            own[c] = n
        for c, n in own.items():
            seen = sizes.get(c, 1)
            if n != 1 and seen != 1 and n != seen:
                raise RuntimeError(
                    f"einsum(): subscript {c} has size {n} for operand {k} which does not "
                    f"broadcast with previously seen size {seen}"
                )
            sizes[c] = max(seen, n)
    return sizes


class _EinsumBackward(Op):
    """The node of one einsum call; each operand's gradient is another einsum of the
    output gradient with the other operands (see `_operand_grad`)."""

    def backward(self, g):
        ops = self.saved_tensors[:-1]
        return tuple(
            _operand_grad(g, k, *self.args, ops, self._shapes[k][0]) if need else None
            for k, need in enumerate(self.needs_input_grad)
        )


_einsum_classes: dict = {}


def _einsum_class(n: int) -> type[Op]:
    """The node class for `n` operands (each operand's gradient needs all the others)."""
    cls = _einsum_classes.get(n)
    if cls is None:
        needs = tuple(tuple(j for j in range(n) if j != k) for k in range(n))
        cls = _named(type("EinsumBackward", (_EinsumBackward,), {"needs": needs}),
                     "EinsumBackward0")
        _einsum_classes[n] = cls
    return cls


def _operand_grad(g: Tensor, k: int, labels: tuple, out_labels: str, sizes: dict, ops: tuple,
                  shape: tuple) -> Tensor:
    """d(einsum)/d(operand k) applied to g: einsum(g, other operands -> labels of k).

    Labels of operand k that appear nowhere else are broadcast back with expand; a label
    repeated within operand k (a diagonal) is routed through identity matrices; a size-1
    dim that was broadcast is summed (the engine sums it back to size 1)."""
    used = set("".join(labels)) | set(out_labels)
    fresh = iter(c for c in _LETTERS if c not in used)
    target = []
    extra_terms, extra_ops = [], []
    first_seen: set = set()
    for c, n in zip(labels[k], shape):
        if n == 1 and sizes[c] != 1:
            target.append(next(fresh))  # a broadcast dim: its own size-1 label
        elif c in first_seen:
            d = next(fresh)  # a repeated label: tie it to the first with an identity
            extra_terms.append(c + d)
            extra_ops.append(wrap(np.eye(n, dtype=g._data.dtype)))
            target.append(d)
        else:
            first_seen.add(c)
            target.append(c)
    terms = [out_labels] + [lab for j, lab in enumerate(labels) if j != k] + extra_terms
    operands = [g] + [o for j, o in enumerate(ops) if j != k] + extra_ops
    available = set("".join(terms))
    kept = "".join(c for c in target if c in available)
    grad = einsum(",".join(terms) + "->" + kept, *operands)
    if len(kept) != len(target):
        # Labels only operand k had were summed away: broadcast the gradient back over them.
        grad = grad.reshape(tuple(n if c in available else 1 for c, n in zip(target, shape)))
        grad = grad.expand(shape)
    return grad


def einsum(equation: str, *operands) -> Tensor:
    """Einstein summation (NumPy's einsum with an optimized contraction order), with
    PyTorch's parsing: implicit output, ellipses, size-1 broadcasting, diagonals."""
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    if not isinstance(equation, str):
        raise RuntimeError("einsum(): the sublist format is not supported; pass an equation")
    if not operands:
        raise RuntimeError("einsum(): must provide at least one operand")
    tensors = [_tensor_arg(o) for o in operands]
    arrays = [t._data for t in tensors]
    dt = arrays[0].dtype
    for a in arrays[1:]:
        if a.dtype != dt:
            raise RuntimeError(
                f"expected scalar type {_type_name(dt)} but found {_type_name(a.dtype)}")
    labels, out_labels, sizes = _einsum_terms(equation, tuple(a.shape for a in arrays))
    # optimize: pairwise contractions through BLAS where the path search finds them.
    out = np.einsum(",".join(labels) + "->" + out_labels, *arrays, optimize=len(arrays) > 1)
    if not isinstance(out, np.ndarray):
        out = np.asarray(out)
    elif out.base is not None and any(np.may_share_memory(out, a) for a in arrays):
        out = out.copy()  # NumPy returns views for pure relabellings; ember owns its results
    if _needs_graph(*tensors):
        return record(_einsum_class(len(tensors)), out, tuple(tensors),
                      (labels, out_labels, sizes))
    return wrap(out)


def tensordot(a: Tensor, b: Tensor, dims=2) -> Tensor:
    """Contract the last `dims` dims of `a` with the first of `b`, or the listed pairs
    (`dims=([...], [...])`); built from permute, reshape and mm."""
    sa, sb = a._data.shape, b._data.shape
    if isinstance(dims, Tensor):
        dims = dims.tolist()
    if isinstance(dims, (int, np.integer)):
        if dims < 0:
            raise RuntimeError(f"tensordot expects dims >= 0, but got dims={dims}")
        da, db = list(range(len(sa) - dims, len(sa))), list(range(dims))
    else:
        da, db = ([d] if isinstance(d, (int, np.integer)) else list(d) for d in dims)
    if len(da) != len(db):
        raise RuntimeError("both dimension lists should have same length")
    da = [_wrap_dim(d, len(sa)) for d in da]
    db = [_wrap_dim(d, len(sb)) for d in db]
    for i, j in zip(da, db):
        if sa[i] != sb[j]:
            raise RuntimeError(
                f"contracted dimensions need to match, but first has size {sa[i]} in dim {i} "
                f"and second has size {sb[j]} in dim {j}"
            )
    free_a = [d for d in range(len(sa)) if d not in da]
    free_b = [d for d in range(len(sb)) if d not in db]
    n = math.prod(sa[d] for d in da)
    left = a.permute(free_a + da).reshape(-1, n)
    right = b.permute(db + free_b).reshape(n, -1)
    return (left @ right).reshape([sa[d] for d in free_a] + [sb[d] for d in free_b])


def kron(input: Tensor, other: Tensor) -> Tensor:
    """The Kronecker product: every element of `input` times a block `other`."""
    nd = max(input.ndim, other.ndim)
    sa = (1,) * (nd - input.ndim) + tuple(input.shape)
    sb = (1,) * (nd - other.ndim) + tuple(other.shape)
    # a[i, j] * b[k, l] laid out as (i, k, j, l), then merged to (i*k, j*l).
    a = input.reshape([s for d in sa for s in (d, 1)])
    b = other.reshape([s for d in sb for s in (1, d)])
    return (a * b).reshape([x * y for x, y in zip(sa, sb)])


# ----- diagonals and triangles -----------------------------------------------------------
def _diag_dims(x_ndim: int, dim1: int, dim2: int) -> tuple[int, int]:
    d1, d2 = _wrap_dim(dim1, x_ndim), _wrap_dim(dim2, x_ndim)
    if d1 == d2:
        raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    return d1, d2


def _diagonal(x, offset, d1, d2):
    out = np.diagonal(x, offset, d1, d2)
    if x.flags.writeable:
        out.flags.writeable = True  # a view that in-place ops may write through, as in torch
    return out


def _embed(values, shape, offset, d1, d2):
    """Zeros of `shape` with `values` on the diagonal (offset, d1, d2)."""
    out = np.zeros(shape, dtype=values.dtype)
    view = np.diagonal(out, offset, d1, d2)
    view.flags.writeable = True
    view[...] = values
    return out


class DiagonalBackward0(Op):
    needs = ((),)
    forward = staticmethod(_diagonal)

    def backward(self, g):
        offset, d1, d2 = self.args
        return _diagonal_backward(g, self._shapes[0][0], offset, d1, d2)


class DiagonalBackwardBackward0(Op):
    """The backward of diagonal: zeros with `g` on the diagonal."""

    needs = ((),)
    forward = staticmethod(_embed)

    def backward(self, g):
        _, offset, d1, d2 = self.args
        return diagonal(g, offset, d1, d2)


class DiagEmbedBackward0(Op):
    needs = ((),)

    @staticmethod
    def forward(x, offset, d1, d2):
        n = x.shape[-1] + builtins.abs(offset)
        shape = list(x.shape[:-1])
        for d in sorted((d1, d2)):
            shape.insert(d, n)
        return _embed(x, tuple(shape), offset, d1, d2)

    def backward(self, g):
        return diagonal(g, *self.args)


_diagonal_op = view_op(DiagonalBackward0)
_diagonal_backward = unary(DiagonalBackwardBackward0)
_diag_embed_op = unary(DiagEmbedBackward0)
# diag of a matrix returns a copy, which PyTorch records under this name.
_diag_copy_op = unary(type("DiagonalBackward0_copy", (DiagonalBackward0,), {
    "forward": staticmethod(lambda x, offset, d1, d2: np.diagonal(x, offset, d1, d2).copy())}))


def diagonal(input: Tensor, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Tensor:
    """A view of the diagonal (`offset` above it when positive) of the dims `dim1`,
    `dim2`, which are removed; the diagonal becomes the last dim."""
    x = _tensor_arg(input)
    d1, d2 = _diag_dims(x._data.ndim, dim1, dim2)
    return _diagonal_op(x, int(offset), d1, d2)


def diag_embed(input: Tensor, offset: int = 0, dim1: int = -2, dim2: int = -1) -> Tensor:
    """Matrices (in dims `dim1`, `dim2` of the result) with the last dim of `input` on
    their diagonal."""
    x = _tensor_arg(input)
    d1, d2 = _diag_dims(x._data.ndim + 1, dim1, dim2)
    return _diag_embed_op(x, int(offset), d1, d2)


def diag(input: Tensor, diagonal: int = 0) -> Tensor:
    """A vector to a diagonal matrix, or the diagonal of a matrix (a copy)."""
    x = _tensor_arg(input)
    if x._data.ndim == 1:
        return _diag_embed_op(x, int(diagonal), 0, 1)
    if x._data.ndim == 2:
        return _diag_copy_op(x, int(diagonal), 0, 1)
    raise RuntimeError(f"diag(): Supports 1D or 2D tensors. Got {x._data.ndim}D")


class TrilBackward0(Op):
    needs = ((),)
    forward = staticmethod(np.tril)

    def backward(self, g):
        return tril(g, self.args[0])


class TriuBackward0(Op):
    needs = ((),)
    forward = staticmethod(np.triu)

    def backward(self, g):
        return triu(g, self.args[0])


_tril_op, _triu_op = unary(TrilBackward0), unary(TriuBackward0)


def tril(input: Tensor, diagonal: int = 0) -> Tensor:
    """The lower triangle of the last two dims (on and below `diagonal`), zeros above."""
    if input.ndim < 2:
        raise RuntimeError("tril: input tensor must have at least 2 dimensions")
    return _tril_op(input, int(diagonal))


def triu(input: Tensor, diagonal: int = 0) -> Tensor:
    """The upper triangle of the last two dims (on and above `diagonal`), zeros below."""
    if input.ndim < 2:
        raise RuntimeError("triu: input tensor must have at least 2 dimensions")
    return _triu_op(input, int(diagonal))


class TraceBackward0(Op):
    needs = ((),)
    forward = staticmethod(np.trace)

    def backward(self, g):
        n, m = self._shapes[0][0]
        return g * wrap(np.eye(n, m, dtype=g._data.dtype))


_trace_op = unary(TraceBackward0)


def trace(input: Tensor) -> Tensor:
    """The sum of the main diagonal of a matrix."""
    if input.ndim != 2:
        raise RuntimeError(f"trace: expected a matrix, but got tensor with dim {input.ndim}")
    return _trace_op(input)


# ----- cross, cdist ----------------------------------------------------------------------
class LinalgCrossBackward0(Op):
    needs = ((1,), (0,))

    @staticmethod
    def forward(a, b, dim):
        return np.cross(a, b, axis=dim)

    def backward(self, g):
        a, b, _ = self.saved_tensors
        d = self.args[0]
        need_a, need_b = self.needs_input_grad
        return (_cross(b, g, d) if need_a else None), (_cross(g, a, d) if need_b else None)


def _cross(a: Tensor, b: Tensor, dim: int) -> Tensor:
    a, b, ad, bd = _operands(a, b)
    out = np.cross(ad, bd, axis=dim)
    if _needs_graph(a, b):
        return record(LinalgCrossBackward0, out, (a, b), (dim,))
    return wrap(out)


def _linalg_cross(input: Tensor, other: Tensor, *, dim: int = -1) -> Tensor:
    """The 3-vector cross product along `dim` (other dims broadcast)."""
    if input.ndim != other.ndim:
        raise RuntimeError(
            f"linalg.cross: inputs must have the same number of dimensions. Got {input.ndim} "
            f"and {other.ndim}"
        )
    d = _wrap_dim(dim, input.ndim)
    if input.shape[d] != 3 or other.shape[d] != 3:
        raise RuntimeError(
            f"linalg.cross: inputs dimension {dim} must have length 3. Got {input.shape[d]} "
            f"and {other.shape[d]}"
        )
    return _cross(input, other, d)


def cross(input: Tensor, other: Tensor, dim: int | None = None) -> Tensor:
    """The cross product along `dim` (default: the first dim of size 3, deprecated)."""
    if dim is None:
        warnings.warn(
            "Using cross without specifying the dim arg is deprecated.\nPlease either pass "
            "the dim explicitly or simply use linalg.cross.\nThe default value of dim will "
            "change to agree with that of linalg.cross in a future release.",
            UserWarning, stacklevel=2)
        shape = np.broadcast_shapes(tuple(input.shape), tuple(other.shape))
        dim = next((i for i, n in enumerate(shape) if n == 3), -1)
    return _linalg_cross(input, other, dim=dim)


def _cdist(x1, x2, p):
    if p == 2 and (x1.shape[-2] > 25 or x2.shape[-2] > 25):
        # Many points: |a|^2 + |b|^2 - 2 a.b with one matrix product (PyTorch's
        # 'use_mm_for_euclid_dist_if_necessary').
        sq = np.matmul(x1, np.swapaxes(x2, -1, -2))
        sq *= -2
        sq += np.einsum("...i,...i->...", x1, x1)[..., :, None]
        sq += np.einsum("...i,...i->...", x2, x2)[..., None, :]
        return np.sqrt(np.maximum(sq, 0, out=sq), out=sq)
    return np.linalg.vector_norm(x1[..., :, None, :] - x2[..., None, :, :], ord=p, axis=-1)


class CdistBackward0(Op):
    needs = ((0, 1, OUT), (0, 1, OUT))
    forward = staticmethod(_cdist)

    def backward(self, g):
        x1, x2, d = self.saved_tensors
        p = self.args[0]
        need_1, need_2 = self.needs_input_grad
        if p == 2:
            zero = wrap(d._data == 0)
            w = where(zero, 0.0, g / where(zero, 1.0, d))  # g / d, 0 at zero distance
            g1 = x1 * w.sum(-1, keepdim=True) - w @ x2 if need_1 else None
            g2 = x2 * w.sum(-2).unsqueeze(-1) - w.mT @ x1 if need_2 else None
            return g1, g2
        diff = x1.unsqueeze(-2) - x2.unsqueeze(-3)
        gd = g.unsqueeze(-1)
        if p == 0:
            t = gd * 0 * diff
        elif p == 1:
            t = gd * diff.sign()
        elif p == math.inf:
            t = gd * diff.sign() * (diff.abs() == d.unsqueeze(-1))
        else:
            zero = wrap(d._data == 0)[..., None]
            scale = where(zero, 0.0, gd / where(zero, 1.0, d.unsqueeze(-1)) ** (p - 1))
            t = scale * diff.sign() * diff.abs() ** (p - 1)
        return (t.sum(-2) if need_1 else None), (-t.sum(-3) if need_2 else None)


def cdist(x1: Tensor, x2: Tensor, p: float = 2.0,
          compute_mode: str = "use_mm_for_euclid_dist_if_necessary") -> Tensor:
    """The p-norm distance between each row of `x1` and each row of `x2` (batch dims
    broadcast): shape (..., P, R)."""
    a, b = _tensor_arg(x1), _tensor_arg(x2)
    if a.ndim < 2:
        raise RuntimeError(f"cdist only supports at least 2D tensors, X1 got: {a.ndim}D")
    if b.ndim < 2:
        raise RuntimeError(f"cdist only supports at least 2D tensors, X2 got: {b.ndim}D")
    if a.shape[-1] != b.shape[-1]:
        raise RuntimeError(
            "X1 and X2 must have the same number of columns. "
            f"X1: {a.shape[-1]} X2: {b.shape[-1]}"
        )
    if p < 0:
        raise RuntimeError("cdist only supports non-negative p values")
    if a._data.dtype.kind != "f" or b._data.dtype.kind != "f":
        raise RuntimeError(
            f"cdist only supports floating-point dtypes, X1 got: {_type_name(a._data.dtype)}")
    out = _cdist(a._data, b._data, float(p))
    if _needs_graph(a, b):
        return record(CdistBackward0, out, (a, b), (float(p),))
    return wrap(out)


# ----- decompositions, inverse, determinants (the `ember.linalg` namespace) -----------------
class LinAlgError(RuntimeError):
    """A matrix had no result: singular, or not positive-definite (as torch.linalg's)."""


def _check_matrices(name: str, x: Tensor, square: bool = True) -> np.ndarray:
    a = x._data
    if a.ndim < 2:
        raise RuntimeError(f"{name}: The input tensor A must have at least 2 dimensions.")
    if square and a.shape[-1] != a.shape[-2]:
        raise RuntimeError(
            f"{name}: A must be batches of square matrices, but they are {a.shape[-2]} by "
            f"{a.shape[-1]} matrices"
        )
    if a.dtype.kind != "f":
        raise RuntimeError(
            f"{name}: Expected a floating point or complex tensor as input. Got "
            f"{_type_name(a.dtype)}"
        )
    return a


def _first_failure(a: np.ndarray, fn) -> tuple[str, np.ndarray]:
    """The "(Batch element i): " prefix and matrix of the first batch element `fn` fails on."""
    if a.ndim == 2:
        return "", a
    flat = a.reshape(-1, *a.shape[-2:])
    for i, m in enumerate(flat):
        try:
            fn(m)
        except np.linalg.LinAlgError:
            return f"(Batch element {i}): ", m
    return "", flat[0]


def _zero_pivot(m: np.ndarray) -> int:
    """The 1-based column where LU with partial pivoting meets a zero pivot (error path)."""
    m = m.astype(np.float64)
    n = m.shape[0]
    for k in range(n):
        p = k + int(np.argmax(np.abs(m[k:, k])))
        if m[p, k] == 0:
            return k + 1
        m[[k, p]] = m[[p, k]]
        m[k + 1:] -= np.outer(m[k + 1:, k] / m[k, k], m[k])
    return n


def _bad_minor(m: np.ndarray) -> int:
    """The order of the first leading minor that is not positive-definite (error path)."""
    n = m.shape[0]
    low = np.zeros((n, n))
    for j in range(n):
        d = m[j, j] - low[j, :j] @ low[j, :j]
        if not d > 0:
            return j + 1
        low[j, j] = math.sqrt(d)
        low[j + 1:, j] = (m[j + 1:, j] - low[j + 1:, :j] @ low[j, :j]) / low[j, j]
    return n


class LinalgInvExBackward0(Op):
    needs = ((OUT,),)
    forward = staticmethod(np.linalg.inv)

    def backward(self, g):
        inv_t = self.saved_tensors[-1].mT
        return -(inv_t @ g @ inv_t)


_inv_op = unary(LinalgInvExBackward0)


def inv(A: Tensor) -> Tensor:
    """The inverse of a (batch of) square matrix; raises LinAlgError when singular."""
    a = _check_matrices("linalg.inv", A)
    try:
        return _inv_op(A)
    except np.linalg.LinAlgError:
        prefix, m = _first_failure(a, np.linalg.inv)
        raise LinAlgError(
            f"linalg.inv: {prefix}The diagonal element {_zero_pivot(m)} is zero, the inversion "
            "could not be completed because the input matrix is singular."
        ) from None


inverse = inv


class LinalgDetBackward0(Op):
    needs = ((0, OUT),)
    forward = staticmethod(np.linalg.det)

    def backward(self, g):
        # d det(A) = det(A) tr(A^-1 dA). A singular matrix gets a zero gradient, as in
        # PyTorch: it is inverted as the identity and scaled by its zero determinant.
        a, out = self.saved_tensors
        singular = out._data == 0
        if singular.any():
            eye = _eye_like(a.shape[-1], a).expand(tuple(a.shape))
            a = where(wrap(singular[..., None, None]), eye, a)
        return (g * out).unsqueeze(-1).unsqueeze(-1) * inv(a).mT


_det_op = unary(LinalgDetBackward0)


def det(A: Tensor) -> Tensor:
    """The determinant of a (batch of) square matrix."""
    _check_matrices("linalg.det", A)
    return _det_op(A)


_SlogdetResult = _return_type("linalg_slogdet", ("sign", "logabsdet"))


class LinalgSlogdetBackward0(Op):
    needs = ((0,),)

    def backward(self, g):
        return g.unsqueeze(-1).unsqueeze(-1) * inv(self.saved_tensors[0]).mT


def slogdet(A: Tensor):
    """(sign, log|det|) of a (batch of) square matrix; only log|det| has a gradient."""
    a = _check_matrices("linalg.slogdet", A)
    sign, logabs = np.linalg.slogdet(a)
    out = record(LinalgSlogdetBackward0, logabs, (A,)) if _needs_graph(A) else wrap(logabs)
    return _SlogdetResult(wrap(sign), out)


def logdet(input: Tensor) -> Tensor:
    """log det(A): NaN for a negative determinant, -inf for a singular matrix."""
    sign, logabs = slogdet(input)
    return where(sign < 0, math.nan, logabs)


def _is_vector_rhs(a: np.ndarray, b: np.ndarray) -> bool:
    return b.ndim == 1 or (b.ndim == a.ndim - 1 and b.shape == a.shape[:-1])


class LinalgSolveExBackward0(Op):
    needs = ((0, OUT), (0,))

    @staticmethod
    def forward(a, b, vector):
        if vector:
            return np.linalg.solve(a, b[..., None])[..., 0]
        return np.linalg.solve(a, b)

    def backward(self, g):
        a, _, x = self.saved_tensors
        vector = self.args[0]
        need_a, _ = self.needs_input_grad
        gb = solve(a.mT, g)
        ga = None
        if need_a:
            ga = -(gb.unsqueeze(-1) * x.unsqueeze(-2) if vector else gb @ x.mT)
        return ga, gb


def solve(A: Tensor, B: Tensor, *, left: bool = True) -> Tensor:
    """X with A X = B (`left=False`: X A = B); B may be a (batch of) vector."""
    a = _check_matrices("linalg.solve", A)
    if not left:
        return solve(A.mT, B.mT).mT
    b = _tensor_arg(B)._data
    vector = _is_vector_rhs(a, b)
    rows = b.shape[-1] if vector else b.shape[-2] if b.ndim > 1 else b.shape[0]
    if rows != a.shape[-1]:
        cols = 1 if vector else b.shape[-1]
        raise RuntimeError(
            "linalg.solve: Incompatible shapes of A and B for the equation AX = B "
            f"({a.shape[-2]}x{a.shape[-1]} and {rows}x{cols})"
        )
    A, B, _, _ = _operands(A, B)
    try:
        out = LinalgSolveExBackward0.forward(A._data, B._data, vector)
    except np.linalg.LinAlgError:
        raise LinAlgError(
            "linalg.solve: The solver failed because the input matrix is singular.") from None
    if _needs_graph(A, B):
        return record(LinalgSolveExBackward0, out, (A, B), (vector,))
    return wrap(out)


class LinalgCholeskyExBackward0(Op):
    needs = ((OUT,),)

    @staticmethod
    def forward(a, upper):
        low = np.linalg.cholesky(a)
        return np.swapaxes(low, -1, -2).copy() if upper else low

    def backward(self, g):
        # A = L L^T gives dL = L Phi(L^-1 dA L^-T), Phi: the lower triangle with half the
        # diagonal; so gA = L^-T Phi(L^T gL) L^-1, made symmetric.
        out = self.saved_tensors[-1]
        upper = self.args[0]
        low, g_low = (out.mT, g.mT) if upper else (out, g)
        n = low.shape[-1]
        half = wrap((np.tril(np.ones((n, n))) - 0.5 * np.eye(n)).astype(g._data.dtype))
        low_inv = inv(low)
        ga = low_inv.mT @ ((low.mT @ g_low) * half) @ low_inv
        return 0.5 * (ga + ga.mT)


_cholesky_op = unary(LinalgCholeskyExBackward0)


def cholesky(A: Tensor, *, upper: bool = False) -> Tensor:
    """L (lower) with A = L L^T for symmetric positive-definite A (`upper`: U = L^T)."""
    a = _check_matrices("linalg.cholesky", A)
    try:
        return _cholesky_op(A, bool(upper))
    except np.linalg.LinAlgError:
        prefix, m = _first_failure(a, np.linalg.cholesky)
        raise LinAlgError(
            f"linalg.cholesky: {prefix}The factorization could not be completed because the "
            f"input is not positive-definite (the leading minor of order {_bad_minor(m)} is "
            "not positive-definite)."
        ) from None


_QrResult = _return_type("linalg_qr", ("Q", "R"))


def _solve_right_upper(y: Tensor, r: Tensor) -> Tensor:
    """y R^-T, for invertible upper-triangular R."""
    return solve(r, y.mT).mT


def _qr_square_grad(q: Tensor, r: Tensor, gq, gr) -> Tensor:
    """gA for A = QR with Q m x n, R n x n (m >= n).

    With M = Q^T gQ - gR R^T: gA = (gQ + Q (tril(M - M^T, -1) - M)) R^-T."""
    if gq is None:
        m = -(gr @ r.mT)
    elif gr is None:
        m = q.mT @ gq
    else:
        m = q.mT @ gq - gr @ r.mT
    inner = q @ (tril(m - m.mT, -1) - m)
    return _solve_right_upper(inner if gq is None else gq + inner, r)


class LinalgQrBackward0(Op):
    needs = ((0,),)

    @staticmethod
    def forward(a, mode):
        return np.linalg.qr(a, mode)

    def backward(self, gq, gr):
        a = self.saved_tensors[0]
        q, r = _outputs_of(self, 1)
        mode = self.args[0]
        rows, cols = self._shapes[0][0][-2:]
        if mode == "r":
            raise RuntimeError(
                "The derivative of linalg.qr depends on Q, which is not computed when "
                "mode='r'. Please use linalg.qr(A, mode='reduced') if you are going to "
                "differentiate through linalg.qr."
            )
        if mode == "complete" and rows > cols:
            raise RuntimeError(
                "The QR decomposition is not differentiable when mode='complete' and "
                "nrows > ncols.")
        if gq is None and gr is None:
            return (None,)
        if rows >= cols:
            return _qr_square_grad(q, r, gq, gr)
        # Wide A = [X | Y]: X = Q R1 is square, and R2 = Q^T Y.
        k = rows
        gr1 = None if gr is None else gr[..., :, :k]
        gr2 = None if gr is None else gr[..., :, k:]
        y = a[..., :, k:]
        gq_x = gq
        if gr2 is not None:
            gq_x = y @ gr2.mT if gq is None else gq + y @ gr2.mT
        gx = _qr_square_grad(q, r[..., :, :k], gq_x, gr1)
        gy = q @ gr2 if gr2 is not None else y * 0
        return cat([gx, gy], -1)


def qr(A: Tensor, mode: str = "reduced"):
    """(Q, R) with A = QR, Q orthonormal columns, R upper triangular; mode 'reduced',
    'complete' or 'r' (Q then empty)."""
    a = _check_matrices("linalg.qr", A, square=False)
    if mode not in ("reduced", "complete", "r"):
        raise RuntimeError(
            f"qr received unrecognized mode '{mode}' but expected one of 'reduced' (default), "
            "'r', or 'complete'")
    if mode == "r":
        r = np.linalg.qr(a, "r")
        q = np.zeros((0,), a.dtype)
    else:
        q, r = np.linalg.qr(a, mode)
    q, r = _record_outputs(LinalgQrBackward0, (q, r), (A,), (mode,), saved_inputs=(0,))
    return _QrResult(q, r)


_EighResult = _return_type("linalg_eigh", ("eigenvalues", "eigenvectors"))


def _eye_like(n: int, like: Tensor) -> Tensor:
    return wrap(np.eye(n, dtype=like._data.dtype))


def _off_diagonal_recip(diff: Tensor) -> Tensor:
    """1 / diff off the diagonal, 0 on it (diff is a batch of square matrices)."""
    eye = _eye_like(diff.shape[-1], diff).bool()
    return where(eye, 0.0, 1 / where(eye, 1.0, diff))


class LinalgEighBackward0(Op):
    needs = ((),)

    @staticmethod
    def forward(a, uplo):
        return np.linalg.eigh(a, uplo)

    def backward(self, g_vals, g_vecs):
        vals, vecs = _outputs_of(self, 1)
        # gA = V (diag(gL) + F * (V^T gV)) V^T with F_ij = 1 / (L_j - L_i), i != j.
        inner = None
        if g_vecs is not None:
            f = _off_diagonal_recip(vals.unsqueeze(-2) - vals.unsqueeze(-1))
            inner = f * (vecs.mT @ g_vecs)
        if g_vals is not None:
            d = diag_embed(g_vals)
            inner = d if inner is None else inner + d
        if inner is None:
            return (None,)
        ga = vecs @ inner @ vecs.mT
        # A is symmetric: PyTorch returns the symmetric part (only it has an effect).
        return ga if g_vecs is None else 0.5 * (ga + ga.mT)


def eigh(A: Tensor, UPLO: str = "L"):
    """(eigenvalues ascending, eigenvectors as columns) of a symmetric matrix (read from
    its lower triangle, or upper with UPLO='U'). Repeated eigenvalues make the gradient
    of the eigenvectors infinite, as in PyTorch."""
    a = _check_matrices("linalg.eigh", A)
    if UPLO not in ("L", "U"):
        raise RuntimeError(f"Expected UPLO argument to be 'L' or 'U', but got {UPLO}")
    vals, vecs = np.linalg.eigh(a, UPLO)
    return _EighResult(*_record_outputs(LinalgEighBackward0, (vals, vecs), (A,), (UPLO,)))


def eigvalsh(A: Tensor, UPLO: str = "L") -> Tensor:
    """The eigenvalues (ascending) of a symmetric matrix."""
    return eigh(A, UPLO).eigenvalues


_SvdResult = _return_type("linalg_svd", ("U", "S", "Vh"))


class LinalgSvdBackward0(Op):
    needs = ((),)

    def backward(self, gu, gs, gvh):
        u, s, vh = _outputs_of(self, 1)
        m, n = self._shapes[0][0][-2:]
        k = min(m, n)
        if u.shape[-1] != k:  # full_matrices: only the first k columns carry information
            u, gu = u[..., :, :k], None if gu is None else gu[..., :, :k]
        if vh.shape[-2] != k:
            vh, gvh = vh[..., :k, :], None if gvh is None else gvh[..., :k, :]
        v = vh.mT
        gv = None if gvh is None else gvh.mT
        # gA = U [J S + diag(gS) + S K] V^T + (I - U U^T) gU S^-1 V^T + U S^-1 gV^T (I - V V^T)
        # with J = F * (U^T gU - gU^T U), K = F * (V^T gV - gV^T V), F_ij = 1/(s_j^2 - s_i^2).
        inner = None if gs is None else diag_embed(gs)
        if gu is not None or gv is not None:
            s2 = s * s
            f = _off_diagonal_recip(s2.unsqueeze(-2) - s2.unsqueeze(-1))
        if gu is not None:
            utg = u.mT @ gu
            j = (f * (utg - utg.mT)) * s.unsqueeze(-2)
            inner = j if inner is None else inner + j
        if gv is not None:
            vtg = v.mT @ gv
            kk = s.unsqueeze(-1) * (f * (vtg - vtg.mT))
            inner = kk if inner is None else inner + kk
        ga = None if inner is None else u @ inner @ vh
        s_inv = 1 / s
        if gu is not None and m > k:
            extra = (gu - u @ utg) * s_inv.unsqueeze(-2) @ vh
            ga = extra if ga is None else ga + extra
        if gv is not None and n > k:
            extra = u @ ((gv - v @ vtg) * s_inv.unsqueeze(-2)).mT
            ga = extra if ga is None else ga + extra
        return ga


def svd(A: Tensor, full_matrices: bool = True):
    """(U, S, Vh) with A = U diag(S) Vh, S descending. Gradients need distinct non-zero
    singular values (and functions of U, V that do not depend on their signs)."""
    a = _check_matrices("linalg.svd", A, square=False)
    u, s, vh = np.linalg.svd(a, full_matrices=bool(full_matrices))
    return _SvdResult(*_record_outputs(LinalgSvdBackward0, (u, s, vh), (A,)))


def svdvals(A: Tensor) -> Tensor:
    """The singular values, descending."""
    a = _check_matrices("linalg.svdvals", A, square=False)
    if not _needs_graph(A):
        return wrap(np.linalg.svd(a, compute_uv=False))
    return svd(A, full_matrices=False).S


def _pinv(a, atol, rtol):
    u, s, vh = np.linalg.svd(a, full_matrices=False)
    cutoff = np.maximum(atol, rtol * s[..., :1])
    s_inv = np.divide(1, s, out=np.zeros_like(s), where=s > cutoff)
    return np.matmul(np.swapaxes(vh, -1, -2) * s_inv[..., None, :], np.swapaxes(u, -1, -2))


class LinalgPinvBackward0(Op):
    needs = ((0, OUT),)
    forward = staticmethod(_pinv)

    def backward(self, g):
        # For A of constant rank, with P = pinv(A):
        # gA = -P^T g P^T + (I - A P) g^T P P^T + P^T P g^T (I - P A)
        a, p = self.saved_tensors
        pt, gt = p.mT, g.mT
        ga = -(pt @ g @ pt)
        ga = ga + (gt - a @ (p @ gt)) @ (p @ pt)
        return ga + (pt @ p) @ (gt - (gt @ p) @ a)


_pinv_op = unary(LinalgPinvBackward0)


def pinv(A: Tensor, *, atol=None, rtol=None, hermitian: bool = False) -> Tensor:
    """The Moore-Penrose pseudo-inverse; singular values below max(atol, rtol * largest)
    count as zero (default rtol: eps * max(m, n))."""
    a = _check_matrices("linalg.pinv", A, square=False)
    if rtol is None:
        rtol = np.finfo(a.dtype).eps * max(a.shape[-2:]) if atol is None or atol == 0 else 0.0
    return _pinv_op(A, float(atol or 0.0), float(rtol))


def pinverse(input: Tensor, rcond: float = 1e-15) -> Tensor:
    return pinv(input, rtol=rcond)


# ----- norms (vector norms are reduction's) ------------------------------------------------
def matrix_norm(A: Tensor, ord="fro", dim=(-2, -1), keepdim: bool = False, *,
                dtype=None) -> Tensor:
    """'fro', 'nuc', 1, -1, 2, -2, inf or -inf norm of the matrices in dims `dim`."""
    A = _cast(_tensor_arg(A), dtype)
    if A.ndim < 2:
        raise RuntimeError("linalg.matrix_norm: The input tensor A must have at least 2 "
                           "dimensions.")
    if isinstance(dim, (int, np.integer)) or len(dim) != 2:
        raise RuntimeError(
            f"linalg.matrix_norm: dim must be a 2-tuple. Got {dim}")
    r, c = (_wrap_dim(d, A.ndim) for d in dim)
    if r == c:
        raise RuntimeError(f"linalg.matrix_norm: dims must be different. Got ({r}, {c})")
    if ord == "fro":
        return vector_norm(A, 2, (r, c), keepdim)
    if ord == "nuc" or ord in (2, -2):
        vals = svdvals(A.movedim((r, c), (-2, -1)))
        out = vals.sum(-1) if ord == "nuc" else vals.amax(-1) if ord == 2 else vals.amin(-1)
        if keepdim:
            for d in sorted((r, c)):
                out = out.unsqueeze(d)
        return out
    if ord in (1, -1, math.inf, -math.inf):
        summed, pick = (r, c) if ord in (1, -1) else (c, r)
        sums = A.abs().sum(summed, keepdim=keepdim)
        if not keepdim and summed < pick:
            pick -= 1
        return sums.amax(pick, keepdim) if ord > 0 else sums.amin(pick, keepdim)
    raise RuntimeError(f"linalg.matrix_norm: Order {ord} not supported.")


def linalg_norm(A: Tensor, ord=None, dim=None, keepdim: bool = False, *,
                dtype=None) -> Tensor:
    """A vector norm (dim an int, or a 1-D input) or a matrix norm (dim a pair, or a 2-D
    input); with neither ord nor dim, the 2-norm of all elements."""
    A = _tensor_arg(A)
    if dim is not None:
        if isinstance(dim, (int, np.integer)) or len(dim) == 1:
            return vector_norm(A, 2 if ord is None else ord, dim, keepdim, dtype=dtype)
        return matrix_norm(A, "fro" if ord is None else ord, dim, keepdim, dtype=dtype)
    if ord is None:
        return vector_norm(A, 2, None, keepdim, dtype=dtype)
    if A.ndim == 1:
        return vector_norm(A, ord, None, keepdim, dtype=dtype)
    if A.ndim == 2:
        return matrix_norm(A, ord, (-2, -1), keepdim, dtype=dtype)
    raise RuntimeError(
        "linalg.norm: If dim is not specified but ord is, the input must be 1D or 2D. "
        f"Got {A.ndim}D.")


def multi_dot(tensors) -> Tensor:
    """The product of a chain of matrices (the first and last may be vectors)."""
    tensors = list(tensors)
    if len(tensors) < 2:
        raise RuntimeError(
            f"multi_dot(): expected at least 2 tensors but got {len(tensors)}")
    out = tensors[0]
    for t in tensors[1:]:
        out = matmul(out, t)
    return out


TENSOR_METHODS = {
    "addmm": addmm, "addmv": addmv, "baddbmm": baddbmm, "outer": outer, "ger": ger,
    "diag": diag, "diagonal": diagonal, "diag_embed": diag_embed, "tril": tril, "triu": triu,
    "trace": trace, "cross": cross, "kron": kron, "inverse": inverse, "det": det,
    "logdet": logdet, "slogdet": slogdet, "pinverse": pinverse,
}
