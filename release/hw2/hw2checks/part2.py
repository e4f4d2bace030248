"""Checks of notebook 2: gradient statistics, the exponential moving average and a hand-written
Adam (reference: ``torch.optim.Adam``)."""

from __future__ import annotations

from collections.abc import Callable

import torch

from hw2checks.part1 import (
    TOY_SHAPES,
    expect_zero_grad,
    flat,
    leaf_copies,
    quartic_loss,
    random_parameters,
    run_in_turn,
    run_steps,
)
from hw2checks.toolkit import (
    expect_close,
    expect_path,
    fail,
    mistake_hint,
    print_passed,
    show,
    student_facing,
    tolerance,
)
from hw2utils import (
    pick_device,
)

_GRAD_STATS_CASES = [
    (
        "4 steps, 2 coordinates",
        [[1.0, -2.0], [3.0, 2.0], [-1.0, 0.0], [1.0, 4.0]],
        [1.0, 1.0],
        [1.7320508076, 2.4494897428],
    ),
    ("1 step, 3 coordinates", [[-0.5, 2.0, 0.0]], [-0.5, 2.0, 0.0], [0.5, 2.0, 0.0]),
    ("5 equal steps", [[2.0, -3.0]] * 5, [2.0, -3.0], [2.0, 3.0]),
]
#: Task 2.1 shape cases: (case, gradients (T, d)); their values are the other check's.
_GRAD_STATS_SHAPE_CASES = [
    (
        "3 steps, 5 coordinates",
        [[-7.0, -6.0, -5.0, -4.0, -3.0], [-2.0, -1.0, 0.0, 1.0, 2.0], [3.0, 4.0, 5.0, 6.0, 7.0]],
    ),
    ("6 steps, 1 coordinate", [[0.5], [-1.0], [2.0], [-0.5], [1.5], [-2.5]]),
]


def _f64(values) -> torch.Tensor:
    """Numbers fixed in advance, kept in float64 (torch.as_tensor would round them to float32)."""
    return torch.tensor(values, dtype=torch.float64)


def got64(value):
    """A tensor as it is; a result that is not one (a float, a list) as a float64 tensor (not
    rounded to float32); what cannot be one as it is."""
    if isinstance(value, torch.Tensor):
        return value
    try:
        return torch.as_tensor(value, dtype=torch.float64)
    except (TypeError, ValueError, RuntimeError):
        return value


def _call_pair(test_id: str, func: Callable, case: str, args: tuple, names: str, hint: str):
    result = func(*args)
    if not isinstance(result, (tuple, list)) or len(result) != 2:
        fail(test_id, case, f"expected a pair ({names}), got {type(result).__name__}", hint)
    return result


def rms_mistakes(g: torch.Tensor) -> dict:
    """What classic wrong RMS formulas give for gradients ``g`` (T, d), float64, by description."""
    n = g.shape[0]
    return {
        "RMS computed as sqrt(sum of g^2) / N (the root of a sum, divided by N, is not the root of "
        "a mean: it is RMS / sqrt(N))": g.pow(2).sum(dim=0).sqrt() / n,
        "RMS computed as sqrt(sum of g^2), without dividing by N": g.pow(2).sum(dim=0).sqrt(),
        "the mean of g^2, without the square root": g.pow(2).mean(dim=0),
        "the mean of |g| instead of the RMS": g.abs().mean(dim=0),
        "the standard deviation (it subtracts the mean first; the RMS does not)": g.std(
            dim=0, unbiased=False
        ),
        **(
            {
                "the unbiased standard deviation (it subtracts the mean first; the RMS does not)": g.std(
                    dim=0, unbiased=True
                )
            }
            if n > 1
            else {}
        ),
    }


@student_facing
def check_grad_stats__values(gradient_stats: Callable) -> None:
    """``gradient_stats(grads)`` returns the per-coordinate mean and RMS of a few fixed (T, d) tensors."""
    test_id = "grad_stats__values"
    hint = (
        "mean = the average of g over the steps; RMS = the square root of the average of g**2 "
        "over the steps"
    )
    for case, rows, mean, rms in _GRAD_STATS_CASES:
        for dtype in (torch.float64, torch.float32):
            grads = torch.tensor(rows, dtype=dtype)
            where = f"{case} (grads of shape {tuple(grads.shape)}, {dtype})"
            got_mean, got_rms = _call_pair(
                test_id, gradient_stats, where, (grads,), "mean, rms", hint
            )
            for name, expected, got, mistakes in (
                ("mean", _f64(mean), got64(got_mean), None),
                ("RMS", _f64(rms), got64(got_rms), rms_mistakes(_f64(rows))),
            ):
                expect_close(
                    test_id,
                    f"{where}: {name}",
                    expected,
                    got,
                    tolerance(expected, dtype, got),
                    hint,
                    mistakes,
                )
    print_passed(test_id, 2 * len(_GRAD_STATS_CASES))


