"""The kit's main job (``bash run.sh``): from a fresh clone to a release and a graded class.

1. load both datasets and report their splits;
2. build ``source/hw2`` and ``release/hw2`` from ``notebooks/`` (scripts/build.py);
3. run nbgrader validate on every source notebook (in grading mode, so training is short)
   and ``validate --invert`` on every release notebook, on scratch copies, one per core;
4. build the student bundle (``build/student/hw2`` and ``hw2.zip``) and leak-check it;
5. grade the example class (scripts/examples.py: the reference, the blank release and four
   students with realistic mistakes) with two workers into ``build/demo``, and print the
   class summary and where the grades, tables and feedback are;
6. run the bowl and Part 4 helpers once and save their figures to ``build/``.
"""

import argparse
import csv
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
import hw2utils  # noqa: E402 -- the kit's root is on sys.path above
from autograder import grade, reports  # noqa: E402 -- as hw2utils
from autograder.kit import ASSIGNMENT  # noqa: E402 -- as hw2utils

sys.path.insert(0, str(ROOT / "scripts"))
import bundle  # noqa: E402 -- scripts/ is on sys.path above
import examples  # noqa: E402 -- as bundle
import leak_check  # noqa: E402 -- as bundle

VERDICTS = {
    False: "Success! Your notebook passes all the tests.",
    True: "Success! The notebook does not pass any tests.",
}


def check_datasets():
    for name in hw2utils.DATASET_FILES:
        ds = hw2utils.load_dataset(name, device="cpu")
        balance = ", ".join(
            f"{split} {getattr(ds, split + '_labels').mean().item():.3f}"
            for split in hw2utils.SPLITS
        )
        print(f"{ds}\n  share of label 1: {balance}")


def build():
    subprocess.run([sys.executable, "scripts/build.py"], cwd=ROOT, check=True)


def validate_one(folder: Path, notebook: str, invert: bool, env: dict) -> tuple[bool, str]:
    """nbgrader validate (``--invert`` for a release notebook; autograder/validate.py, which
    does not count a failed extra-credit cell as passed); returns (passed, its output)."""
    result = subprocess.run(
        [sys.executable, "-m", "autograder.validate", notebook, *(["--invert"] if invert else [])],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
    )
    return VERDICTS[invert] in result.stdout, result.stdout[-3000:] + result.stderr[-3000:]


def validate_all() -> bool:
    """nbgrader validate on scratch copies of source/ (must pass) and release/ (--invert).

    The eight runs are independent, so they run one per core, slowest (notebook 3 and 4)
    first; each kernel gets its share of the cores' threads so that they do not contend.
    """
    workers = max(1, min(os.cpu_count() or 1, 4))
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "OMP_NUM_THREADS": str(max(1, (os.cpu_count() or 1) // workers)),
    }
    jobs = []
    with tempfile.TemporaryDirectory() as scratch, ThreadPoolExecutor(workers) as pool:
        for tree, invert in (("source", False), ("release", True)):
            copy = Path(shutil.copytree(ROOT / tree / ASSIGNMENT, Path(scratch) / tree))
            for notebook in sorted(copy.glob("*.ipynb")):
                jobs.append((f"{tree}/{notebook.name}", invert, copy, notebook.name))
        jobs.sort(key=lambda job: job[3], reverse=True)
        start = time.perf_counter()
        futures = {
            pool.submit(validate_one, copy, name, invert, env): (label, invert)
            for label, invert, copy, name in jobs
        }
        ok = True
        for future in as_completed(futures):
            (label, invert), (passed, output) = futures[future], future.result()
            ok &= passed
            print(
                f"  {label:36s} validate{' --invert' if invert else ''}: "
                f"{'ok' if passed else 'FAILED'} ({time.perf_counter() - start:.0f} s since start)"
            )
            if not passed:
                print(output)
    return ok


def student_bundle(out: Path) -> bool:
    folder, archive = bundle.make_bundle(out / "student")
    leaks = leak_check.scan([folder, archive, ROOT / "release" / ASSIGNMENT])
    for leak in leaks:
        print(f"  LEAK {leak}")
    print(f"  {folder} and {archive}: {'clean' if not leaks else f'{len(leaks)} LEAKS'}")
    return not leaks


def grade_examples(out: Path) -> bool:
    submissions = out / "demo-submissions"
    students = examples.write_class(submissions)
    print(f"  {len(students)} students in {submissions}: {', '.join(students)}")
    shutil.rmtree(out / "demo", ignore_errors=True)  # a fresh gradebook each run
    trust = os.geteuid() != 0  # no sandbox users without root: say so, and grade anyway
    if trust:
        print("  not root: grading the example class without the sandbox (--trust-students)")
    grade.grade(submissions, out / "demo", jobs=2, trust_students=trust)
    reports.print_summary(out / "demo")
    with open(out / "demo" / "tasks.csv") as f:
        tasks = list(csv.DictReader(f))
    points = sum(float(r["points"]) for r in tasks if not r["task"].startswith("ec_"))
    extra = sum(float(r["points"]) for r in tasks if r["task"].startswith("ec_"))
    with open(out / "demo" / "grades.csv") as f:
        reference = next(r for r in csv.DictReader(f) if r["student"] == "reference")
    # the reference earns every autograded point and all the extra credit
    ok = float(reference["autograded"]) == points and float(reference["extra_credit"]) == extra
    print(
        f"  reference: {float(reference['autograded']):g} of {points:g} autograded points, "
        f"{float(reference['extra_credit']):g} of {extra:g} extra: {'ok' if ok else 'WRONG'}"
    )
    return ok


def helper_figures(out: Path):
    L = hw2utils.LossFunctionWithPlot()
    x = torch.tensor(hw2utils.BOWL_START, requires_grad=True)
    for _ in range(50):
        L(x).backward()
        with torch.no_grad():
            x -= 0.1 * x.grad
        x.grad = None
    L.plot_history()
    print(f"bowl: L(x0) = {L.losses[0]:.3f}, after 50 steps of lr 0.1: {L.losses[-1]:.3f}")
    xavier = hw2utils.run_init_experiment(
        lambda n_in, n_out, g: torch.randn(n_in, n_out, generator=g) / math.sqrt(n_in)
    )
    figures = {"bowl.png": L.figure, "activations_xavier.png": xavier.figure}
    for name, fig in figures.items():
        fig.savefig(out / name, dpi=80)
    print(f"figures written to {out}: {', '.join(figures)}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "build", help="where figures go")
    parser.add_argument(
        "--skip-notebooks",
        action="store_true",
        help="skip the build and the validation (tests/test_notebooks.py covers them)",
    )
    parser.add_argument(
        "--skip-grading",
        action="store_true",
        help="skip the bundle and the example class (tests cover them)",
    )
    args = parser.parse_args(argv)
    start = time.perf_counter()
    args.out.mkdir(parents=True, exist_ok=True)
    print("== datasets")
    check_datasets()
    ok = True
    if not args.skip_notebooks:
        print("== build: notebooks/ -> source/hw2 -> release/hw2")
        build()
        print("== nbgrader validate (grading mode: short training)")
        ok = validate_all()
    if not args.skip_grading:
        print("== student bundle")
        ok &= student_bundle(args.out)
        print("== grading the example class (2 workers)")
        ok &= grade_examples(args.out)
    print("== helpers")
    helper_figures(args.out)
    print(f"main job {'finished' if ok else 'FAILED'} in {time.perf_counter() - start:.0f} s")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
