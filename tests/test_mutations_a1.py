"""Mutation suite for a1_linear: realistic student bugs must lose points with the right message,
and correct implementations written differently from the reference must get full marks.

Each bug is a replacement definition appended to the solved ``minidl/linear.py``
(a later ``def`` replaces an earlier one; methods are re-assigned on the class).
"""
import shutil
import textwrap

import pytest

from autograder.grading import check_submission

BUGS = {
    # ---- softmax
    "softmax without the max shift": ("""
        def softmax(scores):
            e = np.exp(np.asarray(scores, dtype=float))
            return e / e.sum(axis=1, keepdims=True)
        """, "softmax.stability", "subtract each row's maximum"),
    "softmax over axis 0": ("""
        def softmax(scores):
            e = np.exp(scores - scores.max(axis=1, keepdims=True))
            return e / e.sum(axis=0, keepdims=True)
        """, "softmax.value", "normalizes each column"),
    "softmax over the whole array": ("""
        def softmax(scores):
            e = np.exp(scores - scores.max())
            return e / e.sum()
        """, "softmax.value", "sum over the whole array"),
    # ---- softmax_loss_naive
    "naive softmax loss summed": ("""
        _reference_naive = softmax_loss_naive
        def softmax_loss_naive(scores, y):
            loss, dscores = _reference_naive(scores, y)
            return loss * len(y), dscores * len(y)
        """, "softmax_loss_naive.value", "N times too large"),
    "naive softmax gradient without -1": ("""
        _reference_naive = softmax_loss_naive
        def softmax_loss_naive(scores, y):
            loss, _ = _reference_naive(scores, y)
            return loss, softmax(scores) / len(y)
        """, "softmax_loss_naive.gradient", "missing the -1 at the correct class"),
    "naive softmax loss with the wrong sign": ("""
        _reference_naive = softmax_loss_naive
        def softmax_loss_naive(scores, y):
            loss, dscores = _reference_naive(scores, y)
            return -loss, dscores
        """, "softmax_loss_naive.value", "wrong sign"),
    # ---- softmax_loss
    "-1 subtracted from whole columns": ("""
        def softmax_loss(scores, y):
            p = softmax(scores)
            loss = -np.mean(np.log(p[np.arange(len(y)), y]))
            p[:, y] -= 1
            return loss, p / len(y)
        """, "softmax_loss.gradient", "went to whole columns"),
    "softmax loss that overflows": ("""
        def softmax_loss(scores, y):
            e = np.exp(scores)
            p = e / e.sum(axis=1, keepdims=True)
            n = len(y)
            loss = -np.mean(np.log(p[np.arange(n), y]))
            p[np.arange(n), y] -= 1
            return loss, p / n
        """, "softmax_loss.edge_cases", "subtract each row's maximum"),
    "-1 not divided by N": ("""
        def softmax_loss(scores, y):
            n = len(y)
            p = softmax(scores)
            loss = -np.mean(np.log(p[np.arange(n), y]))
            d = p / n
            d[np.arange(n), y] -= 1
            return loss, d
        """, "softmax_loss.gradient", "must be divided by N too"),
    "softmax loss summed": ("""
        _reference_loss = softmax_loss
        def softmax_loss(scores, y):
            loss, dscores = _reference_loss(scores, y)
            return loss * len(y), dscores
        """, "softmax_loss.value", "average over the batch"),
    # ---- hinge_loss_naive
    "naive hinge counts the correct class": ("""
        def hinge_loss_naive(scores, y, margin=1.0):
            n, c = scores.shape
            loss, d = 0.0, np.zeros_like(scores)
            for i in range(n):
                for j in range(c):
                    term = scores[i, j] - scores[i, y[i]] + margin
                    if term > 0:
                        loss += term
                        if j != y[i]:
                            d[i, j] += 1
                            d[i, y[i]] -= 1
            return loss / n, d / n
        """, "hinge_loss_naive.value", "skip the correct class"),
    "naive hinge gives the correct class no gradient": ("""
        def hinge_loss_naive(scores, y, margin=1.0):
            n, c = scores.shape
            loss, d = 0.0, np.zeros_like(scores)
            for i in range(n):
                for j in range(c):
                    term = scores[i, j] - scores[i, y[i]] + margin
                    if j != y[i] and term > 0:
                        loss += term
                        d[i, j] += 1
            return loss / n, d / n
        """, "hinge_loss_naive.gradient", "the correct class gets no gradient"),
    "naive hinge summed": ("""
        _reference_naive_hinge = hinge_loss_naive
        def hinge_loss_naive(scores, y, margin=1.0):
            loss, d = _reference_naive_hinge(scores, y, margin)
            return loss * len(y), d * len(y)
        """, "hinge_loss_naive.value", "N times too large"),
    # ---- hinge_loss
    "hinge gradient at the kink": ("""
        def hinge_loss(scores, y, margin=1.0):
            n = len(y)
            rows = np.arange(n)
            terms = scores - scores[rows, y][:, None] + margin
            terms[rows, y] = -1.0
            active = terms >= 0
            d = active.astype(float)
            d[rows, y] = -active.sum(axis=1)
            return np.maximum(terms, 0).sum() / n, d / n
        """, "hinge_loss.edge_cases", "exactly at the kink"),
    "hinge ignores the margin argument": ("""
        _reference_hinge = hinge_loss
        def hinge_loss(scores, y, margin=1.0):
            return _reference_hinge(scores, y, 1.0)
        """, "hinge_loss.edge_cases", "ignores the `margin` argument"),
    "hinge takes the max over classes": ("""
        _reference_hinge = hinge_loss
        def hinge_loss(scores, y, margin=1.0):
            rows = np.arange(len(y))
            terms = np.maximum(scores - scores[rows, y][:, None] + margin, 0)
            terms[rows, y] = 0
            return terms.max(axis=1).mean(), _reference_hinge(scores, y, margin)[1]
        """, "hinge_loss.value", "took the max over classes"),
    "hinge gradient not averaged": ("""
        _reference_hinge = hinge_loss
        def hinge_loss(scores, y, margin=1.0):
            loss, d = _reference_hinge(scores, y, margin)
            return loss, d * len(y)
        """, "hinge_loss.gradient", "did you average over the batch"),
    # ---- l2_penalty
    "L2 without the 0.5": ("""
        def l2_penalty(W, reg):
            return reg * np.sum(W * W), reg * W
        """, "l2_penalty.value", "0.5 * reg * sum(W**2)"),
    "L2 gradient twice too large": ("""
        def l2_penalty(W, reg):
            return 0.5 * reg * np.sum(W * W), 2 * reg * W
        """, "l2_penalty.gradient", "twice too large"),
    "L1 instead of L2": ("""
        def l2_penalty(W, reg):
            return 0.5 * reg * np.sum(np.abs(W)), reg * np.sign(W)
        """, "l2_penalty.value", "L1 penalty"),
    # ---- LinearClassifier
    "loss without the penalty": ("""
        def _loss_and_grad(self, X, y):
            loss, grads = _reference_loss_and_grad(self, X, y)
            return loss - l2_penalty(self.W, self.reg)[0], grads
        _reference_loss_and_grad = LinearClassifier.loss_and_grad
        LinearClassifier.loss_and_grad = _loss_and_grad
        """, "LinearClassifier.loss_and_grad", "missing from the loss"),
    "dW without the penalty's gradient": ("""
        def _loss_and_grad(self, X, y):
            loss, grads = _reference_loss_and_grad(self, X, y)
            return loss, {"W": grads["W"] - self.reg * self.W, "b": grads["b"]}
        _reference_loss_and_grad = LinearClassifier.loss_and_grad
        LinearClassifier.loss_and_grad = _loss_and_grad
        """, "LinearClassifier.loss_and_grad", "missing the penalty's gradient"),
    "bias regularized": ("""
        def _loss_and_grad(self, X, y):
            loss, grads = _reference_loss_and_grad(self, X, y)
            return loss, {"W": grads["W"], "b": grads["b"] + self.reg * self.b}
        _reference_loss_and_grad = LinearClassifier.loss_and_grad
        LinearClassifier.loss_and_grad = _loss_and_grad
        """, "LinearClassifier.loss_and_grad", "the bias is regularized"),
    "predict picks the lowest score": ("""
        LinearClassifier.predict = lambda self, X: np.argmin(self.scores(X), axis=1)
        """, "LinearClassifier.predict", "lowest score"),
    "predict returns the scores": ("""
        LinearClassifier.predict = lambda self, X: self.scores(X)
        """, "LinearClassifier.predict", "should have shape (30,)"),
    "predict_proba not normalized": ("""
        LinearClassifier.predict_proba = lambda self, X: np.exp(self.scores(X))
        """, "LinearClassifier.predict", "predict_proba(X) is wrong"),
    "fit climbs the gradient": ("""
        def _fit(self, X, y, lr=0.1, epochs=10, batch_size=64, seed=0):
            rng = np.random.default_rng(seed)
            losses = []
            for _ in range(epochs):
                idx = rng.permutation(len(y))
                for start in range(0, len(y), batch_size):
                    batch = idx[start:start + batch_size]
                    loss, grads = self.loss_and_grad(X[batch], np.asarray(y)[batch])
                    self.W += lr * grads["W"]
                    self.b += lr * grads["b"]
                    losses.append(loss)
            return losses
        LinearClassifier.fit = _fit
        """, "LinearClassifier.fit_batches", "W -= lr * dW"),
    "fit drops the last batch": ("""
        def _fit(self, X, y, lr=0.1, epochs=10, batch_size=64, seed=0):
            keep = (len(y) // batch_size) * batch_size or len(y)
            return _reference_fit(self, X[:keep], np.asarray(y)[:keep], lr, epochs,
                                  batch_size, seed)
        _reference_fit = LinearClassifier.fit
        LinearClassifier.fit = _fit
        """, "LinearClassifier.fit_batches", "keep the last, smaller batch"),
    "fit records the loss after the update": ("""
        def _fit(self, X, y, lr=0.1, epochs=10, batch_size=64, seed=0):
            rng = np.random.default_rng(seed)
            losses = []
            for _ in range(epochs):
                idx = rng.permutation(len(y))
                for start in range(0, len(y), batch_size):
                    batch = idx[start:start + batch_size]
                    _, grads = self.loss_and_grad(X[batch], np.asarray(y)[batch])
                    self.W -= lr * grads["W"]
                    self.b -= lr * grads["b"]
                    losses.append(self.loss_and_grad(X[batch], np.asarray(y)[batch])[0])
            return losses
        LinearClassifier.fit = _fit
        """, "LinearClassifier.fit", "recorded before its update"),
}

