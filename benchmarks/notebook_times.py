"""Wall time of each reference (source) notebook, run top to bottom in a fresh kernel.

    python benchmarks/notebook_times.py                 # grading mode (short training)
    python benchmarks/notebook_times.py --full          # full-length training, as a student runs it
    python benchmarks/notebook_times.py --full --only 03_training.ipynb
    python benchmarks/notebook_times.py --full --save build/executed   # keep the executed notebooks

Each notebook runs on a scratch copy of source/hw2 (running may write files), on
``--device`` (default: what hw2utils picks). Fails if any cell raises. Goal (issue 4):
all four together under 2 minutes in grading mode on the 2-core CPU machine.
"""

import argparse
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

import nbclient
import nbformat
import torch

ROOT = Path(__file__).resolve().parents[1]


def run(path: Path, save: Path | None = None) -> float:
    """Seconds to execute the notebook at `path`; with `save`, the executed copy is written there
    (its outputs hold every run's printed accuracies)."""
    nb = nbformat.read(path, 4)
    start = time.perf_counter()
    nbclient.NotebookClient(
        nb, timeout=3600, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    ).execute()
    seconds = time.perf_counter() - start
    if save:
        save.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, save / path.name)
    return seconds


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--full", action="store_true", help="full-length training (no grading mode)"
    )
    parser.add_argument("--only", nargs="*", help="notebook file names")
    parser.add_argument("--device", help="cpu or cuda (sets HW2_DEVICE)")
    parser.add_argument("--save", type=Path, help="folder for the executed notebooks")
    args = parser.parse_args(argv)
    os.environ["PYTHONPATH"] = str(ROOT)
    os.environ.pop("NBGRADER_EXECUTION", None)
    if args.full:
        os.environ.pop("HW2_GRADING_MODE", None)
    else:
        os.environ["NBGRADER_EXECUTION"] = "validate"
    if args.device:
        os.environ["HW2_DEVICE"] = args.device
    total = 0.0
    print(
        f"{platform.machine()}, {os.cpu_count()} cores, torch's default of {torch.get_num_threads()} threads; "
        f"mode: {'full' if args.full else 'grading'}"
    )
    with tempfile.TemporaryDirectory() as scratch:
        copy = Path(shutil.copytree(ROOT / "source" / "hw2", Path(scratch) / "hw2"))
        for path in sorted(copy.glob("*.ipynb")):
            if args.only and path.name not in args.only:
                continue
            seconds = run(path, args.save and args.save.resolve())
            total += seconds
            print(f"{path.name:28s} {seconds:7.1f} s", flush=True)
    print(f"{'total':28s} {total:7.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
