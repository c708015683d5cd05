"""Reverse-mode automatic differentiation: a ``Tensor`` that records the operations applied
to it and computes gradients with ``backward()``.

How it fits together:

- An **operation** (a subclass of ``Op``) knows two things: ``compute``, its value from the
  input arrays, and one gradient rule per input (``gradient_a``, ``gradient_b``), the
  vector-Jacobian product that turns the gradient of the loss with respect to its output
  into the gradient with respect to that input. All work on plain numpy arrays; they sit
  next to each other so that each rule is written once, in one place.
- Applying an operation to Tensors (``a + b``, ``x.exp()``) gives a new Tensor that
  remembers the operation and its inputs: the **computation graph** is recorded as the
  code runs.
- ``loss.backward()`` orders the graph so that every node comes after all the nodes that
  use it, then walks it once from the loss to the leaves, applying each ``gradient`` and
  adding up the contributions of every path (the multivariate chain rule). An operation
  computes the gradients of only those inputs that require one: the batch fed to a network
  gets none, which saves a third of the work of its first layer.

PyTorch equivalent: ``torch.Tensor`` with ``requires_grad``, ``torch.autograd``, and
``torch.no_grad``. As in PyTorch, only leaves (tensors created by you, not by an operation)
that require gradients keep a ``.grad``.
"""
import contextlib
import math

import numpy as np

from minidl._validate import (
    FLOAT_DTYPES,
    as_finite_array,
    as_labels,
    axes_of,
    backward_seed,
    exponent,
    finite_number,
    logits_shape,
    matmul_shapes,
    new_shape,
    not_empty,
    numpy_index,
    one_element,
    one_of,
    permutation,
    summed_shape,
)
from minidl.forward import Dual, jvp

__all__ = ["Tensor", "log_softmax", "cross_entropy", "no_grad", "Dual", "jvp"]

GELU_APPROXIMATIONS = ("tanh", "none")

# False inside ``with no_grad():``: operations then record nothing.
_grad_enabled = True


# ---------------------------------------------------------------- helpers for gradients


def unbroadcast(grad, shape):
    """Sum ``grad`` down to ``shape``: undo numpy broadcasting in the backward pass.

    When an operand of shape ``shape`` was broadcast to ``grad.shape``, each of its
    entries was used once per copy, so its gradient is the **sum** over the copies:
    sum over the leading axes that broadcasting added, then over every axis where
    ``shape`` has size 1 (keeping that axis).

    Example: ``b`` of shape (4,) added to ``x`` of shape (3, 4) is used by all 3 rows, so
    ``unbroadcast(grad, (4,)) == grad.sum(axis=0)``.
    PyTorch: ``grad.sum_to_size(shape)``.
    """
    grad = np.asarray(grad)
    if grad.dtype not in FLOAT_DTYPES:  # float32 stays float32, anything else is float64
        grad = grad.astype(np.float64)
    shape = summed_shape(grad.shape, shape)
    if grad.shape == shape:  # nothing was broadcast
        return grad
    grad = grad.sum(axis=tuple(range(grad.ndim - len(shape))))
    stretched = tuple(axis for axis, size in enumerate(shape) if size == 1)
    return grad.sum(axis=stretched, keepdims=True)


def _expand(grad, axes, keepdims):
    """Put back the reduced ``axes`` (as size-1 axes) unless the reduction kept them."""
    return grad if keepdims else np.expand_dims(grad, axes)


# ---------------------------------------------------------------- operations


