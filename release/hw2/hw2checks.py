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

import math
from pathlib import Path
from typing import Callable, Mapping, Sequence

import numpy as np
import torch
from torch import nn

from hw2utils import (BOWL_MATRIX, BOWL_START, EC_MODEL_FILE, LossFunctionWithPlot, load_dataset, load_ec_model,
                      pick_device)

# ---------------------------------------------------------------------------
# Toolkit: comparing, showing and reporting (shared with the autograder)
# ---------------------------------------------------------------------------

#: How far a result may be from the reference, relative to 1 + max |expected|, by the least precise
#: floating dtype of what is compared (the inputs, your result). float64 leaves room for a setting
#: such as lr held as a tensor of torch's default dtype (torch.tensor(0.1) is float32, rounded to
#: 2^-24 of its value); float32 for its own rounding. Every check, visible or hidden, applies it.
RELATIVE_TOLERANCE = {torch.float64: 1e-6, torch.float32: 1e-5}


def fail(test_id: str, case: str, detail: str, hint: str):
    raise AssertionError(f"{test_id}, case {case}: {detail}\nHint: {hint}")


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
    dtypes = [d for d in map(_dtype, (expected, *involved)) if d is not None and d.is_floating_point]
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
    text = ", ".join(f"{v:.{digits}g}" for v in t.flatten()[start:start + 6].tolist())
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


def named_mistake(hint: str, mistakes: Mapping[str, object] | None, got, tol: float) -> str:
    """The hint, or the mistake in ``mistakes`` (a misconception's description -> what it
    produces) that ``got`` matches within ``tol``; a mistake's path may be given for its first
    steps only."""
    got = float64(got)
    for description, produced in (mistakes or {}).items():
        produced = float64(produced)
        if max_diff(produced, got[:len(produced)] if produced.dim() and got.dim() else got) <= tol:
            return f"your result matches a known mistake: {description}"
    return hint


def expect_close(test_id: str, case: str, expected, got, tol: float, hint: str,
                 mistakes: Mapping[str, object] | None = None) -> None:
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
    fail(test_id, case, f"expected {shown[0]}, got {shown[1]}; max |diff| {diff:.2e} > tolerance "
         f"{tol:.2g}", named_mistake(hint, mistakes, got, tol))


def expect_path(test_id: str, case: str, expected, got, tol: float, hint: str,
                mistakes: Callable[[], Mapping[str, object]] | None = None, what: str = "expected",
                nonfinite_hint: str | None = None) -> None:
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
    earlier = (f" (the two first differ by more than the tolerance after step {first + 1}, by "
               f"{diffs[first]:.2e})" if step != first else "")
    shown = show_pair(expected[step], got[step])
    fail(test_id, f"{case}, after step {step + 1}", f"{what} {shown[0]}, got {shown[1]}; max |diff| "
         f"{diffs[step]:.2e} > tolerance {tol:.2g}{earlier}",
         named_mistake(hint, mistakes() if mistakes else None, got, tol))


def _passed(test_id: str, n_cases: int) -> None:
    print(f"{test_id}: {n_cases}/{n_cases} cases passed")


# Part 1 -------------------------------------------------------------------

def torch_sgd_path(loss_fn: Callable, start, lr, steps: int) -> list[torch.Tensor]:
    """The points torch.optim.SGD visits on ``loss_fn`` (for checking a hand-written loop).
    A per-coordinate ``lr`` is done by scaling the gradient, which equals it step for step."""
    x = torch.tensor(start, dtype=torch.float64, requires_grad=True)
    scale = torch.as_tensor(lr, dtype=torch.float64)
    optimizer = torch.optim.SGD([x], lr=1.0)
    path = []
    for _ in range(steps):
        path.append(x.detach().clone())
        optimizer.zero_grad()
        loss_fn(x).backward()
        x.grad.mul_(scale)
        optimizer.step()
    return path


def final_loss_with(lr, steps: int = 50) -> float:
    """L after ``steps`` steps of gradient descent from x0 on the bowl with learning rate(s) ``lr``."""
    path = torch_sgd_path(LossFunctionWithPlot(), BOWL_START, lr, steps + 1)
    return LossFunctionWithPlot()(path[-1]).item()


#: Task 1.2 threshold: the best single learning rate ends 50 steps at L ~ 0.105.
PER_DIM_LR_THRESHOLD = 0.05


def check_gd_loop__matches_reference(descend: Callable) -> None:
    """``descend(loss_fn, x, lr, steps)`` visits the points torch.optim.SGD visits."""
    test_id = "gd_loop__matches_reference"
    cases = [("bowl, lr 0.1, 6 steps", BOWL_MATRIX, BOWL_START, 0.1, 6),
             ("bowl, lr 0.02, 4 steps", BOWL_MATRIX, (0.5, -2.0), 0.02, 4),
             ("round bowl, lr 0.3, 3 steps", ((1.0, 0.0), (0.0, 1.0)), (1.0, 1.0), 0.3, 3)]
    for case, B, start, lr, steps in cases:
        L = LossFunctionWithPlot(B)
        x = torch.tensor(start, dtype=torch.float64, requires_grad=True)
        descend(L, x, lr, steps)
        expected = torch_sgd_path(LossFunctionWithPlot(B), start, lr, steps)
        if len(L.xs) != steps:
            fail(test_id, case, f"expected {steps} calls of loss_fn, got {len(L.xs)}",
                  "call loss_fn(x) once per step, then backward(), then update x")
        expect_close(test_id, case, torch.stack(expected), torch.stack(L.xs),
                      tolerance(torch.stack(expected), *L.xs),
                      "each step is x <- x - lr * x.grad, using the gradient of this step only: "
                      "clear x.grad after the update, or gradients pile up")
    _passed(test_id, len(cases))


def check_gd_loop__in_place(descend: Callable) -> None:
    """``descend`` updates the given leaf tensor in place and leaves no stale gradient."""
    test_id = "gd_loop__in_place"
    x = torch.tensor(BOWL_START, dtype=torch.float64, requires_grad=True)
    returned = descend(LossFunctionWithPlot(), x, 0.1, 3)
    hint = "update x in place (x -= ...) inside torch.no_grad(), then set x.grad = None"
    if returned is not x:
        fail(test_id, "return value", "expected descend to return the same tensor x it was given", hint)
    if not (x.is_leaf and x.requires_grad):
        fail(test_id, "x after descend", "x is no longer a leaf that requires grad", hint)
    if torch.equal(x.detach(), torch.tensor(BOWL_START, dtype=torch.float64)):
        fail(test_id, "x after descend", "x did not move", hint)
    if x.grad is not None and x.grad.abs().max().item() != 0:
        fail(test_id, "x.grad after descend", f"expected None or zeros, got {show(x.grad)}", hint)
    _passed(test_id, 4)


def check_gd_loop__tensor_lr(descend: Callable) -> None:
    """``descend`` accepts one learning rate per coordinate (a tensor of x's shape)."""
    test_id = "gd_loop__tensor_lr"
    lr = torch.tensor([0.03, 0.8], dtype=torch.float64)
    L = LossFunctionWithPlot()
    descend(L, torch.tensor(BOWL_START, dtype=torch.float64, requires_grad=True), lr, 5)
    expected = torch_sgd_path(LossFunctionWithPlot(), BOWL_START, lr, 5)
    expect_close(test_id, "lr (0.03, 0.8), 5 steps", torch.stack(expected), torch.stack(L.xs),
                  tolerance(torch.stack(expected), *L.xs), "multiply the gradient by lr elementwise: "
                  "lr * x.grad works for a float and for a tensor of x's shape")
    _passed(test_id, 1)



def check_per_dim_lr__beats_single_lr(lr_pair) -> None:
    """``lr_pair`` (2 positive numbers) ends 50 steps below ``PER_DIM_LR_THRESHOLD``."""
    test_id = "per_dim_lr__beats_single_lr"
    try:
        pair = torch.as_tensor(lr_pair, dtype=torch.float64)
    except (TypeError, ValueError, RuntimeError):
        pair = None
    if pair is None or pair.shape != (2,) or not bool((pair > 0).all()):
        fail(test_id, "format", f"expected two positive learning rates, got {lr_pair!r}",
              "e.g. lr_pair = torch.tensor([0.1, 0.5])")
    loss = final_loss_with(pair)
    if not loss < PER_DIM_LR_THRESHOLD:
        fail(test_id, f"lr {pair.tolist()}", f"final loss {loss:.4f} is not below "
              f"{PER_DIM_LR_THRESHOLD}", "x[0] sits in a steep direction and x[1] in a shallow "
              "one: search a small grid of pairs with final_loss_with(...)")
    print(f"{test_id}: final loss {loss:.4f} < {PER_DIM_LR_THRESHOLD}")


def _toy_parameters(seed: int, dtype=torch.float64) -> list[torch.Tensor]:
    """Three leaf tensors of different shapes: (), (3,) and (2, 3)."""
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(shape, generator=g, dtype=dtype).requires_grad_()
            for shape in [(), (3,), (2, 3)]]


def _toy_loss(params: Sequence[torch.Tensor]) -> torch.Tensor:
    """A smooth loss of _toy_parameters whose gradients differ in size and sign."""
    scalar, vector, matrix = params
    return ((matrix @ vector - 1.0) ** 2).sum() + 0.1 * scalar ** 4 + (vector * scalar).sin().sum()


def _flat(params: Sequence[torch.Tensor]) -> torch.Tensor:
    return torch.cat([p.detach().double().cpu().flatten() for p in params])


def _run_optimizer(make, params, steps: int, clear=None) -> torch.Tensor:
    """The parameters (flattened, float64) after each of ``steps`` optimizer steps on _toy_loss,
    (steps, n). Gradients are cleared here (or by ``clear(optimizer)``), not by zero_grad, which
    has a check of its own."""
    optimizer = make(iter(params))  # an iterator, as net.parameters() is: it can be read once
    trajectory = []
    for _ in range(steps):
        if clear is None:
            for p in params:
                p.grad = None
        else:
            clear(optimizer)
        _toy_loss(params).backward()
        optimizer.step()
        trajectory.append(_flat(params))
    return torch.stack(trajectory)


