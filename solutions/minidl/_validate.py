"""Input checks shared by every minidl module.

They turn bad input into a ValueError that names the problem, so a wrong
shape or an out-of-range label never produces a silently wrong number.

Floating-point type, as in PyTorch: float32 input stays float32 (half the memory, and
faster matrix products), anything else (ints, bools, float16, float64) becomes float64.
"""
import numbers
from typing import NamedTuple

import numpy as np

FLOAT_DTYPES = (np.dtype(np.float64), np.dtype(np.float32))


def float_dtype(array):
    """The dtype minidl computes ``array`` in: float32 for float32, float64 otherwise."""
    return np.float32 if array.dtype == np.float32 else np.float64


def as_float(a):
    """``a`` as an array of its ``float_dtype``, converted only when it is not float32 or
    float64 already (this runs for every operation: the common case is made cheap)."""
    array = np.asarray(a)
    return array if array.dtype in FLOAT_DTYPES else array.astype(np.float64)


def as_float_array(name, a, min_ndim=0):
    """Return ``a`` as a float array (float32 or float64, see ``float_dtype``) with finite
    entries and at least ``min_ndim`` dimensions, or raise ValueError naming the problem."""
    array = np.asarray(a)
    if array.dtype == object or not (
        np.issubdtype(array.dtype, np.number) or array.dtype == bool
    ):
        raise ValueError(f"{name} must be a numeric array, got dtype {array.dtype}")
    if array.ndim < min_ndim:
        raise ValueError(f"{name} must have at least {min_ndim} dimensions, got shape "
                         f"{array.shape}")
    array = array.astype(float_dtype(array), copy=False)
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} contains NaN or infinite values")
    return array


def as_float_matrix(name, a):
    """Return ``a`` as a 2-D float array with finite entries (see ``as_float_array``), or
    raise ValueError."""
    array = np.asarray(a)
    if array.ndim != 2:
        raise ValueError(f"{name} must be 2-D (N, C), got shape {array.shape}")
    return as_float_array(name, array)


def as_labels(y, n_samples, n_classes):
    """Return labels ``y`` as an int64 array of shape (n_samples,) with values in [0, n_classes)."""
    labels = np.asarray(y)
    if labels.ndim != 1 or labels.shape[0] != n_samples:
        raise ValueError(
            f"labels y must have shape ({n_samples},) to match the scores, got shape {labels.shape}"
        )
    if labels.size and not np.issubdtype(labels.dtype, np.integer):
        if not np.issubdtype(labels.dtype, np.floating) or np.any(labels != np.round(labels)):
            raise ValueError(f"labels y must be integers, got dtype {labels.dtype}")
    labels = labels.astype(np.int64)
    if labels.size and (labels.min() < 0 or labels.max() >= n_classes):
        raise ValueError(
            f"labels y must lie in [0, {n_classes - 1}] for {n_classes} classes, "
            f"got values from {labels.min()} to {labels.max()}"
        )
    return labels


def scores_and_labels(scores, y):
    """Validate a (scores, labels) pair as every loss expects it: (N, C) scores, N labels."""
    scores = as_float_matrix("scores", scores)
    if scores.shape[0] == 0 or scores.shape[1] == 0:
        raise ValueError(f"scores must have at least one sample and one class, got {scores.shape}")
    return scores, as_labels(y, scores.shape[0], scores.shape[1])


def as_finite_array(name, a):
    """Return a float copy of ``a`` (any shape; float32 or float64, see ``float_dtype``)
    with finite entries, or raise ValueError."""
    array = np.asarray(a)
    if array.dtype == object or not (
        np.issubdtype(array.dtype, np.number) or array.dtype == bool
    ):
        raise ValueError(f"{name} must be numeric (a number or an array of numbers), "
                         f"got {type(a).__name__} with dtype {array.dtype}")
    array = np.array(array, dtype=float_dtype(array))
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} contains NaN or infinite values")
    return array


