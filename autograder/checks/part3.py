"""Judges of notebook 3: architectures of the training experiments, ResidualSequence.

The probes (``hw2probes.part3``) report a network's layers, parameter count and output, what
its residual blocks' layers leave of the input they add, and what ResidualSequence computes
on their cases; these judges compare with the task's layer list (``hw2checks.ARCHITECTURES``),
the network ``lessons.experiments`` builds from it, and f(x) + x computed here. A network's
checks never run the student's ResidualSequence forward (its blocks run as their layers
alone): that class is Task 3.14's to grade.
"""

from __future__ import annotations

import torch
from torch import nn

from autograder.aspects import aspect, attributes_of
from autograder.checks.common import passed
from hw2checks.part3 import (
    IN_PLACE_BLOCK_HINT,
    RESIDUAL_HINT,
    SEQUENTIAL_HINT,
    SKIP_GRADIENT_HINT,
    architecture_hint,
    architecture_test_id,
    block_case,
    block_input,
    block_width,
    class_path,
    expect_input_kept,
    expect_layers,
    is_residual,
    received,
)
from hw2checks.toolkit import expect_close, expect_data, fail, is_str_list, tolerance
from hw2probes import part3 as probes
from hw2probes.part3 import residual_cases
from lessons import experiments

# a hidden test cell calls a shipped aspect (hw2checks.part3) through this module too
__getattr__ = attributes_of("part3")

SEQUENTIAL = class_path(nn.Sequential)


# Architectures (3.1-3.18, and 4.7 and 4.9 through part4) ---------------------------------


def reference(task: str) -> nn.Module:
    """The task's network (``hw2checks.ARCHITECTURES``, built by ``lessons.experiments``);
    building it draws random numbers, so the caller's random state is set aside meanwhile."""
    with torch.random.fork_rng(devices=[]):
        return experiments.network(task)


def judge_blocks(test_id: str, blocks, net: nn.Module) -> int:
    """Each residual block's layers, run alone on ``block_input(width)``, left it unchanged:
    else the skip connection adds the overwritten input, not x. (The block's forward is Task
    3.14's ResidualSequence, judged there; the network's own choice is its layers.)"""
    expected = [m for m in net.modules() if is_residual(m)]
    expect_data(
        test_id,
        isinstance(blocks, list)
        and len(blocks) == len(expected)
        and all(isinstance(b, dict) for b in blocks),
        f"{len(expected)} residual blocks",
    )
    for index, (block, reference) in enumerate(zip(blocks, expected), start=1):
        case = block_case(index, reference)
        expect_data(test_id, block.get("width") == block_width(reference), f"{case}: its width")
        if isinstance(block.get("raised"), str):
            fail(
                test_id,
                case,
                f"running the block's layers raised {block['raised']}",
                IN_PLACE_BLOCK_HINT,
            )
        after, x = block.get("input_after"), block_input(block["width"])
        expect_data(
            test_id,
            isinstance(after, torch.Tensor)
            and after.is_floating_point()
            and after.shape == x.shape,
            f"{case}: the block's input",
        )
        expect_input_kept(test_id, case, x, after)
    return len(blocks)


