"""Helpers for HW2 "Training a Deep Network".

Students import this module; they read it, they do not edit it (the autograder
replaces any edited copy with the original). It holds everything the notebooks
provide rather than ask for:

* device choice and grading mode      -- ``pick_device``, ``grading_mode``, ``set_seed``
* Parts 1-2: the bowl                  -- ``LossFunctionWithPlot``, ``ConstantVectorNetwork``
* Part 3: data and training harness    -- ``load_dataset``, ``Supervise``, ``run_test``
* Part 4: activation statistics        -- ``layer_activations``, ``run_init_experiment``

Conventions: tensors are float32 unless stated; a network maps a batch ``(N, 36)``
to probabilities ``(N, 1)`` or ``(N,)``; every figure is a matplotlib ``Figure``
that Jupyter shows at the end of the cell. Helpers that draw return either
nothing or an object with a text summary, so that no figure is shown twice.
"""
from __future__ import annotations

import math
import os
import random
import sys
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch
from torch import nn
from tqdm import tqdm

# ---------------------------------------------------------------------------
# Configuration: the one place that says where the course files are published.
# ---------------------------------------------------------------------------

#: Where Colab fetches ``hw2utils.py`` and ``data/*.npz`` from (a folder URL
#: ending in "/"). Instructors set it once per course; ``HW2_BASE_URL`` overrides it.
BASE_URL = "https://raw.githubusercontent.com/hw2-course/hw2-training-deep-network/main/"

#: Environment variables this module reads.
ENV_BASE_URL = "HW2_BASE_URL"          # overrides BASE_URL
ENV_DEVICE = "HW2_DEVICE"              # "cpu", "cuda", "cuda:1", ...: overrides the automatic choice
ENV_GRADING = "HW2_GRADING_MODE"       # "1" forces grading mode outside nbgrader
ENV_FORCE_COLAB = "HW2_FORCE_COLAB"    # "1" makes this module behave as in Colab (tests)

#: Epochs ``run_test`` trains for in grading mode, whatever the notebook asks.
GRADING_EPOCHS = 20

DATASET_FILES = {"tiny": "tiny-classification.npz", "hard": "hard-classification.npz"}
SPLITS = ("train", "val", "test")
N_FEATURES = 36

_TRUE_WORDS = {"1", "true", "yes", "on"}


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in _TRUE_WORDS


def base_url() -> str:
    """The publishing folder URL, from ``HW2_BASE_URL`` or ``BASE_URL``, ending in "/"."""
    url = os.environ.get(ENV_BASE_URL, "").strip() or BASE_URL
    return url if url.endswith("/") else url + "/"


def in_colab() -> bool:
    """True inside Google Colab (or when ``HW2_FORCE_COLAB=1``)."""
    return ("google.colab" in sys.modules or "COLAB_RELEASE_TAG" in os.environ
            or _env_flag(ENV_FORCE_COLAB))


def grading_mode() -> bool:
    """True while nbgrader autogrades or validates, or when ``HW2_GRADING_MODE=1``.

    nbgrader sets ``NBGRADER_EXECUTION`` (``autograde`` or ``validate``) in the
    kernel it starts. Only functions and architectures are graded, never a
    training outcome, so the harness may then train for just ``GRADING_EPOCHS``.
    """
    return bool(os.environ.get("NBGRADER_EXECUTION")) or _env_flag(ENV_GRADING)


def pick_device(device: str | torch.device | None = None) -> torch.device:
    """The device to compute on: ``device`` if given, else ``$HW2_DEVICE``, else
    CUDA when available, else CPU. Asking for CUDA where there is none is an error."""
    choice = device if device is not None else os.environ.get(ENV_DEVICE, "").strip()
    if not choice:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    chosen = torch.device(choice)
    if chosen.type == "cuda" and not torch.cuda.is_available():
        raise RuntimeError(
            f"device {str(chosen)!r} was requested (argument or ${ENV_DEVICE}) but no CUDA "
            "GPU is available; use 'cpu' or unset the variable")
    return chosen


