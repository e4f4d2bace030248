"""Batch grading through real nbgrader (autograde, SQLite gradebook, feedback) on a small
class: the reference (with its EC1 model under a browser's second-download name), the
untouched release, a student whose notebooks are renamed and one unreadable (tests/small_class.py),
and one who hands in notebook 4 with its extra-credit values forged. One grading run serves
every test here and tests/test_shards.py's (tests/conftest.py's small_class_graded: about two
minutes on 2 cores)."""

import csv
import html as html_module
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from autograder import grade, gradebook, nbgrader_steps, worker

# the small class graded once for all of it: about 2 minutes on 2 cores
pytestmark = [pytest.mark.slow, pytest.mark.sandbox]

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "source" / "hw2"
AUTOGRADED_POINTS = 73  # 100 minus the 27 points of manually graded answers
EC_POINTS = 10  # EC1 (transfer, graded on the submitted model file) 5, EC2 (the rule) 5


@pytest.fixture
def graded(small_class_graded):
    base, problems = small_class_graded
    return base / "out", problems


def test_extra_credit_is_worth_what_the_kit_says_not_what_a_hand_in_says(graded):
    """The grader takes an extra-credit cell's value from its own source notebooks: a hand-in
    that multiplies them earns the 10 extra points, no more, and the edit is reported."""
    out, _ = graded
    forger = read_csv(out / "grades.csv")["forger"]
    assert float(forger["extra_credit"]) == EC_POINTS
    assert "metadata 'hw2': ignored" in forger["problems"] + forger["flags"]


def read_csv(path):
    with open(path) as f:
        return {row[next(iter(row))]: row for row in csv.DictReader(f)}


def test_reference_scores_every_autograded_point_and_the_blank_release_none(graded):
    out, _ = graded
    grades = read_csv(out / "grades.csv")
    assert float(grades["reference"]["autograded"]) == AUTOGRADED_POINTS
    # EC1 is scored on the handed-in model file: renamed by the browser, found, kept by the
    # notebook's EC1 cell in grading mode, and graded in the kernel's folder
    assert float(grades["reference"]["extra_credit"]) == EC_POINTS
    assert (
        float(grades["untouched"]["autograded"]) == 0
        and float(grades["untouched"]["extra_credit"]) == 0
    )


