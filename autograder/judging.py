"""Judging: a verdict for each test cell, from the data its probe returned.

Runs in the trusted grader only, never in a process that ran student code. The data comes
from the sandbox and is untrusted: it is read as plain data (``hw2probes.from_bytes``), and a
judge that cannot make sense of it fails the cell and says the data was malformed.

    judge(part, check, literals, data) -> Verdict
    check_locally(part, check, *args)     the probe and the judge in one process, for tests

``check`` is a hidden check's name as the source notebook's test cell calls it
(``_hidden.check_<check>(...)``); ``literals`` are that call's constant arguments, read from the
trusted source notebook (e.g. the task "3.1" of ``check_architecture("3.1", net_3_1)``).
A judge runs under ``hw2probes.seeded(context.seed)``: the input makers it shares with its
probe (``hw2probes.case_seed``) give it the inputs the probe drew in the sandbox for this run.
"""
from __future__ import annotations

import contextlib
import importlib
import inspect
from dataclasses import dataclass
from pathlib import Path

import hw2probes
from autograder.checks.common import Malformed


@dataclass(frozen=True)
class Verdict:
    passed: bool
    message: str
    malformed: bool = False  # the data was not what the probe returns: a tampered check?


@dataclass(frozen=True)
class Context:
    """What a judge may need besides the probe's data, supplied by the trusted grader."""
    submission: Path | None = None  # the student's handed-in folder (EC1's model file)
    seed: int | None = None  # the run's seed ($HW2_PROBE_SEED in the sandbox); None: not grading


def judge_function(part: str, check: str):
    if part not in hw2probes.PARTS:
        raise ValueError(f"unknown part {part!r}")
    return getattr(importlib.import_module(f"autograder.checks.{part}"), f"judge_{check}")


def judge(part: str, check: str, literals: tuple, data, context: Context = Context()) -> Verdict:
    """The verdict on one test cell. ``data`` is None when the cell never ran."""
    if data is None:
        return Verdict(False, f"{check}: this check never ran: the notebook stopped before it "
                              "(an earlier cell hung past the time limit, exited the kernel or "
                              "used too much memory), or its test cell was removed")
    if not isinstance(data, dict) or not ({"result"} == set(data) or
                                          ({"error"} == set(data) and isinstance(data["error"], str))):
        return Verdict(False, f"{check}: the data your notebook returned for this check is not "
                              "what the check produces; was the check tampered with?", malformed=True)
    if "error" in data:
        return Verdict(False, f"{check}: running your code raised {data['error']}")
    function = judge_function(part, check)
    kwargs = {"context": context} if "context" in inspect.signature(function).parameters else {}
    try:
        with hw2probes.seeded(context.seed) if context.seed is not None else contextlib.nullcontext():
            message = function(data["result"], *literals, **kwargs)  # the probe's inputs, rebuilt
    except Malformed as failure:
        return Verdict(False, str(failure), malformed=True)
    except AssertionError as failure:
        return Verdict(False, str(failure))
    except Exception as exc:  # data of the wrong shape or type: the judge cannot use it
        return Verdict(False, f"{check}: the data your notebook returned for this check is not "
                              f"what the check produces ({type(exc).__name__}: {exc}); was the "
                              "check tampered with?", malformed=True)
    return Verdict(True, str(message))


def check_locally(part: str, check: str, *args, context: Context = Context(),
                  literals: tuple | None = None) -> str:
    """The probe, a round trip through the sandbox's data format, and the judge, all here:
    raises AssertionError with the diagnostic, or prints and returns the success line.
    ``literals`` default to the string arguments (as in ``check_architecture("3.1", net)``)."""
    data = hw2probes.from_bytes(hw2probes.to_bytes(hw2probes.collect(part, check, lambda: args)))
    if literals is None:
        literals = tuple(a for a in args if isinstance(a, str))
    verdict = judge(part, check, literals, data, context)
    if not verdict.passed:
        raise AssertionError(verdict.message)
    print(verdict.message)
    return verdict.message
