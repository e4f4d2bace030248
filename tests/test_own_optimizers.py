"""Notebook 3's pasted optimizers: ``load_own_optimizers`` never stops the notebook and says
which class it uses; ``compare_optimizers`` calls the reference answers of Parts 1-2 the same
as torch.optim, catches wrong ones (the mutation corpus's mistakes), and reports, never
raises, what a student's optimizer raises."""

import json
import math
from pathlib import Path

import pytest
import torch
from torch import nn

import hw2utils
from scripts import build
from tests.mutants import ADAM_UPDATE, SGD_UPDATE, ZERO_GRAD_LOOP

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = build.own_optimizers()  # the answers of Tasks 1.3, 2.2 and 2.3, as pasted
STUB = "\n# YOUR CODE HERE\nraise NotImplementedError()\n"


def reference_with(old: str, new: str) -> str:
    """The reference with its first ``old`` (SimpleGradientDescent's, if both classes have it)
    replaced by ``new``."""
    assert old in REFERENCE
    return REFERENCE.replace(old, new, 1)


def own_optimizers_cell(tree: str) -> str:
    nb = json.loads((ROOT / tree / "hw2" / "03_training.ipynb").read_text())
    return next(
        "".join(c["source"])
        for c in nb["cells"]
        if c["metadata"].get("nbgrader", {}).get("grade_id") == "own_optimizers"
    )


def load(code, capsys):
    classes = hw2utils.load_own_optimizers(code)
    return classes, capsys.readouterr().out


# --- load_own_optimizers -------------------------------------------------------------------


def test_the_reference_answers_are_used_as_they_are(capsys):
    (sgd, adam), out = load(REFERENCE, capsys)
    assert (sgd.__name__, adam.__name__) == ("SimpleGradientDescent", "ADAMOptimizer")
    assert sgd.__module__ == adam.__module__ == "your_optimizers"
    assert out == "SimpleGradientDescent: yours.\nADAMOptimizer: yours.\n"


@pytest.mark.parametrize(
    "tree, expected",
    [("release", (torch.optim.SGD, torch.optim.Adam)), ("source", ("your_optimizers",) * 2)],
)
def test_the_notebook_cell_runs_in_the_release_and_the_source(capsys, tree, expected):
    """The untouched release binds PyTorch's classes and raises nothing; the source, the reference."""
    namespace = {"hw2utils": hw2utils}
    exec(own_optimizers_cell(tree), namespace)
    classes = (namespace["SimpleGradientDescent"], namespace["ADAMOptimizer"])
    assert (
        classes == expected
        if tree == "release"
        else tuple(c.__module__ for c in classes) == expected
    )
    out = capsys.readouterr().out
    assert ("Nothing pasted yet" in out) == (tree == "release")


def test_a_syntax_error_is_reported_with_its_line_and_both_stand_ins(capsys):
    broken = reference_with("def step(self):", "def step(self)")
    (sgd, adam), out = load(broken, capsys)
    assert (sgd, adam) == (torch.optim.SGD, torch.optim.Adam)
    assert "Your code stopped with SyntaxError at line" in out and "`def step(self)`" in out
    assert "SimpleGradientDescent: not in your code; torch.optim.SGD stands in for it." in out


def test_a_class_that_raises_is_replaced_and_the_other_kept(capsys):
    """Task 1.3's known crash: zero_grad calls the list of parameters."""
    broken = reference_with(
        ZERO_GRAD_LOOP, "for p in self.parameters():\n            p.grad = None"
    )
    (sgd, adam), out = load(broken, capsys)
    assert sgd is torch.optim.SGD and adam.__module__ == "your_optimizers"
    assert "SimpleGradientDescent: TypeError in zero_grad(): 'list' object is not callable" in out


def test_a_leftover_placeholder_after_the_paste_keeps_the_classes(capsys):
    (sgd, adam), out = load(REFERENCE + STUB, capsys)
    assert sgd.__module__ == adam.__module__ == "your_optimizers"
    assert "NotImplementedError at line" in out and "`raise NotImplementedError()`" in out


def test_a_missing_class_is_named(capsys):
    only_sgd = REFERENCE[: REFERENCE.index("def ema_update")]
    (sgd, adam), out = load(only_sgd, capsys)
    assert sgd.__module__ == "your_optimizers" and adam is torch.optim.Adam
    assert "ADAMOptimizer: not in your code; torch.optim.Adam stands in for it." in out


# --- compare_optimizers --------------------------------------------------------------------


def small_network():
    return nn.Sequential(
        nn.Linear(36, 16), nn.ReLU(), nn.Linear(16, 16), nn.ReLU(), nn.Linear(16, 1), nn.Sigmoid()
    )


def compare(easy_dataset, mine, theirs, epochs=40, criterion=None):
    return hw2utils.compare_optimizers(
        small_network,
        criterion or nn.BCELoss(),
        mine,
        theirs,
        epochs=epochs,
        seed=7150,
        data=easy_dataset,
        device="cpu",
    )


def classes(code):
    namespace = {"torch": torch}
    exec(code, namespace)
    return namespace["SimpleGradientDescent"], namespace["ADAMOptimizer"]


SGD_OPTIONS = dict(lr=0.5, weight_decay=1e-2)
ADAM_OPTIONS = dict(lr=0.01, weight_decay=1e-3)


