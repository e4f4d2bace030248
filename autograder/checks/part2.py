"""Judges of notebook 2: gradient mean and RMS, the answers read off them, the EMA, Adam.

Tasks 2.1 and 2.2 are shipped aspects (``hw2checks.part2``: probe and comparison); what the grader
adds to them is attached here with ``extend``: the formulas themselves (the tasks' answers) and the
EMA mistakes simulated from them. The answers to 2.A-2.C and Adam are still judged here, on the
data of the probes in ``hw2probes.part2``: these judges rebuild the same cases, compute the
reference (the formulas, torch.optim.Adam) and compare. Adam's probes run the student's
ADAMOptimizer with Task 2.2's EMA in place of the student's ``ema_update``, so that a wrong EMA
costs only the EMA's points.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import torch

from autograder.aspects import aspect, attributes_of, extend
from autograder.checks.common import passed, zero_grad_verdict
from hw2checks import part2
from hw2checks.part1 import leaf_copies
from hw2checks.part2 import (
    ADAM_DECAY_HINT,
    ADAM_HINT,
    ANSWER_TOLERANCE,
    CLASS_STATE_HINT,
    DECAY_IGNORED,
    EPS_INSIDE_SQRT,
    NO_BIAS_CORRECTION,
    NO_SQRT,
    OWN_STATE_HINT,
    PER_PARAMETER_MISTAKE,
    PERSIST_MISTAKE,
    STATE_HINT,
    TWIN_HINT,
    GradientSource,
    bowl_gradients,
    by_device,
    drive,
    field,
    items,
    loss_gradients,
    not_raised,
    on_device,
    rms_mistakes,
    state_mismatch,
    tensor,
)
from hw2checks.probing import devices
from hw2checks.toolkit import (
    delegation_message,
    expect_close,
    expect_path,
    fail,
    global_variable_hint,
    malformed,
    max_diff,
    mistake_hint,
    show_pair,
    tolerance,
)
from hw2probes import part2 as probes
from hw2probes.part2 import (
    DECAY_CASES,
    IN_TURN_CASES,
    IN_TURN_STEPS,
    LAYOUT,
    LAYOUT_STEPS,
    MATCH_CASES,
    PERSIST_CASES,
    PERSIST_STEPS,
    SHAPES,
    STEPS,
    TWIN_SHAPES,
    adam_cases,
    without_decay,
)

# a hidden test cell calls a shipped aspect (hw2checks.part2) through this module too
__getattr__ = attributes_of("part2")

NAN_HINT = (
    "your parameters became NaN or infinite: is t 0 in the first step? t counts from 1 "
    "(increment it at the start of step()), so 1 - beta^t is never 0"
)
#: What the probe says of each parameter and state tensor (hw2checks.tensor_facts, with "where" or
#: "leaf"), by type.
FACT_TYPES = {"where": str, "dtype": str, "device": str, "shape": list, "leaf": bool}


# Task 2.1: gradient_stats ------------------------------------------------------------------


# gradient_stats written out is Task 2.1's answer: the grader's reference, never shipped.
def reference_gradient_stats(grads: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-coordinate mean and root-mean-square over the steps (dim 0) of ``grads`` (T, d)."""
    return grads.mean(dim=0), grads.pow(2).mean(dim=0).sqrt()


check_grad_stats__values = extend(
    part2.check_grad_stats__values, reference=reference_gradient_stats
)


# Questions 2.A and 2.B ------------------------------------------------------------------------


def _true_means(test_id: str, got: torch.Tensor) -> int:
    """Question 2.A's numbers against the true means (the answer: never shipped)."""
    grads = bowl_gradients()
    mean, rms = reference_gradient_stats(grads)
    expect_close(
        test_id,
        "mean gradient over 50 steps on the bowl",
        mean,
        got,
        ANSWER_TOLERANCE,
        "run the Task 2.1 cell and copy the two means it prints, in the order x[0], x[1]",
        mistakes={
            "the RMS values instead of the means": rms,
            "the means with the wrong sign": -mean,
            "the means of |g|": grads.abs().mean(dim=0),
            "the two coordinates swapped": mean.flip(0),
        },
    )
    return 1


