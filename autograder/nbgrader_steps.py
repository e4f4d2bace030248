"""nbgrader's Autograde converter run in-process, split into its two halves.

nbgrader's ``autograde`` executes a submission and records its grades in one step. Batch
grading splits them so that untrusted code never runs next to the shared gradebook:

- ``execute``: in a student's private scratch course (a copy of the gradebook that is thrown
  away), run nbgrader's full autograde one notebook at a time, so a notebook whose kernel
  dies costs only that notebook (nbgrader drops every notebook of the student otherwise);
- ``record``: in the class course, run nbgrader's autograde again on the *executed*
  notebooks with execution switched off; nbgrader itself restores the test cells, limits
  the output, and saves scores and comments to the one gradebook. Only this step writes it.
"""
from __future__ import annotations

import json
import logging
import warnings
from pathlib import Path

from nbconvert.preprocessors import ClearMetadataPreprocessor
from nbgrader.converters import Autograde, GenerateFeedback
from nbgrader.coursedir import CourseDirectory
from nbgrader.preprocessors import (AssignLatePenalties, CheckCellMetadata, DeduplicateIds,
                                    Execute, IgnorePattern, LimitOutput, OverwriteCells,
                                    OverwriteKernelspec, SaveAutoGrades)
from sqlalchemy.exc import SAWarning
from traitlets.config import Config
from traitlets.config.loader import PyFileConfigLoader

from autograder.preprocessors import HideCheckFrames, LimitOutputSize, StderrAsStdout

ASSIGNMENT = "hw2"
EXECUTED = "executed"  # class course folder holding the workers' executed notebooks
OUTCOME = "outcome.json"  # in a scratch course: {notebook: None or why it failed}


class _Errors(logging.Handler):
    """Collects nbgrader's ERROR log lines, the only place it says why a notebook failed."""

    def __init__(self):
        super().__init__(logging.ERROR)
        self.lines: list[str] = []

    def emit(self, record):
        self.lines.append(record.getMessage())


def _why(lines: list[str]) -> str:
    """One sentence from nbgrader's error log: the kernel died, or the exception it logged."""
    text = "\n".join(lines)
    if "Kernel died" in text or "DeadKernelError" in text:
        return ("its kernel died while running it: exit(), os._exit(), a crash, "
                "or memory beyond the grading limit")
    tracebacks = [line for line in lines if "Traceback" in line]
    if tracebacks:
        return tracebacks[-1].strip().splitlines()[-1]
    return lines[0] if lines else ""


def course_config(course: Path, **overrides) -> Config:
    config = PyFileConfigLoader("nbgrader_config.py", path=str(course)).load_config()
    for section, values in overrides.items():
        for name, value in values.items():
            config[section][name] = value
    return config


def _convert(course: Path, student: str, config: Config, notebook: str = "*",
             converter_class=Autograde) -> str | None:
    """One run of an nbgrader converter (autograde by default); None on success, else why not."""
    coursedir = CourseDirectory(config=config, root=str(course))
    coursedir.assignment_id, coursedir.student_id, coursedir.notebook_id = ASSIGNMENT, student, notebook
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


def execute(scratch: Path, student: str) -> dict[str, str | None]:
    """Autograde each submitted notebook of ``student`` in the scratch course (kernels run
    here). Returns {notebook: None if graded, else why not}, also written after every
    notebook to SCRATCH/outcome.json: a notebook not listed there never finished (nbgrader
    writes an unexecuted copy first, which must not be mistaken for a result)."""
    submitted = scratch / "submitted" / student / ASSIGNMENT
    config = course_config(scratch, Autograde={"autograde_preprocessors": [
        # nbgrader's own list, plus a cut of megabyte outputs before they are written
        Execute, IgnorePattern, ClearMetadataPreprocessor, LimitOutput, LimitOutputSize,
        SaveAutoGrades, AssignLatePenalties, CheckCellMetadata]})
    outcome: dict[str, str | None] = {}
    for path in sorted(submitted.glob("*.ipynb")):
        outcome[path.stem] = _convert(scratch, student, config, notebook=path.stem)
        partial = scratch / "outcome.json.partial"
        partial.write_text(json.dumps(outcome, indent=1))
        partial.replace(scratch / OUTCOME)
    return outcome


def record(course: Path, student: str = "*") -> str | None:
    """Save the grades of the executed notebooks in ``course/executed`` to the course's
    gradebook, with nbgrader's autograde minus execution (trusted code only)."""
    config = course_config(course, CourseDirectory={"submitted_directory": EXECUTED}, Autograde={
        # no ClearOutput and no Execute: the outputs are the workers' results
        "sanitize_preprocessors": [DeduplicateIds, OverwriteKernelspec, OverwriteCells,
                                   CheckCellMetadata],
        "autograde_preprocessors": [ClearMetadataPreprocessor, LimitOutput, LimitOutputSize,
                                    StderrAsStdout, HideCheckFrames, SaveAutoGrades,
                                    AssignLatePenalties, CheckCellMetadata],
    })
    return _convert(course, student, config)


def feedback(course: Path, student: str = "*") -> str | None:
    """nbgrader's generate_feedback for one student (or all), in this process: one HTML page
    per graded notebook in course/feedback/<student>/hw2; None on success, else why not."""
    return _convert(course, student, course_config(course), converter_class=GenerateFeedback)


def _limit_resources(memory_bytes: int, cpu_seconds: int) -> None:
    """Cap this process and every process it starts (the kernels): address space and CPU time."""
    import resource
    if memory_bytes:
        resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    if cpu_seconds:
        resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds))


def _adopt_orphans() -> None:
    """Become the Linux "child subreaper": a process a submission starts and detaches
    (setsid, double fork) is re-parented here instead of to init, so it can be killed."""
    import ctypes
    import sys
    if sys.platform.startswith("linux"):
        PR_SET_CHILD_SUBREAPER = 36
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)


def _kill_descendants() -> None:
    import psutil
    for process in psutil.Process().children(recursive=True):
        try:
            process.kill()
        except psutil.NoSuchProcess:
            pass


def main(argv=None) -> int:
    """Worker: ``python -m autograder.nbgrader_steps SCRATCH STUDENT [--memory B] [--cpu S]``
    executes one student's notebooks in SCRATCH, writing SCRATCH/outcome.json."""
    import argparse
    parser = argparse.ArgumentParser(description=main.__doc__.splitlines()[0])
    parser.add_argument("scratch", type=Path)
    parser.add_argument("student")
    parser.add_argument("--memory", type=int, default=0, help="address-space limit, bytes")
    parser.add_argument("--cpu", type=int, default=0, help="CPU-time limit, seconds")
    args = parser.parse_args(argv)
    _limit_resources(args.memory, args.cpu)
    _adopt_orphans()
    try:
        execute(args.scratch, args.student)
    finally:
        _kill_descendants()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
