"""In a real browser: a student's markup runs nowhere a person looks at it.

One student's notebook 1 (the reference's code answers) whose written answers and an added
markdown cell carry every payload of tests/attacks.py's markup family (each would PUT a file
into the course folder through the Jupyter server's /api/contents with the ``_xsrf`` cookie,
request ``/payload-<name>`` and open a dialog), and added code cells whose outputs try the
same (HTML printed, a PNG whose data closes its ``src`` attribute, an error whose name and
value are HTML), is graded through the real pipeline (``autograder.grade.grade``). Then, as
the README tells the instructor, JupyterLab runs in the course folder with nbgrader's
formgrader, and headless Chromium, logged in with the server's token, opens formgrader's
manual-grading view of that submission and the student's feedback page (served by a small
HTTP server that records every request), clicks what the payloads need and waits. Asserted:
no file appeared in the course folder, no dialog opened, no request reached ``/payload-*``
or ``/api/contents`` from the page, the page did not navigate away, and the answers' prose
and maths still show. A control script, run by the test itself in each page, proves that
the same script *would* have been seen (file written, request logged).

Needs chromium and chromium-driver (Debian packages): skipped without them, failed under CI.
"""

from __future__ import annotations

import dataclasses
import functools
import http.server
import json
import threading
import time
from pathlib import Path

import pytest

import attacks as corpus
import browser  # tests/browser.py
from autograder import grade
from autograder.sandbox import provision

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "build" / "test-artifacts"
STUDENT = "mallory"
NOTEBOOK = corpus.NB1
pytestmark = [pytest.mark.slow, pytest.mark.sandbox]

OUTPUT_PAYLOADS = corpus.code("""
    from IPython.display import display
    print("<img src=x onerror=\\"fetch('/payload-stdout')\\">")
    display({"text/plain": "a plot", "image/png": "iVBORw0KGgo=\\" onerror=\\"fetch('/payload-png')",
             "text/html": "<img src=x onerror=\\"fetch('/payload-html_output')\\">"}, raw=True)
    """)
ERROR_PAYLOAD = corpus.code("""
    raise type("E<svg onload=fetch('/payload-ename')>", (Exception,), {})(
        "<img src=x onerror=fetch('/payload-evalue')>")
    """)
# Records every alert/confirm/prompt of every document (frames included) in localStorage.
ALERT_HOOK = """
for (const name of ['alert', 'confirm', 'prompt']) {
  window[name] = function (message) {
    const seen = JSON.parse(localStorage.getItem('hw2-dialogs') || '[]');
    seen.push(name + ':' + message);
    localStorage.setItem('hw2-dialogs', JSON.stringify(seen));
  };
}
"""


class _Recorder(http.server.SimpleHTTPRequestHandler):
    """Serves the feedback folder and records every request's method and path."""

    requests: list[str]

    def log_message(self, *args):
        pass

    def _record(self):
        self.requests.append(f"{self.command} {self.path}")

    def do_GET(self):
        self._record()
        super().do_GET()

    def do_PUT(self):
        self._record()
        self.send_error(405)

    do_POST = do_PUT


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """The course folder after grading the student (sandboxed where this machine allows)."""
    browser.require_browser()
    base = tmp_path_factory.mktemp("markup")
    attack = next(a for a in corpus.ATTACKS if a.family == "markup")
    attack = dataclasses.replace(
        attack, cells=((corpus.END, OUTPUT_PAYLOADS), (corpus.END, ERROR_PAYLOAD))
    )
    corpus.write_submission(attack, base / "submissions" / STUDENT)
    problems = grade.grade(
        base / "submissions", base / "out", jobs=1, trust_students=bool(provision.refusal(ROOT, 1))
    )
    return base / "out" / "course", problems


@pytest.fixture(scope="module")
def driver():
    browser.require_browser()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    chrome = browser.chrome()
    chrome.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": ALERT_HOOK})
    yield chrome
    chrome.quit()


def _planted(course: Path) -> list[str]:
    return sorted(p.name for p in course.rglob("hw2-markup-pwned-*"))


def _dialogs(driver) -> list[str]:
    from selenium.common.exceptions import NoAlertPresentException

    try:
        open_dialog = [f"open: {driver.switch_to.alert.text}"]
    except NoAlertPresentException:
        open_dialog = []
    return open_dialog + json.loads(
        driver.execute_script("return localStorage.getItem('hw2-dialogs') || '[]';")
    )


