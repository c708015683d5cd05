"""The common mistakes of a4_init_norm, each as a patch of a reference module (``nn.py``
unless named; see ``autograder.mistakes``). A part names a mistake only when the student's
answer is the one the patched reference gives; for random draws, when the student's draws
are drawn as the patched reference's are (``autograder.checks.a4_init_norm``)."""
import textwrap

from autograder.mistakes import Catalogue

MISTAKES = Catalogue("a4_init_norm", module="nn.py")
add = MISTAKES.add


def draws(function, draw, scale, fan="fan_in if mode == 'fan_in' else fan_out"):
    """A patch of ``init.<function>`` that draws with ``draw`` ("uniform": U(-scale, scale),
    "normal": scale times N(0, 1)), ``scale`` an expression of the arguments, ``gain`` (the
    Kaiming functions' calculate_gain(nonlinearity)) and ``fan`` (their fan of ``mode``)."""
    kaiming = function.startswith("kaiming")
    arguments = ('nonlinearity="relu", mode="fan_in"' if kaiming else "gain=1.0")
    prelude = (f"gain, fan = calculate_gain(nonlinearity), {fan}\n        " if kaiming else "")
    body = ("rng.uniform(-scale, scale, (fan_in, fan_out))" if draw == "uniform"
            else "scale * rng.standard_normal((fan_in, fan_out))")
    return f"""
    def {function}(fan_in, fan_out, {arguments}, rng=None):
        {prelude}scale, rng = {scale}, as_generator(rng)
        return {body}
    """


def kaiming(bound, std, fan="fan_in if mode == 'fan_in' else fan_out"):
    """Both Kaiming functions drawing with these scales (see ``draws``)."""
    return (draws("kaiming_uniform", "uniform", bound, fan)
            + draws("kaiming_normal", "normal", std, fan))


def xavier(bound, std):
    """Both Xavier functions drawing with these scales (see ``draws``)."""
    return draws("xavier_uniform", "uniform", bound) + draws("xavier_normal", "normal", std)


TRANSPOSED = ("minidl's weights have shape (fan_in, fan_out), the transpose of PyTorch's "
              "(out, in)")

# ---------------------------------------------------------------- Xavier

add("xavier with fan_in alone", "init.xavier",
    "it uses fan_in alone; Xavier's variance is gain^2 * 2 / (fan_in + fan_out): Xavier's "
    "bound is gain * sqrt(6 / (fan_in + fan_out)) and its standard deviation gain * "
    "sqrt(2 / (fan_in + fan_out))",
    xavier("gain * math.sqrt(6.0 / fan_in)", "gain * math.sqrt(2.0 / fan_in)"), "init.py")

add("xavier with fan_out alone", "init.xavier",
    "it uses fan_out alone; Xavier's variance is gain^2 * 2 / (fan_in + fan_out): Xavier's "
    "bound is gain * sqrt(6 / (fan_in + fan_out)) and its standard deviation gain * "
    "sqrt(2 / (fan_in + fan_out))",
    xavier("gain * math.sqrt(6.0 / fan_out)", "gain * math.sqrt(2.0 / fan_out)"), "init.py")

add("xavier without the gain", "init.xavier",
    "the gain is missing: multiply the bound and the standard deviation by gain",
    xavier("math.sqrt(6.0 / (fan_in + fan_out))", "math.sqrt(2.0 / (fan_in + fan_out))"),
    "init.py")

add("xavier with gain squared", "init.xavier",
    "the scale is multiplied by gain^2; it scales with gain (the variance with gain^2)",
    xavier("gain**2 * math.sqrt(6.0 / (fan_in + fan_out))",
           "gain**2 * math.sqrt(2.0 / (fan_in + fan_out))"), "init.py")

add("xavier uniform bound set to the standard deviation", "init.xavier",
    "that is the standard deviation; a uniform U(-b, b) has standard deviation b / sqrt(3), "
    "so b = sqrt(3) * std = gain * sqrt(6 / (fan_in + fan_out))",
    draws("xavier_uniform", "uniform", "gain * math.sqrt(2.0 / (fan_in + fan_out))"),
    "init.py")

add("xavier normal with the variance as standard deviation", "init.xavier",
    "that is the variance used as the standard deviation: take its square root",
    draws("xavier_normal", "normal", "gain * 2.0 / (fan_in + fan_out)"), "init.py")

