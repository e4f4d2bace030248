"""The fast lane's one class (`bash run.sh test --fast`): two students who hand in notebook 1,
graded through the real batch grader in the real sandbox: the reference keeps every point of
notebook 1, and a mutant (tests/mutants.py) loses points on its own task only and is told
its mistake. The whole pipeline (intake, sandboxed kernels, nbgrader's autograde and gradebook,
the tables) in about half a minute; the full class, the corpora and the hostile submissions
are graded in the slow tests (test_grade.py, test_grade_robustness.py) and the certification
runs (test_mutation_corpus.py, test_cheating_corpus.py)."""

import csv
import json

import pytest

import mutants  # tests/: the reference submission and the mutants
from autograder import grade, gradebook, reports

pytestmark = pytest.mark.sandbox  # it grades a class

MUTANT = next(m for m in mutants.MUTANTS if m.name == "gd_ascends")
NB1_CELLS = {
    c.grade_id: c.points
    for c in gradebook.cells(mutants.SOURCE)
    if c.kind == gradebook.AUTO and c.notebook == mutants.NB1
}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    base = tmp_path_factory.mktemp("quick")
    mutants.write_reference(base / "subs" / "reference", [mutants.NB1])
    (base / "subs" / "mutant").mkdir(parents=True)
    (base / "subs" / "mutant" / f"{mutants.NB1}.ipynb").write_text(
        json.dumps(mutants.mutated(MUTANT))
    )
    problems = grade.grade(base / "subs", base / "out", jobs=2, feedback=False)
    with open(base / "out" / "scores.csv") as f:
        scores = {row.pop("student"): row for row in csv.DictReader(f)}
    return base / "out", problems, scores


def test_the_class_was_graded_in_the_sandbox(graded):
    out, _, _ = graded
    assert (out / reports.ISOLATION_FILE).read_text().strip() != grade.TRUSTED


def test_the_reference_keeps_every_point_of_notebook_1(graded):
    _, problems, scores = graded
    assert NB1_CELLS and {gid: float(scores["reference"][gid]) for gid in NB1_CELLS} == NB1_CELLS
    assert all(p.endswith("is missing; it scores 0") for p in problems["reference"])


def test_the_mutant_loses_its_task_only_and_is_told_why(graded):
    out, _, scores = graded
    lost = {gid for gid, points in NB1_CELLS.items() if float(scores["mutant"][gid]) < points}
    assert lost and all(gid.startswith(MUTANT.task) for gid in lost), lost
    executed = json.loads(
        (out / "course" / "autograded" / "mutant" / "hw2" / f"{mutants.NB1}.ipynb").read_text()
    )
    errors = " ".join(
        " ".join([o.get("evalue", ""), *o.get("traceback", [])])
        for c in executed["cells"]
        if c["metadata"].get("nbgrader", {}).get("grade_id") in lost
        for o in c.get("outputs", [])
        if o.get("output_type") == "error"
    )
    assert MUTANT.says.lower() in errors.lower()
