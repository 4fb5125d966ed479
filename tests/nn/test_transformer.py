"""Transformer layers against torch 2.13 with the same weights (eval mode: no dropout):
outputs and the gradients of the inputs and every parameter; structure and state dicts
as PyTorch's; and a tiny sequence task a one-layer encoder learns."""

from __future__ import annotations

import numpy as np
import pytest

import ember
import ember.nn as nn
import ember.nn.functional as F
from tests.nn.test_attention import compare_modules

torch = pytest.importorskip("torch")

_CAUSAL5 = np.triu(np.full((5, 5), -np.inf, np.float32), 1)
_KPM = np.zeros((3, 5), bool)
_KPM[0, 3:] = True


def _pair(name: str, *args, **kw):
    e, t = getattr(nn, name)(*args, **kw), getattr(torch.nn, name)(*args, **kw)
    return e.eval(), t.eval()


def _stack_pair(kind: str, num_layers: int, norm: bool = False, **kw):
    layer = f"Transformer{kind}Layer"
    e_layer, t_layer = _pair(layer, 8, 2, 16, **kw)
    e_norm = nn.LayerNorm(8) if norm else None
    t_norm = torch.nn.LayerNorm(8) if norm else None
    if kind == "Encoder":
        e = nn.TransformerEncoder(e_layer, num_layers, e_norm)
        t = torch.nn.TransformerEncoder(t_layer, num_layers, t_norm, enable_nested_tensor=False)
    else:
        e = nn.TransformerDecoder(e_layer, num_layers, e_norm)
        t = torch.nn.TransformerDecoder(t_layer, num_layers, t_norm)
    return e.eval(), t.eval()


# ----- encoder layer --------------------------------------------------------------------

@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("activation", ["relu", "gelu"])
def test_encoder_layer_matches_torch(norm_first, activation):
    compare_modules(*_pair("TransformerEncoderLayer", 8, 2, 16, activation=activation,
                           norm_first=norm_first), [(5, 3, 8)])


def test_encoder_layer_batch_first_with_masks_matches_torch():
    compare_modules(*_pair("TransformerEncoderLayer", 8, 2, 16, batch_first=True),
                    [(3, 5, 8)], masks={"src_mask": _CAUSAL5 < 0, "src_key_padding_mask": _KPM})


def test_encoder_layer_with_callable_activation_matches_torch():
    e, t = nn.TransformerEncoderLayer(8, 2, 16, activation=F.silu).eval(), \
        torch.nn.TransformerEncoderLayer(8, 2, 16, activation=torch.nn.functional.silu).eval()
    compare_modules(e, t, [(5, 3, 8)])


def test_encoder_layer_with_activation_module_matches_torch():
    e = nn.TransformerEncoderLayer(8, 2, 16, activation=nn.GELU()).eval()
    t = torch.nn.TransformerEncoderLayer(8, 2, 16, activation=torch.nn.GELU()).eval()
    assert e.activation_relu_or_gelu == t.activation_relu_or_gelu == 2
    compare_modules(e, t, [(5, 3, 8)])


def test_encoder_layer_unbatched_input_matches_torch():
    compare_modules(*_pair("TransformerEncoderLayer", 8, 2, 16), [(5, 8)])


def test_encoder_layer_without_bias_matches_torch():
    compare_modules(*_pair("TransformerEncoderLayer", 8, 2, 16, bias=False), [(5, 3, 8)])


def test_encoder_layer_names_submodules_like_torch():
    e, t = _pair("TransformerEncoderLayer", 8, 2, 16)
    assert [n for n, _ in e.named_modules()] == [n for n, _ in t.named_modules()]
    assert list(e.state_dict()) == list(t.state_dict())


def test_encoder_layer_unknown_activation_raises_like_torch():
    with pytest.raises(RuntimeError, match="activation should be relu/gelu, not tanh"):
        nn.TransformerEncoderLayer(8, 2, activation="tanh")


def test_encoder_layer_dropout_active_in_training():
    layer = nn.TransformerEncoderLayer(8, 2, 16, dropout=0.5)
    x = ember.randn(5, 3, 8)
    a = layer(x)
    layer.eval()
    b, c = layer(x), layer(x)
    np.testing.assert_array_equal(b.detach().numpy(), c.detach().numpy())
    assert not np.allclose(a.detach().numpy(), b.detach().numpy())


# ----- encoder --------------------------------------------------------------------------

def test_two_layer_encoder_with_norm_matches_torch():
    compare_modules(*_stack_pair("Encoder", 2, norm=True), [(5, 3, 8)])


def test_encoder_with_causal_mask_matches_torch():
    compare_modules(*_stack_pair("Encoder", 2), [(5, 3, 8)], masks={"mask": _CAUSAL5})


def test_encoder_with_key_padding_mask_matches_torch():
    compare_modules(*_stack_pair("Encoder", 2, batch_first=True), [(3, 5, 8)],
                    masks={"src_key_padding_mask": _KPM})


def test_encoder_layers_are_independent_deep_copies():
    layer = nn.TransformerEncoderLayer(8, 2, 16)
    enc = nn.TransformerEncoder(layer, 2)
    w0, w1 = enc.layers[0].linear1.weight, enc.layers[1].linear1.weight
    assert w0 is not w1 and w0 is not layer.linear1.weight
    np.testing.assert_array_equal(w0.detach().numpy(), w1.detach().numpy())


