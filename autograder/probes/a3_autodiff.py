"""The vocabulary of a3_autodiff's graphs, and its probes (run in the process of the
student's code, see ``__init__``).

``OPERATIONS`` declares each operation of the engine once: how to apply it, written in
numpy's conventions (minidl's), and how a formula writes it. One graph, written as data,
then runs on both sides: here on the student's ``Tensor`` or ``Dual``, and in the grader on
PyTorch (``autograder.checks.a3_autodiff.NumpyStyle`` gives torch tensors numpy's
conventions). Nothing here imports torch.

A graph crosses the process boundary as plain data, a *spec*:

    {"inputs": [array, ...],                  # the leaves
     "ops": [[name, args, kwargs], ...],      # each op adds one node
     "grad": array or None}                   # backward(grad) of the last node

Nodes are numbered: the inputs first, then one per op. An argument of an op is a node
number, or ``{"const": value}`` for a number or array used as it is (``2 * x``,
``array @ x``). An index travels with slices as ``{"slice": [start, stop, step]}`` and
Ellipsis as ``"..."``.
"""
import operator
from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from autograder.probes import Unusable, plain

# ---------------------------------------------------------------- the vocabulary

POSTFIX = 9  # how tightly a method call, an attribute or an index binds its operand


class Operation(NamedTuple):
    """``apply(library, *operands, **settings)`` computes the operation in numpy's
    conventions (``library`` holds the functions such as ``log_softmax``: the student's
    module, or PyTorch's stand-in); ``write(operands, settings)`` is its formula, from each
    operand's (text, precedence); ``precedence`` is how tightly the formula binds;
    ``positive``: it is defined for positive inputs only."""

    apply: Callable
    write: Callable
    precedence: int = POSTFIX
    positive: bool = False


def wrapped(operand, precedence):
    """An operand's text, in parentheses where it binds more loosely than ``precedence``."""
    text, binds = operand
    return text if binds >= precedence else f"({text})"


def show(value):
    """A setting as a formula writes it: an array as the list of its entries."""
    return repr(value.tolist()) if isinstance(value, np.ndarray) else repr(value)


def arguments(operands, settings):
    return ", ".join([text for text, _ in operands]
                     + [f"{key}={show(value)}" for key, value in settings.items()])


def infix(name, symbol, precedence, right_associative=False):
    """``a <symbol> b``, applied as ``operator.<name>``."""
    left, right = (precedence + 1, precedence) if right_associative else (precedence,
                                                                          precedence + 1)
    return Operation(
        lambda library, a, b: getattr(operator, name)(a, b),
        lambda operands, settings: (f"{wrapped(operands[0], left)} {symbol} "
                                    f"{wrapped(operands[1], right)}"),
        precedence)


def method(name, positive=False):
    """``x.<name>(...)``: extra operands and settings are its arguments."""
    return Operation(
        lambda library, x, *args, **settings: getattr(x, name)(*args, **settings),
        lambda operands, settings: (f"{wrapped(operands[0], POSTFIX)}.{name}"
                                    f"({arguments(operands[1:], settings)})"),
        positive=positive)


def function(name):
    """``<name>(x, ...)``, a function of the library (``minidl.autograd``)."""
    return Operation(
        lambda library, *args, **settings: getattr(library, name)(*args, **settings),
        lambda operands, settings: f"{name}({arguments(operands, settings)})")


OPERATIONS = {
    "add": infix("add", "+", 1),
    "sub": infix("sub", "-", 1),
    "mul": infix("mul", "*", 2),
    "truediv": infix("truediv", "/", 2),
    "matmul": infix("matmul", "@", 2),
    "pow": infix("pow", "**", 4, right_associative=True),
    "neg": Operation(lambda library, x: -x,
                     lambda operands, settings: f"-{wrapped(operands[0], 3)}", 3),
    "sum": method("sum"),
    "mean": method("mean"),
    "max": method("max"),
    "exp": method("exp"),
    "log": method("log", positive=True),
    "relu": method("relu"),
    "sigmoid": method("sigmoid"),
    "tanh": method("tanh"),
    "sin": method("sin"),
    "cos": method("cos"),
    "reshape": method("reshape"),
    "transpose": method("transpose"),
    "T": Operation(lambda library, x: x.T,
                   lambda operands, settings: f"{wrapped(operands[0], POSTFIX)}.T"),
    "getitem": Operation(
        lambda library, x, index: x[decode_index(index)],
        lambda operands, settings: (f"{wrapped(operands[0], POSTFIX)}"
                                    f"[{show_index(settings['index'])}]")),
    "log_softmax": function("log_softmax"),
    "cross_entropy": function("cross_entropy"),
}

