"""Probes for a2_backprop, run in the process of the student's code (see ``__init__``).

- ``forward_backward`` runs a layer's forward and backward pass, so the student's cache
  never has to leave their process, and reports warnings (overflow) and inputs changed
  in place.
- ``numerical_gradient`` calls the student's ``numerical_gradient`` on one of the
  functions in ``FUNCTIONS`` (the grader has the same functions in PyTorch).
- ``train_mlp`` trains the student's ``MLP`` by minibatch SGD and returns test predictions.
"""
import warnings

import numpy as np

LAYERS = ("linear", "relu", "sigmoid", "tanh")
INPUT_NAMES = {"linear": ("x", "W", "b")}


def _layers():
    from minidl import layers

    return layers


def forward_backward(layer, inputs, dout=None):
    """``{"out", "grads", "warnings", "changed", "problem"}`` of one forward (and backward)."""
    if layer not in LAYERS:
        raise ValueError(f"unknown layer {layer!r}")
    layers = _layers()
    names = INPUT_NAMES.get(layer, ("x",))
    inputs = [np.array(value) for value in inputs]
    originals = [value.copy() for value in inputs]
    dout = None if dout is None else np.array(dout)
    dout_original = None if dout is None else dout.copy()
    reply = {"out": None, "grads": None, "warnings": [], "changed": [], "problem": ""}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with np.errstate(over="warn", divide="warn", invalid="warn", under="ignore"):
            result = getattr(layers, f"{layer}_forward")(*inputs)
            if not isinstance(result, (tuple, list)) or len(result) != 2:
                reply["problem"] = (f"{layer}_forward must return a tuple (out, cache), got "
                                    f"{_describe(result)}")
                return reply
            out, cache = result
            reply["out"] = _plain(out)
            if dout is not None:
                reply["grads"] = _plain(getattr(layers, f"{layer}_backward")(dout, cache))
    reply["warnings"] = [f"{w.category.__name__}: {w.message}" for w in caught]
    for name, value, original in zip(names, inputs, originals, strict=True):
        if not np.array_equal(value, original):
            reply["changed"].append(name)
    if dout is not None and not np.array_equal(dout, dout_original):
        reply["changed"].append("dout")
    return reply


def _plain(value):
    """Arrays and numbers as they are; a tuple or list item by item; anything else described."""
    if isinstance(value, (tuple, list)):
        return tuple(_plain(item) for item in value)
    if isinstance(value, (np.ndarray, int, float, np.generic)):
        return value
    return f"<{type(value).__name__}>"


def _describe(value):
    if isinstance(value, (tuple, list)):
        return f"a {type(value).__name__} of {len(value)} items"
    return f"a {type(value).__name__}"


# ---------------------------------------------------------------- numerical gradient

def _logsumexp(x):
    m = np.max(x)
    return m + np.log(np.sum(np.exp(x - m)))


FUNCTIONS = {
    "sum(sin(x) * x)": lambda x: np.sum(np.sin(x) * x),
    "sum(x**3)": lambda x: np.sum(x**3),
    "logsumexp(x)": _logsumexp,
    "sum(x**2) * sum(tanh(x))": lambda x: np.sum(x**2) * np.sum(np.tanh(x)),
}


def numerical_gradient(function, x, h=None, closure=False):
    """Call the student's ``numerical_gradient`` on ``FUNCTIONS[function]`` at ``x``.

    With ``closure`` the function ignores its argument and reads ``x`` itself, as a loss
    that reads a model's parameters does. Returns the gradient, ``x`` afterwards, the
    number of calls of the function and whether every call received ``x`` itself.
    """
    layers = _layers()
    f = FUNCTIONS[function]
    x = np.array(x, dtype=np.float64)
    calls = {"count": 0, "same_object": True}

    def counted(argument):
        calls["count"] += 1
        calls["same_object"] &= argument is x
        return float(f(x if closure else np.asarray(argument)))

    kwargs = {} if h is None else {"h": h}
    grad = layers.numerical_gradient(counted, x, **kwargs)
    return {"grad": _plain(grad), "x_after": x, "calls": calls["count"],
            "same_object": bool(calls["same_object"])}


# ---------------------------------------------------------------- training

def train_mlp(X_train, y_train, X_test, dims, activation="relu", reg=1e-3, lr=0.1, epochs=40,
              batch_size=32, seed=0):
    """Minibatch SGD on the student's MLP; the predicted classes of ``X_test``."""
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
    scores = np.asarray(model.loss(X_test))
    return {"predictions": np.argmax(scores, axis=1), "losses": losses}
