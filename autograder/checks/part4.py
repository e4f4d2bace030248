"""Judges of notebook 4: weight initializers (4.1-4.5), the re-initializing wrappers (4.6, 4.8)
and the networks trained with them (4.7, 4.9). A wrapper class that raises leaves 4.7's (4.9's)
model unbuilt: the wrapping is then judged from the answer cell's code, so one mistake costs
the points of one task.

The probes (``hw2probes.part4``) draw the student's matrices and re-initialize the probes'
test networks; a big matrix arrives as statistics of all its entries plus an evenly strided
subset of them, which these judges use to cross-check the statistics before judging them.

Statistics are compared as the shipped checks compare them (``hw2checks.expect_statistics``,
within ``hw2checks.STAT_Z`` standard errors, against ``hw2checks.INIT_RULES``): every
misconception listed there lies dozens of tolerances away on the shapes used here.
"""

from __future__ import annotations

import ast
import math
from pathlib import Path

import torch
from torch import nn

from autograder.aspects import Context, aspect, attributes_of
from autograder.checks.common import passed
from autograder.checks.part3 import check_architecture, received
from autograder.integrity import load_submission
from autograder.kit import NOTEBOOKS
from hw2checks.part4 import (
    FORWARD_HINT,
    INIT_RULES,
    STAT_Z,
    SUPERVISE_HINT,
    InitRule,
    LinearDraw,
    expect_forward,
    expect_matrix,
    expect_net,
    expect_one_stream,
    expect_reinit,
    expect_statistics,
    expect_supervise,
    expect_wrapped,
    expect_zeros,
    linear_case,
    same_tensor,
    wrapper_case,
)
from hw2checks.toolkit import expect_data, fail, is_str_list
from hw2probes import part4 as probes
from hw2probes.part4 import (
    GENERATOR_SHAPES,
    ODD_SHAPES,
    SHAPES,
    STATISTICS_NETS,
    WHOLE_TREE_NETS,
    ZERO_SHAPES,
    subset,
    subset_step,
    summary,
    wrapper_cases,
)

# a hidden test cell calls a shipped aspect (hw2checks.part4) through this module too
__getattr__ = attributes_of("part4")

NOTEBOOK = NOTEBOOKS[3]


# Matrices as the probes describe them ------------------------------------------------------


