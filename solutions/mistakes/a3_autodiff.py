"""The common mistakes of a3_autodiff, each as a patch of ``minidl/autograd.py`` or
``minidl/forward.py`` (see ``autograder.mistakes``). A part names a mistake only when the
student's answer is the one the patched reference gives; most scenarios apply one operation,
so a patch that gets several operations wrong at once names the one the scenario uses."""
from autograder.mistakes import Catalogue

MISTAKES = Catalogue("a3_autodiff", module="autograd.py")
add = MISTAKES.add


def dual(name, part, explanation, code):
    add(name, part, explanation, code, module="forward.py")


# ---------------------------------------------------------------- + - * and unary -

add("mul adds", "Tensor.add_mul.forward",
    "it adds; x0 * x1 multiplies entry by entry", """
    Mul.compute = lambda self, a, b: a + b
    """)

add("mul computes a matrix product", "Tensor.add_mul.forward",
    "that is a matrix product; * multiplies entry by entry", """
    Mul.compute = lambda self, a, b: a @ b.T if a.ndim == 2 else a * b
    """)

add("sub adds", "Tensor.add_mul.forward",
    "it adds; x0 - x1 subtracts", """
    Sub.compute = lambda self, a, b: a + b
    """)

add("sub subtracts the wrong way round", "Tensor.add_mul.forward",
    "the order is reversed: x0 - x1 subtracts x1 from x0", """
    Sub.compute = lambda self, a, b: b - a
    """)

add("neg returns its input", "Tensor.add_mul.forward",
    "the sign is missing: -x0 flips every sign", """
    Neg.compute = lambda self, a: a
    """)

# ---------------------------------------------------------------- unbroadcast

add("unbroadcast sums only the added axes", "unbroadcast",
    "sum the leading axes that broadcasting added, then every axis where shape has size 1 "
    "(keeping it)", """
    def unbroadcast(grad, shape):
        return grad.sum(axis=tuple(range(grad.ndim - len(shape))))
    """)

add("unbroadcast returns the gradient unchanged", "unbroadcast",
    "it returned the gradient unchanged: sum over the axes that broadcasting added or "
    "stretched", """
    def unbroadcast(grad, shape):
        return np.asarray(grad, dtype=float)
    """)

add("unbroadcast averages", "unbroadcast",
    "it is the mean over the copies; each copy contributes its full gradient, so sum them", """
    def unbroadcast(grad, shape):
        grad = grad.mean(axis=tuple(range(grad.ndim - len(shape))))
        return grad.mean(axis=tuple(i for i, n in enumerate(shape) if n == 1), keepdims=True)
    """)

add("unbroadcast drops size-1 axes", "unbroadcast",
    "sum the size-1 axes with keepdims=True so they stay", """
    def unbroadcast(grad, shape):
        grad = grad.sum(axis=tuple(range(grad.ndim - len(shape))))
        return grad.sum(axis=tuple(i for i, n in enumerate(shape) if n == 1))
    """)

# ---------------------------------------------------------------- the graph

OVERWRITTEN_ON_FAN_OUT = """
    def _backward(self, grad=None):
        grads = {self: backward_seed(grad, self.data, self.requires_grad)}
        for node in reversed(topological_order(self)):
            node_grad = grads[node]
            if node.is_leaf:
                node.grad = node_grad if node.grad is None else node.grad + node_grad
                continue
            inputs = [t.data for t in node._inputs]
            for t, g in zip(node._inputs, node._op.gradient(node_grad, node.data, *inputs)):
                if t.requires_grad:
                    grads[t] = g
    Tensor.backward = _backward
    """
FAN_OUT = ("a tensor used by several operations gets the sum of the gradients from every use: "
           "add them up (+=) instead of overwriting")

add("gradients overwritten on fan-out", "backward.fan_out", FAN_OUT, OVERWRITTEN_ON_FAN_OUT)

add("nodes in creation order, not topological", "backward.fan_out",
    "a node's gradient is complete only once every node that uses it has passed its "
    "contribution on: visit the nodes in reverse topological order", """
    def topological_order(root):
        seen, frontier = [root], [root]
        while frontier:
            node = frontier.pop(0)
            for t in node._inputs:
                if t.requires_grad and all(t is not s for s in seen):
                    seen.append(t)
                    frontier.append(t)
        return seen[::-1]
    """)

