"""Batch grading survives hostile submissions: each ends in a score and a message, costs only
its own points, and the batch goes on. Real nbgrader, real kernels, two workers.

Each student (tests/hostile_class.py's HOSTILE) is the reference notebook 1 with one thing
added; one grading run of the hostile class (tests/conftest.py's ``hostile_class``, shared with
tests/test_stopped_notebooks.py) serves every test here but the wall-clock one.
"""

import csv
import subprocess

import nbformat
import pytest

from autograder import grade
from autograder.limits import Limits
from hostile_class import LIMITS, NB1, SLEEPER, STUDENTS, reference, with_cell

# the hostile class graded once for all of it: about 3 minutes on 2 cores
pytestmark = [pytest.mark.slow, pytest.mark.sandbox]


@pytest.fixture
def graded(hostile_class):
    return hostile_class


def nb1_ids(scores):
    cells = reference(NB1).cells
    ids = [
        c.metadata["nbgrader"]["grade_id"]
        for c in cells
        if c.metadata.get("nbgrader", {}).get("grade") and c.cell_type == "code"
    ]
    assert ids and all(i in scores["reference"] for i in ids)
    return ids


def executed(out, student, name=NB1):
    return nbformat.read(
        out / "course" / "autograded" / student / "hw2" / f"{name}.ipynb", as_version=4
    )


def test_every_student_gets_a_row_and_the_reference_full_marks(graded):
    _, problems, scores = graded
    assert set(scores) == set(STUDENTS)
    assert all(float(scores["reference"][i]) > 0 for i in nb1_ids(scores))
    assert all(p.endswith("is missing; it scores 0") for p in problems["reference"])


@pytest.mark.parametrize("student", ["floods", "stderr", "hog", "spawns"])
def test_harmless_misbehaviour_keeps_full_marks(graded, student):
    _, problems, scores = graded
    for grade_id in nb1_ids(scores):
        assert scores[student][grade_id] == scores["reference"][grade_id], grade_id
    assert not [p for p in problems[student] if not p.endswith("is missing; it scores 0")]


def test_a_hanging_cell_costs_only_the_tests_of_what_it_defines_and_is_named(graded):
    out, problems, scores = graded
    for grade_id in nb1_ids(scores):
        lost = float(scores["hangs"][grade_id]) < float(scores["reference"][grade_id])
        assert lost == grade_id.startswith("gd_loop__"), grade_id
    answer = next(
        c
        for c in executed(out, "hangs").cells
        if c.metadata.get("nbgrader", {}).get("grade_id") == "gd_loop"
    )
    assert any(o.output_type == "error" for o in answer.outputs)
    said = [p for p in problems["hangs"] if p.startswith(f"{NB1}.ipynb")]
    assert len(said) == 1 and "(gd_loop) ran past the time limit of 15 s per cell" in said[0], said


def test_megabytes_of_output_are_cut_down(graded):
    out, _, _ = graded
    path = out / "course" / "autograded" / "floods" / "hw2" / f"{NB1}.ipynb"
    assert path.stat().st_size < 1_000_000


def test_stderr_from_student_code_costs_nothing_and_test_cells_show_only_the_verdict(graded):
    out, _, scores = graded
    assert float(scores["stderr"]["sgd_optimizer__weight_decay"]) > 0
    test_cell = next(
        c
        for c in executed(out, "stderr").cells
        if c.metadata.get("nbgrader", {}).get("grade_id") == "sgd_optimizer__weight_decay"
    )
    # what the student's code printed while its probe ran is not the grader's to show as a result
    assert [o.text for o in test_cell.outputs] == [
        "sgd_optimizer__weight_decay: 7/7 hidden cases passed\n"
    ]


def test_a_kernel_that_exits_loses_its_notebook_only_and_says_so(graded):
    _, problems, scores = graded
    assert all(float(scores["exits"][i]) == 0 for i in nb1_ids(scores))
    nb2_ids = [i for i, v in scores["reference"].items() if i.startswith(("ema_update__", "adam_"))]
    assert nb2_ids and all(scores["exits"][i] == scores["reference"][i] for i in nb2_ids)
    assert any(
        f"{NB1}.ipynb could not be graded (its kernel died while running cell " in p
        and "('import os')" in p
        for p in problems["exits"]
    )


def test_memory_beyond_the_limit_fails_only_the_cell_that_asks(graded):
    out, _, _ = graded
    hog = next(c for c in executed(out, "hog").cells if "hog = torch.ones" in c.source)
    assert [o.ename for o in hog.outputs if o.output_type == "error"] == ["RuntimeError"]


def test_processes_a_submission_starts_do_not_outlive_its_grading(graded):
    found = subprocess.run(["pgrep", "-f", f"sleep {SLEEPER}"], capture_output=True, text=True)
    assert found.stdout == ""


def test_an_import_that_fails_is_an_error_in_its_cell_not_in_the_batch(graded):
    out, problems, scores = graded
    first = next(c for c in executed(out, "raises").cells if c.cell_type == "code")
    assert [o.ename for o in first.outputs if o.output_type == "error"] == ["ModuleNotFoundError"]
    assert not [p for p in problems["raises"] if "could not be graded" in p]


def test_a_student_past_the_wall_clock_limit_is_stopped_and_told(tmp_path):
    student = tmp_path / "subs" / "sleeper"
    student.mkdir(parents=True)
    nbformat.write(with_cell("import time\ntime.sleep(1000)"), student / f"{NB1}.ipynb")
    limits = Limits(wall=20, cpu=60, memory=LIMITS.memory, threads=1, cell=600)
    problems = grade.grade(tmp_path / "subs", tmp_path / "out", limits=limits, feedback=False)
    assert any("grading stopped after 20 s" in p for p in problems["sleeper"])
    # the cell as the graded notebook places it (the student's cell goes after the release's first)
    assert any(
        p.startswith(
            f"{NB1}.ipynb did not finish: the time limit of 20 s per submission ran "
            "out while it ran cell "
        )
        and "('import time'); " in p
        and "check(s) never ran" in p
        for p in problems["sleeper"]
    )
    with open(tmp_path / "out" / "grades.csv") as f:
        assert float(next(csv.DictReader(f))["autograded"]) == 0
