"""One student through the trusted pipeline: check, run sandboxed, judge.

1. **Check** (trusted): each submitted notebook is compared with the release by grade id
   (``autograder.integrity``); what runs is the release's own cells, the student's answers
   and added cells, and a probe call in place of each test cell (``autograder.runnable``).
2. **Run** (untrusted): ``hw2probes.execute`` runs the notebooks in a scratch folder as the
   slot's unprivileged user (``autograder.sandbox``), which can read nothing of the kit and
   write nothing but that folder; afterwards every process of that user is killed.
3. **Isolated run** (untrusted): the policed answers (``autograder.delegation.POLICIES``: the
   tasks that must not use torch.optim) are exercised again, after the notebooks' processes
   are gone, by ``hw2probes.isolated`` in a fresh folder as the same user and with a fresh
   seed: only the statements each answer needs run there, with torch.optim destroyed and an
   audit hook in place first (``hw2probes.tripwires``). Their test cells take their data
   from this run (the notebook run only prints a line for them).
4. **Judge** (trusted): each test cell's verdict comes from its probe's data
   (``autograder.judging``), read as plain data within ``autograder.bounded``'s limits
   (checked before and after decoding, as is the executed notebook's JSON: no file the
   sandbox writes makes the grader allocate more than they allow); a policed cell whose
   isolated run tripped a tripwire fails, and the policed answers are also read
   (``autograder.delegation.scan``). The graded notebook the gradebook records is the
   checked notebook with the student's (sanitized) outputs and, in each test cell, only the
   judge's verdict: a pass line, or an error that nbgrader scores 0.

What the instructor should see (edits to locked cells, data a probe cannot have produced,
processes that outlived the run, delegation) is returned as ``flags``; ordinary failures
(a notebook past the time limit, an unreadable file) as ``problems``.
"""

from __future__ import annotations

import base64
import copy
import dataclasses
import json
import os
import secrets
import shutil
from collections.abc import Collection
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypedDict, cast

import hw2probes
from autograder import bounded, delegation, integrity, judging, runnable
from autograder.aspects import Context, Verdict
from autograder.delegation import Notebook
from autograder.limits import Limits
from autograder.sandbox import accounts, aftermath, confinement
from hw2probes import execute

ROOT = Path(__file__).resolve().parents[1]
MAX_OUTPUT_CHARS = 20_000
KEPT_MIME = (
    "text/plain",
    "image/png",
)  # no HTML, SVG or JavaScript from a student reaches a browser
Output = dict[str, object]  # one output of a code cell, as nbformat writes it


@dataclass
class Outcome:
    notebooks: dict[str, Notebook] = field(default_factory=dict)  # name -> graded notebook
    problems: list[str] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Prepared:
    checked: integrity.Checked
    calls: dict[str, runnable.HiddenCall]
    to_run: Notebook  # what the sandbox is given (kept here: the sandbox can rewrite its copy)
    test_sources: dict[str, str]  # test cell grade id -> its source notebook text (hidden line)


def _environment(scratch: Path, threads: int, seed: int) -> dict[str, str]:
    """Everything the sandbox's processes see: nothing is inherited from the grader."""
    venv_bin = str(Path(accounts.python()).parent)
    return {
        "PATH": f"{venv_bin}:/usr/local/bin:/usr/bin:/bin",
        "HOME": str(scratch),
        "TMPDIR": str(scratch / "tmp"),
        "PYTHONPATH": str(scratch),
        "PYTHONNOUSERSITE": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
        "LANG": "C.UTF-8",
        "MPLBACKEND": "Agg",
        "MPLCONFIGDIR": str(scratch / "tmp"),
        "JUPYTER_RUNTIME_DIR": str(scratch / "tmp"),
        "JUPYTER_DATA_DIR": str(scratch / "tmp"),
        "IPYTHONDIR": str(scratch / "tmp" / "ipython"),
        hw2probes.ENV_OUT: str(scratch / "probes"),
        hw2probes.ENV_SEED: str(seed),
        "HW2_GRADING_MODE": "1",
        "NBGRADER_EXECUTION": "autograde",
        "HW2_DEVICE": os.environ.get("HW2_DEVICE", "cpu"),
        # two workers with two torch threads each run 5-8x slower on 2 cores than with one
        "OMP_NUM_THREADS": str(threads),
        "MKL_NUM_THREADS": str(threads),
        # glibc hands large freed tensors back to the system: notebook 4's kernel peaks at
        # 480 MiB instead of 670-840 (Gradescope allows 768 MB); 4 MiB costs no time
        "MALLOC_MMAP_THRESHOLD_": str(4 * 2**20),
    }


