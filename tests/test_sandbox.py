"""autograder.sandbox: students' code as an unprivileged user that cannot read the kit, writes
only its scratch folder, and whose processes never outlive their run.

These tests make system users (hw2sandbox0..7) and lock this repository's permissions, as the
grader does: others may no longer read the kit (root, who works in it, is unaffected). They
use slots 6 and 7 only, so that a batch graded at the same time (slots 0..3) is not disturbed.
"""

import contextlib
import json
import os
import shlex
import shutil
import socketserver
import stat
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil
import pytest

from autograder.limits import GiB
from autograder.sandbox import accounts, aftermath, confinement, fingerprint, provision

pytestmark = [
    pytest.mark.sandbox,
    pytest.mark.skipif(
        sys.platform != "linux" or os.geteuid() != 0,
        reason="the sandbox makes users and switches to them: needs root on Linux",
    ),
    pytest.mark.skipif(not shutil.which("setpriv"), reason="setpriv (util-linux) is not installed"),
]

ROOT = Path(__file__).resolve().parents[1]
SLOTS = 8
ENV = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}
LIMITS = {"wall": 30, "memory": 2 * GiB, "cpu": 30}


@pytest.fixture(scope="session")
def kit():
    """This repository, set up for sandboxed grading (what the grader does first)."""
    provision.setup(ROOT, slots=SLOTS)
    return ROOT


@pytest.fixture(scope="session")
def slot(kit):
    return accounts.slots(SLOTS)[7]


@pytest.fixture(scope="session")
def other(kit):
    return accounts.slots(SLOTS)[6]


@pytest.fixture(scope="session")
def python(slot):
    """A Python the sandbox user can run (this machine's venv may rest on a Python in /root)."""
    for candidate in (sys.executable, "/usr/bin/python3", shutil.which("python3")):
        if (
            candidate
            and confinement.run(slot, [candidate, "-c", ""], "/", ENV, **LIMITS).returncode == 0
        ):
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
    return accounts.make_scratch(slot, reachable / "scratch")


USERS_ONLY = confinement.Isolation(
    None, False
)  # the fallback: what the users and permissions alone do


def as_user(slot, script, cwd="/", **limits):
    return confinement.run(slot, ["/bin/sh", "-c", script], cwd, ENV, **{**LIMITS, **limits})


@pytest.fixture(scope="session")
def here(slot):
    """What this machine allows (probed once)."""
    return confinement.isolation(slot)


@pytest.fixture
def needs_cgroup(here):
    if not here.cgroup:
        pytest.skip(f"no cgroup for the sandbox here: {here}")


@pytest.fixture
def needs_namespaces(here):
    if not here.namespaces:
        pytest.skip(f"no namespaces for the sandbox here: {here}")


def alive(uid):
    return [
        p
        for p in psutil.process_iter(["uids", "status"])
        if p.info["uids"]
        and p.info["uids"].real == uid
        and p.info["status"] != psutil.STATUS_ZOMBIE
    ]


def running(pid):
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


# ---- the kit ---------------------------------------------------------------------------


def test_the_sandbox_user_cannot_read_or_write_the_kit_but_can_use_the_venv(kit, slot, scratch):
    site = fingerprint.site_packages(kit)[0]
    script = f"""
    exec 2>/dev/null
    k={shlex.quote(str(kit))}
    test -r "$k/autograder/grade.py" && echo "read grade.py"
    cat "$k/autograder/grade.py" >/dev/null 2>&1 && echo "cat grade.py"
    cat "$k/hw2probes/__init__.py" >/dev/null 2>&1 && echo "cat hw2probes"
    cat "$k/lessons/rules.py" >/dev/null 2>&1 && echo "cat the dataset rule"
    ls "$k" >/dev/null 2>&1 && echo "listed the kit"
    ls "$k/source" >/dev/null 2>&1 && echo "listed source"
    ( : >> "$k/hw2utils.py" ) && echo "opened hw2utils.py to write"
    ( : >> "$k/hw2checks/part1.py" ) && echo "opened hw2checks to write"
    touch "$k/planted" 2>/dev/null && echo "wrote in the kit"
    touch "$k/.venv/planted" 2>/dev/null && echo "wrote in .venv"
    touch {shlex.quote(str(site))}/planted.pth 2>/dev/null && echo "wrote in site-packages"
    test -r "$k/.venv/pyvenv.cfg" && echo "venv readable"
    echo mine > {shlex.quote(str(scratch))}/file && echo "wrote scratch"
    """
    outcome = as_user(
        slot, script, confine=USERS_ONLY
    )  # the permissions alone (namespaces hide the kit)
    for planted in (kit / "planted", kit / ".venv" / "planted", site / "planted.pth"):
        planted.unlink(missing_ok=True)
    assert outcome.output.split("\n") == ["venv readable", "wrote scratch", ""], outcome.output
    assert (scratch / "file").stat().st_uid == slot.uid
    assert stat.S_IMODE(kit.stat().st_mode) == 0o711
    assert os.access(kit / "autograder" / "grade.py", os.R_OK | os.W_OK)  # root works as before