@student_facing
def check_grad_stats__shapes(gradient_stats: Callable) -> None:
    """``gradient_stats`` returns two tensors of shape (d,) for grads of shape (T, d), any d, and
    leaves grads as it was (the values are check_grad_stats__values')."""
    test_id = "grad_stats__shapes"
    hint = (
        "average over the steps, dim 0, so that a (T, d) input gives two (d,) outputs: one mean "
        "and one RMS per coordinate"
    )
    for case, rows in _GRAD_STATS_SHAPE_CASES:
        for dtype in (torch.float64, torch.float32):
            grads = torch.tensor(rows, dtype=dtype)
            where = f"{case} (grads of shape {tuple(grads.shape)}, {dtype})"
            result = _call_pair(test_id, gradient_stats, where, (grads.clone(),), "mean, rms", hint)
            for name, got in zip(("mean", "RMS"), result):
                got = got64(got)
                shape = tuple(got.shape) if isinstance(got, torch.Tensor) else type(got).__name__
                if shape != (grads.shape[1],):
                    fail(
                        test_id,
                        f"{where}: {name}",
                        f"expected shape ({grads.shape[1]},), got {shape}",
                        hint,
                    )
            before = grads.clone()
            gradient_stats(grads)
            if not torch.equal(grads, before):
                fail(
                    test_id,
                    where,
                    "gradient_stats changed the tensor it was given",
                    "compute new tensors instead of modifying grads in place",
                )
    print_passed(test_id, 2 * len(_GRAD_STATS_SHAPE_CASES))


#: Questions 2.A and 2.B: how far the two numbers, read off a printout to 4 decimals, may be from
#: the true values.
ANSWER_TOLERANCE = 1e-3


def expect_two_numbers(
    test_id: str, value, name: str, nonnegative: bool = False, shown: str | None = None
) -> torch.Tensor:
    """``value`` as a float64 tensor of two finite numbers (not negative with ``nonnegative``), or
    fail on its format, showing it as ``shown`` (its repr by default)."""
    hint = f"write {name} = (value for x[0], value for x[1]), numbers to 4 decimals"
    shown = repr(value) if shown is None else shown
    try:
        numbers = torch.as_tensor(
            value.detach().cpu() if isinstance(value, torch.Tensor) else value, dtype=torch.float64
        ).flatten()
    except (TypeError, ValueError, RuntimeError):
        fail(test_id, "format", f"expected two numbers, got {shown}", hint)
    if numbers.numel() != 2 or not bool(torch.isfinite(numbers).all()):
        fail(test_id, "format", f"expected two finite numbers, got {shown}", hint)
    if nonnegative and bool((numbers < 0).any()):
        fail(test_id, "format", f"got {numbers.tolist()}, but an RMS is never negative", hint)
    return numbers


def _check_two_numbers(test_id: str, value, name: str, nonnegative: bool = False) -> None:
    first, second = expect_two_numbers(test_id, value, name, nonnegative).tolist()
    print(
        f"{test_id}: {name} = ({first:.4f}, {second:.4f}) has the right form; "
        f"the grader compares it with the true values (tolerance {ANSWER_TOLERANCE:g})"
    )


@student_facing
def check_q_mean_values__numbers(mean_grad_values) -> None:
    """``mean_grad_values`` holds two numbers (their values are graded by the autograder)."""
    _check_two_numbers("q_mean_values__numbers", mean_grad_values, "mean_grad_values")


@student_facing
def check_q_rms_values__numbers(rms_grad_values) -> None:
    """``rms_grad_values`` holds two non-negative numbers (their values are graded by the autograder)."""
    _check_two_numbers(
        "q_rms_values__numbers", rms_grad_values, "rms_grad_values", nonnegative=True
    )


#: Question 2.C: the options each answer variable may take.
MEAN_VS_RMS_OPTIONS = {
    "never_smaller": ("mean", "RMS"),
    "typical_size": ("mean", "RMS"),
    "consistent_sign": ("close", "much smaller"),
    "sign_changes": ("close", "much smaller"),
}


