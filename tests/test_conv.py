"""The reference ``minidl.conv`` and the convolutional layers of ``minidl.nn`` against
PyTorch in float64: values and gradients on random shapes, strides, paddings and groups,
edge cases, float32, and bad input."""
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from minidl import conv, nn
from minidl.autograd import Tensor
from minidl.conv import avg_pool2d, col2im, conv2d, im2col, max_pool2d

torch.set_default_dtype(torch.float64)


def t(array, requires_grad=False):
    return torch.tensor(np.asarray(array, dtype=np.float64), requires_grad=requires_grad)


def unfold_as_cols(x, kernel_size, stride, padding):
    """PyTorch's unfold, (N, C*KH*KW, L) per image, in minidl's layout (C*KH*KW, L*N)."""
    unfolded = F.unfold(t(x), kernel_size, padding=padding, stride=stride)
    return unfolded.permute(1, 2, 0).reshape(unfolded.shape[1], -1).numpy()


def random_case(rng):
    """A random convolution: input shape, weight shape, stride, padding, groups."""
    groups = int(rng.choice([1, 1, 2, 3]))
    channels, out_channels = groups * int(rng.integers(1, 4)), groups * int(rng.integers(1, 4))
    kernel = (int(rng.integers(1, 5)), int(rng.integers(1, 5)))
    stride = (int(rng.integers(1, 4)), int(rng.integers(1, 4)))
    padding = (int(rng.integers(0, 3)), int(rng.integers(0, 3)))
    height = int(rng.integers(max(1, kernel[0] - 2 * padding[0]), 10))
    width = int(rng.integers(max(1, kernel[1] - 2 * padding[1]), 10))
    x_shape = (int(rng.integers(1, 4)), channels, height, width)
    return x_shape, (out_channels, channels // groups, *kernel), stride, padding, groups


def compare_conv(x, weight, bias, stride, padding, groups):
    """conv2d's output and the gradients of x, weight and bias against F.conv2d's."""
    rng = np.random.default_rng(1)
    leaves = [Tensor(a, requires_grad=True) for a in (x, weight)]
    leaves += [] if bias is None else [Tensor(bias, requires_grad=True)]
    out = conv2d(*leaves[:2], None if bias is None else leaves[2], stride, padding, groups)
    upstream = rng.standard_normal(out.shape)
    out.backward(upstream)
    theirs = [t(a, requires_grad=True) for a in (x, weight)]
    theirs += [] if bias is None else [t(bias, requires_grad=True)]
    expected = F.conv2d(*theirs[:2], None if bias is None else theirs[2], stride, padding,
                        groups=groups)
    expected.backward(t(upstream))
    np.testing.assert_allclose(out.data, expected.detach().numpy(), rtol=1e-10, atol=1e-12)
    for ours, reference in zip(leaves, theirs, strict=True):
        np.testing.assert_allclose(ours.grad, reference.grad.numpy(), rtol=1e-10, atol=1e-12)


# ---------------------------------------------------------------- im2col and col2im


def test_im2col_of_a_tiny_image_by_hand():
    # One 3x3 image with the pixels 1..9, 2x2 windows: four windows, column by column.
    x = np.arange(1.0, 10.0).reshape(1, 1, 3, 3)
    expected = np.array([[1, 2, 4, 5], [2, 3, 5, 6], [4, 5, 7, 8], [5, 6, 8, 9]],
                        dtype=float)
    np.testing.assert_array_equal(im2col(x, 2), expected)
    # Two images: the windows of both images sit side by side at each position.
    both = np.concatenate([x, 10 * x])
    np.testing.assert_array_equal(im2col(both, 2)[:, :2], [[1, 10], [2, 20], [4, 40], [5, 50]])


def test_col2im_counts_how_many_windows_hold_each_pixel():
    # 3x3 windows with stride 1 and padding 1 on a 4x4 image: a corner pixel lies in 4
    # windows, an edge pixel in 6 and an inner pixel in 9.
    ones = np.ones((9, 16))
    counts = col2im(ones, (1, 1, 4, 4), 3, padding=1)[0, 0]
    np.testing.assert_array_equal(counts, [[4, 6, 6, 4], [6, 9, 9, 6], [6, 9, 9, 6],
                                           [4, 6, 6, 4]])


@pytest.mark.parametrize("seed", range(12))
def test_im2col_is_torch_unfold_and_col2im_is_torch_fold(seed):
    rng = np.random.default_rng(seed)
    x_shape, weight_shape, stride, padding, _ = random_case(rng)
    kernel = weight_shape[2:]
    x = rng.standard_normal(x_shape)
    cols = im2col(x, kernel, stride, padding)
    np.testing.assert_array_equal(cols, unfold_as_cols(x, kernel, stride, padding))
    upstream = rng.standard_normal(cols.shape)
    per_image = t(upstream.reshape(cols.shape[0], -1, x_shape[0])).permute(2, 0, 1)
    folded = F.fold(per_image, x_shape[2:], kernel, padding=padding, stride=stride)
    np.testing.assert_allclose(col2im(upstream, x_shape, kernel, stride, padding),
                               folded.numpy(), rtol=1e-12, atol=1e-12)
    # The adjoint identity <im2col(x), c> = <x, col2im(c)>.
    assert np.sum(cols * upstream) == pytest.approx(
        np.sum(x * col2im(upstream, x_shape, kernel, stride, padding)), rel=1e-12)


# ---------------------------------------------------------------- conv2d


@pytest.mark.parametrize("seed", range(30))
def test_conv2d_matches_torch_on_random_cases(seed):
    rng = np.random.default_rng(seed)
    x_shape, weight_shape, stride, padding, groups = random_case(rng)
    bias = rng.standard_normal(weight_shape[0]) if seed % 3 else None
    compare_conv(rng.standard_normal(x_shape), rng.standard_normal(weight_shape), bias, stride,
                 padding, groups)


@pytest.mark.parametrize(("x_shape", "weight_shape", "stride", "padding", "groups"), [
    ((2, 3, 5, 5), (4, 3, 1, 1), 1, 0, 1),          # 1x1 kernel: a matrix product per pixel
    ((2, 3, 4, 6), (2, 3, 6, 8), 1, 1, 1),          # kernel as large as the padded input
    ((1, 2, 3, 3), (3, 2, 2, 2), 1, 4, 1),          # padding larger than the kernel
    ((2, 2, 7, 7), (2, 2, 2, 2), 3, 0, 1),          # stride larger than the kernel
    ((2, 4, 6, 5), (4, 1, 3, 3), (2, 1), (1, 0), 4),  # depthwise, uneven stride and padding
    ((1, 1, 1, 1), (1, 1, 1, 1), 1, 0, 1),          # one pixel
])
def test_conv2d_edge_cases(x_shape, weight_shape, stride, padding, groups):
    rng = np.random.default_rng(0)
    compare_conv(rng.standard_normal(x_shape), rng.standard_normal(weight_shape),
                 rng.standard_normal(weight_shape[0]), stride, padding, groups)


def test_conv2d_of_a_tiny_image_by_hand():
    # 3x3 image 1..9, 2x2 filter [[1, 0], [0, -1]]: each output is top-left minus
    # bottom-right of its window, -4 everywhere; no flip, as in PyTorch.
    x = Tensor(np.arange(1.0, 10.0).reshape(1, 1, 3, 3), requires_grad=True)
    w = Tensor(np.array([[[[1.0, 0.0], [0.0, -1.0]]]]), requires_grad=True)
    out = conv2d(x, w)
    np.testing.assert_array_equal(out.data, np.full((1, 1, 2, 2), -4.0))
    out.sum().backward()
    # d sum / dx: +1 where a pixel is some window's top-left, -1 where it is a bottom-right.
    np.testing.assert_array_equal(x.grad[0, 0], [[1, 1, 0], [1, 0, -1], [0, -1, -1]])
    # d sum / dw[u, v]: the sum of the pixels at offset (u, v) of every window.
    np.testing.assert_array_equal(w.grad[0, 0], [[12, 16], [24, 28]])


def test_conv2d_computes_only_the_gradients_that_are_needed(monkeypatch):
    rng = np.random.default_rng(0)
    x = Tensor(rng.standard_normal((2, 3, 5, 5)))       # the input batch: no gradient
    w = Tensor(rng.standard_normal((4, 3, 3, 3)), requires_grad=True)

    def no_col2im(*args, **kwargs):
        raise AssertionError("col2im ran although the input needs no gradient")

    monkeypatch.setattr(conv, "col2im", no_col2im)
    conv2d(x, w, padding=1).sum().backward()
    expected = t(w.data, requires_grad=True)
    F.conv2d(t(x.data), expected, padding=1).sum().backward()
    np.testing.assert_allclose(w.grad, expected.grad.numpy(), rtol=1e-12)
    assert x.grad is None


def test_float32_stays_float32():
    rng = np.random.default_rng(0)
    x = Tensor(rng.standard_normal((2, 4, 6, 6)).astype(np.float32), requires_grad=True)
    w = Tensor(rng.standard_normal((6, 2, 3, 3)).astype(np.float32), requires_grad=True)
    b = Tensor(rng.standard_normal(6).astype(np.float32), requires_grad=True)
    out = max_pool2d(conv2d(x, w, b, padding=1, groups=2), 2)
    out = avg_pool2d(out, 3, 1).leaky_relu().gelu()
    assert out.data.dtype == np.float32
    out.sum().backward()
    assert {x.grad.dtype, w.grad.dtype, b.grad.dtype} == {np.dtype(np.float32)}
    assert im2col(x.data, 3).dtype == np.float32
    assert col2im(im2col(x.data, 3), x.shape, 3).dtype == np.float32
    # Parameters are created in float64; loaded as float32, the whole network runs in it.
    model = nn.Sequential(nn.Conv2d(4, 3, 3, rng=0), nn.BatchNorm2d(3), nn.MaxPool2d(2),
                          nn.Flatten())
    model.load_state_dict({name: value.astype(np.float32)
                           for name, value in model.state_dict().items()})
    for mode in (True, False):
        assert model.train(mode)(x).data.dtype == np.float32


def test_backward_of_cross_correlation_is_full_correlation_with_flipped_kernel():
    # For stride 1: dx = conv2d(dout, weight flipped in space and with its channel axes
    # swapped, padding K - 1 - p), the identity the assignment derives.
    rng = np.random.default_rng(0)
    x = Tensor(rng.standard_normal((2, 3, 6, 6)), requires_grad=True)
    w = rng.standard_normal((4, 3, 3, 3))
    out = conv2d(x, w, padding=1)
    dout = rng.standard_normal(out.shape)
    out.backward(dout)
    flipped = w[:, :, ::-1, ::-1].transpose(1, 0, 2, 3)
    np.testing.assert_allclose(x.grad, conv2d(dout, flipped, padding=1).data, rtol=1e-12)


# ---------------------------------------------------------------- pooling


@pytest.mark.parametrize(("x_shape", "kernel_size", "stride"), [
    ((2, 3, 8, 8), 2, None), ((2, 2, 7, 5), 3, 1), ((1, 3, 6, 9), (2, 3), (1, 2)),
    ((3, 1, 5, 5), 5, None), ((2, 2, 9, 9), 2, 3),
])
def test_pooling_matches_torch_with_ties(x_shape, kernel_size, stride):
    rng = np.random.default_rng(0)
    # Few distinct values: most windows hold ties, overlapping windows share maxima.
    x = rng.integers(-2, 3, x_shape).astype(float)
    for ours, theirs in ((max_pool2d, F.max_pool2d), (avg_pool2d, F.avg_pool2d)):
        leaf = Tensor(x, requires_grad=True)
        out = ours(leaf, kernel_size, stride)
        upstream = rng.standard_normal(out.shape)
        out.backward(upstream)
        reference = t(x, requires_grad=True)
        expected = theirs(reference, kernel_size, stride)
        expected.backward(t(upstream))
        np.testing.assert_allclose(out.data, expected.detach().numpy(), rtol=1e-12)
        np.testing.assert_allclose(leaf.grad, reference.grad.numpy(), rtol=1e-12, atol=1e-15)


def test_max_pool_gives_a_tied_window_gradient_to_its_first_maximum():
    x = Tensor(np.array([[[[1.0, 3.0, 0.0, 0.0], [3.0, 3.0, 0.0, 0.0]]]]), requires_grad=True)
    out = max_pool2d(x, 2)
    np.testing.assert_array_equal(out.data, [[[[3.0, 0.0]]]])
    out.backward(np.array([[[[1.0, 2.0]]]]))
    np.testing.assert_array_equal(x.grad, [[[[0, 1, 2, 0], [0, 0, 0, 0]]]])


def test_overlapping_max_windows_add_their_gradients():
    # One large value in the middle of a 3x3 image is the maximum of all four 2x2 windows.
    x = Tensor(np.array([[[[0.0, 0, 0], [0, 5, 0], [0, 0, 0]]]]), requires_grad=True)
    max_pool2d(x, 2, 1).sum().backward()
    assert x.grad[0, 0, 1, 1] == 4 and x.grad.sum() == 4


# ---------------------------------------------------------------- modules


def test_conv2d_layer_initialization_is_torchs():
    layer = nn.Conv2d(6, 9, (3, 2), groups=3, rng=0)
    fan_in = 6 // 3 * 3 * 2
    assert layer.weight.shape == (9, 2, 3, 2) and layer.bias.shape == (9,)
    draws = np.concatenate([nn.Conv2d(6, 9, (3, 2), groups=3, rng=seed).weight.data.ravel()
                            for seed in range(200)])
    torch_draws = torch.cat([torch.nn.Conv2d(6, 9, (3, 2), groups=3).weight.detach().ravel()
                             for _ in range(200)])
    bound = 1 / math.sqrt(fan_in)
    assert np.abs(draws).max() <= bound and np.abs(draws).max() > 0.99 * bound
    assert draws.std() == pytest.approx(torch_draws.std().item(), rel=0.03)
    assert np.abs(layer.bias.data).max() <= bound
    assert np.array_equal(nn.Conv2d(3, 4, 3, rng=5).weight.data,
                          nn.Conv2d(3, 4, 3, rng=5).weight.data)
    assert nn.Conv2d(3, 4, 3, bias=False, rng=0).bias is None


def small_cnn(rng):
    return nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1, rng=rng), nn.BatchNorm2d(4), nn.LeakyReLU(0.1),
        nn.MaxPool2d(2), nn.Conv2d(4, 6, 3, padding=1, groups=2, rng=rng), nn.GELU(),
        nn.AvgPool2d(2), nn.Flatten(), nn.Linear(24, 3, rng=rng))


