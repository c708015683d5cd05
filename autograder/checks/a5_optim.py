"""Checks for a5_optim: ``minidl.optim`` (optimizers and ``lr_scheduler``) and
``minidl.data`` against PyTorch, part by part in notebook order.

PyTorch equivalents (the notebook states the same):

- ``SGD(params, lr, momentum, nesterov, weight_decay)``: ``torch.optim.SGD`` with
  ``dampening=0``; ``Adagrad``, ``RMSprop``, ``Adam``, ``AdamW``: ``torch.optim`` classes
  of the same names, one parameter group (``opt.lr`` is ``param_groups[0]["lr"]``)
- ``lr_scheduler.StepLR``, ``LinearLR``, ``CosineAnnealingLR``, ``SequentialLR``:
  ``torch.optim.lr_scheduler`` of the same names
- ``DataLoader(X, y, batch_size, shuffle, seed, drop_last)``:
  ``torch.utils.data.DataLoader(TensorDataset(X, y), ...)`` (its permutations differ; the
  contract is checked: every sample once per epoch, batch sizes, a new order per epoch)

``OPTIMIZERS`` and ``SCHEDULERS`` (below the parts) are the vocabulary: each optimizer and
schedule once, with its minidl class, its PyTorch class and the named hyperparameter cases
the parts run. An optimizer cannot leave the student's process, so the probe
(``autograder.probes.a5_optim``) receives initial parameters and a gradient per step, runs
the student's optimizer and sends back the parameters after every step; ``torch.optim``
runs here on the same. The mistakes each part explains are in
``solutions/mistakes/a5_optim.py``.
"""
import warnings
from typing import NamedTuple

import numpy as np
import torch

from autograder.compare import is_close
from autograder.framework import Assignment, Fail
from autograder.probes.a5_optim import build
from autograder.reference import cached

ASSIGNMENT = Assignment("a5_optim")
part = ASSIGNMENT.part

PROBE = "autograder.probes.a5_optim"


# ---------------------------------------------------------------- SGD

@part("SGD.plain", points=1)
def sgd_plain(ctx):
    """SGD without options follows torch.optim.SGD; zero_grad() sets every .grad to None."""
    reply = expect_steps(ctx, "SGD", "plain", random_run(ctx.rng, skip=True), zero_grad=True)
    if reply["grads_after"] != [None, None]:
        raise Fail("after zero_grad() every parameter's .grad must be None (PyTorch's "
                   "default, set_to_none=True), so that the next backward starts afresh")


@part("SGD.momentum", points=2)
def sgd_momentum(ctx):
    """SGD with momentum: the buffer b = mu * b + g starts at the first gradient."""
    expect_steps(ctx, "SGD", "momentum", random_run(ctx.rng, skip=True))
    expect_steps(ctx, "SGD", "momentum, lr decayed",
                 random_run(ctx.rng, steps=40, lrs=np.geomspace(0.1, 0.001, 40)))


@part("SGD.nesterov", points=1)
def sgd_nesterov(ctx):
    """Nesterov momentum: the step is g + mu * b with the updated buffer b."""
    expect_steps(ctx, "SGD", "nesterov", random_run(ctx.rng))


@part("SGD.weight_decay", points=1)
def sgd_weight_decay(ctx):
    """Weight decay adds weight_decay * p to the gradient, before the momentum buffer."""
    expect_steps(ctx, "SGD", "weight decay", random_run(ctx.rng))
    expect_steps(ctx, "SGD", "weight decay, momentum", random_run(ctx.rng))


# ---------------------------------------------------------------- Adagrad

@part("Adagrad", points=2)
def adagrad(ctx):
    """Adagrad divides by the root of the summed squared gradients."""
    expect_steps(ctx, "Adagrad", "defaults", random_run(ctx.rng, skip=True))
    expect_steps(ctx, "Adagrad", "lr 0.5", random_run(ctx.rng, skip=True))


@part("Adagrad.options", points=1, visible=False)
def adagrad_options(ctx):
    """Adagrad with a large eps and weight decay."""
    expect_steps(ctx, "Adagrad", "eps, weight decay", random_run(ctx.rng, scale=0.3))