def expect_choice(test_id: str, answer, name: str, shown: str | None = None) -> str:
    """``answer`` (one of MEAN_VS_RMS_OPTIONS[name], in any case, spaces around it ignored) stripped,
    or fail on its format, showing it as ``shown`` (its repr by default)."""
    options = MEAN_VS_RMS_OPTIONS[name]
    allowed = " or ".join(f'"{option}"' for option in options)
    if not isinstance(answer, str) or answer.strip().lower() not in {o.lower() for o in options}:
        fail(
            test_id,
            "format",
            f"{name} must be {allowed}, got {repr(answer) if shown is None else shown}",
            f"set {name} to one of the strings {allowed}",
        )
    return answer.strip()


def _check_choice(test_id: str, answer, name: str) -> None:
    allowed = " or ".join(f'"{option}"' for option in MEAN_VS_RMS_OPTIONS[name])
    print(
        f"{test_id}: {name} = {expect_choice(test_id, answer, name)!r} is one of {allowed}; "
        "the grader checks whether it is right"
    )


@student_facing
def check_q_mean_vs_rms__never_smaller(never_smaller) -> None:
    _check_choice("q_mean_vs_rms__never_smaller", never_smaller, "never_smaller")


@student_facing
def check_q_mean_vs_rms__typical_size(typical_size) -> None:
    _check_choice("q_mean_vs_rms__typical_size", typical_size, "typical_size")


@student_facing
def check_q_mean_vs_rms__consistent_sign(consistent_sign) -> None:
    _check_choice("q_mean_vs_rms__consistent_sign", consistent_sign, "consistent_sign")


@student_facing
def check_q_mean_vs_rms__sign_changes(sign_changes) -> None:
    _check_choice("q_mean_vs_rms__sign_changes", sign_changes, "sign_changes")


#: Task 2.2 cases: (x_t, beta, t, ema_star_old) -> (EMA_t, EMA*_t), worked out in advance. The
#: first four are one series, x = 1, 2, -1, 0.5 with beta = 0.5, starting from EMA*_0 = 0.
_EMA_CASES = [
    ((1.0, 0.5, 1, 0.0), (1.0, 0.5)),
    ((2.0, 0.5, 2, 0.5), (1.6666666667, 1.25)),
    ((-1.0, 0.5, 3, 1.25), (0.1428571429, 0.125)),
    ((0.5, 0.5, 4, 0.125), (0.3333333333, 0.3125)),
    ((2.0, 0.9, 5, 1.0), (2.6861370907, 1.1)),
    ((1.0, 0.99, 3, 0.5), (17.0027945187, 0.505)),
    ((-3.0, 0.9, 200, -2.0), (-2.1000000015, -2.1)),
]


def _check_ema_cases(test_id: str, ema_update: Callable, which: int, hint: str) -> None:
    for args, expected in _EMA_CASES:
        case = "x_t={}, beta={}, t={}, ema_star_old={}".format(*args)
        result = _call_pair(
            test_id, ema_update, case, args, "ema, ema_star_t", "return ema, ema_star_t"
        )
        got = got64(result[which])
        expect_close(
            test_id,
            f"{case}: {('ema', 'ema_star_t')[which]}",
            _f64(expected[which]),
            got,
            tolerance(_f64(expected[which]), got),
            hint,
        )
    print_passed(test_id, len(_EMA_CASES))


@student_facing
def check_ema_update__formula(ema_update: Callable) -> None:
    """The second output of ``ema_update`` is EMA*_t on a few fixed cases."""
    _check_ema_cases(
        "ema_update__formula",
        ema_update,
        1,
        "EMA*_t = beta * EMA*_{t-1} + (1 - beta) * x_t, returned second: the new value "
        "x_t gets the small weight 1 - beta",
    )


@student_facing
def check_ema_update__bias_correction(ema_update: Callable) -> None:
    """The first output of ``ema_update`` is the bias-corrected EMA_t on a few fixed cases."""
    _check_ema_cases(
        "ema_update__bias_correction",
        ema_update,
        0,
        "EMA_t = EMA*_t / (1 - beta ** t), returned first, with t counting from 1: "
        "at t = 1, starting from EMA*_0 = 0, the EMA equals x_1",
    )


