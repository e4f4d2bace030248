"""The checks of notebook 2 (visible ones in hw2checks, hidden ones in autograder.checks.part2):
correct code passes, including code written differently; each classic mistake fails the check
of its own aspect with a message that names it; the numbers fixed in advance in hw2checks agree
with the hidden reference; a broken ema_update costs only its own points."""

import contextlib
import io
import math
import re

import numpy as np
import pytest
import torch

import hw2checks
import hw2probes
import naming
from autograder.checks import find as find_aspect
from autograder.checks import part2 as hidden

torch.set_num_threads(1)

# Correct implementations, and equivalent ones written differently -------------------------------


def gradient_stats(grads):
    return grads.mean(dim=0), (grads**2).mean(dim=0).sqrt()


def gradient_stats_by_norm(grads):
    # The RMS is the Euclidean norm of each column divided by sqrt(T); returned as a list.
    return [
        grads.sum(dim=0) / grads.shape[0],
        torch.linalg.vector_norm(grads, dim=0) / math.sqrt(grads.shape[0]),
    ]


def gradient_stats_loop(grads):
    total = torch.zeros_like(grads[0])
    squares = torch.zeros_like(grads[0])
    for row in grads:
        total = total + row
        squares = squares + row * row
    return total / len(grads), torch.sqrt(squares / len(grads))


def gradient_stats_float32(grads):
    # Correct too: computed in float32 whatever the input's dtype.
    return gradient_stats(grads.float())


def ema_update(x_t, beta, t, ema_star_old):
    ema_star_t = beta * ema_star_old + (1 - beta) * x_t
    return ema_star_t / (1 - beta**t), ema_star_t


def ema_update_incremental(x_t, beta, t, ema_star_old):
    # EMA* moves a fraction 1 - beta of the way towards x_t.
    ema_star_t = ema_star_old + (1 - beta) * (x_t - ema_star_old)
    correction = 1.0 - math.pow(beta, t)
    return (ema_star_t / correction, ema_star_t)


ADAM = """
class ADAMOptimizer:
    def __init__(self, parameters, lr=0.1, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        self.lr = lr
        self.beta1, self.beta2 = betas
        self.eps = eps
        self.weight_decay = weight_decay
        self.parameters = list(parameters)
        self.t = 0
        self.m_star = [torch.zeros_like(p) for p in self.parameters]
        self.v_star = [torch.zeros_like(p) for p in self.parameters]

    def step(self):
        self.t += 1
        with torch.no_grad():
            for p, m_star, v_star in zip(self.parameters, self.m_star, self.v_star):
                g = p.grad + self.weight_decay * p
                m, new_m = ema_update(g, self.beta1, self.t, m_star)
                v, new_v = ema_update(g * g, self.beta2, self.t, v_star)
                m_star.copy_(new_m)
                v_star.copy_(new_v)
                p -= self.lr * m / (v.sqrt() + self.eps)

    def zero_grad(self):
        for p in self.parameters:
            p.grad = None
"""

# Equivalent: state in a dict keyed by position, stored back rather than copied, the update
# written with addcdiv_, zero_grad that zeroes instead of dropping the gradients.
ADAM_DICT_STATE = """
class ADAMOptimizer:
    def __init__(self, parameters, lr=0.1, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        self.params = [p for p in parameters]
        self.lr, self.betas, self.eps, self.wd = lr, betas, eps, weight_decay
        self.state = {}
        self.t = 0

    def step(self):
        self.t += 1
        for i, p in enumerate(self.params):
            g = p.grad.detach()
            if self.wd != 0:
                g = g.add(p.detach(), alpha=self.wd)
            m_old, v_old = self.state.get(i, (0.0, 0.0))
            m, m_star = ema_update(g, self.betas[0], self.t, m_old)
            v, v_star = ema_update(g.square(), self.betas[1], self.t, v_old)
            self.state[i] = (m_star, v_star)
            with torch.no_grad():
                p.addcdiv_(m, v.sqrt().add(self.eps), value=-self.lr)

    def zero_grad(self):
        for p in self.params:
            if p.grad is not None:
                p.grad.zero_()
"""


def notebook(source, **names):
    """Run ``source`` in a fresh namespace, as a notebook cell runs in the kernel's namespace."""
    namespace = {"torch": torch, "ema_update": ema_update, **names}
    exec(source, namespace)
    return namespace


def adam_class(source=ADAM, **names):
    return notebook(source, **names)["ADAMOptimizer"]


def mutate(*replacements, source=ADAM):
    for old, new in replacements:
        assert old in source, old
        source = source.replace(old, new)
    return source


def quietly(check, *args):
    with contextlib.redirect_stdout(io.StringIO()) as out:
        check(*args)
    return out.getvalue()


def visible(test_id):
    return getattr(hw2checks, f"check_{test_id}")


def reference_check(test_id):
    return getattr(hidden, f"check_{test_id}")


def both(test_id):
    """The two calls a test cell makes: the visible check, then the hidden one."""
    return [visible(test_id), reference_check(test_id)]


