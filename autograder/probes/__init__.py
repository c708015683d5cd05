"""Probes: small helpers that run *inside* the process of the student's code.

Some results cannot cross the process boundary as plain data: a layer's ``cache`` is
whatever the student chose to keep, and ``numerical_gradient`` takes a Python function.
A probe (``autograder.probes.<assignment>.<name>``, called like any student function)
drives the student's functions there and sends back only numbers and arrays. Probes run
next to untrusted code, so the grader trusts nothing they return: every verdict is
computed from that plain data in the grader's own process. Probes import numpy, the
standard library and the student's ``minidl`` only, never torch.

``drive``, here, is the probe behind every ``Student.object``. ``plain`` is the one way a
probe hands back a value the student's code made. A value the grader cannot use (one that
cannot cross, a result of the wrong kind) raises ``Unusable``, which reaches the grader as
every other error of the student's code does, and its message is the feedback as it is
(one error shape: never a marker string or a "problem" entry in a reply).
"""
import importlib

import numpy as np


class Unusable(TypeError):
    """The student's code gave a value the grader cannot use; the message says what it gave
    and what it should give."""


def drive(target, args=(), kwargs=None, set=None, calls=(), get=()):
    """Build ``target(*args, **kwargs)`` (a class named like
    ``"minidl.linear.LinearClassifier"``), set its attributes from ``set``, call its
    methods ``calls`` ((name, args, kwargs) each) in order, and return
    ``{"results": [what each call returned], "attrs": {name: value for each name in get}}``.
    """
    module, _, name = target.rpartition(".")
    instance = getattr(importlib.import_module(module), name)(*args, **(kwargs or {}))
    for attribute, value in (set or {}).items():
        setattr(instance, attribute, value)
    results = [getattr(instance, method)(*method_args, **method_kwargs)
               for method, method_args, method_kwargs in calls]
    return {"results": results, "attrs": {attribute: getattr(instance, attribute)
                                          for attribute in get}}


def plain(value, what):
    """``value`` as it is when it can cross to the grader (None, a bool, a number, an array, or
    a tuple or list of those, item by item); otherwise TypeError naming ``what``."""
    if isinstance(value, (tuple, list)):
        return type(value)(plain(item, f"{what}[{k}]") for k, item in enumerate(value))
    if value is None or isinstance(value, (bool, int, float, np.ndarray, np.generic)):
        return value
    raise Unusable(f"{what} is a {type(value).__name__}; expected a number or a numpy array")
