"""The class's nbgrader course: this repository's source/hw2, generated, with its own gradebook.

make_course(course)     create it, or update a rerun's assignment (the grades stay)
environment()           what nbgrader's commands run with

nbgrader's generate_assignment (a gradebook made by alembic, the release written) takes 8–15 s,
and every batch, shard, rerun and merge needs the course. Its result depends only on what it
reads (nbgrader_config.py, source/hw2, nbgrader's version), so it is made once per such content
and kept in COURSE_CACHE, a folder only this user may read; a course is a copy of it.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import nbgrader

from autograder.kit import ASSIGNMENT

ROOT = Path(__file__).resolve().parents[1]
CONFIG = "nbgrader_config.py"
#: Generated courses, one folder per content key; $HW2_COURSE_CACHE moves it.
COURSE_CACHE = Path(os.environ.get("HW2_COURSE_CACHE") or Path.home() / ".cache" / "hw2-courses")
KEY_FILE = ".hw2-course-key"  # in a course: the key of the content it was generated from


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


def content_key() -> str:
    """sha256 over what generate_assignment reads: nbgrader's version, nbgrader_config.py and
    every file of source/hw2 (its path and bytes)."""
    digest = hashlib.sha256(f"nbgrader {nbgrader.__version__}\n".encode())
    source = ROOT / "source" / ASSIGNMENT
    files = [ROOT / CONFIG, *sorted(p for p in source.rglob("*") if p.is_file())]
    for path in files:
        if "__pycache__" in path.parts:
            continue
        digest.update(f"{path.relative_to(ROOT).as_posix()}\n".encode())
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def _generate(course: Path, key: str) -> None:
    """Copy the kit's config and source into ``course`` and run generate_assignment there."""
    course.mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / CONFIG, course / CONFIG)
    shutil.rmtree(course / "source", ignore_errors=True)
    shutil.copytree(ROOT / "source" / ASSIGNMENT, course / "source" / ASSIGNMENT)
    result = _nbgrader(course, "generate_assignment", ASSIGNMENT, "--force")
    if result.returncode != 0:
        raise RuntimeError(f"nbgrader generate_assignment failed:\n{result.stderr[-3000:]}")
    (course / KEY_FILE).write_text(key + "\n")


def _cached(key: str) -> Path:
    """The generated course for ``key``, made now if missing. Two batches making it at once each
    build in a folder of their own; the first rename wins and the other is discarded."""
    cached = COURSE_CACHE / key
    if not (cached / KEY_FILE).is_file():
        COURSE_CACHE.mkdir(parents=True, exist_ok=True)
        if (owner := COURSE_CACHE.stat().st_uid) != os.geteuid():  # its owner could plant a course
            raise RuntimeError(
                f"the course cache {COURSE_CACHE} belongs to user {owner}, not to the grader: "
                "remove it or set HW2_COURSE_CACHE to a folder of your own"
            )
        os.chmod(COURSE_CACHE, 0o700)  # the gradebook's template: no sandbox user reads it
        building = Path(tempfile.mkdtemp(prefix=f"{key[:12]}-", dir=COURSE_CACHE))
        try:
            _generate(building, key)
            with contextlib.suppress(OSError):  # already there: made by another batch
                building.rename(cached)
        finally:
            shutil.rmtree(building, ignore_errors=True)
    return cached


def make_course(course: Path) -> None:
    """An nbgrader course holding this repository's source/hw2 and its gradebook. A new course is
    a copy of the cached one; an existing course (a rerun, a merge) keeps its gradebook and is
    generated again only when the kit's content changed since."""
    key = content_key()
    if (course / "gradebook.db").exists():
        recorded = course / KEY_FILE
        if not (recorded.is_file() and recorded.read_text().strip() == key):
            _generate(course, key)  # update the assignment in place; the grades stay
        return
    shutil.copytree(_cached(key), course, dirs_exist_ok=True)
