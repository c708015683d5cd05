"""One training step of an MLP 784-256-10 on a batch of 256 (forward, backward, SGD update),
in float64 and float32, minidl against PyTorch on the CPU, timed side by side (in turns).

1. The a5 model: `minidl.nn.Sequential(Linear, ReLU, Linear)`, `autograd.cross_entropy`
   and `optim.SGD`, against the same `torch.nn` model, `F.cross_entropy` and
   `torch.optim.SGD`. Target: at most 1.10x PyTorch.
2. The functional layers of a2 (`layers.linear_forward` ... `linear_backward`,
   `linear.softmax_loss`, and the update written out). `linear_backward` returns `dx`, the
   gradient of the input batch, as the course's API does, so it is compared with PyTorch
   doing that work too (the input with `requires_grad`). Target: at most 1.10x that.
   PyTorch without the input's gradient, and plain numpy written by hand, are shown for
   reference.

Both libraries spend most of the step in the same five matrix products (two forward, three
backward, the input's gradient skipped), so the ratios measure what each adds around them:
minidl records its graph in Python, checks every input for shape, dtype and NaN, and
allocates new arrays where PyTorch reuses buffers."""
import sys

import numpy as np
import torch
import torch.nn.functional as F
from timing import interleaved_medians

from autograder.layout import SOLUTIONS

sys.path.insert(0, str(SOLUTIONS))
from minidl import layers, linear, nn, optim  # noqa: E402  (the reference library)
from minidl.autograd import cross_entropy  # noqa: E402

SIZES = (784, 256, 10)
BATCH = 256
LR = 0.01
DTYPES = (np.float64, np.float32)


def problem(dtype, seed=0):
    """A batch, its labels, and the weights of both layers (``x @ W + b`` layout)."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((BATCH, SIZES[0])).astype(dtype)
    y = rng.integers(0, SIZES[2], BATCH)
    params = {
        "W1": (rng.standard_normal(SIZES[:2]) * np.sqrt(2 / SIZES[0])).astype(dtype),
        "b1": np.zeros(SIZES[1], dtype),
        "W2": (rng.standard_normal(SIZES[1:]) * np.sqrt(2 / SIZES[1])).astype(dtype),
        "b2": np.zeros(SIZES[2], dtype),
    }
    return X, y, params


# ---------------------------------------------------------------- the a5 model


def minidl_module_stepper(X, y, params):
    model = nn.Sequential(nn.Linear(*SIZES[:2]), nn.ReLU(), nn.Linear(*SIZES[1:]))
    model.load_state_dict({"0.weight": params["W1"], "0.bias": params["b1"],
                           "2.weight": params["W2"], "2.bias": params["b2"]})
    optimizer = optim.SGD(model.parameters(), lr=LR)

    def step():
        loss = cross_entropy(model(X), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    return step, model


def torch_stepper(X, y, params, input_gradient=False):
    """PyTorch's step; with ``input_gradient`` it also computes the gradient of the input
    batch, the same work as minidl's ``linear_backward``."""
    dtype = torch.float32 if X.dtype == np.float32 else torch.float64
    model = torch.nn.Sequential(torch.nn.Linear(*SIZES[:2]), torch.nn.ReLU(),
                                torch.nn.Linear(*SIZES[1:])).to(dtype)
    with torch.no_grad():
        for layer, name in ((model[0], "1"), (model[2], "2")):
            layer.weight.copy_(torch.from_numpy(params[f"W{name}"].T))
            layer.bias.copy_(torch.from_numpy(params[f"b{name}"]))
    optimizer = torch.optim.SGD(model.parameters(), lr=LR)
    inputs, targets = torch.from_numpy(X).requires_grad_(input_gradient), torch.from_numpy(y)

    def step():
        optimizer.zero_grad()
        F.cross_entropy(model(inputs), targets).backward()
        optimizer.step()

    return step, model


