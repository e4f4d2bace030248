"""Hidden checks of the extra credit, scored on fresh examples of the term's rules that appear
in none of the shipped files (`autograder.datasets.fresh_examples`), so neither a memorized
training set nor a tuned-on-val answer helps.

EC1 (`ec_transfer`): the fine-tuned network the student saved with `hw2utils.save_ec_model` as
MODEL_FILE beside the notebook (submitted with it): a layer description and a state_dict. A
missing or unreadable file fails every EC1 cell with a message saying so, and nothing else.
EC2 (`ec_rule`): the student's `rule(grid) -> bool`, compared with `autograder.rules.rule`.

Tiers and margins: accuracy is measured on N_TRANSFER = 4000 (EC1) and N_RULE = 2000 (EC2)
balanced examples; the standard error of a measured accuracy near the 0.95 and 0.99
thresholds is at most 0.0035 and 0.0023; the reference answers score about 0.99 and exactly
1.0, more than ten standard errors above them.
"""
from __future__ import annotations

import functools
import os
from pathlib import Path

import numpy as np
import torch
from torch import nn

from autograder.checks.common import fail, passed
from autograder.datasets import fresh_examples

MODEL_FILE = "ec_transfer_model.pt"  # hw2utils.EC_MODEL_FILE
FORMAT = "hw2-ec-model"              # hw2utils._EC_FORMAT
TRANSFER_TIERS = {"accuracy_75": 0.75, "accuracy_95": 0.95}
RULE_TIERS = {"agreement_90": 0.90, "agreement_99": 0.99}
N_TRANSFER, N_RULE = 4000, 2000
TRANSFER_SEED, RULE_SEED, FORMAT_SEED = 1, 2, 3


