"""The delegation policy of the graded answers, and a reader of the submitted code for it.

**Policy** (one home: ``POLICIES``, from the curriculum). Tasks 1.1 (``descend``), 1.3
(``SimpleGradientDescent``) and 2.3 (``ADAMOptimizer``) ask for the update written with tensor
operations: their answers must not use torch.optim, i.e. its optimizer classes, its functional
kernels (``torch.optim.adam.adam``, ``torch.optim._functional``) or torch's fused optimizer
kernels (``torch._fused_adam_``, ``torch._fused_sgd_``, ..., also as ``torch.ops.aten.<op>``).
A policy covers its answer cell and the test cells ``<answer grade id>__*``. Part 4's
initializers and wrappers are not policed: they MAY call ``nn.init`` (4.8 asks for
``kaiming_normal_``; what is graded is the statistics of the weights they make). Cells the
notebooks themselves contain (comparisons with torch.optim, the experiments' optimizers) and
a student's comparison elsewhere stay legal: only what the answer needs is policed.

**Enforcement.** The policed test cells are exercised in an isolated run (``hw2probes.isolated``,
started by ``autograder.execution``): a fresh sandboxed process that executes only the
statements ``needed`` computes (the answer cell and, transitively, the earlier statements
defining the names it uses), with torch.optim destroyed and an audit hook installed first
(``hw2probes.tripwires``). This module's reader is the second signal: ``scan`` reads the same
statements (and any cell that hides what it calls or patches a module) for what reaches
torch.optim, hides a call, or repeats torch/optim's own source (pasted in by hand, which no
tripwire sees); it flags what it finds. A cell that does not parse is left to the run.
"""

from __future__ import annotations

import ast
import builtins
import functools
import os
from dataclasses import dataclass
from typing import Any

from autograder import syntax

FORBIDS = (
    "torch.optim: its optimizer classes, its functional kernels, and torch's fused "
    "optimizer kernels (torch._fused_adam_, torch._fused_sgd_, ...)"
)


@dataclass(frozen=True)
class Policy:
    task: str  # the curriculum's task number
    forbids: str  # what the answer must not use, in words


# {answer cell grade id: its policy}; its test cells are "<grade id>__*" (tests_of)
POLICIES = {
    "gd_loop": Policy("1.1", FORBIDS),
    "sgd_optimizer": Policy("1.3", FORBIDS),
    "adam_optimizer": Policy("2.3", FORBIDS),
}
# a notebook and a cell as read from the .ipynb file (JSON)
Notebook = dict[str, Any]
Cell = dict[str, Any]
# a run of this many non-trivial lines identical to torch/optim's source is a copy of it
COPIED_LINES = 4


def tests_of(answer: str) -> str:
    """The grade-id prefix of the test cells a policy covers."""
    return f"{answer}__"


def policy_of(test_id: str) -> str | None:
    """The answer grade id whose policy covers test cell ``test_id``, or None."""
    return next((answer for answer in POLICIES if test_id.startswith(tests_of(answer))), None)


# names that run code by a route the reader cannot follow: suspect anywhere in the notebook
# (sys.modules reaches a module by a computed name: sys itself, as in sys.stderr, is fine)
HIDING_NAMES = {
    "__import__",
    "importlib",
    "eval",
    "exec",
    "compile",
    "globals",
    "locals",
    "vars",
    "builtins",
    "__builtins__",
    "__dict__",
    "__class__",
    "__subclasses__",
    "modules",
    "__globals__",
    "__code__",
    "marshal",
    "pickle",
    "ctypes",
    "get_ipython",
}
# names ordinary notebook code uses (the Colab setup cell does), suspect in optimizer code only
SYSTEM_NAMES = {"os", "subprocess", "base64", "codecs"}


def findings(code: str, suspect: set[str] = HIDING_NAMES | SYSTEM_NAMES) -> list[str]:
    """What in ``code`` reaches torch.optim, or uses a name of ``suspect``, or looks an
    attribute up by a computed name; one line each."""
    try:
        tree = syntax.parse(code)
    except SyntaxError:
        return []
    found = []
    # a docstring may name torch.optim ("equals torch.optim.Adam step for step"): it runs nothing
    docstrings = {
        id(n.value)
        for n in ast.walk(tree)
        if isinstance(n, ast.Expr) and isinstance(n.value, ast.Constant)
    }
    for node in ast.walk(tree):
        line = getattr(node, "lineno", "?")
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            module = getattr(node, "module", None) or ""
            names = [module] + [alias.name for alias in node.names]
            if any("optim" in name or name.split(".")[0] in suspect for name in names):
                found.append(f"line {line}: imports {', '.join(n for n in names if n)}")
        elif isinstance(node, ast.Attribute) and (node.attr == "optim" or node.attr in suspect):
            found.append(f"line {line}: uses .{node.attr}")
        elif isinstance(node, ast.Name) and (node.id == "optim" or node.id in suspect):
            found.append(f"line {line}: uses {node.id}")
        elif (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and id(node) not in docstrings
            and "optim" in node.value.lower()
        ):
            found.append(f"line {line}: a string naming optim")
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in ("getattr", "setattr", "delattr")
            and not (len(node.args) > 1 and isinstance(node.args[1], ast.Constant))
        ):
            found.append(f"line {line}: {node.func.id} with a computed name")
    return sorted(set(found), key=lambda text: (len(text.split(":")[0]), text))


