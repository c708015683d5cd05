"""Checks for a2_backprop: ``minidl.layers`` against PyTorch autograd.

PyTorch equivalents (the notebook states the same conversions):

- ``linear_forward(x, W, b)``: ``F.linear(x.reshape(N, -1), W.T, b)`` (``nn.Linear`` stores
  ``weight = W.T``); the backward pass is autograd's gradient for a given ``dout``
- ``relu`` / ``sigmoid`` / ``tanh``: ``torch.relu`` / ``torch.sigmoid`` / ``torch.tanh``
  (PyTorch's ReLU has derivative 0 at exactly 0)
- ``numerical_gradient(f, x)``: the autograd gradient of the same function in PyTorch
- ``MLP``: ``nn.Linear`` layers with the activation between them, ``F.cross_entropy`` and
  ``0.5 * reg * sum(weight**2)`` over the weights only

A layer's cache is whatever the student chose, so forward and backward run together in
the student's process (``autograder.probes.a2_backprop``), which sends back only arrays.
"""
import math

import numpy as np
import torch
import torch.nn.functional as F

from autograder.compare import as_number, expect_close, unpack
from autograder.framework import Assignment, Fail, describe_student_error
from autograder.reference import cached
from autograder.student import StudentError

ASSIGNMENT = Assignment("a2_backprop")
part = ASSIGNMENT.part

LAYERS = "minidl.layers"
PROBE = "autograder.probes.a2_backprop"
NG_RTOL, NG_ATOL = 1e-6, 1e-8  # numerical gradients: h = 1e-5 leaves errors near 1e-10


# ---------------------------------------------------------------- running a layer

def run_layer(ctx, layer, inputs, dout=None):
    """The probe's reply for one forward (and backward) pass, after the common checks."""
    reply = ctx.student.call(f"{PROBE}.forward_backward", layer, list(inputs), dout)
    if reply["problem"]:
        raise Fail(reply["problem"])
    for name in reply["changed"]:
        if name == "dout":
            raise Fail(f"{layer}_backward changed dout in place; the caller may still need it "
                       f"(when a value feeds two branches, both get the same dout): compute a "
                       f"new array instead, e.g. with np.where or a multiplication")
        raise Fail(f"{layer}_forward changed its input {name} in place (for example with "
                   f"{name}[mask] = 0); compute a new array and leave the input as it was")
    return reply


def forward_output(ctx, layer, inputs):
    return run_layer(ctx, layer, inputs)["out"]


def backward_grads(ctx, layer, inputs, dout, count):
    grads = run_layer(ctx, layer, inputs, dout)["grads"]
    if count == 1:
        if isinstance(grads, tuple) and len(grads) == 1:
            return grads[0]
        return grads
    return unpack(grads, count, f"{layer}_backward")


def expect_shape(value, shape, what, shape_hints=()):
    """Fail unless ``value`` is an array of ``shape``; ``shape_hints`` explain wrong shapes."""
    if not isinstance(value, np.ndarray):
        raise Fail(f"{what} must be a numpy array of shape {tuple(shape)}, got "
                   f"{type(value).__name__}")
    if value.shape != tuple(shape):
        for wrong_shape, explanation in shape_hints:
            if value.shape == tuple(wrong_shape):
                raise Fail(f"{what} has shape {value.shape} but should have shape "
                           f"{tuple(shape)}: {explanation}")
        raise Fail(f"{what} has shape {value.shape} but should have shape {tuple(shape)}")


def sign_and_batch_hints(expected, n_samples, what):
    hints = [(-expected, f"it has the wrong sign: return the gradient of the loss with "
                         f"respect to {what}, not its negative")]
    if n_samples > 1:
        hints.append((expected / n_samples, "it is N times too small: do not average over "
                                            "the batch here; dout already carries the 1/N of "
                                            "a mean loss"))
    return hints


# ---------------------------------------------------------------- linear

def linear_case(rng, x_shape, n_out):
    x = rng.standard_normal(x_shape)
    n_features = int(np.prod(x_shape[1:]))
    W = rng.standard_normal((n_features, n_out))
    b = rng.standard_normal(n_out)
    dout = rng.standard_normal((x_shape[0], n_out))
    return x, W, b, dout


def random_linear_cases(rng):
    """A square case (N == D, so a forgotten transpose gives a wrong value, not an error),
    then random shapes."""
    cases = {"N = D = 6, M = 4": linear_case(rng, (6, 6), 4)}
    for k in range(2):
        shape = (int(rng.integers(3, 9)), int(rng.integers(2, 8)))
        cases[f"random case {k + 1}"] = linear_case(rng, shape, int(rng.integers(2, 7)))
    return cases


@cached
def torch_linear(ref, x, W, b, dout):
    x_t, W_t, b_t = (ref.tensor(a, requires_grad=True) for a in (x, W, b))
    out = F.linear(x_t.reshape(x.shape[0], -1), W_t.T, b_t)
    out.backward(ref.tensor(dout))
    return ref.numpy(out), ref.numpy(x_t.grad), ref.numpy(W_t.grad), ref.numpy(b_t.grad)


