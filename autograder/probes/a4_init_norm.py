"""The vocabulary of a4_init_norm, and its probes (run in the process of the student's code).

``MODULES`` declares each kind of module of ``minidl.nn`` once: its class, its PyTorch
equivalent (built with the same arguments), the parameters PyTorch stores transposed, the
keywords only minidl's class takes, and the buffers it keeps. A network is a *stack*, plain
data written with ``module``::

    module("Sequential", module("Linear", 4, 3), module("BatchNorm1d", 3), module("ReLU"),
           module("Residual", module("Sequential", module("Linear", 3, 3), module("Tanh"))),
           module("Dropout", 0.5, rng=0))

each module ``[kind, args, options]``, an argument that is a stack itself being a child.
``assemble`` builds a stack bottom up with any maker: the probes below build it with the
student's classes, the grader (``autograder.checks.a4_init_norm``) with ``torch.nn``, and
``describe`` writes it as messages show it. Nothing here imports torch.

Parameters, gradients and buffers are read and written by walking the module's attributes
(``weight``, ``bias``, the buffers, the children), so a check of one method does not depend
on the student's other methods: only the parts about ``named_parameters``, ``train``,
``state_dict`` and so on call them.

A probe returns what the student's code made through ``plain`` (names as ``str``, flags
such as ``training`` as ``bool``) and signals everything else by raising. Exception types
are returned in two places only, where the type is the answer graded: ``forward_error``
(BatchNorm1d in training mode on one sample must raise ValueError) and the ``errors`` of
``load_state_dict`` (a bad state must raise ValueError).
"""
import importlib
from typing import NamedTuple

import numpy as np

from autograder.probes import Unusable, plain


class ModuleKind(NamedTuple):
    minidl: str  # the class in the student's minidl
    torch: str | None  # its PyTorch equivalent; None where PyTorch has none (the grader's)
    transposed: tuple = ()  # parameters PyTorch stores transposed: ours is (in, out)
    minidl_only: tuple = ()  # keywords PyTorch's class does not take; messages leave them out
    buffers: tuple = ()  # arrays of the module's state that get no gradient


MODULES = {
    "Linear": ModuleKind("minidl.nn.Linear", "torch.nn.Linear", transposed=("weight",),
                         minidl_only=("rng",)),
    "ReLU": ModuleKind("minidl.nn.ReLU", "torch.nn.ReLU"),
    "Sigmoid": ModuleKind("minidl.nn.Sigmoid", "torch.nn.Sigmoid"),
    "Tanh": ModuleKind("minidl.nn.Tanh", "torch.nn.Tanh"),
    "Sequential": ModuleKind("minidl.nn.Sequential", "torch.nn.Sequential"),
    "Residual": ModuleKind("minidl.nn.Residual", None),  # x + f(x)
    "Dropout": ModuleKind("minidl.nn.Dropout", "torch.nn.Dropout", minidl_only=("rng",)),
    "BatchNorm1d": ModuleKind("minidl.nn.BatchNorm1d", "torch.nn.BatchNorm1d",
                              buffers=("running_mean", "running_var")),
    "LayerNorm": ModuleKind("minidl.nn.LayerNorm", "torch.nn.LayerNorm"),
}
BUFFERS = tuple(dict.fromkeys(name for kind in MODULES.values() for name in kind.buffers))


def module(kind, *args, **options):
    """The stack of ``minidl.nn.<kind>(*args, **options)``."""
    if kind not in MODULES:
        raise ValueError(f"unknown module {kind!r}")
    return [kind, list(args), options]


def is_stack(value):
    return isinstance(value, list) and len(value) == 3 and value[0] in MODULES


def assemble(stack, make):
    """``make(kind, args, options)`` of the stack's module, its children made first."""
    kind, args, options = stack
    return make(kind, [assemble(a, make) if is_stack(a) else a for a in args], options)


def shown_options(kind, options):
    """The options of a module of ``kind`` that PyTorch takes too (and messages show)."""
    return {key: value for key, value in options.items()
            if key not in MODULES[kind].minidl_only}


