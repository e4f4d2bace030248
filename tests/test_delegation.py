"""Reading the optimizer answers for delegation (autograder/delegation.py), on the real
notebooks: honest answers pass, every way of reaching torch.optim or hiding a call is named."""

import ast
import json
from pathlib import Path

import pytest
import torch

import mutants
from autograder import delegation, integrity, runnable

ROOT = Path(__file__).resolve().parents[1]
RELEASE = ROOT / "release" / "hw2"


def checked(
    notebook: str,
    answer: str | None = None,
    grade_id: str = "sgd_optimizer",
    added: str | None = None,
) -> dict:
    """The checked reference notebook, with ``answer`` in ``grade_id``'s cell and ``added``
    as a cell of the student's own before it."""
    nb = mutants.load(notebook)
    index = next(
        i
        for i, c in enumerate(nb["cells"])
        if c["metadata"].get("nbgrader", {}).get("grade_id") == grade_id
    )
    if answer is not None:
        nb["cells"][index]["source"] = answer
    if added is not None:
        nb["cells"].insert(
            index,
            {
                "cell_type": "code",
                "metadata": {},
                "source": added,
                "outputs": [],
                "execution_count": None,
            },
        )
    release = json.loads((RELEASE / f"{notebook}.ipynb").read_text())
    return integrity.check_notebook(nb, release).notebook


def test_the_reference_answers_and_the_equivalent_rewrites_pass():
    assert delegation.scan(checked(mutants.NB1)) == {}
    assert delegation.scan(checked(mutants.NB2, grade_id="adam_optimizer")) == {}
    for eq in mutants.EQUIVALENTS:
        release = json.loads((RELEASE / f"{eq.notebook}.ipynb").read_text())
        assert (
            delegation.scan(integrity.check_notebook(mutants.equivalent(eq), release).notebook)
            == {}
        ), eq.name


SGD = """class SimpleGradientDescent:
    def __init__(self, parameters, lr=0.1, weight_decay=0.0):
        self.parameters = list(parameters)
        {init}
    def step(self):
        {step}
    def zero_grad(self):
        for p in self.parameters:
            p.grad = None
"""


@pytest.mark.parametrize(
    "init, step, named",
    [
        ("self.inner = torch.optim.SGD(self.parameters, lr=lr)", "self.inner.step()", ".optim"),
        (
            "from torch.optim import SGD as S; self.inner = S(self.parameters, lr=lr)",
            "self.inner.step()",
            "imports",
        ),
        (
            "self.inner = getattr(torch, 'op' + 'tim').SGD(self.parameters, lr=lr)",
            "self.inner.step()",
            "computed name",
        ),
        (
            "self.inner = vars(torch)['optim'].SGD(self.parameters, lr=lr)",
            "self.inner.step()",
            "vars",
        ),
        (
            "m = __import__('torch.op' + 'tim'); self.inner = m.optim.SGD(self.parameters, lr=lr)",
            "self.inner.step()",
            "__import__",
        ),
        ("import importlib; self.m = importlib.import_module('torch.optim')", "pass", "importlib"),
        ("pass", "exec(compile('import torch', 'x', 'exec'))", "exec"),
        ("pass", "eval('1')", "eval"),
        ("self.s = sys.modules", "pass", "modules"),
        ("import subprocess", "subprocess.run(['python', '-c', 'pass'])", "subprocess"),
    ],
)
def test_delegation_and_hidden_calls_are_named(init, step, named):
    found = delegation.scan(checked(mutants.NB1, SGD.format(init=init, step=step)))
    assert list(found) == ["sgd_optimizer__"] and any(named in f for f in found["sgd_optimizer__"])


def test_a_helper_cell_the_answer_uses_is_read_too():
    helper = (
        "import torch\ndef make_inner(params, lr):\n    return torch.optim.SGD(params, lr=lr)\n"
    )
    answer = SGD.format(
        init="self.inner = make_inner(self.parameters, lr)", step="self.inner.step()"
    )
    found = delegation.scan(checked(mutants.NB1, answer, added=helper))
    assert any(
        "the statement defining make_inner" in f and ".optim" in f for f in found["sgd_optimizer__"]
    )