def finite_number(name, value):
    """``value`` as a float if it is a finite real number (not a bool), or ValueError."""
    if (not isinstance(value, numbers.Real) or isinstance(value, bool)
            or not np.isfinite(value)):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    return float(value)


def one_of(name, value, choices):
    """``value`` if it is one of ``choices``, or ValueError listing them."""
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, choices))}, got {value!r}")
    return value


# ---------------------------------------------------------------- images and sliding windows


def as_pair(name, value, minimum):
    """``value``, an int or a pair of ints (height, width), as a pair of ints that are at
    least ``minimum``, or ValueError. ``3`` means ``(3, 3)``, as in PyTorch."""
    pair = tuple(value) if isinstance(value, (tuple, list)) else (value, value)
    if len(pair) != 2 or not all(isinstance(v, numbers.Integral) and not isinstance(v, bool)
                                 and v >= minimum for v in pair):
        raise ValueError(f"{name} must be an int >= {minimum} or a pair (height, width) of "
                         f"them, got {value!r}")
    return int(pair[0]), int(pair[1])


def images_shape(name, shape):
    """``shape`` as a tuple if it is that of a batch of images (N, C, H, W) with at least
    one channel and one pixel, or ValueError."""
    shape = tuple(shape)
    if len(shape) != 4:
        raise ValueError(f"{name} must be a batch of images of shape (N, C, H, W), got shape "
                         f"{shape}" + (": add the batch axis with reshape(1, *shape)"
                                       if len(shape) == 3 else ""))
    if 0 in shape[1:]:
        raise ValueError(f"{name} must have at least one channel and one pixel, got shape "
                         f"{shape}")
    return shape


class Windows(NamedTuple):
    """Where a kernel slides over images: each field is a (height, width) pair."""

    kernel: tuple
    stride: tuple
    padding: tuple
    out: tuple  # the number of window positions, down and across


