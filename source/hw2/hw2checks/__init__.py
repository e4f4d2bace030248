"""Checks for HW2 "Training a Deep Network": the "Check that ..." cells call them.

Each ``hw2checks.check_<test id>(answer)`` tries your answer on a few fixed cases. It prints one
line when they pass, and otherwise raises AssertionError naming the case, expected vs got, the
tolerance and a hint (a known mistake by name where your result matches one). The grader checks
the same aspects on fresh cases of the same kind. References here are PyTorch's own
(``torch.optim.SGD``, ``torch.optim.Adam``, ``torch.nn.init``) or numbers fixed in advance,
never a solution.

One module per notebook holds its checks; you never need to read them to do the homework:

    hw2checks/toolkit.py       how results are compared, shown and reported (shared by all)
    hw2checks/part1.py         notebook 1: gradient descent, SGD with weight decay
    hw2checks/part2.py         notebook 2: gradient statistics, EMA, Adam
    hw2checks/part3.py         notebook 3: architectures, residual blocks
    hw2checks/part4.py         notebook 4: initializations, the Supervise wrappers
    hw2checks/extra_credit.py  the extra credit

``hw2checks.<name>`` finds ``<name>`` in whichever of them defines it.
"""

from __future__ import annotations

from types import ModuleType

from hw2checks import extra_credit, part1, part2, part3, part4, toolkit

MODULES: tuple[ModuleType, ...] = (toolkit, part1, part2, part3, part4, extra_credit)


def home_of(name: str) -> ModuleType | None:
    """The module of this package that defines ``name`` (not one that only imports it)."""
    for module in MODULES:
        value = vars(module).get(name)
        if value is not None and getattr(value, "__module__", module.__name__) == module.__name__:
            return module
    for module in MODULES:  # constants and imported names: the first module that has one
        if name in vars(module):
            return module
    return None


def __getattr__(name: str) -> object:
    module = home_of(name)
    if module is None:
        raise AttributeError(f"module 'hw2checks' has no attribute {name!r}")
    return vars(module)[name]


def __dir__() -> list[str]:
    return sorted(
        {
            *globals(),
            *(name for module in MODULES for name in vars(module) if name.startswith("check_")),
        }
    )