def _run_in_turn(makers, steps: int) -> list[torch.Tensor]:
    """Two optimizers ``make(params)`` alive at once, over _toy_parameters(0) and (1), made one
    after the other and then stepped in turn: the path of each, as _run_optimizer gives it."""
    groups = [_toy_parameters(seed) for seed in (0, 1)]
    optimizers = [make(iter(params)) for make, params in zip(makers, groups)]
    paths = [[], []]
    for _ in range(steps):
        for optimizer, params, path in zip(optimizers, groups, paths):
            for p in params:
                p.grad = None
            _toy_loss(params).backward()
            optimizer.step()
            path.append(_flat(params))
    return [torch.stack(path) for path in paths]


def _sgd_mistakes(kwargs: dict, steps: int) -> dict:
    """What classic wrong updates of SimpleGradientDescent produce from _toy_parameters(0)."""
    lr, wd = kwargs["lr"], kwargs.get("weight_decay", 0.0)

    def run(update):
        params = _toy_parameters(0)
        path = []
        for _ in range(steps):
            grads = torch.autograd.grad(_toy_loss(params), params)
            with torch.no_grad():
                for p, g in zip(params, grads):
                    p.copy_(update(p, g))
            path.append(_flat(params))
        return torch.stack(path)
    updates = {} if not wd else {
        "weight decay applied outside the learning rate (p -= lr*g + wd*p)": lambda p, g: p - lr * g - wd * p,
        "weight decay with the wrong sign (p -= lr*(g - wd*p))": lambda p, g: p - lr * (g - wd * p),
        "weight decay on |p| instead of p": lambda p, g: p - lr * (g + wd * p.abs()),
        "weight decay outside the learning rate and with the wrong sign (p -= lr*g - wd*p)":
            lambda p, g: p - lr * g + wd * p,
        "weight decay on |p| and outside the learning rate (p -= lr*g + wd*|p|)":
            lambda p, g: p - lr * g - wd * p.abs(),
        "weight decay ignored": lambda p, g: p - lr * g}
    mistakes = {name: run(update) for name, update in updates.items()}
    mistakes["momentum (a velocity kept from step to step): SimpleGradientDescent is plain gradient "
              "descent, each step from this step's gradient alone"] = _run_optimizer(
        lambda p: torch.optim.SGD(p, momentum=0.9, **kwargs), _toy_parameters(0), steps)
    return mistakes


def _check_against_torch(test_id: str, SimpleGradientDescent, cases, steps: int, hint: str) -> None:
    """Compare ``SimpleGradientDescent(params, **kw)`` with ``torch.optim.SGD(params, **kw)`` step
    by step, for each of ``cases``, then two of them alive at once (the settings of the first two
    cases), stepped in turn."""
    for kwargs in cases:
        case = ", ".join(f"{k}={v}" for k, v in kwargs.items()) + f", {steps} steps"
        got = _run_optimizer(lambda p: SimpleGradientDescent(p, **kwargs), _toy_parameters(0), steps)
        expected = _run_optimizer(lambda p: torch.optim.SGD(p, **kwargs), _toy_parameters(0), steps)
        expect_path(test_id, case, expected, got, tolerance(expected, got), hint,
                     lambda: _sgd_mistakes(kwargs, steps))
    pair = cases[:2]
    got = _run_in_turn([lambda p, kw=kw: SimpleGradientDescent(p, **kw) for kw in pair], steps)
    expected = _run_in_turn([lambda p, kw=kw: torch.optim.SGD(p, **kw) for kw in pair], steps)
    for index, (e, g) in enumerate(zip(expected, got)):
        expect_path(test_id, f"two optimizers alive at once, {pair[0]} and {pair[1]}, stepped in turn: "
                     f"the {('first', 'second')[index]}", e, g, tolerance(e, g),
                     "two optimizers must share nothing: keep the parameters and the settings on self "
                     "(self.lr = lr), not on the class (SimpleGradientDescent.lr = lr)")
    _passed(test_id, len(cases) + 1)


def check_sgd_optimizer__matches_torch(SimpleGradientDescent) -> None:
    """``SimpleGradientDescent`` without weight decay equals torch.optim.SGD, also with two alive at once."""
    _check_against_torch("sgd_optimizer__matches_torch", SimpleGradientDescent,
                         [{"lr": 0.1}, {"lr": 0.03}], steps=4,
                         hint="step() does p -= lr * p.grad for every parameter, in place under "
                              "torch.no_grad(); keep the parameters in a list (parameters may be "
                              "a generator that can be read only once)")


def check_sgd_optimizer__weight_decay(SimpleGradientDescent) -> None:
    """``SimpleGradientDescent`` with weight decay equals torch.optim.SGD(weight_decay=...)."""
    _check_against_torch("sgd_optimizer__weight_decay", SimpleGradientDescent,
                         [{"lr": 0.1, "weight_decay": 0.1}, {"lr": 0.1, "weight_decay": 1e-3}],
                         steps=4,
                         hint="weight decay adds weight_decay * p to the gradient (your answer "
                              "to 1.D), and the learning rate scales the whole gradient, decay "
                              "included (1.E)")


def _check_zero_grad(test_id: str, optimizer_cls) -> None:
    """``zero_grad()`` raises nothing before the first backward() (a training loop calls it first,
    while every p.grad is None), clears every gradient (to None or zeros), and changes nothing
    else: steps with zero_grad() between them go where steps with the gradients cleared by hand go."""
    params = _toy_parameters(1)
    optimizer = optimizer_cls(iter(params), lr=0.1)
    try:
        optimizer.zero_grad()
    except Exception as err:  # the student's zero_grad, on parameters without gradients
        fail(test_id, "zero_grad() before any backward()", f"zero_grad() raised {type(err).__name__}: {err}",
              "until the first backward() every p.grad is None, and a training loop calls zero_grad() "
              "first: set p.grad = None, which works either way")
    _toy_loss(params).backward()
    optimizer.zero_grad()
    for index, p in enumerate(params):
        if p.grad is not None and p.grad.abs().max().item() != 0:
            fail(test_id, f"parameter {index}", f"gradient not cleared: {show(p.grad)}",
                  "loop over the list of parameters you stored and set p.grad = None")
    make = lambda p: optimizer_cls(p, lr=0.1)  # noqa: E731
    try:
        by_hand = _run_optimizer(make, _toy_parameters(1), 3)
    except Exception:  # step() itself fails: the other checks say why
        by_hand = None
    if by_hand is None or not bool(torch.isfinite(by_hand).all()):
        _passed(test_id, 2)
        return
    with_it = _run_optimizer(make, _toy_parameters(1), 3, clear=lambda optimizer: optimizer.zero_grad())
    expect_path(test_id, "3 rounds of zero_grad(), backward(), step()", by_hand, with_it,
                 tolerance(by_hand), "zero_grad() only clears the gradients: the optimizer's state "
                 "(t, m*, v*) and settings must stay as they are",
                 what="expected what the same rounds do with p.grad = None in place of zero_grad(),")
    _passed(test_id, 3)


def check_sgd_optimizer__zero_grad(SimpleGradientDescent) -> None:
    """``zero_grad()`` clears every parameter's gradient (to None or zeros)."""
    _check_zero_grad("sgd_optimizer__zero_grad", SimpleGradientDescent)


# Part 2 -------------------------------------------------------------------

#: Task 2.1 cases: (case, gradients (T, d), mean, RMS), the answers worked out in advance.
_GRAD_STATS_CASES = [
    ("4 steps, 2 coordinates", [[1.0, -2.0], [3.0, 2.0], [-1.0, 0.0], [1.0, 4.0]],
     [1.0, 1.0], [1.7320508076, 2.4494897428]),
    ("1 step, 3 coordinates", [[-0.5, 2.0, 0.0]], [-0.5, 2.0, 0.0], [0.5, 2.0, 0.0]),
    ("5 equal steps", [[2.0, -3.0]] * 5, [2.0, -3.0], [2.0, 3.0]),
]
#: Task 2.1 shape cases: (case, gradients (T, d)); their values are the other check's.
_GRAD_STATS_SHAPE_CASES = [
    ("3 steps, 5 coordinates", [[-7.0, -6.0, -5.0, -4.0, -3.0], [-2.0, -1.0, 0.0, 1.0, 2.0],
                                [3.0, 4.0, 5.0, 6.0, 7.0]]),
    ("6 steps, 1 coordinate", [[0.5], [-1.0], [2.0], [-0.5], [1.5], [-2.5]]),
]


def _f64(values) -> torch.Tensor:
    """Numbers fixed in advance, kept in float64 (torch.as_tensor would round them to float32)."""
    return torch.tensor(values, dtype=torch.float64)


def _got64(value):
    """A result that is not a tensor (a float, a list), in float64 for comparing with _f64 numbers."""
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


def _rms_mistakes(g: torch.Tensor) -> dict:
    """What classic wrong RMS formulas give for gradients ``g`` (T, d), float64."""
    return {"RMS computed as sqrt(sum of g^2) / N: the root of a sum divided by N is RMS / sqrt(N)":
            g.pow(2).sum(dim=0).sqrt() / g.shape[0],
            "the mean of g^2, without the square root": g.pow(2).mean(dim=0),
            "the standard deviation (it subtracts the mean first; the RMS does not)":
                g.std(dim=0, unbiased=False),
            **({"the unbiased standard deviation (it subtracts the mean first; the RMS does not)":
                g.std(dim=0, unbiased=True)} if g.shape[0] > 1 else {})}