# ---------------------------------------------------------------- RMSprop

@part("RMSprop", points=2)
def rmsprop(ctx):
    """RMSprop divides by the root of a moving average of squared gradients."""
    expect_steps(ctx, "RMSprop", "defaults", random_run(ctx.rng, skip=True))
    expect_steps(ctx, "RMSprop", "alpha 0.9", random_run(ctx.rng, skip=True))


@part("RMSprop.options", points=1, visible=False)
def rmsprop_options(ctx):
    """RMSprop with momentum and a large eps."""
    expect_steps(ctx, "RMSprop", "eps, momentum", random_run(ctx.rng, scale=0.3))


# ---------------------------------------------------------------- Adam and AdamW

@part("Adam", points=3)
def adam(ctx):
    """Adam: moving averages m and v with bias correction; eps outside the square root."""
    expect_steps(ctx, "Adam", "defaults", random_run(ctx.rng, skip=True))
    expect_steps(ctx, "Adam", "lr 0.05", random_run(ctx.rng, skip=True))


@part("Adam.options", points=1)
def adam_options(ctx):
    """Adam with other betas and a large eps."""
    expect_steps(ctx, "Adam", "betas, eps", random_run(ctx.rng, scale=0.3))


@part("Adam.weight_decay", points=1, visible=False)
def adam_weight_decay(ctx):
    """Adam's weight_decay is an L2 term added to the gradient (unlike AdamW)."""
    expect_steps(ctx, "Adam", "weight decay", random_run(ctx.rng))


@part("AdamW", points=2)
def adamw(ctx):
    """AdamW: decoupled weight decay p -= lr * wd * p, then the Adam step."""
    expect_steps(ctx, "AdamW", "weight decay", random_run(ctx.rng))
    expect_steps(ctx, "AdamW", "default weight decay", random_run(ctx.rng, skip=True))


@part("Optimizer.lr_changes", points=1, visible=False)
def lr_changes(ctx):
    """Every optimizer reads opt.lr at each step (a scheduler changes it)."""
    for name in OPTIMIZERS:
        expect_steps(ctx, name, "lr changes",
                     random_run(ctx.rng, steps=30, lrs=np.linspace(0.2, 0.002, 30)))


# ---------------------------------------------------------------- schedulers

@part("StepLR", points=1)
def step_lr(ctx):
    """StepLR multiplies lr by gamma every step_size epochs (60 epochs)."""
    for case in ("every 7 epochs", "every epoch", "every 10 epochs"):
        expect_schedule(ctx, "StepLR", case, epochs=60, lr=0.3)


@part("LinearLR", points=1)
def linear_lr(ctx):
    """LinearLR ramps the factor from start_factor to end_factor over total_iters epochs."""
    for case in ("warmup", "defaults", "decay"):
        expect_schedule(ctx, "LinearLR", case, epochs=60, lr=0.2)


@part("CosineAnnealingLR", points=2)
def cosine_lr(ctx):
    """CosineAnnealingLR follows half a cosine down to eta_min at T_max (60 epochs)."""
    for case in ("T_max 20", "T_max 50"):
        expect_schedule(ctx, "CosineAnnealingLR", case, epochs=60, lr=0.1)


@part("CosineAnnealingLR.past_T_max", points=1, visible=False)
def cosine_past_t_max(ctx):
    """Past T_max the cosine goes on: up, and down again (T_max of 1, 3 and 7)."""
    for case in ("T_max 7", "T_max 3", "T_max 1"):
        expect_schedule(ctx, "CosineAnnealingLR", case, epochs=60, lr=0.5)


@part("SequentialLR", points=2)
def sequential_lr(ctx):
    """SequentialLR: a LinearLR warmup, then CosineAnnealingLR restarted at the milestone."""
    expect_schedule(ctx, "SequentialLR", "warmup, cosine", epochs=35, lr=0.1)


@part("SequentialLR.three", points=1, visible=False)
def sequential_three(ctx):
    """SequentialLR with three schedulers, a cosine first, and epochs past the last one."""
    for case in ("three", "cosine first"):
        expect_schedule(ctx, "SequentialLR", case, epochs=60, lr=0.3)


