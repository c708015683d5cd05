"""Checks for a5_optim: ``minidl.optim`` (optimizers and ``lr_scheduler``) and
``minidl.data`` against PyTorch.

PyTorch equivalents (the notebook states the same):

- ``SGD(params, lr, momentum, nesterov, weight_decay)``: ``torch.optim.SGD`` with
  ``dampening=0``; ``Adagrad``, ``RMSprop``, ``Adam``, ``AdamW``: ``torch.optim`` classes
  of the same names, one parameter group (``opt.lr`` is ``param_groups[0]["lr"]``)
- ``lr_scheduler.StepLR``, ``LinearLR``, ``CosineAnnealingLR``, ``SequentialLR``:
  ``torch.optim.lr_scheduler`` of the same names
- ``DataLoader(X, y, batch_size, shuffle, seed, drop_last)``:
  ``torch.utils.data.DataLoader(TensorDataset(X, y), ...)`` (its permutations differ; the
  contract is checked: every sample once per epoch, batch sizes, a new order per epoch)

An optimizer cannot leave the student's process, so the probe
(``autograder.probes.a5_optim``) receives initial parameters and a sequence of gradients,
runs the student's optimizer and sends back the parameter trajectory; ``torch.optim`` runs
here on the same. When a trajectory is wrong, it is compared with the trajectories of
common mistakes (simulated here in numpy) to name the mistake.
"""
import math
import warnings

import numpy as np
import torch

from autograder.compare import is_close
from autograder.framework import Assignment, Fail
from autograder.reference import cached

ASSIGNMENT = Assignment("a5_optim")
part = ASSIGNMENT.part

PROBE = "autograder.probes.a5_optim"
STEPS = 100
DEFAULTS = {
    "SGD": {"momentum": 0.0, "nesterov": False, "weight_decay": 0.0},
    "Adagrad": {"lr": 0.01, "eps": 1e-10, "weight_decay": 0.0},
    "RMSprop": {"lr": 0.01, "alpha": 0.99, "eps": 1e-8, "momentum": 0.0, "weight_decay": 0.0},
    "Adam": {"lr": 1e-3, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0.0},
    "AdamW": {"lr": 1e-3, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0.01},
}


# ---------------------------------------------------------------- PyTorch side


@cached
def torch_trajectory(ref, name, kwargs, params, grads, lrs=None):
    """The trajectory of every parameter under ``torch.optim.<name>``."""
    kwargs = {**kwargs, "betas": tuple(kwargs["betas"])} if "betas" in kwargs else kwargs
    tensors = [ref.tensor(p, requires_grad=True) for p in params]
    optimizer = getattr(torch.optim, name)(tensors, foreach=False, **kwargs)
    path = [[np.array(p, dtype=np.float64)] for p in params]
    for k, step_grads in enumerate(grads):
        if lrs is not None:
            optimizer.param_groups[0]["lr"] = float(lrs[k])
        for tensor, grad in zip(tensors, step_grads, strict=True):
            tensor.grad = None if grad is None else ref.tensor(grad)
        optimizer.step()
        for record, tensor in zip(path, tensors, strict=True):
            record.append(ref.numpy(tensor).copy())
    return [np.stack(record) for record in path]


# ---------------------------------------------------------------- common mistakes, in numpy


def simulate(name, kwargs, params, grads, lrs=None, bug=None):
    """The trajectory that ``name`` with the mistake ``bug`` gives (``bug=None``: none)."""
    options = {**DEFAULTS[name], **kwargs}
    params = [np.array(p, dtype=np.float64) for p in params]
    states = [{} for _ in params]
    path = [[p.copy()] for p in params]
    for k, step_grads in enumerate(grads):
        lr = options["lr"] if lrs is None else float(lrs[k])
        for p, g, state in zip(params, step_grads, states, strict=True):
            if g is not None:
                UPDATES[name](p, np.asarray(g, dtype=np.float64), state, lr, options, bug)
        for record, p in zip(path, params, strict=True):
            record.append(p.copy())
    return [np.stack(record) for record in path]


def _sgd(p, g, state, lr, o, bug):
    mu, wd = o["momentum"], o["weight_decay"]
    if wd and bug != "decay after momentum":
        g = g + (-wd if bug == "decay sign" else 0.5 * wd if bug == "half decay" else wd) * p
    d = g
    if mu:
        old = state.get("buf")
        if bug == "ema momentum":
            state["buf"] = mu * state.get("buf", 0.0) + (1 - mu) * g
        elif bug == "lr in buffer":  # v = mu v - lr g; p += v
            state["buf"] = mu * state.get("buf", 0.0) + lr * g
        elif bug == "buffer dropped":
            state["buf"] = g
        else:
            state["buf"] = g.copy() if old is None else mu * old + g
        d = state["buf"]
        if o["nesterov"]:
            if bug == "nesterov as momentum":
                d = state["buf"]
            elif bug == "nesterov without gradient":
                d = mu * state["buf"]
            else:
                d = g + mu * state["buf"]
        if bug == "lr in buffer":
            p -= d
            return
    if bug == "decay after momentum" and wd:
        d = d + wd * p
    if bug == "ascent":
        p += lr * d
    else:
        p -= lr * d


