"""Submitted notebooks against the release: the untouched release and an honest solved
notebook pass clean; every hostile edit is named, restored or ignored in the notebook that is
executed; front-end noise (Colab, JupyterLab) raises no suspicion."""

import copy
import json
from pathlib import Path

import nbformat
import pytest

from autograder import integrity
from autograder.kit import NOTEBOOKS

ROOT = Path(__file__).resolve().parents[1]
RELEASE = ROOT / "release" / "hw2"
SOURCE = ROOT / "source" / "hw2"
PART1 = "01_gradient_descent"


def load(folder, name=PART1):
    return json.loads((folder / f"{name}.ipynb").read_text())


def index_of(notebook, grade_id):
    return next(
        i
        for i, cell in enumerate(notebook["cells"])
        if cell["metadata"].get("nbgrader", {}).get("grade_id") == grade_id
    )


def cell_of(notebook, grade_id):
    return notebook["cells"][index_of(notebook, grade_id)]


def text(cell):
    return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]


def solved(name=PART1):
    """The release with the source notebook's answers typed in, as a student would hand it in:
    answers as strings (source lines are lists), outputs and execution counts present."""
    release, source = load(RELEASE, name), load(SOURCE, name)
    notebook = copy.deepcopy(release)
    for cell in notebook["cells"]:
        flags = cell["metadata"].get("nbgrader", {})
        if flags.get("solution"):
            cell["source"] = text(cell_of(source, flags["grade_id"]))
        if cell["cell_type"] == "code":
            cell["execution_count"] = 7
            cell["outputs"] = [{"output_type": "stream", "name": "stdout", "text": "ok\n"}]
    return notebook


def check(submitted, name=PART1):
    checked = integrity.check_notebook(submitted, load(RELEASE, name))
    nbformat.validate(nbformat.from_dict(checked.notebook))
    return checked


def edits_about(checked, what):
    return [line for line in checked.edits if what in line]


def assert_runs_the_release_except_answers(checked, name=PART1, answers=None):
    """Every release cell in order, as released, except answer cells' sources."""
    release = load(RELEASE, name)
    assert len(checked.notebook["cells"]) == len(release["cells"])
    for mine, theirs in zip(checked.notebook["cells"], release["cells"]):
        assert mine["metadata"] == theirs["metadata"]
        assert mine["cell_type"] == theirs["cell_type"]
        grade_id = theirs["metadata"].get("nbgrader", {}).get("grade_id")
        expected = (answers or {}).get(grade_id, text(theirs))
        assert mine["source"] == expected
        assert mine.get("outputs", []) == [] and mine.get("execution_count") is None


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_the_untouched_release_has_no_edits(name):
    checked = check(load(RELEASE, name), name)
    assert (checked.edits, checked.deleted_tests, checked.suspicious) == ([], [], False)
    assert_runs_the_release_except_answers(checked, name)
    assert checked.notebook["metadata"] == load(RELEASE, name)["metadata"]


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_a_solved_notebook_has_its_answers_taken_and_nothing_else(name):
    submitted = solved(name)
    checked = check(submitted, name)
    assert (checked.edits, checked.deleted_tests, checked.suspicious) == ([], [], False)
    answers = {
        cell["metadata"]["nbgrader"]["grade_id"]: cell["source"]
        for cell in submitted["cells"]
        if cell["metadata"].get("nbgrader", {}).get("solution")
    }
    assert any("### BEGIN SOLUTION" in answer for answer in answers.values())
    assert_runs_the_release_except_answers(checked, name, answers)


def test_the_source_notebook_itself_is_flagged_and_its_hidden_tests_do_not_run():
    checked = check(load(SOURCE))
    assert checked.suspicious
    assert edits_about(checked, "test cell 'gd_loop__matches_reference': source edited: restored")
    assert edits_about(checked, "nbgrader metadata changed (cell_type 'code' -> None, checksum")
    release = load(RELEASE)
    test = cell_of(checked.notebook, "gd_loop__matches_reference")
    assert test["source"] == text(cell_of(release, "gd_loop__matches_reference"))
    assert "BEGIN HIDDEN TESTS" not in json.dumps(checked.notebook)


