"""Hidden checks of notebook 2: gradient mean and RMS, the answers read off them, the EMA, Adam.

Adam's checks run the student's ADAMOptimizer with the reference ``ema_update`` put in
place of the student's (and the student's put back afterwards), so that a wrong EMA
costs only the EMA's points.
"""
from __future__ import annotations

import contextlib
import math
import sys
from typing import Callable, Iterator

import torch

from autograder.checks.common import (devices, expect_close, fail, global_variable_hint, max_diff,
                                      no_torch_optim, passed, quartic_loss, show)

BOWL = ((2.3, -0.3), (-0.5, 0.2))
BOWL_START = (-1.5, 1.2)
ANSWER_TOLERANCE = 1e-3  # the numbers of 2.A and 2.B, read off a printout to 4 decimals


# References ------------------------------------------------------------------------------

def reference_gradient_stats(grads: torch.Tensor):
    """Per-coordinate mean and root-mean-square over the steps (dim 0) of ``grads`` (T, d)."""
    return grads.mean(dim=0), grads.pow(2).mean(dim=0).sqrt()


def reference_ema_update(x_t, beta, t, ema_star_old):
    """EMA*_t = beta EMA*_{t-1} + (1 - beta) x_t and EMA_t = EMA*_t / (1 - beta^t), t from 1."""
    ema_star_t = beta * ema_star_old + (1 - beta) * x_t
    return ema_star_t / (1 - beta ** t), ema_star_t


def bowl_gradients(steps: int = 50, lr: float = 0.1) -> torch.Tensor:
    """The gradient at each of ``steps`` steps of gradient descent on the bowl from x0, (steps, 2)."""
    B = torch.tensor(BOWL, dtype=torch.float64)
    x = torch.tensor(BOWL_START, dtype=torch.float64, requires_grad=True)
    grads = []
    for _ in range(steps):
        grad, = torch.autograd.grad(torch.linalg.vector_norm(B @ x), x)
        grads.append(grad)
        with torch.no_grad():
            x -= lr * grad
    return torch.stack(grads)


# Task 2.1: gradient_stats ------------------------------------------------------------------

GRAD_STATS_HINT = ("average over the steps (dim 0), one value per coordinate: mean = g.mean(dim=0), "
                   "RMS = square root of the mean of the squares")


def _stats_mistakes(g: torch.Tensor) -> tuple[dict, dict]:
    n = g.shape[0]
    mean_mistakes = {
        "the mean of |g| instead of the mean of g": g.abs().mean(dim=0),
        "the sum over the steps instead of the mean": g.sum(dim=0),
    }
    rms_mistakes = {
        "RMS computed as sqrt(sum of g^2) / N (the root of a sum, divided by N, is not the root of "
        "a mean: it is RMS / sqrt(N))": g.pow(2).sum(dim=0).sqrt() / n,
        "RMS computed as sqrt(sum of g^2), without dividing by N": g.pow(2).sum(dim=0).sqrt(),
        "the mean of g^2, without the square root": g.pow(2).mean(dim=0),
        "the mean of |g| instead of the RMS": g.abs().mean(dim=0),
        "the standard deviation (it subtracts the mean first; the RMS does not)":
            g.std(dim=0, unbiased=False),
    }
    if n > 1:
        rms_mistakes["the unbiased standard deviation (it subtracts the mean first; the RMS does not)"] = \
            g.std(dim=0, unbiased=True)
    return mean_mistakes, rms_mistakes


def _call_gradient_stats(test_id: str, gradient_stats: Callable, grads: torch.Tensor, case: str):
    result = gradient_stats(grads)
    if not isinstance(result, (tuple, list)) or len(result) != 2:
        fail(test_id, case, f"expected a pair (mean, rms), got {type(result).__name__}",
             "return mean, rms")
    return result


def _compare_stats(test_id, gradient_stats, grads, case, tol):
    mean, rms = _call_gradient_stats(test_id, gradient_stats, grads.clone(), case)
    g = grads.double().cpu()
    expected_mean, expected_rms = reference_gradient_stats(g)
    mean_mistakes, rms_mistakes = _stats_mistakes(g)
    d = grads.shape[1]
    shape_hint = f"{GRAD_STATS_HINT}; for grads of shape {tuple(grads.shape)} both have shape ({d},)"
    scale = 1 + max(expected_mean.abs().max().item(), expected_rms.max().item())
    expect_close(test_id, f"{case}: mean", expected_mean, _cpu(mean), tol * scale, shape_hint,
                 mistakes=mean_mistakes)
    expect_close(test_id, f"{case}: RMS", expected_rms, _cpu(rms), tol * scale, shape_hint,
                 mistakes=rms_mistakes)


def _cpu(value):
    """A tensor moved to the CPU; a number or list as a float64 tensor (not rounded to float32)."""
    if isinstance(value, torch.Tensor):
        return value.detach().cpu()
    try:
        return torch.as_tensor(value, dtype=torch.float64)
    except (TypeError, ValueError, RuntimeError):
        return value


def close(test_id, case, expected, got, tol, hint, mistakes=None):
    """expect_close, with every number kept in float64."""
    expect_close(test_id, case, _cpu(expected), _cpu(got), tol, hint,
                 {name: _cpu(value) for name, value in (mistakes or {}).items()})


