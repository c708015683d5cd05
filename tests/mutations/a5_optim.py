"""Held-out wrong code and correct alternatives for a5_optim (see tests/test_mutations.py).

A held-out bug is realistic wrong code written apart from the catalogue of mistakes; its
"explanation" is the text the part's message must contain.
"""
from autograder.mistakes import Catalogue

OPTIMIZERS = "optim/__init__.py"
SCHEDULES = "optim/lr_scheduler.py"
LOADER = "data.py"

HELD_OUT = Catalogue("a5_optim", module=OPTIMIZERS)

HELD_OUT.add(
    "sgd climbs the gradient", "SGD.plain",
    "it climbs", """
    def _update(self, param, grad, state):
        param.data += self.lr * grad
    SGD.update = _update
    """)

HELD_OUT.add(
    "sgd momentum as an average", "SGD.momentum",
    "the buffer is an average", """
    def _update(self, param, grad, state):
        if self.weight_decay:
            grad = grad + self.weight_decay * param.data
        if self.momentum:
            buf = state.get("momentum_buffer", np.zeros_like(grad))
            buf = self.momentum * buf + (1 - self.momentum) * grad
            state["momentum_buffer"] = buf
            grad = grad + self.momentum * buf if self.nesterov else buf
        param.data -= self.lr * grad
    SGD.update = _update
    """)

HELD_OUT.add(
    "sgd velocity holds the learning rate", "SGD.momentum",
    "the learning rate is inside the buffer", """
    def _update(self, param, grad, state):
        if self.momentum:
            v = state.get("velocity", np.zeros_like(grad))
            state["velocity"] = self.momentum * v - self.lr * grad
            param.data += state["velocity"]
        else:
            param.data -= self.lr * grad
    SGD.update = _update
    """)

HELD_OUT.add(
    "sgd momentum buffer not kept", "SGD.momentum",
    "momentum has no effect", """
    def _update(self, param, grad, state):
        buf = grad.copy()
        param.data -= self.lr * (grad + self.momentum * buf if self.nesterov else buf)
    SGD.update = _update
    """)

HELD_OUT.add(
    "nesterov done as plain momentum", "SGD.nesterov",
    "that is plain momentum", """
    def _update(self, param, grad, state):
        grad = grad + self.weight_decay * param.data
        if self.momentum:
            buf = state.get("momentum_buffer")
            buf = grad.copy() if buf is None else self.momentum * buf + grad
            state["momentum_buffer"] = buf
            grad = buf
        param.data -= self.lr * grad
    SGD.update = _update
    """)

HELD_OUT.add(
    "nesterov forgets the gradient", "SGD.nesterov",
    "add the gradient itself", """
    def _update(self, param, grad, state):
        grad = grad + self.weight_decay * param.data
        if self.momentum:
            buf = state.get("momentum_buffer")
            buf = grad.copy() if buf is None else self.momentum * buf + grad
            state["momentum_buffer"] = buf
            grad = self.momentum * buf if self.nesterov else buf
        param.data -= self.lr * grad
    SGD.update = _update
    """)

HELD_OUT.add(
    "sgd weight decay applied after the momentum", "SGD.weight_decay",
    "the momentum buffer, as torch does", """
    def _update(self, param, grad, state):
        if self.momentum:
            buf = state.get("momentum_buffer")
            buf = grad.copy() if buf is None else self.momentum * buf + grad
            state["momentum_buffer"] = buf
            grad = grad + self.momentum * buf if self.nesterov else buf
        param.data -= self.lr * (grad + self.weight_decay * param.data)
    SGD.update = _update
    """)

HELD_OUT.add(
    "sgd learning rate cached in the constructor", "Optimizer.lr_changes",
    "read self.lr in the update", """
    _sgd_init = SGD.__init__
    def _init(self, params, lr, **kwargs):
        _sgd_init(self, params, lr, **kwargs)
        self.lr0 = lr
    def _update(self, param, grad, state):
        buf = state.get("momentum_buffer")
        buf = grad.copy() if buf is None else self.momentum * buf + grad
        state["momentum_buffer"] = buf
        param.data -= self.lr0 * (buf if self.momentum else grad)
    SGD.__init__ = _init
    SGD.update = _update
    """)

