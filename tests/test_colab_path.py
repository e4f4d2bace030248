"""The Colab path, for real: the student bundle served over HTTP on 127.0.0.1, each release
notebook's setup cell run in a fresh kernel in an empty folder with Colab detection forced
on; it fetches the helpers, the data follow, and the first visible check runs. With the
server down the setup cell fails and tells the student what to do."""

import functools
import http.server
import json
import socket
import sys
import threading
from pathlib import Path

import pytest
from jupyter_client.manager import start_new_kernel

from autograder import kit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
import bundle  # noqa: E402

SOURCE = ROOT / "source" / "hw2"
NOTEBOOKS = ("01_gradient_descent", "02_ema_adam", "03_training", "04_initialization")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    folder, _ = bundle.make_bundle(tmp_path_factory.mktemp("published"))
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(folder))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()


def run(kernel, code, timeout=120):
    """Execute ``code``; (stdout text, error or None)."""
    out, error = [], None

    def collect(msg):
        nonlocal error
        if msg["msg_type"] == "stream":
            out.append(msg["content"]["text"])
        elif msg["msg_type"] == "error":
            error = f"{msg['content']['ename']}: {msg['content']['evalue']}"

    kernel.execute_interactive(code, output_hook=collect, timeout=timeout)
    return "".join(out), error


@pytest.fixture
def fresh_kernel(tmp_path, monkeypatch):
    """A kernel in an empty folder, as Colab starts one: nothing next to the notebook."""

    def start(base_url):
        monkeypatch.setenv("HW2_FORCE_COLAB", "1")
        monkeypatch.setenv("HW2_BASE_URL", base_url)
        monkeypatch.setenv("HW2_DEVICE", "cpu")
        monkeypatch.delenv("PYTHONPATH", raising=False)  # the repository's helpers are not there
        manager, client = start_new_kernel(cwd=str(tmp_path))
        started.append((manager, client))
        return client

    started = []
    yield start
    for manager, client in started:
        client.stop_channels()
        manager.shutdown_kernel(now=True)


def cells(name, folder):
    return json.loads((folder / f"{name}.ipynb").read_text())["cells"]


def first_answer_and_check(name):
    """The first autograded answer of the source notebook (one with a test cell of its own,
    `<answer>__…`; notebook 3's ungraded paste cell has none) and the visible line of its check."""
    source = [c for c in cells(name, SOURCE) if c["cell_type"] == "code"]
    meta = [c["metadata"].get("nbgrader", {}) for c in source]
    tests = [(i, m["grade_id"]) for i, m in enumerate(meta) if m.get("grade")]
    answer, test = next(
        (i, t)
        for i, m in enumerate(meta)
        if m.get("solution") and not m.get("grade")
        for t, gid in tests
        if gid.startswith(m["grade_id"] + "__")
    )
    visible = "\n".join(
        line
        for line in "".join(source[test]["source"]).splitlines()
        if line.startswith("hw2checks.check_")
    )
    return source[: answer + 1], visible


# one notebook (the quickest) in the fast lane; the others, 10-40 s each, are slow
@pytest.mark.parametrize(
    "name",
    [
        pytest.param(name, marks=[] if name == "02_ema_adam" else [pytest.mark.slow])
        for name in NOTEBOOKS
    ],
)
def test_setup_fetches_helpers_and_data_and_a_check_runs(server, fresh_kernel, tmp_path, name):
    release = ROOT / "release" / "hw2"
    setup = "".join(next(c for c in cells(name, release) if c["cell_type"] == "code")["source"])
    assert "HW2_BASE_URL" in setup
    kernel = fresh_kernel(server)
    _, error = run(kernel, setup)
    assert (
        error is None
        and (tmp_path / "hw2utils.py").is_file()
        and all((tmp_path / name).is_file() for name in kit.SHIPPED_FILES)
    )
    out, error = run(
        kernel, "import hw2utils\nprint(tuple(hw2utils.load_dataset('tiny').train_data.shape))"
    )
    assert error is None and out.strip().endswith(", 36)"), (out, error)
    assert (tmp_path / "data" / "tiny-classification.npz").is_file()
    # the notebook up to its first answer (answered as the reference does), then its first check
    before, visible = first_answer_and_check(name)
    for cell in before[1:]:
        _, error = run(kernel, "".join(cell["source"]))
        assert error is None, error
    out, error = run(kernel, visible)
    assert error is None and out.strip(), (visible, error)


def test_setup_with_the_server_down_tells_the_student_what_to_do(fresh_kernel, tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed_port = s.getsockname()[1]
    setup = "".join(
        next(
            c
            for c in cells("01_gradient_descent", ROOT / "release" / "hw2")
            if c["cell_type"] == "code"
        )["source"]
    )
    kernel = fresh_kernel(f"http://127.0.0.1:{closed_port}/")
    _, error = run(kernel, setup)
    assert error and error.startswith("RuntimeError: Could not download hw2utils.py")
    assert "run this cell again" in error and "upload hw2utils.py" in error
    assert not (tmp_path / "hw2utils.py").exists()
