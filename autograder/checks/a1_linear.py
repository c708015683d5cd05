"""Checks for a1_linear: ``minidl.linear`` against PyTorch, part by part in notebook order.

PyTorch equivalents (the notebook states the same conversions):

- ``softmax(s)``: ``torch.softmax(s, dim=1)``
- ``softmax_loss(s, y)``: ``F.cross_entropy(s, y)`` and its autograd gradient
- ``hinge_loss(s, y, margin)``: ``F.multi_margin_loss(s, y, margin=margin) * C``
  (PyTorch also divides by the number of classes C)
- ``l2_penalty(W, reg)``: gradient ``reg * W``, what ``torch.optim.SGD(weight_decay=reg)`` adds
  (tests/test_linear.py shows the two agree)

The mistakes each part explains are in ``mistakes.py``; the inputs and the PyTorch
references follow the parts.
"""
import math

import numpy as np
import torch
import torch.nn.functional as F

from autograder.compare import as_number, is_close, unpack
from autograder.framework import Assignment, Fail
from autograder.reference import cached

ASSIGNMENT = Assignment("a1_linear")
part = ASSIGNMENT.part

LINEAR = "minidl.linear"
CLASSIFIER = f"{LINEAR}.LinearClassifier"
OVERFLOW_HINT = (
    "exp of a large score overflows: subtract each row's maximum score before calling np.exp "
    "(softmax does not change when a row is shifted by a constant)"
)


# ---------------------------------------------------------------- softmax

@part("softmax.value", points=1)
def softmax_value(ctx):
    """softmax matches torch.softmax(s, dim=1) on random scores."""
    scores, _ = random_case(ctx.rng)
    ctx.expect_close("softmax(scores)", lambda who: who.call(f"{LINEAR}.softmax", scores),
                     torch_softmax(ctx.ref, scores))


@part("softmax.stability", points=1, visible=False, explained_by=("softmax.value",))
def softmax_stability(ctx):
    """softmax is exact and finite for scores of 1e4 and -1e4."""
    for name, (scores, _) in edge_cases(ctx.rng).items():
        ctx.expect_close(f"softmax(scores) with {name}",
                         lambda who, scores=scores: who.call(f"{LINEAR}.softmax", scores),
                         torch_softmax(ctx.ref, scores), nonfinite_hint=OVERFLOW_HINT)


# ---------------------------------------------------------------- softmax loss

@part("softmax_loss_naive.value", points=2)
def softmax_loss_naive_value(ctx):
    """The loss matches F.cross_entropy on random scores."""
    expect_loss(ctx, "softmax_loss_naive", "loss", random_cases(ctx.rng))


@part("softmax_loss_naive.gradient", points=2)
def softmax_loss_naive_gradient(ctx):
    """dscores matches the autograd gradient of F.cross_entropy."""
    expect_loss(ctx, "softmax_loss_naive", "dscores", random_cases(ctx.rng))


@part("softmax_loss.value", points=2)
def softmax_loss_value(ctx):
    """The loss matches F.cross_entropy on random scores."""
    expect_loss(ctx, "softmax_loss", "loss", random_cases(ctx.rng))


@part("softmax_loss.gradient", points=2)
def softmax_loss_gradient(ctx):
    """dscores matches the autograd gradient of F.cross_entropy."""
    expect_loss(ctx, "softmax_loss", "dscores", random_cases(ctx.rng))


@part("softmax_loss.edge_cases", points=2, visible=False,
      explained_by=("softmax_loss.value", "softmax_loss.gradient"))
def softmax_loss_edge_cases(ctx):
    """Loss and gradient for scores of 1e4, one sample, two classes and ties."""
    cases = edge_cases(ctx.rng)
    expect_loss(ctx, "softmax_loss", "loss", cases)
    expect_loss(ctx, "softmax_loss", "dscores", cases)


@part("softmax_loss.matches_naive", points=1, visible=False)
def softmax_loss_matches_naive(ctx):
    """The vectorized and the loop version agree."""
    expect_matches_naive(ctx, "softmax_loss")


# ---------------------------------------------------------------- hinge loss

@part("hinge_loss_naive.value", points=2)
def hinge_loss_naive_value(ctx):
    """The loss matches F.multi_margin_loss * C on random scores."""
    expect_loss(ctx, "hinge_loss_naive", "loss", random_cases(ctx.rng))


@part("hinge_loss_naive.gradient", points=2)
def hinge_loss_naive_gradient(ctx):
    """dscores matches the autograd gradient of F.multi_margin_loss * C."""
    expect_loss(ctx, "hinge_loss_naive", "dscores", random_cases(ctx.rng))


