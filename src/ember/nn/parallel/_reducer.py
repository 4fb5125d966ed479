"""Bucketed gradient averaging for DistributedDataParallel.

Each trainable parameter's `.grad` is a view into one flat, preallocated bucket: before
each forward a `None` gradient (after `zero_grad()`) becomes its zeroed view, and the
engine accumulates into an existing `.grad` in place, so backward writes each gradient
straight into the memory that MPI reduces and the optimizer reads. No copy is made
before or after the reduction; the one extra pass divides each gradient by the world
size right after it is accumulated, while it is still in cache.

Buckets hold parameters in reverse order (the order backward produces their
gradients); a bucket's non-blocking allreduce starts as soon as its last gradient is in,
and buckets always start in the same order on every rank, as MPI matches collectives by
order.
"""

from __future__ import annotations

import functools
import weakref

import numpy as np

from ..._tensor import Tensor, _make
from ...autograd.graph import AccumulateGrad

__all__ = ["Reducer"]

_UNFINISHED = (
    "Expected to have finished reduction in the prior iteration before starting a new one. "
    "This error indicates that your module has parameters that were not used in producing "
    "loss. You can enable unused parameter detection by passing the keyword argument "
    "`find_unused_parameters=True` to `ember.nn.parallel.DistributedDataParallel`, and by "
    "making sure all `forward` function outputs participate in calculating loss."
)
_UNFINISHED_FIND = (
    "Expected to have finished reduction in the prior iteration before starting a new one. "
    "Since `find_unused_parameters=True` is enabled, this likely means that not all "
    "`forward` outputs participate in computing loss, or that a parameter was used outside "
    "`forward`."
)


class _Bucket:
    __slots__ = ("flat", "indices", "pending")

    def __init__(self, flat: np.ndarray, indices: list[int]) -> None:
        self.flat = flat
        self.indices = indices
        self.pending = len(indices)


def assign_buckets(arrays: list[np.ndarray], cap_bytes: int, first_cap_bytes: int
                   ) -> list[list[int]]:
    """Group parameter indices into buckets of one dtype, last parameter first; a bucket
    closes once it reaches its cap (the first bucket of each dtype gets a smaller cap so
    that communication starts early in backward)."""
    open_: dict = {}
    filled: dict = {}
    caps: dict = {}
    buckets: list[list[int]] = []
    for i in reversed(range(len(arrays))):
        dt = arrays[i].dtype
        open_.setdefault(dt, []).append(i)
        filled[dt] = filled.get(dt, 0) + arrays[i].nbytes
        if filled[dt] >= caps.get(dt, first_cap_bytes):
            buckets.append(open_.pop(dt))
            filled[dt] = 0
            caps[dt] = cap_bytes
    buckets.extend(open_.values())
    return buckets


def _grad_ready(ref: weakref.ref, index: int, param: Tensor) -> None:
    reducer = ref()
    if reducer is not None:
        reducer._on_grad(index)