def hostile(edit):
    """A solved notebook with ``edit(notebook)`` applied, checked."""
    notebook = solved()
    edit(notebook)
    return check(notebook)


def test_a_test_cell_turned_markdown_is_restored_and_suspicious():
    checked = hostile(lambda nb: cell_of(nb, "gd_loop__in_place").update(cell_type="markdown"))
    assert edits_about(
        checked,
        "test cell 'gd_loop__in_place': cell type changed from code to "
        "'markdown': restored to code",
    )
    assert checked.suspicious
    assert cell_of(checked.notebook, "gd_loop__in_place")["cell_type"] == "code"


def test_an_answer_cell_of_another_type_keeps_the_students_text_in_the_release_type():
    def edit(nb):
        cell = cell_of(nb, "q_lr_high")
        cell.update(cell_type="code", outputs=[], execution_count=None, source="print('hi')")

    checked = hostile(edit)
    assert edits_about(
        checked, "answer cell 'q_lr_high': cell type changed from markdown to 'code'"
    )
    assert not checked.suspicious  # pressing "y" in command mode does this
    cell = cell_of(checked.notebook, "q_lr_high")
    assert (cell["cell_type"], cell["source"]) == ("markdown", "print('hi')")
    assert "outputs" not in cell


@pytest.mark.parametrize(
    "grade_id, change, says",
    [
        ("gd_loop__in_place", {"points": 100}, "points 1 -> 100"),
        ("gd_loop", {"grade": True, "points": 50}, "grade False -> True, points None -> 50"),
        (
            "gd_loop__tensor_lr",
            {"locked": False, "solution": True},
            "locked True -> False, solution False -> True",
        ),
        ("q_lr_low", {"checksum": "0" * 32}, "checksum"),
    ],
)
def test_changed_nbgrader_metadata_is_restored_and_suspicious(grade_id, change, says):
    checked = hostile(lambda nb: cell_of(nb, grade_id)["metadata"]["nbgrader"].update(change))
    assert edits_about(checked, f"'{grade_id}': nbgrader metadata changed")
    assert edits_about(checked, says)
    assert checked.suspicious
    assert (
        cell_of(checked.notebook, grade_id)["metadata"]
        == cell_of(load(RELEASE), grade_id)["metadata"]
    )


def test_an_edited_test_cell_is_restored_and_suspicious():
    checked = hostile(lambda nb: cell_of(nb, "sgd_optimizer__zero_grad").update(source="pass\n"))
    assert edits_about(
        checked, "test cell 'sgd_optimizer__zero_grad': source edited: restored from the release"
    )
    assert checked.suspicious
    assert cell_of(checked.notebook, "sgd_optimizer__zero_grad")["source"] == text(
        cell_of(load(RELEASE), "sgd_optimizer__zero_grad")
    )


def test_whitespace_and_line_lists_are_not_edits():
    def edit(nb):
        cell = cell_of(nb, "sgd_optimizer__zero_grad")
        cell["source"] = [line.replace("\n", "  \r\n") for line in text(cell).splitlines(True)] + [
            "\n"
        ]

    checked = hostile(edit)
    assert checked.edits == []


def test_a_deleted_test_cell_scores_0_stays_for_the_record_and_no_provided_cell_runs_twice():
    # gd_loop__tensor_lr is followed by two provided cells: after its deletion they follow
    # another test cell in the submission, and must still run once, in their place
    checked = hostile(lambda nb: nb["cells"].pop(index_of(nb, "gd_loop__tensor_lr")))
    assert checked.deleted_tests == ["gd_loop__tensor_lr"]
    assert edits_about(checked, "test cell 'gd_loop__tensor_lr': missing: scores 0")
    assert not checked.suspicious  # Colab ignores "deletable": an accident is possible
    assert_runs_the_release_except_answers(checked, answers=_answers(solved()))


def _answers(notebook):
    return {
        cell["metadata"]["nbgrader"]["grade_id"]: text(cell)
        for cell in notebook["cells"]
        if cell["metadata"].get("nbgrader", {}).get("solution")
    }


