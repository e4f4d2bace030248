"""Judges of notebook 4: weight initializers (4.1-4.5), the re-initializing wrappers (4.6, 4.8)
and the networks trained with them (4.7, 4.9). A wrapper class that raises leaves 4.7's (4.9's)
model unbuilt: the wrapping is then judged from the answer cell's code, so one mistake costs
the points of one task.

The probes (``hw2probes.part4``) draw the student's matrices and re-initialize the probes'
test networks; a big matrix arrives as statistics of all its entries plus an evenly strided
subset of them, which these judges use to cross-check the statistics before judging them.

Statistics are compared within Z standard errors: for n independent draws with standard
deviation s, the sample mean has standard error s/sqrt(n) and the sample standard deviation
about s/sqrt(2n) (normal draws; less for uniform ones). With Z = 6 a correct answer fails by
chance with probability about 2e-9 per comparison, while every misconception listed below
lies dozens of tolerances away on the shapes used.
"""
from __future__ import annotations

import ast
import math
from pathlib import Path

import torch
from torch import nn

import hw2checks
from autograder.checks.common import expect_close, expect_data, fail, is_str_list, passed, tolerance
from autograder.checks.part3 import judge_architecture, received
from autograder.intake import NOTEBOOKS
from autograder.integrity import load_submission
from autograder.judging import Context, check_locally
from hw2probes.part3 import class_path
from hw2probes.part4 import (GENERATOR_SHAPES, ODD_SHAPES, SHAPES, STATISTICS_NETS, WHOLE_TREE_NETS,
                             ZERO_SHAPES, subset, subset_step, summary, wrapper_case, wrapper_cases)

Z = hw2checks.STAT_Z  # standard errors a statistic may stray; why 6 is said there
MODULE, BCE = class_path(nn.Module), class_path(nn.BCELoss)
NOTEBOOK = NOTEBOOKS[3]


def tolerances(std: float, n: int) -> tuple[float, float]:
    """(tolerance on the mean, tolerance on the standard deviation) for n draws of std ``std``."""
    return Z * std / math.sqrt(n), Z * std / math.sqrt(2 * n)


# Matrices as the probes describe them ------------------------------------------------------

def is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def verified(test_id: str, case: str, s, numel: int) -> dict:
    """The summary (``hw2probes.part4.summary``) of a matrix of ``numel`` entries, checked
    against its subset of entries: recomputed from them when they are all the entries;
    otherwise the counts must bound the subset's, and finite mean and std must agree with the
    subset's within Z standard errors (std's from the subset's kurtosis k: s sqrt((k-1)/4m))."""
    expect_data(test_id, isinstance(s, dict) and s.get("numel") == numel
                and isinstance(s.get("subset"), torch.Tensor) and s["subset"].dtype == torch.float64
                and tuple(s["subset"].shape) == (len(range(0, numel, subset_step(numel))),)
                and all(is_number(s.get(k)) for k in ("mean", "max_abs", "nonzero", "nonfinite")),
                f"{case}: a matrix's summary")
    own = summary(s["subset"])
    if own["numel"] == numel:
        return own
    expect_data(test_id, is_number(s.get("std")), f"{case}: a matrix's summary")
    consistent = (own["nonzero"] <= s["nonzero"] <= numel and own["nonfinite"] <= s["nonfinite"] <= numel)
    if math.isfinite(s["mean"]) and math.isfinite(s["std"]):
        m, mean, std = own["numel"], own["mean"], own["std"]
        kurtosis = ((s["subset"] - mean) ** 4).mean().item() / std ** 4 if std > 0 else 1.0
        slack = 1e-9 * (abs(mean) + std)
        consistent = (consistent and s["nonfinite"] == 0 and own["max_abs"] <= s["max_abs"]
                      and abs(s["mean"] - mean) <= Z * std / math.sqrt(m) + slack
                      and abs(s["std"] - std) <= Z * std * math.sqrt(max(kurtosis - 1, 0) / (4 * m)) + slack)
    else:
        consistent = consistent and s["nonfinite"] > 0
    expect_data(test_id, consistent, f"{case}: the matrix's statistics do not match its entries")
    return s