def set_seed(seed: int) -> None:
    """Seed Python's, NumPy's and PyTorch's (CPU and CUDA) random generators."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


# ---------------------------------------------------------------------------
# Parts 1-2: the bowl
# ---------------------------------------------------------------------------

BOWL_MATRIX = ((2.3, -0.3), (-0.5, 0.2))
BOWL_START = (-1.5, 1.2)


class LossFunctionWithPlot:
    """The bowl  L(x) = ||B x||_2  (the norm, not its square), which remembers its calls.

    ``B`` is 2x2, by default ``[[2.3, -0.3], [-0.5, 0.2]]``: steep along ``x[0]``,
    shallow along ``x[1]``; the minimum is L(0) = 0. From ``x0 = (-1.5, 1.2)``,
    L(x0) = 3.937. Because L is a norm, ``|grad L| = |B^T B x| / |B x|`` does not
    shrink near the minimum: a fixed step keeps overshooting it.

    Calling ``L(x)`` with ``x`` of shape ``(2,)`` returns a scalar tensor (with a
    graph, so ``backward()`` works) and appends ``x`` and the loss to ``xs`` and
    ``losses``; ``plot_history`` draws them.
    """

    def __init__(self, B: Sequence[Sequence[float]] | torch.Tensor = BOWL_MATRIX):
        self.B = torch.as_tensor(B, dtype=torch.float64)
        if self.B.shape != (2, 2):
            raise ValueError(f"B must be 2x2, got shape {tuple(self.B.shape)}")
        self.xs: list[torch.Tensor] = []
        self.losses: list[float] = []
        self.figure: plt.Figure | None = None

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape != (2,):
            raise ValueError(f"the bowl takes x of shape (2,), got {tuple(x.shape)}")
        B = self.B.to(dtype=x.dtype, device=x.device)
        loss = torch.linalg.vector_norm(B @ x)
        self.xs.append(x.detach().cpu().clone())
        self.losses.append(loss.item())
        return loss

    def reset(self) -> None:
        """Forget the recorded path."""
        self.xs.clear()
        self.losses.clear()

    def value(self, points: np.ndarray) -> np.ndarray:
        """L at many points: ``points`` (..., 2) -> (...), in NumPy (for contours)."""
        return np.linalg.norm(points @ self.B.numpy().T, axis=-1)

    def plot_history(self, grads=None, mean_grads=None, rms_grads=None) -> None:
        """Draw the path of x over the contours of L, and the loss per step (log scale).

        Given ``grads`` (shape (T, 2), one row per step), add one panel per
        coordinate with the gradient per step, a solid line at ``mean_grads[i]``
        and dashed lines at +-``rms_grads[i]`` (each of shape (2,), optional).
        The figure is kept in ``self.figure``; it is not returned, because Jupyter
        would then show it twice when the call ends a cell.
        """
        if not self.xs:
            raise RuntimeError("nothing to plot: call the loss function at least once")
        grads = None if grads is None else _as_numpy(grads, "grads")
        if grads is not None and (grads.ndim != 2 or grads.shape[1] != 2):
            raise ValueError(f"grads must have shape (steps, 2), got {grads.shape}")
        n_panels = 2 + (0 if grads is None else grads.shape[1])
        fig, axes = plt.subplots(1, n_panels, figsize=(4.2 * n_panels, 3.8))
        self._draw_path(axes[0])
        self._draw_losses(axes[1])
        if grads is not None:
            means = None if mean_grads is None else _as_numpy(mean_grads, "mean_grads")
            rmss = None if rms_grads is None else _as_numpy(rms_grads, "rms_grads")
            for i, ax in enumerate(axes[2:]):
                _draw_gradient_panel(ax, i, grads[:, i],
                                     None if means is None else float(means[i]),
                                     None if rmss is None else float(rmss[i]))
        fig.tight_layout()
        self.figure = fig

    def _draw_path(self, ax) -> None:
        path = torch.stack(self.xs).double().numpy()
        # The view covers the path and the minimum, with a margin, so both show.
        corners = np.vstack([path, np.zeros((1, 2))])
        low, high = corners.min(axis=0), corners.max(axis=0)
        pad = 0.15 * (high - low).max() + 0.1
        g0, g1 = np.meshgrid(np.linspace(low[0] - pad, high[0] + pad, 200),
                             np.linspace(low[1] - pad, high[1] + pad, 200))
        surface = self.value(np.stack([g0, g1], axis=-1))
        ax.contour(g0, g1, surface, levels=15, cmap="viridis", linewidths=0.8)
        ax.plot(path[:, 0], path[:, 1], "o-", color="tab:red", markersize=3, linewidth=1,
                label="path of x")
        ax.plot([0], [0], "k*", markersize=10, label="minimum")
        ax.set(xlabel="x[0]", ylabel="x[1]", title="Path on the loss surface")
        ax.legend(loc="best", fontsize="small")

    def _draw_losses(self, ax) -> None:
        ax.plot(np.arange(len(self.losses)), self.losses, "o-", markersize=3)
        ax.set_yscale("log")
        ax.set(xlabel="step", ylabel="L(x)", title="Loss per step")


def _as_numpy(values, name: str) -> np.ndarray:
    if isinstance(values, torch.Tensor):
        values = values.detach().cpu().double().numpy()
    array = np.asarray(values, dtype=float)
    if name != "grads" and array.shape != (2,):
        raise ValueError(f"{name} must have shape (2,), got {array.shape}")
    return array


def _draw_gradient_panel(ax, i: int, series: np.ndarray, mean: float | None,
                         rms: float | None) -> None:
    ax.plot(np.arange(len(series)), series, ".-", color="tab:blue", label=f"dL/dx[{i}]")
    if mean is not None:
        ax.axhline(mean, color="tab:green", label=f"mean {mean:.4f}")
    if rms is not None:
        ax.axhline(rms, color="tab:orange", linestyle="--", label=f"+-RMS {rms:.4f}")
        ax.axhline(-rms, color="tab:orange", linestyle="--")
    ax.axhline(0, color="black", linewidth=0.5)
    ax.set(xlabel="step", title=f"Gradient along x[{i}]")
    ax.legend(loc="best", fontsize="small")


class ConstantVectorNetwork(nn.Module):
    """A "network" whose parameters are the given scalars and whose output is them,
    stacked: ``ConstantVectorNetwork(-1.5, 1.2)()`` is ``tensor([-1.5, 1.2])`` with a
    graph back to two parameters of shape (). It lets an optimizer, which only sees
    ``.parameters()``, walk the bowl: ``loss = L(net())``."""

    def __init__(self, *values: float):
        super().__init__()
        if not values:
            raise ValueError("give at least one value")
        self.values = nn.ParameterList(nn.Parameter(torch.tensor(float(v))) for v in values)

    def forward(self) -> torch.Tensor:
        return torch.stack(list(self.values))


# ---------------------------------------------------------------------------
# Part 3: data
# ---------------------------------------------------------------------------

@dataclass(frozen=True, repr=False)
class Dataset:
    """One dataset's three splits, as float32 tensors on one device.

    ``*_data`` has shape (N, 36): bits in {0., 1.} read as a row-major 6x6 grid;
    ``*_labels`` has shape (N,): {0., 1.}. Train on train, watch val; test is
    held back.
    """
    name: str
    train_data: torch.Tensor
    train_labels: torch.Tensor
    val_data: torch.Tensor
    val_labels: torch.Tensor
    test_data: torch.Tensor
    test_labels: torch.Tensor

    def __repr__(self) -> str:
        sizes = ", ".join(f"{s} {len(getattr(self, s + '_labels'))}" for s in SPLITS)
        return (f"Dataset({self.name!r}: {sizes}; {self.train_data.shape[1]} features; "
                f"device {self.train_data.device})")


def dataset_url(name: str) -> str:
    """Where Colab downloads dataset ``name`` from."""
    return base_url() + "data/" + _dataset_file(name)


def _dataset_file(name: str) -> str:
    if name not in DATASET_FILES:
        raise ValueError(f"unknown dataset {name!r}; choose one of {sorted(DATASET_FILES)}")
    return DATASET_FILES[name]


def _search_dirs(data_dir: str | os.PathLike | None) -> list[Path]:
    if data_dir is not None:
        return [Path(data_dir)]
    here = Path(__file__).resolve().parent
    return list(dict.fromkeys([here / "data", Path.cwd() / "data", Path.cwd()]))


def load_dataset(name: str = "tiny", device: str | torch.device | None = None,
                 data_dir: str | os.PathLike | None = None,
                 download: bool | None = None) -> Dataset:
    """Load dataset ``name`` ("tiny" or "hard") as float32 tensors on ``device``.

    Looks for ``data/<file>.npz`` beside this module, then in ``./data`` and ``.``
    (or only in ``data_dir`` if given). If it is in none of them and ``download``
    is true -- by default only in Colab -- it fetches ``dataset_url(name)`` into
    ``./data`` (or ``data_dir``). Raises ``FileNotFoundError`` naming the file, the
    folders searched and the URL when neither works, and ``ValueError`` when the
    file is not a complete dataset.
    """
    filename = _dataset_file(name)
    dirs = _search_dirs(data_dir)
    path = next((d / filename for d in dirs if (d / filename).is_file()), None)
    if path is None:
        url = dataset_url(name)
        if download if download is not None else in_colab():
            path = _download(url, (Path(data_dir) if data_dir else Path.cwd() / "data") / filename)
        else:
            raise FileNotFoundError(
                f"dataset file {filename!r} not found in {', '.join(map(str, dirs))}. "
                f"Download it from {url} into a 'data' folder next to your notebook, "
                f"or call load_dataset({name!r}, download=True).")
    arrays = _read_npz(path)
    device = pick_device(device)
    tensors = {key: torch.as_tensor(value, dtype=torch.float32).to(device)
               for key, value in arrays.items()}
    return Dataset(name=name, **tensors)


def _download(url: str, dest: Path) -> Path:
    """Fetch ``url`` to ``dest`` atomically (a failed download leaves no partial file)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    try:
        with urllib.request.urlopen(url, timeout=60) as response:
            payload = response.read()
    except (urllib.error.URLError, OSError) as err:
        reason = (f"HTTP {err.code} {err.reason}" if isinstance(err, urllib.error.HTTPError)
                  else getattr(err, "reason", err))
        raise FileNotFoundError(
            f"could not download {dest.name!r} from {url} ({reason}). Check the "
            "notebook's internet connection (Colab: Runtime > Restart session, then run "
            "the setup cell again) or upload the file into a 'data' folder by hand.") from err
    with tempfile.NamedTemporaryFile(dir=dest.parent, delete=False, suffix=".part") as tmp:
        tmp.write(payload)
    os.replace(tmp.name, dest)
    return dest


