"""Checks for HW2 "Training a Deep Network": the "Check that ..." cells call them.

Each ``check_<test id>(answer)`` tries your answer on a few fixed cases. It prints one line when
they pass, and otherwise raises AssertionError naming the case, expected vs got, the tolerance and
a hint (a known mistake by name where your result matches one). The grader checks the same
aspects on fresh cases of the same kind. References here are PyTorch's own (``torch.optim.SGD``,
``torch.optim.Adam``, ``torch.nn.init``) or numbers fixed in advance, never a solution.

The first section is the toolkit the autograder's hidden checks share with these: how results
are compared (``tolerance``, ``expect_close``, ``expect_path``), shown (``show_pair``) and
reported (``fail``). You never need to read this module to do the homework.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch
from torch import nn

from hw2utils import (
    BOWL_MATRIX,
    BOWL_START,
    EC_MODEL_FILE,
    LossFunctionWithPlot,
    load_dataset,
    load_ec_model,
    pick_device,
)

# ---------------------------------------------------------------------------
# Toolkit: comparing, showing and reporting (shared with the autograder)
# ---------------------------------------------------------------------------

#: How far a result may be from the reference, relative to 1 + max |expected|, by the least precise
#: floating dtype of what is compared (the inputs, your result). float64 leaves room for a setting
#: such as lr held as a tensor of torch's default dtype (torch.tensor(0.1) is float32, rounded to
#: 2^-24 of its value); float32 for its own rounding. Every check, visible or hidden, applies it.
RELATIVE_TOLERANCE = {torch.float64: 1e-6, torch.float32: 1e-5}


class CheckFailed(AssertionError):
    """A check's verdict on your answer (raised by ``fail``), not an error in your code."""


def fail(test_id: str, case: str, detail: str, hint: str):
    raise CheckFailed(f"{test_id}, case {case}: {detail}\nHint: {hint}")


def student_facing(check: Callable) -> Callable:
    """A visible check whose verdict shows as your call and the message: the toolkit's frames
    under it are dropped (an error raised by your own code keeps its full traceback)."""

    @functools.wraps(check)
    def run(*args, **kwargs):
        try:
            return check(*args, **kwargs)
        except CheckFailed as verdict:
            raise AssertionError(str(verdict)) from None  # the check failed: its message is below

    return run


def float64(values) -> torch.Tensor:
    """A float64 CPU copy; Python numbers go straight to float64 (not through float32)."""
    if isinstance(values, torch.Tensor):
        return values.detach().double().cpu()
    return torch.as_tensor(values, dtype=torch.float64)


def _dtype(value) -> torch.dtype | None:
    if isinstance(value, torch.dtype):
        return value
    if isinstance(value, torch.Tensor):
        return value.dtype
    return torch.float64 if isinstance(value, (int, float, list, tuple)) else None


def tolerance(expected, *involved) -> float:
    """RELATIVE_TOLERANCE of the least precise floating dtype among ``expected`` and ``involved``
    (tensors or dtypes: the inputs, the result; Python numbers count as float64), times
    1 + max |expected|. A dtype less precise than float32 gets float32's."""
    dtypes = [
        d for d in map(_dtype, (expected, *involved)) if d is not None and d.is_floating_point
    ]
    relative = max(RELATIVE_TOLERANCE.get(d, RELATIVE_TOLERANCE[torch.float32]) for d in dtypes)
    size = float64(expected).abs().max().item() if float64(expected).numel() else 0.0
    return relative * (1 + (size if math.isfinite(size) else 0.0))


def max_diff(expected, got) -> float:
    """max |got - expected| in float64 on the CPU (inf when the shapes differ or a value is not finite)."""
    expected, got = float64(expected), float64(got)
    if got.shape != expected.shape:
        return math.inf
    diff = (got - expected).abs().max().item() if got.numel() else 0.0
    return diff if math.isfinite(diff) else math.inf


def show(t: torch.Tensor, start: int = 0, digits: int = 6) -> str:
    """Up to 6 values from flat index ``start`` on, to ``digits`` significant digits."""
    t = float64(t)
    if not t.dim():
        return f"{t.item():.{digits}g}"
    text = ", ".join(f"{v:.{digits}g}" for v in t.flatten()[start : start + 6].tolist())
    return f"[{'..., ' if start else ''}{text}{', ...' if t.numel() > start + 6 else ''}]"


def show_pair(expected, got, most_digits: int = 17) -> tuple[str, str]:
    """The two as a failure prints them: around the element where they differ most, with as many
    significant digits (6 to ``most_digits``) as it takes to print differently."""
    expected, got = float64(expected), float64(got)
    if expected.shape != got.shape or not expected.numel():
        return show(expected), show(got)
    worst = int((got - expected).abs().nan_to_num(nan=math.inf).flatten().argmax())
    start = 0 if worst < 6 else min(worst - 2, expected.numel() - 6)
    for digits in range(6, most_digits + 1):
        shown = show(expected, start, digits), show(got, start, digits)
        if shown[0] != shown[1]:
            break
    return shown


def known_mistake(
    mistakes: Mapping[str, object], got, correct: Sequence, distance: Callable, slack: Callable
) -> str | None:
    """The first of ``mistakes`` (a misconception's description -> what it produces) that ``got``
    matches and that is told apart from every result in ``correct``, else None: the one rule for
    naming a mistake, in every check. ``got`` matches ``produced`` when ``distance(produced, got)
    <= slack(produced)``; ``produced`` is told apart from ``c`` when no result matches both,
    ``distance(produced, c) > slack(produced) + slack(c)``. So a mistake that equals the correct
    answer on the data compared (eps inside the square root at eps = 1e-8 after one step of
    Adam) is never named: what matches it matches the correct answer too."""
    for description, produced in (mistakes or {}).items():
        if distance(produced, got) <= slack(produced) and all(
            distance(produced, c) > slack(produced) + slack(c) for c in correct
        ):
            return description
    return None


def mistake_hint(description: str, matched: str = "your result matches") -> str:
    """How a hint names a known mistake (``matched``: what matched it)."""
    return f"{matched} a known mistake: {description}"


def named_mistake(
    hint: str, mistakes: Mapping[str, object] | None, got, tol: float, expected
) -> str:
    """The hint, or the mistake in ``mistakes`` (a misconception's description -> what it
    produces) that ``got`` matches within ``tol`` and ``expected`` (the correct result) does not
    (known_mistake). A mistake's path may be given for its first steps only: then only those
    steps are compared, and the hint says so."""
    got, expected = float64(got), float64(expected)
    for description, produced in (mistakes or {}).items():
        produced = float64(produced)
        steps = len(produced) if produced.dim() and got.dim() and len(produced) < len(got) else None
        named = known_mistake(
            {description: produced},
            got[:steps] if steps else got,
            [expected[:steps] if steps else expected],
            max_diff,
            lambda _: tol,
        )
        if named:
            return mistake_hint(
                named,
                ("your first step matches" if steps == 1 else f"your first {steps} steps match")
                if steps
                else "your result matches",
            )
    return hint


def expect_close(
    test_id: str,
    case: str,
    expected,
    got,
    tol: float,
    hint: str,
    mistakes: Mapping[str, object] | None = None,
) -> None:
    """Fail unless ``got`` has ``expected``'s shape and max |got - expected| <= tol; the hint names
    a mistake of ``mistakes`` that ``got`` matches."""
    expected = float64(expected)
    try:
        got = float64(got)
    except (TypeError, ValueError, RuntimeError):
        fail(test_id, case, f"expected a number or tensor, got {type(got).__name__}", hint)
    if got.shape != expected.shape:
        fail(test_id, case, f"expected shape {tuple(expected.shape)}, got {tuple(got.shape)}", hint)
    diff = max_diff(expected, got)
    if diff <= tol:
        return
    shown = show_pair(expected, got)
    fail(
        test_id,
        case,
        f"expected {shown[0]}, got {shown[1]}; max |diff| {diff:.2e} > tolerance {tol:.2g}",
        named_mistake(hint, mistakes, got, tol, expected),
    )


def expect_path(
    test_id: str,
    case: str,
    expected,
    got,
    tol: float,
    hint: str,
    mistakes: Callable[[], Mapping[str, object]] | None = None,
    what: str = "expected",
    nonfinite_hint: str | None = None,
) -> None:
    """Fail when ``got`` leaves ``expected`` (the values after each step, (steps, n)) by more than
    ``tol``. The message shows the first step where the two differ visibly (printed to 6 digits),
    says when an earlier step is already beyond ``tol``, and names a mistake of ``mistakes()``
    (computed only then) that ``got`` follows; ``nonfinite_hint`` replaces the hint when ``got``
    is no longer finite. ``what`` says what ``expected`` is."""
    expected, got = float64(expected), float64(got)
    diffs = [max_diff(e, g) for e, g in zip(expected, got)]
    beyond = [step for step, diff in enumerate(diffs) if diff > tol]
    if not beyond:
        return
    first = beyond[0]
    visible = [step for step in beyond if len(set(show_pair(expected[step], got[step], 6))) == 2]
    step = visible[0] if visible else first
    if nonfinite_hint and not bool(torch.isfinite(got[first]).all()):
        step, hint = first, nonfinite_hint
    earlier = (
        f" (the two first differ by more than the tolerance after step {first + 1}, by "
        f"{diffs[first]:.2e})"
        if step != first
        else ""
    )
    shown = show_pair(expected[step], got[step])
    fail(
        test_id,
        f"{case}, after step {step + 1}",
        f"{what} {shown[0]}, got {shown[1]}; max |diff| "
        f"{diffs[step]:.2e} > tolerance {tol:.2g}{earlier}",
        named_mistake(hint, mistakes() if mistakes else None, got, tol, expected),
    )


def _passed(test_id: str, n_cases: int) -> None:
    print(f"{test_id}: {n_cases}/{n_cases} cases passed")


# Part 1 -------------------------------------------------------------------


def torch_sgd_path(
    loss_fn: Callable, start, lr, steps: int, dtype=torch.float64, clear: bool = True
) -> list[torch.Tensor]:
    """The points torch.optim.SGD visits on ``loss_fn`` (for checking a hand-written loop), in
    ``dtype``. A per-coordinate (or negative) ``lr`` is done by scaling each gradient as it
    arrives, which equals it step for step. ``clear=False``: zero_grad() is never called, so the
    gradients add up over the steps (a known mistake)."""
    x = torch.tensor(start, dtype=dtype, requires_grad=True)
    scale = torch.as_tensor(lr, dtype=dtype)
    x.register_hook(lambda grad: grad * scale)
    optimizer = torch.optim.SGD([x], lr=1.0)
    path = []
    for _ in range(steps):
        path.append(x.detach().clone())
        if clear:
            optimizer.zero_grad()
        loss_fn(x).backward()
        optimizer.step()
    return path


def gd_mistakes(B, start, lr, steps: int, dtype=torch.float64) -> dict:
    """The points classic wrong loops of Task 1.1 visit on the bowl ``B`` (as torch_sgd_path
    gives them, stacked), by description."""

    def path(rate, clear=True):
        return torch.stack(
            torch_sgd_path(LossFunctionWithPlot(B), start, rate, steps, dtype, clear)
        )

    return {
        "x.grad is never cleared, so gradients add up over steps (set x.grad = None after each "
        "update)": path(lr, clear=False),
        "each step goes uphill (x += lr * x.grad): gradient descent subtracts the gradient": path(
            -torch.as_tensor(lr, dtype=dtype)
        ),
        "lr is missing from the update (x -= x.grad): the step is lr times the gradient": path(1.0),
    }


def final_loss_with(lr, steps: int = 50) -> float:
    """L after ``steps`` steps of gradient descent from x0 on the bowl with learning rate(s) ``lr``."""
    path = torch_sgd_path(LossFunctionWithPlot(), BOWL_START, lr, steps + 1)
    return LossFunctionWithPlot()(path[-1]).item()


#: Task 1.2 threshold: the best single learning rate ends 50 steps at L ~ 0.105.
PER_DIM_LR_THRESHOLD = 0.05

GD_HINT = (
    "each step is x <- x - lr * x.grad, using the gradient of this step only: clear x.grad "
    "after the update, or gradients pile up"
)
TENSOR_LR_HINT = (
    "with one learning rate per coordinate, x[i] moves by lr[i] * x.grad[i]: multiply the "
    "gradient by lr elementwise (lr * x.grad works for a float and for a tensor of x's "
    "shape, lr @ x.grad or a single number taken from lr does not); if "
    "gd_loop__matches_reference fails too, fix that first"
)
IN_PLACE_HINT = (
    "update x in place (x -= ...) inside torch.no_grad(), return x, then set x.grad = None"
)


@student_facing
def check_gd_loop__matches_reference(descend: Callable) -> None:
    """``descend(loss_fn, x, lr, steps)`` visits the points torch.optim.SGD visits."""
    test_id = "gd_loop__matches_reference"
    cases = [
        ("bowl, lr 0.1, 6 steps", BOWL_MATRIX, BOWL_START, 0.1, 6),
        ("bowl, lr 0.02, 4 steps", BOWL_MATRIX, (0.5, -2.0), 0.02, 4),
        ("round bowl, lr 0.3, 3 steps", ((1.0, 0.0), (0.0, 1.0)), (1.0, 1.0), 0.3, 3),
    ]
    for case, B, start, lr, steps in cases:
        L = LossFunctionWithPlot(B)
        x = torch.tensor(start, dtype=torch.float64, requires_grad=True)
        descend(L, x, lr, steps)
        expected = torch_sgd_path(LossFunctionWithPlot(B), start, lr, steps)
        if len(L.xs) != steps:
            fail(
                test_id,
                case,
                f"expected {steps} calls of loss_fn, got {len(L.xs)}",
                "call loss_fn(x) once per step, then backward(), then update x",
            )
        expect_close(
            test_id,
            case,
            torch.stack(expected),
            torch.stack(L.xs),
            tolerance(torch.stack(expected), *L.xs),
            GD_HINT,
            gd_mistakes(B, start, lr, steps),
        )
    _passed(test_id, len(cases))


@student_facing
def check_gd_loop__in_place(descend: Callable) -> None:
    """``descend`` updates the given leaf tensor in place and leaves no stale gradient."""
    test_id = "gd_loop__in_place"
    x = torch.tensor(BOWL_START, dtype=torch.float64, requires_grad=True)
    returned = descend(LossFunctionWithPlot(), x, 0.1, 3)
    hint = IN_PLACE_HINT
    if returned is not x:
        fail(
            test_id,
            "return value",
            "expected descend to return the same tensor x it was given",
            hint,
        )
    if not (x.is_leaf and x.requires_grad):
        fail(test_id, "x after descend", "x is no longer a leaf that requires grad", hint)
    if torch.equal(x.detach(), torch.tensor(BOWL_START, dtype=torch.float64)):
        fail(test_id, "x after descend", "x did not move", hint)
    if x.grad is not None and x.grad.abs().max().item() != 0:
        fail(test_id, "x.grad after descend", f"expected None or zeros, got {show(x.grad)}", hint)
    _passed(test_id, 4)


