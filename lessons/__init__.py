"""What the homework's lessons rest on: its datasets and the certificate that its sentences about
training hold. Instructor-only; nothing here ships to students.

- ``rules`` (the secret dataset rule, EC2's answer) and ``datasets`` (the generator of data/*.npz
  from a term seed);
- ``experiments`` (every training experiment as the notebooks run it), ``replay`` (one run of one,
  through ``hw2utils.run_test``), ``claims`` (the sentences about training outcomes) and
  ``certify`` (``python -m lessons.certify``: the claims checked over seeds); CERTIFICATE.md and
  certificate/ hold the verdicts.

Who may import it: the grader's judges (``autograder.checks``: Part 3's networks, the extra-credit
rule and fresh examples), the build (``scripts/build.py``: EC2's model answer), the GPU check,
tests and benchmarks. It imports only the shipped modules (``hw2utils``, ``hw2checks``), never
``autograder``, so the certificate does not depend on the grading pipeline.
"""
