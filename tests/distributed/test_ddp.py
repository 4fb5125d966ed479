"""DistributedDataParallel: 2-rank behaviour from one MPI launch, plus in-process checks
on a one-rank group (which needs no MPI at all)."""

from __future__ import annotations

import time

import numpy as np
import pytest

import ember
from ember import nn
from ember.distributed import ProcessGroup
from ember.nn.parallel import DistributedDataParallel as DDP
from ember.nn.parallel._reducer import assign_buckets

from .mpirun import run_mpi


class _SoloComm:
    """A one-rank communicator: DDP never calls MPI when the world has one process."""

    def Get_rank(self) -> int:
        return 0

    def Get_size(self) -> int:
        return 1


def solo(module: nn.Module, **kwargs) -> DDP:
    return DDP(module, process_group=ProcessGroup(_SoloComm()), **kwargs)


def mlp() -> nn.Module:
    ember.manual_seed(0)
    return nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2))


# ----- two ranks (one launch, see conftest.py) ----------------------------------------
def test_training_on_two_ranks_matches_single_process(two_ranks):
    for rank in (0, 1):
        assert two_ranks[rank]["training"]["max_diff_vs_single"] <= 1e-5


def test_two_ranks_end_with_identical_parameters(two_ranks):
    assert two_ranks[0]["training"]["ranks_identical"]
    assert two_ranks[1]["training"]["ranks_identical"]


def test_small_bucket_cap_gives_several_buckets(two_ranks):
    assert two_ranks[0]["training"]["n_buckets"] >= 2


def test_no_sync_then_synced_step_equals_concatenated_batch(two_ranks):
    for rank in (0, 1):
        assert two_ranks[rank]["no_sync"]["max_diff_vs_concatenated"] <= 1e-5


def test_no_sync_keeps_gradients_local(two_ranks):
    assert two_ranks[0]["no_sync"]["no_sync_grads_stay_local"]


def test_frozen_layer_is_not_communicated_and_unchanged(two_ranks):
    frozen = two_ranks[1]["frozen"]
    assert frozen == {
        "frozen_unchanged": True, "frozen_grad_none": True,
        "reduced_bytes_equal_trainable": True, "frozen_identical_across_ranks": True,
        "trainable_identical_across_ranks": True,
    }


def test_find_unused_parameters_leaves_unused_grad_none(two_ranks):
    unused = two_ranks[0]["unused"]
    assert unused["find_unused_grad_stays_none"]
    assert unused["find_unused_used_grad_synced"]


def test_unused_parameter_raises_at_next_forward(two_ranks):
    message = two_ranks[1]["unused"]["unused_error"]
    assert message.startswith("Expected to have finished reduction in the prior iteration")
    assert message.endswith("for rank 1: unused.weight, unused.bias")


def test_failing_rank_aborts_the_job_promptly():
    start = time.monotonic()
    job = run_mpi("rank_fails.py", n=2, timeout=60)
    assert job.returncode != 0
    assert "ValueError: rank 1 failed on purpose" in job.stderr
    assert "should never get here" not in job.stdout
    assert time.monotonic() - start < 30


# ----- one rank, in process -----------------------------------------------------------
def test_state_dict_keys_are_prefixed_with_module():
    model = mlp()
    assert list(solo(model).state_dict()) == ["module." + k for k in model.state_dict()]


def test_forward_returns_the_wrapped_module_output():
    model = mlp()
    x = ember.randn(5, 3)
    np.testing.assert_array_equal(solo(model)(x).detach().numpy(), model(x).detach().numpy())


def test_gradients_are_views_into_one_bucket():
    model = mlp()
    ddp = solo(model)
    ddp(ember.randn(5, 3)).sum().backward()
    flat = ddp._reducer.buckets[0].flat
    assert all(np.shares_memory(p.grad.numpy(), flat) for p in model.parameters())