def describe(stack):
    """A stack as a student would write it: ``Sequential(Linear(4, 3), ReLU())``."""
    def show(kind, args, options):
        shown = [*map(str, args), *(f"{k}={v!r}" for k, v in shown_options(kind, options).items())]
        return f"{kind}({', '.join(shown)})"

    return assemble(stack, show)


def resolve(dotted):
    """The class or function a dotted name stands for, on the side that imports it."""
    owner, _, name = dotted.rpartition(".")
    return getattr(importlib.import_module(owner), name)


def build(stack):
    """The student's module for ``stack``."""
    return assemble(stack, lambda kind, args, options: resolve(MODULES[kind].minidl)(
        *args, **options))


# ---------------------------------------------------------------- walking a module


def _tensor_class():
    from minidl.autograd import Tensor

    return Tensor


def _children(network):
    Module = resolve("minidl.nn.Module")
    return [(name, value) for name, value in vars(network).items()
            if isinstance(value, Module)]


def walk_parameters(network, prefix=""):
    """``{dotted name: Tensor}`` of every attribute that is a Tensor requiring a gradient."""
    Tensor = _tensor_class()
    found = {prefix + name: value for name, value in vars(network).items()
             if isinstance(value, Tensor) and value.requires_grad}
    for name, child in _children(network):
        found.update(walk_parameters(child, f"{prefix}{name}."))
    return found


def walk_buffers(network, prefix=""):
    """``{dotted name: array}`` of every attribute named as a buffer in ``MODULES``."""
    found = {prefix + name: getattr(network, name) for name in BUFFERS
             if isinstance(getattr(network, name, None), np.ndarray)}
    for name, child in _children(network):
        found.update(walk_buffers(child, f"{prefix}{name}."))
    return found


def _set_state(network, state):
    """Write ``state`` into the module's attributes directly (not with load_state_dict)."""
    parameters, buffers = walk_parameters(network), walk_buffers(network)
    for name, value in state.items():
        if name in parameters:
            parameters[name].data = np.array(value, dtype=np.float64)
        elif name in buffers:
            buffers[name][...] = value
        else:
            raise ValueError(f"the module has no parameter or buffer {name!r} (found "
                             f"{sorted(parameters) + sorted(buffers)})")


def _set_mode(network, training):
    network.training = training
    for _, child in _children(network):
        _set_mode(child, training)


OUTPUT_ADVICE = "forward must build its result out of Tensor operations"
PARAMETER_ADVICE = "keep each parameter as a Tensor with requires_grad=True"


def tensor_data(value, what, advice=OUTPUT_ADVICE):
    """The values of ``value``, a Tensor; TypeError naming ``what`` for anything else."""
    if not isinstance(value, _tensor_class()):
        raise Unusable(f"{what} is a {type(value).__name__}, not a Tensor: {advice}")
    return plain(value.data, what)


# ---------------------------------------------------------------- running modules


def run_module(stack, xs, douts=None, state=None, mode="train", load="direct"):
    """Build ``stack``, set ``state`` (``load="direct"`` writes the attributes,
    ``"load_state_dict"`` calls the student's method), set the mode on every module
    (``"train"`` / ``"eval"``), then for each batch ``xs[k]``: forward, and
    ``backward(douts[k])`` when given (and the output has that shape: otherwise the grader
    reports the output's shape).

    Returns ``{"outputs", "input_grads", "grads", "buffers"}``: each step's output and input
    gradient, each step's ``{name: grad}`` of the parameters (reset to None after each
    step, by the probe), and the buffers after the last step.
    """
    Tensor = _tensor_class()
    network = build(stack)
    if state is not None:
        if load == "load_state_dict":
            network.load_state_dict({k: np.array(v) for k, v in state.items()})
        else:
            _set_state(network, state)
    _set_mode(network, mode == "train")
    parameters = walk_parameters(network)
    reply = {"outputs": [], "input_grads": [], "grads": []}
    for step, x in enumerate(xs):
        leaf = Tensor(x, requires_grad=True)
        out = network(leaf)
        reply["outputs"].append(tensor_data(out, f"the output of {describe(stack)}"))
        if douts is None or out.shape != np.shape(douts[step]):
            continue
        out.backward(np.asarray(douts[step]))
        reply["input_grads"].append(plain(leaf.grad, "x.grad"))
        reply["grads"].append({name: plain(p.grad, f"{name}.grad")
                               for name, p in parameters.items()})
        for p in parameters.values():
            p.grad = None
    reply["buffers"] = {name: plain(np.array(value), name)
                        for name, value in walk_buffers(network).items()}
    return reply


