"""The common mistakes of a2_backprop, each as a patch of ``minidl/layers.py`` (see
``autograder.mistakes``). A part names a mistake only when the student's answer is the one
the patched reference gives."""
import textwrap

from autograder.mistakes import Catalogue

MISTAKES = Catalogue("a2_backprop", module="layers.py")
add = MISTAKES.add


def backward_returning(layer, dx):
    """A patch of ``<layer>_backward`` that returns ``dx``, an expression of ``dout`` and the
    reference's cache."""
    return f"""
    def {layer}_backward(dout, cache):
        return {dx}
    """


def caching_the_input(layer, dx):
    """A patch in which ``<layer>_forward`` keeps its input x in the cache, not its output,
    and ``<layer>_backward`` returns ``dx``, an expression of ``dout`` and that cache."""
    return f"""
    _right_{layer}_forward = {layer}_forward
    def {layer}_forward(x):
        return _right_{layer}_forward(x)[0], as_float_array("x", x)
    """ + backward_returning(layer, dx)

# ---------------------------------------------------------------- linear_forward

add("linear forward without the bias", "linear.forward",
    "the bias b is missing: out = x @ W + b", """
    _right_linear_forward = linear_forward
    def linear_forward(x, W, b):
        out, cache = _right_linear_forward(x, W, b)
        return out - b, cache
    """)

add("linear forward subtracts the bias", "linear.forward",
    "the bias is subtracted; out = x @ W + b", """
    _right_linear_forward = linear_forward
    def linear_forward(x, W, b):
        out, cache = _right_linear_forward(x, W, b)
        return out - 2 * b, cache
    """)

# ---------------------------------------------------------------- linear_backward: the sign and
# the batch size, for dx and dW

for index, name in ((0, "x"), (1, "W")):
    add(f"linear d{name} with the wrong sign", "linear.backward",
        f"it has the wrong sign: return the gradient of the loss with respect to {name}, not "
        f"its negative", f"""
        _right_linear_backward = linear_backward
        def linear_backward(dout, cache):
            grads = list(_right_linear_backward(dout, cache))
            grads[{index}] = -grads[{index}]
            return tuple(grads)
        """)
    add(f"linear d{name} averaged over the batch", "linear.backward",
        "it is N times too small: do not average over the batch here; dout already carries "
        "the 1/N of a mean loss", f"""
        _right_linear_backward = linear_backward
        def linear_backward(dout, cache):
            grads = list(_right_linear_backward(dout, cache))
            grads[{index}] = grads[{index}] / len(dout)
            return tuple(grads)
        """)

add("dx with W not transposed", "linear.backward",
    "dx = dout @ W.T (W is (D, M) and dout is (N, M))", """
    _right_linear_backward = linear_backward
    def linear_backward(dout, cache):
        x, W, _ = cache
        _, dW, db = _right_linear_backward(dout, cache)
        return (dout @ W).reshape(x.shape), dW, db
    """)

add("dW without transposing x", "linear.backward",
    "dW = x.T @ dout: did you forget to transpose x?", """
    _right_linear_backward = linear_backward
    def linear_backward(dout, cache):
        x = cache[0]
        dx, _, db = _right_linear_backward(dout, cache)
        return dx, x.reshape(len(x), -1) @ dout, db
    """)

add("dW transposed", "linear.backward",
    "it is transposed: dW = x.T @ dout has W's shape (D, M); dout.T @ x has shape (M, D)", """
    _right_linear_backward = linear_backward
    def linear_backward(dout, cache):
        dx, dW, db = _right_linear_backward(dout, cache)
        return dx, dW.T, db
    """)

# ---------------------------------------------------------------- linear_backward: db

for name, explanation, db in (
        ("db not summed over the batch", "db must be summed over the batch: b is added to "
         "every row of the output, so db = dout.sum(axis=0)", "np.array(dout, dtype=float)"),
        ("db summed over the wrong axis", "db is summed over the wrong axis: "
         "db = dout.sum(axis=0), one entry per output unit", "dout.sum(axis=1)"),
        ("db summed over everything", "db must keep one entry per output unit: "
         "db = dout.sum(axis=0), not dout.sum()", "dout.sum()"),
        ("db as the mean", "db is the mean of dout over the batch; it is the sum, "
         "db = dout.sum(axis=0)", "dout.mean(axis=0)"),
        ("db with the wrong sign", "it has the wrong sign", "-dout.sum(axis=0)")):
    add(name, "linear.backward", explanation, f"""
        _right_linear_backward = linear_backward
        def linear_backward(dout, cache):
            dx, dW, _ = _right_linear_backward(dout, cache)
            return dx, dW, {db}
        """)