def _true_rms(test_id: str, got: torch.Tensor) -> int:
    """Question 2.B's numbers against the true RMS values (the answer: never shipped)."""
    grads = bowl_gradients()
    mean, rms = reference_gradient_stats(grads)
    expect_close(
        test_id,
        "RMS gradient over 50 steps on the bowl",
        rms,
        got,
        ANSWER_TOLERANCE,
        "run the Task 2.1 cell (with a gradient_stats that passes its checks) and copy the "
        "two RMS values it prints, in the order x[0], x[1]",
        mistakes={
            **rms_mistakes(grads),
            "the means instead of the RMS values": mean,
            "the two coordinates swapped": rms.flip(0),
        },
    )
    return 1


check_q_mean_values__numbers = extend(part2.check_q_mean_values__numbers, answer=_true_means)
check_q_rms_values__numbers = extend(part2.check_q_rms_values__numbers, answer=_true_rms)


# Question 2.C -------------------------------------------------------------------------------

#: The right option of each answer variable, and why (the answers: never shipped).
RIGHT_CHOICES = {
    "never_smaller": (
        "RMS",
        "the square of the mean is at most the mean of the squares (their difference is the "
        "variance, never negative), so |mean| <= RMS, with equality only when every g is the same",
    ),
    "typical_size": (
        "RMS",
        "positive and negative values cancel in the mean (a gradient alternating +5, -5 has mean "
        "0); squaring removes the sign, so the RMS measures how large the values are",
    ),
    "consistent_sign": (
        "close",
        "when every g has the same sign nothing cancels: |mean| is close to the RMS (equal when "
        "all g are equal)",
    ),
    "sign_changes": (
        "much smaller",
        "values of opposite sign cancel in the mean but not in the RMS, so |mean| is much "
        "smaller than the RMS (look at x[0] on the bowl)",
    ),
}


def _right_choice(test_id: str, name: str, answer: str) -> int:
    correct, why = RIGHT_CHOICES[name]
    if answer.lower() != correct.lower():
        fail(test_id, name, f"{answer!r} is not right", why)
    return 1


check_q_mean_vs_rms__never_smaller = extend(
    part2.check_q_mean_vs_rms__never_smaller, answer=_right_choice
)
check_q_mean_vs_rms__typical_size = extend(
    part2.check_q_mean_vs_rms__typical_size, answer=_right_choice
)
check_q_mean_vs_rms__consistent_sign = extend(
    part2.check_q_mean_vs_rms__consistent_sign, answer=_right_choice
)
check_q_mean_vs_rms__sign_changes = extend(
    part2.check_q_mean_vs_rms__sign_changes, answer=_right_choice
)


# Task 2.2: ema_update ----------------------------------------------------------------------------


# The grader's extras of the EMA's aspects: the formula itself is Task 2.2's answer, and each
# mistake below is computed from it, so none of this may ship.


def reference_ema_update(
    x_t: float | torch.Tensor, beta: float, t: int, ema_star_old: float | torch.Tensor
) -> tuple[float | torch.Tensor, float | torch.Tensor]:
    """EMA*_t = beta EMA*_{t-1} + (1 - beta) x_t and EMA_t = EMA*_t / (1 - beta^t), t from 1."""
    ema_star_t = beta * ema_star_old + (1 - beta) * x_t
    return ema_star_t / (1 - beta**t), ema_star_t


def _ema_state_mistakes(x: float, beta: float, t: int, old: float) -> dict[str, float]:
    return {
        "the weights are swapped: EMA*_t = (1 - beta) EMA*_{t-1} + beta x_t": (1 - beta) * old
        + beta * x,
        "the (1 - beta) factor is missing: EMA*_t = beta EMA*_{t-1} + x_t": beta * old + x,
        "the bias-corrected EMA is returned as the new EMA* (keep EMA* uncorrected; only the "
        "returned EMA is divided by 1 - beta^t)": (beta * old + (1 - beta) * x) / (1 - beta**t),
    }


def _ema_value_mistakes(x: float, beta: float, t: int, old: float) -> dict[str, float]:
    star = beta * old + (1 - beta) * x
    return {
        "no bias correction: the EMA is returned as EMA* itself": star,
        "bias correction with t counted from 0 (divides by 1 - beta^(t+1)); t counts from 1": star
        / (1 - beta ** (t + 1)),
        "the bias correction multiplies by 1 - beta^t instead of dividing": star * (1 - beta**t),
        "the bias correction divides by (1 - beta)^t instead of 1 - beta^t": star / (1 - beta) ** t,
    }


