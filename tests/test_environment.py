"""The environment files agree with each other and with what hw2utils imports."""

import ast
import re
import sys
from importlib import metadata
from pathlib import Path

import pytest

from autograder import kit

ROOT = Path(__file__).resolve().parents[1]
# Modules Google Colab ships (its base image); hw2utils may import these freely.
COLAB_PREINSTALLED = {"torch", "numpy", "scipy", "matplotlib", "tqdm", "IPython"}
# Import name -> distribution name, where they differ.
DISTRIBUTIONS = {"IPython": "ipython", "matplotlib_inline": "matplotlib-inline"}


def requirement_lines(path):
    lines = (line.split("#")[0].strip() for line in path.read_text().splitlines())
    return [line for line in lines if line]


def pins(lines):
    return dict(line.split("==") for line in lines)


def _imported(nodes):
    modules = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            modules.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            modules.add(node.module.split(".")[0])
    shipped = {"hw2utils", "hw2checks"}  # shipped side by side, never installed
    return {
        m
        for m in modules
        if m not in sys.stdlib_module_names and m != "__future__" and m not in shipped
    }


def _optional_nodes(tree):
    """Nodes inside ``try: ... except ImportError:`` bodies: imports the code does without."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Try) and any(
            isinstance(h.type, ast.Name) and h.type.id in ("ImportError", "ModuleNotFoundError")
            for h in node.handlers
        ):
            for statement in node.body:
                yield from ast.walk(statement)


def third_party_imports(path):
    """Third-party modules ``path`` cannot run without."""
    tree = ast.parse(path.read_text())
    optional = set(map(id, _optional_nodes(tree)))
    return _imported(n for n in ast.walk(tree) if id(n) not in optional)


def optional_imports(path):
    """Third-party modules ``path`` uses when present (inside try/except ImportError)."""
    return _imported(_optional_nodes(ast.parse(path.read_text()))) - third_party_imports(path)


def test_torch_is_pinned_first_so_setup_can_install_it_alone():
    assert re.fullmatch(r"torch==[\d.]+", requirement_lines(ROOT / "requirements.txt")[0])


def test_conda_environment_pins_equal_the_pip_pins():
    text = (ROOT / "environment.yml").read_text()
    conda_pins = dict(re.findall(r"^\s+- ([\w-]+)==([\w.]+)$", text, re.MULTILINE))
    assert conda_pins == pins(requirement_lines(ROOT / "requirements.txt"))
    assert re.search(r"^\s+- python=3\.11$", text, re.MULTILINE)


def test_installed_versions_are_the_pinned_ones():
    for name, version in pins(requirement_lines(ROOT / "requirements.txt")).items():
        assert metadata.version(name).split("+")[0] == version, name


SHIPPED_MODULES = kit.SHIPPED_FILES


@pytest.mark.parametrize("module", SHIPPED_MODULES)
def test_shipped_modules_need_nothing_colab_lacks_and_colab_never_reinstalls_torch(module):
    colab_extra = {
        re.split(r"[<>=!~ ]", line)[0]
        for line in requirement_lines(ROOT / "requirements-colab.txt")
    }
    assert "torch" not in colab_extra
    missing = third_party_imports(ROOT / module) - COLAB_PREINSTALLED - colab_extra
    assert not missing, f"{module} imports {missing}: add them to requirements-colab.txt"


def test_hw2utils_optional_imports_come_with_every_jupyter_kernel():
    """hw2utils uses IPython and matplotlib-inline only inside Jupyter (to skip drawing while
    grading); ipykernel, which every Jupyter, JupyterLab and Colab kernel runs on, needs both."""
    optional = {DISTRIBUTIONS.get(m, m) for m in optional_imports(ROOT / "hw2utils.py")}
    assert optional == {"ipython", "matplotlib-inline"}
    kernel_needs = {re.split(r"[<>=!~ ;\[]", r)[0].lower() for r in metadata.requires("ipykernel")}
    assert optional <= kernel_needs


@pytest.mark.parametrize("module", SHIPPED_MODULES)
@pytest.mark.parametrize("requirements", ["requirements-student.txt", "requirements.txt"])
def test_student_and_instructor_requirements_cover_the_shipped_modules(requirements, module):
    listed = {re.split(r"[<>=!~ ]", line)[0] for line in requirement_lines(ROOT / requirements)}
    needed = {DISTRIBUTIONS.get(m, m) for m in third_party_imports(ROOT / module)}
    assert needed <= listed
