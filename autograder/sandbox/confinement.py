"""Running a program in the sandbox: as the slot's user, under rlimits, in the slot's cgroup
and in namespaces where this machine allows (probed once); afterwards every process of it dies.

    isolation(slot)                                   what this machine allows: the Isolation
    run(slot, argv, cwd, env, wall=, memory=, cpu=)   -> Outcome
"""

from __future__ import annotations

import contextlib
import errno
import functools
import glob
import json
import os
import resource
import select
import shutil
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO, cast

import psutil

from autograder.limits import GiB
from autograder.sandbox.accounts import USER_PREFIX, Slot, drop, first_slot, python

OUTPUT_CHARS = 20_000
KILL_PATIENCE = 60  # seconds; a process stuck in the kernel (D state) can take a while to die
DRAIN_SECONDS = 2  # reading what is left of the output once every writer should be dead
NAMESPACES, CGROUP, USERS = "namespaces + cgroup", "cgroup", "users + rlimits"
ISOLATION_VARIABLE = (
    "HW2_SANDBOX_ISOLATION"  # "cgroup" or "users": a weaker mode than the machine allows
)
OOM_SCORE_ADJ = 1000  # the kernel's OOM killer picks a student's process before anything else
GRADER_LEAF = "hw2-grader"  # cgroup v2: where the grader moves so that its cgroup may delegate


@dataclass(frozen=True)
class Outcome:
    returncode: int
    output: str  # the last OUTPUT_CHARS characters of stdout and stderr, merged
    timed_out: bool
    survivors_killed: int  # processes still alive when the main one ended (or timed out)
    mode: str = USERS  # the isolation it ran under: NAMESPACES, CGROUP or USERS
    memory_peak: int | None = None  # bytes, all its processes together (cgroup modes)
    oom_kills: int = 0  # processes the kernel killed at the cgroup's memory limit

    @property
    def memory_limit_reached(self) -> bool:
        return self.oom_kills > 0


@dataclass(frozen=True)
class Isolation:
    """What confines a run beyond the slot's user and rlimits: a cgroup ("v1", "v2" or None)
    and namespaces (bubblewrap); ``why`` says what a stronger mode lacks here."""

    cgroup: str | None
    namespaces: bool
    why: str = ""

    @property
    def mode(self) -> str:
        if self.namespaces:
            return NAMESPACES if self.cgroup else "namespaces"
        return CGROUP if self.cgroup else USERS

    def __str__(self) -> str:
        detail = f" (cgroup {self.cgroup})" if self.cgroup else ""
        return self.mode + detail + (f"; not stronger: {self.why}" if self.why else "")


_probed: dict[str, Isolation] = {}


def isolation(slot: Slot | None = None, refresh: bool = False) -> Isolation:
    """The strongest isolation that works on this machine, tried once per process (a batch
    probes again at its start with ``refresh``) with ``slot``'s user (default: the first).
    HW2_SANDBOX_ISOLATION=cgroup (no namespaces) or =users (neither) asks for less."""
    if refresh or "probed" not in _probed:
        _probed["probed"] = _probe(slot or first_slot())
    return _probed["probed"]


def _probe(slot: Slot) -> Isolation:
    if os.geteuid() != 0:
        return Isolation(None, False, "not root")
    wanted = os.environ.get(ISOLATION_VARIABLE, "")
    why = []
    version = None
    if wanted == "users":
        why.append(f"{ISOLATION_VARIABLE}=users")
    else:
        try:
            probe = _Cgroup.create(f"{USER_PREFIX}-probe-{os.getpid()}", GiB, 64)
            version = probe.version
            probe.remove()
        except OSError as error:
            why.append(f"cgroup: {error}")
    namespaces = False
    if wanted in ("users", "cgroup"):
        why.append(f"{ISOLATION_VARIABLE}={wanted}")
    elif not shutil.which("bwrap"):
        why.append("bubblewrap (bwrap) is not installed")
    else:
        namespaces, failure = _try_namespaces(slot)
        if not namespaces:
            why.append(f"bwrap: {failure}")
    return Isolation(version, namespaces, "; ".join(dict.fromkeys(why)))