def _adagrad(p, g, state, lr, o, bug):
    eps, wd = o["eps"], o["weight_decay"]
    state["t"] = state.get("t", 0) + 1
    raw = g
    if wd and bug != "decay ignored":
        g = g + wd * p
    square = raw * raw if bug == "decay not accumulated" else g * g
    state["sum"] = square if bug == "no accumulation" else state.get("sum", 0.0) + square
    total = state["sum"] / state["t"] if bug == "mean" else state["sum"]
    if bug == "eps inside":
        denom = np.sqrt(total + eps)
    elif bug == "no sqrt":
        denom = total + eps
    else:
        denom = np.sqrt(total) + eps
    p -= lr * g / denom


def _rmsprop(p, g, state, lr, o, bug):
    alpha, eps, mu, wd = o["alpha"], o["eps"], o["momentum"], o["weight_decay"]
    state["t"] = state.get("t", 0) + 1
    if wd:
        g = g + wd * p
    v = state.get("v", 0.0)
    if bug == "alpha swapped":
        v = (1 - alpha) * v + alpha * g * g
    else:
        v = alpha * v + (1 - alpha) * g * g
    state["v"] = v
    if bug == "bias correction":
        v = v / (1 - alpha ** state["t"])
    if bug == "eps inside":
        denom = np.sqrt(v + eps)
    elif bug == "no sqrt":
        denom = v + eps
    else:
        denom = np.sqrt(v) + eps
    step = g / denom
    if mu and bug != "momentum ignored":
        if bug == "momentum on gradient":
            state["buf"] = mu * state.get("buf", 0.0) + g
            step = state["buf"] / denom
        else:
            state["buf"] = mu * state.get("buf", 0.0) + step
            step = state["buf"]
    p -= lr * step


def _adam(p, g, state, lr, o, bug, decoupled=False):
    beta1, beta2 = o["betas"]
    if bug == "betas swapped":
        beta1, beta2 = beta2, beta1
    eps, wd = o["eps"], o["weight_decay"]
    if decoupled or bug == "decoupled decay":
        if bug == "decay without lr":
            p -= wd * p
        elif bug not in ("coupled decay", "decay after step"):
            p -= lr * wd * p
        if bug == "coupled decay":
            g = g + wd * p
    elif wd:
        g = g + wd * p
    state["t"] = t = state.get("t", 0) + 1
    if bug == "t off by one":
        t += 1
    state["m"] = beta1 * state.get("m", 0.0) + (1 - beta1) * g
    state["v"] = beta2 * state.get("v", 0.0) + (1 - beta2) * g * g
    m_hat, v_hat = state["m"] / (1 - beta1 ** t), state["v"] / (1 - beta2 ** t)
    if bug == "no bias correction":
        m_hat, v_hat = state["m"], state["v"]
    elif bug == "bias correction of m only":
        v_hat = state["v"]
    if bug == "eps inside":
        denom = np.sqrt(v_hat + eps)
    elif bug == "eps before correction":
        denom = (np.sqrt(state["v"]) + eps) / math.sqrt(1 - beta2 ** t)
    else:
        denom = np.sqrt(v_hat) + eps
    p -= lr * m_hat / denom
    if bug == "decay after step":
        p -= lr * wd * p


def _adamw(p, g, state, lr, o, bug):
    _adam(p, g, state, lr, o, bug, decoupled=True)


UPDATES = {"SGD": _sgd, "Adagrad": _adagrad, "RMSprop": _rmsprop, "Adam": _adam,
           "AdamW": _adamw}


# ---------------------------------------------------------------- comparing trajectories


def describe(name, kwargs):
    shown = ", ".join(f"{key}={value!r}" for key, value in kwargs.items())
    return f"{name}({shown})"


def random_run(rng, steps=STEPS, shapes=((3, 4), (5,)), scale=1.0, skip=False):
    """Initial parameters and a gradient per step (``skip``: parameter 1 has no gradient
    at every 7th step)."""
    params = [rng.standard_normal(shape) for shape in shapes]
    grads = [[scale * rng.standard_normal(shape) for shape in shapes] for _ in range(steps)]
    if skip:
        for k in range(3, steps, 7):
            grads[k][1] = None
    return params, grads


def check_trajectory(got, expected, candidates, what):
    """Fail unless every parameter's trajectory matches; name a matching mistake."""
    if isinstance(got, dict) and "error" in got:
        raise Fail(f"{what}: {got['error']}")
    paths = got.get("trajectory") if isinstance(got, dict) else None
    if not isinstance(paths, list) or len(paths) != len(expected):
        raise Fail(f"{what}: could not read the parameters after each step")
    for j, (path, reference) in enumerate(zip(paths, expected, strict=True)):
        if not isinstance(path, np.ndarray) or path.shape != reference.shape:
            raise Fail(f"{what}: parameter {j} changed its shape or type; update param.data "
                       f"in place (param.data -= ...) with an array of the same shape")
        if is_close(path, reference):
            continue
        for candidate, explanation in candidates:
            if candidate is not None and all(
                    is_close(mine, theirs) for mine, theirs in zip(paths, candidate,
                                                                   strict=True)):
                raise Fail(f"{what} is wrong: {explanation}")
        steps = [k for k in range(len(path)) if not is_close(path[k], reference[k])]
        k = steps[0]
        if not np.all(np.isfinite(path[k])):
            raise Fail(f"{what}: parameter {j} contains NaN or inf after step {k}: look for a "
                       f"division by zero (is the step count 0 in a bias correction?) or "
                       f"the square root of a negative number")
        index = np.unravel_index(np.argmax(np.abs(path[k] - reference[k])), path[k].shape)
        index = tuple(int(i) for i in index)
        raise Fail(f"{what} is wrong: parameter {j} (of shape {reference.shape[1:]}) first "
                   f"differs from torch.optim after step {k}"
                   + (f" (steps 1 to {k - 1} agree)" if k > 1 else "")
                   + f": at index {index} got {path[k][index]:.6g}, expected "
                     f"{reference[k][index]:.6g}")