def check_grad_stats__values(gradient_stats: Callable) -> None:
    """``gradient_stats(grads)`` returns the per-coordinate mean and RMS of a few fixed (T, d) tensors."""
    test_id = "grad_stats__values"
    hint = ("mean = the average of g over the steps; RMS = the square root of the average of g**2 "
            "over the steps")
    for case, rows, mean, rms in _GRAD_STATS_CASES:
        for dtype in (torch.float64, torch.float32):
            grads = torch.tensor(rows, dtype=dtype)
            where = f"{case} (grads of shape {tuple(grads.shape)}, {dtype})"
            got_mean, got_rms = _call_pair(test_id, gradient_stats, where, (grads,), "mean, rms", hint)
            rms_mistakes = _rms_mistakes(_f64(rows))
            for name, expected, got, mistakes in (("mean", _f64(mean), _got64(got_mean), None),
                                                  ("RMS", _f64(rms), _got64(got_rms), rms_mistakes)):
                expect_close(test_id, f"{where}: {name}", expected, got, tolerance(expected, dtype, got),
                              hint, mistakes)
    _passed(test_id, 2 * len(_GRAD_STATS_CASES))


def check_grad_stats__shapes(gradient_stats: Callable) -> None:
    """``gradient_stats`` returns two tensors of shape (d,) for grads of shape (T, d), any d, and
    leaves grads as it was (the values are check_grad_stats__values')."""
    test_id = "grad_stats__shapes"
    hint = ("average over the steps, dim 0, so that a (T, d) input gives two (d,) outputs: one mean "
            "and one RMS per coordinate")
    for case, rows in _GRAD_STATS_SHAPE_CASES:
        for dtype in (torch.float64, torch.float32):
            grads = torch.tensor(rows, dtype=dtype)
            where = f"{case} (grads of shape {tuple(grads.shape)}, {dtype})"
            result = _call_pair(test_id, gradient_stats, where, (grads.clone(),), "mean, rms", hint)
            for name, got in zip(("mean", "RMS"), result):
                got = _got64(got)
                shape = tuple(got.shape) if isinstance(got, torch.Tensor) else type(got).__name__
                if shape != (grads.shape[1],):
                    fail(test_id, f"{where}: {name}", f"expected shape ({grads.shape[1]},), got {shape}",
                          hint)
            before = grads.clone()
            gradient_stats(grads)
            if not torch.equal(grads, before):
                fail(test_id, where, "gradient_stats changed the tensor it was given",
                      "compute new tensors instead of modifying grads in place")
    _passed(test_id, 2 * len(_GRAD_STATS_SHAPE_CASES))


def _check_two_numbers(test_id: str, value, name: str, nonnegative: bool = False) -> None:
    hint = f"write {name} = (value for x[0], value for x[1]), numbers to 4 decimals"
    try:
        numbers = torch.as_tensor(value.detach().cpu() if isinstance(value, torch.Tensor) else value,
                                  dtype=torch.float64).flatten()
    except (TypeError, ValueError, RuntimeError):
        fail(test_id, "format", f"expected two numbers, got {value!r}", hint)
    if numbers.numel() != 2 or not bool(torch.isfinite(numbers).all()):
        fail(test_id, "format", f"expected two finite numbers, got {value!r}", hint)
    if nonnegative and bool((numbers < 0).any()):
        fail(test_id, "format", f"got {numbers.tolist()}, but an RMS is never negative", hint)
    first, second = numbers.tolist()
    print(f"{test_id}: {name} = ({first:.4f}, {second:.4f}) has the right form; "
          "the grader compares it with the true values (tolerance 1e-3)")


def check_q_mean_values__numbers(mean_grad_values) -> None:
    """``mean_grad_values`` holds two numbers (their values are graded by the autograder)."""
    _check_two_numbers("q_mean_values__numbers", mean_grad_values, "mean_grad_values")


def check_q_rms_values__numbers(rms_grad_values) -> None:
    """``rms_grad_values`` holds two non-negative numbers (their values are graded by the autograder)."""
    _check_two_numbers("q_rms_values__numbers", rms_grad_values, "rms_grad_values", nonnegative=True)


#: Question 2.C: the options each answer variable may take.
MEAN_VS_RMS_OPTIONS = {"never_smaller": ("mean", "RMS"), "typical_size": ("mean", "RMS"),
                       "consistent_sign": ("close", "much smaller"),
                       "sign_changes": ("close", "much smaller")}


def _check_choice(test_id: str, answer, name: str) -> None:
    options = MEAN_VS_RMS_OPTIONS[name]
    allowed = " or ".join(f'"{option}"' for option in options)
    if not isinstance(answer, str) or answer.strip().lower() not in {o.lower() for o in options}:
        fail(test_id, "format", f"{name} must be {allowed}, got {answer!r}",
              f"set {name} to one of the strings {allowed}")
    print(f"{test_id}: {name} = {answer.strip()!r} is one of {allowed}; "
          "the grader checks whether it is right")


def check_q_mean_vs_rms__never_smaller(never_smaller) -> None:
    _check_choice("q_mean_vs_rms__never_smaller", never_smaller, "never_smaller")


def check_q_mean_vs_rms__typical_size(typical_size) -> None:
    _check_choice("q_mean_vs_rms__typical_size", typical_size, "typical_size")


def check_q_mean_vs_rms__consistent_sign(consistent_sign) -> None:
    _check_choice("q_mean_vs_rms__consistent_sign", consistent_sign, "consistent_sign")


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
        result = _call_pair(test_id, ema_update, case, args, "ema, ema_star_t", "return ema, ema_star_t")
        got = _got64(result[which])
        expect_close(test_id, f"{case}: {('ema', 'ema_star_t')[which]}", _f64(expected[which]), got,
                      tolerance(_f64(expected[which]), got), hint)
    _passed(test_id, len(_EMA_CASES))


def check_ema_update__formula(ema_update: Callable) -> None:
    """The second output of ``ema_update`` is EMA*_t on a few fixed cases."""
    _check_ema_cases("ema_update__formula", ema_update, 1,
                     "EMA*_t = beta * EMA*_{t-1} + (1 - beta) * x_t, returned second: the new value "
                     "x_t gets the small weight 1 - beta")


def check_ema_update__bias_correction(ema_update: Callable) -> None:
    """The first output of ``ema_update`` is the bias-corrected EMA_t on a few fixed cases."""
    _check_ema_cases("ema_update__bias_correction", ema_update, 0,
                     "EMA_t = EMA*_t / (1 - beta ** t), returned first, with t counting from 1: "
                     "at t = 1, starting from EMA*_0 = 0, the EMA equals x_1")


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
            case = (f"tensors of shape (2, 3), {dtype}, beta={beta}, t={step}, ema_star_old "
                    f"{'a tensor' if isinstance(start, torch.Tensor) else '= 0.0'}")
            x_before = x.clone()
            start_before = start.clone() if isinstance(start, torch.Tensor) else start
            result = _call_pair(test_id, ema_update, case, (x, beta, step, start), "ema, ema_star_t",
                                "return ema, ema_star_t")
            olds = start_before.flatten().tolist() if isinstance(start, torch.Tensor) else [start] * x.numel()
            try:
                scalar = [_call_pair(test_id, ema_update, case, (xi, beta, step, oi), "ema, ema_star_t", "")
                          for xi, oi in zip(x_before.flatten().tolist(), olds)]
                scalar = [_f64([float(pair[k]) for pair in scalar]).reshape(x.shape) for k in (0, 1)]
            except Exception:  # the student's code on numbers; the two formula checks show why
                fail(test_id, case, "ema_update fails on Python numbers, so its tensor results "
                      "cannot be compared with them", "make check_ema_update__formula pass first")
            if not torch.equal(x, x_before):
                fail(test_id, case, "ema_update changed its input x_t", hint)
            if isinstance(start, torch.Tensor) and not torch.equal(start, start_before):
                fail(test_id, case, "ema_update changed its input ema_star_old", hint)
            for name, got, want in zip(("ema", "ema_star_t"), result, scalar):
                if not isinstance(got, torch.Tensor):
                    fail(test_id, case, f"{name} is a {type(got).__name__}, expected a tensor", hint)
                expect_close(test_id, f"{case}: {name}, compared with your results for each element "
                              "as a number", want, got, tolerance(want, dtype, got), "for tensors the "
                              "results must be what you get element by element for numbers; " + hint)
            cases += 1
    _passed(test_id, cases)


def _student_global(cls, name: str):
    """What ``name`` means to the methods of ``cls`` (a notebook global), or None."""
    for attr in vars(cls).values():
        space = getattr(getattr(attr, "__func__", attr), "__globals__", None)
        if isinstance(space, dict) and name in space:
            return space[name]
    return None


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
    ADAMOptimizer(iter(_toy_parameters(0)), lr=0.1)
    try:
        run()
    except Exception:
        ema_update = _student_global(ADAMOptimizer, "ema_update")
        if ema_update is not None and all(_passes_quietly(check, ema_update) for check in (
                check_ema_update__formula, check_ema_update__bias_correction,
                check_ema_update__tensors_unchanged)):
            raise
        print(f"{test_id}: not checked yet: ADAMOptimizer is built on ema_update, which does not pass "
              "its own checks. Fix ema_update first; the grader checks ADAMOptimizer with a correct "
              "ema_update.")


_ADAM_HINT = ("step() advances t by one, then for each parameter: g = p.grad + weight_decay * p; "
              "m, m* = ema_update(g, beta1, t, m*); v, v* = ema_update(g * g, beta2, t, v*); "
              "p -= lr * m / (sqrt(v) + eps); m* and v* are kept for the next step")


_STATE_HINT = ("create the state with torch.zeros_like(p), which has p's shape, dtype and device "
               "(torch.zeros(p.shape) is float32 on the CPU)")


