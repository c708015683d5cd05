"""Learning-rate schedules: each sets its optimizer's ``lr`` at every ``step()``.

They work with any optimizer of ``minidl.optim`` (anything with ``lr`` and ``step``), and
follow ``torch.optim.lr_scheduler``: ``StepLR``, ``LinearLR``, ``CosineAnnealingLR`` and
``SequentialLR`` give PyTorch's ``get_last_lr()`` for any number of steps.
"""
import math

from minidl._validate import hyperparameter, whole_number

__all__ = ["LRScheduler", "StepLR", "LinearLR", "CosineAnnealingLR", "SequentialLR"]


class LRScheduler:
    """The base class of the schedules: it sets ``optimizer.lr`` at every ``step()``.

    A scheduler counts its steps in ``last_epoch`` (0 right after it is made) and, like
    PyTorch's, computes each learning rate from the optimizer's *current* one
    (``get_lr``), so schedules can be chained. ``base_lr`` is the optimizer's learning rate
    when the first scheduler was attached (kept in ``optimizer.initial_lr``). Making a
    scheduler already applies its value for step 0, as PyTorch does.

    Call ``optimizer.step()`` then ``scheduler.step()`` once per epoch (or per batch).
    PyTorch: ``torch.optim.lr_scheduler.LRScheduler``.
    """

    def __init__(self, optimizer):
        if not (hasattr(optimizer, "lr") and hasattr(optimizer, "step")):
            raise ValueError(f"a scheduler needs an optimizer, got {type(optimizer).__name__}")
        self.optimizer = optimizer
        if not hasattr(optimizer, "initial_lr"):
            optimizer.initial_lr = optimizer.lr
        self.base_lr = optimizer.initial_lr
        self.last_epoch = -1
        self._initial_step()

    def _initial_step(self):
        """The step that a new scheduler takes (``last_epoch`` becomes 0)."""
        self._is_initial = True
        try:
            self.step()
        finally:
            self._is_initial = False

    def get_lr(self):
        """The learning rate for step ``last_epoch`` (already incremented)."""
        raise NotImplementedError(f"{type(self).__name__} must define get_lr()")

    def step(self):
        """Advance one epoch and set ``optimizer.lr``."""
        self.last_epoch += 1
        self._set_lr(float(self.get_lr()))

    def _set_lr(self, lr):
        self.optimizer.lr = lr
        self._last_lr = [lr]

    def get_last_lr(self):
        """The learning rate set by the last step, as a one-element list (as PyTorch)."""
        return list(self._last_lr)

    def __repr__(self):
        return f"{type(self).__name__}(last_epoch={self.last_epoch}, lr={self._last_lr[0]})"


class StepLR(LRScheduler):
    r"""Multiply the learning rate by ``gamma`` every ``step_size`` epochs.

    .. math:: \eta_t = \eta_0 \, \gamma^{\lfloor t / \text{step\_size} \rfloor}

    In PyTorch's chainable form: :math:`\eta_t = \gamma \, \eta_{t-1}` when :math:`t > 0`
    is a multiple of ``step_size``, else :math:`\eta_t = \eta_{t-1}`. With ``step_size=30``
    the rate is :math:`\eta_0` for epochs 0..29, :math:`\gamma\eta_0` for 30..59, ...
    PyTorch: ``torch.optim.lr_scheduler.StepLR(optimizer, step_size, gamma=0.1)``.
    """

    def __init__(self, optimizer, step_size, gamma=0.1):
        self.step_size = whole_number("step_size", step_size, 1)
        self.gamma = hyperparameter("gamma", gamma)
        super().__init__(optimizer)

    def get_lr(self):
        lr, t = self.optimizer.lr, self.last_epoch
        if t == 0 or t % self.step_size != 0:
            return lr
        return lr * self.gamma


class LinearLR(LRScheduler):
    r"""Scale the learning rate by a factor that goes linearly from ``start_factor`` to
    ``end_factor`` over ``total_iters`` epochs, then stays there: a *warmup* when
    ``start_factor < end_factor``.

    .. math::

        \eta_t = \eta_0 \left(f_s + (f_e - f_s) \, \frac{\min(t, T)}{T}\right)

    with :math:`f_s` = ``start_factor``, :math:`f_e` = ``end_factor``, :math:`T` =
    ``total_iters``. PyTorch computes it in chainable form: :math:`\eta_0 f_s` at
    :math:`t = 0`, then for :math:`1 \le t \le T`

    .. math::

        \eta_t = \eta_{t-1} \left(1 + \frac{f_e - f_s}{T f_s + (t - 1)(f_e - f_s)}\right),

    and :math:`\eta_t = \eta_{t-1}` after :math:`T`.
    PyTorch: ``torch.optim.lr_scheduler.LinearLR(optimizer, start_factor=1/3,
    end_factor=1.0, total_iters=5)``.
    """

    def __init__(self, optimizer, start_factor=1.0 / 3, end_factor=1.0, total_iters=5):
        self.start_factor = hyperparameter("start_factor", start_factor, 0.0, 1.0, low_open=True)
        self.end_factor = hyperparameter("end_factor", end_factor, 0.0, 1.0)
        self.total_iters = whole_number("total_iters", total_iters, 1)
        super().__init__(optimizer)

    def get_lr(self):
        lr, t = self.optimizer.lr, self.last_epoch
        if t == 0:
            return lr * self.start_factor
        if self._is_initial or t > self.total_iters:
            return lr
        change = self.end_factor - self.start_factor
        return lr * (1.0 + change / (self.total_iters * self.start_factor + (t - 1) * change))


