"""The isolated run of the policed answers (``autograder.delegation.POLICIES``), in the sandbox.

    python -m hw2probes.isolated FOLDER --job-timeout SECONDS

Runs as the sandbox's unprivileged user, in a fresh process the grader starts after the
notebooks' run is over. FOLDER/jobs/<answer>.json, written by the grader, holds one job per
policed answer cell: {"answer": grade id, "statements": [[cell, line, source], ...] (what
``autograder.delegation.needed`` chose), "objects": the probes' arguments as source text
("descend"), "tests": {test grade id: its probe, "<part>.probe_<name>" (``hw2probes.probe_named``)}}.

This process imports torch and the probes, destroys torch.optim (``hw2probes.tripwires``), then
for each job forks (cheap: torch is loaded); the child installs the audit hook and only then
executes the student's statements, one at a time (one that raises is skipped and noted: a demo
line needs what the isolated run does not bring, and a definition that fails leaves its name
undefined, which the probe reports), then runs ``hw2probes.collect`` for each test cell. It hands
back, through a pipe, {"probes": {test grade id: hw2probes.to_bytes data, base64},
"trips": {test grade id: what tripped or was refused while its probe ran}, "notes": [...],
"refused": [what was refused while the statements ran]}; this process writes the probes' data
to FOLDER/probes/<test grade id>.pt (only the job's own test cells) and the rest to
FOLDER/reports/<answer>.json. A child past ``--job-timeout`` seconds is killed (its cells never
ran). Everything here is as untrusted as the student's code: the grader reads it as data.
"""

from __future__ import annotations

import argparse
import ast
import base64
import importlib
import json
import linecache
import os
import select
import signal
import sys
import time
import types
from collections.abc import Iterable
from pathlib import Path
from typing import Any

MAX_PAYLOAD = 16 * 2**20
#: One policed answer's job, as the grader writes it (JSON; see the module's docstring).
Job = dict[str, Any]


def _child(job: Job, holder: list[list[object]]) -> dict[str, Any]:
    """In the forked child: guard, execute the student's statements, run the probes."""
    import hw2probes
    from hw2probes import tripwires

    tripwires.guard(
        holder.pop()
    )  # the fused kernels' Library objects: now only the hook holds them
    module = types.ModuleType("__main__")  # the notebook's namespace, as in a kernel
    sys.modules["__main__"] = module
    namespace = module.__dict__
    notes, refused = [], []
    filename = f"<your notebook: what {job['answer']} needs>"
    program = "\n".join(source for _, _, source in job["statements"])
    linecache.cache[filename] = (len(program), None, program.splitlines(True), filename)
    try:
        tree = ast.parse(program, filename)
    except SyntaxError as exc:
        tree = ast.Module(body=[], type_ignores=[])
        notes.append(f"your code does not parse ({exc.msg}, line {exc.lineno})")
    origins = [
        (cell, line)
        for cell, line, source in job["statements"]
        for _ in source.splitlines() or [""]
    ]
    for node in tree.body:
        before = tripwires.recorded()
        try:
            exec(compile(ast.Module(body=[node], type_ignores=[]), filename, "exec"), namespace)
        except (Exception, SystemExit) as exc:
            cell, line = origins[node.lineno - 1] if node.lineno <= len(origins) else ("?", "?")
            notes.append(
                f"cell {cell}, line {line}: {(ast.get_source_segment(program, node) or '')[:80]!r} "
                f"was skipped in the isolated run ({hw2probes.describe_error(exc)[:300]})"
            )
        refused += tripwires.trips(before)
    probes, trips = {}, {}
    for test_id, probe in job["tests"].items():
        before = tripwires.recorded()
        data = hw2probes.collect(
            hw2probes.probe_named(probe), lambda: eval(f"({job['objects']},)", namespace)
        )
        try:
            raw = hw2probes.to_bytes(data)
        except Exception as exc:
            raw = hw2probes.to_bytes(
                {"error": f"the probe's data could not be saved: {type(exc).__name__}"}
            )
        probes[test_id] = base64.b64encode(raw).decode()
        result = data.get("result")  # a probe that caught Delegated says so in its data
        named = (
            [f"torch.optim ({str(result['delegated'])[:100]})"]
            if isinstance(result, dict) and "delegated" in result
            else []
        )
        trips[test_id] = tripwires.trips(before) or named
    return {
        "probes": probes,
        "trips": trips,
        "notes": notes,
        "refused": list(dict.fromkeys(refused)),
    }


