"""Probes for a5_optim, run in the process of the student's code (see ``__init__``).

An optimizer run crosses the process boundary as plain data: the initial parameters (a list
of arrays), the gradient of every parameter at every step (an array, or None for "no
gradient this step"), and optionally the learning rate to set before each step.
``run_optimizer`` makes ``Tensor`` leaves, runs the student's optimizer over the gradients
and returns the parameter trajectories; the grader runs ``torch.optim`` on the same.
``run_schedule`` builds a schedule and returns its ``get_last_lr()`` and the optimizer's
``lr`` after every step; ``run_loader`` returns what a ``DataLoader`` yields, epoch by epoch.
"""
import numpy as np


def _plain(value):
    if value is None or isinstance(value, (np.ndarray, int, float, bool, np.generic)):
        return value
    return f"<{type(value).__name__}>"


def run_optimizer(name, kwargs, params, grads, lrs=None, zero_grad=False):
    """``{"trajectory": [array (steps + 1, *shape) per parameter], "grads_after": [...]}``.

    ``grads[k][j]`` is parameter j's gradient before step k + 1. With ``lrs``, ``opt.lr`` is
    set to ``lrs[k]`` before step k + 1. With ``zero_grad``, ``opt.zero_grad()`` runs after
    the last step and ``grads_after`` reports what the gradients became.
    """
    from minidl import optim
    from minidl.autograd import Tensor

    if "betas" in kwargs:
        kwargs = {**kwargs, "betas": tuple(kwargs["betas"])}
    tensors = [Tensor(np.asarray(p, dtype=np.float64), requires_grad=True) for p in params]
    optimizer = getattr(optim, name)(tensors, **kwargs)
    path = [[np.array(t.data, dtype=np.float64)] for t in tensors]
    for k, step_grads in enumerate(grads):
        if lrs is not None:
            optimizer.lr = float(lrs[k])
        for tensor, grad in zip(tensors, step_grads, strict=True):
            tensor.grad = None if grad is None else np.array(grad, dtype=np.float64)
        optimizer.step()
        for record, tensor in zip(path, tensors, strict=True):
            data = np.asarray(tensor.data, dtype=np.float64)
            if data.shape != record[0].shape:
                return {"error": f"a parameter of shape {record[0].shape} has shape "
                                 f"{data.shape} after step {k + 1}"}
            record.append(np.array(data))
    reply = {"trajectory": [np.stack(record) for record in path]}
    if zero_grad:
        optimizer.zero_grad()
        reply["grads_after"] = [_plain(t.grad) for t in tensors]
    return reply


def _build_schedule(lr_scheduler, optimizer, spec):
    name, kwargs = spec["name"], spec.get("kwargs", {})
    if name == "SequentialLR":
        schedulers = [_build_schedule(lr_scheduler, optimizer, s) for s in spec["schedulers"]]
        return lr_scheduler.SequentialLR(optimizer, schedulers,
                                         milestones=list(spec["milestones"]))
    return getattr(lr_scheduler, name)(optimizer, **kwargs)


def run_schedule(spec, steps, lr):
    """``{"last_lr": [...], "opt_lr": [...]}`` after construction and after every step."""
    import minidl.optim as optim
    from minidl.autograd import Tensor
    from minidl.optim import lr_scheduler

    optimizer = optim.SGD([Tensor(np.zeros(1), requires_grad=True)], lr=lr)
    scheduler = _build_schedule(lr_scheduler, optimizer, spec)
    last, current = [], []

    def record():
        value = scheduler.get_last_lr()
        if isinstance(value, (list, tuple)) and len(value) == 1:
            value = value[0]
        last.append(value if isinstance(value, (int, float, np.generic)) else _plain(value))
        current.append(_plain(optimizer.lr))

    record()
    for _ in range(steps):
        optimizer.step()  # no gradients: nothing to update, as a training loop's order
        scheduler.step()
        record()
    return {"last_lr": last, "opt_lr": current}


def run_loader(X, y, batch_size, epochs, kwargs):
    """``{"len": len(loader), "epochs": [[[Xb, yb], ...] per epoch]}`` for one loader."""
    from minidl.data import DataLoader

    loader = DataLoader(X, y, batch_size, **kwargs)
    result = []
    for _ in range(epochs):
        batches = []
        for count, batch in enumerate(loader):
            if count > len(X) + 5:
                return {"error": "the loader yields more batches than there are samples: "
                                 "does __iter__ ever stop?"}
            if not isinstance(batch, (tuple, list)) or len(batch) != 2:
                return {"error": f"the loader must yield pairs (X_batch, y_batch), got "
                                 f"{type(batch).__name__}"}
            batches.append([_plain(np.asarray(batch[0])), _plain(np.asarray(batch[1]))])
        result.append(batches)
    return {"len": _plain(len(loader)), "epochs": result}
