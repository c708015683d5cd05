"""The reference ``minidl.init``, ``minidl.nn`` and batch norm of ``minidl.layers`` against
PyTorch, with edge cases and bad input."""
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from autograder.checks.a4_init_norm import torch_build, transposed_names
from autograder.probes.a4_init_norm import build, module
from minidl import init, layers, nn
from minidl.autograd import Tensor

torch.set_default_dtype(torch.float64)


def t(array, requires_grad=False):
    return torch.tensor(np.asarray(array, dtype=np.float64), requires_grad=requires_grad)


# ---------------------------------------------------------------- init


@pytest.mark.parametrize("name", ["linear", "sigmoid", "tanh", "relu"])
def test_gains_are_torchs(name):
    assert init.calculate_gain(name) == pytest.approx(torch.nn.init.calculate_gain(name))


def test_init_scales_match_torch_formulas():
    fan_in, fan_out = 400, 600
    cases = [
        (init.xavier_uniform(fan_in, fan_out, gain=2.0, rng=0),
         torch.nn.init.xavier_uniform_(torch.empty(fan_out, fan_in), gain=2.0)),
        (init.xavier_normal(fan_in, fan_out, rng=1),
         torch.nn.init.xavier_normal_(torch.empty(fan_out, fan_in))),
        (init.kaiming_uniform(fan_in, fan_out, rng=2),
         torch.nn.init.kaiming_uniform_(torch.empty(fan_out, fan_in), nonlinearity="relu")),
        (init.kaiming_normal(fan_in, fan_out, nonlinearity="tanh", mode="fan_out", rng=3),
         torch.nn.init.kaiming_normal_(torch.empty(fan_out, fan_in), nonlinearity="tanh",
                                       mode="fan_out")),
    ]
    for ours, theirs in cases:
        assert ours.shape == (fan_in, fan_out) and ours.dtype == np.float64
        assert ours.std() == pytest.approx(theirs.std().item(), rel=0.02)
        assert abs(ours.mean()) < 0.02 * ours.std()


def test_uniform_bounds_are_exact():
    bound = math.sqrt(6 / (30 + 50))
    w = init.xavier_uniform(30, 50, rng=0)
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.99 * bound
    w = init.kaiming_uniform(30, 50, mode="fan_out", rng=0)
    assert np.abs(w).max() <= math.sqrt(2) * math.sqrt(3 / 50)


def test_rng_semantics():
    assert np.array_equal(init.xavier_normal(5, 4, rng=3), init.xavier_normal(5, 4, rng=3))
    generator = np.random.default_rng(0)
    assert not np.array_equal(init.kaiming_normal(5, 4, rng=generator),
                              init.kaiming_normal(5, 4, rng=generator))
    assert not np.array_equal(init.kaiming_uniform(5, 4), init.kaiming_uniform(5, 4))
    assert np.array_equal(init.zeros(2, 3), np.zeros((2, 3)))
    assert np.array_equal(init.ones(2, 3), np.ones((2, 3)))


@pytest.mark.parametrize(("call", "message"), [
    (lambda: init.xavier_uniform(0, 3), "fan_in must be an integer >= 1"),
    (lambda: init.xavier_normal(3, 2.5), "fan_out must be an integer >= 1"),
    (lambda: init.xavier_normal(3, 2, gain=-1.0), "gain must be positive"),
    (lambda: init.kaiming_normal(3, 2, nonlinearity="gelu"), "nonlinearity must be one of"),
    (lambda: init.kaiming_uniform(3, 2, mode="both"), "mode must be one of"),
    (lambda: init.kaiming_uniform(3, 2, rng="seed"), "rng must be a numpy.random.Generator"),
    (lambda: init.kaiming_uniform(3, 2, rng=-1), "a seed must be an integer >= 0"),
    (lambda: init.xavier_uniform(3, 2, gain=math.inf), "gain must be a finite number"),
    (lambda: init.calculate_gain("selu"), "nonlinearity must be one of"),
])
def test_init_rejects_bad_input(call, message):
    with pytest.raises(ValueError, match=message):
        call()


# ---------------------------------------------------------------- modules vs torch


def copy_into_torch(ours, theirs):
    """Load our module's state into the equivalent torch module (Linear weights
    transposed)."""
    transposed = transposed_names(theirs)
    theirs.load_state_dict({k: t(v.T if k in transposed else v)
                            for k, v in ours.state_dict().items()}, strict=False)


