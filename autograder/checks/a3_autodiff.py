"""Checks for a3_autodiff: ``minidl.autograd`` (reverse mode) and ``minidl.forward``
(forward mode) against PyTorch, part by part in notebook order.

PyTorch equivalents (the notebook states the same):

- ``Tensor(x, requires_grad=True)``: ``torch.tensor(x, dtype=torch.float64,
  requires_grad=True)``; ``backward``, ``.grad``: the same in ``torch.autograd``
- ``x.max(axis)``: ``torch.amax(x, dim=axis)`` (ties share the gradient equally)
- ``x.transpose(*axes)``: ``x.permute(*axes)`` (numpy's transpose); ``x.T``: all axes reversed
- ``log_softmax(x, axis)``, ``cross_entropy(logits, y)``: ``torch.log_softmax``,
  ``F.cross_entropy``
- ``jvp(f, x, v)`` and ``Dual``: ``torch.func.jvp``

A scenario is a graph written once, as data, in the vocabulary of
``autograder.probes.a3_autodiff``: the probe builds it with the student's engine and sends
back values and gradients; the same graph is built here on PyTorch (``NumpyStyle``). The
mistakes each part explains are in ``solutions/mistakes/a3_autodiff.py``; the inputs and the
PyTorch references follow the parts.
"""
import functools
import operator

import numpy as np
import torch
import torch.nn.functional as F

from autograder.compare import unpack
from autograder.errors import StudentError
from autograder.framework import Assignment, Fail, describe_student_error
from autograder.probes.a3_autodiff import (
    FUNCTIONS,
    OPERATIONS,
    build,
    const,
    expression,
    formulas,
    op,
    slice_,
)
from autograder.reference import cached

ASSIGNMENT = Assignment("a3_autodiff")
part = ASSIGNMENT.part

AUTOGRAD = "minidl.autograd"
PROBE = "autograder.probes.a3_autodiff"
OVERFLOW_HINT = ("exp overflowed: subtract the maximum along the axis before exp "
                 "(log-sum-exp), which changes nothing mathematically")
SIGMOID_OVERFLOW_HINT = (
    "exp overflowed for an input of +-1000: compute sigmoid without exp of large positive "
    "numbers, for example as (1 + tanh(x / 2)) / 2, or with np.where on the sign")
CHAIN_OPS = 100_000


# ---------------------------------------------------------------- + - * and unary -

@part("Tensor.add_mul.forward", points=1)
def add_mul_forward(ctx):
    """+, -, * and unary - give the same values as PyTorch (numbers on either side too)."""
    for spec in elementwise_cases(ctx.rng):
        expect_forward(ctx, spec)


# ---------------------------------------------------------------- unbroadcast

@part("unbroadcast", points=1)
def unbroadcast_part(ctx):
    """unbroadcast(grad, shape) sums a gradient back to an operand's shape."""
    for grad_shape, shape in [((3, 4), (4,)), ((3, 4), (1, 4)), ((3, 4), (3, 1)),
                              ((2, 3, 4), (3, 1)), ((3, 4), ()), ((3, 4), (3, 4)),
                              ((2, 1, 4), (1, 4))]:
        grad = ctx.rng.standard_normal(grad_shape)
        ctx.expect_close(f"unbroadcast(grad of shape {grad_shape}, {shape})",
                         lambda who, grad=grad, shape=shape: who.call(
                             f"{AUTOGRAD}.unbroadcast", grad, shape),
                         torch_sum_to_size(ctx.ref, grad, shape))


# ---------------------------------------------------------------- the graph

@part("backward.fan_out", points=2)
def fan_out(ctx):
    """A tensor used several times gets the sum of its gradients (backward of + and *)."""
    for spec in fan_out_cases(ctx.rng):
        run_graph(ctx, spec)


@part("Tensor.add_mul.gradient", points=1)
def add_mul_gradient(ctx):
    """The gradients of +, -, * and unary - match torch.autograd."""
    for spec in elementwise_cases(ctx.rng):
        run_graph(ctx, spec)


@part("Tensor.broadcasting", points=2)
def broadcasting(ctx):
    """Broadcast operands get their gradient summed back to their own shape."""
    for spec in broadcast_cases(ctx.rng):
        run_graph(ctx, spec)


