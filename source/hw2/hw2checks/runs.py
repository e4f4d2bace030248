"""What a check's run needs to know, shipped and torch-free: which cases it draws (the run's
seed) and how an error raised by your code is described.

Every case a check tries is drawn with ``case_seed(default)``: ``default`` outside grading (so a
visible check always tries the same public cases), and a seed mixed from the run's own while
grading (the grader draws one afresh for each run, ``$HW2_PROBE_SEED``), so that no table of
answers computed in advance matches, and the grader's judge, drawing again under ``seeded(seed)``,
rebuilds the cases your code was run on.
"""

from __future__ import annotations

import contextlib
import contextvars
import hashlib
import os
import sys
import sysconfig
import traceback
import types
from collections.abc import Iterator

ENV_SEED = "HW2_PROBE_SEED"  # drawn by the grader for each run; the judge is told it too
MAX_ERROR_CHARS = 2000
#: The kit's modules (the shipped checks and helpers, the grader's probes and judges): a frame in
#: one of them is never the student's, nor is one in the standard library or an installed package.
KIT_MODULES = ("hw2probes", "hw2checks", "hw2utils", "autograder")


# The run's seed where set by ``seeded`` (the trusted grader, around a judge); a ContextVar, so
# that the grader's threads (one student each) never see each other's seed. Unset: $HW2_PROBE_SEED.
_SEED: contextvars.ContextVar[int | None] = contextvars.ContextVar("hw2probes_run_seed")


def current_seed() -> int | None:
    """The seed of this grading run, or None outside grading: that of the innermost ``seeded``,
    else ``$HW2_PROBE_SEED`` (set by the grader in the sandbox), else None."""
    try:
        return _SEED.get()
    except LookupError:  # no seeded() around this call
        pass
    value = os.environ.get(ENV_SEED, "")
    return int(value) if value else None


@contextlib.contextmanager
def seeded(seed: int | None) -> Iterator[None]:
    """Inside, ``current_seed()`` is ``seed`` (None: outside grading, whatever the environment
    says): the judge runs under the seed its probe ran with, and so rebuilds the same inputs."""
    token = _SEED.set(seed)
    try:
        yield
    finally:
        _SEED.reset(token)


def run_seed(default: int) -> int:
    """The run's seed itself, ``default`` outside grading (EC2's grids: rule_grids(run_seed(2)))."""
    seed = current_seed()
    return default if seed is None else seed


def case_seed(default: int) -> int:
    """The seed of one case's inputs: ``default`` outside grading; while grading, 62 bits of
    blake2b(run seed, default), so that cases with different defaults get unrelated streams and
    ``case_seed(d) + k`` (a few more seeds for one case) stays a valid torch seed (< 2**64)."""
    seed = current_seed()
    if seed is None:
        return default
    digest = hashlib.blake2b(f"{seed}:{default}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little") >> 2


def _not_the_students() -> tuple[str, ...]:
    """Where the files of frames a student did not write live: the loaded kit modules (files, and
    folders for packages), the standard library and the installed packages."""
    places = set()
    for name, module in list(sys.modules.items()):
        file = getattr(module, "__file__", None)
        if file and name.partition(".")[0] in KIT_MODULES:
            file = os.path.abspath(file)
            places.add(os.path.dirname(file) + os.sep if file.endswith("__init__.py") else file)
    paths = sysconfig.get_paths()
    places.update(
        os.path.abspath(paths[key]) + os.sep
        for key in ("stdlib", "platstdlib", "purelib", "platlib")
        if paths.get(key)
    )
    return tuple(places)


def students_frames(tb: types.TracebackType | None) -> list[traceback.FrameSummary]:
    """The frames of traceback ``tb`` in the student's own code: none in a kit module, the
    standard library, an installed package (torch) or Python's frozen modules."""
    skip = _not_the_students()
    return [
        frame
        for frame in traceback.extract_tb(tb)
        if not frame.filename.startswith("<frozen")
        and not os.path.abspath(frame.filename).startswith(skip)
    ]


def describe_error(exc: BaseException) -> str:
    """`Type: message`, then the student's own frames (students_frames), at most
    MAX_ERROR_CHARS: what a student needs to find the line that failed."""
    frames = students_frames(exc.__traceback__)
    lines = [f"{type(exc).__name__}: {exc}"]
    if frames:
        lines.append("in your code:")
        lines += [
            f"  line {frame.lineno} in {frame.name}: {(frame.line or '').strip()}"
            for frame in frames[-4:]
        ]
    return "\n".join(lines)[:MAX_ERROR_CHARS]