def check_linear_forward(ctx, name, x, W, b):
    out = forward_output(ctx, "linear", (x, W, b))
    expected, _, _, _ = torch_linear(ctx.ref, x, W, b, np.zeros((x.shape[0], W.shape[1])))
    x_flat = x.reshape(x.shape[0], -1)
    expect_shape(out, expected.shape, f"linear_forward out ({name})")
    expect_close(out, expected, f"linear_forward out ({name})", hints=[
        (x_flat @ W, "the bias b is missing: out = x @ W + b"),
        (x_flat @ W - b, "the bias is subtracted; out = x @ W + b"),
    ])


def check_linear_backward(ctx, name, x, W, b, dout):
    dx, dW, db = backward_grads(ctx, "linear", (x, W, b), dout, 3)
    _, expected_dx, expected_dW, expected_db = torch_linear(ctx.ref, x, W, b, dout)
    n_samples, n_out = dout.shape
    x_flat = x.reshape(n_samples, -1)
    n_features = x_flat.shape[1]
    what = f"({name}, x of shape {x.shape}, W of shape {W.shape})"

    expect_shape(dx, x.shape, f"linear_backward dx {what}", shape_hints=[
        ((n_samples, n_features), "dx must have x's original shape: reshape it back with "
                                  "dx.reshape(x.shape)"),
    ])
    dx_hints = [(dout @ W, "dx = dout @ W.T (W is (D, M) and dout is (N, M))")] \
        if n_out == n_features else []
    expect_close(dx, expected_dx, f"linear_backward dx {what}",
                 hints=dx_hints + sign_and_batch_hints(expected_dx, n_samples, "x"))

    expect_shape(dW, W.shape, f"linear_backward dW {what}", shape_hints=[
        ((n_out, n_features), "it is transposed: dW = x.T @ dout has W's shape (D, M); "
                              "dout.T @ x has shape (M, D)"),
    ])
    dW_hints = []
    if n_samples == n_features:
        dW_hints.append((x_flat @ dout, "dW = x.T @ dout: did you forget to transpose x?"))
    if n_out == n_features:
        dW_hints.append((expected_dW.T, "it is transposed: dW = x.T @ dout, not dout.T @ x"))
    expect_close(dW, expected_dW, f"linear_backward dW {what}",
                 hints=dW_hints + sign_and_batch_hints(expected_dW, n_samples, "W"))

    expect_shape(db, b.shape, f"linear_backward db {what}", shape_hints=[
        ((n_samples, n_out), "db must be summed over the batch: b is added to every row of "
                             "the output, so db = dout.sum(axis=0)"),
        ((n_samples,), "db is summed over the wrong axis: db = dout.sum(axis=0), one entry "
                       "per output unit"),
        ((), "db must keep one entry per output unit: db = dout.sum(axis=0), not dout.sum()"),
    ])
    db_hints = [(dout.mean(axis=0), "db is the mean of dout over the batch; it is the sum, "
                                    "db = dout.sum(axis=0)")]
    if n_samples == n_out:
        db_hints.append((dout.sum(axis=1), "db is summed over the wrong axis: "
                                           "db = dout.sum(axis=0)"))
    expect_close(db, expected_db, f"linear_backward db {what}", hints=db_hints + [
        (-expected_db, "it has the wrong sign")])


@part("linear.forward", points=2)
def linear_forward_part(ctx):
    """linear_forward matches F.linear(x, W.T, b) on random 2-D inputs."""
    for name, (x, W, b, _) in random_linear_cases(ctx.rng).items():
        check_linear_forward(ctx, name, x, W, b)


@part("linear.backward", points=3)
def linear_backward_part(ctx):
    """dx, dW and db match PyTorch autograd for a random dout."""
    for name, case in random_linear_cases(ctx.rng).items():
        check_linear_backward(ctx, name, *case)


def not_flattened(error_message):
    return Fail(f"{error_message}; with a 3-D x your code fails where a 2-D x works: flatten "
                f"each sample first, x.reshape(x.shape[0], -1), so x of shape (N, d1, d2) "
                f"becomes (N, d1 * d2)")


@part("linear.any_rank", points=2)
def linear_any_rank_part(ctx):
    """x of shape (N, d1, ..., dk) is flattened; dx comes back in x's shape."""
    cases = {"3-D x": linear_case(ctx.rng, (4, 3, 5), 6),
             "4-D x": linear_case(ctx.rng, (3, 2, 3, 2), 5)}
    for name, (x, W, b, dout) in cases.items():
        try:
            check_linear_forward(ctx, name, x, W, b)
        except StudentError as error:
            if error.kind == "NotImplementedError":
                raise
            raise not_flattened(describe_student_error(error)) from None
        check_linear_backward(ctx, name, x, W, b, dout)


@part("linear.edge_cases", points=1, visible=False)
def linear_edge_cases_part(ctx):
    """One sample, one feature, one output unit, and inputs left unchanged."""
    rng = ctx.rng
    cases = {"one sample": linear_case(rng, (1, 5), 3),
             "one feature": linear_case(rng, (4, 1), 3),
             "one output unit": linear_case(rng, (4, 3), 1),
             "one sample of shape (2, 2, 2)": linear_case(rng, (1, 2, 2, 2), 2)}
    for name, (x, W, b, dout) in cases.items():
        check_linear_forward(ctx, name, x, W, b)
        check_linear_backward(ctx, name, x, W, b, dout)


# ---------------------------------------------------------------- activations

TORCH_ACTIVATIONS = {"relu": torch.relu, "sigmoid": torch.sigmoid, "tanh": torch.tanh}