@student_facing
def check_gd_loop__tensor_lr(descend: Callable) -> None:
    """``descend`` accepts one learning rate per coordinate (a tensor of x's shape)."""
    test_id = "gd_loop__tensor_lr"
    lr = torch.tensor([0.03, 0.8], dtype=torch.float64)
    L = LossFunctionWithPlot()
    descend(L, torch.tensor(BOWL_START, dtype=torch.float64, requires_grad=True), lr, 5)
    expected = torch_sgd_path(LossFunctionWithPlot(), BOWL_START, lr, 5)
    expect_close(
        test_id,
        "lr (0.03, 0.8), 5 steps",
        torch.stack(expected),
        torch.stack(L.xs),
        tolerance(torch.stack(expected), *L.xs),
        TENSOR_LR_HINT,
        gd_mistakes(BOWL_MATRIX, BOWL_START, lr, 5),
    )
    _passed(test_id, 1)


def expect_lr_pair(test_id: str, lr_pair, shown: str | None = None) -> torch.Tensor:
    """``lr_pair`` as a float64 tensor of two positive numbers, or fail on its format, showing it
    as ``shown`` (its repr by default)."""
    try:
        pair = torch.as_tensor(lr_pair, dtype=torch.float64)
    except (TypeError, ValueError, RuntimeError):
        pair = None
    if pair is None or pair.shape != (2,) or not bool((pair > 0).all()):
        fail(
            test_id,
            "format",
            f"expected two positive learning rates, got "
            f"{repr(lr_pair) if shown is None else shown}",
            "e.g. lr_pair = torch.tensor([0.1, 0.5])",
        )
    return pair


@student_facing
def check_per_dim_lr__beats_single_lr(lr_pair) -> None:
    """``lr_pair`` (2 positive numbers) ends 50 steps below ``PER_DIM_LR_THRESHOLD``."""
    test_id = "per_dim_lr__beats_single_lr"
    pair = expect_lr_pair(test_id, lr_pair)
    loss = final_loss_with(pair)
    if not loss < PER_DIM_LR_THRESHOLD:
        fail(
            test_id,
            f"lr {pair.tolist()}",
            f"final loss {loss:.4f} is not below {PER_DIM_LR_THRESHOLD}",
            "x[0] sits in a steep direction and x[1] in a shallow "
            "one: search a small grid of pairs with final_loss_with(...)",
        )
    print(f"{test_id}: final loss {loss:.4f} < {PER_DIM_LR_THRESHOLD}")


#: The parameters the visible optimizer checks train: a scalar, a vector and a matrix.
TOY_SHAPES = [(), (3,), (2, 3)]


def random_parameters(seed: int, shapes, dtype=torch.float64, device="cpu") -> list[torch.Tensor]:
    """Leaf tensors of ``shapes`` that require grad, drawn from N(0, 1) in float64 with ``seed``
    (so that every dtype gets the same values, rounded), then put in ``dtype`` on ``device``."""
    g = torch.Generator().manual_seed(seed)
    return [
        torch.randn(shape, generator=g, dtype=torch.float64)
        .to(dtype=dtype, device=device)
        .requires_grad_()
        for shape in shapes
    ]


def leaf_copies(params) -> list[torch.Tensor]:
    """New leaf tensors that require grad, with the values, dtypes and devices of ``params``."""
    return [p.detach().clone().requires_grad_() for p in params]


def quartic_loss(params) -> torch.Tensor:
    """sum_i |p_i - 0.3 i|^2 + 0.05 sum(p_i^4) + sum(sin p_i): a smooth loss of any list of
    parameters, whose gradients vary in size and sign."""
    total = 0.0
    for index, p in enumerate(params):
        total = total + ((p - 0.3 * index) ** 2).sum() + 0.05 * (p**4).sum() + p.sin().sum()
    return total


def flat(params) -> torch.Tensor:
    """The parameters as one float64 CPU vector."""
    return torch.cat([p.detach().double().cpu().flatten() for p in params])


def run_in_turn(
    makers: Sequence[Callable],
    groups,
    steps: int,
    loss: Callable = quartic_loss,
    clear: Callable | None = None,
) -> list[torch.Tensor]:
    """Optimizers ``make(iter(params))``, one per maker and group of parameters, all made first,
    then stepped in turn on ``loss``: the parameters (``flat``) after each step, (steps, n), per
    optimizer. Before each backward() the gradients are set to None here, or cleared by
    ``clear(optimizer)``: zero_grad has a check of its own."""
    # iter(): an optimizer gets a one-pass iterator, as net.parameters() is
    optimizers = [make(iter(params)) for make, params in zip(makers, groups)]
    paths = [[] for _ in optimizers]
    for _ in range(steps):
        for optimizer, params, path in zip(optimizers, groups, paths):
            if clear is None:
                for p in params:
                    p.grad = None
            else:
                clear(optimizer)
            loss(params).backward()
            optimizer.step()
            path.append(flat(params))
    return [torch.stack(path) for path in paths]


def run_steps(
    make: Callable, params, steps: int, loss: Callable = quartic_loss, clear: Callable | None = None
) -> torch.Tensor:
    """run_in_turn for the one optimizer ``make(iter(params))``: its path, (steps, n)."""
    return run_in_turn([make], [params], steps, loss, clear)[0]


def _path_of_update(init, update: Callable, steps: int, loss: Callable) -> torch.Tensor:
    """The path (as run_steps gives it) of p <- update(p, grad of loss) from leaf_copies(init)."""
    params = leaf_copies(init)
    path = []
    for _ in range(steps):
        grads = torch.autograd.grad(loss(params), params)
        with torch.no_grad():
            for p, g in zip(params, grads):
                p.copy_(update(p, g))
        path.append(flat(params))
    return torch.stack(path)


def weight_decay_mistakes(kwargs: dict, init, steps: int, loss: Callable = quartic_loss) -> dict:
    """The paths (as run_steps gives them) of classic wrong weight-decay updates of
    SimpleGradientDescent(**kwargs) from leaf_copies(init), by description; {} without weight decay."""
    lr, wd = kwargs["lr"], kwargs.get("weight_decay", 0.0)
    if not wd:
        return {}
    updates = {
        "weight decay applied outside the learning rate (p -= lr*g + wd*p)": lambda p, g: (
            p - lr * g - wd * p
        ),
        "weight decay with the wrong sign (p -= lr*(g - wd*p))": lambda p, g: p - lr * (g - wd * p),
        "weight decay on |p| instead of p": lambda p, g: p - lr * (g + wd * p.abs()),
        "weight decay outside the learning rate and with the wrong sign (p -= lr*g - wd*p): the decay "
        "term is wd*p, added to the gradient, and lr scales both": lambda p, g: p - lr * g + wd * p,
        "weight decay on |p| and outside the learning rate (p -= lr*g + wd*|p|): the decay term is "
        "wd*p, added to the gradient, and lr scales both": lambda p, g: p - lr * g - wd * p.abs(),
    }
    mistakes = {
        name: _path_of_update(init, update, steps, loss) for name, update in updates.items()
    }
    mistakes["weight decay ignored"] = run_steps(
        lambda p: torch.optim.SGD(p, lr=lr), leaf_copies(init), steps, loss
    )
    return mistakes


def _sgd_mistakes(kwargs: dict, steps: int) -> dict:
    """weight_decay_mistakes from random_parameters(0, TOY_SHAPES), and momentum."""
    init = random_parameters(0, TOY_SHAPES)
    return {
        **weight_decay_mistakes(kwargs, init, steps),
        "momentum (a velocity kept from step to step): SimpleGradientDescent is plain gradient "
        "descent, each step from this step's gradient alone": run_steps(
            lambda p: torch.optim.SGD(p, momentum=0.9, **kwargs), leaf_copies(init), steps
        ),
    }


SETTINGS_ON_SELF_HINT = (
    "two optimizers alive at once share nothing: keep the parameters and the settings "
    "on self (self.parameters = list(parameters), self.lr = lr), not on the class "
    "(SimpleGradientDescent.lr = lr)"
)


def _check_against_torch(test_id: str, SimpleGradientDescent, cases, steps: int, hint: str) -> None:
    """Compare ``SimpleGradientDescent(params, **kw)`` with ``torch.optim.SGD(params, **kw)`` step
    by step, for each of ``cases``, then two of them alive at once (the settings of the first two
    cases), stepped in turn."""
    for kwargs in cases:
        case = ", ".join(f"{k}={v}" for k, v in kwargs.items()) + f", {steps} steps"
        got = run_steps(
            lambda p: SimpleGradientDescent(p, **kwargs), random_parameters(0, TOY_SHAPES), steps
        )
        expected = run_steps(
            lambda p: torch.optim.SGD(p, **kwargs), random_parameters(0, TOY_SHAPES), steps
        )
        expect_path(
            test_id,
            case,
            expected,
            got,
            tolerance(expected, got),
            hint,
            lambda: _sgd_mistakes(kwargs, steps),
        )
    pair = cases[:2]

    def in_turn(optimizer_cls):
        return run_in_turn(
            [lambda p, kw=kw: optimizer_cls(p, **kw) for kw in pair],
            [random_parameters(seed, TOY_SHAPES) for seed in (0, 1)],
            steps,
        )

    for index, (e, g) in enumerate(zip(in_turn(torch.optim.SGD), in_turn(SimpleGradientDescent))):
        expect_path(
            test_id,
            f"two optimizers alive at once, {pair[0]} and {pair[1]}, stepped in turn: "
            f"the {('first', 'second')[index]}",
            e,
            g,
            tolerance(e, g),
            SETTINGS_ON_SELF_HINT,
        )
    _passed(test_id, len(cases) + 1)


@student_facing
def check_sgd_optimizer__matches_torch(SimpleGradientDescent) -> None:
    """``SimpleGradientDescent`` without weight decay equals torch.optim.SGD, also with two alive at once."""
    _check_against_torch(
        "sgd_optimizer__matches_torch",
        SimpleGradientDescent,
        [{"lr": 0.1}, {"lr": 0.03}],
        steps=4,
        hint="step() does p -= lr * p.grad for every parameter, in place under "
        "torch.no_grad(); keep the parameters in a list (parameters may be "
        "a generator that can be read only once)",
    )


@student_facing
def check_sgd_optimizer__weight_decay(SimpleGradientDescent) -> None:
    """``SimpleGradientDescent`` with weight decay equals torch.optim.SGD(weight_decay=...)."""
    _check_against_torch(
        "sgd_optimizer__weight_decay",
        SimpleGradientDescent,
        [{"lr": 0.1, "weight_decay": 0.1}, {"lr": 0.1, "weight_decay": 1e-3}],
        steps=4,
        hint="with weight_decay > 0 your steps differ from torch.optim.SGD's: "
        "step() must be one gradient-descent step on L(p) = L_obj(p) + "
        "weight_decay / 2 * ||p||^2; compare what your step() does with your "
        "answers to 1.D and 1.E",
    )


#: zero_grad checks: the rounds of zero_grad(), backward() and step() compared with the same
#: rounds with the gradients set to None by hand.
ZERO_GRAD_ROUNDS = 3
ZERO_GRAD_HINT = (
    "store list(parameters) in __init__ (a generator can be read only once) and set "
    "p.grad = None for each"
)
ZERO_GRAD_BEFORE_BACKWARD_HINT = (
    "until the first backward() every p.grad is None, and a training loop "
    "calls zero_grad() first (this notebook's does): set p.grad = None, which "
    "works either way, or skip a p whose p.grad is None"
)


def zero_grad_keeps_hint(keeps: str) -> str:
    return f"zero_grad() only clears the gradients: it must leave {keeps} as they are"


def expect_same_rounds(test_id: str, by_hand, with_it, keeps: str) -> None:
    """Fail unless the rounds with zero_grad() (``with_it``, as run_steps gives them) go where the
    rounds with the gradients set to None by hand go; ``keeps``: what zero_grad() must leave alone."""
    expect_path(
        test_id,
        f"{ZERO_GRAD_ROUNDS} rounds of zero_grad(), backward(), step()",
        by_hand,
        with_it,
        tolerance(by_hand),
        zero_grad_keeps_hint(keeps),
        what="expected what the same rounds do with p.grad = None in place of zero_grad(),",
    )


def _check_zero_grad(test_id: str, optimizer_cls, keeps: str) -> None:
    """``zero_grad()`` raises nothing before the first backward() (a training loop calls it first,
    while every p.grad is None), clears every gradient (to None or zeros), and changes nothing
    else (see expect_same_rounds)."""
    params = random_parameters(1, TOY_SHAPES)
    optimizer = optimizer_cls(iter(params), lr=0.1)
    try:
        optimizer.zero_grad()
    except Exception as err:  # the student's zero_grad, on parameters without gradients
        fail(
            test_id,
            "zero_grad() before any backward()",
            f"zero_grad() raised {type(err).__name__}: {err}",
            ZERO_GRAD_BEFORE_BACKWARD_HINT,
        )
    quartic_loss(params).backward()
    optimizer.zero_grad()
    for index, p in enumerate(params):
        if p.grad is not None and p.grad.abs().max().item() != 0:
            fail(
                test_id,
                f"parameter {index}",
                f"gradient not cleared: {show(p.grad)}",
                ZERO_GRAD_HINT,
            )
    make = lambda p: optimizer_cls(p, lr=0.1)
    try:
        by_hand = run_steps(make, random_parameters(1, TOY_SHAPES), ZERO_GRAD_ROUNDS)
    except Exception:  # step() itself fails: the other checks say why
        by_hand = None
    if by_hand is None or not bool(torch.isfinite(by_hand).all()):
        _passed(test_id, 2)
        return
    with_it = run_steps(
        make,
        random_parameters(1, TOY_SHAPES),
        ZERO_GRAD_ROUNDS,
        clear=lambda optimizer: optimizer.zero_grad(),
    )
    expect_same_rounds(test_id, by_hand, with_it, keeps)
    _passed(test_id, 3)


@student_facing
def check_sgd_optimizer__zero_grad(SimpleGradientDescent) -> None:
    """``zero_grad()`` clears every parameter's gradient (to None or zeros)."""
    _check_zero_grad(
        "sgd_optimizer__zero_grad", SimpleGradientDescent, "the parameters' values and the settings"
    )


