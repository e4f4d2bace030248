"""The grader's extras of notebook 2's aspects: the answers, and the mistakes simulated from them.

Every aspect of notebook 2 is declared once, shipped, in ``hw2checks.part2`` (probe and
comparison); what the grader adds must not ship and is attached here with ``extend``: the
formulas of Tasks 2.1 and 2.2 (the tasks' answers) and the EMA mistakes computed from them, the
true values and options of Questions 2.A-2.C, and Adam's wrong variants simulated over whole
paths (a simulation of later steps would be an Adam to copy). Adam's probes run the student's
ADAMOptimizer with Task 2.2's EMA in place of the student's ``ema_update`` (given in the
sandbox, ``hw2probes.given``), so that a wrong EMA costs only the EMA's points.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch

from autograder.aspects import attributes_of, extend
from hw2checks import part2
from hw2checks.part1 import leaf_copies
from hw2checks.part2 import (
    ANSWER_TOLERANCE,
    EPS_INSIDE_SQRT,
    NO_BIAS_CORRECTION,
    NO_SQRT,
    PER_PARAMETER_MISTAKE,
    PERSIST_MISTAKE,
    GradientSource,
    bowl_gradients,
    rms_mistakes,
)
from hw2checks.toolkit import (
    expect_close,
    fail,
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

# The grader's extras of Adam's aspects: simulations of wrong Adams over whole paths. A simulation
# of later steps would be an Adam to copy, so none of this may ship (the visible check names the
# mistakes of the update from their first step only). Adam's probes are given Task 2.2's EMA in
# the sandbox (hw2probes.given.GIVEN), so that a wrong EMA costs only the EMA's points.


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


def decay_mistakes(
    init: Sequence[torch.Tensor],
    steps: int,
    gradients: GradientSource,
    no_decay: Mapping[str, Any],
    wd: float,
) -> dict[str, torch.Tensor]:
    """What the classic wrong ways to apply weight decay ``wd`` produce on this case (the other
    settings ``no_decay``), by description."""
    return {
        "decoupled (AdamW-style) weight decay p -= lr*wd*p; torch.optim.Adam couples it: "
        "g = p.grad + wd*p": simulate_adam(init, steps, gradients, **no_decay, decoupled_decay=wd),
        "weight decay applied outside the update (p -= lr*m_hat/(sqrt(v_hat)+eps) + wd*p); "
        "torch.optim.Adam adds wd*p to the gradient": simulate_adam(
            init, steps, gradients, **no_decay, outside_decay=wd
        ),
    }


check_adam_optimizer__matches_torch = extend(
    part2.check_adam_optimizer__matches_torch, mistakes=adam_mistakes
)
check_adam_optimizer__weight_decay = extend(
    part2.check_adam_optimizer__weight_decay, mistakes=decay_mistakes
)
