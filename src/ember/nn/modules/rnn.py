"""Recurrent layers: RNN, LSTM and GRU over sequences, and their one-step cells.

A layer runs on sequences in packed layout: a 2-D `data` whose rows are the batch items
alive at each step, step after step, with `batch_sizes[t]` rows at step t (padded input is
the case where every step has the whole batch). The input projection of all steps is one
matmul; then each step is one `h @ W_hh.T` plus one fused gate op, so autograd carries
backward through time over a small graph.
"""

from __future__ import annotations

import math
import numbers
import warnings
from typing import NamedTuple

from ... import _creation
from ..._tensor import Tensor
from ...ops import elementwise as ew
from ...ops import shape as sh
from ...ops.indexing import index_select
from ...ops.linalg import linear
from ...ops.rnn_ops import gru_gates, lstm_gates
from .. import functional as F
from .. import init
from ..parameter import Parameter
from ..utils.rnn import PackedSequence
from .module import Module, _check_device

__all__ = ["RNNBase", "RNN", "LSTM", "GRU", "RNNCellBase", "RNNCell", "LSTMCell", "GRUCell"]

_GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}
_TYPE_NAMES = {"float32": "Float", "float64": "Double", "float16": "Half"}


class _Weights(NamedTuple):
    """The parameters of one direction of one layer (None where absent)."""

    ih: Tensor
    hh: Tensor
    b_ih: Tensor | None
    b_hh: Tensor | None
    hr: Tensor | None = None


# ----- one step: (gates of x, state tuple, weights) -> new state tuple --------------------
def _tanh_step(gx: Tensor, state: tuple, w: _Weights) -> tuple:
    return (ew.tanh(gx + linear(state[0], w.hh, w.b_hh)),)


def _relu_step(gx: Tensor, state: tuple, w: _Weights) -> tuple:
    return (ew.relu(gx + linear(state[0], w.hh, w.b_hh)),)


def _gru_step(gx: Tensor, state: tuple, w: _Weights) -> tuple:
    h = state[0]
    return (gru_gates(gx, linear(h, w.hh, w.b_hh), h),)


def _lstm_step(gx: Tensor, state: tuple, w: _Weights) -> tuple:
    h, c = lstm_gates(gx, linear(state[0], w.hh, w.b_hh), state[1])
    if w.hr is not None:
        h = linear(h, w.hr)
    return h, c


_STEPS = {"RNN_TANH": _tanh_step, "RNN_RELU": _relu_step, "GRU": _gru_step, "LSTM": _lstm_step}


def _run_direction(step, gates: tuple, init: tuple, w: _Weights, batch_sizes: list,
                   reverse: bool) -> tuple[list, tuple]:
    """The outputs (one per step) and final state of one direction of one layer.

    Sequences are sorted by decreasing length, so the rows alive at step t are the first
    `batch_sizes[t]`; each sequence's final state is its state after its last step.
    """
    steps = len(gates)
    outs: list = [None] * steps
    if not reverse:
        state, rows, done = init, batch_sizes[0], []
        for t in range(steps):
            n = batch_sizes[t]
            if n < rows:  # sequences n..rows-1 ended at step t-1
                done.append(tuple(s[n:rows] for s in state))
                state = tuple(s[:n] for s in state)
                rows = n
            state = step(gates[t], state, w)
            outs[t] = state[0]
        if done:
            done.append(state)
            state = tuple(sh.cat([d[k] for d in reversed(done)]) for k in range(len(state)))
        return outs, state
    rows = batch_sizes[-1]
    state = tuple(s[:rows] for s in init) if rows < batch_sizes[0] else init
    for t in range(steps - 1, -1, -1):
        n = batch_sizes[t]
        if n > rows:  # sequences rows..n-1 start (from their end) at step t
            state = tuple(sh.cat([s, s0[rows:n]]) for s, s0 in zip(state, init))
            rows = n
        state = step(gates[t], state, w)
        outs[t] = state[0]
    return outs, state


def _dtype_error(a: Tensor, b: Tensor) -> RuntimeError:
    names = [_TYPE_NAMES.get(str(t._data.dtype), str(t._data.dtype)) for t in (a, b)]
    return RuntimeError(
        f"mat1 and mat2 must have the same dtype, but got {names[0]} and {names[1]}")


def _permute(states: tuple | None, index: Tensor | None) -> tuple | None:
    if index is None or states is None:
        return states
    return tuple(index_select(s, 1, index) for s in states)


