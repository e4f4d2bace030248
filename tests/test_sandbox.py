"""autograder.sandbox: students' code as an unprivileged user that cannot read the kit, writes
only its scratch folder, and whose processes never outlive their run.

These tests make system users (hw2sandbox0..7) and lock this repository's permissions, as the
grader does: others may no longer read the kit (root, who works in it, is unaffected). They
use slots 6 and 7 only, so that a batch graded at the same time (slots 0..3) is not disturbed.
"""
import os
import shlex
import shutil
import stat
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil
import pytest

from autograder import sandbox

pytestmark = [
    pytest.mark.skipif(sys.platform != "linux" or os.geteuid() != 0,
                       reason="the sandbox makes users and switches to them: needs root on Linux"),
    pytest.mark.skipif(not shutil.which("setpriv"), reason="setpriv (util-linux) is not installed"),
]

ROOT = Path(__file__).resolve().parents[1]
SLOTS = 8
ENV = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}
LIMITS = {"wall": 30, "memory": 2 * sandbox.GiB, "cpu": 30}


@pytest.fixture(scope="session")
def kit():
    """This repository, set up for sandboxed grading (what the grader does first)."""
    sandbox.setup(ROOT, slots=SLOTS)
    return ROOT


@pytest.fixture(scope="session")
def slot(kit):
    return sandbox.slots(SLOTS)[7]


@pytest.fixture(scope="session")
def other(kit):
    return sandbox.slots(SLOTS)[6]


@pytest.fixture(scope="session")
def python(slot):
    """A Python the sandbox user can run (this machine's venv may rest on a Python in /root)."""
    for candidate in (sys.executable, "/usr/bin/python3", shutil.which("python3")):
        if candidate and sandbox.run(slot, [candidate, "-c", ""], "/", ENV, **LIMITS).returncode == 0:
            return candidate
    pytest.skip("no Python here can be run by another user")


@pytest.fixture
def reachable():
    """A folder others may enter (pytest's own tmp_path is root's alone)."""
    folder = Path(tempfile.mkdtemp(prefix="hw2sandbox-test-", dir="/tmp"))
    os.chmod(folder, 0o711)
    yield folder
    shutil.rmtree(folder)


@pytest.fixture
def scratch(slot, reachable):
    return sandbox.make_scratch(slot, reachable / "scratch")


def as_user(slot, script, cwd="/", **limits):
    return sandbox.run(slot, ["/bin/sh", "-c", script], cwd, ENV, **{**LIMITS, **limits})


def alive(uid):
    return [p for p in psutil.process_iter(["uids", "status"])
            if p.info["uids"] and p.info["uids"].real == uid and p.info["status"] != psutil.STATUS_ZOMBIE]


def running(pid):
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


# ---- the kit ---------------------------------------------------------------------------

def test_the_sandbox_user_cannot_read_or_write_the_kit_but_can_use_the_venv(kit, slot, scratch):
    site = sandbox._site_packages(kit)[0]
    script = f"""
    exec 2>/dev/null
    k={shlex.quote(str(kit))}
    test -r "$k/autograder/grade.py" && echo "read grade.py"
    cat "$k/autograder/grade.py" >/dev/null 2>&1 && echo "cat grade.py"
    cat "$k/hw2probes/__init__.py" >/dev/null 2>&1 && echo "cat hw2probes"
    ls "$k" >/dev/null 2>&1 && echo "listed the kit"
    ls "$k/source" >/dev/null 2>&1 && echo "listed source"
    ( : >> "$k/hw2utils.py" ) && echo "opened hw2utils.py to write"
    ( : >> "$k/hw2checks.py" ) && echo "opened hw2checks.py to write"
    touch "$k/planted" 2>/dev/null && echo "wrote in the kit"
    touch "$k/.venv/planted" 2>/dev/null && echo "wrote in .venv"
    touch {shlex.quote(str(site))}/planted.pth 2>/dev/null && echo "wrote in site-packages"
    test -r "$k/.venv/pyvenv.cfg" && echo "venv readable"
    echo mine > {shlex.quote(str(scratch))}/file && echo "wrote scratch"
    """
    outcome = as_user(slot, script)
    for planted in (kit / "planted", kit / ".venv" / "planted", site / "planted.pth"):
        planted.unlink(missing_ok=True)
    assert outcome.output.split("\n") == ["venv readable", "wrote scratch", ""], outcome.output
    assert (scratch / "file").stat().st_uid == slot.uid
    assert stat.S_IMODE(kit.stat().st_mode) == 0o711
    assert os.access(kit / "autograder" / "grade.py", os.R_OK | os.W_OK)  # root works as before