# Part 2 -------------------------------------------------------------------

#: Task 2.1 cases: (case, gradients (T, d), mean, RMS), the answers worked out in advance.
_GRAD_STATS_CASES = [
    (
        "4 steps, 2 coordinates",
        [[1.0, -2.0], [3.0, 2.0], [-1.0, 0.0], [1.0, 4.0]],
        [1.0, 1.0],
        [1.7320508076, 2.4494897428],
    ),
    ("1 step, 3 coordinates", [[-0.5, 2.0, 0.0]], [-0.5, 2.0, 0.0], [0.5, 2.0, 0.0]),
    ("5 equal steps", [[2.0, -3.0]] * 5, [2.0, -3.0], [2.0, 3.0]),
]
#: Task 2.1 shape cases: (case, gradients (T, d)); their values are the other check's.
_GRAD_STATS_SHAPE_CASES = [
    (
        "3 steps, 5 coordinates",
        [[-7.0, -6.0, -5.0, -4.0, -3.0], [-2.0, -1.0, 0.0, 1.0, 2.0], [3.0, 4.0, 5.0, 6.0, 7.0]],
    ),
    ("6 steps, 1 coordinate", [[0.5], [-1.0], [2.0], [-0.5], [1.5], [-2.5]]),
]


def _f64(values) -> torch.Tensor:
    """Numbers fixed in advance, kept in float64 (torch.as_tensor would round them to float32)."""
    return torch.tensor(values, dtype=torch.float64)


def got64(value):
    """A tensor as it is; a result that is not one (a float, a list) as a float64 tensor (not
    rounded to float32); what cannot be one as it is."""
    if isinstance(value, torch.Tensor):
        return value
    try:
        return torch.as_tensor(value, dtype=torch.float64)
    except (TypeError, ValueError, RuntimeError):
        return value


def _call_pair(test_id: str, func: Callable, case: str, args: tuple, names: str, hint: str):
    result = func(*args)
    if not isinstance(result, (tuple, list)) or len(result) != 2:
        fail(test_id, case, f"expected a pair ({names}), got {type(result).__name__}", hint)
    return result


def rms_mistakes(g: torch.Tensor) -> dict:
    """What classic wrong RMS formulas give for gradients ``g`` (T, d), float64, by description."""
    n = g.shape[0]
    return {
        "RMS computed as sqrt(sum of g^2) / N (the root of a sum, divided by N, is not the root of "
        "a mean: it is RMS / sqrt(N))": g.pow(2).sum(dim=0).sqrt() / n,
        "RMS computed as sqrt(sum of g^2), without dividing by N": g.pow(2).sum(dim=0).sqrt(),
        "the mean of g^2, without the square root": g.pow(2).mean(dim=0),
        "the mean of |g| instead of the RMS": g.abs().mean(dim=0),
        "the standard deviation (it subtracts the mean first; the RMS does not)": g.std(
            dim=0, unbiased=False
        ),
        **(
            {
                "the unbiased standard deviation (it subtracts the mean first; the RMS does not)": g.std(
                    dim=0, unbiased=True
                )
            }
            if n > 1
            else {}
        ),
    }


@student_facing
def check_grad_stats__values(gradient_stats: Callable) -> None:
    """``gradient_stats(grads)`` returns the per-coordinate mean and RMS of a few fixed (T, d) tensors."""
    test_id = "grad_stats__values"
    hint = (
        "mean = the average of g over the steps; RMS = the square root of the average of g**2 "
        "over the steps"
    )
    for case, rows, mean, rms in _GRAD_STATS_CASES:
        for dtype in (torch.float64, torch.float32):
            grads = torch.tensor(rows, dtype=dtype)
            where = f"{case} (grads of shape {tuple(grads.shape)}, {dtype})"
            got_mean, got_rms = _call_pair(
                test_id, gradient_stats, where, (grads,), "mean, rms", hint
            )
            for name, expected, got, mistakes in (
                ("mean", _f64(mean), got64(got_mean), None),
                ("RMS", _f64(rms), got64(got_rms), rms_mistakes(_f64(rows))),
            ):
                expect_close(
                    test_id,
                    f"{where}: {name}",
                    expected,
                    got,
                    tolerance(expected, dtype, got),
                    hint,
                    mistakes,
                )
    _passed(test_id, 2 * len(_GRAD_STATS_CASES))


@student_facing
def check_grad_stats__shapes(gradient_stats: Callable) -> None:
    """``gradient_stats`` returns two tensors of shape (d,) for grads of shape (T, d), any d, and
    leaves grads as it was (the values are check_grad_stats__values')."""
    test_id = "grad_stats__shapes"
    hint = (
        "average over the steps, dim 0, so that a (T, d) input gives two (d,) outputs: one mean "
        "and one RMS per coordinate"
    )
    for case, rows in _GRAD_STATS_SHAPE_CASES:
        for dtype in (torch.float64, torch.float32):
            grads = torch.tensor(rows, dtype=dtype)
            where = f"{case} (grads of shape {tuple(grads.shape)}, {dtype})"
            result = _call_pair(test_id, gradient_stats, where, (grads.clone(),), "mean, rms", hint)
            for name, got in zip(("mean", "RMS"), result):
                got = got64(got)
                shape = tuple(got.shape) if isinstance(got, torch.Tensor) else type(got).__name__
                if shape != (grads.shape[1],):
                    fail(
                        test_id,
                        f"{where}: {name}",
                        f"expected shape ({grads.shape[1]},), got {shape}",
                        hint,
                    )
            before = grads.clone()
            gradient_stats(grads)
            if not torch.equal(grads, before):
                fail(
                    test_id,
                    where,
                    "gradient_stats changed the tensor it was given",
                    "compute new tensors instead of modifying grads in place",
                )
    _passed(test_id, 2 * len(_GRAD_STATS_SHAPE_CASES))


#: Questions 2.A and 2.B: how far the two numbers, read off a printout to 4 decimals, may be from
#: the true values.
ANSWER_TOLERANCE = 1e-3


def expect_two_numbers(
    test_id: str, value, name: str, nonnegative: bool = False, shown: str | None = None
) -> torch.Tensor:
    """``value`` as a float64 tensor of two finite numbers (not negative with ``nonnegative``), or
    fail on its format, showing it as ``shown`` (its repr by default)."""
    hint = f"write {name} = (value for x[0], value for x[1]), numbers to 4 decimals"
    shown = repr(value) if shown is None else shown
    try:
        numbers = torch.as_tensor(
            value.detach().cpu() if isinstance(value, torch.Tensor) else value, dtype=torch.float64
        ).flatten()
    except (TypeError, ValueError, RuntimeError):
        fail(test_id, "format", f"expected two numbers, got {shown}", hint)
    if numbers.numel() != 2 or not bool(torch.isfinite(numbers).all()):
        fail(test_id, "format", f"expected two finite numbers, got {shown}", hint)
    if nonnegative and bool((numbers < 0).any()):
        fail(test_id, "format", f"got {numbers.tolist()}, but an RMS is never negative", hint)
    return numbers


def _check_two_numbers(test_id: str, value, name: str, nonnegative: bool = False) -> None:
    first, second = expect_two_numbers(test_id, value, name, nonnegative).tolist()
    print(
        f"{test_id}: {name} = ({first:.4f}, {second:.4f}) has the right form; "
        f"the grader compares it with the true values (tolerance {ANSWER_TOLERANCE:g})"
    )


@student_facing
def check_q_mean_values__numbers(mean_grad_values) -> None:
    """``mean_grad_values`` holds two numbers (their values are graded by the autograder)."""
    _check_two_numbers("q_mean_values__numbers", mean_grad_values, "mean_grad_values")


@student_facing
def check_q_rms_values__numbers(rms_grad_values) -> None:
    """``rms_grad_values`` holds two non-negative numbers (their values are graded by the autograder)."""
    _check_two_numbers(
        "q_rms_values__numbers", rms_grad_values, "rms_grad_values", nonnegative=True
    )


#: Question 2.C: the options each answer variable may take.
MEAN_VS_RMS_OPTIONS = {
    "never_smaller": ("mean", "RMS"),
    "typical_size": ("mean", "RMS"),
    "consistent_sign": ("close", "much smaller"),
    "sign_changes": ("close", "much smaller"),
}


def expect_choice(test_id: str, answer, name: str, shown: str | None = None) -> str:
    """``answer`` (one of MEAN_VS_RMS_OPTIONS[name], in any case, spaces around it ignored) stripped,
    or fail on its format, showing it as ``shown`` (its repr by default)."""
    options = MEAN_VS_RMS_OPTIONS[name]
    allowed = " or ".join(f'"{option}"' for option in options)
    if not isinstance(answer, str) or answer.strip().lower() not in {o.lower() for o in options}:
        fail(
            test_id,
            "format",
            f"{name} must be {allowed}, got {repr(answer) if shown is None else shown}",
            f"set {name} to one of the strings {allowed}",
        )
    return answer.strip()


def _check_choice(test_id: str, answer, name: str) -> None:
    allowed = " or ".join(f'"{option}"' for option in MEAN_VS_RMS_OPTIONS[name])
    print(
        f"{test_id}: {name} = {expect_choice(test_id, answer, name)!r} is one of {allowed}; "
        "the grader checks whether it is right"
    )


@student_facing
def check_q_mean_vs_rms__never_smaller(never_smaller) -> None:
    _check_choice("q_mean_vs_rms__never_smaller", never_smaller, "never_smaller")


@student_facing
def check_q_mean_vs_rms__typical_size(typical_size) -> None:
    _check_choice("q_mean_vs_rms__typical_size", typical_size, "typical_size")


@student_facing
def check_q_mean_vs_rms__consistent_sign(consistent_sign) -> None:
    _check_choice("q_mean_vs_rms__consistent_sign", consistent_sign, "consistent_sign")


@student_facing
def check_q_mean_vs_rms__sign_changes(sign_changes) -> None:
    _check_choice("q_mean_vs_rms__sign_changes", sign_changes, "sign_changes")


#: Task 2.2 cases: (x_t, beta, t, ema_star_old) -> (EMA_t, EMA*_t), worked out in advance. The
#: first four are one series, x = 1, 2, -1, 0.5 with beta = 0.5, starting from EMA*_0 = 0.
_EMA_CASES = [
    ((1.0, 0.5, 1, 0.0), (1.0, 0.5)),
    ((2.0, 0.5, 2, 0.5), (1.6666666667, 1.25)),
    ((-1.0, 0.5, 3, 1.25), (0.1428571429, 0.125)),
    ((0.5, 0.5, 4, 0.125), (0.3333333333, 0.3125)),
    ((2.0, 0.9, 5, 1.0), (2.6861370907, 1.1)),
    ((1.0, 0.99, 3, 0.5), (17.0027945187, 0.505)),
    ((-3.0, 0.9, 200, -2.0), (-2.1000000015, -2.1)),
]


def _check_ema_cases(test_id: str, ema_update: Callable, which: int, hint: str) -> None:
    for args, expected in _EMA_CASES:
        case = "x_t={}, beta={}, t={}, ema_star_old={}".format(*args)
        result = _call_pair(
            test_id, ema_update, case, args, "ema, ema_star_t", "return ema, ema_star_t"
        )
        got = got64(result[which])
        expect_close(
            test_id,
            f"{case}: {('ema', 'ema_star_t')[which]}",
            _f64(expected[which]),
            got,
            tolerance(_f64(expected[which]), got),
            hint,
        )
    _passed(test_id, len(_EMA_CASES))


@student_facing
def check_ema_update__formula(ema_update: Callable) -> None:
    """The second output of ``ema_update`` is EMA*_t on a few fixed cases."""
    _check_ema_cases(
        "ema_update__formula",
        ema_update,
        1,
        "EMA*_t = beta * EMA*_{t-1} + (1 - beta) * x_t, returned second: the new value "
        "x_t gets the small weight 1 - beta",
    )


@student_facing
def check_ema_update__bias_correction(ema_update: Callable) -> None:
    """The first output of ``ema_update`` is the bias-corrected EMA_t on a few fixed cases."""
    _check_ema_cases(
        "ema_update__bias_correction",
        ema_update,
        0,
        "EMA_t = EMA*_t / (1 - beta ** t), returned first, with t counting from 1: "
        "at t = 1, starting from EMA*_0 = 0, the EMA equals x_1",
    )


@student_facing
def check_ema_update__tensors_unchanged(ema_update: Callable) -> None:
    """``ema_update`` works on tensors of any shape, giving element by element what it gives
    for numbers, and does not modify its inputs."""
    test_id = "ema_update__tensors_unchanged"
    hint = "use operations that make new tensors (beta * old + ...), not in-place ones (*=, +=, .mul_())"
    x_rows, old_rows = [[1.0, -2.0, 0.5], [4.0, 0.0, -1.0]], [[0.1, 0.2, 0.3], [-0.1, -0.2, -0.3]]
    beta, t = 0.9, 3
    cases = 0
    for dtype in (torch.float64, torch.float32):
        x = torch.tensor(x_rows, dtype=dtype)
        for start, step in [(torch.tensor(old_rows, dtype=dtype), t), (0.0, 1)]:
            case = (
                f"tensors of shape (2, 3), {dtype}, beta={beta}, t={step}, ema_star_old "
                f"{'a tensor' if isinstance(start, torch.Tensor) else '= 0.0'}"
            )
            x_before = x.clone()
            start_before = start.clone() if isinstance(start, torch.Tensor) else start
            result = _call_pair(
                test_id,
                ema_update,
                case,
                (x, beta, step, start),
                "ema, ema_star_t",
                "return ema, ema_star_t",
            )
            olds = (
                start_before.flatten().tolist()
                if isinstance(start, torch.Tensor)
                else [start] * x.numel()
            )
            try:
                scalar = [
                    _call_pair(
                        test_id, ema_update, case, (xi, beta, step, oi), "ema, ema_star_t", ""
                    )
                    for xi, oi in zip(x_before.flatten().tolist(), olds)
                ]
                scalar = [
                    _f64([float(pair[k]) for pair in scalar]).reshape(x.shape) for k in (0, 1)
                ]
            except Exception:  # the student's code on numbers; the two formula checks show why
                fail(
                    test_id,
                    case,
                    "ema_update fails on Python numbers, so its tensor results "
                    "cannot be compared with them",
                    "make check_ema_update__formula pass first",
                )
            if not torch.equal(x, x_before):
                fail(test_id, case, "ema_update changed its input x_t", hint)
            if isinstance(start, torch.Tensor) and not torch.equal(start, start_before):
                fail(test_id, case, "ema_update changed its input ema_star_old", hint)
            for name, got, want in zip(("ema", "ema_star_t"), result, scalar):
                if not isinstance(got, torch.Tensor):
                    fail(
                        test_id, case, f"{name} is a {type(got).__name__}, expected a tensor", hint
                    )
                expect_close(
                    test_id,
                    f"{case}: {name}, compared with your results for each element as a number",
                    want,
                    got,
                    tolerance(want, dtype, got),
                    "for tensors the "
                    "results must be what you get element by element for numbers; " + hint,
                )
            cases += 1
    _passed(test_id, cases)