GRAD_STATS_IDS = ["grad_stats__values", "grad_stats__shapes"]
EMA_IDS = ["ema_update__formula", "ema_update__bias_correction", "ema_update__tensors_unchanged"]
ADAM_IDS = [
    "adam_optimizer__matches_torch",
    "adam_optimizer__weight_decay",
    "adam_optimizer__state_persists",
    "adam_optimizer__devices_dtypes",
    "adam_optimizer__zero_grad",
]
CHOICES = {
    "never_smaller": "RMS",
    "typical_size": "RMS",
    "consistent_sign": "close",
    "sign_changes": "much smaller",
}


# Correct code passes everything, silently on stderr ------------------------------------------------


@pytest.mark.parametrize(
    "implementation",
    [gradient_stats, gradient_stats_by_norm, gradient_stats_loop, gradient_stats_float32],
)
@pytest.mark.parametrize("test_id", GRAD_STATS_IDS)
def test_correct_gradient_stats_pass(implementation, test_id, capsys):
    for check in both(test_id):
        check(implementation)
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize("implementation", [ema_update, ema_update_incremental])
@pytest.mark.parametrize("test_id", EMA_IDS)
def test_correct_ema_update_passes(implementation, test_id, capsys):
    for check in both(test_id):
        check(implementation)
    assert capsys.readouterr().err == ""


# Equivalent: the learning rate held as a float32 tensor (torch.tensor(0.1) rounds it to 2^-24).
ADAM_FLOAT32_LR = ADAM.replace("        self.lr = lr\n", "        self.lr = torch.tensor(lr)\n")


@pytest.mark.parametrize(
    "source", [ADAM, ADAM_DICT_STATE, ADAM_FLOAT32_LR], ids=["lists", "dict_state", "float32_lr"]
)
@pytest.mark.parametrize("test_id", ADAM_IDS)
def test_correct_adam_passes(source, test_id, capsys):
    for check in both(test_id):
        check(adam_class(source))
    assert capsys.readouterr().err == ""


def test_correct_answers_pass(capsys):
    for check in both("q_mean_values__numbers"):
        check((-0.2982, 0.0940))
    for check in both("q_rms_values__numbers"):
        check(torch.tensor([2.1092, 0.3078]))
    for name, answer in CHOICES.items():
        for check in both(f"q_mean_vs_rms__{name}"):
            check(f" {answer.lower()} ")  # case and spaces do not matter
    assert capsys.readouterr().err == ""


# The numbers fixed in advance in hw2checks are the reference's ---------------------------------------


def test_visible_gradient_stats_numbers_agree_with_the_reference():
    """The public cases' values, worked out in advance, are the reference's; every public case
    has its values but the bowl's (the answers to 2.A and 2.B, which only the grader compares)."""
    cases = dict(hw2checks.grad_stats_value_cases())
    assert set(cases) - set(hw2checks.PUBLIC_GRAD_STATS) == {hw2checks.BOWL_CASE}
    for case, (mean, rms) in hw2checks.PUBLIC_GRAD_STATS.items():
        expected_mean, expected_rms = hidden.reference_gradient_stats(cases[case].double())
        assert torch.allclose(expected_mean, torch.tensor(mean, dtype=torch.float64), atol=1e-9)
        assert torch.allclose(expected_rms, torch.tensor(rms, dtype=torch.float64), atol=1e-9)


def test_visible_ema_numbers_agree_with_the_reference():
    """The public cases' values, worked out in advance, are the reference's, for every float
    case and every step of every sequence of the two formula checks."""
    expected = {}
    for floats, xs, betas in (hw2checks.ema_formula_cases(), hw2checks.ema_bias_correction_cases()):
        for args in floats:
            expected[hw2checks.part2._float_case(*args)] = hidden.reference_ema_update(*args)
        for beta in betas:
            state = 0.0
            for t, x in enumerate(xs, start=1):
                key = hw2checks.part2._sequence_step(xs, beta, t)
                expected[key] = hidden.reference_ema_update(x, beta, t, state)
                state = expected[key][1]
    assert set(expected) == set(hw2checks.PUBLIC_EMA)
    for key, (ema, ema_star) in hw2checks.PUBLIC_EMA.items():
        assert expected[key][0] == pytest.approx(ema, abs=1e-9)
        assert expected[key][1] == pytest.approx(ema_star, abs=1e-9)


def test_the_bowl_statistics_are_the_curriculum_facts():
    mean, rms = hidden.reference_gradient_stats(hidden.bowl_gradients())
    assert mean.tolist() == pytest.approx([-0.2982, 0.0940], abs=1e-4)
    assert rms.tolist() == pytest.approx([2.1092, 0.3078], abs=1e-4)


# Wrong gradient statistics -------------------------------------------------------------------------

GRAD_STATS_MISTAKES = {
    "RMS as sqrt(sum)/N": (
        lambda g: (g.mean(0), g.pow(2).sum(0).sqrt() / g.shape[0]),
        "sqrt(sum of g^2) / N",
    ),
    "std instead of RMS": (lambda g: (g.mean(0), g.std(0, unbiased=False)), "standard deviation"),
    "mean of |g|": (lambda g: (g.abs().mean(0), g.pow(2).mean(0).sqrt()), "mean of |g|"),
    "no square root": (lambda g: (g.mean(0), g.pow(2).mean(0)), "without the square root"),
}