def models(seed=0):
    """Our network and PyTorch's, built from one stack of the grader's vocabulary, with the
    same state."""
    stack = module(
        "Sequential", module("Linear", 5, 8, rng=seed), module("BatchNorm1d", 8, momentum=0.2),
        module("ReLU"),
        module("Residual", module("Sequential", module("Linear", 8, 8, bias=False, rng=seed + 1),
                                  module("LayerNorm", 8), module("Tanh"))),
        module("Linear", 8, 3, rng=seed + 2), module("Sigmoid"))
    ours, theirs = build(stack), torch_build(stack)
    copy_into_torch(ours, theirs)
    return ours, theirs


def test_network_matches_torch_in_train_and_eval_over_several_steps():
    ours, theirs = models()
    rng = np.random.default_rng(0)
    transposed = transposed_names(theirs)
    for _ in range(3):
        x = 2.0 + 3.0 * rng.standard_normal((10, 5))
        dout = rng.standard_normal((10, 3))
        xo, xt = Tensor(x, requires_grad=True), t(x, requires_grad=True)
        out_o, out_t = ours(xo), theirs(xt)
        np.testing.assert_allclose(out_o.data, out_t.detach().numpy(), rtol=1e-10, atol=1e-12)
        out_o.backward(dout)
        out_t.backward(t(dout))
        np.testing.assert_allclose(xo.grad, xt.grad.numpy(), rtol=1e-9, atol=1e-12)
        torch_grads = dict(theirs.named_parameters())
        for name, p in ours.named_parameters():
            expected = torch_grads[name].grad.numpy()
            np.testing.assert_allclose(p.grad, expected.T if name in transposed else expected,
                                       rtol=1e-9, atol=1e-12)
        ours.zero_grad()
        theirs.zero_grad()
    np.testing.assert_allclose(ours[1].running_var, theirs[1].running_var.numpy(), rtol=1e-12)
    np.testing.assert_allclose(ours[1].running_mean, theirs[1].running_mean.numpy(),
                               rtol=1e-12)
    ours.eval()
    theirs.eval()
    x = rng.standard_normal((1, 5))
    np.testing.assert_allclose(ours(x).data, theirs(t(x)).detach().numpy(), rtol=1e-10)


def as_float32(ours, theirs):
    """Both models in float32: ours through ``load_state_dict`` of float32 arrays (batch
    norm's buffers are updated in place and stay float64), PyTorch's with ``.float()``."""
    ours.load_state_dict({name: value.astype(np.float32)
                          for name, value in ours.state_dict().items()})
    return ours, theirs.float()


def test_float32_stays_float32_through_every_module_as_in_torch():
    ours, theirs = as_float32(*models())
    rng = np.random.default_rng(1)
    transposed = transposed_names(theirs)
    for _ in range(2):
        x = (2.0 + 3.0 * rng.standard_normal((10, 5))).astype(np.float32)
        dout = rng.standard_normal((10, 3)).astype(np.float32)
        xo, xt = Tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        out_o, out_t = ours(xo), theirs(xt)
        assert out_o.data.dtype == np.float32
        np.testing.assert_allclose(out_o.data, out_t.detach().numpy(), rtol=1e-5, atol=1e-6)
        out_o.backward(dout)
        out_t.backward(torch.tensor(dout))
        assert xo.grad.dtype == np.float32
        np.testing.assert_allclose(xo.grad, xt.grad.numpy(), rtol=1e-3, atol=1e-5)
        torch_grads = dict(theirs.named_parameters())
        for name, p in ours.named_parameters():
            expected = torch_grads[name].grad.numpy()
            assert p.data.dtype == p.grad.dtype == np.float32, name
            np.testing.assert_allclose(p.grad, expected.T if name in transposed else expected,
                                       rtol=1e-3, atol=1e-5)
        ours.zero_grad()
        theirs.zero_grad()
    np.testing.assert_allclose(ours[1].running_var, theirs[1].running_var.numpy(), rtol=1e-5)
    ours.eval()
    theirs.eval()
    x = rng.standard_normal((4, 5)).astype(np.float32)
    out = ours(x).data
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, theirs(torch.tensor(x)).detach().numpy(), rtol=1e-5,
                               atol=1e-6)


