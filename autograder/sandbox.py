"""Running students' code as unprivileged users: plain users, file permissions, rlimits and
killing by uid (no namespaces or containers, which the containers we grade in often forbid).

    setup(kit, slots)                 root: users hw2sandbox0..N-1, and the kit locked
    refusal(kit, slots)               why sandboxed grading is impossible here, or None
    slots(n)                          the slots' users
    make_scratch(slot, path)          a folder only the slot's user can use
    run(slot, argv, cwd, env, wall=, memory=, cpu=) -> Outcome
                                      as the slot's user; afterwards every process of it dies
    clean(slot)                       what the user left where anyone may write
    read_file(root, relative, max_bytes)   a file the sandbox wrote, read safely as root
    kit_manifest(kit), verify_kit(kit, manifest)   the files grading depends on, unchanged

Each parallel worker has a slot and each slot its own user, so killing one worker's processes
by uid never touches another's, and two students graded at once cannot read each other's
scratch folders. After ``setup`` the kit (mode 0711) gives other users nothing but its
virtualenv, which they may read and run but not write.

    python -m autograder.sandbox setup [--slots N]     (as root; prints what it changed)
    python -m autograder.sandbox check [--slots N]
"""
from __future__ import annotations

import argparse
import contextlib
import errno
import fcntl
import functools
import grp
import hashlib
import os
import pwd
import resource
import select
import shutil
import signal
import stat
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Callable, Iterator, Mapping, Sequence

import psutil

ROOT = Path(__file__).resolve().parents[1]
USER_PREFIX = "hw2sandbox"
VENV = ".venv"
# what grading reads from the kit: hashed by kit_manifest, closed to other users by setup
PROTECTED = ("autograder", "hw2probes", "hw2utils.py", "hw2checks.py", "source", "release", "data",
             "nbgrader_config.py", "requirements.txt")
TEMPORARY = ("/tmp", "/var/tmp", "/dev/shm", "/run/lock")  # where any user may write
STAND_INS = Path("/opt/hw2-sandbox")  # interpreters setup makes when others cannot run ours
OUTPUT_CHARS = 20_000
GiB = 2**30
KILL_PATIENCE = 60  # seconds; a process stuck in the kernel (D state) can take a while to die
DRAIN_SECONDS = 2  # reading what is left of the output once every writer should be dead


@dataclass(frozen=True)
class Slot:
    index: int
    user: str
    uid: int
    gid: int


@dataclass(frozen=True)
class Outcome:
    returncode: int
    output: str  # the last OUTPUT_CHARS characters of stdout and stderr, merged
    timed_out: bool
    survivors_killed: int  # processes still alive when the main one ended (or timed out)


def _users(n: int) -> list[str]:
    return [f"{USER_PREFIX}{i}" for i in range(n)]


def _require_root() -> None:
    if os.geteuid() != 0:
        raise PermissionError("only root can set up or use the sandbox users")


# ---- setup ----------------------------------------------------------------------------

def setup(kit: Path, slots: int = 4) -> list[str]:
    """Create the slots' users if missing and lock the kit: ``kit`` mode 0711, no permission
    for other users on anything in it but the virtualenv, which stays readable and runnable
    by all and writable by its owner only. Returns what was changed (nothing, a second time)."""
    _require_root()
    changes = [f"created user {user}" for user in _users(slots) if _create_user(user)]
    return changes + _lock(Path(os.path.abspath(kit))) + _make_stand_in(_first_slot())


def _first_slot() -> Slot:
    return slots(1)[0]


def python() -> str:
    """The interpreter the sandbox runs notebooks with: the grader's own, or, where other users
    cannot run that one (a pyenv build under root's 0700 home), the stand-in setup made."""
    stand_in = _stand_in_folder() / "bin" / "python"
    return str(stand_in) if stand_in.exists() else sys.executable


_interpreter = python  # for functions whose argument is called python


def _stand_in_folder() -> Path:
    return STAND_INS / f"venv-{hashlib.sha256(sys.prefix.encode()).hexdigest()[:12]}"


