"""Part 4 and extra-credit checks, visible (hw2checks) and hidden (autograder.checks): every
check passes on correct answers, including equivalent-but-different ones, and fails on each
listed misconception with a message that names it."""

import json
import math
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

import hw2checks
import hw2probes
import hw2utils
from autograder.aspects import Context
from autograder.checks import extra_credit as hidden_ec
from autograder.checks import find as find_aspect
from autograder.checks import part4 as hidden
from ec_networks import rule_network
from lessons.rules import rule as true_rule
from mutants import MUTANTS
from test_checks_part3 import assert_judges_cleanly, probe_data

BOTH = [pytest.param(hw2checks, id="visible"), pytest.param(hidden, id="hidden")]
BOTH_EC = [pytest.param(hw2checks, id="visible"), pytest.param(hidden_ec, id="hidden")]


def fails(check, *args, match):
    with pytest.raises(AssertionError, match=match) as info:
        check(*args)
    return str(info.value)


# 4.1-4.5: initializers -------------------------------------------------------------------


def normal(std_of):
    return lambda n_in, n_out, g: torch.randn(n_in, n_out, generator=g) * std_of(n_in, n_out)


def init_zero(n_in, n_out, g):
    return torch.zeros(n_in, n_out)


init_small = normal(lambda i, o: 0.01)
init_large = normal(lambda i, o: 0.05)
init_xavier = normal(lambda i, o: 1 / math.sqrt(i))
init_he = normal(lambda i, o: math.sqrt(2 / i))


def glorot_uniform(n_in, n_out, g):
    # PyTorch's (out, in) layout, transposed: xavier_uniform_ is symmetric in the fans anyway
    return nn.init.xavier_uniform_(torch.empty(n_out, n_in), generator=g).T


def he_through_torch(n_in, n_out, g):
    return nn.init.kaiming_normal_(torch.empty(n_out, n_in), nonlinearity="relu", generator=g).T


def he_float64_uniform(n_in, n_out, g):
    limit = math.sqrt(6 / n_in)  # U(-a, a) with std sqrt(2/n_in)
    return (torch.rand(n_in, n_out, generator=g, dtype=torch.float64) * 2 - 1) * limit


@pytest.mark.parametrize("checks", BOTH)
def test_correct_initializers_pass(checks):
    checks.check_init_zero__values(init_zero)
    checks.check_init_small__distribution(init_small)
    checks.check_init_large__distribution(init_large)
    for xavier in (
        init_xavier,
        glorot_uniform,
        lambda i, o, g: nn.init.xavier_normal_(torch.empty(i, o), generator=g),
    ):
        checks.check_init_xavier__distribution(xavier)
        checks.check_init_xavier__generator(xavier)
    for he in (init_he, he_through_torch, he_float64_uniform):
        checks.check_init_he__distribution(he)
        checks.check_init_he__generator(he)


@pytest.mark.parametrize("checks", BOTH)
def test_zero_init_must_be_exact_float_zeros(checks):
    fails(
        checks.check_init_zero__values,
        lambda i, o, g: torch.full((i, o), 1e-8),
        match="exactly 0.*\n.*small is not zero|exactly 0.*\n.*must be exact",
    )
    fails(
        checks.check_init_zero__values,
        lambda i, o, g: torch.zeros(i, o, dtype=torch.long),
        match="floating-point",
    )
    fails(checks.check_init_zero__values, lambda i, o, g: np.zeros((i, o)), match="torch.Tensor")


@pytest.mark.parametrize("checks", BOTH)
def test_small_and_large_scale_mistakes_are_named(checks):
    fails(
        checks.check_init_small__distribution,
        normal(lambda i, o: 1.0),
        match="expected standard deviation 0.01.*\n.*std 1: the factor 0.01 is missing",
    )
    fails(checks.check_init_small__distribution, normal(lambda i, o: 1e-4), match="applied twice")
    fails(
        checks.check_init_large__distribution,
        normal(lambda i, o: 5.0),
        match="expected standard deviation 0.05.*\n.*std 5 instead of 0.05",
    )
    fails(
        checks.check_init_large__distribution,
        normal(lambda i, o: 0.01),
        match="small scale of Task 4.2",
    )
    fails(
        checks.check_init_large__distribution,
        lambda i, o, g: torch.randn(i, o, generator=g) * 0.05 + 0.01,
        match="expected mean 0",
    )


@pytest.mark.parametrize("checks", BOTH)
def test_initializers_must_draw_from_the_generator(checks):
    def global_rng(n_in, n_out, g):
        return torch.randn(n_in, n_out) * 0.01

    message = fails(
        checks.check_init_small__distribution, global_rng, match="same seed|seeded alike"
    )
    assert "generator=generator" in message
    fails(
        checks.check_init_xavier__generator,
        lambda i, o, g: torch.randn(i, o) / math.sqrt(i),
        match="global random state",
    )

    def ignores_seed(n_in, n_out, g):
        return torch.randn(n_in, n_out, generator=torch.Generator().manual_seed(0)) / math.sqrt(
            n_in
        )

    fails(checks.check_init_he__generator, ignores_seed, match="different seeds|seeded differently")


def reseeds_global(n_in, n_out, g):
    torch.manual_seed(g.initial_seed())
    return torch.randn(n_in, n_out) * 0.01


def generator_from_seed(n_in, n_out, g):
    return (
        torch.randn(n_in, n_out, generator=torch.Generator().manual_seed(g.initial_seed()))
        / n_in**0.5
    )


@pytest.mark.parametrize("checks", BOTH)
def test_each_call_must_continue_the_generators_stream(checks):
    """run_init_experiment draws every layer from one generator: an initializer that restarts
    its stream gives every layer the same matrix, yet gives one seed one matrix."""
    message = fails(
        checks.check_init_small__distribution,
        reseeds_global,
        match="two calls with one generator returned the same matrix",
    )
    assert "generator=generator" in message
    fails(
        checks.check_init_xavier__generator,
        generator_from_seed,
        match="two calls with one generator returned the same matrix",
    )
    fails(
        checks.check_init_he__generator,
        lambda i, o, g: torch.randn(i, o) * math.sqrt(2 / i),
        match="global random state",
    )


