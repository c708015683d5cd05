"""Checks for a2_backprop: ``minidl.layers`` against PyTorch autograd, part by part in
notebook order.

PyTorch equivalents (the notebook states the same conversions):

- ``linear_forward(x, W, b)``: ``x.reshape(N, -1) @ W + b``, which is
  ``F.linear(x.reshape(N, -1), W.T, b)`` (``nn.Linear`` stores ``weight = W.T``); a backward
  pass is autograd's gradient for a given ``dout``
- ``relu`` / ``sigmoid`` / ``tanh``: ``torch.relu`` / ``torch.sigmoid`` / ``torch.tanh``
  (PyTorch's ReLU has derivative 0 at exactly 0)
- ``numerical_gradient(f, x)``: the autograd gradient of the same function in PyTorch
- ``MLP``: the same stack of linear layers and activations, ``F.cross_entropy`` and
  ``0.5 * reg * sum(W**2)`` over the weights only

The layers, the stack of an MLP and the functions ``numerical_gradient`` is checked on are
the vocabulary of ``autograder.probes.a2_backprop``: its probes run them on the student's
``minidl`` (a layer's cache is whatever the student chose, so forward and backward run
together there and only arrays come back), and ``TorchBackend`` runs the same formulas here
on PyTorch. The mistakes each part explains are in ``solutions/mistakes/a2_backprop.py``;
the inputs and the PyTorch references follow the parts.
"""
import math
from typing import NamedTuple

import numpy as np
import torch
import torch.nn.functional as F

from autograder.compare import as_array, is_close, unpack
from autograder.errors import StudentError
from autograder.framework import NOT_ASKED, Assignment, Fail, describe_student_error
from autograder.probes.a2_backprop import (
    FUNCTIONS,
    LAYERS,
    describe_stack,
    mlp_stack,
    run_stack,
)
from autograder.reference import cached

ASSIGNMENT = Assignment("a2_backprop")
part = ASSIGNMENT.part

PROBE = "autograder.probes.a2_backprop"
MLP = "minidl.layers.MLP"
NG_RTOL, NG_ATOL = 1e-6, 1e-8  # numerical gradients: h = 1e-5 leaves errors near 1e-10
SIGMOID_OVERFLOW_HINT = (
    "exp(-x) overflows for x below about -709 (and exp(x) for x above 709): compute "
    "e = np.exp(-np.abs(x)), which lies in (0, 1], and use 1 / (1 + e) where x >= 0 and "
    "e / (1 + e) where x < 0. Note that np.where(cond, A, B) computes A and B for every "
    "element, so a branch that overflows warns even where it is not selected"
)
TANH_OVERFLOW_HINT = "exp of a large number overflows: use np.tanh"


# ---------------------------------------------------------------- linear

@part("linear.forward", points=2)
def linear_forward(ctx):
    """linear_forward matches F.linear(x, W.T, b) on random 2-D inputs."""
    for case in random_linear_cases(ctx.rng):
        expect_forward(ctx, "linear", case)


@part("linear.backward", points=3)
def linear_backward(ctx):
    """dx, dW and db match PyTorch autograd for a random dout."""
    for case in random_linear_cases(ctx.rng):
        expect_backward(ctx, "linear", case)


@part("linear.any_rank", points=2, explained_by=("linear.forward", "linear.backward"))
def linear_any_rank(ctx):
    """x of shape (N, d1, ..., dk) is flattened; dx comes back in x's shape."""
    for case in (linear_case(ctx.rng, "3-D x", (4, 3, 5), 6),
                 linear_case(ctx.rng, "4-D x", (3, 2, 3, 2), 5)):
        expect_forward_of_any_rank(ctx, case)
        expect_backward(ctx, "linear", case)


@part("linear.edge_cases", points=1, visible=False,
      explained_by=("linear.forward", "linear.backward", "linear.any_rank"))
