"""Checks for a4_init_norm: ``minidl.init``, ``minidl.nn`` and the functional batch norm of
``minidl.layers`` against PyTorch.

PyTorch equivalents (the notebook states the same):

- ``init.xavier_uniform(fan_in, fan_out, gain)`` etc.: ``torch.nn.init.xavier_uniform_`` etc.
  on a weight of shape (fan_out, fan_in), transposed; ``init.calculate_gain``:
  ``torch.nn.init.calculate_gain``
- ``nn.Linear``: ``torch.nn.Linear`` with ``weight`` transposed (ours is (in, out))
- ``nn.ReLU``, ``Sigmoid``, ``Tanh``, ``Sequential``, ``Dropout``, ``BatchNorm1d``,
  ``LayerNorm``: the ``torch.nn`` modules of the same names (without ``num_batches_tracked``)
- ``nn.Residual(f)``: ``x + f(x)``
- ``layers.batchnorm_forward`` / ``batchnorm_backward``: ``F.batch_norm`` and its autograd

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
The samples are large enough (about 10^5 entries) that every bug the hints name moves its
statistic far outside these intervals.

The student's modules cannot leave their process: a network travels as a plain-data
*spec* (see ``autograder.probes.a4_init_norm``), built there with the student's classes and
here with ``torch.nn``.
"""
import math

import numpy as np
import torch
import torch.nn.functional as F

from autograder.compare import expect_close
from autograder.framework import Assignment, Fail
from autograder.reference import cached

ASSIGNMENT = Assignment("a4_init_norm")
part = ASSIGNMENT.part

PROBE = "autograder.probes.a4_init_norm"
LOG_INV_DELTA = math.log(1e8)  # t of each one-sided tail bound: probability e^-t = 1e-8
MAX_TESTS = 50  # two-sided tests per part, each failing a correct draw with probability 2e-8
GAINS = {"linear": 1.0, "sigmoid": 1.0, "tanh": 5.0 / 3.0, "relu": math.sqrt(2.0)}


# ---------------------------------------------------------------- statistical tests


class Budget:
    """Counts the statistical tests of one part; the false-failure bound needs <= 50."""

    def __init__(self):
        self.tests = 0

    def spend(self, count=1):
        self.tests += count
        if self.tests > MAX_TESTS:
            raise AssertionError("a check part may run at most 50 statistical tests")


def normal_second_moment_interval(n, variance):
    """Where ``mean(w^2)`` of n draws of N(0, variance) lies, but with probability 2e-8."""
    t = LOG_INV_DELTA
    return (variance * (1 - 2 * math.sqrt(t / n)),
            variance * (1 + 2 * math.sqrt(t / n) + 2 * t / n))


def hoeffding(n, value_range):
    """Half-width h with P(|mean - E| >= h) <= 2e-8 for n draws in an interval of that
    length."""
    return value_range * math.sqrt(math.log(2e8) / (2 * n))


def _matching(candidates, inside):
    for value, explanation in candidates:
        if value is not None and inside(value):
            return explanation
    return None


def check_normal(w, std, what, budget, candidates=()):
    """Fail unless ``w`` looks like i.i.d. N(0, std^2) draws; ``candidates`` are
    ``(std of a known mistake, explanation)``."""
    w = np.asarray(w, dtype=np.float64).ravel()
    n = w.size
    moment = float(np.mean(w**2))
    budget.spend(3)
    low, high = normal_second_moment_interval(n, std**2)
    if not low <= moment <= high:
        hint = _matching(candidates, lambda s: (normal_second_moment_interval(n, s**2)[0]
                                                <= moment
                                                <= normal_second_moment_interval(n, s**2)[1]))
        found = f"the entries have standard deviation {math.sqrt(moment):.4g}"
        if hint:
            raise Fail(f"{what}: {found}, expected {std:.4g}: {hint}")
        raise Fail(f"{what}: {found}, expected {std:.4g} (a correct draw of {n} entries "
                   f"would give between {math.sqrt(low):.4g} and {math.sqrt(high):.4g})")
    if abs(w.mean()) > 6 * std / math.sqrt(n):
        raise Fail(f"{what}: the entries have mean {w.mean():.4g}; they must be centered "
                   f"at 0")
    beyond = float(np.mean(np.abs(w) > 2 * std))
    expected = math.erfc(2 / math.sqrt(2))
    if abs(beyond - expected) > hoeffding(n, 1.0):
        shape = (" (none at all: this looks like a uniform draw; use a normal one)"
                 if beyond == 0 else "")
        raise Fail(f"{what}: {100 * beyond:.2f}% of the entries lie beyond 2 standard "
                   f"deviations, where a normal distribution puts {100 * expected:.2f}%"
                   f"{shape}")


def check_uniform(w, bound, what, budget, candidates=()):
    """Fail unless ``w`` looks like i.i.d. U(-bound, bound) draws; ``candidates`` are
    ``(bound of a known mistake, explanation)``."""
    w = np.asarray(w, dtype=np.float64).ravel()
    n = w.size
    budget.spend(4)
    reach = 1 - 2 * LOG_INV_DELTA / n  # max(w) >= bound * reach but with probability 1e-8
    largest = float(np.max(np.abs(w)))

    def fits(b):
        return b * reach <= largest <= b * (1 + 1e-9)

    if not fits(bound):
        hint = _matching(candidates, fits)
        found = f"the entries reach {largest:.4g} in absolute value"
        if hint:
            raise Fail(f"{what}: {found}, but the bound is {bound:.4g}: {hint}")
        if largest > bound:
            raise Fail(f"{what}: {found}, beyond the bound {bound:.4g} of U(-b, b)"
                       + (" (a normal draw has no bound; use a uniform one)"
                          if largest > 2 * math.sqrt(np.mean(w**2)) else ""))
        raise Fail(f"{what}: {found}, but {n} draws of U(-{bound:.4g}, {bound:.4g}) come "
                   f"within {100 * (1 - reach):.3f}% of the bound")
    if w.max() < bound * reach or w.min() > -bound * reach:
        raise Fail(f"{what}: the entries lie in [{w.min():.4g}, {w.max():.4g}]; "
                   f"U(-b, b) covers both signs, -b to b")
    if abs(w.mean()) > bound * math.sqrt(2 * math.log(2e8) / n):
        raise Fail(f"{what}: the entries have mean {w.mean():.4g}; they must be centered "
                   f"at 0")
    moment = float(np.mean(w**2))
    if abs(moment - bound**2 / 3) > hoeffding(n, bound**2):
        raise Fail(f"{what}: the entries have variance {moment:.4g}, but U(-b, b) has "
                   f"variance b^2 / 3 = {bound**2 / 3:.4g}: draw each entry uniformly")