@cached
def torch_activation(ref, layer, x, dout):
    x_t = ref.tensor(x, requires_grad=True)
    out = TORCH_ACTIVATIONS[layer](x_t)
    out.backward(ref.tensor(dout))
    return ref.numpy(out), ref.numpy(x_t.grad)


def activation_cases(rng):
    """Random inputs of a few shapes (no exact zeros), with a random dout."""
    cases = {}
    for shape in ((5, 4), (3, 2, 4), (7,)):
        x = 3.0 * rng.standard_normal(shape)
        cases[f"x of shape {shape}"] = (x, rng.standard_normal(shape))
    return cases


def check_activation_forward(ctx, layer, x, what, hints=(), nonfinite_hint=""):
    out = forward_output(ctx, layer, (x,))
    expected, _ = torch_activation(ctx.ref, layer, x, np.zeros_like(x))
    expect_shape(out, x.shape, f"{layer}_forward out ({what})")
    expect_close(out, expected, f"{layer}_forward out ({what})", hints=hints,
                 nonfinite_hint=nonfinite_hint)


def check_activation_backward(ctx, layer, x, dout, what, hints_for, nonfinite_hint=""):
    dx = backward_grads(ctx, layer, (x,), dout, 1)
    out, expected = torch_activation(ctx.ref, layer, x, dout)
    expect_shape(dx, x.shape, f"{layer}_backward dx ({what})")
    hints = list(hints_for(x, out, dout, expected)) + [
        (-expected, "it has the wrong sign"),
        (dout, f"{layer}_backward returned dout unchanged: multiply it by the local "
               f"derivative of {layer}"),
    ]
    expect_close(dx, expected, f"{layer}_backward dx ({what})", hints=hints,
                 nonfinite_hint=nonfinite_hint)


def relu_backward_hints(x, out, dout, expected):
    return [
        (dout, "relu_backward returned dout unmasked: the gradient is 0 where x <= 0, "
               "dx = dout * (x > 0)"),
        ((x > 0).astype(np.float64), "it returns the mask x > 0 without dout: "
                                     "dx = dout * (x > 0)"),
        (dout * (x <= 0), "the mask is inverted: the gradient flows where x > 0"),
        (dout * np.maximum(x, 0.0), "it multiplies dout by relu(x); the derivative of ReLU is "
                                    "1 where x > 0 and 0 elsewhere"),
        (dout * (x >= 0), "at exactly x == 0 the gradient must be 0, as in PyTorch: use the "
                          "mask x > 0, not x >= 0"),
    ]


def sigmoid_backward_hints(x, s, dout, expected):
    return [
        (dout * s, "it uses s instead of s * (1 - s): the derivative of the sigmoid is "
                   "s * (1 - s) with s = sigmoid(x)"),
        (s * (1.0 - s), "it is missing the factor dout: by the chain rule "
                        "dx = dout * s * (1 - s)"),
        (dout * x * (1.0 - x), "it applies s * (1 - s) to the input x; s must be "
                               "sigmoid(x) (keep it in the cache)"),
        (dout * (1.0 - s), "it uses 1 - s instead of s * (1 - s)"),
    ]


def tanh_backward_hints(x, t, dout, expected):
    return [
        (dout * (1.0 - x**2), "it uses 1 - x**2; the derivative is 1 - tanh(x)**2, in terms "
                              "of the output t = tanh(x) (keep it in the cache)"),
        (1.0 - t**2, "it is missing the factor dout: by the chain rule "
                     "dx = dout * (1 - tanh(x)**2)"),
        (dout * (1.0 - t), "the square is missing: dx = dout * (1 - t**2)"),
        (dout * t**2, "it uses t**2 instead of 1 - t**2"),
    ]


BACKWARD_HINTS = {"relu": relu_backward_hints, "sigmoid": sigmoid_backward_hints,
                  "tanh": tanh_backward_hints}


def forward_hints(layer, x):
    if layer == "relu":
        return [(np.abs(x), "it returns |x|: ReLU is max(0, x)"),
                (np.minimum(x, 0.0), "it returns min(0, x); ReLU is max(0, x)")]
    if layer == "sigmoid":
        return [(1.0 / (1.0 + np.exp(np.clip(x, -700, 700))),
                 "it computes 1 / (1 + exp(x)) = sigmoid(-x); the sigmoid is "
                 "1 / (1 + exp(-x))")]
    return [(1.0 / np.cosh(x) ** 2, "it returns the derivative 1 - tanh(x)**2 instead of tanh")]


def add_activation_parts(layer, summary):
    def forward(ctx):
        for what, (x, _) in activation_cases(ctx.rng).items():
            check_activation_forward(ctx, layer, x, what, hints=forward_hints(layer, x))

    def backward(ctx):
        for what, (x, dout) in activation_cases(ctx.rng).items():
            check_activation_backward(ctx, layer, x, dout, what, BACKWARD_HINTS[layer])

    forward.__doc__ = f"{layer}_forward matches {summary} on inputs of several shapes."
    backward.__doc__ = f"{layer}_backward matches the autograd gradient of {summary}."
    part(f"{layer}.forward", points=1)(forward)
    part(f"{layer}.backward", points=2)(backward)


add_activation_parts("relu", "torch.relu")


