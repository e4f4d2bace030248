"""Checks of notebook 2: gradient statistics, the exponential moving average and a hand-written
Adam (reference: ``torch.optim.Adam``).

Every task's aspects are graded aspects declared here (``hw2checks.aspect``): a probe runs your
answer on cases drawn with ``case_seed``, and a comparison judges what it returned. The formulas
of Tasks 2.1 and 2.2 are the answers, so their visible checks compare with values worked out in
advance for the public cases (PUBLIC_GRAD_STATS, PUBLIC_EMA); the grader adds its own reference.
Adam is compared with torch.optim.Adam, or with your own optimizer in another setting; the
visible checks name mistakes of the update from their first step only. Adam's probes are given
``ema_update`` (``given``): the grader runs your ADAMOptimizer with Task 2.2's EMA in place of
yours, and the visible checks, run with your own, say "not checked yet" while it fails its checks.
"""

from __future__ import annotations

import contextlib
import functools
import io
import math
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, TypeVar, cast

import torch

from hw2checks.aspect import NO_HIDDEN, Hidden, aspect
from hw2checks.part1 import (
    TOY_SHAPES,
    MakeOptimizer,
    exercise_zero_grad,
    flat,
    leaf_copies,
    quartic_loss,
    random_parameters,
    run_in_turn,
    torch_sgd_path,
    zero_grad_cases,
)
from hw2checks.probing import Delegated, devices, globals_read, no_torch_optim, plain
from hw2checks.runs import case_seed, describe_error
from hw2checks.toolkit import (
    CheckFailed,
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
from hw2utils import BOWL_START, LossFunctionWithPlot

DTYPES = (torch.float64, torch.float32)
MAX_ITEMS = 100  # a longer list or tuple is described, not kept (an answer holds a few numbers)

T = TypeVar("T")
#: The gradients a drive sets at each step: source(step, params).
GradientSource = Callable[[int, Sequence[torch.Tensor]], Sequence[torch.Tensor]]
#: An EMA case: (x_t, beta, t, ema_star_old).
EmaArgs = tuple[float, float, int, float]
#: A tensor case of ema_update: (case, x, ema_star_old, beta, t).
EmaTensorCase = tuple[str, torch.Tensor, torch.Tensor | float, float, int]


def _f64(values: object) -> torch.Tensor:
    """Numbers fixed in advance, kept in float64 (torch.as_tensor would round them to float32)."""
    return torch.tensor(values, dtype=torch.float64)


def got64(value: object) -> object:
    """A tensor as it is; a result that is not one (a float, a list) as a float64 tensor (not
    rounded to float32); what cannot be one as it is."""
    if isinstance(value, torch.Tensor):
        return value
    try:
        return torch.as_tensor(value, dtype=torch.float64)
    except (TypeError, ValueError, RuntimeError):
        return value


# What your code produced, as plain data (the probes) ------------------------------------------
# A call of your code that raises is kept as {"raised": ...} in place of its result, so that the
# comparison reports it where its case comes, after the cases before it.


def _attempt(call: Callable[[], object]) -> object:
    """call(), or {"raised": what it raised}."""
    try:
        return call()
    except Delegated:  # a torch.optim optimizer: the whole probe says so (see _adam_probe)
        raise
    except Exception as exc:
        return {"raised": describe_error(exc)}


def _described(value: object) -> dict[str, str]:
    try:
        shown = repr(value)[:200]
    except Exception:  # the student's __repr__
        shown = f"<{type(value).__name__}>"
    return {"type": type(value).__name__, "repr": shown}


def _value(value: object, depth: int = 0) -> object:
    """A value your code gave: a tensor as a CPU copy; a number, str or None as it is; a short
    list or tuple item by item; an array as a tensor; anything else as {"type", "repr"}."""
    if isinstance(value, torch.Tensor):
        return plain(value)
    if value is None:
        return None
    for kind in (bool, int, float, str):  # exact types: numpy.float64 is a float torch.load refuses
        if isinstance(value, kind):
            return kind(value)
    if isinstance(value, (list, tuple)):
        if depth >= 3 or len(value) > MAX_ITEMS:
            return _described(value)
        items = [_value(item, depth + 1) for item in value]
        return tuple(items) if isinstance(value, tuple) else items
    try:
        return torch.as_tensor(value).clone()  # numpy arrays and scalars
    except Exception:  # not array-like: say what it is
        return _described(value)


def _placed(value: object) -> dict[str, torch.Tensor | str]:
    """A tensor with the device it is on, or the type of what is not a tensor."""
    if isinstance(value, torch.Tensor):
        return {"tensor": plain(value), "device": str(value.device)}
    return {"type": type(value).__name__}


def _pair(result: object, describe: Callable[[object], object] = _value) -> list[object] | str:
    """The two values a function returned, or, when it returned no pair, the type it returned."""
    if isinstance(result, (tuple, list)) and len(result) == 2:
        return [describe(result[0]), describe(result[1])]
    return type(result).__name__


# What a comparison accepts of the probes' data ---------------------------------------------------


def field(test_id: str, data: object, key: str) -> Any:
    if not isinstance(data, dict) or key not in data:
        malformed(test_id, f"no {key!r}")
    return data[key]


def items(test_id: str, data: object, n: int, what: str) -> list[Any]:
    if not isinstance(data, (list, tuple)) or len(data) != n:
        malformed(test_id, f"{what}: expected {n} entries")
    return list(data)


def tensor(test_id: str, value: object, what: str) -> torch.Tensor:
    if not isinstance(value, torch.Tensor) or value.is_complex():
        malformed(test_id, f"{what} is not a real tensor")
    return value


def on_device(test_id: str, data: object, device: str) -> Any:
    """The probe's data for ``device``: a grader with a GPU requires results on it too."""
    if not isinstance(data, dict) or device not in data:
        malformed(test_id, f"no results on {device}")
    return data[device]


def by_device(
    test_id: str, data: object, cases: Mapping[str, Sequence[T]]
) -> Iterator[tuple[str, T, Any]]:
    """(device, case, the probe's entry for it) for each case of ``cases`` ({device: [case]})."""
    for device, device_cases in cases.items():
        entries = items(
            test_id, on_device(test_id, data, device), len(device_cases), f"the cases on {device}"
        )
        for case, entry in zip(device_cases, entries):
            yield device, case, entry


def not_raised(test_id: str, case: str, entry: Any) -> Any:
    """``entry``, unless it says your code raised: then the check fails here, after the cases
    before it."""
    if isinstance(entry, dict) and "raised" in entry:
        raise CheckFailed(f"{test_id}, case {case}: running your code raised {entry['raised']}")
    return entry


def pair(test_id: str, case: str, entry: Any, names: str, hint: str) -> list[Any]:
    """The two values a function of yours returned (see _pair)."""
    entry = not_raised(test_id, case, entry)
    if isinstance(entry, str):
        fail(test_id, case, f"expected a pair ({names}), got {entry}", hint)
    return items(test_id, entry, 2, f"{case}: the pair")


def shown(value: object) -> str:
    """How a value the probe returned prints (your own repr for one it described)."""
    if isinstance(value, dict) and "repr" in value:
        return str(value["repr"])
    return repr(value)


def close(
    test_id: str,
    case: str,
    expected: object,
    got: object,
    hint: str,
    mistakes: Mapping[str, object] | None = None,
    inputs: object = torch.float64,
) -> None:
    """expect_close on a value the probe returned, with every number kept in float64, within the
    tolerance of the dtypes of ``inputs`` and of ``got``."""
    if isinstance(got, dict):  # what the probe returns for a value it cannot keep
        fail(test_id, case, f"expected a tensor or number, got {got.get('type')}", hint)
    expected = got64(expected)
    expect_close(
        test_id,
        case,
        expected,
        got64(got),
        tolerance(expected, inputs, got),
        hint,
        {name: got64(value) for name, value in (mistakes or {}).items()},
    )


# Task 2.1: gradient_stats(grads) -> (mean, rms) --------------------------------------------------


def rms_mistakes(g: torch.Tensor) -> dict[str, torch.Tensor]:
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


def _mean_mistakes(g: torch.Tensor) -> dict[str, torch.Tensor]:
    return {
        "the mean of |g| instead of the mean of g": g.abs().mean(dim=0),
        "the sum over the steps instead of the mean": g.sum(dim=0),
    }


def bowl_gradients(steps: int = 50, lr: float = 0.1) -> torch.Tensor:
    """The gradient at each of the ``steps`` points gradient descent visits on the bowl from x0
    (torch_sgd_path), (steps, 2)."""
    L = LossFunctionWithPlot()
    points = [x.requires_grad_() for x in torch_sgd_path(L, BOWL_START, lr, steps)]
    return torch.stack([torch.autograd.grad(L(x), x)[0] for x in points])


def random_gradients(
    g: torch.Generator, T: int, d: int, dtype: torch.dtype, device: str | torch.device
) -> torch.Tensor:
    """Gradients with a per-coordinate offset and spread, so mean and RMS differ."""
    offset = torch.randn(d, generator=g, dtype=torch.float64) * 2
    spread = torch.rand(d, generator=g, dtype=torch.float64) * 3 + 0.1
    grads = offset + spread * torch.randn(T, d, generator=g, dtype=torch.float64)
    return grads.to(dtype=dtype, device=device)


BOWL_CASE = "gradients of 50 steps on the bowl"


def grad_stats_value_cases() -> list[tuple[str, torch.Tensor]]:
    """(case, grads): the 50 gradients on the bowl, then random ones of a few sizes, float64 and float32."""
    g = torch.Generator().manual_seed(case_seed(21))
    cases = [(BOWL_CASE, bowl_gradients())]
    for dtype in DTYPES:
        for T, d in [(30, 2), (7, 3), (12, 1), (5, 6)]:
            cases.append(
                (
                    f"random grads of shape ({T}, {d}), {dtype}",
                    random_gradients(g, T, d, dtype, "cpu"),
                )
            )
    return cases


#: The per-coordinate (mean, RMS) of the public cases of grad_stats_value_cases (the default seed),
#: worked out in advance: the visible check has no formula to compute them with. The bowl's are
#: the answers to Questions 2.A and 2.B, so only the grader compares that case.
PUBLIC_GRAD_STATS = {
    "random grads of shape (30, 2), torch.float64": (
        [0.2269923683, -1.0460174241],
        [1.0841526944, 1.4271773017],
    ),
    "random grads of shape (7, 3), torch.float64": (
        [3.1051715736, -2.6819978986, 5.7503502884],
        [3.4980022718, 3.7569523503, 5.9550947502],
    ),
    "random grads of shape (12, 1), torch.float64": ([-2.2368020303], [3.8150891965]),
    "random grads of shape (5, 6), torch.float64": (
        [-1.4792995309, 2.1838580835, -0.7122792607, 0.9795684067, 0.5860171457, 0.1107020468],
        [2.6204933817, 2.1874084078, 2.6825314237, 1.0160020298, 2.3874309924, 1.8875117339],
    ),
    "random grads of shape (30, 2), torch.float32": (
        [-0.03893493, 1.202050663],
        [0.1575057254, 2.457761704],
    ),
    "random grads of shape (7, 3), torch.float32": (
        [-4.4943922928, -1.5617693237, -3.8127789838],
        [4.5839888553, 3.8043053387, 3.8250731731],
    ),
    "random grads of shape (12, 1), torch.float32": ([3.699764063], [3.9624667524]),
    "random grads of shape (5, 6), torch.float32": (
        [-2.2733419418, 3.8477815628, -0.0998408139, 0.2192047358, -0.5119500518, 2.0055838585],
        [2.935300035, 3.8551570006, 0.6860441255, 2.7261302257, 0.5348580847, 3.9451719366],
    ),
}

GRAD_STATS_HINT = (
    "average over the steps (dim 0), one value per coordinate: mean = g.mean(dim=0), "
    "RMS = square root of the mean of the squares"
)


def probe_grad_stats__values(gradient_stats: Callable[[torch.Tensor], object]) -> list[object]:
    """Per case, the pair gradient_stats returned for a copy of grads."""
    return [
        _attempt(lambda: _pair(gradient_stats(grads.clone())))
        for _, grads in grad_stats_value_cases()
    ]


@aspect(probe=probe_grad_stats__values)
def check_grad_stats__values(data: Any, hidden: Hidden = NO_HIDDEN) -> int:
    """``gradient_stats(grads)`` returns the per-coordinate mean and RMS over the steps. The
    grader's reference is ``hidden["reference"]``; without it, the public cases' values above."""
    test_id = "grad_stats__values"
    reference = hidden.get("reference")
    cases = grad_stats_value_cases()
    n = 0
    for (case, grads), entry in zip(cases, items(test_id, data, len(cases), "the cases")):
        mean, rms = pair(test_id, case, entry, "mean, rms", "return mean, rms")
        g = grads.double().cpu()
        if reference is not None:
            expected_mean, expected_rms = reference(g)
        elif case in PUBLIC_GRAD_STATS:
            expected_mean, expected_rms = (_f64(v) for v in PUBLIC_GRAD_STATS[case])
        else:
            continue
        hint = f"{GRAD_STATS_HINT}; for grads of shape {tuple(grads.shape)} both have shape ({grads.shape[1]},)"
        close(test_id, f"{case}: mean", expected_mean, mean, hint, _mean_mistakes(g), grads.dtype)
        close(test_id, f"{case}: RMS", expected_rms, rms, hint, rms_mistakes(g), grads.dtype)
        n += 1
    return n


def grad_stats_shape_cases(device_list: Iterable[str]) -> dict[str, list[tuple[str, torch.Tensor]]]:
    """{device: [(case, grads)]}: a single step, a single coordinate, float64 and float32."""
    g = torch.Generator().manual_seed(case_seed(22))
    cases: dict[str, list[tuple[str, torch.Tensor]]] = {}
    for device in device_list:
        cases[device] = [
            (
                f"grads of shape ({T}, {d}), {dtype}, {device}",
                random_gradients(g, T, d, dtype, device),
            )
            for dtype in DTYPES
            for T, d in [(1, 2), (1, 5), (4, 1), (3, 10)]
        ]
    return cases


def _device(value: object) -> str | None:
    return str(value.device) if isinstance(value, torch.Tensor) else None


def _stats_and_grads_after(
    gradient_stats: Callable[[torch.Tensor], object], grads: torch.Tensor
) -> dict[str, object]:
    result = gradient_stats(grads.clone())
    stats, places = _pair(result), _pair(result, _device)
    gradient_stats(grads)  # on grads itself, not a copy: the comparison sees whether it changed
    return {"stats": stats, "devices": places, "grads_after": plain(grads)}


def probe_grad_stats__shapes(
    gradient_stats: Callable[[torch.Tensor], object],
) -> dict[str, list[object]]:
    """{device: per case, the pair returned for a copy of grads, the device of each (None for what
    is not a tensor), and grads after a call on it}."""
    return {
        device: [
            _attempt(lambda: _stats_and_grads_after(gradient_stats, grads)) for _, grads in cases
        ]
        for device, cases in grad_stats_shape_cases(devices()).items()
    }


def _stat_shapes(test_id: str, case: str, grads: torch.Tensor, entry: Any) -> None:
    """Mean and RMS each of shape (d,) for grads of shape (T, d), on grads' device (their values
    are grad_stats__values' to judge)."""
    d = grads.shape[1]
    stats = pair(test_id, case, field(test_id, entry, "stats"), "mean, rms", "return mean, rms")
    places = items(test_id, field(test_id, entry, "devices"), 2, f"{case}: the devices")
    hint = (
        f"average over the steps (dim 0), one value per coordinate: for grads of shape "
        f"{tuple(grads.shape)} mean and RMS both have shape ({d},)"
    )
    for name, value, place in zip(("mean", "RMS"), stats, places):
        got = got64(value)
        if not isinstance(got, torch.Tensor):
            fail(test_id, f"{case}: {name}", f"expected a tensor, got {shown(value)}", hint)
        if tuple(got.shape) != (d,):
            fail(test_id, f"{case}: {name}", f"expected shape ({d},), got {tuple(got.shape)}", hint)
        if place is not None and (
            not isinstance(place, str) or place.split(":")[0] != grads.device.type
        ):
            fail(
                test_id,
                f"{case}: {name}",
                f"{name} is on {place}, expected {grads.device.type}",
                "compute with tensor operations on grads: the results stay on its device",
            )


@aspect(probe=probe_grad_stats__shapes)
def check_grad_stats__shapes(data: Any, hidden: Hidden = NO_HIDDEN) -> int:
    """``gradient_stats`` returns two tensors of shape (d,) for grads of shape (T, d), any d, on
    grads' device, and leaves grads as it was (the values are check_grad_stats__values')."""
    test_id = "grad_stats__shapes"
    n = 0
    for _, (case, grads), entry in by_device(test_id, data, grad_stats_shape_cases(devices())):
        entry = not_raised(test_id, case, entry)
        _stat_shapes(test_id, case, grads, entry)
        after = tensor(test_id, field(test_id, entry, "grads_after"), f"{case}: grads")
        if after.dtype != grads.dtype or not torch.equal(after, grads.cpu()):
            fail(
                test_id,
                case,
                "gradient_stats changed the tensor it was given",
                "compute new tensors (g.mean(dim=0), ...) instead of modifying grads in place",
            )
        n += 1
    return n


#: Questions 2.A and 2.B: how far the two numbers, read off a printout to 4 decimals, may be from
#: the true values.
ANSWER_TOLERANCE = 1e-3


def expect_two_numbers(
    test_id: str, value: object, name: str, nonnegative: bool = False, shown: str | None = None
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


def _two_numbers(
    test_id: str, data: object, name: str, hidden: Hidden, nonnegative: bool = False
) -> int | str:
    """Two numbers read off a printout: their form here; their values only where the grader
    attaches the true ones (``hidden["answer"](test_id, numbers)``), the answer itself."""
    got = expect_two_numbers(test_id, data, name, nonnegative, shown=shown(data))
    if "answer" in hidden:
        return cast(int | str, hidden["answer"](test_id, got))  # the grader's verdict line
    first, second = got.tolist()
    return (
        f"{test_id}: {name} = ({first:.4f}, {second:.4f}) has the right form; "
        f"the grader compares it with the true values (tolerance {ANSWER_TOLERANCE:g})"
    )


def probe_q_mean_values__numbers(mean_grad_values: object) -> object:
    return _value(mean_grad_values)


@aspect(probe=probe_q_mean_values__numbers)
def check_q_mean_values__numbers(data: Any, hidden: Hidden = NO_HIDDEN) -> int | str:
    """``mean_grad_values`` holds two numbers (their values are graded by the autograder)."""
    return _two_numbers("q_mean_values__numbers", data, "mean_grad_values", hidden)


def probe_q_rms_values__numbers(rms_grad_values: object) -> object:
    return _value(rms_grad_values)


@aspect(probe=probe_q_rms_values__numbers)
def check_q_rms_values__numbers(data: Any, hidden: Hidden = NO_HIDDEN) -> int | str:
    """``rms_grad_values`` holds two non-negative numbers (their values are graded by the autograder)."""
    return _two_numbers("q_rms_values__numbers", data, "rms_grad_values", hidden, nonnegative=True)


#: Question 2.C: the options each answer variable may take.
MEAN_VS_RMS_OPTIONS = {
    "never_smaller": ("mean", "RMS"),
    "typical_size": ("mean", "RMS"),
    "consistent_sign": ("close", "much smaller"),
    "sign_changes": ("close", "much smaller"),
}


def expect_choice(test_id: str, answer: object, name: str, shown: str | None = None) -> str:
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


def _choice(test_id: str, data: object, name: str, hidden: Hidden) -> int | str:
    """One of MEAN_VS_RMS_OPTIONS[name]: its form here; whether it is right only where the grader
    attaches the right ones (``hidden["answer"](test_id, name, choice)``)."""
    answer = expect_choice(test_id, data, name, shown(data))
    if "answer" in hidden:
        return cast(int | str, hidden["answer"](test_id, name, answer))  # the grader's verdict line
    allowed = " or ".join(f'"{option}"' for option in MEAN_VS_RMS_OPTIONS[name])
    return (
        f"{test_id}: {name} = {answer!r} is one of {allowed}; the grader checks whether it is right"
    )


def probe_q_mean_vs_rms__never_smaller(never_smaller: object) -> object:
    return _value(never_smaller)


@aspect(probe=probe_q_mean_vs_rms__never_smaller)
def check_q_mean_vs_rms__never_smaller(data: Any, hidden: Hidden = NO_HIDDEN) -> int | str:
    return _choice("q_mean_vs_rms__never_smaller", data, "never_smaller", hidden)


def probe_q_mean_vs_rms__typical_size(typical_size: object) -> object:
    return _value(typical_size)


@aspect(probe=probe_q_mean_vs_rms__typical_size)
def check_q_mean_vs_rms__typical_size(data: Any, hidden: Hidden = NO_HIDDEN) -> int | str:
    return _choice("q_mean_vs_rms__typical_size", data, "typical_size", hidden)


def probe_q_mean_vs_rms__consistent_sign(consistent_sign: object) -> object:
    return _value(consistent_sign)


@aspect(probe=probe_q_mean_vs_rms__consistent_sign)
def check_q_mean_vs_rms__consistent_sign(data: Any, hidden: Hidden = NO_HIDDEN) -> int | str:
    return _choice("q_mean_vs_rms__consistent_sign", data, "consistent_sign", hidden)


def probe_q_mean_vs_rms__sign_changes(sign_changes: object) -> object:
    return _value(sign_changes)


@aspect(probe=probe_q_mean_vs_rms__sign_changes)
def check_q_mean_vs_rms__sign_changes(data: Any, hidden: Hidden = NO_HIDDEN) -> int | str:
    return _choice("q_mean_vs_rms__sign_changes", data, "sign_changes", hidden)


# Task 2.2: ema_update(x_t, beta, t, ema_star_old) -> (ema, ema_star_t) -----------------------------


def ema_float_cases(seed: int, n: int) -> list[tuple[float, float, int, float]]:
    """n cases (x_t, beta, t, ema_star_old): beta in [0.5, 0.999), t in 1..29, x and EMA* about
    +-3, drawn from case_seed(seed)."""
    g = torch.Generator().manual_seed(case_seed(seed))
    cases = []
    for _ in range(n):
        beta = 0.5 + 0.499 * torch.rand((), generator=g, dtype=torch.float64).item()
        t = int(torch.randint(1, 30, (), generator=g))
        old = 3 * torch.randn((), generator=g, dtype=torch.float64).item()
        x = 3 * torch.randn((), generator=g, dtype=torch.float64).item()
        cases.append((x, beta, t, old))
    return cases


def ema_formula_cases() -> tuple[list[EmaArgs], list[float], tuple[float, ...]]:
    """(cases, a sequence of 12 values, the betas it is run with)."""
    g = torch.Generator().manual_seed(case_seed(32))
    xs = (3 * torch.randn(12, generator=g, dtype=torch.float64)).tolist()
    return ema_float_cases(31, 8), xs, (0.8,)


def ema_bias_correction_cases() -> tuple[list[EmaArgs], list[float], tuple[float, ...]]:
    """(cases, a sequence of 6 values around 2, the betas it is run with)."""
    g = torch.Generator().manual_seed(case_seed(42))
    xs = (2 + torch.randn(6, generator=g, dtype=torch.float64)).tolist()
    return ema_float_cases(41, 8), xs, (0.9, 0.99)


def _ema_sequence(ema_update: Callable[..., Any], xs: Sequence[float], beta: float) -> list[object]:
    """The pairs ema_update returns fed its own EMA* back, from EMA*_0 = 0 and t = 1, 2, ...,
    up to the first call that raises or returns no pair."""
    state = 0.0
    pairs: list[object] = []  # {"raised"}, a pair (_pair) or the type of what was returned
    for t, x in enumerate(xs, start=1):
        try:
            result = ema_update(x, beta, t, state)
        except Exception as exc:
            pairs.append({"raised": describe_error(exc)})
            break
        pairs.append(_pair(result))
        if isinstance(pairs[-1], str):
            break
        state = result[1]
    return pairs


def _ema_runs(
    ema_update: Callable[..., Any],
    cases: tuple[Sequence[EmaArgs], Sequence[float], Sequence[float]],
) -> dict[str, list[object]]:
    floats, xs, betas = cases
    return {
        "cases": [_attempt(lambda: _pair(ema_update(*case))) for case in floats],
        "sequences": [_ema_sequence(ema_update, xs, beta) for beta in betas],
    }


def probe_ema_update__formula(ema_update: Callable[..., Any]) -> dict[str, list[object]]:
    """{"cases": the pair returned per case, "sequences": the pairs along each sequence}."""
    return _ema_runs(ema_update, ema_formula_cases())


def probe_ema_update__bias_correction(ema_update: Callable[..., Any]) -> dict[str, list[object]]:
    return _ema_runs(ema_update, ema_bias_correction_cases())


EMA_SHAPES = [(), (3,), (2, 4), (2, 3, 2)]


def ema_tensor_cases(device_list: Iterable[str]) -> dict[str, list[EmaTensorCase]]:
    """{device: [(case, x, ema_star_old, beta, t)]}: tensors of each shape and dtype, first with
    ema_star_old a tensor (t=4), then with the float 0.0 (t=1); the two cases share x."""
    g = torch.Generator().manual_seed(case_seed(51))
    cases: dict[str, list[EmaTensorCase]] = {}
    for device in device_list:
        cases[device] = []
        for dtype in DTYPES:
            for shape in EMA_SHAPES:
                x = torch.randn(shape, generator=g, dtype=torch.float64).to(
                    dtype=dtype, device=device
                )
                old = torch.randn(shape, generator=g, dtype=torch.float64).to(
                    dtype=dtype, device=device
                )
                for start in (old, 0.0):
                    beta, t = 0.9, 1 if isinstance(start, float) else 4
                    case = (
                        f"tensors of shape {shape}, {dtype}, {device}, ema_star_old "
                        f"{'= 0.0 (a float)' if isinstance(start, float) else 'a tensor'}, t={t}"
                    )
                    cases[device].append((case, x, start, beta, t))
    return cases


def _elementwise(
    ema_update: Callable[..., Any],
    x: torch.Tensor,
    beta: float,
    t: int,
    start: torch.Tensor | float,
) -> list[torch.Tensor] | None:
    """What ``ema_update`` gives for each element of the tensors as Python floats (two float64
    tensors of x's shape), or None when it fails on floats."""
    xs = x.detach().double().cpu().flatten().tolist()
    olds = (
        [start] * len(xs)
        if isinstance(start, float)
        else start.detach().double().cpu().flatten().tolist()
    )
    try:
        pairs = [ema_update(xi, beta, t, oi) for xi, oi in zip(xs, olds)]
        return [
            torch.tensor([float(pair[k]) for pair in pairs], dtype=torch.float64).reshape(x.shape)
            for k in (0, 1)
        ]
    except Exception:  # the student's code on floats: any failure means "no results for floats"
        return None


def _tensor_case(
    ema_update: Callable[..., Any],
    x: torch.Tensor,
    start: torch.Tensor | float,
    beta: float,
    t: int,
) -> dict[str, object]:
    pair = _pair(ema_update(x, beta, t, start), _placed)
    return {
        "pair": pair,
        "x_after": plain(x),
        "old_after": plain(start) if isinstance(start, torch.Tensor) else None,
        "elementwise": _elementwise(ema_update, x, beta, t, start),
    }


def probe_ema_update__tensors_unchanged(ema_update: Callable[..., Any]) -> dict[str, list[object]]:
    """{device: per case, the pair returned (tensors with their device), the inputs after the
    call, and what ema_update gives element by element for floats}."""
    return {
        device: [
            _attempt(lambda: _tensor_case(ema_update, x, start, beta, t))
            for _, x, start, beta, t in cases
        ]
        for device, cases in ema_tensor_cases(devices()).items()
    }


#: (EMA_t, EMA*_t) of the public cases (the default seeds) of the two formula checks, worked out
#: in advance (the visible check has no formula to compute them with), by case.
PUBLIC_EMA: dict[str, tuple[float, float]] = {
    "x_t=1.6157, beta=0.9183, t=28, ema_star_old=1.3690": (1.529752999449, 1.389175913768),
    "x_t=1.5477, beta=0.9366, t=19, ema_star_old=-2.3121": (-2.904983200409, -2.067546629124),
    "x_t=3.2870, beta=0.7853, t=21, ema_star_old=3.5680": (3.529710250799, 3.507675655348),
    "x_t=6.8750, beta=0.9359, t=5, ema_star_old=1.6832": (7.147589136308, 2.016196609458),
    "x_t=-1.0748, beta=0.5112, t=23, ema_star_old=1.0928": (0.033331009484, 0.033331002859),
    "x_t=-0.6861, beta=0.6524, t=5, ema_star_old=-1.8657": (-1.650850286155, -1.45568236977),
    "x_t=3.6792, beta=0.6180, t=18, ema_star_old=-0.7199": (0.960946108169, 0.960780188318),
    "x_t=-4.5912, beta=0.6941, t=18, ema_star_old=-1.3147": (-2.32027263572, -2.317029658761),
    "sequence from x_1=2.5953, beta=0.8, t=1": (2.595317795293, 0.519063559059),
    "sequence from x_1=2.5953, beta=0.8, t=2": (1.20086761256, 0.432312340522),
    "sequence from x_1=2.5953, beta=0.8, t=3": (1.35490077433, 0.661191577873),
    "sequence from x_1=2.5953, beta=0.8, t=4": (0.526752923822, 0.310994926225),
    "sequence from x_1=2.5953, beta=0.8, t=5": (-0.001957543533, -0.001316095668),
    "sequence from x_1=2.5953, beta=0.8, t=6": (-1.030122343586, -0.760081951949),
    "sequence from x_1=2.5953, beta=0.8, t=7": (0.169499331111, 0.133952744988),
    "sequence from x_1=2.5953, beta=0.8, t=8": (0.27153387395, 0.225978049404),
    "sequence from x_1=2.5953, beta=0.8, t=9": (-0.886898358393, -0.767860875762),
    "sequence from x_1=2.5953, beta=0.8, t=10": (-0.383536137386, -0.342354258213),
    "sequence from x_1=2.5953, beta=0.8, t=11": (1.243042524156, 1.13626598438),
    "sequence from x_1=2.5953, beta=0.8, t=12": (0.72560062164, 0.675737726601),
    "x_t=1.4854, beta=0.9449, t=3, ema_star_old=-1.1299": (-6.304192759589, -0.985818278226),
    "x_t=-0.6737, beta=0.9799, t=6, ema_star_old=-0.1420": (-1.33109540331, -0.152716138017),
    "x_t=-1.8061, beta=0.5600, t=4, ema_star_old=2.7428": (0.821960075994, 0.741141872992),
    "x_t=-0.1239, beta=0.8248, t=24, ema_star_old=-3.2393": (-2.720151664509, -2.693445238712),
    "x_t=-2.9837, beta=0.7163, t=4, ema_star_old=1.4465": (0.25735837837, 0.189612902368),
    "x_t=-1.0727, beta=0.9248, t=2, ema_star_old=-4.1992": (-27.385427726922, -3.964061921197),
    "x_t=1.8699, beta=0.9386, t=11, ema_star_old=3.6107": (6.977721850962, 3.503725628781),
    "x_t=-0.6901, beta=0.7142, t=24, ema_star_old=2.0287": (1.252012695553, 1.251624637773),
    "sequence from x_1=2.3367, beta=0.9, t=1": (2.336690354384, 0.233669035438),
    "sequence from x_1=2.3367, beta=0.9, t=2": (2.227279328464, 0.423183072408),
    "sequence from x_1=2.3367, beta=0.9, t=3": (2.229929894847, 0.604311001504),
    "sequence from x_1=2.3367, beta=0.9, t=4": (2.230047118769, 0.766913204145),
    "sequence from x_1=2.3367, beta=0.9, t=5": (1.899675822462, 0.777936246056),
    "sequence from x_1=2.3367, beta=0.9, t=6": (1.881320797427, 0.881509791522),
    "sequence from x_1=2.3367, beta=0.99, t=1": (2.336690354384, 0.023366903544),
    "sequence from x_1=2.3367, beta=0.99, t=2": (2.232227565817, 0.04442132856),
    "sequence from x_1=2.3367, beta=0.99, t=3": (2.232979997569, 0.066321738908),
    "sequence from x_1=2.3367, beta=0.99, t=4": (2.232308245887, 0.087961851798),
    "sequence from x_1=2.3367, beta=0.99, t=5": (1.955800185818, 0.095853669512),
    "sequence from x_1=2.3367, beta=0.99, t=6": (1.931512959577, 0.113031849824),
}


def _float_case(x: float, beta: float, t: int, old: float) -> str:
    return f"x_t={x:.4f}, beta={beta:.4f}, t={t}, ema_star_old={old:.4f}"


def _sequence_step(xs: Sequence[float], beta: float, t: int) -> str:
    return f"sequence from x_1={xs[0]:.4f}, beta={beta}, t={t}"


def _expected_ema(hidden: Hidden, key: str, args: EmaArgs) -> tuple[float, float] | None:
    """(EMA_t, EMA*_t) for ``args``: the grader's ``hidden["reference"]``, else the public case's
    values (None for a case that is not public: while grading, only the grader compares)."""
    reference = hidden.get("reference")
    return reference(*args) if reference is not None else PUBLIC_EMA.get(key)


def _ema_mistakes(hidden: Hidden, args: EmaArgs) -> Mapping[str, object] | None:
    mistakes = hidden.get("mistakes")
    return mistakes(*args) if mistakes is not None else None


def _ema_pair(test_id: str, case: str, entry: Any) -> list[Any]:
    return pair(test_id, case, entry, "ema, ema_star_t", "return ema, ema_star_t  (in this order)")


def _ema_cases(
    test_id: str,
    data: Any,
    cases: Sequence[EmaArgs],
    hidden: Hidden,
    check: Callable[[str, EmaArgs, tuple[float, float], object, object], None],
) -> int:
    """``check(case, (x, beta, t, old), expected, ema, ema_star_t)`` for each of the probe's pairs."""
    n = 0
    for args, entry in zip(
        cases, items(test_id, field(test_id, data, "cases"), len(cases), "the cases")
    ):
        case = _float_case(*args)
        ema, star = _ema_pair(test_id, case, entry)
        expected = _expected_ema(hidden, case, args)
        if expected is not None:
            check(case, args, expected, ema, star)
            n += 1
    return n


def _ema_sequences(
    test_id: str,
    data: Any,
    xs: Sequence[float],
    betas: Sequence[float],
    hidden: Hidden,
    check: Callable[[int, float, float, float, object, object, float, float], None],
) -> int:
    """The pairs your ema_update gave along ``xs`` from EMA*_0 = 0, t = 1, 2, ..., fed its own
    EMA* back, one sequence per beta: ``check`` each step (the reference follows its own EMA*)."""
    sequences = items(test_id, field(test_id, data, "sequences"), len(betas), "the sequences")
    n = 0
    for beta, entries in zip(betas, sequences):
        if not isinstance(entries, (list, tuple)) or not 0 < len(entries) <= len(xs):
            malformed(test_id, f"the sequence for beta={beta}")
        ref_state = 0.0
        for t, x in enumerate(xs, start=1):
            if t > len(entries):
                malformed(test_id, f"the sequence for beta={beta} ends at t={t - 1}")
            ema, star = _ema_pair(test_id, f"sequence, t={t}", entries[t - 1])
            expected = _expected_ema(hidden, _sequence_step(xs, beta, t), (x, beta, t, ref_state))
            if expected is None:
                break
            ref_ema, ref_next = expected
            check(t, x, beta, ref_state, ema, star, ref_ema, ref_next)
            ref_state = ref_next
        else:
            n += 1
    return n


@aspect(probe=probe_ema_update__formula)
def check_ema_update__formula(data: Any, hidden: Hidden = NO_HIDDEN) -> int:
    """The second output of ``ema_update`` is EMA*_t, on single steps and along a sequence. The
    grader adds ``hidden["reference"]`` and the mistakes it names, ``hidden["mistakes"]``."""
    test_id = "ema_update__formula"
    hint = "EMA*_t = beta * EMA*_{t-1} + (1 - beta) * x_t, returned second"
    cases, xs, betas = ema_formula_cases()

    def check_case(
        case: str, args: EmaArgs, expected: tuple[float, float], ema: object, star: object
    ) -> None:
        close(
            test_id,
            f"{case}: ema_star_t",
            expected[1],
            star,
            hint,
            mistakes=_ema_mistakes(hidden, args),
        )

    def check_step(
        t: int,
        x: float,
        beta: float,
        old: float,
        ema: object,
        star: object,
        ref_ema: float,
        ref_star: float,
    ) -> None:
        close(
            test_id,
            f"sequence of 12 values from EMA*_0 = 0, beta={beta}, t={t}: ema_star_t",
            ref_star,
            star,
            hint + "; feed the returned EMA* back in",
            mistakes=_ema_mistakes(hidden, (x, beta, t, old)),
        )

    n = _ema_cases(test_id, data, cases, hidden, check_case)
    return n + _ema_sequences(test_id, data, xs, betas, hidden, check_step)


@aspect(probe=probe_ema_update__bias_correction)
def check_ema_update__bias_correction(data: Any, hidden: Hidden = NO_HIDDEN) -> int:
    """The first output of ``ema_update`` is the bias-corrected EMA_t (as formula's)."""
    test_id = "ema_update__bias_correction"
    hint = "EMA_t = EMA*_t / (1 - beta^t), with t counting from 1, returned first"
    cases, xs, betas = ema_bias_correction_cases()

    def check_case(
        case: str, args: EmaArgs, expected: tuple[float, float], ema: object, star: object
    ) -> None:
        close(
            test_id,
            f"{case}: ema",
            expected[0],
            ema,
            hint,
            mistakes=_ema_mistakes(hidden, args),
        )

    def check_step(
        t: int,
        x: float,
        beta: float,
        old: float,
        ema: object,
        star: object,
        ref_ema: float,
        ref_star: float,
    ) -> None:
        close(
            test_id,
            f"sequence {[round(v, 3) for v in xs]} from EMA*_0 = 0, beta={beta}, t={t}: ema",
            ref_ema,
            ema,
            hint + " (at t=1 the EMA equals x_1 exactly)",
            mistakes=_ema_mistakes(hidden, (x, beta, t, old)),
        )

    n = _ema_cases(test_id, data, cases, hidden, check_case)
    return n + _ema_sequences(test_id, data, xs, betas, hidden, check_step)


def _unchanged(
    test_id: str, case: str, entry: Any, key: str, before: torch.Tensor, what: str, hint: str
) -> None:
    after = tensor(test_id, field(test_id, entry, key), f"{case}: {key}")
    if after.dtype != before.dtype or not torch.equal(after, before.cpu()):
        fail(test_id, case, f"ema_update changed its input {what}", hint)


def _own_elementwise(test_id: str, case: str, entry: Any) -> list[torch.Tensor] | None:
    """What your ema_update gave element by element for floats (the probe's), or None."""
    own = field(test_id, entry, "elementwise")
    if own is not None:
        own = [
            tensor(test_id, t, f"{case}: elementwise")
            for t in items(test_id, own, 2, f"{case}: elementwise")
        ]
    return cast(list[torch.Tensor] | None, own)  # None, or rebuilt as two tensors just above


@aspect(probe=probe_ema_update__tensors_unchanged)
def check_ema_update__tensors_unchanged(data: Any, hidden: Hidden = NO_HIDDEN) -> int:
    """Tensors of any shape, dtype and device: the same results as for numbers (the formula itself
    is graded by the other two checks), on the inputs' device, and the inputs left unchanged. A
    result unlike your own for numbers is compared with the grader's ``hidden["reference"]``."""
    test_id = "ema_update__tensors_unchanged"
    hint = "use only operations that make new tensors (beta * old + ...), never in-place ones (*=, +=, .mul_)"
    same_hint = "for tensors, ema_update must give element by element what it gives for numbers; "
    reference_ema = hidden.get("reference")
    n = 0
    for _, (case, x, start, beta, t), entry in by_device(
        test_id, data, ema_tensor_cases(devices())
    ):
        entry = not_raised(test_id, case, entry)
        results = _ema_pair(test_id, case, field(test_id, entry, "pair"))
        _unchanged(test_id, case, entry, "x_after", x, "x_t", hint)
        if isinstance(start, torch.Tensor):
            _unchanged(test_id, case, entry, "old_after", start, "ema_star_old in place", hint)
        start64 = start.double().cpu() if isinstance(start, torch.Tensor) else start
        own = _own_elementwise(test_id, case, entry)
        if reference_ema is not None:
            expected = reference_ema(x.double().cpu(), beta, t, start64)
        elif own is not None:
            expected = own
        else:
            fail(
                test_id,
                case,
                "ema_update fails on Python numbers, so its tensor results cannot be compared "
                "with them",
                "make check_ema_update__formula pass first",
            )
        for k, (name, got) in enumerate(zip(("ema", "ema_star_t"), results)):
            if not isinstance(got, dict) or "tensor" not in got:
                fail(
                    test_id,
                    case,
                    f"{name} is a {field(test_id, got, 'type')}, expected a tensor",
                    "write the formula with tensor arithmetic; it then works for any shape",
                )
            value = tensor(test_id, got["tensor"], f"{case}: {name}")
            if field(test_id, got, "device") != str(x.device):
                fail(
                    test_id,
                    case,
                    f"{name} is on {got['device']}, expected {x.device}",
                    "compute from the inputs, so the result stays on their device",
                )
            tol = tolerance(expected[k], x.dtype, value)
            if own is not None and max_diff(own[k], value) <= tol:
                continue
            expect_close(test_id, f"{case}: {name}", expected[k], value, tol, same_hint + hint)
        n += 1
    return n


# Task 2.3: ADAMOptimizer ----------------------------------------------------------------------------

# Each aspect of Adam is graded on its own. matches_torch compares with torch.optim.Adam and owns
# the update formula. The other aspects compare your optimizer with itself, so a mistake in the
# formula does not cost them too: weight_decay, "with weight_decay=wd on L" against "with
# weight_decay=0 on L + (wd/2)|p|^2"; state_persists, runs that differ only in earlier gradients
# or in other parameters (one of the same shape) or optimizers alive at the same time;
# devices_dtypes, float32 and another device against float64 on the CPU; zero_grad, steps with
# zero_grad() between them against steps with the gradients cleared by hand.
#
# ADAMOptimizer is built on your ema_update (Task 2.2). The grader's probes are given Task 2.2's
# EMA in its place (Aspect.given: a wrong ema_update costs only its own points); the visible
# checks run your own, and say "not checked yet" when it fails its own checks.

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

NAN_HINT = (
    "your parameters became NaN or infinite: is t 0 in the first step? t counts from 1 "
    "(increment it at the start of step()), so 1 - beta^t is never 0"
)

ADAM_SHAPES = [(), (4,), (3, 2), (2, 2, 2)]
ADAM_ARGUMENTS = ("lr", "betas", "beta1", "beta2", "eps", "weight_decay")
ADAM_STEPS = 6  # matches_torch and weight_decay
# annotated: mypy joins dict[str, float] and dict[str, object] to object
MATCH_CASES: list[dict[str, Any]] = [
    dict(lr=0.1),
    dict(lr=0.03, betas=(0.8, 0.99)),
    dict(lr=0.05, betas=(0.5, 0.9), eps=0.1),
]
DECAY_CASES: list[dict[str, Any]] = [
    dict(lr=0.1, weight_decay=0.1),
    dict(lr=0.05, betas=(0.8, 0.95), weight_decay=0.5),
    dict(lr=0.01, weight_decay=0.02, eps=1e-3),
]
PERSIST_CASES: list[dict[str, Any]] = [dict(lr=0.1), dict(lr=0.02, betas=(0.7, 0.9))]
PERSIST_STEPS = 5
IN_TURN_STEPS = 4
# Two optimizers alive at once, stepped in turn: with settings of their own, which the one made
# first keeps only if nothing is shared through the class.
IN_TURN_CASES: tuple[dict[str, Any], ...] = (
    dict(lr=0.1),
    dict(lr=0.03, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1),
)
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
#: What the probe says of each parameter and state tensor (tensor_facts, with "where" or "leaf"),
#: by type.
FACT_TYPES = {"where": str, "dtype": str, "device": str, "shape": list, "leaf": bool}
#: Task 2.2's answer, which the grader's sandbox gives Adam's probes (Aspect.given).
GIVEN_EMA = ("ema_update",)

AdamCase = tuple[torch.dtype, dict[str, Any], list[torch.Tensor]]
#: A catalogue of wrong Adams: (init, steps, gradients, kwargs) -> {description: path}.
AdamMistakes = Callable[
    [Sequence[torch.Tensor], int, GradientSource, Mapping[str, Any]], dict[str, torch.Tensor]
]


def adam_cases(
    first_seed: int, cases: Sequence[dict[str, Any]], device_list: Iterable[str]
) -> dict[str, list[AdamCase]]:
    """{device: [(dtype, kwargs, initial parameters of ADAM_SHAPES)]}: each of ``cases`` in
    float64 and float32, the parameters drawn from case_seed(first_seed), case_seed(first_seed +
    1), ..."""
    n = 0
    inputs: dict[str, list[AdamCase]] = {}
    for device in device_list:
        inputs[device] = []
        for dtype in DTYPES:
            for kwargs in cases:
                init = random_parameters(case_seed(first_seed + n), ADAM_SHAPES, dtype, device)
                inputs[device].append((dtype, kwargs, init))
                n += 1
    return inputs


def without_decay(kwargs: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in kwargs.items() if k != "weight_decay"}


def gradient_sequence(
    seed: int,
    shapes: Sequence[tuple[int, ...]],
    steps: int,
    dtype: torch.dtype,
    device: str | torch.device,
) -> list[list[torch.Tensor]]:
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


def drive(
    make: MakeOptimizer, init: Sequence[torch.Tensor], steps: int, gradients: GradientSource
) -> tuple[torch.Tensor, list[torch.Tensor], Any]:
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


def loss_gradients(
    loss: Callable[[Sequence[torch.Tensor]], torch.Tensor] = quartic_loss,
) -> GradientSource:
    """A gradient source for drive: the gradients of ``loss`` at the current parameters."""

    def source(step: int, params: Sequence[torch.Tensor]) -> tuple[torch.Tensor, ...]:
        return torch.autograd.grad(loss(params), params)

    return source


def fixed_gradients(sequence: Sequence[Sequence[torch.Tensor]]) -> GradientSource:
    """A gradient source for drive: ``sequence[step]`` (a list of tensors), whatever the parameters."""

    def source(step: int, params: Sequence[torch.Tensor]) -> list[torch.Tensor]:
        return [g.clone() for g in sequence[step]]

    return source


def with_l2(gradients: GradientSource, weight_decay: float) -> GradientSource:
    """A gradient source for drive: that of ``gradients``' loss plus (weight_decay / 2) |p|^2."""

    def source(step: int, params: Sequence[torch.Tensor]) -> list[torch.Tensor]:
        return [g + weight_decay * p.detach() for g, p in zip(gradients(step, params), params)]

    return source


def tensors_held(obj: object, exclude: Iterable[torch.Tensor]) -> list[tuple[str, torch.Tensor]]:
    """(where, tensor) for the floating-point tensors in ``obj``'s attributes, in lists, tuples
    and dicts up to three levels deep, except those in ``exclude``."""
    skip, found = {id(t) for t in exclude}, []

    def walk(value: object, where: str, depth: int) -> None:
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


def tensor_facts(t: torch.Tensor) -> dict[str, list[int] | str]:
    """What state_mismatch needs of a tensor, as plain data: shape (a list), dtype and device (str)."""
    return {"shape": list(t.shape), "dtype": str(t.dtype), "device": str(t.device)}


def state_facts(optimizer: object, params: Iterable[torch.Tensor]) -> list[dict[str, Any]]:
    """tensor_facts and "where" of each tensor ``optimizer`` holds besides ``params`` (tensors_held)."""
    return [{"where": where, **tensor_facts(t)} for where, t in tensors_held(optimizer, params)]


def state_mismatch(
    state: Sequence[Mapping[str, Any]], params: Sequence[Mapping[str, Any]]
) -> str | None:
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


# What your ADAMOptimizer does (the probes) ----------------------------------------------------


def method_globals(cls: object) -> list[dict[str, Any]]:
    """The global namespaces the methods of ``cls`` and of its bases (not ``object``) read, once each:
    for a class written in a notebook, the notebook's globals."""
    spaces: dict[int, dict[str, Any]] = {}
    for klass in getattr(cls, "__mro__", (cls,)):
        for attr in vars(klass).values() if klass is not object else ():
            space = getattr(getattr(attr, "__func__", attr), "__globals__", None)
            if isinstance(space, dict):
                spaces[id(space)] = space
    return list(spaces.values())


def _student_global(cls: object, name: str) -> Any:
    """What ``name`` means to the methods of ``cls`` (a notebook global), or None."""
    return next((space[name] for space in method_globals(cls) if name in space), None)


_MISSING = object()


@contextlib.contextmanager
def _global_replaced(cls: object, name: str, replacement: object) -> Iterator[None]:
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


AdamProbe = Callable[[Callable[..., Any]], Any]


def _adam_probe(probe: AdamProbe) -> Callable[..., Any]:
    """``probe`` run with no torch.optim (constructing one makes the data {"delegated": its
    name}), and with ``ema_update`` (GIVEN_EMA: Task 2.2's EMA, which the grader's sandbox gives)
    in place of yours when given; the visible check gives none, and your own is used."""

    @functools.wraps(probe)
    def run(ADAMOptimizer: Callable[..., Any], ema_update: Callable[..., Any] | None = None) -> Any:
        swapped = (
            _global_replaced(ADAMOptimizer, "ema_update", ema_update)
            if ema_update is not None
            else contextlib.nullcontext()
        )
        try:
            with no_torch_optim(), swapped:
                return probe(ADAMOptimizer)
        except Delegated as delegated:
            return {"delegated": str(delegated.args[0])}

    return run


def _run(
    ADAMOptimizer: Callable[..., Any],
    kwargs: Mapping[str, Any],
    init: Sequence[torch.Tensor],
    steps: int,
    gradients: GradientSource,
    facts: bool = False,
) -> object:
    """{"path": (steps, n)} of your optimizer (see drive), with "state" and "params" facts after
    the last step when ``facts``; or {"raised": ...}."""

    def run() -> dict[str, Any]:
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
def probe_adam_optimizer__matches_torch(ADAMOptimizer: Callable[..., Any]) -> dict[str, Any]:
    """{"globals_read", "devices": {device: per case of adam_cases(100, MATCH_CASES), its run}}."""
    runs = {
        device: [
            _run(ADAMOptimizer, kwargs, init, ADAM_STEPS, loss_gradients(), facts=True)
            for _, kwargs, init in cases
        ]
        for device, cases in adam_cases(100, MATCH_CASES, devices()).items()
    }
    return {"globals_read": globals_read(ADAMOptimizer, ADAM_ARGUMENTS), "devices": runs}


def _decay_runs(
    ADAMOptimizer: Callable[..., Any], kwargs: Mapping[str, Any], init: Sequence[torch.Tensor]
) -> dict[str, object]:
    no_decay, wd = without_decay(kwargs), kwargs["weight_decay"]
    return {
        "with_decay": _run(ADAMOptimizer, kwargs, init, ADAM_STEPS, loss_gradients()),
        "on_l2_loss": _run(
            ADAMOptimizer, no_decay, init, ADAM_STEPS, with_l2(loss_gradients(), wd)
        ),
        "without_decay": _run(ADAMOptimizer, no_decay, init, ADAM_STEPS, loss_gradients()),
    }


@_adam_probe
def probe_adam_optimizer__weight_decay(ADAMOptimizer: Callable[..., Any]) -> dict[str, Any]:
    """Per case of adam_cases(700, DECAY_CASES): the run with weight_decay=wd on the loss, with
    weight_decay=0 on the loss + (wd/2)|p|^2, and with weight_decay=0 on the loss."""
    runs = {
        device: [_decay_runs(ADAMOptimizer, kwargs, init) for _, kwargs, init in cases]
        for device, cases in adam_cases(700, DECAY_CASES, devices()).items()
    }
    return {"globals_read": globals_read(ADAMOptimizer, ADAM_ARGUMENTS), "devices": runs}


def _holds_tensors(value: object) -> bool:
    if isinstance(value, torch.Tensor):
        return True
    if isinstance(value, dict):
        value = list(value.values())
    return isinstance(value, (list, tuple)) and any(_holds_tensors(item) for item in value)


def _tensors_on_the_class(optimizer: object) -> list[str]:
    """Each class attribute holding tensors (state every object would share), as "Class.name"."""
    return [
        f"{klass.__name__}.{name}"
        for klass in type(optimizer).__mro__
        if klass is not object
        for name, value in vars(klass).items()
        if not name.startswith("__") and _holds_tensors(value)
    ]


def _class_state(ADAMOptimizer: Callable[..., Any]) -> list[str]:
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


def _persist_runs(
    ADAMOptimizer: Callable[..., Any],
    kwargs: Mapping[str, Any],
    init: Sequence[torch.Tensor],
    sequence: Sequence[Sequence[torch.Tensor]],
) -> dict[str, object]:
    """Runs on gradients set by hand: as given, with only the first changed, and the last
    parameter alone."""
    changed = [[-3 * g for g in sequence[0]], *sequence[1:]]
    last_alone = [grads[-1:] for grads in sequence]
    run = functools.partial(_run, ADAMOptimizer, kwargs)
    return {
        "given": run(init, PERSIST_STEPS, fixed_gradients(sequence)),
        "first_changed": run(init, PERSIST_STEPS, fixed_gradients(changed)),
        "last_alone": run(init[-1:], PERSIST_STEPS, fixed_gradients(last_alone)),
    }


def _in_turn_runs(ADAMOptimizer: Callable[..., Any], device: str) -> list[dict[str, object]]:
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


def _twin_runs(ADAMOptimizer: Callable[..., Any], device: str) -> dict[str, object]:
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
def probe_adam_optimizer__state_persists(ADAMOptimizer: Callable[..., Any]) -> dict[str, Any]:
    """{"class_state": class attributes holding tensors; when none, "devices": {device:
    {"runs": per PERSIST_CASES, _persist_runs, "twins": _twin_runs, "in_turn": _in_turn_runs}}}."""
    shared = _class_state(ADAMOptimizer)
    if shared:
        return {"class_state": shared}
    n, runs = 0, {}
    for device in devices():
        cases = []
        for kwargs in PERSIST_CASES:
            init = random_parameters(case_seed(200 + n), ADAM_SHAPES, device=device)
            sequence = gradient_sequence(300 + n, ADAM_SHAPES, PERSIST_STEPS, torch.float64, device)
            cases.append(_persist_runs(ADAMOptimizer, kwargs, init, sequence))
            n += 1
        runs[device] = {
            "runs": cases,
            "twins": _twin_runs(ADAMOptimizer, device),
            "in_turn": _in_turn_runs(ADAMOptimizer, device),
        }
        n += 1
    return {"class_state": [], "devices": runs}


@_adam_probe
def probe_adam_optimizer__devices_dtypes(ADAMOptimizer: Callable[..., Any]) -> dict[str, Any]:
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
def probe_adam_optimizer__zero_grad(ADAMOptimizer: Callable[..., Any]) -> dict[str, Any]:
    """exercise_zero_grad's data."""
    return exercise_zero_grad(
        lambda params: ADAMOptimizer(params, lr=0.1),
        random_parameters(case_seed(ZERO_GRAD_SEED), ADAM_SHAPES),
    )


def _passes_quietly(check: Callable[..., object], *args: object) -> bool:
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            check(*args)
    except Exception:
        return False
    return True


def ema_update_first(ADAMOptimizer: Callable[..., Any]) -> str | None:
    """Why the visible check of ADAMOptimizer, having failed, cannot judge it yet: the ema_update
    it is built on fails its own checks (the grader checks ADAMOptimizer with a correct
    ema_update, so one mistake costs once); None when the failure is ADAMOptimizer's own (its
    constructor raises, or its ema_update passes)."""
    try:
        ADAMOptimizer(iter(random_parameters(0, TOY_SHAPES)), lr=0.1)
    except Exception:  # your constructor: the failure is ADAMOptimizer's own
        return None
    ema_update = _student_global(ADAMOptimizer, "ema_update")
    if ema_update is not None and all(
        _passes_quietly(check, ema_update)
        for check in (
            check_ema_update__formula,
            check_ema_update__bias_correction,
            check_ema_update__tensors_unchanged,
        )
    ):
        return None
    return (
        "ADAMOptimizer is built on ema_update, which does not pass its own checks. Fix "
        "ema_update first; the grader checks ADAMOptimizer with a correct ema_update."
    )


# How it compares (the comparisons) --------------------------------------------------------------


def adam_first_step_mistakes(
    init: Sequence[torch.Tensor],
    steps: int,
    gradients: GradientSource,
    kwargs: Mapping[str, Any],
) -> dict[str, torch.Tensor]:
    """What classic mistakes in the update give at the first step from ``init``, as a path of one
    step (``steps`` is the grader's, which simulates whole paths): at t = 1 the bias-corrected
    moments are g and g * g."""
    params = leaf_copies(init)
    g = flat(gradients(0, params))
    lr, (beta1, beta2), eps = (
        kwargs["lr"],
        kwargs.get("betas", (0.9, 0.999)),
        kwargs.get("eps", 1e-8),
    )
    moves = {
        EPS_INSIDE_SQRT: g / (g * g + eps).sqrt(),
        NO_SQRT: g / (g * g + eps),
        NO_BIAS_CORRECTION: (1 - beta1) * g / ((1 - beta2) ** 0.5 * g.abs() + eps),
    }
    return {name: (flat(params) - lr * move)[None] for name, move in moves.items()}


def _describe(kwargs: Mapping[str, object]) -> str:
    return ", ".join(f"{k}={v}" for k, v in kwargs.items()) or "defaults"


def finite(test_id: str, case: str, *paths: torch.Tensor) -> None:
    for path in paths:
        if not bool(torch.isfinite(path).all()):
            fail(test_id, case, "the parameters became NaN or infinite", NAN_HINT)


def not_delegated(test_id: str, data: object) -> None:
    if isinstance(data, dict) and "delegated" in data:
        raise CheckFailed(delegation_message(test_id, str(data["delegated"])))


def leaked_globals(test_id: str, data: object) -> str | None:
    """The hint naming the global variables the class reads instead of its constructor's values, or None."""
    names = field(test_id, data, "globals_read")
    if not isinstance(names, (list, tuple)) or not all(isinstance(name, str) for name in names):
        malformed(test_id, "globals_read")
    return global_variable_hint(list(names))


def path_of(test_id: str, case: str, run: object, steps: int) -> torch.Tensor:
    """The parameters after each step of one run of your optimizer, (steps, n) float64. A run
    that raised fails here; one that failed on a device says where state must live."""
    if isinstance(run, dict) and "raised" in run:
        first = (str(run["raised"]).splitlines() or [""])[0]
        if "device" in first.lower():
            fail(test_id, case, f"step() failed: {first.partition(': ')[2]}", STATE_HINT)
        not_raised(test_id, case, run)
    path = tensor(test_id, field(test_id, run, "path"), f"{case}: the path")
    if path.dim() != 2 or path.shape[0] != steps:
        malformed(test_id, f"{case}: the path has shape {tuple(path.shape)}")
    return path.double()


def run_facts(test_id: str, run: object, key: str, names: tuple[str, ...]) -> list[dict[str, Any]]:
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
    """state_mismatch of the probe's facts about a run."""
    return state_mismatch(
        run_facts(test_id, run, "state", ("where", "dtype", "device", "shape")),
        run_facts(test_id, run, "params", ("shape", "dtype", "device", "leaf")),
    )


@aspect(probe=probe_adam_optimizer__matches_torch, given=GIVEN_EMA, not_yet=ema_update_first)
def check_adam_optimizer__matches_torch(data: Any, hidden: Hidden = NO_HIDDEN) -> int:
    """``ADAMOptimizer`` without weight decay equals torch.optim.Adam step for step. The mistakes
    named: their first step here (adam_first_step_mistakes), their whole paths in the grader
    (``hidden["mistakes"]``)."""
    test_id = "adam_optimizer__matches_torch"
    not_delegated(test_id, data)
    leaked = leaked_globals(test_id, data)
    mistakes: AdamMistakes = hidden.get("mistakes", adam_first_step_mistakes)
    n = 0
    runs = field(test_id, data, "devices")
    for device, (dtype, kwargs, init), run in by_device(
        test_id, runs, adam_cases(100, MATCH_CASES, devices())
    ):
        case = f"{_describe(kwargs)}, {device}, {dtype}, parameters of shapes {ADAM_SHAPES}"
        got = path_of(test_id, case, run, ADAM_STEPS)
        expected, _, _ = drive(
            lambda p: torch.optim.Adam(p, **kwargs), init, ADAM_STEPS, loss_gradients()
        )
        mismatch = run_state_mismatch(test_id, run)
        expect_path(
            test_id,
            case,
            expected,
            got,
            tolerance(expected, dtype),
            leaked or (f"{mismatch}: {STATE_HINT}" if mismatch else ADAM_HINT),
            None if leaked else lambda: mistakes(init, ADAM_STEPS, loss_gradients(), kwargs),
            nonfinite_hint=NAN_HINT,
        )
        n += 1
    return n


@aspect(probe=probe_adam_optimizer__weight_decay, given=GIVEN_EMA, not_yet=ema_update_first)
def check_adam_optimizer__weight_decay(data: Any, hidden: Hidden = NO_HIDDEN) -> int:
    """``ADAMOptimizer(weight_decay=wd)`` on a loss L does what ``ADAMOptimizer(weight_decay=0)``
    does on L + (wd / 2) |p|^2: PyTorch's coupled L2, whatever the rest of the update. The
    mistake named: weight decay ignored (your own run without it); the grader adds its
    simulations of other ways to apply it (``hidden["mistakes"]``)."""
    test_id = "adam_optimizer__weight_decay"
    hint = ADAM_DECAY_HINT
    not_delegated(test_id, data)
    leaked = leaked_globals(test_id, data)
    simulated: Callable[..., dict[str, torch.Tensor]] = hidden.get("mistakes", lambda *_: {})
    n = 0
    runs = field(test_id, data, "devices")
    for device, (dtype, kwargs, init), run in by_device(
        test_id, runs, adam_cases(700, DECAY_CASES, devices())
    ):
        case = f"{_describe(kwargs)}, {device}, {dtype}, parameters of shapes {ADAM_SHAPES}"
        wd = kwargs["weight_decay"]
        no_decay = without_decay(kwargs)
        got = path_of(test_id, case, field(test_id, run, "with_decay"), ADAM_STEPS)
        coupled = path_of(test_id, case, field(test_id, run, "on_l2_loss"), ADAM_STEPS)
        finite(test_id, case, got, coupled)
        own_without_decay = path_of(test_id, case, field(test_id, run, "without_decay"), ADAM_STEPS)

        def mistakes(
            init: Sequence[torch.Tensor] = init,
            no_decay: Mapping[str, Any] = no_decay,
            wd: float = wd,
            own: torch.Tensor = own_without_decay,
        ) -> dict[str, torch.Tensor]:
            return {
                DECAY_IGNORED: own,
                **simulated(init, ADAM_STEPS, loss_gradients(), no_decay, wd),
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
    return n


def _expect_persists(test_id: str, device: str, kwargs: Mapping[str, object], runs: object) -> None:
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
    size = math.prod(ADAM_SHAPES[-1])
    alone = paths["last_alone"]
    expect_path(
        test_id,
        f"{where}, the last of {len(ADAM_SHAPES)} parameters, compared with "
        "the same parameter alone in an ADAMOptimizer",
        alone,
        a[:, -size:],
        tolerance(alone),
        OWN_STATE_HINT,
        what="expected (your result for the parameter alone)",
    )


def _expect_twins(test_id: str, device: str, runs: object) -> None:
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


def _expect_in_turn(test_id: str, device: str, optimizers: object) -> None:
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


@aspect(probe=probe_adam_optimizer__state_persists, given=GIVEN_EMA, not_yet=ema_update_first)
def check_adam_optimizer__state_persists(data: Any, hidden: Hidden = NO_HIDDEN) -> int:
    """Each parameter's m* and v* carry over from step to step, and t advances once per step():
    a step depends on earlier gradients, a parameter moves the same alone or with others (also
    one of the same shape), and two optimizers alive at once share nothing."""
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
            _expect_persists(test_id, device, kwargs, case_runs)
            n += 1
        _expect_twins(test_id, device, field(test_id, runs, "twins"))
        _expect_in_turn(test_id, device, field(test_id, runs, "in_turn"))
        n += 2
    return n


@aspect(probe=probe_adam_optimizer__devices_dtypes, given=GIVEN_EMA, not_yet=ema_update_first)
def check_adam_optimizer__devices_dtypes(data: Any, hidden: Hidden = NO_HIDDEN) -> int:
    """``ADAMOptimizer`` keeps float32 and float64 parameters, on each device, as they are, with
    its state like them, and gives what it gives for the same values in float64 on the CPU."""
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
            run_facts(test_id, mixed, "params", ("shape", "dtype", "device", "leaf")),
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
    return n


@aspect(probe=probe_adam_optimizer__zero_grad, given=GIVEN_EMA, not_yet=ema_update_first)
def check_adam_optimizer__zero_grad(data: Any, hidden: Hidden = NO_HIDDEN) -> int:
    """zero_grad() raises nothing before or after backward(), leaves no gradient (None or zeros),
    and leaves t, m* and v* alone."""
    test_id = "adam_optimizer__zero_grad"
    not_delegated(test_id, data)
    return zero_grad_cases(test_id, data, len(ADAM_SHAPES), "t, m* and v* and the settings")


# end of Part 2 checks
