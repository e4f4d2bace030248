"""Part 1 checks (declared in hw2checks.part1: the visible check runs the probe and the
comparison on the public cases; the grader's aspects of autograder.checks.part1 run the same ones
with its hidden extras) against right and deliberately wrong answers; and, for Part 1 and the
extra credit, that probes return plain data and judges refuse data of the wrong shape."""

import pytest
import torch

import hw2checks
import hw2probes
import hw2utils
import naming
from autograder.checks import every as every_aspect
from autograder.checks import find as find_aspect
from autograder.checks import part1 as hidden
from hw2checks import part1 as shipped
from lessons.rules import rule as true_rule


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


def descend_float32_rate(loss_fn, x, lr, steps):
    """Correct too: torch.as_tensor(0.1) is a float32 tensor, rounded to 2^-24 of its value."""
    return descend(loss_fn, x, torch.as_tensor(lr), steps)


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


class SGDDecayOutsideLrSignFlipped(SGD):
    def step(self):
        with torch.no_grad():
            for p in self.params:
                p -= self.lr * p.grad - self.weight_decay * p


class SGDDecayAbsOutsideLr(SGD):
    def step(self):
        with torch.no_grad():
            for p in self.params:
                p -= self.lr * p.grad + self.weight_decay * p.abs()


class SGDMomentum(SGD):
    """Momentum added to plain gradient descent: buffer <- mu * buffer + (1 - damping) * g."""

    mu, damping = 0.9, 0.0

    def step(self):
        if not hasattr(self, "buffers"):
            self.buffers = [torch.zeros_like(p) for p in self.params]
        with torch.no_grad():
            for p, buffer in zip(self.params, self.buffers):
                buffer.mul_(self.mu).add_((1 - self.damping) * (p.grad + self.weight_decay * p))
                p -= self.lr * buffer


class SGDAveragedMomentum(SGDMomentum):
    mu, damping = 0.5, 0.5


class SGDFloat32Settings(SGD):
    """Correct too: lr and weight_decay held as float32 tensors (torch.tensor(0.1))."""

    def __init__(self, parameters, lr=0.1, weight_decay=0.0):
        super().__init__(parameters, torch.tensor(lr), torch.tensor(weight_decay))


class SGDLrOnTheClass(SGD):
    def __init__(self, parameters, lr=0.1, weight_decay=0.0):
        super().__init__(parameters, lr, weight_decay)
        del self.lr
        type(self).lr = lr


class SGDDecayOnTheClass(SGD):
    def __init__(self, parameters, lr=0.1, weight_decay=0.0):
        super().__init__(parameters, lr, weight_decay)
        del self.weight_decay
        type(self).weight_decay = weight_decay


class SGDParametersOnTheClass(SGD):
    """The parameters of every optimizer ever made, in one list on the class."""

    params = []

    def __init__(self, parameters, lr=0.1, weight_decay=0.0):
        self.lr, self.weight_decay = lr, weight_decay
        self.params.extend(parameters)

    def step(self):
        with torch.no_grad():
            for p in self.params:
                if p.grad is not None:
                    p -= self.lr * (p.grad + self.weight_decay * p)


class SGDZeroGradNeedsBackward(SGD):
    def zero_grad(self):
        for p in self.params:
            p.grad.zero_()


class SGDZeroGradHalvesLr(SGD):
    def zero_grad(self):
        super().zero_grad()
        self.lr = self.lr / 2


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


RIGHT_DESCENT = [descend, descend_other_style, descend_float32_rate]
GD_CHECKS = ["gd_loop__matches_reference", "gd_loop__in_place", "gd_loop__tensor_lr"]
SGD_CHECKS = [
    "sgd_optimizer__matches_torch",
    "sgd_optimizer__weight_decay",
    "sgd_optimizer__zero_grad",
]


def run_check(module, test_id, answer):
    getattr(module, f"check_{test_id}")(answer)


@pytest.mark.parametrize("module", [hw2checks, hidden], ids=["visible", "hidden"])
@pytest.mark.parametrize("answer", RIGHT_DESCENT, ids=lambda f: f.__name__)
@pytest.mark.parametrize("test_id", GD_CHECKS)
def test_right_descent_passes(module, answer, test_id, capsys):
    run_check(module, test_id, answer)
    assert "passed" in capsys.readouterr().out


