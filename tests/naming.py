"""The one rule for naming a known mistake (hw2checks.known_mistake), tried on a catalogue: a
mistake is named when a result follows it where it differs from the correct answer, and never for
a result that shares the correct answer wherever the mistake does (eps inside the square root at
eps = 1e-8 after one step of Adam; beta1 for both moments, right at step 1) but not its path."""

from __future__ import annotations

import torch

from hw2checks.toolkit import float64, max_diff, named_mistake

HINT = "the generic hint"


def _steps(produced: torch.Tensor, expected: torch.Tensor) -> int | None:
    """How many steps of ``expected`` a mistake given for its first steps only covers (None: all)."""
    return (
        len(produced)
        if produced.dim() and expected.dim() and len(produced) < len(expected)
        else None
    )


def sharing_answer(produced, expected, tol: float) -> torch.Tensor:
    """A wrong answer equal to ``expected`` at each step (row) where the mistake ``produced`` is within
    ``tol`` of it, and the mistake reflected through ``expected`` (as far from both) where it is not;
    where it never is, the last step is moved by 10 tol instead, so that the answer is wrong anyway."""
    produced, expected = float64(produced), float64(expected)
    got = expected.clone()
    steps = _steps(produced, expected) or (len(expected) if expected.dim() else None)
    moved = False
    if steps is None:
        if max_diff(produced, expected) > tol:
            got, moved = 2 * expected - produced, True
    else:
        for step in range(steps):
            if max_diff(produced[step], expected[step]) > tol:
                got[step], moved = 2 * expected[step] - produced[step], True
    if not moved:
        got = got + 10 * tol if not got.dim() else torch.cat([got[:-1], got[-1:] + 10 * tol])
    return got


def following_answer(produced, expected) -> torch.Tensor:
    """The mistake's own result, the correct one after the steps it is given for."""
    produced, expected = float64(produced), float64(expected)
    steps = _steps(produced, expected)
    return produced if steps is None else torch.cat([produced, expected[steps:]])


def told_apart(produced, expected, tol: float) -> bool:
    produced, expected = float64(produced), float64(expected)
    steps = _steps(produced, expected)
    return max_diff(produced, expected[:steps] if steps else expected) > 2 * tol


def check_catalogue(mistakes: dict, expected, tol: float) -> list[str]:
    """Assert the rule for each entry of ``mistakes`` against the correct ``expected``; the names
    told apart from it on this case (to check that a case exercises something)."""
    apart = []
    for name, produced in mistakes.items():
        shares = sharing_answer(produced, expected, tol)
        assert name not in named_mistake(HINT, {name: produced}, shares, tol, expected), name
        said = named_mistake(
            HINT, {name: produced}, following_answer(produced, expected), tol, expected
        )
        if told_apart(produced, expected, tol):
            apart.append(name)
            assert name in said, (name, said)
        else:
            assert said == HINT, (name, "named although the correct answer matches it too")
    return apart