def is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def verified(test_id: str, case: str, s, numel: int) -> dict:
    """The summary (``hw2probes.part4.summary``) of a matrix of ``numel`` entries, checked
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


def listed(test_id: str, data, key: str, n: int) -> list:
    expect_data(
        test_id,
        isinstance(data, dict) and isinstance(data.get(key), list) and len(data[key]) == n,
        f"{n} results under {key!r}",
    )
    return data[key]


# 4.1-4.5: initializers init_fn(n_in, n_out, generator) -> (n_in, n_out) -----------------


def judge_statistics(test_id: str, draws, shapes, rule: InitRule) -> int:
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


def judge_shapes_only(test_id: str, draws) -> int:
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


def judge_generator(test_id: str, data) -> int:
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


def judge_distribution(test_id: str, data, rule: InitRule, generator: bool) -> str:
    n = judge_statistics(test_id, listed(test_id, data, "statistics", len(SHAPES)), SHAPES, rule)
    n += judge_shapes_only(test_id, listed(test_id, data, "odd", len(ODD_SHAPES)))
    return passed(test_id, n + (judge_generator(test_id, data) if generator else 0))


@aspect(probe=probes.probe_init_zero__values)
def check_init_zero__values(data) -> str:
    test_id = "init_zero__values"
    for d, (n_in, n_out) in zip(listed(test_id, data, "draws", len(ZERO_SHAPES)), ZERO_SHAPES):
        s = drawn(test_id, d, n_in, n_out)
        expect_zeros(test_id, f"shape ({n_in}, {n_out})", s["nonzero"], s["max_abs"])
    return passed(test_id, len(ZERO_SHAPES))


@aspect(probe=probes.probe_init_small__distribution)
def check_init_small__distribution(data) -> str:
    return judge_distribution("init_small__distribution", data, INIT_RULES["small"], generator=True)


@aspect(probe=probes.probe_init_large__distribution)
def check_init_large__distribution(data) -> str:
    return judge_distribution("init_large__distribution", data, INIT_RULES["large"], generator=True)


@aspect(probe=probes.probe_init_xavier__distribution)
def check_init_xavier__distribution(data) -> str:
    return judge_distribution(
        "init_xavier__distribution", data, INIT_RULES["xavier"], generator=False
    )


@aspect(probe=probes.probe_init_xavier__generator)
def check_init_xavier__generator(data) -> str:
    test_id = "init_xavier__generator"
    return passed(test_id, judge_generator(test_id, data))


@aspect(probe=probes.probe_init_he__distribution)
def check_init_he__distribution(data) -> str:
    return judge_distribution("init_he__distribution", data, INIT_RULES["he"], generator=False)


@aspect(probe=probes.probe_init_he__generator)
def check_init_he__generator(data) -> str:
    test_id = "init_he__generator"
    return passed(test_id, judge_generator(test_id, data))


# 4.6 and 4.8: wrappers that re-initialize every nn.Linear weight -------------------------


def is_tensor_dict(value) -> bool:
    return isinstance(value, dict) and all(
        isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in value.items()
    )


def weight(test_id: str, layer: dict, hint: str) -> dict:
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


def judge_reinit(test_id: str, data, build, rule: InitRule) -> int:
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


def judge_reinits(test_id: str, data, nets, rule: InitRule) -> str:
    n = sum(
        judge_reinit(test_id, net_data, build, rule)
        for net_data, (build, _) in zip(listed(test_id, data, "nets", len(nets)), nets)
    )
    return passed(test_id, n)


def judge_wrapper(test_id: str, data) -> str:
    """Supervise's contract (``expect_supervise``, ``expect_forward``) on every available device.
    The loss is recomputed here from the network's weights after the call, in a copy of the
    probe's test network; the identities are the probe's word."""
    expect_data(test_id, isinstance(data, dict) and isinstance(data.get("cases"), list), "cases")
    cases = wrapper_cases()
    for index, (device, criterion_name, seed) in enumerate(cases):
        case = f"{criterion_name}, {device}"
        got = data["cases"][index] if index < len(data["cases"]) else None
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
    return passed(test_id, len(cases))


@aspect(probe=probes.probe_supervise_random__statistics)
def check_supervise_random__statistics(data) -> str:
    return judge_reinits(
        "supervise_random__statistics", data, STATISTICS_NETS, INIT_RULES["random"]
    )


@aspect(probe=probes.probe_supervise_random__whole_tree)
def check_supervise_random__whole_tree(data) -> str:
    return judge_reinits(
        "supervise_random__whole_tree", data, WHOLE_TREE_NETS, INIT_RULES["random"]
    )


@aspect(probe=probes.probe_supervise_random__wrapper)
def check_supervise_random__wrapper(data) -> str:
    return judge_wrapper("supervise_random__wrapper", data)


@aspect(probe=probes.probe_supervise_kaiming__statistics)
def check_supervise_kaiming__statistics(data) -> str:
    return judge_reinits(
        "supervise_kaiming__statistics", data, STATISTICS_NETS, INIT_RULES["kaiming"]
    )


@aspect(probe=probes.probe_supervise_kaiming__whole_tree)
def check_supervise_kaiming__whole_tree(data) -> str:
    return judge_reinits(
        "supervise_kaiming__whole_tree", data, WHOLE_TREE_NETS, INIT_RULES["kaiming"]
    )


@aspect(probe=probes.probe_supervise_kaiming__wrapper)
def check_supervise_kaiming__wrapper(data) -> str:
    return judge_wrapper("supervise_kaiming__wrapper", data)


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
        if not (
            isinstance(node, ast.Assign)
            and isinstance(node.value, ast.Call)
            and any(isinstance(t, ast.Name) and t.id == model_name for t in node.targets)
        ):
            continue
        func, call = node.value.func, node.value
        called = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
        arguments = [*call.args, *(k.value for k in call.keywords)]
        if called == class_name and any(
            isinstance(a, ast.Name) and a.id == net_name for a in arguments
        ):
            return True
    return False


def judge_unbuilt(
    test_id: str, data, names: tuple[str, str, str], owner: str, context: Context
) -> str:
    """The model does not exist. When the wrapper class is missing or raises (``owner``'s
    checks grade that) and the answer cell wraps the network in it, the wrapping is judged
    from the cell's code: the one mistake costs no point here."""
    model_name, class_name, net_name = names
    expect_data(
        test_id,
        isinstance(data.get("class_defined"), bool)
        and (data.get("class_raised") is None or isinstance(data["class_raised"], str)),
        "whether the class raised",
    )
    why = (
        f"the notebook defines no {class_name}"
        if not data["class_defined"]
        else f"{class_name}(nn.BCELoss(), {net_name}) raises {data['class_raised'].splitlines()[0]}"
        if data["class_raised"]
        else None
    )
    if why and assigns_wrapper(answer_source(context, net_name), model_name, class_name, net_name):
        return (
            f"{test_id}: {model_name} was never built, because {why} ({owner}'s checks grade "
            f"that); your cell assigns {model_name} = {class_name}(..., {net_name}): 1/1, judged "
            f"from your code"
        )
    fail(
        test_id,
        model_name,
        f"{model_name} is not defined" + (f": {why}" if why else ""),
        f"build it in the cell of the task: {model_name} = {class_name}(nn.BCELoss(), {net_name})",
    )


