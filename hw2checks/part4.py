"""Checks of notebook 4: weight initializations (statistics, one generator stream), the
Supervise wrappers and the networks of Tasks 4.7 and 4.9.

Each aspect is a probe (your initializer or wrapper on the aspect's cases, as plain data) and a
comparison (``hw2checks.aspect``). A matrix of up to 2048 x 2048 travels as a summary
(``summary``): statistics of all its entries, and at most SUBSET of the entries themselves,
evenly strided over the matrix, from which the comparison recomputes the same statistics to
cross-check the summary. Statistics are compared within ``STAT_Z`` standard errors against
``INIT_RULES``: every misconception listed there lies dozens of tolerances away on the shapes
used here.

Every seed below goes through ``hw2checks.runs.case_seed``: the public cases outside grading, a
seed of the run's own while grading (the generators handed to the initializers, the test
networks, the wrappers' batches), so no matrix or network state prepared in advance matches.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Mapping, Sequence
from itertools import product
from typing import Any, NamedTuple, TypeVar, cast

import torch
from torch import nn

from hw2checks.aspect import NO_HIDDEN, Hidden, Judged, aspect
from hw2checks.part3 import (
    check_architecture,
    class_path,
    mro,
    probe_architecture,
    received,
    value,
)
from hw2checks.probing import devices, plain
from hw2checks.runs import case_seed, describe_error
from hw2checks.toolkit import (
    expect_close,
    expect_data,
    fail,
    is_str_list,
    known_mistake,
    mistake_hint,
    tolerance,
)

T = TypeVar("T")

#: deviation s, the sample mean has standard error s/sqrt(n) and the sample standard deviation
#: about s/sqrt(2n) (normal draws; less for uniform ones). At 6 standard errors a correct
#: initializer fails by chance with probability about 2e-9 per comparison.
STAT_Z = 6.0


def stat_tolerances(std: float, n: int) -> tuple[float, float]:
    """(tolerance on the mean, tolerance on the standard deviation) for n draws of std ``std``."""
    return STAT_Z * std / math.sqrt(n), STAT_Z * std / math.sqrt(2 * n)


def expect_statistics(
    test_id: str,
    case: str,
    mean: float,
    std: float,
    n: int,
    accepted: Sequence[float],
    mistakes: Mapping[str, float],
    hint: str,
    drawn: str = "draws",
) -> None:
    """``n`` ``drawn`` have a standard deviation within ``STAT_Z`` standard errors of one in
    ``accepted`` (else the mistake in ``mistakes``, name: std, that it matches is named) and a
    mean within STAT_Z standard errors of 0."""
    errors = f"({STAT_Z:g} standard errors for {n} {drawn})"
    if not any(abs(std - s) <= stat_tolerances(s, n)[1] for s in accepted):
        known = known_mistake(
            mistakes, std, accepted, lambda a, b: abs(a - b), lambda s: stat_tolerances(s, n)[1]
        )
        fail(
            test_id,
            case,
            f"expected standard deviation {' or '.join(f'{s:.4g}' for s in accepted)}, "
            f"got {std:.4g}; tolerance {stat_tolerances(accepted[0], n)[1]:.2g} {errors}",
            mistake_hint(known, "your weights match") if known else hint,
        )
    mean_tol = stat_tolerances(max(accepted), n)[0]
    if not abs(mean) <= mean_tol:
        fail(
            test_id,
            case,
            f"expected mean 0, got {mean:.4g}; tolerance {mean_tol:.2g} {errors}",
            "draw weights centred on 0",
        )


def expect_matrix(
    test_id: str,
    n_in: int,
    n_out: int,
    type_name: str,
    shape: Sequence[int] | None,
    dtype: torch.dtype | None,
) -> None:
    """An initializer returned a floating-point tensor of shape (n_in, n_out); ``shape`` and
    ``dtype`` are None when it returned something else (a ``type_name``)."""
    case = f"shape ({n_in}, {n_out})"
    if shape is None or dtype is None:
        fail(
            test_id,
            case,
            f"expected a torch.Tensor, got {type_name}",
            "build the matrix with torch, drawing from the generator argument",
        )
    if tuple(shape) != (n_in, n_out):
        transposed = tuple(shape) == (n_out, n_in) and n_in != n_out
        fail(
            test_id,
            case,
            f"expected shape ({n_in}, {n_out}), got {tuple(shape)}",
            "the matrix is transposed: rows index the layer's inputs (activations @ W)"
            if transposed
            else "rows index a layer's inputs and columns its outputs (activations @ W): the shape is (n_in, n_out)",
        )
    if not dtype.is_floating_point:
        fail(
            test_id,
            case,
            f"expected a floating-point tensor, got {dtype}",
            "weights are real numbers: keep torch's default float32",
        )


def expect_zeros(test_id: str, case: str, nonzero: int, max_abs: float) -> None:
    if nonzero:
        fail(
            test_id,
            case,
            f"expected every entry exactly 0, got {nonzero} nonzero entries (largest |w| "
            f"{max_abs:.3g})",
            "zero init must be exact: torch.empty leaves whatever was in memory, and "
            "a tiny random scale is still random",
        )


# Matrices as the probes describe them ------------------------------------------------------

SUBSET = 20000


def subset_step(numel: int) -> int:
    return max(1, -(-numel // SUBSET))


def subset(t: torch.Tensor) -> torch.Tensor:
    """Every subset_step-th entry of ``t`` flattened, as float64 (all of them up to SUBSET)."""
    return t.detach().double().cpu().flatten()[:: subset_step(t.numel())].clone()


def summary(t: torch.Tensor) -> dict[str, Any]:
    """{"numel", "mean", "std", "nonzero", "max_abs", "nonfinite", "subset"} of all of ``t``'s
    entries in float64 (std unbiased; None below 2 entries)."""
    W = t.detach().double().cpu()
    mean, (low, high) = W.mean().item(), W.aminmax()
    return {
        "numel": W.numel(),
        "mean": mean,
        "std": W.std().item() if W.numel() > 1 else None,
        "nonzero": int(W.count_nonzero()),
        "max_abs": max(abs(low.item()), abs(high.item())),
        # an inf or nan entry makes the mean inf or nan: count them only then
        "nonfinite": 0 if math.isfinite(mean) else int((~torch.isfinite(W)).sum()),
        "subset": subset(W),
    }


def describe(W: Any) -> dict[str, Any]:
    """What a matrix is: {"tensor", "type"}, and for a tensor its "shape" and "dtype", and
    for a non-empty floating-point one its "summary"."""
    data: dict[str, Any] = {"tensor": isinstance(W, torch.Tensor), "type": type(W).__name__}
    if data["tensor"]:
        data.update(shape=list(W.shape), dtype=str(W.dtype))
        if W.is_floating_point() and W.numel():
            data["summary"] = summary(W)
    return data


def is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def verified(test_id: str, case: str, s: Any, numel: int) -> dict[str, Any]:
    """The summary (``summary``) of a matrix of ``numel`` entries, checked
    against its subset of entries: recomputed from them when they are all the entries;
    otherwise the counts must bound the subset's, and finite mean and std must agree with the
    subset's within STAT_Z standard errors (std's from the subset's kurtosis k: s sqrt((k-1)/4m))."""
    expect_data(
        test_id,
        isinstance(s, dict)
        and s.get("numel") == numel
        and isinstance(s.get("subset"), torch.Tensor)
        and s["subset"].dtype == torch.float64
        and tuple(s["subset"].shape) == (len(range(0, numel, subset_step(numel))),)
        and all(is_number(s.get(k)) for k in ("mean", "max_abs", "nonzero", "nonfinite")),
        f"{case}: a matrix's summary",
    )
    own = summary(s["subset"])
    if own["numel"] == numel:
        return own
    expect_data(test_id, is_number(s.get("std")), f"{case}: a matrix's summary")
    consistent = (
        own["nonzero"] <= s["nonzero"] <= numel and own["nonfinite"] <= s["nonfinite"] <= numel
    )
    if math.isfinite(s["mean"]) and math.isfinite(s["std"]):
        m, mean, std = own["numel"], own["mean"], own["std"]
        kurtosis = ((s["subset"] - mean) ** 4).mean().item() / std**4 if std > 0 else 1.0
        slack = 1e-9 * (abs(mean) + std)
        consistent = (
            consistent
            and s["nonfinite"] == 0
            and own["max_abs"] <= s["max_abs"]
            and abs(s["mean"] - mean) <= STAT_Z * std / math.sqrt(m) + slack
            and abs(s["std"] - std)
            <= STAT_Z * std * math.sqrt(max(kurtosis - 1, 0) / (4 * m)) + slack
        )
    else:
        consistent = consistent and s["nonfinite"] > 0
    expect_data(test_id, consistent, f"{case}: the matrix's statistics do not match its entries")
    return cast(dict[str, Any], s)  # a dict: checked by the first expect_data


