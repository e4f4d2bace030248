"""The kit's main job (``bash run.sh``), at this stage of the project: load the
datasets, exercise every helper students get end to end, and write the figures
to ``build/``. Later stages add building the release and grading the examples.
"""
import argparse
import math
import sys
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import torch  # noqa: E402
from torch import nn  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
import hw2utils  # noqa: E402



def check_datasets():
    for name in hw2utils.DATASET_FILES:
        ds = hw2utils.load_dataset(name, device="cpu")
        balance = ", ".join(f"{split} {getattr(ds, split + '_labels').mean().item():.3f}"
                            for split in hw2utils.SPLITS)
        print(f"{ds}\n  share of label 1: {balance}")


def bowl_demo():
    L = hw2utils.LossFunctionWithPlot()
    x = torch.tensor(hw2utils.BOWL_START, requires_grad=True)
    grads = []
    for _ in range(50):
        L(x).backward()
        grads.append(x.grad.clone())
        with torch.no_grad():
            x -= 0.1 * x.grad
        x.grad = None
    grads = torch.stack(grads)
    mean, rms = grads.mean(0), grads.pow(2).mean(0).sqrt()
    print(f"bowl: L(x0) = {L.losses[0]:.3f}; 50 GD steps (lr 0.1): final loss {L.losses[-1]:.3f}, "
          f"mean gradient {mean.numpy().round(4)}, RMS gradient {rms.numpy().round(4)}")
    L.plot_history(grads=grads, mean_grads=mean, rms_grads=rms)
    return {"bowl.png": L.figure}


def training_demo(epochs):
    hw2utils.set_seed(7150)
    net = nn.Sequential(nn.Linear(36, 128), nn.ReLU(), nn.Linear(128, 128), nn.ReLU(),
                        nn.Linear(128, 1), nn.Sigmoid())
    history = hw2utils.run_test(hw2utils.Supervise(nn.BCELoss(), net),
                                lambda p: torch.optim.Adam(p, lr=0.01, weight_decay=1e-3),
                                epochs=epochs)
    print(history)
    return {"training.png": history.figure}


def init_demo():
    figures = {}
    for name, std in [("small", lambda n: 0.01), ("xavier", lambda n: 1 / math.sqrt(n))]:
        exp = hw2utils.run_init_experiment(
            lambda n_in, n_out, g, std=std: torch.randn(n_in, n_out, generator=g) * std(n_in))
        print(f"init {name}: activation std per layer {[round(s, 4) for s in exp.stds]}")
        figures[f"activations_{name}.png"] = exp.figure
    return figures


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "build", help="where figures go")
    parser.add_argument("--epochs", type=int, default=300, help="epochs of the training demo")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    args.out.mkdir(parents=True, exist_ok=True)
    check_datasets()
    figures = {**bowl_demo(), **training_demo(args.epochs), **init_demo()}
    for name, fig in figures.items():
        fig.savefig(args.out / name, dpi=80)
    print(f"figures written to {args.out}: {', '.join(figures)}")
    print(f"main job finished in {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
