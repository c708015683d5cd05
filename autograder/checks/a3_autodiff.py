"""Checks for a3_autodiff: ``minidl.autograd`` (reverse mode) and ``minidl.forward``
(forward mode) against PyTorch.

PyTorch equivalents (the notebook states the same):

- ``Tensor(x, requires_grad=True)``: ``torch.tensor(x, dtype=torch.float64,
  requires_grad=True)``; ``backward``, ``.grad``: the same in ``torch.autograd``
- ``x.max(axis)``: ``torch.amax(x, dim=axis)`` (ties share the gradient equally)
- ``x.transpose(*axes)``: ``x.permute(*axes)`` (numpy's transpose); ``x.T``: all axes reversed
- ``log_softmax(x, axis)``, ``cross_entropy(logits, y)``: ``torch.log_softmax``,
  ``F.cross_entropy``
- ``jvp(f, x, v)`` and ``Dual``: ``torch.func.jvp``

The student's Tensors cannot leave their process, so a graph travels as plain data (see
``autograder.probes.a3_autodiff``): the probe builds it with the student's engine and sends
back values and gradients; the same graph is built here in PyTorch.
"""
import operator

import numpy as np
import torch
import torch.nn.functional as F

from autograder.compare import expect_close, explain_wrong_shape, unpack
from autograder.framework import Assignment, Fail, describe_student_error
from autograder.probes.a3_autodiff import FUNCTIONS, decode_index
from autograder.reference import Reference, cached
from autograder.student import StudentError

ASSIGNMENT = Assignment("a3_autodiff")
part = ASSIGNMENT.part

AUTOGRAD = "minidl.autograd"
PROBE = "autograder.probes.a3_autodiff"
OVERFLOW_HINT = ("exp overflowed: subtract the maximum along the axis before exp "
                 "(log-sum-exp), which changes nothing mathematically")
CHAIN_OPS = 100_000
_CPU = Reference("cpu")  # draws cases (shapes of results); references use ctx.ref


# ---------------------------------------------------------------- graphs as plain data


def const(value):
    return {"const": value}


def graph(inputs, ops, grad=None, names=None):
    """A spec for the probe, plus the names used in feedback (not sent to the student)."""
    return {"inputs": [np.asarray(x, dtype=np.float64) for x in inputs],
            "ops": [(name, list(args), kwargs) for name, args, kwargs in ops],
            "grad": grad, "names": names or [f"x{k}" for k in range(len(inputs))]}


def probe_spec(spec):
    return {key: spec[key] for key in ("inputs", "ops", "grad")}


def op(name, *args, **kwargs):
    return (name, args, kwargs)


SYMBOLS = {"add": "+", "sub": "-", "mul": "*", "truediv": "/", "matmul": "@", "pow": "**"}


def show_index(index):
    items = index if isinstance(index, tuple) else (index,)
    shown = []
    for item in items:
        if isinstance(item, dict):
            start, stop, step = item["slice"]
            shown.append(f"{'' if start is None else start}:{'' if stop is None else stop}"
                         + ("" if step is None else f":{step}"))
        elif isinstance(item, np.ndarray):
            shown.append(str(item.tolist()))
        else:
            shown.append(str(item))
    return ", ".join(shown)


def formulas(spec):
    """A readable formula for every node: the leaf names, then ``v<k> = ...``."""
    names = list(spec["names"])
    shown = []

    def arg_text(arg):
        if isinstance(arg, dict):
            value = arg["const"]
            return f"array{np.shape(value)}" if np.ndim(value) else f"{value:g}"
        return names[arg]

    for name, args, kwargs in spec["ops"]:
        texts = [arg_text(a) for a in args]
        if name in SYMBOLS:
            text = f"{texts[0]} {SYMBOLS[name]} {texts[1]}"
        elif name == "neg":
            text = f"-{texts[0]}"
        elif name == "T":
            text = f"{texts[0]}.T"
        elif name == "getitem":
            text = f"{texts[0]}[{show_index(kwargs['index'])}]"
        elif name in ("log_softmax", "cross_entropy"):
            extra = "".join(f", {key}={value!r}" for key, value in kwargs.items()
                            if key != "y")
            text = f"{name}({texts[0]}{', y' if 'y' in kwargs else ''}{extra})"
        else:
            arguments = [*texts[1:], *(f"{key}={value!r}" for key, value in kwargs.items())]
            text = f"{texts[0]}.{name}({', '.join(arguments)})"
        names.append(f"v{len(names) - len(spec['inputs'])}")
        shown.append(f"{names[-1]} = {text}")
    return names, shown


def describe(spec):
    leaves = ", ".join(f"{name} of shape {np.shape(x)}"
                       for name, x in zip(spec["names"], spec["inputs"], strict=True))
    return f"[{leaves}; {'; '.join(formulas(spec)[1])}]"


# ---------------------------------------------------------------- PyTorch side


def torch_index(ref, index):
    index = decode_index(index)
    items = index if isinstance(index, tuple) else (index,)
    items = tuple(torch.as_tensor(i, dtype=torch.int64, device=ref.device)
                  if isinstance(i, np.ndarray) else i for i in items)
    return items if isinstance(index, tuple) else items[0]


def reduce_dims(x, axis):
    return tuple(range(x.ndim)) if axis is None else axis


def torch_apply(ref, name, args, kwargs):
    """One op of a spec in PyTorch, with numpy's conventions."""
    OPS = {"add": operator.add, "sub": operator.sub, "mul": operator.mul,
           "truediv": operator.truediv, "matmul": operator.matmul, "pow": operator.pow}
    if name in OPS:
        return OPS[name](*args)
    x = args[0]
    keep = kwargs.get("keepdims", False)
    if name == "neg":
        return -x
    if name == "sum":
        return x.sum(dim=reduce_dims(x, kwargs.get("axis")), keepdim=keep) if x.ndim else x
    if name == "mean":
        return x.mean(dim=reduce_dims(x, kwargs.get("axis")), keepdim=keep) if x.ndim else x
    if name == "max":
        return torch.amax(x, dim=reduce_dims(x, kwargs.get("axis")), keepdim=keep)
    if name in ("exp", "log", "relu", "sigmoid", "tanh", "sin", "cos"):
        return getattr(torch, name)(x)
    if name == "reshape":
        return x.reshape(args[1:])
    if name == "transpose":
        return x.permute(args[1:] or tuple(reversed(range(x.ndim))))
    if name == "T":
        return x.permute(tuple(reversed(range(x.ndim))))
    if name == "getitem":
        return x[torch_index(ref, kwargs["index"])]
    if name == "log_softmax":
        return torch.log_softmax(x, dim=kwargs.get("axis", -1))
    if name == "cross_entropy":
        return F.cross_entropy(x, ref.labels(kwargs["y"]))
    raise ValueError(f"unknown op {name!r}")


def torch_nodes(ref, leaves, ops):
    nodes = list(leaves)
    for name, args, kwargs in ops:
        values = [ref.tensor(a["const"]) if isinstance(a, dict) and np.ndim(a["const"])
                  else a["const"] if isinstance(a, dict) else nodes[a] for a in args]
        nodes.append(torch_apply(ref, name, values, kwargs))
    return nodes


