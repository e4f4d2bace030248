"""The toolkit every check shares, visible or hidden: how a result is compared with the
reference (``tolerance``, ``expect_close``, ``expect_path``), shown (``show_pair``) and reported
(``fail``, ``CheckFailed``), and how a known mistake is named (``known_mistake``)."""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NoReturn, ParamSpec, TypeVar

import torch

#: How far a result may be from the reference, relative to 1 + max |expected|, by the least precise
#: floating dtype of what is compared (the inputs, your result). float64 leaves room for a setting
#: such as lr held as a tensor of torch's default dtype (torch.tensor(0.1) is float32, rounded to
#: 2^-24 of its value); float32 for its own rounding. Every check, visible or hidden, applies it.
RELATIVE_TOLERANCE = {torch.float64: 1e-6, torch.float32: 1e-5}

P = ParamSpec("P")
T = TypeVar("T")


class CheckFailed(AssertionError):
    """A check's verdict on your answer (raised by ``fail``), not an error in your code."""


class Malformed(AssertionError):
    """Data a probe never returns (raised by ``malformed``): the check fails, and the grader flags
    the submission (a check made to return something else)."""


def fail(test_id: str, case: str, detail: str, hint: str) -> NoReturn:
    raise CheckFailed(f"{test_id}, case {case}: {detail}\nHint: {hint}")


def student_facing(check: Callable[P, T]) -> Callable[P, T]:
    """A visible check whose verdict shows as your call and the message: the toolkit's frames
    under it are dropped (an error raised by your own code keeps its full traceback)."""

    @functools.wraps(check)
    def run(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return check(*args, **kwargs)
        except CheckFailed as verdict:
            raise AssertionError(str(verdict)) from None  # the check failed: its message is below

    return run


def float64(values: Any) -> torch.Tensor:
    """A float64 CPU copy; Python numbers go straight to float64 (not through float32)."""
    if isinstance(values, torch.Tensor):
        return values.detach().double().cpu()
    return torch.as_tensor(values, dtype=torch.float64)


def _dtype(value: object) -> torch.dtype | None:
    if isinstance(value, torch.dtype):
        return value
    if isinstance(value, torch.Tensor):
        return value.dtype
    return torch.float64 if isinstance(value, (int, float, list, tuple)) else None


def tolerance(expected: Any, *involved: object) -> float:
    """RELATIVE_TOLERANCE of the least precise floating dtype among ``expected`` and ``involved``
    (tensors or dtypes: the inputs, the result; Python numbers count as float64), times
    1 + max |expected|. A dtype less precise than float32 gets float32's."""
    dtypes = [
        d for d in map(_dtype, (expected, *involved)) if d is not None and d.is_floating_point
    ]
    relative = max(RELATIVE_TOLERANCE.get(d, RELATIVE_TOLERANCE[torch.float32]) for d in dtypes)
    size = float64(expected).abs().max().item() if float64(expected).numel() else 0.0
    return relative * (1 + (size if math.isfinite(size) else 0.0))


def max_diff(expected: Any, got: Any) -> float:
    """max |got - expected| in float64 on the CPU (inf when the shapes differ or a value is not finite)."""
    expected, got = float64(expected), float64(got)
    if got.shape != expected.shape:
        return math.inf
    diff = (got - expected).abs().max().item() if got.numel() else 0.0
    return diff if math.isfinite(diff) else math.inf


def show(t: Any, start: int = 0, digits: int = 6) -> str:
    """Up to 6 values from flat index ``start`` on, to ``digits`` significant digits."""
    t = float64(t)
    if not t.dim():
        return f"{t.item():.{digits}g}"
    text = ", ".join(f"{v:.{digits}g}" for v in t.flatten()[start : start + 6].tolist())
    return f"[{'..., ' if start else ''}{text}{', ...' if t.numel() > start + 6 else ''}]"


def show_pair(expected: Any, got: Any, most_digits: int = 17) -> tuple[str, str]:
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
    mistakes: Mapping[str, Any] | None,
    got: Any,
    correct: Sequence[Any],
    distance: Callable[[Any, Any], float],
    slack: Callable[[Any], float],
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
    hint: str, mistakes: Mapping[str, object] | None, got: Any, tol: float, expected: Any
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
    expected: Any,
    got: Any,
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
    expected: Any,
    got: Any,
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


def print_passed(test_id: str, n_cases: int) -> None:
    print(f"{test_id}: {n_cases}/{n_cases} cases passed")


# What a probe hands the comparison ------------------------------------------------------


def malformed(test_id: str, what: str) -> NoReturn:
    raise Malformed(
        f"{test_id}: the data your notebook returned for this check is not what "
        f"the check produces ({what}); was the check tampered with?"
    )


def expect_data(test_id: str, ok: bool, what: str) -> None:
    """Fail as ``malformed`` unless the probe's data has the expected form (``ok``)."""
    if not ok:
        malformed(test_id, what)


def is_str_list(value: object) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def is_tensor_list(value: object, length: int | None = None) -> bool:
    return (
        isinstance(value, list)
        and all(isinstance(v, torch.Tensor) for v in value)
        and (length is None or len(value) == length)
    )


def delegation_message(test_id: str, optimizer_name: str) -> str:
    return (
        f"{test_id}: your optimizer creates a torch.optim.{optimizer_name}; "
        "the task is to write the update yourself, with tensor operations"
    )


def global_variable_hint(leaked: list[str]) -> str | None:
    """A hint naming the global variables a student's class reads (``hw2checks.probing.globals_read``,
    run by the probe) instead of its constructor's values, or None."""
    if not leaked:
        return None
    listed = ", ".join(leaked)
    return (
        f"your class reads the global variable{'s' if len(leaked) > 1 else ''} {listed} instead of "
        f"the value given to its constructor (self.{leaked[0]}): it works only while the notebook's "
        f"global happens to hold that value, and these checks pass other values"
    )