EXPECTED_FULL_MARKS = 35


def make_submission(solved, tmp_path, extra_source):
    """A copy of the solved submission with ``extra_source`` appended to minidl/linear.py."""
    folder = tmp_path / "submission"
    shutil.copytree(solved, folder)
    linear = folder / "minidl" / "linear.py"
    linear.write_text(linear.read_text() + "\n" + textwrap.dedent(extra_source))
    return folder


def test_every_graded_function_has_three_bugs():
    functions = {}
    for _, part_name, _ in BUGS.values():
        function = part_name.split(".")[0]
        functions[function] = functions.get(function, 0) + 1
    for function in ("softmax", "softmax_loss_naive", "softmax_loss", "hinge_loss_naive",
                     "hinge_loss", "l2_penalty"):
        assert functions.get(function, 0) >= 3, function
    assert functions["LinearClassifier"] >= 9  # three each for loss_and_grad, predict, fit


@pytest.mark.parametrize("bug", sorted(BUGS))
def test_bug_loses_points_with_a_message_that_names_it(bug, solved_a1, tmp_path):
    source, part_name, expected_message = BUGS[bug]
    report = check_submission("a1_linear", make_submission(solved_a1, tmp_path, source),
                              device="cpu")
    results = {result.name: result for result in report.results}
    failed = results[part_name]
    assert not failed.passed and failed.points == 0
    assert expected_message in failed.message, failed.message
    assert report.score < EXPECTED_FULL_MARKS


