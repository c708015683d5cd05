"""The common mistakes of a5_optim, each as a patch of the reference ``minidl`` (see
``autograder.mistakes``): the optimizers, the schedules and the DataLoader. A part names a
mistake only when the student's answer is the one the patched reference gives."""
from autograder.mistakes import Catalogue

OPTIMIZERS = "optim/__init__.py"
SCHEDULES = "optim/lr_scheduler.py"
LOADER = "data.py"

MISTAKES = Catalogue("a5_optim", module=OPTIMIZERS)
add = MISTAKES.add

# ---------------------------------------------------------------- SGD

for part in ("SGD.plain", "SGD.momentum", "SGD.nesterov"):
    add(f"SGD climbs the gradient ({part})", part,
        "it climbs: a step goes *against* the gradient, p -= lr * d", """
        _right_sgd_update = SGD.update
        SGD.update = lambda self, param, grad, state: _right_sgd_update(self, param, -grad, state)
        """)

add("SGD without the learning rate", "SGD.plain",
    "lr is not used: the step is lr times the direction", """
    def _update(self, param, grad, state):
        param.data -= grad
    SGD.update = _update
    """)

add("momentum buffer as an average", "SGD.momentum",
    "the buffer is an average, mu * b + (1 - mu) * g; torch adds the whole gradient: "
    "b = mu * b + g (dampening 0), starting at b = g", """
    def _update(self, param, grad, state):
        buffer = state.get("momentum_buffer", np.zeros_like(grad))
        state["momentum_buffer"] = self.momentum * buffer + (1 - self.momentum) * grad
        param.data -= self.lr * state["momentum_buffer"]
    SGD.update = _update
    """)

add("momentum buffer not kept", "SGD.momentum",
    "momentum has no effect: keep the buffer between steps in state['momentum_buffer'] and "
    "update it, b = mu * b + g", """
    def _update(self, param, grad, state):
        param.data -= self.lr * grad
    SGD.update = _update
    """)

add("learning rate inside the momentum buffer", "SGD.momentum",
    "the learning rate is inside the buffer (v = mu * v - lr * g): that agrees with torch only "
    "while lr is constant; torch keeps lr out of it, b = mu * b + g, p -= lr * b, so a "
    "scheduler's new lr acts at once", """
    def _update(self, param, grad, state):
        velocity = state.get("velocity", np.zeros_like(grad))
        state["velocity"] = self.momentum * velocity - self.lr * grad
        param.data += state["velocity"]
    SGD.update = _update
    """)

add("Nesterov as plain momentum", "SGD.nesterov",
    "that is plain momentum: with nesterov=True the step direction is g + mu * b (the "
    "gradient plus the momentum it is about to add), not b", """
    def _update(self, param, grad, state):
        buffer = state.get("momentum_buffer")
        state["momentum_buffer"] = grad.copy() if buffer is None else self.momentum * buffer + grad
        param.data -= self.lr * state["momentum_buffer"]
    SGD.update = _update
    """)

add("Nesterov without the gradient", "SGD.nesterov",
    "the Nesterov direction is g + mu * b: add the gradient itself to the momentum term", """
    def _update(self, param, grad, state):
        buffer = state.get("momentum_buffer")
        state["momentum_buffer"] = grad.copy() if buffer is None else self.momentum * buffer + grad
        param.data -= self.lr * self.momentum * state["momentum_buffer"]
    SGD.update = _update
    """)

# Weight decay, written around the reference's update given another gradient.
_DECAYED = """
    _right_sgd_update = SGD.update
    def _update(self, param, grad, state):
        weight_decay, self.weight_decay = self.weight_decay, 0.0
        _right_sgd_update(self, param, {gradient}, state)
        self.weight_decay = weight_decay
    SGD.update = _update
    """

add("SGD weight decay with the wrong sign", "SGD.weight_decay",
    "the decay has the wrong sign: add weight_decay * p to the gradient (the gradient of the "
    "penalty (wd/2) * |p|^2)", _DECAYED.format(gradient="grad - weight_decay * param.data"))

add("SGD weight decay halved", "SGD.weight_decay",
    "the decay is half as strong: the gradient of (wd/2) * |p|^2 is wd * p",
    _DECAYED.format(gradient="grad + 0.5 * weight_decay * param.data"))

add("SGD weight decay ignored", "SGD.weight_decay",
    "weight_decay is ignored: add weight_decay * p to the gradient",
    _DECAYED.format(gradient="grad"))

