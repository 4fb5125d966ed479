"""scaled_dot_product_attention (finite differences incl. double backward, torch as oracle)
and nn.MultiheadAttention against torch 2.13 with the same weights: outputs, attention
weights, and the gradients of the inputs and of every parameter."""

from __future__ import annotations

import numpy as np
import pytest

import ember
import ember.nn as nn
import ember.nn.functional as F
from ember.autograd import gradcheck, gradgradcheck
from tests.helpers import check_op, grad_fn_name

_RNG = np.random.default_rng(7)
_BOOL_MASK = _RNG.random((3, 5)) > 0.4
_BOOL_MASK[:, 0] = True
_FLOAT_MASK = _RNG.standard_normal((2, 1, 3, 5))


def _F(lib):
    return F if lib is ember else lib.nn.functional


def _sdpa(lib, q, k, v, **kw):
    return _F(lib).scaled_dot_product_attention(q, k, v, **kw)


# ----- scaled_dot_product_attention -----------------------------------------------------

def test_sdpa_without_mask_matches_torch():
    check_op(lambda lib, q, k, v: _sdpa(lib, q, k, v), (2, 2, 3, 4), (2, 2, 5, 4), (2, 2, 5, 6))


def test_sdpa_on_3d_input_matches_torch():
    check_op(lambda lib, q, k, v: _sdpa(lib, q, k, v), (2, 3, 4), (2, 5, 4), (2, 5, 3))


def test_sdpa_on_2d_input_matches_torch():
    check_op(lambda lib, q, k, v: _sdpa(lib, q, k, v), (3, 4), (5, 4), (5, 2))


def test_sdpa_broadcasts_batch_dims_like_torch():
    check_op(lambda lib, q, k, v: _sdpa(lib, q, k, v), (1, 3, 4), (2, 5, 4), (2, 5, 4))


def test_sdpa_bool_mask_true_takes_part_matches_torch():
    check_op(lambda lib, q, k, v: _sdpa(lib, q, k, v, attn_mask=lib.tensor(_BOOL_MASK)),
             (2, 3, 4), (2, 5, 4), (2, 5, 4))


def test_sdpa_float_mask_is_added_matches_torch():
    check_op(lambda lib, q, k, v: _sdpa(
        lib, q, k, v, attn_mask=lib.tensor(_FLOAT_MASK, dtype=q.dtype)),
        (2, 2, 3, 4), (2, 2, 5, 4), (2, 2, 5, 4))


def test_sdpa_gradient_of_float_mask_matches_torch():
    check_op(lambda lib, q, k, v, m: _sdpa(lib, q, k, v, attn_mask=m), (2, 3, 4), (2, 5, 4),
             (2, 5, 4), (3, 5))


def test_sdpa_causal_matches_torch():
    check_op(lambda lib, q, k, v: _sdpa(lib, q, k, v, is_causal=True), (2, 4, 3), (2, 4, 3),
             (2, 4, 3))


def test_sdpa_causal_with_more_keys_than_queries_is_top_left_aligned_like_torch():
    check_op(lambda lib, q, k, v: _sdpa(lib, q, k, v, is_causal=True), (2, 3, 4), (2, 5, 4),
             (2, 5, 4))


def test_sdpa_scale_matches_torch():
    check_op(lambda lib, q, k, v: _sdpa(lib, q, k, v, scale=0.3), (2, 3, 4), (2, 5, 4),
             (2, 5, 4))


def test_sdpa_grouped_query_attention_matches_torch():
    check_op(lambda lib, q, k, v: _sdpa(lib, q, k, v, enable_gqa=True), (1, 4, 3, 2),
             (1, 2, 5, 2), (1, 2, 5, 3))


def test_sdpa_grouped_query_attention_with_per_head_mask_matches_torch():
    mask = _RNG.random((4, 3, 5)) > 0.3
    mask[..., 0] = True
    check_op(lambda lib, q, k, v: _sdpa(lib, q, k, v, attn_mask=lib.tensor(mask),
                                        enable_gqa=True),
             (1, 4, 3, 2), (1, 2, 5, 2), (1, 2, 5, 3))


