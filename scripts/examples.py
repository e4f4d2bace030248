"""The example class that the main job grades: realistic submissions made from the reference.

    python scripts/examples.py OUT      ->  OUT/<student>/<notebooks>

- ``reference``: the four source notebooks (every answer right);
- ``blank``: the four release notebooks, untouched;
- four students who each make mistakes real students made (taken from the mutation corpus,
  tests/mutants.py), some with Colab's "Copy of" names or a missing notebook.
The class is rebuilt from source/hw2 each time, so it follows the current solutions.
"""
import json
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
import mutants  # noqa: E402  (the corpus: one wrong answer each)

SOURCE, RELEASE = ROOT / "source" / "hw2", ROOT / "release" / "hw2"
NOTEBOOKS = ("01_gradient_descent", "02_ema_adam", "03_training", "04_initialization")
# student: (mutants they make, notebooks they did not hand in, file name prefix)
STUDENTS = {
    "ada": (["sgd_decay_outside_lr", "rms_root_of_sum_over_n", "kaiming_fan_out"], [], ""),
    "ben": (["adam_state_rebound", "residual_without_skip", "large_init_std_5"], [], "Copy of "),
    "chloe": (["sgd_decay_sign_flipped", "adam_decay_outside_update", "supervise_random_std_1"],
              ["03_training"], ""),
    "dev": (["ema_no_bias_correction", "xavier_uniform_wrong_limit"], [], ""),
}


def write_class(out: Path) -> list[str]:
    """Write the example submissions under ``out``; returns the student names."""
    shutil.rmtree(out, ignore_errors=True)
    for name, tree in (("reference", SOURCE), ("blank", RELEASE)):
        (out / name).mkdir(parents=True)
        for notebook in NOTEBOOKS:
            shutil.copy(tree / f"{notebook}.ipynb", out / name / f"{notebook}.ipynb")
    by_name = {m.name: m for m in mutants.MUTANTS}
    for student, (mistakes, missing, prefix) in STUDENTS.items():
        notebooks = {n: mutants.load(n) for n in NOTEBOOKS if n not in missing}
        for mistake in mistakes:
            m = by_name[mistake]
            notebooks[m.notebook] = mutants.apply(notebooks[m.notebook], m.cell, m.edits())
        (out / student).mkdir(parents=True)
        for notebook, nb in notebooks.items():
            (out / student / f"{prefix}{notebook}.ipynb").write_text(json.dumps(nb, indent=1))
    return ["reference", "blank", *STUDENTS]


if __name__ == "__main__":
    print(write_class(Path(sys.argv[1])))