def float_dtype(test_id: str, name) -> torch.dtype:
    dtype = getattr(torch, name.removeprefix("torch."), None) if isinstance(name, str) else None
    expect_data(test_id, isinstance(dtype, torch.dtype), "a dtype")
    return dtype


def drawn(test_id: str, d, n_in: int, n_out: int) -> dict:
    """The verified summary of ``init_fn(n_in, n_out, generator)``, after failing on an
    exception, a non-tensor, a wrong shape or a non-floating dtype."""
    case = f"shape ({n_in}, {n_out})"
    expect_data(test_id, isinstance(d, dict), f"{case}: a matrix")
    if isinstance(d.get("raised"), str):
        fail(test_id, case, f"your function raised {d['raised']}",
             "init_fn(n_in, n_out, generator) returns an (n_in, n_out) matrix for any sizes")
    expect_data(test_id, isinstance(d.get("tensor"), bool) and isinstance(d.get("type"), str),
                f"{case}: a matrix")
    if not d["tensor"]:
        fail(test_id, case, f"expected a torch.Tensor, got {d['type']}",
             "build the matrix with torch, drawing from the generator argument")
    shape = d.get("shape")
    expect_data(test_id, isinstance(shape, list) and all(isinstance(k, int) for k in shape),
                f"{case}: a shape")
    if tuple(shape) != (n_in, n_out):
        transposed = tuple(shape) == (n_out, n_in) and n_in != n_out
        fail(test_id, case, f"expected shape ({n_in}, {n_out}), got {tuple(shape)}",
             "the matrix is transposed: rows index the layer's inputs (activations @ W)"
             if transposed else "return a matrix of shape (n_in, n_out)")
    if not float_dtype(test_id, d.get("dtype")).is_floating_point:
        fail(test_id, case, f"expected a floating-point tensor, got {d['dtype']}",
             "weights are real numbers: keep torch's default float32")
    return verified(test_id, case, d.get("summary"), n_in * n_out)


def listed(test_id: str, data, key: str, n: int) -> list:
    expect_data(test_id, isinstance(data, dict) and isinstance(data.get(key), list) and len(data[key]) == n,
                f"{n} results under {key!r}")
    return data[key]


# 4.1-4.5: initializers init_fn(n_in, n_out, generator) -> (n_in, n_out) -----------------

def judge_statistics(test_id: str, draws, shapes, stds, mistakes, hint: str) -> int:
    """Mean 0 and a std in ``stds(n_in, n_out)`` for every shape; ``mistakes(n_in, n_out)``
    maps a misconception to the std it produces, to name it in the message."""
    for d, (n_in, n_out) in zip(draws, shapes):
        s = drawn(test_id, d, n_in, n_out)
        n, accepted = s["numel"], stds(n_in, n_out)
        case = f"shape ({n_in}, {n_out})"
        mean, std = s["mean"], s["std"]
        if not any(abs(std - a) <= tolerances(a, n)[1] for a in accepted):
            known = [name for name, a in mistakes(n_in, n_out).items()
                     if abs(std - a) <= tolerances(a, n)[1]]
            fail(test_id, case, f"expected standard deviation "
                 f"{' or '.join(f'{a:.4g}' for a in accepted)}, got {std:.4g}; tolerance "
                 f"{tolerances(accepted[0], n)[1]:.2g} ({Z:g} standard errors for {n} draws)",
                 f"your weights match a known mistake: {known[0]}" if known else hint)
        mean_tol = tolerances(max(accepted), n)[0]
        if not abs(mean) <= mean_tol:
            fail(test_id, case, f"expected mean 0, got {mean:.4g}; tolerance {mean_tol:.2g} "
                 f"({Z:g} standard errors for {n} draws)", "draw weights centred on 0")
    return len(shapes)


def judge_shapes_only(test_id: str, draws) -> int:
    """Tiny and odd shapes: only type, shape, dtype and finiteness."""
    for d, (n_in, n_out) in zip(draws, ODD_SHAPES):
        if drawn(test_id, d, n_in, n_out)["nonfinite"]:
            fail(test_id, f"shape ({n_in}, {n_out})", "the matrix holds inf or nan",
                 "every weight must be a finite number")
    return len(ODD_SHAPES)


