"""The Module API: registration, traversal, modes, freezing, state_dict/load_state_dict,
hooks, dtype moves, printing, containers and Parameter (reference section 14)."""

from __future__ import annotations

import copy
from collections import OrderedDict

import numpy as np
import pytest

import ember
import ember.nn as nn

torch = None
try:
    import torch
except ImportError:  # pragma: no cover - the repr comparisons skip without torch
    pass

needs_torch = pytest.mark.skipif(torch is None, reason="torch is the oracle")


def mlp(lib=ember):
    return lib.nn.Sequential(lib.nn.Linear(2, 3), lib.nn.ReLU(), lib.nn.Linear(3, 1))


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(OrderedDict(conv1=nn.Linear(4, 3), act=nn.ReLU()))
        self.head = nn.Linear(3, 2)
        self.register_buffer("steps", ember.zeros((), dtype=ember.int64))

    def forward(self, x):
        return self.head(self.features(x))


# ----- Parameter ----------------------------------------------------------------------

def test_parameter_is_a_leaf_tensor_that_requires_grad():
    p = nn.Parameter(ember.randn(3))
    assert isinstance(p, ember.Tensor) and p.is_leaf and p.requires_grad and p.grad_fn is None


def test_parameter_made_under_no_grad_still_requires_grad():
    with ember.no_grad():
        p = nn.Parameter(ember.randn(2))
    assert p.requires_grad and p.is_leaf


def test_parameter_shares_data_with_its_source():
    t = ember.zeros(3)
    p = nn.Parameter(t)
    assert p.data_ptr() == t.data_ptr()


def test_parameter_repr_matches_pytorch():
    assert repr(nn.Parameter(ember.tensor([1.0, 2.0]))) == (
        "Parameter containing:\ntensor([1., 2.], requires_grad=True)"
    )
    assert repr(nn.Parameter(ember.ones(2), requires_grad=False)) == (
        "Parameter containing:\ntensor([1., 1.])"
    )


def test_ops_on_a_parameter_give_plain_tensors():
    p = nn.Parameter(ember.ones(2))
    assert type(p * 2) is ember.Tensor


def test_integer_parameter_raises():
    with pytest.raises(RuntimeError, match="floating point"):
        nn.Parameter(ember.tensor([1, 2]))


def test_empty_parameter_is_a_zero_element_float_tensor():
    p = nn.Parameter()
    assert p.shape == (0,) and p.dtype == ember.float32


# ----- registration and attribute access ------------------------------------------------

def test_named_parameters_of_sequential_use_indices():
    assert [n for n, _ in mlp().named_parameters()] == ["0.weight", "0.bias", "2.weight",
                                                        "2.bias"]


def test_named_parameters_of_nested_modules_are_dotted():
    assert [n for n, _ in Net().named_parameters()] == [
        "features.conv1.weight", "features.conv1.bias", "head.weight", "head.bias"]


def test_shared_parameter_is_listed_once():
    a, b = nn.Linear(2, 2), nn.Linear(2, 2)
    b.weight = a.weight
    model = nn.Sequential(a, b)
    assert [n for n, _ in model.named_parameters()] == ["0.weight", "0.bias", "1.bias"]
    names = [n for n, _ in model.named_parameters(remove_duplicate=False)]
    assert names == ["0.weight", "0.bias", "1.weight", "1.bias"]


def test_parameters_without_recurse_are_the_modules_own():
    net = Net()
    assert list(net.parameters(recurse=False)) == []
    assert len(list(net.head.parameters(recurse=False))) == 2


def test_assigning_a_tensor_to_a_parameter_name_raises_type_error():
    layer = nn.Linear(2, 3)
    msg = r"cannot assign 'ember.FloatTensor' as parameter 'weight' \(ember.nn.Parameter"
    with pytest.raises(TypeError, match=msg):
        layer.weight = ember.ones(3, 2)


def test_assigning_none_to_a_parameter_keeps_the_slot():
    layer = nn.Linear(2, 3)
    layer.bias = None
    assert layer.bias is None and [n for n, _ in layer.named_parameters()] == ["weight"]


def test_parameter_before_init_raises_attribute_error():
    class Broken(nn.Module):
        def __init__(self):
            self.w = nn.Parameter(ember.ones(1))

    with pytest.raises(AttributeError, match=r"cannot assign parameters before Module.__init__"):
        Broken()


