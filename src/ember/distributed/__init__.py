"""Multi-process training over MPI: the process group and tensor collectives.

Launch one process per rank with `mpiexec -n 2 python -m mpi4py train.py`, then call
`init_process_group("mpi")` in each. See docs/distributed.md.
"""

from .collectives import ReduceOp, Work, all_gather, all_reduce, broadcast
from .process_group import (
    ProcessGroup,
    barrier,
    destroy_process_group,
    get_backend,
    get_rank,
    get_world_size,
    group,
    init_process_group,
    is_available,
    is_initialized,
)

__all__ = [
    "init_process_group", "destroy_process_group", "is_available", "is_initialized",
    "get_rank", "get_world_size", "get_backend", "barrier", "all_reduce", "broadcast",
    "all_gather", "ReduceOp", "Work", "ProcessGroup", "group",
]
