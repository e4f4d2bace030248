"""The helpers' figures are readable: every line visible where two coincide, tick labels short
plain numbers whatever the range, no legend over the data, tick labels under every histogram,
and the steps of a zig-zag path told apart. Assertions are on the drawn artists, in display
coordinates after ``fig.canvas.draw()``. The figure builders below also feed the notebook that
tests/test_browser.py renders in JupyterLab."""

import re

import numpy as np
import pytest
import torch

import hw2utils
from hw2utils import TrainingHistory

# ---------------------------------------------------------------------------
# Figures of typical (and awkward) runs, from synthetic data
# ---------------------------------------------------------------------------


def history_of(losses, train_accs, val_accs, every: int = 10) -> TrainingHistory:
    """A history as run_test would record it: one loss per epoch, accuracies every ``every``."""
    history = TrainingHistory(n_parameters=100, epochs_run=len(losses), losses=list(losses))
    history.eval_epochs = list(range(every, len(losses) + 1, every))
    history.train_accs, history.val_accs = list(train_accs), list(val_accs)
    assert len(history.eval_epochs) == len(history.train_accs) == len(history.val_accs)
    return history


def stuck_history() -> TrainingHistory:
    """A network stuck at chance (Task 3.12): both accuracies 0.50 at every evaluation, the
    loss creeping from 0.6937 to 0.6931 (ln 2)."""
    epochs = np.arange(2000)
    return history_of(0.6931 + 0.0006 * np.exp(-epochs / 300), [0.5] * 200, [0.5] * 200)


def overfit_history() -> TrainingHistory:
    """Training loss collapsing to 1e-4 in 100 epochs, then flat along the bottom of the
    plot; training accuracy 1, held-out 0.9."""
    epochs = np.arange(1000)
    losses = np.maximum(0.7 * np.exp(-epochs / 11), 1e-4)
    accs = np.minimum(1.0, 0.5 + np.arange(100) / 20)
    return history_of(losses, accs, np.minimum(accs, 0.9))


def zigzag_bowl(with_gradients: bool = True) -> hw2utils.LossFunctionWithPlot:
    """Part 1's demo: 50 gradient-descent steps of lr 0.1 from x0, which zig-zag across the
    valley from step 11 on, plotted (with Part 2's gradient panels if ``with_gradients``)."""
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
    if with_gradients:
        L.plot_history(grads=grads, mean_grads=grads.mean(0), rms_grads=grads.pow(2).mean(0).sqrt())
    else:
        L.plot_history()
    return L


def saturated_experiment(layers: int = 4) -> hw2utils.InitExperiment:
    """Task 4.3's large weights N(0, 1): tanh saturates, piling activations at -1 and +1."""
    return hw2utils.run_init_experiment(
        lambda n_in, n_out, g: torch.randn(n_in, n_out, generator=g), n_layers=layers, width=256
    )


# ---------------------------------------------------------------------------
# What is drawn, in display coordinates
# ---------------------------------------------------------------------------

PLAIN_NUMBER = re.compile(r"^[-−]?\d+(\.\d+)?(e[-+]\d+)?$")


def drawn(fig):
    fig.canvas.draw()
    return fig


def tick_labels(axis) -> list[str]:
    """The texts of the tick labels drawn on ``axis``: major and minor, inside its view."""
    low, high = sorted(axis.get_view_interval())
    span = (high - low) * 1e-9
    texts = []
    for locs, ticks in (
        (axis.get_majorticklocs(), axis.get_major_ticks()),
        (axis.get_minorticklocs(), axis.get_minor_ticks()),
    ):
        for loc, tick in zip(locs, ticks):
            if low - span <= loc <= high + span:
                texts += [
                    label.get_text()
                    for label in (tick.label1, tick.label2)
                    if label.get_visible() and label.get_text()
                ]
    return texts


def _along(points: np.ndarray, per_segment: int = 25) -> np.ndarray:
    """Points along a polyline (display coordinates), not only its vertices."""
    if len(points) < 2:
        return points
    t = np.linspace(0, 1, per_segment, endpoint=False)[None, :, None]
    steps = points[:-1, None, :] + t * (points[1:, None, :] - points[:-1, None, :])
    return np.vstack([steps.reshape(-1, 2), points[-1:]])


