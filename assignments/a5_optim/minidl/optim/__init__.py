"""Optimizers that update the parameters of a model from their gradients; the learning-rate
schedules are in the submodule ``minidl.optim.lr_scheduler``, as in PyTorch.

An optimizer holds a list of parameters (``minidl.autograd.Tensor`` leaves with
``requires_grad=True``). After ``loss.backward()`` has filled every ``p.grad``,
``optimizer.step()`` changes every ``p.data`` in place by the optimizer's rule, and
``optimizer.zero_grad()`` clears the gradients for the next batch. Each rule is written for
one parameter: ``update(param, grad, state)``, where ``state`` is that parameter's own dict
(moving averages, step counts), kept between steps in ``optimizer.state[param]``.

Notation in the docstrings: :math:`\\theta_t` the parameter after step ``t``, :math:`g_t` its
gradient at step ``t`` (the first step is ``t = 1``), :math:`\\gamma` the learning rate
``lr``, :math:`\\lambda` the weight decay; operations on arrays are entry by entry.

PyTorch equivalents: ``torch.optim.SGD`` (with ``dampening=0``), ``Adagrad``, ``RMSprop``,
``Adam``, ``AdamW`` with a single parameter group. As in PyTorch, a parameter whose ``.grad``
is None is skipped, and the learning rate is read from ``optimizer.lr`` at every step, so a
scheduler (or you) can change it between steps.
"""
import numpy as np

from minidl._validate import betas_pair, hyperparameter, parameter_list
from minidl.optim import lr_scheduler

__all__ = ["Optimizer", "SGD", "Adagrad", "RMSprop", "Adam", "AdamW", "lr_scheduler"]


class Optimizer:
    """The base class: keeps the parameters, their state and the learning rate.

    Parameters
    ----------
    params : iterable of Tensor
        The tensors to optimize (anything with ``.data`` and ``.grad``); at least one.
    lr : float
        The learning rate, at least 0, kept in ``self.lr``.

    Attributes
    ----------
    params : list of Tensor
    lr : float
        Read at every step; learning-rate schedulers change it.
    state : dict
        ``state[param]`` is a dict with what the rule keeps for ``param`` between steps
        (empty before its first step).

    Subclasses write ``update(param, grad, state)``, one step for one parameter.
    PyTorch: ``torch.optim.Optimizer`` (here without parameter groups: ``self.lr`` plays the
    part of ``param_groups[0]["lr"]``).
    """

    def __init__(self, params, lr):
        self.params = parameter_list(params)
        self.lr = hyperparameter("learning rate", lr)
        self.state = {param: {} for param in self.params}

    def zero_grad(self):
        """Forget every gradient (``param.grad = None``) before the next backward pass."""
        for param in self.params:
            param.grad = None

    def step(self):
        """One optimization step: ``update`` every parameter that has a gradient."""
        for param in self.params:
            if param.grad is None:
                continue
            grad = np.asarray(param.grad, dtype=param.data.dtype)
            if grad.shape != param.data.shape:
                raise ValueError(f"a gradient of shape {grad.shape} does not fit its "
                                 f"parameter of shape {param.data.shape}")
            self.update(param, grad, self.state[param])

    def update(self, param, grad, state):
        """Change ``param.data`` in place by one step of the rule, given its gradient."""
        raise NotImplementedError(f"{type(self).__name__} must define update()")

    def __repr__(self):
        options = ", ".join(f"{key}={value!r}" for key, value in vars(self).items()
                            if key not in ("params", "state"))
        return f"{type(self).__name__}({len(self.params)} parameters, {options})"


