"""Checks for a4_init_norm: ``minidl.init``, ``minidl.nn`` and the functional batch norm of
``minidl.layers`` against PyTorch, part by part in notebook order.

PyTorch equivalents (the notebook states the same):

- ``init.xavier_uniform(fan_in, fan_out, gain)`` etc.: ``torch.nn.init.xavier_uniform_`` etc.
  on a weight of shape (fan_out, fan_in), transposed; ``init.calculate_gain``:
  ``torch.nn.init.calculate_gain``
- the modules of ``minidl.nn``: those of ``torch.nn`` named in the vocabulary
  ``autograder.probes.a4_init_norm.MODULES`` (``Linear``'s weight transposed: ours is
  (in, out)), without batch norm's ``num_batches_tracked``; ``Residual(f)``: ``x + f(x)``
- ``layers.batchnorm_forward`` / ``batchnorm_backward``: ``F.batch_norm`` and its autograd

A network is a *stack* of that vocabulary: the probe builds it with the student's classes and
sends back outputs, gradients and buffers; the same stack is built here with ``torch.nn``.

**Random draws are checked statistically**, never against arrays locked to a seed: a
correct implementation may draw in any order, with any numpy method. Every statistical
test below is a two-sided test whose probability of rejecting a correct implementation is
at most ``2e-8`` (each one-sided tail at most ``1e-8``), computed from exact tail bounds,
not from asymptotics:

- the variance of a normal draw: ``sum(w^2) / sigma^2`` is chi-square with n degrees of
  freedom, and Laurent and Massart's bounds give
  ``P(chi2 >= n + 2 sqrt(n t) + 2 t) <= e^-t`` and ``P(chi2 <= n - 2 sqrt(n t)) <= e^-t``,
  with ``t = ln(1e8)``;
- means of bounded quantities (the mean and the second moment of a uniform draw, the
  share of normal entries beyond 2 sigma, dropout's keep rate): Hoeffding's inequality,
  ``P(|mean - E| >= h) <= 2 exp(-2 n h^2 / range^2)``;
- the mean of a normal draw: ``|mean| <= 6 sigma / sqrt(n)`` (probability ``2e-9`` to fail);
- the extremes of ``U(-b, b)``: ``P(max < b (1 - d)) = (1 - d/2)^n <= e^{-n d / 2}``.

A part runs at most ``MAX_TESTS`` = 50 such tests (``Budget`` enforces it), so **a correct
implementation fails a part with probability below 1e-6**, whatever its random numbers.

A wrong draw is explained by a catalogued mistake only when it is drawn as the mistake's
is: the same question is asked of the reference with the mistake's patch, and the
student's draws pass the same tests against the distributions that the mistake's draws can
come from (their scale known within the same exact bounds), for every case the part asks
(both modes of ``kaiming_*``: a correct ``mode="fan_in"`` is never told that the fans are
swapped). The mistakes are in ``solutions/mistakes/a4_init_norm.py``.
"""
import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from autograder import compare, mistakes
from autograder.compare import unpack
from autograder.framework import Assignment, Fail
from autograder.probes.a4_init_norm import (
    BUFFERS,
    MODULES,
    assemble,
    describe,
    module,
    resolve,
    shown_options,
)
from autograder.reference import cached

ASSIGNMENT = Assignment("a4_init_norm")
part = ASSIGNMENT.part

PROBE = "autograder.probes.a4_init_norm"
LOG_INV_DELTA = math.log(1e8)  # t of each one-sided tail bound: probability e^-t = 1e-8
MAX_TESTS = 50  # two-sided tests per part, each failing a correct draw with probability 2e-8
NONLINEARITIES = ("linear", "sigmoid", "tanh", "relu")


# ---------------------------------------------------------------- init

@part("init.xavier", points=2)
def init_xavier(ctx):
    """xavier_uniform and xavier_normal draw with torch.nn.init's distributions."""
    budget = Budget()
    for function in ("xavier_uniform", "xavier_normal"):
        expect_draws(ctx, function, [(300, 500, {"gain": gain}) for gain in (1.0, 5.0 / 3.0)],
                     budget)


@part("init.kaiming", points=2)
def init_kaiming(ctx):
    """calculate_gain, kaiming_uniform and kaiming_normal (both modes) as torch.nn.init."""
    def gains(who):
        return who.call(f"{PROBE}.gains", list(NONLINEARITIES))

    got = gains(ctx.student)
    for index, name in enumerate(NONLINEARITIES):
        ctx.expect_close(f"calculate_gain({name!r})", lambda who, index=index: gains(who)[index],
                         torch.nn.init.calculate_gain(name), got=got[index])
    budget = Budget()
    fans = (500, 300)
    # The draws depend on calculate_gain: a mistake whose gains are not the student's
    # (right, by now) explains no draw.
    expect_draws(ctx, "kaiming_uniform", [
        (*fans, {"nonlinearity": nonlinearity, "mode": mode})
        for nonlinearity, mode in (("relu", "fan_in"), ("relu", "fan_out"), ("linear", "fan_in"))
    ], budget, depends_on=(gains, got))
    expect_draws(ctx, "kaiming_normal", [
        (*fans, {"nonlinearity": nonlinearity, "mode": mode})
        for nonlinearity, mode in (("relu", "fan_in"), ("relu", "fan_out"), ("tanh", "fan_in"),
                                   ("sigmoid", "fan_out"))
    ], budget, depends_on=(gains, got))


