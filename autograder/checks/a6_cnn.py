"""Checks for a6_cnn: ``minidl.conv`` and the convolutional modules of ``minidl.nn`` against
PyTorch, part by part in notebook order.

PyTorch equivalents (the notebook states the same):

- ``im2col(x, k, stride, padding)``: ``F.unfold(x, k, padding=padding, stride=stride)``, whose
  (N, C*KH*KW, L) is ours after ``permute(1, 2, 0).reshape(C*KH*KW, L*N)``; ``col2im``:
  ``F.fold`` of the same layout
- ``conv2d``, ``max_pool2d``, ``avg_pool2d``: ``F.conv2d``, ``F.max_pool2d``, ``F.avg_pool2d``
  (a cross-correlation, no kernel flip; max-pool ties send the gradient to the first maximum)
- ``x.gelu(approximate="tanh")``, ``x.leaky_relu(negative_slope)``: ``F.gelu``, ``F.leaky_relu``
- ``nn.Conv2d``, ``nn.BatchNorm2d``, ``nn.MaxPool2d``, ``nn.AvgPool2d``, ``nn.Flatten``,
  ``nn.GELU``, ``nn.LeakyReLU``: the ``torch.nn`` modules of the same names and arguments

A scenario is ``(operation, arrays, options)`` in the vocabulary of
``autograder.probes.a6_cnn``: the probe runs it on the student's Tensors and sends back
values and gradients; the same scenario runs here on PyTorch. The mistakes each part
explains are in ``solutions/mistakes/a6_cnn.py``.
"""
import math

import numpy as np
import torch
import torch.nn.functional as F

from autograder.compare import unpack
from autograder.framework import Assignment, Fail
from autograder.probes.a6_cnn import MODULES, OPERATIONS, describe, resolve
from autograder.reference import cached

ASSIGNMENT = Assignment("a6_cnn")
part = ASSIGNMENT.part

CONV = "minidl.conv"
PROBE = "autograder.probes.a6_cnn"


# ---------------------------------------------------------------- im2col and col2im

@part("im2col.value", points=2)
def im2col_value(ctx):
    """im2col matches F.unfold (in im2col's layout), with strides and padding."""
    for shape, options in (((2, 3, 5, 5), {"kernel_size": 3}),
                           ((3, 2, 6, 7), {"kernel_size": (2, 3), "stride": 2, "padding": 1}),
                           ((1, 4, 4, 4), {"kernel_size": 2, "stride": 1, "padding": 2})):
        x = ctx.rng.standard_normal(shape)
        ctx.expect_close(f"im2col(x {shape}, {show(options)})",
                         lambda who, x=x, options=options: who.call(f"{CONV}.im2col", x,
                                                                     **options),
                         torch_im2col(ctx.ref, x, options))


@part("col2im.adjoint", points=2)
def col2im_adjoint(ctx):
    """col2im matches F.fold: overlapping windows add up, padding is dropped."""
    for shape, options in (((2, 3, 5, 5), {"kernel_size": 3}),
                           ((2, 2, 6, 5), {"kernel_size": 3, "stride": 2, "padding": 1}),
                           ((1, 1, 4, 4), {"kernel_size": 2, "stride": 1, "padding": 1})):
        cols = ctx.rng.standard_normal(torch_im2col(ctx.ref, np.zeros(shape), options).shape)
        ctx.expect_close(f"col2im(cols {cols.shape}, x_shape={shape}, {show(options)})",
                         lambda who, cols=cols, shape=shape, options=options: who.call(
                             f"{CONV}.col2im", cols, shape, **options),
                         torch_col2im(ctx.ref, cols, shape, options))


# ---------------------------------------------------------------- conv2d

@part("conv2d.forward", points=3)
def conv2d_forward(ctx):
    """conv2d matches F.conv2d (stride 1, no padding) on random batches, with and without bias."""
    for x_shape, w_shape, bias in (((2, 3, 6, 6), (4, 3, 3, 3), True),
                                   ((3, 1, 8, 8), (2, 1, 5, 5), False),
                                   ((1, 2, 5, 7), (3, 2, 2, 4), True)):
        expect_operation(ctx, "conv2d", conv_arrays(ctx.rng, x_shape, w_shape, bias), {},
                         outputs=("out",))


