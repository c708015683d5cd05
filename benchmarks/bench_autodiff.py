"""Autodiff overhead on many small operations: a chain of 10,000 elementwise operations on
8-element float64 tensors, forward and backward, with the reference minidl.autograd and with
PyTorch eager on the CPU. On such tiny tensors the arithmetic is negligible: the time is the
engine's own bookkeeping per operation (recording the graph, ordering it, calling each
gradient). Target: minidl no slower per operation than PyTorch.

Then one long chain, `y = y * 0.99999 + 1e-5` repeated until it has 100,000 operations, and
the time of its `backward()` alone: the topological order is built without recursion, and
the sweep visits each node once. Target: under a second."""
import sys
import time

import numpy as np
import torch
from timing import interleaved_medians

from autograder.layout import SOLUTIONS

sys.path.insert(0, str(SOLUTIONS))
from minidl import autograd  # noqa: E402  (the reference library)

SIZE = 8
OPS_PER_STEP = 5  # y = tanh(y * w + b) - y * c: mul, add, tanh, mul, sub


def chain(tensor, n_ops):
    """A function that builds the chain on fresh leaves and runs backward through it."""
    steps = n_ops // OPS_PER_STEP
    start, w, b, c = (np.linspace(-1.0, 1.0, SIZE), np.full(SIZE, 0.9), np.full(SIZE, 0.1),
                      np.full(SIZE, 0.01))

    def forward_backward():
        x, weight, bias, scale = (tensor(a) for a in (start, w, b, c))
        y = x
        for _ in range(steps):
            y = (y * weight + bias).tanh() - y * scale
        y.sum().backward()
        return x.grad

    return forward_backward


def minidl_tensor(array):
    return autograd.Tensor(array, requires_grad=True)


def torch_tensor(array):
    return torch.tensor(array, dtype=torch.float64, requires_grad=True)


def long_chain_backward_seconds(n_ops):
    """Seconds that ``backward()`` takes through a chain of ``n_ops`` operations."""
    x = autograd.Tensor(np.ones(2), requires_grad=True)
    y = x
    for _ in range(n_ops // 2):
        y = y * 0.99999 + 1e-5
    loss = y.sum()
    start = time.perf_counter()
    loss.backward()
    seconds = time.perf_counter() - start
    np.testing.assert_allclose(x.grad, 0.99999 ** (n_ops // 2), rtol=1e-9)
    return seconds


def run(quick, progress):
    n_ops = 400 if quick else 10_000
    repeats = 3 if quick else 40
    minidl_run, torch_run = chain(minidl_tensor, n_ops), chain(torch_tensor, n_ops)
    # Both engines must compute the same gradient, or the timing compares nothing.
    np.testing.assert_allclose(minidl_run(), torch_run().numpy(), rtol=1e-10)
    times = interleaved_medians({"minidl": minidl_run, "torch": torch_run}, repeats)
    minidl_us, torch_us = (1e6 * times[name] / n_ops for name in ("minidl", "torch"))
    progress()
    chain_ops = 10_000 if quick else 100_000
    chain_seconds = long_chain_backward_seconds(chain_ops)
    progress()
    return [f"{n_ops:,} operations on tensors of {SIZE} entries (chain `y = tanh(y * w + b) - "
            f"y * c`), forward and backward, medians of {repeats} runs each, timed in turns.",
            "",
            "| minidl (us/op) | PyTorch eager (us/op) | minidl / PyTorch | target |",
            "|---|---|---|---|",
            f"| {minidl_us:.2f} | {torch_us:.2f} | {minidl_us / torch_us:.2f} | <= 1.00 |",
            "", "| chain | backward (s) | target |", "|---|---|---|",
            f"| {chain_ops:,} operations | {chain_seconds:.2f} | < 1.00 |"]


def steps(quick):
    return 2
