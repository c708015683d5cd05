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
``nn.Tanh``, ``nn.Sequential``, ``nn.Dropout``, ``nn.BatchNorm1d``, ``nn.LayerNorm``.
``Residual(f)`` computes ``x + f(x)``; PyTorch has no module for it.
"""
import math
import numbers

import numpy as np

from minidl._validate import as_finite_array
from minidl.autograd import Tensor
from minidl.init import as_generator

__all__ = ["Module", "Linear", "ReLU", "Sigmoid", "Tanh", "Sequential", "Residual",
           "Dropout", "BatchNorm1d", "LayerNorm"]


def as_tensor(x):
    """``x`` as it is when it is a Tensor; an array or a number as a constant Tensor."""
    return x if isinstance(x, Tensor) else Tensor(x)


def parameter(array):
    """A new leaf Tensor that requires a gradient: a trainable parameter."""
    return Tensor(array, requires_grad=True)


def _positive_int(name, value):
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}")
    return int(value)


def _number_in(name, value, low, high, low_open=False):
    if (not isinstance(value, numbers.Real) or isinstance(value, bool)
            or not math.isfinite(value) or value > high or value < low
            or (low_open and value == low)):
        bracket = "(" if low_open else "["
        raise ValueError(f"{name} must be a number in {bracket}{low}, {high}], got {value!r}")
    return float(value)


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
        named = [(prefix + name, tensor) for name, tensor in self.own_parameters()]
        for name, module in self.children():
            named += module.named_parameters(prefix=f"{prefix}{name}.")
        return named

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
        if not isinstance(mode, bool):
            raise ValueError(f"mode must be True or False, got {mode!r}")
        self.training = mode
        for _, child in self.children():
            child.train(mode)
        return self

    def eval(self):
        """Evaluation mode for this module and its descendants. PyTorch: ``module.eval()``."""
        return self.train(False)

    def zero_grad(self):
        """Reset the gradient of every parameter (descendants' included) to None, so the
        next ``backward()`` does not add to the previous one.
        PyTorch: ``module.zero_grad()`` (``set_to_none=True``, its default).
        """
        for tensor in self.parameters():
            tensor.grad = None

    # ------------------------------------------------------------ saving and loading

    def state_dict(self):
        """``{dotted name: array}`` of every parameter (its ``.data``) and every buffer,
        module by module (its own parameters, its own buffers, then each child's entries
        with the child's name and a dot in front), each a **copy**, so that training the
        module afterwards does not change a saved state. PyTorch: ``module.state_dict()``
        (without batch norm's ``num_batches_tracked``, which we do not keep).
        """
        state = {name: tensor.data.copy() for name, tensor in self.own_parameters()}
        state.update((name, np.array(getattr(self, name), dtype=np.float64))
                     for name in self.buffer_names)
        for name, module in self.children():
            state.update((f"{name}.{key}", value) for key, value in module.state_dict().items())
        return state

    def load_state_dict(self, state):
        """Copy every array of ``state`` (as ``state_dict()`` returns it) into the module.

        Strict, as PyTorch's default: the keys must be exactly the module's, and every array
        must have the shape of what it replaces; otherwise ValueError names the missing
        keys, the unexpected ones and the shape mismatches. Nothing is changed then.
        """
        if not isinstance(state, dict):
            raise ValueError(f"state must be a dict of arrays, got {type(state).__name__}")
        parameters = dict(self.named_parameters())
        buffers = dict(self.named_buffers())
        expected = {**{name: t.data.shape for name, t in parameters.items()},
                    **{name: np.shape(b) for name, b in buffers.items()}}
        problems = []
        missing = [name for name in expected if name not in state]
        unexpected = [name for name in state if name not in expected]
        if missing:
            problems.append(f"missing keys {missing}")
        if unexpected:
            problems.append(f"unexpected keys {unexpected}")
        arrays = {}
        for name in expected:
            if name in state:
                arrays[name] = as_finite_array(f"state[{name!r}]", state[name])
                if arrays[name].shape != expected[name]:
                    problems.append(f"{name!r} has shape {arrays[name].shape} in the state but "
                                    f"{expected[name]} in the module")
        if problems:
            raise ValueError(f"cannot load the state into {type(self).__name__}: "
                             + "; ".join(problems))
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
        self.in_features = _positive_int("in_features", in_features)
        self.out_features = _positive_int("out_features", out_features)
        rng = as_generator(rng)
        bound = 1.0 / math.sqrt(self.in_features)
        self.weight = parameter(rng.uniform(-bound, bound, (self.in_features,
                                                             self.out_features)))
        self.bias = parameter(rng.uniform(-bound, bound, self.out_features)) if bias else None

    def forward(self, x):
        x = as_tensor(x)
        if x.ndim < 1 or x.shape[-1] != self.in_features:
            raise ValueError(f"Linear({self.in_features}, {self.out_features}) needs inputs "
                             f"with {self.in_features} features in the last dimension, got "
                             f"shape {x.shape}")
        out = x @ self.weight
        return out if self.bias is None else out + self.bias

    def extra_repr(self):
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")


# ---------------------------------------------------------------- activations


class ReLU(Module):
    """``max(x, 0)`` entry by entry. PyTorch: ``nn.ReLU()``."""

    def forward(self, x):
        x = as_tensor(x)
        return x.relu()


class Sigmoid(Module):
    """``1 / (1 + exp(-x))`` entry by entry. PyTorch: ``nn.Sigmoid()``."""

    def forward(self, x):
        x = as_tensor(x)
        return x.sigmoid()


class Tanh(Module):
    """``tanh(x)`` entry by entry. PyTorch: ``nn.Tanh()``."""

    def forward(self, x):
        x = as_tensor(x)
        return x.tanh()


# ---------------------------------------------------------------- containers


class Sequential(Module):
    """Modules applied one after the other: ``Sequential(f, g, h)(x) = h(g(f(x)))``.

    The k-th module is the child named ``str(k)``, so its parameters are named
    ``"k.weight"``, as in PyTorch's ``nn.Sequential``.
    """

    def __init__(self, *modules):
        super().__init__()
        for index, module in enumerate(modules):
            if not isinstance(module, Module):
                raise ValueError(f"Sequential takes Modules; argument {index} is a "
                                 f"{type(module).__name__}")
            setattr(self, str(index), module)

    def __len__(self):
        return len(self.children())

    def __getitem__(self, index):
        return [module for _, module in self.children()][index]

    def forward(self, x):
        for _, module in self.children():
            x = module(x)
        return x


class Residual(Module):
    """A skip connection around ``module``: ``x + module(x)``.

    The identity path gives every layer below a direct route for the gradient:
    ``d(x + f(x))/dx = I + df/dx``, which cannot vanish even when ``df/dx`` is tiny. The
    child is named ``"module"`` (its parameters are ``"module.weight"`` and so on).
    """

    def __init__(self, module):
        super().__init__()
        if not isinstance(module, Module):
            raise ValueError(f"Residual wraps a Module, got {type(module).__name__}")
        self.module = module

    def forward(self, x):
        x = as_tensor(x)
        out = self.module(x)
        if out.shape != x.shape:
            raise ValueError(f"Residual needs a module that keeps the shape of its input: "
                             f"{x.shape} became {out.shape}")
        return x + out


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
        self.p = _number_in("p", p, 0.0, 1.0)
        self.rng = as_generator(rng)

    def forward(self, x):
        x = as_tensor(x)
        if not self.training or self.p == 0.0:
            return x
        if self.p == 1.0:
            return x * 0.0
        keep = self.rng.random(x.shape) < 1.0 - self.p
        return x * (keep / (1.0 - self.p)).astype(x.data.dtype)

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
        self.num_features = _positive_int("num_features", num_features)
        self.eps = _number_in("eps", eps, 0.0, math.inf, low_open=True)
        self.momentum = _number_in("momentum", momentum, 0.0, 1.0)
        self.weight = parameter(np.ones(self.num_features))
        self.bias = parameter(np.zeros(self.num_features))
        self.running_mean = np.zeros(self.num_features)
        self.running_var = np.ones(self.num_features)

    def forward(self, x):
        x = as_tensor(x)
        if x.ndim != 2 or x.shape[1] != self.num_features:
            raise ValueError(f"BatchNorm1d({self.num_features}) needs inputs of shape "
                             f"(N, {self.num_features}), got {x.shape}")
        if self.training and x.shape[0] < 2:
            raise ValueError(f"BatchNorm1d in training mode needs more than 1 sample per "
                             f"feature to compute a variance, got input of shape {x.shape}")
        if self.training:
            n = x.shape[0]
            mean = x.mean(axis=0)
            centered = x - mean
            var = (centered**2).mean(axis=0)
            self.running_mean *= 1.0 - self.momentum
            self.running_mean += self.momentum * mean.data
            self.running_var *= 1.0 - self.momentum
            self.running_var += self.momentum * var.data * n / (n - 1)
            x_hat = centered * (var + self.eps) ** -0.5
        else:
            inv_std = 1.0 / np.sqrt(self.running_var + self.eps)
            # The buffers are float64: a float32 input stays float32, as in PyTorch.
            x_hat = (x - self.running_mean.astype(x.data.dtype)) * inv_std.astype(x.data.dtype)
        return x_hat * self.weight + self.bias

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
        if isinstance(normalized_shape, (tuple, list)):
            if len(normalized_shape) != 1:
                raise ValueError(f"LayerNorm normalizes over the last dimension only: "
                                 f"normalized_shape must be an int or a tuple of one int, "
                                 f"got {normalized_shape!r}")
            (normalized_shape,) = normalized_shape
        self.normalized_shape = _positive_int("normalized_shape", normalized_shape)
        self.eps = _number_in("eps", eps, 0.0, math.inf, low_open=True)
        self.weight = parameter(np.ones(self.normalized_shape))
        self.bias = parameter(np.zeros(self.normalized_shape))

    def forward(self, x):
        x = as_tensor(x)
        if x.ndim < 1 or x.shape[-1] != self.normalized_shape:
            raise ValueError(f"LayerNorm({self.normalized_shape}) needs inputs whose last "
                             f"dimension is {self.normalized_shape}, got shape {x.shape}")
        mean = x.mean(axis=-1, keepdims=True)
        centered = x - mean
        var = (centered**2).mean(axis=-1, keepdims=True)
        return centered * (var + self.eps) ** -0.5 * self.weight + self.bias

    def extra_repr(self):
        return f"{self.normalized_shape}, eps={self.eps}"