def test_encoder_state_dict_keys_match_torch():
    e, t = _stack_pair("Encoder", 2, norm=True)
    assert list(e.state_dict()) == list(t.state_dict())
    assert "layers.1.self_attn.in_proj_weight" in e.state_dict()


def test_encoder_loads_torch_state_dict_and_agrees():
    e, t = _stack_pair("Encoder", 2, norm=True)
    e.load_state_dict({k: ember.tensor(v.numpy()) for k, v in t.state_dict().items()})
    x = np.random.default_rng(0).standard_normal((5, 3, 8)).astype(np.float32)
    with ember.no_grad():
        out = e(ember.tensor(x)).numpy()
    with torch.no_grad():
        ref = t(torch.tensor(x)).numpy()
    np.testing.assert_allclose(out, ref, atol=2e-5, rtol=1e-4)


# ----- decoder --------------------------------------------------------------------------

@pytest.mark.parametrize("norm_first", [False, True])
def test_decoder_layer_matches_torch(norm_first):
    compare_modules(*_pair("TransformerDecoderLayer", 8, 2, 16, norm_first=norm_first),
                    [(5, 3, 8), (6, 3, 8)], masks={"tgt_mask": _CAUSAL5})


def test_decoder_layer_with_memory_padding_mask_matches_torch():
    kpm = np.zeros((3, 6), bool)
    kpm[1, 4:] = True
    compare_modules(*_pair("TransformerDecoderLayer", 8, 2, 16, batch_first=True),
                    [(3, 5, 8), (3, 6, 8)], masks={"memory_key_padding_mask": kpm})


def test_decoder_layer_names_submodules_like_torch():
    e, t = _pair("TransformerDecoderLayer", 8, 2, 16)
    assert list(e.state_dict()) == list(t.state_dict())


def test_two_layer_decoder_matches_torch():
    compare_modules(*_stack_pair("Decoder", 2, norm=True), [(5, 3, 8), (6, 3, 8)],
                    masks={"tgt_mask": _CAUSAL5})


# ----- Transformer ----------------------------------------------------------------------

@pytest.mark.filterwarnings("ignore:enable_nested_tensor is True")
def test_transformer_matches_torch():
    e = nn.Transformer(8, 2, 1, 1, 16).eval()
    t = torch.nn.Transformer(8, 2, 1, 1, 16).eval()
    assert list(e.state_dict()) == list(t.state_dict())
    compare_modules(e, t, [(6, 3, 8), (5, 3, 8)], masks={"tgt_mask": _CAUSAL5})


def test_transformer_inits_matrices_with_xavier_uniform():
    ember.manual_seed(0)
    model = nn.Transformer(16, 2, 1, 1, 64)
    w = model.encoder.layers[0].linear1.weight.detach().numpy()
    bound = np.sqrt(6.0 / (16 + 64))
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.9 * bound


def test_generate_square_subsequent_mask_is_minus_inf_above_diagonal():
    mask = nn.Transformer.generate_square_subsequent_mask(3).numpy()
    np.testing.assert_array_equal(mask, torch.nn.Transformer.generate_square_subsequent_mask(3))
    assert mask.dtype == np.float32


def test_transformer_batch_mismatch_raises_like_torch():
    model = nn.Transformer(8, 2, 1, 1, 16)
    with pytest.raises(RuntimeError, match="the batch number of src and tgt must be equal"):
        model(ember.randn(4, 2, 8), ember.randn(4, 3, 8))


def test_transformer_feature_mismatch_raises_like_torch():
    model = nn.Transformer(8, 2, 1, 1, 16)
    with pytest.raises(RuntimeError, match="the feature number of src and tgt must be equal"):
        model(ember.randn(4, 2, 8), ember.randn(4, 2, 6))


# ----- learning -------------------------------------------------------------------------

class _Reverser(nn.Module):
    def __init__(self, vocab: int, length: int, width: int) -> None:
        super().__init__()
        self.tok = nn.Embedding(vocab, width)
        self.pos = nn.Embedding(length, width)
        layer = nn.TransformerEncoderLayer(width, 2, 64, dropout=0.0, batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, 1)
        self.head = nn.Linear(width, vocab)

    def forward(self, x):
        h = self.tok(x) + self.pos(ember.arange(x.shape[1]))
        return self.head(self.encoder(h))


def test_one_layer_encoder_learns_to_reverse_sequences():
    ember.manual_seed(0)
    vocab, length = 6, 6
    model = _Reverser(vocab, length, 32)
    opt = ember.optim.Adam(model.parameters(), lr=3e-3)
    rng = np.random.default_rng(0)
    for _ in range(60):
        x = rng.integers(0, vocab, (64, length))
        logits = model(ember.tensor(x))
        loss = F.cross_entropy(logits.reshape(-1, vocab),
                               ember.tensor(x[:, ::-1].reshape(-1).copy()))
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    x = rng.integers(0, vocab, (256, length))
    with ember.no_grad():
        pred = model(ember.tensor(x)).argmax(-1).numpy()
    assert (pred == x[:, ::-1]).mean() > 0.98
