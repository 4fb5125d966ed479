import pytest

import ember
from ember.autograd import detect_anomaly, is_anomaly_enabled, set_detect_anomaly


def test_nan_in_backward_names_the_node_and_the_forward_line():
    x = ember.tensor([0.0, -1.0], requires_grad=True)
    with detect_anomaly():
        y = x.sqrt().sum()  # forward line the error must point at
        with pytest.raises(RuntimeError, match="SqrtBackward0") as info:
            y.backward()
    assert "returned nan values" in str(info.value) or "returned inf values" in str(info.value)
    assert "test_anomaly.py" in str(info.value)


def test_without_anomaly_mode_nan_gradients_pass_silently_like_torch():
    x = ember.tensor([-1.0], requires_grad=True)
    x.sqrt().sum().backward()
    assert x.grad.isnan().all()


def test_anomaly_mode_is_restored_after_the_block():
    assert not is_anomaly_enabled()
    with detect_anomaly():
        assert is_anomaly_enabled()
    assert not is_anomaly_enabled()
    set_detect_anomaly(True)
    assert is_anomaly_enabled()
    set_detect_anomaly(False)
    assert not is_anomaly_enabled()
