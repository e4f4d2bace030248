"""Judges of the extra credit, scored on examples of the term's rules that appear in none of
the shipped files, so neither a memorized training set nor a tuned-on-val answer helps. How a
model or a rule is run and scored, and what a failure says, is the shipped checks' own
(`hw2checks`' extra-credit section, the kit's copy): only the examples are hidden.

EC1 (`ec_transfer`): the fine-tuned network the student saved with `hw2utils.save_ec_model` as
EC_MODEL_FILE beside the notebook (submitted with it): a layer description and a state_dict, read
here, in the trusted grader, from the handed-in folder (`Context.submission`); no student code
runs. It is scored on fresh balanced examples (`lessons.datasets.fresh_examples`). A
missing or unreadable file fails every EC1 cell with a message saying so, and nothing else; a
file beyond `bounded.EC_MODEL` (larger than 8 MiB, compressed or inconsistent records, too many
tensor elements: checked before it is decoded) fails them as malformed, which is flagged.
EC2 (`ec_rule`): the student's `rule(grid) -> bool` on the probe's N_RULE = 6000 uniformly
random grids (`hw2probes.extra_credit.rule_grids`), labelled here with `lessons.rules.rule`.
While grading, their seed is drawn afresh for each run (`hw2probes.run_seed`; the judge runs
under the probe's seed, `hw2probes.seeded(Context.seed)`), so a table of answers made in
advance (e.g. by a trained network) cannot match them; the default seed's grids are in none
of the shipped datasets (tested). About a third of uniform grids are label 1: the counts below
are the default seed's.

Tiers and margins. EC1: accuracy on N_TRANSFER = 4000 balanced examples; near the 0.95
threshold its standard error is at most sqrt(0.95 * 0.05 / 4000) = 0.0035, and the reference
model scores about 0.99, more than ten standard errors above. EC2: about a third of uniform
grids are label 1 (n1 = 2044 of the 6000, n0 = 3956), so agreement is class-balanced, the mean
of the shares a1 and a0 of label-1 and label-0 grids the rule gets right: what accuracy on
balanced examples measures, and a constant answer scores exactly 0.5. Its standard error
sqrt((a1(1 - a1)/n1 + a0(1 - a0)/n0) / 4) is, at a true agreement of 0.99 and 0.90, at most
0.0015 and 0.0044 (all errors on label-1 grids; 2000 balanced examples gave 0.0022 and
0.0067). The reference rule scores exactly 1.0.

Why these aspects stay declared here, not shipped (``hw2checks.aspect``) with hidden extras: a
shipped aspect's visible check is its probe and comparison on the public cases, and the grader's
judge the same comparison with extras fixed when it is declared. EC1 judges the file handed in
with the notebook, which only the run's ``Context`` (``submission``) locates and which is read
within ``bounded.EC_MODEL`` (the grader's): a shipped comparison gets neither, and its probe runs
no student object. EC2's probe answers on uniformly random grids that only the term's rule
(``lessons.rules``) labels; the visible check's public cases (the tiny val split, labelled by the
shipped dataset) are of another kind, so a comparison without the hidden labels has nothing to
compare on the probe's cases, and making the public cases the probe's default would change the
default hidden cases (``rule_grids(RULE_SEED)``, which the tests pin). Both share with the visible
checks everything else: loading and running a model, scoring, the tiers and every message.
"""

from __future__ import annotations

import functools
import io
import os
from pathlib import Path
from typing import Any

import torch

import hw2utils
from autograder import bounded
from autograder.aspects import Context, aspect, attributes_of, passed
from hw2checks.extra_credit import (
    ec_probabilities,
    expect_ec_accuracy,
    expect_rule_agreement,
    fail_stopped_rule,
    load_ec_model_or_fail,
)
from hw2checks.toolkit import Malformed, expect_data, fail
from hw2probes import extra_credit as probes
from hw2probes import run_seed
from hw2probes.extra_credit import N_RULE, RULE_SEED, rule_grids
from hw2utils import EC_MODEL_FILE
from lessons.datasets import fresh_examples
from lessons.rules import rule as true_rule

