"""The Gradescope bundle, run for real in a simulated /autograder tree: unzip it where
Gradescope would, call its run_autograder on a sample submission, validate results.json."""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import pytest

import mutants  # tests/: the reference submission
from autograder import gradebook, gradescope
from autograder.sandbox import provision

# the bundle built and run on one submission: about half a minute
pytestmark = [pytest.mark.slow, pytest.mark.sandbox]

ROOT = Path(__file__).resolve().parents[1]
SOURCE, RELEASE = ROOT / "source" / "hw2", ROOT / "release" / "hw2"


# Part 1 handed in with this cell added: it looks for Gradescope's folders (in the real
# container, /autograder) and tries to write results.json, rewrite the checks and copy the
# reference out of the bundle.
ATTACK = """
import os, json, glob
for top in ("/autograder", "/tmp"):
    for folder, dirs, files in os.walk(top):
        for name in ("results/results.json",):
            try:
                os.makedirs(os.path.join(folder, "results"), exist_ok=True)
                with open(os.path.join(folder, name), "w") as f:
                    json.dump({"score": 1000, "tests": []}, f)
            except OSError:
                pass
        for path in glob.glob(os.path.join(folder, "autograder", "checks", "*.py")):
            try:
                with open(path, "a") as f:
                    f.write("\\nraise SystemExit\\n")
            except OSError:
                pass
"""


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    # laid out like Gradescope's /autograder: a folder every user may enter
    base = Path(tempfile.mkdtemp(prefix="hw2-gradescope-test-"))
    os.chmod(base, 0o755)
    bundle = gradescope.build(base / "autograder.zip", visibility="visible")
    root = base / "autograder"
    with zipfile.ZipFile(bundle) as zf:
        zf.extractall(root / "source")
    shutil.copy(root / "source" / "run_autograder", root / "run_autograder")
    if os.geteuid() == 0:  # what setup.sh does in the container
        provision.setup(root / "source", slots=1)
    # a student who did Part 1 (and tried the attack above) and left Part 2 untouched,
    # uploaded inside a folder
    (root / "submission" / "hw2").mkdir(parents=True)
    part1 = mutants.load(mutants.NB1)
    part1["cells"].insert(
        3,
        {
            "cell_type": "code",
            "metadata": {},
            "source": ATTACK,
            "outputs": [],
            "execution_count": None,
        },
    )
    (root / "submission" / "hw2" / "Copy of 01_gradient_descent.ipynb").write_text(
        json.dumps(part1)
    )
    shutil.copy(RELEASE / "02_ema_adam.ipynb", root / "submission" / "02_ema_adam.ipynb")
    env = {**os.environ, "AUTOGRADER_ROOT": str(root), "HW2_PYTHON": sys.executable}
    run = subprocess.run(
        ["bash", str(root / "run_autograder")], env=env, capture_output=True, text=True
    )
    assert run.returncode == 0, run.stderr[-3000:]
    yield bundle, json.loads((root / "results" / "results.json").read_text()), root
    shutil.rmtree(base)


def test_student_code_can_neither_write_results_nor_change_the_bundle(graded):
    _, results, root = graded
    assert results["score"] != 1000 and results["tests"]
    assert gradescope.verify_bundle(root / "source") == []
    assert not (root / "source" / "results").exists()


def test_the_bundle_has_gradescope_scripts_and_no_gradebook_or_outputs(graded):
    bundle, _, _ = graded
    with zipfile.ZipFile(bundle) as zf:
        names = set(zf.namelist())
        modes = {i.filename: i.external_attr >> 16 for i in zf.infolist()}
    assert {
        "setup.sh",
        "run_autograder",
        "requirements.txt",
        "nbgrader_config.py",
        "source/hw2/01_gradient_descent.ipynb",
        "autograder/checks/part2.py",
        "lessons/experiments.py",
        "lessons/rules.py",
    } <= names
    assert modes["run_autograder"] & 0o111 and modes["setup.sh"] & 0o111
    assert not [n for n in names if n.endswith((".db", ".pyc")) or "certificate/" in n]


def test_the_bundle_builds_byte_for_byte_the_same(graded, tmp_path):
    bundle, _, _ = graded
    again = gradescope.build(tmp_path / "again.zip", visibility="visible")
    assert again.read_bytes() == bundle.read_bytes()


def test_results_have_one_test_per_autograded_grade_id(graded):
    _, results, _ = graded
    ids = [t["name"].split(" ")[0] for t in results["tests"]]
    assert len(ids) == len(set(ids))
    graded_cells = gradebook.cells(SOURCE)
    assert not set(ids) & {c.grade_id for c in graded_cells if c.kind == gradebook.MANUAL}
    assert {
        "gd_loop__matches_reference",
        "adam_optimizer__matches_torch",
        "init_he__distribution",
    } <= set(ids)
    for test in results["tests"]:
        assert 0 <= test["score"] <= test["max_score"] and test["visibility"] == "visible"
    # extra credit is on top of the assignment's points: its tests are worth 0
    extra = [t for t in results["tests"] if t["name"].endswith("(extra credit)")]
    assert {t["name"].split(" ")[0] for t in extra} == {
        c.grade_id for c in graded_cells if c.kind == gradebook.EXTRA
    }
    assert all(t["max_score"] == 0 for t in extra)
    regular = sum(c.points for c in graded_cells if c.kind == gradebook.AUTO)
    assert sum(t["max_score"] for t in results["tests"]) == regular
    assert results["score"] == pytest.approx(sum(t["score"] for t in results["tests"]))
    assert results["stdout_visibility"] == "hidden"


def test_results_score_the_work_done_and_explain_the_rest(graded):
    _, results, _ = graded
    tests = {t["name"].split(" ")[0]: t for t in results["tests"]}
    part1 = [
        t for i, t in tests.items() if i.startswith(("gd_loop", "per_dim_lr", "sgd_optimizer"))
    ]
    assert part1 and all(t["score"] == t["max_score"] for t in part1)
    adam = tests["adam_optimizer__matches_torch"]
    assert adam["score"] == 0 and "NotImplementedError" in adam["output"]
    assert "03_training.ipynb is missing" in results["output"]
    assert "graded by hand" in results["output"]


@pytest.mark.parametrize("quota_cpus, expected", [(0.5, 1), (1.0, 1), (None, None)])
def test_workers_size_their_torch_threads_to_the_container_cpu_quota(quota_cpus, expected):
    """A 0.5 vCPU container sees every core of its host; two torch threads there would
    fight over half a core. Checked in a real cgroup-v1 CPU group (root only)."""
    group = Path("/sys/fs/cgroup/cpu") / f"hw2-test-quota-{os.getpid()}"
    try:
        group.mkdir(exist_ok=True)
        (group / "cpu.cfs_period_us").write_text("100000")
        (group / "cpu.cfs_quota_us").write_text(
            str(int(quota_cpus * 100000)) if quota_cpus else "-1"
        )
    except OSError:
        pytest.skip("needs a writable cgroup-v1 cpu hierarchy (root)")
    try:
        run = subprocess.run(
            [
                sys.executable,
                "-c",
                "from autograder.cpus import available_cpus; print(available_cpus())",
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
            preexec_fn=lambda: (group / "cgroup.procs").write_text(str(os.getpid())),
        )
    finally:
        group.rmdir()
    assert int(run.stdout) == (expected or len(os.sched_getaffinity(0)))
