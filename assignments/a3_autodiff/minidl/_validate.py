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


def as_float_matrix(name, a):
    """Return ``a`` as a 2-D float array (float32 or float64, see ``float_dtype``) with
    finite entries, or raise ValueError."""
    array = np.asarray(a)
    if array.dtype == object or not (
        np.issubdtype(array.dtype, np.number) or array.dtype == bool
    ):
        raise ValueError(f"{name} must be a numeric array, got dtype {array.dtype}")
    if array.ndim != 2:
        raise ValueError(f"{name} must be 2-D (N, C), got shape {array.shape}")
    array = array.astype(float_dtype(array), copy=False)
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} contains NaN or infinite values")
    return array


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