def test_a_subclass_that_prints_to_stderr_is_no_delegation():
    noisy = (
        "import sys\nclass NoisySGD(SimpleGradientDescent):\n    def step(self):\n"
        "        print('one step', file=sys.stderr)\n        super().step()\n"
        "SimpleGradientDescent = NoisySGD"
    )
    assert delegation.scan(checked_with_later_cell(noisy)) == {}


def test_a_cell_the_answer_does_not_use_may_mention_torch_optim():
    # comparing with PyTorch's optimizer in a cell of one's own is fine
    demo = (
        "import torch\nreference = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)\n"
    )
    assert delegation.scan(checked(mutants.NB1, added=demo)) == {}


def test_the_message_asks_for_the_update_written_by_hand():
    text = delegation.message(
        "sgd_optimizer__weight_decay", ["the answer cell, line 3: uses .optim"]
    )
    assert text.startswith("sgd_optimizer__weight_decay: ") and "with tensor operations" in text


def checked_with_later_cell(code: str) -> dict:
    """The reference notebook 1 with a cell of the student's own after the optimizer's answer."""
    nb = mutants.load(mutants.NB1)
    index = next(
        i
        for i, c in enumerate(nb["cells"])
        if c["metadata"].get("nbgrader", {}).get("grade_id") == "sgd_optimizer"
    )
    nb["cells"].insert(
        index + 1,
        {
            "cell_type": "code",
            "metadata": {},
            "source": code,
            "outputs": [],
            "execution_count": None,
        },
    )
    release = json.loads((RELEASE / f"{mutants.NB1}.ipynb").read_text())
    return integrity.check_notebook(nb, release).notebook


@pytest.mark.parametrize(
    "code, named",
    [
        # the honest class replaced later by torch's own
        ("import torch\nclass SimpleGradientDescent(torch.optim.SGD):\n    pass", ".optim"),
        (
            "import torch\nSimpleGradientDescent.step = lambda self: torch.optim.SGD(self.parameters).step()",
            "statement defining SimpleGradientDescent",
        ),
        # a replacement by a route a reader cannot follow, in a cell that defines nothing
        ("globals()['Simple' + 'GradientDescent'] = __import__('torch').optim.SGD", "globals"),
    ],
)
def test_a_later_cell_that_replaces_the_optimizer_is_read_too(code, named):
    found = delegation.scan(checked_with_later_cell(code))
    assert any(named in f for f in found.get("sgd_optimizer__", [])), found


RUNNER = "def _runner(make, params, steps, *rest):\n    return torch.optim.SGD(params, lr=0.1)\n"


@pytest.mark.parametrize(
    "patch",
    [
        "import hw2checks.part1 as probe\nprobe.run_steps = _runner",
        "import hw2checks.part1\nhw2checks.part1.run_steps, hw2checks.part1.run_in_turn = _runner, _runner",
        "from hw2checks import part1\nsetattr(part1, 'run_steps', _runner)",
        "import hw2checks.part1 as probe\ndef install():\n    probe.run_steps = _runner\ninstall()",
        "import hw2checks.part1 as probe\nfor name in ('run_steps', 'run_in_turn'):\n    setattr(probe, name, _runner)",
        # through an alias: no import statement names what is patched
        "import hw2checks\nm = hw2checks.part1\nm.run_steps = _runner",
    ],
)
def test_a_cell_that_replaces_what_the_probe_calls_is_read_too(patch):
    """The answer's step() does nothing and the probe's runner, replaced, runs torch.optim: the
    cell that patches the module is read, and what it installs with it."""
    lazy = SGD.format(init="pass", step="pass")
    found = delegation.scan(checked(mutants.NB1, lazy, added="import torch\n" + RUNNER + patch))
    assert any("_runner" in f and ".optim" in f for f in found.get("sgd_optimizer__", [])), found


def test_patching_a_module_without_torch_optim_is_no_delegation():
    settings = "import torch\ntorch.backends.cudnn.deterministic = True\n"
    assert delegation.scan(checked(mutants.NB1, added=settings)) == {}


# The policy and what it covers --------------------------------------------------------------