class Op:
    """One differentiable operation of one or two inputs.

    Subclasses implement ``compute(*inputs) -> out`` and, for each input, its gradient rule:
    ``gradient_a(out_grad, out, *inputs)`` for the first input, ``gradient_b`` for the
    second. Every argument is a numpy array: the inputs, the output, and ``out_grad``, the
    gradient of the final loss with respect to the output (of the output's shape). A rule
    returns the gradient with respect to its input, of that input's shape. Settings such as
    an axis are stored on the instance.

    When the operation is recorded, ``needs_input_grad`` notes which inputs require a
    gradient, and ``gradient`` calls the rules of those inputs only (PyTorch:
    ``ctx.needs_input_grad``): no rule ever has to ask whether its result is wanted.
    """

    def compute(self, *inputs):
        raise NotImplementedError

    def gradient(self, out_grad, out, *inputs):
        """One gradient per input: its rule's result if it needs one, else None."""
        if len(inputs) == 1:  # the operation was recorded, so its one input needs one
            return (self.gradient_a(out_grad, out, inputs[0]),)
        a, b = inputs
        needs_a, needs_b = self.needs_input_grad
        return (self.gradient_a(out_grad, out, a, b) if needs_a else None,
                self.gradient_b(out_grad, out, a, b) if needs_b else None)

    def __call__(self, *tensors):
        """Apply the operation to one or two Tensors, recording it when a gradient will be
        needed."""
        # Both cases written out: building a list of arguments for the call would cost
        # more than the operation itself on a small array.
        if len(tensors) == 1:
            (a,) = tensors
            out = Tensor._from_array(self.compute(a.data))
            needs_input_grad = (a.requires_grad,)
        else:
            a, b = tensors
            out = Tensor._from_array(self.compute(a.data, b.data))
            needs_input_grad = (a.requires_grad, b.requires_grad)
        if _grad_enabled and True in needs_input_grad:
            self.needs_input_grad = needs_input_grad
            out.requires_grad = True
            out._op, out._inputs = self, tensors
        return out

    def __repr__(self):
        return type(self).__name__


class Add(Op):
    """``a + b`` with broadcasting. Addition passes the gradient through unchanged to both
    inputs (then summed to each input's shape)."""

    def compute(self, a, b):
        return a + b

    def gradient_a(self, out_grad, out, a, b):
        return unbroadcast(out_grad, a.shape)

    def gradient_b(self, out_grad, out, a, b):
        return unbroadcast(out_grad, b.shape)


class Sub(Op):
    """``a - b`` with broadcasting: like addition, except that ``b``'s gradient changes
    sign, ``d(a - b)/db = -1``."""

    def compute(self, a, b):
        return a - b

    def gradient_a(self, out_grad, out, a, b):
        return unbroadcast(out_grad, a.shape)

    def gradient_b(self, out_grad, out, a, b):
        return -unbroadcast(out_grad, b.shape)


class Neg(Op):
    """``-a``: ``d(-a)/da = -1``, so the gradient comes back with its sign flipped."""

    def compute(self, a):
        return -a

    def gradient_a(self, out_grad, out, a):
        return -out_grad


class Mul(Op):
    """``a * b`` with broadcasting: ``d(ab)/da = b`` and ``d(ab)/db = a``, so
    multiplication *swaps* its inputs in the backward pass."""

    def compute(self, a, b):
        return a * b

    def gradient_a(self, out_grad, out, a, b):
        return unbroadcast(out_grad * b, a.shape)

    def gradient_b(self, out_grad, out, a, b):
        return unbroadcast(out_grad * a, b.shape)


class Pow(Op):
    """``a ** p`` for a number ``p``: ``d(a^p)/da = p * a^(p - 1)``."""

    def __init__(self, exponent):
        self.exponent = exponent

    def compute(self, a):
        return a**self.exponent

    def gradient_a(self, out_grad, out, a):
        return out_grad * self.exponent * a ** (self.exponent - 1)


class MatMul(Op):
    """``a @ b`` with numpy's rules: 2-D matrices, 1-D vectors, and stacks of matrices.

    For matrices, ``out = a @ b`` gives ``da = out_grad @ b.T`` and ``db = a.T @ out_grad``:
    each gradient has its input's shape, which fixes where the transposes go. A vector
    ``a`` acts as a row (1, n) and a vector ``b`` as a column (n, 1); stacked (batch) axes
    broadcast like any other operand, so their gradients are summed with ``unbroadcast``.
    """

    def compute(self, a, b):
        return a @ b

    def gradient_a(self, out_grad, out, a, b):
        out_grad, a_matrix, b_matrix = self.as_matrices(out_grad, a, b)
        da = out_grad @ np.swapaxes(b_matrix, -1, -2)
        return unbroadcast(da, a_matrix.shape).reshape(a.shape)

    def gradient_b(self, out_grad, out, a, b):
        out_grad, a_matrix, b_matrix = self.as_matrices(out_grad, a, b)
        db = np.swapaxes(a_matrix, -1, -2) @ out_grad
        return unbroadcast(db, b_matrix.shape).reshape(b.shape)

    @staticmethod
    def as_matrices(out_grad, a, b):
        """``out_grad``, ``a`` and ``b`` with every vector turned into a matrix: ``a`` (n,)
        into a row (1, n), ``b`` (n,) into a column (n, 1), and ``out_grad`` given back the
        axis that each of them lost in the product."""
        if b.ndim == 1:
            b = b[:, np.newaxis]
            out_grad = np.expand_dims(out_grad, -1)
        if a.ndim == 1:
            a = a[np.newaxis, :]
            out_grad = np.expand_dims(out_grad, -2)
        return out_grad, a, b


