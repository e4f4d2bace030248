"""Integrity of a submitted notebook: compare it with the release before anything runs.

A submission is untrusted JSON: a student can change cell types, nbgrader metadata
(points, grade ids, flags), locked and test cells, tags and other metadata, the kernel,
outputs and attachments. ``check_notebook`` does not repair the submission; it rebuilds the
notebook to execute from the release and takes from the submission only what is the
student's to write:

- nbgrader cells (grade id in the release): test and locked cells exactly as released; an
  answer cell keeps the release's cell type and metadata and takes the student's source
  (first cell with that grade id); a missing one is the release's unanswered cell; a
  missing test cell stays in the notebook for nbgrader's bookkeeping and is listed in
  ``deleted_tests`` (the grader scores it 0 and does not run its probe);
- cells without nbgrader metadata are not protected by nbgrader (students edit them like
  their own): the release's provided cells are aligned with the submission's plain cells
  (same place, same or edited text); an edited one runs as the student wrote it, a deleted
  one is restored, and the student's added cells follow the release cell that precedes them
  in the submission (or the first release cell). Raw cells are dropped (nbconvert passes
  them unrendered into the feedback page);
- every output is cleared, ``execution_count`` is None, student cells' metadata is ``{}``,
  attachments are dropped, the notebook's metadata (kernel) is the release's;
- the student's markdown (written answers, added and edited cells) is made inert for the
  browsers that show it (formgrader, feedback pages: ``autograder.markup``): a cell that
  carried script, event attributes, other elements or URL schemes is kept cleaned (or as
  plain text), and the edit line names what was removed.

Every difference that matters is one line in ``edits``; ``suspicious`` says whether one of
them is of a kind an honest student does not make by accident.
"""

from __future__ import annotations

import copy
import difflib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

from autograder import bounded, markup

# Cell metadata that front ends write during honest use, often on every cell. It changes
# nothing the grader runs or shows (student cells' metadata is dropped and release cells get
# the release's), so it is removed without an edit line.
BENIGN_KEYS = {
    "collapsed": "classic Notebook: output collapsed",
    "scrolled": "classic Notebook: output scrolled",
    "trusted": "classic Notebook before 5.0: trust flag",
    "jupyter": "JupyterLab: input or output collapsed (source_hidden, outputs_hidden)",
    "execution": "JupyterLab and nbclient: cell timing",
    "ExecuteTime": "the ExecuteTime extension: cell timing",
    "id": "Colab: its own cell id, on every cell",
    "colab": "Colab: view state (base_uri, height, ...), on every cell",
    "outputId": "Colab: the output's id, on every run cell",
    "executionInfo": "Colab: timing and user of the last run",
    "vscode": "VS Code: the cell's language",
    "slideshow": "Jupyter's slideshow toolbar",
}
# Tags that nbclient, nbconvert or Jupyter Book honour: they stop a cell from running,
# let it fail silently or hide it.
RUN_TAGS = {
    "raises-exception",
    "skip-execution",
    "remove-cell",
    "remove-input",
    "remove-output",
    "remove_cell",
    "remove_input",
    "remove_output",
    "hide-cell",
    "hide-input",
    "hide-output",
    "hide_input",
    "hide_output",
}
# Cell metadata that hides a cell's input or output in nbconvert templates and extensions.
SHOWN_KEYS = {"hide_input", "hide_output", "hidden", "source_hidden", "outputs_hidden"}
# nbgrader's protection flags: a front end may drop them (Colab ignores them), but a
# different value is an unlocked cell.
LOCK_KEYS = ("editable", "deletable")
_CELL_TYPES = ("code", "markdown", "raw")
# a notebook, a cell or its metadata as read from the .ipynb file (JSON)
Json = dict[str, Any]


@dataclass
class Checked:
    """What ``check_notebook`` found and the notebook to execute (nbformat 4 dict)."""

    notebook: Json
    edits: list[str] = field(default_factory=list)
    deleted_tests: list[str] = field(default_factory=list)
    suspicious: bool = False
    markdown_left: int = markup.MAX_CHECKED_CHARS  # student markdown still to check (characters)

    def note(self, line: str, suspicious: bool = False) -> None:
        self.edits.append(line)
        self.suspicious = self.suspicious or suspicious