@part("conv2d.gradient", points=3, explained_by=("conv2d.forward",))
def conv2d_gradient(ctx):
    """The gradients of x, weight and bias match PyTorch's autograd."""
    for x_shape, w_shape in (((2, 3, 6, 6), (4, 3, 3, 3)), ((3, 2, 5, 4), (2, 2, 2, 3))):
        expect_operation(ctx, "conv2d", conv_arrays(ctx.rng, x_shape, w_shape, True), {},
                         outputs=("x", "weight", "bias"))


@part("conv2d.stride_padding", points=2, explained_by=("conv2d.forward",))
def conv2d_stride_padding(ctx):
    """Output size (H + 2p - K) // s + 1, values and gradients, with strides and padding."""
    for x_shape, w_shape, options in (
            ((2, 3, 7, 7), (4, 3, 3, 3), {"stride": 2, "padding": 1}),
            ((2, 2, 8, 6), (3, 2, 3, 2), {"stride": (2, 1), "padding": (0, 2)}),
            ((1, 3, 9, 9), (2, 3, 4, 4), {"stride": 3, "padding": 2})):
        expect_operation(ctx, "conv2d", conv_arrays(ctx.rng, x_shape, w_shape, True), options,
                         outputs=("out", "x", "weight", "bias"))


@part("conv2d.groups", points=2, explained_by=("conv2d.forward",))
def conv2d_groups(ctx):
    """Grouped and depthwise convolutions (groups=2, groups=C) match F.conv2d."""
    for x_shape, w_shape, groups in (((2, 4, 6, 6), (6, 2, 3, 3), 2),
                                     ((2, 3, 5, 5), (3, 1, 3, 3), 3),
                                     ((1, 6, 5, 4), (6, 2, 2, 2), 3)):
        expect_operation(ctx, "conv2d", conv_arrays(ctx.rng, x_shape, w_shape, True),
                         {"groups": groups, "padding": 1},
                         outputs=("out", "x", "weight", "bias"))


@part("conv2d.edge_cases", points=2, visible=False,
      explained_by=("conv2d.forward", "conv2d.stride_padding", "conv2d.groups"))
def conv2d_edge_cases(ctx):
    """1x1 kernels, a kernel as large as the padded input, padding larger than the kernel,
    one image, and no bias."""
    for x_shape, w_shape, bias, options in (
            ((2, 5, 4, 4), (3, 5, 1, 1), True, {}),
            ((2, 2, 3, 3), (4, 2, 5, 5), True, {"padding": 1}),
            ((1, 1, 3, 3), (2, 1, 2, 2), False, {"padding": 3}),
            ((1, 3, 6, 6), (3, 3, 3, 3), False, {"stride": 2})):
        expect_operation(ctx, "conv2d", conv_arrays(ctx.rng, x_shape, w_shape, bias), options,
                         outputs=("out", "x", "weight", "bias"))


# ---------------------------------------------------------------- pooling

@part("max_pool2d.forward", points=2)
def max_pool2d_forward(ctx):
    """max_pool2d matches F.max_pool2d, with stride=None (= kernel_size) and overlapping windows."""
    for shape, options in (((2, 3, 6, 6), {"kernel_size": 2}),
                           ((1, 2, 7, 5), {"kernel_size": 3, "stride": 1}),
                           ((2, 1, 8, 8), {"kernel_size": (2, 4), "stride": 2})):
        expect_operation(ctx, "max_pool2d", [ctx.rng.standard_normal(shape)], options,
                         outputs=("out",))


@part("max_pool2d.gradient", points=2)
def max_pool2d_gradient(ctx):
    """The gradient goes to each window's maximum; with ties, to the first one, as PyTorch."""
    tied = ctx.rng.integers(0, 3, (2, 2, 6, 6)).astype(float)  # many equal maxima
    for x, options in ((ctx.rng.standard_normal((2, 3, 6, 6)), {"kernel_size": 2}),
                       (ctx.rng.standard_normal((1, 2, 7, 7)), {"kernel_size": 3, "stride": 2}),
                       (tied, {"kernel_size": 2}),
                       (tied, {"kernel_size": 3, "stride": 1})):
        expect_operation(ctx, "max_pool2d", [x], options, outputs=("x",))