@cached
def torch_graph(ref, inputs, ops, grad, repeats=1):
    """Every node's value and every leaf's gradient, as ``evaluate`` in the probe."""
    leaves = [ref.tensor(x, requires_grad=True) for x in inputs]
    for _ in range(repeats):
        nodes = torch_nodes(ref, leaves, ops)
        nodes[-1].backward(None if grad is None else ref.tensor(grad))
    return ([ref.numpy(node) for node in nodes],
            [ref.numpy(leaf.grad) for leaf in leaves])


@cached
def torch_dual(ref, inputs, tangents, ops):
    """Every node's value and tangent (``torch.func.jvp`` of the whole graph)."""

    def all_nodes(*leaves):
        return tuple(torch_nodes(ref, leaves, ops)[len(leaves):])

    primals = tuple(ref.tensor(x) for x in inputs)
    directions = tuple(ref.tensor(t) for t in tangents)
    values, jvps = torch.func.jvp(all_nodes, primals, directions)
    return ([*inputs, *(ref.numpy(v) for v in values)],
            [*tangents, *(ref.numpy(t) for t in jvps)])


# ---------------------------------------------------------------- comparing


def check_value(got, expected, what, hints=(), nonfinite_hint=""):
    if isinstance(got, str):
        raise Fail(f"{what} is not a Tensor (got {got}): every operation on Tensors must "
                   f"return a new Tensor")
    expect_close(got, expected, what, hints=hints, nonfinite_hint=nonfinite_hint)


def check_values(spec, got, expected, value_hints=None, nonfinite_hint=""):
    """Compare each node made by an op, in order; name the first one that is wrong."""
    if not isinstance(got, list) or len(got) != len(expected):
        raise Fail(f"could not evaluate the graph {describe(spec)}")
    names, shown = formulas(spec)
    first = len(spec["inputs"])
    for k in range(first, len(expected)):
        hints = (value_hints or {}).get(k, ())
        check_value(got[k], expected[k], f"the value of {shown[k - first]} in {describe(spec)}",
                    hints, nonfinite_hint)


def broadcast_note(got_shape, leaf_shape):
    try:
        np.broadcast_shapes(got_shape, leaf_shape)
    except ValueError:
        return ""
    return (": the operand was broadcast, so sum its gradient over the broadcast axes "
            "(unbroadcast) to give it the operand's own shape")


def check_grads(spec, got, expected, grad_hints=None, note="", nonfinite_hint=""):
    """Compare the gradient of every leaf; ``note`` is added to any failure."""
    for k, (name, value) in enumerate(zip(spec["names"], expected, strict=True)):
        what = f"the gradient of {name} ({name}.grad) in {describe(spec)}"
        grad = got[k]
        if grad is None:
            raise Fail(f"{name}.grad is None after backward(): every leaf with "
                       f"requires_grad=True that the output depends on gets a gradient"
                       f"{note}")
        hints = (grad_hints or {}).get(k, ())
        explain_wrong_shape(grad, value.shape, what, hints)
        if isinstance(grad, np.ndarray) and grad.shape != value.shape:
            raise Fail(f"{what} has shape {grad.shape} but {name} has shape {value.shape}"
                       f"{broadcast_note(grad.shape, value.shape)}")
        try:
            expect_close(grad, value, what, hints=hints, nonfinite_hint=nonfinite_hint)
        except Fail as fail:
            raise Fail(f"{fail}{note}") from None


def run_graph(ctx, spec, value_hints=None, grad_hints=None, note="", repeats=1,
              nonfinite_hint=""):
    try:
        reply = ctx.student.call(f"{PROBE}.evaluate", probe_spec(spec), repeats=repeats)
    except StudentError as error:
        if error.kind in ("NotImplementedError", "Timeout", "Crash"):
            raise
        # Name the expression that failed, and what the part is about.
        raise Fail(f"{describe_student_error(error)}, in {describe(spec)}{note}") from None
    values, grads = torch_graph(ctx.ref, spec["inputs"], spec["ops"], spec["grad"], repeats)
    check_values(spec, reply["values"], values, value_hints, nonfinite_hint)
    check_grads(spec, reply["grads"], grads, grad_hints, note, nonfinite_hint)
    return reply, values, grads


def single(rng, name, shapes, *extra, positive=False, **kwargs):
    """A graph of one op on leaves of ``shapes`` and a random seed gradient."""
    inputs = [rng.standard_normal(s) for s in shapes]
    if positive:
        inputs = [np.abs(x) + 0.5 for x in inputs]
    ops = [op(name, *range(len(shapes)), *(const(e) for e in extra), **kwargs)]
    return graph(inputs, ops, grad=rng.standard_normal(output_shape(inputs, ops)))


def output_shape(inputs, ops):
    """The shape of the last node (to draw a seed gradient of that shape)."""
    with torch.no_grad():
        return tuple(torch_nodes(_CPU, [_CPU.tensor(x) for x in inputs], ops)[-1].shape)


# ---------------------------------------------------------------- add, sub, mul, neg


def elementwise_cases(rng, shape=(3, 4)):
    def leaf():
        return rng.standard_normal(shape)

    constant = rng.standard_normal(shape)
    # mul first: a bug in * also breaks the later cases that multiply by a constant, and it
    # is best named on its own.
    return [
        graph([leaf(), leaf()], [op("mul", 0, 1)], grad=rng.standard_normal(shape)),
        graph([leaf(), leaf()], [op("add", 0, 1)], grad=rng.standard_normal(shape)),
        graph([leaf(), leaf()], [op("sub", 0, 1)], grad=rng.standard_normal(shape)),
        graph([leaf()], [op("neg", 0)], grad=rng.standard_normal(shape)),
        graph([leaf()], [op("mul", const(2.5), 0), op("sub", 1, const(1.0)),
                         op("sub", const(3.0), 2)], grad=rng.standard_normal(shape)),
        graph([leaf()], [op("add", const(constant), 0), op("mul", 1, const(constant))],
              grad=rng.standard_normal(shape)),
    ]


def add_mul_value_hints(spec):
    name, args, _ = spec["ops"][0]
    if name == "mul" and len(spec["inputs"]) == 2:
        a, b = spec["inputs"]
        return {2: [(a + b, "it adds; x0 * x1 multiplies entry by entry"),
                    (a @ b.T if a.shape[1] == b.shape[1] else None,
                     "that is a matrix product; * multiplies entry by entry")]}
    if name == "sub" and len(spec["inputs"]) == 2:
        a, b = spec["inputs"]
        return {2: [(a + b, "it adds; x0 - x1 subtracts"),
                    (b - a, "the order is reversed: x0 - x1 subtracts x1 from x0")]}
    if name == "neg":
        return {1: [(spec["inputs"][0], "the sign is missing: -x0 flips every sign")]}
    return {}