def _try_namespaces(slot: Slot) -> tuple[bool, str]:
    """Run the sandbox's interpreter as ``slot``'s user the way ``run`` does in namespaces
    (without killing anything of the user's: another batch may hold the slot): (worked, why not)."""
    read, write = os.pipe()
    init, given = _init(write, {"PATH": "/usr/bin:/bin"})
    try:
        trial = subprocess.run(
            [*_namespaces(), *init, *drop(slot), python(), "-c", ""],
            cwd="/",
            env={"PATH": "/usr/bin:/bin"},
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=120,
            pass_fds=(write, given),
        )
    except (OSError, subprocess.SubprocessError) as error:
        os.close(read)
        return False, str(error)
    finally:
        os.close(write)
        os.close(given)
    said = _read_report(read)
    if trial.returncode == 0 and said == {"returncode": 0, "survivors": 0}:
        return True, ""
    return False, (trial.stderr.strip() or f"exit status {trial.returncode}")[-200:]


def _mounts(fstype: str) -> list[tuple[str, set[str]]]:
    """(mount point, options) of every mount of ``fstype``."""
    found = []
    with open("/proc/self/mounts") as mounts:
        for line in mounts:
            _, point, kind, options, *_ = line.split()
            if kind == fstype:
                found.append((point, set(options.split(","))))
    return found


def _own_cgroups() -> dict[str, str]:
    """{controllers ("" for v2, "memory", "cpu,cpuacct", ...): this process's cgroup path}."""
    own = {}
    with open("/proc/self/cgroup") as lines:
        for line in lines:
            _, controllers, path = line.rstrip("\n").split(":", 2)
            own[controllers] = path
    return own