def _adam_first_step_mistakes(kwargs: dict) -> dict:
    """What classic mistakes in the update give at the first step from _toy_parameters(0), as a
    path of one step: at t = 1 the bias-corrected moments are g and g * g."""
    params = _toy_parameters(0)
    g = _flat(torch.autograd.grad(_toy_loss(params), params))
    lr, (beta1, beta2), eps = kwargs["lr"], kwargs.get("betas", (0.9, 0.999)), kwargs.get("eps", 1e-8)
    steps = {"eps inside the square root: the update divides by sqrt(v_hat + eps) instead of "
             "sqrt(v_hat) + eps": g / (g * g + eps).sqrt(),
             "no square root: the update divides by v_hat + eps instead of sqrt(v_hat) + eps":
                 g / (g * g + eps),
             "no bias correction (m* and v* used as they are; divide them by 1 - beta1^t and 1 - beta2^t)":
                 (1 - beta1) * g / ((1 - beta2) ** 0.5 * g.abs() + eps)}
    return {name: (_flat(params) - lr * step)[None] for name, step in steps.items()}


def _adam_against_torch(test_id: str, ADAMOptimizer, cases, steps: int, hint: str) -> None:
    """Compare ``ADAMOptimizer(params, **kw)`` with ``torch.optim.Adam(params, **kw)`` step by step
    on _toy_loss. Gradients are cleared here, not by zero_grad, which has a check of its own."""
    for kwargs in cases:
        case = ", ".join(f"{k}={v}" for k, v in kwargs.items()) + f", {steps} steps"
        params = _toy_parameters(0)
        optimizer = ADAMOptimizer(iter(params), **kwargs)
        got = _run_optimizer(lambda _: optimizer, params, steps)
        expected = _run_optimizer(lambda p: torch.optim.Adam(p, **kwargs), _toy_parameters(0), steps)
        mismatch = _state_mismatch(optimizer, params)
        expect_path(test_id, case, expected, got, tolerance(expected, got),
                     f"{mismatch}: {_STATE_HINT}" if mismatch else hint,
                     lambda: _adam_first_step_mistakes(kwargs))
    _passed(test_id, len(cases))


def check_adam_optimizer__matches_torch(ADAMOptimizer) -> None:
    """``ADAMOptimizer`` without weight decay equals torch.optim.Adam step for step."""
    test_id = "adam_optimizer__matches_torch"
    _check_adam(test_id, ADAMOptimizer, lambda: _adam_against_torch(
        test_id, ADAMOptimizer, [{"lr": 0.1}, {"lr": 0.05, "betas": (0.5, 0.9), "eps": 0.1}],
        steps=5, hint=_ADAM_HINT))


def _adam_own_path(ADAMOptimizer, kwargs, steps: int, l2: float = 0.0, dtype=torch.float64,
                   device="cpu") -> list[torch.Tensor]:
    """``ADAMOptimizer(params, **kwargs)`` on _toy_loss + (l2 / 2) |params|^2: the parameters
    (float64, CPU, flattened) after each step. Gradients are cleared here, not by zero_grad."""
    params = [p.detach().to(dtype=dtype, device=device).requires_grad_() for p in _toy_parameters(0)]
    optimizer = ADAMOptimizer(iter(params), **kwargs)
    path = []
    for _ in range(steps):
        for p in params:
            p.grad = None
        (_toy_loss(params) + l2 / 2 * sum((p ** 2).sum() for p in params)).backward()
        optimizer.step()
        path.append(torch.cat([p.detach().double().cpu().flatten() for p in params]))
    return path


def check_adam_optimizer__weight_decay(ADAMOptimizer) -> None:
    """``ADAMOptimizer(weight_decay=wd)`` on a loss L does what ``ADAMOptimizer(weight_decay=0)``
    does on L + (wd / 2) |p|^2: PyTorch's coupled L2, whatever the rest of the update."""
    test_id = "adam_optimizer__weight_decay"
    cases = [{"lr": 0.1, "weight_decay": 0.1}, {"lr": 0.05, "betas": (0.8, 0.95), "weight_decay": 0.5}]

    def run():
        for kwargs in cases:
            wd = kwargs["weight_decay"]
            plain = {k: v for k, v in kwargs.items() if k != "weight_decay"}
            got = _adam_own_path(ADAMOptimizer, kwargs, 5)
            expected = _adam_own_path(ADAMOptimizer, plain, 5, l2=wd)
            ignored = _adam_own_path(ADAMOptimizer, plain, 5)
            case = ", ".join(f"{k}={v}" for k, v in kwargs.items())
            for step, (g, e, i) in enumerate(zip(got, expected, ignored), start=1):
                expect_close(test_id, f"{case}, after step {step}: compared with your ADAMOptimizer "
                              f"without weight decay on the loss + ({wd}/2)|p|^2", e, g, tolerance(e, g),
                              "weight decay adds weight_decay * p to the gradient, g = p.grad + "
                              "weight_decay * p, before both moments (coupled L2, as in Part 1 and "
                              "torch.optim.Adam); nothing else changes",
                              {"weight_decay ignored (add weight_decay * p to the gradient before the "
                               "moments)": i})
        _passed(test_id, len(cases))
    _check_adam(test_id, ADAMOptimizer, run)


#: Gradients set by hand for two parameters (shapes (2,) and ()), changing sign and size.
_HAND_GRADIENTS = [([0.5, -1.0], 2.0), ([-1.5, 0.2], -0.5), ([0.1, 3.0], 1.0), ([2.0, -0.3], -2.5),
                   ([-0.4, 0.8], 0.3), ([1.2, 1.2], -1.0)]


def _steps_with_hand_gradients(make, gradients=_HAND_GRADIENTS, which=(0, 1)) -> list[torch.Tensor]:
    """Parameters (flattened) after each step of ``make`` over the parameters ``which`` of
    ((0.3, -0.7), 1.1), their gradients set by hand."""
    start = [torch.tensor([0.3, -0.7], dtype=torch.float64), torch.tensor(1.1, dtype=torch.float64)]
    params = [start[i].requires_grad_() for i in which]
    optimizer = make(iter(params))
    path = []
    for grads in gradients:
        for p, i in zip(params, which):
            p.grad = torch.tensor(grads[i], dtype=torch.float64)
        optimizer.step()
        path.append(torch.cat([p.detach().clone().flatten() for p in params]))
    return path


def _twins_with_hand_gradients(make, which=(0, 1)) -> torch.Tensor:
    """Parameters (flattened, (steps, n)) after each step of ``make`` over the parameters ``which``
    of two of one shape, (0.3, -0.7) and (1.1, -0.2), with the vectors of _HAND_GRADIENTS as the
    gradients of the first and those reversed as the second's."""
    start = [torch.tensor([0.3, -0.7], dtype=torch.float64), torch.tensor([1.1, -0.2], dtype=torch.float64)]
    params = [start[i].requires_grad_() for i in which]
    optimizer = make(iter(params))
    path = []
    for vector, _ in _HAND_GRADIENTS:
        for p, i in zip(params, which):
            p.grad = torch.tensor(vector if i == 0 else vector[::-1], dtype=torch.float64)
        optimizer.step()
        path.append(_flat(params))
    return torch.stack(path)


#: Two optimizers alive at once (Task 2.3's state_persists): each keeps its own settings.
_IN_TURN_SETTINGS = ({"lr": 0.1, "betas": (0.8, 0.9)}, {"lr": 0.03, "betas": (0.5, 0.99), "eps": 1e-6})


def _check_in_turn(test_id: str, ADAMOptimizer) -> None:
    """Two ADAMOptimizer objects, made one after the other with _IN_TURN_SETTINGS and stepped in
    turn on _HAND_GRADIENTS, each move as it does alone."""
    groups = [[torch.tensor([0.3, -0.7], dtype=torch.float64).requires_grad_(),
               torch.tensor(1.1, dtype=torch.float64).requires_grad_()] for _ in _IN_TURN_SETTINGS]
    optimizers = [ADAMOptimizer(iter(params), **kwargs) for params, kwargs in zip(groups, _IN_TURN_SETTINGS)]
    paths = [[], []]
    for grads in _HAND_GRADIENTS:
        for optimizer, params, path in zip(optimizers, groups, paths):
            for p, grad in zip(params, grads):
                p.grad = torch.tensor(grad, dtype=torch.float64)
            optimizer.step()
            path.append(_flat(params))
    for index, (kwargs, path) in enumerate(zip(_IN_TURN_SETTINGS, paths)):
        alone = torch.stack(_steps_with_hand_gradients(lambda p: ADAMOptimizer(p, **kwargs)))
        expect_path(test_id, f"two optimizers alive at once, {_IN_TURN_SETTINGS[0]} and "
                     f"{_IN_TURN_SETTINGS[1]}, stepped in turn: the {('first', 'second')[index]}",
                     alone, torch.stack(path), tolerance(alone),
                     "each optimizer keeps its own settings, t, m* and v*: set them on self in "
                     "__init__ (self.lr = lr), not on the class (ADAMOptimizer.lr = lr, or a list or "
                     "dict written in the class body)", what="expected (what it does alone)")