@part("hinge_loss.value", points=2)
def hinge_loss_value(ctx):
    """The loss matches F.multi_margin_loss * C on random scores."""
    expect_loss(ctx, "hinge_loss", "loss", random_cases(ctx.rng))


@part("hinge_loss.gradient", points=2)
def hinge_loss_gradient(ctx):
    """dscores matches the autograd gradient of F.multi_margin_loss * C."""
    expect_loss(ctx, "hinge_loss", "dscores", random_cases(ctx.rng))


@part("hinge_loss.edge_cases", points=2, visible=False,
      explained_by=("hinge_loss.value", "hinge_loss.gradient"))
def hinge_loss_edge_cases(ctx):
    """Margins exactly at the kink, ties, another margin, one sample and two classes."""
    at_kink = np.array([[2.0, 1.0, 3.0, 1.5], [0.0, -1.0, 0.5, 0.0]])  # s_j - s_y + 1 == 0
    cases = {"terms exactly at the kink": (at_kink, np.array([2, 0])), **edge_cases(ctx.rng)}
    for margin in (1.0, 0.5):
        expect_loss(ctx, "hinge_loss", "loss", cases, margin=margin)
        expect_loss(ctx, "hinge_loss", "dscores", cases, margin=margin)


@part("hinge_loss.matches_naive", points=1, visible=False)
def hinge_loss_matches_naive(ctx):
    """The vectorized and the loop version agree."""
    expect_matches_naive(ctx, "hinge_loss", margin=0.7)


# ---------------------------------------------------------------- L2 penalty

@part("l2_penalty.value", points=1)
def l2_penalty_value(ctx):
    """The penalty is 0.5 * reg * sum(W**2)."""
    W, reg = l2_case(ctx.rng)
    ctx.expect_close("l2_penalty penalty", lambda who: l2_penalty(who, W, reg)[0],
                     torch_l2_penalty(ctx.ref, W, reg)[0])


@part("l2_penalty.gradient", points=1)
def l2_penalty_gradient(ctx):
    """The gradient is reg * W, what torch.optim.SGD(weight_decay=reg) adds."""
    W, reg = l2_case(ctx.rng)
    ctx.expect_close("l2_penalty dW", lambda who: l2_penalty(who, W, reg)[1],
                     torch_l2_penalty(ctx.ref, W, reg)[1])


# ---------------------------------------------------------------- LinearClassifier

@part("LinearClassifier.loss_and_grad", points=3)
def classifier_loss_and_grad(ctx):
    """Loss and gradients of W and b match nn.Linear + loss + L2, for both losses."""
    reg = 0.3
    for loss_name in ("softmax", "hinge"):
        X, y, W, b = classifier_case(ctx.rng)

        def loss_and_grad(who, X=X, y=y, W=W, b=b, loss_name=loss_name):
            reply = who.object(CLASSIFIER, args=(X.shape[1], W.shape[1]),
                               kwargs={"loss": loss_name, "reg": reg},
                               set_attrs={"W": W, "b": b},
                               calls=[("loss_and_grad", (X, y), {})])
            loss, grads = unpack(reply["results"][0], 2, "loss_and_grad")
            if not isinstance(grads, dict) or set(grads) != {"W", "b"}:
                raise Fail('loss_and_grad must return (loss, {"W": dW, "b": db})')
            return loss, grads

        total, dW, db = torch_classifier_loss(ctx.ref, X, y, W, b, loss_name, reg)
        loss, grads = loss_and_grad(ctx.student)
        what = f"loss_and_grad with loss={loss_name!r}"
        ctx.expect_close(f"{what}: loss", lambda who, ask=loss_and_grad: ask(who)[0], total,
                         got=loss)
        ctx.expect_close(f"{what}: dW", lambda who, ask=loss_and_grad: ask(who)[1]["W"], dW,
                         got=grads["W"])
        ctx.expect_close(f"{what}: db", lambda who, ask=loss_and_grad: ask(who)[1]["b"], db,
                         got=grads["b"])


@part("LinearClassifier.predict", points=1)
def classifier_predict(ctx):
    """predict is the argmax of the scores; predict_proba is their softmax."""
    X, _, W, b = classifier_case(ctx.rng, n_samples=30)

    def predictions(who):
        return who.object(CLASSIFIER, args=(X.shape[1], W.shape[1]), set_attrs={"W": W, "b": b},
                          calls=[("predict", (X,), {}), ("predict_proba", (X,), {})])["results"]

    expected, got = torch_predictions(ctx.ref, X, W, b), predictions(ctx.student)
    for index, what in enumerate(("predict(X)", "predict_proba(X)")):
        ctx.expect_close(what, lambda who, index=index: predictions(who)[index], expected[index],
                         got=got[index])