def add_mul_grad_hints(spec):
    name, _, _ = spec["ops"][0]
    g = spec["grad"]
    if name == "mul" and len(spec["inputs"]) == 2:
        a, b = spec["inputs"]
        swap = "multiplication swaps its inputs: d(x0 * x1)/dx0 = x1 and d(x0 * x1)/dx1 = x0"
        return {0: [(g * a, swap), (g, "out_grad must be multiplied by the other input, "
                                       "d(x0 * x1)/dx0 = x1"), (b, "multiply by out_grad "
                                                                   "(the chain rule)")],
                1: [(g * b, swap), (g, "out_grad must be multiplied by the other input, "
                                       "d(x0 * x1)/dx1 = x0")]}
    if name == "add":
        return {k: [(np.ones_like(g), "multiply by out_grad: the gradient of x0 + x1 "
                                      "passes out_grad through unchanged")] for k in (0, 1)}
    if name == "sub" and len(spec["inputs"]) == 2:
        return {0: [(-g, "only the second input's gradient changes sign: "
                         "d(x0 - x1)/dx0 = 1")],
                1: [(g, "the sign is missing: d(x0 - x1)/dx1 = -1, so x1 gets -out_grad"),
                    (-np.ones_like(g), "multiply by out_grad (the chain rule)")]}
    if name == "neg":
        return {0: [(g, "the sign is missing: d(-x0)/dx0 = -1, so x0 gets -out_grad"),
                    (-np.ones_like(g), "multiply by out_grad (the chain rule)")]}
    return {}


@part("Tensor.add_mul.forward", points=1)
def add_mul_forward(ctx):
    """+, -, * and unary - give the same values as PyTorch (numbers on either side too)."""
    for spec in elementwise_cases(ctx.rng):
        reply = ctx.student.call(f"{PROBE}.forward_only", probe_spec(spec))
        values, _ = torch_graph(ctx.ref, spec["inputs"], spec["ops"], spec["grad"])
        check_values(spec, reply["values"], values, add_mul_value_hints(spec))


# ---------------------------------------------------------------- unbroadcast


@part("unbroadcast", points=1)
def unbroadcast_part(ctx):
    """unbroadcast(grad, shape) sums a gradient back to an operand's shape."""
    cases = [((3, 4), (4,)), ((3, 4), (1, 4)), ((3, 4), (3, 1)), ((2, 3, 4), (3, 1)),
             ((3, 4), ()), ((3, 4), (3, 4)), ((2, 1, 4), (1, 4))]
    for grad_shape, shape in cases:
        grad = ctx.rng.standard_normal(grad_shape)
        got = ctx.student.call(f"{AUTOGRAD}.unbroadcast", grad, shape)
        expected = ctx.ref.numpy(ctx.ref.tensor(grad).sum_to_size(shape)) if shape \
            else grad.sum()
        what = f"unbroadcast(grad of shape {grad_shape}, {shape})"
        if isinstance(got, np.ndarray) and got.shape != tuple(shape):
            if got.shape == grad.shape:
                raise Fail(f"{what} returned the gradient unchanged, shape {got.shape}: sum "
                           f"over the axes that broadcasting added or stretched")
            if got.size == int(np.prod(shape)):
                raise Fail(f"{what} has shape {got.shape} instead of {shape}: sum the "
                           f"size-1 axes with keepdims=True so they stay")
            raise Fail(f"{what} has shape {got.shape} instead of {shape}: sum the leading "
                       f"axes that broadcasting added, then every axis where shape has "
                       f"size 1 (keeping it)")
        copies = grad.size // max(int(np.prod(shape)), 1)
        expect_close(got, expected, what, hints=[
            (expected / copies, "it is the mean over the copies; each copy contributes its "
                                "full gradient, so sum them")])


# ---------------------------------------------------------------- the graph

FAN_OUT_NOTE = ("; if every operation passes its own part, the fault is in backward: a tensor "
                "used by several operations gets the sum of the gradients from every use: add "
                "them up (+=) instead of overwriting, and process a node only after every node "
                "that uses it (reverse topological order)")


def fan_out_cases(rng):
    """Graphs of + and * only (Task 3 needs nothing else) where tensors are reused."""
    x, y = rng.standard_normal(()), rng.standard_normal(())
    u, v = rng.standard_normal(3), rng.standard_normal(3)
    return [
        graph([x], [op("mul", 0, 0)], names=["x"]),
        graph([x, y], [op("mul", 0, 1), op("add", 2, 0), op("mul", 3, 0)], names=["x", "y"]),
        # a diamond: a = x * y feeds b = a * a and c = a + y, which both feed d = b * c
        graph([x, y], [op("mul", 0, 1), op("mul", 2, 2), op("add", 2, 1), op("mul", 3, 4),
                       op("mul", 5, 2)], names=["x", "y"]),
        graph([u, v], [op("mul", 0, 1), op("add", 2, 0), op("mul", 3, 2), op("add", 4, 1)],
              grad=rng.standard_normal(3), names=["u", "v"]),
    ]


@part("backward.fan_out", points=2)
def fan_out(ctx):
    """A tensor used several times gets the sum of its gradients (backward of + and *)."""
    for spec in fan_out_cases(ctx.rng):
        run_graph(ctx, spec, note=FAN_OUT_NOTE)


@part("Tensor.add_mul.gradient", points=1)
def add_mul_gradient(ctx):
    """The gradients of +, -, * and unary - match torch.autograd."""
    for spec in elementwise_cases(ctx.rng):
        run_graph(ctx, spec, grad_hints=add_mul_grad_hints(spec))


# ---------------------------------------------------------------- broadcasting


def broadcast_cases(rng):
    pairs = [((3, 4), (4,)), ((3, 1), (1, 4)), ((2, 3, 4), (3, 1)), ((3, 4), ())]
    cases = []
    for (shape_a, shape_b), name in zip(pairs, ("add", "mul", "sub", "truediv"), strict=True):
        a, b = rng.standard_normal(shape_a), rng.standard_normal(shape_b)
        if name == "truediv":
            b = np.abs(b) + 0.5
        out_shape = np.broadcast_shapes(shape_a, shape_b)
        cases.append(graph([a, b], [op(name, 0, 1)], grad=rng.standard_normal(out_shape)))
    a = rng.standard_normal((4,))
    cases.append(graph([a], [op("mul", const(rng.standard_normal((3, 4))), 0)],
                       grad=rng.standard_normal((3, 4))))
    return cases


def mean_hints(spec, grads):
    """Each gradient divided by the number of copies broadcasting made of its leaf."""
    out_size = np.prod(spec["grad"].shape)
    return {k: [(grad * max(grad.size, 1) / out_size,
                 "it is the mean over the broadcast copies; each copy contributes its full "
                 "gradient, so sum them")] for k, grad in enumerate(grads)
            if grad.size < out_size}


@part("Tensor.broadcasting", points=2)
def broadcasting(ctx):
    """Broadcast operands get their gradient summed back to their own shape."""
    for spec in broadcast_cases(ctx.rng):
        _, grads = torch_graph(ctx.ref, spec["inputs"], spec["ops"], spec["grad"])
        run_graph(ctx, spec, grad_hints=mean_hints(spec, grads))


