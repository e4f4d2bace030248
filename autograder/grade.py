"""Batch grading with nbgrader: submissions in, gradebook and score tables out (serial).

    python -m autograder.grade SUBMISSIONS (folder or LMS zip) --out DIR

1. DIR/course is an nbgrader course made from this repository's source/hw2, with its own
   SQLite gradebook (DIR/course/gradebook.db); the assignment's cells are registered by
   ``nbgrader generate_assignment``.
2. ``autograder.intake`` stages the submissions into DIR/course/submitted (renamed, duplicated,
   unreadable and missing notebooks are resolved or recorded there).
3. ``nbgrader autograde`` runs once per student, with this repository on PYTHONPATH so the
   hidden tests reach ``autograder.checks``. A student already graded is skipped, so an
   interrupted run resumes; one whose grading fails or outlasts ``--student-timeout`` is
   recorded and the batch goes on.
4. ``nbgrader generate_feedback`` writes DIR/course/feedback/<student>/hw2/*.html.
5. From the gradebook: DIR/scores.csv (student × test cell), DIR/grades.csv (per student:
   autograded points, extra credit, points awaiting manual grading, problems) and
   DIR/summary.csv (per test cell: mean score and share of students who lost points on it —
   what to re-teach).

Extra credit: grade ids starting with ``ec_`` count apart from the 100 regular points.
"""
from __future__ import annotations

import argparse
import csv
import os
import shutil
import subprocess
import sys
from pathlib import Path

from autograder import intake

ROOT = Path(__file__).resolve().parents[1]
ASSIGNMENT = intake.ASSIGNMENT
DONE_MARKER = ".graded"


def _nbgrader(course: Path, *args: str, timeout: float | None = None) -> subprocess.CompletedProcess:
    # nbgrader creates its gradebook by running the `alembic` command: the interpreter's own
    # bin folder must be on PATH even when the virtualenv is not activated.
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    env = {**os.environ, "PATH": path, "PYTHONPATH": str(ROOT),
           "HW2_DEVICE": os.environ.get("HW2_DEVICE", "cpu")}
    return subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=course, env=env,
                          capture_output=True, text=True, timeout=timeout)


def make_course(course: Path) -> None:
    """An nbgrader course holding this repository's source/hw2 and its gradebook."""
    course.mkdir(parents=True, exist_ok=True)
    config = (ROOT / "nbgrader_config.py").read_text()
    config += f'\nc.CourseDirectory.db_url = "sqlite:///{course / "gradebook.db"}"\n'
    (course / "nbgrader_config.py").write_text(config)
    shutil.rmtree(course / "source", ignore_errors=True)
    shutil.copytree(ROOT / "source" / ASSIGNMENT, course / "source" / ASSIGNMENT)
    result = _nbgrader(course, "generate_assignment", ASSIGNMENT, "--force")
    if result.returncode != 0:
        raise RuntimeError(f"nbgrader generate_assignment failed:\n{result.stderr[-3000:]}")


def autograde(course: Path, student: str, timeout: float) -> str | None:
    """Grade one student; None when it worked, else what went wrong."""
    try:
        result = _nbgrader(course, "autograde", ASSIGNMENT, "--student", student, "--force",
                           timeout=timeout)
    except subprocess.TimeoutExpired:
        return f"grading stopped after {timeout:.0f} s"
    if result.returncode != 0:
        errors = [line for line in result.stderr.splitlines() if "ERROR" in line]
        return "nbgrader autograde failed: " + " / ".join(errors[:3] or [result.stderr[-300:]])
    (course / "autograded" / student / ASSIGNMENT / DONE_MARKER).write_text("")
    return None


def grade_cells(course: Path) -> tuple[list[str], dict[str, dict[str, tuple[float | None, float]]]]:
    """(test cell ids in notebook order, {student: {grade id: (score or None, max score)}})."""
    from nbgrader.api import Gradebook, MissingEntry
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        assignment = gb.find_assignment(ASSIGNMENT)
        cells = [(nb.name, cell.name, cell.max_score) for nb in assignment.notebooks
                 for cell in nb.grade_cells]
        table = {}
        for student in sorted(s.id for s in gb.students):
            row = {}
            for nb_name, cell_name, max_score in cells:
                try:
                    grade = gb.find_grade(cell_name, nb_name, ASSIGNMENT, student)
                    row[cell_name] = (grade.score, max_score)
                except MissingEntry:  # notebook missing: nothing to grade
                    row[cell_name] = (0.0, max_score)
            table[student] = row
    return [name for _, name, _ in cells], table


def write_reports(out: Path, ids: list[str], table: dict, problems: dict[str, list[str]]) -> None:
    with open(out / "scores.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["student", *ids])
        for student, row in table.items():
            writer.writerow([student, *("" if row[i][0] is None else row[i][0] for i in ids)])
    with open(out / "grades.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["student", "autograded", "extra_credit", "awaiting_manual", "problems"])
        for student, row in table.items():
            core = sum(s for i, (s, _) in row.items() if s is not None and not i.startswith("ec_"))
            extra = sum(s for i, (s, _) in row.items() if s is not None and i.startswith("ec_"))
            manual = sum(m for s, m in row.values() if s is None)
            writer.writerow([student, core, extra, manual, "; ".join(problems.get(student, []))])
    with open(out / "summary.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["grade_id", "max_score", "mean_score", "share_losing_points"])
        for grade_id in ids:
            scored = [row[grade_id] for row in table.values() if row[grade_id][0] is not None]
            if not scored:
                continue  # manually graded, not graded yet
            max_score = scored[0][1]
            mean = sum(s for s, _ in scored) / len(scored)
            losing = sum(s < m for s, m in scored) / len(scored)
            writer.writerow([grade_id, max_score, round(mean, 3), round(losing, 3)])


def grade(source: Path, out: Path, student_timeout: float = 900) -> dict[str, list[str]]:
    """Grade every submission in ``source``; returns the problems recorded per student."""
    course = out / "course"
    make_course(course)
    submissions = intake.stage(source, course / "submitted")
    problems = {s.student: list(s.problems) for s in submissions}
    for submission in sorted(submissions, key=lambda s: s.student):
        if (course / "autograded" / submission.student / ASSIGNMENT / DONE_MARKER).exists():
            continue  # graded by an earlier, interrupted run
        failure = autograde(course, submission.student, student_timeout)
        if failure:
            problems[submission.student].append(failure)
    _nbgrader(course, "generate_feedback", ASSIGNMENT, "--force")
    ids, table = grade_cells(course)
    write_reports(out, ids, table, problems)
    return problems


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path, help="folder of student folders, or an LMS .zip")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--student-timeout", type=float, default=900,
                        help="seconds one student's grading may take (default 900)")
    args = parser.parse_args(argv)
    problems = grade(args.source, args.out, args.student_timeout)
    with open(args.out / "grades.csv") as f:
        print(f.read(), end="")
    print(f"scores: {args.out / 'scores.csv'}; class summary: {args.out / 'summary.csv'}; "
          f"feedback: {args.out / 'course' / 'feedback'}")
    return 0 if problems is not None else 1


if __name__ == "__main__":
    sys.exit(main())
