"""What the judges (the trusted half of each hidden check) add to the shipped checks' toolkit:
the grader's success line. The judges take the toolkit (tolerance, comparison, failure report,
malformed probe data) and the input makers they share with the probes from the kit's own
``hw2checks`` (which no submission reaches in the grader): one home, and a student reads the same
messages from the visible and the hidden checks."""

from __future__ import annotations

from typing import Any

from hw2checks.part1 import zero_grad_cases


def passed(test_id: str, n_cases: int) -> str:
    """The success line a judge returns."""
    return f"{test_id}: {n_cases}/{n_cases} hidden cases passed"


def zero_grad_verdict(test_id: str, data: Any, n_params: int, keeps: str) -> str:
    """``hw2checks.part1.zero_grad_cases``' verdict as a judge's success line."""
    return passed(test_id, zero_grad_cases(test_id, data, n_params, keeps))
