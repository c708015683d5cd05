"""Mutation suite for a4_init_norm: realistic student bugs must lose points with the right
message, and correct implementations written differently from the reference must get full
marks.

Each bug is source appended to the solved ``minidl/init.py``, ``minidl/nn.py`` or
``minidl/layers.py`` (a later ``def`` replaces an earlier one; methods are re-assigned on
their class). Each graded function or class has at least three bugs. A bug is graded on the
part that must catch it (in the sandbox, as ``autograder check`` does); the alternatives are
graded on every part.
"""
import shutil
import textwrap

import pytest

from autograder import checks
from autograder.framework import run_part
from autograder.grading import check_submission
from autograder.reference import Reference
from autograder.student import IsolatedStudent

# bug name -> (module, source appended to it, family, part that fails, message)
BUGS = {
    # ---- Xavier
    "xavier bound missing fan_out": ("init", """
        def xavier_uniform(fan_in, fan_out, gain=1.0, rng=None):
            bound = gain * math.sqrt(6.0 / fan_in)
            return as_generator(rng).uniform(-bound, bound, (fan_in, fan_out))
        """, "xavier", "init.xavier", "Xavier's bound is gain * sqrt(6 / (fan_in + fan_out))"),
    "xavier normal with the variance as std": ("init", """
        def xavier_normal(fan_in, fan_out, gain=1.0, rng=None):
            std = gain * 2.0 / (fan_in + fan_out)
            return std * as_generator(rng).standard_normal((fan_in, fan_out))
        """, "xavier", "init.xavier", "take its square root"),
    "xavier uniform with the std as bound": ("init", """
        def xavier_uniform(fan_in, fan_out, gain=1.0, rng=None):
            bound = gain * math.sqrt(2.0 / (fan_in + fan_out))
            return as_generator(rng).uniform(-bound, bound, (fan_in, fan_out))
        """, "xavier", "init.xavier", "b = sqrt(3) * std"),
    "xavier in PyTorch's (out, in) shape": ("init", """
        def xavier_uniform(fan_in, fan_out, gain=1.0, rng=None):
            bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
            return as_generator(rng).uniform(-bound, bound, (fan_out, fan_in))
        """, "xavier", "init.xavier", "the transpose of PyTorch's"),
    "xavier normal drawn uniformly": ("init", """
        def xavier_normal(fan_in, fan_out, gain=1.0, rng=None):
            bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
            return as_generator(rng).uniform(-bound, bound, (fan_in, fan_out))
        """, "xavier", "init.xavier", "this looks like a uniform draw"),
    # ---- Kaiming and the gains
    "kaiming without the gain": ("init", """
        def kaiming_normal(fan_in, fan_out, nonlinearity="relu", mode="fan_in", rng=None):
            fan = fan_in if mode == "fan_in" else fan_out
            return as_generator(rng).standard_normal((fan_in, fan_out)) / math.sqrt(fan)
        """, "kaiming", "init.kaiming", "the gain is missing"),
    "kaiming with fan_in and fan_out swapped": ("init", """
        def kaiming_uniform(fan_in, fan_out, nonlinearity="relu", mode="fan_in", rng=None):
            fan = fan_out if mode == "fan_in" else fan_in
            bound = calculate_gain(nonlinearity) * math.sqrt(3.0 / fan)
            return as_generator(rng).uniform(-bound, bound, (fan_in, fan_out))
        """, "kaiming", "init.kaiming", "fan_in and fan_out are swapped"),
    "relu gain 2 instead of sqrt(2)": ("init", """
        def calculate_gain(nonlinearity):
            return {"linear": 1.0, "sigmoid": 1.0, "tanh": 5.0 / 3.0, "relu": 2.0}[nonlinearity]
        """, "kaiming", "init.kaiming", "ReLU's gain is sqrt(2)"),
    "kaiming uniform bound without sqrt(3)": ("init", """
        def kaiming_uniform(fan_in, fan_out, nonlinearity="relu", mode="fan_in", rng=None):
            fan = fan_in if mode == "fan_in" else fan_out
            bound = calculate_gain(nonlinearity) / math.sqrt(fan)
            return as_generator(rng).uniform(-bound, bound, (fan_in, fan_out))
        """, "kaiming", "init.kaiming", "the uniform bound is sqrt(3) times it"),
    # ---- rng
    "draws ignore rng": ("init", """
        def xavier_uniform(fan_in, fan_out, gain=1.0, rng=None):
            bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
            return np.random.default_rng().uniform(-bound, bound, (fan_in, fan_out))
        """, "rng", "init.rng", "an int seed must seed a new generator"),
    "draws always reseed with 0": ("init", """
        def xavier_uniform(fan_in, fan_out, gain=1.0, rng=None):
            bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
            return np.random.default_rng(0).uniform(-bound, bound, (fan_in, fan_out))
        """, "rng", "init.rng", "draw from the generator the seed makes"),
    "a Generator reseeded from its first number": ("init", """
        def xavier_uniform(fan_in, fan_out, gain=1.0, rng=None):
            if isinstance(rng, np.random.Generator):
                rng = np.random.default_rng(12345)
            bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
            return as_generator(rng).uniform(-bound, bound, (fan_in, fan_out))
        """, "rng", "init.rng", "do not reseed"),
    # ---- Linear
    "linear forward without the bias": ("nn", """
        Linear.forward = lambda self, x: as_tensor(x) @ self.weight
        """, "linear", "Linear.forward_backward", "the bias is missing"),
    "linear init bound with out_features": ("nn", """
        def _init(self, in_features, out_features, bias=True, rng=None):
            Module.__init__(self)
            self.in_features, self.out_features = in_features, out_features
            rng, k = as_generator(rng), 1 / math.sqrt(out_features)
            self.weight = parameter(rng.uniform(-k, k, (in_features, out_features)))
            self.bias = parameter(rng.uniform(-k, k, out_features)) if bias else None
        Linear.__init__ = _init
        """, "linear", "Linear.init", "the bound uses out_features"),
    "linear bias initialized to zeros": ("nn", """
        def _init(self, in_features, out_features, bias=True, rng=None):
            Module.__init__(self)
            self.in_features, self.out_features = in_features, out_features
            rng, k = as_generator(rng), 1 / math.sqrt(in_features)
            self.weight = parameter(rng.uniform(-k, k, (in_features, out_features)))
            self.bias = parameter(np.zeros(out_features)) if bias else None
        Linear.__init__ = _init
        """, "linear", "Linear.init", "bias is all zeros"),
    "linear weight stored as (out, in)": ("nn", """
        def _init(self, in_features, out_features, bias=True, rng=None):
            Module.__init__(self)
            self.in_features, self.out_features = in_features, out_features
            rng, k = as_generator(rng), 1 / math.sqrt(in_features)
            self.weight = parameter(rng.uniform(-k, k, (out_features, in_features)))
            self.bias = parameter(rng.uniform(-k, k, out_features)) if bias else None
        Linear.__init__ = _init
        Linear.forward = lambda self, x: as_tensor(x) @ self.weight.T + self.bias
        """, "linear", "Linear.init", "minidl's Linear computes x @ weight"),
    # ---- Module.named_parameters
    "named_parameters without the children": ("nn", """
        Module.named_parameters = lambda self, prefix="": [
            (prefix + n, t) for n, t in self.own_parameters()]
        """, "named_parameters", "Module.named_parameters", "recurse into the children"),
    "named_parameters without the prefixes": ("nn", """
        def _named(self, prefix=""):
            found = list(self.own_parameters())
            for _, child in self.children():
                found += child.named_parameters()
            return found
        Module.named_parameters = _named
        """, "named_parameters", "Module.named_parameters", "without the children's names"),
    "named_parameters with the buffers": ("nn", """
        _reference_named = Module.named_parameters
        def _named(self, prefix=""):
            return _reference_named(self, prefix) + [
                (n, Tensor(b, requires_grad=True)) for n, b in self.named_buffers(prefix)]
        Module.named_parameters = _named
        """, "named_parameters", "Module.named_parameters", "are not parameters"),
    "named_parameters returns copies": ("nn", """
        _reference_named = Module.named_parameters
        Module.named_parameters = lambda self, prefix="": [
            (n, Tensor(t.data, requires_grad=True)) for n, t in _reference_named(self, prefix)]
        """, "named_parameters", "Module.named_parameters", "not copies"),
    # ---- Module.train / eval
    "train does not reach the children": ("nn", """
        def _train(self, mode=True):
            self.training = mode
            return self
        Module.train = _train
        """, "train_eval", "Module.train_eval", "recurse into the children"),
    "train returns nothing": ("nn", """
        def _train(self, mode=True):
            self.training = mode
            for _, child in self.children():
                child.train(mode)
        Module.train = _train
        """, "train_eval", "Module.train_eval", "must return the module itself"),
    "train ignores its mode": ("nn", """
        def _train(self, mode=True):
            self.training = True
            for _, child in self.children():
                child.train(mode)
            return self
        Module.train = _train
        """, "train_eval", "Module.train_eval", "have training=True"),
    # ---- Module.zero_grad
    "zero_grad only on its own parameters": ("nn", """
        def _zero_grad(self):
            for _, t in self.own_parameters():
                t.grad = None
        Module.zero_grad = _zero_grad
        """, "zero_grad", "Module.zero_grad", "still have a gradient"),
    "zero_grad does nothing": ("nn", """
        Module.zero_grad = lambda self: None
        """, "zero_grad", "Module.zero_grad", "still have a gradient"),
    "zero_grad halves the gradients": ("nn", """
        def _zero_grad(self):
            for t in self.parameters():
                t.grad = t.grad * 0.5
        Module.zero_grad = _zero_grad
        """, "zero_grad", "Module.zero_grad", "reset the .grad of every parameter"),
    # ---- Module.state_dict
    "state_dict without the buffers": ("nn", """
        Module.state_dict = lambda self: {n: t.data.copy() for n, t in self.named_parameters()}
        """, "state_dict", "Module.state_dict", "misses the buffers"),
    "state_dict returns references": ("nn", """
        def _state_dict(self):
            state = {n: t.data for n, t in self.named_parameters()}
            state.update(self.named_buffers())
            return state
        Module.state_dict = _state_dict
        """, "state_dict", "Module.state_dict", "store copies"),
    "state_dict with flat names": ("nn", """
        def _state_dict(self):
            state = {n: t.data.copy() for n, t in self.own_parameters()}
            for _, child in self.children():
                state.update(child.state_dict())
            return state
        Module.state_dict = _state_dict
        """, "state_dict", "Module.state_dict", "has the keys"),
    # ---- activations
    "relu returns an array": ("nn", """
        ReLU.forward = lambda self, x: np.maximum(as_tensor(x).data, 0.0)
        """, "activations", "activations", "not a Tensor"),
    "sigmoid that overflows": ("nn", """
        Sigmoid.forward = lambda self, x: 1.0 / (1.0 + (-as_tensor(x)).exp())
        """, "activations", "activations", "NaN or inf"),
    "tanh as 2 sigmoid - 1": ("nn", """
        Tanh.forward = lambda self, x: 2.0 * as_tensor(x).sigmoid() - 1.0
        """, "activations", "activations", "is wrong"),
    # ---- Sequential
    "sequential applies only the first module": ("nn", """
        Sequential.forward = lambda self, x: self.children()[0][1](x)
        """, "sequential", "Sequential", "Tanh was not applied"),
    "sequential forgets to chain": ("nn", """
        def _forward(self, x):
            for _, module in self.children():
                module(x)
            return x
        Sequential.forward = _forward
        """, "sequential", "Sequential", "the input came back unchanged"),
    "sequential in reverse order": ("nn", """
        def _forward(self, x):
            for _, module in reversed(self.children()):
                x = module(x)
            return x
        Sequential.forward = _forward
        """, "sequential", "Sequential", "applied in reverse order"),
    # ---- Residual
    "residual without the skip": ("nn", """
        Residual.forward = lambda self, x: self.module(as_tensor(x))
        """, "residual", "Residual", "the skip connection adds x"),
    "residual returns x": ("nn", """
        Residual.forward = lambda self, x: as_tensor(x) * 1.0
        """, "residual", "Residual", "that is x alone"),
    "residual adds x twice": ("nn", """
        Residual.forward = lambda self, x: as_tensor(x) + self.module(as_tensor(x)) + x
        """, "residual", "Residual", "x is added twice"),
    # ---- Dropout
    "dropout without rescaling": ("nn", """
        def _forward(self, x):
            x = as_tensor(x)
            if not self.training or self.p == 0:
                return x
            return x * (self.rng.random(x.shape) >= self.p)
        Dropout.forward = _forward
        """, "dropout", "Dropout.train", "not rescaled"),
    "dropout active in eval mode": ("nn", """
        def _forward(self, x):
            x = as_tensor(x)
            if self.p == 0:
                return x
            if self.p == 1:
                return x * 0.0
            return x * ((self.rng.random(x.shape) >= self.p) / (1 - self.p))
        Dropout.forward = _forward
        """, "dropout", "Dropout.eval_edge_cases", "must be the identity"),
    "dropout keeps with probability p": ("nn", """
        def _forward(self, x):
            x = as_tensor(x)
            if not self.training or self.p == 0:
                return x
            return x * ((self.rng.random(x.shape) < self.p) / (1 - self.p))
        Dropout.forward = _forward
        """, "dropout", "Dropout.train", "probability to *drop*"),
    "dropout scales by 1 - p": ("nn", """
        def _forward(self, x):
            x = as_tensor(x)
            if not self.training or self.p == 0:
                return x
            return x * ((self.rng.random(x.shape) >= self.p) * (1 - self.p))
        Dropout.forward = _forward
        """, "dropout", "Dropout.train", "multiplied by 1 - p"),
    "dropout mask drawn once": ("nn", """
        def _forward(self, x):
            x = as_tensor(x)
            if not self.training or self.p == 0:
                return x
            if getattr(self, "_mask", None) is None or self._mask.shape != x.shape:
                self._mask = (self.rng.random(x.shape) >= self.p) / (1 - self.p)
            return x * self._mask
        Dropout.forward = _forward
        """, "dropout", "Dropout.train", "draw a new mask at every call"),
    "dropout p = 1 divides by zero": ("nn", """
        def _forward(self, x):
            x = as_tensor(x)
            if not self.training or self.p == 0:
                return x
            with np.errstate(divide="ignore", invalid="ignore"):
                return (x * (self.rng.random(x.shape) >= self.p)) / (1 - self.p)
        Dropout.forward = _forward
        """, "dropout", "Dropout.eval_edge_cases", "must zero everything"),
    # ---- batchnorm_forward
    "functional running_var biased": ("layers", """
        _reference_forward = batchnorm_forward
        def batchnorm_forward(x, gamma, beta, bn_param):
            before = np.array(bn_param.get("running_var", np.ones(np.shape(x)[1])))
            out, cache = _reference_forward(x, gamma, beta, bn_param)
            if bn_param.get("mode", "train") == "train":
                m = bn_param.get("momentum", 0.1)
                bn_param["running_var"][...] = (1 - m) * before + m * np.var(x, axis=0)
            return out, cache
        """, "batchnorm_forward", "batchnorm_forward", "var * N / (N - 1)"),
    "functional momentum the wrong way round": ("layers", """
        _reference_forward = batchnorm_forward
        def batchnorm_forward(x, gamma, beta, bn_param):
            d = np.shape(x)[1]
            mean = np.array(bn_param.get("running_mean", np.zeros(d)))
            var = np.array(bn_param.get("running_var", np.ones(d)))
            out, cache = _reference_forward(x, gamma, beta, bn_param)
            if bn_param.get("mode", "train") == "train":
                m, n = bn_param.get("momentum", 0.1), len(x)
                bn_param["running_mean"][...] = m * mean + (1 - m) * np.mean(x, axis=0)
                bn_param["running_var"][...] = m * var + (1 - m) * np.var(x, axis=0) * n / (n - 1)
            return out, cache
        """, "batchnorm_forward", "batchnorm_forward", "the wrong way round"),
    "functional normalizes with the unbiased variance": ("layers", """
        _reference_forward = batchnorm_forward
        def batchnorm_forward(x, gamma, beta, bn_param):
            out, cache = _reference_forward(x, gamma, beta, bn_param)
            if bn_param.get("mode", "train") == "train":
                x_hat = (x - x.mean(axis=0)) / np.sqrt(x.var(axis=0, ddof=1) + 1e-5)
                out = gamma * x_hat + beta
            return out, cache
        """, "batchnorm_forward", "batchnorm_forward", "normalizes with the unbiased variance"),
    "functional eval with batch statistics": ("layers", """
        _reference_forward = batchnorm_forward
        def batchnorm_forward(x, gamma, beta, bn_param):
            if bn_param.get("mode") == "eval":
                eps = bn_param.get("eps", 1e-5)
                out = gamma * (x - x.mean(axis=0)) / np.sqrt(x.var(axis=0) + eps) + beta
                return out, None
            return _reference_forward(x, gamma, beta, bn_param)
        """, "batchnorm_forward", "batchnorm_forward", "in eval mode it uses the batch"),
    # ---- batchnorm_backward
    "functional backward without the statistics' paths": ("layers", """
        def batchnorm_backward(dout, cache):
            x_hat, inv_std, gamma, mode = cache
            return dout * gamma * inv_std, (dout * x_hat).sum(axis=0), dout.sum(axis=0)
        """, "batchnorm_backward", "batchnorm_backward", "the batch mean and variance depend"),
    "functional backward without the variance path": ("layers", """
        def batchnorm_backward(dout, cache):
            x_hat, inv_std, gamma, mode = cache
            g = dout * gamma
            dx = g * inv_std if mode == "eval" else inv_std * (g - g.mean(axis=0))
            return dx, (dout * x_hat).sum(axis=0), dout.sum(axis=0)
        """, "batchnorm_backward", "batchnorm_backward", "the term through the variance"),
    "functional backward without the mean path": ("layers", """
        def batchnorm_backward(dout, cache):
            x_hat, inv_std, gamma, mode = cache
            g = dout * gamma
            dx = (g * inv_std if mode == "eval"
                  else inv_std * (g - x_hat * (g * x_hat).mean(axis=0)))
            return dx, (dout * x_hat).sum(axis=0), dout.sum(axis=0)
        """, "batchnorm_backward", "batchnorm_backward", "the term through the mean"),
    "functional dgamma without x_hat": ("layers", """
        _reference_backward = batchnorm_backward
        def batchnorm_backward(dout, cache):
            dx, _, dbeta = _reference_backward(dout, cache)
            return dx, dout.sum(axis=0), dbeta
        """, "batchnorm_backward", "batchnorm_backward", "dgamma of batchnorm_backward"),
    # ---- BatchNorm1d
    "module normalizes with the unbiased variance": ("nn", """
        def _forward(self, x):
            x = as_tensor(x)
            if not self.training:
                x_hat = (x - self.running_mean) * (1 / np.sqrt(self.running_var + self.eps))
                return x_hat * self.weight + self.bias
            n = x.shape[0]
            mean = x.mean(axis=0)
            var = ((x - mean) ** 2).sum(axis=0) / (n - 1)
            self.running_mean[...] = 0.9 * self.running_mean + 0.1 * mean.data
            self.running_var[...] = 0.9 * self.running_var + 0.1 * var.data
            return (x - mean) * (var + self.eps) ** -0.5 * self.weight + self.bias
        BatchNorm1d.forward = _forward
        """, "BatchNorm1d", "BatchNorm1d.train", "normalizes with the unbiased variance"),
    "module eval with batch statistics": ("nn", """
        _reference_bn = BatchNorm1d.forward
        def _forward(self, x):
            if self.training:
                return _reference_bn(self, x)
            x = as_tensor(x)
            mean = x.mean(axis=0)
            var = ((x - mean) ** 2).mean(axis=0)
            return (x - mean) * (var + self.eps) ** -0.5 * self.weight + self.bias
        BatchNorm1d.forward = _forward
        """, "BatchNorm1d", "BatchNorm1d.running_stats", "in eval mode it uses the batch"),
    "module running_var biased": ("nn", """
        _reference_bn = BatchNorm1d.forward
        def _forward(self, x):
            x = as_tensor(x)
            before = self.running_var.copy()
            out = _reference_bn(self, x)
            if self.training:
                m = self.momentum
                self.running_var[...] = (1 - m) * before + m * x.data.var(axis=0)
            return out
        BatchNorm1d.forward = _forward
        """, "BatchNorm1d", "BatchNorm1d.running_stats", "var * N / (N - 1)"),
    "module momentum the wrong way round": ("nn", """
        _reference_bn = BatchNorm1d.forward
        def _forward(self, x):
            x = as_tensor(x)
            mean, var = self.running_mean.copy(), self.running_var.copy()
            out = _reference_bn(self, x)
            if self.training:
                m, n = self.momentum, x.shape[0]
                self.running_mean[...] = m * mean + (1 - m) * x.data.mean(axis=0)
                self.running_var[...] = m * var + (1 - m) * x.data.var(axis=0, ddof=1)
            return out
        BatchNorm1d.forward = _forward
        """, "BatchNorm1d", "BatchNorm1d.running_stats", "the wrong way round"),
    "module statistics taken from x.data": ("nn", """
        _reference_bn = BatchNorm1d.forward
        def _forward(self, x):
            x = as_tensor(x)
            if not self.training:
                return _reference_bn(self, x)
            _reference_bn(self, Tensor(x.data))  # updates the running statistics
            mean, var = x.data.mean(axis=0), x.data.var(axis=0)
            return (x - mean) * (1 / np.sqrt(var + self.eps)) * self.weight + self.bias
        BatchNorm1d.forward = _forward
        """, "BatchNorm1d", "BatchNorm1d.train", "the batch mean and variance depend on x"),
    # ---- LayerNorm
    "layernorm with sqrt(var) + eps": ("nn", """
        def _forward(self, x):
            x = as_tensor(x)
            centered = x - x.mean(axis=-1, keepdims=True)
            std = ((centered ** 2).mean(axis=-1, keepdims=True)) ** 0.5
            return centered / (std + self.eps) * self.weight + self.bias
        LayerNorm.forward = _forward
        """, "LayerNorm", "LayerNorm.edge_cases", "eps goes inside the square root"),
    "layernorm over the batch": ("nn", """
        def _forward(self, x):
            x = as_tensor(x)
            centered = x - x.mean(axis=0)
            var = (centered ** 2).mean(axis=0)
            return centered * (var + self.eps) ** -0.5 * self.weight + self.bias
        LayerNorm.forward = _forward
        """, "LayerNorm", "LayerNorm", "normalizes over the batch"),
    "layernorm with the unbiased variance": ("nn", """
        def _forward(self, x):
            x = as_tensor(x)
            centered = x - x.mean(axis=-1, keepdims=True)
            var = (centered ** 2).sum(axis=-1, keepdims=True) / (x.shape[-1] - 1)
            return centered * (var + self.eps) ** -0.5 * self.weight + self.bias
        LayerNorm.forward = _forward
        """, "LayerNorm", "LayerNorm", "unbiased variance"),
    "layernorm without weight and bias": ("nn", """
        def _forward(self, x):
            x = as_tensor(x)
            centered = x - x.mean(axis=-1, keepdims=True)
            return centered * ((centered ** 2).mean(axis=-1, keepdims=True) + self.eps) ** -0.5
        LayerNorm.forward = _forward
        """, "LayerNorm", "LayerNorm", "weight and bias are not applied"),
}