def float_dtype(test_id: str, name: object) -> torch.dtype:
    dtype = getattr(torch, name.removeprefix("torch."), None) if isinstance(name, str) else None
    expect_data(test_id, isinstance(dtype, torch.dtype), "a dtype")
    return cast(torch.dtype, dtype)  # a dtype: checked by expect_data above


def drawn(test_id: str, d: Any, n_in: int, n_out: int) -> dict[str, Any]:
    """The verified summary of ``init_fn(n_in, n_out, generator)``, after failing on an
    exception, a non-tensor, a wrong shape or a non-floating dtype."""
    case = f"shape ({n_in}, {n_out})"
    expect_data(test_id, isinstance(d, dict), f"{case}: a matrix")
    if isinstance(d.get("raised"), str):
        fail(
            test_id,
            case,
            f"your function raised {d['raised']}",
            "init_fn(n_in, n_out, generator) returns an (n_in, n_out) matrix for any sizes",
        )
    expect_data(
        test_id,
        isinstance(d.get("tensor"), bool) and isinstance(d.get("type"), str),
        f"{case}: a matrix",
    )
    shape, dtype = None, None
    if d["tensor"]:
        shape = d.get("shape")
        expect_data(
            test_id,
            isinstance(shape, list) and all(isinstance(k, int) for k in shape),
            f"{case}: a shape",
        )
        dtype = float_dtype(test_id, d.get("dtype"))
    expect_matrix(test_id, n_in, n_out, d["type"], shape, dtype)
    return verified(test_id, case, d.get("summary"), n_in * n_out)


def listed(test_id: str, data: Any, key: str, n: int) -> list[Any]:
    expect_data(
        test_id,
        isinstance(data, dict) and isinstance(data.get(key), list) and len(data[key]) == n,
        f"{n} results under {key!r}",
    )
    return cast(list[Any], data[key])  # a list: checked by expect_data above


GENERATOR_HINT = (
    "draw every random number from the generator argument, e.g. "
    "torch.randn(n_in, n_out, generator=generator)"
)
RESTARTS_STREAM = (
    "reseeding (torch.manual_seed(generator.initial_seed())) or a new torch.Generator "
    "seeded from the given one restarts the same stream on every call, so every layer "
    "of a network gets the same weights"
)