class Sum(Op):
    """Sum over ``axes``: every summed entry receives the output's gradient, so the
    backward pass copies (broadcasts) the gradient back over the summed axes."""

    def __init__(self, axes, keepdims):
        self.axes, self.keepdims = axes, keepdims

    def compute(self, a):
        return a.sum(axis=self.axes, keepdims=self.keepdims)

    def gradient_a(self, out_grad, out, a):
        return np.broadcast_to(_expand(out_grad, self.axes, self.keepdims), a.shape)


class Max(Op):
    """Maximum over ``axes``. The gradient goes to the entry that is the maximum (max
    *routes* the gradient); when several entries tie for the maximum, they share it
    equally, as ``torch.amax`` does."""

    def __init__(self, axes, keepdims):
        self.axes, self.keepdims = axes, keepdims

    def compute(self, a):
        return a.max(axis=self.axes, keepdims=self.keepdims)

    def gradient_a(self, out_grad, out, a):
        is_max = (a == _expand(out, self.axes, self.keepdims)).astype(a.dtype)
        share = is_max / is_max.sum(axis=self.axes, keepdims=True)
        return share * _expand(out_grad, self.axes, self.keepdims)


class Exp(Op):
    """``exp(a)``; its derivative is itself, which is the output: ``d exp(a) = exp(a)``."""

    def compute(self, a):
        return np.exp(a)

    def gradient_a(self, out_grad, out, a):
        return out_grad * out


class Log(Op):
    """Natural logarithm: ``d log(a) / da = 1 / a``."""

    def compute(self, a):
        return np.log(a)

    def gradient_a(self, out_grad, out, a):
        return out_grad / a


class ReLU(Op):
    """``max(a, 0)``: derivative 1 where ``a > 0`` and 0 elsewhere, **including at exactly
    0** (the function has no derivative there; PyTorch picks 0 and so do we)."""

    def compute(self, a):
        return np.maximum(a, 0.0)

    def gradient_a(self, out_grad, out, a):
        return out_grad * (a > 0)


class Sigmoid(Op):
    """``1 / (1 + exp(-a))``, computed as ``(1 + tanh(a / 2)) / 2`` (the same function,
    which never overflows); ``d sigmoid(a) = sigmoid(a) * (1 - sigmoid(a))``."""

    def compute(self, a):
        return 0.5 * (1.0 + np.tanh(0.5 * a))

    def gradient_a(self, out_grad, out, a):
        return out_grad * out * (1.0 - out)


class Tanh(Op):
    """Hyperbolic tangent: ``d tanh(a) = 1 - tanh(a)^2``, written with the output."""

    def compute(self, a):
        return np.tanh(a)

    def gradient_a(self, out_grad, out, a):
        return out_grad * (1.0 - out**2)


class GELU(Op):
    """The Gaussian error linear unit, ``x * Phi(x)`` with ``Phi`` the standard normal
    distribution function: the input weighted by the probability that a standard normal
    variable is below it. Close to ReLU far from 0, but smooth, and slightly negative for
    negative inputs (its minimum is about -0.17, at x = -0.75).

    - ``approximate="none"``: ``Phi(x) = (1 + erf(x / sqrt(2))) / 2``, and
      ``d/dx [x Phi(x)] = Phi(x) + x phi(x)`` with the density
      ``phi(x) = exp(-x^2 / 2) / sqrt(2 pi)``. numpy has no ``erf``, so ``erf`` (given)
      applies ``math.erf`` entry by entry: exact, but about 50 times slower than ``tanh``.
    - ``approximate="tanh"``: ``Phi(x) ~ (1 + tanh(u)) / 2`` with
      ``u = sqrt(2 / pi) * (x + 0.044715 x^3)``, the form GPT-2 and BERT were trained with.
      Differentiate ``x (1 + tanh(u)) / 2`` with the product and chain rules
      (``d tanh(u) = (1 - tanh(u)^2) du``).

    PyTorch: ``F.gelu(x, approximate=approximate)`` (PyTorch's default is "none").
    """

    def __init__(self, approximate):
        self.approximate = approximate

    def compute(self, a):
        # YOUR CODE HERE
        raise NotImplementedError('GELU.compute: write it (see its docstring and a6_cnn.ipynb)')

    def gradient_a(self, out_grad, out, a):
        # YOUR CODE HERE
        raise NotImplementedError('GELU.gradient_a: write it (see its docstring and a6_cnn.ipynb)')