def load_submission(
    path: str | os.PathLike[str], max_bytes: int = bounded.SUBMITTED_NOTEBOOK.bytes
) -> Json:
    """A submitted notebook as a dict; ValueError (a message for the student) when the file
    is over ``max_bytes``, beyond ``bounded.SUBMITTED_NOTEBOOK``'s JSON values or nesting
    (checked before parsing: a few MB of ``[[],[],...]`` would cost hundreds of MB), not
    JSON, not an nbformat 4 notebook, or has more than ``bounded.MAX_CELLS`` cells or
    ``bounded.MAX_SOURCE_CHARS`` characters of cell text (what recording costs)."""
    path = Path(path)
    with open(path, "rb") as stream:
        data = stream.read(max_bytes + 1)  # never more, whatever stat says
    if len(data) > max_bytes:
        raise ValueError(
            f"{path.name} is larger than {max_bytes / 2**20:.3g} MB and is not graded; "
            "clear its outputs (Edit > Clear all outputs), save and hand it in again"
        )
    try:
        bounded.check_json(data, bounded.SUBMITTED_NOTEBOOK)
    except bounded.Refused as why:
        raise ValueError(
            f"{path.name} is not a valid notebook file ({why}) and is not graded"
        ) from None
    try:
        notebook: Json = json.loads(data.decode("utf-8-sig"), parse_constant=_not_json)
    except (UnicodeDecodeError, ValueError, RecursionError) as err:
        raise ValueError(f"{path.name} is not a valid notebook file (not JSON: {err})") from None
    if problem := _structure_problem(notebook):
        raise ValueError(f"{path.name} is not a Jupyter notebook in nbformat 4: {problem}")
    if len(notebook["cells"]) > bounded.MAX_CELLS:
        raise ValueError(
            f"{path.name} has {len(notebook['cells'])} cells, more than the "
            f"{bounded.MAX_CELLS} a homework notebook is graded with (the release's "
            "have fewer than 100), and is not graded; delete the cells you added, "
            "save and hand it in again"
        )
    if (
        chars := sum(len(_text(cell) or "") for cell in notebook["cells"])
    ) > bounded.MAX_SOURCE_CHARS:
        raise ValueError(
            f"{path.name} holds {chars / 2**20:.1f} M characters of cell text, more than "
            f"the {bounded.MAX_SOURCE_CHARS / 2**20:.0f} M a homework notebook is graded "
            "with, and is not graded; shorten the cells you added (images belong in "
            "outputs, not in the text), save and hand it in again"
        )
    return notebook


def _not_json(constant: str) -> NoReturn:
    raise ValueError(f"{constant} is not JSON")


def _structure_problem(notebook: object) -> str | None:
    """Why ``notebook`` is not a notebook this module can read, or None."""
    if not isinstance(notebook, dict):
        return f"the file holds a JSON {type(notebook).__name__}, not a notebook"
    if notebook.get("nbformat") != 4 or isinstance(notebook.get("nbformat"), bool):
        return (
            f"its nbformat is {str(notebook.get('nbformat'))[:20]!r}; "
            "save it with a current Jupyter"
        )
    if not isinstance(notebook.get("metadata", {}), dict):
        return "its metadata is not an object"
    if not isinstance(notebook.get("cells"), list):
        return "it has no list of cells"
    for number, cell in enumerate(notebook["cells"], 1):
        if not isinstance(cell, dict) or cell.get("cell_type") not in _CELL_TYPES:
            return f"cell {number} is not a code, markdown or raw cell"
        if _text(cell) is None:
            return f"cell {number}'s source is neither text nor a list of lines"
        if not isinstance(cell.get("metadata", {}), dict):
            return f"cell {number}'s metadata is not an object"
    return None


def _text(cell: Json) -> str | None:
    """A cell's source as one string (nbformat allows a list of lines), None if malformed."""
    source = cell.get("source", "")
    if isinstance(source, list) and all(isinstance(line, str) for line in source):
        return "".join(source)
    return source if isinstance(source, str) else None