def stream_draws(draw: Callable[[torch.Generator], T], seed: int, global_seed: int) -> dict[str, T]:
    """{"first", "again", "other", "next", "resumed"}: ``draw(generator)`` with generators seeded
    ``seed``, ``seed`` and ``seed + 1``, the global random state seeded ``global_seed`` before the
    first and ``global_seed + 1`` before the second; "next", a second call with the generator of
    "first"; "resumed", a call with a new generator in the state the first call left that one
    in. The caller's random state is kept."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(global_seed)
        generator = torch.Generator().manual_seed(seed)
        first = draw(generator)
        left = generator.get_state()
        following = draw(generator)
        torch.manual_seed(global_seed + 1)
        again = draw(torch.Generator().manual_seed(seed))
        other = draw(torch.Generator().manual_seed(seed + 1))
        restored = torch.Generator()
        restored.set_state(left)
        return {
            "first": first,
            "again": again,
            "other": other,
            "next": following,
            "resumed": draw(restored),
        }


def expect_one_stream(test_id: str, case: str, draws: Mapping[str, torch.Tensor]) -> None:
    """The matrices of ``stream_draws``: one seed gives one matrix whatever the global random
    state, another seed another; a second call with one generator continues its stream."""
    if not torch.equal(draws["first"], draws["again"]):
        fail(
            test_id,
            case,
            "two generators seeded alike gave different matrices",
            GENERATOR_HINT
            + "; torch.randn without generator= (or np.random) reads the global random state",
        )
    if torch.equal(draws["first"], draws["other"]):
        fail(test_id, case, "generators seeded differently gave the same matrix", GENERATOR_HINT)
    if torch.equal(draws["first"], draws["next"]):
        fail(
            test_id,
            case,
            "two calls with one generator returned the same matrix",
            f"{GENERATOR_HINT}, which advances it: {RESTARTS_STREAM}",
        )
    if not torch.equal(draws["next"], draws["resumed"]):
        fail(
            test_id,
            case,
            "the second call with one generator did not continue its stream: a "
            "generator in the state the first call left gave another matrix",
            GENERATOR_HINT + ", and keep no state of your own between calls",
        )


def _small_init_mistakes(n_in: int, n_out: int) -> dict[str, float]:
    return {
        "std 1: the factor 0.01 is missing": 1.0,
        "std 0.0001: the factor 0.01 was applied twice": 1e-4,
        "std 0.05: that is the large scale of Task 4.3": 0.05,
        "uniform on [-0.01, 0.01] (std 0.0058) instead of 0.01 times a standard normal": 0.01
        / math.sqrt(3),
    }


def _large_init_mistakes(n_in: int, n_out: int) -> dict[str, float]:
    return {
        "std 5 instead of 0.05: N(0, 1) times 5, without the factor 0.01": 5.0,
        "std 1: the factor 0.05 is missing": 1.0,
        "std 0.01: that is the small scale of Task 4.2": 0.01,
        "std 0.224 = sqrt(0.05): 0.05 was used as the variance": math.sqrt(0.05),
    }


def _xavier_stds(n_in: int, n_out: int) -> list[float]:
    """N(0, 1/n_in) as asked; Glorot's 2/(n_in + n_out) (xavier_normal_, or xavier_uniform_'s
    std) is accepted too -- the two agree on square matrices."""
    return sorted({round(1 / math.sqrt(n_in), 12), round(math.sqrt(2 / (n_in + n_out)), 12)})


def _xavier_mistakes(n_in: int, n_out: int) -> dict[str, float]:
    return {
        "Xavier-uniform with limit 1/sqrt(n_in): U(-a, a) has std a/sqrt(3), so this std is "
        "1/sqrt(3 n_in); Glorot's uniform limit is sqrt(6/(n_in + n_out))": 1 / math.sqrt(3 * n_in),
        "std 1/n_in: the variance 1/n_in was used as the standard deviation": 1 / n_in,
        "variance 2/n_in: that is He's scale (Task 4.5)": math.sqrt(2 / n_in),
        "variance 1/n_out: the fan-out instead of the fan-in": 1 / math.sqrt(n_out),
        "std 1: the factor 1/sqrt(n_in) is missing": 1.0,
    }


def _he_mistakes(n_in: int, n_out: int) -> dict[str, float]:
    return {
        "variance 2/n_out: the fan-out instead of the fan-in (nn.init.kaiming_normal_ "
        "applied to an (n_in, n_out) tensor does this, because PyTorch stores a layer's "
        "weight as (out, in))": math.sqrt(2 / n_out),
        "variance 1/n_in: Xavier's scale, without ReLU's factor 2": 1 / math.sqrt(n_in),
        "std 2/n_in: the variance 2/n_in was used as the standard deviation": 2 / n_in,
        "variance 2/(n_in + n_out): Glorot's average of fan-in and fan-out": math.sqrt(
            2 / (n_in + n_out)
        ),
        "uniform with limit sqrt(2/n_in): U(-a, a) has std a/sqrt(3)": math.sqrt(2 / (3 * n_in)),
    }


def _he_stds(n_in: int, n_out: int) -> list[float]:
    return [math.sqrt(2 / n_in)]


def _random_init_mistakes(n_in: int, n_out: int) -> dict[str, float]:
    return {
        "std 1: nn.init.normal_ without std=0.01 draws from N(0, 1)": 1.0,
        "std 0.0001: 0.01² is the variance; the standard deviation is 0.01": 1e-4,
        "std 0.1 = sqrt(0.01): N(0, 0.01²) has standard deviation 0.01": 0.1,
        "uniform on [-0.01, 0.01] (std 0.0058)": 0.01 / math.sqrt(3),
    }


def _kaiming_mistakes(n_in: int, n_out: int) -> dict[str, float]:
    return {
        "mode='fan_out': the std uses the layer's outputs; use mode='fan_in' (the default), "
        "which keeps the forward activations' scale": math.sqrt(2 / n_out),
        "gain 1 (nonlinearity='linear' or 'sigmoid'): ReLU needs gain sqrt(2), "
        "nonlinearity='relu'": 1 / math.sqrt(n_in),
        "xavier_normal_: Glorot's std sqrt(2/(fan_in + fan_out))": math.sqrt(2 / (n_in + n_out)),
        "gain 5/3 (nonlinearity='tanh')": 5 / 3 / math.sqrt(n_in),
    }


class InitRule(NamedTuple):
    """What a task accepts of an (n_in, n_out) weight matrix: ``stds(n_in, n_out)``, the
    standard deviations allowed; ``mistakes(n_in, n_out)``, known mistakes by the std they give;
    ``hint``, when the std is neither."""

    stds: Callable[[int, int], list[float]]
    mistakes: Callable[[int, int], dict[str, float]]
    hint: str
    normal: bool = (
        False  # the task asks for a normal draw (kaiming_normal_): a bounded one is told apart
    )


#: Tasks 4.2-4.5 (initializers) and 4.6, 4.8 (nn.Linear weights re-initialized by a wrapper).
INIT_RULES = {
    "small": InitRule(
        lambda n_in, n_out: [0.01], _small_init_mistakes, "scale standard normal draws by 0.01"
    ),
    "large": InitRule(
        lambda n_in, n_out: [0.05], _large_init_mistakes, "scale standard normal draws by 0.05"
    ),
    "xavier": InitRule(
        _xavier_stds,
        _xavier_mistakes,
        "the variance of each weight is 1/n_in, so its standard deviation is 1/sqrt(n_in)",
    ),
    "he": InitRule(
        _he_stds,
        _he_mistakes,
        "the variance of each weight is 2/n_in (n_in = the layer's inputs, the rows of W)",
    ),
    "random": InitRule(
        lambda n_in, n_out: [0.01],
        _random_init_mistakes,
        "draw each nn.Linear weight from N(0, 0.01²): mean 0, standard deviation 0.01",
    ),
    "kaiming": InitRule(
        _he_stds,
        _kaiming_mistakes,
        "nn.init.kaiming_normal_(weight, mode='fan_in', nonlinearity='relu') gives std "
        "sqrt(2 / in_features)",
        normal=True,
    ),
}


# 4.1-4.5: initializers init_fn(n_in, n_out, generator) -> (n_in, n_out) -----------------

# The initializers' cases: init_fn(n_in, n_out, torch.Generator().manual_seed(case_seed(seed + index))).
SHAPES = [(2048, 2048), (1000, 250), (250, 1000), (300, 700)]  # statistics
ODD_SHAPES = [(1, 1), (3, 7), (7, 3), (1, 500)]  # type, shape, finiteness only
ODD_SEED = 900
GENERATOR_SHAPES = [(64, 64), (120, 30), (30, 120)]
ZERO_SHAPES = [(2048, 2048), (1000, 250), (1, 1), (3, 7), (7, 3)]
ZERO_SEED = 31


def draw_from(
    init_fn: Callable[[int, int, torch.Generator], object],
    n_in: int,
    n_out: int,
    generator: torch.Generator,
) -> dict[str, Any]:
    """``describe(init_fn(n_in, n_out, generator))``, or {"raised": ...}."""
    try:
        return describe(init_fn(n_in, n_out, generator))
    except Exception as exc:  # judged in its place: earlier shapes' diagnostics come first
        return {"raised": describe_error(exc)}


def draw(
    init_fn: Callable[[int, int, torch.Generator], object], n_in: int, n_out: int, seed: int
) -> dict[str, Any]:
    return draw_from(init_fn, n_in, n_out, torch.Generator().manual_seed(seed))


def draws(
    init_fn: Callable[[int, int, torch.Generator], object],
    shapes: Sequence[tuple[int, int]],
    seed: int,
) -> list[dict[str, Any]]:
    return [
        draw(init_fn, n_in, n_out, case_seed(seed + index))
        for index, (n_in, n_out) in enumerate(shapes)
    ]


def generator_draws(
    init_fn: Callable[[int, int, torch.Generator], object],
    shapes: Sequence[tuple[int, int]],
    seed: int,
) -> list[dict[str, dict[str, Any]]]:
    """Per shape, ``stream_draws`` of ``draw_from``, the generators seeded ``case_seed(seed)``
    (and one more), the global random state ``case_seed(seed + 2 * index)`` (and one more)."""
    return [
        stream_draws(
            lambda generator: draw_from(init_fn, n_in, n_out, generator),
            case_seed(seed),
            case_seed(seed + 2 * index),
        )
        for index, (n_in, n_out) in enumerate(shapes)
    ]


def distribution(
    init_fn: Callable[[int, int, torch.Generator], object],
    seed: int,
    generator_seed: int | None = None,
) -> dict[str, Any]:
    """{"statistics": SHAPES drawn from seed + index, "odd": ODD_SHAPES, and, with a
    generator_seed, "generator": generator_draws}."""
    data: dict[str, Any] = {
        "statistics": draws(init_fn, SHAPES, seed),
        "odd": draws(init_fn, ODD_SHAPES, ODD_SEED),
    }
    if generator_seed is not None:
        data["generator"] = generator_draws(init_fn, GENERATOR_SHAPES, generator_seed)
    return data


def judge_statistics(
    test_id: str, draws: Sequence[Any], shapes: Sequence[tuple[int, int]], rule: InitRule
) -> int:
    """``expect_statistics`` of ``rule`` for the matrix drawn for each shape."""
    for d, (n_in, n_out) in zip(draws, shapes):
        s = drawn(test_id, d, n_in, n_out)
        expect_statistics(
            test_id,
            f"shape ({n_in}, {n_out})",
            s["mean"],
            s["std"],
            s["numel"],
            rule.stds(n_in, n_out),
            rule.mistakes(n_in, n_out),
            rule.hint,
        )
    return len(shapes)


def judge_shapes_only(test_id: str, draws: Sequence[Any]) -> int:
    """Tiny and odd shapes: only type, shape, dtype and finiteness."""
    for d, (n_in, n_out) in zip(draws, ODD_SHAPES):
        if drawn(test_id, d, n_in, n_out)["nonfinite"]:
            fail(
                test_id,
                f"shape ({n_in}, {n_out})",
                "the matrix holds inf or nan",
                "every weight must be a finite number",
            )
    return len(ODD_SHAPES)


def judge_generator(test_id: str, data: Any) -> int:
    """``expect_one_stream`` for every shape, on all the matrices' entries."""
    keys = ("first", "again", "other", "next", "resumed")
    for c, (n_in, n_out) in zip(
        listed(test_id, data, "generator", len(GENERATOR_SHAPES)), GENERATOR_SHAPES
    ):
        expect_data(test_id, isinstance(c, dict), f"{len(keys)} matrices")
        expect_one_stream(
            test_id,
            f"shape ({n_in}, {n_out})",
            {key: drawn(test_id, c.get(key), n_in, n_out)["subset"] for key in keys},
        )
    return len(GENERATOR_SHAPES)


