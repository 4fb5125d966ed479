import collections

import numpy as np
import pytest

import ember
from ember.serialization import CheckpointError


@pytest.fixture
def nested():
    return {
        "model": collections.OrderedDict(
            weight=ember.randn(3, 2), bias=ember.zeros(2, dtype=ember.float64),
            steps=ember.tensor(7), mask=ember.tensor([True, False]), half=ember.ones(2).half(),
        ),
        "opt": {
            "state": {0: {"step": ember.tensor(2.0), "exp_avg": ember.ones(3)}},
            "param_groups": [{"lr": 0.1, "betas": (0.9, 0.99), "params": [0], "foo": None,
                              "name": "head", "nesterov": False, "big": float("inf")}],
        },
    }


def test_round_trip_keeps_structure_dtypes_shapes_and_values(tmp_path, nested):
    path = tmp_path / "ckpt.safetensors"
    ember.save(nested, path)
    back = ember.load(path)
    assert isinstance(back["model"], collections.OrderedDict)
    assert list(back["model"]) == list(nested["model"])
    for key, t in nested["model"].items():
        assert back["model"][key].dtype == t.dtype
        assert back["model"][key].shape == t.shape
        np.testing.assert_array_equal(back["model"][key].numpy(), t.numpy())
    assert back["opt"]["param_groups"] == [
        {"lr": 0.1, "betas": (0.9, 0.99), "params": [0], "foo": None, "name": "head",
         "nesterov": False, "big": float("inf")}
    ]
    assert list(back["opt"]["state"]) == [0]
    assert back["opt"]["state"][0]["step"].shape == ()


def test_file_reads_in_safetensors_numpy_with_the_same_tensors(tmp_path, nested):
    safetensors_numpy = pytest.importorskip("safetensors.numpy")
    ember.save(nested, tmp_path / "c.safetensors")
    arrays = safetensors_numpy.load_file(str(tmp_path / "c.safetensors"))
    np.testing.assert_array_equal(arrays["model.weight"], nested["model"]["weight"].numpy())
    np.testing.assert_array_equal(arrays["opt.state.0.exp_avg"], np.ones(3, np.float32))


def test_file_reads_in_safetensors_torch(tmp_path, nested):
    pytest.importorskip("torch")
    safetensors_torch = pytest.importorskip("safetensors.torch")
    ember.save(nested, tmp_path / "c.safetensors")
    tensors = safetensors_torch.load_file(str(tmp_path / "c.safetensors"))
    np.testing.assert_array_equal(tensors["model.weight"].numpy(),
                                  nested["model"]["weight"].numpy())
    assert str(tensors["model.half"].dtype) == "torch.float16"


def test_plain_safetensors_file_loads_as_dict_of_tensors(tmp_path):
    safetensors_numpy = pytest.importorskip("safetensors.numpy")
    safetensors_numpy.save_file({"a": np.arange(3, dtype=np.int64)}, str(tmp_path / "p"))
    out = ember.load(tmp_path / "p")
    assert out["a"].tolist() == [0, 1, 2]


def test_pickle_file_is_refused_without_unpickling(tmp_path):
    import pickle

    path = tmp_path / "model.pt"
    path.write_bytes(pickle.dumps({"w": [1, 2, 3]}))
    with pytest.raises(CheckpointError, match="pickle") as info:
        ember.load(path)
    assert str(path) in str(info.value)


def test_torch_zip_checkpoint_is_refused(tmp_path):
    torch = pytest.importorskip("torch")
    path = tmp_path / "model.pt"
    torch.save({"w": torch.ones(2)}, path)
    with pytest.raises(CheckpointError, match="never unpickles"):
        ember.load(path)


def test_truncated_file_names_the_file_and_the_problem(tmp_path, nested):
    path = tmp_path / "c.safetensors"
    ember.save(nested, path)
    data = path.read_bytes()
    path.write_bytes(data[:-20])
    with pytest.raises(CheckpointError, match="truncated") as info:
        ember.load(path)
    assert str(path) in str(info.value)


def test_corrupt_header_is_reported(tmp_path, nested):
    path = tmp_path / "c.safetensors"
    ember.save(nested, path)
    data = path.read_bytes()
    path.write_bytes(data[:8] + b"{not json" + data[17:])
    with pytest.raises(CheckpointError, match="corrupt header"):
        ember.load(path)


def test_tiny_file_is_reported_as_truncated(tmp_path):
    path = tmp_path / "c"
    path.write_bytes(b"\x01\x02")
    with pytest.raises(CheckpointError, match="truncated"):
        ember.load(path)


def test_unsupported_values_are_refused_with_their_path(tmp_path):
    with pytest.raises(TypeError, match="opt.fn"):
        ember.save({"opt": {"fn": print}}, tmp_path / "x")