def test_register_buffer_name_errors_match_pytorch():
    m = nn.Linear(2, 2)
    with pytest.raises(KeyError) as err:
        m.register_buffer("a.b", ember.ones(1))
    assert err.value.args[0] == 'buffer name can\'t contain "."'
    with pytest.raises(KeyError) as err:
        m.register_buffer("weight", ember.ones(1))
    assert err.value.args[0] == "attribute 'weight' already exists"
    with pytest.raises(TypeError, match="cannot assign 'int' object to buffer 'x'"):
        m.register_buffer("x", 3)


def test_add_module_rejects_non_modules():
    with pytest.raises(TypeError, match="int is not a Module subclass"):
        nn.Module().add_module("x", 3)


def test_unknown_attribute_raises_attribute_error_with_class_name():
    with pytest.raises(AttributeError, match="'Linear' object has no attribute 'nothing'"):
        nn.Linear(2, 2).nothing  # noqa: B018


def test_delattr_removes_a_registered_parameter():
    layer = nn.Linear(2, 2)
    del layer.bias
    assert [n for n, _ in layer.named_parameters()] == ["weight"]


def test_non_persistent_buffer_is_a_buffer_but_not_in_state_dict():
    m = nn.Module()
    m.register_buffer("kept", ember.ones(1))
    m.register_buffer("scratch", ember.zeros(1), persistent=False)
    assert [n for n, _ in m.named_buffers()] == ["kept", "scratch"]
    assert list(m.state_dict()) == ["kept"]


def test_assigning_a_tensor_to_a_buffer_name_replaces_the_buffer():
    m = nn.Module()
    m.register_buffer("b", ember.ones(1))
    m.b = ember.zeros(2)
    assert m.b.shape == (2,) and "b" in dict(m.named_buffers())


def test_buffer_wrapper_registers_a_buffer():
    m = nn.Module()
    m.stat = nn.Buffer(ember.ones(2), persistent=False)
    assert [n for n, _ in m.named_buffers()] == ["stat"] and list(m.state_dict()) == []


def test_module_without_forward_raises_not_implemented():
    with pytest.raises(NotImplementedError, match=r'Module \[Module\] is missing the required'):
        nn.Module()(1)


def test_dir_lists_parameters_and_children():
    names = dir(Net())
    assert {"features", "head", "steps", "forward"} <= set(names)


# ----- traversal --------------------------------------------------------------------

def test_named_modules_children_and_apply_order():
    net = Net()
    assert [n for n, _ in net.named_modules()] == ["", "features", "features.conv1",
                                                   "features.act", "head"]
    assert [n for n, _ in net.named_children()] == ["features", "head"]
    seen = []
    net.apply(lambda m: seen.append(type(m).__name__))
    assert seen == ["Linear", "ReLU", "Sequential", "Linear", "Net"]


def test_get_submodule_and_get_parameter():
    net = Net()
    assert net.get_submodule("features.conv1") is net.features.conv1
    assert net.get_parameter("head.bias") is net.head.bias
    with pytest.raises(AttributeError, match="Linear has no attribute `zz`"):
        net.get_submodule("head.zz")
    with pytest.raises(AttributeError, match="`steps` is not an nn.Parameter"):
        net.get_parameter("steps")


# ----- modes ------------------------------------------------------------------------

def test_eval_does_not_disable_grad():
    model = nn.Linear(2, 2).eval()
    out = model(ember.randn(1, 2))
    assert out.requires_grad and type(out.grad_fn).__name__ == "AddmmBackward0"
    assert ember.is_grad_enabled()


def test_train_and_eval_return_self_and_recurse():
    net = Net()
    assert net.eval() is net
    assert not net.training and not net.features.conv1.training
    assert net.train() is net and net.features.act.training


def test_model_train_reenables_a_child_put_in_eval():
    net = Net()
    net.features.eval()
    net.train()
    assert net.features.training and net.features.conv1.training


def test_train_with_non_bool_raises_value_error():
    with pytest.raises(ValueError, match="training mode is expected to be boolean"):
        nn.Linear(1, 1).train("no")


def test_no_grad_does_not_change_training_flag():
    model = nn.Linear(1, 1)
    with ember.no_grad():
        assert model.training


# ----- freezing -----------------------------------------------------------------------

def test_requires_grad_false_freezes_all_and_returns_self():
    model = mlp()
    assert model.requires_grad_(False) is model
    assert not any(p.requires_grad for p in model.parameters())


def test_partially_frozen_model_gives_frozen_params_no_grad():
    model = mlp()
    model[0].requires_grad_(False)
    model(ember.randn(4, 2)).sum().backward()
    assert model[0].weight.grad is None and model[0].bias.grad is None
    assert model[2].weight.grad is not None


