"""After a run: reading what the sandbox wrote, safely as root, and removing what the slot's
user left where any user may write.

    read_file(root, relative, max_bytes)   a file the sandbox wrote, or None
    clean(slot)                            what the user left in /tmp, /dev/shm, SysV IPC
"""

from __future__ import annotations

import errno
import os
import shutil
import stat
import subprocess
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from types import TracebackType

from autograder.sandbox.accounts import Slot

TEMPORARY = ("/tmp", "/var/tmp", "/dev/shm", "/run/lock")  # where any user may write


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
        descriptors.append(
            os.open(
                parts[-1],
                os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC,
                dir_fd=descriptors[-1],
            )
        )
        info = os.fstat(descriptors[-1])
        if not stat.S_ISREG(info.st_mode) or info.st_nlink != 1:
            raise ValueError(f"{relative} is not a regular file with one name")
        data = bytearray()
        while (
            info.st_size <= max_bytes
            and len(data) <= max_bytes
            and (chunk := os.read(descriptors[-1], max_bytes + 1 - len(data)))
        ):
            data += chunk
        if info.st_size > max_bytes or len(data) > max_bytes:
            raise ValueError(f"{relative} holds more than {max_bytes} bytes")
        return bytes(data)
    except FileNotFoundError:
        return None
    except OSError as error:
        if error.errno in (errno.ELOOP, errno.ENOTDIR):
            raise ValueError(
                f"{relative}: a link or not a folder on the way ({error.strerror})"
            ) from None
        raise
    finally:
        for descriptor in descriptors:
            os.close(descriptor)


def clean(slot: Slot) -> list[str]:
    """Remove what the slot's user left where any user may write (TEMPORARY, and its SysV
    shared memory, queues and semaphores): it could carry state to the next student graded in
    the slot. Its scratch folder stays: an entry of the user's in a folder others cannot write
    was made by root. Call it once the user's processes are dead (``confinement.run`` sees to that).
    Returns what was removed."""
    removed = []
    for top in TEMPORARY:
        if os.path.isdir(top) and not os.path.islink(top):
            removed += _remove_owned(top, slot.uid)
    return removed + _remove_ipc(slot.uid)


def _remove_owned(folder: str, uid: int) -> list[str]:
    """Entries of ``uid`` in ``folder`` (if others may write it) and in the root folders below
    that others may enter."""
    removed: list[str] = []
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


def _vanished_is_fine(
    function: Callable[..., object],
    path: str,
    exc_info: tuple[type[BaseException], BaseException, TracebackType],
) -> None:
    if not issubclass(exc_info[0], FileNotFoundError):
        raise exc_info[1]


_IPC = {"shm": ("shmid", "-m"), "msg": ("msqid", "-q"), "sem": ("semid", "-s")}


def _remove_ipc(uid: int) -> list[str]:
    """SysV IPC objects owned or created by ``uid``: they outlive their processes."""
    removed: list[str] = []
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