RESTARTS_STREAM = ("reseeding (torch.manual_seed(generator.initial_seed())) or a new torch.Generator "
                   "seeded from the given one restarts the same stream on every call, so every layer "
                   "of a network gets the same weights")


def judge_generator(test_id: str, data) -> int:
    """Generators seeded alike gave the same matrix whatever the global random state;
    generators seeded differently gave different matrices; a second call with one generator
    gave another matrix, the one a generator in the state the first call left gives (the
    call continues the generator's stream). All the matrices' entries are compared."""
    hint = ("draw every random number from the generator argument, e.g. "
            "torch.randn(n_in, n_out, generator=generator)")
    keys = ("first", "again", "other", "next", "resumed")
    for c, (n_in, n_out) in zip(listed(test_id, data, "generator", len(GENERATOR_SHAPES)), GENERATOR_SHAPES):
        expect_data(test_id, isinstance(c, dict), f"{len(keys)} matrices")
        first, again, other, following, resumed = (drawn(test_id, c.get(key), n_in, n_out)["subset"]
                                                   for key in keys)
        case = f"shape ({n_in}, {n_out})"
        if not torch.equal(first, again):
            fail(test_id, case, "two generators with the same seed gave different matrices",
                 hint + "; torch.randn without generator= (or np.random) reads the global random state")
        if torch.equal(first, other):
            fail(test_id, case, "generators with different seeds gave the same matrix", hint)
        if torch.equal(first, following):
            fail(test_id, case, "two calls with one generator returned the same matrix",
                 f"{hint}, which advances it: {RESTARTS_STREAM}")
        if not torch.equal(following, resumed):
            fail(test_id, case, "the second call with one generator did not continue its stream: a "
                 "generator in the state the first call left gave another matrix",
                 hint + ", and keep no state of your own between calls")
    return len(GENERATOR_SHAPES)


def judge_distribution(test_id: str, data, stds, mistakes, hint: str, generator: bool) -> str:
    n = judge_statistics(test_id, listed(test_id, data, "statistics", len(SHAPES)), SHAPES, stds,
                         mistakes, hint)
    n += judge_shapes_only(test_id, listed(test_id, data, "odd", len(ODD_SHAPES)))
    return passed(test_id, n + (judge_generator(test_id, data) if generator else 0))


def small_mistakes(n_in, n_out):
    return {"std 1: the factor 0.01 is missing": 1.0,
            "std 0.0001: the factor 0.01 was applied twice": 1e-4,
            "std 0.05: that is the large scale of Task 4.3": 0.05,
            "uniform on [-0.01, 0.01] (std 0.0058) instead of 0.01 times a standard normal":
                0.01 / math.sqrt(3)}


def large_mistakes(n_in, n_out):
    return {"std 5 instead of 0.05: N(0, 1) times 5, without the factor 0.01": 5.0,
            "std 1: the factor 0.05 is missing": 1.0,
            "std 0.01: that is the small scale of Task 4.2": 0.01,
            "std 0.224 = sqrt(0.05): 0.05 was used as the variance": math.sqrt(0.05)}


def xavier_stds(n_in, n_out):
    """N(0, 1/n_in) as the task asks; Glorot's variance 2/(n_in + n_out) (xavier_normal_, and
    the std of xavier_uniform_) is accepted too: the two agree on square matrices."""
    return sorted({round(1 / math.sqrt(n_in), 12), round(math.sqrt(2 / (n_in + n_out)), 12)})


def xavier_mistakes(n_in, n_out):
    return {"Xavier-uniform with limit 1/sqrt(n_in): U(-a, a) has std a/sqrt(3), so this std is "
            "1/sqrt(3 n_in); Glorot's uniform limit is sqrt(6/(n_in + n_out))": 1 / math.sqrt(3 * n_in),
            "std 1/n_in: the variance 1/n_in was used as the standard deviation": 1 / n_in,
            "variance 2/n_in: that is He's scale (Task 4.5)": math.sqrt(2 / n_in),
            "variance 1/n_out: the fan-out instead of the fan-in": 1 / math.sqrt(n_out),
            "std 1: the factor 1/sqrt(n_in) is missing": 1.0}


