"""Submission intake: renamed, duplicated, broken and missing notebooks, per-student
folders and a flat Canvas zip, each ending in the nbgrader layout and a recorded problem."""
import json
import os
import time
import zipfile
from pathlib import Path

import pytest

from autograder import intake

ROOT = Path(__file__).resolve().parents[1]
RELEASE = ROOT / "release" / "hw2"


@pytest.mark.parametrize("filename, expected", [
    ("01_gradient_descent.ipynb", "01_gradient_descent"),
    ("Copy of 02_ema_adam.ipynb", "02_ema_adam"),
    ("Copy of Copy of 03_training (1).ipynb", "03_training"),
    ("04_Initialization-2.ipynb", "04_initialization"),
    ("02 EMA Adam.ipynb", "02_ema_adam"),
    ("hw2_training_final.ipynb", "03_training"),
    ("homework.ipynb", None),
])
def test_names_that_colab_and_lms_produce(filename, expected):
    assert intake.canonical_by_name(filename) == expected


@pytest.mark.parametrize("filename, expected", [
    ("ec_transfer_model.pt", "ec_transfer_model.pt"),
    ("ec_transfer_model (1).pt", "ec_transfer_model.pt"),     # a second browser download
    ("ec_transfer_model-2.pt", "ec_transfer_model.pt"),       # Canvas's resubmission
    ("2026-11-02-10-00-00 ec_transfer_model.pt", "ec_transfer_model.pt"),  # Blackboard attempt
    ("EC_Transfer_Model.PT", "ec_transfer_model.pt"),
    ("ec_transfer_model.pt.zip", None),
    ("model.pt", None),
    ("ec_transfer_model.ipynb", None),
])
def test_the_ec_model_file_under_the_names_browsers_and_lms_give_it(filename, expected):
    assert intake.canonical_extra(filename) == expected


def release_copy(folder, name, as_name=None, mtime=None):
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / (as_name or f"{name}.ipynb")
    target.write_bytes((RELEASE / f"{name}.ipynb").read_bytes())
    if mtime:
        os.utime(target, (mtime, mtime))
    return target


def test_student_folders_with_every_kind_of_trouble(tmp_path):
    subs = tmp_path / "subs"
    for name in intake.NOTEBOOKS:                      # alice: all four, as released
        release_copy(subs / "alice", name)
    (subs / "alice" / "ec_transfer_model.pt").write_bytes(b"model")
    release_copy(subs / "bob", "01_gradient_descent", "Copy of 01_gradient_descent.ipynb")
    release_copy(subs / "bob", "02_ema_adam", "my homework.ipynb")         # found by content
    release_copy(subs / "bob", "03_training", mtime=time.time() - 3600)
    release_copy(subs / "bob", "03_training", "Copy of 03_training.ipynb")  # newer copy wins
    (subs / "bob" / "04_initialization.ipynb").write_text("{ not json")
    (subs / "bob" / "notes.txt").write_text("hi")
    (subs / "bob" / "ec_transfer_model.pt").write_bytes(b"older model")
    os.utime(subs / "bob" / "ec_transfer_model.pt", (time.time() - 60, time.time() - 60))
    (subs / "bob" / "ec_transfer_model (1).pt").write_bytes(b"newer model")
    out = tmp_path / "submitted"
    submissions = {s.student: s for s in intake.stage(subs, out)}

    assert submissions["alice"].problems == []
    assert sorted(p.name for p in (out / "alice" / "hw2").iterdir()) == sorted(
        [f"{n}.ipynb" for n in intake.NOTEBOOKS] + ["ec_transfer_model.pt"])

    bob = submissions["bob"]
    # the unreadable one is left out: nbgrader scores it 0 and still grades the other three
    assert set(bob.notebooks) == set(intake.NOTEBOOKS) - {"04_initialization"}
    assert not (out / "bob" / "hw2" / "04_initialization.ipynb").exists()
    assert bob.notebooks["02_ema_adam"].name == "my homework.ipynb"
    assert bob.notebooks["03_training"].name == "Copy of 03_training.ipynb"
    problems = " | ".join(bob.problems)
    assert "04_initialization.ipynb is not a valid notebook" in problems
    assert "is missing" not in problems  # said once, as unreadable, not again as missing
    assert "graded Copy of 03_training.ipynb, the newest of several" in problems
    assert "ignored notes.txt" in problems
    assert (out / "bob" / "hw2" / "ec_transfer_model.pt").read_bytes() == b"newer model"
    assert "graded ec_transfer_model (1).pt, the newest of several" in problems
    report = json.loads((out / "intake.json").read_text())
    assert report["bob"]["problems"] == bob.problems


