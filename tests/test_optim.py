"""minidl.optim and minidl.data (the reference) against torch.optim, step for step.

The optimizers and schedules, and their hyperparameter cases, are the grader's vocabulary
(``autograder.checks.a5_optim``): every case it grades with is checked here on the reference,
against PyTorch run the way the grader runs it.
"""
from pathlib import Path

import numpy as np
import pytest
import torch

from autograder.checks.a5_optim import (
    OPTIMIZERS,
    SCHEDULED,
    SCHEDULERS,
    minidl_schedule,
    random_run,
    torch_schedule,
    torch_trajectory,
)
from autograder.probes.a5_optim import build, run_optimizer, run_schedule
from autograder.reference import Reference
from minidl import optim
from minidl.autograd import Tensor
from minidl.data import DataLoader
from minidl.optim import lr_scheduler

REF = Reference("cpu")
OPTIMIZER_CASES = [(name, case) for name, rule in OPTIMIZERS.items() for case in rule.cases]
SCHEDULE_CASES = [(name, case) for name, rule in SCHEDULERS.items() for case in rule.cases]


def trajectories(name, case, run):
    """(the reference's, torch's) parameters after every step of ``run``."""
    ours = run_optimizer(OPTIMIZERS[name].minidl, OPTIMIZERS[name].cases[case], run.params,
                         run.grads, lrs=run.lrs)["trajectory"]
    return [np.stack(path) for path in ours], torch_trajectory(REF, name, case, run.params,
                                                               run.grads, run.lrs)


@pytest.mark.parametrize(("name", "case"), OPTIMIZER_CASES)
def test_optimizer_follows_torch_step_for_step(name, case):
    # Some parameters have no gradient at some steps: they are skipped (state untouched).
    run = random_run(np.random.default_rng(0), skip=True, shapes=((3, 4), (5,), ()))
    for ours, theirs in zip(*trajectories(name, case, run), strict=True):
        np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_learning_rate_is_read_at_every_step(name):
    run = random_run(np.random.default_rng(1), steps=30, lrs=np.linspace(0.1, 0.001, 30))
    ours, theirs = trajectories(name, "lr changes", run)
    for mine, torch_path in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(mine, torch_path, rtol=1e-12, atol=1e-14)
    constant = random_run(np.random.default_rng(1), steps=30)
    assert not np.allclose(ours[0], trajectories(name, "lr changes", constant)[0][0])


@pytest.mark.parametrize(("name", "case"), OPTIMIZER_CASES)
def test_optimizer_keeps_float32_parameters_float32(name, case):
    rule = OPTIMIZERS[name]
    run = random_run(np.random.default_rng(1), steps=20)
    params = [Tensor(p.astype(np.float32), requires_grad=True) for p in run.params]
    opt = build(rule.minidl, params, **rule.cases[case])
    for step_grads in run.grads:
        for param, grad in zip(params, step_grads, strict=True):
            param.grad = grad.astype(np.float32)
        opt.step()
    for param, theirs in zip(params, torch_trajectory(REF, name, case, run.params, run.grads),
                             strict=True):
        assert param.data.dtype == np.float32
        np.testing.assert_allclose(param.data, theirs[-1], rtol=1e-4, atol=1e-5)
        for key, value in opt.state[param].items():
            assert not isinstance(value, np.ndarray) or value.dtype == np.float32, key


@pytest.mark.parametrize(("name", "case"), OPTIMIZER_CASES)
def test_step_updates_its_state_in_place_and_leaves_the_gradient_alone(name, case):
    rng = np.random.default_rng(2)
    param = Tensor(rng.standard_normal((3, 4)), requires_grad=True)
    opt = build(OPTIMIZERS[name].minidl, [param], **OPTIMIZERS[name].cases[case])
    param.grad = rng.standard_normal((3, 4))
    opt.step()
    arrays = {key: value for key, value in opt.state[param].items()
              if isinstance(value, np.ndarray)}
    for _ in range(3):
        grad = rng.standard_normal((3, 4))
        param.grad = grad.copy()
        data = param.data
        opt.step()
        np.testing.assert_array_equal(param.grad, grad)  # the gradient is only read
        assert param.data is data  # the parameter changes in place, as torch's
        for key, array in arrays.items():  # so do the moving averages and buffers
            assert opt.state[param][key] is array, key


def test_zero_grad_and_state():
    p = Tensor(np.ones(3), requires_grad=True)
    opt = optim.Adam([p], lr=0.1)
    assert opt.state[p] == {}
    p.grad = np.ones(3)
    opt.step()
    assert opt.state[p]["step"] == 1 and set(opt.state[p]) >= {"exp_avg", "exp_avg_sq"}
    opt.zero_grad()
    assert p.grad is None
    opt.step()  # no gradient: nothing happens
    assert opt.state[p]["step"] == 1