def he_mistakes(n_in, n_out):
    return {"variance 2/n_out: the fan-out instead of the fan-in (nn.init.kaiming_normal_ on an "
            "(n_in, n_out) tensor does this, because PyTorch stores a layer's weight as (out, in))":
                math.sqrt(2 / n_out),
            "variance 1/n_in: Xavier's scale, without ReLU's factor 2": 1 / math.sqrt(n_in),
            "std 2/n_in: the variance 2/n_in was used as the standard deviation": 2 / n_in,
            "variance 2/(n_in + n_out): Glorot's average of fan-in and fan-out":
                math.sqrt(2 / (n_in + n_out)),
            "uniform with limit sqrt(2/n_in): U(-a, a) has std a/sqrt(3)": math.sqrt(2 / (3 * n_in))}


def judge_init_zero__values(data) -> str:
    test_id = "init_zero__values"
    for d, (n_in, n_out) in zip(listed(test_id, data, "draws", len(ZERO_SHAPES)), ZERO_SHAPES):
        s = drawn(test_id, d, n_in, n_out)
        if s["nonzero"]:
            fail(test_id, f"shape ({n_in}, {n_out})", f"expected every entry exactly 0, got "
                 f"{s['nonzero']} nonzero entries (largest |w| {s['max_abs']:.3g})",
                 "zero init must be exact: torch.empty leaves whatever was in memory, and a tiny "
                 "random scale is still random")
    return passed(test_id, len(ZERO_SHAPES))


def judge_init_small__distribution(data) -> str:
    return judge_distribution("init_small__distribution", data, lambda i, o: [0.01], small_mistakes,
                              "multiply standard normal draws by 0.01", generator=True)


def judge_init_large__distribution(data) -> str:
    return judge_distribution("init_large__distribution", data, lambda i, o: [0.05], large_mistakes,
                              "multiply standard normal draws by 0.05", generator=True)


def judge_init_xavier__distribution(data) -> str:
    return judge_distribution("init_xavier__distribution", data, xavier_stds, xavier_mistakes,
                              "each weight has variance 1/n_in, so standard deviation 1/sqrt(n_in)",
                              generator=False)


def judge_init_xavier__generator(data) -> str:
    test_id = "init_xavier__generator"
    return passed(test_id, judge_generator(test_id, data))


def judge_init_he__distribution(data) -> str:
    return judge_distribution("init_he__distribution", data, lambda i, o: [math.sqrt(2 / i)], he_mistakes,
                              "each weight has variance 2/n_in, n_in being the layer's inputs (rows of W)",
                              generator=False)


def judge_init_he__generator(data) -> str:
    test_id = "init_he__generator"
    return passed(test_id, judge_generator(test_id, data))


def check_init_zero__values(init_zero):
    return check_locally("part4", "init_zero__values", init_zero)


def check_init_small__distribution(init_small):
    return check_locally("part4", "init_small__distribution", init_small)


def check_init_large__distribution(init_large):
    return check_locally("part4", "init_large__distribution", init_large)


def check_init_xavier__distribution(init_xavier):
    return check_locally("part4", "init_xavier__distribution", init_xavier)


def check_init_xavier__generator(init_xavier):
    return check_locally("part4", "init_xavier__generator", init_xavier)


def check_init_he__distribution(init_he):
    return check_locally("part4", "init_he__distribution", init_he)


def check_init_he__generator(init_he):
    return check_locally("part4", "init_he__generator", init_he)


# 4.6 and 4.8: wrappers that re-initialize every nn.Linear weight -------------------------

def is_tensor_dict(value) -> bool:
    return isinstance(value, dict) and all(isinstance(k, str) and isinstance(v, torch.Tensor)
                                           for k, v in value.items())


def same_tensor(a: torch.Tensor, b: torch.Tensor | None) -> bool:
    return b is not None and a.dtype == b.dtype and a.shape == b.shape and torch.equal(a, b)


def case_of(layer: dict) -> str:
    return f"Linear net.{layer['name']} ({layer['in_features']} -> {layer['out_features']}, {layer['dtype']})"


