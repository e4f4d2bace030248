"""Probes of notebook 2 that are not shipped: the answers to Questions 2.A-2.C, and Adam.

(Tasks 2.1 and 2.2 are shipped aspects, probes included, in ``hw2checks.part2``.) Each probe runs
the student's answer on the cases below and returns what it produced; the judge
(``autograder.checks.part2``) rebuilds the same cases from these functions. A call of the
student's code that raises is kept as {"raised": ...} in place of its result, so that the judge
reports it where its case comes, after the cases before it.

Every case is drawn from ``hw2probes.case_seed`` (the defaults below outside grading, a stream
of the run's own while grading), so no table of answers computed in advance matches. Fixed:
the class-state check's parameters (only where a tensor is stored is looked at).
"""

from __future__ import annotations

import contextlib
import functools
import sys
from collections.abc import Callable, Iterator
from typing import Any

import torch

from hw2checks.part1 import (
    exercise_zero_grad,
    leaf_copies,
    quartic_loss,
    random_parameters,
    run_in_turn,
)
from hw2checks.part2 import (
    DTYPES,
    _attempt,
    drive,
    fixed_gradients,
    loss_gradients,
    method_globals,
    state_facts,
    tensor_facts,
    with_l2,
)
from hw2checks.probing import (
    Delegated,
    devices,
    globals_read,
    no_torch_optim,
)
from hw2probes import case_seed

# Task 2.3: ADAMOptimizer ----------------------------------------------------------------------------

SHAPES = [(), (4,), (3, 2), (2, 2, 2)]
ADAM_ARGUMENTS = ("lr", "betas", "beta1", "beta2", "eps", "weight_decay")
STEPS = 6  # matches_torch and weight_decay
MATCH_CASES = [
    dict(lr=0.1),
    dict(lr=0.03, betas=(0.8, 0.99)),
    dict(lr=0.05, betas=(0.5, 0.9), eps=0.1),
]
DECAY_CASES = [
    dict(lr=0.1, weight_decay=0.1),
    dict(lr=0.05, betas=(0.8, 0.95), weight_decay=0.5),
    dict(lr=0.01, weight_decay=0.02, eps=1e-3),
]
# annotated: mypy joins dict[str, float] and dict[str, object] to object
PERSIST_CASES: list[dict[str, Any]] = [dict(lr=0.1), dict(lr=0.02, betas=(0.7, 0.9))]
PERSIST_STEPS = 5
IN_TURN_STEPS = 4
# Two optimizers alive at once, stepped in turn: with settings of their own, which the one made
# first keeps only if nothing is shared through the class.
IN_TURN_CASES = (dict(lr=0.1), dict(lr=0.03, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1))
TWIN_SHAPES = [(2, 3), (2, 3)]  # state kept per parameter, not per shape
ZERO_GRAD_SEED = 600
# Shapes differ, so each state tensor can be matched to its parameter by shape.
LAYOUT = [
    ((3,), torch.float64),
    ((2, 2), torch.float32),
    ((5,), torch.float32),
    ((2, 1, 3), torch.float64),
]
LAYOUT_KWARGS = dict(lr=0.05)
LAYOUT_STEPS = 5


def adam_cases(first_seed: int, cases, device_list) -> dict[str, list[tuple]]:
    """{device: [(dtype, kwargs, initial parameters of SHAPES)]}: each of ``cases`` in float64
    and float32, the parameters drawn from case_seed(first_seed), case_seed(first_seed + 1), ..."""
    n, inputs = 0, {}
    for device in device_list:
        inputs[device] = []
        for dtype in DTYPES:
            for kwargs in cases:
                init = random_parameters(case_seed(first_seed + n), SHAPES, dtype, device)
                inputs[device].append((dtype, kwargs, init))
                n += 1
    return inputs


def without_decay(kwargs: dict) -> dict:
    return {k: v for k, v in kwargs.items() if k != "weight_decay"}


def gradient_sequence(seed, shapes, steps, dtype, device):
    """Gradients that change sign and size from step to step, drawn from case_seed(seed)."""
    g = torch.Generator().manual_seed(case_seed(seed))
    sequence = []
    for step in range(steps):
        sign = -1.0 if step % 3 == 1 else 1.0
        sequence.append(
            [
                (sign * (1 + step) * torch.randn(shape, generator=g, dtype=torch.float64)).to(
                    dtype=dtype, device=device
                )
                for shape in shapes
            ]
        )
    return sequence


_MISSING = object()


