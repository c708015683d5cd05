"""The common mistakes of a6_cnn, each as a patch of a reference module (``conv.py`` unless
named; see ``autograder.mistakes``). A part names a mistake only when the student's answer
is the one the patched reference gives."""
from autograder.mistakes import Catalogue

MISTAKES = Catalogue("a6_cnn", module="conv.py")
add = MISTAKES.add

# Two causes of a wrong output size give the same answer on some inputs: one explanation.
OUTPUT_SIZE = ("the output has the wrong size: a kernel fits (H + 2 * padding - KH) // stride + 1 "
               "times down, and likewise across: the padding widens the image, and the last "
               "window ends exactly at the padded edge")

# ---------------------------------------------------------------- im2col and col2im

add("padding on every axis", "im2col.value",
    "the padding went onto the batch and channel axes too: pad only the two spatial axes, "
    "np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))", """
    _right_im2col = im2col
    def im2col(x, kernel_size, stride=1, padding=0):
        return _right_im2col(np.pad(as_float(x), padding), kernel_size, stride, 0)
    """)

add("im2col one window too few", "im2col.value",
    "the last window of each row and column is missing: a kernel fits "
    "(H + 2 * padding - KH) // stride + 1 times, the last one ending exactly at the padded "
    "edge (range(0, H + 2p - KH + 1, stride), not range(0, H + 2p - KH, stride))", """
    _right_im2col = im2col
    def im2col(x, kernel_size, stride=1, padding=0):
        x = as_float(x)
        (oh, ow) = sliding_windows(x.shape, kernel_size, stride, padding).out
        cols = _right_im2col(x, kernel_size, stride, padding)
        cols = cols.reshape(cols.shape[0], oh, ow, x.shape[0])[:, :oh - 1, :ow - 1]
        return cols.reshape(cols.shape[0], -1)
    """)

add("col2im overwrites", "col2im.adjoint",
    "overlapping windows overwrite each other: a pixel that lies in several windows must "
    "receive the sum of their entries, so add (+=) each window onto the image", """
    def col2im(cols, x_shape, kernel_size, stride=1, padding=0):
        cols = as_float(cols)
        n, c, height, width = x_shape
        (kh, kw), (sh, sw), (ph, pw), (oh, ow) = sliding_windows(x_shape, kernel_size, stride,
                                                                 padding)
        blocks = cols.reshape(c, kh, kw, oh, ow, n)
        padded = np.zeros((c, height + 2 * ph, width + 2 * pw, n))
        for u in range(kh):
            for v in range(kw):
                padded[:, u:u + sh * (oh - 1) + 1:sh, v:v + sw * (ow - 1) + 1:sw] = blocks[:, u, v]
        return padded[:, ph:ph + height, pw:pw + width].transpose(3, 0, 1, 2)
    """)

add("col2im assigns window by window", "col2im.adjoint",
    "overlapping windows overwrite each other: a pixel that lies in several windows must "
    "receive the sum of their entries, so add (+=) each window onto the image", """
    def col2im(cols, x_shape, kernel_size, stride=1, padding=0):
        n, c, height, width = x_shape
        (kh, kw), (sh, sw), (ph, pw), (oh, ow) = sliding_windows(
            x_shape, kernel_size, stride, padding)
        blocks = np.asarray(cols, dtype=float).reshape(c, kh, kw, oh, ow, n)
        padded = np.zeros((n, c, height + 2 * ph, width + 2 * pw))
        for i in range(oh):
            for j in range(ow):
                window = blocks[:, :, :, i, j, :].transpose(3, 0, 1, 2)
                padded[:, :, i * sh:i * sh + kh, j * sw:j * sw + kw] = window
        return padded[:, :, ph:ph + height, pw:pw + width]
    """)

# ---------------------------------------------------------------- conv2d

add("kernel flipped", "conv2d.forward",
    "the kernel is flipped: conv2d computes a cross-correlation, as PyTorch, "
    "out[n, o, i, j] = sum of weight[o, c, u, v] * x[n, c, i + u, j + v], with the filter "
    "as it is", """
    _right_conv2d = conv2d
    def conv2d(x, weight, bias=None, stride=1, padding=0, groups=1):
        return _right_conv2d(x, _as_tensor(weight)[:, :, ::-1, ::-1], bias, stride, padding,
                             groups)
    """)

