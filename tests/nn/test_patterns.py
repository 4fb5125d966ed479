"""Training patterns from the seed documents, as tests: freezing, eval vs no_grad,
target networks, detach boundaries, validation loops."""

from __future__ import annotations

import copy

import numpy as np
import pytest

import ember
import ember.nn as nn
import ember.nn.functional as F


def classifier() -> nn.Sequential:
    return nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))


class FeatureModel(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Linear(16, 8))
        self.head = nn.Linear(8, 3)

    def forward(self, x):
        return self.head(self.features(x))


def data(n: int = 16, features: int = 4, seed: int = 0):
    ember.manual_seed(seed)
    return ember.randn(n, features), ember.randint(0, 3, (n,))


def count(params) -> int:
    return sum(p.numel() for p in params)


def snapshot(module: nn.Module) -> list[np.ndarray]:
    return [p.detach().numpy().copy() for p in module.parameters()]


# ----- freezing ---------------------------------------------------------------------

def test_freezing_by_name_prefix():
    model = classifier()
    for name, p in model.named_parameters():
        if name.startswith("0."):
            p.requires_grad = False
    frozen = [n for n, p in model.named_parameters() if not p.requires_grad]
    assert frozen == ["0.weight", "0.bias"]
    assert count(p for p in model.parameters() if p.requires_grad) == 8 * 3 + 3
    assert count(model.parameters()) == 4 * 8 + 8 + 8 * 3 + 3


def test_frozen_layer_keeps_its_values_through_training_steps():
    model = classifier()
    model[0].requires_grad_(False)
    trainable = list(filter(lambda p: p.requires_grad, model.parameters()))
    assert len(trainable) == 2
    opt = ember.optim.SGD(trainable, lr=0.5)
    before, head_before = snapshot(model[0]), snapshot(model[2])
    x, y = data()
    for _ in range(3):
        opt.zero_grad()
        F.cross_entropy(model(x), y).backward()
        opt.step()
    assert model[0].weight.grad is None and model[0].bias.grad is None
    for p, b in zip(model[0].parameters(), before):
        np.testing.assert_array_equal(p.detach().numpy(), b)
    assert not np.allclose(model[2].weight.detach().numpy(), head_before[0])


def test_freezing_a_submodule_trains_only_the_head():
    model = FeatureModel()
    for p in model.features.parameters():
        p.requires_grad = False
    trainable = count(p for p in model.parameters() if p.requires_grad)
    assert trainable == 8 * 3 + 3
    assert count(model.parameters()) == 6 * 16 + 16 + 16 * 8 + 8 + trainable
    x, y = data(features=6)
    F.cross_entropy(model(x), y).backward()
    assert all(p.grad is None for p in model.features.parameters())
    assert all(p.grad is not None for p in model.head.parameters())


def test_unfreezing_all_restores_every_gradient():
    model = FeatureModel()
    model.features.requires_grad_(False)
    model.requires_grad_(True)
    x, y = data(features=6)
    F.cross_entropy(model(x), y).backward()
    assert all(p.requires_grad and p.grad is not None for p in model.parameters())


def test_optimizer_param_groups_for_head_and_body():
    model = FeatureModel()
    opt = ember.optim.SGD([{"params": model.features.parameters()},
                           {"params": model.head.parameters(), "lr": 1e-3}], lr=0.1)
    assert [g["lr"] for g in opt.param_groups] == [0.1, 1e-3]
    assert len(opt.param_groups[1]["params"]) == 2


# ----- eval mode versus no_grad -------------------------------------------------------

def test_eval_alone_does_not_stop_gradient_tracking():
    model = nn.Sequential(nn.Linear(4, 3), nn.Dropout(0.5)).eval()
    x, y = data()
    out = model(x)
    assert out.requires_grad and ember.is_grad_enabled()
    F.cross_entropy(out, y).backward()
    assert model[0].weight.grad is not None


def test_accuracy_computed_under_no_grad_builds_no_graph():
    model = classifier().eval()
    x, y = data()
    with ember.no_grad():
        logits = model(x)
        accuracy = (logits.argmax(1) == y).float().mean().item()
    assert not logits.requires_grad and logits.grad_fn is None
    expected = (logits.numpy().argmax(1) == y.numpy()).mean()
    assert accuracy == pytest.approx(expected)


def test_validation_loop_then_back_to_training():
    model = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Dropout(0.5), nn.Linear(16, 3))
    opt = ember.optim.SGD(model.parameters(), lr=0.1)
    x, y = data()
    model.train()
    opt.zero_grad()
    F.cross_entropy(model(x), y).backward()
    opt.step()
    model.eval()
    with ember.no_grad():
        first, second = model(x), model(x)
        val_loss = F.cross_entropy(first, y).item()
    assert isinstance(val_loss, float) and not first.requires_grad
    np.testing.assert_array_equal(first.numpy(), second.numpy())  # dropout is off
    model.train()
    assert all(m.training for m in model.modules())
    a, b = model(x), model(x)
    assert a.requires_grad and not np.array_equal(a.detach().numpy(), b.detach().numpy())


def test_logging_loss_with_item_keeps_no_graph():
    model = classifier()
    x, y = data()
    running = 0.0
    for _ in range(2):
        loss = F.cross_entropy(model(x), y)
        running += loss.item()
    assert isinstance(running, float)


# ----- target networks and detach boundaries --------------------------------------------

