"""The isolated run of the policed answers (hw2probes.isolated, hw2probes.tripwires), for real:
the grader's ``execution.run_isolated`` starts ``python -m hw2probes.isolated`` in a fresh folder
and ``execution.verdicts`` judges what it left. Every delegation route of the cheating corpus
trips or is refused there; the reference, the mutation corpus's correct variants and a demo line
using torch.optim in an answer cell keep every point."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

import attacks
import hw2probes
import mutants
from autograder import delegation, execution, integrity, runnable
from autograder.aspects import Context
from autograder.limits import Limits

ROOT = Path(__file__).resolve().parents[1]
RELEASE, SOURCE = ROOT / "release" / "hw2", ROOT / "source" / "hw2"


def isolated_verdicts(notebooks: dict[str, dict], folder: Path) -> tuple[dict, execution.Outcome]:
    """{policed test id: verdict} and the outcome (flags) of the isolated run of ``notebooks``
    ({notebook name: submitted notebook}), run as this user (the corpus runs it sandboxed)."""
    prepared = {}
    for name, nb in notebooks.items():
        checked = integrity.check_notebook(nb, json.loads((RELEASE / f"{name}.ipynb").read_text()))
        calls = runnable.hidden_calls(json.loads((SOURCE / f"{name}.ipynb").read_text()))
        prepared[name] = execution.Prepared(checked, calls, {}, {})
    outcome = execution.Outcome()
    folder.mkdir()
    isolated = execution.run_isolated(prepared, folder, RELEASE, None, Limits(), outcome)
    notebook_run = (
        folder.parent / f"{folder.name}-notebooks"
    )  # as if the notebooks reached every cell
    (notebook_run / "probes").mkdir(parents=True)
    for item in prepared.values():
        for grade_id in filter(delegation.policy_of, item.calls):
            (notebook_run / "probes" / f"{grade_id}{hw2probes.REACHED}").touch()
    verdicts = {}
    for name, item in prepared.items():
        every = execution.verdicts(name, item, notebook_run, Context(), outcome, isolated)
        verdicts.update({g: v for g, v in every.items() if delegation.policy_of(g)})
    return verdicts, outcome


def with_answer(notebook: str, grade_id: str, text: str) -> dict:
    nb = mutants.load(notebook)
    next(c for c in nb["cells"] if c["metadata"].get("nbgrader", {}).get("grade_id") == grade_id)[
        "source"
    ] = attacks.code(text)
    return nb


def test_the_reference_and_the_correct_variants_pass_in_isolation(tmp_path):
    notebooks = {mutants.NB1: mutants.load(mutants.NB1), mutants.NB2: mutants.load(mutants.NB2)}
    verdicts, outcome = isolated_verdicts(notebooks, tmp_path / "reference")
    assert len(verdicts) == 11 and all(v.passed for v in verdicts.values()), verdicts
    assert not outcome.flags and not outcome.problems, outcome
    variants = {
        eq.notebook: mutants.equivalent(eq)
        for eq in mutants.EQUIVALENTS
        if eq.notebook in (mutants.NB1, mutants.NB2)
    }
    verdicts, outcome = isolated_verdicts(variants, tmp_path / "variants")
    assert len(verdicts) == 11 and all(v.passed for v in verdicts.values()), verdicts
    assert not outcome.flags, outcome.flags


def test_a_demo_line_with_torch_optim_in_the_answer_cell_is_skipped_not_failed(tmp_path):
    verdicts, outcome = isolated_verdicts(
        {mutants.NB1: with_answer(mutants.NB1, "sgd_optimizer", attacks.HONEST_DEMO_IN_ANSWER)},
        tmp_path / "f",
    )
    assert all(v.passed for v in verdicts.values()), verdicts
    assert "skipped in the isolated run" in verdicts["sgd_optimizer__matches_torch"].message
    assert not outcome.flags, outcome.flags


ROUTES = [  # (attack name, the test ids that must fail, what the flags must say)
    (
        "descend_uses_sgd",
        ["gd_loop__matches_reference", "gd_loop__in_place"],
        "tripped torch.optim.sgd.SGD",
    ),
    (
        "sgd_via_getmembers",
        ["sgd_optimizer__matches_torch", "sgd_optimizer__zero_grad"],
        "tripped torch.optim",
    ),
    ("adam_via_attrgetter", ["adam_optimizer__matches_torch"], "tripped torch.optim.adam.Adam"),
    (
        "runner_patch_in_answer",
        ["sgd_optimizer__matches_torch", "sgd_optimizer__weight_decay"],
        "tripped",
    ),
    (
        "adam_from_gc",
        ["adam_optimizer__matches_torch"],
        "refused what its statements tried: gc.get_objects",
    ),
    ("frame_walk_step", ["sgd_optimizer__matches_torch"], "tripped torch.optim"),
    (
        "reload_torch_optim",
        ["adam_optimizer__matches_torch"],
        "refused what its statements tried: open",
    ),
    (
        "exec_torch_source",
        ["sgd_optimizer__matches_torch"],
        "refused what its statements tried: open",
    ),
    ("fused_adam_kernel", ["adam_optimizer__matches_torch"], "tripped torch._fused_adam_"),
    ("subprocess_descend", ["gd_loop__matches_reference"], "tripped subprocess.Popen"),
]


# one route in the fast lane; each isolated run imports torch in a new process (5-10 s), so
# the others are slow
@pytest.mark.parametrize(
    "name, failing, flag",
    [pytest.param(*route, marks=[pytest.mark.slow] if i else []) for i, route in enumerate(ROUTES)],
    ids=[r[0] for r in ROUTES],
)
def test_every_delegation_route_trips_in_isolation(tmp_path, name, failing, flag):
    attack = next(a for a in attacks.ATTACKS if a.name == name)
    verdicts, outcome = isolated_verdicts(
        {attack.notebook: attacks.attacked(attack)}, tmp_path / "f"
    )
    assert not [g for g in failing if verdicts[g].passed], {g: verdicts[g].message for g in failing}
    assert any(flag in f for f in outcome.flags), outcome.flags


TRIPWIRE_PROGRAM = """
import sys, torch
from hw2probes import tripwires
tripwires.destroy_torch_optim()
libraries = [tripwires.fused_tripwires()]
tripwires.guard(libraries.pop())
p = torch.zeros(3, requires_grad=True)
z = lambda: [torch.zeros(3)]
routes = {
    "sgd": lambda: torch.optim.SGD([p], lr=0.1),
    "functional adam": lambda: sys.modules["torch.optim.adam"].adam([p], z(), z(), z(), [], [torch.zeros(())],
        foreach=False, beta1=0.9, beta2=0.9, lr=0.1, weight_decay=0.0, eps=1e-8, maximize=False, amsgrad=False),
    "fused adam": lambda: torch._fused_adam_([p], z(), z(), z(), [], [torch.zeros(())], lr=0.1, beta1=0.9,
        beta2=0.9, weight_decay=0.0, eps=1e-8, amsgrad=False, maximize=False),
    "aten fused adam": lambda: torch.ops.aten._fused_adam_.default([p], z(), z(), z(), [], [torch.zeros(())],
        lr=0.1, beta1=0.9, beta2=0.9, weight_decay=0.0, eps=1e-8, amsgrad=False, maximize=False),
    "fused sgd": lambda: torch._fused_sgd_([p], z(), [], weight_decay=0.0, momentum=0.0, lr=0.1,
        dampening=0.0, nesterov=False, maximize=False, is_first_step=True),
    "wrapped step": lambda: sys.modules["torch.optim.sgd"].SGD.step.__wrapped__(None),
    "getsource": lambda: __import__("inspect").getsource(sys.modules["torch.optim.sgd"]),
    "reload": lambda: __import__("importlib").reload(sys.modules["torch.optim.sgd"]),
    "gc": lambda: __import__("gc").get_referrers(torch.optim.SGD),
    "ctypes": lambda: __import__("ctypes").CDLL(None),
    "fork": lambda: __import__("os").fork(),
    "write": lambda: open("written-by-the-student", "w"),
    "finalizers": lambda: [f() for f in list(__import__("weakref").finalize._registry)] and torch._fused_sgd_(
        [p], z(), [], weight_decay=0.0, momentum=0.0, lr=0.1, dampening=0.0, nesterov=False, maximize=False,
        is_first_step=True),
}
import statistics  # an honest import of a module not loaded yet still works
routes["marshal"] = lambda: __import__("marshal").loads(__import__("marshal").dumps(1))
for name, route in routes.items():
    try:
        route()
        print(name, "WENT THROUGH")
    except Exception as exc:
        print(name, "stopped:", type(exc).__name__)
"""


def test_each_tripwire_holds_in_a_real_process(tmp_path):
    run = subprocess.run(
        [sys.executable, "-c", TRIPWIRE_PROGRAM],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
    )
    assert run.returncode == 0, run.stderr[-2000:]
    lines = run.stdout.splitlines()
    assert len(lines) == 14 and not [line for line in lines if "WENT THROUGH" in line], run.stdout
    assert not (ROOT / "written-by-the-student").exists()


def test_a_route_tripped_by_a_demo_line_first_is_still_named_when_the_probe_trips_it(tmp_path):
    answer = (
        "_demo = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)\n\n"
        + attacks.code(attacks.DESCEND_OPENLY)
    )
    verdicts, outcome = isolated_verdicts(
        {mutants.NB1: with_answer(mutants.NB1, "gd_loop", answer)}, tmp_path / "f"
    )
    assert not verdicts["gd_loop__matches_reference"].passed
    assert any(
        "gd_loop__matches_reference: the isolated run tripped torch.optim.sgd.SGD" in f
        for f in outcome.flags
    ), outcome.flags
