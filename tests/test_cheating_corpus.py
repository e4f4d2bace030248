"""The cheating corpus (tests/attacks.py) graded through the real, sandboxed batch grader.

One batch serves every test here (about 4 minutes on 2 quiet cores): the reference
(source/hw2, all four notebooks, with an exact EC1 model file), two honest baselines
(``blank``: the untouched release of notebook 1; ``honest``: the release with the reference's
answers pasted in), one student per attack, and three honest victims graded last, beside the
attack that targets them. Each attack must earn no point beyond its honest baseline on any
grade id, crash neither its own grading nor that of a student graded at the same time, read
nothing the sandbox hides, and be named in the report where the grader can see it; the
reference keeps every point; the kit is byte-identical afterwards; no process of the sandbox's
users, and no file they left in the shared temporary folders, survives the batch.

The batch's folder is made readable by other users (as ``mkdir`` makes a folder with umask
022): the grader must keep its output (gradebook, staged hand-ins, graded notebooks) from the
sandbox itself. The submissions folder is private (the instructor's download).

Needs root and ``python -m autograder.sandbox setup`` (else these tests skip). Others editing
the kit during the batch make the grader stop (KitChanged): rerun then.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import json
import os
import shutil
import socketserver
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import psutil
import pytest

import attacks as corpus
import hw2utils
from autograder import grade, gradebook, reports, worker
from autograder.limits import GiB, Limits
from autograder.sandbox import accounts, aftermath, provision
from ec_networks import rule_network  # tests/: an exact EC1 network, no training

# certifies the grader against every attack; its class is graded once for all of it: about 10
# minutes on 2 cores
pytestmark = [pytest.mark.certify, pytest.mark.sandbox]

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "source" / "hw2"
NOTEBOOKS = ("01_gradient_descent", "02_ema_adam", "03_training", "04_initialization")
JOBS = 2
LIMITS = Limits(wall=240, cpu=480, memory=int(3 * GiB), threads=1, cell=60)
MIN_ATTACKS = 32
BASELINE = {"release": "blank", "answers": "honest"}
VICTIMS = ("y_victim_1", "y_victim_2", "y_victim_3")  # honest, graded last, beside tmp_churn
# HW2_CORPUS_ONLY=name,name grades only those attacks (and the reference, baselines, victims):
# a quick run while working on one family; the default, and CI, grade the whole corpus.
ONLY = {name for name in os.environ.get("HW2_CORPUS_ONLY", "").split(",") if name}
GRADED = [a for a in corpus.ATTACKS if not ONLY or a.name in ONLY]


def student_of(attack: corpus.Attack) -> str:
    """Students are graded in name order, two at a time: the first attacks (those that harm
    others) run while the reference, graded right before them, is still running."""
    return f"x{corpus.ATTACKS.index(attack):02d}_{attack.name}"


def build_class(subs: Path) -> None:
    """The reference, the two baselines and one student per attack, in ``subs``."""
    shutil.copytree(
        SOURCE, subs / "reference", ignore=shutil.ignore_patterns("data", "*.py", "*.md")
    )
    hw2utils._write_ec_model(
        rule_network(), subs / "reference" / "ec_transfer_model.pt", saved_by="save_ec_model"
    )
    for student, base in (
        ("blank", "release"),
        ("honest", "answers"),
        *((v, "answers") for v in VICTIMS),
    ):
        (subs / student).mkdir()
        (subs / student / f"{corpus.NB1}.ipynb").write_text(
            json.dumps(corpus.base_notebook(base, corpus.NB1))
        )
    for attack in GRADED:
        corpus.write_submission(attack, subs / student_of(attack))


def kit_digest() -> dict[str, str]:
    """{path: sha256} of every file of the kit that git sees (tracked, or untracked and not
    ignored) and of what every start of the grader's and the sandbox's interpreters runs:
    their site-packages' *.pth, sitecustomize and usercustomize."""
    listed = (
        subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=ROOT,
            capture_output=True,
            check=True,
        )
        .stdout.decode()
        .split("\0")
    )
    paths = [ROOT / p for p in listed if p]
    for prefix in {ROOT / ".venv", Path(accounts.python()).parent.parent}:
        for site in prefix.glob("lib/python*/site-packages"):
            paths += [
                p
                for pattern in ("*.pth", "sitecustomize*", "usercustomize*")
                for p in site.glob(pattern)
            ]
    return {
        str(p): hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "missing"
        for p in paths
    }


