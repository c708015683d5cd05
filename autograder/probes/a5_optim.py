"""Probes for a5_optim, run in the process of the student's code (see ``__init__``).

They run one scenario of the vocabulary of ``autograder.checks.a5_optim`` on the student's
``minidl``; the request names the minidl class to build (``"minidl.optim.SGD"``) and its
keyword arguments, so nothing here needs to know which optimizers there are.

An optimizer run crosses the process boundary as plain data: the initial parameters (a list
of arrays), the gradient of every parameter at every step (an array, or None for "no
gradient this step"), and optionally the learning rate to set before each step.
``run_optimizer`` sends back every parameter after every step; ``run_schedule`` the
schedule's ``get_last_lr()`` and the optimizer's ``lr`` after every step; ``run_loader`` what
a ``DataLoader`` yields, epoch by epoch. The grader checks the shapes and types.
"""
import importlib

import numpy as np

from autograder.probes import Unusable, plain


def build(target, *args, **kwargs):
    """``target(*args, **kwargs)``, ``target`` a class named like ``"minidl.optim.SGD"``."""
    module, _, name = target.rpartition(".")
    return getattr(importlib.import_module(module), name)(*args, **kwargs)


def run_optimizer(target, kwargs, params, grads, lrs=None, zero_grad=False):
    """``{"trajectory": [[parameter j after step 0, 1, ...] for each j], "grads_after": [...]}``.

    ``grads[k][j]`` is parameter j's gradient before step k + 1. With ``lrs``, ``opt.lr`` is
    set to ``lrs[k]`` before step k + 1. With ``zero_grad``, ``opt.zero_grad()`` runs after
    the last step and ``grads_after`` holds what the gradients became.
    """
    from minidl.autograd import Tensor

    tensors = [Tensor(np.asarray(p, dtype=np.float64), requires_grad=True) for p in params]
    optimizer = build(target, tensors, **kwargs)
    path = [[np.array(t.data, dtype=np.float64)] for t in tensors]
    for k, step_grads in enumerate(grads):
        if lrs is not None:
            optimizer.lr = float(lrs[k])
        for tensor, grad in zip(tensors, step_grads, strict=True):
            tensor.grad = None if grad is None else np.array(grad, dtype=np.float64)
        optimizer.step()
        for record, tensor in zip(path, tensors, strict=True):
            record.append(plain(np.array(tensor.data), f"a parameter's data after step {k + 1}"))
    reply = {"trajectory": path}
    if zero_grad:
        optimizer.zero_grad()
        reply["grads_after"] = [plain(t.grad, "a parameter's .grad after zero_grad()")
                                for t in tensors]
    return reply


def build_schedule(optimizer, spec):
    """The scheduler ``spec`` describes: ``{"target": class, "kwargs": {...}}``, where a
    ``"schedulers"`` argument holds the specs of the schedulers it runs (SequentialLR)."""
    kwargs = dict(spec["kwargs"])
    if "schedulers" in kwargs:
        kwargs["schedulers"] = [build_schedule(optimizer, inner) for inner in kwargs["schedulers"]]
    return build(spec["target"], optimizer, **kwargs)


def run_schedule(optimizer_target, spec, steps, lr):
    """``{"last_lr": [...], "opt_lr": [...]}`` after construction and after every step."""
    from minidl.autograd import Tensor

    optimizer = build(optimizer_target, [Tensor(np.zeros(1), requires_grad=True)], lr=lr)
    scheduler = build_schedule(optimizer, spec)
    last, current = [], []
    for epoch in range(steps + 1):
        if epoch:
            optimizer.step()  # no gradients: nothing to update, as a training loop's order
            scheduler.step()
        last.append(plain(scheduler.get_last_lr(), f"get_last_lr() at epoch {epoch}"))
        current.append(plain(optimizer.lr, f"the optimizer's lr at epoch {epoch}"))
    return {"last_lr": last, "opt_lr": current}


def run_loader(X, y, batch_size, epochs, kwargs):
    """``{"len": len(loader), "epochs": [[[Xb, yb], ...] per epoch]}`` for one loader."""
    from minidl.data import DataLoader

    loader = DataLoader(X, y, batch_size, **kwargs)
    result = []
    for _ in range(epochs):
        batches = []
        for batch in loader:
            if len(batches) > len(X) + 5:
                raise RuntimeError("the loader yields more batches than there are samples: "
                                   "does __iter__ ever stop?")
            if not isinstance(batch, (tuple, list)) or len(batch) != 2:
                raise Unusable(f"the loader must yield pairs (X_batch, y_batch), got "
                                f"{type(batch).__name__}")
            batches.append([plain(np.asarray(batch[0]), "X_batch"),
                            plain(np.asarray(batch[1]), "y_batch")])
        result.append(batches)
    return {"len": plain(len(loader), "len(loader)"), "epochs": result}