def _read_npz(path: Path) -> dict[str, np.ndarray]:
    """Read and validate a dataset file: every split present, non-empty, 36
    features, labels in {0, 1}, as many labels as examples."""
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {key: npz[key] for key in npz.files}
    except Exception as err:  # a truncated download or an HTML error page saved as .npz
        raise ValueError(f"{path} is not a readable .npz dataset ({err}); delete it and "
                         "download it again") from err
    problems = []
    for split in SPLITS:
        data, labels = arrays.get(f"{split}_data"), arrays.get(f"{split}_labels")
        if data is None or labels is None:
            problems.append(f"missing {split}_data or {split}_labels")
        elif data.ndim != 2 or data.shape[0] == 0 or data.shape[1] != N_FEATURES:
            problems.append(f"{split}_data has shape {data.shape}, expected (N>0, {N_FEATURES})")
        elif labels.shape != (data.shape[0],):
            problems.append(f"{split}_labels has shape {labels.shape}, expected ({data.shape[0]},)")
        elif not np.isin(labels, (0, 1)).all():
            problems.append(f"{split}_labels holds values other than 0 and 1")
    if problems:
        raise ValueError(f"{path} is not a complete dataset: " + "; ".join(problems))
    return {f"{s}_{part}": arrays[f"{s}_{part}"] for s in SPLITS for part in ("data", "labels")}