add("xavier normal with 1 / fan_in", "init.xavier",
    "that is gain * sqrt(1 / fan_in): Xavier's variance is gain^2 * 2 / (fan_in + fan_out)",
    draws("xavier_normal", "normal", "gain * math.sqrt(1.0 / fan_in)"), "init.py")

add("xavier normal with the uniform bound", "init.xavier",
    "that is the uniform bound gain * sqrt(6 / (fan_in + fan_out)); a normal draw uses "
    "std = gain * sqrt(2 / (fan_in + fan_out))",
    draws("xavier_normal", "normal", "gain * math.sqrt(6.0 / (fan_in + fan_out))"), "init.py")

add("xavier normal drawn uniformly", "init.xavier",
    "this looks like a uniform draw (U(-b, b) puts no entry beyond 2 standard deviations): "
    "draw from the normal distribution",
    draws("xavier_normal", "uniform", "gain * math.sqrt(6.0 / (fan_in + fan_out))"),
    "init.py")

add("xavier uniform drawn from a normal", "init.xavier",
    "a normal draw has no bound; use a uniform one, U(-b, b)",
    draws("xavier_uniform", "normal", "gain * math.sqrt(2.0 / (fan_in + fan_out))"),
    "init.py")

add("xavier weights in PyTorch's shape", "init.xavier", TRANSPOSED, """
    _right_xavier = xavier_uniform, xavier_normal
    xavier_uniform = lambda fan_in, fan_out, gain=1.0, rng=None: _right_xavier[0](
        fan_out, fan_in, gain, rng)
    xavier_normal = lambda fan_in, fan_out, gain=1.0, rng=None: _right_xavier[1](
        fan_out, fan_in, gain, rng)
    """, "init.py")

# ---------------------------------------------------------------- gains and Kaiming

add("ReLU's gain 2", "init.kaiming",
    "ReLU's gain is sqrt(2): it doubles the variance, not the scale", """
    def calculate_gain(nonlinearity):
        return {"linear": 1.0, "sigmoid": 1.0, "tanh": 5.0 / 3.0, "relu": 2.0}[nonlinearity]
    """, "init.py")

add("every gain 1", "init.kaiming",
    "the gain is 1 only for linear and sigmoid: tanh's is 5/3 and ReLU's sqrt(2), to make "
    "up for how much each shrinks its input", """
    def calculate_gain(nonlinearity):
        return 1.0
    """, "init.py")

add("kaiming without the gain", "init.kaiming",
    "the gain is missing: He's scale is gain / sqrt(fan) with gain = "
    "calculate_gain(nonlinearity), sqrt(2) for ReLU",
    kaiming("math.sqrt(3.0 / fan)", "1.0 / math.sqrt(fan)"), "init.py")

add("kaiming with the fans swapped", "init.kaiming",
    "fan_in and fan_out are swapped: mode='fan_in' uses fan_in (the first dimension of the "
    "weight) and mode='fan_out' fan_out",
    kaiming("gain * math.sqrt(3.0 / fan)", "gain / math.sqrt(fan)",
            fan="fan_out if mode == 'fan_in' else fan_in"), "init.py")

add("kaiming ignores the mode", "init.kaiming",
    "it uses fan_in whatever the mode: mode='fan_out' uses fan_out (the second dimension of "
    "the weight)",
    kaiming("gain * math.sqrt(3.0 / fan)", "gain / math.sqrt(fan)", fan="fan_in"), "init.py")

add("kaiming with the square root of the gain", "init.kaiming",
    "that uses sqrt(gain); the scale is gain / sqrt(fan), so the variance is gain^2 / fan",
    kaiming("math.sqrt(3.0 * gain / fan)", "math.sqrt(gain / fan)"), "init.py")

add("kaiming with gain squared", "init.kaiming",
    "that uses gain^2 in the scale; the variance is gain^2 / fan, the scale gain / sqrt(fan)",
    kaiming("gain**2 * math.sqrt(3.0 / fan)", "gain**2 / math.sqrt(fan)"), "init.py")

add("kaiming divides by the fan", "init.kaiming",
    "that divides by fan; the scale is gain / sqrt(fan)",
    kaiming("gain * math.sqrt(3.0) / fan", "gain / fan"), "init.py")

