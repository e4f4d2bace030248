"""Leak check: nothing instructor-only in what students get.

    python scripts/leak_check.py PATH...      (folders or zips; exit 1 listing every leak)

What counts as a leak, each found by its own rule:
- ``unexpected file``: anything but the four notebooks, hw2utils.py, the hw2checks package, data/*.npz,
  data/DATASHEET.md and README.md (so no autograder module, no gradebook, no model file);
- ``gradebook``: an SQLite database, whatever its name;
- ``solution``: a line of a solution region of source/hw2 (code between
  ``### BEGIN SOLUTION`` / ``### END SOLUTION``) that the release does not show elsewhere, in
  any file; in a Python module (the shipped hw2utils.py and hw2checks/, which hold the checks'
  probes and comparisons) also a statement of a solution however it is laid out (compared as
  ``ast.unparse`` writes it). This is what lets the checks ship their probes: a shipped module
  holding a line or a statement of an answer fails the bundle, except the few idioms in
  ``GENERIC_CODE``, each with its reason;
- ``hidden test``: a line of a hidden-test region, or an import of ``autograder`` or ``lessons``;
- ``model answer``: a line of a manually graded cell's model answer or rubric;
- ``autograder``: a line of autograder/ or lessons/ — the dataset rule and generator
  (lessons/rules.py, lessons/datasets.py) always; other modules where the line is not also
  public (hw2utils.py, hw2checks/, the notebooks outside answers and hidden tests: visible
  and hidden checks share plain lines);
- ``data``: a data file with arrays other than the six splits.

Lines are compared stripped, and only if at least ``MIN_CHARS`` long and not imports or
decorators, so that ``return x`` is not a leak. Notebooks are searched in their cell sources and outputs.
"""

from __future__ import annotations

import ast
import io
import json
import re
import sys
import textwrap
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from autograder.kit import ASSIGNMENT, SHIPPED_FILES, STUDENT_FILES  # noqa: E402  (the kit's own)

MIN_CHARS = 16
#: Lines and statements of solutions that the shipped checks may hold: idioms every PyTorch
#: program uses, which no more answer a task than the task's text does.
GENERIC_CODE = {
    "with torch.no_grad():": "PyTorch's idiom for changing tensors outside autograd",
    "loss_fn(x).backward()": "the gradient of the loss, as the check's hints for Task 1.1 say",
    "optimizer.step()": "every training loop's step (hw2utils' and the notebooks' own loops)",
    "optimizer.zero_grad()": "every training loop's clearing (hw2utils' and the notebooks' own)",
}
SPLIT_ARRAYS = {
    f"{split}_{kind}" for split in ("train", "val", "test") for kind in ("data", "labels")
}
ALWAYS_SECRET = ("rules.py", "datasets.py")  # the dataset rule and its generator
INSTRUCTOR_ONLY = ("autograder", "lessons")  # the packages whose lines are secret
_HIDDEN_IMPORT = re.compile(r"\b(import|from)\s+(autograder|lessons)\b|autograder\.checks")


@dataclass(frozen=True)
class Leak:
    where: str
    kind: str
    what: str

    def __str__(self):
        return f"{self.where}: {self.kind}: {self.what[:120]}"


def _region_lines(source: str, begin: str, end: str) -> list[str]:
    lines, inside = [], False
    for line in source.splitlines():
        if begin in line:
            inside = True
        elif end in line:
            inside = False
        elif inside:
            lines.append(line)
    return lines


def _significant(lines) -> set[str]:
    """Stripped lines long enough to mean something; imports and decorators (``@dataclass(...)``)
    are never secret."""
    return {
        s
        for s in (line.strip() for line in lines)
        if len(s) >= MIN_CHARS and not s.startswith(("import ", "from ", "@"))
    }


def _outside_regions(text: str) -> list[str]:
    lines, inside = [], False
    for line in text.splitlines():
        if "### BEGIN" in line:
            inside = True
        elif "### END" in line:
            inside = False
        elif not inside:
            lines.append(line)
    return lines


# statements whose body holds others (their simple statements are compared), and imports
_COMPOUND: tuple[type[ast.stmt], ...] = (
    ast.FunctionDef,
    ast.AsyncFunctionDef,
    ast.ClassDef,
    ast.For,
    ast.While,
    ast.If,
    ast.With,
    ast.Try,
    ast.Import,
    ast.ImportFrom,
)


def statements(code: str) -> set[str]:
    """The simple statements of ``code`` (a module, or a region's lines, dedented; line by line
    where the region does not parse as a whole), each as ``ast.unparse`` writes it, at least
    MIN_CHARS long: the same statement however it is spaced, wrapped or quoted."""
    try:
        nodes = list(ast.walk(ast.parse(textwrap.dedent(code))))
    except SyntaxError:
        nodes = []
        for line in code.splitlines():
            try:
                nodes += ast.walk(ast.parse(line.strip()))
            except SyntaxError:
                continue  # a compound statement's header alone, a line of a wrapped one
    found = set()
    for node in nodes:
        if not isinstance(node, ast.stmt) or isinstance(node, _COMPOUND):
            continue
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            continue  # a docstring
        text = ast.unparse(node)
        if len(text) >= MIN_CHARS:
            found.add(text)
    return found