# ---------------------------------------------------------------------------
# Part 3: training harness
# ---------------------------------------------------------------------------

class Supervise(nn.Module):
    """Pairs a network with a loss: ``Supervise(criterion, net)(x, y)`` is
    ``criterion(net(x).squeeze(-1), y)``, a scalar. ``x``: (N, 36); ``y``: (N,).
    The network, ``.net``, must output probabilities (end in a Sigmoid)."""

    def __init__(self, criterion: nn.Module, net: nn.Module):
        super().__init__()
        self.criterion = criterion
        self.net = net

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self.criterion(self.net(x).squeeze(-1), y)


@dataclass(repr=False)
class TrainingHistory:
    """What ``run_test`` saw. Per epoch: ``losses``. Per evaluation (every
    ``test_every`` epochs and at the last): ``eval_epochs``, ``train_accs``,
    ``val_accs`` and ``grad_ranges`` -- (largest, smallest) over parameter
    tensors of max |gradient|; a tiny smallest value means vanishing gradients."""
    n_parameters: int
    epochs_run: int = 0
    losses: list[float] = field(default_factory=list)
    eval_epochs: list[int] = field(default_factory=list)
    train_accs: list[float] = field(default_factory=list)
    val_accs: list[float] = field(default_factory=list)
    grad_ranges: list[tuple[float, float]] = field(default_factory=list)
    solved_epoch: int | None = None
    figure: plt.Figure | None = None

    @property
    def train_acc(self) -> float:
        """Training accuracy at the last evaluation."""
        return self.train_accs[-1]

    @property
    def val_acc(self) -> float:
        """Held-out (val) accuracy at the last evaluation."""
        return self.val_accs[-1]

    def __repr__(self) -> str:
        solved = f"epoch {self.solved_epoch}" if self.solved_epoch else "no"
        return (f"TrainingHistory(epochs_run={self.epochs_run}, train_acc={self.train_acc:.4f}, "
                f"val_acc={self.val_acc:.4f}, reached 100% held-out: {solved})")


@torch.no_grad()
def accuracy(net: nn.Module, data: torch.Tensor, labels: torch.Tensor) -> float:
    """Share of examples where ``net(data) > 0.5`` equals the label; ``net`` in eval mode."""
    was_training = net.training
    net.eval()
    try:
        predictions = net(data).squeeze(-1) > 0.5
        return (predictions == labels.bool()).float().mean().item()
    finally:
        net.train(was_training)


def _gradient_range(parameters: Iterable[torch.Tensor]) -> tuple[float, float]:
    peaks = [p.grad.detach().abs().max() for p in parameters if p.grad is not None]
    if not peaks:
        return (0.0, 0.0)
    peaks = torch.stack(peaks)
    return (peaks.max().item(), peaks.min().item())