add("output size without the padding", "conv2d.stride_padding", OUTPUT_SIZE, """
    _right_conv2d = conv2d
    def conv2d(x, weight, bias=None, stride=1, padding=0, groups=1):
        out = _right_conv2d(x, weight, bias, stride, padding, groups)
        (kh, kw), (sh, sw) = np.shape(weight)[2:], sliding_windows(
            np.shape(x), np.shape(weight)[2:], stride, padding).stride
        height, width = np.shape(x)[2:]
        return out[:, :, :(height - kh) // sh + 1, :(width - kw) // sw + 1]
    """)

add("conv2d one window too few", "conv2d.stride_padding", OUTPUT_SIZE, """
    _right_conv2d = conv2d
    def conv2d(x, weight, bias=None, stride=1, padding=0, groups=1):
        return _right_conv2d(x, weight, bias, stride, padding, groups)[:, :, :-1, :-1]
    """)

add("every group reads the first channels", "conv2d.groups",
    "every group of filters convolved the first group's channels: filter group g must see "
    "only input channels g * C / groups to (g + 1) * C / groups - 1", """
    _right_conv2d = conv2d
    def conv2d(x, weight, bias=None, stride=1, padding=0, groups=1):
        x = _as_tensor(x)
        per_group = x.shape[1] // groups
        first_block = np.tile(np.arange(per_group), groups)
        return _right_conv2d(x[:, first_block], weight, bias, stride, padding, groups)
    """)

# ---------------------------------------------------------------- pooling

add("pooling stride of 1 by default", "max_pool2d.forward",
    "stride=None means stride = kernel_size (windows side by side, as PyTorch), not 1", """
    def _pooling_windows(x, kernel_size, stride):
        return sliding_windows(x.shape, kernel_size, 1 if stride is None else stride, 0)
    """)

add("max-pool gradient to the whole window", "max_pool2d.gradient",
    "the gradient went to every entry of each window: a maximum routes all of its "
    "window's gradient to the one entry that was the maximum (the first one when several "
    "tie, as PyTorch)", """
    def _gradient_to_every_entry(self, out_grad, out, a):
        size = self.windows.kernel[0] * self.windows.kernel[1]
        dcols = np.broadcast_to(channel_rows(out_grad), (size, out_grad.size))
        return channel_gradient(dcols, a.shape, self.windows)
    MaxPooling.gradient_a = _gradient_to_every_entry
    """)

add("max-pool gradient shared among ties", "max_pool2d.gradient",
    "the gradient of a window with tied maxima was shared among them: max pooling sends it "
    "all to the first maximum of the window, as PyTorch (unlike Tensor.max)", """
    def _gradient_shared(self, out_grad, out, a):
        cols = channel_columns(a, self.windows)
        is_max = cols == cols.max(axis=0, keepdims=True)
        dcols = is_max * channel_rows(out_grad) / is_max.sum(axis=0, keepdims=True)
        return channel_gradient(dcols, a.shape, self.windows)
    MaxPooling.gradient_a = _gradient_shared
    """)

add("avg-pool gradient not divided", "avg_pool2d.forward_gradient",
    "each entry of a window must receive the window's gradient divided by the window's "
    "size KH * KW, since the mean divides by it", """
    def _gradient_not_divided(self, out_grad, out, a):
        size = self.windows.kernel[0] * self.windows.kernel[1]
        dcols = np.broadcast_to(channel_rows(out_grad), (size, out_grad.size))
        return channel_gradient(dcols, a.shape, self.windows)
    AveragePooling.gradient_a = _gradient_not_divided
    """)

# ---------------------------------------------------------------- modules

add("Conv2d fan_in without the kernel", "Conv2d.init",
    "fan_in must count every input one output unit sees: in_channels / groups * KH * KW, "
    "the kernel's pixels included", """
    _right_conv2d_init = Conv2d.__init__
    def _init_without_kernel(self, in_channels, out_channels, kernel_size, stride=1,
                             padding=0, groups=1, bias=True, rng=None):
        _right_conv2d_init(self, in_channels, out_channels, kernel_size, stride, padding,
                           groups, bias, rng)
        scale = math.sqrt(self.kernel_size[0] * self.kernel_size[1])
        self.weight.data = self.weight.data * scale
        if self.bias is not None:
            self.bias.data = self.bias.data * scale
    Conv2d.__init__ = _init_without_kernel
    """, module="nn.py")