def _runs_as(slot: Slot, interpreter: str) -> bool:
    return subprocess.run([*_drop(slot), interpreter, "-c", ""], cwd="/", env={"PATH": "/usr/bin:/bin"},
                          stdin=subprocess.DEVNULL, capture_output=True).returncode == 0


def _make_stand_in(slot: Slot) -> list[str]:
    """Where the sandbox users cannot run this interpreter, a virtualenv of a system Python of
    the same version whose site-packages reach this one's (a .pth file), root's and readable
    by all: the same packages, run by an interpreter other users may read. Compiled packages
    (torch) are built for the version's ABI, not for one build of it."""
    folder = _stand_in_folder()
    if _runs_as(slot, sys.executable) or (folder / "bin" / "python").exists():
        return []
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    base = next((p for p in (f"/usr/bin/{version}", f"/usr/local/bin/{version}")
                 if os.path.exists(p) and _runs_as(slot, p)), None)
    if base is None:
        return []  # problems() says that the sandbox users cannot run Python
    subprocess.run([base, "-m", "venv", "--without-pip", str(folder)], check=True, capture_output=True)
    import site
    (folder / "lib" / version / "site-packages" / "hw2-grader-packages.pth").write_text(
        "".join(f"import site; site.addsitedir({path!r})\n" for path in site.getsitepackages()))
    for path in [folder.parent, *map(Path, _walk(folder))]:
        if not path.is_symlink():
            os.chmod(path, 0o755 if path.is_dir() or os.stat(path).st_mode & 0o100 else 0o644)
    return [f"{folder}: a {version} from {base} for the sandbox ({sys.executable} is not runnable by other users)"]


def _create_user(user: str) -> bool:
    """Make ``user``, a system user with a group of its own and no home or shell; False if
    it exists already."""
    if _exists(pwd.getpwnam, user):
        return False
    group = ["--gid", user] if _exists(grp.getgrnam, user) else ["--user-group"]
    shell = "/usr/sbin/nologin" if os.path.exists("/usr/sbin/nologin") else "/bin/false"
    result = subprocess.run(["useradd", "--system", "--no-create-home", "--home-dir", "/nonexistent",
                             "--shell", shell, *group, user], capture_output=True, text=True)
    if result.returncode != 0 and not _exists(pwd.getpwnam, user):  # not made by a setup racing us
        raise RuntimeError(f"useradd {user} failed: {result.stderr.strip()}")
    return result.returncode == 0


def _exists(lookup: Callable, name: str) -> bool:
    try:
        lookup(name)
    except KeyError:
        return False
    return True


def _lock(kit: Path) -> list[str]:
    changes = []
    mode = stat.S_IMODE(os.stat(kit).st_mode)
    if mode != 0o711:
        os.chmod(kit, 0o711)
        changes.append(f"{kit}: mode {mode:04o} -> 0711 (others may enter it, not list it)")
    for name in sorted(os.listdir(kit)):
        if name == VENV:
            if fixed := _chmod_tree(kit / name, _venv_mode):
                changes.append(f"{kit / name}: {fixed} entries made readable by all, writable by the owner only")
        elif fixed := _chmod_tree(kit / name, lambda mode, folder: mode & ~0o007):
            changes.append(f"{kit / name}: other users' permissions removed from {fixed} entries")
    return changes


def _venv_mode(mode: int, folder: bool) -> int:
    """r for all, x for all on folders and programs; no w for group or others."""
    return (mode | 0o004 | (0o001 if folder or mode & 0o100 else 0)) & ~0o022


def _chmod_tree(top: Path, wanted: Callable[[int, bool], int]) -> int:
    """Give each entry of ``top`` the mode ``wanted(mode, is_folder)``; how many changed.
    Links are left alone: chmod would change their targets."""
    changed = 0
    for path in _walk(top):
        info = os.lstat(path)
        mode = stat.S_IMODE(info.st_mode)
        if not stat.S_ISLNK(info.st_mode) and (new := wanted(mode, stat.S_ISDIR(info.st_mode))) != mode:
            os.chmod(path, new)
            changed += 1
    return changed