@pytest.mark.parametrize("which", ["sgd", "adam"])
def test_the_reference_answers_are_the_same_as_torch(easy_dataset, which):
    sgd, adam = classes(REFERENCE)
    mine, torch_cls, options = (
        (sgd, torch.optim.SGD, SGD_OPTIONS)
        if which == "sgd"
        else (adam, torch.optim.Adam, ADAM_OPTIONS)
    )
    result = compare(easy_dataset, lambda p: mine(p, **options), lambda p: torch_cls(p, **options))
    assert result.same and len(result.mine) == len(result.theirs) == 40
    assert result.verdict.startswith("same to printed precision")
    assert result.accuracies["mine"] == result.accuracies["theirs"]
    text = repr(result)
    assert (
        f"torch.optim.{torch_cls.__name__}" in text and "verdict: same to printed precision" in text
    )
    assert "   40  " in text  # the last epoch's row


@pytest.mark.parametrize(
    "which, old, new",
    [
        ("sgd", SGD_UPDATE, "p -= self.lr * p.grad + self.weight_decay * p"),
        ("adam", ADAM_UPDATE, "p -= self.lr * m / (v + self.eps).sqrt()"),
        ("adam", "g = p.grad + self.weight_decay * p", "g = p.grad"),
    ],
    ids=["sgd_decay_outside_lr", "adam_eps_inside_sqrt", "adam_without_decay"],
)
def test_a_wrong_answer_differs_from_an_early_epoch(easy_dataset, which, old, new):
    sgd, adam = classes(reference_with(old, new))
    mine, torch_cls, options = (
        (sgd, torch.optim.SGD, SGD_OPTIONS)
        if which == "sgd"
        else (adam, torch.optim.Adam, ADAM_OPTIONS)
    )
    result = compare(easy_dataset, lambda p: mine(p, **options), lambda p: torch_cls(p, **options))
    assert not result.same and result.first_difference <= 10
    assert f"verdict: differs from epoch {result.first_difference}" in repr(result)


def test_a_diverging_answer_differs_or_is_named(easy_dataset):
    """NaN parameters: MSE's losses turn NaN (a difference); BCELoss raises, and the report says why."""
    sgd, _ = classes(reference_with(SGD_UPDATE, "p += float('nan')"))
    mine, theirs = lambda p: sgd(p, lr=0.5), lambda p: torch.optim.SGD(p, lr=0.5)
    result = compare(easy_dataset, mine, theirs, epochs=3, criterion=nn.MSELoss())
    assert math.isnan(result.mine[-1]) and result.first_difference == 2 and not result.same
    result = compare(easy_dataset, mine, theirs, epochs=3)
    assert result.error.startswith("RuntimeError in training at epoch 2")
    assert result.error.endswith("(your steps made a parameter NaN or infinite)")


@pytest.mark.parametrize(
    "old, new, expected",
    [
        (SGD_UPDATE, "p -= self.lr * p.grad.T", "RuntimeError in training at epoch 1"),
        (
            "self.weight_decay = weight_decay",
            "raise ValueError('no')",
            "ValueError while making it: no",
        ),
    ],
    ids=["transposed_gradient", "raises_in_init"],
)
def test_an_exception_in_yours_is_reported_not_raised(easy_dataset, old, new, expected):
    sgd, _ = classes(reference_with(old, new))
    result = compare(easy_dataset, lambda p: sgd(p, lr=0.5), lambda p: torch.optim.SGD(p, lr=0.5))
    assert result.error.startswith(expected) and not result.same and result.theirs == []
    assert f"verdict: your optimizer failed: {expected}" in repr(result)


def test_an_exception_mid_run_names_its_epoch(easy_dataset):
    class FailsLater:
        def __init__(self, params):
            self.inner, self.steps = classes(REFERENCE)[0](params, lr=0.5), 0

        def zero_grad(self):
            self.inner.zero_grad()

        def step(self):
            self.steps += 1
            if self.steps == 5:
                raise RuntimeError("out of patience")
            self.inner.step()

    result = compare(easy_dataset, FailsLater, lambda p: torch.optim.SGD(p, lr=0.5))
    assert result.error == "RuntimeError in training at epoch 5: out of patience"
    assert len(result.mine) == 4


def test_torch_standing_in_for_yours_compares_nothing(easy_dataset):
    result = compare(
        easy_dataset, lambda p: torch.optim.SGD(p, lr=0.5), lambda p: torch.optim.SGD(p, lr=0.5)
    )
    assert result.note and result.mine == result.theirs == [] and not result.same
    assert "nothing compared: yours is torch.optim.SGD itself" in repr(result)


def test_grading_mode_compares_few_epochs(easy_dataset, monkeypatch, capsys):
    monkeypatch.setenv(hw2utils.ENV_GRADING, "1")
    sgd, _ = classes(REFERENCE)
    result = compare(
        easy_dataset, lambda p: sgd(p, lr=0.5), lambda p: torch.optim.SGD(p, lr=0.5), epochs=50
    )
    assert len(result.mine) == len(result.theirs) == hw2utils.COMPARE_GRADING_EPOCHS and result.same
    assert "Grading mode" in capsys.readouterr().out
