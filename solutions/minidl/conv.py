"""Convolution and pooling as operations of the autodiff engine, built on im2col.

Layout NCHW, as PyTorch: a batch of images is ``(N, C, H, W)`` and a convolution's filters
are ``(C_out, C_in / groups, KH, KW)``. Like every deep-learning library, ``conv2d``
computes a **cross-correlation**: the filter is slid over the image as it is, not flipped.

How it fits together:

- ``im2col`` copies every ``C x KH x KW`` window of a (zero-padded) batch into one column of
  a matrix, the windows of every image side by side. A convolution is then **one matrix
  product**, filters times columns, the operation that numpy (BLAS) runs fastest.
- ``col2im`` goes back: it adds every column's entries onto the pixels they were copied
  from. A pixel that lies in several windows receives the **sum** of their entries, so
  ``col2im`` is the adjoint (the transpose) of ``im2col``, which makes it the backward pass
  of ``im2col``.
- ``conv2d``, ``max_pool2d`` and ``avg_pool2d`` are operations (subclasses of
  ``autograd.Op``), with their gradient rules next to their forward computation. Pooling is
  im2col on every channel separately, followed by a maximum or a mean down each column.

Window geometry: a kernel of size ``K`` sliding with stride ``s`` over a side of ``H`` pixels
padded by ``p`` zeros at both ends fits ``(H + 2p - K) // s + 1`` times. ``kernel_size``,
``stride`` and ``padding`` are each an int or a pair (height, width).

PyTorch equivalents: ``F.unfold`` / ``F.fold`` (im2col / col2im, in their own layout, see
``im2col``), ``F.conv2d``, ``F.max_pool2d``, ``F.avg_pool2d``.
"""
import numpy as np

from minidl._validate import (
    as_float,
    columns_shape,
    convolution_groups,
    images_shape,
    one_per_output_channel,
    sliding_windows,
)
from minidl.autograd import Op, _as_tensor

__all__ = ["im2col", "col2im", "conv2d", "max_pool2d", "avg_pool2d"]


# ---------------------------------------------------------------- im2col and col2im


def batch_last(images, padding=(0, 0)):
    """Images (N, C, H, W) as a C-contiguous array (C, H + 2 PH, W + 2 PW, N): the batch
    axis last, each image padded with ``padding = (PH, PW)`` zeros on every side.

    The copy goes eight images at a time: a plain copy of ``images.transpose(1, 2, 3, 0)``
    reads ``images`` with a long stride at every step, and blocks of eight keep what it reads
    in the cache, which is about three times faster. Images already in this layout (the
    output of ``conv2d``) without padding cost nothing.
    """
    moved = images.transpose(1, 2, 3, 0)
    (ph, pw), (height, width) = padding, images.shape[2:]
    if moved.flags.c_contiguous and padding == (0, 0):
        return moved
    out = np.zeros((images.shape[1], height + 2 * ph, width + 2 * pw, images.shape[0]),
                   dtype=images.dtype)
    for start in range(0, images.shape[0], 8):
        out[:, ph:ph + height, pw:pw + width, start:start + 8] = moved[..., start:start + 8]
    return out


def im2col(x, kernel_size, stride=1, padding=0):
    """The windows of a batch of images as the columns of one matrix.

    ``x`` of shape (N, C, H, W) is padded with ``padding`` zeros on every side; a
    ``KH x KW`` window slides over it with ``stride``, stopping at ``OH x OW`` positions.
    The result ``cols`` has shape ``(C * KH * KW, OH * OW * N)``:

    - **column** ``(i * OW + j) * N + n`` holds the window of image ``n`` whose top-left
      corner is at ``(i * SH, j * SW)`` in the padded image: position by position, and at
      each position the N images side by side;
    - **row** ``(c * KH + u) * KW + v`` holds that window's pixel at offset ``(u, v)`` in
      channel ``c``: the order of ``weight.reshape(C_out, -1)`` for filters of shape
      (C_out, C, KH, KW), so that ``weight.reshape(C_out, -1) @ cols`` is the convolution
      of the whole batch in one product.

    Vectorize: pad the batch with its batch axis last (``batch_last``, given), then
    ``np.lib.stride_tricks.sliding_window_view`` gives every window as a view, without
    copying; slice it with the stride, put its axes in the order (c, u, v, i, j, n) and
    reshape, which makes the one copy. (With the batch axis last, that copy reads long
    contiguous runs of memory: about twice as fast as from the (N, C, H, W) layout.)

    PyTorch: ``F.unfold(x, kernel_size, padding=padding, stride=stride)`` gives one matrix
    per image, of shape (N, C * KH * KW, OH * OW); ours is
    ``unfold.permute(1, 2, 0).reshape(C * KH * KW, -1)``.
    """
    x = as_float(x)
    windows = sliding_windows(x.shape, kernel_size, stride, padding)
    ### BEGIN SOLUTION
    (kh, kw), (sh, sw), padding, _ = windows
    channels = x.shape[1]
    padded = batch_last(x, padding)  # (C, H + 2 PH, W + 2 PW, N)
    # (C, OH, OW, N, KH, KW): the window at every position, then every stride-th one
    views = np.lib.stride_tricks.sliding_window_view(padded, (kh, kw), axis=(1, 2))
    views = views[:, ::sh, ::sw]
    return views.transpose(0, 4, 5, 1, 2, 3).reshape(channels * kh * kw, -1)
    ### END SOLUTION


