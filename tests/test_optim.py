"""minidl.optim and minidl.data (the reference) against torch.optim, step for step."""
import warnings

import numpy as np
import pytest
import torch

from minidl import optim
from minidl.autograd import Tensor
from minidl.data import DataLoader
from minidl.optim import lr_scheduler

STEPS = 100

OPTIMIZERS = [
    ("SGD", {"lr": 0.1}),
    ("SGD", {"lr": 0.05, "momentum": 0.9}),
    ("SGD", {"lr": 0.05, "momentum": 0.8, "nesterov": True}),
    ("SGD", {"lr": 0.05, "momentum": 0.9, "weight_decay": 0.1}),
    ("SGD", {"lr": 0.05, "momentum": 0.9, "nesterov": True, "weight_decay": 0.1}),
    ("Adagrad", {}),
    ("Adagrad", {"lr": 0.3, "eps": 0.1, "weight_decay": 0.05}),
    ("RMSprop", {}),
    ("RMSprop", {"lr": 0.01, "alpha": 0.9, "eps": 0.1, "momentum": 0.9}),
    ("Adam", {}),
    ("Adam", {"lr": 0.05, "betas": (0.8, 0.9), "eps": 0.1, "weight_decay": 0.1}),
    ("AdamW", {}),
    ("AdamW", {"lr": 0.05, "betas": (0.5, 0.7), "eps": 1e-3, "weight_decay": 0.2}),
]


def run_both(name, kwargs, params, grads, lrs=None, rtol=1e-12, atol=1e-14):
    ours = [Tensor(p, requires_grad=True) for p in params]
    theirs = [torch.tensor(p, requires_grad=True) for p in params]
    opt = getattr(optim, name)(ours, **kwargs)
    reference = getattr(torch.optim, name)(theirs, **kwargs)
    for k, step_grads in enumerate(grads):
        if lrs is not None:
            opt.lr = lrs[k]
            reference.param_groups[0]["lr"] = lrs[k]
        for mine, torch_param, g in zip(ours, theirs, step_grads, strict=True):
            mine.grad = None if g is None else g.copy()
            torch_param.grad = None if g is None else torch.tensor(g)
        opt.step()
        reference.step()
        for mine, torch_param in zip(ours, theirs, strict=True):
            np.testing.assert_allclose(mine.data, torch_param.detach().numpy(), rtol=rtol,
                                       atol=atol, err_msg=f"{name} {kwargs} step {k + 1}")
    return opt


@pytest.mark.parametrize(("name", "kwargs"), OPTIMIZERS,
                         ids=[f"{n}-{'-'.join(k)}" for n, k in OPTIMIZERS])
def test_optimizer_follows_torch_step_for_step(name, kwargs):
    rng = np.random.default_rng(0)
    params = [rng.standard_normal((3, 4)), rng.standard_normal(5), rng.standard_normal(())]
    grads = [[rng.standard_normal(p.shape) for p in params] for _ in range(STEPS)]
    # Some parameters have no gradient at some steps: they are skipped (state untouched).
    for k in range(0, STEPS, 7):
        grads[k][1] = None
    run_both(name, kwargs, params, grads)


@pytest.mark.parametrize(("name", "kwargs"), OPTIMIZERS,
                         ids=[f"{n}-{'-'.join(k)}" for n, k in OPTIMIZERS])
def test_optimizer_keeps_float32_parameters_float32(name, kwargs):
    rng = np.random.default_rng(1)
    params = [rng.standard_normal((3, 4)).astype(np.float32), np.ones(5, np.float32)]
    grads = [[rng.standard_normal(p.shape).astype(np.float32) for p in params]
             for _ in range(20)]
    opt = run_both(name, kwargs, params, grads, rtol=1e-4, atol=1e-5)  # torch in float32
    for param in opt.params:
        assert param.data.dtype == np.float32
        for key, value in opt.state[param].items():
            assert not isinstance(value, np.ndarray) or value.dtype == np.float32, key


@pytest.mark.parametrize(("name", "kwargs"), OPTIMIZERS,
                         ids=[f"{n}-{'-'.join(k)}" for n, k in OPTIMIZERS])
def test_step_updates_its_state_in_place_and_leaves_the_gradient_alone(name, kwargs):
    rng = np.random.default_rng(2)
    param = Tensor(rng.standard_normal((3, 4)), requires_grad=True)
    opt = getattr(optim, name)([param], **kwargs)
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


