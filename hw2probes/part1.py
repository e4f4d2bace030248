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
    exercise_zero_grad,
    leaf_copies,
    random_parameters,
    run_in_turn,
    run_steps,
)
from hw2checks.probing import (
    Delegated,
    devices,
    globals_read,
    no_torch_optim,
)
from hw2probes import case_seed

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
