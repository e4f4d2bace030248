"""What a probe records when a student's code raises: "in your code:" lists the student's own
frames only, never the kit's (hw2probes, hw2checks, hw2utils, autograder) nor torch's or the
standard library's, even when the student's function is called through a kit helper."""

from __future__ import annotations

import hw2probes
from hw2checks import part2, runs

STUDENT_CELL = """\
import torch


def helper(p):
    return p.grad.undefined_method()


class ADAMOptimizer:
    def __init__(self, parameters, lr=0.1, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        self.parameters = list(parameters)

    def step(self):
        for p in self.parameters:
            helper(p)

    def zero_grad(self):
        pass
"""


def student_class(tmp_path):
    """ADAMOptimizer as a notebook cell defines it: from a file of its own (as ipykernel's cells are)."""
    cell = tmp_path / "ipykernel_cell.py"
    cell.write_text(STUDENT_CELL)
    namespace = {}
    exec(compile(STUDENT_CELL, str(cell), "exec"), namespace)
    return namespace["ADAMOptimizer"]


def test_in_your_code_lists_only_the_students_frames(tmp_path):
    ADAMOptimizer = student_class(tmp_path)
    data = part2.probe_adam_optimizer__matches_torch(ADAMOptimizer)
    raised = next(run["raised"] for runs in data["devices"].values() for run in runs)
    head, _, frames = raised.partition("in your code:\n")
    assert head.startswith("AttributeError:") and frames, raised
    lines = frames.splitlines()
    assert [line.split(" in ")[1].split(":")[0] for line in lines] == ["step", "helper"], raised
    for kit in ("drive", "run", "_attempt", "probe_", "wrap_seeded", "step_wrapper"):
        assert f" in {kit}:" not in frames, raised


def test_a_kit_helper_in_the_middle_is_left_out(tmp_path):
    """hw2checks.drive between the probe and the student's step(): only step() and helper() remain."""
    from hw2checks.part1 import random_parameters
    from hw2checks.part2 import drive, loss_gradients

    ADAMOptimizer = student_class(tmp_path)
    try:
        drive(lambda p: ADAMOptimizer(p), random_parameters(0, [(2,)]), 1, loss_gradients())
    except AttributeError as exc:
        frames = runs.students_frames(exc.__traceback__)
    # this test's own frame comes first: it is not a kit module's
    assert [frame.name for frame in frames] == [
        "test_a_kit_helper_in_the_middle_is_left_out",
        "step",
        "helper",
    ]
    assert all(frame.filename == str(tmp_path / "ipykernel_cell.py") for frame in frames[1:])


def test_an_error_raised_inside_torch_keeps_the_students_line(tmp_path):
    cell = tmp_path / "cell.py"
    source = "import torch\n\n\ndef bad():\n    return torch.ones(2) @ torch.ones(3)\n"
    cell.write_text(source)
    namespace = {}
    exec(compile(source, str(cell), "exec"), namespace)
    try:
        namespace["bad"]()
    except RuntimeError as exc:
        described = hw2probes.describe_error(exc)
    lines = described.splitlines()
    assert lines[1] == "in your code:" and len(lines) == 4, (
        described
    )  # this test's frame, then the student's
    assert lines[-1] == "  line 5 in bad: return torch.ones(2) @ torch.ones(3)", described