def method_globals(cls) -> list[dict]:
    """The global namespaces the methods of ``cls`` and of its bases (not ``object``) read, once each:
    for a class written in a notebook, the notebook's globals."""
    spaces = {}
    for klass in getattr(cls, "__mro__", (cls,)):
        for attr in vars(klass).values() if klass is not object else ():
            space = getattr(getattr(attr, "__func__", attr), "__globals__", None)
            if isinstance(space, dict):
                spaces[id(space)] = space
    return list(spaces.values())


def _student_global(cls, name: str):
    """What ``name`` means to the methods of ``cls`` (a notebook global), or None."""
    return next((space[name] for space in method_globals(cls) if name in space), None)


def _passes_quietly(check: Callable, *args) -> bool:
    import contextlib
    import io

    try:
        with contextlib.redirect_stdout(io.StringIO()):
            check(*args)
    except Exception:
        return False
    return True


def _check_adam(test_id: str, ADAMOptimizer, run: Callable[[], None]) -> None:
    """Run the check ``run``. If it fails while ``ema_update``, which ADAMOptimizer is built on,
    fails its own checks, say that ADAMOptimizer cannot be checked yet instead of failing: the
    autograder checks ADAMOptimizer with a correct ema_update, so one mistake costs once."""
    ADAMOptimizer(iter(random_parameters(0, TOY_SHAPES)), lr=0.1)
    try:
        run()
    except Exception:
        ema_update = _student_global(ADAMOptimizer, "ema_update")
        if ema_update is not None and all(
            _passes_quietly(check, ema_update)
            for check in (
                check_ema_update__formula,
                check_ema_update__bias_correction,
                check_ema_update__tensors_unchanged,
            )
        ):
            raise
        print(
            f"{test_id}: not checked yet: ADAMOptimizer is built on ema_update, which does not pass "
            "its own checks. Fix ema_update first; the grader checks ADAMOptimizer with a correct "
            "ema_update."
        )


ADAM_HINT = (
    "step() advances t by one, then for each parameter: g = the gradient of L_obj(p) + "
    "weight_decay / 2 * ||p||^2 (your answer to 1.D); "
    "m, m* = ema_update(g, beta1, t, m*); v, v* = ema_update(g * g, beta2, t, v*); "
    "p -= lr * m / (sqrt(v) + eps); m* and v* are kept for the next step"
)
STATE_HINT = (
    "create the state with torch.zeros_like(p), which has p's shape, dtype and device "
    "(torch.zeros(p.shape) is float32 on the CPU)"
)
ADAM_DECAY_HINT = (
    "with weight_decay > 0, g is the gradient of L_obj(p) + weight_decay / 2 * ||p||^2 "
    "(your answer to 1.D), and both moments use that g (coupled L2, as in Part 1 and "
    "torch.optim.Adam); nothing else changes"
)
CLASS_STATE_HINT = (
    "each optimizer keeps its own settings (lr, betas, eps, weight_decay), t, m* and v*: "
    "create them in __init__ as attributes of self (self.lr = lr, self.t = 0), not as "
    "class attributes shared by every ADAMOptimizer (ADAMOptimizer.lr = lr, or a list "
    "or dict written in the class body)"
)
TWIN_HINT = (
    "two parameters of the same shape must not share m* and v*: is the state keyed by p.shape, or "
    "by something else two parameters can share? Keep it per parameter: lists in the order of "
    "self.parameters, or a dict keyed by the parameter's position"
)

# Classic mistakes in Adam, by description (the hidden checks simulate their whole paths; these
# checks name the first three from the first step, "your first step matches", and only where that
# step differs from torch's: a simulation of later steps would be an Adam to copy).
NO_BIAS_CORRECTION = (
    "no bias correction (m* and v* used as they are; divide them by 1 - beta1^t and 1 - beta2^t)"
)
EPS_INSIDE_SQRT = (
    "eps inside the square root: the update divides by sqrt(v_hat + eps) instead of "
    "sqrt(v_hat) + eps"
)
NO_SQRT = "no square root: the update divides by v_hat + eps instead of sqrt(v_hat) + eps"
DECAY_IGNORED = (
    "weight_decay ignored (the moments must see the gradient of L_obj(p) + weight_decay / 2 "
    "* ||p||^2, your answer to 1.D)"
)
PER_PARAMETER_MISTAKE = (
    "t advanced once per parameter instead of once per step() (increment t once, before the loop)"
)
PERSIST_MISTAKE = (
    "the moments never persist: m* and v* start from zero at every step (the state is "
    "rebound, e.g. `m, m_star = ema_update(...)` into a loop variable, instead of "
    "updated in place with m_star.copy_(...) or m_star[...] = ...)"
)
OWN_STATE_HINT = (
    f"a parameter's updates depend only on its own gradients and on t: {PER_PARAMETER_MISTAKE}, "
    "or state shared between parameters?"
)


def drive(make: Callable, init, steps: int, gradients: Callable):
    """Run ``steps`` steps of ``make(iter(params))`` over leaf_copies(init), each p.grad set to
    ``gradients(step, params)`` first: (the path as run_steps gives it, the parameters, the
    optimizer). Setting p.grad here, a broken zero_grad costs only its own check."""
    params = leaf_copies(init)
    optimizer = make(iter(params))
    path = []
    for step in range(steps):
        for p, grad in zip(params, gradients(step, params)):
            p.grad = grad.detach().clone()
        optimizer.step()
        path.append(flat(params))
    return torch.stack(path), params, optimizer


def loss_gradients(loss: Callable = quartic_loss) -> Callable:
    """A gradient source for drive: the gradients of ``loss`` at the current parameters."""

    def source(step, params):
        return torch.autograd.grad(loss(params), params)

    return source


def fixed_gradients(sequence) -> Callable:
    """A gradient source for drive: ``sequence[step]`` (a list of tensors), whatever the parameters."""

    def source(step, params):
        return [g.clone() for g in sequence[step]]

    return source


def with_l2(gradients: Callable, weight_decay: float) -> Callable:
    """A gradient source for drive: that of ``gradients``' loss plus (weight_decay / 2) |p|^2."""

    def source(step, params):
        return [g + weight_decay * p.detach() for g, p in zip(gradients(step, params), params)]

    return source


def _adam_first_step_mistakes(kwargs: dict) -> dict:
    """What classic mistakes in the update give at the first step from random_parameters(0,
    TOY_SHAPES), as a path of one step: at t = 1 the bias-corrected moments are g and g * g."""
    params = random_parameters(0, TOY_SHAPES)
    g = flat(torch.autograd.grad(quartic_loss(params), params))
    lr, (beta1, beta2), eps = (
        kwargs["lr"],
        kwargs.get("betas", (0.9, 0.999)),
        kwargs.get("eps", 1e-8),
    )
    steps = {
        EPS_INSIDE_SQRT: g / (g * g + eps).sqrt(),
        NO_SQRT: g / (g * g + eps),
        NO_BIAS_CORRECTION: (1 - beta1) * g / ((1 - beta2) ** 0.5 * g.abs() + eps),
    }
    return {name: (flat(params) - lr * step)[None] for name, step in steps.items()}


def _adam_against_torch(test_id: str, ADAMOptimizer, cases, steps: int, hint: str) -> None:
    """Compare ``ADAMOptimizer(params, **kw)`` with ``torch.optim.Adam(params, **kw)`` step by step
    on quartic_loss (see drive)."""
    for kwargs in cases:
        case = ", ".join(f"{k}={v}" for k, v in kwargs.items()) + f", {steps} steps"
        init = random_parameters(0, TOY_SHAPES)
        got, params, optimizer = drive(
            lambda p: ADAMOptimizer(p, **kwargs), init, steps, loss_gradients()
        )
        expected, _, _ = drive(
            lambda p: torch.optim.Adam(p, **kwargs), init, steps, loss_gradients()
        )
        mismatch = _state_mismatch(optimizer, params)
        expect_path(
            test_id,
            case,
            expected,
            got,
            tolerance(expected, got),
            f"{mismatch}: {STATE_HINT}" if mismatch else hint,
            lambda: _adam_first_step_mistakes(kwargs),
        )
    _passed(test_id, len(cases))


@student_facing
def check_adam_optimizer__matches_torch(ADAMOptimizer) -> None:
    """``ADAMOptimizer`` without weight decay equals torch.optim.Adam step for step."""
    test_id = "adam_optimizer__matches_torch"
    _check_adam(
        test_id,
        ADAMOptimizer,
        lambda: _adam_against_torch(
            test_id,
            ADAMOptimizer,
            [{"lr": 0.1}, {"lr": 0.05, "betas": (0.5, 0.9), "eps": 0.1}],
            steps=5,
            hint=ADAM_HINT,
        ),
    )


@student_facing
def check_adam_optimizer__weight_decay(ADAMOptimizer) -> None:
    """``ADAMOptimizer(weight_decay=wd)`` on a loss L does what ``ADAMOptimizer(weight_decay=0)``
    does on L + (wd / 2) |p|^2: PyTorch's coupled L2, whatever the rest of the update."""
    test_id = "adam_optimizer__weight_decay"
    cases = [
        {"lr": 0.1, "weight_decay": 0.1},
        {"lr": 0.05, "betas": (0.8, 0.95), "weight_decay": 0.5},
    ]

    def own_path(kwargs, gradients):
        return drive(
            lambda p: ADAMOptimizer(p, **kwargs), random_parameters(0, TOY_SHAPES), 5, gradients
        )[0]

    def run():
        for kwargs in cases:
            wd = kwargs["weight_decay"]
            plain = {k: v for k, v in kwargs.items() if k != "weight_decay"}
            got = own_path(kwargs, loss_gradients())
            expected = own_path(plain, with_l2(loss_gradients(), wd))
            ignored = own_path(plain, loss_gradients())
            case = ", ".join(f"{k}={v}" for k, v in kwargs.items())
            for step, (g, e, i) in enumerate(zip(got, expected, ignored), start=1):
                expect_close(
                    test_id,
                    f"{case}, after step {step}: compared with your ADAMOptimizer "
                    f"without weight decay on the loss + ({wd}/2)|p|^2",
                    e,
                    g,
                    tolerance(e, g),
                    ADAM_DECAY_HINT,
                    {DECAY_IGNORED: i},
                )
        _passed(test_id, len(cases))

    _check_adam(test_id, ADAMOptimizer, run)


#: Gradients set by hand for two parameters (shapes (2,) and ()), changing sign and size.
_HAND_GRADIENTS = [
    ([0.5, -1.0], 2.0),
    ([-1.5, 0.2], -0.5),
    ([0.1, 3.0], 1.0),
    ([2.0, -0.3], -2.5),
    ([-0.4, 0.8], 0.3),
    ([1.2, 1.2], -1.0),
]


def _steps_with_hand_gradients(make, gradients=_HAND_GRADIENTS, which=(0, 1)) -> torch.Tensor:
    """drive's path of ``make`` over the parameters ``which`` of ((0.3, -0.7), 1.1), their
    gradients set by hand."""
    init = [torch.tensor(start, dtype=torch.float64) for start in ([0.3, -0.7], 1.1)]
    sequence = [[torch.tensor(grads[i], dtype=torch.float64) for i in which] for grads in gradients]
    return drive(make, [init[i] for i in which], len(gradients), fixed_gradients(sequence))[0]


def _twins_with_hand_gradients(make, which=(0, 1)) -> torch.Tensor:
    """drive's path of ``make`` over the parameters ``which`` of two of one shape, (0.3, -0.7) and
    (1.1, -0.2), with the vectors of _HAND_GRADIENTS as the gradients of the first and those
    reversed as the second's."""
    init = [torch.tensor(start, dtype=torch.float64) for start in ([0.3, -0.7], [1.1, -0.2])]
    sequence = [
        [torch.tensor(vector if i == 0 else vector[::-1], dtype=torch.float64) for i in which]
        for vector, _ in _HAND_GRADIENTS
    ]
    return drive(make, [init[i] for i in which], len(sequence), fixed_gradients(sequence))[0]


#: Two optimizers alive at once (Task 2.3's state_persists): each keeps its own settings.
_IN_TURN_SETTINGS = (
    {"lr": 0.1, "betas": (0.8, 0.9)},
    {"lr": 0.03, "betas": (0.5, 0.99), "eps": 1e-6},
)


def _check_in_turn(test_id: str, ADAMOptimizer, steps: int = 5) -> None:
    """Two ADAMOptimizer objects, made one after the other with _IN_TURN_SETTINGS and stepped in
    turn (run_in_turn), each move as it does alone."""
    makers = [lambda p, kw=kw: ADAMOptimizer(p, **kw) for kw in _IN_TURN_SETTINGS]
    together = run_in_turn(makers, [random_parameters(seed, TOY_SHAPES) for seed in (0, 1)], steps)
    for index, (make, path) in enumerate(zip(makers, together)):
        alone = run_steps(make, random_parameters(index, TOY_SHAPES), steps)
        expect_path(
            test_id,
            f"two optimizers alive at once, {_IN_TURN_SETTINGS[0]} and "
            f"{_IN_TURN_SETTINGS[1]}, stepped in turn: the {('first', 'second')[index]}",
            alone,
            path,
            tolerance(alone),
            CLASS_STATE_HINT,
            what="expected (what it does alone)",
        )