def sliding_windows(x_shape, kernel_size, stride, padding):
    """The checked ``Windows`` of a ``kernel_size`` kernel sliding with ``stride`` over images
    of shape ``x_shape`` (N, C, H, W) padded by ``padding`` zeros on every side: it fits
    ``(H + 2 * padding - kernel) // stride + 1`` times down, and as many across with W."""
    _, _, height, width = images_shape("x", x_shape)
    kernel = as_pair("kernel_size", kernel_size, 1)
    stride = as_pair("stride", stride, 1)
    padding = as_pair("padding", padding, 0)
    padded = (height + 2 * padding[0], width + 2 * padding[1])
    if kernel[0] > padded[0] or kernel[1] > padded[1]:
        raise ValueError(f"the kernel {kernel} is larger than the padded input {padded} "
                         f"(input {(height, width)}, padding {padding}): no window fits")
    out = tuple((size - k) // s + 1 for size, k, s in zip(padded, kernel, stride, strict=True))
    return Windows(kernel, stride, padding, out)


# ---------------------------------------------------------------- settings, layers and models


def positive(name, value):
    """``value`` if it is a number greater than 0, or ValueError."""
    if not value > 0:
        raise ValueError(f"{name} must be positive, got {value}")
    return value


def non_negative(name, value):
    """``value`` if it is a number of at least 0, or ValueError."""
    if not value >= 0:
        raise ValueError(f"{name} must be non-negative, got {value}")
    return value


def layer_sizes(dims):
    """``dims``, the sizes ``[D, H1, ..., C]`` of a network's layers, as a tuple of ints, or
    ValueError."""
    if not isinstance(dims, (list, tuple, np.ndarray)) or len(dims) < 2:
        raise ValueError(f"dims must be a list [D, H1, ..., C] of at least 2 sizes, "
                         f"got {dims!r}")
    if not all(isinstance(d, numbers.Integral) and not isinstance(d, bool) and d >= 1
               for d in dims):
        raise ValueError(f"every size in dims must be a positive integer, got {list(dims)!r}")
    return tuple(int(d) for d in dims)


def features(X, n_features):
    """``X`` as a float matrix (N, n_features), or ValueError."""
    X = as_float_matrix("X", X)
    if X.shape[1] != n_features:
        raise ValueError(f"X must have {n_features} features (columns), got shape {X.shape}")
    return X


def batch(X, n_features):
    """``X`` as a float array (N, d1, ..., dk) of N samples of ``n_features`` = d1 * ... * dk
    values each, or ValueError."""
    X = as_float_array("X", X, min_ndim=2)
    if int(np.prod(X.shape[1:])) != n_features:
        raise ValueError(f"X must have D = {n_features} features per sample, got shape "
                         f"{X.shape}")
    return X


def linear_inputs(x, W, b):
    """The inputs of a linear layer as float arrays: ``x`` (N, d1, ..., dk), ``W`` (D, M)
    with D = d1 * ... * dk, and ``b`` (M,); or ValueError."""
    x = as_float_array("x", x, min_ndim=2)
    W = as_float_array("W", W)
    b = as_float_array("b", b)
    if W.ndim != 2:
        raise ValueError(f"W must be 2-D (D, M), got shape {W.shape}")
    n_features = int(np.prod(x.shape[1:]))
    if W.shape[0] != n_features:
        raise ValueError(
            f"W must have D = {n_features} rows to match x of shape {x.shape} "
            f"(each sample has {n_features} features), got W of shape {W.shape}")
    if b.shape != (W.shape[1],):
        raise ValueError(f"b must have shape ({W.shape[1]},) to match W of shape {W.shape}, "
                         f"got shape {b.shape}")
    return x, W, b


def check_dout_shape(dout, shape):
    """Raise ValueError unless ``dout``, the gradient of a layer's output, has the output's
    ``shape``."""
    if dout.shape != shape:
        raise ValueError(f"dout must have the shape of the layer's output {shape}, "
                         f"got shape {dout.shape}")


def check_gradient_inputs(f, x, h):
    """Raise ValueError unless ``f`` is a function, ``x`` a float array (changed in place, so
    never converted) and the step ``h`` positive."""
    if not callable(f):
        raise ValueError(f"f must be a function of x, got {type(f).__name__}")
    if not isinstance(x, np.ndarray) or not np.issubdtype(x.dtype, np.floating):
        kind = f"an array of dtype {x.dtype}" if isinstance(x, np.ndarray) else type(x).__name__
        raise ValueError(f"numerical_gradient changes x in place, so x must be a numpy array of "
                         f"floats, got {kind}")
    positive("the step h", h)


def returned_number(name, value):
    """The float that the function ``name`` returned, or ValueError when ``value`` is not a
    single number."""
    array = np.asarray(value)
    if array.size != 1 or not np.issubdtype(array.dtype, np.number):
        raise ValueError(f"{name} must return a single number, got {array.dtype} of shape "
                         f"{array.shape}")
    return float(array.reshape(()))


def fraction(name, value):
    """``value`` as a float if it is a finite number from 0 to 1 (a probability, a
    momentum), or ValueError."""
    value = finite_number(name, value)
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} must be a number in [0, 1], got {value!r}")
    return value


def boolean(name, value):
    """``value`` if it is True or False (not 0, 1 or None), or ValueError."""
    if not isinstance(value, bool):
        raise ValueError(f"{name} must be True or False, got {value!r}")
    return value


def instances(name, values, cls):
    """``values``, the arguments of ``name``, as a tuple if each is a ``cls``, or ValueError
    naming the first that is not."""
    for index, value in enumerate(values):
        if not isinstance(value, cls):
            raise ValueError(f"{name} takes {cls.__name__}s only; its argument {index} is a "
                             f"{type(value).__name__}, not a {cls.__name__}")
    return tuple(values)


