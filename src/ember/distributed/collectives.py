"""Collectives on tensors: MPI's buffer API straight on each tensor's NumPy array.

Only the uppercase, buffer-based mpi4py calls are used (`Allreduce`, `Bcast`, ...):
the data moves as raw memory, never pickled. Each op writes into the tensor in place
and bumps its version counter, so a graph that saved the tensor notices the change.
"""

from __future__ import annotations

import enum
from collections.abc import Callable

import numpy as np

from .._tensor import Tensor, tensor_type_name
from .process_group import ProcessGroup, _mpi, _resolve

__all__ = ["ReduceOp", "Work", "all_reduce", "broadcast", "all_gather"]


class ReduceOp(enum.Enum):
    """How `all_reduce` combines the ranks' tensors."""

    SUM = "sum"
    AVG = "avg"
    PRODUCT = "product"
    MIN = "min"
    MAX = "max"

    def __repr__(self) -> str:
        return f"<ReduceOp.{self.name}>"


class Work:
    """Handle of a collective started with `async_op=True`; `wait()` completes it."""

    __slots__ = ("_request", "_finish", "_done")

    def __init__(self, request, finish: Callable[[], None] | None) -> None:
        self._request = request
        self._finish = finish
        self._done = False

    def _complete(self) -> None:
        self._done = True
        if self._finish is not None:
            self._finish()

    def wait(self, timeout=None) -> bool:
        """Block until the collective has finished on this rank and its result is in place."""
        if not self._done:
            self._request.Wait()
            self._complete()
        return True

    def is_completed(self) -> bool:
        if not self._done and self._request.Test():
            self._complete()
        return self._done


def _mpi_op(op: ReduceOp, dtype: np.dtype):
    if not isinstance(op, ReduceOp):
        raise TypeError(f"op must be an ember.distributed.ReduceOp, got {op!r}")
    if op is ReduceOp.AVG and dtype.kind not in "fb":
        raise RuntimeError(
            f"all_reduce with ReduceOp.AVG needs a floating point tensor, got "
            f"{tensor_type_name(dtype)}"
        )
    MPI = _mpi()
    if dtype == np.bool_:  # MPI reduces booleans only with logical ops
        return MPI.LAND if op in (ReduceOp.MIN, ReduceOp.PRODUCT) else MPI.LOR
    return {
        ReduceOp.SUM: MPI.SUM, ReduceOp.AVG: MPI.SUM, ReduceOp.PRODUCT: MPI.PROD,
        ReduceOp.MIN: MPI.MIN, ReduceOp.MAX: MPI.MAX,
    }[op]


def _buffer(tensor, fn: str) -> tuple[np.ndarray, bool]:
    """The array MPI reads and writes, and whether it is a copy to write back."""
    if not isinstance(tensor, Tensor):
        raise TypeError(f"{fn}(): argument 'tensor' must be Tensor, not {type(tensor).__name__}")
    arr = tensor._data
    if not arr.flags.writeable:
        raise RuntimeError(
            f"{fn}(): Tensors must be non-overlapping and dense (got a read-only array of "
            f"shape {list(arr.shape)}, e.g. from expand())"
        )
    if arr.flags.c_contiguous:
        return arr, False
    return np.ascontiguousarray(arr), True


def _done_writing(tensor: Tensor, arr: np.ndarray, copied: bool) -> None:
    if copied:
        tensor._data[...] = arr
    tensor._bump_version()


def all_reduce(tensor: Tensor, op: ReduceOp = ReduceOp.SUM,
               group: ProcessGroup | None = None, async_op: bool = False) -> Work | None:
    """Combine `tensor` across all ranks with `op`; every rank gets the result in place."""
    comm = _resolve(group).comm
    arr, copied = _buffer(tensor, "all_reduce")
    mpi_op = _mpi_op(op, arr.dtype)
    size = comm.Get_size()
    MPI = _mpi()

    def finish() -> None:
        if op is ReduceOp.AVG and size > 1 and arr.dtype.kind == "f":
            np.multiply(arr, arr.dtype.type(1.0 / size), out=arr)
        _done_writing(tensor, arr, copied)

    if async_op:
        return Work(comm.Iallreduce(MPI.IN_PLACE, arr, op=mpi_op), finish)
    comm.Allreduce(MPI.IN_PLACE, arr, op=mpi_op)
    finish()
    return None


def broadcast(tensor: Tensor, src: int = 0, group: ProcessGroup | None = None,
              async_op: bool = False) -> Work | None:
    """Copy rank `src`'s `tensor` into `tensor` on every other rank."""
    pg = _resolve(group)
    size = pg.size()
    if not isinstance(src, int) or not 0 <= src < size:
        raise ValueError(f"Invalid src rank {src!r}: the group has ranks 0 to {size - 1}")
    arr, copied = _buffer(tensor, "broadcast")

    def finish() -> None:
        _done_writing(tensor, arr, copied)

    if async_op:
        return Work(pg.comm.Ibcast(arr, root=src), finish)
    pg.comm.Bcast(arr, root=src)
    finish()
    return None


def all_gather(tensor_list: list[Tensor], tensor: Tensor, group: ProcessGroup | None = None,
               async_op: bool = False) -> Work | None:
    """Fill `tensor_list[i]` with rank i's `tensor`, on every rank."""
    pg = _resolve(group)
    size = pg.size()
    if not isinstance(tensor, Tensor):
        raise TypeError(
            f"all_gather(): argument 'tensor' must be Tensor, not {type(tensor).__name__}")
    if not isinstance(tensor_list, (list, tuple)) or len(tensor_list) != size:
        got = len(tensor_list) if isinstance(tensor_list, (list, tuple)) else tensor_list
        raise ValueError(
            f"all_gather(): tensor_list must hold world_size={size} tensors, got {got!r}")
    src = np.ascontiguousarray(tensor._data)
    for i, out in enumerate(tensor_list):
        _buffer(out, "all_gather")
        if out._data.shape != src.shape or out._data.dtype != src.dtype:
            raise ValueError(
                f"all_gather(): tensor_list[{i}] is {tensor_type_name(out._data.dtype)} of shape "
                f"{list(out._data.shape)}, expected {tensor_type_name(src.dtype)} of shape "
                f"{list(src.shape)} like the input tensor"
            )
    recv = np.empty((size,) + src.shape, src.dtype)

    def finish() -> None:
        for out, part in zip(tensor_list, recv):
            out._data[...] = part
            out._bump_version()

    if async_op:
        return Work(pg.comm.Iallgather(src, recv), finish)
    pg.comm.Allgather(src, recv)
    finish()
    return None
