"""Submission intake: turn what students hand in into nbgrader's ``submitted/`` layout.

    python -m autograder.intake SUBMISSIONS (a folder or an LMS .zip) --out DIR

Accepted shapes:
- a folder (or zip) with one sub-folder per student: ``<student>/<files>``;
- a flat LMS download (Canvas): ``<name>_[LATE_]<user id>_<submission id>_<original file name>``;
  the student is the user id;
- Moodle's "download all submissions": folders (or, flat, file-name prefixes)
  ``<Full Name>_<participant id>_assignsubmission_file_``; the student is the participant id;
- Blackboard's "download assignment": ``<assignment>_<username>_attempt_<YYYY-MM-DD-hh-mm-ss>_<file>``
  (its ``.txt`` receipts are skipped); the student is the username, and of several attempts
  the latest is graded.

Any other folder name is the student id, with characters other than letters, digits and
``._@-`` replaced by ``_``.

Each student's files are matched to the four homework notebooks by name, forgiving what
Colab and LMSs do to names ("Copy of ", " (1)", "-2", another case, spaces for underscores),
and, where the name says nothing, by the grade ids in the notebook's nbgrader metadata.
Nothing is dropped silently: every problem (a file that is not valid JSON, a missing or
duplicated notebook, a file that matches nothing) is recorded per student, so grading can
give a score and a message instead of crashing. Output::

    DIR/<student>/hw2/<canonical name>.ipynb      (plus ec_transfer_model.pt when present)
    DIR/intake.json                               {student: {"notebooks": {...}, "problems": [...]}}
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import re
import shutil
import sys
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

ASSIGNMENT = "hw2"
NOTEBOOKS = ("01_gradient_descent", "02_ema_adam", "03_training", "04_initialization")
EXTRA_FILES = ("ec_transfer_model.pt",)
# A grade id that only one notebook has, to recognise a notebook renamed past recognition.
SIGNATURE_IDS = {"gd_loop": NOTEBOOKS[0], "ema_update": NOTEBOOKS[1],
                 "residual_sequence": NOTEBOOKS[2], "init_xavier": NOTEBOOKS[3]}
_CANVAS = re.compile(r"^(?P<name>[^_]+)_(?:LATE_)?(?P<user>\d+)_(?P<submission>\d+)_(?P<file>.+)$")
_MOODLE = re.compile(r"^(?P<name>.+?)_(?P<user>\d+)_assignsubmission_file_(?P<file>.*)$")
_BLACKBOARD = re.compile(r"^(?P<assignment>.+)_(?P<user>[^_]+)_attempt_"
                         r"(?P<when>\d{4}-\d{2}-\d{2}-\d{2}-\d{2}-\d{2})(?:_(?P<file>.+)|\.txt)$")
_UNSAFE = re.compile(r"[^A-Za-z0-9._@-]+")
_NOISE = re.compile(r"^(copy of\s+)+|(\s*\(\d+\)|-\d+)$", re.IGNORECASE)


@dataclass
class Submission:
    """One student's files, matched: ``notebooks`` maps a canonical name to its file."""
    student: str
    notebooks: dict[str, Path] = field(default_factory=dict)
    extras: dict[str, Path] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


def _name_key(filename: str) -> str:
    """A file's stem without what browsers, Colab and LMSs add, lower case, runs of spaces
    and dashes as "_": "Copy of 02 EMA Adam (1).ipynb" -> "02_ema_adam"."""
    stem = Path(filename).stem
    while True:
        cleaned = _NOISE.sub("", stem).strip()
        if cleaned == stem:
            return re.sub(r"[\s\-]+", "_", stem.lower())
        stem = cleaned


def canonical_by_name(filename: str) -> str | None:
    """The homework notebook a file name means, or None: "Copy of 02_ema_adam (1).ipynb" ->
    "02_ema_adam"; "02 EMA Adam.ipynb" -> "02_ema_adam"."""
    key = _name_key(filename)
    by_prefix = [name for name in NOTEBOOKS if key.startswith(name[:3])]  # "02_..." is Part 2
    by_topic = [name for name in NOTEBOOKS if name[3:] in key]            # "..._ema_adam_..."
    return (by_prefix or by_topic or [None])[0]


def canonical_by_content(notebook: dict) -> str | None:
    """The homework notebook whose signature grade id this notebook's cells carry, or None."""
    for cell in notebook.get("cells", []):
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id", "")
        if grade_id.split("__")[0] in SIGNATURE_IDS:
            return SIGNATURE_IDS[grade_id.split("__")[0]]
    return None


def _read_notebook(path: Path) -> tuple[dict | None, str | None]:
    try:
        notebook = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        return None, f"{path.name} is not a valid notebook file ({err}); it scores 0"
    if not isinstance(notebook, dict) or not isinstance(notebook.get("cells"), list):
        return None, f"{path.name} is JSON but not a notebook; it scores 0"
    return notebook, None


def canonical_extra(filename: str) -> str | None:
    """The extra file (EC1's model) a file name means, or None: a second browser download
    "ec_transfer_model (1).pt", Canvas's resubmission "ec_transfer_model-2.pt" or a
    Blackboard attempt "<date> ec_transfer_model.pt" is still it."""
    suffix, key = Path(filename).suffix.lower(), _name_key(filename)
    return next((name for name in EXTRA_FILES
                 if suffix == Path(name).suffix and Path(name).stem in key), None)