@part("avg_pool2d.forward_gradient", points=2, explained_by=("max_pool2d.forward",))
def avg_pool2d_forward_gradient(ctx):
    """avg_pool2d and its gradient match F.avg_pool2d, with and without overlapping windows."""
    for shape, options in (((2, 3, 6, 6), {"kernel_size": 2}),
                           ((1, 2, 7, 5), {"kernel_size": 3, "stride": 2}),
                           ((2, 2, 6, 6), {"kernel_size": 3, "stride": 1})):
        expect_operation(ctx, "avg_pool2d", [ctx.rng.standard_normal(shape)], options,
                         outputs=("out", "x"))


# ---------------------------------------------------------------- modules

@part("Conv2d.init", points=1)
def conv2d_init(ctx):
    """Conv2d's weight and bias are drawn from U(-1/sqrt(fan_in), 1/sqrt(fan_in)),
    fan_in = in_channels / groups * KH * KW, as PyTorch."""
    for in_channels, out_channels, kernel_size, groups in ((16, 64, 3, 1), (12, 48, (3, 5), 4)):
        def weights(who, args=(in_channels, out_channels, kernel_size, groups)):
            return who.call(f"{PROBE}.conv_weights", *args, seed=7)

        got = weights(ctx.student)
        kh, kw = (kernel_size, kernel_size) if isinstance(kernel_size, int) else kernel_size
        bound = 1 / math.sqrt(in_channels // groups * kh * kw)
        shapes = {"weight": (out_channels, in_channels // groups, kh, kw),
                  "bias": (out_channels,)}
        what = (f"Conv2d({in_channels}, {out_channels}, kernel_size={kernel_size}, "
                f"groups={groups})")
        for key, shape in shapes.items():
            if key not in got or np.shape(got[key]) != shape:
                ctx.fail(f"{what}.{key} should have shape {shape}, got "
                         f"{np.shape(got[key]) if key in got else 'no ' + key}")
            problem = uniform_problem(got[key], bound)
            if problem:
                ctx.fail(f"{what}.{key} is not drawn from U(-{bound:.4f}, {bound:.4f}): "
                         f"{problem}", lambda who, key=key, ask=weights: ask(who)[key],
                         got[key], matches=same_uniform_bound)


@part("BatchNorm2d.train", points=2)
def batchnorm2d_train(ctx):
    """In train mode: per-channel statistics over (N, H, W), the gradients of x, weight and
    bias, and the running statistics after three batches, as nn.BatchNorm2d."""
    x = 2.0 + 3.0 * ctx.rng.standard_normal((4, 3, 5, 5))
    grad = ctx.rng.standard_normal(x.shape)
    parameters = {"weight": ctx.rng.uniform(0.5, 1.5, 3), "bias": ctx.rng.standard_normal(3)}
    expect_module(ctx, "BatchNorm2d", (3,), {}, x, grad, parameters, training=True, steps=3,
                  outputs=("out", "input_grad", "grads", "buffers"))


@part("BatchNorm2d.eval", points=1)
def batchnorm2d_eval(ctx):
    """In eval mode the running statistics normalize, after two batches in train mode."""
    x = 1.0 + 2.0 * ctx.rng.standard_normal((5, 2, 4, 4))
    expect_module(ctx, "BatchNorm2d", (2,), {"momentum": 0.3}, x, None, None, training=True,
                  steps=2, outputs=("buffers",))
    expect_module(ctx, "BatchNorm2d", (2,), {"momentum": 0.3}, x, None, None, training=False,
                  steps=1, outputs=("out",))


@part("GELU.value_gradient", points=1)
def gelu_value_gradient(ctx):
    """x.gelu(approximate="tanh") and nn.GELU match F.gelu(approximate="tanh"), with gradient."""
    x = 3.0 * ctx.rng.standard_normal((4, 7))
    expect_operation(ctx, "gelu", [x], {"approximate": "tanh"}, outputs=("out", "x"))
    expect_module(ctx, "GELU", (), {"approximate": "tanh"}, x, np.ones_like(x), None,
                  outputs=("out", "input_grad"))


@part("LeakyReLU.value_gradient", points=1)
def leaky_relu_value_gradient(ctx):
    """x.leaky_relu(negative_slope) and nn.LeakyReLU match F.leaky_relu, zeros included."""
    x = ctx.rng.standard_normal((5, 6))
    x[0, :3] = 0.0
    for slope in (0.01, 0.2):
        expect_operation(ctx, "leaky_relu", [x], {"negative_slope": slope},
                         outputs=("out", "x"))
    expect_module(ctx, "LeakyReLU", (), {"negative_slope": 0.1}, x, np.ones_like(x), None,
                  outputs=("out", "input_grad"))


@part("Flatten.shape", points=1)
def flatten_shape(ctx):
    """Flatten keeps the batch axis: (N, C, H, W) -> (N, C*H*W); the gradient flows back."""
    x = ctx.rng.standard_normal((3, 2, 4, 5))
    expect_module(ctx, "Flatten", (), {}, x, ctx.rng.standard_normal((3, 40)), None,
                  outputs=("out", "input_grad"))


@part("cnn.accuracy", points=3, visible=False)
def cnn_accuracy(ctx):
    """A small CNN of your modules, trained for 3 epochs with Adam, reaches at least 95%
    test accuracy on the 8x8 digits."""
    from course.datasets import load_digits

    data = load_digits(seed=0)
    images = {name: getattr(data, name).reshape(-1, 1, 8, 8) for name in ("X_train", "X_test")}
    predictions = ctx.student.call(f"{PROBE}.train_cnn", images["X_train"], data.y_train,
                                   images["X_test"], epochs=3, seed=0)
    if not isinstance(predictions, np.ndarray) or predictions.shape != data.y_test.shape:
        raise Fail(f"the CNN's predictions should have shape {data.y_test.shape}")
    accuracy = float(np.mean(predictions == data.y_test))
    if accuracy < 0.95:
        raise Fail(f"the CNN (conv -> BN -> ReLU twice, max pooling, a linear head) trained "
                   f"for 3 epochs reaches {accuracy:.1%} test accuracy; with correct modules "
                   "it reaches at least 95%. The other parts of this assignment find most "
                   "causes; check also that BatchNorm2d switches to its running statistics "
                   "in eval mode")


# ================================================================ what the parts ask

GRADIENT_NAMES = ("x", "weight", "bias")


def expect_operation(ctx, name, arrays, options, outputs):
    """Operation ``name`` on ``arrays`` matches PyTorch in each of ``outputs``: "out" (the
    values) or the name of an input (its gradient)."""
    grad = ctx.rng.standard_normal(torch_operation(ctx.ref, name, arrays, options)["out"].shape)
    expected = torch_operation(ctx.ref, name, arrays, options, grad)

    def ask(who):
        return who.call(f"{PROBE}.evaluate", name, arrays, options, grad)

    got = ask(ctx.student)
    call = describe(name, arrays, options)
    if "out" not in outputs and np.shape(got["out"]) != expected["out"].shape:
        outputs = ("out", *outputs)  # a gradient of the wrong output is no gradient
    for output in outputs:
        if output == "out":
            ctx.expect_close(call, lambda who: ask(who)["out"], expected["out"], got=got["out"])
            continue
        index = OPERATIONS[name].inputs.index(output)
        if arrays[index] is None:
            continue  # an absent input (no bias) has no gradient
        ctx.expect_close(f"the gradient of {output} in {call}",
                         lambda who, index=index: ask(who)["grads"][index],
                         expected["grads"][index], got=unpack(got["grads"], len(arrays),
                                                              "the gradients")[index])


def expect_module(ctx, name, args, kwargs, x, grad, parameters, outputs, training=True,
                  steps=1):
    """Module ``name(*args, **kwargs)`` run ``steps`` times on ``x`` matches torch.nn in each
    of ``outputs`` ("out", "input_grad", "grads", "buffers")."""
    expected = torch_module(ctx.ref, name, args, kwargs, x, grad, parameters, training, steps)

    def ask(who):
        return who.call(f"{PROBE}.run_module", name, args, kwargs, x, grad, training,
                        parameters, steps)

    got = ask(ctx.student)
    if "out" not in outputs and np.shape(got["out"]) != expected["out"].shape:
        outputs = ("out", *outputs)
    arguments = ", ".join([*map(repr, args), *(f"{k}={v!r}" for k, v in kwargs.items())])
    call = (f"nn.{name}({arguments}) in {'train' if training else 'eval'} mode on x {x.shape}"
            + (f", after {steps} batches" if steps > 1 else ""))
    for output in outputs:
        if output in ("grads", "buffers"):
            for key, value in expected[output].items():
                if key not in got[output]:
                    raise Fail(f"{call}: the module has no {key}")
                ctx.expect_close(f"{call}: {key}{'.grad' if output == 'grads' else ''}",
                                 lambda who, output=output, key=key: ask(who)[output][key],
                                 value, got=got[output][key])
        else:
            shown = "the output" if output == "out" else "the input's gradient"
            ctx.expect_close(f"{call}: {shown}", lambda who, output=output: ask(who)[output],
                             expected[output], got=got[output])


def uniform_problem(values, bound):
    """What shows that ``values`` are not drawn from U(-bound, bound), or "" if nothing does:
    the range, and the mean and variance within five standard errors."""
    values = np.asarray(values, dtype=np.float64).ravel()
    if values.size < 2 or np.abs(values).max() > bound * (1 + 1e-9):
        return f"the largest magnitude is {np.abs(values).max():.4f}, above the bound"
    if np.abs(values).max() < bound * (1 - 10 / values.size):
        return f"the largest magnitude is only {np.abs(values).max():.4f}"
    variance = bound**2 / 3
    if abs(values.mean()) > 5 * math.sqrt(variance / values.size):
        return f"the mean is {values.mean():.4f}, not 0"
    if abs(values.var() - variance) > 5 * math.sqrt(0.8 * variance**2 / values.size):
        return f"the variance is {values.var():.3g}, not bound**2 / 3 = {variance:.3g}"
    return ""


def same_uniform_bound(got, candidate):
    """Whether ``got`` looks drawn from the same uniform distribution as ``candidate``."""
    candidate = np.asarray(candidate, dtype=np.float64)
    return candidate.size > 1 and uniform_problem(got, np.abs(candidate).max()
                                                  * (1 + 10 / candidate.size)) == ""


def conv_arrays(rng, x_shape, w_shape, bias):
    return [rng.standard_normal(x_shape), rng.standard_normal(w_shape) / math.sqrt(
        np.prod(w_shape[1:])), rng.standard_normal(w_shape[0]) if bias else None]


def show(options):
    return ", ".join(f"{key}={value!r}" for key, value in options.items())


# ================================================================ PyTorch references

@cached
def torch_im2col(ref, x, options):
    kernel_size = options["kernel_size"]
    unfolded = F.unfold(ref.tensor(x), kernel_size, padding=options.get("padding", 0),
                        stride=options.get("stride", 1))
    return ref.numpy(unfolded.permute(1, 2, 0).reshape(unfolded.shape[1], -1))


@cached
def torch_col2im(ref, cols, shape, options):
    n = shape[0]
    per_image = ref.tensor(cols).reshape(cols.shape[0], -1, n).permute(2, 0, 1)
    return ref.numpy(F.fold(per_image, shape[2:], options["kernel_size"],
                            padding=options.get("padding", 0), stride=options.get("stride", 1)))


@cached
def torch_operation(ref, name, arrays, options, grad=None):
    """The values of operation ``name`` and, given ``grad``, each input's gradient."""
    tensors = [None if a is None else ref.tensor(a, requires_grad=True) for a in arrays]
    out = resolve(OPERATIONS[name].torch)(*tensors, **options)
    if grad is None:
        return {"out": ref.numpy(out)}
    out.backward(ref.tensor(grad))
    return {"out": ref.numpy(out),
            "grads": [None if t is None else ref.numpy(t.grad) for t in tensors]}


@cached
def torch_module(ref, name, args, kwargs, x, grad, parameters, training, steps):
    module = resolve(MODULES[name].torch)(*args, **kwargs).to(ref.device, torch.float64)
    with torch.no_grad():
        for key, value in (parameters or {}).items():
            getattr(module, key).copy_(ref.tensor(value))
    module.train(training)
    for _ in range(steps):
        inputs = ref.tensor(x, requires_grad=grad is not None)
        out = module(inputs)
    if grad is not None:
        out.backward(ref.tensor(grad))
    return {"out": ref.numpy(out),
            "input_grad": None if grad is None else ref.numpy(inputs.grad),
            "grads": {key: ref.numpy(p.grad) for key, p in module.named_parameters()}
            if grad is not None else {},
            "buffers": {key: ref.numpy(getattr(module, key))
                        for key in ("running_mean", "running_var") if hasattr(module, key)}}
