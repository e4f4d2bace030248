"""Part 1 checks (visible in hw2utils, hidden in autograder.checks.part1) against right
and deliberately wrong answers."""
import pytest
import torch

import hw2utils
from autograder.checks import part1 as hidden


def descend(loss_fn, x, lr, steps):
    for _ in range(steps):
        loss_fn(x).backward()
        with torch.no_grad():
            x -= lr * x.grad
        x.grad = None
    return x


def descend_other_style(loss_fn, x, lr, steps):
    """Correct too: torch.autograd.grad and .data updates, gradient zeroed instead of None."""
    for _ in range(steps):
        loss = loss_fn(x)
        loss.backward()
        x.data.sub_(lr * x.grad)
        x.grad.zero_()
    return x


def descend_no_clear(loss_fn, x, lr, steps):
    for _ in range(steps):
        loss_fn(x).backward()
        with torch.no_grad():
            x -= lr * x.grad
    return x


def descend_rebinds(loss_fn, x, lr, steps):
    for _ in range(steps):
        loss_fn(x).backward()
        x = (x - lr * x.grad).detach().requires_grad_()
    return x


def descend_ascends(loss_fn, x, lr, steps):
    return descend(loss_fn, x, -lr, steps)


class SGD:
    def __init__(self, parameters, lr=0.1, weight_decay=0.0):
        self.params, self.lr, self.weight_decay = list(parameters), lr, weight_decay

    def step(self):
        with torch.no_grad():
            for p in self.params:
                p.mul_(1 - self.lr * self.weight_decay).sub_(self.lr * p.grad)

    def zero_grad(self):
        for p in self.params:
            p.grad = None


class SGDDecayOutsideLr(SGD):
    def step(self):
        with torch.no_grad():
            for p in self.params:
                p -= self.lr * p.grad + self.weight_decay * p


class SGDDecaySignFlipped(SGD):
    def step(self):
        with torch.no_grad():
            for p in self.params:
                p -= self.lr * (p.grad - self.weight_decay * p)


class SGDDecayAbs(SGD):
    def step(self):
        with torch.no_grad():
            for p in self.params:
                p -= self.lr * (p.grad + self.weight_decay * p.abs())


class SGDKeepsGenerator(SGD):
    def __init__(self, parameters, lr=0.1, weight_decay=0.0):
        super().__init__([], lr, weight_decay)
        self.params = parameters


class SGDZeroGradCrashes(SGD):
    def zero_grad(self):
        for p in self.params():
            p.grad = None


class SGDDelegates:
    def __init__(self, parameters, lr=0.1, weight_decay=0.0):
        self.inner = torch.optim.SGD(parameters, lr=lr, weight_decay=weight_decay)

    def step(self):
        self.inner.step()

    def zero_grad(self):
        self.inner.zero_grad()


RIGHT_DESCENT = [descend, descend_other_style]
GD_CHECKS = ["gd_loop__matches_reference", "gd_loop__in_place", "gd_loop__tensor_lr"]
SGD_CHECKS = ["sgd_optimizer__matches_torch", "sgd_optimizer__weight_decay", "sgd_optimizer__zero_grad"]


def run_check(module, test_id, answer):
    getattr(module, f"check_{test_id}")(answer)


@pytest.mark.parametrize("module", [hw2utils, hidden], ids=["visible", "hidden"])
@pytest.mark.parametrize("answer", RIGHT_DESCENT, ids=lambda f: f.__name__)
@pytest.mark.parametrize("test_id", GD_CHECKS)
def test_right_descent_passes(module, answer, test_id, capsys):
    run_check(module, test_id, answer)
    assert "passed" in capsys.readouterr().out


@pytest.mark.parametrize("module", [hw2utils, hidden], ids=["visible", "hidden"])
@pytest.mark.parametrize("answer, failing, message", [
    (descend_no_clear, "gd_loop__matches_reference", "max |diff|"),
    (descend_rebinds, "gd_loop__in_place", "same tensor"),
    (descend_ascends, "gd_loop__matches_reference", "max |diff|"),
    (descend_ascends, "gd_loop__tensor_lr", "max |diff|"),
])
def test_wrong_descent_fails_its_aspect(module, answer, failing, message):
    with pytest.raises(AssertionError, match=r"(?s)" + failing + ".*"):
        run_check(module, failing, answer)


def test_hidden_check_names_the_uncleared_gradient():
    with pytest.raises(AssertionError, match="never cleared"):
        hidden.check_gd_loop__matches_reference(descend_no_clear)


@pytest.mark.parametrize("module", [hw2utils, hidden], ids=["visible", "hidden"])
def test_per_dim_lr(module):
    run_check(module, "per_dim_lr__beats_single_lr", torch.tensor([0.034, 1.0]))
    for wrong in ([0.04, 0.04], [0.1, 0.55], [0.034], "fast", [-0.034, 1.0]):
        with pytest.raises(AssertionError, match="per_dim_lr__beats_single_lr"):
            run_check(module, "per_dim_lr__beats_single_lr", wrong)