def linear_edge_cases(ctx):
    """One sample, one feature, one output unit, and inputs left unchanged."""
    for case in (linear_case(ctx.rng, "one sample", (1, 5), 3),
                 linear_case(ctx.rng, "one feature", (4, 1), 3),
                 linear_case(ctx.rng, "one output unit", (4, 3), 1),
                 linear_case(ctx.rng, "one sample of shape (2, 2, 2)", (1, 2, 2, 2), 2)):
        expect_forward(ctx, "linear", case)
        expect_backward(ctx, "linear", case)


# ---------------------------------------------------------------- relu

@part("relu.forward", points=1)
def relu_forward(ctx):
    """relu_forward matches torch.relu on inputs of several shapes."""
    for case in activation_cases(ctx.rng):
        expect_forward(ctx, "relu", case)


@part("relu.backward", points=2)
def relu_backward(ctx):
    """relu_backward matches the autograd gradient of torch.relu."""
    for case in activation_cases(ctx.rng):
        expect_backward(ctx, "relu", case)


@part("relu.zeros", points=1, visible=False, explained_by=("relu.forward", "relu.backward"))
def relu_zeros(ctx):
    """At exactly x == 0 the output and the gradient are 0, as in PyTorch."""
    x = np.array([[0.0, -0.0, 1.5, -2.0], [0.0, 3.0, 0.0, -1e-300]])
    case = Case("x with exact zeros", (x,), ctx.rng.standard_normal(x.shape) + 2.0)
    expect_forward(ctx, "relu", case)
    expect_backward(ctx, "relu", case)
    x = np.zeros((3, 3))
    expect_backward(ctx, "relu", Case("x all zeros", (x,), ctx.rng.standard_normal(x.shape)))


# ---------------------------------------------------------------- sigmoid

@part("sigmoid.forward", points=1)
def sigmoid_forward(ctx):
    """sigmoid_forward matches torch.sigmoid on inputs of several shapes."""
    for case in activation_cases(ctx.rng):
        expect_forward(ctx, "sigmoid", case)


@part("sigmoid.backward", points=2)
def sigmoid_backward(ctx):
    """sigmoid_backward matches the autograd gradient of torch.sigmoid."""
    for case in activation_cases(ctx.rng):
        expect_backward(ctx, "sigmoid", case)


@part("sigmoid.stability", points=2, visible=False,
      explained_by=("sigmoid.forward", "sigmoid.backward"))
def sigmoid_stability(ctx):
    """Exact for x of +-1e3 and +-710, with no overflow warning, forward and backward."""
    expect_stable(ctx, "sigmoid", extreme_case(ctx.rng), SIGMOID_OVERFLOW_HINT)


# ---------------------------------------------------------------- tanh

@part("tanh.forward", points=1)
def tanh_forward(ctx):
    """tanh_forward matches torch.tanh on inputs of several shapes."""
    for case in activation_cases(ctx.rng):
        expect_forward(ctx, "tanh", case)


@part("tanh.backward", points=2)
def tanh_backward(ctx):
    """tanh_backward matches the autograd gradient of torch.tanh."""
    for case in activation_cases(ctx.rng):
        expect_backward(ctx, "tanh", case)


@part("tanh.stability", points=1, visible=False, explained_by=("tanh.forward", "tanh.backward"))
def tanh_stability(ctx):
    """Exact for x of +-1e3, with no overflow warning, forward and backward."""
    expect_stable(ctx, "tanh", extreme_case(ctx.rng), TANH_OVERFLOW_HINT)


# ---------------------------------------------------------------- numerical_gradient

@part("numerical_gradient.value", points=2)
def numerical_gradient_value(ctx):
    """Centered differences match the autograd gradient of a few smooth functions."""
    for function, shape in (("sum(sin(x) * x)", (3, 4)), ("logsumexp(x)", (6,)),
                            ("sum(x**2) * sum(tanh(x))", (2, 3))):
        x = ng_point(ctx.rng, shape)
        expect_numerical_gradient(ctx, function, x, autograd_gradient(ctx.ref, function, x))


