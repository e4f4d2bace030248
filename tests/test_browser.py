"""In a real browser (Debian's headless Chromium, driven by Selenium): a student's JupyterLab
runs notebook 1's setup and one visible check, a student's nbgrader feedback page shows
the diagnostics but no reference code, and JupyterLab shows the helpers' figures at a readable
size. Screenshots go to build/test-artifacts/ and (the figures) build/figures-check/.

Needs chromium and chromium-driver (Debian packages): skipped without them, failed under CI
(the CI variable set), where .ci/run installs them."""

import hashlib
import html
import io
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

import browser  # tests/browser.py
from autograder import kit

ROOT = Path(__file__).resolve().parents[1]
SOURCE, RELEASE = ROOT / "source" / "hw2", ROOT / "release" / "hw2"
ARTIFACTS = ROOT / "build" / "test-artifacts"
NOTEBOOK = "01_gradient_descent.ipynb"
FEEDBACK_NOTEBOOK = "02_ema_adam.ipynb"


def _reference_answer(notebook: str, grade_id: str) -> str:
    """The source notebook's answer cell (the reference a student would have written)."""
    cells = json.loads((SOURCE / notebook).read_text())["cells"]
    cell = next(c for c in cells if c["metadata"].get("nbgrader", {}).get("grade_id") == grade_id)
    return "".join(line for line in cell["source"] if "### " not in line)


CORRECT_DESCEND = _reference_answer(NOTEBOOK, "gd_loop")

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def driver():
    browser.require_browser()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    chrome = browser.chrome()
    yield chrome
    chrome.quit()


def cell_index(nb, grade_id):
    return next(
        i
        for i, cell in enumerate(nb.cells)
        if cell.metadata.get("nbgrader", {}).get("grade_id") == grade_id
    )


def snapshot(folder):
    """Every non-hidden file under ``folder`` with a hash of its bytes."""
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(folder).parts)
    }


def release_success_line(check_name, answer_source):
    """What the release hw2checks prints when ``check_name`` passes on the ``descend`` that
    ``answer_source`` defines (run in a fresh Python whose working folder is the release, so that
    ``import hw2checks`` finds the package the student's JupyterLab imports)."""
    code = f"import torch, hw2checks\n{answer_source}\nhw2checks.{check_name}(descend)\n"
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=RELEASE,
        env={**os.environ, "PYTHONPATH": "", "PYTHONDONTWRITEBYTECODE": "1"},
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout.strip()


def test_jupyterlab_runs_the_setup_and_a_visible_check(driver, tmp_path):
    student = tmp_path / "hw2"  # what a student has after unpacking the bundle
    student.mkdir()
    shutil.copy(RELEASE / NOTEBOOK, student)
    shutil.copy(RELEASE / "hw2utils.py", student)
    shutil.copytree(RELEASE / "hw2checks", student / "hw2checks")
    shutil.copytree(RELEASE / "data", student / "data")
    nb = nbformat.read(student / NOTEBOOK, as_version=4)
    # The setup: the code cells up to the one importing hw2utils (in Colab, the first fetches it).
    setup = []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            setup.append(i)
            if re.search(r"^import hw2utils", cell.source, re.MULTILINE):
                break
    answer, check = cell_index(nb, "gd_loop"), cell_index(nb, "gd_loop__matches_reference")
    assert "hw2checks.check_gd_loop__matches_reference(descend)" in nb.cells[check].source
    expected = release_success_line("check_gd_loop__matches_reference", CORRECT_DESCEND)
    assert expected.startswith("gd_loop__matches_reference: ") and "\n" not in expected
    files_before = snapshot(student)

    log = ARTIFACTS / "jupyterlab-server.log"
    with browser.jupyterlab(student, tmp_path / "jupyter", log) as lab:
        try:
            page = browser.Notebook(driver, lab, NOTEBOOK)
            for i in setup:
                page.run(i)
                assert not page.errors(i), f"setup cell {i} shows an error:\n{page.errors(i)}"
            assert snapshot(student) == files_before, "outside Colab the setup must fetch nothing"

            # The untouched release: the check fails visibly, naming what is missing.
            page.run(answer)
            page.run(check)
            assert "NotImplementedError" in "\n".join(page.errors(check))
            assert expected not in page.text_output(check)

            # The student writes descend; the same check now prints its one success line.
            page.set_source(answer, CORRECT_DESCEND)
            page.run(answer)
            assert not page.errors(answer), "\n".join(page.errors(answer))
            page.run(check)
            page.scroll_to(check)
            assert not page.errors(check), "\n".join(page.errors(check))
            assert page.text_output(check).strip() == expected
        finally:  # the last state seen, passed or failed
            driver.save_screenshot(str(ARTIFACTS / "jupyterlab_notebook1.png"))


def solution_lines(notebook, grade_ids, given):
    """The non-trivial lines between ### BEGIN SOLUTION and ### END SOLUTION of the cells,
    except those that ``given`` (what students have anyway) contains."""
    nb = nbformat.read(notebook, as_version=4)
    lines = []
    for grade_id in grade_ids:
        inside = False
        for line in nb.cells[cell_index(nb, grade_id)].source.splitlines():
            if "### BEGIN SOLUTION" in line or "### END SOLUTION" in line:
                inside = "BEGIN" in line
            elif inside and len(line.strip()) > 15 and line.strip() not in given:
                lines.append(line.strip())
    return lines


@pytest.fixture
def feedback_html(small_class_graded):
    """The untouched release's feedback on notebook 2, from the real batch grader (the small
    class, tests/conftest.py's small_class_graded, which tests/test_grade.py grades too)."""
    base, _ = small_class_graded
    page = base / "out" / "course" / "feedback" / "untouched" / "hw2"
    page = page / FEEDBACK_NOTEBOOK.replace(".ipynb", ".html")
    assert page.is_file()
    return page


