"""The reference minidl.autograd and minidl.forward against PyTorch, by hand, and bad input."""
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from autograder.checks.a3_autodiff import TORCH, NumpyStyle
from autograder.probes.a3_autodiff import FUNCTIONS, OPERATIONS, build, const, op
from minidl import autograd, forward
from minidl.autograd import Dual, Tensor, cross_entropy, jvp, no_grad

# Pieces of programs, in the vocabulary of the checks' graphs: each is applied to one or two
# operands (nodes 0 and 1), on minidl and on PyTorch alike.
UNARY = {
    **{name: [op(name, 0)] for name in FUNCTIONS["Tensor"] if not OPERATIONS[name].positive},
    "square": [op("pow", 0, const(2))],
    "neg": [op("neg", 0)],
    "log1p_sq": [op("mul", 0, 0), op("add", 1, const(1)), op("log", 2)],
    "sum0": [op("sum", 0, axis=0, keepdims=True)],
    "mean1": [op("mean", 0, axis=-1, keepdims=True)],
    "max1": [op("max", 0, axis=1, keepdims=True)],
    "log_softmax": [op("log_softmax", 0, axis=1)],
    "transpose_twice": [op("T", 0), op("T", 1)],
    "rows": [op("getitem", 0, index=np.array([2, 0, 2]))],
}
BINARY = {
    "add": [op("add", 0, 1)],
    "sub": [op("sub", 0, 1)],
    "mul": [op("mul", 0, 1)],
    "div": [op("mul", 1, 1), op("add", 2, const(1)), op("truediv", 0, 3)],
    "matmul": [op("T", 1), op("matmul", 0, 2)],
}
PIECES = {**UNARY, **BINARY}


def piece(name):
    """The piece as a function of its operands, on either library."""
    return lambda library, *operands: build(library, operands, PIECES[name])[-1]


def on_torch(function, *tensors):
    """``function(library, *leaves)``, written for minidl, applied to torch tensors."""
    return function(TORCH, *[NumpyStyle(t) for t in tensors]).tensor


@st.composite
def expressions(draw):
    """A random program over three (3, 4) leaves, one (4,) leaf (broadcast) and reuse."""
    steps = []
    n_nodes = 4
    for _ in range(draw(st.integers(1, 10))):
        if draw(st.booleans()):
            name = draw(st.sampled_from(sorted(BINARY)))
            steps.append((name, draw(st.integers(0, n_nodes - 1)),
                          draw(st.integers(0, n_nodes - 1))))
        else:
            steps.append((draw(st.sampled_from(sorted(UNARY))),
                          draw(st.integers(0, n_nodes - 1))))
        n_nodes += 1
    return steps, draw(st.integers(0, 2**32 - 1))


def run_program(steps, leaves, library):
    """Apply ``steps``; shapes that do not combine skip a step; the sum of all nodes."""
    nodes = list(leaves)
    for name, *args in steps:
        operands = [nodes[a] for a in args]
        try:
            nodes.append(piece(name)(library, *operands))
        except (ValueError, RuntimeError, IndexError):
            nodes.append(operands[0])
    total = nodes[0].sum()
    for node in nodes[1:]:
        total = total + node.sum()
    return total


@settings(max_examples=80, deadline=None)
@given(program=expressions())
def test_random_programs_match_torch(program):
    steps, seed = program
    rng = np.random.default_rng(seed)
    arrays = [rng.standard_normal(s) for s in ((3, 4), (3, 4), (3, 4), (4,))]
    leaves = [Tensor(a, requires_grad=True) for a in arrays]
    torch_leaves = [torch.tensor(a, requires_grad=True) for a in arrays]
    with np.errstate(over="ignore"):
        out = run_program(steps, leaves, autograd)
    expected = run_program(steps, [NumpyStyle(t) for t in torch_leaves], TORCH).tensor
    if not torch.isfinite(expected):
        return
    out.backward()
    expected.backward()
    assert out.item() == pytest.approx(expected.item(), rel=1e-9, abs=1e-9)
    for leaf, torch_leaf in zip(leaves, torch_leaves, strict=True):
        np.testing.assert_allclose(leaf.grad, torch_leaf.grad.numpy(), rtol=1e-8, atol=1e-10)


