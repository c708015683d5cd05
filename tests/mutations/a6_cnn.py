"""Held-out wrong code and correct alternatives for a6_cnn (see tests/test_mutations.py).

A held-out bug is realistic wrong code written apart from the catalogue of mistakes; its
"explanation" is the text the part's message must contain.
"""
from autograder.mistakes import Catalogue

HELD_OUT = Catalogue("a6_cnn", module="conv.py")

HELD_OUT.add(
    "filters flipped inside the product", "conv2d.forward", "the kernel is flipped", """
        _right_compute = Convolution.compute
        def _flipped_compute(self, x, weight):
            return _right_compute(self, x, np.ascontiguousarray(weight[:, :, ::-1, ::-1]))
        Convolution.compute = _flipped_compute
        """)

HELD_OUT.add(
    "weight gradient of the first image only", "conv2d.gradient",
    "the gradient of weight in conv2d", """
        _right_gradient_b = Convolution.gradient_b
        def _first_image_only(self, out_grad, out, x, weight):
            kept = np.zeros_like(out_grad)
            kept[0] = out_grad[0]
            return _right_gradient_b(self, kept, out, x, weight)
        Convolution.gradient_b = _first_image_only
        """)

HELD_OUT.add(
    "conv2d always adds a bias", "conv2d.edge_cases", "your code raised", """
        _right_conv2d = conv2d
        def conv2d(x, weight, bias=None, stride=1, padding=0, groups=1):
            out = _right_conv2d(x, weight, None, stride, padding, groups)
            return out + _as_tensor(bias).reshape(1, -1, 1, 1)
        """)

HELD_OUT.add(
    "BatchNorm2d normalizes with the unbiased variance", "BatchNorm2d.train",
    "the output is wrong", """
        def _unbiased(self, x):
            x = as_tensor(x)
            c = x.shape[1]
            mean = x.mean(axis=(0, 2, 3), keepdims=True)
            count = x.shape[0] * x.shape[2] * x.shape[3]
            var = ((x - mean) ** 2).sum(axis=(0, 2, 3), keepdims=True) / (count - 1)
            return (x - mean) / (var + self.eps) ** 0.5 * self.weight.reshape(1, c, 1, 1) \\
                + self.bias.reshape(1, c, 1, 1)
        BatchNorm2d.forward = _unbiased
        """, module="nn.py")

HELD_OUT.add(
    "average pooling divides by the stride", "avg_pool2d.forward_gradient", "is wrong", """
        def _mean_over_stride(self, a):
            cols = channel_columns(a, self.windows)
            return channel_images(cols.sum(axis=0, keepdims=True)
                                  / (self.windows.stride[0] * self.windows.stride[1]),
                                  a.shape, self.windows)
        AveragePooling.compute = _mean_over_stride
        """)

HELD_OUT.add(
    "cnn that never learns", "cnn.accuracy", "test accuracy", """
        def _frozen_step(self):
            pass
        import minidl.optim
        minidl.optim.Adam.step = _frozen_step
        """)

# ---------------------------------------------------------------- correct alternatives

# Convolution without im2col: every window read as a view, one einsum per group.
DIRECT_CONVOLUTION = """
def _windows_of(x, windows):
    (kh, kw), (sh, sw), (ph, pw), _ = windows
    padded = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    view = np.lib.stride_tricks.sliding_window_view(padded, (kh, kw), axis=(2, 3))
    return view[:, :, ::sh, ::sw]  # (N, C, OH, OW, KH, KW)

def _direct_compute(self, x, weight):
    per_in, per_out = x.shape[1] // self.groups, weight.shape[0] // self.groups
    view = _windows_of(x, self.windows)
    return np.concatenate([
        np.einsum("nchwuv,ocuv->nohw", view[:, g * per_in:(g + 1) * per_in],
                  weight[g * per_out:(g + 1) * per_out])
        for g in range(self.groups)], axis=1)

def _direct_gradient_x(self, out_grad, out, x, weight):
    (kh, kw), (sh, sw), (ph, pw), (oh, ow) = self.windows
    per_in, per_out = x.shape[1] // self.groups, weight.shape[0] // self.groups
    padded = np.zeros((x.shape[0], x.shape[1], x.shape[2] + 2 * ph, x.shape[3] + 2 * pw))
    for g in range(self.groups):
        grad = out_grad[:, g * per_out:(g + 1) * per_out]
        filters = weight[g * per_out:(g + 1) * per_out]
        for u in range(kh):
            for v in range(kw):
                padded[:, g * per_in:(g + 1) * per_in,
                       u:u + sh * (oh - 1) + 1:sh, v:v + sw * (ow - 1) + 1:sw] += np.einsum(
                    "nohw,oc->nchw", grad, filters[:, :, u, v])
    return padded[:, :, ph:ph + x.shape[2], pw:pw + x.shape[3]]

def _direct_gradient_weight(self, out_grad, out, x, weight):
    per_in, per_out = x.shape[1] // self.groups, weight.shape[0] // self.groups
    view = _windows_of(x, self.windows)
    return np.concatenate([
        np.einsum("nohw,nchwuv->ocuv", out_grad[:, g * per_out:(g + 1) * per_out],
                  view[:, g * per_in:(g + 1) * per_in])
        for g in range(self.groups)], axis=0)

Convolution.compute = _direct_compute
Convolution.gradient_a = _direct_gradient_x
Convolution.gradient_b = _direct_gradient_weight
"""