def test_refusal_finds_nothing_on_the_set_up_kit(kit, python):
    assert provision.problems(kit, SLOTS, python=python) == []
    assert provision.refusal(kit, SLOTS, python=python) is None


def test_a_relative_kit_path_is_tried_where_it_points(kit, python, monkeypatch):
    # `bash run.sh sandbox` passes --kit . and the tries run from /: "." must not mean "/"
    monkeypatch.chdir(kit)
    assert provision.refusal(Path("."), SLOTS, python=python) is None


def test_refusal_says_what_is_wrong(kit, monkeypatch):
    missing = provision.refusal(kit, 100)
    assert "hw2sandbox99" in missing and "missing" in missing and "hw2sandbox7," not in missing
    assert "cannot run" in provision.refusal(kit, 1, python=str(kit / "autograder" / "grade.py"))
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    assert "not running as root" in provision.refusal(kit, 1)


def make_kit(folder: Path, python: str = "/usr/bin/python3") -> Path:
    """A tiny kit: one file per protected entry, and a virtualenv with a .pth file."""
    for name in (
        "autograder/grade.py",
        "lessons/rules.py",
        "hw2probes/__init__.py",
        "source/hw2/a.txt",
        "release/hw2/a.txt",
        "data/d.txt",
        "hw2utils.py",
        "hw2checks/part1.py",
        "nbgrader_config.py",
        "requirements.txt",
        "autograder/__pycache__/grade.cpython-311.pyc",
        ".venv/lib/python3.11/site-packages/x.pth",
        ".venv/lib/python3.11/site-packages/mod.py",
    ):
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
    changes = provision.setup(kit, slots=SLOTS)
    assert any("0711" in c for c in changes) and any(".venv" in c for c in changes), changes
    assert stat.S_IMODE((site / "x.pth").stat().st_mode) == 0o644
    assert stat.S_IMODE((site / "mod.py").stat().st_mode) == 0o604
    assert stat.S_IMODE((kit / "autograder" / "grade.py").stat().st_mode) == 0o640
    assert stat.S_IMODE((kit / "lessons" / "rules.py").stat().st_mode) == 0o640
    assert provision.setup(kit, slots=SLOTS) == []
    assert provision.problems(kit, SLOTS, python=python) == []

    os.chmod(kit / "autograder", 0o755)
    os.chmod(kit / "autograder" / "grade.py", 0o644)
    os.chmod(site, 0o777)
    found = provision.refusal(kit, SLOTS, python=python)
    users = ", ".join(accounts.user_names(SLOTS))
    assert f"{users} can read {kit}/autograder/grade.py" in found
    assert f"{users} can write {site}" in found


def test_the_manifest_finds_changed_missing_and_added_files(tmp_path):
    kit = make_kit(tmp_path / "kit")
    manifest = fingerprint.kit_manifest(kit)
    assert "autograder/grade.py" in manifest and "lessons/rules.py" in manifest
    assert ".venv/lib/python3.11/site-packages/x.pth" in manifest
    assert not any("__pycache__" in p or p.endswith("mod.py") for p in manifest)
    assert fingerprint.verify_kit(kit, manifest) == []

    (kit / "autograder" / "grade.py").write_text("tampered")
    (kit / "data" / "d.txt").unlink()
    (kit / ".venv" / "lib" / "python3.11" / "site-packages" / "evil.pth").write_text("import os")
    (kit / ".venv" / "lib" / "python3.11" / "site-packages" / "sitecustomize.py").write_text("")
    os.chmod(kit / ".venv" / "bin", 0o777)
    assert fingerprint.verify_kit(kit, manifest) == [
        "changed: autograder/grade.py",
        "missing: data/d.txt",
        "added: .venv/lib/python3.11/site-packages/evil.pth",
        "added: .venv/lib/python3.11/site-packages/sitecustomize.py",
        "writable by others: .venv/bin",
    ]