def check_adam_optimizer__state_persists(ADAMOptimizer) -> None:
    """Each parameter's m* and v* carry over from step to step, and t advances once per step():
    a step depends on earlier gradients, a parameter moves the same alone or with others (also
    one of the same shape), and two optimizers alive at once share nothing."""
    test_id = "adam_optimizer__state_persists"
    kwargs = {"lr": 0.1, "betas": (0.8, 0.9)}

    def run():
        make = lambda p: ADAMOptimizer(p, **kwargs)  # noqa: E731
        first = _steps_with_hand_gradients(make)
        (vector, scalar), rest = _HAND_GRADIENTS[0], _HAND_GRADIENTS[1:]
        changed = [([-3 * g for g in vector], -3 * scalar)] + rest
        second = _steps_with_hand_gradients(make, changed)
        moved_first, moved_second = first[1] - first[0], second[1] - second[0]
        if (moved_first - moved_second).abs().max().item() < 1e-7:
            fail(test_id, "two runs whose gradients differ only at step 1",
                  f"step 2 moved the parameters by {show(moved_first)} in both runs: the first "
                  "gradient was forgotten", "m* and v* must survive from one step() to the next: "
                  "update the stored tensors in place (m_star.copy_(new) or m_star[...] = new; a "
                  "plain m_star = new only renames a loop variable)")
        alone = _steps_with_hand_gradients(make, which=(1,))
        for step, (a, b) in enumerate(zip(alone, first), start=1):
            expect_close(test_id, f"the scalar parameter after step {step}, with the other parameter "
                          "in the optimizer, compared with it alone", a, b[-1:], tolerance(a),
                          "a parameter's steps depend only on its own gradients and on t: advance t "
                          "once per step(), not once per parameter, and keep m*, v* per parameter")
        together = _twins_with_hand_gradients(make)
        for index in (0, 1):
            alone = _twins_with_hand_gradients(make, which=(index,))
            expect_path(test_id, f"two parameters of shape (2,) in one optimizer: the "
                         f"{('first', 'second')[index]}, compared with it alone", alone,
                         together[:, 2 * index:2 * index + 2], tolerance(alone),
                         "two parameters of the same shape must not share m* and v*: keep the state "
                         "per parameter (lists in the order of self.parameters, or a dict keyed by "
                         "position), not keyed by p.shape", what="expected (what it does alone)")
        _check_in_turn(test_id, ADAMOptimizer)
        _passed(test_id, len(_HAND_GRADIENTS) + 3)
    _check_adam(test_id, ADAMOptimizer, run)


def _tensors_held(obj, exclude) -> list[tuple[str, torch.Tensor]]:
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
                walk(item, f"{where}[{key if not isinstance(key, torch.Tensor) else '...'}]", depth + 1)
    for name, value in vars(obj).items():
        walk(value, f"self.{name}", 0)
    return found


def _state_mismatch(optimizer, params) -> str | None:
    """A tensor ``optimizer`` holds whose dtype or device is not that of the parameter of its shape,
    described (the parameters' shapes differ, so a state tensor's shape names its parameter).
    Single numbers are left out: a setting held as a tensor (torch.tensor(lr)) is one too."""
    for where, tensor in _tensors_held(optimizer, params):
        for p in params:
            if tensor.dim() and tensor.shape == p.shape and (tensor.dtype, tensor.device) != (
                    p.dtype, p.device):
                return (f"{where} is {tensor.dtype} on {tensor.device}, for a {p.dtype} parameter "
                        f"of shape {tuple(p.shape)} on {p.device}")
    return None


def check_adam_optimizer__devices_dtypes(ADAMOptimizer) -> None:
    """``ADAMOptimizer`` keeps float32 and float64 parameters, on the chosen device, as they
    are, and gives what it gives for the same values in float64 on the CPU."""
    test_id = "adam_optimizer__devices_dtypes"
    device = pick_device()
    hint = _STATE_HINT

    def path(dtypes, where):
        params = [p.detach().to(dtype=d, device=where).requires_grad_()
                  for p, d in zip(_toy_parameters(2), dtypes)]
        optimizer = ADAMOptimizer(iter(params), lr=0.05)
        for _ in range(4):
            for p in params:
                p.grad = None
            # One term per parameter, so that the float64 ones do not see float32 rounding.
            sum(((p - 1) ** 2).sum() + p.sin().sum() for p in params).backward()
            optimizer.step()
        return params, optimizer

    def run():
        dtypes = (torch.float64, torch.float32, torch.float64)
        try:
            got, optimizer = path(dtypes, device)
        except RuntimeError as err:
            if "device" not in str(err).lower():
                raise
            fail(test_id, f"float32 and float64 parameters on {device}",
                  f"step() failed: {str(err).splitlines()[0]}", hint)
        mismatch = _state_mismatch(optimizer, got)
        if mismatch:
            fail(test_id, f"float32 and float64 parameters on {device}", mismatch, hint)
        expected, _ = path((torch.float64,) * 3, "cpu")
        for index, (g, e, dtype) in enumerate(zip(got, expected, dtypes)):
            case = f"a {dtype} parameter of shape {tuple(e.shape)} on {device}, after 4 steps"
            if g.dtype != dtype or g.device.type != torch.device(device).type:
                fail(test_id, case, f"the parameter became {g.dtype} on {g.device}", hint)
            expect_close(test_id, f"{case}, compared with your result in float64 on the CPU", e, g,
                          tolerance(e, dtype), hint)
        _passed(test_id, len(expected))
    _check_adam(test_id, ADAMOptimizer, run)


def check_adam_optimizer__zero_grad(ADAMOptimizer) -> None:
    """``zero_grad()`` clears every parameter's gradient (to None or zeros)."""
    _check_zero_grad("adam_optimizer__zero_grad", ADAMOptimizer)


# end of Part 2 checks


# Part 3 -------------------------------------------------------------------

def layer_signature(net: nn.Module) -> list[str]:
    """The layers of ``net`` in order, as short strings: plain ``nn.Sequential`` nesting is
    flattened, a ``ResidualSequence`` becomes ``"Residual(...)"`` around its layers.
    E.g. ``["Linear(36, 128)", "ReLU", "Linear(128, 1)", "Sigmoid"]``."""
    signature = []
    for child in net.children():
        if type(child).__name__ == "ResidualSequence":
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


#: The architecture each Part 3 task asks for (its task text states the same).
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


def check_architecture(task: str, net) -> None:
    """``net`` has exactly the layers Task ``task`` asks for, in order."""
    test_id = f"net_{task.replace('.', '_')}__architecture"
    hint = "compare your layers with the task's list, in order; print(net) shows yours"
    if not isinstance(net, nn.Module):
        fail(test_id, "type", f"expected an nn.Module, got {type(net).__name__}", hint)
    expected, got = ARCHITECTURES[task], layer_signature(net)
    for position, (e, g) in enumerate(zip(expected, got), start=1):
        if e != g:
            fail(test_id, f"layer {position}", f"expected {e}, got {g}", hint)
    if len(got) != len(expected):
        fail(test_id, "length", f"expected {len(expected)} layers, got {len(got)}", hint)
    _check_blocks_keep_input(test_id, net)
    print(f"{test_id}: architecture matches ({sum(p.numel() for p in net.parameters())} parameters)")


def _check_blocks_keep_input(test_id: str, net: nn.Module) -> None:
    """The layers of each residual block, run alone (eval mode, no gradients), leave their
    input as it was: the skip connection adds that input."""
    blocks = [m for m in net.modules() if type(m).__name__ == "ResidualSequence"]
    was_training = net.training
    net.eval()
    try:
        for index, block in enumerate(blocks, start=1):
            parameter = next(block.parameters(), None)
            width = next((m.in_features for m in block.modules() if isinstance(m, nn.Linear)), None)
            if parameter is None or width is None:
                continue
            x = torch.randn(6, width, generator=torch.Generator().manual_seed(index)).to(parameter)
            before, out = x.clone(), x
            with torch.no_grad():
                for layer in block.children():
                    out = layer(out)
            if not torch.equal(x, before):
                fail(test_id, f"residual block {index}", "its layers changed the block's input in "
                      "place, so the skip connection adds the changed input instead of x",
                      "an activation with inplace=True as a block's first layer overwrites x: use "
                      "nn.ReLU(), whose default is inplace=False")
    finally:
        net.train(was_training)


def check_residual_sequence__adds_input(ResidualSequence) -> None:
    """``ResidualSequence(*layers)(x)`` equals ``layers(x) + x``, x as it was given (a block may
    start with an activation, which must not overwrite x)."""
    test_id = "residual_sequence__adds_input"
    torch.manual_seed(0)
    cases = {"Linear 4->6, ReLU, Linear 6->4 on a batch of 3": [],
             "ReLU, Linear 4->6, ReLU, Linear 6->4 on a batch of 3": [nn.ReLU()]}
    for case, first in cases.items():
        inner = [*first, nn.Linear(4, 6), nn.ReLU(), nn.Linear(6, 4)]
        x = torch.randn(3, 4)
        expected = nn.Sequential(*inner)(x) + x
        expect_close(test_id, case, expected, ResidualSequence(*inner)(x), 1e-6,
                      "forward returns the layers' output plus the input x as it was given: "
                      "f(x) + x, with nothing done to x in place")
    _passed(test_id, len(cases))


def check_residual_sequence__is_sequential(ResidualSequence) -> None:
    """A ``ResidualSequence`` is still an ``nn.Sequential``: it registers its layers."""
    test_id = "residual_sequence__is_sequential"
    block = ResidualSequence(nn.Linear(3, 3), nn.Tanh())
    hint = "subclass nn.Sequential and override only forward"
    if not isinstance(block, nn.Sequential):
        fail(test_id, "type", "ResidualSequence is not an nn.Sequential subclass", hint)
    if len(list(block.parameters())) != 2:
        fail(test_id, "parameters", "the Linear layer's weight and bias are not registered", hint)
    with torch.no_grad():
        block[0].weight.zero_()
        block[0].bias.zero_()
    x = torch.randn(2, 3, requires_grad=True)
    block(x).sum().backward()
    # f is zero here, so only the skip connection carries the gradient: d(sum)/dx = 1
    expect_close(test_id, "gradient through the skip connection", torch.ones(2, 3), x.grad, 1e-6,
                  "return f(x) + x with x itself, so the gradient flows through both paths")
    _passed(test_id, 3)
# end of Part 3 checks


# Part 4 and extra credit --------------------------------------------------

#: Statistics checks allow STAT_Z standard errors. For n independent draws with standard
#: deviation s, the sample mean has standard error s/sqrt(n) and the sample standard deviation
#: about s/sqrt(2n) (normal draws; less for uniform ones). At 6 standard errors a correct
#: initializer fails by chance with probability about 2e-9 per comparison.
STAT_Z = 6.0