def weight(test_id: str, layer: dict, hint: str) -> dict:
    """The verified summary of a Linear layer's weight, a floating-point (out, in) tensor."""
    d, shape = layer["weight"], [layer["out_features"], layer["in_features"]]
    dtype = float_dtype(test_id, d.get("dtype")) if d.get("tensor") is True else None
    if dtype is None or d.get("shape") != shape or not dtype.is_floating_point:
        fail(test_id, case_of(layer), f"the weight is not a floating-point tensor of shape {tuple(shape)}",
             hint)
    return verified(test_id, case_of(layer), d.get("summary"), shape[0] * shape[1])


def judge_reinit(test_id: str, data, build, stds, mistakes, hint: str) -> int:
    """The probe's re-initialized copy of ``build()``: every nn.Linear weight redrawn with
    mean 0 and a std in ``stds(n_in, n_out)``; biases unchanged or zero; parameters of other
    layers unchanged. A weight counts as kept when its subset of entries is unchanged."""
    expect_data(test_id, isinstance(data, dict) and isinstance(data.get("has_net"), bool), "a network")
    if not data["has_net"]:
        fail(test_id, "structure", "the wrapper keeps no network in .net",
             "call super().__init__(criterion, net) first: Supervise keeps the network as self.net")
    expect_data(test_id, isinstance(data.get("layers"), list) and is_tensor_dict(data.get("others")),
                "layers and parameters")
    before = {name: p.detach() for name, p in build().named_parameters()}
    layers = data["layers"]
    for layer in layers:
        expect_data(test_id, isinstance(layer, dict) and isinstance(layer.get("name"), str)
                    and all(isinstance(layer.get(k), int) for k in ("in_features", "out_features"))
                    and isinstance(layer.get("dtype"), str) and isinstance(layer.get("weight"), dict)
                    and (layer.get("bias") is None or isinstance(layer["bias"], torch.Tensor)),
                    "a Linear layer")
    weights = {layer["name"]: weight(test_id, layer, hint) for layer in layers}
    kept = [name for name, s in weights.items() if f"{name}.weight" in before
            and s["numel"] == before[f"{name}.weight"].numel()
            and torch.equal(s["subset"], subset(before[f"{name}.weight"]))]
    if kept:
        top = {layer["name"] for layer in layers if "." not in layer["name"]}
        nested_only = set(kept).isdisjoint(top) and len(kept) < len(layers)
        fail(test_id, f"{len(layers)} Linear layers", f"{len(kept)} of them kept their weights: "
             f"{', '.join('net.' + k for k in kept)}",
             "your results match a known mistake: only the top-level layers were re-initialized "
             "(net.children() or looping over net stops at the first level; net.modules() "
             "visits the whole tree)" if nested_only else
             "re-initialize, in __init__ and in place, every nn.Linear in self.net.modules()")
    for layer in layers:
        name, n_in, n_out = layer["name"], layer["in_features"], layer["out_features"]
        s = weights[name]
        n, accepted = s["numel"], stds(n_in, n_out)
        case = case_of(layer)
        mean, std = s["mean"], s["std"]
        if not any(abs(std - a) <= tolerances(a, n)[1] for a in accepted):
            known = [k for k, a in mistakes(n_in, n_out).items() if abs(std - a) <= tolerances(a, n)[1]]
            fail(test_id, case, f"expected weight std {accepted[0]:.4g}, got {std:.4g}; tolerance "
                 f"{tolerances(accepted[0], n)[1]:.2g} ({Z:g} standard errors for {n} weights)",
                 f"your weights match a known mistake: {known[0]}" if known else hint)
        mean_tol = tolerances(max(accepted), n)[0]
        if not abs(mean) <= mean_tol:
            fail(test_id, case, f"expected weight mean 0, got {mean:.4g}; tolerance {mean_tol:.2g} "
                 f"({Z:g} standard errors for {n} weights)", hint)
        bias = layer["bias"]
        changed = bias is not None and not same_tensor(bias, before.get(f"{name}.bias"))
        if changed and bias.count_nonzero().item():
            fail(test_id, case, "the bias was changed to something other than zeros",
                 "leave biases as they are or set them to zero: the task is about weights")
    linear_params = {f"{layer['name']}.{kind}" for layer in layers for kind in ("weight", "bias")}
    for name, p in data["others"].items():
        if name not in linear_params and name in before and not same_tensor(p, before[name]):
            fail(test_id, f"parameter net.{name}", "a parameter of a layer that is not nn.Linear changed",
                 "re-initialize only nn.Linear weights (isinstance(module, nn.Linear))")
    return len(layers)