add("SGD weight decay after the momentum", "SGD.weight_decay",
    "add weight_decay * p to the gradient *before* the momentum buffer, as torch does, not to "
    "the step", """
    _right_sgd_update = SGD.update
    def _update(self, param, grad, state):
        weight_decay, self.weight_decay = self.weight_decay, 0.0
        before = param.data.copy()
        _right_sgd_update(self, param, grad, state)
        param.data -= self.lr * weight_decay * before
        self.weight_decay = weight_decay
    SGD.update = _update
    """)

# ---------------------------------------------------------------- Adagrad


for part in ("Adagrad", "Adagrad.options"):
    add(f"Adagrad without accumulation ({part})", part,
        "the sum of squared gradients is not accumulated: s = s + g**2 over all the steps so "
        "far, kept in the state", """
        def _update(self, param, grad, state):
            grad = grad + self.weight_decay * param.data
            param.data -= self.lr * grad / (np.sqrt(grad * grad) + self.eps)
        Adagrad.update = _update
        """)
    add(f"Adagrad with the mean ({part})", part,
        "that is the mean of the squared gradients; Adagrad uses their sum", """
        def _update(self, param, grad, state):
            grad = grad + self.weight_decay * param.data
            state["step"] = state.get("step", 0) + 1
            state["sum"] = state.get("sum", 0.0) + grad * grad
            mean = state["sum"] / state["step"]
            param.data -= self.lr * grad / (np.sqrt(mean) + self.eps)
        Adagrad.update = _update
        """)
    add(f"Adagrad without the square root ({part})", part,
        "divide by the square root of the sum: g / (sqrt(s) + eps)", """
        def _update(self, param, grad, state):
            grad = grad + self.weight_decay * param.data
            state["sum"] = state.get("sum", 0.0) + grad * grad
            param.data -= self.lr * grad / (state["sum"] + self.eps)
        Adagrad.update = _update
        """)

ADAGRAD_LR = "the learning rate is not the one given (Adagrad's default lr is 0.01)"

add("Adagrad default lr 0.1", "Adagrad", ADAGRAD_LR, """
    _right_adagrad_init = Adagrad.__init__
    def _init(self, params, lr=0.1, eps=1e-10, weight_decay=0.0):
        _right_adagrad_init(self, params, lr, eps, weight_decay)
    Adagrad.__init__ = _init
    """)

add("Adagrad ignores lr", "Adagrad", ADAGRAD_LR, """
    _right_adagrad_init = Adagrad.__init__
    def _init(self, params, lr=0.01, eps=1e-10, weight_decay=0.0):
        _right_adagrad_init(self, params, 0.01, eps, weight_decay)
    Adagrad.__init__ = _init
    """)

add("Adagrad eps inside the square root", "Adagrad.options",
    "eps goes outside the square root: sqrt(s) + eps, not sqrt(s + eps)", """
    def _update(self, param, grad, state):
        grad = grad + self.weight_decay * param.data
        state["sum"] = state.get("sum", 0.0) + grad * grad
        param.data -= self.lr * grad / np.sqrt(state["sum"] + self.eps)
    Adagrad.update = _update
    """)

add("Adagrad accumulates the gradient before the decay", "Adagrad.options",
    "add weight_decay * p to the gradient first; the sum accumulates the squares of that "
    "gradient", """
    def _update(self, param, grad, state):
        state["sum"] = state.get("sum", 0.0) + grad * grad
        grad = grad + self.weight_decay * param.data
        param.data -= self.lr * grad / (np.sqrt(state["sum"]) + self.eps)
    Adagrad.update = _update
    """)

add("Adagrad weight decay ignored", "Adagrad.options", "weight_decay is ignored", """
    _right_adagrad_init = Adagrad.__init__
    def _init(self, params, lr=0.01, eps=1e-10, weight_decay=0.0):
        _right_adagrad_init(self, params, lr, eps, 0.0)
    Adagrad.__init__ = _init
    """)

add("Adagrad eps ignored", "Adagrad.options", "eps is ignored (the default is used)", """
    _right_adagrad_init = Adagrad.__init__
    def _init(self, params, lr=0.01, eps=1e-10, weight_decay=0.0):
        _right_adagrad_init(self, params, lr, 1e-10, weight_decay)
    Adagrad.__init__ = _init
    """)