def _random_gradients(g: torch.Generator, T: int, d: int, dtype, device) -> torch.Tensor:
    """Gradients with a per-coordinate offset and spread, so mean and RMS differ."""
    offset = torch.randn(d, generator=g, dtype=torch.float64) * 2
    spread = torch.rand(d, generator=g, dtype=torch.float64) * 3 + 0.1
    grads = offset + spread * torch.randn(T, d, generator=g, dtype=torch.float64)
    return grads.to(dtype=dtype, device=device)


def check_grad_stats__values(gradient_stats):
    test_id = "grad_stats__values"
    g = torch.Generator().manual_seed(21)
    n = 0
    _compare_stats(test_id, gradient_stats, bowl_gradients(), "gradients of 50 steps on the bowl", 1e-9)
    n += 1
    for dtype, tol in [(torch.float64, 1e-9), (torch.float32, 1e-5)]:
        for T, d in [(30, 2), (7, 3), (12, 1), (5, 6)]:
            grads = _random_gradients(g, T, d, dtype, "cpu")
            _compare_stats(test_id, gradient_stats, grads, f"random grads of shape ({T}, {d}), {dtype}", tol)
            n += 1
    passed(test_id, n)


def check_grad_stats__shapes(gradient_stats):
    test_id = "grad_stats__shapes"
    g = torch.Generator().manual_seed(22)
    n = 0
    for device in devices():
        for dtype, tol in [(torch.float64, 1e-9), (torch.float32, 1e-5)]:
            for T, d in [(1, 2), (1, 5), (4, 1), (3, 10)]:
                grads = _random_gradients(g, T, d, dtype, device)
                before = grads.clone()
                case = f"grads of shape ({T}, {d}), {dtype}, {device}"
                _compare_stats(test_id, gradient_stats, grads, case, tol)
                _call_gradient_stats(test_id, gradient_stats, grads, case)  # on grads itself, not a copy
                if not torch.equal(grads, before):
                    fail(test_id, case, "gradient_stats changed the tensor it was given",
                         "compute new tensors (g.mean(dim=0), ...) instead of modifying grads in place")
                n += 1
    passed(test_id, n)


# Questions 2.A and 2.B ------------------------------------------------------------------------

def _two_numbers(test_id: str, value, name: str) -> torch.Tensor:
    hint = f"write {name} = (number for x[0], number for x[1]), e.g. (0.1234, -5.6789)"
    try:
        numbers = torch.as_tensor(_cpu(value) if isinstance(value, torch.Tensor) else value,
                                  dtype=torch.float64).flatten()
    except (TypeError, ValueError, RuntimeError):
        fail(test_id, "format", f"expected two numbers, got {value!r}", hint)
    if numbers.numel() != 2 or not bool(torch.isfinite(numbers).all()):
        fail(test_id, "format", f"expected two finite numbers, got {value!r}", hint)
    return numbers


def check_q_mean_values__numbers(mean_grad_values):
    test_id = "q_mean_values__numbers"
    got = _two_numbers(test_id, mean_grad_values, "mean_grad_values")
    grads = bowl_gradients()
    mean, rms = reference_gradient_stats(grads)
    expect_close(test_id, "mean gradient over 50 steps on the bowl", mean, got, ANSWER_TOLERANCE,
                 "run the Task 2.1 cell and copy the two means it prints, in the order x[0], x[1]",
                 mistakes={"the RMS values instead of the means": rms,
                           "the means with the wrong sign": -mean,
                           "the means of |g|": grads.abs().mean(dim=0),
                           "the two coordinates swapped": mean.flip(0)})
    passed(test_id, 1)


def check_q_rms_values__numbers(rms_grad_values):
    test_id = "q_rms_values__numbers"
    got = _two_numbers(test_id, rms_grad_values, "rms_grad_values")
    grads = bowl_gradients()
    mean, rms = reference_gradient_stats(grads)
    _, rms_mistakes = _stats_mistakes(grads)
    expect_close(test_id, "RMS gradient over 50 steps on the bowl", rms, got, ANSWER_TOLERANCE,
                 "run the Task 2.1 cell (with a gradient_stats that passes its checks) and copy the "
                 "two RMS values it prints, in the order x[0], x[1]",
                 mistakes={**rms_mistakes, "the means instead of the RMS values": mean,
                           "the two coordinates swapped": rms.flip(0)})
    passed(test_id, 1)


# Question 2.C -------------------------------------------------------------------------------

def _choice(test_id: str, answer, name: str, options: tuple[str, ...], correct: str, why: str):
    allowed = " or ".join(f'"{o}"' for o in options)
    if not isinstance(answer, str) or answer.strip().lower() not in {o.lower() for o in options}:
        fail(test_id, "format", f"{name} must be {allowed}, got {answer!r}", f"set {name} to {allowed}")
    if answer.strip().lower() != correct.lower():
        fail(test_id, name, f"{answer.strip()!r} is not right", why)
    passed(test_id, 1)


def check_q_mean_vs_rms__never_smaller(never_smaller):
    _choice("q_mean_vs_rms__never_smaller", never_smaller, "never_smaller", ("mean", "RMS"), "RMS",
            "the square of the mean is at most the mean of the squares (their difference is the "
            "variance, never negative), so |mean| <= RMS, with equality only when every g is the same")


def check_q_mean_vs_rms__typical_size(typical_size):
    _choice("q_mean_vs_rms__typical_size", typical_size, "typical_size", ("mean", "RMS"), "RMS",
            "positive and negative values cancel in the mean (a gradient alternating +5, -5 has mean 0); "
            "squaring removes the sign, so the RMS measures how large the values are")


