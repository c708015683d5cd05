"""Held-out wrong code and correct alternatives for a3_autodiff (see tests/test_mutations.py).

A held-out bug is realistic wrong code written apart from the catalogue of mistakes; its
"explanation" is the text the part's message must contain.
"""
from autograder.mistakes import Catalogue

HELD_OUT = Catalogue("a3_autodiff", module="autograd.py")

HELD_OUT.add(
    "add gradient not summed over broadcast axes", "Tensor.broadcasting",
    "sum its gradient over the broadcast axes", """
        Add.gradient = lambda self, g, out, a, b: (g, g)
        """)

HELD_OUT.add(
    "mul gradient not summed over broadcast axes", "Tensor.broadcasting",
    "sum its gradient over the broadcast axes", """
        Mul.gradient = lambda self, g, out, a, b: (g * b, g * a)
        """)

HELD_OUT.add(
    "mean not divided", "Tensor.sum_mean", "is wrong", """
        def _mean(self, axis=None, keepdims=False):
            return self.sum(axis=axis, keepdims=keepdims)
        Tensor.mean = _mean
        """)

HELD_OUT.add(
    "mean divided by the total size", "Tensor.sum_mean", "the value of", """
        def _mean(self, axis=None, keepdims=False):
            return self.sum(axis=axis, keepdims=keepdims) / self.data.size
        Tensor.mean = _mean
        """)

HELD_OUT.add(
    "reshape gradient kept the output shape", "Tensor.reshape_transpose", "but x0 has shape", """
        Reshape.gradient = lambda self, g, out, a: (g,)
        """)

HELD_OUT.add(
    "no_grad does nothing", "no_grad", "requires a gradient", """
        @contextlib.contextmanager
        def no_grad():
            yield
        """)

HELD_OUT.add(
    "log_softmax sums over every axis", "log_softmax", "is wrong", """
        def log_softmax(x, axis=-1):
            shifted = x - x.data.max(axis=axis, keepdims=True)
            return shifted - shifted.exp().sum().log()
        """)

HELD_OUT.add(
    "dual exp without the chain factor", "Dual.functions",
    "multiply the derivative by the input's tangent", """
        Dual.exp = lambda self: Dual._from_arrays(np.exp(self.value), np.exp(self.value))
        """, module="forward.py")

HELD_OUT.add(
    "jvp flattens its input", "jvp.shapes", "should have shape", """
        def jvp(f, x, v):
            out = f(Dual(np.ravel(x), np.ravel(v)))
            return out.value, out.tangent
        """, module="forward.py")

# A micrograd-style engine: gradients stored on every node during backward (then cleared
# for non-leaves), a topological order by Kahn's algorithm (counting users), Sigmoid via
# np.where, Max splitting ties by counting, GetItem gradient via a flat bincount, and the
# broadcast reduction written as a loop.
ALTERNATIVE_A = '''
def unbroadcast(grad, shape):
    grad = np.asarray(grad, dtype=np.float64)
    while grad.ndim > len(shape):
        grad = grad.sum(axis=0)
    for axis, size in enumerate(shape):
        if size == 1 and grad.shape[axis] != 1:
            grad = grad.sum(axis=axis, keepdims=True)
    return grad


def topological_order(root):
    users = {}
    stack, seen = [root], {root}
    while stack:
        node = stack.pop()
        for t in node._inputs:
            if t.requires_grad:
                users[t] = users.get(t, 0) + 1
                if t not in seen:
                    seen.add(t)
                    stack.append(t)
    ready, order = [root], []
    while ready:
        node = ready.pop()
        order.append(node)
        for t in node._inputs:
            if t.requires_grad:
                users[t] -= 1
                if users[t] == 0:
                    ready.append(t)
    return order[::-1]


def _backward(self, grad=None):
    grad = backward_seed(grad, self.data, self.requires_grad)
    order = topological_order(self)
    pending = {node: np.zeros_like(node.data) for node in order}
    pending[self] = pending[self] + grad
    for node in reversed(order):
        if node.is_leaf:
            node.grad = pending[node] if node.grad is None else node.grad + pending[node]
            continue
        grads = node._op.gradient(pending[node], node.data, *[t.data for t in node._inputs])
        for t, g in zip(node._inputs, grads):
            if t.requires_grad:
                pending[t] = pending[t] + g


Tensor.backward = _backward


def _sigmoid(self, a):
    positive = 1 / (1 + np.exp(-np.abs(a)))
    return np.where(a >= 0, positive, 1 - positive)


Sigmoid.compute = _sigmoid


def _max_gradient(self, g, out, a):
    expanded_out = out if self.keepdims else np.expand_dims(out, self.axes)
    expanded_g = g if self.keepdims else np.expand_dims(g, self.axes)
    mask = (a == expanded_out).astype(np.float64)
    count = np.sum(mask, axis=self.axes, keepdims=True)
    return (mask * (expanded_g / count),)


Max.gradient = _max_gradient


def _getitem_gradient(self, g, out, a):
    positions = np.arange(a.size).reshape(a.shape)[self.index]
    flat = np.bincount(np.ravel(positions), weights=np.ravel(g), minlength=a.size)
    return (flat.reshape(a.shape),)


GetItem.gradient = _getitem_gradient
'''

# A differently written forward mode: Dual arithmetic through one helper that applies the
# chain rule with given partial derivatives, and jvp that wraps the output again.
ALTERNATIVE_B = '''
def _chain(value, *parts):
    tangent = 0.0
    for derivative, operand in parts:
        tangent = tangent + derivative * operand.tangent
    return Dual._from_arrays(value, np.zeros_like(value) + tangent)


Dual.__mul__ = lambda self, o: _chain(self.value * _as_dual(o).value,
                                      (_as_dual(o).value, self), (self.value, _as_dual(o)))
Dual.__rmul__ = Dual.__mul__
Dual.__truediv__ = lambda self, o: _chain(
    self.value / _as_dual(o).value, (1 / _as_dual(o).value, self),
    (-self.value / _as_dual(o).value ** 2, _as_dual(o)))
Dual.exp = lambda self: _chain(np.exp(self.value), (np.exp(self.value), self))
Dual.log = lambda self: _chain(np.log(self.value), (1 / self.value, self))
Dual.sin = lambda self: _chain(np.sin(self.value), (np.cos(self.value), self))
Dual.cos = lambda self: _chain(np.cos(self.value), (-np.sin(self.value), self))
Dual.tanh = lambda self: _chain(np.tanh(self.value), (1 / np.cosh(self.value) ** 2, self))
Dual.sigmoid = lambda self: _chain(np.exp(-np.logaddexp(0, -self.value)),
                                   (np.exp(-np.logaddexp(0, -self.value)
                                           - np.logaddexp(0, self.value)), self))
Dual.relu = lambda self: _chain(np.where(self.value > 0, self.value, 0.0),
                                (np.where(self.value > 0, 1.0, 0.0), self))


def _pow(self, exponent):
    exponent = _as_dual(exponent)
    value = self.value ** exponent.value
    parts = [(exponent.value * self.value ** (exponent.value - 1), self)]
    if np.any(exponent.tangent):
        parts.append((value * np.log(self.value), exponent))
    return _chain(value, *parts)


Dual.__pow__ = _pow


def jvp(f, x, v):
    out = f(Dual(np.asarray(x, dtype=float), np.asarray(v, dtype=float)))
    if not isinstance(out, Dual):
        out = Dual(out)
    return np.array(out.value), np.array(out.tangent)
'''


ALTERNATIVES = {"A": {"autograd.py": ALTERNATIVE_A}, "B": {"forward.py": ALTERNATIVE_B}}
