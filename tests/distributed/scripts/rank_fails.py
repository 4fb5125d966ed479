"""Run on 2 ranks by tests/distributed: rank 1 raises while rank 0 waits in a collective.

Launched with `python -m mpi4py`, the uncaught exception aborts the whole job; without it
rank 0 would wait in `all_reduce` forever.
"""

import ember
import ember.distributed as dist

dist.init_process_group("mpi")
if dist.get_rank() == 1:
    raise ValueError("rank 1 failed on purpose")
t = ember.ones(4)
dist.all_reduce(t)
print("rank 0 should never get here", flush=True)