# ---------------------------------------------------------------- RMSprop


def rmsprop(average, denominator):
    """An RMSprop update (with momentum) whose moving ``average`` of squared gradients and
    ``denominator`` are given as code."""
    return f"""
    def _update(self, param, grad, state):
        grad = grad + self.weight_decay * param.data
        state["step"] = t = state.get("step", 0) + 1
        average = state.get("square_avg", 0.0)
        state["square_avg"] = average = {average}
        scaled = grad / ({denominator})
        if self.momentum > 0:
            state["momentum_buffer"] = self.momentum * state.get("momentum_buffer", 0.0) + scaled
            scaled = state["momentum_buffer"]
        param.data -= self.lr * scaled
    RMSprop.update = _update
    """


RIGHT_AVERAGE = "self.alpha * average + (1 - self.alpha) * grad * grad"

for part in ("RMSprop", "RMSprop.options"):
    add(f"RMSprop alpha swapped ({part})", part,
        "the average weights are swapped: v = alpha * v + (1 - alpha) * g**2",
        rmsprop("(1 - self.alpha) * average + self.alpha * grad * grad",
                "np.sqrt(average) + self.eps"))
    add(f"RMSprop without the square root ({part})", part,
        "divide by the square root of the average: g / (sqrt(v) + eps)",
        rmsprop(RIGHT_AVERAGE, "average + self.eps"))
    add(f"RMSprop with a bias correction ({part})", part,
        "RMSprop has no bias correction (that is Adam's): divide by sqrt(v) + eps directly",
        rmsprop(RIGHT_AVERAGE, "np.sqrt(average / (1 - self.alpha ** t)) + self.eps"))
    add(f"RMSprop eps inside the square root ({part})", part,
        "eps goes outside the square root: sqrt(v) + eps, not sqrt(v + eps)",
        rmsprop(RIGHT_AVERAGE, "np.sqrt(average + self.eps)"))

RMSPROP_ALPHA = "alpha is not the one given (the default is 0.99)"

add("RMSprop default alpha 0.9", "RMSprop", RMSPROP_ALPHA, """
    _right_rmsprop_init = RMSprop.__init__
    def _init(self, params, lr=0.01, alpha=0.9, eps=1e-8, momentum=0.0, weight_decay=0.0):
        _right_rmsprop_init(self, params, lr, alpha, eps, momentum, weight_decay)
    RMSprop.__init__ = _init
    """)

add("RMSprop ignores alpha", "RMSprop", RMSPROP_ALPHA, """
    _right_rmsprop_init = RMSprop.__init__
    def _init(self, params, lr=0.01, alpha=0.99, eps=1e-8, momentum=0.0, weight_decay=0.0):
        _right_rmsprop_init(self, params, lr, 0.99, eps, momentum, weight_decay)
    RMSprop.__init__ = _init
    """)

add("RMSprop momentum on the raw gradient", "RMSprop.options",
    "the momentum buffer accumulates the *scaled* gradient, b = mu * b + g / (sqrt(v) + eps), "
    "and p -= lr * b", """
    def _update(self, param, grad, state):
        state["square_avg"] = (self.alpha * state.get("square_avg", 0.0)
                               + (1 - self.alpha) * grad * grad)
        state["momentum_buffer"] = self.momentum * state.get("momentum_buffer", 0.0) + grad
        param.data -= (self.lr * state["momentum_buffer"]
                       / (np.sqrt(state["square_avg"]) + self.eps))
    RMSprop.update = _update
    """)

add("RMSprop momentum ignored", "RMSprop.options", "momentum is ignored", """
    _right_rmsprop_init = RMSprop.__init__
    def _init(self, params, lr=0.01, alpha=0.99, eps=1e-8, momentum=0.0, weight_decay=0.0):
        _right_rmsprop_init(self, params, lr, alpha, eps, 0.0, weight_decay)
    RMSprop.__init__ = _init
    """)

# ---------------------------------------------------------------- Adam and AdamW


