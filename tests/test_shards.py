"""Grading across machines (autograder.shards): the small class graded as two shards and
merged gives the tables and feedback of one batch, byte for byte; the merge refuses shards
that are not one whole class of one kit; a failed shard is rerun alone; a shard not run as
root refuses.

The same through a real scheduler, a one-node Slurm cluster on this machine
(scripts/slurm_local.sh) running scripts/slurm_grade.sh's job array and merge job, takes
minutes more; it is a certification run (pytest.ini), run by `bash run.sh certify`, which sets
HW2_SLURM_TEST=1 (a bare pytest skips it; .ci/run installs Slurm, and it fails there if Slurm
is missing):

    bash run.sh certify tests/test_shards.py

The class and its batch are tests/test_grade.py's (tests/conftest.py's small_class_graded,
graded once a session); its names split: reference and broken hash to shard 1 of 2, untouched
and forger to shard 2."""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

import small_class  # tests/: the class graded here
from autograder import grade, gradebook, reports, shards, worker
from autograder.sandbox import accounts, fingerprint

# the small class graded as one batch, as two shards and on Slurm: minutes
pytestmark = [pytest.mark.slow, pytest.mark.sandbox]

ROOT = Path(__file__).resolve().parents[1]
SLURM_INSTALL = "apt-get install -y slurm-wlm munge (as root)"
SLURM_OPT_IN = "HW2_SLURM_TEST"


@pytest.fixture
def klass(small_class_graded):
    """The folder of the small class: its submissions/, the batch's out/, the shards' output."""
    base, _ = small_class_graded
    assert [shards.shard_of(s, 2) for s in small_class.STUDENTS] == [1, 2, 1, 2]
    return base


@pytest.fixture
def batch(klass):
    """The class graded as one batch (tests/test_grade.py's)."""
    return klass / "out"


@pytest.fixture(scope="module")
def merged(small_class_graded):
    """The class graded as two shards at once, as on two machines (one worker each), merged."""
    klass, _ = small_class_graded
    started = time.monotonic()
    parts = [klass / f"shard-{i}" for i in (1, 2)]
    running = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "autograder.grade",
                str(klass / "submissions"),
                "--out",
                str(part),
                "--shard",
                f"{i}/2",
                "--jobs",
                "1",
                # one torch thread each: two machines would have their own
                # cores; here two shards of 2 threads oversubscribe 2 cores and
                # a notebook can run past its cell time limit (seen in CI)
                "--threads",
                "1",
            ],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for i, part in enumerate(parts, 1)
    ]
    for shard in running:
        output = shard.communicate(timeout=900)[0]
        assert shard.returncode == 0, output[-3000:]
    graded = time.monotonic()
    shards.merge(parts, klass / "merged")
    print(
        f"\ntwo shards at once: {graded - started:.0f} s; merge: {time.monotonic() - graded:.0f} s"
    )
    return klass / "merged"


def feedback_pages(out: Path, student: str = "*") -> dict[str, str]:
    """{student/hw2/page: its HTML}."""
    folder = out / "course" / "feedback"
    return {
        str(p.relative_to(folder)): p.read_text()
        for p in sorted(folder.glob(f"{student}/hw2/*.html"))
    }


def diagnostics(html: str) -> list[str]:
    """The test cells that failed, in page order. The rest of a page differs between two
    executions of one notebook: the hidden cases are drawn per run, training shows its speed."""
    return re.findall(r"AssertionError: (\w+),", html)


def assert_same_results(one: Path, other: Path) -> None:
    """The same tables, byte for byte, and feedback pages of the same failures."""
    for table in (
        "grades.csv",
        "scores.csv",
        "summary.csv",
        "tasks.csv",
        "problems.json",
        reports.ISOLATION_FILE,
    ):
        assert (one / table).read_bytes() == (other / table).read_bytes(), table
    pages, others = feedback_pages(one), feedback_pages(other)
    assert pages.keys() == others.keys()
    assert {p: diagnostics(html) for p, html in pages.items()} == {
        p: diagnostics(html) for p, html in others.items()
    }
    assert any(diagnostics(html) for html in pages.values())