@pytest.mark.parametrize("name", GRAD_STATS_MISTAKES)
def test_wrong_gradient_stats_fail_with_the_mistake_named(name):
    wrong, phrase = GRAD_STATS_MISTAKES[name]
    with pytest.raises(AssertionError):
        quietly(visible("grad_stats__values"), wrong)
    with pytest.raises(AssertionError, match="known mistake") as failure:
        quietly(reference_check("grad_stats__values"), wrong)
    assert phrase in str(failure.value)


RMS_MISTAKES = ["RMS as sqrt(sum)/N", "std instead of RMS", "no square root"]


@pytest.mark.parametrize("name", RMS_MISTAKES)
def test_a_wrong_rms_costs_the_values_only_and_both_checks_name_it(name):
    wrong, phrase = GRAD_STATS_MISTAKES[name]
    for check in both("grad_stats__shapes"):
        quietly(check, wrong)
    for check in both("grad_stats__values"):
        with pytest.raises(AssertionError, match="known mistake") as failure:
            quietly(check, wrong)
        assert phrase in str(failure.value)


def test_the_standard_deviation_is_named_as_such():
    """Not as the sqrt(sum)/N mistake, which the visible hint used to name whatever the RMS was."""
    for unbiased in (False, True):
        for check in both("grad_stats__values"):
            with pytest.raises(AssertionError) as failure:
                quietly(check, lambda g: (g.mean(0), g.std(0, unbiased=unbiased)))
            assert "standard deviation" in str(failure.value) and "sqrt(sum" not in str(
                failure.value
            )


def test_gradient_stats_over_the_wrong_dimension_fails_on_shape():
    wrong = lambda g: (g.mean(1), g.pow(2).mean(1).sqrt())
    for check in both("grad_stats__shapes"):
        with pytest.raises(AssertionError, match="shape"):
            quietly(check, wrong)


def test_gradient_stats_that_modify_their_input_fail():
    def in_place(grads):
        mean = grads.mean(dim=0)
        return mean, grads.pow_(2).mean(dim=0).sqrt()

    for check in both("grad_stats__shapes"):
        with pytest.raises(AssertionError, match="changed the tensor"):
            quietly(check, in_place)


# Wrong answers to 2.A-2.C ------------------------------------------------------------------------


def test_rms_values_from_the_sum_mistake_are_named():
    with pytest.raises(AssertionError, match=r"sqrt\(sum of g\^2\) / N"):
        quietly(reference_check("q_rms_values__numbers"), (0.2983, 0.0435))


def test_mean_values_swapped_with_rms_are_named():
    with pytest.raises(AssertionError, match="RMS values instead of the means"):
        quietly(reference_check("q_mean_values__numbers"), (2.1092, 0.3078))


@pytest.mark.parametrize(
    "test_id, value",
    [
        ("q_mean_values__numbers", "about zero"),
        ("q_mean_values__numbers", (1.0, 2.0, 3.0)),
        ("q_rms_values__numbers", (-2.1, 0.3)),
        ("q_rms_values__numbers", (float("nan"), 0.3)),
    ],
)
def test_answers_in_the_wrong_form_fail_the_visible_check(test_id, value):
    with pytest.raises(AssertionError, match="format"):
        quietly(visible(test_id), value)


@pytest.mark.parametrize("name", CHOICES)
def test_multiple_choice_visible_checks_accept_either_option_and_the_hidden_ones_grade(name):
    options = hw2checks.MEAN_VS_RMS_OPTIONS[name]
    wrong = next(option for option in options if option != CHOICES[name])
    quietly(visible(f"q_mean_vs_rms__{name}"), wrong)  # the visible check tests the form only
    with pytest.raises(AssertionError, match="is not right"):
        quietly(reference_check(f"q_mean_vs_rms__{name}"), wrong)
    for check in both(f"q_mean_vs_rms__{name}"):
        with pytest.raises(AssertionError, match="format"):
            quietly(check, "larger")
        with pytest.raises(AssertionError, match="format"):
            quietly(check, None)


# Wrong EMAs ------------------------------------------------------------------------------------------


def ema_no_bias_correction(x_t, beta, t, old):
    star = beta * old + (1 - beta) * x_t
    return star, star


def ema_t_from_zero(x_t, beta, t, old):
    star = beta * old + (1 - beta) * x_t
    return star / (1 - beta ** (t + 1)), star


def ema_swapped_weights(x_t, beta, t, old):
    star = (1 - beta) * old + beta * x_t
    return star / (1 - beta**t), star


def ema_corrected_state(x_t, beta, t, old):
    star = beta * old + (1 - beta) * x_t
    ema = star / (1 - beta**t)
    return ema, ema


def ema_in_place(x_t, beta, t, old):
    old *= beta
    old += (1 - beta) * x_t
    return old / (1 - beta**t), old


EMA_MISTAKES = [
    (ema_no_bias_correction, "ema_update__bias_correction", "no bias correction"),
    (ema_t_from_zero, "ema_update__bias_correction", "t counted from 0"),
    (ema_swapped_weights, "ema_update__formula", "weights are swapped"),
    (ema_corrected_state, "ema_update__formula", "bias-corrected EMA is returned as the new EMA*"),
    (ema_in_place, "ema_update__tensors_unchanged", "changed its input ema_star_old"),
]