def col2im(cols, x_shape, kernel_size, stride=1, padding=0):
    """The adjoint of ``im2col``: add every entry of ``cols`` onto the pixel it came from.

    ``cols`` has the shape that ``im2col`` gives for images of shape ``x_shape``
    (N, C, H, W) with the same ``kernel_size``, ``stride`` and ``padding``; the result has
    shape ``x_shape``. A pixel that lies in several windows receives the **sum** of their
    entries (``col2im(im2col(x))`` is not ``x``: each pixel comes back multiplied by the
    number of windows that contain it), and entries that fall on the padding are dropped.

    Adjointness is what makes this the backward pass of ``im2col``: for every ``x`` and
    ``cols``, ``sum(im2col(x) * cols) == sum(x * col2im(cols))``.

    Vectorize with a loop over the ``KH * KW`` offsets ``(u, v)`` only: the entries of all
    windows at offset ``(u, v)`` land on a strided slice of the padded batch, which one
    ``+=`` updates at once (the windows at one offset never overlap).

    PyTorch: ``F.fold(cols_per_image, (H, W), kernel_size, padding=padding, stride=stride)``
    with the per-image layout of ``F.unfold`` (see ``im2col``).
    """
    cols = as_float(cols)
    n, c, height, width = images_shape("x_shape", x_shape)
    windows = sliding_windows(x_shape, kernel_size, stride, padding)
    (kh, kw), (sh, sw), (ph, pw), (oh, ow) = windows
    columns_shape(cols.shape, x_shape, windows)
    ### BEGIN SOLUTION
    blocks = cols.reshape(c, kh, kw, oh, ow, n)
    padded = np.zeros((c, height + 2 * ph, width + 2 * pw, n), dtype=cols.dtype)
    for u in range(kh):
        for v in range(kw):
            rows = slice(u, u + sh * (oh - 1) + 1, sh)
            columns = slice(v, v + sw * (ow - 1) + 1, sw)
            padded[:, rows, columns] += blocks[:, u, v]
    return padded[:, ph:ph + height, pw:pw + width].transpose(3, 0, 1, 2)
    ### END SOLUTION


# ---------------------------------------------------------------- convolution


def as_matrix(images):
    """Images (N, C, OH, OW) as the matrix (C, OH * OW * N): one row per channel, the
    columns in ``im2col``'s order. The output of a convolution, and its gradient, are
    this matrix in the product ``Z = W @ cols``."""
    return batch_last(images).reshape(images.shape[1], -1)


def as_images(matrix, n, out_size):
    """The inverse of ``as_matrix``: a (C, OH * OW * N) matrix as images (N, C, OH, OW)."""
    return matrix.reshape(matrix.shape[0], *out_size, n).transpose(3, 0, 1, 2)


