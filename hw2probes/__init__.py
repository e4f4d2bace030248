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

import functools
import importlib
import io
import os
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

# The run's seed and the description of a student's error have their home in the shipped, torch-free
# hw2checks.runs (the shipped probes draw their cases with it); named here for the sandbox's side.
from hw2checks.runs import ENV_SEED as ENV_SEED
from hw2checks.runs import case_seed as case_seed
from hw2checks.runs import current_seed as current_seed
from hw2checks.runs import describe_error as describe_error
from hw2checks.runs import run_seed as run_seed
from hw2checks.runs import seeded as seeded

if TYPE_CHECKING:  # imported where it is used: the notebook runner imports hw2probes without torch
    from hw2checks.aspect import Aspect

ENV_OUT = "HW2_PROBE_OUT"  # the folder probes write to, set by the grader
PARTS = ("part1", "part2", "part3", "part4", "extra_credit")
#: The references shipped probes are given (``supplied``): in the isolated run's folder only.
GIVEN_FILE = "given.py"
#: A probe: the student's objects -> plain data (tensors, numbers, strings, lists, dicts).
Probe = Callable[..., object]


def probe_named(ref: str) -> Probe:
    """The probe a test cell's sandbox body names (``autograder.aspects``' ``Aspect.probe_ref``,
    read from the grader's registry): "hw2checks.<part>.check_<name>", a shipped aspect's probe,
    or "<part>.probe_<name>", a ``probe_`` function of a part module here."""
    if ref.startswith("hw2checks."):
        _, part, name = ref.split(".", 2)
        declared = (
            getattr(importlib.import_module(f"hw2checks.{part}"), name, None)
            if part in PARTS and name.startswith("check_")
            else None
        )
        # imported here: the notebook runner imports hw2probes without torch
        from hw2checks.aspect import Aspect

        if not isinstance(declared, Aspect):
            raise ValueError(f"unknown probe {ref!r}")
        return supplied(declared)
    part, _, name = ref.partition(".")
    if part not in PARTS or not name.startswith("probe_"):
        raise ValueError(f"unknown probe {ref!r}")
    probe: Probe = getattr(importlib.import_module(f"{__name__}.{part}"), name)
    return probe


@functools.cache
def supplied(declared: Aspect) -> Probe:
    """A shipped aspect's probe as the sandbox runs it: given what its declaration names
    (``Aspect.given``) from ``hw2probes.given.GIVEN``, the reference for another task's answer,
    which never ships and exists only in the isolated run; the probe itself where it is given
    nothing."""
    if not declared.given:
        return declared.probe
    given = importlib.import_module(f"{__name__}.{GIVEN_FILE.removesuffix('.py')}").GIVEN
    return functools.partial(declared.probe, **{name: given[name] for name in declared.given})


def collect(probe: Probe, objects: Callable[[], tuple[object, ...]]) -> dict[str, object]:
    """{"result": what ``probe`` returned} or {"error": what was raised while getting the
    student's objects or running them}. ``objects`` is a thunk, so that a name the student
    never defined is an error recorded here, not one that stops the cell."""
    try:
        return {"result": probe(*objects())}
    except Exception as exc:  # the student's code failed: that is data for the judge
        return {"error": describe_error(exc)}


# torch is imported where it is used: the notebook runner (hw2probes.execute) imports this
# package and needs no torch, and under Gradescope's 768 MB its 200 MB matter.


def to_bytes(data: object) -> bytes:
    import torch

    buffer = io.BytesIO()
    torch.save(data, buffer)
    return buffer.getvalue()


def from_bytes(raw: bytes) -> Any:  # plain data of any shape: the judge checks it
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


def record(grade_id: str, probe: str, objects: Callable[[], tuple[object, ...]]) -> None:
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