def run_case(ctx, name, kwargs, params, grads, bugs=(), lrs=None, extra=()):
    """Run the student's optimizer and torch.optim on the same gradients and compare.

    ``bugs`` is a sequence of ``(bug, explanation)`` simulated with ``simulate``; ``extra``
    of ``(kwargs, explanation)``: the correct rule run with other options (an ignored
    option, a wrong default).
    """
    reply = ctx.student.call(f"{PROBE}.run_optimizer", name, kwargs, params, grads, lrs=lrs)
    expected = torch_trajectory(ctx.ref, name, kwargs, params, grads, lrs)
    candidates = [(simulate(name, kwargs, params, grads, lrs, bug), text) for bug, text in bugs]
    candidates += [(simulate(name, other, params, grads, lrs), text) for other, text in extra]
    what = describe(name, kwargs) + (" with opt.lr changed before every step"
                                     if lrs is not None else "")
    check_trajectory(reply, expected, candidates, f"{what}, {len(grads)} steps,")
    return reply


ASCENT = ("ascent", "it climbs: a step goes *against* the gradient, p -= lr * d")
NO_ASCENT_LR = "lr is not used: the step is lr times the direction"


# ---------------------------------------------------------------- SGD


@part("SGD.plain", points=1)
def sgd_plain(ctx):
    """SGD without options follows torch.optim.SGD; zero_grad() sets every .grad to None."""
    params, grads = random_run(ctx.rng, skip=True)
    kwargs = {"lr": 0.1}
    reply = ctx.student.call(f"{PROBE}.run_optimizer", "SGD", kwargs, params, grads,
                             zero_grad=True)
    expected = torch_trajectory(ctx.ref, "SGD", kwargs, params, grads)
    check_trajectory(reply, expected, [
        (simulate("SGD", kwargs, params, grads, bug="ascent"), ASCENT[1]),
        (simulate("SGD", {"lr": 1.0}, params, grads), NO_ASCENT_LR)],
        "SGD(lr=0.1), 100 steps (parameter 1 has no gradient at some steps),")
    if reply.get("grads_after") != [None, None]:
        raise Fail("after zero_grad() every parameter's .grad must be None (PyTorch's "
                   "default, set_to_none=True), so that the next backward starts afresh")


MOMENTUM_BUGS = [
    ASCENT,
    ("ema momentum", "the buffer is an average, mu * b + (1 - mu) * g; torch adds the whole "
                     "gradient: b = mu * b + g (dampening 0), starting at b = g"),
    ("buffer dropped", "momentum has no effect: keep the buffer between steps in "
                       "state['momentum_buffer'] and update it, b = mu * b + g"),
]


@part("SGD.momentum", points=2)
def sgd_momentum(ctx):
    """SGD with momentum: the buffer b = mu * b + g starts at the first gradient."""
    params, grads = random_run(ctx.rng, skip=True)
    run_case(ctx, "SGD", {"lr": 0.05, "momentum": 0.9}, params, grads, MOMENTUM_BUGS,
             extra=[({"lr": 0.05}, "the momentum is ignored: it is plain SGD")])
    params, grads = random_run(ctx.rng, steps=40)
    run_case(ctx, "SGD", {"lr": 0.1, "momentum": 0.5}, params, grads, [
        *MOMENTUM_BUGS,
        ("lr in buffer", "the learning rate is inside the buffer (v = mu * v - lr * g): that "
                         "agrees with torch only while lr is constant; torch keeps lr out of "
                         "it, b = mu * b + g, p -= lr * b, so a scheduler's new lr acts at "
                         "once")], lrs=np.geomspace(0.1, 0.001, 40))


@part("SGD.nesterov", points=1)
def sgd_nesterov(ctx):
    """Nesterov momentum: the step is g + mu * b with the updated buffer b."""
    params, grads = random_run(ctx.rng)
    run_case(ctx, "SGD", {"lr": 0.05, "momentum": 0.8, "nesterov": True}, params, grads, [
        ("nesterov as momentum", "that is plain momentum: with nesterov=True the step "
                                 "direction is g + mu * b (the gradient plus the momentum it "
                                 "is about to add), not b"),
        ("nesterov without gradient", "the Nesterov direction is g + mu * b: add the "
                                      "gradient itself to the momentum term"),
        ASCENT])


