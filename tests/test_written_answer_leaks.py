"""No shipped text gives away a hand-graded answer before the question is asked.

Students may work on the four notebooks in any order, so everything shipped counts as read
before a question, except what follows the question's cell in its own notebook. The phrases
that state each answer live in ``autograder/written_answers.py`` (one entry per manual
question, which the first test keeps complete).
"""

import json
import re
import sys
from pathlib import Path

import jupytext
import pytest

from autograder import kit
from autograder.written_answers import WRITTEN_ANSWERS, giveaways, normalise

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
import build  # noqa: E402
import bundle  # noqa: E402

RELEASE = ROOT / "release" / "hw2"
AUTHORING = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.py"))
SHIPPED_FILES = [*kit.SHIPPED_FILES, "data/DATASHEET.md"]
# Code the checks cannot run without, which states an answer to whoever reads it: {file: lines}.
# Not text a hint can reword; the checks' code is the lead's to change. Each line must still be
# there (a stale exemption fails), and no other line may give an answer away.
CODE_EXEMPT = {
    "hw2checks/part2.py": [  # with_l2, the decayed loss's gradient (1.D) for the Adam decay check
        "return [g + weight_decay * p.detach() for g, p in zip(gradients(step, params), params)]"
    ]
}


def manual_cells():
    """(notebook stem, grade id, the question's text, the model answer) for each manual cell."""
    found = []
    for path in AUTHORING:
        cells = jupytext.read(path).cells
        for before, cell in zip(cells, cells[1:]):
            if "manual" in cell.metadata:
                found.append((path.stem, cell.metadata["manual"], before.source, cell.source))
    return found


def test_every_manual_question_has_an_entry_under_its_number():
    cells = manual_cells()
    assert {grade_id for _, grade_id, _, _ in cells} == set(WRITTEN_ANSWERS), (
        "autograder/written_answers.py must list exactly the notebooks' manual questions"
    )
    for _, grade_id, question, _ in cells:
        assert f"**{WRITTEN_ANSWERS[grade_id].question} (" in question, grade_id


@pytest.mark.parametrize("grade_id", sorted(WRITTEN_ANSWERS))
def test_the_phrases_find_the_model_answer(grade_id):
    """A phrase that cannot match the model answer would guard nothing."""
    answer = next(text for _, gid, _, text in manual_cells() if gid == grade_id)
    assert [gid for gid, _ in giveaways(answer) if gid == grade_id], (
        f"no phrase of {grade_id} matches its model answer:\n{normalise(answer)}"
    )


@pytest.mark.parametrize(
    "text, grade_id",
    [
        (
            "weight decay adds weight_decay * p to the gradient (your answer to 1.D), and the learning rate "
            "scales the whole gradient, decay included (1.E)",
            "q_wd_update",
        ),
        (r"$$g_t = \nabla\mathcal{L}_{\text{obj}}(\theta) + \lambda\,\theta$$", "q_wd_gradient"),
        (
            r"For plain gradient descent, adding $\lambda\theta$ to the gradient and shrinking $\theta$ directly "
            "are the same thing (Question\n# 1.E)",
            "q_wd_update",
        ),
        ("g = p.grad + weight_decay * p", "q_wd_gradient"),
        (
            r"what Adam rescales is the data's gradient *plus* the weight decay term $10^{-3}\,w$",
            "q_wd_gradient",
        ),
        (
            "Adam divides each gradient by its running RMS (Task 2.D), so a small gradient alone does not make "
            "a small step",
            "q_scale_invariance",
        ),
        (
            r"the identity path carries the gradient backward "
            r"($\partial(x + f(x))/\partial x = I + \partial f/\partial x$)",
            "q_residual",
        ),
    ],
)
def test_the_leaks_once_shipped_are_caught(text, grade_id):
    assert grade_id in {gid for gid, _ in giveaways(text)}


def test_plain_statements_of_the_tasks_are_not_alarms():
    text = (
        r"$$\mathcal{L}(\theta) = \mathcal{L}_{\text{obj}}(\theta) + \frac{\lambda}{2}\lVert\theta\rVert^2$$ "
        "torch.optim.SGD(params, lr, weight_decay=λ) optimizes exactly this; a learning rate that is "
        "too high or too low; the gradient of the decayed loss (your answer to 1.D)"
    )
    assert giveaways(text) == []


def release_findings(path: Path) -> list[str]:
    """Giveaways in a release notebook's cells, in order; a question's own cell and what
    follows it may discuss its answer."""
    findings, pending = [], set(WRITTEN_ANSWERS)
    for index, cell in enumerate(json.loads(path.read_text())["cells"]):
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if meta.get("grade") and meta.get("solution") and cell["cell_type"] == "markdown":
            pending.discard(meta["grade_id"])
        findings += [
            f"{path.name}, cell {index}: {WRITTEN_ANSWERS[gid].question} ({gid}): {words!r}"
            for gid, words in giveaways("".join(cell["source"]), sorted(pending))
        ]
    return findings


def file_findings(name: str, text: str) -> list[str]:
    return [
        f"{name}: {WRITTEN_ANSWERS[gid].question} ({gid}): {words!r}"
        for gid, words in giveaways(text)
    ]


@pytest.mark.parametrize("path", sorted(RELEASE.glob("*.ipynb")), ids=lambda p: p.stem)
def test_no_release_notebook_gives_an_answer_away_before_its_question(path):
    assert release_findings(path) == []


@pytest.mark.parametrize("name", SHIPPED_FILES)
def test_no_shipped_file_gives_an_answer_away(name):
    lines = (ROOT / name).read_text().splitlines()
    exempt = CODE_EXEMPT.get(name, [])
    assert not set(exempt) - {line.strip() for line in lines}, "a stale CODE_EXEMPT line"
    text = "\n".join(line for line in lines if line.strip() not in exempt)
    assert file_findings(name, text) == []


def test_the_student_readme_gives_no_answer_away():
    assert file_findings("README.md", bundle.student_readme(build.base_url())) == []


def test_release_findings_respect_the_question_order(tmp_path):
    """A giveaway after its question's cell is allowed, before it is reported."""
    answer_cell = {
        "cell_type": "markdown",
        "metadata": {"nbgrader": {"grade": True, "solution": True, "grade_id": "q_zero_init"}},
        "source": "YOUR ANSWER HERE",
    }
    text = {"cell_type": "markdown", "metadata": {}, "source": "Random weights break the symmetry."}
    for cells, expected in (([answer_cell, text], 0), ([text, answer_cell], 1)):
        path = tmp_path / "nb.ipynb"
        path.write_text(json.dumps({"cells": cells}))
        assert len(release_findings(path)) == expected
    assert re.search("4.A", release_findings(path)[0])
