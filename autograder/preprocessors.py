"""nbgrader preprocessors of the HW2 grading pipeline."""
from __future__ import annotations

import re

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


class HideCheckFrames(NbGraderPreprocessor):
    """In test cells, replace the traceback frames inside ``autograder/checks`` with one line.

    Those frames print lines of the hidden checks (and absolute paths of the grading
    machine); the diagnostic a student needs is in the cell's own frame, the frames of
    their code, and the final exception line, all kept.
    """

    placeholder = "[frames inside the hidden check are not shown]"

    @staticmethod
    def _is_check_frame(frame: str) -> bool:
        text = _ANSI.sub("", frame).lstrip()
        return text.startswith("File ") and bool(_CHECKS_PATH.search(text.splitlines()[0]))

    def preprocess_cell(self, cell, resources, cell_index):
        if cell.cell_type != "code" or not utils.is_grade(cell) or utils.is_solution(cell):
            return cell, resources
        for out in cell.outputs:
            if out.output_type != "error":
                continue
            frames = []
            for frame in out.traceback:
                if not self._is_check_frame(frame):
                    frames.append(frame)
                elif not frames or frames[-1] != self.placeholder:
                    frames.append(self.placeholder)
            out.traceback = frames
        return cell, resources


_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_CHECKS_PATH = re.compile(r"[/\\]autograder[/\\]checks[/\\]")