def test_fully_frozen_model_output_is_untracked():
    model = mlp().requires_grad_(False)
    out = model(ember.randn(4, 2))
    assert not out.requires_grad and out.grad_fn is None


def test_fully_frozen_model_still_passes_grad_to_its_input():
    model = mlp().requires_grad_(False)
    x = ember.randn(4, 2, requires_grad=True)
    model(x).sum().backward()
    assert x.grad is not None and x.grad.shape == (4, 2)
    assert all(p.grad is None for p in model.parameters())


# ----- zero_grad --------------------------------------------------------------------

def test_zero_grad_sets_grads_to_none_by_default():
    model = mlp()
    model(ember.randn(3, 2)).sum().backward()
    model.zero_grad()
    assert all(p.grad is None for p in model.parameters())


def test_zero_grad_set_to_none_false_zeroes_the_same_tensors():
    model = mlp()
    model(ember.randn(3, 2)).sum().backward()
    grads = [p.grad for p in model.parameters()]
    model.zero_grad(set_to_none=False)
    for p, g in zip(model.parameters(), grads):
        assert p.grad is g and not g.numpy().any()


# ----- state_dict -----------------------------------------------------------------------

def test_state_dict_is_ordered_and_holds_detached_aliases():
    model = nn.Linear(2, 2)
    sd = model.state_dict()
    assert isinstance(sd, OrderedDict) and list(sd) == ["weight", "bias"]
    assert not sd["weight"].requires_grad
    assert sd["weight"].data_ptr() == model.weight.data_ptr()


def test_in_place_change_to_a_param_shows_in_an_earlier_state_dict():
    model = nn.Linear(2, 2)
    sd = model.state_dict()
    with ember.no_grad():
        model.weight.data.numpy()[...] = 7.0
    assert np.all(sd["weight"].numpy() == 7.0)


def test_state_dict_keep_vars_returns_the_parameters():
    model = nn.Linear(2, 2)
    assert model.state_dict(keep_vars=True)["weight"] is model.weight


def test_state_dict_includes_buffers_and_prefix():
    assert list(Net().state_dict(prefix="model.")) == [
        "model.steps", "model.features.conv1.weight", "model.features.conv1.bias",
        "model.head.weight", "model.head.bias"]


# ----- load_state_dict ------------------------------------------------------------------

def test_load_state_dict_copies_in_place_and_reports_all_keys_matched():
    src, dst = nn.Linear(2, 2), nn.Linear(2, 2)
    ptr = dst.weight.data_ptr()
    result = dst.load_state_dict(src.state_dict())
    assert repr(result) == "<All keys matched successfully>"
    assert dst.weight.data_ptr() == ptr
    np.testing.assert_array_equal(dst.weight.detach().numpy(), src.weight.detach().numpy())


def test_load_state_dict_keeps_flags_and_grads_and_leaves_source_independent():
    src, dst = nn.Linear(2, 2), nn.Linear(2, 2)
    dst.bias.requires_grad_(False)
    dst(ember.randn(1, 2)).sum().backward()
    grad = dst.weight.grad
    dst.load_state_dict(src.state_dict())
    assert not dst.bias.requires_grad and dst.weight.requires_grad
    assert dst.weight.grad is grad
    with ember.no_grad():
        src.weight.data.numpy()[...] = 0.0
    assert dst.weight.detach().numpy().any()


def test_load_state_dict_missing_key_message():
    sd = nn.Linear(2, 2).state_dict()
    del sd["bias"]
    with pytest.raises(RuntimeError) as err:
        nn.Linear(2, 2).load_state_dict(sd)
    assert str(err.value) == (
        'Error(s) in loading state_dict for Linear:\n\tMissing key(s) in state_dict: "bias". ')


def test_load_state_dict_unexpected_key_message():
    sd = nn.Linear(2, 2).state_dict()
    sd["extra"] = ember.ones(1)
    with pytest.raises(RuntimeError, match='Unexpected key\\(s\\) in state_dict: "extra". '):
        nn.Linear(2, 2).load_state_dict(sd)


def test_load_state_dict_size_mismatch_message():
    with pytest.raises(RuntimeError) as err:
        nn.Linear(2, 2).load_state_dict(nn.Linear(2, 3).state_dict())
    assert (
        "size mismatch for weight: copying a param with shape ember.Size([3, 2]) from "
        "checkpoint, the shape in current model is ember.Size([2, 2])."
    ) in str(err.value)


