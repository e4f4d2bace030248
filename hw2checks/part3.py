"""Checks of notebook 3: the networks' architectures (layer signatures) and residual blocks.

Each aspect is declared once (``hw2checks.aspect``): its probe runs your answer on the cases and
keeps plain data, its comparison decides; the visible check is the two in a row, and the grader
runs the same two on fresh cases. Nothing here builds a network of a task: an architecture is
compared with its task's layer list (``ARCHITECTURES``), a parameter count with PyTorch's count
of each listed layer built alone."""

from __future__ import annotations

import ast
import contextlib
import functools
from collections.abc import Callable, Iterator, Sequence
from typing import Any, cast

import torch
from torch import nn

from hw2checks.aspect import NO_HIDDEN, Hidden, aspect
from hw2checks.probing import plain
from hw2checks.runs import case_seed, describe_error
from hw2checks.toolkit import expect_close, expect_data, fail, is_str_list, tolerance


def is_residual(module: object) -> bool:
    """A residual block, told by the notebook's class name (Task 3.14's ResidualSequence)."""
    return type(module).__name__ == "ResidualSequence"


def class_path(cls: type) -> str:
    """``module.name`` of a class, e.g. torch.nn.modules.container.Sequential."""
    return f"{cls.__module__}.{cls.__name__}"


def mro(obj: object) -> list[str]:
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


def value(result: object) -> torch.Tensor | int | float | dict[str, str]:
    """What a student's call returned, as data: a tensor (detached CPU copy), a number, or
    {"type": name} for anything else."""
    if isinstance(result, torch.Tensor):
        return plain(result)
    if isinstance(result, (bool, int, float)):
        return result
    return {"type": type(result).__name__}


def received(test_id: str, case: str, result: object, hint: str) -> object:
    """A student's result from the probe's ``value``: fails when the call raised or returned
    something that is neither a tensor nor a number."""
    if isinstance(result, dict) and isinstance(result.get("raised"), str):
        fail(test_id, case, f"your code raised {result['raised']}", hint)
    if isinstance(result, dict) and isinstance(result.get("type"), str):
        fail(test_id, case, f"expected a tensor or number, got {result['type']}", hint)
    expect_data(test_id, isinstance(result, (torch.Tensor, bool, int, float)), f"{case}: a result")
    return result


# Architectures (3.1-3.18, and 4.7 and 4.9 through part4) ---------------------------------
# The networks' forward input and ``block_input`` stay fixed while grading: the output is only
# checked to be probabilities and the input to be left unchanged, which a table of values
# cannot fake better than the network itself.

BLOCK_SEED = 4
IN_PLACE_BLOCK_HINT = (
    "the skip connection adds the block's input x, so its layers must leave x as it "
    "is: an activation with inplace=True as a block's first layer overwrites x (use "
    "nn.ReLU(), whose default is inplace=False; inplace=True is harmless after a Linear)"
)
FORWARD_HINT = "the network maps (N, 36) to (N, 1) probabilities: end with a Sigmoid"


def forward_input() -> torch.Tensor:
    """(5, 36) binary features, like the dataset's."""
    return torch.randint(0, 2, (5, 36), generator=torch.Generator().manual_seed(0)).float()


def block_input(width: int) -> torch.Tensor:
    """(6, width) standard normal: about half of it negative, which a ReLU would change."""
    return torch.randn(6, width, generator=torch.Generator().manual_seed(BLOCK_SEED))


def block_width(block: nn.Module) -> int | None:
    """The width a block takes: its first layer's in_features or num_features."""
    for layer in block.modules():
        for attribute in ("in_features", "num_features"):
            if isinstance(getattr(layer, attribute, None), int):
                return cast(int, getattr(layer, attribute))  # an int: checked just above
    return None


def block_case(index: int, entry: str) -> str:
    """How a failure names a residual block: its index and its ``layer_signature`` entry."""
    return f"residual block {index} ({entry})"


