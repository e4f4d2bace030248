"""A graded aspect, declared once and shipped: its probe and its comparison.

    @aspect(probe=paths_on_bowls)
    def check_gd_loop__matches_reference(data, hidden=NO_HIDDEN) -> int:
        ...  # rebuild the cases, compute the reference, compare; return how many cases passed

- the probe, ``probe(*answers) -> plain data``, runs your answer on the aspect's cases, drawn with
  ``hw2checks.runs.case_seed``: the public cases outside grading, fresh ones of the same kind while
  grading. It holds no expected value and no reference;
- the comparison (the decorated function), ``compare(data, *literals, hidden=...) -> cases
  passed``, draws the same cases again, computes the reference and compares, raising CheckFailed
  (a verdict) or Malformed (data no probe returns). Where only the grader can compare (a number
  read off a printout: the true value is the answer), it checks the form and returns the line
  that says so instead of a count;
- ``hw2checks.check_<name>(answer)``, the visible check, is the two in a row.

A probe may be ``given`` what it needs of another task's answer (Adam's probes, ``ema_update``):
keyword arguments that the grader's sandbox supplies with the reference (``hw2probes.given.GIVEN``),
so that a wrong answer to that task costs only its own points. The visible check gives none (the
probe uses your own), and where it fails while your answer to that task fails too, ``not_yet``
says so instead of failing.

The grader runs the same probe in its sandbox and the same comparison in its own process, on the
run's cases; through ``hidden`` it adds extras that must not ship (mistakes simulated by code that
would give an answer away), which ``autograder.aspects.extend`` attaches. Of a call's arguments,
the first ``literals`` are constants of the check cell (the task "3.1" of ``check_architecture``),
handed to the comparison too.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from hw2checks.toolkit import CheckFailed, print_passed

#: What the grader adds to a comparison: {what: a function of its own}, empty here.
Hidden = Mapping[str, Callable[..., Any]]
NO_HIDDEN: Hidden = MappingProxyType({})


class Judged(str):
    """A success line a hidden extra writes whole, from what only the grader has (a wrapping
    judged from the answer cell's code): the grader's verdict, where a comparison's plain line
    is only what the visible check could say."""


@dataclass(frozen=True)
class Aspect:
    """One graded aspect: ``probe(*answers) -> data``, then ``compare(data, *literals, hidden)``."""

    part: str  # the module hw2checks.<part> (and the grader's judges of that part)
    name: str  # the test id: the check cell's call is check_<name>
    probe: Callable[..., Any]
    compare: Callable[..., int | str] = field(repr=False)
    literals: int = 0  # how many leading arguments of the call are the comparison's constants
    #: The test cell's id from the call's literals (net_3_1__architecture for task "3.1"), for
    #: the success line; None: the aspect's name.
    test_id: Callable[..., str] | None = None
    #: Keyword arguments of the probe that the grader's sandbox supplies (hw2probes.given.GIVEN):
    #: another task's reference, so that a wrong answer there costs only that task's points.
    given: tuple[str, ...] = ()
    #: The visible check's reason not to judge yet, from the answers, asked after a failure (your
    #: answer to a task in ``given`` fails its own checks); None: the failure stands.
    not_yet: Callable[..., str | None] | None = None

    def named(self, *literals: Any) -> str:
        """What the success line names: the test cell's id."""
        return self.test_id(*literals) if self.test_id else self.name

    def __call__(self, *answers: Any) -> None:
        """The visible check: your answer on the public cases; prints one line when they pass,
        raises AssertionError with the case, expected vs got and a hint when one does not."""
        try:
            data = self.probe(*answers)
            passed = self.compare(data, *answers[: self.literals])
        except CheckFailed as verdict:
            if not self._excused(answers):  # the check failed: its message is below
                raise AssertionError(str(verdict)) from None
            return
        except Exception:
            if not self._excused(answers):
                raise  # your code's error, with its traceback
            return
        if isinstance(passed, str):  # what the check could say without the grader's answer
            print(passed)
        else:
            print_passed(self.named(*answers[: self.literals]), passed)

    def _excused(self, answers: tuple[Any, ...]) -> bool:
        """Print why the check cannot judge the answers yet, if ``not_yet`` says so."""
        reason = self.not_yet(*answers) if self.not_yet is not None else None
        if reason is not None:
            print(f"{self.named(*answers[: self.literals])}: not checked yet: {reason}")
        return reason is not None


def aspect(
    probe: Callable[..., Any],
    literals: int = 0,
    test_id: Callable[..., str] | None = None,
    given: tuple[str, ...] = (),
    not_yet: Callable[..., str | None] | None = None,
) -> Callable[[Callable[..., int | str]], Aspect]:
    """Declare the decorated comparison ``check_<name>`` of ``hw2checks.<part>`` as a graded
    aspect whose probe is ``probe`` (a function of the same module); ``test_id(*literals)`` names
    the test cell in the success line where one aspect serves several cells; ``given`` and
    ``not_yet``: see Aspect."""

    def declare(compare: Callable[..., int | str]) -> Aspect:
        package, _, part = compare.__module__.rpartition(".")
        if package != "hw2checks" or not compare.__name__.startswith("check_"):
            raise ValueError(f"an aspect is a function check_<name> of hw2checks.<part>: {compare}")
        if probe.__module__ != compare.__module__:
            raise ValueError(f"{compare.__name__}: its probe must live in {compare.__module__}")
        name = compare.__name__.removeprefix("check_")
        return Aspect(part, name, probe, compare, literals, test_id, given, not_yet)

    return declare
