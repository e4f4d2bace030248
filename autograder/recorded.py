"""Which students a course's gradebook already holds as they were executed, so that a rerun of
a batch, or a second merge of its shards, records only the others.

digest(course, student)                  sha256 of everything recording a student reads
holds(course, student, digest, feedback) the gradebook holds that student as ``digest`` (and
                                         their feedback pages exist, if ``feedback``)
mark(course, student, digest, feedback)  say so, once they are recorded

Recording a student (nbgrader's autograde without execution, then generate_feedback) costs
about 5 s: a rerun of a class of 300 would spend 25 minutes writing the grades it already has.
The mark is a row of the table ``hw2_recorded`` in the gradebook itself, so it is true of
exactly that gradebook: a deleted gradebook has no rows, a restored copy has the rows of the
grades it holds. Its digest covers the course's content key (``course_setup.KEY_FILE``: a kit
whose notebooks changed records everyone again) and every file of the student's executed
folder (the worker's record, the graded notebooks, the hand-in's timestamp: graded again, the
student is recorded again). The gradebook is root's alone while grading, like the rest of the
course: no student's code can write a row.
"""

from __future__ import annotations

import contextlib
import hashlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path

from autograder.course_setup import KEY_FILE
from autograder.kit import ASSIGNMENT
from autograder.nbgrader_steps import EXECUTED

TABLE = "hw2_recorded"


def digest(course: Path, student: str) -> str:
    """sha256 over the course's content key and each file of executed/<student> (path, bytes)."""
    key = course / KEY_FILE
    hashed = hashlib.sha256(key.read_bytes() if key.is_file() else b"no key\n")
    folder = course / EXECUTED / student
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        hashed.update(f"{path.relative_to(folder).as_posix()}\n".encode())
        hashed.update(hashlib.sha256(path.read_bytes()).digest())
    return hashed.hexdigest()


@contextlib.contextmanager
def _table(course: Path) -> Iterator[sqlite3.Connection]:
    connection = sqlite3.connect(course / "gradebook.db")
    try:
        with connection:  # one transaction: committed on success
            connection.execute(
                f"CREATE TABLE IF NOT EXISTS {TABLE} "
                "(student TEXT PRIMARY KEY, digest TEXT NOT NULL, feedback INTEGER NOT NULL)"
            )
            yield connection
    finally:
        connection.close()


def holds(course: Path, student: str, digest: str, feedback: bool) -> bool:
    """Whether the gradebook recorded ``student`` as ``digest`` (with feedback pages, that still
    exist, when ``feedback`` is asked for)."""
    if not (course / "gradebook.db").is_file():
        return False
    with _table(course) as db:
        row = db.execute(
            f"SELECT digest, feedback FROM {TABLE} WHERE student = ?", (student,)
        ).fetchone()
    if row is None or row[0] != digest:
        return False
    pages = course / "feedback" / student / ASSIGNMENT
    return not feedback or (bool(row[1]) and any(pages.glob("*.html")))


def mark(course: Path, student: str, digest: str, feedback: bool) -> None:
    """Record that the gradebook now holds ``student`` as ``digest``."""
    with _table(course) as db:
        db.execute(
            f"INSERT OR REPLACE INTO {TABLE} (student, digest, feedback) VALUES (?, ?, ?)",
            (student, digest, int(feedback)),
        )
