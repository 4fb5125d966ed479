"""Recurrent layers and cells: PyTorch's parameters, outputs and gradients."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import ember
from ember import nn
from ember.autograd import gradcheck, gradgradcheck
from ember.nn.utils import rnn as rnn_utils

torch = pytest.importorskip("torch")

I, H = 4, 5


def _pair(kind: str, *args, **kwargs):
    """An ember layer and a torch layer of the same configuration and weights."""
    torch.manual_seed(0)
    t = getattr(torch.nn, kind)(*args, **kwargs)
    e = getattr(nn, kind)(*args, **kwargs)
    for (name, p), (tname, q) in zip(e.named_parameters(), t.named_parameters()):
        assert name == tname
        p._data[...] = q.detach().numpy()
    return e, t


def _leaves(arrays):
    e = [ember.tensor(a, requires_grad=True) for a in arrays]
    t = [torch.tensor(a, requires_grad=True) for a in arrays]
    return e, t


def _flat(out):
    """The tensors of an RNN result ((output, h) or (output, (h, c))), flattened."""
    if isinstance(out, (tuple, list)):
        return [x for o in out for x in _flat(o)]
    return [out]


def _close(e, t, atol=1e-5):
    np.testing.assert_allclose(e.detach().numpy(), t.detach().numpy(), atol=atol, rtol=1e-4)


def _check_backward(e_outs, t_outs, e_inputs, t_inputs, e_mod, t_mod):
    rng = np.random.default_rng(1)
    probes = [rng.standard_normal(tuple(t.shape)).astype(np.float32) for t in t_outs]
    sum((o * ember.tensor(p)).sum() for o, p in zip(e_outs, probes)).backward()
    sum((o * torch.tensor(p)).sum() for o, p in zip(t_outs, probes)).backward()
    for e, t in zip(e_inputs, t_inputs):
        _close(e.grad, t.grad, atol=1e-4)
    for (name, p), (_, q) in zip(e_mod.named_parameters(), t_mod.named_parameters()):
        assert p.grad is not None, name
        _close(p.grad, q.grad, atol=1e-4)


def _run_both(kind, layer_args, layer_kwargs, x_shape, states=(), seed=0):
    e_mod, t_mod = _pair(kind, *layer_args, **layer_kwargs)
    rng = np.random.default_rng(seed)
    arrays = [rng.standard_normal(x_shape).astype(np.float32)]
    arrays += [rng.standard_normal(s).astype(np.float32) for s in states]
    e_in, t_in = _leaves(arrays)
    if not states:
        e_out, t_out = e_mod(e_in[0]), t_mod(t_in[0])
    elif kind == "LSTM":
        e_out, t_out = e_mod(e_in[0], tuple(e_in[1:])), t_mod(t_in[0], tuple(t_in[1:]))
    else:
        e_out, t_out = e_mod(e_in[0], e_in[1]), t_mod(t_in[0], t_in[1])
    e_flat, t_flat = _flat(e_out), _flat(t_out)
    assert len(e_flat) == len(t_flat)
    for e, t in zip(e_flat, t_flat):
        assert tuple(e.shape) == tuple(t.shape)
        _close(e, t)
    _check_backward(e_flat, t_flat, e_in, t_in, e_mod, t_mod)


CONFIGS = [
    pytest.param({}, id="default"),
    pytest.param({"num_layers": 2}, id="two_layers"),
    pytest.param({"bidirectional": True}, id="bidirectional"),
    pytest.param({"num_layers": 2, "bidirectional": True}, id="two_layers_bidirectional"),
    pytest.param({"bias": False}, id="no_bias"),
]
KINDS = ["RNN", "LSTM", "GRU"]


def _state_shapes(kind, layers, batch, hidden=H, proj=0):
    h = (layers, batch, proj or hidden) if batch else (layers, proj or hidden)
    c = (layers, batch, hidden) if batch else (layers, hidden)
    return [h, c] if kind == "LSTM" else [h]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("config", CONFIGS)
def test_layer_matches_torch(kind, config):
    _run_both(kind, (I, H), config, (6, 3, I))


@pytest.mark.parametrize("kind", KINDS)
def test_layer_with_initial_states_matches_torch(kind):
    layers = 4  # two layers, both directions
    _run_both(kind, (I, H), {"num_layers": 2, "bidirectional": True}, (5, 3, I),
              _state_shapes(kind, layers, 3))


@pytest.mark.parametrize("kind", KINDS)
def test_batch_first_matches_torch(kind):
    _run_both(kind, (I, H), {"batch_first": True, "bidirectional": True}, (3, 6, I),
              _state_shapes(kind, 2, 3))


@pytest.mark.parametrize("kind", KINDS)
def test_unbatched_input_matches_torch(kind):
    _run_both(kind, (I, H), {"num_layers": 2}, (6, I), _state_shapes(kind, 2, 0))


def test_unbatched_input_ignores_batch_first():
    _run_both("GRU", (I, H), {"batch_first": True}, (6, I))


def test_relu_rnn_matches_torch():
    _run_both("RNN", (I, H), {"nonlinearity": "relu", "num_layers": 2}, (6, 3, I))


def test_rnn_takes_nonlinearity_as_fourth_positional_argument():
    assert nn.RNN(I, H, 1, "relu").nonlinearity == "relu"
    _run_both("RNN", (I, H, 2, "relu"), {}, (4, 2, I))


@pytest.mark.parametrize("config", [
    pytest.param({}, id="one_layer"),
    pytest.param({"num_layers": 2, "bidirectional": True}, id="two_layers_bidirectional"),
])
def test_lstm_projection_matches_torch(config):
    layers = config.get("num_layers", 1) * (2 if config.get("bidirectional") else 1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch: "LSTM with projections is not supported..."
        _run_both("LSTM", (I, H), {"proj_size": 3, **config}, (5, 2, I),
                  _state_shapes("LSTM", layers, 2, proj=3))


# ----- packed sequences -------------------------------------------------------------------
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("config", [
    pytest.param({}, id="one_layer"),
    pytest.param({"num_layers": 2, "bidirectional": True}, id="two_layers_bidirectional"),
])
def test_packed_sequence_matches_torch(kind, config):
    e_mod, t_mod = _pair(kind, I, H, **config)
    layers = config.get("num_layers", 1) * (2 if config.get("bidirectional") else 1)
    lengths = [3, 6, 1, 4]
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal((6, 4, I)).astype(np.float32)]
    arrays += [rng.standard_normal(s).astype(np.float32) for s in _state_shapes(kind, layers, 4)]
    e_in, t_in = _leaves(arrays)
    e_packed = rnn_utils.pack_padded_sequence(e_in[0], lengths, enforce_sorted=False)
    t_packed = torch.nn.utils.rnn.pack_padded_sequence(t_in[0], lengths, enforce_sorted=False)
    e_hx = tuple(e_in[1:]) if kind == "LSTM" else e_in[1]
    t_hx = tuple(t_in[1:]) if kind == "LSTM" else t_in[1]
    e_out, e_state = e_mod(e_packed, e_hx)
    t_out, t_state = t_mod(t_packed, t_hx)
    assert isinstance(e_out, rnn_utils.PackedSequence)
    assert e_out.batch_sizes.tolist() == t_out.batch_sizes.tolist()
    e_pad, _ = rnn_utils.pad_packed_sequence(e_out)
    t_pad, _ = torch.nn.utils.rnn.pad_packed_sequence(t_out)
    e_flat, t_flat = [e_pad, *_flat(e_state)], [t_pad, *_flat(t_state)]
    for e, t in zip(e_flat, t_flat):
        _close(e, t)
    _check_backward(e_flat, t_flat, e_in, t_in, e_mod, t_mod)


def test_packed_sequence_through_projected_lstm_matches_torch():
    e_mod, t_mod = _pair("LSTM", I, H, proj_size=2, bidirectional=True)
    x = np.random.default_rng(0).standard_normal((5, 3, I)).astype(np.float32)
    e_in, t_in = _leaves([x])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t_out, t_state = t_mod(torch.nn.utils.rnn.pack_padded_sequence(t_in[0], [5, 2, 3],
                                                                        enforce_sorted=False))
    e_out, e_state = e_mod(rnn_utils.pack_padded_sequence(e_in[0], [5, 2, 3],
                                                          enforce_sorted=False))
    e_flat = [e_out.data, *_flat(e_state)]
    t_flat = [t_out.data, *_flat(t_state)]
    for e, t in zip(e_flat, t_flat):
        _close(e, t)
    _check_backward(e_flat, t_flat, e_in, t_in, e_mod, t_mod)


def test_packed_outputs_past_each_length_are_zero():
    lstm = nn.LSTM(I, H)
    x = ember.randn(5, 3, I)
    out, _ = lstm(rnn_utils.pack_padded_sequence(x, [5, 2, 1]))
    padded, lengths = rnn_utils.pad_packed_sequence(out)
    assert lengths.tolist() == [5, 2, 1]
    assert not np.any(padded.detach().numpy()[2:, 1])
    assert not np.any(padded.detach().numpy()[1:, 2])
    assert np.all(padded.detach().numpy()[:2, 1] != 0)


def test_packed_h_n_is_taken_at_each_sequence_last_step():
    gru = nn.GRU(I, H)
    x = ember.randn(5, 2, I)
    _, h_packed = gru(rnn_utils.pack_padded_sequence(x, [5, 3]))
    _, h_short = gru(x[:3, 1:])
    np.testing.assert_allclose(h_packed.detach().numpy()[0, 1], h_short.detach().numpy()[0, 0],
                               atol=1e-6)


# ----- parameters -----------------------------------------------------------------------
@pytest.mark.parametrize("kind,kwargs", [
    ("RNN", {"num_layers": 2, "bidirectional": True}),
    ("GRU", {"bias": False, "num_layers": 2}),
    ("LSTM", {"proj_size": 2, "num_layers": 2, "bidirectional": True}),
])
def test_parameter_names_and_shapes_match_torch(kind, kwargs):
    e = getattr(nn, kind)(I, H, **kwargs)
    t = getattr(torch.nn, kind)(I, H, **kwargs)
    assert [(n, tuple(p.shape)) for n, p in e.named_parameters()] == \
        [(n, tuple(p.shape)) for n, p in t.named_parameters()]
    assert e._flat_weights_names == t._flat_weights_names
    assert [[tuple(p.shape) for p in w] for w in e.all_weights] == \
        [[tuple(p.shape) for p in w] for w in t.all_weights]


@pytest.mark.parametrize("kind", ["RNNCell", "LSTMCell", "GRUCell"])
def test_cell_parameter_names_and_shapes_match_torch(kind):
    e = getattr(nn, kind)(I, H)
    t = getattr(torch.nn, kind)(I, H)
    assert [(n, tuple(p.shape)) for n, p in e.named_parameters()] == \
        [(n, tuple(p.shape)) for n, p in t.named_parameters()]


@pytest.mark.parametrize("module", [nn.LSTM(I, 16, num_layers=2), nn.GRUCell(I, 16)])
def test_parameters_are_uniform_within_one_over_sqrt_hidden(module):
    bound = 1 / math.sqrt(16)
    values = np.concatenate([p.detach().numpy().ravel() for p in module.parameters()])
    assert np.all(np.abs(values) <= bound)
    assert values.max() > 0.9 * bound and values.min() < -0.9 * bound


def test_repr_matches_torch():
    kwargs = {"num_layers": 2, "bias": False, "batch_first": True, "dropout": 0.5,
              "bidirectional": True}
    assert repr(nn.GRU(I, H, **kwargs)) == repr(torch.nn.GRU(I, H, **kwargs))
    assert repr(nn.LSTM(I, H, proj_size=2)) == repr(torch.nn.LSTM(I, H, proj_size=2))
    assert repr(nn.RNNCell(I, H, nonlinearity="relu")) == \
        repr(torch.nn.RNNCell(I, H, nonlinearity="relu"))
    assert repr(nn.LSTMCell(I, H, bias=False)) == repr(torch.nn.LSTMCell(I, H, bias=False))


def test_state_dict_loads_into_torch_layer():
    e = nn.LSTM(I, H, num_layers=2, bidirectional=True)
    t = torch.nn.LSTM(I, H, num_layers=2, bidirectional=True)
    t.load_state_dict({k: torch.tensor(v.numpy()) for k, v in e.state_dict().items()})
    x = np.random.default_rng(0).standard_normal((4, 2, I)).astype(np.float32)
    _close(e(ember.tensor(x))[0], t(torch.tensor(x))[0])


def test_float64_layer_runs_in_float64():
    gru = nn.GRU(I, H, dtype=ember.float64)
    out, h = gru(ember.randn(3, 2, I, dtype=ember.float64))
    assert out.dtype == ember.float64 and h.dtype == ember.float64


# ----- cells ----------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["RNNCell", "LSTMCell", "GRUCell"])
@pytest.mark.parametrize("batched", [True, False], ids=["batched", "unbatched"])
@pytest.mark.parametrize("bias", [True, False], ids=["bias", "no_bias"])
def test_cell_matches_torch(kind, batched, bias):
    e_mod, t_mod = _pair(kind, I, H, bias=bias)
    lead = (3,) if batched else ()
    rng = np.random.default_rng(0)
    count = 2 if kind == "LSTMCell" else 1
    arrays = [rng.standard_normal(lead + (I,)).astype(np.float32)]
    arrays += [rng.standard_normal(lead + (H,)).astype(np.float32) for _ in range(count)]
    e_in, t_in = _leaves(arrays)
    if count == 2:
        e_out, t_out = e_mod(e_in[0], tuple(e_in[1:])), t_mod(t_in[0], tuple(t_in[1:]))
    else:
        e_out, t_out = e_mod(*e_in), t_mod(*t_in)
    e_flat, t_flat = _flat(e_out), _flat(t_out)
    for e, t in zip(e_flat, t_flat):
        assert tuple(e.shape) == tuple(t.shape)
        _close(e, t)
    _check_backward(e_flat, t_flat, e_in, t_in, e_mod, t_mod)


@pytest.mark.parametrize("kind", ["RNNCell", "LSTMCell", "GRUCell"])
def test_cell_without_state_starts_from_zeros(kind):
    cell = getattr(nn, kind)(I, H)
    x = ember.randn(2, I)
    zeros = ember.zeros(2, H)
    given = cell(x, (zeros, zeros)) if kind == "LSTMCell" else cell(x, zeros)
    for a, b in zip(_flat(cell(x)), _flat(given)):
        np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())


def test_relu_cell_matches_torch():
    e_mod, t_mod = _pair("RNNCell", I, H, nonlinearity="relu")
    (ex, eh), (tx, th) = _leaves([np.random.default_rng(2).standard_normal(s).astype(np.float32)
                                  for s in ((3, I), (3, H))])
    e_out, t_out = e_mod(ex, eh), t_mod(tx, th)
    _close(e_out, t_out)
    _check_backward([e_out], [t_out], [ex, eh], [tx, th], e_mod, t_mod)


def _cell_fn(kind):
    """The cell as a function of (x, h, [c,] weights) for gradcheck."""
    cell = getattr(nn, kind)(3, 2, dtype=ember.float64)
    names = [n for n, _ in cell.named_parameters()]

    def fn(x, *rest):
        states, weights = rest[: len(rest) - len(names)], rest[len(rest) - len(names):]
        for name, w in zip(names, weights):
            cell._parameters[name] = w
        out = cell(x, states if kind == "LSTMCell" else states[0])
        return out if isinstance(out, tuple) else (out,)

    return fn, [tuple(p.shape) for p in cell.parameters()]


@pytest.mark.parametrize("kind", ["RNNCell", "LSTMCell", "GRUCell"])
def test_cell_passes_gradcheck_and_gradgradcheck_in_float64(kind):
    fn, shapes = _cell_fn(kind)
    count = 2 if kind == "LSTMCell" else 1
    rng = np.random.default_rng(0)
    shapes = [(2, 3)] + [(2, 2)] * count + shapes
    inputs = [ember.tensor(rng.uniform(-1, 1, s), dtype=ember.float64, requires_grad=True)
              for s in shapes]
    assert gradcheck(fn, inputs)
    assert gradgradcheck(fn, inputs)


def test_lstm_cell_gradient_flows_only_through_c_when_h_is_unused():
    cell = nn.LSTMCell(I, H)
    c0 = ember.randn(2, H, requires_grad=True)
    _, c = cell(ember.randn(2, I), (ember.zeros(2, H), c0))
    c.sum().backward()
    assert c0.grad is not None and np.all(np.isfinite(c0.grad.numpy()))


# ----- dropout, modes -----------------------------------------------------------------------
def test_dropout_is_inactive_in_eval_mode():
    lstm = nn.LSTM(I, H, num_layers=2, dropout=0.5).eval()
    x = ember.randn(4, 2, I)
    np.testing.assert_array_equal(lstm(x)[0].detach().numpy(), lstm(x)[0].detach().numpy())
    plain = nn.LSTM(I, H, num_layers=2)
    plain.load_state_dict(lstm.state_dict())
    np.testing.assert_allclose(plain(x)[0].detach().numpy(), lstm(x)[0].detach().numpy())


def test_dropout_zeroes_the_input_of_upper_layers_in_train_mode():
    gru = nn.GRU(I, H, num_layers=2, dropout=1.0).train()
    out_a, _ = gru(ember.randn(4, 2, I))
    out_b, _ = gru(ember.randn(4, 2, I))
    # The second layer sees only zeros, whatever the input.
    np.testing.assert_array_equal(out_a.detach().numpy(), out_b.detach().numpy())


def test_dropout_changes_outputs_in_train_mode():
    ember.manual_seed(0)
    rnn = nn.RNN(I, H, num_layers=2, dropout=0.5).train()
    x = ember.randn(4, 2, I)
    assert not np.allclose(rnn(x)[0].detach().numpy(), rnn.eval()(x)[0].detach().numpy())


def test_dropout_with_one_layer_warns_like_torch():
    with pytest.warns(UserWarning, match="non-zero dropout expects num_layers greater than 1"):
        nn.LSTM(I, H, dropout=0.2)


def test_no_grad_records_no_graph():
    lstm = nn.LSTM(I, H)
    with ember.no_grad():
        out, (h, c) = lstm(ember.randn(3, 2, I))
    assert not out.requires_grad and out.grad_fn is None and h.grad_fn is None


def test_fused_lstm_step_is_one_node_with_two_outputs():
    cell = nn.LSTMCell(I, H)
    h, c = cell(ember.randn(2, I))
    assert h.grad_fn is c.grad_fn
    assert type(h.grad_fn).__name__ == "ThnnFusedLstmCellBackward0"
    assert (h.output_nr, c.output_nr) == (0, 1)


# ----- errors ------------------------------------------------------------------------------
@pytest.mark.parametrize("make,call,exc,message", [
    (lambda: nn.LSTM(I, H), lambda m: m(ember.randn(5, 2, I + 1)), RuntimeError,
     "input.size(-1) must be equal to input_size. Expected 4, got 5"),
    (lambda: nn.GRU(I, H), lambda m: m(ember.randn(5, 2, I), ember.randn(1, 3, H)),
     RuntimeError, "Expected hidden size (1, 2, 5), got [1, 3, 5]"),
    (lambda: nn.LSTM(I, H), lambda m: m(ember.randn(5, 2, I), (ember.randn(1, 2, H),
                                                                ember.randn(1, 2, 2))),
     RuntimeError, "Expected hidden[1] size (1, 2, 5), got [1, 2, 2]"),
    (lambda: nn.RNN(I, H), lambda m: m(ember.randn(2, 5, 2, I)), ValueError,
     "RNN: Expected input to be 2D or 3D, got 4D tensor instead"),
    (lambda: nn.LSTM(I, H), lambda m: m(ember.randn(I)), ValueError,
     "LSTM: Expected input to be 2D or 3D, got 1D instead"),
    (lambda: nn.GRU(I, H), lambda m: m(ember.randn(5, I), ember.randn(1, 1, H)), RuntimeError,
     "For unbatched 2-D input, hx should also be 2-D but got 3-D tensor"),
    (lambda: nn.LSTM(I, H), lambda m: m(ember.randn(5, 1, I), (ember.randn(1, H),
                                                                ember.randn(1, 1, H))),
     RuntimeError, "For batched 3-D input, hx and cx should also be 3-D but got (2-D, 3-D)"),
    (lambda: nn.GRU(I, H), lambda m: m(ember.randn(5, 2, I, dtype=ember.float64)), ValueError,
     "RNN input dtype (ember.float64) does not match weight dtype (ember.float32)"),
    (lambda: nn.LSTM(I, H), lambda m: m(ember.randn(0, 2, I)), RuntimeError,
     "Expected sequence length to be larger than 0 in RNN"),
    (lambda: nn.LSTMCell(I, H), lambda m: m(ember.randn(2, I + 1)), RuntimeError,
     "input has inconsistent input_size: got 5 expected 4"),
    (lambda: nn.GRUCell(I, H), lambda m: m(ember.randn(2, I), ember.randn(3, H)), RuntimeError,
     "Input batch size 2 doesn't match hidden0 batch size 3"),
    (lambda: nn.LSTMCell(I, H), lambda m: m(ember.randn(2, I), (ember.randn(2, H),
                                                                 ember.randn(2, 2))),
     RuntimeError, "hidden1 has inconsistent hidden_size: got 2, expected 5"),
    (lambda: nn.RNNCell(I, H), lambda m: m(ember.randn(1, 2, I)), ValueError,
     "RNNCell: Expected input to be 1D or 2D, got 3D instead"),
    (lambda: nn.RNNCell(I, H), lambda m: m(ember.randn(2, I, dtype=ember.float64)),
     RuntimeError, "mat1 and mat2 must have the same dtype, but got Double and Float"),
])
def test_bad_input_raises_torch_error(make, call, exc, message):
    module = make()
    with pytest.raises(exc) as info:
        call(module)
    assert message in str(info.value)


@pytest.mark.parametrize("make,message", [
    (lambda: nn.RNN(I, H, nonlinearity="gelu"),
     "Unknown nonlinearity 'gelu'. Select from 'tanh' or 'relu'."),
    (lambda: nn.GRU(I, H, proj_size=2),
     "proj_size argument is only supported for LSTM, not RNN or GRU"),
    (lambda: nn.LSTM(I, H, proj_size=H), "proj_size has to be smaller than hidden_size"),
    (lambda: nn.LSTM(I, H, dropout=1.5), "dropout should be a number in range [0, 1]"),
    (lambda: nn.GRU(I, 0), "hidden_size must be greater than zero"),
    (lambda: nn.RNN(I, H, num_layers=0), "num_layers must be greater than zero"),
])
def test_bad_constructor_arguments_raise_value_error(make, message):
    with pytest.raises(ValueError) as info:
        make()
    assert message in str(info.value)


# ----- learning -------------------------------------------------------------------------
class _FirstElement(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(1, 12, batch_first=True)
        self.head = nn.Linear(12, 1)

    def forward(self, x):
        _, (h, _) = self.lstm(x)
        return self.head(h[-1])


def test_lstm_learns_to_recall_the_first_element():
    ember.manual_seed(0)
    rng = np.random.default_rng(0)
    model = _FirstElement()
    opt = ember.optim.Adam(model.parameters(), lr=0.03)
    for _ in range(150):
        x = rng.uniform(-1, 1, (32, 6, 1)).astype(np.float32)
        loss = nn.functional.mse_loss(model(ember.tensor(x)), ember.tensor(x[:, 0]))
        opt.zero_grad()
        loss.backward()
        opt.step()
    x = rng.uniform(-1, 1, (256, 6, 1)).astype(np.float32)
    with ember.no_grad():
        final = nn.functional.mse_loss(model(ember.tensor(x)), ember.tensor(x[:, 0])).item()
    assert final < 0.01  # predicting the mean would give 1/3
