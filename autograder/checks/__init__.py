"""Hidden reference checks, one function per nbgrader test cell: ``check_<test cell id>``.

The notebooks' hidden tests are one-line calls into these modules (part1 ... part4),
so that feedback shows the call and the diagnostic, never a reference solution.
Each check raises AssertionError naming the task, the case, expected vs got, the
tolerance and the likely misconception. Each check is a judge (here, in the grader's
process) of the data its probe (``hw2probes``, in the sandbox) saved; judges may use the kit's
own ``hw2utils`` (the grader's copy, which no submission reaches) for shared facts.
"""
