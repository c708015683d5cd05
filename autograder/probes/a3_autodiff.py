"""Probes for a3_autodiff, run in the process of the student's code (see ``__init__``).

A graph crosses the process boundary as plain data, a *spec*:

    {"inputs": [array, ...],                  # the leaves, created with requires_grad=True
     "ops": [[name, args, kwargs], ...],      # each op adds one node
     "grad": array or None}                   # backward(grad) of the last node

Nodes are numbered: the inputs first, then one per op. An argument of an op is a node
number, or ``{"const": value}`` for a number or array used as it is (``2 * x``,
``array @ x``). ``evaluate`` builds the graph with the student's ``Tensor``, runs
``backward`` and returns every node's value and every leaf's gradient; the grader builds
the same graph in PyTorch. ``evaluate_dual`` does the same with ``Dual`` (tangents instead
of gradients), and ``jvp`` calls the student's ``jvp`` on one of ``FUNCTIONS``.
"""
import operator

import numpy as np

OPERATORS = {"add": operator.add, "sub": operator.sub, "mul": operator.mul,
             "truediv": operator.truediv, "matmul": operator.matmul, "pow": operator.pow,
             "neg": operator.neg}
METHODS = ("sum", "mean", "max", "exp", "log", "relu", "sigmoid", "tanh", "reshape",
           "transpose", "sin", "cos")
FUNCTIONS_OF_TENSORS = ("log_softmax", "cross_entropy")


def decode_index(index):
    """An index in plain data (slices as {"slice": [start, stop, step]}, "..." for
    Ellipsis) as numpy takes it."""
    if isinstance(index, tuple):
        return tuple(decode_index(item) for item in index)
    if isinstance(index, dict):
        return slice(*index["slice"])
    if isinstance(index, str) and index == "...":
        return Ellipsis
    return index


def _apply(module, name, args, kwargs):
    if name in OPERATORS:
        return OPERATORS[name](*args, **kwargs)
    if name == "T":
        return args[0].T
    if name == "getitem":
        return args[0][decode_index(kwargs["index"])]
    if name in METHODS:
        return getattr(args[0], name)(*args[1:], **kwargs)
    if name in FUNCTIONS_OF_TENSORS:
        return getattr(module, name)(*args, **kwargs)
    raise ValueError(f"unknown op {name!r}")


def _build(module, leaves, ops):
    nodes = list(leaves)
    for name, args, kwargs in ops:
        values = [arg["const"] if isinstance(arg, dict) else nodes[arg] for arg in args]
        nodes.append(_apply(module, name, values, kwargs))
    return nodes


def _array(value, attribute):
    """``value.<attribute>`` when it is there, else a description of what was returned."""
    if hasattr(value, attribute):
        return _plain(getattr(value, attribute))
    return f"<{type(value).__name__}>"


def _plain(value):
    if value is None or isinstance(value, (np.ndarray, int, float, np.generic)):
        return value
    return f"<{type(value).__name__}>"


def evaluate(spec, repeats=1):
    """Build the graph ``repeats`` times on the same leaves, calling backward each time.

    Returns ``{"values": [...], "grads": [...], "other_grads": [...]}``: every node's
    ``.data``, every leaf's ``.grad``, and the ``.grad`` of every node made by an op
    (PyTorch leaves those None).
    """
    from minidl import autograd

    leaves = [autograd.Tensor(value, requires_grad=True) for value in spec["inputs"]]
    for _ in range(repeats):
        nodes = _build(autograd, leaves, spec["ops"])
        grad = spec.get("grad")
        if grad is None:
            nodes[-1].backward()
        else:
            nodes[-1].backward(grad)
    return {"values": [_array(node, "data") for node in nodes],
            "grads": [_plain(leaf.grad) for leaf in leaves],
            "other_grads": [_array(node, "grad") for node in nodes[len(leaves):]]}


def forward_only(spec, no_grad=False):
    """Every node's value, and whether the last node requires a gradient, with the graph
    built inside ``no_grad()`` or not; then whether an op after the block requires one."""
    from minidl import autograd

    leaves = [autograd.Tensor(value, requires_grad=True) for value in spec["inputs"]]
    if not no_grad:
        return {"values": [_array(node, "data") for node in _build(autograd, leaves,
                                                                   spec["ops"])]}
    with autograd.no_grad():
        nodes = _build(autograd, leaves, spec["ops"])
    after = leaves[0] * 2.0
    return {"values": [_array(node, "data") for node in nodes],
            "requires_grad": bool(getattr(nodes[-1], "requires_grad", True)),
            "after": bool(getattr(after, "requires_grad", False))}


def no_grad_after_error(value):
    """Whether gradients are recorded again after a ``no_grad()`` block that raised."""
    from minidl import autograd

    leaf = autograd.Tensor(value, requires_grad=True)
    try:
        with autograd.no_grad():
            raise KeyError("raised inside no_grad")
    except KeyError:
        pass
    return bool((leaf * 2.0).requires_grad)


def backward_error(spec):
    """The type of exception that ``backward()`` without a gradient raises on the last
    node (a non-scalar one), or "" when it raises none."""
    from minidl import autograd

    leaves = [autograd.Tensor(value, requires_grad=True) for value in spec["inputs"]]
    try:
        _build(autograd, leaves, spec["ops"])[-1].backward()
    except Exception as error:  # noqa: BLE001 -- the type is the answer
        return type(error).__name__
    return ""


def chain(x, n_ops, scale, shift):
    """``n_ops`` operations in a chain: ``y = y * scale`` and ``y = y + shift`` in turn,
    then ``y.backward(ones)``. Returns the final value and ``x.grad``."""
    from minidl import autograd

    leaf = autograd.Tensor(x, requires_grad=True)
    y = leaf
    for step in range(n_ops):
        y = y * scale if step % 2 == 0 else y + shift
    y.backward(np.ones_like(leaf.data))
    return {"value": _array(y, "data"), "grad": _plain(leaf.grad)}


def evaluate_dual(spec):
    """Build the graph with ``Dual`` inputs ``Dual(inputs[k], tangents[k])``: every node's
    value and tangent."""
    from minidl import forward

    leaves = [forward.Dual(value, tangent)
              for value, tangent in zip(spec["inputs"], spec["tangents"], strict=True)]
    nodes = _build(forward, leaves, spec["ops"])
    return {"values": [_array(node, "value") for node in nodes],
            "tangents": [_array(node, "tangent") for node in nodes]}


FUNCTIONS = {
    "sin(x * sum(x))": lambda x: (x * x.sum()).sin(),
    "exp(x) / (1 + x**2) - cos(x) * sum(x)": lambda x: x.exp() / (1 + x**2) - x.cos() * x.sum(),
    "tanh(x) * sigmoid(3 - x) + relu(x) ** 2": lambda x: x.tanh() * (3 - x).sigmoid()
    + x.relu() ** 2,
    "sum(log(1 + x * x))": lambda x: (1 + x * x).log().sum(),
}


def jvp(function, x, v):
    """The student's ``jvp`` of ``FUNCTIONS[function]`` at ``x`` along ``v``."""
    from minidl import forward

    result = forward.jvp(FUNCTIONS[function], x, v)
    if isinstance(result, (tuple, list)):
        return tuple(_plain(item) for item in result)
    return _plain(result)