@part("backward.accumulate", points=2, visible=False)
def accumulate(ctx):
    """Two backward passes add into .grad; only leaves keep a .grad; non-scalar needs grad."""
    rng = ctx.rng
    spec = fan_out_cases(rng)[1]
    reply = run_graph(ctx, spec, repeats=2)
    _, lines = formulas(spec["names"], spec["ops"])
    for line, grad in zip(lines, reply["other_grads"], strict=True):
        if grad is not None:
            ctx.fail(f"the result {line.split(' = ')[0]} of an operation has a .grad after "
                     f"backward()", lambda who: evaluation(spec, 2)(who)["other_grads"],
                     reply["other_grads"])
    matrix = graph([rng.standard_normal((3, 4))], [op("mul", 0, 0)])
    raised = "none"
    try:
        evaluation(matrix)(ctx.student)
    except StudentError as error:
        if error.kind in ("NotImplementedError", "Timeout", "Crash"):
            raise
        raised = error.kind
    if raised != "ValueError":
        raise Fail("backward() without a gradient on a tensor of shape (3, 4) must raise "
                   f"ValueError (only a scalar has the default gradient 1), but it raised "
                   f"{raised}")
    run_graph(ctx, graph([rng.standard_normal((3, 4))], [op("mul", 0, 0), op("add", 1, 0)],
                         grad=rng.standard_normal((3, 4))))


@part("backward.long_chain", points=2, visible=False)
def long_chain(ctx):
    """backward works through a chain of 100,000 operations (no RecursionError)."""
    x = ctx.rng.standard_normal(3)
    scale, shift = 1.0 - 1e-5, 1e-5

    def ask(who):
        return who.call(f"{PROBE}.chain", x, CHAIN_OPS, scale, shift)

    try:
        reply = ask(ctx.student)
    except StudentError as error:
        if error.kind == "NotImplementedError":
            raise
        # The kind alone: where a recursion gives up depends on the stack it started from.
        ctx.fail(f"backward through a chain of {CHAIN_OPS:,} operations failed: "
                 f"{describe_student_error(error)}", raising(ask, with_message=False),
                 (error.kind,))
    expected_value, expected_grad = torch_chain(ctx.ref, x, CHAIN_OPS, scale, shift)
    ctx.expect_close("the value at the end of the chain", lambda who: ask(who)["value"],
                     expected_value, got=reply["value"])
    ctx.expect_close(f"x.grad after a chain of {CHAIN_OPS:,} operations",
                     lambda who: ask(who)["grad"], expected_grad, got=reply["grad"])


# ---------------------------------------------------------------- division and powers

@part("Tensor.div_pow", points=2)
def div_pow(ctx):
    """x ** p for numbers p, and division, with their gradients."""
    for spec in div_pow_cases(ctx.rng):
        run_graph(ctx, spec)


# ---------------------------------------------------------------- matmul

@part("Tensor.matmul", points=2)
def matmul(ctx):
    """A @ B for matrices, with arrays on either side, and its gradients."""
    rng = ctx.rng
    cases = [single(rng, "matmul", [(4, 4), (4, 4)]), single(rng, "matmul", [(3, 4), (4, 5)]),
             graph([rng.standard_normal((4, 2))],
                   [op("matmul", const(rng.standard_normal((3, 4))), 0)],
                   grad=rng.standard_normal((3, 2))),
             graph([rng.standard_normal((3, 4))],
                   [op("matmul", 0, const(rng.standard_normal((4, 2))))],
                   grad=rng.standard_normal((3, 2)))]
    for spec in cases:
        run_graph(ctx, spec)


@part("Tensor.matmul.shapes", points=1, visible=False)
def matmul_shapes(ctx):
    """@ with vectors and stacks of matrices (numpy's rules), and their gradients."""
    for shapes in [((4,), (4, 3)), ((3, 4), (4,)), ((4,), (4,)), ((2, 3, 4), (4, 5)),
                   ((2, 3, 4), (2, 4, 5)), ((3, 4), (2, 4, 5))]:
        run_graph(ctx, single(ctx.rng, "matmul", list(shapes)))


# ---------------------------------------------------------------- reductions

@part("Tensor.sum_mean", points=2)
def sum_mean(ctx):
    """sum and mean over any axes, with keepdims, and their gradients."""
    for name in ("sum", "mean"):
        for spec in reduction_cases(ctx.rng, name):
            run_graph(ctx, spec)


@part("Tensor.max", points=1)
def max_part(ctx):
    """max over any axes routes the gradient to the maximum."""
    for spec in reduction_cases(ctx.rng, "max"):
        run_graph(ctx, spec)


@part("Tensor.max.ties", points=1, visible=False)
def max_ties(ctx):
    """When entries tie for the maximum, they share its gradient equally (torch.amax)."""
    x = np.array([[1.0, 3.0, 3.0, 0.0], [2.0, 2.0, 2.0, 2.0], [5.0, -1.0, 5.0, 4.0]])
    for settings in ({"axis": 1}, {"axis": 0, "keepdims": True}, {}):
        ops = [op("max", 0, **settings)]
        run_graph(ctx, graph([x], ops, grad=ctx.rng.standard_normal(output_shape([x], ops))
                             + 2.0))