add("kaiming with Xavier's scale", "init.kaiming",
    "that is Xavier's scale; He's uses only the fan of mode",
    kaiming("gain * math.sqrt(6.0 / (fan_in + fan_out))",
            "gain * math.sqrt(2.0 / (fan_in + fan_out))"), "init.py")

add("kaiming uniform bound set to the standard deviation", "init.kaiming",
    "that is the standard deviation; the uniform bound is sqrt(3) times it",
    draws("kaiming_uniform", "uniform", "gain / math.sqrt(fan)"), "init.py")

add("kaiming normal with the uniform bound", "init.kaiming",
    "that is the uniform bound; the normal draw uses std = gain / sqrt(fan)",
    draws("kaiming_normal", "normal", "gain * math.sqrt(3.0 / fan)"), "init.py")

add("kaiming weights in PyTorch's shape", "init.kaiming", TRANSPOSED, """
    _right_kaiming = kaiming_uniform, kaiming_normal
    kaiming_uniform = lambda fan_in, fan_out, nonlinearity="relu", mode="fan_in", rng=None: (
        _right_kaiming[0](fan_in, fan_out, nonlinearity, mode, rng).T)
    kaiming_normal = lambda fan_in, fan_out, nonlinearity="relu", mode="fan_in", rng=None: (
        _right_kaiming[1](fan_in, fan_out, nonlinearity, mode, rng).T)
    """, "init.py")

# ---------------------------------------------------------------- Linear


def linear_drawing(bound):
    """A patch of ``Linear.__init__`` drawing weight and bias from U(-bound, bound)."""
    return f"""
    def _init(self, in_features, out_features, bias=True, rng=None):
        Module.__init__(self)
        self.in_features, self.out_features = in_features, out_features
        rng, k = as_generator(rng), {bound}
        self.weight = parameter(rng.uniform(-k, k, (in_features, out_features)))
        self.bias = parameter(rng.uniform(-k, k, out_features)) if bias else None
    Linear.__init__ = _init
    """


add("Linear's bound with out_features", "Linear.init",
    "the bound uses out_features; it is 1 / sqrt(in_features)",
    linear_drawing("1 / math.sqrt(out_features)"))

add("Linear's bound without the square root", "Linear.init",
    "the bound is 1 / sqrt(in_features): take the square root", linear_drawing("1 / in_features"))

add("Linear with Xavier's bound", "Linear.init",
    "that is Xavier's bound; PyTorch's Linear uses 1 / sqrt(in_features)",
    linear_drawing("math.sqrt(6 / (in_features + out_features))"))

add("Linear with He's bound", "Linear.init",
    "that is He's bound for ReLU; PyTorch's Linear uses 1 / sqrt(in_features)",
    linear_drawing("math.sqrt(6 / in_features)"))

add("Linear's weight stored as (out, in)", "Linear.init",
    "minidl's Linear computes x @ weight, so weight is (in_features, out_features), the "
    "transpose of PyTorch's", """
    def _init(self, in_features, out_features, bias=True, rng=None):
        Module.__init__(self)
        self.in_features, self.out_features = in_features, out_features
        rng, k = as_generator(rng), 1 / math.sqrt(in_features)
        self.weight = parameter(rng.uniform(-k, k, (out_features, in_features)))
        self.bias = parameter(rng.uniform(-k, k, out_features)) if bias else None
    Linear.__init__ = _init
    Linear.forward = lambda self, x: as_tensor(x) @ self.weight.T + self.bias
    """)

add("Linear without the bias", "Linear.forward_backward",
    "the bias is missing: add bias, x @ weight + bias", """
    Linear.forward = lambda self, x: as_tensor(x) @ self.weight
    """)

add("Linear adds the bias twice", "Linear.forward_backward", "the bias is added twice", """
    def _forward(self, x):
        out = as_tensor(x) @ self.weight
        return out if self.bias is None else out + self.bias + self.bias
    Linear.forward = _forward
    """)

add("Linear subtracts the bias", "Linear.forward_backward",
    "the bias is subtracted: x @ weight + bias", """
    def _forward(self, x):
        out = as_tensor(x) @ self.weight
        return out if self.bias is None else out - self.bias
    Linear.forward = _forward
    """)

# ---------------------------------------------------------------- Module

