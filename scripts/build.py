"""Build the nbgrader source and the student release from the authoring notebooks.

    notebooks/NN_name.py --(jupytext)--> source/hw2/NN_name.ipynb --(nbgrader generate_assignment)--> release/hw2/

    python scripts/build.py           rebuild source/hw2/ and release/hw2/ in place
    python scripts/build.py --check   rebuild in a scratch folder; exit 1 listing every
                                      file that differs from the committed trees

Authoring convention: a cell's role is a key in its jupytext header, turned into
nbgrader metadata here, so that notebooks/*.py stay short and diffable:

    # %% answer="ema_update"                         autograded answer cell; code between
                                                     ### BEGIN SOLUTION / ### END SOLUTION
                                                     becomes the stub (raise NotImplementedError)
    # %% test="ema_update__formula" points=2         autograded test cell (read-only); lines between
                                                     ### BEGIN HIDDEN TESTS / ### END HIDDEN TESTS
                                                     are removed from the release
    # %% [markdown] manual="q_lr_high" points=1      manually graded answer; the source text (model
                                                     answer and rubric) becomes "YOUR ANSWER HERE"
    # %% test="ec_rule__agreement_90" extra_credit=2 an extra-credit test cell: 0 regular points
                                                     (nbgrader's max_score stays 100) and its
                                                     value in the cell's ``hw2`` metadata; the
                                                     grader records it as nbgrader's extra credit

Other cells carry no nbgrader metadata. A cell holding only ``# @SETUP@`` (a comment, so
notebooks/*.py stay valid Python) becomes notebooks/setup_cell.py, the same Colab setup in
every notebook, and ``@BASE_URL@`` in any cell becomes ``hw2utils.BASE_URL``, the one place
the publishing URL is set. ``"@EC2_CELLS@"`` (in EC2's model answer, a solution region the
release drops) becomes the term's secret cells from ``lessons.rules``: the answer is
plain code, which the grader's sandbox can run without the instructor-only package. A line
``# @OWN_OPTIMIZERS@`` (in notebook 3's solution region for the optimizers a student pastes in)
becomes the reference answers of Tasks 1.3 and 2.2-2.3, read from notebooks 1 and 2, so that
they have one home. Besides the
notebooks, source/hw2/ receives hw2utils.py and data/ (every file there is
released to students, so nothing instructor-only may be copied in).
"""

import argparse
import ast
import filecmp
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import jupytext
import nbformat

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from autograder.kit import (  # noqa: E402  (the kit's own)
    ASSIGNMENT,
    METADATA_KEY,
    NOTEBOOKS,
    SHIPPED_FILES,
    SUPPORT_FILES,
    UTILS,
)
from lessons.rules import Variant  # noqa: E402

AUTHORING = ROOT / "notebooks"
ROLE_KEYS = ("answer", "test", "manual")
EXTRA_CREDIT_PREFIX = "ec_"  # the grade ids of extra-credit cells, and only theirs
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}


def base_url() -> str:
    """``BASE_URL`` as written in hw2utils.py (read, not imported: no torch needed here)."""
    for node in ast.parse((ROOT / UTILS).read_text()).body:
        if isinstance(node, ast.Assign) and [t.id for t in node.targets] == ["BASE_URL"]:
            return ast.literal_eval(node.value)
    raise RuntimeError("hw2utils.py defines no BASE_URL")


def ec2_cells() -> str:
    """The term's plus and minus cells as Python lists (EC2's model answer)."""
    term = Variant.from_seed()
    return f"{term.plus.tolist()}, {term.minus.tolist()}"


# the answers a student pastes into notebook 3 ("# @OWN_OPTIMIZERS@"), in the order they run
# (Part 1's, Part 2's notebook)
OWN_OPTIMIZER_ANSWERS = (
    (NOTEBOOKS[0], "sgd_optimizer"),
    (NOTEBOOKS[1], "ema_update"),
    (NOTEBOOKS[1], "adam_optimizer"),
)


def own_optimizers() -> str:
    """The reference answer cells of ``OWN_OPTIMIZER_ANSWERS`` without their solution markers:
    what a student pastes into notebook 3, between the quotes ``r'''`` of its cell."""
    cells = []
    for name, grade_id in OWN_OPTIMIZER_ANSWERS:
        cell = next(
            c
            for c in jupytext.read(AUTHORING / f"{name}.py").cells
            if c.metadata.get("answer") == grade_id
        )
        cells.append(
            "\n".join(
                line
                for line in cell.source.splitlines()
                if line.strip() not in ("### BEGIN SOLUTION", "### END SOLUTION")
            )
        )
    code = "\n\n\n".join(cells)
    if "'''" in code:
        raise ValueError("a reference answer holds ''', which would end notebook 3's string")
    return code