def forward_error(stack, x, mode="train"):
    """The type name of the exception a forward pass raises, None if it raises none (the
    answer graded: the type)."""
    network = build(stack)
    _set_mode(network, mode == "train")
    try:
        network(_tensor_class()(x))
    except NotImplementedError:
        raise  # not written yet: the part fails as not implemented
    except Exception as error:  # noqa: BLE001 -- the type is the answer
        return type(error).__name__
    return None


def linear_draws(in_features, out_features, seeds):
    """The initial weight and bias (None when there is none) of
    ``Linear(in, out, rng=seed)`` for each seed, read from the attributes; with a seed of
    -1, ``rng=None``."""
    Linear = resolve(MODULES["Linear"].minidl)
    draws = []
    for seed in seeds:
        layer = Linear(in_features, out_features, rng=None if seed < 0 else seed)
        shown = f"Linear({in_features}, {out_features})"
        bias = getattr(layer, "bias", None)
        draws.append({"weight": tensor_data(getattr(layer, "weight", None), f"{shown}.weight",
                                            PARAMETER_ADVICE),
                      "bias": None if bias is None else tensor_data(bias, f"{shown}.bias",
                                                                    PARAMETER_ADVICE)})
    return draws


# ---------------------------------------------------------------- Module methods


def named_parameters(stack, state):
    """The student's ``named_parameters()`` names, whether each Tensor is the module's own
    (not a copy), and how many Tensors ``parameters()`` gives."""
    network = build(stack)
    _set_state(network, state)
    walked = walk_parameters(network)
    named = list(network.named_parameters())
    return {"names": [str(name) for name, _ in named],
            "same_objects": [any(t is w for w in walked.values()) for _, t in named],
            "n_parameters": len(list(network.parameters()))}


def _modes(network, prefix=""):
    modes = {prefix or "(root)": bool(getattr(network, "training", None))}
    for name, child in _children(network):
        modes.update(_modes(child, f"{prefix}{name}."))
    return modes


def modes(stack):
    """``.training`` of every module after the student's ``eval()``, ``train()`` and
    ``train(False)``, and whether ``eval()`` returns the module."""
    network = build(stack)
    returned = network.eval()
    reply = {"eval_returns_self": returned is network, "eval_modes": _modes(network)}
    network.train()
    reply["train_modes"] = _modes(network)
    network.train(False)
    reply["train_false_modes"] = _modes(network)
    return reply


def zero_grad(stack):
    """The parameters' ``.grad`` after the student's ``zero_grad()`` (each was set to an
    array of ones first, by the probe)."""
    network = build(stack)
    walked = walk_parameters(network)
    for p in walked.values():
        p.grad = np.ones(p.data.shape)
    network.zero_grad()
    return {"names": list(walked),
            "grads_after": [plain(p.grad, f"{name}.grad") for name, p in walked.items()]}


def state_dict(stack, state):
    """``state_dict()`` of the module after ``state`` was written into it, and whether its
    arrays are copies (they stay as they were when the module changes afterwards)."""
    network = build(stack)
    _set_state(network, state)
    saved = network.state_dict()
    if not isinstance(saved, dict):
        raise Unusable(f"state_dict() returned a {type(saved).__name__}; it must return a "
                        f"dict of arrays")
    values = {str(key): np.array(plain(value, f"state_dict()[{key!r}]"))
              for key, value in saved.items()}
    for p in walk_parameters(network).values():
        p.data += 1.0
    for b in walk_buffers(network).values():
        b += 1.0
    return {"keys": list(values), "values": values,
            "copies": all(np.array_equal(saved[key], values[str(key)]) for key in saved)}