# ---------------------------------------------------------------- unary functions

@part("Tensor.unary.forward", points=1)
def unary_forward(ctx):
    """exp, log, relu, sigmoid and tanh give PyTorch's values."""
    for spec in unary_cases(ctx.rng):
        expect_forward(ctx, spec)


@part("Tensor.unary.gradient", points=2)
def unary_gradient(ctx):
    """The gradients of exp, log, relu, sigmoid and tanh match torch.autograd."""
    for spec in unary_cases(ctx.rng):
        run_graph(ctx, spec)


@part("Tensor.unary.edge_cases", points=1, visible=False)
def unary_edge_cases(ctx):
    """relu at exactly 0 has derivative 0; sigmoid and tanh stay finite at +-1000."""
    rng = ctx.rng
    zeros = np.array([[0.0, 1.5, -2.0, 0.0], [0.0, -0.0, 3.0, -1.0]])
    run_graph(ctx, graph([zeros], [op("relu", 0)], grad=rng.standard_normal(zeros.shape)))
    big = np.array([[1000.0, -1000.0, 750.0, -750.0], [0.0, 30.0, -30.0, 1e-3]])
    for name in ("sigmoid", "tanh"):
        run_graph(ctx, graph([big], [op(name, 0)], grad=rng.standard_normal(big.shape)),
                  nonfinite_hint=SIGMOID_OVERFLOW_HINT)


# ---------------------------------------------------------------- shapes and indexing

@part("Tensor.reshape_transpose", points=2)
def reshape_transpose(ctx):
    """reshape, transpose (numpy's axes) and .T, with their gradients."""
    rng = ctx.rng
    for spec in [single(rng, "reshape", [(3, 4)], 2, 6), single(rng, "reshape", [(2, 3, 4)], 4, -1),
                 single(rng, "transpose", [(2, 3, 4)], 1, 2, 0),
                 single(rng, "transpose", [(2, 3, 4)], 2, 0, 1),
                 single(rng, "transpose", [(2, 3, 4)]), single(rng, "T", [(3, 5)])]:
        run_graph(ctx, spec)


@part("Tensor.getitem", points=2)
def getitem(ctx):
    """Basic and integer-array indexing, with their gradients."""
    for index in [1, (slice_(), slice_(1, 3)), (None, 0), ("...", -1), np.array([0, 2]),
                  (np.array([0, 1]), np.array([2, 3])),
                  (slice_(None, None, 2), np.array([3, 0]))]:
        run_graph(ctx, getitem_graph(ctx.rng, (3, 4), index))


@part("Tensor.getitem.repeated", points=1, visible=False)
def getitem_repeated(ctx):
    """An entry selected several times gets the sum of its gradients."""
    for index in [np.array([0, 0, 2]), (np.array([1, 1, 1]), np.array([2, 2, 0])),
                  (slice_(), np.array([3, 3]))]:
        run_graph(ctx, getitem_graph(ctx.rng, (3, 4), index))


# ---------------------------------------------------------------- random graphs

@part("backward.random_graphs", points=3, visible=False)
def random_graphs(ctx):
    """Random expression graphs over every op, with broadcasting and reuse, vs autograd."""
    for _ in range(4):
        run_graph(ctx, random_graph(ctx.rng, n_ops=int(ctx.rng.integers(8, 14))))


# ---------------------------------------------------------------- no_grad

@part("no_grad", points=1)
def no_grad_part(ctx):
    """Inside no_grad() results require no gradient; the mode comes back afterwards."""
    rng = ctx.rng
    spec = graph([rng.standard_normal((3, 4)), rng.standard_normal((4,))],
                 [op("mul", 0, 1), op("tanh", 2), op("sum", 3)])

    def ask(who):
        return who.call(f"{PROBE}.no_grad", probe_spec(spec))

    reply = student_reply(ctx, ask, spec)
    expect_values(ctx, spec, ask, reply["values"], torch_values(ctx.ref, spec["inputs"],
                                                                spec["ops"]))
    for failed, message in [
            (reply["requires_grad"], "a result computed inside `with no_grad():` requires a "
                                     "gradient: no operation inside the block may record the "
                                     "graph"),
            (not reply["after"], "after the `with no_grad():` block, operations no longer "
                                 "record the graph"),
            (not reply["after_error"], "after a `with no_grad():` block that raised an "
                                       "exception, operations no longer record the graph")]:
        if failed:
            ctx.fail(message, ask, reply)