# ---------------------------------------------------------------- gradients of + - * and -

add("mul gradient not swapped", "Tensor.add_mul.gradient",
    "multiplication swaps its inputs: d(x0 * x1)/dx0 = x1 and d(x0 * x1)/dx1 = x0", """
    Mul.gradient_a = lambda self, g, out, a, b: unbroadcast(g * a, a.shape)
    Mul.gradient_b = lambda self, g, out, a, b: unbroadcast(g * b, b.shape)
    """)

add("mul gradient without the other input", "Tensor.add_mul.gradient",
    "out_grad must be multiplied by the other input, d(x0 * x1)/dx0 = x1", """
    Mul.gradient_a = lambda self, g, out, a, b: unbroadcast(g, a.shape)
    Mul.gradient_b = lambda self, g, out, a, b: unbroadcast(g, b.shape)
    """)

add("mul gradient without out_grad", "Tensor.add_mul.gradient",
    "multiply by out_grad (the chain rule): x0 gets out_grad * x1", """
    Mul.gradient_a = lambda self, g, out, a, b: unbroadcast(b * np.ones_like(g), a.shape)
    Mul.gradient_b = lambda self, g, out, a, b: unbroadcast(a * np.ones_like(g), b.shape)
    """)

add("add gradient ignores out_grad", "Tensor.add_mul.gradient",
    "multiply by out_grad: the gradient of x0 + x1 passes out_grad through unchanged", """
    Add.gradient_a = lambda self, g, out, a, b: np.ones(a.shape)
    Add.gradient_b = lambda self, g, out, a, b: np.ones(b.shape)
    """)

add("sub negates both gradients", "Tensor.add_mul.gradient",
    "only the second input's gradient changes sign: d(x0 - x1)/dx0 = 1", """
    Sub.gradient_a = lambda self, g, out, a, b: -unbroadcast(g, a.shape)
    """)

add("sub gradient without the minus", "Tensor.add_mul.gradient",
    "the sign is missing: d(x0 - x1)/dx1 = -1, so x1 gets -out_grad", """
    Sub.gradient_b = lambda self, g, out, a, b: unbroadcast(g, b.shape)
    """)

add("sub gradient ignores out_grad", "Tensor.add_mul.gradient",
    "multiply by out_grad (the chain rule): x0 gets out_grad and x1 gets -out_grad", """
    Sub.gradient_a = lambda self, g, out, a, b: np.ones(a.shape)
    Sub.gradient_b = lambda self, g, out, a, b: -np.ones(b.shape)
    """)

add("neg gradient without the minus", "Tensor.add_mul.gradient",
    "the sign is missing: d(-x0)/dx0 = -1, so x0 gets -out_grad", """
    Neg.gradient_a = lambda self, g, out, a: g
    """)

add("neg gradient ignores out_grad", "Tensor.add_mul.gradient",
    "multiply by out_grad (the chain rule): x0 gets -out_grad", """
    Neg.gradient_a = lambda self, g, out, a: -np.ones_like(a)
    """)

# ---------------------------------------------------------------- broadcasting

add("gradients not summed over broadcast axes", "Tensor.broadcasting",
    "the operand was broadcast, so sum its gradient over the broadcast axes (unbroadcast) "
    "to give it the operand's own shape", """
    def unbroadcast(grad, shape):
        return np.asarray(grad, dtype=float)
    """)

add("broadcast gradients averaged", "Tensor.broadcasting",
    "it is the mean over the broadcast copies; each copy contributes its full gradient, so "
    "sum them", """
    def unbroadcast(grad, shape):
        grad = grad.mean(axis=tuple(range(grad.ndim - len(shape))))
        return grad.mean(axis=tuple(i for i, n in enumerate(shape) if n == 1), keepdims=True)
    """)

# ---------------------------------------------------------------- .grad over backward calls