def judge_reinits(test_id: str, data, nets, stds, mistakes, hint: str) -> str:
    n = sum(judge_reinit(test_id, net_data, build, stds, mistakes, hint)
            for net_data, (build, _) in zip(listed(test_id, data, "nets", len(nets)), nets))
    return passed(test_id, n)


def judge_wrapper(test_id: str, data) -> str:
    """Supervise's contract: keeps the given network and loss, registers the network's
    parameters, forward = criterion(net(x).squeeze(-1), y), forward changes no weight; on
    every available device. The loss is recomputed here from the network's weights after
    the call, in a copy of the probe's test network; the identities are the probe's word."""
    hint = ("subclass Supervise and call super().__init__(criterion, net) first, then "
            "re-initialize that same network's weights in place")
    expect_data(test_id, isinstance(data, dict) and isinstance(data.get("cases"), list), "cases")
    cases = wrapper_cases()
    for index, (device, criterion_name, seed) in enumerate(cases):
        case = f"{criterion_name}, {device}"
        got = data["cases"][index] if index < len(data["cases"]) else None
        expect_data(test_id, isinstance(got, dict) and got.get("device") == device
                    and got.get("criterion") == criterion_name, f"no result for {case}")
        if got.get("has_net") is not True:
            fail(test_id, "structure", "the wrapper keeps no network in .net",
                 "call super().__init__(criterion, net) first: Supervise keeps the network as self.net")
        if got.get("same_net") is not True:
            fail(test_id, case, "model.net is not the network that was passed in", hint)
        if got.get("same_criterion") is not True:
            fail(test_id, case, "model.criterion is not the loss that was passed in", hint)
        if got.get("registered") is not True:
            fail(test_id, case, "the network's parameters are not among model.parameters(), "
                 "so an optimizer would not train them", hint)
        net, x, y = wrapper_case(seed)
        shapes = {key: t.shape for key, t in net.state_dict().items()}
        expect_data(test_id, is_tensor_dict(got.get("before")) and is_tensor_dict(got.get("after")),
                    f"{case}: the network's state")
        if any({key: t.shape for key, t in got[when].items()} != shapes for when in ("before", "after")):
            fail(test_id, case, "the network's layers changed: its state_dict's keys or shapes are not "
                 "those of the network passed in", hint)
        forward_case = f"{case}: model(x, y) on a batch of 6"
        forward_hint = "forward(x, y) returns criterion(self.net(x).squeeze(-1), y), as Supervise's does"
        loss = received(test_id, forward_case, got.get("loss"), forward_hint)
        net.load_state_dict(got["after"])
        net.to(device)
        with torch.no_grad():
            expected = getattr(nn, criterion_name)()(net(x.to(device)).squeeze(-1), y.to(device))
        expect_close(test_id, forward_case, expected.cpu(), loss, tolerance(expected), forward_hint)
        if any(not same_tensor(t, got["after"][key]) for key, t in got["before"].items()):
            fail(test_id, case, "calling the model changed the network's weights",
                 "re-initialize once, in __init__, not in forward")
    return passed(test_id, len(cases))


def random_mistakes(n_in, n_out):
    return {"std 1: nn.init.normal_ without std=0.01 draws from N(0, 1)": 1.0,
            "std 0.0001: 0.01² is the variance; the standard deviation is 0.01": 1e-4,
            "std 0.1 = sqrt(0.01): N(0, 0.01²) has standard deviation 0.01": 0.1,
            "uniform on [-0.01, 0.01] (std 0.0058)": 0.01 / math.sqrt(3)}


def kaiming_stds(n_in, n_out):
    return [math.sqrt(2 / n_in)]


def kaiming_mistakes(n_in, n_out):
    return {"mode='fan_out': the std uses the layer's outputs; use mode='fan_in' (the default), "
            "which keeps the forward activations' scale": math.sqrt(2 / n_out),
            "gain 1 (nonlinearity='linear' or 'sigmoid'): ReLU needs gain sqrt(2), "
            "nonlinearity='relu'": 1 / math.sqrt(n_in),
            "xavier_normal_: Glorot's std sqrt(2/(fan_in + fan_out))": math.sqrt(2 / (n_in + n_out)),
            "gain 5/3 (nonlinearity='tanh')": 5 / 3 / math.sqrt(n_in)}


