"""What the sandbox runs (autograder/runnable.py) and who judges it (autograder/judging.py):
every test cell of every source notebook calls a declared aspect (autograder/aspects.py), every
aspect is called, nothing else is dispatched to, and the cell the sandbox runs is one probe call."""

import ast
import functools
import importlib
import json
from pathlib import Path

import pytest
import torch

import hw2probes
from autograder import judging, runnable
from autograder.aspects import Aspect, extend
from autograder.aspects import aspect as declare
from autograder.checks import every as every_aspect
from autograder.checks import find as find_aspect

ROOT = Path(__file__).resolve().parents[1]
SOURCES = sorted((ROOT / "source" / "hw2").glob("*.ipynb"))


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.stem)
def test_every_test_cell_has_a_probe_and_a_judge(path):
    nb = json.loads(path.read_text())
    tests = [
        c
        for c in nb["cells"]
        if c["metadata"].get("nbgrader", {}).get("grade")
        and not c["metadata"]["nbgrader"].get("solution")
        and c["cell_type"] == "code"
    ]
    calls = runnable.hidden_calls(nb)
    assert tests and set(calls) == {c["metadata"]["nbgrader"]["grade_id"] for c in tests}
    for grade_id, call in calls.items():
        assert callable(find_aspect(call.part, call.check).probe), grade_id
        assert callable(find_aspect(call.part, call.check).judge), grade_id
        body = runnable.probe_source(grade_id, call)
        tree = ast.parse(body)  # one statement: the probe call, nothing of the test cell
        assert len(tree.body) == 1 and "autograder" not in body and "hw2utils" not in body


def test_literal_arguments_go_to_the_judge_and_names_to_the_probe():
    nb = json.loads((ROOT / "source" / "hw2" / "03_training.ipynb").read_text())
    call = runnable.hidden_calls(nb)["net_3_12__architecture"]
    assert (call.part, call.check, call.arguments, call.literals) == (
        "part3",
        "architecture",
        "'3.12', net_3_12",
        ("3.12",),
    )


def test_deleted_test_cells_run_nothing():
    nb = json.loads((ROOT / "source" / "hw2" / "01_gradient_descent.ipynb").read_text())
    calls = runnable.hidden_calls(nb)
    built = runnable.with_probes(nb, calls, skipped=["gd_loop__in_place"])
    sources = {
        c["metadata"].get("nbgrader", {}).get("grade_id"): runnable.source_text(c)
        for c in built["cells"]
    }
    assert (
        "record" not in sources["gd_loop__in_place"] and "record(" in sources["gd_loop__tensor_lr"]
    )


def test_policed_test_cells_print_a_line_and_run_no_probe_in_the_notebook():
    nb = json.loads((ROOT / "source" / "hw2" / "01_gradient_descent.ipynb").read_text())
    calls = runnable.hidden_calls(nb)
    built = runnable.with_probes(nb, calls, isolated={"gd_loop__in_place"})
    sources = {
        c["metadata"].get("nbgrader", {}).get("grade_id"): runnable.source_text(c)
        for c in built["cells"]
    }
    assert sources["gd_loop__in_place"] == runnable.isolated_source("gd_loop__in_place")
    assert "__import__('hw2probes').reached('gd_loop__in_place')" in sources["gd_loop__in_place"]
    assert "record(" in sources["gd_loop__tensor_lr"]
    assert runnable.argument_names(calls["gd_loop__in_place"]) == {"descend"}


@pytest.mark.parametrize(
    "block",
    [
        "import os; os.system('true')",
        "import autograder.checks.part1 as _hidden\n_hidden.check_x(a)\n_hidden.check_y(b)",
        "import autograder.secret as _hidden; _hidden.check_x(a)",
        # helpers of the judges' modules are not aspects, whatever they are called
        "import autograder.checks.part4 as _hidden; _hidden.check_statistics(init_he)",
        "import autograder.checks.part4 as _hidden; _hidden.judge_statistics(init_he)",
        "import autograder.checks.part1 as _hidden; _hidden.check_devices(descend)",
        # an aspect of another part, and the task of check_architecture not given as a constant
        "import autograder.checks.part2 as _hidden; _hidden.check_gd_loop__in_place(descend)",
        "import autograder.checks.part3 as _hidden; _hidden.check_architecture(task, net_3_1)",
    ],
)
def test_a_hidden_block_of_another_shape_is_refused(block):
    cell = {
        "cell_type": "code",
        "source": f"### BEGIN HIDDEN TESTS\n{block}\n### END HIDDEN TESTS\n",
    }
    with pytest.raises(ValueError):
        runnable.hidden_call(cell)


def test_every_declared_aspect_is_called_by_a_test_cell_and_pairs_its_part_s_probe():
    called = {
        (call.part, call.check)
        for path in SOURCES
        for call in runnable.hidden_calls(json.loads(path.read_text())).values()
    }
    declared = {(a.part, a.name) for a in every_aspect()}
    assert declared == called
    for aspect in every_aspect():
        if aspect.shipped is not None:  # declared in hw2checks.<part>: the sandbox runs its probe
            probe = aspect.shipped.probe
            if aspect.shipped.given:  # given the sandbox's references (Adam: Task 2.2's EMA)
                assert isinstance(aspect.probe, functools.partial)
                assert aspect.probe.func is probe and set(aspect.probe.keywords) == set(
                    aspect.shipped.given
                )
            else:
                assert aspect.probe is probe
            assert probe.__module__ == f"hw2checks.{aspect.part}"
            assert aspect.probe_ref == f"hw2checks.{aspect.part}.check_{aspect.name}"
        else:
            assert (
                aspect.probe.__module__ == f"hw2probes.{aspect.part}"
                and aspect.probe_ref.startswith(aspect.part + ".")
            )
        assert hw2probes.probe_named(aspect.probe_ref) is aspect.probe