@pytest.mark.parametrize("checks", BOTH)
def test_a_call_depending_on_more_than_the_generator_is_named(checks):
    calls = []

    def counts_calls(n_in, n_out, g):  # same seed, same matrix, but only on odd calls
        calls.append(1)
        return (
            torch.randn(n_in, n_out, generator=g) / math.sqrt(n_in) * (1 + 1e-3 * (len(calls) % 2))
        )

    fails(checks.check_init_xavier__generator, counts_calls, match="did not continue its stream")


@pytest.mark.parametrize("checks", BOTH)
def test_other_ways_of_drawing_from_the_generator_pass(checks):
    def normal_in_place(n_in, n_out, g):
        return torch.empty(n_in, n_out).normal_(mean=0.0, std=0.01, generator=g)

    def seed_drawn_from_it(n_in, n_out, g):  # a generator seeded by a draw: still g's stream
        seed = int(torch.randint(2**62, (1,), generator=g))
        return torch.randn(n_in, n_out, generator=torch.Generator().manual_seed(seed)) * 0.01

    for init in (normal_in_place, seed_drawn_from_it):
        checks.check_init_small__distribution(init)


def test_generator_check_leaves_the_global_random_state_alone():
    state = torch.get_rng_state()
    hidden.check_init_small__distribution(init_small)
    hw2checks.check_init_he__generator(init_he)
    assert torch.equal(state, torch.get_rng_state())


@pytest.mark.parametrize("checks", BOTH)
def test_xavier_uniform_with_the_wrong_limit_is_named(checks):
    def wrong_limit(n_in, n_out, g):  # std 1/sqrt(3 n_in): 0.0128 instead of 0.0221 at 2048
        return (torch.rand(n_in, n_out, generator=g) * 2 - 1) / math.sqrt(n_in)

    fails(checks.check_init_xavier__distribution, wrong_limit, match=r"limit 1/sqrt\(n_in\)")
    fails(
        checks.check_init_xavier__distribution,
        normal(lambda i, o: 1 / i),
        match="variance 1/n_in was used as the standard deviation",
    )
    fails(checks.check_init_xavier__distribution, init_he, match="He's scale")


def test_xavier_wrong_limit_has_the_std_the_issue_reports():
    g = torch.Generator().manual_seed(0)
    W = (torch.rand(2048, 2048, generator=g) * 2 - 1) / math.sqrt(2048)
    assert W.std().item() == pytest.approx(0.0128, abs=1e-4)
    assert init_xavier(2048, 2048, g).std().item() == pytest.approx(0.0221, abs=1e-4)


@pytest.mark.parametrize("checks", BOTH)
def test_he_with_fan_out_fails_on_non_square_shapes_only(checks):
    fan_out = normal(lambda i, o: math.sqrt(2 / o))
    fails(
        checks.check_init_he__distribution,
        fan_out,
        match="shape \\((800, 200|1000, 250)\\).*\n.*fan-out",
    )
    torch_on_wrong_layout = lambda i, o, g: nn.init.kaiming_normal_(
        torch.empty(i, o), nonlinearity="relu", generator=g
    )
    message = fails(checks.check_init_he__distribution, torch_on_wrong_layout, match="fan-out")
    assert "(out, in)" in message
    fails(checks.check_init_he__distribution, init_xavier, match="Xavier's scale")
    # on a square matrix fan-in and fan-out agree: the generator check cannot tell them apart
    checks.check_init_he__generator(fan_out)


@pytest.mark.parametrize("checks", BOTH)
def test_transposed_or_wrong_shapes_are_reported(checks):
    transposed = lambda i, o, g: torch.randn(o, i, generator=g) * math.sqrt(2 / i)
    fails(
        checks.check_init_he__distribution,
        transposed,
        match="expected shape.*\n.*(transposed|rows index)",
    )
    fails(
        checks.check_init_small__distribution,
        lambda i, o, g: torch.randn(i, generator=g) * 0.01,
        match="expected shape",
    )


# 4.6 and 4.8: the wrappers ----------------------------------------------------------------


def reinit_class(name, init, walk="modules", base=hw2utils.Supervise, zero_bias=False):
    def __init__(self, criterion, net):
        base.__init__(self, criterion, net)
        modules = self.net.modules() if walk == "modules" else self.net.children()
        for module in modules:
            if isinstance(module, nn.Linear):
                init(module.weight)
                if zero_bias:
                    nn.init.zeros_(module.bias)

    return type(name, (base,), {"__init__": __init__})


random_init = lambda w: nn.init.normal_(w, mean=0.0, std=0.01)
kaiming_init = lambda w: nn.init.kaiming_normal_(w, mode="fan_in", nonlinearity="relu")
Random = reinit_class("Supervise_random_weights", random_init)
Kaiming = reinit_class("Supervise_Kaiming_weights", kaiming_init)


class PlainRandom(nn.Module):
    """Equivalent without subclassing Supervise: its own attributes and forward, .data writes,
    zeroed biases."""

    def __init__(self, criterion, net):
        super().__init__()
        self.net, self.criterion = net, criterion
        for module in net.modules():
            if isinstance(module, nn.Linear):
                module.weight.data.normal_(0, 0.01)
                module.bias.data.zero_()

    def forward(self, x, y):
        return self.criterion(self.net(x).squeeze(-1), y)


PlainRandom.__name__ = "Supervise_random_weights"