@pytest.mark.sandbox  # the small class graded
def test_feedback_page_shows_diagnostics_and_no_reference_code(driver, feedback_html):
    from selenium.webdriver.common.by import By

    driver.get(feedback_html.as_uri())
    try:
        # a test cell's output is the judge's verdict: the check, the case, what the
        # student's code raised and on which of its lines
        tracebacks = [
            pre
            for pre in driver.find_elements(By.TAG_NAME, "pre")
            if "AssertionError" in pre.text and "raised NotImplementedError" in pre.text
        ]
        adam = [pre for pre in tracebacks if "adam_optimizer__matches_torch, case" in pre.text]
        assert adam, "no diagnostic of the Adam test cell on the page"
        driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", adam[0])
        assert all(pre.is_displayed() for pre in tracebacks)
        scores = driver.find_elements(By.XPATH, "//*[contains(text(), 'Score:')]")
        assert any(s.is_displayed() for s in scores), "the page shows no score"
    finally:
        driver.save_screenshot(str(ARTIFACTS / "feedback_02_ema_adam.png"))

    text = " ".join(driver.execute_script("return document.body.innerText;").split())
    source = driver.page_source
    release = nbformat.read(RELEASE / FEEDBACK_NOTEBOOK, as_version=4)
    # The student's own code is on the page, and a line of it is found in the page's text
    # though highlighting splits it into many elements: so would a leaked reference line be.
    own = next(
        line.strip()
        for line in release.cells[cell_index(release, "adam_optimizer")].source.splitlines()
        if "def __init__" in line
    )
    assert " ".join(own.split()) in text
    # Lines the release already holds are no leak: `with torch.no_grad():` is in the task's
    # text, `return ema, ema_star_t` in a visible check's hint.
    given = "\n".join(
        [cell.source for cell in release.cells]
        + [(RELEASE / name).read_text() for name in kit.SHIPPED_FILES]
    )
    reference = solution_lines(SOURCE / FEEDBACK_NOTEBOOK, ["ema_update", "adam_optimizer"], given)
    assert len(reference) >= 8
    leaked = [
        line
        for line in reference
        if line in source or html.escape(line) in source or " ".join(line.split()) in text
    ]
    assert not leaked, f"the feedback page shows reference code: {leaked}"


FIGURES = ROOT / "build" / "figures-check"
# matplotlib's tab:orange and tab:red: the training and held-out accuracy lines
TRAINING_ORANGE, HELD_OUT_RED = (255, 127, 14), (214, 39, 40)


def colour_pixels(png: bytes, rgb, tolerance: int = 40) -> int:
    """How many pixels of the screenshot ``png`` are within ``tolerance`` of the colour ``rgb``."""
    import numpy as np
    from PIL import Image

    pixels = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=int)
    return int((np.abs(pixels - np.array(rgb)).sum(axis=-1) <= tolerance).sum())


def test_helper_figures_render_readably_in_jupyterlab(driver, tmp_path):
    """The helpers' figures of awkward runs (tests/test_figures.py draws them: accuracies
    that coincide at 0.50 over a flat loss, the zig-zag on the bowl, saturated tanh), executed
    by a kernel and shown by JupyterLab. Screenshots go to build/figures-check/ for a person
    to look at; the test asserts what a PNG can show: each figure at a readable size, and
    both accuracy lines on screen."""
    import nbclient

    cells = {
        "setup": f"import sys\nsys.path[:0] = [{str(ROOT)!r}, {str(ROOT / 'tests')!r}]\n"
        "import hw2utils\n"
        "from test_figures import saturated_experiment, stuck_history, zigzag_bowl",
        "training": "figure = hw2utils.plot_training(stuck_history())",
        "bowl": "L = zigzag_bowl()",
        "histograms": "experiment = saturated_experiment(layers=7)",
    }
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells.values()])
    nbclient.NotebookClient(
        nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    ).execute()
    nbformat.write(nb, tmp_path / "figures.ipynb")
    shutil.rmtree(FIGURES, ignore_errors=True)
    FIGURES.mkdir(parents=True)

    driver.set_window_size(1400, 2000)  # the seven histogram panels in one view
    with browser.jupyterlab(
        tmp_path, tmp_path / "jupyter", FIGURES / "jupyterlab-server.log"
    ) as lab:
        try:
            page = browser.Notebook(driver, lab, "figures.ipynb")
            shots = {}
            for index, name in enumerate(list(cells)[1:], start=1):
                (image,) = page.images(index)  # one figure: none shown twice
                natural = driver.execute_script(
                    "return [arguments[0].naturalWidth, arguments[0].naturalHeight];", image
                )
                shown = image.size
                # shown whole, not shrunk to fit (small text would become unreadable)
                assert shown["width"] >= 400 and shown["height"] >= 250, (name, shown)
                assert shown["width"] >= 0.95 * natural[0], (name, shown, natural)
                shots[name] = image.screenshot_as_png
                (FIGURES / f"{name}.png").write_bytes(shots[name])
        finally:
            driver.save_screenshot(str(FIGURES / "jupyterlab_figures.png"))
            driver.set_window_size(1400, 1000)

    # A dozen markers and the legend's handle are not enough: the lines themselves show.
    orange = colour_pixels(shots["training"], TRAINING_ORANGE)
    red = colour_pixels(shots["training"], HELD_OUT_RED)
    assert orange >= 300 and red >= 300, f"{orange} orange and {red} red pixels"