def test_refusal_finds_nothing_on_the_set_up_kit(kit, python):
    assert sandbox.problems(kit, SLOTS, python=python) == []
    assert sandbox.refusal(kit, SLOTS, python=python) is None


def test_a_relative_kit_path_is_tried_where_it_points(kit, python, monkeypatch):
    # `bash run.sh sandbox` passes --kit . and the tries run from /: "." must not mean "/"
    monkeypatch.chdir(kit)
    assert sandbox.refusal(Path("."), SLOTS, python=python) is None


def test_refusal_says_what_is_wrong(kit, monkeypatch):
    missing = sandbox.refusal(kit, 100)
    assert "hw2sandbox99" in missing and "missing" in missing and "hw2sandbox7," not in missing
    assert "cannot run" in sandbox.refusal(kit, 1, python=str(kit / "autograder" / "grade.py"))
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    assert "not running as root" in sandbox.refusal(kit, 1)


def make_kit(folder: Path, python: str = "/usr/bin/python3") -> Path:
    """A tiny kit: one file per protected entry, and a virtualenv with a .pth file."""
    for name in ("autograder/grade.py", "hw2probes/__init__.py", "source/hw2/a.txt", "release/hw2/a.txt",
                 "data/d.txt", "hw2utils.py", "hw2checks.py", "nbgrader_config.py", "requirements.txt",
                 "autograder/__pycache__/grade.cpython-311.pyc", ".venv/lib/python3.11/site-packages/x.pth",
                 ".venv/lib/python3.11/site-packages/mod.py"):
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(name)
    (folder / ".venv" / "pyvenv.cfg").write_text(f"home = {Path(python).parent}\n")
    (folder / ".venv" / "bin").mkdir()
    (folder / ".venv" / "bin" / "python").symlink_to(python)
    return folder


def test_setup_locks_a_kit_once_and_refusal_notices_what_opens_it(reachable, python, slot):
    kit = make_kit(reachable / "kit", python)
    site = kit / ".venv" / "lib" / "python3.11" / "site-packages"
    os.chmod(site / "x.pth", 0o666)
    os.chmod(site / "mod.py", 0o600)
    changes = sandbox.setup(kit, slots=SLOTS)
    assert any("0711" in c for c in changes) and any(".venv" in c for c in changes), changes
    assert stat.S_IMODE((site / "x.pth").stat().st_mode) == 0o644
    assert stat.S_IMODE((site / "mod.py").stat().st_mode) == 0o604
    assert stat.S_IMODE((kit / "autograder" / "grade.py").stat().st_mode) == 0o640
    assert sandbox.setup(kit, slots=SLOTS) == []
    assert sandbox.problems(kit, SLOTS, python=python) == []

    os.chmod(kit / "autograder", 0o755)
    os.chmod(kit / "autograder" / "grade.py", 0o644)
    os.chmod(site, 0o777)
    found = sandbox.refusal(kit, SLOTS, python=python)
    users = ", ".join(sandbox._users(SLOTS))
    assert f"{users} can read {kit}/autograder/grade.py" in found
    assert f"{users} can write {site}" in found


def test_the_manifest_finds_changed_missing_and_added_files(tmp_path):
    kit = make_kit(tmp_path / "kit")
    manifest = sandbox.kit_manifest(kit)
    assert "autograder/grade.py" in manifest and ".venv/lib/python3.11/site-packages/x.pth" in manifest
    assert not any("__pycache__" in p or p.endswith("mod.py") for p in manifest)
    assert sandbox.verify_kit(kit, manifest) == []

    (kit / "autograder" / "grade.py").write_text("tampered")
    (kit / "data" / "d.txt").unlink()
    (kit / ".venv" / "lib" / "python3.11" / "site-packages" / "evil.pth").write_text("import os")
    (kit / ".venv" / "lib" / "python3.11" / "site-packages" / "sitecustomize.py").write_text("")
    os.chmod(kit / ".venv" / "bin", 0o777)
    assert sandbox.verify_kit(kit, manifest) == [
        "changed: autograder/grade.py", "missing: data/d.txt",
        "added: .venv/lib/python3.11/site-packages/evil.pth",
        "added: .venv/lib/python3.11/site-packages/sitecustomize.py",
        "writable by others: .venv/bin"]