def check_q_mean_vs_rms__consistent_sign(consistent_sign):
    _choice("q_mean_vs_rms__consistent_sign", consistent_sign, "consistent_sign",
            ("close", "much smaller"), "close",
            "when every g has the same sign nothing cancels: |mean| is close to the RMS (equal when "
            "all g are equal)")


def check_q_mean_vs_rms__sign_changes(sign_changes):
    _choice("q_mean_vs_rms__sign_changes", sign_changes, "sign_changes",
            ("close", "much smaller"), "much smaller",
            "values of opposite sign cancel in the mean but not in the RMS, so |mean| is much "
            "smaller than the RMS (look at x[0] on the bowl)")


# Task 2.2: ema_update ----------------------------------------------------------------------------

def _ema_state_mistakes(x, beta, t, old) -> dict:
    return {
        "the weights are swapped: EMA*_t = (1 - beta) EMA*_{t-1} + beta x_t": (1 - beta) * old + beta * x,
        "the (1 - beta) factor is missing: EMA*_t = beta EMA*_{t-1} + x_t": beta * old + x,
        "the bias-corrected EMA is returned as the new EMA* (keep EMA* uncorrected; only the "
        "returned EMA is divided by 1 - beta^t)": (beta * old + (1 - beta) * x) / (1 - beta ** t),
    }


def _ema_value_mistakes(x, beta, t, old) -> dict:
    star = beta * old + (1 - beta) * x
    return {
        "no bias correction: the EMA is returned as EMA* itself": star,
        "bias correction with t counted from 0 (divides by 1 - beta^(t+1)); t counts from 1":
            star / (1 - beta ** (t + 1)),
        "the bias correction multiplies by 1 - beta^t instead of dividing": star * (1 - beta ** t),
        "the bias correction divides by (1 - beta)^t instead of 1 - beta^t": star / (1 - beta) ** t,
    }


def _random_float_cases(seed: int, n: int):
    g = torch.Generator().manual_seed(seed)
    for _ in range(n):
        beta = 0.5 + 0.499 * torch.rand((), generator=g, dtype=torch.float64).item()
        t = int(torch.randint(1, 30, (), generator=g))
        old = 3 * torch.randn((), generator=g, dtype=torch.float64).item()
        x = 3 * torch.randn((), generator=g, dtype=torch.float64).item()
        yield x, beta, t, old


def _call_ema(test_id, ema_update, case, *args):
    result = ema_update(*args)
    if not isinstance(result, (tuple, list)) or len(result) != 2:
        fail(test_id, case, f"expected a pair (ema, ema_star_t), got {type(result).__name__}",
             "return ema, ema_star_t  (in this order)")
    return result


def _ema_sequence(test_id, ema_update, xs, beta, check):
    """Feed xs through ema_update from EMA*_0 = 0, t = 1, 2, ...; ``check`` each step."""
    state, ref_state = 0.0, 0.0
    for t, x in enumerate(xs, start=1):
        ema, state = _call_ema(test_id, ema_update, f"sequence, t={t}", x, beta, t, state)
        ref_ema, ref_next = reference_ema_update(x, beta, t, ref_state)
        check(t, x, beta, ref_state, ema, state, ref_ema, ref_next)
        ref_state = ref_next


def check_ema_update__formula(ema_update):
    test_id = "ema_update__formula"
    hint = "EMA*_t = beta * EMA*_{t-1} + (1 - beta) * x_t, returned second"
    n = 0
    for x, beta, t, old in _random_float_cases(31, 8):
        case = f"x_t={x:.4f}, beta={beta:.4f}, t={t}, ema_star_old={old:.4f}"
        _, star = _call_ema(test_id, ema_update, case, x, beta, t, old)
        close(test_id, f"{case}: ema_star_t", reference_ema_update(x, beta, t, old)[1], star, 1e-9,
              hint, mistakes=_ema_state_mistakes(x, beta, t, old))
        n += 1
    xs = (3 * torch.randn(12, generator=torch.Generator().manual_seed(32), dtype=torch.float64)).tolist()

    def check(t, x, beta, old, ema, star, ref_ema, ref_star):
        close(test_id, f"sequence of 12 values from EMA*_0 = 0, beta={beta}, t={t}: ema_star_t",
              ref_star, star, 1e-9, hint + "; feed the returned EMA* back in",
              mistakes=_ema_state_mistakes(x, beta, t, old))
    _ema_sequence(test_id, ema_update, xs, 0.8, check)
    passed(test_id, n + 1)


def check_ema_update__bias_correction(ema_update):
    test_id = "ema_update__bias_correction"
    hint = "EMA_t = EMA*_t / (1 - beta^t), with t counting from 1, returned first"
    n = 0
    for x, beta, t, old in _random_float_cases(41, 8):
        case = f"x_t={x:.4f}, beta={beta:.4f}, t={t}, ema_star_old={old:.4f}"
        ema, _ = _call_ema(test_id, ema_update, case, x, beta, t, old)
        close(test_id, f"{case}: ema", reference_ema_update(x, beta, t, old)[0], ema, 1e-9, hint,
              mistakes=_ema_value_mistakes(x, beta, t, old))
        n += 1
    xs = (2 + torch.randn(6, generator=torch.Generator().manual_seed(42), dtype=torch.float64)).tolist()

    def check(t, x, beta, old, ema, star, ref_ema, ref_star):
        close(test_id, f"sequence {[round(v, 3) for v in xs]} from EMA*_0 = 0, beta={beta}, t={t}: ema",
              ref_ema, ema, 1e-9, hint + " (at t=1 the EMA equals x_1 exactly)",
              mistakes=_ema_value_mistakes(x, beta, t, old))
    for beta in (0.9, 0.99):
        _ema_sequence(test_id, ema_update, xs, beta, check)
        n += 1
    passed(test_id, n)


