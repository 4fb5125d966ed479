"""DataLoader: batches of samples from a dataset, loaded in the main process.

Worker processes are not implemented: `num_workers > 0` warns and loads in the main
process. For a `TensorDataset` (or Subsets of one) with the default collation, each
batch is gathered with one fancy-indexing call per tensor instead of a Python loop over
its samples; the result is the same as stacking the samples.
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from ..._creation import Generator
from ..._tensor import _make
from ...autograd.grad_mode import _tracking
from .collate import default_collate, default_convert
from .dataset import Dataset, IterableDataset, Subset, TensorDataset
from .sampler import BatchSampler, RandomSampler, Sampler, SequentialSampler

__all__ = ["DataLoader", "get_worker_info"]

_FROZEN = frozenset({"batch_size", "batch_sampler", "sampler", "drop_last", "dataset",
                     "persistent_workers"})


def get_worker_info() -> None:
    """Always None: ember loads data in the main process."""
    return None


class DataLoader:
    """Iterate over `dataset` in batches of `batch_size` (None: one sample at a time).

    `shuffle=True` draws a new order every epoch from `generator` (or from ember's global
    generator, so `ember.manual_seed` makes it reproducible); `sampler`/`batch_sampler`
    give the order explicitly; `collate_fn` merges a list of samples into a batch.
    """

    def __init__(self, dataset: Dataset, batch_size: int | None = 1,
                 shuffle: bool | None = None, sampler: Sampler | None = None,
                 batch_sampler: Sampler | None = None, num_workers: int = 0,
                 collate_fn: Callable | None = None, pin_memory: bool = False,
                 drop_last: bool = False, timeout: float = 0,
                 worker_init_fn: Callable | None = None, multiprocessing_context=None,
                 generator: Generator | None = None, *, prefetch_factor: int | None = None,
                 persistent_workers: bool = False, pin_memory_device: str = "",
                 in_order: bool = True) -> None:
        _check_worker_options(num_workers, timeout, prefetch_factor, persistent_workers)
        if isinstance(dataset, IterableDataset):
            if shuffle not in (None, False):
                raise ValueError("DataLoader with IterableDataset: expected unspecified shuffle "
                                 f"option, but got shuffle={shuffle}")
            if sampler is not None:
                raise ValueError("DataLoader with IterableDataset: expected unspecified sampler "
                                 f"option, but got sampler={sampler}")
            if batch_sampler is not None:
                raise ValueError("DataLoader with IterableDataset: expected unspecified "
                                 f"batch_sampler option, but got batch_sampler={batch_sampler}")
        elif shuffle not in (None, False) and sampler is not None:
            raise ValueError("sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError("batch_sampler option is mutually exclusive with batch_size, "
                                 "shuffle, sampler, and drop_last")
            batch_size = None
        elif batch_size is None and drop_last:
            raise ValueError("batch_size=None option disables auto-batching and is mutually "
                             "exclusive with drop_last")
        if sampler is None and not isinstance(dataset, IterableDataset):
            sampler = (RandomSampler(dataset, generator=generator) if shuffle
                       else SequentialSampler(dataset))
        if batch_size is not None and batch_sampler is None and sampler is not None:
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)
        self.dataset = dataset
        self.batch_size = batch_size
        self.drop_last = drop_last
        self.sampler = sampler
        self.batch_sampler = batch_sampler
        self.num_workers = num_workers
        self.prefetch_factor = prefetch_factor
        self.pin_memory = pin_memory
        self.timeout = timeout
        self.worker_init_fn = worker_init_fn
        self.generator = generator
        self.persistent_workers = persistent_workers
        if collate_fn is None:
            collate_fn = default_collate if self._auto_collation else default_convert
        self.collate_fn = collate_fn
        self._initialized = True

    def __setattr__(self, name: str, value: Any) -> None:
        if name in _FROZEN and self.__dict__.get("_initialized"):
            raise ValueError(f"{name} attribute should not be set after "
                             f"{type(self).__name__} is initialized")
        super().__setattr__(name, value)

    @property
    def _auto_collation(self) -> bool:
        return self.batch_sampler is not None or (
            isinstance(self.dataset, IterableDataset) and self.batch_size is not None)

    def __iter__(self) -> Iterator:
        if isinstance(self.dataset, IterableDataset):
            return _iterable_batches(self)
        if self._auto_collation:
            return _map_batches(self)
        collate, dataset = self.collate_fn, self.dataset
        return (collate(dataset[i]) for i in self.sampler)

    def __len__(self) -> int:
        if isinstance(self.dataset, IterableDataset):
            n = len(self.dataset)
            if self.batch_size is None:
                return n
            return n // self.batch_size if self.drop_last else -(-n // self.batch_size)
        return len(self.batch_sampler if self._auto_collation else self.sampler)


def _check_worker_options(num_workers: int, timeout: float, prefetch_factor: int | None,
                          persistent_workers: bool) -> None:
    if num_workers < 0:
        raise ValueError("num_workers option should be non-negative; use num_workers=0 to "
                         "disable multiprocessing.")
    if timeout < 0:
        raise ValueError("timeout option should be non-negative")
    if num_workers == 0 and prefetch_factor is not None:
        raise ValueError("prefetch_factor option could only be specified in multiprocessing. "
                         "let num_workers > 0 to enable multiprocessing, otherwise set "
                         "prefetch_factor to None.")
    if persistent_workers and num_workers == 0:
        raise ValueError("persistent_workers option needs num_workers > 0")
    if num_workers > 0:
        warnings.warn(
            f"ember's DataLoader has no worker processes; num_workers={num_workers} is "
            "ignored and batches are loaded in the main process.",
            UserWarning,
            stacklevel=3,
        )


def _iterable_batches(loader: DataLoader) -> Iterator:
    stream = iter(loader.dataset)
    collate, size = loader.collate_fn, loader.batch_size
    if size is None:
        for sample in stream:
            yield collate(sample)
        return
    while True:
        batch = list(itertools.islice(stream, size))
        if not batch or (len(batch) < size and loader.drop_last):
            return
        yield collate(batch)


def _map_batches(loader: DataLoader) -> Iterator:
    dataset, collate = loader.dataset, loader.collate_fn
    batch_sampler = loader.batch_sampler
    fast = _tensor_source(dataset) if collate is default_collate else None
    if fast is not None and type(batch_sampler) is BatchSampler:
        arrays, rows = fast
        for idx in batch_sampler._batches():
            if rows is not None:
                idx = rows[idx]
            yield [_make(a[idx], False, None) for a in arrays]
        return
    getitems = getattr(dataset, "__getitems__", None)
    for idx in batch_sampler:
        samples = getitems(idx) if getitems is not None else [dataset[i] for i in idx]
        yield collate(samples)


def _tensor_source(dataset: Dataset) -> tuple[list[np.ndarray], np.ndarray | None] | None:
    """(arrays, row map) when every batch of `dataset` is rows of plain arrays: a
    TensorDataset, or Subsets of one, whose tensors need no graph."""
    maps = []
    while type(dataset) is Subset:
        maps.append(np.asarray(dataset.indices, dtype=np.int64))
        dataset = dataset.dataset
    if type(dataset) is not TensorDataset:
        return None
    tensors = dataset.tensors
    if _tracking.get() and any(t._requires_grad for t in tensors):
        return None
    rows = None
    for m in reversed(maps):  # innermost Subset first
        rows = m if rows is None else rows[m]
    return [t._data for t in tensors], rows