add("named_parameters without the children", "Module.named_parameters",
    "it gives the module's own parameters only: include the parameters of every descendant "
    "(recurse into the children)", """
    Module.named_parameters = lambda self, prefix="": [
        (prefix + n, t) for n, t in self.own_parameters()]
    """)

add("named_parameters without the prefixes", "Module.named_parameters",
    "it gives the names without the children's names: put the child's name and a dot in "
    "front (\"0.weight\")", """
    def _named(self, prefix=""):
        found = list(self.own_parameters())
        for _, child in self.children():
            found += child.named_parameters()
        return found
    Module.named_parameters = _named
    """)

add("named_parameters with the buffers", "Module.named_parameters",
    "it includes the buffers: running statistics get no gradient and are not parameters", """
    _right_named = Module.named_parameters
    def _named(self, prefix=""):
        return _right_named(self, prefix) + [
            (n, Tensor(b, requires_grad=True)) for n, b in self.named_buffers(prefix)]
    Module.named_parameters = _named
    """)

add("train does not reach the children", "Module.train_eval",
    "it sets training on the module alone: set it on every descendant too (recurse into the "
    "children)", """
    def _train(self, mode=True):
        self.training = mode
        return self
    Module.train = _train
    """)

add("state_dict without the buffers", "Module.state_dict",
    "it misses the buffers: the running statistics are part of a trained model and must be "
    "saved too", """
    Module.state_dict = lambda self: {n: t.data.copy() for n, t in self.named_parameters()}
    """)

# ---------------------------------------------------------------- Sequential and Residual

add("Sequential applies only the first module", "Sequential",
    "only the first module is applied: apply every module, in order, each to the previous "
    "one's output", """
    Sequential.forward = lambda self, x: self.children()[0][1](x)
    """)

add("Sequential returns its input", "Sequential",
    "the input came back unchanged: apply every module, in order, each to the previous one's "
    "output", """
    def _forward(self, x):
        for _, module in self.children():
            module(x)
        return x
    Sequential.forward = _forward
    """)

add("Sequential in reverse order", "Sequential",
    "the modules were applied in reverse order: apply the first one first", """
    def _forward(self, x):
        for _, module in reversed(self.children()):
            x = module(x)
        return x
    Sequential.forward = _forward
    """)

add("Residual without the skip", "Residual",
    "that is f(x): the skip connection adds x, x + f(x)", """
    Residual.forward = lambda self, x: self.module(as_tensor(x))
    """)

add("Residual returns x", "Residual", "that is x alone: add the module's output, x + f(x)", """
    Residual.forward = lambda self, x: as_tensor(x) * 1.0
    """)

add("Residual adds x twice", "Residual", "x is added twice: x + f(x)", """
    Residual.forward = lambda self, x: as_tensor(x) + self.module(as_tensor(x)) + x
    """)

# ---------------------------------------------------------------- Dropout


def dropout_returning(output):
    """A patch of ``Dropout.forward`` returning ``output`` (of x, keep and p) in training mode
    with 0 < p, ``keep`` the mask of the entries kept with probability 1 - p."""
    return f"""
    def _forward(self, x):
        x, p = as_tensor(x), self.p
        if not self.training or p == 0:
            return x
        keep = self.rng.random(x.shape) >= p
        return {output}
    Dropout.forward = _forward
    """


add("Dropout keeps with probability p", "Dropout.train",
    "p is the probability to *drop* an entry; keep it with probability 1 - p", """
    def _forward(self, x):
        x = as_tensor(x)
        if not self.training or self.p == 0:
            return x
        return x * ((self.rng.random(x.shape) < self.p) / (1 - self.p))
    Dropout.forward = _forward
    """)

add("Dropout without rescaling", "Dropout.train",
    "the kept entries are not rescaled: multiply them by 1 / (1 - p) (inverted dropout), so "
    "that the expected output equals the input and eval mode needs no change",
    dropout_returning("x * keep"))

add("Dropout multiplies by 1 - p", "Dropout.train",
    "the kept entries are multiplied by 1 - p; divide by it instead (inverted dropout scales "
    "by 1 / (1 - p))", dropout_returning("x * (keep * (1 - p))"))

add("Dropout rescales the values only", "Dropout.train",
    "the gradient must be scaled by 1 / (1 - p) too: multiply x by mask / (1 - p), a Tensor "
    "operation", dropout_returning("x * keep + Tensor((x * keep).data * p / (1 - p))"))