@pytest.mark.parametrize(
    "wrong, test_id, phrase", EMA_MISTAKES, ids=[m[0].__name__ for m in EMA_MISTAKES]
)
def test_wrong_ema_fails_its_aspect_with_the_mistake_named(wrong, test_id, phrase):
    with pytest.raises(AssertionError):
        quietly(visible(test_id), wrong)
    with pytest.raises(AssertionError, match=phrase):
        quietly(reference_check(test_id), wrong)


@pytest.mark.parametrize("wrong", [ema_no_bias_correction, ema_t_from_zero])
def test_a_bias_correction_mistake_costs_only_the_bias_correction_points(wrong):
    for test_id in ("ema_update__formula", "ema_update__tensors_unchanged"):
        for check in both(test_id):
            quietly(check, wrong)


# Wrong Adams -----------------------------------------------------------------------------------------

GRAD = "                g = p.grad + self.weight_decay * p\n"
UPDATE = "                p -= self.lr * m / (v.sqrt() + self.eps)\n"

ADAM_MISTAKES = {
    "ignores_weight_decay": (
        mutate((GRAD, "                g = p.grad\n")),
        "adam_optimizer__weight_decay",
        "weight_decay ignored",
    ),
    "decay_outside": (
        mutate(
            (GRAD, "                g = p.grad\n"),
            (
                UPDATE,
                "                p -= self.lr * m / (v.sqrt() + self.eps) + "
                "self.weight_decay * p\n",
            ),
        ),
        "adam_optimizer__weight_decay",
        "applied outside the update",
    ),
    "decoupled_adamw": (
        mutate(
            (GRAD, "                g = p.grad\n"),
            (
                UPDATE,
                "                p -= self.lr * (m / (v.sqrt() + self.eps) + "
                "self.weight_decay * p)\n",
            ),
        ),
        "adam_optimizer__weight_decay",
        "decoupled (AdamW-style)",
    ),
    "no_bias_correction": (
        mutate((UPDATE, UPDATE.replace("m / (v.sqrt()", "new_m / (new_v.sqrt()"))),
        "adam_optimizer__matches_torch",
        "no bias correction",
    ),
    "eps_inside_sqrt": (
        mutate((UPDATE, "                p -= self.lr * m / (v + self.eps).sqrt()\n")),
        "adam_optimizer__matches_torch",
        "eps inside the square root",
    ),
    "no_sqrt": (
        mutate((UPDATE, "                p -= self.lr * m / (v + self.eps)\n")),
        "adam_optimizer__matches_torch",
        "no square root",
    ),
    "t_per_parameter": (
        mutate(
            (
                "        self.t += 1\n        with torch.no_grad():\n",
                "        with torch.no_grad():\n",
            ),
            (GRAD, "                self.t += 1\n" + GRAD),
        ),
        "adam_optimizer__state_persists",
        "t advanced once per parameter",
    ),
    "t_starts_at_zero": (
        mutate(
            (
                "        self.t += 1\n        with torch.no_grad():\n",
                "        with torch.no_grad():\n",
            ),
            (UPDATE, UPDATE + "        self.t += 1\n"),
        ),
        "adam_optimizer__matches_torch",
        "is t 0 in the first step",
    ),
    "state_rebound": (
        mutate(
            (
                "                m, new_m = ema_update(g, self.beta1, self.t, m_star)\n",
                "                m, m_star = ema_update(g, self.beta1, self.t, m_star)\n",
            ),
            (
                "                v, new_v = ema_update(g * g, self.beta2, self.t, v_star)\n",
                "                v, v_star = ema_update(g * g, self.beta2, self.t, v_star)\n",
            ),
            ("                m_star.copy_(new_m)\n", ""),
            ("                v_star.copy_(new_v)\n", ""),
        ),
        "adam_optimizer__state_persists",
        "the moments never persist",
    ),
    "state_float32_on_cpu": (
        mutate(
            (
                "[torch.zeros_like(p) for p in self.parameters]",
                "[torch.zeros(p.shape) for p in self.parameters]",
            )
        ),
        "adam_optimizer__devices_dtypes",
        "torch.zeros_like",
    ),
    "state_on_the_class": (
        mutate(
            ("class ADAMOptimizer:\n", "class ADAMOptimizer:\n    m_star, v_star = [], []\n"),
            (
                " = [torch.zeros_like(p) for p in self.parameters]",
                ".extend(torch.zeros_like(p) for p in self.parameters)",
            ),
        ),
        "adam_optimizer__state_persists",
        "not as class attributes",
    ),
    "delegates_to_torch": (
        ADAM.replace(
            "        self.t = 0\n",
            "        self.t = 0\n        self.inner = "
            "torch.optim.Adam(self.parameters, lr, betas, eps, weight_decay)\n",
        ).replace("        self.t += 1\n", "        self.inner.step()\n        return\n"),
        "adam_optimizer__matches_torch",
        "torch.optim",
    ),
    "zero_grad_calls_the_list": (
        mutate(
            (
                "        for p in self.parameters:\n            p.grad = None\n",
                "        for p in self.parameters():\n            p.grad = None\n",
            )
        ),
        "adam_optimizer__zero_grad",
        "raised TypeError",
    ),
    "zero_grad_needs_backward": (
        mutate(("            p.grad = None\n", "            p.grad.zero_()\n")),
        "adam_optimizer__zero_grad",
        "before any backward()",
    ),
    "zero_grad_resets_t": (
        mutate(("            p.grad = None\n", "            p.grad = None\n        self.t = 0\n")),
        "adam_optimizer__zero_grad",
        "zero_grad() only clears the gradients",
    ),
    "zero_grad_resets_moments": (
        mutate(
            (
                "            p.grad = None\n",
                "            p.grad = None\n        "
                "self.m_star = [torch.zeros_like(p) for p in self.parameters]\n",
            )
        ),
        "adam_optimizer__zero_grad",
        "zero_grad() only clears the gradients",
    ),
    "state_keyed_by_shape": (
        mutate(
            (
                "        self.m_star = [torch.zeros_like(p) for p in self.parameters]\n"
                "        self.v_star = [torch.zeros_like(p) for p in self.parameters]\n",
                "        self.state = {}\n",
            ),
            (
                "            for p, m_star, v_star in zip(self.parameters, self.m_star, "
                "self.v_star):\n",
                "            for p in self.parameters:\n"
                "                m_star, v_star = self.state.setdefault(p.shape, "
                "(torch.zeros_like(p), torch.zeros_like(p)))\n",
            ),
        ),
        "adam_optimizer__state_persists",
        "keyed by p.shape",
    ),
    "lr_on_the_class": (
        mutate(("        self.lr = lr\n", "        ADAMOptimizer.lr = lr\n")),
        "adam_optimizer__state_persists",
        "ADAMOptimizer.lr = lr",
    ),
}


