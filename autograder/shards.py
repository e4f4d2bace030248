"""Grading across machines: a class split into K shards graded apart, merged into one gradebook.

    python -m autograder.grade SUBMISSIONS --out DIR/shard-i --shard i/K       (each machine)
    python -m autograder.shards merge DIR/shard-1 ... DIR/shard-K --out DIR    (once, after)

nbgrader's gradebook has one writer (nbgrader issue #174), so machines cannot share one. Each
shard is a batch of its own (``autograder.grade``: its own course, gradebook, feedback and
tables; idempotent and resumable) over the students whose id hashes to it — a hash of the id,
not a position in the download, so a late hand-in moves no other student — and writes
DIR/shard.json: which shard, its students, a digest of every student id in the download, a
hash of the kit's manifest (``fingerprint.kit_manifest``) and the sandbox mode that ran it.

The merge refuses shards of different kits or downloads, of different K, overlapping, missing,
or holding students not yet executed (rerun that shard alone, with the same command: it
resumes). Then it copies each shard's staged hand-ins, intake record and executed notebooks
into DIR/course and records every student with the batch's own one-writer step
(``worker.finish_student``): the gradebook, feedback and tables are those one batch of the
whole class makes. It is idempotent: a rerun records the same notebooks again, and nbgrader
writes auto scores only, so grades typed in formgrader on DIR/course stay.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any, NoReturn

from autograder import course_setup, intake, reports, worker
from autograder.nbgrader_steps import EXECUTED

RECORD = "shard.json"  # DIR/shard.json, written by each shard
MERGED = "shards.json"  # DIR/shards.json, written by the merge: the records it was made from
SUBMITTED = "submitted"
INTAKE = "intake.json"


def parse(text: str) -> tuple[int, int]:
    """ "i/K" (1-based) as (i, K); an argparse type."""
    try:
        index, count = (int(part) for part in text.split("/"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not i/K (e.g. 2/4)") from None
    if not 1 <= index <= count:
        raise argparse.ArgumentTypeError(f"shard {text}: i must be from 1 to K")
    return index, count


def shard_of(student: str, count: int) -> int:
    """The shard (1-based, of ``count``) that grades ``student``: from the id alone."""
    return int.from_bytes(hashlib.sha256(student.encode()).digest()[:8], "big") % count + 1


def stage(
    source: Path, submitted: Path, shard: tuple[int, int]
) -> tuple[list[intake.Submission], list[str]]:
    """``intake.stage`` of the whole download (student ids depend on the other entries), of
    which only the shard's students go to ``submitted`` and its intake.json;
    (their submissions, every student id in the download)."""
    submitted.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=submitted.parent, prefix=".intake-") as scratch:
        everyone = intake.stage(source, Path(scratch))
        report = json.loads((Path(scratch) / INTAKE).read_text())
        mine = [s for s in everyone if shard_of(s.student, shard[1]) == shard[0]]
        for submission in mine:
            target = submitted / submission.student
            shutil.rmtree(target, ignore_errors=True)
            shutil.move(Path(scratch) / submission.student, target)
        (submitted / INTAKE).write_text(
            json.dumps({s.student: report[s.student] for s in mine}, indent=1, sort_keys=True)
        )
    return mine, sorted(s.student for s in everyone)


def kit_hash(manifest: dict[str, str]) -> str:
    return hashlib.sha256(json.dumps(manifest, sort_keys=True).encode()).hexdigest()


def _digest(students: list[str]) -> str:
    return hashlib.sha256("\n".join(sorted(students)).encode()).hexdigest()


def write_record(
    out: Path,
    shard: tuple[int, int],
    students: list[str],
    everyone: list[str],
    manifest: dict[str, str],
    isolation: str,
) -> None:
    """DIR/shard.json: what the merge checks before it takes this shard."""
    record = {
        "shard": shard[0],
        "of": shard[1],
        "students": sorted(students),
        "download": _digest(everyone),
        "kit": kit_hash(manifest),
        "isolation": isolation,
    }
    (out / RECORD).write_text(json.dumps(record, indent=1) + "\n")


def _refuse(why: str) -> NoReturn:
    raise SystemExit(f"refusing to merge: {why}")


def check(shard_dirs: list[Path]) -> list[dict[str, Any]]:
    """The shards' records (with "dir"), in shard order, if together they are one class
    graded whole by one kit; else refuse, saying what is wrong and what to do."""
    records = []
    for directory in shard_dirs:
        if not (directory / RECORD).exists():
            _refuse(f"{directory} is not a shard (no {RECORD}): grade it with --shard i/K")
        records.append({**json.loads((directory / RECORD).read_text()), "dir": str(directory)})
    counts = sorted({r["of"] for r in records})
    if len(counts) > 1:
        _refuse(f"the shards split the class in different numbers of shards: K = {counts}")
    count = counts[0]
    given: dict[int, list[str]] = {}
    for record in records:
        given.setdefault(record["shard"], []).append(record["dir"])
    if twice := {i: dirs for i, dirs in given.items() if len(dirs) > 1}:
        _refuse(
            "; ".join(f"shard {i}/{count} given twice ({', '.join(d)})" for i, d in twice.items())
        )
    if missing := [f"{i}/{count}" for i in range(1, count + 1) if i not in given]:
        _refuse(f"shard {', '.join(missing)} missing: grade it (--shard) and list its folder too")
    for key, what in (
        ("kit", "kits (grader, notebooks, data or virtualenv differ): regrade them with one kit"),
        ("download", "downloads: grade every shard from the same SUBMISSIONS"),
    ):
        if len({r[key] for r in records}) > 1:
            _refuse(f"the shards come from different {what}")
    owners: dict[str, list[str]] = {}
    for record in records:
        for student in record["students"]:
            owners.setdefault(student, []).append(f"{record['shard']}/{count}")
    if overlap := {s: shards for s, shards in owners.items() if len(shards) > 1}:
        _refuse(
            "students in more than one shard: "
            + ", ".join(f"{s} ({', '.join(shards)})" for s, shards in sorted(overlap.items()))
        )
    for record in records:
        executed = Path(record["dir"]) / "course" / EXECUTED
        if pending := [
            s for s in record["students"] if not (executed / s / worker.WORKER_RECORD).exists()
        ]:
            _refuse(
                f"shard {record['shard']}/{count} ({record['dir']}) has students not yet "
                f"executed ({', '.join(pending[:10])}{', ...' if len(pending) > 10 else ''}): "
                "rerun that shard with the same command (it resumes), then merge again"
            )
    return sorted(records, key=lambda r: r["shard"])


def _replace(source: Path, target: Path) -> None:
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(source, target)


def _isolation(records: list[dict[str, Any]]) -> str:
    """The sandbox mode that graded the class, or each shard's where they differ."""
    modes: set[str] = {r["isolation"] for r in records}
    if len(modes) == 1:
        return modes.pop()
    return "; ".join(f"shard {r['shard']}/{r['of']}: {r['isolation']}" for r in records)