def run_test(model: Supervise, optmaker: Callable[[Iterable[nn.Parameter]], object],
             epochs: int = 2000, test_every: int = 10, data: Dataset | None = None,
             device: str | torch.device | None = None, progress: bool = True,
             plot: bool = True) -> TrainingHistory:
    """Train ``model`` full-batch on ``data``'s train split and watch its val split.

    Each epoch: ``zero_grad``, loss on all training examples, ``backward``, ``step``
    with ``optimizer = optmaker(model.parameters())``. Every ``test_every`` epochs
    (and after the last) it measures train and held-out accuracy with the network
    in ``eval()`` mode under ``torch.no_grad()``, then returns to ``train()`` mode;
    it stops early once held-out accuracy is 100 %.

    ``data`` defaults to ``load_dataset("tiny")``; model and data move to
    ``pick_device(device)``. In grading mode (see ``grading_mode``) it trains at
    most ``GRADING_EPOCHS`` epochs: graders check code, not training outcomes.
    Shows a one-line progress bar and, if ``plot``, a loss/accuracy figure
    (kept in the returned history's ``figure``).
    """
    if not isinstance(getattr(model, "net", None), nn.Module):
        raise TypeError("run_test trains a Supervise(criterion, net); wrap your network, "
                        "e.g. run_test(Supervise(nn.BCELoss(), net), optmaker)")
    if epochs < 1 or test_every < 1:
        raise ValueError(f"epochs and test_every must be at least 1, got {epochs} and {test_every}")
    if grading_mode() and epochs > GRADING_EPOCHS:
        print(f"Grading mode: training for {GRADING_EPOCHS} epochs instead of {epochs}.")
        epochs = GRADING_EPOCHS
    device = pick_device(device)
    data = load_dataset("tiny", device=device) if data is None else data
    x, y = data.train_data.to(device), data.train_labels.to(device)
    x_val, y_val = data.val_data.to(device), data.val_labels.to(device)
    model.to(device).train()
    optimizer = optmaker(model.parameters())
    history = TrainingHistory(n_parameters=sum(p.numel() for p in model.net.parameters()))
    print(f"{history.n_parameters} parameters, training on {len(y)} examples ({device})")

    losses = []  # detached tensors: reading each with .item() would sync the GPU every epoch
    bar = tqdm(total=epochs, file=sys.stdout, disable=not progress, mininterval=0.5,
               unit="epoch", dynamic_ncols=True, leave=True)
    with bar:
        for epoch in range(1, epochs + 1):
            optimizer.zero_grad()
            loss = model(x, y)
            loss.backward()
            evaluate = epoch % test_every == 0 or epoch == epochs
            if evaluate:
                history.grad_ranges.append(_gradient_range(model.parameters()))
            optimizer.step()
            losses.append(loss.detach())
            bar.update()
            if evaluate:
                history.eval_epochs.append(epoch)
                history.train_accs.append(accuracy(model.net, x, y))
                history.val_accs.append(accuracy(model.net, x_val, y_val))
                bar.set_postfix(loss=f"{loss.item():.4f}", train=f"{history.train_accs[-1]:.3f}",
                                val=f"{history.val_accs[-1]:.3f}", refresh=False)
                if history.val_accs[-1] == 1.0:
                    history.solved_epoch = epoch
                    break
    history.epochs_run = len(losses)
    history.losses = torch.stack(losses).tolist()
    high, low = history.grad_ranges[-1]
    print(f"Epoch {history.epochs_run}: loss {history.losses[-1]:.5f}, gradient range "
          f"{high:.1e} to {low:.1e}, train accuracy {history.train_acc:.4f}, "
          f"held-out accuracy {history.val_acc:.4f}")
    if plot:
        history.figure = plot_training(history)
    return history


def plot_training(history: TrainingHistory) -> plt.Figure:
    """Training loss per epoch (left axis, log scale) and train / held-out accuracy
    per evaluation (right axis, 0 to 1). Returns the figure."""
    fig, ax_loss = plt.subplots(figsize=(7, 4))
    ax_acc = ax_loss.twinx()
    ax_loss.plot(np.arange(1, len(history.losses) + 1), history.losses, color="tab:blue",
                 label="training loss")
    ax_loss.set_yscale("log")
    ax_acc.plot(history.eval_epochs, history.train_accs, color="tab:orange",
                label="training accuracy")
    ax_acc.plot(history.eval_epochs, history.val_accs, color="tab:red",
                label="held-out accuracy")
    ax_acc.set_ylim(0.0, 1.02)
    ax_loss.set(xlabel="epoch", ylabel="loss")
    ax_acc.set_ylabel("accuracy")
    fig.legend(loc="lower left", bbox_to_anchor=(0, 0), bbox_transform=ax_loss.transAxes,
               fontsize="small")
    fig.tight_layout()
    return fig


# ---------------------------------------------------------------------------
# Part 4: activation statistics under different initializations
# ---------------------------------------------------------------------------

InitFunction = Callable[[int, int, torch.Generator], torch.Tensor]


def layer_activations(weights: Sequence[torch.Tensor], x: torch.Tensor,
                      nonlinearity: Callable[[torch.Tensor], torch.Tensor] = torch.tanh,
                      ) -> list[torch.Tensor]:
    """Forward pass without biases: a_0 = x, a_k = nonlinearity(a_{k-1} @ W_k).

    ``x``: (batch, n_0); ``weights[k-1]``: (n_{k-1}, n_k). Returns [a_1, ..., a_L]."""
    activations, a = [], x
    for W in weights:
        a = nonlinearity(a @ W)
        activations.append(a)
    return activations