add("leaf grad overwritten between backward calls", "backward.accumulate",
    "after two backward() calls on fresh graphs, .grad must hold the sum of both gradients "
    "(like PyTorch): add to a leaf's .grad, do not overwrite it", """
    _reference_backward = Tensor.backward
    def _backward(self, grad=None):
        for leaf in [n for n in topological_order(self) if n.is_leaf]:
            leaf.grad = None
        _reference_backward(self, grad)
    Tensor.backward = _backward
    """)

add("inner nodes keep their grad", "backward.accumulate",
    "as in PyTorch, only leaves keep one: keep the gradients of inner nodes in a dictionary "
    "local to backward", """
    def _backward(self, grad=None):
        grads = {self: backward_seed(grad, self.data, self.requires_grad)}
        for node in reversed(topological_order(self)):
            node.grad = grads.pop(node) + (0.0 if node.grad is None else node.grad)
            if node.is_leaf:
                continue
            inputs = [t.data for t in node._inputs]
            for t, g in zip(node._inputs, node._op.gradient(node.grad, node.data, *inputs)):
                if t.requires_grad:
                    grads[t] = grads[t] + g if t in grads else g
    Tensor.backward = _backward
    """)

add("recursive topological sort", "backward.long_chain",
    "a recursive graph traversal needs one Python frame per node, so build the topological "
    "order iteratively, with an explicit stack", """
    def topological_order(root):
        order, visited = [], set()
        def visit(node):
            if node in visited:
                return
            visited.add(node)
            for t in node._inputs:
                if t.requires_grad:
                    visit(t)
            order.append(node)
        visit(root)
        return order
    """)

# ---------------------------------------------------------------- powers

add("pow gradient p * x ** p", "Tensor.div_pow",
    "the power rule is d(x^p)/dx = p * x^(p - 1); this used p * x^p", """
    Pow.gradient_a = lambda self, g, out, a: g * self.exponent * a ** self.exponent
    """)

add("pow gradient without the exponent factor", "Tensor.div_pow",
    "the factor p is missing: d(x^p)/dx = p * x^(p - 1)", """
    Pow.gradient_a = lambda self, g, out, a: g * a ** (self.exponent - 1)
    """)

add("pow gradient without out_grad", "Tensor.div_pow",
    "multiply by out_grad (the chain rule): d(x^p)/dx = p * x^(p - 1)", """
    Pow.gradient_a = lambda self, g, out, a: self.exponent * a ** (self.exponent - 1)
    """)

# ---------------------------------------------------------------- matmul

add("matmul gradient without transposes", "Tensor.matmul",
    "for out = A @ B, dA = out_grad @ B.T: transpose B (and dB = A.T @ out_grad)", """
    MatMul.gradient_a = lambda self, g, out, a, b: g @ b
    MatMul.gradient_b = lambda self, g, out, a, b: a @ g
    """)

add("matmul gradient factors swapped", "Tensor.matmul",
    "dA = out_grad @ B.T (out_grad first) and dB = A.T @ out_grad (A.T first): each "
    "gradient has its operand's shape", """
    MatMul.gradient_a = lambda self, g, out, a, b: b.T @ g
    MatMul.gradient_b = lambda self, g, out, a, b: g @ a.T
    """)

add("matmul gradient for matrices only", "Tensor.matmul.shapes",
    "a vector a acts as a row (1, n), a vector b as a column (n, 1); stacked axes that were "
    "broadcast must be summed back", """
    MatMul.gradient_a = lambda self, g, out, a, b: g @ b.T
    MatMul.gradient_b = lambda self, g, out, a, b: a.T @ g
    """)

# ---------------------------------------------------------------- reductions

add("sum gradient without the reduced axes put back", "Tensor.sum_mean",
    "when keepdims=False, put the reduced axes back (np.expand_dims) before broadcasting the "
    "gradient to x's shape", """
    Sum.gradient_a = lambda self, g, out, a: np.broadcast_to(
        g if g.ndim in (0, a.ndim) else g[..., None], a.shape)
    """)

add("mean gradient not divided", "Tensor.sum_mean",
    "divide the gradient by the number of entries averaged", """
    class _Mean(Sum):
        def compute(self, a):
            return a.mean(axis=self.axes, keepdims=self.keepdims)
    Tensor.mean = lambda self, axis=None, keepdims=False: _Mean(axes_of(axis, self.ndim),
                                                                keepdims)(self)
    """)