@student_facing
def check_adam_optimizer__state_persists(ADAMOptimizer) -> None:
    """Each parameter's m* and v* carry over from step to step, and t advances once per step():
    a step depends on earlier gradients, a parameter moves the same alone or with others (also
    one of the same shape), and two optimizers alive at once share nothing."""
    test_id = "adam_optimizer__state_persists"
    kwargs = {"lr": 0.1, "betas": (0.8, 0.9)}

    def run():
        make = lambda p: ADAMOptimizer(p, **kwargs)
        first = _steps_with_hand_gradients(make)
        (vector, scalar), rest = _HAND_GRADIENTS[0], _HAND_GRADIENTS[1:]
        changed = [([-3 * g for g in vector], -3 * scalar)] + rest
        second = _steps_with_hand_gradients(make, changed)
        moved_first, moved_second = first[1] - first[0], second[1] - second[0]
        if (moved_first - moved_second).abs().max().item() < 1e-7:
            fail(
                test_id,
                "two runs whose gradients differ only at step 1",
                f"step 2 moved the parameters by {show(moved_first)} in both runs: the first "
                "gradient was forgotten",
                mistake_hint(PERSIST_MISTAKE),
            )
        alone = _steps_with_hand_gradients(make, which=(1,))
        for step, (a, b) in enumerate(zip(alone, first), start=1):
            expect_close(
                test_id,
                f"the scalar parameter after step {step}, with the other parameter "
                "in the optimizer, compared with it alone",
                a,
                b[-1:],
                tolerance(a),
                OWN_STATE_HINT,
            )
        together = _twins_with_hand_gradients(make)
        for index in (0, 1):
            alone = _twins_with_hand_gradients(make, which=(index,))
            expect_path(
                test_id,
                f"two parameters of shape (2,) in one optimizer: the "
                f"{('first', 'second')[index]}, compared with it alone",
                alone,
                together[:, 2 * index : 2 * index + 2],
                tolerance(alone),
                TWIN_HINT,
                what="expected (what it does alone)",
            )
        _check_in_turn(test_id, ADAMOptimizer)
        _passed(test_id, len(_HAND_GRADIENTS) + 3)

    _check_adam(test_id, ADAMOptimizer, run)


def tensors_held(obj, exclude) -> list[tuple[str, torch.Tensor]]:
    """(where, tensor) for the floating-point tensors in ``obj``'s attributes, in lists, tuples
    and dicts up to three levels deep, except those in ``exclude``."""
    skip, found = {id(t) for t in exclude}, []

    def walk(value, where, depth):
        if isinstance(value, torch.Tensor):
            if id(value) not in skip and value.is_floating_point():
                found.append((where, value))
        elif depth < 3 and isinstance(value, (list, tuple, dict)):
            items = value.items() if isinstance(value, dict) else enumerate(value)
            for key, item in items:
                walk(
                    item,
                    f"{where}[{key if not isinstance(key, torch.Tensor) else '...'}]",
                    depth + 1,
                )

    for name, value in vars(obj).items():
        walk(value, f"self.{name}", 0)
    return found


def tensor_facts(t: torch.Tensor) -> dict:
    """What state_mismatch needs of a tensor, as plain data: shape (a list), dtype and device (str)."""
    return {"shape": list(t.shape), "dtype": str(t.dtype), "device": str(t.device)}


def state_facts(optimizer, params) -> list[dict]:
    """tensor_facts and "where" of each tensor ``optimizer`` holds besides ``params`` (tensors_held)."""
    return [{"where": where, **tensor_facts(t)} for where, t in tensors_held(optimizer, params)]


def state_mismatch(state: list[dict], params: list[dict]) -> str | None:
    """A state tensor (state_facts) whose dtype or device is not that of its parameter (tensor_facts),
    described; else None. A state tensor belongs to the parameters of its shape (the checks give
    parameters of different shapes); single numbers are left out: a setting held as a tensor
    (torch.tensor(lr)) is one too."""
    for s in state:
        owners = [p for p in params if s["shape"] and p["shape"] == s["shape"]]
        if not owners:
            continue
        devices_ok = any(s["device"] == p["device"] for p in owners)
        dtypes_ok = len({p["dtype"] for p in owners}) > 1 or s["dtype"] == owners[0]["dtype"]
        if not (devices_ok and dtypes_ok):
            p = owners[0]
            return (
                f"{s['where']} is {s['dtype']} on {s['device']}, for a {p['dtype']} parameter "
                f"of shape {tuple(p['shape'])} on {p['device']}"
            )
    return None


def _state_mismatch(optimizer, params) -> str | None:
    return state_mismatch(state_facts(optimizer, params), [tensor_facts(p) for p in params])


@student_facing
def check_adam_optimizer__devices_dtypes(ADAMOptimizer) -> None:
    """``ADAMOptimizer`` keeps float32 and float64 parameters, on the chosen device, as they
    are, and gives what it gives for the same values in float64 on the CPU."""
    test_id = "adam_optimizer__devices_dtypes"
    device = pick_device()
    hint = STATE_HINT

    def path(dtypes, where):
        # quartic_loss has one term per parameter: the float64 ones do not see float32 rounding.
        init = [
            p.detach().to(dtype=d, device=where)
            for p, d in zip(random_parameters(2, TOY_SHAPES), dtypes)
        ]
        _, params, optimizer = drive(lambda p: ADAMOptimizer(p, lr=0.05), init, 4, loss_gradients())
        return params, optimizer

    def run():
        dtypes = (torch.float64, torch.float32, torch.float64)
        try:
            got, optimizer = path(dtypes, device)
        except RuntimeError as err:
            if "device" not in str(err).lower():
                raise
            fail(
                test_id,
                f"float32 and float64 parameters on {device}",
                f"step() failed: {str(err).splitlines()[0]}",
                hint,
            )
        mismatch = _state_mismatch(optimizer, got)
        if mismatch:
            fail(test_id, f"float32 and float64 parameters on {device}", mismatch, hint)
        expected, _ = path((torch.float64,) * 3, "cpu")
        for g, e, dtype in zip(got, expected, dtypes):
            case = f"a {dtype} parameter of shape {tuple(e.shape)} on {device}, after 4 steps"
            if g.dtype != dtype or g.device.type != torch.device(device).type:
                fail(test_id, case, f"the parameter became {g.dtype} on {g.device}", hint)
            expect_close(
                test_id,
                f"{case}, compared with your result in float64 on the CPU",
                e,
                g,
                tolerance(e, dtype),
                hint,
            )
        _passed(test_id, len(expected))

    _check_adam(test_id, ADAMOptimizer, run)


@student_facing
def check_adam_optimizer__zero_grad(ADAMOptimizer) -> None:
    """``zero_grad()`` clears every parameter's gradient (to None or zeros)."""
    _check_zero_grad("adam_optimizer__zero_grad", ADAMOptimizer, "t, m* and v* and the settings")


# end of Part 2 checks


# Part 3 -------------------------------------------------------------------


def is_residual(module) -> bool:
    """A residual block, told by the notebook's class name (Task 3.14's ResidualSequence)."""
    return type(module).__name__ == "ResidualSequence"


def class_path(cls) -> str:
    """``module.name`` of a class, e.g. torch.nn.modules.container.Sequential."""
    return f"{cls.__module__}.{cls.__name__}"


def mro(obj) -> list[str]:
    """The class paths of ``type(obj)`` and its bases, most derived first."""
    return [class_path(cls) for cls in type(obj).__mro__]


def layer_signature(net: nn.Module) -> list[str]:
    """The layers of ``net`` in order, as short strings: plain ``nn.Sequential`` nesting is
    flattened, a ``ResidualSequence`` becomes ``"Residual(...)"`` around its layers.
    E.g. ``["Linear(36, 128)", "ReLU", "Linear(128, 1)", "Sigmoid"]``."""
    signature = []
    for child in net.children():
        if is_residual(child):
            signature.append(f"Residual({', '.join(layer_signature(child))})")
        elif isinstance(child, nn.Sequential):
            signature.extend(layer_signature(child))
        elif isinstance(child, nn.Linear):
            bias = "" if child.bias is not None else ", bias=False"
            signature.append(f"Linear({child.in_features}, {child.out_features}{bias})")
        elif isinstance(child, nn.BatchNorm1d):
            signature.append(f"BatchNorm1d({child.num_features})")
        else:
            signature.append(type(child).__name__)
    return signature


def _mlp(widths: Sequence[int], activation: str, batchnorm_after: Sequence[int] = ()) -> list[str]:
    layers = []
    for i, (n_in, n_out) in enumerate(zip(widths[:-1], widths[1:])):
        layers.append(f"Linear({n_in}, {n_out})")
        if i < len(widths) - 2:
            layers.append(activation)
            if i in batchnorm_after:
                layers.append(f"BatchNorm1d({n_out})")
    return layers + ["Sigmoid"]


def _residual(blocks: int, batchnorm: bool) -> list[str]:
    first = "BatchNorm1d(16)" if batchnorm else "ReLU"
    block = f"Residual({first}, Linear(16, 32), ReLU, Linear(32, 16))"
    head = ["BatchNorm1d(16)"] if batchnorm else []
    return ["Linear(36, 16)", *[block] * blocks, *head, "Linear(16, 1)", "Sigmoid"]


#: The architecture each Part 3 task asks for (its task text states the same); the grader's
#: reference networks are built from these lists, layer by layer.
ARCHITECTURES = {
    "3.1": _mlp([36, 128, 128, 1], "Sigmoid"),
    "3.2": _mlp([36, 128, 128, 1], "Tanh"),
    **{task: _mlp([36, 128, 128, 1], "ReLU") for task in ("3.3", "3.4", "3.5", "3.6", "3.7")},
    "3.8": _mlp([36, 64, 64, 1], "ReLU"),
    "3.9": _mlp([36, 32, 32, 1], "ReLU"),
    "3.10": _mlp([36, 16, 16, 1], "ReLU"),
    "3.11": _mlp([36, 64, 64, 64, 1], "ReLU"),
    "3.12": _mlp([36] + [32] * 5 + [1], "ReLU"),
    "3.13": _mlp([36] + [32] * 5 + [1], "ReLU", batchnorm_after=(0, 4)),
    "3.15": _residual(4, batchnorm=False),
    "3.16": _residual(2, batchnorm=False),
    "3.17": _residual(2, batchnorm=True),
    "3.18": _residual(6, batchnorm=True),
}
#: Tasks that train an earlier task's network.
REUSED = {"4.7": "3.12", "4.9": "3.12"}
ARCHITECTURES.update({task: ARCHITECTURES[source] for task, source in REUSED.items()})


def architecture_test_id(task: str) -> str:
    return f"net_{task.replace('.', '_')}__architecture"


def architecture_hint(task: str) -> str:
    return f"compare your layers with Task {REUSED.get(task, task)}'s list, in order; print(net) shows yours"


def expect_layers(test_id: str, task: str, got: list[str]) -> None:
    """``got`` (a ``layer_signature``) is Task ``task``'s list; else fail at the first difference."""
    expected = ARCHITECTURES[task]
    if got != expected:
        first = next(
            (i for i, (e, g) in enumerate(zip(expected, got)) if e != g),
            min(len(expected), len(got)),
        )
        fail(
            test_id,
            f"layer {first + 1}",
            f"expected {expected[first] if first < len(expected) else 'no more layers'}, got "
            f"{got[first] if first < len(got) else 'no more layers'} (expected {len(expected)} "
            f"layers, got {len(got)})",
            architecture_hint(task),
        )


@student_facing
def check_architecture(task: str, net) -> None:
    """``net`` has exactly the layers Task ``task`` asks for, in order, and its residual blocks'
    layers leave their input for the skip connection."""
    test_id = architecture_test_id(task)
    if not isinstance(net, nn.Module):
        fail(
            test_id,
            "type",
            f"expected an nn.Module, got {type(net).__name__}",
            architecture_hint(task),
        )
    expect_layers(test_id, task, layer_signature(net))
    _check_blocks_keep_input(test_id, net)
    print(
        f"{test_id}: architecture matches ({sum(p.numel() for p in net.parameters())} parameters)"
    )


BLOCK_SEED = 4
IN_PLACE_BLOCK_HINT = (
    "the skip connection adds the block's input x, so its layers must leave x as it "
    "is: an activation with inplace=True as a block's first layer overwrites x (use "
    "nn.ReLU(), whose default is inplace=False; inplace=True is harmless after a Linear)"
)


def block_input(width: int) -> torch.Tensor:
    """(6, width) standard normal: about half of it negative, which a ReLU would change."""
    return torch.randn(6, width, generator=torch.Generator().manual_seed(BLOCK_SEED))


def block_width(block: nn.Module) -> int | None:
    """The width a block takes: its first layer's in_features or num_features."""
    for layer in block.modules():
        for attribute in ("in_features", "num_features"):
            if isinstance(getattr(layer, attribute, None), int):
                return getattr(layer, attribute)
    return None


def block_case(index: int, block: nn.Module) -> str:
    return f"residual block {index} ({layer_signature(nn.Sequential(block))[0]})"