@pytest.mark.parametrize("module", [hw2checks, hidden], ids=["visible", "hidden"])
@pytest.mark.parametrize(
    "answer, failing, message",
    [
        (descend_no_clear, "gd_loop__matches_reference", "max |diff|"),
        (descend_rebinds, "gd_loop__in_place", "same tensor"),
        (descend_ascends, "gd_loop__matches_reference", "max |diff|"),
        (descend_ascends, "gd_loop__tensor_lr", "max |diff|"),
    ],
)
def test_wrong_descent_fails_its_aspect(module, answer, failing, message):
    with pytest.raises(AssertionError, match=r"(?s)" + failing + ".*"):
        run_check(module, failing, answer)


def test_hidden_check_names_the_uncleared_gradient():
    with pytest.raises(AssertionError, match="never cleared"):
        hidden.check_gd_loop__matches_reference(descend_no_clear)


@pytest.mark.parametrize("module", [hw2checks, hidden], ids=["visible", "hidden"])
def test_per_dim_lr(module):
    run_check(module, "per_dim_lr__beats_single_lr", torch.tensor([0.034, 1.0]))
    for wrong in ([0.04, 0.04], [0.1, 0.55], [0.034], "fast", [-0.034, 1.0]):
        with pytest.raises(AssertionError, match="per_dim_lr__beats_single_lr"):
            run_check(module, "per_dim_lr__beats_single_lr", wrong)


@pytest.mark.slow  # descends every bowl at many rates: about 15 s
def test_threshold_is_below_every_single_learning_rate():
    """The task text's claim: no single rate reaches the threshold in 50 steps."""
    import numpy as np

    best_single = min(hw2checks.final_loss_with(float(lr)) for lr in np.geomspace(1e-3, 3, 300))
    assert 0.1 < best_single < 0.11
    assert best_single / 2 >= hw2checks.PER_DIM_LR_THRESHOLD


@pytest.mark.parametrize("module", [hw2checks, hidden], ids=["visible", "hidden"])
@pytest.mark.parametrize("answer", [SGD, SGDFloat32Settings], ids=lambda c: c.__name__)
@pytest.mark.parametrize("test_id", SGD_CHECKS)
def test_right_sgd_passes(module, answer, test_id):
    run_check(module, test_id, answer)


WRONG_DECAY = [
    (SGDDecayOutsideLr, r"applied outside the learning rate \(p -= lr\*g \+ wd\*p\)"),
    (SGDDecaySignFlipped, r"with the wrong sign \(p -= lr\*\(g - wd\*p\)\)"),
    (SGDDecayAbs, r"on \|p\| instead of p"),
    (SGDDecayOutsideLrSignFlipped, r"p -= lr\*g - wd\*p"),
    (SGDDecayAbsOutsideLr, r"p -= lr\*g \+ wd\*\|p\|"),
]


@pytest.mark.parametrize("module", [hw2checks, hidden], ids=["visible", "hidden"])
@pytest.mark.parametrize("wrong", [wrong for wrong, _ in WRONG_DECAY], ids=lambda c: c.__name__)
def test_wrong_weight_decay_fails_only_the_decay_aspect(module, wrong):
    run_check(module, "sgd_optimizer__matches_torch", wrong)
    run_check(module, "sgd_optimizer__zero_grad", wrong)
    with pytest.raises(AssertionError, match="sgd_optimizer__weight_decay"):
        run_check(module, "sgd_optimizer__weight_decay", wrong)


@pytest.mark.parametrize("module", [hw2checks, hidden], ids=["visible", "hidden"])
@pytest.mark.parametrize("wrong, named", WRONG_DECAY, ids=lambda v: getattr(v, "__name__", "named"))
def test_weight_decay_checks_name_the_mistake(module, wrong, named):
    with pytest.raises(AssertionError, match="known mistake: weight decay .*" + named):
        run_check(module, "sgd_optimizer__weight_decay", wrong)


@pytest.mark.parametrize("module", [hw2checks, hidden], ids=["visible", "hidden"])
def test_momentum_fails_the_step_checks_and_is_named(module):
    run_check(module, "sgd_optimizer__zero_grad", SGDMomentum)
    for test_id in ("sgd_optimizer__matches_torch", "sgd_optimizer__weight_decay"):
        with pytest.raises(AssertionError, match="known mistake: momentum"):
            run_check(module, test_id, SGDMomentum)