class SGD(Optimizer):
    r"""Stochastic gradient descent, with momentum, Nesterov momentum and weight decay.

    For each step :math:`t = 1, 2, \dots`:

    .. math::

        g_t &\leftarrow g_t + \lambda \theta_{t-1}
            \quad \text{(weight decay, if } \lambda \ne 0) \\
        b_t &= \begin{cases} g_t & t = 1 \\ \mu b_{t-1} + g_t & t > 1 \end{cases}
            \quad \text{(momentum buffer, if } \mu \ne 0) \\
        d_t &= \begin{cases} g_t + \mu b_t & \text{nesterov} \\ b_t & \text{otherwise}
            \end{cases} \quad (d_t = g_t \text{ if } \mu = 0) \\
        \theta_t &= \theta_{t-1} - \gamma d_t

    The buffer starts at the first gradient (not at 0) and does not contain the learning
    rate, so changing ``lr`` changes only the size of the next step. Nesterov's version
    looks ahead: it steps along the gradient plus the momentum it is about to add.

    Parameters: ``lr`` :math:`\gamma`, ``momentum`` :math:`\mu \ge 0`, ``nesterov`` (needs
    ``momentum > 0``), ``weight_decay`` :math:`\lambda \ge 0` (an L2 penalty
    :math:`\frac{\lambda}{2}\|\theta\|^2` added to the loss). State: ``"momentum_buffer"``.
    PyTorch: ``torch.optim.SGD(params, lr, momentum, dampening=0, weight_decay, nesterov)``.
    """

    def __init__(self, params, lr, momentum=0.0, nesterov=False, weight_decay=0.0):
        super().__init__(params, lr)
        self.momentum = hyperparameter("momentum", momentum)
        self.weight_decay = hyperparameter("weight_decay", weight_decay)
        self.nesterov = bool(nesterov)
        if self.nesterov and self.momentum <= 0:
            raise ValueError("Nesterov momentum requires a momentum: got nesterov=True with "
                             "momentum=0")

    def update(self, param, grad, state):
        # YOUR CODE HERE
        raise NotImplementedError('SGD.update: write it (see its docstring and a5_optim.ipynb)')


class Adagrad(Optimizer):
    r"""Adagrad: each coordinate's step is divided by the root of its summed squared gradients.

    .. math::

        g_t &\leftarrow g_t + \lambda \theta_{t-1} \quad \text{(if } \lambda \ne 0) \\
        s_t &= s_{t-1} + g_t^2, \qquad s_0 = 0 \\
        \theta_t &= \theta_{t-1} - \gamma \, \frac{g_t}{\sqrt{s_t} + \epsilon}

    Coordinates with large past gradients get small steps and rare ones large steps; since
    :math:`s_t` only grows, the steps shrink over time. :math:`\epsilon` is added *after*
    the square root. State: ``"sum"`` (:math:`s_t`) and ``"step"``.
    PyTorch: ``torch.optim.Adagrad(params, lr=0.01, eps=1e-10, weight_decay=0)``.
    """

    def __init__(self, params, lr=0.01, eps=1e-10, weight_decay=0.0):
        super().__init__(params, lr)
        self.eps = hyperparameter("epsilon", eps)
        self.weight_decay = hyperparameter("weight_decay", weight_decay)

    def update(self, param, grad, state):
        # YOUR CODE HERE
        raise NotImplementedError('Adagrad.update: write it (see its docstring and a5_optim.ipynb)')


class RMSprop(Optimizer):
    r"""RMSprop: Adagrad with an exponential moving average instead of a sum.

    .. math::

        g_t &\leftarrow g_t + \lambda \theta_{t-1} \quad \text{(if } \lambda \ne 0) \\
        v_t &= \alpha v_{t-1} + (1 - \alpha) g_t^2, \qquad v_0 = 0 \\
        \theta_t &= \theta_{t-1} - \gamma \, \frac{g_t}{\sqrt{v_t} + \epsilon}
            \quad \text{(without momentum)}

    With momentum :math:`\mu > 0` the scaled gradient goes through a buffer that starts at
    zero: :math:`b_t = \mu b_{t-1} + g_t / (\sqrt{v_t} + \epsilon)`,
    :math:`\theta_t = \theta_{t-1} - \gamma b_t`. There is no bias correction (unlike Adam),
    and :math:`\epsilon` is added after the square root.
    State: ``"square_avg"`` (:math:`v_t`), ``"momentum_buffer"``, ``"step"``.
    PyTorch: ``torch.optim.RMSprop(params, lr=0.01, alpha=0.99, eps=1e-8, weight_decay=0,
    momentum=0)`` (``centered=False``).
    """

    def __init__(self, params, lr=0.01, alpha=0.99, eps=1e-8, momentum=0.0, weight_decay=0.0):
        super().__init__(params, lr)
        self.alpha = hyperparameter("alpha", alpha, 0.0, 1.0)
        self.eps = hyperparameter("epsilon", eps)
        self.momentum = hyperparameter("momentum", momentum)
        self.weight_decay = hyperparameter("weight_decay", weight_decay)

    def update(self, param, grad, state):
        # YOUR CODE HERE
        raise NotImplementedError('RMSprop.update: write it (see its docstring and a5_optim.ipynb)')


