"""Optimizers: update rules against torch, the grad-is-None rules, groups and state_dict."""

import warnings

import numpy as np
import pytest

import ember
from ember import optim

# ----- a small least-squares problem, run the same way in ember and in torch -------------
_RNG = np.random.default_rng(0)
_X = _RNG.normal(size=(6, 3)).astype(np.float32)
_Y = _RNG.normal(size=(6, 2)).astype(np.float32)
_W0 = _RNG.normal(size=(3, 2)).astype(np.float32)
_B0 = _RNG.normal(size=(2,)).astype(np.float32)


def _params(lib):
    return [lib.tensor(_W0, requires_grad=True), lib.tensor(_B0, requires_grad=True)]


def _loss(lib, w, b):
    return ((lib.tensor(_X) @ w + b - lib.tensor(_Y)) ** 2).mean()


def _trajectory(lib, name, kwargs, steps=20, groups=None):
    w, b = _params(lib)
    params = [w, b] if groups is None else [dict(g, params=[p]) for g, p in zip(groups, (w, b))]
    opt = getattr(lib.optim, name)(params, **kwargs)
    out = []
    for _ in range(steps):
        opt.zero_grad()
        _loss(lib, w, b).backward()
        opt.step()
        out.append(np.concatenate([w.detach().numpy().ravel(), b.detach().numpy().ravel()]))
    return np.array(out)


CONFIGS = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.05, momentum=0.9)),
    ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.1)),
    ("SGD", dict(lr=0.05, momentum=0.8, dampening=0.5, weight_decay=0.1)),
    ("SGD", dict(lr=0.01, momentum=0.5, maximize=True)),
    ("Adam", dict(lr=0.05)),
    ("Adam", dict(lr=0.05, betas=(0.8, 0.99), weight_decay=0.1)),
    ("Adam", dict(lr=0.05, amsgrad=True, eps=1e-6)),
    ("Adam", dict(lr=0.02, maximize=True, weight_decay=0.1)),
    ("Adam", dict(lr=0.05, weight_decay=0.3, decoupled_weight_decay=True)),
    ("AdamW", dict(lr=0.05)),
    ("AdamW", dict(lr=0.05, weight_decay=0.5, amsgrad=True)),
    ("RMSprop", dict(lr=0.01)),
    ("RMSprop", dict(lr=0.01, alpha=0.9, centered=True)),
    ("RMSprop", dict(lr=0.005, momentum=0.9)),
    ("RMSprop", dict(lr=0.01, momentum=0.5, centered=True, weight_decay=0.1)),
    ("RMSprop", dict(lr=0.01, maximize=True)),
    ("Adagrad", dict(lr=0.1)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.05, weight_decay=0.1)),
    ("Adagrad", dict(lr=0.1, initial_accumulator_value=0.5, eps=1e-6)),
    ("Adagrad", dict(lr=0.05, maximize=True, weight_decay=0.1)),
]


@pytest.mark.parametrize("name,kwargs", CONFIGS, ids=[f"{n}-{sorted(k)}" for n, k in CONFIGS])
def test_trajectory_matches_torch(name, kwargs):
    torch = pytest.importorskip("torch")
    ours = _trajectory(ember, name, kwargs)
    theirs = _trajectory(torch, name, kwargs)
    np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name", ["SGD", "Adam", "RMSprop"])
def test_param_groups_with_their_own_lr_match_torch(name):
    torch = pytest.importorskip("torch")
    groups = [{"lr": 0.05}, {"lr": 0.005, "weight_decay": 0.2}]
    ours = _trajectory(ember, name, dict(lr=0.01), groups=groups)
    theirs = _trajectory(torch, name, dict(lr=0.01), groups=groups)
    np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-5)


# ----- the reference values of the specification ----------------------------------------
def _two_steps(opt_cls, **kwargs):
    p = ember.tensor([1.0, -2.0], requires_grad=True)
    opt = opt_cls([p], **kwargs)
    out = []
    for _ in range(2):
        opt.zero_grad()
        (p * p).sum().backward()
        opt.step()
        out.append(p.detach().numpy().copy())
    return out