def run_job(folder: Path, job: Job, timeout: float, holder: list[list[object]]) -> None:
    reading, writing = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: it never returns
        os.close(reading)
        write, exit_now = os.write, os._exit  # taken before the student's code can replace them
        try:
            payload = json.dumps(_child(job, holder)).encode()
        except BaseException as exc:  # the student's code broke the run itself: say so
            payload = json.dumps({"failed": f"{type(exc).__name__}: {str(exc)[:300]}"}).encode()
        view = memoryview(payload)
        while view:
            view = view[write(writing, view) :]
        exit_now(0)
    os.close(writing)
    chunks, size, deadline, timed_out = [], 0, time.monotonic() + timeout, False
    while True:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([reading], [], [], left)[0]:
            timed_out = True
            break
        chunk = os.read(reading, 2**16)
        if not chunk:
            break
        size += len(chunk)
        if size > MAX_PAYLOAD:
            break
        chunks.append(chunk)
    os.close(reading)
    if timed_out or size > MAX_PAYLOAD:
        os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    report = {"answer": job["answer"], "timed_out": timed_out}
    try:
        result = json.loads(b"".join(chunks)) if chunks and not timed_out else {}
    except ValueError:
        result = {"failed": "the isolated run's result was not readable"}
    if not isinstance(result, dict):
        result = {"failed": "the isolated run's result was not readable"}
    for test_id, encoded in (result.get("probes") or {}).items():
        if test_id in job["tests"] and isinstance(encoded, str):  # a job writes its own cells only
            (folder / "probes" / f"{test_id}.pt").write_bytes(base64.b64decode(encoded))
    report.update(
        {key: result.get(key) for key in ("trips", "notes", "refused", "failed") if key in result}
    )
    (folder / "reports" / f"{job['answer']}.json").write_text(json.dumps(report))


def _probe_modules(refs: Iterable[str]) -> set[str]:
    """The modules of the probes ``refs`` names (``hw2probes.probe_named``): hw2checks.<part> for
    a shipped aspect's, with hw2probes.given (what such a probe may be given,
    ``hw2probes.supplied``); hw2probes.<part> for the others."""
    import hw2probes

    modules = set()
    for ref in refs:
        shipped = ref.startswith("hw2checks.")
        part = ref.removeprefix("hw2checks.").partition(".")[0]
        if part in hw2probes.PARTS:
            modules.add(f"{'hw2checks' if shipped else 'hw2probes'}.{part}")
            if shipped:
                modules.add(f"hw2probes.{hw2probes.GIVEN_FILE.removesuffix('.py')}")
    return modules


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--job-timeout", type=float, required=True)
    args = parser.parse_args(argv)
    import torch  # loaded once, before the forks

    import hw2probes
    from hw2probes import tripwires

    jobs = [json.loads(path.read_text()) for path in sorted((args.folder / "jobs").glob("*.json"))]
    for module in sorted(_probe_modules(p for job in jobs for p in job["tests"].values())):
        importlib.import_module(module)  # what the probes need, while nothing is refused
    hw2probes.to_bytes({"warm": torch.zeros(1)})
    tripwires.destroy_torch_optim()
    holder = [tripwires.fused_tripwires()]
    for folder in ("probes", "reports"):
        (args.folder / folder).mkdir(exist_ok=True)
    for job in jobs:
        run_job(args.folder, job, args.job_timeout, holder)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