def torch_grads(function, *arrays, grad=None):
    leaves = [torch.tensor(np.asarray(a, dtype=np.float64), requires_grad=True) for a in arrays]
    out = on_torch(function, *leaves)
    out.backward(None if grad is None else torch.tensor(grad))
    return out.detach().numpy(), [leaf.grad.numpy() for leaf in leaves]


def minidl_grads(function, *arrays, grad=None):
    leaves = [Tensor(a, requires_grad=True) for a in arrays]
    out = function(autograd, *leaves)
    out.backward(grad)
    return out.data, [leaf.grad for leaf in leaves]


def assert_same(function, *arrays, grad=None):
    """``function(library, *leaves)`` gives the same value and gradients on minidl as on
    PyTorch."""
    value, grads = minidl_grads(function, *arrays, grad=grad)
    expected, expected_grads = torch_grads(function, *arrays, grad=grad)
    np.testing.assert_allclose(value, expected, rtol=1e-12, atol=1e-12)
    for got, want in zip(grads, expected_grads, strict=True):
        assert got.dtype == np.float64 and got.shape == want.shape
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


RNG = np.random.default_rng(0)


@pytest.mark.parametrize(("shape_a", "shape_b"), [((3, 4), (4,)), ((3, 1), (1, 4)),
                                                   ((2, 3, 4), (3, 1)), ((3, 4), ())])
def test_broadcasting_gradients_are_summed_to_each_shape(shape_a, shape_b):
    a, b = RNG.standard_normal(shape_a), RNG.standard_normal(shape_b)
    grad = RNG.standard_normal(np.broadcast_shapes(shape_a, shape_b))
    for function in (lambda _, x, y: x * y + x, lambda _, x, y: x / (y * y + 1) - y):
        assert_same(function, a, b, grad=grad)


@pytest.mark.parametrize(("shape_a", "shape_b"), [((3, 4), (4, 5)), ((4,), (4, 3)),
                                                   ((3, 4), (4,)), ((4,), (4,)),
                                                   ((2, 3, 4), (4, 5)), ((3, 4), (2, 4, 5))])
def test_matmul_matches_torch_for_numpy_shapes(shape_a, shape_b):
    a, b = RNG.standard_normal(shape_a), RNG.standard_normal(shape_b)
    grad = RNG.standard_normal(np.matmul(a, b).shape)
    assert_same(lambda _, x, y: x @ y, a, b, grad=grad)


def test_numbers_and_arrays_on_either_side():
    array = RNG.standard_normal((3, 3))
    x = RNG.standard_normal((3, 3))
    assert_same(lambda _, t: (2 * t - 1) / 4 + (3 - t) * array + array @ t + t @ array
                - 1 / (t * t + 1), x, grad=RNG.standard_normal((3, 3)))


@pytest.mark.parametrize("kwargs", [{}, {"axis": 0}, {"axis": (0, 2), "keepdims": True},
                                    {"axis": -1}])
def test_reductions_match_torch(kwargs):
    x = RNG.standard_normal((2, 3, 4))
    assert_same(lambda _, t: t.sum(**kwargs).exp().sum(), x)
    assert_same(lambda _, t: (t.mean(**kwargs) ** 2).sum(), x)
    assert_same(lambda _, t: (t.max(**kwargs) * 3).sum(), x)


def test_max_splits_the_gradient_among_ties_by_hand():
    x = Tensor([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]], requires_grad=True)
    x.max(axis=1).sum().backward()
    np.testing.assert_allclose(x.grad, [[0, 0.5, 0.5], [1 / 3, 1 / 3, 1 / 3]])
    assert_same(lambda _, t: t.max(), np.array([[1.0, 5.0], [5.0, 0.0]]))


