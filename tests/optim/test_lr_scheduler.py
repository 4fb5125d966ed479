"""Learning-rate schedulers: the same learning rates as torch's, step for step."""

import warnings

import numpy as np
import pytest

import ember
from ember import optim
from ember.optim import lr_scheduler as sched


def _optimizer(lib, kind="SGD"):
    a = lib.ones(2, requires_grad=True)
    b = lib.ones(2, requires_grad=True)
    groups = [{"params": [a]}, {"params": [b], "lr": 0.05}]
    if kind == "SGD":
        return lib.optim.SGD(groups, lr=0.1, momentum=0.9)
    return lib.optim.Adam(groups, lr=0.1)


def _run(lib, make, steps=30, kind="SGD", metrics=None):
    opt = _optimizer(lib, kind)
    s = make(lib.optim.lr_scheduler, opt)
    lrs, moms = [], []
    for i in range(steps):
        opt.step()
        if metrics is None:
            s.step()
        else:
            s.step(metrics[i])
        lrs.append(list(s.get_last_lr()) + [g["lr"] for g in opt.param_groups])
        moms.append([g["momentum"] if kind == "SGD" else g["betas"][0]
                     for g in opt.param_groups])
    return np.array(lrs), np.array(moms)


SCHEDULES = {
    "StepLR": lambda L, o: L.StepLR(o, step_size=7, gamma=0.5),
    "MultiStepLR": lambda L, o: L.MultiStepLR(o, milestones=[5, 12, 12, 20], gamma=0.3),
    "ExponentialLR": lambda L, o: L.ExponentialLR(o, gamma=0.9),
    "CosineAnnealingLR": lambda L, o: L.CosineAnnealingLR(o, T_max=10, eta_min=0.001),
    "LambdaLR": lambda L, o: L.LambdaLR(o, lambda e: 1.0 / (e + 1)),
    "LambdaLR-per-group": lambda L, o: L.LambdaLR(o, [lambda e: 0.9 ** e, lambda e: e % 3]),
    "MultiplicativeLR": lambda L, o: L.MultiplicativeLR(o, lambda e: 0.95),
    "ConstantLR": lambda L, o: L.ConstantLR(o, factor=0.5, total_iters=4),
    "LinearLR": lambda L, o: L.LinearLR(o, start_factor=0.2, end_factor=1.0, total_iters=6),
    "PolynomialLR": lambda L, o: L.PolynomialLR(o, total_iters=10, power=2.0),
    "CosineAnnealingWarmRestarts": lambda L, o: L.CosineAnnealingWarmRestarts(
        o, T_0=5, T_mult=2, eta_min=0.01),
    "OneCycleLR": lambda L, o: L.OneCycleLR(o, max_lr=[0.5, 0.2], total_steps=30),
    "OneCycleLR-linear-three-phase": lambda L, o: L.OneCycleLR(
        o, max_lr=0.3, epochs=3, steps_per_epoch=10, anneal_strategy="linear",
        three_phase=True, pct_start=0.25, base_momentum=0.8, max_momentum=0.9),
    "SequentialLR": lambda L, o: L.SequentialLR(
        o, [L.LinearLR(o, start_factor=0.1, total_iters=5), L.CosineAnnealingLR(o, T_max=20)],
        milestones=[5]),
    "ChainedScheduler": lambda L, o: L.ChainedScheduler(
        [L.ExponentialLR(o, gamma=0.95), L.StepLR(o, step_size=4, gamma=0.5)]),
}


@pytest.mark.parametrize("name", list(SCHEDULES))
def test_learning_rates_match_torch(name):
    torch = pytest.importorskip("torch")
    ours, our_moms = _run(ember, SCHEDULES[name])
    theirs, their_moms = _run(torch, SCHEDULES[name])
    np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(our_moms, their_moms, rtol=1e-12)


def test_one_cycle_cycles_adam_beta1_like_torch():
    torch = pytest.importorskip("torch")
    make = SCHEDULES["OneCycleLR"]
    ours, our_betas = _run(ember, make, kind="Adam")
    theirs, their_betas = _run(torch, make, kind="Adam")
    np.testing.assert_allclose(ours, theirs, rtol=1e-12)
    np.testing.assert_allclose(our_betas, their_betas, rtol=1e-12)
    assert our_betas.min() == pytest.approx(0.85) and our_betas.max() == pytest.approx(0.95)


_METRICS = [1.0, 0.9, 0.9, 0.9, 0.95, 0.95, 0.89, 0.8999, 0.9, 0.9, 0.9, 0.9, 1.2, 1.1, 1.0,
            0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.1, 1.2, 1.3, 1.4]

