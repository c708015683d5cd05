"""Checks for a1_linear: ``minidl.linear`` against PyTorch.

PyTorch equivalents (the notebook states the same conversions):

- ``softmax(s)``: ``torch.softmax(s, dim=1)``
- ``softmax_loss(s, y)``: ``F.cross_entropy(s, y)`` and its autograd gradient
- ``hinge_loss(s, y, margin)``: ``F.multi_margin_loss(s, y, margin=margin) * C``
  (PyTorch also divides by the number of classes C)
- ``l2_penalty(W, reg)``: gradient ``reg * W``, what ``torch.optim.SGD(weight_decay=reg)`` adds
  (tests/test_linear.py shows the two agree)
"""
import math

import numpy as np
import torch
import torch.nn.functional as F

from autograder.compare import as_number, expect_close, is_close, unpack
from autograder.framework import Assignment, Fail
from autograder.reference import cached

ASSIGNMENT = Assignment("a1_linear")
part = ASSIGNMENT.part

LINEAR = "minidl.linear"
OVERFLOW_HINT = (
    "exp of a large score overflows: subtract each row's maximum score before calling np.exp "
    "(softmax does not change when a row is shifted by a constant)"
)


# ---------------------------------------------------------------- inputs

def random_case(rng, n_samples=None, n_classes=None, scale=3.0):
    """Random scores (N, C) and labels (N,)."""
    n_samples = n_samples or int(rng.integers(5, 13))
    n_classes = n_classes or int(rng.integers(3, 9))
    scores = scale * rng.standard_normal((n_samples, n_classes))
    return scores, rng.integers(0, n_classes, n_samples)


def edge_cases(rng):
    """Named (scores, y) cases: huge scores, one sample, two classes, ties."""
    return {
        "scores of 1e4": (np.array([[1e4, 0.0, -1e4], [-1e4, 1e4, 1e4 - 1.0]]), np.array([2, 0])),
        "one sample": random_case(rng, n_samples=1),
        "two classes": random_case(rng, n_classes=2),
        "tied scores": (np.zeros((4, 5)), np.array([0, 1, 4, 2])),
    }


# ---------------------------------------------------------------- references

@cached
def torch_softmax_loss(ref, scores, y):
    s = ref.tensor(scores, requires_grad=True)
    loss = F.cross_entropy(s, ref.labels(y))
    loss.backward()
    return loss.item(), ref.numpy(s.grad)


@cached
def torch_hinge_loss(ref, scores, y, margin=1.0):
    s = ref.tensor(scores, requires_grad=True)
    loss = F.multi_margin_loss(s, ref.labels(y), margin=margin) * scores.shape[1]
    loss.backward()
    return loss.item(), ref.numpy(s.grad)


@cached
def torch_softmax(ref, scores):
    return ref.numpy(torch.softmax(ref.tensor(scores), dim=1))


def one_hot(y, n_classes):
    return np.eye(n_classes)[y]


# ---------------------------------------------------------------- hints: what common bugs produce

def loss_hints(loss, n_samples):
    hints = [(-loss, "it has the wrong sign: the loss is -log p, a positive number")]
    if n_samples > 1:
        hints += [
            (loss * n_samples, "it is N times too large: average over the batch (divide by N)"
                               " instead of summing"),
            (loss / n_samples, "it is N times too small: did you divide by N twice?"),
        ]
    return hints


def gradient_hints(dscores, n_samples):
    hints = [(-dscores, "it has the wrong sign: return the gradient of the loss, not its negative")]
    if n_samples > 1:
        hints += [
            (dscores * n_samples, "it is N times too large: did you average over the batch? "
                                  "the loss is a mean, so every entry is divided by N"),
            (dscores / n_samples, "it is N times too small: did you divide by N twice?"),
        ]
    return hints


