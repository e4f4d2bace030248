"""The GPU check: the hidden judging path, the mutation corpus and the outcome certificate on
one device, for the day a CUDA machine is available (the kit is developed on CPUs only).

    python -m autograder.gpu_check [--device cuda] [--seeds 10] [--jobs N] [--skip-certificate]
                                   [--probe-seed S] [--smoke]

Needs PyTorch, NumPy, matplotlib and tqdm only (what the notebooks and ``hw2utils`` import): no
Jupyter, nbgrader or pytest, no network. It runs from the kit's folder (``tests/mutants.py``
holds the corpus) with that folder on the import path (``python -m`` from it does that).

(a) reference: each notebook's reference answers (the release with ``source/hw2``'s answers
    typed in) run cell by cell in grading mode on ``--device`` ($HW2_DEVICE), each test cell
    replaced by its hidden call's probe (``hw2probes``, under the run seed ``--probe-seed``)
    and judge (``autograder.judging``, data through the grader's bounded decoding): every
    aspect must pass. The probes also exercise CUDA wherever it exists, whatever ``--device``.
(b) mutants: each wrong answer of ``tests/mutants.py``, its notebook run up to its task's last
    test cell: a test cell of its task must fail and its message must contain ``says``; a
    ``cuda_only`` mutant counts on CUDA only.
(c) certificate: ``python -m lessons.certify --device D --seeds K --jobs N``: every claim of
    ``lessons/claims.py`` must hold (9 of 10 seeds).

Not exercised: the sandbox, nbclient and nbgrader (device-independent); policed answers' probes
run here in this process, not in the grader's isolated run with its tripwires. Details print
first, then one summary line; exit status 1 on any failure, 2 when the machine cannot run it.
--smoke (the test suite, on CPU): the reference, one mutant per notebook and ``certify --smoke``
(1 seed, 20 epochs, claims reported but not enforced).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import io
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import types
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from autograder.aspects import Verdict
    from autograder.runnable import HiddenCall

T = TypeVar("T")
R = TypeVar("R")
ROOT = Path(__file__).resolve().parents[1]
# what the notebooks, hw2utils and hw2checks import besides torch and the standard library
NEEDED = ("torch", "numpy", "matplotlib", "tqdm")
DEFAULT_PROBE_SEED = 20261207  # any seed works (tests/test_probe_seeds.py); fixed, so reruns repeat


def missing_packages() -> list[str]:
    missing = []
    for name in NEEDED:
        try:
            importlib.import_module(name)
        except ImportError:
            missing.append(name)
    return missing


def refusal(device: str) -> str | None:
    """Why this machine cannot run the check (one line), or None."""
    missing = missing_packages()
    if missing:
        return (
            f"gpu-check: missing Python packages {', '.join(missing)} (the notebooks and hw2utils "
            f"import them): pip install {' '.join(missing)}; offline, `pip download {' '.join(missing)} "
            "-d wheels` on a machine with the same Python, then `pip install --no-index --find-links "
            "wheels " + " ".join(missing) + "` here"
        )
    import torch

    if device.startswith("cuda") and not torch.cuda.is_available():
        return (
            f"gpu-check: --device {device} asked, but torch {torch.__version__} sees no CUDA GPU "
            f"(built for CUDA {torch.version.cuda}); run it on a GPU machine, or --device cpu"
        )
    return None


def _corpus() -> types.ModuleType:
    """tests/mutants.py, the mutation corpus's one home (it imports no pytest)."""
    tests = str(ROOT / "tests")
    if tests not in sys.path:
        sys.path.insert(0, tests)
    import mutants

    return mutants


def _hand_in_ec_model(folder: Path) -> None:
    """The reference's EC1 model file, handed in beside notebook 4 as in the example class
    (``scripts/examples.py``: the EC1 solution trained on $HW2_DEVICE, saved by save_ec_model)."""
    scripts = str(ROOT / "scripts")
    if scripts not in sys.path:
        sys.path.insert(0, scripts)
    import examples
    import hw2utils

    with tempfile.TemporaryDirectory() as other:
        examples.write_ec_models(
            folder / hw2utils.EC_MODEL_FILE, Path(other) / hw2utils.EC_MODEL_FILE
        )