def layers_in_order(block: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """f(x): the block's layers one after the other, as nn.Sequential runs them (never the
    block's own forward, which is Task 3.14's to grade)."""
    for layer in block.children():
        x = layer(x)
    return x


def expect_input_kept(test_id: str, case: str, x: torch.Tensor, after: torch.Tensor) -> None:
    """``after`` (``x`` once a block's layers ran on it) is ``x``: the skip connection adds x."""
    changed = int((after.double() != x.to(after.dtype).double()).sum())
    if changed:
        fail(
            test_id,
            case,
            f"its layers changed the block's input in place ({changed} of {x.numel()} "
            "entries), so the skip connection adds the changed input instead of x",
            IN_PLACE_BLOCK_HINT,
        )


def _check_blocks_keep_input(test_id: str, net: nn.Module) -> None:
    """The layers of each residual block, run alone (eval mode, no gradients) on
    ``block_input``, leave it as it was."""
    blocks = [m for m in net.modules() if is_residual(m)]
    was_training = net.training
    net.eval()
    try:
        for index, block in enumerate(blocks, start=1):
            width, parameter = block_width(block), next(block.parameters(), None)
            if width is None:
                continue
            x = block_input(width).to(parameter if parameter is not None else torch.empty(0))
            with torch.no_grad():
                layers_in_order(block, x)
            expect_input_kept(test_id, block_case(index, block), block_input(width), x.cpu())
    finally:
        net.train(was_training)


RESIDUAL_HINT = (
    "forward returns f(x) + x: the layers' output (f, the layers in order) plus the input x "
    "as it was given, with nothing done to x in place"
)
SEQUENTIAL_HINT = "subclass nn.Sequential and override only forward, so the layers stay registered"
SKIP_GRADIENT_HINT = (
    "return f(x) + x with x itself (not a detached copy), so the gradient flows through both paths"
)


@student_facing
def check_residual_sequence__adds_input(ResidualSequence) -> None:
    """``ResidualSequence(*layers)(x)`` equals ``layers(x) + x``, x as it was given (a block may
    start with an activation, which must not overwrite x)."""
    test_id = "residual_sequence__adds_input"
    torch.manual_seed(0)
    cases = {
        "Linear 4->6, ReLU, Linear 6->4 on a batch of 3": [],
        "ReLU, Linear 4->6, ReLU, Linear 6->4 on a batch of 3": [nn.ReLU()],
    }
    for case, first in cases.items():
        inner = [*first, nn.Linear(4, 6), nn.ReLU(), nn.Linear(6, 4)]
        x = torch.randn(3, 4)
        expected = nn.Sequential(*inner)(x) + x
        expect_close(test_id, case, expected, ResidualSequence(*inner)(x), 1e-6, RESIDUAL_HINT)
    _passed(test_id, len(cases))


@student_facing
def check_residual_sequence__is_sequential(ResidualSequence) -> None:
    """A ``ResidualSequence`` is still an ``nn.Sequential``: it registers its layers."""
    test_id = "residual_sequence__is_sequential"
    block = ResidualSequence(nn.Linear(3, 3), nn.Tanh())
    if not isinstance(block, nn.Sequential):
        fail(test_id, "type", "ResidualSequence is not an nn.Sequential subclass", SEQUENTIAL_HINT)
    if len(list(block.parameters())) != 2:
        fail(
            test_id,
            "parameters",
            "the Linear layer's weight and bias are not registered",
            SEQUENTIAL_HINT,
        )
    with torch.no_grad():
        block[0].weight.zero_()
        block[0].bias.zero_()
    x = torch.randn(2, 3, requires_grad=True)
    block(x).sum().backward()
    # f is zero here, so only the skip connection carries the gradient: d(sum)/dx = 1
    expect_close(
        test_id,
        "gradient through the skip connection",
        torch.ones(2, 3),
        x.grad,
        1e-6,
        SKIP_GRADIENT_HINT,
    )
    _passed(test_id, 3)


# end of Part 3 checks


# Part 4 and extra credit --------------------------------------------------

#: Statistics checks allow STAT_Z standard errors. For n independent draws with standard
#: deviation s, the sample mean has standard error s/sqrt(n) and the sample standard deviation
#: about s/sqrt(2n) (normal draws; less for uniform ones). At 6 standard errors a correct
#: initializer fails by chance with probability about 2e-9 per comparison.
STAT_Z = 6.0


def stat_tolerances(std: float, n: int) -> tuple[float, float]:
    """(tolerance on the mean, tolerance on the standard deviation) for n draws of std ``std``."""
    return STAT_Z * std / math.sqrt(n), STAT_Z * std / math.sqrt(2 * n)


def expect_statistics(
    test_id: str,
    case: str,
    mean: float,
    std: float,
    n: int,
    accepted: Sequence[float],
    mistakes: Mapping[str, float],
    hint: str,
    drawn: str = "draws",
) -> None:
    """``n`` ``drawn`` have a standard deviation within ``STAT_Z`` standard errors of one in
    ``accepted`` (else the mistake in ``mistakes``, name: std, that it matches is named) and a
    mean within STAT_Z standard errors of 0."""
    errors = f"({STAT_Z:g} standard errors for {n} {drawn})"
    if not any(abs(std - s) <= stat_tolerances(s, n)[1] for s in accepted):
        known = known_mistake(
            mistakes, std, accepted, lambda a, b: abs(a - b), lambda s: stat_tolerances(s, n)[1]
        )
        fail(
            test_id,
            case,
            f"expected standard deviation {' or '.join(f'{s:.4g}' for s in accepted)}, "
            f"got {std:.4g}; tolerance {stat_tolerances(accepted[0], n)[1]:.2g} {errors}",
            mistake_hint(known, "your weights match") if known else hint,
        )
    mean_tol = stat_tolerances(max(accepted), n)[0]
    if not abs(mean) <= mean_tol:
        fail(
            test_id,
            case,
            f"expected mean 0, got {mean:.4g}; tolerance {mean_tol:.2g} {errors}",
            "draw weights centred on 0",
        )


def expect_matrix(
    test_id: str,
    n_in: int,
    n_out: int,
    type_name: str,
    shape: Sequence[int] | None,
    dtype: torch.dtype | None,
) -> None:
    """An initializer returned a floating-point tensor of shape (n_in, n_out); ``shape`` and
    ``dtype`` are None when it returned something else (a ``type_name``)."""
    case = f"shape ({n_in}, {n_out})"
    if shape is None or dtype is None:
        fail(
            test_id,
            case,
            f"expected a torch.Tensor, got {type_name}",
            "build the matrix with torch, drawing from the generator argument",
        )
    if tuple(shape) != (n_in, n_out):
        transposed = tuple(shape) == (n_out, n_in) and n_in != n_out
        fail(
            test_id,
            case,
            f"expected shape ({n_in}, {n_out}), got {tuple(shape)}",
            "the matrix is transposed: rows index the layer's inputs (activations @ W)"
            if transposed
            else "rows index a layer's inputs and columns its outputs (activations @ W): the shape is (n_in, n_out)",
        )
    if not dtype.is_floating_point:
        fail(
            test_id,
            case,
            f"expected a floating-point tensor, got {dtype}",
            "weights are real numbers: keep torch's default float32",
        )


def expect_zeros(test_id: str, case: str, nonzero: int, max_abs: float) -> None:
    if nonzero:
        fail(
            test_id,
            case,
            f"expected every entry exactly 0, got {nonzero} nonzero entries (largest |w| "
            f"{max_abs:.3g})",
            "zero init must be exact: torch.empty leaves whatever was in memory, and "
            "a tiny random scale is still random",
        )


def _draw_init(
    test_id: str, init_fn: Callable, n_in: int, n_out: int, generator: torch.Generator
) -> torch.Tensor:
    """``init_fn(n_in, n_out, generator)`` checked for type, shape and dtype, as float64."""
    W = init_fn(n_in, n_out, generator)
    tensor = isinstance(W, torch.Tensor)
    expect_matrix(
        test_id,
        n_in,
        n_out,
        type(W).__name__,
        W.shape if tensor else None,
        W.dtype if tensor else None,
    )
    return W.detach().double().cpu()


def _check_init_statistics(test_id: str, init_fn: Callable, shapes, rule: InitRule) -> int:
    """``expect_statistics`` of ``rule`` for a matrix of each shape."""
    for index, (n_in, n_out) in enumerate(shapes):
        W = _draw_init(test_id, init_fn, n_in, n_out, torch.Generator().manual_seed(100 + index))
        expect_statistics(
            test_id,
            f"shape ({n_in}, {n_out})",
            W.mean().item(),
            W.std().item(),
            W.numel(),
            rule.stds(n_in, n_out),
            rule.mistakes(n_in, n_out),
            rule.hint,
        )
    return len(shapes)


GENERATOR_HINT = (
    "draw every random number from the generator argument, e.g. "
    "torch.randn(n_in, n_out, generator=generator)"
)
RESTARTS_STREAM = (
    "reseeding (torch.manual_seed(generator.initial_seed())) or a new torch.Generator "
    "seeded from the given one restarts the same stream on every call, so every layer "
    "of a network gets the same weights"
)


def stream_draws(draw: Callable[[torch.Generator], object], seed: int, global_seed: int) -> dict:
    """{"first", "again", "other", "next", "resumed"}: ``draw(generator)`` with generators seeded
    ``seed``, ``seed`` and ``seed + 1``, the global random state seeded ``global_seed`` before the
    first and ``global_seed + 1`` before the second; "next", a second call with the generator of
    "first"; "resumed", a call with a new generator in the state the first call left that one
    in. The caller's random state is kept."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(global_seed)
        generator = torch.Generator().manual_seed(seed)
        first = draw(generator)
        left = generator.get_state()
        following = draw(generator)
        torch.manual_seed(global_seed + 1)
        again = draw(torch.Generator().manual_seed(seed))
        other = draw(torch.Generator().manual_seed(seed + 1))
        restored = torch.Generator()
        restored.set_state(left)
        return {
            "first": first,
            "again": again,
            "other": other,
            "next": following,
            "resumed": draw(restored),
        }


def expect_one_stream(test_id: str, case: str, draws: Mapping[str, torch.Tensor]) -> None:
    """The matrices of ``stream_draws``: one seed gives one matrix whatever the global random
    state, another seed another; a second call with one generator continues its stream."""
    if not torch.equal(draws["first"], draws["again"]):
        fail(
            test_id,
            case,
            "two generators seeded alike gave different matrices",
            GENERATOR_HINT
            + "; torch.randn without generator= (or np.random) reads the global random state",
        )
    if torch.equal(draws["first"], draws["other"]):
        fail(test_id, case, "generators seeded differently gave the same matrix", GENERATOR_HINT)
    if torch.equal(draws["first"], draws["next"]):
        fail(
            test_id,
            case,
            "two calls with one generator returned the same matrix",
            f"{GENERATOR_HINT}, which advances it: {RESTARTS_STREAM}",
        )
    if not torch.equal(draws["next"], draws["resumed"]):
        fail(
            test_id,
            case,
            "the second call with one generator did not continue its stream: a "
            "generator in the state the first call left gave another matrix",
            GENERATOR_HINT + ", and keep no state of your own between calls",
        )


def _check_init_generator(test_id: str, init_fn: Callable, n_in: int, n_out: int) -> int:
    draws = stream_draws(
        lambda generator: _draw_init(test_id, init_fn, n_in, n_out, generator), 7, 1
    )
    expect_one_stream(test_id, f"shape ({n_in}, {n_out})", draws)
    return 4


@student_facing
def check_init_zero__values(init_zero: Callable) -> None:
    """``init_zero(n_in, n_out, generator)`` is a float tensor of exact zeros."""
    test_id = "init_zero__values"
    shapes = [(3, 5), (64, 32), (1, 1)]
    for n_in, n_out in shapes:
        W = _draw_init(test_id, init_zero, n_in, n_out, torch.Generator().manual_seed(0))
        expect_zeros(
            test_id, f"shape ({n_in}, {n_out})", W.count_nonzero().item(), W.abs().max().item()
        )
    _passed(test_id, len(shapes))


def _small_init_mistakes(n_in: int, n_out: int) -> dict[str, float]:
    return {
        "std 1: the factor 0.01 is missing": 1.0,
        "std 0.0001: the factor 0.01 was applied twice": 1e-4,
        "std 0.05: that is the large scale of Task 4.3": 0.05,
        "uniform on [-0.01, 0.01] (std 0.0058) instead of 0.01 times a standard normal": 0.01
        / math.sqrt(3),
    }


def _large_init_mistakes(n_in: int, n_out: int) -> dict[str, float]:
    return {
        "std 5 instead of 0.05: N(0, 1) times 5, without the factor 0.01": 5.0,
        "std 1: the factor 0.05 is missing": 1.0,
        "std 0.01: that is the small scale of Task 4.2": 0.01,
        "std 0.224 = sqrt(0.05): 0.05 was used as the variance": math.sqrt(0.05),
    }


def _xavier_stds(n_in: int, n_out: int) -> list[float]:
    """N(0, 1/n_in) as asked; Glorot's 2/(n_in + n_out) (xavier_normal_, or xavier_uniform_'s
    std) is accepted too -- the two agree on square matrices."""
    return sorted({round(1 / math.sqrt(n_in), 12), round(math.sqrt(2 / (n_in + n_out)), 12)})


def _xavier_mistakes(n_in: int, n_out: int) -> dict[str, float]:
    return {
        "Xavier-uniform with limit 1/sqrt(n_in): U(-a, a) has std a/sqrt(3), so this std is "
        "1/sqrt(3 n_in); Glorot's uniform limit is sqrt(6/(n_in + n_out))": 1 / math.sqrt(3 * n_in),
        "std 1/n_in: the variance 1/n_in was used as the standard deviation": 1 / n_in,
        "variance 2/n_in: that is He's scale (Task 4.5)": math.sqrt(2 / n_in),
        "variance 1/n_out: the fan-out instead of the fan-in": 1 / math.sqrt(n_out),
        "std 1: the factor 1/sqrt(n_in) is missing": 1.0,
    }


def _he_mistakes(n_in: int, n_out: int) -> dict[str, float]:
    return {
        "variance 2/n_out: the fan-out instead of the fan-in (nn.init.kaiming_normal_ "
        "applied to an (n_in, n_out) tensor does this, because PyTorch stores a layer's "
        "weight as (out, in))": math.sqrt(2 / n_out),
        "variance 1/n_in: Xavier's scale, without ReLU's factor 2": 1 / math.sqrt(n_in),
        "std 2/n_in: the variance 2/n_in was used as the standard deviation": 2 / n_in,
        "variance 2/(n_in + n_out): Glorot's average of fan-in and fan-out": math.sqrt(
            2 / (n_in + n_out)
        ),
        "uniform with limit sqrt(2/n_in): U(-a, a) has std a/sqrt(3)": math.sqrt(2 / (3 * n_in)),
    }


def _he_stds(n_in: int, n_out: int) -> list[float]:
    return [math.sqrt(2 / n_in)]


def _random_init_mistakes(n_in: int, n_out: int) -> dict[str, float]:
    return {
        "std 1: nn.init.normal_ without std=0.01 draws from N(0, 1)": 1.0,
        "std 0.0001: 0.01² is the variance; the standard deviation is 0.01": 1e-4,
        "std 0.1 = sqrt(0.01): N(0, 0.01²) has standard deviation 0.01": 0.1,
        "uniform on [-0.01, 0.01] (std 0.0058)": 0.01 / math.sqrt(3),
    }


def _kaiming_mistakes(n_in: int, n_out: int) -> dict[str, float]:
    return {
        "mode='fan_out': the std uses the layer's outputs; use mode='fan_in' (the default), "
        "which keeps the forward activations' scale": math.sqrt(2 / n_out),
        "gain 1 (nonlinearity='linear' or 'sigmoid'): ReLU needs gain sqrt(2), "
        "nonlinearity='relu'": 1 / math.sqrt(n_in),
        "xavier_normal_: Glorot's std sqrt(2/(fan_in + fan_out))": math.sqrt(2 / (n_in + n_out)),
        "gain 5/3 (nonlinearity='tanh')": 5 / 3 / math.sqrt(n_in),
    }


class InitRule(NamedTuple):
    """What a task accepts of an (n_in, n_out) weight matrix: ``stds(n_in, n_out)``, the
    standard deviations allowed; ``mistakes(n_in, n_out)``, known mistakes by the std they give;
    ``hint``, when the std is neither."""

    stds: Callable[[int, int], list[float]]
    mistakes: Callable[[int, int], dict[str, float]]
    hint: str
    normal: bool = (
        False  # the task asks for a normal draw (kaiming_normal_): a bounded one is told apart
    )


#: Tasks 4.2-4.5 (initializers) and 4.6, 4.8 (nn.Linear weights re-initialized by a wrapper).
INIT_RULES = {
    "small": InitRule(
        lambda n_in, n_out: [0.01], _small_init_mistakes, "scale standard normal draws by 0.01"
    ),
    "large": InitRule(
        lambda n_in, n_out: [0.05], _large_init_mistakes, "scale standard normal draws by 0.05"
    ),
    "xavier": InitRule(
        _xavier_stds,
        _xavier_mistakes,
        "the variance of each weight is 1/n_in, so its standard deviation is 1/sqrt(n_in)",
    ),
    "he": InitRule(
        _he_stds,
        _he_mistakes,
        "the variance of each weight is 2/n_in (n_in = the layer's inputs, the rows of W)",
    ),
    "random": InitRule(
        lambda n_in, n_out: [0.01],
        _random_init_mistakes,
        "draw each nn.Linear weight from N(0, 0.01²): mean 0, standard deviation 0.01",
    ),
    "kaiming": InitRule(
        _he_stds,
        _kaiming_mistakes,
        "nn.init.kaiming_normal_(weight, mode='fan_in', nonlinearity='relu') gives std "
        "sqrt(2 / in_features)",
        normal=True,
    ),
}


@student_facing
def check_init_small__distribution(init_small: Callable) -> None:
    """Mean 0 and std 0.01 (within ``STAT_Z`` standard errors), drawn from the generator."""
    test_id = "init_small__distribution"
    n = _check_init_statistics(test_id, init_small, [(512, 256), (256, 512)], INIT_RULES["small"])
    _passed(test_id, n + _check_init_generator(test_id, init_small, 40, 30))


@student_facing
def check_init_large__distribution(init_large: Callable) -> None:
    """Mean 0 and std 0.05 (within ``STAT_Z`` standard errors), drawn from the generator."""
    test_id = "init_large__distribution"
    n = _check_init_statistics(test_id, init_large, [(512, 256), (256, 512)], INIT_RULES["large"])
    _passed(test_id, n + _check_init_generator(test_id, init_large, 40, 30))


@student_facing
def check_init_xavier__distribution(init_xavier: Callable) -> None:
    """Mean 0 and std 1/sqrt(n_in) (Glorot's sqrt(2/(n_in + n_out)) also accepted)."""
    test_id = "init_xavier__distribution"
    _passed(
        test_id,
        _check_init_statistics(
            test_id, init_xavier, [(1024, 1024), (512, 128)], INIT_RULES["xavier"]
        ),
    )


@student_facing
def check_init_xavier__generator(init_xavier: Callable) -> None:
    """The same generator seed gives the same matrix; another seed another matrix."""
    test_id = "init_xavier__generator"
    _passed(test_id, _check_init_generator(test_id, init_xavier, 50, 20))


@student_facing
def check_init_he__distribution(init_he: Callable) -> None:
    """Mean 0 and std sqrt(2/n_in), on square and non-square shapes (fan-in, not fan-out)."""
    test_id = "init_he__distribution"
    _passed(
        test_id,
        _check_init_statistics(
            test_id, init_he, [(1024, 1024), (800, 200), (200, 800)], INIT_RULES["he"]
        ),
    )


@student_facing
def check_init_he__generator(init_he: Callable) -> None:
    """The same generator seed gives the same matrix; another seed another matrix."""
    test_id = "init_he__generator"
    _passed(test_id, _check_init_generator(test_id, init_he, 50, 20))


# Tasks 4.6 and 4.8: wrappers that re-initialize every nn.Linear weight of a network.


def linear_layers(net: nn.Module) -> list[tuple[str, nn.Linear]]:
    """Every nn.Linear in the module tree, with its dotted name (e.g. "2.0.1")."""
    return [(name, m) for name, m in net.named_modules() if isinstance(m, nn.Linear)]


class TwoBranches(nn.Module):
    """Linear layers held as attributes and in a ModuleList, not in a Sequential."""

    def __init__(self, width: int):
        super().__init__()
        self.left = nn.Linear(width, width)
        self.right = nn.ModuleList([nn.Linear(width, width)])

    def forward(self, x):
        return self.left(x) + self.right[0](x)


def flat_net(seed: int, dtype: torch.dtype = torch.float32) -> nn.Sequential:
    """Non-square layers, so fan-in and fan-out differ; made under torch.manual_seed(seed) (the
    caller's random state kept)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return nn.Sequential(
            nn.Linear(600, 300),
            nn.ReLU(),
            nn.Linear(300, 800),
            nn.ReLU(),
            nn.Linear(800, 120),
            nn.ReLU(),
            nn.Linear(120, 1),
            nn.Sigmoid(),
        ).to(dtype)


def nested_net(seed: int) -> nn.Sequential:
    """Linear layers at the top level, in nested Sequentials and in a custom module, beside
    BatchNorm parameters that must stay untouched; made as ``flat_net`` is."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return nn.Sequential(
            nn.Linear(36, 64),
            nn.Sequential(nn.BatchNorm1d(64), nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 64)),
            nn.Sequential(
                nn.ReLU(), nn.Sequential(nn.Linear(64, 96), nn.ReLU(), nn.Linear(96, 64))
            ),
            TwoBranches(64),
            nn.BatchNorm1d(64),
            nn.Linear(64, 1),
            nn.Sigmoid(),
        )


