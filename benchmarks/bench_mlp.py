"""One training step of an MLP 784-256-10 on a batch of 256 (forward, backward, SGD update):
the reference minidl (functional layers of a2_backprop), PyTorch on the CPU, and plain
numpy written by hand, in float32 and float64. Target: minidl within 1.10x of PyTorch.

Where minidl's extra time goes (profiled stage by stage against the numpy version):
`linear_backward` returns `dx` as the course's API requires, so the first layer computes a
gradient for the input batch that nobody uses (a 256x256 by 256x784 product, about a third
of the backward pass); PyTorch and the numpy version skip it because the input needs no
gradient (the last two columns time PyTorch doing that work too). Every function also
checks its input for shape, dtype and NaN/inf so that a wrong call fails with a clear
message, and minidl computes in float64 by design, so its float32 row converts the inputs
first and pays for float64 arithmetic."""
import sys

import numpy as np
import torch
import torch.nn.functional as F
from timing import median_seconds

from autograder.layout import SOLUTIONS

sys.path.insert(0, str(SOLUTIONS))
from minidl import layers, linear  # noqa: E402  (the reference library)

SIZES = (784, 256, 10)
BATCH = 256
LR = 0.01


def problem(dtype, seed=0):
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


def minidl_step(X, y, params):
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


def torch_stepper(X, y, params, input_gradient=False):
    """PyTorch's step; with ``input_gradient`` it also computes the gradient of the input
    batch, the same work as minidl's ``linear_backward``."""
    dtype = torch.float32 if X.dtype == np.float32 else torch.float64
    model = torch.nn.Sequential(torch.nn.Linear(*SIZES[:2]), torch.nn.ReLU(),
                                torch.nn.Linear(*SIZES[1:])).to(dtype)
    with torch.no_grad():
        model[0].weight.copy_(torch.from_numpy(params["W1"].T))
        model[2].weight.copy_(torch.from_numpy(params["W2"].T))
    optimizer = torch.optim.SGD(model.parameters(), lr=LR)
    inputs, targets = torch.from_numpy(X).requires_grad_(input_gradient), torch.from_numpy(y)

    def step():
        optimizer.zero_grad()
        F.cross_entropy(model(inputs), targets).backward()
        optimizer.step()

    return step


def run(quick, progress):
    repeats = 5 if quick else 100
    lines = ["| dtype | minidl (ms) | PyTorch (ms) | numpy (ms) | minidl / PyTorch | target "
             "| PyTorch with the input's gradient (ms) | minidl / that |",
             "|---|---|---|---|---|---|---|---|"]
    for dtype in (np.float32, np.float64):
        minidl_ms = 1e3 * median_seconds(stepper(minidl_step, *problem(dtype)), repeats)
        numpy_ms = 1e3 * median_seconds(stepper(numpy_step, *problem(dtype)), repeats)
        torch_ms = 1e3 * median_seconds(torch_stepper(*problem(dtype)), repeats)
        same_work_ms = 1e3 * median_seconds(
            torch_stepper(*problem(dtype), input_gradient=True), repeats)
        lines.append(f"| {np.dtype(dtype).name} | {minidl_ms:.2f} | {torch_ms:.2f} | "
                     f"{numpy_ms:.2f} | {minidl_ms / torch_ms:.2f} | <= 1.10 | "
                     f"{same_work_ms:.2f} | {minidl_ms / same_work_ms:.2f} |")
        progress()
    return lines


def steps(quick):
    return 2