@pytest.mark.parametrize("checks", BOTH)
def test_correct_wrappers_pass(checks):
    for cls in (Random, PlainRandom, reinit_class("R", random_init, zero_bias=True)):
        checks.check_supervise_random__statistics(cls)
        checks.check_supervise_random__whole_tree(cls)
        checks.check_supervise_random__wrapper(cls)
    checks.check_supervise_kaiming__statistics(Kaiming)
    checks.check_supervise_kaiming__whole_tree(Kaiming)
    checks.check_supervise_kaiming__wrapper(Kaiming)


@pytest.mark.parametrize("checks", BOTH)
def test_random_wrapper_mistakes_are_named(checks):
    std_one = reinit_class("S", lambda w: nn.init.normal_(w))
    fails(
        checks.check_supervise_random__statistics,
        std_one,
        match="expected standard deviation 0.01.*weights\\)\n.*std 1",
    )
    variance = reinit_class("S", lambda w: nn.init.normal_(w, std=1e-4))
    fails(checks.check_supervise_random__statistics, variance, match="0.01² is the variance")
    top_level = reinit_class("S", random_init, walk="children")
    checks.check_supervise_random__statistics(top_level)  # a flat network hides the mistake
    fails(checks.check_supervise_random__whole_tree, top_level, match="only the top-level layers")


@pytest.mark.parametrize("checks", BOTH)
def test_kaiming_wrapper_mistakes_are_named(checks):
    fan_out = reinit_class(
        "K", lambda w: nn.init.kaiming_normal_(w, mode="fan_out", nonlinearity="relu")
    )
    fails(checks.check_supervise_kaiming__statistics, fan_out, match="mode='fan_out'")
    xavier = reinit_class("K", nn.init.xavier_normal_)
    fails(checks.check_supervise_kaiming__statistics, xavier, match="xavier_normal_")
    linear_gain = reinit_class("K", lambda w: nn.init.kaiming_normal_(w, nonlinearity="linear"))
    fails(checks.check_supervise_kaiming__statistics, linear_gain, match="gain 1")
    top_level = reinit_class("K", kaiming_init, walk="children")
    fails(checks.check_supervise_kaiming__whole_tree, top_level, match="only the top-level layers")


KAIMING_UNIFORM = reinit_class(
    "Supervise_Kaiming_weights", lambda w: nn.init.kaiming_uniform_(w, nonlinearity="relu")
)


@pytest.mark.parametrize("checks", BOTH)
def test_kaiming_uniform_is_told_from_kaiming_normal(checks):
    """Task 4.8 asks for kaiming_normal_: kaiming_uniform_ has the same std but its weights stop
    at sqrt(3) stds; both aspects that judge the weights name it."""
    for check in (
        checks.check_supervise_kaiming__statistics,
        checks.check_supervise_kaiming__whole_tree,
    ):
        said = fails(check, KAIMING_UNIFORM, match="known mistake: kaiming_uniform_")
        assert "no weight lies beyond 2.2 standard deviations" in said
    checks.check_supervise_kaiming__wrapper(KAIMING_UNIFORM)


@pytest.mark.parametrize("seed", range(8))
def test_kaiming_normal_passes_and_uniform_fails_whatever_the_run_seed(seed):
    """The grader's inputs and the wrapper's draws depend on the run's seed (hw2probes.seeded):
    the reference passes and kaiming_uniform_ fails under each (tests/test_probe_seeds.py sweeps more)."""
    with hw2probes.seeded(10_000 + seed):
        for test_id in ("supervise_kaiming__statistics", "supervise_kaiming__whole_tree"):
            check = getattr(hidden, f"check_{test_id}")
            check(Kaiming)
            fails(check, KAIMING_UNIFORM, match="kaiming_uniform_")


def test_the_bound_keeps_its_margins():
    """A uniform draw of UNBOUNDED_MIN_WEIGHTS weights stays below the bound at STAT_Z standard
    errors of its std, and normal draws of that many all stay below it with probability < 1e-12."""
    n, bound = hw2checks.UNBOUNDED_MIN_WEIGHTS, hw2checks.UNBOUNDED_STDS
    relative_se = math.sqrt((1.8 - 1) / (4 * n))  # of a uniform sample's std (kurtosis 1.8)
    assert math.sqrt(3) / (1 - hw2checks.STAT_Z * relative_se) < bound
    beyond = math.erfc(bound / math.sqrt(2))  # P(|z| > bound)
    assert (1 - beyond) ** n < 1e-12


@pytest.mark.parametrize("rule", sorted(hw2checks.INIT_RULES))
@pytest.mark.parametrize(
    "sizes", [(512, 256), (256, 512), (2048, 2048), (64, 64), (600, 300), (120, 1)]
)
def test_each_init_mistake_is_named_only_where_its_std_is_told_apart(rule, sizes):
    """On square layers Xavier's fan-out variance is Xavier's own; a mistake whose std is within
    the tolerances of an accepted one is never named, one far from every accepted std is."""
    init = hw2checks.INIT_RULES[rule]
    n = sizes[0] * sizes[1]
    accepted = init.stds(*sizes)
    tol = lambda s: hw2checks.stat_tolerances(s, n)[1]
    for name, std in init.mistakes(*sizes).items():
        if any(abs(std - a) <= tol(a) for a in accepted):
            hw2checks.expect_statistics(
                "t", "c", 0.0, std, n, accepted, {name: std}, "HINT"
            )  # passes
            continue
        with pytest.raises(AssertionError) as failure:
            hw2checks.expect_statistics("t", "c", 0.0, std, n, accepted, {name: std}, "HINT")
        apart = all(abs(std - a) > tol(a) + tol(std) for a in accepted)
        assert (name in str(failure.value)) == apart, (name, str(failure.value))


