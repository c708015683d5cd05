"""The vocabulary of a6_cnn, and its probes (run in the process of the student's code).

``OPERATIONS`` and ``MODULES`` declare each graded operation and module once: the minidl
name, the PyTorch name of its equivalent, and (for an operation) the names of its tensor
inputs. Both sides have the same arguments (NCHW images, filters ``(C_out, C_in / groups,
KH, KW)``), so one scenario, ``(name, arrays, options)``, runs on both: here on the student's
``minidl`` (``evaluate``, ``run_module``), and in the grader on PyTorch
(``autograder.checks.a6_cnn`` resolves the torch names; nothing here imports torch).
A name ``"Tensor.<method>"`` is a method of the first input.
"""
from typing import NamedTuple

import numpy as np

from autograder.probes import Unusable, plain


class Operation(NamedTuple):
    minidl: str
    torch: str
    inputs: tuple  # the names of its tensor arguments, in order


class ModuleKind(NamedTuple):
    minidl: str
    torch: str


OPERATIONS = {
    "conv2d": Operation("minidl.conv.conv2d", "torch.nn.functional.conv2d",
                        ("x", "weight", "bias")),
    "max_pool2d": Operation("minidl.conv.max_pool2d", "torch.nn.functional.max_pool2d", ("x",)),
    "avg_pool2d": Operation("minidl.conv.avg_pool2d", "torch.nn.functional.avg_pool2d", ("x",)),
    "gelu": Operation("Tensor.gelu", "torch.nn.functional.gelu", ("x",)),
    "leaky_relu": Operation("Tensor.leaky_relu", "torch.nn.functional.leaky_relu", ("x",)),
}

MODULES = {
    "Conv2d": ModuleKind("minidl.nn.Conv2d", "torch.nn.Conv2d"),
    "MaxPool2d": ModuleKind("minidl.nn.MaxPool2d", "torch.nn.MaxPool2d"),
    "AvgPool2d": ModuleKind("minidl.nn.AvgPool2d", "torch.nn.AvgPool2d"),
    "Flatten": ModuleKind("minidl.nn.Flatten", "torch.nn.Flatten"),
    "BatchNorm2d": ModuleKind("minidl.nn.BatchNorm2d", "torch.nn.BatchNorm2d"),
    "GELU": ModuleKind("minidl.nn.GELU", "torch.nn.GELU"),
    "LeakyReLU": ModuleKind("minidl.nn.LeakyReLU", "torch.nn.LeakyReLU"),
}


def describe(name, arrays, options):
    """The call a scenario makes, as a student would write it: ``conv2d(x (2, 3, 5, 5),
    weight (4, 3, 3, 3), stride=2)``."""
    shown = [f"{input_name} {np.shape(value)}" for input_name, value
             in zip(OPERATIONS[name].inputs, arrays, strict=False) if value is not None]
    shown += [f"{key}={value!r}" for key, value in options.items()]
    return f"{name}({', '.join(shown)})"


def resolve(dotted, first_input=None):
    """The function a vocabulary name stands for, on the side that imports it."""
    import importlib

    owner, _, attribute = dotted.rpartition(".")
    if owner == "Tensor":
        return getattr(first_input, attribute)
    return getattr(importlib.import_module(owner), attribute)


# ---------------------------------------------------------------- probes

def evaluate(name, arrays, options, grad):
    """Apply operation ``name`` to the student's Tensors made from ``arrays`` (None for an
    absent input, such as no bias), then ``backward(grad)``: returns the output's values and
    each input's gradient (None for an absent input)."""
    from minidl.autograd import Tensor

    tensors = [None if value is None else Tensor(value, requires_grad=True) for value in arrays]
    operation = resolve(OPERATIONS[name].minidl, tensors[0])
    if OPERATIONS[name].minidl.startswith("Tensor."):
        out = operation(**options)
    else:
        out = operation(*tensors, **options)
    if not isinstance(out, Tensor):
        raise Unusable(f"{name} returned a {type(out).__name__}; it must return a Tensor")
    if out.shape == np.shape(grad):  # else the grader reports the output's shape
        out.backward(grad)
    return {"out": plain(out.data, f"{name}(...).data"),
            "grads": [None if t is None else plain(t.grad, f"the gradient of input {k}")
                      for k, t in enumerate(tensors)]}


def run_module(name, args, kwargs, x, grad=None, training=True, parameters=None, steps=1):
    """Build module ``name`` of the student's ``minidl.nn``, optionally set its parameters,
    run it ``steps`` times on ``x`` in train or eval mode, and (given ``grad``) call backward
    on the last output. Returns the output, the input's gradient, the parameters and their
    gradients, and the buffers (running statistics) afterwards."""
    from minidl.autograd import Tensor

    module = resolve(MODULES[name].minidl)(*args, **kwargs)
    named = dict(module.named_parameters())
    for key, value in (parameters or {}).items():
        named[key].data = np.array(value, dtype=np.float64)
    module.train() if training else module.eval()
    for _ in range(steps):
        inputs = Tensor(x, requires_grad=grad is not None)
        out = module(inputs)
    if grad is not None and out.shape == np.shape(grad):  # else the grader reports the shape
        out.backward(grad)
    buffers = {key: plain(getattr(module, key), key)
               for key in ("running_mean", "running_var") if hasattr(module, key)}
    return {"out": plain(out.data, f"{name}(...) output"),
            "input_grad": None if grad is None else plain(inputs.grad, "the input's gradient"),
            "parameters": {key: plain(p.data, key) for key, p in named.items()},
            "grads": {key: plain(p.grad, f"{key}.grad") for key, p in named.items()}
            if grad is not None else {},
            "buffers": buffers}


def conv_weights(in_channels, out_channels, kernel_size, groups, seed):
    """The weight and bias of a freshly built ``Conv2d`` (PyTorch's default initialization)."""
    from minidl import nn

    layer = nn.Conv2d(in_channels, out_channels, kernel_size, groups=groups,
                      rng=np.random.default_rng(seed))
    return {key: plain(p.data, key) for key, p in layer.named_parameters()}


def train_cnn(X_train, y_train, X_test, epochs, seed):
    """Train the assignment's small CNN (conv -> BN -> ReLU twice, pooling, a linear head)
    on 1x8x8 digits with the student's modules and the course's Adam; return the predicted
    test labels."""
    from minidl import nn, optim
    from minidl.autograd import Tensor, cross_entropy
    from minidl.data import DataLoader

    rng = np.random.default_rng(seed)
    model = nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1, rng=rng), nn.BatchNorm2d(16), nn.ReLU(),
        nn.Conv2d(16, 32, 3, padding=1, rng=rng), nn.BatchNorm2d(32), nn.ReLU(),
        nn.MaxPool2d(2), nn.Flatten(), nn.Linear(32 * 4 * 4, 10, rng=rng))
    optimizer = optim.Adam(model.parameters(), lr=3e-3)
    model.train()
    for _ in range(epochs):
        for images, labels in DataLoader(X_train, y_train, batch_size=64, seed=seed):
            loss = cross_entropy(model(Tensor(images)), labels)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    model.eval()
    return plain(np.argmax(model(Tensor(X_test)).data, axis=1), "the predictions")