class Graded:
    def __init__(self, out: Path, kit_before: dict, kit_after: dict, slots: list, times: dict):
        self.out, self.kit_before, self.kit_after = out, kit_before, kit_after
        self.slots = slots  # the sandbox slots the batch ran in
        self.times = times  # {student: (start, end)} of its execution, monotonic seconds
        with open(out / "scores.csv") as f:
            self.scores = {row.pop("student"): row for row in csv.DictReader(f)}
        with open(out / "grades.csv") as f:
            self.grades = {row["student"]: row for row in csv.DictReader(f)}
        self.isolation = (
            out / reports.ISOLATION_FILE
        ).read_text()  # the mode that graded the batch

    @contextlib.contextmanager
    def gap(self, attack: corpus.Attack):
        """An assertion about an attack that only a stronger isolation than this batch's stops
        (``attack.needs``): where it fails, an expected failure (xfail) saying what got through."""
        try:
            yield
        except AssertionError as failure:
            if attack.needs and attack.needs not in self.isolation.split(";")[0]:
                pytest.xfail(
                    f"{attack.name} needs {attack.needs}; this batch ran with "
                    f"{self.isolation.strip()}: {str(failure)[:300]}"
                )
            raise

    def score(self, student: str, grade_id: str) -> float | None:
        value = self.scores[student][grade_id]
        return None if value == "" else float(value)

    def report(self, student: str) -> str:
        """What the instructor reads about ``student``: problems and flags."""
        row = self.grades[student]
        return f"{row['problems']}\n{row['flags']}"

    def beside(self, student: str) -> list[str]:
        """The students whose execution overlapped ``student``'s."""
        start, end = self.times[student]
        return [s for s, (a, b) in self.times.items() if s != student and a < end and b > start]

    def outputs(self, student: str) -> str:
        """The text of every output of the student's graded notebooks."""
        texts = []
        for path in sorted((self.out / "course" / "autograded" / student / "hw2").glob("*.ipynb")):
            for cell in json.loads(path.read_text())["cells"]:
                texts += [json.dumps(output) for output in cell.get("outputs", [])]
        return "\n".join(texts)


@pytest.fixture(scope="module")
def graded():
    if why := provision.refusal(ROOT, JOBS):
        pytest.skip(f"sandboxed grading is impossible here: {why}")
    base = Path(tempfile.mkdtemp(prefix="hw2-corpus-", dir="/tmp"))
    try:
        os.chmod(base, 0o755)  # an instructor's folder as mkdir makes it
        subs = base / "submissions"
        build_class(subs)
        os.chmod(subs, 0o700)
        Path(corpus.PWNED).unlink(missing_ok=True)
        before, slots, times = kit_digest(), [], {}
        with pytest.MonkeyPatch.context() as patch, local_service(), unlocked_clone():
            patch.setattr(accounts, "claim", _recording(accounts.claim, slots))
            patch.setattr(worker, "execute_student", _timed(worker.execute_student, times))
            grade.grade(subs, base / "out", jobs=JOBS, limits=LIMITS, feedback=False)
        yield Graded(base / "out", before, kit_digest(), slots, times)
    finally:
        shutil.rmtree(base, ignore_errors=True)


@contextlib.contextmanager
def local_service():
    """A service on this machine, on every address (attack reach_the_network)."""

    class Handler(socketserver.BaseRequestHandler):
        def handle(self):
            self.request.sendall(corpus.LOCAL_SECRET.encode())

    socketserver.ThreadingTCPServer.allow_reuse_address = True
    with socketserver.ThreadingTCPServer(("0.0.0.0", corpus.LOCAL_PORT), Handler) as server:
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield
        finally:
            server.shutdown()


@contextlib.contextmanager
def unlocked_clone():
    """An instructor's ordinary working copy of the course's source, readable by all
    (attack read_unlocked_clone)."""
    clone = Path(corpus.CLONE)
    shutil.rmtree(clone, ignore_errors=True)
    shutil.copytree(SOURCE, clone / "source" / "hw2", ignore=shutil.ignore_patterns("data"))
    for path in [clone, *clone.rglob("*")]:
        os.chmod(path, 0o755 if path.is_dir() else 0o644)
    try:
        yield
    finally:
        shutil.rmtree(clone, ignore_errors=True)


def _recording(claim, slots: list):
    """``accounts.claim`` that also puts the slots it hands out in ``slots`` (another batch
    on this machine may hold the first ones)."""

    @contextlib.contextmanager
    def recording(*args, **kwargs):
        with claim(*args, **kwargs) as held:
            slots.extend(held)
            yield held

    return recording


def _timed(execute_student, times: dict):
    """``worker.execute_student`` that also puts each student's (start, end) in ``times``."""

    def timed(out, work, student, *args):
        start = time.monotonic()
        try:
            return execute_student(out, work, student, *args)
        finally:
            times[student] = (start, time.monotonic())

    return timed


def _nbgrader_cells(notebook: str) -> dict[str, dict]:
    nb = corpus.load(SOURCE, notebook)
    return {corpus.grade_id(c): corpus.nbgrader(c) for c in nb["cells"] if corpus.grade_id(c)}


CELLS = {name: _nbgrader_cells(name) for name in NOTEBOOKS}
# what each test cell is worth: its points, or for extra credit what it earns on top
AUTOGRADED = {c.grade_id: c.points for c in gradebook.cells(SOURCE) if c.kind != gradebook.MANUAL}


def cases(attacks=GRADED):
    """The attacks graded in this run, as test parameters."""
    return [pytest.param(a, id=a.name) for a in attacks]


# Without grading: the corpus itself --------------------------------------------------------