def test_hidden_check_says_how_much_momentum():
    with pytest.raises(AssertionError, match="each step adds 0.5 times the previous step"):
        hidden.check_sgd_optimizer__matches_torch(SGDAveragedMomentum)


@pytest.mark.parametrize("module", [hw2checks, hidden], ids=["visible", "hidden"])
@pytest.mark.parametrize(
    "wrong, failing",
    [
        (SGDLrOnTheClass, "sgd_optimizer__matches_torch"),
        (SGDDecayOnTheClass, "sgd_optimizer__weight_decay"),
    ],
)
def test_settings_shared_by_two_optimizers_fail_their_own_aspect(module, wrong, failing):
    """Each check steps two optimizers alive at once whose settings differ only in its aspect."""
    for test_id in SGD_CHECKS:
        if test_id != failing:
            run_check(module, test_id, wrong)
    with pytest.raises(AssertionError, match="alive at once"):
        run_check(module, failing, wrong)


@pytest.mark.parametrize("wrong", [SGDLrOnTheClass, SGDDecayOnTheClass], ids=lambda c: c.__name__)
def test_hidden_checks_name_settings_stored_on_the_class(wrong):
    failing = (
        "sgd_optimizer__matches_torch"
        if wrong is SGDLrOnTheClass
        else "sgd_optimizer__weight_decay"
    )
    with pytest.raises(
        AssertionError,
        match="known mistake: both optimizers stepped with the settings "
        "of the one made last: the settings are stored on the class",
    ):
        run_check(hidden, failing, wrong)


@pytest.mark.parametrize("module", [hw2checks, hidden], ids=["visible", "hidden"])
def test_parameters_shared_by_two_optimizers_fail(module):
    for test_id in ("sgd_optimizer__matches_torch", "sgd_optimizer__weight_decay"):
        with pytest.raises(AssertionError, match="share nothing"):
            run_check(module, test_id, SGDParametersOnTheClass)


@pytest.mark.parametrize("module", [hw2checks, hidden], ids=["visible", "hidden"])
def test_optimizer_that_keeps_the_generator_fails(module):
    with pytest.raises(Exception):  # noqa: B017 -- a verdict, or the error the student's code raises
        run_check(module, "sgd_optimizer__matches_torch", SGDKeepsGenerator)


@pytest.mark.parametrize("module", [hw2checks, hidden], ids=["visible", "hidden"])
def test_crashing_zero_grad_fails_only_zero_grad(module):
    # the step checks clear the gradients themselves, so a broken zero_grad costs only its own check
    run_check(module, "sgd_optimizer__matches_torch", SGDZeroGradCrashes)
    run_check(module, "sgd_optimizer__weight_decay", SGDZeroGradCrashes)
    with pytest.raises((TypeError, AssertionError)):
        run_check(module, "sgd_optimizer__zero_grad", SGDZeroGradCrashes)


def test_hidden_zero_grad_check_reports_the_crash():
    with pytest.raises(AssertionError, match=r"zero_grad\(\) raised TypeError"):
        hidden.check_sgd_optimizer__zero_grad(SGDZeroGradCrashes)


@pytest.mark.parametrize("module", [hw2checks, hidden], ids=["visible", "hidden"])
def test_zero_grad_before_any_backward_must_not_raise(module):
    """A training loop calls zero_grad() first, while every p.grad is None (the notebook's does)."""
    for test_id in ("sgd_optimizer__matches_torch", "sgd_optimizer__weight_decay"):
        run_check(module, test_id, SGDZeroGradNeedsBackward)
    with pytest.raises(
        AssertionError,
        match=r"(?s)zero_grad\(\) before any backward\(\): zero_grad\(\) "
        r"raised AttributeError.*until the first backward\(\) every "
        r"p.grad is None",
    ):
        run_check(module, "sgd_optimizer__zero_grad", SGDZeroGradNeedsBackward)


@pytest.mark.parametrize("module", [hw2checks, hidden], ids=["visible", "hidden"])
def test_zero_grad_that_changes_a_setting_fails_zero_grad_only(module):
    for test_id in ("sgd_optimizer__matches_torch", "sgd_optimizer__weight_decay"):
        run_check(module, test_id, SGDZeroGradHalvesLr)
    with pytest.raises(AssertionError, match="zero_grad\\(\\) only clears the gradients"):
        run_check(module, "sgd_optimizer__zero_grad", SGDZeroGradHalvesLr)


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


