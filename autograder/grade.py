"""Batch grading with nbgrader: submissions in, gradebook and score tables out.

    python -m autograder.grade SUBMISSIONS (folder or LMS zip) --out DIR [--jobs N] [--trust-students]
                               [--shard i/K]

1. DIR/course is an nbgrader course made from this repository's source/hw2, with its own
   SQLite gradebook (DIR/course/gradebook.db). DIR/template is the same course with an empty
   gradebook; its release is what each submission is compared with.
2. ``autograder.intake`` stages the submissions into DIR/course/submitted (renamed, duplicated,
   unreadable and missing notebooks are resolved or recorded there; the student is who the
   LMS says handed the files in).
3. Workers (``--jobs N`` at a time) each grade one student through the trusted pipeline
   (``autograder.execution``): the notebooks are checked against the release, run in a scratch
   folder as slot N's unprivileged user (``autograder.sandbox``: no access to the kit, the
   course or other students; every process of that user killed afterwards), and each test
   cell is judged here, in the grader, from the data its probe returned. Where the machine
   allows, each slot also has a cgroup (memory and tasks of all its processes together) and
   namespaces (``confinement.isolation``, probed at the start; DIR/isolation.txt and the summary
   say which mode graded the batch). The graded notebooks
   go to DIR/course/executed/<student>/hw2 with ``worker.json`` (problems, flags), which marks
   the student done: an interrupted run resumes from there.
4. The main process alone writes the gradebook: as each worker finishes, nbgrader's
   autograde without execution records that student (``nbgrader_steps.record``) and
   nbgrader's generate_feedback writes DIR/course/feedback/<student>/hw2/*.html.
5. From the gradebook (``autograder.gradebook``): DIR/scores.csv (student × grade cell),
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
import csv
import json
import os
import shutil
import queue
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

from autograder import execution, gradebook, intake, nbgrader_steps, shards
from autograder.kit import ASSIGNMENT
from autograder.limits import GiB, Limits
from autograder.sandbox import accounts, confinement, fingerprint, provision
from autograder.nbgrader_steps import EXECUTED

ROOT = Path(__file__).resolve().parents[1]
WORKER_RECORD = "worker.json"
ISOLATION_FILE = "isolation.txt"  # DIR/isolation.txt: the sandbox mode that graded the batch
TRUSTED = "none: --trust-students (students' code ran as the grader's own user)"


def _environment() -> dict[str, str]:
    # nbgrader creates its gradebook by running the `alembic` command: the interpreter's own
    # bin folder must be on PATH even when the virtualenv is not activated.
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    return {**os.environ, "PATH": path, "PYTHONPATH": str(ROOT)}


def _nbgrader(course: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=course,
                          env=_environment(), capture_output=True, text=True)


def make_course(course: Path) -> None:
    """An nbgrader course holding this repository's source/hw2 and its gradebook."""
    course.mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "nbgrader_config.py", course / "nbgrader_config.py")
    shutil.rmtree(course / "source", ignore_errors=True)
    shutil.copytree(ROOT / "source" / ASSIGNMENT, course / "source" / ASSIGNMENT)
    result = _nbgrader(course, "generate_assignment", ASSIGNMENT, "--force")
    if result.returncode != 0:
        raise RuntimeError(f"nbgrader generate_assignment failed:\n{result.stderr[-3000:]}")


def execute_student(out: Path, work: Path, student: str, limits: Limits,
                    slot: accounts.Slot | None) -> tuple[list[str], list[str]]:
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
        outcome = execution.grade_student(submitted, out / "template" / "release" / ASSIGNMENT,
                                          out / "template" / "source" / ASSIGNMENT, scratch, slot, limits)
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
        json.dumps({"problems": outcome.problems, "flags": outcome.flags}, indent=1))
    return outcome.problems, outcome.flags


def record_student(course: Path, student: str) -> tuple[list[str], list[str]]:
    """Write one executed student to the gradebook (main process only); (problems, flags)."""
    record = json.loads((course / EXECUTED / student / WORKER_RECORD).read_text())
    problems = record["problems"]
    if any((course / EXECUTED / student / ASSIGNMENT).glob("*.ipynb")):
        error = nbgrader_steps.record(course, student)
        if error:
            problems.append(f"grades not recorded: {error}")
    return problems, record.get("flags", [])


