"""The hand-graded questions and what would give each answer away (instructor-only).

Each manually graded cell (``manual="..."`` in notebooks/NN_*.py) has an entry here: its
question number, what it asks, and the phrases that state its answer. The model answer and
rubric stay in the notebook source (the release replaces them with "YOUR ANSWER HERE");
this module only says what shipped text must not say before the question is asked, and
``tests/test_written_answer_leaks.py`` searches the release notebooks, hw2utils.py,
hw2checks/, the student README and the datasheet for it.

Phrases are regular expressions matched against ``normalise(text)``: lower case, LaTeX
symbols as Unicode (``\\lambda`` -> ``λ``), ``$``, braces and LaTeX spacing dropped, runs of
whitespace as one space. Keep them specific: a phrase states the answer, not the topic.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

_SYMBOLS = {
    r"\lambda": "λ",
    r"\theta": "θ",
    r"\nu": "ν",
    r"\alpha": "α",
    r"\sigma": "σ",
    r"\partial": "∂",
    r"\approx": "≈",
    r"\times": "×",
    r"\cdot": "·",
    r"\sqrt": "√",
    "−": "-",
}
_DROPPED = re.compile(r"\\[,;:! ]|\\(?:big|Big|left|right|mathcal|operatorname)\b|[${}`*]")


@dataclass(frozen=True)
class WrittenAnswer:
    question: str  # as the notebook numbers it: "1.E"
    asks: str  # the question in a line
    gives_away: tuple[str, ...]  # regexes over normalise(text) that state the answer


def normalise(text: str) -> str:
    """``text`` as the phrases are matched against it (see the module docstring)."""
    for latex, symbol in _SYMBOLS.items():
        text = text.replace(latex, symbol)
    return re.sub(r"\s+", " ", _DROPPED.sub("", text)).lower()


# Code spellings of the decay term ("p.grad + weight_decay * p") lose their "*" in normalise.
_DECAY_TERM = r"(?:λ ?θ|(?:self\.)?weight_decay ?p\b)"

WRITTEN_ANSWERS: dict[str, WrittenAnswer] = {
    "q_lr_high": WrittenAnswer(
        "1.A",
        "what goes wrong when the learning rate is too high",
        (
            r"(?:rate|step)s? (?:that is |is )?too (?:high|large|big)\b"
            r"[^.]{0,80}(?:overshoot|diverg|oscillat|zig-?zag)",
            r"(?:overshoot|diverg)\w*[^.]{0,60}(?:rate|step)s? (?:is )?too (?:high|large|big)\b",
            r"if the (?:learning )?rate is (?:too )?(?:high|large) enough[^.]{0,40}diverg",
        ),
    ),
    "q_lr_low": WrittenAnswer(
        "1.B",
        "what goes wrong when the learning rate is too low",
        (
            r"(?:rate|step)s? (?:that is |is )?too (?:low|small)\b[^.]{0,80}(?:slow|barely|hardly|little progress)",
            r"(?:steps are tiny|tiny steps),? so progress is slow",
        ),
    ),
    "q_curvature": WrittenAnswer(
        "1.C",
        "higher or lower learning rate along higher curvature",
        (
            r"(?:high|higher|large|larger|steep\w*) curvature[^.]{0,80}(?:lower|smaller) (?:learning )?rate",
            r"(?:lower|smaller) (?:learning )?rate[^.]{0,60}(?:high|higher|large|larger|steep\w*) curvature",
            r"(?:smaller|lower) (?:learning )?rate (?:for|along) x_?0\b",
        ),
    ),
    "q_wd_gradient": WrittenAnswer(
        "1.D",
        "the gradient of L_obj + λ/2 ||θ||²",
        (
            r"\+ ?" + _DECAY_TERM,  # "∇L_obj(θ) + λθ", "p.grad + weight_decay * p"
            r"add\w* " + _DECAY_TERM,
            _DECAY_TERM + r" (?:is )?(?:added )?to the gradient",
            _DECAY_TERM + r" is part of the gradient",
            r"derivative of [^.]{0,40}\bis λ ?θ",
            r"gradient[^.]{0,20} plus the (?:weight )?decay term (?:λ ?θ|10\^-3 ?w)",
        ),
    ),
    "q_wd_update": WrittenAnswer(
        "1.E",
        "one gradient-descent step with weight decay, and why 'decay'",
        (
            r"\( ?1 ?- ?(?:ν|lr|η|α) ?·? ?(?:λ|weight_decay) ?\)",
            r"1 ?- ?(?:lr|self\.lr) ?(?:self\.)?weight_decay",
            r"learning rate (?:also )?(?:scales|multiplies)[^.]{0,40}(?:decay|whole gradient)",
            r"shrink\w* θ directly[^.]{0,30}same",
            r"shrinks? (?:every|each) (?:parameter|weight) by (?:the|a) (?:constant )?factor",
        ),
    ),
    "q_scale_invariance": WrittenAnswer(
        "2.D",
        "how scaling every gradient by K changes the step",
        (
            r"\bk ?s? cancel",
            r"(?:step|update)[^.]{0,40}(?:does not|doesn't|independent of)"
            r"[^.]{0,30}(?:scale|size) of the (?:gradient|loss)",
            r"step is about (?:α|the learning rate),? however (?:small|large)",
            r"small gradients? (?:alone )?(?:does not|doesn't) make a small step",
        ),
    ),
    "q_nonlinearities": WrittenAnswer(
        "3.A",
        "sigmoid vs tanh vs ReLU after 500 epochs, and why",
        (
            r"sigmoid[^.]{0,60}derivative[^.]{0,20}(?:at most|≤|<=) ?0?\.25",
            r"derivative of (?:a |the )?sigmoid[^.]{0,30}(?:0?\.25|1/4)",
            r"sigmoid (?:network|net|hidden units)[^.]{0,60}(?:stays?|stayed|stuck) (?:at|near) chance",
            r"relu[^.]{0,60}(?:learns|trains|does) (?:best|fastest)",
        ),
    ),
    "q_adam_overfitting": WrittenAnswer(
        "3.B",
        "Adam without decay vs SGD vs Adam with decay",
        (
            r"as adam did in 3\.6",
            r"without (?:weight )?decay,? adam[^.]{0,100}(?:memoriz|overfit|fits the training set much faster)",
            r"(?:decay|penalty)[^.]{0,80}gap[^.]{0,50}narrow",
            r"adam (?:without (?:weight )?decay|in 3\.6|of 3\.6)[^.]{0,80}(?:memoriz|overfit)",
            r"weight decay[^.]{0,60}(?:narrow|clos|shrink)\w* the gap",
        ),
    ),
    "q_width": WrittenAnswer(
        "3.C",
        "widths 128 to 16: fit, capacity, held-out accuracy",
        (
            r"narrow\w* network[^.]{0,60}fits?[^.]{0,30}(?:less|worse)",
            r"(?:fewer units|narrower)[^.]{0,40}less capacity",
            r"widest[^.]{0,60}fits?[^.]{0,30}better",
        ),
    ),
    "q_depth_batchnorm": WrittenAnswer(
        "3.D",
        "depth without BatchNorm (3.12) and with it (3.13)",
        (
            r"(?:3\.12|six[- ]layer network)[^.]{0,120}(?:stay\w*|stuck|remain\w*) (?:at|near) chance",
            r"batchnorm[^.]{0,30}3\.13[^.]{0,30}(?:matters|helps|fixes|makes it learn|trains)",
        ),
    ),
    "q_residual": WrittenAnswer(
        "3.E",
        "what residual connections and BatchNorm contribute",
        (
            r"identity path[^.]{0,80}gradient",
            r"gradient[^.]{0,40}identity path",
            r"= ?i ?\+ ?∂ ?f",
            r"residual[^.]{0,40}\(3\.1[78](?:, 3\.1[78])?\),? (?:did|generaliz\w*|learn\w*|reach\w*)\b",
        ),
    ),
    "q_zero_init": WrittenAnswer(
        "4.A",
        "zero weights: what units compute, their gradients, training",
        (
            r"break\w* (?:the |this )?symmetry",
            r"(?:units|neurons)[^.]{0,60}(?:stay|remain) identical",
            r"same gradient[^.]{0,40}same update",
        ),
    ),
    "q_small_init": WrittenAnswer(
        "4.B",
        "N(0, 0.01²) weights: why activations shrink, the gradients",
        (
            r"2048 ?× ?0?\.01\^?2 ?≈ ?0?\.2",
            r"∂ ?l ?/ ?∂ ?w[^.]{0,60}proportional to[^.]{0,30}activations",
            r"0?\.45\^7",
            r"√ ?0?\.2\b",
        ),
    ),
    "q_large_init": WrittenAnswer(
        "4.C",
        "N(0, 0.05²) weights: why activations crowd at ±1, the gradients",
        (
            r"(?:tanh'|tanh′|derivative of tanh)[^.]{0,40}(?:close to|near|≈) ?0\b",
            r"2048 ?× ?0?\.05\^?2 ?≈ ?5",
            r"large (?:initial )?weights[^.]{0,60}saturat",
            r"saturat\w*[^.]{0,60}(?:large|larger) (?:initial )?weights",
        ),
    ),
}


def giveaways(text: str, grade_ids: Iterable[str] | None = None) -> list[tuple[str, str]]:
    """(grade id, the words that state its answer) for each phrase found in ``text``."""
    found, plain = [], normalise(text)
    for grade_id in grade_ids if grade_ids is not None else WRITTEN_ANSWERS:
        for phrase in WRITTEN_ANSWERS[grade_id].gives_away:
            found += [(grade_id, m.group(0)) for m in re.finditer(phrase, plain)]
    return found