@pytest.mark.parametrize(
    "wrong, named", [(descend_uphill, "uphill"), (descend_without_rate, "lr is missing")]
)
def test_hidden_descent_check_names_the_mistake(wrong, named):
    with pytest.raises(AssertionError, match=named):
        hidden.check_gd_loop__matches_reference(wrong)


def descend_first_rate_only(loss_fn, x, lr, steps):
    return descend(loss_fn, x, torch.as_tensor(lr).flatten()[0], steps)


def descend_dot_rate(loss_fn, x, lr, steps):
    for _ in range(steps):
        loss_fn(x).backward()
        with torch.no_grad():
            x -= (
                torch.as_tensor(lr, dtype=x.dtype) @ x.grad
                if torch.as_tensor(lr).dim()
                else lr * x.grad
            )
        x.grad = None
    return x


@pytest.mark.parametrize("module", [hw2checks, hidden], ids=["visible", "hidden"])
@pytest.mark.parametrize(
    "wrong, named",
    [
        (descend_no_clear, "known mistake: x.grad is never cleared"),
        (descend_uphill, "known mistake: each step goes uphill"),
        (descend_without_rate, "known mistake: lr is missing"),
        (descend_first_rate_only, "multiply the gradient by lr elementwise"),
        (descend_dot_rate, "multiply the gradient by lr elementwise"),
    ],
)
def test_the_tensor_lr_check_says_what_is_wrong(module, wrong, named):
    """A loop that never clears x.grad is told so, not told to multiply by lr elementwise; the
    elementwise hint is for a rate used as one number."""
    with pytest.raises(AssertionError) as failure:
        run_check(module, "gd_loop__tensor_lr", wrong)
    assert named in str(failure.value), str(failure.value)
    if "known mistake" not in named:
        assert "known mistake" not in str(failure.value)


@pytest.mark.parametrize(
    "wrong, named",
    [
        (descend_no_clear, "never cleared"),
        (descend_uphill, "uphill"),
        (descend_without_rate, "lr is missing"),
    ],
)
def test_the_visible_descent_check_names_the_mistake_as_the_hidden_one_does(wrong, named):
    with pytest.raises(AssertionError, match=named):
        hw2checks.check_gd_loop__matches_reference(wrong)


@pytest.mark.parametrize(
    "lr, start, steps",
    [
        (0.1, hw2utils.BOWL_START, 6),
        (torch.tensor([0.03, 0.8]), hw2utils.BOWL_START, 5),
        (0.02, (0.5, -2.0), 4),
    ],
)
def test_each_descent_mistake_is_named_on_its_own_path_only(lr, start, steps):
    """Every entry of the Task 1.1 catalogue: named for its own path, never for an answer that
    shares the correct path wherever the mistake does."""
    expected = torch.stack(
        hw2checks.torch_sgd_path(hw2utils.LossFunctionWithPlot(), start, lr, steps)
    )
    mistakes = hw2checks.gd_mistakes(hw2utils.BOWL_MATRIX, start, lr, steps)
    apart = naming.check_catalogue(mistakes, expected, hw2checks.tolerance(expected))
    assert len(apart) == len(mistakes)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"lr": 0.1, "weight_decay": 0.1},
        {"lr": 0.1, "weight_decay": 1e-3},
        {"lr": 0.1, "weight_decay": 1e-9},
        {"lr": 0.03},
    ],
)
def test_each_sgd_mistake_is_named_on_its_own_path_only(kwargs):
    """The weight-decay and momentum catalogue the visible check names, including a weight decay
    too small to tell its mistakes from the right answer (1e-9): those are then never named."""
    init = hw2checks.random_parameters(0, hw2checks.SGD_SHAPES)
    expected = hw2checks.run_steps(
        lambda p: torch.optim.SGD(p, **kwargs), shipped.leaf_copies(init), shipped.SGD_STEPS
    )
    catalogue = {
        **hw2checks.weight_decay_mistakes(kwargs, init, shipped.SGD_STEPS),
        **hw2checks.momentum_mistake(kwargs, init, expected),
    }
    apart = naming.check_catalogue(catalogue, expected, hw2checks.tolerance(expected))
    if kwargs.get("weight_decay", 0) == 1e-9:
        assert apart == [shipped.MOMENTUM]


