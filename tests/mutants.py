"""The mutation corpus: deliberately wrong answers to the HW2 notebooks, most of them mistakes
real students made, each graded by tests/test_mutation_corpus.py through the batch grader.

A mutant is the reference submission (the release with source/hw2/<notebook>.ipynb's answers
typed in, ``load``) with one text replacement
in the source of one answer cell, found by its grade id (``old`` and ``new`` may be tuples,
for a mistake that needs several edits of that cell). Each ``old`` must occur exactly once in
its cell, so that the corpus breaks loudly when a solution is rewritten.

A mutant must lose points on the test cells of its ``task`` (a grade-id prefix) and on no
other cell of its notebook, and a failing cell of its task must say ``says`` (case-insensitive)
in its error output: the diagnostic a student reads names the mistake.

``EQUIVALENTS`` are correct answers written differently; they keep full marks.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from pathlib import Path

from autograder.integrity import answered_release

ROOT = Path(__file__).resolve().parents[1]
SOURCE, RELEASE = ROOT / "source" / "hw2", ROOT / "release" / "hw2"

NB1, NB2, NB3, NB4 = "01_gradient_descent", "02_ema_adam", "03_training", "04_initialization"


@dataclass(frozen=True)
class Mutant:
    name: str  # the test id: letters, digits, underscores
    notebook: str  # source/hw2/<notebook>.ipynb
    cell: str  # grade id of the answer cell edited
    old: str | tuple  # text replaced (each exactly once in the cell)
    new: str | tuple  # its replacement
    task: str  # grade-id prefix of the test cells that must lose points
    says: str  # what the failing cell's error output must contain
    mistake: str = ""  # the mistake, in words
    cuda_only: bool = False  # the checks can tell it from the reference only on a CUDA machine

    def edits(self) -> list[tuple[str, str]]:
        olds = self.old if isinstance(self.old, tuple) else (self.old,)
        news = self.new if isinstance(self.new, tuple) else (self.new,)
        assert len(olds) == len(news), self.name
        return list(zip(olds, news))


def load(notebook: str) -> dict:
    """The reference submission of ``notebook``: the release with every answer right."""
    return answered_release(
        json.loads((RELEASE / f"{notebook}.ipynb").read_text()),
        json.loads((SOURCE / f"{notebook}.ipynb").read_text()),
    )


def write_reference(folder: Path, notebooks=(NB1, NB2, NB3, NB4)) -> None:
    """Hand in the reference submission of each of ``notebooks`` into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    for notebook in notebooks:
        (folder / f"{notebook}.ipynb").write_text(json.dumps(load(notebook), indent=1))


def answer_cell(nb: dict, grade_id: str) -> dict:
    cells = [
        c
        for c in nb["cells"]
        if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") == grade_id
    ]
    assert len(cells) == 1, f"{len(cells)} cells with grade id {grade_id!r}"
    assert cells[0]["metadata"]["nbgrader"].get("solution"), f"{grade_id} is not an answer cell"
    return cells[0]


def apply(nb: dict, cell: str, edits) -> dict:
    """A copy of ``nb`` whose answer cell ``cell`` has each (old, new) replaced, once."""
    nb = copy.deepcopy(nb)
    target = answer_cell(nb, cell)
    source = "".join(target["source"])
    for old, new in edits:
        count = source.count(old)
        assert count == 1, f"{cell}: {old!r} occurs {count} times in the answer cell"
        source = source.replace(old, new)
    target["source"] = source.splitlines(keepends=True)
    return nb


def mutated(mutant: Mutant) -> dict:
    return apply(load(mutant.notebook), mutant.cell, mutant.edits())


# Pieces of the reference solutions ---------------------------------------------------------

SGD_UPDATE = "p -= self.lr * (p.grad + self.weight_decay * p)"
ZERO_GRAD_LOOP = "for p in self.parameters:\n            p.grad = None"
ADAM_MOMENTS = """\
                m, new_m_star = ema_update(g, self.beta1, self.t, m_star)
                v, new_v_star = ema_update(g * g, self.beta2, self.t, v_star)
                m_star.copy_(new_m_star)
                v_star.copy_(new_v_star)
"""
ADAM_UPDATE = "p -= self.lr * m / (v.sqrt() + self.eps)"
ADAM_GRADIENT = "g = p.grad + self.weight_decay * p"
ADAM_CLASS_HEADER = "class ADAMOptimizer:\n"