@part("init.rng", points=1, visible=False)
def init_rng(ctx):
    """rng: the same seed gives the same draw, a Generator continues, None is fresh."""
    for name, kwargs in (("xavier_uniform", {}), ("xavier_normal", {"gain": 2.0}),
                         ("kaiming_uniform", {}), ("kaiming_normal", {"mode": "fan_out"})):
        what = f"init.{name}"

        def draw(rng, name=name, kwargs=kwargs):
            return ctx.student.call(f"{PROBE}.init_draw", name, [20, 30], kwargs, rng)

        first, again, other = draw(7), draw(7), draw(8)
        for got in (first, again, other):
            expect_shape(got, (20, 30), what)
        if not np.array_equal(first, again):
            raise Fail(f"{what}(..., rng=7) gave different arrays in two calls: an int seed "
                       f"must seed a new generator (np.random.default_rng(seed)), so the "
                       f"same seed gives the same weights")
        if np.array_equal(first, other):
            raise Fail(f"{what} gave the same array for rng=7 and rng=8: draw from the "
                       f"generator the seed makes")
        pair = draw("generator:3")
        if np.array_equal(pair[0], pair[1]):
            raise Fail(f"two calls of {what} with the same Generator gave the same array: "
                       f"use the Generator as it is (its stream continues), do not reseed")
        if np.array_equal(draw(None), draw(None)):
            raise Fail(f"two calls of {what} with rng=None gave the same array: None means "
                       f"a fresh generator, np.random.default_rng()")


# ---------------------------------------------------------------- Linear

@part("Linear.init", points=1)
def linear_init(ctx):
    """Linear's weight (in, out) and bias are drawn from U(-1/sqrt(in), 1/sqrt(in))."""
    n_in, n_out = 400, 300
    layer = f"Linear({n_in}, {n_out})"
    draws = ctx.student.call(f"{PROBE}.linear_draws", n_in, n_out, [5, 5, 6, -1, -1])

    def first_draw(who):
        return who.call(f"{PROBE}.linear_draws", n_in, n_out, [5])[0]

    first = draws[0]
    if first["bias"] is None:
        raise Fail(f"{layer}.bias is None: Linear has a bias unless bias=False")
    shapes = {"weight": (n_in, n_out), "bias": (n_out,)}
    for key, shape in shapes.items():
        problem = shape_problem(first[key], shape)
        if problem:
            ctx.fail(f"{layer}.{key} {problem}", first_draw, first, matches=drawn_alike)
    for draw in draws[1:]:
        for key, shape in shapes.items():
            expect_shape(draw[key], shape, f"{layer}.{key}")
    if np.all(first["bias"] == 0):
        raise Fail(f"{layer}.bias is all zeros: PyTorch draws the bias from U(-k, k) too, "
                   f"k = 1 / sqrt(in_features)")
    budget = Budget()
    distribution = Uniform.exactly(torch_linear_bound(n_in))
    for key in shapes:
        problem = distribution.problem(first[key], budget)
        if problem:
            ctx.fail(f"{layer}.{key}: {problem}", first_draw, first, matches=drawn_alike)
    weights, biases = [d["weight"] for d in draws], [d["bias"] for d in draws]
    if not (np.array_equal(weights[0], weights[1]) and np.array_equal(biases[0], biases[1])):
        raise Fail("Linear(..., rng=5) gave different weights twice: draw from the generator "
                   "made from rng (minidl.init.as_generator)")
    if np.array_equal(weights[0], weights[2]) or np.array_equal(weights[3], weights[4]):
        raise Fail("Linear gave the same weights for different seeds (or for rng=None "
                   "twice): draw from the generator made from rng")
    if np.allclose(weights[0][:, 0], biases[0][:1]) or np.array_equal(
            weights[0].ravel()[:n_out], biases[0]):
        raise Fail(f"{layer}.bias repeats entries of the weight: draw the bias separately")


@part("Linear.forward_backward", points=2)
def linear_forward_backward(ctx):
    """Linear computes x @ weight + bias (weights set with load_state_dict), with gradients."""
    rng = ctx.rng
    for n, n_in, n_out, bias in ((6, 5, 3, True), (1, 4, 7, True), (5, 3, 4, False)):
        stack = module("Linear", n_in, n_out, bias=bias)
        expect_run(ctx, stack, random_state(rng, stack), [rng.standard_normal((n, n_in))],
                   [rng.standard_normal((n, n_out))], load="load_state_dict")


# ---------------------------------------------------------------- Module

@part("Module.named_parameters", points=1)
def module_named_parameters(ctx):
    """named_parameters gives PyTorch's dotted names, in order, and the module's Tensors."""
    state = random_state(ctx.rng, NESTED)

    def names_of(who):
        return who.call(f"{PROBE}.named_parameters", NESTED, state)

    reply = names_of(ctx.student)
    expected = [name for name, _ in torch_build(NESTED).named_parameters()]
    where = f"named_parameters() of {describe(NESTED)}"
    if reply["names"] != expected:
        ctx.fail(f"{where} gave {names_difference(reply['names'], expected)}",
                 lambda who: names_of(who)["names"], reply["names"])
    if not all(reply["same_objects"]):
        raise Fail(f"{where} must give the module's own parameter Tensors, not copies: an "
                   f"optimizer updates them")
    if reply["n_parameters"] != len(expected):
        raise Fail(f"parameters() gave {reply['n_parameters']} Tensors, expected "
                   f"{len(expected)}")


@part("Module.train_eval", points=1)
def module_train_eval(ctx):
    """train() and eval() set .training on the module and every descendant."""
    def modes(who):
        return who.call(f"{PROBE}.modes", NESTED)

    reply = modes(ctx.student)
    for key, mode, call in (("eval_modes", False, "eval()"), ("train_modes", True, "train()"),
                            ("train_false_modes", False, "train(False)")):
        wrong = [name for name, value in reply[key].items() if value != mode]
        if wrong:
            ctx.fail(f"after {call} on {describe(NESTED)}, the modules {wrong} have training="
                     f"{not mode}", lambda who, key=key: modes(who)[key], reply[key])
    if not reply["eval_returns_self"]:
        raise Fail("eval() (and train()) must return the module itself, as PyTorch, so "
                   "that model = Model().eval() works")


@part("Module.zero_grad", points=1, visible=False)
def module_zero_grad(ctx):
    """zero_grad() clears the gradient of every parameter, the descendants' too."""
    reply = ctx.student.call(f"{PROBE}.zero_grad", NESTED)
    left = [name for name, g in zip(reply["names"], reply["grads_after"], strict=True)
            if not (g is None or (isinstance(g, np.ndarray) and not np.any(g)))]
    if left:
        raise Fail(f"after zero_grad() on {describe(NESTED)}, the parameters {left} still "
                   f"have a gradient: reset the .grad of every parameter "
                   f"(self.parameters() reaches the children's) to None")