@pytest.mark.parametrize("checks", BOTH)
def test_wrappers_must_touch_only_linear_weights(checks):
    class AllWeights(hw2utils.Supervise):
        def __init__(self, criterion, net):
            super().__init__(criterion, net)
            for module in self.net.modules():
                if isinstance(getattr(module, "weight", None), torch.Tensor):
                    nn.init.normal_(module.weight, 0, 0.01)

    fails(checks.check_supervise_random__whole_tree, AllWeights, match="not nn.Linear changed")

    class RandomBiases(hw2utils.Supervise):
        def __init__(self, criterion, net):
            super().__init__(criterion, net)
            for module in self.net.modules():
                if isinstance(module, nn.Linear):
                    for p in module.parameters():
                        nn.init.normal_(p, 0, 0.01)

    fails(checks.check_supervise_random__statistics, RandomBiases, match="bias")

    class NothingDone(hw2utils.Supervise):
        pass

    fails(
        checks.check_supervise_random__statistics,
        NothingDone,
        match="kept their weights|not re-initialized",
    )


@pytest.mark.parametrize("checks", BOTH)
def test_wrapper_contract(checks):
    import copy

    class Copies(hw2utils.Supervise):
        def __init__(self, criterion, net):
            super().__init__(criterion, copy.deepcopy(net))
            for module in self.net.modules():
                if isinstance(module, nn.Linear):
                    nn.init.normal_(module.weight, 0, 0.01)

    fails(
        checks.check_supervise_random__wrapper, Copies, match="not the network that was passed in"
    )

    class InForward(Random):
        def forward(self, x, y):
            for module in self.net.modules():
                if isinstance(module, nn.Linear):
                    nn.init.normal_(module.weight, 0, 0.01)
            return super().forward(x, y)

    fails(checks.check_supervise_random__wrapper, InForward, match="changed the .*weights")

    class AlwaysBCE(Random):
        def forward(self, x, y):
            return nn.functional.binary_cross_entropy(self.net(x).squeeze(-1), y)

    fails(checks.check_supervise_random__wrapper, AlwaysBCE, match="MSELoss")

    class Unregistered(nn.Module):
        def __init__(self, criterion, net):
            super().__init__()
            self.__dict__["net"] = net  # hidden from nn.Module's registry
            self.criterion = criterion

        def forward(self, x, y):
            return self.criterion(self.net(x).squeeze(-1), y)

    fails(checks.check_supervise_random__wrapper, Unregistered, match="parameters")


def test_wrapper_checks_leave_the_global_random_state_alone():
    state = torch.get_rng_state()
    hidden.check_supervise_random__statistics(Random)
    hw2checks.check_supervise_kaiming__whole_tree(Kaiming)
    hidden.check_supervise_kaiming__wrapper(Kaiming)
    assert torch.equal(state, torch.get_rng_state())


# 4.7 and 4.9: the networks ---------------------------------------------------------------


def deep_narrow():
    return nn.Sequential(
        nn.Linear(36, 32),
        nn.ReLU(),
        *[m for _ in range(4) for m in (nn.Linear(32, 32), nn.ReLU())],
        nn.Linear(32, 1),
        nn.Sigmoid(),
    )


@pytest.mark.parametrize("checks", BOTH)
def test_deep_networks_and_their_wrappers(checks):
    net = deep_narrow()
    checks.check_net_4_7__architecture(net)
    checks.check_net_4_7__wrapper(Random(nn.BCELoss(), net), net)
    checks.check_net_4_9__architecture(net)
    checks.check_net_4_9__wrapper(Kaiming(nn.BCELoss(), net), net)
    nested = nn.Sequential(nn.Sequential(nn.Linear(36, 32), nn.ReLU()), *list(deep_narrow())[2:])
    checks.check_net_4_9__architecture(nested)

    short = nn.Sequential(*list(deep_narrow())[2:4], nn.Linear(32, 1), nn.Sigmoid())
    fails(checks.check_net_4_7__architecture, short, match="net_4_7__architecture")
    fails(
        checks.check_net_4_9__architecture,
        nn.Sequential(*list(deep_narrow())[:-1]),
        match="net_4_9__architecture",
    )
    fails(
        checks.check_net_4_7__wrapper,
        hw2utils.Supervise(nn.BCELoss(), net),
        net,
        match="expected a Supervise_random_weights",
    )
    fails(
        checks.check_net_4_9__wrapper,
        Random(nn.BCELoss(), net),
        net,
        match="expected a Supervise_Kaiming_weights",
    )
    fails(
        checks.check_net_4_7__wrapper, Random(nn.BCELoss(), deep_narrow()), net, match="model.net"
    )
    fails(checks.check_net_4_9__wrapper, Kaiming(nn.MSELoss(), net), net, match="BCELoss")


def crashing_random():
    return reinit_class(
        "Supervise_random_weights", lambda w: w.normal_(0.0, 0.01)
    )  # a leaf, in place


def handed_in(folder, net_4_7_cell: str | None):
    """``folder`` holding notebook 4 as the reference answers it, with the net_4_7 answer cell's
    model line replaced by ``net_4_7_cell`` (None: removed)."""
    from mutants import NB4, apply, load

    line = "model_4_7 = Supervise_random_weights(nn.BCELoss(), net_4_7)"
    folder.mkdir(parents=True)
    (folder / f"{NB4}.ipynb").write_text(
        json.dumps(apply(load(NB4), "net_4_7", [(line, net_4_7_cell or "")]))
    )
    return folder