class Convolution(Op):
    """Cross-correlation of images ``x`` (N, C, H, W) with filters ``weight``
    (C_out, C / groups, KH, KW), without bias (``conv2d`` adds it).

    With ``cols = im2col(x)`` of shape (C * KH * KW, OH * OW * N) and the filters as a matrix
    ``W = weight.reshape(C_out, -1)``, the output is one product, ``Z = W @ cols`` of shape
    (C_out, OH * OW * N), turned into images (N, C_out, OH, OW) by ``as_images``.

    **Groups.** The input channels are split into ``groups`` consecutive blocks and so are
    the filters; filter block ``g`` sees only channel block ``g``. Since ``im2col``'s rows
    are ordered channel first, the rows of channel block ``g`` are consecutive too:
    ``cols.reshape(groups, -1, cols.shape[1])`` splits them, ``weight.reshape(groups,
    C_out / groups, -1)`` splits the filters, and one batched ``@`` does every group.

    **Gradients.** ``Z = W @ cols`` is a matrix product, so with ``dZ`` the output's
    gradient as matrices of the same layout (``by_group``): ``dW = dZ @ cols.T`` and
    ``dcols = W.T @ dZ``, group by group; ``dcols`` goes back to the images with ``col2im``,
    the adjoint of ``im2col``. ``compute`` keeps ``cols`` on the operation (``self.cols``)
    for the weight's gradient.
    """

    def __init__(self, windows, groups):
        self.windows, self.groups = windows, groups

    def compute(self, x, weight):
        ### BEGIN SOLUTION
        self.cols = im2col(x, *self.windows[:3])
        out = self.filters(weight) @ self.cols.reshape(self.groups, -1, self.cols.shape[1])
        return as_images(out.reshape(weight.shape[0], -1), x.shape[0], self.windows.out)
        ### END SOLUTION

    def gradient_a(self, out_grad, out, x, weight):
        ### BEGIN SOLUTION
        dcols = np.swapaxes(self.filters(weight), 1, 2) @ self.by_group(out_grad)
        return col2im(dcols.reshape(-1, dcols.shape[2]), x.shape, *self.windows[:3])
        ### END SOLUTION

    def gradient_b(self, out_grad, out, x, weight):
        ### BEGIN SOLUTION
        columns = self.cols.reshape(self.groups, -1, self.cols.shape[1])
        return (self.by_group(out_grad) @ np.swapaxes(columns, 1, 2)).reshape(weight.shape)
        ### END SOLUTION

    def filters(self, weight):
        """The filters as one matrix per group: (groups, C_out / groups, C / groups * KH * KW)."""
        return weight.reshape(self.groups, weight.shape[0] // self.groups, -1)

    def by_group(self, out_grad):
        """The output's gradient (N, C_out, OH, OW) as one matrix per group, in the layout of
        ``Z``: (groups, C_out / groups, OH * OW * N)."""
        return as_matrix(out_grad).reshape(self.groups, out_grad.shape[1] // self.groups, -1)


def conv2d(x, weight, bias=None, stride=1, padding=0, groups=1):
    """2-D convolution (a cross-correlation, as PyTorch) of ``x`` (N, C, H, W) with
    ``weight`` (C_out, C / groups, KH, KW), plus ``bias`` (C_out,) on every output channel.

    Output channel ``o`` belongs to group ``g = o // (C_out / groups)`` and sees only the
    input channels ``g * C / groups`` to ``(g + 1) * C / groups - 1``; with ``xp`` the padded
    input and ``c`` counting the channels of that group,

        out[n, o, i, j] = bias[o] + sum over c, u, v of
                          weight[o, c, u, v] * xp[n, g * C / groups + c, i * SH + u, j * SW + v]

    The output has shape (N, C_out, OH, OW) with ``OH = (H + 2 * PH - KH) // SH + 1`` (and
    the same across). Tensors in (arrays are taken as constants), Tensor out; float32 stays
    float32. PyTorch: ``F.conv2d(x, weight, bias, stride, padding, groups=groups)``.
    """
    x, weight = _as_tensor(x), _as_tensor(weight)
    groups = convolution_groups(x.shape, weight.shape, groups)
    windows = sliding_windows(x.shape, weight.shape[2:], stride, padding)
    out = Convolution(windows, groups)(x, weight)
    if bias is None:
        return out
    bias = _as_tensor(bias)
    out_channels = one_per_output_channel("bias", bias.shape, weight.shape)
    return out + bias.reshape(1, out_channels, 1, 1)


# ---------------------------------------------------------------- pooling


def channel_columns(a, windows):
    """``im2col`` of every channel on its own: ``a`` (N, C, H, W) as N * C one-channel images,
    giving a matrix of shape (KH * KW, OH * OW * N * C) with one column per pooling window."""
    n, c, height, width = a.shape
    return im2col(a.reshape(n * c, 1, height, width), *windows[:3])


def channel_rows(images):
    """Pooled images (N, C, OH, OW), or their gradient, as one row (1, OH * OW * N * C) in
    the order of ``channel_columns``' columns."""
    n, c = images.shape[:2]
    return as_matrix(images.reshape(n * c, 1, *images.shape[2:]))


def channel_images(row, shape, windows):
    """The inverse of ``channel_rows``: one value per pooling window as images
    (N, C, OH, OW), for inputs of shape ``shape``."""
    n, c = shape[:2]
    return as_images(row, n * c, windows.out).reshape(n, c, *windows.out)


def channel_gradient(dcols, shape, windows):
    """``col2im`` back from ``channel_columns``' layout to images of shape (N, C, H, W)."""
    n, c, height, width = shape
    return col2im(dcols, (n * c, 1, height, width), *windows[:3]).reshape(shape)


class MaxPooling(Op):
    """Maximum of each window of each channel. The maximum *routes* its gradient: all of a
    window's gradient goes to the entry that was its maximum, and when several entries tie,
    to the **first** of them in row-major order, as PyTorch does (not shared, as
    ``Tensor.max`` shares it). Overlapping windows (stride < kernel) can route to the same
    pixel, which then receives the sum. ``compute`` keeps the row of each window's maximum
    in ``channel_columns`` (``self.argmax``) for the gradient."""

    def __init__(self, windows):
        self.windows = windows

    def compute(self, a):
        ### BEGIN SOLUTION
        cols = channel_columns(a, self.windows)
        self.argmax = cols.argmax(axis=0)[np.newaxis]  # the first maximum of each column
        return channel_images(np.take_along_axis(cols, self.argmax, axis=0), a.shape,
                              self.windows)
        ### END SOLUTION

    def gradient_a(self, out_grad, out, a):
        ### BEGIN SOLUTION
        size = self.windows.kernel[0] * self.windows.kernel[1]
        dcols = np.zeros((size, out_grad.size), dtype=a.dtype)
        np.put_along_axis(dcols, self.argmax, channel_rows(out_grad), axis=0)
        return channel_gradient(dcols, a.shape, self.windows)
        ### END SOLUTION


class AveragePooling(Op):
    """Mean of each window of each channel: every entry of a window receives the window's
    gradient divided by the window's size ``KH * KW`` (summed over overlapping windows)."""

    def __init__(self, windows):
        self.windows = windows

    def compute(self, a):
        ### BEGIN SOLUTION
        cols = channel_columns(a, self.windows)
        return channel_images(cols.mean(axis=0, keepdims=True), a.shape, self.windows)
        ### END SOLUTION

    def gradient_a(self, out_grad, out, a):
        ### BEGIN SOLUTION
        size = self.windows.kernel[0] * self.windows.kernel[1]
        dcols = np.broadcast_to(channel_rows(out_grad) / size, (size, out_grad.size))
        return channel_gradient(dcols, a.shape, self.windows)
        ### END SOLUTION


def _pooling_windows(x, kernel_size, stride):
    """The windows of a pooling without padding; ``stride=None`` means the kernel size."""
    images_shape("x", x.shape)
    return sliding_windows(x.shape, kernel_size, kernel_size if stride is None else stride, 0)


def max_pool2d(x, kernel_size, stride=None):
    """Maximum over each ``kernel_size`` window of each channel of ``x`` (N, C, H, W), the
    windows ``stride`` apart (default: ``kernel_size``, windows side by side), no padding.
    Output (N, C, OH, OW) with ``OH = (H - KH) // SH + 1``. Ties: the gradient goes to the
    first maximum of each window. PyTorch: ``F.max_pool2d(x, kernel_size, stride)``.
    """
    x = _as_tensor(x)
    return MaxPooling(_pooling_windows(x, kernel_size, stride))(x)


def avg_pool2d(x, kernel_size, stride=None):
    """Mean over each ``kernel_size`` window of each channel of ``x`` (N, C, H, W), as
    ``max_pool2d``. PyTorch: ``F.avg_pool2d(x, kernel_size, stride)``."""
    x = _as_tensor(x)
    return AveragePooling(_pooling_windows(x, kernel_size, stride))(x)