@part("relu.zeros", points=1, visible=False)
def relu_zeros_part(ctx):
    """At exactly x == 0 the output and the gradient are 0, as in PyTorch."""
    x = np.array([[0.0, -0.0, 1.5, -2.0], [0.0, 3.0, 0.0, -1e-300]])
    dout = ctx.rng.standard_normal(x.shape) + 2.0
    check_activation_forward(ctx, "relu", x, "x with exact zeros")
    check_activation_backward(ctx, "relu", x, dout, "x with exact zeros", relu_backward_hints)
    x = np.zeros((3, 3))
    check_activation_backward(ctx, "relu", x, ctx.rng.standard_normal(x.shape),
                              "x all zeros", relu_backward_hints)


add_activation_parts("sigmoid", "torch.sigmoid")

SIGMOID_OVERFLOW_HINT = (
    "exp(-x) overflows for x below about -709 (and exp(x) for x above 709): compute "
    "e = np.exp(-np.abs(x)), which lies in (0, 1], and use 1 / (1 + e) where x >= 0 and "
    "e / (1 + e) where x < 0. Note that np.where(cond, A, B) computes A and B for every "
    "element, so a branch that overflows warns even where it is not selected"
)
EXTREMES = np.array([[-1e3, -750.0, -710.0, -40.0, -1.0, 0.0],
                     [1.0, 40.0, 710.0, 750.0, 1e3, -0.5]])


def check_no_warnings(reply, what, hint):
    if reply["warnings"]:
        raise Fail(f"{what} raised a warning ({reply['warnings'][0]}): {hint}")


def check_extremes(ctx, layer, hint):
    x = EXTREMES
    forward = run_layer(ctx, layer, (x,))
    check_no_warnings(forward, f"{layer}_forward on x of +-1e3", hint)
    check_activation_forward(ctx, layer, x, "x of +-1e3", nonfinite_hint=hint)
    dout = ctx.rng.standard_normal(x.shape)
    check_no_warnings(run_layer(ctx, layer, (x,), dout),
                      f"{layer}_backward on x of +-1e3", hint)
    check_activation_backward(ctx, layer, x, dout, "x of +-1e3", BACKWARD_HINTS[layer],
                              nonfinite_hint=hint)


@part("sigmoid.stability", points=2, visible=False)
def sigmoid_stability_part(ctx):
    """Exact for x of +-1e3 and +-710, with no overflow warning, forward and backward."""
    check_extremes(ctx, "sigmoid", SIGMOID_OVERFLOW_HINT)


add_activation_parts("tanh", "torch.tanh")


@part("tanh.stability", points=1, visible=False)
def tanh_stability_part(ctx):
    """Exact for x of +-1e3, with no overflow warning, forward and backward."""
    check_extremes(ctx, "tanh", "exp of a large number overflows: use np.tanh")


# ---------------------------------------------------------------- numerical_gradient

def torch_logsumexp(x):
    return torch.logsumexp(x.reshape(-1), dim=0)


# The same functions as ``autograder.probes.a2_backprop.FUNCTIONS``, in PyTorch.
TORCH_FUNCTIONS = {
    "sum(sin(x) * x)": lambda x: torch.sum(torch.sin(x) * x),
    "sum(x**3)": lambda x: torch.sum(x**3),
    "logsumexp(x)": torch_logsumexp,
    "sum(x**2) * sum(tanh(x))": lambda x: torch.sum(x**2) * torch.sum(torch.tanh(x)),
}


@cached
def autograd_gradient(ref, function, x):
    x_t = ref.tensor(x, requires_grad=True)
    TORCH_FUNCTIONS[function](x_t).backward()
    return ref.numpy(x_t.grad)


@cached
def torch_differences(ref, function, x, h):
    """(centered, one-sided) differences of the PyTorch function, computed here."""
    f = TORCH_FUNCTIONS[function]
    x_t = ref.tensor(x)
    f_x = f(x_t).item()
    centered, forward = np.zeros(x.shape), np.zeros(x.shape)
    for index in np.ndindex(x.shape):
        plus, minus = x_t.clone(), x_t.clone()
        plus[index] += h
        minus[index] -= h
        f_plus, f_minus = f(plus).item(), f(minus).item()
        centered[index] = (f_plus - f_minus) / (2 * h)
        forward[index] = (f_plus - f_x) / h
    return centered, forward


def call_numerical_gradient(ctx, function, x, h=None, closure=False):
    reply = ctx.student.call(f"{PROBE}.numerical_gradient", function, x, h, closure)
    if not isinstance(reply, dict):
        raise Fail("numerical_gradient could not be called")
    return reply


def numerical_gradient_hints(centered, one_sided):
    return [
        (one_sided, "it is the one-sided difference (f(x + h) - f(x)) / h; use the centered "
                    "difference (f(x + h) - f(x - h)) / (2 h), whose error is of order h**2 "
                    "instead of h"),
        (2 * centered, "it is twice too large: divide f(x + h) - f(x - h) by 2 h, not by h"),
        (-centered, "it has the wrong sign: (f(x + h) - f(x - h)) / (2 h)"),
    ]