# The element-wise functions of each engine, each graded on its own.
FUNCTIONS = {"Tensor": ("exp", "log", "relu", "sigmoid", "tanh"),
             "Dual": ("exp", "log", "sin", "cos", "relu", "sigmoid", "tanh")}


# ---------------------------------------------------------------- graphs as data


def op(name, *args, **settings):
    """One op of a spec: ``name`` applied to ``args`` (node numbers or ``const``)."""
    if name not in OPERATIONS:
        raise ValueError(f"unknown op {name!r}")
    return (name, list(args), settings)


def const(value):
    return {"const": value}


def slice_(start=None, stop=None, step=None):
    return {"slice": [start, stop, step]}


def decode_index(index):
    """An index in plain data as numpy takes it."""
    if isinstance(index, tuple):
        return tuple(decode_index(item) for item in index)
    if isinstance(index, dict):
        return slice(*index["slice"])
    if isinstance(index, str) and index == "...":
        return Ellipsis
    return index


def show_index(index):
    items = index if isinstance(index, tuple) else (index,)
    shown = []
    for item in items:
        if isinstance(item, dict):
            start, stop, step = ("" if bound is None else bound for bound in item["slice"])
            shown.append(f"{start}:{stop}" + (f":{step}" if step != "" else ""))
        elif isinstance(item, np.ndarray):
            shown.append(str(item.tolist()))
        else:
            shown.append(str(item))
    return ", ".join(shown)


def build(library, leaves, ops):
    """Every node of the graph: the leaves, then the result of each op in turn."""
    nodes = list(leaves)
    for name, args, settings in ops:
        operands = [arg["const"] if isinstance(arg, dict) else nodes[arg] for arg in args]
        nodes.append(OPERATIONS[name].apply(library, *operands, **settings))
    return nodes


def _constant_text(value):
    """A number as it is; integers (labels, indices) as their list; any other array by its
    shape."""
    value = np.asarray(value)
    if value.ndim == 0:
        return f"{value.item():g}"
    if value.dtype.kind in "iu" and value.size <= 12:
        return repr(value.tolist())
    return f"array{value.shape}"


def _operand(arg, texts):
    return (_constant_text(arg["const"]), POSTFIX) if isinstance(arg, dict) else texts[arg]


def formulas(names, ops):
    """The name of every node (the leaves' ``names``, then ``v0``, ``v1``, ...) and one
    line ``v<k> = ...`` per op."""
    texts = [(name, POSTFIX) for name in names]
    lines = []
    for k, (name, args, settings) in enumerate(ops):
        formula = OPERATIONS[name].write([_operand(arg, texts) for arg in args], settings)
        texts.append((f"v{k}", POSTFIX))
        lines.append(f"v{k} = {formula}")
    return [text for text, _ in texts], lines


def expression(names, ops):
    """The last node as one expression of the leaves: ``(x * x.sum()).sin()``."""
    texts = [(name, POSTFIX) for name in names]
    for name, args, settings in ops:
        operation = OPERATIONS[name]
        texts.append((operation.write([_operand(arg, texts) for arg in args], settings),
                      operation.precedence))
    return texts[-1][0]


# ---------------------------------------------------------------- probes


def _autograd():
    from minidl import autograd

    return autograd


def _results(nodes, kind, first):
    """The nodes made by ops, each checked to be a ``kind`` (TypeError otherwise)."""
    for k, node in enumerate(nodes[first:]):
        if not isinstance(node, kind):
            raise Unusable(f"v{k} is a {type(node).__name__}, not a {kind.__name__}: every "
                            f"operation on {kind.__name__}s must return a new "
                            f"{kind.__name__}")
    return nodes


