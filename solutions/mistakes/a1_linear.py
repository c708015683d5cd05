"""The common mistakes of a1_linear, each as a patch of ``minidl/linear.py`` (see
``autograder.mistakes``). A part names a mistake only when the student's answer is the one
the patched reference gives."""
from autograder.mistakes import Catalogue

MISTAKES = Catalogue("a1_linear", module="linear.py")
add = MISTAKES.add

# ---------------------------------------------------------------- softmax

add("softmax over axis 0", "softmax.value",
    "it normalizes each column (axis=0); softmax normalizes each row, over the classes "
    "(axis=1)", """
    def softmax(scores):
        e = np.exp(scores - scores.max(axis=1, keepdims=True))
        return e / e.sum(axis=0, keepdims=True)
    """)

add("softmax over the whole array", "softmax.value",
    "it divides by the sum over the whole array; each row must sum to 1 (axis=1)", """
    def softmax(scores):
        e = np.exp(scores - scores.max())
        return e / e.sum()
    """)

add("softmax without the max shift", "softmax.stability",
    "exp of a large score overflows: subtract each row's maximum score before calling np.exp "
    "(softmax does not change when a row is shifted by a constant)", """
    def softmax(scores):
        e = np.exp(np.asarray(scores, dtype=float))
        return e / e.sum(axis=1, keepdims=True)
    """)

# ---------------------------------------------------------------- losses: the batch mean and
# the sign, for each loss function and each output

for function in ("softmax_loss_naive", "softmax_loss", "hinge_loss_naive", "hinge_loss"):
    right = f"_right_{function}"
    for output, index in (("value", 0), ("gradient", 1)):
        what = "loss" if output == "value" else "dscores"
        add(f"{function} {what} summed over the batch", f"{function}.{output}",
            "it is N times too large: did you average over the batch? the loss is a mean, so "
            "every entry is divided by N" if output == "gradient" else
            "it is N times too large: average over the batch (divide by N) instead of summing",
            f"""
            {right} = {function}
            def {function}(scores, y, *margin):
                result = list({right}(scores, y, *margin))
                result[{index}] = result[{index}] * len(y)
                return tuple(result)
            """)
        add(f"{function} {what} divided by N twice", f"{function}.{output}",
            "it is N times too small: did you divide by N twice?", f"""
            {right} = {function}
            def {function}(scores, y, *margin):
                result = list({right}(scores, y, *margin))
                result[{index}] = result[{index}] / len(y)
                return tuple(result)
            """)
        add(f"{function} {what} with the wrong sign", f"{function}.{output}",
            "it has the wrong sign: the loss is -log p, a positive number" if output == "value"
            else "it has the wrong sign: return the gradient of the loss, not its negative", f"""
            {right} = {function}
            def {function}(scores, y, *margin):
                result = list({right}(scores, y, *margin))
                result[{index}] = -result[{index}]
                return tuple(result)
            """)

# ---------------------------------------------------------------- softmax loss gradient

for function in ("softmax_loss_naive", "softmax_loss"):
    right = f"_right_{function}"
    add(f"{function} gradient without the -1", f"{function}.gradient",
        "it is missing the -1 at the correct class: dscores[i, y_i] = (p[i, y_i] - 1) / N", f"""
        {right} = {function}
        def {function}(scores, y):
            return {right}(scores, y)[0], softmax(scores) / len(y)
        """)
    add(f"{function} -1 not divided by N", f"{function}.gradient",
        "only the probabilities are divided by N: the -1 at the correct class must be "
        "divided by N too", f"""
        {right} = {function}
        def {function}(scores, y):
            n = len(y)
            dscores = softmax(scores) / n
            dscores[np.arange(n), y] -= 1
            return {right}(scores, y)[0], dscores
        """)
    add(f"{function} -1 in whole columns", f"{function}.gradient",
        "the -1 went to whole columns: subtract 1 only at row i, column y_i, "
        "e.g. dscores[np.arange(N), y] -= 1", f"""
        {right} = {function}
        def {function}(scores, y):
            p = softmax(scores)
            p[:, y] -= 1
            return {right}(scores, y)[0], p / len(y)
        """)

add("softmax loss that overflows", "softmax_loss.edge_cases",
    "exp of a large score overflows: subtract each row's maximum score before calling np.exp "
    "(softmax does not change when a row is shifted by a constant)", """
    def softmax_loss(scores, y):
        e = np.exp(scores)
        p = e / e.sum(axis=1, keepdims=True)
        n = len(y)
        loss = -np.mean(np.log(p[np.arange(n), y]))
        p[np.arange(n), y] -= 1
        return loss, p / n
    """)

# ---------------------------------------------------------------- hinge loss

for function in ("hinge_loss_naive", "hinge_loss"):
    right = f"_right_{function}"
    add(f"{function} counts the correct class", f"{function}.value",
        "every sample's loss is `margin` too large: the sum must skip the correct class "
        "j == y_i, whose own term is max(0, margin) = margin", f"""
        {right} = {function}
        def {function}(scores, y, margin=1.0):
            loss, dscores = {right}(scores, y, margin)
            return loss + margin, dscores
        """)
    add(f"{function} takes the max over classes", f"{function}.value",
        "you took the max over classes; this loss sums the positive terms over all j != y_i", f"""
        {right} = {function}
        def {function}(scores, y, margin=1.0):
            rows = np.arange(len(y))
            terms = np.maximum(scores - scores[rows, y][:, None] + margin, 0.0)
            terms[rows, y] = 0.0
            return terms.max(axis=1).mean(), {right}(scores, y, margin)[1]
        """)
    add(f"{function} gives the correct class no gradient", f"{function}.gradient",
        "the correct class gets no gradient: dscores[i, y_i] must be "
        "-(number of classes j with a positive term) / N", f"""
        {right} = {function}
        def {function}(scores, y, margin=1.0):
            loss, dscores = {right}(scores, y, margin)
            dscores[np.arange(len(y)), y] = 0.0
            return loss, dscores
        """)

