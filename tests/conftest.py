"""Shared fixtures: a non-interactive matplotlib, a clean environment, small synthetic datasets
in the shipped file format (so these tests do not depend on the generated data in data/), and
the two classes graded once a session. Also how the suite runs on pytest-xdist workers (run.sh's
test lanes): the tests marked ``sandbox`` on one worker, each other file a unit, each worker's
torch on its share of the cores (below)."""

import matplotlib

matplotlib.use("Agg")

import json
import os
import shutil
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch

import hw2utils
from autograder.cpus import available_cpus

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


# run.sh's test lanes run the suite on pytest-xdist workers (-n N). The sandbox's slots, their
# users and cgroups are the machine's: every test marked ``sandbox`` (pytest.ini) runs on one
# worker, one after another, as in a serial run, and so do the class gradings they share (the
# session fixtures above). Every other file is a unit of its own, so that its module fixtures
# (a browser, a trained notebook) are made once. (xdist's own --dist loadgroup cannot say so:
# 3.8 writes its group into a node id attribute that pytest 9 no longer reads.) The workers
# collect and say which tests are the sandbox's in GROUPS_FILE; the controller's scheduler
# reads it when it splits the collection into units.
SHARED_CLASSES = ("small_class_graded", "hostile_class")
SANDBOX_GROUP = "sandbox"
GROUPS_FILE = "HW2_XDIST_GROUPS"  # environment variable: the file's path


def pytest_configure(config):
    if getattr(config.option, "numprocesses", None) and not os.environ.get("PYTEST_XDIST_WORKER"):
        os.environ[GROUPS_FILE] = str(
            Path(tempfile.mkdtemp(prefix="hw2-xdist-")) / "sandbox-tests.json"
        )


def pytest_unconfigure(config):
    if (path := os.environ.get(GROUPS_FILE)) and not os.environ.get("PYTEST_XDIST_WORKER"):
        shutil.rmtree(Path(path).parent, ignore_errors=True)


def pytest_collection_modifyitems(config, items):
    sandboxed = []
    for item in items:
        if item.get_closest_marker("sandbox"):
            sandboxed.append(item.nodeid)
        elif shared := set(SHARED_CLASSES) & set(item.fixturenames):
            raise pytest.UsageError(f"{item.nodeid} grades a class ({shared}): mark it sandbox")
    if os.environ.get("PYTEST_XDIST_WORKER") and (path := os.environ.get(GROUPS_FILE)):
        partial = Path(f"{path}.{os.environ['PYTEST_XDIST_WORKER']}")
        partial.write_text(json.dumps(sandboxed))
        partial.replace(path)  # every worker collects the same tests: any one's file will do


@pytest.hookimpl(optionalhook=True)  # -p no:xdist: no such hook
def pytest_xdist_make_scheduler(config, log):
    """Units of work: the sandbox's tests, and each other file (xdist's loadfile, regrouped)."""
    from xdist.scheduler import LoadScopeScheduling  # type: ignore[import-untyped]  # no stubs

    class SandboxOnOneWorker(LoadScopeScheduling):
        def _split_scope(self, nodeid):
            if not hasattr(self, "sandboxed"):  # read once: all workers have collected by now
                self.sandboxed = set(json.loads(Path(os.environ[GROUPS_FILE]).read_text()))
            return SANDBOX_GROUP if nodeid in self.sandboxed else nodeid.split("::", 1)[0]

    return SandboxOnOneWorker(config, log)


@pytest.fixture(autouse=True)
def sandbox_only_where_marked(request, monkeypatch):
    """On a parallel worker, a test not marked ``sandbox`` that claims the sandbox's slots is
    stopped at once (it could kill another worker's grading), not left to fail by chance."""
    if os.environ.get("PYTEST_XDIST_WORKER") and not request.node.get_closest_marker("sandbox"):
        from autograder.sandbox import accounts

        def refuse(*_, **__):
            raise RuntimeError(
                f"{request.node.nodeid} uses the sandbox's slots: mark it `sandbox` (pytest.ini)"
            )

        monkeypatch.setattr(accounts, "claim", refuse)
        monkeypatch.setattr(accounts, "slots", refuse)


def _share_the_cores():
    """On a parallel worker, torch (here and in the kernels the tests start) gets its share of
    the cores: two workers of two threads each on two cores slow each other's torch down."""
    if workers := os.environ.get("PYTEST_XDIST_WORKER_COUNT"):
        threads = str(max(1, available_cpus() // int(workers)))
        os.environ["OMP_NUM_THREADS"] = threads
        torch.set_num_threads(int(threads))


_share_the_cores()