@part("SGD.weight_decay", points=1)
def sgd_weight_decay(ctx):
    """Weight decay adds weight_decay * p to the gradient, before the momentum buffer."""
    cases = [{"lr": 0.05, "weight_decay": 0.1},
             {"lr": 0.05, "momentum": 0.9, "weight_decay": 0.1}]
    for kwargs in cases:
        params, grads = random_run(ctx.rng)
        run_case(ctx, "SGD", kwargs, params, grads, [
            ("decay sign", "the decay has the wrong sign: add weight_decay * p to the "
                           "gradient (the gradient of the penalty (wd/2) * |p|^2)"),
            ("half decay", "the decay is half as strong: the gradient of "
                           "(wd/2) * |p|^2 is wd * p"),
            ("decay after momentum", "add weight_decay * p to the gradient *before* the "
                                     "momentum buffer, as torch does, not to the step")],
            extra=[({k: v for k, v in kwargs.items() if k != "weight_decay"},
                    "weight_decay is ignored: add weight_decay * p to the gradient")])


# ---------------------------------------------------------------- Adagrad


ADAGRAD_BUGS = [
    ("no accumulation", "the sum of squared gradients is not accumulated: s = s + g**2 "
                        "over all the steps so far, kept in the state"),
    ("mean", "that is the mean of the squared gradients; Adagrad uses their sum"),
    ("no sqrt", "divide by the square root of the sum: g / (sqrt(s) + eps)"),
    ("eps inside", "eps goes outside the square root: sqrt(s) + eps, not sqrt(s + eps)"),
]


@part("Adagrad", points=2)
def adagrad(ctx):
    """Adagrad divides by the root of the summed squared gradients."""
    for kwargs in ({}, {"lr": 0.5}):
        params, grads = random_run(ctx.rng, skip=True)
        run_case(ctx, "Adagrad", kwargs, params, grads, ADAGRAD_BUGS,
                 extra=[({**kwargs, "lr": 0.01 if kwargs else 0.1},
                         "the learning rate is not the one given (Adagrad's default lr is "
                         "0.01)")])


@part("Adagrad.options", points=1, visible=False)
def adagrad_options(ctx):
    """Adagrad with a large eps and weight decay."""
    kwargs = {"lr": 0.3, "eps": 0.1, "weight_decay": 0.05}
    params, grads = random_run(ctx.rng, scale=0.3)
    run_case(ctx, "Adagrad", kwargs, params, grads, [
        *ADAGRAD_BUGS,
        ("decay not accumulated", "add weight_decay * p to the gradient first; the sum "
                                  "accumulates the squares of that gradient")],
        extra=[({"lr": 0.3, "eps": 0.1}, "weight_decay is ignored"),
               ({"lr": 0.3, "weight_decay": 0.05}, "eps is ignored (the default is used)")])


# ---------------------------------------------------------------- RMSprop


RMSPROP_BUGS = [
    ("alpha swapped", "the average weights are swapped: v = alpha * v + (1 - alpha) * g**2"),
    ("no sqrt", "divide by the square root of the average: g / (sqrt(v) + eps)"),
    ("bias correction", "RMSprop has no bias correction (that is Adam's): divide by "
                        "sqrt(v) + eps directly"),
    ("eps inside", "eps goes outside the square root: sqrt(v) + eps, not sqrt(v + eps)"),
]


@part("RMSprop", points=2)
def rmsprop(ctx):
    """RMSprop divides by the root of a moving average of squared gradients."""
    for kwargs in ({}, {"lr": 0.02, "alpha": 0.9}):
        params, grads = random_run(ctx.rng, skip=True)
        run_case(ctx, "RMSprop", kwargs, params, grads, RMSPROP_BUGS,
                 extra=[({**kwargs, "alpha": 0.99 if kwargs else 0.9},
                         "alpha is not the one given (the default is 0.99)")])


@part("RMSprop.options", points=1, visible=False)
def rmsprop_options(ctx):
    """RMSprop with momentum and a large eps."""
    kwargs = {"lr": 0.01, "alpha": 0.9, "eps": 0.1, "momentum": 0.9}
    params, grads = random_run(ctx.rng, scale=0.3)
    run_case(ctx, "RMSprop", kwargs, params, grads, [
        *RMSPROP_BUGS,
        ("momentum on gradient", "the momentum buffer accumulates the *scaled* gradient, "
                                 "b = mu * b + g / (sqrt(v) + eps), and p -= lr * b"),
        ("momentum ignored", "momentum is ignored")])


# ---------------------------------------------------------------- Adam and AdamW


ADAM_BUGS = [
    ("no bias correction", "there is no bias correction: divide m by 1 - beta1**t and v by "
                           "1 - beta2**t (t = 1 at the first step), else the first steps "
                           "are far too small"),
    ("bias correction of m only", "correct v for its bias too: v_hat = v / (1 - beta2**t)"),
    ("t off by one", "the step count t is off by one: t is 1 at the first step (increment "
                     "it before the bias correction)"),
    ("betas swapped", "the betas are swapped: beta1 averages the gradients (m), beta2 "
                      "their squares (v)"),
    ("eps inside", "eps goes outside the square root: sqrt(v_hat) + eps, not "
                   "sqrt(v_hat + eps)"),
    ("eps before correction", "add eps after the bias correction: sqrt(v_hat) + eps with "
                              "v_hat = v / (1 - beta2**t)"),
]


@part("Adam", points=3)
def adam(ctx):
    """Adam: moving averages m and v with bias correction; eps outside the square root."""
    for kwargs in ({}, {"lr": 0.05}):
        params, grads = random_run(ctx.rng, skip=True)
        run_case(ctx, "Adam", kwargs, params, grads, ADAM_BUGS)


