"""How fast and how big grading is, on this machine (goals: ≤ 30 s per submission on one
worker through the trusted pipeline, ≥ 200 submissions/hour with --jobs 2, ≤ 1.5 GiB per
worker, Gradescope's 768 MB).

    .venv/bin/python benchmarks/grading_speed.py [--students 10] [--skip-baseline]
        [--skip-gradescope] [--compare-with COMMIT] [--json FILE]

Every run grades copies of the reference submission (the release with every answer right),
through the trusted pipeline (sandbox users: run as root after ``bash run.sh sandbox``, or
``--trust-students`` where there is no root):

1. one worker: one student, ``--jobs 1`` (torch gets every core); the wall time of the
   worker that executes the four notebooks, and the peak resident memory of the worker
   and its kernels together (sampled every 0.1 s);
2. throughput: ``--students`` students with ``--jobs 2`` (one torch thread each); the whole
   batch's wall time, setup and feedback included, as submissions per hour;
3. Gradescope's smallest default (0.5 vCPU, 768 MB): the Gradescope bundle's
   ``run_autograder`` on one submission inside a cgroup with those limits (needs a writable
   cgroup, e.g. root; skipped otherwise): whether it finishes, its score and peak memory;
4. baseline: plain ``nbgrader autograde`` of the same submission with full-length training
   (``HW2_GRADING_MODE=0``), how one grades the original homework today;
5. ``--compare-with COMMIT``: measures 1 and 2 of an earlier version of the kit (a git
   worktree of COMMIT running its own copy of this script), in the same run on the same
   machine: e.g. d206784, the last version whose hidden checks ran in the student's kernel.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from autograder import course_setup, grade, gradescope, worker  # noqa: E402
from autograder.integrity import answered_release  # noqa: E402
from autograder.sandbox import provision  # noqa: E402

MiB = 2**20


class PeakMemory:
    """Peak of the summed resident memory of this process's descendants, sampled."""

    def __init__(self, interval: float = 0.1):
        self.peak, self._stop, self.interval = 0, threading.Event(), interval

    def _sample(self):
        me = psutil.Process()
        while not self._stop.is_set():
            total = 0
            for child in me.children(recursive=True):
                with contextlib.suppress(psutil.NoSuchProcess):
                    total += child.memory_info().rss
            self.peak = max(self.peak, total)
            time.sleep(self.interval)

    def __enter__(self):
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def reference_submission(folder: Path) -> None:
    folder.mkdir(parents=True)
    for path in sorted((ROOT / "release" / "hw2").glob("*.ipynb")):
        answered = answered_release(
            json.loads(path.read_text()),
            json.loads((ROOT / "source" / "hw2" / path.name).read_text()),
        )
        (folder / path.name).write_text(json.dumps(answered))


def reference_class(folder: Path, n: int) -> Path:
    for i in range(n):
        reference_submission(folder / f"student{i:03d}")
    return folder


def timed_execute():
    """Wrap worker.execute_student to record each student's wall time."""
    times, original = [], worker.execute_student

    def wrapper(*args, **kwargs):
        start = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            times.append(time.perf_counter() - start)

    worker.execute_student = wrapper
    return times, original


def one_worker(tmp: Path, trust: bool) -> dict:
    times, original = timed_execute()
    try:
        with PeakMemory() as memory:
            start = time.perf_counter()
            problems = grade.grade(
                reference_class(tmp / "subs1", 1), tmp / "out1", jobs=1, trust_students=trust
            )
            total = time.perf_counter() - start
    finally:
        worker.execute_student = original
    return {
        "execute_s": round(times[0], 1),
        "batch_s": round(total, 1),
        "peak_rss_mib": round(memory.peak / MiB),
        "problems": problems,
    }


def throughput(tmp: Path, students: int, trust: bool) -> dict:
    times, original = timed_execute()
    try:
        start = time.perf_counter()
        grade.grade(
            reference_class(tmp / "subsN", students), tmp / "outN", jobs=2, trust_students=trust
        )
        total = time.perf_counter() - start
    finally:
        worker.execute_student = original
    return {
        "students": students,
        "batch_s": round(total, 1),
        "per_hour": round(students / total * 3600),
        "mean_execute_s": round(sum(times) / len(times), 1),
    }


def _cgroup_v1(name: str, memory: int, cpu: float) -> list[Path] | None:
    memory_dir, cpu_dir = Path("/sys/fs/cgroup/memory") / name, Path("/sys/fs/cgroup/cpu") / name
    try:
        for d in (memory_dir, cpu_dir):
            d.mkdir(exist_ok=True)
        (memory_dir / "memory.limit_in_bytes").write_text(str(memory))
        swap = memory_dir / "memory.memsw.limit_in_bytes"
        if swap.exists():
            swap.write_text(str(memory))
        (cpu_dir / "cpu.cfs_period_us").write_text("100000")
        (cpu_dir / "cpu.cfs_quota_us").write_text(str(int(cpu * 100000)))
    except OSError:
        return None
    return [memory_dir, cpu_dir]


