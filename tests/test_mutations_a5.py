"""Mutation suite for a5_optim: realistic student bugs must lose points with the right
message, and correct implementations written differently from the reference must get full
marks.

Each bug is source appended to the solved ``minidl/optim.py`` or ``minidl/data.py`` (a later
``def`` replaces an earlier one; methods are re-assigned on their class). Each graded class
has at least three bugs.
"""
import shutil
import textwrap

import pytest

from autograder.grading import check_submission

# bug name -> (module, source appended to it, class, part that fails, message)
BUGS = {
    # ---- SGD
    "sgd climbs the gradient": ("optim", """
        def _update(self, param, grad, state):
            param.data += self.lr * grad
        SGD.update = _update
        """, "SGD", "SGD.plain", "it climbs"),
    "sgd momentum as an average": ("optim", """
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
        """, "SGD", "SGD.momentum", "the buffer is an average"),
    "sgd velocity holds the learning rate": ("optim", """
        def _update(self, param, grad, state):
            if self.momentum:
                v = state.get("velocity", np.zeros_like(grad))
                state["velocity"] = self.momentum * v - self.lr * grad
                param.data += state["velocity"]
            else:
                param.data -= self.lr * grad
        SGD.update = _update
        """, "SGD", "SGD.momentum", "the learning rate is inside the buffer"),
    "sgd momentum buffer not kept": ("optim", """
        def _update(self, param, grad, state):
            buf = grad.copy()
            param.data -= self.lr * (grad + self.momentum * buf if self.nesterov else buf)
        SGD.update = _update
        """, "SGD", "SGD.momentum", "momentum has no effect"),
    "nesterov done as plain momentum": ("optim", """
        def _update(self, param, grad, state):
            grad = grad + self.weight_decay * param.data
            if self.momentum:
                buf = state.get("momentum_buffer")
                buf = grad.copy() if buf is None else self.momentum * buf + grad
                state["momentum_buffer"] = buf
                grad = buf
            param.data -= self.lr * grad
        SGD.update = _update
        """, "SGD", "SGD.nesterov", "that is plain momentum"),
    "nesterov forgets the gradient": ("optim", """
        def _update(self, param, grad, state):
            grad = grad + self.weight_decay * param.data
            if self.momentum:
                buf = state.get("momentum_buffer")
                buf = grad.copy() if buf is None else self.momentum * buf + grad
                state["momentum_buffer"] = buf
                grad = self.momentum * buf if self.nesterov else buf
            param.data -= self.lr * grad
        SGD.update = _update
        """, "SGD", "SGD.nesterov", "add the gradient itself"),
    "sgd weight decay applied after the momentum": ("optim", """
        def _update(self, param, grad, state):
            if self.momentum:
                buf = state.get("momentum_buffer")
                buf = grad.copy() if buf is None else self.momentum * buf + grad
                state["momentum_buffer"] = buf
                grad = grad + self.momentum * buf if self.nesterov else buf
            param.data -= self.lr * (grad + self.weight_decay * param.data)
        SGD.update = _update
        """, "SGD", "SGD.weight_decay", "the momentum buffer, as torch does"),
    "sgd learning rate cached in the constructor": ("optim", """
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
        """, "SGD", "Optimizer.lr_changes", "read self.lr in the update"),
    # ---- Adagrad
    "adagrad eps inside the sqrt": ("optim", """
        def _update(self, param, grad, state):
            grad = grad + self.weight_decay * param.data
            state["sum"] = state.get("sum", 0.0) + grad ** 2
            param.data -= self.lr * grad / np.sqrt(state["sum"] + self.eps)
        Adagrad.update = _update
        """, "Adagrad", "Adagrad.options", "eps goes outside the square root"),
    "adagrad does not accumulate": ("optim", """
        def _update(self, param, grad, state):
            param.data -= self.lr * grad / (np.abs(grad) + self.eps)
        Adagrad.update = _update
        """, "Adagrad", "Adagrad", "not accumulated"),
    "adagrad without the square root": ("optim", """
        def _update(self, param, grad, state):
            state["sum"] = state.get("sum", 0.0) + grad ** 2
            param.data -= self.lr * grad / (state["sum"] + self.eps)
        Adagrad.update = _update
        """, "Adagrad", "Adagrad", "divide by the square root of the sum"),
    # ---- RMSprop
    "rmsprop sqrt(v + eps)": ("optim", """
        def _update(self, param, grad, state):
            v = self.alpha * state.get("v", 0.0) + (1 - self.alpha) * grad ** 2
            state["v"] = v
            step = grad / np.sqrt(v + self.eps)
            if self.momentum:
                state["buf"] = self.momentum * state.get("buf", 0.0) + step
                step = state["buf"]
            param.data -= self.lr * step
        RMSprop.update = _update
        """, "RMSprop", "RMSprop.options", "eps goes outside the square root"),
    "rmsprop alpha swapped": ("optim", """
        def _update(self, param, grad, state):
            state["v"] = (1 - self.alpha) * state.get("v", 0.0) + self.alpha * grad ** 2
            param.data -= self.lr * grad / (np.sqrt(state["v"]) + self.eps)
        RMSprop.update = _update
        """, "RMSprop", "RMSprop", "the average weights are swapped"),
    "rmsprop with bias correction": ("optim", """
        def _update(self, param, grad, state):
            state["t"] = state.get("t", 0) + 1
            state["v"] = self.alpha * state.get("v", 0.0) + (1 - self.alpha) * grad ** 2
            v_hat = state["v"] / (1 - self.alpha ** state["t"])
            param.data -= self.lr * grad / (np.sqrt(v_hat) + self.eps)
        RMSprop.update = _update
        """, "RMSprop", "RMSprop", "RMSprop has no bias correction"),
    "rmsprop momentum on the raw gradient": ("optim", """
        def _update(self, param, grad, state):
            state["v"] = self.alpha * state.get("v", 0.0) + (1 - self.alpha) * grad ** 2
            state["buf"] = self.momentum * state.get("buf", 0.0) + grad
            param.data -= self.lr * state["buf"] / (np.sqrt(state["v"]) + self.eps)
        RMSprop.update = _update
        """, "RMSprop", "RMSprop.options", "accumulates the *scaled* gradient"),
    # ---- Adam
    "adam without bias correction": ("optim", """
        def _adam_step(self, param, grad, state):
            b1, b2 = self.betas
            state["m"] = b1 * state.get("m", 0.0) + (1 - b1) * grad
            state["v"] = b2 * state.get("v", 0.0) + (1 - b2) * grad ** 2
            param.data -= self.lr * state["m"] / (np.sqrt(state["v"]) + self.eps)
        Adam.adam_step = _adam_step
        """, "Adam", "Adam", "there is no bias correction"),
    "adam eps inside the sqrt": ("optim", """
        def _adam_step(self, param, grad, state):
            b1, b2 = self.betas
            state["t"] = t = state.get("t", 0) + 1
            state["m"] = b1 * state.get("m", 0.0) + (1 - b1) * grad
            state["v"] = b2 * state.get("v", 0.0) + (1 - b2) * grad ** 2
            m_hat, v_hat = state["m"] / (1 - b1 ** t), state["v"] / (1 - b2 ** t)
            param.data -= self.lr * m_hat / np.sqrt(v_hat + self.eps)
        Adam.adam_step = _adam_step
        """, "Adam", "Adam.options", "eps goes outside the square root"),
    "adam step count from 2": ("optim", """
        def _adam_step(self, param, grad, state):
            b1, b2 = self.betas
            state["t"] = state.get("t", 1) + 1
            t = state["t"]
            state["m"] = b1 * state.get("m", 0.0) + (1 - b1) * grad
            state["v"] = b2 * state.get("v", 0.0) + (1 - b2) * grad ** 2
            m_hat, v_hat = state["m"] / (1 - b1 ** t), state["v"] / (1 - b2 ** t)
            param.data -= self.lr * m_hat / (np.sqrt(v_hat) + self.eps)
        Adam.adam_step = _adam_step
        """, "Adam", "Adam", "the step count t is off by one"),
    "adam betas swapped": ("optim", """
        def _adam_step(self, param, grad, state):
            b2, b1 = self.betas
            state["t"] = t = state.get("t", 0) + 1
            state["m"] = b1 * state.get("m", 0.0) + (1 - b1) * grad
            state["v"] = b2 * state.get("v", 0.0) + (1 - b2) * grad ** 2
            m_hat, v_hat = state["m"] / (1 - b1 ** t), state["v"] / (1 - b2 ** t)
            param.data -= self.lr * m_hat / (np.sqrt(v_hat) + self.eps)
        Adam.adam_step = _adam_step
        """, "Adam", "Adam", "the betas are swapped"),
    "adam with decoupled decay": ("optim", """
        def _update(self, param, grad, state):
            param.data -= self.lr * self.weight_decay * param.data
            self.adam_step(param, grad, state)
        Adam.update = _update
        """, "Adam", "Adam.weight_decay", "that is AdamW's decoupled decay"),
    # ---- AdamW
    "adamw with coupled weight decay": ("optim", """
        AdamW.update = Adam.update
        """, "AdamW", "AdamW", "that is Adam with an L2 term in the gradient"),
    "adamw decay without the learning rate": ("optim", """
        def _update(self, param, grad, state):
            param.data -= self.weight_decay * param.data
            self.adam_step(param, grad, state)
        AdamW.update = _update
        """, "AdamW", "AdamW", "multiply by lr too"),
    "adamw decay after the step": ("optim", """
        def _update(self, param, grad, state):
            self.adam_step(param, grad, state)
            param.data -= self.lr * self.weight_decay * param.data
        AdamW.update = _update
        """, "AdamW", "AdamW", "decay the weights before the Adam step"),
    "adamw default weight decay 0": ("optim", """
        _adamw_init = AdamW.__init__
        def _init(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
            _adamw_init(self, params, lr, betas, eps, weight_decay)
        AdamW.__init__ = _init
        """, "AdamW", "AdamW", "default weight_decay is 0.01"),
    # ---- StepLR
    "steplr decays one epoch early": ("optim", """
        def _get_lr(self):
            if (self.last_epoch + 1) % self.step_size == 0:
                return self.optimizer.lr * self.gamma
            return self.optimizer.lr
        StepLR.get_lr = _get_lr
        """, "StepLR", "StepLR", "it decays one epoch early"),
    "steplr decays at epoch 0": ("optim", """
        def _get_lr(self):
            return self.base_lr * self.gamma ** (self.last_epoch // self.step_size + 1)
        StepLR.get_lr = _get_lr
        """, "StepLR", "StepLR", "epoch 0 is decayed already"),
    "steplr decays every epoch": ("optim", """
        def _get_lr(self):
            return self.base_lr * self.gamma ** self.last_epoch
        StepLR.get_lr = _get_lr
        """, "StepLR", "StepLR", "it decays at every epoch"),
    # ---- LinearLR
    "linearlr does not stop at total_iters": ("optim", """
        def _get_lr(self):
            t = self.last_epoch
            return self.base_lr * (self.start_factor + (self.end_factor - self.start_factor)
                                   * t / self.total_iters)
        LinearLR.get_lr = _get_lr
        """, "LinearLR", "LinearLR", "stop changing at total_iters"),
    "linearlr ramp one epoch too long": ("optim", """
        def _get_lr(self):
            t = min(self.last_epoch, self.total_iters + 1)
            return self.base_lr * (self.start_factor + (self.end_factor - self.start_factor)
                                   * t / (self.total_iters + 1))
        LinearLR.get_lr = _get_lr
        """, "LinearLR", "LinearLR", "the ramp is one epoch too long"),
    "linearlr ignores its arguments": ("optim", """
        def _get_lr(self):
            t = min(self.last_epoch, 5)
            return self.base_lr * (1 / 3 + (1 - 1 / 3) * t / 5)
        LinearLR.get_lr = _get_lr
        """, "LinearLR", "LinearLR", "the arguments are ignored"),
    # ---- CosineAnnealingLR
    "cosine with T_max - 1": ("optim", """
        import math
        def _get_lr(self):
            t, low = self.last_epoch, self.eta_min
            return low + (self.base_lr - low) * (1 + math.cos(math.pi * t / (self.T_max - 1))) / 2
        CosineAnnealingLR.get_lr = _get_lr
        """, "CosineAnnealingLR", "CosineAnnealingLR", "the cosine uses T_max - 1"),
    "cosine ignores eta_min": ("optim", """
        import math
        def _get_lr(self):
            return self.base_lr * (1 + math.cos(math.pi * self.last_epoch / self.T_max)) / 2
        CosineAnnealingLR.get_lr = _get_lr
        """, "CosineAnnealingLR", "CosineAnnealingLR", "eta_min is ignored"),
    "cosine stops at T_max": ("optim", """
        import math
        def _get_lr(self):
            t, low = min(self.last_epoch, self.T_max), self.eta_min
            return low + (self.base_lr - low) * (1 + math.cos(math.pi * t / self.T_max)) / 2
        CosineAnnealingLR.get_lr = _get_lr
        """, "CosineAnnealingLR", "CosineAnnealingLR", "after T_max the rate stays at eta_min"),
    "cosine restarts at T_max": ("optim", """
        import math
        def _get_lr(self):
            t, low = self.last_epoch % self.T_max, self.eta_min
            return low + (self.base_lr - low) * (1 + math.cos(math.pi * t / self.T_max)) / 2
        CosineAnnealingLR.get_lr = _get_lr
        """, "CosineAnnealingLR", "CosineAnnealingLR", "that is CosineAnnealingWarmRestarts"),
    # ---- SequentialLR
    "sequential does not restart the next scheduler": ("optim", """
        def _step(self):
            self.last_epoch += 1
            index = sum(1 for m in self.milestones if m <= self.last_epoch)
            scheduler = self.schedulers[index]
            scheduler.step()
            self._last_lr = scheduler.get_last_lr()
        SequentialLR.step = _step
        """, "SequentialLR", "SequentialLR", "epoch 5 is a milestone"),
    "sequential switches one epoch late": ("optim", """
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
        """, "SequentialLR", "SequentialLR", "the switch comes one epoch late"),
    "sequential keeps the warmup's last lr": ("optim", """
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
        """, "SequentialLR", "SequentialLR", "must go back to its base value"),
    # ---- DataLoader
    "dataloader drops the last batch by default": ("data", """
        def _iter(self):
            order = self.rng.permutation(len(self.X)) if self.shuffle else np.arange(len(self.X))
            for start in range(0, len(self.X) - self.batch_size + 1, self.batch_size):
                batch = order[start:start + self.batch_size]
                yield self.X[batch], self.y[batch]
        DataLoader.__iter__ = _iter
        DataLoader.__len__ = lambda self: len(self.X) // self.batch_size
        """, "DataLoader", "DataLoader.epoch", "the last, smaller batch is missing"),
    "dataloader len without the partial batch": ("data", """
        DataLoader.__len__ = lambda self: len(self.X) // self.batch_size
        """, "DataLoader", "DataLoader.epoch", "count the last, smaller batch"),
    "dataloader samples with replacement": ("data", """
        def _iter(self):
            n = len(self.X)
            order = self.rng.integers(0, n, n) if self.shuffle else np.arange(n)
            for start in range(0, n, self.batch_size):
                batch = order[start:start + self.batch_size]
                yield self.X[batch], self.y[batch]
        DataLoader.__iter__ = _iter
        """, "DataLoader", "DataLoader.epoch", "not random indices with replacement"),
    "dataloader shuffles X and y separately": ("data", """
        def _iter(self):
            n = len(self.X)
            xs, ys = self.rng.permutation(n), self.rng.permutation(n)
            for start in range(0, n, self.batch_size):
                end = start + self.batch_size
                yield self.X[xs[start:end]], self.y[ys[start:end]]
        DataLoader.__iter__ = _iter
        """, "DataLoader", "DataLoader.epoch", "X_batch and y_batch do not match"),
    "dataloader same order every epoch": ("data", """
        def _iter(self):
            n = len(self.X)
            order = np.random.default_rng(0).permutation(n) if self.shuffle else np.arange(n)
            for start in range(0, n, self.batch_size):
                batch = order[start:start + self.batch_size]
                yield self.X[batch], self.y[batch]
        DataLoader.__iter__ = _iter
        """, "DataLoader", "DataLoader.shuffle", "every epoch has the same order"),
    "dataloader draws from the global generator": ("data", """
        def _iter(self):
            n = len(self.X)
            order = np.random.permutation(n) if self.shuffle else np.arange(n)
            for start in range(0, n, self.batch_size):
                batch = order[start:start + self.batch_size]
                yield self.X[batch], self.y[batch]
        DataLoader.__iter__ = _iter
        """, "DataLoader", "DataLoader.shuffle", "not from the global np.random"),
    "dataloader ignores drop_last": ("data", """
        DataLoader.__len__ = lambda self: -(-len(self.X) // self.batch_size)
        def _iter(self):
            n = len(self.X)
            order = self.rng.permutation(n) if self.shuffle else np.arange(n)
            for start in range(0, n, self.batch_size):
                batch = order[start:start + self.batch_size]
                yield self.X[batch], self.y[batch]
        DataLoader.__iter__ = _iter
        """, "DataLoader", "DataLoader.drop_last", "leave out the last batch"),
}