MUTANTS = [
    # Part 1, Task 1.1: gradient descent by hand --------------------------------------------
    Mutant(
        "gd_ascends",
        NB1,
        "gd_loop",
        "x -= lr * x.grad",
        "x += lr * x.grad",
        "gd_loop",
        "uphill",
        "steps along +gradient (ascent)",
    ),
    Mutant(
        "gd_no_lr",
        NB1,
        "gd_loop",
        "x -= lr * x.grad",
        "x -= x.grad",
        "gd_loop",
        "lr is missing",
        "forgets the learning rate",
    ),
    Mutant(
        "gd_grad_not_cleared",
        NB1,
        "gd_loop",
        "        x.grad = None\n",
        "",
        "gd_loop",
        "never cleared",
        "x.grad is never cleared, so gradients pile up",
    ),
    Mutant(
        "gd_extra_step",
        NB1,
        "gd_loop",
        "range(steps)",
        "range(steps + 1)",
        "gd_loop",
        "loss_fn was called",
        "one step too many",
    ),
    Mutant(
        "gd_rebinds_x",
        NB1,
        "gd_loop",
        "x -= lr * x.grad",
        "x = (x - lr * x.grad).detach().requires_grad_()",
        "gd_loop__in_place",
        "in place",
        "rebinds x to a new tensor instead of updating it in place",
    ),
    # Task 1.2: one learning rate per coordinate
    Mutant(
        "per_dim_lr_swapped",
        NB1,
        "per_dim_lr",
        "torch.tensor([0.034, 1.0])",
        "torch.tensor([1.0, 0.034])",
        "per_dim_lr",
        "swapped",
        "the small rate on the shallow coordinate and the large one on the steep one",
    ),
    # Task 1.3: SGD with weight decay
    Mutant(
        "sgd_decay_outside_lr",
        NB1,
        "sgd_optimizer",
        SGD_UPDATE,
        "p -= self.lr * p.grad + self.weight_decay * p",
        "sgd_optimizer__weight_decay",
        "outside the learning rate",
        "x -= lr*g + wd*x",
    ),
    Mutant(
        "sgd_decay_sign_flipped",
        NB1,
        "sgd_optimizer",
        SGD_UPDATE,
        "p -= self.lr * (p.grad - self.weight_decay * p)",
        "sgd_optimizer__weight_decay",
        "wrong sign",
        "x -= lr*(g - wd*x)",
    ),
    Mutant(
        "sgd_decay_abs",
        NB1,
        "sgd_optimizer",
        SGD_UPDATE,
        "p -= self.lr * (p.grad + self.weight_decay * p.abs())",
        "sgd_optimizer__weight_decay",
        "|p|",
        "wd*|x| instead of wd*x",
    ),
    Mutant(
        "sgd_reads_global_decay",
        NB1,
        "sgd_optimizer",
        ("class SimpleGradientDescent:\n", SGD_UPDATE),
        (
            "weight_decay = 1e-3\n\n\nclass SimpleGradientDescent:\n",
            "p -= self.lr * (p.grad + weight_decay * p)",
        ),
        "sgd_optimizer",
        "global variable weight_decay",
        "step() reads the notebook's global weight_decay instead of self.weight_decay",
    ),
    Mutant(
        "sgd_keeps_generator",
        NB1,
        "sgd_optimizer",
        "self.parameters = list(parameters)",
        "self.parameters = parameters",
        "sgd_optimizer",
        "list(parameters)",
        "keeps the generator net.parameters(), which is exhausted after one pass",
    ),
    Mutant(
        "sgd_zero_grad_crashes",
        NB1,
        "sgd_optimizer",
        ZERO_GRAD_LOOP,
        "for p in self.parameters():\n            p.grad = None",
        "sgd_optimizer__zero_grad",
        "zero_grad() raised",
        "zero_grad calls the stored list",
    ),
    Mutant(
        "sgd_delegates_to_torch",
        NB1,
        "sgd_optimizer",
        "self.parameters = list(parameters)",
        "self.parameters = list(parameters)\n"
        "        self.inner = torch.optim.SGD(self.parameters, lr=lr, weight_decay=weight_decay)",
        "sgd_optimizer",
        "the task is to write the update yourself",
        "constructs torch.optim.SGD inside the hand-written optimizer",
    ),
    Mutant(
        "sgd_decay_outside_lr_sign_flipped",
        NB1,
        "sgd_optimizer",
        SGD_UPDATE,
        "p -= self.lr * p.grad - self.weight_decay * p",
        "sgd_optimizer__weight_decay",
        "p -= lr*g - wd*p",
        "x -= lr*g - wd*x: decay outside the learning rate, with the wrong sign",
    ),
    Mutant(
        "sgd_decay_abs_outside_lr",
        NB1,
        "sgd_optimizer",
        SGD_UPDATE,
        "p -= self.lr * p.grad + self.weight_decay * p.abs()",
        "sgd_optimizer__weight_decay",
        "p -= lr*g + wd*|p|",
        "x -= lr*g + wd*|x|: decay on |x|, outside the learning rate",
    ),
    Mutant(
        "sgd_momentum",
        NB1,
        "sgd_optimizer",
        (
            "self.parameters = list(parameters)",
            "for p in self.parameters:\n                if p.grad is not None:\n"
            "                    " + SGD_UPDATE,
        ),
        (
            "self.parameters = list(parameters)\n"
            "        self.velocity = [torch.zeros_like(p) for p in self.parameters]",
            "for p, v in zip(self.parameters, self.velocity):\n                if p.grad is not None:\n"
            "                    v.mul_(0.9).add_(p.grad + self.weight_decay * p)\n"
            "                    p -= self.lr * v",
        ),
        "sgd_optimizer",
        "momentum",
        "adds momentum (a velocity buffer) to plain gradient descent",
    ),
    Mutant(
        "sgd_lr_on_the_class",
        NB1,
        "sgd_optimizer",
        "self.lr = lr",
        "SimpleGradientDescent.lr = lr",
        "sgd_optimizer__matches_torch",
        "stored on the class",
        "the learning rate is a class attribute: two optimizers alive at once share it",
    ),
    Mutant(
        "sgd_zero_grad_before_backward",
        NB1,
        "sgd_optimizer",
        ZERO_GRAD_LOOP,
        "for p in self.parameters:\n            p.grad.zero_()",
        "sgd_optimizer__zero_grad",
        "before any backward()",
        "p.grad.zero_() fails while p.grad is None, before the first backward()",
    ),
    # Part 2, Task 2.1: gradient mean and RMS -------------------------------------------------
    Mutant(
        "rms_root_of_sum_over_n",
        NB2,
        "grad_stats",
        "rms = (grads ** 2).mean(dim=0).sqrt()",
        "rms = (grads ** 2).sum(dim=0).sqrt() / grads.shape[0]",
        "grad_stats",
        "sqrt(sum of g^2) / N",
        "RMS as sqrt(sum g^2)/N",
    ),
    Mutant(
        "grad_stats_modifies_input",
        NB2,
        "grad_stats",
        "rms = (grads ** 2).mean(dim=0).sqrt()",
        "rms = grads.pow_(2).mean(dim=0).sqrt()",
        "grad_stats",
        "changed the tensor",
        "squares grads in place",
    ),
    Mutant(
        "rms_population_std",
        NB2,
        "grad_stats",
        "rms = (grads ** 2).mean(dim=0).sqrt()",
        "rms = grads.std(dim=0, unbiased=False)",
        "grad_stats__values",
        "standard deviation",
        "the population standard deviation as the RMS (a wrong RMS costs the values only)",
    ),
    # Questions 2.A-2.C
    Mutant(
        "mean_values_are_rms",
        NB2,
        "q_mean_values",
        "(-0.2982, 0.0940)",
        "(2.1092, 0.3078)",
        "q_mean_values",
        "RMS values instead of the means",
        "copied the RMS line",
    ),
    Mutant(
        "rms_values_from_sum",
        NB2,
        "q_rms_values",
        "(2.1092, 0.3078)",
        "(0.2983, 0.0435)",
        "q_rms_values",
        "sqrt(sum of g^2) / N",
        "numbers printed by a sqrt(sum)/N gradient_stats",
    ),
    Mutant(
        "sign_changes_close",
        NB2,
        "q_mean_vs_rms",
        'sign_changes = "much smaller"',
        'sign_changes = "close"',
        "q_mean_vs_rms__sign_changes",
        "cancel",
        "thinks |mean| stays close to the RMS when signs alternate",
    ),
    # Task 2.2: EMA
    Mutant(
        "ema_no_bias_correction",
        NB2,
        "ema_update",
        "ema = ema_star_t / (1 - beta ** t)",
        "ema = ema_star_t",
        "ema_update__bias_correction",
        "no bias correction",
        "returns EMA* as the EMA",
    ),
    Mutant(
        "ema_t_from_zero",
        NB2,
        "ema_update",
        "ema = ema_star_t / (1 - beta ** t)",
        "ema = ema_star_t / (1 - beta ** (t + 1))",
        "ema_update__bias_correction",
        "t counted from 0",
        "bias correction with t from 0",
    ),
    Mutant(
        "ema_modifies_state",
        NB2,
        "ema_update",
        "ema_star_t = beta * ema_star_old + (1 - beta) * x_t",
        "ema_star_t = ema_star_old\n    ema_star_t *= beta\n    ema_star_t += (1 - beta) * x_t",
        "ema_update__tensors_unchanged",
        "changed its input ema_star_old",
        "updates ema_star_old in place (fine for numbers, not for tensors)",
    ),
    # Task 2.3: Adam
    Mutant(
        "adam_ignores_weight_decay",
        NB2,
        "adam_optimizer",
        ADAM_GRADIENT,
        "g = p.grad",
        "adam_optimizer__weight_decay",
        "weight_decay ignored",
        "no weight decay at all",
    ),
    Mutant(
        "adam_decay_outside_update",
        NB2,
        "adam_optimizer",
        (ADAM_GRADIENT, ADAM_UPDATE),
        ("g = p.grad", "p -= self.lr * m / (v.sqrt() + self.eps) + self.weight_decay * p"),
        "adam_optimizer__weight_decay",
        "outside the update",
        "x -= lr*m/(sqrt(v)+eps) + wd*x",
    ),
    Mutant(
        "adam_reads_global_decay",
        NB2,
        "adam_optimizer",
        (ADAM_CLASS_HEADER, ADAM_GRADIENT),
        ("weight_decay = 0.1\n\n\n" + ADAM_CLASS_HEADER, "g = p.grad + weight_decay * p"),
        "adam_optimizer",
        "global variable weight_decay",
        "step() reads the notebook's global weight_decay instead of self.weight_decay",
    ),
    Mutant(
        "adam_state_rebound",
        NB2,
        "adam_optimizer",
        ADAM_MOMENTS,
        "                m, m_star = ema_update(g, self.beta1, self.t, m_star)\n"
        "                v, v_star = ema_update(g * g, self.beta2, self.t, v_star)\n",
        "adam_optimizer",
        "never persist",
        "m, m_star = ema_update(...) rebinds a loop variable: the moments never persist",
    ),
    Mutant(
        "adam_no_bias_correction",
        NB2,
        "adam_optimizer",
        ADAM_UPDATE,
        "p -= self.lr * new_m_star / (new_v_star.sqrt() + self.eps)",
        "adam_optimizer__matches_torch",
        "no bias correction",
        "uses m* and v* uncorrected",
    ),
    Mutant(
        "adam_eps_inside_sqrt",
        NB2,
        "adam_optimizer",
        ADAM_UPDATE,
        "p -= self.lr * m / (v + self.eps).sqrt()",
        "adam_optimizer__matches_torch",
        "eps inside the square root",
        "sqrt(v + eps)",
    ),
    Mutant(
        "adam_t_per_parameter",
        NB2,
        "adam_optimizer",
        ("self.t += 1\n        with", ADAM_GRADIENT),
        ("with", "self.t += 1\n                " + ADAM_GRADIENT),
        "adam_optimizer",
        "once per parameter",
        "t advanced inside the parameter loop",
    ),
    Mutant(
        "adam_state_float32",
        NB2,
        "adam_optimizer",
        (
            "self.m_star = [torch.zeros_like(p) for p in self.parameters]",
            "self.v_star = [torch.zeros_like(p) for p in self.parameters]",
        ),
        (
            "self.m_star = [torch.zeros(p.shape) for p in self.parameters]",
            "self.v_star = [torch.zeros(p.shape) for p in self.parameters]",
        ),
        "adam_optimizer",
        "zeros_like",
        "state from torch.zeros(shape): float32 whatever the parameter's dtype",
    ),
    Mutant(
        "adam_state_on_cpu",
        NB2,
        "adam_optimizer",
        (
            "self.m_star = [torch.zeros_like(p) for p in self.parameters]",
            "self.v_star = [torch.zeros_like(p) for p in self.parameters]",
        ),
        (
            "self.m_star = [torch.zeros(p.shape, dtype=p.dtype) for p in self.parameters]",
            "self.v_star = [torch.zeros(p.shape, dtype=p.dtype) for p in self.parameters]",
        ),
        "adam_optimizer",
        "zeros_like",
        "state from torch.zeros(shape, dtype=...): on the CPU whatever the parameter's device",
        cuda_only=True,
    ),
    Mutant(
        "adam_delegates_to_torch",
        NB2,
        "adam_optimizer",
        "self.t = 0",
        "self.t = 0\n        self.inner = torch.optim.Adam(self.parameters, lr=lr)",
        "adam_optimizer",
        "the task is to write the update yourself",
        "constructs torch.optim.Adam inside ADAMOptimizer",
    ),
    Mutant(
        "adam_zero_grad_resets_t",
        NB2,
        "adam_optimizer",
        ZERO_GRAD_LOOP,
        ZERO_GRAD_LOOP + "\n        self.t = 0",
        "adam_optimizer__zero_grad",
        "zero_grad() only clears the gradients",
        "zero_grad also resets the step count",
    ),
    Mutant(
        "adam_state_keyed_by_shape",
        NB2,
        "adam_optimizer",
        (
            "self.m_star = [torch.zeros_like(p) for p in self.parameters]\n"
            "        self.v_star = [torch.zeros_like(p) for p in self.parameters]",
            "for p, m_star, v_star in zip(self.parameters, self.m_star, self.v_star):\n",
        ),
        (
            "self.state = {}",
            "for p in self.parameters:\n"
            "                m_star, v_star = self.state.setdefault(p.shape, (torch.zeros_like(p), "
            "torch.zeros_like(p)))\n",
        ),
        "adam_optimizer__state_persists",
        "keyed by p.shape",
        "the moments in a dict keyed by the parameter's shape: two parameters of one shape share them",
    ),
    Mutant(
        "adam_lr_on_the_class",
        NB2,
        "adam_optimizer",
        "self.lr = lr",
        "ADAMOptimizer.lr = lr",
        "adam_optimizer__state_persists",
        "ADAMOptimizer.lr = lr",
        "the learning rate is a class attribute: two optimizers alive at once share it",
    ),
    # Part 3 (the slowest notebook to grade: few mutants) -------------------------------------
    Mutant(
        "net_3_13_one_batchnorm",
        NB3,
        "net_3_13",
        "nn.ReLU(),\n                         nn.BatchNorm1d(32), nn.Linear(32, 1)",
        "nn.ReLU(),\n                         nn.Linear(32, 1)",
        "net_3_13",
        "expected BatchNorm1d(32)",
        "forgets the BatchNorm after the last hidden ReLU",
    ),
    Mutant(
        "net_3_9_width_64",
        NB3,
        "net_3_9",
        "nn.Sequential(nn.Linear(36, 32), nn.ReLU(), nn.Linear(32, 32), nn.ReLU(),\n"
        "                        nn.Linear(32, 1), nn.Sigmoid())",
        "nn.Sequential(nn.Linear(36, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(),\n"
        "                        nn.Linear(64, 1), nn.Sigmoid())",
        "net_3_9",
        "got Linear(36, 64)",
        "hidden width 64 instead of 32",
    ),
    Mutant(
        "residual_without_skip",
        NB3,
        "residual_sequence",
        "return super().forward(x) + x",
        "return super().forward(x)",
        "residual_sequence",
        "without the skip connection",
        "f(x) instead of f(x) + x",
    ),
    Mutant(
        "residual_relu_in_place",
        NB3,
        "residual_sequence",
        "return super().forward(x) + x",
        "out = x\n        for layer in self:  # ReLU in place, to save memory\n"
        "            out = torch.relu_(out) if isinstance(layer, nn.ReLU) else layer(out)\n"
        "        return out + x",
        "residual_sequence",
        "changed it in place",
        "runs ReLUs in place: a block starting with ReLU overwrites x, so it returns f(x) + relu(x)",
    ),
    Mutant(
        "net_3_15_inplace_relu",
        NB3,
        "net_3_15",
        "ResidualSequence(nn.ReLU(), nn.Linear(16, 32), nn.ReLU(), nn.Linear(32, 16))",
        "ResidualSequence(nn.ReLU(inplace=True), nn.Linear(16, 32), nn.ReLU(inplace=True), "
        "nn.Linear(32, 16))",
        "net_3_15",
        "changed the block's input in place",
        "ReLU(inplace=True) first in each block: the skip connection adds relu(x), not x",
    ),
    # Part 4, Tasks 4.1-4.5: initializers -----------------------------------------------------
    Mutant(
        "zero_init_tiny_random",
        NB4,
        "init_zero",
        "torch.zeros(n_in, n_out)",
        "torch.randn(n_in, n_out, generator=generator) * 1e-8",
        "init_zero",
        "exactly 0",
        "tiny random weights instead of exact zeros",
    ),
    Mutant(
        "small_init_std_1",
        NB4,
        "init_small",
        " * 0.01",
        "",
        "init_small",
        "factor 0.01 is missing",
        "std 1",
    ),
    Mutant(
        "large_init_std_5",
        NB4,
        "init_large",
        "* 0.05",
        "* 5",
        "init_large",
        "std 5 instead of 0.05",
        "N(0, 1) * 5",
    ),
    Mutant(
        "xavier_uniform_wrong_limit",
        NB4,
        "init_xavier",
        "torch.randn(n_in, n_out, generator=generator) / n_in ** 0.5",
        "(2 * torch.rand(n_in, n_out, generator=generator) - 1) / n_in ** 0.5",
        "init_xavier__distribution",
        "Xavier-uniform",
        "U(-1/sqrt(n_in), 1/sqrt(n_in)): std 0.0128, not 0.0221 on 2048 x 2048",
    ),
    Mutant(
        "small_init_reseeds_global",
        NB4,
        "init_small",
        "return torch.randn(n_in, n_out, generator=generator) * 0.01",
        "torch.manual_seed(generator.initial_seed())\n    return torch.randn(n_in, n_out) * 0.01",
        "init_small",
        "two calls with one generator returned the same matrix",
        "reseeds the global generator from the generator's seed: every call (every layer) "
        "returns the same matrix",
    ),
    Mutant(
        "xavier_generator_from_seed",
        NB4,
        "init_xavier",
        "torch.randn(n_in, n_out, generator=generator) / n_in ** 0.5",
        "torch.randn(n_in, n_out, generator=torch.Generator().manual_seed(generator.initial_seed())) "
        "/ n_in ** 0.5",
        "init_xavier__generator",
        "two calls with one generator returned the same matrix",
        "a new generator seeded from the given one's seed: every call returns the same matrix",
    ),
    Mutant(
        "he_global_random_state",
        NB4,
        "init_he",
        "torch.randn(n_in, n_out, generator=generator) * (2 / n_in) ** 0.5",
        "torch.randn(n_in, n_out) * (2 / n_in) ** 0.5",
        "init_he__generator",
        "global random state",
        "ignores the generator and draws from the global random state",
    ),
    Mutant(
        "he_kaiming_on_in_out_tensor",
        NB4,
        "init_he",
        "torch.randn(n_in, n_out, generator=generator) * (2 / n_in) ** 0.5",
        "torch.nn.init.kaiming_normal_(torch.empty(n_in, n_out), nonlinearity='relu', "
        "generator=generator)",
        "init_he__distribution",
        "fan-out",
        "kaiming_normal_ on an (n_in, n_out) tensor reads n_out as the fan-in",
    ),
    # Tasks 4.6-4.9: re-initializing wrappers and the networks they wrap
    Mutant(
        "supervise_random_std_1",
        NB4,
        "supervise_random",
        "nn.init.normal_(module.weight, mean=0.0, std=0.01)",
        "nn.init.normal_(module.weight)",
        "supervise_random",
        "without std=0.01",
        "normal_ without std=0.01: std 1 instead of 0.01",
    ),
    Mutant(
        "supervise_random_crashes",
        NB4,
        "supervise_random",
        "nn.init.normal_(module.weight, mean=0.0, std=0.01)",
        "module.weight.normal_(mean=0.0, std=0.01)",
        "supervise_random",
        "leaf Variable",
        "an in-place draw on a parameter outside torch.no_grad() raises, so model_4_7 is never "
        "built: Task 4.7's wrapping is judged from its cell's code",
    ),
    Mutant(
        "kaiming_fan_out",
        NB4,
        "supervise_kaiming",
        'mode="fan_in"',
        'mode="fan_out"',
        "supervise_kaiming",
        "fan_out",
        "kaiming_normal_(mode='fan_out')",
    ),
    Mutant(
        "kaiming_uniform",
        NB4,
        "supervise_kaiming",
        "nn.init.kaiming_normal_(",
        "nn.init.kaiming_uniform_(",
        "supervise_kaiming",
        "known mistake: kaiming_uniform_",
        "kaiming_uniform_: the right standard deviation, but a uniform draw where Task 4.8 asks for a normal one",
    ),
    Mutant(
        "net_4_7_plain_supervise",
        NB4,
        "net_4_7",
        "model_4_7 = Supervise_random_weights(nn.BCELoss(), net_4_7)",
        "model_4_7 = Supervise(nn.BCELoss(), net_4_7)",
        "net_4_7__wrapper",
        "expected a Supervise_random_weights",
        "wraps in Supervise, so no re-initialization",
    ),
    Mutant(
        "net_4_9_five_layers",
        NB4,
        "net_4_9",
        "nn.Linear(32, 32), nn.ReLU(), nn.Linear(32, 1), nn.Sigmoid())",
        "nn.Linear(32, 1), nn.Sigmoid())",
        "net_4_9__architecture",
        "expected 12 layers, got 10",
        "one hidden layer short",
    ),
]


