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
        return Dual._from_arrays(self.value + other.value, self.tangent + other.tangent)

    def __radd__(self, other):
        return self + other

    def __neg__(self):
        """``(-a)' = -a'``."""
        return Dual._from_arrays(-self.value, -self.tangent)

    def __sub__(self, other):
        return self + -_as_dual(other, self)

    def __rsub__(self, other):
        return _as_dual(other, self) + -self

    def __mul__(self, other):
        """Product rule: ``(a b)' = a' b + a b'``."""
        other = _as_dual(other, self)
        return Dual._from_arrays(self.value * other.value,
                                 self.tangent * other.value + self.value * other.tangent)

    def __rmul__(self, other):
        return self * other

    def __truediv__(self, other):
        """Quotient rule: ``(a / b)' = (a' b - a b') / b^2``."""
        other = _as_dual(other, self)
        return Dual._from_arrays(self.value / other.value,
                                 (self.tangent * other.value - self.value * other.tangent)
                                 / other.value**2)

    def __rtruediv__(self, other):
        return _as_dual(other, self) / self

    def __pow__(self, exponent):
        """``(a^p)' = p a^(p-1) a'`` for a constant ``p``; for a Dual exponent ``b``,
        ``(a^b)' = b a^(b-1) a' + a^b log(a) b'`` (which needs ``a > 0``)."""
        exponent = _as_dual(exponent, self)
        a, b = self.value, exponent.value
        tangent = b * a ** (b - 1) * self.tangent
        if np.any(exponent.tangent != 0):
            tangent = tangent + a**b * np.log(a) * exponent.tangent
        return Dual._from_arrays(a**b, tangent)

    def __rpow__(self, base):
        return _as_dual(base, self) ** self

    # ------------------------------------------------------------ functions

    def exp(self):
        """``exp(a)' = exp(a) a'``."""
        value = np.exp(self.value)
        return Dual._from_arrays(value, value * self.tangent)

    def log(self):
        """``log(a)' = a' / a``."""
        return Dual._from_arrays(np.log(self.value), self.tangent / self.value)

    def sin(self):
        """``sin(a)' = cos(a) a'``."""
        return Dual._from_arrays(np.sin(self.value), np.cos(self.value) * self.tangent)

    def cos(self):
        """``cos(a)' = -sin(a) a'``."""
        return Dual._from_arrays(np.cos(self.value), -np.sin(self.value) * self.tangent)

    def relu(self):
        """``relu(a)' = a'`` where ``a > 0``, else 0 (0 at exactly 0, as PyTorch)."""
        return Dual._from_arrays(np.maximum(self.value, 0.0), self.tangent * (self.value > 0))

    def sigmoid(self):
        """``sigmoid(a)' = s (1 - s) a'`` with ``s = sigmoid(a)``, computed stably."""
        s = 0.5 * (1.0 + np.tanh(0.5 * self.value))
        return Dual._from_arrays(s, s * (1.0 - s) * self.tangent)

    def tanh(self):
        """``tanh(a)' = (1 - tanh(a)^2) a'``."""
        t = np.tanh(self.value)
        return Dual._from_arrays(t, (1.0 - t**2) * self.tangent)

    def sum(self, axis=None, keepdims=False):
        """Sums are linear: ``(sum a)' = sum a'``."""
        return Dual._from_arrays(self.value.sum(axis=axis, keepdims=keepdims),
                                 self.tangent.sum(axis=axis, keepdims=keepdims))


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
    out = _as_dual(f(Dual(x, v)))  # a constant output has tangent 0
    return out.value, out.tangent