class Reducer:
    """Owns the buckets, the gradient views and the per-iteration reduction state."""

    def __init__(self, named_params: list[tuple[str, Tensor]], comm, cap_bytes: int,
                 first_cap_bytes: int, find_unused: bool) -> None:
        self.names = [n for n, _ in named_params]
        self.params = [p for _, p in named_params]
        self.comm = comm
        self.world = comm.Get_size()
        self.find_unused = find_unused
        n = len(self.params)
        self.bucket_of = [0] * n
        self.views: list[np.ndarray] = [None] * n  # type: ignore[list-item]
        self.buckets: list[_Bucket] = []
        for b, indices in enumerate(assign_buckets([p._data for p in self.params], cap_bytes,
                                                   first_cap_bytes)):
            dtype = self.params[indices[0]]._data.dtype
            flat = np.zeros(sum(self.params[i]._data.size for i in indices), dtype)
            offset = 0
            for i in indices:
                shape = self.params[i]._data.shape
                size = self.params[i]._data.size
                self.views[i] = flat[offset:offset + size].reshape(shape)
                self.bucket_of[i] = b
                offset += size
            self.buckets.append(_Bucket(flat, indices))
        self.grads = [_make(v, False, None) for v in self.views]
        self.fresh = [False] * n  # the view was zeroed for a None .grad, no gradient yet
        self.attach_grads()
        self.ready = [False] * n
        self.next_bucket = 0
        self.requests: list = []
        self.expect_hooks = False  # this iteration's gradients are to be averaged
        self.any_ready = False
        self.restore_unused: dict[int, np.ndarray | None] = {}
        ref = weakref.ref(self)
        self.handles = [
            p.register_post_accumulate_grad_hook(functools.partial(_grad_ready, ref, i))
            for i, p in enumerate(self.params)
        ]

    @property
    def nbytes(self) -> int:
        """Bytes reduced per iteration: the trainable parameters' gradients."""
        return sum(b.flat.nbytes for b in self.buckets)

    def __del__(self) -> None:
        for h in getattr(self, "handles", ()):
            h.remove()

    # ----- before forward -------------------------------------------------------------
    def attach_grads(self) -> None:
        """Make each `.grad` its bucket view: a `None` one becomes a zeroed view, another
        tensor (assigned by the user) is copied into the view."""
        params, grads = self.params, self.grads
        for b in self.buckets:
            indices = b.indices
            if all(params[i]._grad is grads[i] for i in indices):
                continue
            if all(params[i]._grad is None for i in indices):  # the usual, after zero_grad()
                b.flat.fill(0)
                for i in indices:
                    params[i]._grad = grads[i]
                    self.fresh[i] = True
                continue
            for i in indices:
                if params[i]._grad is not grads[i]:
                    self._fill_slice(i, zero_if_none=True)

    def check_finished(self) -> None:
        """Raise if the previous iteration's backward left some gradient unreduced."""
        if self.expect_hooks and self.any_ready:
            missing = [name for name, done in zip(self.names, self.ready) if not done]
            rank = self.comm.Get_rank()
            raise RuntimeError(
                (_UNFINISHED_FIND if self.find_unused else _UNFINISHED)
                + f"\nParameters which did not receive grad for rank {rank}: "
                + ", ".join(missing)
            )

    # ----- after forward --------------------------------------------------------------
    def prepare_for_backward(self, outputs) -> None:
        """Arm the hooks for this iteration; with `find_unused`, mark the parameters that
        the outputs do not depend on as ready right away."""
        self.ready = [False] * len(self.params)
        for b in self.buckets:
            b.pending = len(b.indices)
        self.next_bucket = 0
        self.requests = []
        self.any_ready = False
        self.expect_hooks = True
        self.restore_unused = {}
        if not self.find_unused:
            return
        used = _reachable_leaves(outputs)
        flags = np.array([id(p) in used for p in self.params], np.int32)
        if self.world > 1:
            from mpi4py import MPI

            self.comm.Allreduce(MPI.IN_PLACE, flags, op=MPI.MAX)
        # The gradient of a parameter no rank used stays as it was (None or its value).
        for i, u in enumerate(flags.tolist()):
            g = self.params[i]._grad
            if not u:
                self.restore_unused[i] = (
                    None if g is None or (g is self.grads[i] and self.fresh[i])
                    else g._data.copy())
        for i, p in enumerate(self.params):
            if id(p) not in used:
                self._fill_slice(i, zero_if_none=True)
                self._mark_ready(i)

    def disarm(self) -> None:
        """This iteration's gradients only accumulate (no_sync, or forward without grad)."""
        self.expect_hooks = False

    # ----- during backward ------------------------------------------------------------
    def _on_grad(self, i: int) -> None:
        """Post-accumulate hook of parameter i."""
        self.fresh[i] = False
        self._fill_slice(i, zero_if_none=False)
        if self.expect_hooks:
            self._mark_ready(i)

    def _fill_slice(self, i: int, zero_if_none: bool) -> None:
        """Make `.grad` the bucket view holding this rank's gradient, divided by the world
        size when it is about to be summed over the ranks."""
        p, view = self.params[i], self.views[i]
        g = p._grad
        scale = self.expect_hooks and self.world > 1
        if g is self.grads[i]:
            if scale:
                np.multiply(view, view.dtype.type(1.0 / self.world), out=view)
            return
        if g is None:
            if not zero_if_none:
                return
            view.fill(0)
        elif scale:
            np.multiply(g._data, view.dtype.type(1.0 / self.world), out=view)
        else:
            view[...] = g._data
        self.fresh[i] = g is None
        p._grad = self.grads[i]

    def _mark_ready(self, i: int) -> None:
        if self.ready[i]:
            raise RuntimeError(
                f"Expected to mark a variable ready only once. Parameter {self.names[i]} got "
                "its gradient twice in one iteration, e.g. because it is used outside forward "
                "with find_unused_parameters=True, or backward ran twice before the next "
                "forward."
            )
        self.ready[i] = True
        self.any_ready = True
        b = self.buckets[self.bucket_of[i]]
        b.pending -= 1
        if b.pending == 0:
            self._launch_ready_buckets()

    def _launch_ready_buckets(self) -> None:
        buckets = self.buckets
        while self.next_bucket < len(buckets) and buckets[self.next_bucket].pending == 0:
            flat = buckets[self.next_bucket].flat
            self.next_bucket += 1
            if self.world > 1:
                from mpi4py import MPI

                self.requests.append(self.comm.Iallreduce(MPI.IN_PLACE, flat, op=MPI.SUM))
        if self.next_bucket == len(buckets):
            self._finalize()

    def _finalize(self) -> None:
        if self.requests:
            from mpi4py import MPI

            MPI.Request.Waitall(self.requests)
            self.requests = []
        for g in self.grads:
            g._bump_version()
        for i, saved in self.restore_unused.items():
            if saved is None:
                self.params[i]._grad = None
            else:
                self.views[i][...] = saved
        self.expect_hooks = False


def _reachable_leaves(outputs) -> set[int]:
    """ids of the leaf tensors whose gradient the tensors found in `outputs` depend on."""
    stack = []
    leaves: set[int] = set()
    for t in _tensors_in(outputs):
        if t._grad_fn is not None:
            stack.append(t._grad_fn)
        elif t._requires_grad:
            leaves.add(id(t))
    seen = set(stack)
    while stack:
        node = stack.pop()
        if type(node) is AccumulateGrad:
            leaves.add(id(node.variable))
            continue
        for nxt, _ in node.next_functions:
            if nxt is not None and nxt not in seen:
                seen.add(nxt)
                stack.append(nxt)
    return leaves


def _tensors_in(obj) -> list[Tensor]:
    if isinstance(obj, Tensor):
        return [obj]
    if isinstance(obj, (list, tuple)):
        return [t for item in obj for t in _tensors_in(item)]
    if isinstance(obj, dict):
        return [t for item in obj.values() for t in _tensors_in(item)]
    return []