@dataclass(repr=False)
class InitExperiment:
    """Activations of each layer (``activations[k]``: (batch, width)) and the figure."""
    activations: list[torch.Tensor]
    figure: plt.Figure | None = None

    @property
    def stds(self) -> list[float]:
        """Standard deviation of each layer's activations."""
        return [a.std().item() for a in self.activations]

    def __repr__(self) -> str:
        rows = [f"  layer {k}: mean {a.mean().item():+.4f}, std {a.std().item():.4f}"
                for k, a in enumerate(self.activations, start=1)]
        return "InitExperiment(\n" + "\n".join(rows) + "\n)"


def run_init_experiment(init_fn: InitFunction, nonlinearity: str = "tanh",
                        n_layers: int = 7, width: int = 2048, batch: int = 16,
                        seed: int = 0, plot: bool = True) -> InitExperiment:
    """Push ``batch`` standard-normal inputs through ``n_layers`` layers of ``width``
    units whose weights come from ``init_fn(n_in, n_out, generator)`` -> (n_in, n_out),
    with ``nonlinearity`` "tanh" or "relu"; plot each layer's activation histogram
    against the standard normal density. Runs on the CPU with a generator seeded
    by ``seed``, so the same seed gives the same numbers anywhere."""
    nonlinearities = {"tanh": torch.tanh, "relu": torch.relu}
    if nonlinearity not in nonlinearities:
        raise ValueError(f"nonlinearity must be one of {sorted(nonlinearities)}")
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(batch, width, generator=generator)
    weights = []
    for _ in range(n_layers):
        W = torch.as_tensor(init_fn(width, width, generator), dtype=torch.float32)
        if W.shape != (width, width):
            raise ValueError(f"{getattr(init_fn, '__name__', 'init_fn')}({width}, {width}, "
                             f"generator) must return shape ({width}, {width}), got {tuple(W.shape)}")
        weights.append(W)
    experiment = InitExperiment(layer_activations(weights, x, nonlinearities[nonlinearity]))
    if plot:
        experiment.figure = plot_activation_histograms(experiment.activations)
    return experiment


def plot_activation_histograms(activations: Sequence[torch.Tensor]) -> plt.Figure:
    """One panel per layer: a density histogram of its activations and, dashed,
    the standard normal density N(0, 1) for scale. Returns the figure."""
    fig, axes = plt.subplots(len(activations), 1, figsize=(7, 1.7 * len(activations)),
                             sharex=True, squeeze=False)
    values = [a.detach().cpu().double().flatten().numpy() for a in activations]
    reach = max(1.0, max(np.abs(v).max() for v in values))
    grid = np.linspace(-reach, reach, 400)
    normal_pdf = np.exp(-grid**2 / 2) / math.sqrt(2 * math.pi)
    for k, (ax, v) in enumerate(zip(axes[:, 0], values), start=1):
        ax.hist(v, bins=100, range=(-reach, reach), density=True, color="tab:blue", alpha=0.7,
                label=f"layer {k} (std {v.std():.3g})")
        ax.plot(grid, normal_pdf, "r--", linewidth=1, label="N(0, 1)")
        ax.legend(loc="upper right", fontsize="small")
    axes[-1, 0].set_xlabel("activation")
    fig.tight_layout()
    return fig


# ---------------------------------------------------------------------------
# Visible checks: each "Check that ..." cell calls one of these with a few fixed
# cases. They print one line on success and raise AssertionError naming the case,
# expected vs got, the tolerance and a hint on failure. The autograder's hidden
# tests check the same aspects on fresh cases. References here are PyTorch's own
# (torch.optim.SGD, torch.optim.Adam) or numbers fixed in advance, never a solution.
# ---------------------------------------------------------------------------

def _fail(test_id: str, case: str, detail: str, hint: str):
    raise AssertionError(f"{test_id}, case {case}: {detail}\nHint: {hint}")


def _expect_close(test_id: str, case: str, expected, got, tol: float, hint: str) -> None:
    """Fail unless ``got`` has ``expected``'s shape and max |got - expected| <= tol."""
    expected = torch.as_tensor(expected).detach().double().cpu()
    try:
        got = torch.as_tensor(got.detach() if isinstance(got, torch.Tensor) else got)
        got = got.double().cpu()
    except (TypeError, ValueError, RuntimeError):
        _fail(test_id, case, f"expected a number or tensor, got {type(got).__name__}", hint)
    if got.shape != expected.shape:
        _fail(test_id, case, f"expected shape {tuple(expected.shape)}, got {tuple(got.shape)}", hint)
    diff = (got - expected).abs().max().item() if got.numel() else 0.0
    if not math.isfinite(diff) or diff > tol:
        _fail(test_id, case, f"expected {_show(expected)}, got {_show(got)}; max |diff| "
              f"{diff:.2e} > tolerance {tol:.0e}", hint)


def _show(t: torch.Tensor) -> str:
    values = t.flatten()[:6].tolist()
    text = ", ".join(f"{v:.6g}" for v in values)
    return f"[{text}{', ...' if t.numel() > 6 else ''}]" if t.dim() else f"{t.item():.6g}"