add("mean without the division", "Tensor.sum_mean",
    "the mean is the sum divided by the number of entries averaged", """
    Tensor.mean = lambda self, axis=None, keepdims=False: Sum(axes_of(axis, self.ndim),
                                                              keepdims)(self)
    """)

add("mean divided by the total size", "Tensor.sum_mean",
    "divide by the number of entries along the averaged axes, not by the total size of x", """
    Tensor.mean = lambda self, axis=None, keepdims=False: Sum(
        axes_of(axis, self.ndim), keepdims)(self) * (1.0 / self.data.size)
    """)

add("max gradient to every entry", "Tensor.max",
    "max routes the gradient only to the entries that are the maximum, not to every entry", """
    Max.gradient_a = lambda self, g, out, a: np.broadcast_to(_expand(g, self.axes,
                                                                     self.keepdims), a.shape)
    """)

add("max gradient not split on ties", "Tensor.max.ties",
    "every tied maximum received the full gradient; tied maxima share it equally (divide by "
    "the number of ties), as torch.amax", """
    Max.gradient_a = lambda self, g, out, a: ((a == _expand(out, self.axes, self.keepdims))
                                              * _expand(g, self.axes, self.keepdims))
    """)

add("max gradient to the first maximum only", "Tensor.max.ties",
    "only the first maximum (argmax) received the gradient; tied maxima share it equally, "
    "as torch.amax", """
    def _max_gradient(self, g, out, a):
        last = tuple(range(a.ndim - len(self.axes), a.ndim))
        moved = np.moveaxis(a, self.axes, last)
        flat = moved.reshape(moved.shape[:a.ndim - len(self.axes)] + (-1,))
        mask = np.zeros_like(flat)
        np.put_along_axis(mask, flat.argmax(axis=-1)[..., None], 1.0, axis=-1)
        mask = np.moveaxis(mask.reshape(moved.shape), last, self.axes)
        return mask * _expand(g, self.axes, self.keepdims)
    Max.gradient_a = _max_gradient
    """)

# ---------------------------------------------------------------- unary functions

add("sigmoid with the wrong sign", "Tensor.unary.forward",
    "sigmoid(x) = 1 / (1 + exp(-x)): mind the sign", """
    Sigmoid.compute = lambda self, a: 0.5 * (1 - np.tanh(0.5 * a))
    """)

add("relu as a minimum", "Tensor.unary.forward",
    "relu(x) = max(x, 0), not min", """
    ReLU.compute = lambda self, a: np.minimum(a, 0.0)
    """)

add("log in base 10", "Tensor.unary.forward",
    "use the natural logarithm (np.log), not log10", """
    Log.compute = lambda self, a: np.log10(a)
    """)

add("unary gradients without out_grad", "Tensor.unary.gradient",
    "multiply by out_grad (the chain rule)", """
    Exp.gradient_a = lambda self, g, out, a: out
    Log.gradient_a = lambda self, g, out, a: 1 / a
    ReLU.gradient_a = lambda self, g, out, a: (a > 0) * 1.0
    Sigmoid.gradient_a = lambda self, g, out, a: out * (1 - out)
    Tanh.gradient_a = lambda self, g, out, a: 1 - out**2
    """)

add("exp gradient passes out_grad through", "Tensor.unary.gradient",
    "d exp(x)/dx = exp(x): multiply out_grad by exp(x)", """
    Exp.gradient_a = lambda self, g, out, a: g
    """)

add("log gradient 1/x missing", "Tensor.unary.gradient",
    "the factor 1/x is missing: d log(x)/dx = 1/x", """
    Log.gradient_a = lambda self, g, out, a: g
    """)

add("log gradient times x", "Tensor.unary.gradient",
    "d log(x)/dx = 1/x: divide out_grad by x", """
    Log.gradient_a = lambda self, g, out, a: g * a
    """)

add("log gradient log(x)", "Tensor.unary.gradient",
    "d log(x)/dx = 1/x, not log(x)", """
    Log.gradient_a = lambda self, g, out, a: g * out
    """)

