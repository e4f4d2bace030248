"""Read a submission's optimizer code for delegation to torch.optim, in the trusted grader.

Tasks 1.3 and 2.3 ask for an optimizer written with tensor operations. The probes refuse a
torch.optim optimizer at run time, but the probe runs in the student's kernel, where that
refusal can be undone; this reading of the submitted source cannot. It looks at the answer
cell of each optimizer task and at the student's own cells that define a name the answer
cell uses, and reports what reaches torch.optim or hides what the code calls (dynamic
imports, eval/exec, attribute lookups by computed name, the interpreter's internals). Honest
optimizer code needs none of these; a cell that does not parse is left to the probe (it
cannot define the class either).
"""
from __future__ import annotations

import ast
import builtins

# {answer cell grade id: the test cells that fail when it delegates}
OPTIMIZER_CELLS = {"sgd_optimizer": "sgd_optimizer__", "adam_optimizer": "adam_optimizer__"}
# names that run code by a route the reader cannot follow: suspect anywhere in the notebook
# (sys.modules reaches a module by a computed name: sys itself, as in sys.stderr, is fine)
HIDING_NAMES = {"__import__", "importlib", "eval", "exec", "compile", "globals", "locals", "vars",
                "builtins", "__builtins__", "__dict__", "__class__", "__subclasses__", "modules",
                "__globals__", "__code__", "marshal", "pickle", "ctypes", "get_ipython"}
# names ordinary notebook code uses (the Colab setup cell does), suspect in optimizer code only
SYSTEM_NAMES = {"os", "subprocess", "base64", "codecs"}


def findings(code: str, suspect=HIDING_NAMES | SYSTEM_NAMES) -> list[str]:
    """What in ``code`` reaches torch.optim, or uses a name of ``suspect``, or looks an
    attribute up by a computed name; one line each."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return []
    found = []
    # a docstring may name torch.optim ("equals torch.optim.Adam step for step"): it runs nothing
    docstrings = {id(n.value) for n in ast.walk(tree)
                  if isinstance(n, ast.Expr) and isinstance(n.value, ast.Constant)}
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
        elif (isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings
              and "optim" in node.value.lower()):
            found.append(f"line {line}: a string naming optim")
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
              and node.func.id in ("getattr", "setattr", "delattr")
              and not (len(node.args) > 1 and isinstance(node.args[1], ast.Constant))):
            found.append(f"line {line}: {node.func.id} with a computed name")
    return sorted(set(found), key=lambda text: (len(text.split(":")[0]), text))


def _hides(code: str) -> bool:
    """Whether ``code`` hides what it calls (HIDING_NAMES or a computed attribute name)."""
    return any("optim" not in item for item in findings(code, suspect=HIDING_NAMES))


def _statements(code: str) -> list[tuple[set[str], str]]:
    """Each top-level statement of ``code``: (the names it defines, its source)."""
    try:
        tree = ast.parse(code)
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
        found.append((names, ast.get_source_segment(code, node) or ""))
    return found


def _root(node) -> str | None:
    """The name an attribute or item chain starts from: ``torch`` for torch.optim.SGD.step."""
    while isinstance(node, (ast.Attribute, ast.Subscript)):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def _patches(code: str, modules: set[str]) -> bool:
    """Whether ``code`` (at any depth, function bodies included) sets or deletes an attribute of
    an imported module, directly or with setattr/delattr: ``hw2probes.part1.run_steps = fake``
    puts the student's code inside the probe that runs the answer, which no honest answer does."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return False
    for node in ast.walk(tree):
        if isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Delete)):
            targets = node.targets if isinstance(node, (ast.Assign, ast.Delete)) else [node.target]
            if any(isinstance(t, (ast.Attribute, ast.Subscript)) and _root(t) in modules
                   for target in targets for t in ast.walk(target)):
                return True
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
              and node.func.id in ("setattr", "delattr") and node.args and _root(node.args[0]) in modules):
            return True
    return False


def _used(code: str) -> set[str]:
    try:
        return {n.id for n in ast.walk(ast.parse(code)) if isinstance(n, ast.Name)} - set(dir(builtins))
    except SyntaxError:
        return set()


def scan(notebook) -> dict[str, list[str]]:
    """{test cell grade-id prefix: findings} for the optimizer tasks of one checked notebook
    (``autograder.integrity.check_notebook``'s). Besides the answer cell, these top-level
    statements of the other code cells are read: those that define a name the answer uses
    (transitively) or redefine a name the answer defines, any that hides what it calls, and any
    that patches an imported module (with what it uses, transitively). A helper the optimizer
    calls counts, and so does a replacement of what the probe calls; a comparison with
    torch.optim elsewhere does not."""
    cells = notebook["cells"]
    text = {id(c): "".join(c["source"]) if isinstance(c["source"], list) else c["source"] for c in cells}
    others = [statement for c in cells if c["cell_type"] == "code" and "nbgrader" not in c.get("metadata", {})
              for statement in _statements(text[id(c)])]
    modules = {name for c in cells if c["cell_type"] == "code" for names, source in _statements(text[id(c)])
               if source.startswith(("import ", "from ")) for name in names}
    result = {}
    for cell in cells:
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if grade_id not in OPTIMIZER_CELLS:
            continue
        found = [f"the answer cell, {item}" for item in findings(text[id(cell)])]
        # what the answer uses, what redefines the answer's own names (a class replaced in a
        # later cell), and whatever hides a call or patches a module (the probe's runner), anywhere
        own = set().union(*(names for names, _ in _statements(text[id(cell)])))
        reached = [st for st in others if st[0] & own or (st[0] and _hides(st[1])) or _patches(st[1], modules)]
        frontier = _used(text[id(cell)]).union(*(_used(source) for _, source in reached))
        while frontier:  # the statements defining what those use, transitively
            helpers = [st for st in others if st not in reached and st[0] & frontier]
            reached += helpers
            frontier = set().union(*(_used(source) for _, source in helpers)) if helpers else set()
        found += [f"the statement defining {', '.join(sorted(names))}, {item}"
                  for names, source in reached for item in findings(source)]
        if found:
            result[OPTIMIZER_CELLS[grade_id]] = found
    return result


def message(test_id: str, found: list[str]) -> str:
    shown = "; ".join(found[:4]) + ("; ..." if len(found) > 4 else "")
    return (f"{test_id}: your optimizer's code reaches torch.optim or hides what it calls ({shown}). "
            "The task is to write the update yourself, with tensor operations; remove these and "
            "compute each step directly")
