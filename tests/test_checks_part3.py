"""Part 3 checks: architectures (one layer list per task, the reference networks built from it)
and ResidualSequence."""

import hashlib

import pytest
import torch
from torch import nn

import hw2checks
import hw2probes
from autograder.checks import find as find_aspect
from autograder.checks import part3 as hidden
from lessons import experiments

TASKS = sorted((t for t in hw2checks.ARCHITECTURES if t.startswith("3.")), key=float)


class ResidualSequence(nn.Sequential):
    def forward(self, x):
        return super().forward(x) + x


def _loop_forward(self, x):
    out = x
    for layer in self:
        out = layer(out)
    return x + out


# Correct too, written as a loop; the notebook's class is always named ResidualSequence.
ResidualLoop = type("ResidualSequence", (nn.Sequential,), {"forward": _loop_forward})


class NoSkip(nn.Sequential):
    pass


class SkipOnly(nn.Sequential):
    def forward(self, x):
        return x


class ReLUInPlace(nn.Sequential):
    """Runs ReLUs in place: a block that starts with a ReLU overwrites x, then adds relu(x)."""

    def forward(self, x):
        out = x
        for layer in self:
            out = torch.relu_(out) if isinstance(layer, nn.ReLU) else layer(out)
        return out + x


ReLUInPlace.__name__ = "ResidualSequence"


class DetachedSkip(nn.Sequential):
    def forward(self, x):
        return super().forward(x) + x.detach()


class Wrapped(nn.Module):
    """Not a Sequential: layers kept in a list, so they are never registered."""

    def __init__(self, *layers):
        super().__init__()
        self.layers = list(layers)

    def forward(self, x):
        out = x
        for layer in self.layers:
            out = layer(out)
        return out + x


def test_every_experiment_builds_its_tasks_layer_list():
    assert set(TASKS) == {t for t in experiments.EXPERIMENTS if t.startswith("3.")}
    assert {"4.7", "4.9"} <= set(hw2checks.ARCHITECTURES)
    for task in experiments.EXPERIMENTS:
        architecture = "3.17" if task.startswith("EC.") else task
        assert (
            hw2checks.layer_signature(experiments.build(task))
            == hw2checks.ARCHITECTURES[architecture]
        ), task


# sha256 (first 16 hex digits) of each experiment's state_dict built under torch.manual_seed(0):
# the networks the certificate trained. Building them from hw2checks.ARCHITECTURES must create
# the same layers in the same order, hence the same random draws.
CERTIFIED_NETWORKS = {
    **dict.fromkeys(["3.1", "3.2", "3.3", "3.4", "3.5", "3.6", "3.7"], "4d80a52cae8d2554"),
    "3.8": "017f8455701a8f6d",
    "3.9": "0d5425967e39b284",
    "3.10": "0dff41f00afa0035",
    "3.11": "b8d7f7cd2f0ceea9",
    "3.12": "10db522ec3ce63d6",
    "3.13": "3258d60329bb61c1",
    "3.15": "99318275c43d1689",
    "3.16": "472053a5835f5b5b",
    "3.18": "f1820af0822e53e2",
    **dict.fromkeys(["3.17", "EC.scratch", "EC.finetune"], "413e0884a8060421"),
    "4.7": "0dd812b9c78412a5",
    "4.9": "f7b7bde17f1d55dd",
}


def test_the_experiments_build_the_certified_networks_bit_for_bit():
    def digest(task):
        torch.manual_seed(0)
        h = hashlib.sha256()
        for key, t in experiments.build(task).state_dict().items():
            h.update(key.encode())
            h.update(t.contiguous().numpy().tobytes())
        return h.hexdigest()[:16]

    with torch.random.fork_rng(devices=[]):
        assert {task: digest(task) for task in experiments.EXPERIMENTS} == CERTIFIED_NETWORKS


@pytest.mark.parametrize("module", [hw2checks, hidden], ids=["visible", "hidden"])
@pytest.mark.parametrize("task", TASKS)
def test_reference_networks_pass(module, task, capsys):
    module.check_architecture(task, experiments.build(task))
    # the success line is the framework's (hw2checks.aspect): the aspect's name and its cases,
    # 3 (layers, parameter count, forward pass) and one per residual block
    n = 3 + sum(entry.startswith("Residual(") for entry in hw2checks.ARCHITECTURES[task])
    cases = "hidden cases" if module is hidden else "cases"
    assert capsys.readouterr().out == f"architecture: {n}/{n} {cases} passed\n"


