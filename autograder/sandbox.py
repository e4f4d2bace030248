"""Running students' code as unprivileged users: plain users, file permissions, rlimits and
killing by uid; where the machine allows it, also a cgroup per slot (memory and processes
bounded for the whole submission) and namespaces (bubblewrap: no network, own PIDs and IPC,
private /tmp, a minimal read-only view of the file system).

    setup(kit, slots)                 root: users hw2sandbox0..N-1, and the kit locked
    refusal(kit, slots)               why sandboxed grading is impossible here, or None
    slots(n)                          the slots' users
    make_scratch(slot, path)          a folder only the slot's user can use
    isolation(slot)                   what this machine allows (probed once): the Isolation
    run(slot, argv, cwd, env, wall=, memory=, cpu=) -> Outcome
                                      as the slot's user; afterwards every process of it dies
    clean(slot)                       what the user left where anyone may write
    read_file(root, relative, max_bytes)   a file the sandbox wrote, read safely as root
    kit_manifest(kit), verify_kit(kit, manifest)   the files grading depends on, unchanged

Each parallel worker has a slot and each slot its own user, so killing one worker's processes
by uid never touches another's, and two students graded at once cannot read each other's
scratch folders. After ``setup`` the kit (mode 0711) gives other users nothing but its
virtualenv, which they may read and run but not write.

Isolation modes (``isolation()`` picks the strongest that works here; the environment
variable HW2_SANDBOX_ISOLATION=cgroup or =users asks for a weaker one):

    namespaces + cgroup   bwrap (as root, no user namespace) -> init (root, PID 1) -> setpriv
                          -> the program; one cgroup holds every process of the run
    cgroup                setpriv -> the program, in the slot's cgroup
    users + rlimits       setpriv -> the program (per-process limits only)

    python -m autograder.sandbox setup [--slots N]     (as root; one line: what it changed,
                                                        the isolation this machine allows)
    python -m autograder.sandbox check [--slots N]
"""
from __future__ import annotations

import argparse
import contextlib
import errno
import fcntl
import functools
import glob
import grp
import hashlib
import json
import os
import pwd
import re
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
PROTECTED = ("autograder", "lessons", "hw2probes", "hw2utils.py", "hw2checks.py", "source", "release", "data",
             "nbgrader_config.py", "requirements.txt")
TEMPORARY = ("/tmp", "/var/tmp", "/dev/shm", "/run/lock")  # where any user may write
STAND_INS = Path("/opt/hw2-sandbox")  # interpreters setup makes when others cannot run ours
OUTPUT_CHARS = 20_000
GiB = 2**30
KILL_PATIENCE = 60  # seconds; a process stuck in the kernel (D state) can take a while to die
DRAIN_SECONDS = 2  # reading what is left of the output once every writer should be dead
NAMESPACES, CGROUP, USERS = "namespaces + cgroup", "cgroup", "users + rlimits"
ISOLATION_VARIABLE = "HW2_SANDBOX_ISOLATION"  # "cgroup" or "users": a weaker mode than the machine allows
OOM_SCORE_ADJ = 1000  # the kernel's OOM killer picks a student's process before anything else
GRADER_LEAF = "hw2-grader"  # cgroup v2: where the grader moves so that its cgroup may delegate


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
    mode: str = USERS  # the isolation it ran under: NAMESPACES, CGROUP or USERS
    memory_peak: int | None = None  # bytes, all its processes together (cgroup modes)
    oom_kills: int = 0  # processes the kernel killed at the cgroup's memory limit

    @property
    def memory_limit_reached(self) -> bool:
        return self.oom_kills > 0


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