def check_shape(got, shape, what, transposed_hint="", finite=True):
    if isinstance(got, str):
        raise Fail(f"{what} is {got}; return a numpy array of shape {shape}")
    if not isinstance(got, np.ndarray):
        raise Fail(f"{what} must be a numpy array of shape {shape}, got "
                   f"{type(got).__name__}")
    if got.shape != tuple(shape):
        if transposed_hint and got.shape == tuple(reversed(shape)):
            raise Fail(f"{what} has shape {got.shape} but should have shape {tuple(shape)}: "
                       f"{transposed_hint}")
        raise Fail(f"{what} has shape {got.shape} but should have shape {tuple(shape)}")
    if finite and not np.all(np.isfinite(got)):
        raise Fail(f"{what} contains NaN or inf")


# ---------------------------------------------------------------- init

TRANSPOSED = ("minidl's weights have shape (fan_in, fan_out), the transpose of PyTorch's "
              "(out, in)")


def init_call(name, fan_in, fan_out, **kwargs):
    return f"init.{name}({fan_in}, {fan_out}" + "".join(
        f", {k}={v!r}" for k, v in kwargs.items()) + ")"


@part("init.xavier", points=2)
def init_xavier(ctx):
    """xavier_uniform and xavier_normal draw with torch.nn.init's distributions."""
    budget = Budget()
    fan_in, fan_out = 300, 500
    for gain in (1.0, 5.0 / 3.0):
        std = gain * math.sqrt(2.0 / (fan_in + fan_out))
        bound = math.sqrt(3.0) * std
        seed = int(ctx.rng.integers(1 << 30))
        what = init_call("xavier_uniform", fan_in, fan_out, gain=gain)
        w = ctx.student.call(f"{PROBE}.init_draw", "xavier_uniform", [fan_in, fan_out],
                             {"gain": gain}, seed)
        check_shape(w, (fan_in, fan_out), what, TRANSPOSED)
        check_uniform(w, bound, what, budget, [
            (gain * math.sqrt(6.0 / fan_in), "that is gain * sqrt(6 / fan_in); Xavier's bound "
                                             "is gain * sqrt(6 / (fan_in + fan_out))"),
            (gain * math.sqrt(6.0 / fan_out), "that is gain * sqrt(6 / fan_out); Xavier's "
                                              "bound is gain * sqrt(6 / (fan_in + fan_out))"),
            (std, "that is the standard deviation; a uniform U(-b, b) has standard "
                  "deviation b / sqrt(3), so b = sqrt(3) * std = gain * sqrt(6 / (fan_in + "
                  "fan_out))"),
            (math.sqrt(6.0 / (fan_in + fan_out)), "the gain is missing: multiply the bound "
                                                  "by gain"),
            (gain**2 * math.sqrt(6.0 / (fan_in + fan_out)), "the bound is multiplied by "
                                                            "gain^2; it scales with gain"),
        ])
        what = init_call("xavier_normal", fan_in, fan_out, gain=gain)
        w = ctx.student.call(f"{PROBE}.init_draw", "xavier_normal", [fan_in, fan_out],
                             {"gain": gain}, seed + 1)
        check_shape(w, (fan_in, fan_out), what, TRANSPOSED)
        check_normal(w, std, what, budget, [
            (gain * math.sqrt(2.0 / fan_in), "that is gain * sqrt(2 / fan_in): Xavier's "
                                             "variance uses fan_in + fan_out"),
            (gain * math.sqrt(1.0 / fan_in), "that is gain * sqrt(1 / fan_in): Xavier's "
                                             "variance is gain^2 * 2 / (fan_in + fan_out)"),
            (gain * 2.0 / (fan_in + fan_out), "that is the variance used as the standard "
                                              "deviation: take its square root"),
            (math.sqrt(2.0 / (fan_in + fan_out)), "the gain is missing: multiply the standard "
                                                  "deviation by gain"),
            (bound, "that is the uniform bound sqrt(6 / (fan_in + fan_out)); a normal draw "
                    "uses std = gain * sqrt(2 / (fan_in + fan_out))"),
        ])


def kaiming_candidates(fan_in, fan_out, fan, gain, uniform):
    """(scale of a known mistake, explanation); the scale is a bound or a std."""
    factor = math.sqrt(3.0) if uniform else 1.0
    other = fan_out if fan == fan_in else fan_in
    return [
        (factor / math.sqrt(fan), "the gain is missing: He's scale is gain / sqrt(fan) with "
                                  "gain = calculate_gain(nonlinearity), sqrt(2) for ReLU"
         if gain != 1.0 else None),
        (factor * gain / math.sqrt(other), "fan_in and fan_out are swapped: mode='fan_in' "
                                           "uses fan_in (the first dimension of the weight)"),
        (factor * math.sqrt(gain / fan), "that uses sqrt(gain); the scale is gain / "
                                         "sqrt(fan), so the variance is gain^2 / fan"),
        (factor * gain**2 / math.sqrt(fan), "that uses gain^2 in the scale; the variance is "
                                            "gain^2 / fan, the scale gain / sqrt(fan)"),
        (factor * gain / fan, "that divides by fan; the scale is gain / sqrt(fan)"),
        (factor * gain * math.sqrt(2.0 / (fan_in + fan_out)), "that is Xavier's scale; He's "
                                                              "uses only the fan of mode"),
        (gain / math.sqrt(fan) if uniform else None, "that is the standard deviation; the "
                                                     "uniform bound is sqrt(3) times it"),
        (gain * math.sqrt(3.0 / fan) if not uniform else None,
         "that is the uniform bound; the normal draw uses std = gain / sqrt(fan)"),
    ]


KAIMING_CASES = [("kaiming_uniform", "relu", "fan_in"), ("kaiming_normal", "relu", "fan_in"),
                 ("kaiming_uniform", "relu", "fan_out"), ("kaiming_normal", "relu", "fan_out"),
                 ("kaiming_normal", "tanh", "fan_in"), ("kaiming_uniform", "linear", "fan_in"),
                 ("kaiming_normal", "sigmoid", "fan_out")]