@student_facing
def check_ema_update__tensors_unchanged(ema_update: Callable) -> None:
    """``ema_update`` works on tensors of any shape, giving element by element what it gives
    for numbers, and does not modify its inputs."""
    test_id = "ema_update__tensors_unchanged"
    hint = "use operations that make new tensors (beta * old + ...), not in-place ones (*=, +=, .mul_())"
    x_rows, old_rows = [[1.0, -2.0, 0.5], [4.0, 0.0, -1.0]], [[0.1, 0.2, 0.3], [-0.1, -0.2, -0.3]]
    beta, t = 0.9, 3
    cases = 0
    for dtype in (torch.float64, torch.float32):
        x = torch.tensor(x_rows, dtype=dtype)
        for start, step in [(torch.tensor(old_rows, dtype=dtype), t), (0.0, 1)]:
            case = (
                f"tensors of shape (2, 3), {dtype}, beta={beta}, t={step}, ema_star_old "
                f"{'a tensor' if isinstance(start, torch.Tensor) else '= 0.0'}"
            )
            x_before = x.clone()
            start_before = start.clone() if isinstance(start, torch.Tensor) else start
            result = _call_pair(
                test_id,
                ema_update,
                case,
                (x, beta, step, start),
                "ema, ema_star_t",
                "return ema, ema_star_t",
            )
            olds = (
                start_before.flatten().tolist()
                if isinstance(start, torch.Tensor)
                else [start] * x.numel()
            )
            try:
                scalar = [
                    _call_pair(
                        test_id, ema_update, case, (xi, beta, step, oi), "ema, ema_star_t", ""
                    )
                    for xi, oi in zip(x_before.flatten().tolist(), olds)
                ]
                scalar = [
                    _f64([float(pair[k]) for pair in scalar]).reshape(x.shape) for k in (0, 1)
                ]
            except Exception:  # the student's code on numbers; the two formula checks show why
                fail(
                    test_id,
                    case,
                    "ema_update fails on Python numbers, so its tensor results "
                    "cannot be compared with them",
                    "make check_ema_update__formula pass first",
                )
            if not torch.equal(x, x_before):
                fail(test_id, case, "ema_update changed its input x_t", hint)
            if isinstance(start, torch.Tensor) and not torch.equal(start, start_before):
                fail(test_id, case, "ema_update changed its input ema_star_old", hint)
            for name, got, want in zip(("ema", "ema_star_t"), result, scalar):
                if not isinstance(got, torch.Tensor):
                    fail(
                        test_id, case, f"{name} is a {type(got).__name__}, expected a tensor", hint
                    )
                expect_close(
                    test_id,
                    f"{case}: {name}, compared with your results for each element as a number",
                    want,
                    got,
                    tolerance(want, dtype, got),
                    "for tensors the "
                    "results must be what you get element by element for numbers; " + hint,
                )
            cases += 1
    print_passed(test_id, cases)


def method_globals(cls) -> list[dict]:
    """The global namespaces the methods of ``cls`` and of its bases (not ``object``) read, once each:
    for a class written in a notebook, the notebook's globals."""
    spaces = {}
    for klass in getattr(cls, "__mro__", (cls,)):
        for attr in vars(klass).values() if klass is not object else ():
            space = getattr(getattr(attr, "__func__", attr), "__globals__", None)
            if isinstance(space, dict):
                spaces[id(space)] = space
    return list(spaces.values())


def _student_global(cls, name: str):
    """What ``name`` means to the methods of ``cls`` (a notebook global), or None."""
    return next((space[name] for space in method_globals(cls) if name in space), None)


def _passes_quietly(check: Callable, *args) -> bool:
    import contextlib
    import io

    try:
        with contextlib.redirect_stdout(io.StringIO()):
            check(*args)
    except Exception:
        return False
    return True


def _check_adam(test_id: str, ADAMOptimizer, run: Callable[[], None]) -> None:
    """Run the check ``run``. If it fails while ``ema_update``, which ADAMOptimizer is built on,
    fails its own checks, say that ADAMOptimizer cannot be checked yet instead of failing: the
    autograder checks ADAMOptimizer with a correct ema_update, so one mistake costs once."""
    ADAMOptimizer(iter(random_parameters(0, TOY_SHAPES)), lr=0.1)
    try:
        run()
    except Exception:
        ema_update = _student_global(ADAMOptimizer, "ema_update")
        if ema_update is not None and all(
            _passes_quietly(check, ema_update)
            for check in (
                check_ema_update__formula,
                check_ema_update__bias_correction,
                check_ema_update__tensors_unchanged,
            )
        ):
            raise
        print(
            f"{test_id}: not checked yet: ADAMOptimizer is built on ema_update, which does not pass "
            "its own checks. Fix ema_update first; the grader checks ADAMOptimizer with a correct "
            "ema_update."
        )