def _provoke(driver) -> None:
    """Click every link and button the answers show and focus every input, as a grader
    reading them might; then give timers (meta refresh) time to fire."""
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.common.by import By

    page = driver.current_url
    for selector in (
        ".text_cell_render a, .jp-RenderedMarkdown a",
        ".text_cell_render button",
        ".jp-RenderedMarkdown button",
        "svg a",
        "math maction",
    ):
        for element in driver.find_elements(By.CSS_SELECTOR, selector):
            try:
                driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", element)
                element.click()
            except WebDriverException:
                pass
            if driver.current_url.split("#")[0] != page.split("#")[0]:
                driver.back()
    for element in driver.find_elements(
        By.CSS_SELECTOR, ".text_cell_render input, .jp-RenderedMarkdown input"
    ):
        driver.execute_script("arguments[0].focus();", element)
    time.sleep(2.5)


def _answers_readable(text: str) -> None:
    """The written answer's prose and maths show (MathJax's CDN is unreachable here, so the
    TeX shows as written)."""
    assert "A large step overshoots" in text
    assert "\\eta > 2/L" in text and "|1 - \\eta L| < 1" in text
    assert "so the loss grows" in text


def _control(driver, name: str) -> None:
    """Run one payload's script in the page ourselves: what the assertions would see."""
    driver.execute_script(corpus.markup_script(name))
    time.sleep(1)


def test_the_submission_is_flagged(graded):
    course, problems = graded
    import csv

    with open(course.parent / "grades.csv") as f:
        row = next(r for r in csv.DictReader(f) if r["student"] == STUDENT)
    assert corpus.MARKUP_FLAG in row["flags"], row
    assert "q_lr_high" in row["flags"] and "your added cell" in row["flags"]
    assert float(row["autograded"]) > 0  # the honest code answers kept their points


def test_formgrader_runs_no_student_markup(graded, driver, tmp_path):
    check_formgrader(graded[0], driver, tmp_path)


def test_the_feedback_page_runs_no_student_markup(graded, driver):
    check_feedback(graded[0], driver)


def check_formgrader(course: Path, driver, tmp_path: Path) -> None:
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        submission = gradebook.find_submission_notebook(NOTEBOOK, "hw2", STUDENT).id
    log = tmp_path / "jupyter.log"
    with browser.jupyterlab(
        course, tmp_path / "state", log, environ={"PYTHONPATH": str(ROOT)}
    ) as lab:
        browser.log_in(driver, lab)
        url = f"{lab.base}/formgrader/submissions/{submission}/"
        driver.get(url)
        driver.find_element("css selector", ".text_cell_render, .jp-RenderedMarkdown")
        time.sleep(2)
        _provoke(driver)
        driver.save_screenshot(str(ARTIFACTS / "formgrader-markup.png"))
        ran = {
            "navigated to": [] if driver.current_url.startswith(url) else [driver.current_url],
            "dialogs": _dialogs(driver),
            "files written": _planted(course),
            "requests": [
                line.split("ServerApp] ")[-1][:120]
                for line in log.read_text(errors="replace").splitlines()
                if "payload-" in line or "hw2-markup-pwned" in line
            ],
        }
        assert not any(ran.values()), f"student markup ran in formgrader: {ran}"
        driver.get(url)
        _answers_readable(driver.find_element("tag name", "body").text)
        _control(driver, "control")  # the same script, run by the test: it is seen
        assert _planted(course) == [corpus.MARKUP_FILE.format(name="control")]
        assert "payload-control" in log.read_text(errors="replace")
        assert _dialogs(driver) == ["alert:control"]


def check_feedback(course: Path, driver) -> None:
    folder = course / "feedback" / STUDENT / "hw2"
    assert (folder / f"{NOTEBOOK}.html").is_file()
    handler = type("Handler", (_Recorder,), {"requests": []})
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(handler, directory=str(folder))
    )
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/{NOTEBOOK}.html"
        driver.get(url)
        time.sleep(2)
        _provoke(driver)
        driver.save_screenshot(str(ARTIFACTS / "feedback-markup.png"))
        ran = {
            "navigated to": [] if driver.current_url.startswith(url) else [driver.current_url],
            "dialogs": _dialogs(driver),
            "requests": [
                r
                for r in handler.requests
                if r not in (f"GET /{NOTEBOOK}.html", "GET /favicon.ico")
            ],
        }
        assert not any(ran.values()), f"student markup ran in the feedback page: {ran}"
        _answers_readable(driver.find_element("tag name", "body").text)
        _control(driver, "control")
        assert any("payload-control" in r for r in handler.requests)
        assert _dialogs(driver) == ["alert:control"]
    finally:
        server.shutdown()