@part("backward.accumulate", points=2, visible=False)
def accumulate(ctx):
    """Two backward passes add into .grad; only leaves keep a .grad; non-scalar needs grad."""
    rng = ctx.rng
    spec = fan_out_cases(rng)[1]
    reply = ctx.student.call(f"{PROBE}.evaluate", probe_spec(spec), repeats=2)
    _, once = torch_graph(ctx.ref, spec["inputs"], spec["ops"], None)
    _, twice = torch_graph(ctx.ref, spec["inputs"], spec["ops"], None, 2)
    check_grads(spec, reply["grads"], twice, {
        k: [(grad, "after two backward() calls on fresh graphs, .grad must hold the sum of "
                   "both gradients (like PyTorch): add to a leaf's .grad, do not overwrite it")]
        for k, grad in enumerate(once)})
    for formula, grad in zip(formulas(spec)[1], reply["other_grads"], strict=True):
        if grad is not None:
            raise Fail(f"the result {formula.split(' = ')[0]} of an operation has a .grad "
                       f"after backward(); as in PyTorch, only leaves keep one (store the "
                       f"gradients of inner nodes in a dictionary local to backward)")
    matrix = graph([rng.standard_normal((3, 4))], [op("mul", 0, 0)])
    error = ctx.student.call(f"{PROBE}.backward_error", probe_spec(matrix))
    if error != "ValueError":
        raise Fail("backward() without a gradient on a tensor of shape (3, 4) must raise "
                   f"ValueError (only a scalar has the default gradient 1), got "
                   f"{error or 'no error'}")
    seeded = graph([rng.standard_normal((3, 4))], [op("mul", 0, 0), op("add", 1, 0)],
                   grad=rng.standard_normal((3, 4)))
    run_graph(ctx, seeded)


@part("backward.long_chain", points=2, visible=False)
def long_chain(ctx):
    """backward works through a chain of 100,000 operations (no RecursionError)."""
    x = ctx.rng.standard_normal(3)
    scale, shift = 1.0 - 1e-5, 1e-5
    try:
        reply = ctx.student.call(f"{PROBE}.chain", x, CHAIN_OPS, scale, shift)
    except StudentError as error:
        if error.kind in ("RecursionError", "Crash"):
            raise Fail(f"a chain of {CHAIN_OPS:,} operations failed ({error.kind}): a "
                       f"recursive graph traversal needs one Python frame per node, so build "
                       f"the topological order iteratively, with an explicit stack") from None
        if error.kind == "Timeout":
            raise Fail(f"backward through {CHAIN_OPS:,} operations is too slow: keep the "
                       f"visited nodes in a set (not a list) and visit each node once"
                       ) from None
        raise
    pairs = CHAIN_OPS // 2
    factor = ctx.ref.tensor(scale) ** pairs
    expected_value = ctx.ref.numpy(factor * ctx.ref.tensor(x) + shift * (1 - factor)
                                   / (1 - scale))
    expect_close(reply["value"], expected_value, "the value at the end of the chain")
    expect_close(reply["grad"], np.full(3, ctx.ref.numpy(factor)),
                 f"x.grad after a chain of {CHAIN_OPS:,} operations")


# ---------------------------------------------------------------- division and powers


def div_pow_cases(rng):
    def positive(shape=(3, 4)):
        return np.abs(rng.standard_normal(shape)) + 0.5

    cases = [single(rng, "pow", [(3, 4)], p) for p in (2.0, 3.0)]
    cases += [graph([positive()], [op("pow", 0, const(p))], grad=rng.standard_normal((3, 4)))
              for p in (0.5, -1.0, -2.5)]
    cases += [graph([positive(), positive()], [op("truediv", 0, 1)],
                    grad=rng.standard_normal((3, 4))),
              graph([positive()], [op("truediv", const(2.0), 0), op("truediv", 1, const(4.0))],
                    grad=rng.standard_normal((3, 4)))]
    return cases


def pow_grad_hints(spec):
    name, args, _ = spec["ops"][0]
    if name != "pow":
        return {}
    x, p, g = spec["inputs"][0], args[1]["const"], spec["grad"]
    return {0: [(g * p * x**p, "the power rule is d(x^p)/dx = p * x^(p - 1); this used "
                               "p * x^p"),
                (g * x ** (p - 1), "the factor p is missing: d(x^p)/dx = p * x^(p - 1)"),
                (p * x ** (p - 1), "multiply by out_grad (the chain rule)")]}


@part("Tensor.div_pow", points=2)
def div_pow(ctx):
    """x ** p for numbers p, and division, with their gradients."""
    for spec in div_pow_cases(ctx.rng):
        run_graph(ctx, spec, grad_hints=pow_grad_hints(spec))


# ---------------------------------------------------------------- matmul


def matmul_grad_hints(spec):
    if len(spec["inputs"]) != 2:
        return {}
    a, b = spec["inputs"]
    g = spec["grad"]
    if a.ndim != 2 or b.ndim != 2:
        return {}
    square = a.shape[0] == a.shape[1] == b.shape[0] == b.shape[1]
    return {0: [(g @ b if square else None, "dA = out_grad @ B.T: transpose B"),
                (b.T @ g if square else None, "dA = out_grad @ B.T (out_grad first)")],
            1: [(a @ g if square else None, "dB = A.T @ out_grad: transpose A"),
                (g @ a.T if square else None, "dB = A.T @ out_grad (A.T first)")]}


MATMUL_NOTE = ("; each gradient has its operand's shape, which decides the transposes: "
               "for out = A @ B, dA = out_grad @ B.T and dB = A.T @ out_grad")


@part("Tensor.matmul", points=2)
def matmul(ctx):
    """A @ B for matrices, with arrays on either side, and its gradients."""
    rng = ctx.rng
    cases = [single(rng, "matmul", [(4, 4), (4, 4)]), single(rng, "matmul", [(3, 4), (4, 5)])]
    cases.append(graph([rng.standard_normal((4, 2))],
                       [op("matmul", const(rng.standard_normal((3, 4))), 0)],
                       grad=rng.standard_normal((3, 2))))
    cases.append(graph([rng.standard_normal((3, 4))],
                       [op("matmul", 0, const(rng.standard_normal((4, 2))))],
                       grad=rng.standard_normal((3, 2))))
    for spec in cases:
        run_graph(ctx, spec, grad_hints=matmul_grad_hints(spec), note=MATMUL_NOTE)


@part("Tensor.matmul.shapes", points=1, visible=False)
def matmul_shapes(ctx):
    """@ with vectors and stacks of matrices (numpy's rules), and their gradients."""
    rng = ctx.rng
    for shapes in [((4,), (4, 3)), ((3, 4), (4,)), ((4,), (4,)), ((2, 3, 4), (4, 5)),
                   ((2, 3, 4), (2, 4, 5)), ((3, 4), (2, 4, 5))]:
        spec = single(rng, "matmul", list(shapes))
        run_graph(ctx, spec, note=(": a vector a acts as a row (1, n), a vector b as a "
                                   "column (n, 1); stacked axes that were broadcast must "
                                   "be summed back"))


# ---------------------------------------------------------------- reductions