def write_reports(out: Path, problems: dict[str, list[str]],
                  flags: dict[str, list[str]] | None = None) -> None:
    """The tables of DIR, from the gradebook of DIR/course as it is now (hand grading
    included), for the students in ``problems``; DIR/problems.json keeps the problems and flags,
    which are not in the gradebook, so that ``autograder.export`` can rewrite the tables later."""
    flags = {s: (flags or {}).get(s, []) for s in problems}
    course = out / "course"
    graded = gradebook.cells(course / "source" / ASSIGNMENT)
    table = gradebook.scores(course, list(problems))
    (out / "problems.json").write_text(json.dumps(
        {s: {"problems": problems[s], "flags": flags[s]} for s in table}, indent=1, sort_keys=True))
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
            writer.writerow([student, *(_number(getattr(points, name)) for name in GRADES_COLUMNS[1:6]),
                             "; ".join(problems[student]), "; ".join(flags[student])])
    with open(out / "tasks.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["task", "points", "mean_score", "share_losing_points"])
        writer.writerows(task_summary(graded, table))
    with open(out / "summary.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["grade_id", "max_score", "mean_score", "share_losing_points"])
        for cell in graded:
            scored = [row[cell.grade_id].value for row in table.values()]
            if not scored or None in scored:
                continue  # graded by hand, and not yet for every student
            losing = sum(score < cell.points for score in scored) / len(scored)
            writer.writerow([cell.grade_id, _number(cell.points), round(sum(scored) / len(scored), 3),
                             round(losing, 3)])


# grades.csv: the student, then gradebook.Totals' fields and total, then the grader's notes
GRADES_COLUMNS = ("student", "total", "autograded", "hand_graded", "extra_credit", "awaiting_manual",
                  "problems", "flags")


def _number(value: float | None) -> str:
    """A score as the tables write it: "" while awaiting grading, "5" rather than "5.0"."""
    return "" if value is None else f"{round(value, 6):g}"


def task_summary(graded: list[gradebook.Cell], table: dict) -> list[tuple[str, str, float, float]]:
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
        scores = [sum(row[c.grade_id].value for c in cells) for row in table.values()]
        losing = sum(score < points for score in scores) / len(scores) if scores else 0.0
        rows.append((task, _number(points), round(sum(scores) / max(len(scores), 1), 3), round(losing, 3)))
    return rows


class KitChanged(RuntimeError):
    """The kit's files changed during a batch: no grade after that point can be trusted."""


def finish_student(course: Path, student: str, manifest: dict[str, str],
                   feedback: bool) -> tuple[list[str], list[str]]:
    """The one writer's step for an executed student (a batch's main thread, or a merge):
    check the kit is still ``manifest``, record the student in the gradebook, write its
    feedback; (problems, flags) found after intake."""
    if changed := fingerprint.verify_kit(ROOT, manifest, deep=False):
        raise KitChanged(f"the kit changed while grading (after {student}): {changed[:5]}")
    problems, flags = record_student(course, student)
    if feedback and (why := nbgrader_steps.feedback(course, student)):
        problems.append(f"feedback not written: {why}")
    return problems, flags


def grade(source: Path, out: Path, jobs: int = 1, limits: Limits | None = None,
          feedback: bool = True, trust_students: bool = False,
          shard: tuple[int, int] | None = None) -> dict[str, list[str]]:
    """Grade every submission in ``source``; returns the problems recorded per student.
    ``feedback=False`` skips the feedback HTML (the tables are written either way).
    ``trust_students`` runs submissions as this process's own user, without the sandbox.
    ``shard`` (i, K) grades only shard i of K's students (``autograder.shards``)."""
    limits = limits or Limits.for_jobs(jobs)
    if not trust_students and (why := provision.refusal(ROOT, jobs)):
        todo = ("Grade as root (a scheduler's job or a pod too), on a machine set up once with "
                "`bash run.sh sandbox`" if os.geteuid() != 0
                else "Run `python -m autograder.sandbox setup` as root first")
        raise SystemExit(f"refusing to grade: {why}. {todo}, or pass --trust-students to run "
                         "students' code as this user (it could then change its own and other "
                         "students' grades)")
    out.mkdir(parents=True, exist_ok=True)
    if not trust_students:
        # the course (reference notebooks, every student's hand-in, the gradebook) is root's
        # alone; a sandbox user needs nothing in it
        os.chmod(out, 0o700)
    claimed = contextlib.nullcontext([None] * jobs) if trust_students else accounts.claim(jobs)
    with claimed as held:
        # what this machine allows, probed once per batch with a slot of its own; every run uses it
        mode = TRUSTED if trust_students else str(confinement.isolation(held[0], refresh=True))
        (out / ISOLATION_FILE).write_text(mode + "\n")
        return _grade(source, out, jobs, limits, feedback, held, shard)


def _grade(source: Path, out: Path, jobs: int, limits: Limits, feedback: bool,
           held: list[accounts.Slot | None], shard: tuple[int, int] | None = None
           ) -> dict[str, list[str]]:
    from tqdm import tqdm
    slots: queue.Queue = queue.Queue()
    for slot in held:
        slots.put(slot)
    manifest = fingerprint.kit_manifest(ROOT)
    if changed := fingerprint.verify_kit(ROOT, manifest):  # a virtualenv others could write
        raise KitChanged(f"the kit is not safe to grade with: {changed[:5]}")
    course, template = out / "course", out / "template"
    make_course(template)
    if (course / "gradebook.db").exists():
        make_course(course)  # a rerun: update the assignment, keep the grades
    else:  # the same course as the template: a copy saves a second generate_assignment
        shutil.copytree(template, course, dirs_exist_ok=True)
    if shard:
        submissions, everyone = shards.stage(source, course / "submitted", shard)
        shards.write_record(out, shard, [s.student for s in submissions], everyone, manifest,
                            (out / ISOLATION_FILE).read_text().strip())
    else:
        submissions = intake.stage(source, course / "submitted")
    students = sorted(s.student for s in submissions)
    problems = {s.student: list(s.problems) for s in submissions}
    flags: dict[str, list[str]] = {s: [] for s in students}
    executed = course / EXECUTED
    pending = [s for s in students if not (executed / s / WORKER_RECORD).exists()]

    def execute(work: Path, student: str):
        slot = slots.get()
        try:
            return execute_student(out, work, student, limits, slot)
        finally:
            slots.put(slot)

    def finish(student: str) -> None:  # one writer: only this thread touches the gradebook
        found, flagged = finish_student(course, student, manifest, feedback)
        problems[student] += found
        flags[student] += flagged

    with tempfile.TemporaryDirectory(prefix="hw2-grading-") as work, \
            ThreadPoolExecutor(max_workers=jobs) as pool, \
            tqdm(total=len(students), unit="student", desc="grading", file=sys.stderr,
                 disable=None) as progress:
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
        raise KitChanged(f"the kit changed while grading: {changed[:5]}")
    write_reports(out, problems, flags)
    return problems


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path, help="folder of student folders, or an LMS .zip")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--jobs", type=int, default=1, help="students graded at once (default 1)")
    parser.add_argument("--student-timeout", type=float, default=Limits.wall,
                        help=f"wall seconds one student's grading may take (default {Limits.wall:.0f})")
    parser.add_argument("--cell-timeout", type=int, default=Limits.cell,
                        help="seconds one cell may run (default %(default)s)")
    parser.add_argument("--memory-gib", type=float, default=Limits.memory / GiB,
                        help="memory per student, GiB: each process's address space, and all its "
                             "processes together where a cgroup is possible (default %(default)s)")
    parser.add_argument("--threads", type=int, default=0,
                        help="torch threads per worker (default: cores / jobs)")
    parser.add_argument("--trust-students", action="store_true",
                        help="run submissions as this user, without the sandbox (for a machine "
                             "without root; a submission can then change grades)")
    parser.add_argument("--shard", type=shards.parse, metavar="i/K",
                        help="grade only shard i of K (1-based) of the students, into --out as "
                             "a batch of its own; merge the K shards with "
                             "`python -m autograder.shards merge`")
    args = parser.parse_args(argv)
    limits = Limits.for_jobs(args.jobs, threads=args.threads, wall=args.student_timeout,
                             cell=args.cell_timeout, memory=int(args.memory_gib * GiB))
    grade(args.source, args.out, args.jobs, limits, trust_students=args.trust_students,
          shard=args.shard)
    print_summary(args.out)
    return 0


def print_summary(out: Path) -> None:
    """The class at a glance: each student's points (and those awaiting grading by hand) and
    problems, then each task's."""
    with open(out / "grades.csv") as f:
        students = list(csv.DictReader(f))
    print(f"{'student':24s} {'total':>6s} {'autograded':>10s} {'by hand':>7s} {'extra':>6s} "
          f"{'awaiting':>8s}  problems")
    for row in students:
        print(f"{row['student']:24s} {float(row['total']):6g} {float(row['autograded']):10g} "
              f"{float(row['hand_graded']):7g} {float(row['extra_credit']):6g} "
              f"{float(row['awaiting_manual']):8g}  {row['problems'][:100]}")
    flagged = [row for row in students if row.get("flags")]
    if flagged:
        print(f"\nflagged for review ({len(flagged)}): what these submissions tried had no effect on "
              "any grade, but deserves a look")
        for row in flagged:
            print(f"  {row['student']:22s} {row['flags'][:160]}")
    with open(out / "tasks.csv") as f:
        tasks = list(csv.DictReader(f))
    if (out / ISOLATION_FILE).exists():
        print(f"\nsandbox isolation: {(out / ISOLATION_FILE).read_text().strip()}")
    print(f"\n{'task':28s} {'points':>6s} {'mean':>6s}  students losing points")
    for row in tasks:
        print(f"{row['task']:28s} {float(row['points']):6g} {float(row['mean_score']):6.2f}  "
              f"{float(row['share_losing_points']):.0%}")
    print(f"\ngrades: {out / 'grades.csv'}; per test cell: {out / 'scores.csv'}, "
          f"{out / 'summary.csv'}; per task: {out / 'tasks.csv'}; "
          f"feedback: {out / 'course' / 'feedback'}; gradebook: {out / 'course' / 'gradebook.db'}")


if __name__ == "__main__":
    sys.exit(main())