class RNNBase(Module):
    """The shared machinery of RNN, LSTM and GRU: parameters named and shaped as in
    PyTorch (`weight_ih_l{k}[_reverse]`, ...), input checks and the layer loop."""

    def __init__(self, mode: str, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, proj_size: int = 0, device=None,
                 dtype=None) -> None:
        super().__init__()
        _check_device(device)
        if mode not in _GATES:
            raise ValueError("Unrecognized RNN mode: " + mode)
        if (not isinstance(dropout, numbers.Number) or isinstance(dropout, bool)
                or not 0 <= dropout <= 1):
            raise ValueError("dropout should be a number in range [0, 1] representing the "
                             "probability of an element being zeroed")
        if dropout > 0 and num_layers == 1:
            warnings.warn(
                "dropout option adds dropout after all but last recurrent layer, so non-zero "
                f"dropout expects num_layers greater than 1, but got dropout={dropout} and "
                f"num_layers={num_layers}", stacklevel=3)
        for name, value, kind in (("bias", bias, bool), ("batch_first", batch_first, bool),
                                  ("input_size", input_size, int),
                                  ("hidden_size", hidden_size, int)):
            if not isinstance(value, kind):
                raise TypeError(f"{name} should be of type {kind.__name__}, got: "
                                f"{type(value).__name__}")
        if input_size <= 0:
            raise ValueError("input_size must be greater than zero")
        if hidden_size <= 0:
            raise ValueError("hidden_size must be greater than zero")
        if num_layers <= 0:
            raise ValueError("num_layers must be greater than zero")
        if proj_size < 0:
            raise ValueError(
                "proj_size should be a positive integer or zero to disable projections")
        if proj_size >= hidden_size:
            raise ValueError("proj_size has to be smaller than hidden_size")
        self.mode = mode
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bias = bias
        self.batch_first = batch_first
        self.dropout = float(dropout)
        self.bidirectional = bidirectional
        self.proj_size = proj_size
        gate_size = _GATES[mode] * hidden_size
        out_size = proj_size or hidden_size
        directions = 2 if bidirectional else 1
        self._flat_weights_names: list[str] = []
        self._all_weights: list[list[str]] = []
        for layer in range(num_layers):
            layer_input = input_size if layer == 0 else out_size * directions
            for direction in range(directions):
                shapes = {"weight_ih": (gate_size, layer_input),
                          "weight_hh": (gate_size, out_size)}
                if bias:
                    shapes.update(bias_ih=(gate_size,), bias_hh=(gate_size,))
                if proj_size:
                    shapes["weight_hr"] = (proj_size, hidden_size)
                suffix = f"_l{layer}" + ("_reverse" if direction else "")
                names = []
                for stem, size in shapes.items():
                    setattr(self, stem + suffix, Parameter(_creation.empty(*size, dtype=dtype)))
                    names.append(stem + suffix)
                self._flat_weights_names.extend(names)
                self._all_weights.append(names)
        self.reset_parameters()

    @property
    def _flat_weights(self) -> list:
        return [getattr(self, name, None) for name in self._flat_weights_names]

    @property
    def all_weights(self) -> list[list[Parameter]]:
        return [[getattr(self, name) for name in names] for names in self._all_weights]

    def flatten_parameters(self) -> None:
        """A no-op: parameters are always used where they are (cuDNN packs them)."""

    def reset_parameters(self) -> None:
        stdv = 1.0 / math.sqrt(self.hidden_size)
        for weight in self.parameters():
            init.uniform_(weight, -stdv, stdv)

    def _weights(self, layer: int, reverse: bool) -> _Weights:
        suffix = f"_l{layer}" + ("_reverse" if reverse else "")
        return _Weights(*(getattr(self, stem + suffix, None) for stem in (
            "weight_ih", "weight_hh", "bias_ih", "bias_hh", "weight_hr")))

    # ----- checks, with PyTorch's messages -------------------------------------------------
    def check_input(self, input: Tensor, batch_sizes) -> None:
        weight = self._flat_weights[0]
        if input.dtype != weight.dtype:
            raise ValueError(
                f"RNN input dtype ({input.dtype}) does not match weight dtype ({weight.dtype})."
                f" Convert input: input.to({weight.dtype}), or convert model: "
                f"model.to({input.dtype})")
        expected = 2 if batch_sizes is not None else 3
        if input.dim() != expected:
            raise RuntimeError(f"input must have {expected} dimensions, got {input.dim()}")
        if self.input_size != input.size(-1):
            raise RuntimeError("input.size(-1) must be equal to input_size. Expected "
                               f"{self.input_size}, got {input.size(-1)}")

    def get_expected_hidden_size(self, input: Tensor, batch_sizes) -> tuple[int, int, int]:
        if batch_sizes is not None:
            batch = int(batch_sizes[0])
        else:
            batch = input.size(0) if self.batch_first else input.size(1)
        directions = 2 if self.bidirectional else 1
        return (self.num_layers * directions, batch, self.proj_size or self.hidden_size)

    def check_hidden_size(self, hx: Tensor, expected_hidden_size: tuple,
                          msg: str = "Expected hidden size {}, got {}") -> None:
        if tuple(hx.shape) != tuple(expected_hidden_size):
            raise RuntimeError(msg.format(tuple(expected_hidden_size), list(hx.shape)))

    def check_forward_args(self, input: Tensor, hidden: Tensor, batch_sizes) -> None:
        self.check_input(input, batch_sizes)
        self.check_hidden_size(hidden, self.get_expected_hidden_size(input, batch_sizes))

    def permute_hidden(self, hx: Tensor, permutation: Tensor | None) -> Tensor:
        return hx if permutation is None else index_select(hx, 1, permutation)

    # ----- the forward pass -------------------------------------------------------------
    def _zeros(self, batch: int, size: int, like: Tensor) -> Tensor:
        directions = 2 if self.bidirectional else 1
        return _creation.zeros(self.num_layers * directions, batch, size, dtype=like.dtype)

    def _forward(self, input, hx) -> tuple:
        """(output, final states); `hx` and the final states are tuples of tensors, (h,)
        or (h, c), and `hx` may be None (zeros)."""
        if isinstance(input, PackedSequence):
            data, sizes, sorted_idx, unsorted_idx = input
            self.check_input(data, sizes)
            batch_sizes = [int(n) for n in sizes.tolist()]
            out, finals = self._run(data, batch_sizes, _permute(hx, sorted_idx))
            return PackedSequence(out, sizes, sorted_idx, unsorted_idx), _permute(
                finals, unsorted_idx)
        if input.dim() not in (2, 3):
            name = self.mode if self.mode in ("LSTM", "GRU") else "RNN"
            tail = "" if self.mode == "LSTM" else " tensor"
            raise ValueError(
                f"{name}: Expected input to be 2D or 3D, got {input.dim()}D{tail} instead")
        batched = input.dim() == 3
        if hx is not None:
            self._check_hx_dims(hx, 3 if batched else 2)
            if not batched:
                hx = tuple(h.unsqueeze(1) for h in hx)
        if not batched:
            input = input.unsqueeze(1)
        elif self.batch_first:
            input = input.transpose(0, 1)
        self.check_input(input, None)
        steps, batch = input.shape[0], input.shape[1]
        if steps == 0:
            raise RuntimeError("Expected sequence length to be larger than 0 in RNN")
        data = input.reshape(steps * batch, self.input_size)
        out, finals = self._run(data, [batch] * steps, hx)
        out = out.reshape(steps, batch, out.shape[-1])
        if not batched:
            return out.squeeze(1), tuple(f.squeeze(1) for f in finals)
        return (out.transpose(0, 1) if self.batch_first else out), finals

    def _run(self, data: Tensor, batch_sizes: list, hx: tuple | None) -> tuple:
        """Check (or make) the initial states, then run the layers."""
        lstm = self.mode == "LSTM"
        batch = batch_sizes[0]
        size = self.proj_size or self.hidden_size
        if hx is None:
            hx = (self._zeros(batch, size, data),) + (
                (self._zeros(batch, self.hidden_size, data),) if lstm else ())
        expected = (self.num_layers * (2 if self.bidirectional else 1), batch)
        for k, h in enumerate(hx):
            msg = f"Expected hidden[{k}] size {{}}, got {{}}" if lstm else \
                "Expected hidden size {}, got {}"
            self.check_hidden_size(h, expected + ((size if k == 0 else self.hidden_size),), msg)
            if h.dtype != data.dtype:
                raise _dtype_error(h, data)
        return self._layers(data, batch_sizes, hx)

    def _check_hx_dims(self, hx: tuple, dims: int) -> None:
        if all(h.dim() == dims for h in hx):
            return
        kind = "batched 3-D" if dims == 3 else "unbatched 2-D"
        if self.mode == "LSTM":
            got = ", ".join(f"{h.dim()}-D" for h in hx)
            raise RuntimeError(f"For {kind} input, hx and cx should also be {dims}-D but got "
                               f"({got}) tensors")
        raise RuntimeError(
            f"For {kind} input, hx should also be {dims}-D but got {hx[0].dim()}-D tensor")

    def _layers(self, data: Tensor, batch_sizes: list, hx: tuple) -> tuple:
        """Run all layers and directions on packed-layout `data`."""
        step = _STEPS[self.mode]
        directions = 2 if self.bidirectional else 1
        inits = [sh.unbind(h, 0) for h in hx]
        finals: list[list] = [[] for _ in hx]
        x = data
        for layer in range(self.num_layers):
            if layer and self.training and self.dropout:
                x = F.dropout(x, self.dropout, True)
            outs = []
            for direction in range(directions):
                k = layer * directions + direction
                w = self._weights(layer, direction == 1)
                gates = sh.split(linear(x, w.ih, w.b_ih), batch_sizes)
                steps, state = _run_direction(step, gates, tuple(i[k] for i in inits), w,
                                              batch_sizes, direction == 1)
                outs.append(sh.cat(steps))
                for f, s in zip(finals, state):
                    f.append(s)
            x = outs[0] if directions == 1 else sh.cat(outs, 1)
        return x, tuple(sh.stack(f) for f in finals)

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.proj_size != 0:
            s += f", proj_size={self.proj_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if self.batch_first is not False:
            s += f", batch_first={self.batch_first}"
        if self.dropout != 0:
            s += f", dropout={self.dropout}"
        if self.bidirectional is not False:
            s += f", bidirectional={self.bidirectional}"
        return s


