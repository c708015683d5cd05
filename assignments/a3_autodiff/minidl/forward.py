"""Forward-mode automatic differentiation with dual numbers.

A dual number ``a + a' eps`` carries a value ``a`` and a tangent ``a'`` (a directional
derivative), with the rule ``eps**2 = 0``. Then for any smooth ``f``,

    f(a + a' eps) = f(a) + f'(a) a' eps,

so evaluating ``f`` on duals gives its value and, in the same pass, its derivative along
the direction ``a'``. Each operation below applies the chain rule to its own tangent; no
graph is stored, so the memory is that of evaluating ``f`` itself.

For ``f: R^n -> R^m`` and a direction ``v``, one forward pass gives the Jacobian-vector
product ``J v``: the full gradient of a scalar loss of ``n`` inputs takes ``n`` passes, one
per input direction, where reverse mode (``minidl.autograd``) needs one backward pass.

PyTorch: ``torch.func.jvp`` and ``torch.autograd.forward_ad`` (dual tensors).
"""
import numpy as np

from minidl._validate import as_finite_array, as_float, same_shape


class Dual:
    """A value and its tangent, arrays of the same shape (float32 when the value is float32,
    float64 otherwise, as ``minidl.autograd.Tensor``).

    Supports ``+ - * / **`` with numbers, arrays and other Duals (numbers and arrays are
    constants: tangent 0), and the methods ``exp, log, sin, cos, relu, sigmoid, tanh, sum``.

    Parameters
    ----------
    value : number or array-like
    tangent : number or array-like of ``value``'s shape, or None (zeros: a constant)
    """

    # Let numpy hand ``array * dual`` to Dual's reflected operators.
    __array_ufunc__ = None

    def __init__(self, value, tangent=None):
        self.value = as_finite_array("value", value)
        if tangent is None:
            self.tangent = np.zeros_like(self.value)
        else:
            self.tangent = same_shape("tangent", as_finite_array("tangent", tangent),
                                      "the value", self.value)

    @classmethod
    def _from_arrays(cls, value, tangent):
        """A Dual around computed arrays, unchecked (their shapes may broadcast)."""
        dual = cls(0.0)
        value, tangent = np.broadcast_arrays(as_float(value), as_float(tangent))
        dual.value, dual.tangent = value.copy(), tangent.copy()
        return dual

    @property
    def shape(self):
        return self.value.shape

    def __repr__(self):
        return f"Dual(value={self.value!r}, tangent={self.tangent!r})"

    # ------------------------------------------------------------ arithmetic

    def __add__(self, other):
        """``(a + b)' = a' + b'``."""
        other = _as_dual(other, self)
        # YOUR CODE HERE
        raise NotImplementedError('Dual.__add__: write it (see its docstring and a3_autodiff.ipynb)')

    def __radd__(self, other):
        return self + other

    def __neg__(self):
        """``(-a)' = -a'``."""
        # YOUR CODE HERE
        raise NotImplementedError('Dual.__neg__: write it (see its docstring and a3_autodiff.ipynb)')

    def __sub__(self, other):
        return self + -_as_dual(other, self)

    def __rsub__(self, other):
        return _as_dual(other, self) + -self

    def __mul__(self, other):
        """Product rule: ``(a b)' = a' b + a b'``."""
        other = _as_dual(other, self)
        # YOUR CODE HERE
        raise NotImplementedError('Dual.__mul__: write it (see its docstring and a3_autodiff.ipynb)')

    def __rmul__(self, other):
        return self * other

    def __truediv__(self, other):
        """Quotient rule: ``(a / b)' = (a' b - a b') / b^2``."""
        other = _as_dual(other, self)
        # YOUR CODE HERE
        raise NotImplementedError('Dual.__truediv__: write it (see its docstring and a3_autodiff.ipynb)')

    def __rtruediv__(self, other):
        return _as_dual(other, self) / self

    def __pow__(self, exponent):
        """``(a^p)' = p a^(p-1) a'`` for a constant ``p``; for a Dual exponent ``b``,
        ``(a^b)' = b a^(b-1) a' + a^b log(a) b'`` (which needs ``a > 0``)."""
        exponent = _as_dual(exponent, self)
        # YOUR CODE HERE
        raise NotImplementedError('Dual.__pow__: write it (see its docstring and a3_autodiff.ipynb)')

    def __rpow__(self, base):
        return _as_dual(base, self) ** self

    # ------------------------------------------------------------ functions

    def exp(self):
        """``exp(a)' = exp(a) a'``."""
        # YOUR CODE HERE
        raise NotImplementedError('Dual.exp: write it (see its docstring and a3_autodiff.ipynb)')

    def log(self):
        """``log(a)' = a' / a``."""
        # YOUR CODE HERE
        raise NotImplementedError('Dual.log: write it (see its docstring and a3_autodiff.ipynb)')

    def sin(self):
        """``sin(a)' = cos(a) a'``."""
        # YOUR CODE HERE
        raise NotImplementedError('Dual.sin: write it (see its docstring and a3_autodiff.ipynb)')

    def cos(self):
        """``cos(a)' = -sin(a) a'``."""
        # YOUR CODE HERE
        raise NotImplementedError('Dual.cos: write it (see its docstring and a3_autodiff.ipynb)')

    def relu(self):
        """``relu(a)' = a'`` where ``a > 0``, else 0 (0 at exactly 0, as PyTorch)."""
        # YOUR CODE HERE
        raise NotImplementedError('Dual.relu: write it (see its docstring and a3_autodiff.ipynb)')

    def sigmoid(self):
        """``sigmoid(a)' = s (1 - s) a'`` with ``s = sigmoid(a)``, computed stably."""
        # YOUR CODE HERE
        raise NotImplementedError('Dual.sigmoid: write it (see its docstring and a3_autodiff.ipynb)')

    def tanh(self):
        """``tanh(a)' = (1 - tanh(a)^2) a'``."""
        # YOUR CODE HERE
        raise NotImplementedError('Dual.tanh: write it (see its docstring and a3_autodiff.ipynb)')

    def sum(self, axis=None, keepdims=False):
        """Sums are linear: ``(sum a)' = sum a'``."""
        # YOUR CODE HERE
        raise NotImplementedError('Dual.sum: write it (see its docstring and a3_autodiff.ipynb)')


def _as_dual(value, like=None):
    """A Dual as it is; a number or an array as a constant (tangent 0). A Python number
    takes the dtype of the Dual ``like`` it meets (as in ``minidl.autograd``)."""
    if isinstance(value, Dual):
        return value
    if like is not None and type(value) in (int, float):
        value = np.asarray(value, dtype=like.value.dtype)
    return Dual(value)


def jvp(f, x, v):
    """Value and Jacobian-vector product of ``f`` at ``x`` in the direction ``v``.

    One forward pass of ``f`` on the dual input ``x + v eps`` gives ``f(x) + (J v) eps``,
    where ``J`` is the Jacobian of ``f`` at ``x``: the change of every output when ``x``
    moves along ``v``.

    Parameters
    ----------
    f : function from a Dual to a Dual (built from Dual operations)
    x : array-like, the point
    v : array-like of ``x``'s shape, the direction

    Returns
    -------
    value : ndarray, ``f(x)``
    tangent : ndarray of ``value``'s shape, ``J v``
    PyTorch: ``torch.func.jvp(f, (x,), (v,))``.
    """
    x = as_finite_array("x", x)
    v = same_shape("the direction v", as_finite_array("v", v), "x", x)
    # YOUR CODE HERE
    raise NotImplementedError('jvp: write it (see its docstring and a3_autodiff.ipynb)')
