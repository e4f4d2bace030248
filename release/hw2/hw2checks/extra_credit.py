"""Checks of the extra credit: EC1's saved model file and its accuracy tiers, EC2's rule and
its agreement tiers. The grader scores both with the functions here that have no leading
underscore."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, NoReturn, TypeVar, overload

import numpy as np
import torch
from torch import nn

from hw2checks.toolkit import fail, student_facing
from hw2utils import (
    EC_MODEL_FILE,
    SavedNetwork,
    load_dataset,
    load_ec_model,
)

T = TypeVar("T")

# Extra credit 1: the saved model file. The grader loads, runs and scores it (and EC2's rule)
# with the functions below that have no leading underscore.

#: EC1 tiers: accuracy on "hard" examples (the grader draws examples you never saw).
EC_TRANSFER_TIERS = {"accuracy_75": 0.75, "accuracy_95": 0.95}
#: EC2 tiers: ``rule``'s class-balanced agreement with the true labels of "tiny" grids
#: (``rule_agreement``).
EC_RULE_TIERS = {"agreement_90": 0.90, "agreement_99": 0.99}


@overload
def load_ec_model_or_fail(test_id: str, folder: Path) -> SavedNetwork: ...


@overload
def load_ec_model_or_fail(test_id: str, folder: Path, load: Callable[[Path], T]) -> T: ...


def load_ec_model_or_fail(
    test_id: str, folder: Path, load: Callable[[Path], object] = load_ec_model
) -> object:
    """``load(path)`` of the ``EC_MODEL_FILE`` in ``folder`` (the notebook's), or a failure
    saying why there is nothing to score."""
    path = folder / EC_MODEL_FILE
    if not path.is_file():
        fail(
            test_id,
            "model file",
            f"there is no {EC_MODEL_FILE} beside the notebook",
            "EC1 is scored on the file hw2utils.save_ec_model(net) writes next to the notebook: run "
            "your EC1 cell outside grading mode and submit the file together with the notebook (in "
            "Colab, download it from the Files panel)",
        )
    try:
        return load(path)
    except Exception as err:  # a truncated upload, or a file saved some other way
        fail(
            test_id,
            "model file",
            f"{EC_MODEL_FILE} cannot be loaded ({type(err).__name__}: {str(err)[:200]})",
            "save your network again with hw2utils.save_ec_model(net)",
        )


def ec_probabilities(
    test_id: str, model: Callable[[torch.Tensor], object], data: torch.Tensor
) -> torch.Tensor:
    """The model's outputs on ``data`` (N, 36) as a vector (N,), checked to be probabilities."""
    n = data.shape[0]
    case = f"forward pass on a batch of {n}"
    hint = "the saved network maps a batch (N, 36) to probabilities (N, 1): end it with a Sigmoid"
    try:
        with torch.no_grad():
            out = model(data.detach().cpu().float())
    except Exception as err:
        fail(test_id, case, f"{type(err).__name__}: {str(err)[:200]}", hint)
    if not isinstance(out, torch.Tensor) or tuple(out.shape) not in ((n, 1), (n,)):
        got = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        fail(test_id, case, f"expected shape ({n}, 1), got {got}", hint)
    out = out.detach().reshape(-1).float().cpu()
    if not bool(torch.isfinite(out).all()) or out.min().item() < 0 or out.max().item() > 1:
        fail(test_id, case, "outputs are not probabilities in [0, 1]", hint)
    return out


def ec_accuracy(probabilities: torch.Tensor, labels: torch.Tensor) -> float:
    """Share of examples where the prediction ``probabilities > 0.5`` equals the label."""
    return ((probabilities > 0.5) == labels.bool()).float().mean().item()


def expect_ec_accuracy(
    test_id: str, case: str, probabilities: torch.Tensor, labels: torch.Tensor, tier: str
) -> float:
    """``ec_accuracy``, failing below the threshold of ``EC_TRANSFER_TIERS[tier]``."""
    threshold, accuracy = EC_TRANSFER_TIERS[tier], ec_accuracy(probabilities, labels)
    if not accuracy >= threshold:
        hint = (
            "that is chance: a network trained on hard from scratch memorizes its training set. "
            "Pretrain on tiny, then fine-tune that same network on hard with its weights kept"
            if accuracy < 0.6
            else "fine-tune the pretrained network until its hard val accuracy is high: keep its weights "
            "(plain Supervise, no re-initializing wrapper) and give it a fresh optimizer"
        )
        fail(test_id, case, f"accuracy {accuracy:.4f} is below {threshold}", hint)
    return accuracy


def _ec_val(test_id: str) -> tuple[torch.Tensor, torch.Tensor]:
    """The saved model's probabilities on the hard val split, and the split's labels."""
    data = load_dataset("hard", device="cpu")
    model = load_ec_model_or_fail(test_id, Path.cwd())
    return ec_probabilities(test_id, model, data.val_data), data.val_labels


@student_facing
def check_ec_transfer__saved_model() -> None:
    """``EC_MODEL_FILE`` exists, loads, and maps a batch of grids to probabilities."""
    test_id = "ec_transfer__saved_model"
    accuracy_val = ec_accuracy(*_ec_val(test_id))
    print(
        f"{test_id}: {EC_MODEL_FILE} loads and outputs probabilities; "
        f"held-out (hard val) accuracy {accuracy_val:.4f}"
    )


def _check_ec_accuracy(test_id: str, tier: str) -> None:
    accuracy_val = expect_ec_accuracy(test_id, "hard val split", *_ec_val(test_id), tier)
    print(
        f"{test_id}: held-out (hard val) accuracy {accuracy_val:.4f} >= {EC_TRANSFER_TIERS[tier]} "
        "(the grader measures it on hard examples you have not seen)"
    )


@student_facing
def check_ec_transfer__accuracy_75() -> None:
    _check_ec_accuracy("ec_transfer__accuracy_75", "accuracy_75")


@student_facing
def check_ec_transfer__accuracy_95() -> None:
    _check_ec_accuracy("ec_transfer__accuracy_95", "accuracy_95")


# Extra credit 2: the rule, as a function of one 6x6 grid.


class _CallsNetwork(BaseException):
    """A rule called an nn.Module (its class name is args[0]); no Exception, so that the
    rule's own ``except Exception`` cannot hide it."""


class _NoNetworks:
    """Inside, calling any nn.Module raises _CallsNetwork: EC2 asks for the rule, not a network
    that imitates it."""

    def __enter__(self) -> _NoNetworks:
        self.original = nn.Module.__call__

        def refuse(module: nn.Module, *args: object, **kwargs: object) -> NoReturn:
            raise _CallsNetwork(type(module).__name__)

        nn.Module.__call__ = refuse  # type: ignore[method-assign]  # the patch is the point
        return self

    def __exit__(self, *exc: object) -> None:
        nn.Module.__call__ = self.original  # type: ignore[method-assign]  # restored


def _as_label(answer: object) -> bool | None:
    """True/False, 0/1, or a one-element tensor or array of them, as a bool; else None."""
    value = answer
    if (
        isinstance(value, torch.Tensor)
        and value.numel() == 1
        or isinstance(value, np.ndarray)
        and value.size == 1
    ):
        value = value.item()
    if isinstance(value, (bool, np.bool_)) or (
        isinstance(value, (int, float, np.integer, np.floating)) and value in (0, 1)
    ):
        return bool(value)
    return None


def _error_line(err: Exception) -> str:
    return f"{type(err).__name__}: {err}"


def rule_answers(
    rule: object, grids: torch.Tensor, describe: Callable[[Exception], str] = _error_line
) -> dict[str, Any]:
    """{"answers": bool (N,)}: ``rule``'s answer on each of ``grids`` (N, 6, 6). Where it stops
    early: {"not_callable": its type's name}, or {"index": the grid's index} with "network" (the
    class it called), "raised" (``describe`` of its error) or "answer" (the repr of what it
    returned instead of a bool)."""
    if not callable(rule):
        return {"not_callable": type(rule).__name__}
    answers = []
    with _NoNetworks():
        for index, grid in enumerate(grids):
            try:
                answer = rule(grid.clone())
            except _CallsNetwork as called:
                return {"index": index, "network": str(called.args[0])}
            except Exception as err:  # the rule's error is what the check reports
                # its traceback from the rule's frame on: this loop's frame is none of the student's
                return {
                    "index": index,
                    "raised": describe(err.with_traceback(err.__traceback__.tb_next)),  # type: ignore[union-attr]  # set while handled
                }
            label = _as_label(answer)
            if label is None:
                return {"index": index, "answer": repr(answer)[:80]}
            answers.append(label)
    return {"answers": torch.tensor(answers, dtype=torch.bool)}


def fail_stopped_rule(test_id: str, stopped: Mapping[str, Any], grids: torch.Tensor) -> NoReturn:
    """Fail with what stopped ``rule_answers`` (its result ``stopped``) on ``grids``."""
    if "not_callable" in stopped:
        fail(
            test_id,
            "type",
            f"rule is a {stopped['not_callable'][:80]}, not a function",
            "def rule(grid): ...",
        )
    index = stopped["index"]
    case = f"grid {index} of {len(grids)}, rows {grids[index].int().tolist()}"
    if "network" in stopped:
        fail(
            test_id,
            case,
            f"your rule calls a network ({stopped['network'][:80]})",
            "EC2 asks for the rule itself, written with the grid's cells",
        )
    if "raised" in stopped:
        fail(
            test_id,
            case,
            f"rule raised {stopped['raised']}",
            "rule receives a 6x6 float tensor of 0. and 1.; grid[r, c] is feature 6*r + c",
        )
    fail(
        test_id,
        case,
        f"rule returned {stopped['answer'][:80]}; expected True or False",
        "rule(grid) returns one bool: True for label 1",
    )


def rule_agreement(answers: torch.Tensor, labels: torch.Tensor) -> tuple[float, float, float]:
    """(class-balanced agreement (a1 + a0) / 2, a1, a0): a1 and a0 are the shares of label-1 and
    label-0 grids on which the bool ``answers`` equal the ``labels``; a constant answer scores 0.5."""
    labels = labels.bool()
    right = answers == labels
    a1, a0 = right[labels].float().mean().item(), right[~labels].float().mean().item()
    return (a1 + a0) / 2, a1, a0


def expect_rule_agreement(
    test_id: str, case: str, answers: torch.Tensor, labels: torch.Tensor, tier: str
) -> float:
    """``rule_agreement``, failing below the threshold of ``EC_RULE_TIERS[tier]``."""
    threshold = EC_RULE_TIERS[tier]
    share, a1, a0 = rule_agreement(answers, labels)
    if not share >= threshold:
        fail(
            test_id,
            case,
            f"rule agrees with {share:.4f} of the true labels, class-balanced ({a1:.4f} "
            f"of the label-1 grids, {a0:.4f} of the label-0 grids), below {threshold}",
            "check your rule on the tiny train split, where you can see the disagreements",
        )
    return share


def _check_ec_rule(test_id: str, rule: Callable[[torch.Tensor], object], tier: str) -> None:
    data = load_dataset("tiny", device="cpu")
    grids = data.val_data.cpu().float().reshape(-1, 6, 6)
    result = rule_answers(rule, grids)
    if "answers" not in result:
        fail_stopped_rule(test_id, result, grids)
    share = expect_rule_agreement(
        test_id, "tiny val split", result["answers"], data.val_labels.cpu(), tier
    )
    print(
        f"{test_id}: rule agrees with {share:.4f} of the tiny val labels, class-balanced "
        f"(>= {EC_RULE_TIERS[tier]}); the grader uses examples you have not seen"
    )


@student_facing
def check_ec_rule__agreement_90(rule: Callable[[torch.Tensor], object]) -> None:
    _check_ec_rule("ec_rule__agreement_90", rule, "agreement_90")


@student_facing
def check_ec_rule__agreement_99(rule: Callable[[torch.Tensor], object]) -> None:
    _check_ec_rule("ec_rule__agreement_99", rule, "agreement_99")
