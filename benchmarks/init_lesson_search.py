"""Search for a training setup of Tasks 4.7/4.9 in which Part 4's claims hold, seed by seed.

    python benchmarks/init_lesson_search.py [--optimizer adam|sgd] [--lr 0.001] [--weight-decay 1e-3]
        [--epochs 2000] [--bias default|zero] [--claims kaiming-learns,kaiming-memorizes]
        [--also 3.12] [--seeds 1-10,7150]

Each (seed, task) trains like the notebook's cell: the seed is set, the task's reference network
is built (`lessons.experiments`: 3.12's network with its Linear weights redrawn from N(0, 0.01²)
for 4.7, by kaiming_normal_ for 4.9, PyTorch's default for 3.12), then `hw2utils.run_test` trains
it full batch with the optimizer given here, for --epochs. One thread. Prints
one line per run, then per seed which of the claims (from `lessons.claims`, checked on that seed's
results) hold. `--also 3.12` adds the default-init network under the same optimizer.
~12 s per run on an idle core at 2000 epochs. The search that chose the setup in
`lessons.experiments` is recorded in lessons/CERTIFICATE.md, "Part 4".
"""

import argparse
import contextlib
import io
import sys
import time
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import hw2utils
from lessons.claims import CLAIMS
from lessons.experiments import EXPERIMENTS, adam, sgd


def build(task, bias):
    """The reference network of `task` ("3.12", "4.7", "4.9"); `bias` "zero" also zeroes the
    biases of a re-initialized one (4.6/4.8 accept both)."""
    net = EXPERIMENTS[task].build()
    if bias == "zero" and task != "3.12":
        with torch.no_grad():
            for module in net.modules():
                if isinstance(module, nn.Linear):
                    module.bias.zero_()
    return net


def train(task, seed, args):
    """One notebook-style run; returns a result like `lessons.replay.run`'s."""
    start = time.perf_counter()
    hw2utils.set_seed(seed)
    model = hw2utils.Supervise(nn.BCELoss(), build(task, args.bias))
    optmaker = adam(args.lr, args.weight_decay) if args.optimizer == "adam" else sgd(args.lr)
    with contextlib.redirect_stdout(io.StringIO()):  # run_test prints a summary line
        history = hw2utils.run_test(
            model, optmaker, epochs=args.epochs, device="cpu", progress=False, plot=False
        )
    return {
        "id": task,
        "seed": seed,
        "train_acc": history.train_acc,
        "val_acc": history.val_acc,
        "epochs_run": history.epochs_run,
        "seconds": time.perf_counter() - start,
    }


def parse_seeds(text):
    """ "1-10,7150" → [1, …, 10, 7150]."""
    seeds = []
    for part in text.split(","):
        low, _, high = part.partition("-")
        seeds += range(int(low), int(high or low) + 1)
    return seeds


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--optimizer",
        choices=("adam", "sgd"),
        default="adam",
        help="torch.optim.Adam, or torch.optim.SGD without momentum or decay",
    )
    parser.add_argument("--lr", type=float, default=0.001)
    parser.add_argument("--weight-decay", type=float, default=1e-3, help="Adam only")
    parser.add_argument("--epochs", type=int, default=2000)
    parser.add_argument(
        "--bias",
        choices=("default", "zero"),
        default="default",
        help="keep PyTorch's default biases or zero them (4.6/4.8 accept both)",
    )
    parser.add_argument("--claims", default="kaiming-learns,kaiming-memorizes")
    parser.add_argument("--also", default="", help="more tasks to run, e.g. 3.12 or 4.9 alone")
    parser.add_argument("--seeds", default="1-10,7150")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    claims = [c for c in CLAIMS if c.id in args.claims.split(",")]
    tasks = list(
        dict.fromkeys([t for c in claims for t in c.needs] + [t for t in args.also.split(",") if t])
    )
    decay = f" weight_decay {args.weight_decay}" if args.optimizer == "adam" else ""
    print(f"{args.optimizer} lr {args.lr}{decay}, {args.epochs} epochs, biases {args.bias}")
    held = {c.id: 0 for c in claims}
    seeds = parse_seeds(args.seeds)
    for seed in seeds:
        results = {}
        for task in tasks:
            r = results[task] = train(task, seed, args)
            print(
                f"seed {seed:5d} {task:>4}: held-out {r['val_acc']:.3f} train {r['train_acc']:.3f} "
                f"epochs {r['epochs_run']:4d} ({r['seconds']:.1f} s)",
                flush=True,
            )
        for claim in claims:
            ok = bool(claim.check(results))
            held[claim.id] += ok
            print(f"seed {seed:5d}: {claim.id} {'holds' if ok else 'FAILS'}", flush=True)
    for claim_id, n in held.items():
        print(f"{claim_id}: held in {n} of {len(seeds)} seeds")


if __name__ == "__main__":
    main()