def _gelu_tanh_argument(a):
    """``u = sqrt(2 / pi) * (a + 0.044715 a^3)``, the argument of tanh in GELU's tanh form."""
    return math.sqrt(2.0 / math.pi) * (a + 0.044715 * a**3)


def erf(a):
    """The error function entry by entry, in ``a``'s dtype (``math.erf`` on each entry)."""
    return np.frompyfunc(math.erf, 1, 1)(a).astype(a.dtype)


class LeakyReLU(Op):
    """``x`` where ``x > 0`` and ``negative_slope * x`` elsewhere: a ReLU whose negative side
    keeps a small slope, so a unit whose input is negative for every sample still passes
    a gradient and can recover (a ReLU unit in that state is "dead": its gradient is 0).
    The derivative is 1 for ``x > 0`` and ``negative_slope`` for ``x <= 0``, at exactly 0
    included, as PyTorch. PyTorch: ``F.leaky_relu(x, negative_slope)``."""

    def __init__(self, negative_slope):
        self.negative_slope = negative_slope

    def compute(self, a):
        # YOUR CODE HERE
        raise NotImplementedError('LeakyReLU.compute: write it (see its docstring and a6_cnn.ipynb)')

    def gradient_a(self, out_grad, out, a):
        # YOUR CODE HERE
        raise NotImplementedError('LeakyReLU.gradient_a: write it (see its docstring and a6_cnn.ipynb)')


class Reshape(Op):
    """A new shape for the same entries; the gradient takes the input's shape back."""

    def __init__(self, shape):
        self.shape = shape

    def compute(self, a):
        return a.reshape(self.shape)

    def gradient_a(self, out_grad, out, a):
        return out_grad.reshape(a.shape)


class Transpose(Op):
    """Permute the axes (numpy's ``transpose``): output axis ``i`` is input axis
    ``axes[i]``. The gradient undoes the permutation with the inverse one,
    ``np.argsort(axes)``."""

    def __init__(self, axes):
        self.axes = axes

    def compute(self, a):
        return np.transpose(a, self.axes)

    def gradient_a(self, out_grad, out, a):
        return np.transpose(out_grad, np.argsort(self.axes))


class GetItem(Op):
    """``a[index]`` with basic (ints, slices, None, ...) or integer-array indexing.

    The gradient is zero everywhere except at the selected entries. An entry selected
    several times (``a[[0, 0, 2]]``) was used several times, so its gradients add up:
    ``np.add.at`` accumulates, while ``grad[index] += out_grad`` would keep only one.
    """

    def __init__(self, index):
        self.index = index

    def compute(self, a):
        return a[self.index]

    def gradient_a(self, out_grad, out, a):
        grad = np.zeros_like(a)
        np.add.at(grad, self.index, out_grad)
        return grad


# ---------------------------------------------------------------- the graph


def topological_order(root):
    """Every tensor that ``root`` depends on and that requires a gradient, ``root`` last,
    each after all of its inputs.

    Built **iteratively**, with an explicit stack: a recursive depth-first search needs one
    Python frame per node along a path and fails with RecursionError on a chain of
    100,000 operations (Python's default limit is 1,000 frames).
    """
    order, visited = [], set()
    stack = [(root, False)]
    while stack:
        node, inputs_done = stack.pop()
        if inputs_done:
            order.append(node)  # all of its inputs are already in the order
            continue
        if node in visited:
            continue
        visited.add(node)
        stack.append((node, True))
        stack.extend([(t, False) for t in node._inputs if t.requires_grad and t not in visited])
    return order