def test_optimizer_trains_a_small_model():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((64, 3))
    w_true = np.array([1.0, -2.0, 0.5])
    y = X @ w_true
    w = Tensor(np.zeros(3), requires_grad=True)
    opt = optim.Adam([w], lr=0.1)
    for _ in range(300):
        loss = ((Tensor(X) @ w - y) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    np.testing.assert_allclose(w.data, w_true, atol=1e-3)


@pytest.mark.parametrize(("make", "message"), [
    (lambda p: optim.SGD(p, lr=-0.1), "Invalid learning rate"),
    (lambda p: optim.SGD(p, lr=0.1, momentum=-0.5), "Invalid momentum"),
    (lambda p: optim.SGD(p, lr=0.1, nesterov=True), "Nesterov momentum requires a momentum"),
    (lambda p: optim.SGD(p, lr=0.1, weight_decay=-1), "Invalid weight_decay"),
    (lambda p: optim.SGD(p, lr=float("nan")), "Invalid learning rate"),
    (lambda p: optim.Adagrad(p, eps=-1.0), "Invalid epsilon"),
    (lambda p: optim.RMSprop(p, alpha=1.5), "Invalid alpha"),
    (lambda p: optim.Adam(p, betas=(1.0, 0.999)), "Invalid beta parameter at index 0"),
    (lambda p: optim.Adam(p, betas=(0.9, -0.1)), "Invalid beta parameter at index 1"),
    (lambda p: optim.Adam(p, betas=0.9), "betas must be a pair"),
    (lambda p: optim.AdamW(p, weight_decay=-0.01), "Invalid weight_decay"),
    (lambda p: optim.Adam([], lr=0.1), "empty parameter list"),
    (lambda p: optim.Adam(p[0], lr=0.1), "not one Tensor"),
    (lambda p: optim.Adam([np.zeros(3)], lr=0.1), "not a Tensor"),
    (lambda p: optim.Adam(p + p, lr=0.1), "more than once"),
])
def test_bad_arguments_raise_value_error(make, message):
    with pytest.raises(ValueError, match=message):
        make([Tensor(np.zeros(3), requires_grad=True)])


def test_gradient_of_the_wrong_shape_is_refused():
    p = Tensor(np.zeros(3), requires_grad=True)
    p.grad = np.zeros(4)
    with pytest.raises(ValueError, match="does not fit"):
        optim.SGD([p], lr=0.1).step()


def test_adamw_defaults_match_torch():
    p = Tensor(np.zeros(1), requires_grad=True)
    opt = optim.AdamW([p])
    defaults = torch.optim.AdamW([torch.zeros(1, requires_grad=True)]).defaults
    assert (opt.lr, opt.betas, opt.eps, opt.weight_decay) == (
        defaults["lr"], defaults["betas"], defaults["eps"], defaults["weight_decay"])


# ---------------------------------------------------------------- schedulers

@pytest.mark.parametrize(("name", "case"), SCHEDULE_CASES)
def test_scheduler_matches_torch(name, case):
    kwargs = SCHEDULERS[name].cases[case]
    ours = run_schedule(OPTIMIZERS[SCHEDULED].minidl, minidl_schedule(name, kwargs), 60, 0.3)
    assert ours["opt_lr"] == [rate for (rate,) in ours["last_lr"]]  # what the optimizer uses
    np.testing.assert_allclose(ours["opt_lr"], torch_schedule(REF, name, case, 60, 0.3),
                               rtol=1e-12, atol=1e-15)


def test_step_lr_default_gamma_is_torch_s():
    opt = optim.SGD([Tensor(np.zeros(1), requires_grad=True)], lr=0.3)
    scheduler = lr_scheduler.StepLR(opt, 3)
    rates = [scheduler.get_last_lr()[0]]
    for _ in range(6):
        scheduler.step()
        rates.append(scheduler.get_last_lr()[0])
    np.testing.assert_allclose(rates, [0.3] * 3 + [0.03] * 3 + [0.003])  # gamma = 0.1


def test_lr_scheduler_is_a_module_file_of_the_optim_package():
    import importlib

    module = importlib.import_module("minidl.optim.lr_scheduler")
    assert module is lr_scheduler is optim.lr_scheduler  # every way of importing it
    assert Path(module.__file__) == Path(optim.__file__).parent / "lr_scheduler.py"


@pytest.mark.parametrize(("make", "message"), [
    (lambda m, o: m.StepLR(o, 0), "step_size must be an integer"),
    (lambda m, o: m.StepLR(o, 2.5), "step_size must be an integer"),
    (lambda m, o: m.LinearLR(o, start_factor=0.0), "Invalid start_factor value: 0.0"),
    (lambda m, o: m.LinearLR(o, end_factor=1.5), "Invalid end_factor value: 1.5"),
    (lambda m, o: m.CosineAnnealingLR(o, T_max=0), "T_max must be an integer"),
    (lambda m, o: m.CosineAnnealingLR(o, 10, eta_min=-1.0), "Invalid eta_min"),
    (lambda m, o: m.SequentialLR(o, [m.StepLR(o, 2)], milestones=[3]), "one milestone fewer"),
    (lambda m, o: m.SequentialLR(o, [], milestones=[]), "at least one scheduler"),
    (lambda m, o: m.StepLR(None, 2), "needs an optimizer"),
])
def test_bad_scheduler_arguments_raise_value_error(make, message):
    opt = optim.SGD([Tensor(np.zeros(1), requires_grad=True)], lr=0.1)
    with pytest.raises(ValueError, match=message):
        make(lr_scheduler, opt)


def test_sequential_refuses_a_scheduler_of_another_optimizer():
    opt = optim.SGD([Tensor(np.zeros(1), requires_grad=True)], lr=0.1)
    other = optim.SGD([Tensor(np.zeros(1), requires_grad=True)], lr=0.1)
    with pytest.raises(ValueError, match="scheduler 1 \\(StepLR\\) has another one"):
        lr_scheduler.SequentialLR(opt, [lr_scheduler.StepLR(opt, 2),
                                        lr_scheduler.StepLR(other, 2)], milestones=[3])


# ---------------------------------------------------------------- DataLoader

def epoch_indices(loader):
    batches = [(xb[:, 0].astype(int), yb) for xb, yb in loader]
    for indices, yb in batches:
        np.testing.assert_array_equal(yb, 100 + indices)  # X and y rows stay together
    return [indices for indices, _ in batches]


@pytest.mark.parametrize(("n", "batch_size", "drop_last", "sizes"), [
    (10, 3, False, [3, 3, 3, 1]),
    (10, 3, True, [3, 3, 3]),
    (9, 3, False, [3, 3, 3]),
    (9, 3, True, [3, 3, 3]),
    (5, 8, False, [5]),
    (5, 8, True, []),
    (1, 1, False, [1]),
])
def test_dataloader_batches(n, batch_size, drop_last, sizes):
    X = np.arange(n)[:, None] * np.ones((1, 2))
    y = 100 + np.arange(n)
    loader = DataLoader(X, y, batch_size, seed=3, drop_last=drop_last)
    assert len(loader) == len(sizes)
    for _ in range(3):
        batches = epoch_indices(loader)
        assert [len(b) for b in batches] == sizes
        seen = np.concatenate(batches) if batches else np.array([], dtype=int)
        if not drop_last:
            assert sorted(seen) == list(range(n))  # every sample exactly once
        else:
            assert len(set(seen)) == len(seen)


def test_dataloader_shuffles_each_epoch_reproducibly():
    X, y = np.arange(50)[:, None], 100 + np.arange(50)
    first = DataLoader(X, y, 8, seed=7)
    second = DataLoader(X, y, 8, seed=np.random.default_rng(7))
    epochs = [np.concatenate(epoch_indices(first)) for _ in range(3)]
    assert not np.array_equal(epochs[0], epochs[1])
    assert not np.array_equal(epochs[0], np.arange(50))
    for epoch in epochs:
        np.testing.assert_array_equal(epoch, np.concatenate(epoch_indices(second)))
    other = np.concatenate(epoch_indices(DataLoader(X, y, 8, seed=8)))
    assert not np.array_equal(other, epochs[0])
    ordered = DataLoader(X, y, 8, shuffle=False)
    for _ in range(2):
        np.testing.assert_array_equal(np.concatenate(epoch_indices(ordered)), np.arange(50))
    via_rng = DataLoader(X, y, 8, rng=7)
    np.testing.assert_array_equal(np.concatenate(epoch_indices(via_rng)), epochs[0])


@pytest.mark.parametrize(("args", "message"), [
    ((np.zeros((5, 2)), np.zeros(4), 2), "X has 5 .*y has 4"),
    ((np.zeros((0, 2)), np.zeros(0), 2), "empty"),
    ((np.zeros((5, 2)), np.zeros(5), 0), "batch_size must be an integer >= 1"),
    ((np.zeros((5, 2)), np.zeros(5), 2.0), "batch_size must be an integer >= 1"),
    ((np.float64(3.0), np.zeros(5), 2), "one entry per sample"),
])
def test_dataloader_bad_input(args, message):
    with pytest.raises(ValueError, match=message):
        DataLoader(*args)
