"""Checks of notebook 3: the networks' architectures (layer signatures) and residual blocks."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from hw2checks.probing import plain
from hw2checks.toolkit import expect_close, expect_data, fail, print_passed, student_facing


def is_residual(module) -> bool:
    """A residual block, told by the notebook's class name (Task 3.14's ResidualSequence)."""
    return type(module).__name__ == "ResidualSequence"


def class_path(cls) -> str:
    """``module.name`` of a class, e.g. torch.nn.modules.container.Sequential."""
    return f"{cls.__module__}.{cls.__name__}"


def mro(obj) -> list[str]:
    """The class paths of ``type(obj)`` and its bases, most derived first."""
    return [class_path(cls) for cls in type(obj).__mro__]


def layer_signature(net: nn.Module) -> list[str]:
    """The layers of ``net`` in order, as short strings: plain ``nn.Sequential`` nesting is
    flattened, a ``ResidualSequence`` becomes ``"Residual(...)"`` around its layers.
    E.g. ``["Linear(36, 128)", "ReLU", "Linear(128, 1)", "Sigmoid"]``."""
    signature = []
    for child in net.children():
        if is_residual(child):
            signature.append(f"Residual({', '.join(layer_signature(child))})")
        elif isinstance(child, nn.Sequential):
            signature.extend(layer_signature(child))
        elif isinstance(child, nn.Linear):
            bias = "" if child.bias is not None else ", bias=False"
            signature.append(f"Linear({child.in_features}, {child.out_features}{bias})")
        elif isinstance(child, nn.BatchNorm1d):
            signature.append(f"BatchNorm1d({child.num_features})")
        else:
            signature.append(type(child).__name__)
    return signature


def _mlp(widths: Sequence[int], activation: str, batchnorm_after: Sequence[int] = ()) -> list[str]:
    layers = []
    for i, (n_in, n_out) in enumerate(zip(widths[:-1], widths[1:])):
        layers.append(f"Linear({n_in}, {n_out})")
        if i < len(widths) - 2:
            layers.append(activation)
            if i in batchnorm_after:
                layers.append(f"BatchNorm1d({n_out})")
    return layers + ["Sigmoid"]


def _residual(blocks: int, batchnorm: bool) -> list[str]:
    first = "BatchNorm1d(16)" if batchnorm else "ReLU"
    block = f"Residual({first}, Linear(16, 32), ReLU, Linear(32, 16))"
    head = ["BatchNorm1d(16)"] if batchnorm else []
    return ["Linear(36, 16)", *[block] * blocks, *head, "Linear(16, 1)", "Sigmoid"]


#: The architecture each Part 3 task asks for (its task text states the same); the grader's
#: reference networks are built from these lists, layer by layer.
ARCHITECTURES = {
    "3.1": _mlp([36, 128, 128, 1], "Sigmoid"),
    "3.2": _mlp([36, 128, 128, 1], "Tanh"),
    **{task: _mlp([36, 128, 128, 1], "ReLU") for task in ("3.3", "3.4", "3.5", "3.6", "3.7")},
    "3.8": _mlp([36, 64, 64, 1], "ReLU"),
    "3.9": _mlp([36, 32, 32, 1], "ReLU"),
    "3.10": _mlp([36, 16, 16, 1], "ReLU"),
    "3.11": _mlp([36, 64, 64, 64, 1], "ReLU"),
    "3.12": _mlp([36] + [32] * 5 + [1], "ReLU"),
    "3.13": _mlp([36] + [32] * 5 + [1], "ReLU", batchnorm_after=(0, 4)),
    "3.15": _residual(4, batchnorm=False),
    "3.16": _residual(2, batchnorm=False),
    "3.17": _residual(2, batchnorm=True),
    "3.18": _residual(6, batchnorm=True),
}
#: Tasks that train an earlier task's network.
REUSED = {"4.7": "3.12", "4.9": "3.12"}
ARCHITECTURES.update({task: ARCHITECTURES[source] for task, source in REUSED.items()})


def architecture_test_id(task: str) -> str:
    return f"net_{task.replace('.', '_')}__architecture"


def architecture_hint(task: str) -> str:
    return f"compare your layers with Task {REUSED.get(task, task)}'s list, in order; print(net) shows yours"


def expect_layers(test_id: str, task: str, got: list[str]) -> None:
    """``got`` (a ``layer_signature``) is Task ``task``'s list; else fail at the first difference."""
    expected = ARCHITECTURES[task]
    if got != expected:
        first = next(
            (i for i, (e, g) in enumerate(zip(expected, got)) if e != g),
            min(len(expected), len(got)),
        )
        fail(
            test_id,
            f"layer {first + 1}",
            f"expected {expected[first] if first < len(expected) else 'no more layers'}, got "
            f"{got[first] if first < len(got) else 'no more layers'} (expected {len(expected)} "
            f"layers, got {len(got)})",
            architecture_hint(task),
        )


def value(result):
    """What a student's call returned, as data: a tensor (detached CPU copy), a number, or
    {"type": name} for anything else."""
    if isinstance(result, torch.Tensor):
        return plain(result)
    if isinstance(result, (bool, int, float)):
        return result
    return {"type": type(result).__name__}