def softmax_gradient_hints(scores, y, dscores):
    n_samples, n_classes = scores.shape
    probs = dscores + one_hot(y, n_classes) / n_samples
    wrong_columns = probs * n_samples
    wrong_columns[:, y] -= 1.0  # dscores[:, y] -= 1 touches whole columns
    return gradient_hints(dscores, n_samples) + [
        (probs, "it is missing the -1 at the correct class: "
                "dscores[i, y_i] = (p[i, y_i] - 1) / N"),
        (probs - one_hot(y, n_classes),
         "only the probabilities are divided by N: the -1 at the correct class must be "
         "divided by N too"),
        (wrong_columns / n_samples,
         "the -1 went to whole columns: subtract 1 only at row i, column y_i, "
         "e.g. dscores[np.arange(N), y] -= 1"),
    ]


def hinge_terms(scores, y, margin):
    rows = np.arange(len(y))
    return scores - scores[rows, y][:, None] + margin


def hinge_loss_hints(scores, y, margin, loss):
    n_samples = scores.shape[0]
    terms = np.maximum(hinge_terms(scores, y, margin), 0.0)
    terms[np.arange(n_samples), y] = 0.0
    return loss_hints(loss, n_samples) + [
        (loss + margin, "every sample's loss is `margin` too large: the sum must skip the "
                        "correct class j == y_i, whose own term is max(0, margin) = margin"),
        (terms.max(axis=1).mean(), "you took the max over classes; this loss sums the "
                                    "positive terms over all j != y_i"),
    ]


def hinge_gradient_hints(scores, y, margin, dscores):
    n_samples = scores.shape[0]
    rows = np.arange(n_samples)
    terms = hinge_terms(scores, y, margin)
    terms[rows, y] = -np.inf
    at_kink = (terms >= 0).astype(np.float64)
    at_kink[rows, y] = -at_kink.sum(axis=1)
    correct_column_zero = dscores.copy()
    correct_column_zero[rows, y] = 0.0
    return gradient_hints(dscores, n_samples) + [
        (correct_column_zero, "the correct class gets no gradient: dscores[i, y_i] must be "
                              "-(number of classes j with a positive term) / N"),
        (at_kink / n_samples, "a term exactly at the kink (s_j - s_y + margin == 0) must give "
                              "no gradient, as in PyTorch: count terms with > 0, not >= 0"),
    ]


# ---------------------------------------------------------------- softmax

@part("softmax.value", points=1)
def softmax_value(ctx):
    """softmax matches torch.softmax(s, dim=1) on random scores."""
    scores, _ = random_case(ctx.rng)
    probs = ctx.student.call(f"{LINEAR}.softmax", scores)
    if isinstance(probs, np.ndarray) and probs.shape == scores.shape:
        rows_sum_to_one = np.allclose(probs.sum(axis=1), 1.0)
        if np.allclose(probs.sum(axis=0), 1.0) and not rows_sum_to_one:
            raise Fail("softmax(scores) is wrong: it normalizes each column (axis=0); softmax "
                       "normalizes each row, over the classes (axis=1)")
        if np.isclose(probs.sum(), 1.0) and not rows_sum_to_one:
            raise Fail("softmax(scores) is wrong: it divides by the sum over the whole array; "
                       "each row must sum to 1 (axis=1)")
    expect_close(probs, torch_softmax(ctx.ref, scores), "softmax(scores)")


@part("softmax.stability", points=1, visible=False)
def softmax_stability(ctx):
    """softmax is exact and finite for scores of 1e4 and -1e4."""
    for name, (scores, _) in edge_cases(ctx.rng).items():
        expect_close(
            ctx.student.call(f"{LINEAR}.softmax", scores), torch_softmax(ctx.ref, scores),
            f"softmax(scores) with {name}", nonfinite_hint=OVERFLOW_HINT,
        )


# ---------------------------------------------------------------- softmax loss

def check_loss_value(ctx, function, reference, hints_for, cases):
    for name, (scores, y) in cases.items():
        loss, _ = unpack(ctx.student.call(f"{LINEAR}.{function}", scores, y), 2, function)
        expected, _ = reference(ctx.ref, scores, y)
        expect_close(loss, expected, f"{function} loss ({name})",
                     hints=hints_for(scores, y, expected), nonfinite_hint=OVERFLOW_HINT)


def check_loss_gradient(ctx, function, reference, hints_for, cases):
    for name, (scores, y) in cases.items():
        _, dscores = unpack(ctx.student.call(f"{LINEAR}.{function}", scores, y), 2, function)
        _, expected = reference(ctx.ref, scores, y)
        expect_close(dscores, expected, f"{function} dscores ({name})",
                     hints=hints_for(scores, y, expected), nonfinite_hint=OVERFLOW_HINT)