def state_arrays(state, expected_shapes, owner):
    """The arrays of ``state``, a dict with exactly the keys of ``expected_shapes``
    (``{name: shape}``), each a finite float array of its shape, as ``{name: array}``; or one
    ValueError that names everything wrong (the missing keys, the unexpected ones, the
    shape mismatches) for loading it into ``owner``."""
    if not isinstance(state, dict):
        raise ValueError(f"state must be a dict of arrays, got {type(state).__name__}")
    arrays = {name: as_finite_array(f"state[{name!r}]", state[name])
              for name in expected_shapes if name in state}
    problems = []
    missing = [name for name in expected_shapes if name not in state]
    if missing:
        problems.append(f"missing keys {missing}")
    unexpected = [name for name in state if name not in expected_shapes]
    if unexpected:
        problems.append(f"unexpected keys {unexpected}")
    problems += [f"{name!r} has shape {array.shape} in the state but {expected_shapes[name]} "
                 f"in the module" for name, array in arrays.items()
                 if array.shape != tuple(expected_shapes[name])]
    if problems:
        raise ValueError(f"cannot load the state into {owner}: " + "; ".join(problems))
    return arrays


def last_dimension(what, shape, size):
    """ValueError unless inputs of ``shape`` have ``size`` features in their last dimension,
    as the layer ``what`` needs."""
    if len(shape) < 1 or shape[-1] != size:
        raise ValueError(f"{what} needs inputs with {size} features in the last dimension, "
                         f"got shape {tuple(shape)}")


def normalized_size(normalized_shape):
    """LayerNorm's ``normalized_shape``, an int or a tuple (or list) of one int, as an int of
    at least 1, or ValueError."""
    if isinstance(normalized_shape, (tuple, list)):
        if len(normalized_shape) != 1:
            raise ValueError(f"LayerNorm normalizes over the last dimension only: "
                             f"normalized_shape must be an int or a tuple of one int, "
                             f"got {normalized_shape!r}")
        (normalized_shape,) = normalized_shape
    return whole_number("normalized_shape", normalized_shape, 1)


def channels_input(what, shape, channels, images):
    """ValueError unless ``shape`` is that of the inputs of the layer ``what``: (N, channels)
    or, for ``images``, (N, channels, H, W)."""
    layout = f"(N, {channels}, H, W)" if images else f"(N, {channels})"
    if len(shape) != (4 if images else 2) or shape[1] != channels:
        raise ValueError(f"{what} needs inputs of shape {layout}, got {tuple(shape)}")


def values_per_channel(what, shape, training):
    """ValueError if, in ``training`` mode, inputs of ``shape`` (N, C) or (N, C, H, W) give a
    channel only one value (N, or N * H * W), from which batch norm has no variance."""
    if training and shape[0] * int(np.prod(shape[2:])) < 2:
        values = "value per channel (N * H * W > 1)" if len(shape) == 4 else "sample (N > 1)"
        raise ValueError(f"{what} in training mode needs more than 1 {values} to compute a "
                         f"variance, got input of shape {tuple(shape)}")


def channel_groups(groups, in_channels, out_channels):
    """``groups`` of a convolution as an int if it is at least 1 and divides both channel
    counts, or ValueError."""
    groups = whole_number("groups", groups, 1)
    if in_channels % groups or out_channels % groups:
        raise ValueError(f"groups={groups} must divide both in_channels ({in_channels}) "
                         f"and out_channels ({out_channels})")
    return groups


def convolution_groups(x_shape, weight_shape, groups):
    """``groups`` of a convolution of images ``x_shape`` (N, C, H, W) with filters
    ``weight_shape`` (C_out, C / groups, KH, KW) as an int, or ValueError naming what does not
    fit."""
    _, channels, _, _ = images_shape("x", x_shape)
    if len(weight_shape) != 4:
        raise ValueError(f"weight must have shape (C_out, C_in / groups, KH, KW), got shape "
                         f"{tuple(weight_shape)}")
    groups = whole_number("groups", groups, 1)
    if channels % groups or weight_shape[0] % groups:
        raise ValueError(f"groups={groups} must divide both the input channels ({channels}) "
                         f"and the output channels ({weight_shape[0]})")
    if weight_shape[1] != channels // groups:
        raise ValueError(f"x has {channels} channels, so with groups={groups} weight must have "
                         f"{channels // groups} input channels (shape[1]), got weight of "
                         f"shape {tuple(weight_shape)}")
    return groups