check_ema_update__formula = extend(
    part2.check_ema_update__formula,
    reference=reference_ema_update,
    mistakes=_ema_state_mistakes,
)
check_ema_update__bias_correction = extend(
    part2.check_ema_update__bias_correction,
    reference=reference_ema_update,
    mistakes=_ema_value_mistakes,
)
check_ema_update__tensors_unchanged = extend(
    part2.check_ema_update__tensors_unchanged, reference=reference_ema_update
)


# Task 2.3: ADAMOptimizer ----------------------------------------------------------------------------

# Each aspect of Adam is graded on its own. matches_torch compares with torch.optim.Adam and owns
# the update formula. The other aspects compare the student's optimizer with itself, so a mistake
# in the formula does not cost them too: weight_decay, "with weight_decay=wd on L" against "with
# weight_decay=0 on L + (wd/2)|p|^2"; state_persists, runs that differ only in earlier gradients
# or in other parameters (one of the same shape) or optimizers alive at the same time;
# devices_dtypes, float32 and another device against float64 on the CPU; zero_grad, steps with
# zero_grad() between them against steps with the gradients cleared by hand.


def simulate_adam(
    init: Sequence[torch.Tensor],
    steps: int,
    gradients: GradientSource,
    lr: float = 0.1,
    betas: tuple[float, float] = (0.9, 0.999),
    eps: float = 1e-8,
    weight_decay: float = 0.0,
    bias_correction: bool = True,
    eps_inside: bool = False,
    sqrt: bool = True,
    persist: bool = True,
    timestep: str = "shared",
    decoupled_decay: float = 0.0,
    outside_decay: float = 0.0,
) -> torch.Tensor:
    """Adam as written in the notebook, or with one of the classic mistakes (the flags); the path
    as ``drive`` returns it. ``decoupled_decay`` shrinks p by 1 - lr*decay before the update
    (AdamW); ``outside_decay`` subtracts decay * p (p before the step) after it."""
    beta1, beta2 = betas
    params = leaf_copies(init)
    m_star = [torch.zeros_like(p) for p in params]
    v_star = [torch.zeros_like(p) for p in params]
    t, path = 0, []
    for step in range(steps):
        grads = gradients(step, params)
        if timestep == "shared":
            t += 1
        with torch.no_grad():
            for i, (p, grad) in enumerate(zip(params, grads)):
                if timestep == "per_parameter":
                    t += 1
                tt = 1 if timestep == "fixed" else t
                before = p.clone()
                if decoupled_decay:
                    p -= lr * decoupled_decay * p
                g = grad + weight_decay * p
                if not persist:
                    m_star[i], v_star[i] = torch.zeros_like(p), torch.zeros_like(p)
                m_star[i] = beta1 * m_star[i] + (1 - beta1) * g
                v_star[i] = beta2 * v_star[i] + (1 - beta2) * g * g
                m = m_star[i] / (1 - beta1**tt) if bias_correction else m_star[i]
                v = v_star[i] / (1 - beta2**tt) if bias_correction else v_star[i]
                denominator = (v + eps).sqrt() if eps_inside else (v.sqrt() if sqrt else v) + eps
                p -= lr * m / denominator
                if outside_decay:
                    p -= outside_decay * before
        path.append(torch.cat([p.detach().double().cpu().flatten() for p in params]))
    return torch.stack(path)


def adam_mistakes(
    init: Sequence[torch.Tensor], steps: int, gradients: GradientSource, kwargs: Mapping[str, Any]
) -> dict[str, torch.Tensor]:
    """What each classic wrong Adam produces on this case, by description."""
    variants: dict[str, dict[str, Any]] = {
        NO_BIAS_CORRECTION: dict(bias_correction=False),
        EPS_INSIDE_SQRT: dict(eps_inside=True),
        NO_SQRT: dict(sqrt=False),
        PER_PARAMETER_MISTAKE: dict(timestep="per_parameter"),
        "t never advances past 1 (self.t must grow by one in every step())": dict(timestep="fixed"),
        PERSIST_MISTAKE: dict(persist=False),
    }
    return {
        name: simulate_adam(init, steps, gradients, **kwargs, **flags)
        for name, flags in variants.items()
    }


def _describe(kwargs: Mapping[str, object]) -> str:
    return ", ".join(f"{k}={v}" for k, v in kwargs.items()) or "defaults"