# (a) and (b): notebooks run cell by cell, test cells probed and judged ------------------------


def _worker_init(device: str, seed: int, threads: int) -> None:
    """Each worker (and a --jobs 1 run) is a grading kernel: grading mode, the chosen device,
    the kit's folder on the import path (the notebooks run in scratch folders)."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    import matplotlib

    matplotlib.use("Agg")
    import torch

    torch.set_num_threads(threads)
    os.environ.update({"HW2_GRADING_MODE": "1", "HW2_DEVICE": device, "HW2_PROBE_SEED": str(seed)})


def _verdict(call: HiddenCall, space: dict[str, Any], seed: int, submission: Path) -> Verdict:
    """The probe on the notebook's objects, its data through the grader's bounded decoding, and
    the judge under the run's seed: the grader's path, in one process (the thunk is
    ``runnable.probe_source``'s)."""
    import hw2probes
    from autograder import bounded, judging
    from autograder.aspects import Context, Verdict

    data = hw2probes.collect(
        hw2probes.probe_named(call.probe),
        lambda: eval(f"({call.arguments}{',' if call.arguments else ''})", space),
    )
    try:
        data = bounded.load_torch(
            hw2probes.to_bytes(data), bounded.PROBE_DATA, hw2probes.from_bytes
        )
    except bounded.Refused as why:
        return Verdict(False, f"{call.check}: probe data refused: {why}", malformed=True)
    return judging.judge(
        call.part, call.check, call.literals, data, Context(submission=submission, seed=seed)
    )


def run_notebook(
    nb: dict[str, Any],
    notebook: str,
    seed: int,
    prefix: str = "",
    stop_early: bool = False,
    hand_in: Callable[[Path], None] | None = None,
) -> dict[str, Any]:
    """Run ``nb``'s code cells in order in a fresh namespace and a scratch folder holding the
    notebook (the submission the part 4 and EC judges read); judge each test cell whose grade
    id starts with ``prefix``. With ``stop_early``, stop after the last of them. ``hand_in(folder)``
    adds the files a student submits with the notebook.
    Returns {"verdicts": {grade id: (passed, message)}, "errors": [cell errors], "seconds"}."""
    import matplotlib.pyplot as plt

    from autograder.runnable import hidden_calls, source_text

    mutants = _corpus()
    calls = hidden_calls(json.loads((mutants.SOURCE / f"{notebook}.ipynb").read_text()))
    cells = [(i, c) for i, c in enumerate(nb["cells"]) if c.get("cell_type") == "code"]
    wanted = [
        i
        for i, c in cells
        if c.get("metadata", {}).get("nbgrader", {}).get("grade_id", "") in calls
        and c["metadata"]["nbgrader"]["grade_id"].startswith(prefix)
    ]
    last = wanted[-1] if stop_early and wanted else len(nb["cells"])
    verdicts: dict[str, tuple[bool, str]] = {}
    errors: list[str] = []
    start, here = time.perf_counter(), os.getcwd()
    with tempfile.TemporaryDirectory(prefix="hw2-gpu-check-") as scratch:
        folder = Path(scratch)
        (folder / f"{notebook}.ipynb").write_text(json.dumps(nb))
        if hand_in:
            hand_in(folder)
        space: dict[str, Any] = {"__name__": "__main__"}
        os.chdir(folder)
        try:
            for i, cell in cells:
                if i > last:
                    break
                grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id", "")
                with (
                    contextlib.redirect_stdout(io.StringIO()),
                    contextlib.redirect_stderr(io.StringIO()),
                ):
                    if grade_id in calls:
                        if i in wanted:
                            v = _verdict(calls[grade_id], space, seed, folder)
                            verdicts[grade_id] = (v.passed, v.message)
                        continue
                    try:  # as nbclient with allow_errors: a failing cell does not stop the notebook
                        exec(compile(source_text(cell), f"{notebook} cell {i}", "exec"), space)
                    except Exception as exc:
                        errors.append(
                            f"cell {i} ({grade_id or 'provided'}) raised {type(exc).__name__}: {exc}"
                        )
        finally:
            os.chdir(here)
            plt.close("all")
    return {
        "verdicts": verdicts,
        "errors": errors,
        "seconds": round(time.perf_counter() - start, 2),
    }


def _reference_job(notebook: str, seed: int) -> dict[str, Any]:
    corpus = _corpus()
    hand_in = _hand_in_ec_model if notebook == corpus.NB4 else None
    return {
        "notebook": notebook,
        **run_notebook(corpus.load(notebook), notebook, seed, hand_in=hand_in),
    }


def _mutant_job(name: str, seed: int) -> dict[str, Any]:
    mutants = _corpus()
    mutant = next(m for m in mutants.MUTANTS if m.name == name)
    return {
        "mutant": name,
        **run_notebook(
            mutants.mutated(mutant), mutant.notebook, seed, prefix=mutant.task, stop_early=True
        ),
    }


def _map(
    function: Callable[[T, int], R], items: list[T], seed: int, device: str, jobs: int
) -> list[R]:
    """``function(item, seed)`` for each item, in ``jobs`` spawned workers (CUDA needs spawn)."""
    if jobs == 1:
        _worker_init(device, seed, threads=1)
        return [function(item, seed) for item in items]
    with ProcessPoolExecutor(
        jobs, mp_context=get_context("spawn"), initializer=_worker_init, initargs=(device, seed, 1)
    ) as pool:
        return list(pool.map(function, items, [seed] * len(items)))


def check_reference(results: list[dict[str, Any]]) -> tuple[int, int, list[str]]:
    """(aspects passed, aspects, failure lines) of the reference runs."""
    failures, passed, total = [], 0, 0
    for result in results:
        failures += [f"reference {result['notebook']}: {e}" for e in result["errors"]]
        for grade_id, (ok, message) in result["verdicts"].items():
            total += 1
            passed += ok
            if not ok:
                failures.append(f"reference {result['notebook']} {grade_id} fails: {message}")
    return passed, total, failures


def check_mutants(
    results: list[dict[str, Any]], corpus: types.ModuleType
) -> tuple[int, int, list[str]]:
    """(mutants caught, mutants, failure lines): caught = a test cell of its task fails with a
    message containing its ``says``."""
    failures, caught = [], 0
    by_name = {m.name: m for m in corpus.MUTANTS}
    for result in results:
        mutant = by_name[result["mutant"]]
        failed = {g: message for g, (ok, message) in result["verdicts"].items() if not ok}
        if not result["verdicts"]:
            failures.append(f"mutant {mutant.name}: no test cell of {mutant.task} was judged")
        elif not failed:
            failures.append(
                f"mutant {mutant.name} ({mutant.mistake}) passed every check of {mutant.task}"
            )
        elif not any(mutant.says.lower() in m.lower() for m in failed.values()):
            failures.append(f"mutant {mutant.name}: no message says {mutant.says!r}: {failed}")
        else:
            caught += 1
    return caught, len(results), failures


# (c): the certificate ----------------------------------------------------------------------


def check_certificate(
    device: str, seeds: int, jobs: int, smoke: bool
) -> tuple[int, int, list[str], str]:
    """Run lessons.certify in a child process (outside grading mode); (claims holding,
    claims checked, failure lines, its output's tail)."""
    with tempfile.TemporaryDirectory(prefix="hw2-gpu-certificate-") as out:
        command = [
            sys.executable,
            "-m",
            "lessons.certify",
            "--device",
            device,
            "--jobs",
            str(jobs),
            "--out",
            out,
        ] + (["--smoke"] if smoke else ["--seeds", str(seeds)])
        env = {
            k: v
            for k, v in os.environ.items()
            if k not in ("HW2_GRADING_MODE", "NBGRADER_EXECUTION", "HW2_PROBE_SEED")
        }
        done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
        path = Path(out) / "certificate.json"
        if not path.exists():
            return (
                0,
                0,
                [f"certify exited {done.returncode} without a certificate: {done.stderr[-2000:]}"],
                "",
            )
        verdicts = json.loads(path.read_text())["claims"]
    checked = [v for v in verdicts if v["status"] != "skipped"]
    holding = [v for v in checked if v["status"] == "holds"]
    failures = (
        []
        if smoke
        else [
            f"claim {v['id']} fails: {v['seeds_held']}/{v['seeds']} seeds (need "
            f"{v['needed']}): {v['text']}"
            for v in checked
            if v["status"] == "fails"
        ]
    )
    if done.returncode and not failures:
        failures.append(f"certify exited {done.returncode}: {done.stderr[-2000:]}")
    return len(holding), len(checked), failures, done.stdout


# the command -------------------------------------------------------------------------------


def device_name(device: str) -> str:
    import torch

    if device.startswith("cuda"):
        return torch.cuda.get_device_name(device)
    return platform.processor() or platform.machine()


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda", help="cuda (default), cuda:N or cpu")
    parser.add_argument("--seeds", type=int, default=10, help="certificate seeds (default 10)")
    parser.add_argument(
        "--jobs",
        type=int,
        default=os.cpu_count() or 1,
        help="parallel processes, for every part (default: one per CPU core)",
    )
    parser.add_argument(
        "--probe-seed",
        type=int,
        default=DEFAULT_PROBE_SEED,
        help="the run seed the probes draw their inputs from (as $HW2_PROBE_SEED)",
    )
    parser.add_argument("--skip-certificate", action="store_true", help="parts (a) and (b) only")
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="one mutant per notebook, certify --smoke (claims not enforced): the test suite's form",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    why = refusal(args.device)
    if why:
        print(why, file=sys.stderr)
        return 2
    corpus = _corpus()
    start = time.perf_counter()
    mutants = [m for m in corpus.MUTANTS if not m.cuda_only or args.device.startswith("cuda")]
    if args.smoke:
        mutants = list(
            {m.notebook: m for m in reversed(mutants)}.values()
        )  # the first of each notebook
    notebooks = (corpus.NB1, corpus.NB2, corpus.NB3, corpus.NB4)
    # slowest first, so that the pool's last jobs are short ones
    results = _map(_reference_job, list(notebooks)[::-1], args.probe_seed, args.device, args.jobs)
    passed, aspects, failures = check_reference(results)
    parts = [f"reference {passed}/{aspects} aspects pass"]
    print(
        f"(a) reference: {passed}/{aspects} aspects pass, "
        f"{time.perf_counter() - start:.1f} s ("
        + ", ".join(f"{r['notebook']} {r['seconds']} s" for r in results)
        + ")"
    )
    lap = time.perf_counter()
    results = _map(_mutant_job, [m.name for m in mutants], args.probe_seed, args.device, args.jobs)
    caught, total, lines = check_mutants(results, corpus)
    failures += lines
    parts.append(f"mutants {caught}/{total} caught")
    print(f"(b) mutants: {caught}/{total} caught, {time.perf_counter() - lap:.1f} s")
    if not args.skip_certificate:
        lap = time.perf_counter()
        holding, checked, lines, output = check_certificate(
            args.device, args.seeds, args.jobs, args.smoke
        )
        failures += lines
        seeds = 1 if args.smoke else args.seeds
        parts.append(
            f"claims {holding}/{checked} hold at {seeds} seed{'s' * (seeds != 1)}"
            + (" (smoke: not enforced)" if args.smoke else "")
        )
        print(output, end="")
        print(
            f"(c) certificate: {holding}/{checked} claims hold, {time.perf_counter() - lap:.1f} s"
        )
    for line in failures:
        print(f"FAIL {line}")
    print(
        f"gpu-check {args.device} {device_name(args.device)}: {', '.join(parts)}, "
        f"{(time.perf_counter() - start) / 60:.1f} min"
        + (f"; {len(failures)} failures" if failures else "")
    )
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