def one_per_output_channel(name, shape, weight_shape):
    """The number of output channels of filters ``weight_shape`` if ``shape`` (of a bias) has
    one entry per output channel, or ValueError."""
    if tuple(shape) != (weight_shape[0],):
        raise ValueError(f"{name} must have shape ({weight_shape[0]},), one entry per output "
                         f"channel, got {tuple(shape)}")
    return weight_shape[0]


def columns_shape(shape, x_shape, windows):
    """ValueError unless ``shape`` is that of ``im2col``'s columns for images ``x_shape``
    (N, C, H, W) and ``windows``: (C * KH * KW, OH * OW * N)."""
    n, c = x_shape[:2]
    (kh, kw), _, _, (oh, ow) = windows
    expected = (c * kh * kw, oh * ow * n)
    if tuple(shape) != expected:
        raise ValueError(f"cols must have shape (C * KH * KW, OH * OW * N) = {expected} for "
                         f"images of shape {tuple(x_shape)} and {windows}, got {tuple(shape)}")


def with_batch_axis(what, shape):
    """ValueError unless ``shape`` has a batch axis and at least one more, as the layer
    ``what`` needs."""
    if len(shape) < 2:
        raise ValueError(f"{what} keeps the batch axis and works on the others, so it needs "
                         f"inputs of at least 2 dimensions, got shape {tuple(shape)}")


def batchnorm_inputs(x, gamma, beta):
    """The inputs of ``batchnorm_forward`` as float arrays: ``x`` (N, D) with N >= 1, and
    ``gamma`` and ``beta`` of shape (D,); or ValueError."""
    x = as_float_array("x", x)
    if x.ndim != 2 or x.shape[0] == 0:
        raise ValueError(f"x must have shape (N, D) with N >= 1, got {x.shape}")
    gamma, beta = as_float_array("gamma", gamma), as_float_array("beta", beta)
    for name, value in (("gamma", gamma), ("beta", beta)):
        if value.shape != (x.shape[1],):
            raise ValueError(f"{name} must have shape ({x.shape[1]},) to match x {x.shape}, "
                             f"got {value.shape}")
    return x, gamma, beta


def batchnorm_settings(bn_param, x_shape):
    """``(mode, eps, momentum, running_mean, running_var)`` of ``batchnorm_forward``'s
    ``bn_param`` for inputs of ``x_shape`` (N, D), or ValueError. Running statistics that are
    absent are created in ``bn_param`` (zeros and ones of shape (D,)), as the function's
    contract says; those present must be arrays of shape (D,), updated in place."""
    if not isinstance(bn_param, dict):
        raise ValueError(f"bn_param must be a dict, got {type(bn_param).__name__}")
    mode = one_of("bn_param['mode']", bn_param.get("mode", "train"), ("train", "eval"))
    eps = positive("bn_param['eps']", finite_number("bn_param['eps']",
                                                   bn_param.get("eps", 1e-5)))
    momentum = fraction("bn_param['momentum']", bn_param.get("momentum", 0.1))
    values_per_channel("batchnorm_forward", x_shape, mode == "train")
    d = x_shape[1]
    for name, start in (("running_mean", np.zeros), ("running_var", np.ones)):
        if name not in bn_param:
            bn_param[name] = start(d)
        if not isinstance(bn_param[name], np.ndarray) or bn_param[name].shape != (d,):
            raise ValueError(f"bn_param[{name!r}] must be an array of shape ({d},), got "
                             f"{type(bn_param[name]).__name__} of shape "
                             f"{np.shape(bn_param[name])}")
    return mode, eps, momentum, bn_param["running_mean"], bn_param["running_var"]


# ---------------------------------------------------------------- tensors and dual numbers


def axes_of(axis, ndim):
    """``axis`` (None, an int or a tuple of ints) as a sorted tuple of non-negative axes of
    an array with ``ndim`` dimensions, or ValueError."""
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, numbers.Integral) else tuple(axis)
    if not all(isinstance(a, numbers.Integral) and -ndim <= a < ndim for a in axes):
        raise ValueError(f"axis {axis!r} is out of range for a tensor with {ndim} dimensions")
    axes = tuple(sorted(int(a) % ndim for a in axes))
    if len(set(axes)) != len(axes):
        raise ValueError(f"axis {axis!r} repeats an axis")
    return axes