@part("init.kaiming", points=2)
def init_kaiming(ctx):
    """calculate_gain, kaiming_uniform and kaiming_normal (both modes) as torch.nn.init."""
    names = list(GAINS)
    gains = ctx.student.call(f"{PROBE}.gains", names)
    for name, got in zip(names, gains, strict=True):
        expected = torch.nn.init.calculate_gain(name)
        expect_close(got, expected, f"calculate_gain({name!r})", hints=[
            (2.0, "ReLU's gain is sqrt(2): it doubles the variance, not the scale"),
            (1.0 if name != "linear" and name != "sigmoid" else None,
             f"the gain of {name} is not 1"),
        ])
    budget = Budget()
    fan_in, fan_out = 500, 300
    for name, nonlinearity, mode in KAIMING_CASES:
        fan = fan_in if mode == "fan_in" else fan_out
        gain = GAINS[nonlinearity]
        uniform = name == "kaiming_uniform"
        what = init_call(name, fan_in, fan_out, nonlinearity=nonlinearity, mode=mode)
        w = ctx.student.call(f"{PROBE}.init_draw", name, [fan_in, fan_out],
                             {"nonlinearity": nonlinearity, "mode": mode},
                             int(ctx.rng.integers(1 << 30)))
        check_shape(w, (fan_in, fan_out), what, TRANSPOSED)
        candidates = [c for c in kaiming_candidates(fan_in, fan_out, fan, gain, uniform)
                      if c[0] is not None and c[1] is not None]
        if uniform:
            check_uniform(w, gain * math.sqrt(3.0 / fan), what, budget, candidates)
        else:
            check_normal(w, gain / math.sqrt(fan), what, budget, candidates)


@part("init.rng", points=1, visible=False)
def init_rng(ctx):
    """rng: the same seed gives the same draw, a Generator continues, None is fresh."""
    for name, kwargs in (("xavier_uniform", {}), ("xavier_normal", {"gain": 2.0}),
                         ("kaiming_uniform", {}), ("kaiming_normal", {"mode": "fan_out"})):
        what = f"init.{name}"
        first = ctx.student.call(f"{PROBE}.init_draw", name, [20, 30], kwargs, 7)
        again = ctx.student.call(f"{PROBE}.init_draw", name, [20, 30], kwargs, 7)
        other = ctx.student.call(f"{PROBE}.init_draw", name, [20, 30], kwargs, 8)
        for got in (first, again, other):
            check_shape(got, (20, 30), what, TRANSPOSED)
        if not np.array_equal(first, again):
            raise Fail(f"{what}(..., rng=7) gave different arrays in two calls: an int seed "
                       f"must seed a new generator (np.random.default_rng(seed)), so the "
                       f"same seed gives the same weights")
        if np.array_equal(first, other):
            raise Fail(f"{what} gave the same array for rng=7 and rng=8: draw from the "
                       f"generator the seed makes")
        pair = ctx.student.call(f"{PROBE}.init_draw", name, [20, 30], kwargs, "generator:3")
        if np.array_equal(pair[0], pair[1]):
            raise Fail(f"two calls of {what} with the same Generator gave the same array: "
                       f"use the Generator as it is (its stream continues), do not reseed")
        fresh = [ctx.student.call(f"{PROBE}.init_draw", name, [20, 30], kwargs, None)
                 for _ in range(2)]
        if np.array_equal(fresh[0], fresh[1]):
            raise Fail(f"two calls of {what} with rng=None gave the same array: None means "
                       f"a fresh generator, np.random.default_rng()")


# ---------------------------------------------------------------- networks as plain data


class TorchResidual(torch.nn.Module):
    def __init__(self, module):
        super().__init__()
        self.module = module

    def forward(self, x):
        return x + self.module(x)


def torch_build(spec):
    kind, *args = spec
    if kind == "Sequential":
        return torch.nn.Sequential(*[torch_build(child) for child in args[0]])
    if kind == "Residual":
        return TorchResidual(torch_build(args[0]))
    if kind in ("ReLU", "Sigmoid", "Tanh"):
        return getattr(torch.nn, kind)()
    options = args[-1]
    if kind == "Linear":
        return torch.nn.Linear(args[0], args[1], bias=options.get("bias", True),
                               dtype=torch.float64)
    if kind == "BatchNorm1d":
        return torch.nn.BatchNorm1d(args[0], eps=options.get("eps", 1e-5),
                                    momentum=options.get("momentum", 0.1),
                                    dtype=torch.float64)
    if kind == "LayerNorm":
        return torch.nn.LayerNorm(args[0], eps=options.get("eps", 1e-5), dtype=torch.float64)
    if kind == "Dropout":
        return torch.nn.Dropout(args[0])
    raise ValueError(f"unknown module {kind!r}")


def describe(spec):
    """A readable name of a spec, as PyTorch prints it."""
    kind, *args = spec
    if kind == "Sequential":
        return f"Sequential({', '.join(describe(child) for child in args[0])})"
    if kind == "Residual":
        return f"Residual({describe(args[0])})"
    if kind in ("ReLU", "Sigmoid", "Tanh"):
        return f"{kind}()"
    shown = [str(a) for a in args[:-1]] + [f"{k}={v!r}" for k, v in args[-1].items()
                                           if k != "rng"]
    return f"{kind}({', '.join(shown)})"


def linear_weights(model):
    """Names of the Linear weights of a torch model (transposed in minidl)."""
    return {f"{name}.weight" if name else "weight"
            for name, module in model.named_modules() if isinstance(module, torch.nn.Linear)}


def torch_state(model):
    """A torch model's state with minidl's names and conventions."""
    transposed = linear_weights(model)
    return {name: (value.detach().cpu().numpy().T if name in transposed
                   else value.detach().cpu().numpy()).copy()
            for name, value in model.state_dict().items()
            if not name.endswith("num_batches_tracked")}


def state_kinds(spec):
    """{minidl state name: kind of module it belongs to} for a spec."""
    model = torch_build(spec)
    kinds = {}
    for name, module in model.named_modules():
        for key in list(module._parameters) + list(module._buffers):
            if key in module._parameters and module._parameters[key] is None:
                continue
            if key == "num_batches_tracked":
                continue
            kinds[f"{name}.{key}" if name else key] = type(module).__name__
    return kinds, torch_state(model)


def random_state(rng, spec):
    """Random parameters and buffers for ``spec``, in minidl's conventions."""
    kinds, state = state_kinds(spec)
    drawn = {}
    for name, value in state.items():
        shape, kind, key = value.shape, kinds[name], name.rsplit(".", 1)[-1]
        if kind == "Linear" and key == "weight":
            drawn[name] = rng.standard_normal(shape) / math.sqrt(shape[0])
        elif key == "running_var":
            drawn[name] = rng.uniform(0.5, 2.0, shape)
        elif key == "weight":
            drawn[name] = 1.0 + 0.3 * rng.standard_normal(shape)
        else:
            drawn[name] = 0.3 * rng.standard_normal(shape)
    return drawn


@cached
def torch_run(ref, spec, state, xs, douts=None, mode="train"):
    """What ``run_module`` returns, computed by PyTorch."""
    model = torch_build(spec).to(ref.device)
    transposed = linear_weights(model)
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
                        if name.endswith(("running_mean", "running_var"))}
    return reply