def load_state_dict(stack, state):
    """The parameters and buffers of a fresh module after the student's
    ``load_state_dict(state)``, and the type of the exception it raises for each bad state
    (None if none)."""
    fresh = build(stack)
    fresh.load_state_dict({key: np.array(value) for key, value in state.items()})
    loaded = {name: plain(p.data.copy(), name) for name, p in walk_parameters(fresh).items()}
    loaded.update({name: plain(np.array(b), name) for name, b in walk_buffers(fresh).items()})
    first = next(iter(state))
    errors = {}
    for label, bad in (("missing", {k: v for k, v in state.items() if k != first}),
                       ("unexpected", {**state, "extra.weight": np.zeros(2)}),
                       ("shape", {**state, first: np.zeros(np.shape(state[first]) + (2,))})):
        try:
            build(stack).load_state_dict(bad)
            errors[label] = None
        except NotImplementedError:
            raise
        except Exception as error:  # noqa: BLE001 -- the type is the answer
            errors[label] = type(error).__name__
    return {"loaded": loaded, "errors": errors}


# ---------------------------------------------------------------- dropout


def dropout(p, x, rng=0, calls=1, mode="train"):
    """Outputs and input gradients (backward of ones) of ``calls`` calls of one
    ``Dropout(p, rng=rng)`` module on ``x``."""
    Tensor = _tensor_class()
    layer = resolve(MODULES["Dropout"].minidl)(p, rng=rng)
    _set_mode(layer, mode == "train")
    reply = {"outputs": [], "grads": []}
    for _ in range(calls):
        leaf = Tensor(x, requires_grad=True)
        out = layer(leaf)
        reply["outputs"].append(tensor_data(out, f"the output of Dropout({p})"))
        if out.requires_grad:
            out.backward(np.ones(out.shape))
        reply["grads"].append(plain(leaf.grad, "x.grad"))
    return reply


# ---------------------------------------------------------------- init


def init_draw(name, args, kwargs, rng=None):
    """``minidl.init.<name>(*args, rng=..., **kwargs)``; ``rng`` an int seed, None, or
    ``"generator:SEED"`` for a Generator (then two draws from it are returned)."""
    function = resolve(f"minidl.init.{name}")
    what = f"what init.{name} returned"
    if isinstance(rng, str) and rng.startswith("generator:"):
        generator = np.random.default_rng(int(rng.split(":")[1]))
        return [plain(function(*args, rng=generator, **kwargs), what),
                plain(function(*args, rng=generator, **kwargs), what)]
    return plain(function(*args, rng=rng, **kwargs), what)


def gains(names):
    calculate_gain = resolve("minidl.init.calculate_gain")
    return [plain(calculate_gain(name), f"calculate_gain({name!r})") for name in names]


# ---------------------------------------------------------------- functional batch norm


def batchnorm(xs, gamma, beta, bn_param, douts=None):
    """``batchnorm_forward`` on each batch ``xs[k]`` with one ``bn_param`` dict (and
    ``batchnorm_backward`` of ``douts[k]`` when given); returns the outputs, the gradients
    and the running statistics in ``bn_param`` afterwards."""
    forward, backward = (resolve(f"minidl.layers.batchnorm_{way}")
                         for way in ("forward", "backward"))
    bn_param = {k: (np.array(v) if isinstance(v, np.ndarray) else v)
                for k, v in bn_param.items()}
    reply = {"outputs": [], "grads": []}
    for step, x in enumerate(xs):
        result = forward(np.array(x), np.array(gamma), np.array(beta), bn_param)
        if not isinstance(result, (tuple, list)) or len(result) != 2:
            raise Unusable(f"batchnorm_forward returned a {type(result).__name__}; it must "
                            f"return a tuple (out, cache)")
        out, cache = result
        reply["outputs"].append(plain(out, "the out of batchnorm_forward"))
        if douts is not None:
            reply["grads"].append(plain(backward(np.array(douts[step]), cache),
                                        "what batchnorm_backward returned"))
    reply["running"] = {name: plain(bn_param[name], f"bn_param[{name!r}]")
                        for name in MODULES["BatchNorm1d"].buffers if name in bn_param}
    return reply
