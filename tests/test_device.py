import pytest

import ember


def test_tensor_device_is_cpu_and_compares_equal_to_its_name():
    x = ember.ones(2)
    assert x.device == ember.device("cpu")
    assert x.device == "cpu"
    assert x.device.type == "cpu"
    assert repr(x.device) == "device(type='cpu')"


def test_device_agnostic_idiom_runs_on_the_cpu():
    dev = ember.device("cuda" if ember.cuda.is_available() else "cpu")
    model = ember.nn.Linear(3, 2).to(dev)
    x = ember.randn(4, 3).to(dev)
    assert model(x).shape == (4, 2)


def test_moving_to_a_gpu_raises_a_clear_error():
    with pytest.raises(RuntimeError, match="CPU only"):
        ember.ones(2).to("cuda")
    with pytest.raises(RuntimeError, match="CPU only"):
        ember.nn.Linear(2, 2).to(ember.device("cuda", 0))


def test_device_with_index_parses_and_prints():
    d = ember.device("cpu:0")
    assert (d.type, d.index) == ("cpu", 0)
    assert str(d) == "cpu:0"
