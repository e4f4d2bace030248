"""How fast and how big grading is, on this machine (issue: ≤ 45 s per submission on one
worker, ≥ 150 submissions/hour with --jobs 2, ≤ 1.5 GiB per worker, Gradescope's 768 MB).

    .venv/bin/python benchmarks/grading_speed.py [--students 10] [--skip-baseline] [--json FILE]

Every run grades copies of the reference submission (source/hw2: every task answered):

1. one worker: one student, ``--jobs 1`` (torch gets every core); the wall time of the
   worker that executes the four notebooks, and the peak resident memory of the worker
   and its kernels together (sampled every 0.1 s);
2. throughput: ``--students`` students with ``--jobs 2`` (one torch thread each); the whole
   batch's wall time, setup and feedback included, as submissions per hour;
3. Gradescope's smallest default (0.5 vCPU, 768 MB): the Gradescope bundle's
   ``run_autograder`` on one submission inside a cgroup with those limits (needs a writable
   cgroup, e.g. root; skipped otherwise): whether it finishes, its score and peak memory;
4. baseline: plain ``nbgrader autograde`` of the same submission with full-length training
   (``HW2_GRADING_MODE=0``), how one grades the original homework today.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
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

from autograder import grade, gradescope  # noqa: E402

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
                try:
                    total += child.memory_info().rss
                except psutil.NoSuchProcess:
                    pass
            self.peak = max(self.peak, total)
            time.sleep(self.interval)

    def __enter__(self):
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def reference_class(folder: Path, n: int) -> Path:
    for i in range(n):
        shutil.copytree(ROOT / "source" / "hw2", folder / f"student{i:03d}",
                        ignore=shutil.ignore_patterns("data", "*.py", "*.md"))
    return folder


def timed_execute():
    """Wrap grade.execute_student to record each student's wall time."""
    times, original = [], grade.execute_student

    def wrapper(*args, **kwargs):
        start = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            times.append(time.perf_counter() - start)
    grade.execute_student = wrapper
    return times, original


def one_worker(tmp: Path) -> dict:
    times, original = timed_execute()
    try:
        with PeakMemory() as memory:
            start = time.perf_counter()
            problems = grade.grade(reference_class(tmp / "subs1", 1), tmp / "out1", jobs=1)
            total = time.perf_counter() - start
    finally:
        grade.execute_student = original
    return {"execute_s": round(times[0], 1), "batch_s": round(total, 1),
            "peak_rss_mib": round(memory.peak / MiB), "problems": problems}


def throughput(tmp: Path, students: int) -> dict:
    times, original = timed_execute()
    try:
        start = time.perf_counter()
        grade.grade(reference_class(tmp / "subsN", students), tmp / "outN", jobs=2)
        total = time.perf_counter() - start
    finally:
        grade.execute_student = original
    return {"students": students, "batch_s": round(total, 1),
            "per_hour": round(students / total * 3600),
            "mean_execute_s": round(sum(times) / len(times), 1)}


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
    shutil.copytree(ROOT / "source" / "hw2", root / "submission",
                    ignore=shutil.ignore_patterns("data", "*.py", "*.md"))
    env = {**os.environ, "AUTOGRADER_ROOT": str(root), "HW2_PYTHON": sys.executable}
    procs = [str(g / "cgroup.procs") for g in groups]

    def enter_cgroup():
        for path in procs:
            Path(path).write_text(str(os.getpid()))
    start = time.perf_counter()
    run = subprocess.run(["bash", str(root / "source" / "run_autograder")], env=env,
                         capture_output=True, text=True, preexec_fn=enter_cgroup)
    wall = time.perf_counter() - start
    memory_dir = groups[0]
    result = {"limits": f"{cpu} CPU, {memory / 10**6:.0f} MB", "exit": run.returncode,
              "wall_s": round(wall, 1),
              "peak_mib": round(int((memory_dir / "memory.max_usage_in_bytes").read_text()) / MiB),
              "hit_limit": int((memory_dir / "memory.failcnt").read_text()) > 0}
    results_file = root / "results" / "results.json"
    if results_file.exists():
        graded = json.loads(results_file.read_text())
        result["score"] = graded["score"]
        result["lost"] = {t["name"]: t.get("output", "")[:200] for t in graded["tests"]
                          if t["score"] < t["max_score"]}
        result["output"] = graded["output"]
    for g in groups:
        g.rmdir()
    return result


def baseline(tmp: Path) -> dict:
    course = tmp / "plain"
    grade.make_course(course, cell_timeout=1800)
    shutil.copytree(ROOT / "source" / "hw2", course / "submitted" / "reference" / "hw2",
                    ignore=shutil.ignore_patterns("data", "*.py", "*.md"))
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HW2_GRADING_MODE": "0", "HW2_DEVICE": "cpu",
           "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]])}
    start = time.perf_counter()
    run = subprocess.run([sys.executable, "-m", "nbgrader", "autograde", "hw2", "--student", "reference"],
                         cwd=course, env=env, capture_output=True, text=True)
    return {"exit": run.returncode, "wall_s": round(time.perf_counter() - start, 1)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=10)
    parser.add_argument("--skip-baseline", action="store_true")
    parser.add_argument("--skip-gradescope", action="store_true")
    parser.add_argument("--json", type=Path, help="also write the numbers here")
    args = parser.parse_args()
    report = {"machine": f"{platform.machine()}, {os.cpu_count()} cores, "
                         f"{psutil.virtual_memory().total / 2**30:.0f} GiB"}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        report["one_worker"] = one_worker(tmp)
        print("one worker:", report["one_worker"], flush=True)
        report["jobs_2"] = throughput(tmp, args.students)
        print("--jobs 2:", report["jobs_2"], flush=True)
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
