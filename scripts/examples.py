"""The example class that the main job grades: realistic submissions made from the reference.

    python scripts/examples.py OUT [--lms canvas|moodle|blackboard]
        ->  OUT/<student>/<notebooks>, or OUT laid out as that LMS's "download all submissions"

- ``reference``: the release with every answer right (the source notebooks' answers);
- ``blank``: the four release notebooks, untouched;
- four students who each make mistakes real students made (taken from the mutation corpus,
  tests/mutants.py), some with Colab's "Copy of" names or a missing notebook.
Extra credit EC1 is graded on a model file handed in beside notebook 4 (``write_ec_models``): the
reference hands in the network its EC1 solution fine-tunes, "ben" one trained on hard from
scratch (the mistake EC1 is about), under a browser's second-download name.
The class is rebuilt from source/hw2 each time, so it follows the current solutions.
``--lms`` lays it out as that LMS's download (``ROSTER``: made-up people and LMS ids), as the
intake reads it: what the export's LMS files are made from (README, "5b").
"""

import argparse
import contextlib
import copy
import io
import json
import shutil
import sys
import tempfile
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
import hw2utils  # noqa: E402 -- the kit's root is on sys.path above
import mutants  # noqa: E402 -- tests/ is on sys.path above; the corpus: one wrong answer each
from autograder.kit import ASSIGNMENT, NOTEBOOKS  # noqa: E402 -- as hw2utils

SOURCE, RELEASE = ROOT / "source" / ASSIGNMENT, ROOT / "release" / ASSIGNMENT
# student: (mutants they make, notebooks they did not hand in, file name prefix)
STUDENTS = {
    "ada": (["sgd_decay_outside_lr", "rms_root_of_sum_over_n", "kaiming_fan_out"], [], ""),
    "ben": (["adam_state_rebound", "residual_without_skip", "large_init_std_5"], [], "Copy of "),
    "chloe": (
        ["sgd_decay_sign_flipped", "adam_decay_outside_update", "supervise_random_std_1"],
        [NOTEBOOKS[2]],
        "",
    ),
    "dev": (["ema_no_bias_correction", "xavier_uniform_wrong_limit"], [], ""),
}


def write_ec_models(fine_tuned: Path, from_scratch: Path) -> None:
    """Two EC1 model files as a student's ``hw2utils.save_ec_model`` writes them, made by the
    source notebook's own cells (its imports cell, then the EC1 solution: pretrain on tiny,
    fine-tune on hard; seconds on one core):

    - ``fine_tuned``: that network, about 0.99 on unseen hard examples (EC1: 5 of 5);
    - ``from_scratch``: the same network re-initialized and trained on hard alone, which
      memorizes its training set and stays near chance held out (EC1: 1 of 5, it loads).
    """
    notebook = json.loads((SOURCE / f"{NOTEBOOKS[3]}.ipynb").read_text())
    code = ["".join(cell["source"]) for cell in notebook["cells"] if cell["cell_type"] == "code"]
    imports = next(source for source in code if "import hw2utils" in source and "SEED =" in source)
    solution = next(
        "".join(cell["source"])
        for cell in notebook["cells"]
        if cell["metadata"].get("nbgrader", {}).get("grade_id") == "ec_transfer"
    )
    # in an empty folder the solution trains even in grading mode (no model file to keep)
    with (
        tempfile.TemporaryDirectory() as scratch,
        contextlib.chdir(scratch),
        contextlib.redirect_stdout(io.StringIO()),
    ):
        namespace: dict = {}
        exec(compile(imports, "04_initialization: imports", "exec"), namespace)
        exec(compile(solution, "04_initialization: ec_transfer", "exec"), namespace)
        hw2utils._write_ec_model(namespace["net_ec"], fine_tuned, saved_by="save_ec_model")
        scratch_net = copy.deepcopy(namespace["net_ec"])
        torch.manual_seed(namespace["SEED"])
        for module in scratch_net.modules():
            if hasattr(module, "reset_parameters"):
                module.reset_parameters()  # also BatchNorm's running statistics
        namespace["fit"](scratch_net, hw2utils.load_dataset("hard"), max_epochs=300)
        hw2utils._write_ec_model(scratch_net, from_scratch, saved_by="save_ec_model")