def judge_distribution(test_id: str, data: Any, rule: InitRule, generator: bool) -> int:
    """Statistics on SHAPES, type and finiteness on ODD_SHAPES, and with ``generator`` one
    stream per generator: how many cases passed."""
    n = judge_statistics(test_id, listed(test_id, data, "statistics", len(SHAPES)), SHAPES, rule)
    n += judge_shapes_only(test_id, listed(test_id, data, "odd", len(ODD_SHAPES)))
    return n + (judge_generator(test_id, data) if generator else 0)


def probe_init_zero__values(
    init_zero: Callable[[int, int, torch.Generator], object],
) -> dict[str, Any]:
    return {"draws": draws(init_zero, ZERO_SHAPES, ZERO_SEED)}


@aspect(probe=probe_init_zero__values)
def check_init_zero__values(data: Any, hidden: Hidden = NO_HIDDEN) -> int:
    """``init_zero(n_in, n_out, generator)`` is a float tensor of exact zeros."""
    test_id = "init_zero__values"
    for d, (n_in, n_out) in zip(listed(test_id, data, "draws", len(ZERO_SHAPES)), ZERO_SHAPES):
        s = drawn(test_id, d, n_in, n_out)
        expect_zeros(test_id, f"shape ({n_in}, {n_out})", s["nonzero"], s["max_abs"])
    return len(ZERO_SHAPES)


def probe_init_small__distribution(
    init_small: Callable[[int, int, torch.Generator], object],
) -> dict[str, Any]:
    return distribution(init_small, 41, 51)


@aspect(probe=probe_init_small__distribution)
def check_init_small__distribution(data: Any, hidden: Hidden = NO_HIDDEN) -> int:
    """Mean 0 and std 0.01 (within ``STAT_Z`` standard errors), drawn from the generator."""
    return judge_distribution("init_small__distribution", data, INIT_RULES["small"], generator=True)


def probe_init_large__distribution(
    init_large: Callable[[int, int, torch.Generator], object],
) -> dict[str, Any]:
    return distribution(init_large, 61, 71)


@aspect(probe=probe_init_large__distribution)
def check_init_large__distribution(data: Any, hidden: Hidden = NO_HIDDEN) -> int:
    """Mean 0 and std 0.05 (within ``STAT_Z`` standard errors), drawn from the generator."""
    return judge_distribution("init_large__distribution", data, INIT_RULES["large"], generator=True)


def probe_init_xavier__distribution(
    init_xavier: Callable[[int, int, torch.Generator], object],
) -> dict[str, Any]:
    return distribution(init_xavier, 81)


@aspect(probe=probe_init_xavier__distribution)
def check_init_xavier__distribution(data: Any, hidden: Hidden = NO_HIDDEN) -> int:
    """Mean 0 and std 1/sqrt(n_in) (Glorot's sqrt(2/(n_in + n_out)) also accepted)."""
    return judge_distribution(
        "init_xavier__distribution", data, INIT_RULES["xavier"], generator=False
    )


def probe_init_xavier__generator(
    init_xavier: Callable[[int, int, torch.Generator], object],
) -> dict[str, Any]:
    return {"generator": generator_draws(init_xavier, GENERATOR_SHAPES, 91)}


@aspect(probe=probe_init_xavier__generator)
def check_init_xavier__generator(data: Any, hidden: Hidden = NO_HIDDEN) -> int:
    """The same generator seed gives the same matrix, another seed another, and a second call
    continues the generator's stream."""
    return judge_generator("init_xavier__generator", data)


def probe_init_he__distribution(
    init_he: Callable[[int, int, torch.Generator], object],
) -> dict[str, Any]:
    return distribution(init_he, 101)


@aspect(probe=probe_init_he__distribution)
def check_init_he__distribution(data: Any, hidden: Hidden = NO_HIDDEN) -> int:
    """Mean 0 and std sqrt(2/n_in), on square and non-square shapes (fan-in, not fan-out)."""
    return judge_distribution("init_he__distribution", data, INIT_RULES["he"], generator=False)


def probe_init_he__generator(
    init_he: Callable[[int, int, torch.Generator], object],
) -> dict[str, Any]:
    return {"generator": generator_draws(init_he, GENERATOR_SHAPES, 111)}


@aspect(probe=probe_init_he__generator)
def check_init_he__generator(data: Any, hidden: Hidden = NO_HIDDEN) -> int:
    """The same generator seed gives the same matrix, another seed another, and a second call
    continues the generator's stream."""
    return judge_generator("init_he__generator", data)