@part("Adam.options", points=1)
def adam_options(ctx):
    """Adam with other betas and a large eps."""
    kwargs = {"lr": 0.05, "betas": (0.8, 0.9), "eps": 0.1}
    params, grads = random_run(ctx.rng, scale=0.3)
    run_case(ctx, "Adam", kwargs, params, grads, ADAM_BUGS, extra=[
        ({"lr": 0.05, "eps": 0.1}, "betas is ignored: the default (0.9, 0.999) is used"),
        ({"lr": 0.05, "betas": (0.8, 0.9)}, "eps is ignored: the default 1e-8 is used")])


@part("Adam.weight_decay", points=1, visible=False)
def adam_weight_decay(ctx):
    """Adam's weight_decay is an L2 term added to the gradient (unlike AdamW)."""
    kwargs = {"lr": 0.05, "weight_decay": 0.2}
    params, grads = random_run(ctx.rng)
    run_case(ctx, "Adam", kwargs, params, grads, [
        ("decoupled decay", "that is AdamW's decoupled decay; Adam adds weight_decay * p to "
                            "the gradient before the moving averages (an L2 penalty)")],
        extra=[({"lr": 0.05}, "weight_decay is ignored: add weight_decay * p to the "
                              "gradient")])


ADAMW_BUGS = [
    ("coupled decay", "that is Adam with an L2 term in the gradient (coupled); AdamW decays "
                      "the weights directly, p -= lr * weight_decay * p, before the Adam "
                      "step, and leaves the gradient alone"),
    ("decay without lr", "the decay is p -= lr * weight_decay * p: multiply by lr too"),
    ("decay after step", "decay the weights before the Adam step (with the old p), "
                         "p -= lr * weight_decay * p, as torch does"),
]


@part("AdamW", points=2)
def adamw(ctx):
    """AdamW: decoupled weight decay p -= lr * wd * p, then the Adam step."""
    kwargs = {"lr": 0.05, "weight_decay": 0.2}
    params, grads = random_run(ctx.rng)
    run_case(ctx, "AdamW", kwargs, params, grads, [*ADAMW_BUGS, *ADAM_BUGS],
             extra=[({"lr": 0.05, "weight_decay": 0.0}, "weight_decay is ignored")])
    params, grads = random_run(ctx.rng, skip=True)
    run_case(ctx, "AdamW", {"lr": 0.1}, params, grads, ADAMW_BUGS,
             extra=[({"lr": 0.1, "weight_decay": 0.0},
                     "AdamW's default weight_decay is 0.01, not 0")])


@part("Optimizer.lr_changes", points=1, visible=False)
def lr_changes(ctx):
    """Every optimizer reads opt.lr at each step (a scheduler changes it)."""
    lrs = np.linspace(0.2, 0.002, 30)
    for name, kwargs in (("SGD", {"lr": 0.2, "momentum": 0.9}), ("Adagrad", {"lr": 0.2}),
                         ("RMSprop", {"lr": 0.2}), ("Adam", {"lr": 0.2}),
                         ("AdamW", {"lr": 0.2})):
        params, grads = random_run(ctx.rng, steps=30)
        reply = ctx.student.call(f"{PROBE}.run_optimizer", name, kwargs, params, grads,
                                 lrs=lrs)
        expected = torch_trajectory(ctx.ref, name, kwargs, params, grads, lrs)
        check_trajectory(reply, expected, [
            (simulate(name, kwargs, params, grads), "the learning rate given to the "
             "constructor is used at every step: read self.lr in the update, since "
             "schedulers change it between steps")],
            f"{describe(name, kwargs)} with opt.lr changed before every step,")


# ---------------------------------------------------------------- schedulers


@cached
def torch_schedule(ref, spec, steps, lr):
    """get_last_lr()[0] after construction and after every step, with torch."""
    optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=lr)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        scheduler = _torch_scheduler(optimizer, spec)
        values = [scheduler.get_last_lr()[0]]
        for _ in range(steps):
            optimizer.step()
            scheduler.step()
            values.append(scheduler.get_last_lr()[0])
    return np.array(values, dtype=np.float64)


def _torch_scheduler(optimizer, spec):
    schedulers = torch.optim.lr_scheduler
    if spec["name"] == "SequentialLR":
        return schedulers.SequentialLR(
            optimizer, [_torch_scheduler(optimizer, s) for s in spec["schedulers"]],
            milestones=spec["milestones"])
    return getattr(schedulers, spec["name"])(optimizer, **spec.get("kwargs", {}))


def show_spec(spec):
    if spec["name"] == "SequentialLR":
        inner = ", ".join(show_spec(s) for s in spec["schedulers"])
        return f"SequentialLR([{inner}], milestones={spec['milestones']})"
    return describe(spec["name"], spec.get("kwargs", {}))


