"""Judges of notebook 4 that stay on the grader's side: the wrapping of the networks of Tasks 4.7
and 4.9.

The other aspects of notebook 4 (the initializers 4.1-4.5, the wrappers 4.6 and 4.8, and the
architectures of 4.7 and 4.9 through Part 3's comparison) are declared, probe and comparison, in
``hw2checks.part4``; nothing of theirs must stay hidden (their references are statistics, layer
lists and PyTorch's own losses), so none is extended here and ``autograder.checks`` registers
them as shipped.

``net_4_7__wrapper`` and ``net_4_9__wrapper`` stay here because they need the grader's
``Context``: a wrapper class that raises leaves 4.7's (4.9's) model unbuilt, and the wrapping is
then judged from the answer cell's code in the handed-in notebook (``context.submission``), so
one mistake costs the points of one task. A shipped comparison gets no Context.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

from autograder.aspects import Context, aspect, attributes_of
from autograder.checks.common import passed
from autograder.integrity import load_submission
from autograder.kit import NOTEBOOKS
from hw2checks.part4 import expect_wrapped
from hw2checks.toolkit import expect_data, fail, is_str_list
from hw2probes import part4 as probes

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
        tree = ast.parse(source or "")
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


def judge_unbuilt(
    test_id: str, data: Any, names: tuple[str, str, str], owner: str, context: Context
) -> str:
    """The model does not exist. When the wrapper class is missing or raises (``owner``'s
    checks grade that) and the answer cell wraps the network in it, the wrapping is judged
    from the cell's code: the one mistake costs no point here."""
    model_name, class_name, net_name = names
    expect_data(
        test_id,
        isinstance(data.get("class_defined"), bool)
        and (data.get("class_raised") is None or isinstance(data["class_raised"], str)),
        "whether the class raised",
    )
    why = (
        f"the notebook defines no {class_name}"
        if not data["class_defined"]
        else f"{class_name}(nn.BCELoss(), {net_name}) raises {data['class_raised'].splitlines()[0]}"
        if data["class_raised"]
        else None
    )
    if why and assigns_wrapper(answer_source(context, net_name), model_name, class_name, net_name):
        return (
            f"{test_id}: {model_name} was never built, because {why} ({owner}'s checks grade "
            f"that); your cell assigns {model_name} = {class_name}(..., {net_name}): 1/1, judged "
            f"from your code"
        )
    fail(
        test_id,
        model_name,
        f"{model_name} is not defined" + (f": {why}" if why else ""),
        f"build it in the cell of the task: {model_name} = {class_name}(nn.BCELoss(), {net_name})",
    )


def judge_wrapped(
    test_id: str, data: Any, names: tuple[str, str, str], owner: str, context: Context = Context()
) -> str:
    """The model is an instance of the notebook's class holding the task's network and a BCE
    loss, as the probe's introspection reports (``names``: the model's, the class's and the
    network's). Only the type is checked, not the initialization (that is ``owner``'s to
    grade); a model the class failed to build goes to ``judge_unbuilt``."""
    expect_data(
        test_id, isinstance(data, dict) and isinstance(data.get("built"), bool), "the model"
    )
    if not data["built"]:
        return judge_unbuilt(test_id, data, names, owner, context)
    expect_data(
        test_id,
        is_str_list(data.get("mro"))
        and data["mro"]
        and isinstance(data.get("holds_net"), bool)
        and is_str_list(data.get("criterion"))
        and data["criterion"],
        "the model's classes",
    )
    expect_wrapped(test_id, names[1], data["mro"], data["holds_net"], data["criterion"])
    return passed(test_id, 3)


@aspect(probe=probes.probe_net_4_7__wrapper)
def check_net_4_7__wrapper(data: Any, *, context: Context = Context()) -> str:
    return judge_wrapped(
        "net_4_7__wrapper",
        data,
        ("model_4_7", "Supervise_random_weights", "net_4_7"),
        "Task 4.6",
        context,
    )


@aspect(probe=probes.probe_net_4_9__wrapper)
def check_net_4_9__wrapper(data: Any, *, context: Context = Context()) -> str:
    return judge_wrapped(
        "net_4_9__wrapper",
        data,
        ("model_4_9", "Supervise_Kaiming_weights", "net_4_9"),
        "Task 4.8",
        context,
    )
