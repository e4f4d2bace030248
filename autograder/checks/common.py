"""What the judges (the trusted half of each hidden check) add to the shipped checks' toolkit:
malformed probe data, the success line, and verdicts several Parts share. The judges take the
toolkit (tolerance, comparison, failure report) and the input makers they share with the probes
from the kit's own ``hw2checks`` (which no submission reaches in the grader): one home, and a
student reads the same messages from the visible and the hidden checks."""

from __future__ import annotations

import torch

from autograder.aspects import Malformed
from hw2checks.part1 import (
    ZERO_GRAD_BEFORE_BACKWARD_HINT,
    ZERO_GRAD_HINT,
    expect_same_rounds,
    zero_grad_keeps_hint,
)
from hw2checks.toolkit import fail, float64


def malformed(test_id: str, what: str):
    raise Malformed(
        f"{test_id}: the data your notebook returned for this check is not what "
        f"the check produces ({what}); was the check tampered with?"
    )


def expect_data(test_id: str, ok: bool, what: str) -> None:
    """Fail as ``malformed`` unless the probe's data has the expected form (``ok``)."""
    if not ok:
        malformed(test_id, what)


def is_str_list(value) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def is_tensor_list(value, length: int | None = None) -> bool:
    return (
        isinstance(value, list)
        and all(isinstance(v, torch.Tensor) for v in value)
        and (length is None or len(value) == length)
    )


def passed(test_id: str, n_cases: int) -> str:
    """The success line a judge returns."""
    return f"{test_id}: {n_cases}/{n_cases} hidden cases passed"


def delegation_message(test_id: str, optimizer_name: str) -> str:
    return (
        f"{test_id}: your optimizer creates a torch.optim.{optimizer_name}; "
        "the task is to write the update yourself, with tensor operations"
    )


def _zero_grad_rounds(test_id: str, data, key: str):
    """A path of ``hw2probes.common.exercise_zero_grad`` ((rounds, n) float64), or what it raised (str)."""
    rounds = data.get(key)
    if isinstance(rounds, dict):
        expect_data(test_id, isinstance(rounds.get("raised"), str), f"what the rounds {key} raised")
        return rounds["raised"]
    expect_data(
        test_id,
        isinstance(rounds, torch.Tensor) and rounds.dim() == 2 and rounds.dtype == torch.float64,
        f"the rounds {key} zero_grad()",
    )
    return rounds


def zero_grad_verdict(test_id: str, data, n_params: int, keeps: str) -> str:
    """zero_grad() (``hw2probes.common.exercise_zero_grad``'s data) raises nothing before or after
    backward(), leaves no gradient, and changes nothing else: the rounds with it end where
    those with the gradients cleared by hand do. ``keeps``: what zero_grad() must leave alone."""
    expect_data(test_id, isinstance(data, dict), "expected a dict")
    if "raised" in data:
        expect_data(
            test_id,
            isinstance(data["raised"], str)
            and data.get("when") in ("before any backward()", "after backward()"),
            "what zero_grad() raised",
        )
        hint = (
            ZERO_GRAD_HINT
            + "; the stored list is used as it is: self.parameters, not self.parameters()"
        )
        if "NoneType" in data["raised"]:
            hint = ZERO_GRAD_BEFORE_BACKWARD_HINT
        fail(test_id, f"zero_grad() {data['when']}", f"zero_grad() raised {data['raised']}", hint)
    grads = data.get("grads")
    expect_data(
        test_id,
        isinstance(grads, list)
        and len(grads) == n_params
        and all(g is None or isinstance(g, torch.Tensor) for g in grads),
        "the gradients",
    )
    for index, grad in enumerate(grads):
        if grad is not None and bool((float64(grad) != 0).any()):
            fail(
                test_id,
                f"parameter {index} of {len(grads)}",
                "zero_grad() left its gradient",
                ZERO_GRAD_HINT,
            )
    with_it, by_hand = (
        _zero_grad_rounds(test_id, data, "with"),
        _zero_grad_rounds(test_id, data, "without"),
    )
    if isinstance(by_hand, str) or not bool(torch.isfinite(by_hand).all()):
        return passed(test_id, 2)  # step() itself fails: that is for the other checks to say
    if isinstance(with_it, str):
        fail(
            test_id,
            "rounds of zero_grad(), backward(), step()",
            f"with zero_grad() they raised {with_it}, and not with p.grad = None in its place",
            zero_grad_keeps_hint(keeps),
        )
    expect_data(test_id, with_it.shape == by_hand.shape, "rounds of the same shape")
    expect_same_rounds(test_id, by_hand, with_it, keeps)
    return passed(test_id, 3)


def global_variable_hint(leaked: list[str]) -> str | None:
    """A hint naming the global variables a student's class reads (``hw2probes.common.globals_read``,
    run by the probe) instead of its constructor's values, or None."""
    if not leaked:
        return None
    listed = ", ".join(leaked)
    return (
        f"your class reads the global variable{'s' if len(leaked) > 1 else ''} {listed} instead of "
        f"the value given to its constructor (self.{leaked[0]}): it works only while the notebook's "
        f"global happens to hold that value, and these checks pass other values"
    )