ADAM_HINT = (
    "step() advances t by one, then for each parameter: g = the gradient of L_obj(p) + "
    "weight_decay / 2 * ||p||^2 (your answer to 1.D); "
    "m, m* = ema_update(g, beta1, t, m*); v, v* = ema_update(g * g, beta2, t, v*); "
    "p -= lr * m / (sqrt(v) + eps); m* and v* are kept for the next step"
)
STATE_HINT = (
    "create the state with torch.zeros_like(p), which has p's shape, dtype and device "
    "(torch.zeros(p.shape) is float32 on the CPU)"
)
ADAM_DECAY_HINT = (
    "with weight_decay > 0, g is the gradient of L_obj(p) + weight_decay / 2 * ||p||^2 "
    "(your answer to 1.D), and both moments use that g (coupled L2, as in Part 1 and "
    "torch.optim.Adam); nothing else changes"
)
CLASS_STATE_HINT = (
    "each optimizer keeps its own settings (lr, betas, eps, weight_decay), t, m* and v*: "
    "create them in __init__ as attributes of self (self.lr = lr, self.t = 0), not as "
    "class attributes shared by every ADAMOptimizer (ADAMOptimizer.lr = lr, or a list "
    "or dict written in the class body)"
)
TWIN_HINT = (
    "two parameters of the same shape must not share m* and v*: is the state keyed by p.shape, or "
    "by something else two parameters can share? Keep it per parameter: lists in the order of "
    "self.parameters, or a dict keyed by the parameter's position"
)

# Classic mistakes in Adam, by description (the hidden checks simulate their whole paths; these
# checks name the first three from the first step, "your first step matches", and only where that
# step differs from torch's: a simulation of later steps would be an Adam to copy).
NO_BIAS_CORRECTION = (
    "no bias correction (m* and v* used as they are; divide them by 1 - beta1^t and 1 - beta2^t)"
)
EPS_INSIDE_SQRT = (
    "eps inside the square root: the update divides by sqrt(v_hat + eps) instead of "
    "sqrt(v_hat) + eps"
)
NO_SQRT = "no square root: the update divides by v_hat + eps instead of sqrt(v_hat) + eps"
DECAY_IGNORED = (
    "weight_decay ignored (the moments must see the gradient of L_obj(p) + weight_decay / 2 "
    "* ||p||^2, your answer to 1.D)"
)
PER_PARAMETER_MISTAKE = (
    "t advanced once per parameter instead of once per step() (increment t once, before the loop)"
)
PERSIST_MISTAKE = (
    "the moments never persist: m* and v* start from zero at every step (the state is "
    "rebound, e.g. `m, m_star = ema_update(...)` into a loop variable, instead of "
    "updated in place with m_star.copy_(...) or m_star[...] = ...)"
)
OWN_STATE_HINT = (
    f"a parameter's updates depend only on its own gradients and on t: {PER_PARAMETER_MISTAKE}, "
    "or state shared between parameters?"
)


def drive(make: Callable, init, steps: int, gradients: Callable):
    """Run ``steps`` steps of ``make(iter(params))`` over leaf_copies(init), each p.grad set to
    ``gradients(step, params)`` first: (the path as run_steps gives it, the parameters, the
    optimizer). Setting p.grad here, a broken zero_grad costs only its own check."""
    params = leaf_copies(init)
    optimizer = make(iter(params))
    path = []
    for step in range(steps):
        for p, grad in zip(params, gradients(step, params)):
            p.grad = grad.detach().clone()
        optimizer.step()
        path.append(flat(params))
    return torch.stack(path), params, optimizer


def loss_gradients(loss: Callable = quartic_loss) -> Callable:
    """A gradient source for drive: the gradients of ``loss`` at the current parameters."""

    def source(step, params):
        return torch.autograd.grad(loss(params), params)

    return source


def fixed_gradients(sequence) -> Callable:
    """A gradient source for drive: ``sequence[step]`` (a list of tensors), whatever the parameters."""

    def source(step, params):
        return [g.clone() for g in sequence[step]]

    return source


def with_l2(gradients: Callable, weight_decay: float) -> Callable:
    """A gradient source for drive: that of ``gradients``' loss plus (weight_decay / 2) |p|^2."""

    def source(step, params):
        return [g + weight_decay * p.detach() for g, p in zip(gradients(step, params), params)]

    return source


def _adam_first_step_mistakes(kwargs: dict) -> dict:
    """What classic mistakes in the update give at the first step from random_parameters(0,
    TOY_SHAPES), as a path of one step: at t = 1 the bias-corrected moments are g and g * g."""
    params = random_parameters(0, TOY_SHAPES)
    g = flat(torch.autograd.grad(quartic_loss(params), params))
    lr, (beta1, beta2), eps = (
        kwargs["lr"],
        kwargs.get("betas", (0.9, 0.999)),
        kwargs.get("eps", 1e-8),
    )
    steps = {
        EPS_INSIDE_SQRT: g / (g * g + eps).sqrt(),
        NO_SQRT: g / (g * g + eps),
        NO_BIAS_CORRECTION: (1 - beta1) * g / ((1 - beta2) ** 0.5 * g.abs() + eps),
    }
    return {name: (flat(params) - lr * step)[None] for name, step in steps.items()}


