"""The default process group: one MPI communicator shared by every collective.

`mpi4py` is imported only when a group is created, so `import ember` never starts MPI.
"""

from __future__ import annotations

import importlib.util
from typing import Any

__all__ = [
    "ProcessGroup", "group", "is_available", "is_initialized", "init_process_group",
    "destroy_process_group", "get_rank", "get_world_size", "get_backend", "barrier",
]

_NOT_INITIALIZED = (
    "Default process group has not been initialized, please make sure to call "
    "init_process_group."
)
_NO_MPI = (
    "Distributed package doesn't have MPI available: install mpi4py and an MPI library, "
    "for example with `pip install 'ember[distributed]'` (mpi4py and the mpich wheel)."
)


class ProcessGroup:
    """A set of ranks that run collectives together, backed by an MPI communicator."""

    __slots__ = ("comm",)

    def __init__(self, comm: Any) -> None:
        self.comm = comm

    def rank(self) -> int:
        return self.comm.Get_rank()

    def size(self) -> int:
        return self.comm.Get_size()

    def name(self) -> str:
        return "mpi"

    def __repr__(self) -> str:
        return f"ProcessGroup(backend='mpi', rank={self.rank()}, size={self.size()})"


class group:
    """`group.WORLD` is the default process group once `init_process_group` has run."""

    WORLD: ProcessGroup | None = None


_groups = group  # for functions whose `group` parameter shadows the class


def is_available() -> bool:
    """True when mpi4py can be imported, i.e. the MPI backend can be used."""
    return importlib.util.find_spec("mpi4py") is not None


def is_initialized() -> bool:
    """True between `init_process_group` and `destroy_process_group`."""
    return group.WORLD is not None


def _mpi():
    try:
        from mpi4py import MPI
    except (ImportError, RuntimeError) as exc:
        raise RuntimeError(_NO_MPI) from exc
    return MPI


def init_process_group(backend: str | None = "mpi", init_method: str | None = None,
                       timeout: Any = None, world_size: int = -1, rank: int = -1,
                       **kwargs: Any) -> None:
    """Join the default process group. The ranks and the world size come from the MPI
    launcher (`mpiexec -n N python -m mpi4py script.py`); `world_size` and `rank`, when
    given, must agree with it."""
    if group.WORLD is not None:
        raise ValueError("trying to initialize the default process group twice!")
    name = "mpi" if backend is None else str(backend).lower()
    if name != "mpi":
        raise ValueError(f"Invalid backend: '{backend}'. ember.distributed supports only 'mpi'.")
    world = _mpi().COMM_WORLD
    actual_rank, actual_size = world.Get_rank(), world.Get_size()
    if world_size not in (-1, None) and world_size != actual_size:
        raise ValueError(
            f"world_size={world_size} does not match the MPI job, which has {actual_size} "
            "processes (set it with mpiexec -n)"
        )
    if rank not in (-1, None) and rank != actual_rank:
        raise ValueError(f"rank={rank} does not match this process's MPI rank {actual_rank}")
    # A private duplicate keeps ember's messages apart from the script's own MPI calls.
    group.WORLD = ProcessGroup(world.Dup())


def _default_group() -> ProcessGroup:
    pg = group.WORLD
    if pg is None:
        raise ValueError(_NOT_INITIALIZED)
    return pg


def _resolve(pg: ProcessGroup | None) -> ProcessGroup:
    """The group a collective runs on: the default one unless another is given."""
    if pg is None:
        return _default_group()
    if not isinstance(pg, ProcessGroup):
        raise TypeError(f"group must be a ProcessGroup or None, got {type(pg).__name__}")
    return pg


def destroy_process_group(group: ProcessGroup | None = None) -> None:
    """Leave the process group (MPI itself is finalized when the process exits)."""
    pg = _resolve(group)
    if pg is _groups.WORLD:
        _groups.WORLD = None
    pg.comm.Free()


def get_rank(group: ProcessGroup | None = None) -> int:
    """This process's rank in the group (0 .. world_size - 1)."""
    return _resolve(group).rank()


def get_world_size(group: ProcessGroup | None = None) -> int:
    """The number of processes in the group."""
    return _resolve(group).size()


def get_backend(group: ProcessGroup | None = None) -> str:
    _resolve(group)
    return "mpi"


def barrier(group: ProcessGroup | None = None, async_op: bool = False, device_ids=None):
    """Block until every rank of the group has reached this call."""
    comm = _resolve(group).comm
    if async_op:
        from .collectives import Work

        return Work(comm.Ibarrier(), None)
    comm.Barrier()
    return None