def finite(test_id: str, case: str, *paths: torch.Tensor) -> None:
    for path in paths:
        if not bool(torch.isfinite(path).all()):
            fail(test_id, case, "the parameters became NaN or infinite", NAN_HINT)


def not_delegated(test_id: str, data: object) -> None:
    if isinstance(data, dict) and "delegated" in data:
        raise AssertionError(delegation_message(test_id, str(data["delegated"])))


def leaked_globals(test_id: str, data: object) -> str | None:
    """The hint naming the global variables the class reads instead of its constructor's values, or None."""
    names = field(test_id, data, "globals_read")
    if not isinstance(names, (list, tuple)) or not all(isinstance(name, str) for name in names):
        malformed(test_id, "globals_read")
    return global_variable_hint(list(names))


def path_of(test_id: str, case: str, run: object, steps: int) -> torch.Tensor:
    """The parameters after each step of one run of the student's optimizer, (steps, n) float64.
    A run that raised fails here; one that failed on a device says where state must live."""
    if isinstance(run, dict) and "raised" in run:
        first = (str(run["raised"]).splitlines() or [""])[0]
        if "device" in first.lower():
            fail(test_id, case, f"step() failed: {first.partition(': ')[2]}", STATE_HINT)
        not_raised(test_id, case, run)
    path = tensor(test_id, field(test_id, run, "path"), f"{case}: the path")
    if path.dim() != 2 or path.shape[0] != steps:
        malformed(test_id, f"{case}: the path has shape {tuple(path.shape)}")
    return path.double()


def facts(test_id: str, run: object, key: str, names: tuple[str, ...]) -> list[dict[str, Any]]:
    """The probe's facts about the parameters or the state tensors of a run."""
    found = field(test_id, run, key)
    if not isinstance(found, list) or not all(
        isinstance(fact, dict)
        and all(isinstance(fact.get(name), FACT_TYPES[name]) for name in names)
        for fact in found
    ):
        malformed(test_id, key)
    return found


def run_state_mismatch(test_id: str, run: object) -> str | None:
    """hw2checks.state_mismatch of the probe's facts about a run."""
    return state_mismatch(
        facts(test_id, run, "state", ("where", "dtype", "device", "shape")),
        facts(test_id, run, "params", ("shape", "dtype", "device", "leaf")),
    )


@aspect(probe=probes.probe_adam_optimizer__matches_torch)
def check_adam_optimizer__matches_torch(data: Any) -> str:
    test_id = "adam_optimizer__matches_torch"
    not_delegated(test_id, data)
    leaked = leaked_globals(test_id, data)
    n = 0
    runs = field(test_id, data, "devices")
    for device, (dtype, kwargs, init), run in by_device(
        test_id, runs, adam_cases(100, MATCH_CASES, devices())
    ):
        case = f"{_describe(kwargs)}, {device}, {dtype}, parameters of shapes {SHAPES}"
        got = path_of(test_id, case, run, STEPS)
        expected, _, _ = drive(
            lambda p: torch.optim.Adam(p, **kwargs), init, STEPS, loss_gradients()
        )
        mismatch = run_state_mismatch(test_id, run)
        expect_path(
            test_id,
            case,
            expected,
            got,
            tolerance(expected, dtype),
            leaked or (f"{mismatch}: {STATE_HINT}" if mismatch else ADAM_HINT),
            None if leaked else lambda: adam_mistakes(init, STEPS, loss_gradients(), kwargs),
            nonfinite_hint=NAN_HINT,
        )
        n += 1
    return passed(test_id, n)


