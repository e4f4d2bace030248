"""The small class that the batch-grading tests grade: the reference (with its EC1 model under
a browser's second-download name), the untouched release, and a student whose notebooks are
renamed and one unreadable."""

import shutil
from pathlib import Path

import hw2utils
import mutants  # tests/: the reference submission
from ec_networks import rule_network  # tests/: an exact EC1 network, no training

RELEASE = Path(__file__).resolve().parents[1] / "release" / "hw2"


def write(
    subs: Path, reference: str = "reference", blank: str = "blank", broken: str = "broken"
) -> None:
    """One folder per student in ``subs``, named as given."""
    mutants.write_reference(subs / reference)
    shutil.copytree(RELEASE, subs / blank, ignore=shutil.ignore_patterns("data", "*.py", "*.md"))
    hw2utils._write_ec_model(
        rule_network(), subs / reference / "ec_transfer_model (1).pt", saved_by="save_ec_model"
    )
    folder = subs / broken
    folder.mkdir()
    mutants.write_reference(folder, [mutants.NB1, mutants.NB2, mutants.NB3])
    (folder / f"{mutants.NB1}.ipynb").rename(folder / f"Copy of {mutants.NB1}.ipynb")
    (folder / f"{mutants.NB2}.ipynb").rename(folder / f"{mutants.NB2} (1).ipynb")
    (folder / f"{mutants.NB4}.ipynb").write_text("{ this is not json")