@pytest.mark.parametrize("name", ADAM_MISTAKES)
def test_wrong_adam_fails_its_aspect_with_the_mistake_named(name):
    source, test_id, phrase = ADAM_MISTAKES[name]
    cls = adam_class(source)
    if name != "delegates_to_torch":  # the visible checks do not police torch.optim
        with pytest.raises(Exception):  # noqa: B017 -- an AssertionError, or the error the student's code raises
            quietly(visible(test_id), cls)
    with pytest.raises(AssertionError) as failure:  # the judge says what the student's code raised
        quietly(reference_check(test_id), cls)
    if phrase is not None:
        assert phrase in str(failure.value), str(failure.value)


@pytest.mark.parametrize(
    "name", ["no_bias_correction", "eps_inside_sqrt", "no_sqrt", "ignores_weight_decay"]
)
def test_the_visible_adam_checks_name_mistakes_in_the_update_too(name):
    source, test_id, phrase = ADAM_MISTAKES[name]
    with pytest.raises(AssertionError, match="known mistake") as failure:
        quietly(visible(test_id), adam_class(source))
    assert phrase in str(failure.value)


# A mistake is named only on data that tells it from the right answer -----------------------------

BETA1_FOR_BOTH = mutate(("ema_update(g * g, self.beta2", "ema_update(g * g, self.beta1"))


@pytest.mark.parametrize(
    "name, source, hidden_names",
    [
        ("beta1 for both moments", BETA1_FOR_BOTH, None),
        (
            "moments that never persist",
            ADAM_MISTAKES["state_rebound"][0],
            hw2checks.PERSIST_MISTAKE,
        ),
        (
            "t advanced once per parameter",
            ADAM_MISTAKES["t_per_parameter"][0],
            hw2checks.PER_PARAMETER_MISTAKE,
        ),
    ],
)
def test_adam_right_at_step_1_and_wrong_later_is_never_told_a_wrong_mistake(
    name, source, hidden_names
):
    """Right at the first step (t per parameter: for the first parameter), wrong later: eps inside
    the square root (which at eps = 1e-8 gives the right first step) is not named by the visible
    check, which knows the first step of its mistakes only; the hidden check names the mistake by
    its whole path, or nothing."""
    cls = adam_class(source)
    with pytest.raises(AssertionError) as failure:
        quietly(visible("adam_optimizer__matches_torch"), cls)
    told = str(failure.value)
    assert "known mistake" not in told, told
    if name != "t advanced once per parameter":
        assert "after step 1:" not in told, told
    with pytest.raises(AssertionError) as failure:
        quietly(reference_check("adam_optimizer__matches_torch"), cls)
    said = str(failure.value)
    assert hw2checks.EPS_INSIDE_SQRT not in said, said
    if hidden_names:
        assert hidden_names in said, said
    else:
        assert "known mistake" not in said, said


@pytest.mark.parametrize("eps, named", [(1e-8, False), (1e-3, True), (0.1, True)])
def test_eps_inside_the_square_root_is_named_where_it_differs(eps, named):
    """At eps = 1e-8 its path is the right one (within the tolerance) and passes; with a larger
    eps it is wrong from the first step, and both catalogues name it."""
    source = ADAM_MISTAKES["eps_inside_sqrt"][0]
    kwargs = {"lr": 0.05, "betas": (0.5, 0.9), "eps": eps}
    init = hw2checks.random_parameters(0, hw2checks.TOY_SHAPES)
    got = hw2checks.drive(
        lambda p: adam_class(source)(p, **kwargs), init, 5, hw2checks.loss_gradients()
    )[0]
    expected = hw2checks.drive(
        lambda p: torch.optim.Adam(p, **kwargs), init, 5, hw2checks.loss_gradients()
    )[0]
    tol = hw2checks.tolerance(expected)
    first_step = hw2checks.named_mistake(
        naming.HINT,
        hw2checks.adam_first_step_mistakes(init, 5, hw2checks.loss_gradients(), kwargs),
        got,
        tol,
        expected,
    )
    whole_path = hw2checks.named_mistake(
        naming.HINT,
        hidden.adam_mistakes(init, 5, hw2checks.loss_gradients(), kwargs),
        got,
        tol,
        expected,
    )
    if named:
        assert hw2checks.max_diff(expected, got) > tol
        assert first_step.startswith("your first step matches a known mistake: eps inside"), (
            first_step
        )
        assert whole_path.startswith("your result matches a known mistake: eps inside"), whole_path
    else:
        assert hw2checks.max_diff(expected, got) <= tol  # passes: nothing to name
        assert first_step == whole_path == naming.HINT