def same_training(minidl_model, torch_model, dtype):
    """Both models took the same steps: their weights agree to the dtype's precision."""
    rtol = 1e-4 if dtype == np.float32 else 1e-10
    for ours, theirs in ((minidl_model[0].weight, torch_model[0].weight),
                         (minidl_model[2].weight, torch_model[2].weight)):
        assert ours.data.dtype == dtype
        np.testing.assert_allclose(ours.data, theirs.detach().numpy().T, rtol=rtol, atol=rtol)


# ---------------------------------------------------------------- functional layers


def functional_step(X, y, params):
    hidden, cache1 = layers.linear_forward(X, params["W1"], params["b1"])
    activated, cache_relu = layers.relu_forward(hidden)
    scores, cache2 = layers.linear_forward(activated, params["W2"], params["b2"])
    _, dscores = linear.softmax_loss(scores, y)
    dactivated, dW2, db2 = layers.linear_backward(dscores, cache2)
    dhidden = layers.relu_backward(dactivated, cache_relu)
    _, dW1, db1 = layers.linear_backward(dhidden, cache1)
    for name, grad in (("W1", dW1), ("b1", db1), ("W2", dW2), ("b2", db2)):
        params[name] -= LR * grad


def numpy_step(X, y, params):
    hidden = X @ params["W1"] + params["b1"]
    activated = np.maximum(hidden, 0)
    scores = activated @ params["W2"] + params["b2"]
    shifted = scores - scores.max(axis=1, keepdims=True)
    probs = np.exp(shifted)
    probs /= probs.sum(axis=1, keepdims=True)
    probs[np.arange(len(y)), y] -= 1
    dscores = probs / len(y)
    dW2 = activated.T @ dscores
    dhidden = (dscores @ params["W2"].T) * (hidden > 0)
    params["W2"] -= LR * dW2
    params["b2"] -= LR * dscores.sum(axis=0)
    params["W1"] -= LR * (X.T @ dhidden)
    params["b1"] -= LR * dhidden.sum(axis=0)


def stepper(step, X, y, params):
    """A function of no arguments that takes one step on this problem."""
    return lambda: step(X, y, params)


# ---------------------------------------------------------------- the run


def run(quick, progress):
    repeats = 5 if quick else 200
    module_rows, functional_rows = [], []
    for dtype in DTYPES:
        name = np.dtype(dtype).name
        minidl_step, minidl_model = minidl_module_stepper(*problem(dtype))
        torch_step, torch_model = torch_stepper(*problem(dtype))
        times = interleaved_medians({"minidl": minidl_step, "torch": torch_step}, repeats)
        same_training(minidl_model, torch_model, dtype)
        module_rows.append(f"| {name} | {1e3 * times['minidl']:.2f} | "
                           f"{1e3 * times['torch']:.2f} | "
                           f"{times['minidl'] / times['torch']:.2f} | <= 1.10 |")
        progress()
        times = interleaved_medians({
            "minidl": stepper(functional_step, *problem(dtype)),
            "same work": torch_stepper(*problem(dtype), input_gradient=True)[0],
            "torch": torch_stepper(*problem(dtype))[0],
            "numpy": stepper(numpy_step, *problem(dtype)),
        }, repeats)
        functional_rows.append(
            f"| {name} | {1e3 * times['minidl']:.2f} | {1e3 * times['same work']:.2f} | "
            f"{times['minidl'] / times['same work']:.2f} | <= 1.10 | "
            f"{1e3 * times['torch']:.2f} | {1e3 * times['numpy']:.2f} |")
        progress()
    return [f"Medians of {repeats} steps of each, timed in turns.", "",
            "### The a5 model: `nn.Sequential` + `cross_entropy` + `optim.SGD`", "",
            "| dtype | minidl (ms) | PyTorch (ms) | minidl / PyTorch | target |",
            "|---|---|---|---|---|", *module_rows, "",
            "### Functional layers (a2), with the input's gradient", "",
            "| dtype | minidl (ms) | PyTorch, same work (ms) | minidl / PyTorch | target "
            "| PyTorch without the input's gradient (ms) | numpy by hand (ms) |",
            "|---|---|---|---|---|---|---|", *functional_rows]


def steps(quick):
    return 2 * len(DTYPES)