HELD_OUT.add(
    "adagrad eps inside the sqrt", "Adagrad.options",
    "eps goes outside the square root", """
    def _update(self, param, grad, state):
        grad = grad + self.weight_decay * param.data
        state["sum"] = state.get("sum", 0.0) + grad ** 2
        param.data -= self.lr * grad / np.sqrt(state["sum"] + self.eps)
    Adagrad.update = _update
    """)

HELD_OUT.add(
    "adagrad does not accumulate", "Adagrad",
    "not accumulated", """
    def _update(self, param, grad, state):
        param.data -= self.lr * grad / (np.abs(grad) + self.eps)
    Adagrad.update = _update
    """)

HELD_OUT.add(
    "adagrad without the square root", "Adagrad",
    "divide by the square root of the sum", """
    def _update(self, param, grad, state):
        state["sum"] = state.get("sum", 0.0) + grad ** 2
        param.data -= self.lr * grad / (state["sum"] + self.eps)
    Adagrad.update = _update
    """)

HELD_OUT.add(
    "rmsprop sqrt(v + eps)", "RMSprop.options",
    "eps goes outside the square root", """
    def _update(self, param, grad, state):
        v = self.alpha * state.get("v", 0.0) + (1 - self.alpha) * grad ** 2
        state["v"] = v
        step = grad / np.sqrt(v + self.eps)
        if self.momentum:
            state["buf"] = self.momentum * state.get("buf", 0.0) + step
            step = state["buf"]
        param.data -= self.lr * step
    RMSprop.update = _update
    """)

HELD_OUT.add(
    "rmsprop alpha swapped", "RMSprop",
    "the average weights are swapped", """
    def _update(self, param, grad, state):
        state["v"] = (1 - self.alpha) * state.get("v", 0.0) + self.alpha * grad ** 2
        param.data -= self.lr * grad / (np.sqrt(state["v"]) + self.eps)
    RMSprop.update = _update
    """)

HELD_OUT.add(
    "rmsprop with bias correction", "RMSprop",
    "RMSprop has no bias correction", """
    def _update(self, param, grad, state):
        state["t"] = state.get("t", 0) + 1
        state["v"] = self.alpha * state.get("v", 0.0) + (1 - self.alpha) * grad ** 2
        v_hat = state["v"] / (1 - self.alpha ** state["t"])
        param.data -= self.lr * grad / (np.sqrt(v_hat) + self.eps)
    RMSprop.update = _update
    """)

HELD_OUT.add(
    "rmsprop momentum on the raw gradient", "RMSprop.options",
    "accumulates the *scaled* gradient", """
    def _update(self, param, grad, state):
        state["v"] = self.alpha * state.get("v", 0.0) + (1 - self.alpha) * grad ** 2
        state["buf"] = self.momentum * state.get("buf", 0.0) + grad
        param.data -= self.lr * state["buf"] / (np.sqrt(state["v"]) + self.eps)
    RMSprop.update = _update
    """)

HELD_OUT.add(
    "adam without bias correction", "Adam",
    "there is no bias correction", """
    def _adam_step(self, param, grad, state):
        b1, b2 = self.betas
        state["m"] = b1 * state.get("m", 0.0) + (1 - b1) * grad
        state["v"] = b2 * state.get("v", 0.0) + (1 - b2) * grad ** 2
        param.data -= self.lr * state["m"] / (np.sqrt(state["v"]) + self.eps)
    Adam.adam_step = _adam_step
    """)

HELD_OUT.add(
    "adam eps inside the sqrt", "Adam.options",
    "eps goes outside the square root", """
    def _adam_step(self, param, grad, state):
        b1, b2 = self.betas
        state["t"] = t = state.get("t", 0) + 1
        state["m"] = b1 * state.get("m", 0.0) + (1 - b1) * grad
        state["v"] = b2 * state.get("v", 0.0) + (1 - b2) * grad ** 2
        m_hat, v_hat = state["m"] / (1 - b1 ** t), state["v"] / (1 - b2 ** t)
        param.data -= self.lr * m_hat / np.sqrt(v_hat + self.eps)
    Adam.adam_step = _adam_step
    """)