def prepare(
    submitted: Path, release: Path, source: Path, scratch: Path, outcome: Outcome
) -> dict[str, Prepared]:
    """Check each submitted notebook and write what the sandbox runs to scratch/notebooks."""
    prepared: dict[str, Prepared] = {}
    (scratch / "notebooks").mkdir(parents=True)
    for path in sorted(submitted.glob("*.ipynb")):
        name = path.stem
        try:
            submission = integrity.load_submission(path)
        except ValueError as why:
            outcome.problems.append(f"{path.name} could not be graded ({why})")
            continue
        release_nb = json.loads((release / path.name).read_text())
        checked = integrity.check_notebook(submission, release_nb)
        source_nb = json.loads((source / path.name).read_text())
        calls = runnable.hidden_calls(source_nb)
        test_sources = {
            c["metadata"]["nbgrader"]["grade_id"]: runnable.source_text(c)
            for c in source_nb["cells"]
            if c["metadata"].get("nbgrader", {}).get("grade_id") in calls
        }
        for edit in checked.edits:
            (outcome.flags if checked.suspicious else outcome.problems).append(
                f"{path.name}: {edit}"
            )
        to_run = runnable.with_probes(
            checked.notebook,
            calls,
            checked.deleted_tests,
            isolated={g for g in calls if delegation.policy_of(g)},
        )
        (scratch / "notebooks" / path.name).write_text(json.dumps(to_run))
        prepared[name] = Prepared(checked, calls, to_run, test_sources)
    for item in release.iterdir():  # what students were given: hw2utils.py, hw2checks/, data/
        if item.suffix != ".ipynb":
            (shutil.copytree if item.is_dir() else shutil.copy)(item, scratch / item.name)
    # without the references the isolated run's probes are given (hw2probes.given): the
    # student's code runs here, and would import them as its answers
    shutil.copytree(
        ROOT / "hw2probes",
        scratch / "hw2probes",
        ignore=shutil.ignore_patterns("__pycache__", hw2probes.GIVEN_FILE),
    )
    for extra in submitted.iterdir():  # the EC1 model file, for the student's own cells
        if extra.suffix != ".ipynb" and extra.is_file() and extra.name != "timestamp.txt":
            shutil.copy(extra, scratch / extra.name)
    for folder in ("probes", "tmp", "executed"):
        (scratch / folder).mkdir()
    return prepared


def _hand_over(slot: accounts.Slot, scratch: Path) -> None:
    """Give the slot's user the scratch folder the grader filled (nothing of it runs yet)."""
    for folder, dirs, files in os.walk(scratch):
        for name in [folder, *(os.path.join(folder, n) for n in dirs + files)]:
            os.chown(name, slot.uid, slot.gid, follow_symlinks=False)


def _is_png(data: str) -> bool:
    """Whether ``data`` is base64 (line breaks allowed) of a PNG file: the templates put it
    unescaped into an ``<img src="data:...">`` attribute, so a quote in it would end the
    attribute and start the student's own."""
    try:
        return base64.b64decode("".join(data.split()), validate=True).startswith(
            b"\x89PNG\r\n\x1a\n"
        )
    except ValueError:  # binascii.Error
        return False