# ---------------------------------------------------------------- log_softmax, cross_entropy

@part("log_softmax", points=2)
def log_softmax_part(ctx):
    """log_softmax along an axis, and its gradient."""
    rng = ctx.rng
    for shape, axis in [((4, 5), -1), ((4, 5), 0), ((2, 3, 4), 1)]:
        x = 3.0 * rng.standard_normal(shape)
        run_graph(ctx, graph([x], [op("log_softmax", 0, axis=axis)],
                             grad=rng.standard_normal(shape)), nonfinite_hint=OVERFLOW_HINT)


@part("cross_entropy", points=2)
def cross_entropy_part(ctx):
    """cross_entropy is F.cross_entropy (a mean), with its gradient."""
    rng = ctx.rng
    for n, c in [(6, 4), (1, 3), (10, 2)]:
        run_graph(ctx, cross_entropy_case(2.0 * rng.standard_normal((n, c)),
                                          rng.integers(0, c, n)), nonfinite_hint=OVERFLOW_HINT)


@part("cross_entropy.stability", points=1, visible=False)
def cross_entropy_stability(ctx):
    """log_softmax and cross_entropy stay exact for logits of 1e4."""
    logits = np.array([[1e4, 0.0, -1e4], [-1e4, 1e4, 1e4 - 1.0], [0.0, 0.0, 0.0]])
    run_graph(ctx, cross_entropy_case(logits, np.array([2, 0, 1])),
              nonfinite_hint=OVERFLOW_HINT)
    run_graph(ctx, graph([logits], [op("log_softmax", 0, axis=1)],
                         grad=ctx.rng.standard_normal((3, 3))), nonfinite_hint=OVERFLOW_HINT)


# ---------------------------------------------------------------- forward mode: Dual

@part("Dual.arithmetic", points=2)
def dual_arithmetic(ctx):
    """+ - * / ** of Duals, numbers and arrays: values and tangents match torch.func.jvp."""
    rng = ctx.rng
    cases = [dual_case(rng, name, 2) for name in ("add", "sub", "mul")]
    cases += [dual_case(rng, "truediv", 2, positive=True),
              dual_case(rng, "pow", 2, positive=True), dual_case(rng, "neg", 1)]
    x, t = rng.standard_normal((2, 3)), rng.standard_normal((2, 3))
    positive = np.abs(x) + 0.5
    cases += [(graph([positive], [op(name, 0, const(p))]), [t])
              for name, p in [("pow", 3.0), ("pow", -1.0), ("mul", 2.5), ("sub", 1.5),
                              ("truediv", 4.0)]]
    cases.append((graph([positive], [op("truediv", const(2.0), 0), op("sub", const(1.0), 1),
                                     op("add", const(3.0), 2), op("mul", const(x), 3)]), [t]))
    for spec, tangents in cases:
        run_dual(ctx, spec, tangents)


@part("Dual.functions", points=1)
def dual_functions(ctx):
    """exp, log, sin, cos, relu, sigmoid, tanh and sum of Duals match torch.func.jvp."""
    for name in (*FUNCTIONS["Dual"], "sum"):
        spec, tangents = dual_case(ctx.rng, name, 1, positive=OPERATIONS[name].positive)
        if name == "relu":
            spec["inputs"][0][0, :2] = 0.0
        run_dual(ctx, spec, tangents)


# ---------------------------------------------------------------- jvp

@part("jvp", points=1)
def jvp_part(ctx):
    """jvp(f, x, v) returns f(x) and J v, as torch.func.jvp."""
    for ops in JVP_FUNCTIONS:
        check_jvp(ctx, ops, ctx.rng.standard_normal(5), ctx.rng.standard_normal(5))


@part("jvp.shapes", points=1, visible=False)
def jvp_shapes(ctx):
    """jvp with a matrix input, a zero direction and a one-element input."""
    rng = ctx.rng
    for ops in JVP_FUNCTIONS:
        check_jvp(ctx, ops, rng.standard_normal((2, 3)), rng.standard_normal((2, 3)))
    check_jvp(ctx, JVP_FUNCTIONS[0], rng.standard_normal(4), np.zeros(4))
    check_jvp(ctx, JVP_FUNCTIONS[-1], rng.standard_normal(1), rng.standard_normal(1))


# ================================================================ what the parts ask

