"""The small class that the batch-grading tests grade, once a session (tests/conftest.py's
``small_class_graded``, for tests/test_grade.py, tests/test_shards.py and tests/test_browser.py):
the reference (with its EC1 model under a browser's second-download name), the untouched
release, a student whose notebooks are renamed and one unreadable, and one who hands in
notebook 4 with its extra-credit values forged. The names split into two shards: reference and
broken hash to shard 1 of 2, untouched and forger to shard 2."""

import json
import shutil
from pathlib import Path

import hw2utils
import mutants  # tests/: the reference submission
from ec_networks import rule_network  # tests/: an exact EC1 network, no training

RELEASE = Path(__file__).resolve().parents[1] / "release" / "hw2"
STUDENTS = ("broken", "forger", "reference", "untouched")


def write(subs: Path) -> None:
    """One folder per student of STUDENTS in ``subs``."""
    mutants.write_reference(subs / "reference")
    shutil.copytree(
        RELEASE, subs / "untouched", ignore=shutil.ignore_patterns("data", "*.py", "*.md")
    )
    hw2utils._write_ec_model(
        rule_network(), subs / "reference" / "ec_transfer_model (1).pt", saved_by="save_ec_model"
    )
    folder = subs / "broken"
    folder.mkdir()
    mutants.write_reference(folder, [mutants.NB1, mutants.NB2, mutants.NB3])
    (folder / f"{mutants.NB1}.ipynb").rename(folder / f"Copy of {mutants.NB1}.ipynb")
    (folder / f"{mutants.NB2}.ipynb").rename(folder / f"{mutants.NB2} (1).ipynb")
    (folder / f"{mutants.NB4}.ipynb").write_text("{ this is not json")
    write_forger(subs / "forger")


def write_forger(folder: Path) -> None:
    """Notebook 4 answered, with its EC1 model, and every extra-credit cell's value (the kit's
    own hw2 metadata) 100 times what it is."""
    mutants.write_reference(folder, [mutants.NB4])
    path = folder / f"{mutants.NB4}.ipynb"
    notebook = json.loads(path.read_text())
    for cell in notebook["cells"]:
        if "extra_credit" in cell["metadata"].get("hw2", {}):
            cell["metadata"]["hw2"]["extra_credit"] *= 100
    path.write_text(json.dumps(notebook))
    hw2utils._write_ec_model(
        rule_network(), folder / hw2utils.EC_MODEL_FILE, saved_by="save_ec_model"
    )