def check_numerical_gradient(ctx, function, x, h=None, closure=False, against="autograd"):
    step = 1e-5 if h is None else h
    reply = call_numerical_gradient(ctx, function, x, h, closure)
    what = f"numerical_gradient of {function} at x of shape {x.shape}"
    if h is not None:
        what += f" with h={h:g}"
    if closure:
        what += " (f reads x through a closure)"
    grad = reply["grad"]
    expect_shape(grad, x.shape, what)
    centered, one_sided = torch_differences(ctx.ref, function, x, step)
    expected = autograd_gradient(ctx.ref, function, x) if against == "autograd" else centered
    hints = numerical_gradient_hints(centered, one_sided)
    if h is not None:
        default_centered, _ = torch_differences(ctx.ref, function, x, 1e-5)
        hints.insert(0, (default_centered, f"it ignores the h argument (it used h=1e-5, "
                                           f"not {h:g})"))
    if closure and (not reply["same_object"] or not np.any(grad)):
        raise Fail(f"{what} is wrong: f must be called with x itself, changed in place "
                   f"(x[i] = old + h, then old - h, then old). Your numerical_gradient "
                   f"{'passed f a copy of x' if not reply['same_object'] else 'got 0'}, so a "
                   f"function that reads x through a closure (a loss reading a model's "
                   f"parameters, say) never sees the change")
    after = reply["x_after"]
    if not (isinstance(after, np.ndarray) and after.shape == x.shape
            and np.allclose(after, x, rtol=0, atol=1e-8)):
        check_restored(reply, x, what)  # x left changed: every later entry was off
    expect_close(grad, expected, what, hints=hints, rtol=NG_RTOL, atol=NG_ATOL)
    return reply


def check_restored(reply, x, what):
    after = reply["x_after"]
    if isinstance(after, np.ndarray) and after.shape == x.shape and np.array_equal(after, x):
        return
    difference = np.max(np.abs(np.asarray(after, dtype=np.float64) - x))
    if 0 < difference < 1e-8:
        raise Fail(f"after {what} x is not exactly what it was: some entries are off by "
                   f"{difference:.1e}. Adding and then subtracting h does not always give back "
                   f"the same float: save the old value, old = x[i], and assign it back, "
                   f"x[i] = old")
    raise Fail(f"after {what} x has changed (by up to {difference:.3g}): restore each entry "
               f"to its old value after evaluating f, before moving to the next one (the "
               f"next evaluations would otherwise start from a wrong point)")


def ng_point(rng, shape):
    return rng.uniform(-2.0, 2.0, shape)


@part("numerical_gradient.value", points=2)
def numerical_gradient_value_part(ctx):
    """Centered differences match the autograd gradient of a few smooth functions."""
    cases = [("sum(sin(x) * x)", (3, 4)), ("logsumexp(x)", (6,)),
             ("sum(x**2) * sum(tanh(x))", (2, 3))]
    for function, shape in cases:
        check_numerical_gradient(ctx, function, ng_point(ctx.rng, shape))


@part("numerical_gradient.restores_x", points=1)
def numerical_gradient_restores_part(ctx):
    """After the call every entry of x is exactly what it was."""
    x = ng_point(ctx.rng, (4, 5))
    check_restored(call_numerical_gradient(ctx, "sum(x**3)", x), x, "numerical_gradient(f, x)")
    x = ng_point(ctx.rng, (3, 3)) * 1e3
    reply = call_numerical_gradient(ctx, "sum(sin(x) * x)", x, 1e-3)
    check_restored(reply, x, "numerical_gradient(f, x, h=1e-3)")


@part("numerical_gradient.edge_cases", points=2, visible=False)
def numerical_gradient_edge_cases_part(ctx):
    """A 3-D x, one entry, f reading x through a closure, and the h argument."""
    check_numerical_gradient(ctx, "sum(sin(x) * x)", ng_point(ctx.rng, (2, 3, 2)))
    check_numerical_gradient(ctx, "logsumexp(x)", ng_point(ctx.rng, (1,)))
    x = ng_point(ctx.rng, (3, 4))
    reply = check_numerical_gradient(ctx, "sum(x**2) * sum(tanh(x))", x, closure=True)
    check_restored(reply, x, "numerical_gradient(f, x) with f reading x through a closure")
    # With h = 0.1 the centered difference of x**3 is 3 x**2 + h**2: h must be used.
    check_numerical_gradient(ctx, "sum(x**3)", ng_point(ctx.rng, (5,)), h=0.1,
                             against="centered")


# ---------------------------------------------------------------- rel_error

def rel_error_by_hand(a, b, floor=1e-12):
    return float(np.max(np.abs(a - b) / np.maximum(floor, np.abs(a) + np.abs(b))))


def rel_error_hints(a, b):
    ratio = np.abs(a - b) / np.maximum(1e-12, np.abs(a) + np.abs(b))
    with np.errstate(divide="ignore", invalid="ignore"):
        return [
            (float(np.mean(ratio)), "it takes the mean over the entries; rel_error is the "
                                    "largest one, np.max"),
            (float(np.max(np.abs(a - b) / np.maximum(1e-12, np.abs(a + b)))),
             "the denominator is |a + b|; it is |a| + |b|"),
            (float(np.max(np.abs(a - b) / np.maximum(1e-12, np.maximum(np.abs(a),
                                                                       np.abs(b))))),
             "the denominator is max(|a|, |b|); it is |a| + |b|"),
            (float(np.max(np.abs(a - b))), "it is the absolute error; divide by "
                                           "max(1e-12, |a| + |b|)"),
            (rel_error_by_hand(a, b, floor=1e-8), "the floor of the denominator is 1e-8; "
                                                  "it is 1e-12"),
        ]


