"""Comparison, diagnosis and integrity helpers shared by the hidden checks."""
from __future__ import annotations

import contextlib
import dis
import math
import types
from typing import Callable, Iterator, Mapping

import torch


def fail(test_id: str, case: str, detail: str, hint: str):
    raise AssertionError(f"{test_id}, case {case}: {detail}\nHint: {hint}")


def show(t: torch.Tensor) -> str:
    t = t.detach().double().cpu()
    if t.dim() == 0:
        return f"{t.item():.6g}"
    values = ", ".join(f"{v:.6g}" for v in t.flatten()[:6].tolist())
    return f"[{values}{', ...' if t.numel() > 6 else ''}]"


def float64(values) -> torch.Tensor:
    """A float64 CPU copy; Python numbers go straight to float64 (not through float32)."""
    if isinstance(values, torch.Tensor):
        return values.detach().double().cpu()
    return torch.as_tensor(values, dtype=torch.float64)


def max_diff(expected, got) -> float:
    """max |got - expected| in float64 on the CPU (inf when shapes differ or values are NaN)."""
    expected, got = float64(expected), float64(got)
    if got.shape != expected.shape:
        return math.inf
    diff = (got - expected).abs().max().item() if got.numel() else 0.0
    return diff if math.isfinite(diff) else math.inf


def expect_close(test_id: str, case: str, expected, got, tol: float, hint: str,
                 mistakes: Mapping[str, object] | None = None) -> None:
    """Fail unless max |got - expected| <= tol. ``mistakes`` maps a misconception's
    description to what it would produce; when ``got`` matches one, the message names it."""
    try:
        got = float64(got)
    except (TypeError, ValueError, RuntimeError):
        fail(test_id, case, f"expected a tensor or number, got {type(got).__name__}", hint)
    expected = float64(expected)
    if tuple(got.shape) != tuple(expected.shape):
        fail(test_id, case, f"expected shape {tuple(expected.shape)}, got {tuple(got.shape)}", hint)
    diff = max_diff(expected, got)
    if diff <= tol:
        return
    for description, produced in (mistakes or {}).items():
        if max_diff(produced, got) <= tol:
            hint = f"your result matches a known mistake: {description}"
            break
    fail(test_id, case, f"expected {show(expected)}, got {show(got)}; max |diff| {diff:.2e} > "
         f"tolerance {tol:.0e}", hint)


def passed(test_id: str, n_cases: int) -> None:
    print(f"{test_id}: {n_cases}/{n_cases} hidden cases passed")


@contextlib.contextmanager
def no_torch_optim(test_id: str) -> Iterator[None]:
    """Inside, constructing any torch.optim optimizer fails: a hand-written optimizer
    must not delegate its work to PyTorch's."""
    original = torch.optim.Optimizer.__init__

    def refuse(self, *args, **kwargs):
        raise AssertionError(f"{test_id}: your optimizer creates a torch.optim.{type(self).__name__}; "
                             "the task is to write the update yourself, with tensor operations")
    torch.optim.Optimizer.__init__ = refuse
    try:
        yield
    finally:
        torch.optim.Optimizer.__init__ = original


def random_parameters(generator: torch.Generator, shapes, dtype=torch.float64,
                      device="cpu") -> list[torch.Tensor]:
    return [torch.randn(shape, generator=generator, dtype=dtype).to(device).requires_grad_()
            for shape in shapes]


def quartic_loss(params) -> torch.Tensor:
    """A smooth loss of any parameter list whose gradients vary in size and sign."""
    total = 0.0
    for index, p in enumerate(params):
        total = total + ((p - 0.3 * index) ** 2).sum() + 0.05 * (p ** 4).sum() + p.sin().sum()
    return total


def run_optimizer(make: Callable, params, steps: int, loss=quartic_loss) -> list[list[torch.Tensor]]:
    """Parameters after each of ``steps`` steps of ``make(iter(params))`` on ``loss``."""
    optimizer = make(iter(params))
    trajectory = []
    for _ in range(steps):
        optimizer.zero_grad()
        loss(params).backward()
        optimizer.step()
        trajectory.append([p.detach().clone() for p in params])
    return trajectory


def devices() -> list[str]:
    """CPU, and CUDA when this grading machine has a GPU."""
    return ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


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


def global_variable_hint(cls, names) -> str | None:
    """A hint naming the global variables of ``names`` that ``cls`` reads, or None."""
    leaked = globals_read(cls, names)
    if not leaked:
        return None
    listed = ", ".join(leaked)
    return (f"your class reads the global variable{'s' if len(leaked) > 1 else ''} {listed} instead of "
            f"the value given to its constructor (self.{leaked[0]}): it works only while the notebook's "
            f"global happens to hold that value, and these checks pass other values")
