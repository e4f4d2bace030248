"""What hostile files cost the trusted grader (goals: peak resident memory ≤ 600 MiB with the
bombs in the batch, recording one student ≤ 10 s).

    .venv/bin/python benchmarks/hostile_files.py [--size-mib 1024] [--json FILE]

Grades two batches through the real pipeline (``autograder.grade.grade``, ``--jobs 1``,
sandboxed: run as root after ``bash run.sh sandbox``), each in a process of its own:

- ``bombs``: the reference (all four notebooks and an exact EC1 model file) and one student
  per bomb: every probe file of notebook 1 rewritten as a torch zip whose deflated record
  inflates to ``--size-mib`` (the issue's 1 GiB: about 1 MB on disk); an EC1 model file of the
  same kind handed in beside notebook 4; notebook 1 with 100,000 added markdown cells; notebook
  2's executed copy replaced by 7.5 MB of ``[[],[],...]`` (from notebook 1's kernel);
- ``baseline``: the same students without the bombs (the reference, notebook 1 and notebook 4
  as released, notebook 1 with the reference's answers, notebooks 1 and 2 as released).

For each batch: the grader process's peak resident memory (``ru_maxrss`` of that process only:
not nbgrader's or the sandbox's processes, which are its children), the time
``worker.record_student`` (nbgrader's autograde, the gradebook) and ``nbgrader_steps.feedback``
take per student, and each student's points, problems and flags. Last, the cost of the bounded
reader on honest probe data: ``bounded.load_torch`` against plain ``hw2probes.from_bytes``.
"""

from __future__ import annotations

import argparse
import csv
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

MiB = 2**20


def students(kind: str, size_mib: int) -> dict[str, tuple]:
    """{student: (attack or None, ...)}: the class of one batch, as tests/attacks.py builds it."""
    import attacks as corpus

    zip_bomb = corpus.PROBE_ZIP_BOMB.replace("256 * 2**20", f"{size_mib} * 2**20")

    def ec_bomb(path: Path) -> None:
        corpus.ec_model_bomb(path, size_mib * MiB)

    bombs = kind == "bombs"
    return {
        "probe_zip_bomb": corpus.Attack(
            "probe_zip_bomb",
            "hostile_files",
            corpus.NB1,
            "",
            None,
            cells=((corpus.END, zip_bomb),) if bombs else (),
        ),
        "ec_model_bomb": corpus.Attack(
            "ec_model_bomb",
            "hostile_files",
            corpus.NB4,
            "",
            None,
            files=(("ec_transfer_model.pt", ec_bomb),) if bombs else (),
        ),
        "many_cells": corpus.Attack(
            "many_cells",
            "hostile_files",
            corpus.NB1,
            "",
            None,
            base="answers",
            edit=corpus.many_markdown_cells if bombs else None,
        ),
        "json_bomb": corpus.Attack(
            "json_bomb",
            "hostile_files",
            corpus.NB1,
            "",
            None,
            cells=((corpus.TOP, corpus.EXECUTED_JSON_BOMB),) if bombs else (),
            also=(corpus.NB2,),
        ),
    }


