"""Judges of the extra credit, scored on examples of the term's rules that appear in none of
the shipped files, so neither a memorized training set nor a tuned-on-val answer helps.

EC1 (`ec_transfer`): the fine-tuned network the student saved with `hw2utils.save_ec_model` as
MODEL_FILE beside the notebook (submitted with it): a layer description and a state_dict, read
here, in the trusted grader, from the handed-in folder (`Context.submission`); no student code
runs. It is scored on fresh balanced examples (`autograder.datasets.fresh_examples`). A
missing or unreadable file fails every EC1 cell with a message saying so, and nothing else.
EC2 (`ec_rule`): the student's `rule(grid) -> bool` on the probe's N_RULE = 6000 uniformly
random grids (`hw2probes.extra_credit.rule_grids`), labelled here with `autograder.rules.rule`.
While grading, their seed is drawn afresh for each run (`hw2probes.run_seed`, told to the
judge as `Context.seed`), so a table of answers made in advance (e.g. by a trained network)
cannot match them; the default seed's grids are in none of the shipped datasets (tested).
About a third of uniform grids are label 1: the counts below are the default seed's.

Tiers and margins. EC1: accuracy on N_TRANSFER = 4000 balanced examples; near the 0.95
threshold its standard error is at most sqrt(0.95 * 0.05 / 4000) = 0.0035, and the reference
model scores about 0.99, more than ten standard errors above. EC2: about a third of uniform
grids are label 1 (n1 = 2044 of the 6000, n0 = 3956), so agreement is class-balanced, the mean
of the shares a1 and a0 of label-1 and label-0 grids the rule gets right: what accuracy on
balanced examples measures, and a constant answer scores exactly 0.5. Its standard error
sqrt((a1(1 - a1)/n1 + a0(1 - a0)/n0) / 4) is, at a true agreement of 0.99 and 0.90, at most
0.0015 and 0.0044 (all errors on label-1 grids; 2000 balanced examples gave 0.0022 and
0.0067). The reference rule scores exactly 1.0.
"""
from __future__ import annotations

import functools
import os
from pathlib import Path

import torch
from torch import nn

import hw2checks
import hw2utils
from autograder.checks.common import expect_data, fail, passed
from autograder.datasets import fresh_examples
from autograder.judging import Context, check_locally
from autograder.rules import rule as true_rule
from hw2probes.extra_credit import N_RULE, RULE_SEED, rule_grids

# The file's name and format and the tiers are the kit's own hw2utils' (the grader's copy, never
# the student's): one home for what the notebook tells students and what is graded.
MODEL_FILE = hw2utils.EC_MODEL_FILE
FORMAT = hw2utils._EC_FORMAT
TRANSFER_TIERS = hw2checks.EC_TRANSFER_TIERS
RULE_TIERS = hw2checks.EC_RULE_TIERS
N_TRANSFER = 4000
TRANSFER_SEED, FORMAT_SEED = 1, 3


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


def load_model(test_id: str, context: Context = Context()):
    """The submitted network, or a failure naming what is wrong with the file. It is read from
    the handed-in folder while grading, else (a local check) from the current directory."""
    path = (Path.cwd() if context.submission is None else Path(context.submission)) / MODEL_FILE
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
    grading = context.submission is not None or os.environ.get("NBGRADER_EXECUTION") == "autograde"
    if saved.get("saved_by") == "reference" and grading:
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


def expect_no_data(test_id: str, data) -> None:
    expect_data(test_id, data is None, "EC1's probe returns nothing")


def judge_ec_transfer__saved_model(data, *, context: Context = Context()) -> str:
    test_id = "ec_transfer__saved_model"
    expect_no_data(test_id, data)
    model = load_model(test_id, context)
    examples, _ = fresh("hard", 64, FORMAT_SEED)
    for batch in (examples[:1], examples):
        probabilities(test_id, model, batch)
    return passed(test_id, 2)


def _judge_accuracy(test_id: str, data, tier: str, context: Context) -> str:
    threshold = TRANSFER_TIERS[tier]
    expect_no_data(test_id, data)
    model = load_model(test_id, context)
    examples, labels = fresh("hard", N_TRANSFER, TRANSFER_SEED)
    accuracy = ((probabilities(test_id, model, examples) > 0.5) == labels).float().mean().item()
    if not accuracy >= threshold:
        hint = ("that is chance: a network trained on hard from scratch memorizes its training set. "
                "Pretrain on tiny, then fine-tune that same network on hard with its weights kept"
                if accuracy < 0.6 else
                "fine-tune until the hard val accuracy is high, and make sure nothing "
                "re-initializes the pretrained weights")
        fail(test_id, f"{N_TRANSFER} hard examples you never saw",
             f"accuracy {accuracy:.4f} is below {threshold}", hint)
    return passed(test_id, 1)


