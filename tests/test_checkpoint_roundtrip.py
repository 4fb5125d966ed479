"""Model and optimizer state through `ember.save`/`ember.load`: training resumes exactly,
and a state dict that does not fit fails loudly without touching the model."""

import numpy as np
import pytest

import ember
from ember import nn
from ember.optim import SGD, Adam

OPTIMIZERS = {
    "sgd_momentum": lambda params: SGD(params, lr=0.05, momentum=0.9, nesterov=True,
                                       weight_decay=1e-3),
    "adam": lambda params: Adam(params, lr=0.01, weight_decay=1e-3),
}


def make_model(seed: int = 0, hidden: int = 8) -> nn.Module:
    ember.manual_seed(seed)
    return nn.Sequential(nn.Linear(4, hidden), nn.BatchNorm1d(hidden), nn.ReLU(),
                         nn.Linear(hidden, 3))


def batches(n: int, seed: int = 1) -> list[tuple[ember.Tensor, ember.Tensor]]:
    rng = np.random.default_rng(seed)
    return [(ember.from_numpy(rng.normal(size=(16, 4)).astype(np.float32)),
             ember.from_numpy(rng.integers(0, 3, size=16))) for _ in range(n)]


def train(model: nn.Module, optimizer, data) -> None:
    model.train()
    for x, y in data:
        optimizer.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        optimizer.step()


def snapshot(model: nn.Module) -> dict[str, np.ndarray]:
    return {k: v.numpy().copy() for k, v in model.state_dict().items()}