# ---- running ---------------------------------------------------------------------------


def test_the_user_has_no_privileges_and_its_limits(slot):
    outcome = confinement.run(
        slot,
        ["/bin/cat", "/proc/self/status", "/proc/self/limits"],
        "/",
        ENV,
        wall=30,
        memory=1 * GiB,
        cpu=17,
        nproc=33,
        fsize=12345,
    )
    status = dict(line.split(":", 1) for line in outcome.output.splitlines() if ":" in line)
    assert (
        status["Uid"].split() == [str(slot.uid)] * 4
        and status["Gid"].split() == [str(slot.gid)] * 4
    )
    assert status["Groups"].strip() == "" and status["NoNewPrivs"].strip() == "1"
    assert {status[c].strip() for c in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb")} == {
        "0" * 16
    }
    limits = {
        " ".join(line.split()[:-3]): line.split()[-3:-1]
        for line in outcome.output.splitlines()
        if line.startswith("Max ")
    }
    assert limits["Max address space"] == [str(GiB)] * 2
    assert limits["Max cpu time"] == ["17", "17"] and limits["Max processes"] == ["33", "33"]
    assert limits["Max file size"] == ["12345", "12345"] and limits["Max core file size"] == [
        "0",
        "0",
    ]


@pytest.mark.parametrize("sandboxed", [True, False])
def test_the_environment_is_exactly_what_is_given(sandboxed, slot, monkeypatch):
    monkeypatch.setenv("HW2_GRADER_SECRET", "x")
    outcome = confinement.run(
        slot if sandboxed else None,
        ["/usr/bin/env"],
        "/",
        {"PATH": "/usr/bin:/bin", "ONLY": "1"},
        **LIMITS,
    )
    assert sorted(outcome.output.splitlines()) == ["ONLY=1", "PATH=/usr/bin:/bin"]
    assert outcome.returncode == 0 and not outcome.timed_out and outcome.survivors_killed == 0


@pytest.mark.parametrize(
    "confine", [None, USERS_ONLY], ids=["this machine's isolation", "users only"]
)
def test_the_other_slot_cannot_read_a_scratch_folder(slot, other, scratch, confine):
    assert (
        as_user(slot, f"echo secret > {scratch}/answer", cwd=scratch, confine=confine).returncode
        == 0
    )
    outcome = as_user(other, f"cat {scratch}/answer; ls {scratch}", confine=confine)
    # users alone: permission denied; in namespaces the folder is not even there
    assert "secret" not in outcome.output
    assert outcome.output.count("Permission denied") + outcome.output.count("No such file") == 2, (
        outcome.output
    )


def test_a_program_the_user_cannot_reach_does_not_start(slot, reachable):
    private = reachable / "private"
    private.mkdir(mode=0o700)
    shutil.copy("/bin/true", private / "true")
    assert (
        confinement.run(
            slot, [str(private / "true")], "/", ENV, **LIMITS, confine=USERS_ONLY
        ).returncode
        == 126
    )
    assert confinement.run(slot, [str(private / "true")], "/", ENV, **LIMITS).returncode in (
        126,
        127,
    )  # 127: not in the view


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
    outcome = confinement.run(slot, [python, "-c", DAEMON], scratch, ENV, **LIMITS)
    assert outcome.returncode == 0 and not outcome.timed_out, outcome.output
    assert outcome.survivors_killed == 1
    assert alive(slot.uid) == []
    if outcome.mode == confinement.USERS:  # in namespaces the daemon wrote its pid there
        assert not running(int(aftermath.read_file(scratch, "daemon.pid", 100)))


