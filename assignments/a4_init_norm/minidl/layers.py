"""Functional layers with hand-written backward passes, gradient checking, and an MLP.

Every layer is a pair of functions:

- ``out, cache = <layer>_forward(inputs...)`` computes the output and keeps in ``cache``
  whatever the backward pass will need (you decide what goes in it);
- ``grads = <layer>_backward(dout, cache)`` receives ``dout``, the gradient of the final
  loss with respect to ``out`` (same shape as ``out``), and returns the gradient of the loss
  with respect to each input, each of that input's shape.

Conventions (as in ``minidl.linear``): float arrays (float32 stays float32, anything else
becomes float64, as in PyTorch), a batch is ``(N, D)``, and
``linear_forward`` computes ``x @ W + b`` with ``W`` of shape ``(D, M)``. PyTorch's
``nn.Linear`` stores the transposed matrix, ``weight = W.T`` of shape ``(M, D)``.
A backward function never changes ``dout`` or the cache: other parts of a network may
still need them.
"""
import numpy as np

from minidl._validate import (
    as_float_array,
    as_labels,
    batch,
    batchnorm_inputs,
    batchnorm_settings,
    check_dout_shape,
    check_gradient_inputs,
    layer_sizes,
    linear_inputs,
    non_negative,
    one_of,
    positive,
    returned_number,
    same_shape,
)
from minidl.linear import l2_penalty, softmax_loss

# ---------------------------------------------------------------- linear


def linear_forward(x, W, b):
    """Affine layer: ``out = x.reshape(N, D) @ W + b``.

    Parameters
    ----------
    x : array (N, d1, ..., dk)
        A batch of N inputs of any shape; each is flattened to D = d1 * ... * dk features
        (a 2-D ``x`` of shape (N, D) is the usual case).
    W : array (D, M)
    b : array (M,)

    Returns
    -------
    out : array (N, M)
    cache : whatever ``linear_backward`` needs (the reference keeps ``(x, W, b)``).
    PyTorch: ``F.linear(x.reshape(N, -1), W.T, b)``, i.e. ``nn.Linear`` with ``weight = W.T``.
    """
    x, W, b = linear_inputs(x, W, b)
    out = x.reshape(x.shape[0], -1) @ W
    out += b  # in place: no second (N, M) array
    return out, (x, W, b)


def linear_backward(dout, cache):
    """Backward pass of ``linear_forward``.

    Parameters
    ----------
    dout : array (N, M), the gradient of the loss with respect to ``out``.
    cache : what ``linear_forward`` returned.

    Returns
    -------
    dx : array of x's original shape (N, d1, ..., dk)
    dW : array (D, M)
    db : array (M,)
    """
    dout = as_float_array("dout", dout)
    x, W, _ = cache
    n_samples = x.shape[0]
    check_dout_shape(dout, (n_samples, W.shape[1]))
    dx = (dout @ W.T).reshape(x.shape)
    dW = x.reshape(n_samples, -1).T @ dout
    db = dout.sum(axis=0)
    return dx, dW, db


# ---------------------------------------------------------------- activations


def relu_forward(x):
    """Rectified linear unit, elementwise: ``out = max(0, x)``.

    Returns
    -------
    out : array of x's shape
    cache : whatever ``relu_backward`` needs.
    PyTorch: ``torch.relu(x)``.
    """
    x = as_float_array("x", x)
    return np.maximum(x, 0.0), x


def relu_backward(dout, cache):
    """Backward pass of ``relu_forward``: ``dx = dout`` where ``x > 0``, 0 elsewhere.

    At exactly ``x == 0`` ReLU has no derivative; like PyTorch we use 0 there.

    Returns
    -------
    dx : array of x's shape
    """
    dout = as_float_array("dout", dout)
    x = cache
    check_dout_shape(dout, x.shape)
    return np.where(x > 0, dout, 0.0)


def sigmoid_forward(x):
    """Logistic sigmoid, elementwise: ``out = 1 / (1 + exp(-x))``.

    Must be exact and raise no overflow warning for ``|x|`` up to 1e3: ``exp(-x)``
    overflows for x below about -709, so never exponentiate a large positive number.

    Returns
    -------
    out : array of x's shape, in [0, 1]
    cache : whatever ``sigmoid_backward`` needs.
    PyTorch: ``torch.sigmoid(x)``.
    """
    x = as_float_array("x", x)
    e = np.exp(-np.abs(x))  # in (0, 1]: never overflows
    out = np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))
    return out, out


