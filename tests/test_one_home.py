"""One home for every fact: the shipped modules hold what students use, once.

``hw2utils`` is the helpers a notebook provides (its ``__all__``, nothing else public, no check);
``hw2checks`` holds the visible checks and the toolkit the hidden side imports. No function is
written twice, once shipped and once in ``autograder/``, ``lessons/`` or ``hw2probes/`` (under another
name, a leading underscore, or a docstring of its own).
"""

import ast
from pathlib import Path

import pytest

import hw2utils

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = [ROOT / "hw2utils.py", *sorted((ROOT / "hw2checks").glob("*.py"))]
HIDDEN = sorted(
    path for package in ("autograder", "lessons") for path in (ROOT / package).rglob("*.py")
) + sorted((ROOT / "hw2probes").glob("*.py"))
# the grader, the lessons package and the scripts: where a kit fact or a limit could be spelled again
PIPELINE = sorted(
    path for package in ("autograder", "lessons") for path in (ROOT / package).rglob("*.py")
) + sorted((ROOT / "scripts").glob("*.py"))
MIN_STATEMENTS = 4  # shorter bodies (a return, a raise) repeat by nature


def top_level_names(path: Path) -> set[str]:
    names = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names |= {t.id for t in node.targets if isinstance(t, ast.Name)}
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
    return {name for name in names if not name.startswith("_")}


def test_hw2utils_exports_its_helpers_and_nothing_else():
    assert set(hw2utils.__all__) == top_level_names(ROOT / "hw2utils.py")
    assert not [name for name in hw2utils.__all__ if name.startswith("check_")]


class _Anonymous(ast.NodeTransformer):
    """Names without a leading underscore, docstrings dropped: `_fail` and `fail` read alike."""

    def visit_Name(self, node):
        node.id = node.id.lstrip("_")
        return node

    def visit_Attribute(self, node):
        self.generic_visit(node)
        node.attr = node.attr.lstrip("_")
        return node

    def visit_FunctionDef(self, node):
        self.generic_visit(node)
        body = node.body
        if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
            body = body[1:]
        return body


def bodies(path: Path) -> dict[str, tuple[str, int]]:
    """{normalized body: (where, statements)} of every function and method in ``path``."""
    found = {}
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            body = _Anonymous().visit(ast.parse(ast.unparse(node)).body[0])
            statements = sum(isinstance(n, ast.stmt) for stmt in body for n in ast.walk(stmt))
            if statements >= MIN_STATEMENTS:
                found[ast.dump(ast.Module(body=body, type_ignores=[]))] = (
                    f"{path.relative_to(ROOT)}:{node.lineno} {node.name}",
                    statements,
                )
    return found


@pytest.mark.parametrize("shipped", SHIPPED, ids=lambda p: p.name)
def test_no_shipped_function_is_written_again_on_the_hidden_side(shipped):
    mine = bodies(shipped)
    twins = [
        f"{mine[body][0]} ~ {where}"
        for path in HIDDEN
        for body, (where, _) in bodies(path).items()
        if body in mine
    ]
    assert not twins


def _constants(path: Path) -> list[tuple[int, str]]:
    return [
        (node.lineno, node.value)
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
    ]


def test_the_kit_files_are_named_in_autograder_kit_only():
    """The assignment name, the notebooks and the kit-file lists are spelled in ``autograder/kit.py``
    alone: no other module of the grader or the scripts writes one of them as a string."""
    from autograder import kit

    names = {kit.ASSIGNMENT, *kit.SUPPORT_FILES, f"source/{kit.ASSIGNMENT}"}
    names |= {f"{name}{ext}" for name in kit.NOTEBOOKS for ext in ("", ".ipynb", ".py")}
    paths = PIPELINE
    spelled = [
        f"{path.relative_to(ROOT)}:{line} {value!r}"
        for path in paths
        if path.name != "kit.py"
        for line, value in _constants(path)
        if value in names
    ]
    assert not spelled


def test_the_limits_are_derived_in_autograder_limits_only():
    """CPU from wall, the default threads and the cell timeout: no other module of the grader or
    the scripts derives them again (a ``Limits(cpu=...)``, a call of ``available_cpus``, a
    ``c.Execute.timeout`` line written into a course)."""
    paths = PIPELINE
    again = []
    for path in paths:
        if path.name in ("limits.py", "cpus.py"):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call):
                called = ast.unparse(node.func)
                if called.split(".")[-1] in ("Limits", "for_jobs") and any(
                    k.arg == "cpu" for k in node.keywords
                ):
                    again.append(f"{path.relative_to(ROOT)}:{node.lineno} {called}(cpu=...)")
                if called.split(".")[-1] == "available_cpus":
                    again.append(f"{path.relative_to(ROOT)}:{node.lineno} {called}()")
            if (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and "Execute.timeout" in node.value
            ):
                again.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.value.strip()!r}")
    assert not again