def test_a_crashing_wrapper_class_costs_no_point_on_the_wrapping(tmp_path):
    """Supervise_random_weights raising (Task 4.6) leaves model_4_7 unbuilt; the wrapping of
    Task 4.7 is then judged from its cell's code, in the grader's submission folder."""
    data = probe_data("part4", "net_4_7__wrapper", None, deep_narrow(), crashing_random())
    assert data["built"] is False and "leaf Variable" in data["class_raised"]
    wraps = handed_in(
        tmp_path / "wraps",
        "model_4_7 = Supervise_random_weights(criterion=nn.BCELoss(), net=net_4_7)",
    )
    message = hidden.check_net_4_7__wrapper.judge(data, context=Context(submission=wraps))
    assert (
        "never built" in message
        and "leaf Variable" in message
        and "judged from your code" in message
    )
    fails(
        hidden.check_net_4_7__wrapper.judge,
        data,  # a local check: no submission to read
        match=r"net_4_7__wrapper, case model_4_7: model_4_7 is not defined: "
        r"Supervise_random_weights\(nn.BCELoss\(\), net_4_7\) raises RuntimeError",
    )
    for name, cell in (
        ("no_line", None),
        ("plain", "model_4_7 = Supervise(nn.BCELoss(), net_4_7)"),
    ):
        with pytest.raises(
            AssertionError, match="model_4_7 is not defined: Supervise_random_weights"
        ):
            hidden.check_net_4_7__wrapper.judge(
                data, context=Context(submission=handed_in(tmp_path / name, cell))
            )


def test_a_missing_model_with_a_working_class_is_the_tasks_own_mistake(tmp_path):
    data = probe_data("part4", "net_4_7__wrapper", None, deep_narrow(), Random)
    folder = handed_in(
        tmp_path / "wraps", "model_4_7 = Supervise_random_weights(nn.BCELoss(), net_4_7)"
    )
    with pytest.raises(AssertionError, match="model_4_7 is not defined\nHint: build it"):
        hidden.check_net_4_7__wrapper.judge(data, context=Context(submission=folder))
    undefined = probe_data("part4", "net_4_9__wrapper", None, deep_narrow(), None)  # no such class
    fails(
        hidden.check_net_4_9__wrapper.judge,
        undefined,
        match="the notebook defines no Supervise_Kaiming_weights",
    )


# Probes and judges: what crosses the sandbox boundary -------------------------------------


def test_student_exceptions_arrive_as_failures_in_their_place():
    def raises_on_one_row(n_in, n_out, g):
        if n_in == 1:
            raise ZeroDivisionError("n_in - 1 is 0")
        return torch.randn(n_in, n_out, generator=g) * 0.01

    fails(
        hidden.check_init_small__distribution,
        raises_on_one_row,
        match=r"shape \(1, 1\): your function raised ZeroDivisionError: n_in - 1 is 0",
    )
    # a wrong scale on the big shapes is still what the student hears first
    fails(
        hidden.check_init_small__distribution,
        lambda i, o, g: raises_on_one_row(i, o, g) * 100,
        match="factor 0.01 is missing",
    )

    class RaisesInForward(Random):
        def forward(self, x, y):
            raise RuntimeError("forward not written")

    fails(
        hidden.check_supervise_random__wrapper,
        RaisesInForward,
        match="model\\(x, y\\) on a batch of 6: your code raised RuntimeError: forward not written",
    )

    class RaisesInInit(hw2utils.Supervise):
        def __init__(self, criterion, net):
            raise NotImplementedError("to do")

    fails(
        hidden.check_supervise_random__statistics,
        RaisesInInit,
        match="raised NotImplementedError: to do",
    )


PART4_CALLS = [
    ("init_zero__values", lambda: (init_zero,)),
    ("init_small__distribution", lambda: (init_small,)),
    ("init_large__distribution", lambda: (init_large,)),
    ("init_xavier__distribution", lambda: (glorot_uniform,)),
    ("init_xavier__generator", lambda: (init_xavier,)),
    ("init_he__distribution", lambda: (he_float64_uniform,)),
    ("init_he__generator", lambda: (init_he,)),
    ("supervise_random__statistics", lambda: (Random,)),
    ("supervise_random__whole_tree", lambda: (PlainRandom,)),
    ("supervise_random__wrapper", lambda: (Random,)),
    ("net_4_7__architecture", lambda: (deep_narrow(),)),
    ("net_4_7__wrapper", lambda: (lambda net: (Random(nn.BCELoss(), net), net))(deep_narrow())),
    ("supervise_kaiming__statistics", lambda: (Kaiming,)),
    ("supervise_kaiming__whole_tree", lambda: (Kaiming,)),
    ("supervise_kaiming__wrapper", lambda: (Kaiming,)),
    ("net_4_9__architecture", lambda: (deep_narrow(),)),
    ("net_4_9__wrapper", lambda: (lambda net: (Kaiming(nn.BCELoss(), net), net))(deep_narrow())),
]


@pytest.mark.parametrize("check, objects", PART4_CALLS, ids=[c[0] for c in PART4_CALLS])
def test_probe_data_round_trips_small_and_judges_fail_cleanly_on_bad_data(check, objects):
    assert_judges_cleanly("part4", check, (), probe_data("part4", check, *objects()))


def test_a_summary_must_agree_with_the_entries_it_travels_with():
    data = probe_data("part4", "init_small__distribution", normal(lambda i, o: 1.0))
    data["statistics"][0]["summary"]["std"] = 0.01  # a tampered probe claiming the right scale
    fails(
        hidden.check_init_small__distribution.judge,
        data,
        match="shape \\(2048, 2048\\).*do not match its entries",
    )
    data = probe_data(
        "part4", "init_zero__values", lambda i, o, g: torch.randn(i, o, generator=g) * 1e-8
    )
    data["draws"][0]["summary"]["nonzero"] = 0
    fails(hidden.check_init_zero__values.judge, data, match="do not match its entries")


def test_the_wrapper_judge_recomputes_the_loss_from_the_weights():
    data = probe_data("part4", "supervise_random__wrapper", Random)
    first = data["cases"][0]
    with torch.no_grad():
        first["after"]["0.weight"] += 0.5  # a loss that does not belong to these weights
    first["before"] = {k: v.clone() for k, v in first["after"].items()}
    fails(
        hidden.check_supervise_random__wrapper.judge,
        data,
        match="BCELoss, cpu: model\\(x, y\\).*expected",
    )