def test_the_corpus_is_large_covers_every_family_and_builds(tmp_path):
    names = [a.name for a in corpus.ATTACKS]
    assert len(names) >= MIN_ATTACKS and len(set(names)) == len(names)
    assert {a.family for a in corpus.ATTACKS} == set(corpus.FAMILIES)
    assert all(
        a.base in BASELINE and a.notebook in NOTEBOOKS and a.how.strip() for a in corpus.ATTACKS
    )
    assert (
        sum(a.notebook == corpus.NB1 for a in corpus.ATTACKS) > len(corpus.ATTACKS) * 3 / 4
    )  # fast
    build_class(tmp_path / "class")
    for attack in GRADED:
        handed_in = corpus.load(tmp_path / "class" / student_of(attack), attack.notebook)
        assert handed_in != corpus.base_notebook(attack.base, attack.notebook) or attack.files, (
            attack.name
        )


# Graded ------------------------------------------------------------------------------------


def test_the_reference_keeps_every_point(graded):
    for grade_id, points in AUTOGRADED.items():
        assert graded.score("reference", grade_id) == points, (grade_id, graded.report("reference"))


def test_the_baselines_score_as_honest_work_does(graded):
    for grade_id in AUTOGRADED:
        assert graded.score("blank", grade_id) == 0, grade_id
        expected = AUTOGRADED[grade_id] if grade_id in CELLS[corpus.NB1] else 0
        assert graded.score("honest", grade_id) == expected, (grade_id, graded.report("honest"))
    assert not graded.grades["honest"]["flags"] and not graded.grades["blank"]["flags"]


@pytest.mark.parametrize("attack", cases([a for a in GRADED if a.name.startswith("honest_")]))
def test_honest_entries_keep_their_baselines_score(graded, attack):
    """Entries named honest_* are honest code (a comparison with torch.optim): they lose nothing."""
    student, honest = student_of(attack), BASELINE[attack.base]
    lost = {
        gid: (graded.score(student, gid), graded.score(honest, gid))
        for gid in graded.scores[student]
        if (graded.score(student, gid) or 0) < (graded.score(honest, gid) or 0)
    }
    assert not lost and not graded.grades[student]["flags"], (lost, graded.report(student))


@pytest.mark.parametrize("attack", cases())
def test_an_attack_earns_no_point_beyond_honest_work(graded, attack):
    student, honest = student_of(attack), BASELINE[attack.base]
    gained = {
        gid: (graded.score(student, gid), graded.score(honest, gid))
        for gid in graded.scores[student]
        if (graded.score(student, gid) or 0) > (graded.score(honest, gid) or 0)
    }
    with graded.gap(attack):
        assert not gained, f"{attack.name} ({attack.how}) gained (got, honest): {gained}"


@pytest.mark.parametrize("attack", cases())
def test_an_attack_crashes_the_grading_of_nobody(graded, attack):
    """Neither the attacker's grading nor that of a student graded at the same time crashed."""
    student = student_of(attack)
    crashed = [
        s for s in [student, *graded.beside(student)] if "grading crashed" in graded.report(s)
    ]
    assert not crashed, {s: graded.report(s)[-300:] for s in crashed}


@pytest.mark.parametrize("attack", cases([a for a in GRADED if a.flag]))
def test_what_the_grader_can_see_is_reported(graded, attack):
    report = graded.report(student_of(attack))
    missing = [flag for flag in attack.flags() if flag not in report]
    with graded.gap(attack):
        assert not missing, f"{attack.name}: the report does not say {missing}:\n{report}"


@pytest.mark.parametrize("attack", cases())
def test_nothing_hidden_reaches_an_attack(graded, attack):
    outputs = graded.outputs(student_of(attack))
    leaked = [line[:300] for line in outputs.splitlines() if corpus.LEAK in line]
    with graded.gap(attack):
        assert not leaked, f"{attack.name} read what the sandbox must hide: {leaked}"


def test_no_attack_ran_code_as_root(graded):
    assert not os.path.exists(corpus.PWNED)


def test_the_kit_is_byte_identical(graded):
    changed = {
        p
        for p in graded.kit_before.keys() | graded.kit_after.keys()
        if graded.kit_before.get(p) != graded.kit_after.get(p)
    }
    assert not changed


def test_no_process_or_file_of_the_sandbox_survives(graded):
    uids = {slot.uid for slot in graded.slots}
    assert len(uids) == JOBS
    alive = [
        p.info
        for p in psutil.process_iter(["pid", "uids", "status", "cmdline"])
        if p.info["uids"]
        and p.info["uids"].real in uids
        and p.info["status"] != psutil.STATUS_ZOMBIE
    ]
    assert not alive
    marked = [
        p.info
        for p in psutil.process_iter(["pid", "cmdline"])
        if corpus.MARKER in (p.info["cmdline"] or [])
    ]
    assert not marked
    left = [
        entry.path
        for top in aftermath.TEMPORARY
        if os.path.isdir(top)
        for entry in os.scandir(top)
        if entry.stat(follow_symlinks=False).st_uid in uids
    ]
    assert not left
    header, *rows = Path("/proc/sysvipc/shm").read_text().splitlines()
    segments = [dict(zip(header.split(), row.split())) for row in rows]
    assert not [s for s in segments if {s["uid"], s["cuid"]} & {str(uid) for uid in uids}]