# ---------------------------------------------------------------- DataLoader

@part("DataLoader.epoch", points=2)
def loader_epoch(ctx):
    """Each epoch yields every sample exactly once, in batches of batch_size (last smaller)."""
    for n, batch_size in ((103, 10), (64, 16), (7, 3), (5, 8)):
        epochs = expect_batches(ctx, n, batch_size, 3, seed=1)
        for epoch in epochs.indices:
            seen = np.sort(np.concatenate(epoch))
            if not np.array_equal(seen, np.arange(n)):
                repeated = len(seen) - len(np.unique(seen))
                ctx.fail(f"{epochs.what}: an epoch must visit every sample exactly once"
                         + (f"; {repeated} samples came twice" if repeated else ""),
                         epochs.ask, epochs.indices, matches=both_repeat_samples)


@part("DataLoader.shuffle", points=1)
def loader_shuffle(ctx):
    """A new order each epoch, the same orders for the same seed, none with shuffle=False."""
    n, batch_size = 40, 8
    epochs = expect_batches(ctx, n, batch_size, 3, seed=5)
    orders = [np.concatenate(epoch) for epoch in epochs.indices]
    if np.array_equal(orders[0], np.arange(n)):
        raise Fail(f"{epochs.what}: the samples come in their original order: with "
                   f"shuffle=True draw a random permutation")
    if np.array_equal(orders[0], orders[1]) or np.array_equal(orders[1], orders[2]):
        raise Fail(f"{epochs.what}: every epoch has the same order: draw a new permutation at "
                   f"the start of each epoch from the loader's generator (made once, in "
                   f"__init__), and do not re-seed it in __iter__")
    again = expect_batches(ctx, n, batch_size, 3, seed=5, X_and_y=epochs.X_and_y)
    if not all(np.array_equal(order, np.concatenate(epoch))
               for order, epoch in zip(orders, again.indices, strict=True)):
        raise Fail(f"{epochs.what}: two loaders with the same seed give different orders: "
                   f"draw from np.random.default_rng(seed), not from the global np.random")
    other = expect_batches(ctx, n, batch_size, 1, seed=6, X_and_y=epochs.X_and_y)
    if np.array_equal(np.concatenate(other.indices[0]), orders[0]):
        raise Fail(f"{epochs.what}: seed=6 gives the same order as seed=5: seed the "
                   f"generator with the seed given")
    ordered = expect_batches(ctx, n, batch_size, 2, shuffle=False)
    for epoch in ordered.indices:
        if not np.array_equal(np.concatenate(epoch), np.arange(n)):
            raise Fail(f"{ordered.what}: with shuffle=False the samples come in order 0, 1, "
                       f"..., N-1 every epoch")


@part("DataLoader.drop_last", points=1, visible=False)
def loader_drop_last(ctx):
    """drop_last=True leaves out a last batch smaller than batch_size; edge cases."""
    for n, batch_size, drop_last in ((103, 10, True), (40, 8, True), (5, 8, True),
                                     (5, 8, False), (1, 1, False), (1, 4, False)):
        epochs = expect_batches(ctx, n, batch_size, 2, seed=2, drop_last=drop_last)
        for epoch in epochs.indices:
            seen = np.concatenate(epoch) if epoch else np.array([], dtype=np.int64)
            if len(np.unique(seen)) != len(seen):
                raise Fail(f"{epochs.what}: a sample came twice in one epoch")


# ================================================================ the vocabulary

class Rule(NamedTuple):
    """An optimizer or a schedule: its minidl class, its PyTorch class, the named cases the
    parts run (keyword arguments that both classes take alike) and what PyTorch needs
    besides them to do what minidl does."""

    minidl: str
    torch: str
    cases: dict
    torch_only: dict = {}