def _normal(text: str) -> str:
    """Source for comparison: line endings, trailing spaces and blank ends do not count."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return "\n".join(line.rstrip() for line in lines).strip("\n")


def _metadata(cell: Json) -> Json:
    metadata = cell.get("metadata", {})
    return metadata if isinstance(metadata, dict) else {}


def _nbgrader(cell: Json) -> Json | None:
    """A cell's nbgrader metadata; None when it has none (an empty object counts as none)."""
    value = _metadata(cell).get("nbgrader")
    if value in (None, {}):
        return None
    return value if isinstance(value, dict) else {"malformed": value}


def _grade_id(cell: Json) -> str | None:
    grade_id = (_nbgrader(cell) or {}).get("grade_id")
    return grade_id if isinstance(grade_id, str) and grade_id else None


def _kind(cell: Json) -> str:
    """ "answer" (autograded or manual), "test", "locked" (any other nbgrader cell: read-only
    or task) or "provided" (no grade id: not protected by nbgrader)."""
    if _grade_id(cell) is None:
        return "provided"
    flags = _nbgrader(cell) or {}
    return "answer" if flags.get("solution") else "test" if flags.get("grade") else "locked"


def _short(value: object, limit: int = 40) -> str:
    """repr of an untrusted value, cut: a forged value can be megabytes."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _first_line(text: str) -> str:
    line = next((line for line in text.splitlines() if line.strip()), "")
    return _short(line.strip())


def _release_copy(cell: Json) -> Json:
    """A release cell as it is executed: its own metadata and source, no outputs."""
    result = copy.deepcopy(cell)
    result["source"] = _text(cell)
    if result["cell_type"] == "code":
        result["outputs"], result["execution_count"] = [], None
    return result


def _cell(cell_type: str, source: str, metadata: Json | None = None) -> Json:
    """A fresh cell: ``metadata`` (the release's, deep-copied) or {}, no outputs."""
    result: Json = {
        "cell_type": cell_type,
        "metadata": copy.deepcopy(metadata or {}),
        "source": source,
    }
    if cell_type == "code":
        result["outputs"], result["execution_count"] = [], None
    return result


def _student_copy(checked: Checked, label: str, cell: Json) -> Json:
    return _inert(checked, label, _cell(cell["cell_type"], _text(cell) or ""))


def _inert(checked: Checked, label: str, cell: Json) -> Json:
    """``cell`` (a fresh student cell) with its markdown made inert (``autograder.markup``);
    what was active is one suspicious edit line."""
    if cell["cell_type"] != "markdown":
        return cell
    cost = len(cell["source"]) + markup.CELL_CHARGE
    if cost > checked.markdown_left:  # checking costs time: a notebook gets a budget
        if checked.markdown_left:
            checked.note(
                f"{label} and every later markdown cell: more markdown than the grader "
                "checks in one notebook: shown as plain text, not rendered"
            )
        checked.markdown_left = 0
        cell["source"] = markup.as_text(cell["source"], "too much markdown to check")
    else:
        checked.markdown_left -= cost
        cell["source"], removed = markup.sanitize(cell["source"])
        if removed:
            checked.note(
                f"{label}: active content removed from the {_what(label)} "
                f"({', '.join(item[:30] for item in removed[:8])}"
                f"{', ...' if len(removed) > 8 else ''})",
                True,
            )
    return cell


def _what(label: str) -> str:
    return "written answer" if label.startswith("answer cell") else "markdown"


def _metadata_edits(
    checked: Checked, label: str, cell: Json, release_metadata: Json, protected: bool
) -> None:
    """One edit line for the metadata and attachments of ``cell`` that differ from the
    release's and change what runs or is shown (none of it is kept)."""
    found, suspicious = [], False
    for key, value in _metadata(cell).items():
        if key == "nbgrader" or key in BENIGN_KEYS or release_metadata.get(key, object()) == value:
            continue
        if key == "tags":
            tags = value if isinstance(value, list) else [value]
            found += [f"tag {_short(tag)}" for tag in tags]
            suspicious |= any(tag in RUN_TAGS for tag in tags if isinstance(tag, str))
        elif key in LOCK_KEYS:
            if key in release_metadata:  # unlocking a cell nbgrader protects
                found.append(f"{key} {_short(value)}")
                suspicious = True
        else:
            found.append(f"metadata {_short(key)}")
            suspicious |= key in SHOWN_KEYS
    if cell.get("attachments"):
        found.append("attachments")
        suspicious |= protected
    if found:
        what = "the release's metadata is used" if release_metadata or protected else "removed"
        checked.note(f"{label}: {', '.join(found)}: ignored ({what})", suspicious)


def _notebook_edits(checked: Checked, submitted: Json, release: Json) -> None:
    """The kernel and language: the release's are used; another language is suspicious."""
    mine, theirs = _metadata(submitted), release.get("metadata", {})
    kernel: Json = k if isinstance(k := mine.get("kernelspec"), dict) else {}
    info: Json = i if isinstance(i := mine.get("language_info"), dict) else {}
    released = {
        str(value).lower()
        for value in (
            theirs.get("kernelspec", {}).get("language"),
            theirs.get("language_info", {}).get("name"),
        )
        if value
    }
    languages = {
        str(value).lower() for value in (kernel.get("language"), info.get("name")) if value
    }
    if languages - released:
        checked.note(
            f"notebook: language {_short(sorted(languages - released))} instead of "
            f"{_short(sorted(released))}: ignored (graded with the release's kernel)",
            True,
        )
    elif kernel.get("name") and kernel["name"] != theirs.get("kernelspec", {}).get("name"):
        checked.note(
            f"notebook: kernel {_short(kernel['name'])}: ignored (graded with the "
            f"release's {_short(theirs.get('kernelspec', {}).get('name'))})"
        )


def _nbgrader_cell(checked: Checked, label: str, kind: str, cell: Json, released: Json) -> Json:
    """The cell to execute for the release's nbgrader cell ``released``, found as ``cell``."""
    protected = kind != "answer"
    if cell["cell_type"] != released["cell_type"]:
        checked.note(
            f"{label}: cell type changed from {released['cell_type']} to "
            f"{_short(cell['cell_type'])}: restored to {released['cell_type']}",
            protected,
        )
    mine, theirs = _nbgrader(cell) or {}, _nbgrader(released) or {}
    if mine != theirs:
        changes = ", ".join(
            f"{key} {_short(theirs.get(key))} -> {_short(mine.get(key))}"
            for key in sorted(set(mine) | set(theirs), key=str)
            if mine.get(key) != theirs.get(key)
        )
        checked.note(
            f"{label}: nbgrader metadata changed ({changes}): restored from the release", True
        )
    if protected and _normal(_text(cell) or "") != _normal(_text(released) or ""):
        checked.note(f"{label}: source edited: restored from the release", True)
    _metadata_edits(checked, label, cell, _metadata(released), protected)
    if kind == "answer":
        return _inert(
            checked, label, _cell(released["cell_type"], _text(cell) or "", _metadata(released))
        )
    return _release_copy(released)


def _key(cell: Json) -> tuple[str, str]:
    return cell["cell_type"], _normal(_text(cell) or "")


def _matcher(
    release_plain: list[int], release_cells: list[Json], mine: list[tuple[int, Json]]
) -> difflib.SequenceMatcher[tuple[str, str]]:
    return difflib.SequenceMatcher(
        None,
        [_key(release_cells[i]) for i in release_plain],
        [_key(cell) for _, cell in mine],
        autojunk=False,
    )


def _same(
    release_plain: list[int], release_cells: list[Json], mine: list[tuple[int, Json]]
) -> dict[int, int]:
    """{release index: submission number} of the provided cells of one stretch found unchanged
    in the submission's plain cells of that stretch, in order."""
    matcher = _matcher(release_plain, release_cells, mine)
    return {
        release_plain[block.a + k]: mine[block.b + k][0]
        for block in matcher.get_matching_blocks()
        for k in range(block.size)
    }


def _edited(
    release_plain: list[int],
    release_cells: list[Json],
    mine: list[tuple[int, Json]],
    same: dict[int, int],
) -> dict[int, int]:
    """{release index: submission number} of the provided cells of one stretch that the
    student rewrote in place: where the submission has other cells instead, in order, of the
    same type, neither of them in ``same`` already."""
    pairs: dict[int, int] = {}
    taken = set(same.values())
    for tag, i1, i2, j1, j2 in _matcher(release_plain, release_cells, mine).get_opcodes():
        if tag != "replace":
            continue
        theirs = [i for i in release_plain[i1:i2] if i not in same]
        ours = [(n, cell) for n, cell in mine[j1:j2] if n not in taken]
        for i, (number, cell) in zip(theirs, ours):
            if cell["cell_type"] == release_cells[i]["cell_type"]:
                pairs[i] = number
    return pairs


def _walk(
    checked: Checked, cells: object, release_cells: list[Json], anchors: dict[str | None, int]
) -> tuple[dict[int, tuple[int, Json]], dict[int, list[tuple[int, Json]]]]:
    """The submission's nbgrader cells ({release index: (number, cell)}, the first of each
    grade id) and plain cells per stretch ({release index of the nbgrader cell above, -1 for
    none: [(number, cell)]}); cells are numbered from 1 as the student sees them."""
    found: dict[int, tuple[int, Json]] = {}
    plain: dict[int, list[tuple[int, Json]]] = {}
    stretch = -1
    for number, cell in enumerate(cells if isinstance(cells, list) else [], 1):
        if (
            not isinstance(cell, dict)
            or cell.get("cell_type") not in _CELL_TYPES
            or _text(cell) is None
        ):
            checked.note(f"your cell {number}: not a valid notebook cell: dropped", True)
            continue
        grade_id = _grade_id(cell)
        if grade_id in anchors and anchors[grade_id] not in found:
            found[anchors[grade_id]] = number, cell
            stretch = anchors[grade_id]
            continue
        if cell["cell_type"] == "raw":
            checked.note(f"your added cell {number}: a raw cell: dropped")
            continue
        if grade_id in anchors:  # Jupyter copies the metadata with a copied cell
            forged = _nbgrader(cell) != _nbgrader(release_cells[anchors[grade_id]])
            checked.note(
                f"your added cell {number}: grade id {grade_id!r} duplicated: kept as your "
                "own cell, without nbgrader metadata",
                forged,
            )
        elif _nbgrader(cell) is not None:
            checked.note(
                f"your added cell {number}: nbgrader metadata the release does not have "
                f"(grade id {_short(grade_id)}): removed, kept as your own cell",
                True,
            )
        plain.setdefault(stretch, []).append((number, cell))
    return found, plain


def _pair(
    kinds: list[str], release_cells: list[Json], plain: dict[int, list[tuple[int, Json]]]
) -> tuple[dict[int, int], dict[int, int]]:
    """Provided cells paired with the submission's plain cells: ({release index: number} of
    unchanged ones, stretch by stretch, then moved across stretches, e.g. after a deleted
    test cell; {...} of ones rewritten in place)."""
    release_plain: dict[int, list[int]] = {}
    stretch = -1
    for i, kind in enumerate(kinds):
        if kind == "provided":
            release_plain.setdefault(stretch, []).append(i)
        else:
            stretch = i
    stretches = set(release_plain) | set(plain)
    same = {
        i: n
        for stretch in stretches
        for i, n in _same(
            release_plain.get(stretch, []), release_cells, plain.get(stretch, [])
        ).items()
    }
    unpaired = {n: cell for cells in plain.values() for n, cell in cells if n not in same.values()}
    for i in (i for i, kind in enumerate(kinds) if kind == "provided" and i not in same):
        twin = next(
            (n for n in sorted(unpaired) if _key(unpaired[n]) == _key(release_cells[i])), None
        )
        if twin is not None:
            same[i] = twin
            del unpaired[twin]
    edited: dict[int, int] = {}
    for stretch in stretches:
        edited.update(
            _edited(release_plain.get(stretch, []), release_cells, plain.get(stretch, []), same)
        )
    return same, edited


def _places(
    found: dict[int, tuple[int, Json]], paired: dict[int, int], numbers: set[int]
) -> dict[int, list[int]]:
    """{release index: [numbers of added cells after it]}: after the release cell of the
    nearest cell above that stands for one, or after the first release cell."""
    release_of = {number: i for i, (number, _) in found.items()} | {n: i for i, n in paired.items()}
    after: dict[int, list[int]] = {}
    for number in sorted(numbers):
        above = [n for n in release_of if n < number]
        after.setdefault(release_of[max(above)] if above else 0, []).append(number)
    return after


def _missing(checked: Checked, label: str, kind: str, grade_id: str) -> None:
    if kind == "test":
        checked.deleted_tests.append(grade_id)
        checked.note(f"{label}: missing: scores 0 (kept for the record, not run)")
    elif kind == "answer":
        checked.note(f"{label}: missing: the release's unanswered cell is graded")
    else:
        checked.note(f"{label}: missing: restored from the release")


def check_notebook(submitted: Json, release: Json) -> Checked:
    """Compare ``submitted`` with ``release`` (nbformat 4 dicts) and build the notebook to
    execute (see the module's docstring); never raises on a malformed submission."""
    checked = Checked(notebook={})
    release_cells = release["cells"]
    kinds = [_kind(cell) for cell in release_cells]
    anchors = {_grade_id(cell): i for i, cell in enumerate(release_cells) if kinds[i] != "provided"}
    _notebook_edits(checked, submitted, release)
    found, plain = _walk(checked, submitted.get("cells"), release_cells, anchors)
    same, edited = _pair(kinds, release_cells, plain)
    mine = {number: cell for cells in plain.values() for number, cell in cells}
    added = _places(found, same | edited, set(mine) - set(same.values()) - set(edited.values()))
    order = [i for _, i in sorted((number, i) for i, (number, _) in found.items())]
    if order != sorted(order):
        checked.note(
            "notebook: graded cells in another order than the release's: "
            "graded in the release's order"
        )
    cells: list[Json] = []
    for i, released in enumerate(release_cells):
        kind, grade_id = kinds[i], _grade_id(released)
        label = f"{kind} cell {grade_id!r}"
        if kind == "provided":
            label = f"provided cell {i + 1} ({_first_line(_text(released) or '')})"
            number = same.get(i, edited.get(i))
            if number is None:
                checked.note(f"{label}: missing: restored from the release")
            else:
                _metadata_edits(
                    checked,
                    f"{label}, your cell {number}",
                    mine[number],
                    _metadata(released),
                    False,
                )
            cells.append(
                _student_copy(checked, f"{label}, your cell {number}", mine[number])
                if i in edited and number is not None
                else _release_copy(released)
            )
        elif i in found:
            cells.append(_nbgrader_cell(checked, label, kind, found[i][1], released))
        else:
            assert grade_id is not None  # _kind: only a provided cell has none
            _missing(checked, label, kind, grade_id)
            cells.append(_release_copy(released))
        for number in added.get(i, []):
            _metadata_edits(checked, f"your added cell {number}", mine[number], {}, False)
            cells.append(_student_copy(checked, f"your added cell {number}", mine[number]))
    checked.deleted_tests.sort()
    checked.notebook = _notebook(release, cells)
    return checked


def _notebook(release: Json, cells: list[Json]) -> Json:
    """The release's notebook metadata and format around ``cells``; cell ids where the
    format has them (4.5 on): a release cell keeps its own, a student cell gets a new one."""
    minor = release.get("nbformat_minor", 4)
    taken = {cell.get("id") for cell in cells}
    for number, cell in enumerate(cells):
        if minor < 5:
            cell.pop("id", None)
        elif not cell.get("id"):
            cell["id"] = next(
                f"cell-{number}-{n}"
                for n in range(len(cells) + 1)
                if f"cell-{number}-{n}" not in taken
            )
    return {
        "nbformat": 4,
        "nbformat_minor": minor,
        "metadata": copy.deepcopy(release.get("metadata", {})),
        "cells": cells,
    }


def answered_release(release: Json, source: Json) -> Json:
    """The release with the source notebook's answers typed into its answer cells: what a
    student who solved everything hands in (the example class, the test corpora)."""
    answers = {
        _grade_id(c): c["source"] for c in source["cells"] if (_nbgrader(c) or {}).get("solution")
    }
    filled = copy.deepcopy(release)
    for cell in filled["cells"]:
        if _grade_id(cell) in answers:
            cell["source"] = answers[_grade_id(cell)]
    return filled