def test_relu_has_derivative_zero_at_zero_and_the_identity_pitfall():
    x = Tensor(0.0, requires_grad=True)
    (x.relu() - (-x).relu()).backward()  # the identity, yet its derivative at 0 comes out 0
    assert x.grad == 0.0
    y = Tensor(0.0, requires_grad=True)
    (10 * y - 9 * (y.relu() - (-y).relu())).backward()
    assert y.grad == 10.0
    t = torch.tensor(0.0, dtype=torch.float64, requires_grad=True)
    (10 * t - 9 * (torch.relu(t) - torch.relu(-t))).backward()
    assert t.grad.item() == 10.0


def test_sigmoid_and_tanh_are_finite_at_large_inputs():
    x = np.array([-1000.0, -30.0, 0.0, 30.0, 1000.0])
    for name in ("sigmoid", "tanh"):
        assert_same(piece(name), x, grad=np.ones(5))


@pytest.mark.parametrize("index", [1, (slice(None), slice(1, 3)), (None, 0), (Ellipsis, -1),
                                   [0, 2], ([0, 1], [2, 3]), [0, 0, 2], ([1, 1], [2, 2])])
def test_indexing_accumulates_repeated_entries(index):
    x = RNG.standard_normal((3, 4))
    grad = RNG.standard_normal(x[index].shape)
    assert_same(lambda _, t: t[index], x, grad=grad)


def test_reshape_and_transpose_follow_numpy():
    x = RNG.standard_normal((2, 3, 4))
    grad = RNG.standard_normal((3, 4, 2))
    assert_same(lambda _, t: t.transpose(1, 2, 0), x, grad=grad)
    assert_same(lambda _, t: t.transpose(), x, grad=RNG.standard_normal((4, 3, 2)))
    assert_same(lambda _, t: t.T.reshape(6, -1), x, grad=RNG.standard_normal((6, 4)))


def test_log_softmax_and_cross_entropy_are_stable_at_1e4():
    logits = np.array([[1e4, 0.0, -1e4], [-1e4, 1e4, 1e4 - 1.0]])
    y = np.array([2, 0])
    assert_same(lambda library, t: library.cross_entropy(t, y), logits)
    assert_same(lambda library, t: library.log_softmax(t, axis=0), logits,
                grad=RNG.standard_normal((2, 3)))


def test_cross_entropy_by_hand():
    # Two equal logits: p = 1/2, loss log 2, gradient (p - onehot) / N.
    logits = Tensor(np.zeros((2, 2)), requires_grad=True)
    loss = cross_entropy(logits, [0, 1])
    loss.backward()
    assert loss.item() == pytest.approx(np.log(2))
    np.testing.assert_allclose(logits.grad, [[-0.25, 0.25], [0.25, -0.25]])


def test_fan_out_accumulates_and_only_leaves_keep_grad():
    x = Tensor([1.0, 2.0], requires_grad=True)
    y = x * x
    z = (y + x).sum()  # dz/dx = 2x + 1
    z.backward()
    np.testing.assert_allclose(x.grad, [3.0, 5.0])
    assert y.grad is None and z.grad is None
    ((x * x + x).sum()).backward()  # a fresh graph: the gradients add up, as in PyTorch
    np.testing.assert_allclose(x.grad, [6.0, 10.0])


def test_trace_example_by_hand():
    # f(x1, x2) = log(x1) + x1 x2 - sin(x2) without sin: check the reverse adjoints of the
    # part our Tensor has, then the full function with dual numbers (forward mode).
    x1, x2 = Tensor(2.0, requires_grad=True), Tensor(5.0, requires_grad=True)
    (x1.log() + x1 * x2).backward()
    assert x1.grad == pytest.approx(1 / 2 + 5) and x2.grad == pytest.approx(2.0)
    value, d_dx1 = jvp(lambda x: x.log() + x * 5.0 - np.sin(5.0), 2.0, 1.0)
    assert value == pytest.approx(np.log(2) + 10 - np.sin(5)) and d_dx1 == pytest.approx(5.5)
    _, d_dx2 = jvp(lambda x: np.log(2.0) + 2.0 * x - x.sin(), 5.0, 1.0)
    assert d_dx2 == pytest.approx(2 - np.cos(5))


def test_a_chain_of_100000_operations():
    x = Tensor(np.ones(2), requires_grad=True)
    y = x
    for _ in range(50_000):
        y = y * 0.99999 + 1e-5
    y.sum().backward()
    np.testing.assert_allclose(x.grad, 0.99999**50_000, rtol=1e-9)