# student: (full name, Canvas user id, Moodle participant id, Blackboard username), made up
ROSTER = {
    "reference": ("Grace Hopper", "4101", "7201", "ghopper"),
    "blank": ("Alan Turing", "4102", "7202", "aturing"),
    "ada": ("Ada Lovelace", "4103", "7203", "alovelace"),
    "ben": ("Ben Bitdiddle", "4104", "7204", "bbitdiddle"),
    "chloe": ("Chloé Zhao", "4105", "7205", "czhao"),
    "dev": ("Dev Patel", "4106", "7206", "dpatel"),
}
LAYOUTS = ("canvas", "moodle", "blackboard")


def as_lms_download(folders: Path, out: Path, lms: str) -> None:
    """Lay the per-student ``folders`` out under ``out`` as ``lms``'s download names them
    (autograder/intake.py reads these shapes): Canvas ``lastfirst_userid_subid_file``,
    Moodle ``Full Name_id_assignsubmission_file_/file``, Blackboard
    ``HW2_user_attempt_date_file``."""
    out.mkdir(parents=True)
    for number, (student, (name, canvas, moodle, blackboard)) in enumerate(ROSTER.items()):
        last_first = "".join(reversed(name.lower().split()))
        for path in sorted((folders / student).iterdir()):
            if lms == "canvas":
                target = out / f"{last_first}_{canvas}_{90000 + number}_{path.name}"
            elif lms == "moodle":
                target = out / f"{name}_{moodle}_assignsubmission_file_" / path.name
            else:
                target = out / f"HW2_{blackboard}_attempt_2026-12-01-09-00-00_{path.name}"
            target.parent.mkdir(exist_ok=True)
            shutil.copy(path, target)


def write_class(out: Path, ec_models: bool = True) -> list[str]:
    """Write the example submissions under ``out``; returns the student names. Without
    ``ec_models`` the EC1 model files are empty placeholders under their names (for what needs
    the files' names, not the trained networks: seconds of training saved)."""
    shutil.rmtree(out, ignore_errors=True)
    mutants.write_reference(out / "reference", NOTEBOOKS)
    (out / "blank").mkdir(parents=True)
    for notebook in NOTEBOOKS:
        shutil.copy(RELEASE / f"{notebook}.ipynb", out / "blank" / f"{notebook}.ipynb")
    by_name = {m.name: m for m in mutants.MUTANTS}
    for student, (mistakes, missing, prefix) in STUDENTS.items():
        notebooks = {n: mutants.load(n) for n in NOTEBOOKS if n not in missing}
        for mistake in mistakes:
            m = by_name[mistake]
            notebooks[m.notebook] = mutants.apply(notebooks[m.notebook], m.cell, m.edits())
        (out / student).mkdir(parents=True)
        for notebook, nb in notebooks.items():
            (out / student / f"{prefix}{notebook}.ipynb").write_text(json.dumps(nb, indent=1))
    models = out / "reference" / hw2utils.EC_MODEL_FILE, out / "ben" / "ec_transfer_model (1).pt"
    if ec_models:
        write_ec_models(*models)
    else:
        for path in models:
            path.touch()
    return ["reference", "blank", *STUDENTS]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--lms", choices=LAYOUTS, help="lay the class out as this LMS's download")
    args = parser.parse_args()
    if args.lms is None:
        print(write_class(args.out))
    else:
        with tempfile.TemporaryDirectory() as scratch:
            write_class(Path(scratch) / "class")
            shutil.rmtree(args.out, ignore_errors=True)
            as_lms_download(Path(scratch) / "class", args.out, args.lms)
        print(sorted(p.name for p in args.out.iterdir()))