def reduction_cases(rng, name):
    x2, x3 = (3, 4), (2, 3, 4)
    kwargs = [({}, x2), ({"axis": 0}, x2), ({"axis": 1, "keepdims": True}, x2),
              ({"axis": -1}, x2), ({"axis": (0, 2)}, x3), ({"axis": 1}, x3),
              ({"keepdims": True}, x3)]
    return [single(rng, name, [shape], **kw) for kw, shape in kwargs]


def reduction_hints(spec):
    name, _, kwargs = spec["ops"][0]
    x, g = spec["inputs"][0], spec["grad"]
    axes = reduce_dims(x, kwargs.get("axis"))
    axes = (axes,) if isinstance(axes, int) else axes
    expanded = np.broadcast_to(g if kwargs.get("keepdims") else np.expand_dims(g, axes),
                               x.shape)
    if name == "mean":
        return {0: [(expanded, "divide the gradient by the number of entries averaged"),
                    (expanded / x.size if len(axes) < x.ndim else None,
                     "divide by the number of entries along the averaged axes, not by "
                     "the total size of x")]}
    if name == "max":
        return {0: [(expanded, "max routes the gradient only to the entries that are the "
                               "maximum, not to every entry")]}
    return {}


@part("Tensor.sum_mean", points=2)
def sum_mean(ctx):
    """sum and mean over any axes, with keepdims, and their gradients."""
    for name in ("sum", "mean"):
        for spec in reduction_cases(ctx.rng, name):
            run_graph(ctx, spec, grad_hints=reduction_hints(spec), note=(
                "" if spec["ops"][0][2].get("keepdims") else
                "; when keepdims=False, put the reduced axes back (np.expand_dims) before "
                "broadcasting the gradient to x's shape"))


def first_max_mask(x, axes):
    """1 at the first maximum (in C order) over ``axes``, 0 elsewhere: what argmax picks."""
    last = tuple(range(x.ndim - len(axes), x.ndim))
    moved = np.moveaxis(x, axes, last)
    flat = moved.reshape(moved.shape[:x.ndim - len(axes)] + (-1,))
    mask = np.zeros_like(flat)
    np.put_along_axis(mask, flat.argmax(axis=-1)[..., None], 1.0, axis=-1)
    return np.moveaxis(mask.reshape(moved.shape), last, axes)


def ties_hints(spec):
    _, _, kwargs = spec["ops"][0]
    x, g = spec["inputs"][0], spec["grad"]
    axes = reduce_dims(x, kwargs.get("axis"))
    axes = (axes,) if isinstance(axes, int) else axes
    expanded_g = g if kwargs.get("keepdims") else np.expand_dims(g, axes)
    is_max = x == x.max(axis=axes, keepdims=True)
    return {0: [(is_max * expanded_g, "every tied maximum received the full gradient; tied "
                                      "maxima share it equally (divide by the number of "
                                      "ties), as torch.amax"),
                (first_max_mask(x, axes) * expanded_g,
                 "only the first maximum (argmax) received the gradient; tied maxima share "
                 "it equally, as torch.amax")]}


@part("Tensor.max", points=1)
def max_part(ctx):
    """max over any axes routes the gradient to the maximum."""
    for spec in reduction_cases(ctx.rng, "max"):
        run_graph(ctx, spec, grad_hints=reduction_hints(spec))


@part("Tensor.max.ties", points=1, visible=False)
def max_ties(ctx):
    """When entries tie for the maximum, they share its gradient equally (torch.amax)."""
    rng = ctx.rng
    x = np.array([[1.0, 3.0, 3.0, 0.0], [2.0, 2.0, 2.0, 2.0], [5.0, -1.0, 5.0, 4.0]])
    for kwargs in ({"axis": 1}, {"axis": 0, "keepdims": True}, {}):
        ops = [op("max", 0, **kwargs)]
        spec = graph([x], ops, grad=rng.standard_normal(output_shape([x], ops)) + 2.0)
        run_graph(ctx, spec, grad_hints=ties_hints(spec))


# ---------------------------------------------------------------- unary functions

UNARY = ("exp", "log", "relu", "sigmoid", "tanh")


def unary_cases(rng):
    cases = []
    for name in UNARY:
        x = rng.standard_normal((3, 4)) * 2.0
        if name == "log":
            x = np.abs(x) + 0.2
        cases.append(graph([x], [op(name, 0)], grad=rng.standard_normal((3, 4))))
    return cases


def sigmoid(x):
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def unary_grad_hints(spec):
    with np.errstate(all="ignore"):  # candidates of wrong formulas may be nan
        name = spec["ops"][0][0]
        x, g = spec["inputs"][0], spec["grad"]
        derivative = {"exp": np.exp(x), "log": 1 / x, "relu": (x > 0) * 1.0,
                      "sigmoid": sigmoid(x) * (1 - sigmoid(x)), "tanh": 1 - np.tanh(x) ** 2}[name]
        hints = {
            "exp": [(g, "d exp(x)/dx = exp(x): multiply out_grad by exp(x)")],
            "log": [(g * x, "d log(x)/dx = 1/x: divide out_grad by x"),
                    (g * np.log(x), "d log(x)/dx = 1/x, not log(x)"),
                    (g, "the factor 1/x is missing: d log(x)/dx = 1/x")],
            "relu": [(g, "relu passes the gradient only where x > 0 (0 elsewhere)"),
                     (g * (x < 0), "the mask is reversed: the gradient flows where x > 0")],
            "sigmoid": [(g * sigmoid(x), "the factor (1 - sigmoid(x)) is missing"),
                        (g * x * (1 - x), "use the sigmoid's value s in s * (1 - s), not x")],
            "tanh": [(g * (1 - x**2), "use tanh(x), not x: d tanh(x)/dx = 1 - tanh(x)^2"),
                     (g * (1 - np.tanh(x)), "square the tanh: d tanh(x)/dx = 1 - tanh(x)^2")],
        }[name]
        return {0: [*hints, (derivative, "multiply by out_grad (the chain rule)")]}


def unary_value_hints(spec):
    with np.errstate(all="ignore"):  # candidates of wrong formulas may be nan
        name = spec["ops"][0][0]
        x = spec["inputs"][0]
        hints = {"sigmoid": [(1 / (1 + np.exp(x)), "sigmoid(x) = 1 / (1 + exp(-x)): mind the "
                                                   "sign")],
                 "relu": [(np.minimum(x, 0), "relu(x) = max(x, 0), not min")],
                 "log": [(np.log10(x), "use the natural logarithm (np.log), not log10")]}
        return {1: hints.get(name, [])}


@part("Tensor.unary.forward", points=1)
def unary_forward(ctx):
    """exp, log, relu, sigmoid and tanh give PyTorch's values."""
    for spec in unary_cases(ctx.rng):
        reply = ctx.student.call(f"{PROBE}.forward_only", probe_spec(spec))
        values, _ = torch_graph(ctx.ref, spec["inputs"], spec["ops"], spec["grad"])
        check_values(spec, reply["values"], values, unary_value_hints(spec))


@part("Tensor.unary.gradient", points=2)
def unary_gradient(ctx):
    """The gradients of exp, log, relu, sigmoid and tanh match torch.autograd."""
    for spec in unary_cases(ctx.rng):
        run_graph(ctx, spec, grad_hints=unary_grad_hints(spec))