def _sanitized(outputs: object) -> list[Output]:
    """A student's outputs, reduced to text and PNG images (checked to be base64 PNG), each
    text cut to MAX_OUTPUT_CHARS; the templates escape text, error names, values and
    tracebacks (ansi2html), so only the PNG's attribute needs checking."""
    kept: list[Output] = []
    for output in outputs if isinstance(outputs, list) else []:
        if not isinstance(output, dict):
            continue
        kind = output.get("output_type")
        if kind == "stream":
            text = output.get("text", "")
            text = "".join(text) if isinstance(text, list) else str(text)
            kept.append(
                {
                    "output_type": "stream",
                    "name": "stdout" if output.get("name") != "stderr" else "stderr",
                    "text": text[:MAX_OUTPUT_CHARS],
                }
            )
        elif kind in ("display_data", "execute_result"):
            data = output.get("data", {}) if isinstance(output.get("data"), dict) else {}
            data = {
                m: (v if isinstance(v, str) else "".join(map(str, v)))[: MAX_OUTPUT_CHARS * 50]
                for m, v in data.items()
                if m in KEPT_MIME and isinstance(v, (str, list))
            }
            if "image/png" in data and not _is_png(data["image/png"]):
                del data["image/png"]  # it goes into <img src="data:image/png;base64,...">
            if data:
                item: Output = {"output_type": kind, "data": data, "metadata": {}}
                if kind == "execute_result":
                    item["execution_count"] = None
                kept.append(item)
        elif kind == "error":
            traceback = output.get("traceback", [])
            kept.append(
                {
                    "output_type": "error",
                    "ename": str(output.get("ename", ""))[:200],
                    "evalue": str(output.get("evalue", ""))[:MAX_OUTPUT_CHARS],
                    "traceback": [str(t)[:MAX_OUTPUT_CHARS] for t in traceback[:50]]
                    if isinstance(traceback, list)
                    else [],
                }
            )
    return kept


def _executed_outputs(
    scratch: Path, name: str, expected: Notebook, outcome: Outcome
) -> list[object] | None:
    """The outputs of each cell of the executed notebook, or None when it is missing or is not
    the notebook the sandbox was given (its outputs are then not used). Its JSON is checked
    against ``bounded.EXECUTED_NOTEBOOK`` before it is parsed: beyond it, no output is shown."""
    try:
        raw = aftermath.read_file(
            scratch, f"executed/{name}.ipynb", bounded.EXECUTED_NOTEBOOK.bytes
        )
        if raw is None:
            return None
        cells = bounded.load_json(raw, bounded.EXECUTED_NOTEBOOK)["cells"]
        sources = [runnable.source_text(c) for c in cells]
    except bounded.Refused as why:  # outputs beyond what the grader parses (or a JSON bomb)
        outcome.problems.append(
            f"{name}.ipynb: its outputs are not shown in the graded notebook: "
            f"the executed notebook was refused ({why})"
        )
        return [[] for _ in expected["cells"]]
    except (ValueError, KeyError, TypeError, AttributeError, RecursionError) as why:
        outcome.flags.append(
            f"{name}.ipynb: the executed notebook was unreadable ({why}); its outputs are not shown"
        )
        return None
    if sources != [runnable.source_text(c) for c in expected["cells"]]:
        outcome.flags.append(
            f"{name}.ipynb: the executed notebook was rewritten by the submission; "
            "its outputs are not shown"
        )
        return None
    return [c.get("outputs", []) for c in cells]


def _status(scratch: Path, name: str) -> dict[str, Any]:
    """hw2probes.execute's account of one notebook (untrusted: used for messages only): how
    its run ended, the cell running then, the cells interrupted at the time limit; {} when it
    left none (never started, or killed first) or an unreadable one."""
    try:
        said = json.loads(aftermath.read_file(scratch, f"executed/{name}.status", 2**12) or b"{}")
    except (ValueError, OSError):
        return {}
    return said if isinstance(said, dict) else {}


def _left(scratch: Path, relative: str) -> bool:
    """Whether the sandbox left a file at ``scratch/relative`` (its content is not read)."""
    try:
        return aftermath.read_file(scratch, relative, 0) is not None
    except ValueError:  # something is there (more than 0 bytes, or not a plain file)
        return True
    except OSError:
        return False


def never_ran(scratch: Path, prepared: Prepared) -> list[str]:
    """The test cells (not deleted) the notebook run never got to, in notebook order: no
    probe data, or, for a policed one, no mark that it was reached (``hw2probes.reached``)."""
    return [
        g
        for g in prepared.calls
        if g not in prepared.checked.deleted_tests
        and not _left(
            scratch, f"probes/{g}{hw2probes.REACHED if delegation.policy_of(g) else '.pt'}"
        )
    ]


def _cell_name(notebook: Notebook, index: object) -> str:
    """A cell of the notebook the sandbox ran, as a problem line names it: its position and
    its grade id, else its first line (``index`` is untrusted)."""
    cells = notebook["cells"]
    if type(index) is not int or not 0 <= index < len(cells):
        return "a cell"
    grade_id = cells[index].get("metadata", {}).get("nbgrader", {}).get("grade_id")
    first = next(
        (line.strip() for line in runnable.source_text(cells[index]).splitlines() if line.strip()),
        "",
    )
    return f"cell {index + 1} ({grade_id or repr(first[:60])})"