# a hidden test cell calls a shipped aspect (hw2checks.extra_credit) through this module too
__getattr__ = attributes_of("extra_credit")

N_TRANSFER = 4000
TRANSFER_SEED, FORMAT_SEED = 1, 3


@functools.cache
def fresh(kind: str, n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """n balanced unseen examples of `kind` as (float32 (n, 36), bool (n,)) tensors."""
    data, labels = fresh_examples(kind, n, seed=seed)  # type: ignore[no-untyped-call]  # lessons: unannotated
    return torch.as_tensor(data, dtype=torch.float32), torch.as_tensor(labels, dtype=torch.bool)


# EC1 ---------------------------------------------------------------------------------------
# The file is {"format", "saved_by", "layers", "state_dict", ...}, written by torch.save and read
# with weights_only=True (plain data and tensors only: nothing in it runs). "layers" is a tree
# of containers ("Sequential", "Residual" = f(x) + x) and layers, rebuilt by the kit's own
# hw2utils (the grader never imports a student's copy) once its size is known to be sane: the
# file is the student's, and it can describe layers too large to allocate.

MAX_PARAMETERS = (
    bounded.EC_MODEL.numel
)  # EC1's networks have thousands; refuse to allocate absurd ones


def allocated(spec: Any) -> int:
    """How many numbers the modules of a layer description hold (weights, biases, BatchNorm's
    four vectors); a negative size counts as none, so it cannot offset another layer's."""

    def size(key: str) -> int:
        return max(int(spec[key]), 0)

    if spec["type"] in ("Sequential", "Residual"):
        return sum(allocated(layer) for layer in spec["layers"])
    if spec["type"] == "Linear":
        return (size("in_features") + 1) * size("out_features")
    if spec["type"] == "BatchNorm1d":
        return 4 * size("num_features")
    return 0


def _bounded_load(path: str | os.PathLike[str]) -> Any:
    """The handed-in file's plain data, read within ``bounded.EC_MODEL`` (size, stored records,
    tensors: checked before and after ``torch.load``)."""
    return bounded.load_torch(
        bounded.read_capped(path, bounded.EC_MODEL),
        bounded.EC_MODEL,
        lambda raw: torch.load(io.BytesIO(raw), map_location="cpu", weights_only=True),
    )


def read_submitted(path: Path) -> tuple[hw2utils.SavedNetwork, object]:
    """The network in a handed-in file, and who saved it ("save_ec_model", "reference", ...)."""
    saved = hw2utils.read_ec_file(path, load=_bounded_load)
    if allocated(saved["layers"]) > MAX_PARAMETERS:
        raise ValueError(f"the network has more than {MAX_PARAMETERS} parameters")
    return hw2utils.SavedNetwork(saved["layers"], saved["state_dict"]), saved.get("saved_by")


def load_model(test_id: str, context: Context = Context()) -> hw2utils.SavedNetwork:
    """The submitted network, or a failure naming what is wrong with the file. It is read from
    the handed-in folder while grading, else (a local check) from the current directory."""
    folder = Path.cwd() if context.submission is None else Path(context.submission)
    refused: list[bounded.Refused] = []

    def read(path: Path) -> tuple[hw2utils.SavedNetwork, object]:
        try:
            return read_submitted(path)
        except bounded.Refused as why:
            refused.append(why)
            raise

    try:
        model, saved_by = load_ec_model_or_fail(test_id, folder, read)
    except AssertionError as failure:
        if (
            refused
        ):  # oversized, compressed or inconsistent: no save_ec_model file; the grader flags it
            raise Malformed(str(failure)) from None
        raise
    grading = context.submission is not None or os.environ.get("NBGRADER_EXECUTION") == "autograde"
    if saved_by == "reference" and grading:
        # nbgrader copies files from source/ over submitted ones: the instructor's model must
        # never sit in source/hw2 (see the notebook's EC1 solution).
        fail(
            test_id,
            "model file",
            f"the {EC_MODEL_FILE} being graded is the instructor's reference "
            "model, not a submission",
            "a grading setup problem, not yours: tell the instructor",
        )
    return model


def expect_no_data(test_id: str, data: object) -> None:
    expect_data(test_id, data is None, "EC1's probe returns nothing")


@aspect(probe=probes.probe_ec_transfer__saved_model)
def check_ec_transfer__saved_model(data: object, *, context: Context = Context()) -> str:
    test_id = "ec_transfer__saved_model"
    expect_no_data(test_id, data)
    model = load_model(test_id, context)
    examples, _ = fresh("hard", 64, FORMAT_SEED)
    for batch in (examples[:1], examples):
        ec_probabilities(test_id, model, batch)
    return passed(test_id, 2)


def _judge_accuracy(test_id: str, data: object, tier: str, context: Context) -> str:
    expect_no_data(test_id, data)
    model = load_model(test_id, context)
    examples, labels = fresh("hard", N_TRANSFER, TRANSFER_SEED)
    expect_ec_accuracy(
        test_id,
        f"{N_TRANSFER} hard examples you never saw",
        ec_probabilities(test_id, model, examples),
        labels,
        tier,
    )
    return passed(test_id, 1)


@aspect(probe=probes.probe_ec_transfer__accuracy_75)
def check_ec_transfer__accuracy_75(data: object, *, context: Context = Context()) -> str:
    return _judge_accuracy("ec_transfer__accuracy_75", data, "accuracy_75", context)


@aspect(probe=probes.probe_ec_transfer__accuracy_95)
def check_ec_transfer__accuracy_95(data: object, *, context: Context = Context()) -> str:
    return _judge_accuracy("ec_transfer__accuracy_95", data, "accuracy_95", context)


# EC2 ---------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=4)
def rule_labels(seed: int) -> torch.Tensor:
    """bool (N_RULE,): the term's tiny label of each of rule_grids(seed)."""
    return torch.as_tensor(true_rule(rule_grids(seed).numpy(), kind="tiny"), dtype=torch.bool)  # type: ignore[no-untyped-call]  # lessons: unannotated


def _stopped_early(test_id: str, data: dict[str, Any], seed: int) -> None:
    """Fail with what stopped the probe (`hw2checks.rule_answers`' data), once it is known to
    be data that function returns."""
    if not isinstance(data.get("not_callable"), str):
        index = data.get("index")
        stop = next((key for key in ("network", "raised", "answer") if key in data), None)
        expect_data(
            test_id,
            isinstance(index, int)
            and 0 <= index < N_RULE
            and stop is not None
            and isinstance(data[stop], str),
            "the rule's answers or where it stopped",
        )
    fail_stopped_rule(test_id, data, rule_grids(seed))


def _judge_rule(test_id: str, data: Any, tier: str) -> str:
    seed = run_seed(RULE_SEED)
    expect_data(test_id, isinstance(data, dict), "expected a dict")
    if "answers" not in data:
        _stopped_early(test_id, data, seed)
    answers = data["answers"]
    expect_data(
        test_id,
        isinstance(answers, torch.Tensor)
        and answers.dtype == torch.bool
        and tuple(answers.shape) == (N_RULE,),
        f"{N_RULE} bool answers",
    )
    expect_rule_agreement(test_id, f"{N_RULE} random grids", answers, rule_labels(seed), tier)
    return passed(test_id, 1)


@aspect(probe=probes.probe_ec_rule__agreement_90)
def check_ec_rule__agreement_90(data: object) -> str:
    return _judge_rule("ec_rule__agreement_90", data, "agreement_90")


@aspect(probe=probes.probe_ec_rule__agreement_99)
def check_ec_rule__agreement_99(data: object) -> str:
    return _judge_rule("ec_rule__agreement_99", data, "agreement_99")
