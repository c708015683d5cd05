"""Held-out wrong code and correct alternatives for a1_linear (see tests/test_mutations.py).

A held-out bug is realistic wrong code written apart from the catalogue of mistakes; its
"explanation" is the text the part's message must contain.
"""
from autograder.mistakes import Catalogue

HELD_OUT = Catalogue("a1_linear", module="linear.py")

HELD_OUT.add(
    'naive softmax loss summed', 'softmax_loss_naive.value',
    'N times too large', """
        _reference_naive = softmax_loss_naive
        def softmax_loss_naive(scores, y):
            loss, dscores = _reference_naive(scores, y)
            return loss * len(y), dscores * len(y)
        """)

HELD_OUT.add(
    'naive softmax gradient without -1', 'softmax_loss_naive.gradient',
    'missing the -1 at the correct class', """
        _reference_naive = softmax_loss_naive
        def softmax_loss_naive(scores, y):
            loss, _ = _reference_naive(scores, y)
            return loss, softmax(scores) / len(y)
        """)

HELD_OUT.add(
    'naive hinge counts the correct class', 'hinge_loss_naive.value',
    'skip the correct class', """
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
        """)

HELD_OUT.add(
    'naive hinge gives the correct class no gradient', 'hinge_loss_naive.gradient',
    'the correct class gets no gradient', """
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
        """)

HELD_OUT.add(
    'naive hinge summed', 'hinge_loss_naive.value',
    'N times too large', """
        _reference_naive_hinge = hinge_loss_naive
        def hinge_loss_naive(scores, y, margin=1.0):
            loss, d = _reference_naive_hinge(scores, y, margin)
            return loss * len(y), d * len(y)
        """)

HELD_OUT.add(
    'hinge takes the max over classes (own code)', 'hinge_loss.value',
    'took the max over classes', """
        _reference_hinge = hinge_loss
        def hinge_loss(scores, y, margin=1.0):
            rows = np.arange(len(y))
            terms = np.maximum(scores - scores[rows, y][:, None] + margin, 0)
            terms[rows, y] = 0
            return terms.max(axis=1).mean(), _reference_hinge(scores, y, margin)[1]
        """)

HELD_OUT.add(
    'hinge gradient not averaged', 'hinge_loss.gradient',
    'did you average over the batch', """
        _reference_hinge = hinge_loss
        def hinge_loss(scores, y, margin=1.0):
            loss, d = _reference_hinge(scores, y, margin)
            return loss, d * len(y)
        """)

HELD_OUT.add(
    'predict returns the scores', 'LinearClassifier.predict',
    'should have shape (30,)', """
        LinearClassifier.predict = lambda self, X: self.scores(X)
        """)

HELD_OUT.add(
    'predict_proba not normalized', 'LinearClassifier.predict',
    'predict_proba(X) is wrong', """
        LinearClassifier.predict_proba = lambda self, X: np.exp(self.scores(X))
        """)



HELD_OUT.add(
    "vectorized softmax loss off by a little", "softmax_loss.matches_naive",
    "softmax_loss loss compared with softmax_loss_naive loss is wrong", """
        _reference_loss = softmax_loss
        def softmax_loss(scores, y):
            loss, dscores = _reference_loss(scores, y)
            return loss + 1e-3, dscores
        """)

HELD_OUT.add(
    "naive hinge wrong, vectorized right", "hinge_loss.matches_naive",
    "fix hinge_loss_naive first", """
        def hinge_loss_naive(scores, y, margin=1.0):
            return 0.0, np.zeros_like(scores)
        """)

HELD_OUT.add(
    "fit that never updates", "LinearClassifier.digits", "a correct classifier reaches", """
        def _fit(self, X, y, lr=0.1, epochs=10, batch_size=64, seed=0):
            return [self.loss_and_grad(X, y)[0]] * epochs
        LinearClassifier.fit = _fit
        """)

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

ALTERNATIVES = {"A": {"linear.py": ALTERNATIVE_A}, "B": {"linear.py": ALTERNATIVE_B}}