class Tensor:
    """An array that records the operations applied to it, for reverse-mode autodiff.

    Parameters
    ----------
    data : number or array-like
        Stored as a copy: float32 if ``data`` is float32 (half the memory, faster
        products), float64 for anything else.
    requires_grad : bool
        Whether ``backward`` should compute the gradient of this tensor.

    Attributes
    ----------
    data : ndarray (float32 or float64)
    grad : ndarray of ``data``'s shape, or None
        None until a ``backward`` reaches this tensor; only leaves that require a gradient
        keep one (as PyTorch), and each ``backward`` *adds* to it.
    requires_grad : bool
    PyTorch: ``torch.tensor(data, requires_grad=requires_grad)``, with float64 in place of
    PyTorch's default float32 for everything but float32 data.
    """

    # Fixed attributes make a Tensor smaller and faster to create: a graph has many.
    __slots__ = ("data", "requires_grad", "grad", "_op", "_inputs")

    # Make numpy hand ``array + tensor`` (and ``@``, ``*``, ...) to Tensor's reflected
    # operators instead of treating the Tensor as an array of objects.
    __array_ufunc__ = None

    def __init__(self, data, requires_grad=False):
        self.data = as_finite_array("Tensor data", data)
        self.requires_grad = bool(requires_grad)
        self.grad = None
        self._op = None  # the operation that produced this tensor (None for a leaf)
        self._inputs = ()

    @classmethod
    def _from_array(cls, array):
        """A tensor around an operation's result, unchecked: ``log(0) = -inf`` is a result."""
        tensor = cls.__new__(cls)  # skips the checks of __init__: operations run often
        array = np.asarray(array)
        tensor.data = array if array.dtype in FLOAT_DTYPES else array.astype(np.float64)
        tensor.requires_grad, tensor.grad, tensor._op, tensor._inputs = False, None, None, ()
        return tensor

    # ------------------------------------------------------------ basic properties

    @property
    def shape(self):
        return self.data.shape

    @property
    def ndim(self):
        return self.data.ndim

    @property
    def is_leaf(self):
        return self._op is None

    def item(self):
        """The value of a one-element tensor as a Python float."""
        one_element("item()", self.shape)
        return float(self.data.reshape(()))

    def __repr__(self):
        suffix = f", op={self._op!r}" if self._op else ""
        grad = ", requires_grad=True" if self.requires_grad else ""
        return f"Tensor({self.data!r}{grad}{suffix})"

    # ------------------------------------------------------------ operators

    def __add__(self, other):
        return Add()(self, _as_tensor(other, self))

    def __radd__(self, other):
        return Add()(_as_tensor(other, self), self)

    def __mul__(self, other):
        return Mul()(self, _as_tensor(other, self))

    def __rmul__(self, other):
        return Mul()(_as_tensor(other, self), self)

    def __neg__(self):
        return Neg()(self)

    def __sub__(self, other):
        return Sub()(self, _as_tensor(other, self))

    def __rsub__(self, other):
        return Sub()(_as_tensor(other, self), self)

    def __truediv__(self, other):
        return self * _as_tensor(other, self) ** -1.0

    def __rtruediv__(self, other):
        return _as_tensor(other, self) * self**-1.0

    def __pow__(self, power):
        return Pow(exponent(power))(self)

    def __matmul__(self, other):
        return _matmul(self, _as_tensor(other))

    def __rmatmul__(self, other):
        return _matmul(_as_tensor(other), self)

    def __getitem__(self, index):
        return GetItem(numpy_index(index, Tensor))(self)

    # ------------------------------------------------------------ methods

    def sum(self, axis=None, keepdims=False):
        """Sum over ``axis`` (None: all axes). PyTorch: ``x.sum(dim=axis, keepdim=keepdims)``."""
        return Sum(axes_of(axis, self.ndim), keepdims)(self)

    def mean(self, axis=None, keepdims=False):
        """Mean over ``axis``: the sum divided by the number of entries summed."""
        axes = axes_of(axis, self.ndim)
        count = int(np.prod([self.shape[a] for a in axes]))
        return self.sum(axis=axes, keepdims=keepdims) / count

    def max(self, axis=None, keepdims=False):
        """Maximum over ``axis``; ties share the gradient. PyTorch: ``torch.amax``."""
        not_empty("max()", self.shape)
        return Max(axes_of(axis, self.ndim), keepdims)(self)

    def exp(self):
        return Exp()(self)

    def log(self):
        return Log()(self)

    def relu(self):
        return ReLU()(self)

    def sigmoid(self):
        return Sigmoid()(self)

    def tanh(self):
        return Tanh()(self)

    def gelu(self, approximate="tanh"):
        """GELU, ``x * Phi(x)``; ``approximate`` is "tanh" (the default here) or "none"
        (exact, with erf). PyTorch: ``F.gelu(x, approximate=approximate)``."""
        return GELU(one_of("approximate", approximate, GELU_APPROXIMATIONS))(self)

    def leaky_relu(self, negative_slope=0.01):
        """``x`` for ``x > 0``, ``negative_slope * x`` elsewhere.
        PyTorch: ``F.leaky_relu(x, negative_slope)``."""
        return LeakyReLU(finite_number("negative_slope", negative_slope))(self)

    def reshape(self, *shape):
        """``x.reshape(2, 6)`` or ``x.reshape((2, 6))``; one size may be -1."""
        return Reshape(new_shape(shape, self.shape))(self)

    def transpose(self, *axes):
        """Permute the axes as numpy does; no argument reverses them."""
        return Transpose(permutation(axes, self.shape))(self)

    @property
    def T(self):
        """All axes reversed (the transpose of a matrix)."""
        return self.transpose()

    # ------------------------------------------------------------ backward

    def backward(self, grad=None):
        """Add the gradient of this tensor with respect to every leaf that requires a
        gradient to that leaf's ``.grad``.

        ``grad`` is the gradient of the final quantity with respect to this tensor; it may
        be left out for a one-element tensor (a scalar loss), where it is 1.

        Each node's gradient is the sum of the contributions of all the nodes that use it,
        so nodes are visited in reverse topological order: a node is processed only after
        every node that uses it has passed its contribution on. This is dynamic
        programming: each node's gradient (its *adjoint*) is computed once and reused by
        all of its inputs.
        """
        grad = backward_seed(grad, self.data, self.requires_grad)
        grads = {self: grad}
        for node in reversed(topological_order(self)):
            node_grad = grads.pop(node)  # complete now: every user of node has been visited
            if node.is_leaf:
                previous = 0.0 if node.grad is None else node.grad
                node.grad = previous + np.asarray(node_grad, dtype=node.data.dtype)  # new
                continue
            inputs = [t.data for t in node._inputs]
            for tensor, input_grad in zip(node._inputs,
                                          node._op.gradient(node_grad, node.data, *inputs),
                                          strict=True):
                if tensor.requires_grad:
                    grads[tensor] = grads[tensor] + input_grad if tensor in grads else input_grad


