"""Provisioning the sandbox (root, once per machine): the slots' users, the kit locked, a
stand-in interpreter where other users cannot run the grader's; and whether sandboxed grading
is possible here.

    setup(kit, slots)      root: users hw2sandbox0..N-1, and the kit locked
    refusal(kit, slots)    why sandboxed grading is impossible here, or None
    problems(kit, n)       each thing that stands in its way

    python -m autograder.sandbox setup [--slots N]     (as root; one line: what it changed,
                                                        the isolation this machine allows)
    python -m autograder.sandbox check [--slots N]
"""

from __future__ import annotations

import argparse
import grp
import os
import pwd
import re
import shutil
import stat
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import autograder.sandbox
from autograder.kit import PROTECTED
from autograder.sandbox.accounts import Slot, drop, first_slot, slots, stand_in_folder, user_names
from autograder.sandbox.accounts import (
    python as _interpreter,  # for functions whose argument is called python
)
from autograder.sandbox.confinement import isolation
from autograder.sandbox.fingerprint import VENV, site_packages, walk

ROOT = Path(__file__).resolve().parents[2]


def _require_root() -> None:
    if os.geteuid() != 0:
        raise PermissionError("only root can set up or use the sandbox users")


def setup(kit: Path, slots: int = 4) -> list[str]:
    """Create the slots' users if missing and lock the kit: ``kit`` mode 0711, no permission
    for other users on anything in it but the virtualenv, which stays readable and runnable
    by all and writable by its owner only. Returns what was changed (nothing, a second time)."""
    _require_root()
    changes = [f"created user {user}" for user in user_names(slots) if _create_user(user)]
    return changes + _lock(Path(os.path.abspath(kit))) + _make_stand_in(first_slot())


def _runs_as(slot: Slot, interpreter: str) -> bool:
    return (
        subprocess.run(
            [*drop(slot), interpreter, "-c", ""],
            cwd="/",
            env={"PATH": "/usr/bin:/bin"},
            stdin=subprocess.DEVNULL,
            capture_output=True,
        ).returncode
        == 0
    )


def _make_stand_in(slot: Slot) -> list[str]:
    """Where the sandbox users cannot run this interpreter, a virtualenv of a system Python of
    the same version whose site-packages reach this one's (a .pth file), root's and readable
    by all: the same packages, run by an interpreter other users may read. Compiled packages
    (torch) are built for the version's ABI, not for one build of it."""
    folder = stand_in_folder()
    if _runs_as(slot, sys.executable) or (folder / "bin" / "python").exists():
        return []
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    base = next(
        (
            p
            for p in (f"/usr/bin/{version}", f"/usr/local/bin/{version}")
            if os.path.exists(p) and _runs_as(slot, p)
        ),
        None,
    )
    if base is None:
        return []  # problems() says that the sandbox users cannot run Python
    subprocess.run(
        [base, "-m", "venv", "--without-pip", str(folder)], check=True, capture_output=True
    )
    import site

    (folder / "lib" / version / "site-packages" / "hw2-grader-packages.pth").write_text(
        "".join(f"import site; site.addsitedir({path!r})\n" for path in site.getsitepackages())
    )
    for path in [folder.parent, *map(Path, walk(folder))]:
        if not path.is_symlink():
            os.chmod(path, 0o755 if path.is_dir() or os.stat(path).st_mode & 0o100 else 0o644)
    return [
        f"{folder}: a {version} from {base} for the sandbox ({sys.executable} is not runnable by other users)"
    ]


def _create_user(user: str) -> bool:
    """Make ``user``, a system user with a group of its own and no home or shell; False if
    it exists already."""
    if _exists(pwd.getpwnam, user):
        return False
    group = ["--gid", user] if _exists(grp.getgrnam, user) else ["--user-group"]
    shell = "/usr/sbin/nologin" if os.path.exists("/usr/sbin/nologin") else "/bin/false"
    result = subprocess.run(
        [
            "useradd",
            "--system",
            "--no-create-home",
            "--home-dir",
            "/nonexistent",
            "--shell",
            shell,
            *group,
            user,
        ],
        capture_output=True,
        text=True,
    )
    if result.returncode != 0 and not _exists(pwd.getpwnam, user):  # not made by a setup racing us
        raise RuntimeError(f"useradd {user} failed: {result.stderr.strip()}")
    return result.returncode == 0