@part("numerical_gradient.restores_x", points=1)
def numerical_gradient_restores_x(ctx):
    """After the call every entry of x is exactly what it was."""
    x = ng_point(ctx.rng, (4, 5))
    expect_restored(numerical_gradient_of(ctx.student, "sum(x**3)", x), x,
                    "numerical_gradient(f, x)")
    x = ng_point(ctx.rng, (3, 3)) * 1e3
    expect_restored(numerical_gradient_of(ctx.student, "sum(sin(x) * x)", x, 1e-3), x,
                    "numerical_gradient(f, x, h=1e-3)")


@part("numerical_gradient.edge_cases", points=2, visible=False,
      explained_by=("numerical_gradient.value",))
def numerical_gradient_edge_cases(ctx):
    """A 3-D x, one entry, f reading x through a closure, and the h argument."""
    for function, shape in (("sum(sin(x) * x)", (2, 3, 2)), ("logsumexp(x)", (1,))):
        x = ng_point(ctx.rng, shape)
        expect_numerical_gradient(ctx, function, x, autograd_gradient(ctx.ref, function, x))
    x = ng_point(ctx.rng, (3, 4))
    function = "sum(x**2) * sum(tanh(x))"
    reply = expect_numerical_gradient(ctx, function, x, autograd_gradient(ctx.ref, function, x),
                                      closure=True)
    expect_restored(reply, x, "numerical_gradient(f, x) with f reading x through a closure")
    # The centered difference of x**3 with step h is 3 x**2 + h**2: h must be used.
    x, h = ng_point(ctx.rng, (5,)), 0.1
    expect_numerical_gradient(ctx, "sum(x**3)", x, 3 * x**2 + h**2, h=h)


# ---------------------------------------------------------------- rel_error

@part("rel_error.value", points=1)
def rel_error_value(ctx):
    """rel_error matches max(|a - b| / max(1e-12, |a| + |b|)), computed by hand."""
    a = ctx.rng.standard_normal((4, 5))
    b = a + 1e-3 * ctx.rng.standard_normal((4, 5)) * (1 + ctx.rng.uniform(0, 3, (4, 5)))
    expect_rel_error(ctx, a, b, "a, b of shape (4, 5)")
    expect_rel_error(ctx, np.array([1.0, -2.0, 0.5, 3.0]), np.array([1.1, -2.5, -0.25, 3.0]),
                     "a = [1, -2, 0.5, 3], b = [1.1, -2.5, -0.25, 3]")


@part("rel_error.zeros", points=1, visible=False, explained_by=("rel_error.value",))
def rel_error_zeros(ctx):
    """Zeros in both arrays give 0 (not nan), and the denominator's floor is 1e-12."""
    expect_rel_error(ctx, np.zeros((2, 3)), np.zeros((2, 3)), "a = b = 0")
    expect_rel_error(ctx, np.array([0.0, 1.0, 1e-14, 2.0]), np.array([0.0, 1.0 + 1e-9, 0.0, 2.0]),
                     "a = [0, 1, 1e-14, 2], b = [0, 1 + 1e-9, 0, 2]")


# ---------------------------------------------------------------- MLP

@part("MLP.init", points=1)
def mlp_init(ctx):
    """Weights drawn from N(0, sqrt(2 / fan_in)**2) or N(0, weight_scale**2), zero biases."""
    expect_initial_params(ctx, [300, 200, 100, 50], {})
    dims, seeded = [100, 80, 40], {"weight_scale": 0.01, "seed": 3}
    first = expect_initial_params(ctx, dims, seeded)
    again = initial_params(ctx.student, dims, seeded)
    other = initial_params(ctx.student, dims, {"weight_scale": 0.01, "seed": 4})
    if not np.array_equal(again["W1"], first["W1"]):
        raise Fail("two MLPs with the same seed got different weights: draw every weight from "
                   "rng = np.random.default_rng(seed)")
    if np.array_equal(other["W1"], first["W1"]):
        raise Fail("MLPs with seeds 3 and 4 got the same weights: draw them from "
                   "np.random.default_rng(seed)")


@part("MLP.scores", points=2)
def mlp_scores(ctx):
    """loss(X) returns the scores of the PyTorch model with the same weights."""
    for activation in ACTIVATION_NAMES:
        expect_mlp_scores(ctx, mlp_case(ctx.rng, [6, 5, 4], activation))


