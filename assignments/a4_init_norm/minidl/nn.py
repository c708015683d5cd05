"""Neural-network modules on the autodiff engine: layers that own their parameters.

A ``Module`` holds **parameters** (``Tensor``s with ``requires_grad=True``, which training
changes), **buffers** (float64 arrays that are part of the model's state but get no
gradient, such as batch norm's running statistics) and **child modules**. Every module
computes its output in ``forward`` out of ``Tensor`` operations only, so ``backward()``
differentiates any network built from them: no module here has a hand-written backward
pass.

Names follow PyTorch: a parameter's name is the path of attribute names down to it,
joined with dots (``"0.weight"`` for the weight of the first layer of a ``Sequential``),
and ``state_dict()`` maps every such name to a copy of its array.

PyTorch equivalents: ``torch.nn.Module``, ``nn.Linear`` (which stores ``weight.T``: ours is
``(in, out)`` so that a layer computes ``x @ W + b``), ``nn.ReLU``, ``nn.Sigmoid``,
``nn.Tanh``, ``nn.Sequential``, ``nn.Dropout``, ``nn.BatchNorm1d``, ``nn.LayerNorm``, and
for images (assignment 6, on ``minidl.conv``) ``nn.Conv2d``, ``nn.MaxPool2d``,
``nn.AvgPool2d``, ``nn.Flatten``, ``nn.BatchNorm2d``, ``nn.GELU``, ``nn.LeakyReLU``, all
with the same weight layout as PyTorch. ``Residual(f)`` computes ``x + f(x)``; PyTorch has
no module for it.
"""
import math

import numpy as np

from minidl._validate import (
    as_pair,
    boolean,
    channel_groups,
    channels_input,
    finite_number,
    fraction,
    instances,
    last_dimension,
    normalized_size,
    one_of,
    positive,
    same_shape,
    state_arrays,
    values_per_channel,
    whole_number,
    with_batch_axis,
)
from minidl.autograd import GELU_APPROXIMATIONS, Tensor
from minidl.init import as_generator

__all__ = ["Module", "Linear", "ReLU", "Sigmoid", "Tanh", "Sequential", "Residual",
           "Dropout", "BatchNorm1d", "LayerNorm", "Conv2d", "MaxPool2d", "AvgPool2d", "Flatten",
           "BatchNorm2d", "GELU", "LeakyReLU"]


def as_tensor(x):
    """``x`` as it is when it is a Tensor; an array or a number as a constant Tensor."""
    return x if isinstance(x, Tensor) else Tensor(x)


def parameter(array):
    """A new leaf Tensor that requires a gradient: a trainable parameter."""
    return Tensor(array, requires_grad=True)


# ---------------------------------------------------------------- Module


