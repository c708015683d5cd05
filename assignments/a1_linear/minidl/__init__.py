"""minidl: a small numpy deep-learning library that you build during the course.

Each assignment adds modules:

- ``minidl.linear`` (a1_linear): softmax and hinge losses, a linear classifier.

Import the modules you need, for example ``from minidl.linear import softmax_loss``.
"""