@pytest.mark.parametrize("name", ["SGD", "Adam", "RMSprop"])
def test_learning_rate_is_read_at_every_step(name):
    rng = np.random.default_rng(1)
    params = [rng.standard_normal((2, 3))]
    grads = [[rng.standard_normal((2, 3))] for _ in range(30)]
    kwargs = {"lr": 0.1, "momentum": 0.9} if name != "Adam" else {"lr": 0.1}
    run_both(name, kwargs, params, grads, lrs=np.linspace(0.1, 0.001, 30))


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

def torch_schedule(build, steps, lr):
    param = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([param], lr=lr)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        scheduler = build(torch.optim.lr_scheduler, opt)
        values = [scheduler.get_last_lr()[0]]
        for _ in range(steps):
            opt.step()
            scheduler.step()
            values.append(scheduler.get_last_lr()[0])
    return np.array(values)


def our_schedule(build, steps, lr):
    opt = optim.SGD([Tensor(np.zeros(1), requires_grad=True)], lr=lr)
    scheduler = build(lr_scheduler, opt)
    values, lrs = [scheduler.get_last_lr()[0]], [opt.lr]
    for _ in range(steps):
        opt.step()
        scheduler.step()
        values.append(scheduler.get_last_lr()[0])
        lrs.append(opt.lr)
    assert values == lrs  # the optimizer uses what get_last_lr reports
    return np.array(values)


SCHEDULES = {
    "step": lambda m, o: m.StepLR(o, step_size=7, gamma=0.5),
    "step-default": lambda m, o: m.StepLR(o, 3),
    "linear": lambda m, o: m.LinearLR(o, start_factor=0.1, total_iters=10),
    "linear-default": lambda m, o: m.LinearLR(o),
    "linear-decay": lambda m, o: m.LinearLR(o, start_factor=1.0, end_factor=0.2,
                                            total_iters=13),
    "cosine": lambda m, o: m.CosineAnnealingLR(o, T_max=20, eta_min=0.001),
    "cosine-short": lambda m, o: m.CosineAnnealingLR(o, T_max=1),
    "cosine-7": lambda m, o: m.CosineAnnealingLR(o, T_max=7),
    "warmup-cosine": lambda m, o: m.SequentialLR(
        o, [m.LinearLR(o, start_factor=0.01, total_iters=5),
            m.CosineAnnealingLR(o, T_max=30, eta_min=1e-4)], milestones=[5]),
    "three": lambda m, o: m.SequentialLR(
        o, [m.LinearLR(o, start_factor=0.2, total_iters=4), m.StepLR(o, 5, 0.5),
            m.CosineAnnealingLR(o, T_max=10)], milestones=[6, 20]),
    "cosine-first": lambda m, o: m.SequentialLR(
        o, [m.CosineAnnealingLR(o, T_max=10), m.LinearLR(o, 0.5, total_iters=3)],
        milestones=[12]),
}


@pytest.mark.parametrize("name", sorted(SCHEDULES))
def test_scheduler_matches_torch(name):
    expected = torch_schedule(SCHEDULES[name], 60, 0.3)
    got = our_schedule(SCHEDULES[name], 60, 0.3)
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-15)


def test_lr_scheduler_is_a_submodule():
    import importlib

    module = importlib.import_module("minidl.optim.lr_scheduler")
    assert module is lr_scheduler and module.StepLR is optim.StepLR


@pytest.mark.parametrize(("make", "message"), [
    (lambda m, o: m.StepLR(o, 0), "step_size must be an integer"),
    (lambda m, o: m.StepLR(o, 2.5), "step_size must be an integer"),
    (lambda m, o: m.LinearLR(o, start_factor=0.0), "start_factor must lie in"),
    (lambda m, o: m.LinearLR(o, end_factor=1.5), "end_factor must lie in"),
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
    ((np.zeros((5, 2)), np.zeros(5), 0), "batch_size must be a positive integer"),
    ((np.zeros((5, 2)), np.zeros(5), 2.0), "batch_size must be a positive integer"),
    ((np.float64(3.0), np.zeros(5), 2), "one entry per sample"),
])
def test_dataloader_bad_input(args, message):
    with pytest.raises(ValueError, match=message):
        DataLoader(*args)