def test_threshold_is_below_every_single_learning_rate():
    """The task text's claim: no single rate reaches the threshold in 50 steps."""
    import numpy as np
    best_single = min(hw2utils.final_loss_with(float(lr)) for lr in np.geomspace(1e-3, 3, 300))
    assert 0.1 < best_single < 0.11
    assert hw2utils.PER_DIM_LR_THRESHOLD == hidden.PER_DIM_LR_THRESHOLD <= best_single / 2


@pytest.mark.parametrize("module", [hw2utils, hidden], ids=["visible", "hidden"])
@pytest.mark.parametrize("test_id", SGD_CHECKS)
def test_right_sgd_passes(module, test_id):
    run_check(module, test_id, SGD)


@pytest.mark.parametrize("module", [hw2utils, hidden], ids=["visible", "hidden"])
@pytest.mark.parametrize("wrong", [SGDDecayOutsideLr, SGDDecaySignFlipped, SGDDecayAbs])
def test_wrong_weight_decay_fails_only_the_decay_aspect(module, wrong):
    run_check(module, "sgd_optimizer__matches_torch", wrong)
    run_check(module, "sgd_optimizer__zero_grad", wrong)
    with pytest.raises(AssertionError, match="sgd_optimizer__weight_decay"):
        run_check(module, "sgd_optimizer__weight_decay", wrong)


@pytest.mark.parametrize("wrong, named", [
    (SGDDecayOutsideLr, "outside the learning rate"),
    (SGDDecaySignFlipped, "wrong sign"),
    (SGDDecayAbs, r"\|p\|"),
])
def test_hidden_weight_decay_check_names_the_mistake(wrong, named):
    with pytest.raises(AssertionError, match=named):
        hidden.check_sgd_optimizer__weight_decay(wrong)


@pytest.mark.parametrize("module", [hw2utils, hidden], ids=["visible", "hidden"])
def test_optimizer_that_keeps_the_generator_fails(module):
    with pytest.raises(Exception):
        run_check(module, "sgd_optimizer__matches_torch", SGDKeepsGenerator)


@pytest.mark.parametrize("module", [hw2utils, hidden], ids=["visible", "hidden"])
def test_crashing_zero_grad_fails_only_zero_grad(module):
    # the step checks clear the gradients themselves, so a broken zero_grad costs only its own check
    run_check(module, "sgd_optimizer__matches_torch", SGDZeroGradCrashes)
    run_check(module, "sgd_optimizer__weight_decay", SGDZeroGradCrashes)
    with pytest.raises((TypeError, AssertionError)):
        run_check(module, "sgd_optimizer__zero_grad", SGDZeroGradCrashes)


def test_hidden_zero_grad_check_reports_the_crash():
    with pytest.raises(AssertionError, match=r"zero_grad\(\) raised TypeError"):
        hidden.check_sgd_optimizer__zero_grad(SGDZeroGradCrashes)


class SGDReadsGlobalDecay(SGD):
    def step(self):
        with torch.no_grad():
            for p in self.params:
                p -= self.lr * (p.grad + weight_decay * p)  # noqa: F821 -- the notebook's global


def test_hidden_checks_name_a_global_read_instead_of_the_attribute():
    SGDReadsGlobalDecay.step.__globals__["weight_decay"] = 1e-3
    try:
        for test_id in ("sgd_optimizer__matches_torch", "sgd_optimizer__weight_decay"):
            with pytest.raises(AssertionError, match="global variable weight_decay"):
                run_check(hidden, test_id, SGDReadsGlobalDecay)
    finally:
        del SGDReadsGlobalDecay.step.__globals__["weight_decay"]


def test_hidden_check_names_an_optimizer_that_keeps_the_iterator():
    with pytest.raises(AssertionError, match=r"list\(parameters\)"):
        hidden.check_sgd_optimizer__matches_torch(SGDKeepsGenerator)


def descend_uphill(loss_fn, x, lr, steps):
    return descend(loss_fn, x, -lr, steps)


def descend_without_rate(loss_fn, x, lr, steps):
    return descend(loss_fn, x, 1.0, steps)


@pytest.mark.parametrize("wrong, named", [(descend_uphill, "uphill"), (descend_without_rate, "lr is missing")])
def test_hidden_descent_check_names_the_mistake(wrong, named):
    with pytest.raises(AssertionError, match=named):
        hidden.check_gd_loop__matches_reference(wrong)


@pytest.mark.parametrize("pair, named", [([1.0, 0.034], "swapped"), ([0.1, 0.1], "single learning rate")])
def test_hidden_per_dim_lr_check_names_the_mistake(pair, named):
    with pytest.raises(AssertionError, match=named):
        hidden.check_per_dim_lr__beats_single_lr(torch.tensor(pair))


def test_hidden_check_refuses_delegation_to_torch_optim():
    for test_id in SGD_CHECKS:
        with pytest.raises(AssertionError, match="torch.optim"):
            run_check(hidden, test_id, SGDDelegates)
    # and PyTorch's optimizers work again afterwards
    torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