def assert_same(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> None:
    assert a.keys() == b.keys()
    for key in a:
        assert a[key].dtype == b[key].dtype, key
        assert np.array_equal(a[key], b[key]), key


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_training_resumes_identically_after_reload(name, tmp_path):
    first, then = batches(3, seed=1), batches(5, seed=2)
    model = make_model()
    optimizer = OPTIMIZERS[name](model.parameters())
    train(model, optimizer, first)
    ember.save(model.state_dict(), tmp_path / "model.safetensors")
    ember.save(optimizer.state_dict(), tmp_path / "optim.safetensors")
    train(model, optimizer, then)

    resumed = make_model(seed=123)  # different initial weights, all overwritten by the load
    resumed.load_state_dict(ember.load(tmp_path / "model.safetensors"))
    resumed_opt = OPTIMIZERS[name](resumed.parameters())
    resumed_opt.load_state_dict(ember.load(tmp_path / "optim.safetensors"))
    train(resumed, resumed_opt, then)

    assert_same(snapshot(resumed), snapshot(model))


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_training_without_optimizer_state_diverges(name, tmp_path):
    # The control for the test above: its equality really comes from the optimizer state.
    model = make_model()
    optimizer = OPTIMIZERS[name](model.parameters())
    train(model, optimizer, batches(3, seed=1))
    ember.save(model.state_dict(), tmp_path / "model.safetensors")
    train(model, optimizer, batches(5, seed=2))
    fresh = make_model(seed=123)
    fresh.load_state_dict(ember.load(tmp_path / "model.safetensors"))
    train(fresh, OPTIMIZERS[name](fresh.parameters()), batches(5, seed=2))
    assert not np.array_equal(fresh[0].weight.detach().numpy(), model[0].weight.detach().numpy())


def test_loaded_optimizer_state_matches_saved_one(tmp_path):
    model = make_model()
    optimizer = Adam(model.parameters(), lr=0.01, betas=(0.8, 0.99))
    train(model, optimizer, batches(2))
    ember.save(optimizer.state_dict(), tmp_path / "optim.safetensors")
    loaded = ember.load(tmp_path / "optim.safetensors")
    saved = optimizer.state_dict()
    assert loaded["param_groups"] == saved["param_groups"]
    assert loaded["state"].keys() == saved["state"].keys()
    for key, entry in saved["state"].items():
        for name, value in entry.items():
            assert np.array_equal(loaded["state"][key][name].numpy(), value.numpy())


def test_load_state_dict_of_loaded_file_is_bit_identical(tmp_path):
    model = make_model()
    train(model, Adam(model.parameters(), lr=0.01), batches(2))
    ember.save(model.state_dict(), tmp_path / "model.safetensors")
    other = make_model(seed=7)
    other.load_state_dict(ember.load(tmp_path / "model.safetensors"))
    assert_same(snapshot(other), snapshot(model))


def test_load_state_dict_keeps_parameter_objects(tmp_path):
    model = make_model()
    ember.save(model.state_dict(), tmp_path / "model.safetensors")
    other = make_model(seed=7)
    params = list(other.parameters())
    optimizer = SGD(other.parameters(), lr=0.1)  # built before the load
    other.load_state_dict(ember.load(tmp_path / "model.safetensors"))
    assert all(a is b for a, b in zip(other.parameters(), params))
    assert all(p.requires_grad for p in other.parameters())
    before = other[3].bias.detach().numpy().copy()
    train(other, optimizer, batches(1))
    assert not np.array_equal(other[3].bias.detach().numpy(), before)


def test_loaded_model_predicts_identically(tmp_path):
    model = make_model()
    train(model, Adam(model.parameters(), lr=0.01), batches(3))
    ember.save(model.state_dict(), tmp_path / "model.safetensors")
    other = make_model(seed=7)
    other.load_state_dict(ember.load(tmp_path / "model.safetensors"))
    x = batches(1, seed=9)[0][0]
    model.eval()
    other.eval()
    with ember.no_grad():
        assert np.array_equal(other(x).numpy(), model(x).numpy())


def _wrong(state: dict, key: str, value) -> dict:
    """`state` with every tensor changed (so a partial load would show) and `key` set to
    `value` (None: removed); the bad entry comes last, after the good ones."""
    changed = {k: v + 1 for k, v in state.items() if k != key}
    if value is not None:
        changed[key] = value
    return changed


@pytest.mark.parametrize("key, value, message", [
    ("3.weight", ember.zeros(3, 9), r"size mismatch for 3\.weight: copying a param with shape"),
    ("1.running_var", ember.zeros(9), r"size mismatch for 1\.running_var"),
    ("3.bias", None, r'Missing key\(s\) in state_dict: "3\.bias"'),
    ("4.weight", ember.zeros(3, 8), r'Unexpected key\(s\) in state_dict: "4\.weight"'),
])
def test_bad_state_dict_fails_and_leaves_model_untouched(key, value, message):
    model = make_model()
    train(model, SGD(model.parameters(), lr=0.1), batches(1))
    before = snapshot(model)
    bad = _wrong(model.state_dict(), key, value)
    with pytest.raises(RuntimeError, match=message) as info:
        model.load_state_dict(bad)
    assert str(info.value).startswith("Error(s) in loading state_dict for Sequential:")
    assert_same(snapshot(model), before)


def test_checkpoint_of_other_architecture_fails_and_leaves_model_untouched(tmp_path):
    ember.save(make_model(seed=3, hidden=16).state_dict(), tmp_path / "wide.safetensors")
    model = make_model()
    before = snapshot(model)
    with pytest.raises(RuntimeError) as info:
        model.load_state_dict(ember.load(tmp_path / "wide.safetensors"))
    text = str(info.value)
    for key in ("0.weight", "0.bias", "1.weight", "1.running_mean", "3.weight"):
        assert f"size mismatch for {key}:" in text
    assert ("copying a param with shape ember.Size([16, 4]) from checkpoint, the shape in "
            "current model is ember.Size([8, 4])") in text
    assert_same(snapshot(model), before)


def test_optimizer_state_of_other_model_fails_and_leaves_optimizer_untouched():
    model = make_model()
    optimizer = Adam(model.parameters(), lr=0.01)
    train(model, optimizer, batches(1))
    small = nn.Linear(4, 3)
    other = Adam(small.parameters(), lr=0.5)
    train(small, other, batches(1))
    before = optimizer.state_dict()
    moments = {k: v["exp_avg"].numpy().copy() for k, v in before["state"].items()}
    with pytest.raises(ValueError, match="doesn't match the size of optimizer's group"):
        optimizer.load_state_dict(other.state_dict())
    after = optimizer.state_dict()
    assert after["param_groups"] == before["param_groups"]
    for k, v in after["state"].items():
        assert np.array_equal(v["exp_avg"].numpy(), moments[k])


def test_torch_loads_the_saved_model_and_predicts_the_same(tmp_path):
    torch = pytest.importorskip("torch")
    safetensors_torch = pytest.importorskip("safetensors.torch")
    model = make_model()
    train(model, Adam(model.parameters(), lr=0.01), batches(3))
    ember.save(model.state_dict(), tmp_path / "model.safetensors")
    twin = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.BatchNorm1d(8),
                               torch.nn.ReLU(), torch.nn.Linear(8, 3))
    twin.load_state_dict(safetensors_torch.load_file(tmp_path / "model.safetensors"))
    x = batches(1, seed=9)[0][0]
    model.eval()
    twin.eval()
    with ember.no_grad(), torch.no_grad():
        ours = model(x).numpy()
        theirs = twin(torch.from_numpy(x.numpy())).numpy()
    np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6)