# ---------------------------------------------------------------- needs_input_grad


class Scale(autograd.Op):
    """``a * b``, whose rule for ``a`` must never run: ``a`` is always a constant here."""

    def compute(self, a, b):
        return a * b

    def gradient_a(self, out_grad, out, a, b):
        raise AssertionError("the gradient of an input that needs none was computed")

    def gradient_b(self, out_grad, out, a, b):
        return autograd.unbroadcast(out_grad * a, b.shape)


def test_an_input_that_needs_no_gradient_never_gets_one_computed():
    a, b = RNG.standard_normal((3, 4)), RNG.standard_normal(4)
    constant, leaf = Tensor(a), Tensor(b, requires_grad=True)
    out = Scale()(constant, leaf)
    assert out._op.needs_input_grad == (False, True)
    out.sum().backward()
    np.testing.assert_allclose(leaf.grad, a.sum(axis=0))  # d(sum a * b)/db = column sums
    assert constant.grad is None


def counting(monkeypatch, op, rule):
    """Count the calls of ``op.rule`` (the reference rule still runs)."""
    calls = []
    original = getattr(op, rule)

    def counted(self, *args):
        calls.append(self)
        return original(self, *args)

    monkeypatch.setattr(op, rule, counted)
    return calls


def test_matmul_computes_only_the_gradients_that_are_needed(monkeypatch):
    x, w = RNG.standard_normal((5, 3)), RNG.standard_normal((3, 2))
    for_x = counting(monkeypatch, autograd.MatMul, "gradient_a")
    for_w = counting(monkeypatch, autograd.MatMul, "gradient_b")
    weight = Tensor(w, requires_grad=True)
    (Tensor(x) @ weight).sum().backward()  # a batch of data: no gradient for it
    assert (len(for_x), len(for_w)) == (0, 1)
    torch_weight = torch.tensor(w, requires_grad=True)
    (torch.tensor(x) @ torch_weight).sum().backward()
    np.testing.assert_allclose(weight.grad, torch_weight.grad.numpy(), rtol=1e-12)
    data = Tensor(x, requires_grad=True)
    (data @ Tensor(w)).sum().backward()  # now only the left input needs one
    assert (len(for_x), len(for_w)) == (1, 1)
    np.testing.assert_allclose(data.grad, np.ones((5, 2)) @ w.T, rtol=1e-12)


def test_a_network_computes_no_gradient_for_its_input_batch(monkeypatch):
    from minidl import nn

    for_input = counting(monkeypatch, autograd.MatMul, "gradient_a")
    for_weight = counting(monkeypatch, autograd.MatMul, "gradient_b")
    model = nn.Sequential(nn.Linear(6, 5, rng=0), nn.ReLU(), nn.Linear(5, 3, rng=1))
    x = RNG.standard_normal((4, 6))
    cross_entropy(model(x), [0, 2, 1, 2]).backward()
    # Two products; only the second one's left input (the hidden layer) needs a gradient.
    assert len(for_weight) == 2 and len(for_input) == 1
    first_layer = next(op for op in for_weight if op is not for_input[0])
    assert first_layer.needs_input_grad == (False, True)
    assert all(p.grad is not None for p in model.parameters())


def test_no_grad_records_nothing_and_restores_the_mode():
    x = Tensor([1.0, -2.0], requires_grad=True)
    with no_grad():
        y = (x * 3).exp()
    assert not y.requires_grad and y.is_leaf
    with pytest.raises(KeyError), no_grad():
        raise KeyError("inside")
    assert (x * 3).requires_grad


def test_tensor_stores_a_float64_copy():
    data = np.array([1, 2, 3])
    t = Tensor(data)
    data[0] = 100
    assert t.data.dtype == np.float64 and t.data[0] == 1.0 and t.grad is None
    assert t.shape == (3,) and not t.requires_grad


# ---------------------------------------------------------------- float32