def test_dropout_keeps_float32():
    x = Tensor(np.ones((20, 30), dtype=np.float32), requires_grad=True)
    out = nn.Dropout(0.25, rng=0)(x)
    out.backward(np.ones(out.shape, dtype=np.float32))
    assert out.data.dtype == x.grad.dtype == np.float32
    np.testing.assert_allclose(out.data[out.data != 0], np.float32(1 / 0.75))
    np.testing.assert_array_equal(x.grad, out.data)  # d(x * mask / 0.75)/dx = mask / 0.75


def test_names_state_dict_and_modes():
    ours, theirs = models()
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    expected = [k for k in theirs.state_dict() if not k.endswith("num_batches_tracked")]
    assert list(ours.state_dict()) == expected
    assert len(ours.parameters()) == len(list(theirs.parameters()))
    assert ours.eval() is ours
    assert not ours[3].module[1].training
    ours.train()
    assert ours[3].module[1].training
    assert ours.zero_grad() is None


def test_state_dict_is_a_copy_and_round_trips():
    ours, _ = models()
    saved = ours.state_dict()
    ours(np.random.default_rng(0).standard_normal((4, 5)))  # changes the running stats
    ours[0].weight.data += 1
    assert not np.array_equal(saved["0.weight"], ours[0].weight.data)
    assert not np.array_equal(saved["1.running_mean"], ours[1].running_mean)
    fresh, _ = models(seed=5)
    buffer = fresh[1].running_mean
    fresh.load_state_dict(saved)
    assert fresh[1].running_mean is buffer  # loaded in place
    for key, value in fresh.state_dict().items():
        np.testing.assert_array_equal(value, saved[key])


def test_load_state_dict_is_strict_and_names_the_problem():
    model = nn.Sequential(nn.Linear(3, 2, rng=0), nn.BatchNorm1d(2))
    state = model.state_dict()
    with pytest.raises(ValueError, match=r"missing keys \['1.running_var'\]"):
        model.load_state_dict({k: v for k, v in state.items() if k != "1.running_var"})
    with pytest.raises(ValueError, match=r"unexpected keys \['2.weight'\]"):
        model.load_state_dict({**state, "2.weight": np.zeros(2)})
    with pytest.raises(ValueError, match=r"'0.weight' has shape \(2, 3\) in the state but "
                                         r"\(3, 2\)"):
        model.load_state_dict({**state, "0.weight": np.zeros((2, 3))})
    with pytest.raises(ValueError, match="must be a dict"):
        model.load_state_dict([1, 2])
    np.testing.assert_array_equal(model.state_dict()["0.weight"], state["0.weight"])


def test_linear_default_init_and_shapes():
    layer = nn.Linear(400, 300, rng=0)
    assert layer.weight.shape == (400, 300) and layer.bias.shape == (300,)
    assert layer.weight.requires_grad and layer.bias.requires_grad
    k = 1 / math.sqrt(400)
    for p in (layer.weight.data, layer.bias.data):
        assert np.abs(p).max() <= k and np.abs(p).max() > 0.9 * k
    assert layer.weight.data.var() == pytest.approx(k**2 / 3, rel=0.03)
    assert nn.Linear(3, 2, bias=False, rng=0).bias is None
    out = nn.Linear(3, 2, rng=0)(np.ones((4, 7, 3)))  # any leading dimensions
    assert out.shape == (4, 7, 2)


def test_dropout_statistics_scaling_and_modes():
    drop = nn.Dropout(0.25, rng=0)
    x = Tensor(np.ones((400, 500)), requires_grad=True)
    out = drop(x)
    kept = out.data != 0
    assert abs(kept.mean() - 0.75) < 0.01
    np.testing.assert_allclose(out.data[kept], 1 / 0.75)
    out.backward(np.ones(out.shape))
    np.testing.assert_allclose(x.grad, out.data)
    assert not np.array_equal(drop(x).data != 0, kept)  # a new mask every call
    drop.eval()
    assert drop(x) is x
    assert np.array_equal(nn.Dropout(0.0)(x).data, x.data)
    dropped = nn.Dropout(1.0)(x)
    assert np.array_equal(dropped.data, np.zeros_like(x.data))
    same = [nn.Dropout(0.5, rng=3)(np.ones(50)).data for _ in range(2)]
    np.testing.assert_array_equal(same[0], same[1])