@aspect(probe=probes.probe_adam_optimizer__weight_decay)
def check_adam_optimizer__weight_decay(data: Any) -> str:
    test_id = "adam_optimizer__weight_decay"
    hint = ADAM_DECAY_HINT
    not_delegated(test_id, data)
    leaked = leaked_globals(test_id, data)
    n = 0
    runs = field(test_id, data, "devices")
    for device, (dtype, kwargs, init), run in by_device(
        test_id, runs, adam_cases(700, DECAY_CASES, devices())
    ):
        case = f"{_describe(kwargs)}, {device}, {dtype}, parameters of shapes {SHAPES}"
        wd = kwargs["weight_decay"]
        no_decay = without_decay(kwargs)
        got = path_of(test_id, case, field(test_id, run, "with_decay"), STEPS)
        coupled = path_of(test_id, case, field(test_id, run, "on_l2_loss"), STEPS)
        finite(test_id, case, got, coupled)
        own_without_decay = path_of(test_id, case, field(test_id, run, "without_decay"), STEPS)

        def mistakes() -> dict[str, torch.Tensor]:
            return {
                DECAY_IGNORED: own_without_decay,
                "decoupled (AdamW-style) weight decay p -= lr*wd*p; torch.optim.Adam couples it: "
                "g = p.grad + wd*p": simulate_adam(
                    init, STEPS, loss_gradients(), **no_decay, decoupled_decay=wd
                ),
                "weight decay applied outside the update (p -= lr*m_hat/(sqrt(v_hat)+eps) + wd*p); "
                "torch.optim.Adam adds wd*p to the gradient": simulate_adam(
                    init, STEPS, loss_gradients(), **no_decay, outside_decay=wd
                ),
            }

        expect_path(
            test_id,
            case,
            coupled,
            got,
            tolerance(coupled, dtype),
            leaked or hint,
            None if leaked else mistakes,
            what=f"expected what your ADAMOptimizer(weight_decay=0) does on the loss "
            f"+ ({wd}/2)|p|^2,",
            nonfinite_hint=NAN_HINT,
        )
        n += 1
    return passed(test_id, n)


def _persists(test_id: str, device: str, kwargs: Mapping[str, object], runs: object) -> None:
    """The moments remember earlier gradients, and each parameter has its own state."""
    where = f"{_describe(kwargs)}, {device}"
    paths: dict[str, torch.Tensor] = {}
    for key, label in (
        ("given", "gradients set by hand"),
        ("first_changed", "the same gradients but the first"),
        ("last_alone", "the last parameter alone"),
    ):
        paths[key] = path_of(test_id, f"{where}, {label}", field(test_id, runs, key), PERSIST_STEPS)
        finite(test_id, f"{where}, {label}", paths[key])
    # Change only the first gradient, and the later steps must change too.
    a, b = paths["given"], paths["first_changed"]
    for step in range(1, PERSIST_STEPS):
        if max_diff(a[step] - a[step - 1], b[step] - b[step - 1]) < 1e-7:
            fail(
                test_id,
                f"{where}, two runs whose gradients differ only at step 1",
                f"step {step + 1} moved the parameters by the same amount in both runs, so "
                "the earlier gradient was forgotten",
                mistake_hint(PERSIST_MISTAKE),
            )
    # One t for all parameters, and each parameter's own state: the last parameter follows the
    # same path alone as among the others.
    size = math.prod(SHAPES[-1])
    alone = paths["last_alone"]
    expect_path(
        test_id,
        f"{where}, the last of {len(SHAPES)} parameters, compared with "
        "the same parameter alone in an ADAMOptimizer",
        alone,
        a[:, -size:],
        tolerance(alone),
        OWN_STATE_HINT,
        what="expected (your result for the parameter alone)",
    )


def _twins(test_id: str, device: str, runs: object) -> None:
    """Two parameters of the same shape follow, side by side, the paths each follows alone."""
    where = (
        f"{_describe(PERSIST_CASES[0])}, {device}, two parameters of shape {TWIN_SHAPES[0]} in one "
        "ADAMOptimizer"
    )
    together = path_of(test_id, where, field(test_id, runs, "together"), PERSIST_STEPS)
    alone = [
        path_of(test_id, f"{where}, one alone", run, PERSIST_STEPS)
        for run in items(test_id, field(test_id, runs, "alone"), len(TWIN_SHAPES), "alone")
    ]
    size = math.prod(TWIN_SHAPES[0])
    for index, own in enumerate(alone):
        expect_path(
            test_id,
            f"{where}: the {('first', 'second')[index]}, compared with it alone",
            own,
            together[:, index * size : (index + 1) * size],
            tolerance(own),
            TWIN_HINT,
            what="expected (your result for the parameter alone)",
        )