OPTIMIZERS = {
    "SGD": Rule("minidl.optim.SGD", "torch.optim.SGD", {
        "plain": {"lr": 0.1},
        "momentum": {"lr": 0.05, "momentum": 0.9},
        "momentum, lr decayed": {"lr": 0.1, "momentum": 0.5},
        "nesterov": {"lr": 0.05, "momentum": 0.8, "nesterov": True},
        "weight decay": {"lr": 0.05, "weight_decay": 0.1},
        "weight decay, momentum": {"lr": 0.05, "momentum": 0.9, "weight_decay": 0.1},
        "lr changes": {"lr": 0.2, "momentum": 0.9},
    }, torch_only={"dampening": 0}),
    "Adagrad": Rule("minidl.optim.Adagrad", "torch.optim.Adagrad", {
        "defaults": {},
        "lr 0.5": {"lr": 0.5},
        "eps, weight decay": {"lr": 0.3, "eps": 0.1, "weight_decay": 0.05},
        "lr changes": {"lr": 0.2},
    }),
    "RMSprop": Rule("minidl.optim.RMSprop", "torch.optim.RMSprop", {
        "defaults": {},
        "alpha 0.9": {"lr": 0.02, "alpha": 0.9},
        "eps, momentum": {"lr": 0.01, "alpha": 0.9, "eps": 0.1, "momentum": 0.9},
        "lr changes": {"lr": 0.2},
    }),
    "Adam": Rule("minidl.optim.Adam", "torch.optim.Adam", {
        "defaults": {},
        "lr 0.05": {"lr": 0.05},
        "betas, eps": {"lr": 0.05, "betas": (0.8, 0.9), "eps": 0.1},
        "weight decay": {"lr": 0.05, "weight_decay": 0.2},
        "lr changes": {"lr": 0.2},
    }),
    "AdamW": Rule("minidl.optim.AdamW", "torch.optim.AdamW", {
        "weight decay": {"lr": 0.05, "weight_decay": 0.2},
        "default weight decay": {"lr": 0.1},
        "lr changes": {"lr": 0.2},
    }),
}

SCHEDULERS = {
    "StepLR": Rule("minidl.optim.lr_scheduler.StepLR", "torch.optim.lr_scheduler.StepLR", {
        "every 7 epochs": {"step_size": 7, "gamma": 0.5},
        "every epoch": {"step_size": 1, "gamma": 0.9},
        "every 10 epochs": {"step_size": 10, "gamma": 0.1},
    }),
    "LinearLR": Rule("minidl.optim.lr_scheduler.LinearLR", "torch.optim.lr_scheduler.LinearLR", {
        "warmup": {"start_factor": 0.1, "total_iters": 10},
        "defaults": {},
        "decay": {"start_factor": 1.0, "end_factor": 0.25, "total_iters": 13},
    }),
    "CosineAnnealingLR": Rule(
        "minidl.optim.lr_scheduler.CosineAnnealingLR",
        "torch.optim.lr_scheduler.CosineAnnealingLR", {
            "T_max 20": {"T_max": 20, "eta_min": 0.001},
            "T_max 50": {"T_max": 50, "eta_min": 0.0},
            "T_max 7": {"T_max": 7, "eta_min": 0.01},
            "T_max 3": {"T_max": 3, "eta_min": 0.0},
            "T_max 1": {"T_max": 1, "eta_min": 0.02},
        }),
    # Its "schedulers" are (name, keyword arguments) of the schedules it runs in turn.
    "SequentialLR": Rule(
        "minidl.optim.lr_scheduler.SequentialLR", "torch.optim.lr_scheduler.SequentialLR", {
            "warmup, cosine": {"milestones": [5], "schedulers": [
                ("LinearLR", {"start_factor": 0.01, "total_iters": 5}),
                ("CosineAnnealingLR", {"T_max": 30, "eta_min": 1e-4})]},
            "three": {"milestones": [6, 20], "schedulers": [
                ("LinearLR", {"start_factor": 0.2, "total_iters": 4}),
                ("StepLR", {"step_size": 5, "gamma": 0.5}),
                ("CosineAnnealingLR", {"T_max": 10})]},
            "cosine first": {"milestones": [12], "schedulers": [
                ("CosineAnnealingLR", {"T_max": 10, "eta_min": 0.01}),
                ("LinearLR", {"start_factor": 0.5, "total_iters": 3})]},
        }),
}

# The optimizer a schedule is attached to.
SCHEDULED = "SGD"


