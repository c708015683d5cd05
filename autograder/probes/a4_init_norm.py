"""Probes for a4_init_norm, run in the process of the student's code (see ``__init__``).

A network crosses the process boundary as plain data, a *spec*, a nested list::

    ["Sequential", [["Linear", 4, 3, {"bias": True}], ["BatchNorm1d", 3, {}], ["ReLU"],
                    ["Residual", ["Sequential", [["Linear", 3, 3, {}], ["Tanh"]]]],
                    ["LayerNorm", 3, {"eps": 1e-5}], ["Dropout", 0.5, {"rng": 0}]]]

``run_module`` builds it with the student's ``minidl.nn``, sets its parameters and buffers,
runs forward and backward passes and returns plain arrays; the grader builds the same
network in PyTorch. Parameters, gradients and buffers are read and written here by walking
the module's attributes (``weight``, ``bias``, ``running_mean``, ``running_var``, the
children), so a check of one method does not depend on the student's other methods:
only the parts about ``named_parameters``, ``train``, ``state_dict`` and so on call them.
"""
import numpy as np


def _nn():
    from minidl import nn

    return nn


def _tensor_class():
    from minidl.autograd import Tensor

    return Tensor


def build(spec):
    """The student's module for ``spec``."""
    nn = _nn()
    kind, *args = spec
    if kind == "Sequential":
        return nn.Sequential(*[build(child) for child in args[0]])
    if kind == "Residual":
        return nn.Residual(build(args[0]))
    if kind in ("ReLU", "Sigmoid", "Tanh"):
        return getattr(nn, kind)()
    if kind == "Linear":
        return nn.Linear(args[0], args[1], **args[2])
    if kind in ("BatchNorm1d", "LayerNorm", "Dropout"):
        return getattr(nn, kind)(args[0], **args[1])
    raise ValueError(f"unknown module {kind!r}")


# ---------------------------------------------------------------- walking a module


def _children(module):
    nn = _nn()
    return [(name, value) for name, value in vars(module).items()
            if isinstance(value, nn.Module)]


def walk_parameters(module, prefix=""):
    """``{dotted name: Tensor}`` of every attribute that is a Tensor requiring a gradient."""
    Tensor = _tensor_class()
    found = {prefix + name: value for name, value in vars(module).items()
             if isinstance(value, Tensor) and value.requires_grad}
    for name, child in _children(module):
        found.update(walk_parameters(child, f"{prefix}{name}."))
    return found


def walk_buffers(module, prefix=""):
    """``{dotted name: array}`` of every ``running_mean`` / ``running_var`` attribute."""
    found = {prefix + name: getattr(module, name) for name in ("running_mean", "running_var")
             if isinstance(getattr(module, name, None), np.ndarray)}
    for name, child in _children(module):
        found.update(walk_buffers(child, f"{prefix}{name}."))
    return found


def _set_state(module, state):
    """Write ``state`` into the module's attributes directly (not with load_state_dict)."""
    parameters, buffers = walk_parameters(module), walk_buffers(module)
    for name, value in state.items():
        if name in parameters:
            parameters[name].data = np.array(value, dtype=np.float64)
        elif name in buffers:
            buffers[name][...] = value
        else:
            raise ValueError(f"the module has no parameter or buffer {name!r} (found "
                             f"{sorted(parameters) + sorted(buffers)})")


def _set_mode(module, training):
    module.training = training
    for _, child in _children(module):
        _set_mode(child, training)


def _plain(value):
    if value is None or isinstance(value, (np.ndarray, int, float, bool, np.generic)):
        return value
    return f"<{type(value).__name__}>"


def _data(value):
    """``value.data`` of a Tensor, or a description of what came instead."""
    if isinstance(value, _tensor_class()):
        return value.data
    return f"<{type(value).__name__}>"


# ---------------------------------------------------------------- running modules