HELD_OUT.add(
    "adam step count from 2", "Adam",
    "the step count t is off by one", """
    def _adam_step(self, param, grad, state):
        b1, b2 = self.betas
        state["t"] = state.get("t", 1) + 1
        t = state["t"]
        state["m"] = b1 * state.get("m", 0.0) + (1 - b1) * grad
        state["v"] = b2 * state.get("v", 0.0) + (1 - b2) * grad ** 2
        m_hat, v_hat = state["m"] / (1 - b1 ** t), state["v"] / (1 - b2 ** t)
        param.data -= self.lr * m_hat / (np.sqrt(v_hat) + self.eps)
    Adam.adam_step = _adam_step
    """)

HELD_OUT.add(
    "adam betas swapped", "Adam",
    "the betas are swapped", """
    def _adam_step(self, param, grad, state):
        b2, b1 = self.betas
        state["t"] = t = state.get("t", 0) + 1
        state["m"] = b1 * state.get("m", 0.0) + (1 - b1) * grad
        state["v"] = b2 * state.get("v", 0.0) + (1 - b2) * grad ** 2
        m_hat, v_hat = state["m"] / (1 - b1 ** t), state["v"] / (1 - b2 ** t)
        param.data -= self.lr * m_hat / (np.sqrt(v_hat) + self.eps)
    Adam.adam_step = _adam_step
    """)

HELD_OUT.add(
    "adam with decoupled decay", "Adam.weight_decay",
    "that is AdamW's decoupled decay", """
    def _update(self, param, grad, state):
        param.data -= self.lr * self.weight_decay * param.data
        self.adam_step(param, grad, state)
    Adam.update = _update
    """)

HELD_OUT.add(
    "adamw with coupled weight decay", "AdamW",
    "that is Adam with an L2 term in the gradient", """
    AdamW.update = Adam.update
    """)

HELD_OUT.add(
    "adamw decay without the learning rate", "AdamW",
    "multiply by lr too", """
    def _update(self, param, grad, state):
        param.data -= self.weight_decay * param.data
        self.adam_step(param, grad, state)
    AdamW.update = _update
    """)

HELD_OUT.add(
    "adamw decay after the step", "AdamW",
    "decay the weights before the Adam step", """
    def _update(self, param, grad, state):
        self.adam_step(param, grad, state)
        param.data -= self.lr * self.weight_decay * param.data
    AdamW.update = _update
    """)

HELD_OUT.add(
    "adamw default weight decay 0", "AdamW",
    "default weight_decay is 0.01", """
    _adamw_init = AdamW.__init__
    def _init(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        _adamw_init(self, params, lr, betas, eps, weight_decay)
    AdamW.__init__ = _init
    """)

HELD_OUT.add(
    "steplr decays one epoch early", "StepLR",
    "it decays one epoch early", """
    def _get_lr(self):
        if (self.last_epoch + 1) % self.step_size == 0:
            return self.optimizer.lr * self.gamma
        return self.optimizer.lr
    StepLR.get_lr = _get_lr
    """, module=SCHEDULES)

HELD_OUT.add(
    "steplr decays at epoch 0", "StepLR",
    "epoch 0 is decayed already", """
    def _get_lr(self):
        return self.base_lr * self.gamma ** (self.last_epoch // self.step_size + 1)
    StepLR.get_lr = _get_lr
    """, module=SCHEDULES)

HELD_OUT.add(
    "steplr decays every epoch", "StepLR",
    "it decays at every epoch", """
    def _get_lr(self):
        return self.base_lr * self.gamma ** self.last_epoch
    StepLR.get_lr = _get_lr
    """, module=SCHEDULES)

HELD_OUT.add(
    "linearlr does not stop at total_iters", "LinearLR",
    "stop changing at total_iters", """
    def _get_lr(self):
        t = self.last_epoch
        return self.base_lr * (self.start_factor + (self.end_factor - self.start_factor)
                               * t / self.total_iters)
    LinearLR.get_lr = _get_lr
    """, module=SCHEDULES)

