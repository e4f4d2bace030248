"""run_test and Supervise: training, evaluation discipline (eval mode, no_grad),
early stop, grading mode, the history and the figure."""

import numpy as np
import pytest
import torch
from torch import nn

import hw2utils
from hw2utils import Supervise, run_test


class ModeSpy(nn.Module):
    """Identity layer that records (training?, grad enabled?, batch size) per call."""

    def __init__(self):
        super().__init__()
        self.calls = []

    def forward(self, x):
        self.calls.append((self.training, torch.is_grad_enabled(), len(x)))
        return x


def small_net(spy=None):
    torch.manual_seed(0)
    layers = [nn.Linear(36, 8), nn.ReLU(), nn.Linear(8, 1), nn.Sigmoid()]
    return nn.Sequential(*([spy] if spy else []), *layers)


def adam(params):
    return torch.optim.Adam(params, lr=0.05)


def test_supervise_squeezes_the_output_column_and_applies_the_criterion():
    net = nn.Sequential(nn.Linear(36, 1), nn.Sigmoid())
    x, y = torch.rand(5, 36), torch.tensor([0.0, 1.0, 1.0, 0.0, 1.0])
    expected = nn.functional.binary_cross_entropy(net(x)[:, 0], y)
    assert torch.allclose(Supervise(nn.BCELoss(), net)(x, y), expected)
    assert Supervise(nn.BCELoss(), net)(x[:1], y[:1]).shape == ()


def test_learns_an_easy_rule_and_stops_early_at_full_held_out_accuracy(easy_dataset, capsys):
    history = run_test(
        Supervise(nn.BCELoss(), small_net()),
        adam,
        epochs=500,
        data=easy_dataset,
        device="cpu",
        plot=False,
    )
    assert history.val_acc == 1.0 and history.solved_epoch == history.epochs_run < 500
    assert history.solved_epoch % 10 == 0
    assert history.eval_epochs == list(range(10, history.epochs_run + 1, 10))
    assert len(history.losses) == history.epochs_run and history.losses[-1] < history.losses[0]
    assert history.n_parameters == 36 * 8 + 8 + 8 + 1
    out = capsys.readouterr()
    assert out.err == "", "the progress bar must write to stdout: stderr fails nbgrader test cells"
    assert "305 parameters" in out.out and "held-out accuracy 1.0000" in out.out


def test_progress_bar_shows_the_loss_trend_and_the_best_held_out_so_far(easy_dataset, capsys):
    history = run_test(
        Supervise(nn.BCELoss(), small_net()),
        lambda p: torch.optim.SGD(p, lr=0.05),
        epochs=150,
        data=easy_dataset,
        device="cpu",
        plot=False,
    )
    bar = capsys.readouterr().out.split("\n")[1].split("\r")[-1]  # the bar as last drawn
    span = min(100, history.epochs_run - 1)
    change = history.losses[-1] / history.losses[-1 - span] - 1
    best = max(history.val_accs)
    at = history.eval_epochs[history.val_accs.index(best)]
    assert f"loss {history.losses[-1]:.4f} ({change:+.1%} in {span} epochs)" in bar
    assert (
        f"train {history.train_acc:.3f}, held-out {history.val_acc:.3f} (best {best:.3f} at epoch {at})"
        in bar
    )


def test_without_early_success_it_runs_every_epoch_and_evaluates_at_the_last(easy_dataset):
    history = run_test(
        Supervise(nn.BCELoss(), small_net()),
        lambda p: torch.optim.SGD(p, lr=1e-4),
        epochs=25,
        data=easy_dataset,
        device="cpu",
        progress=False,
        plot=False,
    )
    assert history.epochs_run == 25 and history.solved_epoch is None
    assert history.eval_epochs == [10, 20, 25]
    assert len(history.grad_ranges) == 3 and all(hi >= lo > 0 for hi, lo in history.grad_ranges)
    assert "reached 100% held-out: no" in repr(history)