ALTERNATIVE_A = """
def softmax(scores):
    scores = np.asarray(scores, dtype=np.float64)
    out = np.empty_like(scores)
    for i, row in enumerate(scores):
        e = np.exp(row - np.max(row))
        out[i] = e / np.sum(e)
    return out

def softmax_loss(scores, y):
    scores = np.asarray(scores, dtype=np.float64)
    y = np.asarray(y).astype(int)
    n, c = scores.shape
    m = scores.max(axis=1)
    logsumexp = m + np.log(np.exp(scores - m[:, None]).sum(axis=1))
    one_hot = (np.arange(c)[None, :] == y[:, None]).astype(float)
    loss = np.sum(logsumexp - np.sum(one_hot * scores, axis=1)) / n
    return loss, (softmax(scores) - one_hot) / n

softmax_loss_naive = softmax_loss

def hinge_loss(scores, y, margin=1.0):
    scores = np.asarray(scores, dtype=np.float64)
    y = np.asarray(y).astype(int)
    n, c = scores.shape
    one_hot = np.eye(c, dtype=bool)[y]
    correct = scores[one_hot]
    terms = np.where(one_hot, 0.0, np.maximum(0.0, scores - correct[:, None] + margin))
    positive = (terms > 0).astype(float)
    d = positive - one_hot * positive.sum(axis=1, keepdims=True)
    return terms.sum() / n, d / n

hinge_loss_naive = hinge_loss

def l2_penalty(W, reg):
    W = np.asarray(W, dtype=np.float64)
    return reg * np.dot(W.ravel(), W.ravel()) / 2, reg * W

def _fit(self, X, y, lr=0.1, epochs=10, batch_size=64, seed=0):
    X, y = np.asarray(X, float), np.asarray(y)
    rng = np.random.default_rng(seed)
    losses = []
    for _ in range(epochs):
        order = np.arange(len(y))
        rng.shuffle(order)
        for batch in np.array_split(order, range(batch_size, len(y), batch_size)):
            loss, grads = self.loss_and_grad(X[batch], y[batch])
            self.W = self.W - lr * grads["W"]
            self.b = self.b - lr * grads["b"]
            losses.append(float(loss))
    return losses

LinearClassifier.fit = _fit
LinearClassifier.predict = lambda self, X: self.scores(X).argmax(axis=1).astype(np.int32)
"""

