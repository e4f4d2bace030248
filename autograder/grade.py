"""Batch grading with nbgrader: submissions in, gradebook and score tables out.

    python -m autograder.grade SUBMISSIONS (folder or LMS zip) --out DIR [--jobs N]

1. DIR/course is an nbgrader course made from this repository's source/hw2, with its own
   SQLite gradebook (DIR/course/gradebook.db). DIR/template is the same course with an empty
   gradebook, the starting point of every student's scratch course.
2. ``autograder.intake`` stages the submissions into DIR/course/submitted (renamed, duplicated,
   unreadable and missing notebooks are resolved or recorded there).
3. Workers (``--jobs N`` at a time) each execute one student in a private copy of the
   template in a temporary folder: nbgrader autograde one notebook at a time (``autograder.nbgrader_steps``),
   with this repository on PYTHONPATH so hidden tests reach ``autograder.checks``, one torch
   thread per worker by default, an address-space and CPU-time limit on the worker and its
   kernels, and a wall-clock limit per student after which its processes are killed. The
   executed notebooks go to DIR/course/executed/<student>/hw2 with ``worker.json``
   (problems seen), which marks the student done: an interrupted run resumes from there.
4. The main process alone writes the gradebook: as each worker finishes, nbgrader's
   autograde without execution records that student (``nbgrader_steps.record``) and
   nbgrader's generate_feedback writes DIR/course/feedback/<student>/hw2/*.html.
5. From the gradebook: DIR/scores.csv (student × test cell), DIR/grades.csv (per student:
   autograded points, extra credit, points awaiting manual grading, problems),
   DIR/summary.csv (per test cell: mean score and share of students who lost points on it)
   and DIR/tasks.csv (the same per task — what to re-teach).

Extra credit: grade ids starting with ``ec_`` count apart from the 100 regular points.
What the limits protect against: crashes, hangs, memory hogs and stray writes of a student's
code; not a student who deliberately attacks the grader as the same OS user (grade such a
class in containers, e.g. with the Gradescope bundle, one container per submission).
"""
from __future__ import annotations

import argparse
import contextlib
import csv
import json
import math
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

from autograder import intake, nbgrader_steps

ROOT = Path(__file__).resolve().parents[1]
ASSIGNMENT = intake.ASSIGNMENT
WORKER_RECORD = "worker.json"
GiB = 2**30


@dataclass(frozen=True)
class Limits:
    """What one student's grading may use: wall seconds, CPU seconds per process, address
    space per process (bytes), torch threads."""
    wall: float = 900
    cpu: int = 1800
    memory: int = 4 * GiB
    threads: int = 1
    cell: int = 120  # seconds one cell may run (nbgrader's Execute.timeout)


def available_cpus() -> int:
    """Cores this process may use: its affinity mask, lowered to its cgroup's CPU quota if
    one is set (a Gradescope container of 0.5 vCPU sees every core of its host)."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    quota = _cgroup_cpu_quota()
    return max(1, min(cpus, math.ceil(quota)) if quota else cpus)


def _cgroup_cpu_quota() -> float | None:
    """CPUs' worth of time per period this process's cgroup allows (v1 or v2), or None."""
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:  # not Linux
        return None
    quotas = []
    for line in lines:
        with contextlib.suppress(OSError, ValueError):
            _, controllers, path = line.split(":", 2)
            if controllers == "":  # v2: "0::/path"
                quota, period = (Path("/sys/fs/cgroup") / path.lstrip("/") / "cpu.max").read_text().split()
            elif "cpu" in controllers.split(","):  # v1: "4:cpu,cpuacct:/path"
                folder = Path("/sys/fs/cgroup/cpu") / path.lstrip("/")
                quota = (folder / "cpu.cfs_quota_us").read_text().strip()
                period = (folder / "cpu.cfs_period_us").read_text().strip()
            else:
                continue
            if quota not in ("max", "-1"):
                quotas.append(int(quota) / int(period))
    return min(quotas, default=None)


def _environment(threads: int) -> dict[str, str]:
    # nbgrader creates its gradebook by running the `alembic` command: the interpreter's own
    # bin folder must be on PATH even when the virtualenv is not activated.
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    return {**os.environ, "PATH": path, "PYTHONPATH": str(ROOT),
            "HW2_DEVICE": os.environ.get("HW2_DEVICE", "cpu"),
            # two workers with two torch threads each run 5-8x slower on 2 cores than with one
            "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads),
            # a fixed mmap threshold makes glibc hand large freed tensors back to the system:
            # notebook 4's kernel peaks at 480 MiB instead of 670-840 (Gradescope allows 768 MB).
            # A 4 MiB threshold costs no time; 128 KiB made notebook 3 a third slower.
            "MALLOC_MMAP_THRESHOLD_": str(4 * 2**20)}


def _nbgrader(course: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=course,
                          env=_environment(1), capture_output=True, text=True)


def make_course(course: Path, cell_timeout: int = Limits.cell) -> None:
    """An nbgrader course holding this repository's source/hw2 and its gradebook."""
    course.mkdir(parents=True, exist_ok=True)
    config = (ROOT / "nbgrader_config.py").read_text()
    (course / "nbgrader_config.py").write_text(config + f"\nc.Execute.timeout = {cell_timeout}\n")
    shutil.rmtree(course / "source", ignore_errors=True)
    shutil.copytree(ROOT / "source" / ASSIGNMENT, course / "source" / ASSIGNMENT)
    result = _nbgrader(course, "generate_assignment", ASSIGNMENT, "--force")
    if result.returncode != 0:
        raise RuntimeError(f"nbgrader generate_assignment failed:\n{result.stderr[-3000:]}")