@contextlib.contextmanager
def _global_replaced(cls, name: str, replacement) -> Iterator[None]:
    """Inside, the global ``name`` seen by the code of ``cls`` (its methods' module namespaces
    and its module) is ``replacement``; afterwards each namespace gets back what it had."""
    namespaces = {id(space): space for space in method_globals(cls)}
    for klass in getattr(cls, "__mro__", (cls,)):
        module = sys.modules.get(getattr(klass, "__module__", None) or "")
        if klass is not object and module is not None and module.__name__ != "builtins":
            namespaces[id(module.__dict__)] = module.__dict__
    saved = {key: space.get(name, _MISSING) for key, space in namespaces.items()}
    for space in namespaces.values():
        space[name] = replacement
    try:
        yield
    finally:
        for key, space in namespaces.items():
            if saved[key] is _MISSING:
                space.pop(name, None)
            else:
                space[name] = saved[key]


def _adam_probe(probe: Callable) -> Callable:
    """``probe`` run with no torch.optim (constructing one makes the data {"delegated": its
    name}) and with Task 2.2's EMA in place of the student's ema_update."""

    @functools.wraps(probe)
    def run(ADAMOptimizer):
        # The formula stated in Task 2.2's text, given so that Adam is judged apart from
        # ema_update: a wrong ema_update costs only its own checks' points.
        def ema_update(x_t, beta, t, ema_star_old):
            ema_star_t = beta * ema_star_old + (1 - beta) * x_t
            return ema_star_t / (1 - beta**t), ema_star_t

        try:
            with no_torch_optim(), _global_replaced(ADAMOptimizer, "ema_update", ema_update):
                return probe(ADAMOptimizer)
        except Delegated as delegated:
            return {"delegated": str(delegated.args[0])}

    return run


def _run(ADAMOptimizer, kwargs, init, steps, gradients, facts=False) -> dict:
    """{"path": (steps, n)} of the student's optimizer (see drive), with "state" and "params"
    facts after the last step when ``facts``; or {"raised": ...}."""

    def run():
        path, params, optimizer = drive(
            lambda p: ADAMOptimizer(p, **kwargs), init, steps, gradients
        )
        if not facts:
            return {"path": path}
        return {
            "path": path,
            "state": state_facts(optimizer, params),
            "params": [{**tensor_facts(p), "leaf": p.is_leaf} for p in params],
        }

    return _attempt(run)


@_adam_probe
def probe_adam_optimizer__matches_torch(ADAMOptimizer) -> dict:
    """{"globals_read", "devices": {device: per case of adam_cases(100, MATCH_CASES), its run}}."""
    runs = {
        device: [
            _run(ADAMOptimizer, kwargs, init, STEPS, loss_gradients(), facts=True)
            for _, kwargs, init in cases
        ]
        for device, cases in adam_cases(100, MATCH_CASES, devices()).items()
    }
    return {"globals_read": globals_read(ADAMOptimizer, ADAM_ARGUMENTS), "devices": runs}


def _decay_runs(ADAMOptimizer, kwargs, init) -> dict:
    no_decay, wd = without_decay(kwargs), kwargs["weight_decay"]
    return {
        "with_decay": _run(ADAMOptimizer, kwargs, init, STEPS, loss_gradients()),
        "on_l2_loss": _run(ADAMOptimizer, no_decay, init, STEPS, with_l2(loss_gradients(), wd)),
        "without_decay": _run(ADAMOptimizer, no_decay, init, STEPS, loss_gradients()),
    }


@_adam_probe
def probe_adam_optimizer__weight_decay(ADAMOptimizer) -> dict:
    """Per case of adam_cases(700, DECAY_CASES): the run with weight_decay=wd on the loss, with
    weight_decay=0 on the loss + (wd/2)|p|^2, and with weight_decay=0 on the loss."""
    runs = {
        device: [_decay_runs(ADAMOptimizer, kwargs, init) for _, kwargs, init in cases]
        for device, cases in adam_cases(700, DECAY_CASES, devices()).items()
    }
    return {"globals_read": globals_read(ADAMOptimizer, ADAM_ARGUMENTS), "devices": runs}


def _holds_tensors(value) -> bool:
    if isinstance(value, torch.Tensor):
        return True
    if isinstance(value, dict):
        value = list(value.values())
    return isinstance(value, (list, tuple)) and any(_holds_tensors(item) for item in value)


def _tensors_on_the_class(optimizer) -> list[str]:
    """Each class attribute holding tensors (state every object would share), as "Class.name"."""
    return [
        f"{klass.__name__}.{name}"
        for klass in type(optimizer).__mro__
        if klass is not object
        for name, value in vars(klass).items()
        if not name.startswith("__") and _holds_tensors(value)
    ]


def _class_state(ADAMOptimizer) -> list[str]:
    """Class attributes holding tensors after constructing one optimizer, or else after its first step."""
    params = random_parameters(199, [(3,), (2,)])
    optimizer = ADAMOptimizer(iter(params), lr=0.1)
    found = _tensors_on_the_class(optimizer)
    if found:
        return found
    for p, grad in zip(params, torch.autograd.grad(quartic_loss(params), params)):
        p.grad = grad
    try:
        optimizer.step()
    except Exception:  # shared state can make step() fail; the class attributes say why
        found = _tensors_on_the_class(optimizer)
        if found:
            return found
        raise
    return _tensors_on_the_class(optimizer)


