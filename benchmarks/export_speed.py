"""How long the export after hand grading takes for a large class (issue 20: 300 students ≤ 10 s).

    python benchmarks/export_speed.py [--students 300] [--keep DIR]

Builds a real nbgrader course of this kit (``course_setup.make_course``: generate_assignment, SQLite
gradebook) and fills its gradebook with ``--students`` submissions through nbgrader's own API
(every grade cell: an autograded score, a hand-graded score for most written answers, extra
credit on the EC cells), with an intake record of Canvas, Moodle and Blackboard identities.
Then times, each on the same gradebook:
- ``autograder.export``: the four tables and the three LMS files (no feedback);
- ``nbgrader export`` (nbgrader's own CSV), for comparison.
Setting the class up is not timed.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

from sqlalchemy.exc import SAWarning

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


from autograder import course_setup, export, gradebook, kit, lms  # noqa: E402


def fill(course: Path, students: int, seed: int = 0) -> list[str]:
    """``students`` submissions with random scores in the course's gradebook; their ids."""
    from nbgrader.api import Gradebook

    rng = random.Random(seed)
    graded = gradebook.cells(course / "source" / kit.ASSIGNMENT)
    ids = [f"s{i:04d}" for i in range(students)]
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb, warnings.catch_warnings():
        # nbgrader 0.9.6 trips SQLAlchemy 2's autoflush warnings while adding submissions; harmless
        warnings.simplefilter("ignore", SAWarning)
        for student in ids:
            gb.add_student(student)
            submission = gb.add_submission(kit.ASSIGNMENT, student)
            for notebook in submission.notebooks:
                for result in notebook.grades:
                    cell = next(c for c in graded if c.grade_id == result.name)
                    if cell.kind == gradebook.MANUAL:
                        result.manual_score = rng.choice([None, 0, cell.points / 2, cell.points])
                    elif cell.kind == gradebook.EXTRA:
                        result.auto_score, result.extra_credit = 0.0, rng.choice([0.0, cell.points])
                    else:
                        result.auto_score = rng.choice([0.0, cell.points])
            gb.db.commit()
    return ids


def identities(ids: list[str]) -> dict:
    """An intake.json record per student: a third each from Canvas, Moodle and Blackboard."""
    systems = [
        ("Canvas", "doe{}", "{}"),
        ("Moodle", "Jane Doe {}", "{}"),
        ("Blackboard", "", "jdoe{}"),
    ]
    record = {}
    for i, student in enumerate(ids):
        system, name, user = systems[i % 3]
        record[student] = {
            "notebooks": {},
            "problems": [],
            "identity": {"lms": system, "user": user.format(1000 + i), "name": name.format(i)},
        }
    return record


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=300)
    parser.add_argument("--keep", type=Path, help="build the class here and keep it")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as scratch:
        out = args.keep or Path(scratch)
        course = out / "course"
        started = time.perf_counter()
        course_setup.make_course(course)
        ids = fill(course, args.students)
        (course / "submitted").mkdir(parents=True, exist_ok=True)
        (course / "submitted" / "intake.json").write_text(json.dumps(identities(ids)))
        (out / "problems.json").write_text(
            json.dumps({s: {"problems": [], "flags": []} for s in ids})
        )
        print(f"class of {len(ids)} set up in {time.perf_counter() - started:.1f} s (not timed)")

        started = time.perf_counter()
        written = export.export(out, list(lms.SYSTEMS), pending="zero")
        ours = time.perf_counter() - started
        sizes = ", ".join(f"{name} {len(w.written)} rows" for name, w in written.items())
        print(f"autograder.export, tables + {len(written)} LMS files ({sizes}): {ours:.2f} s")

        started = time.perf_counter()
        run = subprocess.run(
            [sys.executable, "-m", "nbgrader", "export"],
            cwd=course,
            capture_output=True,
            text=True,
            env=course_setup.environment(),
        )
        theirs = time.perf_counter() - started
        print(f"nbgrader export: {theirs:.2f} s (exit {run.returncode})")
    return 0 if ours <= 10 else 1


if __name__ == "__main__":
    sys.exit(main())
