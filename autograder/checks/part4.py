"""What the grader adds to notebook 4's aspects: the wrapping of Tasks 4.7 and 4.9 judged from
the answer cell's code when the wrapper class failed.

Every aspect of notebook 4 is declared, probe and comparison, in ``hw2checks.part4``; nothing of
the initializers' or wrappers' must stay hidden (their references are statistics, layer lists and
PyTorch's own losses). ``net_4_7__wrapper`` and ``net_4_9__wrapper`` get one extra, ``unbuilt``:
a wrapper class that raises leaves 4.7's (4.9's) model unbuilt, and the wrapping is then judged
from the answer cell's code in the handed-in notebook (``Context.submission``, which only the
grader has), so that one mistake costs the points of one task.
"""

from __future__ import annotations

import ast
from pathlib import Path

from autograder import syntax
from autograder.aspects import Context, attributes_of, extend
from autograder.integrity import load_submission
from autograder.kit import NOTEBOOKS
from hw2checks import part4
from hw2checks.aspect import Judged

# a hidden test cell calls a shipped aspect (hw2checks.part4) through this module too
__getattr__ = attributes_of("part4")

NOTEBOOK = NOTEBOOKS[3]


# 4.7 and 4.9: 3.12's network inside the wrappers ----------------------------------------


def answer_source(context: Context, grade_id: str) -> str | None:
    """The source of answer cell ``grade_id`` in the handed-in notebook 4, or None (no
    submission folder, as in a local check, or no such readable cell)."""
    if context.submission is None:
        return None
    try:
        notebook = load_submission(Path(context.submission) / f"{NOTEBOOK}.ipynb")
    except (OSError, ValueError):
        return None
    for cell in notebook["cells"]:
        nbgrader = cell.get("metadata", {}).get("nbgrader")
        if isinstance(nbgrader, dict) and nbgrader.get("grade_id") == grade_id:
            source = cell.get("source", "")
            return "".join(source) if isinstance(source, list) else source
    return None


def assigns_wrapper(source: str | None, model_name: str, class_name: str, net_name: str) -> bool:
    """Whether ``source`` holds ``model_name = class_name(..., net_name, ...)`` (the network
    passed by position or by keyword)."""
    try:
        tree = syntax.parse(source or "")
    except SyntaxError:
        return False
    for node in ast.walk(tree):
        if not (
            isinstance(node, ast.Assign)
            and isinstance(node.value, ast.Call)
            and any(isinstance(t, ast.Name) and t.id == model_name for t in node.targets)
        ):
            continue
        func, call = node.value.func, node.value
        called = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
        arguments = [*call.args, *(k.value for k in call.keywords)]
        if called == class_name and any(
            isinstance(a, ast.Name) and a.id == net_name for a in arguments
        ):
            return True
    return False


def unbuilt(
    test_id: str, names: tuple[str, str, str], owner: str, why: str, *, context: Context
) -> Judged | None:
    """``hw2checks.part4.judge_wrapped``'s extra for a model never built because its class is
    missing or raises (``why``; ``owner``'s checks grade that): the wrapping judged from the
    answer cell's code, so that the one mistake costs no point here; None where the cell does
    not wrap the network in that class (or there is no handed-in notebook, as in a local check)."""
    model_name, class_name, net_name = names
    if not assigns_wrapper(answer_source(context, net_name), model_name, class_name, net_name):
        return None
    return Judged(
        f"{test_id}: {model_name} was never built, because {why} ({owner}'s checks grade "
        f"that); your cell assigns {model_name} = {class_name}(..., {net_name}): 1/1, judged "
        f"from your code"
    )


extend(part4.check_net_4_7__wrapper, unbuilt=unbuilt)
extend(part4.check_net_4_9__wrapper, unbuilt=unbuilt)
