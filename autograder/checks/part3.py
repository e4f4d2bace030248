"""Judges of notebook 3: architectures of the training experiments, ResidualSequence.

Every aspect of the part is shipped (``hw2checks.part3``: its probe and its comparison, which
the visible check runs on the public cases); the grader runs the same comparison on the run's
cases. None has hidden extras: an architecture is compared with its task's layer list and with
PyTorch's count of each listed layer's parameters, ResidualSequence with f(x) + x computed from
PyTorch's nn.Sequential of the case's layers (what the visible check shipped before), and the
named mistakes are built from the same layers; no network of a task is built.
"""

from __future__ import annotations

from autograder.aspects import attributes_of

# a hidden test cell calls a shipped aspect (hw2checks.part3) through this module too
__getattr__ = attributes_of("part3")
