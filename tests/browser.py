"""Real-browser helpers for the browser tests (tests/test_browser*.py,
tests/test_formgrader_hand_grading.py): Debian's headless Chromium driven by Selenium (with
the system chromedriver: Selenium Manager never downloads anything), a JupyterLab server
started for real in a temporary folder, logging in to it with its token, and a small page
object that runs notebook cells the way a student does (click the cell, press Shift+Enter)."""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("HW2_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("HW2_CHROMEDRIVER", "/usr/bin/chromedriver")
INSTALL_HINT = "apt-get install -y chromium chromium-driver (Debian; .ci/run does this in CI)"
# Variables of the test machine that a student's JupyterLab does not have (and every HW2_*).
_NOT_A_STUDENTS = ("PYTHONPATH", "NBGRADER_EXECUTION", "COLAB_RELEASE_TAG")
STDOUT, STDERR = "application/vnd.jupyter.stdout", "application/vnd.jupyter.stderr"
_PROMPT_DONE = re.compile(r"^\[(\d+)\]:$")


def require_browser() -> None:
    """Skip (fail under CI, which installs them) unless Chromium, chromedriver and Selenium
    are all there."""
    missing = [path for path in (CHROMIUM, CHROMEDRIVER) if not os.access(path, os.X_OK)]
    try:
        import selenium  # noqa: F401
    except ImportError:
        missing.append("the selenium package (pip install -r requirements.txt)")
    if missing:
        message = f"the browser tests need {', '.join(missing)}: {INSTALL_HINT}"
        if os.environ.get("CI"):
            pytest.fail(f"CI is set and {message}", pytrace=False)
        pytest.skip(message)


def chrome(log: Path | None = None):
    """A headless Chromium WebDriver. Host names other than 127.0.0.1 do not resolve, so
    pages load the same with or without network (the feedback page's MathJax CDN fails fast)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--window-size=1400,1000",
        "--disable-gpu",
        "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
    ):
        options.add_argument(argument)
    service = Service(
        executable_path=CHROMEDRIVER, log_output=str(log) if log else subprocess.DEVNULL
    )
    driver = webdriver.Chrome(service=service, options=options)
    driver.set_page_load_timeout(60)
    driver.set_script_timeout(30)
    return driver


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class JupyterLab:
    """A JupyterLab server on 127.0.0.1 serving ``root``, with a token, started by
    :func:`jupyterlab`."""

    def __init__(self, root: Path, port: int, token: str, process: subprocess.Popen, log: Path):
        self.root, self.port, self.token, self.process, self.log = root, port, token, process, log
        self.base = f"http://127.0.0.1:{port}"

    def url(self, path: str) -> str:
        return f"{self.base}/{path.lstrip('/')}?token={self.token}"

    def request(self, path: str, method: str = "GET"):
        """The server's JSON answer to ``path`` (relative to its root), authorized by the token."""
        request = urllib.request.Request(
            f"{self.base}/{path.lstrip('/')}",
            method=method,
            headers={"Authorization": f"token {self.token}"},
        )
        with urllib.request.urlopen(request, timeout=5) as response:
            body = response.read()
        return json.loads(body) if body else None

    def api(self, path: str, method: str = "GET"):
        return self.request(f"api/{path}", method)

    def log_tail(self, lines: int = 30) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


@contextlib.contextmanager
def jupyterlab(
    root: Path, state: Path, log: Path, timeout: float = 60, environ: dict | None = None
):
    """Run ``python -m jupyterlab`` headless on a free port with ``root`` as its root folder
    (configuration, settings and runtime files under ``state``; its output to ``log``; more
    environment variables in ``environ``), wait until it answers HTTP, and at the end shut its
    kernels down and kill its process group."""
    for folder in ("config", "runtime", "workspaces", "settings/@jupyterlab/apputils-extension"):
        (state / folder).mkdir(parents=True, exist_ok=True)
    # No "get notified about Jupyter news?" toast over the notebook, and no request for news.
    (state / "settings/@jupyterlab/apputils-extension/notification.jupyterlab-settings").write_text(
        json.dumps({"fetchNews": "false", "checkForUpdates": False})
    )
    env = {
        k: v for k, v in os.environ.items() if k not in _NOT_A_STUDENTS and not k.startswith("HW2_")
    }
    env.update(
        OMP_NUM_THREADS=os.environ.get("OMP_NUM_THREADS", "1"),
        JUPYTER_CONFIG_DIR=str(state / "config"),
        JUPYTER_RUNTIME_DIR=str(state / "runtime"),
        JUPYTERLAB_SETTINGS_DIR=str(state / "settings"),
        JUPYTERLAB_WORKSPACES_DIR=str(state / "workspaces"),
        **(environ or {}),
    )
    port, token = _free_port(), secrets.token_hex(16)
    command = [
        sys.executable,
        "-m",
        "jupyterlab",
        "--no-browser",
        "--allow-root",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root}",
        # window.jupyterapp, as for JupyterLab's own UI tests (Galata): used only to put
        # an answer into a cell, as typing it would.
        "--LabApp.expose_app_in_browser=True",
    ]
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "w") as out:
        process = subprocess.Popen(
            command,
            cwd=root,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    lab = JupyterLab(root, port, token, process, log)
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                raise RuntimeError(
                    f"JupyterLab exited with {process.returncode}:\n{lab.log_tail()}"
                )
            try:
                lab.api("status")
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"JupyterLab did not answer on port {port} within "
                        f"{timeout:.0f} s:\n{lab.log_tail()}"
                    ) from None
                time.sleep(0.3)
        yield lab
    finally:
        _stop(lab)


