"""Weight initialization: draws whose variance keeps signals and gradients at a steady scale.

Every function returns a float64 array of shape ``(fan_in, fan_out)``: the weight of a
layer computing ``x @ W`` with ``x`` of shape ``(N, fan_in)``. PyTorch stores the weight of
``nn.Linear`` transposed, with shape ``(out, in)``, and reads its fan-in from dimension 1
(``in``) and its fan-out from dimension 0 (``out``); the meaning of fan-in and fan-out is the
same in both libraries, only the storage differs.

Why the variances are what they are. A unit of the next layer computes
``z = sum_j w_j a_j`` over ``fan_in`` inputs; with independent zero-mean weights and inputs,
``Var(z) = fan_in * Var(w) * E[a^2]``. Keeping the forward signal steady asks for
``Var(w) = 1 / fan_in``; keeping the backward gradient steady asks for ``1 / fan_out``.

- **Xavier/Glorot** (tanh-like activations, which behave as the identity near 0) takes the
  compromise ``Var(w) = gain^2 * 2 / (fan_in + fan_out)``.
- **Kaiming/He** (ReLU, which zeroes half of its inputs and so halves ``E[a^2]``) takes
  ``Var(w) = gain^2 / fan`` with ``gain = sqrt(2)`` for ReLU and ``fan`` the fan-in (or
  the fan-out, ``mode="fan_out"``).

A uniform draw ``U(-b, b)`` has variance ``b^2 / 3``, so the uniform versions use the bound
``b = sqrt(3) * std``.

Randomness: ``rng`` is a ``numpy.random.Generator`` (used as it is, so successive calls
continue its stream), an int seed (a new generator seeded with it) or None (a fresh,
unpredictable generator). PyTorch: ``torch.nn.init``.
"""
import math
import numbers

import numpy as np

from minidl._validate import fans, finite_number, one_of, positive, whole_number

__all__ = ["calculate_gain", "xavier_uniform", "xavier_normal", "kaiming_uniform",
           "kaiming_normal", "zeros", "ones", "as_generator"]

NONLINEARITIES = ("linear", "sigmoid", "tanh", "relu")
MODES = ("fan_in", "fan_out")


# ---------------------------------------------------------------- checks (given)


def as_generator(rng):
    """``rng`` as a ``numpy.random.Generator``: a Generator as it is, an int seed seeds a new
    one, None gives a fresh one. Anything else raises ValueError."""
    if rng is None:
        return np.random.default_rng()
    if isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, numbers.Integral) and not isinstance(rng, bool):
        return np.random.default_rng(whole_number("a seed", rng, 0))
    raise ValueError(f"rng must be a numpy.random.Generator, an int seed or None, got "
                     f"{type(rng).__name__}")


# ---------------------------------------------------------------- gains


def calculate_gain(nonlinearity):
    """The recommended gain for a nonlinearity, as ``torch.nn.init.calculate_gain``:
    1 for "linear" and "sigmoid", 5/3 for "tanh", sqrt(2) for "relu".

    ReLU zeroes half of its inputs, halving the second moment of the signal, and the gain
    sqrt(2) doubles the weights' variance to make up for it.
    """
    one_of("nonlinearity", nonlinearity, NONLINEARITIES)
    return {"linear": 1.0, "sigmoid": 1.0, "tanh": 5.0 / 3.0, "relu": math.sqrt(2.0)}[
        nonlinearity]


# ---------------------------------------------------------------- Xavier / Glorot


def xavier_uniform(fan_in, fan_out, gain=1.0, rng=None):
    """``U(-b, b)`` with ``b = gain * sqrt(6 / (fan_in + fan_out))``, shape (fan_in, fan_out).

    PyTorch: ``torch.nn.init.xavier_uniform_(w, gain)`` on ``w`` of shape (fan_out, fan_in),
    transposed.
    """
    fan_in, fan_out = fans(fan_in, fan_out)
    gain, rng = positive("gain", finite_number("gain", gain)), as_generator(rng)
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-bound, bound, size=(fan_in, fan_out))


def xavier_normal(fan_in, fan_out, gain=1.0, rng=None):
    """``N(0, std^2)`` with ``std = gain * sqrt(2 / (fan_in + fan_out))``.

    PyTorch: ``torch.nn.init.xavier_normal_(w, gain)``, transposed.
    """
    fan_in, fan_out = fans(fan_in, fan_out)
    gain, rng = positive("gain", finite_number("gain", gain)), as_generator(rng)
    std = gain * math.sqrt(2.0 / (fan_in + fan_out))
    return std * rng.standard_normal((fan_in, fan_out))


# ---------------------------------------------------------------- Kaiming / He


def kaiming_uniform(fan_in, fan_out, nonlinearity="relu", mode="fan_in", rng=None):
    """``U(-b, b)`` with ``b = gain * sqrt(3 / fan)``, ``gain = calculate_gain(nonlinearity)``
    and ``fan`` = fan_in (``mode="fan_in"``, steady forward signal) or fan_out
    (``mode="fan_out"``, steady backward gradient).

    PyTorch: ``torch.nn.init.kaiming_uniform_(w, mode=mode, nonlinearity=nonlinearity)``,
    transposed.
    """
    fan_in, fan_out = fans(fan_in, fan_out)
    one_of("nonlinearity", nonlinearity, NONLINEARITIES)
    one_of("mode", mode, MODES)
    rng = as_generator(rng)
    fan = fan_in if mode == "fan_in" else fan_out
    bound = calculate_gain(nonlinearity) * math.sqrt(3.0 / fan)
    return rng.uniform(-bound, bound, size=(fan_in, fan_out))


def kaiming_normal(fan_in, fan_out, nonlinearity="relu", mode="fan_in", rng=None):
    """``N(0, std^2)`` with ``std = gain / sqrt(fan)`` (see ``kaiming_uniform``).

    PyTorch: ``torch.nn.init.kaiming_normal_(w, mode=mode, nonlinearity=nonlinearity)``,
    transposed.
    """
    fan_in, fan_out = fans(fan_in, fan_out)
    one_of("nonlinearity", nonlinearity, NONLINEARITIES)
    one_of("mode", mode, MODES)
    rng = as_generator(rng)
    fan = fan_in if mode == "fan_in" else fan_out
    std = calculate_gain(nonlinearity) / math.sqrt(fan)
    return std * rng.standard_normal((fan_in, fan_out))


# ---------------------------------------------------------------- constants (given)


def zeros(fan_in, fan_out):
    """All zeros, shape (fan_in, fan_out). PyTorch: ``torch.nn.init.zeros_``. (A bad
    choice for weights: every unit of a layer then computes the same function.)"""
    return np.zeros(fans(fan_in, fan_out))


def ones(fan_in, fan_out):
    """All ones, shape (fan_in, fan_out). PyTorch: ``torch.nn.init.ones_``."""
    return np.ones(fans(fan_in, fan_out))