@part("MLP.loss", points=2)
def mlp_loss(ctx):
    """The loss is F.cross_entropy plus 0.5 * reg * sum(W**2) over the weights."""
    for activation in ACTIVATION_NAMES:
        expect_mlp_loss(ctx, mlp_case(ctx.rng, [6, 5, 4], activation, reg=0.3))


@part("MLP.gradients", points=3)
def mlp_gradients(ctx):
    """Every gradient matches PyTorch autograd, for each activation."""
    for dims in ([6, 5, 4], [5, 5, 5, 3]):
        for activation in ACTIVATION_NAMES:
            expect_mlp_gradients(ctx, mlp_case(ctx.rng, dims, activation, reg=0.3))


@part("MLP.deep", points=2, visible=False, explained_by=("MLP.loss", "MLP.gradients"))
def mlp_deep(ctx):
    """Four hidden layers, no hidden layer, one sample: loss and every gradient."""
    cases = [([5, 8, 7, 6, 6, 4], activation, 7) for activation in ACTIVATION_NAMES]
    for dims, activation, n_samples in cases + [([5, 3], "relu", 6), ([4, 6, 3], "tanh", 1)]:
        case = mlp_case(ctx.rng, dims, activation, reg=0.1, n_samples=n_samples)
        expect_mlp_loss(ctx, case)
        expect_mlp_gradients(ctx, case)


@part("MLP.digits", points=2, visible=False)
def mlp_digits(ctx):
    """Trained by SGD, an MLP with 128 ReLU units reaches 95% test accuracy on the digits."""
    from course.datasets import load_digits

    data = load_digits(seed=0)
    reply = ctx.student.call(f"{PROBE}.train_mlp", data.X_train, data.y_train, data.X_test,
                             [64, 128, 10], activation="relu", reg=1e-3, lr=0.1, epochs=40,
                             batch_size=32, seed=0)
    predictions, losses = reply["predictions"], reply["losses"]
    if predictions.shape != data.y_test.shape:
        raise Fail("the scores of loss(X_test) must be an (N, 10) array")
    accuracy = float(np.mean(predictions == data.y_test))
    if accuracy < 0.95:
        trend = (f"the loss went from {losses[0]:.3f} to {np.mean(losses[-10:]):.3f}"
                 if losses else "no loss was recorded")
        raise Fail(f"MLP([64, 128, 10]) trained by SGD (lr=0.1, reg=1e-3, 40 epochs, batches "
                   f"of 32) reaches {accuracy:.1%} test accuracy ({trend}); a correct MLP "
                   f"reaches at least 95%")


# ================================================================ what the parts ask

def layer_pass(who, layer, inputs, dout=None):
    """The probe's reply for one forward pass of ``layer`` (and, given ``dout``, its
    backward pass); Fail when a pass changed its inputs or ``dout`` in place."""
    spec = LAYERS[layer]
    reply = who.call(f"{PROBE}.forward_backward", layer, list(inputs), dout)
    for name in reply["changed"]:
        if name == "dout":
            raise Fail(f"{spec.backward} changed dout in place; the caller may still need it "
                       f"(when a value feeds two branches, both get the same dout): compute a "
                       f"new array instead, e.g. with np.where or a multiplication")
        raise Fail(f"{spec.forward} changed its input {name} in place (for example with "
                   f"{name}[mask] = 0); compute a new array and leave the input as it was")
    return reply


def backward_grads(who, layer, case):
    """What ``<layer>_backward`` returns for the case, one gradient per input."""
    return gradient_per_input(layer, layer_pass(who, layer, case.inputs, case.dout)["grads"])


def gradient_per_input(layer, grads):
    """What ``<layer>_backward`` returned as a tuple of one gradient per input: a layer of
    one input may return its gradient alone."""
    count = len(LAYERS[layer].inputs)
    if count == 1:
        return tuple(grads) if isinstance(grads, tuple) and len(grads) == 1 else (grads,)
    return unpack(grads, count, LAYERS[layer].backward)