class CosineAnnealingLR(LRScheduler):
    r"""Anneal the learning rate from its base value to ``eta_min`` along half a cosine
    over ``T_max`` epochs.

    .. math::

        \eta_t = \eta_{min} + \frac{\eta_0 - \eta_{min}}{2}
            \left(1 + \cos\frac{\pi t}{T_{max}}\right)

    At :math:`t = T_{max}` the rate is :math:`\eta_{min}`; after that the formula goes on,
    so the rate climbs back up along the cosine (it is periodic with period
    :math:`2 T_{max}`): stop at :math:`T_{max}`, or use ``SequentialLR``, if you do not want
    that. PyTorch computes it in chainable form,

    .. math::

        \eta_t = \eta_{min} + (\eta_{t-1} - \eta_{min})
            \frac{1 + \cos(\pi t / T_{max})}{1 + \cos(\pi (t - 1) / T_{max})},

    except where the denominator is 0 (:math:`t - 1 - T_{max}` a multiple of
    :math:`2T_{max}`), where it adds
    :math:`(\eta_0 - \eta_{min})(1 - \cos(\pi / T_{max}))/2` instead; both forms give the
    same numbers up to rounding.
    PyTorch: ``torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max, eta_min=0.0)``.
    """

    def __init__(self, optimizer, T_max, eta_min=0.0):
        self.T_max = whole_number("T_max", T_max, 1)
        self.eta_min = hyperparameter("eta_min", eta_min)
        super().__init__(optimizer)

    def get_lr(self):
        lr, t = self.optimizer.lr, self.last_epoch
        if self._is_initial:
            return lr
        base, low, period = self.base_lr, self.eta_min, self.T_max
        if (t - 1 - period) % (2 * period) == 0:
            return lr + (base - low) * (1 - math.cos(math.pi / period)) / 2
        return (low + (lr - low) * (1 + math.cos(math.pi * t / period))
                / (1 + math.cos(math.pi * (t - 1) / period)))


class SequentialLR(LRScheduler):
    """Run ``schedulers`` one after the other, switching at the epochs in ``milestones``.

    Epochs ``0 .. milestones[0] - 1`` follow ``schedulers[0]``, epochs from
    ``milestones[0]`` follow ``schedulers[1]``, and so on. At each milestone the next
    scheduler **restarts**: the optimizer's learning rate goes back to its base value and
    that scheduler takes its initial step again (its ``last_epoch`` becomes 0), so it runs
    from its own beginning, as if it had just been made. The typical use is a warmup then a
    decay: ``SequentialLR(opt, [LinearLR(opt, 0.01, total_iters=5),
    CosineAnnealingLR(opt, T_max=95)], milestones=[5])``.

    Making it resets the learning rate to the base value and restarts the first scheduler
    (making the sub-schedulers has already stepped each of them once).
    PyTorch: ``torch.optim.lr_scheduler.SequentialLR(optimizer, schedulers, milestones)``.
    """

    def __init__(self, optimizer, schedulers, milestones):
        schedulers, milestones = list(schedulers), list(milestones)
        if not schedulers:
            raise ValueError("SequentialLR expects at least one scheduler, got none")
        for k, scheduler in enumerate(schedulers):
            if getattr(scheduler, "optimizer", None) is not optimizer:
                raise ValueError(f"SequentialLR expects every scheduler to belong to its "
                                 f"optimizer, but scheduler {k} ({type(scheduler).__name__}) "
                                 f"has another one")
        if len(milestones) != len(schedulers) - 1:
            raise ValueError(f"SequentialLR expects one milestone fewer than schedulers, got "
                             f"{len(schedulers)} schedulers and {len(milestones)} milestones")
        for k, milestone in enumerate(milestones):
            whole_number(f"milestones[{k}]", milestone, 1)
        if milestones != sorted(milestones):
            raise ValueError(f"milestones must be increasing, got {milestones}")
        self.optimizer, self.schedulers, self.milestones = optimizer, schedulers, milestones
        self.base_lr = optimizer.initial_lr
        self.last_epoch = 0
        optimizer.lr = self.base_lr
        for scheduler in schedulers:
            scheduler.last_epoch -= 1
        schedulers[0]._initial_step()
        self._last_lr = schedulers[0].get_last_lr()

    def step(self):
        """Advance one epoch: step the current scheduler, or restart the next one at a
        milestone."""
        self.last_epoch += 1
        index = sum(1 for milestone in self.milestones if milestone <= self.last_epoch)
        scheduler = self.schedulers[index]
        if index > 0 and self.milestones[index - 1] == self.last_epoch:
            self.optimizer.lr = scheduler.base_lr  # restart it from its beginning
            scheduler.last_epoch = -1
            scheduler._initial_step()
        else:
            scheduler.step()
        self._last_lr = scheduler.get_last_lr()
