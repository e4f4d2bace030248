"""Judges of notebook 1: gradient descent by hand, per-coordinate rates, SGD with weight decay.

The probes (``hw2probes.part1``) run the student's answers on their cases; these judges
rebuild the same cases, compute the reference (autograd, torch.optim.SGD) and compare.
"""

from __future__ import annotations

import torch

from autograder.aspects import aspect, attributes_of
from autograder.checks.common import passed, zero_grad_verdict
from hw2checks.part1 import (
    SETTINGS_ON_SELF_HINT,
    leaf_copies,
    quartic_loss,
    run_steps,
    weight_decay_mistakes,
)
from hw2checks.probing import devices
from hw2checks.toolkit import (
    delegation_message,
    expect_data,
    expect_path,
    fail,
    global_variable_hint,
    tolerance,
)
from hw2probes import part1 as probes
from hw2probes.part1 import (
    OPTIMIZER_ARGUMENTS,
    SHAPES,
    STEPS,
    in_turn_inputs,
    in_turn_paths,
    sgd_runs,
)

# a hidden test cell calls a shipped aspect (hw2checks.part1) through this module too
__getattr__ = attributes_of("part1")

GENERATOR_HINT = (
    "your optimizer keeps the parameters as the one-pass iterator it was given "
    "(net.parameters() is a generator: the second pass over it finds nothing); store "
    "self.parameters = list(parameters) in __init__"
)
SETTINGS_SHARED = (
    "both optimizers stepped with the settings of the one made last: the settings are "
    "stored on the class (SimpleGradientDescent.lr = lr, or a class attribute), which every "
    "SimpleGradientDescent shares; store them on self (self.lr = lr)"
)


# Task 1.3 -----------------------------------------------------------------------------------


def refuse_delegation(test_id: str, data) -> None:
    expect_data(test_id, isinstance(data, dict), "expected a dict")
    if "delegated" in data:
        expect_data(test_id, isinstance(data["delegated"], str), "the delegated optimizer's name")
        raise AssertionError(delegation_message(test_id, data["delegated"][:80]))


def _momentum_mistake(kwargs, init, got: torch.Tensor) -> dict:
    """{description: path} for momentum, when ``got`` (STEPS, n) steps as p_k - p_{k-1} =
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
    for _ in range(STEPS):
        move = a * move + b * _plain_step(kwargs, init, point)
        point = point + move
        path.append(point)
    return {
        f"momentum: each step adds {a:.3g} times the previous step (a velocity or buffer kept "
        "from step to step); SimpleGradientDescent is plain gradient descent, each step is "
        "-lr * (p.grad + weight_decay * p) from this step's gradient alone": torch.stack(path)
    }


def _plain_step(kwargs, init, point: torch.Tensor) -> torch.Tensor:
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


def _trajectory(test_id, value, init) -> torch.Tensor:
    """A path of the probe's (as hw2checks.run_steps gives it), (STEPS, n) for parameters like ``init``."""
    n = sum(p.numel() for p in init)
    expect_data(
        test_id,
        isinstance(value, torch.Tensor)
        and value.dtype == torch.float64
        and value.shape == (STEPS, n),
        f"a trajectory of {STEPS} steps of {n} values",
    )
    return value


def _compare_in_turn(test_id, data, hint) -> None:
    """The two paths of in_turn_paths against torch.optim.SGD's."""
    got = data.get("in_turn")
    inputs = in_turn_inputs(test_id)
    expect_data(
        test_id,
        isinstance(got, list) and len(got) == 2,
        "the trajectories of two optimizers stepped in turn",
    )
    got = [_trajectory(test_id, trajectory, init) for trajectory, (_, init) in zip(got, inputs)]
    expected = in_turn_paths(torch.optim.SGD, inputs)
    (first, _), (last, _) = inputs
    for index, ((_kwargs, init), want, have) in enumerate(zip(inputs, expected, got)):
        case = (
            f"two SimpleGradientDescent alive at once, {first} and {last}, stepped in turn: the "
            f"{('first', 'second')[index]}, with parameters of shapes {[tuple(p.shape) for p in init]}"
        )
        expect_path(
            test_id,
            case,
            want,
            have,
            tolerance(want),
            f"{SETTINGS_ON_SELF_HINT}; {hint}",
            lambda: {SETTINGS_SHARED: in_turn_paths(torch.optim.SGD, [(last, init)] * 2)[0]},
        )


def _compare_with_sgd(test_id, data, hint, mistakes_for=None) -> str:
    """Each run's trajectory (from the probe) against torch.optim.SGD's from the same start, and
    two optimizers stepped in turn."""
    refuse_delegation(test_id, data)
    names, runs = data.get("globals"), data.get("runs")
    expect_data(
        test_id,
        isinstance(names, list)
        and set(names) <= set(OPTIMIZER_ARGUMENTS)
        and isinstance(runs, dict),
        "expected the globals read and the runs",
    )
    leaked = global_variable_hint(names)
    n = 0
    for device in devices():
        got_runs = runs.get(device)
        expect_data(
            test_id,
            isinstance(got_runs, list) and all(isinstance(run, dict) for run in got_runs),
            f"no runs on {device}",
        )
        cases = sgd_runs(test_id, device)
        expect_data(test_id, len(got_runs) == len(cases), f"{len(cases)} runs on {device}")
        for (dtype, kwargs, init), run in zip(cases, got_runs):
            if run.get("iterator") is True:
                fail(test_id, "__init__", "the optimizer stores an iterator", GENERATOR_HINT)
            got = _trajectory(test_id, run.get("trajectory"), init)
            expected = run_steps(lambda p: torch.optim.SGD(p, **kwargs), leaf_copies(init), STEPS)

            def mistakes():
                return (
                    {}
                    if leaked
                    else {
                        **(mistakes_for(kwargs, init) if mistakes_for else {}),
                        **_momentum_mistake(kwargs, init, got),
                    }
                )

            case = f"{kwargs}, {device}, {dtype}, 4 parameter tensors of shapes {SHAPES}"
            expect_path(
                test_id, case, expected, got, tolerance(expected, dtype), leaked or hint, mistakes
            )
            n += 1
    _compare_in_turn(test_id, data, leaked or hint)
    return passed(test_id, n + 1)


@aspect(probe=probes.probe_sgd_optimizer__matches_torch)
def check_sgd_optimizer__matches_torch(data) -> str:
    return _compare_with_sgd(
        "sgd_optimizer__matches_torch",
        data,
        "step() updates every stored parameter in place: p -= lr * p.grad",
    )


@aspect(probe=probes.probe_sgd_optimizer__weight_decay)
def check_sgd_optimizer__weight_decay(data) -> str:
    return _compare_with_sgd(
        "sgd_optimizer__weight_decay",
        data,
        "with L = L_obj + (wd/2)|p|^2 the gradient is g + wd*p, and the step is lr times it",
        lambda kwargs, init: weight_decay_mistakes(kwargs, init, STEPS),
    )


@aspect(probe=probes.probe_sgd_optimizer__zero_grad)
def check_sgd_optimizer__zero_grad(data) -> str:
    """zero_grad() raises nothing before or after backward(), leaves no gradient, changes nothing else."""
    test_id = "sgd_optimizer__zero_grad"
    refuse_delegation(test_id, data)
    return zero_grad_verdict(test_id, data, len(SHAPES), "the parameters' values and the settings")