FAMILIES = ("xavier", "kaiming", "rng", "linear", "named_parameters", "train_eval",
            "zero_grad", "state_dict", "activations", "sequential", "residual", "dropout",
            "batchnorm_forward", "batchnorm_backward", "BatchNorm1d", "LayerNorm")
EXPECTED_FULL_MARKS = 33


def make_submission(solved, tmp_path, module, extra_source):
    """A copy of the solved submission with ``extra_source`` appended to minidl/<module>.py."""
    folder = tmp_path / "submission"
    shutil.copytree(solved, folder)
    path = folder / "minidl" / f"{module}.py"
    path.write_text(path.read_text() + "\n" + textwrap.dedent(extra_source))
    return folder


@pytest.fixture(scope="module")
def solved_a4(solved_submission):
    return solved_submission("a4_init_norm")


def test_every_graded_family_has_three_bugs():
    counts = {}
    for _, _, family, _, _ in BUGS.values():
        counts[family] = counts.get(family, 0) + 1
    assert set(counts) == set(FAMILIES)
    for family in FAMILIES:
        assert counts[family] >= 3, family


def test_full_marks_are_what_the_suite_expects():
    assert checks.load("a4_init_norm").max_score == EXPECTED_FULL_MARKS


@pytest.mark.parametrize("bug", sorted(BUGS))
def test_bug_loses_points_with_a_message_that_names_it(bug, solved_a4, tmp_path):
    module, source, _, part_name, expected_message = BUGS[bug]
    part = checks.load("a4_init_norm").get(part_name)
    with IsolatedStudent(make_submission(solved_a4, tmp_path, module, source)) as student:
        result = run_part(part, student, Reference("cpu"))
    assert not result.passed and result.points == 0
    assert expected_message in result.message, result.message


