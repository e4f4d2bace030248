"""In a real browser: written answers graded by hand in formgrader, as the instructor does it.

README, "5. Grade locally": after ``python -m autograder.grade SUBMISSIONS --out DIR`` the
written answers (markdown grade cells ``q_...``) are graded by hand in nbgrader's formgrader
(``cd DIR/course && PYTHONPATH=<kit> jupyter lab``, then the Formgrader tab), and
``cd DIR/course && nbgrader export`` writes the final totals.

The small class, graded once a session through the real pipeline (tests/conftest.py's
``small_class_graded``, ``autograder.grade.grade``), is copied; its reference student is the one
graded by hand. JupyterLab then runs in the course folder with the kit on
PYTHONPATH, and headless Chromium, logged in with the server's token, goes where an instructor
goes: the Nbgrader menu, Formgrader, Manual Grading, hw2, notebook 1, the student's name; it
types points and a comment into two written answers' grading boxes and leaves each box, which
is when formgrader saves, until formgrader's API returns them. Asserted outside the browser:
the gradebook holds the points and comments, ``nbgrader export`` counts the points in the
student's total, and the feedback regenerated afterwards shows them. Expected totals come from
the gradebook before grading by hand, never from numbers written here.

Needs chromium and chromium-driver (Debian packages): skipped without them, failed under CI.
"""

from __future__ import annotations

import csv
import dataclasses
import html
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

import browser  # tests/browser.py
import mutants  # tests/mutants.py
import small_class  # tests/small_class.py
from autograder import export, kit, nbgrader_steps

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "build" / "test-artifacts"
ASSIGNMENT, NOTEBOOK, STUDENT = kit.ASSIGNMENT, mutants.NB1, "reference"
# The written answers graded by hand: grade id, the share of its points given, the comment.
MARKS = (
    ("q_wd_gradient", 0.75, "Right structure, but the factor of the decay term is off."),
    ("q_lr_high", 0.5, "Says that the loss grows, not why a large step overshoots."),
)
pytestmark = [pytest.mark.slow, pytest.mark.sandbox]


@dataclasses.dataclass(frozen=True)
class HandGraded:
    """The course folder after grading by hand in formgrader, what was given there, and the
    gradebook's numbers before it."""

    course: Path
    points: dict[str, float]  # grade id -> points typed into formgrader
    comments: dict[str, str]  # grade id -> comment typed into formgrader
    max_points: dict[str, float]  # grade id -> the answer's points
    score_before: float  # the student's hw2 score before grading by hand
    notebook_score_before: float  # the student's NOTEBOOK score before grading by hand
    feedback_before: str  # NOTEBOOK's feedback page as the pipeline wrote it


def _gradebook(course: Path):
    from nbgrader.api import Gradebook

    return Gradebook(f"sqlite:///{course / 'gradebook.db'}")


@pytest.fixture(scope="module")
def graded(small_class_graded, tmp_path_factory) -> Path:
    """The course folder of a copy of the small class's graded batch (its reference student
    handed in every notebook answered; the batch's tables and feedback beside it)."""
    browser.require_browser()
    base, problems = small_class_graded
    assert not problems[STUDENT], problems[STUDENT]
    out = tmp_path_factory.mktemp("hand_grading") / "out"
    shutil.copytree(base / "out", out, symlinks=True)
    return out / "course"


@pytest.fixture(scope="module")
def driver():
    browser.require_browser()
    chrome = browser.chrome()
    yield chrome
    chrome.quit()


@pytest.fixture(scope="module")
def hand_graded(graded, driver, tmp_path_factory) -> HandGraded:
    """The course folder after an instructor graded MARKS by hand in formgrader (the server
    stopped again)."""
    course = graded
    with _gradebook(course) as gradebook:
        notebook = gradebook.find_submission_notebook(NOTEBOOK, ASSIGNMENT, STUDENT)
        submission_id, notebook_score_before = notebook.id, notebook.score
        score_before = gradebook.find_submission(ASSIGNMENT, STUDENT).score
        max_points = {
            gid: gradebook.find_grade(gid, NOTEBOOK, ASSIGNMENT, STUDENT).max_score
            for gid, _, _ in MARKS
        }
    points = {gid: share * max_points[gid] for gid, share, _ in MARKS}
    comments = {gid: comment for gid, _, comment in MARKS}
    feedback_before = _feedback_page(course).read_text()
    state = tmp_path_factory.mktemp("jupyter")
    with (
        browser.jupyterlab(
            course, state, state / "jupyter.log", environ={"PYTHONPATH": str(ROOT)}
        ) as lab,
        browser.screenshot_on_failure(driver, ARTIFACTS / "formgrader-hand-grading.png"),
    ):
        open_submission(driver, lab, NOTEBOOK, STUDENT)
        shown = driver.execute_script("return submission_id;")
        assert shown == submission_id, f"formgrader opened submission {shown}, not {STUDENT}'s"
        for gid in points:
            grade_answer(driver, lab, submission_id, gid, points[gid], comments[gid])
    return HandGraded(
        course, points, comments, max_points, score_before, notebook_score_before, feedback_before
    )


