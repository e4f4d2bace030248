"""Part 4 helpers: the bias-free forward pass and the activation histograms."""

import math

import numpy as np
import pytest
import torch

import hw2utils


def normal_init(std):
    def init(n_in, n_out, generator):
        return torch.randn(n_in, n_out, generator=generator) * std

    return init


def test_layer_activations_compose_matrix_products_and_the_nonlinearity():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(3, 4, generator=g)
    weights = [torch.randn(4, 5, generator=g), torch.randn(5, 2, generator=g)]
    a1, a2 = hw2utils.layer_activations(weights, x)
    assert torch.allclose(a1, torch.tanh(x @ weights[0]))
    assert torch.allclose(a2, torch.tanh(torch.tanh(x @ weights[0]) @ weights[1]))
    relu_last = hw2utils.layer_activations(weights, x, torch.relu)[-1]
    assert relu_last.shape == (3, 2) and (relu_last >= 0).all()


def test_zero_weights_give_zero_activations_in_every_layer():
    exp = hw2utils.run_init_experiment(
        lambda n_in, n_out, g: torch.zeros(n_in, n_out), n_layers=3, width=64, plot=False
    )
    assert len(exp.activations) == 3
    assert all(a.shape == (16, 64) and not a.any() for a in exp.activations)


def test_xavier_scale_keeps_tanh_alive_while_small_weights_vanish():
    xavier = hw2utils.run_init_experiment(
        lambda i, o, g: torch.randn(i, o, generator=g) / math.sqrt(i), width=512, plot=False
    )
    small = hw2utils.run_init_experiment(normal_init(0.01), width=512, plot=False)
    assert xavier.stds[-1] > 0.15
    assert small.stds[-1] < 1e-3 * small.stds[0]


def test_same_seed_same_numbers_and_numpy_weights_are_accepted():
    init = lambda i, o, g: torch.randn(i, o, generator=g).numpy() / math.sqrt(i)
    first = hw2utils.run_init_experiment(init, width=32, seed=5, plot=False)
    again = hw2utils.run_init_experiment(init, width=32, seed=5, plot=False)
    other = hw2utils.run_init_experiment(init, width=32, seed=6, plot=False)
    assert torch.equal(first.activations[-1], again.activations[-1])
    assert not torch.equal(first.activations[-1], other.activations[-1])


def test_wrong_shape_or_nonlinearity_is_a_clear_error():
    with pytest.raises(ValueError, match=r"must return shape \(32, 32\), got \(32, 31\)"):
        hw2utils.run_init_experiment(lambda i, o, g: torch.zeros(i, o - 1), width=32, plot=False)
    with pytest.raises(ValueError, match="nonlinearity"):
        hw2utils.run_init_experiment(normal_init(1.0), nonlinearity="sigmoid", plot=False)


def test_histogram_figure_has_one_panel_per_layer_with_a_normal_reference():
    exp = hw2utils.run_init_experiment(normal_init(0.05), n_layers=4, width=128)
    assert len(exp.figure.axes) == 4
    for ax, _acts in zip(exp.figure.axes, exp.activations):
        heights = np.array([patch.get_height() for patch in ax.patches])
        widths = np.array([patch.get_width() for patch in ax.patches])
        assert len(heights) == 100 and np.sum(heights * widths) == pytest.approx(1.0)
        reference = ax.lines[0]
        assert reference.get_label() == "N(0, 1)"
        peak = reference.get_ydata().max()
        assert peak == pytest.approx(1 / math.sqrt(2 * math.pi), rel=1e-3)
    assert "layer 4: mean" in repr(exp)


def test_histograms_cope_with_all_zero_layers():
    exp = hw2utils.run_init_experiment(lambda i, o, g: torch.zeros(i, o), n_layers=2, width=16)
    assert len(exp.figure.axes) == 2
