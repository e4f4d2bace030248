"""Hidden reference checks, one function per nbgrader test cell: ``check_<test cell id>``.

The notebooks' hidden tests are one-line calls into these modules (part1 ... part4),
so that feedback shows the call and the diagnostic, never a reference solution.
Each check raises AssertionError naming the task, the case, expected vs got, the
tolerance and the likely misconception. Each check is a judge (here, in the grader's
process) of the data its probe (``hw2probes``, in the sandbox) saved. Judges build on the kit's own
``hw2checks`` (the grader's copy, which no submission reaches): its toolkit (tolerance, comparison,
failure report) and the facts the visible checks state (architectures, tiers); what they add is
hidden on purpose (fresh cases, references, catalogues of named mistakes, CUDA runs).
"""