class RNN(RNNBase):
    """Elman RNN: h_t = tanh(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh) (or relu).

    Returns (output, h_n); input (T, B, I), (B, T, I) with batch_first, (T, I), or a
    PackedSequence.
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 nonlinearity: str = "tanh", bias: bool = True, batch_first: bool = False,
                 dropout: float = 0.0, bidirectional: bool = False, device=None, dtype=None,
                 **kwargs) -> None:
        if "proj_size" in kwargs:
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        if kwargs:
            raise TypeError(f"__init__() got an unexpected keyword argument '{next(iter(kwargs))}'")
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(
                f"Unknown nonlinearity '{nonlinearity}'. Select from 'tanh' or 'relu'.")
        self.nonlinearity = nonlinearity
        super().__init__("RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU", input_size,
                         hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         device=device, dtype=dtype)

    def forward(self, input, hx: Tensor | None = None):
        out, finals = self._forward(input, None if hx is None else (hx,))
        return out, finals[0]


class GRU(RNNBase):
    """Gated recurrent unit, gates r, z, n with n = tanh(W_in x + b_in + r * (W_hn h + b_hn)).

    Returns (output, h_n).
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, device=None, dtype=None, **kwargs) -> None:
        if "proj_size" in kwargs:
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        if kwargs:
            raise TypeError(f"__init__() got an unexpected keyword argument '{next(iter(kwargs))}'")
        super().__init__("GRU", input_size, hidden_size, num_layers, bias, batch_first,
                         dropout, bidirectional, device=device, dtype=dtype)

    def forward(self, input, hx: Tensor | None = None):
        out, finals = self._forward(input, None if hx is None else (hx,))
        return out, finals[0]