def permutation(axes, shape):
    """The ``axes`` of ``transpose(*axes)`` (numpy's: all of them, in any order; none
    reverses them) as a tuple of non-negative axes, or ValueError."""
    if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
        axes = tuple(axes[0])
    ndim = len(shape)
    axes = axes or tuple(reversed(range(ndim)))
    if len(axes) != ndim:
        raise ValueError(f"transpose needs a permutation of all {ndim} axes of a tensor of "
                         f"shape {tuple(shape)}, got {axes}")
    axes_of(axes, ndim)  # raises for an axis out of range or repeated
    return tuple(int(a) % ndim for a in axes)


def new_shape(shape, old_shape):
    """The ``shape`` of ``reshape(*shape)`` (sizes, or one tuple of them; one size may be
    -1) for a tensor of ``old_shape``, or ValueError."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    size = int(np.prod(old_shape))
    if int(np.prod(shape)) != size and -1 not in shape:
        raise ValueError(f"cannot reshape a tensor of shape {tuple(old_shape)} ({size} "
                         f"entries) to {shape}")
    return shape


def summed_shape(grad_shape, shape):
    """``shape`` as a tuple, if a gradient of ``grad_shape`` can be summed down to it, or
    ValueError."""
    shape = tuple(shape)
    if len(shape) > len(grad_shape):
        raise ValueError(f"cannot sum a gradient of shape {tuple(grad_shape)} to the larger "
                         f"shape {shape}")
    return shape


def one_element(name, shape):
    """ValueError unless an array of ``shape`` has exactly one element."""
    if int(np.prod(shape)) != 1:
        raise ValueError(f"{name} needs a tensor with one element, got shape {tuple(shape)}")


def not_empty(name, shape):
    """ValueError if an array of ``shape`` has no element."""
    if int(np.prod(shape)) == 0:
        raise ValueError(f"{name} of an empty tensor is undefined")


def exponent(value):
    """The exponent of ``Tensor ** value`` as a float: a number, not a Tensor or an array,
    or ValueError."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise ValueError(f"the exponent must be a number, got {type(value).__name__} "
                         f"(Tensor ** Tensor is not supported)")
    return float(value)


def matmul_shapes(a_shape, b_shape):
    """ValueError unless arrays of these shapes can be multiplied with ``@``."""
    if len(a_shape) == 0 or len(b_shape) == 0:
        raise ValueError("@ needs at least 1-D operands; use * to multiply by a scalar")
    inner_a = a_shape[-1]
    inner_b = b_shape[0] if len(b_shape) == 1 else b_shape[-2]
    if inner_a != inner_b:
        raise ValueError(f"shapes {tuple(a_shape)} and {tuple(b_shape)} do not match for @: "
                         f"{inner_a} != {inner_b}")


def numpy_index(index, refused):
    """An index with lists turned into integer arrays (what numpy does with them); an item
    of type ``refused`` (a Tensor) is a ValueError."""
    items = index if isinstance(index, tuple) else (index,)
    items = tuple(np.asarray(i) if isinstance(i, list) else i for i in items)
    if any(isinstance(i, refused) for i in items):
        raise ValueError(f"index with numbers, slices or integer arrays, not with a "
                         f"{refused.__name__}")
    return items if isinstance(index, tuple) else items[0]


def logits_shape(shape):
    """ValueError unless ``shape`` is that of logits, (N, C) with N, C >= 1."""
    if len(shape) != 2 or 0 in shape:
        raise ValueError(f"logits must have shape (N, C) with N, C >= 1, got {tuple(shape)}")


def same_shape(name, array, other_name, other):
    """``array`` if it has the shape of ``other``, or ValueError naming both."""
    if np.shape(array) != np.shape(other):
        raise ValueError(f"{name} must have {other_name}'s shape {np.shape(other)}, got "
                         f"{np.shape(array)}")
    return array


