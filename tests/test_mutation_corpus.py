"""The mutation corpus (tests/mutants.py) graded through the real batch grader.

One class is graded once for every test here (about 4 minutes on 2 cores): the reference
(source/hw2, all four notebooks), the untouched release, the equivalent rewrites, and the
mutants. Each mutant must lose points on its own task and on no other cell of its notebook,
and a failing cell of its task must name the mistake; the reference and the equivalent
rewrites keep every autograded point; the untouched release scores 0 without crashing.

Grading costs a few seconds per student and per notebook (about 20 s of CPU for notebook 4,
whose figures are rendered), so the mutants are packed: ``student_NN`` submits the NN-th
mutant of each notebook (notebooks are graded separately,
each in its own kernel, and each mutant is compared only with the reference's cells of its
own notebook). ``student_of`` says which student holds a mutant.
"""

from __future__ import annotations

import csv
import json
import re
import shutil
from pathlib import Path

import pytest
import torch

import mutants as corpus
from autograder import grade, gradebook

# certifies the grader against every mutant; its class is graded once for all of it: about 7
# minutes on 2 cores
pytestmark = [pytest.mark.certify, pytest.mark.sandbox]

ROOT = Path(__file__).resolve().parents[1]
SOURCE, RELEASE = ROOT / "source" / "hw2", ROOT / "release" / "hw2"
NOTEBOOKS = [corpus.NB1, corpus.NB2, corpus.NB3, corpus.NB4]
CUDA = torch.cuda.is_available()
# EC1 scores the network file a student submits with notebook 4; the reference writes none
# while it is graded, so EC1's cells score 0 for it (and for every Part 4 mutant alike).
NOT_SCORED_BY_THE_REFERENCE = ("ec_transfer__",)
# Answer cells without a mutant, and why.
UNCOVERED = {
    **{
        f"net_3_{n}": "one architecture check per network, like net_3_9 and net_3_13"
        for n in (1, 2, 3, 4, 5, 6, 7, 8, 10, 11, 12, 16, 17, 18)
    },
    "ec_transfer": "extra credit: graded on a trained model file, which the reference does not write",
    "ec_rule": "extra credit (optional in the corpus)",
    "own_optimizers": "not graded: the student's optimizers pasted into notebook 3 "
    "(tests/test_own_optimizers.py tries wrong ones)",
}
MIN_MUTANTS = 40
ANSI = re.compile(r"\x1b\[[0-9;]*m")

RUNNABLE = [m for m in corpus.MUTANTS if CUDA or not m.cuda_only]


def pack(mutants) -> dict[str, dict[str, corpus.Mutant]]:
    """{student: {notebook: mutant}}: the i-th mutant of every notebook goes to student i."""
    by_notebook: dict[str, list] = {}
    for mutant in mutants:
        by_notebook.setdefault(mutant.notebook, []).append(mutant)
    size = max(map(len, by_notebook.values()))
    return {
        f"student_{i + 1:02d}": {
            nb: group[i] for nb, group in by_notebook.items() if i < len(group)
        }
        for i in range(size)
    }


STUDENTS = pack(RUNNABLE)
student_of = {m.name: student for student, held in STUDENTS.items() for m in held.values()}
EQUIVALENTS_STUDENT = "equivalents"


def _cases():
    skip = pytest.mark.skipif(
        not CUDA,
        reason="without CUDA every tensor is on the CPU: the "
        "checks cannot tell this mutant from the reference",
    )
    return [pytest.param(m, id=m.name, marks=[skip] if m.cuda_only else []) for m in corpus.MUTANTS]


def _nbgrader_cells(notebook: str) -> dict[str, dict]:
    nb = json.loads((SOURCE / f"{notebook}.ipynb").read_text())
    return {
        c["metadata"]["nbgrader"]["grade_id"]: c["metadata"]["nbgrader"]
        for c in nb["cells"]
        if "nbgrader" in c.get("metadata", {})
    }


CELLS = {name: _nbgrader_cells(name) for name in NOTEBOOKS}
# what each test cell is worth: its points, or for extra credit what it earns on top
WORTH = {c.grade_id: c.points for c in gradebook.cells(SOURCE)}
TEST_CELLS = {
    name: [gid for gid, meta in cells.items() if meta.get("grade") and not meta.get("solution")]
    for name, cells in CELLS.items()
}


class Graded:
    def __init__(self, out: Path, problems: dict):
        self.out, self.problems = out, problems
        with open(out / "scores.csv") as f:
            self.scores = {row["student"]: row for row in csv.DictReader(f)}

    def score(self, student: str, grade_id: str) -> float | None:
        value = self.scores[student][grade_id]
        return None if value == "" else float(value)

    def notebook(self, student: str, notebook: str) -> dict:
        for folder in ("autograded", "executed"):
            path = self.out / "course" / folder / student / "hw2" / f"{notebook}.ipynb"
            if path.exists():
                return json.loads(path.read_text())
        raise AssertionError(f"no graded {notebook}.ipynb for {student}")

    def errors(self, student: str, notebook: str) -> dict[str, str]:
        """{test cell id: its error output (name, value, traceback)} for the failing cells."""
        found = {}
        for cell in self.notebook(student, notebook)["cells"]:
            grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
            for output in cell.get("outputs", []):
                if grade_id and output.get("output_type") == "error":
                    text = "\n".join(
                        [
                            output.get("ename", ""),
                            output.get("evalue", ""),
                            *output.get("traceback", []),
                        ]
                    )
                    found[grade_id] = ANSI.sub("", text)
        return found


