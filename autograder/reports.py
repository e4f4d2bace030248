"""The batch's tables, from the gradebook, and the class at a glance.

write_reports(out, problems, flags)   DIR/scores.csv, grades.csv, tasks.csv, summary.csv,
                                      problems.json
print_summary(out)                    each student's points and problems, then each task's
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import cast

from autograder import gradebook
from autograder.kit import ASSIGNMENT

ISOLATION_FILE = "isolation.txt"  # DIR/isolation.txt: the sandbox mode that graded the batch


def write_reports(
    out: Path, problems: dict[str, list[str]], flags: dict[str, list[str]] | None = None
) -> None:
    """The tables of DIR, from the gradebook of DIR/course as it is now (hand grading
    included), for the students in ``problems``; DIR/problems.json keeps the problems and flags,
    which are not in the gradebook, so that ``autograder.export`` can rewrite the tables later."""
    flags = {s: (flags or {}).get(s, []) for s in problems}
    course = out / "course"
    graded = gradebook.cells(course / "source" / ASSIGNMENT)
    table = gradebook.scores(course, list(problems))
    (out / "problems.json").write_text(
        json.dumps(
            {s: {"problems": problems[s], "flags": flags[s]} for s in table},
            indent=1,
            sort_keys=True,
        )
    )
    with open(out / "scores.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["student", *(c.grade_id for c in graded)])
        for student, row in table.items():
            writer.writerow([student, *(_number(row[c.grade_id].value) for c in graded)])
    with open(out / "grades.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(GRADES_COLUMNS)
        for student, row in table.items():
            points = gradebook.totals(graded, row)
            writer.writerow(
                [
                    student,
                    *(_number(getattr(points, name)) for name in GRADES_COLUMNS[1:6]),
                    "; ".join(problems[student]),
                    "; ".join(flags[student]),
                ]
            )
    with open(out / "tasks.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["task", "points", "mean_score", "share_losing_points"])
        writer.writerows(task_summary(graded, table))
    with open(out / "summary.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["grade_id", "max_score", "mean_score", "share_losing_points"])
        for cell in graded:
            values = [row[cell.grade_id].value for row in table.values()]
            scored = [v for v in values if v is not None]
            if not scored or len(scored) < len(values):
                continue  # graded by hand, and not yet for every student
            losing = sum(score < cell.points for score in scored) / len(scored)
            writer.writerow(
                [
                    cell.grade_id,
                    _number(cell.points),
                    round(sum(scored) / len(scored), 3),
                    round(losing, 3),
                ]
            )


# grades.csv: the student, then gradebook.Totals' fields and total, then the grader's notes


GRADES_COLUMNS = (
    "student",
    "total",
    "autograded",
    "hand_graded",
    "extra_credit",
    "awaiting_manual",
    "problems",
    "flags",
)


def _number(value: float | None) -> str:
    """A score as the tables write it: "" while awaiting grading, "5" rather than "5.0"."""
    return "" if value is None else f"{round(value, 6):g}"


def task_summary(
    graded: list[gradebook.Cell], table: dict[str, dict[str, gradebook.Score]]
) -> list[tuple[str, str, float, float]]:
    """Per task (a grade id's part before "__"): (task, points, mean score, share of students
    who lost any of its points), cells scored for every student only (written answers once
    all are graded), in notebook order; an extra-credit task's points are what it can earn."""
    tasks: dict[str, list[gradebook.Cell]] = {}
    for cell in graded:
        if all(row[cell.grade_id].value is not None for row in table.values()):
            tasks.setdefault(cell.grade_id.split("__")[0], []).append(cell)
    rows = []
    for task, cells in tasks.items():
        points = sum(c.points for c in cells)
        # not None: ``tasks`` holds only the cells scored for every student
        scores = [sum(cast(float, row[c.grade_id].value) for c in cells) for row in table.values()]
        losing = sum(score < points for score in scores) / len(scores) if scores else 0.0
        rows.append(
            (task, _number(points), round(sum(scores) / max(len(scores), 1), 3), round(losing, 3))
        )
    return rows


def print_summary(out: Path) -> None:
    """The class at a glance: each student's points (and those awaiting grading by hand) and
    problems, then each task's."""
    with open(out / "grades.csv") as f:
        students = list(csv.DictReader(f))
    print(
        f"{'student':24s} {'total':>6s} {'autograded':>10s} {'by hand':>7s} {'extra':>6s} "
        f"{'awaiting':>8s}  problems"
    )
    for row in students:
        print(
            f"{row['student']:24s} {float(row['total']):6g} {float(row['autograded']):10g} "
            f"{float(row['hand_graded']):7g} {float(row['extra_credit']):6g} "
            f"{float(row['awaiting_manual']):8g}  {row['problems'][:100]}"
        )
    flagged = [row for row in students if row.get("flags")]
    if flagged:
        print(
            f"\nflagged for review ({len(flagged)}): what these submissions tried had no effect on "
            "any grade, but deserves a look"
        )
        for row in flagged:
            print(f"  {row['student']:22s} {row['flags'][:160]}")
    with open(out / "tasks.csv") as f:
        tasks = list(csv.DictReader(f))
    if (out / ISOLATION_FILE).exists():
        print(f"\nsandbox isolation: {(out / ISOLATION_FILE).read_text().strip()}")
    print(f"\n{'task':28s} {'points':>6s} {'mean':>6s}  students losing points")
    for row in tasks:
        print(
            f"{row['task']:28s} {float(row['points']):6g} {float(row['mean_score']):6.2f}  "
            f"{float(row['share_losing_points']):.0%}"
        )
    print(
        f"\ngrades: {out / 'grades.csv'}; per test cell: {out / 'scores.csv'}, "
        f"{out / 'summary.csv'}; per task: {out / 'tasks.csv'}; "
        f"feedback: {out / 'course' / 'feedback'}; gradebook: {out / 'course' / 'gradebook.db'}"
    )