def test_the_policy_covers_its_answers_test_cells_and_nothing_of_part_4():
    calls = {}
    for name in (mutants.NB1, mutants.NB2, mutants.NB4):
        calls.update(
            runnable.hidden_calls(
                json.loads((ROOT / "source" / "hw2" / f"{name}.ipynb").read_text())
            )
        )
    covered = {g: delegation.policy_of(g) for g in calls if delegation.policy_of(g)}
    assert (
        set(covered.values())
        == set(delegation.POLICIES)
        == {"gd_loop", "sgd_optimizer", "adam_optimizer"}
    )
    assert len(covered) == 11 and all(
        g.startswith(delegation.tests_of(a)) for g, a in covered.items()
    )
    assert not [
        g for g in calls if g.startswith(("init_", "supervise_")) and delegation.policy_of(g)
    ]


def test_descend_is_read_too():
    answer = (
        "def descend(loss_fn, x, lr, steps):\n    opt = torch.optim.SGD([x], lr=lr)\n"
        "    for _ in range(steps):\n        opt.zero_grad(); loss_fn(x).backward(); opt.step()\n    return x\n"
    )
    found = delegation.scan(checked(mutants.NB1, answer, grade_id="gd_loop"))
    assert list(found) == ["gd_loop__"] and any(".optim" in f for f in found["gd_loop__"])


def test_a_demo_line_in_the_answer_cell_is_not_read_when_the_tested_names_are_known():
    demo = (
        SGD.format(init="pass", step="pass")
        + "print(torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1))\n"
    )
    nb = checked(mutants.NB1, demo)
    assert delegation.scan(nb, {"sgd_optimizer": {"SimpleGradientDescent"}}) == {}
    assert "sgd_optimizer__" in delegation.scan(nb)  # without them, the whole cell is read


def test_torch_optim_source_pasted_in_is_named_with_its_file():
    source = (Path(torch.optim.__file__).parent / "sgd.py").read_text().splitlines()
    start = next(i for i, line in enumerate(source) if line.startswith("def _single_tensor_sgd"))
    pasted = (
        "import torch\nfrom torch import Tensor\n"
        + "\n".join(source[start : start + 40])
        + "\n"
        + SGD.format(init="pass", step="_single_tensor_sgd(self.parameters)")
    )
    found = delegation.scan(checked(mutants.NB1, pasted))
    assert any("identical to torch/optim/sgd.py" in f for f in found["sgd_optimizer__"]), found
    assert delegation.copied("result = compute_the_update(x)\n" * 40) == []


def test_the_isolated_run_gets_the_answer_and_what_it_uses_in_notebook_order():
    helper = (
        "import torch\ndef _scale(g):\n    return torch.as_tensor(g)\nunused = torch.optim.SGD\n"
    )
    answer = SGD.format(init="pass", step="_scale(self.parameters[0])")
    statements = delegation.needed(checked(mutants.NB1, answer, added=helper), "sgd_optimizer")
    sources = [st.source for st in statements]
    assert (
        sources[0] == "import torch"
        and "def _scale" in sources[-2]
        and "SimpleGradientDescent" in sources[-1]
    )
    assert not [s for s in sources if "unused" in s or "descend" in s]


def test_notebook_3s_pasted_optimizers_are_read_by_nothing():
    """Notebook 3's pasted classes are not graded: even a paste that delegates to torch.optim
    (in a string the notebook runs) flags nothing, and no isolated run exists for notebook 3."""
    delegating = "class SimpleGradientDescent(torch.optim.SGD):\n    pass\n"
    nb = checked(
        mutants.NB3,
        f"YOUR_OPTIMIZERS = r'''\n{delegating}'''\nexec(YOUR_OPTIMIZERS)\n",
        grade_id="own_optimizers",
    )
    assert delegation.scan(nb) == {}
    assert all(delegation.needed(nb, answer) is None for answer in delegation.POLICIES)


def test_the_grader_parses_code_one_thread_at_a_time():
    """Workers parsing at once can crash a student's grading on CPython 3.11 (gh-106905):
    every parse in the grader goes through autograder.syntax's lock."""
    root = Path(__file__).resolve().parents[1] / "autograder"
    unlocked = [
        f"{path.relative_to(root)}:{n}"
        for path in sorted(root.rglob("*.py"))
        if path.name != "syntax.py"
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if "ast.parse(" in line
    ]
    assert unlocked == []
    from autograder import syntax

    assert syntax._PARSING.acquire(blocking=False)  # free between parses
    syntax._PARSING.release()
    assert isinstance(syntax.parse("x = (1, [2])"), ast.Module)
