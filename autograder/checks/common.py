"""Comparison and diagnosis helpers shared by the judges (the trusted half of each hidden check);
the input makers they share with the probes live in ``hw2probes.common``."""
from __future__ import annotations

import math
from typing import Callable, Mapping

import torch

import hw2utils
from hw2probes.common import devices, quartic_loss  # noqa: F401 (the judges rebuild inputs with these)


class Malformed(AssertionError):
    """Data a probe never returns: the judge fails the cell, and the grader flags the student
    (a check made to return something else)."""


def malformed(test_id: str, what: str):
    raise Malformed(f"{test_id}: the data your notebook returned for this check is not what "
                    f"the check produces ({what}); was the check tampered with?")


def expect_data(test_id: str, ok: bool, what: str) -> None:
    """Fail as ``malformed`` unless the probe's data has the expected form (``ok``)."""
    if not ok:
        malformed(test_id, what)


def is_str_list(value) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def is_tensor_list(value, length: int | None = None) -> bool:
    return (isinstance(value, list) and all(isinstance(v, torch.Tensor) for v in value)
            and (length is None or len(value) == length))


def fail(test_id: str, case: str, detail: str, hint: str):
    raise AssertionError(f"{test_id}, case {case}: {detail}\nHint: {hint}")


def show(t: torch.Tensor, start: int = 0, digits: int = 6) -> str:
    """Up to 6 values from flat index ``start`` on, to ``digits`` significant digits."""
    t = t.detach().double().cpu()
    if t.dim() == 0:
        return f"{t.item():.{digits}g}"
    values = ", ".join(f"{v:.{digits}g}" for v in t.flatten()[start:start + 6].tolist())
    return f"[{'..., ' if start else ''}{values}{', ...' if t.numel() > start + 6 else ''}]"


def show_pair(expected, got, most_digits: int = 17) -> tuple[str, str]:
    """``expected`` and ``got`` as a diagnostic prints them: the values around the element where
    they differ most, with as many significant digits (6 to ``most_digits``) as it takes to print
    differently."""
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


def float64(values) -> torch.Tensor:
    """A float64 CPU copy; Python numbers go straight to float64 (not through float32)."""
    if isinstance(values, torch.Tensor):
        return values.detach().double().cpu()
    return torch.as_tensor(values, dtype=torch.float64)


def max_diff(expected, got) -> float:
    """max |got - expected| in float64 on the CPU (inf when shapes differ or values are NaN)."""
    expected, got = float64(expected), float64(got)
    if got.shape != expected.shape:
        return math.inf
    diff = (got - expected).abs().max().item() if got.numel() else 0.0
    return diff if math.isfinite(diff) else math.inf


# RELATIVE_TOLERANCE (by dtype, relative to 1 + max |expected|) has one home, the kit's own
# hw2utils, whose visible checks apply the same rule; why each value is what it is is said there.
RELATIVE_TOLERANCE = hw2utils.RELATIVE_TOLERANCE


def _dtype(value):
    if isinstance(value, torch.dtype):
        return value
    if isinstance(value, torch.Tensor):
        return value.dtype
    return torch.float64 if isinstance(value, (int, float, list, tuple)) else None


def tolerance(expected, *involved) -> float:
    """The tolerance of comparing a result with ``expected``: RELATIVE_TOLERANCE of the least
    precise floating dtype among ``expected`` and ``involved`` (tensors or dtypes: the inputs,
    the student's result), times 1 + max |expected|. A dtype less precise than float32 gets
    float32's."""
    dtypes = [d for d in map(_dtype, (expected, *involved)) if d is not None and d.is_floating_point]
    relative = max(RELATIVE_TOLERANCE.get(d, RELATIVE_TOLERANCE[torch.float32]) for d in dtypes)
    size = float64(expected).abs().max().item() if float64(expected).numel() else 0.0
    return relative * (1 + (size if math.isfinite(size) else 0.0))


def expect_close(test_id: str, case: str, expected, got, tol: float, hint: str,
                 mistakes: Mapping[str, object] | None = None) -> None:
    """Fail unless max |got - expected| <= tol. ``mistakes`` maps a misconception's
    description to what it would produce; when ``got`` matches one, the message names it."""
    try:
        got = float64(got)
    except (TypeError, ValueError, RuntimeError):
        fail(test_id, case, f"expected a tensor or number, got {type(got).__name__}", hint)
    expected = float64(expected)
    if tuple(got.shape) != tuple(expected.shape):
        fail(test_id, case, f"expected shape {tuple(expected.shape)}, got {tuple(got.shape)}", hint)
    diff = max_diff(expected, got)
    if diff <= tol:
        return
    for description, produced in (mistakes or {}).items():
        if max_diff(produced, got) <= tol:
            hint = f"your result matches a known mistake: {description}"
            break
    shown = show_pair(expected, got)
    fail(test_id, case, f"expected {shown[0]}, got {shown[1]}; max |diff| {diff:.2e} > "
         f"tolerance {tol:.2g}", hint)