@part("LinearClassifier.fit", points=2)
def classifier_fit(ctx):
    """With one batch per epoch, fit takes the same steps as torch.optim.SGD."""
    X, y, W, b = classifier_case(ctx.rng, n_samples=24)
    lr, reg, epochs = 0.5, 0.05, 5

    def fit(who):
        reply = who.object(
            CLASSIFIER, args=(X.shape[1], W.shape[1]), kwargs={"reg": reg},
            set_attrs={"W": W, "b": b}, get=("W", "b"),
            calls=[("fit", (X, y), {"lr": lr, "epochs": epochs, "batch_size": len(y),
                                    "seed": 1})])
        losses = reply["results"][0]
        if not isinstance(losses, list) or len(losses) != epochs:
            raise Fail(f"fit must return a list with one loss per batch ({epochs} here: "
                       f"{epochs} epochs of one batch), got {describe(losses)}")
        losses = np.array([as_number(value, "each loss returned by fit") for value in losses])
        return losses, reply["attrs"]["W"], reply["attrs"]["b"]

    expected = torch_full_batch_sgd(ctx.ref, X, y, W, b, lr, reg, epochs)
    got = fit(ctx.student)
    for index, what in enumerate(("the losses returned by fit", "W after fit", "b after fit")):
        ctx.expect_close(what, lambda who, index=index: fit(who)[index], expected[index],
                         got=got[index])


@part("LinearClassifier.fit_batches", points=1)
def classifier_fit_batches(ctx):
    """fit makes one step per minibatch, the last one smaller, and the loss falls."""
    X, y, W, b = classifier_case(ctx.rng, n_samples=50)
    epochs, batch_size = 3, 16

    def losses_of(who):
        return who.object(
            CLASSIFIER, args=(X.shape[1], W.shape[1]), set_attrs={"W": W, "b": b},
            calls=[("fit", (X, y), {"lr": 0.1, "epochs": epochs, "batch_size": batch_size,
                                    "seed": 0})])["results"][0]

    losses = losses_of(ctx.student)
    expected_count = epochs * math.ceil(len(y) / batch_size)
    if not isinstance(losses, list) or len(losses) != expected_count:
        ctx.fail(f"fit must return one loss per batch: {epochs} epochs x "
                 f"ceil({len(y)}/{batch_size}) = {expected_count} batches, got "
                 f"{describe(losses)}", losses_of, losses)
    first_loss = torch_classifier_loss(ctx.ref, X, y, W, b, "softmax", 0.0)[0]
    final_loss = np.mean([as_number(v, "each loss returned by fit") for v in losses[-4:]])
    if not final_loss < first_loss:
        ctx.fail(f"the loss did not fall during fit (from about {first_loss:.3f} to "
                 f"{final_loss:.3f})", losses_of, losses)


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


# ================================================================ what the parts ask

def loss_reference(function):
    """The PyTorch reference of a loss function or of its loop version."""
    return {"softmax_loss": torch_softmax_loss,
            "hinge_loss": torch_hinge_loss}[function.removesuffix("_naive")]


def expect_loss(ctx, function, output, cases, **kwargs):
    """``function``'s loss or dscores (``output``) on each named case matches PyTorch."""
    reference = loss_reference(function)
    index = {"loss": 0, "dscores": 1}[output]
    shown = "".join(f", {key}={value}" for key, value in kwargs.items())
    for name, (scores, y) in cases.items():
        def ask(who, scores=scores, y=y):
            result = who.call(f"{LINEAR}.{function}", scores, y, **kwargs)
            return unpack(result, 2, function)[index]

        ctx.expect_close(f"{function}{shown} {output} ({name})", ask,
                         reference(ctx.ref, scores, y, **kwargs)[index],
                         nonfinite_hint=OVERFLOW_HINT)


def expect_matches_naive(ctx, function, **kwargs):
    """The two versions agree, and the loop version is right: agreeing with a wrong loop
    version (two functions that both return zeros agree) earns nothing."""
    scores, y = random_case(ctx.rng, n_samples=20, n_classes=7)
    reference = loss_reference(function)
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
    for label, index in (("loss", 0), ("dscores", 1)):
        ctx.expect_close(
            f"{function} {label} compared with {function}_naive {label}",
            lambda who, index=index: unpack(
                who.call(f"{LINEAR}.{function}", scores, y, **kwargs), 2, function)[index],
            naive[index])


