"""nbgrader's ``validate``, with extra-credit cells judged as nbgrader judges them elsewhere.

    python -m autograder.validate NOTEBOOK [--invert]      (the options of ``nbgrader validate``)

An extra-credit test cell has 0 points (``autograder.gradebook``). nbgrader 0.9.6's validator
counts a failed 0-point cell as failed (``_get_failed_cells``: ``max_score == 0 and
has_failed``) but also as *passed* (``_get_passed_cells``: score 0 == max 0), so
``validate --invert`` on the release says that notebook 4's five extra-credit checks pass.
This validator counts a 0-point cell as passed only when it did not fail; everything else is
nbgrader's own ValidateApp.
"""

from __future__ import annotations

import sys

from nbformat import NotebookNode
from nbgrader import utils
from nbgrader.apps import validateapp
from nbgrader.validator import Validator


class ExtraCreditValidator(Validator):  # type: ignore[misc]  # nbgrader has no type information
    def _get_passed_cells(self, nb: NotebookNode) -> list[NotebookNode]:
        return [
            cell
            for cell in super()._get_passed_cells(nb)
            if not (utils.determine_grade(cell, self.log)[1] == 0 and utils.has_failed(cell))
        ]


def main(argv: list[str] | None = None) -> int:
    # ValidateApp builds its Validator by name; rebinding that name is the one change
    validateapp.Validator = ExtraCreditValidator
    validateapp.ValidateApp.launch_instance(argv=sys.argv[1:] if argv is None else argv)
    return 0


if __name__ == "__main__":
    sys.exit(main())