# --- the instructor's clicks ---------------------------------------------------------------


def _shown(driver, selector: str, text: str | None = None):
    """The visible element of ``selector`` that reads ``text`` (any, if None), once it shows:
    formgrader fills its tables in after the page has loaded."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    def found(d):
        return next(
            (
                e
                for e in d.find_elements(By.CSS_SELECTOR, selector)
                if e.is_displayed() and text in (None, e.text.strip())
            ),
            False,
        )

    return WebDriverWait(driver, 30).until(
        found, f"formgrader shows no {selector}" + (f" reading {text!r}" if text else "")
    )


def _click(driver, selector: str, text: str, navigates: bool = True) -> None:
    """Click the visible element of ``selector`` that reads ``text``, and wait until the page
    it leads to replaces this one."""
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    element = _shown(driver, selector, text)
    element.click()
    if navigates:
        WebDriverWait(driver, 30).until(
            expected_conditions.staleness_of(element), f"clicking {text!r} opened no page"
        )


def open_submission(driver, lab, notebook: str, student: str) -> None:
    """Log in, open formgrader from JupyterLab's Nbgrader menu, and follow its links (in the
    Formgrader tab's frame): Manual Grading, the assignment, ``notebook``, Show All Names,
    ``student``. The driver is left in formgrader's frame, on the submission."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    browser.log_in(driver, lab)
    _click(driver, ".lm-MenuBar-itemLabel", "Nbgrader", navigates=False)
    _click(driver, ".lm-Menu-itemLabel", "Formgrader", navigates=False)
    frame = WebDriverWait(driver, 30).until(
        lambda d: d.find_elements(By.CSS_SELECTOR, "#formgrader iframe"), "no Formgrader tab"
    )[0]
    driver.switch_to.frame(frame)
    _click(driver, "a", "Manual Grading")
    _click(driver, "a", ASSIGNMENT)
    _click(driver, "a", notebook)
    _shown(driver, "a.name-hidden")  # "Submission #1": the table has its rows
    _click(driver, "#toggle_names", "Show All Names", navigates=False)
    _click(driver, "a.name-shown", student)


def _click_in_view(driver, element, tries: int = 5) -> None:
    """Scroll ``element`` to the middle of the page and click it. The page may still move
    (formgrader lays out the answers as they load), leaving the element under the sticky
    breadcrumb bar for a moment: then scroll and click again."""
    from selenium.common.exceptions import ElementClickInterceptedException

    for attempt in range(tries):
        driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", element)
        try:
            element.click()
            return
        except ElementClickInterceptedException:
            if attempt == tries - 1:
                raise
            time.sleep(0.5)


def grade_answer(
    driver, lab, submission_id: str, grade_id: str, points: float, comment: str
) -> None:
    """Type ``points`` into the answer's score box and ``comment`` into its comment box,
    leaving each box by clicking elsewhere (formgrader saves a box when it has changed and
    loses focus), and wait until formgrader's API returns both."""
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    score = driver.find_element(By.CSS_SELECTOR, f"input.score#{grade_id}")
    box = driver.find_element(By.CSS_SELECTOR, f"textarea.comment#{grade_id}-comment")
    answer = box.find_element(
        By.XPATH,
        "./ancestor::*[contains(@class, 'nbgrader_cell')]//*[contains(@class, 'panel-body')]",
    )
    # formgrader binds a box to its grade once the grades have loaded: it then marks the
    # score box as awaiting a grade and gives the comment box its placeholder
    WebDriverWait(driver, 30).until(
        lambda d: (
            "needs_manual_grade" in score.get_attribute("class")
            and box.get_attribute("placeholder")
        ),
        f"formgrader did not load {grade_id}'s grade",
    )
    # Not Escape, formgrader's "defocus and save" key: its keyboard shortcuts are set up
    # after MathJax, which it loads from a CDN, and this browser reaches no CDN
    _click_in_view(driver, score)
    score.send_keys(f"{points:g}")
    _click_in_view(driver, box)
    box.send_keys(comment)
    _click_in_view(driver, answer)

    def saved() -> tuple:
        grades = lab.request(f"formgrader/api/grades?submission_id={submission_id}")
        notes = lab.request(f"formgrader/api/comments?submission_id={submission_id}")
        return (
            next(g["manual_score"] for g in grades if g["name"] == grade_id),
            next(c["manual_comment"] for c in notes if c["name"] == grade_id),
        )

    try:
        WebDriverWait(driver, 15).until(lambda _: saved() == (points, comment))
    except TimeoutException:
        raise AssertionError(
            f"formgrader did not save {grade_id}'s {points:g} points and "
            f"comment {comment!r}; its API has {saved()}"
        ) from None


# --- after grading by hand -----------------------------------------------------------------


def _feedback_page(course: Path) -> Path:
    return course / "feedback" / STUDENT / ASSIGNMENT / f"{NOTEBOOK}.html"


