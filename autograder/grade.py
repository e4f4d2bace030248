"""Batch grading with nbgrader: submissions in, gradebook and score tables out.

    python -m autograder.grade SUBMISSIONS (folder or LMS zip) --out DIR [--jobs N] [--trust-students]
                               [--shard i/K]

1. DIR/course is an nbgrader course made from this repository's source/hw2, with its own
   SQLite gradebook (DIR/course/gradebook.db; ``autograder.course_setup``). DIR/template is the
   same course with an empty gradebook; its release is what each submission is compared with.
2. ``autograder.intake`` stages the submissions into DIR/course/submitted (renamed, duplicated,
   unreadable and missing notebooks are resolved or recorded there; the student is who the
   LMS says handed the files in).
3. Workers (``--jobs N`` at a time, ``autograder.worker``) each grade one student through the
   trusted pipeline (``autograder.execution``): the notebooks are checked against the release,
   run in a scratch folder as slot N's unprivileged user (``autograder.sandbox``: no access to
   the kit, the course or other students; every process of that user killed afterwards), and
   each test cell is judged here, in the grader, from the data its probe returned. Where the
   machine allows, each slot also has a cgroup (memory and tasks of all its processes together)
   and namespaces (``sandbox.confinement.isolation``, probed at the start; DIR/isolation.txt
   and the summary say which mode graded the batch). The graded notebooks go to
   DIR/course/executed/<student>/hw2 with ``worker.json`` (problems, flags), which marks the
   student done: an interrupted run resumes from there.
4. The main process alone writes the gradebook: as each worker finishes, nbgrader's
   autograde without execution records that student (``nbgrader_steps.record``) and
   nbgrader's generate_feedback writes DIR/course/feedback/<student>/hw2/*.html.
5. From the gradebook (``autograder.reports``): DIR/scores.csv (student × grade cell),
   DIR/grades.csv (per student: total, autograded, hand-graded and extra-credit points,
   points awaiting grading by hand, problems, flags), DIR/summary.csv (per cell: mean score
   and share of students who lost points on it) and DIR/tasks.csv (the same per task — what
   to re-teach). ``autograder.export`` rewrites them after hand grading.

``--shard i/K`` grades only the students of shard i of K (``autograder.shards``: split by a
hash of the student id), into DIR as a batch of its own plus DIR/shard.json;
``python -m autograder.shards merge`` makes one gradebook and the tables from the K shards.

Extra credit is nbgrader's: its cells have 0 points (max_score is the 100 regular points) and
what they earn is recorded as ``extra_credit`` on top.
Without root (no sandbox users), grading refuses to start unless ``--trust-students``: the
students' code then runs as the grader's own user, and could change its grades.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import queue
import sys
import tempfile
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

from autograder import course_setup, intake, reports, shards, worker
from autograder.limits import GiB, Limits
from autograder.nbgrader_steps import EXECUTED
from autograder.sandbox import accounts, confinement, fingerprint, provision

ROOT = Path(__file__).resolve().parents[1]
TRUSTED = "none: --trust-students (students' code ran as the grader's own user)"


def grade(
    source: Path,
    out: Path,
    jobs: int = 1,
    limits: Limits | None = None,
    feedback: bool = True,
    trust_students: bool = False,
    shard: tuple[int, int] | None = None,
) -> dict[str, list[str]]:
    """Grade every submission in ``source``; returns the problems recorded per student.
    ``feedback=False`` skips the feedback HTML (the tables are written either way).
    ``trust_students`` runs submissions as this process's own user, without the sandbox.
    ``shard`` (i, K) grades only shard i of K's students (``autograder.shards``)."""
    limits = limits or Limits.for_jobs(jobs)
    if not trust_students and (why := provision.refusal(ROOT, jobs)):
        todo = (
            "Grade as root (a scheduler's job or a pod too), on a machine set up once with "
            "`bash run.sh sandbox`"
            if os.geteuid() != 0
            else "Run `python -m autograder.sandbox setup` as root first"
        )
        raise SystemExit(
            f"refusing to grade: {why}. {todo}, or pass --trust-students to run "
            "students' code as this user (it could then change its own and other "
            "students' grades)"
        )
    out.mkdir(parents=True, exist_ok=True)
    if not trust_students:
        # the course (reference notebooks, every student's hand-in, the gradebook) is root's
        # alone; a sandbox user needs nothing in it
        os.chmod(out, 0o700)
    claimed = contextlib.nullcontext([None] * jobs) if trust_students else accounts.claim(jobs)
    with claimed as held:
        # what this machine allows, probed once per batch with a slot of its own; every run uses it
        mode = TRUSTED if trust_students else str(confinement.isolation(held[0], refresh=True))
        (out / reports.ISOLATION_FILE).write_text(mode + "\n")
        return _grade(source, out, jobs, limits, feedback, held, shard)