@pytest.mark.parametrize(
    "kwargs", [{"lr": 0.1}, {"lr": 0.05, "betas": (0.5, 0.9), "eps": 0.1}, {"lr": 0.1, "eps": 1e-3}]
)
def test_each_adam_mistake_is_named_on_its_own_path_only(kwargs):
    """The visible catalogue (first steps) and the hidden one (whole paths), entry by entry."""
    init = hw2checks.random_parameters(0, hw2checks.TOY_SHAPES)
    expected = hw2checks.drive(
        lambda p: torch.optim.Adam(p, **kwargs), init, 5, hw2checks.loss_gradients()
    )[0]
    tol = hw2checks.tolerance(expected)
    first = naming.check_catalogue(
        hw2checks.adam_first_step_mistakes(init, 5, hw2checks.loss_gradients(), kwargs),
        expected,
        tol,
    )
    assert (hw2checks.EPS_INSIDE_SQRT in first) == (kwargs.get("eps", 1e-8) > 1e-6)
    whole = naming.check_catalogue(
        hidden.adam_mistakes(init, 5, hw2checks.loss_gradients(), kwargs), expected, tol
    )
    assert hw2checks.PERSIST_MISTAKE in whole and hw2checks.NO_BIAS_CORRECTION in whole


#: Gradients where several wrong formulas give the right values: one step, equal steps.
EDGE_GRADIENTS = [
    ("4 steps, 2 coordinates", [[1.0, -2.0], [3.0, 2.0], [-1.0, 0.0], [1.0, 4.0]]),
    ("1 step, 3 coordinates", [[-0.5, 2.0, 0.0]]),
    ("5 equal steps", [[2.0, -3.0]] * 5),
]


@pytest.mark.parametrize("case, rows", EDGE_GRADIENTS, ids=[c[0] for c in EDGE_GRADIENTS])
def test_each_statistics_mistake_is_named_on_its_own_values_only(case, rows):
    """On one step, or equal steps, several wrong RMS formulas give the right values: never named there."""
    g = torch.tensor(rows, dtype=torch.float64)
    mean, expected = hidden.reference_gradient_stats(g)
    apart = naming.check_catalogue(
        hw2checks.rms_mistakes(g), expected, hw2checks.tolerance(expected)
    )
    naming.check_catalogue(hw2checks.part2._mean_mistakes(g), mean, hw2checks.tolerance(expected))
    if case == "1 step, 3 coordinates":
        assert not any(
            name.startswith(("RMS computed as sqrt(sum of g^2) / N", "the mean of |g|"))
            for name in apart
        )


@pytest.mark.parametrize(
    "x, beta, t, old",
    [(0.7, 0.9, 1, 0.0), (-1.3, 0.5, 3, 0.4), (2.0, 0.0, 2, 1.0), (0.5, 0.99, 40, 0.5)],
)
def test_each_ema_mistake_is_named_on_its_own_values_only(x, beta, t, old):
    """beta = 0 makes several bias-correction mistakes equal the right value: never named there."""
    ema, star = hidden.reference_ema_update(x, beta, t, old)
    for mistakes, expected in (
        (hidden._ema_state_mistakes(x, beta, t, old), star),
        (hidden._ema_value_mistakes(x, beta, t, old), ema),
    ):
        expected = torch.tensor(expected, dtype=torch.float64)
        naming.check_catalogue(
            {k: torch.tensor(v, dtype=torch.float64) for k, v in mistakes.items()},
            expected,
            hw2checks.tolerance(expected),
        )


def test_a_mistake_is_shown_where_the_printed_values_differ():
    """Adam without weight decay is within 1e-7 of the right path after step 1: the diagnostic
    shows a step whose values differ to 6 digits, and says when they first parted."""
    with pytest.raises(AssertionError) as failure:
        quietly(
            reference_check("adam_optimizer__weight_decay"),
            adam_class(ADAM_MISTAKES["ignores_weight_decay"][0]),
        )
    expected, got = re.search(r"(\[[^\]]*\]), got (\[[^\]]*\])", str(failure.value)).groups()
    assert expected != got and "after step 1," not in str(failure.value)


def test_hidden_adam_checks_name_a_global_read_instead_of_the_attribute():
    # weight_decay, a global of the notebook, read where self.weight_decay was meant
    source = mutate(("g = p.grad + self.weight_decay * p", "g = p.grad + weight_decay * p"))
    cls = adam_class(source, weight_decay=0.1)
    for test_id in ("adam_optimizer__matches_torch", "adam_optimizer__weight_decay"):
        with pytest.raises(AssertionError, match="global variable weight_decay"):
            quietly(reference_check(test_id), cls)