def backward_seed(grad, data, requires_grad):
    """The gradient ``backward(grad)`` starts from, for a tensor holding ``data``: 1 for a
    one-element tensor without ``grad``, else ``grad`` checked; ValueError otherwise."""
    if not requires_grad:
        raise ValueError("backward() on a tensor that does not require a gradient: create "
                         "the leaves with requires_grad=True (and not inside no_grad())")
    if grad is None:
        if data.size != 1:
            raise ValueError(f"backward() without a gradient needs a scalar (one-element) "
                             f"tensor, got shape {data.shape}: pass backward(grad) with an "
                             f"array of that shape")
        return np.ones_like(data)
    return same_shape("grad", as_finite_array("grad", grad), "the tensor", data)


# ---------------------------------------------------------------- optimizers, schedules, loaders


def hyperparameter(name, value, low=0.0, high=None, low_open=False, high_open=False):
    """``value`` as a float if it is a finite number from ``low`` to ``high`` (None: no upper
    bound; ``low_open``, ``high_open``: that bound itself is excluded), or ValueError worded as
    PyTorch's ("Invalid learning rate ...")."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not np.isfinite(value):
        raise ValueError(f"Invalid {name}: expected a finite number, got {value!r}")
    above = value > low if low_open else value >= low
    below = high is None or (value < high if high_open else value <= high)
    if not (above and below):
        upper = "inf)" if high is None else f"{high}{')' if high_open else ']'}"
        raise ValueError(f"Invalid {name} value: {value} (it must lie in "
                         f"{'(' if low_open else '['}{low}, {upper})")
    return float(value)


def whole_number(name, value, minimum):
    """``value`` as an int if it is an integer (not a bool) of at least ``minimum``, or
    ValueError."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def betas_pair(betas):
    """Adam's ``betas`` as a pair of floats in [0, 1), or ValueError."""
    if not isinstance(betas, (tuple, list)) or len(betas) != 2:
        raise ValueError(f"betas must be a pair (beta1, beta2), got {betas!r}")
    return tuple(hyperparameter(f"beta parameter at index {index}", beta, 0.0, 1.0,
                                high_open=True) for index, beta in enumerate(betas))


def parameter_list(params):
    """An optimizer's ``params`` as a list of distinct tensors (anything with ``.data`` and
    ``.grad``), at least one, or ValueError."""
    if hasattr(params, "data") and hasattr(params, "grad"):
        raise ValueError("params must be an iterable of Tensors (a list), not one Tensor: "
                         "write [param]")
    params = list(params)
    if not params:
        raise ValueError("optimizer got an empty parameter list")
    for k, param in enumerate(params):
        if not (hasattr(param, "data") and hasattr(param, "grad")):
            raise ValueError(f"params[{k}] is a {type(param).__name__}, not a Tensor "
                             f"(something with .data and .grad)")
    if len({id(param) for param in params}) != len(params):
        raise ValueError("some parameters appear more than once in params")
    return params


def samples(X, y):
    """``X`` and ``y`` as arrays with the same number of samples (along their first axis),
    at least one, or ValueError."""
    X, y = np.asarray(X), np.asarray(y)
    if X.ndim == 0 or y.ndim == 0:
        raise ValueError(f"X and y must be arrays with one entry per sample, got shapes "
                         f"{X.shape} and {y.shape}")
    if len(X) != len(y):
        raise ValueError(f"X and y must have the same number of samples: X has {len(X)} "
                         f"(shape {X.shape}), y has {len(y)} (shape {y.shape})")
    if len(X) == 0:
        raise ValueError("the data set is empty (X and y have 0 samples)")
    return X, y


# ---------------------------------------------------------------- weight initialization


def fans(fan_in, fan_out):
    """``(fan_in, fan_out)`` as ints if both are integers of at least 1, or ValueError
    naming the one that is not."""
    return whole_number("fan_in", fan_in, 1), whole_number("fan_out", fan_out, 1)
