"""The bowl L(x) = ||Bx|| and ConstantVectorNetwork: values, recording, the
facts the homework quotes, and the figure."""

import math

import numpy as np
import pytest
import torch
from matplotlib.lines import Line2D

import hw2utils
from hw2utils import BOWL_START, ConstantVectorNetwork, LossFunctionWithPlot


def descend(L, lr=0.1, steps=50):
    """Plain gradient descent from the start point; returns the gradient of each step (steps, 2)."""
    x = torch.tensor(BOWL_START, requires_grad=True)
    grads = []
    for _ in range(steps):
        L(x).backward()
        grads.append(x.grad.clone())
        with torch.no_grad():
            x -= lr * x.grad
        x.grad = None
    return torch.stack(grads)


def test_loss_at_start_point_matches_the_homework():
    assert round(LossFunctionWithPlot()(torch.tensor(BOWL_START)).item(), 3) == 3.937


def test_loss_is_the_norm_of_Bx_not_its_square():
    B = np.array(hw2utils.BOWL_MATRIX)
    rng = np.random.default_rng(1)
    for point in rng.normal(size=(5, 2)):
        got = LossFunctionWithPlot()(torch.tensor(point)).item()
        assert got == pytest.approx(np.linalg.norm(B @ point), rel=1e-12)


def test_gradient_statistics_of_fifty_gd_steps_match_the_homework():
    grads = descend(LossFunctionWithPlot())
    # "to 4 decimal places": within half a unit of the quoted last digit
    assert grads.mean(0).tolist() == pytest.approx([-0.2982, 0.0940], abs=5e-5)
    assert grads.pow(2).mean(0).sqrt().tolist() == pytest.approx([2.1092, 0.3078], abs=5e-5)


def test_records_every_call_and_reset_forgets():
    L = LossFunctionWithPlot()
    descend(L, steps=7)
    assert len(L.xs) == len(L.losses) == 7
    assert L.xs[0].tolist() == pytest.approx(list(BOWL_START))
    assert L.losses[0] == pytest.approx(3.9365, abs=1e-4)
    L.reset()
    assert L.xs == [] and L.losses == []


def test_recorded_x_is_a_snapshot_not_a_live_view():
    L = LossFunctionWithPlot()
    x = torch.tensor(BOWL_START, requires_grad=True)
    L(x)
    with torch.no_grad():
        x += 1.0
    assert L.xs[0].tolist() == pytest.approx(list(BOWL_START))


def test_other_bowls_float64_and_bad_shapes():
    L = LossFunctionWithPlot(B=[[1.0, 0.0], [0.0, 3.0]])
    value = L(torch.tensor([4.0, 1.0], dtype=torch.float64))
    assert value.dtype == torch.float64 and value.item() == pytest.approx(5.0)
    with pytest.raises(ValueError, match="2x2"):
        LossFunctionWithPlot(B=[[1.0, 2.0, 3.0]])
    with pytest.raises(ValueError, match=r"shape \(2,\)"):
        L(torch.zeros(3))


def test_plot_history_draws_path_and_log_loss_panels():
    L = LossFunctionWithPlot()
    descend(L, steps=10)
    assert L.plot_history() is None  # returning the figure would make Jupyter show it twice
    path_ax, loss_ax = L.figure.axes
    assert path_ax.collections, "expected contour lines of L"
    path_line = next(line for line in path_ax.lines if line.get_label() == "path of x")
    assert np.allclose(path_line.get_xydata(), torch.stack(L.xs).numpy())
    assert loss_ax.get_yscale() == "log"
    assert np.allclose(loss_ax.lines[0].get_ydata(), L.losses)


def _horizontal_levels(ax):
    return sorted(
        line.get_ydata()[0]
        for line in ax.lines
        if isinstance(line, Line2D) and len(set(line.get_ydata())) == 1 and line.get_ydata()[0] != 0
    )


def test_plot_history_with_gradients_adds_one_panel_per_coordinate_with_mean_and_rms():
    L = LossFunctionWithPlot()
    grads = descend(L)
    mean, rms = grads.mean(0), grads.pow(2).mean(0).sqrt()
    L.plot_history(grads=grads, mean_grads=mean, rms_grads=rms)
    assert len(L.figure.axes) == 4
    for i, ax in enumerate(L.figure.axes[2:]):
        assert np.allclose(ax.lines[0].get_ydata(), grads[:, i].numpy())
        expected = sorted([mean[i].item(), rms[i].item(), -rms[i].item()])
        assert _horizontal_levels(ax) == pytest.approx(expected, abs=1e-6)


def test_plot_history_gradients_without_statistics_and_bad_input():
    L = LossFunctionWithPlot()
    grads = descend(L, steps=5)
    L.plot_history(grads=grads)
    assert len(L.figure.axes) == 4 and _horizontal_levels(L.figure.axes[2]) == []
    with pytest.raises(ValueError, match=r"\(steps, 2\)"):
        L.plot_history(grads=grads[:, :1])
    with pytest.raises(RuntimeError, match="nothing to plot"):
        LossFunctionWithPlot().plot_history()


def test_constant_vector_network_exposes_scalars_as_parameters():
    net = ConstantVectorNetwork(-1.5, 1.2, 3.0)
    params = list(net.parameters())
    assert [p.shape for p in params] == [torch.Size([])] * 3
    assert net().tolist() == pytest.approx([-1.5, 1.2, 3.0])
    with pytest.raises(ValueError):
        ConstantVectorNetwork()


def test_constant_vector_network_lets_an_optimizer_walk_the_bowl():
    net = ConstantVectorNetwork(*BOWL_START)
    optimizer = torch.optim.SGD(net.parameters(), lr=0.1)
    L = LossFunctionWithPlot()
    L(net()).backward()
    expected = torch.tensor(BOWL_START) - 0.1 * torch.stack([p.grad for p in net.parameters()])
    optimizer.step()
    assert net().detach().tolist() == pytest.approx(expected.tolist())
    assert math.isfinite(L(net()).item()) and L.losses[1] < L.losses[0]