@pytest.mark.parametrize(
    "pair, named", [([1.0, 0.034], "swapped"), ([0.1, 0.1], "single learning rate")]
)
def test_hidden_per_dim_lr_check_names_the_mistake(pair, named):
    with pytest.raises(AssertionError, match=named):
        hidden.check_per_dim_lr__beats_single_lr(torch.tensor(pair))


def test_hidden_check_refuses_delegation_to_torch_optim():
    for test_id in SGD_CHECKS:
        with pytest.raises(AssertionError, match="torch.optim"):
            run_check(hidden, test_id, SGDDelegates)
    # and PyTorch's optimizers work again afterwards
    torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)


# The probe/judge split: probes return plain data, judges fail on anything else -------------


def correct_rule(grid):
    return true_rule(grid.numpy().astype(int))


def rule_raises(grid):
    raise NotImplementedError()


def rule_runs_a_network(grid):
    return bool(torch.nn.Linear(36, 1)(grid.flatten()) > 0)


PROBED = [  # (part, check, the student's objects): each kind of data a probe returns
    *[
        ("part1", check, (answer,))
        for check in GD_CHECKS
        for answer in (descend, descend_no_clear, descend_rebinds)
    ],
    ("part1", "per_dim_lr__beats_single_lr", (torch.tensor([0.034, 1.0]),)),
    ("part1", "per_dim_lr__beats_single_lr", ("fast",)),
    *[
        ("part1", check, (answer,))
        for check in SGD_CHECKS
        for answer in (
            SGD,
            SGDKeepsGenerator,
            SGDZeroGradCrashes,
            SGDDelegates,
            SGDZeroGradNeedsBackward,
        )
    ],
    *[
        ("extra_credit", check, ())
        for check in (
            "ec_transfer__saved_model",
            "ec_transfer__accuracy_75",
            "ec_transfer__accuracy_95",
        )
    ],
    *[
        ("extra_credit", "ec_rule__agreement_90", (answer,))
        for answer in (correct_rule, rule_raises, rule_runs_a_network, lambda grid: "yes", 5)
    ],
]


def same(a, b) -> bool:
    if isinstance(a, torch.Tensor):
        return isinstance(b, torch.Tensor) and a.dtype == b.dtype and torch.equal(a, b)
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(map(same, a, b))
    return type(a) is type(b) and a == b


@pytest.mark.parametrize("part, check, objects", PROBED, ids=lambda v: getattr(v, "__name__", None))
def test_probe_data_round_trips_as_plain_data(part, check, objects):
    data = find_aspect(part, check).probe(*objects)
    assert same(hw2probes.from_bytes(hw2probes.to_bytes(data)), data)


JUDGES = [
    (aspect.part, aspect.name)
    for aspect in every_aspect()
    if aspect.part in ("part1", "extra_credit")
]
WRONG_SHAPES = [{}, [], "garbage", 3, {"result": 1}, [{"calls": "3"}], {"cpu": [], "cuda": []}]
WRONG_DEEP = [  # (check, data): right at the top, wrong further down
    ("gd_loop__matches_reference", [{"calls": 3, "xs": ["x"] * 3}] * 6),
    ("gd_loop__tensor_lr", [{"calls": 4}] * 3),
    ("gd_loop__in_place", {"cpu": {"x": "x", "grad": None}}),
    ("per_dim_lr__beats_single_lr", {"rates": [0.034, 1.0]}),
    ("sgd_optimizer__matches_torch", {"globals": ["os"], "runs": {}}),
    (
        "sgd_optimizer__matches_torch",
        {"globals": [], "runs": {"cpu": [{"trajectory": [1.0] * 5}] * 6}},
    ),
    ("sgd_optimizer__weight_decay", {"globals": [], "runs": {"cpu": [{}] * 6}}),
    (
        "sgd_optimizer__matches_torch",
        {
            "globals": [],
            "in_turn": [[torch.zeros(7)] * 5],
            "runs": {"cpu": [{"trajectory": [torch.zeros(47)] * 5}] * 6},
        },
    ),
    ("sgd_optimizer__zero_grad", {"grads": [1, 2, 3, 4]}),
    ("sgd_optimizer__zero_grad", {"delegated": 7}),
    ("sgd_optimizer__zero_grad", {"raised": "x", "when": "later"}),
    (
        "sgd_optimizer__zero_grad",
        {"grads": [None] * 4, "with": "path", "without": torch.zeros(3, 47)},
    ),
    (
        "sgd_optimizer__zero_grad",
        {
            "grads": [None] * 4,
            "with": torch.zeros(3, 47, dtype=torch.float64),
            "without": {"raised": 1},
        },
    ),
    ("ec_rule__agreement_90", {"answers": torch.zeros(3, dtype=torch.bool)}),
    ("ec_rule__agreement_99", {"index": -1, "raised": "x"}),
    ("ec_rule__agreement_99", {"index": 0}),
]