ALTERNATIVE_B = """
def softmax(scores):
    z = np.asarray(scores, dtype=np.float64)
    z = z - z.max(axis=-1, keepdims=True)
    return np.exp(z - np.log(np.exp(z).sum(axis=-1, keepdims=True)))

def softmax_loss_naive(scores, y):
    n, c = np.shape(scores)
    total, grad = 0.0, np.zeros((n, c))
    for i in range(n):
        p = softmax(scores[i:i + 1])[0]
        total -= np.log(p[y[i]])
        for k in range(c):
            grad[i, k] = (p[k] - (k == y[i])) / n
    return total / n, grad

def hinge_loss_naive(scores, y, margin=1.0):
    n, c = np.shape(scores)
    total, grad = 0.0, np.zeros((n, c))
    for i in range(n):
        for j in [k for k in range(c) if k != y[i]]:
            term = scores[i][j] - scores[i][y[i]] + margin
            if term > 0.0:
                total += term / n
                grad[i][j] += 1.0 / n
                grad[i][y[i]] -= 1.0 / n
    return total, grad

def _loss_and_grad(self, X, y):
    X = np.asarray(X, dtype=np.float64)
    n = X.shape[0]
    Xb = np.hstack([X, np.ones((n, 1))])  # the bias trick
    Wb = np.vstack([self.W, self.b])
    loss, dscores = self.LOSSES[self.loss](Xb @ Wb, y)
    dWb = Xb.T @ dscores
    return loss + 0.5 * self.reg * (self.W ** 2).sum(), {"W": dWb[:-1] + self.reg * self.W,
                                                         "b": dWb[-1]}

LinearClassifier.loss_and_grad = _loss_and_grad
"""


@pytest.mark.parametrize("alternative", [ALTERNATIVE_A, ALTERNATIVE_B], ids=["A", "B"])
def test_correct_alternatives_get_full_marks(alternative, solved_a1, tmp_path):
    report = check_submission("a1_linear", make_submission(solved_a1, tmp_path, alternative),
                              device="cpu")
    failures = [f"{r.name}: {r.message}" for r in report.results if not r.passed]
    assert failures == []
    assert report.score == report.max_score == EXPECTED_FULL_MARKS
