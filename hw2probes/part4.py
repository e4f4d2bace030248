"""Probes of notebook 4: the initializers (4.1-4.5), the re-initializing wrappers (4.6, 4.8)
and the networks wrapped in them (4.7, 4.9). Their judges are in ``autograder.checks.part4``.

A matrix of up to 2048 x 2048 travels as a summary (``summary``): statistics of all its
entries, computed here, and at most SUBSET of the entries themselves, evenly strided over the
matrix, from which the judge recomputes the same statistics to cross-check the summary.

Every seed below goes through ``hw2probes.case_seed``: as written outside grading, a seed of the
run's own while grading (the generators handed to the initializers, the test networks, the
wrappers' batches), so no matrix or network state prepared in advance matches.
"""

from __future__ import annotations

import copy
import math
from itertools import product

import torch
from torch import nn

from hw2checks.part3 import mro
from hw2checks.part4 import (
    flat_net,
    linear_layers,
    nested_net,
    stream_draws,
    wrap_seeded,
    wrapper_case,
)
from hw2checks.probing import devices, plain
from hw2probes import case_seed, describe_error
from hw2probes.part3 import probe_architecture, value

SUBSET = 20000

# The initializers' cases: init_fn(n_in, n_out, torch.Generator().manual_seed(case_seed(seed + index))).
SHAPES = [(2048, 2048), (1000, 250), (250, 1000), (300, 700)]  # statistics
ODD_SHAPES = [(1, 1), (3, 7), (7, 3), (1, 500)]  # type, shape, finiteness only
ODD_SEED = 900
GENERATOR_SHAPES = [(64, 64), (120, 30), (30, 120)]
ZERO_SHAPES = [(2048, 2048), (1000, 250), (1, 1), (3, 7), (7, 3)]
ZERO_SEED = 31