def stopped(
    name: str, prepared: Prepared, scratch: Path, run: confinement.Outcome, limits: Limits
) -> list[str]:
    """Problem lines for a notebook whose run did not go through every cell: each cell
    interrupted at the time limit per cell, then which cell the run stopped at and why (its
    kernel died or did not start, the wall clock per submission, a runner killed from
    outside) with the checks that never ran; and checks that never ran though the run
    reports no stop. None for a notebook that ran to its end (an empty list)."""
    file, nb, said = f"{name}.ipynb", prepared.to_run, _status(scratch, name)
    timeouts = said["timeouts"] if isinstance(said.get("timeouts"), list) else []
    lines = [
        f"{file}: {_cell_name(nb, i)} ran past the time limit of {limits.cell} s per cell and was "
        "interrupted; the checks that need what it had not done fail"
        for i in timeouts[:5]
    ]
    missing = never_ran(scratch, prepared)
    lost = (
        (
            f"{len(missing)} check(s) never ran and score 0 ({', '.join(missing[:4])}"
            f"{', ...' if len(missing) > 4 else ''})"
        )
        if missing
        else "its checks had all run by then"
    )
    ended, at = said.get("ended"), _cell_name(nb, said.get("cell"))
    if ended == execute.FINISHED:
        if missing:  # its probes' data is gone though the run says it ended well
            lines.append(
                f"{file}: {lost}: their data is missing, although its run reported no stop"
            )
    elif ended == execute.KERNEL_DIED:
        lines.append(
            f"{file} could not be graded (its kernel died while running {at}: exit(), os._exit(), "
            f"a crash, or memory beyond the grading limit); {lost}"
        )
    elif isinstance(ended, str):
        where = (
            f"its run stopped at {at}"
            if said.get("cell") is not None
            else "its kernel did not start"
        )
        lines.append(f"{file} could not be graded ({where}: {ended[:300]}); {lost}")
    elif run.timed_out:
        where = (
            f"while it ran {at}"
            if said.get("cell") is not None
            else "while its kernel started"
            if said
            else "before it started"
        )
        lines.append(
            f"{file} did not finish: the time limit of {limits.wall:.0f} s per submission ran out "
            f"{where}; {lost}"
        )
    else:
        where = f"while it ran {at}" if said.get("cell") is not None else "before its first cell"
        lines.append(
            f"{file} could not be graded (its runner was killed {where}, by memory beyond the "
            f"grading limit or by the submission); {lost}"
        )
    return lines


def _probe_data(scratch: Path, grade_id: str, outcome: Outcome, folder: str = "probes") -> object:
    """The plain data a probe wrote to ``scratch/folder/<grade_id>.pt``, None when there is
    none, or {"malformed": True} (flagged) when it is unreadable, beyond
    ``bounded.PROBE_DATA`` (checked before and after decoding) or not plain data."""
    try:
        raw = aftermath.read_file(scratch, f"{folder}/{grade_id}.pt", bounded.PROBE_DATA.bytes)
    except (ValueError, OSError) as why:
        outcome.flags.append(f"{grade_id}: the check's data could not be read ({why})")
        return {"malformed": True}
    if raw is None:
        return None
    try:
        return bounded.load_torch(raw, bounded.PROBE_DATA, hw2probes.from_bytes)
    except bounded.Refused as why:  # what no probe writes: a file made to exhaust the grader
        outcome.flags.append(f"{grade_id}: the check's data was refused before decoding it ({why})")
        return {"malformed": True}
    except Exception as why:  # not plain data (weights_only refused it) or not a torch file
        outcome.flags.append(
            f"{grade_id}: the check's data is not plain data ({type(why).__name__})"
        )
        return {"malformed": True}


@dataclass(frozen=True)
class Isolated:
    """Where the isolated run left its data, its seed, and each policed answer's report."""

    folder: Path
    seed: int
    # answer grade id -> {"trips": {test id: [route]}, "notes", "refused", ...} (untrusted JSON)
    reports: dict[str, dict[str, Any]]