@part("Module.state_dict", points=2)
def module_state_dict(ctx):
    """state_dict() has PyTorch's keys, buffers included, as copies; load_state_dict restores."""
    state = random_state(ctx.rng, NESTED)

    def saved(who):
        return who.call(f"{PROBE}.state_dict", NESTED, state)

    reply = saved(ctx.student)
    where = f"state_dict() of {describe(NESTED)}"
    keys, expected = reply["keys"], list(state)
    if set(keys) != set(expected):
        ctx.fail(f"{where} has the keys {names_difference(keys, expected)} (PyTorch's, without "
                 f"num_batches_tracked)", lambda who: saved(who)["keys"], keys)
    for name in expected:
        ctx.expect_close(f"{where}[{name!r}]", lambda who, name=name: saved(who)["values"][name],
                         state[name], got=reply["values"][name])
    if not reply["copies"]:
        raise Fail(f"{where} returned arrays that changed when the module changed "
                   f"afterwards: store copies (tensor.data.copy()), so a saved state stays "
                   f"as it was")

    def loaded(who):
        return who.call(f"{PROBE}.load_state_dict", NESTED, reply["values"])

    reply = loaded(ctx.student)
    for name in expected:
        if name not in reply["loaded"]:
            raise Fail(f"a fresh module has no {name} after load_state_dict(state_dict())")
        ctx.expect_close(f"{name} of a fresh module after load_state_dict(state_dict())",
                         lambda who, name=name: loaded(who)["loaded"][name], state[name],
                         got=reply["loaded"][name])
    for label, kind in reply["errors"].items():
        if kind != "ValueError":
            raise Fail(f"load_state_dict with a {label} key must raise ValueError naming "
                       f"it, got {kind or 'no exception'}")


# ---------------------------------------------------------------- activations, containers

@part("activations", points=1)
def activations(ctx):
    """ReLU, Sigmoid and Tanh modules: values and gradients (ReLU'(0) = 0, large inputs)."""
    rng = ctx.rng
    for kind in ("ReLU", "Sigmoid", "Tanh"):
        x = 3 * rng.standard_normal((4, 5))
        x[0, :3] = 0.0
        x[1, :2] = [1e3, -1e3]
        expect_run(ctx, module(kind), {}, [x], [rng.standard_normal((4, 5))])


@part("Sequential", points=1)
def sequential(ctx):
    """Sequential applies its modules in order; gradients flow through all of them."""
    rng = ctx.rng
    stack = module("Sequential", module("Linear", 5, 8), module("Tanh"),
                   module("Linear", 8, 8), module("ReLU"),
                   module("Sequential", module("Linear", 8, 3), module("Sigmoid")))
    state = random_state(rng, stack)
    x = rng.standard_normal((6, 5))
    first_two = module("Sequential", module("Linear", 5, 8), module("Tanh"))
    expect_run(ctx, first_two, {k: v for k, v in state.items() if k.startswith("0.")}, [x])
    expect_run(ctx, stack, state, [x], [rng.standard_normal((6, 3))])


@part("Residual", points=1)
def residual(ctx):
    """Residual(f) computes x + f(x), and the gradient has both paths."""
    rng = ctx.rng
    stack = module("Residual", module("Sequential", module("Linear", 4, 4), module("Tanh")))
    expect_run(ctx, stack, random_state(rng, stack), [rng.standard_normal((5, 4))],
               [rng.standard_normal((5, 4))])
    deep = module("Sequential",
                  module("Residual", module("Sequential", module("Linear", 3, 3),
                                            module("ReLU"))),
                  module("Residual", module("Sequential", module("Linear", 3, 3),
                                            module("Sigmoid"))))
    expect_run(ctx, deep, random_state(rng, deep), [rng.standard_normal((4, 3))],
               [rng.standard_normal((4, 3))])


# ---------------------------------------------------------------- Dropout

@part("Dropout.train", points=2)
def dropout_train(ctx):
    """Training mode: each entry kept with probability 1 - p and scaled by 1/(1 - p)."""
    x = 1.0 + ctx.rng.random((400, 500))
    cases = [(p, int(ctx.rng.integers(1 << 30))) for p in (0.5, 0.2, 0.75)]

    def replies(who):
        return [who.call(f"{PROBE}.dropout", p, x, seed, 2, "train") for p, seed in cases]

    def summaries(who):
        return [dropout_summary(reply, x) for reply in replies(who)]

    got = replies(ctx.student)
    for out in (out for reply in got for out in reply["outputs"]):
        expect_shape(out, x.shape, "the output of Dropout in training mode")
    summary = [dropout_summary(reply, x) for reply in got]
    budget = Budget()
    for (p, _), reply, drawn in zip(cases, got, summary, strict=True):
        what = f"Dropout({p}) in training mode"
        out, ratio = reply["outputs"][0], reply["outputs"][0] / x
        budget.spend()
        if drawn["kept"] == 1:
            raise Fail(f"{what} kept every entry: zero each one with probability p")
        if abs(drawn["kept"] - (1 - p)) > hoeffding(x.size, 1.0):
            ctx.fail(f"{what} kept {100 * drawn['kept']:.2f}% of the entries, expected "
                     f"{100 * (1 - p):.0f}%", summaries, summary, matches=dropout_alike)
        if not math.isclose(drawn["value_factor"], 1 / (1 - p), rel_tol=1e-9):
            factors = ratio[out != 0]
            ctx.fail(f"{what}: a kept entry is multiplied by {np.median(factors):.4g} (from "
                     f"{factors.min():.4g} to {factors.max():.4g}), expected 1 / (1 - p) = "
                     f"{1 / (1 - p):.4g}", summaries, summary, matches=dropout_alike)
        if reply["grads"][0] is None:
            raise Fail(f"x.grad is None after backward through {what}: multiply the Tensor "
                       f"x by the mask (a Tensor operation), so the gradient flows")
        try:
            compare.expect_close(reply["grads"][0], ratio,
                                 f"the gradient of x through {what} (backward of ones)")
        except Fail as wrong:
            ctx.fail(str(wrong), summaries, summary, matches=dropout_alike)
        if np.array_equal(out != 0, reply["outputs"][1] != 0):
            raise Fail(f"two calls of one {what} module dropped the same entries: draw a "
                       f"new mask at every call")