# im2col, col2im and pooling with plain loops over the windows.
LOOPS = """
def im2col(x, kernel_size, stride=1, padding=0):
    x = as_float(x)
    (kh, kw), (sh, sw), (ph, pw), (oh, ow) = sliding_windows(x.shape, kernel_size, stride,
                                                             padding)
    n, c = x.shape[:2]
    padded = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    cols = np.empty((c * kh * kw, oh * ow * n), dtype=x.dtype)
    for i in range(oh):
        for j in range(ow):
            for image in range(n):
                window = padded[image, :, i * sh:i * sh + kh, j * sw:j * sw + kw]
                cols[:, (i * ow + j) * n + image] = window.ravel()
    return cols

def col2im(cols, x_shape, kernel_size, stride=1, padding=0):
    n, c, height, width = x_shape
    (kh, kw), (sh, sw), (ph, pw), (oh, ow) = sliding_windows(x_shape, kernel_size, stride,
                                                             padding)
    padded = np.zeros((n, c, height + 2 * ph, width + 2 * pw), dtype=np.asarray(cols).dtype)
    for i in range(oh):
        for j in range(ow):
            for image in range(n):
                column = cols[:, (i * ow + j) * n + image].reshape(c, kh, kw)
                padded[image, :, i * sh:i * sh + kh, j * sw:j * sw + kw] += column
    return padded[:, :, ph:ph + height, pw:pw + width]

def _pool_windows(a, windows):
    (kh, kw), (sh, sw), _, (oh, ow) = windows
    for i in range(oh):
        for j in range(ow):
            yield i, j, (slice(i * sh, i * sh + kh), slice(j * sw, j * sw + kw))

def _max_compute(self, a):
    out = np.empty((*a.shape[:2], *self.windows.out), dtype=a.dtype)
    for i, j, (rows, columns) in _pool_windows(a, self.windows):
        out[:, :, i, j] = a[:, :, rows, columns].max(axis=(2, 3))
    return out

def _max_gradient(self, out_grad, out, a):
    grad = np.zeros_like(a)
    kw = self.windows.kernel[1]
    for i, j, (rows, columns) in _pool_windows(a, self.windows):
        window = a[:, :, rows, columns]
        first = window.reshape(*window.shape[:2], -1).argmax(axis=2)
        for n in range(a.shape[0]):
            for c in range(a.shape[1]):
                u, v = divmod(int(first[n, c]), kw)
                grad[n, c, rows.start + u, columns.start + v] += out_grad[n, c, i, j]
    return grad

def _avg_compute(self, a):
    out = np.empty((*a.shape[:2], *self.windows.out), dtype=a.dtype)
    for i, j, (rows, columns) in _pool_windows(a, self.windows):
        out[:, :, i, j] = a[:, :, rows, columns].mean(axis=(2, 3))
    return out

def _avg_gradient(self, out_grad, out, a):
    grad = np.zeros_like(a)
    size = self.windows.kernel[0] * self.windows.kernel[1]
    for i, j, (rows, columns) in _pool_windows(a, self.windows):
        grad[:, :, rows, columns] += out_grad[:, :, i, j][:, :, None, None] / size
    return grad

MaxPooling.compute, MaxPooling.gradient_a = _max_compute, _max_gradient
AveragePooling.compute, AveragePooling.gradient_a = _avg_compute, _avg_gradient
"""

ALTERNATIVES = {"direct convolution": {"conv.py": DIRECT_CONVOLUTION},
                "loops": {"conv.py": LOOPS}}