def dqn_step(policy, target, states, actions, rewards, next_states, gamma=0.9, detach=False):
    if detach:
        next_q = target(next_states).detach().max(1).values
    else:
        with ember.no_grad():
            next_q = target(next_states).max(1).values
    q = policy(states).gather(1, actions.unsqueeze(1)).squeeze(1)
    return F.mse_loss(q, rewards + gamma * next_q)


@pytest.mark.parametrize("detach", [False, True], ids=["no_grad", "detach"])
def test_dqn_target_network_gets_no_gradients(detach):
    policy = classifier()
    target = classifier()
    target.load_state_dict(policy.state_dict())
    ember.manual_seed(1)
    states, next_states = ember.randn(8, 4), ember.randn(8, 4)
    actions, rewards = ember.randint(0, 3, (8,)), ember.randn(8)
    opt = ember.optim.SGD(policy.parameters(), lr=0.1)
    loss = dqn_step(policy, target, states, actions, rewards, next_states, detach=detach)
    loss.backward()
    opt.step()
    assert all(p.grad is None for p in target.parameters())
    assert all(p.grad is not None for p in policy.parameters())
    # The target keeps the old weights until it is synced, then matches without sharing.
    assert not np.allclose(target[0].weight.detach().numpy(),
                           policy[0].weight.detach().numpy())
    target.load_state_dict(policy.state_dict())
    np.testing.assert_array_equal(target[0].weight.detach().numpy(),
                                  policy[0].weight.detach().numpy())
    assert target[0].weight.data_ptr() != policy[0].weight.data_ptr()


def test_deepcopied_target_network_is_independent():
    policy = classifier()
    target = copy.deepcopy(policy)
    with ember.no_grad():
        policy[0].weight.data.numpy()[...] = 0.0
    assert target[0].weight.detach().numpy().any()


def test_detached_encoder_output_stops_gradients_at_the_boundary():
    encoder = nn.Sequential(nn.Linear(6, 4), nn.Tanh())
    decoder = nn.Linear(4, 6)
    x = ember.randn(5, 6)
    z = encoder(x).detach()
    F.mse_loss(decoder(z), x).backward()
    assert all(p.grad is None for p in encoder.parameters())
    assert all(p.grad is not None for p in decoder.parameters())


# ----- manual updates, accumulation, convergence ------------------------------------------

def test_manual_update_under_no_grad_keeps_trainable_leaves():
    model = nn.Linear(3, 1)
    x, t = ember.randn(8, 3), ember.randn(8, 1)
    F.mse_loss(model(x), t).backward()
    with ember.no_grad():
        for p in model.parameters():
            p -= 0.1 * p.grad
    assert all(p.is_leaf and p.requires_grad and p.grad_fn is None for p in model.parameters())


def test_gradients_accumulate_until_zero_grad():
    model = nn.Linear(3, 1)
    x = ember.randn(4, 3)
    model(x).sum().backward()
    once = model.weight.grad.numpy().copy()
    model(x).sum().backward()
    np.testing.assert_allclose(model.weight.grad.numpy(), 2 * once, rtol=1e-6)
    model.zero_grad()
    assert model.weight.grad is None


def test_small_classifier_training_reduces_the_loss():
    ember.manual_seed(0)
    x = ember.randn(64, 4)
    y = (x.numpy()[:, 0] > 0).astype(np.int64) + (x.numpy()[:, 1] > 0).astype(np.int64)
    y = ember.tensor(y)
    model = classifier()
    opt = ember.optim.SGD(model.parameters(), lr=0.5)
    first = F.cross_entropy(model(x), y).item()
    for _ in range(60):
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        opt.step()
    assert loss.item() < 0.5 * first


def test_freeze_bn_by_eval_is_undone_by_model_train():
    model = nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3))
    model[1].eval()
    model.train()
    assert model[1].training


def _bn_model() -> nn.Sequential:
    ember.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 6), nn.BatchNorm1d(6), nn.ReLU(), nn.Linear(6, 3))


def _freeze_bn(model: nn.Module) -> None:
    for module in model.modules():
        if isinstance(module, nn.BatchNorm1d):
            module.eval()
            module.requires_grad_(False)


def test_freeze_bn_keeps_bn_params_and_running_stats_untouched_while_training():
    model = _bn_model()
    _freeze_bn(model)
    bn = model[1]
    before = [t.detach().numpy().copy() for t in (bn.weight, bn.bias, bn.running_mean,
                                                    bn.running_var)]
    opt = ember.optim.SGD(filter(lambda p: p.requires_grad, model.parameters()), lr=0.1)
    x, y = data(32)
    for _ in range(5):
        opt.zero_grad()
        F.cross_entropy(model(x), y).backward()
        opt.step()
    after = [t.detach().numpy() for t in (bn.weight, bn.bias, bn.running_mean, bn.running_var)]
    for b, a in zip(before, after):
        np.testing.assert_array_equal(a, b)
    assert bn.weight.grad is None and bn.bias.grad is None
    assert int(bn.num_batches_tracked) == 0
    assert model[0].weight.grad is not None


def test_freezing_bn_params_alone_does_not_stop_running_stat_updates():
    model = _bn_model()
    model[1].requires_grad_(False)  # frozen parameters, but still in train mode
    x, _ = data(32)
    before = model[1].running_mean.detach().numpy().copy()
    with ember.no_grad():
        model(x)
    assert not np.array_equal(model[1].running_mean.numpy(), before)
    assert int(model[1].num_batches_tracked) == 1
