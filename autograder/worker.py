"""One student through the pipeline: the worker's step, which checks, runs (sandboxed) and
judges their notebooks in a pool thread, and the one writer's step, which records them in the
gradebook and writes their feedback in the batch's main thread.

    execute_student(out, work, student, limits, slot)   -> DIR/course/executed/<student>/hw2
    finish_student(course, student, manifest, feedback) -> the gradebook, the feedback
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from autograder import execution, nbgrader_steps, recorded
from autograder.kit import ASSIGNMENT
from autograder.limits import Limits
from autograder.nbgrader_steps import EXECUTED
from autograder.sandbox import accounts, fingerprint

ROOT = Path(__file__).resolve().parents[1]
WORKER_RECORD = "worker.json"
NOT_RECORDED = "grades not recorded"  # a problem that says why


def execute_student(
    out: Path, work: Path, student: str, limits: Limits, slot: accounts.Slot | None
) -> tuple[list[str], list[str]]:
    """Check, run (sandboxed, in a scratch folder under ``work``) and judge one student
    (``autograder.execution``); write the graded notebooks to DIR/course/executed/<student>/hw2
    with ``worker.json`` (problems and flags), which marks the student done: an interrupted
    run resumes from there. Returns (problems, flags)."""
    course = out / "course"
    submitted = course / "submitted" / student / ASSIGNMENT
    scratch = work / student
    shutil.rmtree(scratch, ignore_errors=True)
    if slot is not None:
        accounts.make_scratch(slot, scratch)
    else:
        scratch.mkdir(parents=True)
    try:
        outcome = execution.grade_student(
            submitted,
            out / "template" / "release" / ASSIGNMENT,
            out / "template" / "source" / ASSIGNMENT,
            scratch,
            slot,
            limits,
        )
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    executed = course / EXECUTED / student / ASSIGNMENT
    shutil.rmtree(executed.parent, ignore_errors=True)
    executed.mkdir(parents=True)
    for name, notebook in outcome.notebooks.items():
        (executed / f"{name}.ipynb").write_text(json.dumps(notebook))
    timestamp = submitted / "timestamp.txt"
    if timestamp.exists():
        shutil.copy(timestamp, executed / timestamp.name)
    (executed.parent / WORKER_RECORD).write_text(
        json.dumps({"problems": outcome.problems, "flags": outcome.flags}, indent=1)
    )
    return outcome.problems, outcome.flags


def record_student(course: Path, student: str) -> tuple[list[str], list[str]]:
    """Write one executed student to the gradebook (main process only); (problems, flags): the
    worker's (``worker.json``), and why recording failed, if it did."""
    problems, flags = _worker_found(course, student)
    if any((course / EXECUTED / student / ASSIGNMENT).glob("*.ipynb")):
        error = nbgrader_steps.record(course, student)
        if error:
            problems.append(f"{NOT_RECORDED}: {error}")
    return problems, flags


def _worker_found(course: Path, student: str) -> tuple[list[str], list[str]]:
    """(problems, flags) the worker wrote to ``worker.json``."""
    record = json.loads((course / EXECUTED / student / WORKER_RECORD).read_text())
    return record["problems"], record.get("flags", [])


class KitChanged(RuntimeError):
    """The kit's files changed during a batch: no grade after that point can be trusted."""


def finish_student(
    course: Path, student: str, manifest: dict[str, str], feedback: bool
) -> tuple[list[str], list[str]]:
    """The one writer's step for an executed student (a batch's main thread, or a merge):
    check the kit is still ``manifest``, record the student in the gradebook, write its
    feedback; (problems, flags) found after intake. A student the gradebook already holds as
    executed (a rerun, a second merge: ``autograder.recorded``) is not recorded again."""
    executed = recorded.digest(course, student)
    if recorded.holds(course, student, executed, feedback):
        return _worker_found(course, student)
    if changed := fingerprint.verify_kit(ROOT, manifest, deep=False):
        raise KitChanged(f"the kit changed while grading (after {student}): {changed[:5]}")
    problems, flags = record_student(course, student)
    whole = not any(p.startswith(NOT_RECORDED) for p in problems)
    if feedback and (why := nbgrader_steps.feedback(course, student)):
        problems.append(f"feedback not written: {why}")
    elif whole:  # a rerun, or a second merge, may skip them
        recorded.mark(course, student, executed, feedback)
    return problems, flags
