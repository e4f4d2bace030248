"""What a course's gradebook says: its graded cells, every student's score per cell, and the
totals that go to the tables and the LMS — read in one query.

A grade cell is one of three kinds, read from the course's source notebooks (the kit's own
copy, never a student's):

- ``AUTO``: a test cell with points; nbgrader's ``auto_score`` (or the ``manual_score`` an
  instructor typed over it in formgrader);
- ``MANUAL``: a written answer (a markdown grade cell), graded by hand in formgrader; its
  score is None until someone grades it (nbgrader scores an unchanged answer 0 at once);
- ``EXTRA``: an extra-credit test cell: 0 points, so nbgrader's ``max_score`` is the
  regular points alone (100), and worth ``hw2.extra_credit`` points in the cell's metadata,
  which the grader records as nbgrader's ``extra_credit`` on that cell
  (``nbgrader_steps.record``).

As in nbgrader (``Grade.score``), a cell's score is its auto or manual score plus any extra
credit on it, so ``total = autograded + hand_graded + extra_credit`` equals the score that
``nbgrader export`` writes, out of ``max_score`` (the sum of the non-extra cells' points).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from autograder.kit import ASSIGNMENT, METADATA_KEY

AUTO, MANUAL, EXTRA = "autograded", "by hand", "extra credit"


@dataclass(frozen=True)
class Cell:
    """One grade cell: ``points`` is its maximum, for ``EXTRA`` what it can earn on top."""

    notebook: str
    grade_id: str
    kind: str
    points: float


class Score(NamedTuple):
    """A student's result on one cell: ``earned`` (auto or manual score; None while a written
    answer awaits grading) and ``extra`` (nbgrader's extra credit on the cell, 0 if none)."""

    earned: float | None
    extra: float = 0.0

    @property
    def value(self) -> float | None:
        """nbgrader's score of the cell: earned + extra; None while awaiting grading by hand."""
        return None if self.earned is None else self.earned + self.extra


@dataclass(frozen=True)
class Totals:
    """One student's points. ``awaiting_manual``: points of written answers nobody graded yet."""

    autograded: float
    hand_graded: float
    awaiting_manual: float
    extra_credit: float

    @property
    def total(self) -> float:
        return self.autograded + self.hand_graded + self.extra_credit


def cell_kind(cell: dict[str, Any]) -> str | None:
    """AUTO, MANUAL or EXTRA for a grade cell of a source notebook (JSON), else None."""
    meta = cell.get("metadata", {}).get("nbgrader", {})
    if not meta.get("grade"):
        return None
    if "extra_credit" in cell.get("metadata", {}).get(METADATA_KEY, {}):
        return EXTRA
    return MANUAL if cell.get("cell_type") == "markdown" else AUTO


def cells(source: Path) -> list[Cell]:
    """The grade cells of the source notebooks in ``source`` (a course's source/hw2), in
    notebook order."""
    found = []
    for path in sorted(source.glob("*.ipynb")):
        for cell in json.loads(path.read_text())["cells"]:
            if kind := cell_kind(cell):
                meta = cell["metadata"]
                points = (
                    meta[METADATA_KEY]["extra_credit"]
                    if kind == EXTRA
                    else meta["nbgrader"]["points"]
                )
                found.append(Cell(path.stem, meta["nbgrader"]["grade_id"], kind, float(points)))
    return found


def max_score(graded: list[Cell]) -> float:
    """The regular points (nbgrader's max_score): extra credit is on top of them."""
    return sum(c.points for c in graded if c.kind != EXTRA)


def scores(course: Path, students: list[str]) -> dict[str, dict[str, Score]]:
    """{student: {grade id: Score}} from ``course``'s gradebook, in one query. A student or
    notebook the gradebook lacks (nothing could be graded) scores 0 on each cell."""
    from nbgrader.api import (
        Assignment,
        Grade,
        GradeCell,
        Notebook,
        SubmittedAssignment,
        SubmittedNotebook,
    )
    from sqlalchemy import create_engine
    from sqlalchemy.orm import Session

    graded = cells(course / "source" / ASSIGNMENT)
    table = {s: {c.grade_id: Score(0.0) for c in graded} for s in sorted(students)}
    engine = create_engine(f"sqlite:///{course / 'gradebook.db'}")
    try:
        with Session(engine) as session:
            query = (
                session.query(
                    SubmittedAssignment.student_id,
                    GradeCell.name,
                    Grade.auto_score,
                    Grade.manual_score,
                    Grade.extra_credit,
                )
                .select_from(Grade)
                .join(SubmittedNotebook, Grade.notebook_id == SubmittedNotebook.id)
                .join(
                    SubmittedAssignment, SubmittedNotebook.assignment_id == SubmittedAssignment.id
                )
                .join(Assignment, SubmittedAssignment.assignment_id == Assignment.id)
                .join(GradeCell, Grade.cell_id == GradeCell.id)
                .join(Notebook, GradeCell.notebook_id == Notebook.id)
                .filter(Assignment.name == ASSIGNMENT)
            )
            for student, grade_id, auto, manual, extra in query:
                if student in table and grade_id in table[student]:
                    table[student][grade_id] = Score(
                        manual if manual is not None else auto, extra or 0.0
                    )
    finally:
        engine.dispose()
    return table


def totals(graded: list[Cell], row: dict[str, Score]) -> Totals:
    """A student's points from their row of ``scores``."""

    def earned(kind: str) -> float:
        return sum(row[c.grade_id].earned or 0.0 for c in graded if c.kind == kind)

    awaiting = sum(c.points for c in graded if c.kind == MANUAL and row[c.grade_id].earned is None)
    return Totals(
        autograded=earned(AUTO),
        hand_graded=earned(MANUAL),
        awaiting_manual=awaiting,
        extra_credit=sum(row[c.grade_id].extra for c in graded),
    )
