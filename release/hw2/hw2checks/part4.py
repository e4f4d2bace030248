"""Checks of notebook 4: weight initializations (statistics, one generator stream), the
Supervise wrappers and the networks of Tasks 4.7 and 4.9."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import NamedTuple

import torch
from torch import nn

from hw2checks.part3 import check_architecture, class_path, mro
from hw2checks.toolkit import (
    expect_close,
    fail,
    known_mistake,
    mistake_hint,
    print_passed,
    student_facing,
    tolerance,
)

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


def _draw_init(
    test_id: str, init_fn: Callable, n_in: int, n_out: int, generator: torch.Generator
) -> torch.Tensor:
    """``init_fn(n_in, n_out, generator)`` checked for type, shape and dtype, as float64."""
    W = init_fn(n_in, n_out, generator)
    tensor = isinstance(W, torch.Tensor)
    expect_matrix(
        test_id,
        n_in,
        n_out,
        type(W).__name__,
        W.shape if tensor else None,
        W.dtype if tensor else None,
    )
    return W.detach().double().cpu()


def _check_init_statistics(test_id: str, init_fn: Callable, shapes, rule: InitRule) -> int:
    """``expect_statistics`` of ``rule`` for a matrix of each shape."""
    for index, (n_in, n_out) in enumerate(shapes):
        W = _draw_init(test_id, init_fn, n_in, n_out, torch.Generator().manual_seed(100 + index))
        expect_statistics(
            test_id,
            f"shape ({n_in}, {n_out})",
            W.mean().item(),
            W.std().item(),
            W.numel(),
            rule.stds(n_in, n_out),
            rule.mistakes(n_in, n_out),
            rule.hint,
        )
    return len(shapes)


GENERATOR_HINT = (
    "draw every random number from the generator argument, e.g. "
    "torch.randn(n_in, n_out, generator=generator)"
)
RESTARTS_STREAM = (
    "reseeding (torch.manual_seed(generator.initial_seed())) or a new torch.Generator "
    "seeded from the given one restarts the same stream on every call, so every layer "
    "of a network gets the same weights"
)


def stream_draws(draw: Callable[[torch.Generator], object], seed: int, global_seed: int) -> dict:
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


def _check_init_generator(test_id: str, init_fn: Callable, n_in: int, n_out: int) -> int:
    draws = stream_draws(
        lambda generator: _draw_init(test_id, init_fn, n_in, n_out, generator), 7, 1
    )
    expect_one_stream(test_id, f"shape ({n_in}, {n_out})", draws)
    return 4


@student_facing
def check_init_zero__values(init_zero: Callable) -> None:
    """``init_zero(n_in, n_out, generator)`` is a float tensor of exact zeros."""
    test_id = "init_zero__values"
    shapes = [(3, 5), (64, 32), (1, 1)]
    for n_in, n_out in shapes:
        W = _draw_init(test_id, init_zero, n_in, n_out, torch.Generator().manual_seed(0))
        expect_zeros(
            test_id, f"shape ({n_in}, {n_out})", W.count_nonzero().item(), W.abs().max().item()
        )
    print_passed(test_id, len(shapes))


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


@student_facing
def check_init_small__distribution(init_small: Callable) -> None:
    """Mean 0 and std 0.01 (within ``STAT_Z`` standard errors), drawn from the generator."""
    test_id = "init_small__distribution"
    n = _check_init_statistics(test_id, init_small, [(512, 256), (256, 512)], INIT_RULES["small"])
    print_passed(test_id, n + _check_init_generator(test_id, init_small, 40, 30))


@student_facing
def check_init_large__distribution(init_large: Callable) -> None:
    """Mean 0 and std 0.05 (within ``STAT_Z`` standard errors), drawn from the generator."""
    test_id = "init_large__distribution"
    n = _check_init_statistics(test_id, init_large, [(512, 256), (256, 512)], INIT_RULES["large"])
    print_passed(test_id, n + _check_init_generator(test_id, init_large, 40, 30))


@student_facing
def check_init_xavier__distribution(init_xavier: Callable) -> None:
    """Mean 0 and std 1/sqrt(n_in) (Glorot's sqrt(2/(n_in + n_out)) also accepted)."""
    test_id = "init_xavier__distribution"
    print_passed(
        test_id,
        _check_init_statistics(
            test_id, init_xavier, [(1024, 1024), (512, 128)], INIT_RULES["xavier"]
        ),
    )


@student_facing
def check_init_xavier__generator(init_xavier: Callable) -> None:
    """The same generator seed gives the same matrix; another seed another matrix."""
    test_id = "init_xavier__generator"
    print_passed(test_id, _check_init_generator(test_id, init_xavier, 50, 20))


@student_facing
def check_init_he__distribution(init_he: Callable) -> None:
    """Mean 0 and std sqrt(2/n_in), on square and non-square shapes (fan-in, not fan-out)."""
    test_id = "init_he__distribution"
    print_passed(
        test_id,
        _check_init_statistics(
            test_id, init_he, [(1024, 1024), (800, 200), (200, 800)], INIT_RULES["he"]
        ),
    )


@student_facing
def check_init_he__generator(init_he: Callable) -> None:
    """The same generator seed gives the same matrix; another seed another matrix."""
    test_id = "init_he__generator"
    print_passed(test_id, _check_init_generator(test_id, init_he, 50, 20))


# Tasks 4.6 and 4.8: wrappers that re-initialize every nn.Linear weight of a network.


def linear_layers(net: nn.Module) -> list[tuple[str, nn.Linear]]:
    """Every nn.Linear in the module tree, with its dotted name (e.g. "2.0.1")."""
    return [(name, m) for name, m in net.named_modules() if isinstance(m, nn.Linear)]


class TwoBranches(nn.Module):
    """Linear layers held as attributes and in a ModuleList, not in a Sequential."""

    def __init__(self, width: int):
        super().__init__()
        self.left = nn.Linear(width, width)
        self.right = nn.ModuleList([nn.Linear(width, width)])

    def forward(self, x):
        return self.left(x) + self.right[0](x)


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


def wrap_seeded(cls, net: nn.Module, seed: int, criterion: nn.Module | None = None):
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


def _check_reinit(test_id: str, cls, net: nn.Module, rule: InitRule) -> int:
    """``expect_reinit`` of ``cls(nn.BCELoss(), net)``."""
    before = {name: p.detach().clone() for name, p in net.named_parameters()}
    model = wrap_seeded(cls, net, 0)
    expect_net(test_id, isinstance(getattr(model, "net", None), nn.Module))
    layers = []
    for name, layer in linear_layers(model.net):
        W = layer.weight.detach()
        W64 = W.double().cpu()
        layers.append(
            LinearDraw(
                name,
                layer.in_features,
                layer.out_features,
                str(W.dtype),
                W.numel(),
                W64.mean().item(),
                W64.std().item(),
                same_tensor(W, before.get(f"{name}.weight")),
                None if layer.bias is None else layer.bias.detach(),
                W64.abs().max().item(),
            )
        )
    others = {name: p.detach() for name, p in model.net.named_parameters()}
    return expect_reinit(test_id, layers, before, others, rule)


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


def expect_forward(test_id: str, case: str, expected: torch.Tensor, loss, changed: bool) -> None:
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


def _check_supervise_wrapper(test_id: str, cls) -> None:
    """A Supervise-like module: keeps the given network and loss, registers the network's
    parameters, computes criterion(net(x).squeeze(-1), y), and forward changes no weight."""
    net, x, y = wrapper_case(1)
    criterion = nn.MSELoss()
    model = wrap_seeded(cls, net, 0, criterion)
    expect_net(test_id, isinstance(getattr(model, "net", None), nn.Module))
    expect_supervise(
        test_id,
        "MSELoss",
        model.net is net,
        getattr(model, "criterion", None) is criterion,
        {id(p) for p in net.parameters()} <= {id(p) for p in model.parameters()},
    )
    state = {k: v.clone() for k, v in net.state_dict().items()}
    loss = model(x, y)
    with torch.no_grad():
        expected = criterion(net(x).squeeze(-1), y)
    expect_forward(
        test_id,
        "MSELoss: model(x, y) on a batch of 6",
        expected,
        loss,
        any(not torch.equal(v, net.state_dict()[k]) for k, v in state.items()),
    )
    print_passed(test_id, 4)


@student_facing
def check_supervise_random__statistics(Supervise_random_weights) -> None:
    """Every nn.Linear weight has mean 0 and std 0.01 after wrapping (biases: kept or zero)."""
    test_id = "supervise_random__statistics"
    print_passed(
        test_id, _check_reinit(test_id, Supervise_random_weights, flat_net(2), INIT_RULES["random"])
    )


@student_facing
def check_supervise_random__whole_tree(Supervise_random_weights) -> None:
    """Linear layers inside nested containers are re-initialized too; BatchNorm is left alone."""
    test_id = "supervise_random__whole_tree"
    print_passed(
        test_id,
        _check_reinit(test_id, Supervise_random_weights, nested_net(3), INIT_RULES["random"]),
    )


@student_facing
def check_supervise_random__wrapper(Supervise_random_weights) -> None:
    """It is a Supervise: same network, same loss, same forward."""
    _check_supervise_wrapper("supervise_random__wrapper", Supervise_random_weights)


@student_facing
def check_supervise_kaiming__statistics(Supervise_Kaiming_weights) -> None:
    """Every nn.Linear weight has mean 0 and std sqrt(2 / in_features) after wrapping."""
    test_id = "supervise_kaiming__statistics"
    print_passed(
        test_id,
        _check_reinit(test_id, Supervise_Kaiming_weights, flat_net(2), INIT_RULES["kaiming"]),
    )


@student_facing
def check_supervise_kaiming__whole_tree(Supervise_Kaiming_weights) -> None:
    """Linear layers inside nested containers are re-initialized too; BatchNorm is left alone."""
    test_id = "supervise_kaiming__whole_tree"
    print_passed(
        test_id,
        _check_reinit(test_id, Supervise_Kaiming_weights, nested_net(3), INIT_RULES["kaiming"]),
    )


@student_facing
def check_supervise_kaiming__wrapper(Supervise_Kaiming_weights) -> None:
    """It is a Supervise: same network, same loss, same forward."""
    _check_supervise_wrapper("supervise_kaiming__wrapper", Supervise_Kaiming_weights)


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


def _check_wrapped(test_id: str, model, net, class_name: str) -> None:
    expect_wrapped(
        test_id,
        class_name,
        mro(model),
        getattr(model, "net", None) is net,
        mro(getattr(model, "criterion", None)),
    )
    print(f"{test_id}: {class_name} around your network, with BCELoss")


@student_facing
def check_net_4_7__architecture(net_4_7) -> None:
    check_architecture("4.7", net_4_7)


@student_facing
def check_net_4_7__wrapper(model_4_7, net_4_7) -> None:
    _check_wrapped("net_4_7__wrapper", model_4_7, net_4_7, "Supervise_random_weights")


@student_facing
def check_net_4_9__architecture(net_4_9) -> None:
    check_architecture("4.9", net_4_9)


@student_facing
def check_net_4_9__wrapper(model_4_9, net_4_9) -> None:
    _check_wrapped("net_4_9__wrapper", model_4_9, net_4_9, "Supervise_Kaiming_weights")