add("Dropout with p = 1 divides by zero", "Dropout.eval_edge_cases",
    "with p = 1 nothing survives, so there is nothing to rescale: do not divide by "
    "1 - p = 0", """
    def _forward(self, x):
        x = as_tensor(x)
        if not self.training or self.p == 0:
            return x
        with np.errstate(divide="ignore", invalid="ignore"):
            return (x * (self.rng.random(x.shape) >= self.p)) / (1 - self.p)
    Dropout.forward = _forward
    """)

# ---------------------------------------------------------------- batch norm: what both the
# functional version (layers.py) and BatchNorm1d get wrong

UNBIASED = ("it normalizes with the unbiased variance (divided by N - 1); batch norm "
            "normalizes with the biased one (divided by N) and uses the unbiased one only for "
            "running_var")
BATCH_IN_EVAL = ("in eval mode it uses the batch statistics; it must use running_mean and "
                 "running_var, so that a sample's output does not depend on its batch")
RUNNING_IN_TRAIN = ("in train mode it uses the running statistics; it must normalize with the "
                    "batch mean and variance")
EPS_OUTSIDE = "it divides by sqrt(var) + eps; eps goes inside the square root, sqrt(var + eps)"
BIASED_RUNNING = ("running_var is updated with the biased batch variance; PyTorch's "
                  "running_var uses the unbiased one, var * N / (N - 1)")
MOMENTUM_SWAPPED = ("momentum is applied the wrong way round: running = (1 - momentum) * "
                    "running + momentum * batch statistic")
NOT_UPDATED = "the running statistics were not updated in train mode"
NO_VARIANCE_PATH = "the term through the variance is missing"
NO_MEAN_PATH = "the term through the mean is missing"


def batchnorm_forward_then(step):
    """A patch of ``batchnorm_forward`` that calls the reference, then runs ``step``: code that
    may change ``out`` and ``bn_param``, with ``mean`` and ``var`` the running statistics
    before the call, ``eps``, ``m`` (the momentum) and ``train`` (the mode is "train")."""
    step = textwrap.indent(textwrap.dedent(step).strip(), " " * 8)
    return f"""
    _right_forward = batchnorm_forward
    def batchnorm_forward(x, gamma, beta, bn_param):
        d = np.shape(x)[1]
        mean = np.array(bn_param.get("running_mean", np.zeros(d)))
        var = np.array(bn_param.get("running_var", np.ones(d)))
        eps, m = bn_param.get("eps", 1e-5), bn_param.get("momentum", 0.1)
        train = bn_param.get("mode", "train") == "train"
        out, cache = _right_forward(x, gamma, beta, bn_param)
{step}
        return out, cache
    """


add("batchnorm_forward normalizes with the unbiased variance", "batchnorm_forward", UNBIASED,
    batchnorm_forward_then("""
        if train:
            out = gamma * (x - x.mean(axis=0)) / np.sqrt(x.var(axis=0, ddof=1) + eps) + beta
        """), "layers.py")

add("batchnorm_forward uses the batch statistics in eval", "batchnorm_forward", BATCH_IN_EVAL,
    batchnorm_forward_then("""
        if not train:
            out = gamma * (x - x.mean(axis=0)) / np.sqrt(x.var(axis=0) + eps) + beta
        """), "layers.py")

add("batchnorm_forward uses the running statistics in train", "batchnorm_forward",
    RUNNING_IN_TRAIN, batchnorm_forward_then("""
        out = gamma * (x - mean) / np.sqrt(var + eps) + beta
        """), "layers.py")

add("batchnorm_forward with sqrt(var) + eps", "batchnorm_forward", EPS_OUTSIDE,
    batchnorm_forward_then("""
        x_hat, inv_std = cache[0], cache[1]
        out = gamma * (x_hat / inv_std) / (np.sqrt(1 / inv_std**2 - eps) + eps) + beta
        """), "layers.py")

add("batchnorm_forward with a biased running_var", "batchnorm_forward", BIASED_RUNNING,
    batchnorm_forward_then("""
        if train:
            bn_param["running_var"][...] = (1 - m) * var + m * np.var(x, axis=0)
        """), "layers.py")

