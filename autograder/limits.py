"""What one student's grading may use: the one home of the grading limits.

`grade.py` takes them as its command-line defaults, `nbgrader_config.py` takes the cell
timeout for nbgrader's own runs (validate), and the Gradescope run uses them as they are.
"""
from dataclasses import dataclass

GiB = 2**30


@dataclass(frozen=True)
class Limits:
    """Wall seconds per student, CPU seconds per process, address space per process (bytes),
    torch threads, seconds one cell may run (nbgrader's Execute.timeout), and wall seconds of
    the isolated run of the policed answers (``hw2probes.isolated``, a few seconds when honest;
    each answer's probes get ``cell`` seconds of it)."""
    wall: float = 900
    cpu: int = 1800
    memory: int = 4 * GiB
    threads: int = 1
    cell: int = 120
    isolated_wall: float = 300