def _walk(top: Path, skip: tuple[str, ...] = ()) -> Iterator[str]:
    """``top`` and every entry below it, links not followed, folders named in ``skip`` left out."""
    yield str(top)
    if os.path.islink(top):
        return
    for folder, dirs, files in os.walk(top):
        dirs[:] = [d for d in dirs if d not in skip]
        for name in dirs + files:
            yield os.path.join(folder, name)


# ---- can we? --------------------------------------------------------------------------

def refusal(kit: Path, slots: int, python: str | None = None) -> str | None:
    """Why students' code cannot be graded sandboxed here, or None (``problems``, joined)."""
    return "; ".join(problems(kit, slots, python)) or None


def problems(kit: Path, n: int, python: str | None = None) -> list[str]:
    """What stands in the way of sandboxed grading: not root, a user missing, a parent of the
    kit others could write, or what each slot's user can actually do, tried as that user:
    read or list the kit's protected files, write the kit or its virtualenv, fail to run
    ``python`` (default: this interpreter, which the grader runs the notebooks with)."""
    if os.geteuid() != 0:
        return ["not running as root (only root can run students' code as the sandbox users)"]
    if not shutil.which("setpriv"):
        return ["setpriv (util-linux) is not installed"]
    if missing := [user for user in _users(n) if not _exists(pwd.getpwnam, user)
                   or not _exists(grp.getgrnam, user)]:
        return [f"user(s) {', '.join(missing)} missing: run `python -m autograder.sandbox setup`"]
    kit, python, users = Path(os.path.abspath(kit)), python or _interpreter(), slots(n)
    who: dict[str, list[str]] = {}  # what was possible (or not) -> the users who found it so
    for slot in users:
        for finding in _tried_as(slot, kit, python):
            who.setdefault(finding, []).append(slot.user)
    return (_unsafe_parents(kit, {slot.uid for slot in users})
            + [f"{', '.join(names)} {finding}" for finding, names in who.items()])


def _unsafe_parents(kit: Path, uids: set[int]) -> list[str]:
    """Folders above the kit in which another user could swap the next entry: writable by
    others (the sticky bit protects only root's entries) or a sandbox user's own."""
    found = []
    for path in dict.fromkeys([Path(os.path.abspath(kit)), kit.resolve()]):
        for child, parent in zip([path, *path.parents], path.parents):
            folder, entry = os.stat(parent), os.lstat(child)
            others_write = folder.st_mode & stat.S_IWOTH and not (
                folder.st_mode & stat.S_ISVTX and entry.st_uid == 0)
            if others_write or folder.st_uid in uids or entry.st_uid in uids:
                found.append(f"{parent} lets other users replace {child}")
    return found


_TRY = r"""py=$1; shift
"$py" -c '' >/dev/null 2>&1 || echo "cannot-run $py"
while [ $# -gt 1 ]; do test "$1" "$2" && echo "$1 $2"; shift 2; done
"""
_VERBS = {"-r": "can read", "-w": "can write", "-x": "can enter", "cannot-run": "cannot run"}


def _tried_as(slot: Slot, kit: Path, python: str) -> list[str]:
    """Try, as the slot's user, what it must not be able to do (and running ``python``):
    what it could do, e.g. "can read KIT/autograder/grade.py"."""
    tries = [("-r", kit), ("-w", kit), ("-r", kit / "autograder" / "grade.py"),
             ("-w", kit / "autograder" / "grade.py")]
    for name in PROTECTED:
        tries += [("-r", kit / name), ("-w", kit / name), ("-x", kit / name)]
    for folder in [kit / VENV, kit / VENV / "bin", *_site_packages(kit)]:
        tries += [("-w", folder)] + [("-w", pth) for pth in sorted(folder.glob("*.pth"))]
    interpreter = os.path.realpath(python)
    tries += [("-w", interpreter), ("-w", os.path.dirname(interpreter))]
    arguments = [str(a) for test, path in tries if os.path.lexists(path) for a in (test, path)]
    result = subprocess.run([*_drop(slot), "/bin/sh", "-c", _TRY, "sh", python, *arguments],
                            cwd="/", env={"PATH": "/usr/bin:/bin"}, stdin=subprocess.DEVNULL,
                            capture_output=True, text=True, timeout=120)
    if result.returncode != 0:
        return [f"could not run a shell: {result.stderr.strip()[-300:]}"]
    found = []
    for line in result.stdout.splitlines():
        verb, path = line.split(" ", 1)
        found.append(f"{_VERBS[verb]} {path}")
        if verb == "cannot-run":
            found[-1] += f" ({interpreter} must be readable, and its folders enterable, by other users)"
    return found