def test_a_renamed_test_cell_is_a_deleted_test_plus_a_forged_cell():
    def edit(nb):
        cell_of(nb, "sgd_optimizer__weight_decay")["metadata"]["nbgrader"]["grade_id"] = "bonus"

    checked = hostile(edit)
    assert checked.deleted_tests == ["sgd_optimizer__weight_decay"]
    assert edits_about(checked, "nbgrader metadata the release does not have (grade id 'bonus')")
    assert checked.suspicious
    assert "bonus" not in json.dumps(checked.notebook)


def test_a_duplicated_grade_id_keeps_the_first_and_the_copy_as_a_plain_cell():
    def edit(nb):
        first = index_of(nb, "gd_loop")
        copy_ = copy.deepcopy(nb["cells"][first])
        copy_["source"] = "def descend(*args):\n    return 'second try'\n"
        nb["cells"].insert(first + 1, copy_)

    checked = hostile(edit)
    assert edits_about(checked, "grade id 'gd_loop' duplicated: kept as your own cell")
    assert not checked.suspicious  # Jupyter copies the metadata with a copied cell
    cells = checked.notebook["cells"]
    answer = index_of(checked.notebook, "gd_loop")
    assert "### BEGIN SOLUTION" in cells[answer]["source"]
    assert cells[answer + 1] == {
        "cell_type": "code",
        "metadata": {},
        "execution_count": None,
        "outputs": [],
        "source": "def descend(*args):\n    return 'second try'\n",
    }
    assert sum(c["metadata"].get("nbgrader", {}).get("grade_id") == "gd_loop" for c in cells) == 1


def test_a_duplicated_test_cell_with_other_points_is_suspicious():
    def edit(nb):
        copy_ = copy.deepcopy(cell_of(nb, "gd_loop__in_place"))
        copy_["metadata"]["nbgrader"]["points"] = 40
        nb["cells"].append(copy_)

    checked = hostile(edit)
    assert edits_about(checked, "grade id 'gd_loop__in_place' duplicated")
    assert checked.suspicious


def test_an_added_cell_with_forged_nbgrader_metadata_is_a_plain_cell():
    forged = {
        "cell_type": "code",
        "execution_count": 1,
        "outputs": [],
        "source": "print('all good')",
        "metadata": {
            "nbgrader": {
                "grade": True,
                "grade_id": "free_points",
                "locked": True,
                "points": 50,
                "solution": False,
                "schema_version": 3,
            }
        },
    }
    checked = hostile(lambda nb: nb["cells"].append(forged))
    assert edits_about(
        checked, "nbgrader metadata the release does not have (grade id 'free_points')"
    )
    assert checked.suspicious
    assert checked.notebook["cells"][-1] == {
        "cell_type": "code",
        "metadata": {},
        "outputs": [],
        "execution_count": None,
        "source": "print('all good')",
    }


@pytest.mark.parametrize(
    "metadata, says",
    [
        ({"tags": ["raises-exception"]}, "tag 'raises-exception'"),
        ({"tags": ["skip-execution", "mine"]}, "tag 'skip-execution', tag 'mine'"),
        ({"editable": True}, "editable True"),
        ({"hide_input": True}, "metadata 'hide_input'"),
    ],
)
def test_metadata_that_changes_what_runs_or_shows_on_a_test_cell_is_named_and_ignored(
    metadata, says
):
    checked = hostile(
        lambda nb: cell_of(nb, "gd_loop__matches_reference")["metadata"].update(metadata)
    )
    assert edits_about(checked, f"test cell 'gd_loop__matches_reference': {says}: ignored")
    assert checked.suspicious
    assert (
        cell_of(checked.notebook, "gd_loop__matches_reference")["metadata"]
        == cell_of(load(RELEASE), "gd_loop__matches_reference")["metadata"]
    )


def test_tags_on_an_added_cell_are_named_and_dropped():
    cell = {
        "cell_type": "code",
        "metadata": {"tags": ["skip-execution"]},
        "outputs": [],
        "execution_count": None,
        "source": "x = 1",
    }
    checked = hostile(lambda nb: nb["cells"].append(cell))
    number = len(solved()["cells"]) + 1
    assert edits_about(checked, f"your added cell {number}: tag 'skip-execution': ignored")
    assert checked.suspicious
    assert checked.notebook["cells"][-1]["metadata"] == {}