def assert_float32_like_torch(function, *arrays, grad=None):
    """float32 leaves: the value and every gradient of ``function(library, *leaves)`` are
    float32 and match PyTorch's float32 results (to float32 precision)."""
    arrays = [np.asarray(a, dtype=np.float32) for a in arrays]
    leaves = [Tensor(a, requires_grad=True) for a in arrays]
    out = function(autograd, *leaves)
    out.backward(grad)
    torch_leaves = [torch.tensor(a, requires_grad=True) for a in arrays]
    expected = on_torch(function, *torch_leaves)
    expected.backward(None if grad is None else torch.tensor(grad))
    assert out.data.dtype == np.float32 and expected.dtype == torch.float32
    np.testing.assert_allclose(out.data, expected.detach().numpy(), rtol=1e-5, atol=1e-6)
    for leaf, torch_leaf in zip(leaves, torch_leaves, strict=True):
        assert leaf.grad.dtype == np.float32
        np.testing.assert_allclose(leaf.grad, torch_leaf.grad.numpy(), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name", sorted(UNARY))
def test_float32_stays_float32_through_every_one_input_op(name):
    x = RNG.standard_normal((3, 4))
    grad = RNG.standard_normal(piece(name)(autograd, Tensor(x)).shape).astype(np.float32)
    assert_float32_like_torch(piece(name), x, grad=grad)


@pytest.mark.parametrize("name", sorted(BINARY))
@pytest.mark.parametrize("shape_b", [(3, 4), (4,)])
def test_float32_stays_float32_through_every_two_input_op(name, shape_b):
    a, b = RNG.standard_normal((3, 4)), RNG.standard_normal(shape_b)
    grad = RNG.standard_normal(piece(name)(autograd, Tensor(a), Tensor(b)).shape)
    assert_float32_like_torch(piece(name), a, b, grad=grad.astype(np.float32))


def test_float32_through_numbers_reductions_and_the_loss():
    logits, y = RNG.standard_normal((5, 3)) * 10, np.array([0, 2, 1, 1, 0])
    assert_float32_like_torch(lambda library, t: library.cross_entropy(t * 2 - 1, y), logits)
    x = RNG.standard_normal((2, 3, 4))
    assert_float32_like_torch(
        lambda _, t: ((1 / (t * t + 1)).mean(axis=(0, 2)) * 3 - t.max() + t.transpose(2, 0, 1)
                      .reshape(4, 6)[[1, 1, 3]].sum()), x, grad=np.ones(3, dtype=np.float32))


def test_everything_but_float32_becomes_float64():
    for data in ([1, 2], np.array([1, 2]), np.array([1.0, 2.0], dtype=np.float16),
                 np.array([True, False]), 3.0):
        assert Tensor(data).data.dtype == np.float64
    small = Tensor(np.ones(2, dtype=np.float32), requires_grad=True)
    # A float64 array meeting a float32 tensor promotes the result, as in PyTorch; the
    # leaf's gradient keeps the leaf's dtype.
    out = small * np.full(2, 3.0)
    assert out.data.dtype == np.float64
    out.sum().backward()
    assert small.grad.dtype == np.float32 and np.all(small.grad == 3.0)


def test_forward_mode_keeps_float32():
    x, v = RNG.standard_normal(4).astype(np.float32), RNG.standard_normal(4).astype(np.float32)
    value, tangent = jvp(DUAL_FUNCTIONS[1], x, v)
    expected_value, expected_tangent = torch_jvp(DUAL_FUNCTIONS[1], x, v)
    assert value.dtype == tangent.dtype == np.float32
    np.testing.assert_allclose(value, expected_value.numpy(), rtol=1e-5)
    np.testing.assert_allclose(tangent, expected_tangent.numpy(), rtol=1e-4, atol=1e-6)
    assert jvp(DUAL_FUNCTIONS[1], x.astype(np.float64), v)[1].dtype == np.float64


@pytest.mark.parametrize(("make", "message"), [
    (lambda: Tensor([1.0, np.nan]), "NaN"),
    (lambda: Tensor("abc"), "numeric"),
    (lambda: Tensor(np.ones(3), requires_grad=True).exp().backward(), "scalar"),
    (lambda: Tensor(np.ones(3), requires_grad=True).exp().backward(np.ones(2)), "shape"),
    (lambda: Tensor(np.ones(3)).sum().backward(), "does not require a gradient"),
    (lambda: Tensor(np.ones(3)) ** Tensor(2.0), "exponent must be a number"),
    (lambda: Tensor(np.ones((2, 3))) @ Tensor(np.ones((2, 3))), "do not match"),
    (lambda: Tensor(np.ones((2, 3))).sum(axis=2), "out of range"),
    (lambda: Tensor(np.ones((2, 3))).transpose(0, 0), "repeats"),
    (lambda: Tensor(np.ones((2, 3))).transpose(1), "permutation"),
    (lambda: Tensor(np.ones((2, 3))).reshape(4, 2), "cannot reshape"),
    (lambda: cross_entropy(Tensor(np.ones((2, 3))), [0, 3]), r"in \[0, 2\]"),
    (lambda: cross_entropy(Tensor(np.ones((2, 3))), [0]), r"shape \(2,\)"),
    (lambda: cross_entropy(Tensor(np.ones(3)), [0]), r"shape \(N, C\)"),
    (lambda: Dual(np.ones(3), np.ones(2)), "tangent must have"),
    (lambda: jvp(lambda d: d, np.ones(3), np.ones(4)), "direction v"),
    (lambda: Dual([np.inf]), "NaN or infinite"),
])
def test_bad_input_raises_a_clear_error(make, message):
    with pytest.raises(ValueError, match=message):
        make()


# ---------------------------------------------------------------- forward mode

# Functions of a Dual, run on PyTorch too (``torch_jvp``).
DUAL_FUNCTIONS = [
    lambda x: (x * x.sum()).sin(),
    lambda x: x.exp() / (1 + x**2) - x.cos() * 2.0,
    lambda x: x.tanh() * (3 - x).sigmoid() + x.relu() ** 3,
    lambda x: (1 + x * x).log().sum() - 1 / (2 + x.cos()),
    lambda x: (x * x + 1) ** (x.sigmoid()),
]


def torch_jvp(function, x, v):
    """``torch.func.jvp`` of ``function``, written for Duals."""
    return torch.func.jvp(lambda t: function(NumpyStyle(t)).tensor, (torch.tensor(x),),
                          (torch.tensor(v),))


@pytest.mark.parametrize("function", DUAL_FUNCTIONS)
@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_jvp_matches_torch_func_jvp(function, seed):
    rng = np.random.default_rng(seed)
    x, v = rng.standard_normal(5), rng.standard_normal(5)
    value, tangent = jvp(function, x, v)
    expected_value, expected_tangent = torch_jvp(function, x, v)
    assert isinstance(value, np.ndarray) and isinstance(tangent, np.ndarray)
    np.testing.assert_allclose(value, expected_value.numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(tangent, expected_tangent.numpy(), rtol=1e-10, atol=1e-12)


def test_forward_mode_needs_one_pass_per_input_reverse_mode_one():
    # The gradient of a scalar function of n inputs: n jvps (one per basis direction)
    # give the same numbers as one backward pass, and as the formula 2x / (1 + x^2).
    x = np.random.default_rng(1).standard_normal(6)
    by_jvp = np.array([jvp(lambda d: (1 + d * d).log().sum(), x, e)[1] for e in np.eye(6)])
    t = Tensor(x, requires_grad=True)
    (1 + t * t).log().sum().backward()
    np.testing.assert_allclose(by_jvp, t.grad, rtol=1e-12)
    np.testing.assert_allclose(t.grad, 2 * x / (1 + x**2), rtol=1e-12)


def test_dual_numbers_by_hand():
    # (3 + eps)^2 = 9 + 6 eps; sin at 0 has derivative 1; relu at 0 has derivative 0.
    square = Dual(3.0, 1.0) ** 2
    assert square.value == 9.0 and square.tangent == 6.0
    assert Dual(0.0, 1.0).sin().tangent == 1.0 and Dual(0.0, 1.0).relu().tangent == 0.0
    quotient = 1 / Dual(2.0, 1.0)
    assert quotient.tangent == pytest.approx(-0.25)
    assert forward.Dual is autograd.Dual