@part("Dropout.eval_edge_cases", points=1, visible=False)
def dropout_eval(ctx):
    """Evaluation mode is the identity; p = 0 keeps everything and p = 1 zeroes everything."""
    x = 1.0 + ctx.rng.random((50, 40))
    for p, mode, expected, what in (
            (0.5, "eval", x, "Dropout(0.5) in eval mode must be the identity (inverted "
                             "dropout needs no change at test time)"),
            (0.0, "train", x, "Dropout(0.0) in training mode must keep everything"),
            (1.0, "train", np.zeros_like(x), "Dropout(1.0) in training mode must zero "
                                             "everything (as PyTorch)")):
        def reply_of(who, p=p, mode=mode):
            return who.call(f"{PROBE}.dropout", p, x, 0, 1, mode)

        reply = reply_of(ctx.student)
        out = reply["outputs"][0]
        expect_shape(out, x.shape, f"the output of Dropout({p}) in {mode} mode", finite=False)
        if not np.array_equal(out, expected):
            found = (f"{100 * np.mean(out != 0):.0f}% of the entries were kept"
                     if np.all(np.isfinite(out)) else "the output contains NaN or inf")
            ctx.fail(f"{what}; {found}", lambda who, ask=reply_of: ask(who)["outputs"][0], out)
        if reply["grads"][0] is not None:
            ctx.expect_close(f"the gradient of x through Dropout({p}) in {mode} mode",
                             lambda who, ask=reply_of: ask(who)["grads"][0],
                             np.ones_like(x) if p < 1 else np.zeros_like(x),
                             got=reply["grads"][0])
    first, again = (ctx.student.call(f"{PROBE}.dropout", 0.5, x, 11)["outputs"][0]
                    for _ in range(2))
    if not np.array_equal(first, again):
        raise Fail("two Dropout(0.5, rng=11) modules dropped different entries: draw the mask "
                   "from the generator made from rng")


# ---------------------------------------------------------------- functional batch norm

@part("batchnorm_forward", points=2)
def batchnorm_forward_part(ctx):
    """batchnorm_forward: batch statistics and running-average updates in train, running
    statistics in eval, as F.batch_norm."""
    rng = ctx.rng
    n, d = 16, 5
    gamma, beta = 1 + 0.3 * rng.standard_normal(d), 0.3 * rng.standard_normal(d)
    xs = batches(rng, 4, (n, d), scale=2.0, shift=1.5)
    start_mean, start_var = 0.2 * rng.standard_normal(d), rng.uniform(0.5, 2.0, d)
    for momentum in (0.1, 0.3):
        expect_batchnorm(ctx, xs, gamma, beta, {
            "mode": "train", "momentum": momentum, "eps": 1e-5,
            "running_mean": start_mean, "running_var": start_var})
    # Absent running statistics start as PyTorch's: zeros and ones.
    expect_batchnorm(ctx, xs[:2], gamma, beta, {"mode": "train"})
    expect_batchnorm(ctx, xs[:1], gamma, beta, {
        "mode": "eval", "running_mean": start_mean, "running_var": start_var, "eps": 1e-3})


@part("batchnorm_backward", points=2)
def batchnorm_backward_part(ctx):
    """batchnorm_backward: dx (with the paths through the mean and variance), dgamma, dbeta."""
    rng = ctx.rng
    for n, d, mode in ((10, 4, "train"), (2, 3, "train"), (7, 3, "eval")):
        gamma, beta = 1 + 0.3 * rng.standard_normal(d), 0.3 * rng.standard_normal(d)
        x = 1.0 + 2.0 * rng.standard_normal((n, d))
        dout = rng.standard_normal((n, d))
        expect_batchnorm(ctx, [x], gamma, beta, {
            "mode": mode, "running_mean": 0.2 * rng.standard_normal(d),
            "running_var": rng.uniform(0.5, 2.0, d)}, douts=[dout])


# ---------------------------------------------------------------- BatchNorm1d

@part("BatchNorm1d.train", points=2)
def batchnorm1d_train(ctx):
    """BatchNorm1d in training mode: batch statistics (biased variance), and gradients."""
    rng = ctx.rng
    for n, c in ((8, 4), (2, 3), (32, 6)):
        stack = module("BatchNorm1d", c)
        expect_run(ctx, stack, random_state(rng, stack), [1.0 + 2.0 * rng.standard_normal((n, c))],
                   [rng.standard_normal((n, c))])


@part("BatchNorm1d.running_stats", points=2)
def batchnorm1d_running(ctx):
    """Running mean and (unbiased) variance over several steps, then eval mode uses them."""
    rng = ctx.rng
    for c, momentum, fresh in ((4, 0.1, True), (3, 0.25, False)):
        stack = module("BatchNorm1d", c, momentum=momentum)
        state = fresh_state(stack) if fresh else random_state(rng, stack)
        reply = expect_run(ctx, stack, state, batches(rng, 5, (12, c), scale=3.0, shift=2.0))
        # Evaluation with the statistics just computed.
        expect_run(ctx, stack, {**state, **reply["buffers"]},
                   [2.0 + 3.0 * rng.standard_normal((6, c))], [rng.standard_normal((6, c))],
                   mode="eval")