def test_sgd_reference_values():
    first, second = _two_steps(optim.SGD, lr=0.1)
    np.testing.assert_allclose(first, [0.8, -1.6], rtol=1e-6)
    np.testing.assert_allclose(second, [0.64, -1.28], rtol=1e-6)


def test_sgd_momentum_reference_values():
    first, second = _two_steps(optim.SGD, lr=0.1, momentum=0.9)
    np.testing.assert_allclose(first, [0.8, -1.6], rtol=1e-6)
    np.testing.assert_allclose(second, [0.46, -0.92], rtol=1e-6)


def test_adam_reference_values():
    first, second = _two_steps(optim.Adam, lr=0.1)
    np.testing.assert_allclose(first, [0.9, -1.9], rtol=1e-6)
    # torch 2.13 prints [0.8004122, -1.8001665] (the reference's 0.80039 is a rounding slip)
    np.testing.assert_allclose(second, [0.8004122, -1.8001665], atol=1e-6)


# ----- which parameters get updated --------------------------------------------------------
@pytest.mark.parametrize("opt_cls,kwargs", [
    (optim.SGD, dict(lr=0.1, momentum=0.9, weight_decay=0.5)),
    (optim.Adam, dict(lr=0.1, weight_decay=0.5)),
    (optim.AdamW, dict(lr=0.1)),
    (optim.RMSprop, dict(lr=0.1, weight_decay=0.5)),
])
def test_param_without_grad_is_skipped_and_gets_no_state(opt_cls, kwargs):
    used = ember.tensor([1.0, 2.0], requires_grad=True)
    frozen = ember.tensor([3.0, 4.0], requires_grad=True)
    opt = opt_cls([used, frozen], **kwargs)
    (used * used).sum().backward()
    opt.step()
    assert frozen.tolist() == [3.0, 4.0]
    assert frozen not in opt.state
    assert len(opt.state) == (1 if opt_cls is not optim.SGD or kwargs.get("momentum") else 0)


def test_zero_grad_is_not_skipped_by_weight_decay():
    p = ember.tensor([1.0], requires_grad=True)
    p.grad = ember.zeros(1)
    optim.SGD([p], lr=0.1, weight_decay=0.5).step()
    np.testing.assert_allclose(p.tolist(), [0.95])


def test_zero_grad_creates_adam_state_without_moving():
    p = ember.tensor([1.0], requires_grad=True)
    p.grad = ember.zeros(1)
    opt = optim.Adam([p], lr=0.1)
    opt.step()
    assert p.tolist() == [1.0]
    assert len(opt.state) == 1
    assert opt.state[p]["step"].item() == 1.0


def test_param_without_requires_grad_is_accepted_and_updated_when_given_a_grad():
    p = ember.tensor([1.0, 2.0])
    opt = optim.SGD([p], lr=0.5)
    opt.step()
    assert p.tolist() == [1.0, 2.0]
    p.grad = ember.ones(2)
    opt.step()
    assert p.tolist() == [0.5, 1.5]


def test_adagrad_creates_state_for_every_param_at_construction():
    a = ember.ones(2, requires_grad=True)
    b = ember.ones(3, requires_grad=True)
    opt = optim.Adagrad([a, b], initial_accumulator_value=0.25)
    assert len(opt.state) == 2
    assert opt.state[b]["sum"].tolist() == [0.25, 0.25, 0.25]
    assert opt.state[b]["step"].item() == 0.0


# ----- updates are in place and tracked by the version counter --------------------------
def test_step_keeps_params_trainable_leaves_in_the_same_memory():
    p = ember.tensor([1.0, -2.0], requires_grad=True)
    ptr, version = p.data_ptr(), p._version
    opt = optim.Adam([p], lr=0.1)
    (p * p).sum().backward()
    assert opt.step() is None
    assert p.requires_grad and p.is_leaf and p.grad_fn is None
    assert p.data_ptr() == ptr
    assert p._version == version + 1


