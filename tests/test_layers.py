"""The reference minidl.layers against PyTorch, hand-derived values and bad input.

The PyTorch side is the grader's: the layers, MLP stacks and functions of the vocabulary in
``autograder.probes.a2_backprop`` run on PyTorch (``autograder.checks.a2_backprop``), so these
tests check that vocabulary too.
"""
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from autograder.checks.a2_backprop import TORCH, MLPCase, autograd_gradient, torch_layer, torch_mlp
from autograder.probes.a2_backprop import FUNCTIONS, LAYERS
from autograder.reference import Reference
from course.datasets import load_digits
from minidl import layers, linear

REF = Reference("cpu")
ACTIVATIONS = ("relu", "sigmoid", "tanh")


@pytest.fixture(autouse=True)
def warnings_are_errors():
    """An overflow anywhere in the reference is a bug: make every warning fail the test."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


def torch_linear(x, W, b, dout):
    """F.linear itself (not the vocabulary's formula), in the dtype of the inputs."""
    x_t, W_t, b_t = (torch.tensor(a, requires_grad=True) for a in (x, W, b))
    out = F.linear(x_t.reshape(x.shape[0], -1), W_t.T, b_t)
    out.backward(torch.tensor(dout))
    return out.detach().numpy(), x_t.grad.numpy(), W_t.grad.numpy(), b_t.grad.numpy()


def test_the_graders_linear_layer_is_f_linear():
    rng = np.random.default_rng(4)
    x, W, b, dout = (rng.standard_normal(s) for s in ((3, 2, 2), (4, 5), (5,), (3, 5)))
    out, grads = torch_layer(REF, "linear", (x, W, b), dout)
    for got, want in zip((out, *grads), torch_linear(x, W, b, dout), strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-14, atol=1e-14)


@st.composite
def linear_cases(draw):
    sample_shape = tuple(draw(st.lists(st.integers(1, 4), min_size=1, max_size=3)))
    n_samples, n_out = draw(st.integers(1, 6)), draw(st.integers(1, 5))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    x = rng.standard_normal((n_samples, *sample_shape))
    W = rng.standard_normal((int(np.prod(sample_shape)), n_out))
    return x, W, rng.standard_normal(n_out), rng.standard_normal((n_samples, n_out))


@settings(max_examples=60, deadline=None)
@given(case=linear_cases())
def test_linear_matches_torch_for_inputs_of_any_rank(case):
    x, W, b, dout = case
    expected_out, expected_dx, expected_dW, expected_db = torch_linear(x, W, b, dout)
    out, cache = layers.linear_forward(x, W, b)
    dx, dW, db = layers.linear_backward(dout, cache)
    np.testing.assert_allclose(out, expected_out, rtol=1e-12, atol=1e-12)
    assert dx.shape == x.shape and dW.shape == W.shape and db.shape == b.shape
    np.testing.assert_allclose(dx, expected_dx, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(dW, expected_dW, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(db, expected_db, rtol=1e-12, atol=1e-12)


def test_linear_by_hand():
    x = np.array([[1.0, 2.0], [3.0, -1.0]])
    W = np.array([[1.0, 0.0, 2.0], [-1.0, 1.0, 0.5]])
    b = np.array([0.5, 0.0, -1.0])
    out, cache = layers.linear_forward(x, W, b)
    np.testing.assert_array_equal(out, [[-0.5, 2.0, 2.0], [4.5, -1.0, 4.5]])
    dx, dW, db = layers.linear_backward(np.ones((2, 3)), cache)
    np.testing.assert_array_equal(dx, [[3.0, 0.5], [3.0, 0.5]])   # row sums of W
    np.testing.assert_array_equal(dW, [[4.0, 4.0, 4.0], [1.0, 1.0, 1.0]])  # column sums of x
    np.testing.assert_array_equal(db, [2.0, 2.0, 2.0])              # N


@st.composite
def activation_cases(draw):
    shape = tuple(draw(st.lists(st.integers(1, 5), min_size=1, max_size=3)))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    x = draw(st.sampled_from([1.0, 5.0, 50.0])) * rng.standard_normal(shape)
    return x, rng.standard_normal(shape)


@pytest.mark.parametrize("name", ACTIVATIONS)
@settings(max_examples=40, deadline=None)
@given(case=activation_cases())
def test_activations_match_torch(name, case):
    x, dout = case
    expected_out, (expected_dx,) = torch_layer(REF, name, (x,), dout)
    out, cache = getattr(layers, f"{name}_forward")(x)
    dx = getattr(layers, f"{name}_backward")(dout, cache)
    np.testing.assert_allclose(out, expected_out, rtol=1e-13, atol=1e-300)
    # 1 - tanh(x)**2 cancels near saturation, so the gradients agree a little less closely.
    np.testing.assert_allclose(dx, expected_dx, rtol=1e-10, atol=1e-15)


def test_relu_gradient_is_exactly_zero_at_zero():
    x = np.array([[0.0, -0.0, 2.0], [-3.0, 0.0, 1e-300]])
    dout = np.array([[5.0, 6.0, 7.0], [8.0, 9.0, 10.0]])
    out, cache = layers.relu_forward(x)
    np.testing.assert_array_equal(out, [[0.0, 0.0, 2.0], [0.0, 0.0, 1e-300]])
    np.testing.assert_array_equal(layers.relu_backward(dout, cache),
                                  [[0.0, 0.0, 7.0], [0.0, 0.0, 10.0]])
    np.testing.assert_array_equal(torch_layer(REF, "relu", (x,), dout)[1][0],
                                  [[0.0, 0.0, 7.0], [0.0, 0.0, 10.0]])


@pytest.mark.parametrize("name", ["sigmoid", "tanh"])
def test_saturating_activations_are_exact_without_warnings_at_1e3(name):
    x = np.array([-1e3, -750.0, -710.0, -40.0, 0.0, 40.0, 710.0, 750.0, 1e3])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        out, cache = getattr(layers, f"{name}_forward")(x)
        dx = getattr(layers, f"{name}_backward")(np.ones_like(x), cache)
    expected_out, (expected_dx,) = torch_layer(REF, name, (x,), np.ones_like(x))
    # atol: sigmoid(-710) = 4.5e-309 is subnormal; PyTorch flushes it to 0.
    np.testing.assert_allclose(out, expected_out, rtol=1e-15, atol=1e-300)
    np.testing.assert_allclose(dx, expected_dx, rtol=1e-13, atol=1e-300)
    assert out[0] == (0.0 if name == "sigmoid" else -1.0) and out[-1] == 1.0
    assert dx[0] == 0.0 and dx[-1] == 0.0


def test_sigmoid_by_hand():
    out, cache = layers.sigmoid_forward(np.array([0.0, np.log(3.0)]))
    np.testing.assert_allclose(out, [0.5, 0.75])
    np.testing.assert_allclose(layers.sigmoid_backward(np.array([2.0, 1.0]), cache),
                               [0.5, 0.1875])  # 2 * 0.25, 0.75 * 0.25


@pytest.mark.parametrize("name", LAYERS)
def test_layers_leave_their_inputs_and_dout_unchanged(name):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 3))
    inputs = [x, rng.standard_normal((3, 2)), rng.standard_normal(2)] if name == "linear" else [x]
    copies = [value.copy() for value in inputs]
    out, cache = getattr(layers, f"{name}_forward")(*inputs)
    dout = rng.standard_normal(out.shape)
    dout_copy = dout.copy()
    getattr(layers, f"{name}_backward")(dout, cache)
    for value, copy in zip(inputs, copies, strict=True):
        np.testing.assert_array_equal(value, copy)
    np.testing.assert_array_equal(dout, dout_copy)


# ---------------------------------------------------------------- numerical gradient

def test_the_graders_logsumexp_is_torchs():
    x = np.random.default_rng(6).uniform(-3, 3, (2, 3))
    x_t = torch.tensor(x, requires_grad=True)
    torch.logsumexp(x_t.reshape(-1), 0).backward()
    np.testing.assert_allclose(autograd_gradient(REF, "logsumexp(x)", x), x_t.grad.numpy(),
                               rtol=1e-14)
    assert FUNCTIONS["logsumexp(x)"](np, x) == pytest.approx(np.log(np.sum(np.exp(x))))


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
@pytest.mark.parametrize("shape", [(1,), (5,), (3, 4), (2, 3, 2)])
def test_numerical_gradient_matches_autograd_and_restores_x(name, shape):
    x = np.random.default_rng(1).uniform(-2, 2, shape)
    original = x.copy()
    grad = layers.numerical_gradient(lambda v: FUNCTIONS[name](np, v), x)
    expected = autograd_gradient(REF, name, original)
    assert grad.shape == shape and grad.dtype == np.float64
    np.testing.assert_allclose(grad, expected, rtol=1e-7, atol=1e-9)
    assert np.array_equal(x, original)  # bit for bit
    assert layers.rel_error(grad, expected) < 1e-7


def test_numerical_gradient_changes_x_in_place_and_restores_it_exactly():
    # Values for which (x + h) - h != x: restoring by subtraction would show.
    x = np.array([0.1, 0.7, 1e3 + 0.3, -123.456, 1e-7])
    original = x.copy()
    seen = []

    def f(argument):
        assert argument is x  # f gets x itself
        seen.append(x.copy())
        return float(np.sum(x**2))  # reads x through the closure

    grad = layers.numerical_gradient(f, x, h=1e-3)
    assert len(seen) == 2 * x.size
    np.testing.assert_allclose(grad, 2 * original, rtol=1e-6, atol=1e-6)
    assert np.array_equal(x, original)
    assert seen[0][0] == original[0] + 1e-3 and seen[1][0] == original[0] - 1e-3


def test_numerical_gradient_is_centered_and_uses_h():
    x = np.array([-1.0, 0.5, 2.0])
    # The centered difference of x**3 is exactly 3 x**2 + h**2; one-sided would be off by 3xh.
    np.testing.assert_allclose(layers.numerical_gradient(lambda v: np.sum(v**3), x, h=0.1),
                               3 * x**2 + 0.01, rtol=1e-12)


def test_numerical_gradient_on_float32_is_poor_but_works():
    x = np.linspace(-1, 1, 5).astype(np.float32)
    grad = layers.numerical_gradient(lambda v: np.sum(v * v), x)
    assert grad.dtype == np.float64 and x.dtype == np.float32
    assert layers.rel_error(grad, 2 * x.astype(np.float64)) > 1e-6


def test_rel_error_by_hand():
    assert layers.rel_error(np.array([1.0, 2.0]), np.array([1.0, 2.0])) == 0.0
    # |1 - 3| / 4 = 0.5 and |2 - 2.2| / 4.2
    assert layers.rel_error(np.array([1.0, 2.0]), np.array([3.0, 2.2])) == pytest.approx(0.5)
    assert layers.rel_error(np.array([1.0, -1.0]), np.array([-1.0, -1.0])) == 1.0
    assert layers.rel_error(np.zeros((2, 2)), np.zeros((2, 2))) == 0.0
    assert layers.rel_error(np.array([1e-14]), np.array([0.0])) == pytest.approx(0.01)
    assert isinstance(layers.rel_error(np.ones(3), np.ones(3)), float)
    assert layers.rel_error(3.0, 1.0) == pytest.approx(0.5)


def test_float32_stays_float32_through_every_layer_as_in_torch():
    rng = np.random.default_rng(7)
    x, W, b, dout = (rng.standard_normal(shape).astype(np.float32)
                     for shape in ((4, 2, 3), (6, 5), (5,), (4, 5)))
    out, cache = layers.linear_forward(x, W, b)
    grads = layers.linear_backward(dout, cache)
    expected = torch_linear(x, W, b, dout)  # torch in float32 too
    for got, want in zip((out, *grads), expected, strict=True):
        assert got.dtype == np.float32 and want.dtype == np.float32
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    h, dh = (rng.standard_normal((4, 5)).astype(np.float32) for _ in range(2))
    for name in ACTIVATIONS:
        x_t = torch.tensor(h, requires_grad=True)
        expected = LAYERS[name].apply(TORCH, x_t)  # in float32, as the inputs
        expected.backward(torch.tensor(dh))
        out, cache = getattr(layers, f"{name}_forward")(h)
        dx = getattr(layers, f"{name}_backward")(dh, cache)
        assert out.dtype == dx.dtype == np.float32, name
        np.testing.assert_allclose(out, expected.detach().numpy(), rtol=1e-6, atol=1e-7)
        np.testing.assert_allclose(dx, x_t.grad.numpy(), rtol=1e-5, atol=1e-7)


def test_softmax_loss_keeps_float32():
    rng = np.random.default_rng(8)
    scores, y = (10 * rng.standard_normal((6, 4))).astype(np.float32), rng.integers(0, 4, 6)
    loss, dscores = linear.softmax_loss(scores, y)
    scores_t = torch.tensor(scores, requires_grad=True)
    expected = F.cross_entropy(scores_t, torch.tensor(y))
    expected.backward()
    assert dscores.dtype == np.float32 and isinstance(loss, float)
    assert loss == pytest.approx(expected.item(), rel=1e-5)
    np.testing.assert_allclose(dscores, scores_t.grad.numpy(), rtol=1e-4, atol=1e-6)


# ---------------------------------------------------------------- MLP

def torch_reference(model, X, y):
    """The grader's PyTorch scores, loss and gradients of ``model`` on (X, y)."""
    expected = torch_mlp(REF, MLPCase(model.dims, model.activation, model.reg, model.params,
                                      X, y))
    return expected["scores"], expected["loss"], expected["grads"]


def test_the_graders_mlp_is_torch_nn():
    rng = np.random.default_rng(11)
    model = layers.MLP([5, 4, 3], activation="tanh", reg=0.2, seed=2)
    X, y = rng.standard_normal((6, 5)), rng.integers(0, 3, 6)
    net = torch.nn.Sequential(torch.nn.Linear(5, 4), torch.nn.Tanh(), torch.nn.Linear(4, 3))
    net = net.double()
    with torch.no_grad():
        for k, linear in ((1, net[0]), (2, net[2])):
            linear.weight.copy_(torch.tensor(model.params[f"W{k}"].T))
            linear.bias.copy_(torch.tensor(model.params[f"b{k}"]))
    scores = net(torch.tensor(X))
    loss = F.cross_entropy(scores, torch.tensor(y)) + 0.5 * model.reg * (
        (net[0].weight**2).sum() + (net[2].weight**2).sum())
    loss.backward()
    expected_scores, expected_loss, grads = torch_reference(model, X, y)
    np.testing.assert_allclose(expected_scores, scores.detach().numpy(), rtol=1e-14)
    assert expected_loss == pytest.approx(loss.item(), rel=1e-14)
    np.testing.assert_allclose(grads["W1"], net[0].weight.grad.numpy().T, rtol=1e-12)
    np.testing.assert_allclose(grads["b2"], net[2].bias.grad.numpy(), rtol=1e-12)


@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("dims", [[5, 3], [6, 4, 3], [5, 7, 6, 6, 4]])
def test_mlp_matches_torch(activation, dims):
    rng = np.random.default_rng(2)
    model = layers.MLP(dims, activation=activation, reg=0.3, seed=1)
    for name in model.params:  # non-zero biases, so regularizing them would show
        model.params[name] = rng.standard_normal(model.params[name].shape)
    X, y = rng.standard_normal((8, dims[0])), rng.integers(0, dims[-1], 8)
    expected_scores, expected_loss, expected_grads = torch_reference(model, X, y)
    np.testing.assert_allclose(model.loss(X), expected_scores, rtol=1e-12)
    loss, grads = model.loss(X, y)
    assert isinstance(loss, float)
    assert loss == pytest.approx(expected_loss, rel=1e-12)
    assert set(grads) == set(model.params)
    for name, grad in grads.items():
        np.testing.assert_allclose(grad, expected_grads[name], rtol=1e-10, atol=1e-13)


def test_mlp_computes_no_gradient_for_its_input(monkeypatch):
    rng = np.random.default_rng(10)
    model = layers.MLP([6, 5, 4, 3], seed=0)
    X, y = rng.standard_normal((4, 6)), rng.integers(0, 3, 4)
    expected = torch_reference(model, X, y)[2]
    backward_inputs = []
    original = layers.linear_backward

    def counted(dout, cache):
        backward_inputs.append(cache[0])
        return original(dout, cache)

    monkeypatch.setattr(layers, "linear_backward", counted)
    _, grads = model.loss(X, y)
    # The two upper layers go through linear_backward; the first layer, whose input is the
    # data, computes only dW1 and db1.
    assert len(backward_inputs) == 2
    assert all(x.shape[1] != X.shape[1] for x in backward_inputs)
    for name, grad in grads.items():
        np.testing.assert_allclose(grad, expected[name], rtol=1e-10, atol=1e-13)


def test_mlp_keeps_float32():
    rng = np.random.default_rng(9)
    model = layers.MLP([6, 5, 3], reg=0.1, seed=0)
    X, y = rng.standard_normal((4, 6)), rng.integers(0, 3, 4)
    loss64, grads64 = model.loss(X, y)
    model.params = {name: value.astype(np.float32) for name, value in model.params.items()}
    assert model.loss(X.astype(np.float32)).dtype == np.float32
    loss32, grads32 = model.loss(X.astype(np.float32), y)
    assert loss32 == pytest.approx(loss64, rel=1e-5)
    for name, grad in grads32.items():
        assert grad.dtype == np.float32, name
        np.testing.assert_allclose(grad, grads64[name], rtol=1e-4, atol=1e-6)


def test_mlp_gradients_pass_a_numerical_check():
    rng = np.random.default_rng(3)
    model = layers.MLP([4, 6, 3], activation="tanh", reg=0.1, seed=0)
    X, y = rng.standard_normal((5, 4)), rng.integers(0, 3, 5)
    _, grads = model.loss(X, y)
    for name, value in model.params.items():
        numerical = layers.numerical_gradient(lambda _: model.loss(X, y)[0], value)
        assert layers.rel_error(grads[name], numerical) < 1e-6, name


def test_mlp_initialization():
    model = layers.MLP([400, 300, 50], seed=0)
    assert list(model.params) == ["W1", "b1", "W2", "b2"]
    assert model.params["W1"].shape == (400, 300) and model.params["b2"].shape == (50,)
    assert model.params["W1"].std() == pytest.approx(np.sqrt(2 / 400), rel=0.02)
    assert model.params["W2"].std() == pytest.approx(np.sqrt(2 / 300), rel=0.03)
    assert not np.any(model.params["b1"]) and not np.any(model.params["b2"])
    scaled = layers.MLP([400, 300, 50], weight_scale=0.01, seed=0)
    assert scaled.params["W2"].std() == pytest.approx(0.01, rel=0.03)
    again = layers.MLP([400, 300, 50], seed=0)
    np.testing.assert_array_equal(model.params["W2"], again.params["W2"])
    other = layers.MLP([400, 300, 50], seed=np.random.default_rng(5))
    assert not np.array_equal(model.params["W1"], other.params["W1"])


def test_mlp_flattens_image_inputs():
    model = layers.MLP([6, 4, 3], seed=0)
    X = np.random.default_rng(0).standard_normal((5, 2, 3))
    np.testing.assert_array_equal(model.loss(X), model.loss(X.reshape(5, 6)))


def test_mlp_reaches_95_percent_on_digits():
    data = load_digits(seed=0)
    model = layers.MLP([64, 128, 10], reg=1e-3, seed=0)
    rng = np.random.default_rng(0)
    for _ in range(40):
        order = rng.permutation(len(data.y_train))
        for start in range(0, len(order), 32):
            batch = order[start:start + 32]
            _, grads = model.loss(data.X_train[batch], data.y_train[batch])
            for name in model.params:
                model.params[name] -= 0.1 * grads[name]
    predictions = np.argmax(model.loss(data.X_test), axis=1)
    assert np.mean(predictions == data.y_test) >= 0.95


# ---------------------------------------------------------------- bad input

@pytest.mark.parametrize(
    ("x", "W", "b", "message"),
    [
        (np.zeros(3), np.zeros((3, 2)), np.zeros(2), "x must have at least 2 dimensions"),
        (np.zeros((2, 3)), np.zeros((4, 2)), np.zeros(2), r"W must have D = 3 rows"),
        (np.zeros((2, 3, 2)), np.zeros((3, 2)), np.zeros(2), r"D = 6 rows"),
        (np.zeros((2, 3)), np.zeros(3), np.zeros(2), "W must be 2-D"),
        (np.zeros((2, 3)), np.zeros((3, 2)), np.zeros(3), r"b must have shape \(2,\)"),
        (np.array([[np.nan, 0.0]]), np.zeros((2, 2)), np.zeros(2), "x contains NaN"),
        (np.array([["a", "b"]]), np.zeros((2, 2)), np.zeros(2), "x must be a numeric array"),
    ],
)
def test_linear_forward_rejects_bad_input(x, W, b, message):
    with pytest.raises(ValueError, match=message):
        layers.linear_forward(x, W, b)


@pytest.mark.parametrize("name", LAYERS)
def test_backward_rejects_dout_of_the_wrong_shape(name):
    x = np.zeros((2, 3))
    inputs = [x, np.zeros((3, 4)), np.zeros(4)] if name == "linear" else [x]
    _, cache = getattr(layers, f"{name}_forward")(*inputs)
    with pytest.raises(ValueError, match="dout must have the shape of the layer's output"):
        getattr(layers, f"{name}_backward")(np.zeros((2, 5)), cache)


def test_activations_reject_nonfinite_input():
    for name in ACTIVATIONS:
        with pytest.raises(ValueError, match="x contains NaN or infinite values"):
            getattr(layers, f"{name}_forward")(np.array([1.0, np.inf]))


def test_numerical_gradient_and_rel_error_reject_bad_input():
    with pytest.raises(ValueError, match="must be a numpy array of floats, got list"):
        layers.numerical_gradient(np.sum, [1.0, 2.0])
    with pytest.raises(ValueError, match="an array of dtype int64"):
        layers.numerical_gradient(np.sum, np.arange(3))
    with pytest.raises(ValueError, match="f must return a single number"):
        layers.numerical_gradient(lambda v: v * 2, np.ones(3))
    with pytest.raises(ValueError, match="h must be positive"):
        layers.numerical_gradient(np.sum, np.ones(3), h=0.0)
    with pytest.raises(ValueError, match="f must be a function"):
        layers.numerical_gradient(3.0, np.ones(3))
    with pytest.raises(ValueError, match="b must have a's shape"):
        layers.rel_error(np.ones(3), np.ones(4))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"dims": [5]}, "at least 2 sizes"),
        ({"dims": 5}, "at least 2 sizes"),
        ({"dims": [5, 0, 3]}, "positive integer"),
        ({"dims": [5, 2.5, 3]}, "positive integer"),
        ({"dims": [5, 3], "activation": "gelu"}, "activation must be one of"),
        ({"dims": [5, 3], "reg": -0.1}, "reg must be non-negative"),
        ({"dims": [5, 3], "weight_scale": 0.0}, "weight_scale must be positive"),
    ],
)
def test_mlp_rejects_bad_settings(kwargs, message):
    with pytest.raises(ValueError, match=message):
        layers.MLP(**kwargs)


def test_mlp_loss_rejects_bad_data():
    model = layers.MLP([4, 5, 3])
    with pytest.raises(ValueError, match="D = 4 features"):
        model.loss(np.zeros((2, 5)))
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        model.loss(np.zeros(4))
    with pytest.raises(ValueError, match=r"labels y must lie in \[0, 2\]"):
        model.loss(np.zeros((2, 4)), np.array([0, 3]))
    with pytest.raises(ValueError, match=r"labels y must have shape \(2,\)"):
        model.loss(np.zeros((2, 4)), np.array([0, 1, 2]))