def _grade(
    source: Path,
    out: Path,
    jobs: int,
    limits: Limits,
    feedback: bool,
    held: Sequence[accounts.Slot | None],
    shard: tuple[int, int] | None = None,
) -> dict[str, list[str]]:
    from tqdm import tqdm

    slots: queue.Queue[accounts.Slot | None] = queue.Queue()
    for slot in held:
        slots.put(slot)
    manifest = fingerprint.kit_manifest(ROOT)
    if changed := fingerprint.verify_kit(ROOT, manifest):  # a virtualenv others could write
        raise worker.KitChanged(f"the kit is not safe to grade with: {changed[:5]}")
    course, template = out / "course", out / "template"
    course_setup.make_course(template)
    course_setup.make_course(course)  # a rerun keeps its grades (the assignment updated if need be)
    if shard:
        submissions, everyone = shards.stage(source, course / "submitted", shard)
        shards.write_record(
            out,
            shard,
            [s.student for s in submissions],
            everyone,
            manifest,
            (out / reports.ISOLATION_FILE).read_text().strip(),
        )
    else:
        submissions = intake.stage(source, course / "submitted")
    students = sorted(s.student for s in submissions)
    problems = {s.student: list(s.problems) for s in submissions}
    flags: dict[str, list[str]] = {s: [] for s in students}
    executed = course / EXECUTED
    pending = [s for s in students if not (executed / s / worker.WORKER_RECORD).exists()]

    def execute(work: Path, student: str) -> tuple[list[str], list[str]]:
        slot = slots.get()
        try:
            return worker.execute_student(out, work, student, limits, slot)
        finally:
            slots.put(slot)

    def finish(student: str) -> None:  # one writer: only this thread touches the gradebook
        found, flagged = worker.finish_student(course, student, manifest, feedback)
        problems[student] += found
        flags[student] += flagged

    with (
        tempfile.TemporaryDirectory(prefix="hw2-grading-") as work,
        ThreadPoolExecutor(max_workers=jobs) as pool,
        tqdm(
            total=len(students), unit="student", desc="grading", file=sys.stderr, disable=None
        ) as progress,
    ):
        os.chmod(work, 0o711)  # each slot's scratch folder inside is its user's alone
        futures = {pool.submit(execute, Path(work), student): student for student in pending}
        for student in students:  # executed by an earlier, interrupted run: record them now
            if student not in pending:
                finish(student)
                progress.update()
        for future in as_completed(futures):  # record each student while the others run
            student = futures[future]
            if future.exception():  # a fault of the grader's own (disk full, ...): say so, go on
                problems[student].append(f"grading crashed: {future.exception()!r}")
            else:
                finish(student)
            progress.update()
    if changed := fingerprint.verify_kit(ROOT, manifest):
        raise worker.KitChanged(f"the kit changed while grading: {changed[:5]}")
    reports.write_reports(out, problems, flags)
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path, help="folder of student folders, or an LMS .zip")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--jobs", type=int, default=1, help="students graded at once (default 1)")
    parser.add_argument(
        "--student-timeout",
        type=float,
        default=Limits.wall,
        help=f"wall seconds one student's grading may take (default {Limits.wall:.0f})",
    )
    parser.add_argument(
        "--cell-timeout",
        type=int,
        default=Limits.cell,
        help="seconds one cell may run (default %(default)s)",
    )
    parser.add_argument(
        "--memory-gib",
        type=float,
        default=Limits.memory / GiB,
        help="memory per student, GiB: each process's address space, and all its "
        "processes together where a cgroup is possible (default %(default)s)",
    )
    parser.add_argument(
        "--threads", type=int, default=0, help="torch threads per worker (default: cores / jobs)"
    )
    parser.add_argument(
        "--trust-students",
        action="store_true",
        help="run submissions as this user, without the sandbox (for a machine "
        "without root; a submission can then change grades)",
    )
    parser.add_argument(
        "--shard",
        type=shards.parse,
        metavar="i/K",
        help="grade only shard i of K (1-based) of the students, into --out as "
        "a batch of its own; merge the K shards with "
        "`python -m autograder.shards merge`",
    )
    args = parser.parse_args(argv)
    limits = Limits.for_jobs(
        args.jobs,
        threads=args.threads,
        wall=args.student_timeout,
        cell=args.cell_timeout,
        memory=int(args.memory_gib * GiB),
    )
    grade(
        args.source,
        args.out,
        args.jobs,
        limits,
        trust_students=args.trust_students,
        shard=args.shard,
    )
    reports.print_summary(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