def merge(shard_dirs: list[Path], out: Path, feedback: bool = True) -> dict[str, list[str]]:
    """One course, gradebook, feedback and tables in ``out`` from the shards' folders, as
    one batch of the whole class makes them; returns the problems recorded per student."""
    from tqdm import tqdm

    from autograder.sandbox import fingerprint

    if Path(os.path.abspath(out)) in {Path(os.path.abspath(d)) for d in shard_dirs}:
        _refuse(f"--out {out} is one of the shards: merge into a folder of its own")
    records = check(shard_dirs)
    manifest = fingerprint.kit_manifest(worker.ROOT)
    if records[0]["kit"] != kit_hash(manifest):
        _refuse(
            "the shards were graded by another kit than this one (grader, notebooks, data "
            "or virtualenv differ): merge with the kit that graded them"
        )
    if changed := fingerprint.verify_kit(worker.ROOT, manifest):
        raise worker.KitChanged(f"the kit is not safe to grade with: {changed[:5]}")
    out.mkdir(parents=True, exist_ok=True)
    os.chmod(out, 0o700)  # as a batch's: hand-ins, reference notebooks and gradebook
    course = out / "course"
    course_setup.make_course(course)  # on a merged course: update the assignment, keep the grades
    report = {}
    for record in records:
        shard_course = Path(record["dir"]) / "course"
        theirs = json.loads((shard_course / SUBMITTED / INTAKE).read_text())
        for student in record["students"]:
            _replace(shard_course / SUBMITTED / student, course / SUBMITTED / student)
            _replace(shard_course / EXECUTED / student, course / EXECUTED / student)
            report[student] = theirs[student]
    (course / SUBMITTED / INTAKE).write_text(json.dumps(report, indent=1, sort_keys=True))
    students = sorted(report)
    problems = {s: list(report[s]["problems"]) for s in students}
    flags: dict[str, list[str]] = {}
    for student in tqdm(students, unit="student", desc="merging", file=sys.stderr, disable=None):
        found, flags[student] = worker.finish_student(course, student, manifest, feedback)
        problems[student] += found
    if changed := fingerprint.verify_kit(worker.ROOT, manifest):
        raise worker.KitChanged(f"the kit changed while merging: {changed[:5]}")
    reports.write_reports(out, problems, flags)
    (out / reports.ISOLATION_FILE).write_text(_isolation(records) + "\n")
    (out / MERGED).write_text(json.dumps(records, indent=1) + "\n")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m autograder.shards", description=__doc__.splitlines()[0]
    )
    commands = parser.add_subparsers(dest="command", required=True)
    merging = commands.add_parser(
        "merge", help="one course, gradebook, feedback and tables from the folders of shards 1..K"
    )
    merging.add_argument("shards", type=Path, nargs="+", metavar="SHARD_DIR")
    merging.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    merge(args.shards, args.out)
    reports.print_summary(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