class Adam(Optimizer):
    r"""Adam: momentum (a moving average of gradients) divided by the root of a moving
    average of squared gradients, both corrected for their start at zero.

    .. math::

        g_t &\leftarrow g_t + \lambda \theta_{t-1}
            \quad \text{(L2 penalty, if } \lambda \ne 0) \\
        m_t &= \beta_1 m_{t-1} + (1 - \beta_1) g_t, \qquad m_0 = 0 \\
        v_t &= \beta_2 v_{t-1} + (1 - \beta_2) g_t^2, \qquad v_0 = 0 \\
        \hat m_t &= \frac{m_t}{1 - \beta_1^t}, \qquad \hat v_t = \frac{v_t}{1 - \beta_2^t} \\
        \theta_t &= \theta_{t-1} - \gamma \, \frac{\hat m_t}{\sqrt{\hat v_t} + \epsilon}

    Without the bias correction the first steps would be far too small (:math:`m_1` is only
    :math:`(1 - \beta_1) g_1`). :math:`t` counts this parameter's steps, starting at 1, and
    :math:`\epsilon` is added after the square root of the *corrected* :math:`\hat v_t`.
    Weight decay here is the L2 penalty added to the gradient, which the division by
    :math:`\sqrt{\hat v_t}` then rescales (see ``AdamW`` for the decoupled version).
    ``update`` adds the L2 term, then calls ``adam_step``, which does the rest (``AdamW``
    reuses ``adam_step`` with its own decay).
    State: ``"step"``, ``"exp_avg"`` (:math:`m_t`), ``"exp_avg_sq"`` (:math:`v_t`).
    PyTorch: ``torch.optim.Adam(params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8,
    weight_decay=0)``.
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        super().__init__(params, lr)
        self.betas = betas_pair(betas)
        self.eps = hyperparameter("epsilon", eps)
        self.weight_decay = hyperparameter("weight_decay", weight_decay)

    def update(self, param, grad, state):
        # YOUR CODE HERE
        raise NotImplementedError('Adam.update: write it (see its docstring and a5_optim.ipynb)')

    def adam_step(self, param, grad, state):
        """The moving averages, their bias correction and the step (no weight decay)."""
        # YOUR CODE HERE
        raise NotImplementedError('Adam.adam_step: write it (see its docstring and a5_optim.ipynb)')


class AdamW(Adam):
    r"""AdamW: Adam with *decoupled* weight decay.

    .. math::

        \theta &\leftarrow \theta_{t-1} - \gamma \lambda \theta_{t-1}
            \quad \text{(shrink the weights, outside the gradient)} \\
        m_t, v_t, \hat m_t, \hat v_t &: \text{as in Adam, from } g_t
            \text{ (no } \lambda \theta \text{ added)} \\
        \theta_t &= \theta - \gamma \, \frac{\hat m_t}{\sqrt{\hat v_t} + \epsilon}

    In Adam, an L2 term :math:`\lambda\theta` added to the gradient is divided by
    :math:`\sqrt{\hat v_t}`, so weights with large gradients are barely decayed. AdamW
    shrinks every weight by the same factor :math:`1 - \gamma\lambda`, as weight decay does
    in plain SGD. Note the default ``weight_decay=0.01``.
    PyTorch: ``torch.optim.AdamW(params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8,
    weight_decay=0.01)``.
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01):
        super().__init__(params, lr, betas, eps, weight_decay)

    def update(self, param, grad, state):
        # YOUR CODE HERE
        raise NotImplementedError('AdamW.update: write it (see its docstring and a5_optim.ipynb)')