@part("BatchNorm1d.edge_cases", points=1, visible=False)
def batchnorm1d_edge(ctx):
    """One sample: ValueError in train mode, fine in eval; a constant feature; momentum 0/1."""
    rng = ctx.rng
    stack = module("BatchNorm1d", 3)
    kind = ctx.student.call(f"{PROBE}.forward_error", stack, rng.standard_normal((1, 3)),
                            "train")
    if kind != "ValueError":
        raise Fail(f"BatchNorm1d(3) in training mode on one sample (x of shape (1, 3)) must "
                   f"raise ValueError, as PyTorch (one value has no variance); got "
                   f"{kind or 'no exception'}")
    state = random_state(rng, stack)
    expect_run(ctx, stack, state, [rng.standard_normal((1, 3))], [rng.standard_normal((1, 3))],
               mode="eval")
    x = rng.standard_normal((6, 3))
    x[:, 1] = 4.0  # a constant feature: variance 0, normalized to 0 (then + bias)
    expect_run(ctx, stack, state, [x], [rng.standard_normal((6, 3))],
               nonfinite_hint="a constant feature has variance 0: eps keeps the division "
                              "finite")
    for momentum in (0.0, 1.0):
        expect_run(ctx, module("BatchNorm1d", 3, momentum=momentum), state,
                   batches(rng, 2, (5, 3)))


# ---------------------------------------------------------------- LayerNorm

@part("LayerNorm", points=2)
def layernorm(ctx):
    """LayerNorm normalizes each sample over its last dimension; values and gradients."""
    rng = ctx.rng
    for n, d in ((6, 5), (4, 8)):
        stack = module("LayerNorm", d)
        expect_run(ctx, stack, random_state(rng, stack),
                   [1.0 + 2.0 * rng.standard_normal((n, d))], [rng.standard_normal((n, d))])


@part("LayerNorm.edge_cases", points=1, visible=False)
def layernorm_edge(ctx):
    """LayerNorm on one sample, on 3-D input, with a large eps and tiny variance, in eval."""
    rng = ctx.rng
    for shape, eps, mode in (((1, 6), 1e-5, "train"), ((2, 3, 4), 1e-5, "train"),
                             ((5, 4), 0.1, "train"), ((3, 5), 1e-5, "eval")):
        stack = module("LayerNorm", shape[-1], eps=eps)
        scale = 0.1 if eps == 0.1 else 1.0
        expect_run(ctx, stack, random_state(rng, stack), [scale * rng.standard_normal(shape)],
                   [rng.standard_normal(shape)], mode=mode)


# ---------------------------------------------------------------- a whole network

@part("network", points=2, visible=False)
def network(ctx):
    """A deep network of every module, trained for several steps, then evaluated."""
    rng = ctx.rng
    stack = module(
        "Sequential", module("Linear", 6, 8), module("BatchNorm1d", 8), module("ReLU"),
        module("Residual", module("Sequential", module("Linear", 8, 8), module("LayerNorm", 8),
                                  module("Tanh"))),
        module("Residual", module("Sequential", module("Linear", 8, 8, bias=False),
                                  module("BatchNorm1d", 8, momentum=0.2), module("Sigmoid"))),
        module("Dropout", 0.0, rng=0), module("Linear", 8, 3))
    state = random_state(rng, stack)
    xs = batches(rng, 3, (10, 6), scale=2.0)
    reply = expect_run(ctx, stack, state, xs, [rng.standard_normal((10, 3)) for _ in xs])
    expect_run(ctx, stack, {**state, **reply["buffers"]}, batches(rng, 1, (4, 6)),
               [rng.standard_normal((4, 3))], mode="eval")


# ================================================================ what the parts ask

def init_call(function, fan_in, fan_out, **kwargs):
    return f"init.{function}({fan_in}, {fan_out}" + "".join(
        f", {k}={v!r}" for k, v in kwargs.items()) + ")"


def expect_draws(ctx, function, cases, budget, depends_on=None):
    """``init.<function>(fan_in, fan_out, **kwargs)`` draws from torch.nn.init's distribution
    in each case ``(fan_in, fan_out, kwargs)``. A mistake explains a wrong draw only when it
    draws every case as the student does, and gives the student's answer to what the draws
    depend on, ``depends_on`` = (ask, the student's answer), when given."""
    seeds = [int(ctx.rng.integers(1 << 30)) for _ in cases]

    def draws(who):
        return [who.call(f"{PROBE}.init_draw", function, [fan_in, fan_out], kwargs, seed)
                for (fan_in, fan_out, kwargs), seed in zip(cases, seeds, strict=True)]

    got = draws(ctx.student)
    ask, answer = draws, got
    if depends_on is not None:
        ask_depended, depended = depends_on
        ask, answer = (lambda who: [ask_depended(who), draws(who)]), [depended, got]
    for (fan_in, fan_out, kwargs), w in zip(cases, got, strict=True):
        what = init_call(function, fan_in, fan_out, **kwargs)
        problem = shape_problem(w, (fan_in, fan_out))
        if problem:
            ctx.fail(f"{what} {problem}", ask, answer, matches=drawn_alike)
        problem = torch_init_distribution(function, fan_in, fan_out, **kwargs).problem(w,
                                                                                      budget)
        if problem:
            ctx.fail(f"{what}: {problem}", ask, answer, matches=drawn_alike)


def shape_problem(got, shape, finite=True):
    """What is wrong with ``got`` as an array of ``shape``, "" if nothing is."""
    if not isinstance(got, np.ndarray):
        return f"must be a numpy array of shape {shape}, got {type(got).__name__}"
    if got.shape != tuple(shape):
        return f"has shape {got.shape} but should have shape {tuple(shape)}"
    if finite and not np.all(np.isfinite(got)):
        return "contains NaN or inf"
    return ""


def expect_shape(got, shape, what, finite=True):
    problem = shape_problem(got, shape, finite)
    if problem:
        raise Fail(f"{what} {problem}")


def names_difference(names, expected):
    """How a list of names differs from PyTorch's, for a message."""
    if sorted(names) == sorted(expected):
        return (f"the names in the order {names}; PyTorch's order is {expected} (the order the "
                f"attributes were assigned, children in order)")
    missing = [name for name in expected if name not in names]
    extra = [name for name in names if name not in expected]
    return (f"{names}; expected {expected}" + (f"; missing {missing}" if missing else "")
            + (f"; unexpected {extra}" if extra else ""))