def test_the_wrapper_judge_requires_every_device_of_its_machine(monkeypatch):
    data = probe_data("part4", "supervise_kaiming__wrapper", Kaiming)
    data["cases"] = [case for case in data["cases"] if case["device"] == "cpu"]
    monkeypatch.setattr(hw2checks.part4, "devices", lambda: ["cpu", "cuda"])  # as on a GPU machine
    fails(hidden.check_supervise_kaiming__wrapper.judge, data, match="no result for BCELoss, cuda")


MUTANT_ANSWERS = [  # (mutant of tests/mutants.py, check, what the mutant's cell defines)
    (
        "zero_init_tiny_random",
        "init_zero__values",
        lambda: (lambda i, o, g: torch.randn(i, o, generator=g) * 1e-8,),
    ),
    ("small_init_std_1", "init_small__distribution", lambda: (normal(lambda i, o: 1.0),)),
    ("large_init_std_5", "init_large__distribution", lambda: (normal(lambda i, o: 5.0),)),
    (
        "xavier_uniform_wrong_limit",
        "init_xavier__distribution",
        lambda: (lambda i, o, g: (2 * torch.rand(i, o, generator=g) - 1) / i**0.5,),
    ),
    (
        "he_kaiming_on_in_out_tensor",
        "init_he__distribution",
        lambda: (
            lambda i, o, g: nn.init.kaiming_normal_(
                torch.empty(i, o), nonlinearity="relu", generator=g
            ),
        ),
    ),
    (
        "supervise_random_std_1",
        "supervise_random__statistics",
        lambda: (reinit_class("Supervise_random_weights", nn.init.normal_),),
    ),
    (
        "kaiming_fan_out",
        "supervise_kaiming__statistics",
        lambda: (
            reinit_class(
                "Supervise_Kaiming_weights",
                lambda w: nn.init.kaiming_normal_(w, mode="fan_out", nonlinearity="relu"),
            ),
        ),
    ),
    ("kaiming_uniform", "supervise_kaiming__statistics", lambda: (KAIMING_UNIFORM,)),
    (
        "net_4_7_plain_supervise",
        "net_4_7__wrapper",
        lambda: (lambda net: (hw2utils.Supervise(nn.BCELoss(), net), net))(deep_narrow()),
    ),
    (
        "net_4_9_five_layers",
        "net_4_9__architecture",
        lambda: (nn.Sequential(*list(deep_narrow())[2:]),),
    ),
    ("small_init_reseeds_global", "init_small__distribution", lambda: (reseeds_global,)),
    ("xavier_generator_from_seed", "init_xavier__generator", lambda: (generator_from_seed,)),
    (
        "he_global_random_state",
        "init_he__generator",
        lambda: (lambda i, o, g: torch.randn(i, o) * (2 / i) ** 0.5,),
    ),
    ("supervise_random_crashes", "supervise_random__statistics", lambda: (crashing_random(),)),
]


@pytest.mark.parametrize(
    "mutant, check, objects", MUTANT_ANSWERS, ids=[m[0] for m in MUTANT_ANSWERS]
)
def test_the_mutation_corpus_diagnostics_are_kept(mutant, check, objects):
    says = {m.name: m.says for m in MUTANTS}[mutant]
    fails(getattr(hidden, f"check_{check}"), *objects(), match=f"(?i){re.escape(says)}")


# EC1: the saved network --------------------------------------------------------------------


class ResidualSequence(nn.Sequential):
    def forward(self, x):
        return super().forward(x) + x


class ForgetsTheSkip(nn.Sequential):
    def forward(self, x):
        return super().forward(x)


ForgetsTheSkip.__name__ = "ResidualSequence"


def test_the_rule_network_computes_the_hard_rule():
    x = torch.randint(0, 2, (3000, 36), generator=torch.Generator().manual_seed(0))
    truth = torch.as_tensor(true_rule(x.numpy(), kind="hard"))
    with torch.no_grad():
        assert torch.equal(rule_network()(x.float()).squeeze(-1) > 0.5, truth)
        flipped = rule_network(flip=True)(x.float()).squeeze(-1) > 0.5
    assert torch.equal(flipped != truth, x[:, :3].sum(-1) == 3)


@pytest.fixture(scope="module")
def saved_models(tmp_path_factory):
    folder = tmp_path_factory.mktemp("ec_models")
    constant = nn.Sequential(nn.Linear(36, 1), nn.Sigmoid())
    with torch.no_grad():
        constant[0].weight.zero_()
        constant[0].bias.fill_(-1.0)
    models = {
        "perfect": rule_network(),
        "flipped": rule_network(flip=True),
        "logits": rule_network(sigmoid=False),
        "constant": constant,
    }
    for name, net in models.items():
        hw2utils._write_ec_model(net, folder / f"{name}.pt", saved_by="save_ec_model")
    hw2utils._write_ec_model(models["perfect"], folder / "reference.pt", saved_by="reference")
    (folder / "garbage.pt").write_bytes(b"not a model")
    torch.save(models["perfect"].state_dict(), folder / "state_dict.pt")
    torch.save(models["perfect"], folder / "pickled_module.pt")
    return folder


@pytest.fixture
def submit(saved_models, tmp_path, monkeypatch):
    """Put one of the saved models next to the 'notebook' (the current directory)."""
    monkeypatch.chdir(tmp_path)

    def put(name):
        shutil.copyfile(saved_models / f"{name}.pt", tmp_path / hw2utils.EC_MODEL_FILE)

    return put


@pytest.mark.parametrize("checks", BOTH_EC)
def test_a_good_saved_model_passes_every_tier(checks, submit):
    submit("perfect")
    checks.check_ec_transfer__saved_model()
    checks.check_ec_transfer__accuracy_75()
    checks.check_ec_transfer__accuracy_95()


