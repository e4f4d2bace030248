"""Accuracy curves of the training experiments per seed and CPU thread count, for choosing
budgets and claims that hold on every machine (lessons/CERTIFICATE.md, "Across machines").

    python benchmarks/outcome_curves.py --only 3.7,3.8,3.9,3.10,3.13 --seeds 1-10,7150 \\
        --threads 1,2,4 [--epochs 800] --out build/curves.jsonl

Each (threads, seed, experiment) is one `lessons.replay.run` with its curves (train and
held-out accuracy every 10 epochs), appended as a JSON line to --out; a run already in the file
is skipped, so an interrupted search resumes. Training is deterministic at a fixed thread
count and `run_test` stops only at 100 % held-out, so a run of E epochs holds every budget
B ≤ E (a multiple of 10): its first B epochs are the run with budget B.
"""

import argparse
import json
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from lessons.experiments import EXPERIMENTS  # the kit's root, added above
from lessons.replay import refuse_grading_mode, run


def parse_seeds(text):
    """ "1-10,7150" → [1, …, 10, 7150]."""
    seeds = []
    for part in text.split(","):
        first, _, last = part.partition("-")
        seeds += range(int(first), int(last or first) + 1)
    return seeds


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", required=True, help="comma-separated experiment ids")
    parser.add_argument("--seeds", default="1-10,7150")
    parser.add_argument("--threads", default="1,2,4", help="comma-separated CPU thread counts")
    parser.add_argument(
        "--epochs", type=int, help="budget of every run (default: each experiment's)"
    )
    parser.add_argument("--out", type=Path, default=Path("build") / "curves.jsonl")
    args = parser.parse_args(argv)
    refuse_grading_mode()
    ids = args.only.split(",")
    unknown = [task for task in ids if task not in EXPERIMENTS]
    if unknown:
        raise SystemExit(f"unknown experiment ids {unknown}")
    done = set()
    if args.out.exists():
        done = {
            (r["threads"], r["seed"], r["id"])
            for r in map(json.loads, args.out.read_text().splitlines())
        }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    for threads in map(int, args.threads.split(",")):
        torch.set_num_threads(threads)
        for seed in parse_seeds(args.seeds):
            for task in ids:
                if (threads, seed, task) in done:
                    continue
                result = {"threads": threads, **run(task, seed, epochs=args.epochs, curves=True)}
                with args.out.open("a") as out:
                    out.write(json.dumps(result) + "\n")
                print(
                    f"{threads} threads {task:>5} seed {seed}: train {result['train_acc']:.3f} "
                    f"(best {result['best_train_acc']:.3f}) held-out {result['val_acc']:.3f} "
                    f"({result['seconds']} s)",
                    flush=True,
                )
    return 0


if __name__ == "__main__":
    sys.exit(main())
