"""How a check runs your code: what it hands back (``plain``), on which devices, and what it
watches for (a torch.optim optimizer built inside yours, settings read from global variables,
zero_grad as a training loop calls it). No expected value and no reference lives here."""

from __future__ import annotations

import contextlib
import dis
import types
from collections.abc import Collection, Iterator

import torch


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

    def refuse(self: torch.optim.Optimizer, *args: object, **kwargs: object) -> None:
        raise Delegated(type(self).__name__)

    torch.optim.Optimizer.__init__ = refuse  # type: ignore[method-assign]  # the patch is the point
    try:
        yield
    finally:
        torch.optim.Optimizer.__init__ = original  # type: ignore[method-assign]  # restored


def globals_read(cls: object, names: Collection[str]) -> list[str]:
    """Those of ``names`` that the methods of ``cls`` read as global variables: a bare
    ``weight_decay`` in step() where ``self.weight_decay`` was meant works only while the
    notebook happens to define a global of that name holding the right value."""
    found: set[str] = set()

    def visit(code: types.CodeType) -> None:
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