def grade_batch(kind: str, size_mib: int) -> dict:
    """One batch, graded in this process: its peak memory, record times and grades."""
    import shutil

    import attacks as corpus
    import hw2utils
    from autograder import grade, nbgrader_steps, worker
    from ec_networks import rule_network

    timings: dict[str, dict[str, float]] = {}

    def timed(function, key):
        def run(course, student, *args):
            start = time.monotonic()
            try:
                return function(course, student, *args)
            finally:
                timings.setdefault(student, {})[key] = round(time.monotonic() - start, 2)

        return run

    worker.record_student = timed(worker.record_student, "record_s")
    nbgrader_steps.feedback = timed(nbgrader_steps.feedback, "feedback_s")
    with tempfile.TemporaryDirectory(prefix="hw2-hostile-", dir="/tmp") as base:
        subs, out = Path(base) / "submissions", Path(base) / "out"
        shutil.copytree(
            ROOT / "source" / "hw2",
            subs / "reference",
            ignore=shutil.ignore_patterns("data", "*.py", "*.md"),
        )
        hw2utils._write_ec_model(
            rule_network(), subs / "reference" / hw2utils.EC_MODEL_FILE, saved_by="save_ec_model"
        )
        for name, attack in students(kind, size_mib).items():
            corpus.write_submission(attack, subs / name)
        handed_in = {
            f"{p.parent.name}/{p.name}": p.stat().st_size
            for p in subs.glob("*/*")
            if p.is_file() and p.parent.name != "reference"
        }
        start = time.monotonic()
        grade.grade(subs, out, jobs=1)
        wall = time.monotonic() - start
        with open(out / "grades.csv") as f:
            grades = {
                row["student"]: {
                    "autograded": row["autograded"],
                    "extra_credit": row["extra_credit"],
                    "problems": row["problems"],
                    "flags": row["flags"],
                }
                for row in csv.DictReader(f)
            }
    return {
        "batch": kind,
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "wall_s": round(wall, 1),
        "timings": timings,
        "grades": grades,
        "hand_in_bytes": handed_in,
    }


def reader_cost(repeat: int = 20) -> dict:
    """Milliseconds per file: the bounded reader and plain torch.load on honest probe data."""
    import math

    import torch

    import hw2probes

    try:
        from autograder import bounded
    except ImportError:  # a kit from before the bounded reader (run there to compare)
        return {}
    from autograder.checks import find as find_aspect

    def he(n_in, n_out, g):
        return torch.randn(n_in, n_out, generator=g) * math.sqrt(2 / n_in)

    files = [
        hw2probes.to_bytes(hw2probes.collect(find_aspect("part4", check).probe, lambda: (he,)))
        for check in ("init_he__distribution", "init_he__generator", "init_small__distribution")
    ]
    files.append(
        hw2probes.to_bytes(
            {
                "result": {
                    "losses": [float(i) for i in range(100)],
                    "params": [torch.randn(10, 10) for _ in range(20)],
                }
            }
        )
    )
    result = {}
    for name, read in (
        ("bounded", lambda raw: bounded.load_torch(raw, bounded.PROBE_DATA, hw2probes.from_bytes)),
        ("plain", hw2probes.from_bytes),
    ):
        start = time.perf_counter()
        for _ in range(repeat):
            for raw in files:
                read(raw)
        result[f"{name}_ms_per_file"] = round(
            (time.perf_counter() - start) * 1000 / (repeat * len(files)), 3
        )
    return result


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--size-mib", type=int, default=1024, help="what each deflated record inflates to"
    )
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument(
        "--batch", choices=("bombs", "baseline"), help=argparse.SUPPRESS
    )  # the child
    args = parser.parse_args(argv)
    if args.batch:
        print(json.dumps(grade_batch(args.batch, args.size_mib)))
        return 0
    results = {"reader": reader_cost()}
    for kind in ("baseline", "bombs"):
        child = subprocess.run(
            [sys.executable, __file__, "--batch", kind, "--size-mib", str(args.size_mib)],
            capture_output=True,
            text=True,
            cwd=ROOT,
        )
        if child.returncode != 0:
            raise SystemExit(f"the {kind} batch failed:\n{child.stderr[-3000:]}")
        results[kind] = json.loads(child.stdout.strip().splitlines()[-1])
    for kind in ("baseline", "bombs"):
        batch = results[kind]
        print(f"{kind}: grader peak {batch['peak_rss_mib']} MiB, batch {batch['wall_s']} s")
        for student, row in sorted(batch["grades"].items()):
            times = batch["timings"].get(student, {})
            print(
                f"  {student:16s} record {times.get('record_s', '-'):>6} s  feedback "
                f"{times.get('feedback_s', '-'):>6} s  points {row['autograded']:>5} + {row['extra_credit']:>4}"
                f"  {(row['problems'].replace('is missing; it scores 0', 'missing') + ' | ' + row['flags'])[:200]}"
            )
    print("reader:", results["reader"])
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