add("batchnorm_forward with momentum the wrong way round", "batchnorm_forward",
    MOMENTUM_SWAPPED, batchnorm_forward_then("""
        if train:
            n = len(x)
            bn_param["running_mean"][...] = m * mean + (1 - m) * np.mean(x, axis=0)
            bn_param["running_var"][...] = m * var + (1 - m) * np.var(x, axis=0) * n / (n - 1)
        """), "layers.py")

add("batchnorm_forward without the update", "batchnorm_forward", NOT_UPDATED,
    batchnorm_forward_then("""
        bn_param["running_mean"][...], bn_param["running_var"][...] = mean, var
        """), "layers.py")

add("batchnorm_backward without the statistics' paths", "batchnorm_backward",
    "the batch mean and variance depend on x too: dx has terms through them", """
    def batchnorm_backward(dout, cache):
        x_hat, inv_std, gamma, mode = cache
        return dout * gamma * inv_std, (dout * x_hat).sum(axis=0), dout.sum(axis=0)
    """, "layers.py")

add("batchnorm_backward without the variance's path", "batchnorm_backward", NO_VARIANCE_PATH,
    """
    def batchnorm_backward(dout, cache):
        x_hat, inv_std, gamma, mode = cache
        g = dout * gamma
        dx = g * inv_std if mode == "eval" else inv_std * (g - g.mean(axis=0))
        return dx, (dout * x_hat).sum(axis=0), dout.sum(axis=0)
    """, "layers.py")

add("batchnorm_backward without the mean's path", "batchnorm_backward", NO_MEAN_PATH, """
    def batchnorm_backward(dout, cache):
        x_hat, inv_std, gamma, mode = cache
        g = dout * gamma
        dx = (g * inv_std if mode == "eval"
              else inv_std * (g - x_hat * (g * x_hat).mean(axis=0)))
        return dx, (dout * x_hat).sum(axis=0), dout.sum(axis=0)
    """, "layers.py")

# ---------------------------------------------------------------- BatchNorm1d


def batchnorm1d_normalizing(mean, var, normalized="(x - mean) * (var + self.eps) ** -0.5",
                            train_only=True):
    """A patch of ``BatchNorm1d.forward`` that normalizes the Tensor x as ``normalized`` with
    ``mean`` and ``var`` (expressions of x, computed before the reference updates the running
    statistics, as it should), in training mode only unless ``train_only`` is False."""
    in_eval = ("" if not train_only else
               "if not self.training:\n            return _right_bn_forward(self, x)\n        ")
    return f"""
    _right_bn_forward = BatchNorm1d.forward
    def _forward(self, x):
        x = as_tensor(x)
        {in_eval}mean = {mean}
        var = {var}
        _right_bn_forward(self, Tensor(x.data))
        return {normalized} * self.weight + self.bias
    BatchNorm1d.forward = _forward
    """


for part in ("BatchNorm1d.train", "BatchNorm1d.running_stats"):
    add(f"BatchNorm1d normalizes with the unbiased variance ({part})", part, UNBIASED,
        batchnorm1d_normalizing("x.mean(axis=0)",
                                "((x - mean) ** 2).sum(axis=0) / (x.shape[0] - 1)"))
    add(f"BatchNorm1d uses the running statistics in train ({part})", part, RUNNING_IN_TRAIN,
        batchnorm1d_normalizing("self.running_mean.copy()", "self.running_var.copy()"))
    add(f"BatchNorm1d with sqrt(var) + eps ({part})", part, EPS_OUTSIDE,
        batchnorm1d_normalizing(
            "x.mean(axis=0) if self.training else self.running_mean",
            "((x - mean) ** 2).mean(axis=0) if self.training else self.running_var",
            normalized="(x - mean) / (var ** 0.5 + self.eps)", train_only=False))

add("BatchNorm1d with the statistics of x.data", "BatchNorm1d.train",
    "the batch mean and variance depend on x too: compute them with Tensor operations, not "
    "from x.data, so that the gradient has the terms through them",
    batchnorm1d_normalizing("x.data.mean(axis=0)", "x.data.var(axis=0)"))

add("BatchNorm1d with the variance of x.data", "BatchNorm1d.train", NO_VARIANCE_PATH,
    batchnorm1d_normalizing("x.mean(axis=0)", "Tensor(x.data.var(axis=0))"))

