"""The test lanes lose nothing: every collected test is in exactly one of CI's two lanes
(`bash run.sh test` and `bash run.sh certify`), the fast lane is part of the first and still
grades a class in the sandbox, and .ci/run runs both lanes, whole, and times each.

run.sh and .ci/run are run for real with their tools stubbed (a python that records its
arguments, a run.sh that records its lane), so the expressions checked are the ones they pass."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from _pytest.mark.expression import Expression

ROOT = Path(__file__).resolve().parents[1]
END = "--end of call--"
RECORD = f'printf "%s\\n" "$@" "{END}" >> "$LOG"\n'  # one argument a line
# the whole file of each certification run, and single tests (file::name prefixes)
CERTIFIED = [
    "tests/test_cheating_corpus.py::",
    "tests/test_mutation_corpus.py::",
    "tests/test_shards.py::test_a_slurm_job_array",
    "tests/test_main_job.py::",
]
# writes each collected test's id and marker names, before any -m deselects
DUMP_PLUGIN = """
import json, os

def pytest_collection_modifyitems(items):
    with open(os.environ["LANES_DUMP"], "w") as f:
        json.dump({i.nodeid: sorted({m.name for m in i.iter_markers()}) for i in items}, f)
"""


def stub(path: Path, body: str) -> None:
    """An executable bash script at ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/usr/bin/env bash\n" + body)
    path.chmod(0o755)


def lane_expression(tmp_path: Path, *args: str) -> str:
    """The -m expression that `bash run.sh ARGS` hands pytest (run.sh run with a stub python)."""
    pytest_call = pytest_arguments(tmp_path, *args)
    assert pytest_call.count("-m") == 2, pytest_call  # the lane's, and no other
    return pytest_call[pytest_call.index("-m", 1) + 1]


def pytest_arguments(tmp_path: Path, *args: str, **env: str) -> list[str]:
    """The python arguments of the pytest call that `bash run.sh ARGS` makes, with ``env``."""
    kit, log = tmp_path / "kit", tmp_path / "python.log"
    if not kit.exists():
        kit.mkdir()
        shutil.copy(ROOT / "run.sh", kit / "run.sh")
        stub(kit / "scripts" / "setup_env.sh", "")
        stub(kit / "venv" / "bin" / "python", RECORD)
    log.unlink(missing_ok=True)
    env = {**os.environ, "HW2_VENV": str(kit / "venv"), "LOG": str(log), **env}
    subprocess.run(["bash", str(kit / "run.sh"), *args], env=env, check=True, timeout=60)
    calls = [call.strip("\n").split("\n") for call in log.read_text().split(END)]
    return next(call for call in calls if call[:2] == ["-m", "pytest"])


@pytest.fixture(scope="module")
def collected(tmp_path_factory) -> dict[str, list[str]]:
    """{test id: its marker names} of the whole suite, collected once in a subprocess."""
    folder = tmp_path_factory.mktemp("lanes")
    (folder / "lanes_dump.py").write_text(DUMP_PLUGIN)
    dump = folder / "collected.json"
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(folder), os.environ.get("PYTHONPATH", "")]),
        "LANES_DUMP": str(dump),
    }
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "lanes_dump"]
        + ["-p", "no:cacheprovider"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-3000:]
    return json.loads(dump.read_text())


def selected(expression: str, collected: dict[str, list[str]]) -> set[str]:
    """The tests that `pytest -m EXPRESSION` runs."""
    compiled = Expression.compile(expression)
    chosen = set()
    for test, marks in collected.items():

        def has(name: str, /, **kwargs: str | int | bool | None) -> bool:
            return name in marks  # the lanes' expressions name markers, no arguments

        if compiled.evaluate(has):
            chosen.add(test)
    return chosen


@pytest.mark.slow  # collects the whole suite: about 15 s
def test_every_test_is_in_exactly_one_ci_lane_and_the_fast_lane_is_in_the_first(
    tmp_path, collected
):
    full = selected(lane_expression(tmp_path, "test"), collected)
    certify = selected(lane_expression(tmp_path, "certify"), collected)
    fast = selected(lane_expression(tmp_path, "test", "--fast"), collected)
    assert not full & certify, sorted(full & certify)[:10]
    assert full | certify == set(collected), sorted(set(collected) - full - certify)[:10]
    assert fast <= full and fast < full
    # the fast lane grades one class through the real batch grader in the sandbox
    assert any(test.startswith("tests/test_grade_quick.py::") for test in fast)
    for prefix in CERTIFIED:
        assert any(test.startswith(prefix) for test in certify), prefix
        assert not any(test.startswith(prefix) for test in full), prefix


@pytest.mark.parametrize("lane", [["test"], ["test", "--fast"]])
def test_the_test_lanes_run_on_workers(tmp_path, lane):
    """Two xdist workers by default, HW2_TEST_WORKERS to choose (tests/conftest.py's scheduler
    keeps the tests marked sandbox on one of them)."""
    call = pytest_arguments(tmp_path, *lane)
    assert call[call.index("-n") + 1] == "2"
    call = pytest_arguments(tmp_path, *lane, HW2_TEST_WORKERS="0")
    assert call[call.index("-n") + 1] == "0"


@pytest.mark.slow  # the same collection
def test_every_test_file_is_collected(collected):
    """No file left out by an ignore or a collection hook: each tests/test_*.py has tests."""
    files = {test.split("::")[0] for test in collected}
    assert files == {f"tests/{p.name}" for p in (ROOT / "tests").glob("test_*.py")}


def run_ci(tmp_path: Path, failing: str = "") -> tuple[subprocess.CompletedProcess, list[str]]:
    """.ci/run with run.sh, style.sh and the package tools stubbed; its output and the run.sh
    calls it made (with HW2_SLURM_TEST). The stub run.sh fails for the lane ``failing``."""
    kit, log = tmp_path / "kit", tmp_path / "run.log"
    shutil.copytree(ROOT / ".ci", kit / ".ci")
    stub(
        kit / "run.sh",
        'printf "%s HW2_SLURM_TEST=%s\\n" "$*" "${HW2_SLURM_TEST:-}" >> "$LOG"\n'
        f'[ "$1" != "{failing}" ]\n',
    )
    stub(kit / "scripts" / "style.sh", "")
    for tool in ("apt-get", "sudo"):  # should the machine lack a package, nothing is installed
        stub(tmp_path / "bin" / tool, "")
    env = {**os.environ, "LOG": str(log), "PATH": f"{tmp_path / 'bin'}:{os.environ['PATH']}"}
    env.pop("HW2_SLURM_TEST", None)
    done = subprocess.run(
        ["bash", str(kit / ".ci" / "run")], env=env, capture_output=True, text=True, timeout=60
    )
    return done, log.read_text().splitlines()


def test_ci_runs_both_lanes_whole_and_prints_each_lane_s_wall_time(tmp_path):
    done, calls = run_ci(tmp_path)
    assert done.returncode == 0, done.stderr
    lanes = [c for c in calls if c.split()[0] in ("test", "certify")]
    # no extra pytest arguments: nothing deselected; the Slurm test asked for
    assert lanes == ["test HW2_SLURM_TEST=1", "certify HW2_SLURM_TEST=1"]
    assert "ci: lane 'test':" in done.stdout and "ci: lane 'certify':" in done.stdout


def test_ci_runs_the_certification_lane_even_when_the_first_fails_and_then_fails(tmp_path):
    done, calls = run_ci(tmp_path, failing="test")
    assert done.returncode != 0
    assert [c.split()[0] for c in calls if c.split()[0] in ("test", "certify")] == [
        "test",
        "certify",
    ]