CLASSES = ("SGD", "Adagrad", "RMSprop", "Adam", "AdamW", "StepLR", "LinearLR",
           "CosineAnnealingLR", "SequentialLR", "DataLoader")
EXPECTED_FULL_MARKS = 31


def make_submission(solved, tmp_path, module, extra_source):
    """A copy of the solved submission with ``extra_source`` appended to minidl/<module>.py."""
    folder = tmp_path / "submission"
    shutil.copytree(solved, folder)
    path = folder / "minidl" / f"{module}.py"
    path.write_text(path.read_text() + "\n" + textwrap.dedent(extra_source))
    return folder


@pytest.fixture(scope="module")
def solved_a5(solved_submission):
    return solved_submission("a5_optim")


def test_every_graded_class_has_three_bugs():
    counts = {}
    for _, _, family, _, _ in BUGS.values():
        counts[family] = counts.get(family, 0) + 1
    assert set(counts) == set(CLASSES)
    for family in CLASSES:
        assert counts[family] >= 3, family


@pytest.mark.parametrize("bug", sorted(BUGS))
def test_bug_loses_points_with_a_message_that_names_it(bug, solved_a5, tmp_path):
    module, source, _, part_name, expected_message = BUGS[bug]
    report = check_submission("a5_optim",
                              make_submission(solved_a5, tmp_path, module, source), device="cpu")
    results = {result.name: result for result in report.results}
    failed = results[part_name]
    assert not failed.passed and failed.points == 0
    assert expected_message in failed.message, failed.message
    assert report.score < EXPECTED_FULL_MARKS


# Optimizers written differently: state kept with setdefault and in-place numpy ops, Adam
# with the bias correction folded into the step size (torch's "efficient" form, equal
# mathematically), AdamW decaying with an explicit multiplication, and every schedule in
# closed form (not PyTorch's chainable form).
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


@pytest.mark.parametrize(("module", "alternative"),
                         [("optim", ALTERNATIVE_A), ("data", ALTERNATIVE_B)], ids=["A", "B"])
def test_correct_alternatives_get_full_marks(module, alternative, solved_a5, tmp_path):
    report = check_submission("a5_optim",
                              make_submission(solved_a5, tmp_path, module, alternative),
                              device="cpu")
    failures = [f"{r.name}: {r.message}" for r in report.results if not r.passed]
    assert failures == []
    assert report.score == report.max_score == EXPECTED_FULL_MARKS