def data_points(ax) -> np.ndarray:
    """Display coordinates of what ``ax`` plots: points along its lines, the vertices of its
    collections (contour lines), the corners of its bars."""
    points = [_along(line.get_transform().transform(line.get_xydata())) for line in ax.lines]
    for collection in ax.collections:
        transform = collection.get_transform()
        points += [transform.transform(path.vertices) for path in collection.get_paths()]
    for bar in ax.patches:
        if bar.get_height() > 0:
            box = bar.get_window_extent()
            points.append(
                _along(
                    np.array(
                        [[box.x0, box.y0], [box.x0, box.y1], [box.x1, box.y1], [box.x1, box.y0]]
                    )
                )
            )
    points = [p for p in points if len(p)]
    return np.vstack(points) if points else np.empty((0, 2))


def legends(fig) -> list:
    return list(fig.legends) + [ax.get_legend() for ax in fig.axes if ax.get_legend()]


def assert_no_legend_over_data(fig) -> None:
    drawn(fig)
    boxes = legends(fig)
    assert boxes, "the figure has no legend"
    for legend in boxes:
        box = legend.get_window_extent().padded(-1)
        for ax in fig.axes + [child for parent in fig.axes for child in parent.child_axes]:
            points = data_points(ax)
            inside = (
                (points[:, 0] > box.x0)
                & (points[:, 0] < box.x1)
                & (points[:, 1] > box.y0)
                & (points[:, 1] < box.y1)
            )
            assert not inside.any(), (
                f"the legend ({[t.get_text() for t in legend.get_texts()]}) covers "
                f"{inside.sum()} plotted points of the panel {ax.get_title()!r}"
            )


# ---------------------------------------------------------------------------
# The training figure (run_test, plot_training)
# ---------------------------------------------------------------------------


def accuracy_lines(fig):
    _, acc_ax = fig.axes
    lines = {line.get_label(): line for line in acc_ax.lines}
    return acc_ax, lines["training accuracy"], lines["held-out accuracy"]


def test_coinciding_accuracies_are_both_drawn_in_different_styles():
    fig = hw2utils.plot_training(stuck_history())
    acc_ax, train, held_out = accuracy_lines(fig)
    assert np.array_equal(train.get_ydata(), held_out.get_ydata())  # the awkward case
    assert train.get_visible() and held_out.get_visible()
    assert train.get_linestyle() != held_out.get_linestyle()
    assert "None" not in (train.get_marker(), held_out.get_marker())
    assert train.get_marker() != held_out.get_marker()
    # The one drawn later must be the thinner, so the other shows on both sides of it.
    order = sorted(acc_ax.lines, key=lambda line: (line.get_zorder(), acc_ax.lines.index(line)))
    below, above = sorted([train, held_out], key=order.index)
    assert above.get_linewidth() < below.get_linewidth()
    title = fig.legends[0].get_title().get_text()
    assert "equal" in title and "held-out" in title


def test_the_note_appears_only_when_the_accuracies_coincide():
    fig = hw2utils.plot_training(overfit_history())
    assert fig.legends[0].get_title().get_text() == ""


@pytest.mark.parametrize(
    "low, high", [(0.6931, 0.6937), (0.3, 0.7), (1e-3, 0.7), (1e-7, 5.0), (1e-5, 3e-5), (2.0, 40.0)]
)
def test_loss_axis_tick_labels_are_a_few_short_plain_numbers(low, high):
    losses = np.geomspace(high, low, 300)
    fig = drawn(hw2utils.plot_training(history_of(losses, [0.5] * 30, [0.6] * 30)))
    loss_ax, acc_ax = fig.axes
    assert loss_ax.get_yscale() == "log"
    for axis in (loss_ax.yaxis, loss_ax.xaxis, acc_ax.yaxis):
        labels = tick_labels(axis)
        assert 2 <= len(labels) <= 8, labels
        assert all(PLAIN_NUMBER.match(text) and len(text) <= 7 for text in labels), labels
    values = [float(text.replace("−", "-")) for text in tick_labels(loss_ax.yaxis)]
    assert len(set(values)) == len(values), "two ticks carry the same label"


def assert_labelled_near_both_ends(axis, values, near: float = 1.5) -> None:
    """A labelled tick within a factor ``near`` of the data's lowest and of its highest value."""
    labels = [float(text.replace("−", "-")) for text in tick_labels(axis)]
    assert min(labels) <= min(values) * near and max(labels) >= max(values) / near, labels


@pytest.mark.parametrize(
    "low, high",
    [
        (0.05, 0.7),
        (0.1, 0.7),
        (0.08, 0.7),
        (0.12, 0.9),
        (0.005, 0.7),
        (0.3, 3.9),
        (1e-7, 5.0),
        (0.6931, 0.6937),
    ],
)
def test_loss_axis_labels_a_tick_near_each_end_of_the_data(low, high):
    """A loss that falls below 0.2 gets a label below 0.2 (over less than a decade the round
    ticks crowd at the top of a log axis; over more, the lowest decade may lie outside)."""
    losses = np.geomspace(high, low, 300)
    fig = drawn(hw2utils.plot_training(history_of(losses, [0.5] * 30, [0.6] * 30)))
    assert_labelled_near_both_ends(fig.axes[0].yaxis, losses)
    assert len(tick_labels(fig.axes[0].yaxis)) <= 8


