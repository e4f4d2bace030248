"""The export after hand grading (autograder/export.py) on a real nbgrader gradebook: a course
built by nbgrader from source/hw2, filled through nbgrader's own API with a small class
(autograded scores, written answers graded or not, extra credit; benchmarks/export_speed.py),
and students handed in through Canvas, Moodle, Blackboard and a plain folder. The totals must
be nbgrader's own (``nbgrader export``), out of 100, and each LMS file must hold exactly the
students that LMS can key, with the totals of grades.csv."""

import csv
import json
import subprocess
import sys

import pytest

from autograder import course_setup, export, gradebook
from benchmarks import export_speed

pytestmark = pytest.mark.slow  # a real nbgrader course and gradebook: about 50 s

STUDENTS = 9


def read(path):
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def course_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("export")
    course = out / "course"
    course_setup.make_course(course)
    ids = export_speed.fill(course, STUDENTS, seed=3)
    record = export_speed.identities(ids)
    record[ids[-1]]["identity"] = {"lms": None, "user": ids[-1], "name": ""}  # a plain folder
    (course / "submitted").mkdir()
    (course / "submitted" / "intake.json").write_text(json.dumps(record))
    notes = {s: {"problems": [], "flags": []} for s in ids}
    notes["absent"] = {"problems": ["04_initialization.ipynb is missing; it scores 0"], "flags": []}
    (out / "problems.json").write_text(json.dumps(notes))
    return out


@pytest.fixture(scope="module")
def exported(course_dir):
    written = export.export(course_dir, ["canvas", "moodle", "blackboard"], pending="hold")
    return course_dir, written


def test_totals_are_nbgrader_exports_out_of_100_with_extra_credit_on_top(exported):
    out, _ = exported
    run = subprocess.run(
        [sys.executable, "-m", "nbgrader", "export"],
        cwd=out / "course",
        capture_output=True,
        text=True,
        env=course_setup.environment(),
    )
    assert run.returncode == 0, run.stderr[-2000:]
    theirs = {row["student_id"]: row for row in read(out / "course" / "grades.csv")}
    mine = {row["student"]: row for row in read(out / "grades.csv")}
    assert set(mine) == set(theirs) | {"absent"}
    for student, row in theirs.items():
        assert float(row["max_score"]) == 100
        assert float(mine[student]["total"]) == pytest.approx(float(row["score"]))
        parts = sum(float(mine[student][k]) for k in ("autograded", "hand_graded", "extra_credit"))
        assert float(mine[student]["total"]) == pytest.approx(parts)
    assert any(float(r["extra_credit"]) > 0 for r in mine.values())
    assert any(float(r["awaiting_manual"]) > 0 for r in mine.values())
    # a student the gradebook lacks scores 0 and keeps the problem that says why
    assert float(mine["absent"]["total"]) == 0 and "missing" in mine["absent"]["problems"]


def test_each_lms_file_keys_its_own_students_and_lists_the_rest(exported):
    out, written = exported
    totals = {r["student"]: r for r in read(out / "grades.csv")}
    intake = json.loads((out / "course" / "submitted" / "intake.json").read_text())
    for system, key in (("canvas", "ID"), ("blackboard", "Username")):
        result = written[system]
        rows = [r for r in read(result.path) if r.get("Student") != "Points Possible"]
        ours = {s for s, rec in intake.items() if (rec["identity"]["lms"] or "").lower() == system}
        ready = {s for s in ours if float(totals[s]["awaiting_manual"]) == 0}
        assert set(result.written) == ready
        by_user = {intake[s]["identity"]["user"]: s for s in ready}
        assert {r[key] for r in rows} == set(by_user)
        for r in rows:
            assert float(r["HW2"]) == pytest.approx(
                float(totals[by_user[r[key]]]["total"]), abs=0.01
            )
        # nobody is dropped silently: every student is in the file or in the list beside it
        listed = {row["student"] for row in read(result.sidecar)}
        assert listed | set(result.written) == set(totals)
    moodle = read(written["moodle"].path)
    assert all(r["Identifier"].startswith("Participant ") for r in moodle)


def test_pending_zero_sends_every_keyed_total(course_dir):
    written = export.export(course_dir, ["canvas"], pending="zero")["canvas"]
    intake = json.loads((course_dir / "course" / "submitted" / "intake.json").read_text())
    assert set(written.written) == {
        s for s, rec in intake.items() if rec["identity"]["lms"] == "Canvas"
    }


def test_hand_grades_typed_later_reach_the_tables(exported):
    """What formgrader does (manual_score on a written answer) shows at the next export.
    (Last in this file: it changes the gradebook the other tests read.)"""
    from nbgrader.api import Gradebook

    out, _ = exported
    course = out / "course"
    graded = gradebook.cells(course / "source" / "hw2")
    before = {r["student"]: r for r in read(out / "grades.csv")}
    student = next(s for s, r in before.items() if float(r["awaiting_manual"]) > 0)
    row = gradebook.scores(course, [student])[student]
    cell = next(c for c in graded if c.kind == gradebook.MANUAL and row[c.grade_id].earned is None)
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        gb.find_grade(cell.grade_id, cell.notebook, "hw2", student).manual_score = cell.points
        gb.db.commit()
    export.export(out, [])
    after = {r["student"]: r for r in read(out / "grades.csv")}[student]
    assert float(after["hand_graded"]) == float(before[student]["hand_graded"]) + cell.points
    assert (
        float(after["awaiting_manual"]) == float(before[student]["awaiting_manual"]) - cell.points
    )
    assert float(after["total"]) == float(before[student]["total"]) + cell.points
