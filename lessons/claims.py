"""The outcomes the notebooks may state, as checks on certified training results.

Every sentence in Parts 3–4 and the extra credit that says what training *does* must be one of
these claims. A claim is a predicate on one seed's results ({experiment id: result}, results as
returned by `lessons.replay.run`); it holds when it holds in at least ⌈0.9·K⌉ of K seeds (9 of 10).
Claims that were tried and did not hold, with their numbers, are in lessons/CERTIFICATE.md.
"""

import math
from collections.abc import Callable
from dataclasses import dataclass

QUORUM = 0.9


def val(results, task):
    return results[task]["val_acc"]


def train(results, task):
    return results[task]["train_acc"]


def best_train(results, task):
    """The highest training accuracy of any evaluation (every 10 epochs): what the plot's curve
    reaches, whatever a late loss spike did to the final value."""
    return results[task]["best_train_acc"]


def best_val(results, task):
    """The highest held-out accuracy of any evaluation: the "best" run_test's progress bar shows."""
    return results[task]["best_val_acc"]


@dataclass(frozen=True)
class Claim:
    id: str
    text: str
    needs: tuple
    check: Callable[[dict], bool]


CLAIMS = [
    Claim(
        "sigmoid-chance",
        "3.1 sigmoid + MSE + SGD ends below 0.60 held-out",
        ("3.1",),
        lambda r: val(r, "3.1") < 0.60,
    ),
    Claim(
        "relu-beats-sigmoid",
        "ReLU (3.3) beats sigmoid (3.1) by ≥ 0.10 held-out",
        ("3.1", "3.3"),
        lambda r: val(r, "3.3") - val(r, "3.1") >= 0.10,
    ),
    Claim(
        "tanh-between",
        "tanh (3.2) lands between sigmoid (3.1) and ReLU (3.3) held-out",
        ("3.1", "3.2", "3.3"),
        lambda r: val(r, "3.1") < val(r, "3.2") < val(r, "3.3"),
    ),
    Claim(
        "adam-memorizes",
        "Adam without decay (3.6): train ≥ 0.95 and held-out ≥ 0.20 below train",
        ("3.6",),
        lambda r: train(r, "3.6") >= 0.95 and train(r, "3.6") - val(r, "3.6") >= 0.20,
    ),
    Claim(
        "adam-fits-faster",
        "in the same epochs Adam (3.6) reaches ≥ 0.15 higher training accuracy than SGD (3.4)",
        ("3.4", "3.6"),
        lambda r: train(r, "3.6") - train(r, "3.4") >= 0.15,
    ),
    Claim(
        "decay-helps",
        "weight decay 1e-3 (3.7) raises Adam's held-out accuracy (3.6) by ≥ 0.05",
        ("3.6", "3.7"),
        lambda r: val(r, "3.7") - val(r, "3.6") >= 0.05,
    ),
    Claim(
        "decay-narrows-gap",
        "weight decay 1e-3 (3.7) narrows Adam's train − held-out gap (3.6) by ≥ 0.10",
        ("3.6", "3.7"),
        lambda r: (train(r, "3.6") - val(r, "3.6")) - (train(r, "3.7") - val(r, "3.7")) >= 0.10,
    ),
    Claim(
        "narrow-fits-less",
        "width 16 (3.10) ends ≥ 0.03 below width 128 (3.7) in training accuracy",
        ("3.7", "3.10"),
        lambda r: train(r, "3.7") - train(r, "3.10") >= 0.03,
    ),
    Claim(
        "deep-dies",
        "6 layers of width 32, default init (3.12), stay at chance: train and held-out ≤ 0.55",
        ("3.12",),
        lambda r: max(train(r, "3.12"), val(r, "3.12")) <= 0.55,
    ),
    # Peak, not final, training accuracy: Adam's loss spikes knock 3.13's final value anywhere
    # from 1.0 down to ~0.7 depending on the thread count (CERTIFICATE.md, "Across machines").
    Claim(
        "batchnorm-revives",
        "BatchNorm (3.13) makes that network learn: training accuracy reaches "
        "≥ 0.95 during training, held-out ends ≥ 0.55",
        ("3.13",),
        lambda r: best_train(r, "3.13") >= 0.95 and val(r, "3.13") >= 0.55,
    ),
    # Best, not final, held-out accuracy: at 2 and 4 threads a loss spike before epoch 300 left
    # 3.17 at 0.80 and 0.55 at the notebooks' seed; and the two-block network is the slower
    # learner (best 0.73–0.90 at seeds 3 and 6 with 2 threads). CERTIFICATE.md, "Across machines".
    Claim(
        "residual-bn-solves",
        "residual blocks with BatchNorm reach during training ≥ 0.95 held-out "
        "with 6 blocks (3.18) and ≥ 0.85 with 2 (3.17)",
        ("3.17", "3.18"),
        lambda r: best_val(r, "3.18") >= 0.95 and best_val(r, "3.17") >= 0.85,
    ),
    Claim(
        "small-init-dies",
        "N(0, 0.01²) init (4.7) leaves the deep network at chance: held-out ≤ 0.55",
        ("4.7",),
        lambda r: val(r, "4.7") <= 0.55,
    ),
    Claim(
        "kaiming-learns",
        "Kaiming init (4.9) makes the deep network fit its training set (train ≥ 0.90) "
        "where N(0, 0.01²) init (4.7) leaves it at chance (train and held-out ≤ 0.55)",
        ("4.7", "4.9"),
        lambda r: train(r, "4.9") >= 0.90 and max(train(r, "4.7"), val(r, "4.7")) <= 0.55,
    ),
    Claim(
        "kaiming-memorizes",
        "Kaiming init (4.9) fits the training set better than it generalizes: "
        "train ≥ 0.20 above held-out",
        ("4.9",),
        lambda r: train(r, "4.9") - val(r, "4.9") >= 0.20,
    ),
    Claim(
        "kaiming-not-worse",
        "Kaiming init (4.9) ends at least as high held-out as N(0, 0.01²) init (4.7)",
        ("4.7", "4.9"),
        lambda r: val(r, "4.9") >= val(r, "4.7"),
    ),
    Claim(
        "hard-scratch-fails",
        "hard from scratch ends ≤ 0.60 held-out",
        ("EC.scratch",),
        lambda r: val(r, "EC.scratch") <= 0.60,
    ),
    Claim(
        "hard-scratch-memorizes",
        "hard from scratch fits its training set: train ≥ 0.25 above held-out",
        ("EC.scratch",),
        lambda r: train(r, "EC.scratch") - val(r, "EC.scratch") >= 0.25,
    ),
    # 10/10 at 1 thread, 9/10 at 2, 8/10 at 4 (seed 5's fine-tuning failed although its pretraining
    # solved tiny): below the bar at 4 threads, so EC1's text says "usually, 27 of 30 runs".
    Claim(
        "finetune-solves",
        "hard fine-tuned from tiny (weights kept) reaches ≥ 0.95 held-out",
        ("EC.finetune",),
        lambda r: val(r, "EC.finetune") >= 0.95,
    ),
]


def quorum(n_seeds):
    """Seeds a claim must hold in: ⌈0.9·K⌉ (9 of 10)."""
    return math.ceil(QUORUM * n_seeds - 1e-9)


def evaluate(runs, claims=CLAIMS):
    """Check each claim on `runs` (a list of results with "id" and "seed").

    Returns one dict per claim: {id, text, seeds_held, seeds, needed, status}, status "holds",
    "fails", or "skipped" when an experiment it needs was not run for every seed.
    """
    by_seed = {}
    for result in runs:
        by_seed.setdefault(result["seed"], {})[result["id"]] = result
    verdicts = []
    for claim in claims:
        usable = [r for r in by_seed.values() if all(task in r for task in claim.needs)]
        held = sum(bool(claim.check(r)) for r in usable)
        needed = quorum(len(by_seed))
        if not by_seed or len(usable) < len(by_seed):  # noqa: SIM108 -- one ternary inside another reads worse
            status = "skipped"
        else:
            status = "holds" if held >= needed else "fails"
        verdicts.append(
            {
                "id": claim.id,
                "text": claim.text,
                "seeds_held": held,
                "seeds": len(usable),
                "needed": needed,
                "status": status,
            }
        )
    return verdicts