def _persist_runs(ADAMOptimizer, kwargs, init, sequence) -> dict:
    """Runs on gradients set by hand: as given, with only the first changed, and the last
    parameter alone."""
    changed = [[-3 * g for g in sequence[0]]] + sequence[1:]
    last_alone = [grads[-1:] for grads in sequence]
    run = functools.partial(_run, ADAMOptimizer, kwargs)
    return {
        "given": run(init, PERSIST_STEPS, fixed_gradients(sequence)),
        "first_changed": run(init, PERSIST_STEPS, fixed_gradients(changed)),
        "last_alone": run(init[-1:], PERSIST_STEPS, fixed_gradients(last_alone)),
    }


def _in_turn(ADAMOptimizer, device) -> list[dict]:
    """Two optimizers (IN_TURN_CASES) made one after the other, then stepped in turn on the loss:
    per optimizer, its parameters after IN_TURN_STEPS steps ("in_turn") and the run of the same
    parameters alone ("alone")."""
    inits = [
        random_parameters(case_seed(400), [(3,), (2,)], device=device),
        random_parameters(case_seed(401), [(5,)], device=device),
    ]
    paths = run_in_turn(
        [lambda p, kw=kw: ADAMOptimizer(p, **kw) for kw in IN_TURN_CASES],
        [leaf_copies(init) for init in inits],
        IN_TURN_STEPS,
    )
    return [
        {
            "in_turn": path[-1],
            "alone": _run(ADAMOptimizer, kwargs, init, IN_TURN_STEPS, loss_gradients()),
        }
        for init, path, kwargs in zip(inits, paths, IN_TURN_CASES)
    ]


def _twins(ADAMOptimizer, device) -> dict:
    """Two parameters of the same shape in one optimizer ("together"), and each alone ("alone"),
    on gradients set by hand."""
    init = random_parameters(case_seed(450), TWIN_SHAPES, device=device)
    sequence = gradient_sequence(451, TWIN_SHAPES, PERSIST_STEPS, torch.float64, device)
    run = functools.partial(_run, ADAMOptimizer, PERSIST_CASES[0])
    return {
        "together": run(init, PERSIST_STEPS, fixed_gradients(sequence)),
        "alone": [
            run(
                init[i : i + 1],
                PERSIST_STEPS,
                fixed_gradients([grads[i : i + 1] for grads in sequence]),
            )
            for i in range(len(init))
        ],
    }


@_adam_probe
def probe_adam_optimizer__state_persists(ADAMOptimizer) -> dict:
    """{"class_state": class attributes holding tensors; when none, "devices": {device:
    {"runs": per PERSIST_CASES, _persist_runs, "twins": _twins, "in_turn": _in_turn}}}."""
    shared = _class_state(ADAMOptimizer)
    if shared:
        return {"class_state": shared}
    n, runs = 0, {}
    for device in devices():
        cases = []
        for kwargs in PERSIST_CASES:
            init = random_parameters(case_seed(200 + n), SHAPES, device=device)
            sequence = gradient_sequence(300 + n, SHAPES, PERSIST_STEPS, torch.float64, device)
            cases.append(_persist_runs(ADAMOptimizer, kwargs, init, sequence))
            n += 1
        runs[device] = {
            "runs": cases,
            "twins": _twins(ADAMOptimizer, device),
            "in_turn": _in_turn(ADAMOptimizer, device),
        }
        n += 1
    return {"class_state": [], "devices": runs}


@_adam_probe
def probe_adam_optimizer__devices_dtypes(ADAMOptimizer) -> dict:
    """{device: {"mixed": the run of one optimizer over the LAYOUT parameters, with facts,
    "float64_cpu": the same parameters as float64 on the CPU}}."""
    runs = {}
    for n, device in enumerate(devices()):
        g = torch.Generator().manual_seed(case_seed(500 + n))
        init = [
            torch.randn(shape, generator=g, dtype=torch.float64).to(dtype=dtype, device=device)
            for shape, dtype in LAYOUT
        ]
        run = functools.partial(_run, ADAMOptimizer, LAYOUT_KWARGS)
        runs[device] = {
            "mixed": run(init, LAYOUT_STEPS, loss_gradients(), facts=True),
            "float64_cpu": run([p.double().cpu() for p in init], LAYOUT_STEPS, loss_gradients()),
        }
    return runs


@_adam_probe
def probe_adam_optimizer__zero_grad(ADAMOptimizer) -> dict:
    """hw2checks.probing.exercise_zero_grad's data."""
    return exercise_zero_grad(
        lambda params: ADAMOptimizer(params, lr=0.1),
        random_parameters(case_seed(ZERO_GRAD_SEED), SHAPES),
    )
