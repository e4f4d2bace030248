"""The student bundle and the release leak nothing, and the leak check catches each kind of
leak planted in a copy of them (so a clean result means something)."""

import json
import re
import shutil
import sqlite3
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
import bundle  # noqa: E402
import leak_check  # noqa: E402
from autograder import kit  # noqa: E402

SOURCE = ROOT / "source" / "hw2"


@pytest.fixture(scope="module")
def student_bundle(tmp_path_factory):
    return bundle.make_bundle(tmp_path_factory.mktemp("bundle"))


def test_the_release_and_the_bundle_are_clean(student_bundle):
    folder, archive = student_bundle
    assert leak_check.scan([ROOT / "release" / "hw2", folder, archive]) == []


def test_the_bundle_holds_what_a_student_needs_and_builds_the_same_twice(student_bundle, tmp_path):
    folder, archive = student_bundle
    names = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}
    assert names == kit.STUDENT_FILES
    readme = (folder / "README.md").read_text()
    assert "Do not rename the notebooks" in readme and "jupyter lab" in readme
    assert readme.count("https://colab.research.google.com/github/") == 4
    _, again = bundle.make_bundle(tmp_path)
    assert again.read_bytes() == archive.read_bytes()
    with zipfile.ZipFile(archive) as zf:
        assert sorted(zf.namelist()) == sorted(f"hw2/{n}" for n in names)


@pytest.mark.parametrize(
    "base_url, expected",
    [
        (
            "https://raw.githubusercontent.com/org/repo/main/",
            "https://colab.research.google.com/github/org/repo/blob/main/01_gradient_descent.ipynb",
        ),
        (
            "https://raw.githubusercontent.com/org/repo/fall26/hw2/",
            "https://colab.research.google.com/github/org/repo/blob/fall26/hw2/01_gradient_descent.ipynb",
        ),
        ("https://course.example.edu/hw2/", None),
    ],
)
def test_colab_links_follow_the_one_base_url(base_url, expected):
    assert bundle.colab_url(base_url, "01_gradient_descent") == expected
    readme = bundle.student_readme(base_url)
    assert (expected in readme) if expected else ("File > Upload notebook" in readme)


def source_cell(name, grade_id):
    nb = json.loads((SOURCE / f"{name}.ipynb").read_text())
    return next(
        c for c in nb["cells"] if c["metadata"].get("nbgrader", {}).get("grade_id") == grade_id
    )


def region(cell, begin, end):
    return leak_check._region_lines("".join(cell["source"]), begin, end)


def add_cell(folder, name, text, cell_type="code", output=None):
    path = folder / f"{name}.ipynb"
    nb = json.loads(path.read_text())
    cell = {"cell_type": cell_type, "metadata": {}, "source": text}
    if cell_type == "code":
        cell.update(
            outputs=[]
            if output is None
            else [{"output_type": "stream", "name": "stdout", "text": output}],
            execution_count=None,
        )
    nb["cells"].append(cell)
    path.write_text(json.dumps(nb))


def plant_solution(folder):
    lines = region(
        source_cell("02_ema_adam", "adam_optimizer"), "### BEGIN SOLUTION", "### END SOLUTION"
    )
    add_cell(folder, "02_ema_adam", "\n".join(lines))


def plant_solution_in_output(folder):
    line = max(
        region(
            source_cell("01_gradient_descent", "sgd_optimizer"),
            "### BEGIN SOLUTION",
            "### END SOLUTION",
        ),
        key=len,
    )
    add_cell(folder, "01_gradient_descent", "print(answer)", output=line + "\n")


def _solution_statement(notebook: str, grade_id: str) -> str:
    """The longest statement of an answer's solution region that is an answer (a leak)."""
    lines = region(source_cell(notebook, grade_id), "### BEGIN SOLUTION", "### END SOLUTION")
    secret = leak_check.secrets()["solution statement"]
    return max(leak_check.statements("\n".join(lines)) & secret, key=len)


def plant_solution_line_in_shipped_checks(folder):
    """A shipped module holding a solution's line as it is: no longer excused as "public"."""
    line = max(
        leak_check._significant(
            region(
                source_cell("02_ema_adam", "adam_optimizer"),
                "### BEGIN SOLUTION",
                "### END SOLUTION",
            )
        )
        & leak_check.secrets()["solution"],
        key=len,
    )
    with open(folder / "hw2checks" / "part2.py", "a") as f:
        f.write(f"\n\ndef _probe_helper(self, p, g, t):\n    {line}\n")


def plant_solution_statement_in_shipped_checks(folder):
    """A probe that would carry an answer: a statement of the Adam solution, laid out anew."""
    statement = _solution_statement("02_ema_adam", "adam_optimizer")
    relaid = statement.replace(" = ", "=").replace(" * ", "*").replace(" + ", "+")
    relaid = relaid.replace(" - ", "-").replace(" / ", "/")
    assert relaid != statement
    with open(folder / "hw2checks" / "part1.py", "a") as f:
        f.write(f"\n\ndef _probe_helper(self, p, g, t):\n    {relaid}  # laid out anew\n")