def sigmoid_backward(dout, cache):
    """Backward pass of ``sigmoid_forward``: ``dx`` is ``dout`` times the sigmoid's derivative
    at ``x``, which can be written with ``s = sigmoid(x)`` alone (derive it).

    Returns
    -------
    dx : array of x's shape
    """
    dout = as_float_array("dout", dout)
    s = cache
    check_dout_shape(dout, s.shape)
    return dout * s * (1.0 - s)


def tanh_forward(x):
    """Hyperbolic tangent, elementwise.

    Returns
    -------
    out : array of x's shape, in [-1, 1]
    cache : whatever ``tanh_backward`` needs.
    PyTorch: ``torch.tanh(x)``.
    """
    x = as_float_array("x", x)
    out = np.tanh(x)
    return out, out


def tanh_backward(dout, cache):
    """Backward pass of ``tanh_forward``: ``dx`` is ``dout`` times tanh's derivative at ``x``,
    which can be written with ``tanh(x)`` alone (derive it).

    Returns
    -------
    dx : array of x's shape
    """
    dout = as_float_array("dout", dout)
    t = cache
    check_dout_shape(dout, t.shape)
    return dout * (1.0 - t * t)


# ---------------------------------------------------------------- gradient checking


def numerical_gradient(f, x, h=1e-5):
    """Centered-difference estimate of the gradient of a scalar function ``f`` at ``x``.

    For each entry ``x[i]`` (``np.ndindex(x.shape)`` visits them all):
    ``grad[i] = (f(x with x[i] + h) - f(x with x[i] - h)) / (2 h)``.

    ``x`` itself is changed **in place** during the evaluation (``f`` may read it through
    a closure, such as a model's parameters, instead of using its argument), and every
    entry is restored **exactly** afterwards: save the old value and assign it back
    (``(x + h) - h`` is not always ``x`` in floating point).

    Parameters
    ----------
    f : callable, f(x) -> float
    x : float ndarray of any shape
    h : float > 0, the step

    Returns
    -------
    grad : float64 array of x's shape
    """
    check_gradient_inputs(f, x, h)
    grad = np.zeros(x.shape, dtype=np.float64)
    for index in np.ndindex(x.shape):
        old = x[index]
        x[index] = old + h
        f_plus = returned_number("f", f(x))
        x[index] = old - h
        f_minus = returned_number("f", f(x))
        x[index] = old
        grad[index] = (f_plus - f_minus) / (2.0 * h)
    return grad


def rel_error(a, b):
    """Largest relative difference: ``max(|a - b| / max(1e-12, |a| + |b|))``, a float.

    About 1e-7 or less: two gradients agree; 1e-2 or more: one of them is wrong.
    """
    a, b = as_float_array("a", a), as_float_array("b", b)
    same_shape("b", b, "a", a)
    if a.size == 0:
        return 0.0
    return float(np.max(np.abs(a - b) / np.maximum(1e-12, np.abs(a) + np.abs(b))))


# ---------------------------------------------------------------- a multilayer perceptron

ACTIVATIONS = {
    "relu": (relu_forward, relu_backward),
    "sigmoid": (sigmoid_forward, sigmoid_backward),
    "tanh": (tanh_forward, tanh_backward),
}


