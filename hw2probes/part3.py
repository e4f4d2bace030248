"""Probes of notebook 3: the networks' layers, and ResidualSequence. Their judges are in
``autograder.checks.part3``; the architectures each task asks for live only there."""
from __future__ import annotations

import contextlib
import functools
from typing import Iterator

import torch
from torch import nn

import hw2checks
from hw2probes import describe_error
from hw2probes.common import plain

RESIDUAL_SEED = 3
RESIDUAL_SHAPES = [(5, 7, 4, torch.float64), (16, 32, 9, torch.float32), (3, 3, 1, torch.float64)]
# the block of Tasks 3.15-3.16, whose first layer (a ReLU) sees the block's input itself
PRE_ACTIVATION_SHAPE = (16, 32, 6, torch.float32)
BLOCK_SEED = 4


# the layer list a Part 3 network is compared by: hw2checks' own (shipped beside this package,
# and in the grader's kit), so students, probes and judges read one definition
signature = hw2checks.layer_signature


def class_path(cls) -> str:
    """``module.name`` of a class, e.g. torch.nn.modules.container.Sequential."""
    return f"{cls.__module__}.{cls.__name__}"


def mro(obj) -> list[str]:
    """The class paths of ``type(obj)`` and its bases, most derived first."""
    return [class_path(cls) for cls in type(obj).__mro__]


def value(result):
    """What a student's call returned, as data: a tensor (detached CPU copy), a number, or
    {"type": name} for anything else."""
    if isinstance(result, torch.Tensor):
        return plain(result)
    if isinstance(result, (bool, int, float)):
        return result
    return {"type": type(result).__name__}


def forward_input() -> torch.Tensor:
    """(5, 36) binary features, like the dataset's."""
    return torch.randint(0, 2, (5, 36), generator=torch.Generator().manual_seed(0)).float()


def is_residual(module) -> bool:
    """A residual block, by the notebook's class name (as ``signature`` tells them)."""
    return type(module).__name__ == "ResidualSequence"


def block_input(width: int) -> torch.Tensor:
    """(6, width) standard normal: about half of it negative, which a ReLU would change."""
    return torch.randn(6, width, generator=torch.Generator().manual_seed(BLOCK_SEED))


def block_width(block: nn.Module) -> int | None:
    """The width a block takes: its first layer's in_features or num_features."""
    for layer in block.modules():
        for attribute in ("in_features", "num_features"):
            if isinstance(getattr(layer, attribute, None), int):
                return getattr(layer, attribute)
    return None


def layers_in_order(block: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """f(x): the block's layers one after the other, as nn.Sequential runs them."""
    for layer in block.children():
        x = layer(x)
    return x


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
    ``signature`` lists them, the number of parameters, the output on ``forward_input()``
    with the residual blocks (``is_residual``) ``blocks_as_layers`` ({"raised": ...} if the
    forward pass raised), and ``block_layers_effect`` of every residual block in
    ``net.modules()`` order, all in eval mode without gradients. ``task`` is the judge's."""
    if not isinstance(net, nn.Module):
        return {"module": False, "type": type(net).__name__}
    parameters = list(net.parameters())
    data = {"module": True, "type": type(net).__name__, "signature": signature(net),
            "parameters": sum(p.numel() for p in parameters)}
    device = parameters[0].device if parameters else torch.device("cpu")
    was_training = net.training
    blocks = [m for m in net.modules() if is_residual(m)]
    net.eval()
    try:
        with torch.no_grad():
            try:
                with blocks_as_layers(blocks):
                    data["output"] = value(net(forward_input().to(device)))
            except Exception as exc:  # a wrong network may not run: the judge names its layers first
                data["output"] = {"raised": describe_error(exc)}
            data["blocks"] = [block_layers_effect(block, device) for block in blocks]
    finally:
        net.train(was_training)
    return data


def residual_cases() -> list[tuple[str, list[nn.Module], torch.Tensor]]:
    """[(case, layers, x)]: Linear, Tanh, Linear for each of RESIDUAL_SHAPES, then ReLU,
    Linear, ReLU, Linear (PRE_ACTIVATION_SHAPE), in each case's dtype, made under
    torch.manual_seed(RESIDUAL_SEED) (the caller's random state kept), and a batch x."""
    g = torch.Generator().manual_seed(RESIDUAL_SEED)
    cases = []
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(RESIDUAL_SEED)
        for width, hidden, batch, dtype in RESIDUAL_SHAPES:
            layers = [nn.Linear(width, hidden).to(dtype), nn.Tanh(), nn.Linear(hidden, width).to(dtype)]
            x = torch.randn(batch, width, generator=g, dtype=dtype)
            cases.append((f"Linear {width}->{hidden}, Tanh, Linear {hidden}->{width}, batch {batch}, "
                          f"{dtype}", layers, x))
        width, hidden, batch, dtype = PRE_ACTIVATION_SHAPE
        layers = [nn.ReLU(), nn.Linear(width, hidden).to(dtype), nn.ReLU(), nn.Linear(hidden, width).to(dtype)]
        x = torch.randn(batch, width, generator=g, dtype=dtype)
        cases.append((f"ReLU, Linear {width}->{hidden}, ReLU, Linear {hidden}->{width}, batch {batch}, "
                       f"{dtype}", layers, x))
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
    data = {"mro": mro(block), "length": len(block) if isinstance(block, nn.Sequential) else None,
            "parameters": len(list(block.parameters())) if is_module else None}
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