@pytest.mark.parametrize("checks", BOTH_EC)
def test_tiers_give_partial_credit(checks, submit):
    submit("flipped")
    checks.check_ec_transfer__saved_model()
    checks.check_ec_transfer__accuracy_75()
    fails(checks.check_ec_transfer__accuracy_95, match=r"accuracy 0\.8\d+ is below 0.95")
    submit("constant")
    checks.check_ec_transfer__saved_model()
    message = fails(checks.check_ec_transfer__accuracy_75, match=r"accuracy 0\.5\d* is below 0.75")
    assert "memorizes" in message


@pytest.mark.parametrize("checks", BOTH_EC)
def test_missing_unreadable_or_non_probability_models_fail_clearly(checks, submit):
    for check in (
        checks.check_ec_transfer__saved_model,
        checks.check_ec_transfer__accuracy_75,
        checks.check_ec_transfer__accuracy_95,
    ):
        message = fails(check, match="model file")
        assert "save_ec_model" in message and "submit" in message.lower()
    for name in ("garbage", "state_dict", "pickled_module"):
        submit(name)
        fails(checks.check_ec_transfer__saved_model, match="cannot be loaded")
    submit("logits")
    fails(checks.check_ec_transfer__saved_model, match="not probabilities.*\n.*Sigmoid")


def test_the_reference_model_is_refused_only_while_autograding(submit, monkeypatch):
    submit("reference")
    hidden_ec.check_ec_transfer__accuracy_95()
    monkeypatch.setenv("NBGRADER_EXECUTION", "validate")
    hidden_ec.check_ec_transfer__accuracy_95()
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    fails(hidden_ec.check_ec_transfer__accuracy_95, match="instructor's reference model")
    submit("perfect")
    hidden_ec.check_ec_transfer__accuracy_95()