class MLP:
    """A fully connected network: (linear -> activation) x (L - 1) -> linear -> softmax loss.

    Parameters
    ----------
    dims : sequence of int
        ``[D, H1, ..., C]``: the input size, the hidden sizes and the number of classes;
        L = len(dims) - 1 linear layers. ``[D, C]`` is a linear classifier.
    activation : "relu", "sigmoid" or "tanh"
        The nonlinearity after every linear layer but the last.
    reg : float
        L2 strength: ``0.5 * reg * sum(W**2)`` for every weight matrix, no biases.
    weight_scale : float or None
        Each ``W`` is drawn from N(0, weight_scale**2); None means He initialization,
        standard deviation ``sqrt(2 / fan_in)`` with ``fan_in`` the layer's input size.
    seed : int or numpy.random.Generator
        Draws the weights (W1 first). Biases start at 0.

    Attributes
    ----------
    params : dict
        ``"W1"`` (D, H1), ``"b1"`` (H1,), ..., ``"WL"`` (H_{L-1}, C), ``"bL"`` (C,).
    PyTorch: ``nn.Sequential(nn.Linear, activation, ..., nn.Linear)`` with
    ``weight = W.T``, ``F.cross_entropy`` and ``0.5 * reg * sum(weight**2)``.
    """

    def __init__(self, dims, activation="relu", reg=0.0, weight_scale=None, seed=0):
        self.dims = layer_sizes(dims)
        self.activation = one_of("activation", activation, tuple(ACTIVATIONS))
        self.reg = non_negative("reg", reg)
        if weight_scale is not None:
            positive("weight_scale", weight_scale)
        self.n_layers = len(self.dims) - 1
        rng = np.random.default_rng(seed)
        self.params = {}
        for layer in range(1, self.n_layers + 1):
            fan_in, fan_out = self.dims[layer - 1], self.dims[layer]
            scale = np.sqrt(2.0 / fan_in) if weight_scale is None else weight_scale
            self.params[f"W{layer}"] = scale * rng.standard_normal((fan_in, fan_out))
            self.params[f"b{layer}"] = np.zeros(fan_out)

    def loss(self, X, y=None):
        """Scores, or the loss and the gradient of every parameter.

        Parameters
        ----------
        X : array (N, D) (or (N, d1, ..., dk) with d1 * ... * dk = D)
        y : int array (N,) or None

        Returns
        -------
        scores : array (N, C), if y is None. Otherwise
        loss : float, the mean softmax loss plus ``0.5 * reg * sum(W**2)`` over every W
        grads : dict with the keys of ``params``, each gradient of its parameter's shape
        """
        X = batch(X, self.dims[0])
        if y is not None:
            y = as_labels(y, X.shape[0], self.dims[-1])
        forward, backward = ACTIVATIONS[self.activation]
        caches = []
        out = X
        for layer in range(1, self.n_layers + 1):
            out, linear_cache = linear_forward(out, self.params[f"W{layer}"],
                                               self.params[f"b{layer}"])
            activation_cache = None
            if layer < self.n_layers:
                out, activation_cache = forward(out)
            caches.append((linear_cache, activation_cache))
        scores = out
        if y is None:
            return scores

        loss, dout = softmax_loss(scores, y)
        grads = {}
        for layer in range(self.n_layers, 0, -1):
            linear_cache, activation_cache = caches[layer - 1]
            if activation_cache is not None:
                dout = backward(dout, activation_cache)
            if layer > 1:
                dout, dW, db = linear_backward(dout, linear_cache)
            else:  # nobody needs the gradient of the data X: skip its product
                x = linear_cache[0]
                dW, db = x.reshape(len(x), -1).T @ dout, dout.sum(axis=0)
            penalty, dW_penalty = l2_penalty(self.params[f"W{layer}"], self.reg)
            loss += penalty
            dW += dW_penalty  # in place: dW is a new array of this step
            grads[f"W{layer}"] = dW
            grads[f"b{layer}"] = db
        return float(loss), grads


# ---------------------------------------------------------------- batch normalization (a4)


def batchnorm_forward(x, gamma, beta, bn_param):
    """Batch normalization of (N, D) inputs, feature by feature, with a hand-derived cache.

    ``bn_param`` is a dict: ``mode`` ("train" or "eval"), ``eps`` (default 1e-5),
    ``momentum`` (default 0.1), and ``running_mean`` / ``running_var``, arrays of shape
    (D,) (created as zeros / ones when absent, and **updated in place**).

    Train mode: ``mu`` and ``var`` are the batch mean and the **biased** batch variance
    (divided by N); ``x_hat = (x - mu) / sqrt(var + eps)``, ``out = gamma * x_hat + beta``;
    then PyTorch's update of the running statistics, which uses the **unbiased** variance::

        running_mean = (1 - momentum) * running_mean + momentum * mu
        running_var  = (1 - momentum) * running_var  + momentum * var * N / (N - 1)

    Eval mode normalizes with the running statistics and changes nothing.
    Returns ``(out, cache)``. PyTorch: ``F.batch_norm(x, running_mean, running_var, gamma,
    beta, training=mode == "train", momentum=momentum, eps=eps)``.
    """
    x, gamma, beta = batchnorm_inputs(x, gamma, beta)
    mode, eps, momentum, running_mean, running_var = batchnorm_settings(bn_param, x.shape)
    n = x.shape[0]
    # YOUR CODE HERE
    raise NotImplementedError('batchnorm_forward: write it (see its docstring and a4_init_norm.ipynb)')


def batchnorm_backward(dout, cache):
    """Gradients of batch normalization: ``(dx, dgamma, dbeta)``.

    In train mode ``mu`` and ``var`` depend on every sample, so ``dx`` collects three paths:
    the direct one through ``x_i``, and those through the mean and the variance (derive
    them; the notebook works a small case first). In eval mode the statistics are
    constants.
    PyTorch: the autograd gradient of ``F.batch_norm``.
    """
    dout = as_float_array("dout", dout)
    # YOUR CODE HERE
    raise NotImplementedError('batchnorm_backward: write it (see its docstring and a4_init_norm.ipynb)')