def test_a_shipped_aspect_is_one_declaration_the_visible_check_and_the_judge_share(capsys):
    """hw2checks.check_<name> (the visible check) and the grader's aspect run one comparison: the
    grader's judge is the shipped comparison, on the same probe's data."""
    import hw2checks
    from hw2checks.aspect import Aspect as Shipped

    shipped = [a for a in every_aspect() if a.shipped is not None]
    assert shipped, "no aspect is declared in hw2checks"
    for aspect in shipped:
        visible = getattr(hw2checks, f"check_{aspect.name}")
        assert isinstance(visible, Shipped) and visible is aspect.shipped
        assert (
            getattr(
                importlib.import_module(f"autograder.checks.{aspect.part}"), f"check_{aspect.name}"
            )
            is aspect
        )
    # the judge reaches the shipped comparison, with the grader's extras
    aspect = find_aspect("part1", "gd_loop__matches_reference")
    seen = []
    original = aspect.shipped.compare

    def spy(data, *literals, hidden):
        seen.append(hidden)
        return original(data, *literals, hidden=hidden)

    object.__setattr__(aspect.shipped, "compare", spy)
    try:
        with pytest.raises(AssertionError, match="expected 6 paths"):
            aspect.judge([])
    finally:
        object.__setattr__(aspect.shipped, "compare", original)
    assert len(seen) == 1


def test_a_probe_name_the_sandbox_reads_resolves_only_to_a_declared_probe():
    for ref in (
        "hw2checks.part1.expect_close",  # a toolkit helper, not an aspect
        "hw2checks.toolkit.check_gd_loop__matches_reference",  # not a part module
        "hw2checks.part1.check_missing",
        "part1.reference_path",
        "os.system",
    ):
        with pytest.raises(ValueError, match="unknown probe"):
            hw2probes.probe_named(ref)


def test_every_check_of_the_judges_modules_is_a_declared_aspect_not_a_wrapper():
    for part in hw2probes.PARTS:
        module = importlib.import_module(f"autograder.checks.{part}")
        for name, value in vars(module).items():
            own = (
                value.part == part
                if isinstance(value, Aspect)
                else getattr(value, "__module__", None) == module.__name__
            )
            if (
                name.startswith("check_") and own
            ):  # an aspect declared here, or a function written here
                assert value is find_aspect(part, name.removeprefix("check_")), name


def test_a_second_declaration_or_a_misplaced_one_is_refused():
    aspect = find_aspect("extra_credit", "ec_rule__agreement_90")  # declared on the grader's side
    with pytest.raises(ValueError, match="declared twice"):
        declare(probe=aspect.probe)(aspect.judge)

    def check_elsewhere(data):  # a judge outside autograder.checks.<part>
        return "ok"

    with pytest.raises(ValueError, match="autograder.checks.<part>"):
        declare(probe=aspect.probe)(check_elsewhere)
    with pytest.raises(ValueError, match="no graded aspect"):
        find_aspect("part4", "statistics")
    shipped = find_aspect("part1", "gd_loop__matches_reference").shipped
    with pytest.raises(ValueError, match="declared twice"):
        extend(shipped)
    with pytest.raises(ValueError, match="shipped aspect"):
        extend(aspect)  # a grader-side aspect cannot be extended


def test_a_shipped_declaration_outside_a_part_module_or_with_a_foreign_probe_is_refused():
    from hw2checks.aspect import aspect as ship
    from hw2checks.part1 import probe_gd_loop__matches_reference

    def check_loose(data, hidden=None):
        return 1

    with pytest.raises(ValueError, match="hw2checks.<part>"):
        ship(probe=probe_gd_loop__matches_reference)(check_loose)
    check_loose.__module__ = "hw2checks.part2"
    with pytest.raises(ValueError, match="its probe must live in hw2checks.part2"):
        ship(probe=probe_gd_loop__matches_reference)(check_loose)


def test_the_judge_fails_missing_malformed_and_raising_data_without_crashing():
    never = judging.judge("part1", "gd_loop__in_place", (), None)
    assert not never.passed and "never ran" in never.message
    for data in ({"result": 1, "extra": 2}, ["result"], {"error": 3}):
        verdict = judging.judge("part1", "gd_loop__in_place", (), data)
        assert not verdict.passed and verdict.malformed
    raised = judging.judge(
        "part1", "gd_loop__in_place", (), {"error": "NameError: name 'descend' is not defined"}
    )
    assert not raised.passed and "running your code raised NameError" in raised.message
    garbage = judging.judge("part1", "gd_loop__in_place", (), {"result": {"cpu": "no"}})
    assert not garbage.passed


def test_a_comparison_that_only_checks_the_form_never_passes_in_the_grader():
    """Question 2.A's shipped comparison checks the form and says the grader judges the values;
    registered without the grader's true values (a forgotten extend), the grader must fail it,
    not pass a well-formed wrong answer."""
    from autograder.aspects import _judge_of
    from hw2checks import part2

    bare = _judge_of(part2.check_q_mean_values__numbers, {})
    with pytest.raises(AssertionError, match="cannot judge"):
        bare(torch.tensor([123.0, -4.0]))
    judged = find_aspect("part2", "q_mean_values__numbers")
    with pytest.raises(AssertionError, match="q_mean_values__numbers, case"):
        judged.judge(torch.tensor([123.0, -4.0]))
