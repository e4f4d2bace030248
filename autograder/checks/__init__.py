"""Hidden reference checks, one function per nbgrader test cell: ``check_<test cell id>``.

The notebooks' hidden tests are one-line calls into these modules (part1 ... part4),
so that feedback shows the call and the diagnostic, never a reference solution.
Each check raises AssertionError naming the task, the case, expected vs got, the
tolerance and the likely misconception. Checks import nothing from hw2utils: a
submission can rebind names in it, not in this package.
"""