def student_reply(ctx, ask, spec):
    """The student's answer to ``ask``. An exception of their code fails the part, naming
    the graph it came from, and is explained by a mistake whose code raises the same; a
    hang, a crash or NotImplementedError is the framework's to report."""
    try:
        return ask(ctx.student)
    except StudentError as error:
        if error.kind in ("NotImplementedError", "Timeout", "Crash"):
            raise
        ctx.fail(f"{describe_student_error(error)}, in {describe(spec)}", raising(ask),
                 (error.kind, error.message))


def raising(ask, with_message=True):
    """``ask`` that answers with the exception the code raised, as (kind, message), or as
    (kind,) without its message."""

    def asked(who):
        try:
            return ask(who)
        except StudentError as error:
            return (error.kind, error.message) if with_message else (error.kind,)

    return asked


def evaluation(spec, repeats=1):
    """The question: every node's value and every leaf's gradient (``probe.evaluate``)."""
    return lambda who: who.call(f"{PROBE}.evaluate", probe_spec(spec), repeats=repeats)


def expect_forward(ctx, spec):
    """Every node's value matches PyTorch's (no backward)."""

    def ask(who):
        return who.call(f"{PROBE}.forward_only", probe_spec(spec))

    reply = student_reply(ctx, ask, spec)
    expect_values(ctx, spec, ask, reply["values"], torch_values(ctx.ref, spec["inputs"],
                                                                spec["ops"]))


def run_graph(ctx, spec, repeats=1, nonfinite_hint=""):
    """Every node's value and every leaf's gradient match PyTorch's; returns the reply."""
    ask = evaluation(spec, repeats)
    reply = student_reply(ctx, ask, spec)
    values, grads = torch_graph(ctx.ref, spec["inputs"], spec["ops"], spec["grad"], repeats)
    expect_values(ctx, spec, ask, reply["values"], values, nonfinite_hint)
    for k, (name, expected) in enumerate(zip(spec["names"], grads, strict=True)):
        def grad_of(who, k=k):
            return ask(who)["grads"][k]

        grad, what = reply["grads"][k], f"the gradient of {name} ({name}.grad) in {describe(spec)}"
        if grad is None:
            ctx.fail(f"{name}.grad is None after backward(): every leaf with "
                     f"requires_grad=True that the output depends on gets a gradient",
                     grad_of, grad)
        if np.shape(grad) != expected.shape:
            ctx.fail(f"{what} has shape {np.shape(grad)} but {name} has shape "
                     f"{expected.shape}", grad_of, grad)
        ctx.expect_close(what, grad_of, expected, got=grad, nonfinite_hint=nonfinite_hint)
    return reply


def expect_values(ctx, spec, ask, got, expected, nonfinite_hint=""):
    """The value of each node an op made, in order: the first wrong one is named."""
    first = len(spec["inputs"])
    for k, line in enumerate(formulas(spec["names"], spec["ops"])[1], start=first):
        ctx.expect_close(f"the value of {line} in {describe(spec)}",
                         lambda who, k=k: ask(who)["values"][k], expected[k], got=got[k],
                         nonfinite_hint=nonfinite_hint)


def run_dual(ctx, spec, tangents):
    """Every node's value and tangent, on Duals, match ``torch.func.jvp``'s."""
    full = {**probe_spec(spec), "tangents": tangents}

    def ask(who):
        return who.call(f"{PROBE}.evaluate_dual", full)

    reply = student_reply(ctx, ask, spec)
    values, expected = torch_dual(ctx.ref, spec["inputs"], tangents, spec["ops"])
    expect_values(ctx, spec, ask, reply["values"], values)
    first = len(spec["inputs"])
    for k, line in enumerate(formulas(spec["names"], spec["ops"])[1], start=first):
        ctx.expect_close(f"the tangent of {line} in {describe(spec)}",
                         lambda who, k=k: ask(who)["tangents"][k], expected[k],
                         got=reply["tangents"][k])


def check_jvp(ctx, ops, x, v):
    """The student's ``jvp`` of the function ``ops`` computes gives f(x) and J v."""
    what = f"jvp(f, x, v) for f(x) = {expression(['x'], ops)}, x of shape {x.shape}"

    def ask(who):
        return unpack(who.call(f"{PROBE}.jvp", ops, x, v), 2, "jvp")

    try:
        value, tangent = ask(ctx.student)
    except StudentError as error:
        if error.kind in ("NotImplementedError", "Timeout", "Crash"):
            raise
        ctx.fail(f"{describe_student_error(error)}, in {what}", raising(ask),
                 (error.kind, error.message))
    expected_value, expected_tangent = torch_jvp(ctx.ref, ops, x, v)
    ctx.expect_close(f"{what}: the value f(x)", lambda who: ask(who)[0], expected_value,
                     got=value)
    ctx.expect_close(f"{what}: the tangent J v", lambda who: ask(who)[1], expected_tangent,
                     got=tangent)