@part("Tensor.unary.edge_cases", points=1, visible=False)
def unary_edge_cases(ctx):
    """relu at exactly 0 has derivative 0; sigmoid and tanh stay finite at +-1000."""
    rng = ctx.rng
    zeros = np.array([[0.0, 1.5, -2.0, 0.0], [0.0, -0.0, 3.0, -1.0]])
    spec = graph([zeros], [op("relu", 0)], grad=rng.standard_normal(zeros.shape))
    g = spec["grad"]
    run_graph(ctx, spec, grad_hints={0: [(g * (zeros >= 0), "relu's derivative at exactly 0 "
                                                            "must be 0, as PyTorch: use "
                                                            "x > 0, not x >= 0")]})
    big = np.array([[1000.0, -1000.0, 750.0, -750.0], [0.0, 30.0, -30.0, 1e-3]])
    for name in ("sigmoid", "tanh"):
        spec = graph([big], [op(name, 0)], grad=rng.standard_normal(big.shape))
        run_graph(ctx, spec, nonfinite_hint=(
            "exp overflowed for an input of +-1000: compute sigmoid without exp of large "
            "positive numbers, for example as (1 + tanh(x / 2)) / 2, or with np.where on the "
            "sign"))


# ---------------------------------------------------------------- shapes and indexing


def slice_(start=None, stop=None, step=None):
    return {"slice": [start, stop, step]}


@part("Tensor.reshape_transpose", points=2)
def reshape_transpose(ctx):
    """reshape, transpose (numpy's axes) and .T, with their gradients."""
    rng = ctx.rng
    cases = [single(rng, "reshape", [(3, 4)], 2, 6), single(rng, "reshape", [(2, 3, 4)], 4, -1),
             single(rng, "transpose", [(2, 3, 4)], 1, 2, 0),
             single(rng, "transpose", [(2, 3, 4)], 2, 0, 1),
             single(rng, "transpose", [(2, 3, 4)]), single(rng, "T", [(3, 5)])]
    for spec in cases:
        name, args, _ = spec["ops"][0]
        axes = [arg["const"] for arg in args[1:]]
        same_axes = (np.transpose(spec["grad"], axes) if name == "transpose" and axes else None)
        run_graph(ctx, spec, grad_hints={0: [(same_axes, (
            "transposing out_grad with the same axes does not undo the permutation; use the "
            "inverse permutation np.argsort(axes)"))]}, note=(
            "; the gradient of a transpose undoes the permutation: transpose out_grad with "
            "the inverse permutation np.argsort(axes)"
            if spec["ops"][0][0] == "transpose" else
            "; the gradient of a reshape is out_grad reshaped to the input's shape"))


def getitem_graph(rng, shape, index):
    ops = [op("getitem", 0, index=index)]
    x = rng.standard_normal(shape)
    return graph([x], ops, grad=rng.standard_normal(output_shape([x], ops)))


@part("Tensor.getitem", points=2)
def getitem(ctx):
    """Basic and integer-array indexing, with their gradients."""
    rng = ctx.rng
    indexes = [1, (slice_(), slice_(1, 3)), (None, 0), ("...", -1), np.array([0, 2]),
               (np.array([0, 1]), np.array([2, 3])), (slice_(None, None, 2), np.array([3, 0]))]
    for index in indexes:
        spec = getitem_graph(rng, (3, 4), index)
        run_graph(ctx, spec, grad_hints={0: [(spec["grad"], (
            "that is out_grad itself; the gradient of x[index] has x's shape"))]}, note=(
            "; the gradient of x[index] has x's shape: zeros, with out_grad added at the "
            "selected entries"))


@part("Tensor.getitem.repeated", points=1, visible=False)
def getitem_repeated(ctx):
    """An entry selected several times gets the sum of its gradients."""
    rng = ctx.rng
    for index in [np.array([0, 0, 2]), (np.array([1, 1, 1]), np.array([2, 2, 0])),
                  (slice_(), np.array([3, 3]))]:
        spec = getitem_graph(rng, (3, 4), index)
        overwritten = np.zeros((3, 4))
        overwritten[decode_index(index)] = spec["grad"]
        run_graph(ctx, spec, grad_hints={0: [(overwritten, (
            "an entry selected several times must receive the sum of its gradients; "
            "grad[index] += out_grad keeps only one of them, np.add.at(grad, index, "
            "out_grad) adds them all"))]})


# ---------------------------------------------------------------- random graphs

GRAPH_SHAPES = [(3, 4), (4,), (1, 4), (3, 1), ()]


def random_graph(ctx, n_ops=10):
    """A random expression over the engine's ops, drawn from ``ctx.rng``; its values stay
    moderate (exp, log, / and pow only where they are well behaved)."""
    rng = ctx.rng
    shapes = [(3, 4)] + [GRAPH_SHAPES[i] for i in rng.integers(0, len(GRAPH_SHAPES), 2)]
    inputs = [rng.standard_normal(s) for s in shapes]
    ops = []
    values = [torch.tensor(x) for x in inputs]

    def add(name, *args, **kwargs):
        ops.append(op(name, *args, **kwargs))
        with torch.no_grad():
            values.append(torch_nodes(_CPU, values, ops[-1:])[-1])

    while len(ops) < n_ops:
        k = int(rng.integers(0, len(values)))
        j = int(rng.integers(0, len(values)))
        v = values[k]
        kind = rng.choice(["binary", "unary", "reduce", "shape", "matmul"],
                          p=[0.35, 0.3, 0.15, 0.1, 0.1])
        broadcastable = _broadcasts(v.shape, values[j].shape)
        if kind == "binary" and broadcastable:
            name = str(rng.choice(["add", "sub", "mul", "truediv"]))
            if name == "truediv" and values[j].abs().min() < 0.5:
                name = "mul"
            if name == "mul" and (v.abs().max() > 5 or values[j].abs().max() > 5):
                name = "add"
            add(name, k, j)
        elif kind == "unary":
            name = str(rng.choice(["exp", "log", "relu", "sigmoid", "tanh", "pow", "neg"]))
            if name == "exp" and v.abs().max() > 3:
                name = "tanh"
            if name == "log" and v.min() < 0.2:
                name = "sigmoid"
            if name == "pow":
                add("pow", k, const(float(rng.choice([2.0, 3.0]))
                                    if v.abs().max() < 3 else 1.0))
            else:
                add(name, k)
        elif kind == "reduce" and v.ndim:
            name = str(rng.choice(["sum", "mean", "max"]))
            axis = int(rng.integers(-v.ndim, v.ndim))
            add(name, k, axis=axis, keepdims=bool(rng.integers(0, 2)))
        elif kind == "shape" and v.ndim == 2:
            choice = int(rng.integers(0, 3))
            if choice == 0:
                add("T", k)
            elif choice == 1:
                add("reshape", k, -1)
            else:
                add("getitem", k, index=rng.integers(0, v.shape[0], 3))
        elif kind == "matmul" and v.ndim >= 1:
            other = rng.standard_normal((v.shape[-1], 2))
            add("matmul", k, const(other))
    # Sum every node (leaves too) that nothing uses, so that all of them reach the output.
    used = {a for _, args, _ in ops for a in args if not isinstance(a, dict)}
    ends = [k for k in range(len(values)) if k not in used]
    total = None
    for k in ends:
        add("sum", k)
        if total is not None:
            add("add", total, len(values) - 1)
        total = len(values) - 1
    return graph(inputs, ops)