def check_schedule(ctx, spec, steps, lr, candidates=()):
    """Compare get_last_lr() (and opt.lr) after every step with torch."""
    what = f"{show_spec(spec)} on an optimizer with lr={lr}"
    reply = ctx.student.call(f"{PROBE}.run_schedule", spec, steps, lr)
    expected = torch_schedule(ctx.ref, spec, steps, lr)
    last = reply["last_lr"]
    if any(isinstance(v, str) or v is None for v in last):
        raise Fail(f"{what}: get_last_lr() must return a one-element list holding a float, "
                   f"got {next(v for v in last if isinstance(v, str) or v is None)}")
    got = np.array(last, dtype=np.float64)
    if not is_close(got, expected, rtol=1e-9, atol=1e-15):
        for candidate, explanation in candidates:
            if is_close(got, np.asarray(candidate, dtype=np.float64), rtol=1e-9, atol=1e-15):
                raise Fail(f"{what}: the learning rates are wrong: {explanation}")
        k = int(np.argmax(~np.isclose(got, expected, rtol=1e-9, atol=1e-15)))
        shown = ", ".join(f"{v:.4g}" for v in got[max(0, k - 2):k + 3])
        right = ", ".join(f"{v:.4g}" for v in expected[max(0, k - 2):k + 3])
        note = ""
        if k in spec.get("milestones", ()):
            note = (f"; epoch {k} is a milestone: there the next scheduler restarts, the lr "
                    f"goes back to its base value and the scheduler takes its initial step "
                    f"again (its own epoch 0)")
        raise Fail(f"{what}: get_last_lr() first differs from torch at epoch {k} (0 is right "
                   f"after construction): epochs {max(0, k - 2)} to {k + 2} give [{shown}], "
                   f"expected [{right}]{note}")
    opt_lr = reply["opt_lr"]
    if any(not isinstance(v, float) for v in opt_lr) or not is_close(
            np.array(opt_lr), expected, rtol=1e-9, atol=1e-15):
        raise Fail(f"{what}: get_last_lr() is right but the optimizer's lr is not: each step "
                   f"must set optimizer.lr, which the optimizer uses")


def closed(values):
    return np.array(values, dtype=np.float64)