def _answer_panel(page: str, grade_id: str) -> str:
    """The feedback page's panel of one answer: from its anchor to the next cell's anchor."""
    start = page.index(f'<a name="{grade_id}"></a>')
    following = re.compile(r'<a name="[^"]+"></a>').search(page, start + 1)
    return page[start : following.start() if following else len(page)]


def _score(value: float, max_value: float) -> str:
    """A score as nbgrader's feedback template writes it (floats rounded to 2 places)."""
    return f"Score: {round(float(value), 2)} / {round(float(max_value), 2)}"


def test_the_gradebook_holds_the_points_and_comments(hand_graded):
    with _gradebook(hand_graded.course) as gradebook:
        for gid, points in hand_graded.points.items():
            mark = gradebook.find_grade(gid, NOTEBOOK, ASSIGNMENT, STUDENT)
            assert (mark.manual_score, mark.score, mark.needs_manual_grade) == (
                points,
                points,
                False,
            ), gid
            comment = gradebook.find_comment(gid, NOTEBOOK, ASSIGNMENT, STUDENT)
            assert comment.manual_comment == hand_graded.comments[gid]
        notebook = gradebook.find_submission_notebook(NOTEBOOK, ASSIGNMENT, STUDENT)
        assert notebook.score == pytest.approx(
            hand_graded.notebook_score_before + sum(hand_graded.points.values())
        )
        # the notebook's other written answers still await grading by hand
        pending = {g.name for g in notebook.grades if g.needs_manual_grade}
        assert pending and not pending & set(hand_graded.points)
        assert all(name.startswith("q_") for name in pending), pending


def test_nbgrader_export_counts_the_hand_graded_points(hand_graded):
    course = hand_graded.course
    env = {k: v for k, v in os.environ.items() if not k.startswith("HW2_")}
    env["PYTHONPATH"] = str(ROOT)  # the kit, as the README says: the course config imports it
    done = subprocess.run(
        [sys.executable, "-m", "nbgrader", "export"],
        cwd=course,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    with open(course / "grades.csv") as f:
        rows = [r for r in csv.DictReader(f) if r["student_id"] == STUDENT]
    assert len(rows) == 1, rows
    with _gradebook(course) as gradebook:
        max_score = gradebook.find_assignment(ASSIGNMENT).max_score
    expected = hand_graded.score_before + sum(hand_graded.points.values())
    assert float(rows[0]["score"]) == pytest.approx(expected), rows[0]
    assert float(rows[0]["max_score"]) == pytest.approx(max_score) == 100, rows[0]


def test_the_kits_export_counts_them_and_lists_a_student_no_lms_knows(hand_graded):
    """``bash run.sh export DIR --lms canvas --feedback``: the tables agree with nbgrader
    (the hand-graded points and the extra credit on top), and the student, handed in as a
    plain folder, is listed beside the Canvas file, not dropped. It also rewrites the
    feedback, which the next test reads."""
    out = hand_graded.course.parent
    assert export.main([str(out), "--lms", "canvas", "--pending", "zero", "--feedback"]) == 0
    with open(out / "grades.csv") as f:
        row = next(r for r in csv.DictReader(f) if r["student"] == STUDENT)
    given = sum(hand_graded.points.values())
    assert float(row["hand_graded"]) == pytest.approx(given)
    assert float(row["total"]) == pytest.approx(hand_graded.score_before + given)
    assert float(row["extra_credit"]) > 0  # the reference's EC2 rule
    with open(out / "lms" / "canvas-not-written.csv") as f:
        # the class's every student handed in a plain folder
        assert [r["student"] for r in csv.DictReader(f)] == list(small_class.STUDENTS)


def test_regenerated_feedback_shows_the_points_and_comments(hand_graded):
    for gid, comment in hand_graded.comments.items():
        assert html.escape(comment, quote=False) not in hand_graded.feedback_before, gid
    if hand_graded.feedback_before == _feedback_page(hand_graded.course).read_text():
        # run alone: regenerate it here (the kit's export above does it with --feedback)
        assert nbgrader_steps.feedback(hand_graded.course, STUDENT) is None
    page = _feedback_page(hand_graded.course).read_text()
    for gid, points in hand_graded.points.items():
        panel = _answer_panel(page, gid)
        assert _score(points, hand_graded.max_points[gid]) in panel, (gid, panel[:600])
        comment = html.escape(hand_graded.comments[gid], quote=False)
        assert re.search(rf"<b>Comments:</b>\s*<p>{re.escape(comment)}</p>", panel), (
            gid,
            panel[-800:],
        )
    with _gradebook(hand_graded.course) as gradebook:
        notebook = gradebook.find_submission_notebook(NOTEBOOK, ASSIGNMENT, STUDENT)
        score, max_score = notebook.score, notebook.max_score
    assert score > hand_graded.notebook_score_before
    # the page's heading: the notebook's score, the hand-graded points included
    total = f"{NOTEBOOK} ({_score(score, max_score)})"
    assert total in page, re.findall(r"\(Score: [^)]*\)", page)[:1]
