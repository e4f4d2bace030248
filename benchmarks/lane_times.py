"""The test lanes, timed: `bash run.sh test --fast`, `bash run.sh test` (issue 21: at most 3 and
12 minutes on the 2-core CPU machine) and `bash run.sh certify` (the certification runs; CI
runs it after `test`, within CI's 90 minutes).

    python benchmarks/lane_times.py [--lanes fast full certify] [--json FILE] [-- PYTEST_ARGS...]

Runs each lane as a developer or CI would (run.sh, as root so that the sandbox is set up and
the class is graded in it) and records its wall time, the CPU time of everything it ran
(user + system, children included: on a shared machine the wall time moves with the load,
the CPU time much less), pytest's closing line, and the 1-minute load average before and
after. Prints one line per lane and writes them all to ``--json`` (default
build/test_lanes.json). Exits 1 if a lane fails. The environment is passed on (run.sh certify
sets HW2_SLURM_TEST=1 unless it is set: the Slurm test is one of the certification runs).
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GOALS = {"fast": 180, "full": 720, "certify": 90 * 60 - 720}  # seconds: issue 21; CI's 90 minutes
LANES = {"fast": ["test", "--fast"], "full": ["test"], "certify": ["certify"]}  # run.sh's arguments


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def time_lane(lane: str, extra: list[str], log_path: Path) -> dict:
    """Run one lane through run.sh; its seconds, CPU seconds, closing line, load and exit code."""
    command = ["bash", "run.sh", *LANES[lane], *extra]
    load_before, cpu_before = os.getloadavg()[0], children_cpu()
    started = time.perf_counter()
    with open(log_path, "w") as log:
        code = subprocess.run(command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT).returncode
    wall = time.perf_counter() - started
    lines = [
        line.strip("= \n")
        for line in log_path.read_text().splitlines()
        if " in " in line and ("passed" in line or "failed" in line)
    ]
    return {
        "lane": lane,
        "command": " ".join(command),
        "wall_s": round(wall, 1),
        "cpu_s": round(children_cpu() - cpu_before, 1),
        "goal_s": GOALS[lane],
        "load_before": load_before,
        "load_after": os.getloadavg()[0],
        "pytest": lines[-1] if lines else "",
        "returncode": code,
        "log": str(log_path),
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--lanes", nargs="+", choices=list(LANES), default=list(LANES), help="the lanes to time"
    )
    parser.add_argument("--json", type=Path, default=ROOT / "build" / "test_lanes.json")
    parser.add_argument("pytest_args", nargs="*", help="after --: passed to pytest in both lanes")
    args = parser.parse_args(argv)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    print(f"test lanes of {commit}, {os.cpu_count()} cores", flush=True)
    results = []
    for lane in args.lanes:
        result = time_lane(lane, args.pytest_args, args.json.with_name(f"test_lanes-{lane}.log"))
        results.append(result)
        verdict = "meets" if result["wall_s"] <= result["goal_s"] else "misses"
        print(
            f"{lane}: {result['wall_s']:.0f} s wall, {result['cpu_s']:.0f} s CPU, load "
            f"{result['load_before']:.2f} before, {result['load_after']:.2f} after: {verdict} the "
            f"{result['goal_s']} s goal; {result['pytest'] or 'exit ' + str(result['returncode'])}",
            flush=True,
        )
    args.json.write_text(
        json.dumps({"commit": commit, "cores": os.cpu_count(), "lanes": results}, indent=1) + "\n"
    )
    print(f"written to {args.json}")
    return 0 if all(r["returncode"] == 0 for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