# ================================================================ inputs

def graph(inputs, ops, grad=None, names=None):
    """A scenario: the spec the probe takes, plus the leaves' names used in feedback."""
    return {"inputs": [np.asarray(x, dtype=np.float64) for x in inputs], "ops": list(ops),
            "grad": grad, "names": names or [f"x{k}" for k in range(len(inputs))]}


def probe_spec(spec):
    return {key: spec[key] for key in ("inputs", "ops", "grad")}


def describe(spec):
    leaves = ", ".join(f"{name} of shape {np.shape(x)}"
                       for name, x in zip(spec["names"], spec["inputs"], strict=True))
    return f"[{leaves}; {'; '.join(formulas(spec['names'], spec['ops'])[1])}]"


def single(rng, name, shapes, *extra, **settings):
    """A graph of one op on leaves of ``shapes`` and a random seed gradient."""
    inputs = [rng.standard_normal(s) for s in shapes]
    ops = [op(name, *range(len(shapes)), *(const(e) for e in extra), **settings)]
    return graph(inputs, ops, grad=rng.standard_normal(output_shape(inputs, ops)))


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


def broadcast_cases(rng):
    cases = []
    for (shape_a, shape_b), name in zip([((3, 4), (4,)), ((3, 1), (1, 4)), ((2, 3, 4), (3, 1)),
                                         ((3, 4), ())], ("add", "mul", "sub", "truediv"),
                                        strict=True):
        a, b = rng.standard_normal(shape_a), rng.standard_normal(shape_b)
        if name == "truediv":
            b = np.abs(b) + 0.5
        cases.append(graph([a, b], [op(name, 0, 1)],
                           grad=rng.standard_normal(np.broadcast_shapes(shape_a, shape_b))))
    cases.append(graph([rng.standard_normal((4,))],
                       [op("mul", const(rng.standard_normal((3, 4))), 0)],
                       grad=rng.standard_normal((3, 4))))
    return cases


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


def reduction_cases(rng, name):
    matrix, cube = (3, 4), (2, 3, 4)
    return [single(rng, name, [shape], **settings) for settings, shape in [
        ({}, matrix), ({"axis": 0}, matrix), ({"axis": 1, "keepdims": True}, matrix),
        ({"axis": -1}, matrix), ({"axis": (0, 2)}, cube), ({"axis": 1}, cube),
        ({"keepdims": True}, cube)]]


def unary_cases(rng):
    cases = []
    for name in FUNCTIONS["Tensor"]:
        x = rng.standard_normal((3, 4)) * 2.0
        if OPERATIONS[name].positive:
            x = np.abs(x) + 0.2
        cases.append(graph([x], [op(name, 0)], grad=rng.standard_normal((3, 4))))
    return cases


def getitem_graph(rng, shape, index):
    ops = [op("getitem", 0, index=index)]
    x = rng.standard_normal(shape)
    return graph([x], ops, grad=rng.standard_normal(output_shape([x], ops)))


GRAPH_SHAPES = [(3, 4), (4,), (1, 4), (3, 1), ()]


def random_graph(rng, n_ops=10):
    """A random expression over the engine's ops, drawn from ``rng``; its values stay
    moderate (exp, log, / and pow only where they are well behaved)."""
    shapes = [(3, 4)] + [GRAPH_SHAPES[i] for i in rng.integers(0, len(GRAPH_SHAPES), 2)]
    inputs = [rng.standard_normal(s) for s in shapes]
    ops = []
    nodes = [NumpyStyle(torch.as_tensor(x)) for x in inputs]

    def add(name, *args, **settings):
        ops.append(op(name, *args, **settings))
        nodes.append(build(TORCH, nodes, ops[-1:])[-1])

    while len(ops) < n_ops:
        k = int(rng.integers(0, len(nodes)))
        j = int(rng.integers(0, len(nodes)))
        v, w = nodes[k].tensor, nodes[j].tensor
        kind = rng.choice(["binary", "unary", "reduce", "shape", "matmul"],
                          p=[0.35, 0.3, 0.15, 0.1, 0.1])
        if kind == "binary" and broadcasts(v.shape, w.shape):
            name = str(rng.choice(["add", "sub", "mul", "truediv"]))
            if name == "truediv" and w.abs().min() < 0.5:
                name = "mul"
            if name == "mul" and (v.abs().max() > 5 or w.abs().max() > 5):
                name = "add"
            add(name, k, j)
        elif kind == "unary":
            name = str(rng.choice([*FUNCTIONS["Tensor"], "pow", "neg"]))
            if name == "exp" and v.abs().max() > 3:
                name = "tanh"
            if OPERATIONS[name].positive and v.min() < 0.2:
                name = "sigmoid"
            if name == "pow":
                add("pow", k, const(float(rng.choice([2.0, 3.0])) if v.abs().max() < 3
                                    else 1.0))
            else:
                add(name, k)
        elif kind == "reduce" and v.ndim:
            add(str(rng.choice(["sum", "mean", "max"])), k, axis=int(rng.integers(-v.ndim,
                                                                                   v.ndim)),
                keepdims=bool(rng.integers(0, 2)))
        elif kind == "shape" and v.ndim == 2:
            choice = int(rng.integers(0, 3))
            if choice == 0:
                add("T", k)
            elif choice == 1:
                add("reshape", k, const(-1))
            else:
                add("getitem", k, index=rng.integers(0, v.shape[0], 3))
        elif kind == "matmul" and v.ndim >= 1:
            add("matmul", k, const(rng.standard_normal((v.shape[-1], 2))))
    # Sum every node (leaves too) that nothing uses, so that all of them reach the output.
    used = {a for _, args, _ in ops for a in args if not isinstance(a, dict)}
    total = None
    for k in [k for k in range(len(nodes)) if k not in used]:
        add("sum", k)
        if total is not None:
            add("add", total, len(nodes) - 1)
        total = len(nodes) - 1
    return graph(inputs, ops)