def student_residual(blocks, batchnorm, cls=ResidualSequence):
    first = (lambda: nn.BatchNorm1d(16)) if batchnorm else nn.ReLU
    layers = [nn.Linear(36, 16)] + [
        cls(first(), nn.Linear(16, 32), nn.ReLU(), nn.Linear(32, 16)) for _ in range(blocks)
    ]
    return nn.Sequential(
        *layers, *([nn.BatchNorm1d(16)] if batchnorm else []), nn.Linear(16, 1), nn.Sigmoid()
    )


@pytest.mark.parametrize("module", [hw2checks, hidden], ids=["visible", "hidden"])
def test_student_built_residual_nets_pass_with_their_own_class(module):
    module.check_architecture("3.18", student_residual(6, True))
    module.check_architecture("3.15", student_residual(4, False, ResidualLoop))


def in_place_blocks(task: str, positions) -> nn.Module:
    """The reference network of ``task`` with inplace=True on the activations at ``positions``
    of every residual block."""
    net = experiments.build(task)
    for block in (m for m in net.modules() if type(m).__name__ == "ResidualSequence"):
        for position in positions:
            block[position].inplace = True
    return net


@pytest.mark.parametrize("module", [hw2checks, hidden], ids=["visible", "hidden"])
def test_a_block_whose_first_activation_works_in_place_fails_the_architecture(module):
    """The layer list cannot tell ReLU(inplace=True) from ReLU: the check runs each block's
    layers and requires the block's input unchanged, which the skip connection adds."""
    for task in ("3.15", "3.16"):
        with pytest.raises(
            AssertionError, match="residual block 1.*changed the block's input in place"
        ):
            module.check_architecture(task, in_place_blocks(task, (0,)))
        module.check_architecture(task, in_place_blocks(task, (2,)))  # after a Linear: harmless


def test_the_architecture_check_leaves_the_network_as_it_was():
    net = student_residual(6, True)
    state = {k: v.clone() for k, v in net.state_dict().items()}
    for module in (hw2checks, hidden):
        module.check_architecture("3.18", net)
    assert net.training and all(torch.equal(v, net.state_dict()[k]) for k, v in state.items())
    assert not any("forward" in vars(m) for m in net.modules())  # each block's own forward is back


@pytest.mark.parametrize("module", [hw2checks, hidden], ids=["visible", "hidden"])
def test_a_wrong_residual_class_costs_no_architecture_point(module):
    """The blocks' forward is Task 3.14's aspect: a network built with a wrong, or raising,
    class passes its architecture check."""
    for cls in (NoSkip, ReLUInPlace, RaisesInForward):  # named as in the notebook
        module.check_architecture(
            "3.15", student_residual(4, False, type("ResidualSequence", (cls,), {}))
        )


@pytest.mark.parametrize("module", [hw2checks, hidden], ids=["visible", "hidden"])
@pytest.mark.parametrize(
    "task, wrong, where",
    [
        ("3.1", experiments.build("3.2"), "layer 2"),  # tanh for sigmoid
        ("3.8", experiments.build("3.9"), "layer 1"),  # wrong width
        ("3.12", experiments.build("3.11"), "layer"),  # wrong depth
        ("3.13", experiments.build("3.12"), "layer 3"),  # BatchNorm missing
        ("3.17", student_residual(2, False), "layer 2"),  # blocks without BatchNorm
        ("3.18", student_residual(4, True), "layer"),  # 4 blocks for 6
        (
            "3.3",
            nn.Sequential(
                nn.Linear(36, 128), nn.ReLU(), nn.Linear(128, 128), nn.ReLU(), nn.Linear(128, 1)
            ),
            "layer 6|length",
        ),  # no output Sigmoid
        (
            "3.15",
            nn.Sequential(
                nn.Linear(36, 16),
                *[
                    nn.Sequential(nn.ReLU(), nn.Linear(16, 32), nn.ReLU(), nn.Linear(32, 16))
                    for _ in range(4)
                ],
                nn.Linear(16, 1),
                nn.Sigmoid(),
            ),
            "layer 2",
        ),  # no skip connections
    ],
)
def test_wrong_architectures_fail_naming_the_layer(module, task, wrong, where):
    with pytest.raises(AssertionError, match=where):
        module.check_architecture(task, wrong)