def wrap_seeded(cls, net: nn.Module, seed: int, criterion: nn.Module | None = None):
    """``cls(criterion, net)`` (nn.BCELoss() by default) made under torch.manual_seed(seed), the
    caller's random state kept."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return cls(nn.BCELoss() if criterion is None else criterion, net)


def expect_net(test_id: str, has_net: bool) -> None:
    if not has_net:
        fail(
            test_id,
            "structure",
            "the wrapper keeps no network in .net",
            "call super().__init__(criterion, net) first: Supervise keeps the network as self.net",
        )


def same_tensor(a: torch.Tensor, b: torch.Tensor | None) -> bool:
    return b is not None and a.dtype == b.dtype and a.shape == b.shape and torch.equal(a, b)


def linear_case(name: str, in_features: int, out_features: int, dtype: str) -> str:
    return f"Linear net.{name} ({in_features} -> {out_features}, {dtype})"


class LinearDraw(NamedTuple):
    """An nn.Linear of a wrapped network as the re-init checks judge it: its dotted name, sizes,
    weight dtype (as str), the weight's number of entries, mean and std, whether the weight is
    still the one it had before (``kept``), its bias (None: no bias) and its weight's largest |w|."""

    name: str
    in_features: int
    out_features: int
    dtype: str
    numel: int
    mean: float
    std: float
    kept: bool
    bias: torch.Tensor | None
    max_abs: float


#: A normal draw is told from a uniform one of the same std by its largest |w|: U(-a, a) has std
#: a/sqrt(3), so no uniform weight lies beyond sqrt(3) = 1.73 stds (1.89 sample stds of 1000
#: weights, at STAT_Z standard errors of the std), while 1000 normal draws all stay within
#: UNBOUNDED_STDS = 2.2 stds with probability (1 - 0.028)^1000 < 1e-12. Layers of fewer than
#: UNBOUNDED_MIN_WEIGHTS weights are left out: their sample std is too rough.
UNBOUNDED_STDS, UNBOUNDED_MIN_WEIGHTS = 2.2, 1000
KAIMING_UNIFORM = (
    "kaiming_uniform_: its draws are uniform, bounded at sqrt(3) standard deviations; Task 4.8 "
    "asks for nn.init.kaiming_normal_, a normal draw with the same standard deviation"
)


def expect_unbounded(test_id: str, layers: Sequence[LinearDraw]) -> None:
    """Fail when every weight of every layer of at least UNBOUNDED_MIN_WEIGHTS weights lies within
    UNBOUNDED_STDS of its layer's std: a bounded (uniform) draw, not a normal one."""
    large = [layer for layer in layers if layer.numel >= UNBOUNDED_MIN_WEIGHTS and layer.std]
    if large and all(layer.max_abs <= UNBOUNDED_STDS * layer.std for layer in large):
        worst = max(large, key=lambda layer: layer.max_abs / layer.std)
        fail(
            test_id,
            f"{len(large)} Linear layers of {UNBOUNDED_MIN_WEIGHTS} weights or more",
            f"no weight lies beyond {UNBOUNDED_STDS} standard deviations of its layer (at most "
            f"{worst.max_abs / worst.std:.3g}, in net.{worst.name}), as in a bounded draw; {UNBOUNDED_MIN_WEIGHTS} "
            f"normal draws go beyond it with probability above 1 - 1e-12",
            mistake_hint(KAIMING_UNIFORM, "your weights match"),
        )


def expect_reinit(
    test_id: str,
    layers: Sequence[LinearDraw],
    before: Mapping[str, torch.Tensor],
    others: Mapping[str, torch.Tensor],
    rule: InitRule,
) -> int:
    """Every nn.Linear weight redrawn with ``rule``'s statistics, each bias unchanged or zero,
    and the other parameters (``others``, by name) as they were ``before`` the wrapping."""
    kept = [layer.name for layer in layers if layer.kept]
    if kept:
        nested_only = all("." in name for name in kept) and len(kept) < len(layers)
        fail(
            test_id,
            f"{len(layers)} Linear layers",
            f"{len(kept)} of them kept their weights: {', '.join('net.' + name for name in kept)}",
            "only the top-level layers were re-initialized: net.children() (or looping over net) "
            "stops at the first level, net.modules() visits the whole tree"
            if nested_only
            else "re-initialize, in __init__ and in place, every nn.Linear in self.net.modules()",
        )
    for layer in layers:
        case = linear_case(layer.name, layer.in_features, layer.out_features, layer.dtype)
        sizes = layer.in_features, layer.out_features
        expect_statistics(
            test_id,
            case,
            layer.mean,
            layer.std,
            layer.numel,
            rule.stds(*sizes),
            rule.mistakes(*sizes),
            rule.hint,
            drawn="weights",
        )
        bias = layer.bias
        if (
            bias is not None
            and not same_tensor(bias, before.get(f"{layer.name}.bias"))
            and bias.count_nonzero()
        ):
            fail(
                test_id,
                case,
                "the bias was changed to something other than zeros",
                "leave biases as they are or set them to zero: the task is about weights",
            )
    if rule.normal:
        expect_unbounded(test_id, layers)
    linear = {f"{layer.name}.{kind}" for layer in layers for kind in ("weight", "bias")}
    for name, p in others.items():
        if name not in linear and name in before and not same_tensor(p, before[name]):
            fail(
                test_id,
                f"parameter net.{name}",
                "a parameter of a layer that is not nn.Linear changed",
                "re-initialize only nn.Linear weights (isinstance(module, nn.Linear))",
            )
    return len(layers)


def _check_reinit(test_id: str, cls, net: nn.Module, rule: InitRule) -> int:
    """``expect_reinit`` of ``cls(nn.BCELoss(), net)``."""
    before = {name: p.detach().clone() for name, p in net.named_parameters()}
    model = wrap_seeded(cls, net, 0)
    expect_net(test_id, isinstance(getattr(model, "net", None), nn.Module))
    layers = []
    for name, layer in linear_layers(model.net):
        W = layer.weight.detach()
        W64 = W.double().cpu()
        layers.append(
            LinearDraw(
                name,
                layer.in_features,
                layer.out_features,
                str(W.dtype),
                W.numel(),
                W64.mean().item(),
                W64.std().item(),
                same_tensor(W, before.get(f"{name}.weight")),
                None if layer.bias is None else layer.bias.detach(),
                W64.abs().max().item(),
            )
        )
    others = {name: p.detach() for name, p in model.net.named_parameters()}
    return expect_reinit(test_id, layers, before, others, rule)