def slots(n: int) -> list[Slot]:
    """The first ``n`` slots' users."""
    found = []
    for index, user in enumerate(_users(n)):
        try:
            uid, gid = pwd.getpwnam(user).pw_uid, grp.getgrnam(user).gr_gid
        except KeyError:
            raise LookupError(f"user or group {user} missing: run `python -m autograder.sandbox "
                              "setup` as root") from None
        if uid == 0 or gid == 0:
            raise ValueError(f"{user} has uid {uid}, gid {gid}: a sandbox user must not be root")
        found.append(Slot(index, user, uid, gid))
    return found


# ---- scratch folders and files --------------------------------------------------------

@contextlib.contextmanager
def claim(n: int, patience: float = 3600) -> Iterator[list[Slot]]:
    """``n`` slots no other batch on this machine holds, held (an flock each, in a folder only
    root may write) until the block ends: two batches sharing a slot would kill each other's
    processes. Waits up to ``patience`` seconds for slots to come free."""
    users = sorted((u.pw_name for u in pwd.getpwall() if u.pw_name.startswith(USER_PREFIX)
                    and u.pw_name[len(USER_PREFIX):].isdigit()), key=lambda u: int(u[len(USER_PREFIX):]))
    if len(users) < n:
        raise LookupError(f"{n} slots wanted, {len(users)} sandbox users exist: run setup --slots {n}")
    locks = STAND_INS / "locks"
    locks.mkdir(parents=True, exist_ok=True)
    os.chmod(locks, 0o700)
    held: dict[int, int] = {}
    deadline, told = time.monotonic() + patience, False
    try:
        while len(held) < n:
            for index in range(len(users)):
                if len(held) < n and index not in held:
                    fd = os.open(locks / f"{USER_PREFIX}{index}.lock", os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
                    try:
                        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                        held[index] = fd
                    except BlockingIOError:
                        os.close(fd)
            if len(held) < n:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"no {n} free sandbox slots after {patience:.0f} s")
                if not told:
                    print(f"waiting for another batch's sandbox slots ({len(held)} of {n} free)", file=sys.stderr)
                    told = True
                time.sleep(2)
        yield [slot for slot in slots(len(users)) if slot.index in held]
    finally:
        for fd in held.values():
            os.close(fd)


def make_scratch(slot: Slot, path: Path) -> Path:
    """A new empty folder at ``path`` (a former one is removed) that only the slot's user can
    use (its own, mode 0700). Missing parents are made root's, mode 0711. Every folder above
    must let others enter, and the parent must be root's and writable by no other user, or
    the user could swap the folder for a link to elsewhere, which root would then follow."""
    path = Path(os.path.abspath(path))
    missing = [folder for folder in path.parents if not folder.exists()]
    for folder in reversed(missing):
        with contextlib.suppress(FileExistsError):
            os.mkdir(folder, 0o711)
            os.chmod(folder, 0o711)  # whatever the umask
    for folder in path.parents:
        if not os.stat(folder).st_mode & stat.S_IXOTH:
            raise PermissionError(f"{folder} does not let other users enter: {slot.user} could not reach {path}")
    parent = os.stat(path.parent)
    if parent.st_mode & stat.S_IWOTH or parent.st_uid != os.geteuid():
        raise PermissionError(f"{path.parent} is not root's alone: another user could replace {path}")
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path)
    elif os.path.lexists(path):
        os.unlink(path)
    os.mkdir(path, 0o700)
    os.chown(path, slot.uid, slot.gid)
    os.chmod(path, 0o700)
    return path