def test_the_parameter_count_from_the_layer_list_is_the_reference_networks():
    """The comparison counts each listed layer's parameters (it builds no network of a task):
    the same count as the network lessons.experiments builds from the list."""
    for task in hw2checks.ARCHITECTURES:
        counted = sum(map(hw2checks.part3.entry_parameters, hw2checks.ARCHITECTURES[task]))
        assert counted == sum(p.numel() for p in experiments.network(task).parameters()), task


class ScaledLinear(nn.Linear):
    """A Linear with one more parameter: its layer list entry is the same."""

    def __init__(self, *args):
        super().__init__(*args)
        self.scale = nn.Parameter(torch.ones(1))


@pytest.mark.parametrize("module", [hw2checks, hidden], ids=["visible", "hidden"])
def test_a_layer_with_more_parameters_fails_the_parameter_count(module):
    net = nn.Sequential(
        ScaledLinear(36, 16),
        nn.ReLU(),
        nn.Linear(16, 16),
        nn.ReLU(),
        nn.Linear(16, 1),
        nn.Sigmoid(),
    )
    with pytest.raises(AssertionError, match="parameter count: expected 881, got 882"):
        module.check_architecture("3.10", net)


@pytest.mark.parametrize("module", [hw2checks, hidden], ids=["visible", "hidden"])
def test_not_a_module(module):
    with pytest.raises(AssertionError, match="expected an nn.Module, got str"):
        module.check_architecture("3.1", "net")


@pytest.mark.parametrize("module", [hw2checks, hidden], ids=["visible", "hidden"])
@pytest.mark.parametrize("cls", [ResidualSequence, ResidualLoop], ids=["super", "loop"])
def test_right_residual_sequences_pass(module, cls):
    module.check_residual_sequence__adds_input(cls)
    module.check_residual_sequence__is_sequential(cls)


@pytest.mark.parametrize("module", [hw2checks, hidden], ids=["visible", "hidden"])
@pytest.mark.parametrize(
    "cls, failing",
    [
        (NoSkip, "adds_input"),
        (SkipOnly, "adds_input"),
        (DetachedSkip, "is_sequential"),
        (Wrapped, "is_sequential"),
        (ReLUInPlace, "adds_input"),
    ],
)
def test_wrong_residual_sequences_fail(module, cls, failing):
    with pytest.raises(AssertionError, match=failing):
        getattr(module, f"check_residual_sequence__{failing}")(cls)


@pytest.mark.parametrize(
    "cls, named",
    [
        (NoSkip, "without the skip"),
        (SkipOnly, "without the layers"),
        (ReLUInPlace, "ReLU, Linear 16->32.*\n.*changed it in place"),
    ],
)
def test_hidden_residual_check_names_the_mistake(cls, named):
    with pytest.raises(AssertionError, match=named):
        hidden.check_residual_sequence__adds_input(cls)


# Probes and judges: what crosses the sandbox boundary -------------------------------------


class RaisesInForward(nn.Sequential):
    def forward(self, x):
        raise ValueError("not written yet")


class AddsInPlace(nn.Sequential):
    """Right values, but x += f(x) changes the caller's tensor: autograd refuses it on a leaf."""

    def forward(self, x):
        x += super().forward(x)
        return x


def test_a_forward_that_raises_is_reported_after_the_layers():
    with pytest.raises(
        AssertionError, match="forward pass: your code raised ValueError: not written yet"
    ):
        hidden.check_architecture("3.1", RaisesInForward(*experiments.build("3.1")))
    # a network that cannot run at all still hears which layer is wrong first
    broken = nn.Sequential(
        nn.Linear(36, 64), nn.ReLU(), nn.Linear(32, 32), nn.ReLU(), nn.Linear(32, 1), nn.Sigmoid()
    )
    with pytest.raises(
        AssertionError, match="layer 1: expected Linear\\(36, 32\\), got Linear\\(36, 64\\)"
    ):
        hidden.check_architecture("3.9", broken)