def run_spec(ctx, spec, state, xs, douts=None, mode="train", load="direct", hints=None,
             grad_hints=None, buffer_hints=None, note=""):
    """Run ``spec`` in the student's process and in PyTorch; compare everything.

    ``hints(step)``, ``grad_hints(step)``, ``buffer_hints()`` give the hint lists for the
    output, the input gradient and each buffer.
    """
    reply = ctx.student.call(f"{PROBE}.run_module", spec, xs, douts, state, mode, load)
    expected = torch_run(ctx.ref, spec, state, xs, douts, mode)
    shown = describe(spec)
    for step, x in enumerate(xs):
        when = f" (step {step + 1} of {len(xs)})" if len(xs) > 1 else ""
        where = f"{shown} in {mode} mode on x of shape {np.shape(x)}{when}"
        got = reply["outputs"][step]
        if isinstance(got, str):
            raise Fail(f"the output of {where} is {got}, not a Tensor: forward must build "
                       f"its result out of Tensor operations")
        expect_close(got, expected["outputs"][step], f"the output of {where}",
                     hints=hints(step) if hints else (), nonfinite_hint=note)
        if douts is None:
            continue
        grad = reply["input_grads"][step]
        if grad is None:
            raise Fail(f"x.grad is None after backward through {where}: the output must be "
                       f"computed from x with Tensor operations")
        expect_close(grad, expected["input_grads"][step], f"the gradient of x through {where}",
                     hints=grad_hints(step) if grad_hints else ())
        for name, value in expected["grads"][step].items():
            got_grad = reply["grads"][step].get(name, "missing")
            if isinstance(got_grad, str) or got_grad is None:
                raise Fail(f"the parameter {name} of {where} got no gradient ({got_grad}): "
                           f"keep parameters as Tensors with requires_grad=True and use them "
                           f"in forward")
            expect_close(got_grad, value, f"the gradient of {name} in {where}")
    for name, value in expected["buffers"].items():
        got = reply["buffers"].get(name)
        if got is None:
            raise Fail(f"{shown} has no buffer {name}: keep it as a float64 array attribute")
        expect_close(got, value, f"{name} after {len(xs)} forward pass(es) of {shown} in "
                                 f"{mode} mode",
                     hints=(buffer_hints or {}).get(name.rsplit(".", 1)[-1], ()))
    return reply, expected


def batches(rng, count, shape, scale=1.0, shift=0.0):
    return [shift + scale * rng.standard_normal(shape) for _ in range(count)]


# ---------------------------------------------------------------- Linear


def linear_spec(n_in, n_out, bias=True):
    return ["Linear", n_in, n_out, {"bias": bias}]


@part("Linear.init", points=1)
def linear_init(ctx):
    """Linear's weight (in, out) and bias are drawn from U(-1/sqrt(in), 1/sqrt(in))."""
    n_in, n_out = 400, 300
    draws = ctx.student.call(f"{PROBE}.linear_draws", n_in, n_out, [5, 5, 6, -1, -1])
    bound = 1.0 / math.sqrt(n_in)
    candidates = [
        (1.0 / math.sqrt(n_out), "the bound uses out_features; it is 1 / sqrt(in_features)"),
        (1.0 / n_in, "the bound is 1 / sqrt(in_features): take the square root"),
        (math.sqrt(6.0 / (n_in + n_out)), "that is Xavier's bound; PyTorch's Linear uses "
                                          "1 / sqrt(in_features)"),
        (math.sqrt(6.0 / n_in), "that is He's bound for ReLU; PyTorch's Linear uses "
                                "1 / sqrt(in_features)"),
    ]
    budget = Budget()
    what = f"Linear({n_in}, {n_out}).weight"
    weights = [d["weight"] for d in draws]
    for w in weights:
        check_shape(w, (n_in, n_out), what, "minidl's Linear computes x @ weight, so weight "
                                            "is (in_features, out_features), the transpose "
                                            "of PyTorch's")
    check_uniform(weights[0], bound, what, budget, candidates)
    what = f"Linear({n_in}, {n_out}).bias"
    biases = [d["bias"] for d in draws]
    for b in biases:
        if b is None:
            raise Fail(f"{what} is None: Linear has a bias unless bias=False")
        check_shape(b, (n_out,), what)
    if np.all(biases[0] == 0):
        raise Fail(f"{what} is all zeros: PyTorch draws the bias from U(-k, k) too, "
                   f"k = 1 / sqrt(in_features)")
    check_uniform(biases[0], bound, what, budget, candidates[:1])
    if not (np.array_equal(weights[0], weights[1]) and np.array_equal(biases[0], biases[1])):
        raise Fail("Linear(..., rng=5) gave different weights twice: draw from the generator "
                   "made from rng (minidl.init.as_generator)")
    if np.array_equal(weights[0], weights[2]) or np.array_equal(weights[3], weights[4]):
        raise Fail("Linear gave the same weights for different seeds (or for rng=None "
                   "twice): draw from the generator made from rng")
    if np.allclose(weights[0][:, 0], biases[0][:1]) or np.array_equal(
            weights[0].ravel()[:n_out], biases[0]):
        raise Fail(f"{what} repeats entries of the weight: draw the bias separately")


def linear_hints(x, state):
    W, b = state["weight"], state.get("bias")
    out = x @ W

    def hints(step):
        return [(out if b is not None else None, "the bias is missing: add bias"),
                (out + 2 * b if b is not None else None, "the bias is added twice"),
                (out - b if b is not None else None, "subtract nothing: x @ weight + bias")]
    return hints


@part("Linear.forward_backward", points=2)
def linear_forward_backward(ctx):
    """Linear computes x @ weight + bias (weights set with load_state_dict), with gradients."""
    rng = ctx.rng
    for n, n_in, n_out, bias in ((6, 5, 3, True), (1, 4, 7, True), (5, 3, 4, False)):
        spec = linear_spec(n_in, n_out, bias)
        state = random_state(rng, spec)
        x = rng.standard_normal((n, n_in))
        run_spec(ctx, spec, state, [x], [rng.standard_normal((n, n_out))],
                 load="load_state_dict", hints=linear_hints(x, state))


# ---------------------------------------------------------------- Module


NESTED = ["Sequential", [
    ["Linear", 4, 6, {"bias": True}], ["BatchNorm1d", 6, {}], ["ReLU"],
    ["Residual", ["Sequential", [["Linear", 6, 6, {"bias": False}], ["LayerNorm", 6, {}],
                                 ["Tanh"]]]],
    ["Dropout", 0.0, {"rng": 0}], ["Sequential", [["Linear", 6, 3, {"bias": True}]]]]]