def judge_ec_transfer__accuracy_75(data, *, context: Context = Context()) -> str:
    return _judge_accuracy("ec_transfer__accuracy_75", data, "accuracy_75", context)


def judge_ec_transfer__accuracy_95(data, *, context: Context = Context()) -> str:
    return _judge_accuracy("ec_transfer__accuracy_95", data, "accuracy_95", context)


def check_ec_transfer__saved_model():
    return check_locally("extra_credit", "ec_transfer__saved_model")


def check_ec_transfer__accuracy_75():
    return check_locally("extra_credit", "ec_transfer__accuracy_75")


def check_ec_transfer__accuracy_95():
    return check_locally("extra_credit", "ec_transfer__accuracy_95")


# EC2 ---------------------------------------------------------------------------------------

@functools.lru_cache(maxsize=4)
def rule_labels(seed: int) -> torch.Tensor:
    """bool (N_RULE,): the term's tiny label of each of rule_grids(seed)."""
    return torch.as_tensor(true_rule(rule_grids(seed).numpy(), kind="tiny"), dtype=torch.bool)


def agreement(answers: torch.Tensor, labels: torch.Tensor) -> tuple[float, float, float]:
    """(class-balanced agreement (a1 + a0) / 2, a1, a0): a1 and a0 are the shares of label-1
    and label-0 grids on which the answers equal the labels."""
    right = answers == labels
    a1, a0 = right[labels].float().mean().item(), right[~labels].float().mean().item()
    return (a1 + a0) / 2, a1, a0


def _stopped_early(test_id: str, data: dict, seed: int) -> None:
    """Fail with what stopped the probe: a rule that is no function, calls a network, raised,
    or returned something other than a bool."""
    if isinstance(data.get("not_callable"), str):
        fail(test_id, "type", f"rule is a {data['not_callable'][:80]}, not a function", "def rule(grid): ...")
    index = data.get("index")
    expect_data(test_id, isinstance(index, int) and 0 <= index < N_RULE,
                "the rule's answers or where it stopped")
    case = f"random grid {index}, grid rows {rule_grids(seed)[index].int().tolist()}"
    if "network" in data:
        raise AssertionError(f"{test_id}: your rule calls a network ({str(data['network'])[:80]}); "
                             "EC2 asks for the rule itself, written with the grid's cells")
    if "raised" in data:
        fail(test_id, case, f"rule raised {data['raised']}",
             "rule receives a 6x6 float tensor of 0. and 1.; grid[r, c] is feature 6*r + c")
    expect_data(test_id, isinstance(data.get("answer"), str), "what the rule returned")
    fail(test_id, case, f"rule returned {data['answer'][:80]!r}; expected True or False",
         "rule(grid) returns one bool: True for label 1")


def _judge_rule(test_id: str, data, tier: str, context: Context) -> str:
    threshold = RULE_TIERS[tier]
    seed = RULE_SEED if context.seed is None else context.seed
    expect_data(test_id, isinstance(data, dict), "expected a dict")
    if "answers" not in data:
        _stopped_early(test_id, data, seed)
    answers = data["answers"]
    expect_data(test_id, isinstance(answers, torch.Tensor) and answers.dtype == torch.bool
                and tuple(answers.shape) == (N_RULE,), f"{N_RULE} bool answers")
    share, a1, a0 = agreement(answers, rule_labels(seed))
    if not share >= threshold:
        fail(test_id, f"{N_RULE} random grids",
             f"rule agrees with {share:.4f} of the true labels, class-balanced ({a1:.4f} of the "
             f"label-1 grids, {a0:.4f} of the label-0 grids), below {threshold}",
             "check your rule on the tiny train split, where you can see the disagreements")
    return passed(test_id, 1)


def judge_ec_rule__agreement_90(data, *, context: Context = Context()) -> str:
    return _judge_rule("ec_rule__agreement_90", data, "agreement_90", context)


def judge_ec_rule__agreement_99(data, *, context: Context = Context()) -> str:
    return _judge_rule("ec_rule__agreement_99", data, "agreement_99", context)


def check_ec_rule__agreement_90(rule):
    return check_locally("extra_credit", "ec_rule__agreement_90", rule)


def check_ec_rule__agreement_99(rule):
    return check_locally("extra_credit", "ec_rule__agreement_99", rule)
