"""The plain-data format that crosses between the grader and the process running student code.

Only numbers, strings, None, lists, tuples, str-keyed dicts and numeric numpy
arrays can cross. Arrays travel as ``.npy`` bytes read back with
``allow_pickle=False``, so nothing the student's process sends can run code or
smuggle an object into the grader.
"""
import base64
import io
import json

import numpy as np

MAX_MESSAGE_BYTES = 256 * 1024 * 1024


class NotPlainData(TypeError):
    """A value that cannot cross the process boundary."""


def to_plain(value):
    """Convert ``value`` to JSON-compatible data; raise NotPlainData for anything else."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, np.generic) and value.dtype.kind in "biuf":
        return value.item()
    if isinstance(value, np.ndarray):
        if value.dtype.kind not in "biuf":
            raise NotPlainData(f"an array of dtype {value.dtype} (expected numbers)")
        buffer = io.BytesIO()
        np.save(buffer, value, allow_pickle=False)
        return {"__ndarray__": base64.b64encode(buffer.getvalue()).decode("ascii")}
    if isinstance(value, tuple):
        return {"__tuple__": [to_plain(item) for item in value]}
    if isinstance(value, list):
        return [to_plain(item) for item in value]
    if isinstance(value, dict):
        if not all(isinstance(key, str) for key in value):
            raise NotPlainData("a dict whose keys are not all strings")
        return {"__dict__": {key: to_plain(item) for key, item in value.items()}}
    raise NotPlainData(f"an object of type {type(value).__name__}")


def from_plain(data):
    """Inverse of ``to_plain``."""
    if isinstance(data, list):
        return [from_plain(item) for item in data]
    if isinstance(data, dict):
        if "__ndarray__" in data:
            raw = base64.b64decode(data["__ndarray__"])
            return np.load(io.BytesIO(raw), allow_pickle=False)
        if "__tuple__" in data:
            return tuple(from_plain(item) for item in data["__tuple__"])
        if "__dict__" in data:
            return {key: from_plain(item) for key, item in data["__dict__"].items()}
        raise ValueError(f"unknown message entry with keys {sorted(data)}")
    return data


def dumps(value):
    """One message as a line of bytes."""
    return json.dumps(to_plain(value)).encode("ascii") + b"\n"


def loads(line):
    """Decode one message line produced by ``dumps``."""
    if len(line) > MAX_MESSAGE_BYTES:
        raise ValueError("message too large")
    return from_plain(json.loads(line))