def _passed(test_id: str, n_cases: int) -> None:
    print(f"{test_id}: {n_cases}/{n_cases} cases passed")


def _torch_sgd_path(loss_fn: Callable, start, lr, steps: int) -> list[torch.Tensor]:
    """The points torch.optim.SGD visits on ``loss_fn`` (for checking a hand-written loop).
    A per-coordinate ``lr`` is done by scaling the gradient, which equals it step for step."""
    x = torch.tensor(start, dtype=torch.float64, requires_grad=True)
    scale = torch.as_tensor(lr, dtype=torch.float64)
    optimizer = torch.optim.SGD([x], lr=1.0)
    path = []
    for _ in range(steps):
        path.append(x.detach().clone())
        optimizer.zero_grad()
        loss_fn(x).backward()
        x.grad.mul_(scale)
        optimizer.step()
    return path


# Part 1 -------------------------------------------------------------------

#: Task 1.2 threshold: the best single learning rate ends 50 steps at L ~ 0.105.
PER_DIM_LR_THRESHOLD = 0.05


def check_gd_loop__matches_reference(descend: Callable) -> None:
    """``descend(loss_fn, x, lr, steps)`` visits the points torch.optim.SGD visits."""
    test_id = "gd_loop__matches_reference"
    cases = [("bowl, lr 0.1, 6 steps", BOWL_MATRIX, BOWL_START, 0.1, 6),
             ("bowl, lr 0.02, 4 steps", BOWL_MATRIX, (0.5, -2.0), 0.02, 4),
             ("round bowl, lr 0.3, 3 steps", ((1.0, 0.0), (0.0, 1.0)), (1.0, 1.0), 0.3, 3)]
    for case, B, start, lr, steps in cases:
        L = LossFunctionWithPlot(B)
        x = torch.tensor(start, dtype=torch.float64, requires_grad=True)
        descend(L, x, lr, steps)
        expected = _torch_sgd_path(LossFunctionWithPlot(B), start, lr, steps)
        if len(L.xs) != steps:
            _fail(test_id, case, f"expected {steps} calls of loss_fn, got {len(L.xs)}",
                  "call loss_fn(x) once per step, then backward(), then update x")
        _expect_close(test_id, case, torch.stack(expected), torch.stack(L.xs), 1e-9,
                      "each step is x <- x - lr * x.grad, using the gradient of this step only: "
                      "clear x.grad after the update, or gradients pile up")
    _passed(test_id, len(cases))


def check_gd_loop__in_place(descend: Callable) -> None:
    """``descend`` updates the given leaf tensor in place and leaves no stale gradient."""
    test_id = "gd_loop__in_place"
    x = torch.tensor(BOWL_START, dtype=torch.float64, requires_grad=True)
    returned = descend(LossFunctionWithPlot(), x, 0.1, 3)
    hint = "update x in place (x -= ...) inside torch.no_grad(), then set x.grad = None"
    if returned is not x:
        _fail(test_id, "return value", "expected descend to return the same tensor x it was given", hint)
    if not (x.is_leaf and x.requires_grad):
        _fail(test_id, "x after descend", "x is no longer a leaf that requires grad", hint)
    if torch.equal(x.detach(), torch.tensor(BOWL_START, dtype=torch.float64)):
        _fail(test_id, "x after descend", "x did not move", hint)
    if x.grad is not None and x.grad.abs().max().item() != 0:
        _fail(test_id, "x.grad after descend", f"expected None or zeros, got {_show(x.grad)}", hint)
    _passed(test_id, 4)


def check_gd_loop__tensor_lr(descend: Callable) -> None:
    """``descend`` accepts one learning rate per coordinate (a tensor of x's shape)."""
    test_id = "gd_loop__tensor_lr"
    lr = torch.tensor([0.03, 0.8], dtype=torch.float64)
    L = LossFunctionWithPlot()
    descend(L, torch.tensor(BOWL_START, dtype=torch.float64, requires_grad=True), lr, 5)
    expected = _torch_sgd_path(LossFunctionWithPlot(), BOWL_START, lr, 5)
    _expect_close(test_id, "lr (0.03, 0.8), 5 steps", torch.stack(expected), torch.stack(L.xs),
                  1e-9, "multiply the gradient by lr elementwise: lr * x.grad works for a "
                  "float and for a tensor of x's shape")
    _passed(test_id, 1)


def final_loss_with(lr, steps: int = 50) -> float:
    """L after ``steps`` steps of gradient descent from x0 on the bowl with learning rate(s) ``lr``."""
    path = _torch_sgd_path(LossFunctionWithPlot(), BOWL_START, lr, steps + 1)
    return LossFunctionWithPlot()(path[-1]).item()


