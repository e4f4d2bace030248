"""Probes of notebook 1: gradient descent by hand, per-coordinate rates, SGD with weight decay.

Each probe runs the student's answer on the cases below and returns what it produced; the
judge (``autograder.checks.part1``) rebuilds the same cases from these functions. Every case is
drawn from ``hw2probes.case_seed``: the defaults below outside grading, a stream of the run's
own while grading, so no table of paths computed in advance matches.
"""

from __future__ import annotations

import itertools
import types

import torch

from hw2checks.part1 import (
    RecordingBowl,
    exercise_zero_grad,
    leaf_copies,
    random_parameters,
    run_in_turn,
    run_steps,
    steady,
)
from hw2checks.probing import (
    Delegated,
    devices,
    globals_read,
    no_torch_optim,
    plain,
)
from hw2probes import case_seed, current_seed
from hw2utils import BOWL_MATRIX

# Task 1.1: descend(loss_fn, x, lr, steps) ---------------------------------------------------

IN_PLACE_START, IN_PLACE_LR, IN_PLACE_STEPS = (0.7, -1.1), 0.05, 4
IN_PLACE_SEED = 14


def in_place_start() -> tuple[float, float]:
    """The start of the in-place case on BOWL_MATRIX: IN_PLACE_START outside grading; while
    grading, a ``steady`` point of [-2, 2]^2 drawn from case_seed(IN_PLACE_SEED) (its end is compared)."""
    if current_seed() is None:
        return IN_PLACE_START
    g = torch.Generator().manual_seed(case_seed(IN_PLACE_SEED))
    while True:
        start = tuple((torch.rand(2, generator=g, dtype=torch.float64) * 4 - 2).tolist())
        if steady(BOWL_MATRIX, start, IN_PLACE_LR, IN_PLACE_STEPS):
            return start


def probe_gd_loop__in_place(descend):
    """Per device: whether descend returned x itself, and x and x.grad afterwards."""
    runs = {}
    for device in devices():
        x = torch.tensor(in_place_start(), dtype=torch.float64, device=device, requires_grad=True)
        returned = descend(RecordingBowl(BOWL_MATRIX), x, IN_PLACE_LR, IN_PLACE_STEPS)
        runs[device] = {
            "returned_x": returned is x,
            "is_leaf": x.is_leaf,
            "requires_grad": x.requires_grad,
            "device": x.device.type,
            "x": plain(x),
            "grad": None if x.grad is None else plain(x.grad),
        }
    return runs


# Task 1.2: lr_pair --------------------------------------------------------------------------


def probe_per_dim_lr__beats_single_lr(lr_pair):
    """{"rates": float64 tensor} or, for what is not numbers, {"not_numbers": its repr}."""
    try:
        return {"rates": plain(torch.as_tensor(lr_pair, dtype=torch.float64))}
    except (TypeError, ValueError, RuntimeError):
        return {"not_numbers": repr(lr_pair)[:200]}


# Task 1.3: SimpleGradientDescent(parameters, lr, weight_decay) -------------------------------

SHAPES = [(), (4,), (3, 2), (2, 2, 2)]
STEPS = 5
DTYPES = (torch.float64, torch.float32)
SGD_CASES = {
    "sgd_optimizer__matches_torch": [dict(lr=0.1), dict(lr=0.01), dict(lr=0.5)],
    "sgd_optimizer__weight_decay": [
        dict(lr=0.1, weight_decay=1e-3),
        dict(lr=0.05, weight_decay=0.2),
        dict(lr=0.3, weight_decay=0.05),
    ],
}
OPTIMIZER_ARGUMENTS = ("lr", "weight_decay")
ZERO_GRAD_SEED = 5
# Two optimizers alive at once, stepped in turn; their settings differ only in what the check is about.
IN_TURN = {
    "sgd_optimizer__matches_torch": (dict(lr=0.1), dict(lr=0.3)),
    "sgd_optimizer__weight_decay": (
        dict(lr=0.1, weight_decay=0.02),
        dict(lr=0.1, weight_decay=0.3),
    ),
}
IN_TURN_SHAPES = ([(3,), (2, 2)], [(5,), (2,)])