def adam_step(m_hat, v_hat, denominator="np.sqrt(v_hat) + self.eps", t="state['step']",
              betas="self.betas"):
    """An ``Adam.adam_step`` (AdamW's too) with its bias corrections ``m_hat`` and ``v_hat``,
    ``denominator``, step count ``t`` and ``betas`` given as code."""
    return f"""
    def _adam_step(self, param, grad, state):
        beta1, beta2 = {betas}
        state["step"] = state.get("step", 0) + 1
        t = {t}
        m = state["exp_avg"] = beta1 * state.get("exp_avg", 0.0) + (1 - beta1) * grad
        v = state["exp_avg_sq"] = beta2 * state.get("exp_avg_sq", 0.0) + (1 - beta2) * grad**2
        m_hat, v_hat = {m_hat}, {v_hat}
        param.data -= self.lr * m_hat / ({denominator})
    Adam.adam_step = _adam_step
    """


M_HAT, V_HAT = "m / (1 - beta1**t)", "v / (1 - beta2**t)"

for part in ("Adam", "Adam.options", "AdamW"):
    add(f"Adam without bias correction ({part})", part,
        "there is no bias correction: divide m by 1 - beta1**t and v by 1 - beta2**t (t = 1 at "
        "the first step), else the first steps are far too small", adam_step("m", "v"))
    add(f"Adam corrects m only ({part})", part,
        "correct v for its bias too: v_hat = v / (1 - beta2**t)", adam_step(M_HAT, "v"))
    add(f"Adam step count off by one ({part})", part,
        "the step count t is off by one: t is 1 at the first step (increment it before the bias "
        "correction)", adam_step(M_HAT, V_HAT, t="state['step'] + 1"))
    add(f"Adam betas swapped ({part})", part,
        "the betas are swapped: beta1 averages the gradients (m), beta2 their squares (v)",
        adam_step(M_HAT, V_HAT, betas="reversed(self.betas)"))
    add(f"Adam eps inside the square root ({part})", part,
        "eps goes outside the square root: sqrt(v_hat) + eps, not sqrt(v_hat + eps)",
        adam_step(M_HAT, V_HAT, denominator="np.sqrt(v_hat + self.eps)"))
    add(f"Adam eps before the bias correction ({part})", part,
        "add eps after the bias correction: sqrt(v_hat) + eps with v_hat = v / (1 - beta2**t)",
        adam_step(M_HAT, V_HAT, denominator="(np.sqrt(v) + self.eps) / np.sqrt(1 - beta2**t)"))


def adam_init(betas="betas", eps="eps", weight_decay="weight_decay", cls="Adam",
              default_decay="0.0"):
    """``cls.__init__`` that hands the reference other arguments than those it was given."""
    return f"""
    _right_init = {cls}.__init__
    def _init(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay={default_decay}):
        _right_init(self, params, lr, {betas}, {eps}, {weight_decay})
    {cls}.__init__ = _init
    """


add("Adam ignores betas", "Adam.options",
    "betas is ignored: the default (0.9, 0.999) is used", adam_init(betas="(0.9, 0.999)"))

add("Adam ignores eps", "Adam.options",
    "eps is ignored: the default 1e-8 is used", adam_init(eps="1e-8"))

add("Adam with decoupled decay", "Adam.weight_decay",
    "that is AdamW's decoupled decay; Adam adds weight_decay * p to the gradient before the "
    "moving averages (an L2 penalty)", """
    Adam.update = AdamW.update
    """)

add("Adam weight decay ignored", "Adam.weight_decay",
    "weight_decay is ignored: add weight_decay * p to the gradient", adam_init(weight_decay="0.0"))

add("AdamW with coupled decay", "AdamW",
    "that is Adam with an L2 term in the gradient (coupled); AdamW decays the weights "
    "directly, p -= lr * weight_decay * p, before the Adam step, and leaves the gradient alone",
    """
    AdamW.update = Adam.update
    """)

add("AdamW decay without the learning rate", "AdamW",
    "the decay is p -= lr * weight_decay * p: multiply by lr too", """
    def _update(self, param, grad, state):
        param.data -= self.weight_decay * param.data
        self.adam_step(param, grad, state)
    AdamW.update = _update
    """)

add("AdamW decay after the step", "AdamW",
    "decay the weights before the Adam step (with the old p), p -= lr * weight_decay * p, as "
    "torch does", """
    def _update(self, param, grad, state):
        self.adam_step(param, grad, state)
        param.data -= self.lr * self.weight_decay * param.data
    AdamW.update = _update
    """)

# First: with the default weight_decay, ignoring the argument takes the same steps.
add("AdamW default weight decay 0", "AdamW", "AdamW's default weight_decay is 0.01, not 0",
    adam_init(cls="AdamW"))

