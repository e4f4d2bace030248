"""Probes of the extra credit.

EC1 (``ec_transfer``) exercises no student object: its judge reads the model file handed in
with the notebook, in the trusted grader, so its probes return None.
EC2 (``ec_rule``): the student's ``rule(grid) -> bool`` on N_RULE random grids (rule_grids),
run as the visible check runs it (``hw2checks.rule_answers``); the judge labels the grids with
the term's rule.
"""

from __future__ import annotations

import torch

from hw2checks.extra_credit import rule_answers
from hw2probes import describe_error, run_seed

N_RULE, RULE_SEED = 6000, 2


def probe_ec_transfer__saved_model():
    return None


def probe_ec_transfer__accuracy_75():
    return None


def probe_ec_transfer__accuracy_95():
    return None


def rule_grids(seed: int = RULE_SEED) -> torch.Tensor:
    """(N_RULE, 6, 6) float32 grids of independent fair 0./1. cells, from ``seed`` (while grading,
    a seed the grader draws for each run: ``hw2probes.run_seed``)."""
    return torch.randint(
        0, 2, (N_RULE, 6, 6), generator=torch.Generator().manual_seed(seed)
    ).float()


_last: dict = {}  # the answers of the last rule asked, so that the two tiers ask it once


def cached_rule_answers(rule) -> dict:
    """``rule_answers`` on rule_grids(), its errors described with the student's own frames;
    remembered for the same function object and the same grids (1.7 s each)."""
    seed = run_seed(RULE_SEED)
    key = (id(rule), getattr(rule, "__code__", None), seed)
    if _last.get("key") != key:
        _last.update(key=key, answers=rule_answers(rule, rule_grids(seed), describe=describe_error))
    return _last["answers"]


def probe_ec_rule__agreement_90(rule):
    return cached_rule_answers(rule)


def probe_ec_rule__agreement_99(rule):
    return cached_rule_answers(rule)