# A differently written library: uniform draws from rng.random, normal ones from rng.normal,
# the gain by if/else; named_parameters and train with an explicit stack; zero_grad to
# zeros (also correct); state_dict from named_parameters then named_buffers (another key
# order); Sequential by functools.reduce; Dropout with a binomial mask; batch norm with
# E[x^2] - E[x]^2; layer norm dividing by a square root.
ALTERNATIVE_NN = '''
import functools


def _nn_stack_walk(module):
    stack, found = [("", module)], []
    while stack:
        prefix, current = stack.pop(0)
        found.append((prefix, current))
        stack[0:0] = [(f"{prefix}{name}.", child) for name, child in current.children()]
    return found


def _named(self, prefix=""):
    return [(prefix + p + name, tensor) for p, m in _nn_stack_walk(self)
            for name, tensor in m.own_parameters()]


def _train(self, mode=True):
    for _, m in _nn_stack_walk(self):
        m.training = mode
    return self


def _zero_grad(self):
    for tensor in self.parameters():
        tensor.grad = np.zeros_like(tensor.data)


def _state_dict(self):
    state = {name: np.array(t.data) for name, t in self.named_parameters()}
    for name, buffer in self.named_buffers():
        state[name] = np.copy(buffer)
    return state


Module.named_parameters = _named
Module.train = _train
Module.zero_grad = _zero_grad
Module.state_dict = _state_dict


def _linear_init(self, in_features, out_features, bias=True, rng=None):
    Module.__init__(self)
    self.in_features, self.out_features = in_features, out_features
    rng = as_generator(rng)
    k = in_features ** -0.5
    self.weight = Tensor(k * (2 * rng.random((in_features, out_features)) - 1),
                         requires_grad=True)
    self.bias = Tensor(k * (2 * rng.random(out_features) - 1), requires_grad=True) \\
        if bias else None


def _linear_forward(self, x):
    out = as_tensor(x) @ self.weight
    if self.bias is not None:
        out = self.bias + out
    return out


Linear.__init__ = _linear_init
Linear.forward = _linear_forward
ReLU.forward = lambda self, x: (as_tensor(x) * 1.0).relu()
Tanh.forward = lambda self, x: 1.0 * as_tensor(x).tanh()
Sigmoid.forward = lambda self, x: as_tensor(x).sigmoid() * 1.0
Sequential.forward = lambda self, x: functools.reduce(lambda h, m: m(h),
                                                      [m for _, m in self.children()], x)
Residual.forward = lambda self, x: self.module(as_tensor(x)) + as_tensor(x)


def _dropout(self, x):
    x = as_tensor(x)
    if self.training and self.p > 0:
        if self.p >= 1:
            return x * np.zeros(x.shape)
        return x * (self.rng.binomial(1, 1 - self.p, x.shape) * (1 / (1 - self.p)))
    return x


Dropout.forward = _dropout


def _batchnorm(self, x):
    x = as_tensor(x)
    if self.training and x.shape[0] == 1:
        raise ValueError("one sample has no variance")
    if self.training:
        n = x.shape[0]
        mean = x.sum(axis=0) / n
        var = (x * x).sum(axis=0) / n - mean * mean
        self.running_mean[:] = self.running_mean + self.momentum * (mean.data
                                                                   - self.running_mean)
        unbiased = var.data * (n / (n - 1))
        self.running_var[:] = self.running_var + self.momentum * (unbiased
                                                                 - self.running_var)
        return (x - mean) / (var + self.eps) ** 0.5 * self.weight + self.bias
    scale = self.weight / np.sqrt(self.running_var + self.eps)
    return x * scale + (self.bias - scale * self.running_mean)


BatchNorm1d.forward = _batchnorm


def _layernorm(self, x):
    x = as_tensor(x)
    d = x.shape[-1]
    mean = x.sum(axis=-1, keepdims=True) * (1 / d)
    var = ((x - mean) * (x - mean)).sum(axis=-1, keepdims=True) * (1 / d)
    return self.weight * ((x - mean) / (var + self.eps) ** 0.5) + self.bias


LayerNorm.forward = _layernorm
'''