def l2_penalty(who, W, reg):
    return unpack(who.call(f"{LINEAR}.l2_penalty", W, reg), 2, "l2_penalty")


def describe(value):
    if isinstance(value, list):
        return f"a list of {len(value)}"
    return f"a {type(value).__name__}"


# ================================================================ inputs

def random_case(rng, n_samples=None, n_classes=None, scale=3.0):
    """Random scores (N, C) and labels (N,)."""
    n_samples = n_samples or int(rng.integers(5, 13))
    n_classes = n_classes or int(rng.integers(3, 9))
    scores = scale * rng.standard_normal((n_samples, n_classes))
    return scores, rng.integers(0, n_classes, n_samples)


def random_cases(rng, count=3):
    return {f"random case {k + 1}": random_case(rng) for k in range(count)}


def edge_cases(rng):
    """Named (scores, y) cases: huge scores, one sample, two classes, ties."""
    return {
        "scores of 1e4": (np.array([[1e4, 0.0, -1e4], [-1e4, 1e4, 1e4 - 1.0]]), np.array([2, 0])),
        "one sample": random_case(rng, n_samples=1),
        "two classes": random_case(rng, n_classes=2),
        "tied scores": (np.zeros((4, 5)), np.array([0, 1, 4, 2])),
    }


def l2_case(rng):
    W = rng.standard_normal((int(rng.integers(3, 9)), int(rng.integers(2, 6))))
    return W, float(rng.uniform(0.1, 2.0))


def classifier_case(rng, n_samples=12, n_features=6, n_classes=4):
    return (rng.standard_normal((n_samples, n_features)),
            rng.integers(0, n_classes, n_samples),
            0.5 * rng.standard_normal((n_features, n_classes)),
            0.5 * rng.standard_normal(n_classes))


# ================================================================ PyTorch references

@cached
def torch_softmax(ref, scores):
    return ref.numpy(torch.softmax(ref.tensor(scores), dim=1))


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
def torch_l2_penalty(ref, W, reg):
    weight = ref.tensor(W, requires_grad=True)
    penalty = 0.5 * reg * (weight**2).sum()
    penalty.backward()
    return penalty.item(), ref.numpy(weight.grad)


def torch_linear(ref, W, b):
    """nn.Linear holding ``x @ W + b`` (its weight is W.T)."""
    layer = torch.nn.Linear(W.shape[0], W.shape[1], dtype=torch.float64, device=ref.device)
    with torch.no_grad():
        layer.weight.copy_(ref.tensor(W.T))
        layer.bias.copy_(ref.tensor(b))
    return layer


@cached
def torch_classifier_loss(ref, X, y, W, b, loss, reg):
    """Loss and (dW, db) of nn.Linear (weight = W.T) + loss + 0.5 * reg * ||W||^2."""
    layer = torch_linear(ref, W, b)
    scores = layer(ref.tensor(X))
    if loss == "softmax":
        data_loss = F.cross_entropy(scores, ref.labels(y))
    else:
        data_loss = F.multi_margin_loss(scores, ref.labels(y)) * W.shape[1]
    total = data_loss + 0.5 * reg * (layer.weight**2).sum()
    total.backward()
    return total.item(), ref.numpy(layer.weight.grad).T, ref.numpy(layer.bias.grad)


@cached
def torch_predictions(ref, X, W, b):
    scores = ref.tensor(X) @ ref.tensor(W) + ref.tensor(b)
    return ref.numpy(scores.argmax(dim=1)), ref.numpy(torch.softmax(scores, dim=1))


@cached
def torch_full_batch_sgd(ref, X, y, W, b, lr, reg, epochs):
    """Plain SGD on nn.Linear + cross-entropy + L2 on the weight, one step per epoch.

    The update ``p <- p - lr * p.grad`` is torch.optim.SGD's without momentum; written out
    because importing torch.optim costs a second per grading process.

    Returns the losses before each of the ``epochs`` steps, W and b.
    """
    layer = torch_linear(ref, W, b)
    losses = []
    for _ in range(epochs):
        layer.zero_grad()
        loss = (F.cross_entropy(layer(ref.tensor(X)), ref.labels(y))
                + 0.5 * reg * (layer.weight**2).sum())
        losses.append(loss.item())
        loss.backward()
        with torch.no_grad():
            for parameter in layer.parameters():
                parameter -= lr * parameter.grad
    return np.array(losses), ref.numpy(layer.weight).T, ref.numpy(layer.bias)
