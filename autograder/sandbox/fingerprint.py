"""The kit, unchanged: the sha256 of every file grading depends on, and the virtualenv closed
to other users.

    kit_manifest(kit)                   {path relative to the kit: sha256}
    verify_kit(kit, manifest)           how the kit differs from it
"""

from __future__ import annotations

import hashlib
import os
import pwd
import stat
from collections.abc import Iterator
from pathlib import Path

from autograder.kit import PROTECTED
from autograder.sandbox.accounts import USER_PREFIX

VENV = ".venv"


def walk(top: Path, skip: tuple[str, ...] = ()) -> Iterator[str]:
    """``top`` and every entry below it, links not followed, folders named in ``skip`` left out."""
    yield str(top)
    if os.path.islink(top):
        return
    for folder, dirs, files in os.walk(top):
        dirs[:] = [d for d in dirs if d not in skip]
        for name in dirs + files:
            yield os.path.join(folder, name)


def site_packages(kit: Path) -> list[Path]:
    return sorted((Path(kit) / VENV / "lib").glob("python*/site-packages"))


def kit_manifest(kit: Path) -> dict[str, str]:
    """{path relative to the kit: sha256} of every file grading depends on: PROTECTED, and in
    the virtualenv pyvenv.cfg and what every Python start runs from site-packages (*.pth,
    sitecustomize, usercustomize). A link maps to "link -> target"."""
    kit = Path(kit)
    tops = [kit / name for name in (*PROTECTED, f"{VENV}/pyvenv.cfg")]
    for site in site_packages(kit):
        tops += sorted(
            p
            for pattern in ("*.pth", "sitecustomize*", "usercustomize*")
            for p in site.glob(pattern)
        )
    manifest = {}
    for top in tops:
        if not os.path.lexists(top):
            continue
        for path in walk(top, skip=("__pycache__",)):
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
    return (
        [f"changed: {p}" for p in sorted(now.keys() & manifest.keys()) if now[p] != manifest[p]]
        + [f"missing: {p}" for p in sorted(manifest.keys() - now.keys())]
        + [f"added: {p}" for p in sorted(now.keys() - manifest.keys())]
        + (_venv_writable(Path(kit)) if deep else [])
    )


def _venv_writable(kit: Path) -> list[str]:
    sandbox_uids = {user.pw_uid for user in pwd.getpwall() if user.pw_name.startswith(USER_PREFIX)}
    found = []
    for path in walk(kit / VENV) if os.path.lexists(kit / VENV) else []:
        info = os.lstat(path)
        if info.st_uid in sandbox_uids or (not stat.S_ISLNK(info.st_mode) and info.st_mode & 0o022):
            found.append(f"writable by others: {os.path.relpath(path, kit)}")
    return found