def _in_turn(test_id: str, device: str, optimizers: object) -> None:
    """Two optimizers stepped in turn behave as each does alone."""
    for name, entry in zip(
        ("first", "second"), items(test_id, optimizers, 2, f"in_turn on {device}")
    ):
        alone = path_of(
            test_id, f"{device}: one ADAMOptimizer", field(test_id, entry, "alone"), IN_TURN_STEPS
        )[-1]
        got = tensor(test_id, field(test_id, entry, "in_turn"), f"in_turn on {device}").double()
        if max_diff(alone, got) > tolerance(alone):
            printed = show_pair(alone, got)
            fail(
                test_id,
                f"{device}: two ADAMOptimizer objects alive at once, made with "
                f"{_describe(IN_TURN_CASES[0])} and {_describe(IN_TURN_CASES[1])}, then stepped in turn: "
                f"the {name} one after {IN_TURN_STEPS} steps",
                f"expected {printed[0]} (what it does alone), got {printed[1]}",
                CLASS_STATE_HINT,
            )


@aspect(probe=probes.probe_adam_optimizer__state_persists)
def check_adam_optimizer__state_persists(data: Any) -> str:
    test_id = "adam_optimizer__state_persists"
    not_delegated(test_id, data)
    shared = field(test_id, data, "class_state")
    if not isinstance(shared, list) or not all(isinstance(name, str) for name in shared):
        malformed(test_id, "class_state")
    if shared:
        fail(
            test_id,
            f"class attribute {shared[0]}",
            "holds tensors that every ADAMOptimizer shares",
            CLASS_STATE_HINT,
        )
    n = 0
    for device in devices():
        runs = on_device(test_id, field(test_id, data, "devices"), device)
        cases = items(
            test_id, field(test_id, runs, "runs"), len(PERSIST_CASES), f"the runs on {device}"
        )
        for kwargs, case_runs in zip(PERSIST_CASES, cases):
            _persists(test_id, device, kwargs, case_runs)
            n += 1
        _twins(test_id, device, field(test_id, runs, "twins"))
        _in_turn(test_id, device, field(test_id, runs, "in_turn"))
        n += 2
    return passed(test_id, n)


@aspect(probe=probes.probe_adam_optimizer__devices_dtypes)
def check_adam_optimizer__devices_dtypes(data: Any) -> str:
    test_id = "adam_optimizer__devices_dtypes"
    not_delegated(test_id, data)
    n = 0
    for device in devices():
        runs = on_device(test_id, data, device)
        case = f"one optimizer over float64 and float32 parameters on {device}"
        mixed = field(test_id, runs, "mixed")
        got = path_of(test_id, case, mixed, LAYOUT_STEPS)
        params = items(
            test_id,
            facts(test_id, mixed, "params", ("shape", "dtype", "device", "leaf")),
            len(LAYOUT),
            "params",
        )
        for p, (shape, dtype) in zip(params, LAYOUT):
            if p["dtype"] != str(dtype) or p["device"].split(":")[0] != device or not p["leaf"]:
                fail(
                    test_id,
                    case,
                    f"a parameter of shape {shape} became {p['dtype']} on {p['device']} "
                    f"(leaf: {p['leaf']}); expected a {dtype} leaf on {device}",
                    "update each parameter in place (p -= ...) under torch.no_grad()",
                )
        mismatch = run_state_mismatch(test_id, mixed)
        if mismatch:
            fail(test_id, case, mismatch, STATE_HINT)
        # The same parameters in float64 on the CPU, through the same code, give the same path.
        reference = path_of(
            test_id,
            f"{case} (as float64 on the CPU)",
            field(test_id, runs, "float64_cpu"),
            LAYOUT_STEPS,
        )
        finite(test_id, case, got, reference)
        offsets = [0]
        for shape, _ in LAYOUT:
            offsets.append(offsets[-1] + math.prod(shape))
        for index, (shape, dtype) in enumerate(LAYOUT):
            part = slice(offsets[index], offsets[index + 1])
            expect_path(
                test_id,
                f"{case}: the {dtype} parameter of shape {shape}",
                reference[:, part],
                got[:, part],
                tolerance(reference[:, part], dtype),
                STATE_HINT,
                what="expected your own result in float64 on the CPU,",
                nonfinite_hint=NAN_HINT,
            )
        n += 1
    return passed(test_id, n)


@aspect(probe=probes.probe_adam_optimizer__zero_grad)
def check_adam_optimizer__zero_grad(data: Any) -> str:
    """zero_grad() raises nothing before or after backward(), leaves no gradient, and leaves t,
    m* and v* alone."""
    test_id = "adam_optimizer__zero_grad"
    not_delegated(test_id, data)
    return zero_grad_verdict(test_id, data, len(SHAPES), "t, m* and v* and the settings")