def softmax_loss_hints(scores, y, loss):
    return loss_hints(loss, scores.shape[0])


def random_cases(rng, count=3):
    return {f"random case {k + 1}": random_case(rng) for k in range(count)}


def add_softmax_loss_parts(function):
    @part(f"{function}.value", points=2)
    def value(ctx):
        """The loss matches F.cross_entropy on random scores."""
        check_loss_value(ctx, function, torch_softmax_loss, softmax_loss_hints,
                         random_cases(ctx.rng))

    @part(f"{function}.gradient", points=2)
    def gradient(ctx):
        """dscores matches the autograd gradient of F.cross_entropy."""
        check_loss_gradient(ctx, function, torch_softmax_loss, softmax_gradient_hints,
                            random_cases(ctx.rng))


add_softmax_loss_parts("softmax_loss_naive")
add_softmax_loss_parts("softmax_loss")


@part("softmax_loss.edge_cases", points=2, visible=False)
def softmax_loss_edge_cases(ctx):
    """Loss and gradient for scores of 1e4, one sample, two classes and ties."""
    cases = edge_cases(ctx.rng)
    check_loss_value(ctx, "softmax_loss", torch_softmax_loss, softmax_loss_hints, cases)
    check_loss_gradient(ctx, "softmax_loss", torch_softmax_loss, softmax_gradient_hints, cases)


def check_matches_naive(ctx, function, reference, **kwargs):
    """The two versions agree, and the loop version is right: agreeing with a wrong loop
    version (two functions that both return zeros agree) earns nothing."""
    scores, y = random_case(ctx.rng, n_samples=20, n_classes=7)
    naive = unpack(ctx.student.call(f"{LINEAR}.{function}_naive", scores, y, **kwargs), 2,
                   f"{function}_naive")
    expected = reference(ctx.ref, scores, y, **kwargs)
    for label, index in (("loss", 0), ("dscores", 1)):
        try:
            correct = is_close(np.asarray(naive[index], dtype=float), expected[index])
        except (TypeError, ValueError):
            correct = False
        if not correct:
            raise Fail(f"this part compares {function} with {function}_naive, and "
                       f"{function}_naive's {label} is not correct yet: fix {function}_naive "
                       "first (see its own parts)")
    vectorized = unpack(ctx.student.call(f"{LINEAR}.{function}", scores, y, **kwargs), 2,
                        function)
    for label, index in (("loss", 0), ("dscores", 1)):
        expect_close(vectorized[index], naive[index],
                     f"{function} {label} compared with {function}_naive {label}")


@part("softmax_loss.matches_naive", points=1, visible=False)
def softmax_loss_matches_naive(ctx):
    """The vectorized and the loop version agree."""
    check_matches_naive(ctx, "softmax_loss", torch_softmax_loss)


# ---------------------------------------------------------------- hinge loss

def add_hinge_loss_parts(function):
    @part(f"{function}.value", points=2)
    def value(ctx):
        """The loss matches F.multi_margin_loss * C on random scores."""
        check_loss_value(ctx, function, torch_hinge_loss,
                         lambda s, y, loss: hinge_loss_hints(s, y, 1.0, loss),
                         random_cases(ctx.rng))

    @part(f"{function}.gradient", points=2)
    def gradient(ctx):
        """dscores matches the autograd gradient of F.multi_margin_loss * C."""
        check_loss_gradient(ctx, function, torch_hinge_loss,
                            lambda s, y, grad: hinge_gradient_hints(s, y, 1.0, grad),
                            random_cases(ctx.rng))


add_hinge_loss_parts("hinge_loss_naive")
add_hinge_loss_parts("hinge_loss")