def elementwise(ema_update, x: torch.Tensor, beta, t, start):
    """What ``ema_update`` gives for each element of the tensors as Python floats (float64
    tensors of x's shape), or None when it fails on floats."""
    xs = x.detach().double().cpu().flatten().tolist()
    olds = [start] * len(xs) if isinstance(start, float) else start.detach().double().cpu().flatten().tolist()
    try:
        pairs = [ema_update(xi, beta, t, oi) for xi, oi in zip(xs, olds)]
        return [torch.tensor([float(pair[k]) for pair in pairs], dtype=torch.float64).reshape(x.shape)
                for k in (0, 1)]
    except Exception:  # the student's code on floats: any failure means "no scalar results"
        return None


def check_ema_update__tensors_unchanged(ema_update):
    """Tensors of any shape, dtype and device: the same results as for numbers (the formula itself
    is graded by the other two checks), on the inputs' device, and the inputs left unchanged."""
    test_id = "ema_update__tensors_unchanged"
    g = torch.Generator().manual_seed(51)
    hint = "use only operations that make new tensors (beta * old + ...), never in-place ones (*=, +=, .mul_)"
    n = 0
    for device in devices():
        for dtype, tol in [(torch.float64, 1e-9), (torch.float32, 1e-5)]:
            for shape in [(), (3,), (2, 4), (2, 3, 2)]:
                x = torch.randn(shape, generator=g, dtype=torch.float64).to(dtype=dtype, device=device)
                old = torch.randn(shape, generator=g, dtype=torch.float64).to(dtype=dtype, device=device)
                for start in (old, 0.0):
                    beta, t = 0.9, 1 if isinstance(start, float) else 4
                    case = (f"tensors of shape {shape}, {dtype}, {device}, ema_star_old "
                            f"{'= 0.0 (a float)' if isinstance(start, float) else 'a tensor'}, t={t}")
                    x_before = x.clone()
                    old_before = start.clone() if isinstance(start, torch.Tensor) else start
                    ema, star = _call_ema(test_id, ema_update, case, x, beta, t, start)
                    if not torch.equal(x, x_before):
                        fail(test_id, case, "ema_update changed its input x_t", hint)
                    if isinstance(start, torch.Tensor) and not torch.equal(start, old_before):
                        fail(test_id, case, "ema_update changed its input ema_star_old in place", hint)
                    start64 = start.double().cpu() if isinstance(start, torch.Tensor) else start
                    reference = reference_ema_update(x.double().cpu(), beta, t, start64)
                    own = elementwise(ema_update, x, beta, t, start)
                    for k, (name, got) in enumerate([("ema", ema), ("ema_star_t", star)]):
                        if not isinstance(got, torch.Tensor):
                            fail(test_id, case, f"{name} is a {type(got).__name__}, expected a tensor",
                                 "write the formula with tensor arithmetic; it then works for any shape")
                        if got.device != x.device:
                            fail(test_id, case, f"{name} is on {got.device}, expected {x.device}",
                                 "compute from the inputs, so the result stays on their device")
                        scale = 1 + reference[k].abs().max().item()
                        if own is not None and max_diff(own[k], got) <= tol * scale:
                            continue
                        expect_close(test_id, f"{case}: {name}", reference[k], got.detach().cpu(),
                                     tol * scale, "for tensors, ema_update must give element by element "
                                     "what it gives for numbers; " + hint)
                    n += 1
    passed(test_id, n)


# Task 2.3: ADAMOptimizer ----------------------------------------------------------------------------

_MISSING = object()


@contextlib.contextmanager
def reference_dependency(cls, name: str, replacement) -> Iterator[None]:
    """Inside, the global ``name`` seen by the code of ``cls`` (its methods' module namespaces
    and its module) is ``replacement``; afterwards each namespace gets back what it had."""
    namespaces = {}
    for klass in getattr(cls, "__mro__", (cls,)):
        if klass is object:
            continue
        for attr in vars(klass).values():
            func = getattr(attr, "__func__", attr)
            space = getattr(func, "__globals__", None)
            if isinstance(space, dict):
                namespaces[id(space)] = space
        module = sys.modules.get(getattr(klass, "__module__", None) or "")
        if module is not None and module.__name__ != "builtins":
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


def loss_gradients(loss=quartic_loss):
    """A gradient source: the gradients of ``loss`` at the current parameters."""
    def source(step, params):
        return torch.autograd.grad(loss(params), params)
    return source


def fixed_gradients(sequence):
    """A gradient source: ``sequence[step]`` whatever the parameters."""
    def source(step, params):
        return [g.clone() for g in sequence[step]]
    return source


def with_l2(gradients, weight_decay: float):
    """A gradient source: that of the loss plus (weight_decay / 2) |p|^2."""
    def source(step, params):
        return [g + weight_decay * p.detach() for g, p in zip(gradients(step, params), params)]
    return source