@functools.lru_cache(maxsize=None)
def fresh(kind: str, n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """n balanced unseen examples of `kind` as (float32 (n, 36), bool (n,)) tensors."""
    data, labels = fresh_examples(kind, n, seed=seed)
    return torch.as_tensor(data, dtype=torch.float32), torch.as_tensor(labels, dtype=torch.bool)


# EC1 ---------------------------------------------------------------------------------------
# The file is {"format", "saved_by", "layers", "state_dict", ...}, written by torch.save and read
# here with weights_only=True (plain data and tensors only: nothing in it runs). "layers" is a
# tree of containers ("Sequential", "Residual" = f(x) + x) and layers; this module rebuilds it
# with its own code rather than hw2utils', which a submission could have changed.

ELEMENTWISE = {"ReLU": (), "Tanh": (), "Sigmoid": (), "SiLU": (), "Identity": (),
               "GELU": ("approximate",), "LeakyReLU": ("negative_slope",), "ELU": ("alpha",),
               "Dropout": ("p",)}
MAX_PARAMETERS = 5_000_000  # EC1's networks have thousands; refuse to allocate absurd ones


def build(spec, budget):
    """Modules for a layer description, nested like the saved network's; `budget` is a
    one-element list counting down the parameters still allowed."""
    kind = spec["type"]
    if kind in ("Sequential", "Residual"):
        return nn.Sequential(*[build(layer, budget) for layer in spec["layers"]])
    if kind == "Linear":
        budget[0] -= int(spec["in_features"]) * int(spec["out_features"])
        if budget[0] < 0:
            raise ValueError(f"the network has more than {MAX_PARAMETERS} parameters")
        return nn.Linear(int(spec["in_features"]), int(spec["out_features"]), bias=bool(spec["bias"]))
    if kind == "BatchNorm1d":
        return nn.BatchNorm1d(int(spec["num_features"]), eps=spec["eps"], momentum=spec["momentum"],
                              affine=spec["affine"], track_running_stats=spec["track_running_stats"])
    if kind in ELEMENTWISE:
        return getattr(nn, kind)(**{name: spec[name] for name in ELEMENTWISE[kind]})
    raise ValueError(f"unknown layer type {kind!r}")


def run(spec, module, x):
    if spec["type"] == "Sequential":
        for layer, child in zip(spec["layers"], module):
            x = run(layer, child, x)
        return x
    if spec["type"] == "Residual":
        return x + run({"type": "Sequential", "layers": spec["layers"]}, module, x)
    return module(x)


class Loaded(nn.Module):
    def __init__(self, spec, state_dict):
        super().__init__()
        self.spec = spec
        self.layers = build(spec, [MAX_PARAMETERS])
        self.layers.load_state_dict(state_dict)
        self.eval()

    def forward(self, x):
        return run(self.spec, self.layers, x)


def load_model(test_id: str):
    """The submitted network, or a failure naming what is wrong with the file."""
    path = Path(MODEL_FILE)
    if not path.is_file():
        fail(test_id, "model file", f"{MODEL_FILE} was not submitted: there is no such file beside "
             "the notebook", "EC1 is graded on the file hw2utils.save_ec_model(net) writes next to "
             "the notebook: save it outside grading mode and submit it together with the notebook")
    try:
        saved = torch.load(os.fspath(path), map_location="cpu", weights_only=True)
        if not isinstance(saved, dict) or saved.get("format") != FORMAT:
            raise ValueError("it was not written by hw2utils.save_ec_model")
        model = Loaded(saved["layers"], saved["state_dict"])
    except Exception as err:  # truncated upload, another format, a renamed file
        fail(test_id, "model file", f"{MODEL_FILE} cannot be loaded ({type(err).__name__}: "
             f"{str(err)[:200]})", "save the network again with hw2utils.save_ec_model(net)")
    if saved.get("saved_by") == "reference" and os.environ.get("NBGRADER_EXECUTION") == "autograde":
        # nbgrader copies files from source/ over submitted ones: the instructor's model must
        # never sit in source/hw2 (see the notebook's EC1 solution).
        fail(test_id, "model file", f"the {MODEL_FILE} being graded is the instructor's reference "
             "model, not a submission", "a grading setup problem, not yours: tell the instructor")
    return model


def probabilities(test_id: str, model, data: torch.Tensor) -> torch.Tensor:
    """The model's outputs on `data` (N, 36), checked to be N probabilities."""
    hint = "the saved network maps a batch (N, 36) to probabilities (N, 1): end it with a Sigmoid"
    try:
        with torch.no_grad():
            out = model(data)
    except Exception as err:
        fail(test_id, f"forward pass on a batch of {data.shape[0]}",
             f"{type(err).__name__}: {str(err)[:200]}", hint)
    n = data.shape[0]
    if not isinstance(out, torch.Tensor) or tuple(out.shape) not in ((n, 1), (n,)):
        got = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        fail(test_id, f"forward pass on a batch of {n}", f"expected shape ({n}, 1), got {got}", hint)
    out = out.detach().reshape(-1).float().cpu()
    if not bool(torch.isfinite(out).all()) or out.min().item() < 0 or out.max().item() > 1:
        fail(test_id, f"forward pass on a batch of {n}", "outputs are not probabilities in [0, 1]", hint)
    return out


def check_ec_transfer__saved_model():
    test_id = "ec_transfer__saved_model"
    model = load_model(test_id)
    data, _ = fresh("hard", 64, FORMAT_SEED)
    for batch in (data[:1], data):
        probabilities(test_id, model, batch)
    passed(test_id, 2)


def _check_accuracy(test_id: str, tier: str):
    threshold = TRANSFER_TIERS[tier]
    model = load_model(test_id)
    data, labels = fresh("hard", N_TRANSFER, TRANSFER_SEED)
    accuracy = ((probabilities(test_id, model, data) > 0.5) == labels).float().mean().item()
    if not accuracy >= threshold:
        hint = ("that is chance: a network trained on hard from scratch memorizes its training set. "
                "Pretrain on tiny, then fine-tune that same network on hard with its weights kept"
                if accuracy < 0.6 else
                "fine-tune until the hard val accuracy is high, and make sure nothing "
                "re-initializes the pretrained weights")
        fail(test_id, f"{N_TRANSFER} hard examples you never saw",
             f"accuracy {accuracy:.4f} is below {threshold}", hint)
    passed(test_id, 1)


def check_ec_transfer__accuracy_75():
    _check_accuracy("ec_transfer__accuracy_75", "accuracy_75")


def check_ec_transfer__accuracy_95():
    _check_accuracy("ec_transfer__accuracy_95", "accuracy_95")


# EC2 ---------------------------------------------------------------------------------------

class NoNetworks:
    """Inside, calling any nn.Module fails: EC2 asks for the rule, not a network that
    imitates it."""

    def __init__(self, test_id: str):
        self.test_id = test_id

    def __enter__(self):
        test_id = self.test_id
        self.original = nn.Module.__call__

        def refuse(module, *args, **kwargs):
            raise AssertionError(f"{test_id}: your rule calls a network ({type(module).__name__}); "
                                 "EC2 asks for the rule itself, written with the grid's cells")
        nn.Module.__call__ = refuse
        return self

    def __exit__(self, *exc):
        nn.Module.__call__ = self.original


def as_label(test_id: str, answer, case: str) -> bool:
    """True/False, 0/1, or a one-element tensor or array of them, as a bool."""
    value = answer
    if isinstance(value, torch.Tensor) and value.numel() == 1:
        value = value.item()
    elif isinstance(value, np.ndarray) and value.size == 1:
        value = value.item()
    if isinstance(value, (bool, np.bool_)) or (
            isinstance(value, (int, float, np.integer, np.floating)) and value in (0, 1)):
        return bool(value)
    fail(test_id, case, f"rule returned {str(answer)[:80]!r}; expected True or False",
         "rule(grid) returns one bool: True for label 1")


def agreement(test_id: str, rule) -> float:
    """Share of N_RULE unseen tiny examples on which `rule(6x6 grid)` gives the true label."""
    if not callable(rule):
        fail(test_id, "type", f"rule is a {type(rule).__name__}, not a function", "def rule(grid): ...")
    data, labels = fresh("tiny", N_RULE, RULE_SEED)
    answers = []
    with NoNetworks(test_id):
        for index, grid in enumerate(data.reshape(-1, 6, 6)):
            case = f"unseen example {index}, grid rows {grid.int().tolist()}"
            try:
                answer = rule(grid.clone())
            except AssertionError:
                raise
            except Exception as err:
                fail(test_id, case, f"rule raised {type(err).__name__}: {str(err)[:200]}",
                     "rule receives a 6x6 float tensor of 0. and 1.; grid[r, c] is feature 6*r + c")
            answers.append(as_label(test_id, answer, case))
    return (torch.tensor(answers) == labels).float().mean().item()


def _check_rule(test_id: str, rule, tier: str):
    threshold = RULE_TIERS[tier]
    share = agreement(test_id, rule)
    if not share >= threshold:
        fail(test_id, f"{N_RULE} tiny examples you never saw",
             f"rule agrees with {share:.4f} of the true labels, below {threshold}",
             "check your rule on the tiny train split, where you can see the disagreements")
    passed(test_id, 1)


def check_ec_rule__agreement_90(rule):
    _check_rule("ec_rule__agreement_90", rule, "agreement_90")


def check_ec_rule__agreement_99(rule):
    _check_rule("ec_rule__agreement_99", rule, "agreement_99")