def gradescope_small(tmp: Path, memory: int = 768 * 10**6, cpu: float = 0.5) -> dict:
    groups = _cgroup_v1(f"hw2-bench-{os.getpid()}", memory, cpu)
    if groups is None:
        return {"skipped": "no writable cgroup v1 hierarchy (run as root on a cgroup-v1 host)"}
    root = tmp / "autograder"
    with zipfile.ZipFile(gradescope.build(tmp / "gs.zip", "visible")) as zf:
        zf.extractall(root / "source")
    reference_submission(root / "submission")
    if os.geteuid() == 0:  # what the bundle's setup.sh does on Gradescope
        provision.setup(root / "source", slots=1)
    env = {**os.environ, "AUTOGRADER_ROOT": str(root), "HW2_PYTHON": sys.executable}
    procs = [str(g / "cgroup.procs") for g in groups]

    def enter_cgroup():
        for path in procs:
            Path(path).write_text(str(os.getpid()))

    start = time.perf_counter()
    run = subprocess.run(
        ["bash", str(root / "source" / "run_autograder")],
        env=env,
        capture_output=True,
        text=True,
        preexec_fn=enter_cgroup,
    )
    wall = time.perf_counter() - start
    memory_dir = groups[0]
    result = {
        "limits": f"{cpu} CPU, {memory / 10**6:.0f} MB",
        "exit": run.returncode,
        "wall_s": round(wall, 1),
        "peak_mib": round(int((memory_dir / "memory.max_usage_in_bytes").read_text()) / MiB),
        "hit_limit": int((memory_dir / "memory.failcnt").read_text()) > 0,
    }
    results_file = root / "results" / "results.json"
    if results_file.exists():
        graded = json.loads(results_file.read_text())
        result["score"] = graded["score"]
        result["lost"] = {
            t["name"]: t.get("output", "")[:200]
            for t in graded["tests"]
            if t["score"] < t["max_score"]
        }
        result["output"] = graded["output"]
    for g in groups:
        g.rmdir()
    return result


def baseline(tmp: Path) -> dict:
    course = tmp / "plain"
    course_setup.make_course(course)
    with open(course / "nbgrader_config.py", "a") as config:  # nbgrader itself runs the cells here
        config.write("\nc.Execute.timeout = 1800\n")
    reference_submission(course / "submitted" / "reference" / "hw2")
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "HW2_GRADING_MODE": "0",
        "HW2_DEVICE": "cpu",
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]]),
    }
    start = time.perf_counter()
    run = subprocess.run(
        [sys.executable, "-m", "nbgrader", "autograde", "hw2", "--student", "reference"],
        cwd=course,
        env=env,
        capture_output=True,
        text=True,
    )
    return {"exit": run.returncode, "wall_s": round(time.perf_counter() - start, 1)}


def earlier_version(tmp: Path, commit: str, students: int) -> dict:
    """Measures 1 and 2 of the kit at ``commit``, by its own benchmark script in a worktree."""
    tree, report = tmp / "earlier", tmp / "earlier.json"
    subprocess.run(
        ["git", "worktree", "add", "--detach", str(tree), commit],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    try:
        run = subprocess.run(
            [
                sys.executable,
                str(tree / "benchmarks" / "grading_speed.py"),
                "--students",
                str(students),
                "--skip-baseline",
                "--skip-gradescope",
                "--json",
                str(report),
            ],
            cwd=tree,
            capture_output=True,
            text=True,
        )
        if run.returncode != 0:
            return {"commit": commit, "failed": run.stderr[-500:]}
        earlier = json.loads(report.read_text())
        return {"commit": commit, "one_worker": earlier["one_worker"], "jobs_2": earlier["jobs_2"]}
    finally:
        subprocess.run(
            ["git", "worktree", "remove", "--force", str(tree)], cwd=ROOT, capture_output=True
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=10)
    parser.add_argument("--skip-baseline", action="store_true")
    parser.add_argument("--skip-gradescope", action="store_true")
    parser.add_argument(
        "--compare-with",
        metavar="COMMIT",
        help="also measure this earlier commit's grading (one worker, --jobs 2)",
    )
    parser.add_argument(
        "--trust-students",
        action="store_true",
        help="without root: grade as this user, not in the sandbox",
    )
    parser.add_argument("--json", type=Path, help="also write the numbers here")
    args = parser.parse_args()
    report = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, "
        f"{psutil.virtual_memory().total / 2**30:.0f} GiB"
    }
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        report["pipeline"] = (
            "trust-students (no sandbox)" if args.trust_students else "trusted (sandboxed)"
        )
        report["one_worker"] = one_worker(tmp, args.trust_students)
        print("one worker:", report["one_worker"], flush=True)
        report["jobs_2"] = throughput(tmp, args.students, args.trust_students)
        print("--jobs 2:", report["jobs_2"], flush=True)
        if args.compare_with:
            report["earlier"] = earlier_version(tmp, args.compare_with, args.students)
            print(f"earlier ({args.compare_with}):", report["earlier"], flush=True)
        if not args.skip_gradescope:
            report["gradescope_small"] = gradescope_small(tmp)
            print("Gradescope 0.5 vCPU / 768 MB:", report["gradescope_small"], flush=True)
        if not args.skip_baseline:
            report["baseline_full_length"] = baseline(tmp)
            print("plain nbgrader autograde, full-length training:", report["baseline_full_length"])
    if args.json:
        args.json.write_text(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