def broadcasts(a, b):
    try:
        np.broadcast_shapes(a, b)
    except ValueError:
        return False
    return True


def cross_entropy_case(logits, y):
    return graph([logits], [op("cross_entropy", 0, const(np.asarray(y)))], names=["logits"])


def dual_case(rng, name, n_inputs, positive=False):
    inputs = [rng.standard_normal((2, 3)) for _ in range(n_inputs)]
    if positive:
        inputs = [np.abs(x) + 0.5 for x in inputs]
    tangents = [rng.standard_normal((2, 3)) for _ in range(n_inputs)]
    return graph(inputs, [op(name, *range(n_inputs))]), tangents


# Functions of one input x, for jvp.
JVP_FUNCTIONS = [
    [op("sum", 0), op("mul", 0, 1), op("sin", 2)],
    [op("exp", 0), op("pow", 0, const(2.0)), op("add", const(1.0), 2), op("truediv", 1, 3),
     op("cos", 0), op("sum", 0), op("mul", 5, 6), op("sub", 4, 7)],
    [op("tanh", 0), op("sub", const(3.0), 0), op("sigmoid", 2), op("mul", 1, 3), op("relu", 0),
     op("pow", 5, const(2.0)), op("add", 4, 6)],
    [op("mul", 0, 0), op("add", const(1.0), 1), op("log", 2), op("sum", 3)],
]


def output_shape(inputs, ops):
    """The shape of the last node (to draw a seed gradient of that shape)."""
    with torch.no_grad():
        return build(TORCH, [NumpyStyle(torch.as_tensor(x)) for x in inputs], ops)[-1].shape


# ================================================================ PyTorch references

def _binary(function):
    """An operator and its reflected form (``array @ x``) on ``NumpyStyle`` tensors."""
    return (lambda self, other: NumpyStyle(function(self.tensor, self.torch(other))),
            lambda self, other: NumpyStyle(function(self.torch(other), self.tensor)))