add("AdamW weight decay ignored", "AdamW", "weight_decay is ignored",
    adam_init(weight_decay="0.0", cls="AdamW", default_decay="0.01"))

# ---------------------------------------------------------------- every optimizer

add("learning rate read once", "Optimizer.lr_changes",
    "the learning rate given to the constructor is used at every step: read self.lr in the "
    "update, since schedulers change it between steps", """
    def _keep_first(self, lr):
        if "_first_lr" not in vars(self):
            self._first_lr = lr
    Optimizer.lr = property(lambda self: self._first_lr, _keep_first)
    """)

# ---------------------------------------------------------------- schedules: each closed form
# (the rate at epoch t from the base rate), with a mistake in it


def closed_form(scheduler, rate):
    """``scheduler.get_lr`` returning ``rate``, code of ``t``, ``base`` and the scheduler's
    attributes (``self``)."""
    return f"""
    def _get_lr(self):
        t, base = self.last_epoch, self.base_lr
        return {rate}
    {scheduler}.get_lr = _get_lr
    """


add("StepLR one epoch early", "StepLR",
    "it decays one epoch early: the rate is lr * gamma ** (epoch // step_size), first decayed "
    "at epoch step_size", closed_form("StepLR", "base * self.gamma ** ((t + 1) // self.step_size)"),
    module=SCHEDULES)

add("StepLR one epoch late", "StepLR",
    "it decays one epoch late: the first decay is at epoch step_size",
    closed_form("StepLR", "base * self.gamma ** (max(t - 1, 0) // self.step_size)"),
    module=SCHEDULES)

add("StepLR decays epoch 0", "StepLR",
    "epoch 0 is decayed already: it keeps lr itself; the first decay is at epoch step_size",
    closed_form("StepLR", "base * self.gamma ** (t // self.step_size + 1)"), module=SCHEDULES)

add("StepLR decays every epoch", "StepLR",
    "it decays at every epoch instead of every step_size epochs",
    closed_form("StepLR", "base * self.gamma ** t"), module=SCHEDULES)


def linear(total, start="self.start_factor", end="self.end_factor", t="min(t, {total})"):
    ramp = t.format(total=total)
    return closed_form("LinearLR", f"base * ({start} + ({end} - {start}) * {ramp} / {total})")


add("LinearLR does not stop", "LinearLR",
    "the factor must stop changing at total_iters: min(epoch, total_iters)",
    linear("self.total_iters", t="t"), module=SCHEDULES)

add("LinearLR one epoch too long", "LinearLR",
    "the ramp is one epoch too long: the factor reaches end_factor at epoch total_iters",
    linear("(self.total_iters + 1)"), module=SCHEDULES)

add("LinearLR one epoch too short", "LinearLR",
    "the ramp is one epoch too short: the factor reaches end_factor at epoch total_iters",
    linear("max(self.total_iters - 1, 1)"), module=SCHEDULES)

add("LinearLR ignores its arguments", "LinearLR",
    "the arguments are ignored (these are the defaults)", linear("5", "(1 / 3)", "1.0"),
    module=SCHEDULES)


def cosine(rate):
    return closed_form("CosineAnnealingLR", rate)


for part in ("CosineAnnealingLR", "CosineAnnealingLR.past_T_max"):
    add(f"cosine over T_max - 1 ({part})", part,
        "the cosine uses T_max - 1: the rate reaches eta_min at epoch T_max, "
        "cos(pi * epoch / T_max)",
        cosine("self.eta_min + (base - self.eta_min) * (1 + math.cos(math.pi * t / "
               "(self.T_max - 1))) / 2"), module=SCHEDULES)
    add(f"cosine without eta_min ({part})", part,
        "eta_min is ignored: eta_min + (lr0 - eta_min) * (1 + cos(pi t / T_max)) / 2",
        cosine("base * (1 + math.cos(math.pi * t / self.T_max)) / 2"), module=SCHEDULES)
    add(f"cosine stays at eta_min ({part})", part,
        "after T_max the rate stays at eta_min, but torch's schedule goes on along the cosine "
        "(it climbs back up)",
        cosine("self.eta_min + (base - self.eta_min) * (1 + math.cos(math.pi * min(t, "
               "self.T_max) / self.T_max)) / 2"), module=SCHEDULES)
    add(f"cosine restarts at T_max ({part})", part,
        "the schedule restarts at T_max (that is CosineAnnealingWarmRestarts); "
        "CosineAnnealingLR follows the cosine, back up to lr0 at 2 * T_max",
        cosine("self.eta_min + (base - self.eta_min) * (1 + math.cos(math.pi * (t % self.T_max)"
               " / self.T_max)) / 2"), module=SCHEDULES)
    add(f"cosine scales lr0 ({part})", part,
        "the cosine term scales lr0 - eta_min, not lr0",
        cosine("base * (1 + math.cos(math.pi * t / self.T_max)) / 2 + self.eta_min"),
        module=SCHEDULES)


