"""Grades back into the LMS: the file each LMS imports, one row per student, one grade column.

    write(lms, rows, out_dir, assignment, points_possible, assignment_id=None, now=None) -> Written

A row is keyed by the LMS's own id for the student, which the intake recorded from the
download (``intake.Identity``: Canvas user id, Moodle participant id, Blackboard username).
A student whose identity is not of that LMS (a plain folder, another LMS's download, none
recorded) or whose LMS id another student shares is never dropped silently: ``Written``
lists them with why, and ``<lms>-not-written.csv`` (student, why) beside the file says so
to the instructor. A withheld total (None: written answers not yet graded by hand) is
never written as an empty grade where that would clear one; see each LMS below. Totals
are plain decimals rounded to 2 places ("83.5", never "83.50000001"). Files are UTF-8
without a byte-order mark, quoted by the csv module (commas, quotes, newlines survive).

Canvas: Gradebook > Import, a CSV (``canvas-grades.csv``).
  Header ``Student, ID, SIS User ID, SIS Login ID, Section`` then the assignment column,
  ``"<name> (<assignment id>)"`` for an existing assignment, or the plain name, which Canvas
  matches by title or creates. Canvas matches a row to a student by ``ID`` (the Canvas user
  id) first, then SIS User ID, SIS Login ID, then the name; so ID is filled and the rest
  left empty. An empty cell is NOT ignored: where a grade exists it is posted as "" and
  clears it (process_gradebook_upload.js posts every changed cell); so a withheld row is
  left out (students not in the file keep their grades). A "Points Possible" row is
  optional; when present Canvas sets the assignment's points possible from it, so it is
  written only for a new column (no assignment id), where it gives the new assignment its
  points. The importer has no range check: a total above points possible (extra credit) is
  taken as is.
  Sources: https://teaching.resources.osu.edu/toolsets/carmencanvas/guides/calculating-final-grades/import-csv-file-carmen-grades
  (required columns; uploaded grades overwrite), https://ts.vcu.edu/askit/teaching-and-learning/canvas/faculty/grading-faculty/gradebook-action-menu-faculty/
  (export/import notes), and Canvas's importer itself:
  https://github.com/instructure/canvas-lms/blob/master/app/models/gradebook_importer.rb
  (header check, student matching, "Points Possible" row, 2-decimal comparison) and
  https://github.com/instructure/canvas-lms/blob/master/ui/features/gradebook_uploads/jquery/process_gradebook_upload.js
  (what is posted).

Moodle: Assignment > "Upload grading worksheet" (``moodle-grading-worksheet.csv``; the
  "Offline grading worksheet" feedback type must be enabled for the assignment).
  The importer needs ``Identifier`` ("Participant <id>", the id the "Download all
  submissions" folder names carry), ``Grade`` and ``Last modified (grade)``; it also reads
  ``Feedback comments`` (the comments plugin's name), and ignores the rest, so ``Full
  name`` and ``Maximum Grade`` are written only for the instructor's eye. The headers are
  matched in the uploader's Moodle language: these are the English ones. An empty Grade is
  skipped ("grade has no value"), so a withheld row is written with an empty Grade and its
  comment. A row whose grade changed in Moodle after ``Last modified (grade)`` is skipped
  unless "Ignore modified" is ticked: the export time is written there, so a grade changed
  in Moodle since is not overwritten. A grade above the assignment's maximum grade is
  skipped ("Out of range"), so a total above ``points_possible`` (extra credit) is NOT
  written: its Grade is left empty and it is listed; raise the assignment's maximum grade
  (and pass it as points_possible) or enter it by hand. The Feedback comments column
  replaces the comment in Moodle (an empty one clears it).
  Sources: https://moodle2.cs.huji.ac.il/nu18/mod/data/view.php?dname=FAQ&fname=Number&content=17
  (Download / Upload grading worksheet, with "Offline grading worksheet" checked),
  https://build-oss.conted.ox.ac.uk/quick-guide-to-online-marking ("You can leave the
  submissions you are not marking empty"), and Moodle's importer:
  https://github.com/moodle/moodle/blob/main/mod/assign/feedback/offline/importgradeslib.php
  (columns read, "Participant " prefix), .../offline/locallib.php (skips: empty, stale,
  out of range), mod/assign/gradingtable.php (worksheet headers),
  mod/assign/lang/en/assign.php ("Identifier", "Last modified (grade)", "Maximum Grade").

Blackboard (Learn Original Grade Center): Work Offline > Upload (``blackboard-grades.csv``).
  Students are matched by ``Username``; a column by the Column ID after "|" in its header,
  ``"<name> [Total Pts: <points> Score] |<column id>"``; a header without a Column ID
  creates a new column, added as a TEXT column with 0 points possible (not in calculated
  totals until edited). Comma-delimited files must have every field in quotes (written
  QUOTE_ALL); Blackboard recommends tab-delimited, but takes comma. A withheld row is left
  out (the docs do not say what an empty cell does). Not confirmed by the docs found: the
  file encoding (written UTF-8 without BOM, so the first header stays "Username"), and
  whether a score above the column's points possible is kept as is (written as is).
  Sources: http://library.blackboard.com/ref/36ba3329-e441-488a-93ce-7a55543cc999/Content/Grade%20Center/Uploading%20External%20Grade%20Center%20Items.htm,
  https://tips.uark.edu/uploading-your-grade-center/,
  http://library.blackboard.com/ref/4da9ad67-c912-4e66-aa5e-e510c578b883/Content/as_r7_3_Instructor_Manual/Upload%20Gradebook.htm
  (the upload fails without a user name per row; names are not processed).
"""