class NumpyStyle:
    """A PyTorch tensor in numpy's conventions, which minidl follows, so that an operation
    of the vocabulary runs on PyTorch as it is written: ``axis``/``keepdims`` are
    ``dim``/``keepdim`` (no axis: every axis), ``max`` is ``amax``, ``transpose`` permutes
    (all axes reversed without arguments, as ``.T``), an integer array in an index is a
    tensor index; any other method is PyTorch's of the same name, or else the function of
    that name in ``torch.nn.functional``. Numbers stay numbers; arrays become tensors on
    the tensor's device."""

    __array_ufunc__ = None  # ``array * x`` and ``array @ x`` come to the reflected operators
    __add__, __radd__ = _binary(operator.add)
    __sub__, __rsub__ = _binary(operator.sub)
    __mul__, __rmul__ = _binary(operator.mul)
    __truediv__, __rtruediv__ = _binary(operator.truediv)
    __matmul__, __rmatmul__ = _binary(operator.matmul)
    __pow__, __rpow__ = _binary(operator.pow)
    RENAMED = {"max": "amax"}

    def __init__(self, tensor):
        self.tensor = tensor

    @property
    def shape(self):
        return tuple(self.tensor.shape)

    @property
    def ndim(self):
        return self.tensor.ndim

    def torch(self, value):
        """``value`` as PyTorch takes it next to this tensor."""
        if isinstance(value, NumpyStyle):
            return value.tensor
        if isinstance(value, np.ndarray):
            return torch.as_tensor(value, device=self.tensor.device)
        return value

    def __neg__(self):
        return NumpyStyle(-self.tensor)

    def __getitem__(self, index):
        items = index if isinstance(index, tuple) else (index,)
        items = tuple(self.torch(item) for item in items)
        return NumpyStyle(self.tensor[items if isinstance(index, tuple) else items[0]])

    def transpose(self, *axes):
        if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
            axes = tuple(axes[0])
        return NumpyStyle(self.tensor.permute(axes or tuple(reversed(range(self.ndim)))))

    @property
    def T(self):
        return self.transpose()

    def __getattr__(self, name):
        if name.startswith("_") or name == "tensor":
            raise AttributeError(name)
        method = getattr(self.tensor, self.RENAMED.get(name, name), None)
        if method is None:
            method = functools.partial(getattr(F, name), self.tensor)
        return lambda *args, **settings: NumpyStyle(method(
            *(self.torch(arg) for arg in args), **self.settings(settings)))

    def settings(self, settings):
        """numpy's keyword arguments as PyTorch's."""
        renamed = {key: self.torch(value) for key, value in settings.items()
                   if key not in ("axis", "keepdims")}
        if "axis" in settings or "keepdims" in settings:
            axis = settings.get("axis")
            renamed["dim"] = tuple(range(self.ndim)) if axis is None else axis
        if "keepdims" in settings:
            renamed["keepdim"] = settings["keepdims"]
        return renamed


class TorchFunctions:
    """``minidl.autograd``'s functions, ``log_softmax(x, axis)`` and ``cross_entropy(logits,
    y)``, as ``torch.nn.functional``'s of the same names on ``NumpyStyle`` tensors."""

    def __getattr__(self, name):
        return lambda x, *args, **settings: getattr(x, name)(*args, **settings)


TORCH = TorchFunctions()


def torch_leaves(ref, inputs, requires_grad=False):
    return [NumpyStyle(ref.tensor(x, requires_grad=requires_grad)) for x in inputs]


@cached
def torch_values(ref, inputs, ops):
    """Every node's value."""
    with torch.no_grad():
        return [ref.numpy(node.tensor) for node in build(TORCH, torch_leaves(ref, inputs), ops)]


@cached
def torch_graph(ref, inputs, ops, grad, repeats=1):
    """Every node's value and every leaf's gradient, as ``evaluate`` in the probe."""
    leaves = torch_leaves(ref, inputs, requires_grad=True)
    for _ in range(repeats):
        nodes = build(TORCH, leaves, ops)
        nodes[-1].tensor.backward(None if grad is None else ref.tensor(grad))
    return ([ref.numpy(node.tensor) for node in nodes],
            [ref.numpy(leaf.tensor.grad) for leaf in leaves])


@cached
def torch_dual(ref, inputs, tangents, ops):
    """Every node's value and tangent (``torch.func.jvp`` of the whole graph)."""

    def made_by_ops(*leaves):
        nodes = build(TORCH, [NumpyStyle(leaf) for leaf in leaves], ops)
        return tuple(node.tensor for node in nodes[len(leaves):])

    values, jvps = torch.func.jvp(made_by_ops, tuple(ref.tensor(x) for x in inputs),
                                  tuple(ref.tensor(t) for t in tangents))
    return ([*inputs, *(ref.numpy(v) for v in values)],
            [*tangents, *(ref.numpy(t) for t in jvps)])


@cached
def torch_jvp(ref, ops, x, v):
    def f(leaf):
        return build(TORCH, [NumpyStyle(leaf)], ops)[-1].tensor

    value, tangent = torch.func.jvp(f, (ref.tensor(x),), (ref.tensor(v),))
    return ref.numpy(value), ref.numpy(tangent)


@cached
def torch_sum_to_size(ref, grad, shape):
    return ref.numpy(ref.tensor(grad).sum_to_size(shape)) if shape else grad.sum()


@cached
def torch_chain(ref, x, n_ops, scale, shift):
    """The value and the gradient at the end of ``chain``, in closed form: each pair of
    ops maps y to scale * y + shift."""
    pairs = n_ops // 2
    factor = ref.tensor(scale) ** pairs
    value = factor * ref.tensor(x) + shift * (1 - factor) / (1 - scale)
    return ref.numpy(value), np.full(np.shape(x), ref.numpy(factor))