def test_gradient_after_zero_grad_to_none_starts_from_zero():
    model = mlp()
    ddp = solo(model)
    x = ember.randn(5, 3)
    ddp(x).sum().backward()
    first = model[2].weight.grad.numpy().copy()
    model.zero_grad(set_to_none=True)
    ddp(x).sum().backward()
    np.testing.assert_array_equal(model[2].weight.grad.numpy(), first)


def test_no_sync_accumulates_gradients():
    model = mlp()
    ddp = solo(model)
    x = ember.randn(5, 3)
    with ddp.no_sync():
        ddp(x).sum().backward()
    ddp(x).sum().backward()
    ref = mlp()
    ref(x).sum().backward()
    np.testing.assert_allclose(model[0].weight.grad.numpy(), 2 * ref[0].weight.grad.numpy(),
                               rtol=1e-6)


def test_user_assigned_grad_is_moved_into_the_bucket():
    model = mlp()
    ddp = solo(model)
    model[0].bias.grad = ember.ones(4)
    ddp(ember.randn(5, 3)).sum().backward()
    assert np.shares_memory(model[0].bias.grad.numpy(), ddp._reducer.buckets[0].flat)


def test_forward_without_grad_keeps_a_pending_backward_synced():
    ddp = solo(mlp())
    out = ddp(ember.randn(5, 3))
    with ember.no_grad():
        ddp(ember.randn(5, 3))
    out.sum().backward()
    assert all(ddp._reducer.ready) and not ddp._reducer.expect_hooks


class _OneHeadUsed(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.used = nn.Linear(3, 2)
        self.unused = nn.Linear(3, 2)

    def forward(self, x):
        return self.used(x)


def test_find_unused_leaves_unused_grad_none_on_one_rank():
    ddp = solo(_OneHeadUsed(), find_unused_parameters=True)
    ddp(ember.randn(4, 3)).sum().backward()
    assert ddp.module.unused.weight.grad is None
    assert ddp.module.used.weight.grad is not None


def test_parameter_used_outside_forward_with_find_unused_raises():
    ddp = solo(_OneHeadUsed(), find_unused_parameters=True)
    loss = ddp(ember.randn(4, 3)).sum() + ddp.module.unused.bias.sum()
    with pytest.raises(RuntimeError, match="Expected to mark a variable ready only once"):
        loss.backward()


def test_module_without_trainable_parameters_raises():
    model = mlp().requires_grad_(False)
    with pytest.raises(RuntimeError, match="DistributedDataParallel is not needed"):
        solo(model)


def test_device_ids_are_rejected_on_cpu():
    with pytest.raises(ValueError, match="device_ids"):
        solo(mlp(), device_ids=[0])


def test_buckets_hold_parameters_in_reverse_order_split_by_cap():
    arrays = [np.zeros(n, np.float32) for n in (100, 100, 100, 100)]
    assert assign_buckets(arrays, cap_bytes=800, first_cap_bytes=400) == [[3], [2, 1], [0]]


def test_buckets_never_mix_dtypes():
    arrays = [np.zeros(4, np.float32), np.zeros(4, np.float64), np.zeros(4, np.float32)]
    assert assign_buckets(arrays, 10**6, 10**6) == [[2, 0], [1]]


# ----- the engine hook DDP is built on ------------------------------------------------
def test_post_accumulate_grad_hook_sees_the_summed_grad():
    w = ember.ones(3, requires_grad=True)
    w.grad = ember.full((3,), 10.0)
    seen = []
    w.register_post_accumulate_grad_hook(lambda p: seen.append(p.grad.tolist()))
    (w * 2).sum().backward()
    assert seen == [[12.0, 12.0, 12.0]]


def test_post_accumulate_grad_hook_on_a_non_leaf_raises():
    y = ember.ones(3, requires_grad=True) * 2
    with pytest.raises(RuntimeError, match="cannot be registered on non-leaf tensors"):
        y.register_post_accumulate_grad_hook(lambda p: None)