HELD_OUT.add(
    "linearlr ramp one epoch too long", "LinearLR",
    "the ramp is one epoch too long", """
    def _get_lr(self):
        t = min(self.last_epoch, self.total_iters + 1)
        return self.base_lr * (self.start_factor + (self.end_factor - self.start_factor)
                               * t / (self.total_iters + 1))
    LinearLR.get_lr = _get_lr
    """, module=SCHEDULES)

HELD_OUT.add(
    "linearlr ignores its arguments", "LinearLR",
    "the arguments are ignored", """
    def _get_lr(self):
        t = min(self.last_epoch, 5)
        return self.base_lr * (1 / 3 + (1 - 1 / 3) * t / 5)
    LinearLR.get_lr = _get_lr
    """, module=SCHEDULES)

HELD_OUT.add(
    "cosine with T_max - 1", "CosineAnnealingLR",
    "the cosine uses T_max - 1", """
    import math
    def _get_lr(self):
        t, low = self.last_epoch, self.eta_min
        return low + (self.base_lr - low) * (1 + math.cos(math.pi * t / (self.T_max - 1))) / 2
    CosineAnnealingLR.get_lr = _get_lr
    """, module=SCHEDULES)

HELD_OUT.add(
    "cosine ignores eta_min", "CosineAnnealingLR",
    "eta_min is ignored", """
    import math
    def _get_lr(self):
        return self.base_lr * (1 + math.cos(math.pi * self.last_epoch / self.T_max)) / 2
    CosineAnnealingLR.get_lr = _get_lr
    """, module=SCHEDULES)

HELD_OUT.add(
    "cosine stops at T_max", "CosineAnnealingLR",
    "after T_max the rate stays at eta_min", """
    import math
    def _get_lr(self):
        t, low = min(self.last_epoch, self.T_max), self.eta_min
        return low + (self.base_lr - low) * (1 + math.cos(math.pi * t / self.T_max)) / 2
    CosineAnnealingLR.get_lr = _get_lr
    """, module=SCHEDULES)

HELD_OUT.add(
    "cosine restarts at T_max", "CosineAnnealingLR",
    "that is CosineAnnealingWarmRestarts", """
    import math
    def _get_lr(self):
        t, low = self.last_epoch % self.T_max, self.eta_min
        return low + (self.base_lr - low) * (1 + math.cos(math.pi * t / self.T_max)) / 2
    CosineAnnealingLR.get_lr = _get_lr
    """, module=SCHEDULES)

HELD_OUT.add(
    "sequential does not restart the next scheduler", "SequentialLR",
    "epoch 5 is a milestone", """
    def _step(self):
        self.last_epoch += 1
        index = sum(1 for m in self.milestones if m <= self.last_epoch)
        scheduler = self.schedulers[index]
        scheduler.step()
        self._last_lr = scheduler.get_last_lr()
    SequentialLR.step = _step
    """, module=SCHEDULES)

HELD_OUT.add(
    "sequential switches one epoch late", "SequentialLR",
    "the switch comes one epoch late", """
    def _step(self):
        self.last_epoch += 1
        index = sum(1 for m in self.milestones if m < self.last_epoch)
        scheduler = self.schedulers[index]
        if index > 0 and self.milestones[index - 1] + 1 == self.last_epoch:
            self.optimizer.lr = scheduler.base_lr
            scheduler.last_epoch = -1
            scheduler._initial_step()
        else:
            scheduler.step()
        self._last_lr = scheduler.get_last_lr()
    SequentialLR.step = _step
    """, module=SCHEDULES)

HELD_OUT.add(
    "sequential keeps the warmup's last lr", "SequentialLR",
    "must go back to its base value", """
    def _step(self):
        self.last_epoch += 1
        index = sum(1 for m in self.milestones if m <= self.last_epoch)
        scheduler = self.schedulers[index]
        if index > 0 and self.milestones[index - 1] == self.last_epoch:
            scheduler.last_epoch = -1
            scheduler._initial_step()
        else:
            scheduler.step()
        self._last_lr = scheduler.get_last_lr()
    SequentialLR.step = _step
    """, module=SCHEDULES)