def _stat_tolerances(std: float, n: int) -> tuple[float, float]:
    """(tolerance on the mean, tolerance on the standard deviation) for n draws of std ``std``."""
    return STAT_Z * std / math.sqrt(n), STAT_Z * std / math.sqrt(2 * n)


def _draw_init(test_id: str, init_fn: Callable, n_in: int, n_out: int, seed: int = 0,
               generator: torch.Generator | None = None) -> torch.Tensor:
    """``init_fn(n_in, n_out, generator)`` checked for type, shape and dtype, as float64
    (a generator seeded ``seed`` unless one is given)."""
    case = f"shape ({n_in}, {n_out})"
    W = init_fn(n_in, n_out, generator or torch.Generator().manual_seed(seed))
    if not isinstance(W, torch.Tensor):
        fail(test_id, case, f"expected a torch.Tensor, got {type(W).__name__}",
              "build the matrix with torch, drawing from the generator you are given")
    if tuple(W.shape) != (n_in, n_out):
        fail(test_id, case, f"expected shape ({n_in}, {n_out}), got {tuple(W.shape)}",
              "rows index a layer's inputs and columns its outputs (activations @ W): "
              "the shape is (n_in, n_out)")
    if not W.is_floating_point():
        fail(test_id, case, f"expected a floating-point tensor, got {W.dtype}",
              "weights are real numbers: keep torch's default float32")
    return W.detach().double().cpu()


def _check_init_statistics(test_id: str, init_fn: Callable, shapes, stds: Callable,
                           mistakes: Callable, hint: str) -> int:
    """Mean 0 and a standard deviation in ``stds(n_in, n_out)`` for each shape, within
    ``STAT_Z`` standard errors; ``mistakes(n_in, n_out)`` maps a misconception to its std."""
    for index, (n_in, n_out) in enumerate(shapes):
        W = _draw_init(test_id, init_fn, n_in, n_out, seed=100 + index)
        n, accepted = W.numel(), stds(n_in, n_out)
        case = f"shape ({n_in}, {n_out})"
        mean, std = W.mean().item(), W.std().item()
        if not any(abs(std - s) <= _stat_tolerances(s, n)[1] for s in accepted):
            tol = _stat_tolerances(accepted[0], n)[1]
            known = [name for name, s in mistakes(n_in, n_out).items()
                     if abs(std - s) <= _stat_tolerances(s, n)[1]]
            expected = " or ".join(f"{s:.4g}" for s in accepted)
            fail(test_id, case, f"expected standard deviation {expected}, got {std:.4g}; "
                  f"tolerance {tol:.2g} ({STAT_Z:g} standard errors for {n} draws)",
                  f"your weights match a known mistake: {known[0]}" if known else hint)
        mean_tol = _stat_tolerances(max(accepted), n)[0]
        if not abs(mean) <= mean_tol:
            fail(test_id, case, f"expected mean 0, got {mean:.4g}; tolerance {mean_tol:.2g} "
                  f"({STAT_Z:g} standard errors for {n} draws)", "draw weights centred on 0")
    return len(shapes)


def _check_init_generator(test_id: str, init_fn: Callable, n_in: int, n_out: int) -> int:
    """Generators seeded alike give the same matrix, whatever the global random state;
    generators seeded differently give different ones; two calls with one generator give
    different ones (each call continues the generator's stream)."""
    case = f"shape ({n_in}, {n_out})"
    hint = ("draw every random number from the generator argument, e.g. "
            "torch.randn(n_in, n_out, generator=generator)")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(1)
        first = _draw_init(test_id, init_fn, n_in, n_out, seed=7)
        torch.manual_seed(2)
        again = _draw_init(test_id, init_fn, n_in, n_out, seed=7)
        other = _draw_init(test_id, init_fn, n_in, n_out, seed=8)
        generator = torch.Generator().manual_seed(9)
        twice = [_draw_init(test_id, init_fn, n_in, n_out, generator=generator) for _ in range(2)]
    if not torch.equal(first, again):
        fail(test_id, case, "two generators seeded alike gave different matrices", hint +
              "; torch.randn without generator= (or np.random) reads the global random state")
    if torch.equal(first, other):
        fail(test_id, case, "generators seeded differently gave the same matrix", hint)
    if torch.equal(*twice):
        fail(test_id, case, "two calls with one generator returned the same matrix",
              hint + ", which advances it; reseeding, or a new generator seeded from it, makes "
              "every call (every layer) return the same matrix")
    return 3


def check_init_zero__values(init_zero: Callable) -> None:
    """``init_zero(n_in, n_out, generator)`` is a float tensor of exact zeros."""
    test_id = "init_zero__values"
    shapes = [(3, 5), (64, 32), (1, 1)]
    for n_in, n_out in shapes:
        W = _draw_init(test_id, init_zero, n_in, n_out, seed=0)
        if W.count_nonzero().item():
            fail(test_id, f"shape ({n_in}, {n_out})",
                  f"expected every entry exactly 0, got {W.count_nonzero().item()} nonzero entries "
                  f"(largest |w| {W.abs().max().item():.3g})",
                  "small is not zero: torch.empty leaves whatever was in memory, and a tiny "
                  "random scale is still random")
    _passed(test_id, len(shapes))


def _small_init_mistakes(n_in: int, n_out: int) -> dict[str, float]:
    return {"std 1: the factor 0.01 is missing": 1.0,
            "std 0.0001: the factor 0.01 was applied twice": 1e-4,
            "std 0.05: that is the large scale of Task 4.3": 0.05,
            "uniform on [-0.01, 0.01] (std 0.0058) instead of 0.01 times a standard normal":
                0.01 / math.sqrt(3)}


def _large_init_mistakes(n_in: int, n_out: int) -> dict[str, float]:
    return {"std 5 instead of 0.05: N(0, 1) times 5, without the factor 0.01": 5.0,
            "std 1: the factor 0.05 is missing": 1.0,
            "std 0.01: that is the small scale of Task 4.2": 0.01,
            "std 0.224 = sqrt(0.05): 0.05 was used as the variance": math.sqrt(0.05)}


def _xavier_stds(n_in: int, n_out: int) -> list[float]:
    """N(0, 1/n_in) as asked; Glorot's 2/(n_in + n_out) (xavier_normal_, or xavier_uniform_'s
    std) is accepted too -- the two agree on square matrices."""
    return sorted({round(1 / math.sqrt(n_in), 12), round(math.sqrt(2 / (n_in + n_out)), 12)})


def _xavier_mistakes(n_in: int, n_out: int) -> dict[str, float]:
    return {"uniform with limit 1/sqrt(n_in): U(-a, a) has std a/sqrt(3), so this std is "
            "1/sqrt(3 n_in); Glorot's uniform limit is sqrt(6/(n_in + n_out))": 1 / math.sqrt(3 * n_in),
            "std 1/n_in: the variance 1/n_in was used as the standard deviation": 1 / n_in,
            "variance 2/n_in: that is He's scale (Task 4.5)": math.sqrt(2 / n_in),
            "variance 1/n_out: the fan-out instead of the fan-in": 1 / math.sqrt(n_out),
            "std 1: the factor 1/sqrt(n_in) is missing": 1.0}


def _he_mistakes(n_in: int, n_out: int) -> dict[str, float]:
    return {"variance 2/n_out: the fan-out instead of the fan-in (nn.init.kaiming_normal_ "
            "applied to an (n_in, n_out) tensor does this, because PyTorch stores a layer's "
            "weight as (out, in))": math.sqrt(2 / n_out),
            "variance 1/n_in: Xavier's scale, without ReLU's factor 2": 1 / math.sqrt(n_in),
            "std 2/n_in: the variance 2/n_in was used as the standard deviation": 2 / n_in,
            "variance 2/(n_in + n_out): Glorot's average of fan-in and fan-out":
                math.sqrt(2 / (n_in + n_out)),
            "uniform with limit sqrt(2/n_in): U(-a, a) has std a/sqrt(3)": math.sqrt(2 / (3 * n_in))}


def check_init_small__distribution(init_small: Callable) -> None:
    """Mean 0 and std 0.01 (within ``STAT_Z`` standard errors), drawn from the generator."""
    test_id = "init_small__distribution"
    n = _check_init_statistics(test_id, init_small, [(512, 256), (256, 512)],
                               lambda n_in, n_out: [0.01], _small_init_mistakes,
                               "scale standard normal draws by 0.01")
    _passed(test_id, n + _check_init_generator(test_id, init_small, 40, 30))


def check_init_large__distribution(init_large: Callable) -> None:
    """Mean 0 and std 0.05 (within ``STAT_Z`` standard errors), drawn from the generator."""
    test_id = "init_large__distribution"
    n = _check_init_statistics(test_id, init_large, [(512, 256), (256, 512)],
                               lambda n_in, n_out: [0.05], _large_init_mistakes,
                               "scale standard normal draws by 0.05")
    _passed(test_id, n + _check_init_generator(test_id, init_large, 40, 30))


def check_init_xavier__distribution(init_xavier: Callable) -> None:
    """Mean 0 and std 1/sqrt(n_in) (Glorot's sqrt(2/(n_in + n_out)) also accepted)."""
    test_id = "init_xavier__distribution"
    _passed(test_id, _check_init_statistics(
        test_id, init_xavier, [(1024, 1024), (512, 128)], _xavier_stds, _xavier_mistakes,
        "the variance of each weight is 1/n_in, so its standard deviation is 1/sqrt(n_in)"))


def check_init_xavier__generator(init_xavier: Callable) -> None:
    """The same generator seed gives the same matrix; another seed another matrix."""
    test_id = "init_xavier__generator"
    _passed(test_id, _check_init_generator(test_id, init_xavier, 50, 20))


