"""Held-out wrong code and correct alternatives for a2_backprop (see tests/test_mutations.py).

A held-out bug is realistic wrong code written apart from the catalogue of mistakes; its
"explanation" is the text the part's message must contain.
"""
from autograder.mistakes import Catalogue

HELD_OUT = Catalogue("a2_backprop", module="layers.py")

# ---------------------------------------------------------------- linear

HELD_OUT.add(
    "linear forward without flattening x", "linear.any_rank", "flatten each sample first", """
        def linear_forward(x, W, b):
            return x @ W + b, (x, W, b)
        """)

HELD_OUT.add(
    "db keeps the batch axis", "linear.backward", "should have shape (6,)", """
        _reference_linear_backward = linear_backward
        def linear_backward(dout, cache):
            dx, dW, _ = _reference_linear_backward(dout, cache)
            return dx, dW, dout.sum(axis=0, keepdims=True)
        """)

HELD_OUT.add(
    "linear forward squeezes its output", "linear.edge_cases", "should have shape (1, 3)", """
        _reference_linear_forward = linear_forward
        def linear_forward(x, W, b):
            out, cache = _reference_linear_forward(x, W, b)
            return np.squeeze(out), cache
        """)

# ---------------------------------------------------------------- activations

HELD_OUT.add(
    "relu forward in place", "relu.forward", "changed its input x in place", """
        def relu_forward(x):
            cache = x.copy()
            x[x < 0] = 0.0
            return x, cache
        """)

HELD_OUT.add(
    "relu backward changes dout in place", "relu.backward", "changed dout in place", """
        def relu_backward(dout, cache):
            dout[cache <= 0] = 0.0
            return dout
        """)

HELD_OUT.add(
    "sigmoid with its branches swapped", "sigmoid.forward", "sigmoid(-x)", """
        def sigmoid_forward(x):
            e = np.exp(-np.abs(x))
            out = np.where(x < 0, 1 / (1 + e), e / (1 + e))
            return out, out
        """)

HELD_OUT.add(
    "sigmoid overflowing for -1e3", "sigmoid.stability",
    "raised a warning (RuntimeWarning: overflow", """
        def sigmoid_forward(x):
            out = 1.0 / (1.0 + np.exp(-x))
            return out, out
        """)

HELD_OUT.add(
    "sigmoid with np.where over two unstable branches", "sigmoid.stability",
    "np.where(cond, A, B) computes A and B", """
        def sigmoid_forward(x):
            out = np.where(x >= 0, 1.0 / (1.0 + np.exp(-x)), np.exp(x) / (1.0 + np.exp(x)))
            return out, out
        """)

HELD_OUT.add(
    "tanh from exponentials", "tanh.stability", "raised a warning", """
        def tanh_forward(x):
            out = (np.exp(x) - np.exp(-x)) / (np.exp(x) + np.exp(-x))
            return out, out
        """)

# ---------------------------------------------------------------- numerical_gradient, rel_error

HELD_OUT.add(
    "x restored by subtracting h", "numerical_gradient.restores_x",
    "x is not exactly what it was", """
        def numerical_gradient(f, x, h=1e-5):
            grad = np.zeros(x.shape)
            for i in np.ndindex(x.shape):
                x[i] += h
                f_plus = f(x)
                x[i] -= 2 * h
                f_minus = f(x)
                x[i] += h
                grad[i] = (f_plus - f_minus) / (2 * h)
            return grad
        """)

HELD_OUT.add(
    "x not restored", "numerical_gradient.value", "restore each entry", """
        def numerical_gradient(f, x, h=1e-5):
            grad = np.zeros(x.shape)
            for i in np.ndindex(x.shape):
                old = x[i]
                x[i] = old + h
                f_plus = f(x)
                x[i] = old - h
                grad[i] = (f_plus - f(x)) / (2 * h)
            return grad
        """)

HELD_OUT.add(
    "numerical gradient on a copy of x", "numerical_gradient.edge_cases",
    "passed f a copy of x", """
        _reference_numerical_gradient = numerical_gradient
        def numerical_gradient(f, x, h=1e-5):
            return _reference_numerical_gradient(f, x.copy(), h)
        """)

HELD_OUT.add(
    "rel_error returns an array", "rel_error.value", "take np.max", """
        def rel_error(a, b):
            return np.abs(a - b) / np.maximum(1e-12, np.abs(a) + np.abs(b))
        """)

# ---------------------------------------------------------------- MLP

HELD_OUT.add(
    "random biases", "MLP.init", "must start at 0", """
        _reference_init = MLP.__init__
        def _init(self, dims, activation="relu", reg=0.0, weight_scale=None, seed=0):
            _reference_init(self, dims, activation, reg, weight_scale, seed)
            for k in range(1, len(dims)):
                self.params[f"b{k}"] = 0.01 * np.ones(dims[k])
        MLP.__init__ = _init
        """)

