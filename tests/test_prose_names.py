"""Names the prose tells a student to use exist where the student is.

A student follows a task's text literally: a backticked name in a notebook's markdown must be
something that notebook defines or imports, something `hw2utils`, `hw2checks`, `torch` or Python provides,
or a parameter of a provided function. Another Part's answer (Part 2's `ema_update` in
notebook 3, which binds only the pasted optimizer classes) is only allowed in a paragraph that
says which Part it comes from: followed literally, it is a NameError.
"""

import ast
import builtins
import contextlib
import inspect
import keyword
import re
from pathlib import Path

import nbformat
import pytest
import torch
from torch import nn

import hw2checks
import hw2utils

SOURCE = Path(__file__).resolve().parents[1] / "source" / "hw2"
NOTEBOOKS = sorted(SOURCE.glob("*.ipynb"))
MODULES = {
    "hw2utils": hw2utils,
    "hw2checks": hw2checks,
    "torch": torch,
    "nn": nn,
    "np": None,
    "plt": None,
}
SPAN = re.compile(r"`([^`\n]+)`")
CALL_OR_NAME = re.compile(r"^([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*)(?:\(.*\))?$")
FILE_NAME = re.compile(r"\.(py|pt|npz|md|ipynb)$")
# Placeholders the prose uses on purpose, with where.
PLACEHOLDERS = {
    "n": "3.13: `nn.BatchNorm1d(n)` normalizes each of its `n` inputs",
    "history": "3: what `run_test` returns (`history.val_acc`)",
}


def part_of(path: Path) -> int:
    return int(path.name[:2])


def code_names(cells) -> set[str]:
    """Every name the code cells bind: assignments, defs, classes, arguments, imports, attributes."""
    names = set()
    for cell in cells:
        source = "\n".join(
            line for line in cell.source.splitlines() if not line.lstrip().startswith(("%", "!"))
        )
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                names.add(node.id)
            elif isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                names.add(node.name)
            elif isinstance(node, ast.arg):
                names.add(node.arg)
            elif isinstance(node, ast.alias):
                names.add((node.asname or node.name).split(".")[0])
            elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
                names.add(node.attr)
    return names


def answers(path: Path) -> set[str]:
    """Names the notebook's solution cells define at top level."""
    cells = [
        c
        for c in nbformat.read(path, 4).cells
        if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("solution")
    ]
    tops = set()
    for cell in cells:
        for node in ast.parse(cell.source).body:
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                tops.add(node.name)
    return tops


def provided_names() -> set[str]:
    """What hw2utils and hw2checks export, their parameters and attributes, torch's, nn's and Python's."""
    shipped = [getattr(hw2utils, name) for name in hw2utils.__all__]
    checks = {name: obj for module in hw2checks.modules() for name, obj in vars(module).items()}
    shipped += [obj for name, obj in checks.items() if not name.startswith("_")]
    names = set(hw2utils.__all__) | {name for name in checks if not name.startswith("_")}
    names |= set(dir(torch)) | set(dir(nn)) | set(dir(torch.optim))
    names |= set(dir(torch.Tensor)) | set(dir(nn.Module)) | set(dir(builtins)) | set(keyword.kwlist)
    names |= set(vars(nn.Linear(1, 1))) | set(vars(nn.BatchNorm1d(1)))
    for obj in shipped:
        home = getattr(obj, "__module__", None) or ""
        if home.partition(".")[0] not in ("hw2utils", "hw2checks") or not callable(obj):
            continue
        if inspect.isclass(obj):
            names |= set(dir(obj))
        with contextlib.suppress(TypeError, ValueError):
            names |= set(inspect.signature(obj).parameters)
    return names


def attribute_exists(dotted: list[str]) -> bool:
    obj = MODULES[dotted[0]]
    if obj is None:  # numpy and matplotlib: not worth importing to check the prose
        return True
    for attr in dotted[1:]:
        if not hasattr(obj, attr):
            return False
        obj = getattr(obj, attr)
    return True


ANSWERS = {name: part_of(path) for path in NOTEBOOKS for name in answers(path)}
PROVIDED = provided_names()


def unknown_names(path: Path) -> list[str]:
    notebook = nbformat.read(path, 4)
    own = code_names(c for c in notebook.cells if c.cell_type == "code")
    problems = []
    for cell in notebook.cells:
        if cell.cell_type != "markdown" or cell.metadata.get("nbgrader", {}).get("grade"):
            continue  # model answers are the instructor's, not instructions
        for paragraph in cell.source.split("\n\n"):
            for span in SPAN.findall(paragraph):
                match = CALL_OR_NAME.match(span.strip())
                if not match or FILE_NAME.search(span):
                    continue
                dotted = match.group(1).split(".")
                head = dotted[0]
                if head in MODULES:
                    known = attribute_exists(dotted)
                elif head in ANSWERS and ANSWERS[head] != part_of(path) and head not in own:
                    known = f"Part {ANSWERS[head]}" in paragraph
                else:
                    known = head in own or head in PROVIDED or head in PLACEHOLDERS
                if not known:
                    problems.append(f"`{span}` in: {paragraph.strip()[:120]}…")
    return problems


def test_answers_of_other_parts_are_known():
    assert {"SimpleGradientDescent", "ADAMOptimizer", "ema_update"} <= set(ANSWERS)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_every_name_the_prose_gives_exists_in_that_notebook(path):
    assert unknown_names(path) == []


def test_the_check_catches_a_name_from_another_part(tmp_path):
    notebook = nbformat.read(SOURCE / "03_training.ipynb", 4)
    notebook.cells.append(nbformat.v4.new_markdown_cell("Smooth the losses with `ema_update`."))
    notebook.cells.append(nbformat.v4.new_markdown_cell("Build it with `nn.Linearr(36, 1)`."))
    broken = tmp_path / "03_training.ipynb"
    nbformat.write(notebook, broken)
    found = " ".join(unknown_names(broken))
    assert "`ema_update`" in found and "`nn.Linearr(36, 1)`" in found