@part("Module.named_parameters", points=1)
def module_named_parameters(ctx):
    """named_parameters gives PyTorch's dotted names, in order, and the module's Tensors."""
    state = random_state(ctx.rng, NESTED)
    reply = ctx.student.call(f"{PROBE}.named_parameters", NESTED, state)
    expected = [name for name, _ in torch_build(NESTED).named_parameters()]
    names = reply["names"]
    where = f"named_parameters() of {describe(NESTED)}"
    if set(names) != set(expected):
        missing = sorted(set(expected) - set(names))
        extra = sorted(set(names) - set(expected))
        if any("running" in name for name in extra):
            raise Fail(f"{where} includes the buffers {[n for n in extra if 'running' in n]}:"
                       f" running statistics get no gradient and are not parameters")
        if names and all("." not in name for name in names):
            raise Fail(f"{where} gave names without the children's names {names}: put the "
                       f"child's name and a dot in front (\"0.weight\")")
        if len(names) < len(expected):
            raise Fail(f"{where} misses {missing}: include the parameters of every "
                       f"descendant (recurse into the children)")
        raise Fail(f"{where} gave {names}, expected {expected}")
    if names != expected:
        raise Fail(f"{where} gave the names in the order {names}; PyTorch's order is "
                   f"{expected} (the order the attributes were assigned, children in order)")
    if not all(reply["same_objects"]):
        raise Fail(f"{where} must give the module's own parameter Tensors, not copies: an "
                   f"optimizer updates them")
    if reply["n_parameters"] != len(expected):
        raise Fail(f"parameters() gave {reply['n_parameters']} Tensors, expected "
                   f"{len(expected)}")


@part("Module.train_eval", points=1)
def module_train_eval(ctx):
    """train() and eval() set .training on the module and every descendant."""
    reply = ctx.student.call(f"{PROBE}.modes", NESTED)
    where = describe(NESTED)
    for key, mode, call in (("eval_modes", False, "eval()"), ("train_modes", True, "train()"),
                            ("train_false_modes", False, "train(False)")):
        wrong = [name for name, value in reply[key].items() if value != mode]
        if wrong:
            hint = (": set training on every descendant too (recurse into the children)"
                    if "(root)" not in wrong else "")
            raise Fail(f"after {call} on {where}, the modules {wrong} have training="
                       f"{not mode}{hint}")
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
    reply = ctx.student.call(f"{PROBE}.state_dict_round_trip", NESTED, state)
    where = f"state_dict() of {describe(NESTED)}"
    if reply["keys"] is None:
        raise Fail(f"{where} returned {reply['values']}; return a dict of arrays")
    keys, expected = reply["keys"], list(state)
    if set(keys) != set(expected):
        missing = sorted(set(expected) - set(keys))
        extra = sorted(set(keys) - set(expected))
        if missing and all("running" in name for name in missing):
            raise Fail(f"{where} misses the buffers {missing}: the running statistics are "
                       f"part of a trained model and must be saved too")
        raise Fail(f"{where} has the keys {keys}; expected {expected} (PyTorch's, without "
                   f"num_batches_tracked)" + (f"; missing {missing}" if missing else "")
                   + (f"; unexpected {extra}" if extra else ""))
    for name in expected:
        got = reply["values"][name]
        if isinstance(got, np.ndarray) and got.shape != state[name].shape:
            raise Fail(f"{where}[{name!r}] has shape {got.shape}, expected "
                       f"{state[name].shape}")
        expect_close(got, state[name], f"{where}[{name!r}]")
    if not reply["copies"]:
        raise Fail(f"{where} returned arrays that changed when the module changed "
                   f"afterwards: store copies (tensor.data.copy()), so a saved state stays "
                   f"as it was")
    if reply["load_error"]:
        raise Fail(f"load_state_dict(state_dict()) raised {reply['load_error']}")
    for name in expected:
        expect_close(reply["loaded"].get(name), state[name],
                     f"{name} of a fresh module after load_state_dict(state_dict())")
    for label, (kind, _) in reply["errors"].items():
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
        run_spec(ctx, [kind], {}, [x], [rng.standard_normal((4, 5))])


@part("Sequential", points=1)
def sequential(ctx):
    """Sequential applies its modules in order; gradients flow through all of them."""
    rng = ctx.rng
    spec = ["Sequential", [linear_spec(5, 8), ["Tanh"], linear_spec(8, 8), ["ReLU"],
                           ["Sequential", [linear_spec(8, 3), ["Sigmoid"]]]]]
    state = random_state(rng, spec)
    x = rng.standard_normal((6, 5))
    reply = ctx.student.call(f"{PROBE}.run_module", ["Sequential", [linear_spec(5, 8),
                                                                    ["Tanh"]]],
                             [x], None, {k: v for k, v in state.items() if k.startswith("0.")})
    first = np.tanh(x @ state["0.weight"] + state["0.bias"])
    expect_close(reply["outputs"][0], first, "the output of Sequential(Linear(5, 8), Tanh())",
                 hints=[(x @ state["0.weight"] + state["0.bias"],
                         "Tanh was not applied: apply every module, in order"),
                        (x, "the input came back unchanged: apply every module, in order, "
                            "each to the previous one's output"),
                        (np.tanh(x) @ state["0.weight"] + state["0.bias"],
                         "the modules were applied in reverse order: apply the first one "
                         "first")])
    run_spec(ctx, spec, state, [x], [rng.standard_normal((6, 3))])


@part("Residual", points=1)
def residual(ctx):
    """Residual(f) computes x + f(x), and the gradient has both paths."""
    rng = ctx.rng
    inner = ["Sequential", [linear_spec(4, 4), ["Tanh"]]]
    spec = ["Residual", inner]
    state = random_state(rng, spec)
    x = rng.standard_normal((5, 4))
    f = np.tanh(x @ state["module.0.weight"] + state["module.0.bias"])
    run_spec(ctx, spec, state, [x], [rng.standard_normal((5, 4))],
             hints=lambda step: [(f, "that is f(x): the skip connection adds x, x + f(x)"),
                                 (x, "that is x alone: add the module's output, x + f(x)"),
                                 (2 * x + f, "x is added twice")])
    deep = ["Sequential", [["Residual", ["Sequential", [linear_spec(3, 3), ["ReLU"]]]],
                           ["Residual", ["Sequential", [linear_spec(3, 3), ["Sigmoid"]]]]]]
    run_spec(ctx, deep, random_state(rng, deep), [rng.standard_normal((4, 3))],
             [rng.standard_normal((4, 3))])


# ---------------------------------------------------------------- Dropout


def dropout_reply(ctx, p, x, calls=1, mode="train", seed=None):
    seed = int(ctx.rng.integers(1 << 30)) if seed is None else seed
    return ctx.student.call(f"{PROBE}.dropout", p, x, seed, calls, mode)