def _as_tensor(value, like=None):
    """A Tensor as it is; a number or an array as a constant (no gradient). A Python number
    takes the dtype of the Tensor ``like`` it meets, so ``x * 2`` keeps a float32 ``x``
    float32 (as in PyTorch); an array keeps its own."""
    if isinstance(value, Tensor):
        return value
    if type(value) in (int, float) and math.isfinite(value):  # the common case, made cheap
        dtype = np.float64 if like is None else like.data.dtype
        return Tensor._from_array(np.asarray(value, dtype=dtype))
    return Tensor(value)


def _matmul(a, b):
    matmul_shapes(a.shape, b.shape)
    return MatMul()(a, b)


# ---------------------------------------------------------------- functions


def log_softmax(x, axis=-1):
    """``log_softmax(x)_k = x_k - log sum_j exp(x_j)`` along ``axis``, stable for any
    scale of ``x``.

    Subtracting the maximum ``m`` first changes nothing mathematically
    (``x - m - log sum exp(x - m)`` is the same number) but keeps every ``exp`` at most 1,
    so logits of 1e4 do not overflow. ``m`` is used as a constant: the result does not
    depend on it, so no gradient needs to flow through it.
    PyTorch: ``torch.log_softmax(x, dim=axis)``.
    """
    x = _as_tensor(x)
    (axis,) = axes_of(axis, x.ndim)
    shifted = x - x.data.max(axis=axis, keepdims=True)
    return shifted - shifted.exp().sum(axis=axis, keepdims=True).log()


def cross_entropy(logits, y):
    """Mean cross-entropy of (N, C) ``logits`` and integer labels ``y`` (N,):
    ``-(1/N) sum_i log_softmax(logits)[i, y_i]``.

    PyTorch: ``F.cross_entropy(logits, y)``.
    """
    logits = _as_tensor(logits)
    logits_shape(logits.shape)
    y = as_labels(y, logits.shape[0], logits.shape[1])
    log_probs = log_softmax(logits, axis=1)
    return -log_probs[np.arange(len(y)), y].mean()


@contextlib.contextmanager
def no_grad():
    """Inside ``with no_grad():`` operations record no graph (their results do not require
    a gradient): for evaluation and for updating weights. The previous mode comes back on
    exit, even when the block raises. PyTorch: ``torch.no_grad()``.
    """
    global _grad_enabled
    previous = _grad_enabled
    _grad_enabled = False
    try:
        yield
    finally:
        _grad_enabled = previous