def expect_run(ctx, stack, state, xs, douts=None, mode="train", load="direct",
               nonfinite_hint=""):
    """Run ``stack`` (with ``state`` set, in ``mode``) on the student's minidl and on PyTorch,
    forward on each batch ``xs[k]`` and, given ``douts``, backward; compare the outputs, the
    gradients of x and of every parameter, and the buffers after the last step. Returns
    the student's reply."""
    def ask(who):
        return who.call(f"{PROBE}.run_module", stack, xs, douts, state, mode, load)

    got = ask(ctx.student)
    expected = torch_run(ctx.ref, stack, state, xs, douts, mode)
    shown = describe(stack)
    for step, x in enumerate(xs):
        when = f" (step {step + 1} of {len(xs)})" if len(xs) > 1 else ""
        where = f"{shown} in {mode} mode on x of shape {np.shape(x)}{when}"
        ctx.expect_close(f"the output of {where}", lambda who, step=step: ask(who)["outputs"][
            step], expected["outputs"][step], got=got["outputs"][step],
            nonfinite_hint=nonfinite_hint)
        if douts is None:
            continue
        if got["input_grads"][step] is None:
            raise Fail(f"x.grad is None after backward through {where}: the output must be "
                       f"computed from x with Tensor operations")
        ctx.expect_close(f"the gradient of x through {where}", lambda who, step=step: ask(who)[
            "input_grads"][step], expected["input_grads"][step], got=got["input_grads"][step])
        for name, value in expected["grads"][step].items():
            if got["grads"][step].get(name) is None:
                raise Fail(f"the parameter {name} of {where} got no gradient: keep parameters "
                           f"as Tensors with requires_grad=True and use them in forward")
            ctx.expect_close(f"the gradient of {name} in {where}",
                             lambda who, step=step, name=name: ask(who)["grads"][step][name],
                             value, got=got["grads"][step][name])
    for name, value in expected["buffers"].items():
        if name not in got["buffers"]:
            raise Fail(f"{shown} has no buffer {name}: keep it as a float64 array attribute")
        ctx.expect_close(f"{name} after {len(xs)} forward pass(es) of {shown} in {mode} mode",
                         lambda who, name=name: ask(who)["buffers"][name], value,
                         got=got["buffers"][name])
    return got


def expect_batchnorm(ctx, xs, gamma, beta, bn_param, douts=None):
    """``batchnorm_forward`` on each batch of ``xs`` with one ``bn_param`` (and, given
    ``douts``, ``batchnorm_backward``) gives F.batch_norm's outputs, gradients and running
    statistics."""
    def ask(who):
        return who.call(f"{PROBE}.batchnorm", xs, gamma, beta, bn_param, douts)

    got = ask(ctx.student)
    expected = torch_batchnorm(ctx.ref, xs, gamma, beta, bn_param, douts)
    where = (f"batchnorm_forward in {bn_param['mode']} mode (bn_param with "
             f"{', '.join(bn_param)}) on x of shape {xs[0].shape}")
    for step in range(len(xs)):
        when = f", step {step + 1} of {len(xs)}" if len(xs) > 1 else ""
        ctx.expect_close(f"the output of {where}{when}",
                         lambda who, step=step: ask(who)["outputs"][step],
                         expected["outputs"][step], got=got["outputs"][step])
        if douts is None:
            continue
        grads = unpack(got["grads"][step], 3, "batchnorm_backward")
        for index, name in enumerate(("dx", "dgamma", "dbeta")):
            ctx.expect_close(f"{name} of batchnorm_backward after {where}{when}",
                             lambda who, step=step, index=index: ask(who)["grads"][step][index],
                             expected["grads"][step][index], got=grads[index])
    for name, value in expected["running"].items():
        if name not in got["running"]:
            raise Fail(f"bn_param has no {name!r} after {where}: create it (zeros for the "
                       f"mean, ones for the variance) when it is absent")
        ctx.expect_close(f"bn_param[{name!r}] after {len(xs)} call(s) of {where}",
                         lambda who, name=name: ask(who)["running"][name], value,
                         got=got["running"][name])


def dropout_summary(reply, x):
    """What decides a Dropout output in training mode: the share of the entries it keeps,
    and the factors by which a kept entry's value and its gradient are multiplied (NaN where
    they vary from entry to entry)."""
    out, grad = reply["outputs"][0], reply["grads"][0]
    kept = out != 0
    return {"kept": float(kept.mean()), "entries": int(kept.size),
            "value_factor": common_value(out[kept] / x[kept]),
            "grad_factor": None if grad is None else common_value(grad[kept])}


def common_value(values):
    """The value all of ``values`` share (to 1e-9), NaN if they differ or there are none."""
    if values.size == 0 or not np.allclose(values, values.flat[0], rtol=1e-9, atol=0):
        return math.nan
    return float(values.flat[0])


def dropout_alike(got, candidate):
    """Whether Dropout summaries (one per case) are drawn as a mistake's are: each keep rate
    within the sum of the two Hoeffding bounds of the other, the factors equal."""
    return len(got) == len(candidate) and all(
        abs(g["kept"] - c["kept"]) <= 2 * hoeffding(c["entries"], 1.0)
        and mistakes.same_answer([g["value_factor"], g["grad_factor"]],
                                 [c["value_factor"], c["grad_factor"]], 1e-9, 0.0)
        for g, c in zip(got, candidate, strict=True))


# ================================================================ statistical tests

class Budget:
    """Counts the statistical tests of one part; the false-failure bound needs <= 50."""

    def __init__(self):
        self.tests = 0

    def spend(self, count=1):
        self.tests += count
        if self.tests > MAX_TESTS:
            raise AssertionError("a check part may run at most 50 statistical tests")


def hoeffding(n, value_range):
    """Half-width h with P(|mean - E| >= h) <= 2e-8 for n draws in an interval of that
    length."""
    return value_range * math.sqrt(math.log(2e8) / (2 * n))