ALTERNATIVE_INIT = '''
def calculate_gain(nonlinearity):
    if nonlinearity == "relu":
        return 2.0 ** 0.5
    if nonlinearity == "tanh":
        return 5 / 3
    return 1.0


def xavier_uniform(fan_in, fan_out, gain=1.0, rng=None):
    rng = as_generator(rng)
    bound = gain * (6 / (fan_in + fan_out)) ** 0.5
    return bound * (2 * rng.random((fan_in, fan_out)) - 1)


def xavier_normal(fan_in, fan_out, gain=1.0, rng=None):
    variance = gain**2 * 2 / (fan_in + fan_out)
    return as_generator(rng).normal(0.0, np.sqrt(variance), size=(fan_in, fan_out))


def kaiming_uniform(fan_in, fan_out, nonlinearity="relu", mode="fan_in", rng=None):
    variance = calculate_gain(nonlinearity) ** 2 / {"fan_in": fan_in, "fan_out": fan_out}[mode]
    bound = np.sqrt(3 * variance)
    return as_generator(rng).uniform(low=-bound, high=bound, size=(fan_in, fan_out))


def kaiming_normal(fan_in, fan_out, nonlinearity="relu", mode="fan_in", rng=None):
    fan = {"fan_in": fan_in, "fan_out": fan_out}[mode]
    return as_generator(rng).normal(scale=calculate_gain(nonlinearity) / np.sqrt(fan),
                                    size=(fan_in, fan_out))
'''