def _exists(lookup: Callable[[str], object], name: str) -> bool:
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
                changes.append(
                    f"{kit / name}: {fixed} entries made readable by all, writable by the owner only"
                )
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
    for path in walk(top):
        info = os.lstat(path)
        mode = stat.S_IMODE(info.st_mode)
        if (
            not stat.S_ISLNK(info.st_mode)
            and (new := wanted(mode, stat.S_ISDIR(info.st_mode))) != mode
        ):
            os.chmod(path, new)
            changed += 1
    return changed


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
    if missing := [
        user
        for user in user_names(n)
        if not _exists(pwd.getpwnam, user) or not _exists(grp.getgrnam, user)
    ]:
        return [f"user(s) {', '.join(missing)} missing: run `python -m autograder.sandbox setup`"]
    kit, python, users = Path(os.path.abspath(kit)), python or _interpreter(), slots(n)
    who: dict[str, list[str]] = {}  # what was possible (or not) -> the users who found it so
    for slot in users:
        for finding in _tried_as(slot, kit, python):
            who.setdefault(finding, []).append(slot.user)
    return _unsafe_parents(kit, {slot.uid for slot in users}) + [
        f"{', '.join(names)} {finding}" for finding, names in who.items()
    ]


def _unsafe_parents(kit: Path, uids: set[int]) -> list[str]:
    """Folders above the kit in which another user could swap the next entry: writable by
    others (the sticky bit protects only root's entries) or a sandbox user's own."""
    found = []
    for path in dict.fromkeys([Path(os.path.abspath(kit)), kit.resolve()]):
        for child, parent in zip([path, *path.parents], path.parents):
            folder, entry = os.stat(parent), os.lstat(child)
            others_write = folder.st_mode & stat.S_IWOTH and not (
                folder.st_mode & stat.S_ISVTX and entry.st_uid == 0
            )
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
    tries: list[tuple[str, str | Path]] = [
        ("-r", kit),
        ("-w", kit),
        ("-r", kit / "autograder" / "grade.py"),
        ("-w", kit / "autograder" / "grade.py"),
    ]
    for name in PROTECTED:
        tries += [("-r", kit / name), ("-w", kit / name), ("-x", kit / name)]
    for folder in [kit / VENV, kit / VENV / "bin", *site_packages(kit)]:
        tries += [("-w", folder)] + [("-w", pth) for pth in sorted(folder.glob("*.pth"))]
    interpreter = os.path.realpath(python)
    tries += [("-w", interpreter), ("-w", os.path.dirname(interpreter))]
    arguments = [str(a) for test, path in tries if os.path.lexists(path) for a in (test, path)]
    result = subprocess.run(
        [*drop(slot), "/bin/sh", "-c", _TRY, "sh", python, *arguments],
        cwd="/",
        env={"PATH": "/usr/bin:/bin"},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if result.returncode != 0:
        return [f"could not run a shell: {result.stderr.strip()[-300:]}"]
    found = []
    for line in result.stdout.splitlines():
        verb, path = line.split(" ", 1)
        found.append(f"{_VERBS[verb]} {path}")
        if verb == "cannot-run":
            found[-1] += (
                f" ({interpreter} must be readable, and its folders enterable, by other users)"
            )
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m autograder.sandbox", description=autograder.sandbox.__doc__.split("\n\n")[0]
    )
    parser.add_argument(
        "command",
        choices=("setup", "check"),
        help="setup (root): make the users "
        "and lock the kit; check: say whether grading can be sandboxed here",
    )
    parser.add_argument("--slots", type=int, default=4, help="parallel workers (one user each)")
    parser.add_argument("--kit", type=Path, default=ROOT)
    parser.add_argument("--quiet", action="store_true", help="print only changes and problems")
    args = parser.parse_args(argv)
    changes = setup(args.kit, args.slots) if args.command == "setup" else []
    why = refusal(args.kit, args.slots)
    if why or changes or not args.quiet:  # one line
        done = f"{summary(changes)}; " if args.command == "setup" else ""
        print(
            f"sandbox: {done}"
            + (
                f"sandboxed grading is impossible here: {why}"
                if why
                else f"sandboxed grading is possible here, isolation: {isolation()}"
            )
        )
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
        said.append(
            f"other users' permissions removed from {entries} entries in "
            f"{sum(map(bool, closed))} folders of the kit"
        )
    return "; ".join(said) or "nothing to change"