# Tasks 4.6 and 4.8: wrappers that re-initialize every nn.Linear weight of a network.


def linear_layers(net: nn.Module) -> list[tuple[str, nn.Linear]]:
    """Every nn.Linear in the module tree, with its dotted name (e.g. "2.0.1")."""
    return [(name, m) for name, m in net.named_modules() if isinstance(m, nn.Linear)]


class TwoBranches(nn.Module):
    """Linear layers held as attributes and in a ModuleList, not in a Sequential."""

    def __init__(self, width: int) -> None:
        super().__init__()
        self.left = nn.Linear(width, width)
        self.right = nn.ModuleList([nn.Linear(width, width)])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.left(x) + self.right[0](x)
        return out


def flat_net(seed: int, dtype: torch.dtype = torch.float32) -> nn.Sequential:
    """Non-square layers, so fan-in and fan-out differ; made under torch.manual_seed(seed) (the
    caller's random state kept)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return nn.Sequential(
            nn.Linear(600, 300),
            nn.ReLU(),
            nn.Linear(300, 800),
            nn.ReLU(),
            nn.Linear(800, 120),
            nn.ReLU(),
            nn.Linear(120, 1),
            nn.Sigmoid(),
        ).to(dtype)


def nested_net(seed: int) -> nn.Sequential:
    """Linear layers at the top level, in nested Sequentials and in a custom module, beside
    BatchNorm parameters that must stay untouched; made as ``flat_net`` is."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return nn.Sequential(
            nn.Linear(36, 64),
            nn.Sequential(nn.BatchNorm1d(64), nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 64)),
            nn.Sequential(
                nn.ReLU(), nn.Sequential(nn.Linear(64, 96), nn.ReLU(), nn.Linear(96, 64))
            ),
            TwoBranches(64),
            nn.BatchNorm1d(64),
            nn.Linear(64, 1),
            nn.Sigmoid(),
        )


def wrap_seeded(
    cls: Callable[..., Any], net: nn.Module, seed: int, criterion: nn.Module | None = None
) -> Any:
    """``cls(criterion, net)`` (nn.BCELoss() by default) made under torch.manual_seed(seed), the
    caller's random state kept."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return cls(nn.BCELoss() if criterion is None else criterion, net)


def expect_net(test_id: str, has_net: bool) -> None:
    if not has_net:
        fail(
            test_id,
            "structure",
            "the wrapper keeps no network in .net",
            "call super().__init__(criterion, net) first: Supervise keeps the network as self.net",
        )


def same_tensor(a: torch.Tensor, b: torch.Tensor | None) -> bool:
    return b is not None and a.dtype == b.dtype and a.shape == b.shape and torch.equal(a, b)


def linear_case(name: str, in_features: int, out_features: int, dtype: str) -> str:
    return f"Linear net.{name} ({in_features} -> {out_features}, {dtype})"


class LinearDraw(NamedTuple):
    """An nn.Linear of a wrapped network as the re-init checks judge it: its dotted name, sizes,
    weight dtype (as str), the weight's number of entries, mean and std, whether the weight is
    still the one it had before (``kept``), its bias (None: no bias) and its weight's largest |w|."""

    name: str
    in_features: int
    out_features: int
    dtype: str
    numel: int
    mean: float
    std: float
    kept: bool
    bias: torch.Tensor | None
    max_abs: float


#: A normal draw is told from a uniform one of the same std by its largest |w|: U(-a, a) has std
#: a/sqrt(3), so no uniform weight lies beyond sqrt(3) = 1.73 stds (1.89 sample stds of 1000
#: weights, at STAT_Z standard errors of the std), while 1000 normal draws all stay within
#: UNBOUNDED_STDS = 2.2 stds with probability (1 - 0.028)^1000 < 1e-12. Layers of fewer than
#: UNBOUNDED_MIN_WEIGHTS weights are left out: their sample std is too rough.
UNBOUNDED_STDS, UNBOUNDED_MIN_WEIGHTS = 2.2, 1000
KAIMING_UNIFORM = (
    "kaiming_uniform_: its draws are uniform, bounded at sqrt(3) standard deviations; Task 4.8 "
    "asks for nn.init.kaiming_normal_, a normal draw with the same standard deviation"
)


def expect_unbounded(test_id: str, layers: Sequence[LinearDraw]) -> None:
    """Fail when every weight of every layer of at least UNBOUNDED_MIN_WEIGHTS weights lies within
    UNBOUNDED_STDS of its layer's std: a bounded (uniform) draw, not a normal one."""
    large = [layer for layer in layers if layer.numel >= UNBOUNDED_MIN_WEIGHTS and layer.std]
    if large and all(layer.max_abs <= UNBOUNDED_STDS * layer.std for layer in large):
        worst = max(large, key=lambda layer: layer.max_abs / layer.std)
        fail(
            test_id,
            f"{len(large)} Linear layers of {UNBOUNDED_MIN_WEIGHTS} weights or more",
            f"no weight lies beyond {UNBOUNDED_STDS} standard deviations of its layer (at most "
            f"{worst.max_abs / worst.std:.3g}, in net.{worst.name}), as in a bounded draw; {UNBOUNDED_MIN_WEIGHTS} "
            f"normal draws go beyond it with probability above 1 - 1e-12",
            mistake_hint(KAIMING_UNIFORM, "your weights match"),
        )


def expect_reinit(
    test_id: str,
    layers: Sequence[LinearDraw],
    before: Mapping[str, torch.Tensor],
    others: Mapping[str, torch.Tensor],
    rule: InitRule,
) -> int:
    """Every nn.Linear weight redrawn with ``rule``'s statistics, each bias unchanged or zero,
    and the other parameters (``others``, by name) as they were ``before`` the wrapping."""
    kept = [layer.name for layer in layers if layer.kept]
    if kept:
        nested_only = all("." in name for name in kept) and len(kept) < len(layers)
        fail(
            test_id,
            f"{len(layers)} Linear layers",
            f"{len(kept)} of them kept their weights: {', '.join('net.' + name for name in kept)}",
            "only the top-level layers were re-initialized: net.children() (or looping over net) "
            "stops at the first level, net.modules() visits the whole tree"
            if nested_only
            else "re-initialize, in __init__ and in place, every nn.Linear in self.net.modules()",
        )
    for layer in layers:
        case = linear_case(layer.name, layer.in_features, layer.out_features, layer.dtype)
        sizes = layer.in_features, layer.out_features
        expect_statistics(
            test_id,
            case,
            layer.mean,
            layer.std,
            layer.numel,
            rule.stds(*sizes),
            rule.mistakes(*sizes),
            rule.hint,
            drawn="weights",
        )
        bias = layer.bias
        if (
            bias is not None
            and not same_tensor(bias, before.get(f"{layer.name}.bias"))
            and bias.count_nonzero()
        ):
            fail(
                test_id,
                case,
                "the bias was changed to something other than zeros",
                "leave biases as they are or set them to zero: the task is about weights",
            )
    if rule.normal:
        expect_unbounded(test_id, layers)
    linear = {f"{layer.name}.{kind}" for layer in layers for kind in ("weight", "bias")}
    for name, p in others.items():
        if name not in linear and name in before and not same_tensor(p, before[name]):
            fail(
                test_id,
                f"parameter net.{name}",
                "a parameter of a layer that is not nn.Linear changed",
                "re-initialize only nn.Linear weights (isinstance(module, nn.Linear))",
            )
    return len(layers)