class Module:
    """Base class of every layer and network.

    Subclasses call ``super().__init__()`` first, then assign their parameters
    (``self.weight = parameter(...)``), buffers (arrays whose names are listed in the class
    attribute ``buffer_names``) and child modules as attributes, and define
    ``forward``. ``module(x)`` calls ``module.forward(x)``.
    """

    buffer_names = ()

    def __init__(self):
        self.training = True

    def __call__(self, *args):
        return self.forward(*args)

    def forward(self, *args):
        raise NotImplementedError(f"{type(self).__name__} defines no forward()")

    # ------------------------------------------------------------ what a module holds

    def children(self):
        """``(name, module)`` of each child module, in the order they were assigned."""
        return [(name, value) for name, value in vars(self).items()
                if isinstance(value, Module)]

    def own_parameters(self):
        """``(name, tensor)`` of this module's own parameters (not its children's): the
        attributes that are Tensors requiring a gradient, in the order they were assigned."""
        return [(name, value) for name, value in vars(self).items()
                if isinstance(value, Tensor) and value.requires_grad]

    def named_buffers(self, prefix=""):
        """``(dotted name, array)`` of every buffer of this module and its descendants:
        its own first, then each child's with the child's name and a dot in front."""
        found = [(prefix + name, getattr(self, name)) for name in self.buffer_names]
        for child_name, child in self.children():
            found += child.named_buffers(prefix=f"{prefix}{child_name}.")
        return found

    def named_parameters(self, prefix=""):
        """``(dotted name, tensor)`` of every parameter of this module and its descendants:
        its own parameters first (``own_parameters``), then each child's, with the child's
        name and a dot in front (``"0.weight"``, ``"block.1.bias"``), as ``named_buffers``
        does for buffers. PyTorch: ``module.named_parameters()``.
        """
        # YOUR CODE HERE
        raise NotImplementedError('Module.named_parameters: write it (see its docstring and a4_init_norm.ipynb)')

    def parameters(self):
        """Every parameter Tensor (for an optimizer). PyTorch: ``module.parameters()``."""
        return [tensor for _, tensor in self.named_parameters()]

    # ------------------------------------------------------------ modes and gradients

    def train(self, mode=True):
        """Set training mode (``mode=True``) or evaluation mode (``False``) on this module
        **and every descendant**, by setting their ``training`` attribute; return ``self``.
        Dropout and batch norm behave differently in the two modes.
        PyTorch: ``module.train(mode)``.
        """
        boolean("mode", mode)
        # YOUR CODE HERE
        raise NotImplementedError('Module.train: write it (see its docstring and a4_init_norm.ipynb)')

    def eval(self):
        """Evaluation mode for this module and its descendants. PyTorch: ``module.eval()``."""
        return self.train(False)

    def zero_grad(self):
        """Reset the gradient of every parameter (descendants' included) to None, so the
        next ``backward()`` does not add to the previous one.
        PyTorch: ``module.zero_grad()`` (``set_to_none=True``, its default).
        """
        # YOUR CODE HERE
        raise NotImplementedError('Module.zero_grad: write it (see its docstring and a4_init_norm.ipynb)')

    # ------------------------------------------------------------ saving and loading

    def state_dict(self):
        """``{dotted name: array}`` of every parameter (its ``.data``) and every buffer,
        module by module (its own parameters, its own buffers, then each child's entries
        with the child's name and a dot in front), each a **copy**, so that training the
        module afterwards does not change a saved state. PyTorch: ``module.state_dict()``
        (without batch norm's ``num_batches_tracked``, which we do not keep).
        """
        # YOUR CODE HERE
        raise NotImplementedError('Module.state_dict: write it (see its docstring and a4_init_norm.ipynb)')

    def load_state_dict(self, state):
        """Copy every array of ``state`` (as ``state_dict()`` returns it) into the module.

        Strict, as PyTorch's default: the keys must be exactly the module's, and every array
        must have the shape of what it replaces; otherwise ValueError names the missing
        keys, the unexpected ones and the shape mismatches. Nothing is changed then.
        """
        parameters = dict(self.named_parameters())
        buffers = dict(self.named_buffers())
        arrays = state_arrays(state, {**{name: t.data.shape for name, t in parameters.items()},
                                      **{name: np.shape(b) for name, b in buffers.items()}},
                              type(self).__name__)
        for name, tensor in parameters.items():
            tensor.data = arrays[name]
        for name, buffer in buffers.items():
            buffer[...] = arrays[name]  # in place: the module keeps its own array

    def __repr__(self):
        inner = "".join(f"\n  ({name}): " + repr(child).replace("\n", "\n  ")
                        for name, child in self.children())
        return f"{type(self).__name__}({self.extra_repr()}{inner}{chr(10) if inner else ''})"

    def extra_repr(self):
        return ""


# ---------------------------------------------------------------- Linear


class Linear(Module):
    """``x @ weight + bias`` with ``weight`` of shape ``(in_features, out_features)``.

    Initialization as PyTorch's default: weight and bias both drawn from ``U(-k, k)`` with
    ``k = 1 / sqrt(in_features)``. (PyTorch arrives at this bound through
    ``kaiming_uniform_(w, a=sqrt(5))``; it is the same distribution.) Draw the weight first,
    then the bias, from the generator ``rng`` (see ``minidl.init.as_generator``).
    PyTorch: ``nn.Linear(in_features, out_features, bias)``, whose ``weight`` is our
    ``weight.T``.
    """

    def __init__(self, in_features, out_features, bias=True, rng=None):
        super().__init__()
        self.in_features = whole_number("in_features", in_features, 1)
        self.out_features = whole_number("out_features", out_features, 1)
        rng = as_generator(rng)
        # YOUR CODE HERE
        raise NotImplementedError('Linear.__init__: write it (see its docstring and a4_init_norm.ipynb)')

    def forward(self, x):
        x = as_tensor(x)
        last_dimension(f"Linear({self.in_features}, {self.out_features})", x.shape,
                       self.in_features)
        # YOUR CODE HERE
        raise NotImplementedError('Linear.forward: write it (see its docstring and a4_init_norm.ipynb)')

    def extra_repr(self):
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")


# ---------------------------------------------------------------- activations