def check_rel_error(ctx, a, b, what):
    got = ctx.student.call(f"{LAYERS}.rel_error", a, b)
    if isinstance(got, np.ndarray) and got.size > 1:
        raise Fail(f"rel_error({what}) must return one number, the largest relative error, "
                   f"got an array of shape {got.shape}: take np.max")
    expected = rel_error_by_hand(a, b)
    got = as_number(got, f"rel_error({what})")
    if math.isnan(got):
        raise Fail(f"rel_error({what}) is nan: where a and b are both 0 the ratio is 0 / 0; "
                   f"the denominator is max(1e-12, |a| + |b|)")
    expect_close(got, expected, f"rel_error({what})", hints=rel_error_hints(a, b),
                 rtol=1e-9, atol=0.0)


@part("rel_error.value", points=1)
def rel_error_value_part(ctx):
    """rel_error matches max(|a - b| / max(1e-12, |a| + |b|)), computed by hand."""
    a = ctx.rng.standard_normal((4, 5))
    b = a + 1e-3 * ctx.rng.standard_normal((4, 5)) * (1 + ctx.rng.uniform(0, 3, (4, 5)))
    check_rel_error(ctx, a, b, "a, b of shape (4, 5)")
    a = np.array([1.0, -2.0, 0.5, 3.0])
    b = np.array([1.1, -2.5, -0.25, 3.0])
    check_rel_error(ctx, a, b, "a = [1, -2, 0.5, 3], b = [1.1, -2.5, -0.25, 3]")


@part("rel_error.zeros", points=1, visible=False)
def rel_error_zeros_part(ctx):
    """Zeros in both arrays give 0 (not nan), and the denominator's floor is 1e-12."""
    check_rel_error(ctx, np.zeros((2, 3)), np.zeros((2, 3)), "a = b = 0")
    a = np.array([0.0, 1.0, 1e-14, 2.0])
    b = np.array([0.0, 1.0 + 1e-9, 0.0, 2.0])
    check_rel_error(ctx, a, b, "a = [0, 1, 1e-14, 2], b = [0, 1 + 1e-9, 0, 2]")


# ---------------------------------------------------------------- MLP

MLP = f"{LAYERS}.MLP"
ACTIVATION_NAMES = ("relu", "sigmoid", "tanh")


def random_params(rng, dims):
    params = {}
    for layer in range(1, len(dims)):
        params[f"W{layer}"] = rng.standard_normal((dims[layer - 1], dims[layer])) \
            / np.sqrt(dims[layer - 1]) * 1.5
        params[f"b{layer}"] = 0.5 * rng.standard_normal(dims[layer])
    return params


def mlp_case(rng, dims, n_samples=7):
    X = rng.standard_normal((n_samples, dims[0]))
    y = rng.integers(0, dims[-1], n_samples)
    return X, y, random_params(rng, dims)


@cached
def torch_mlp(ref, dims, activation, reg, params, X, y=None, last_activation=False):
    """(scores, total loss, data loss, grads) of the PyTorch model with the same weights."""
    layers = []
    for layer in range(1, len(dims)):
        linear = torch.nn.Linear(dims[layer - 1], dims[layer], dtype=torch.float64,
                                 device=ref.device)
        with torch.no_grad():
            linear.weight.copy_(ref.tensor(params[f"W{layer}"].T))
            linear.bias.copy_(ref.tensor(params[f"b{layer}"]))
        layers.append(linear)
    out = ref.tensor(X)
    for index, linear in enumerate(layers):
        out = linear(out)
        if index < len(layers) - 1 or last_activation:
            out = TORCH_ACTIVATIONS[activation](out)
    scores = out
    if y is None:
        return ref.numpy(scores), None, None, None
    data_loss = F.cross_entropy(scores, ref.labels(y))
    total = data_loss + 0.5 * reg * sum((linear.weight**2).sum() for linear in layers)
    total.backward()
    grads = {}
    for layer, linear in enumerate(layers, start=1):
        grads[f"W{layer}"] = ref.numpy(linear.weight.grad).T
        grads[f"b{layer}"] = ref.numpy(linear.bias.grad)
    return ref.numpy(scores), total.item(), data_loss.item(), grads


def student_mlp_loss(ctx, dims, activation, reg, params, X, y=None):
    args = (X,) if y is None else (X, y)
    reply = ctx.student.object(MLP, args=(list(dims),),
                               kwargs={"activation": activation, "reg": reg},
                               set_attrs={"params": params}, calls=[("loss", args, {})])
    return reply["results"][0]


def mlp_what(dims, activation, reg):
    return f"MLP({list(dims)}, activation={activation!r}, reg={reg:g})"


def check_mlp_scores(ctx, dims, activation, X, params):
    scores = student_mlp_loss(ctx, dims, activation, 0.0, params, X)
    what = f"{mlp_what(dims, activation, 0.0)}.loss(X) scores"
    expected, _, _, _ = torch_mlp(ctx.ref, dims, activation, 0.0, params, X)
    if isinstance(scores, tuple):
        raise Fail(f"{what}: with y=None, loss(X) must return the scores array alone, got a "
                   f"tuple")
    with_last, _, _, _ = torch_mlp(ctx.ref, dims, activation, 0.0, params, X,
                                   last_activation=True)
    expect_shape(scores, expected.shape, what)
    expect_close(scores, expected, what, hints=[
        (with_last, f"the {activation} is applied after the last layer too; the last linear "
                    f"layer's output goes straight into the softmax"),
    ])


