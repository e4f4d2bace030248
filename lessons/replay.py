"""Run one `Experiment` for one seed through the students' harness, `hw2utils.run_test`."""

import contextlib
import io
import os
import time

import hw2utils
from lessons.experiments import EXPERIMENTS

GRADING_ENV = ("NBGRADER_EXECUTION", "HW2_GRADING_MODE")


def refuse_grading_mode():
    """Grading mode silently cuts run_test to a few epochs, which would certify nothing."""
    active = [name for name in GRADING_ENV if os.environ.get(name)]
    if active:
        raise RuntimeError(
            f"unset {', '.join(active)}: run_test trains only a few epochs in grading mode"
        )


def _train(experiment, net, data, device, epochs):
    model = hw2utils.Supervise(experiment.loss(), net)
    with contextlib.redirect_stdout(io.StringIO()):  # run_test prints a summary line per run
        return hw2utils.run_test(
            model,
            experiment.optimizer,
            epochs=epochs,
            data=data,
            device=device,
            progress=False,
            plot=False,
        )


def run(experiment_id, seed, device="cpu", data_dir=None, epochs=None, curves=False):
    """Train experiment `experiment_id` seeded with `seed`; return a JSON-able result.

    As in the notebooks, the seed is set right before the network is built. A fine-tuning
    experiment first replays its `pretrained` experiment (same seed; for `pretrain_epochs` if
    set), then trains that network, weights kept, with a fresh optimizer on its own dataset.
    `epochs` overrides each stage's epoch budget (smoke runs only).
    Returns {id, seed, train_acc, val_acc, best_train_acc, best_val_acc, solved_epoch, epochs_run,
    seconds} (accuracies at the last evaluation; best_* the highest at any evaluation), and with
    `curves` also eval_epochs, train_accs, val_accs (every evaluation of the last stage).
    """
    experiment = EXPERIMENTS[experiment_id]
    start = time.perf_counter()
    hw2utils.set_seed(seed)
    net = experiment.build()
    if experiment.pretrained:
        base = EXPERIMENTS[experiment.pretrained]
        _train(
            base,
            net,
            hw2utils.load_dataset(base.dataset, device=device, data_dir=data_dir),
            device,
            epochs or experiment.pretrain_epochs or base.epochs,
        )
    data = hw2utils.load_dataset(experiment.dataset, device=device, data_dir=data_dir)
    history = _train(experiment, net, data, device, epochs or experiment.epochs)
    result = {
        "id": experiment_id,
        "seed": seed,
        "train_acc": history.train_acc,
        "val_acc": history.val_acc,
        "best_train_acc": max(history.train_accs),
        "best_val_acc": max(history.val_accs),
        "solved_epoch": history.solved_epoch,
        "epochs_run": history.epochs_run,
        "seconds": round(time.perf_counter() - start, 2),
    }
    if curves:
        result.update(
            eval_epochs=history.eval_epochs,
            train_accs=history.train_accs,
            val_accs=history.val_accs,
        )
    return result