def test_step_between_forward_and_backward_raises_inplace_error():
    p = ember.tensor([1.0, -2.0], requires_grad=True)
    p.grad = ember.ones(2)
    y = (p * p).sum()
    optim.SGD([p], lr=0.1).step()
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.backward()


def test_step_under_no_grad_records_nothing():
    p = ember.tensor([1.0, -2.0], requires_grad=True)
    p.grad = ember.ones(2)
    with ember.no_grad():
        optim.SGD([p], lr=0.1, momentum=0.9).step()
    assert p.grad_fn is None and p.requires_grad


# ----- zero_grad and closures ---------------------------------------------------------------
def test_zero_grad_sets_grads_to_none_by_default():
    p = ember.ones(2, requires_grad=True)
    p.grad = ember.ones(2)
    optim.SGD([p], lr=0.1).zero_grad()
    assert p.grad is None


def test_zero_grad_set_to_none_false_zeroes_the_same_tensor():
    p = ember.ones(2, requires_grad=True)
    g = ember.ones(2)
    p.grad = g
    optim.SGD([p], lr=0.1).zero_grad(set_to_none=False)
    assert p.grad is g
    assert g.tolist() == [0.0, 0.0]


def test_step_returns_closure_loss_computed_with_grad_enabled():
    p = ember.tensor([3.0], requires_grad=True)
    opt = optim.SGD([p], lr=0.1)

    def closure():
        opt.zero_grad()
        loss = (p * p).sum()
        loss.backward()
        return loss

    with ember.no_grad():
        loss = opt.step(closure)
    assert loss.item() == 9.0
    np.testing.assert_allclose(p.tolist(), [2.4], rtol=1e-6)


# ----- construction errors -------------------------------------------------------------------
def test_empty_param_list_raises():
    with pytest.raises(ValueError, match="optimizer got an empty parameter list"):
        optim.SGD([], lr=0.1)


def test_filter_that_yields_nothing_raises():
    p = ember.ones(2)
    with pytest.raises(ValueError, match="optimizer got an empty parameter list"):
        optim.Adam(filter(lambda t: t.requires_grad, [p]))


def test_non_leaf_raises():
    p = ember.ones(2, requires_grad=True)
    with pytest.raises(ValueError, match="can't optimize a non-leaf Tensor"):
        optim.SGD([p * 2], lr=0.1)


def test_bare_tensor_raises_type_error_naming_its_type():
    p = ember.ones(2, requires_grad=True)
    with pytest.raises(TypeError) as info:
        optim.SGD(p, lr=0.1)
    assert str(info.value) == ("params argument given to the optimizer should be an iterable "
                               "of Tensors or dicts, but got ember.FloatTensor")


def test_duplicate_params_warn():
    p = ember.ones(2, requires_grad=True)
    with pytest.warns(UserWarning, match="parameter group with duplicate parameters"):
        optim.SGD([p, p], lr=0.1)


def test_param_in_two_groups_raises():
    p = ember.ones(2, requires_grad=True)
    with pytest.raises(ValueError, match="more than one parameter group"):
        optim.SGD([{"params": [p]}, {"params": [p]}], lr=0.1)


def test_group_with_a_set_of_params_raises():
    with pytest.raises(TypeError, match="ordered collections"):
        optim.SGD([{"params": {ember.ones(1, requires_grad=True)}}], lr=0.1)


def test_non_tensor_param_raises():
    with pytest.raises(TypeError, match="can only optimize Tensors, but one of the params is"):
        optim.SGD([1.0], lr=0.1)