class ReLU(Module):
    """``max(x, 0)`` entry by entry. PyTorch: ``nn.ReLU()``."""

    def forward(self, x):
        x = as_tensor(x)
        # YOUR CODE HERE
        raise NotImplementedError('ReLU.forward: write it (see its docstring and a4_init_norm.ipynb)')


class Sigmoid(Module):
    """``1 / (1 + exp(-x))`` entry by entry. PyTorch: ``nn.Sigmoid()``."""

    def forward(self, x):
        x = as_tensor(x)
        # YOUR CODE HERE
        raise NotImplementedError('Sigmoid.forward: write it (see its docstring and a4_init_norm.ipynb)')


class Tanh(Module):
    """``tanh(x)`` entry by entry. PyTorch: ``nn.Tanh()``."""

    def forward(self, x):
        x = as_tensor(x)
        # YOUR CODE HERE
        raise NotImplementedError('Tanh.forward: write it (see its docstring and a4_init_norm.ipynb)')


class GELU(Module):
    """``x * Phi(x)`` entry by entry (``Tensor.gelu``), by default in its tanh form.
    PyTorch: ``nn.GELU(approximate)``, whose default is "none"."""

    def __init__(self, approximate="tanh"):
        super().__init__()
        self.approximate = one_of("approximate", approximate, GELU_APPROXIMATIONS)

    def forward(self, x):
        x = as_tensor(x)
        # YOUR CODE HERE
        raise NotImplementedError('GELU.forward: write it (see its docstring and a6_cnn.ipynb)')

    def extra_repr(self):
        return f"approximate={self.approximate!r}"


class LeakyReLU(Module):
    """``x`` where ``x > 0``, ``negative_slope * x`` elsewhere (``Tensor.leaky_relu``).
    PyTorch: ``nn.LeakyReLU(negative_slope)``."""

    def __init__(self, negative_slope=0.01):
        super().__init__()
        self.negative_slope = finite_number("negative_slope", negative_slope)

    def forward(self, x):
        x = as_tensor(x)
        # YOUR CODE HERE
        raise NotImplementedError('LeakyReLU.forward: write it (see its docstring and a6_cnn.ipynb)')

    def extra_repr(self):
        return f"negative_slope={self.negative_slope}"


# ---------------------------------------------------------------- containers


class Sequential(Module):
    """Modules applied one after the other: ``Sequential(f, g, h)(x) = h(g(f(x)))``.

    The k-th module is the child named ``str(k)``, so its parameters are named
    ``"k.weight"``, as in PyTorch's ``nn.Sequential``.
    """

    def __init__(self, *modules):
        super().__init__()
        for index, module in enumerate(instances("Sequential", modules, Module)):
            setattr(self, str(index), module)

    def __len__(self):
        return len(self.children())

    def __getitem__(self, index):
        return [module for _, module in self.children()][index]

    def forward(self, x):
        # YOUR CODE HERE
        raise NotImplementedError('Sequential.forward: write it (see its docstring and a4_init_norm.ipynb)')


class Residual(Module):
    """A skip connection around ``module``: ``x + module(x)``.

    The identity path gives every layer below a direct route for the gradient:
    ``d(x + f(x))/dx = I + df/dx``, which cannot vanish even when ``df/dx`` is tiny. The
    child is named ``"module"`` (its parameters are ``"module.weight"`` and so on).
    """

    def __init__(self, module):
        super().__init__()
        (self.module,) = instances("Residual", (module,), Module)

    def forward(self, x):
        x = as_tensor(x)
        # YOUR CODE HERE
        raise NotImplementedError('Residual.forward: write it (see its docstring and a4_init_norm.ipynb)')
        same_shape("the output of Residual's module", out, "the input", x)
        # YOUR CODE HERE
        raise NotImplementedError('Residual.forward: write it (see its docstring and a4_init_norm.ipynb)')


# ---------------------------------------------------------------- Dropout


class Dropout(Module):
    """Inverted dropout: in training mode each entry is zeroed with probability ``p`` and the
    survivors are multiplied by ``1 / (1 - p)``, so every entry keeps its expected value
    and nothing needs rescaling at test time; in evaluation mode it is the identity.

    ``p = 0`` keeps everything and ``p = 1`` zeroes everything (as PyTorch). The random mask
    comes from ``rng`` (a Generator, an int seed or None), drawn anew at every call; it is
    a constant of the graph, so the gradient is ``out_grad * mask / (1 - p)``.
    PyTorch: ``nn.Dropout(p)``.
    """

    def __init__(self, p=0.5, rng=None):
        super().__init__()
        self.p = fraction("p", p)
        self.rng = as_generator(rng)

    def forward(self, x):
        x = as_tensor(x)
        # YOUR CODE HERE
        raise NotImplementedError('Dropout.forward: write it (see its docstring and a4_init_norm.ipynb)')

    def extra_repr(self):
        return f"p={self.p}"