#: The aspects each mistake fails, visible and hidden alike: a mistake costs the aspect it belongs
#: to (matches_torch owns the update formula) and no other, except where it breaks several
#: (persisting state is part of matching torch). Mistakes that break everything (NaN from t = 0,
#: state on the class, delegating to torch.optim) are left out.
FAILING_ASPECTS = {
    "ignores_weight_decay": {"weight_decay"},
    "decay_outside": {"weight_decay"},
    "decoupled_adamw": {"weight_decay"},
    "no_bias_correction": {"matches_torch"},
    "eps_inside_sqrt": {"matches_torch"},
    "no_sqrt": {"matches_torch"},
    "t_per_parameter": {"matches_torch", "state_persists"},
    "state_rebound": {"matches_torch", "state_persists"},
    "state_float32_on_cpu": {"devices_dtypes"},
    "zero_grad_calls_the_list": {"zero_grad"},
    "zero_grad_needs_backward": {"zero_grad"},
    "zero_grad_resets_t": {"zero_grad"},
    "zero_grad_resets_moments": {"zero_grad"},
    "state_keyed_by_shape": {"state_persists"},
    "lr_on_the_class": {"state_persists"},
}


@pytest.mark.parametrize("name", FAILING_ASPECTS)
def test_an_adam_mistake_costs_only_its_own_aspects(name):
    for checks, failure in ((visible, Exception), (reference_check, AssertionError)):
        failing = set()
        for test_id in ADAM_IDS:
            try:
                quietly(checks(test_id), adam_class(ADAM_MISTAKES[name][0]))
            except failure:  # visible checks let the student's own error through
                failing.add(test_id.split("__")[1])
        assert failing == FAILING_ASPECTS[name], checks.__name__


# Isolation: Adam is checked with the reference ema_update ------------------------------------------------


@pytest.mark.parametrize(
    "broken",
    [ema_no_bias_correction, ema_swapped_weights, ema_in_place, None],
    ids=["no_bias_correction", "swapped_weights", "in_place", "missing"],
)
def test_a_broken_ema_update_costs_no_adam_points(broken):
    names = {} if broken is None else {"ema_update": broken}
    namespace = notebook(ADAM, **names)
    if broken is None:
        del namespace["ema_update"]
    cls = namespace["ADAMOptimizer"]
    for test_id in ADAM_IDS:
        out = "".join(quietly(check, cls) for check in both(test_id))
        assert f"{test_id}: " in out
    # The student's ema_update is back in place (or still absent) afterwards.
    assert namespace.get("ema_update") is broken


def test_the_visible_adam_check_says_why_it_cannot_check_yet():
    cls = adam_class(ema_update=ema_swapped_weights)
    out = quietly(visible("adam_optimizer__matches_torch"), cls)
    assert "not checked yet" in out and "ema_update" in out


def test_a_wrong_adam_on_a_correct_ema_still_fails_the_visible_check():
    cls = adam_class(ADAM_MISTAKES["no_bias_correction"][0])
    with pytest.raises(AssertionError):
        quietly(visible("adam_optimizer__matches_torch"), cls)


def test_the_reference_ema_is_restored_even_when_the_check_fails():
    namespace = notebook(ADAM_MISTAKES["eps_inside_sqrt"][0], ema_update=ema_t_from_zero)
    with pytest.raises(AssertionError):
        quietly(reference_check("adam_optimizer__matches_torch"), namespace["ADAMOptimizer"])
    assert namespace["ema_update"] is ema_t_from_zero


# The untouched release fails every check, without crashing the checks themselves --------------------------


def stub(*args, **kwargs):
    raise NotImplementedError()


