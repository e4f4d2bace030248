"""What probes of several parts share: ways to exercise student objects. The input makers and
runners they share with the visible checks and the judges (random_parameters, quartic_loss,
run_steps, ...) have their one home in ``hw2checks``."""

from __future__ import annotations

import contextlib
import dis
import types
from collections.abc import Iterator

import torch

from hw2checks.part1 import ZERO_GRAD_ROUNDS, leaf_copies, quartic_loss, run_steps
from hw2probes import describe_error


def plain(t: torch.Tensor) -> torch.Tensor:
    """A detached CPU copy of a student's tensor, safe to hand to the judge."""
    return t.detach().cpu().clone()


def devices() -> list[str]:
    """CPU, and CUDA when this machine has a GPU."""
    return ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


class Delegated(Exception):
    """A hand-written optimizer constructed a torch.optim optimizer (the name is args[0])."""


@contextlib.contextmanager
def no_torch_optim() -> Iterator[None]:
    """Inside, constructing any torch.optim optimizer raises Delegated: a probe reports it as
    data ({"delegated": name}). A courtesy for runs in one process (an aspect called directly,
    the tests): the grader's enforcement is the isolated run (``hw2probes.isolated``, where
    ``hw2probes.tripwires`` has destroyed torch.optim), which this patch cannot weaken."""
    original = torch.optim.Optimizer.__init__

    def refuse(self, *args, **kwargs):
        raise Delegated(type(self).__name__)

    torch.optim.Optimizer.__init__ = refuse
    try:
        yield
    finally:
        torch.optim.Optimizer.__init__ = original


def globals_read(cls, names) -> list[str]:
    """Those of ``names`` that the methods of ``cls`` read as global variables: a bare
    ``weight_decay`` in step() where ``self.weight_decay`` was meant works only while the
    notebook happens to define a global of that name holding the right value."""
    found = set()

    def visit(code):
        for instruction in dis.get_instructions(code):
            if instruction.opname in ("LOAD_GLOBAL", "LOAD_NAME") and instruction.argval in names:
                found.add(instruction.argval)
        for const in code.co_consts:
            if isinstance(const, types.CodeType):
                visit(const)

    for klass in getattr(cls, "__mro__", ()):
        if klass is object:
            continue
        for attr in vars(klass).values():
            code = getattr(getattr(attr, "__func__", attr), "__code__", None)
            if isinstance(code, types.CodeType):
                visit(code)
    return sorted(found)


def _rounds(make, init, clear=None) -> torch.Tensor | dict:
    """hw2checks.run_steps for ZERO_GRAD_ROUNDS rounds over copies of ``init`` (the gradients set to
    None by hand, or cleared by ``clear(optimizer)``), or {"raised": ...} when a round raised."""
    try:
        return run_steps(make, leaf_copies(init), ZERO_GRAD_ROUNDS, clear=clear)
    except Delegated:
        raise
    except Exception as exc:  # the student's code: what it raised is the check's data
        return {"raised": describe_error(exc)}


def exercise_zero_grad(make, init) -> dict:
    """zero_grad() as a training loop calls it, on copies of ``init`` in ``make(iter(params))``:
    before any backward() (every p.grad is None), after backward() twice, and between steps.
    {"raised": what zero_grad() raised, "when": "before any backward()" or "after backward()"}, or
    {"grads": each gradient after the second backward() and zero_grad() (or None), "with": the
    rounds (see _rounds) with zero_grad(), "without": the same rounds with p.grad = None instead}."""
    params = leaf_copies(init)
    optimizer = make(iter(params))
    for when in ("before any backward()", "after backward()", "after backward()"):
        if when != "before any backward()":
            quartic_loss(params).backward()
        try:
            optimizer.zero_grad()
        except Delegated:
            raise
        except Exception as exc:  # the student's zero_grad: the judge says what it raised, and when
            return {"raised": describe_error(exc), "when": when}
    return {
        "grads": [None if p.grad is None else plain(p.grad) for p in params],
        "with": _rounds(make, init, lambda optimizer: optimizer.zero_grad()),
        "without": _rounds(make, init),
    }