def expect_path(test_id: str, case: str, expected, got, tol: float, hint: str,
                mistakes: Callable[[], Mapping[str, object]] | None = None, what: str = "expected",
                nonfinite_hint: str | None = None) -> None:
    """Fail when ``got`` leaves ``expected`` (paths: the values after each step, (steps, n)) by
    more than ``tol``. The message shows the first step where they differ visibly (printed to 6
    digits), and when an earlier step is beyond ``tol``, says which; it names a mistake whose whole
    path ``got`` follows (``mistakes()``, computed only then). ``what`` says what ``expected`` is."""
    diffs = [max_diff(e, g) for e, g in zip(expected, got)]
    beyond = [step for step, diff in enumerate(diffs) if diff > tol]
    if not beyond:
        return
    first = beyond[0]
    visible = [step for step in beyond if len(set(show_pair(expected[step], got[step], most_digits=6))) == 2]
    shown_step = visible[0] if visible else first
    if not bool(torch.isfinite(float64(got[first])).all()):
        shown_step = first
        hint = nonfinite_hint or hint
    for description, produced in (mistakes() if mistakes else {}).items():
        if max_diff(produced, got) <= tol:
            hint = f"your result matches a known mistake: {description}"
            break
    shown = show_pair(expected[shown_step], got[shown_step])
    earlier = (f" (the two first differ by more than the tolerance after step {first + 1}, by "
               f"{diffs[first]:.2e})" if shown_step != first else "")
    fail(test_id, f"{case}, after step {shown_step + 1}",
         f"{what} {shown[0]}, got {shown[1]}; max |diff| {diffs[shown_step]:.2e} > tolerance "
         f"{tol:.2g}{earlier}", hint)


def passed(test_id: str, n_cases: int) -> str:
    """The success line a judge returns."""
    return f"{test_id}: {n_cases}/{n_cases} hidden cases passed"


def delegation_message(test_id: str, optimizer_name: str) -> str:
    return (f"{test_id}: your optimizer creates a torch.optim.{optimizer_name}; "
            "the task is to write the update yourself, with tensor operations")


ZERO_GRAD_HINT = ("store list(parameters) in __init__ (a generator can be read only once) and "
                  "set p.grad = None for each")


def _zero_grad_rounds(test_id: str, data, key: str):
    """A path of ``hw2probes.common.exercise_zero_grad`` ((rounds, n) float64), or what it raised (str)."""
    rounds = data.get(key)
    if isinstance(rounds, dict):
        expect_data(test_id, isinstance(rounds.get("raised"), str), f"what the rounds {key} raised")
        return rounds["raised"]
    expect_data(test_id, isinstance(rounds, torch.Tensor) and rounds.dim() == 2
                and rounds.dtype == torch.float64, f"the rounds {key} zero_grad()")
    return rounds


def zero_grad_verdict(test_id: str, data, n_params: int, keeps: str) -> str:
    """zero_grad() (``hw2probes.common.exercise_zero_grad``'s data) raises nothing before or after
    backward(), leaves no gradient, and changes nothing else: the rounds with it end where
    those with the gradients cleared by hand do. ``keeps``: what zero_grad() must leave alone."""
    expect_data(test_id, isinstance(data, dict), "expected a dict")
    if "raised" in data:
        expect_data(test_id, isinstance(data["raised"], str) and data.get("when") in
                    ("before any backward()", "after backward()"), "what zero_grad() raised")
        hint = ZERO_GRAD_HINT + "; the stored list is used as it is: self.parameters, not self.parameters()"
        if "NoneType" in data["raised"]:
            hint = ("until the first backward() every p.grad is None, and a training loop calls "
                    "zero_grad() first (this notebook's does): set p.grad = None, which works either "
                    "way, or skip a p whose p.grad is None")
        fail(test_id, f"zero_grad() {data['when']}", f"zero_grad() raised {data['raised']}", hint)
    grads = data.get("grads")
    expect_data(test_id, isinstance(grads, list) and len(grads) == n_params
                and all(g is None or isinstance(g, torch.Tensor) for g in grads), "the gradients")
    for index, grad in enumerate(grads):
        if grad is not None and bool((float64(grad) != 0).any()):
            fail(test_id, f"parameter {index} of {len(grads)}", "zero_grad() left its gradient",
                 ZERO_GRAD_HINT)
    with_it, by_hand = _zero_grad_rounds(test_id, data, "with"), _zero_grad_rounds(test_id, data, "without")
    if isinstance(by_hand, str) or not bool(torch.isfinite(by_hand).all()):
        return passed(test_id, 2)  # step() itself fails: that is for the other checks to say
    case = "rounds of zero_grad(), backward(), step()"
    hint = f"zero_grad() only clears the gradients: it must leave {keeps} as they are"
    if isinstance(with_it, str):
        fail(test_id, case, f"with zero_grad() they raised {with_it}, and not with p.grad = None in its "
             "place", hint)
    expect_data(test_id, with_it.shape == by_hand.shape, "rounds of the same shape")
    expect_path(test_id, case, by_hand, with_it, tolerance(by_hand), hint,
                what="expected what the same rounds do with p.grad = None in place of zero_grad(),")
    return passed(test_id, 3)


def global_variable_hint(leaked: list[str]) -> str | None:
    """A hint naming the global variables a student's class reads (``hw2probes.common.globals_read``,
    run by the probe) instead of its constructor's values, or None."""
    if not leaked:
        return None
    listed = ", ".join(leaked)
    return (f"your class reads the global variable{'s' if len(leaked) > 1 else ''} {listed} instead of "
            f"the value given to its constructor (self.{leaked[0]}): it works only while the notebook's "
            f"global happens to hold that value, and these checks pass other values")
