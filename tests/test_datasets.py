"""The shipped datasets and their generator: format, balance, disjointness, determinism, rule."""

import hashlib
import re
from pathlib import Path

import numpy as np
import pytest

from lessons.datasets import (
    FILENAMES,
    KEYS,
    SPLITS,
    example_keys,
    fresh_examples,
    make_dataset,
    npz_bytes,
)
from lessons.rules import DEFAULT_SEED, KINDS, Variant, rule

DATA = Path(__file__).resolve().parent.parent / "data"
SIZES = dict(SPLITS)
OTHER_SEED = DEFAULT_SEED + 1


@pytest.fixture(scope="module", params=KINDS)
def shipped(request):
    kind = request.param
    with np.load(DATA / FILENAMES[kind], allow_pickle=False) as npz:
        return kind, {key: npz[key] for key in npz.files}


def test_keys_shapes_dtypes(shipped):
    _, arrays = shipped
    assert tuple(arrays) == KEYS
    for split, n in SPLITS:
        assert arrays[f"{split}_data"].shape == (n, 36) and arrays[f"{split}_data"].dtype == bool
        assert arrays[f"{split}_labels"].shape == (n,) and arrays[f"{split}_labels"].dtype == bool


def test_every_split_exactly_balanced(shipped):
    _, arrays = shipped
    for split, n in SPLITS:
        assert arrays[f"{split}_labels"].sum() == n // 2, split


def test_no_example_repeats_within_or_across_splits(shipped):
    _, arrays = shipped
    keys = example_keys(np.concatenate([arrays[f"{s}_data"] for s, _ in SPLITS]))
    assert len(np.unique(keys)) == len(keys) == sum(SIZES.values())


def test_rule_labels_shipped_data_in_every_input_form(shipped):
    kind, arrays = shipped
    for split, _ in SPLITS:
        data, labels = arrays[f"{split}_data"], arrays[f"{split}_labels"]
        assert np.array_equal(rule(data, kind=kind), labels)
        assert np.array_equal(rule(data.reshape(-1, 6, 6), kind=kind), labels)
    one = arrays["val_data"][0]
    assert rule(one.reshape(6, 6), kind=kind) is bool(arrays["val_labels"][0])
    assert rule(one.astype(int), kind=kind) is bool(arrays["val_labels"][0])


def test_no_single_feature_predicts_the_label(shipped):
    """Best one-bit classifier (x_j or not x_j) over all 10 000 examples, for each of the 36 bits.

    Under independence its accuracy is 0.5 ± σ, σ = 0.5/√10000 = 0.005; 4σ bounds all 36 bits
    together with a false-alarm rate below 0.3 % (Bonferroni). Hard: every bit is exactly
    independent of the label (the symmetric bump), so accuracy ≤ 0.5 + 4σ. Tiny: the off-centre
    threshold gives each bit a designed weak foothold of 0.009 (measured on 2·10⁶ balanced
    draws), so accuracy ≤ 0.5 + 0.009 + 4σ — far from anything a lookup of one cell could use.
    """
    kind, arrays = shipped
    x = np.concatenate([arrays[f"{s}_data"] for s, _ in SPLITS])
    y = np.concatenate([arrays[f"{s}_labels"] for s, _ in SPLITS])
    agree = (x == y[:, None]).mean(0)
    best = np.maximum(agree, 1 - agree).max()
    sigma = 0.5 / np.sqrt(len(y))
    foothold = {"tiny": 0.009, "hard": 0.0}[kind]
    assert best <= 0.5 + foothold + 4 * sigma, f"{kind}: one bit predicts {best:.4f}"


def test_same_seed_gives_byte_identical_files():
    for kind in KINDS:
        assert npz_bytes(make_dataset(kind, OTHER_SEED)) == npz_bytes(
            make_dataset(kind, OTHER_SEED)
        )


def test_shipped_files_are_the_default_seeds_regeneration():
    for kind in KINDS:
        assert (DATA / FILENAMES[kind]).read_bytes() == npz_bytes(
            make_dataset(kind, DEFAULT_SEED)
        ), kind


def test_datasheet_hashes_match_the_files():
    sheet = (DATA / "DATASHEET.md").read_text()
    for kind in KINDS:
        digest = hashlib.sha256((DATA / FILENAMES[kind]).read_bytes()).hexdigest()
        assert re.search(rf"{re.escape(FILENAMES[kind])}.*{digest}", sheet), kind


def test_datasheet_does_not_state_the_rule():
    sheet = (DATA / "DATASHEET.md").read_text().lower()
    for word in ("contrast", "permutation", "group", "threshold"):
        assert word not in sheet


def test_term_variant_has_a_different_rule():
    """On the other term's balanced data the default rule is no better than guessing."""
    default, other = Variant.from_seed(DEFAULT_SEED), Variant.from_seed(OTHER_SEED)
    assert not np.array_equal(np.sort(default.plus, axis=None), np.sort(other.plus, axis=None))
    for kind in KINDS:
        arrays = make_dataset(kind, OTHER_SEED)
        data, labels = arrays["train_data"], arrays["train_labels"]
        assert np.array_equal(rule(data, other, kind), labels)
        assert (rule(data, default, kind) == labels).mean() < 0.6, kind


def test_tiny_and_hard_rules_differ():
    x = np.random.default_rng(0).integers(0, 2, size=(4000, 36)).astype(bool)
    assert (rule(x, kind="tiny") != rule(x, kind="hard")).mean() > 0.2


def test_fresh_examples_are_balanced_labelled_unseen_and_reproducible():
    for kind in KINDS:
        data, labels = fresh_examples(kind, 500, seed=3)
        assert data.shape == (500, 36) and labels.sum() == 250
        assert np.array_equal(rule(data, kind=kind), labels)
        shipped = make_dataset(kind)
        seen = set(example_keys(np.concatenate([shipped[f"{s}_data"] for s, _ in SPLITS])).tolist())
        assert not seen & set(example_keys(data).tolist())
        again, _ = fresh_examples(kind, 500, seed=3)
        other, _ = fresh_examples(kind, 500, seed=4)
        assert np.array_equal(data, again) and not np.array_equal(data, other)


def test_rule_rejects_malformed_input():
    with pytest.raises(ValueError):
        rule(np.zeros(35, dtype=bool))
    with pytest.raises(ValueError):
        rule(np.full(36, 2))
    with pytest.raises(ValueError):
        rule(np.zeros(36, dtype=bool), kind="medium")