# (build, seed of the wrapper's construction); the comparison builds the same network again
STATISTICS_NETS = [
    (lambda: flat_net(case_seed(5)), 5),
    (lambda: flat_net(case_seed(6), torch.float64), 6),
]
WHOLE_TREE_NETS = [(lambda: nested_net(case_seed(7)), 7)]


def reinit(cls: Callable[..., Any], build: Callable[[], nn.Module], seed: int) -> dict[str, Any]:
    """cls(nn.BCELoss(), build()) made under torch.manual_seed(case_seed(seed)) (the notebook's random
    state kept): {"has_net": model.net is an nn.Module}, and then "layers": for each nn.Linear
    of model.net its "name", "in_features", "out_features", "dtype", "weight" (``describe``)
    and "bias" (a copy, or None); "others": the other parameters the network had, by name."""
    net = build()
    names = {name for name, _ in net.named_parameters()}
    model = wrap_seeded(cls, net, case_seed(seed))
    inner = getattr(model, "net", None)
    if not isinstance(inner, nn.Module):
        return {"has_net": False}
    layers = linear_layers(inner)
    linear_params = {f"{name}.{kind}" for name, _ in layers for kind in ("weight", "bias")}
    return {
        "has_net": True,
        "layers": [
            {
                "name": name,
                "in_features": layer.in_features,
                "out_features": layer.out_features,
                "dtype": str(layer.weight.dtype),
                "weight": describe(layer.weight),
                "bias": None if layer.bias is None else plain(layer.bias),
            }
            for name, layer in layers
        ],
        "others": {
            name: plain(p)
            for name, p in inner.named_parameters()
            if name in names and name not in linear_params
        },
    }


def is_tensor_dict(value: object) -> bool:
    return isinstance(value, dict) and all(
        isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in value.items()
    )


def weight(test_id: str, layer: dict[str, Any], hint: str) -> dict[str, Any]:
    """The verified summary of a Linear layer's weight, a floating-point (out, in) tensor."""
    d, shape = layer["weight"], [layer["out_features"], layer["in_features"]]
    case = linear_case(layer["name"], layer["in_features"], layer["out_features"], layer["dtype"])
    dtype = float_dtype(test_id, d.get("dtype")) if d.get("tensor") is True else None
    if dtype is None or d.get("shape") != shape or not dtype.is_floating_point:
        fail(
            test_id,
            case,
            f"the weight is not a floating-point tensor of shape {tuple(shape)}",
            hint,
        )
    return verified(test_id, case, d.get("summary"), shape[0] * shape[1])


def judge_reinit(test_id: str, data: Any, build: Callable[[], nn.Module], rule: InitRule) -> int:
    """``expect_reinit`` of the probe's re-initialized copy of ``build()``; a weight counts as
    kept when its subset of entries is unchanged."""
    expect_data(
        test_id, isinstance(data, dict) and isinstance(data.get("has_net"), bool), "a network"
    )
    expect_net(test_id, data["has_net"])
    expect_data(
        test_id,
        isinstance(data.get("layers"), list) and is_tensor_dict(data.get("others")),
        "layers and parameters",
    )
    before = {name: p.detach() for name, p in build().named_parameters()}
    for layer in data["layers"]:
        expect_data(
            test_id,
            isinstance(layer, dict)
            and isinstance(layer.get("name"), str)
            and all(isinstance(layer.get(k), int) for k in ("in_features", "out_features"))
            and isinstance(layer.get("dtype"), str)
            and isinstance(layer.get("weight"), dict)
            and (layer.get("bias") is None or isinstance(layer["bias"], torch.Tensor)),
            "a Linear layer",
        )
    layers = []
    for layer in data["layers"]:
        s, old = weight(test_id, layer, rule.hint), before.get(f"{layer['name']}.weight")
        kept = (
            old is not None and s["numel"] == old.numel() and torch.equal(s["subset"], subset(old))
        )
        layers.append(
            LinearDraw(
                layer["name"],
                layer["in_features"],
                layer["out_features"],
                layer["dtype"],
                s["numel"],
                s["mean"],
                s["std"],
                kept,
                layer["bias"],
                s["max_abs"],
            )
        )
    return expect_reinit(test_id, layers, before, data["others"], rule)


def judge_reinits(
    test_id: str,
    data: Any,
    nets: Sequence[tuple[Callable[[], nn.Module], int]],
    rule: InitRule,
) -> int:
    """``judge_reinit`` of each of ``nets``: how many layers passed."""
    return sum(
        judge_reinit(test_id, net_data, build, rule)
        for net_data, (build, _) in zip(listed(test_id, data, "nets", len(nets)), nets)
    )


def probe_supervise_random__statistics(
    Supervise_random_weights: Callable[..., Any],
) -> dict[str, Any]:
    return {
        "nets": [reinit(Supervise_random_weights, build, seed) for build, seed in STATISTICS_NETS]
    }


@aspect(probe=probe_supervise_random__statistics)
def check_supervise_random__statistics(data: Any, hidden: Hidden = NO_HIDDEN) -> int:
    """Every nn.Linear weight has mean 0 and std 0.01 after wrapping (biases: kept or zero)."""
    return judge_reinits(
        "supervise_random__statistics", data, STATISTICS_NETS, INIT_RULES["random"]
    )


def probe_supervise_random__whole_tree(
    Supervise_random_weights: Callable[..., Any],
) -> dict[str, Any]:
    return {
        "nets": [reinit(Supervise_random_weights, build, seed) for build, seed in WHOLE_TREE_NETS]
    }


@aspect(probe=probe_supervise_random__whole_tree)
def check_supervise_random__whole_tree(data: Any, hidden: Hidden = NO_HIDDEN) -> int:
    """Linear layers inside nested containers are re-initialized too; BatchNorm is left alone."""
    return judge_reinits(
        "supervise_random__whole_tree", data, WHOLE_TREE_NETS, INIT_RULES["random"]
    )


def probe_supervise_kaiming__statistics(
    Supervise_Kaiming_weights: Callable[..., Any],
) -> dict[str, Any]:
    return probe_supervise_random__statistics(Supervise_Kaiming_weights)


@aspect(probe=probe_supervise_kaiming__statistics)
def check_supervise_kaiming__statistics(data: Any, hidden: Hidden = NO_HIDDEN) -> int:
    """Every nn.Linear weight has mean 0 and std sqrt(2 / in_features) after wrapping."""
    return judge_reinits(
        "supervise_kaiming__statistics", data, STATISTICS_NETS, INIT_RULES["kaiming"]
    )


def probe_supervise_kaiming__whole_tree(
    Supervise_Kaiming_weights: Callable[..., Any],
) -> dict[str, Any]:
    return probe_supervise_random__whole_tree(Supervise_Kaiming_weights)