add("dx not reshaped to x's shape", "linear.any_rank",
    "dx must have x's original shape: reshape it back with dx.reshape(x.shape)", """
    _right_linear_backward = linear_backward
    def linear_backward(dout, cache):
        dx, dW, db = _right_linear_backward(dout, cache)
        return dx.reshape(len(dx), -1), dW, db
    """)

# ---------------------------------------------------------------- activations: the sign of the
# backward pass, and dout returned as it came (ReLU's own explanation is below)

for layer in ("relu", "sigmoid", "tanh"):
    add(f"{layer} backward with the wrong sign", f"{layer}.backward",
        "it has the wrong sign", f"""
        _right_{layer}_backward = {layer}_backward
        def {layer}_backward(dout, cache):
            return -_right_{layer}_backward(dout, cache)
        """)
    if layer != "relu":
        add(f"{layer} backward returns dout", f"{layer}.backward",
            f"{layer}_backward returned dout unchanged: multiply it by the local derivative of "
            f"{layer}", backward_returning(layer, "np.array(dout, dtype=float)"))

# ---------------------------------------------------------------- relu

add("relu as the absolute value", "relu.forward",
    "it returns |x|: ReLU is max(0, x)", """
    def relu_forward(x):
        x = as_float_array("x", x)
        return np.abs(x), x
    """)

add("relu as min(0, x)", "relu.forward",
    "it returns min(0, x); ReLU is max(0, x)", """
    def relu_forward(x):
        x = as_float_array("x", x)
        return np.minimum(x, 0.0), x
    """)

add("relu backward returns dout unmasked", "relu.backward",
    "relu_backward returned dout unmasked: the gradient is 0 where x <= 0, "
    "dx = dout * (x > 0)", backward_returning("relu", "np.array(dout, dtype=float)"))

add("relu backward returns the mask", "relu.backward",
    "it returns the mask x > 0 without dout: dx = dout * (x > 0)",
    backward_returning("relu", "(cache > 0).astype(float)"))

add("relu mask inverted", "relu.backward",
    "the mask is inverted: the gradient flows where x > 0",
    backward_returning("relu", "np.where(cache <= 0, dout, 0.0)"))

add("relu backward multiplies by relu(x)", "relu.backward",
    "it multiplies dout by relu(x); the derivative of ReLU is 1 where x > 0 and 0 elsewhere",
    backward_returning("relu", "dout * np.maximum(cache, 0.0)"))

add("relu gradient 1 at exactly 0", "relu.zeros",
    "at exactly x == 0 the gradient must be 0, as in PyTorch: use the mask x > 0, not x >= 0",
    backward_returning("relu", "np.where(cache >= 0, dout, 0.0)"))

# ---------------------------------------------------------------- sigmoid (the reference keeps
# s = sigmoid(x) in the cache)

add("sigmoid of -x", "sigmoid.forward",
    "it computes 1 / (1 + exp(x)) = sigmoid(-x); the sigmoid is 1 / (1 + exp(-x))", """
    _right_sigmoid_forward = sigmoid_forward
    def sigmoid_forward(x):
        return _right_sigmoid_forward(-as_float_array("x", x))
    """)

add("sigmoid backward uses s", "sigmoid.backward",
    "it uses s instead of s * (1 - s): the derivative of the sigmoid is s * (1 - s) with "
    "s = sigmoid(x)", backward_returning("sigmoid", "dout * cache"))

add("sigmoid backward without dout", "sigmoid.backward",
    "it is missing the factor dout: by the chain rule dx = dout * s * (1 - s)",
    backward_returning("sigmoid", "cache * (1.0 - cache)"))

add("sigmoid backward on the input", "sigmoid.backward",
    "it applies s * (1 - s) to the input x; s must be sigmoid(x) (keep it in the cache)",
    caching_the_input("sigmoid", "dout * cache * (1.0 - cache)"))

add("sigmoid backward uses 1 - s", "sigmoid.backward",
    "it uses 1 - s instead of s * (1 - s)", backward_returning("sigmoid", "dout * (1.0 - cache)"))

# ---------------------------------------------------------------- tanh (the reference keeps
# t = tanh(x) in the cache)

