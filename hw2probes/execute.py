"""Execute the notebooks of one submission, inside the grading sandbox.

    python -m hw2probes.execute FOLDER --cell-timeout SECONDS

Runs as the sandbox's unprivileged user, so everything it writes is as untrusted as the
student's code: FOLDER/notebooks/*.ipynb (built by the grader: the student's answers, the
release's own cells, and a probe call in place of each test cell) are executed in order, each
in a fresh kernel, with nbclient; errors do not stop a notebook, a cell past the timeout is
interrupted. Results: FOLDER/executed/<name>.ipynb, and the probes' data in $HW2_PROBE_OUT.
A notebook whose kernel dies is saved as far as it got, and FOLDER/executed/status.json says
so ({name: null, or "kernel died" / the error that stopped it}).
"""
from __future__ import annotations

import argparse
from pathlib import Path


def execute(folder: Path, cell_timeout: int) -> None:
    import json

    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, DeadKernelError
    (folder / "executed").mkdir(exist_ok=True)
    status = {}
    for path in sorted((folder / "notebooks").glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        client = NotebookClient(nb, timeout=cell_timeout, kernel_name="python3",
                                allow_errors=True, interrupt_on_timeout=True,
                                resources={"metadata": {"path": str(folder)}})
        status[path.stem] = None
        try:
            client.execute()
        except DeadKernelError:
            status[path.stem] = "kernel died"
        except (CellExecutionError, RuntimeError) as exc:
            status[path.stem] = f"{type(exc).__name__}: {str(exc)[:300]}"
        nbformat.write(nb, folder / "executed" / path.name)
        (folder / "executed" / "status.json").write_text(json.dumps(status))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--cell-timeout", type=int, required=True)
    args = parser.parse_args(argv)
    execute(args.folder, args.cell_timeout)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
