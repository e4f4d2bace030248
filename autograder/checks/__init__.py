"""Hidden reference checks: the graded aspects, one per kind of nbgrader test cell.

The notebooks' hidden tests are one-line calls of these aspects (``check_<name>`` of part1 ...
part4 and extra_credit), so that feedback shows the call and the diagnostic, never a reference
solution. Each aspect is declared once, in its part's module, as its judge decorated with its
probe (``autograder.aspects.aspect``): the probe runs in the sandbox (``hw2probes``), the judge
here, in the grader's process, on the data the probe saved. A failing judge raises
AssertionError naming the task, the case, expected vs got, the tolerance and the likely
misconception. Judges build on the kit's own ``hw2checks`` (the grader's copy, which no
submission reaches): its toolkit (tolerance, comparison, failure report) and the facts the
visible checks state (architectures, tiers); what they add is hidden on purpose (fresh cases,
references, catalogues of named mistakes, CUDA runs).

Importing this package imports every part's module, which declares its aspects; ``find`` is
the registry's one reader.
"""

from __future__ import annotations

from autograder.aspects import REGISTRY, Aspect
from autograder.checks import extra_credit, part1, part2, part3, part4  # noqa: F401  (they declare the aspects)


def find(part: str, name: str) -> Aspect:
    """The aspect ``check_<name>`` of ``autograder.checks.<part>`` (ValueError if none is declared)."""
    try:
        return REGISTRY[(part, name)]
    except KeyError:
        raise ValueError(f"no graded aspect check_{name} in autograder.checks.{part}") from None


def every() -> list[Aspect]:
    """Every declared aspect, in the order the modules declare them."""
    return list(REGISTRY.values())
