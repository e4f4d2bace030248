"""Execute the notebooks of one submission, inside the grading sandbox.

    python -m hw2probes.execute FOLDER --cell-timeout SECONDS [--parallel N]

Runs as the sandbox's unprivileged user, so everything it writes is as untrusted as the
student's code: FOLDER/notebooks/*.ipynb (built by the grader: the student's answers, the
release's own cells, and a probe call in place of each test cell) are executed with nbclient,
each in a fresh kernel, ``--parallel`` at a time (each from a process of its own, longest
first, one torch thread each; with 1, one after another from this process); errors do not
stop a notebook, a cell past the timeout is interrupted. Results: FOLDER/executed/<name>.ipynb, the probes' data in
$HW2_PROBE_OUT, and FOLDER/executed/<name>.status, JSON: {"ended": how the run ended (see
``status``), "cell": the index of the cell running then, "timeouts": indices of the cells
interrupted at the time limit}. It is rewritten as each cell starts ("ended": null), so a
runner killed from outside (the grader's wall clock, memory) still says where it was. A
notebook whose kernel dies, or does not start, is saved as far as it got.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

FINISHED, KERNEL_DIED = "finished", "kernel died"  # how a run ended; else the error that ended it


def status(ended: str | None, cell: int | None, timeouts: list[int]) -> str:
    """One notebook's status file: the grader reads it (as untrusted) to say why checks never ran."""
    return json.dumps({"ended": ended, "cell": cell, "timeouts": timeouts})


def execute_one(folder: Path, name: str, cell_timeout: int) -> None:
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import DeadKernelError

    nb = nbformat.read(folder / "notebooks" / f"{name}.ipynb", as_version=4)  # type: ignore[no-untyped-call]  # nbformat has no types
    path = folder / "executed" / f"{name}.status"
    cell: int | None = None
    started = 0.0
    timeouts: list[int] = []

    def starting(cell_index: int, **_: object) -> None:
        nonlocal cell, started
        cell, started = cell_index, time.monotonic()
        path.write_text(status(None, cell, timeouts))

    def replied(
        cell_index: int, execute_reply: dict[str, Any] | None, **_: object
    ) -> None:  # an interrupted cell replies with an error
        if (execute_reply or {}).get("content", {}).get(
            "status"
        ) == "error" and time.monotonic() - started >= cell_timeout:
            timeouts.append(cell_index)

    client = NotebookClient(
        nb,
        timeout=cell_timeout,
        kernel_name="python3",
        allow_errors=True,
        interrupt_on_timeout=True,
        resources={"metadata": {"path": str(folder)}},
        on_cell_execute=starting,
        on_cell_executed=replied,
    )
    ended = FINISHED
    path.write_text(status(None, None, timeouts))
    try:
        client.execute()
    except DeadKernelError:
        ended = KERNEL_DIED
    except Exception as exc:  # a kernel that did not start (RuntimeError), ...: say so, save, go on
        ended = f"{type(exc).__name__}: {str(exc)[:300]}"
    nbformat.write(nb, folder / "executed" / f"{name}.ipynb")  # type: ignore[no-untyped-call]  # nbformat has no types
    path.write_text(status(ended, None if ended == FINISHED else cell, timeouts))


def execute(folder: Path, cell_timeout: int, parallel: int) -> None:
    """Each notebook in a process of its own, ``parallel`` at a time, biggest file first."""
    (folder / "executed").mkdir(exist_ok=True)
    names = [
        p.stem
        for p in sorted((folder / "notebooks").glob("*.ipynb"), key=lambda p: -p.stat().st_size)
    ]
    if parallel <= 1:  # one at a time: in this process (each still in a kernel of its own)
        for name in names:
            execute_one(folder, name, cell_timeout)
        return
    env = dict(os.environ)
    if parallel > 1:  # the cores are shared by the notebooks, not by torch's threads
        env.update(OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    running: list[subprocess.Popen[bytes]] = []
    for name in names:
        while len(running) >= parallel:
            running.pop(0).wait()
        running.append(
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "hw2probes.execute",
                    str(folder),
                    "--cell-timeout",
                    str(cell_timeout),
                    "--only",
                    name,
                ],
                env=env,
            )
        )
    for process in running:
        process.wait()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--cell-timeout", type=int, required=True)
    parser.add_argument("--parallel", type=int, default=1, help="notebooks run at once")
    parser.add_argument("--only", help="run this notebook, in this process")
    args = parser.parse_args(argv)
    if args.only:
        execute_one(args.folder, args.only, args.cell_timeout)
    else:
        execute(args.folder, args.cell_timeout, args.parallel)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
