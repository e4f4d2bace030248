"""Checks for HW2 "Training a Deep Network": the "Check that ..." cells call them.

Each ``hw2checks.check_<test id>(answer)`` tries your answer on a few fixed cases. It prints one
line when they pass, and otherwise raises AssertionError naming the case, expected vs got, the
tolerance and a hint (a known mistake by name where your result matches one). The grader checks
the same aspects on fresh cases of the same kind. References here are PyTorch's own
(``torch.optim.SGD``, ``torch.optim.Adam``, ``torch.nn.init``) or numbers fixed in advance,
never a solution.

One module per notebook holds its checks; you never need to read them to do the homework:

    hw2checks/toolkit.py       how results are compared, shown and reported (shared by all)
    hw2checks/aspect.py        a check declared once: its probe (runs your code on its cases)
                               and its comparison; the grader runs the same two
    hw2checks/runs.py          which cases a check draws (public here, fresh while grading)
    hw2checks/probing.py       how a probe runs your code (devices, what it watches for)
    hw2checks/part1.py         notebook 1: gradient descent, SGD with weight decay
    hw2checks/part2.py         notebook 2: gradient statistics, EMA, Adam
    hw2checks/part3.py         notebook 3: architectures, residual blocks
    hw2checks/part4.py         notebook 4: initializations, the Supervise wrappers
    hw2checks/extra_credit.py  the extra credit

``hw2checks.<name>`` finds ``<name>`` in whichever of them defines it.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any

#: The modules ``hw2checks.<name>`` searches, in order. They are imported on first use, so that
#: ``hw2checks.runs`` (torch-free) can be imported without torch.
MODULE_NAMES = ("toolkit", "part1", "part2", "part3", "part4", "extra_credit")


def modules() -> list[ModuleType]:
    return [importlib.import_module(f"{__name__}.{name}") for name in MODULE_NAMES]


def home_of(name: str) -> ModuleType | None:
    """The module of this package that defines ``name`` (not one that only imports it)."""
    found = modules()
    for module in found:
        value = vars(module).get(name)
        if value is not None and getattr(value, "__module__", module.__name__) == module.__name__:
            return module
    for module in found:  # constants and imported names: the first module that has one
        if name in vars(module):
            return module
    return None


def __getattr__(name: str) -> Any:  # any kit name: a check, a helper, a constant
    if name.startswith("__"):
        raise AttributeError(name)
    if name in MODULE_NAMES:
        return importlib.import_module(f"{__name__}.{name}")
    module = home_of(name)
    if module is None:
        raise AttributeError(f"module 'hw2checks' has no attribute {name!r}")
    return vars(module)[name]


def __dir__() -> list[str]:
    checks = (name for module in modules() for name in vars(module) if name.startswith("check_"))
    return sorted({*globals(), *checks})