def test_sdpa_fully_masked_rows_give_zeros_and_zero_grads_like_torch():
    mask = np.ones((3, 5), bool)
    mask[1] = False
    check_op(lambda lib, q, k, v: _sdpa(lib, q, k, v, attn_mask=lib.tensor(mask)),
             (2, 3, 4), (2, 5, 4), (2, 5, 4))
    q = ember.randn(2, 3, 4, requires_grad=True)
    out = F.scaled_dot_product_attention(q, q, q, attn_mask=ember.tensor(mask[:, :3]))
    out.sum().backward()
    assert not out[:, 1].detach().numpy().any()
    assert np.isfinite(q.grad.numpy()).all()
    assert np.isfinite(out.detach().numpy()).all()


def test_sdpa_is_one_node():
    q = ember.randn(2, 3, 4, requires_grad=True)
    out = F.scaled_dot_product_attention(q, q, q)
    assert grad_fn_name(out) == "ScaledDotProductFlashAttentionForCpuBackward0"
    assert len(out.grad_fn.next_functions) == 4


def test_sdpa_untracked_under_no_grad():
    q = ember.randn(2, 3, 4, requires_grad=True)
    with ember.no_grad():
        out = F.scaled_dot_product_attention(q, q, q)
    assert out.grad_fn is None and not out.requires_grad


def test_sdpa_second_backward_raises_without_retain_graph():
    q = ember.randn(2, 3, 4, requires_grad=True)
    out = F.scaled_dot_product_attention(q, q, q).sum()
    out.backward()
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        out.backward()


def test_sdpa_dropout_is_reproducible_with_manual_seed():
    q = ember.randn(2, 4, 3)
    ember.manual_seed(3)
    a = F.scaled_dot_product_attention(q, q, q, dropout_p=0.5)
    ember.manual_seed(3)
    b = F.scaled_dot_product_attention(q, q, q, dropout_p=0.5)
    c = F.scaled_dot_product_attention(q, q, q)
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert not np.allclose(a.numpy(), c.numpy())


def test_sdpa_dropout_scales_kept_probabilities():
    # Uniform attention over 400 keys of value 1: the output is the kept fraction / (1 - p).
    q = ember.zeros(1, 1, 2)
    k = ember.zeros(1, 400, 2)
    v = ember.ones(1, 400, 1)
    out = F.scaled_dot_product_attention(q, k, v, dropout_p=0.25).item()
    assert abs(out - 1.0) < 0.15


def test_sdpa_dropout_one_gives_zeros():
    q = ember.randn(2, 3, 4)
    assert not F.scaled_dot_product_attention(q, q, q, dropout_p=1.0).numpy().any()


def test_sdpa_with_dropout_passes_gradcheck_and_gradgradcheck():
    rng = np.random.default_rng(0)
    inputs = [ember.tensor(rng.standard_normal(s), requires_grad=True)
              for s in ((2, 3, 4), (2, 5, 4), (2, 5, 3))]

    def fn(q, k, v):
        ember.manual_seed(0)  # the same dropout mask at every evaluation
        return F.scaled_dot_product_attention(q, k, v, dropout_p=0.3)

    assert gradcheck(fn, inputs)
    assert gradgradcheck(fn, inputs)


def test_sdpa_float64_bool_mask_passes_gradgradcheck():
    rng = np.random.default_rng(1)
    inputs = [ember.tensor(rng.standard_normal(s), requires_grad=True)
              for s in ((3, 4), (5, 4), (5, 2))]
    mask = ember.tensor(_BOOL_MASK)
    assert gradgradcheck(lambda q, k, v: F.scaled_dot_product_attention(q, k, v, mask), inputs)


def test_sdpa_explicit_mask_with_is_causal_raises_like_torch():
    q = ember.randn(2, 3, 4)
    with pytest.raises(RuntimeError, match="Explicit attn_mask should not be set when "
                                           "is_causal=True"):
        F.scaled_dot_product_attention(q, q, q, attn_mask=ember.ones(3, 3), is_causal=True)


def test_sdpa_mixed_dtypes_raise_like_torch():
    q = ember.randn(2, 3, 4)
    with pytest.raises(RuntimeError, match="query.dtype: float key.dtype: double"):
        F.scaled_dot_product_attention(q, q.double(), q)


def test_sdpa_integer_mask_raises_like_torch():
    q = ember.randn(2, 3, 4)
    with pytest.raises(RuntimeError, match="attn_mask dtype to be bool or float"):
        F.scaled_dot_product_attention(q, q, q, attn_mask=ember.zeros(3, 3, dtype=ember.int64))