def layers_in_order(block: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """f(x): the block's layers one after the other, as nn.Sequential runs them (never the
    block's own forward, which is Task 3.14's to grade)."""
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


def block_layers_effect(block: nn.Module, device: torch.device) -> dict[str, Any]:
    """{"width", "input_after"}: ``block_input(width)`` after ``layers_in_order`` ran on it.
    {"width": None} for a block without a sized layer, {"width", "raised"} if a layer raised."""
    width = block_width(block)
    if width is None:
        return {"width": None}
    parameter = next(block.parameters(), None)
    x = block_input(width).to(device, parameter.dtype if parameter is not None else torch.float32)
    try:
        layers_in_order(block, x)
    except Exception as exc:  # a layer that cannot run alone is the comparison's to name
        return {"width": width, "raised": describe_error(exc)}
    return {"width": width, "input_after": plain(x)}


def _entry(spec: str) -> ast.expr:
    return ast.parse(spec, mode="eval").body


def _calls(node: ast.expr) -> Iterator[ast.Call]:
    """The layers of a parsed signature entry that take sizes, in order (a residual block's
    from the inside, as ``nn.Module.modules()`` visits them)."""
    if isinstance(node, ast.Call):
        if isinstance(node.func, ast.Name) and node.func.id == "Residual":
            for arg in node.args:
                yield from _calls(arg)
        else:
            yield node


def entry_parameters(spec: str) -> int:
    """How many parameters the layers of a ``layer_signature`` entry hold, counted by PyTorch
    on each sized layer built alone (no network is built: a layer list is the task's answer)."""
    total = 0
    with torch.random.fork_rng(devices=[]):  # building a layer draws its initial weights
        for call in _calls(_entry(spec)):
            assert isinstance(call.func, ast.Name)
            layer = getattr(nn, call.func.id)(
                *map(ast.literal_eval, call.args),
                **{k.arg: ast.literal_eval(k.value) for k in call.keywords if k.arg},
            )
            total += sum(p.numel() for p in layer.parameters())
    return total


def expected_blocks(task: str) -> list[tuple[str, int]]:
    """(its entry, its width) of each residual block of Task ``task``'s list, in order: the
    width is the first sized layer's in_features or num_features (``block_width``)."""
    blocks = []
    for spec in ARCHITECTURES[task]:
        node = _entry(spec)
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "Residual":
            first = next(_calls(node))
            blocks.append((spec, ast.literal_eval(first.args[0])))
    return blocks


def probe_architecture(task: str, net: object) -> dict[str, Any]:
    """{"module", "type", "signature", "parameters", "output", "blocks"}: the layers as
    ``layer_signature`` lists them, the number of parameters, the output on ``forward_input()``
    with the residual blocks (``is_residual``) ``blocks_as_layers`` ({"raised": ...} if the
    forward pass raised), and ``block_layers_effect`` of every residual block in
    ``net.modules()`` order, all in eval mode without gradients. ``task`` is the comparison's."""
    if not isinstance(net, nn.Module):
        return {"module": False, "type": type(net).__name__}
    parameters = list(net.parameters())
    data: dict[str, Any] = {
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
            except Exception as exc:  # a wrong network may not run: its layers are named first
                data["output"] = {"raised": describe_error(exc)}
            data["blocks"] = [block_layers_effect(block, device) for block in blocks]
    finally:
        net.train(was_training)
    return data


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


def compare_blocks(test_id: str, blocks: Any, task: str) -> int:
    """Each residual block's layers, run alone on ``block_input(width)``, left it unchanged:
    else the skip connection adds the overwritten input, not x. (The block's forward is Task
    3.14's ResidualSequence, checked there; the network's own choice is its layers.)"""
    expected = expected_blocks(task)
    expect_data(
        test_id,
        isinstance(blocks, list)
        and len(blocks) == len(expected)
        and all(isinstance(b, dict) for b in blocks),
        f"{len(expected)} residual blocks",
    )
    for index, (block, (entry, width)) in enumerate(zip(blocks, expected), start=1):
        case = block_case(index, entry)
        expect_data(test_id, block.get("width") == width, f"{case}: its width")
        if isinstance(block.get("raised"), str):
            fail(
                test_id,
                case,
                f"running the block's layers raised {block['raised']}",
                IN_PLACE_BLOCK_HINT,
            )
        after, x = block.get("input_after"), block_input(width)
        expect_data(
            test_id,
            isinstance(after, torch.Tensor)
            and after.is_floating_point()
            and after.shape == x.shape,
            f"{case}: the block's input",
        )
        expect_input_kept(test_id, case, x, after)
    return len(blocks)


@aspect(probe=probe_architecture, literals=1, test_id=architecture_test_id)
def check_architecture(data: Any, task: str, hidden: Hidden = NO_HIDDEN) -> int:
    """``net`` has exactly the layers Task ``task`` asks for, in order, and their number of
    parameters; it maps a batch to probabilities; and its residual blocks' layers leave their
    input for the skip connection."""
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
    n_expected = sum(map(entry_parameters, ARCHITECTURES[task]))
    if data["parameters"] != n_expected:
        fail(
            test_id,
            "parameter count",
            f"expected {n_expected}, got {data['parameters']}",
            architecture_hint(task),
        )
    out = received(test_id, "forward pass", data.get("output"), FORWARD_HINT)
    if not isinstance(out, torch.Tensor):
        fail(
            test_id,
            "forward pass",
            f"expected 5 probabilities, got a {type(out).__name__}",
            FORWARD_HINT,
        )
    if tuple(out.shape) not in ((5, 1), (5,)) or not bool(((out >= 0) & (out <= 1)).all()):
        fail(
            test_id,
            "forward pass",
            f"expected 5 probabilities, got shape {tuple(out.shape)}",
            FORWARD_HINT,
        )
    return 3 + compare_blocks(test_id, data.get("blocks"), task)


# ResidualSequence (3.14) ------------------------------------------------------------------
# Its values are compared, so its cases (layers and inputs) are drawn from
# case_seed(RESIDUAL_SEED): the public cases outside grading, fresh ones while grading.

RESIDUAL_HINT = (
    "forward returns f(x) + x: the layers' output (f, the layers in order) plus the input x "
    "as it was given, with nothing done to x in place"
)
SEQUENTIAL_HINT = "subclass nn.Sequential and override only forward, so the layers stay registered"
SKIP_GRADIENT_HINT = (
    "return f(x) + x with x itself (not a detached copy), so the gradient flows through both paths"
)
IN_PLACE_SKIP = (
    "the skip connection adds x after your forward changed it in place (an in-place "
    "operation on x, such as relu_ or an activation with inplace=True): f(x) + x needs the "
    "original x, so leave the input as it is"
)
SEQUENTIAL = class_path(nn.Sequential)

RESIDUAL_SEED = 3
RESIDUAL_SHAPES = [(5, 7, 4, torch.float64), (16, 32, 9, torch.float32), (3, 3, 1, torch.float64)]
# the block of Tasks 3.15-3.16, whose first layer (a ReLU) sees the block's input itself
PRE_ACTIVATION_SHAPE = (16, 32, 6, torch.float32)


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


def probe_residual_sequence__adds_input(
    ResidualSequence: Callable[..., Any],
) -> dict[str, Any]:
    """{"cases": [{"output": ResidualSequence(*layers)(x), "input_after": x after the call}]}
    for ``residual_cases()``: the comparison computes f(x) + x from the same cases."""
    results = []
    for _, layers, x in residual_cases():
        block = ResidualSequence(*layers).to(x.dtype)
        results.append({"output": value(block(x)), "input_after": plain(x)})
    return {"cases": results}


@aspect(probe=probe_residual_sequence__adds_input)
def check_residual_sequence__adds_input(data: Any, hidden: Hidden = NO_HIDDEN) -> int:
    """``ResidualSequence(*layers)(x)`` equals f(x) + x with x as given, f being the same layers
    as an nn.Sequential; one case starts with a ReLU, which must not overwrite the x it adds."""
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
    return len(cases)


def probe_residual_sequence__is_sequential(
    ResidualSequence: Callable[..., Any],
) -> dict[str, Any]:
    """{"mro", "length", "parameters", "gradient"} of ResidualSequence(Linear(4, 4), ReLU,
    Linear(4, 4)): its classes, len(block), its number of parameter tensors, and d sum(block(x))
    / dx once the last Linear is zeroed ({"raised": ...} if that failed)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        block = ResidualSequence(nn.Linear(4, 4), nn.ReLU(), nn.Linear(4, 4))
    is_module = isinstance(block, nn.Module)
    data: dict[str, Any] = {
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
    except Exception as exc:  # e.g. a block that cannot be indexed: the structure is checked first
        data["gradient"] = {"raised": describe_error(exc)}
    return data


@aspect(probe=probe_residual_sequence__is_sequential)
def check_residual_sequence__is_sequential(data: Any, hidden: Hidden = NO_HIDDEN) -> int:
    """A ``ResidualSequence`` is an nn.Sequential of the 3 given layers with their 4 parameters
    registered, whose skip connection carries the gradient (the last Linear zeroed: d
    sum(block(x)) / dx = 1)."""
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
    return 3


# end of Part 3 checks