class Job(TypedDict):
    """One job of ``hw2probes.isolated``, written as JSON."""

    answer: str  # the policed answer cell's grade id
    objects: str  # the hidden call's arguments: what its probes exercise
    statements: list[list[int | str]]  # [cell index, first line, source] of each needed statement
    tests: dict[str, str]  # test cell grade id -> its probe


def isolated_jobs(prepared: dict[str, Prepared]) -> list[Job]:
    """The jobs of ``hw2probes.isolated``: one per policed answer cell the notebooks hold."""
    jobs: list[Job] = []
    for item in prepared.values():
        for answer in delegation.POLICIES:
            tests = {
                g: c
                for g, c in item.calls.items()
                if delegation.policy_of(g) == answer and g not in item.checked.deleted_tests
            }
            statements = delegation.needed(item.checked.notebook, answer)
            if not tests or statements is None:
                continue
            jobs.append(
                {
                    "answer": answer,
                    "objects": next(iter(tests.values())).arguments,
                    "statements": [[st.cell, st.line, st.source] for st in statements],
                    "tests": {g: c.probe for g, c in tests.items()},
                }
            )
    return jobs


def run_isolated(
    prepared: dict[str, Prepared],
    folder: Path,
    release: Path,
    slot: accounts.Slot | None,
    limits: Limits,
    outcome: Outcome,
) -> Isolated:
    """Write the jobs and what the probes import to ``folder`` (fresh, empty), run
    ``hw2probes.isolated`` there as the slot's user, then kill what is left and clean up."""
    seed = secrets.randbelow(2**31)
    for sub in ("jobs", "probes", "reports", "tmp"):
        (folder / sub).mkdir()
    jobs = isolated_jobs(prepared)
    for job in jobs:
        (folder / "jobs" / f"{job['answer']}.json").write_text(json.dumps(job))
    for item in release.iterdir():  # hw2utils.py and the hw2checks package: what the probes import
        if item.is_file() and item.suffix == ".py":
            shutil.copy(item, folder / item.name)
        elif item.is_dir() and (item / "__init__.py").is_file():
            shutil.copytree(item, folder / item.name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(
        ROOT / "hw2probes", folder / "hw2probes", ignore=shutil.ignore_patterns("__pycache__")
    )
    if slot is not None:
        _hand_over(slot, folder)
    if jobs:
        argv = [
            accounts.python(),
            "-m",
            "hw2probes.isolated",
            str(folder),
            "--job-timeout",
            str(limits.cell),
        ]
        _run_and_clean(
            slot,
            argv,
            folder,
            _environment(folder, limits.threads, seed),
            limits,
            limits.isolated_wall,
            outcome,
            "the isolated run of the optimizer answers",
            "what did not run scores 0",
            "the isolated run",
        )
    reports: dict[str, dict[str, Any]] = {}
    for job in jobs:
        try:
            report = json.loads(
                aftermath.read_file(folder, f"reports/{job['answer']}.json", 2**20) or b"{}"
            )
        except (ValueError, OSError):
            report = {}
        reports[job["answer"]] = report = report if isinstance(report, dict) else {}
        if report.get("timed_out") is True or report.get("failed"):
            why = (
                f"past {limits.cell} s"
                if report.get("timed_out") is True
                else str(report["failed"])[:200]
            )
            outcome.problems.append(
                f"the isolated run of {job['answer']} did not finish ({why}); "
                "its checks that did not run score 0"
            )
    return Isolated(folder, seed, reports)


def _strings(value: object, limit: int = 20) -> list[str]:
    """A list of strings from the isolated run's report (untrusted), cut to size."""
    return [str(v)[:300] for v in value[:limit]] if isinstance(value, list) else []


def _reached(scratch: Path, grade_id: str) -> bool:
    """Whether the notebook run got to this policed test cell (``hw2probes.reached``'s mark)."""
    try:
        return aftermath.read_file(scratch, f"probes/{grade_id}{hw2probes.REACHED}", 16) is not None
    except (ValueError, OSError):
        return False


def verdicts(
    name: str,
    prepared: Prepared,
    scratch: Path,
    context: Context,
    outcome: Outcome,
    isolated: Isolated | None = None,
    only: Collection[str] | None = None,
) -> dict[str, Verdict]:
    """{test cell grade id: verdict} for one notebook (for the test cells in ``only``, if given).
    A policed test cell takes its data from the isolated run (judged with that run's seed),
    fails when a tripwire tripped while its probe ran, and is flagged with the route; the
    reader's findings fail and flag it too."""
    objects = {
        policy: runnable.argument_names(c)
        for g, c in prepared.calls.items()
        if (policy := delegation.policy_of(g))
    }
    delegated = delegation.scan(prepared.checked.notebook, objects)
    reported: set[str] = set()
    result: dict[str, Verdict] = {}
    for grade_id, call in prepared.calls.items():
        if only is not None and grade_id not in only:
            continue
        if grade_id in prepared.checked.deleted_tests:
            result[grade_id] = Verdict(
                False, f"{grade_id}: this test cell was deleted from your notebook, so it scores 0"
            )
            continue
        answer = delegation.policy_of(grade_id)
        report = isolated.reports.get(answer, {}) if isolated and answer else {}
        if isolated and answer:
            data = (
                _probe_data(isolated.folder, grade_id, outcome)
                if _reached(scratch, grade_id)
                else None
            )
            verdict = judging.judge(
                call.part,
                call.check,
                call.literals,
                data,
                dataclasses.replace(context, seed=isolated.seed),
            )
        else:
            data = _probe_data(scratch, grade_id, outcome)
            verdict = judging.judge(call.part, call.check, call.literals, data, context)
        if verdict.malformed:
            outcome.flags.append(
                f"{name}.ipynb, {grade_id}: the check's data was not what its probe "
                f"returns (a tampered check?): {verdict.message.splitlines()[0][:200]}"
            )
        trips = report["trips"] if isinstance(report.get("trips"), dict) else {}
        routes = _strings(trips.get(grade_id))
        if routes:
            verdict = Verdict(
                False,
                f"{grade_id}: run on its own, your answer used what this task "
                # not None: only a policed answer's isolated run reports trips
                f"forbids ({delegation.POLICIES[cast(str, answer)].forbids}): "
                f"{'; '.join(routes[:3])}; the task is to write the update yourself, "
                "with tensor operations",
            )
            outcome.flags.append(
                f"{name}.ipynb, {grade_id}: the isolated run tripped {'; '.join(routes[:3])}"
            )
        if answer and answer not in reported and report:
            reported.add(answer)
            refused = [
                r
                for r in _strings(report.get("refused"))
                if not r.startswith("torch.") and "for writing" not in r
            ]
            if refused:
                outcome.flags.append(
                    f"{name}.ipynb, {answer}: the isolated run refused what its "
                    f"statements tried: {'; '.join(refused[:3])}"
                )
            notes = _strings(report.get("notes"), 3)
            if notes and verdict.passed:
                verdict = Verdict(True, verdict.message + " (note: " + "; ".join(notes) + ")")
        found = [(prefix, f) for prefix, f in delegated.items() if grade_id.startswith(prefix)]
        if found and verdict.passed:
            verdict = Verdict(False, delegation.message(grade_id, found[0][1]))
        if found and found[0][0] not in reported:  # the reader's evidence, once per answer
            reported.add(found[0][0])
            outcome.flags.append(
                f"{name}.ipynb, {grade_id}: optimizer code reaches torch.optim or "
                f"hides what it calls ({'; '.join(found[0][1][:3])})"
            )
        result[grade_id] = verdict
    return result


def _verdict_output(verdict: Verdict) -> Output:
    if verdict.passed:
        return {"output_type": "stream", "name": "stdout", "text": verdict.message + "\n"}
    return {
        "output_type": "error",
        "ename": "AssertionError",
        "evalue": verdict.message,
        "traceback": ["AssertionError: " + verdict.message],
    }


def graded_notebook(
    prepared: Prepared, outputs: list[object] | None, judged: dict[str, Verdict]
) -> Notebook:
    """The checked notebook with the student's outputs and, in test cells, the verdicts."""
    nb = copy.deepcopy(prepared.checked.notebook)
    for index, cell in enumerate(nb["cells"]):
        if cell["cell_type"] != "code":
            continue
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if grade_id in judged:  # the gradebook's own text, which nbgrader's checksum expects
            cell["source"] = prepared.test_sources[grade_id]
            cell["outputs"] = [_verdict_output(judged[grade_id])]
        else:
            cell["outputs"] = _sanitized(outputs[index]) if outputs else []
        cell["execution_count"] = None
    return nb


def _run_and_clean(
    slot: accounts.Slot | None,
    argv: list[str],
    folder: Path,
    env: dict[str, str],
    limits: Limits,
    wall: float,
    outcome: Outcome,
    what: str,
    after_timeout: str,
    outlived: str,
    runner: str | None = None,
) -> confinement.Outcome:
    """One sandboxed run (the notebooks, or the isolated run) and what the instructor should
    know of it in ``outcome``: the time limit, a runner that failed, the memory bound of all
    its processes together, processes that outlived it; then what the slot's user left behind."""
    run = confinement.run(slot, argv, folder, env, wall=wall, memory=limits.memory, cpu=limits.cpu)
    if run.timed_out:
        outcome.problems.append(f"{what} stopped after {wall:.0f} s; {after_timeout}")
    elif run.returncode != 0:
        outcome.problems.append(
            f"{runner or what} ended with exit status {run.returncode}: {run.output.strip()[-300:]}"
        )
    if (
        run.memory_limit_reached
    ):  # the kernel killed a process of the submission at its cgroup's bound
        outcome.problems.append(
            f"memory limit reached: the submission's processes together may use "
            f"{limits.memory / 2**30:g} GiB; {run.oom_kills} of them were killed"
        )
    if run.survivors_killed:
        outcome.flags.append(
            f"{run.survivors_killed} process(es) started by the submission outlived "
            f"{outlived} and were killed"
        )
    if slot is not None:
        try:
            aftermath.clean(slot)
        except OSError as why:  # the grader's fault, not the student's: say so, go on
            outcome.problems.append(f"cleaning up after the sandbox failed: {why!r}")
    return run


def grade_student(
    submitted: Path,
    release: Path,
    source: Path,
    scratch: Path,
    slot: accounts.Slot | None,
    limits: Limits,
) -> Outcome:
    """Check, run and judge one student's notebooks (``submitted``: the handed-in folder)."""
    outcome = Outcome()
    prepared = prepare(submitted, release, source, scratch, outcome)
    if slot is not None:
        _hand_over(slot, scratch)
    # with the cores to itself (one worker), a student's notebooks run two or more at a time
    argv = [
        accounts.python(),
        "-m",
        "hw2probes.execute",
        str(scratch),
        "--cell-timeout",
        str(limits.cell),
        "--parallel",
        str(max(1, limits.threads)),
    ]
    seed = secrets.randbelow(2**31)
    context = Context(submission=submitted, seed=seed)
    run = _run_and_clean(
        slot,
        argv,
        scratch,
        _environment(scratch, limits.threads, seed),
        limits,
        limits.wall,
        outcome,
        "grading",
        "notebooks not finished by then score 0 on what did not run",
        "its notebooks",
        runner="the notebook runner",
    )
    folder = (
        scratch.parent / ".isolated" / scratch.name
    )  # made by the grader, not by the student's run
    try:
        if slot is not None:
            accounts.make_scratch(slot, folder)
        else:
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir(parents=True)
        # the isolated run goes on while the other test cells are judged (its own outcome, merged after)
        separate = Outcome()
        outputs: dict[str, list[object] | None] = {}
        judged: dict[str, dict[str, Verdict]] = {}
        with ThreadPoolExecutor(max_workers=1) as pool:
            running = pool.submit(run_isolated, prepared, folder, release, slot, limits, separate)
            for name, item in prepared.items():
                outputs[name] = _executed_outputs(scratch, name, item.to_run, outcome)
                outcome.problems += stopped(name, item, scratch, run, limits)
                judged[name] = verdicts(
                    name,
                    item,
                    scratch,
                    context,
                    outcome,
                    only={g for g in item.calls if not delegation.policy_of(g)},
                )
            isolated = running.result()
        outcome.problems += separate.problems
        outcome.flags += separate.flags
        for name, item in prepared.items():
            judged[name].update(
                verdicts(
                    name,
                    item,
                    scratch,
                    context,
                    outcome,
                    isolated,
                    only={g for g in item.calls if delegation.policy_of(g)},
                )
            )
            outcome.notebooks[name] = graded_notebook(item, outputs[name], judged[name])
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return outcome