def test_sdpa_1d_inputs_raise_like_torch():
    q = ember.randn(4)
    with pytest.raises(RuntimeError, match="at least 2 dimensional"):
        F.scaled_dot_product_attention(q, q, q)


def test_sdpa_embedding_mismatch_names_shapes():
    with pytest.raises(RuntimeError, match=r"query of shape \[3, 4\] and key of shape \[5, 2\]"):
        F.scaled_dot_product_attention(ember.randn(3, 4), ember.randn(5, 2), ember.randn(5, 2))


def test_sdpa_unbroadcastable_mask_raises_like_torch():
    q = ember.randn(2, 3, 4)
    with pytest.raises(RuntimeError, match="must match the size of tensor b"):
        F.scaled_dot_product_attention(q, q, q, attn_mask=ember.zeros(4, 3))


def test_sdpa_gqa_heads_must_divide():
    q, k = ember.randn(1, 6, 3, 2), ember.randn(1, 4, 3, 2)
    with pytest.raises(RuntimeError, match="must divide the number of heads in query"):
        F.scaled_dot_product_attention(q, k, k, enable_gqa=True)


# ----- MultiheadAttention ---------------------------------------------------------------

def _torch():
    return pytest.importorskip("torch")


def copy_weights(e_mod, t_mod) -> None:
    """Load the ember module's parameters into the torch module (same names, same order)."""
    torch = _torch()
    e_params = dict(e_mod.named_parameters())
    t_params = dict(t_mod.named_parameters())
    assert list(e_params) == list(t_params)
    with torch.no_grad():
        for name, p in e_params.items():
            t_params[name].copy_(torch.from_numpy(p.detach().numpy().copy()))


def _outputs(out) -> tuple:
    return tuple(o for o in (out if isinstance(out, tuple) else (out,)) if o is not None)


def compare_modules(e_mod, t_mod, shapes, masks=None, call=None, seed: int = 0,
                    atol: float = 2e-5) -> None:
    """Same weights and inputs (each shape an input; an int repeats that earlier input,
    so self-attention keeps `query is key is value`): outputs agree, and so do the
    gradients of the inputs and parameters under a random probe of every output."""
    torch = _torch()
    copy_weights(e_mod, t_mod)
    rng = np.random.default_rng(seed)
    e_in, t_in = [], []
    for s in shapes:
        if isinstance(s, int):
            e_in.append(e_in[s])
            t_in.append(t_in[s])
            continue
        a = rng.uniform(-2, 2, s).astype(np.float32)
        e_in.append(ember.tensor(a, requires_grad=True))
        t_in.append(torch.tensor(a, requires_grad=True))
    masks = masks or {}
    e_kw = {k: ember.tensor(v) for k, v in masks.items()}
    t_kw = {k: torch.tensor(v) for k, v in masks.items()}
    e_out = _outputs(e_mod(*e_in, **e_kw, **(call or {})))
    t_out = _outputs(t_mod(*t_in, **t_kw, **(call or {})))
    assert len(e_out) == len(t_out)
    e_loss = t_loss = 0
    for e, t in zip(e_out, t_out):
        assert tuple(e.shape) == tuple(t.shape)
        np.testing.assert_allclose(e.detach().numpy(), t.detach().numpy(), atol=atol,
                                   rtol=1e-4)
        probe = rng.standard_normal(tuple(t.shape)).astype(np.float32)
        e_loss = e_loss + (e * ember.tensor(probe)).sum()
        t_loss = t_loss + (t * torch.tensor(probe)).sum()
    e_loss.backward()
    t_loss.backward()
    for e, t in zip(e_in, t_in):
        np.testing.assert_allclose(e.grad.numpy(), t.grad.numpy(), atol=atol * 10, rtol=1e-3)
    t_params = dict(t_mod.named_parameters())
    for name, p in e_mod.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), t_params[name].grad.numpy(),
                                   atol=atol * 10, rtol=1e-3, err_msg=name)


def _mha_pair(**kw):
    torch = _torch()
    return nn.MultiheadAttention(**kw), torch.nn.MultiheadAttention(**kw)


_KPM = np.zeros((3, 6), bool)
_KPM[0, 4:] = True
_KPM[2, 0] = True
_ATTN = _RNG.random((5, 6)) > 0.7


def test_mha_parameter_names_and_shapes_match_torch():
    e, t = _mha_pair(embed_dim=8, num_heads=2)
    assert [(n, tuple(p.shape)) for n, p in e.named_parameters()] == [
        (n, tuple(p.shape)) for n, p in t.named_parameters()]