@part("Dropout.train", points=2)
def dropout_train(ctx):
    """Training mode: each entry kept with probability 1 - p and scaled by 1/(1 - p)."""
    budget = Budget()
    for p in (0.5, 0.2, 0.75):
        x = 1.0 + ctx.rng.random((400, 500))
        reply = dropout_reply(ctx, p, x, calls=2)
        what = f"Dropout({p}) in training mode"
        outputs = reply["outputs"]
        for out in outputs:
            check_shape(out, x.shape, f"the output of {what}")
        ratio = outputs[0] / x
        kept = ratio != 0
        n = x.size
        budget.spend()
        rate = kept.mean()
        if np.all(kept):
            raise Fail(f"{what} kept every entry: zero each one with probability p")
        if abs(rate - (1 - p)) > hoeffding(n, 1.0):
            hint = (": p is the probability to *drop* an entry; keep it with probability "
                    "1 - p" if abs(rate - p) <= hoeffding(n, 1.0) else "")
            raise Fail(f"{what} kept {100 * rate:.2f}% of the entries, expected "
                       f"{100 * (1 - p):.0f}%{hint}")
        scale = ratio[kept]
        if not np.allclose(scale, 1.0 / (1 - p), rtol=1e-9):
            if np.allclose(scale, 1.0, rtol=1e-9):
                raise Fail(f"{what}: the kept entries are not rescaled: multiply them by "
                           f"1 / (1 - p) (inverted dropout), so that the expected output "
                           f"equals the input and eval mode needs no change")
            if np.allclose(scale, 1 - p, rtol=1e-9):
                raise Fail(f"{what}: the kept entries are multiplied by 1 - p; divide by it "
                           f"instead (inverted dropout scales by 1 / (1 - p))")
            raise Fail(f"{what}: a kept entry is multiplied by {np.median(scale):.4g}, "
                       f"expected 1 / (1 - p) = {1 / (1 - p):.4g}")
        grad = reply["grads"][0]
        if grad is None or isinstance(grad, str):
            raise Fail(f"x.grad is {grad} after backward through {what}: multiply the Tensor "
                       f"x by the mask (a Tensor operation), so the gradient flows")
        expect_close(grad, ratio, f"the gradient of x through {what} (backward of ones)",
                     hints=[(kept * 1.0, "the gradient must be scaled by 1 / (1 - p) too: "
                                         "multiply x by mask / (1 - p)")])
        if np.array_equal(outputs[0] != 0, outputs[1] != 0):
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
        reply = dropout_reply(ctx, p, x, mode=mode)
        out = reply["outputs"][0]
        check_shape(out, x.shape, f"the output of Dropout({p}) in {mode} mode", finite=False)
        if not np.array_equal(out, expected):
            kept = np.mean(out != 0)
            extra = (f": {100 * kept:.0f}% of the entries were kept" if mode == "eval"
                     else "")
            if not np.all(np.isfinite(out)):
                extra = (" (the output contains NaN: with p = 1 nothing survives, so there is "
                         "nothing to rescale; do not divide by 1 - p = 0)")
            raise Fail(f"{what}{extra}")
        grad = reply["grads"][0]
        expected_grad = np.ones_like(x) if p < 1 else np.zeros_like(x)
        if grad is not None and not isinstance(grad, str):
            expect_close(grad, expected_grad, f"the gradient of x through Dropout({p}) in "
                                              f"{mode} mode")
    first = dropout_reply(ctx, 0.5, x, seed=11)["outputs"][0]
    again = dropout_reply(ctx, 0.5, x, seed=11)["outputs"][0]
    if not np.array_equal(first, again):
        raise Fail("two Dropout(0.5, rng=11) modules dropped different entries: draw the mask "
                   "from the generator made from rng")


# ---------------------------------------------------------------- batch norm: simulation


def simulate_bn(xs, gamma, beta, mean, var, eps, momentum, train, variant="reference"):
    """Batch norm over several batches in numpy, right or with a known mistake.

    variants: "reference"; "unbiased_normalize" (normalizes with the unbiased variance);
    "biased_running" (running_var gets the biased variance); "momentum_swapped" (the new
    statistic gets weight 1 - momentum); "no_update"; "batch_in_eval" (eval mode uses the
    batch statistics); "running_in_train" (train mode normalizes with the running
    statistics); "sqrt_plus_eps" (divides by sqrt(var) + eps).
    """
    mean, var = np.array(mean, dtype=np.float64), np.array(var, dtype=np.float64)
    outputs = []
    for x in xs:
        n = x.shape[0]
        batch_mean, batch_var = x.mean(axis=0), x.var(axis=0)
        use_batch = (variant != "running_in_train") if train else (variant == "batch_in_eval")
        if use_batch:
            mu, v = batch_mean, batch_var * (n / (n - 1) if variant == "unbiased_normalize"
                                             and n > 1 else 1)
        else:
            mu, v = mean.copy(), var.copy()
        if variant == "sqrt_plus_eps":
            outputs.append(gamma * (x - mu) / (np.sqrt(v) + eps) + beta)
        else:
            outputs.append(gamma * (x - mu) / np.sqrt(v + eps) + beta)
        if train and variant != "no_update" and n > 1:
            unbiased = batch_var * (1 if variant == "biased_running" else n / (n - 1))
            keep = momentum if variant == "momentum_swapped" else 1 - momentum
            mean = keep * mean + (1 - keep) * batch_mean
            var = keep * var + (1 - keep) * unbiased
    return outputs, mean, var


BN_OUTPUT_HINTS = {
    "unbiased_normalize": "it normalizes with the unbiased variance (divided by N - 1); "
                          "batch norm normalizes with the biased one (divided by N) and "
                          "uses the unbiased one only for running_var",
    "batch_in_eval": "in eval mode it uses the batch statistics; it must use running_mean "
                     "and running_var, so that a sample's output does not depend on its "
                     "batch",
    "running_in_train": "in train mode it uses the running statistics; it must normalize "
                        "with the batch mean and variance",
    "sqrt_plus_eps": "it divides by sqrt(var) + eps; eps goes inside the square root, "
                     "sqrt(var + eps)",
}
BN_BUFFER_HINTS = {
    "biased_running": ("running_var", "it is updated with the biased batch variance; "
                                      "PyTorch's running_var uses the unbiased one, "
                                      "var * N / (N - 1)"),
    "momentum_swapped": (None, "momentum is applied the wrong way round: running = "
                               "(1 - momentum) * running + momentum * batch statistic"),
    "no_update": (None, "the running statistics were not updated in train mode"),
}


def bn_hints(xs, gamma, beta, mean, var, eps, momentum, train):
    """(output hints per step, buffer hints) from the simulated mistakes."""
    outputs = {variant: simulate_bn(xs, gamma, beta, mean, var, eps, momentum, train,
                                    variant)
               for variant in list(BN_OUTPUT_HINTS) + list(BN_BUFFER_HINTS)}

    def output_hints(step):
        return [(outputs[v][0][step], text) for v, text in BN_OUTPUT_HINTS.items()]

    buffer_hints = {"running_mean": [], "running_var": []}
    for variant, (only, text) in BN_BUFFER_HINTS.items():
        _, got_mean, got_var = outputs[variant]
        if only in (None, "running_mean"):
            buffer_hints["running_mean"].append((got_mean, text))
        if only in (None, "running_var"):
            buffer_hints["running_var"].append((got_var, text))
    return output_hints, buffer_hints