def test_past_the_wall_time_the_process_is_killed_and_only_the_users(slot, other):
    bystanders = [
        subprocess.Popen(["sleep", "60"]),
        subprocess.Popen([*accounts.drop(other), "sleep", "60"]),
    ]
    try:
        started = time.monotonic()
        outcome = confinement.run(
            slot,
            ["/bin/sh", "-c", "echo started; sleep 600; echo never"],
            "/",
            ENV,
            **{**LIMITS, "wall": 1},
        )
        assert outcome.timed_out and outcome.returncode == -9 and outcome.output == "started\n"
        assert outcome.survivors_killed == 1  # the sleep (sh waits for it)
        assert time.monotonic() - started < 10 and alive(slot.uid) == []
        assert [p.poll() for p in bystanders] == [None, None]  # root's, and the other slot's
    finally:
        for process in bystanders:
            process.kill()
            process.wait()


def test_trusted_runs_kill_their_process_tree_after_the_wall_time(reachable):
    outcome = confinement.run(
        None, ["/bin/sh", "-c", "sleep 600 & echo $!; sleep 600"], "/", ENV, **{**LIMITS, "wall": 1}
    )
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
        outcome = confinement.run(
            slot, [python, "-c", BOMB], "/", ENV, wall=3, memory=GiB, cpu=10, nproc=50
        )
    finally:
        stop.set()
        watcher.join()
    assert outcome.timed_out and 10 < outcome.survivors_killed < 50 and 10 < peak[0] <= 50
    assert alive(slot.uid) == []


def test_the_output_is_the_merged_tail(slot):
    outcome = as_user(slot, "head -c 100000 /dev/zero | tr '\\0' x; echo; echo END >&2")
    assert len(outcome.output) == confinement.OUTPUT_CHARS and outcome.output.endswith("x\nEND\n")


# ---- scratch folders and what the sandbox leaves ----------------------------------------


def test_a_scratch_folder_is_the_users_alone_below_a_root_folder(slot, reachable):
    path = accounts.make_scratch(slot, reachable / "made" / "s")
    assert stat.S_IMODE(path.stat().st_mode) == 0o700 and path.stat().st_uid == slot.uid
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o711 and path.parent.stat().st_uid == 0
    (path / "old").write_text("previous student")
    assert list(accounts.make_scratch(slot, path).iterdir()) == []
    with pytest.raises(PermissionError, match="not root's alone"):
        accounts.make_scratch(slot, Path("/tmp/hw2sandbox-test-directly-in-tmp"))


SHARED_MEMORY = """
import ctypes
libc = ctypes.CDLL(None)
print(libc.shmget(0, 4096, 0o1600))  # IPC_PRIVATE, IPC_CREAT | 0600
"""


def test_clean_removes_what_the_user_left_for_the_next_student(slot, scratch, python):
    leftovers = [
        Path(f"/tmp/hw2sandbox-left-{slot.index}"),
        Path(f"/var/tmp/hw2sandbox-left-{slot.index}"),
        Path(f"/dev/shm/hw2sandbox-left-{slot.index}"),
    ]
    script = f"touch {leftovers[0]} {scratch}/kept; mkdir {leftovers[1]}; touch {leftovers[1]}/f {leftovers[2]}"
    # users alone: the shared folders are the machine's (in namespaces they are private, see below)
    assert as_user(slot, script, confine=USERS_ONLY).returncode == 0
    segment = confinement.run(
        slot, [python, "-c", SHARED_MEMORY], "/", ENV, **LIMITS, confine=USERS_ONLY
    ).output.strip()
    removed = aftermath.clean(slot)
    assert not any(p.exists() for p in leftovers) and (scratch / "kept").exists()
    assert {str(p) for p in leftovers} <= set(removed)
    if os.path.exists("/proc/sysvipc/shm") and shutil.which("ipcrm"):
        assert f"SysV shm {segment}" in removed
    assert aftermath.clean(slot) == []


# ---- isolation: the slot's cgroup and namespaces ------------------------------------------

FANOUT = """
import subprocess, sys
touch = "import time; block = bytearray(b'x') * (300 * 2**20); time.sleep(3)"
children = [subprocess.Popen([sys.executable, "-c", touch]) for _ in range(4)]
print("statuses", [child.wait() for child in children])
"""


