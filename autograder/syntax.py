"""``ast.parse`` for the grader's threads.

CPython 3.11 keeps the AST converter's recursion depth per interpreter, not per thread: two
workers parsing at once (a batch's ``--jobs``) can fail with ``SystemError: AST constructor
recursion depth mismatch`` (seen in threaded programs: CPython gh-106905, pytest-dev/pytest
#10763), and that student's grading crashes. Seen once in
the cheating corpus, while one worker parsed a deeply nested submission. One lock serializes
the parses; each is of a bounded cell, milliseconds.
"""

from __future__ import annotations

import ast
import threading

_PARSING = threading.Lock()


def parse(source: str) -> ast.Module:
    """``ast.parse(source)``, one thread at a time."""
    with _PARSING:
        return ast.parse(source)