def expect_forward(ctx, layer, case, got=NOT_ASKED, nonfinite_hint=""):
    """``<layer>_forward`` on the case's inputs gives PyTorch's output."""
    spec = LAYERS[layer]
    ctx.expect_close(f"{spec.forward} out ({case.label}; out = {spec.formula})",
                     lambda who: layer_pass(who, layer, case.inputs)["out"],
                     torch_layer(ctx.ref, layer, case.inputs)[0], got=got,
                     nonfinite_hint=nonfinite_hint)


def expect_backward(ctx, layer, case, got=NOT_ASKED, nonfinite_hint=""):
    """``<layer>_backward`` gives PyTorch's gradient of every input for the case's dout."""
    spec = LAYERS[layer]
    expected = torch_layer(ctx.ref, layer, case.inputs, case.dout)[1]
    got = backward_grads(ctx.student, layer, case) if got is NOT_ASKED else got
    for index, name in enumerate(spec.inputs):
        ctx.expect_close(f"{spec.backward} d{name} ({case.label})",
                         lambda who, index=index: backward_grads(who, layer, case)[index],
                         expected[index], got=got[index], nonfinite_hint=nonfinite_hint)


def expect_forward_of_any_rank(ctx, case):
    """``expect_forward`` for an x of more than two dimensions; when the forward pass fails
    on it but is right on x flattened to (N, D), say so."""
    try:
        expect_forward(ctx, "linear", case)
    except StudentError as error:
        if error.kind == "NotImplementedError":
            raise
        x, W, b = case.inputs
        flat = case._replace(inputs=(x.reshape(len(x), -1), W, b))
        try:
            expect_forward(ctx, "linear", flat)
        except (Fail, StudentError):
            raise error from None
        raise Fail(f"{describe_student_error(error)}; your code fails on this x of shape "
                   f"{x.shape} but is right on the same x flattened to shape "
                   f"{flat.inputs[0].shape}: flatten each sample first, "
                   f"x.reshape(x.shape[0], -1), so x of shape (N, d1, d2) becomes "
                   f"(N, d1 * d2)") from None


def expect_stable(ctx, layer, case, hint):
    """No warning from the forward nor from the backward pass on the case, and the right
    values of both."""
    spec = LAYERS[layer]
    forward = layer_pass(ctx.student, layer, case.inputs)
    expect_no_warning(forward["warnings"], f"{spec.forward} on {case.label}", hint)
    expect_forward(ctx, layer, case, got=forward["out"], nonfinite_hint=hint)
    both = layer_pass(ctx.student, layer, case.inputs, case.dout)
    expect_no_warning(both["warnings"], f"{spec.backward} on {case.label}", hint)
    expect_backward(ctx, layer, case, got=gradient_per_input(layer, both["grads"]),
                    nonfinite_hint=hint)


def expect_no_warning(warnings, what, hint):
    if warnings:
        raise Fail(f"{what} raised a warning ({warnings[0]}): {hint}")


def numerical_gradient_of(who, function, x, h=None, closure=False):
    return who.call(f"{PROBE}.numerical_gradient", function, x, h, closure)


def expect_numerical_gradient(ctx, function, x, expected, h=None, closure=False):
    """numerical_gradient of ``FUNCTIONS[function]`` at ``x`` is ``expected``, calls f with x
    itself and leaves x as it was. Returns the probe's reply."""
    what = f"numerical_gradient of {function} at x of shape {x.shape}"
    if h is not None:
        what += f" with h={h:g}"
    if closure:
        what += " (f reads x through a closure)"
    reply = numerical_gradient_of(ctx.student, function, x, h, closure)
    grad = as_array(reply["grad"], what, x.shape)
    if closure and (not reply["same_object"] or not np.any(grad)):
        raise Fail(f"{what} is wrong: f must be called with x itself, changed in place "
                   f"(x[i] = old + h, then old - h, then old). Your numerical_gradient "
                   f"{'passed f a copy of x' if not reply['same_object'] else 'got 0'}, so a "
                   f"function that reads x through a closure (a loss reading a model's "
                   f"parameters, say) never sees the change")
    if not np.allclose(reply["x_after"], x, rtol=0, atol=1e-8):
        expect_restored(reply, x, what)  # x left changed: every later entry was off
    ctx.expect_close(what, lambda who: numerical_gradient_of(who, function, x, h, closure)["grad"],
                     expected, rtol=NG_RTOL, atol=NG_ATOL, got=reply["grad"])
    return reply