add("tanh forward returns its derivative", "tanh.forward",
    "it returns the derivative 1 - tanh(x)**2 instead of tanh", """
    _right_tanh_forward = tanh_forward
    def tanh_forward(x):
        t, cache = _right_tanh_forward(x)
        return 1.0 - t * t, cache
    """)

add("tanh backward on the input", "tanh.backward",
    "it uses 1 - x**2; the derivative is 1 - tanh(x)**2, in terms of the output t = tanh(x) "
    "(keep it in the cache)", caching_the_input("tanh", "dout * (1.0 - cache**2)"))

add("tanh backward without dout", "tanh.backward",
    "it is missing the factor dout: by the chain rule dx = dout * (1 - tanh(x)**2)",
    backward_returning("tanh", "1.0 - cache**2"))

add("tanh backward without the square", "tanh.backward",
    "the square is missing: dx = dout * (1 - t**2)",
    backward_returning("tanh", "dout * (1.0 - cache)"))

add("tanh backward uses t**2", "tanh.backward",
    "it uses t**2 instead of 1 - t**2", backward_returning("tanh", "dout * cache**2"))

# ---------------------------------------------------------------- numerical_gradient

add("one-sided differences", "numerical_gradient.value",
    "it is the one-sided difference (f(x + h) - f(x)) / h; use the centered difference "
    "(f(x + h) - f(x - h)) / (2 h), whose error is of order h**2 instead of h", """
    def numerical_gradient(f, x, h=1e-5):
        grad = np.zeros(x.shape)
        f_x = f(x)
        for index in np.ndindex(x.shape):
            old = x[index]
            x[index] = old + h
            grad[index] = (f(x) - f_x) / h
            x[index] = old
        return grad
    """)

add("centered difference divided by h", "numerical_gradient.value",
    "it is twice too large: divide f(x + h) - f(x - h) by 2 h, not by h", """
    _right_numerical_gradient = numerical_gradient
    def numerical_gradient(f, x, h=1e-5):
        return 2 * _right_numerical_gradient(f, x, h)
    """)

add("numerical gradient with the wrong sign", "numerical_gradient.value",
    "it has the wrong sign: (f(x + h) - f(x - h)) / (2 h)", """
    _right_numerical_gradient = numerical_gradient
    def numerical_gradient(f, x, h=1e-5):
        return -_right_numerical_gradient(f, x, h)
    """)

add("numerical gradient ignores h", "numerical_gradient.edge_cases",
    "it ignores the h argument (it always uses h=1e-5)", """
    _right_numerical_gradient = numerical_gradient
    def numerical_gradient(f, x, h=1e-5):
        return _right_numerical_gradient(f, x)
    """)

# ---------------------------------------------------------------- rel_error

for name, part, explanation, error in (
        ("rel_error takes the mean", "rel_error.value",
         "it takes the mean over the entries; rel_error is the largest one, np.max",
         "np.mean(np.abs(a - b) / np.maximum(1e-12, np.abs(a) + np.abs(b)))"),
        ("rel_error over |a + b|", "rel_error.value",
         "the denominator is |a + b|; it is |a| + |b|",
         "np.max(np.abs(a - b) / np.maximum(1e-12, np.abs(a + b)))"),
        ("rel_error over max(|a|, |b|)", "rel_error.value",
         "the denominator is max(|a|, |b|); it is |a| + |b|",
         "np.max(np.abs(a - b) / np.maximum(1e-12, np.maximum(np.abs(a), np.abs(b))))"),
        ("rel_error as the absolute error", "rel_error.value",
         "it is the absolute error; divide by max(1e-12, |a| + |b|)", "np.max(np.abs(a - b))"),
        ("rel_error with the floor 1e-8", "rel_error.zeros",
         "the floor of the denominator is 1e-8; it is 1e-12",
         "np.max(np.abs(a - b) / np.maximum(1e-8, np.abs(a) + np.abs(b)))"),
        ("rel_error without a floor", "rel_error.zeros",
         "where a and b are both 0 the ratio is 0 / 0; the denominator is "
         "max(1e-12, |a| + |b|)", "np.max(np.abs(a - b) / (np.abs(a) + np.abs(b)))")):
    add(name, part, explanation, f"""
        def rel_error(a, b):
            a, b = as_float_array("a", a), as_float_array("b", b)
            return float({error})
        """)

# ---------------------------------------------------------------- MLP.__init__: He's standard
# deviation sqrt(2 / fan_in) rescaled to another rule