@part("hinge_loss.edge_cases", points=2, visible=False)
def hinge_loss_edge_cases(ctx):
    """Margins exactly at the kink, ties, another margin, one sample and two classes."""
    at_kink = np.array([[2.0, 1.0, 3.0, 1.5], [0.0, -1.0, 0.5, 0.0]])  # s_j - s_y + 1 == 0
    cases = {"terms exactly at the kink": (at_kink, np.array([2, 0]))}
    cases.update(edge_cases(ctx.rng))
    for name, (scores, y) in cases.items():
        for margin in (1.0, 0.5):
            loss, dscores = unpack(
                ctx.student.call(f"{LINEAR}.hinge_loss", scores, y, margin=margin), 2,
                "hinge_loss")
            expected_loss, expected_grad = torch_hinge_loss(ctx.ref, scores, y, margin)
            unit_margin_loss, _ = torch_hinge_loss(ctx.ref, scores, y, 1.0)
            what = f"hinge_loss with margin={margin} ({name})"
            margin_ignored = [(unit_margin_loss, "it ignores the `margin` argument (uses 1)")]
            expect_close(loss, expected_loss, f"{what}: loss",
                         hints=margin_ignored + hinge_loss_hints(scores, y, margin, expected_loss))
            expect_close(dscores, expected_grad, f"{what}: dscores",
                         hints=hinge_gradient_hints(scores, y, margin, expected_grad))


@part("hinge_loss.matches_naive", points=1, visible=False)
def hinge_loss_matches_naive(ctx):
    """The vectorized and the loop version agree."""
    check_matches_naive(ctx, "hinge_loss", torch_hinge_loss, margin=0.7)


# ---------------------------------------------------------------- L2 penalty

def l2_case(ctx):
    W = ctx.rng.standard_normal((int(ctx.rng.integers(3, 9)), int(ctx.rng.integers(2, 6))))
    return W, float(ctx.rng.uniform(0.1, 2.0))


@part("l2_penalty.value", points=1)
def l2_penalty_value(ctx):
    """The penalty is 0.5 * reg * sum(W**2)."""
    W, reg = l2_case(ctx)
    penalty, _ = unpack(ctx.student.call(f"{LINEAR}.l2_penalty", W, reg), 2, "l2_penalty")
    W_t = ctx.ref.tensor(W)
    expected = (0.5 * reg * (W_t**2).sum()).item()
    expect_close(penalty, expected, "l2_penalty penalty", hints=[
        (2 * expected, "it is twice too large: the L2 term is 0.5 * reg * sum(W**2)"),
        (expected * reg, "reg appears twice: the L2 term is 0.5 * reg * sum(W**2)"),
        (0.5 * reg * np.abs(W).sum(), "that is an L1 penalty (|W|); L2 squares the weights"),
    ])


@part("l2_penalty.gradient", points=1)
def l2_penalty_gradient(ctx):
    """The gradient is reg * W, what torch.optim.SGD(weight_decay=reg) adds."""
    W, reg = l2_case(ctx)
    _, dW = unpack(ctx.student.call(f"{LINEAR}.l2_penalty", W, reg), 2, "l2_penalty")
    weight = ctx.ref.tensor(W, requires_grad=True)
    (0.5 * reg * (weight**2).sum()).backward()
    expected = ctx.ref.numpy(weight.grad)
    expect_close(dW, expected, "l2_penalty dW", hints=[
        (2 * expected, "it is twice too large: with the 0.5 in front, d/dW of "
                       "0.5 * reg * sum(W**2) is reg * W"),
        (0.5 * expected, "it is half of reg * W: differentiate 0.5 * reg * W**2 fully"),
    ])


# ---------------------------------------------------------------- LinearClassifier

CLASSIFIER = f"{LINEAR}.LinearClassifier"


def classifier_case(ctx, n_samples=12, n_features=6, n_classes=4):
    rng = ctx.rng
    return (rng.standard_normal((n_samples, n_features)),
            rng.integers(0, n_classes, n_samples),
            0.5 * rng.standard_normal((n_features, n_classes)),
            0.5 * rng.standard_normal(n_classes))