RANDOM_HINT = "draw every nn.Linear weight from N(0, 0.01²): mean 0, standard deviation 0.01"
KAIMING_HINT = ("nn.init.kaiming_normal_(layer.weight, mode='fan_in', nonlinearity='relu') gives "
                "std sqrt(2 / in_features)")


def judge_supervise_random__statistics(data) -> str:
    return judge_reinits("supervise_random__statistics", data, STATISTICS_NETS, lambda i, o: [0.01],
                         random_mistakes, RANDOM_HINT)


def judge_supervise_random__whole_tree(data) -> str:
    return judge_reinits("supervise_random__whole_tree", data, WHOLE_TREE_NETS, lambda i, o: [0.01],
                         random_mistakes, RANDOM_HINT)


def judge_supervise_random__wrapper(data) -> str:
    return judge_wrapper("supervise_random__wrapper", data)


def judge_supervise_kaiming__statistics(data) -> str:
    return judge_reinits("supervise_kaiming__statistics", data, STATISTICS_NETS, kaiming_stds,
                         kaiming_mistakes, KAIMING_HINT)


def judge_supervise_kaiming__whole_tree(data) -> str:
    return judge_reinits("supervise_kaiming__whole_tree", data, WHOLE_TREE_NETS, kaiming_stds,
                         kaiming_mistakes, KAIMING_HINT)


def judge_supervise_kaiming__wrapper(data) -> str:
    return judge_wrapper("supervise_kaiming__wrapper", data)


def check_supervise_random__statistics(Supervise_random_weights):
    return check_locally("part4", "supervise_random__statistics", Supervise_random_weights)


def check_supervise_random__whole_tree(Supervise_random_weights):
    return check_locally("part4", "supervise_random__whole_tree", Supervise_random_weights)


def check_supervise_random__wrapper(Supervise_random_weights):
    return check_locally("part4", "supervise_random__wrapper", Supervise_random_weights)


def check_supervise_kaiming__statistics(Supervise_Kaiming_weights):
    return check_locally("part4", "supervise_kaiming__statistics", Supervise_Kaiming_weights)


def check_supervise_kaiming__whole_tree(Supervise_Kaiming_weights):
    return check_locally("part4", "supervise_kaiming__whole_tree", Supervise_Kaiming_weights)


def check_supervise_kaiming__wrapper(Supervise_Kaiming_weights):
    return check_locally("part4", "supervise_kaiming__wrapper", Supervise_Kaiming_weights)


# 4.7 and 4.9: 3.12's network inside the wrappers ----------------------------------------

def answer_source(context: Context, grade_id: str) -> str | None:
    """The source of answer cell ``grade_id`` in the handed-in notebook 4, or None (no
    submission folder, as in a local check, or no such readable cell)."""
    if context.submission is None:
        return None
    try:
        notebook = load_submission(Path(context.submission) / f"{NOTEBOOK}.ipynb")
    except (OSError, ValueError):
        return None
    for cell in notebook["cells"]:
        nbgrader = cell.get("metadata", {}).get("nbgrader")
        if isinstance(nbgrader, dict) and nbgrader.get("grade_id") == grade_id:
            source = cell.get("source", "")
            return "".join(source) if isinstance(source, list) else source
    return None


def assigns_wrapper(source: str | None, model_name: str, class_name: str, net_name: str) -> bool:
    """Whether ``source`` holds ``model_name = class_name(..., net_name, ...)`` (the network
    passed by position or by keyword)."""
    try:
        tree = ast.parse(source or "")
    except SyntaxError:
        return False
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Assign) and isinstance(node.value, ast.Call)
                and any(isinstance(t, ast.Name) and t.id == model_name for t in node.targets)):
            continue
        func, call = node.value.func, node.value
        called = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
        arguments = [*call.args, *(k.value for k in call.keywords)]
        if called == class_name and any(isinstance(a, ast.Name) and a.id == net_name for a in arguments):
            return True
    return False