HELD_OUT.add(
    "sequential restarts only at the first milestone", "SequentialLR.three",
    "epoch 20 is a milestone", """
    def _step(self):
        self.last_epoch += 1
        index = sum(1 for m in self.milestones if m <= self.last_epoch)
        scheduler = self.schedulers[index]
        if index == 1 and self.milestones[0] == self.last_epoch:
            self.optimizer.lr = self.base_lr
            scheduler.last_epoch = -1
            scheduler._initial_step()
        else:
            scheduler.step()
        self._last_lr = scheduler.get_last_lr()
    SequentialLR.step = _step
    """, module=SCHEDULES)

HELD_OUT.add(
    "dataloader drops the last batch by default", "DataLoader.epoch",
    "the last, smaller batch is missing", """
    def _iter(self):
        order = self.rng.permutation(len(self.X)) if self.shuffle else np.arange(len(self.X))
        for start in range(0, len(self.X) - self.batch_size + 1, self.batch_size):
            batch = order[start:start + self.batch_size]
            yield self.X[batch], self.y[batch]
    DataLoader.__iter__ = _iter
    DataLoader.__len__ = lambda self: len(self.X) // self.batch_size
    """, module=LOADER)

HELD_OUT.add(
    "dataloader len without the partial batch", "DataLoader.epoch",
    "count the last, smaller batch", """
    DataLoader.__len__ = lambda self: len(self.X) // self.batch_size
    """, module=LOADER)

HELD_OUT.add(
    "dataloader samples with replacement", "DataLoader.epoch",
    "not random indices with replacement", """
    def _iter(self):
        n = len(self.X)
        order = self.rng.integers(0, n, n) if self.shuffle else np.arange(n)
        for start in range(0, n, self.batch_size):
            batch = order[start:start + self.batch_size]
            yield self.X[batch], self.y[batch]
    DataLoader.__iter__ = _iter
    """, module=LOADER)

HELD_OUT.add(
    "dataloader shuffles X and y separately", "DataLoader.epoch",
    "X_batch and y_batch do not match", """
    def _iter(self):
        n = len(self.X)
        xs, ys = self.rng.permutation(n), self.rng.permutation(n)
        for start in range(0, n, self.batch_size):
            end = start + self.batch_size
            yield self.X[xs[start:end]], self.y[ys[start:end]]
    DataLoader.__iter__ = _iter
    """, module=LOADER)

HELD_OUT.add(
    "dataloader same order every epoch", "DataLoader.shuffle",
    "every epoch has the same order", """
    def _iter(self):
        n = len(self.X)
        order = np.random.default_rng(0).permutation(n) if self.shuffle else np.arange(n)
        for start in range(0, n, self.batch_size):
            batch = order[start:start + self.batch_size]
            yield self.X[batch], self.y[batch]
    DataLoader.__iter__ = _iter
    """, module=LOADER)

HELD_OUT.add(
    "dataloader draws from the global generator", "DataLoader.shuffle",
    "not from the global np.random", """
    def _iter(self):
        n = len(self.X)
        order = np.random.permutation(n) if self.shuffle else np.arange(n)
        for start in range(0, n, self.batch_size):
            batch = order[start:start + self.batch_size]
            yield self.X[batch], self.y[batch]
    DataLoader.__iter__ = _iter
    """, module=LOADER)

HELD_OUT.add(
    "dataloader ignores drop_last", "DataLoader.drop_last",
    "leave out the last batch", """
    DataLoader.__len__ = lambda self: -(-len(self.X) // self.batch_size)
    def _iter(self):
        n = len(self.X)
        order = self.rng.permutation(n) if self.shuffle else np.arange(n)
        for start in range(0, n, self.batch_size):
            batch = order[start:start + self.batch_size]
            yield self.X[batch], self.y[batch]
    DataLoader.__iter__ = _iter
    """, module=LOADER)


