"""Hidden checks of notebook 3: architectures of the training experiments, ResidualSequence."""
from __future__ import annotations

import torch
from torch import nn

from autograder import experiments
from autograder.checks.common import expect_close, fail, passed


def signature(net: nn.Module) -> list[str]:
    """Layers in order; plain Sequential nesting flattened, a residual block as Residual(...)."""
    out = []
    for child in net.children():
        if type(child).__name__ == "ResidualSequence":
            out.append(f"Residual({', '.join(signature(child))})")
        elif isinstance(child, nn.Sequential):
            out.extend(signature(child))
        elif isinstance(child, nn.Linear):
            bias = "" if child.bias is not None else ", bias=False"
            out.append(f"Linear({child.in_features}, {child.out_features}{bias})")
        elif isinstance(child, nn.BatchNorm1d):
            out.append(f"BatchNorm1d({child.num_features})")
        else:
            out.append(type(child).__name__)
    return out


def check_architecture(task: str, net):
    """Layer types, sizes and order, parameter count, and a forward pass to probabilities."""
    test_id = f"net_{task.replace('.', '_')}__architecture"
    hint = "build exactly the layers the task lists, in order"
    if not isinstance(net, nn.Module):
        fail(test_id, "type", f"expected an nn.Module, got {type(net).__name__}", hint)
    reference = experiments.build(task)
    expected, got = signature(reference), signature(net)
    if got != expected:
        first = next((i for i, (e, g) in enumerate(zip(expected, got)) if e != g),
                     min(len(expected), len(got)))
        fail(test_id, f"layer {first + 1}",
             f"expected {expected[first] if first < len(expected) else 'no more layers'}, got "
             f"{got[first] if first < len(got) else 'no more layers'} (expected {len(expected)} "
             f"layers, got {len(got)})", hint)
    n_expected = sum(p.numel() for p in reference.parameters())
    n_got = sum(p.numel() for p in net.parameters())
    if n_got != n_expected:
        fail(test_id, "parameter count", f"expected {n_expected}, got {n_got}", hint)
    device = next(net.parameters()).device
    was_training = net.training
    net.eval()
    try:
        with torch.no_grad():
            out = net(torch.randint(0, 2, (5, 36), generator=torch.Generator().manual_seed(0))
                      .float().to(device))
    finally:
        net.train(was_training)
    if out.shape not in ((5, 1), (5,)) or not bool(((out >= 0) & (out <= 1)).all()):
        fail(test_id, "forward pass", f"expected 5 probabilities, got shape {tuple(out.shape)}",
             "the network maps (N, 36) to (N, 1) probabilities: end with a Sigmoid")
    passed(test_id, 3)


def _random_blocks(ResidualSequence, seed):
    g = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    for width, hidden, batch, dtype in [(5, 7, 4, torch.float64), (16, 32, 9, torch.float32),
                                        (3, 3, 1, torch.float64)]:
        layers = [nn.Linear(width, hidden), nn.Tanh(), nn.Linear(hidden, width)]
        x = torch.randn(batch, width, generator=g, dtype=dtype)
        yield (f"Linear {width}->{hidden}, Tanh, Linear {hidden}->{width}, batch {batch}, {dtype}",
               layers, ResidualSequence(*layers).to(dtype), x)


def check_residual_sequence__adds_input(ResidualSequence):
    test_id = "residual_sequence__adds_input"
    n = 0
    for case, layers, block, x in _random_blocks(ResidualSequence, 3):
        inner = nn.Sequential(*layers).to(x.dtype)
        expect_close(test_id, case, inner(x) + x, block(x), 1e-6,
                     "forward must return f(x) + x, f being the layers in order",
                     mistakes={"returns f(x) without the skip connection": inner(x),
                               "returns x without the layers": x})
        n += 1
    passed(test_id, n)


def check_residual_sequence__is_sequential(ResidualSequence):
    test_id = "residual_sequence__is_sequential"
    hint = "subclass nn.Sequential and override only forward, so the layers stay registered"
    block = ResidualSequence(nn.Linear(4, 4), nn.ReLU(), nn.Linear(4, 4))
    if not isinstance(block, nn.Sequential) or len(block) != 3:
        fail(test_id, "structure", "expected an nn.Sequential of the 3 given layers", hint)
    if len(list(block.parameters())) != 4:
        fail(test_id, "parameters", "the Linear layers' parameters are not registered", hint)
    with torch.no_grad():
        block[2].weight.zero_()
        block[2].bias.zero_()
    x = torch.randn(2, 4, requires_grad=True)
    block(x).sum().backward()
    # With the last layer zeroed, only the skip connection carries the gradient: d(sum)/dx = 1.
    expect_close(test_id, "gradient through the skip connection", torch.ones(2, 4), x.grad, 1e-6,
                 "the skip connection must add the input itself (not a detached copy)")
    passed(test_id, 3)