# ---- running ---------------------------------------------------------------------------

def test_the_user_has_no_privileges_and_its_limits(slot):
    outcome = sandbox.run(slot, ["/bin/cat", "/proc/self/status", "/proc/self/limits"], "/", ENV,
                          wall=30, memory=1 * sandbox.GiB, cpu=17, nproc=33, fsize=12345)
    status = dict(line.split(":", 1) for line in outcome.output.splitlines() if ":" in line)
    assert status["Uid"].split() == [str(slot.uid)] * 4 and status["Gid"].split() == [str(slot.gid)] * 4
    assert status["Groups"].strip() == "" and status["NoNewPrivs"].strip() == "1"
    assert {status[c].strip() for c in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb")} == {"0" * 16}
    limits = {" ".join(line.split()[:-3]): line.split()[-3:-1] for line in outcome.output.splitlines()
              if line.startswith("Max ")}
    assert limits["Max address space"] == [str(sandbox.GiB)] * 2
    assert limits["Max cpu time"] == ["17", "17"] and limits["Max processes"] == ["33", "33"]
    assert limits["Max file size"] == ["12345", "12345"] and limits["Max core file size"] == ["0", "0"]


@pytest.mark.parametrize("sandboxed", [True, False])
def test_the_environment_is_exactly_what_is_given(sandboxed, slot, monkeypatch):
    monkeypatch.setenv("HW2_GRADER_SECRET", "x")
    outcome = sandbox.run(slot if sandboxed else None, ["/usr/bin/env"], "/",
                          {"PATH": "/usr/bin:/bin", "ONLY": "1"}, **LIMITS)
    assert sorted(outcome.output.splitlines()) == ["ONLY=1", "PATH=/usr/bin:/bin"]
    assert outcome.returncode == 0 and not outcome.timed_out and outcome.survivors_killed == 0


def test_the_other_slot_cannot_read_a_scratch_folder(slot, other, scratch):
    assert as_user(slot, f"echo secret > {scratch}/answer").returncode == 0
    outcome = as_user(other, f"cat {scratch}/answer; ls {scratch}")
    assert "secret" not in outcome.output and outcome.output.count("Permission denied") == 2


def test_a_program_the_user_cannot_reach_does_not_start(slot, reachable):
    private = reachable / "private"
    private.mkdir(mode=0o700)
    shutil.copy("/bin/true", private / "true")
    assert sandbox.run(slot, [str(private / "true")], "/", ENV, **LIMITS).returncode == 126


DAEMON = """
import os, time
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        with open("daemon.new", "w") as file:
            file.write(str(os.getpid()))
        os.rename("daemon.new", "daemon.pid")
        time.sleep(600)
    os._exit(0)
os.wait()
while not os.path.exists("daemon.pid"):
    time.sleep(0.01)
"""


def test_a_process_that_left_the_session_and_double_forked_is_killed(slot, scratch, python):
    outcome = sandbox.run(slot, [python, "-c", DAEMON], scratch, ENV, **LIMITS)
    assert outcome.returncode == 0 and not outcome.timed_out, outcome.output
    assert outcome.survivors_killed == 1
    daemon = int(sandbox.read_file(scratch, "daemon.pid", 100))
    assert not running(daemon) and alive(slot.uid) == []


def test_past_the_wall_time_the_process_is_killed_and_only_the_users(slot, other):
    bystanders = [subprocess.Popen(["sleep", "60"]), subprocess.Popen([*sandbox._drop(other), "sleep", "60"])]
    try:
        started = time.monotonic()
        outcome = sandbox.run(slot, ["/bin/sh", "-c", "echo started; sleep 600; echo never"], "/", ENV,
                              **{**LIMITS, "wall": 1})
        assert outcome.timed_out and outcome.returncode == -9 and outcome.output == "started\n"
        assert outcome.survivors_killed == 1  # the sleep (sh waits for it)
        assert time.monotonic() - started < 10 and alive(slot.uid) == []
        assert [p.poll() for p in bystanders] == [None, None]  # root's, and the other slot's
    finally:
        for process in bystanders:
            process.kill()
            process.wait()


def test_trusted_runs_kill_their_process_tree_after_the_wall_time(reachable):
    outcome = sandbox.run(None, ["/bin/sh", "-c", "sleep 600 & echo $!; sleep 600"], "/", ENV,
                          **{**LIMITS, "wall": 1})
    assert outcome.timed_out and outcome.survivors_killed == 2
    assert not running(int(outcome.output))


BOMB = """
import os, time
while True:
    try:
        os.fork()
    except OSError:
        time.sleep(0.05)
"""


def test_a_fork_bomb_stops_at_the_process_limit_and_dies(slot, python):
    peak, stop = [0], threading.Event()

    def watch():
        while not stop.is_set():
            peak[0] = max(peak[0], len(alive(slot.uid)))
            time.sleep(0.05)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        outcome = sandbox.run(slot, [python, "-c", BOMB], "/", ENV, wall=3, memory=sandbox.GiB, cpu=10, nproc=50)
    finally:
        stop.set()
        watcher.join()
    assert outcome.timed_out and 10 < outcome.survivors_killed < 50 and 10 < peak[0] <= 50
    assert alive(slot.uid) == []


def test_the_output_is_the_merged_tail(slot):
    outcome = as_user(slot, "head -c 100000 /dev/zero | tr '\\0' x; echo; echo END >&2")
    assert len(outcome.output) == sandbox.OUTPUT_CHARS and outcome.output.endswith("x\nEND\n")


# ---- scratch folders and what the sandbox leaves ----------------------------------------

def test_a_scratch_folder_is_the_users_alone_below_a_root_folder(slot, reachable):
    path = sandbox.make_scratch(slot, reachable / "made" / "s")
    assert stat.S_IMODE(path.stat().st_mode) == 0o700 and path.stat().st_uid == slot.uid
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o711 and path.parent.stat().st_uid == 0
    (path / "old").write_text("previous student")
    assert list(sandbox.make_scratch(slot, path).iterdir()) == []
    with pytest.raises(PermissionError, match="not root's alone"):
        sandbox.make_scratch(slot, Path("/tmp/hw2sandbox-test-directly-in-tmp"))


SHARED_MEMORY = """
import ctypes
libc = ctypes.CDLL(None)
print(libc.shmget(0, 4096, 0o1600))  # IPC_PRIVATE, IPC_CREAT | 0600
"""


def test_clean_removes_what_the_user_left_for_the_next_student(slot, scratch, python):
    leftovers = [Path(f"/tmp/hw2sandbox-left-{slot.index}"), Path(f"/var/tmp/hw2sandbox-left-{slot.index}"),
                 Path(f"/dev/shm/hw2sandbox-left-{slot.index}")]
    script = f"touch {leftovers[0]} {scratch}/kept; mkdir {leftovers[1]}; touch {leftovers[1]}/f {leftovers[2]}"
    assert as_user(slot, script).returncode == 0
    segment = sandbox.run(slot, [python, "-c", SHARED_MEMORY], "/", ENV, **LIMITS).output.strip()
    removed = sandbox.clean(slot)
    assert not any(p.exists() for p in leftovers) and (scratch / "kept").exists()
    assert {str(p) for p in leftovers} <= set(removed)
    if os.path.exists("/proc/sysvipc/shm") and shutil.which("ipcrm"):
        assert f"SysV shm {segment}" in removed
    assert sandbox.clean(slot) == []


# ---- reading what the sandbox wrote -----------------------------------------------------

def test_read_file_reads_only_plain_files_within_bounds(tmp_path):
    (tmp_path / "probes").mkdir()
    (tmp_path / "probes" / "a.pt").write_bytes(b"data")
    (tmp_path / "big").write_bytes(b"x" * 101)
    (tmp_path / "shadow").symlink_to("/etc/shadow")
    (tmp_path / "linked").symlink_to(tmp_path / "probes")
    (tmp_path / "small").write_bytes(b"x")
    (tmp_path / "hard").hardlink_to(tmp_path / "small")
    os.mkfifo(tmp_path / "fifo")
    assert sandbox.read_file(tmp_path, "probes/a.pt", 100) == b"data"
    assert sandbox.read_file(tmp_path, "probes/missing.pt", 100) is None
    for relative in ("shadow", "linked/a.pt", "big", "hard", "fifo", "../etc/passwd", "/etc/passwd"):
        with pytest.raises(ValueError):
            sandbox.read_file(tmp_path, relative, 100)
