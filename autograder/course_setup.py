"""The class's nbgrader course: this repository's source/hw2, generated, with its own gradebook.

make_course(course)     create it, or update a rerun's assignment (the grades stay)
environment()           what nbgrader's commands run with
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from autograder.kit import ASSIGNMENT

ROOT = Path(__file__).resolve().parents[1]


def environment() -> dict[str, str]:
    """What nbgrader's commands run with: this kit importable, the interpreter's tools on PATH."""
    # nbgrader creates its gradebook by running the `alembic` command: the interpreter's own
    # bin folder must be on PATH even when the virtualenv is not activated.
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    return {**os.environ, "PATH": path, "PYTHONPATH": str(ROOT)}


def _nbgrader(course: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "nbgrader", *args],
        cwd=course,
        env=environment(),
        capture_output=True,
        text=True,
    )


def make_course(course: Path) -> None:
    """An nbgrader course holding this repository's source/hw2 and its gradebook."""
    course.mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "nbgrader_config.py", course / "nbgrader_config.py")
    shutil.rmtree(course / "source", ignore_errors=True)
    shutil.copytree(ROOT / "source" / ASSIGNMENT, course / "source" / ASSIGNMENT)
    result = _nbgrader(course, "generate_assignment", ASSIGNMENT, "--force")
    if result.returncode != 0:
        raise RuntimeError(f"nbgrader generate_assignment failed:\n{result.stderr[-3000:]}")