def test_mha_separate_projection_names_match_torch_when_kdim_vdim_differ():
    e, t = _mha_pair(embed_dim=8, num_heads=2, kdim=5, vdim=3, add_bias_kv=True)
    assert [(n, tuple(p.shape)) for n, p in e.named_parameters()] == [
        (n, tuple(p.shape)) for n, p in t.named_parameters()]
    assert e.in_proj_weight is None and e.q_proj_weight is not None


def test_mha_init_is_xavier_uniform_with_zero_biases():
    ember.manual_seed(0)
    mha = nn.MultiheadAttention(64, 4)
    w = mha.in_proj_weight.detach().numpy()
    bound = np.sqrt(6.0 / (64 + 3 * 64))
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.9 * bound
    assert not mha.in_proj_bias.detach().numpy().any()
    assert not mha.out_proj.bias.detach().numpy().any()


def test_mha_state_dict_from_torch_loads():
    torch = _torch()
    t = torch.nn.MultiheadAttention(8, 2)
    e = nn.MultiheadAttention(8, 2)
    e.load_state_dict({k: ember.tensor(v.detach().numpy()) for k, v in t.state_dict().items()})
    np.testing.assert_array_equal(e.in_proj_weight.detach().numpy(),
                                  t.in_proj_weight.detach().numpy())


def test_mha_self_attention_matches_torch():
    compare_modules(*_mha_pair(embed_dim=8, num_heads=2), [(5, 3, 8), 0, 0])


def test_mha_batch_first_matches_torch():
    compare_modules(*_mha_pair(embed_dim=8, num_heads=2, batch_first=True), [(3, 5, 8), 0, 0])


def test_mha_batch_first_without_weights_matches_torch():
    compare_modules(*_mha_pair(embed_dim=8, num_heads=2, batch_first=True), [(3, 5, 8), 0, 0],
                    call={"need_weights": False})


def test_mha_need_weights_false_returns_none():
    mha = nn.MultiheadAttention(8, 2)
    x = ember.randn(4, 2, 8)
    assert mha(x, x, x, need_weights=False)[1] is None


def test_mha_cross_attention_with_per_head_weights_matches_torch():
    compare_modules(*_mha_pair(embed_dim=8, num_heads=2), [(5, 3, 8), (6, 3, 8), (6, 3, 8)],
                    call={"average_attn_weights": False})


def test_mha_averaged_weights_have_shape_n_l_s():
    mha = nn.MultiheadAttention(8, 2)
    q, kv = ember.randn(5, 3, 8), ember.randn(6, 3, 8)
    _, w = mha(q, kv, kv)
    assert tuple(w.shape) == (3, 5, 6)
    np.testing.assert_allclose(w.sum(-1).detach().numpy(), np.ones((3, 5)), rtol=1e-5)


def test_mha_key_padding_mask_matches_torch():
    compare_modules(*_mha_pair(embed_dim=8, num_heads=2), [(5, 3, 8), (6, 3, 8), (6, 3, 8)],
                    masks={"key_padding_mask": _KPM})


def test_mha_key_padding_mask_without_weights_matches_torch():
    compare_modules(*_mha_pair(embed_dim=8, num_heads=2), [(5, 3, 8), (6, 3, 8), (6, 3, 8)],
                    masks={"key_padding_mask": _KPM}, call={"need_weights": False})


def test_mha_bool_attn_mask_and_key_padding_mask_match_torch():
    compare_modules(*_mha_pair(embed_dim=8, num_heads=2), [(5, 3, 8), (6, 3, 8), (6, 3, 8)],
                    masks={"attn_mask": _ATTN, "key_padding_mask": _KPM})


def test_mha_float_3d_attn_mask_without_weights_matches_torch():
    mask = _RNG.standard_normal((6, 5, 6)).astype(np.float32)
    compare_modules(*_mha_pair(embed_dim=8, num_heads=2), [(5, 3, 8), (6, 3, 8), (6, 3, 8)],
                    masks={"attn_mask": mask}, call={"need_weights": False})


def test_mha_float_2d_attn_mask_with_weights_matches_torch():
    mask = _RNG.standard_normal((5, 6)).astype(np.float32)
    compare_modules(*_mha_pair(embed_dim=8, num_heads=2), [(5, 3, 8), (6, 3, 8), (6, 3, 8)],
                    masks={"attn_mask": mask})