def read_file(root: Path, relative: str, max_bytes: int) -> bytes | None:
    """The bytes of ``root/relative``, a file the sandbox wrote, or None if it does not exist.
    ValueError if any part of the path is a link or ``..``, if it is not a regular file, has
    other names (a hard link), or holds more than ``max_bytes``. Each folder is opened from the
    one before without following links, so nothing the sandbox does leads root elsewhere."""
    parts = PurePosixPath(relative).parts
    if not parts or PurePosixPath(relative).is_absolute() or any(p in (".", "..") for p in parts):
        raise ValueError(f"{relative!r} is not a plain relative path")
    folder_flags = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
    descriptors = []
    try:
        descriptors.append(os.open(root, folder_flags))
        for part in parts[:-1]:
            descriptors.append(os.open(part, folder_flags, dir_fd=descriptors[-1]))
        # non-blocking: opening a FIFO the sandbox left would otherwise wait for a writer
        descriptors.append(os.open(parts[-1], os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK
                                   | os.O_NOCTTY | os.O_CLOEXEC, dir_fd=descriptors[-1]))
        info = os.fstat(descriptors[-1])
        if not stat.S_ISREG(info.st_mode) or info.st_nlink != 1:
            raise ValueError(f"{relative} is not a regular file with one name")
        data = bytearray()
        while info.st_size <= max_bytes and len(data) <= max_bytes and (
                chunk := os.read(descriptors[-1], max_bytes + 1 - len(data))):
            data += chunk
        if info.st_size > max_bytes or len(data) > max_bytes:
            raise ValueError(f"{relative} holds more than {max_bytes} bytes")
        return bytes(data)
    except FileNotFoundError:
        return None
    except OSError as error:
        if error.errno in (errno.ELOOP, errno.ENOTDIR):
            raise ValueError(f"{relative}: a link or not a folder on the way ({error.strerror})") from None
        raise
    finally:
        for descriptor in descriptors:
            os.close(descriptor)


def clean(slot: Slot) -> list[str]:
    """Remove what the slot's user left where any user may write (TEMPORARY, and its SysV
    shared memory, queues and semaphores): it could carry state to the next student graded in
    the slot. Its scratch folder stays: an entry of the user's in a folder others cannot write
    was made by root. Call it once the user's processes are dead (``run`` sees to that).
    Returns what was removed."""
    removed = []
    for top in TEMPORARY:
        if os.path.isdir(top) and not os.path.islink(top):
            removed += _remove_owned(top, slot.uid)
    return removed + _remove_ipc(slot.uid)


def _remove_owned(folder: str, uid: int) -> list[str]:
    """Entries of ``uid`` in ``folder`` (if others may write it) and in the root folders below
    that others may enter."""
    removed = []
    try:
        open_to_all = os.stat(folder).st_mode & stat.S_IWOTH
        entries = list(os.scandir(folder))
    except FileNotFoundError:  # other users' processes (other batches, the system) come and go
        return removed
    for entry in entries:
        try:
            info = entry.stat(follow_symlinks=False)
            is_folder = stat.S_ISDIR(info.st_mode)
            if info.st_uid == uid and open_to_all:
                if is_folder:
                    shutil.rmtree(entry.path, onerror=_vanished_is_fine)
                else:
                    os.unlink(entry.path)
                removed.append(entry.path)
            elif is_folder and info.st_uid == 0 and info.st_mode & stat.S_IXOTH:
                removed += _remove_owned(entry.path, uid)
        except FileNotFoundError:
            continue
    return removed


def _vanished_is_fine(function, path, exc_info) -> None:
    if not issubclass(exc_info[0], FileNotFoundError):
        raise exc_info[1]


_IPC = {"shm": ("shmid", "-m"), "msg": ("msqid", "-q"), "sem": ("semid", "-s")}


def _remove_ipc(uid: int) -> list[str]:
    """SysV IPC objects owned or created by ``uid``: they outlive their processes."""
    removed = []
    if not shutil.which("ipcrm"):
        return removed
    for kind, (key, flag) in _IPC.items():
        try:
            header, *rows = Path(f"/proc/sysvipc/{kind}").read_text().splitlines()
        except (OSError, ValueError):
            continue
        for row in rows:
            fields = dict(zip(header.split(), row.split()))
            if str(uid) in (fields.get("uid"), fields.get("cuid")):
                subprocess.run(["ipcrm", flag, fields[key]], capture_output=True)
                removed.append(f"SysV {kind} {fields[key]}")
    return removed