def assert_merged_from(merged: Path, shard_dirs: list[Path]) -> None:
    """The merge's feedback is each shard's own, byte for byte: it re-records the very
    notebooks the shard executed."""
    for shard in shard_dirs:
        for student in json.loads((shard / shards.RECORD).read_text())["students"]:
            assert feedback_pages(merged, student) == feedback_pages(shard, student) != {}


def test_the_split_follows_the_student_id_so_a_late_hand_in_moves_no_one(tmp_path):
    download = tmp_path / "download"
    for number in range(12):
        (download / f"student{number}").mkdir(parents=True)

    def split(label):
        submitted = {i: tmp_path / f"{label}-{i}" / "course" / "submitted" for i in range(1, 3)}
        return {
            i: {s.student for s in shards.stage(download, submitted[i], (i, 2))[0]}
            for i in submitted
        }

    before = split("before")
    assert before[1] and before[2] and not before[1] & before[2]
    assert before[1] | before[2] == {f"student{n}" for n in range(12)}
    (download / "latecomer").mkdir()
    after = split("after")
    assert after[1] - {"latecomer"} == before[1] and after[2] - {"latecomer"} == before[2]
    # each shard's intake record holds its own students only
    record = json.loads((tmp_path / "after-1" / "course" / "submitted" / "intake.json").read_text())
    assert set(record) == after[1]


def test_a_shard_is_written_as_i_of_k():
    assert shards.parse("2/4") == (2, 4)
    for wrong in ("0/2", "3/2", "2", "a/b", "1/2/3"):
        with pytest.raises(Exception, match="i/K|from 1 to K"):
            shards.parse(wrong)


def test_two_shards_merged_give_the_tables_and_feedback_of_one_batch(batch, merged, klass):
    assert_same_results(batch, merged)
    assert_merged_from(merged, [klass / "shard-1", klass / "shard-2"])
    record = json.loads((klass / "shard-2" / shards.RECORD).read_text())
    assert (
        record["shard"] == 2 and record["of"] == 2 and record["students"] == ["forger", "untouched"]
    )
    assert record["kit"] == shards.kit_hash(fingerprint.kit_manifest(ROOT))
    assert record["isolation"] == (batch / reports.ISOLATION_FILE).read_text().strip()
    # each shard is a batch of its own students only
    with open(klass / "shard-1" / "grades.csv") as f:
        assert [line.split(",")[0] for line in f][1:] == ["broken", "reference"]


def copy_shard(source: Path, target: Path, **changes) -> Path:
    shutil.copytree(source, target)
    record = json.loads((target / shards.RECORD).read_text())
    (target / shards.RECORD).write_text(json.dumps({**record, **changes}))
    return target