def _hides(code: str) -> bool:
    """Whether ``code`` hides what it calls (HIDING_NAMES or a computed attribute name)."""
    return any("optim" not in item for item in findings(code, suspect=HIDING_NAMES))


@dataclass(frozen=True)
class Statement:
    names: frozenset[str]  # the names it defines (empty: a call, a loop, ...)
    source: str
    cell: int  # its cell's index in the notebook
    line: int  # its first line in that cell


def _statements(code: str, cell: int = -1) -> list[Statement]:
    """Each top-level statement of ``code`` with the names it defines."""
    try:
        tree = syntax.parse(code)
    except SyntaxError:
        return []
    found = []
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names = {node.name}
        elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names = {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names = {(a.asname or a.name).split(".")[0] for a in node.names}
        else:
            names = set()  # a call, a loop (the Colab setup): read only when it patches a module
        found.append(
            Statement(frozenset(names), ast.get_source_segment(code, node) or "", cell, node.lineno)
        )
    return found


def reachable(
    seeds: list[Statement], candidates: list[Statement], used: set[str]
) -> list[Statement]:
    """``seeds`` and the statements of ``candidates`` that define a name in ``used`` or used by
    a statement already reached, transitively: what code using ``used`` needs to run. The one
    reachability of the reader (``scan``) and of the isolated run (``needed``)."""
    reached = list(seeds)
    frontier = set(used).union(*(_used(st.source) for st in seeds))
    while frontier:
        helpers = [st for st in candidates if st not in reached and st.names & frontier]
        reached += helpers
        frontier = set().union(*(_used(st.source) for st in helpers))
    return reached


def _cell_text(cell: Cell) -> str:
    return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]


def _grade_id(cell: Cell) -> str | None:
    grade_id: str | None = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
    return grade_id


def _is_test(cell: Cell) -> bool:
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return bool(meta.get("grade")) and not meta.get("solution")


def _runnable(text: str) -> str:
    """A code cell as the kernel runs it: IPython's magics and shell lines become calls."""
    try:
        from IPython.core.inputtransformer2 import TransformerManager

        # IPython has no annotations
        return TransformerManager().transform_cell(text)  # type: ignore[no-untyped-call]
    except Exception:  # not IPython's syntax either: the cell is left as it is, and will not parse
        return text


def needed(notebook: Notebook, answer: str) -> list[Statement] | None:
    """The statements the isolated run executes for ``answer`` (a POLICIES grade id), in
    notebook order: every top-level statement of the answer cell, and those of the code cells
    before its first test cell (release cells included, test cells not) that define a name the
    answer uses, transitively. None when the notebook has no such answer cell."""
    cells = notebook["cells"]
    index = next(
        (i for i, c in enumerate(cells) if _grade_id(c) == answer and c["cell_type"] == "code"),
        None,
    )
    if index is None:
        return None
    end = next(
        (
            i
            for i, c in enumerate(cells)
            if i > index and (_grade_id(c) or "").startswith(tests_of(answer))
        ),
        len(cells),
    )
    own = _statements(_runnable(_cell_text(cells[index])), index)
    candidates = [
        st
        for i, c in enumerate(cells[:end])
        if c["cell_type"] == "code" and i != index and not _is_test(c)
        for st in _statements(_runnable(_cell_text(c)), i)
    ]
    return sorted(reachable(own, candidates, set()), key=lambda st: (st.cell, st.line))


def _root(node: ast.AST) -> str | None:
    """The name an attribute or item chain starts from: ``torch`` for torch.optim.SGD.step."""
    while isinstance(node, (ast.Attribute, ast.Subscript)):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def _patches(code: str, modules: set[str]) -> bool:
    """Whether ``code`` (at any depth, function bodies included) sets or deletes an attribute of
    an imported module, directly or with setattr/delattr: ``hw2checks.part1.run_steps = fake``
    puts the student's code inside the probe that runs the answer, which no honest answer does."""
    try:
        tree = syntax.parse(code)
    except SyntaxError:
        return False
    for node in ast.walk(tree):
        if isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Delete)):
            targets = node.targets if isinstance(node, (ast.Assign, ast.Delete)) else [node.target]
            if any(
                isinstance(t, (ast.Attribute, ast.Subscript)) and _root(t) in modules
                for target in targets
                for t in ast.walk(target)
            ):
                return True
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in ("setattr", "delattr")
            and node.args
            and _root(node.args[0]) in modules
        ):
            return True
    return False


def _used(code: str) -> set[str]:
    try:
        return {n.id for n in ast.walk(syntax.parse(code)) if isinstance(n, ast.Name)} - set(
            dir(builtins)
        )
    except SyntaxError:
        return set()