add("relu gradient everywhere", "Tensor.unary.gradient",
    "relu passes the gradient only where x > 0 (0 elsewhere)", """
    ReLU.gradient_a = lambda self, g, out, a: g
    """)

add("relu mask reversed", "Tensor.unary.gradient",
    "the mask is reversed: the gradient flows where x > 0", """
    ReLU.gradient_a = lambda self, g, out, a: g * (a < 0)
    """)

add("sigmoid gradient without (1 - s)", "Tensor.unary.gradient",
    "the factor (1 - sigmoid(x)) is missing", """
    Sigmoid.gradient_a = lambda self, g, out, a: g * out
    """)

add("sigmoid gradient from x", "Tensor.unary.gradient",
    "use the sigmoid's value s in s * (1 - s), not x", """
    Sigmoid.gradient_a = lambda self, g, out, a: g * a * (1 - a)
    """)

add("tanh gradient with x", "Tensor.unary.gradient",
    "use tanh(x), not x: d tanh(x)/dx = 1 - tanh(x)^2", """
    Tanh.gradient_a = lambda self, g, out, a: g * (1 - a**2)
    """)

add("tanh gradient not squared", "Tensor.unary.gradient",
    "square the tanh: d tanh(x)/dx = 1 - tanh(x)^2", """
    Tanh.gradient_a = lambda self, g, out, a: g * (1 - out)
    """)

add("relu gradient 1 at 0", "Tensor.unary.edge_cases",
    "relu's derivative at exactly 0 must be 0, as PyTorch: use x > 0, not x >= 0", """
    ReLU.gradient_a = lambda self, g, out, a: g * (a >= 0)
    """)

add("sigmoid overflows", "Tensor.unary.edge_cases",
    "exp overflowed for an input of +-1000: compute sigmoid without exp of large positive "
    "numbers, for example as (1 + tanh(x / 2)) / 2, or with np.where on the sign", """
    Sigmoid.compute = lambda self, a: np.exp(a) / (1 + np.exp(a))
    """)

# ---------------------------------------------------------------- shapes and indexing

add("transpose gradient with the same axes", "Tensor.reshape_transpose",
    "transposing out_grad with the same axes does not undo the permutation; use the inverse "
    "permutation np.argsort(axes)", """
    Transpose.gradient_a = lambda self, g, out, a: np.transpose(g, self.axes)
    """)

add("reshape gradient keeps the output's shape", "Tensor.reshape_transpose",
    "the gradient of a reshape is out_grad reshaped to the input's shape", """
    Reshape.gradient_a = lambda self, g, out, a: g
    """)

add("getitem gradient of the output's shape", "Tensor.getitem",
    "the gradient of x[index] has x's shape: zeros, with out_grad added at the selected "
    "entries", """
    GetItem.gradient_a = lambda self, g, out, a: g
    """)

add("getitem gradient overwrites repeated entries", "Tensor.getitem.repeated",
    "an entry selected several times must receive the sum of its gradients; grad[index] += "
    "out_grad keeps only one of them, np.add.at(grad, index, out_grad) adds them all", """
    def _getitem_gradient(self, g, out, a):
        grad = np.zeros_like(a)
        grad[self.index] += g
        return grad
    GetItem.gradient_a = _getitem_gradient
    """)

add("gradients overwritten on fan-out in a random graph", "backward.random_graphs", FAN_OUT,
    OVERWRITTEN_ON_FAN_OUT)

# ---------------------------------------------------------------- no_grad

add("no_grad without global", "no_grad",
    "the block left recording on: no_grad must switch off the module's flag that the "
    "operations read (assigning it inside no_grad needs `global`, or it makes a new local "
    "variable)", """
    @contextlib.contextmanager
    def no_grad():
        _grad_enabled = False
        yield
    """)

add("no_grad never restores", "no_grad",
    "restore the previous mode when the block ends", """
    @contextlib.contextmanager
    def no_grad():
        global _grad_enabled
        _grad_enabled = False
        yield
    """)

add("no_grad without finally", "no_grad",
    "restore the mode in a `finally:` clause, which runs even when the block raises", """
    @contextlib.contextmanager
    def no_grad():
        global _grad_enabled
        previous = _grad_enabled
        _grad_enabled = False
        yield
        _grad_enabled = previous
    """)