def secrets(root: Path = ROOT) -> dict[str, set[str]]:
    """{kind: lines that must not reach students}, read from source/hw2 and INSTRUCTOR_ONLY;
    "solution statement": the solutions' statements (``statements``), for Python modules."""
    found = {"solution": set(), "hidden test": set(), "model answer": set(), "autograder": set()}
    found["solution statement"] = set()
    # what students get anyway: the shipped modules (for the grader's lines, which visible and
    # hidden checks share) and the release's text outside answers (for the solutions' lines)
    shipped = {
        line.strip() for name in SHIPPED_FILES for line in (root / name).read_text().splitlines()
    }
    public: set[str] = set()
    shown_code: list[str] = []
    for path in sorted((root / "source" / ASSIGNMENT).glob("*.ipynb")):
        for cell in json.loads(path.read_text())["cells"]:
            text = "".join(cell["source"])
            meta = cell.get("metadata", {}).get("nbgrader", {})
            solution = _region_lines(text, "### BEGIN SOLUTION", "### END SOLUTION")
            found["solution"] |= _significant(solution)
            if cell["cell_type"] == "code":
                found["solution statement"] |= statements("\n".join(solution))
            found["hidden test"] |= _significant(
                _region_lines(text, "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS")
            )
            if cell["cell_type"] == "markdown" and meta.get("solution") and meta.get("grade"):
                found["model answer"] |= _significant(text.splitlines())
            else:  # what the release shows anyway: a class header the answer repeats, ...
                public |= {line.strip() for line in _outside_regions(text)}
                if cell["cell_type"] == "code":
                    shown_code.append("\n".join(_outside_regions(text)))
    for path in sorted(p for package in INSTRUCTOR_ONLY for p in (root / package).rglob("*.py")):
        lines = _significant(path.read_text().splitlines())
        found["autograder"] |= lines if path.name in ALWAYS_SECRET else lines - public - shipped
    # a line the release shows elsewhere is not an answer, nor is an idiom of GENERIC_CODE
    found["solution"] -= public | set(GENERIC_CODE)
    shown = set().union(*map(statements, shown_code))
    found["solution statement"] -= shown | set(GENERIC_CODE)
    return found


def _notebook_text(raw: bytes) -> list[str]:
    nb = json.loads(raw)
    lines = []
    for cell in nb.get("cells", []):
        lines += "".join(cell.get("source", "")).splitlines()
        for out in cell.get("outputs", []):
            lines += "".join(out.get("text", "")).splitlines()
            for value in out.get("data", {}).values():
                if isinstance(value, (str, list)):
                    lines += "".join(value).splitlines()
            lines += out.get("traceback", [])
    return lines


def scan_file(name: str, raw: bytes, secret: dict[str, set[str]]) -> list[Leak]:
    """Leaks in one file, ``name`` relative to the bundle's top folder."""
    leaks = []
    if raw.startswith(b"SQLite format 3"):
        leaks.append(Leak(name, "gradebook", "an SQLite database"))
    if name not in STUDENT_FILES:
        return leaks + [Leak(name, "unexpected file", "not part of what students get")]
    if name.endswith(".npz"):
        arrays = set(np.load(io.BytesIO(raw)).files)
        if arrays - SPLIT_ARRAYS:
            leaks.append(Leak(name, "data", f"extra arrays {sorted(arrays - SPLIT_ARRAYS)}"))
        return leaks
    text = raw.decode("utf-8", errors="replace")
    lines = _notebook_text(raw) if name.endswith(".ipynb") else text.splitlines()
    stripped = {line.strip() for line in lines}
    for kind, forbidden in secret.items():
        if kind != "solution statement":
            leaks += [Leak(name, kind, line) for line in sorted(stripped & forbidden)]
    if name.endswith(".py"):  # the same statement however it is laid out
        found = statements(text) & secret["solution statement"]
        leaks += [Leak(name, "solution", statement) for statement in sorted(found - stripped)]
    for line in lines:
        if _HIDDEN_IMPORT.search(line) or "BEGIN HIDDEN TESTS" in line:
            leaks.append(Leak(name, "hidden test", line.strip()))
    return leaks


def _files(path: Path):
    """(name relative to the bundle's top folder, bytes) for a folder or a zip."""
    if path.is_dir():
        for file in sorted(p for p in path.rglob("*") if p.is_file()):
            yield file.relative_to(path).as_posix(), file.read_bytes()
    else:
        with zipfile.ZipFile(path) as zf:
            names = [n for n in zf.namelist() if not n.endswith("/")]
            top = {PurePosixPath(n).parts[0] for n in names}
            strip = len(top) == 1 and all(len(PurePosixPath(n).parts) > 1 for n in names)
            for n in sorted(names):
                yield (str(PurePosixPath(*PurePosixPath(n).parts[1:])) if strip else n), zf.read(n)


def scan(paths, root: Path = ROOT) -> list[Leak]:
    secret = secrets(root)
    leaks = []
    for path in paths:
        for name, raw in _files(Path(path)):
            leaks += [
                Leak(f"{path}/{leak.where}" if path else leak.where, leak.kind, leak.what)
                for leak in scan_file(name, raw, secret)
            ]
    return leaks


def main(argv=None) -> int:
    paths = [Path(p) for p in (argv if argv is not None else sys.argv[1:])] or [
        ROOT / "release" / ASSIGNMENT
    ]
    leaks = scan(paths)
    for leak in leaks:
        print(leak)
    print(f"{len(leaks)} leaks in {', '.join(map(str, paths))}")
    return 1 if leaks else 0


if __name__ == "__main__":
    sys.exit(main())