# ---------------------------------------------------------------- normalization


class BatchNorm1d(Module):
    """Batch normalization of (N, C) inputs, feature by feature.

    Training mode: normalize with the **batch** mean ``mu`` and the **biased** batch
    variance ``var`` (divided by N), ``x_hat = (x - mu) / sqrt(var + eps)``, output
    ``weight * x_hat + bias``; and update the running statistics (PyTorch's rule)::

        running_mean = (1 - momentum) * running_mean + momentum * mu
        running_var  = (1 - momentum) * running_var  + momentum * var * N / (N - 1)

    (the **unbiased** variance goes into ``running_var``). Evaluation mode: normalize with
    ``running_mean`` and ``running_var`` instead, the same for every sample.
    A batch of one sample has no variance, so N = 1 in training mode raises ValueError.

    Parameters ``weight`` (ones) and ``bias`` (zeros) have shape (C,); buffers
    ``running_mean`` (zeros) and ``running_var`` (ones) are float64 arrays of shape (C,),
    updated in place. PyTorch: ``nn.BatchNorm1d(num_features, eps, momentum)``.
    """

    buffer_names = ("running_mean", "running_var")

    def __init__(self, num_features, eps=1e-5, momentum=0.1):
        super().__init__()
        self.num_features = whole_number("num_features", num_features, 1)
        self.eps = positive("eps", finite_number("eps", eps))
        self.momentum = fraction("momentum", momentum)
        self.weight = parameter(np.ones(self.num_features))
        self.bias = parameter(np.zeros(self.num_features))
        self.running_mean = np.zeros(self.num_features)
        self.running_var = np.ones(self.num_features)

    def forward(self, x):
        x = as_tensor(x)
        channels_input(f"BatchNorm1d({self.num_features})", x.shape, self.num_features,
                       images=False)
        values_per_channel("BatchNorm1d", x.shape, self.training)
        # YOUR CODE HERE
        raise NotImplementedError('BatchNorm1d.forward: write it (see its docstring and a4_init_norm.ipynb)')

    def extra_repr(self):
        return f"{self.num_features}, eps={self.eps}, momentum={self.momentum}"


class LayerNorm(Module):
    """Layer normalization: each sample normalized over its **last** dimension,
    ``(x - mu) / sqrt(var + eps) * weight + bias`` with the sample's own mean ``mu`` and
    biased variance ``var`` (over the D features). No batch statistics, so training and
    evaluation modes behave the same, and a batch of one sample works.

    ``normalized_shape`` is D (an int, or a tuple of one int); ``weight`` (ones) and
    ``bias`` (zeros) have shape (D,). PyTorch: ``nn.LayerNorm(normalized_shape, eps)``.
    """

    def __init__(self, normalized_shape, eps=1e-5):
        super().__init__()
        self.normalized_shape = normalized_size(normalized_shape)
        self.eps = positive("eps", finite_number("eps", eps))
        self.weight = parameter(np.ones(self.normalized_shape))
        self.bias = parameter(np.zeros(self.normalized_shape))

    def forward(self, x):
        x = as_tensor(x)
        last_dimension(f"LayerNorm({self.normalized_shape})", x.shape, self.normalized_shape)
        # YOUR CODE HERE
        raise NotImplementedError('LayerNorm.forward: write it (see its docstring and a4_init_norm.ipynb)')

    def extra_repr(self):
        return f"{self.normalized_shape}, eps={self.eps}"


class BatchNorm2d(BatchNorm1d):
    """Batch normalization of (N, C, H, W) feature maps, channel by channel.

    A channel's statistics are taken over the batch **and every position**: its mean and
    variance are those of its N * H * W values, and the unbiased variance in
    ``running_var`` divides by N * H * W - 1. Everything else is ``BatchNorm1d``'s: the same
    parameters and buffers of shape (C,), the same modes and the same update rule. One
    weight and one bias per channel, shared by every position, as a convolution's filter
    is: a feature map is normalized the same way wherever a feature appears.

    So the forward pass is ``BatchNorm1d``'s on a reshaped input: every pixel of every
    image becomes one row of C features, ``(N, C, H, W) -> (N * H * W, C)``, and the result
    is reshaped back. PyTorch: ``nn.BatchNorm2d(num_features, eps, momentum)``.
    """

    def forward(self, x):
        x = as_tensor(x)
        channels_input(f"BatchNorm2d({self.num_features})", x.shape, self.num_features,
                       images=True)
        values_per_channel("BatchNorm2d", x.shape, self.training)
        n, c, height, width = x.shape
        # YOUR CODE HERE
        raise NotImplementedError('BatchNorm2d.forward: write it (see its docstring and a6_cnn.ipynb)')