for rule, factor in (
        ("sqrt(2 / fan_out)", "np.sqrt(fan_in / fan_out)"),
        ("2 / fan_in (that is the variance; the standard deviation is its square root)",
         "np.sqrt(2 / fan_in)"),
        ("sqrt(1 / fan_in) (He initialization has a 2 for ReLU: sqrt(2 / fan_in))",
         "np.sqrt(0.5)"),
        ("1 (standard normal weights, not scaled)", "np.sqrt(fan_in / 2)")):
    add(f"He initialization as {rule.partition(' (')[0]}", "MLP.init",
        f"it looks like {rule}", f"""
        _right_init = MLP.__init__
        def _init(self, dims, activation="relu", reg=0.0, weight_scale=None, seed=0):
            _right_init(self, dims, activation, reg, weight_scale, seed)
            for k in range(1, self.n_layers + 1):
                fan_in, fan_out = self.dims[k - 1], self.dims[k]
                if weight_scale is None:
                    self.params[f"W{{k}}"] = self.params[f"W{{k}}"] * {factor}
        MLP.__init__ = _init
        """)

add("weight_scale ignored", "MLP.init",
    "weight_scale=0.01 was ignored: the weights have He's standard deviation "
    "sqrt(2 / fan_in)", """
    _right_init = MLP.__init__
    def _init(self, dims, activation="relu", reg=0.0, weight_scale=None, seed=0):
        _right_init(self, dims, activation, reg, None, seed)
    MLP.__init__ = _init
    """)

# ---------------------------------------------------------------- MLP.loss

add("activation after the last layer", "MLP.scores",
    "the activation is applied after the last layer too; the last linear layer's output goes "
    "straight into the softmax", """
    _right_loss = MLP.loss
    def _loss(self, X, y=None):
        if y is not None:
            return _right_loss(self, X, y)
        return ACTIVATIONS[self.activation][0](_right_loss(self, X))[0]
    MLP.loss = _loss
    """)

ADJUSTED_LOSS = """
_right_loss = MLP.loss
def _loss(self, X, y=None):
    if y is None:
        return _right_loss(self, X)
    loss, grads = _right_loss(self, X, y)
    for k in range(1, self.n_layers + 1):
        W, b = self.params[f"W{{k}}"], self.params[f"b{{k}}"]
{adjustment}
    return loss, grads
MLP.loss = _loss
"""


def adjusted_loss(adjustment):
    """A patch of ``MLP.loss`` that runs ``adjustment`` on the right (loss, grads), once for
    each layer k with its W and b."""
    return ADJUSTED_LOSS.format(adjustment=textwrap.indent(textwrap.dedent(adjustment).strip(),
                                                           " " * 8))


add("MLP loss without the penalty", "MLP.loss",
    "the L2 penalty 0.5 * reg * sum(W**2) is missing from the loss", adjusted_loss("""
    loss -= 0.5 * self.reg * np.sum(W * W)
    """))

add("MLP penalty without the 0.5", "MLP.loss",
    "the penalty is reg * sum(W**2); it is 0.5 * reg * sum(W**2)", adjusted_loss("""
    loss += 0.5 * self.reg * np.sum(W * W)
    """))

add("MLP biases regularized", "MLP.loss",
    "the biases are regularized; only the weights W get the L2 penalty", adjusted_loss("""
    loss += 0.5 * self.reg * np.sum(b * b)
    grads[f"b{k}"] = grads[f"b{k}"] + self.reg * b
    """))

add("MLP only the last W regularized", "MLP.loss",
    "only the last layer's W is regularized; every W gets the L2 penalty", adjusted_loss("""
    if k < self.n_layers:
        loss -= 0.5 * self.reg * np.sum(W * W)
    """))

add("MLP without the penalty's gradient", "MLP.gradients",
    "the gradient of the L2 penalty, reg * W, is missing", adjusted_loss("""
    grads[f"W{k}"] = grads[f"W{k}"] - self.reg * W
    """))

add("MLP penalty gradient doubled", "MLP.gradients",
    "the penalty's gradient is 2 * reg * W; with the 0.5 it is reg * W", adjusted_loss("""
    grads[f"W{k}"] = grads[f"W{k}"] + self.reg * W
    """))

add("MLP bias gradient regularized", "MLP.gradients",
    "the bias is regularized; only the weights W get the L2 penalty", adjusted_loss("""
    grads[f"b{k}"] = grads[f"b{k}"] + self.reg * b
    """))
