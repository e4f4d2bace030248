"""Every probe's inputs are drawn per run from the grader's seed (``hw2probes.case_seed``), and
the checks hold whatever the seed: for each of a few run seeds, the probe runs with
``$HW2_PROBE_SEED`` set (as in the sandbox) and the judge with ``Context(seed=...)`` (as in the
grader), both here in one process, on the reference answers (source/hw2), the equivalent
rewrites of tests/mutants.py (which must pass) and its mutants (which must fail their own task
and name their mistake, as tests/test_mutation_corpus.py asks of them through the pipeline).

Only the answer cells whose probes draw seeded inputs are run (``SEEDED``); each runs in a
namespace holding its notebook's import cell. Two seeds by default (about 20 s on a quiet
machine); ``HW2_SEEDS=40`` (or ``HW2_SEED_LIST=1,2,3``) runs more, to measure how often a seed
breaks a check, honest answers included (Part 4's statistics).
"""

from __future__ import annotations

import json
import os
import random

import pytest
import torch

import attacks
import hw2probes
import mutants as corpus
from autograder import judging
from autograder.aspects import Context, Verdict
from autograder.checks import find as find_aspect
from autograder.runnable import hidden_calls, source_text

SEEDED = {
    corpus.NB1: ("gd_loop", "sgd_optimizer"),
    corpus.NB2: ("grad_stats", "ema_update", "adam_optimizer"),
    corpus.NB3: ("residual_sequence",),
    corpus.NB4: (
        "init_zero",
        "init_small",
        "init_large",
        "init_xavier",
        "init_he",
        "supervise_random",
        "supervise_kaiming",
    ),
}
IMPORT_CELL = 2  # each notebook's imports, after the Colab setup cell
SEEDS = [int(s) for s in os.environ.get("HW2_SEED_LIST", "").split(",") if s] or random.Random(
    18
).sample(range(2**31), int(os.environ.get("HW2_SEEDS", "2")))
CUDA = torch.cuda.is_available()
SOURCE_CALLS = {
    nb: hidden_calls(json.loads((corpus.SOURCE / f"{nb}.ipynb").read_text())) for nb in SEEDED
}


def checks_of(notebook: str, cell: str) -> dict:
    """{test cell grade id: hidden call} of answer cell ``cell`` (grade ids ``cell__...``)."""
    return {
        gid: call for gid, call in SOURCE_CALLS[notebook].items() if gid.startswith(cell + "__")
    }


def namespace(nb: dict, cell: str) -> dict:
    """The notebook's import cell, then its answer cell ``cell``, run in a fresh namespace."""
    space: dict = {}
    exec(source_text(nb["cells"][IMPORT_CELL]), space)
    exec(source_text(corpus.answer_cell(nb, cell)), space)
    return space


def verdict(call, space: dict, seed: int, monkeypatch) -> Verdict:
    """The probe with $HW2_PROBE_SEED set, its data through the sandbox's format, and the judge
    under Context(seed=seed) with the variable unset (the grader's process has none)."""
    monkeypatch.setenv(hw2probes.ENV_SEED, str(seed))
    try:
        data = hw2probes.collect(
            hw2probes.probe_named(call.probe), lambda: eval(f"({call.arguments},)", space)
        )
    finally:
        monkeypatch.delenv(hw2probes.ENV_SEED)
    data = hw2probes.from_bytes(hw2probes.to_bytes(data))
    return judging.judge(call.part, call.check, call.literals, data, Context(seed=seed))


def graded(nb: dict, notebook: str, cells, seed: int, monkeypatch, prefix: str = "") -> dict:
    """{grade id: Verdict} of the test cells of ``cells`` (those starting with ``prefix``)."""
    verdicts = {}
    for cell in cells:
        space, checks = namespace(nb, cell), checks_of(notebook, cell)
        assert checks, f"{notebook}: no test cell of {cell}"
        for gid, call in checks.items():
            if gid.startswith(prefix):
                verdicts[gid] = verdict(call, space, seed, monkeypatch)
    return verdicts


def test_outside_grading_the_defaults_and_under_a_seed_a_stream_of_its_own(monkeypatch):
    monkeypatch.delenv(hw2probes.ENV_SEED, raising=False)
    assert hw2probes.current_seed() is None and hw2probes.case_seed(11) == 11
    monkeypatch.setenv(hw2probes.ENV_SEED, "5")
    drawn = {hw2probes.case_seed(d) for d in range(100)}
    assert len(drawn) == 100 and not drawn & set(range(100)) and max(drawn) < 2**62
    with hw2probes.seeded(6):  # the judge's seed wins over the environment
        assert hw2probes.case_seed(11) not in drawn and hw2probes.run_seed(2) == 6
    with hw2probes.seeded(None):
        assert hw2probes.case_seed(11) == 11 and hw2probes.run_seed(2) == 2
    assert hw2probes.case_seed(11) in drawn


@pytest.mark.certify  # a sweep: every seeded check of every notebook, per seed
@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("notebook", list(SEEDED))
def test_reference_and_equivalents_pass_for_every_seed(notebook, seed, monkeypatch):
    equivalents = [corpus.equivalent(eq) for eq in corpus.EQUIVALENTS if eq.notebook == notebook]
    for name, nb in [("reference", corpus.load(notebook))] + [
        ("equivalent", e) for e in equivalents
    ]:
        failed = {
            gid: v.message
            for gid, v in graded(nb, notebook, SEEDED[notebook], seed, monkeypatch).items()
            if not v.passed
        }
        assert not failed, (name, seed, failed)


SEEDED_MUTANTS = [m for m in corpus.MUTANTS if m.cell in SEEDED.get(m.notebook, ())]


@pytest.mark.certify  # a sweep: every seeded mutant, per seed
@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("mutant", SEEDED_MUTANTS, ids=lambda m: m.name)
def test_mutants_fail_and_name_their_mistake_for_every_seed(mutant, seed, monkeypatch):
    if mutant.cuda_only and not CUDA:
        pytest.skip("told from the reference only on a CUDA machine")
    verdicts = graded(
        corpus.mutated(mutant), mutant.notebook, [mutant.cell], seed, monkeypatch, mutant.task
    )
    failed = {gid: v.message for gid, v in verdicts.items() if not v.passed}
    assert failed, (
        f"{mutant.name} ({mutant.mistake}) passed every check of {mutant.task} with seed {seed}"
    )
    assert any(mutant.says.lower() in message.lower() for message in failed.values()), (
        mutant.name,
        seed,
        mutant.says,
        failed,
    )


TABLES = [
    ("EMA_TABLE", "ema_update", "part2", ("ema_update__formula", "ema_update__bias_correction")),
    (
        "DESCEND_TABLE",
        "descend",
        "part1",
        ("gd_loop__matches_reference", "gd_loop__in_place", "gd_loop__tensor_lr"),
    ),
]


@pytest.mark.parametrize("table, name, part, checks", TABLES, ids=[t[0] for t in TABLES])
def test_an_answer_table_for_the_default_seed_passes_outside_grading_only(
    table, name, part, checks, monkeypatch
):
    """The answer tables of tests/attacks.py (family answer_table) replay the reference on the
    default seed's inputs: they pass every check there, and none under a run seed."""
    space: dict = {}
    exec(getattr(attacks, table), space)
    for check in checks:
        call = SOURCE_CALLS[corpus.NB1 if part == "part1" else corpus.NB2][check]
        assert judging.judge(
            part,
            check,
            (),
            hw2probes.collect(find_aspect(part, check).probe, lambda: (space[name],)),
        ).passed
        assert not verdict(call, space, SEEDS[0], monkeypatch).passed, check