def torch_small_cnn():
    return torch.nn.Sequential(
        torch.nn.Conv2d(1, 4, 3, padding=1), torch.nn.BatchNorm2d(4), torch.nn.LeakyReLU(0.1),
        torch.nn.MaxPool2d(2), torch.nn.Conv2d(4, 6, 3, padding=1, groups=2),
        torch.nn.GELU(approximate="tanh"), torch.nn.AvgPool2d(2), torch.nn.Flatten(),
        torch.nn.Linear(24, 3))


def test_a_small_cnn_matches_torch_in_train_and_eval_mode():
    rng = np.random.default_rng(0)
    model, reference = small_cnn(rng), torch_small_cnn()
    state = model.state_dict()
    torch_state = reference.state_dict()
    assert set(state) == set(torch_state) - {"1.num_batches_tracked"}
    with torch.no_grad():
        for name, value in state.items():
            torch_state[name].copy_(t(value.T if name == "8.weight" else value))
    for mode in ("train", "train", "eval"):
        model.train(mode == "train")
        reference.train(mode == "train")
        x = rng.standard_normal((5, 1, 8, 8))
        leaf, reference_leaf = Tensor(x, requires_grad=True), t(x, requires_grad=True)
        out = model(leaf)
        upstream = rng.standard_normal(out.shape)
        model.zero_grad()
        reference.zero_grad()
        out.backward(upstream)
        expected = reference(reference_leaf)
        expected.backward(t(upstream))
        np.testing.assert_allclose(out.data, expected.detach().numpy(), rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(leaf.grad, reference_leaf.grad.numpy(), rtol=1e-9,
                                   atol=1e-12)
        for name, parameter in model.named_parameters():
            ours = parameter.grad.T if name == "8.weight" else parameter.grad
            np.testing.assert_allclose(ours, reference.get_parameter(name).grad.numpy(),
                                       rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(model[1].running_mean, reference[1].running_mean.numpy(),
                                   rtol=1e-12)
        np.testing.assert_allclose(model[1].running_var, reference[1].running_var.numpy(),
                                   rtol=1e-12)


def test_batchnorm2d_normalizes_each_channel_over_batch_and_positions():
    rng = np.random.default_rng(0)
    x = 3.0 + 2.0 * rng.standard_normal((4, 3, 5, 5))
    bn = nn.BatchNorm2d(3, momentum=1.0)
    out = bn(x).data
    np.testing.assert_allclose(out.mean(axis=(0, 2, 3)), 0.0, atol=1e-12)
    np.testing.assert_allclose(out.var(axis=(0, 2, 3)), 1.0, rtol=1e-4)
    # momentum 1: the running statistics are this batch's, the variance unbiased over
    # the N * H * W = 100 values of each channel.
    np.testing.assert_allclose(bn.running_mean, x.mean(axis=(0, 2, 3)), rtol=1e-12)
    np.testing.assert_allclose(bn.running_var, x.var(axis=(0, 2, 3), ddof=1), rtol=1e-12)
    bn.eval()
    one_pixel = np.full((1, 3, 1, 1), 2.0)
    expected = (2.0 - bn.running_mean) / np.sqrt(bn.running_var + 1e-5)
    np.testing.assert_allclose(bn(one_pixel).data.ravel(), expected, rtol=1e-12)


@pytest.mark.parametrize("approximate", ["tanh", "none"])
def test_gelu_matches_torch(approximate):
    x = np.concatenate([np.linspace(-6, 6, 41), [0.0, -0.75, 30.0, -30.0]])
    for make in (lambda v: v.gelu(approximate), nn.GELU(approximate)):
        leaf, reference = Tensor(x, requires_grad=True), t(x, requires_grad=True)
        out = make(leaf)
        out.sum().backward()
        expected = F.gelu(reference, approximate=approximate)
        expected.sum().backward()
        np.testing.assert_allclose(out.data, expected.detach().numpy(), rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(leaf.grad, reference.grad.numpy(), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("slope", [0.01, 0.2, 1.5, -0.3])
def test_leaky_relu_matches_torch_at_zero_too(slope):
    x = np.array([-2.0, -1e-8, 0.0, 1e-8, 3.0])
    for make in (lambda v: v.leaky_relu(slope), nn.LeakyReLU(slope)):
        leaf, reference = Tensor(x, requires_grad=True), t(x, requires_grad=True)
        out = make(leaf)
        out.sum().backward()
        expected = F.leaky_relu(reference, slope)
        expected.sum().backward()
        np.testing.assert_array_equal(out.data, expected.detach().numpy())
        np.testing.assert_array_equal(leaf.grad, reference.grad.numpy())
    assert nn.LeakyReLU().negative_slope == 0.01 and nn.GELU().approximate == "tanh"


def test_flatten_keeps_the_batch_axis():
    assert nn.Flatten()(np.zeros((3, 2, 4, 5))).shape == (3, 40)
    assert nn.Flatten()(np.zeros((0, 2, 4))).shape == (0, 8)
    assert nn.Flatten()(np.zeros((3, 7))).shape == (3, 7)


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize(("call", "message"), [
    (lambda: conv2d(np.zeros((3, 8, 8)), np.zeros((2, 3, 3, 3))),
     r"x must be a batch of images of shape \(N, C, H, W\).*reshape\(1"),
    (lambda: conv2d(np.zeros((1, 3, 8, 8)), np.zeros((2, 3, 3))), "weight must have shape"),
    (lambda: conv2d(np.zeros((1, 3, 8, 8)), np.zeros((2, 2, 3, 3))),
     "x has 3 channels, so with groups=1 weight must have 3 input channels"),
    (lambda: conv2d(np.zeros((1, 4, 8, 8)), np.zeros((3, 2, 3, 3)), groups=2),
     r"groups=2 must divide both the input channels \(4\) and the output channels \(3\)"),
    (lambda: conv2d(np.zeros((1, 3, 8, 8)), np.zeros((3, 1, 3, 3)), groups=0),
     "groups must be an integer >= 1"),
    (lambda: conv2d(np.zeros((1, 1, 4, 4)), np.zeros((1, 1, 7, 7)), padding=1),
     r"kernel \(7, 7\) is larger than the padded input \(6, 6\)"),
    (lambda: conv2d(np.zeros((1, 1, 4, 4)), np.zeros((1, 1, 3, 3)), stride=0),
     "stride must be an int >= 1"),
    (lambda: conv2d(np.zeros((1, 1, 4, 4)), np.zeros((1, 1, 3, 3)), padding=-1),
     "padding must be an int >= 0"),
    (lambda: conv2d(np.zeros((1, 1, 4, 4)), np.zeros((2, 1, 3, 3)), np.zeros(3)),
     r"bias must have shape \(2,\)"),
    (lambda: conv2d(np.zeros((1, 0, 4, 4)), np.zeros((2, 0, 3, 3))), "at least one channel"),
    (lambda: im2col(np.zeros((1, 1, 4, 4)), (2, 2, 2)), "kernel_size must be an int >= 1"),
    (lambda: col2im(np.zeros((9, 5)), (1, 1, 4, 4), 3),
     r"cols must have shape .* \(9, 4\) .* got \(9, 5\)"),
    (lambda: max_pool2d(np.zeros((1, 1, 3, 3)), 4), "larger than the padded input"),
    (lambda: avg_pool2d(np.zeros((4, 4)), 2), "batch of images"),
    (lambda: nn.Conv2d(4, 6, 3, groups=4), "groups=4 must divide both"),
    (lambda: nn.Conv2d(3, 4, 3)(np.zeros((1, 2, 5, 5))), r"needs inputs of shape \(N, 3, H, W\)"),
    (lambda: nn.BatchNorm2d(3)(np.zeros((2, 3, 4))), r"needs inputs of shape \(N, 3, H, W\)"),
    (lambda: nn.BatchNorm2d(3)(np.zeros((1, 3, 1, 1))), "more than 1 value per channel"),
    (lambda: nn.GELU("erf"), "approximate must be one of 'tanh', 'none'"),
    (lambda: Tensor([1.0]).gelu("exact"), "approximate must be one of"),
    (lambda: nn.LeakyReLU(float("nan")), "negative_slope must be a finite number"),
    (lambda: Tensor([1.0]).leaky_relu("0.1"), "negative_slope must be a finite number"),
    (lambda: nn.Flatten()(np.zeros(3)), "at least 2 dimensions"),
    (lambda: nn.MaxPool2d(0), "kernel_size must be an int >= 1"),
])
def test_bad_input_raises_a_value_error_naming_the_problem(call, message):
    with pytest.raises(ValueError, match=message):
        call()
