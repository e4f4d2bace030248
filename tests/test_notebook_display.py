"""In a real Jupyter kernel: each figure is shown exactly once, and the harness
writes nothing to stderr (nbgrader scores a test cell with stderr as 0)."""

import re

import nbclient
import nbformat
import pytest

ROOT = __import__("pathlib").Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow  # a notebook trained in a real kernel: about 40 s


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    from conftest import write_dataset

    folder = tmp_path_factory.mktemp("nb")
    write_dataset(folder / "data" / "tiny-classification.npz")
    cells = [
        f"import sys; sys.path.insert(0, {str(ROOT)!r})\n"
        "import torch\nfrom torch import nn\nimport hw2utils",
        "L = hw2utils.LossFunctionWithPlot()\nL(torch.tensor([-1.5, 1.2]))\nL.plot_history()",
        "torch.manual_seed(0)\nnet = nn.Sequential(nn.Linear(36, 8), nn.ReLU(), nn.Linear(8, 1), nn.Sigmoid())\n"
        "hw2utils.run_test(hw2utils.Supervise(nn.BCELoss(), net),\n"
        "                  lambda p: torch.optim.Adam(p, lr=0.05), epochs=300, device='cpu',\n"
        "                  data=hw2utils.load_dataset('tiny', data_dir='data'))",
        "hw2utils.run_init_experiment(lambda i, o, g: torch.randn(i, o, generator=g) / i**0.5, width=64)",
    ]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    nbclient.NotebookClient(
        nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(folder)}}
    ).execute()
    return nb.cells


def images(cell):
    return [o for o in cell.outputs if "image/png" in o.get("data", {})]


@pytest.mark.parametrize("index", [1, 2, 3])
def test_each_drawing_cell_shows_one_figure(executed, index):
    assert len(images(executed[index])) == 1


def test_training_cell_prints_progress_and_summary_on_stdout_only(executed):
    streams = [o for o in executed[2].outputs if o.output_type == "stream"]
    assert {s.name for s in streams} == {"stdout"}
    text = "".join(s.text for s in streams)
    assert "epoch" in text and "held-out accuracy 1.0000" in text
    result = next(o for o in executed[2].outputs if o.output_type == "execute_result")
    assert "TrainingHistory(" in result.data["text/plain"]


def test_grading_mode_draws_no_figure(monkeypatch):
    """Students' own plots become one line of text; the helpers build no figure at all."""
    monkeypatch.setenv("HW2_GRADING_MODE", "1")  # the kernel inherits it
    cells = [
        f"import sys; sys.path.insert(0, {str(ROOT)!r})\n"
        "import matplotlib.pyplot as plt\nimport torch\nimport hw2utils",
        "plt.plot([1, 2]); plt.show()",
        "L = hw2utils.LossFunctionWithPlot()\nL(torch.tensor([-1.5, 1.2]))\nL.plot_history()\n"
        "experiment = hw2utils.run_init_experiment(lambda i, o, g: torch.randn(i, o, generator=g) / i**0.5, width=64)\n"
        "print(L.figure, experiment.figure, len(plt.get_fignums()))",
    ]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    nbclient.NotebookClient(nb, timeout=120, kernel_name="python3").execute()
    own, helpers = nb.cells[1], nb.cells[2]
    assert not images(own) and "<Figure size" in own.outputs[0].data["text/plain"]
    assert [o.output_type for o in helpers.outputs] == ["stream"]
    assert helpers.outputs[0].text == "None None 0\n"


def test_a_failing_visible_check_shows_the_call_and_the_message_not_the_toolkit():
    """A verdict: the traceback is the student's call and one line of the check (no toolkit
    frames); an error in the student's own code keeps the frames that lead to their line."""
    cells = [
        f"import sys; sys.path.insert(0, {str(ROOT)!r})\nimport hw2checks",
        "def descend(loss_fn, x, lr, steps):\n    return x\nhw2checks.check_gd_loop__matches_reference(descend)",
        "def broken(loss_fn, x, lr, steps):\n    return 1 / 0\nhw2checks.check_gd_loop__matches_reference(broken)",
    ]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    nbclient.NotebookClient(nb, timeout=120, kernel_name="python3", allow_errors=True).execute()
    (verdict,) = [o for o in nb.cells[1].outputs if o.output_type == "error"]
    assert verdict.ename == "AssertionError" and verdict.evalue.startswith(
        "gd_loop__matches_reference, case"
    )
    assert sum("hw2checks/" in line for line in verdict.traceback) == 1
    (own,) = [o for o in nb.cells[2].outputs if o.output_type == "error"]
    assert own.ename == "ZeroDivisionError"
    lines = [re.sub(r"\x1b\[[0-9;]*m", "", line) for line in own.traceback]  # IPython's colours
    assert sum("hw2checks/" in line for line in lines) >= 1 and any(
        "1 / 0" in line for line in lines
    )