@pytest.mark.parametrize("part, check", JUDGES)
@pytest.mark.parametrize("data", WRONG_SHAPES, ids=repr)
def test_judges_fail_on_data_of_the_wrong_shape(part, check, data):
    with pytest.raises(AssertionError, match=check):
        find_aspect(part, check).judge(data)


@pytest.mark.parametrize("check, data", WRONG_DEEP, ids=lambda v: v if isinstance(v, str) else None)
def test_judges_fail_on_data_wrong_further_down(check, data):
    part = "extra_credit" if check.startswith("ec_") else "part1"
    with pytest.raises(AssertionError, match=check):
        find_aspect(part, check).judge(data)


def test_a_student_exception_is_reported_as_what_it_raised():
    def descend_crashes(loss_fn, x, lr, steps):
        raise ValueError("no descent today")

    with pytest.raises(
        AssertionError,
        match="gd_loop__matches_reference: running your code raised ValueError: no descent today",
    ):
        hidden.check_gd_loop__matches_reference(descend_crashes)


@pytest.mark.skipif(torch.cuda.is_available(), reason="the probes ran on CUDA here")
@pytest.mark.parametrize(
    "check, answer, says",
    [
        ("gd_loop__in_place", descend, "no results on cuda"),
        ("sgd_optimizer__matches_torch", SGD, "no runs on cuda"),
    ],
)
def test_judges_require_cuda_results_where_cuda_is_available(monkeypatch, check, answer, says):
    data = find_aspect("part1", check).probe(answer)
    monkeypatch.setattr(shipped, "devices", lambda: ["cpu", "cuda"])  # the comparisons ask it
    with pytest.raises(AssertionError, match=says):
        find_aspect("part1", check).judge(data)


# The comparison rule and the display (hw2checks), which every check uses --------------------------


def test_the_tolerance_is_relative_by_the_least_precise_dtype_involved():
    # relative to 1 + max |expected|, by the least precise dtype involved (float32's below float32)
    assert hw2checks.tolerance(torch.full((2,), 3.0, dtype=torch.float64)) == pytest.approx(4e-6)
    assert hw2checks.tolerance(
        torch.full((2,), 3.0, dtype=torch.float64), torch.float32
    ) == pytest.approx(4e-5)
    assert hw2checks.tolerance(
        torch.ones(2, dtype=torch.float32), torch.zeros(2, dtype=torch.float64)
    ) == pytest.approx(2e-5)
    assert hw2checks.tolerance(0.5, torch.zeros(1, dtype=torch.float16)) == pytest.approx(1.5e-5)


def test_values_that_print_alike_get_the_digits_that_tell_them_apart():
    expected = torch.tensor([1.341251234, 2.0], dtype=torch.float64)
    shown = hw2checks.show_pair(expected, expected + torch.tensor([3e-9, 0.0], dtype=torch.float64))
    assert shown == ("[1.34125123, 2]", "[1.34125124, 2]")  # 6 digits print both as 1.34125


def test_a_difference_beyond_the_first_values_is_shown_where_it_is():
    expected = torch.arange(20, dtype=torch.float64)
    got = expected.clone()
    got[15] += 0.5
    shown = hw2checks.show_pair(expected, got)
    assert shown == ("[..., 13, 14, 15, 16, 17, 18, ...]", "[..., 13, 14, 15.5, 16, 17, 18, ...]")


def test_a_path_is_reported_where_it_differs_visibly():
    expected = torch.ones(4, 3, dtype=torch.float64)
    got = expected + torch.tensor([[1e-7], [1e-3], [2e-2], [3e-1]], dtype=torch.float64)
    with pytest.raises(
        AssertionError,
        match=r"after step 2: expected \[1, 1, 1\], got \[1.001, 1.001, "
        r"1.001\].*first differ by more than the tolerance "
        r"after step 1",
    ):
        hw2checks.expect_path("t", "case", expected, got, 1e-8, "hint")