add("BatchNorm1d with the mean of x.data", "BatchNorm1d.train", NO_MEAN_PATH,
    batchnorm1d_normalizing("Tensor(x.data.mean(axis=0))", "((x - mean) ** 2).mean(axis=0)"))

add("BatchNorm1d uses the batch statistics in eval", "BatchNorm1d.running_stats",
    BATCH_IN_EVAL, """
    _right_bn_forward = BatchNorm1d.forward
    def _forward(self, x):
        if self.training:
            return _right_bn_forward(self, x)
        x = as_tensor(x)
        mean = x.mean(axis=0)
        var = ((x - mean) ** 2).mean(axis=0)
        return (x - mean) * (var + self.eps) ** -0.5 * self.weight + self.bias
    BatchNorm1d.forward = _forward
    """)

add("BatchNorm1d with a biased running_var", "BatchNorm1d.running_stats", BIASED_RUNNING, """
    _right_bn_forward = BatchNorm1d.forward
    def _forward(self, x):
        x = as_tensor(x)
        before = self.running_var.copy()
        out = _right_bn_forward(self, x)
        if self.training:
            m = self.momentum
            self.running_var[...] = (1 - m) * before + m * x.data.var(axis=0)
        return out
    BatchNorm1d.forward = _forward
    """)

add("BatchNorm1d with momentum the wrong way round", "BatchNorm1d.running_stats",
    MOMENTUM_SWAPPED, """
    _right_bn_forward = BatchNorm1d.forward
    def _forward(self, x):
        x = as_tensor(x)
        mean, var = self.running_mean.copy(), self.running_var.copy()
        out = _right_bn_forward(self, x)
        if self.training:
            m = self.momentum
            self.running_mean[...] = m * mean + (1 - m) * x.data.mean(axis=0)
            self.running_var[...] = m * var + (1 - m) * x.data.var(axis=0, ddof=1)
        return out
    BatchNorm1d.forward = _forward
    """)

add("BatchNorm1d without the update", "BatchNorm1d.running_stats", NOT_UPDATED, """
    _right_bn_forward = BatchNorm1d.forward
    def _forward(self, x):
        before = self.running_mean.copy(), self.running_var.copy()
        out = _right_bn_forward(self, x)
        self.running_mean[...], self.running_var[...] = before
        return out
    BatchNorm1d.forward = _forward
    """)

# ---------------------------------------------------------------- LayerNorm, in both its parts

for part in ("LayerNorm", "LayerNorm.edge_cases"):
    add(f"LayerNorm over the batch ({part})", part,
        "it normalizes over the batch (axis 0), as batch norm does; layer norm normalizes "
        "each sample over its last dimension", """
        def _forward(self, x):
            x = as_tensor(x)
            centered = x - x.mean(axis=0)
            var = (centered ** 2).mean(axis=0)
            return centered * (var + self.eps) ** -0.5 * self.weight + self.bias
        LayerNorm.forward = _forward
        """)
    add(f"LayerNorm with the unbiased variance ({part})", part,
        "it uses the unbiased variance (divided by D - 1); LayerNorm uses the biased one "
        "(divided by D)", """
        def _forward(self, x):
            x = as_tensor(x)
            centered = x - x.mean(axis=-1, keepdims=True)
            var = (centered ** 2).sum(axis=-1, keepdims=True) / (x.shape[-1] - 1)
            return centered * (var + self.eps) ** -0.5 * self.weight + self.bias
        LayerNorm.forward = _forward
        """)
    add(f"LayerNorm without weight and bias ({part})", part,
        "weight and bias are not applied: multiply by weight, then add bias", """
        def _forward(self, x):
            x = as_tensor(x)
            centered = x - x.mean(axis=-1, keepdims=True)
            return centered * ((centered ** 2).mean(axis=-1, keepdims=True) + self.eps) ** -0.5
        LayerNorm.forward = _forward
        """)
    add(f"LayerNorm with sqrt(var) + eps ({part})", part, EPS_OUTSIDE, """
        def _forward(self, x):
            x = as_tensor(x)
            centered = x - x.mean(axis=-1, keepdims=True)
            std = ((centered ** 2).mean(axis=-1, keepdims=True)) ** 0.5
            return centered / (std + self.eps) * self.weight + self.bias
        LayerNorm.forward = _forward
        """)