def plant_pasted_optimizers(folder):
    """Notebook 3's region for the optimizers a student pastes holds the reference of Parts 1-2."""
    lines = region(
        source_cell("03_training", "own_optimizers"), "### BEGIN SOLUTION", "### END SOLUTION"
    )
    add_cell(folder, "03_training", "\n".join(lines))


def plant_hidden_test(folder):
    lines = region(
        source_cell("01_gradient_descent", "gd_loop__in_place"),
        "### BEGIN HIDDEN TESTS",
        "### END HIDDEN TESTS",
    )
    add_cell(folder, "01_gradient_descent", "\n".join(lines))


def plant_model_answer(folder):
    nb = json.loads((SOURCE / "03_training.ipynb").read_text())
    manual = next(
        c
        for c in nb["cells"]
        if c["cell_type"] == "markdown" and c["metadata"].get("nbgrader", {}).get("grade")
    )
    add_cell(folder, "03_training", "".join(manual["source"]), cell_type="markdown")


def plant_rule_module(folder):
    shutil.copy(ROOT / "lessons" / "rules.py", folder / "rules.py")


def plant_rule_line_in_helpers(folder):
    rule = max(
        (
            line
            for line in (ROOT / "lessons" / "rules.py").read_text().splitlines()
            if "def " in line
        ),
        key=len,
    )
    with open(folder / "hw2utils.py", "a") as f:
        f.write("\n" + rule + "\n    pass\n")


def plant_check_line(folder):
    line = next(
        line
        for line in (ROOT / "autograder" / "checks" / "part2.py").read_text().splitlines()
        if "def simulate_adam(" in line
    )
    with open(folder / "hw2utils.py", "a") as f:
        f.write("\n" + line + "\n    pass\n")


def plant_gradebook(folder):
    with sqlite3.connect(folder / "notes.txt") as db:  # renamed to hide it
        db.execute("create table grade (student text, score real)")


def plant_model_file(folder):
    (folder / "ec_transfer_model.pt").write_bytes(b"weights")


def plant_data_array(folder):
    path = folder / "data" / "tiny-classification.npz"
    arrays = dict(np.load(path))
    np.savez(path, **arrays, rule_permutation=np.arange(36))


PLANTS = {
    plant_solution: "solution",
    plant_solution_in_output: "solution",
    plant_pasted_optimizers: "solution",
    plant_solution_line_in_shipped_checks: "solution",
    plant_solution_statement_in_shipped_checks: "solution",
    plant_hidden_test: "hidden test",
    plant_model_answer: "model answer",
    plant_rule_module: "unexpected file",
    plant_rule_line_in_helpers: "autograder",
    plant_check_line: "autograder",
    plant_gradebook: "gradebook",
    plant_model_file: "unexpected file",
    plant_data_array: "data",
}


@pytest.mark.parametrize("plant", PLANTS, ids=lambda f: f.__name__)
def test_each_kind_of_leak_is_caught(student_bundle, tmp_path, plant):
    folder = tmp_path / "hw2"
    shutil.copytree(student_bundle[0], folder)
    plant(folder)
    kinds = {leak.kind for leak in leak_check.scan([folder])}
    assert PLANTS[plant] in kinds


def test_a_leak_in_a_zip_is_caught_too(student_bundle, tmp_path):
    folder = tmp_path / "hw2"
    shutil.copytree(student_bundle[0], folder)
    plant_hidden_test(folder)
    archive = tmp_path / "hw2.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for p in folder.rglob("*"):
            if p.is_file():
                zf.write(p, f"hw2/{p.relative_to(folder).as_posix()}")
    assert "hidden test" in {leak.kind for leak in leak_check.scan([archive])}


def test_the_bundle_command_refuses_a_leaky_release(monkeypatch, tmp_path, capsys):
    release = tmp_path / "release"
    shutil.copytree(ROOT / "release" / "hw2", release)
    plant_model_file(release)
    monkeypatch.setattr(bundle, "RELEASE", release)
    assert bundle.main(["--out", str(tmp_path / "out")]) == 1
    assert "LEAK" in capsys.readouterr().out


def test_the_readme_times_are_the_notebooks_own():
    """The student README's table repeats the time each notebook's "Time" paragraph states
    (notebooks 3 and 4; 1 and 2 take seconds): change one, the test names the other."""
    readme = (ROOT / "notebooks" / "STUDENT_README.md").read_text()
    for stem in ("03_training", "04_initialization"):
        row = next(line for line in readme.splitlines() if line.startswith(f"| `{stem}.ipynb`"))
        seconds = re.search(r"(\d+) s\b", row).group(1)
        notebook = (ROOT / "notebooks" / f"{stem}.py").read_text()
        paragraph = notebook[notebook.index("**Time.**") :].split("\n#\n")[0]
        assert re.search(rf"\b{seconds} s\b", paragraph), (stem, seconds, paragraph)
    linked = bundle.student_readme("https://raw.githubusercontent.com/org/repo/main/")
    assert linked.count("Save a copy in Drive") == 1
    assert "DATASHEET.md" in readme