def drive(make: Callable, init, steps: int, gradients, decay=None):
    """Run ``steps`` steps of ``make(iter(params))`` from copies of ``init``; return the path
    (parameters after each step, flattened, float64, CPU; shape (steps, n)), the parameters and
    the optimizer. The driver sets each ``p.grad`` itself, so a broken zero_grad costs only its
    own check. ``decay = (kind, lr, wd)`` adds a weight decay outside the optimizer, to show what
    the classic wrong decays do: "decoupled" shrinks p by 1 - lr*wd before the step (AdamW),
    "outside" subtracts wd * p (p before the step) after it."""
    params = [p.detach().clone().requires_grad_() for p in init]
    optimizer = make(iter(params))
    path = []
    for step in range(steps):
        grads = gradients(step, params)
        for p, grad in zip(params, grads):
            p.grad = grad.detach().clone()
        before = [p.detach().clone() for p in params]
        if decay is not None and decay[0] == "decoupled":
            with torch.no_grad():
                for p in params:
                    p -= decay[1] * decay[2] * p
        optimizer.step()
        if decay is not None and decay[0] == "outside":
            with torch.no_grad():
                for p, old in zip(params, before):
                    p -= decay[2] * old
        path.append(torch.cat([p.detach().double().cpu().flatten() for p in params]))
    return torch.stack(path), params, optimizer


def simulate_adam(init, steps, gradients, lr=0.1, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
                  bias_correction=True, eps_inside=False, sqrt=True, persist=True,
                  timestep="shared") -> torch.Tensor:
    """Adam as written in the notebook, or with one of the classic mistakes (the flags)."""
    beta1, beta2 = betas
    params = [p.detach().clone().requires_grad_() for p in init]
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
                g = grad + weight_decay * p
                if not persist:
                    m_star[i], v_star[i] = torch.zeros_like(p), torch.zeros_like(p)
                m_star[i] = beta1 * m_star[i] + (1 - beta1) * g
                v_star[i] = beta2 * v_star[i] + (1 - beta2) * g * g
                m = m_star[i] / (1 - beta1 ** tt) if bias_correction else m_star[i]
                v = v_star[i] / (1 - beta2 ** tt) if bias_correction else v_star[i]
                denominator = (v + eps).sqrt() if eps_inside else (v.sqrt() if sqrt else v) + eps
                p -= lr * m / denominator
        path.append(torch.cat([p.detach().double().cpu().flatten() for p in params]))
    return torch.stack(path)


PERSIST_MISTAKE = ("the moments never persist: m* and v* start from zero at every step (the state is "
                   "rebound, e.g. `m, m_star = ema_update(...)` into a loop variable, instead of "
                   "updated in place with m_star.copy_(...) or m_star[...] = ...)")
PER_PARAMETER_MISTAKE = ("t advanced once per parameter instead of once per step() (increment t once, "
                         "before the loop)")


def adam_mistakes(init, steps, gradients, kwargs) -> dict:
    """What each classic wrong Adam produces on this case, by description."""
    variants = {
        "no bias correction (m* and v* used as they are; divide them by 1 - beta1^t and 1 - beta2^t)":
            dict(bias_correction=False),
        "eps inside the square root: the update divides by sqrt(v_hat + eps) instead of "
        "sqrt(v_hat) + eps": dict(eps_inside=True),
        "no square root: the update divides by v_hat + eps instead of sqrt(v_hat) + eps": dict(sqrt=False),
        PER_PARAMETER_MISTAKE: dict(timestep="per_parameter"),
        "t never advances past 1 (self.t must grow by one in every step())": dict(timestep="fixed"),
        PERSIST_MISTAKE: dict(persist=False),
    }
    return {name: simulate_adam(init, steps, gradients, **kwargs, **flags)
            for name, flags in variants.items()}


@contextlib.contextmanager
def student_adam(test_id: str, ADAMOptimizer) -> Iterator[None]:
    """The conditions every Adam check runs under: no torch.optim, the reference ema_update."""
    with no_torch_optim(test_id), reference_dependency(ADAMOptimizer, "ema_update", reference_ema_update):
        yield


def _describe(kwargs) -> str:
    return ", ".join(f"{k}={v}" for k, v in kwargs.items()) or "defaults"


NAN_HINT = ("your parameters became NaN or infinite: is t 0 in the first step? t counts from 1 "
            "(increment it at the start of step()), so 1 - beta^t is never 0")


def finite(test_id, case, *paths) -> None:
    for path in paths:
        if not bool(torch.isfinite(path).all()):
            fail(test_id, case, "the parameters became NaN or infinite", NAN_HINT)


def compare_paths(test_id, case, expected, got, tol, hint, mistakes=None, what="expected"):
    """Fail at the first step where ``got`` leaves ``expected``, naming a mistake whose whole
    path ``got`` follows. ``what`` says what ``expected`` is."""
    for step in range(expected.shape[0]):
        diff = max_diff(expected[step], got[step])
        if diff <= tol:
            continue
        detail_hint = hint
        if not bool(torch.isfinite(got[step]).all()):
            detail_hint = NAN_HINT
        for description, produced in (mistakes or {}).items():
            if max_diff(produced, got) <= tol:
                detail_hint = f"your result matches a known mistake: {description}"
                break
        fail(test_id, f"{case}, after step {step + 1}",
             f"{what} {show(expected[step])}, got {show(got[step])}; max |diff| "
             f"{diff:.2e} > tolerance {tol:.0e}", detail_hint)