def scan(notebook: Notebook, objects: dict[str, set[str]] | None = None) -> dict[str, list[str]]:
    """{test cell grade-id prefix: findings} for the policed answers of one checked notebook
    (``autograder.integrity.check_notebook``'s). Read: the statements of the answer cell that
    define the names its tests exercise (``objects``: {answer grade id: names}; without it,
    every statement of the cell), hide what they call, or patch an imported module (or a name
    bound to one: ``m = hw2checks.part1; m.run_steps = f``); in the student's other code cells,
    those that redefine the answer's names, hide what they call or patch a module; and,
    transitively, the statements defining what those use. A helper the answer calls counts, and
    so does a replacement of what the probe calls; a comparison with torch.optim elsewhere, or a
    demo line in the answer cell (``print(torch.optim.SGD(...))``), does not. Lines copied from
    torch/optim's source are named too."""
    cells = notebook["cells"]
    others = [
        st
        for i, c in enumerate(cells)
        if c["cell_type"] == "code" and "nbgrader" not in c.get("metadata", {})
        for st in _statements(_cell_text(c), i)
    ]
    modules = _modules(
        [st for c in cells if c["cell_type"] == "code" for st in _statements(_cell_text(c))]
    )
    result = {}
    for index, cell in enumerate(cells):
        answer = _grade_id(cell)
        if answer not in POLICIES or cell["cell_type"] != "code":
            continue
        own = _statements(_cell_text(cell), index)
        names = (objects or {}).get(answer) or set().union(*(st.names for st in own))
        # the answer's own definitions (all of the cell when the tested names are unknown), what
        # redefines them (a class replaced in a later cell), and whatever hides a call or patches
        # a module (the probe's runner), anywhere
        seeds = [
            st
            for st in own + others
            if (st.cell == index and not (objects or {}).get(answer))
            or st.names & names
            or (st.names and _hides(st.source))
            or _patches(st.source, modules)
        ]
        found = [
            f"{'the answer cell' if st.cell == index else 'the statement defining ' + ', '.join(sorted(st.names))}"
            f", {item}"
            for st in reachable(seeds, own + others, set())
            for item in findings(st.source) + copied(st.source)
        ]
        if found:
            result[tests_of(answer)] = found
    return result


def _modules(statements: list[Statement]) -> set[str]:
    """The names bound to modules: those imported, and those assigned from one (an alias such as
    ``m = hw2checks.part1``), transitively."""
    modules = {
        name for st in statements if st.source.startswith(("import ", "from ")) for name in st.names
    }
    while True:
        aliases = set()
        for st in statements:
            try:
                node = syntax.parse(st.source).body[0]
            except (SyntaxError, IndexError):
                continue
            if isinstance(node, ast.Assign) and _root(node.value) in modules:
                aliases |= {t.id for t in node.targets if isinstance(t, ast.Name)}
        if aliases <= modules:
            return modules
        modules |= aliases


@functools.lru_cache(maxsize=1)
def _optim_lines() -> dict[str, str]:
    """{a non-trivial line of torch/optim's source, stripped: the file it is in}."""
    import torch.optim

    folder = os.path.dirname(torch.optim.__file__)
    lines: dict[str, str] = {}
    for name in sorted(os.listdir(folder)):
        if name.endswith(".py"):
            with open(os.path.join(folder, name), encoding="utf-8", errors="replace") as source:
                for line in source:
                    if _nontrivial(line):
                        lines.setdefault(line.strip(), f"torch/optim/{name}")
    return lines


def _nontrivial(line: str) -> bool:
    """A line that says something of its own: 24 characters or more, not a comment or a
    docstring's quotes (``return x``, ``else:`` and brackets are in any code)."""
    text = line.strip()
    return len(text) >= 24 and not text.startswith(("#", '"""', "'''"))


def copied(code: str) -> list[str]:
    """Runs of COPIED_LINES or more non-trivial lines of ``code`` in a row (short lines between
    them do not break a run) that are all lines of torch/optim's source: torch's optimizer code
    pasted in, which runs without touching torch.optim, so no tripwire sees it."""
    lines, found, run = _optim_lines(), [], []
    source = code.splitlines()
    for number, line in enumerate([*source, "(the end)" * 4], start=1):
        if not _nontrivial(line):
            continue
        if line.strip() in lines:
            run.append(number)
            continue
        if len(run) >= COPIED_LINES:
            found.append(
                f"lines {run[0]}-{run[-1]}: {len(run)} lines identical to "
                f"{lines[source[run[0] - 1].strip()]}"
            )
        run = []
    return found


def message(test_id: str, found: list[str]) -> str:
    shown = "; ".join(found[:4]) + ("; ..." if len(found) > 4 else "")
    return (
        f"{test_id}: your optimizer's code reaches torch.optim or hides what it calls ({shown}). "
        "The task is to write the update yourself, with tensor operations; remove these and "
        "compute each step directly"
    )