def run_module(spec, xs, douts=None, state=None, mode="train", load="direct"):
    """Build ``spec``, set ``state`` (``load="direct"`` writes the attributes,
    ``"load_state_dict"`` calls the student's method), set the mode on every module
    (``"train"`` / ``"eval"``), then for each batch ``xs[k]``: forward, and
    ``backward(douts[k])`` when given.

    Returns ``{"outputs", "input_grads", "grads", "buffers"}``: each step's output and input
    gradient, each step's ``{name: grad}`` of the parameters (reset to None after each
    step, by the probe), and the buffers after the last step.
    """
    Tensor = _tensor_class()
    module = build(spec)
    if state is not None:
        if load == "load_state_dict":
            module.load_state_dict({k: np.array(v) for k, v in state.items()})
        else:
            _set_state(module, state)
    _set_mode(module, mode == "train")
    parameters = walk_parameters(module)
    reply = {"outputs": [], "input_grads": [], "grads": []}
    for step, x in enumerate(xs):
        leaf = Tensor(x, requires_grad=True)
        out = module(leaf)
        reply["outputs"].append(_data(out))
        if douts is not None:
            if not isinstance(out, Tensor):
                reply["input_grads"].append(None)
                reply["grads"].append({})
                continue
            out.backward(np.asarray(douts[step]))
            reply["input_grads"].append(_plain(leaf.grad))
            reply["grads"].append({name: _plain(p.grad) for name, p in parameters.items()})
            for p in parameters.values():
                p.grad = None
    reply["buffers"] = {name: np.array(value) for name, value in walk_buffers(module).items()}
    return reply


def forward_error(spec, x, mode="train"):
    """The type and message of the exception that a forward pass raises ("" if none)."""
    module = build(spec)
    _set_mode(module, mode == "train")
    try:
        module(_tensor_class()(x))
    except NotImplementedError:
        raise  # not written yet: the part fails as not implemented
    except Exception as error:  # noqa: BLE001 -- the type is the answer
        return [type(error).__name__, str(error)]
    return ["", ""]


def linear_draws(in_features, out_features, seeds):
    """The initial weight and bias of ``Linear(in, out, rng=seed)`` for each seed, read
    from the attributes; with a seed of -1, ``rng=None``."""
    nn = _nn()
    draws = []
    for seed in seeds:
        layer = nn.Linear(in_features, out_features, rng=None if seed < 0 else seed)
        bias = getattr(layer, "bias", None)
        draws.append({"weight": _data(getattr(layer, "weight", None)),
                      "bias": None if bias is None else _data(bias)})
    return draws


# ---------------------------------------------------------------- Module methods


def named_parameters(spec, state):
    """The student's ``named_parameters()`` names, whether each Tensor is the module's own
    (not a copy), and how many Tensors ``parameters()`` gives."""
    module = build(spec)
    _set_state(module, state)
    walked = walk_parameters(module)
    named = list(module.named_parameters())
    return {"names": [str(name) for name, _ in named],
            "same_objects": [bool(any(t is w for w in walked.values())) for _, t in named],
            "n_parameters": len(list(module.parameters()))}


def modes(spec):
    """``.training`` of every module after the student's ``eval()``, ``train()`` and
    ``train(False)``, and whether ``eval()`` returns the module."""
    module = build(spec)
    returned = module.eval()
    reply = {"eval_returns_self": returned is module, "eval_modes": _modes(module)}
    module.train()
    reply["train_modes"] = _modes(module)
    module.train(False)
    reply["train_false_modes"] = _modes(module)
    return reply


def zero_grad(spec):
    """The parameters' ``.grad`` after the student's ``zero_grad()`` (each was set to an
    array of ones first, by the probe)."""
    module = build(spec)
    walked = walk_parameters(module)
    for p in walked.values():
        p.grad = np.ones(p.data.shape)
    module.zero_grad()
    return {"names": list(walked), "grads_after": [_plain(p.grad) for p in walked.values()]}


def _modes(module, prefix=""):
    modes = {prefix or "(root)": bool(getattr(module, "training", None))}
    for name, child in _children(module):
        modes.update(_modes(child, f"{prefix}{name}."))
    return modes