@pytest.mark.parametrize(
    "case, says",
    [
        ("missing", "shard 2/2 missing"),
        ("twice", "shard 1/2 given twice"),
        ("other kit", "different kits"),
        ("other download", "different downloads"),
        ("overlap", r"students in more than one shard: reference \(1/2, 2/2\)"),
        (
            "not executed",
            "shard 2/2 .* has students not yet executed \\(untouched\\): rerun that shard",
        ),
        ("not a shard", "is not a shard"),
    ],
)
def test_the_merge_refuses_shards_that_are_not_one_class_of_one_kit(
    batch, merged, klass, tmp_path, case, says
):
    one, two = klass / "shard-1", klass / "shard-2"
    parts = {
        "missing": lambda: [one],
        "twice": lambda: [one, one, two],
        "other kit": lambda: [one, copy_shard(two, tmp_path / "two", kit="0" * 64)],
        "other download": lambda: [one, copy_shard(two, tmp_path / "two", download="0" * 64)],
        "overlap": lambda: [
            one,
            copy_shard(two, tmp_path / "two", students=["reference", "untouched"]),
        ],
        "not executed": lambda: [one, copy_shard(two, tmp_path / "two")],
        "not a shard": lambda: [one, batch],
    }[case]()
    if case == "not executed":
        (parts[1] / "course" / "executed" / "untouched" / worker.WORKER_RECORD).unlink()
    with pytest.raises(SystemExit, match=f"refusing to merge: .*{says}"):
        shards.merge(parts, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_a_failed_shard_is_rerun_alone_then_merged(batch, merged, klass, monkeypatch):
    parts = [klass / "shard-1", klass / "shard-2"]
    # as if shard 2's machine had died while grading "forger" (of shard 2, the quicker to grade
    # again: one notebook)
    (klass / "shard-2" / "course" / "executed" / "forger" / worker.WORKER_RECORD).unlink()
    with pytest.raises(SystemExit, match="not yet executed .*rerun that shard"):
        shards.merge(parts, klass / "merged")
    executed = []
    original = worker.execute_student
    monkeypatch.setattr(
        worker,
        "execute_student",
        lambda out, work, student, *rest: (
            executed.append(student) or original(out, work, student, *rest)
        ),
    )
    grade.grade(klass / "submissions", klass / "shard-2", shard=(2, 2))  # the same command again
    assert executed == ["forger"]
    shards.merge(parts, klass / "merged")  # again, on the merged DIR
    assert_same_results(batch, klass / "merged")
    assert_merged_from(klass / "merged", parts)


def test_merging_again_keeps_the_grades_typed_in_formgrader(merged, klass, tmp_path):
    from nbgrader.api import Gradebook

    out = tmp_path / "merged"
    shutil.copytree(merged, out)
    written = {
        c.grade_id for c in gradebook.cells(ROOT / "source" / "hw2") if c.kind == gradebook.MANUAL
    }
    database = f"sqlite:///{out / 'course' / 'gradebook.db'}"
    with Gradebook(database) as gb:
        notebook, cell = next(
            (nb.name, c.name)
            for nb in gb.find_assignment("hw2").notebooks
            for c in nb.grade_cells
            if c.name in written
        )
        typed = gb.find_grade(cell, notebook, "hw2", "reference")
        typed.manual_score = 1.5
        gb.db.commit()
    shards.merge([klass / "shard-1", klass / "shard-2"], out)
    with Gradebook(database) as gb:
        assert gb.find_grade(cell, notebook, "hw2", "reference").manual_score == 1.5
    with open(out / "scores.csv") as f:
        header, *rows = [line.rstrip("\n").split(",") for line in f]
    assert dict(zip(header, next(r for r in rows if r[0] == "reference")))[cell] == "1.5"


def test_a_shard_not_run_as_root_refuses_and_says_what_to_do(klass):
    runuser = shutil.which("runuser", path=os.environ.get("PATH", "") + ":/usr/sbin:/sbin")
    if os.geteuid() != 0 or not runuser:
        pytest.skip("needs root, to run the shard as user nobody")
    # the kit is closed to other users (autograder.sandbox setup): a copy they may read
    kit = Path(tempfile.mkdtemp(prefix="hw2-kit-"))
    try:
        os.chmod(kit, 0o755)
        for name in ("autograder", "lessons", "hw2probes", "hw2utils.py", "hw2checks"):
            copy = shutil.copytree if (ROOT / name).is_dir() else shutil.copy
            copy(ROOT / name, kit / name)
        subprocess.run(["chmod", "-R", "a+rX", str(kit)], check=True)
        result = subprocess.run(
            [
                runuser,
                "-u",
                "nobody",
                "--",
                accounts.python(),
                "-m",
                "autograder.grade",
                str(klass / "submissions"),
                "--out",
                str(kit / "out"),
                "--shard",
                "1/2",
            ],
            cwd=kit,
            env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(kit), "HOME": str(kit)},
            capture_output=True,
            text=True,
            timeout=300,
        )
    finally:
        shutil.rmtree(kit)
    assert result.returncode != 0
    assert "refusing to grade: not running as root" in result.stderr
    assert "Grade as root" in result.stderr and "bash run.sh sandbox" in result.stderr
    assert "--trust-students" in result.stderr