SHAPES = [(), (4,), (3, 2), (2, 2, 2)]
TOLERANCE = {torch.float64: 1e-8, torch.float32: 1e-5}


def _init(seed, shapes, dtype, device):
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(shape, generator=g, dtype=torch.float64).to(dtype=dtype, device=device)
            for shape in shapes]


STATE_HINT = ("create the state with torch.zeros_like(p): it takes p's shape, dtype and device "
              "(torch.zeros(p.shape) makes float32 tensors on the CPU)")


def run_student(test_id, case, ADAMOptimizer, kwargs, init, steps, gradients, decay=None):
    """``drive`` the student's optimizer under ``student_adam``; a device mismatch inside it
    becomes a failed check that says where state tensors must live."""
    try:
        with student_adam(test_id, ADAMOptimizer):
            return drive(lambda p: ADAMOptimizer(p, **kwargs), init, steps, gradients, decay)
    except RuntimeError as err:
        if "device" not in str(err).lower():
            raise
        fail(test_id, case, f"step() failed: {str(err).splitlines()[0]}", STATE_HINT)


def _state_tensors(optimizer, params):
    """(where, tensor) for every floating-point tensor the optimizer holds besides the parameters."""
    own = {id(p) for p in params}
    found = []

    def walk(value, where, depth):
        if isinstance(value, torch.Tensor):
            if id(value) not in own and value.is_floating_point():
                found.append((where, value))
        elif depth < 3 and isinstance(value, (list, tuple)):
            for i, item in enumerate(value):
                walk(item, f"{where}[{i}]", depth + 1)
        elif depth < 3 and isinstance(value, dict):
            for i, item in enumerate(value.values()):
                walk(item, f"{where}[...{i}]", depth + 1)
    for name, value in vars(optimizer).items():
        walk(value, f"self.{name}", 0)
    return found


def state_mismatch(optimizer, params) -> str | None:
    """A state tensor whose dtype or device differs from its parameter's, described; else None.
    A state tensor belongs to the parameter of its shape."""
    for where, tensor in _state_tensors(optimizer, params):
        owners = [p for p in params if p.shape == tensor.shape]
        if not owners:
            continue
        devices_ok = any(tensor.device == p.device for p in owners)
        dtypes_ok = len({p.dtype for p in owners}) > 1 or tensor.dtype == owners[0].dtype
        if not (devices_ok and dtypes_ok):
            return (f"state tensor {where} is {tensor.dtype} on {tensor.device}, for a {owners[0].dtype} "
                    f"parameter on {owners[0].device}")
    return None


# Each aspect of Adam is graded on its own. matches_torch compares with torch.optim.Adam and owns
# the update formula. The other aspects compare the student's optimizer with itself, so a mistake
# in the formula does not cost them too: weight_decay, "with weight_decay=wd on L" against "with
# weight_decay=0 on L + (wd/2)|p|^2"; state_persists, runs that differ only in earlier gradients
# or in other parameters or optimizers; devices_dtypes, float32 and another device against
# float64 on the CPU.

ADAM_HINT = ("one step: t += 1 once; for each parameter, g = p.grad + weight_decay * p; m, m* = "
             "ema_update(g, beta1, t, m*); v, v* = ema_update(g*g, beta2, t, v*); keep m* and v* "
             "for the next step; p -= lr * m / (sqrt(v) + eps)")


ADAM_ARGUMENTS = ("lr", "betas", "beta1", "beta2", "eps", "weight_decay")


def check_adam_optimizer__matches_torch(ADAMOptimizer):
    test_id = "adam_optimizer__matches_torch"
    cases = [dict(lr=0.1), dict(lr=0.03, betas=(0.8, 0.99)), dict(lr=0.05, betas=(0.5, 0.9), eps=0.1)]
    n, steps = 0, 6
    leaked = global_variable_hint(ADAMOptimizer, ADAM_ARGUMENTS)
    for device in devices():
        for dtype in (torch.float64, torch.float32):
            for kwargs in cases:
                init = _init(100 + n, SHAPES, dtype, device)
                source = loss_gradients()
                case = f"{_describe(kwargs)}, {device}, {dtype}, parameters of shapes {SHAPES}"
                got, params, optimizer = run_student(test_id, case, ADAMOptimizer, kwargs, init, steps,
                                                     source)
                expected, _, _ = drive(lambda p: torch.optim.Adam(p, **kwargs), init, steps, source)
                mismatch = state_mismatch(optimizer, params)
                compare_paths(test_id, case, expected, got, TOLERANCE[dtype],
                              leaked or (f"{mismatch}: {STATE_HINT}" if mismatch else ADAM_HINT),
                              {} if leaked else adam_mistakes(init, steps, source, kwargs))
                n += 1
    passed(test_id, n)