def expect_restored(reply, x, what):
    if np.array_equal(reply["x_after"], x):
        return
    difference = np.max(np.abs(reply["x_after"] - x))
    if 0 < difference < 1e-8:
        raise Fail(f"after {what} x is not exactly what it was: some entries are off by "
                   f"{difference:.1e}. Adding and then subtracting h does not always give back "
                   f"the same float: save the old value, old = x[i], and assign it back, "
                   f"x[i] = old")
    raise Fail(f"after {what} x has changed (by up to {difference:.3g}): restore each entry "
               f"to its old value after evaluating f, before moving to the next one (the "
               f"next evaluations would otherwise start from a wrong point)")


def expect_rel_error(ctx, a, b, what):
    """rel_error(a, b) is one number, the one computed by hand."""
    def ask(who):
        return who.call("minidl.layers.rel_error", a, b)

    got = ask(ctx.student)
    if isinstance(got, np.ndarray) and got.size > 1:
        raise Fail(f"rel_error({what}) must return one number, the largest relative error, "
                   f"got an array of shape {got.shape}: take np.max")
    ctx.expect_close(f"rel_error({what})", ask, rel_error_by_hand(a, b), rtol=1e-9, atol=0.0,
                     got=got)


def rel_error_by_hand(a, b):
    return float(np.max(np.abs(a - b) / np.maximum(1e-12, np.abs(a) + np.abs(b))))


def initial_params(who, dims, kwargs):
    return who.object(MLP, args=(dims,), kwargs=kwargs, get=("params",))["attrs"]["params"]