PLATEAUS = {
    "min-rel": lambda L, o: L.ReduceLROnPlateau(o, patience=2),
    "min-abs-cooldown": lambda L, o: L.ReduceLROnPlateau(
        o, factor=0.5, patience=1, threshold=0.05, threshold_mode="abs", cooldown=2),
    "max-rel-min-lr": lambda L, o: L.ReduceLROnPlateau(
        o, mode="max", factor=0.3, patience=1, min_lr=[0.01, 0.004]),
    "max-abs": lambda L, o: L.ReduceLROnPlateau(
        o, mode="max", patience=0, threshold=0.01, threshold_mode="abs", min_lr=0.002),
}


@pytest.mark.parametrize("name", list(PLATEAUS))
def test_reduce_on_plateau_matches_torch(name):
    torch = pytest.importorskip("torch")
    ours, _ = _run(ember, PLATEAUS[name], metrics=_METRICS)
    theirs, _ = _run(torch, PLATEAUS[name], metrics=_METRICS)
    np.testing.assert_allclose(ours, theirs, rtol=1e-12)


def test_reduce_on_plateau_accepts_a_zero_dim_tensor_metric():
    opt = _optimizer(ember)
    s = sched.ReduceLROnPlateau(opt, patience=0)
    s.step(ember.tensor(1.0))
    s.step(ember.tensor(2.0))
    assert s.get_last_lr() == pytest.approx([0.01, 0.005])


# ----- the base class --------------------------------------------------------------------------
def test_construction_records_initial_lr_and_takes_the_first_step():
    opt = _optimizer(ember)
    s = sched.StepLR(opt, step_size=2)
    assert [g["initial_lr"] for g in opt.param_groups] == [0.1, 0.05]
    assert s.base_lrs == [0.1, 0.05]
    assert s.last_epoch == 0
    assert s.get_last_lr() == [0.1, 0.05]


def test_resuming_without_initial_lr_raises_key_error():
    with pytest.raises(KeyError, match="initial_lr"):
        sched.StepLR(_optimizer(ember), step_size=2, last_epoch=3)


def test_scheduler_needs_an_optimizer():
    with pytest.raises(TypeError, match="list is not an Optimizer"):
        sched.StepLR([], step_size=2)


def test_stepping_the_scheduler_before_the_optimizer_warns():
    s = sched.ExponentialLR(_optimizer(ember), gamma=0.5)
    with pytest.warns(UserWarning, match=r"`optimizer.step\(\)` before `lr_scheduler.step\(\)`"):
        s.step()


def test_stepping_in_the_right_order_does_not_warn():
    opt = _optimizer(ember)
    s = sched.ExponentialLR(opt, gamma=0.5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        opt.step()
        s.step()
    assert s.get_last_lr() == [0.05, 0.025]


def test_state_dict_round_trip_resumes_the_schedule():
    opt = _optimizer(ember)
    s = sched.CosineAnnealingLR(opt, T_max=12)
    for _ in range(5):
        opt.step()
        s.step()
    saved = s.state_dict()
    assert "optimizer" not in saved and saved["last_epoch"] == 5
    opt2 = _optimizer(ember)
    opt2.load_state_dict(opt.state_dict())
    s2 = sched.CosineAnnealingLR(opt2, T_max=12)
    s2.load_state_dict(saved)
    for _ in range(4):
        opt.step()
        s.step()
        opt2.step()
        s2.step()
    assert s2.get_last_lr() == s.get_last_lr()


def test_lambda_state_dict_leaves_out_plain_functions():
    s = sched.LambdaLR(_optimizer(ember), lambda e: 0.5)
    assert s.state_dict()["lr_lambdas"] == [None, None]


def test_one_cycle_needs_a_length():
    with pytest.raises(ValueError, match="total_steps OR"):
        sched.OneCycleLR(_optimizer(ember), max_lr=0.1)


def test_one_cycle_refuses_to_step_past_the_end():
    opt = _optimizer(ember)
    s = sched.OneCycleLR(opt, max_lr=0.1, total_steps=3)
    for _ in range(3):
        opt.step()
        s.step()
    with pytest.raises(ValueError, match="Tried to step 4 times"):
        s.step()


def test_plateau_factor_must_be_below_one():
    with pytest.raises(ValueError, match="Factor should be < 1.0."):
        sched.ReduceLROnPlateau(_optimizer(ember), factor=1.0)


def test_custom_optimizer_with_its_own_step_does_not_warn():
    class Plain(optim.Optimizer):
        def __init__(self, params):
            super().__init__(params, dict(lr=0.1))

        def step(self, closure=None):
            return None

    opt = Plain([ember.ones(1, requires_grad=True)])
    s = sched.StepLR(opt, step_size=1, gamma=0.5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        opt.step()
        s.step()
    assert s.get_last_lr() == [0.05]