def judge_unbuilt(test_id: str, data, names: tuple[str, str, str], owner: str, context: Context) -> str:
    """The model does not exist. When the wrapper class is missing or raises (``owner``'s
    checks grade that) and the answer cell wraps the network in it, the wrapping is judged
    from the cell's code: the one mistake costs no point here."""
    model_name, class_name, net_name = names
    expect_data(test_id, isinstance(data.get("class_defined"), bool)
                and (data.get("class_raised") is None or isinstance(data["class_raised"], str)),
                "whether the class raised")
    why = (f"the notebook defines no {class_name}" if not data["class_defined"] else
           f"{class_name}(nn.BCELoss(), {net_name}) raises {data['class_raised'].splitlines()[0]}"
           if data["class_raised"] else None)
    if why and assigns_wrapper(answer_source(context, net_name), model_name, class_name, net_name):
        return (f"{test_id}: {model_name} was never built, because {why} ({owner}'s checks grade "
                f"that); your cell assigns {model_name} = {class_name}(..., {net_name}): 1/1, judged "
                f"from your code")
    fail(test_id, model_name, f"{model_name} is not defined" + (f": {why}" if why else ""),
         f"build it in the cell of the task: {model_name} = {class_name}(nn.BCELoss(), {net_name})")


def judge_wrapped(test_id: str, data, names: tuple[str, str, str], owner: str,
                  context: Context = Context()) -> str:
    """The model is an instance of the notebook's class holding the task's network and a BCE
    loss, as the probe's introspection reports (``names``: the model's, the class's and the
    network's). Only the type is checked, not the initialization (that is ``owner``'s to
    grade); a model the class failed to build goes to ``judge_unbuilt``."""
    class_name = names[1]
    hint = f"wrap the network you built: {class_name}(nn.BCELoss(), <network>)"
    expect_data(test_id, isinstance(data, dict) and isinstance(data.get("built"), bool), "the model")
    if not data["built"]:
        return judge_unbuilt(test_id, data, names, owner, context)
    expect_data(test_id, is_str_list(data.get("mro")) and data["mro"]
                and isinstance(data.get("holds_net"), bool) and is_str_list(data.get("criterion"))
                and data["criterion"], "the model's classes")
    classes = [path.rsplit(".", 1)[-1] for path in data["mro"]]
    if class_name not in classes:
        fail(test_id, "type", f"expected a {class_name}, got {classes[0]}", hint)
    if MODULE not in data["mro"]:
        fail(test_id, "type", f"{class_name} is not an nn.Module", "subclass Supervise")
    if not data["holds_net"]:
        fail(test_id, "model.net", "the wrapper does not hold the network bound to the task's name", hint)
    if BCE not in data["criterion"]:
        fail(test_id, "model.criterion",
             f"expected nn.BCELoss, got {data['criterion'][0].rsplit('.', 1)[-1]}", hint)
    return passed(test_id, 3)


def judge_net_4_7__architecture(data) -> str:
    """3.12's layers, through Part 3's judge."""
    return judge_architecture(data, "4.7")


def judge_net_4_7__wrapper(data, *, context: Context = Context()) -> str:
    return judge_wrapped("net_4_7__wrapper", data, ("model_4_7", "Supervise_random_weights", "net_4_7"),
                         "Task 4.6", context)


def judge_net_4_9__architecture(data) -> str:
    return judge_architecture(data, "4.9")


def judge_net_4_9__wrapper(data, *, context: Context = Context()) -> str:
    return judge_wrapped("net_4_9__wrapper", data, ("model_4_9", "Supervise_Kaiming_weights", "net_4_9"),
                         "Task 4.8", context)


def check_net_4_7__architecture(net_4_7):
    return check_locally("part4", "net_4_7__architecture", net_4_7)


def check_net_4_7__wrapper(model_4_7, net_4_7, Supervise_random_weights=None):
    return check_locally("part4", "net_4_7__wrapper", model_4_7, net_4_7, Supervise_random_weights)


def check_net_4_9__architecture(net_4_9):
    return check_locally("part4", "net_4_9__architecture", net_4_9)


def check_net_4_9__wrapper(model_4_9, net_4_9, Supervise_Kaiming_weights=None):
    return check_locally("part4", "net_4_9__wrapper", model_4_9, net_4_9, Supervise_Kaiming_weights)
