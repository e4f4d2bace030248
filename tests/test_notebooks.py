"""The notebooks as built: generated trees up to date, grade ids and points as
promised, source notebooks pass their tests, release notebooks fail every test
without crashing, and no test cell writes to stderr."""

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from autograder import gradebook, validate

ROOT = Path(__file__).resolve().parents[1]
SOURCE, RELEASE = ROOT / "source" / "hw2", ROOT / "release" / "hw2"
NOTEBOOKS = sorted(p.name for p in SOURCE.glob("*.ipynb"))

# The contract between notebooks, autograder and gradebook: answer/manual grade ids and the
# points of each notebook.
GRADE_IDS = {
    "01_gradient_descent.ipynb": {
        "gd_loop",
        "per_dim_lr",
        "q_lr_high",
        "q_lr_low",
        "q_curvature",
        "q_wd_gradient",
        "q_wd_update",
        "sgd_optimizer",
    },
    "02_ema_adam.ipynb": {
        "grad_stats",
        "q_mean_values",
        "q_rms_values",
        "q_mean_vs_rms",
        "q_scale_invariance",
        "ema_update",
        "adam_optimizer",
    },
    "03_training.ipynb": {f"net_3_{i}" for i in range(1, 19) if i != 14}
    | {
        "residual_sequence",
        "q_nonlinearities",
        "q_adam_overfitting",
        "q_width",
        "q_depth_batchnorm",
        "q_residual",
        "own_optimizers",
    },  # own_optimizers: pasted, ungraded
    "04_initialization.ipynb": {
        "init_zero",
        "init_small",
        "init_large",
        "init_xavier",
        "init_he",
        "q_zero_init",
        "q_small_init",
        "q_large_init",
        "supervise_random",
        "net_4_7",
        "supervise_kaiming",
        "net_4_9",
        "ec_transfer",
        "ec_rule",
    },
}
# What the README and the student README promise: 100 points, plus 10 extra credit (grade ids ec_*).
COURSE_POINTS, EXTRA_CREDIT = 100, 10
# A heading (level 1-3) or a bold item "**3.A (2 points).**" (level 4), and the points it states:
# "(5 points)", "(1 point)", "(25 points + 10 extra credit)".
POINT_MARK = re.compile(r"^(#{1,3}) .*?$|\*\*[^*]*\(\d+ points?\)\.?\*\*", re.M)
STATED = re.compile(r"\((\d+) points?(?: \+ (\d+) extra credit)?\)")


def nbgrader_cells(path):
    return [
        (c.cell_type, c.metadata["nbgrader"], c.source)
        for c in nbformat.read(path, 4).cells
        if "nbgrader" in c.metadata
    ]


def grading_env():
    return {**os.environ, "PYTHONPATH": str(ROOT), "HW2_DEVICE": "cpu"}