def weight_spreads(params):
    """The standard deviation of each weight matrix, W1 first."""
    return [float(np.std(params[f"W{k}"])) for k in range(1, len(params) // 2 + 1)]


def same_spread(got, candidate):
    """Whether the weights of ``got`` are drawn as those of ``candidate``, layer by layer:
    standard deviations within 6%."""
    return np.allclose(got, candidate, rtol=0.06, atol=0.0)


def expect_initial_params(ctx, dims, kwargs):
    """The params of ``MLP(dims, **kwargs)``: W{k} drawn from N(0, s**2), with s He's
    sqrt(2 / fan_in) or weight_scale, and b{k} zero. Returns them."""
    what = f"MLP({dims}{''.join(f', {key}={value}' for key, value in kwargs.items())})"
    params = initial_params(ctx.student, dims, kwargs)
    keys = {f"{kind}{k}" for k in range(1, len(dims)) for kind in "Wb"}
    if not isinstance(params, dict) or set(params) != keys:
        got = sorted(params) if isinstance(params, dict) else type(params).__name__
        raise Fail(f"{what}: params must be a dict with the keys {sorted(keys)}, got {got}")
    for k in range(1, len(dims)):
        fan_in, fan_out = dims[k - 1], dims[k]
        W = as_array(params[f"W{k}"], f"{what}: params['W{k}']", (fan_in, fan_out))
        as_array(params[f"b{k}"], f"{what}: params['b{k}']", (fan_out,))
        if np.any(params[f"b{k}"] != 0):
            raise Fail(f"{what}: params['b{k}'] must start at 0")
        scale = kwargs.get("weight_scale")
        wanted = math.sqrt(2 / fan_in) if scale is None else scale
        rule = (f"He's sqrt(2 / fan_in) with fan_in = {fan_in}, the layer's input size"
                if scale is None else f"weight_scale = {scale:g}")
        std, mean = float(np.std(W)), float(np.mean(W))
        if abs(std / wanted - 1) > 0.06 or abs(mean) > 5 * wanted / math.sqrt(W.size):
            ctx.fail(f"{what}: params['W{k}'] should be drawn from N(0, {wanted:.4g}**2), "
                     f"{rule}; its entries have mean {mean:.3g} and standard deviation "
                     f"{std:.4g}",
                     lambda who: weight_spreads(initial_params(who, dims, kwargs)),
                     weight_spreads(params), matches=same_spread)
    return params


def mlp_loss_of(who, case, with_labels=True):
    """What ``MLP.loss`` returns for the case: the scores alone, without the labels."""
    reply = who.object(MLP, args=(list(case.dims),),
                       kwargs={"activation": case.activation, "reg": case.reg},
                       set_attrs={"params": case.params},
                       calls=[("loss", (case.X, case.y) if with_labels else (case.X,), {})])
    return reply["results"][0]


def mlp_scores_of(who, case):
    scores = mlp_loss_of(who, case, with_labels=False)
    if isinstance(scores, tuple):
        raise Fail(f"{case.what}.loss(X): with y=None, loss(X) must return the scores array "
                   f"alone, got a tuple")
    return scores


def mlp_grads_of(who, case):
    """The gradients ``MLP.loss(X, y)`` returns, a dict with the keys of params."""
    _, grads = unpack(mlp_loss_of(who, case), 2, "MLP.loss(X, y)")
    if not isinstance(grads, dict) or set(grads) != set(case.params):
        keys = sorted(grads) if isinstance(grads, dict) else type(grads).__name__
        raise Fail(f"{case.what}.loss(X, y) must return (loss, grads) with grads a dict with "
                   f"the keys of params, {sorted(case.params)}; got {keys}")
    return grads


def expect_mlp_scores(ctx, case):
    stack = describe_stack(mlp_stack(case.dims, case.activation))
    ctx.expect_close(f"{case.what}.loss(X) scores ({stack})",
                     lambda who: mlp_scores_of(who, case), torch_mlp(ctx.ref, case)["scores"])


def expect_mlp_loss(ctx, case):
    ctx.expect_close(f"{case.what} loss",
                     lambda who: unpack(mlp_loss_of(who, case), 2, "MLP.loss(X, y)")[0],
                     torch_mlp(ctx.ref, case)["loss"])


def expect_mlp_gradients(ctx, case):
    """Every gradient is PyTorch's, the last layer's first: when those are right and a lower
    one is not, the mistake is below the last layer, and the message says so."""
    expected = torch_mlp(ctx.ref, case)["grads"]
    got = mlp_grads_of(ctx.student, case)
    n_layers = len(case.dims) - 1
    last = [f"W{n_layers}", f"b{n_layers}"]
    order = last + [name for name in sorted(expected) if name not in last]
    for name in order:
        as_array(got[name], f"{case.what}: grads[{name!r}]", case.params[name].shape)
    last_right = all(is_close(got[name], expected[name]) for name in last)
    for name in order:
        try:
            ctx.expect_close(f"{case.what}: grads[{name!r}]",
                             lambda who, name=name: mlp_grads_of(who, case)[name],
                             expected[name], got=got[name])
        except Fail as fail:
            if fail.explained or name in last or not last_right:
                raise
            raise Fail(f"{case.what}: grads[{name!r}] is wrong while the last layer's "
                       f"gradients are right, so the mistake is in the backward pass below "
                       f"the last layer: going from the last layer to the first, each hidden "
                       f"layer needs {case.activation}_backward with its own cache, then "
                       f"linear_backward with its own cache ({fail})") from None


# ================================================================ inputs

class Case(NamedTuple):
    """A layer's inputs (in the order of ``LAYERS[layer].inputs``) and a dout."""

    label: str
    inputs: tuple
    dout: np.ndarray


def linear_case(rng, name, x_shape, n_out):
    x = rng.standard_normal(x_shape)
    W = rng.standard_normal((int(np.prod(x_shape[1:])), n_out))
    b = rng.standard_normal(n_out)
    dout = rng.standard_normal((x_shape[0], n_out))
    return Case(f"{name}, x of shape {x.shape}, W of shape {W.shape}", (x, W, b), dout)


def random_linear_cases(rng):
    """A square case (N == D == M, so a forgotten transpose gives a wrong value, not an
    error), then random shapes."""
    cases = [linear_case(rng, "N = D = M = 6", (6, 6), 6)]
    for k in range(2):
        shape = (int(rng.integers(3, 9)), int(rng.integers(2, 8)))
        cases.append(linear_case(rng, f"random case {k + 1}", shape, int(rng.integers(2, 7))))
    return cases


def activation_cases(rng):
    """Random inputs of a few shapes (no exact zeros), with a random dout."""
    return [Case(f"x of shape {shape}", (3.0 * rng.standard_normal(shape),),
                 rng.standard_normal(shape)) for shape in ((5, 4), (3, 2, 4), (7,))]


def extreme_case(rng):
    """Inputs where exp overflows: x of +-1e3, +-750 and +-710."""
    x = np.array([[-1e3, -750.0, -710.0, -40.0, -1.0, 0.0],
                  [1.0, 40.0, 710.0, 750.0, 1e3, -0.5]])
    return Case("x of +-1e3", (x,), rng.standard_normal(x.shape))


def ng_point(rng, shape):
    return rng.uniform(-2.0, 2.0, shape)


ACTIVATION_NAMES = ("relu", "sigmoid", "tanh")


class MLPCase(NamedTuple):
    dims: tuple
    activation: str
    reg: float
    params: dict
    X: np.ndarray
    y: np.ndarray

    @property
    def what(self):
        return f"MLP({list(self.dims)}, activation={self.activation!r}, reg={self.reg:g})"


def mlp_case(rng, dims, activation, reg=0.0, n_samples=7):
    X = rng.standard_normal((n_samples, dims[0]))
    y = rng.integers(0, dims[-1], n_samples)
    params = {}
    for k in range(1, len(dims)):
        params[f"W{k}"] = rng.standard_normal((dims[k - 1], dims[k])) / np.sqrt(dims[k - 1]) * 1.5
        params[f"b{k}"] = 0.5 * rng.standard_normal(dims[k])
    return MLPCase(tuple(dims), activation, reg, params, X, y)


# ================================================================ PyTorch references

class TorchBackend:
    """The vocabulary's numpy names on PyTorch tensors: ``max`` is ``torch.amax``, and every
    other name is PyTorch's own (``reshape``, ``sum``, ``exp``, ``relu``, ``sigmoid``, ...)."""

    RENAMED = {"max": "amax"}

    def __getattr__(self, name):
        return getattr(torch, self.RENAMED.get(name, name))


TORCH = TorchBackend()


@cached
def torch_layer(ref, layer, inputs, dout=None):
    """``layer``'s output on ``inputs`` and, given ``dout``, the autograd gradient of each
    input."""
    tensors = [ref.tensor(value, requires_grad=True) for value in inputs]
    out = LAYERS[layer].apply(TORCH, *tensors)
    if dout is None:
        return ref.numpy(out), None
    out.backward(ref.tensor(dout))
    return ref.numpy(out), tuple(ref.numpy(tensor.grad) for tensor in tensors)


@cached
def torch_mlp(ref, case):
    """The scores, the loss (``F.cross_entropy`` and the L2 penalty on every W) and the
    gradient of every parameter of the MLP of ``case``."""
    params = {key: ref.tensor(value, requires_grad=True) for key, value in case.params.items()}
    scores = run_stack(TORCH, mlp_stack(case.dims, case.activation), params, ref.tensor(case.X))
    weights = [params[f"W{k}"] for k in range(1, len(case.dims))]
    loss = (F.cross_entropy(scores, ref.labels(case.y))
            + 0.5 * case.reg * sum((W**2).sum() for W in weights))
    loss.backward()
    return {"scores": ref.numpy(scores), "loss": loss.item(),
            "grads": {key: ref.numpy(value.grad) for key, value in params.items()}}


@cached
def autograd_gradient(ref, function, x):
    x_t = ref.tensor(x, requires_grad=True)
    FUNCTIONS[function](TORCH, x_t).backward()
    return ref.numpy(x_t.grad)