def _kill_tree(pid: int) -> None:
    """Kill a worker and everything it started. Kernels run in sessions of their own
    (jupyter_client starts them so), so the process group alone is not enough."""
    import psutil
    try:
        processes = psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        processes = []
    for group in {pid} | {_group(p.pid) for p in processes} - {None}:
        try:
            os.killpg(group, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    for process in processes:
        with contextlib.suppress(psutil.NoSuchProcess):
            process.kill()


def _group(pid: int) -> int | None:
    try:
        return os.getpgid(pid)
    except ProcessLookupError:
        return None


def execute_student(out: Path, work: Path, student: str, limits: Limits) -> list[str]:
    """Run one student's notebooks in a private scratch course under ``work`` (outside DIR, so
    no relative path from there reaches the class course); move the executed notebooks to
    DIR/course/executed/<student>/hw2 and return the problems seen."""
    course, scratch = out / "course", work / student
    shutil.rmtree(scratch, ignore_errors=True)
    shutil.copytree(out / "template", scratch, ignore=shutil.ignore_patterns("release"))
    shutil.copytree(course / "submitted" / student, scratch / "submitted" / student)
    command = [sys.executable, "-m", "autograder.nbgrader_steps", str(scratch), student,
               "--memory", str(limits.memory), "--cpu", str(limits.cpu)]
    # its own session, so that the worker, its kernels and anything they start die together
    process = subprocess.Popen(command, cwd=scratch, env=_environment(limits.threads),
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               start_new_session=True)
    problems = []
    try:
        log, _ = process.communicate(timeout=limits.wall)
    except subprocess.TimeoutExpired:
        _kill_tree(process.pid)
        log, _ = process.communicate()
        problems.append(f"grading stopped after {limits.wall:.0f} s; "
                        "notebooks not finished by then score 0")
    finally:
        _kill_tree(process.pid)
    outcome_file = scratch / nbgrader_steps.OUTCOME
    outcome = json.loads(outcome_file.read_text()) if outcome_file.exists() else {}
    problems += [f"{notebook}.ipynb could not be graded ({why})"
                 for notebook, why in outcome.items() if why]
    if not problems and process.returncode != 0:
        problems.append(f"grading crashed (exit {process.returncode}): {log.strip()[-300:]}")
    executed = course / nbgrader_steps.EXECUTED / student / ASSIGNMENT
    shutil.rmtree(executed.parent, ignore_errors=True)
    executed.mkdir(parents=True)
    for notebook, why in outcome.items():  # only notebooks that finished
        if why is None:
            shutil.copy(scratch / "autograded" / student / ASSIGNMENT / f"{notebook}.ipynb",
                        executed / f"{notebook}.ipynb")
    timestamp = course / "submitted" / student / ASSIGNMENT / "timestamp.txt"
    if timestamp.exists():
        shutil.copy(timestamp, executed / timestamp.name)
    (executed.parent / WORKER_RECORD).write_text(json.dumps({"problems": problems}, indent=1))
    shutil.rmtree(scratch, ignore_errors=True)
    return problems


def record_student(course: Path, student: str) -> list[str]:
    """Write one executed student to the gradebook (main process only); problems seen."""
    problems = json.loads((course / nbgrader_steps.EXECUTED / student / WORKER_RECORD).read_text())["problems"]
    if any((course / nbgrader_steps.EXECUTED / student / ASSIGNMENT).glob("*.ipynb")):
        error = nbgrader_steps.record(course, student)
        if error:
            problems.append(f"grades not recorded: {error}")
    return problems


def grade_cells(course: Path, students: list[str]
                ) -> tuple[list[str], dict[str, dict[str, tuple[float | None, float]]]]:
    """(grade cell ids in notebook order, {student: {grade id: (score or None, max score)}}).
    None: an answer awaiting manual grading (an unchanged blank answer scores 0 at once).
    A student or notebook absent from the gradebook (nothing could be graded) scores 0."""
    from nbgrader.api import Gradebook, MissingEntry
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        assignment = gb.find_assignment(ASSIGNMENT)
        cells = [(nb.name, cell.name, cell.max_score) for nb in assignment.notebooks
                 for cell in nb.grade_cells]
        table = {}
        for student in sorted(students):
            row = {}
            for nb_name, cell_name, max_score in cells:
                try:
                    grade = gb.find_grade(cell_name, nb_name, ASSIGNMENT, student)
                    # not grade.score: nbgrader reports 0 for an answer awaiting manual grading
                    score = grade.manual_score if grade.manual_score is not None else grade.auto_score
                    row[cell_name] = (score, max_score)
                except MissingEntry:
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
    with open(out / "tasks.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["task", "points", "mean_score", "share_losing_points"])
        writer.writerows(task_summary(ids, table))
    with open(out / "summary.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["grade_id", "max_score", "mean_score", "share_losing_points"])
        for grade_id in ids:
            scored = [row[grade_id] for row in table.values()]
            if not scored or any(score is None for score, _ in scored):
                continue  # graded by hand, and not yet for every student
            max_score = scored[0][1]
            mean = sum(s for s, _ in scored) / len(scored)
            losing = sum(s < m for s, m in scored) / len(scored)
            writer.writerow([grade_id, max_score, round(mean, 3), round(losing, 3)])


def task_summary(ids: list[str], table: dict) -> list[tuple[str, float, float, float]]:
    """Per task (a grade id's part before "__"): (task, points, mean score, share of students
    who lost any of its points), autograded cells only, in notebook order."""
    tasks: dict[str, list[str]] = {}
    for grade_id in ids:
        if all(row[grade_id][0] is not None for row in table.values()):
            tasks.setdefault(grade_id.split("__")[0], []).append(grade_id)
    rows = []
    for task, cells in tasks.items():
        points = sum(next(iter(table.values()))[c][1] for c in cells) if table else 0.0
        scores = [sum(row[c][0] for c in cells) for row in table.values()]
        losing = sum(score < points for score in scores) / len(scores) if scores else 0.0
        rows.append((task, points, round(sum(scores) / max(len(scores), 1), 3), round(losing, 3)))
    return rows


def grade(source: Path, out: Path, jobs: int = 1, limits: Limits | None = None,
          feedback: bool = True) -> dict[str, list[str]]:
    """Grade every submission in ``source``; returns the problems recorded per student.
    ``feedback=False`` skips the feedback HTML (the tables are written either way)."""
    from tqdm import tqdm
    limits = limits or Limits(threads=max(1, available_cpus() // jobs))
    course, template = out / "course", out / "template"
    make_course(template, limits.cell)
    if (course / "gradebook.db").exists():
        make_course(course, limits.cell)  # a rerun: update the assignment, keep the grades
    else:  # the same course as the template: a copy saves a second generate_assignment
        shutil.copytree(template, course, dirs_exist_ok=True)
    submissions = intake.stage(source, course / "submitted")
    students = sorted(s.student for s in submissions)
    problems = {s.student: list(s.problems) for s in submissions}
    executed = course / nbgrader_steps.EXECUTED
    pending = [s for s in students if not (executed / s / WORKER_RECORD).exists()]

    def finish(student: str) -> None:  # one writer: only this thread touches the gradebook
        problems[student] += record_student(course, student)
        if feedback and (why := nbgrader_steps.feedback(course, student)):
            problems[student].append(f"feedback not written: {why}")

    with tempfile.TemporaryDirectory(prefix="hw2-grading-") as work, \
            ThreadPoolExecutor(max_workers=jobs) as pool, \
            tqdm(total=len(students), unit="student", desc="grading", file=sys.stderr,
                 disable=None) as progress:
        futures = {pool.submit(execute_student, out, Path(work), student, limits): student
                   for student in pending}
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
    ids, table = grade_cells(course, students)
    write_reports(out, ids, table, problems)
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
                        help="address space per grading process, GiB (default %(default)s)")
    parser.add_argument("--threads", type=int, default=0,
                        help="torch threads per worker (default: cores / jobs)")
    args = parser.parse_args(argv)
    limits = Limits(wall=args.student_timeout, cpu=int(2 * args.student_timeout),
                    cell=args.cell_timeout,
                    memory=int(args.memory_gib * GiB),
                    threads=args.threads or max(1, available_cpus() // args.jobs))
    grade(args.source, args.out, args.jobs, limits)
    print_summary(args.out)
    return 0


def print_summary(out: Path) -> None:
    """The class at a glance: each student's points (and those awaiting grading by hand) and
    problems, then each task's."""
    with open(out / "grades.csv") as f:
        students = list(csv.DictReader(f))
    print(f"{'student':24s} {'autograded':>10s} {'extra':>6s} {'by hand':>7s}  problems")
    for row in students:
        print(f"{row['student']:24s} {float(row['autograded']):10g} {float(row['extra_credit']):6g} "
              f"{float(row['awaiting_manual']):7g}  {row['problems'][:100]}")
    with open(out / "tasks.csv") as f:
        tasks = list(csv.DictReader(f))
    print(f"\n{'task':28s} {'points':>6s} {'mean':>6s}  students losing points")
    for row in tasks:
        print(f"{row['task']:28s} {float(row['points']):6g} {float(row['mean_score']):6.2f}  "
              f"{float(row['share_losing_points']):.0%}")
    print(f"\ngrades: {out / 'grades.csv'}; per test cell: {out / 'scores.csv'}, "
          f"{out / 'summary.csv'}; per task: {out / 'tasks.csv'}; "
          f"feedback: {out / 'course' / 'feedback'}; gradebook: {out / 'course' / 'gradebook.db'}")


if __name__ == "__main__":
    sys.exit(main())