def check_mlp_loss(ctx, dims, activation, reg, X, y, params):
    result = student_mlp_loss(ctx, dims, activation, reg, params, X, y)
    loss, _ = unpack(result, 2, "MLP.loss(X, y)")
    _, total, data_loss, _ = torch_mlp(ctx.ref, dims, activation, reg, params, X, y)
    weights = sum(np.sum(params[f"W{k}"] ** 2) for k in range(1, len(dims)))
    biases = sum(np.sum(params[f"b{k}"] ** 2) for k in range(1, len(dims)))
    last = np.sum(params[f"W{len(dims) - 1}"] ** 2)
    expect_close(loss, total, f"{mlp_what(dims, activation, reg)} loss", hints=[
        (data_loss, "the L2 penalty 0.5 * reg * sum(W**2) is missing from the loss"),
        (data_loss + reg * weights, "the penalty is reg * sum(W**2); it is "
                                    "0.5 * reg * sum(W**2)"),
        (total + 0.5 * reg * biases, "the biases are regularized; only the weights W get the "
                                     "L2 penalty"),
        (data_loss + 0.5 * reg * last, "only the last layer's W is regularized; every W gets "
                                       "the L2 penalty"),
    ])


def check_mlp_gradients(ctx, dims, activation, reg, X, y, params):
    result = student_mlp_loss(ctx, dims, activation, reg, params, X, y)
    _, grads = unpack(result, 2, "MLP.loss(X, y)")
    what = mlp_what(dims, activation, reg)
    if not isinstance(grads, dict) or set(grads) != set(params):
        keys = sorted(grads) if isinstance(grads, dict) else type(grads).__name__
        raise Fail(f"{what}.loss(X, y) must return (loss, grads) with grads a dict with the "
                   f"keys of params, {sorted(params)}; got {keys}")
    _, _, _, expected = torch_mlp(ctx.ref, dims, activation, reg, params, X, y)
    n_layers = len(dims) - 1
    last = [f"W{n_layers}", f"b{n_layers}"]
    order = last + [name for name in sorted(expected) if name not in last]
    for name in order:
        expect_shape(grads[name], params[name].shape, f"{what}: grads[{name!r}]")
    for name in order:
        value = params[name]
        hints = []
        if name.startswith("W"):
            hints += [(expected[name] - reg * value, "the gradient of the L2 penalty, "
                                                     "reg * W, is missing"),
                      (expected[name] + reg * value, "the penalty's gradient is 2 * reg * W; "
                                                     "with the 0.5 it is reg * W")]
        else:
            hints += [(expected[name] + reg * value, "the bias is regularized; only the "
                                                     "weights W get the L2 penalty")]
        last_right = all(np.allclose(grads[k], expected[k]) for k in last)
        if name not in last and last_right:
            try:
                expect_close(grads[name], expected[name], f"{what}: grads[{name!r}]",
                             hints=hints)
            except Fail as fail:
                if "the largest difference" in str(fail):
                    raise Fail(
                        f"{what}: grads[{name!r}] is wrong while the last layer's gradients "
                        f"are right, so the mistake is in the backward pass below the last "
                        f"layer: going from the last layer to the first, each hidden layer "
                        f"needs {activation}_backward with its own cache, then "
                        f"linear_backward with its own cache ({fail})") from None
                raise
        else:
            expect_close(grads[name], expected[name], f"{what}: grads[{name!r}]", hints=hints)


def init_rules():
    return {
        "sqrt(2 / fan_out)": lambda fan_in, fan_out: math.sqrt(2 / fan_out),
        "2 / fan_in (that is the variance; the standard deviation is its square root)":
            lambda fan_in, fan_out: 2 / fan_in,
        "sqrt(1 / fan_in) (He initialization has a 2 for ReLU: sqrt(2 / fan_in))":
            lambda fan_in, fan_out: math.sqrt(1 / fan_in),
        "1 (standard normal weights, not scaled)": lambda fan_in, fan_out: 1.0,
    }


def check_init_params(params, dims, scale, what):
    expected_keys = {f"{kind}{k}" for k in range(1, len(dims)) for kind in "Wb"}
    if not isinstance(params, dict) or set(params) != expected_keys:
        keys = sorted(params) if isinstance(params, dict) else type(params).__name__
        raise Fail(f"{what}: params must be a dict with the keys {sorted(expected_keys)}, "
                   f"got {keys}")
    for k in range(1, len(dims)):
        fan_in, fan_out = dims[k - 1], dims[k]
        W, b = params[f"W{k}"], params[f"b{k}"]
        expect_shape(W, (fan_in, fan_out), f"{what}: params['W{k}']")
        expect_shape(b, (fan_out,), f"{what}: params['b{k}']")
        if np.any(b != 0):
            raise Fail(f"{what}: params['b{k}'] must start at 0")
        std, mean = float(np.std(W)), float(np.mean(W))
        wanted = scale if scale is not None else math.sqrt(2 / fan_in)
        if abs(std / wanted - 1) > 0.06 or abs(mean) > 5 * wanted / math.sqrt(W.size):
            if scale is None:
                for description, rule in init_rules().items():
                    if abs(std / rule(fan_in, fan_out) - 1) < 0.06 and fan_in != fan_out:
                        raise Fail(f"{what}: params['W{k}'] has standard deviation {std:.4g};"
                                   f" it should be sqrt(2 / fan_in) = {wanted:.4g} with fan_in"
                                   f" = {fan_in}, the layer's input size, but it looks like "
                                   f"{description}")
            elif abs(std / math.sqrt(2 / fan_in) - 1) < 0.06:
                raise Fail(f"{what}: params['W{k}'] has standard deviation {std:.4g}, "
                           f"sqrt(2 / fan_in): weight_scale={scale:g} was ignored")
            raise Fail(f"{what}: params['W{k}'] should be drawn from N(0, {wanted:.4g}**2); "
                       f"its entries have mean {mean:.3g} and standard deviation {std:.4g}")


