"""nbgrader preprocessors of the HW2 grading pipeline."""
from __future__ import annotations

from nbformat.v4 import new_output
from nbgrader import utils
from nbgrader.preprocessors import NbGraderPreprocessor

STDERR_LABEL = "[stderr] "


class StderrAsStdout(NbGraderPreprocessor):
    """In test cells, turn stderr text into stdout text marked ``[stderr]``.

    nbgrader gives 0 to a test cell with any stderr output. The hidden checks never write to
    stderr, so stderr there comes from the student's code (a warning, a debug print) and says
    nothing about correctness: an error still fails the cell, a passing check keeps its
    points, and the text stays visible in the feedback.
    """

    def preprocess_cell(self, cell, resources, cell_index):
        if cell.cell_type == "code" and utils.is_grade(cell) and not utils.is_solution(cell):
            cell.outputs = [
                new_output("stream", name="stdout",
                           text="".join(STDERR_LABEL + line for line in out.text.splitlines(True)))
                if out.output_type == "stream" and out.name == "stderr" else out
                for out in cell.outputs]
        return cell, resources


class LimitOutputSize(NbGraderPreprocessor):
    """Cut each text output to ``max_chars`` characters.

    nbgrader's LimitOutput counts lines, so one five-megabyte line passes it; a feedback
    page and a gradebook do not need more than the first screenfuls.
    """

    max_chars = 20_000

    def _cut(self, text: str) -> str:
        if len(text) <= self.max_chars:
            return text
        return text[:self.max_chars] + f"\n... [{len(text) - self.max_chars} more characters cut by the grader]\n"

    def preprocess_cell(self, cell, resources, cell_index):
        for out in cell.get("outputs", []):
            if out.output_type == "stream":
                out.text = self._cut(out.text)
            elif out.output_type in ("execute_result", "display_data"):
                for mime in [m for m in out.data if m.startswith("text/")]:
                    value = out.data[mime]
                    out.data[mime] = self._cut(value if isinstance(value, str) else "".join(value))
        return cell, resources
