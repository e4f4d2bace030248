"""What shipped probes are given in the grader's isolated run, and never ship: Task 2.2's EMA.

Adam's probes (``hw2checks.part2``) run the student's ADAMOptimizer with the EMA below in place of
the student's ``ema_update`` (``given=("ema_update",)`` in their declarations; ``hw2probes.supplied``
hands them ``GIVEN``), so that a wrong ``ema_update`` costs only the EMA's points. The formula is
Task 2.2's answer: this module is copied only into the isolated run's folder
(``autograder.execution``), whose jobs are the policed answers and write only their own test
cells' data; the notebook run, where the EMA's own checks are probed, has no copy to import.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def _reference_ema_update(x_t: Any, beta: float, t: int, ema_star_old: Any) -> tuple[Any, Any]:
    """The formula stated in Task 2.2's text: EMA*_t = beta EMA*_{t-1} + (1 - beta) x_t and
    EMA_t = EMA*_t / (1 - beta^t), t counted from 1."""
    ema_star_t = beta * ema_star_old + (1 - beta) * x_t
    return ema_star_t / (1 - beta**t), ema_star_t


#: What a shipped probe of this part is given, by the name its declaration gives (Aspect.given).
GIVEN: dict[str, Callable[..., Any]] = {"ema_update": _reference_ema_update}