@cached
def torch_classifier_loss(ref, X, y, W, b, loss, reg):
    """Loss and (dW, db) of nn.Linear (weight = W.T) + loss + 0.5 * reg * ||W||^2."""
    layer = torch.nn.Linear(W.shape[0], W.shape[1], dtype=torch.float64, device=ref.device)
    with torch.no_grad():
        layer.weight.copy_(ref.tensor(W.T))
        layer.bias.copy_(ref.tensor(b))
    scores = layer(ref.tensor(X))
    if loss == "softmax":
        data_loss = F.cross_entropy(scores, ref.labels(y))
    else:
        data_loss = F.multi_margin_loss(scores, ref.labels(y)) * W.shape[1]
    total = data_loss + 0.5 * reg * (layer.weight**2).sum()
    total.backward()
    return (total.item(), data_loss.item(), ref.numpy(layer.weight.grad).T,
            ref.numpy(layer.bias.grad))


@part("LinearClassifier.loss_and_grad", points=3)
def classifier_loss_and_grad(ctx):
    """Loss and gradients of W and b match nn.Linear + loss + L2, for both losses."""
    for loss_name in ("softmax", "hinge"):
        X, y, W, b = classifier_case(ctx)
        reg = 0.3
        reply = ctx.student.object(
            CLASSIFIER, args=(X.shape[1], W.shape[1]), kwargs={"loss": loss_name, "reg": reg},
            set_attrs={"W": W, "b": b}, calls=[("loss_and_grad", (X, y), {})])
        loss, grads = unpack(reply["results"][0], 2, "loss_and_grad")
        if not isinstance(grads, dict) or set(grads) != {"W", "b"}:
            raise Fail('loss_and_grad must return (loss, {"W": dW, "b": db})')
        total, data_loss, dW, db = torch_classifier_loss(ctx.ref, X, y, W, b, loss_name, reg)
        what = f"loss_and_grad with loss={loss_name!r}"
        expect_close(loss, total, f"{what}: loss", hints=[
            (data_loss, "the L2 penalty 0.5 * reg * sum(W**2) is missing from the loss")])
        expect_close(grads["W"], dW, f"{what}: dW", hints=[
            (dW - reg * W, "dW is missing the penalty's gradient reg * W")])
        expect_close(grads["b"], db, f"{what}: db", hints=[
            (db + reg * b, "the bias is regularized; only W gets the L2 penalty")])


@part("LinearClassifier.predict", points=1)
def classifier_predict(ctx):
    """predict is the argmax of the scores; predict_proba is their softmax."""
    X, _, W, b = classifier_case(ctx, n_samples=30)
    reply = ctx.student.object(
        CLASSIFIER, args=(X.shape[1], W.shape[1]), set_attrs={"W": W, "b": b},
        calls=[("predict", (X,), {}), ("predict_proba", (X,), {})])
    labels, probs = reply["results"]
    scores = ctx.ref.tensor(X) @ ctx.ref.tensor(W) + ctx.ref.tensor(b)
    expected_labels = ctx.ref.numpy(scores.argmax(dim=1))
    expect_close(labels, expected_labels, "predict(X)", hints=[
        (ctx.ref.numpy(scores.argmin(dim=1)), "it picks the lowest score; use the highest")])
    expect_close(probs, ctx.ref.numpy(torch.softmax(scores, dim=1)), "predict_proba(X)")


@cached
def torch_full_batch_sgd(ref, X, y, W, b, lr, reg, epochs):
    """Plain SGD on nn.Linear + cross-entropy + L2 on the weight, one step per epoch.

    The update ``p <- p - lr * p.grad`` is torch.optim.SGD's without momentum; written out
    because importing torch.optim costs a second per grading process.

    Returns the epochs + 1 losses (before each step, and after the last), W and b.
    """
    layer = torch.nn.Linear(W.shape[0], W.shape[1], dtype=torch.float64, device=ref.device)
    with torch.no_grad():
        layer.weight.copy_(ref.tensor(W.T))
        layer.bias.copy_(ref.tensor(b))
    losses = []
    for step in range(epochs + 1):
        layer.zero_grad()
        loss = (F.cross_entropy(layer(ref.tensor(X)), ref.labels(y))
                + 0.5 * reg * (layer.weight**2).sum())
        losses.append(loss.item())
        if step < epochs:
            loss.backward()
            with torch.no_grad():
                for parameter in layer.parameters():
                    parameter -= lr * parameter.grad
    return losses, ref.numpy(layer.weight).T, ref.numpy(layer.bias)


