"""Hidden reference checks: the graded aspects, one per kind of nbgrader test cell.

The notebooks' hidden tests are one-line calls of these aspects (``check_<name>`` of part1 ...
part4 and extra_credit), so that feedback shows the call and the diagnostic, never a reference
solution. An aspect is declared once (``autograder.aspects``): shipped, in ``hw2checks.<part>``
(its probe and comparison, which the visible check runs too), with the grader's hidden extras
attached in its part's module here (``extend``); or, where nothing may ship (the extra credit),
here alone, its judge decorated with its probe. The probe runs in the sandbox, the comparison in
the grader's process, on the data the probe saved. A failing judge raises AssertionError naming
the task, the case, expected vs got, the tolerance and the likely misconception.

Importing this package imports every part's module (which extends or declares its aspects),
then registers the shipped aspects no module extended; ``find`` is the registry's one reader.
"""

from __future__ import annotations

from autograder.aspects import REGISTRY, Aspect, declare_shipped
from autograder.checks import extra_credit, part1, part2, part3, part4  # noqa: F401  (they declare the aspects)
from hw2probes import PARTS

for _part in PARTS:  # after the judges' modules: the shipped aspects they did not extend
    declare_shipped(_part)


def find(part: str, name: str) -> Aspect:
    """The aspect ``check_<name>`` of ``autograder.checks.<part>`` (ValueError if none is declared)."""
    try:
        return REGISTRY[(part, name)]
    except KeyError:
        raise ValueError(f"no graded aspect check_{name} in autograder.checks.{part}") from None


def every() -> list[Aspect]:
    """Every declared aspect, in the order the modules declare them."""
    return list(REGISTRY.values())