def test_failed_load_leaves_the_module_untouched():
    dst = mlp()
    before = [p.detach().numpy().copy() for p in dst.parameters()]
    sd = mlp().state_dict()
    sd["2.weight"] = ember.ones(5, 5)  # an error late in the traversal
    with pytest.raises(RuntimeError, match="size mismatch for 2.weight"):
        dst.load_state_dict(sd)
    for p, b in zip(dst.parameters(), before):
        np.testing.assert_array_equal(p.detach().numpy(), b)


def test_load_state_dict_non_strict_returns_the_keys():
    sd = nn.Linear(2, 2).state_dict()
    del sd["bias"]
    sd["extra"] = ember.ones(1)
    result = nn.Linear(2, 2).load_state_dict(sd, strict=False)
    assert result.missing_keys == ["bias"] and result.unexpected_keys == ["extra"]
    assert repr(result) == "_IncompatibleKeys(missing_keys=['bias'], unexpected_keys=['extra'])"


def test_load_state_dict_of_nested_model_with_buffers():
    src, dst = Net(), Net()
    src.steps.numpy()[...] = 5
    dst.load_state_dict(src.state_dict())
    assert dst.steps.item() == 5


def test_load_state_dict_rejects_non_mapping():
    with pytest.raises(TypeError, match="Expected state_dict to be dict-like"):
        nn.Linear(2, 2).load_state_dict([1])


def test_load_state_dict_casts_dtype_into_the_parameter():
    dst = nn.Linear(2, 2)
    dst.load_state_dict(nn.Linear(2, 2).double().state_dict())
    assert dst.weight.dtype == ember.float32


# ----- hooks --------------------------------------------------------------------------

def test_forward_pre_hook_can_replace_the_input_and_be_removed():
    layer = nn.Identity()
    handle = layer.register_forward_pre_hook(lambda m, args: (args[0] * 2,))
    assert layer(ember.tensor([1.0])).item() == 2.0
    handle.remove()
    assert layer(ember.tensor([1.0])).item() == 1.0


def test_forward_hook_sees_input_and_can_replace_output():
    layer = nn.Identity()
    seen = []

    def hook(module, args, output):
        seen.append((module, args[0].item()))
        return output + 1

    layer.register_forward_hook(hook)
    assert layer(ember.tensor([3.0])).item() == 4.0
    assert seen == [(layer, 3.0)]


def test_forward_hooks_run_in_order_and_prepend_goes_first():
    layer = nn.Identity()
    order = []
    layer.register_forward_hook(lambda m, a, o: order.append("a"))
    layer.register_forward_hook(lambda m, a, o: order.append("b"), prepend=True)
    layer(ember.ones(1))
    assert order == ["b", "a"]


def test_forward_pre_hook_with_kwargs():
    class Scale(nn.Module):
        def forward(self, x, factor=1.0):
            return x * factor

    layer = Scale()
    layer.register_forward_pre_hook(lambda m, args, kwargs: (args, {"factor": 3.0}),
                                    with_kwargs=True)
    assert layer(ember.ones(1)).item() == 3.0


# ----- dtype and device -------------------------------------------------------------

def test_to_float64_keeps_parameter_objects_and_casts_grads():
    model = Net()
    weight = model.head.weight
    model(ember.randn(2, 4)).sum().backward()
    assert model.to(ember.float64) is model
    assert model.head.weight is weight and weight.dtype == ember.float64
    assert weight.grad.dtype == ember.float64
    assert model.steps.dtype == ember.int64  # integer buffers are left alone
    assert model(ember.randn(2, 4, dtype=ember.float64)).dtype == ember.float64


def test_float_and_double_round_trip():
    model = nn.Linear(2, 2).double()
    assert model.weight.dtype == ember.float64
    assert model.float().weight.dtype == ember.float32


def test_to_cpu_is_a_no_op_and_other_devices_raise():
    model = nn.Linear(2, 2)
    assert model.to("cpu") is model and model.cpu() is model
    with pytest.raises(RuntimeError, match="CPU only"):
        model.to("cuda")


def test_to_integer_dtype_raises_type_error():
    with pytest.raises(TypeError, match="only accepts floating point"):
        nn.Linear(2, 2).to(ember.int64)


# ----- printing -----------------------------------------------------------------------