class _Cgroup:
    """One run's cgroup below the grader's own (so a limit on the grader, a container's,
    bounds it too): a folder per hierarchy, memory and pids (v1), or one folder with both
    controllers (v2). Limits: ``memory`` bytes (swap none) and ``pids`` tasks, for all its
    processes together."""

    def __init__(self, folders: list[Path], version: str):
        self.folders, self.version = folders, version

    @classmethod
    def parents(cls) -> tuple[list[Path], str]:
        """Where a run's cgroup goes: the grader's cgroup in v2 when memory and pids can be
        delegated below it, else in the v1 memory and pids hierarchies. OSError if neither."""
        own = _own_cgroups()
        for point, _ in _mounts("cgroup2"):  # the grader's, or above the leaf _delegate moved it to
            folder = Path(point) / own.get("", "/").lstrip("/").removesuffix(GRADER_LEAF).rstrip(
                "/"
            )
            with contextlib.suppress(OSError):
                if {"memory", "pids"} <= set((folder / "cgroup.controllers").read_text().split()):
                    cls._delegate(folder)
                    return [folder], "v2"
        folders = []
        for controller in ("memory", "pids"):
            mount = next((p for p, options in _mounts("cgroup") if controller in options), None)
            path = next(
                (path for names, path in own.items() if controller in names.split(",")), None
            )
            if mount is None or path is None:
                raise OSError(f"no {controller} controller (cgroup v1 or v2) here")
            folders.append(Path(mount) / path.lstrip("/"))
        return folders, "v1"

    @staticmethod
    def _delegate(folder: Path) -> None:
        """Enable memory and pids for the cgroups below ``folder`` (v2). A cgroup other than
        the root that holds processes cannot: if the grader is alone in it (a systemd scope
        with Delegate=yes, a container's own cgroup), it first moves into a leaf of its own,
        GRADER_LEAF. OSError if that is not possible."""
        control = folder / "cgroup.subtree_control"
        if {"memory", "pids"} <= set(control.read_text().split()):
            return
        try:
            control.write_text("+memory +pids")
            return
        except OSError as error:
            if error.errno != errno.EBUSY or (folder / "cgroup.procs").read_text().split() != [
                str(os.getpid())
            ]:
                raise
        leaf = folder / GRADER_LEAF
        leaf.mkdir(exist_ok=True)
        (leaf / "cgroup.procs").write_text(str(os.getpid()))
        control.write_text("+memory +pids")

    @classmethod
    def create(cls, name: str, memory: int, pids: int) -> _Cgroup:
        parents, version = cls.parents()
        cgroup = cls([parent / name for parent in parents], version)
        if any(folder.exists() for folder in cgroup.folders):  # left by an interrupted batch
            cgroup.kill()
            cgroup.remove()
        for folder in cgroup.folders:
            folder.mkdir()
        try:
            cgroup._limit(memory, pids)
        except OSError:
            cgroup.remove()
            raise
        return cgroup

    def _limit(self, memory: int, pids: int) -> None:
        if self.version == "v2":
            (folder,) = self.folders
            (folder / "memory.max").write_text(str(memory))
            with contextlib.suppress(FileNotFoundError):
                (folder / "memory.swap.max").write_text("0")
            (folder / "pids.max").write_text(str(pids))
            return
        memory_folder, pids_folder = self.folders
        (memory_folder / "memory.limit_in_bytes").write_text(str(memory))
        with contextlib.suppress(OSError):  # swap accounting may be off: no memsw files
            (memory_folder / "memory.memsw.limit_in_bytes").write_text(str(memory))
        (pids_folder / "pids.max").write_text(str(pids))

    def join(self) -> None:
        """Put the calling process in the cgroup (in the child, before exec)."""
        pid = str(os.getpid())
        for folder in self.folders:
            with open(folder / "cgroup.procs", "w") as procs:
                procs.write(pid)

    def pids(self) -> set[int]:
        found = set()
        for folder in self.folders:
            with contextlib.suppress(FileNotFoundError):
                found |= {int(p) for p in (folder / "cgroup.procs").read_text().split()}
        return found

    def kill(self) -> int:
        """SIGKILL every process in the cgroup until none is left; how many there were
        (the kernel moves no process out of it: neither a new session nor a double fork
        leaves a cgroup, and only root may move one)."""
        seen: set[int] = set()
        deadline = time.monotonic() + KILL_PATIENCE
        if self.version == "v2" and (self.folders[0] / "cgroup.kill").exists():
            with contextlib.suppress(OSError):
                (self.folders[0] / "cgroup.kill").write_text("1")
        while alive := self.pids():
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"processes {sorted(alive)} in cgroup {self.folders[0]} do not die"
                )
            seen |= alive
            for pid in alive:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            time.sleep(0.01)
        return len(seen)

    def usage(self) -> tuple[int | None, int]:
        """(peak memory in bytes of all its processes together, or None where the kernel does
        not say; processes the OOM killer killed at the limit)."""
        if self.version == "v2":
            folder = self.folders[0]
            events = _fields(folder / "memory.events")
            return _number(folder / "memory.peak"), events.get("oom_kill", 0)
        folder = self.folders[0]
        return _number(folder / "memory.max_usage_in_bytes"), _fields(
            folder / "memory.oom_control"
        ).get("oom_kill", 0)

    def remove(self) -> None:
        """Remove the cgroup's folders (empty of processes: ``kill`` first)."""
        for folder in self.folders:
            for attempt in range(100):  # dying processes leave the cgroup a moment after SIGKILL
                try:
                    folder.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError as error:
                    if error.errno != errno.EBUSY or attempt == 99:
                        raise
                    time.sleep(0.01)


def _fields(path: Path) -> dict[str, int]:
    """A cgroup file of "name value" lines."""
    try:
        return {
            name: int(value)
            for name, value in (line.split() for line in path.read_text().splitlines())
        }
    except (OSError, ValueError):
        return {}


def _number(path: Path) -> int | None:
    try:
        return int(path.read_text())
    except (OSError, ValueError):
        return None


# the files of /etc that Python, the loader, locales and the notebook runner read (no secrets)
ETC = (
    "passwd",
    "group",
    "nsswitch.conf",
    "ld.so.cache",
    "ld.so.conf",
    "ld.so.conf.d",
    "localtime",
    "hosts",
    "host.conf",
    "alternatives",
    "fonts",
    "mime.types",
    "ssl/openssl.cnf",
    "matplotlibrc",
    "os-release",
    "python3.11",
)


