"""Judges of notebook 3: architectures of the training experiments, ResidualSequence.

The probes (``hw2probes.part3``) report a network's layers, parameter count and output, what
its residual blocks' layers leave of the input they add, and what ResidualSequence computes
on their cases; these judges compare with the reference networks of ``autograder.experiments``
and with f(x) + x computed here. A network's checks never run the student's ResidualSequence
forward (its blocks run as their layers alone): that class is Task 3.14's to grade.
"""
from __future__ import annotations

import torch
from torch import nn

from autograder import experiments
from autograder.checks.common import expect_close, expect_data, fail, is_str_list, passed, tolerance
from autograder.judging import check_locally
from hw2probes.part3 import (block_input, block_width, class_path, is_residual, residual_cases,  # noqa: F401
                             signature)

SEQUENTIAL = class_path(nn.Sequential)


def received(test_id: str, case: str, result, hint: str):
    """A student's result from the probe's ``value``: fails when the call raised or returned
    something that is neither a tensor nor a number."""
    if isinstance(result, dict) and isinstance(result.get("raised"), str):
        fail(test_id, case, f"your code raised {result['raised']}", hint)
    if isinstance(result, dict) and isinstance(result.get("type"), str):
        fail(test_id, case, f"expected a tensor or number, got {result['type']}", hint)
    expect_data(test_id, isinstance(result, (torch.Tensor, bool, int, float)), f"{case}: a result")
    return result


# Architectures (3.1-3.18, and 4.7 and 4.9 through part4) ---------------------------------

def reference(task: str) -> nn.Module:
    """The task's reference network; building it draws random numbers, so the caller's random
    state is set aside meanwhile."""
    with torch.random.fork_rng(devices=[]):
        return experiments.build(task)


IN_PLACE_BLOCK_HINT = ("the skip connection adds the block's input x, so its layers must leave x as it "
                       "is: an activation with inplace=True as a block's first layer overwrites x (use "
                       "nn.ReLU(), whose default is inplace=False; inplace=True is harmless after a Linear)")


def judge_blocks(test_id: str, blocks, net: nn.Module) -> int:
    """Each residual block's layers, run alone on ``block_input(width)``, left it unchanged:
    else the skip connection adds the overwritten input, not x. (The block's forward is Task
    3.14's ResidualSequence, judged there; the network's own choice is its layers.)"""
    expected = [m for m in net.modules() if is_residual(m)]
    expect_data(test_id, isinstance(blocks, list) and len(blocks) == len(expected)
                and all(isinstance(b, dict) for b in blocks), f"{len(expected)} residual blocks")
    for index, (block, reference) in enumerate(zip(blocks, expected)):
        case = f"residual block {index + 1} ({signature(nn.Sequential(reference))[0]})"
        expect_data(test_id, block.get("width") == block_width(reference), f"{case}: its width")
        if isinstance(block.get("raised"), str):
            fail(test_id, case, f"running the block's layers raised {block['raised']}", IN_PLACE_BLOCK_HINT)
        after, x = block.get("input_after"), block_input(block["width"])
        expect_data(test_id, isinstance(after, torch.Tensor) and after.is_floating_point()
                    and after.shape == x.shape, f"{case}: the block's input")
        changed = int((after.double() != x.to(after.dtype).double()).sum())
        if changed:
            fail(test_id, case, f"its layers changed the block's input in place ({changed} of "
                 f"{x.numel()} entries), so the skip connection adds the changed input instead of x",
                 IN_PLACE_BLOCK_HINT)
    return len(blocks)


