"""Held-out wrong code and correct alternatives for a4_init_norm (see tests/test_mutations.py).

A held-out bug is realistic wrong code written apart from the catalogue of mistakes; its
"explanation" is the text the part's message must contain. Those of ``minidl.init`` change
one function of a pair: the catalogue's change both, and a wrong draw is explained function
by function.
"""
from autograder.mistakes import Catalogue

HELD_OUT = Catalogue("a4_init_norm", module="nn.py")

HELD_OUT.add(
    'xavier bound missing fan_out', 'init.xavier',
    "Xavier's bound is gain * sqrt(6 / (fan_in + fan_out))", """
        def xavier_uniform(fan_in, fan_out, gain=1.0, rng=None):
            bound = gain * math.sqrt(6.0 / fan_in)
            return as_generator(rng).uniform(-bound, bound, (fan_in, fan_out))
        """, module='init.py')

HELD_OUT.add(
    "xavier in PyTorch's (out, in) shape", 'init.xavier',
    "the transpose of PyTorch's", """
        def xavier_uniform(fan_in, fan_out, gain=1.0, rng=None):
            bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
            return as_generator(rng).uniform(-bound, bound, (fan_out, fan_in))
        """, module='init.py')

HELD_OUT.add(
    'kaiming without the gain', 'init.kaiming',
    'the gain is missing', """
        def kaiming_normal(fan_in, fan_out, nonlinearity="relu", mode="fan_in", rng=None):
            fan = fan_in if mode == "fan_in" else fan_out
            return as_generator(rng).standard_normal((fan_in, fan_out)) / math.sqrt(fan)
        """, module='init.py')

HELD_OUT.add(
    'kaiming with fan_in and fan_out swapped', 'init.kaiming',
    'fan_in and fan_out are swapped', """
        def kaiming_uniform(fan_in, fan_out, nonlinearity="relu", mode="fan_in", rng=None):
            fan = fan_out if mode == "fan_in" else fan_in
            bound = calculate_gain(nonlinearity) * math.sqrt(3.0 / fan)
            return as_generator(rng).uniform(-bound, bound, (fan_in, fan_out))
        """, module='init.py')

HELD_OUT.add(
    'draws ignore rng', 'init.rng',
    'an int seed must seed a new generator', """
        def xavier_uniform(fan_in, fan_out, gain=1.0, rng=None):
            bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
            return np.random.default_rng().uniform(-bound, bound, (fan_in, fan_out))
        """, module='init.py')

HELD_OUT.add(
    'draws always reseed with 0', 'init.rng',
    'draw from the generator the seed makes', """
        def xavier_uniform(fan_in, fan_out, gain=1.0, rng=None):
            bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
            return np.random.default_rng(0).uniform(-bound, bound, (fan_in, fan_out))
        """, module='init.py')

HELD_OUT.add(
    'a Generator reseeded from its first number', 'init.rng',
    'do not reseed', """
        def xavier_uniform(fan_in, fan_out, gain=1.0, rng=None):
            if isinstance(rng, np.random.Generator):
                rng = np.random.default_rng(12345)
            bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
            return as_generator(rng).uniform(-bound, bound, (fan_in, fan_out))
        """, module='init.py')

HELD_OUT.add(
    'linear bias initialized to zeros', 'Linear.init',
    'bias is all zeros', """
        def _init(self, in_features, out_features, bias=True, rng=None):
            Module.__init__(self)
            self.in_features, self.out_features = in_features, out_features
            rng, k = as_generator(rng), 1 / math.sqrt(in_features)
            self.weight = parameter(rng.uniform(-k, k, (in_features, out_features)))
            self.bias = parameter(np.zeros(out_features)) if bias else None
        Linear.__init__ = _init
        """, module='nn.py')

HELD_OUT.add(
    'named_parameters returns copies', 'Module.named_parameters',
    'not copies', """
        _reference_named = Module.named_parameters
        Module.named_parameters = lambda self, prefix="": [
            (n, Tensor(t.data, requires_grad=True)) for n, t in _reference_named(self, prefix)]
        """, module='nn.py')

HELD_OUT.add(
    'train returns nothing', 'Module.train_eval',
    'must return the module itself', """
        def _train(self, mode=True):
            self.training = mode
            for _, child in self.children():
                child.train(mode)
        Module.train = _train
        """, module='nn.py')

HELD_OUT.add(
    'train ignores its mode', 'Module.train_eval',
    'have training=True', """
        def _train(self, mode=True):
            self.training = True
            for _, child in self.children():
                child.train(mode)
            return self
        Module.train = _train
        """, module='nn.py')