def sequential(current, restart_when, restart):
    """A ``SequentialLR.step`` that picks the ``current`` scheduler's index, restarts it when
    ``restart_when`` holds, and restarts it with the code ``restart``."""
    return f"""
    def _step(self):
        self.last_epoch += 1
        index = {current}
        scheduler = self.schedulers[index]
        if index > 0 and {restart_when}:
            {restart.replace("; ", chr(10) + " " * 12)}
        else:
            scheduler.step()
        self._last_lr = scheduler.get_last_lr()
    SequentialLR.step = _step
    """


RESTART = "self.optimizer.lr = self.base_lr; scheduler.last_epoch = -1; scheduler._initial_step()"

add("SequentialLR switches one epoch late", "SequentialLR",
    "the switch comes one epoch late: the next scheduler starts at the milestone epoch",
    sequential("sum(m < self.last_epoch for m in self.milestones)",
               "self.milestones[index - 1] + 1 == self.last_epoch", RESTART), module=SCHEDULES)

add("SequentialLR switches one epoch early", "SequentialLR",
    "the switch comes one epoch early: the next scheduler starts at the milestone epoch",
    sequential("sum(m <= self.last_epoch + 1 for m in self.milestones)",
               "self.milestones[index - 1] - 1 == self.last_epoch", RESTART), module=SCHEDULES)

add("SequentialLR keeps the last rate", "SequentialLR",
    "at the milestone the learning rate must go back to its base value before the next "
    "scheduler restarts",
    sequential("sum(m <= self.last_epoch for m in self.milestones)",
               "self.milestones[index - 1] == self.last_epoch",
               "scheduler.last_epoch = -1; scheduler._initial_step()"), module=SCHEDULES)

add("SequentialLR restarts at the global epoch", "SequentialLR",
    "the cosine does not restart at the milestone: it must start from its own epoch 0 "
    "(epoch - milestone), not from the global epoch", cosine(
        "self.eta_min + (base - self.eta_min) * (1 + math.cos(math.pi * t / self.T_max)) / 2")
    + sequential("sum(m <= self.last_epoch for m in self.milestones)",
                 "self.milestones[index - 1] == self.last_epoch",
                 "scheduler.last_epoch = self.last_epoch - 1; scheduler.step()"),
    module=SCHEDULES)

# ---------------------------------------------------------------- DataLoader

add("DataLoader drops the last batch", "DataLoader.epoch",
    "the last, smaller batch is missing: keep it unless drop_last=True (PyTorch's default is "
    "drop_last=False)", """
    _right_iter = DataLoader.__iter__
    def _iter(self):
        for X_batch, y_batch in _right_iter(self):
            if len(X_batch) == self.batch_size:
                yield X_batch, y_batch
    DataLoader.__iter__ = _iter
    """, module=LOADER)

add("DataLoader len without the last batch", "DataLoader.epoch",
    "count the last, smaller batch: ceil(N / batch_size)", """
    DataLoader.__len__ = lambda self: len(self.X) // self.batch_size
    """, module=LOADER)

add("DataLoader draws with replacement", "DataLoader.epoch",
    "draw one permutation per epoch, not random indices with replacement", """
    def _iter(self):
        n = len(self.X)
        for start in range(0, n, self.batch_size):
            batch = self.rng.integers(0, n, min(self.batch_size, n - start))
            yield self.X[batch], self.y[batch]
    DataLoader.__iter__ = _iter
    """, module=LOADER)

add("DataLoader ignores drop_last", "DataLoader.drop_last",
    "with drop_last=True, leave out the last batch when it is smaller than batch_size", """
    _right_init = DataLoader.__init__
    def _init(self, X, y, batch_size, shuffle=True, seed=0, drop_last=False, *, rng=None):
        _right_init(self, X, y, batch_size, shuffle, seed, False, rng=rng)
    DataLoader.__init__ = _init
    """, module=LOADER)