def judge_architecture(data, task: str) -> str:
    """Layer types, sizes and order, parameter count, a forward pass to probabilities, and
    residual blocks whose layers leave the block's input for the skip connection."""
    test_id = f"net_{task.replace('.', '_')}__architecture"
    hint = "build exactly the layers the task lists, in order"
    expect_data(test_id, isinstance(data, dict) and isinstance(data.get("module"), bool)
                and isinstance(data.get("type"), str), "a network's description")
    if not data["module"]:
        fail(test_id, "type", f"expected an nn.Module, got {data['type']}", hint)
    expect_data(test_id, is_str_list(data.get("signature")) and isinstance(data.get("parameters"), int),
                "layers and parameter count")
    net = reference(task)
    expected, got = signature(net), data["signature"]
    if got != expected:
        first = next((i for i, (e, g) in enumerate(zip(expected, got)) if e != g),
                     min(len(expected), len(got)))
        fail(test_id, f"layer {first + 1}",
             f"expected {expected[first] if first < len(expected) else 'no more layers'}, got "
             f"{got[first] if first < len(got) else 'no more layers'} (expected {len(expected)} "
             f"layers, got {len(got)})", hint)
    n_expected = sum(p.numel() for p in net.parameters())
    if data["parameters"] != n_expected:
        fail(test_id, "parameter count", f"expected {n_expected}, got {data['parameters']}", hint)
    forward_hint = "the network maps (N, 36) to (N, 1) probabilities: end with a Sigmoid"
    out = received(test_id, "forward pass", data.get("output"), forward_hint)
    if not isinstance(out, torch.Tensor):
        fail(test_id, "forward pass", f"expected 5 probabilities, got a {type(out).__name__}", forward_hint)
    if tuple(out.shape) not in ((5, 1), (5,)) or not bool(((out >= 0) & (out <= 1)).all()):
        fail(test_id, "forward pass", f"expected 5 probabilities, got shape {tuple(out.shape)}",
             forward_hint)
    return passed(test_id, 3 + judge_blocks(test_id, data.get("blocks"), net))


def check_architecture(task, net):
    return check_locally("part3", "architecture", task, net, literals=(task,))


# ResidualSequence (3.14) ------------------------------------------------------------------

IN_PLACE_SKIP = ("the skip connection adds x after your forward changed it in place (an in-place "
                 "operation on x, such as relu_ or an activation with inplace=True): f(x) + x needs the "
                 "original x, so leave the input as it is")


def judge_residual_sequence__adds_input(data) -> str:
    """ResidualSequence(*layers)(x) = f(x) + x with x as given, f being the same layers as an
    nn.Sequential; one case starts with a ReLU, which must not overwrite the x it adds."""
    test_id = "residual_sequence__adds_input"
    hint = "forward must return f(x) + x, f being the layers in order"
    cases = residual_cases()
    expect_data(test_id, isinstance(data, dict) and isinstance(data.get("cases"), list)
                and len(data["cases"]) == len(cases), f"{len(cases)} cases")
    for (case, layers, x), result in zip(cases, data["cases"]):
        expect_data(test_id, isinstance(result, dict) and isinstance(result.get("input_after"), torch.Tensor)
                    and result["input_after"].shape == x.shape, f"{case}: the input after the call")
        got = received(test_id, case, result.get("output"), hint)
        inner = nn.Sequential(*layers)
        after = result["input_after"].to(x.dtype)  # x as the student's forward left it
        with torch.no_grad():
            expected = inner(x) + x
            expect_close(test_id, case, expected, got, tolerance(expected), hint,
                         mistakes={"returns f(x) without the skip connection": inner(after),
                                   "returns x without the layers": after,
                                   IN_PLACE_SKIP: inner(x) + after})
    return passed(test_id, len(cases))


def check_residual_sequence__adds_input(ResidualSequence):
    return check_locally("part3", "residual_sequence__adds_input", ResidualSequence)


def judge_residual_sequence__is_sequential(data) -> str:
    """An nn.Sequential of the 3 given layers with their 4 parameters registered, whose skip
    connection carries the gradient (the last Linear zeroed: d sum(block(x)) / dx = 1)."""
    test_id = "residual_sequence__is_sequential"
    hint = "subclass nn.Sequential and override only forward, so the layers stay registered"
    expect_data(test_id, isinstance(data, dict) and is_str_list(data.get("mro")), "the class's bases")
    if SEQUENTIAL not in data["mro"] or data.get("length") != 3:
        fail(test_id, "structure", "expected an nn.Sequential of the 3 given layers", hint)
    if data.get("parameters") != 4:
        fail(test_id, "parameters", "the Linear layers' parameters are not registered", hint)
    case, skip_hint = ("gradient through the skip connection",
                       "the skip connection must add the input itself (not a detached copy)")
    expect_close(test_id, case, torch.ones(2, 4), received(test_id, case, data.get("gradient"), skip_hint),
                 tolerance(torch.ones(2, 4)), skip_hint)
    return passed(test_id, 3)


def check_residual_sequence__is_sequential(ResidualSequence):
    return check_locally("part3", "residual_sequence__is_sequential", ResidualSequence)