class LSTM(RNNBase):
    """Long short-term memory, gates i, f, g, o; with `proj_size` > 0 the hidden state is
    projected by `weight_hr_l{k}` (proj_size, hidden_size).

    Returns (output, (h_n, c_n)).
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, proj_size: int = 0, device=None,
                 dtype=None) -> None:
        super().__init__("LSTM", input_size, hidden_size, num_layers, bias, batch_first,
                         dropout, bidirectional, proj_size, device=device, dtype=dtype)

    def get_expected_cell_size(self, input: Tensor, batch_sizes) -> tuple[int, int, int]:
        layers, batch, _ = self.get_expected_hidden_size(input, batch_sizes)
        return (layers, batch, self.hidden_size)

    def forward(self, input, hx: tuple[Tensor, Tensor] | None = None):
        out, (h, c) = self._forward(input, None if hx is None else tuple(hx))
        return out, (h, c)


# ----- cells ----------------------------------------------------------------------------
class RNNCellBase(Module):
    """Parameters weight_ih (G*H, I), weight_hh (G*H, H), bias_ih, bias_hh (G*H)."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool, num_chunks: int,
                 device=None, dtype=None) -> None:
        super().__init__()
        _check_device(device)
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.bias = bias
        gates = num_chunks * hidden_size
        self.weight_ih = Parameter(_creation.empty(gates, input_size, dtype=dtype))
        self.weight_hh = Parameter(_creation.empty(gates, hidden_size, dtype=dtype))
        if bias:
            self.bias_ih = Parameter(_creation.empty(gates, dtype=dtype))
            self.bias_hh = Parameter(_creation.empty(gates, dtype=dtype))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        stdv = 1.0 / math.sqrt(self.hidden_size)
        for weight in self.parameters():
            init.uniform_(weight, -stdv, stdv)

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if getattr(self, "nonlinearity", "tanh") != "tanh":
            s += f", nonlinearity={self.nonlinearity}"
        return s

    def _run_cell(self, name: str, step, input: Tensor, hx, count: int):
        """Check shapes like PyTorch's cells, then run one step; `hx` is a tuple or None."""
        if input.dim() not in (1, 2):
            raise ValueError(f"{name}: Expected input to be 1D or 2D, got {input.dim()}D instead")
        if hx is not None:
            for k, h in enumerate(hx):
                if h.dim() not in (1, 2):
                    what = f"hx[{k}]" if count > 1 else "hidden"
                    raise ValueError(
                        f"{name}: Expected {what} to be 1D or 2D, got {h.dim()}D instead")
        batched = input.dim() == 2
        x = input if batched else input.unsqueeze(0)
        if hx is None:
            zeros = _creation.zeros(x.shape[0], self.hidden_size, dtype=x.dtype)
            hx = (zeros,) * count
        elif not batched:
            hx = tuple(h.unsqueeze(0) for h in hx)
        self._check_cell(x, hx)
        w = _Weights(self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh)
        state = step(linear(x, w.ih, w.b_ih), hx, w)
        return state if batched else tuple(s.squeeze(0) for s in state)

    def _check_cell(self, x: Tensor, hx: tuple) -> None:
        if x.shape[1] != self.input_size:
            raise RuntimeError(f"input has inconsistent input_size: got {x.shape[1]} expected "
                               f"{self.input_size}")
        if x.dtype != self.weight_ih.dtype:
            raise _dtype_error(x, self.weight_ih)
        for k, h in enumerate(hx):
            if h.shape[0] != x.shape[0]:
                raise RuntimeError(f"Input batch size {x.shape[0]} doesn't match hidden{k} "
                                   f"batch size {h.shape[0]}")
            if h.dim() != 2 or h.shape[1] != self.hidden_size:
                raise RuntimeError(f"hidden{k} has inconsistent hidden_size: got "
                                   f"{h.shape[1]}, expected {self.hidden_size}")
            if h.dtype != self.weight_hh.dtype:
                raise _dtype_error(h, self.weight_hh)