def wrapper_case(seed: int) -> tuple[nn.Sequential, torch.Tensor, torch.Tensor]:
    """(net, x, y): a small network with a nested Sequential, a batch (6, 9) and 0/1 targets,
    made under torch.manual_seed(seed) (the caller's random state kept)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        net = nn.Sequential(
            nn.Linear(9, 7), nn.ReLU(), nn.Sequential(nn.Linear(7, 1)), nn.Sigmoid()
        )
        x, y = torch.rand(6, 9), (torch.rand(6) > 0.5).float()
    return net, x, y


SUPERVISE_HINT = (
    "subclass Supervise and call super().__init__(criterion, net) first, then "
    "re-initialize that same network's weights in place"
)


def expect_supervise(
    test_id: str, case: str, same_net: bool, same_criterion: bool, registered: bool
) -> None:
    """The wrapper keeps the network and the loss it was given, and registers the network's
    parameters as its own."""
    if not same_net:
        fail(test_id, case, "model.net is not the network that was passed in", SUPERVISE_HINT)
    if not same_criterion:
        fail(test_id, case, "model.criterion is not the loss that was passed in", SUPERVISE_HINT)
    if not registered:
        fail(
            test_id,
            case,
            "the network's parameters are not among model.parameters(), so an "
            "optimizer would not train them",
            SUPERVISE_HINT,
        )


FORWARD_HINT = "forward(x, y) returns criterion(self.net(x).squeeze(-1), y), as Supervise's does"


def expect_forward(test_id: str, case: str, expected: torch.Tensor, loss, changed: bool) -> None:
    """model(x, y) returned ``expected``, criterion(net(x).squeeze(-1), y), and left the network's
    weights as they were (``changed``: it did not)."""
    expect_close(test_id, case, expected, loss, tolerance(expected), FORWARD_HINT)
    if changed:
        fail(
            test_id,
            case,
            "calling the model changed the network's weights",
            "re-initialize once, in __init__, not in forward",
        )


def _check_supervise_wrapper(test_id: str, cls) -> None:
    """A Supervise-like module: keeps the given network and loss, registers the network's
    parameters, computes criterion(net(x).squeeze(-1), y), and forward changes no weight."""
    net, x, y = wrapper_case(1)
    criterion = nn.MSELoss()
    model = wrap_seeded(cls, net, 0, criterion)
    expect_net(test_id, isinstance(getattr(model, "net", None), nn.Module))
    expect_supervise(
        test_id,
        "MSELoss",
        model.net is net,
        getattr(model, "criterion", None) is criterion,
        {id(p) for p in net.parameters()} <= {id(p) for p in model.parameters()},
    )
    state = {k: v.clone() for k, v in net.state_dict().items()}
    loss = model(x, y)
    with torch.no_grad():
        expected = criterion(net(x).squeeze(-1), y)
    expect_forward(
        test_id,
        "MSELoss: model(x, y) on a batch of 6",
        expected,
        loss,
        any(not torch.equal(v, net.state_dict()[k]) for k, v in state.items()),
    )
    _passed(test_id, 4)


@student_facing
def check_supervise_random__statistics(Supervise_random_weights) -> None:
    """Every nn.Linear weight has mean 0 and std 0.01 after wrapping (biases: kept or zero)."""
    test_id = "supervise_random__statistics"
    _passed(
        test_id, _check_reinit(test_id, Supervise_random_weights, flat_net(2), INIT_RULES["random"])
    )


@student_facing
def check_supervise_random__whole_tree(Supervise_random_weights) -> None:
    """Linear layers inside nested containers are re-initialized too; BatchNorm is left alone."""
    test_id = "supervise_random__whole_tree"
    _passed(
        test_id,
        _check_reinit(test_id, Supervise_random_weights, nested_net(3), INIT_RULES["random"]),
    )


@student_facing
def check_supervise_random__wrapper(Supervise_random_weights) -> None:
    """It is a Supervise: same network, same loss, same forward."""
    _check_supervise_wrapper("supervise_random__wrapper", Supervise_random_weights)


@student_facing
def check_supervise_kaiming__statistics(Supervise_Kaiming_weights) -> None:
    """Every nn.Linear weight has mean 0 and std sqrt(2 / in_features) after wrapping."""
    test_id = "supervise_kaiming__statistics"
    _passed(
        test_id,
        _check_reinit(test_id, Supervise_Kaiming_weights, flat_net(2), INIT_RULES["kaiming"]),
    )


@student_facing
def check_supervise_kaiming__whole_tree(Supervise_Kaiming_weights) -> None:
    """Linear layers inside nested containers are re-initialized too; BatchNorm is left alone."""
    test_id = "supervise_kaiming__whole_tree"
    _passed(
        test_id,
        _check_reinit(test_id, Supervise_Kaiming_weights, nested_net(3), INIT_RULES["kaiming"]),
    )


@student_facing
def check_supervise_kaiming__wrapper(Supervise_Kaiming_weights) -> None:
    """It is a Supervise: same network, same loss, same forward."""
    _check_supervise_wrapper("supervise_kaiming__wrapper", Supervise_Kaiming_weights)


def expect_wrapped(
    test_id: str,
    class_name: str,
    classes: Sequence[str],
    holds_net: bool,
    criterion_classes: Sequence[str],
) -> None:
    """A model of the notebook's class ``class_name`` (``classes``: the model's ``mro``) holding
    the task's network, with a BCE loss (``criterion_classes``: the loss's ``mro``)."""
    hint = f"wrap the network you built: {class_name}(nn.BCELoss(), <your network>)"
    names = [path.rsplit(".", 1)[-1] for path in classes]
    if class_name not in names:
        fail(test_id, "type", f"expected a {class_name}, got {names[0]}", hint)
    if class_path(nn.Module) not in classes:
        fail(test_id, "type", f"{class_name} is not an nn.Module", "subclass Supervise")
    if not holds_net:
        fail(test_id, "model.net", "the wrapper does not hold the network you built", hint)
    if class_path(nn.BCELoss) not in criterion_classes:
        fail(
            test_id,
            "model.criterion",
            f"expected nn.BCELoss, got {criterion_classes[0].rsplit('.', 1)[-1]}",
            hint,
        )


def _check_wrapped(test_id: str, model, net, class_name: str) -> None:
    expect_wrapped(
        test_id,
        class_name,
        mro(model),
        getattr(model, "net", None) is net,
        mro(getattr(model, "criterion", None)),
    )
    print(f"{test_id}: {class_name} around your network, with BCELoss")


@student_facing
def check_net_4_7__architecture(net_4_7) -> None:
    check_architecture("4.7", net_4_7)


@student_facing
def check_net_4_7__wrapper(model_4_7, net_4_7) -> None:
    _check_wrapped("net_4_7__wrapper", model_4_7, net_4_7, "Supervise_random_weights")


@student_facing
def check_net_4_9__architecture(net_4_9) -> None:
    check_architecture("4.9", net_4_9)


@student_facing
def check_net_4_9__wrapper(model_4_9, net_4_9) -> None:
    _check_wrapped("net_4_9__wrapper", model_4_9, net_4_9, "Supervise_Kaiming_weights")


# Extra credit 1: the saved model file. The grader loads, runs and scores it (and EC2's rule)
# with the functions below that have no leading underscore.

#: EC1 tiers: accuracy on "hard" examples (the grader draws examples you never saw).
EC_TRANSFER_TIERS = {"accuracy_75": 0.75, "accuracy_95": 0.95}
#: EC2 tiers: ``rule``'s class-balanced agreement with the true labels of "tiny" grids
#: (``rule_agreement``).
EC_RULE_TIERS = {"agreement_90": 0.90, "agreement_99": 0.99}


def load_ec_model_or_fail(test_id: str, folder: Path, load: Callable = load_ec_model):
    """``load(path)`` of the ``EC_MODEL_FILE`` in ``folder`` (the notebook's), or a failure
    saying why there is nothing to score."""
    path = folder / EC_MODEL_FILE
    if not path.is_file():
        fail(
            test_id,
            "model file",
            f"there is no {EC_MODEL_FILE} beside the notebook",
            "EC1 is scored on the file hw2utils.save_ec_model(net) writes next to the notebook: run "
            "your EC1 cell outside grading mode and submit the file together with the notebook (in "
            "Colab, download it from the Files panel)",
        )
    try:
        return load(path)
    except Exception as err:  # a truncated upload, or a file saved some other way
        fail(
            test_id,
            "model file",
            f"{EC_MODEL_FILE} cannot be loaded ({type(err).__name__}: {str(err)[:200]})",
            "save your network again with hw2utils.save_ec_model(net)",
        )


def ec_probabilities(test_id: str, model, data: torch.Tensor) -> torch.Tensor:
    """The model's outputs on ``data`` (N, 36) as a vector (N,), checked to be probabilities."""
    n = data.shape[0]
    case = f"forward pass on a batch of {n}"
    hint = "the saved network maps a batch (N, 36) to probabilities (N, 1): end it with a Sigmoid"
    try:
        with torch.no_grad():
            out = model(data.detach().cpu().float())
    except Exception as err:
        fail(test_id, case, f"{type(err).__name__}: {str(err)[:200]}", hint)
    if not isinstance(out, torch.Tensor) or tuple(out.shape) not in ((n, 1), (n,)):
        got = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        fail(test_id, case, f"expected shape ({n}, 1), got {got}", hint)
    out = out.detach().reshape(-1).float().cpu()
    if not bool(torch.isfinite(out).all()) or out.min().item() < 0 or out.max().item() > 1:
        fail(test_id, case, "outputs are not probabilities in [0, 1]", hint)
    return out


def ec_accuracy(probabilities: torch.Tensor, labels: torch.Tensor) -> float:
    """Share of examples where the prediction ``probabilities > 0.5`` equals the label."""
    return ((probabilities > 0.5) == labels.bool()).float().mean().item()


def expect_ec_accuracy(
    test_id: str, case: str, probabilities: torch.Tensor, labels: torch.Tensor, tier: str
) -> float:
    """``ec_accuracy``, failing below the threshold of ``EC_TRANSFER_TIERS[tier]``."""
    threshold, accuracy = EC_TRANSFER_TIERS[tier], ec_accuracy(probabilities, labels)
    if not accuracy >= threshold:
        hint = (
            "that is chance: a network trained on hard from scratch memorizes its training set. "
            "Pretrain on tiny, then fine-tune that same network on hard with its weights kept"
            if accuracy < 0.6
            else "fine-tune the pretrained network until its hard val accuracy is high: keep its weights "
            "(plain Supervise, no re-initializing wrapper) and give it a fresh optimizer"
        )
        fail(test_id, case, f"accuracy {accuracy:.4f} is below {threshold}", hint)
    return accuracy


def _ec_val(test_id: str) -> tuple[torch.Tensor, torch.Tensor]:
    """The saved model's probabilities on the hard val split, and the split's labels."""
    data = load_dataset("hard", device="cpu")
    model = load_ec_model_or_fail(test_id, Path.cwd())
    return ec_probabilities(test_id, model, data.val_data), data.val_labels


@student_facing
def check_ec_transfer__saved_model() -> None:
    """``EC_MODEL_FILE`` exists, loads, and maps a batch of grids to probabilities."""
    test_id = "ec_transfer__saved_model"
    accuracy_val = ec_accuracy(*_ec_val(test_id))
    print(
        f"{test_id}: {EC_MODEL_FILE} loads and outputs probabilities; "
        f"held-out (hard val) accuracy {accuracy_val:.4f}"
    )


def _check_ec_accuracy(test_id: str, tier: str) -> None:
    accuracy_val = expect_ec_accuracy(test_id, "hard val split", *_ec_val(test_id), tier)
    print(
        f"{test_id}: held-out (hard val) accuracy {accuracy_val:.4f} >= {EC_TRANSFER_TIERS[tier]} "
        "(the grader measures it on hard examples you have not seen)"
    )


@student_facing
def check_ec_transfer__accuracy_75() -> None:
    _check_ec_accuracy("ec_transfer__accuracy_75", "accuracy_75")


@student_facing
def check_ec_transfer__accuracy_95() -> None:
    _check_ec_accuracy("ec_transfer__accuracy_95", "accuracy_95")


# Extra credit 2: the rule, as a function of one 6x6 grid.


class _CallsNetwork(BaseException):
    """A rule called an nn.Module (its class name is args[0]); no Exception, so that the
    rule's own ``except Exception`` cannot hide it."""


class _NoNetworks:
    """Inside, calling any nn.Module raises _CallsNetwork: EC2 asks for the rule, not a network
    that imitates it."""

    def __enter__(self):
        self.original = nn.Module.__call__

        def refuse(module, *args, **kwargs):
            raise _CallsNetwork(type(module).__name__)

        nn.Module.__call__ = refuse
        return self

    def __exit__(self, *exc) -> None:
        nn.Module.__call__ = self.original


def _as_label(answer) -> bool | None:
    """True/False, 0/1, or a one-element tensor or array of them, as a bool; else None."""
    value = answer
    if (
        isinstance(value, torch.Tensor)
        and value.numel() == 1
        or isinstance(value, np.ndarray)
        and value.size == 1
    ):
        value = value.item()
    if isinstance(value, (bool, np.bool_)) or (
        isinstance(value, (int, float, np.integer, np.floating)) and value in (0, 1)
    ):
        return bool(value)
    return None


def _error_line(err: Exception) -> str:
    return f"{type(err).__name__}: {err}"


def rule_answers(
    rule, grids: torch.Tensor, describe: Callable[[Exception], str] = _error_line
) -> dict:
    """{"answers": bool (N,)}: ``rule``'s answer on each of ``grids`` (N, 6, 6). Where it stops
    early: {"not_callable": its type's name}, or {"index": the grid's index} with "network" (the
    class it called), "raised" (``describe`` of its error) or "answer" (the repr of what it
    returned instead of a bool)."""
    if not callable(rule):
        return {"not_callable": type(rule).__name__}
    answers = []
    with _NoNetworks():
        for index, grid in enumerate(grids):
            try:
                answer = rule(grid.clone())
            except _CallsNetwork as called:
                return {"index": index, "network": str(called.args[0])}
            except Exception as err:  # the rule's error is what the check reports
                # its traceback from the rule's frame on: this loop's frame is none of the student's
                return {
                    "index": index,
                    "raised": describe(err.with_traceback(err.__traceback__.tb_next)),
                }
            label = _as_label(answer)
            if label is None:
                return {"index": index, "answer": repr(answer)[:80]}
            answers.append(label)
    return {"answers": torch.tensor(answers, dtype=torch.bool)}


def fail_stopped_rule(test_id: str, stopped: dict, grids: torch.Tensor):
    """Fail with what stopped ``rule_answers`` (its result ``stopped``) on ``grids``."""
    if "not_callable" in stopped:
        fail(
            test_id,
            "type",
            f"rule is a {stopped['not_callable'][:80]}, not a function",
            "def rule(grid): ...",
        )
    index = stopped["index"]
    case = f"grid {index} of {len(grids)}, rows {grids[index].int().tolist()}"
    if "network" in stopped:
        fail(
            test_id,
            case,
            f"your rule calls a network ({stopped['network'][:80]})",
            "EC2 asks for the rule itself, written with the grid's cells",
        )
    if "raised" in stopped:
        fail(
            test_id,
            case,
            f"rule raised {stopped['raised']}",
            "rule receives a 6x6 float tensor of 0. and 1.; grid[r, c] is feature 6*r + c",
        )
    fail(
        test_id,
        case,
        f"rule returned {stopped['answer'][:80]}; expected True or False",
        "rule(grid) returns one bool: True for label 1",
    )


def rule_agreement(answers: torch.Tensor, labels: torch.Tensor) -> tuple[float, float, float]:
    """(class-balanced agreement (a1 + a0) / 2, a1, a0): a1 and a0 are the shares of label-1 and
    label-0 grids on which the bool ``answers`` equal the ``labels``; a constant answer scores 0.5."""
    labels = labels.bool()
    right = answers == labels
    a1, a0 = right[labels].float().mean().item(), right[~labels].float().mean().item()
    return (a1 + a0) / 2, a1, a0


def expect_rule_agreement(
    test_id: str, case: str, answers: torch.Tensor, labels: torch.Tensor, tier: str
) -> float:
    """``rule_agreement``, failing below the threshold of ``EC_RULE_TIERS[tier]``."""
    threshold = EC_RULE_TIERS[tier]
    share, a1, a0 = rule_agreement(answers, labels)
    if not share >= threshold:
        fail(
            test_id,
            case,
            f"rule agrees with {share:.4f} of the true labels, class-balanced ({a1:.4f} "
            f"of the label-1 grids, {a0:.4f} of the label-0 grids), below {threshold}",
            "check your rule on the tiny train split, where you can see the disagreements",
        )
    return share


def _check_ec_rule(test_id: str, rule: Callable, tier: str) -> None:
    data = load_dataset("tiny", device="cpu")
    grids = data.val_data.cpu().float().reshape(-1, 6, 6)
    result = rule_answers(rule, grids)
    if "answers" not in result:
        fail_stopped_rule(test_id, result, grids)
    share = expect_rule_agreement(
        test_id, "tiny val split", result["answers"], data.val_labels.cpu(), tier
    )
    print(
        f"{test_id}: rule agrees with {share:.4f} of the tiny val labels, class-balanced "
        f"(>= {EC_RULE_TIERS[tier]}); the grader uses examples you have not seen"
    )


@student_facing
def check_ec_rule__agreement_90(rule: Callable) -> None:
    _check_ec_rule("ec_rule__agreement_90", rule, "agreement_90")


@student_facing
def check_ec_rule__agreement_99(rule: Callable) -> None:
    _check_ec_rule("ec_rule__agreement_99", rule, "agreement_99")


# end of Part 4 checks