# ---- isolation: cgroups and namespaces ---------------------------------------------------

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
        _probed["probed"] = _probe(slot or _first_slot())
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
        trial = subprocess.run([*_namespaces(), *init, *_drop(slot), python(), "-c", ""],
                               cwd="/", env={"PATH": "/usr/bin:/bin"}, stdin=subprocess.DEVNULL,
                               capture_output=True, text=True, timeout=120, pass_fds=(write, given))
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
            folder = Path(point) / own.get("", "/").lstrip("/").removesuffix(GRADER_LEAF).rstrip("/")
            with contextlib.suppress(OSError):
                if {"memory", "pids"} <= set((folder / "cgroup.controllers").read_text().split()):
                    cls._delegate(folder)
                    return [folder], "v2"
        folders = []
        for controller in ("memory", "pids"):
            point = next((p for p, options in _mounts("cgroup") if controller in options), None)
            path = next((path for names, path in own.items() if controller in names.split(",")), None)
            if point is None or path is None:
                raise OSError(f"no {controller} controller (cgroup v1 or v2) here")
            folders.append(Path(point) / path.lstrip("/"))
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
            if error.errno != errno.EBUSY or (folder / "cgroup.procs").read_text().split() != [str(os.getpid())]:
                raise
        leaf = folder / GRADER_LEAF
        leaf.mkdir(exist_ok=True)
        (leaf / "cgroup.procs").write_text(str(os.getpid()))
        control.write_text("+memory +pids")

    @classmethod
    def create(cls, name: str, memory: int, pids: int) -> "_Cgroup":
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
                raise RuntimeError(f"processes {sorted(alive)} in cgroup {self.folders[0]} do not die")
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
        return _number(folder / "memory.max_usage_in_bytes"), _fields(folder / "memory.oom_control").get("oom_kill", 0)

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
        return {name: int(value) for name, value in (line.split() for line in path.read_text().splitlines())}
    except (OSError, ValueError):
        return {}


def _number(path: Path) -> int | None:
    try:
        return int(path.read_text())
    except (OSError, ValueError):
        return None


# the files of /etc that Python, the loader, locales and the notebook runner read (no secrets)
ETC = ("passwd", "group", "nsswitch.conf", "ld.so.cache", "ld.so.conf", "ld.so.conf.d", "localtime",
       "hosts", "host.conf", "alternatives", "fonts", "mime.types", "ssl/openssl.cnf", "matplotlibrc",
       "os-release", "python3.11")


