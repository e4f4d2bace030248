"""Shared fixtures: a non-interactive matplotlib, a clean environment, and small
synthetic datasets in the shipped file format (so these tests do not depend on
the generated data in data/)."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest

import hw2utils

_HW2_VARIABLES = (
    "NBGRADER_EXECUTION",
    hw2utils.ENV_GRADING,
    hw2utils.ENV_DEVICE,
    hw2utils.ENV_BASE_URL,
    hw2utils.ENV_FORCE_COLAB,
    "COLAB_RELEASE_TAG",
)


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    """Each test starts outside grading mode, outside Colab, with no overrides."""
    for name in _HW2_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    yield
    plt.close("all")


def write_dataset(path, rule=lambda bits: bits[:, 0], sizes=(400, 100, 100), seed=0):
    """Write a dataset file of random bits labelled by ``rule`` (default: the first
    bit, which a linear model learns perfectly). Returns the arrays written."""
    rng = np.random.default_rng(seed)
    arrays = {}
    for split, n in zip(hw2utils.SPLITS, sizes):
        bits = rng.integers(0, 2, size=(n, hw2utils.N_FEATURES)).astype(bool)
        arrays[f"{split}_data"] = bits
        arrays[f"{split}_labels"] = np.asarray(rule(bits), dtype=bool)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, **arrays)
    return arrays


@pytest.fixture
def easy_data_dir(tmp_path):
    """A folder holding a 'tiny' dataset that a small network solves in a few dozen epochs."""
    write_dataset(tmp_path / hw2utils.DATASET_FILES["tiny"])
    return tmp_path


@pytest.fixture
def easy_dataset(easy_data_dir):
    return hw2utils.load_dataset("tiny", device="cpu", data_dir=easy_data_dir)