def test_training_legend_leaves_the_data_alone():
    assert_no_legend_over_data(hw2utils.plot_training(overfit_history()))
    assert_no_legend_over_data(hw2utils.plot_training(stuck_history()))


# ---------------------------------------------------------------------------
# The bowl figure (LossFunctionWithPlot.plot_history)
# ---------------------------------------------------------------------------


def test_bowl_legends_leave_path_contours_and_gradients_alone():
    assert_no_legend_over_data(zigzag_bowl().figure)


def test_bowl_panels_and_the_zoom_do_not_overlap():
    fig = drawn(zigzag_bowl().figure)
    renderer = fig.canvas.get_renderer()
    boxes = [ax.get_tightbbox(renderer) for ax in fig.axes]  # labels, legend, zoom included
    for i, a in enumerate(boxes):
        for b in boxes[i + 1 :]:
            assert not a.padded(-1).overlaps(b.padded(-1)), (a, b)


def test_bowl_loss_panel_has_plain_tick_labels():
    loss_ax = drawn(zigzag_bowl(with_gradients=False).figure).axes[1]
    labels = tick_labels(loss_ax.yaxis)
    assert 2 <= len(labels) <= 8 and all(PLAIN_NUMBER.match(t) for t in labels), labels
    assert_labelled_near_both_ends(loss_ax.yaxis, zigzag_bowl(with_gradients=False).losses)


def test_path_is_a_thin_line_with_markers_and_marked_ends():
    L = zigzag_bowl(with_gradients=False)
    path_ax = L.figure.axes[0]
    path = torch.stack(L.xs).numpy()
    line = next(line for line in path_ax.lines if line.get_label() == "path of x")
    assert line.get_marker() not in ("None", "", None) and line.get_markersize() <= 4
    assert line.get_linewidth() < 1
    marks = {line.get_label(): line.get_xydata() for line in path_ax.lines}
    assert np.allclose(marks["start"], path[:1])
    end = next(label for label in marks if label.startswith("end"))
    assert np.allclose(marks[end], path[-1:]) and "49" in end


def test_zig_zag_steps_are_apart_in_the_zoom():
    L = zigzag_bowl(with_gradients=False)
    fig = drawn(L.figure)
    path_ax = fig.axes[0]
    path = torch.stack(L.xs).numpy()

    def gaps(ax, points):
        """Pixels between each point and the one two steps later (same side of the valley)."""
        pixels = ax.transData.transform(points) * 100 / fig.dpi
        return np.linalg.norm(pixels[2:] - pixels[:-2], axis=1)

    assert np.median(gaps(path_ax, path[-16:])) < 3  # the awkward case: a blob in the full view
    (zoom,) = path_ax.child_axes
    (tail,) = [line for line in zoom.lines if len(line.get_xydata()) > 2]
    shown = tail.get_xydata()
    assert len(shown) >= 10 and np.allclose(shown, path[-len(shown) :])
    assert gaps(zoom, shown).min() >= 5
    assert not zoom.get_window_extent().overlaps(path_ax.get_window_extent())


def test_straight_path_gets_no_zoom():
    L = hw2utils.LossFunctionWithPlot()
    for t in np.linspace(0, 1, 30):
        L(torch.tensor(hw2utils.BOWL_START, dtype=torch.float64) * (1 - t))
    L.plot_history()
    assert not L.figure.axes[0].child_axes


# ---------------------------------------------------------------------------
# The activation histograms (run_init_experiment, plot_activation_histograms)
# ---------------------------------------------------------------------------


def test_every_histogram_panel_has_x_tick_labels():
    fig = drawn(saturated_experiment().figure)
    for ax in fig.axes:
        labels = tick_labels(ax.xaxis)
        assert len(labels) >= 3 and all(PLAIN_NUMBER.match(t) for t in labels), labels


def test_histogram_legends_leave_the_saturation_spikes_alone():
    experiment = saturated_experiment()
    spikes = [np.mean(np.abs(a.numpy()) > 0.99) for a in experiment.activations]
    assert min(spikes) > 0.5  # the awkward case: bars at both ends, tallest in the panel
    assert_no_legend_over_data(experiment.figure)