add("Conv2d fan_in without the groups", "Conv2d.init",
    "fan_in counts only the in_channels / groups channels one filter sees, not all of "
    "in_channels", """
    _right_conv2d_init = Conv2d.__init__
    def _init_with_every_channel(self, in_channels, out_channels, kernel_size, stride=1,
                                 padding=0, groups=1, bias=True, rng=None):
        _right_conv2d_init(self, in_channels, out_channels, kernel_size, stride, padding,
                           groups, bias, rng)
        scale = 1 / math.sqrt(self.groups)
        self.weight.data = self.weight.data * scale
        if self.bias is not None:
            self.bias.data = self.bias.data * scale
    Conv2d.__init__ = _init_with_every_channel
    """, module="nn.py")

add("BatchNorm2d statistics per sample", "BatchNorm2d.train",
    "the statistics were taken per sample: BatchNorm2d takes each channel's mean and "
    "variance over the batch and every position, axes (0, 2, 3)", """
    def _normalize_each_sample(self, x):
        x = as_tensor(x)
        n, c, height, width = x.shape
        rows = x.transpose(1, 0, 2, 3).reshape(c, n, height * width)
        mean = rows.mean(axis=2, keepdims=True)
        var = ((rows - mean) ** 2).mean(axis=2, keepdims=True)
        x_hat = ((rows - mean) / (var + self.eps) ** 0.5).reshape(c, n, height, width)
        x_hat = x_hat.transpose(1, 0, 2, 3)
        return x_hat * self.weight.reshape(1, c, 1, 1) + self.bias.reshape(1, c, 1, 1)
    BatchNorm2d.forward = _normalize_each_sample
    """, module="nn.py")

add("BatchNorm2d statistics per position", "BatchNorm2d.train",
    "the statistics were taken at each position separately (over the batch only): "
    "BatchNorm2d takes each channel's mean and variance over the batch and every position, "
    "axes (0, 2, 3)", """
    def _normalize_each_position(self, x):
        x = as_tensor(x)
        mean = x.mean(axis=0, keepdims=True)
        var = ((x - mean) ** 2).mean(axis=0, keepdims=True)
        c = x.shape[1]
        return ((x - mean) / (var + self.eps) ** 0.5) * self.weight.reshape(1, c, 1, 1) \\
            + self.bias.reshape(1, c, 1, 1)
    BatchNorm2d.forward = _normalize_each_position
    """, module="nn.py")

add("BatchNorm2d evaluates with batch statistics", "BatchNorm2d.eval",
    "in eval mode BatchNorm2d must normalize with running_mean and running_var, not with "
    "the statistics of the batch", """
    _right_batchnorm2d_forward = BatchNorm2d.forward
    def _always_training(self, x):
        training, self.training = self.training, True
        saved = self.running_mean.copy(), self.running_var.copy()
        try:
            return _right_batchnorm2d_forward(self, x)
        finally:
            self.training = training
            self.running_mean[...], self.running_var[...] = saved
    BatchNorm2d.forward = _always_training
    """, module="nn.py")

add("GELU exact instead of tanh", "GELU.value_gradient",
    'that is the exact GELU, x * Phi(x) with the error function; approximate="tanh" asks '
    "for 0.5 * x * (1 + tanh(sqrt(2 / pi) * (x + 0.044715 x^3)))", """
    GELU.__init__ = lambda self, approximate: setattr(self, "approximate", "none")
    """, module="autograd.py")

add("LeakyReLU gradient 1 at zero", "LeakyReLU.value_gradient",
    "at exactly x == 0 the gradient is negative_slope, as PyTorch: the slope 1 is for "
    "x > 0 only", """
    LeakyReLU.gradient_a = lambda self, out_grad, out, a: np.where(
        a >= 0, out_grad, self.negative_slope * out_grad)
    """, module="autograd.py")

add("Flatten flattens the batch too", "Flatten.shape",
    "Flatten keeps the batch axis: (N, C, H, W) becomes (N, C * H * W), x.reshape(N, -1)", """
    Flatten.forward = lambda self, x: as_tensor(x).reshape(-1)
    """, module="nn.py")