@aspect(probe=probe_supervise_kaiming__whole_tree)
def check_supervise_kaiming__whole_tree(data: Any, hidden: Hidden = NO_HIDDEN) -> int:
    """Linear layers inside nested containers are re-initialized too; BatchNorm is left alone."""
    return judge_reinits(
        "supervise_kaiming__whole_tree", data, WHOLE_TREE_NETS, INIT_RULES["kaiming"]
    )


def wrapper_case(seed: int) -> tuple[nn.Sequential, torch.Tensor, torch.Tensor]:
    """(net, x, y): a small network with a nested Sequential, a batch (6, 9) and 0/1 targets,
    made under torch.manual_seed(seed) (the caller's random state kept)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        net = nn.Sequential(
            nn.Linear(9, 7), nn.ReLU(), nn.Sequential(nn.Linear(7, 1)), nn.Sigmoid()
        )
        x, y = torch.rand(6, 9), (torch.rand(6) > 0.5).float()
    return net, x, y


SUPERVISE_HINT = (
    "subclass Supervise and call super().__init__(criterion, net) first, then "
    "re-initialize that same network's weights in place"
)


def expect_supervise(
    test_id: str, case: str, same_net: bool, same_criterion: bool, registered: bool
) -> None:
    """The wrapper keeps the network and the loss it was given, and registers the network's
    parameters as its own."""
    if not same_net:
        fail(test_id, case, "model.net is not the network that was passed in", SUPERVISE_HINT)
    if not same_criterion:
        fail(test_id, case, "model.criterion is not the loss that was passed in", SUPERVISE_HINT)
    if not registered:
        fail(
            test_id,
            case,
            "the network's parameters are not among model.parameters(), so an "
            "optimizer would not train them",
            SUPERVISE_HINT,
        )


FORWARD_HINT = "forward(x, y) returns criterion(self.net(x).squeeze(-1), y), as Supervise's does"


def expect_forward(
    test_id: str, case: str, expected: torch.Tensor, loss: object, changed: bool
) -> None:
    """model(x, y) returned ``expected``, criterion(net(x).squeeze(-1), y), and left the network's
    weights as they were (``changed``: it did not)."""
    expect_close(test_id, case, expected, loss, tolerance(expected), FORWARD_HINT)
    if changed:
        fail(
            test_id,
            case,
            "calling the model changed the network's weights",
            "re-initialize once, in __init__, not in forward",
        )


# Supervise's contract, on every device ----------------------------------------------------

CRITERIA = ("BCELoss", "MSELoss")


def wrapper_cases() -> list[tuple[str, str, int]]:
    """(device, criterion's name in torch.nn, seed of wrapper_case) of each case."""
    return [
        (device, criterion, case_seed(seed))
        for seed, (device, criterion) in enumerate(product(devices(), CRITERIA))
    ]


def state(net: nn.Module) -> dict[str, torch.Tensor]:
    return {key: plain(t) for key, t in net.state_dict().items()}


def wrapper(cls: Callable[..., Any]) -> dict[str, Any]:
    """{"cases": per wrapper_cases() case, model = cls(criterion, net) made under
    torch.manual_seed(seed): "device", "criterion", "has_net", and the identities "same_net"
    (model.net is net), "same_criterion" and "registered" (net's parameters are among
    model's); then, the model moved to the device, net's state_dict "before" and "after"
    model(x, y) and what that call returned, "loss"}. The comparison computes
    criterion(net(x).squeeze(-1), y) itself, from the state "after" and its own x and y."""
    cases = []
    for device, criterion_name, seed in wrapper_cases():
        net, x, y = wrapper_case(seed)
        criterion = getattr(nn, criterion_name)()
        model = wrap_seeded(cls, net, seed, criterion)
        case = {
            "device": device,
            "criterion": criterion_name,
            "has_net": isinstance(getattr(model, "net", None), nn.Module),
        }
        cases.append(case)
        if not case["has_net"]:
            break
        case.update(
            same_net=model.net is net,
            same_criterion=getattr(model, "criterion", None) is criterion,
            registered={id(p) for p in net.parameters()} <= {id(p) for p in model.parameters()},
        )
        model.to(device)
        case["before"] = state(net)
        try:
            case["loss"] = value(model(x.to(device), y.to(device)))
        except Exception as exc:  # judged after the identities above, as their failures come first
            case["loss"] = {"raised": describe_error(exc)}
        case["after"] = state(net)
    return {"cases": cases}


def judge_wrapper(test_id: str, data: Any) -> int:
    """Supervise's contract (``expect_supervise``, ``expect_forward``) on every available device.
    The loss is recomputed here from the network's weights after the call, in a copy of the
    probe's test network; the identities are the probe's word."""
    expect_data(test_id, isinstance(data, dict) and isinstance(data.get("cases"), list), "cases")
    cases = wrapper_cases()
    for index, (device, criterion_name, seed) in enumerate(cases):
        case = f"{criterion_name}, {device}"
        got = data["cases"][index] if index < len(data["cases"]) else {}
        expect_data(
            test_id,
            isinstance(got, dict)
            and got.get("device") == device
            and got.get("criterion") == criterion_name,
            f"no result for {case}",
        )
        expect_net(test_id, got.get("has_net") is True)
        expect_supervise(
            test_id,
            case,
            got.get("same_net") is True,
            got.get("same_criterion") is True,
            got.get("registered") is True,
        )
        net, x, y = wrapper_case(seed)
        shapes = {key: t.shape for key, t in net.state_dict().items()}
        expect_data(
            test_id,
            is_tensor_dict(got.get("before")) and is_tensor_dict(got.get("after")),
            f"{case}: the network's state",
        )
        if any(
            {key: t.shape for key, t in got[when].items()} != shapes for when in ("before", "after")
        ):
            fail(
                test_id,
                case,
                "the network's layers changed: its state_dict's keys or shapes are not "
                "those of the network passed in",
                SUPERVISE_HINT,
            )
        forward_case = f"{case}: model(x, y) on a batch of 6"
        loss = received(test_id, forward_case, got.get("loss"), FORWARD_HINT)
        net.load_state_dict(got["after"])
        net.to(device)
        with torch.no_grad():
            expected = getattr(nn, criterion_name)()(net(x.to(device)).squeeze(-1), y.to(device))
        expect_forward(
            test_id,
            forward_case,
            expected.cpu(),
            loss,
            any(not same_tensor(t, got["after"][key]) for key, t in got["before"].items()),
        )
    return len(cases)


def probe_supervise_random__wrapper(Supervise_random_weights: Callable[..., Any]) -> dict[str, Any]:
    return wrapper(Supervise_random_weights)


@aspect(probe=probe_supervise_random__wrapper)
def check_supervise_random__wrapper(data: Any, hidden: Hidden = NO_HIDDEN) -> int:
    """It is a Supervise: same network, same loss, same forward, on every device."""
    return judge_wrapper("supervise_random__wrapper", data)


def probe_supervise_kaiming__wrapper(
    Supervise_Kaiming_weights: Callable[..., Any],
) -> dict[str, Any]:
    return wrapper(Supervise_Kaiming_weights)


@aspect(probe=probe_supervise_kaiming__wrapper)
def check_supervise_kaiming__wrapper(data: Any, hidden: Hidden = NO_HIDDEN) -> int:
    """It is a Supervise: same network, same loss, same forward, on every device."""
    return judge_wrapper("supervise_kaiming__wrapper", data)


def expect_wrapped(
    test_id: str,
    class_name: str,
    classes: Sequence[str],
    holds_net: bool,
    criterion_classes: Sequence[str],
) -> None:
    """A model of the notebook's class ``class_name`` (``classes``: the model's ``mro``) holding
    the task's network, with a BCE loss (``criterion_classes``: the loss's ``mro``)."""
    hint = f"wrap the network you built: {class_name}(nn.BCELoss(), <your network>)"
    names = [path.rsplit(".", 1)[-1] for path in classes]
    if class_name not in names:
        fail(test_id, "type", f"expected a {class_name}, got {names[0]}", hint)
    if class_path(nn.Module) not in classes:
        fail(test_id, "type", f"{class_name} is not an nn.Module", "subclass Supervise")
    if not holds_net:
        fail(test_id, "model.net", "the wrapper does not hold the network you built", hint)
    if class_path(nn.BCELoss) not in criterion_classes:
        fail(
            test_id,
            "model.criterion",
            f"expected nn.BCELoss, got {criterion_classes[0].rsplit('.', 1)[-1]}",
            hint,
        )


# 4.7 and 4.9: 3.12's network inside the wrappers. The hidden calls pass globals().get() of the
# model and of its class, so that the probe runs even when the class raised before the model
# existed; the grader then judges the wrapping from the answer cell's code (its hidden extra
# "unbuilt", which reads the handed-in notebook), so one mistake costs one task's points.


def wrapped(model: object, net: object, cls: Callable[..., Any] | None) -> dict[str, Any]:
    """{"built": True, "mro": the model's classes, "holds_net": model.net is net, "criterion":
    the classes of model.criterion}. A model that was never built (None: the notebook has no
    such name) gives {"built": False, "class_defined": cls is not None, "class_raised": what
    cls(nn.BCELoss(), a copy of net) raises, or None}."""
    if model is not None:
        return {
            "built": True,
            "mro": mro(model),
            "holds_net": getattr(model, "net", None) is net,
            "criterion": mro(getattr(model, "criterion", None)),
        }
    data: dict[str, Any] = {"built": False, "class_defined": cls is not None, "class_raised": None}
    if cls is None:
        return data
    try:
        with torch.random.fork_rng(devices=[]):
            cls(nn.BCELoss(), copy.deepcopy(net))
    except Exception as exc:  # the wrapper class of Task 4.6 or 4.8 fails: its own checks say so
        data["class_raised"] = describe_error(exc)
    return data


def unbuilt_reason(test_id: str, data: Any, class_name: str, net_name: str) -> str | None:
    """Why the model was never built, when its class is missing or raises; else None."""
    expect_data(
        test_id,
        isinstance(data.get("class_defined"), bool)
        and (data.get("class_raised") is None or isinstance(data["class_raised"], str)),
        "whether the class raised",
    )
    if not data["class_defined"]:
        return f"the notebook defines no {class_name}"
    if data["class_raised"]:
        return (
            f"{class_name}(nn.BCELoss(), {net_name}) raises {data['class_raised'].splitlines()[0]}"
        )
    return None


def judge_wrapped(
    test_id: str, data: Any, names: tuple[str, str, str], owner: str, hidden: Hidden
) -> int | str:
    """The model is an instance of the notebook's class holding the task's network and a BCE
    loss, as the probe's introspection reports (``names``: the model's, the class's and the
    network's): 3 properties. Only the type is checked, not the initialization (that is
    ``owner``'s to grade). A model never built fails here; the grader first asks its extra
    ``unbuilt`` (the answer cell's code) when the class is to blame."""
    model_name, class_name, net_name = names
    expect_data(
        test_id, isinstance(data, dict) and isinstance(data.get("built"), bool), "the model"
    )
    if not data["built"]:
        why = unbuilt_reason(test_id, data, class_name, net_name)
        if why and "unbuilt" in hidden:
            judged = hidden["unbuilt"](test_id, names, owner, why)
            if isinstance(judged, Judged):  # the cell wraps the network: judged from its code
                return judged
        fail(
            test_id,
            model_name,
            f"{model_name} is not defined" + (f": {why}" if why else ""),
            f"build it in the cell of the task: {model_name} = {class_name}(nn.BCELoss(), {net_name})",
        )
    expect_data(
        test_id,
        is_str_list(data.get("mro"))
        and data["mro"]
        and isinstance(data.get("holds_net"), bool)
        and is_str_list(data.get("criterion"))
        and data["criterion"],
        "the model's classes",
    )
    expect_wrapped(test_id, class_name, data["mro"], data["holds_net"], data["criterion"])
    return 3


def probe_net_4_7__architecture(net_4_7: object) -> dict[str, Any]:
    return probe_architecture("4.7", net_4_7)


@aspect(probe=probe_net_4_7__architecture)
def check_net_4_7__architecture(data: Any, hidden: Hidden = NO_HIDDEN) -> int | str:
    """3.12's layers, through Part 3's comparison."""
    return check_architecture.compare(data, "4.7", hidden=hidden)


def probe_net_4_7__wrapper(
    model_4_7: object, net_4_7: object, Supervise_random_weights: Callable[..., Any] | None = None
) -> dict[str, Any]:
    return wrapped(model_4_7, net_4_7, Supervise_random_weights)


@aspect(probe=probe_net_4_7__wrapper)
def check_net_4_7__wrapper(data: Any, hidden: Hidden = NO_HIDDEN) -> int | str:
    """model_4_7 is a Supervise_random_weights around net_4_7, with BCELoss."""
    names = ("model_4_7", "Supervise_random_weights", "net_4_7")
    return judge_wrapped("net_4_7__wrapper", data, names, "Task 4.6", hidden)


def probe_net_4_9__architecture(net_4_9: object) -> dict[str, Any]:
    return probe_architecture("4.9", net_4_9)


@aspect(probe=probe_net_4_9__architecture)
def check_net_4_9__architecture(data: Any, hidden: Hidden = NO_HIDDEN) -> int | str:
    """3.12's layers, through Part 3's comparison."""
    return check_architecture.compare(data, "4.9", hidden=hidden)


def probe_net_4_9__wrapper(
    model_4_9: object, net_4_9: object, Supervise_Kaiming_weights: Callable[..., Any] | None = None
) -> dict[str, Any]:
    return wrapped(model_4_9, net_4_9, Supervise_Kaiming_weights)


@aspect(probe=probe_net_4_9__wrapper)
def check_net_4_9__wrapper(data: Any, hidden: Hidden = NO_HIDDEN) -> int | str:
    """model_4_9 is a Supervise_Kaiming_weights around net_4_9, with BCELoss."""
    names = ("model_4_9", "Supervise_Kaiming_weights", "net_4_9")
    return judge_wrapped("net_4_9__wrapper", data, names, "Task 4.8", hidden)