def check_init_he__distribution(init_he: Callable) -> None:
    """Mean 0 and std sqrt(2/n_in), on square and non-square shapes (fan-in, not fan-out)."""
    test_id = "init_he__distribution"
    _passed(test_id, _check_init_statistics(
        test_id, init_he, [(1024, 1024), (800, 200), (200, 800)],
        lambda n_in, n_out: [math.sqrt(2 / n_in)], _he_mistakes,
        "the variance of each weight is 2/n_in (n_in = the layer's inputs, the rows of W)"))


def check_init_he__generator(init_he: Callable) -> None:
    """The same generator seed gives the same matrix; another seed another matrix."""
    test_id = "init_he__generator"
    _passed(test_id, _check_init_generator(test_id, init_he, 50, 20))


# Tasks 4.6 and 4.8: wrappers that re-initialize every nn.Linear weight of a network.

def _linear_layers(net: nn.Module) -> list[tuple[str, nn.Linear]]:
    """Every nn.Linear in the module tree, with its dotted name (e.g. "2.0.1")."""
    return [(name, m) for name, m in net.named_modules() if isinstance(m, nn.Linear)]


def _wrap_seeded(test_id: str, cls, net: nn.Module, criterion: nn.Module | None = None):
    """``cls(criterion, net)`` under a fixed seed (the caller's random state is kept), and
    a copy of every parameter from before the call."""
    before = {name: p.detach().clone() for name, p in net.named_parameters()}
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        model = cls(nn.BCELoss() if criterion is None else criterion, net)
    if not isinstance(getattr(model, "net", None), nn.Module):
        fail(test_id, "structure", "the wrapper has no network in .net",
              "call super().__init__(criterion, net) first: Supervise keeps the network as self.net")
    return model, before


def _check_reinit(test_id: str, cls, net: nn.Module, stds: Callable, mistakes: Callable,
                  hint: str) -> int:
    """Wrap ``net``; every nn.Linear weight must be redrawn with mean 0 and a std in
    ``stds(layer)``; biases unchanged or zero; every other parameter unchanged."""
    model, before = _wrap_seeded(test_id, cls, net)
    layers = _linear_layers(model.net)
    kept = [name for name, layer in layers
            if torch.equal(layer.weight.detach(), before.get(f"{name}.weight", torch.empty(0)))]
    if kept:
        nested = all("." in name for name in kept) and len(kept) < len(layers)
        fail(test_id, f"Linear layer net.{kept[0]}",
              f"{len(kept)} of {len(layers)} Linear weights were not re-initialized "
              f"({', '.join('net.' + k for k in kept)})",
              "only the top-level layers were re-initialized: net.children() (or looping over "
              "net) stops at the first level, net.modules() visits the whole tree" if nested else
              "re-initialize in __init__, in place, every nn.Linear found in self.net.modules()")
    for name, layer in layers:
        W = layer.weight.detach().double().cpu()
        n, accepted = W.numel(), stds(layer)
        case = f"Linear layer net.{name} ({layer.in_features} -> {layer.out_features})"
        mean, std = W.mean().item(), W.std().item()
        if not any(abs(std - s) <= _stat_tolerances(s, n)[1] for s in accepted):
            known = [k for k, s in mistakes(layer).items() if abs(std - s) <= _stat_tolerances(s, n)[1]]
            fail(test_id, case, f"expected weight std {accepted[0]:.4g}, got {std:.4g}; tolerance "
                  f"{_stat_tolerances(accepted[0], n)[1]:.2g} ({STAT_Z:g} standard errors for "
                  f"{n} weights)",
                  f"your weights match a known mistake: {known[0]}" if known else hint)
        mean_tol = _stat_tolerances(max(accepted), n)[0]
        if not abs(mean) <= mean_tol:
            fail(test_id, case, f"expected weight mean 0, got {mean:.4g}; tolerance "
                  f"{mean_tol:.2g}", hint)
        if layer.bias is not None:
            bias, old = layer.bias.detach(), before.get(f"{name}.bias")
            unchanged = old is not None and torch.equal(bias, old)
            if not unchanged and bias.count_nonzero().item():
                fail(test_id, case, "the bias changed to something other than zeros",
                      "leave biases as they are, or set them to zero; the task is about weights")
    linear_params = {f"{name}.{p}" for name, _ in layers for p in ("weight", "bias")}
    for name, p in model.net.named_parameters():
        if name not in linear_params and name in before and not torch.equal(p.detach(), before[name]):
            fail(test_id, f"parameter net.{name}",
                  "a parameter of a layer that is not nn.Linear changed",
                  "re-initialize only nn.Linear weights (check isinstance(module, nn.Linear))")
    return len(layers)


def _check_supervise_wrapper(test_id: str, cls) -> None:
    """A Supervise-like module: keeps the given network and loss, registers the network's
    parameters, computes criterion(net(x).squeeze(-1), y), and forward changes no weight."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(1)
        net = nn.Sequential(nn.Linear(6, 4), nn.ReLU(), nn.Linear(4, 1), nn.Sigmoid())
        x, y = torch.rand(5, 6), torch.rand(5)
    criterion = nn.MSELoss()
    model, _ = _wrap_seeded(test_id, cls, net, criterion)
    hint = ("subclass Supervise and call super().__init__(criterion, net) first, then "
            "re-initialize the weights of that same network in place")
    if model.net is not net:
        fail(test_id, "model.net", "model.net is not the network that was passed in", hint)
    if getattr(model, "criterion", None) is not criterion:
        fail(test_id, "model.criterion", "model.criterion is not the loss that was passed in", hint)
    if not {id(p) for p in net.parameters()} <= {id(p) for p in model.parameters()}:
        fail(test_id, "parameters", "the network's parameters are not among model.parameters()",
              hint + ", so that the optimizer sees them")
    state = {k: v.clone() for k, v in net.state_dict().items()}
    got = model(x, y)
    expect_close(test_id, "model(x, y) with MSELoss on a batch of 5",
                  criterion(net(x).squeeze(-1), y), got, 1e-6,
                  "forward(x, y) returns criterion(self.net(x).squeeze(-1), y), as Supervise does")
    if any(not torch.equal(v, net.state_dict()[k]) for k, v in state.items()):
        fail(test_id, "model(x, y)", "calling the model changed the weights",
              "re-initialize once, in __init__, not in forward")
    _passed(test_id, 4)


def _random_init_mistakes(layer: nn.Linear) -> dict[str, float]:
    return {"std 1: nn.init.normal_ without std=0.01 draws from N(0, 1)": 1.0,
            "std 0.0001: 0.01² is the variance, its standard deviation is 0.01": 1e-4,
            "std 0.1: sqrt(0.01) -- N(0, 0.01²) means standard deviation 0.01": 0.1}


def _kaiming_mistakes(layer: nn.Linear) -> dict[str, float]:
    n_in, n_out = layer.in_features, layer.out_features
    return {"mode='fan_out': the std uses the layer's outputs; Kaiming's forward-pass rule "
            "uses its inputs (mode='fan_in', the default)": math.sqrt(2 / n_out),
            "gain 1 (nonlinearity='linear' or 'sigmoid'): ReLU needs gain sqrt(2)": 1 / math.sqrt(n_in),
            "xavier_normal_: Glorot's std sqrt(2/(fan_in + fan_out))": math.sqrt(2 / (n_in + n_out))}


def _stats_net() -> nn.Sequential:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(2)
        return nn.Sequential(nn.Linear(300, 200), nn.ReLU(), nn.Linear(200, 100), nn.ReLU(),
                             nn.Linear(100, 1), nn.Sigmoid())


def _nested_net() -> nn.Sequential:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(3)
        return nn.Sequential(nn.Linear(36, 64), nn.ReLU(), nn.BatchNorm1d(64),
                             nn.Sequential(nn.Linear(64, 128), nn.ReLU(),
                                           nn.Sequential(nn.Linear(128, 64), nn.ReLU())),
                             nn.Linear(64, 1), nn.Sigmoid())


_RANDOM_HINT = "draw each nn.Linear weight from N(0, 0.01²): mean 0, standard deviation 0.01"
_KAIMING_HINT = ("nn.init.kaiming_normal_(weight, mode='fan_in', nonlinearity='relu') gives std "
                 "sqrt(2 / in_features)")


def check_supervise_random__statistics(Supervise_random_weights) -> None:
    """Every nn.Linear weight has mean 0 and std 0.01 after wrapping (biases: kept or zero)."""
    test_id = "supervise_random__statistics"
    _passed(test_id, _check_reinit(test_id, Supervise_random_weights, _stats_net(),
                                   lambda layer: [0.01], _random_init_mistakes, _RANDOM_HINT))


def check_supervise_random__whole_tree(Supervise_random_weights) -> None:
    """Linear layers inside nested containers are re-initialized too; BatchNorm is left alone."""
    test_id = "supervise_random__whole_tree"
    _passed(test_id, _check_reinit(test_id, Supervise_random_weights, _nested_net(),
                                   lambda layer: [0.01], _random_init_mistakes, _RANDOM_HINT))


def check_supervise_random__wrapper(Supervise_random_weights) -> None:
    """It is a Supervise: same network, same loss, same forward."""
    _check_supervise_wrapper("supervise_random__wrapper", Supervise_random_weights)


def _kaiming_std(layer: nn.Linear) -> list[float]:
    return [math.sqrt(2 / layer.in_features)]


def check_supervise_kaiming__statistics(Supervise_Kaiming_weights) -> None:
    """Every nn.Linear weight has mean 0 and std sqrt(2 / in_features) after wrapping."""
    test_id = "supervise_kaiming__statistics"
    _passed(test_id, _check_reinit(test_id, Supervise_Kaiming_weights, _stats_net(),
                                   _kaiming_std, _kaiming_mistakes, _KAIMING_HINT))


def check_supervise_kaiming__whole_tree(Supervise_Kaiming_weights) -> None:
    """Linear layers inside nested containers are re-initialized too; BatchNorm is left alone."""
    test_id = "supervise_kaiming__whole_tree"
    _passed(test_id, _check_reinit(test_id, Supervise_Kaiming_weights, _nested_net(),
                                   _kaiming_std, _kaiming_mistakes, _KAIMING_HINT))


def check_supervise_kaiming__wrapper(Supervise_Kaiming_weights) -> None:
    """It is a Supervise: same network, same loss, same forward."""
    _check_supervise_wrapper("supervise_kaiming__wrapper", Supervise_Kaiming_weights)


def _check_deep_narrow(test_id: str, net) -> None:
    """``net`` has the layers of Task 3.12, in order."""
    hint = ("the network of Task 3.12: six Linear layers (36 -> 32 -> ... -> 32 -> 1), ReLU "
            "between them, Sigmoid at the end")
    if not isinstance(net, nn.Module):
        fail(test_id, "type", f"expected an nn.Module, got {type(net).__name__}", hint)
    expected, got = ARCHITECTURES["3.12"], layer_signature(net)
    for position, (e, g) in enumerate(zip(expected, got), start=1):
        if e != g:
            fail(test_id, f"layer {position}", f"expected {e}, got {g}", hint)
    if len(got) != len(expected):
        fail(test_id, "length", f"expected {len(expected)} layers, got {len(got)}", hint)
    print(f"{test_id}: architecture matches ({sum(p.numel() for p in net.parameters())} parameters)")


def _check_wrapped(test_id: str, model, net, class_name: str) -> None:
    """``model`` is a ``class_name`` around ``net`` with a BCE loss."""
    hint = f"wrap the network: {class_name}(nn.BCELoss(), <your network>)"
    if not any(c.__name__ == class_name for c in type(model).__mro__):
        fail(test_id, "type", f"expected a {class_name}, got {type(model).__name__}", hint)
    if getattr(model, "net", None) is not net:
        fail(test_id, "model.net", "the wrapper does not hold the network you built", hint)
    if not isinstance(getattr(model, "criterion", None), nn.BCELoss):
        fail(test_id, "model.criterion",
              f"expected nn.BCELoss, got {type(getattr(model, 'criterion', None)).__name__}", hint)
    print(f"{test_id}: {class_name} around your network, with BCELoss")


def check_net_4_7__architecture(net_4_7) -> None:
    _check_deep_narrow("net_4_7__architecture", net_4_7)


def check_net_4_7__wrapper(model_4_7, net_4_7) -> None:
    _check_wrapped("net_4_7__wrapper", model_4_7, net_4_7, "Supervise_random_weights")


def check_net_4_9__architecture(net_4_9) -> None:
    _check_deep_narrow("net_4_9__architecture", net_4_9)


def check_net_4_9__wrapper(model_4_9, net_4_9) -> None:
    _check_wrapped("net_4_9__wrapper", model_4_9, net_4_9, "Supervise_Kaiming_weights")


# Extra credit 1: the saved model file.

#: EC1 tiers: accuracy on "hard" examples (the grader draws examples you never saw).
EC_TRANSFER_TIERS = {"accuracy_75": 0.75, "accuracy_95": 0.95}
#: EC2 tiers: share of "tiny" examples on which ``rule`` agrees with the true label.
EC_RULE_TIERS = {"agreement_90": 0.90, "agreement_99": 0.99}


def _load_ec_model_or_fail(test_id: str):
    path = Path(EC_MODEL_FILE)
    if not path.is_file():
        fail(test_id, "model file", f"there is no {EC_MODEL_FILE} in {Path.cwd()}",
              "run your EC1 cell (outside grading mode): hw2utils.save_ec_model(net) writes the "
              "file next to the notebook. Submit it with the notebook (in Colab, download it "
              "from the Files panel)")
    try:
        return load_ec_model(path)
    except Exception as err:  # a truncated upload, or a file saved some other way
        fail(test_id, "model file", f"{EC_MODEL_FILE} cannot be loaded ({type(err).__name__}: "
              f"{str(err)[:200]})",
              "save your network again with hw2utils.save_ec_model(net)")


def _ec_probabilities(test_id: str, model, data: torch.Tensor) -> torch.Tensor:
    """The model's outputs on ``data`` (N, 36), checked to be N probabilities."""
    hint = "the saved network maps (N, 36) to probabilities (N, 1): end it with a Sigmoid"
    try:
        with torch.no_grad():
            out = model(data.detach().cpu().float())
    except Exception as err:
        fail(test_id, "forward pass", f"the saved model fails on a batch (N, 36): "
              f"{type(err).__name__}: {err}", hint)
    n = data.shape[0]
    if not isinstance(out, torch.Tensor) or tuple(out.shape) not in ((n, 1), (n,)):
        fail(test_id, "forward pass", f"expected outputs of shape ({n}, 1), got "
              f"{tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__}", hint)
    out = out.reshape(-1).float()
    if not bool(torch.isfinite(out).all()) or out.min().item() < 0 or out.max().item() > 1:
        fail(test_id, "forward pass", "outputs are not probabilities in [0, 1]", hint)
    return out