def bn_grad_hints(x, gamma, dout, eps):
    """Input gradients of batch norm (train mode) with the paths through the statistics
    left out."""
    inv_std = 1 / np.sqrt(x.var(axis=0) + eps)
    x_hat = (x - x.mean(axis=0)) * inv_std
    g = dout * gamma
    return [(g * inv_std, "the batch mean and variance depend on x too: the gradient has "
                          "terms through them (in the Tensor version, compute the statistics "
                          "with Tensor operations, not from x.data)"),
            (inv_std * (g - g.mean(axis=0)), "the term through the variance is missing"),
            (inv_std * (g - x_hat * (g * x_hat).mean(axis=0)),
             "the term through the mean is missing")]


def bn_spec(c, eps=1e-5, momentum=0.1):
    return ["BatchNorm1d", c, {"eps": eps, "momentum": momentum}]


def bn_state(rng, c, fresh=False):
    if fresh:
        return {"weight": np.ones(c), "bias": np.zeros(c), "running_mean": np.zeros(c),
                "running_var": np.ones(c)}
    return random_state(rng, bn_spec(c))


# ---------------------------------------------------------------- functional batch norm


@cached
def torch_batchnorm(ref, xs, gamma, beta, mean, var, eps, momentum, train, douts=None):
    running_mean, running_var = ref.tensor(mean), ref.tensor(var)
    outputs, grads = [], []
    for step, x in enumerate(xs):
        leaves = [ref.tensor(a, requires_grad=True) for a in (x, gamma, beta)]
        out = F.batch_norm(leaves[0], running_mean, running_var, leaves[1], leaves[2],
                           training=train, momentum=momentum, eps=eps)
        outputs.append(ref.numpy(out))
        if douts is not None:
            out.backward(ref.tensor(douts[step]))
            grads.append([ref.numpy(leaf.grad) for leaf in leaves])
    return outputs, grads, ref.numpy(running_mean), ref.numpy(running_var)


def run_functional(ctx, xs, gamma, beta, bn_param, douts=None, output_hints=None,
                   buffer_hints=None, grad_hints=None):
    mode = bn_param["mode"]
    eps, momentum = bn_param.get("eps", 1e-5), bn_param.get("momentum", 0.1)
    d = xs[0].shape[1]
    mean = bn_param.get("running_mean", np.zeros(d))
    var = bn_param.get("running_var", np.ones(d))
    reply = ctx.student.call(f"{PROBE}.batchnorm", xs[0], gamma, beta, bn_param, douts,
                             len(xs), xs)
    if reply["problem"]:
        raise Fail(reply["problem"])
    outputs, grads, final_mean, final_var = torch_batchnorm(
        ctx.ref, xs, gamma, beta, mean, var, eps, momentum, mode == "train", douts)
    given = ", ".join(f"{k}" for k in bn_param)
    where = (f"batchnorm_forward in {mode} mode (bn_param with {given}) on x of shape "
             f"{xs[0].shape}")
    for step in range(len(xs)):
        when = f", step {step + 1} of {len(xs)}" if len(xs) > 1 else ""
        expect_close(reply["outputs"][step], outputs[step], f"the output of {where}{when}",
                     hints=output_hints(step) if output_hints else ())
        if douts is None:
            continue
        got = reply["grads"][step]
        if not isinstance(got, tuple) or len(got) != 3:
            raise Fail("batchnorm_backward must return a tuple (dx, dgamma, dbeta)")
        for k, name in enumerate(("dx", "dgamma", "dbeta")):
            expect_close(got[k], grads[step][k], f"{name} of batchnorm_backward after {where}"
                                                 f"{when}",
                         hints=(grad_hints(step) if grad_hints and name == "dx" else ()))
    after = reply["bn_param"]
    for name, value in (("running_mean", final_mean), ("running_var", final_var)):
        if name not in after:
            raise Fail(f"bn_param has no {name!r} after {where}: create it (zeros for the "
                       f"mean, ones for the variance) when it is absent")
        expect_close(after[name], value, f"bn_param[{name!r}] after {len(xs)} call(s) of "
                                         f"{where}",
                     hints=(buffer_hints or {}).get(name, ()))


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
        bn_param = {"mode": "train", "momentum": momentum, "eps": 1e-5,
                    "running_mean": start_mean.copy(), "running_var": start_var.copy()}
        output_hints, buffer_hints = bn_hints(xs, gamma, beta, start_mean, start_var, 1e-5,
                                              momentum, True)
        run_functional(ctx, xs, gamma, beta, bn_param, output_hints=output_hints,
                       buffer_hints=buffer_hints)
    # Absent running statistics start as PyTorch's: zeros and ones.
    run_functional(ctx, xs[:2], gamma, beta, {"mode": "train"})
    bn_param = {"mode": "eval", "running_mean": start_mean.copy(),
                "running_var": start_var.copy(), "eps": 1e-3}
    output_hints, _ = bn_hints(xs[:1], gamma, beta, start_mean, start_var, 1e-3, 0.1, False)
    run_functional(ctx, xs[:1], gamma, beta, bn_param, output_hints=output_hints)


@part("batchnorm_backward", points=2)
def batchnorm_backward_part(ctx):
    """batchnorm_backward: dx (with the paths through the mean and variance), dgamma, dbeta."""
    rng = ctx.rng
    for n, d, mode in ((10, 4, "train"), (2, 3, "train"), (7, 3, "eval")):
        gamma, beta = 1 + 0.3 * rng.standard_normal(d), 0.3 * rng.standard_normal(d)
        x = 1.0 + 2.0 * rng.standard_normal((n, d))
        dout = rng.standard_normal((n, d))
        bn_param = {"mode": mode, "running_mean": 0.2 * rng.standard_normal(d),
                    "running_var": rng.uniform(0.5, 2.0, d)}
        hints = (lambda step, x=x, gamma=gamma, dout=dout: bn_grad_hints(x, gamma, dout, 1e-5)) \
            if mode == "train" else None
        run_functional(ctx, [x], gamma, beta, bn_param, douts=[dout], grad_hints=hints)


# ---------------------------------------------------------------- BatchNorm1d


