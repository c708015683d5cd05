"""Linear classifiers: softmax and multiclass hinge (SVM) losses, and a classifier trained by SGD.

Conventions used throughout minidl:

- ``scores`` is an (N, C) float array: one row of class scores per sample. float32 input
  stays float32 (as in PyTorch); anything else (ints, float64) is computed in float64.
- ``y`` is an (N,) integer array of labels in [0, C).
- Every loss is the **mean** over the batch, and every function that returns a
  loss also returns its gradient with respect to its input, of the input's shape.
"""
import numpy as np

from minidl._validate import (
    as_float,
    as_float_matrix,
    as_labels,
    features,
    non_negative,
    one_of,
    positive,
    scores_and_labels,
    whole_number,
)


def softmax(scores):
    """Row-wise softmax: ``p[i, k] = exp(s[i, k]) / sum_j exp(s[i, j])``.

    Stable for scores as large as 1e4: softmax does not change when a constant
    is subtracted from a row, so subtract each row's maximum before ``exp``.

    Parameters
    ----------
    scores : array (N, C)

    Returns
    -------
    probs : array (N, C), each row non-negative and summing to 1.
    PyTorch: ``torch.softmax(scores, dim=1)``.
    """
    scores = as_float_matrix("scores", scores)
    shifted = scores - scores.max(axis=1, keepdims=True)
    exp_scores = np.exp(shifted)
    return exp_scores / exp_scores.sum(axis=1, keepdims=True)


def softmax_loss_naive(scores, y):
    """Softmax (cross-entropy) loss and its gradient, computed with explicit loops.

    ``loss = (1/N) * sum_i -log p[i, y_i]`` where ``p = softmax(scores)``, and
    ``dscores[i, k] = (p[i, k] - [k == y_i]) / N``.

    Returns
    -------
    loss : float
    dscores : array (N, C), the gradient of ``loss`` with respect to ``scores``.
    PyTorch: ``F.cross_entropy(scores, y)`` and its autograd gradient.
    """
    scores, y = scores_and_labels(scores, y)
    n_samples, n_classes = scores.shape
    loss = 0.0
    dscores = np.zeros_like(scores)
    for i in range(n_samples):
        row_max = max(scores[i, k] for k in range(n_classes))
        exp_row = [np.exp(scores[i, k] - row_max) for k in range(n_classes)]
        total = sum(exp_row)
        loss += -(scores[i, y[i]] - row_max - np.log(total))
        for k in range(n_classes):
            dscores[i, k] = exp_row[k] / total
        dscores[i, y[i]] -= 1.0
    return float(loss / n_samples), dscores / n_samples


def softmax_loss(scores, y):
    """Vectorized softmax loss: same result as ``softmax_loss_naive`` without Python loops.

    Uses ``log p[i, y_i] = s[i, y_i] - max_i - log sum_j exp(s[i, j] - max_i)`` (log-sum-exp),
    so it never takes the log of an underflowed 0.

    Returns
    -------
    loss : float
    dscores : array (N, C)
    """
    scores, y = scores_and_labels(scores, y)
    n_samples = scores.shape[0]
    shifted = scores - scores.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    rows = np.arange(n_samples)
    loss = -log_probs[rows, y].mean()
    dscores = np.exp(log_probs)
    dscores[rows, y] -= 1.0
    return float(loss), dscores / n_samples


def hinge_loss_naive(scores, y, margin=1.0):
    """Multiclass hinge (SVM) loss and its gradient, computed with explicit loops.

    ``loss = (1/N) * sum_i sum_{j != y_i} max(0, s[i, j] - s[i, y_i] + margin)``.
    ``dscores`` is its gradient: derive it term by term (the notebook asks for the numbers of
    a small case first). A term exactly at the kink (equal to 0) contributes no gradient, as
    in PyTorch.

    Returns
    -------
    loss : float
    dscores : array (N, C)
    PyTorch: ``F.multi_margin_loss(scores, y, margin=margin) * C`` (PyTorch divides by C).
    """
    scores, y = scores_and_labels(scores, y)
    n_samples, n_classes = scores.shape
    loss = 0.0
    dscores = np.zeros_like(scores)
    for i in range(n_samples):
        for j in range(n_classes):
            if j == y[i]:
                continue
            term = scores[i, j] - scores[i, y[i]] + margin
            if term > 0:
                loss += term
                dscores[i, j] += 1.0
                dscores[i, y[i]] -= 1.0
    return float(loss / n_samples), dscores / n_samples


