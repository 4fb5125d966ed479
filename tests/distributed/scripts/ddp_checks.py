"""Run on 2 ranks by tests/distributed: collectives and DDP checks in one MPI launch.

Usage: ddp_checks.py OUT_DIR. Each rank writes its results to OUT_DIR/rank<r>.json (the
ranks' stdout streams interleave, so they are not parsed).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

import ember
import ember.distributed as dist
from ember import nn
from ember.nn.parallel import DistributedDataParallel as DDP

BATCH, STEPS, N_IN, N_OUT = 16, 20, 8, 4


def mlp(seed: int) -> nn.Module:
    ember.manual_seed(seed)
    return nn.Sequential(nn.Linear(N_IN, 32), nn.Tanh(), nn.Linear(32, 32), nn.Tanh(),
                         nn.Linear(32, N_OUT))


def flat_params(model: nn.Module) -> np.ndarray:
    return np.concatenate([p.detach().numpy().ravel() for p in model.parameters()])


def same_on_all_ranks(arr: np.ndarray) -> bool:
    parts = [ember.zeros(arr.shape, dtype=ember.float32) for _ in range(dist.get_world_size())]
    dist.all_gather(parts, ember.tensor(arr))
    return all(np.array_equal(p.numpy(), parts[0].numpy()) for p in parts)


def my_half(batch: np.ndarray, rank: int) -> ember.Tensor:
    half = len(batch) // 2
    return ember.tensor(batch[rank * half:(rank + 1) * half])


def check_collectives(rank: int) -> dict:
    out = {}
    for op in ("SUM", "AVG", "MAX", "MIN"):
        t = ember.full((3,), float(rank + 1))
        v = t._version
        dist.all_reduce(t, op=getattr(dist.ReduceOp, op))
        out[op] = t.tolist()
        out[op + "_version_bumped"] = t._version == v + 1
    t = ember.arange(6.0).reshape(2, 3) * (rank + 1)
    view = t.t()  # not contiguous: reduced through a copy, written back
    dist.all_reduce(view)
    out["noncontiguous"] = t.tolist()
    t = ember.full((2,), float(rank))
    dist.broadcast(t, src=1)
    out["broadcast_from_1"] = t.tolist()
    parts = [ember.zeros(2) for _ in range(2)]
    dist.all_gather(parts, ember.full((2,), float(rank * 10)))
    out["all_gather"] = [p.tolist() for p in parts]
    t = ember.full((2,), float(rank + 1))
    work = dist.all_reduce(t, async_op=True)
    out["async_sum"] = [work.wait(), t.tolist()]
    return out


def check_training(rank: int) -> dict:
    rng = np.random.default_rng(123)
    xs = rng.standard_normal((STEPS, BATCH, N_IN)).astype(np.float32)
    ys = rng.standard_normal((STEPS, BATCH, N_OUT)).astype(np.float32)
    model = mlp(seed=rank)  # different on each rank: DDP must copy rank 0's
    ddp = DDP(model, bucket_cap_mb=0.002)  # small buckets: several reductions per step
    ref = mlp(seed=0)
    loss_fn = nn.MSELoss()
    opt = ember.optim.SGD(ddp.parameters(), lr=0.05, momentum=0.9)
    ref_opt = ember.optim.SGD(ref.parameters(), lr=0.05, momentum=0.9)
    for x, y in zip(xs, ys):
        opt.zero_grad()
        loss_fn(ddp(my_half(x, rank)), my_half(y, rank)).backward()
        opt.step()
        ref_opt.zero_grad()
        loss_fn(ref(ember.tensor(x)), ember.tensor(y)).backward()
        ref_opt.step()
    mine = flat_params(model)
    return {
        "max_diff_vs_single": float(np.abs(mine - flat_params(ref)).max()),
        "ranks_identical": same_on_all_ranks(mine),
        "n_buckets": len(ddp._reducer.buckets),
        "grad_is_bucket_view": all(
            p.grad._data.base is not None for p in model.parameters()),
        "state_dict_keys": list(ddp.state_dict())[:2],
    }


def check_no_sync(rank: int) -> dict:
    rng = np.random.default_rng(7)
    micro = [(rng.standard_normal((8, N_IN)).astype(np.float32),
              rng.standard_normal((8, N_OUT)).astype(np.float32)) for _ in range(3)]
    model = mlp(seed=0)
    ddp = DDP(model)
    loss_fn = nn.MSELoss()
    opt = ember.optim.SGD(ddp.parameters(), lr=0.1)
    local_after_no_sync = None
    with ddp.no_sync():
        for x, y in micro[:2]:
            (loss_fn(ddp(my_half(x, rank)), my_half(y, rank)) / 3).backward()
        local_after_no_sync = flat_grads(model)
    x, y = micro[2]
    (loss_fn(ddp(my_half(x, rank)), my_half(y, rank)) / 3).backward()
    opt.step()

    ref = mlp(seed=0)
    ref_opt = ember.optim.SGD(ref.parameters(), lr=0.1)
    full_x = ember.tensor(np.concatenate([x for x, _ in micro]))
    full_y = ember.tensor(np.concatenate([y for _, y in micro]))
    loss_fn(ref(full_x), full_y).backward()
    ref_opt.step()
    return {
        "no_sync_grads_stay_local": not same_on_all_ranks(local_after_no_sync),
        "max_diff_vs_concatenated": float(np.abs(flat_params(model) - flat_params(ref)).max()),
    }


def flat_grads(model: nn.Module) -> np.ndarray:
    return np.concatenate([p.grad.numpy().ravel() for p in model.parameters()])


def check_frozen(rank: int) -> dict:
    model = mlp(seed=rank)
    model[0].requires_grad_(False)
    ddp = DDP(model)
    frozen_before = [p.detach().numpy().copy() for p in model[0].parameters()]
    trainable_bytes = sum(p.nbytes for p in model.parameters() if p.requires_grad)
    opt = ember.optim.SGD([p for p in ddp.parameters() if p.requires_grad], lr=0.1)
    rng = np.random.default_rng(rank)
    for _ in range(3):
        opt.zero_grad()
        x = ember.tensor(rng.standard_normal((4, N_IN)).astype(np.float32))
        ddp(x).pow(2).mean().backward()
        opt.step()
    return {
        "frozen_unchanged": all(np.array_equal(a, p.detach().numpy())
                                for a, p in zip(frozen_before, model[0].parameters())),
        "frozen_grad_none": all(p.grad is None for p in model[0].parameters()),
        "reduced_bytes_equal_trainable": ddp._reducer.nbytes == trainable_bytes,
        "frozen_identical_across_ranks": same_on_all_ranks(flat_params(model[0])),
        "trainable_identical_across_ranks": same_on_all_ranks(flat_params(model[4])),
    }


class TwoHeads(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Linear(N_IN, 8)
        self.used = nn.Linear(8, 2)
        self.unused = nn.Linear(8, 2)

    def forward(self, x):
        return self.used(self.body(x))


def check_unused(rank: int) -> dict:
    out = {}
    ember.manual_seed(0)
    ddp = DDP(TwoHeads(), find_unused_parameters=True)
    x = ember.ones(2, N_IN) * (rank + 1)
    for _ in range(2):
        ddp(x).sum().backward()
    out["find_unused_grad_stays_none"] = ddp.module.unused.weight.grad is None
    out["find_unused_used_grad_synced"] = same_on_all_ranks(ddp.module.body.weight.grad.numpy())
    ember.manual_seed(0)
    strict = DDP(TwoHeads())
    strict(x).sum().backward()
    try:
        strict(x)
        out["unused_error"] = None
    except RuntimeError as exc:
        out["unused_error"] = str(exc)
    return out


def main() -> None:
    dist.init_process_group("mpi")
    rank = dist.get_rank()
    result = {"rank": rank, "world_size": dist.get_world_size()}
    result["collectives"] = check_collectives(rank)
    result["training"] = check_training(rank)
    result["no_sync"] = check_no_sync(rank)
    result["frozen"] = check_frozen(rank)
    result["unused"] = check_unused(rank)  # last: leaves a reduction unfinished on purpose
    Path(sys.argv[1], f"rank{rank}.json").write_text(json.dumps(result))
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