add("hinge gradient at the kink", "hinge_loss.edge_cases",
    "a term exactly at the kink (s_j - s_y + margin == 0) must give no gradient, as in "
    "PyTorch: count terms with > 0, not >= 0", """
    _right_hinge_loss = hinge_loss
    def hinge_loss(scores, y, margin=1.0):
        n = len(y)
        rows = np.arange(n)
        terms = scores - scores[rows, y][:, None] + margin
        terms[rows, y] = -1.0
        active = (terms >= 0).astype(float)
        active[rows, y] = -active.sum(axis=1)
        return _right_hinge_loss(scores, y, margin)[0], active / n
    """)

add("hinge ignores the margin argument", "hinge_loss.edge_cases",
    "it ignores the `margin` argument (uses 1)", """
    _right_hinge_loss = hinge_loss
    def hinge_loss(scores, y, margin=1.0):
        return _right_hinge_loss(scores, y, 1.0)
    """)

# ---------------------------------------------------------------- L2 penalty

add("L2 without the 0.5", "l2_penalty.value",
    "it is twice too large: the L2 term is 0.5 * reg * sum(W**2)", """
    def l2_penalty(W, reg):
        return reg * np.sum(W * W), reg * W
    """)

add("L2 with reg squared", "l2_penalty.value",
    "reg appears twice: the L2 term is 0.5 * reg * sum(W**2)", """
    def l2_penalty(W, reg):
        return 0.5 * reg * reg * np.sum(W * W), reg * W
    """)

add("L1 instead of L2", "l2_penalty.value",
    "that is an L1 penalty (|W|); L2 squares the weights", """
    def l2_penalty(W, reg):
        return 0.5 * reg * np.sum(np.abs(W)), reg * np.sign(W)
    """)

add("L2 gradient twice too large", "l2_penalty.gradient",
    "it is twice too large: with the 0.5 in front, d/dW of 0.5 * reg * sum(W**2) is reg * W",
    """
    def l2_penalty(W, reg):
        return 0.5 * reg * np.sum(W * W), 2 * reg * W
    """)

add("L2 gradient half too small", "l2_penalty.gradient",
    "it is half of reg * W: differentiate 0.5 * reg * W**2 fully", """
    def l2_penalty(W, reg):
        return 0.5 * reg * np.sum(W * W), 0.5 * reg * W
    """)

# ---------------------------------------------------------------- LinearClassifier

add("loss without the penalty", "LinearClassifier.loss_and_grad",
    "the L2 penalty 0.5 * reg * sum(W**2) is missing from the loss", """
    def _loss_and_grad(self, X, y):
        loss, grads = _right_loss_and_grad(self, X, y)
        return loss - l2_penalty(self.W, self.reg)[0], grads
    _right_loss_and_grad = LinearClassifier.loss_and_grad
    LinearClassifier.loss_and_grad = _loss_and_grad
    """)

add("dW without the penalty's gradient", "LinearClassifier.loss_and_grad",
    "dW is missing the penalty's gradient reg * W", """
    def _loss_and_grad(self, X, y):
        loss, grads = _right_loss_and_grad(self, X, y)
        return loss, {"W": grads["W"] - self.reg * self.W, "b": grads["b"]}
    _right_loss_and_grad = LinearClassifier.loss_and_grad
    LinearClassifier.loss_and_grad = _loss_and_grad
    """)

add("bias regularized", "LinearClassifier.loss_and_grad",
    "the bias is regularized; only W gets the L2 penalty", """
    def _loss_and_grad(self, X, y):
        loss, grads = _right_loss_and_grad(self, X, y)
        return loss, {"W": grads["W"], "b": grads["b"] + self.reg * self.b}
    _right_loss_and_grad = LinearClassifier.loss_and_grad
    LinearClassifier.loss_and_grad = _loss_and_grad
    """)

add("predict picks the lowest score", "LinearClassifier.predict",
    "it picks the lowest score; use the highest", """
    LinearClassifier.predict = lambda self, X: np.argmin(self.scores(X), axis=1)
    """)

add("fit records the loss after the update", "LinearClassifier.fit",
    "each loss must be recorded before its update, not after", """
    def _fit(self, X, y, lr=0.1, epochs=10, batch_size=64, seed=0):
        rng = np.random.default_rng(seed)
        losses = []
        for _ in range(epochs):
            order = rng.permutation(len(y))
            for start in range(0, len(y), batch_size):
                batch = order[start:start + batch_size]
                _, grads = self.loss_and_grad(X[batch], np.asarray(y)[batch])
                self.W -= lr * grads["W"]
                self.b -= lr * grads["b"]
                losses.append(self.loss_and_grad(X[batch], np.asarray(y)[batch])[0])
        return losses
    LinearClassifier.fit = _fit
    """)

add("fit climbs the gradient", "LinearClassifier.fit_batches",
    "step against the gradient, W -= lr * dW", """
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
    """)

add("fit drops the last batch", "LinearClassifier.fit_batches",
    "keep the last, smaller batch", """
    def _fit(self, X, y, lr=0.1, epochs=10, batch_size=64, seed=0):
        keep = (len(y) // batch_size) * batch_size or len(y)
        return _right_fit(self, X[:keep], np.asarray(y)[:keep], lr, epochs, batch_size, seed)
    _right_fit = LinearClassifier.fit
    LinearClassifier.fit = _fit
    """)