def _stop(lab: JupyterLab) -> None:
    # Kernels run in sessions of their own (jupyter_client starts them so): shut them down
    # through the server first, then stop the server's process group.
    if lab.process.poll() is None:
        with contextlib.suppress(OSError, ValueError):
            for session in lab.api("sessions"):
                lab.api(f"sessions/{session['id']}", method="DELETE")
    for sig, wait in ((signal.SIGTERM, 15), (signal.SIGKILL, 5)):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(lab.process.pid, sig)
        try:
            lab.process.wait(wait)
            break
        except subprocess.TimeoutExpired:
            continue


def log_in(driver, lab: JupyterLab) -> None:
    """Log in on the server's login page with its token, as an instructor does once."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get(f"{lab.base}/login")
    driver.find_element(By.CSS_SELECTOR, "input[type=password]").send_keys(lab.token)
    driver.find_element(By.CSS_SELECTOR, "button[type=submit], input[type=submit]").click()
    WebDriverWait(driver, 30).until(lambda d: "/login" not in d.current_url, "login failed")


@contextlib.contextmanager
def screenshot_on_failure(driver, path: Path):
    """Save a screenshot of the whole window to ``path`` if the block raises."""
    try:
        yield
    except BaseException:
        with contextlib.suppress(Exception):
            driver.switch_to.default_content()  # the top page, frames included
            path.parent.mkdir(parents=True, exist_ok=True)
            driver.save_screenshot(str(path))
        raise


class Notebook:
    """A notebook open in JupyterLab in ``driver``; cells are addressed by their index in
    the .ipynb file (JupyterLab's ``data-windowed-list-index``)."""

    def __init__(self, driver, lab: JupyterLab, name: str, timeout: float = 90):
        from selenium.webdriver.support.ui import WebDriverWait

        self.driver, self.timeout = driver, timeout
        driver.get(lab.url(f"lab/tree/{name}"))
        WebDriverWait(driver, timeout).until(
            lambda d: self.cell_count() > 0 and self.kernel_idle(),
            f"the notebook did not open with an idle kernel; status bar: {self.status_bar()!r}",
        )

    def status_bar(self) -> str:
        return self.driver.execute_script(
            "const bar = document.querySelector('#jp-main-statusbar');"
            "return bar ? bar.innerText : '';"
        )

    def kernel_idle(self) -> bool:
        return "| Idle" in self.status_bar()  # e.g. "Python 3 (ipykernel) | Idle"

    def cell_count(self) -> int:
        return self.driver.execute_script(
            "return document.querySelectorAll('.jp-Notebook .jp-Cell').length;"
        )

    def cell(self, index: int):
        from selenium.webdriver.common.by import By

        return self.driver.find_element(
            By.CSS_SELECTOR, f'.jp-Notebook .jp-Cell[data-windowed-list-index="{index}"]'
        )

    def prompt(self, index: int) -> str:
        from selenium.webdriver.common.by import By

        return self.cell(index).find_element(By.CSS_SELECTOR, ".jp-InputPrompt").text.strip()

    def scroll_to(self, index: int) -> None:
        self.driver.execute_script(
            "arguments[0].scrollIntoView({block: 'center'});", self.cell(index)
        )

    def run(self, index: int) -> None:
        """Select the cell by clicking its prompt, press Shift+Enter, and wait until it has
        run (a new execution count) and the kernel is idle again, its output all shown."""
        from selenium.webdriver import ActionChains
        from selenium.webdriver.common.by import By
        from selenium.webdriver.common.keys import Keys
        from selenium.webdriver.support.ui import WebDriverWait

        before = self.prompt(index)
        self.scroll_to(index)
        self.cell(index).find_element(By.CSS_SELECTOR, ".jp-InputPrompt").click()
        WebDriverWait(self.driver, 10).until(
            lambda d: "jp-mod-active" in self.cell(index).get_attribute("class"),
            f"clicking cell {index} did not select it",
        )
        keys = ActionChains(self.driver)
        keys.key_down(Keys.SHIFT).send_keys(Keys.ENTER).key_up(Keys.SHIFT).perform()

        def finished(_):
            match = _PROMPT_DONE.match(self.prompt(index))
            return bool(match) and match.group(0) != before and self.kernel_idle()

        WebDriverWait(self.driver, self.timeout).until(
            finished,
            f"cell {index} did not finish running; prompt {self.prompt(index)!r}, "
            f"status bar {self.status_bar()!r}",
        )

    def set_source(self, index: int, source: str) -> None:
        """Replace the cell's text, as a student typing it would (through the cell's model,
        which the editor shows: typing into CodeMirror would add its own indentation)."""
        from selenium.webdriver.support.ui import WebDriverWait

        self.driver.execute_script(
            "const notebook = window.jupyterapp.shell.currentWidget.content;"
            "notebook.widgets[arguments[0]].model.sharedModel.setSource(arguments[1]);",
            index,
            source,
        )
        last_line = source.strip().splitlines()[-1].strip()
        WebDriverWait(self.driver, 10).until(
            lambda d: last_line in self.editor_text(index), "the editor does not show the new text"
        )

    def editor_text(self, index: int) -> str:
        return self.driver.execute_script(
            "const editor = arguments[0].querySelector('.cm-content');"
            "return editor ? editor.innerText : '';",
            self.cell(index),
        )

    def outputs(self, index: int) -> list[tuple[str, str]]:
        """The cell's outputs as shown: (MIME type, visible text) pairs; errors and stderr
        are ``application/vnd.jupyter.stderr``."""
        return self.driver.execute_script(
            "return [...arguments[0].querySelectorAll('.jp-OutputArea-output')]"
            ".map(o => [o.getAttribute('data-mime-type') || '', o.innerText]);",
            self.cell(index),
        )

    def errors(self, index: int) -> list[str]:
        return [text for mime, text in self.outputs(index) if mime == STDERR]

    def text_output(self, index: int) -> str:
        return "".join(text for mime, text in self.outputs(index) if mime == STDOUT)

    def images(self, index: int) -> list:
        """The cell's image outputs, scrolled into view, once the browser has loaded them."""
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support.ui import WebDriverWait

        def loaded(_):
            images = self.cell(index).find_elements(By.CSS_SELECTOR, ".jp-RenderedImage img")
            done = all(
                self.driver.execute_script(
                    "return arguments[0].complete && arguments[0].naturalWidth > 0;", image
                )
                for image in images
            )
            return images if images and done else False

        self.scroll_to(index)
        return WebDriverWait(self.driver, 10).until(loaded, f"cell {index} shows no loaded image")