def _newest(submission: Submission, name: str, paths: list[Path]) -> Path:
    """Of several files for ``name`` (e.g. "x.ipynb" and "Copy of x.ipynb"): the newest, said."""
    chosen = max(paths, key=lambda p: (p.stat().st_mtime, p.name))
    if len(paths) > 1:
        others = ", ".join(p.name for p in paths if p != chosen)
        submission.problems.append(f"{name}: graded {chosen.name}, the newest of several "
                                   f"copies (also handed in: {others})")
    return chosen


def match(student: str, files: list[Path]) -> Submission:
    """Match one student's files to the homework notebooks, recording every problem."""
    submission = Submission(student)
    candidates: dict[str, list[Path]] = {}
    extras: dict[str, list[Path]] = {}
    unreadable: set[str] = set()
    for path in sorted(files):
        if extra := canonical_extra(path.name):
            extras.setdefault(extra, []).append(path)
            continue
        if path.suffix.lower() != ".ipynb" or path.name.startswith("."):
            submission.problems.append(f"ignored {path.name}: not a notebook of this homework")
            continue
        name = canonical_by_name(path.name)
        notebook, problem = _read_notebook(path)
        if name is None and notebook is not None:
            name = canonical_by_content(notebook)
        if name is None:
            why = problem or f"matches none of {', '.join(NOTEBOOKS)}"
            submission.problems.append(f"ignored {path.name}: {why}")
            continue
        if problem:
            # Not staged: one unreadable notebook makes nbgrader's autograde drop the
            # student's whole assignment (seen with nbgrader 0.9.6); missing, it scores 0 alone.
            submission.problems.append(problem)
            unreadable.add(name)
            continue
        candidates.setdefault(name, []).append(path)
    for name in NOTEBOOKS:
        paths = candidates.get(name, [])
        if not paths:
            if name not in unreadable:
                submission.problems.append(f"{name}.ipynb is missing; it scores 0")
            continue
        submission.notebooks[name] = _newest(submission, name, paths)
    for name, paths in extras.items():
        submission.extras[name] = _newest(submission, name, paths)
    return submission


def student_id(folder_name: str) -> str:
    """The nbgrader student id a submission folder's name stands for."""
    if found := _MOODLE.match(folder_name):
        return found["user"]
    return _UNSAFE.sub("_", folder_name).strip("_") or "unnamed"


def _unwrap(path: Path, student: str, original: str, mtime: float | None = None) -> tuple[str, Path]:
    """Give a flat LMS file its original name back, for matching, in a folder of its own
    (two students' files often share that name); keep the attempt's time."""
    folder = path.parent / ".unwrapped" / path.name
    folder.mkdir(parents=True)
    renamed = path.rename(folder / original)
    if mtime is not None:
        os.utime(renamed, (mtime, mtime))
    return student, renamed


def _student_files(root: Path) -> dict[str, list[Path]]:
    """Files per student, from per-student folders or from a flat LMS download."""
    per_student: dict[str, list[Path]] = {}
    for path in sorted(root.iterdir()):
        if path.name.startswith(".") or path.name == "__MACOSX":
            continue
        if path.is_dir():
            per_student.setdefault(student_id(path.name), []).extend(
                p for p in path.rglob("*") if p.is_file() and ".ipynb_checkpoints" not in p.parts)
            continue
        if found := _CANVAS.match(path.name):
            student, path = _unwrap(path, found["user"], found["file"])
        elif found := _MOODLE.match(path.name):
            student, path = _unwrap(path, found["user"], found["file"])
        elif found := _BLACKBOARD.match(path.name):
            if not found["file"]:
                continue  # the attempt's receipt (.txt)
            when = datetime.datetime.strptime(found["when"], "%Y-%m-%d-%H-%M-%S").timestamp()
            # several attempts hold the same file name: keep them apart, the newest wins
            student, path = _unwrap(path, found["user"], f"{found['when']} {found['file']}", when)
        else:
            student = "unknown-student"
        per_student.setdefault(student, []).append(path)
    return per_student


def stage(source: Path, out: Path) -> list[Submission]:
    """Read ``source`` (folder or zip), write the nbgrader layout and intake.json under ``out``."""
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch) / "in"
        if source.is_file() and zipfile.is_zipfile(source):
            with zipfile.ZipFile(source) as archive:
                archive.extractall(root)
            entries = [p for p in root.iterdir() if p.name != "__MACOSX"]
            if len(entries) == 1 and entries[0].is_dir() and not any(
                    p.is_file() for p in entries[0].iterdir() if p.suffix == ".ipynb"):
                root = entries[0]  # a zip of one folder holding the student folders
        elif source.is_dir():
            shutil.copytree(source, root)
        else:
            raise FileNotFoundError(f"{source} is neither a folder nor a zip file")
        submissions = [match(student, files) for student, files in _student_files(root).items()]
        for submission in submissions:
            target = out / submission.student / ASSIGNMENT
            target.mkdir(parents=True, exist_ok=True)
            for name, path in submission.notebooks.items():
                shutil.copyfile(path, target / f"{name}.ipynb")
            for name, path in submission.extras.items():
                shutil.copyfile(path, target / name)
    report = {s.student: {"notebooks": {n: p.name for n, p in s.notebooks.items()},
                          "problems": s.problems} for s in submissions}
    (out / "intake.json").write_text(json.dumps(report, indent=1, sort_keys=True))
    return submissions


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path, help="folder of student folders, or an LMS .zip")
    parser.add_argument("--out", type=Path, required=True, help="nbgrader submitted/ folder to fill")
    args = parser.parse_args(argv)
    submissions = stage(args.source, args.out)
    for s in submissions:
        status = "; ".join(s.problems) if s.problems else "ok"
        print(f"{s.student}: {len(s.notebooks)}/{len(NOTEBOOKS)} notebooks — {status}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