def check_per_dim_lr__beats_single_lr(lr_pair) -> None:
    """``lr_pair`` (2 positive numbers) ends 50 steps below ``PER_DIM_LR_THRESHOLD``."""
    test_id = "per_dim_lr__beats_single_lr"
    pair = torch.as_tensor(lr_pair, dtype=torch.float64)
    if pair.shape != (2,) or not bool((pair > 0).all()):
        _fail(test_id, "format", f"expected two positive learning rates, got {lr_pair!r}",
              "e.g. lr_pair = torch.tensor([0.1, 0.5])")
    loss = final_loss_with(pair)
    if not loss < PER_DIM_LR_THRESHOLD:
        _fail(test_id, f"lr {pair.tolist()}", f"final loss {loss:.4f} is not below "
              f"{PER_DIM_LR_THRESHOLD}", "x[0] sits in a steep direction and x[1] in a shallow "
              "one: search a small grid of pairs with final_loss_with(...)")
    print(f"{test_id}: final loss {loss:.4f} < {PER_DIM_LR_THRESHOLD}")


def _toy_parameters(seed: int, dtype=torch.float64) -> list[torch.Tensor]:
    """Three leaf tensors of different shapes: (), (3,) and (2, 3)."""
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(shape, generator=g, dtype=dtype).requires_grad_()
            for shape in [(), (3,), (2, 3)]]


def _toy_loss(params: Sequence[torch.Tensor]) -> torch.Tensor:
    """A smooth loss of _toy_parameters whose gradients differ in size and sign."""
    scalar, vector, matrix = params
    return ((matrix @ vector - 1.0) ** 2).sum() + 0.1 * scalar ** 4 + (vector * scalar).sin().sum()


def _run_optimizer(make, params, steps: int) -> list[list[torch.Tensor]]:
    """Parameters after each of ``steps`` optimizer steps on _toy_loss."""
    optimizer = make(iter(params))  # an iterator, as net.parameters() is: it can be read once
    trajectory = []
    for _ in range(steps):
        optimizer.zero_grad()
        _toy_loss(params).backward()
        optimizer.step()
        trajectory.append([p.detach().clone() for p in params])
    return trajectory


def _check_against_torch(test_id: str, student_cls, torch_cls, cases, steps: int, hint: str) -> None:
    """Compare ``student_cls(params, **kw)`` with ``torch_cls(params, **kw)`` step by step."""
    for kwargs in cases:
        case = ", ".join(f"{k}={v}" for k, v in kwargs.items()) + f", {steps} steps"
        got = _run_optimizer(lambda p: student_cls(p, **kwargs), _toy_parameters(0), steps)
        expected = _run_optimizer(lambda p: torch_cls(p, **kwargs), _toy_parameters(0), steps)
        for step, (g_params, e_params) in enumerate(zip(got, expected), start=1):
            for index, (g, e) in enumerate(zip(g_params, e_params)):
                _expect_close(test_id, f"{case}: parameter {index} {tuple(e.shape)} after step {step}",
                              e, g, 1e-6, hint)
    _passed(test_id, len(cases))


def check_sgd_optimizer__matches_torch(SimpleGradientDescent) -> None:
    """``SimpleGradientDescent`` without weight decay equals torch.optim.SGD."""
    _check_against_torch("sgd_optimizer__matches_torch", SimpleGradientDescent, torch.optim.SGD,
                         [{"lr": 0.1}, {"lr": 0.03}], steps=4,
                         hint="step() does p -= lr * p.grad for every parameter, in place under "
                              "torch.no_grad(); keep the parameters in a list (parameters may be "
                              "a generator that can be read only once)")


def check_sgd_optimizer__weight_decay(SimpleGradientDescent) -> None:
    """``SimpleGradientDescent`` with weight decay equals torch.optim.SGD(weight_decay=...)."""
    _check_against_torch("sgd_optimizer__weight_decay", SimpleGradientDescent, torch.optim.SGD,
                         [{"lr": 0.1, "weight_decay": 0.1}, {"lr": 0.05, "weight_decay": 1e-3}],
                         steps=4,
                         hint="weight decay adds weight_decay * p to the gradient (your answer "
                              "to 1.D), and the learning rate scales the whole gradient, decay "
                              "included (1.E)")


def check_sgd_optimizer__zero_grad(SimpleGradientDescent) -> None:
    """``zero_grad()`` clears every parameter's gradient (to None or zeros)."""
    test_id = "sgd_optimizer__zero_grad"
    params = _toy_parameters(1)
    optimizer = SimpleGradientDescent(iter(params), lr=0.1)
    _toy_loss(params).backward()
    optimizer.zero_grad()
    for index, p in enumerate(params):
        if p.grad is not None and p.grad.abs().max().item() != 0:
            _fail(test_id, f"parameter {index}", f"gradient not cleared: {_show(p.grad)}",
                  "loop over the list of parameters you stored and set p.grad = None")
    _passed(test_id, 1)


# Part 2 -------------------------------------------------------------------
# end of Part 2 checks


# Part 3 -------------------------------------------------------------------
# end of Part 3 checks


# Part 4 and extra credit --------------------------------------------------
# end of Part 4 checks
