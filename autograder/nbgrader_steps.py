"""The parts of nbgrader the grader keeps, run in-process: recording grades and feedback.

nbgrader's ``autograde`` executes a submission in the student's kernel, test cells included,
and scores a test cell by whether it raised: a submission can make any cell pass. So the
grader replaces its execution (``autograder.execution``: sandboxed run, verdicts judged in
the grader) and keeps the rest:

- ``record``: nbgrader's autograde on the *graded* notebooks with execution switched off;
  nbgrader itself restores the test cells' source, limits the output, and saves scores and
  comments to the one gradebook. Only the grader's main process runs it. An extra-credit
  cell has 0 points (``autograder.gradebook``), so nbgrader scores it 0 of 0; ``record``
  then writes what its verdict earns as nbgrader's ``extra_credit`` on that cell.
- ``feedback``: nbgrader's generate_feedback, one HTML page per graded notebook.

Both read only the graded notebooks, whose student markdown is already inert
(``autograder.markup``, applied by ``autograder.integrity``) and whose outputs are text and
checked PNG (``execution._sanitized``): formgrader, which renders the ``autograded`` copies
that ``record`` writes, and the feedback pages show nothing a student's HTML can run in.
"""

from __future__ import annotations

import json
import logging
import shutil
import warnings
from pathlib import Path

from nbconvert.preprocessors import ClearMetadataPreprocessor, CSSHTMLHeaderPreprocessor
from nbgrader.converters import Autograde, GenerateFeedback
from nbgrader.converters.base import BaseConverter
from nbgrader.coursedir import CourseDirectory
from nbgrader.preprocessors import (
    AssignLatePenalties,
    CheckCellMetadata,
    ClearHiddenTests,
    DeduplicateIds,
    GetGrades,
    LimitOutput,
    OverwriteCells,
    OverwriteKernelspec,
    SaveAutoGrades,
)
from sqlalchemy.exc import SAWarning
from traitlets.config import Config
from traitlets.config.loader import PyFileConfigLoader

from autograder import gradebook
from autograder.kit import ASSIGNMENT

EXECUTED = "executed"  # class course folder holding the workers' executed notebooks


class _Errors(logging.Handler):
    """Collects nbgrader's ERROR log lines, the only place it says why a notebook failed."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def _why(lines: list[str]) -> str:
    """One sentence from nbgrader's error log: the kernel died, or the exception it logged."""
    text = "\n".join(lines)
    if "Kernel died" in text or "DeadKernelError" in text:
        return (
            "its kernel died while running it: exit(), os._exit(), a crash, "
            "or memory beyond the grading limit"
        )
    tracebacks = [line for line in lines if "Traceback" in line]
    if tracebacks:
        return tracebacks[-1].strip().splitlines()[-1]
    return lines[0] if lines else ""


def course_config(course: Path, **overrides: dict[str, object]) -> Config:
    config = PyFileConfigLoader("nbgrader_config.py", path=str(course)).load_config()
    for section, values in overrides.items():
        for name, value in values.items():
            config[section][name] = value
    return config


def _convert(
    course: Path,
    student: str,
    config: Config,
    notebook: str = "*",
    converter_class: type[BaseConverter] = Autograde,
) -> str | None:
    """One run of an nbgrader converter (autograde by default); None on success, else why not."""
    coursedir = CourseDirectory(config=config, root=str(course))
    coursedir.assignment_id, coursedir.student_id, coursedir.notebook_id = (
        ASSIGNMENT,
        student,
        notebook,
    )
    converter = converter_class(coursedir=coursedir, config=config)
    converter.force = True
    errors = _Errors()
    converter.log.addHandler(errors)
    try:
        with warnings.catch_warnings():
            # nbgrader 0.9.6's gradebook code trips SQLAlchemy 2's autoflush warnings; harmless
            warnings.simplefilter("ignore", SAWarning)
            converter.start()
    except Exception as exc:  # nbgrader raises NbGraderException after logging why
        return _why(errors.lines) or f"{type(exc).__name__}: {exc}"
    finally:
        converter.log.removeHandler(errors)
    return None


def record(course: Path, student: str = "*") -> str | None:
    """Save the grades of the executed notebooks in ``course/executed`` to the course's
    gradebook, with nbgrader's autograde minus execution (trusted code only)."""
    config = course_config(
        course,
        CourseDirectory={"submitted_directory": EXECUTED},
        Autograde={
            # no ClearOutput and no Execute: the outputs are the workers' results
            "sanitize_preprocessors": [
                DeduplicateIds,
                OverwriteKernelspec,
                OverwriteCells,
                CheckCellMetadata,
            ],
            # the graded notebooks' outputs are already cut to size and reduced to text and PNG
            # (autograder.execution), and a test cell holds only the judge's verdict
            "autograde_preprocessors": [
                ClearMetadataPreprocessor,
                LimitOutput,
                SaveAutoGrades,
                AssignLatePenalties,
                CheckCellMetadata,
            ],
        },
    )
    why = _convert(course, student, config)
    if why is None:
        try:
            _record_extra_credit(course, student)
        except Exception as exc:  # a fault of the grader's own: say so, keep the batch going
            return f"extra credit not recorded: {exc!r}"
    return why


def _record_extra_credit(course: Path, student: str) -> None:
    """Give each extra-credit cell of the autograded notebooks what its verdict earns, as
    nbgrader's ``extra_credit`` on that cell: nbgrader's own rule (``determine_grade``: an
    error output earns 0) applied to the cell with its extra-credit value as points."""
    from nbformat import from_dict
    from nbgrader.api import Gradebook, MissingEntry
    from nbgrader.utils import determine_grade

    worth = {
        c.grade_id: c.points
        for c in gradebook.cells(course / "source" / ASSIGNMENT)
        if c.kind == gradebook.EXTRA
    }
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        for folder in sorted((course / "autograded").glob(f"{student}/{ASSIGNMENT}")):
            for path in sorted(folder.glob("*.ipynb")):
                done = set()
                for cell in json.loads(path.read_text())["cells"]:
                    grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
                    if grade_id not in worth or grade_id in done or cell.get("cell_type") != "code":
                        continue
                    done.add(grade_id)  # nbgrader grades the first cell of an id (DeduplicateIds)
                    cell = from_dict(cell)  # type: ignore[no-untyped-call]  # nbformat: no annotations
                    cell.metadata.nbgrader["points"] = worth[grade_id]
                    earned, _ = determine_grade(cell)
                    try:
                        grade = gb.find_grade(grade_id, path.stem, ASSIGNMENT, folder.parent.name)
                    except MissingEntry:
                        continue
                    grade.extra_credit = earned or 0.0
                gb.db.commit()


def feedback(course: Path, student: str = "*") -> str | None:
    """nbgrader's generate_feedback for one student (or all), in this process: one HTML page
    per graded notebook in course/feedback/<student>/hw2, without the hidden lines of the test
    cells (a student reads the check's visible call and the judge's diagnostic); None on
    success, else why not."""
    config = course_config(
        course,
        GenerateFeedback={
            "preprocessors": [GetGrades, CSSHTMLHeaderPreprocessor, ClearHiddenTests]
        },
    )
    why = _convert(course, student, config, converter_class=GenerateFeedback)
    # nbgrader copies the assignment's other files (data/, hw2utils.py: 0.7 MB) beside each
    # student's pages; a class of 300 does not need 300 copies of the data
    for folder in (course / "feedback").glob(f"{student}/{ASSIGNMENT}"):
        for item in folder.iterdir():
            if item.suffix != ".html":
                shutil.rmtree(item) if item.is_dir() else item.unlink()
    return why