@functools.lru_cache(maxsize=None)
def _python_folders(interpreter: str) -> tuple[str, ...]:
    """The folders the sandbox's interpreter runs from: its prefixes and import path (the
    stand-in virtualenv's .pth adds the grader's site-packages), asked of it with the first
    slot's user (it cannot change what it reports: problems() checks that nothing there is
    writable by the sandbox users)."""
    result = subprocess.run([*_drop(_first_slot()), interpreter, "-c",
                             "import json, sys; print(json.dumps([sys.prefix, sys.base_prefix, sys.exec_prefix, *sys.path]))"],
                            cwd="/", env={"PATH": "/usr/bin:/bin"}, stdin=subprocess.DEVNULL,
                            capture_output=True, text=True, timeout=120, check=True)
    folders = {os.path.abspath(p) for p in json.loads(result.stdout.splitlines()[-1]) if p and os.path.exists(p)}
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
    inside (``_drop``); bwrap keeps only the capabilities that needs."""
    args = [shutil.which("bwrap") or "bwrap", "--unshare-net", "--unshare-pid", "--unshare-ipc",
            "--unshare-uts", "--unshare-cgroup-try", "--die-with-parent", "--new-session", "--as-pid-1",
            "--cap-drop", "ALL", "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID",
            "--cap-add", "CAP_SETPCAP", "--ro-bind", "/usr", "/usr"]
    made = {"/"}

    def folders_to(path: str) -> list[str]:  # bwrap would make missing parents 0700: 0711 as the kit is
        parents = [str(p) for p in reversed(PurePosixPath(path).parents) if str(p) not in made]
        made.update(parents)
        return [a for parent in parents for a in ("--perms", "0755" if parent in ("/etc", "/var") else "0711",
                                                  "--dir", parent)]

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
    binds = [f"/etc/{name}" for name in ETC if os.path.exists(f"/etc/{name}")] + list(_python_folders(python()))
    for path in binds:
        args += [*folders_to(path), "--ro-bind", path, path]
    args += [a for device in sorted(glob.glob("/dev/nvidia*")) for a in ("--dev-bind", device, device)]
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


# ---- running --------------------------------------------------------------------------

def _drop(slot: Slot, cwd: str | None = None) -> list[str]:
    """setpriv: become the slot's user and group, no other groups, no capabilities now or
    ever (empty bounding set, no-new-privs: setuid programs grant nothing). setpriv still
    holds root's capabilities when it execs, so it execs env, which then finds the program
    with the user's own permissions: a program the user cannot reach fails to start. ``cwd``:
    env enters it as the user (in namespaces root has no right to enter a 0700 scratch folder)."""
    return [shutil.which("setpriv") or "setpriv", f"--reuid={slot.uid}", f"--regid={slot.gid}",
            "--clear-groups", "--no-new-privs", "--inh-caps=-all", "--bounding-set=-all", "--",
            shutil.which("env") or "/usr/bin/env", *([f"--chdir={cwd}"] if cwd else []), "--"]


def run(slot: Slot | None, argv: Sequence[str], cwd: Path | str, env: Mapping[str, str], *,
        wall: float, memory: int, cpu: int, nproc: int = 512, fsize: int = GiB,
        confine: Isolation | None = None) -> Outcome:
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
    limits = {resource.RLIMIT_AS: memory, resource.RLIMIT_CPU: cpu,
              resource.RLIMIT_FSIZE: fsize, resource.RLIMIT_CORE: 0}
    confine = Isolation(None, False) if slot is None else confine or isolation(slot)
    cgroup, report, given = None, None, -1
    if slot is not None:
        limits[resource.RLIMIT_NPROC] = nproc  # counts all the user's processes: only a slot's are ours alone
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
            argv = [*_namespaces(cwd if own else None, memory), *init, *_drop(slot, cwd if own else "/"), *argv]
        else:
            argv = [*_drop(slot), *argv]
    try:
        process = subprocess.Popen(list(argv), cwd=cwd, env=dict(env), stdin=subprocess.DEVNULL,
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
                                   pass_fds=(report[1], given) if report else (),
                                   preexec_fn=functools.partial(_child_setup, limits, cgroup))
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
        tail.drain(process.stdout.fileno(), DRAIN_SECONDS)
        process.stdout.close()
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
    return Outcome(returncode, tail.text(), timed_out, survivors, confine.mode if slot is not None else USERS,
                   peak, oom_kills)


def _read_report(fd: int) -> dict | None:
    """The namespace init's report, or None if it wrote none (killed, timed out)."""
    try:
        os.set_blocking(fd, False)
        with contextlib.suppress(BlockingIOError):
            data = os.read(fd, 4096)
            said = json.loads(data) if data else None
            if isinstance(said, dict) and all(isinstance(said.get(k), int) for k in ("returncode", "survivors")):
                return said
        return None
    except ValueError:
        return None
    finally:
        os.close(fd)


def _child_setup(limits: dict[int, int], cgroup: "_Cgroup | None") -> None:
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
    changes = setup(args.kit, args.slots) if args.command == "setup" else []
    why = refusal(args.kit, args.slots)
    if why or changes or not args.quiet:  # one line
        done = f"{summary(changes)}; " if args.command == "setup" else ""
        print(f"sandbox: {done}" + (f"sandboxed grading is impossible here: {why}" if why else
                                    f"sandboxed grading is possible here, isolation: {isolation()}"))
    return 1 if why else 0


def summary(changes: list[str]) -> str:
    """``setup``'s changes in a few words: the users made, how many of the kit's entries were
    closed to other users (one line per folder of the kit, merged), the rest as it is."""
    users = [c.removeprefix("created user ") for c in changes if c.startswith("created user ")]
    closed = [re.search(r"removed from (\d+) entries", c) for c in changes]
    entries = sum(int(m.group(1)) for m in closed if m)
    rest = [c for c, m in zip(changes, closed) if not m and not c.startswith("created user ")]
    said = ([f"created users {', '.join(users)}"] if users else []) + rest
    if entries:
        said.append(f"other users' permissions removed from {entries} entries in "
                    f"{sum(map(bool, closed))} folders of the kit")
    return "; ".join(said) or "nothing to change"


if __name__ == "__main__":
    sys.exit(main())