def test_generated_trees_match_the_authoring_notebooks():
    result = subprocess.run(
        [sys.executable, "scripts/build.py", "--check"], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_grade_ids_test_ids_and_points(name):
    cells = nbgrader_cells(SOURCE / name)
    answers = {m["grade_id"] for _, m, _ in cells if m["solution"]}
    tests = [m for _, m, _ in cells if m["grade"] and not m["solution"]]
    if name in GRADE_IDS:
        assert answers == GRADE_IDS[name]
    for meta in tests:
        owner, _, aspect = meta["grade_id"].partition("__")
        assert owner in answers and aspect, f"test id {meta['grade_id']} names no answer cell"


def stated_and_graded(path) -> list[tuple[str, int | None, int]]:
    """(heading or bold item, the points its text states or None, the points it grades), in notebook
    order. A heading grades the cells under it and under its subheadings; the bold items (written
    questions) under it count only for a heading with no cells of its own ("Questions 3.A–3.B"):
    "Task 4.1 (1 point)" is followed by its question "**4.A (2 points).**", graded apart."""
    marks = []  # [level, text, stated, direct points]
    for cell in nbformat.read(path, 4).cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type == "markdown" and not meta.get("grade"):
            for match in POINT_MARK.finditer(cell.source):
                level = len(match.group(1)) if match.group(1) else 4
                stated = STATED.search(match.group(0))
                points = sum(int(g) for g in stated.groups() if g) if stated else None
                marks.append([level, match.group(0), points, 0])
        # the points a cell grades: nbgrader's, or for extra credit (0 there) the kit's own
        marks[-1][3] += meta.get("points", 0) + cell.metadata.get("hw2", {}).get("extra_credit", 0)
    totals = []
    for i, (level, text, stated, direct) in enumerate(marks):
        end = next((j for j in range(i + 1, len(marks)) if marks[j][0] <= level), len(marks))
        inside = [m for m in marks[i + 1 : end] if m[0] < 4 or not direct]
        totals.append((text, stated, direct + sum(m[3] for m in inside)))
    return totals


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_the_points_the_text_states_are_the_points_graded(name):
    """Change a point value in one place: the test cell's points= and the heading above it, in
    the same notebook; every heading and item that states points must agree with the cells."""
    totals = stated_and_graded(SOURCE / name)
    assert totals[0][1] is not None, "the title states the notebook's points"
    assert [t for t in totals if t[1] is not None and t[1] != t[2]] == []


def test_the_course_has_the_points_its_readmes_promise():
    """100 regular points (nbgrader's max_score: extra-credit cells count 0 there) and 10
    extra credit, in the cells whose grade ids say so."""
    cells = gradebook.cells(SOURCE)
    assert gradebook.max_score(cells) == COURSE_POINTS
    extra = [c for c in cells if c.kind == gradebook.EXTRA]
    assert sum(c.points for c in extra) == EXTRA_CREDIT
    assert {c.grade_id for c in extra} == {
        c.grade_id for c in cells if c.grade_id.startswith("ec_")
    }
    nbgrader_points = sum(
        m["points"] for name in NOTEBOOKS for _, m, _ in nbgrader_cells(SOURCE / name) if m["grade"]
    )
    assert nbgrader_points == COURSE_POINTS


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_test_cells_start_with_a_check_line_and_hide_one_line_calls(name):
    for _cell_type, meta, source in nbgrader_cells(SOURCE / name):
        if not meta["grade"] or meta["solution"]:
            continue
        lines = source.splitlines()
        assert lines[0].startswith("# Check that"), meta["grade_id"]
        hidden = lines[
            lines.index("### BEGIN HIDDEN TESTS") + 1 : lines.index("### END HIDDEN TESTS")
        ]
        assert len(hidden) == 1 and "autograder.checks" in hidden[0], meta["grade_id"]


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_release_holds_no_solution_hidden_test_or_model_answer(name):
    text = (RELEASE / name).read_text()
    for leak in ("BEGIN SOLUTION", "HIDDEN TESTS", "autograder", "Model answer", "Rubric"):
        assert leak not in text, f"{leak!r} in release/{name}"


@pytest.fixture(scope="session")
def copies(tmp_path_factory):
    """Scratch copies of source/hw2 and release/hw2: running a notebook may write files."""
    base = tmp_path_factory.mktemp("trees")
    return {
        "source": Path(shutil.copytree(SOURCE, base / "source")),
        "release": Path(shutil.copytree(RELEASE, base / "release")),
    }


class KeepingValidator(validate.ExtraCreditValidator):
    """The validator ``python -m autograder.validate`` runs (nbgrader's, extra credit judged as
    nbgrader judges it elsewhere), keeping the notebook it executed: one run of each notebook
    serves both the verdict and the look at its outputs."""

    executed = None

    def _preprocess(self, nb):
        self.executed = super()._preprocess(nb)
        return self.executed


@pytest.fixture(scope="module")
def validated(copies):
    """{(tree, notebook): (nbgrader's validate results, the executed notebook)}, each run once:
    the source as ``nbgrader validate``, the release as ``nbgrader validate --invert``."""
    done = {}

    def run(tree, name):
        if (tree, name) not in done:
            validator = KeepingValidator(invert=tree == "release")
            with pytest.MonkeyPatch.context() as mp:
                for key, value in grading_env().items():
                    mp.setenv(key, value)  # the kernel inherits this process's environment
                results = validator.validate(str(copies[tree] / name))
            done[tree, name] = results, validator.executed
        return done[tree, name]

    return run


@pytest.mark.slow  # runs the notebooks
@pytest.mark.parametrize("name", NOTEBOOKS)
def test_nbgrader_validate_passes_on_the_source(name, validated):
    results, _ = validated("source", name)
    assert results == {}, results  # nothing failed, changed or changed type: "Success!"


@pytest.mark.slow  # runs the notebooks
@pytest.mark.parametrize("name", NOTEBOOKS)
def test_source_runs_without_errors_stderr_or_warnings(name, validated):
    _, nb = validated("source", name)
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        for output in cell.outputs:
            where = f"{name}: {cell.source[:60]!r}"
            assert output.output_type != "error", (
                f"{where}: {output.get('ename')}: {output.get('evalue')}"
            )
            assert not (output.output_type == "stream" and output.name == "stderr"), (
                f"{where} wrote to stderr: {output.text[:300]}"
            )
            assert "Warning" not in json.dumps(output.get("data", {})) + output.get("text", ""), (
                where
            )


@pytest.mark.slow  # runs the notebooks
@pytest.mark.parametrize("name", NOTEBOOKS)
def test_every_test_cell_fails_on_the_untouched_release(name, validated):
    results, _ = validated("release", name)
    assert results == {}, results  # no test cell passed: "Success! ... does not pass any tests"


@pytest.mark.slow  # runs a notebook
def test_the_validate_command_counts_no_unearned_extra_credit(copies):
    """The command students and instructors run, on the notebook with extra-credit cells (their
    0-point cells fail on the release; nbgrader's own validator would count them as passed)."""
    name = next(n for n in NOTEBOOKS if "ec_rule" in GRADE_IDS[n])
    path = copies["release"] / name
    result = subprocess.run(
        [sys.executable, "-m", "autograder.validate", "--invert", path.name],
        cwd=path.parent,
        capture_output=True,
        text=True,
        env=grading_env(),
    )
    assert "Success! The notebook does not pass any tests." in result.stdout, (
        result.stdout + result.stderr
    )


def answer_names(path):
    """Names the answer cells of a source notebook define (top-level assignments and defs)."""
    import ast

    names = set()
    for _, meta, source in nbgrader_cells(path):
        if meta["solution"] and not meta["grade"]:
            for node in ast.parse(source).body:
                targets = node.targets if isinstance(node, ast.Assign) else [node]
                for target in targets:
                    if isinstance(target, (ast.Name, ast.FunctionDef, ast.ClassDef)):
                        names.add(getattr(target, "id", None) or target.name)
    return names


@pytest.mark.slow  # runs the notebooks
@pytest.mark.parametrize("name", NOTEBOOKS)
def test_untouched_release_fails_only_for_want_of_answers(name, validated):
    """Answer stubs raise NotImplementedError; other cells fail only because an answer is
    missing (NameError of an answer's name) or, in test cells, by assertion."""
    _, nb = validated("release", name)
    missing = answer_names(SOURCE / name)
    for cell in nb.cells:
        for output in getattr(cell, "outputs", []):
            if output.output_type != "error":
                continue
            where = f"{name}: {cell.source[:60]!r}"
            if output.ename == "NameError":
                assert output.evalue.split("'")[1] in missing, f"{where}: {output.evalue}"
            else:
                assert output.ename in ("NotImplementedError", "AssertionError"), (
                    f"{where}: {output.ename}: {output.evalue}"
                )