def test_colab_and_jupyterlab_metadata_raise_nothing():
    def edit(nb):
        nb["metadata"] = {
            "colab": {"provenance": [], "gpuType": "T4"},
            "accelerator": "GPU",
            "kernelspec": {"name": "python3", "display_name": "Python 3"},
            "language_info": {"name": "python"},
        }
        for number, cell in enumerate(nb["cells"]):
            cell["metadata"].update(
                {
                    "id": f"c{number}",
                    "colab": {"base_uri": "https://localhost:8080/"},
                    "outputId": "0a1b",
                    "executionInfo": {"status": "ok"},
                    "collapsed": False,
                    "scrolled": True,
                    "jupyter": {"source_hidden": True},
                    "execution": {"iopub.status.busy": "x"},
                }
            )
            cell["metadata"].pop("deletable", None)  # front ends that ignore it may drop it

    checked = hostile(edit)
    assert (checked.edits, checked.suspicious) == ([], False)
    assert_runs_the_release_except_answers(checked, answers=_answers(solved()))


@pytest.mark.parametrize(
    "kernel, language, suspicious",
    [
        ("conda-env-dl-py", "python", False),
        ("bash", "bash", True),
    ],
)
def test_the_kernel_is_the_releases(kernel, language, suspicious):
    def edit(nb):
        nb["metadata"] = {
            "kernelspec": {"name": kernel, "language": language, "display_name": kernel},
            "language_info": {"name": language},
        }

    checked = hostile(edit)
    assert edits_about(checked, "notebook: ")
    assert checked.suspicious is suspicious
    assert checked.notebook["metadata"] == load(RELEASE)["metadata"]


def test_outputs_and_attachments_are_dropped():
    def edit(nb):
        cell_of(nb, "gd_loop__in_place")["outputs"] = [
            {"output_type": "stream", "name": "stdout", "text": "Passed: 1/1 points\n"}
        ]
        cell_of(nb, "q_lr_high")["attachments"] = {"a.png": {"image/png": "iVBORw0KGgo="}}

    checked = hostile(edit)
    assert edits_about(checked, "answer cell 'q_lr_high': attachments: ignored")
    assert not checked.suspicious
    assert "Passed" not in json.dumps(checked.notebook)
    assert "attachments" not in cell_of(checked.notebook, "q_lr_high")


def test_raw_cells_are_dropped():
    raw = {
        "cell_type": "raw",
        "metadata": {"format": "text/html"},
        "source": "<script>alert(1)</script>",
    }
    checked = hostile(lambda nb: nb["cells"].insert(3, raw))
    assert edits_about(checked, "your added cell 4: a raw cell: dropped")
    assert "<script>" not in json.dumps(checked.notebook)


def test_a_missing_answer_is_the_release_cell():
    checked = hostile(lambda nb: nb["cells"].pop(index_of(nb, "per_dim_lr")))
    assert edits_about(
        checked, "answer cell 'per_dim_lr': missing: the release's unanswered cell is graded"
    )
    assert cell_of(checked.notebook, "per_dim_lr")["source"] == text(
        cell_of(load(RELEASE), "per_dim_lr")
    )
    assert checked.deleted_tests == [] and not checked.suspicious


def test_provided_cells_deleted_are_restored_and_edited_ones_run_as_written():
    release = load(RELEASE)
    setup, demo = 1, 4  # the Colab setup cell and "L = LossFunctionWithPlot() ..."
    assert "nbgrader" not in release["cells"][demo]["metadata"]

    def edit(nb):
        nb["cells"][demo]["source"] = "L = LossFunctionWithPlot()  # mine\n"
        del nb["cells"][setup]

    checked = hostile(edit)
    (line,) = checked.edits
    assert line.startswith("provided cell 2 ('# Setup: in Colab")
    assert line.endswith("missing: restored from the release")
    assert not checked.suspicious
    cells = checked.notebook["cells"]
    assert len(cells) == len(release["cells"])
    assert cells[setup]["source"] == text(release["cells"][setup])
    assert cells[demo]["source"] == "L = LossFunctionWithPlot()  # mine\n"


