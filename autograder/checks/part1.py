"""What the grader adds to the checks of notebook 1 (declared, shipped, in ``hw2checks.part1``:
gradient descent by hand, per-coordinate rates, SGD with weight decay).

Only one extra must not ship: the momentum a wrong SimpleGradientDescent adds, fitted to its
path and simulated with a hand-written step of plain SGD (``_plain_step``: an answer to Task 1.3).
The visible check names momentum from torch.optim.SGD(momentum=0.9) instead.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch

from autograder.aspects import attributes_of, extend
from hw2checks import part1 as shipped
from hw2checks.part1 import SGD_STEPS, quartic_loss

# a hidden test cell calls a shipped aspect (hw2checks.part1) through this module too
__getattr__ = attributes_of("part1")


def _momentum_mistake(
    kwargs: Mapping[str, Any], init: Sequence[torch.Tensor], got: torch.Tensor
) -> dict[str, torch.Tensor]:
    """{description: path} for momentum, when ``got`` (SGD_STEPS, n) steps as p_k - p_{k-1} =
    a (p_{k-1} - p_{k-2}) + b d_k, d_k the plain step at p_{k-1}: a and b fitted to ``got``, the
    path simulated from init with them."""
    start = torch.cat([p.detach().double().flatten() for p in init])
    points = torch.cat([start[None], got.double()])
    if not bool(torch.isfinite(points).all()):
        return {}
    moves = points[1:] - points[:-1]
    plain = torch.stack([_plain_step(kwargs, init, point) for point in points[:-1]])
    previous = torch.cat([torch.zeros_like(moves[:1]), moves[:-1]])
    fit = torch.linalg.lstsq(
        torch.stack([previous.flatten(), plain.flatten()], dim=1), moves.flatten()[:, None]
    )
    a, b = fit.solution.flatten().tolist()
    if abs(a) < 1e-3:
        return {}
    point, move, path = start, torch.zeros_like(start), []
    for _ in range(SGD_STEPS):
        move = a * move + b * _plain_step(kwargs, init, point)
        point = point + move
        path.append(point)
    return {
        f"momentum: each step adds {a:.3g} times the previous step (a velocity or buffer kept "
        "from step to step); SimpleGradientDescent is plain gradient descent, each step is "
        "-lr * (p.grad + weight_decay * p) from this step's gradient alone": torch.stack(path)
    }


def _plain_step(
    kwargs: Mapping[str, Any], init: Sequence[torch.Tensor], point: torch.Tensor
) -> torch.Tensor:
    """-lr * (grad + weight_decay * p) of quartic_loss at ``point`` (the parameters of ``init``'s
    shapes, flattened), in float64."""
    params, offset = [], 0
    for p in init:
        params.append(point[offset : offset + p.numel()].reshape(p.shape).clone().requires_grad_())
        offset += p.numel()
    grads = torch.autograd.grad(quartic_loss(params), params)
    wd = kwargs.get("weight_decay", 0.0)
    return torch.cat(
        [(-kwargs["lr"] * (g + wd * p.detach())).flatten() for p, g in zip(params, grads)]
    )


# Task 1.3: a hand-written SGD step names momentum by how much of it there is
check_sgd_optimizer__matches_torch = extend(
    shipped.check_sgd_optimizer__matches_torch, momentum=_momentum_mistake
)
check_sgd_optimizer__weight_decay = extend(
    shipped.check_sgd_optimizer__weight_decay, momentum=_momentum_mistake
)