def require_slurm() -> None:
    """Skip unless asked (HW2_SLURM_TEST=1), then unless Slurm's daemons and munge are here
    (fail under CI, which installs them)."""
    if os.environ.get(SLURM_OPT_IN, "0") in ("", "0"):
        pytest.skip("the Slurm test takes minutes: bash run.sh certify tests/test_shards.py")
    missing = [
        tool
        for tool in ("sbatch", "slurmctld", "slurmd", "munged", "mungekey")
        if not shutil.which(tool, path=os.environ.get("PATH", "") + ":/usr/sbin:/sbin")
    ]
    if missing or os.geteuid() != 0:
        message = (
            f"the Slurm test needs {', '.join(missing)}: {SLURM_INSTALL}"
            if missing
            else "the Slurm test starts a one-node cluster as root"
        )
        if os.environ.get("CI"):
            pytest.fail(f"CI is set and {message}", pytrace=False)
        pytest.skip(message)


@pytest.fixture(scope="module")
def slurm(tmp_path_factory):
    """A one-node Slurm cluster on this machine; the environment that reaches it."""
    require_slurm()
    folder = tmp_path_factory.mktemp("slurm")
    env = {
        **os.environ,
        "PATH": os.environ.get("PATH", "") + ":/usr/sbin:/sbin",
        # the jobs run run.sh with this test's virtualenv
        "HW2_VENV": str(Path(sys.executable).parents[1]),
    }
    local = ROOT / "scripts" / "slurm_local.sh"
    subprocess.run(
        ["bash", str(local), "start", str(folder)],
        env=env,
        check=True,
        timeout=120,
        capture_output=True,
    )
    try:
        yield {**env, "SLURM_CONF": str(folder / "slurm.conf")}
    finally:
        subprocess.run(["bash", str(local), "stop", str(folder)], env=env, timeout=60)


def run_on_slurm(
    env, submissions: Path, out: Path, *options: str, array: str = "", timeout: float = 900
) -> None:
    """scripts/slurm_grade.sh into ``out`` with 2 shards, waited for; fails unless its merge
    job completed."""
    args = [*(["--array", array] if array else []), str(submissions), str(out), "2", *options]
    submitted = subprocess.run(
        ["bash", str(ROOT / "scripts" / "slurm_grade.sh"), *args],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    jobs = submitted.stdout.split()
    deadline = time.monotonic() + timeout
    while subprocess.run(
        ["squeue", "-h", "-j", ",".join(jobs)], env=env, capture_output=True, text=True
    ).stdout.strip():
        assert time.monotonic() < deadline, "the Slurm jobs did not finish"
        time.sleep(2)
    state = subprocess.run(
        ["scontrol", "show", "job", jobs[1]], env=env, capture_output=True, text=True
    ).stdout
    logs = "\n".join(p.read_text()[-2000:] for p in out.glob("slurm-*.out"))
    assert "JobState=COMPLETED" in state, f"{state}\n{logs}"


@pytest.mark.certify  # a one-node Slurm cluster, a job array and its merge job: minutes
def test_a_slurm_job_array_and_its_merge_give_one_batch_s_results(batch, klass, slurm):
    out = klass / "slurm"
    started = time.monotonic()
    run_on_slurm(slurm, klass / "submissions", out, "--jobs", "1")
    print(f"\nSlurm: 2-task array and merge: {time.monotonic() - started:.0f} s")
    assert_same_results(batch, out)
    assert_merged_from(out, [out / "shard-1", out / "shard-2"])
    # a shard lost (its node's disk, say): only that task is submitted again, then merged
    shutil.rmtree(out / "shard-2")
    started = time.monotonic()
    run_on_slurm(slurm, klass / "submissions", out, "--jobs", "1", array="2")
    print(f"Slurm: shard 2 again and merge: {time.monotonic() - started:.0f} s")
    assert_same_results(batch, out)
    assert_merged_from(out, [out / "shard-1", out / "shard-2"])