def test_added_cells_follow_the_release_cell_above_them():
    def mine(source):
        return {
            "cell_type": "code",
            "metadata": {"colab": {}},
            "outputs": [],
            "execution_count": 3,
            "source": source,
        }

    def edit(nb):
        nb["cells"].insert(index_of(nb, "gd_loop") + 1, mine("print('after gd_loop')"))
        nb["cells"].insert(0, mine("print('top')"))
        nb["cells"].append(mine("print('end')"))

    checked = hostile(edit)
    assert checked.edits == []
    sources = [cell["source"] for cell in checked.notebook["cells"]]
    assert sources.index("print('top')") == 1  # after the first release cell (the title)
    assert sources.index("print('after gd_loop')") == index_of(checked.notebook, "gd_loop") + 1
    assert sources[-1] == "print('end')"
    assert len(sources) == len(load(RELEASE)["cells"]) + 3


def test_a_reordered_notebook_runs_in_the_releases_order_with_its_answers():
    def edit(nb):
        nb["cells"].reverse()

    checked = hostile(edit)
    assert edits_about(checked, "notebook: graded cells in another order than the release's")
    assert not checked.suspicious
    assert_runs_the_release_except_answers(checked, answers=_answers(solved()))


def test_malformed_cells_do_not_crash_the_check():
    def edit(nb):
        cell_of(nb, "gd_loop")["metadata"]["tags"] = "raises-exception"
        nb["cells"][2:2] = [
            ["not", "a", "cell"],
            {"cell_type": "code", "source": 42},
            {"cell_type": "code", "source": "x", "metadata": {"nbgrader": "forged"}},
        ]

    checked = hostile(edit)
    assert edits_about(checked, "your cell 3: not a valid notebook cell: dropped")
    assert edits_about(checked, "your cell 4: not a valid notebook cell: dropped")
    assert edits_about(checked, "your added cell 5: nbgrader metadata the release does not have")
    assert edits_about(checked, "answer cell 'gd_loop': tag 'raises-exception': ignored")
    assert checked.suspicious


def test_cell_ids_in_nbformat_4_5():
    release = load(RELEASE)
    release["nbformat_minor"] = 5
    for number, cell in enumerate(release["cells"]):
        cell["id"] = f"release-{number}"
    submitted = copy.deepcopy(release)
    submitted["cells"].insert(
        2, {"cell_type": "markdown", "id": "release-3", "metadata": {}, "source": "my note"}
    )
    checked = integrity.check_notebook(submitted, release)
    nbformat.validate(nbformat.from_dict(checked.notebook))
    ids = [cell["id"] for cell in checked.notebook["cells"]]
    assert len(set(ids)) == len(ids) and ids[0] == "release-0"


def test_load_submission_refuses_what_is_not_a_notebook(tmp_path):
    path = tmp_path / "01_gradient_descent.ipynb"
    path.write_bytes((RELEASE / f"{PART1}.ipynb").read_bytes())
    assert integrity.load_submission(path) == load(RELEASE)
    with pytest.raises(ValueError, match="is larger than .* MB and is not graded"):
        integrity.load_submission(path, max_bytes=1000)
    path.write_bytes(b"\xef\xbb\xbf" + (RELEASE / f"{PART1}.ipynb").read_bytes())  # a BOM
    assert integrity.load_submission(path)["nbformat"] == 4
    for content, says in [
        ("{ not json", "not a valid notebook file"),
        ("[" * 100_000 + "]" * 100_000, "not a valid notebook file"),
        ('{"nbformat": 4, "cells": [], "metadata": {"x": NaN}}', "NaN is not JSON"),
        ("[1, 2]", "holds a JSON list"),
        ('{"nbformat": 3, "worksheets": []}', "its nbformat is '3'"),
        ('{"nbformat": 4, "metadata": {}}', "no list of cells"),
        (
            '{"nbformat": 4, "cells": [{"cell_type": "widget", "source": ""}]}',
            "cell 1 is not a code",
        ),
        ('{"nbformat": 4, "cells": [{"cell_type": "code", "source": [1]}]}', "cell 1's source"),
        (
            '{"nbformat": 4, "cells": [{"cell_type": "code", "source": "", "metadata": []}]}',
            "cell 1's metadata",
        ),
    ]:
        path.write_text(content)
        with pytest.raises(ValueError, match=says):
            integrity.load_submission(path)