def subset_step(numel: int) -> int:
    return max(1, -(-numel // SUBSET))


def subset(t: torch.Tensor) -> torch.Tensor:
    """Every subset_step-th entry of ``t`` flattened, as float64 (all of them up to SUBSET)."""
    return t.detach().double().cpu().flatten()[:: subset_step(t.numel())].clone()


def summary(t: torch.Tensor) -> dict:
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


def describe(W) -> dict:
    """What a matrix is: {"tensor", "type"}, and for a tensor its "shape" and "dtype", and
    for a non-empty floating-point one its "summary"."""
    data = {"tensor": isinstance(W, torch.Tensor), "type": type(W).__name__}
    if data["tensor"]:
        data.update(shape=list(W.shape), dtype=str(W.dtype))
        if W.is_floating_point() and W.numel():
            data["summary"] = summary(W)
    return data


def draw_from(init_fn, n_in: int, n_out: int, generator: torch.Generator) -> dict:
    """``describe(init_fn(n_in, n_out, generator))``, or {"raised": ...}."""
    try:
        return describe(init_fn(n_in, n_out, generator))
    except Exception as exc:  # judged in its place: earlier shapes' diagnostics come first
        return {"raised": describe_error(exc)}


def draw(init_fn, n_in: int, n_out: int, seed: int) -> dict:
    return draw_from(init_fn, n_in, n_out, torch.Generator().manual_seed(seed))


def draws(init_fn, shapes, seed: int) -> list[dict]:
    return [
        draw(init_fn, n_in, n_out, case_seed(seed + index))
        for index, (n_in, n_out) in enumerate(shapes)
    ]


def generator_draws(init_fn, shapes, seed: int) -> list[dict]:
    """Per shape, ``hw2checks.stream_draws`` of ``draw_from``, the generators seeded
    ``case_seed(seed)`` (and one more), the global random state ``case_seed(seed + 2 * index)``
    (and one more)."""
    return [
        stream_draws(
            lambda generator: draw_from(init_fn, n_in, n_out, generator),
            case_seed(seed),
            case_seed(seed + 2 * index),
        )
        for index, (n_in, n_out) in enumerate(shapes)
    ]


def probe_init_zero__values(init_zero):
    return {"draws": draws(init_zero, ZERO_SHAPES, ZERO_SEED)}


def distribution(init_fn, seed: int, generator_seed: int | None = None) -> dict:
    """{"statistics": SHAPES drawn from seed + index, "odd": ODD_SHAPES, and, with a
    generator_seed, "generator": generator_draws}."""
    data = {"statistics": draws(init_fn, SHAPES, seed), "odd": draws(init_fn, ODD_SHAPES, ODD_SEED)}
    if generator_seed is not None:
        data["generator"] = generator_draws(init_fn, GENERATOR_SHAPES, generator_seed)
    return data


def probe_init_small__distribution(init_small):
    return distribution(init_small, 41, 51)


def probe_init_large__distribution(init_large):
    return distribution(init_large, 61, 71)


def probe_init_xavier__distribution(init_xavier):
    return distribution(init_xavier, 81)


def probe_init_xavier__generator(init_xavier):
    return {"generator": generator_draws(init_xavier, GENERATOR_SHAPES, 91)}


def probe_init_he__distribution(init_he):
    return distribution(init_he, 101)


def probe_init_he__generator(init_he):
    return {"generator": generator_draws(init_he, GENERATOR_SHAPES, 111)}


# 4.6 and 4.8: the networks the wrappers re-initialize --------------------------------------

# (build, seed of the wrapper's construction); the judge builds the same network again
STATISTICS_NETS = [
    (lambda: flat_net(case_seed(5)), 5),
    (lambda: flat_net(case_seed(6), torch.float64), 6),
]
WHOLE_TREE_NETS = [(lambda: nested_net(case_seed(7)), 7)]


def reinit(cls, build, seed: int) -> dict:
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


def probe_supervise_random__statistics(Supervise_random_weights):
    return {
        "nets": [reinit(Supervise_random_weights, build, seed) for build, seed in STATISTICS_NETS]
    }


def probe_supervise_random__whole_tree(Supervise_random_weights):
    return {
        "nets": [reinit(Supervise_random_weights, build, seed) for build, seed in WHOLE_TREE_NETS]
    }


def probe_supervise_kaiming__statistics(Supervise_Kaiming_weights):
    return probe_supervise_random__statistics(Supervise_Kaiming_weights)


def probe_supervise_kaiming__whole_tree(Supervise_Kaiming_weights):
    return probe_supervise_random__whole_tree(Supervise_Kaiming_weights)


# Supervise's contract, on every device ----------------------------------------------------

CRITERIA = ("BCELoss", "MSELoss")


def wrapper_cases() -> list[tuple[str, str, int]]:
    """(device, criterion's name in torch.nn, seed of hw2checks.wrapper_case) of each case."""
    return [
        (device, criterion, case_seed(seed))
        for seed, (device, criterion) in enumerate(product(devices(), CRITERIA))
    ]


def state(net: nn.Module) -> dict:
    return {key: plain(t) for key, t in net.state_dict().items()}


def wrapper(cls) -> dict:
    """{"cases": per wrapper_cases() case, model = cls(criterion, net) made under
    torch.manual_seed(seed): "device", "criterion", "has_net", and the identities "same_net"
    (model.net is net), "same_criterion" and "registered" (net's parameters are among
    model's); then, the model moved to the device, net's state_dict "before" and "after"
    model(x, y) and what that call returned, "loss"}. The judge computes
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


def probe_supervise_random__wrapper(Supervise_random_weights):
    return wrapper(Supervise_random_weights)


def probe_supervise_kaiming__wrapper(Supervise_Kaiming_weights):
    return wrapper(Supervise_Kaiming_weights)


# 4.7 and 4.9: 3.12's network inside the wrappers ----------------------------------------


def probe_net_4_7__architecture(net_4_7):
    return probe_architecture("4.7", net_4_7)


def probe_net_4_9__architecture(net_4_9):
    return probe_architecture("4.9", net_4_9)


def wrapped(model, net, cls) -> dict:
    """Introspection: {"built": True, "mro": the model's classes, "holds_net": model.net is
    net, "criterion": the classes of model.criterion}. A model that was never built (None:
    the notebook has no such name) gives {"built": False, "class_defined": cls is not None,
    "class_raised": what cls(nn.BCELoss(), a copy of net) raises, or None}."""
    if model is not None:
        return {
            "built": True,
            "mro": mro(model),
            "holds_net": getattr(model, "net", None) is net,
            "criterion": mro(getattr(model, "criterion", None)),
        }
    data = {"built": False, "class_defined": cls is not None, "class_raised": None}
    if cls is None:
        return data
    try:
        with torch.random.fork_rng(devices=[]):
            cls(nn.BCELoss(), copy.deepcopy(net))
    except Exception as exc:  # the wrapper class of Task 4.6 or 4.8 fails: its own checks say so
        data["class_raised"] = describe_error(exc)
    return data


# The notebook's hidden calls pass globals().get() of the model and of its class: these probes
# run (and the wrapping is judged) even when the class raised before the model existed.


def probe_net_4_7__wrapper(model_4_7, net_4_7, Supervise_random_weights=None):
    return wrapped(model_4_7, net_4_7, Supervise_random_weights)


def probe_net_4_9__wrapper(model_4_9, net_4_9, Supervise_Kaiming_weights=None):
    return wrapped(model_4_9, net_4_9, Supervise_Kaiming_weights)