def received(test_id: str, case: str, result, hint: str):
    """A student's result from the probe's ``value``: fails when the call raised or returned
    something that is neither a tensor nor a number."""
    if isinstance(result, dict) and isinstance(result.get("raised"), str):
        fail(test_id, case, f"your code raised {result['raised']}", hint)
    if isinstance(result, dict) and isinstance(result.get("type"), str):
        fail(test_id, case, f"expected a tensor or number, got {result['type']}", hint)
    expect_data(test_id, isinstance(result, (torch.Tensor, bool, int, float)), f"{case}: a result")
    return result


@student_facing
def check_architecture(task: str, net) -> None:
    """``net`` has exactly the layers Task ``task`` asks for, in order, and its residual blocks'
    layers leave their input for the skip connection."""
    test_id = architecture_test_id(task)
    if not isinstance(net, nn.Module):
        fail(
            test_id,
            "type",
            f"expected an nn.Module, got {type(net).__name__}",
            architecture_hint(task),
        )
    expect_layers(test_id, task, layer_signature(net))
    _check_blocks_keep_input(test_id, net)
    print(
        f"{test_id}: architecture matches ({sum(p.numel() for p in net.parameters())} parameters)"
    )


BLOCK_SEED = 4
IN_PLACE_BLOCK_HINT = (
    "the skip connection adds the block's input x, so its layers must leave x as it "
    "is: an activation with inplace=True as a block's first layer overwrites x (use "
    "nn.ReLU(), whose default is inplace=False; inplace=True is harmless after a Linear)"
)


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


def block_case(index: int, block: nn.Module) -> str:
    return f"residual block {index} ({layer_signature(nn.Sequential(block))[0]})"


def layers_in_order(block: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """f(x): the block's layers one after the other, as nn.Sequential runs them (never the
    block's own forward, which is Task 3.14's to grade)."""
    for layer in block.children():
        x = layer(x)
    return x


def expect_input_kept(test_id: str, case: str, x: torch.Tensor, after: torch.Tensor) -> None:
    """``after`` (``x`` once a block's layers ran on it) is ``x``: the skip connection adds x."""
    changed = int((after.double() != x.to(after.dtype).double()).sum())
    if changed:
        fail(
            test_id,
            case,
            f"its layers changed the block's input in place ({changed} of {x.numel()} "
            "entries), so the skip connection adds the changed input instead of x",
            IN_PLACE_BLOCK_HINT,
        )


def _check_blocks_keep_input(test_id: str, net: nn.Module) -> None:
    """The layers of each residual block, run alone (eval mode, no gradients) on
    ``block_input``, leave it as it was."""
    blocks = [m for m in net.modules() if is_residual(m)]
    was_training = net.training
    net.eval()
    try:
        for index, block in enumerate(blocks, start=1):
            width, parameter = block_width(block), next(block.parameters(), None)
            if width is None:
                continue
            x = block_input(width).to(parameter if parameter is not None else torch.empty(0))
            with torch.no_grad():
                layers_in_order(block, x)
            expect_input_kept(test_id, block_case(index, block), block_input(width), x.cpu())
    finally:
        net.train(was_training)


RESIDUAL_HINT = (
    "forward returns f(x) + x: the layers' output (f, the layers in order) plus the input x "
    "as it was given, with nothing done to x in place"
)
SEQUENTIAL_HINT = "subclass nn.Sequential and override only forward, so the layers stay registered"
SKIP_GRADIENT_HINT = (
    "return f(x) + x with x itself (not a detached copy), so the gradient flows through both paths"
)


@student_facing
def check_residual_sequence__adds_input(ResidualSequence) -> None:
    """``ResidualSequence(*layers)(x)`` equals ``layers(x) + x``, x as it was given (a block may
    start with an activation, which must not overwrite x)."""
    test_id = "residual_sequence__adds_input"
    torch.manual_seed(0)
    cases = {
        "Linear 4->6, ReLU, Linear 6->4 on a batch of 3": [],
        "ReLU, Linear 4->6, ReLU, Linear 6->4 on a batch of 3": [nn.ReLU()],
    }
    for case, first in cases.items():
        inner = [*first, nn.Linear(4, 6), nn.ReLU(), nn.Linear(6, 4)]
        x = torch.randn(3, 4)
        expected = nn.Sequential(*inner)(x) + x
        expect_close(test_id, case, expected, ResidualSequence(*inner)(x), 1e-6, RESIDUAL_HINT)
    print_passed(test_id, len(cases))


@student_facing
def check_residual_sequence__is_sequential(ResidualSequence) -> None:
    """A ``ResidualSequence`` is still an ``nn.Sequential``: it registers its layers."""
    test_id = "residual_sequence__is_sequential"
    block = ResidualSequence(nn.Linear(3, 3), nn.Tanh())
    if not isinstance(block, nn.Sequential):
        fail(test_id, "type", "ResidualSequence is not an nn.Sequential subclass", SEQUENTIAL_HINT)
    if len(list(block.parameters())) != 2:
        fail(
            test_id,
            "parameters",
            "the Linear layer's weight and bias are not registered",
            SEQUENTIAL_HINT,
        )
    with torch.no_grad():
        block[0].weight.zero_()
        block[0].bias.zero_()
    x = torch.randn(2, 3, requires_grad=True)
    block(x).sum().backward()
    # f is zero here, so only the skip connection carries the gradient: d(sum)/dx = 1
    expect_close(
        test_id,
        "gradient through the skip connection",
        torch.ones(2, 3),
        x.grad,
        1e-6,
        SKIP_GRADIENT_HINT,
    )
    print_passed(test_id, 3)


# end of Part 3 checks