def second_moment_factors(n):
    """(a, b): ``mean(w^2)`` of n draws of N(0, s^2) lies in [a s^2, b s^2] but with
    probability 2e-8 (Laurent and Massart)."""
    t = LOG_INV_DELTA
    return 1 - 2 * math.sqrt(t / n), 1 + 2 * math.sqrt(t / n) + 2 * t / n


def uniform_reach(n):
    """The largest of n draws of |U(-b, b)| is at least ``b * uniform_reach(n)`` but with
    probability 1e-8."""
    return 1 - 2 * LOG_INV_DELTA / n


@dataclass(frozen=True)
class Distribution:
    """A distribution of one family whose scale lies between ``low`` and ``high``: known
    exactly for torch.nn.init's draw, within exact bounds for the distribution a mistake's
    draw comes from. ``problem(w, budget)`` says what shows that ``w`` is not drawn from it
    ("" if nothing does), spending ``tests`` of the budget."""

    low: float
    high: float

    @classmethod
    def exactly(cls, scale):
        return cls(scale, scale)


class Normal(Distribution):
    """N(0, std^2), std the scale."""

    tests = 3

    @classmethod
    def read_off(cls, w):
        """The normal distributions ``w`` may be drawn from (None if too few entries)."""
        low, high = second_moment_factors(w.size)
        moment = float(np.mean(w**2))
        return cls(math.sqrt(moment / high), math.sqrt(moment / low)) if low > 0 else None

    def problem(self, w, budget=None):
        if budget:
            budget.spend(self.tests)
        w = np.asarray(w, dtype=np.float64).ravel()
        n = w.size
        low, high = second_moment_factors(n)
        lowest, highest = self.low**2 * max(low, 0.0), self.high**2 * high
        moment = float(np.mean(w**2))
        if not lowest <= moment <= highest:
            return (f"the entries have standard deviation {math.sqrt(moment):.4g}, expected "
                    f"{self.high:.4g} (a correct draw of {n} entries would give between "
                    f"{math.sqrt(lowest):.4g} and {math.sqrt(highest):.4g})")
        if abs(w.mean()) > 6 * self.high / math.sqrt(n):
            return f"the entries have mean {w.mean():.4g}; they must be centered at 0"
        expected = math.erfc(2 / math.sqrt(2))  # the share of N(0, s^2) beyond 2 s
        fewest, most = np.mean(np.abs(w) > 2 * self.high), np.mean(np.abs(w) > 2 * self.low)
        if fewest > expected + hoeffding(n, 1.0) or most < expected - hoeffding(n, 1.0):
            return (f"{100 * fewest:.2f}% of the entries lie beyond 2 standard deviations, "
                    f"where a normal distribution puts {100 * expected:.2f}%")
        return ""


class Uniform(Distribution):
    """U(-bound, bound), the bound the scale."""

    tests = 4

    @classmethod
    def read_off(cls, w):
        """The uniform distributions ``w`` may be drawn from (None if too few entries)."""
        largest, reach = float(np.max(np.abs(w))), uniform_reach(w.size)
        return cls(largest, largest / reach) if reach > 0 else None

    def problem(self, w, budget=None):
        if budget:
            budget.spend(self.tests)
        w = np.asarray(w, dtype=np.float64).ravel()
        n = w.size
        reach, largest = uniform_reach(n), float(np.max(np.abs(w)))
        found = f"the entries reach {largest:.4g} in absolute value"
        if largest > self.high * (1 + 1e-9):
            return f"{found}, beyond the bound {self.high:.4g} of U(-b, b)"
        if largest < self.low * reach:
            return (f"{found}, but {n} draws of U(-{self.low:.4g}, {self.low:.4g}) come "
                    f"within {100 * (1 - reach):.3f}% of the bound")
        if w.max() < self.low * reach or w.min() > -self.low * reach:
            return (f"the entries lie in [{w.min():.4g}, {w.max():.4g}]; U(-b, b) covers "
                    f"both signs, -b to b")
        if abs(w.mean()) > self.high * math.sqrt(2 * math.log(2e8) / n):
            return f"the entries have mean {w.mean():.4g}; they must be centered at 0"
        moment = float(np.mean(w**2))
        if not (self.low**2 / 3 - hoeffding(n, self.low**2) <= moment
                <= self.high**2 / 3 + hoeffding(n, self.high**2)):
            return (f"the entries have variance {moment:.4g}, but U(-b, b) has variance "
                    f"b^2 / 3 = {self.high**2 / 3:.4g}: draw each entry uniformly")
        return ""


def drawn_alike(got, candidate):
    """Whether the student's draws are drawn as a mistake's draws are, item by item: an
    array has the mistake's shape and passes the same tests against a distribution that the
    mistake's array may come from (one that passes them itself); anything else is equal."""
    if isinstance(candidate, (list, tuple)):
        return (isinstance(got, (list, tuple)) and len(got) == len(candidate)
                and all(drawn_alike(g, c) for g, c in zip(got, candidate, strict=True)))
    if isinstance(candidate, dict):
        return (isinstance(got, dict) and got.keys() == candidate.keys()
                and all(drawn_alike(got[key], candidate[key]) for key in candidate))
    if not isinstance(candidate, np.ndarray) or candidate.size < 2:
        return mistakes.same_answer(got, candidate, compare.RTOL, compare.ATOL)
    if not (isinstance(got, np.ndarray) and got.shape == candidate.shape
            and np.all(np.isfinite(got)) and np.all(np.isfinite(candidate))):
        return False
    sample = candidate.astype(np.float64).ravel()
    readings = [family.read_off(sample) for family in (Normal, Uniform)]
    return any(reading is not None and not reading.problem(sample) and not reading.problem(got)
               for reading in readings)


# ================================================================ inputs