def test_batchnorm1d_edge_cases():
    bn = nn.BatchNorm1d(3)
    with pytest.raises(ValueError, match="more than 1 sample"):
        bn(np.ones((1, 3)))
    with pytest.raises(ValueError, match=r"needs inputs of shape \(N, 3\)"):
        bn(np.ones((4, 2)))
    bn.eval()
    assert bn(np.ones((1, 3))).shape == (1, 3)  # eval mode is fine with one sample
    bn.train()
    x = np.column_stack([np.arange(4.0), np.full(4, 7.0), -np.arange(4.0)])
    out = bn(x).data
    assert np.all(np.isfinite(out)) and np.allclose(out[:, 1], 0)
    theirs = torch.nn.BatchNorm1d(3)
    theirs(t(x))
    np.testing.assert_allclose(bn.running_var, theirs.running_var.numpy())
    for kwargs, message in [({"eps": 0.0}, "eps must be"), ({"momentum": 1.5}, "momentum"),
                            ({"num_features": 0}, "num_features")]:
        with pytest.raises(ValueError, match=message):
            nn.BatchNorm1d(**{"num_features": 3, **kwargs})


def test_layernorm_matches_torch_on_3d_input_and_one_sample():
    rng = np.random.default_rng(0)
    for shape in [(2, 3, 4), (1, 4)]:
        ln = nn.LayerNorm((4,), eps=0.1)
        ln.weight.data = rng.standard_normal(4)
        ln.bias.data = rng.standard_normal(4)
        theirs = torch.nn.LayerNorm(4, eps=0.1)
        with torch.no_grad():
            theirs.weight.copy_(t(ln.weight.data))
            theirs.bias.copy_(t(ln.bias.data))
        x = 0.1 * rng.standard_normal(shape)
        xo, xt = Tensor(x, requires_grad=True), t(x, requires_grad=True)
        dout = rng.standard_normal(shape)
        ln(xo).backward(dout)
        out = theirs(xt)
        out.backward(t(dout))
        np.testing.assert_allclose(ln(x).data, out.detach().numpy(), rtol=1e-10)
        np.testing.assert_allclose(xo.grad, xt.grad.numpy(), rtol=1e-9, atol=1e-12)
    with pytest.raises(ValueError, match="4 features in the last dimension"):
        nn.LayerNorm(4)(np.ones((2, 5)))
    with pytest.raises(ValueError, match="tuple of one int"):
        nn.LayerNorm((2, 4))


@pytest.mark.parametrize(("call", "message"), [
    (lambda: nn.Linear(0, 3), "in_features must be an integer >= 1"),
    (lambda: nn.Linear(3, 2, rng=0)(np.ones((2, 4))), "3 features in the last dimension"),
    (lambda: nn.Linear(3, 2, rng=0)(np.array([[np.nan, 0, 0]])), "NaN"),
    (lambda: nn.Dropout(1.5), "p must be a number in"),
    (lambda: nn.Dropout(0.5, rng=1.5), "rng must be"),
    (lambda: nn.Sequential(nn.ReLU(), "relu"), "argument 1 is a str"),
    (lambda: nn.Residual(nn.Linear(3, 2, rng=0))(np.ones((2, 3))),
     r"output of Residual's module must have the input's shape \(2, 3\), got \(2, 2\)"),
    (lambda: nn.Module().train(1), "mode must be True or False"),
    (lambda: nn.Module().train(None), "mode must be True or False, got None"),
    (lambda: nn.Module()(np.ones(2)), "defines no forward"),
    (lambda: nn.Linear(3, True), "out_features must be an integer >= 1, got True"),
    (lambda: nn.Linear(3, 2, rng=0)(np.float64(1.0)), r"3 features .* got shape \(\)"),
    (lambda: nn.Dropout(math.nan), "p must be a finite number"),
    (lambda: nn.Dropout(-0.1), r"p must be a number in \[0, 1\], got -0.1"),
    (lambda: nn.BatchNorm1d(3, momentum=-0.5), r"momentum must be a number in \[0, 1\]"),
    (lambda: nn.BatchNorm1d(3, eps=math.inf), "eps must be a finite number"),
    (lambda: nn.BatchNorm1d(3.0), "num_features must be an integer >= 1, got 3.0"),
    (lambda: nn.LayerNorm(4, eps=-1e-5), "eps must be positive"),
    (lambda: nn.LayerNorm([0]), "normalized_shape must be an integer >= 1, got 0"),
    (lambda: nn.LayerNorm(()), "tuple of one int"),
    (lambda: nn.Residual(lambda x: x), "Residual takes Modules only; its argument 0 is a "
                                       "function, not a Module"),
    (lambda: nn.Sequential(nn.ReLU, nn.ReLU()), "argument 0 is a type"),
    (lambda: nn.BatchNorm1d(3)(np.ones((4, 3, 1))), r"needs inputs of shape \(N, 3\), got "
                                                    r"\(4, 3, 1\)"),
    (lambda: nn.Flatten()(np.float64(2.0)), r"at least 2 dimensions, got shape \(\)"),
    (lambda: nn.Conv2d(2, 4, 3, groups=0), "groups must be an integer >= 1, got 0"),
    (lambda: nn.Conv2d(0, 4, 3), "in_channels must be an integer >= 1"),
])
def test_modules_reject_bad_input(call, message):
    with pytest.raises((ValueError, NotImplementedError), match=message):
        call()


