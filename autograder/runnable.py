"""What the sandbox runs: a submitted notebook with a probe call in place of each test cell.

The source notebook's test cells hold one hidden line,
``import autograder.checks.<part> as _hidden; _hidden.check_<check>(<args>)``. It names the
graded aspect that decides the cell (``autograder.checks.find(part, check)``: its probe runs in
the sandbox, its judge in the grader), which student objects the probe exercises (the arguments
that are names) and which constants the judge gets (the arguments that are literals). Only the
grader reads it, from the trusted source notebook; the student's copy of a test cell is never run.
"""

from __future__ import annotations

import ast
import copy
import re
from collections.abc import Collection
from dataclasses import dataclass

from autograder import checks, syntax
from autograder.delegation import Cell, Notebook

_HIDDEN = re.compile(r"### BEGIN HIDDEN TESTS\n(?P<code>.*?)### END HIDDEN TESTS", re.S)


@dataclass(frozen=True)
class HiddenCall:
    part: str  # hw2probes.PARTS
    check: str  # the aspect check_<check> of autograder.checks.<part>
    arguments: str  # the call's arguments as source text, evaluated in the student's kernel
    literals: tuple[object, ...]  # the call's constant arguments, for the judge
    probe: str  # the aspect's probe as the sandbox names it (hw2probes.probe_named)


def source_text(cell: Cell) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


def hidden_call(cell: Cell) -> HiddenCall:
    """The judge and probe of a source notebook's test cell (ValueError if it has none)."""
    match = _HIDDEN.search(source_text(cell))
    if not match:
        raise ValueError("test cell without a hidden block")
    module = syntax.parse(match.group("code"))
    imports = [n for n in module.body if isinstance(n, ast.Import)]
    calls = [
        n.value for n in module.body if isinstance(n, ast.Expr) and isinstance(n.value, ast.Call)
    ]
    if len(imports) != 1 or len(calls) != 1:
        raise ValueError("a hidden block is one import and one call")
    part = imports[0].names[0].name.removeprefix("autograder.checks.")
    name = calls[0].func.attr if isinstance(calls[0].func, ast.Attribute) else ""
    if not name.startswith("check_"):
        raise ValueError(f"unexpected hidden block: {match.group('code')!r}")
    aspect = checks.find(part, name.removeprefix("check_"))
    args = calls[0].args
    literals = tuple(a.value for a in args[: aspect.literals] if isinstance(a, ast.Constant))
    if len(literals) != aspect.literals:
        raise ValueError(
            f"check_{aspect.name} takes {aspect.literals} constant argument(s) first: "
            f"{match.group('code')!r}"
        )
    return HiddenCall(
        part, aspect.name, ", ".join(ast.unparse(a) for a in args), literals, aspect.probe_ref
    )


def argument_names(call: HiddenCall) -> set[str]:
    """The student's names a hidden call hands its probe (``descend``)."""
    return {
        n.id for n in ast.walk(syntax.parse(call.arguments or "None")) if isinstance(n, ast.Name)
    }


def hidden_calls(source_nb: Notebook) -> dict[str, HiddenCall]:
    """{test cell grade id: its hidden call} for a source notebook."""
    calls = {}
    for cell in source_nb["cells"]:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if meta.get("grade") and not meta.get("solution") and cell.get("cell_type") == "code":
            calls[meta["grade_id"]] = hidden_call(cell)
    return calls


def probe_source(grade_id: str, call: HiddenCall) -> str:
    """A test cell's body in the sandbox: run the probe on the student's objects, save its data."""
    return (
        f"# grading: {grade_id} (the grader judges what this cell records)\n"
        f"__import__('hw2probes').record({grade_id!r}, {call.probe!r}, "
        f"lambda: ({call.arguments}{',' if call.arguments else ''}))"
    )


def isolated_source(grade_id: str) -> str:
    """A policed test cell's body in the notebook run: its probe runs elsewhere."""
    return f"__import__('hw2probes').reached({grade_id!r})"


def with_probes(
    notebook: Notebook,
    calls: dict[str, HiddenCall],
    skipped: Collection[str] = (),
    isolated: Collection[str] = (),
) -> Notebook:
    """A copy of ``notebook`` whose test cells run their probes; those in ``skipped`` (deleted
    by the student) run nothing, and the grader scores them 0; those in ``isolated`` (the
    policed answers' test cells) print a line: their probes run in the grader's isolated run."""
    nb = copy.deepcopy(notebook)
    for cell in nb["cells"]:
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if grade_id in calls:
            cell["source"] = (
                "# grading: this test cell was deleted from the submission"
                if grade_id in skipped
                else isolated_source(grade_id)
                if grade_id in isolated
                else probe_source(grade_id, calls[grade_id])
            )
    return nb