# ---------------------------------------------------------------- convolutional layers
# minidl.conv comes with assignment 6: the releases of assignments 4 and 5 ship this file
# but not conv.py, so the layers below import minidl.conv only when they run.


class Conv2d(Module):
    """A 2-D convolution layer: ``conv2d(x, weight, bias, stride, padding, groups)`` of
    ``minidl.conv`` with its own filters ``weight`` of shape
    (out_channels, in_channels / groups, KH, KW) and ``bias`` of shape (out_channels,),
    the layout of PyTorch.

    Initialization as PyTorch's default, the rule of ``Linear`` with the fan-in of one
    output unit: a unit sees ``in_channels / groups`` channels of a ``KH x KW`` window, so
    ``fan_in = in_channels / groups * KH * KW``; weight and bias are both drawn from
    ``U(-k, k)`` with ``k = 1 / sqrt(fan_in)``, the weight first, then the bias, from the
    generator ``rng``. ``kernel_size``, ``stride`` and ``padding`` are each an int or a pair
    (height, width); ``groups`` must divide both channel counts.
    PyTorch: ``nn.Conv2d(in_channels, out_channels, kernel_size, stride, padding,
    groups=groups, bias=bias)``.
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, groups=1,
                 bias=True, rng=None):
        super().__init__()
        self.in_channels = whole_number("in_channels", in_channels, 1)
        self.out_channels = whole_number("out_channels", out_channels, 1)
        self.kernel_size = as_pair("kernel_size", kernel_size, 1)
        self.stride = as_pair("stride", stride, 1)
        self.padding = as_pair("padding", padding, 0)
        self.groups = channel_groups(groups, self.in_channels, self.out_channels)
        rng = as_generator(rng)
        # YOUR CODE HERE
        raise NotImplementedError('Conv2d.__init__: write it (see its docstring and a6_cnn.ipynb)')

    def forward(self, x):
        from minidl.conv import conv2d

        x = as_tensor(x)
        channels_input(f"Conv2d({self.in_channels}, {self.out_channels})", x.shape,
                       self.in_channels, images=True)
        # YOUR CODE HERE
        raise NotImplementedError('Conv2d.forward: write it (see its docstring and a6_cnn.ipynb)')

    def extra_repr(self):
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}, padding={self.padding}, groups={self.groups}, "
                f"bias={self.bias is not None}")


class _Pool2d(Module):
    """What the pooling layers share: ``kernel_size`` and ``stride``, each an int or a pair
    (height, width); ``stride=None`` means ``kernel_size``, windows side by side."""

    def __init__(self, kernel_size, stride=None):
        super().__init__()
        self.kernel_size = as_pair("kernel_size", kernel_size, 1)
        self.stride = self.kernel_size if stride is None else as_pair("stride", stride, 1)

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}"


class MaxPool2d(_Pool2d):
    """The maximum of each window of each channel (``minidl.conv.max_pool2d``).
    PyTorch: ``nn.MaxPool2d(kernel_size, stride)``."""

    def forward(self, x):
        from minidl.conv import max_pool2d

        x = as_tensor(x)
        # YOUR CODE HERE
        raise NotImplementedError('MaxPool2d.forward: write it (see its docstring and a6_cnn.ipynb)')


class AvgPool2d(_Pool2d):
    """The mean of each window of each channel (``minidl.conv.avg_pool2d``).
    PyTorch: ``nn.AvgPool2d(kernel_size, stride)``."""

    def forward(self, x):
        from minidl.conv import avg_pool2d

        x = as_tensor(x)
        # YOUR CODE HERE
        raise NotImplementedError('AvgPool2d.forward: write it (see its docstring and a6_cnn.ipynb)')


class Flatten(Module):
    """Every axis but the first (the batch) flattened into one: (N, C, H, W) becomes
    (N, C * H * W), the input of a ``Linear`` head. PyTorch: ``nn.Flatten()``."""

    def forward(self, x):
        x = as_tensor(x)
        with_batch_axis("Flatten", x.shape)
        # YOUR CODE HERE
        raise NotImplementedError('Flatten.forward: write it (see its docstring and a6_cnn.ipynb)')