def test_the_grader_refuses_absurdly_large_networks_before_building_them(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    huge = {"type": "Linear", "in_features": 10**6, "out_features": 10**6, "bias": True}
    offset = {"type": "Linear", "in_features": -(10**6), "out_features": 10**6, "bias": True}
    norm = {
        "type": "BatchNorm1d",
        "num_features": 10**9,
        "eps": 1e-5,
        "momentum": 0.1,
        "affine": True,
        "track_running_stats": True,
    }
    for layers in (huge, {"type": "Sequential", "layers": [offset, huge]}, norm):
        torch.save(
            {
                "format": hw2utils._EC_FORMAT,
                "saved_by": "save_ec_model",
                "state_dict": {},
                "layers": layers,
            },
            tmp_path / hw2utils.EC_MODEL_FILE,
        )
        fails(hidden_ec.check_ec_transfer__saved_model, match="more than 5000000 parameters")


def test_ec1_judges_read_the_model_file_in_the_handed_in_folder(
    saved_models, tmp_path, monkeypatch
):
    from autograder.judging import judge

    handed_in, elsewhere = tmp_path / "handed_in", tmp_path / "elsewhere"
    handed_in.mkdir()
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # a model here is not the submission's
    shutil.copyfile(saved_models / "perfect.pt", elsewhere / hw2utils.EC_MODEL_FILE)
    context = Context(submission=handed_in)
    checks = ("ec_transfer__saved_model", "ec_transfer__accuracy_75", "ec_transfer__accuracy_95")
    for check in checks:
        verdict = judge("extra_credit", check, (), {"result": None}, context)
        assert (
            not verdict.passed and "no ec_transfer_model.pt beside the notebook" in verdict.message
        )
        assert (
            str(handed_in) not in verdict.message
        )  # the grader's folders are not the student's business
    shutil.copyfile(saved_models / "perfect.pt", handed_in / hw2utils.EC_MODEL_FILE)
    assert all(
        judge("extra_credit", check, (), {"result": None}, context).passed for check in checks
    )
    (handed_in / hw2utils.EC_MODEL_FILE).write_bytes(b"not a model")
    verdict = judge("extra_credit", "ec_transfer__saved_model", (), {"result": None}, context)
    assert (
        not verdict.passed
        and "cannot be loaded" in verdict.message
        and str(handed_in) not in verdict.message
    )
    shutil.copyfile(saved_models / "reference.pt", handed_in / hw2utils.EC_MODEL_FILE)
    verdict = judge("extra_credit", "ec_transfer__accuracy_95", (), {"result": None}, context)
    assert not verdict.passed and "instructor's reference model" in verdict.message


def test_save_ec_model_writes_a_self_contained_file_outside_grading_mode(
    tmp_path, monkeypatch, capsys
):
    monkeypatch.chdir(tmp_path)
    torch.manual_seed(0)
    net = nn.Sequential(
        nn.Linear(36, 8),
        ResidualSequence(nn.BatchNorm1d(8), nn.Linear(8, 8), nn.LeakyReLU(0.2)),
        nn.Sequential(nn.Dropout(0.1), nn.Tanh()),
        nn.Linear(8, 1),
        nn.Sigmoid(),
    )
    net(torch.rand(32, 36))  # training mode: BatchNorm's running statistics move
    with pytest.raises(TypeError, match="not its Supervise wrapper"):
        hw2utils.save_ec_model(hw2utils.Supervise(nn.BCELoss(), net))
    path = hw2utils.save_ec_model(net)
    assert path.name == hw2utils.EC_MODEL_FILE and path.is_file()
    out = capsys.readouterr()
    assert "held-out (hard val) accuracy" in out.out and out.err == ""
    assert net.training  # the caller's network is left as it was
    net.eval()
    for loaded in (hw2utils.load_ec_model(), hidden_ec.load_model("test")):
        for batch in (1, 1000):
            x = torch.randint(0, 2, (batch, 36)).float()
            with torch.no_grad():
                assert torch.allclose(loaded(x), net(x), atol=1e-6)


def test_save_ec_model_refuses_what_it_cannot_rebuild(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)

    class Custom(nn.Module):
        def forward(self, x):
            return x

    with pytest.raises(TypeError, match="cannot save a Custom"):
        hw2utils.save_ec_model(nn.Sequential(nn.Linear(36, 1), Custom(), nn.Sigmoid()))
    broken = nn.Sequential(
        nn.Linear(36, 4), ForgetsTheSkip(nn.Linear(4, 4)), nn.Linear(4, 1), nn.Sigmoid()
    )
    with pytest.raises(ValueError, match=r"computes something else.*f\(x\) \+ x"):
        hw2utils.save_ec_model(broken)
    assert not (tmp_path / hw2utils.EC_MODEL_FILE).exists()


def test_save_ec_model_never_writes_in_grading_mode(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    net = nn.Sequential(nn.Linear(36, 1), nn.Sigmoid())
    assert hw2utils.save_ec_model(net) is None
    assert not (tmp_path / hw2utils.EC_MODEL_FILE).exists()
    assert "no such file was submitted" in capsys.readouterr().out
    (tmp_path / hw2utils.EC_MODEL_FILE).write_bytes(b"the student's file")
    hw2utils.save_ec_model(net)
    assert (tmp_path / hw2utils.EC_MODEL_FILE).read_bytes() == b"the student's file"
    assert "keeping the file you submitted" in capsys.readouterr().out


# EC2: the rule ---------------------------------------------------------------------------


def correct_rule(grid):
    return true_rule(grid.numpy().astype(int))


def almost_rule(grid):
    """Right except on grids whose first four cells are set (about 1 in 16)."""
    answer = correct_rule(grid)
    return (not answer) if bool(grid[0, :4].all()) else answer


@pytest.mark.slow  # trains rules on the EC2 data: 5-15 s
@pytest.mark.parametrize("checks", BOTH_EC)
def test_a_correct_rule_passes_in_any_return_format(checks):
    for rule in (
        correct_rule,
        lambda grid: torch.tensor(correct_rule(grid)),
        lambda grid: int(correct_rule(grid)),
        lambda grid: np.bool_(correct_rule(grid)),
    ):
        checks.check_ec_rule__agreement_90(rule)
        checks.check_ec_rule__agreement_99(rule)


@pytest.mark.parametrize("checks", BOTH_EC)
def test_rule_tiers(checks):
    checks.check_ec_rule__agreement_90(almost_rule)
    fails(
        checks.check_ec_rule__agreement_99, almost_rule, match=r"agrees with 0\.9\d+ .*below 0.99"
    )
    fails(
        checks.check_ec_rule__agreement_90,
        lambda grid: True,
        match=r"agrees with 0\.5\d* .*below 0.9",
    )


@pytest.mark.parametrize("checks", BOTH_EC)
def test_rule_mistakes_fail_clearly(checks):
    net = nn.Sequential(nn.Flatten(0), nn.Linear(36, 1), nn.Sigmoid())
    fails(
        checks.check_ec_rule__agreement_90,
        lambda grid: bool(net(grid) > 0.5),
        match="calls a network",
    )
    assert nn.Module.__call__ is not None and net(torch.zeros(6, 6)).shape == (1,)  # restored
    fails(
        checks.check_ec_rule__agreement_90,
        lambda grid: "yes",
        match="rule returned 'yes'; expected True or False",
    )
    fails(checks.check_ec_rule__agreement_90, 5, match="rule is a int, not a function")

    def stub(grid):
        raise NotImplementedError()

    message = fails(
        checks.check_ec_rule__agreement_99, stub, match="rule raised NotImplementedError"
    )
    assert "rule_answers" not in message  # only the student's own frames, if any, are shown

    def hides_the_network(grid):
        try:
            return bool(net(grid) > 0.5)
        except Exception:
            return True

    fails(checks.check_ec_rule__agreement_90, hides_the_network, match="calls a network")


def test_the_reference_rule_scores_1_and_a_constant_rule_0_5():
    from mutants import NB4, answer_cell, load

    namespace = {"torch": torch}
    exec("".join(answer_cell(load(NB4), "ec_rule")["source"]), namespace)
    probe = find_aspect("extra_credit", "ec_rule__agreement_99").probe
    labels = hidden_ec.rule_labels(hidden_ec.RULE_SEED)
    assert hw2checks.rule_agreement(probe(namespace["rule"])["answers"], labels)[0] == 1.0
    assert hw2checks.rule_agreement(probe(lambda grid: True)["answers"], labels) == (0.5, 1.0, 0.0)
    for check in (hidden_ec.check_ec_rule__agreement_90, hidden_ec.check_ec_rule__agreement_99):
        fails(check, lambda grid: True, match=r"agrees with 0\.5000 .*below 0\.9")


def test_the_rule_grids_are_unseen_and_hold_both_classes_as_documented():
    from hw2probes.extra_credit import N_RULE, rule_grids
    from lessons.datasets import SPLITS, example_keys, make_dataset

    keys = set(example_keys(rule_grids().reshape(-1, 36).bool().numpy()).tolist())
    assert len(keys) == N_RULE
    for kind in ("tiny", "hard"):
        shipped = make_dataset(kind)
        assert not keys & set(
            example_keys(np.concatenate([shipped[f"{s}_data"] for s, _ in SPLITS])).tolist()
        )
    assert (
        int(hidden_ec.rule_labels(hidden_ec.RULE_SEED).sum()) == 2044
    )  # n1 in autograder.checks.extra_credit's docstring


def test_the_released_part_4_helpers_do_not_contain_the_rule():
    region = "".join(
        Path(module.__file__).read_text() for module in (hw2checks.part4, hw2checks.extra_credit)
    )
    assert "def check_ec_rule__agreement_99" in region
    assert not re.search(r"autograder|Variant|permutation|\bplus\b|\bminus\b|contrast", region)
