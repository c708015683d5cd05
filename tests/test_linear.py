"""The reference minidl.linear against PyTorch, edge cases and bad input."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from course.datasets import load_digits
from minidl import linear


def torch_loss(kind, scores, y, margin=1.0):
    s = torch.tensor(scores, dtype=torch.float64, requires_grad=True)
    target = torch.tensor(y, dtype=torch.int64)
    if kind == "softmax":
        loss = F.cross_entropy(s, target)
    else:
        loss = F.multi_margin_loss(s, target, margin=margin) * scores.shape[1]
    loss.backward()
    return loss.item(), s.grad.numpy()


@st.composite
def scores_and_labels(draw, scale=5.0):
    n_samples = draw(st.integers(1, 12))
    n_classes = draw(st.integers(2, 9))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    scores = scale * rng.standard_normal((n_samples, n_classes))
    return scores, rng.integers(0, n_classes, n_samples)


LOSSES = {
    "softmax": (linear.softmax_loss_naive, linear.softmax_loss),
    "hinge": (linear.hinge_loss_naive, linear.hinge_loss),
}


@settings(max_examples=60, deadline=None)
@given(case=scores_and_labels())
def test_softmax_matches_torch(case):
    scores, _ = case
    expected = torch.softmax(torch.tensor(scores), dim=1).numpy()
    np.testing.assert_allclose(linear.softmax(scores), expected, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("kind", sorted(LOSSES))
@settings(max_examples=60, deadline=None)
@given(case=scores_and_labels())
def test_losses_match_torch(kind, case):
    scores, y = case
    expected_loss, expected_grad = torch_loss(kind, scores, y)
    for function in LOSSES[kind]:
        loss, dscores = function(scores, y)
        assert isinstance(loss, float)
        assert loss == pytest.approx(expected_loss, rel=1e-10, abs=1e-12)
        np.testing.assert_allclose(dscores, expected_grad, rtol=1e-10, atol=1e-13)


@pytest.mark.parametrize("margin", [0.25, 1.0, 3.0])
def test_hinge_margin_and_kink_match_torch(margin):
    # Sample 0: class 0 sits exactly at the kink (1 - 2 + margin... == 0 for margin 1);
    # sample 1 has a tie between the correct class and another one.
    scores = np.array([[1.0, 2.0, 2.0, 1.0 - margin + 2.0 - 1.0], [0.5, 0.5, -3.0, 0.0]])
    y = np.array([1, 0])
    expected_loss, expected_grad = torch_loss("hinge", scores, y, margin)
    for function in LOSSES["hinge"]:
        loss, dscores = function(scores, y, margin=margin)
        assert loss == pytest.approx(expected_loss, abs=1e-12)
        np.testing.assert_allclose(dscores, expected_grad, atol=1e-15)


def test_hinge_by_hand():
    # s = [3.2, 5.1, -1.7], correct class 0: max(0, 5.1-3.2+1) + max(0, -1.7-3.2+1) = 2.9
    loss, dscores = linear.hinge_loss(np.array([[3.2, 5.1, -1.7]]), np.array([0]))
    assert loss == pytest.approx(2.9)
    np.testing.assert_array_equal(dscores, [[-1.0, 1.0, 0.0]])


def test_softmax_loss_by_hand():
    # Two equal scores: p = 1/2 each, loss log 2, gradient (1/2 - 1, 1/2).
    loss, dscores = linear.softmax_loss(np.zeros((1, 2)), np.array([0]))
    assert loss == pytest.approx(np.log(2))
    np.testing.assert_allclose(dscores, [[-0.5, 0.5]])


@pytest.mark.parametrize("kind", sorted(LOSSES))
def test_huge_scores_are_stable(kind):
    scores = np.array([[1e4, 0.0, -1e4], [-1e4, 1e4, 1e4 - 1.0]])
    y = np.array([2, 0])
    expected_loss, expected_grad = torch_loss(kind, scores, y)
    for function in LOSSES[kind]:
        loss, dscores = function(scores, y)
        assert loss == pytest.approx(expected_loss, rel=1e-12)
        np.testing.assert_allclose(dscores, expected_grad, atol=1e-12)
    probs = linear.softmax(scores)
    assert np.all(np.isfinite(probs))
    np.testing.assert_allclose(probs, torch.softmax(torch.tensor(scores), dim=1).numpy())


def test_l2_penalty_gradient_is_sgd_weight_decay():
    rng = np.random.default_rng(0)
    W, reg = rng.standard_normal((5, 3)), 0.7
    penalty, dW = linear.l2_penalty(W, reg)
    assert penalty == pytest.approx(0.5 * reg * np.sum(W**2))
    weight = torch.nn.Parameter(torch.tensor(W))
    weight.grad = torch.zeros_like(weight)
    torch.optim.SGD([weight], lr=1.0, weight_decay=reg).step()
    np.testing.assert_allclose(dW, W - weight.detach().numpy(), rtol=1e-14)


def torch_classifier(W, b):
    layer = torch.nn.Linear(*W.shape, dtype=torch.float64)
    with torch.no_grad():
        layer.weight.copy_(torch.tensor(W.T))
        layer.bias.copy_(torch.tensor(b))
    return layer


@pytest.mark.parametrize("kind", sorted(LOSSES))
def test_classifier_loss_and_grad_match_torch(kind):
    rng = np.random.default_rng(1)
    X, y = rng.standard_normal((9, 5)), rng.integers(0, 4, 9)
    model = linear.LinearClassifier(5, 4, loss=kind, reg=0.2)
    model.W, model.b = rng.standard_normal((5, 4)), rng.standard_normal(4)
    layer = torch_classifier(model.W, model.b)
    scores = layer(torch.tensor(X))
    target = torch.tensor(y)
    if kind == "softmax":
        data_loss = F.cross_entropy(scores, target)
    else:
        data_loss = F.multi_margin_loss(scores, target) * 4
    total = data_loss + 0.5 * 0.2 * (layer.weight**2).sum()
    total.backward()
    loss, grads = model.loss_and_grad(X, y)
    assert loss == pytest.approx(total.item(), rel=1e-12)
    np.testing.assert_allclose(grads["W"], layer.weight.grad.numpy().T, rtol=1e-10)
    np.testing.assert_allclose(grads["b"], layer.bias.grad.numpy(), rtol=1e-10, atol=1e-15)


def test_full_batch_fit_takes_torch_sgd_steps():
    rng = np.random.default_rng(2)
    X, y = rng.standard_normal((20, 3)), rng.integers(0, 3, 20)
    model = linear.LinearClassifier(3, 3, reg=0.1, seed=5)
    layer = torch_classifier(model.W, model.b)
    # weight_decay on the weight only: the classifier does not regularize its bias.
    optimizer = torch.optim.SGD([{"params": [layer.weight], "weight_decay": 0.1},
                                 {"params": [layer.bias]}], lr=0.3)
    expected = []
    for _ in range(4):
        optimizer.zero_grad()
        data_loss = F.cross_entropy(layer(torch.tensor(X)), torch.tensor(y))
        expected.append(data_loss.item() + 0.05 * (layer.weight**2).sum().item())
        data_loss.backward()
        optimizer.step()
    losses = model.fit(X, y, lr=0.3, epochs=4, batch_size=20)
    np.testing.assert_allclose(losses, expected, rtol=1e-12)
    np.testing.assert_allclose(model.W, layer.weight.detach().numpy().T, rtol=1e-10)
    np.testing.assert_allclose(model.b, layer.bias.detach().numpy(), rtol=1e-10, atol=1e-15)


def test_fit_counts_one_loss_per_batch_and_is_seeded():
    rng = np.random.default_rng(3)
    X, y = rng.standard_normal((50, 4)), rng.integers(0, 3, 50)
    first = linear.LinearClassifier(4, 3, seed=0)
    second = linear.LinearClassifier(4, 3, seed=0)
    assert len(first.fit(X, y, epochs=3, batch_size=16, seed=7)) == 3 * 4
    second.fit(X, y, epochs=3, batch_size=16, seed=7)
    np.testing.assert_array_equal(first.W, second.W)


@pytest.mark.parametrize("kind", sorted(LOSSES))
def test_classifier_reaches_90_percent_on_digits(kind):
    data = load_digits(seed=0)
    model = linear.LinearClassifier(64, 10, loss=kind, reg=1e-3, seed=0)
    losses = model.fit(data.X_train, data.y_train, lr=0.05, epochs=20, batch_size=64)
    assert np.mean(losses[-10:]) < np.mean(losses[:10])
    assert np.mean(model.predict(data.X_test) == data.y_test) >= 0.9
    if kind == "softmax":
        np.testing.assert_allclose(model.predict_proba(data.X_test).sum(axis=1), 1.0)


@pytest.mark.parametrize(
    ("scores", "y", "message"),
    [
        (np.zeros(3), [0], "2-D"),
        (np.zeros((2, 3)), [0], r"shape \(2,\)"),
        (np.zeros((2, 3)), [0, 3], r"in \[0, 2\]"),
        (np.zeros((2, 3)), [0, -1], r"in \[0, 2\]"),
        (np.zeros((2, 3)), [0.5, 1.0], "integers"),
        (np.array([[0.0, np.nan, 1.0]]), [0], "NaN"),
        (np.array([["a", "b"]]), [0], "numeric"),
        (np.zeros((0, 3)), [], "at least one sample"),
    ],
)
@pytest.mark.parametrize(
    "function",
    [linear.softmax_loss_naive, linear.softmax_loss, linear.hinge_loss_naive, linear.hinge_loss],
)
def test_bad_input_raises_a_clear_error(function, scores, y, message):
    with pytest.raises(ValueError, match=message):
        function(scores, y)


def test_float_labels_with_integer_values_are_accepted():
    scores = np.array([[1.0, 2.0], [0.0, 1.0]])
    from_floats = linear.softmax_loss(scores, [1.0, 0.0])
    from_ints = linear.softmax_loss(scores, [1, 0])
    assert from_floats[0] == from_ints[0]
    np.testing.assert_array_equal(from_floats[1], from_ints[1])


def test_classifier_rejects_bad_input():
    model = linear.LinearClassifier(4, 3, loss="hinge")
    with pytest.raises(ValueError, match="4 features"):
        model.predict(np.zeros((2, 5)))
    with pytest.raises(ValueError, match="labels y must have shape"):
        model.fit(np.zeros((3, 4)), [0, 1])
    with pytest.raises(ValueError, match="predict_proba needs loss='softmax'"):
        model.predict_proba(np.zeros((2, 4)))
    with pytest.raises(ValueError, match="loss must be one of"):
        linear.LinearClassifier(4, 3, loss="mse")
    with pytest.raises(ValueError, match="reg must be non-negative"):
        linear.l2_penalty(np.ones(3), -1.0)