HELD_OUT.add(
    'zero_grad only on its own parameters', 'Module.zero_grad',
    'still have a gradient', """
        def _zero_grad(self):
            for _, t in self.own_parameters():
                t.grad = None
        Module.zero_grad = _zero_grad
        """, module='nn.py')

HELD_OUT.add(
    'zero_grad does nothing', 'Module.zero_grad',
    'still have a gradient', """
        Module.zero_grad = lambda self: None
        """, module='nn.py')

HELD_OUT.add(
    'zero_grad halves the gradients', 'Module.zero_grad',
    'reset the .grad of every parameter', """
        def _zero_grad(self):
            for t in self.parameters():
                t.grad = t.grad * 0.5
        Module.zero_grad = _zero_grad
        """, module='nn.py')

HELD_OUT.add(
    'state_dict returns references', 'Module.state_dict',
    'store copies', """
        def _state_dict(self):
            state = {n: t.data for n, t in self.named_parameters()}
            state.update(self.named_buffers())
            return state
        Module.state_dict = _state_dict
        """, module='nn.py')

HELD_OUT.add(
    'state_dict with flat names', 'Module.state_dict',
    'has the keys', """
        def _state_dict(self):
            state = {n: t.data.copy() for n, t in self.own_parameters()}
            for _, child in self.children():
                state.update(child.state_dict())
            return state
        Module.state_dict = _state_dict
        """, module='nn.py')

HELD_OUT.add(
    'relu returns an array', 'activations',
    'not a Tensor', """
        ReLU.forward = lambda self, x: np.maximum(as_tensor(x).data, 0.0)
        """, module='nn.py')

HELD_OUT.add(
    'sigmoid that overflows', 'activations',
    'NaN or inf', """
        Sigmoid.forward = lambda self, x: 1.0 / (1.0 + (-as_tensor(x)).exp())
        """, module='nn.py')

HELD_OUT.add(
    'tanh as 2 sigmoid - 1', 'activations',
    'is wrong', """
        Tanh.forward = lambda self, x: 2.0 * as_tensor(x).sigmoid() - 1.0
        """, module='nn.py')

HELD_OUT.add(
    'dropout mask drawn once', 'Dropout.train',
    'draw a new mask at every call', """
        def _forward(self, x):
            x = as_tensor(x)
            if not self.training or self.p == 0:
                return x
            if getattr(self, "_mask", None) is None or self._mask.shape != x.shape:
                self._mask = (self.rng.random(x.shape) >= self.p) / (1 - self.p)
            return x * self._mask
        Dropout.forward = _forward
        """, module='nn.py')

HELD_OUT.add(
    'dropout active in eval mode', 'Dropout.eval_edge_cases',
    'must be the identity', """
        def _forward(self, x):
            x = as_tensor(x)
            if self.p == 0:
                return x
            if self.p == 1:
                return x * 0.0
            return x * ((self.rng.random(x.shape) >= self.p) / (1 - self.p))
        Dropout.forward = _forward
        """, module='nn.py')

HELD_OUT.add(
    'functional dgamma without x_hat', 'batchnorm_backward',
    'dgamma of batchnorm_backward', """
        _reference_backward = batchnorm_backward
        def batchnorm_backward(dout, cache):
            dx, _, dbeta = _reference_backward(dout, cache)
            return dx, dout.sum(axis=0), dbeta
        """, module='layers.py')

HELD_OUT.add(
    'module normalizes with the unbiased variance', 'BatchNorm1d.train',
    'normalizes with the unbiased variance', """
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
        """, module='nn.py')

HELD_OUT.add(
    "BatchNorm1d normalizes one sample in train mode", "BatchNorm1d.edge_cases",
    "must raise ValueError", """
        _reference_bn = BatchNorm1d.forward
        def _forward(self, x):
            x = as_tensor(x)
            if self.training and x.shape[0] == 1:
                return x * 0.0 + self.bias
            return _reference_bn(self, x)
        BatchNorm1d.forward = _forward
        """)

HELD_OUT.add(
    "BatchNorm1d ignores its momentum", "network", "running_mean after", """
        _reference_bn_init = BatchNorm1d.__init__
        def _init(self, num_features, eps=1e-5, momentum=0.1):
            _reference_bn_init(self, num_features, eps)
        BatchNorm1d.__init__ = _init
        """)


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


ALTERNATIVES = {"nn": {"nn.py": ALTERNATIVE_NN}, "init": {"init.py": ALTERNATIVE_INIT},
                "layers": {"layers.py": ALTERNATIVE_LAYERS}}
