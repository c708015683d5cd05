"""One convolution forward and backward: a batch of 64 images of 16 channels, 8x8 pixels,
through 32 filters of 3x3 with padding 1 and a bias, in float64 and float32, the reference
`minidl.conv.conv2d` against `F.conv2d` on the CPU, timed side by side (in turns). The
backward pass computes the gradients of the input, the filters and the bias in both
libraries. Target: at most 3x PyTorch.

minidl builds the im2col matrix (144 x 4096, nine times the input) with a strided view and
one copy, and does the forward pass in one matrix product and the backward pass in two more
and a col2im. PyTorch's float64 convolution on the CPU is the same algorithm
(`_slow_conv2d_forward`: im2col and matrix products); in float32 it runs oneDNN's
convolution kernels (`mkldnn_convolution`), made for float32 and the processor's vector
units."""
import sys

import numpy as np
import torch
import torch.nn.functional as F
from timing import interleaved_medians

from autograder.layout import SOLUTIONS

sys.path.insert(0, str(SOLUTIONS))
from minidl.autograd import Tensor  # noqa: E402  (the reference library)
from minidl.conv import conv2d  # noqa: E402

BATCH, IN_CHANNELS, SIZE, OUT_CHANNELS, KERNEL, PADDING = 64, 16, 8, 32, 3, 1
DTYPES = (np.float64, np.float32)


def problem(dtype, seed=0):
    """The input batch, the filters, the bias and the gradient of the output."""
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((BATCH, IN_CHANNELS, SIZE, SIZE)).astype(dtype),
            rng.standard_normal((OUT_CHANNELS, IN_CHANNELS, KERNEL, KERNEL)).astype(dtype),
            rng.standard_normal(OUT_CHANNELS).astype(dtype),
            rng.standard_normal((BATCH, OUT_CHANNELS, SIZE, SIZE)).astype(dtype))


def minidl_stepper(x, weight, bias, out_grad):
    leaves = [Tensor(array, requires_grad=True) for array in (x, weight, bias)]

    def step():
        for leaf in leaves:
            leaf.grad = None
        conv2d(*leaves, padding=PADDING).backward(out_grad)

    return step, leaves


def torch_stepper(x, weight, bias, out_grad):
    leaves = [torch.from_numpy(array).requires_grad_() for array in (x, weight, bias)]
    upstream = torch.from_numpy(out_grad)

    def step():
        for leaf in leaves:
            leaf.grad = None
        F.conv2d(*leaves, padding=PADDING).backward(upstream)

    return step, leaves


def same_gradients(minidl_leaves, torch_leaves, dtype):
    """Both libraries computed the same three gradients, to the dtype's precision."""
    rtol = 1e-4 if dtype == np.float32 else 1e-10
    for ours, theirs in zip(minidl_leaves, torch_leaves, strict=True):
        assert ours.grad.dtype == dtype
        np.testing.assert_allclose(ours.grad, theirs.grad.numpy(), rtol=rtol, atol=rtol)


def run(quick, progress):
    repeats = 5 if quick else 200
    rows = []
    for dtype in DTYPES:
        minidl_step, minidl_leaves = minidl_stepper(*problem(dtype))
        torch_step, torch_leaves = torch_stepper(*problem(dtype))
        times = interleaved_medians({"minidl": minidl_step, "torch": torch_step}, repeats)
        same_gradients(minidl_leaves, torch_leaves, dtype)
        rows.append(f"| {np.dtype(dtype).name} | {1e3 * times['minidl']:.2f} | "
                    f"{1e3 * times['torch']:.2f} | {times['minidl'] / times['torch']:.2f} | "
                    f"<= 3.00 |")
        progress()
    return [f"Input ({BATCH}, {IN_CHANNELS}, {SIZE}, {SIZE}), {OUT_CHANNELS} filters of "
            f"{KERNEL}x{KERNEL}, padding {PADDING}; medians of {repeats} forward and backward "
            "passes of each, timed in turns.", "",
            "| dtype | minidl (ms) | PyTorch (ms) | minidl / PyTorch | target |",
            "|---|---|---|---|---|", *rows]


def steps(quick):
    return len(DTYPES)
