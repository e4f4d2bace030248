"""Comparison and diagnosis helpers shared by the judges (the trusted half of each hidden check);
the input makers they share with the probes live in ``hw2probes.common``."""
from __future__ import annotations

import math
from typing import Mapping

import torch

from hw2probes.common import devices, quartic_loss  # noqa: F401 (the judges rebuild inputs with these)


class Malformed(AssertionError):
    """Data a probe never returns: the judge fails the cell, and the grader flags the student
    (a check made to return something else)."""


def malformed(test_id: str, what: str):
    raise Malformed(f"{test_id}: the data your notebook returned for this check is not what "
                    f"the check produces ({what}); was the check tampered with?")


def expect_data(test_id: str, ok: bool, what: str) -> None:
    """Fail as ``malformed`` unless the probe's data has the expected form (``ok``)."""
    if not ok:
        malformed(test_id, what)


def is_str_list(value) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def is_tensor_list(value, length: int | None = None) -> bool:
    return (isinstance(value, list) and all(isinstance(v, torch.Tensor) for v in value)
            and (length is None or len(value) == length))


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


def passed(test_id: str, n_cases: int) -> str:
    """The success line a judge returns."""
    return f"{test_id}: {n_cases}/{n_cases} hidden cases passed"


def delegation_message(test_id: str, optimizer_name: str) -> str:
    return (f"{test_id}: your optimizer creates a torch.optim.{optimizer_name}; "
            "the task is to write the update yourself, with tensor operations")


def global_variable_hint(leaked: list[str]) -> str | None:
    """A hint naming the global variables a student's class reads (``hw2probes.common.globals_read``,
    run by the probe) instead of its constructor's values, or None."""
    if not leaked:
        return None
    listed = ", ".join(leaked)
    return (f"your class reads the global variable{'s' if len(leaked) > 1 else ''} {listed} instead of "
            f"the value given to its constructor (self.{leaked[0]}): it works only while the notebook's "
            f"global happens to hold that value, and these checks pass other values")
