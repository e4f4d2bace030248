"""The GPU check (autograder/gpu_check.py) in its smoke form on the CPU, in a child process that
sees only PyTorch and what the notebooks import: the Jupyter stack, nbgrader and pytest are made
unimportable there (as on a bare CUDA machine), and no process of the run may load them."""

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
ABSENT = (
    "jupyter",
    "jupyter_client",
    "jupyter_core",
    "jupyterlab",
    "notebook",
    "nbgrader",
    "nbformat",
    "nbclient",
    "nbconvert",
    "ipykernel",
    "IPython",
    "bleach",
    "pytest",
    "_pytest",
)

# Imported by every Python process of the run (PYTHONPATH): refuses the modules in $HW2_ABSENT as
# if they were not installed, and at exit lists the top-level modules the process loaded.
SITECUSTOMIZE = textwrap.dedent("""\
    import atexit, os, sys

    _ABSENT = set(os.environ["HW2_ABSENT"].split(","))

    class _Absent:
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in _ABSENT:
                raise ModuleNotFoundError(f"No module named {name!r}", name=name)
            return None

    sys.meta_path.insert(0, _Absent())

    @atexit.register
    def _loaded():
        loaded = sorted({m.split(".")[0] for m in list(sys.modules)})
        log = os.path.join(os.environ["HW2_MODULES_LOG"], f"{os.getpid()}.txt")
        with open(log, "w") as out:
            out.write("\\n".join(loaded))
""")


def run_check(tmp_path, *args, absent=ABSENT):
    shim, log = tmp_path / "shim", tmp_path / "modules"
    shim.mkdir()
    log.mkdir()
    (shim / "sitecustomize.py").write_text(SITECUSTOMIZE)
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "PYTHONPATH": f"{shim}{os.pathsep}{ROOT}",
        "HW2_ABSENT": ",".join(absent),
        "HW2_MODULES_LOG": str(log),
    }
    done = subprocess.run(
        [sys.executable, "-m", "autograder.gpu_check", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    loaded = {path.stem: set(path.read_text().split()) for path in log.glob("*.txt")}
    return done, loaded


@pytest.mark.certify  # the whole GPU check in its smoke form: every notebook, mutant and claim
def test_smoke_on_cpu_passes_with_torch_alone(tmp_path):
    done, loaded = run_check(tmp_path, "--device", "cpu", "--smoke", "--jobs", "1")
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    summary = done.stdout.strip().splitlines()[-1]
    assert re.fullmatch(
        r"gpu-check cpu .+: reference (\d+)/\1 aspects pass, mutants 4/4 caught, "
        r"claims \d+/\d+ hold at 1 seed \(smoke: not enforced\), [\d.]+ min",
        summary,
    ), summary
    assert (
        int(re.search(r"reference (\d+)/", summary).group(1)) == 64
    )  # every test cell of the four notebooks
    assert len(loaded) >= 2, "the check and certify's process each leave a module list"
    assert "torch" in set().union(*loaded.values())
    for pid, modules in loaded.items():
        assert not modules & set(ABSENT), (pid, modules & set(ABSENT))


@pytest.mark.slow
def test_refuses_in_one_line_without_a_package_the_notebooks_import(tmp_path):
    done, _ = run_check(tmp_path, "--device", "cpu", "--smoke", absent=ABSENT + ("tqdm",))
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.count("\n") == 1 and "missing Python packages tqdm" in done.stderr
    assert "pip install tqdm" in done.stderr


@pytest.mark.slow
@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_refuses_cuda_where_there_is_none(tmp_path):
    done, _ = run_check(tmp_path)  # --device cuda is the default
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.count("\n") == 1 and "sees no CUDA GPU" in done.stderr


def test_a_mutant_that_passes_or_names_nothing_and_a_failing_reference_are_failures():
    from autograder import gpu_check

    corpus = gpu_check._corpus()
    mutant = corpus.MUTANTS[0]
    results = [
        {
            "mutant": mutant.name,
            "verdicts": {mutant.task: (False, f"... {mutant.says.upper()} ...")},
        },
        {"mutant": mutant.name, "verdicts": {mutant.task: (True, "5/5 hidden cases passed")}},
        {"mutant": mutant.name, "verdicts": {mutant.task: (False, "some other mistake")}},
        {"mutant": mutant.name, "verdicts": {}},
    ]
    caught, total, failures = gpu_check.check_mutants(results, corpus)
    assert (caught, total) == (1, 4) and len(failures) == 3
    reference = [
        {
            "notebook": corpus.NB1,
            "errors": ["cell 5 raised NameError"],
            "verdicts": {"a": (True, "ok"), "b": (False, "expected 1, got 2")},
        }
    ]
    assert gpu_check.check_reference(reference) == (
        1,
        2,
        [
            f"reference {corpus.NB1}: cell 5 raised NameError",
            f"reference {corpus.NB1} b fails: expected 1, got 2",
        ],
    )