class StubAdam:
    def __init__(self, parameters, lr=0.1, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        raise NotImplementedError()

    step = zero_grad = stub


@pytest.mark.parametrize(
    "test_id, answer",
    [(i, stub) for i in GRAD_STATS_IDS + EMA_IDS] + [(i, StubAdam) for i in ADAM_IDS],
)
def test_release_stubs_fail_the_visible_checks(test_id, answer):
    if not isinstance(visible(test_id), hw2checks.aspect.Aspect):  # a hand-written visible check
        with pytest.raises(NotImplementedError):
            quietly(visible(test_id), answer)
        return
    # a shipped aspect's probe keeps what each case raised: the comparison says so, as the
    # grader's; what a probe calls outside its cases (Adam's constructor, first) raises as it is
    with pytest.raises((AssertionError, NotImplementedError)) as failure:
        quietly(visible(test_id), answer)
    if failure.type is AssertionError:
        assert re.search(f"{test_id}.*raised NotImplementedError", str(failure.value)), (
            failure.value
        )


@pytest.mark.parametrize(
    "test_id, answer",
    [(i, stub) for i in GRAD_STATS_IDS + EMA_IDS] + [(i, StubAdam) for i in ADAM_IDS],
)
def test_release_stubs_fail_the_hidden_checks_saying_what_they_raised(test_id, answer):
    with pytest.raises(AssertionError, match=f"{test_id}.*raised NotImplementedError"):
        quietly(reference_check(test_id), answer)


# The probe/judge split: probes return plain data, judges fail on anything else ------------------------

ANSWERS = {
    "q_mean_values__numbers": (-0.2982, 0.0940),
    "q_rms_values__numbers": torch.tensor([2.1092, 0.3078]),
    **{f"q_mean_vs_rms__{name}": answer for name, answer in CHOICES.items()},
}
CORRECT = {
    **{i: gradient_stats for i in GRAD_STATS_IDS},
    **{i: ema_update for i in EMA_IDS},
    **{i: adam_class() for i in ADAM_IDS},
    **ANSWERS,
}
ALL_IDS = list(CORRECT)


class Opaque:
    def __repr__(self):
        return "<opaque>"


PROBED = [  # (check, the student's object): each kind of data a probe returns
    *CORRECT.items(),
    ("grad_stats__values", lambda g: g.mean(0)),
    ("grad_stats__shapes", lambda g: (g.numpy().mean(0), [1.0] * g.shape[1])),
    ("ema_update__formula", ema_swapped_weights),
    ("ema_update__bias_correction", lambda x, beta, t, old: (x, beta, t)),
    ("ema_update__tensors_unchanged", ema_in_place),
    ("ema_update__tensors_unchanged", lambda x, beta, t, old: (float(x.sum()), None)),
    ("q_mean_values__numbers", np.array([-0.2982, 0.0940])),
    ("q_rms_values__numbers", (np.float64(2.1092), np.float32(0.3078))),
    ("q_mean_vs_rms__never_smaller", Opaque()),
    ("q_mean_vs_rms__typical_size", None),
    ("q_mean_vs_rms__sign_changes", ["much smaller"] * 1000),
    *[
        (i, adam_class(ADAM_MISTAKES[name][0]))
        for i in ADAM_IDS
        for name in (
            "state_on_the_class",
            "delegates_to_torch",
            "zero_grad_calls_the_list",
            "zero_grad_needs_backward",
            "zero_grad_resets_t",
        )
    ],
    *[(i, StubAdam) for i in ADAM_IDS],
]


def same(a, b) -> bool:
    if isinstance(a, torch.Tensor):
        return isinstance(b, torch.Tensor) and a.dtype == b.dtype and torch.equal(a, b)
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(map(same, a, b))
    return type(a) is type(b) and a == b


@pytest.mark.parametrize("check, answer", PROBED, ids=lambda v: v if isinstance(v, str) else None)
def test_probe_data_round_trips_as_plain_data(check, answer):
    try:
        data = find_aspect("part2", check).probe(answer)
    except NotImplementedError:  # a stub the probe does not catch: the framework records it
        return
    loaded = hw2probes.from_bytes(hw2probes.to_bytes(data))
    assert same(loaded, data)
    try:  # and the judge makes a verdict of it
        assert find_aspect("part2", check).judge(loaded).startswith(check)
    except AssertionError as failure:
        assert check in str(failure)


def test_probes_hold_no_reference_ema():
    import hw2probes.given as probes

    assert not [
        name
        for name in vars(probes)
        if "ema_update" in name and not name.startswith("_") and not name.startswith("probe_")
    ]


WRONG_SHAPES = [
    None,
    3,
    1.5,
    "garbage",
    [],
    [None],
    {},
    {"result": 1},
    torch.zeros(3),
    {"cpu": None},
    {"cpu": [None] * 3},
    {"cases": [], "sequences": []},
    {"globals_read": "weight_decay", "devices": {}},
    {"globals_read": [], "devices": {"cpu": [{}]}},
    {"class_state": "A.b"},
    {"class_state": [], "devices": {"cpu": {}}},
    {"cpu": {"mixed": {"path": torch.zeros(5, 3)}}},
    {"grads": [1, 2, 3, 4]},
    {"grads": None},
]


@pytest.mark.parametrize("check", ALL_IDS)
@pytest.mark.parametrize("data", WRONG_SHAPES, ids=repr)
def test_judges_fail_on_data_of_the_wrong_shape(check, data):
    with pytest.raises(AssertionError, match=check):
        find_aspect("part2", check).judge(data)


def corruptions(data, limit: int = 8):
    """Copies of ``data`` with one node replaced by None or a str, or (a list) cut short; at
    most ``limit`` nodes, spread over the whole structure."""
    nodes = []

    def walk(node, path):
        nodes.append((path, node))
        if isinstance(node, dict):
            for key, value in node.items():
                walk(value, path + (key,))
        elif isinstance(node, (list, tuple)):
            for index, value in enumerate(node):
                walk(value, path + (index,))

    walk(data, ())
    for path, node in nodes[1 :: max(1, len(nodes) // limit)]:
        for wrong in [None, "x"] + ([node[:-1]] if isinstance(node, list) else []):
            yield replaced(data, path, wrong)


def replaced(node, path, wrong):
    if not path:
        return wrong
    head, rest = path[0], path[1:]
    if isinstance(node, dict):
        return {**node, head: replaced(node[head], rest, wrong)}
    copy = list(node)
    copy[head] = replaced(node[head], rest, wrong)
    return type(node)(copy)


@pytest.mark.parametrize("check", ALL_IDS)
def test_judges_fail_cleanly_on_data_wrong_further_down(check):
    data = find_aspect("part2", check).probe(CORRECT[check])
    judge = find_aspect("part2", check).judge
    assert judge(data).startswith(check)
    for wrong in corruptions(data):
        try:
            judge(wrong)
        except AssertionError as failure:
            assert check in str(failure)