def test_mha_causal_hint_with_mask_matches_torch():
    causal = np.triu(np.full((5, 5), -np.inf, np.float32), 1)
    compare_modules(*_mha_pair(embed_dim=8, num_heads=2), [(5, 3, 8), 0, 0],
                    masks={"attn_mask": causal}, call={"need_weights": False, "is_causal": True})


def test_mha_kdim_vdim_match_torch():
    compare_modules(*_mha_pair(embed_dim=8, num_heads=2, kdim=5, vdim=3),
                    [(5, 3, 8), (6, 3, 5), (6, 3, 3)])


def test_mha_kdim_vdim_batch_first_without_weights_match_torch():
    compare_modules(*_mha_pair(embed_dim=8, num_heads=2, kdim=5, vdim=3, batch_first=True),
                    [(3, 5, 8), (3, 6, 5), (3, 6, 3)], call={"need_weights": False})


def test_mha_bias_kv_and_zero_attn_match_torch():
    compare_modules(*_mha_pair(embed_dim=8, num_heads=2, add_bias_kv=True, add_zero_attn=True),
                    [(5, 3, 8), (6, 3, 8), (6, 3, 8)],
                    masks={"attn_mask": _ATTN, "key_padding_mask": _KPM})


def test_mha_without_bias_matches_torch():
    compare_modules(*_mha_pair(embed_dim=8, num_heads=4, bias=False), [(5, 3, 8), 0, 0])


def test_mha_unbatched_input_matches_torch():
    compare_modules(*_mha_pair(embed_dim=8, num_heads=4), [(5, 8), (6, 8), (6, 8)],
                    masks={"key_padding_mask": _KPM[0]})


def test_mha_dropout_only_in_training():
    mha = nn.MultiheadAttention(8, 2, dropout=0.5)
    x = ember.randn(5, 3, 8)
    mha.eval()
    a, b = mha(x, x, x)[0], mha(x, x, x)[0]
    np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())
    mha.train()
    c = mha(x, x, x)[0]
    assert not np.allclose(a.detach().numpy(), c.detach().numpy())


def test_mha_is_causal_without_mask_raises_like_torch():
    mha = nn.MultiheadAttention(8, 2)
    x = ember.randn(5, 3, 8)
    with pytest.raises(RuntimeError, match="Need attn_mask if specifying the is_causal hint"):
        mha(x, x, x, is_causal=True)


def test_mha_embed_dim_not_divisible_raises_like_torch():
    with pytest.raises(AssertionError, match="embed_dim must be divisible by num_heads"):
        nn.MultiheadAttention(7, 2)


def test_mha_wrong_2d_mask_shape_raises_like_torch():
    mha = nn.MultiheadAttention(8, 2)
    x = ember.randn(3, 2, 8)
    with pytest.raises(RuntimeError, match=r"The shape of the 2D attn_mask is .*\[2, 3\].*, "
                                           r"but should be \(3, 3\)"):
        mha(x, x, x, attn_mask=ember.zeros(2, 3))


def test_mha_key_padding_mask_of_ints_raises_like_torch():
    mha = nn.MultiheadAttention(8, 2)
    x = ember.randn(3, 2, 8)
    with pytest.raises(AssertionError, match="only bool and floating types of key_padding_mask"):
        mha(x, x, x, key_padding_mask=ember.zeros(2, 3, dtype=ember.int64))


def test_mha_batched_query_with_2d_key_raises_like_torch():
    mha = nn.MultiheadAttention(8, 2)
    x = ember.randn(3, 2, 8)
    with pytest.raises(AssertionError, match="expected `key` and `value` to be 3-D"):
        mha(x, x[0], x[0])


def test_mha_wrong_embed_dim_raises_like_torch():
    mha = nn.MultiheadAttention(8, 2)
    x = ember.randn(3, 2, 6)
    with pytest.raises(AssertionError, match="was expecting embedding dimension of 8, but got 6"):
        mha(x, x, x)


def test_mha_mismatched_mask_types_warn_like_torch():
    mha = nn.MultiheadAttention(8, 2)
    x = ember.randn(3, 2, 8)
    with pytest.warns(UserWarning, match="mismatched key_padding_mask and attn_mask"):
        mha(x, x, x, key_padding_mask=ember.zeros(2, 3, dtype=ember.bool),
            attn_mask=ember.zeros(3, 3))
