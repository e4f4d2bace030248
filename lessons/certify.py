"""Certify the homework's outcome claims by replaying its experiments over several seeds.

    python -m lessons.certify [--seeds 10] [--first-seed 1] [--device cpu|cuda] [--threads 1]
                              [--jobs 1] [--only 3.1,3.3] [--epochs E] [--out build/certificate] [--smoke]
    python -m lessons.certify --results A/certificate.json [B/certificate.json ...]   # re-check only
    python -m lessons.certify --across A/certificate.json [B/certificate.json ...]    # one table per configuration

Each experiment of `lessons.experiments` runs once per seed S..S+K−1 (default 1..10) through `hw2utils.run_test`;
the claims of `lessons.claims` are checked on the results. Writes certificate.json (every run,
the summary, the verdicts) and certificate.md (the table) into --out. Exit status 1 when a claim
fails. --smoke: 1 seed, 20 epochs, claims reported but not enforced (for the test suite).
--across: the claims re-checked on saved certificates of several configurations (device, CPU
threads), one column each, the notebooks' seed (a one-seed certificate) beside the seed range.
"""

import argparse
import json
import os
import platform
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

import torch

from lessons.claims import CLAIMS, evaluate
from lessons.experiments import EXPERIMENTS
from lessons.replay import refuse_grading_mode, run

SMOKE_EPOCHS = 20
DEFAULT_OUT = Path("build") / "certificate"


def _init_worker(threads=1):
    # PyTorch's CPU thread count changes the order of floating-point sums, so runs differ between
    # thread counts: the certificate is made per count (CERTIFICATE.md, "Across machines").
    torch.set_num_threads(threads)


def _run(args):
    return run(*args)


def replay(ids, seeds, device, data_dir, epochs, jobs, threads=1):
    """Run every (seed, id) pair with `threads` CPU threads per job; return the results in that
    order, printing one line per run."""
    tasks = [(task, seed, device, data_dir, epochs) for seed in seeds for task in ids]
    if jobs == 1:
        _init_worker(threads)
        results = map(_run, tasks)
    else:
        pool = ProcessPoolExecutor(
            jobs, mp_context=get_context("spawn"), initializer=_init_worker, initargs=(threads,)
        )
        results = pool.map(_run, tasks)
    runs = []
    for result in results:
        print(
            f"{result['id']:>11} seed {result['seed']}: train {result['train_acc']:.3f} "
            f"held-out {result['val_acc']:.3f} epochs {result['epochs_run']} ({result['seconds']} s)",
            file=sys.stderr,
            flush=True,
        )
        runs.append(result)
    if jobs != 1:
        pool.shutdown()
    return runs


def _spread(values):
    return (
        {"median": statistics.median(values), "min": min(values), "max": max(values)}
        if values
        else None
    )


def summarize(runs):
    """Per experiment id: median/min/max of train and held-out accuracy and of epochs to 100 %."""
    summary = {}
    for task in dict.fromkeys(r["id"] for r in runs):
        mine = [r for r in runs if r["id"] == task]
        solved = [r["solved_epoch"] for r in mine if r["solved_epoch"] is not None]
        summary[task] = {
            "title": EXPERIMENTS[task].title,
            "dataset": EXPERIMENTS[task].dataset,
            "seeds": len(mine),
            "train_acc": _spread([r["train_acc"] for r in mine]),
            "val_acc": _spread([r["val_acc"] for r in mine]),
            "solved": len(solved),
            "solved_epoch": _spread(solved),
            "seconds": statistics.median(r["seconds"] for r in mine),
        }
    return summary


def _cell(spread, fmt):
    if spread is None:
        return "—"
    return f"{spread['median']:{fmt}} [{spread['min']:{fmt}}–{spread['max']:{fmt}}]"