# ---------------------------------------------------------------- log_softmax, cross_entropy

add("log_softmax without the log-sum-exp", "log_softmax",
    "subtract log(sum(exp(x))) along the axis, not only the maximum", """
    def log_softmax(x, axis=-1):
        return x - x.max(axis=axis, keepdims=True)
    """)

add("log_softmax over the wrong axis", "log_softmax",
    "it normalizes along another axis than the one asked: log_softmax(x, axis) normalizes "
    "along axis `axis`", """
    _reference_log_softmax = log_softmax
    def log_softmax(x, axis=-1):
        return _reference_log_softmax(x, axis=0 if axis in (-1, x.ndim - 1) else -1)
    """)

add("cross_entropy summed", "cross_entropy",
    "it is N times too large: the loss is the mean over the batch, not the sum", """
    def cross_entropy(logits, y):
        y = np.asarray(y)
        return -log_softmax(_as_tensor(logits), axis=1)[np.arange(len(y)), y].sum()
    """)

add("cross_entropy with the wrong sign", "cross_entropy",
    "it has the wrong sign: the loss is -log p", """
    def cross_entropy(logits, y):
        y = np.asarray(y)
        return log_softmax(_as_tensor(logits), axis=1)[np.arange(len(y)), y].mean()
    """)

add("log_softmax that overflows", "cross_entropy.stability",
    "exp overflowed: subtract the maximum along the axis before exp (log-sum-exp), which "
    "changes nothing mathematically", """
    def log_softmax(x, axis=-1):
        return x - x.exp().sum(axis=axis, keepdims=True).log()
    """)

# ---------------------------------------------------------------- Dual arithmetic

dual("dual product rule without a b'", "Dual.arithmetic",
     "the product rule has two terms: (a b)' = a' b + a b'; the a b' term is missing", """
    Dual.__mul__ = lambda self, other: Dual._from_arrays(
        self.value * _as_dual(other).value, self.tangent * _as_dual(other).value)
    """)

dual("dual product rule without a' b", "Dual.arithmetic",
     "the product rule has two terms: (a b)' = a' b + a b'; the a' b term is missing", """
    Dual.__mul__ = lambda self, other: Dual._from_arrays(
        self.value * _as_dual(other).value, self.value * _as_dual(other).tangent)
    """)

dual("dual product of the tangents", "Dual.arithmetic",
     "(a b)' = a' b + a b', not a' b'", """
    Dual.__mul__ = lambda self, other: Dual._from_arrays(
        self.value * _as_dual(other).value, self.tangent * _as_dual(other).tangent)
    """)

dual("dual quotient rule with a plus", "Dual.arithmetic",
     "the quotient rule subtracts: (a / b)' = (a' b - a b') / b^2", """
    def _div(self, other):
        other = _as_dual(other)
        return Dual._from_arrays(self.value / other.value,
                                 (self.tangent * other.value + self.value * other.tangent)
                                 / other.value**2)
    Dual.__truediv__ = _div
    """)

dual("dual quotient of the tangents", "Dual.arithmetic",
     "(a / b)' = (a' b - a b') / b^2, not a' / b'", """
    def _div(self, other):
        other = _as_dual(other)
        return Dual._from_arrays(self.value / other.value, self.tangent / other.tangent)
    Dual.__truediv__ = _div
    """)

dual("dual quotient divided by b", "Dual.arithmetic",
     "divide by b squared: (a' b - a b') / b^2", """
    def _div(self, other):
        other = _as_dual(other)
        return Dual._from_arrays(self.value / other.value,
                                 (self.tangent * other.value - self.value * other.tangent)
                                 / other.value)
    Dual.__truediv__ = _div
    """)

dual("dual power without the log term", "Dual.arithmetic",
     "with a Dual exponent b, (a^b)' = b a^(b-1) a' + a^b log(a) b'; the second term is "
     "missing", """
    def _pow(self, exponent):
        b = _as_dual(exponent).value
        return Dual._from_arrays(self.value**b, b * self.value ** (b - 1) * self.tangent)
    Dual.__pow__ = _pow
    """)

