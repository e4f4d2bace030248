"""Graded aspects as the grader knows them: the registry it dispatches by, and the hidden extras.

A source notebook's hidden test cell calls one aspect, ``_hidden.check_<name>(<args>)`` of
``autograder.checks.<part>``. Most aspects are declared once, shipped, in ``hw2checks.<part>``
(``hw2checks.aspect``: the probe and the comparison the visible check runs on the public cases);
the grader runs the same probe in the sandbox and the same comparison here, on the run's cases.
What the grader adds must not ship, and is attached to that declaration here::

    extend(part1.check_sgd_optimizer__matches_torch, mistakes=momentum_mistake)

An aspect with no visible counterpart (the extra credit's, judged against what students must not
see) is still declared on the grader's side only, its judge decorated with its probe::

    @aspect(probe=ec_probes.probe_ec_rule__agreement_90)
    def check_ec_rule__agreement_90(data) -> str:
        ...  # the judge: the probe's data (and the call's literals) -> a success line, or AssertionError

Everything else derives from those declarations:

- the registry, ``find(part, name)``: which probe a test cell runs in the sandbox
  (``autograder.runnable``; a shipped probe with what its declaration is ``given``,
  ``hw2probes.supplied``) and which judge decides it (``autograder.judging``). Only declared
  aspects are found: a helper of a judges' module is never dispatched to, whatever its name;
- the call nbgrader validate and the tests make, ``check_<name>(*args)``: the probe on the
  student's objects, a round trip through the sandbox's data format, then the judge, here in one
  process (raises AssertionError with the diagnostic, or prints and returns the success line);
- ``.judge(data, *literals)``, ``.verdict(literals, data)`` and ``.probe``, for the pipeline and the tests.

Of a call's arguments, the first ``literals`` are constants written in the test cell (the task
"3.1" of ``check_architecture("3.1", net_3_1)``), read from the trusted source notebook and handed
to the judge; every argument, literals included, goes to the probe. The probe runs in the sandbox;
this module runs only in the trusted grader, and the judges' modules import it.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import hw2probes
from hw2checks import aspect as shipped
from hw2checks.toolkit import Malformed


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


def _not_what_the_probe_returns(name: str, detail: str = "") -> Verdict:
    return Verdict(
        False,
        f"{name}: the data your notebook returned for this check is not what the check "
        f"produces{detail}; was the check tampered with?",
        malformed=True,
    )


@dataclass(frozen=True)
class Aspect:
    """One graded aspect: ``probe(*args) -> plain data`` in the sandbox, ``judge(data, *literals)``
    in the grader (a judge that takes ``context`` gets the run's ``Context``)."""

    part: str  # hw2probes.PARTS: the module of the probe and of the judge
    name: str  # the test cell's call is check_<name>
    probe: Callable
    judge: Callable = field(repr=False)
    literals: int = 0  # how many leading arguments of the call are the judge's constants

    shipped: shipped.Aspect | None = None  # the declaration in hw2checks.<part>, if shipped

    @property
    def probe_ref(self) -> str:
        """How the sandbox names the probe (``hw2probes.probe_named``): "hw2checks.<part>.check_<name>"
        for a shipped aspect, else "<part>.<function>" of hw2probes.<part>."""
        if self.shipped is not None:
            return f"hw2checks.{self.part}.check_{self.name}"
        return f"{self.probe.__module__.removeprefix('hw2probes.')}.{self.probe.__name__}"

    def verdict(self, literals: tuple, data, context: Context = Context()) -> Verdict:
        """The verdict on one test cell from its probe's data (untrusted: from the sandbox), read
        as plain data; ``data`` is None when the cell never ran. The judge runs under
        ``hw2probes.seeded(context.seed)``, so the input makers it shares with its probe
        (``hw2probes.case_seed``) rebuild the inputs the probe drew for this run."""
        if data is None:
            return Verdict(
                False,
                f"{self.name}: this check never ran: the notebook stopped before it "
                "(an earlier cell hung past the time limit, exited the kernel or "
                "used too much memory), or its test cell was removed",
            )
        if not isinstance(data, dict) or not (
            {"result"} == set(data) or ({"error"} == set(data) and isinstance(data["error"], str))
        ):
            return _not_what_the_probe_returns(self.name)
        if "error" in data:
            return Verdict(False, f"{self.name}: running your code raised {data['error']}")
        kwargs = (
            {"context": context} if "context" in inspect.signature(self.judge).parameters else {}
        )
        try:
            with (
                hw2probes.seeded(context.seed)
                if context.seed is not None
                else contextlib.nullcontext()
            ):
                message = self.judge(data["result"], *literals, **kwargs)
        except Malformed as failure:
            return Verdict(False, str(failure), malformed=True)
        except AssertionError as failure:
            return Verdict(False, str(failure))
        except Exception as exc:  # data of the wrong shape or type: the judge cannot use it
            return _not_what_the_probe_returns(self.name, f" ({type(exc).__name__}: {exc})")
        return Verdict(True, str(message))

    def __call__(self, *args, context: Context = Context()) -> str:
        """The probe, a round trip through the sandbox's data format, and the judge, all here:
        raises AssertionError with the diagnostic, or prints and returns the success line."""
        data = hw2probes.from_bytes(hw2probes.to_bytes(hw2probes.collect(self.probe, lambda: args)))
        verdict = self.verdict(args[: self.literals], data, context)
        if not verdict.passed:
            raise AssertionError(verdict.message)
        print(verdict.message)
        return verdict.message


#: Every declared aspect, by (part, name); filled as ``autograder.checks`` imports its modules.
REGISTRY: dict[tuple[str, str], Aspect] = {}


def aspect(probe: Callable, literals: int = 0) -> Callable[[Callable], Aspect]:
    """Declare the decorated judge ``check_<name>`` of ``autograder.checks.<part>`` as a graded
    aspect whose sandbox half is ``probe`` (a function of ``hw2probes.<part>``)."""

    def declare(judge: Callable) -> Aspect:
        part = judge.__module__.rpartition(".")[2]
        if not judge.__name__.startswith("check_") or part not in hw2probes.PARTS:
            raise ValueError(
                f"an aspect is a function check_<name> of autograder.checks.<part>: {judge.__qualname__}"
            )
        if probe.__module__ != f"hw2probes.{part}":
            raise ValueError(
                f"{judge.__name__}: its probe must live in hw2probes.{part}, not {probe.__module__}"
            )
        declared = Aspect(part, judge.__name__.removeprefix("check_"), probe, judge, literals)
        if REGISTRY.setdefault((part, declared.name), declared) is not declared:
            raise ValueError(f"{part}.{judge.__name__} is declared twice")
        return declared

    return declare


def passed(test_id: str, n_cases: int) -> str:
    """The success line of a grader's judge."""
    return f"{test_id}: {n_cases}/{n_cases} hidden cases passed"


def _judge_of(declared: shipped.Aspect, hidden: shipped.Hidden) -> Callable[..., str]:
    """The grader's judge of a shipped aspect: its comparison, with the hidden extras (an extra
    that takes ``context`` is handed the run's ``Context``)."""
    wants_context = {k for k, f in hidden.items() if "context" in inspect.signature(f).parameters}

    def judge(data: object, *literals: object, context: Context = Context()) -> str:
        extras = {
            k: functools.partial(f, context=context) if k in wants_context else f
            for k, f in hidden.items()
        }
        count = declared.compare(data, *literals, hidden=extras)
        if isinstance(count, shipped.Judged):  # a line an extra wrote whole: the verdict
            return str(count)
        if isinstance(count, str):  # a visible check's "only the grader can tell" line: no grade
            raise AssertionError(
                f"{declared.name}: the grader cannot judge this answer (its hidden extras are "
                "missing from the kit); ask the course staff"
            )
        return passed(declared.named(*literals), count)

    judge.__name__ = judge.__qualname__ = f"check_{declared.name}"
    return judge


def _register(declared: shipped.Aspect, hidden: shipped.Hidden) -> Aspect:
    graded = Aspect(
        declared.part,
        declared.name,
        hw2probes.supplied(declared),  # as the sandbox runs it: given what it needs
        _judge_of(declared, hidden),
        declared.literals,
        shipped=declared,
    )
    if REGISTRY.setdefault((declared.part, declared.name), graded) is not graded:
        raise ValueError(f"{declared.part}.check_{declared.name} is declared twice")
    return graded


def extend(declared: shipped.Aspect, **hidden: Callable[..., object]) -> Aspect:
    """Attach the grader's hidden extras to a shipped aspect (``hw2checks.<part>.check_<name>``):
    its comparison gets them as ``hidden`` when the grader judges (never in the visible check)."""
    if not isinstance(declared, shipped.Aspect):
        raise ValueError(f"extend() takes a shipped aspect of hw2checks, not {declared!r}")
    return _register(declared, hidden)


def declare_shipped(part: str) -> None:
    """Register every aspect ``hw2checks.<part>`` declares that ``extend`` has not (no extras);
    one it imports from an earlier part (part4's check_architecture) is that part's."""
    module = importlib.import_module(f"hw2checks.{part}")
    for value in vars(module).values():
        if (
            isinstance(value, shipped.Aspect)
            and value.part == part
            and (part, value.name) not in REGISTRY
        ):
            _register(value, shipped.NO_HIDDEN)


def attributes_of(part: str) -> Callable[[str], Aspect]:
    """A judges' module's ``__getattr__``: ``check_<name>`` is the registry's aspect, so that a
    hidden test cell calls a shipped aspect through ``autograder.checks.<part>`` too."""

    def attribute(name: str) -> Aspect:
        graded = REGISTRY.get((part, name.removeprefix("check_")))
        if not name.startswith("check_") or graded is None:
            raise AttributeError(f"module 'autograder.checks.{part}' has no attribute {name!r}")
        return graded

    return attribute
