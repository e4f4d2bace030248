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

Who handed a file in is the LMS's word, never the file's: a student names the file they
upload, and the LMS writes its prefix before that name. So the student (and the attempt's
time) come from the folder a file lies in, or from the LMS prefix that ends first; whatever
the rest of the name says, and whatever a student's folder holds (sub-folders, files named
like other students' downloads), it stays that student's. Two download entries never share a
student folder: names that come out the same (case aside), and names that cannot be a
folder (empty, ".", "..", the course's own names), get an id with a suffix and a problem
that says so. Symbolic links are not followed.

Each student's files are matched to the four homework notebooks by the grade ids in their
nbgrader metadata, and where those say nothing, by name, forgiving what Colab and LMSs do to
names ("Copy of ", " (1)", "-2", another case, spaces for underscores).
Nothing is dropped silently: every problem (a file that is not valid JSON, a missing or
duplicated notebook, a file that matches nothing) is recorded per student, so grading can
give a score and a message instead of crashing. Output::

    DIR/<student>/hw2/<canonical name>.ipynb      (plus ec_transfer_model.pt when present)
    DIR/intake.json                               {student: {"notebooks": {...}, "problems": [...],
                                                   "identity": {"lms", "user", "name"}}}

``identity`` is who the LMS says handed the entry in, for writing grades back
(``autograder/lms.py``): the LMS ("Canvas", "Moodle", "Blackboard", or null for a plain
folder), its id for that person (Canvas user id, Moodle participant id, Blackboard username;
for a plain folder the folder's name) and the display name the download gives ("" when none).
It is the LMS's record, as given: a student id that was suffixed to keep two entries apart
still has its entry's own identity.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import os
import re
import shutil
import sys
import tempfile
import zipfile
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from autograder.integrity import load_submission
from autograder.kit import ASSIGNMENT, NOTEBOOKS
from hw2utils import EC_MODEL_FILE

EXTRA_FILES = (EC_MODEL_FILE,)  # files a student hands in beside the notebooks
# A grade id that only one notebook has, to recognise a notebook renamed past recognition.
SIGNATURE_IDS = {
    "gd_loop": NOTEBOOKS[0],
    "ema_update": NOTEBOOKS[1],
    "residual_sequence": NOTEBOOKS[2],
    "init_xavier": NOTEBOOKS[3],
}
_CANVAS = re.compile(r"^(?P<name>[^_]+)_(?:LATE_)?(?P<user>\d+)_(?P<submission>\d+)_(?P<file>.+)$")
_MOODLE = re.compile(r"^(?P<name>.+?)_(?P<user>\d+)_assignsubmission_file_(?P<file>.*)$")
# A Moodle submission folder's name ends with the marker: the last one is Moodle's.
_MOODLE_FOLDER = re.compile(r"^(?P<name>.+)_(?P<user>\d+)_assignsubmission_[a-z]+_$")
_BLACKBOARD = re.compile(
    r"^(?P<assignment>.+?)_(?P<user>[^_]+)_attempt_"
    r"(?P<when>\d{4}-\d{2}-\d{2}-\d{2}-\d{2}-\d{2})(?:_(?P<file>.+)|\.txt)$"
)
FLAT_FORMATS = {"Canvas": _CANVAS, "Moodle": _MOODLE, "Blackboard": _BLACKBOARD}
_UNSAFE = re.compile(r"[^A-Za-z0-9._@-]+")  # nbgrader reads * ? [ ] in a student id as a glob
_SAFE_ID = re.compile(r"[A-Za-z0-9@][A-Za-z0-9._@-]{0,99}")
# What intake writes next to the student folders, and an nbgrader course's own folders and
# files (course/<step>/<student>/hw2): no student folder may be mistaken for one of them.
RESERVED_IDS = {
    "intake.json",
    "source",
    "release",
    "submitted",
    "autograded",
    "feedback",
    "executed",
    "gradebook.db",
    "nbgrader_config.py",
}
UNATTRIBUTED = "unknown-student"  # files at the top of a download that name no student
_NOISE = re.compile(r"^(copy of\s+)+|(\s*\(\d+\)|-\d+)$", re.IGNORECASE)


@dataclass(frozen=True)
class Identity:
    """Who the download says handed an entry in: ``lms`` ("Canvas", "Moodle", "Blackboard",
    or None for a plain folder), ``user`` (that LMS's id for the person; a plain folder's
    name) and ``name`` (the display name the download gives, "" when none)."""

    lms: str | None
    user: str
    name: str = ""


@dataclass
class Submission:
    """One student's files, matched: ``notebooks`` maps a canonical name to its file;
    ``identity``: whose they are, as the download says (set by ``stage``)."""

    student: str
    notebooks: dict[str, Path] = field(default_factory=dict)
    extras: dict[str, Path] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    identity: Identity | None = None


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
    by_topic = [name for name in NOTEBOOKS if name[3:] in key]  # "..._ema_adam_..."
    found = by_prefix or by_topic
    return found[0] if found else None


def _grade_ids(notebook: dict[str, Any]) -> Iterator[str]:
    """The grade ids of a notebook's cells, skipping whatever is malformed."""
    for cell in notebook.get("cells", []):
        metadata = cell.get("metadata") if isinstance(cell, dict) else None
        nbgrader = metadata.get("nbgrader") if isinstance(metadata, dict) else None
        if isinstance(nbgrader, dict) and isinstance(nbgrader.get("grade_id"), str):
            yield nbgrader["grade_id"]


def canonical_by_content(notebook: dict[str, Any]) -> str | None:
    """The homework notebook whose signature grade id this notebook's cells carry, or None
    (also when they carry two notebooks' signatures, e.g. a cell pasted from another part)."""
    found = {
        SIGNATURE_IDS[grade_id.split("__")[0]]
        for grade_id in _grade_ids(notebook)
        if grade_id.split("__")[0] in SIGNATURE_IDS
    }
    return found.pop() if len(found) == 1 else None


def _read_notebook(path: Path) -> tuple[dict[str, Any] | None, str | None]:
    try:
        return load_submission(path), None
    except ValueError as err:
        return None, f"{err}; it scores 0"


def canonical_extra(filename: str) -> str | None:
    """The extra file (EC1's model) a file name means, or None: a second browser download
    "ec_transfer_model (1).pt", Canvas's resubmission "ec_transfer_model-2.pt" or a
    Blackboard attempt "<date> ec_transfer_model.pt" is still it."""
    suffix, key = Path(filename).suffix.lower(), _name_key(filename)
    return next(
        (name for name in EXTRA_FILES if suffix == Path(name).suffix and Path(name).stem in key),
        None,
    )


def _newest(submission: Submission, name: str, paths: list[Path]) -> Path:
    """Of several files for ``name`` (e.g. "x.ipynb" and "Copy of x.ipynb"): the newest, said."""
    chosen = max(paths, key=lambda p: (p.stat().st_mtime, p.name))
    if len(paths) > 1:
        others = ", ".join(p.name for p in paths if p != chosen)
        submission.problems.append(
            f"{name}: graded {chosen.name}, the newest of several copies (also handed in: {others})"
        )
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
        by_content = canonical_by_content(notebook) if notebook is not None else None
        if by_content and name and by_content != name:
            submission.problems.append(
                f"{path.name} holds the cells of {by_content}.ipynb: graded as {by_content}"
            )
        name = by_content or name
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


def lms_prefix(filename: str) -> tuple[str, re.Match[str]] | None:
    """The LMS that named a flat download's file, and its match: of the formats that match,
    the one whose prefix ends first. The LMS writes its prefix before the uploaded file's
    name, so a prefix a student forges inside that name always ends later."""
    matches = [
        (found.start("file") if found["file"] is not None else found.end(), lms, found)
        for lms, pattern in FLAT_FORMATS.items()
        if (found := pattern.match(filename))
    ]
    return min(matches, key=lambda m: m[0])[1:] if matches else None


def student_id(name: str) -> str:
    """A name (folder name or LMS user) as a student id: characters other than letters,
    digits and ``._@-`` replaced by "_", no leading or trailing ``._-`` (hidden folders,
    "..", options), at most 100 characters. May be empty."""
    return _UNSAFE.sub("_", name).strip("._-")[:100].rstrip("._-")


@dataclass
class _Entry:
    """Files the download attributes to one student; ``name``: the id it asks for,
    ``where``: how the download says it, for messages; ``identity``: who, for the LMS."""

    name: str
    where: str
    identity: Identity
    files: list[Path] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def _unwrap(path: Path, original: str, mtime: float | None = None) -> Path:
    """Give a flat LMS file its original name back, for matching, in a folder of its own
    (two students' files often share that name); keep the attempt's time."""
    if original in ("", ".", "..") or "/" in original:
        original = path.name
    folder = path.parent / ".unwrapped" / path.name
    folder.mkdir(parents=True)
    renamed = path.rename(folder / original)
    if mtime is not None:
        os.utime(renamed, (mtime, mtime))
    return renamed


def _unattributed(entries: dict[tuple[str, str], _Entry]) -> _Entry:
    return entries.setdefault(
        ("unattributed", ""), _Entry(UNATTRIBUTED, "files that name no student", Identity(None, ""))
    )


def _folder_entry(entries: dict[tuple[str, str], _Entry], path: Path) -> None:
    """A student's folder: everything under it is theirs (symbolic links excepted)."""
    if found := _MOODLE_FOLDER.match(path.name):  # Moodle's files and online text: one student
        entry = entries.setdefault(
            ("Moodle", found["user"]),
            _Entry(
                found["user"],
                f"Moodle participant {found['user']}",
                Identity("Moodle", found["user"], found["name"]),
            ),
        )
    else:
        entry = entries.setdefault(
            ("folder", path.name),
            _Entry(path.name, f"folder {path.name!r}", Identity(None, path.name)),
        )
    for inner in sorted(path.rglob("*")):
        if ".ipynb_checkpoints" in inner.relative_to(path).parts:
            continue
        if inner.is_symlink():
            entry.problems.append(f"ignored {inner.relative_to(path)}: a symbolic link")
        elif inner.is_file():
            entry.files.append(inner)


def _flat_entry(entries: dict[tuple[str, str], _Entry], path: Path) -> None:
    """A file at the top of the download: its LMS prefix says whose it is."""
    flat = lms_prefix(path.name)
    if flat is None:
        _unattributed(entries).files.append(path)
        return
    lms, found = flat
    if found["file"] is None:
        return  # a Blackboard attempt's receipt (.txt)
    user, mtime, original = found["user"], None, found["file"]
    key = (lms, user)
    identity = Identity(lms, user, "" if lms == "Blackboard" else found["name"])
    if lms == "Blackboard":  # usernames may hold "_": keep "a_b" and "b" apart
        key = (lms, found.string[: found.end("user")])
        mtime = datetime.datetime.strptime(found["when"], "%Y-%m-%d-%H-%M-%S").timestamp()
        # several attempts hold the same file name: keep them apart, the newest wins
        original = f"{found['when']} {original}"
    entry = entries.setdefault(key, _Entry(user, f"{lms} user {user!r}", identity))
    entry.files.append(_unwrap(path, original, mtime))


def _entries(root: Path) -> dict[tuple[str, str], _Entry]:
    """Files per student, from per-student folders or from a flat LMS download, keyed by
    who the LMS says they are from."""
    entries: dict[tuple[str, str], _Entry] = {}
    for path in sorted(root.iterdir()):
        if path.name.startswith(".") or path.name == "__MACOSX":
            continue
        if path.is_symlink():
            _unattributed(entries).problems.append(f"ignored {path.name}: a symbolic link")
        elif path.is_dir():
            _folder_entry(entries, path)
        else:
            _flat_entry(entries, path)
    return entries


def _student_ids(entries: dict[tuple[str, str], _Entry]) -> dict[tuple[str, str], str]:
    """One student id per entry, no two alike (case aside: macOS and Windows folders are
    not case-sensitive). An entry whose name is not a usable id, or comes out the same as
    another's, gets a suffix made from the entry and a problem that says why."""
    wanted = {key: student_id(entry.name) for key, entry in entries.items()}
    ids = {}
    for key, entry in entries.items():
        base = wanted[key]
        others = [
            entries[k].where for k in entries if k != key and wanted[k].lower() == base.lower()
        ]
        if _SAFE_ID.fullmatch(base) and base.lower() not in RESERVED_IDS and not others:
            ids[key] = base
            continue
        ids[key] = f"{base or 'unnamed'}-{hashlib.sha256(repr(key).encode()).hexdigest()[:8]}"
        why = (
            f"{', '.join(others)} also comes out as student id {base!r}"
            if others
            else f"{entry.name!r} cannot be a student id"
        )
        entry.problems.append(f"{entry.where}: {why}; staged as {ids[key]!r}: check whose it is")
    return ids


def _wrapped(root: Path) -> Path:
    """The folder holding the submissions: ``root``, or for a zip of one folder that holds
    them (student folders or LMS-named files, not a student's own notebooks), that folder."""
    entries = [p for p in root.iterdir() if p.name != "__MACOSX"]
    if (
        len(entries) != 1
        or not entries[0].is_dir()
        or entries[0].is_symlink()
        or _MOODLE_FOLDER.match(entries[0].name)
    ):
        return root
    own = [
        p
        for p in entries[0].iterdir()
        if p.is_file() and p.suffix.lower() == ".ipynb" and lms_prefix(p.name) is None
    ]
    return root if own else entries[0]


def _target(out: Path, student: str) -> Path:
    """``out/<student>/hw2``, refusing an id that could reach outside ``out`` or a course folder."""
    if not _SAFE_ID.fullmatch(student) or student.lower() in RESERVED_IDS:
        raise ValueError(f"unsafe student id {student!r}")
    return out / student / ASSIGNMENT


def stage(source: Path, out: Path) -> list[Submission]:
    """Read ``source`` (folder or zip), write the nbgrader layout and intake.json under ``out``."""
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch) / "in"
        if source.is_file() and zipfile.is_zipfile(source):
            with zipfile.ZipFile(source) as archive:
                archive.extractall(root)  # member names are made relative, ".." dropped
            root = _wrapped(root)
        elif source.is_dir():
            shutil.copytree(source, root, symlinks=True)  # a link is not followed, then ignored
        else:
            raise FileNotFoundError(f"{source} is neither a folder nor a zip file")
        entries = _entries(root)
        ids = _student_ids(entries)
        submissions = []
        for key, entry in entries.items():
            submission = match(ids[key], entry.files)
            submission.problems[:0] = entry.problems
            submission.identity = entry.identity
            submissions.append(submission)
        for submission in submissions:
            target = _target(out, submission.student)
            target.mkdir(parents=True, exist_ok=True)
            for name, path in submission.notebooks.items():
                shutil.copyfile(path, target / f"{name}.ipynb")
            for name, path in submission.extras.items():
                shutil.copyfile(path, target / name)
    report = {
        s.student: {
            "notebooks": {n: p.name for n, p in s.notebooks.items()},
            "problems": s.problems,
            "identity": asdict(s.identity) if s.identity else None,
        }
        for s in submissions
    }
    out.mkdir(parents=True, exist_ok=True)
    (out / "intake.json").write_text(json.dumps(report, indent=1, sort_keys=True))
    return submissions


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path, help="folder of student folders, or an LMS .zip")
    parser.add_argument(
        "--out", type=Path, required=True, help="nbgrader submitted/ folder to fill"
    )
    args = parser.parse_args(argv)
    submissions = stage(args.source, args.out)
    for s in submissions:
        status = "; ".join(s.problems) if s.problems else "ok"
        print(f"{s.student}: {len(s.notebooks)}/{len(NOTEBOOKS)} notebooks — {status}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