@pytest.mark.parametrize("make,message", [
    (lambda ps: optim.SGD(ps, lr=-1.0), "Invalid learning rate: -1.0"),
    (lambda ps: optim.SGD(ps, momentum=-0.1), "Invalid momentum value: -0.1"),
    (lambda ps: optim.SGD(ps, nesterov=True), "Nesterov momentum requires a momentum"),
    (lambda ps: optim.Adam(ps, betas=(1.0, 0.9)), "Invalid beta parameter at index 0: 1.0"),
    (lambda ps: optim.Adam(ps, eps=-1.0), "Invalid epsilon value: -1.0"),
    (lambda ps: optim.RMSprop(ps, alpha=-1.0), "Invalid alpha value: -1.0"),
    (lambda ps: optim.Adagrad(ps, lr_decay=-1.0), "Invalid lr_decay value: -1.0"),
])
def test_invalid_options_raise(make, message):
    with pytest.raises(ValueError, match=message):
        make([ember.ones(1, requires_grad=True)])


# ----- parameter groups ----------------------------------------------------------------------
def test_group_options_override_defaults():
    a = ember.ones(2, requires_grad=True)
    b = ember.ones(2, requires_grad=True)
    opt = optim.Adam([{"params": [a], "lr": 1e-3}, {"params": (b,)}], lr=0.1)
    assert [g["lr"] for g in opt.param_groups] == [1e-3, 0.1]
    assert isinstance(opt.param_groups[1]["params"], list)
    assert opt.param_groups[1]["params"][0] is b


def test_groups_step_with_their_own_lr():
    a = ember.ones(1, requires_grad=True)
    b = ember.ones(1, requires_grad=True)
    opt = optim.SGD([{"params": [a]}, {"params": [b], "lr": 0.01}], lr=0.1)
    a.grad, b.grad = ember.ones(1), ember.ones(1)
    opt.step()
    np.testing.assert_allclose([a.item(), b.item()], [0.9, 0.99], rtol=1e-6)


def test_add_param_group_takes_part_in_later_steps():
    a = ember.ones(1, requires_grad=True)
    b = ember.ones(1, requires_grad=True)
    opt = optim.SGD([a], lr=0.1)
    opt.add_param_group({"params": b, "lr": 0.5})
    a.grad, b.grad = ember.ones(1), ember.ones(1)
    opt.step()
    np.testing.assert_allclose([a.item(), b.item()], [0.9, 0.5], rtol=1e-6)
    assert opt.param_groups[1]["momentum"] == 0


def test_named_params_record_their_names():
    w = ember.ones(1, requires_grad=True)
    opt = optim.SGD([("weight", w)], lr=0.1)
    assert opt.param_groups[0]["param_names"] == ["weight"]
    assert opt.param_groups[0]["params"][0] is w


def test_repr_lists_group_options():
    opt = optim.SGD([ember.ones(1, requires_grad=True)], lr=0.1)
    text = repr(opt)
    assert text.startswith("SGD (\nParameter Group 0\n")
    assert "    lr: 0.1\n" in text and text.endswith("\n)")


# ----- state_dict ------------------------------------------------------------------------------
def test_state_dict_uses_indices_for_params():
    a = ember.ones(2, requires_grad=True)
    b = ember.ones(3, requires_grad=True)
    opt = optim.Adam([{"params": [a]}, {"params": [b], "lr": 0.5}], lr=0.1)
    b.grad = ember.ones(3)
    opt.step()
    sd = opt.state_dict()
    assert [g["params"] for g in sd["param_groups"]] == [[0], [1]]
    assert sd["param_groups"][1]["lr"] == 0.5
    assert list(sd["state"]) == [1]
    assert sorted(sd["state"][1]) == ["exp_avg", "exp_avg_sq", "step"]
    assert sd["state"][1]["step"].item() == 1.0


