"""The hostile class: submissions that misbehave while graded, graded once per test session
(tests/conftest.py's ``hostile_class``) for tests/test_grade_robustness.py (``HOSTILE``: the
reference notebook 1 with one thing added each) and tests/test_stopped_notebooks.py
(``STOPPED``: notebooks whose run stops before their checks). One grading run, one reference,
serves both files (about three minutes on 2 cores)."""

import csv
from pathlib import Path

import nbformat

from autograder import grade
from autograder.limits import GiB, Limits

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "source" / "hw2"
NB1, NB2 = "01_gradient_descent", "02_ema_adam"
SLEEPER = "4321"  # the argument of the `sleep` a student leaves running


def reference(name):
    """The reference answers of notebook ``name`` (source/hw2)."""
    return nbformat.read(SOURCE / f"{name}.ipynb", as_version=4)


def with_cell(code, after_grade_id=None):
    """Notebook 1 with a new code cell after the answer ``after_grade_id`` (default: first)."""
    nb = reference(NB1)
    index = 0
    if after_grade_id:
        index = (
            next(
                i
                for i, c in enumerate(nb.cells)
                if c.metadata.get("nbgrader", {}).get("grade_id") == after_grade_id
            )
            + 1
        )
    cell = nbformat.v4.new_code_cell(code)
    del cell["id"]  # the source notebooks are nbformat 4.4, which has no cell ids
    nb.cells.insert(index, cell)
    return nb


def with_answer_prefix(grade_id, code):
    nb = reference(NB1)
    cell = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)
    cell.source = code + cell.source
    return nb


def setup_raises():
    nb = reference(NB1)
    first = next(c for c in nb.cells if c.cell_type == "code")
    first.source = "import a_module_that_does_not_exist\n" + first.source
    return nb


# tests/test_grade_robustness.py's students
HOSTILE = {
    "reference": {NB1: reference(NB1), NB2: reference(NB2)},
    "hangs": {NB1: with_answer_prefix("gd_loop", "import time\ntime.sleep(600)\n")},
    "floods": {NB1: with_cell('print("spam " * 1_000_000)')},
    "stderr": {
        NB1: with_cell(
            "import sys\n"
            "class NoisySGD(SimpleGradientDescent):\n"
            "    def step(self):\n"
            "        print('debug: one step', file=sys.stderr)\n"
            "        super().step()\n"
            "SimpleGradientDescent = NoisySGD",
            after_grade_id="sgd_optimizer",
        )
    },
    "exits": {
        NB1: with_cell("import os\nos._exit(3)", after_grade_id="gd_loop"),
        NB2: reference(NB2),
    },
    "hog": {NB1: with_cell("import torch\nhog = torch.ones(3 * 2**30 // 4)  # 3 GiB")},
    "spawns": {
        NB1: with_cell(
            "import subprocess\n"  # one child, one detached from the kernel
            f"subprocess.Popen(['sleep', '{SLEEPER}'])\n"
            f"subprocess.Popen(['sleep', '{SLEEPER}'], start_new_session=True)"
        )
    },
    "raises": {NB1: setup_raises()},
}
BREAKS_NEXT_KERNEL = (
    "import pathlib\npathlib.Path('ipykernel_launcher.py').write_text('import os\\nos._exit(1)\\n')"
)
ERASES_PROBE_DATA = "import os, shutil\nshutil.rmtree(os.environ['HW2_PROBE_OUT'])"


def at_end(name, code):
    nb = reference(name)
    cell = nbformat.v4.new_code_cell(code)
    del cell["id"]  # the source notebooks are nbformat 4.4, which has no cell ids
    nb.cells.append(cell)
    return nb


STOPPED = {
    "no_kernel": {NB1: reference(NB1), NB2: at_end(NB2, BREAKS_NEXT_KERNEL)},
    "erases": {NB1: at_end(NB1, ERASES_PROBE_DATA)},
}
# one notebook at a time (threads=1): a student's notebook 2, the bigger, runs before notebook 1
# (tests/test_stopped_notebooks.py's no_kernel relies on it)
LIMITS = Limits(wall=300, cpu=600, memory=int(2.5 * GiB), threads=1, cell=15)
STUDENTS = {**HOSTILE, **STOPPED}


def grade_class(base, students: dict, limits: Limits):
    """Each student's notebooks ({student: {notebook: nb}}) written to base/subs and graded
    (two workers, no feedback): (the output folder, the problems, {student: scores.csv row})."""
    for student, notebooks in students.items():
        (base / "subs" / student).mkdir(parents=True)
        for name, nb in notebooks.items():
            nbformat.write(nb, base / "subs" / student / f"{name}.ipynb")
    problems = grade.grade(base / "subs", base / "out", jobs=2, limits=limits, feedback=False)
    with open(base / "out" / "scores.csv") as f:
        scores = {row.pop("student"): row for row in csv.DictReader(f)}
    return base / "out", problems, scores