dual("dual power rule p * a ** p", "Dual.arithmetic",
     "the power rule is (a^p)' = p a^(p-1) a': the exponent of a drops by one", """
    def _pow(self, exponent):
        p = _as_dual(exponent).value
        return Dual._from_arrays(self.value**p, p * self.value**p * self.tangent)
    Dual.__pow__ = _pow
    """)

dual("dual power without the chain factor", "Dual.arithmetic",
     "multiply by the tangent a' (the chain rule): (a^p)' = p a^(p-1) a'", """
    def _pow(self, exponent):
        p = _as_dual(exponent).value
        return Dual._from_arrays(self.value**p, p * self.value ** (p - 1))
    Dual.__pow__ = _pow
    """)

# ---------------------------------------------------------------- Dual functions

dual("dual functions without the chain factor", "Dual.functions",
     "multiply the derivative by the input's tangent a' (the chain rule)", """
    Dual.exp = lambda self: Dual._from_arrays(np.exp(self.value), np.exp(self.value))
    Dual.log = lambda self: Dual._from_arrays(np.log(self.value), 1 / self.value)
    Dual.sin = lambda self: Dual._from_arrays(np.sin(self.value), np.cos(self.value))
    Dual.cos = lambda self: Dual._from_arrays(np.cos(self.value), -np.sin(self.value))
    Dual.relu = lambda self: Dual._from_arrays(np.maximum(self.value, 0.0),
                                               (self.value > 0) * 1.0)
    Dual.sigmoid = lambda self: Dual._from_arrays(
        0.5 * (1 + np.tanh(0.5 * self.value)), 0.25 * (1 - np.tanh(0.5 * self.value) ** 2))
    Dual.tanh = lambda self: Dual._from_arrays(np.tanh(self.value),
                                               1 - np.tanh(self.value) ** 2)
    """)

dual("dual cos without the minus sign", "Dual.functions",
     "d cos(a) = -sin(a) da: the sign is missing", """
    Dual.cos = lambda self: Dual._from_arrays(np.cos(self.value),
                                              np.sin(self.value) * self.tangent)
    """)

dual("dual sin with a minus sign", "Dual.functions",
     "d sin(a) = cos(a) da, without a minus sign", """
    Dual.sin = lambda self: Dual._from_arrays(np.sin(self.value),
                                              -np.cos(self.value) * self.tangent)
    """)

dual("dual log times a", "Dual.functions",
     "d log(a) = da / a: divide by a", """
    Dual.log = lambda self: Dual._from_arrays(np.log(self.value), self.tangent * self.value)
    """)

dual("dual relu at 0", "Dual.functions",
     "relu's derivative at exactly 0 is 0 (use a > 0)", """
    Dual.relu = lambda self: Dual._from_arrays(np.maximum(self.value, 0.0),
                                               self.tangent * (self.value >= 0))
    """)

# ---------------------------------------------------------------- jvp

dual("jvp swaps value and tangent", "jvp",
     "value and tangent are swapped: return (f(x), J v)", """
    def jvp(f, x, v):
        out = f(Dual(x, v))
        return out.tangent, out.value
    """)

dual("jvp returning J^T v", "jvp",
     "that is J^T v, a vector-Jacobian product (what reverse mode computes); forward mode "
     "gives J v", """
    def jvp(f, x, v):
        x, v = np.asarray(x, dtype=float), np.asarray(v, dtype=float)
        value = f(Dual(x)).value
        columns = [f(Dual(x, e.reshape(x.shape))).tangent.ravel() for e in np.eye(x.size)]
        jacobian = np.stack(columns, axis=1)
        return value, (jacobian.T @ v.ravel()).reshape(value.shape)
    """)

dual("jvp seeded with ones", "jvp",
     "the tangent was seeded with ones; seed the input's tangent with v", """
    def jvp(f, x, v):
        out = f(Dual(x, np.ones_like(np.asarray(x, dtype=float))))
        return out.value, out.tangent
    """)

dual("jvp returns Duals", "jvp",
     "return numpy arrays: the value and the tangent of the output Dual", """
    def jvp(f, x, v):
        out = f(Dual(x, v))
        return out, out
    """)
