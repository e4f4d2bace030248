"""Probes: run a student's objects on the grader's inputs and keep what they produce.

A probe is the half of a hidden check that has to touch student code. It runs inside the
grading sandbox (the student's own kernel, as an unprivileged user) and returns plain data:
tensors, numbers, strings, lists and dicts, nothing else. The other half, the judge
(the aspect ``autograder.checks.<part>.check_<name>``, declared with its probe in
``autograder.aspects``), runs in the trusted grader, rebuilds the same
inputs, computes the reference and decides. So this package holds no expected value, no
reference solution and no tolerance: a submission can read it, rebind it or fake what it
returns, and still gains nothing it could not gain by computing the right outputs itself.

    probe_<name>(*student_objects) -> plain data                       (hw2probes/<part>.py)
    @aspect(probe=probe_<name>)
    check_<name>(data, *literals) -> message or AssertionError  (the judge, autograder/checks/<part>.py)

While grading, each test cell runs ``hw2probes.record(grade_id, "<part>.probe_<name>", lambda: (objects...))``,
which saves ``{"result": data}`` (or ``{"error": what the student's code raised}``) to
``$HW2_PROBE_OUT/<grade_id>.pt``; the judge reads it with ``torch.load(weights_only=True)``.

Every probe's inputs depend on a seed the grader draws afresh for each run (``$HW2_PROBE_SEED``
in the sandbox, ``aspects.Context.seed`` for the judge, which runs under ``seeded(seed)``): an
input maker asks ``case_seed(default)``, which is ``default`` outside grading (the visible
checks, the tests, an aspect called in one process) and a seed mixed from the run's seed and
``default`` while grading. So a table of answers computed in advance (with torch.optim, say)
matches nothing, and the judge, calling the same input makers, rebuilds the same inputs.
"""

from __future__ import annotations

import contextlib
import contextvars
import hashlib
import importlib
import io
import os
import sys
import sysconfig
import traceback
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

ENV_OUT = "HW2_PROBE_OUT"  # the folder probes write to, set by the grader
ENV_SEED = "HW2_PROBE_SEED"  # drawn by the grader for each run; the judge is told it too
PARTS = ("part1", "part2", "part3", "part4", "extra_credit")
MAX_ERROR_CHARS = 2000
#: The kit's modules (this package, the shipped checks and helpers, the grader): a frame in one of
#: them is never the student's, nor is one in the standard library or an installed package (torch).
KIT_MODULES = ("hw2probes", "hw2checks", "hw2utils", "autograder")


# The run's seed where set by ``seeded`` (the trusted grader, around a judge); a ContextVar, so
# that the grader's threads (one student each) never see each other's seed. Unset: $HW2_PROBE_SEED.
_SEED: contextvars.ContextVar = contextvars.ContextVar("hw2probes_run_seed")
_UNSET = object()


def current_seed() -> int | None:
    """The seed of this grading run, or None outside grading: that of the innermost ``seeded``,
    else ``$HW2_PROBE_SEED`` (set by the grader in the sandbox), else None."""
    seed = _SEED.get(_UNSET)
    if seed is not _UNSET:
        return seed
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


def probe_named(ref: str) -> Callable:
    """The probe a test cell's sandbox body names, "<part>.<function>" (``autograder.aspects``'
    ``Aspect.probe_ref``, read from the grader's registry): a ``probe_`` function of a part module."""
    part, _, name = ref.partition(".")
    if part not in PARTS or not name.startswith("probe_"):
        raise ValueError(f"unknown probe {ref!r}")
    return getattr(importlib.import_module(f"{__name__}.{part}"), name)


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


def students_frames(tb) -> list[traceback.FrameSummary]:
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


def collect(probe: Callable, objects: Callable[[], tuple]) -> dict:
    """{"result": what ``probe`` returned} or {"error": what was raised while getting the
    student's objects or running them}. ``objects`` is a thunk, so that a name the student
    never defined is an error recorded here, not one that stops the cell."""
    try:
        return {"result": probe(*objects())}
    except Exception as exc:  # the student's code failed: that is data for the judge
        return {"error": describe_error(exc)}


# torch is imported where it is used: the notebook runner (hw2probes.execute) imports this
# package and needs no torch, and under Gradescope's 768 MB its 200 MB matter.


def to_bytes(data) -> bytes:
    import torch

    buffer = io.BytesIO()
    torch.save(data, buffer)
    return buffer.getvalue()


def from_bytes(raw: bytes):
    """Plain data back from ``to_bytes``: weights_only refuses anything that is not tensors,
    numbers, strings, None, lists, tuples and dicts (nothing in the file can run code)."""
    import torch

    with (
        warnings.catch_warnings()
    ):  # a forged file's pickle protocol is the judge's to refuse, quietly
        warnings.simplefilter("ignore", UserWarning)
        return torch.load(io.BytesIO(raw), weights_only=True, map_location="cpu")


REACHED = ".reached"  # beside the probes' data: a policed test cell the notebook run got to


def reached(grade_id: str) -> None:
    """A policed test cell's body in the notebook run (its probe runs in the grader's isolated
    run): leave a mark that the notebook got this far, as a probe's data would. A notebook
    that stopped earlier scores 0 on the cell, as on every check after that point."""
    out = Path(os.environ.get(ENV_OUT, "probe-data"))
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{grade_id}{REACHED}").write_bytes(b"")
    print(f"{grade_id}: checked in a separate run by the grader")


def record(grade_id: str, probe: str, objects: Callable[[], tuple]) -> None:
    """Run one probe (``probe_named``) and save its data where the grader collects it (a test
    cell's body in the sandbox)."""
    data = collect(probe_named(probe), objects)
    try:
        raw = to_bytes(data)
    except Exception as exc:  # a result that is not plain data: the judge must learn why
        raw = to_bytes(
            {"error": f"the probe's data could not be saved: {type(exc).__name__}: {exc}"}
        )
    out = Path(os.environ.get(ENV_OUT, "probe-data"))
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{grade_id}.pt").write_bytes(raw)
    print(
        f"{grade_id}: {'ran' if 'result' in data else 'raised an error'}; "
        "the grader judges the result"
    )