HELD_OUT.add(
    "MLP activation after the last layer (own forward loop)", "MLP.scores",
    "applied after the last layer too", """
        _reference_loss = MLP.loss
        def _loss(self, X, y=None):
            forward, _ = ACTIVATIONS[self.activation]
            out = np.asarray(X, dtype=float).reshape(len(X), -1)
            for k in range(1, self.n_layers + 1):
                out, _ = linear_forward(out, self.params[f"W{k}"], self.params[f"b{k}"])
                out, _ = forward(out)
            if y is None:
                return out
            return _reference_loss(self, X, y)
        MLP.loss = _loss
        """)

HELD_OUT.add(
    "MLP backward with the wrong layer's cache", "MLP.gradients",
    "the last layer's gradients are right", """
        def _loss(self, X, y=None):
            forward, backward = ACTIVATIONS[self.activation]
            out, caches = X, []
            for k in range(1, self.n_layers + 1):
                out, linear_cache = linear_forward(out, self.params[f"W{k}"],
                                                   self.params[f"b{k}"])
                activation_cache = None
                if k < self.n_layers:
                    out, activation_cache = forward(out)
                caches.append((linear_cache, activation_cache))
            if y is None:
                return out
            loss, dout = softmax_loss(out, y)
            grads = {}
            hidden = [c[1] for c in caches[:-1]]
            for k in range(self.n_layers, 0, -1):
                if k < self.n_layers:
                    dout = backward(dout, hidden[self.n_layers - 1 - k])  # forward order
                dout, dW, db = linear_backward(dout, caches[k - 1][0])
                penalty, dW_penalty = l2_penalty(self.params[f"W{k}"], self.reg)
                loss += penalty
                grads[f"W{k}"], grads[f"b{k}"] = dW + dW_penalty, db
            return loss, grads
        MLP.loss = _loss
        """)

HELD_OUT.add(
    "MLP squeezes its input", "MLP.deep", "must have at least 2 dimensions", """
        _reference_loss = MLP.loss
        def _loss(self, X, y=None):
            return _reference_loss(self, np.squeeze(X), y)
        MLP.loss = _loss
        """)

# A bug that keeps the MLP from learning fails an earlier part first.
PARTS_WITHOUT_WRONG_CODE = ("MLP.digits",)

ALTERNATIVE_A = '''
def linear_forward(x, W, b):
    x = np.asarray(x, dtype=np.float64)
    flat = x.reshape(len(x), -1)
    return np.einsum("nd,dm->nm", flat, W) + b[None, :], {"x": x, "W": W}

def linear_backward(dout, cache):
    x, W = cache["x"], cache["W"]
    flat = x.reshape(len(x), -1)
    dx = np.einsum("nm,dm->nd", dout, W).reshape(x.shape)
    return dx, np.einsum("nd,nm->dm", flat, dout), np.einsum("nm->m", dout)

def relu_forward(x):
    mask = np.asarray(x) > 0
    return np.where(mask, x, 0.0), mask

def relu_backward(dout, cache):
    return np.where(cache, dout, 0.0)

def sigmoid_forward(x):
    x = np.asarray(x, dtype=np.float64)
    out = np.empty_like(x)
    positive = x >= 0
    out[positive] = 1.0 / (1.0 + np.exp(-x[positive]))
    exp_x = np.exp(x[~positive])
    out[~positive] = exp_x / (1.0 + exp_x)
    return out, out.copy()

def sigmoid_backward(dout, cache):
    return dout * cache - dout * cache ** 2

def tanh_forward(x):
    return np.tanh(x), x

def tanh_backward(dout, cache):
    return dout * (1.0 - np.tanh(cache) ** 2)

def numerical_gradient(f, x, h=1e-5):
    grad = np.zeros_like(x, dtype=np.float64)
    iterator = np.nditer(x, flags=["multi_index"], op_flags=["readwrite"])
    while not iterator.finished:
        i = iterator.multi_index
        saved = x[i].copy()
        x[i] = saved + h
        plus = f(x)
        x[i] = saved - h
        minus = f(x)
        x[i] = saved
        grad[i] = (plus - minus) / (2 * h)
        iterator.iternext()
    return grad

def rel_error(a, b):
    a, b = np.asarray(a, float), np.asarray(b, float)
    return np.max(np.abs(a - b) / np.clip(np.abs(a) + np.abs(b), 1e-12, None))

def _init(self, dims, activation="relu", reg=0.0, weight_scale=None, seed=0):
    self.dims, self.activation, self.reg = tuple(dims), activation, reg
    self.n_layers = len(dims) - 1
    rng = np.random.default_rng(seed)
    self.params = {}
    for k, (fan_in, fan_out) in enumerate(zip(dims, dims[1:]), start=1):
        std = weight_scale or np.sqrt(2.0 / fan_in)
        self.params["W%d" % k] = rng.normal(0.0, std, size=(fan_in, fan_out))
        self.params["b%d" % k] = np.zeros(fan_out)

def _loss(self, X, y=None):
    forward, backward = ACTIVATIONS[self.activation]
    n = self.n_layers
    caches = {}
    h = X
    for k in range(1, n + 1):
        h, caches["lin", k] = linear_forward(h, self.params["W%d" % k], self.params["b%d" % k])
        if k != n:
            h, caches["act", k] = forward(h)
    if y is None:
        return h
    data_loss, grad = softmax_loss(h, y)
    weights = [self.params["W%d" % k] for k in range(1, n + 1)]
    total = data_loss + 0.5 * self.reg * sum(np.vdot(W, W) for W in weights)
    grads = {}
    for k in reversed(range(1, n + 1)):
        if k != n:
            grad = backward(grad, caches["act", k])
        grad, grads["W%d" % k], grads["b%d" % k] = linear_backward(grad, caches["lin", k])
        grads["W%d" % k] += self.reg * self.params["W%d" % k]
    return total, grads

MLP.__init__ = _init
MLP.loss = _loss
'''

