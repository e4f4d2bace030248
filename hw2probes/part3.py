"""Probes of notebook 3: the networks' layers, and ResidualSequence. Their judges are in
``autograder.checks.part3``. A network is described by ``hw2checks.layer_signature``, and its
residual blocks' layers run as ``hw2checks`` runs them: the shipped checks' own helpers.

ResidualSequence's values are compared, so its cases (layers and inputs) are drawn from
``hw2probes.case_seed(RESIDUAL_SEED)``, a stream of the run's own while grading. The networks'
forward input and ``block_input`` stay fixed: their outputs are only checked to be
probabilities and the input to be left unchanged, which a table of values cannot fake better
than the network itself."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator

import torch
from torch import nn

from hw2checks.part3 import (
    block_input,
    block_width,
    is_residual,
    layer_signature,
    layers_in_order,
    mro,
    value,
)
from hw2checks.probing import plain
from hw2probes import case_seed, describe_error

RESIDUAL_SEED = 3
RESIDUAL_SHAPES = [(5, 7, 4, torch.float64), (16, 32, 9, torch.float32), (3, 3, 1, torch.float64)]
# the block of Tasks 3.15-3.16, whose first layer (a ReLU) sees the block's input itself
PRE_ACTIVATION_SHAPE = (16, 32, 6, torch.float32)


def forward_input() -> torch.Tensor:
    """(5, 36) binary features, like the dataset's."""
    return torch.randint(0, 2, (5, 36), generator=torch.Generator().manual_seed(0)).float()


@contextlib.contextmanager
def blocks_as_layers(blocks: list[nn.Module]) -> Iterator[None]:
    """Inside, each block computes ``layers_in_order`` instead of its own forward (Task 3.14's
    ResidualSequence, judged by its own checks): a network's checks do not depend on it."""
    own = [vars(block).pop("forward", None) for block in blocks]
    for block in blocks:
        block.forward = functools.partial(layers_in_order, block)
    try:
        yield
    finally:
        for block, forward in zip(blocks, own):
            del block.forward
            if forward is not None:
                block.forward = forward


def block_layers_effect(block: nn.Module, device) -> dict:
    """{"width", "input_after"}: ``block_input(width)`` after ``layers_in_order`` ran on it.
    {"width": None} for a block without a sized layer, {"width", "raised"} if a layer raised."""
    width = block_width(block)
    if width is None:
        return {"width": None}
    parameter = next(block.parameters(), None)
    x = block_input(width).to(device, parameter.dtype if parameter is not None else torch.float32)
    try:
        layers_in_order(block, x)
    except Exception as exc:  # a layer that cannot run alone is the judge's to name
        return {"width": width, "raised": describe_error(exc)}
    return {"width": width, "input_after": plain(x)}


def probe_architecture(task: str, net):
    """{"module", "type", "signature", "parameters", "output", "blocks"}: the layers as
    ``layer_signature`` lists them, the number of parameters, the output on ``forward_input()``
    with the residual blocks (``is_residual``) ``blocks_as_layers`` ({"raised": ...} if the
    forward pass raised), and ``block_layers_effect`` of every residual block in
    ``net.modules()`` order, all in eval mode without gradients. ``task`` is the judge's."""
    if not isinstance(net, nn.Module):
        return {"module": False, "type": type(net).__name__}
    parameters = list(net.parameters())
    data = {
        "module": True,
        "type": type(net).__name__,
        "signature": layer_signature(net),
        "parameters": sum(p.numel() for p in parameters),
    }
    device = parameters[0].device if parameters else torch.device("cpu")
    was_training = net.training
    blocks = [m for m in net.modules() if is_residual(m)]
    net.eval()
    try:
        with torch.no_grad():
            try:
                with blocks_as_layers(blocks):
                    data["output"] = value(net(forward_input().to(device)))
            except (
                Exception
            ) as exc:  # a wrong network may not run: the judge names its layers first
                data["output"] = {"raised": describe_error(exc)}
            data["blocks"] = [block_layers_effect(block, device) for block in blocks]
    finally:
        net.train(was_training)
    return data


def residual_cases() -> list[tuple[str, list[nn.Module], torch.Tensor]]:
    """[(case, layers, x)]: Linear, Tanh, Linear for each of RESIDUAL_SHAPES, then ReLU,
    Linear, ReLU, Linear (PRE_ACTIVATION_SHAPE), in each case's dtype, made under
    torch.manual_seed(case_seed(RESIDUAL_SEED)) (the caller's random state kept), and a batch x."""
    seed = case_seed(RESIDUAL_SEED)
    g = torch.Generator().manual_seed(seed)
    cases = []
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        for width, hidden, batch, dtype in RESIDUAL_SHAPES:
            layers = [
                nn.Linear(width, hidden).to(dtype),
                nn.Tanh(),
                nn.Linear(hidden, width).to(dtype),
            ]
            x = torch.randn(batch, width, generator=g, dtype=dtype)
            cases.append(
                (
                    f"Linear {width}->{hidden}, Tanh, Linear {hidden}->{width}, batch {batch}, "
                    f"{dtype}",
                    layers,
                    x,
                )
            )
        width, hidden, batch, dtype = PRE_ACTIVATION_SHAPE
        layers = [
            nn.ReLU(),
            nn.Linear(width, hidden).to(dtype),
            nn.ReLU(),
            nn.Linear(hidden, width).to(dtype),
        ]
        x = torch.randn(batch, width, generator=g, dtype=dtype)
        cases.append(
            (
                f"ReLU, Linear {width}->{hidden}, ReLU, Linear {hidden}->{width}, batch {batch}, "
                f"{dtype}",
                layers,
                x,
            )
        )
    return cases


def probe_residual_sequence__adds_input(ResidualSequence):
    """{"cases": [{"output": ResidualSequence(*layers)(x), "input_after": x after the call}]}
    for ``residual_cases()``: the judge computes f(x) + x from the same cases."""
    results = []
    for _, layers, x in residual_cases():
        block = ResidualSequence(*layers).to(x.dtype)
        results.append({"output": value(block(x)), "input_after": plain(x)})
    return {"cases": results}


def probe_residual_sequence__is_sequential(ResidualSequence):
    """{"mro", "length", "parameters", "gradient"} of ResidualSequence(Linear(4, 4), ReLU,
    Linear(4, 4)): its classes, len(block), its number of parameter tensors, and d sum(block(x))
    / dx once the last Linear is zeroed ({"raised": ...} if that failed)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        block = ResidualSequence(nn.Linear(4, 4), nn.ReLU(), nn.Linear(4, 4))
    is_module = isinstance(block, nn.Module)
    data = {
        "mro": mro(block),
        "length": len(block) if isinstance(block, nn.Sequential) else None,
        "parameters": len(list(block.parameters())) if is_module else None,
    }
    try:
        with torch.no_grad():
            block[2].weight.zero_()
            block[2].bias.zero_()
        x = torch.randn(2, 4, generator=torch.Generator().manual_seed(0), requires_grad=True)
        block(x).sum().backward()
        data["gradient"] = value(x.grad)
    except Exception as exc:  # e.g. a block that cannot be indexed: the structure is judged first
        data["gradient"] = {"raised": describe_error(exc)}
    return data
