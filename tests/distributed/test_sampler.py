"""DistributedSampler: each rank's share, padding, drop_last and per-epoch shuffling."""

from __future__ import annotations

import pytest

from ember.utils.data import DataLoader, TensorDataset
from ember.utils.data.distributed import DistributedSampler


def shares(n: int, replicas: int, **kwargs) -> list[list[int]]:
    return [list(DistributedSampler(range(n), replicas, r, **kwargs)) for r in range(replicas)]


def test_ranks_take_interleaved_indices_without_shuffle():
    assert shares(6, 2, shuffle=False) == [[0, 2, 4], [1, 3, 5]]


def test_padding_repeats_the_start_so_ranks_get_equal_counts():
    assert shares(5, 3, shuffle=False) == [[0, 3], [1, 4], [2, 0]]


def test_drop_last_cuts_the_tail_instead():
    assert shares(5, 3, shuffle=False, drop_last=True) == [[0], [1], [2]]


def test_shuffled_ranks_cover_the_dataset_once():
    parts = shares(10, 2, seed=3)
    assert sorted(parts[0] + parts[1]) == list(range(10))


def test_same_seed_and_epoch_give_the_same_order():
    assert shares(10, 2, seed=3) == shares(10, 2, seed=3)


def test_set_epoch_changes_the_shuffle():
    sampler = DistributedSampler(range(50), 2, 0, seed=1)
    first = list(sampler)
    sampler.set_epoch(1)
    assert list(sampler) != first
    assert sampler.epoch == 1


def test_len_is_the_per_rank_count():
    assert len(DistributedSampler(range(7), 2, 1)) == 4
    assert len(DistributedSampler(range(7), 2, 1, drop_last=True)) == 3


def test_invalid_rank_raises():
    with pytest.raises(ValueError, match=r"Invalid rank 2, rank should be in the interval \[0, 1"):
        DistributedSampler(range(4), num_replicas=2, rank=2)


def test_defaults_need_a_process_group():
    # ValueError with mpi4py installed, RuntimeError (no MPI available) without it.
    with pytest.raises((ValueError, RuntimeError),
                       match="Default process group has not been initialized|Requires distributed"):
        DistributedSampler(range(4))


def test_works_as_a_dataloader_sampler():
    import ember

    data = TensorDataset(ember.arange(8.0))
    loader = DataLoader(data, batch_size=2, sampler=DistributedSampler(data, 2, 1, shuffle=False))
    assert [b[0].tolist() for b in loader] == [[1.0, 3.0], [5.0, 7.0]]


@pytest.mark.parametrize("n, replicas, drop_last", [(7, 3, False), (7, 3, True), (2, 4, False)])
def test_unshuffled_shares_match_torch(n, replicas, drop_last):
    torch_data = pytest.importorskip("torch.utils.data")
    expected = [list(torch_data.DistributedSampler(range(n), replicas, r, shuffle=False,
                                                   drop_last=drop_last))
                for r in range(replicas)]
    assert shares(n, replicas, shuffle=False, drop_last=drop_last) == expected
