"""DistributedDataParallel: one model replica per rank, gradients averaged in backward."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from ...autograd.grad_mode import _grad_enabled
from ...distributed.process_group import ProcessGroup, _resolve
from ..modules.module import Module
from ._reducer import Reducer

__all__ = ["DistributedDataParallel"]

_FIRST_BUCKET_BYTES = 1024 * 1024


class DistributedDataParallel(Module):
    """Wrap `module` for data-parallel training over the default process group.

    On construction the parameters and buffers of rank 0 are copied to every rank. During
    `backward()` the gradients of the trainable parameters are averaged across ranks in
    buckets of about `bucket_cap_mb` MiB, each reduced as soon as all its gradients are
    ready; afterwards every rank holds the same `.grad`, so identical optimizer steps keep
    the replicas identical. Each parameter's `.grad` is a view into its bucket.

    `no_sync()` skips the averaging (gradients just accumulate) for gradient accumulation.
    With `find_unused_parameters=True` the parameters that the forward outputs do not
    depend on are found after each forward and do not hold up the reduction. With
    `broadcast_buffers=True` rank 0's buffers are copied to all ranks before each forward.
    """

    def __init__(self, module: Module, device_ids: list | None = None,
                 output_device: Any = None, dim: int = 0, broadcast_buffers: bool = True,
                 process_group: ProcessGroup | None = None, bucket_cap_mb: float | None = None,
                 find_unused_parameters: bool = False) -> None:
        super().__init__()
        if not isinstance(module, Module):
            raise TypeError(
                f"DistributedDataParallel expects an ember.nn.Module, got {type(module).__name__}")
        if device_ids or output_device is not None:
            raise ValueError(
                "DistributedDataParallel device_ids and output_device arguments only work with "
                "GPU modules; ember runs on the CPU, so leave them as None "
                f"(got device_ids={device_ids}, output_device={output_device})"
            )
        pg = _resolve(process_group)
        named = [(n, p) for n, p in module.named_parameters() if p.requires_grad]
        if not named:
            raise RuntimeError(
                "DistributedDataParallel is not needed when a module doesn't have any "
                "parameter that requires a gradient."
            )
        self.module = module
        self.process_group = pg
        self.dim = dim
        self.broadcast_buffers = broadcast_buffers
        self.find_unused_parameters = find_unused_parameters
        self.bucket_bytes_cap = int((25 if bucket_cap_mb is None else bucket_cap_mb) * 1024**2)
        self.require_backward_grad_sync = True
        self.require_forward_param_sync = True
        states = [t for _, t in module.named_parameters()] + [b for _, b in module.named_buffers()]
        _verify_same_model(pg, states)
        _broadcast_coalesced(pg, states)
        self._reducer = Reducer(named, pg.comm, self.bucket_bytes_cap,
                                min(_FIRST_BUCKET_BYTES, self.bucket_bytes_cap),
                                find_unused_parameters)

    def forward(self, *inputs: Any, **kwargs: Any) -> Any:
        grad_on = _grad_enabled.get()
        sync = grad_on and self.require_backward_grad_sync
        reducer = self._reducer
        if sync:
            reducer.check_finished()
        if grad_on:
            reducer.attach_grads()
        if self.broadcast_buffers and self.require_forward_param_sync:
            buffers = [b for _, b in self.module.named_buffers()]
            if buffers:
                _broadcast_coalesced(self.process_group, buffers)
        output = self.module(*inputs, **kwargs)
        if sync:
            reducer.prepare_for_backward(output)
            self.require_forward_param_sync = True
        else:
            if grad_on:  # no_sync; a forward without grad leaves a pending backward armed
                reducer.disarm()
            self.require_forward_param_sync = False
        return output

    @contextmanager
    def no_sync(self) -> Iterator[None]:
        """Inside this context backward only accumulates gradients locally; the first
        backward after it averages everything accumulated so far."""
        old = self.require_backward_grad_sync
        self.require_backward_grad_sync = False
        try:
            yield
        finally:
            self.require_backward_grad_sync = old


def _verify_same_model(pg: ProcessGroup, states: list) -> None:
    """Fail on every rank at once if the ranks hold models of different sizes (the
    broadcast that follows would otherwise fail deep inside MPI, or hang)."""
    if pg.size() == 1:
        return
    from mpi4py import MPI

    local = np.array([len(states), sum(t._data.size for t in states)], np.int64)
    high, low = local.copy(), local.copy()
    pg.comm.Allreduce(MPI.IN_PLACE, high, op=MPI.MAX)
    pg.comm.Allreduce(MPI.IN_PLACE, low, op=MPI.MIN)
    if (high != low).any():
        raise RuntimeError(
            "DDP expects the same model on every rank, but rank "
            f"{pg.rank()} has {local[0]} parameters and buffers with {local[1]} elements, "
            f"while other ranks have between {low[0]} and {high[0]} tensors with "
            f"{low[1]} to {high[1]} elements."
        )


def _broadcast_coalesced(pg: ProcessGroup, tensors: list) -> None:
    """Copy rank 0's tensors to all ranks: one broadcast per dtype on a packed array."""
    if pg.size() == 1 or not tensors:
        return
    by_dtype: dict = {}
    for t in tensors:
        by_dtype.setdefault(t._data.dtype, []).append(t)
    root = pg.rank() == 0
    for dtype, group in by_dtype.items():
        if root:
            flat = np.concatenate([t._data.ravel() for t in group])
        else:
            flat = np.empty(sum(t._data.size for t in group), dtype)
        pg.comm.Bcast(flat, root=0)
        if root:
            continue
        offset = 0
        for t in group:
            size = t._data.size
            t._data[...] = flat[offset:offset + size].reshape(t._data.shape)
            t._bump_version()
            offset += size