class RNNCell(RNNCellBase):
    """h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh), or relu."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 nonlinearity: str = "tanh", device=None, dtype=None) -> None:
        super().__init__(input_size, hidden_size, bias, 1, device=device, dtype=dtype)
        self.nonlinearity = nonlinearity

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        if self.nonlinearity not in ("tanh", "relu"):
            raise RuntimeError(f"Unknown nonlinearity: {self.nonlinearity}")
        step = _tanh_step if self.nonlinearity == "tanh" else _relu_step
        return self._run_cell("RNNCell", step, input, None if hx is None else (hx,), 1)[0]


class LSTMCell(RNNCellBase):
    """One LSTM step; returns (h', c')."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device=None,
                 dtype=None) -> None:
        super().__init__(input_size, hidden_size, bias, 4, device=device, dtype=dtype)

    def forward(self, input: Tensor, hx: tuple[Tensor, Tensor] | None = None):
        h, c = self._run_cell("LSTMCell", _lstm_step, input, None if hx is None else tuple(hx),
                              2)
        return h, c


class GRUCell(RNNCellBase):
    """One GRU step; returns h'."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device=None,
                 dtype=None) -> None:
        super().__init__(input_size, hidden_size, bias, 3, device=device, dtype=dtype)

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        return self._run_cell("GRUCell", _gru_step, input, None if hx is None else (hx,), 1)[0]