def test_missing_notebooks_are_reported(tmp_path):
    release_copy(tmp_path / "subs" / "carol", "01_gradient_descent")
    carol, = intake.stage(tmp_path / "subs", tmp_path / "out")
    assert list(carol.notebooks) == ["01_gradient_descent"]
    assert sum("is missing; it scores 0" in p for p in carol.problems) == 3


def test_flat_canvas_zip(tmp_path):
    archive = tmp_path / "submissions.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for name in intake.NOTEBOOKS:
            zf.write(RELEASE / f"{name}.ipynb", f"doejane_12345_900{name[1]}_{name}.ipynb")
        zf.write(RELEASE / "01_gradient_descent.ipynb",
                 "roeric_LATE_67890_9100_Copy of 01_gradient_descent.ipynb")
        zf.writestr("__MACOSX/._junk", "x")
    students = {s.student: s for s in intake.stage(archive, tmp_path / "out")}
    assert set(students) == {"12345", "67890"}
    assert students["12345"].problems == []
    assert list(students["67890"].notebooks) == ["01_gradient_descent"]
    assert (tmp_path / "out" / "67890" / "hw2" / "01_gradient_descent.ipynb").is_file()


def test_a_path_that_is_neither_folder_nor_zip(tmp_path):
    (tmp_path / "x.txt").write_text("x")
    with pytest.raises(FileNotFoundError, match="neither a folder nor a zip"):
        intake.stage(tmp_path / "x.txt", tmp_path / "out")


def test_command_line_prints_one_line_per_student(tmp_path, capsys):
    release_copy(tmp_path / "subs" / "dave", "01_gradient_descent", "Copy of 01_gradient_descent.ipynb")
    assert intake.main([str(tmp_path / "subs"), "--out", str(tmp_path / "out")]) == 0
    line, = capsys.readouterr().out.splitlines()
    assert line.startswith("dave: 1/4 notebooks") and "02_ema_adam.ipynb is missing" in line


def test_two_canvas_students_with_the_same_file_name_keep_their_own(tmp_path):
    archive = tmp_path / "submissions.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.write(RELEASE / "01_gradient_descent.ipynb", "doejane_12345_9001_01_gradient_descent.ipynb")
        zf.writestr("roeric_67890_9002_01_gradient_descent.ipynb",
                    (RELEASE / "01_gradient_descent.ipynb").read_text().replace("Gradient", "GRADIENT"))
    intake.stage(archive, tmp_path / "out")
    jane = (tmp_path / "out" / "12345" / "hw2" / "01_gradient_descent.ipynb").read_text()
    eric = (tmp_path / "out" / "67890" / "hw2" / "01_gradient_descent.ipynb").read_text()
    assert "GRADIENT" in eric and "GRADIENT" not in jane


def test_moodle_folders_and_flat_files(tmp_path):
    subs = tmp_path / "subs"
    release_copy(subs / "Jane Doe_1234567_assignsubmission_file_", "01_gradient_descent")
    release_copy(subs, "02_ema_adam", "Eric Roe_7654321_assignsubmission_file_02_ema_adam.ipynb")
    release_copy(subs / "Ann O'Neil (TA)", "03_training")
    students = {s.student: s for s in intake.stage(subs, tmp_path / "out")}
    assert set(students) == {"1234567", "7654321", "Ann_O_Neil_TA"}
    assert list(students["7654321"].notebooks) == ["02_ema_adam"]


def test_blackboard_attempts_grade_the_latest_and_skip_receipts(tmp_path):
    subs = tmp_path / "subs"
    release_copy(subs, "01_gradient_descent", "HW2_jdoe_attempt_2026-10-01-09-00-00_01_gradient_descent.ipynb")
    release_copy(subs, "01_gradient_descent", "HW2_jdoe_attempt_2026-10-03-18-30-00_Copy of 01_gradient_descent.ipynb")
    (subs / "HW2_jdoe_attempt_2026-10-03-18-30-00.txt").write_text("receipt")
    jdoe, = intake.stage(subs, tmp_path / "out")
    assert jdoe.student == "jdoe"
    assert jdoe.notebooks["01_gradient_descent"].name.startswith("2026-10-03-18-30-00")
    assert not [p for p in jdoe.problems if "ignored" in p]