# Correct answers written differently: full marks ------------------------------------------


@dataclass(frozen=True)
class Equivalent:
    name: str
    notebook: str
    edits: tuple  # ((cell, old, new), ...)
    why: str = ""


EQUIVALENTS = [
    Equivalent(
        "equivalent_part1",
        NB1,
        (
            (
                "gd_loop",
                """\
    for _ in range(steps):
        loss_fn(x).backward()
        with torch.no_grad():
            x -= lr * x.grad
        x.grad = None
    return x""",
                """\
    lr = torch.as_tensor(lr)
    step = 0
    while step < steps:
        loss = loss_fn(x)
        loss.backward()
        x.data.sub_(lr * x.grad)
        x.grad.zero_()
        step += 1
    return x""",
            ),
            (
                "per_dim_lr",
                "torch.tensor([0.034, 1.0])",
                "torch.tensor([0.035, 0.95], dtype=torch.float64)",
            ),
            (
                "sgd_optimizer",
                """\
        with torch.no_grad():
            for p in self.parameters:
                if p.grad is not None:
                    p -= self.lr * (p.grad + self.weight_decay * p)""",
                """\
        for p in self.parameters:
            with torch.no_grad():
                p.mul_(1 - self.lr * self.weight_decay)
                p.sub_(self.lr * p.grad)""",
            ),
            ("sgd_optimizer", "self.lr = lr", "self.lr = torch.tensor(lr)"),
            (
                "sgd_optimizer",
                ZERO_GRAD_LOOP,
                """\
for p in self.parameters:
            if p.grad is not None:
                p.grad.detach_()
                p.grad.zero_()""",
            ),
        ),
        "while loop with .data and zero_(); the learning rate as a float32 tensor (torch.as_tensor(0.1), "
        "torch.tensor(lr)); decay as a shrink factor; no_grad inside the loop; zero_grad that zeroes in "
        "place and skips gradients not made yet",
    ),
    Equivalent(
        "equivalent_part2",
        NB2,
        (
            (
                "grad_stats",
                """\
    mean = grads.mean(dim=0)
    rms = (grads ** 2).mean(dim=0).sqrt()
    return mean, rms""",
                """\
    g, T = grads.float(), grads.shape[0]
    return [g.sum(dim=0) / T, torch.linalg.vector_norm(g, dim=0) / T ** 0.5]""",
            ),
            (
                "ema_update",
                """\
    ema_star_t = beta * ema_star_old + (1 - beta) * x_t
    ema = ema_star_t / (1 - beta ** t)
    return ema, ema_star_t""",
                """\
    ema_star_t = ema_star_old + (1 - beta) * (x_t - ema_star_old)
    return (ema_star_t / (1.0 - pow(beta, t)), ema_star_t)""",
            ),
            (
                "adam_optimizer",
                """\
        self.t = 0
        self.m_star = [torch.zeros_like(p) for p in self.parameters]
        self.v_star = [torch.zeros_like(p) for p in self.parameters]""",
                """\
        self.t = 0
        self.state = {}""",
            ),
            (
                "adam_optimizer",
                """\
        with torch.no_grad():
            for p, m_star, v_star in zip(self.parameters, self.m_star, self.v_star):
                if p.grad is None:
                    continue
                g = p.grad + self.weight_decay * p
"""
                + ADAM_MOMENTS
                + """\
                p -= self.lr * m / (v.sqrt() + self.eps)""",
                """\
        for i, p in enumerate(self.parameters):
            g = p.grad.detach()
            if self.weight_decay != 0:
                g = g.add(p.detach(), alpha=self.weight_decay)
            m_old, v_old = self.state.get(i, (0.0, 0.0))
            m, m_new = ema_update(g, self.beta1, self.t, m_old)
            v, v_new = ema_update(g.square(), self.beta2, self.t, v_old)
            self.state[i] = (m_new, v_new)
            with torch.no_grad():
                p.addcdiv_(m, v.sqrt().add(self.eps), value=-self.lr)""",
            ),
            (
                "adam_optimizer",
                ZERO_GRAD_LOOP,
                """\
for p in self.parameters:
            if p.grad is not None:
                p.grad.zero_()""",
            ),
        ),
        "sum/norm statistics in float32, as a list; incremental EMA; Adam state in a dict stored back, "
        "addcdiv_, zero_grad that zeroes in place and skips gradients not made yet",
    ),
    Equivalent(
        "equivalent_part3",
        NB3,
        (
            (
                "residual_sequence",
                "return super().forward(x) + x",
                """\
identity = x
        out = x
        for layer in self:
            out = layer(out)
        out += identity
        return out""",
            ),
            (
                "net_3_15",
                "ResidualSequence(nn.ReLU(), nn.Linear(16, 32), nn.ReLU(), nn.Linear(32, 16))",
                "ResidualSequence(nn.ReLU(), nn.Linear(16, 32), nn.ReLU(inplace=True), nn.Linear(32, 16))",
            ),
        ),
        "the skip added in place to the layers' output (a new tensor); inplace=True on a ReLU that "
        "follows a Linear, where it overwrites nothing the block needs",
    ),
    Equivalent(
        "equivalent_part4",
        NB4,
        (
            ("init_zero", "torch.zeros(n_in, n_out)", "torch.full((n_in, n_out), 0.0)"),
            (
                "init_small",
                "torch.randn(n_in, n_out, generator=generator) * 0.01",
                "torch.normal(0.0, 0.01, size=(n_in, n_out), generator=generator)",
            ),
            (
                "init_large",
                "torch.randn(n_in, n_out, generator=generator) * 0.05",
                "torch.empty(n_in, n_out).normal_(mean=0.0, std=0.05, generator=generator)",
            ),
            (
                "init_xavier",
                "torch.randn(n_in, n_out, generator=generator) / n_in ** 0.5",
                "(2 * torch.rand(n_in, n_out, generator=generator) - 1) * (6 / (n_in + n_out)) ** 0.5",
            ),
            (
                "init_he",
                "torch.randn(n_in, n_out, generator=generator) * (2 / n_in) ** 0.5",
                "torch.nn.init.kaiming_normal_(torch.empty(n_out, n_in), nonlinearity='relu', "
                "generator=generator).T",
            ),
            (
                "supervise_random",
                """\
        for module in self.net.modules():
            if isinstance(module, nn.Linear):
                nn.init.normal_(module.weight, mean=0.0, std=0.01)""",
                """\
        with torch.no_grad():
            for name, module in self.named_modules():
                if type(module) is nn.Linear:
                    module.weight.copy_(torch.randn_like(module.weight) * 0.01)
                    module.bias.zero_()""",
            ),
            (
                "net_4_9",
                "model_4_9 = Supervise_Kaiming_weights(nn.BCELoss(), net_4_9)",
                "criterion = nn.BCELoss()\nmodel_4_9 = Supervise_Kaiming_weights(criterion=criterion, net=net_4_9)",
            ),
        ),
        "exact float64 zeros; torch.normal; Tensor.normal_ with the generator; Glorot-uniform by "
        "hand; kaiming_normal_ on (out, in) transposed; weights copied under no_grad and biases "
        "zeroed; the wrapper built with keyword arguments",
    ),
]


def equivalent(eq: Equivalent) -> dict:
    nb = load(eq.notebook)
    for cell, old, new in eq.edits:
        nb = apply(nb, cell, [(old, new)])
    return nb