def sgd_runs(check: str, device: str) -> list[tuple]:
    """(dtype, kwargs, initial parameters) of each run of ``check`` on ``device``; run i of
    all (cpu first, then cuda) starts from random_parameters(case_seed(i), SHAPES)."""
    cases = list(itertools.product(DTYPES, SGD_CASES[check]))
    first = ("cpu", "cuda").index(device) * len(cases)
    return [
        (dtype, kwargs, random_parameters(case_seed(first + i), SHAPES, dtype, device))
        for i, (dtype, kwargs) in enumerate(cases)
    ]


def in_turn_inputs(check: str) -> list[tuple[dict, list[torch.Tensor]]]:
    """(kwargs, initial parameters) of the two optimizers that ``check`` steps in turn (float64, CPU)."""
    return [
        (kwargs, random_parameters(case_seed(40 + i), shapes))
        for i, (kwargs, shapes) in enumerate(zip(IN_TURN[check], IN_TURN_SHAPES))
    ]


def in_turn_paths(optimizer_cls, inputs) -> list[torch.Tensor]:
    """hw2checks.run_in_turn of ``optimizer_cls(params, **kwargs)`` over copies of the parameters of
    each (kwargs, init) of ``inputs``, for STEPS steps."""
    return run_in_turn(
        [lambda p, kw=kw: optimizer_cls(p, **kw) for kw, _ in inputs],
        [leaf_copies(init) for _, init in inputs],
        STEPS,
    )


def stores_iterator(optimizer) -> bool:
    """Whether the optimizer keeps a one-pass iterator (such as net.parameters()) as an attribute."""
    return any(
        isinstance(value, types.GeneratorType) or type(value).__name__.endswith("iterator")
        for value in vars(optimizer).values()
    )


def _sgd_trajectories(check: str, SimpleGradientDescent) -> dict:
    """{"globals": globals_read, "runs": {device: [{"trajectory": the path of STEPS steps, as
    hw2checks.run_steps gives it} or {"iterator": True}]}, "in_turn": the two paths of in_turn_paths},
    or {"delegated": name} when it constructs a torch.optim optimizer."""
    runs = {}
    try:
        with no_torch_optim():
            for device in devices():
                runs[device] = []
                for _, kwargs, params in sgd_runs(check, device):
                    optimizer = SimpleGradientDescent(iter(params), **kwargs)
                    runs[device].append(
                        {"iterator": True}
                        if stores_iterator(optimizer)
                        else {"trajectory": run_steps(lambda _: optimizer, params, STEPS)}
                    )
            in_turn = in_turn_paths(SimpleGradientDescent, in_turn_inputs(check))
    except Delegated as delegated:
        return {"delegated": str(delegated.args[0])}
    return {
        "globals": globals_read(SimpleGradientDescent, OPTIMIZER_ARGUMENTS),
        "runs": runs,
        "in_turn": in_turn,
    }


def probe_sgd_optimizer__matches_torch(SimpleGradientDescent):
    return _sgd_trajectories("sgd_optimizer__matches_torch", SimpleGradientDescent)


def probe_sgd_optimizer__weight_decay(SimpleGradientDescent):
    return _sgd_trajectories("sgd_optimizer__weight_decay", SimpleGradientDescent)


def probe_sgd_optimizer__zero_grad(SimpleGradientDescent):
    """hw2checks.probing.exercise_zero_grad's data, or {"delegated": name}."""
    init = random_parameters(case_seed(ZERO_GRAD_SEED), SHAPES)
    try:
        with no_torch_optim():
            return exercise_zero_grad(lambda params: SimpleGradientDescent(params, lr=0.1), init)
    except Delegated as delegated:
        return {"delegated": str(delegated.args[0])}
