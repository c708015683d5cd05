"""minidl: a small numpy deep-learning library that you build during the course.

Each assignment adds modules:

- ``minidl.linear`` (a1_linear): softmax and hinge losses, a linear classifier.
- ``minidl.layers`` (a2_backprop): layers with hand-written backward passes, gradient
  checking, a multi-layer perceptron.
- ``minidl.autograd`` and ``minidl.forward`` (a3_autodiff): reverse-mode automatic
  differentiation with a ``Tensor``, and forward mode with dual numbers.
- ``minidl.init`` and ``minidl.nn`` (a4_init_norm): weight initialization, and modules
  (``Linear``, ``Sequential``, ``Residual``, ``Dropout``, ``BatchNorm1d``, ``LayerNorm``)
  built on the autodiff engine; ``minidl.layers`` gains a hand-derived batch norm.
- ``minidl.optim`` and ``minidl.data`` (a5_optim): optimizers (SGD with momentum and
  Nesterov, Adagrad, RMSprop, Adam, AdamW), learning-rate schedules
  (``minidl.optim.lr_scheduler``) and a minibatch ``DataLoader``.
- ``minidl.conv`` (a6_cnn): im2col, convolution and pooling as operations of the autodiff
  engine; ``minidl.nn`` gains the layers of convolutional networks (``Conv2d``,
  ``MaxPool2d``, ``AvgPool2d``, ``Flatten``, ``BatchNorm2d``, ``GELU``, ``LeakyReLU``).

Import the modules you need, for example ``from minidl.linear import softmax_loss``.
"""