from __future__ import annotations

import csv
import datetime
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from autograder.intake import FLAT_FORMATS, Identity

LMS_NAMES = {name.lower(): name for name in FLAT_FORMATS}  # "canvas" -> "Canvas", as intake says it
SYSTEMS = tuple(LMS_NAMES)  # what ``write`` and the export's --lms accept
# The student-information columns each LMS's importer reads (spellings from the sources above).
CANVAS_COLUMNS = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")
CANVAS_POINTS_ROW = "Points Possible"
MOODLE_COLUMNS = (
    "Identifier",
    "Full name",
    "Grade",
    "Maximum Grade",
    "Last modified (grade)",
    "Feedback comments",
)
MOODLE_PARTICIPANT = "Participant "  # Moodle's "hiddenuser" string, before the participant id
BLACKBOARD_COLUMNS = ("Username",)
FILES = {
    "Canvas": "canvas-grades.csv",
    "Moodle": "moodle-grading-worksheet.csv",
    "Blackboard": "blackboard-grades.csv",
}


@dataclass(frozen=True)
class Row:
    """One student's line: ``total`` (autograded + hand-graded + extra credit; None =
    withhold, written answers not yet graded), ``pending`` (points of written answers
    not yet graded), ``comment`` (Moodle's Feedback comments; unused elsewhere)."""

    student: str
    identity: Identity | None
    total: float | None
    pending: float = 0.0
    comment: str = ""


# csv.QUOTE_*, as typeshed types writer(quoting=)
Quoting = Literal[0, 1, 2, 3]
# a writer's (table, students written, (student, why) for those not, the file's quoting)
Table = tuple[list[list[str]], list[str], list[tuple[str, str]], Quoting]


@dataclass(frozen=True)
class Written:
    """What ``write`` wrote: the file, the students whose grade is in it, and
    (student, why) for every one whose grade is not; ``sidecar``: that list as a CSV
    beside the file, or None when every grade was written."""

    path: Path
    written: tuple[str, ...]
    not_written: tuple[tuple[str, str], ...]
    sidecar: Path | None


def number(value: float) -> str:
    """A score as a plain decimal, at most 2 places: 83.0 -> "83", 83.456 -> "83.46"."""
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def _name(identity: Identity) -> str:
    """A display name as a cell: one that a spreadsheet would read as a formula (a leading
    = + - @, a name a user may set in their LMS profile) gets a leading apostrophe. Only
    shown: no importer matches on it (Canvas by ID first, Moodle ignores it)."""
    return "'" + identity.name if identity.name[:1] in ("=", "+", "-", "@") else identity.name


def _unmatched(row: Row, lms: str) -> str | None:
    """Why ``row`` cannot be keyed in ``lms``, or None."""
    identity = row.identity
    if identity is None:
        return "no identity recorded by the intake (intake.json)"
    if identity.lms is None:
        return (
            f"handed in as a plain folder {identity.user!r}, not in a {lms} download: "
            f"no {lms} id; enter the grade by hand"
        )
    if identity.lms != lms:
        return f"identified by {identity.lms} ({identity.user!r}), not {lms}"
    if not identity.user.strip():
        return f"empty {lms} id"
    return None


def _id(row: Row) -> Identity:
    """The identity of a row that ``_keyed`` let through (it keeps only rows that have one)."""
    assert row.identity is not None
    return row.identity


def _withheld(row: Row) -> str:
    return f"withheld: {number(row.pending)} points of written answers not yet graded by hand"


def _keyed(rows: list[Row], lms: str) -> tuple[list[Row], list[tuple[str, str]]]:
    """The rows that can be keyed in ``lms``, and (student, why) for the rest; two
    students with the same LMS id are both left out, since one would overwrite the other."""
    keyed, left = [], []
    for row in rows:
        if why := _unmatched(row, lms):
            left.append((row.student, why))
        else:
            keyed.append(row)
    users: dict[str, list[str]] = {}
    for row in keyed:
        users.setdefault(_id(row).user, []).append(row.student)
    shared = {user: students for user, students in users.items() if len(students) > 1}
    for row in [r for r in keyed if _id(r).user in shared]:
        others = ", ".join(s for s in shared[_id(row).user] if s != row.student)
        left.append(
            (
                row.student,
                f"{lms} id {_id(row).user!r} is also student {others}'s: check whose it is",
            )
        )
        keyed.remove(row)
    return keyed, left


