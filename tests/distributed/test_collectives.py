"""ember.distributed: collectives on 2 ranks (from the shared MPI launch) and the errors
raised before a process group exists (in process, no MPI needed)."""

from __future__ import annotations

import importlib.util

import pytest

import ember
import ember.distributed as dist

_NOT_INIT = "Default process group has not been initialized"


@pytest.mark.parametrize("op, expected", [
    ("SUM", 3.0), ("AVG", 1.5), ("MAX", 2.0), ("MIN", 1.0),
])
def test_all_reduce_combines_ranks_in_place(two_ranks, op, expected):
    for rank in (0, 1):
        assert two_ranks[rank]["collectives"][op] == [expected] * 3


def test_all_reduce_bumps_the_version_counter(two_ranks):
    got = two_ranks[0]["collectives"]
    assert all(got[op + "_version_bumped"] for op in ("SUM", "AVG", "MAX", "MIN"))


def test_all_reduce_writes_back_into_a_non_contiguous_view(two_ranks):
    assert two_ranks[1]["collectives"]["noncontiguous"] == [[0, 3, 6], [9, 12, 15]]


def test_broadcast_copies_the_source_rank(two_ranks):
    assert two_ranks[0]["collectives"]["broadcast_from_1"] == [1.0, 1.0]


def test_all_gather_fills_the_list_in_rank_order(two_ranks):
    assert two_ranks[1]["collectives"]["all_gather"] == [[0.0, 0.0], [10.0, 10.0]]


def test_async_all_reduce_is_complete_after_wait(two_ranks):
    assert two_ranks[0]["collectives"]["async_sum"] == [True, [3.0, 3.0]]


def test_get_rank_before_init_raises():
    with pytest.raises(ValueError, match=_NOT_INIT):
        dist.get_rank()


def test_all_reduce_before_init_raises():
    with pytest.raises(ValueError, match=_NOT_INIT):
        dist.all_reduce(ember.ones(2))


def test_is_initialized_is_false_before_init():
    assert dist.is_initialized() is False


def test_is_available_follows_mpi4py():
    assert dist.is_available() == (importlib.util.find_spec("mpi4py") is not None)


def test_init_rejects_other_backends():
    with pytest.raises(ValueError, match="Invalid backend: 'nccl'"):
        dist.init_process_group("nccl")


class _TwoRankComm:
    def Get_rank(self) -> int:
        return 0

    def Get_size(self) -> int:
        return 2


def test_all_gather_needs_one_tensor_per_rank():
    pg = dist.ProcessGroup(_TwoRankComm())
    with pytest.raises(ValueError, match="world_size=2 tensors, got 1"):
        dist.all_gather([ember.zeros(2)], ember.ones(2), group=pg)


def test_avg_of_an_integer_tensor_raises():
    pg = dist.ProcessGroup(_TwoRankComm())
    with pytest.raises(RuntimeError, match="AVG needs a floating point tensor"):
        dist.all_reduce(ember.ones(2, dtype=ember.int64), dist.ReduceOp.AVG, group=pg)


def test_broadcast_rejects_a_source_outside_the_group():
    pg = dist.ProcessGroup(_TwoRankComm())
    with pytest.raises(ValueError, match="Invalid src rank 2"):
        dist.broadcast(ember.ones(2), src=2, group=pg)