def hinge_loss(scores, y, margin=1.0):
    """Vectorized multiclass hinge loss: same result as ``hinge_loss_naive`` without loops.

    Returns
    -------
    loss : float
    dscores : array (N, C)
    """
    scores, y = scores_and_labels(scores, y)
    n_samples = scores.shape[0]
    rows = np.arange(n_samples)
    terms = scores - scores[rows, y][:, None] + margin
    terms[rows, y] = 0.0  # the correct class is not part of the sum
    active = terms > 0
    loss = terms[active].sum() / n_samples
    dscores = active.astype(scores.dtype)
    dscores[rows, y] = -active.sum(axis=1)
    return float(loss), dscores / n_samples


def l2_penalty(W, reg):
    """L2 regularization: ``(0.5 * reg * sum(W**2), reg * W)``.

    The 0.5 makes the gradient exactly ``reg * W``, which is what PyTorch's
    SGD adds for ``weight_decay=reg``.

    Returns
    -------
    penalty : float
    dW : array of W's shape
    """
    W = as_float(W)
    non_negative("reg", reg)
    return float(0.5 * reg * np.sum(W * W)), reg * W


class LinearClassifier:
    """A linear classifier ``scores = X @ W + b`` trained by minibatch SGD.

    Parameters
    ----------
    n_features : int
        D, the number of input features.
    n_classes : int
        C, the number of classes.
    loss : "softmax" or "hinge"
    reg : float
        L2 strength on ``W`` (the bias is not regularized).
    seed : int or numpy.random.Generator
        Draws the initial weights ``W ~ 0.001 * N(0, 1)``; ``b`` starts at 0.

    Attributes
    ----------
    W : array (D, C)
    b : array (C,)
    """

    LOSSES = {"softmax": softmax_loss, "hinge": hinge_loss}

    def __init__(self, n_features, n_classes, loss="softmax", reg=0.0, seed=0):
        self.loss = one_of("loss", loss, tuple(self.LOSSES))
        n_features = whole_number("n_features", n_features, 1)
        n_classes = whole_number("n_classes", n_classes, 2)
        self.reg = reg
        rng = np.random.default_rng(seed)
        self.W = 0.001 * rng.standard_normal((n_features, n_classes))
        self.b = np.zeros(n_classes)

    def scores(self, X):
        """Class scores ``X @ W + b``, an (N, C) array."""
        return features(X, self.W.shape[0]) @ self.W + self.b

    def loss_and_grad(self, X, y):
        """Data loss plus ``l2_penalty(W, reg)``, and its gradients.

        Returns
        -------
        loss : float
        grads : dict with "W" (D, C) and "b" (C,)
        """
        X = features(X, self.W.shape[0])
        data_loss, dscores = self.LOSSES[self.loss](X @ self.W + self.b, y)
        penalty, dW_penalty = l2_penalty(self.W, self.reg)
        grads = {"W": X.T @ dscores + dW_penalty, "b": dscores.sum(axis=0)}
        return data_loss + penalty, grads

    def fit(self, X, y, lr=0.1, epochs=10, batch_size=64, seed=0):
        """Minibatch SGD: ``W <- W - lr * dW``, ``b <- b - lr * db`` for each batch.

        Each epoch visits the samples in a fresh random order drawn from ``seed``
        and splits them into batches of ``batch_size`` (the last one may be smaller).

        Returns
        -------
        losses : list of float, the loss of each batch before its update.
        """
        X = features(X, self.W.shape[0])
        positive("lr", lr)
        epochs = whole_number("epochs", epochs, 0)
        batch_size = whole_number("batch_size", batch_size, 1)
        y = as_labels(y, X.shape[0], self.W.shape[1])
        rng = np.random.default_rng(seed)
        losses = []
        for _ in range(epochs):
            order = rng.permutation(X.shape[0])
            for start in range(0, X.shape[0], batch_size):
                batch = order[start:start + batch_size]
                loss, grads = self.loss_and_grad(X[batch], y[batch])
                self.W -= lr * grads["W"]
                self.b -= lr * grads["b"]
                losses.append(loss)
        return losses

    def predict(self, X):
        """Predicted labels: the class with the highest score, an (N,) int array."""
        return np.argmax(self.scores(X), axis=1)

    def predict_proba(self, X):
        """Class probabilities ``softmax(scores)`` (softmax loss only), an (N, C) array."""
        if self.loss != "softmax":
            raise ValueError(
                "predict_proba needs loss='softmax': hinge scores are not probabilities"
            )
        return softmax(self.scores(X))