def _broadcasts(a, b):
    try:
        np.broadcast_shapes(a, b)
    except ValueError:
        return False
    return True


@part("backward.random_graphs", points=3, visible=False)
def random_graphs(ctx):
    """Random expression graphs over every op, with broadcasting and reuse, vs autograd."""
    for _ in range(4):
        spec = random_graph(ctx, n_ops=int(ctx.rng.integers(8, 14)))
        run_graph(ctx, spec, note=FAN_OUT_NOTE if len(spec["ops"]) else "")


# ---------------------------------------------------------------- no_grad


@part("no_grad", points=1)
def no_grad_part(ctx):
    """Inside no_grad() results require no gradient; the mode comes back afterwards."""
    rng = ctx.rng
    spec = graph([rng.standard_normal((3, 4)), rng.standard_normal((4,))],
                 [op("mul", 0, 1), op("tanh", 2), op("sum", 3)])
    reply = ctx.student.call(f"{PROBE}.forward_only", probe_spec(spec), no_grad=True)
    values, _ = torch_graph(ctx.ref, spec["inputs"], spec["ops"], None)
    check_values(spec, reply["values"], values)
    if reply["requires_grad"]:
        raise Fail("a result computed inside `with no_grad():` requires a gradient: no "
                   "operation inside the block may record the graph")
    if not reply["after"]:
        raise Fail("after the `with no_grad():` block, operations no longer record the "
                   "graph: restore the previous mode when the block ends")
    if not ctx.student.call(f"{PROBE}.no_grad_after_error", rng.standard_normal(3)):
        raise Fail("after a `with no_grad():` block that raised an exception, operations no "
                   "longer record the graph: restore the mode in a `finally:` clause")


# ---------------------------------------------------------------- log_softmax, cross_entropy


def log_softmax_hints(spec):
    x = spec["inputs"][0]
    axis = spec["ops"][0][2].get("axis", -1)
    other = 0 if axis in (-1, x.ndim - 1) else -1
    shifted = x - x.max(axis=axis, keepdims=True)
    wrong_axis = (x - x.max(axis=other, keepdims=True)
                  - np.log(np.exp(x - x.max(axis=other, keepdims=True)).sum(axis=other,
                                                                        keepdims=True)))
    return {1: [(shifted, "subtract log(sum(exp(x))) along the axis, not only the maximum"),
                (wrong_axis, f"it normalizes along axis {other}; use axis={axis}")]}


@part("log_softmax", points=2)
def log_softmax_part(ctx):
    """log_softmax along an axis, and its gradient."""
    rng = ctx.rng
    for shape, axis in [((4, 5), -1), ((4, 5), 0), ((2, 3, 4), 1)]:
        x = 3.0 * rng.standard_normal(shape)
        spec = graph([x], [op("log_softmax", 0, axis=axis)], grad=rng.standard_normal(shape))
        run_graph(ctx, spec, value_hints=log_softmax_hints(spec), nonfinite_hint=OVERFLOW_HINT)


def cross_entropy_case(logits, y):
    return graph([logits], [op("cross_entropy", 0, y=np.asarray(y))], names=["logits"])


@part("cross_entropy", points=2)
def cross_entropy_part(ctx):
    """cross_entropy is F.cross_entropy (a mean), with its gradient."""
    rng = ctx.rng
    for n, c in [(6, 4), (1, 3), (10, 2)]:
        spec = cross_entropy_case(2.0 * rng.standard_normal((n, c)),
                                  rng.integers(0, c, n))
        values, grads = torch_graph(ctx.ref, spec["inputs"], spec["ops"], None)
        loss, grad = values[-1], grads[0]
        hints = {1: [(-loss, "it has the wrong sign: the loss is -log p"),
                     (loss * n if n > 1 else None, "it is N times too large: the loss is the "
                                                   "mean over the batch, not the sum")]}
        grad_hints = {0: [(grad * n if n > 1 else None, "it is N times too large: the loss "
                                                        "is a mean over the batch")]}
        run_graph(ctx, spec, value_hints=hints, grad_hints=grad_hints,
                  nonfinite_hint=OVERFLOW_HINT)


@part("cross_entropy.stability", points=1, visible=False)
def cross_entropy_stability(ctx):
    """log_softmax and cross_entropy stay exact for logits of 1e4."""
    logits = np.array([[1e4, 0.0, -1e4], [-1e4, 1e4, 1e4 - 1.0], [0.0, 0.0, 0.0]])
    run_graph(ctx, cross_entropy_case(logits, [2, 0, 1]),
              nonfinite_hint=OVERFLOW_HINT)
    spec = graph([logits], [op("log_softmax", 0, axis=1)], grad=ctx.rng.standard_normal((3, 3)))
    run_graph(ctx, spec, nonfinite_hint=OVERFLOW_HINT)


# ---------------------------------------------------------------- forward mode: Dual


def run_dual(ctx, spec, tangents, tangent_hints=None):
    full = {**probe_spec(spec), "tangents": tangents}
    reply = ctx.student.call(f"{PROBE}.evaluate_dual", full)
    values, expected = torch_dual(ctx.ref, spec["inputs"], tangents, spec["ops"])
    check_values(spec, reply["values"], values)
    names, shown = formulas(spec)
    first = len(spec["inputs"])
    for k in range(first, len(expected)):
        got = reply["tangents"][k]
        if isinstance(got, str):
            raise Fail(f"the result of {shown[k - first]} is not a Dual (got {got})")
        expect_close(got, expected[k], f"the tangent of {shown[k - first]} in "
                                       f"{describe(spec)}",
                     hints=(tangent_hints or {}).get(k, ()))


def dual_case(rng, name, n_inputs, *extra, positive=False):
    inputs = [rng.standard_normal((2, 3)) for _ in range(n_inputs)]
    if positive:
        inputs = [np.abs(x) + 0.5 for x in inputs]
    tangents = [rng.standard_normal((2, 3)) for _ in range(n_inputs)]
    return graph(inputs, [op(name, *range(n_inputs), *extra)]), tangents


def arithmetic_hints(spec, tangents):
    with np.errstate(all="ignore"):  # candidates of wrong formulas may be nan
        name = spec["ops"][0][0]
        if len(spec["inputs"]) != 2:
            return {}
        (a, b), (da, db) = spec["inputs"], tangents
        hints = {
            "mul": [(da * b, "the product rule has two terms: (a b)' = a' b + a b'; the a b' "
                             "term is missing"),
                    (a * db, "the product rule has two terms: (a b)' = a' b + a b'; the a' b "
                             "term is missing"),
                    (da * db, "(a b)' = a' b + a b', not a' b'")],
            "truediv": [((da * b + a * db) / b**2, "the quotient rule subtracts: "
                                                   "(a / b)' = (a' b - a b') / b^2"),
                        (da / db, "(a / b)' = (a' b - a b') / b^2, not a' / b'"),
                        ((da * b - a * db) / b, "divide by b squared: (a' b - a b') / b^2")],
            "pow": [(b * a ** (b - 1) * da, "with a Dual exponent b, (a^b)' = b a^(b-1) a' + "
                                            "a^b log(a) b'; the second term is missing"),
                    (b * a**b * da, "the power rule is (a^b)' = b a^(b-1) a' + a^b log(a) b'"
                                    ": the exponent of a drops by one")],
        }.get(name, [])
        return {2: hints}