ALTERNATIVE_B = '''
def linear_forward(x, W, b):
    n = x.shape[0]
    out = np.zeros((n, W.shape[1]))
    for i in range(n):
        out[i] = x[i].ravel() @ W + b
    return out, (x.copy(), W.copy())

def linear_backward(dout, cache):
    x, W = cache
    dx = np.zeros_like(x)
    dW = np.zeros_like(W)
    db = np.zeros(W.shape[1])
    for i in range(x.shape[0]):
        dx[i] = (W @ dout[i]).reshape(x.shape[1:])
        dW += np.outer(x[i].ravel(), dout[i])
        db += dout[i]
    return dx, dW, db

def relu_forward(x):
    return x * (x > 0), x

def relu_backward(dout, cache):
    return dout * (cache > 0)

def sigmoid_forward(x):
    s = 0.5 * (1.0 + np.tanh(0.5 * x))  # the sigmoid through tanh: nothing overflows
    return s, s

def sigmoid_backward(dout, cache):
    return dout * cache * (1.0 - cache)

def tanh_forward(x):
    t = np.tanh(x)
    return t, t

def tanh_backward(dout, cache):
    return dout - dout * cache * cache

def numerical_gradient(f, x, h=1e-5):
    grad = np.zeros(x.size)
    flat = x.reshape(-1)  # a view: writing to it changes x
    for i in range(x.size):
        value = float(flat[i])
        flat[i] = value + h
        up = float(f(x))
        flat[i] = value - h
        down = float(f(x))
        flat[i] = value
        grad[i] = (up - down) / h / 2
    return grad.reshape(x.shape)

def rel_error(a, b):
    difference = abs(np.subtract(a, b))
    return float((difference / np.fmax(abs(a) + abs(b), 1e-12)).max())

def _loss(self, X, y=None):
    def run(k, inputs):
        # layer k and everything above it; returns (scores, backward function)
        out, lin_cache = linear_forward(inputs, self.params[f"W{k}"], self.params[f"b{k}"])
        if k == self.n_layers:
            return out, lambda d: {"d": d, "lin": lin_cache, "k": k}
        act_out, act_cache = ACTIVATIONS[self.activation][0](out)
        scores, upper = run(k + 1, act_out)
        def back(d):
            result = upper(d)
            grads = result.get("grads", {})
            d_act, dW, db = linear_backward(result["d"], result["lin"])
            grads[f"W{result['k']}"], grads[f"b{result['k']}"] = dW, db
            return {"d": ACTIVATIONS[self.activation][1](d_act, act_cache), "lin": lin_cache,
                    "k": k, "grads": grads}
        return scores, back

    scores, back = run(1, X)
    if y is None:
        return scores
    loss, dscores = softmax_loss(scores, y)
    result = back(dscores)
    grads = result.get("grads", {})
    _, dW, db = linear_backward(result["d"], result["lin"])
    grads["W1"], grads["b1"] = dW, db
    for k in range(1, self.n_layers + 1):
        W = self.params[f"W{k}"]
        loss = loss + self.reg * np.sum(W * W) / 2
        grads[f"W{k}"] = grads[f"W{k}"] + self.reg * W
    return loss, grads

MLP.loss = _loss
'''


ALTERNATIVES = {"A": {"layers.py": ALTERNATIVE_A}, "B": {"layers.py": ALTERNATIVE_B}}
