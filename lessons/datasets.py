"""Generate the two HW2 datasets for a term seed; draw fresh labelled examples for grading.

    python -m lessons.datasets --seed 20250 --out data/

writes `tiny-classification.npz` and `hard-classification.npz`: keys {train,val,test}_{data,labels},
data bool (N, 36), labels bool (N,), N = 8000 / 1000 / 1000, each split exactly half positive,
no example in more than one split. The rule is in `lessons.rules`. One seed fixes the
variant (secret permutation) and every draw, so the same seed gives byte-identical files.
"""

import argparse
import io
import zipfile
from pathlib import Path

import numpy as np

from lessons.rules import DEFAULT_SEED, KINDS, N_FEATURES, Variant, rule

SPLITS = (("train", 8000), ("val", 1000), ("test", 1000))
KEYS = tuple(f"{split}_{part}" for split, _ in SPLITS for part in ("data", "labels"))
FILENAMES = {"tiny": "tiny-classification.npz", "hard": "hard-classification.npz"}

# SeedSequence spawn keys: (1 + kind index, purpose); (0,) is the rule's permutation stream.
SHIPPED_STREAM, FRESH_STREAM = 0, 1
_BIT_WEIGHTS = np.left_shift(np.int64(1), np.arange(N_FEATURES, dtype=np.int64))


def example_keys(data):
    """One int64 per example (its 36 bits read as a binary number), for uniqueness checks."""
    return np.asarray(data, dtype=np.int64) @ _BIT_WEIGHTS


def _rng(seed, kind, purpose):
    return np.random.default_rng(
        np.random.SeedSequence(seed, spawn_key=(1 + KINDS.index(kind), purpose))
    )


def draw_balanced(n, variant, kind, rng, seen):
    """Rejection-sample n distinct uniform-bit examples, ⌈n/2⌉ positive, ⌊n/2⌋ negative.

    Fair bits make ~1/3 of the examples positive; we keep drawn examples in order while their
    class has room, so the classes balance without reweighting. `seen` (a set of example keys)
    is updated in place: examples already in it are skipped, which keeps splits disjoint.
    Returns data bool (n, 36) and labels bool (n,).
    """
    room = {True: (n + 1) // 2, False: n // 2}
    data, labels = [], []
    while room[True] or room[False]:
        batch = rng.integers(0, 2, size=(2 * n, N_FEATURES), dtype=np.uint8).astype(bool)
        for x, y, key in zip(batch, rule(batch, variant, kind), example_keys(batch)):
            y = bool(y)
            if room[y] and key not in seen:
                seen.add(key)
                room[y] -= 1
                data.append(x)
                labels.append(y)
    return np.array(data, dtype=bool), np.array(labels, dtype=bool)


def make_dataset(kind, seed=DEFAULT_SEED):
    """{key: array} for one kind of the given term, splits drawn in order train, val, test."""
    variant, rng, seen, arrays = (
        Variant.from_seed(seed),
        _rng(seed, kind, SHIPPED_STREAM),
        set(),
        {},
    )
    for split, n in SPLITS:
        arrays[f"{split}_data"], arrays[f"{split}_labels"] = draw_balanced(
            n, variant, kind, rng, seen
        )
    return arrays


def fresh_examples(kind, n, seed=0, term_seed=DEFAULT_SEED):
    """n balanced labelled examples of the term's rule that appear in none of its shipped splits.

    For grading on data the student never saw (EC1). `seed` picks the draw; it is a separate
    stream from the shipped files', so any seed works. Returns data bool (n, 36), labels bool (n,).
    """
    shipped = make_dataset(kind, term_seed)
    seen = set(example_keys(np.concatenate([shipped[f"{s}_data"] for s, _ in SPLITS])).tolist())
    rng = np.random.default_rng(
        np.random.SeedSequence([term_seed, seed], spawn_key=(1 + KINDS.index(kind), FRESH_STREAM))
    )
    return draw_balanced(n, Variant.from_seed(term_seed), kind, rng, seen)


def npz_bytes(arrays):
    """An .npz (what np.load reads) whose bytes depend only on the arrays.

    np.savez stamps each member with the current time; we write the zip ourselves with a fixed
    timestamp, fixed member order and no compression, so regenerating gives identical bytes.
    """
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        for key, array in arrays.items():
            member = io.BytesIO()
            np.lib.format.write_array(member, np.ascontiguousarray(array), allow_pickle=False)
            info = zipfile.ZipInfo(f"{key}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            archive.writestr(info, member.getvalue())
    return buffer.getvalue()


def write_datasets(out_dir, seed=DEFAULT_SEED):
    """Write both files of the term into out_dir; return their paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for kind in KINDS:
        path = out_dir / FILENAMES[kind]
        path.write_bytes(npz_bytes(make_dataset(kind, seed)))
        paths.append(path)
    return paths


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--seed", type=int, default=DEFAULT_SEED, help="term seed (rule variant and draws)"
    )
    parser.add_argument("--out", default="data", help="output directory")
    args = parser.parse_args(argv)
    for path in write_datasets(args.out, args.seed):
        print(path)


if __name__ == "__main__":
    main()