def describe(name, kwargs):
    """A case as a student writes the call: ``SGD(lr=0.05, momentum=0.9)``, and
    ``SequentialLR([LinearLR(...), CosineAnnealingLR(...)], milestones=[5])``."""
    shown = [f"[{', '.join(describe(*inner) for inner in kwargs['schedulers'])}]"
             ] if "schedulers" in kwargs else []
    shown += [f"{key}={value!r}" for key, value in kwargs.items() if key != "schedulers"]
    return f"{name}({', '.join(shown)})"


def minidl_schedule(name, kwargs):
    """A schedule as the probe builds it: ``{"target": class, "kwargs": ...}``."""
    if "schedulers" in kwargs:
        kwargs = {**kwargs, "schedulers": [minidl_schedule(*inner)
                                           for inner in kwargs["schedulers"]]}
    return {"target": SCHEDULERS[name].minidl, "kwargs": kwargs}


def torch_schedule_of(optimizer, name, kwargs):
    """A schedule built with torch.optim.lr_scheduler."""
    rule = SCHEDULERS[name]
    if "schedulers" in kwargs:
        kwargs = {**kwargs, "schedulers": [torch_schedule_of(optimizer, *inner)
                                           for inner in kwargs["schedulers"]]}
    return build(rule.torch, optimizer, **kwargs, **rule.torch_only)


# ================================================================ what the parts ask

class Run(NamedTuple):
    """Initial parameters, the gradient of each at each step (None: no gradient that step)
    and the learning rate set before each step (None: the optimizer's own)."""

    params: list
    grads: list
    lrs: object = None


def random_run(rng, steps=100, scale=1.0, skip=False, lrs=None, shapes=((3, 4), (5,))):
    """A Run of random gradients (``skip``: parameter 1 has none at every 7th step)."""
    params = [rng.standard_normal(shape) for shape in shapes]
    grads = [[scale * rng.standard_normal(shape) for shape in shapes] for _ in range(steps)]
    if skip:
        for k in range(3, steps, 7):
            grads[k][1] = None
    return Run(params, grads, lrs)


def expect_steps(ctx, name, case, run, zero_grad=False):
    """The student's optimizer ``name`` with the hyperparameters of ``case`` takes the steps
    of torch.optim on ``run``; returns the probe's reply."""
    kwargs = OPTIMIZERS[name].cases[case]
    what = (f"{describe(name, kwargs)}, {len(run.grads)} steps"
            + (" (parameter 1 has no gradient at some steps)"
               if any(g is None for step in run.grads for g in step) else "")
            + (" with opt.lr changed before every step" if run.lrs is not None else ""))

    def ask(who):
        return who.call(f"{PROBE}.run_optimizer", OPTIMIZERS[name].minidl, kwargs, run.params,
                        run.grads, lrs=run.lrs, zero_grad=zero_grad)

    def trajectory(who):
        return stacked_trajectory(ask(who), expected, what)

    expected = torch_trajectory(ctx.ref, name, case, run.params, run.grads, run.lrs)
    reply = ask(ctx.student)
    got = stacked_trajectory(reply, expected, what)
    for j, (path, reference) in enumerate(zip(got, expected, strict=True)):
        if not is_close(path, reference):
            fail_explained(ctx, what, trajectory, got, first_difference(j, path, reference))
    return reply


def stacked_trajectory(reply, expected, what):
    """Each parameter's values after every step, one array per parameter, or Fail."""
    paths = reply["trajectory"]
    if len(paths) != len(expected):
        raise Fail(f"{what}: the optimizer has {len(paths)} parameters, expected "
                   f"{len(expected)}")
    stacked = []
    for j, (path, reference) in enumerate(zip(paths, expected, strict=True)):
        for k, values in enumerate(path):
            if np.shape(values) != reference.shape[1:]:
                raise Fail(f"{what}: parameter {j} has shape {np.shape(values)} after step "
                           f"{k}, not {reference.shape[1:]}: update param.data in place "
                           f"(param.data -= ...) with an array of the same shape")
        stacked.append(np.stack(path))
    return stacked