@part("MLP.init", points=1)
def mlp_init_part(ctx):
    """Weights drawn from N(0, sqrt(2 / fan_in)**2) or N(0, weight_scale**2), zero biases."""
    dims = [300, 200, 100, 50]
    reply = ctx.student.object(MLP, args=(dims,), get=("params",))
    check_init_params(reply["attrs"]["params"], dims, None, f"MLP({dims})")
    dims = [100, 80, 40]
    reply = ctx.student.object(MLP, args=(dims,), kwargs={"weight_scale": 0.01, "seed": 3},
                               get=("params",))
    check_init_params(reply["attrs"]["params"], dims, 0.01,
                      f"MLP({dims}, weight_scale=0.01)")
    again = ctx.student.object(MLP, args=(dims,), kwargs={"weight_scale": 0.01, "seed": 3},
                               get=("params",))["attrs"]["params"]
    other = ctx.student.object(MLP, args=(dims,), kwargs={"weight_scale": 0.01, "seed": 4},
                               get=("params",))["attrs"]["params"]
    first = reply["attrs"]["params"]
    if not np.array_equal(again["W1"], first["W1"]):
        raise Fail("two MLPs with the same seed got different weights: draw every weight from "
                   "rng = np.random.default_rng(seed)")
    if np.array_equal(other["W1"], first["W1"]):
        raise Fail("MLPs with seeds 3 and 4 got the same weights: draw them from "
                   "np.random.default_rng(seed)")


@part("MLP.scores", points=2)
def mlp_scores_part(ctx):
    """loss(X) returns the scores of the PyTorch model with the same weights."""
    dims = [6, 5, 4]
    for activation in ACTIVATION_NAMES:
        X, _, params = mlp_case(ctx.rng, dims)
        check_mlp_scores(ctx, dims, activation, X, params)


@part("MLP.loss", points=2)
def mlp_loss_part(ctx):
    """The loss is F.cross_entropy plus 0.5 * reg * sum(W**2) over the weights."""
    dims = [6, 5, 4]
    for activation in ACTIVATION_NAMES:
        X, y, params = mlp_case(ctx.rng, dims)
        check_mlp_loss(ctx, dims, activation, 0.3, X, y, params)


@part("MLP.gradients", points=3)
def mlp_gradients_part(ctx):
    """Every gradient matches PyTorch autograd, for each activation."""
    for dims in ([6, 5, 4], [5, 5, 5, 3]):
        for activation in ACTIVATION_NAMES:
            X, y, params = mlp_case(ctx.rng, dims)
            check_mlp_gradients(ctx, dims, activation, 0.3, X, y, params)


@part("MLP.deep", points=2, visible=False)
def mlp_deep_part(ctx):
    """Four hidden layers, no hidden layer, one sample: loss and every gradient."""
    cases = [([5, 8, 7, 6, 6, 4], activation, 7) for activation in ACTIVATION_NAMES]
    cases += [([5, 3], "relu", 6), ([4, 6, 3], "tanh", 1)]
    for dims, activation, n_samples in cases:
        X, y, params = mlp_case(ctx.rng, dims, n_samples)
        check_mlp_loss(ctx, dims, activation, 0.1, X, y, params)
        check_mlp_gradients(ctx, dims, activation, 0.1, X, y, params)


@part("MLP.digits", points=2, visible=False)
def mlp_digits_part(ctx):
    """Trained by SGD, an MLP with 128 ReLU units reaches 95% test accuracy on the digits."""
    from course.datasets import load_digits

    data = load_digits(seed=0)
    reply = ctx.student.call(f"{PROBE}.train_mlp", data.X_train, data.y_train, data.X_test,
                             [64, 128, 10], activation="relu", reg=1e-3, lr=0.1, epochs=40,
                             batch_size=32, seed=0)
    predictions = reply["predictions"]
    if not isinstance(predictions, np.ndarray) or predictions.shape != data.y_test.shape:
        raise Fail("the scores of loss(X_test) must be an (N, 10) array")
    accuracy = float(np.mean(predictions == data.y_test))
    losses = reply["losses"]
    if accuracy < 0.95:
        trend = (f"the loss went from {losses[0]:.3f} to {np.mean(losses[-10:]):.3f}"
                 if losses else "no loss was recorded")
        raise Fail(f"MLP([64, 128, 10]) trained by SGD (lr=0.1, reg=1e-3, 40 epochs, batches "
                   f"of 32) reaches {accuracy:.1%} test accuracy ({trend}); a correct MLP "
                   f"reaches at least 95%")