def check_adam_optimizer__weight_decay(ADAMOptimizer):
    test_id = "adam_optimizer__weight_decay"
    hint = ("PyTorch's Adam couples L2 weight decay: g = p.grad + weight_decay * p, and that g feeds "
            "both moments; nothing else changes")
    cases = [dict(lr=0.1, weight_decay=0.1), dict(lr=0.05, betas=(0.8, 0.95), weight_decay=0.5),
             dict(lr=0.01, weight_decay=0.02, eps=1e-3)]
    n, steps = 0, 6
    leaked = global_variable_hint(ADAMOptimizer, ADAM_ARGUMENTS)
    for device in devices():
        for dtype in (torch.float64, torch.float32):
            for kwargs in cases:
                init = _init(700 + n, SHAPES, dtype, device)
                source = loss_gradients()
                lr, wd = kwargs["lr"], kwargs["weight_decay"]
                plain = {k: v for k, v in kwargs.items() if k != "weight_decay"}
                case = f"{_describe(kwargs)}, {device}, {dtype}, parameters of shapes {SHAPES}"

                def student(kw, gradients, decay=None):
                    return run_student(test_id, case, ADAMOptimizer, kw, init, steps, gradients, decay)[0]
                got, coupled = student(kwargs, source), student(plain, with_l2(source, wd))
                finite(test_id, case, got, coupled)
                mistakes = {
                    "weight_decay ignored (add weight_decay * p to the gradient before the moments)":
                        student(plain, source),
                    "decoupled (AdamW-style) weight decay p -= lr*wd*p; torch.optim.Adam couples it: "
                    "g = p.grad + wd*p": student(plain, source, ("decoupled", lr, wd)),
                    "weight decay applied outside the update (p -= lr*m_hat/(sqrt(v_hat)+eps) + wd*p); "
                    "torch.optim.Adam adds wd*p to the gradient": student(plain, source, ("outside", lr, wd)),
                }
                compare_paths(test_id, case, coupled, got, TOLERANCE[dtype], leaked or hint,
                              {} if leaked else mistakes,
                              what=f"expected what your ADAMOptimizer(weight_decay=0) does on the loss "
                                   f"+ ({wd}/2)|p|^2,")
                # Where the rest of the update is right, the whole is torch.optim.Adam(weight_decay=...).
                reference = drive(lambda p: torch.optim.Adam(p, **plain), init, steps, source)[0]
                if max_diff(reference, student(plain, source)) <= TOLERANCE[dtype]:
                    expected = drive(lambda p: torch.optim.Adam(p, **kwargs), init, steps, source)[0]
                    compare_paths(test_id, case, expected, got, TOLERANCE[dtype], leaked or hint)
                n += 1
    passed(test_id, n)


def _gradient_sequence(seed, shapes, steps, dtype, device):
    """Gradients that change sign and size from step to step."""
    g = torch.Generator().manual_seed(seed)
    sequence = []
    for step in range(steps):
        sign = -1.0 if step % 3 == 1 else 1.0
        sequence.append([(sign * (1 + step) * torch.randn(shape, generator=g, dtype=torch.float64))
                         .to(dtype=dtype, device=device) for shape in shapes])
    return sequence


CLASS_STATE_HINT = ("each optimizer keeps its own t, m* and v*: create them in __init__ as attributes "
                    "of self, not as class attributes shared by every ADAMOptimizer")


def _holds_tensors(value) -> bool:
    if isinstance(value, torch.Tensor):
        return True
    if isinstance(value, dict):
        value = list(value.values())
    return isinstance(value, (list, tuple)) and any(_holds_tensors(item) for item in value)


def _no_state_on_the_class(test_id, ADAMOptimizer):
    """After one step of one optimizer, no class attribute may hold tensors (shared state)."""
    def inspect():
        for klass in type(optimizer).__mro__:
            for name, value in vars(klass).items():
                if klass is not object and not name.startswith("__") and _holds_tensors(value):
                    fail(test_id, f"class attribute {klass.__name__}.{name}",
                         "holds tensors that every ADAMOptimizer shares", CLASS_STATE_HINT)

    params = [p.requires_grad_() for p in _init(199, [(3,), (2,)], torch.float64, "cpu")]
    with student_adam(test_id, ADAMOptimizer):
        optimizer = ADAMOptimizer(iter(params), lr=0.1)
        inspect()
        for p, grad in zip(params, torch.autograd.grad(quartic_loss(params), params)):
            p.grad = grad
        try:
            optimizer.step()
        except Exception:  # shared state can make step() fail; the inspection says why
            inspect()
            raise
    inspect()


