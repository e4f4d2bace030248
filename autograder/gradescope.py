"""Gradescope autograder: build the bundle, and grade one submission inside it.

    python -m autograder.gradescope build [--out build/gradescope_autograder.zip]
                                          [--visibility after_published]
    python -m autograder.gradescope run [--root /autograder]      (what run_autograder calls)

Gradescope unpacks the zip into /autograder/source: its two scripts, the ``autograder``
package, ``lessons`` (the judges build Part 3's networks and the extra-credit rule from it;
its certificate/ runs are left out), the nbgrader source notebooks with their helpers and data
(``source/hw2``), ``hw2probes``, ``hw2utils.py``, ``hw2checks/``, ``nbgrader_config.py``,
``requirements.txt``, ``gradescope.json`` (settings) and ``manifest.json`` (the sha256 of
every other file). ``setup.sh`` installs Python 3.11, the CPU
build of the pinned torch and the rest of requirements.txt into /autograder/venv, creates the
sandbox user and locks /autograder/source (``autograder.sandbox setup``). ``run_autograder``
checks the bundle against its manifest, then grades /autograder/submission with the same
trusted pipeline as a local batch (``autograder.grade``, one student, one worker): the
student's code runs as the sandbox user, which can neither read /autograder/source nor write
/autograder/results, and results.json is written by this process from the judges' verdicts:
one test per autograded grade id, with the diagnostic of a failed check as its output.
Manually graded answers are not in results.json; grade them as Gradescope questions.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sys
import tempfile
import zipfile
from pathlib import Path

from autograder.kit import ASSIGNMENT, BUNDLED

ROOT = Path(__file__).resolve().parents[1]
VISIBILITIES = ("hidden", "after_due_date", "after_published", "visible")
MANIFEST = "manifest.json"
STUDENT = "student"

SETUP_SH = """#!/usr/bin/env bash
# Gradescope runs this once, as root, when the autograder image is built.
set -euo pipefail
apt-get update
apt-get install -y --no-install-recommends software-properties-common
add-apt-repository -y ppa:deadsnakes/ppa
apt-get update
apt-get install -y --no-install-recommends python3.11 python3.11-venv bubblewrap  # namespaces, where allowed
python3.11 -m venv /autograder/venv
TORCH=$(grep '^torch==' /autograder/source/requirements.txt)
/autograder/venv/bin/pip install "$TORCH" --index-url https://download.pytorch.org/whl/cpu
/autograder/venv/bin/pip install -r /autograder/source/requirements.txt
# the unprivileged user that runs students' code; /autograder/source becomes root's alone
cd /autograder/source && /autograder/venv/bin/python -m autograder.sandbox setup --kit /autograder/source --slots 1
"""

RUN_AUTOGRADER = """#!/usr/bin/env bash
# Gradescope runs this for each submission. AUTOGRADER_ROOT and HW2_PYTHON exist for tests.
set -euo pipefail
ROOT="${AUTOGRADER_ROOT:-/autograder}"
PYTHON="${HW2_PYTHON:-$ROOT/venv/bin/python}"
cd "$ROOT/source"
exec "$PYTHON" -m autograder.gradescope run --root "$ROOT"
"""


def build(out: Path, visibility: str) -> Path:
    """Write the autograder zip to ``out``; returns it."""
    out.parent.mkdir(parents=True, exist_ok=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".ipynb_checkpoints", "certificate")
    with tempfile.TemporaryDirectory() as tmp:
        tree = Path(tmp)
        for name in BUNDLED:
            src, dst = ROOT / name, tree / name
            if src.is_dir():
                shutil.copytree(src, dst, ignore=ignore)
            else:
                dst.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy(src, dst)
        (tree / "gradescope.json").write_text(json.dumps({"visibility": visibility}))
        (tree / "setup.sh").write_text(SETUP_SH)
        (tree / "run_autograder").write_text(RUN_AUTOGRADER)
        (tree / MANIFEST).write_text(json.dumps(manifest(tree), indent=0, sort_keys=True))
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
            for path in sorted(tree.rglob("*")):
                if path.is_file():
                    info = zipfile.ZipInfo(
                        str(path.relative_to(tree)), date_time=(2025, 1, 1, 0, 0, 0)
                    )
                    info.external_attr = (
                        0o755 if path.name in ("setup.sh", "run_autograder") else 0o644
                    ) << 16
                    info.compress_type = zipfile.ZIP_DEFLATED
                    zf.writestr(info, path.read_bytes())
    return out


def manifest(tree: Path) -> dict[str, str]:
    """{path: sha256} of every file of an unpacked bundle but the manifest itself."""
    return {
        str(path.relative_to(tree)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(tree.rglob("*"))
        if path.is_file() and path.name != MANIFEST and "__pycache__" not in path.parts
    }


def verify_bundle(tree: Path) -> list[str]:
    """What differs between the unpacked bundle and its manifest (empty: intact)."""
    expected = json.loads((tree / MANIFEST).read_text())
    found = manifest(tree)
    return (
        [f"changed: {p}" for p in expected if p in found and found[p] != expected[p]]
        + [f"missing: {p}" for p in expected if p not in found]
        + [f"added: {p}" for p in found if p not in expected]
    )


def diagnostics(course: Path, student: str) -> dict[str, str]:
    """{grade id: the error a failed test cell showed} from the autograded notebooks."""
    import nbformat

    found = {}
    for path in (course / "autograded" / student / ASSIGNMENT).glob("*.ipynb"):
        for cell in nbformat.read(path, as_version=4).cells:
            grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
            errors = [o for o in cell.get("outputs", []) if o.output_type == "error"]
            if grade_id and errors:
                found[grade_id] = f"{errors[-1].ename}: {errors[-1].evalue}"
    return found


def results(out: Path, problems: list[str], visibility: str) -> dict:
    """Gradescope's results.json from a graded one-student batch in ``out``: one test per
    autograded or extra-credit cell (an extra-credit test has max_score 0, so the assignment's
    points stay 100 and what it earns counts on top, as Gradescope allows)."""
    from autograder import gradebook, reports

    course = out / "course"
    graded = gradebook.cells(course / "source" / ASSIGNMENT)
    row, why = gradebook.scores(course, [STUDENT])[STUDENT], diagnostics(course, STUDENT)
    tests = []
    for cell in graded:
        if cell.kind == gradebook.MANUAL:
            continue
        extra = cell.kind == gradebook.EXTRA
        test = {
            "name": cell.grade_id + (" (extra credit)" if extra else ""),
            "score": row[cell.grade_id].value or 0.0,
            "max_score": 0.0 if extra else cell.points,
            "visibility": visibility,
        }
        if cell.grade_id in why:
            test["output"] = why[cell.grade_id]
        tests.append(test)
    points = gradebook.totals(graded, row)
    manual_points = sum(c.points for c in graded if c.kind == gradebook.MANUAL)
    lines = [
        f"Autograded points: {points.autograded:g}, extra credit: {points.extra_credit:g}. "
        f"The written answers ({manual_points:g} points) are graded by hand."
    ]
    lines += [f"Problem: {p}" for p in problems]
    if (out / reports.ISOLATION_FILE).exists():
        lines.append(f"Sandbox isolation: {(out / reports.ISOLATION_FILE).read_text().strip()}")
    return {
        "score": sum(t["score"] for t in tests),
        "output": "\n".join(lines),
        "visibility": visibility,
        "stdout_visibility": "hidden",
        "tests": tests,
    }


def run(root: Path) -> dict:
    """Grade root/submission; write root/results/results.json; return it."""
    from autograder import grade

    if (ROOT / MANIFEST).exists() and (changed := verify_bundle(ROOT)):
        raise SystemExit(f"the autograder bundle differs from its manifest: {changed[:5]}")
    settings = (
        json.loads((ROOT / "gradescope.json").read_text())
        if (ROOT / "gradescope.json").exists()
        else {}
    )
    visibility = settings.get("visibility", "after_published")
    results_dir = root / "results"
    results_dir.mkdir(parents=True, exist_ok=True)
    os.chmod(results_dir, 0o700)  # root's alone: no student process may write results.json
    with tempfile.TemporaryDirectory() as tmp:
        subs = Path(tmp) / "subs" / STUDENT
        subs.mkdir(parents=True)
        # Gradescope keeps uploaded folders. Links are never followed: one could point at the
        # bundle (a reference notebook handed in as the student's own).
        for folder, _, files in os.walk(root / "submission"):
            for name in files:
                path = Path(folder) / name
                if not path.is_symlink() and path.is_file() and not name.startswith("."):
                    shutil.copy(path, subs / name)
        out = Path(tmp) / "out"
        problems = grade.grade(
            subs.parent,
            out,
            jobs=1,
            feedback=False,
            trust_students=bool(settings.get("trust_students", False)),
        )
        result = results(out, problems.get(STUDENT, []), visibility)
    (results_dir / "results.json").write_text(json.dumps(result, indent=1))
    return result


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="write the autograder zip")
    b.add_argument("--out", type=Path, default=ROOT / "build" / "gradescope_autograder.zip")
    b.add_argument(
        "--visibility",
        choices=VISIBILITIES,
        default="after_published",
        help="when students see the test results (default %(default)s)",
    )
    r = sub.add_parser("run", help="grade one submission (inside Gradescope)")
    r.add_argument("--root", type=Path, default=Path("/autograder"))
    args = parser.parse_args(argv)
    if args.command == "build":
        print(build(args.out, args.visibility))
    else:
        result = run(args.root)
        print(f"score {result['score']:g}; {len(result['tests'])} tests")
    return 0


if __name__ == "__main__":
    sys.exit(main())