# Optimizers written differently: state kept with setdefault and in-place numpy ops, Adam
# with the bias correction folded into the step size (torch's "efficient" form, equal
# mathematically), AdamW decaying with an explicit multiplication; and (SCHEDULES_A) every
# schedule in closed form, not PyTorch's chainable form.
ALTERNATIVE_A = '''
import math


def _sgd_update(self, param, grad, state):
    d_p = grad + self.weight_decay * param.data if self.weight_decay else grad
    if self.momentum:
        buf = state.setdefault("buf", None)
        if buf is None:
            buf = state["buf"] = np.array(d_p)
        else:
            buf *= self.momentum
            buf += d_p
        d_p = d_p + self.momentum * buf if self.nesterov else buf
    np.subtract(param.data, self.lr * d_p, out=param.data)


def _adagrad_update(self, param, grad, state):
    if self.weight_decay:
        grad = grad + self.weight_decay * param.data
    acc = state.setdefault("acc", np.zeros_like(param.data))
    np.add(acc, np.square(grad), out=acc)
    param.data -= self.lr * grad / (np.sqrt(acc) + self.eps)


def _rmsprop_update(self, param, grad, state):
    if self.weight_decay:
        grad = grad + self.weight_decay * param.data
    sq = state.setdefault("sq", np.zeros_like(param.data))
    sq *= self.alpha
    sq += (1 - self.alpha) * grad * grad
    step = grad / (np.sqrt(sq) + self.eps)
    if self.momentum:
        buf = state.setdefault("buf", np.zeros_like(param.data))
        buf *= self.momentum
        buf += step
        step = buf
    param.data -= self.lr * step


def _adam_step(self, param, grad, state):
    beta1, beta2 = self.betas
    state["n"] = state.get("n", 0) + 1
    m = state.setdefault("m", np.zeros_like(param.data))
    v = state.setdefault("v", np.zeros_like(param.data))
    m += (1 - beta1) * (grad - m)
    v *= beta2
    v += (1 - beta2) * grad ** 2
    correction1 = 1 - beta1 ** state["n"]
    correction2 = math.sqrt(1 - beta2 ** state["n"])
    step_size = self.lr * correction2 / correction1
    param.data -= step_size * m / (np.sqrt(v) + self.eps * correction2)


def _adamw_update(self, param, grad, state):
    param.data = param.data * (1.0 - self.lr * self.weight_decay)
    self.adam_step(param, grad, state)


SGD.update = _sgd_update
Adagrad.update = _adagrad_update
RMSprop.update = _rmsprop_update
Adam.adam_step = _adam_step
AdamW.update = _adamw_update
'''

SCHEDULES_A = '''
import math


def _step_lr(self):
    return self.base_lr * self.gamma ** (self.last_epoch // self.step_size)


def _linear_lr(self):
    fraction = min(self.last_epoch, self.total_iters) / self.total_iters
    return self.base_lr * (self.start_factor
                           + (self.end_factor - self.start_factor) * fraction)


def _cosine_lr(self):
    cosine = math.cos(math.pi * self.last_epoch / self.T_max)
    return self.eta_min + 0.5 * (self.base_lr - self.eta_min) * (1 + cosine)


def _sequential_step(self):
    self.last_epoch += 1
    index = 0
    for milestone in self.milestones:
        if self.last_epoch >= milestone:
            index += 1
    scheduler = self.schedulers[index]
    if index and self.last_epoch == self.milestones[index - 1]:
        scheduler.last_epoch = -1
        self.optimizer.lr = self.base_lr
        scheduler.step()
    else:
        scheduler.step()
    self._last_lr = scheduler.get_last_lr()


StepLR.get_lr = _step_lr
LinearLR.get_lr = _linear_lr
CosineAnnealingLR.get_lr = _cosine_lr
SequentialLR.step = _sequential_step
'''


# A DataLoader that shuffles the indices in place and walks them with a while loop, with
# the number of batches computed by math.ceil.
ALTERNATIVE_B = '''
import math


def _len(self):
    count = len(self.y) / self.batch_size
    return math.floor(count) if self.drop_last else math.ceil(count)


def _iter(self):
    indices = np.arange(len(self.y))
    if self.shuffle:
        self.rng.shuffle(indices)
    start = 0
    while start < len(indices):
        batch = indices[start:start + self.batch_size]
        if self.drop_last and len(batch) < self.batch_size:
            break
        yield self.X[batch], self.y[batch]
        start += self.batch_size


DataLoader.__len__ = _len
DataLoader.__iter__ = _iter
'''


ALTERNATIVES = {"A": {OPTIMIZERS: ALTERNATIVE_A, SCHEDULES: SCHEDULES_A},
                "B": {LOADER: ALTERNATIVE_B}}