def test_the_cgroup_bounds_all_processes_together_and_kills_past_it(slot, python, needs_cgroup):
    limit, peak, stop = 512 * 2**20, [0], threading.Event()

    def watch():  # the resident memory of all the user's processes, summed
        while not stop.is_set():
            total = 0
            for process in alive(slot.uid):
                with contextlib.suppress(psutil.Error):
                    total += process.memory_info().rss
            peak[0] = max(peak[0], total)
            time.sleep(0.02)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:  # four processes of 300 MiB each, each well within its own address-space limit
        outcome = confinement.run(
            slot, [python, "-c", FANOUT], "/", ENV, wall=60, memory=limit, cpu=30
        )
    finally:
        stop.set()
        watcher.join()
    statuses = json.loads(outcome.output.split("statuses", 1)[1])
    assert outcome.returncode == 0 and 2 <= statuses.count(-9) <= 4, outcome.output
    assert outcome.oom_kills >= statuses.count(-9) and outcome.memory_limit_reached
    assert 300 * 2**20 < outcome.memory_peak <= limit
    assert (
        300 * 2**20 < peak[0] <= limit + 64 * 2**20
    )  # RSS counts the shared libraries once per process
    assert not any(
        folder.exists()
        for folder in confinement._Cgroup.parents()[0]
        for folder in [folder / f"{accounts.USER_PREFIX}{slot.index}"]
    )


def test_a_run_within_the_bound_reports_its_peak(slot, python, needs_cgroup):
    outcome = confinement.run(
        slot, [python, "-c", "block = bytearray(b'x') * (100 * 2**20)"], "/", ENV, **LIMITS
    )
    assert outcome.returncode == 0 and not outcome.memory_limit_reached and outcome.oom_kills == 0
    assert 100 * 2**20 < outcome.memory_peak < 300 * 2**20


def test_the_students_processes_are_the_oom_killers_first_choice(slot):
    outcome = as_user(
        slot,
        "cat /proc/self/oom_score_adj; (echo 0 > /proc/self/oom_score_adj) 2>/dev/null && echo lowered",
    )
    assert outcome.output.split()[0] == str(confinement.OOM_SCORE_ADJ)
    # set by a root that holds CAP_SYS_RESOURCE, it is also the least the user may set
    capabilities = int(
        dict(line.split(":\t") for line in Path("/proc/self/status").read_text().splitlines())[
            "CapEff"
        ],
        16,
    )
    if capabilities & (1 << 24):
        assert "lowered" not in outcome.output


class _Secret(socketserver.BaseRequestHandler):
    def handle(self):
        self.request.sendall(b"local secret")


@pytest.fixture
def local_service():
    """A service on this machine, on every address; its port."""
    with socketserver.ThreadingTCPServer(("0.0.0.0", 0), _Secret) as server:
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        yield server.server_address[1]
        server.shutdown()


LOOK_AROUND = """
import json, os, socket, sys
kit, port = sys.argv[1], int(sys.argv[2])
def attempt(action):
    try:
        return action()
    except OSError as error:
        return type(error).__name__
def reach(host):
    with socket.create_connection((host, port), timeout=3) as connection:
        return connection.recv(100).decode()
pids = sorted(int(p) for p in os.listdir("/proc") if p.isdigit())
for folder in ("/tmp", "/dev/shm"):
    attempt(lambda: open(os.path.join(folder, "hw2sandbox-test-private"), "w").close())
open("wrote-in-scratch", "w").close()
print(json.dumps({
    "pids": pids[:5],
    "grader": any(("py" + "test") in str(attempt(lambda: open(f"/proc/{p}/cmdline", "rb").read().decode(
                      errors="replace"))) for p in pids),
    "kit_source": os.path.exists(os.path.join(kit, "source")), "root": os.path.exists("/root"),
    "home": os.path.exists("/home"), "tmp": os.listdir("/tmp"),
    "loopback": attempt(lambda: reach("127.0.0.1")), "host": attempt(lambda: reach(socket.gethostname())),
    "public": attempt(lambda: socket.create_connection(("1.1.1.1", 53), timeout=3).close()),
}))
"""