def _values(nodes, attribute):
    return [plain(getattr(node, attribute), f"the .{attribute} of node {k}")
            for k, node in enumerate(nodes)]


def evaluate(spec, repeats=1):
    """Build the graph with the student's ``Tensor`` (leaves with requires_grad=True)
    ``repeats`` times on the same leaves, calling ``backward(grad)`` on the last node each
    time.

    Returns ``{"values": [...], "grads": [...], "other_grads": [...]}``: every node's
    ``.data``, every leaf's ``.grad``, and the ``.grad`` of every node made by an op
    (PyTorch leaves those None).
    """
    autograd = _autograd()
    leaves = [autograd.Tensor(value, requires_grad=True) for value in spec["inputs"]]
    for _ in range(repeats):
        nodes = _results(build(autograd, leaves, spec["ops"]), autograd.Tensor, len(leaves))
        grad = spec.get("grad")
        nodes[-1].backward() if grad is None else nodes[-1].backward(grad)
    return {"values": _values(nodes, "data"),
            "grads": [plain(leaf.grad, f"the .grad of input {k}")
                      for k, leaf in enumerate(leaves)],
            "other_grads": _values(nodes[len(leaves):], "grad")}


def forward_only(spec):
    """Every node's value, without backward."""
    autograd = _autograd()
    leaves = [autograd.Tensor(value, requires_grad=True) for value in spec["inputs"]]
    nodes = _results(build(autograd, leaves, spec["ops"]), autograd.Tensor, len(leaves))
    return {"values": _values(nodes, "data")}


def no_grad(spec):
    """The graph built inside ``no_grad()``: every node's value and whether the last one
    requires a gradient; then whether an op after the block requires one, and whether one
    after a block that raised does. (Whatever mode a wrong ``no_grad`` leaves behind ends
    with the part: every part starts from the modules as imported.)
    """
    autograd = _autograd()
    leaves = [autograd.Tensor(value, requires_grad=True) for value in spec["inputs"]]
    with autograd.no_grad():
        nodes = _results(build(autograd, leaves, spec["ops"]), autograd.Tensor, len(leaves))
    after = leaves[0] * 2.0
    try:
        with autograd.no_grad():
            raise KeyError("raised inside no_grad")
    except KeyError:
        pass
    after_error = leaves[0] * 2.0
    return {"values": _values(nodes, "data"),
            "requires_grad": bool(nodes[-1].requires_grad),
            "after": bool(after.requires_grad), "after_error": bool(after_error.requires_grad)}


def chain(x, n_ops, scale, shift):
    """``n_ops`` operations in a chain: ``y = y * scale`` and ``y = y + shift`` in turn,
    then ``y.backward(ones)``. Returns the final value and ``x.grad``."""
    autograd = _autograd()
    leaf = autograd.Tensor(x, requires_grad=True)
    y = leaf
    for step in range(n_ops):
        y = y * scale if step % 2 == 0 else y + shift
    y.backward(np.ones_like(leaf.data))
    return {"value": plain(y.data, "the .data of the chain's end"),
            "grad": plain(leaf.grad, "x.grad")}


def evaluate_dual(spec):
    """Build the graph with ``Dual`` inputs ``Dual(inputs[k], tangents[k])``: every node's
    value and tangent."""
    from minidl import forward

    leaves = [forward.Dual(value, tangent)
              for value, tangent in zip(spec["inputs"], spec["tangents"], strict=True)]
    nodes = _results(build(forward, leaves, spec["ops"]), forward.Dual, len(leaves))
    return {"values": _values(nodes, "value"), "tangents": _values(nodes, "tangent")}


def jvp(ops, x, v):
    """The student's ``jvp(f, x, v)`` of the function that the graph ``ops`` of one leaf
    computes."""
    from minidl import forward

    result = forward.jvp(lambda dual: build(forward, [dual], ops)[-1], x, v)
    if isinstance(result, (tuple, list)) and len(result) == 2:
        return tuple(plain(item, f"the {name} that jvp returned")
                     for name, item in zip(("value", "tangent"), result, strict=True))
    return plain(result, "what jvp returned")