def test_modules_accept_the_edges_of_their_settings():
    # The ends of every range are allowed, as in PyTorch; the checks reject only outside them.
    x = np.arange(12.0).reshape(4, 3)
    for p in (0, 1, np.float32(0.5)):
        assert nn.Dropout(p).p == float(p)
    for momentum in (0, 1):
        bn = nn.BatchNorm1d(np.int64(3), eps=1e-300, momentum=momentum)
        bn(x)
        np.testing.assert_allclose(bn.running_mean, momentum * x.mean(axis=0))
    assert nn.LayerNorm([3]).normalized_shape == 3
    assert nn.Module().train(False).training is False
    np.testing.assert_array_equal(nn.Residual(nn.ReLU())(-x).data, -x)  # x + relu(x), x <= 0


def test_load_state_dict_names_every_problem_at_once():
    model = nn.Sequential(nn.Linear(3, 2, rng=0), nn.BatchNorm1d(2))
    state = model.state_dict()
    del state["1.bias"]
    state["0.weight"], state["extra"] = np.zeros((2, 3)), np.zeros(1)
    with pytest.raises(ValueError, match=r"^cannot load the state into Sequential: missing keys "
                                         r"\['1.bias'\]; unexpected keys \['extra'\]; "
                                         r"'0.weight' has shape \(2, 3\) in the state but "
                                         r"\(3, 2\) in the module$"):
        model.load_state_dict(state)
    with pytest.raises(ValueError, match=r"state\['0.bias'\] contains NaN"):
        model.load_state_dict({**model.state_dict(), "0.bias": np.array([0.0, np.nan])})


# ---------------------------------------------------------------- functional batch norm


def torch_batchnorm(x, gamma, beta, mean, var, train, momentum=0.1, eps=1e-5, dout=None):
    leaves = [t(a, requires_grad=True) for a in (x, gamma, beta)]
    running_mean, running_var = t(mean), t(var)
    out = F.batch_norm(leaves[0], running_mean, running_var, leaves[1], leaves[2],
                       training=train, momentum=momentum, eps=eps)
    out.backward(t(dout))
    return (out.detach().numpy(), [leaf.grad.numpy() for leaf in leaves],
            running_mean.numpy(), running_var.numpy())


@pytest.mark.parametrize(("n", "mode", "momentum"), [(8, "train", 0.1), (2, "train", 0.5),
                                                     (5, "eval", 0.1)])
def test_batchnorm_functions_match_torch(n, mode, momentum):
    rng = np.random.default_rng(n)
    x = 3 + 2 * rng.standard_normal((n, 4))
    gamma, beta, dout = rng.standard_normal(4), rng.standard_normal(4), rng.standard_normal(
        (n, 4))
    mean, var = rng.standard_normal(4), rng.uniform(0.5, 2, 4)
    bn_param = {"mode": mode, "momentum": momentum, "running_mean": mean.copy(),
                "running_var": var.copy()}
    running_mean = bn_param["running_mean"]
    out, cache = layers.batchnorm_forward(x, gamma, beta, bn_param)
    grads = layers.batchnorm_backward(dout, cache)
    expected, expected_grads, new_mean, new_var = torch_batchnorm(
        x, gamma, beta, mean, var, mode == "train", momentum, dout=dout)
    np.testing.assert_allclose(out, expected, rtol=1e-10, atol=1e-12)
    for got, want in zip(grads, expected_grads, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12)
    assert bn_param["running_mean"] is running_mean  # updated in place
    np.testing.assert_allclose(bn_param["running_mean"], new_mean, rtol=1e-12)
    np.testing.assert_allclose(bn_param["running_var"], new_var, rtol=1e-12)