@functools.cache
def _python_folders(interpreter: str) -> tuple[str, ...]:
    """The folders the sandbox's interpreter runs from: its prefixes and import path (the
    stand-in virtualenv's .pth adds the grader's site-packages), asked of it with the first
    slot's user (it cannot change what it reports: problems() checks that nothing there is
    writable by the sandbox users)."""
    result = subprocess.run(
        [
            *drop(first_slot()),
            interpreter,
            "-c",
            "import json, sys; print(json.dumps([sys.prefix, sys.base_prefix, sys.exec_prefix, *sys.path]))",
        ],
        cwd="/",
        env={"PATH": "/usr/bin:/bin"},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    folders = {
        os.path.abspath(p)
        for p in json.loads(result.stdout.splitlines()[-1])
        if p and os.path.exists(p)
    }
    folders.add(os.path.dirname(os.path.abspath(interpreter)))
    kept: list[str] = []
    for folder in sorted(folders):  # a folder inside one already bound comes with it
        if not any(folder == k or folder.startswith(k.rstrip("/") + "/") for k in [*kept, "/usr"]):
            kept.append(folder)
    return tuple(kept)


def _namespaces(scratch: str | None = None, private_bytes: int = GiB) -> list[str]:
    """bubblewrap, run as root without a user namespace (mapping the sandbox to root is what
    a user namespace would do here): no network but loopback (the runner's kernels talk over
    127.0.0.1), its own PIDs (a fresh /proc), IPC and host name, a new session; a file system
    of /usr, the loader's /etc files and the interpreter's folders, read-only, private /tmp,
    /var/tmp and /dev/shm of ``private_bytes`` each (memory: the cgroup counts them too), and
    ``scratch`` read-write at its own path. setpriv drops root
    inside (``drop``); bwrap keeps only the capabilities that needs."""
    args = [
        shutil.which("bwrap") or "bwrap",
        "--unshare-net",
        "--unshare-pid",
        "--unshare-ipc",
        "--unshare-uts",
        "--unshare-cgroup-try",
        "--die-with-parent",
        "--new-session",
        "--as-pid-1",
        "--cap-drop",
        "ALL",
        "--cap-add",
        "CAP_SETUID",
        "--cap-add",
        "CAP_SETGID",
        "--cap-add",
        "CAP_SETPCAP",
        "--ro-bind",
        "/usr",
        "/usr",
    ]
    made = {"/"}

    def folders_to(
        path: str,
    ) -> list[str]:  # bwrap would make missing parents 0700: 0711 as the kit is
        parents = [str(p) for p in reversed(PurePosixPath(path).parents) if str(p) not in made]
        made.update(parents)
        return [
            a
            for parent in parents
            for a in ("--perms", "0755" if parent in ("/etc", "/var") else "0711", "--dir", parent)
        ]

    for top in ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"):
        if os.path.islink(top):
            args += ["--symlink", os.readlink(top), top]
        elif os.path.isdir(top):
            args += ["--ro-bind", top, top]
    args += ["--proc", "/proc", "--dev", "/dev", *folders_to("/var/tmp/x")]
    for private in ("/tmp", "/var/tmp", "/dev/shm"):
        args += ["--perms", "1777", "--size", str(private_bytes), "--tmpfs", private]
    made.add("/tmp")
    # after the private folders: a kit (its virtualenv) or interpreter under /tmp is bound on top
    # of the new /tmp instead of being hidden by it
    binds = [f"/etc/{name}" for name in ETC if os.path.exists(f"/etc/{name}")] + list(
        _python_folders(python())
    )
    for path in binds:
        args += [*folders_to(path), "--ro-bind", path, path]
    args += [
        a for device in sorted(glob.glob("/dev/nvidia*")) for a in ("--dev-bind", device, device)
    ]
    if scratch is not None:
        args += [*folders_to(scratch), "--bind", scratch, scratch]
    return [*args, "--chdir", "/", "--"]


# PID 1 of the namespace, as root: runs the program with exactly the environment it is given
# (Python's own start may add LC_CTYPE to its own), reaps orphans, and when the program ends
# writes {"returncode", "survivors"} to the report descriptor (the program never holds it);
# its own end then makes the kernel kill every process left in the namespace.
_INIT_CODE = r"""
import json, os, sys
report, argv = int(sys.argv[1]), sys.argv[3:]
with os.fdopen(int(sys.argv[2]), "rb") as given:
    environment = json.loads(given.read())
main = os.fork()
if main == 0:
    try:
        os.close(report)
        os.execve(argv[0], argv, environment)
    finally:
        os._exit(127)
while True:
    pid, status = os.wait()
    if pid == main:
        break
alive = 0
for name in os.listdir("/proc"):
    if name.isdigit() and name != "1":
        try:
            with open(f"/proc/{name}/stat", "rb") as stat:
                alive += stat.read().rsplit(b")", 1)[1].split()[0] != b"Z"
        except (OSError, IndexError):
            pass
code = os.waitstatus_to_exitcode(status)
os.write(report, json.dumps({"returncode": code, "survivors": alive}).encode())
os._exit(code if code >= 0 else 128 - code)
"""


def _init(report: int, env: Mapping[str, str]) -> tuple[list[str], int]:
    """The namespace's PID 1 (the sandbox's interpreter, isolated: no site, no environment,
    nothing from the working folder), writing to descriptor ``report``, running the program
    with ``env`` (handed over in a pipe, not on its command line, which /proc shows); and the
    descriptor it reads ``env`` from, for the caller to pass on and close."""
    data = json.dumps(dict(env)).encode()
    if len(data) >= select.PIPE_BUF * 8:  # written before anyone reads: it must fit in the pipe
        raise ValueError(f"an environment of {len(data)} bytes is too large to hand over")
    given, write = os.pipe()
    os.write(write, data)
    os.close(write)
    return [python(), "-I", "-S", "-c", _INIT_CODE, str(report), str(given)], given


def run(
    slot: Slot | None,
    argv: Sequence[str],
    cwd: Path | str,
    env: Mapping[str, str],
    *,
    wall: float,
    memory: int,
    cpu: int,
    nproc: int = 512,
    fsize: int = GiB,
    confine: Isolation | None = None,
) -> Outcome:
    """Run ``argv`` as the slot's user (``slot`` None: as this process's user), with exactly
    ``env``, stdin /dev/null, in a session of its own, each process limited to ``memory`` bytes
    of address space, ``cpu`` seconds, files of ``fsize`` bytes, no core dumps, and the user to
    ``nproc`` processes. After ``wall`` seconds, or when it ends, every process of the slot's
    user is killed (slot None: the process tree and group, as nothing else tells them apart).

    ``confine`` (default: ``isolation(slot)``, what this machine allows) adds, for a slot: a
    cgroup bounding all the run's processes together to ``memory`` bytes and ``nproc`` tasks,
    emptied by SIGKILL afterwards (the Outcome gives its peak and OOM kills), and namespaces
    (``_namespaces``: no network, own PIDs, private /tmp, nothing of the file system but what
    the interpreter needs, and ``cwd`` read-write if it is the user's own, a scratch folder;
    any other ``cwd`` is not seen: the program starts in /). Every process gets
    oom_score_adj 1000."""
    limits = {
        resource.RLIMIT_AS: memory,
        resource.RLIMIT_CPU: cpu,
        resource.RLIMIT_FSIZE: fsize,
        resource.RLIMIT_CORE: 0,
    }
    confine = Isolation(None, False) if slot is None else confine or isolation(slot)
    cgroup, report, given = None, None, -1
    if slot is not None:
        limits[resource.RLIMIT_NPROC] = (
            nproc  # counts all the user's processes: only a slot's are ours alone
        )
        _kill_user(slot)  # left by an interrupted batch: they could read the next scratch folder
        if confine.cgroup:
            try:
                cgroup = _Cgroup.create(f"{USER_PREFIX}{slot.index}", memory, nproc)
            except OSError as error:  # it worked when probed: say so in the mode, run without
                confine = Isolation(None, confine.namespaces, f"cgroup: {error}")
        if confine.namespaces:
            report = os.pipe()
            cwd = os.path.abspath(cwd)
            own = os.path.isdir(cwd) and os.lstat(cwd).st_uid == slot.uid  # a scratch folder
            init, given = _init(report[1], env)
            argv = [
                *_namespaces(cwd if own else None, memory),
                *init,
                *drop(slot, cwd if own else "/"),
                *argv,
            ]
        else:
            argv = [*drop(slot), *argv]
    try:
        process = subprocess.Popen(
            list(argv),
            cwd=cwd,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            pass_fds=(report[1], given) if report else (),
            preexec_fn=functools.partial(_child_setup, limits, cgroup),
        )
    except BaseException:
        if cgroup is not None:
            cgroup.remove()
        if report:
            os.close(report[0])
        raise
    finally:
        if report:
            os.close(report[1])
            os.close(given)
    tail = _Tail()
    try:
        timed_out = _collect(process, tail, wall)
    finally:
        survivors = _kill_user(slot, process.pid) if slot is not None else _kill_tree(process.pid)
        if cgroup is not None:  # and what left the user's uid behind: bwrap and init (root's)
            cgroup.kill()
        stdout = cast(IO[bytes], process.stdout)  # not None: opened as a PIPE
        tail.drain(stdout.fileno(), DRAIN_SECONDS)
        stdout.close()
        returncode = process.wait()
        said = _read_report(report[0]) if report else None
        peak, oom_kills = cgroup.usage() if cgroup is not None else (None, 0)
        if cgroup is not None:
            cgroup.remove()
    if report:  # the namespace's init counted what outlived the program; after a timeout the
        # program itself was among the user's processes killed (main was bwrap, root's)
        if timed_out:
            survivors = max(0, survivors - 1)
        elif said:
            survivors = said["survivors"]
        returncode = said["returncode"] if said else returncode
    return Outcome(
        returncode,
        tail.text(),
        timed_out,
        survivors,
        confine.mode if slot is not None else USERS,
        peak,
        oom_kills,
    )


def _read_report(fd: int) -> dict[str, int] | None:
    """The namespace init's report, or None if it wrote none (killed, timed out)."""
    try:
        os.set_blocking(fd, False)
        with contextlib.suppress(BlockingIOError):
            data = os.read(fd, 4096)
            said = json.loads(data) if data else None
            if isinstance(said, dict) and all(
                isinstance(said.get(k), int) for k in ("returncode", "survivors")
            ):
                return said
        return None
    except ValueError:
        return None
    finally:
        os.close(fd)


def _child_setup(limits: dict[int, int], cgroup: _Cgroup | None) -> None:
    """In the child, before exec: into the run's cgroup, the first choice of the OOM killer
    (set by a root holding CAP_SYS_RESOURCE it is also the least the user may set), the rlimits."""
    if cgroup is not None:
        cgroup.join()
    with contextlib.suppress(OSError), open("/proc/self/oom_score_adj", "w") as adj:
        adj.write(str(OOM_SCORE_ADJ))
    _set_limits(limits)


def _set_limits(limits: dict[int, int]) -> None:
    """In the child, before exec (root may raise a hard limit; others only lower it)."""
    for kind, value in limits.items():
        hard = resource.getrlimit(kind)[1]
        if os.geteuid() != 0 and hard != resource.RLIM_INFINITY:
            value = min(value, hard)
        resource.setrlimit(kind, (value, value))


class _Tail:
    """The last OUTPUT_CHARS characters of a stream, kept in bounded memory."""

    def __init__(self) -> None:
        self.data = bytearray()

    def read(self, fd: int) -> bool:
        """Read what is there; False at the end of the stream."""
        chunk = os.read(fd, 1 << 16)
        self.data += chunk
        if len(self.data) > 8 * OUTPUT_CHARS:
            del self.data[: -4 * OUTPUT_CHARS]  # a character is at most 4 bytes of UTF-8
        return bool(chunk)

    def drain(self, fd: int, seconds: float) -> None:
        """Read until the end of the stream, or for ``seconds`` if something still holds it open."""
        poller, end = select.poll(), time.monotonic() + seconds
        poller.register(fd, select.POLLIN)
        while (left := end - time.monotonic()) > 0 and poller.poll(left * 1000) and self.read(fd):
            pass

    def text(self) -> str:
        return self.data[-4 * OUTPUT_CHARS :].decode(errors="replace")[-OUTPUT_CHARS:]


def _collect(process: subprocess.Popen[bytes], tail: _Tail, wall: float) -> bool:
    """Keep the output until the main process ends; True if it was still running after ``wall``
    seconds. A process it left behind may hold the output open: its end is not awaited."""
    deadline, poller, streaming = time.monotonic() + wall, select.poll(), True
    stdout = cast(IO[bytes], process.stdout)  # not None: run() opens it as a PIPE
    poller.register(stdout.fileno(), select.POLLIN)
    while process.poll() is None:
        left = deadline - time.monotonic()
        if left <= 0:
            return True
        if streaming:
            if poller.poll(min(left, 0.1) * 1000):
                streaming = tail.read(stdout.fileno())
        else:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(left)
    return False


def _kill_user(slot: Slot, main: int | None = None) -> int:
    """SIGKILL every process whose real or effective uid is the slot's, until none is left (a
    fork bomb keeps forking; a process that left the session or double-forked keeps its uid);
    returns how many there were besides ``main``."""
    if slot.uid == 0:
        raise ValueError("refusing to kill root's processes")
    seen: set[int] = set()
    deadline = time.monotonic() + KILL_PATIENCE
    while alive := _processes_of(slot.uid):
        if time.monotonic() > deadline:
            raise RuntimeError(f"processes {sorted(alive)} of {slot.user} do not die")
        seen |= alive.keys()
        _kill_all_as(slot)
        for process in alive.values():  # a process whose effective uid alone is the slot's
            with contextlib.suppress(psutil.NoSuchProcess):
                process.kill()  # psutil checks the pid was not reused
        time.sleep(0.01)
    return len(seen - {main})


def _processes_of(uid: int) -> dict[int, psutil.Process]:
    """Live (not zombie) processes whose real or effective uid is ``uid``."""
    found = {}
    for process in psutil.process_iter(["uids", "status"]):
        uids = process.info["uids"]
        if (
            uids
            and uid in (uids.real, uids.effective)
            and process.info["status"] != psutil.STATUS_ZOMBIE
        ):
            found[process.pid] = process
    return found


def _kill_all_as(slot: Slot) -> None:
    """kill(-1, SIGKILL) as the slot's user: the kernel signals all of that user's processes in
    one pass under the task-list lock, so not even a fork bomb's newest child slips past."""
    child = os.fork()
    if child == 0:
        try:
            os.setgroups([])
            os.setresgid(slot.gid, slot.gid, slot.gid)
            os.setresuid(slot.uid, slot.uid, slot.uid)
            if os.getresuid() == (slot.uid,) * 3:  # never kill(-1) as root: that is everyone
                os.kill(-1, signal.SIGKILL)
        finally:
            os._exit(0)
    os.waitpid(child, 0)


def _kill_tree(pid: int) -> int:
    """Trusted mode: kill the main process's descendants and their process groups (kernels
    run in sessions of their own, so the main group alone is not enough), and wait a little
    for them to go; how many there were besides the main process."""
    try:
        tree = psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:  # ended and reaped: its group may still hold processes
        tree = []
    groups = {pid} | {g for p in tree if (g := _group(p.pid)) is not None}
    victims = {p.pid: p for p in tree} | {
        p.pid: p for p in psutil.process_iter() if _group(p.pid) in groups
    }
    victims.pop(pid, None)  # the caller waits for it
    for group in groups:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(group, signal.SIGKILL)
    for process in victims.values():
        with contextlib.suppress(psutil.NoSuchProcess):
            process.kill()
    deadline = time.monotonic() + DRAIN_SECONDS
    while any(map(_running, victims.values())) and time.monotonic() < deadline:
        time.sleep(0.01)
    return len(victims)


def _running(process: psutil.Process) -> bool:
    """Alive and not a zombie (which only its parent, perhaps init, can reap)."""
    try:
        return process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _group(pid: int) -> int | None:
    try:
        return os.getpgid(pid)
    except ProcessLookupError:
        return None
