"""Probes of the extra credit.

EC1 (``ec_transfer``) exercises no student object: its judge reads the model file handed in
with the notebook, in the trusted grader, so its probes return None.
EC2 (``ec_rule``): the student's ``rule(grid) -> bool`` on N_RULE random grids (rule_grids),
which the judge labels with the term's rule.
"""
from __future__ import annotations

import contextlib
from typing import Iterator

import numpy as np
import torch
from torch import nn

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
    return torch.randint(0, 2, (N_RULE, 6, 6), generator=torch.Generator().manual_seed(seed)).float()


class CallsNetwork(Exception):
    """The rule called an nn.Module (its class name is args[0])."""


@contextlib.contextmanager
def no_networks() -> Iterator[None]:
    """Inside, calling any nn.Module raises CallsNetwork: EC2 asks for the rule, not a network
    that imitates it."""
    original = nn.Module.__call__

    def refuse(module, *args, **kwargs):
        raise CallsNetwork(type(module).__name__)
    nn.Module.__call__ = refuse
    try:
        yield
    finally:
        nn.Module.__call__ = original


def as_label(answer) -> bool | None:
    """True/False, 0/1, or a one-element tensor or array of them, as a bool; else None."""
    value = answer
    if isinstance(value, torch.Tensor) and value.numel() == 1:
        value = value.item()
    elif isinstance(value, np.ndarray) and value.size == 1:
        value = value.item()
    if isinstance(value, (bool, np.bool_)) or (
            isinstance(value, (int, float, np.integer, np.floating)) and value in (0, 1)):
        return bool(value)
    return None


def rule_answers(rule) -> dict:
    """{"answers": bool (N_RULE,)}: rule's answer on each of rule_grids(). Where it stops early:
    {"not_callable": type name}, or {"index": the grid's index} with "network" (the class it
    called), "raised" (describe_error) or "answer" (what it returned instead of a bool)."""
    if not callable(rule):
        return {"not_callable": type(rule).__name__}
    answers = []
    with no_networks():
        for index, grid in enumerate(rule_grids(run_seed(RULE_SEED))):
            try:
                answer = rule(grid.clone())
            except CallsNetwork as exc:
                return {"index": index, "network": str(exc.args[0])}
            except Exception as exc:  # the student's code: its error is the check's data
                return {"index": index, "raised": describe_error(exc)}
            label = as_label(answer)
            if label is None:
                return {"index": index, "answer": str(answer)[:80]}
            answers.append(label)
    return {"answers": torch.tensor(answers, dtype=torch.bool)}


_last: dict = {}  # the answers of the last rule asked, so that the two tiers ask it once


def cached_rule_answers(rule) -> dict:
    """rule_answers, remembered for the same function object and the same grids (1.7 s each)."""
    key = (id(rule), getattr(rule, "__code__", None), run_seed(RULE_SEED))
    if _last.get("key") != key:
        _last.update(key=key, answers=rule_answers(rule))
    return _last["answers"]


def probe_ec_rule__agreement_90(rule):
    return cached_rule_answers(rule)


def probe_ec_rule__agreement_99(rule):
    return cached_rule_answers(rule)
