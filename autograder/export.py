"""After hand grading: the final tables, the feedback, and the files each LMS imports.

    python -m autograder.export DIR [--lms canvas moodle blackboard] [--assignment NAME]
                                    [--assignment-id ID] [--pending hold|zero] [--feedback]

DIR is what ``autograder.grade --out DIR`` (or ``autograder.shards merge``) wrote. From the
gradebook as it is now — autograded points, the written answers graded in formgrader, extra
credit on top of the 100 points (``autograder.gradebook``) — this rewrites DIR/grades.csv,
scores.csv, summary.csv and tasks.csv, and for each ``--lms`` writes DIR/lms/<lms>.csv keyed by
the identity the intake read from the download (``autograder.lms``), with the students it
could not key listed beside it.

``--pending hold`` (the default) leaves out the grade of a student whose written answers are
not all graded yet (the LMS keeps what it had), and lists them; ``--pending zero`` sends the
total as it stands, ungraded answers counting 0. ``--feedback`` regenerates every student's
feedback pages (nbgrader's generate_feedback), so that the points and comments typed in
formgrader appear there: about 1-10 s per student, so it is not the default.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from autograder import gradebook, intake, lms, nbgrader_steps, reports
from autograder.kit import ASSIGNMENT

PENDING = ("hold", "zero")


def identities(course: Path) -> dict[str, intake.Identity | None]:
    """{student: the LMS identity the intake read}, from DIR/course/submitted/intake.json."""
    staged = json.loads((course / "submitted" / "intake.json").read_text())
    return {
        student: intake.Identity(**record["identity"]) if record.get("identity") else None
        for student, record in staged.items()
    }


def rows(course: Path, students: list[str], pending: str) -> list[lms.Row]:
    """One LMS row per student: total = autograded + hand-graded + extra credit, or None
    (withheld) while written answers await grading and ``pending`` is "hold"."""
    graded = gradebook.cells(course / "source" / ASSIGNMENT)
    table = gradebook.scores(course, students)
    who = identities(course)
    found = []
    for student, row in table.items():
        points = gradebook.totals(graded, row)
        withheld = pending == "hold" and points.awaiting_manual > 0
        comment = (
            f"autograded {points.autograded:g}, written answers {points.hand_graded:g}, "
            f"extra credit {points.extra_credit:g}: {points.total:g} of "
            f"{gradebook.max_score(graded):g}"
        )
        if points.awaiting_manual:
            comment += f" ({points.awaiting_manual:g} points of written answers not graded yet)"
        found.append(
            lms.Row(
                student=student,
                identity=who.get(student),
                total=None if withheld else round(points.total, 2),
                pending=points.awaiting_manual,
                comment=comment,
            )
        )
    return found


def export(
    out: Path,
    systems: list[str],
    assignment: str = "HW2",
    assignment_id: str | None = None,
    pending: str = "hold",
    feedback: bool = False,
) -> dict[str, lms.Written]:
    """Rewrite DIR's tables from the gradebook; optionally regenerate feedback; write one file
    per LMS in ``systems``. Returns what each LMS file holds and leaves out."""
    course = out / "course"
    notes = json.loads((out / "problems.json").read_text())
    problems = {s: n["problems"] for s, n in notes.items()}
    reports.write_reports(out, problems, {s: n["flags"] for s, n in notes.items()})
    if feedback:
        for student in sorted(problems):
            if why := nbgrader_steps.feedback(course, student):
                print(f"{student}: feedback not written: {why}", file=sys.stderr)
    written = {}
    if systems:
        found = rows(course, sorted(problems), pending)
        points = gradebook.max_score(gradebook.cells(course / "source" / ASSIGNMENT))
        for system in systems:
            written[system] = lms.write(
                system,
                found,
                out / "lms",
                assignment=assignment,
                points_possible=points,
                assignment_id=assignment_id,
            )
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="the folder autograder.grade wrote (--out DIR)")
    parser.add_argument(
        "--lms",
        nargs="*",
        default=[],
        choices=lms.SYSTEMS,
        help="write the import file of these LMSs to DIR/lms/",
    )
    parser.add_argument(
        "--assignment", default="HW2", help="the assignment's name in the LMS (default %(default)s)"
    )
    parser.add_argument(
        "--assignment-id",
        default=None,
        help="the assignment's id in the LMS (Canvas, Blackboard), if it exists there",
    )
    parser.add_argument(
        "--pending",
        choices=PENDING,
        default="hold",
        help="a student whose written answers are not all graded: hold back "
        "their grade (default) or send the total with those answers at 0",
    )
    parser.add_argument(
        "--feedback",
        action="store_true",
        help="regenerate every student's feedback (shows hand-graded comments)",
    )
    args = parser.parse_args(argv)
    written = export(
        args.out, args.lms, args.assignment, args.assignment_id, args.pending, args.feedback
    )
    reports.print_summary(args.out)
    for system, result in written.items():
        print(
            f"\n{system}: {result.path} ({len(result.written)} students)"
            + (f"; not in it: {result.sidecar}" if result.sidecar else "")
        )
        for student, why in result.not_written:
            print(f"  not in it: {student}: {why}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