def state_dict_round_trip(spec, state):
    """``state_dict()`` of the module after ``state`` was written into it, whether its
    arrays are copies, the state of a fresh module after ``load_state_dict`` of it, and
    what ``load_state_dict`` does with bad states."""
    module = build(spec)
    _set_state(module, state)
    saved = module.state_dict()
    reply = {"keys": [str(k) for k in saved] if isinstance(saved, dict) else None,
             "values": {str(k): _plain(np.array(v) if isinstance(v, np.ndarray) else v)
                        for k, v in saved.items()}
             if isinstance(saved, dict) else _plain(saved)}
    if not isinstance(saved, dict):
        return reply
    # Are they copies? Change the module, and see whether the saved arrays move.
    before = {k: np.array(v) for k, v in saved.items() if isinstance(v, np.ndarray)}
    for p in walk_parameters(module).values():
        p.data += 1.0
    for b in walk_buffers(module).values():
        b += 1.0
    reply["copies"] = all(np.array_equal(saved[k], v) for k, v in before.items())
    fresh = build(spec)
    reply["load_error"] = ""
    try:
        fresh.load_state_dict({k: np.array(v) for k, v in before.items()})
    except NotImplementedError:
        raise
    except Exception as error:  # noqa: BLE001 -- reported, judged by the grader
        reply["load_error"] = f"{type(error).__name__}: {error}"
    loaded = {name: p.data.copy() for name, p in walk_parameters(fresh).items()}
    loaded.update({name: np.array(b) for name, b in walk_buffers(fresh).items()})
    reply["loaded"] = loaded
    errors = {}
    first = next(iter(before))
    for label, bad in (("missing", {k: v for k, v in before.items() if k != first}),
                       ("unexpected", {**before, "extra.weight": np.zeros(2)}),
                       ("shape", {**before, first: np.zeros(before[first].shape + (2,))})):
        try:
            build(spec).load_state_dict(bad)
            errors[label] = ["", ""]
        except Exception as error:  # noqa: BLE001 -- the type and message are the answer
            errors[label] = [type(error).__name__, str(error)]
    reply["errors"] = errors
    return reply


# ---------------------------------------------------------------- dropout


def dropout(p, x, rng=0, calls=1, mode="train"):
    """Outputs and input gradients (backward of ones) of ``calls`` calls of one
    ``Dropout(p, rng=rng)`` module on ``x``."""
    nn = _nn()
    Tensor = _tensor_class()
    module = nn.Dropout(p, rng=rng)
    _set_mode(module, mode == "train")
    reply = {"outputs": [], "grads": []}
    for _ in range(calls):
        leaf = Tensor(x, requires_grad=True)
        out = module(leaf)
        reply["outputs"].append(_data(out))
        if isinstance(out, Tensor) and out.requires_grad:
            out.backward(np.ones(out.shape))
        reply["grads"].append(_plain(leaf.grad))
    return reply


# ---------------------------------------------------------------- init


def init_draw(name, args, kwargs, rng=None):
    """``minidl.init.<name>(*args, rng=..., **kwargs)``; ``rng`` an int seed, None, or
    ``"generator:SEED"`` for a Generator (then two draws from it are returned)."""
    from minidl import init

    function = getattr(init, name)
    if isinstance(rng, str) and rng.startswith("generator:"):
        generator = np.random.default_rng(int(rng.split(":")[1]))
        return [_plain(function(*args, rng=generator, **kwargs)),
                _plain(function(*args, rng=generator, **kwargs))]
    return _plain(function(*args, rng=rng, **kwargs))


def gains(names):
    from minidl import init

    return [_plain(init.calculate_gain(name)) for name in names]


# ---------------------------------------------------------------- functional batch norm


def batchnorm(x, gamma, beta, bn_param, douts=None, steps=1, xs=None):
    """``batchnorm_forward`` (and ``batchnorm_backward`` of ``douts[k]``) on ``xs[k]`` (or
    ``x`` repeated) for ``steps`` steps with one ``bn_param`` dict, which is returned too."""
    from minidl import layers

    bn_param = {k: (np.array(v) if isinstance(v, np.ndarray) else v)
                for k, v in bn_param.items()}
    reply = {"outputs": [], "grads": [], "problem": ""}
    for step in range(steps):
        batch = x if xs is None else xs[step]
        result = layers.batchnorm_forward(np.array(batch), np.array(gamma), np.array(beta),
                                          bn_param)
        if not isinstance(result, (tuple, list)) or len(result) != 2:
            reply["problem"] = "batchnorm_forward must return a tuple (out, cache)"
            return reply
        out, cache = result
        reply["outputs"].append(_plain(out))
        if douts is not None:
            grads = layers.batchnorm_backward(np.array(douts[step]), cache)
            reply["grads"].append(tuple(_plain(g) for g in grads)
                                  if isinstance(grads, (tuple, list)) else _plain(grads))
    reply["bn_param"] = {k: _plain(v) for k, v in bn_param.items()}
    return reply