@pytest.mark.parametrize("namespaces", [True, False], ids=["namespaces", "users only"])
def test_namespaces_hide_the_file_system_the_network_and_other_processes(
    namespaces, slot, scratch, python, kit, local_service, here
):
    if namespaces and not here.namespaces:
        pytest.skip(f"no namespaces for the sandbox here: {here}")
    confine = confinement.Isolation(here.cgroup, namespaces)
    private = [Path(folder) / "hw2sandbox-test-private" for folder in ("/tmp", "/dev/shm")]
    try:
        outcome = confinement.run(
            slot,
            [python, "-c", LOOK_AROUND, str(kit), str(local_service)],
            scratch,
            ENV,
            **LIMITS,
            confine=confine,
        )
        seen = json.loads(outcome.output.strip().splitlines()[-1])
        assert (
            outcome.returncode == 0
            and outcome.mode == confine.mode
            and (scratch / "wrote-in-scratch").exists()
        )
        if namespaces:
            assert seen["pids"] == [1, 2], seen  # the namespace's init (root's) and the program
            assert not seen["grader"]
            assert not (seen["kit_source"] or seen["root"] or seen["home"]), seen
            # and nothing else: but the way to the interpreter's folders when the kit lives under /tmp
            bound = {
                Path(p).relative_to("/tmp").parts[0]
                for p in confinement._python_folders(accounts.python())
                if Path(p).is_relative_to("/tmp")
            }
            assert set(seen["tmp"]) == {"hw2sandbox-test-private", scratch.parent.name} | bound
            assert (
                seen["loopback"] == seen["host"] == "ConnectionRefusedError"
            )  # its own loopback: nothing there
            assert seen["public"] in ("OSError", "ConnectionRefusedError", "TimeoutError"), seen
            assert not any(path.exists() for path in private)
        else:  # what the fallback leaves open, as the README says
            assert len(seen["pids"]) > 2 and seen["grader"]
            assert seen["kit_source"] and seen["loopback"] == "local secret"
            assert all(path.exists() for path in private)
    finally:
        for path in private:
            path.unlink(missing_ok=True)


def test_an_interpreter_folder_under_tmp_is_seen_through_the_private_tmp(
    slot, scratch, python, here, monkeypatch
):
    """A kit cloned under /tmp (as CI may) has its virtualenv there: the namespace's private /tmp
    must not hide the interpreter's folders that are bound into it."""
    if not here.namespaces:
        pytest.skip(f"no namespaces for the sandbox here: {here}")
    folder = Path(tempfile.mkdtemp(prefix="hw2-venv-like-", dir="/tmp"))
    try:
        os.chmod(folder, 0o755)
        (folder / "marker.txt").write_text("site-packages seen")
        os.chmod(folder / "marker.txt", 0o644)
        real = confinement._python_folders
        monkeypatch.setattr(
            confinement, "_python_folders", lambda interpreter: (*real(interpreter), str(folder))
        )
        outcome = confinement.run(
            slot,
            [python, "-c", f"print(open({str(folder / 'marker.txt')!r}).read())"],
            scratch,
            ENV,
            **LIMITS,
            confine=here,
        )
        assert outcome.returncode == 0 and "site-packages seen" in outcome.output, outcome.output
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def test_a_weaker_mode_can_be_asked_for_and_each_run_says_its_mode(slot, monkeypatch, here):
    try:
        monkeypatch.setenv(confinement.ISOLATION_VARIABLE, "users")
        forced = confinement.isolation(slot, refresh=True)
        assert (
            forced.mode == confinement.USERS
            and f"{confinement.ISOLATION_VARIABLE}=users" in str(forced)
        )
        outcome = as_user(slot, "echo hi; ls /proc | grep -c '^[0-9]'")
        assert outcome.mode == confinement.USERS and outcome.memory_peak is None
        assert (
            outcome.output.startswith("hi\n") and int(outcome.output.split()[1]) > 2
        )  # the machine's processes
        monkeypatch.setenv(confinement.ISOLATION_VARIABLE, "cgroup")
        forced = confinement.isolation(slot, refresh=True)
        assert not forced.namespaces and forced.cgroup == here.cgroup
        assert as_user(slot, "true").mode == (
            confinement.CGROUP if here.cgroup else confinement.USERS
        )
    finally:
        monkeypatch.delenv(confinement.ISOLATION_VARIABLE)
        assert confinement.isolation(slot, refresh=True) == here
    assert as_user(slot, "true").mode == here.mode


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
    assert aftermath.read_file(tmp_path, "probes/a.pt", 100) == b"data"
    assert aftermath.read_file(tmp_path, "probes/missing.pt", 100) is None
    for relative in (
        "shadow",
        "linked/a.pt",
        "big",
        "hard",
        "fifo",
        "../etc/passwd",
        "/etc/passwd",
    ):
        with pytest.raises(ValueError):
            aftermath.read_file(tmp_path, relative, 100)