def test_batchnorm_functions_create_statistics_and_agree_with_the_module():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((6, 3))
    bn_param = {"mode": "train"}
    out, _ = layers.batchnorm_forward(x, np.ones(3), np.zeros(3), bn_param)
    module = nn.BatchNorm1d(3)
    np.testing.assert_allclose(out, module(x).data, rtol=1e-12)
    np.testing.assert_allclose(bn_param["running_var"], module.running_var, rtol=1e-12)
    dout = rng.standard_normal((6, 3))
    dx = layers.batchnorm_backward(dout, layers.batchnorm_forward(
        x, np.ones(3), np.zeros(3), {"mode": "train"})[1])[0]
    numeric = layers.numerical_gradient(lambda v: np.sum(layers.batchnorm_forward(
        v, np.ones(3), np.zeros(3), {"mode": "train"})[0] * dout), x.copy())
    assert layers.rel_error(dx, numeric) < 1e-6


@pytest.mark.parametrize(("args", "message"), [
    ((np.ones((1, 3)), np.ones(3), np.zeros(3), {"mode": "train"}), "more than 1 sample"),
    ((np.ones((4, 3)), np.ones(2), np.zeros(3), {"mode": "train"}), r"gamma must have shape"),
    ((np.ones((4, 3)), np.ones(3), np.zeros(3), {"mode": "test"}),
     r"bn_param\['mode'\] must be one of 'train', 'eval'"),
    ((np.ones((4, 3)), np.ones(3), np.zeros(3), {"eps": -1.0}),
     r"bn_param\['eps'\] must be positive"),
    ((np.ones((4, 3)), np.ones(3), np.zeros(3), {"eps": math.nan}),
     r"bn_param\['eps'\] must be a finite number"),
    ((np.ones((4, 3)), np.ones(3), np.zeros(3), {"eps": "1e-5"}),
     r"bn_param\['eps'\] must be a finite number"),
    ((np.ones((4, 3)), np.ones(3), np.zeros(3), {"momentum": 1.5}),
     r"bn_param\['momentum'\] must be a number in \[0, 1\]"),
    ((np.ones((4, 3)), np.ones(3), np.zeros(3), {"running_var": [1.0, 1.0, 1.0]}),
     r"running_var'\] must be an array of shape \(3,\), got list"),
    ((np.ones((4, 3)), np.ones(3), np.zeros(3), {"running_mean": np.zeros(2)}),
     r"running_mean'\] must be an array of shape \(3,\)"),
    ((np.ones(3), np.ones(3), np.zeros(3), {}), r"x must have shape \(N, D\)"),
    ((np.ones((4, 3)), np.ones(3), np.zeros(3), "train"), "bn_param must be a dict"),
])
def test_batchnorm_forward_rejects_bad_input(args, message):
    with pytest.raises(ValueError, match=message):
        layers.batchnorm_forward(*args)


def test_batchnorm_backward_rejects_a_wrong_dout():
    _, cache = layers.batchnorm_forward(np.ones((4, 3)) + np.eye(4, 3), np.ones(3), np.zeros(3),
                                        {"mode": "train"})
    with pytest.raises(ValueError, match="dout must have the shape"):
        layers.batchnorm_backward(np.ones((4, 2)), cache)


@pytest.mark.parametrize("mode", ["train", "eval"])
def test_batchnorm_functions_keep_float32(mode):
    rng = np.random.default_rng(4)
    x, dout = (rng.standard_normal((6, 3)).astype(np.float32) for _ in range(2))
    gamma, beta = rng.standard_normal(3).astype(np.float32), np.zeros(3, np.float32)
    stats = {"running_mean": rng.standard_normal(3), "running_var": rng.random(3) + 0.5}
    bn_param = {"mode": mode, **{name: value.copy() for name, value in stats.items()}}
    out, cache = layers.batchnorm_forward(x, gamma, beta, bn_param)
    grads = layers.batchnorm_backward(dout, cache)
    assert out.dtype == np.float32 and all(g.dtype == np.float32 for g in grads)
    expected_out, expected_grads = torch_batchnorm(x, gamma, beta, stats["running_mean"],
                                                   stats["running_var"], mode == "train",
                                                   dout=dout)[:2]
    np.testing.assert_allclose(out, expected_out, rtol=1e-4, atol=1e-5)
    for got, want in zip(grads, expected_grads, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-3, atol=1e-4)
