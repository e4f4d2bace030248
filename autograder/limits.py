"""What one student's grading may use: the one home of the grading limits.

`grade.py` takes them as its command-line defaults (``Limits.for_jobs``), `nbgrader_config.py`
takes the cell timeout for nbgrader's own runs (validate, and the class course, whose
nbgrader_config.py is a copy), and the Gradescope run uses them as they are. Standard library
only: nbgrader_config.py imports this.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from autograder.cpus import available_cpus

GiB = 2**30
CPU_PER_WALL = 2  # CPU seconds a process may use per wall second a student may take


@dataclass(frozen=True)
class Limits:
    """Wall seconds per student, CPU seconds per process (default ``CPU_PER_WALL`` x wall),
    address space per process (bytes), torch threads, seconds one cell may run (nbgrader's
    Execute.timeout), and wall seconds of the isolated run of the policed answers
    (``hw2probes.isolated``, a few seconds when honest; each answer's probes get ``cell``
    seconds of it)."""

    wall: float = 900
    # None (the default) is replaced by CPU_PER_WALL x wall: readers always get an int
    cpu: int = None  # type: ignore[assignment]
    memory: int = 4 * GiB
    threads: int = 1
    cell: int = 120
    isolated_wall: float = 300

    def __post_init__(self) -> None:
        if self.cpu is None:
            object.__setattr__(self, "cpu", int(CPU_PER_WALL * self.wall))

    @classmethod
    def for_jobs(cls, jobs: int, threads: int | None = None, **given: Any) -> Limits:
        """The limits of each of ``jobs`` workers grading at once; ``threads`` (torch's, per
        worker) default to the cores this process may use, shared among the workers; ``given``:
        the other fields."""
        return cls(threads=threads or max(1, available_cpus() // jobs), **given)