def first_difference(j, path, reference):
    """Where parameter ``j``'s trajectory first leaves torch's, and by how much."""
    k = next(k for k in range(len(path)) if not is_close(path[k], reference[k]))
    if not np.all(np.isfinite(path[k])):
        return (f"parameter {j} contains NaN or inf after step {k}: look for a division by "
                f"zero (is the step count 0 in a bias correction?) or the square root of a "
                f"negative number")
    index = np.unravel_index(np.argmax(np.abs(path[k] - reference[k])), path[k].shape)
    index = tuple(int(i) for i in index)
    return (f"parameter {j} (of shape {reference.shape[1:]}) first differs from torch.optim "
            f"after step {k}" + (f" (steps 1 to {k - 1} agree)" if k > 1 else "")
            + f": at index {index} got {path[k][index]:.6g}, expected "
              f"{reference[k][index]:.6g}")


def fail_explained(ctx, what, ask, got, difference, matches=None):
    """Fail: ``what`` is wrong, as the catalogued mistake that gives ``got`` explains, or
    ``difference`` (where, by how much) when no mistake gives it."""
    explanation = ctx.explain(ask, got, matches=matches)
    if explanation is None:
        raise Fail(f"{what} is wrong: {difference}")
    raise Fail(f"{what} is wrong: {explanation}", explained=True)


SCHEDULE_TOLERANCE = {"rtol": 1e-9, "atol": 1e-15}


def expect_schedule(ctx, name, case, epochs, lr):
    """get_last_lr() and the optimizer's lr, after construction and after each of ``epochs``
    steps of schedule ``name`` with the arguments of ``case``, are torch's."""
    kwargs = SCHEDULERS[name].cases[case]
    what = f"{describe(name, kwargs)} on an optimizer with lr={lr}"

    def ask(who):
        return who.call(f"{PROBE}.run_schedule", OPTIMIZERS[SCHEDULED].minidl,
                        minidl_schedule(name, kwargs), epochs, lr)

    def rates(who):
        return last_rates(ask(who), what)

    expected = torch_schedule(ctx.ref, name, case, epochs, lr)
    reply = ask(ctx.student)
    got = last_rates(reply, what)
    if not is_close(got, expected, **SCHEDULE_TOLERANCE):
        explanation = ctx.explain(rates, got, matches=same_rates)
        if explanation is not None:
            raise Fail(f"{what}: the learning rates are wrong: {explanation}", explained=True)
        raise Fail(f"{what}: {schedule_difference(got, expected, kwargs.get('milestones', ()))}")
    if any(isinstance(v, bool) or not isinstance(v, float) for v in reply["opt_lr"]) \
            or not is_close(np.array(reply["opt_lr"]), expected, **SCHEDULE_TOLERANCE):
        raise Fail(f"{what}: get_last_lr() is right but the optimizer's lr is not: each step "
                   f"must set optimizer.lr, which the optimizer uses")


def last_rates(reply, what):
    """The rates get_last_lr() gave (each a one-element list holding a number), or Fail."""
    rates = []
    for value in reply["last_lr"]:
        if isinstance(value, (list, tuple)) and len(value) == 1:
            value = value[0]
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise Fail(f"{what}: get_last_lr() must return a one-element list holding a "
                       f"float, got {value!r}")
        rates.append(value)
    return np.array(rates, dtype=np.float64)


def same_rates(got, candidate):
    return is_close(got, candidate, **SCHEDULE_TOLERANCE)


def schedule_difference(got, expected, milestones):
    """The first epoch where the rates leave torch's, with the rates around it."""
    k = int(np.argmax(~np.isclose(got, expected, **SCHEDULE_TOLERANCE)))
    shown = ", ".join(f"{v:.4g}" for v in got[max(0, k - 2):k + 3])
    right = ", ".join(f"{v:.4g}" for v in expected[max(0, k - 2):k + 3])
    note = (f"; epoch {k} is a milestone: there the next scheduler restarts, the lr goes back "
            f"to its base value and the scheduler takes its initial step again (its own "
            f"epoch 0)" if k in milestones else "")
    return (f"get_last_lr() first differs from torch at epoch {k} (0 is right after "
            f"construction): epochs {max(0, k - 2)} to {k + 2} give [{shown}], expected "
            f"[{right}]{note}")