@part("LinearClassifier.fit", points=2)
def classifier_fit(ctx):
    """With one batch per epoch, fit takes the same steps as torch.optim.SGD."""
    X, y, W, b = classifier_case(ctx, n_samples=24)
    lr, reg, epochs = 0.5, 0.05, 5
    reply = ctx.student.object(
        CLASSIFIER, args=(X.shape[1], W.shape[1]), kwargs={"reg": reg},
        set_attrs={"W": W, "b": b},
        calls=[("fit", (X, y), {"lr": lr, "epochs": epochs, "batch_size": len(y), "seed": 1})],
        get=("W", "b"))
    losses = reply["results"][0]
    expected_losses, expected_W, expected_b = torch_full_batch_sgd(ctx.ref, X, y, W, b, lr, reg,
                                                                   epochs)
    if not isinstance(losses, list) or len(losses) != epochs:
        raise Fail(f"fit must return a list with one loss per batch ({epochs} here: "
                   f"{epochs} epochs of one batch), got {_describe(losses)}")
    losses = [as_number(value, "each loss returned by fit") for value in losses]
    expect_close(np.array(losses), expected_losses[:epochs], "the losses returned by fit", hints=[
        (expected_losses[1:], "each loss must be recorded before its update, not after"),
        (np.array(expected_losses[:epochs]) * -1, "the losses have the wrong sign"),
    ])
    expect_close(reply["attrs"]["W"], expected_W, "W after fit")
    expect_close(reply["attrs"]["b"], expected_b, "b after fit")


@part("LinearClassifier.fit_batches", points=1)
def classifier_fit_batches(ctx):
    """fit makes one step per minibatch, the last one smaller, and the loss falls."""
    X, y, W, b = classifier_case(ctx, n_samples=50)
    epochs, batch_size = 3, 16
    reply = ctx.student.object(
        CLASSIFIER, args=(X.shape[1], W.shape[1]), set_attrs={"W": W, "b": b},
        calls=[("fit", (X, y), {"lr": 0.1, "epochs": epochs, "batch_size": batch_size,
                                "seed": 0})])
    losses = reply["results"][0]
    expected_count = epochs * math.ceil(len(y) / batch_size)
    if not isinstance(losses, list) or len(losses) != expected_count:
        raise Fail(
            f"fit must return one loss per batch: {epochs} epochs x ceil({len(y)}/{batch_size})"
            f" = {expected_count} batches, got {_describe(losses)}; keep the last, smaller batch"
        )
    _, first_loss, _, _ = torch_classifier_loss(ctx.ref, X, y, W, b, "softmax", 0.0)
    final_loss = np.mean([as_number(v, "each loss returned by fit") for v in losses[-4:]])
    if not final_loss < first_loss:
        raise Fail(f"the loss did not fall during fit (from about {first_loss:.3f} to "
                   f"{final_loss:.3f}): step against the gradient, W -= lr * dW")


@part("LinearClassifier.digits", points=2, visible=False)
def classifier_digits(ctx):
    """Both losses reach at least 90% test accuracy on the digits data."""
    from course.datasets import load_digits

    data = load_digits(seed=0)
    for loss_name in ("softmax", "hinge"):
        reply = ctx.student.object(
            CLASSIFIER, args=(data.X_train.shape[1], 10),
            kwargs={"loss": loss_name, "reg": 1e-3, "seed": 0},
            calls=[("fit", (data.X_train, data.y_train),
                    {"lr": 0.05, "epochs": 20, "batch_size": 64, "seed": 0}),
                   ("predict", (data.X_test,), {})])
        predictions = reply["results"][1]
        if not isinstance(predictions, np.ndarray) or predictions.shape != data.y_test.shape:
            raise Fail(f"predict must return an array of shape {data.y_test.shape}")
        accuracy = float(np.mean(predictions == data.y_test))
        if accuracy < 0.9:
            raise Fail(f"with loss={loss_name!r}, lr=0.05, reg=1e-3, 20 epochs and batches of 64"
                       f" the test accuracy is {accuracy:.1%}; a correct classifier reaches "
                       f"at least 90%")


def _describe(value):
    if isinstance(value, list):
        return f"a list of {len(value)}"
    return f"a {type(value).__name__}"