def _canvas(
    rows: list[Row],
    assignment: str,
    points_possible: float,
    assignment_id: str | None,
    now: datetime.datetime,
) -> Table:
    """Canvas's Gradebook import: the user id in ID; a withheld row left out."""
    column = f"{assignment} ({assignment_id})" if assignment_id else assignment
    table = [[*CANVAS_COLUMNS, column]]
    if not assignment_id:  # a new assignment takes its points possible from this row
        table.append([CANVAS_POINTS_ROW, "", "", "", "", number(points_possible)])  # under Section
    written, left = [], []
    for row in rows:
        if row.total is None:  # an empty cell would clear an existing grade: leave it out
            left.append((row.student, _withheld(row) + "; left out of the file"))
            continue
        table.append([_name(_id(row)), _id(row).user, "", "", "", number(row.total)])
        written.append(row.student)
    return table, written, left, csv.QUOTE_MINIMAL


def _moodle(
    rows: list[Row],
    assignment: str,
    points_possible: float,
    assignment_id: str | None,
    now: datetime.datetime,
) -> Table:
    """Moodle's grading worksheet: every row, Grade empty where Moodle must skip it."""
    table = [list(MOODLE_COLUMNS)]
    written, left = [], []
    for row in rows:
        grade = "" if row.total is None else number(row.total)
        if row.total is None:
            left.append((row.student, _withheld(row) + "; Grade left empty, which Moodle skips"))
        elif row.total > points_possible:
            grade = ""
            left.append(
                (
                    row.student,
                    f"total {number(row.total)} is above the Maximum Grade "
                    f"{number(points_possible)}, which Moodle's worksheet import "
                    "skips: enter it by hand or raise the maximum grade",
                )
            )
        else:
            written.append(row.student)
        table.append(
            [
                MOODLE_PARTICIPANT + _id(row).user,
                _name(_id(row)),
                grade,
                number(points_possible),
                now.isoformat(timespec="seconds"),
                row.comment,
            ]
        )
    return table, written, left, csv.QUOTE_MINIMAL


def _blackboard(
    rows: list[Row],
    assignment: str,
    points_possible: float,
    assignment_id: str | None,
    now: datetime.datetime,
) -> Table:
    """Blackboard's Grade Center upload: Username and the column; a withheld row left out."""
    column = (
        f"{assignment} [Total Pts: {number(points_possible)} Score] |{assignment_id}"
        if assignment_id
        else assignment
    )
    table = [[*BLACKBOARD_COLUMNS, column]]
    written, left = [], []
    for row in rows:
        if row.total is None:
            left.append((row.student, _withheld(row) + "; left out of the file"))
            continue
        table.append([_id(row).user, number(row.total)])
        written.append(row.student)
    return table, written, left, csv.QUOTE_ALL  # Blackboard: every comma-delimited field quoted


WRITERS: dict[str, Callable[[list[Row], str, float, str | None, datetime.datetime], Table]] = {
    "Canvas": _canvas,
    "Moodle": _moodle,
    "Blackboard": _blackboard,
}


def _write_csv(path: Path, table: Sequence[Sequence[str]], quoting: Quoting) -> None:
    with path.open("w", encoding="utf-8", newline="") as f:
        csv.writer(f, quoting=quoting).writerows(table)


def write(
    lms: str,
    rows: list[Row],
    out_dir: Path,
    assignment: str,
    points_possible: float,
    assignment_id: str | None = None,
    now: datetime.datetime | None = None,
) -> Written:
    """Write the file ``lms`` ("canvas", "moodle" or "blackboard", any case) imports, for
    ``assignment`` out of ``points_possible``, under ``out_dir``; ``assignment_id``: the
    LMS's id of an existing assignment or column (Canvas assignment id, Blackboard Column
    ID; Moodle needs none: the worksheet is uploaded into its assignment); ``now``: the
    time written as Moodle's "Last modified (grade)" (default: now, UTC)."""
    name = LMS_NAMES.get(lms.lower())
    if name is None:
        raise ValueError(f"unknown LMS {lms!r}: one of {', '.join(LMS_NAMES)}")
    keyed, left = _keyed(rows, name)
    now = now or datetime.datetime.now(datetime.UTC)
    table, written, withheld, quoting = WRITERS[name](
        keyed, assignment, points_possible, assignment_id, now
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / FILES[name]
    _write_csv(path, table, quoting)
    not_written = tuple(left + withheld)
    sidecar = out_dir / f"{name.lower()}-not-written.csv"
    if not_written:
        _write_csv(sidecar, [["student", "why"], *not_written], csv.QUOTE_MINIMAL)
    else:
        sidecar.unlink(missing_ok=True)  # a list from an earlier export would mislead
    return Written(path, tuple(written), not_written, sidecar if not_written else None)