class Batches(NamedTuple):
    """What a loader yielded: each epoch's batches as the sample indices they hold."""

    what: str
    indices: list
    ask: object  # the question asked, of a Student: the same indices
    X_and_y: tuple


def expect_batches(ctx, n, batch_size, epochs, X_and_y=None, **kwargs):
    """The student's DataLoader over ``n`` samples, run for ``epochs`` epochs: its batches
    must be matching rows of X and y of the right sizes, and len(loader) their number."""
    X, y = X_and_y or loader_data(n, ctx.rng)
    shown = "".join(f", {key}={value!r}" for key, value in kwargs.items())
    what = f"DataLoader(X, y, batch_size={batch_size}{shown}) on {n} samples"

    def ask(who):
        return who.call(f"{PROBE}.run_loader", X, y, batch_size, epochs, kwargs)

    def indices(who):
        return batch_indices(ask(who), X, y, what)

    def sizes(who):
        return [[len(batch) for batch in epoch] for epoch in indices(who)]

    reply = ask(ctx.student)
    got = batch_indices(reply, X, y, what)
    expected = expected_sizes(n, batch_size, kwargs.get("drop_last", False))
    got_sizes = [[len(batch) for batch in epoch] for epoch in got]
    for epoch_sizes in got_sizes:
        if epoch_sizes != expected:
            ctx.fail(f"{what}: the batch sizes of an epoch are {epoch_sizes}, expected "
                     f"{expected}", sizes, got_sizes)
    if reply["len"] != len(expected):
        ctx.fail(f"{what}: len(loader) is {reply['len']}, but an epoch has {len(expected)} "
                 f"batches", lambda who: ask(who)["len"], reply["len"])
    return Batches(what, got, indices, (X, y))


def batch_indices(reply, X, y, what):
    """Each epoch's batches as the indices of their samples, or Fail when a batch is not
    rows of X with the matching labels."""
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
            if not np.array_equal(xb, X[np.clip(index, 0, len(X) - 1)]):
                raise Fail(f"{what}: the rows of X_batch are not rows of X")
            if not np.array_equal(yb, y[index]):
                raise Fail(f"{what}: X_batch and y_batch do not match: take both with the "
                           f"same indices, X[batch] and y[batch]")
            indices.append(index)
        result.append(indices)
    return result


def expected_sizes(n, batch_size, drop_last):
    full, rest = divmod(n, batch_size)
    return [batch_size] * full + ([rest] if rest and not drop_last else [])


def both_repeat_samples(got, candidate):
    """Whether two loaders' epochs (random draws) both repeat samples within an epoch."""
    def repeats(epochs):
        return any(len(np.unique(np.concatenate(epoch))) < sum(map(len, epoch))
                   for epoch in epochs if epoch)

    return repeats(got) and repeats(candidate)


# ================================================================ inputs

def loader_data(n, rng):
    """Samples whose first feature is their index, and labels 1000 + index."""
    X = np.column_stack([np.arange(n, dtype=np.float64), rng.standard_normal(n)])
    return X, 1000 + np.arange(n)


# ================================================================ PyTorch references

@cached
def torch_trajectory(ref, name, case, params, grads, lrs=None):
    """Every parameter after every step of torch.optim's ``name`` with ``case``."""
    rule = OPTIMIZERS[name]
    tensors = [ref.tensor(p, requires_grad=True) for p in params]
    optimizer = build(rule.torch, tensors, foreach=False, **rule.cases[case], **rule.torch_only)
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


@cached
def torch_schedule(ref, name, case, epochs, lr):
    """get_last_lr()[0] after construction and after every step, with torch."""
    optimizer = build(OPTIMIZERS[SCHEDULED].torch, [torch.zeros(1, requires_grad=True)], lr=lr)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch's notes on the order of step() calls
        scheduler = torch_schedule_of(optimizer, name, SCHEDULERS[name].cases[case])
        values = [scheduler.get_last_lr()[0]]
        for _ in range(epochs):
            optimizer.step()
            scheduler.step()
            values.append(scheduler.get_last_lr()[0])
    return np.array(values, dtype=np.float64)