# ---- running --------------------------------------------------------------------------

def _drop(slot: Slot) -> list[str]:
    """setpriv: become the slot's user and group, no other groups, no capabilities now or
    ever (empty bounding set, no-new-privs: setuid programs grant nothing). setpriv still
    holds root's capabilities when it execs, so it execs env, which then finds the program
    with the user's own permissions: a program the user cannot reach fails to start."""
    return [shutil.which("setpriv") or "setpriv", f"--reuid={slot.uid}", f"--regid={slot.gid}",
            "--clear-groups", "--no-new-privs", "--inh-caps=-all", "--bounding-set=-all", "--",
            shutil.which("env") or "/usr/bin/env", "--"]


def run(slot: Slot | None, argv: Sequence[str], cwd: Path | str, env: Mapping[str, str], *,
        wall: float, memory: int, cpu: int, nproc: int = 512, fsize: int = GiB) -> Outcome:
    """Run ``argv`` as the slot's user (``slot`` None: as this process's user), with exactly
    ``env``, stdin /dev/null, in a session of its own, each process limited to ``memory`` bytes
    of address space, ``cpu`` seconds, files of ``fsize`` bytes, no core dumps, and the user to
    ``nproc`` processes. After ``wall`` seconds, or when it ends, every process of the slot's
    user is killed (slot None: the process tree and group, as nothing else tells them apart)."""
    limits = {resource.RLIMIT_AS: memory, resource.RLIMIT_CPU: cpu,
              resource.RLIMIT_FSIZE: fsize, resource.RLIMIT_CORE: 0}
    if slot is not None:
        limits[resource.RLIMIT_NPROC] = nproc  # counts all the user's processes: only a slot's are ours alone
        _kill_user(slot)  # left by an interrupted batch: they could read the next scratch folder
        argv = [*_drop(slot), *argv]
    process = subprocess.Popen(list(argv), cwd=cwd, env=dict(env), stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               start_new_session=True, preexec_fn=functools.partial(_set_limits, limits))
    tail = _Tail()
    try:
        timed_out = _collect(process, tail, wall)
    finally:
        survivors = _kill_user(slot, process.pid) if slot is not None else _kill_tree(process.pid)
        tail.drain(process.stdout.fileno(), DRAIN_SECONDS)
        process.stdout.close()
        returncode = process.wait()
    return Outcome(returncode, tail.text(), timed_out, survivors)


def _set_limits(limits: dict[int, int]) -> None:
    """In the child, before exec (root may raise a hard limit; others only lower it)."""
    for kind, value in limits.items():
        hard = resource.getrlimit(kind)[1]
        if os.geteuid() != 0 and hard != resource.RLIM_INFINITY:
            value = min(value, hard)
        resource.setrlimit(kind, (value, value))


class _Tail:
    """The last OUTPUT_CHARS characters of a stream, kept in bounded memory."""

    def __init__(self):
        self.data = bytearray()

    def read(self, fd: int) -> bool:
        """Read what is there; False at the end of the stream."""
        chunk = os.read(fd, 1 << 16)
        self.data += chunk
        if len(self.data) > 8 * OUTPUT_CHARS:
            del self.data[:-4 * OUTPUT_CHARS]  # a character is at most 4 bytes of UTF-8
        return bool(chunk)

    def drain(self, fd: int, seconds: float) -> None:
        """Read until the end of the stream, or for ``seconds`` if something still holds it open."""
        poller, end = select.poll(), time.monotonic() + seconds
        poller.register(fd, select.POLLIN)
        while (left := end - time.monotonic()) > 0 and poller.poll(left * 1000) and self.read(fd):
            pass

    def text(self) -> str:
        return self.data[-4 * OUTPUT_CHARS:].decode(errors="replace")[-OUTPUT_CHARS:]