def _adam_against_torch(test_id: str, ADAMOptimizer, cases, steps: int, hint: str) -> None:
    """Compare ``ADAMOptimizer(params, **kw)`` with ``torch.optim.Adam(params, **kw)`` step by step
    on quartic_loss (see drive)."""
    for kwargs in cases:
        case = ", ".join(f"{k}={v}" for k, v in kwargs.items()) + f", {steps} steps"
        init = random_parameters(0, TOY_SHAPES)
        got, params, optimizer = drive(
            lambda p: ADAMOptimizer(p, **kwargs), init, steps, loss_gradients()
        )
        expected, _, _ = drive(
            lambda p: torch.optim.Adam(p, **kwargs), init, steps, loss_gradients()
        )
        mismatch = _state_mismatch(optimizer, params)
        expect_path(
            test_id,
            case,
            expected,
            got,
            tolerance(expected, got),
            f"{mismatch}: {STATE_HINT}" if mismatch else hint,
            lambda: _adam_first_step_mistakes(kwargs),
        )
    print_passed(test_id, len(cases))


@student_facing
def check_adam_optimizer__matches_torch(ADAMOptimizer) -> None:
    """``ADAMOptimizer`` without weight decay equals torch.optim.Adam step for step."""
    test_id = "adam_optimizer__matches_torch"
    _check_adam(
        test_id,
        ADAMOptimizer,
        lambda: _adam_against_torch(
            test_id,
            ADAMOptimizer,
            [{"lr": 0.1}, {"lr": 0.05, "betas": (0.5, 0.9), "eps": 0.1}],
            steps=5,
            hint=ADAM_HINT,
        ),
    )


@student_facing
def check_adam_optimizer__weight_decay(ADAMOptimizer) -> None:
    """``ADAMOptimizer(weight_decay=wd)`` on a loss L does what ``ADAMOptimizer(weight_decay=0)``
    does on L + (wd / 2) |p|^2: PyTorch's coupled L2, whatever the rest of the update."""
    test_id = "adam_optimizer__weight_decay"
    cases = [
        {"lr": 0.1, "weight_decay": 0.1},
        {"lr": 0.05, "betas": (0.8, 0.95), "weight_decay": 0.5},
    ]

    def own_path(kwargs, gradients):
        return drive(
            lambda p: ADAMOptimizer(p, **kwargs), random_parameters(0, TOY_SHAPES), 5, gradients
        )[0]

    def run():
        for kwargs in cases:
            wd = kwargs["weight_decay"]
            plain = {k: v for k, v in kwargs.items() if k != "weight_decay"}
            got = own_path(kwargs, loss_gradients())
            expected = own_path(plain, with_l2(loss_gradients(), wd))
            ignored = own_path(plain, loss_gradients())
            case = ", ".join(f"{k}={v}" for k, v in kwargs.items())
            for step, (g, e, i) in enumerate(zip(got, expected, ignored), start=1):
                expect_close(
                    test_id,
                    f"{case}, after step {step}: compared with your ADAMOptimizer "
                    f"without weight decay on the loss + ({wd}/2)|p|^2",
                    e,
                    g,
                    tolerance(e, g),
                    ADAM_DECAY_HINT,
                    {DECAY_IGNORED: i},
                )
        print_passed(test_id, len(cases))

    _check_adam(test_id, ADAMOptimizer, run)


#: Gradients set by hand for two parameters (shapes (2,) and ()), changing sign and size.
_HAND_GRADIENTS = [
    ([0.5, -1.0], 2.0),
    ([-1.5, 0.2], -0.5),
    ([0.1, 3.0], 1.0),
    ([2.0, -0.3], -2.5),
    ([-0.4, 0.8], 0.3),
    ([1.2, 1.2], -1.0),
]


def _steps_with_hand_gradients(make, gradients=_HAND_GRADIENTS, which=(0, 1)) -> torch.Tensor:
    """drive's path of ``make`` over the parameters ``which`` of ((0.3, -0.7), 1.1), their
    gradients set by hand."""
    init = [torch.tensor(start, dtype=torch.float64) for start in ([0.3, -0.7], 1.1)]
    sequence = [[torch.tensor(grads[i], dtype=torch.float64) for i in which] for grads in gradients]
    return drive(make, [init[i] for i in which], len(gradients), fixed_gradients(sequence))[0]