def check_adam_optimizer__state_persists(ADAMOptimizer):
    test_id = "adam_optimizer__state_persists"
    _no_state_on_the_class(test_id, ADAMOptimizer)
    steps, n = 5, 0
    for device in devices():
        for kwargs in [dict(lr=0.1), dict(lr=0.02, betas=(0.7, 0.9))]:
            where = f"{_describe(kwargs)}, {device}"

            def student(init, sequence, label):
                path, _, _ = run_student(test_id, f"{where}, {label}", ADAMOptimizer, kwargs, init, steps,
                                         fixed_gradients(sequence))
                finite(test_id, f"{where}, {label}", path)
                return path
            # The moments remember earlier gradients: change only the first gradient, and the
            # later steps must change too.
            init = _init(200 + n, SHAPES, torch.float64, device)
            sequence = _gradient_sequence(300 + n, SHAPES, steps, torch.float64, device)
            changed = [[-3 * g for g in sequence[0]]] + sequence[1:]
            a = student(init, sequence, "gradients set by hand")
            b = student(init, changed, "the same gradients but the first")
            for step in range(1, steps):
                if max_diff(a[step] - a[step - 1], b[step] - b[step - 1]) < 1e-7:
                    fail(test_id, f"{where}, two runs whose gradients differ only at step 1",
                         f"step {step + 1} moved the parameters by the same amount in both runs, so "
                         "the earlier gradient was forgotten", f"your result matches a known mistake: "
                         f"{PERSIST_MISTAKE}")
            # One t for all parameters, and each parameter's own state: the last parameter follows
            # the same path alone as among the others.
            alone = student(init[-1:], [grads[-1:] for grads in sequence], "the last parameter alone")
            size = init[-1].numel()
            compare_paths(test_id, f"{where}, the last of {len(SHAPES)} parameters, compared with "
                          "the same parameter alone in an ADAMOptimizer", alone, a[:, -size:], 1e-9,
                          "a parameter's updates depend only on its own gradients and on t: "
                          f"{PER_PARAMETER_MISTAKE}, or state shared between parameters?",
                          what="expected (your result for the parameter alone)")
            n += 1
        # Two optimizers stepped in turn behave as each does alone.
        first = _init(400, [(3,), (2,)], torch.float64, device)
        second = _init(401, [(5,)], torch.float64, device)
        with student_adam(test_id, ADAMOptimizer):
            params_a = [p.clone().requires_grad_() for p in first]
            params_b = [p.clone().requires_grad_() for p in second]
            opt_a, opt_b = ADAMOptimizer(iter(params_a), lr=0.1), ADAMOptimizer(iter(params_b), lr=0.1)
            for step in range(4):
                for opt, params in ((opt_a, params_a), (opt_b, params_b)):
                    grads = torch.autograd.grad(quartic_loss(params), params)
                    for p, grad in zip(params, grads):
                        p.grad = grad
                    opt.step()
        for name, init, params in (("first", first, params_a), ("second", second, params_b)):
            alone, _, _ = run_student(test_id, f"{device}: one ADAMOptimizer", ADAMOptimizer, dict(lr=0.1),
                                      init, 4, loss_gradients())
            got = torch.cat([p.detach().double().cpu().flatten() for p in params])
            if max_diff(alone[-1], got) > 1e-9:
                fail(test_id, f"{device}: two ADAMOptimizer objects stepped in turn, the {name} one "
                     "after 4 steps", f"expected {show(alone[-1])} (what it does alone), got {show(got)}",
                     CLASS_STATE_HINT)
        n += 1
    passed(test_id, n)


def check_adam_optimizer__devices_dtypes(ADAMOptimizer):
    test_id = "adam_optimizer__devices_dtypes"
    # Shapes differ, so each state tensor can be matched to its parameter by shape.
    layout = [((3,), torch.float64), ((2, 2), torch.float32), ((5,), torch.float32),
              ((2, 1, 3), torch.float64)]
    n, steps, kwargs = 0, 5, dict(lr=0.05)
    for device in devices():
        g = torch.Generator().manual_seed(500 + n)
        init = [torch.randn(shape, generator=g, dtype=torch.float64).to(dtype=dtype, device=device)
                for shape, dtype in layout]
        case = f"one optimizer over float64 and float32 parameters on {device}"
        got, params, optimizer = run_student(test_id, case, ADAMOptimizer, kwargs, init, steps,
                                             loss_gradients())
        for p, (shape, dtype) in zip(params, layout):
            if p.dtype != dtype or p.device.type != torch.device(device).type or not p.is_leaf:
                fail(test_id, case, f"a parameter of shape {shape} became {p.dtype} on {p.device} "
                     f"(leaf: {p.is_leaf}); expected a {dtype} leaf on {device}",
                     "update each parameter in place (p -= ...) under torch.no_grad()")
        mismatch = state_mismatch(optimizer, params)
        if mismatch:
            fail(test_id, case, mismatch, STATE_HINT)
        # The same parameters in float64 on the CPU, through the same code, give the same path.
        reference, _, _ = run_student(test_id, f"{case} (as float64 on the CPU)", ADAMOptimizer, kwargs,
                                      [p.double().cpu() for p in init], steps, loss_gradients())
        finite(test_id, case, got, reference)
        offsets = [0]
        for shape, _ in layout:
            offsets.append(offsets[-1] + math.prod(shape))
        for index, (shape, dtype) in enumerate(layout):
            part = slice(offsets[index], offsets[index + 1])
            compare_paths(test_id, f"{case}: the {dtype} parameter of shape {shape}", reference[:, part],
                          got[:, part], 1e-8 if dtype is torch.float64 else 1e-4, STATE_HINT,
                          what="expected your own result in float64 on the CPU,")
        n += 1
    passed(test_id, n)


def check_adam_optimizer__zero_grad(ADAMOptimizer):
    test_id = "adam_optimizer__zero_grad"
    params = _init(600, SHAPES, torch.float64, "cpu")
    params = [p.requires_grad_() for p in params]
    hint = ("store list(parameters) in __init__ (a generator can be read only once) and set "
            "p.grad = None for each")
    with student_adam(test_id, ADAMOptimizer):
        optimizer = ADAMOptimizer((p for p in params), lr=0.1)
        for _ in range(2):
            quartic_loss(params).backward()
            try:
                optimizer.zero_grad()
            except Exception as err:  # the student's code: report it as a failed check
                fail(test_id, "zero_grad()", f"zero_grad() raised {type(err).__name__}: {err}",
                     hint + "; the stored list is used as it is: self.parameters, not self.parameters()")
    for index, p in enumerate(params):
        if p.grad is not None and p.grad.abs().max().item() != 0:
            fail(test_id, f"parameter {index} of {len(params)}", "zero_grad() left its gradient", hint)
    passed(test_id, 1)
