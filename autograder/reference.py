"""PyTorch as the reference: float64, TF32 off, on CUDA when present, else on the CPU."""
import copy
import functools
import hashlib

import numpy as np
import torch

from autograder.errors import GraderError


def select_device(preference="auto"):
    """``"auto"`` picks CUDA when available; asking for ``"cuda"`` without it raises ValueError."""
    if preference not in ("auto", "cpu", "cuda"):
        raise ValueError(f"device must be auto, cpu or cuda, got {preference!r}")
    if preference == "cuda" and not torch.cuda.is_available():
        raise ValueError("device 'cuda' was requested but PyTorch sees no CUDA device")
    if preference == "auto":
        preference = "cuda" if torch.cuda.is_available() else "cpu"
    return torch.device(preference)


class Reference:
    """Converts between numpy and float64 torch tensors on the chosen device."""

    def __init__(self, preference="auto"):
        self.device = select_device(preference)
        if self.device.type == "cuda":
            # TF32 would silently round float32 matmuls on Ampere and later GPUs; the
            # references are float64, but keep every path exact. (Only CUDA reads these
            # flags, so a CPU reference changes no global state.)
            torch.backends.cuda.matmul.allow_tf32 = False
            torch.backends.cudnn.allow_tf32 = False

    @property
    def device_name(self):
        if self.device.type == "cuda":
            return f"cuda ({torch.cuda.get_device_name(self.device)})"
        return "cpu"

    def tensor(self, array, requires_grad=False):
        """A float64 tensor on the reference device."""
        return torch.tensor(
            np.asarray(array, dtype=np.float64), device=self.device, requires_grad=requires_grad
        )

    def labels(self, y):
        return torch.tensor(np.asarray(y, dtype=np.int64), device=self.device)

    @staticmethod
    def numpy(tensor):
        return tensor.detach().cpu().numpy()


def _fingerprint(value, digest):
    if isinstance(value, np.ndarray):
        digest.update(f"array{value.dtype}{value.shape}".encode())
        digest.update(np.ascontiguousarray(value).tobytes())
    elif isinstance(value, (list, tuple)):
        digest.update(f"{type(value).__name__}{len(value)}".encode())
        for item in value:
            _fingerprint(item, digest)
    elif isinstance(value, dict):
        _fingerprint(sorted(value.items()), digest)
    else:
        digest.update(repr(value).encode())


# The results of every @cached function in this process, by the function's name.
_CACHES = {}


def cached(reference_function):
    """Compute a reference once per process for each distinct input.

    Check parts draw the same seeded inputs for every student, so when a class is graded,
    each reference is computed while the reference solution is graded and reused for every
    student (``cache_snapshot`` / ``seed_caches`` hand them to the worker processes).
    The decorated function takes the ``Reference`` first, then plain arguments, and
    returns plain data (numbers, numpy arrays). A reference that fails for a reason of the
    machine (out of memory, a CUDA fault) is a GraderError, not the student's fault.
    """
    name = f"{reference_function.__module__}.{reference_function.__qualname__}"
    results = _CACHES.setdefault(name, {})

    @functools.wraps(reference_function)
    def wrapper(ref, *args, **kwargs):
        digest = hashlib.sha256(str(ref.device).encode())
        _fingerprint((args, kwargs), digest)
        key = digest.hexdigest()
        if key not in results:
            try:
                results[key] = reference_function(ref, *args, **kwargs)
            except (MemoryError, torch.cuda.OutOfMemoryError) as error:
                raise GraderError(f"the PyTorch reference {reference_function.__name__} ran out "
                                  f"of memory on {ref.device_name}: {error}") from None
            except RuntimeError as error:
                if "CUDA" not in str(error):
                    raise  # the inputs came from the student's code: their problem
                raise GraderError(f"the PyTorch reference {reference_function.__name__} failed "
                                  f"on {ref.device_name}: {error}") from None
        return copy.deepcopy(results[key])  # callers may modify what they get

    return wrapper


def cache_snapshot():
    """Every reference computed so far in this process (picklable plain data)."""
    return {name: dict(results) for name, results in _CACHES.items()}


def seed_caches(snapshot):
    """Start this process with references computed in another one; the keys fingerprint
    the inputs and the device, so a reference is reused only for the same computation."""
    for name, results in snapshot.items():
        _CACHES.setdefault(name, {}).update(results)