@part("Dual.arithmetic", points=2)
def dual_arithmetic(ctx):
    """+ - * / ** of Duals, numbers and arrays: values and tangents match torch.func.jvp."""
    rng = ctx.rng
    cases = [dual_case(rng, name, 2) for name in ("add", "sub", "mul")]
    cases += [dual_case(rng, "truediv", 2, positive=True), dual_case(rng, "pow", 2,
                                                                     positive=True)]
    cases += [dual_case(rng, "neg", 1)]
    x, t = rng.standard_normal((2, 3)), rng.standard_normal((2, 3))
    for name, p in [("pow", 3.0), ("pow", -1.0), ("mul", 2.5), ("sub", 1.5),
                    ("truediv", 4.0)]:
        cases.append((graph([np.abs(x) + 0.5], [op(name, 0, const(p))]), [t]))
    cases.append((graph([np.abs(x) + 0.5], [op("truediv", const(2.0), 0),
                                            op("sub", const(1.0), 1), op("add", const(3.0), 2),
                                            op("mul", const(x), 3)]), [t]))
    for spec, tangents in cases:
        hints = arithmetic_hints(spec, tangents)
        name, args, _ = spec["ops"][0]
        if name == "pow" and isinstance(args[1], dict):
            a, p, da = spec["inputs"][0], args[1]["const"], tangents[0]
            hints = {1: [(p * a**p * da, "the power rule is (a^p)' = p a^(p-1) a'"),
                         (p * a ** (p - 1), "multiply by the tangent a' (the chain rule)")]}
        run_dual(ctx, spec, tangents, hints)


def dual_function_hints(spec, tangents):
    with np.errstate(all="ignore"):  # candidates of wrong formulas may be nan
        name = spec["ops"][0][0]
        a, da = spec["inputs"][0], tangents[0]
        derivative = {"exp": np.exp(a), "log": 1 / a, "sin": np.cos(a), "cos": -np.sin(a),
                      "relu": (a > 0) * 1.0, "sigmoid": sigmoid(a) * (1 - sigmoid(a)),
                      "tanh": 1 - np.tanh(a) ** 2}.get(name)
        if derivative is None:
            return {}
        hints = [(derivative, "multiply the derivative by the input's tangent a' (the chain "
                              "rule)")]
        if name == "cos":
            hints.append((np.sin(a) * da, "d cos(a) = -sin(a) da: the sign is missing"))
        if name == "sin":
            hints.append((-np.cos(a) * da, "d sin(a) = cos(a) da, without a minus sign"))
        if name == "log":
            hints.append((da * a, "d log(a) = da / a: divide by a"))
        if name == "relu":
            hints.append((da * (a >= 0), "relu's derivative at exactly 0 is 0 (use a > 0)"))
        return {1: hints}


@part("Dual.functions", points=1)
def dual_functions(ctx):
    """exp, log, sin, cos, relu, sigmoid, tanh and sum of Duals match torch.func.jvp."""
    rng = ctx.rng
    for name in ("exp", "log", "sin", "cos", "relu", "sigmoid", "tanh", "sum"):
        spec, tangents = dual_case(rng, name, 1, positive=name == "log")
        if name == "relu":
            spec["inputs"][0][0, :2] = 0.0
        run_dual(ctx, spec, tangents, dual_function_hints(spec, tangents))


# ---------------------------------------------------------------- jvp

TORCH_FUNCTIONS = {
    "sin(x * sum(x))": lambda x: torch.sin(x * x.sum()),
    "exp(x) / (1 + x**2) - cos(x) * sum(x)": lambda x: torch.exp(x) / (1 + x**2)
    - torch.cos(x) * x.sum(),
    "tanh(x) * sigmoid(3 - x) + relu(x) ** 2": lambda x: torch.tanh(x) * torch.sigmoid(3 - x)
    + torch.relu(x) ** 2,
    "sum(log(1 + x * x))": lambda x: torch.log(1 + x * x).sum(),
}
assert set(TORCH_FUNCTIONS) == set(FUNCTIONS)


@cached
def torch_jvp(ref, function, x, v):
    f = TORCH_FUNCTIONS[function]
    value, tangent = torch.func.jvp(f, (ref.tensor(x),), (ref.tensor(v),))
    _, vjp = torch.func.vjp(f, ref.tensor(x))
    ones = torch.func.jvp(f, (ref.tensor(x),), (torch.ones_like(ref.tensor(v)),))[1]
    transposed = vjp(ref.tensor(v))[0] if value.shape == ref.tensor(v).shape else None
    return (ref.numpy(value), ref.numpy(tangent),
            None if transposed is None else ref.numpy(transposed), ref.numpy(ones))


def check_jvp(ctx, function, x, v):
    result = ctx.student.call(f"{PROBE}.jvp", function, x, v)
    value, tangent = unpack(result, 2, "jvp")
    expected_value, expected_tangent, transposed, ones = torch_jvp(ctx.ref, function, x, v)
    what = f"jvp(f, x, v) for f(x) = {function}, x of shape {x.shape}"
    for item, name in ((value, "value"), (tangent, "tangent")):
        if isinstance(item, str):
            raise Fail(f"{what}: the {name} is {item}; return numpy arrays "
                       f"(the value and the tangent of the output Dual)")
    expect_close(value, expected_value, f"{what}: the value f(x)", hints=[
        (expected_tangent, "value and tangent are swapped: return (f(x), J v)")])
    expect_close(tangent, expected_tangent, f"{what}: the tangent J v", hints=[
        (transposed, "that is J^T v, a vector-Jacobian product (what reverse mode "
                     "computes); forward mode gives J v"),
        (ones, "the tangent was seeded with ones; seed the input's tangent with v"),
        (expected_value, "value and tangent are swapped: return (f(x), J v)")])


@part("jvp", points=1)
def jvp_part(ctx):
    """jvp(f, x, v) returns f(x) and J v, as torch.func.jvp."""
    for function in FUNCTIONS:
        x, v = ctx.rng.standard_normal(5), ctx.rng.standard_normal(5)
        check_jvp(ctx, function, x, v)


@part("jvp.shapes", points=1, visible=False)
def jvp_shapes(ctx):
    """jvp with a matrix input, a zero direction and a one-element input."""
    rng = ctx.rng
    for function in FUNCTIONS:
        check_jvp(ctx, function, rng.standard_normal((2, 3)), rng.standard_normal((2, 3)))
    check_jvp(ctx, "sin(x * sum(x))", rng.standard_normal(4), np.zeros(4))
    check_jvp(ctx, "sum(log(1 + x * x))", rng.standard_normal(1), rng.standard_normal(1))