def test_evaluates_in_eval_mode_without_gradients_and_trains_in_train_mode(easy_dataset):
    spy = ModeSpy()
    model = Supervise(nn.BCELoss(), small_net(spy))
    model.eval()  # the harness must switch to training mode itself
    run_test(
        model,
        adam,
        epochs=20,
        test_every=10,
        data=easy_dataset,
        device="cpu",
        progress=False,
        plot=False,
    )
    n_train, n_val = len(easy_dataset.train_labels), len(easy_dataset.val_labels)
    training_calls = [c for c in spy.calls if c[0]]
    evaluation_calls = [c for c in spy.calls if not c[0]]
    assert len(training_calls) == 20 and all(grad for _, grad, _ in training_calls)
    # two evaluations, each on the whole training split and the held-out split
    assert sorted(n for _, _, n in evaluation_calls) == sorted([n_train, n_val] * 2)
    assert not any(grad for _, grad, _ in evaluation_calls)
    assert model.training and spy.training


def test_batchnorm_statistics_are_frozen_during_evaluation(easy_dataset):
    torch.manual_seed(0)
    net = nn.Sequential(
        nn.Linear(36, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 1), nn.Sigmoid()
    )
    batchnorm = net[1]
    model = Supervise(nn.BCELoss(), net)
    run_test(model, adam, epochs=10, data=easy_dataset, device="cpu", progress=False, plot=False)
    # one update of the running statistics per training epoch, none from evaluation
    assert batchnorm.num_batches_tracked.item() == 10


def test_grading_mode_shortens_training(easy_dataset, monkeypatch, capsys):
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    history = run_test(
        Supervise(nn.BCELoss(), small_net()),
        lambda p: torch.optim.SGD(p, lr=1e-4),
        epochs=2000,
        data=easy_dataset,
        device="cpu",
        progress=False,
        plot=False,
    )
    assert history.epochs_run == hw2utils.GRADING_EPOCHS
    assert "Grading mode" in capsys.readouterr().out


def test_figure_shows_log_loss_and_two_accuracy_curves(easy_dataset):
    history = run_test(
        Supervise(nn.BCELoss(), small_net()),
        adam,
        epochs=30,
        data=easy_dataset,
        device="cpu",
        progress=False,
    )
    loss_ax, acc_ax = history.figure.axes
    assert loss_ax.get_yscale() == "log"
    assert np.allclose(loss_ax.lines[0].get_ydata(), history.losses)
    assert [line.get_label() for line in acc_ax.lines] == ["training accuracy", "held-out accuracy"]
    assert list(acc_ax.lines[1].get_xdata()) == history.eval_epochs
    assert np.allclose(acc_ax.lines[1].get_ydata(), history.val_accs)
    assert acc_ax.get_ylim()[0] == 0.0


def test_uses_the_tiny_dataset_and_the_chosen_device_by_default(easy_data_dir, monkeypatch):
    monkeypatch.chdir(easy_data_dir.parent)
    (easy_data_dir.parent / "data").mkdir(exist_ok=True)
    (easy_data_dir / "tiny-classification.npz").rename(
        easy_data_dir.parent / "data" / "tiny-classification.npz"
    )
    monkeypatch.setattr(hw2utils, "__file__", str(easy_data_dir / "nowhere" / "hw2utils.py"))
    monkeypatch.setenv(hw2utils.ENV_DEVICE, "cpu")
    model = Supervise(nn.BCELoss(), small_net())
    history = run_test(model, adam, epochs=10, progress=False, plot=False)
    assert history.epochs_run == 10
    assert next(model.parameters()).device == torch.device("cpu")


def test_refuses_a_bare_network_and_nonsense_lengths(easy_dataset):
    with pytest.raises(TypeError, match="Supervise"):
        run_test(small_net(), adam, data=easy_dataset)
    with pytest.raises(ValueError, match="at least 1"):
        run_test(Supervise(nn.BCELoss(), small_net()), adam, epochs=0, data=easy_dataset)


def test_cuda_request_without_a_gpu_fails_before_training(easy_dataset, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(RuntimeError, match="no CUDA GPU"):
        run_test(Supervise(nn.BCELoss(), small_net()), adam, data=easy_dataset, device="cuda")


def test_accuracy_restores_the_previous_mode():
    net = nn.Sequential(nn.Linear(36, 1), nn.Sigmoid())
    x = torch.zeros(4, 36)
    with torch.no_grad():
        net[0].weight.zero_()
        net[0].bias.fill_(1.0)  # predicts 1 everywhere
    assert hw2utils.accuracy(net, x, torch.tensor([1.0, 1.0, 0.0, 1.0])) == 0.75
    assert net.training
    net.eval()
    hw2utils.accuracy(net, x, torch.ones(4))
    assert not net.training
