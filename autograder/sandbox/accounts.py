"""The sandbox's slots: one unprivileged user each, how root becomes it, and what it may use.

slots(n)                  the first ``n`` slots' users (``setup`` made them)
claim(n)                  ``n`` slots no other batch on this machine holds, while a block runs
make_scratch(slot, path)  a folder only the slot's user can use
drop(slot)                the setpriv argv that runs a program as the slot's user
python()                  the interpreter the sandbox runs notebooks with
"""

from __future__ import annotations

import contextlib
import fcntl
import grp
import hashlib
import os
import pwd
import shutil
import stat
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

USER_PREFIX = "hw2sandbox"
STAND_INS = Path("/opt/hw2-sandbox")  # interpreters setup makes when others cannot run ours


@dataclass(frozen=True)
class Slot:
    index: int
    user: str
    uid: int
    gid: int


def user_names(n: int) -> list[str]:
    return [f"{USER_PREFIX}{i}" for i in range(n)]


def first_slot() -> Slot:
    return slots(1)[0]


def python() -> str:
    """The interpreter the sandbox runs notebooks with: the grader's own, or, where other users
    cannot run that one (a pyenv build under root's 0700 home), the stand-in setup made."""
    stand_in = stand_in_folder() / "bin" / "python"
    return str(stand_in) if stand_in.exists() else sys.executable


def stand_in_folder() -> Path:
    return STAND_INS / f"venv-{hashlib.sha256(sys.prefix.encode()).hexdigest()[:12]}"


def slots(n: int) -> list[Slot]:
    """The first ``n`` slots' users."""
    found = []
    for index, user in enumerate(user_names(n)):
        try:
            uid, gid = pwd.getpwnam(user).pw_uid, grp.getgrnam(user).gr_gid
        except KeyError:
            raise LookupError(
                f"user or group {user} missing: run `python -m autograder.sandbox setup` as root"
            ) from None
        if uid == 0 or gid == 0:
            raise ValueError(f"{user} has uid {uid}, gid {gid}: a sandbox user must not be root")
        found.append(Slot(index, user, uid, gid))
    return found


@contextlib.contextmanager
def claim(n: int, patience: float = 3600) -> Iterator[list[Slot]]:
    """``n`` slots no other batch on this machine holds, held (an flock each, in a folder only
    root may write) until the block ends: two batches sharing a slot would kill each other's
    processes. Waits up to ``patience`` seconds for slots to come free."""
    users = sorted(
        (
            u.pw_name
            for u in pwd.getpwall()
            if u.pw_name.startswith(USER_PREFIX) and u.pw_name[len(USER_PREFIX) :].isdigit()
        ),
        key=lambda u: int(u[len(USER_PREFIX) :]),
    )
    if len(users) < n:
        raise LookupError(
            f"{n} slots wanted, {len(users)} sandbox users exist: run setup --slots {n}"
        )
    locks = STAND_INS / "locks"
    locks.mkdir(parents=True, exist_ok=True)
    os.chmod(locks, 0o700)
    held: dict[int, int] = {}
    deadline, told = time.monotonic() + patience, False
    try:
        while len(held) < n:
            for index in range(len(users)):
                if len(held) < n and index not in held:
                    fd = os.open(
                        locks / f"{USER_PREFIX}{index}.lock",
                        os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW,
                        0o600,
                    )
                    try:
                        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                        held[index] = fd
                    except BlockingIOError:
                        os.close(fd)
            if len(held) < n:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"no {n} free sandbox slots after {patience:.0f} s")
                if not told:
                    print(
                        f"waiting for another batch's sandbox slots ({len(held)} of {n} free)",
                        file=sys.stderr,
                    )
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
            raise PermissionError(
                f"{folder} does not let other users enter: {slot.user} could not reach {path}"
            )
    parent = os.stat(path.parent)
    if parent.st_mode & stat.S_IWOTH or parent.st_uid != os.geteuid():
        raise PermissionError(
            f"{path.parent} is not root's alone: another user could replace {path}"
        )
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path)
    elif os.path.lexists(path):
        os.unlink(path)
    os.mkdir(path, 0o700)
    os.chown(path, slot.uid, slot.gid)
    os.chmod(path, 0o700)
    return path


def drop(slot: Slot, cwd: str | None = None) -> list[str]:
    """setpriv: become the slot's user and group, no other groups, no capabilities now or
    ever (empty bounding set, no-new-privs: setuid programs grant nothing). setpriv still
    holds root's capabilities when it execs, so it execs env, which then finds the program
    with the user's own permissions: a program the user cannot reach fails to start. ``cwd``:
    env enters it as the user (in namespaces root has no right to enter a 0700 scratch folder)."""
    return [
        shutil.which("setpriv") or "setpriv",
        f"--reuid={slot.uid}",
        f"--regid={slot.gid}",
        "--clear-groups",
        "--no-new-privs",
        "--inh-caps=-all",
        "--bounding-set=-all",
        "--",
        shutil.which("env") or "/usr/bin/env",
        *([f"--chdir={cwd}"] if cwd else []),
        "--",
    ]