@needs_torch
def test_nested_repr_matches_pytorch():
    def build(lib):
        return lib.nn.Sequential(
            lib.nn.Linear(2, 3), lib.nn.ReLU(),
            lib.nn.Sequential(lib.nn.Dropout(0.3), lib.nn.Flatten()),
            lib.nn.ModuleDict({"x": lib.nn.Unflatten(1, (2, 5))}),
            lib.nn.ModuleList([lib.nn.Linear(2, 2) for _ in range(3)] + [lib.nn.Tanh()]),
        )

    assert repr(build(ember)) == repr(build(torch))


def test_custom_module_repr_uses_extra_repr():
    class Scale(nn.Module):
        def extra_repr(self):
            return "factor=2"

    assert repr(Scale()) == "Scale(factor=2)"


# ----- containers -----------------------------------------------------------------------

def test_sequential_indexing_slicing_len_and_iteration():
    model = mlp()
    assert isinstance(model[1], nn.ReLU) and model[-1] is model[2]
    part = model[1:]
    assert isinstance(part, nn.Sequential) and len(part) == 2
    assert [n for n, _ in part.named_children()] == ["1", "2"]
    assert [type(m).__name__ for m in model] == ["Linear", "ReLU", "Linear"]


def test_sequential_index_out_of_range_raises():
    with pytest.raises(IndexError, match="index 3 is out of range"):
        mlp()[3]


def test_sequential_append_and_delete_renumber():
    model = mlp().append(nn.Sigmoid())
    assert len(model) == 4
    del model[0]
    assert [n for n, _ in model.named_children()] == ["0", "1", "2"]
    assert isinstance(model[0], nn.ReLU)


def test_sequential_from_ordered_dict_keeps_names():
    model = nn.Sequential(OrderedDict(fc=nn.Linear(1, 1), act=nn.Tanh()))
    assert [n for n, _ in model.named_parameters()] == ["fc.weight", "fc.bias"]
    assert model.fc is model[0]


def test_module_list_registers_parameters_and_supports_list_ops():
    layers = nn.ModuleList([nn.Linear(2, 2)])
    layers.append(nn.Linear(2, 2))
    layers.extend([nn.ReLU()])
    layers += [nn.Linear(2, 1)]
    assert len(layers) == 4 and isinstance(layers[-1], nn.Linear)
    assert isinstance(layers[1:3], nn.ModuleList)
    assert [n for n, _ in layers.named_parameters()][-1] == "3.bias"


def test_module_list_is_not_callable():
    with pytest.raises(NotImplementedError, match="ModuleList"):
        nn.ModuleList()(1)


def test_module_dict_maps_names_to_modules():
    heads = nn.ModuleDict({"a": nn.Linear(2, 1), "b": nn.Linear(2, 3)})
    assert list(heads) == ["a", "b"] and "b" in heads and len(heads) == 2
    assert [n for n, _ in heads.named_parameters()] == ["a.weight", "a.bias", "b.weight",
                                                        "b.bias"]
    assert heads["b"].out_features == 3


def test_parameter_list_converts_tensors_and_registers_them():
    plist = nn.ParameterList([ember.ones(2), nn.Parameter(ember.zeros(3))])
    assert isinstance(plist[0], nn.Parameter) and len(plist) == 2
    assert [n for n, _ in plist.named_parameters()] == ["0", "1"]


@needs_torch
def test_parameter_list_repr_matches_pytorch_layout():
    text = repr(nn.ParameterList([ember.ones(2, 3)]))
    expected = repr(torch.nn.ParameterList([torch.ones(2, 3)])).replace("torch.", "ember.")
    assert text == expected


def test_parameter_dict_registers_named_parameters():
    pdict = nn.ParameterDict({"scale": ember.ones(1)})
    pdict["shift"] = nn.Parameter(ember.zeros(1))
    assert [n for n, _ in pdict.named_parameters()] == ["scale", "shift"]
    assert isinstance(pdict["scale"], nn.Parameter) and "shift" in pdict


# ----- copying ----------------------------------------------------------------------

def test_deepcopy_gives_independent_parameters_and_grads():
    model = mlp()
    clone = copy.deepcopy(model)
    assert clone[0].weight is not model[0].weight
    np.testing.assert_array_equal(clone[0].weight.detach().numpy(),
                                  model[0].weight.detach().numpy())
    clone(ember.randn(2, 2)).sum().backward()
    assert clone[0].weight.grad is not None
    assert model[0].weight.grad is None


@needs_torch
def test_parameter_list_of_two_repr_matches_pytorch():
    text = repr(nn.ParameterList([ember.ones(2, 3), ember.ones(2)]))
    expected = repr(torch.nn.ParameterList([torch.ones(2, 3), torch.ones(2)]))
    assert text == expected.replace("torch.", "ember.")
