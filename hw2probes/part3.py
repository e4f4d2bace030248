"""Probes of notebook 3: the networks' layers, and ResidualSequence. Their judges are in
``autograder.checks.part3``; the architectures each task asks for live only there."""
from __future__ import annotations

import torch
from torch import nn

import hw2utils
from hw2probes import describe_error
from hw2probes.common import plain

RESIDUAL_SEED = 3
RESIDUAL_SHAPES = [(5, 7, 4, torch.float64), (16, 32, 9, torch.float32), (3, 3, 1, torch.float64)]


# the layer list a Part 3 network is compared by: hw2utils' own (shipped beside this package,
# and in the grader's kit), so students, probes and judges read one definition
signature = hw2utils.layer_signature


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


def probe_architecture(task: str, net):
    """{"module", "type", "signature", "parameters", "output"}: the layers as ``signature``
    lists them, the number of parameters, and the output on ``forward_input()`` in eval mode
    ({"raised": ...} if the forward pass raised). ``task`` is the judge's to read."""
    if not isinstance(net, nn.Module):
        return {"module": False, "type": type(net).__name__}
    parameters = list(net.parameters())
    data = {"module": True, "type": type(net).__name__, "signature": signature(net),
            "parameters": sum(p.numel() for p in parameters)}
    device = parameters[0].device if parameters else torch.device("cpu")
    was_training = net.training
    net.eval()
    try:
        with torch.no_grad():
            data["output"] = value(net(forward_input().to(device)))
    except Exception as exc:  # a wrong network may not run: the judge names its layers first
        data["output"] = {"raised": describe_error(exc)}
    finally:
        net.train(was_training)
    return data


def residual_cases() -> list[tuple[str, list[nn.Module], torch.Tensor]]:
    """[(case, layers, x)]: Linear, Tanh, Linear in each case's dtype, made under
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