def judge_wrapped(
    test_id: str, data, names: tuple[str, str, str], owner: str, context: Context = Context()
) -> str:
    """The model is an instance of the notebook's class holding the task's network and a BCE
    loss, as the probe's introspection reports (``names``: the model's, the class's and the
    network's). Only the type is checked, not the initialization (that is ``owner``'s to
    grade); a model the class failed to build goes to ``judge_unbuilt``."""
    expect_data(
        test_id, isinstance(data, dict) and isinstance(data.get("built"), bool), "the model"
    )
    if not data["built"]:
        return judge_unbuilt(test_id, data, names, owner, context)
    expect_data(
        test_id,
        is_str_list(data.get("mro"))
        and data["mro"]
        and isinstance(data.get("holds_net"), bool)
        and is_str_list(data.get("criterion"))
        and data["criterion"],
        "the model's classes",
    )
    expect_wrapped(test_id, names[1], data["mro"], data["holds_net"], data["criterion"])
    return passed(test_id, 3)


@aspect(probe=probes.probe_net_4_7__architecture)
def check_net_4_7__architecture(data) -> str:
    """3.12's layers, through Part 3's judge."""
    return check_architecture.judge(data, "4.7")


@aspect(probe=probes.probe_net_4_7__wrapper)
def check_net_4_7__wrapper(data, *, context: Context = Context()) -> str:
    return judge_wrapped(
        "net_4_7__wrapper",
        data,
        ("model_4_7", "Supervise_random_weights", "net_4_7"),
        "Task 4.6",
        context,
    )


@aspect(probe=probes.probe_net_4_9__architecture)
def check_net_4_9__architecture(data) -> str:
    return check_architecture.judge(data, "4.9")


@aspect(probe=probes.probe_net_4_9__wrapper)
def check_net_4_9__wrapper(data, *, context: Context = Context()) -> str:
    return judge_wrapped(
        "net_4_9__wrapper",
        data,
        ("model_4_9", "Supervise_Kaiming_weights", "net_4_9"),
        "Task 4.8",
        context,
    )
