"""Comparing a student's results with the reference.

``expect_close`` first checks the *kind* of answer (a number or an array of the
right shape, finite), then closeness, and says what differs and where. Naming the
mistake behind a wrong answer is ``framework.Context``'s work (``autograder.mistakes``).
"""
import numpy as np

from autograder.errors import Fail

RTOL = 1e-6
ATOL = 1e-9


def unpack(result, count, what):
    """Check that ``result`` is a tuple/list of ``count`` items and return it."""
    if not isinstance(result, (tuple, list)) or len(result) != count:
        is_sequence = isinstance(result, (tuple, list))
        kind = f"{len(result)} items" if is_sequence else type(result).__name__
        raise Fail(f"{what} must return a tuple of {count} items, got {kind}")
    return result


def as_number(value, what):
    if isinstance(value, np.ndarray) and value.size == 1:
        value = value.reshape(()).item()
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise Fail(f"{what} must be a number (a float), got {type(value).__name__}")
    return float(value)


def as_array(value, what, shape):
    if not isinstance(value, np.ndarray):
        raise Fail(f"{what} must be a numpy array of shape {shape}, got {type(value).__name__}")
    if value.shape != tuple(shape):
        raise Fail(f"{what} has shape {value.shape} but should have shape {tuple(shape)}")
    return value.astype(np.float64)


def is_close(got, expected, rtol=RTOL, atol=ATOL):
    got, expected = np.asarray(got, dtype=np.float64), np.asarray(expected, dtype=np.float64)
    return got.shape == expected.shape and np.allclose(got, expected, rtol=rtol, atol=atol)


def expect_close(got, expected, what, rtol=RTOL, atol=ATOL, nonfinite_hint=""):
    """Fail unless ``got`` matches ``expected`` (a float or an ndarray); ``nonfinite_hint``
    explains NaN or inf in the answer (typically overflow)."""
    expected_array = np.asarray(expected, dtype=np.float64)
    if expected_array.ndim == 0:
        got_array = np.asarray(as_number(got, what))
    else:
        got_array = as_array(got, what, expected_array.shape)
    if not np.all(np.isfinite(got_array)) and np.all(np.isfinite(expected_array)):
        raise Fail(f"{what} contains NaN or inf. {nonfinite_hint}".strip())
    if is_close(got_array, expected_array, rtol, atol):
        return
    raise Fail(f"{what} is wrong: {_largest_difference(got_array, expected_array)}")


def _largest_difference(got, expected):
    if got.ndim == 0:
        return f"got {got.item():.6g}, expected {expected.item():.6g}"
    index = np.unravel_index(np.argmax(np.abs(got - expected)), got.shape)
    return (
        f"the largest difference is at index {tuple(int(i) for i in index)}: "
        f"got {got[index]:.6g}, expected {expected[index]:.6g}"
    )