@part("BatchNorm1d.train", points=2)
def batchnorm1d_train(ctx):
    """BatchNorm1d in training mode: batch statistics (biased variance), and gradients."""
    rng = ctx.rng
    for n, c in ((8, 4), (2, 3), (32, 6)):
        spec = bn_spec(c)
        state = bn_state(rng, c)
        x = 1.0 + 2.0 * rng.standard_normal((n, c))
        dout = rng.standard_normal((n, c))
        output_hints, _ = bn_hints([x], state["weight"], state["bias"],
                                   state["running_mean"], state["running_var"], 1e-5, 0.1,
                                   True)
        run_spec(ctx, spec, state, [x], [dout], hints=output_hints,
                 grad_hints=lambda step, x=x, s=state, d=dout: bn_grad_hints(
                     x, s["weight"], d, 1e-5))


@part("BatchNorm1d.running_stats", points=2)
def batchnorm1d_running(ctx):
    """Running mean and (unbiased) variance over several steps, then eval mode uses them."""
    rng = ctx.rng
    for c, momentum, fresh in ((4, 0.1, True), (3, 0.25, False)):
        spec = bn_spec(c, momentum=momentum)
        state = bn_state(rng, c, fresh=fresh)
        xs = batches(rng, 5, (12, c), scale=3.0, shift=2.0)
        output_hints, buffer_hints = bn_hints(xs, state["weight"], state["bias"],
                                              state["running_mean"], state["running_var"],
                                              1e-5, momentum, True)
        reply, _ = run_spec(ctx, spec, state, xs, mode="train", hints=output_hints,
                            buffer_hints=buffer_hints)
        # Evaluation with the statistics just computed.
        trained = {**state, **reply["buffers"]}
        x = 2.0 + 3.0 * rng.standard_normal((6, c))
        output_hints, _ = bn_hints([x], state["weight"], state["bias"],
                                   trained["running_mean"], trained["running_var"], 1e-5,
                                   momentum, False)
        run_spec(ctx, spec, trained, [x], [rng.standard_normal((6, c))], mode="eval",
                 hints=output_hints)


@part("BatchNorm1d.edge_cases", points=1, visible=False)
def batchnorm1d_edge(ctx):
    """One sample: ValueError in train mode, fine in eval; a constant feature; momentum 0/1."""
    rng = ctx.rng
    kind, message = ctx.student.call(f"{PROBE}.forward_error", bn_spec(3),
                                     rng.standard_normal((1, 3)), "train")
    if kind != "ValueError":
        raise Fail(f"BatchNorm1d(3) in training mode on one sample (x of shape (1, 3)) must "
                   f"raise ValueError, as PyTorch (one value has no variance); got "
                   f"{kind or 'no exception'}")
    state = bn_state(rng, 3)
    run_spec(ctx, bn_spec(3), state, [rng.standard_normal((1, 3))],
             [rng.standard_normal((1, 3))], mode="eval")
    x = rng.standard_normal((6, 3))
    x[:, 1] = 4.0  # a constant feature: variance 0, normalized to 0 (then + bias)
    run_spec(ctx, bn_spec(3), state, [x], [rng.standard_normal((6, 3))],
             note="a constant feature has variance 0: eps keeps the division finite")
    for momentum in (0.0, 1.0):
        run_spec(ctx, bn_spec(3, momentum=momentum), state, batches(rng, 2, (5, 3)))


# ---------------------------------------------------------------- LayerNorm


def ln_spec(d, eps=1e-5):
    return ["LayerNorm", d, {"eps": eps}]


def ln_hints(x, weight, bias, eps):
    mean = x.mean(axis=-1, keepdims=True)
    var = x.var(axis=-1, keepdims=True)

    def hints(step):
        return [
            ((x - mean) / (np.sqrt(var) + eps) * weight + bias,
             "it divides by sqrt(var) + eps; eps goes inside the square root, "
             "sqrt(var + eps)"),
            ((x - mean) / np.sqrt(x.var(axis=-1, ddof=1, keepdims=True) + eps) * weight + bias,
             "it uses the unbiased variance (divided by D - 1); LayerNorm uses the biased "
             "one (divided by D)"),
            ((x - x.mean(axis=0)) / np.sqrt(x.var(axis=0) + eps) * weight + bias
             if x.ndim == 2 and x.shape[0] > 1 else None,
             "it normalizes over the batch (axis 0), as batch norm does; layer norm "
             "normalizes each sample over its last dimension"),
            ((x - mean) / np.sqrt(var + eps),
             "weight and bias are not applied: multiply by weight, then add bias"),
        ]
    return hints


@part("LayerNorm", points=2)
def layernorm(ctx):
    """LayerNorm normalizes each sample over its last dimension; values and gradients."""
    rng = ctx.rng
    for n, d in ((6, 5), (4, 8)):
        spec = ln_spec(d)
        state = random_state(rng, spec)
        x = 1.0 + 2.0 * rng.standard_normal((n, d))
        run_spec(ctx, spec, state, [x], [rng.standard_normal((n, d))],
                 hints=ln_hints(x, state["weight"], state["bias"], 1e-5))


@part("LayerNorm.edge_cases", points=1, visible=False)
def layernorm_edge(ctx):
    """LayerNorm on one sample, on 3-D input, with a large eps and tiny variance, in eval."""
    rng = ctx.rng
    cases = [((1, 6), 1e-5, "train"), ((2, 3, 4), 1e-5, "train"), ((5, 4), 0.1, "train"),
             ((3, 5), 1e-5, "eval")]
    for shape, eps, mode in cases:
        spec = ln_spec(shape[-1], eps)
        state = random_state(rng, spec)
        scale = 0.1 if eps == 0.1 else 1.0
        x = scale * rng.standard_normal(shape)
        run_spec(ctx, spec, state, [x], [rng.standard_normal(shape)], mode=mode,
                 hints=ln_hints(x, state["weight"], state["bias"], eps))


# ---------------------------------------------------------------- a whole network


@part("network", points=2, visible=False)
def network(ctx):
    """A deep network of every module, trained for several steps, then evaluated."""
    rng = ctx.rng
    spec = ["Sequential", [
        linear_spec(6, 8), bn_spec(8), ["ReLU"],
        ["Residual", ["Sequential", [linear_spec(8, 8), ln_spec(8), ["Tanh"]]]],
        ["Residual", ["Sequential", [linear_spec(8, 8, bias=False), bn_spec(8, momentum=0.2),
                                     ["Sigmoid"]]]],
        ["Dropout", 0.0, {"rng": 0}], linear_spec(8, 3)]]
    state = random_state(rng, spec)
    xs = batches(rng, 3, (10, 6), scale=2.0)
    reply, _ = run_spec(ctx, spec, state, xs, [rng.standard_normal((10, 3)) for _ in xs])
    trained = {**state, **reply["buffers"]}
    run_spec(ctx, spec, trained, batches(rng, 1, (4, 6)), [rng.standard_normal((4, 3))],
             mode="eval")
