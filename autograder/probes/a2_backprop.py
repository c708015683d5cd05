"""The vocabulary of a2_backprop, and its probes (run in the process of the student's code).

``LAYERS`` declares each layer students write once: its name (``minidl.layers`` has
``<name>_forward`` and ``<name>_backward``), its inputs, the formula messages show, and what
it computes, written over a backend ``xp`` with numpy's names (and ``relu`` and ``sigmoid``,
which numpy lacks). Nothing here imports torch: the grader (``autograder.checks.a2_backprop``)
runs the same formulas on PyTorch through a backend that translates numpy's names, and the
probes below run the layers themselves on the student's ``minidl``. ``mlp_stack`` writes an
``MLP`` as the layers it stacks, and ``FUNCTIONS`` are the functions ``numerical_gradient``
is checked on, each run here on numpy and in the grader on PyTorch.
"""
import warnings
from typing import NamedTuple

import numpy as np

from autograder.probes import Unusable, plain


class Layer(NamedTuple):
    name: str
    inputs: tuple  # the names of the arrays ``<name>_forward`` takes, in order
    formula: str  # what ``<name>_forward`` computes, as a message shows it
    apply: object  # (xp, *inputs) -> out, with xp a backend with numpy's names

    @property
    def forward(self):
        return f"{self.name}_forward"

    @property
    def backward(self):
        return f"{self.name}_backward"


LAYERS = {layer.name: layer for layer in (
    Layer("linear", ("x", "W", "b"), "x.reshape(N, -1) @ W + b",
          lambda xp, x, W, b: xp.reshape(x, (x.shape[0], -1)) @ W + b),
    Layer("relu", ("x",), "max(0, x)", lambda xp, x: xp.relu(x)),
    Layer("sigmoid", ("x",), "1 / (1 + exp(-x))", lambda xp, x: xp.sigmoid(x)),
    Layer("tanh", ("x",), "tanh(x)", lambda xp, x: xp.tanh(x)),
)}


def mlp_stack(dims, activation):
    """The layers of ``MLP(dims, activation)``: (layer name, the names of its parameters) each,
    from the input to the scores."""
    stack = []
    for k in range(1, len(dims)):
        stack.append(("linear", (f"W{k}", f"b{k}")))
        if k < len(dims) - 1:
            stack.append((activation, ()))
    return stack


def run_stack(xp, stack, params, x):
    """The scores of ``stack`` on ``x``, with its parameters taken from ``params``."""
    for name, parameters in stack:
        x = LAYERS[name].apply(xp, x, *(params[key] for key in parameters))
    return x


def describe_stack(stack):
    """``stack`` as a message shows it: ``linear -> relu -> linear``."""
    return " -> ".join(name for name, _ in stack)


def logsumexp(xp, x):
    top = xp.max(x)
    return top + xp.log(xp.sum(xp.exp(x - top)))


# The functions numerical_gradient is checked on, by the formula messages show.
FUNCTIONS = {
    "sum(sin(x) * x)": lambda xp, x: xp.sum(xp.sin(x) * x),
    "sum(x**3)": lambda xp, x: xp.sum(x**3),
    "logsumexp(x)": logsumexp,
    "sum(x**2) * sum(tanh(x))": lambda xp, x: xp.sum(x**2) * xp.sum(xp.tanh(x)),
}


# ---------------------------------------------------------------- probes

def _layers():
    from minidl import layers

    return layers


def forward_backward(layer, inputs, dout=None):
    """Run the student's ``<layer>_forward`` on ``inputs`` and, given ``dout``, its backward
    pass on the cache, so the cache never leaves this process. Returns
    ``{"out", "grads", "warnings", "changed"}``: the output, what the backward pass returned
    (None without ``dout``), the warnings raised (an overflow) and the names of the inputs,
    and of ``dout``, that the passes changed in place."""
    spec = LAYERS[layer]
    layers = _layers()
    inputs = [np.array(value) for value in inputs]
    originals = [value.copy() for value in inputs]
    dout = None if dout is None else np.array(dout)
    dout_original = None if dout is None else dout.copy()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with np.errstate(over="warn", divide="warn", invalid="warn", under="ignore"):
            result = getattr(layers, spec.forward)(*inputs)
            if not isinstance(result, (tuple, list)) or len(result) != 2:
                raise Unusable(f"{spec.forward} must return a tuple (out, cache); it "
                                f"returned {_describe(result)}")
            out, cache = result
            grads = None if dout is None else getattr(layers, spec.backward)(dout, cache)
    changed = [name for name, value, original in zip(spec.inputs, inputs, originals, strict=True)
               if not np.array_equal(value, original)]
    if dout is not None and not np.array_equal(dout, dout_original):
        changed.append("dout")
    return {"out": plain(out, f"the out of {spec.forward}"),
            "grads": plain(grads, f"what {spec.backward} returned"),
            "warnings": [f"{w.category.__name__}: {w.message}" for w in caught],
            "changed": changed}


def _describe(value):
    if isinstance(value, (tuple, list)):
        return f"a {type(value).__name__} of {len(value)} items"
    return f"a value of type {type(value).__name__}"


def numerical_gradient(function, x, h=None, closure=False):
    """Call the student's ``numerical_gradient`` on ``FUNCTIONS[function]`` at ``x``.

    With ``closure`` the function ignores its argument and reads ``x`` itself, as a loss
    that reads a model's parameters does. Returns the gradient, ``x`` afterwards and whether
    every call of the function received ``x`` itself.
    """
    layers = _layers()
    f = FUNCTIONS[function]
    x = np.array(x, dtype=np.float64)
    same_object = True

    def watched(argument):
        nonlocal same_object
        same_object &= argument is x
        return float(f(np, x if closure else np.asarray(argument)))

    kwargs = {} if h is None else {"h": h}
    grad = layers.numerical_gradient(watched, x, **kwargs)
    return {"grad": plain(grad, "what numerical_gradient returned"), "x_after": x,
            "same_object": same_object}


def train_mlp(X_train, y_train, X_test, dims, activation="relu", reg=1e-3, lr=0.1, epochs=40,
              batch_size=32, seed=0):
    """Minibatch SGD on the student's MLP: the predicted classes of ``X_test`` and the loss
    of every batch."""
    layers = _layers()
    model = layers.MLP(dims, activation=activation, reg=reg, seed=seed)
    rng = np.random.default_rng(seed)
    losses = []
    for _ in range(epochs):
        order = rng.permutation(len(y_train))
        for start in range(0, len(order), batch_size):
            batch = order[start:start + batch_size]
            loss, grads = model.loss(X_train[batch], y_train[batch])
            for name in model.params:
                model.params[name] = model.params[name] - lr * grads[name]
            losses.append(float(loss))
    scores = np.asarray(plain(model.loss(X_test), "the scores of loss(X_test)"))
    return {"predictions": np.argmax(scores, axis=1), "losses": losses}