@pytest.mark.parametrize("name,kwargs", [
    ("SGD", dict(lr=0.05, momentum=0.9)),
    ("Adam", dict(lr=0.05, amsgrad=True)),
    ("RMSprop", dict(lr=0.01, centered=True, momentum=0.5)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.01)),
])
def test_state_dict_round_trip_continues_the_same_trajectory(name, kwargs):
    w, b = _params(ember)
    opt = getattr(optim, name)([w, b], **kwargs)

    def train(opt, w, b, steps):
        for _ in range(steps):
            opt.zero_grad()
            _loss(ember, w, b).backward()
            opt.step()

    train(opt, w, b, 5)
    saved = opt.state_dict()
    w2, b2 = ember.tensor(w.detach().numpy(), requires_grad=True), \
        ember.tensor(b.detach().numpy(), requires_grad=True)
    opt2 = getattr(optim, name)([w2, b2], lr=1.0)
    opt2.load_state_dict(saved)
    assert opt2.param_groups[0]["lr"] == kwargs["lr"]
    train(opt, w, b, 5)
    train(opt2, w2, b2, 5)
    np.testing.assert_array_equal(w2.detach().numpy(), w.detach().numpy())
    np.testing.assert_array_equal(b2.detach().numpy(), b.detach().numpy())


def test_load_state_dict_copies_state_tensors():
    p = ember.ones(2, requires_grad=True)
    opt = optim.SGD([p], lr=0.1, momentum=0.9)
    p.grad = ember.ones(2)
    opt.step()
    q = ember.ones(2, requires_grad=True)
    opt2 = optim.SGD([q], lr=0.1, momentum=0.9)
    opt2.load_state_dict(opt.state_dict())
    opt.step()
    assert opt2.state[q]["momentum_buffer"].tolist() == [1.0, 1.0]
    np.testing.assert_allclose(opt.state[p]["momentum_buffer"].tolist(), [1.9, 1.9])


def test_load_state_dict_with_other_group_count_raises():
    a = ember.ones(1, requires_grad=True)
    b = ember.ones(1, requires_grad=True)
    saved = optim.SGD([{"params": [a]}, {"params": [b]}], lr=0.1).state_dict()
    with pytest.raises(ValueError, match="different number of parameter groups"):
        optim.SGD([a, b], lr=0.1).load_state_dict(saved)


def test_load_state_dict_with_other_group_size_raises():
    a = ember.ones(1, requires_grad=True)
    b = ember.ones(1, requires_grad=True)
    saved = optim.SGD([a], lr=0.1).state_dict()
    with pytest.raises(ValueError, match="doesn't match the size of optimizer's group"):
        optim.SGD([a, b], lr=0.1).load_state_dict(saved)


# ----- with nn modules -------------------------------------------------------------------------
def test_sgd_trains_a_linear_layer_like_torch():
    torch = pytest.importorskip("torch")
    import ember.nn  # noqa: F401
    results = []
    for lib in (ember, torch):
        layer = lib.nn.Linear(3, 2)
        layer.weight.data = lib.tensor(_W0.T.copy())
        layer.bias.data = lib.tensor(_B0.copy())
        opt = lib.optim.SGD(layer.parameters(), lr=0.1, momentum=0.9)
        for _ in range(10):
            opt.zero_grad()
            ((layer(lib.tensor(_X)) - lib.tensor(_Y)) ** 2).mean().backward()
            opt.step()
        results.append(layer.weight.detach().numpy().copy())
    np.testing.assert_allclose(results[0], results[1], rtol=1e-4, atol=1e-5)


def test_no_warning_in_a_plain_training_step():
    p = ember.ones(2, requires_grad=True)
    opt = optim.AdamW([p], lr=0.1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        (p * p).sum().backward()
        opt.step()
        opt.zero_grad()


def test_custom_optimizer_subclass_with_its_own_step():
    class HalfStep(optim.Optimizer):
        def __init__(self, params, lr=0.5):
            super().__init__(params, dict(lr=lr))

        @ember.no_grad()
        def step(self, closure=None):
            for group in self.param_groups:
                for p in group["params"]:
                    if p.grad is not None:
                        self.state[p]["calls"] = self.state[p].get("calls", 0) + 1
                        p.add_(p.grad, alpha=-group["lr"])

    p = ember.tensor([1.0, 2.0], requires_grad=True)
    opt = HalfStep([p])
    (p * p).sum().backward()
    opt.step()
    assert p.tolist() == [0.0, 0.0] and p.is_leaf
    assert opt.state_dict()["state"] == {0: {"calls": 1}}
