"""Part 3 checks: architectures (visible spec = reference) and ResidualSequence."""
import pytest
from torch import nn

import hw2utils
from autograder import experiments
from autograder.checks import part3 as hidden

TASKS = sorted(hw2utils.ARCHITECTURES, key=lambda t: float(t))


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


def test_visible_specs_equal_the_reference_networks():
    assert set(TASKS) == {t for t in experiments.EXPERIMENTS if t.startswith("3.")}
    for task in TASKS:
        assert hw2utils.ARCHITECTURES[task] == hidden.signature(experiments.build(task)), task


@pytest.mark.parametrize("module", [hw2utils, hidden], ids=["visible", "hidden"])
@pytest.mark.parametrize("task", TASKS)
def test_reference_networks_pass(module, task, capsys):
    module.check_architecture(task, experiments.build(task))
    assert capsys.readouterr().out.startswith(f"net_{task.replace('.', '_')}__architecture: ")


def student_residual(blocks, batchnorm, cls=ResidualSequence):
    first = (lambda: nn.BatchNorm1d(16)) if batchnorm else nn.ReLU
    layers = [nn.Linear(36, 16)] + [cls(first(), nn.Linear(16, 32), nn.ReLU(), nn.Linear(32, 16))
                                    for _ in range(blocks)]
    return nn.Sequential(*layers, *([nn.BatchNorm1d(16)] if batchnorm else []), nn.Linear(16, 1),
                         nn.Sigmoid())


@pytest.mark.parametrize("module", [hw2utils, hidden], ids=["visible", "hidden"])
def test_student_built_residual_nets_pass_with_their_own_class(module):
    module.check_architecture("3.18", student_residual(6, True))
    module.check_architecture("3.15", student_residual(4, False, ResidualLoop))


@pytest.mark.parametrize("module", [hw2utils, hidden], ids=["visible", "hidden"])
@pytest.mark.parametrize("task, wrong, where", [
    ("3.1", experiments.build("3.2"), "layer 2"),                       # tanh for sigmoid
    ("3.8", experiments.build("3.9"), "layer 1"),                       # wrong width
    ("3.12", experiments.build("3.11"), "layer"),                       # wrong depth
    ("3.13", experiments.build("3.12"), "layer 3"),                     # BatchNorm missing
    ("3.17", student_residual(2, False), "layer 2"),                    # blocks without BatchNorm
    ("3.18", student_residual(4, True), "layer"),                       # 4 blocks for 6
    ("3.3", nn.Sequential(nn.Linear(36, 128), nn.ReLU(), nn.Linear(128, 128), nn.ReLU(),
                          nn.Linear(128, 1)), "layer 6|length"),        # no output Sigmoid
    ("3.15", nn.Sequential(nn.Linear(36, 16), *[nn.Sequential(nn.ReLU(), nn.Linear(16, 32), nn.ReLU(),
                                                              nn.Linear(32, 16)) for _ in range(4)],
                           nn.Linear(16, 1), nn.Sigmoid()), "layer 2"),  # no skip connections
])
def test_wrong_architectures_fail_naming_the_layer(module, task, wrong, where):
    with pytest.raises(AssertionError, match=where):
        module.check_architecture(task, wrong)


@pytest.mark.parametrize("module", [hw2utils, hidden], ids=["visible", "hidden"])
def test_not_a_module(module):
    with pytest.raises(AssertionError, match="nn.Module"):
        module.check_architecture("3.1", "net")


@pytest.mark.parametrize("module", [hw2utils, hidden], ids=["visible", "hidden"])
@pytest.mark.parametrize("cls", [ResidualSequence, ResidualLoop], ids=["super", "loop"])
def test_right_residual_sequences_pass(module, cls):
    module.check_residual_sequence__adds_input(cls)
    module.check_residual_sequence__is_sequential(cls)


@pytest.mark.parametrize("module", [hw2utils, hidden], ids=["visible", "hidden"])
@pytest.mark.parametrize("cls, failing", [
    (NoSkip, "adds_input"), (SkipOnly, "adds_input"), (DetachedSkip, "is_sequential"),
    (Wrapped, "is_sequential"),
])
def test_wrong_residual_sequences_fail(module, cls, failing):
    with pytest.raises(AssertionError, match=failing):
        getattr(module, f"check_residual_sequence__{failing}")(cls)


@pytest.mark.parametrize("cls, named", [(NoSkip, "without the skip"), (SkipOnly, "without the layers")])
def test_hidden_residual_check_names_the_mistake(cls, named):
    with pytest.raises(AssertionError, match=named):
        hidden.check_residual_sequence__adds_input(cls)