def write_notebook(folder: Path, name: str, nb: dict) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.ipynb").write_text(json.dumps(nb, indent=1))


@pytest.fixture(scope="module")
def graded(tmp_path_factory) -> Graded:
    base = tmp_path_factory.mktemp("corpus")
    subs = base / "submissions"
    corpus.write_reference(subs / "reference")
    shutil.copytree(RELEASE, subs / "blank", ignore=shutil.ignore_patterns("data", "*.py", "*.md"))
    for student, held in STUDENTS.items():
        for notebook, mutant in held.items():
            write_notebook(subs / student, notebook, corpus.mutated(mutant))
    for eq in corpus.EQUIVALENTS:
        write_notebook(subs / EQUIVALENTS_STUDENT, eq.notebook, corpus.equivalent(eq))
    out = base / "out"
    problems = grade.grade(subs, out, jobs=2, feedback=False)
    return Graded(out, problems)


# Without grading: the corpus itself ----------------------------------------------------------


def test_the_corpus_is_large_and_well_formed():
    names = [m.name for m in corpus.MUTANTS] + [e.name for e in corpus.EQUIVALENTS]
    assert len(set(names)) == len(names), "duplicate names"
    assert all(re.fullmatch(r"[A-Za-z0-9_]+", name) for name in names)
    assert len([m for m in corpus.MUTANTS if not m.cuda_only]) >= MIN_MUTANTS
    assert len(corpus.EQUIVALENTS) >= 3
    assert len({eq.notebook for eq in corpus.EQUIVALENTS}) == len(corpus.EQUIVALENTS)  # one student
    for m in corpus.MUTANTS:
        assert m.notebook in NOTEBOOKS and m.cell in CELLS[m.notebook], m.name
        assert any(gid.startswith(m.task) for gid in TEST_CELLS[m.notebook]), (
            f"{m.name}: no cell of {m.task}"
        )
        assert m.says.strip() and m.mistake.strip(), m.name
        corpus.mutated(m)  # each `old` occurs exactly once in its answer cell
    for eq in corpus.EQUIVALENTS:
        corpus.equivalent(eq)


def test_every_autograded_answer_has_a_mutant_or_a_reason():
    covered = {m.cell for m in corpus.MUTANTS if not m.cuda_only}
    answers = {
        gid
        for cells in CELLS.values()
        for gid, meta in cells.items()
        if meta.get("solution") and not meta.get("grade")
    }
    assert answers - covered <= set(UNCOVERED), sorted(answers - covered - set(UNCOVERED))
    assert not covered & set(UNCOVERED), "a covered answer is still listed as uncovered"


# Graded ------------------------------------------------------------------------------------


def test_the_reference_scores_every_autograded_point(graded):
    for notebook in NOTEBOOKS:
        for grade_id in TEST_CELLS[notebook]:
            if grade_id.startswith(NOT_SCORED_BY_THE_REFERENCE):
                continue
            points = WORTH[grade_id]
            assert graded.score("reference", grade_id) == points, grade_id
    assert not graded.problems["reference"]


def test_the_untouched_release_scores_nothing_and_is_graded(graded):
    for notebook in NOTEBOOKS:
        graded.notebook("blank", notebook)  # every notebook was executed
        for grade_id in TEST_CELLS[notebook]:
            assert graded.score("blank", grade_id) == 0, grade_id
    assert not any(
        "crash" in problem or "stopped" in problem for problem in graded.problems["blank"]
    )


@pytest.mark.parametrize("eq", corpus.EQUIVALENTS, ids=lambda e: e.name)
def test_equivalent_rewrites_keep_full_marks(graded, eq):
    for grade_id in TEST_CELLS[eq.notebook]:
        assert graded.score(EQUIVALENTS_STUDENT, grade_id) == graded.score("reference", grade_id), (
            grade_id,
            graded.errors(EQUIVALENTS_STUDENT, eq.notebook).get(grade_id),
        )


@pytest.mark.parametrize("mutant", _cases())
def test_mutant_loses_points_on_its_task_only_and_names_its_mistake(graded, mutant):
    student = student_of[mutant.name]
    scores = {
        gid: (graded.score(student, gid), graded.score("reference", gid))
        for gid in TEST_CELLS[mutant.notebook]
    }
    errors = graded.errors(student, mutant.notebook)
    own = [gid for gid in scores if gid.startswith(mutant.task)]
    lost = [gid for gid in own if scores[gid][0] < scores[gid][1]]
    assert lost, (
        f"{mutant.name} ({mutant.mistake}; student {student}) lost no point on {mutant.task}"
    )
    others = {
        gid: scores[gid] for gid in scores if gid not in own and scores[gid][0] != scores[gid][1]
    }
    assert not others, (
        f"{mutant.name} (student {student}) changed the score of cells outside {mutant.task} "
        f"(got, reference): {others}",
        {gid: errors.get(gid) for gid in others},
    )
    said = [gid for gid in lost if mutant.says.lower() in errors.get(gid, "").lower()]
    assert said, (
        f"{mutant.name} (student {student}): no failing cell of {mutant.task} says {mutant.says!r}",
        {gid: errors.get(gid, "(no error output)")[-1500:] for gid in lost},
    )
