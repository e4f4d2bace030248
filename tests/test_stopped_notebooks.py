"""A notebook whose run stops before its checks leaves a problem line that says which notebook,
which cell and why, besides the zeros; the student's other notebooks keep their points.
Real nbgrader, real kernels, the sandbox; the students (tests/hostile_class.py's STOPPED) are
graded with the hostile class, whose reference they are compared with.

The cell past its time limit, the kernel that dies and the wall clock per submission are in
tests/test_grade_robustness.py. Here, the two ends that once left no line:

- a kernel that does not start: nbclient raises RuntimeError ("Kernel died before replying to
  kernel_info", or "Kernel didn't respond in 60 seconds" on an overloaded machine), the
  runner saved the notebook unexecuted and the grader, which looked for "kernel died" only,
  said nothing (a CI run of tests/test_shards.py lost notebook 3 of the reference so). Here
  notebook 2, which runs first (the runner starts the biggest notebook first), leaves an
  ``ipykernel_launcher.py`` that exits in the folder the next kernel starts in;
- a run that reports no stop, but whose checks left no data (here a cell erases them).
"""

import csv

import pytest

from hostile_class import NB1, NB2

# grades the hostile class (tests/conftest.py's hostile_class, which test_grade_robustness.py
# shares); the fast lane has tests/test_grade_quick.py
pytestmark = [pytest.mark.slow, pytest.mark.sandbox]


@pytest.fixture(scope="module")
def graded(hostile_class):
    out, problems, rows = hostile_class
    scores = {student: {k: float(v) for k, v in row.items() if v} for student, row in rows.items()}
    with open(out / "grades.csv") as f:
        grades = {row["student"]: row for row in csv.DictReader(f)}
    return problems, scores, grades


def ids(scores, prefixes):
    found = [i for i in scores["reference"] if i.startswith(prefixes)]
    assert found and all(scores["reference"][i] > 0 for i in found)
    return found


NB1_TASKS = ("gd_", "sgd_")
NB2_TASKS = ("ema_update__", "adam_")


def test_a_kernel_that_does_not_start_loses_its_notebook_and_says_why(graded):
    problems, scores, grades = graded
    assert all(scores["no_kernel"][i] == 0 for i in ids(scores, NB1_TASKS))
    assert all(scores["no_kernel"][i] == scores["reference"][i] for i in ids(scores, NB2_TASKS))
    said = [p for p in problems["no_kernel"] if p.startswith(f"{NB1}.ipynb")]
    assert len(said) == 1, problems["no_kernel"]
    assert "its kernel did not start" in said[0] and "Kernel died before replying" in said[0]
    assert "check(s) never ran and score 0 (gd_" in said[0]
    assert said[0] in grades["no_kernel"]["problems"]
    assert not [p for p in problems["no_kernel"] if p.startswith(f"{NB2}.ipynb")]


def test_checks_whose_data_is_gone_are_reported_though_the_run_said_nothing(graded):
    problems, scores, _ = graded
    assert all(scores["erases"][i] == 0 for i in ids(scores, NB1_TASKS))
    said = [p for p in problems["erases"] if p.startswith(f"{NB1}.ipynb")]
    assert len(said) == 1 and "never ran and score 0" in said[0], problems["erases"]
    assert "although its run reported no stop" in said[0]


def test_notebooks_that_ran_to_their_end_leave_no_such_line(graded):
    problems, _, _ = graded
    assert all(p.endswith("is missing; it scores 0") for p in problems["reference"]), problems[
        "reference"
    ]