def _ec_val_accuracy(test_id: str) -> float:
    data = load_dataset("hard", device="cpu")
    probabilities = _ec_probabilities(test_id, _load_ec_model_or_fail(test_id), data.val_data)
    return ((probabilities > 0.5) == data.val_labels.bool()).float().mean().item()


def check_ec_transfer__saved_model() -> None:
    """``EC_MODEL_FILE`` exists, loads, and maps a batch of grids to probabilities."""
    test_id = "ec_transfer__saved_model"
    accuracy_val = _ec_val_accuracy(test_id)
    print(f"{test_id}: {EC_MODEL_FILE} loads and outputs probabilities; "
          f"held-out (hard val) accuracy {accuracy_val:.4f}")


def _check_ec_accuracy(test_id: str, tier: str) -> None:
    threshold = EC_TRANSFER_TIERS[tier]
    accuracy_val = _ec_val_accuracy(test_id)
    if not accuracy_val >= threshold:
        fail(test_id, "hard val split", f"accuracy {accuracy_val:.4f} is below {threshold}",
              "pretrain on tiny, then fine-tune that same network on hard: keep its weights "
              "(plain Supervise, no re-initializing wrapper) and give it a fresh optimizer")
    print(f"{test_id}: held-out (hard val) accuracy {accuracy_val:.4f} >= {threshold} "
          "(the grader measures it on hard examples you have not seen)")


def check_ec_transfer__accuracy_75() -> None:
    _check_ec_accuracy("ec_transfer__accuracy_75", "accuracy_75")


def check_ec_transfer__accuracy_95() -> None:
    _check_ec_accuracy("ec_transfer__accuracy_95", "accuracy_95")


# Extra credit 2: the rule, as a function of one 6x6 grid.

class _NoNetworks:
    """Inside, calling any nn.Module fails: EC2 asks for the rule, not a trained network."""

    def __init__(self, test_id: str):
        self.test_id = test_id

    def __enter__(self):
        test_id = self.test_id
        self.original = nn.Module.__call__

        def refuse(module, *args, **kwargs):
            raise AssertionError(f"{test_id}: your rule calls a network ({type(module).__name__}); "
                                 "EC2 asks for the rule itself, written with the grid's cells")
        nn.Module.__call__ = refuse
        return self

    def __exit__(self, *exc) -> None:
        nn.Module.__call__ = self.original


def _as_label(test_id: str, answer, case: str) -> bool:
    """A rule's answer as a bool: True/False, 0/1, or a one-element tensor or array of them."""
    value = answer
    if isinstance(value, torch.Tensor) and value.numel() == 1:
        value = value.item()
    elif isinstance(value, np.ndarray) and value.size == 1:
        value = value.item()
    if isinstance(value, (bool, np.bool_)) or (
            isinstance(value, (int, float, np.integer, np.floating)) and value in (0, 1)):
        return bool(value)
    fail(test_id, case, f"rule returned {answer!r}; expected True or False",
          "rule(grid) returns one bool: True for label 1")


def _rule_agreement(test_id: str, rule: Callable, data: torch.Tensor, labels: torch.Tensor) -> float:
    """Share of examples where ``rule(6x6 grid)`` equals the label."""
    grids = data.detach().cpu().float().reshape(-1, 6, 6)
    answers = []
    with _NoNetworks(test_id):
        for index, grid in enumerate(grids):
            case = f"example {index} (grid rows {grid.int().tolist()})"
            try:
                answer = rule(grid.clone())
            except AssertionError:
                raise
            except Exception as err:
                fail(test_id, case, f"rule raised {type(err).__name__}: {err}",
                      "rule receives a 6x6 float tensor of 0. and 1.; grid[r, c] is feature 6*r + c")
            answers.append(_as_label(test_id, answer, case))
    return (torch.tensor(answers) == labels.detach().cpu().bool()).float().mean().item()


def _check_ec_rule(test_id: str, rule: Callable, tier: str) -> None:
    threshold = EC_RULE_TIERS[tier]
    data = load_dataset("tiny", device="cpu")
    agreement = _rule_agreement(test_id, rule, data.val_data, data.val_labels)
    if not agreement >= threshold:
        fail(test_id, "tiny val split", f"rule agrees with {agreement:.4f} of the labels, below "
              f"{threshold}", "compare your rule's answers with the labels where they disagree")
    print(f"{test_id}: rule agrees with {agreement:.4f} of the tiny val labels (>= {threshold}); "
          "the grader uses examples you have not seen")


def check_ec_rule__agreement_90(rule: Callable) -> None:
    _check_ec_rule("ec_rule__agreement_90", rule, "agreement_90")


def check_ec_rule__agreement_99(rule: Callable) -> None:
    _check_ec_rule("ec_rule__agreement_99", rule, "agreement_99")
# end of Part 4 checks