def test_nbgrader_export_counts_extra_credit_on_top_of_100_points(graded):
    """nbgrader's own export (the README's last step before hand grading is done): max_score
    is the 100 regular points, and the reference's score is its autograded points plus its
    extra credit (nbgrader's Grade.extra_credit), as in the kit's grades.csv."""
    out, _ = graded
    course = out / "course"
    run = subprocess.run(
        [sys.executable, "-m", "nbgrader", "export"],
        cwd=course,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert run.returncode == 0, run.stderr[-2000:]
    with open(course / "grades.csv") as f:  # nbgrader writes course/grades.csv
        exported = {row["student_id"]: row for row in csv.DictReader(f)}
    mine = read_csv(out / "grades.csv")
    for student in ("reference", "untouched", "broken"):
        assert float(exported[student]["max_score"]) == 100
        assert float(exported[student]["score"]) == pytest.approx(float(mine[student]["total"]))
    assert float(exported["reference"]["score"]) == AUTOGRADED_POINTS + EC_POINTS
    assert float(mine["reference"]["extra_credit"]) == EC_POINTS


def test_written_answers_await_manual_grading_and_stay_out_of_the_summaries(graded):
    out, _ = graded
    grades = read_csv(out / "grades.csv")
    # nbgrader scores an unchanged (untouched) answer 0 at once; a written one awaits a grader
    assert float(grades["reference"]["awaiting_manual"]) == 100 - AUTOGRADED_POINTS
    assert float(grades["untouched"]["awaiting_manual"]) == 0
    written = {c.grade_id for c in gradebook.cells(SOURCE) if c.kind == gradebook.MANUAL}
    assert len(written) >= 10 and written <= set(read_csv(out / "scores.csv")["reference"])
    assert not written & set(read_csv(out / "summary.csv"))
    assert not {gid.split("__")[0] for gid in written} & set(read_csv(out / "tasks.csv"))


def test_a_broken_notebook_costs_only_its_own_points_and_says_why(graded):
    out, problems = graded
    grades = read_csv(out / "grades.csv")
    scores = read_csv(out / "scores.csv")
    part4_points = sum(
        float(v)
        for k, v in scores["reference"].items()
        if k.startswith(("init_", "supervise_", "net_4_")) and v
    )
    assert float(grades["broken"]["autograded"]) == AUTOGRADED_POINTS - part4_points
    assert "04_initialization.ipynb is not a valid notebook" in grades["broken"]["problems"]
    assert problems["broken"] and not problems["reference"]


def test_class_summary_names_what_students_lose_points_on(graded):
    out, _ = graded
    summary = read_csv(out / "summary.csv")
    adam = summary["adam_optimizer__matches_torch"]
    assert float(adam["max_score"]) == 3
    # the untouched release and the forger, who handed in notebook 4 alone
    assert float(adam["share_losing_points"]) == pytest.approx(2 / 4, abs=1e-3)
    # the untouched release and the broken notebook 4
    assert float(summary["init_he__distribution"]["share_losing_points"]) == pytest.approx(
        2 / 4, abs=1e-3
    )


def test_feedback_shows_diagnostics_not_the_reference_solution(graded):
    out, _ = graded
    html_path = out / "course" / "feedback" / "untouched" / "hw2" / "02_ema_adam.html"
    html = html_path.read_text()
    text = html_module.unescape(re.sub(r"<[^>]+>", "", html))
    # the judge's diagnostic names the student's own line that raised
    assert (
        "adam_optimizer__matches_torch, case lr=0.1, cpu, torch.float64" in text
        and "running your code raised NotImplementedError" in text
        and "line 10 in __init__: raise NotImplementedError()" in text
    )
    assert "m_star.copy_(new_m_star)" not in html  # a line of the reference Adam
    assert "autograder" not in text and "judge_adam" not in html  # nothing of the judge
    assert (
        "hw2checks.check_adam_optimizer__matches_torch(ADAMOptimizer)" in text
    )  # the visible call
    # a student's feedback folder holds their pages, not a copy of the data
    assert {p.name for p in html_path.parent.iterdir()} == {
        "01_gradient_descent.html",
        "02_ema_adam.html",
        "03_training.html",
        "04_initialization.html",
    }


def test_rerunning_is_idempotent_and_skips_graded_students(graded, monkeypatch):
    """A rerun executes nobody and records nobody again: the gradebook holds them as they were
    executed (autograder.recorded). Without that gradebook (deleted: a course copied from the
    cache) everyone is recorded again, into the same tables."""
    out, _ = graded
    tables = ("grades.csv", "scores.csv", "summary.csv")
    before = {name: (out / name).read_text() for name in tables}
    executed, recorded = [], []
    monkeypatch.setattr(worker, "execute_student", lambda *args: executed.append(args))
    record = nbgrader_steps.record
    monkeypatch.setattr(
        nbgrader_steps,
        "record",
        lambda course, student: recorded.append(student) or record(course, student),
    )
    grade.grade(out.parent / "submissions", out)
    assert executed == [] and recorded == []
    assert {name: (out / name).read_text() for name in tables} == before
    (out / "course" / "gradebook.db").unlink()
    grade.grade(out.parent / "submissions", out)
    assert executed == [] and sorted(recorded) == ["broken", "forger", "reference", "untouched"]
    assert {name: (out / name).read_text() for name in tables} == before


def test_an_interrupted_run_resumes_with_the_students_not_finished(graded, monkeypatch):
    out, _ = graded
    before = (out / "grades.csv").read_text()
    # as if the run had been stopped while "forger" was still being executed (of this class,
    # the quickest to execute again: one notebook; 35 s against the untouched release's 83 s)
    (out / "course" / "executed" / "forger" / worker.WORKER_RECORD).unlink()
    executed = []
    original = worker.execute_student
    monkeypatch.setattr(
        worker,
        "execute_student",
        lambda out, work, student, *rest: (
            executed.append(student) or original(out, work, student, *rest)
        ),
    )
    grade.grade(out.parent / "submissions", out, jobs=2)
    assert executed == ["forger"]
    assert (out / "grades.csv").read_text() == before