def _collect(process: subprocess.Popen, tail: _Tail, wall: float) -> bool:
    """Keep the output until the main process ends; True if it was still running after ``wall``
    seconds. A process it left behind may hold the output open: its end is not awaited."""
    deadline, poller, streaming = time.monotonic() + wall, select.poll(), True
    poller.register(process.stdout.fileno(), select.POLLIN)
    while process.poll() is None:
        left = deadline - time.monotonic()
        if left <= 0:
            return True
        if streaming:
            if poller.poll(min(left, 0.1) * 1000):
                streaming = tail.read(process.stdout.fileno())
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
        if uids and uid in (uids.real, uids.effective) and process.info["status"] != psutil.STATUS_ZOMBIE:
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
    groups = {pid} | {_group(p.pid) for p in tree} - {None}
    victims = {p.pid: p for p in tree} | {p.pid: p for p in psutil.process_iter() if _group(p.pid) in groups}
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


# ---- the kit, unchanged ---------------------------------------------------------------

def _site_packages(kit: Path) -> list[Path]:
    return sorted((Path(kit) / VENV / "lib").glob("python*/site-packages"))


def kit_manifest(kit: Path) -> dict[str, str]:
    """{path relative to the kit: sha256} of every file grading depends on: PROTECTED, and in
    the virtualenv pyvenv.cfg and what every Python start runs from site-packages (*.pth,
    sitecustomize, usercustomize). A link maps to "link -> target"."""
    kit = Path(kit)
    tops = [kit / name for name in (*PROTECTED, f"{VENV}/pyvenv.cfg")]
    for site in _site_packages(kit):
        tops += sorted(p for pattern in ("*.pth", "sitecustomize*", "usercustomize*") for p in site.glob(pattern))
    manifest = {}
    for top in tops:
        if not os.path.lexists(top):
            continue
        for path in _walk(top, skip=("__pycache__",)):
            mode = os.lstat(path).st_mode
            if stat.S_ISLNK(mode):
                manifest[os.path.relpath(path, kit)] = f"link -> {os.readlink(path)}"
            elif stat.S_ISREG(mode):
                manifest[os.path.relpath(path, kit)] = _sha256(path)
    return manifest


def _sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        while chunk := file.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def verify_kit(kit: Path, manifest: dict[str, str], deep: bool = True) -> list[str]:
    """How the kit differs from ``manifest`` (changed, missing, added files), and, when
    ``deep``, the virtualenv's entries that users other than its owner could change (a walk of
    its 50,000 entries, about 0.5 s: the grader does it at the start and end of a batch)."""
    now = kit_manifest(kit)
    return ([f"changed: {p}" for p in sorted(now.keys() & manifest.keys()) if now[p] != manifest[p]]
            + [f"missing: {p}" for p in sorted(manifest.keys() - now.keys())]
            + [f"added: {p}" for p in sorted(now.keys() - manifest.keys())]
            + (_venv_writable(Path(kit)) if deep else []))


def _venv_writable(kit: Path) -> list[str]:
    sandbox_uids = {user.pw_uid for user in pwd.getpwall() if user.pw_name.startswith(USER_PREFIX)}
    found = []
    for path in _walk(kit / VENV) if os.path.lexists(kit / VENV) else []:
        info = os.lstat(path)
        if info.st_uid in sandbox_uids or (not stat.S_ISLNK(info.st_mode) and info.st_mode & 0o022):
            found.append(f"writable by others: {os.path.relpath(path, kit)}")
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m autograder.sandbox", description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=("setup", "check"), help="setup (root): make the users "
                        "and lock the kit; check: say whether grading can be sandboxed here")
    parser.add_argument("--slots", type=int, default=4, help="parallel workers (one user each)")
    parser.add_argument("--kit", type=Path, default=ROOT)
    parser.add_argument("--quiet", action="store_true", help="print only changes and problems")
    args = parser.parse_args(argv)
    if args.command == "setup":
        for change in setup(args.kit, args.slots):
            print(change)
    why = refusal(args.kit, args.slots)
    if why or not args.quiet:
        print(f"sandboxed grading is impossible here: {why}" if why else "sandboxed grading is possible here")
    return 1 if why else 0


if __name__ == "__main__":
    sys.exit(main())