def nbgrader_metadata(cell, where: str) -> tuple[dict, dict] | None:
    """(nbgrader cell metadata, the kit's own ``hw2`` cell metadata) for the cell's role key,
    or None for a plain cell."""
    roles = [key for key in ROLE_KEYS if key in cell.metadata]
    if not roles:
        return None
    if len(roles) > 1:
        raise ValueError(f"{where}: a cell has one role, got {roles}")
    role = roles[0]
    grade_id = cell.metadata.pop(role)
    points = cell.metadata.pop("points", None)
    extra = cell.metadata.pop("extra_credit", None)
    if role != "answer" and (role == "test" and extra is not None) != grade_id.startswith(
        EXTRA_CREDIT_PREFIX
    ):
        raise ValueError(
            f"{where} ({grade_id}): extra credit is a test cell with extra_credit= "
            f"and an id starting {EXTRA_CREDIT_PREFIX!r}, and nothing else is"
        )
    if (role == "answer") != (points is None and extra is None) or None not in (points, extra):
        raise ValueError(
            f"{where} ({grade_id}): test and manual cells need points= "
            "(or extra_credit=), answers neither"
        )
    meta = {
        "grade": role != "answer",
        "grade_id": grade_id,
        "locked": role == "test",
        "schema_version": 3,
        "solution": role != "test",
        "task": False,
    }
    if role != "answer":
        # nbgrader's max_score is the sum of points: extra credit counts 0 there, and the
        # grader records what it earns as nbgrader's extra credit (nbgrader_steps.record)
        meta["points"] = points if extra is None else 0
    return meta, ({"extra_credit": extra} if extra is not None else {})


def author_to_source(path: Path, url: str) -> nbformat.NotebookNode:
    """Read one authoring notebook and return its nbgrader source notebook."""
    nb = jupytext.read(path)
    nb.metadata = {
        "kernelspec": KERNELSPEC,
        "language_info": {"name": "python", "pygments_lexer": "ipython3"},
    }
    seen = set()
    for index, cell in enumerate(nb.cells):
        where = f"{path.name}, cell {index}"
        roles = nbgrader_metadata(cell, where)
        meta, own = roles or (None, None)
        cell.metadata = {"nbgrader": meta} if meta else {}
        if own:
            cell.metadata[METADATA_KEY] = own
        if meta:
            if meta["grade_id"] in seen:
                raise ValueError(f"{where}: grade id {meta['grade_id']!r} is used twice")
            seen.add(meta["grade_id"])
        if cell.source.strip() == "# @SETUP@":
            cell.source = (
                (AUTHORING / "setup_cell.py")
                .read_text()
                .strip()
                .replace('"@SHIPPED_FILES@"', repr(SHIPPED_FILES))
            )
        cell.source = cell.source.replace("@BASE_URL@", url).replace('"@EC2_CELLS@"', ec2_cells())
        if "# @OWN_OPTIMIZERS@" in cell.source:
            cell.source = cell.source.replace("# @OWN_OPTIMIZERS@", own_optimizers())
        cell.pop("id", None)  # nbformat assigns fresh random ids; nbgrader does not need them
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    nb.nbformat_minor = 4  # 4.4: no cell ids, so rebuilding gives identical bytes
    return nb


def build(out: Path) -> None:
    """Write <out>/source/hw2 and <out>/release/hw2."""
    source = out / "source" / ASSIGNMENT
    source.mkdir(parents=True)
    url = base_url()
    undeclared = {p.stem for p in AUTHORING.glob("[0-9][0-9]_*.py")} - set(NOTEBOOKS)
    if undeclared:  # a notebook the grader, the intake and the leak check would not know
        raise RuntimeError(
            f"notebooks/ holds {sorted(undeclared)}, not in autograder.kit.NOTEBOOKS"
        )
    for name in NOTEBOOKS:
        nbformat.write(author_to_source(AUTHORING / f"{name}.py", url), source / f"{name}.ipynb")
    for name in SUPPORT_FILES:
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(ROOT / name, source / name)
    shutil.copyfile(ROOT / "nbgrader_config.py", out / "nbgrader_config.py")
    result = subprocess.run(
        [sys.executable, "-m", "nbgrader", "generate_assignment", ASSIGNMENT, "--no-db", "--force"],
        cwd=out,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    if result.returncode != 0:
        raise RuntimeError(f"nbgrader generate_assignment failed:\n{result.stdout}{result.stderr}")
    (out / "nbgrader_config.py").unlink()


def differences(built: Path, committed: Path) -> list[str]:
    """Relative paths present in only one tree or with different bytes."""

    def files(tree):
        return (
            {p.relative_to(tree) for p in tree.rglob("*") if p.is_file()}
            if tree.exists()
            else set()
        )

    mine, theirs = files(built), files(committed)
    changed = [p for p in mine & theirs if not filecmp.cmp(built / p, committed / p, shallow=False)]
    return sorted(str(p) for p in (mine ^ theirs) | set(changed))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--check",
        action="store_true",
        help="compare a fresh build with the committed trees instead of writing",
    )
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        build(scratch)
        stale = []
        for tree in ("source", "release"):
            built, committed = scratch / tree / ASSIGNMENT, ROOT / tree / ASSIGNMENT
            if args.check:
                stale += [f"{tree}/{ASSIGNMENT}/{p}" for p in differences(built, committed)]
            else:
                shutil.rmtree(committed, ignore_errors=True)
                shutil.copytree(built, committed)
    if args.check and stale:
        print("out of date (run: python scripts/build.py):\n  " + "\n  ".join(stale))
        return 1
    print(
        "source/ and release/ are up to date"
        if args.check
        else f"built {ROOT / 'source' / ASSIGNMENT} and {ROOT / 'release' / ASSIGNMENT}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