@part("StepLR", points=1)
def step_lr(ctx):
    """StepLR multiplies lr by gamma every step_size epochs (60 epochs)."""
    for step_size, gamma in ((7, 0.5), (1, 0.9), (10, 0.1)):
        spec = {"name": "StepLR", "kwargs": {"step_size": step_size, "gamma": gamma}}
        t = np.arange(61)
        check_schedule(ctx, spec, 60, 0.3, [
            (0.3 * gamma ** ((t + 1) // step_size), "it decays one epoch early: the rate is "
             "lr * gamma ** (epoch // step_size), first decayed at epoch step_size"),
            (0.3 * gamma ** (np.maximum(t - 1, 0) // step_size) if step_size > 1 else None,
             "it decays one epoch late: the first decay is at epoch step_size"),
            (0.3 * gamma ** (t // step_size + 1), "epoch 0 is decayed already: it keeps "
             "lr itself; the first decay is at epoch step_size"),
            (0.3 * gamma ** t if step_size > 1 else None, "it decays at every epoch instead "
             "of every step_size epochs"),
        ])


def linear_closed(t, base, start, end, total):
    return base * (start + (end - start) * np.minimum(t, total) / total)


@part("LinearLR", points=1)
def linear_lr(ctx):
    """LinearLR ramps the factor from start_factor to end_factor over total_iters epochs."""
    t = np.arange(61)
    for kwargs in ({"start_factor": 0.1, "total_iters": 10}, {},
                   {"start_factor": 1.0, "end_factor": 0.25, "total_iters": 13}):
        start, end = kwargs.get("start_factor", 1 / 3), kwargs.get("end_factor", 1.0)
        total = kwargs.get("total_iters", 5)
        check_schedule(ctx, {"name": "LinearLR", "kwargs": kwargs}, 60, 0.2, [
            (0.2 * (start + (end - start) * t / total),
             "the factor must stop changing at total_iters: min(epoch, total_iters)"),
            (linear_closed(t, 0.2, start, end, total + 1), "the ramp is one epoch too long: "
             "the factor reaches end_factor at epoch total_iters"),
            (linear_closed(t, 0.2, start, end, max(total - 1, 1)), "the ramp is one epoch too "
             "short: the factor reaches end_factor at epoch total_iters"),
            (linear_closed(t, 0.2, 1 / 3, 1.0, 5) if kwargs else None,
             "the arguments are ignored (these are the defaults)"),
        ])


def cosine_closed(t, base, eta_min, t_max):
    return eta_min + (base - eta_min) * (1 + np.cos(np.pi * t / t_max)) / 2


def cosine_candidates(t, base, eta_min, t_max):
    return [
        (cosine_closed(t, base, eta_min, t_max - 1) if t_max > 1 else None,
         "the cosine uses T_max - 1: the rate reaches eta_min at epoch T_max, "
         "cos(pi * epoch / T_max)"),
        (cosine_closed(t, base, 0.0, t_max) if eta_min else None,
         "eta_min is ignored: eta_min + (lr0 - eta_min) * (1 + cos(pi t / T_max)) / 2"),
        (np.where(t >= t_max, eta_min, cosine_closed(t, base, eta_min, t_max)),
         "after T_max the rate stays at eta_min, but torch's schedule goes on along the "
         "cosine (it climbs back up)"),
        (cosine_closed(t % t_max, base, eta_min, t_max), "the schedule restarts at T_max "
         "(that is CosineAnnealingWarmRestarts); CosineAnnealingLR follows the cosine, "
         "back up to lr0 at 2 * T_max"),
        (base * (1 + np.cos(np.pi * t / t_max)) / 2 + eta_min if eta_min else None,
         "the cosine term scales lr0 - eta_min, not lr0"),
    ]


@part("CosineAnnealingLR", points=2)
def cosine_lr(ctx):
    """CosineAnnealingLR follows half a cosine down to eta_min at T_max (60 epochs)."""
    t = np.arange(61)
    for t_max, eta_min in ((20, 0.001), (50, 0.0)):
        spec = {"name": "CosineAnnealingLR", "kwargs": {"T_max": t_max, "eta_min": eta_min}}
        check_schedule(ctx, spec, 60, 0.1, cosine_candidates(t, 0.1, eta_min, t_max))


@part("CosineAnnealingLR.past_T_max", points=1, visible=False)
def cosine_past_t_max(ctx):
    """Past T_max the cosine goes on: up, and down again (T_max of 1, 3 and 7)."""
    t = np.arange(61)
    for t_max, eta_min in ((7, 0.01), (3, 0.0), (1, 0.02)):
        spec = {"name": "CosineAnnealingLR", "kwargs": {"T_max": t_max, "eta_min": eta_min}}
        check_schedule(ctx, spec, 60, 0.5, cosine_candidates(t, 0.5, eta_min, t_max))


def warmup_cosine(t, base, start, warmup, t_max, eta_min, restart_at=None, offset=None,
                  from_lr=None):
    """The warmup-then-cosine schedule in closed form, and its common mistakes."""
    restart_at = warmup if restart_at is None else restart_at
    offset = restart_at if offset is None else offset
    top = base if from_lr is None else from_lr
    return np.where(t < restart_at, linear_closed(t, base, start, 1.0, warmup),
                    cosine_closed(t - offset, top, eta_min, t_max))


@part("SequentialLR", points=2)
def sequential_lr(ctx):
    """SequentialLR: a LinearLR warmup, then CosineAnnealingLR restarted at the milestone."""
    base, start, warmup, t_max, eta_min = 0.1, 0.01, 5, 30, 1e-4
    spec = {"name": "SequentialLR", "milestones": [warmup], "schedulers": [
        {"name": "LinearLR", "kwargs": {"start_factor": start, "total_iters": warmup}},
        {"name": "CosineAnnealingLR", "kwargs": {"T_max": t_max, "eta_min": eta_min}}]}
    t = np.arange(warmup + t_max + 1)
    before = linear_closed(warmup - 1, base, start, 1.0, warmup)
    check_schedule(ctx, spec, warmup + t_max, base, [
        (warmup_cosine(t, base, start, warmup, t_max, eta_min, offset=0),
         "the cosine does not restart at the milestone: it must start from its own epoch 0 "
         "(epoch - milestone), not from the global epoch"),
        (warmup_cosine(t, base, start, warmup, t_max, eta_min, restart_at=warmup + 1),
         "the switch comes one epoch late: the next scheduler starts at the milestone epoch"),
        (warmup_cosine(t, base, start, warmup, t_max, eta_min, restart_at=warmup - 1),
         "the switch comes one epoch early: the next scheduler starts at the milestone epoch"),
        (warmup_cosine(t, base, start, warmup, t_max, eta_min, from_lr=before),
         "at the milestone the learning rate must go back to its base value before the next "
         "scheduler restarts"),
    ])


@part("SequentialLR.three", points=1, visible=False)
def sequential_three(ctx):
    """SequentialLR with three schedulers, a cosine first, and epochs past the last one."""
    specs = [
        {"name": "SequentialLR", "milestones": [6, 20], "schedulers": [
            {"name": "LinearLR", "kwargs": {"start_factor": 0.2, "total_iters": 4}},
            {"name": "StepLR", "kwargs": {"step_size": 5, "gamma": 0.5}},
            {"name": "CosineAnnealingLR", "kwargs": {"T_max": 10}}]},
        {"name": "SequentialLR", "milestones": [12], "schedulers": [
            {"name": "CosineAnnealingLR", "kwargs": {"T_max": 10, "eta_min": 0.01}},
            {"name": "LinearLR", "kwargs": {"start_factor": 0.5, "total_iters": 3}}]},
    ]
    for spec in specs:
        check_schedule(ctx, spec, 60, 0.3)


# ---------------------------------------------------------------- DataLoader


def loader_data(n, rng):
    """Samples whose first feature is their index, and labels 1000 + index."""
    X = np.column_stack([np.arange(n, dtype=np.float64), rng.standard_normal(n)])
    return X, 1000 + np.arange(n)


def loader_epochs(ctx, n, batch_size, epochs, what, **kwargs):
    """The student's epochs as lists of index arrays, with the batches' X and y checked."""
    X, y = loader_data(n, ctx.rng)
    reply = ctx.student.call(f"{PROBE}.run_loader", X, y, batch_size, epochs, kwargs)
    if "error" in reply:
        raise Fail(f"{what}: {reply['error']}")
    result = []
    for epoch in reply["epochs"]:
        indices = []
        for xb, yb in epoch:
            if not isinstance(xb, np.ndarray) or xb.ndim != 2 or xb.shape[1] != 2:
                raise Fail(f"{what}: X_batch must be the rows X[batch] of shape (B, 2), got "
                           f"{getattr(xb, 'shape', xb)}")
            if not isinstance(yb, np.ndarray) or yb.shape != (len(xb),):
                raise Fail(f"{what}: y_batch must be y[batch], of shape ({len(xb)},), got "
                           f"{getattr(yb, 'shape', yb)}")
            index = xb[:, 0].astype(np.int64)
            if not np.array_equal(xb, X[np.clip(index, 0, n - 1)]):
                raise Fail(f"{what}: the rows of X_batch are not rows of X")
            if not np.array_equal(yb, y[index]):
                raise Fail(f"{what}: X_batch and y_batch do not match: take both with the "
                           f"same indices, X[batch] and y[batch]")
            indices.append(index)
        result.append(indices)
    return result, reply["len"]


def expected_sizes(n, batch_size, drop_last):
    full, rest = divmod(n, batch_size)
    return [batch_size] * full + ([rest] if rest and not drop_last else [])


def check_sizes(epochs, length, n, batch_size, drop_last, what):
    sizes = expected_sizes(n, batch_size, drop_last)
    for epoch in epochs:
        got = [len(batch) for batch in epoch]
        if got == sizes:
            continue
        if not drop_last and got == expected_sizes(n, batch_size, True):
            raise Fail(f"{what}: the last, smaller batch is missing: keep it unless "
                       f"drop_last=True (PyTorch's default is drop_last=False)")
        if drop_last and got == expected_sizes(n, batch_size, False):
            raise Fail(f"{what}: with drop_last=True, leave out the last batch when it is "
                       f"smaller than batch_size")
        raise Fail(f"{what}: the batch sizes of an epoch are {got}, expected {sizes}")
    if length != len(sizes):
        raise Fail(f"{what}: len(loader) is {length}, but an epoch has {len(sizes)} batches"
                   + (" (count the last, smaller batch: ceil(N / batch_size))"
                      if length == n // batch_size and not drop_last else ""))


@part("DataLoader.epoch", points=2)
def loader_epoch(ctx):
    """Each epoch yields every sample exactly once, in batches of batch_size (last smaller)."""
    for n, batch_size in ((103, 10), (64, 16), (7, 3), (5, 8)):
        what = f"DataLoader(X, y, batch_size={batch_size}) on {n} samples"
        epochs, length = loader_epochs(ctx, n, batch_size, 3, what, seed=1)
        check_sizes(epochs, length, n, batch_size, False, what)
        for epoch in epochs:
            seen = np.sort(np.concatenate(epoch))
            if not np.array_equal(seen, np.arange(n)):
                repeated = len(seen) - len(np.unique(seen))
                raise Fail(f"{what}: an epoch must visit every sample exactly once"
                           + (f"; {repeated} samples came twice: draw one permutation per "
                              f"epoch, not random indices with replacement" if repeated
                              else ""))


@part("DataLoader.shuffle", points=1)
def loader_shuffle(ctx):
    """A new order each epoch, the same orders for the same seed, none with shuffle=False."""
    n, batch_size = 40, 8
    what = f"DataLoader(X, y, batch_size={batch_size}, seed=5) on {n} samples"
    epochs, _ = loader_epochs(ctx, n, batch_size, 3, what, seed=5)
    orders = [np.concatenate(epoch) for epoch in epochs]
    if np.array_equal(orders[0], np.arange(n)):
        raise Fail(f"{what}: the samples come in their original order: with shuffle=True "
                   f"draw a random permutation")
    if np.array_equal(orders[0], orders[1]) or np.array_equal(orders[1], orders[2]):
        raise Fail(f"{what}: every epoch has the same order: draw a new permutation at the "
                   f"start of each epoch from the loader's generator (made once, in "
                   f"__init__), and do not re-seed it in __iter__")
    again, _ = loader_epochs(ctx, n, batch_size, 3, what, seed=5)
    if not all(np.array_equal(o, np.concatenate(e)) for o, e in zip(orders, again,
                                                                     strict=True)):
        raise Fail(f"{what}: two loaders with the same seed give different orders: draw "
                   f"from np.random.default_rng(seed), not from the global np.random")
    other, _ = loader_epochs(ctx, n, batch_size, 1, what, seed=6)
    if np.array_equal(np.concatenate(other[0]), orders[0]):
        raise Fail(f"{what}: seed=6 gives the same order as seed=5: seed the generator "
                   f"with the seed given")
    what = f"DataLoader(X, y, batch_size={batch_size}, shuffle=False) on {n} samples"
    plain, _ = loader_epochs(ctx, n, batch_size, 2, what, shuffle=False)
    for epoch in plain:
        if not np.array_equal(np.concatenate(epoch), np.arange(n)):
            raise Fail(f"{what}: with shuffle=False the samples come in order 0, 1, ..., "
                       f"N-1 every epoch")


@part("DataLoader.drop_last", points=1, visible=False)
def loader_drop_last(ctx):
    """drop_last=True leaves out a last batch smaller than batch_size; edge cases."""
    for n, batch_size, drop_last in ((103, 10, True), (40, 8, True), (5, 8, True),
                                     (5, 8, False), (1, 1, False), (1, 4, False)):
        what = (f"DataLoader(X, y, batch_size={batch_size}, drop_last={drop_last}) on {n} "
                f"samples")
        epochs, length = loader_epochs(ctx, n, batch_size, 2, what, seed=2,
                                       drop_last=drop_last)
        check_sizes(epochs, length, n, batch_size, drop_last, what)
        for epoch in epochs:
            seen = np.concatenate(epoch) if epoch else np.array([], dtype=np.int64)
            if len(np.unique(seen)) != len(seen):
                raise Fail(f"{what}: a sample came twice in one epoch")
