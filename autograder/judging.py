"""Judging: a verdict for each test cell, from the data its probe returned.

Runs in the trusted grader only, never in a process that ran student code. The data comes
from the sandbox and is untrusted: it is read as plain data (``hw2probes.from_bytes``), and a
judge that cannot make sense of it fails the cell and says the data was malformed.

    judge(part, check, literals, data) -> Verdict

``check`` is the aspect a source notebook's test cell calls (``_hidden.check_<check>(...)``),
found in the registry of declared aspects (``autograder.aspects``, filled by
``autograder.checks``); ``literals`` are that call's constant arguments, read from the trusted
source notebook (e.g. the task "3.1" of ``check_architecture("3.1", net_3_1)``).
"""

from __future__ import annotations

from autograder import checks
from autograder.aspects import Context, Verdict


def judge(
    part: str, check: str, literals: tuple[object, ...], data: object, context: Context = Context()
) -> Verdict:
    """The verdict on one test cell (``Aspect.verdict``). ``data`` is None when the cell never ran."""
    return checks.find(part, check).verdict(literals, data, context)
