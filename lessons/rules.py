"""The hidden rules behind the two HW2 datasets (instructor-only: this is EC2's answer).

An input is x ∈ {0,1}^36, a row-major 6×6 grid. A *variant* (one per term, chosen by a seed)
fixes a secret permutation π of the 36 positions; it splits them into 6 groups of 6, and each
group i into three "plus" cells P_i and three "minus" cells M_i. Per group, the zero-sum
contrast is

    d_i(x) = Σ_{j∈P_i} x_j − Σ_{j∈M_i} x_j ∈ {−3, …, 3},     d_i + 3 ~ Binomial(6, 1/2)

and a per-group feature is read off it:

    tiny:  f_i = [d_i > 0]   off-centre threshold; a bit in P_i moves P(f_i) by 5/16, which
                             leaves a weak first-order foothold for gradient descent
    hard:  f_i = [d_i = 0]   symmetric bump; P(f_i = 1 | x_j) = 10/32 for either value of any
                             single bit x_j, so no single bit carries information

    label(x) = [f_0 + f_1 + f_2 = f_3 + f_4 + f_5]

Both kinds share π (hence the projection d) and the threshold position, which is why a
network pretrained on tiny can be fine-tuned on hard while one trained from scratch on hard
only memorizes. An MLP is blind to π; π only makes each term's rule different.
"""

from dataclasses import dataclass

import numpy as np

GRID = 6
N_FEATURES = GRID * GRID
N_GROUPS = 6
GROUP_SIZE = N_FEATURES // N_GROUPS
KINDS = ("tiny", "hard")
DEFAULT_SEED = 20250

# Independent random streams derived from one term seed (numpy SeedSequence spawn keys).
PERMUTATION_STREAM = 0


@dataclass(frozen=True)
class Variant:
    """One term's rule: `plus` and `minus` are (6, 3) index arrays into the 36 features."""

    seed: int
    plus: np.ndarray
    minus: np.ndarray

    @classmethod
    def from_seed(cls, seed=DEFAULT_SEED):
        rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(PERMUTATION_STREAM,)))
        groups = rng.permutation(N_FEATURES).reshape(N_GROUPS, GROUP_SIZE)
        half = GROUP_SIZE // 2
        return cls(seed=seed, plus=groups[:, :half].copy(), minus=groups[:, half:].copy())


def _flat(grid):
    """Accept (36,), (6, 6), (N, 36) or (N, 6, 6) bool/0-1 input; return (..., 36) int8."""
    x = np.asarray(grid)
    if x.shape[-2:] == (GRID, GRID):
        x = x.reshape(*x.shape[:-2], N_FEATURES)
    if x.shape[-1] != N_FEATURES:
        raise ValueError(f"expected 36 features or a 6x6 grid, got shape {x.shape}")
    if not np.isin(x, (0, 1)).all():
        raise ValueError("inputs must be binary (bool or 0/1)")
    return x.astype(np.int8)


def contrasts(grid, variant):
    """d (..., 6) int: per-group ones in the plus cells minus ones in the minus cells."""
    x = _flat(grid)
    return x[..., variant.plus].sum(-1, dtype=np.int8) - x[..., variant.minus].sum(
        -1, dtype=np.int8
    )


def group_features(grid, variant, kind):
    """f (..., 6) bool: [d_i > 0] for tiny, [d_i = 0] for hard."""
    d = contrasts(grid, variant)
    if kind == "tiny":
        return d > 0
    if kind == "hard":
        return d == 0
    raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")


def rule(grid, variant=None, kind="tiny"):
    """The true label of one grid (Python bool) or a batch (bool array of shape (N,)).

    `variant` defaults to the shipped data's variant, `Variant.from_seed(DEFAULT_SEED)`.
    """
    variant = Variant.from_seed() if variant is None else variant
    f = group_features(grid, variant, kind)
    half = N_GROUPS // 2
    label = f[..., :half].sum(-1) == f[..., half:].sum(-1)
    return bool(label) if label.ndim == 0 else label