def _twins_with_hand_gradients(make, which=(0, 1)) -> torch.Tensor:
    """drive's path of ``make`` over the parameters ``which`` of two of one shape, (0.3, -0.7) and
    (1.1, -0.2), with the vectors of _HAND_GRADIENTS as the gradients of the first and those
    reversed as the second's."""
    init = [torch.tensor(start, dtype=torch.float64) for start in ([0.3, -0.7], [1.1, -0.2])]
    sequence = [
        [torch.tensor(vector if i == 0 else vector[::-1], dtype=torch.float64) for i in which]
        for vector, _ in _HAND_GRADIENTS
    ]
    return drive(make, [init[i] for i in which], len(sequence), fixed_gradients(sequence))[0]


#: Two optimizers alive at once (Task 2.3's state_persists): each keeps its own settings.
_IN_TURN_SETTINGS = (
    {"lr": 0.1, "betas": (0.8, 0.9)},
    {"lr": 0.03, "betas": (0.5, 0.99), "eps": 1e-6},
)


def _check_in_turn(test_id: str, ADAMOptimizer, steps: int = 5) -> None:
    """Two ADAMOptimizer objects, made one after the other with _IN_TURN_SETTINGS and stepped in
    turn (run_in_turn), each move as it does alone."""
    makers = [lambda p, kw=kw: ADAMOptimizer(p, **kw) for kw in _IN_TURN_SETTINGS]
    together = run_in_turn(makers, [random_parameters(seed, TOY_SHAPES) for seed in (0, 1)], steps)
    for index, (make, path) in enumerate(zip(makers, together)):
        alone = run_steps(make, random_parameters(index, TOY_SHAPES), steps)
        expect_path(
            test_id,
            f"two optimizers alive at once, {_IN_TURN_SETTINGS[0]} and "
            f"{_IN_TURN_SETTINGS[1]}, stepped in turn: the {('first', 'second')[index]}",
            alone,
            path,
            tolerance(alone),
            CLASS_STATE_HINT,
            what="expected (what it does alone)",
        )


@student_facing
def check_adam_optimizer__state_persists(ADAMOptimizer) -> None:
    """Each parameter's m* and v* carry over from step to step, and t advances once per step():
    a step depends on earlier gradients, a parameter moves the same alone or with others (also
    one of the same shape), and two optimizers alive at once share nothing."""
    test_id = "adam_optimizer__state_persists"
    kwargs = {"lr": 0.1, "betas": (0.8, 0.9)}

    def run():
        make = lambda p: ADAMOptimizer(p, **kwargs)
        first = _steps_with_hand_gradients(make)
        (vector, scalar), rest = _HAND_GRADIENTS[0], _HAND_GRADIENTS[1:]
        changed = [([-3 * g for g in vector], -3 * scalar)] + rest
        second = _steps_with_hand_gradients(make, changed)
        moved_first, moved_second = first[1] - first[0], second[1] - second[0]
        if (moved_first - moved_second).abs().max().item() < 1e-7:
            fail(
                test_id,
                "two runs whose gradients differ only at step 1",
                f"step 2 moved the parameters by {show(moved_first)} in both runs: the first "
                "gradient was forgotten",
                mistake_hint(PERSIST_MISTAKE),
            )
        alone = _steps_with_hand_gradients(make, which=(1,))
        for step, (a, b) in enumerate(zip(alone, first), start=1):
            expect_close(
                test_id,
                f"the scalar parameter after step {step}, with the other parameter "
                "in the optimizer, compared with it alone",
                a,
                b[-1:],
                tolerance(a),
                OWN_STATE_HINT,
            )
        together = _twins_with_hand_gradients(make)
        for index in (0, 1):
            alone = _twins_with_hand_gradients(make, which=(index,))
            expect_path(
                test_id,
                f"two parameters of shape (2,) in one optimizer: the "
                f"{('first', 'second')[index]}, compared with it alone",
                alone,
                together[:, 2 * index : 2 * index + 2],
                tolerance(alone),
                TWIN_HINT,
                what="expected (what it does alone)",
            )
        _check_in_turn(test_id, ADAMOptimizer)
        print_passed(test_id, len(_HAND_GRADIENTS) + 3)

    _check_adam(test_id, ADAMOptimizer, run)