def render_markdown(meta, summary, verdicts):
    """The certificate as markdown: run settings, the experiment table, the claim verdicts."""
    first = meta.get("first_seed", 1)
    lines = [
        f"Seeds {first}–{first + meta['seeds'] - 1} on {meta['device']} ({meta['hardware']}), torch {meta['torch']}, "
        f"epochs {meta['epochs']}, wall time {meta['wall_seconds'] / 60:.1f} min.",
        "",
        "Accuracies: median [min–max] over seeds; epochs to 100 % held-out over the seeds that got there.",
        "",
        "| id | experiment | data | train acc | held-out acc | reached 100 % | epochs to 100 % | s/run |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for task, s in summary.items():
        lines.append(
            f"| {task} | {s['title']} | {s['dataset']} | {_cell(s['train_acc'], '.3f')} | "
            f"{_cell(s['val_acc'], '.3f')} | {s['solved']}/{s['seeds']} | "
            f"{_cell(s['solved_epoch'], '.0f')} | {s['seconds']:.1f} |"
        )
    lines += ["", "| claim | seeds held | verdict |", "|---|---|---|"]
    for v in verdicts:
        lines.append(
            f"| {v['text']} | {v['seeds_held']}/{v['seeds']} (need {v['needed']}) | {v['status']} |"
        )
    return "\n".join(lines) + "\n"


def _hardware(device, threads):
    if device.startswith("cuda"):
        return torch.cuda.get_device_name(device)
    return f"{platform.processor() or platform.machine()}, {threads} thread{'s' * (threads != 1)} per job"


def write(out, meta, runs):
    """Summarize and check `runs`, write certificate.json and certificate.md; return the verdicts."""
    summary, verdicts = summarize(runs), evaluate(runs)
    out.mkdir(parents=True, exist_ok=True)
    (out / "certificate.json").write_text(
        json.dumps({"meta": meta, "runs": runs, "summary": summary, "claims": verdicts}, indent=1)
        + "\n"
    )
    (out / "certificate.md").write_text(render_markdown(meta, summary, verdicts))
    return verdicts


def merge(saved):
    """One (meta, runs) from saved certificates of the same seeds: runs concatenated, wall times
    added; a run of one (id, seed) given twice is refused."""
    seeds = {(c["meta"].get("first_seed", 1), c["meta"]["seeds"]) for c in saved}
    if len(seeds) != 1:
        raise SystemExit(
            f"saved certificates of different seeds cannot be checked together: {sorted(seeds)}"
        )
    runs = [run for c in saved for run in c["runs"]]
    keys = [(r["id"], r["seed"]) for r in runs]
    if len(set(keys)) != len(keys):
        raise SystemExit("an experiment and seed appear in more than one saved certificate")
    meta = {**saved[0]["meta"], "wall_seconds": sum(c["meta"]["wall_seconds"] for c in saved)}
    return meta, runs


def configuration(meta):
    """A certificate's machine configuration, e.g. "cpu, 2 threads" or "cuda (NVIDIA H100)"."""
    if meta["device"].startswith("cuda"):
        return f"{meta['device']} ({meta['hardware']})"
    threads = meta.get("threads", 1)
    return f"{meta['device']}, {threads} thread{'s' * (threads != 1)}"


def across(saved):
    """Claims × configurations, re-checked on saved certificates with today's claims.

    Returns (markdown, ok): each cell "held/seeds" for a seed range (✗ when short of the quorum)
    and "✓"/"✗" for the one-seed certificates (the notebooks' seed) of that configuration; ok is
    False when any claim fails in any configuration.
    """
    columns = {}
    for certificate in saved:
        meta = certificate["meta"]
        column = columns.setdefault(configuration(meta), {"range": [], "single": []})
        column["single" if meta["seeds"] == 1 else "range"].append(certificate)
    verdicts = {
        label: {
            kind: {v["id"]: v for v in evaluate(merge(group)[1])} if group else {}
            for kind, group in column.items()
        }
        for label, column in columns.items()
    }
    ok = all(
        v["status"] != "fails"
        for by_kind in verdicts.values()
        for by_id in by_kind.values()
        for v in by_id.values()
    )
    lines = ["| claim | " + " | ".join(columns) + " |", "|---" * (len(columns) + 1) + "|"]
    for claim in CLAIMS:
        cells = []
        for by_kind in verdicts.values():
            parts = []
            if claim.id in by_kind["range"]:
                v = by_kind["range"][claim.id]
                parts.append(
                    f"{v['seeds_held']}/{v['seeds']}" + (" ✗" if v["status"] == "fails" else "")
                )
            if claim.id in by_kind["single"]:
                status = by_kind["single"][claim.id]["status"]
                parts.append("default seed " + {"holds": "✓", "fails": "✗"}.get(status, "—"))
            cells.append(", ".join(parts) or "—")
        lines.append(f"| {claim.text} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n", ok


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10, help="number of seeds K (default 10)")
    parser.add_argument("--first-seed", type=int, default=1, help="seeds run from here: S..S+K-1")
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    parser.add_argument(
        "--threads", type=int, default=1, help="PyTorch CPU threads per job (default 1)"
    )
    parser.add_argument("--jobs", type=int, default=1, help="parallel processes")
    parser.add_argument("--epochs", type=int, help="override every experiment's epoch budget")
    parser.add_argument("--only", help="comma-separated experiment ids (default: all)")
    parser.add_argument("--data-dir", default=str(Path(__file__).resolve().parent.parent / "data"))
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument(
        "--smoke", action="store_true", help=f"1 seed, {SMOKE_EPOCHS} epochs, claims not enforced"
    )
    parser.add_argument(
        "--across",
        type=Path,
        nargs="+",
        help="saved certificate.json files of several configurations: print the claims "
        "per configuration (exit 1 if one fails anywhere)",
    )
    parser.add_argument(
        "--results",
        type=Path,
        nargs="+",
        help="re-check the claims of saved certificate.json files (runs of the same "
        "seeds, e.g. one per part, are checked together)",
    )
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if args.across:
        table, ok = across([json.loads(path.read_text()) for path in args.across])
        print(table, end="")
        return 0 if ok else 1
    if args.results:
        meta, runs = merge([json.loads(path.read_text()) for path in args.results])
    else:
        if args.smoke:
            args.seeds, args.epochs = 1, args.epochs or SMOKE_EPOCHS
        else:
            refuse_grading_mode()
        ids = args.only.split(",") if args.only else list(EXPERIMENTS)
        unknown = [task for task in ids if task not in EXPERIMENTS]
        if unknown:
            raise SystemExit(f"unknown experiment ids {unknown}; known: {', '.join(EXPERIMENTS)}")
        start = time.perf_counter()
        seeds = range(args.first_seed, args.first_seed + args.seeds)
        runs = replay(ids, seeds, args.device, args.data_dir, args.epochs, args.jobs, args.threads)
        meta = {
            "seeds": args.seeds,
            "first_seed": args.first_seed,
            "device": args.device,
            "hardware": _hardware(args.device, args.threads),
            "threads": args.threads,
            "jobs": args.jobs,
            "cpus": os.cpu_count(),
            "torch": torch.__version__,
            "epochs": args.epochs or "per experiment",
            "smoke": args.smoke,
            "wall_seconds": round(time.perf_counter() - start, 1),
        }
    verdicts = write(args.out, meta, runs)
    for v in verdicts:
        print(f"{v['status']:>7}  {v['seeds_held']}/{v['seeds']}  {v['text']}")
    failed = [v["id"] for v in verdicts if v["status"] == "fails"]
    if failed and not meta.get("smoke"):
        print(f"claims failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