NESTED = module(
    "Sequential", module("Linear", 4, 6), module("BatchNorm1d", 6), module("ReLU"),
    module("Residual", module("Sequential", module("Linear", 6, 6, bias=False),
                              module("LayerNorm", 6), module("Tanh"))),
    module("Dropout", 0.0, rng=0), module("Sequential", module("Linear", 6, 3)))


def batches(rng, count, shape, scale=1.0, shift=0.0):
    return [shift + scale * rng.standard_normal(shape) for _ in range(count)]


def random_state(rng, stack):
    """Random parameters and buffers for ``stack``, in minidl's conventions."""
    model = torch_build(stack)
    transposed = transposed_names(model)
    drawn = {}
    for name, value in torch_state(model).items():
        key = name.rsplit(".", 1)[-1]
        if name in transposed:  # a weight matrix (in, out): unit-scale outputs
            drawn[name] = rng.standard_normal(value.shape) / math.sqrt(value.shape[0])
        elif key == "running_var":
            drawn[name] = rng.uniform(0.5, 2.0, value.shape)
        elif key == "weight":
            drawn[name] = 1.0 + 0.3 * rng.standard_normal(value.shape)
        else:
            drawn[name] = 0.3 * rng.standard_normal(value.shape)
    return drawn


def fresh_state(stack):
    """The state of a freshly built ``stack`` of normalizations: PyTorch's initial values
    (weights of ones, biases of zeros, running statistics of zeros and ones)."""
    return torch_state(torch_build(stack))


# ================================================================ PyTorch references

def torch_init_distribution(function, fan_in, fan_out, gain=1.0, nonlinearity="relu",
                            mode="fan_in"):
    """The distribution ``torch.nn.init.<function>_`` draws a weight of shape (fan_out,
    fan_in) from: Xavier's standard deviation is gain * sqrt(2 / (fan_in + fan_out)), He's
    calculate_gain(nonlinearity) / sqrt(fan) with the fan of ``mode``; a uniform draw's
    bound is sqrt(3) times the standard deviation."""
    if function.startswith("xavier"):
        std = gain * math.sqrt(2.0 / (fan_in + fan_out))
    else:
        fan = fan_in if mode == "fan_in" else fan_out
        std = torch.nn.init.calculate_gain(nonlinearity) / math.sqrt(fan)
    if function.endswith("uniform"):
        return Uniform.exactly(math.sqrt(3.0) * std)
    return Normal.exactly(std)


def torch_linear_bound(in_features):
    """The bound of nn.Linear's U(-b, b): kaiming_uniform_ with a = sqrt(5), b = 1 / sqrt(in)."""
    return torch.nn.init.calculate_gain("leaky_relu", math.sqrt(5)) * math.sqrt(
        3.0 / in_features)


class TorchResidual(torch.nn.Module):
    """``x + f(x)``: minidl's Residual, which torch.nn lacks."""

    def __init__(self, inner):
        super().__init__()
        self.module = inner

    def forward(self, x):
        return x + self.module(x)


def torch_build(stack):
    """The torch.nn module of ``stack``; each module knows its kind (``minidl_kind``)."""
    def make(kind, args, options):
        name = MODULES[kind].torch
        made = (resolve(name) if name else TorchResidual)(*args, **shown_options(kind, options))
        made.minidl_kind = kind
        return made

    return assemble(stack, make)


def transposed_names(model):
    """The names of the parameters of ``model`` that minidl stores transposed."""
    return {f"{name}.{key}" if name else key for name, part_of in model.named_modules()
            for key in MODULES[part_of.minidl_kind].transposed}


def torch_state(model):
    """A torch model's state with minidl's names and conventions."""
    transposed = transposed_names(model)
    return {name: (value.detach().cpu().numpy().T if name in transposed
                   else value.detach().cpu().numpy()).copy()
            for name, value in model.state_dict().items()
            if not name.endswith("num_batches_tracked")}


@cached
def torch_run(ref, stack, state, xs, douts=None, mode="train"):
    """What the probe ``run_module`` returns, computed by PyTorch."""
    model = torch_build(stack).to(ref.device, torch.float64)
    transposed = transposed_names(model)
    model.load_state_dict({name: ref.tensor(value.T if name in transposed else value)
                           for name, value in state.items()}, strict=False)
    model.train(mode == "train")
    reply = {"outputs": [], "input_grads": [], "grads": []}
    for step, x in enumerate(xs):
        leaf = ref.tensor(x, requires_grad=True)
        out = model(leaf)
        reply["outputs"].append(ref.numpy(out))
        if douts is not None:
            out.backward(ref.tensor(douts[step]))
            reply["input_grads"].append(ref.numpy(leaf.grad))
            reply["grads"].append({
                name: (ref.numpy(p.grad).T if name in transposed else ref.numpy(p.grad))
                for name, p in model.named_parameters()})
            model.zero_grad(set_to_none=True)
    reply["buffers"] = {name: value for name, value in torch_state(model).items()
                        if name.endswith(BUFFERS)}
    return reply


@cached
def torch_batchnorm(ref, xs, gamma, beta, bn_param, douts=None):
    """What the probe ``batchnorm`` returns, computed by F.batch_norm and its autograd."""
    d = xs[0].shape[1]
    running = {"running_mean": ref.tensor(bn_param.get("running_mean", np.zeros(d))),
               "running_var": ref.tensor(bn_param.get("running_var", np.ones(d)))}
    reply = {"outputs": [], "grads": []}
    for step, x in enumerate(xs):
        leaves = [ref.tensor(a, requires_grad=True) for a in (x, gamma, beta)]
        out = F.batch_norm(leaves[0], running["running_mean"], running["running_var"],
                           leaves[1], leaves[2], training=bn_param["mode"] == "train",
                           momentum=bn_param.get("momentum", 0.1),
                           eps=bn_param.get("eps", 1e-5))
        reply["outputs"].append(ref.numpy(out))
        if douts is not None:
            out.backward(ref.tensor(douts[step]))
            reply["grads"].append([ref.numpy(leaf.grad) for leaf in leaves])
    reply["running"] = {name: ref.numpy(value) for name, value in running.items()}
    return reply
