"""Data-parallel training of a small classifier with DistributedDataParallel.

Run it on 2 processes of this machine (see docs/distributed.md for several machines):

    mpiexec -n 2 python -m mpi4py examples/train_ddp.py --epochs 5

`python -m mpi4py` makes an exception on one rank abort the whole job instead of leaving
the other ranks waiting forever. It also runs as one plain process:
`python examples/train_ddp.py`.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import ember
import ember.distributed as dist
from ember import nn
from ember.nn.parallel import DistributedDataParallel as DDP
from ember.utils.data import DataLoader, DistributedSampler, TensorDataset


def spirals(n: int, classes: int = 3, seed: int = 0) -> TensorDataset:
    """Interleaved noisy spirals in 2-D, one arm per class (the same on every rank)."""
    rng = np.random.default_rng(seed)
    per = n // classes
    t = rng.uniform(0.2, 1.0, size=(classes, per))
    angle = 4.0 * t + (2 * np.pi / classes) * np.arange(classes)[:, None]
    angle += rng.normal(scale=0.15, size=angle.shape)
    x = np.stack([t * np.cos(angle), t * np.sin(angle)], axis=-1).reshape(-1, 2)
    y = np.repeat(np.arange(classes), per)
    return TensorDataset(ember.tensor(x.astype(np.float32)), ember.tensor(y))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=32, help="per rank")
    parser.add_argument("--lr", type=float, default=0.1)
    parser.add_argument("--samples", type=int, default=3000)
    args = parser.parse_args()

    dist.init_process_group("mpi")
    rank, world = dist.get_rank(), dist.get_world_size()

    data = spirals(args.samples)
    sampler = DistributedSampler(data, shuffle=True, seed=0)  # this rank's share
    loader = DataLoader(data, batch_size=args.batch_size, sampler=sampler)

    ember.manual_seed(rank)  # replicas may start different: DDP copies rank 0's weights
    model = DDP(nn.Sequential(nn.Linear(2, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(),
                              nn.Linear(64, 3)))
    opt = ember.optim.SGD(model.parameters(), lr=args.lr, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()

    for epoch in range(args.epochs):
        sampler.set_epoch(epoch)  # a new shuffle each epoch, the same on every rank
        start = time.perf_counter()
        total = ember.zeros(2, dtype=ember.float64)  # [sum of losses, batches]
        for x, y in loader:
            opt.zero_grad()
            loss = loss_fn(model(x), y)
            loss.backward()  # gradients are averaged across ranks here
            opt.step()
            total += ember.tensor([loss.item(), 1.0], dtype=ember.float64)
        dist.all_reduce(total)  # the mean loss over all ranks' batches
        if rank == 0:
            with ember.no_grad():
                acc = (model(data.tensors[0]).argmax(1) == data.tensors[1]).float().mean()
            print(f"epoch {epoch}: loss {total[0].item() / total[1].item():.4f}  "
                  f"accuracy {acc.item():.3f}  ({time.perf_counter() - start:.2f}s, "
                  f"{world} rank{'s' if world > 1 else ''})", flush=True)
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