def test_a_residual_block_that_raises_or_adds_in_place():
    with pytest.raises(AssertionError, match="raised ValueError: not written yet"):
        hidden.check_residual_sequence__adds_input(RaisesInForward)
    hidden.check_residual_sequence__adds_input(AddsInPlace)
    with pytest.raises(AssertionError, match="is_sequential, case gradient .*raised RuntimeError"):
        hidden.check_residual_sequence__is_sequential(AddsInPlace)


def replaced(value, change):
    """(``value`` with ``change`` applied to it or, where that leaves it as it is, to each of
    its dict values and list items, recursively; whether anything changed)."""
    new = change(value)
    if new is not value:
        return new, True
    if isinstance(value, dict):
        done = {k: replaced(v, change) for k, v in value.items()}
        return {k: v for k, (v, _) in done.items()}, any(changed for _, changed in done.values())
    if isinstance(value, list):
        done = [replaced(v, change) for v in value]
        return [v for v, _ in done], any(changed for _, changed in done)
    return value, False


def mangled(data) -> list:
    """Data of the wrong shape: garbage, and the probe's data with a key dropped, the lists
    emptied, the tensors or the numbers turned into strings."""
    variants = [None, [], {}, "data", 3, {"result": data}]
    if isinstance(data, dict):
        variants += [{k: v for k, v in data.items() if k != key} for key in data]
    for change in (
        lambda v: [] if isinstance(v, list) and v else v,
        lambda v: "tensor" if isinstance(v, torch.Tensor) else v,
        lambda v: str(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else v,
    ):
        variant, changed = replaced(data, change)
        if changed:
            variants.append(variant)
    return variants


def probe_data(part: str, check: str, *args):
    data = hw2probes.collect(find_aspect(part, check).probe, lambda: args)
    assert set(data) == {"result"}, data
    raw = hw2probes.to_bytes(data)
    assert len(raw) < 8 * 2**20
    return hw2probes.from_bytes(raw)["result"]


def assert_judges_cleanly(part: str, check: str, literals: tuple, data) -> None:
    """The judge passes the probe's own data and fails every mangled copy with an
    AssertionError (a diagnostic or 'not what the check produces'), never anything else."""
    judge = find_aspect(part, check).judge
    assert judge(data, *literals)
    for bad in mangled(data):
        with pytest.raises(AssertionError):
            judge(bad, *literals)


PART3_CALLS = [
    ("architecture", ("3.1",), lambda: (experiments.build("3.1"),)),
    ("architecture", ("3.18",), lambda: (student_residual(6, True),)),
    ("architecture", ("3.15",), lambda: (student_residual(4, False, ResidualLoop),)),
    ("residual_sequence__adds_input", (), lambda: (ResidualSequence,)),
    ("residual_sequence__is_sequential", (), lambda: (ResidualSequence,)),
]


@pytest.mark.parametrize(
    "check, literals, objects", PART3_CALLS, ids=[c[0] + "".join(c[1]) for c in PART3_CALLS]
)
def test_probe_data_round_trips_small_and_judges_fail_cleanly_on_bad_data(check, literals, objects):
    data = probe_data("part3", check, *literals, *objects())
    assert_judges_cleanly("part3", check, literals, data)


def test_the_judge_computes_the_residual_reference_itself():
    data = probe_data("part3", "residual_sequence__adds_input", ResidualSequence)
    data["cases"][0]["output"] = data["cases"][0]["output"] + 1e-3
    with pytest.raises(AssertionError, match="residual_sequence__adds_input, case Linear 5->7"):
        hidden.check_residual_sequence__adds_input.judge(data)


def test_the_judge_recomputes_the_blocks_input_itself():
    data = probe_data("part3", "architecture", "3.16", experiments.build("3.16"))
    data["blocks"][1]["input_after"] = data["blocks"][1]["input_after"].clamp(min=0)
    with pytest.raises(
        AssertionError, match="case residual block 2 .*changed the block's input in place"
    ):
        hidden.check_architecture.judge(data, "3.16")