@aspect(probe=probes.probe_architecture, literals=1)
def check_architecture(data, task: str) -> str:
    """Layer types, sizes and order, parameter count, a forward pass to probabilities, and
    residual blocks whose layers leave the block's input for the skip connection."""
    test_id = architecture_test_id(task)
    expect_data(
        test_id,
        isinstance(data, dict)
        and isinstance(data.get("module"), bool)
        and isinstance(data.get("type"), str),
        "a network's description",
    )
    if not data["module"]:
        fail(test_id, "type", f"expected an nn.Module, got {data['type']}", architecture_hint(task))
    expect_data(
        test_id,
        is_str_list(data.get("signature")) and isinstance(data.get("parameters"), int),
        "layers and parameter count",
    )
    expect_layers(test_id, task, data["signature"])
    net = reference(task)
    n_expected = sum(p.numel() for p in net.parameters())
    if data["parameters"] != n_expected:
        fail(
            test_id,
            "parameter count",
            f"expected {n_expected}, got {data['parameters']}",
            architecture_hint(task),
        )
    forward_hint = "the network maps (N, 36) to (N, 1) probabilities: end with a Sigmoid"
    out = received(test_id, "forward pass", data.get("output"), forward_hint)
    if not isinstance(out, torch.Tensor):
        fail(
            test_id,
            "forward pass",
            f"expected 5 probabilities, got a {type(out).__name__}",
            forward_hint,
        )
    if tuple(out.shape) not in ((5, 1), (5,)) or not bool(((out >= 0) & (out <= 1)).all()):
        fail(
            test_id,
            "forward pass",
            f"expected 5 probabilities, got shape {tuple(out.shape)}",
            forward_hint,
        )
    return passed(test_id, 3 + judge_blocks(test_id, data.get("blocks"), net))


# ResidualSequence (3.14) ------------------------------------------------------------------

IN_PLACE_SKIP = (
    "the skip connection adds x after your forward changed it in place (an in-place "
    "operation on x, such as relu_ or an activation with inplace=True): f(x) + x needs the "
    "original x, so leave the input as it is"
)


@aspect(probe=probes.probe_residual_sequence__adds_input)
def check_residual_sequence__adds_input(data) -> str:
    """ResidualSequence(*layers)(x) = f(x) + x with x as given, f being the same layers as an
    nn.Sequential; one case starts with a ReLU, which must not overwrite the x it adds."""
    test_id = "residual_sequence__adds_input"
    cases = residual_cases()
    expect_data(
        test_id,
        isinstance(data, dict)
        and isinstance(data.get("cases"), list)
        and len(data["cases"]) == len(cases),
        f"{len(cases)} cases",
    )
    for (case, layers, x), result in zip(cases, data["cases"]):
        expect_data(
            test_id,
            isinstance(result, dict)
            and isinstance(result.get("input_after"), torch.Tensor)
            and result["input_after"].shape == x.shape,
            f"{case}: the input after the call",
        )
        got = received(test_id, case, result.get("output"), RESIDUAL_HINT)
        inner = nn.Sequential(*layers)
        after = result["input_after"].to(x.dtype)  # x as the student's forward left it
        with torch.no_grad():
            expected = inner(x) + x
            expect_close(
                test_id,
                case,
                expected,
                got,
                tolerance(expected),
                RESIDUAL_HINT,
                mistakes={
                    "returns f(x) without the skip connection": inner(after),
                    "returns x without the layers": after,
                    IN_PLACE_SKIP: inner(x) + after,
                },
            )
    return passed(test_id, len(cases))


@aspect(probe=probes.probe_residual_sequence__is_sequential)
def check_residual_sequence__is_sequential(data) -> str:
    """An nn.Sequential of the 3 given layers with their 4 parameters registered, whose skip
    connection carries the gradient (the last Linear zeroed: d sum(block(x)) / dx = 1)."""
    test_id = "residual_sequence__is_sequential"
    expect_data(
        test_id, isinstance(data, dict) and is_str_list(data.get("mro")), "the class's bases"
    )
    if SEQUENTIAL not in data["mro"] or data.get("length") != 3:
        fail(
            test_id, "structure", "expected an nn.Sequential of the 3 given layers", SEQUENTIAL_HINT
        )
    if data.get("parameters") != 4:
        fail(
            test_id,
            "parameters",
            "the Linear layers' parameters are not registered",
            SEQUENTIAL_HINT,
        )
    case = "gradient through the skip connection"
    expect_close(
        test_id,
        case,
        torch.ones(2, 4),
        received(test_id, case, data.get("gradient"), SKIP_GRADIENT_HINT),
        tolerance(torch.ones(2, 4)),
        SKIP_GRADIENT_HINT,
    )
    return passed(test_id, 3)
