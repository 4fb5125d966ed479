"""Data-parallel training on MPI: gradient-sync throughput and step time, 1 vs 2 ranks.

(a) allreduce throughput of DDP's bucketed gradient sync (default 25 MiB buckets, the
    first one 1 MiB) vs one bare mpi4py `Allreduce` of the same total bytes. The DDP
    figure is all it does once backward has accumulated the gradients into the bucket
    views: dividing each by the world size, the per-parameter bookkeeping, the
    reductions and the wait. "bare+scale" adds one scaling pass to the bare Allreduce
    (the least an average costs).
    Target: >= 0.9x the bare rate.
(b) training-step time of the MLP 784-1024-1024-10 (ReLU, CrossEntropyLoss, SGD) at a
    global batch of 128: 1 rank on all of it vs 2 ranks on 64 samples each.

Each rank uses one BLAS thread. On a machine with only 2 cores, 2 ranks leave nothing
for the OS and MPI's polling, so the 2-rank speedup shown here is a floor, not a
promise. Run: python benchmarks/bench_distributed.py (it launches mpiexec itself).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from _common import fmt, single_thread, table, use_local_source

single_thread()
use_local_source()

import numpy as np  # noqa: E402

import ember  # noqa: E402

SIZES_MB = (1, 32)  # gradient bytes per sync in (a)
BATCH = 128


def _sync_throughput(dist, DDP, total_mb: int, repeats: int) -> dict:
    """Seconds per gradient sync, DDP's path vs one bare Allreduce of the same bytes."""
    from mpi4py import MPI

    comm = dist.group.WORLD.comm
    n = total_mb * 1024 * 1024 // 4
    layers = [ember.nn.Linear(1024, n // 8 // 1024, bias=False) for _ in range(8)]
    ddp = DDP(ember.nn.Sequential(*layers))
    reducer = ddp._reducer
    order = list(reversed(range(len(reducer.params))))

    def ddp_sync() -> None:
        # Backward has accumulated each gradient into its bucket view; from there on,
        # the post-accumulate hooks do the rest.
        reducer.prepare_for_backward(None)
        for i in order:
            reducer._on_grad(i)

    bare = np.ones(reducer.nbytes // 4, np.float32)

    def bare_allreduce() -> None:
        comm.Allreduce(MPI.IN_PLACE, bare, op=MPI.SUM)

    def bare_average() -> None:  # what averaging needs at least: one scaling pass more
        np.multiply(bare, np.float32(0.5), out=bare)
        comm.Allreduce(MPI.IN_PLACE, bare, op=MPI.SUM)

    fns = {"ddp": ddp_sync, "bare": bare_allreduce, "bare_avg": bare_average}
    return {"mb": reducer.nbytes / 2**20, "buckets": len(reducer.buckets),
            **_interleaved(comm, fns, repeats)}


def _interleaved(comm, fns: dict, repeats: int) -> dict:
    """Min seconds per call of each function, the functions taking turns (so that load
    from other programs on the machine hits them alike), ranks aligned by a barrier."""
    best = dict.fromkeys(fns, float("inf"))
    for fn in fns.values():
        fn()  # warm up
    for _ in range(repeats):
        for name, fn in fns.items():
            comm.Barrier()
            t0 = time.perf_counter()
            fn()
            best[name] = min(best[name], time.perf_counter() - t0)
    return best


def _step_time(dist, DDP, steps: int) -> dict:
    rank, world = dist.get_rank(), dist.get_world_size()
    comm = dist.group.WORLD.comm
    ember.manual_seed(0)
    model = DDP(ember.nn.Sequential(
        ember.nn.Linear(784, 1024), ember.nn.ReLU(), ember.nn.Linear(1024, 1024),
        ember.nn.ReLU(), ember.nn.Linear(1024, 10)))
    opt = ember.optim.SGD(model.parameters(), lr=0.01)
    loss_fn = ember.nn.CrossEntropyLoss()
    rng = np.random.default_rng(0)
    x = rng.standard_normal((BATCH, 784)).astype(np.float32)
    y = rng.integers(0, 10, BATCH)
    per = BATCH // world
    xb = ember.tensor(x[rank * per:(rank + 1) * per])
    yb = ember.tensor(y[rank * per:(rank + 1) * per])

    def step(sync: bool) -> None:
        opt.zero_grad()
        if sync:
            loss_fn(model(xb), yb).backward()
        else:
            with model.no_sync():
                loss_fn(model(xb), yb).backward()
        opt.step()

    return _interleaved(comm, {"step": lambda: step(True),
                               "step_no_sync": lambda: step(False)}, steps)


def worker(args: argparse.Namespace) -> None:
    import ember.distributed as dist
    from ember.nn.parallel import DistributedDataParallel as DDP

    dist.init_process_group("mpi")
    out = {"world": dist.get_world_size(), "step": _step_time(dist, DDP, args.steps)}
    out["sync"] = [_sync_throughput(dist, DDP, mb, args.repeats) for mb in SIZES_MB]
    if dist.get_rank() == 0:
        print("BENCH " + json.dumps(out), flush=True)
    dist.destroy_process_group()


def launch(n: int, args: argparse.Namespace) -> dict:
    local = Path(sys.executable).parent / "mpiexec"
    launcher = str(local) if local.exists() else shutil.which("mpiexec")
    if launcher is None:
        sys.exit("mpiexec not found: pip install 'ember[distributed]' (mpi4py, mpich)")
    cmd = [launcher, "-n", str(n), sys.executable, "-m", "mpi4py", __file__, "--worker",
           "--steps", str(args.steps), "--repeats", str(args.repeats)]
    job = subprocess.run(cmd, capture_output=True, text=True, timeout=600,
                         env=dict(os.environ, OMP_NUM_THREADS="1"))
    for line in job.stdout.splitlines():
        if line.startswith("BENCH "):
            return json.loads(line[6:])
    sys.exit(f"{' '.join(cmd)} failed:\n{job.stdout}\n{job.stderr}")


def report(one: dict, two: dict) -> None:
    print(f"ember.distributed on {os.cpu_count()} cores (MPI, one BLAS thread per rank)\n")
    rows = []
    for s in two["sync"]:
        gib = s["mb"] / 1024
        rows.append([f"{s['mb']:.1f} MiB in {s['buckets']} bucket(s)",
                     fmt(1e3 * s["ddp"]), fmt(1e3 * s["bare"]), fmt(1e3 * s["bare_avg"]),
                     fmt(gib / s["ddp"]), fmt(gib / s["bare"]), fmt(s["bare"] / s["ddp"])])
    print("(a) gradient sync on 2 ranks: DDP buckets vs one bare Allreduce (target >= 0.90x)")
    print(table(["gradients", "ddp ms", "bare ms", "bare+scale ms", "ddp GiB/s", "bare GiB/s",
                 "ddp/bare"], rows))
    s1, s2 = one["step"], two["step"]
    print(f"\n(b) MLP 784-1024-1024-10 step, global batch {BATCH}")
    print(table(
        ["ranks", "step ms", "no_sync step ms", "speedup vs 1 rank"],
        [["1", fmt(1e3 * s1["step"]), fmt(1e3 * s1["step_no_sync"]), "1.00"],
         ["2", fmt(1e3 * s2["step"]), fmt(1e3 * s2["step_no_sync"]),
          fmt(s1["step"] / s2["step"])]]))
    print(f"    gradient sync adds {fmt(1e3 * (s2['step'] - s2['step_no_sync']))} ms per step "
          "on 2 ranks (step - no_sync step)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--steps", type=int, default=15)
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args()
    if args.worker:
        worker(args)
        return
    report(launch(1, args), launch(2, args))


if __name__ == "__main__":
    main()