# The staged backward pass of batch norm, one step of the computation graph at a time,
# with the cache as a dict and the running statistics replaced in bn_param (not in place).
ALTERNATIVE_LAYERS = '''
def batchnorm_forward(x, gamma, beta, bn_param):
    x = np.asarray(x, dtype=float)
    n, d = x.shape
    mode = bn_param.get("mode", "train")
    eps, momentum = bn_param.get("eps", 1e-5), bn_param.get("momentum", 0.1)
    running_mean = bn_param.get("running_mean", np.zeros(d))
    running_var = bn_param.get("running_var", np.ones(d))
    if mode == "train":
        mu = np.sum(x, axis=0) / n
        xc = x - mu
        var = np.sum(xc**2, axis=0) / n
        std = np.sqrt(var + eps)
        xn = xc / std
        bn_param["running_mean"] = momentum * mu + (1 - momentum) * running_mean
        bn_param["running_var"] = (momentum * np.var(x, axis=0, ddof=1)
                                   + (1 - momentum) * running_var)
    else:
        bn_param["running_mean"], bn_param["running_var"] = running_mean, running_var
        xc = x - running_mean
        std = np.sqrt(running_var + eps)
        xn = xc / std
    cache = {"xn": xn, "xc": xc, "std": std, "gamma": gamma, "train": mode == "train"}
    return gamma * xn + beta, cache


def batchnorm_backward(dout, cache):
    xn, xc, std, gamma = cache["xn"], cache["xc"], cache["std"], cache["gamma"]
    n = dout.shape[0]
    dbeta = dout.sum(axis=0)
    dgamma = np.sum(xn * dout, axis=0)
    dxn = gamma * dout
    if not cache["train"]:
        return dxn / std, dgamma, dbeta
    dxc = dxn / std
    dstd = -np.sum((dxn * xc) / (std * std), axis=0)
    dvar = 0.5 * dstd / std
    dxc += (2 / n) * xc * dvar
    dmu = np.sum(dxc, axis=0)
    dx = dxc - dmu / n
    return dx, dgamma, dbeta
'''


@pytest.mark.parametrize(("module", "alternative"),
                         [("nn", ALTERNATIVE_NN), ("init", ALTERNATIVE_INIT),
                          ("layers", ALTERNATIVE_LAYERS)],
                         ids=["nn", "init", "layers"])
def test_correct_alternatives_get_full_marks(module, alternative, solved_a4, tmp_path):
    report = check_submission("a4_init_norm",
                              make_submission(solved_a4, tmp_path, module, alternative),
                              device="cpu")
    failures = [f"{r.name}: {r.message}" for r in report.results if not r.passed]
    assert failures == []
    assert report.score == report.max_score == EXPECTED_FULL_MARKS
