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


@pytest.fixture(scope="session")
def hostile_class(tmp_path_factory):
    """The hostile class (tests/hostile_class.py) graded once a session, for
    tests/test_grade_robustness.py and tests/test_stopped_notebooks.py: (the output folder, the
    problems, {student: scores.csv row})."""
    import hostile_class as hostile  # here: a session that grades no class never imports it

    return hostile.grade_class(tmp_path_factory.mktemp("hostile"), hostile.STUDENTS, hostile.LIMITS)


@pytest.fixture(scope="session")
def small_class_graded(tmp_path_factory):
    """The small class (tests/small_class.py) graded once a session as one batch (two workers,
    with feedback), for tests/test_grade.py, tests/test_shards.py and tests/test_browser.py's
    feedback page: (the folder holding submissions/ and the batch's out/, the problems)."""
    import small_class  # here: a session that grades no class never imports it
    from autograder import grade

    base = tmp_path_factory.mktemp("class")
    small_class.write(base / "submissions")
    return base, grade.grade(base / "submissions", base / "out", jobs=2)