def tensors_held(obj, exclude) -> list[tuple[str, torch.Tensor]]:
    """(where, tensor) for the floating-point tensors in ``obj``'s attributes, in lists, tuples
    and dicts up to three levels deep, except those in ``exclude``."""
    skip, found = {id(t) for t in exclude}, []

    def walk(value, where, depth):
        if isinstance(value, torch.Tensor):
            if id(value) not in skip and value.is_floating_point():
                found.append((where, value))
        elif depth < 3 and isinstance(value, (list, tuple, dict)):
            items = value.items() if isinstance(value, dict) else enumerate(value)
            for key, item in items:
                walk(
                    item,
                    f"{where}[{key if not isinstance(key, torch.Tensor) else '...'}]",
                    depth + 1,
                )

    for name, value in vars(obj).items():
        walk(value, f"self.{name}", 0)
    return found


def tensor_facts(t: torch.Tensor) -> dict:
    """What state_mismatch needs of a tensor, as plain data: shape (a list), dtype and device (str)."""
    return {"shape": list(t.shape), "dtype": str(t.dtype), "device": str(t.device)}


def state_facts(optimizer, params) -> list[dict]:
    """tensor_facts and "where" of each tensor ``optimizer`` holds besides ``params`` (tensors_held)."""
    return [{"where": where, **tensor_facts(t)} for where, t in tensors_held(optimizer, params)]


def state_mismatch(state: list[dict], params: list[dict]) -> str | None:
    """A state tensor (state_facts) whose dtype or device is not that of its parameter (tensor_facts),
    described; else None. A state tensor belongs to the parameters of its shape (the checks give
    parameters of different shapes); single numbers are left out: a setting held as a tensor
    (torch.tensor(lr)) is one too."""
    for s in state:
        owners = [p for p in params if s["shape"] and p["shape"] == s["shape"]]
        if not owners:
            continue
        devices_ok = any(s["device"] == p["device"] for p in owners)
        dtypes_ok = len({p["dtype"] for p in owners}) > 1 or s["dtype"] == owners[0]["dtype"]
        if not (devices_ok and dtypes_ok):
            p = owners[0]
            return (
                f"{s['where']} is {s['dtype']} on {s['device']}, for a {p['dtype']} parameter "
                f"of shape {tuple(p['shape'])} on {p['device']}"
            )
    return None


def _state_mismatch(optimizer, params) -> str | None:
    return state_mismatch(state_facts(optimizer, params), [tensor_facts(p) for p in params])


@student_facing
def check_adam_optimizer__devices_dtypes(ADAMOptimizer) -> None:
    """``ADAMOptimizer`` keeps float32 and float64 parameters, on the chosen device, as they
    are, and gives what it gives for the same values in float64 on the CPU."""
    test_id = "adam_optimizer__devices_dtypes"
    device = pick_device()
    hint = STATE_HINT

    def path(dtypes, where):
        # quartic_loss has one term per parameter: the float64 ones do not see float32 rounding.
        init = [
            p.detach().to(dtype=d, device=where)
            for p, d in zip(random_parameters(2, TOY_SHAPES), dtypes)
        ]
        _, params, optimizer = drive(lambda p: ADAMOptimizer(p, lr=0.05), init, 4, loss_gradients())
        return params, optimizer

    def run():
        dtypes = (torch.float64, torch.float32, torch.float64)
        try:
            got, optimizer = path(dtypes, device)
        except RuntimeError as err:
            if "device" not in str(err).lower():
                raise
            fail(
                test_id,
                f"float32 and float64 parameters on {device}",
                f"step() failed: {str(err).splitlines()[0]}",
                hint,
            )
        mismatch = _state_mismatch(optimizer, got)
        if mismatch:
            fail(test_id, f"float32 and float64 parameters on {device}", mismatch, hint)
        expected, _ = path((torch.float64,) * 3, "cpu")
        for g, e, dtype in zip(got, expected, dtypes):
            case = f"a {dtype} parameter of shape {tuple(e.shape)} on {device}, after 4 steps"
            if g.dtype != dtype or g.device.type != torch.device(device).type:
                fail(test_id, case, f"the parameter became {g.dtype} on {g.device}", hint)
            expect_close(
                test_id,
                f"{case}, compared with your result in float64 on the CPU",
                e,
                g,
                tolerance(e, dtype),
                hint,
            )
        print_passed(test_id, len(expected))

    _check_adam(test_id, ADAMOptimizer, run)


@student_facing
def check_adam_optimizer__zero_grad(ADAMOptimizer) -> None:
    """``zero_grad()`` clears every parameter's gradient (to None or zeros)."""
    expect_zero_grad("adam_optimizer__zero_grad", ADAMOptimizer, "t, m* and v* and the settings")


# end of Part 2 checks
