"""Submission intake: renamed, duplicated, broken and missing notebooks, per-student
folders and a flat Canvas zip, each ending in the nbgrader layout and a recorded problem."""

import json
import os
import time
import zipfile
from pathlib import Path

import pytest

from autograder import intake, kit

ROOT = Path(__file__).resolve().parents[1]
RELEASE = ROOT / "release" / "hw2"


@pytest.mark.parametrize(
    "filename, expected",
    [
        ("01_gradient_descent.ipynb", "01_gradient_descent"),
        ("Copy of 02_ema_adam.ipynb", "02_ema_adam"),
        ("Copy of Copy of 03_training (1).ipynb", "03_training"),
        ("04_Initialization-2.ipynb", "04_initialization"),
        ("02 EMA Adam.ipynb", "02_ema_adam"),
        ("hw2_training_final.ipynb", "03_training"),
        ("homework.ipynb", None),
    ],
)
def test_names_that_colab_and_lms_produce(filename, expected):
    assert intake.canonical_by_name(filename) == expected


@pytest.mark.parametrize(
    "filename, expected",
    [
        ("ec_transfer_model.pt", "ec_transfer_model.pt"),
        ("ec_transfer_model (1).pt", "ec_transfer_model.pt"),  # a second browser download
        ("ec_transfer_model-2.pt", "ec_transfer_model.pt"),  # Canvas's resubmission
        ("2026-11-02-10-00-00 ec_transfer_model.pt", "ec_transfer_model.pt"),  # Blackboard attempt
        ("EC_Transfer_Model.PT", "ec_transfer_model.pt"),
        ("ec_transfer_model.pt.zip", None),
        ("model.pt", None),
        ("ec_transfer_model.ipynb", None),
    ],
)
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
    for name in kit.NOTEBOOKS:  # alice: all four, as released
        release_copy(subs / "alice", name)
    (subs / "alice" / "ec_transfer_model.pt").write_bytes(b"model")
    release_copy(subs / "bob", "01_gradient_descent", "Copy of 01_gradient_descent.ipynb")
    release_copy(subs / "bob", "02_ema_adam", "my homework.ipynb")  # found by content
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
        [f"{n}.ipynb" for n in kit.NOTEBOOKS] + ["ec_transfer_model.pt"]
    )

    bob = submissions["bob"]
    # the unreadable one is left out: nbgrader scores it 0 and still grades the other three
    assert set(bob.notebooks) == set(kit.NOTEBOOKS) - {"04_initialization"}
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
    (carol,) = intake.stage(tmp_path / "subs", tmp_path / "out")
    assert list(carol.notebooks) == ["01_gradient_descent"]
    assert sum("is missing; it scores 0" in p for p in carol.problems) == 3


def test_flat_canvas_zip(tmp_path):
    archive = tmp_path / "submissions.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for name in kit.NOTEBOOKS:
            zf.write(RELEASE / f"{name}.ipynb", f"doejane_12345_900{name[1]}_{name}.ipynb")
        zf.write(
            RELEASE / "01_gradient_descent.ipynb",
            "roeric_LATE_67890_9100_Copy of 01_gradient_descent.ipynb",
        )
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
    release_copy(
        tmp_path / "subs" / "dave", "01_gradient_descent", "Copy of 01_gradient_descent.ipynb"
    )
    assert intake.main([str(tmp_path / "subs"), "--out", str(tmp_path / "out")]) == 0
    (line,) = capsys.readouterr().out.splitlines()
    assert line.startswith("dave: 1/4 notebooks") and "02_ema_adam.ipynb is missing" in line


def test_two_canvas_students_with_the_same_file_name_keep_their_own(tmp_path):
    archive = tmp_path / "submissions.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.write(
            RELEASE / "01_gradient_descent.ipynb", "doejane_12345_9001_01_gradient_descent.ipynb"
        )
        zf.writestr(
            "roeric_67890_9002_01_gradient_descent.ipynb",
            (RELEASE / "01_gradient_descent.ipynb").read_text().replace("Gradient", "GRADIENT"),
        )
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
    release_copy(
        subs,
        "01_gradient_descent",
        "HW2_jdoe_attempt_2026-10-01-09-00-00_01_gradient_descent.ipynb",
    )
    release_copy(
        subs,
        "01_gradient_descent",
        "HW2_jdoe_attempt_2026-10-03-18-30-00_Copy of 01_gradient_descent.ipynb",
    )
    (subs / "HW2_jdoe_attempt_2026-10-03-18-30-00.txt").write_text("receipt")
    (jdoe,) = intake.stage(subs, tmp_path / "out")
    assert jdoe.student == "jdoe"
    assert jdoe.notebooks["01_gradient_descent"].name.startswith("2026-10-03-18-30-00")
    assert not [p for p in jdoe.problems if "ignored" in p]


# Identity: the LMS's prefix or folder says whose a file is, never the uploaded file's own name.


def marked(name, mark):
    """A release notebook with ``mark`` in its first cell: whose copy it is."""
    notebook = json.loads((RELEASE / f"{name}.ipynb").read_text())
    notebook["cells"][0]["source"] = [mark]
    return json.dumps(notebook)


def staged(out, student, name="01_gradient_descent"):
    path = out / student / "hw2" / f"{name}.ipynb"
    return json.loads(path.read_text())["cells"][0]["source"] if path.exists() else None


@pytest.mark.parametrize(
    "filename, lms, user",
    [
        ("doejane_12345_9001_01_gradient_descent.ipynb", "Canvas", "12345"),
        ("doejane_LATE_12345_9001_67890_9002_01_gradient_descent.ipynb", "Canvas", "12345"),
        ("doejane_12345_9001_x_67890_assignsubmission_file_01.ipynb", "Canvas", "12345"),
        ("doejane_12345_9001_HW2_alice_attempt_2099-01-01-00-00-00_01.ipynb", "Canvas", "12345"),
        (
            "Jane Doe_1234567_assignsubmission_file_Eric Roe_7654321_assignsubmission_file_02.ipynb",
            "Moodle",
            "1234567",
        ),
        (
            "Jane Doe_1234567_assignsubmission_file_HW2_alice_attempt_2099-01-01-00-00-00_02.ipynb",
            "Moodle",
            "1234567",
        ),
        ("Jane Doe_1234567_assignsubmission_file_roe_7654321_9002_02.ipynb", "Moodle", "1234567"),
        (
            "HW2_jdoe_attempt_2026-10-01-09-00-00_x_alice_attempt_2099-01-01-00-00-00_01.ipynb",
            "Blackboard",
            "jdoe",
        ),
        (
            "HW2_jdoe_attempt_2026-10-01-09-00-00_x_7654321_assignsubmission_file_01.ipynb",
            "Blackboard",
            "jdoe",
        ),
        ("HW2 Part_1_jdoe_attempt_2026-10-01-09-00-00_01.ipynb", "Blackboard", "jdoe"),
        ("01_gradient_descent.ipynb", None, None),
    ],
)
def test_the_lms_prefix_is_the_one_that_ends_first(filename, lms, user):
    found = intake.lms_prefix(filename)
    assert (found[0], found[1]["user"]) == (lms, user) if lms else found is None


def test_a_blackboard_file_named_like_another_students_later_attempt_stays_its_owners(tmp_path):
    subs = tmp_path / "subs"
    subs.mkdir()
    attack = (
        "HW2_mallory_attempt_2026-10-01-09-00-00_x_alice_attempt_2099-01-01-00-00-00_"
        "01_gradient_descent.ipynb"
    )
    (subs / attack).write_text(marked("01_gradient_descent", "mallory's"))
    (subs / "HW2_alice_attempt_2026-10-02-09-00-00_01_gradient_descent.ipynb").write_text(
        marked("01_gradient_descent", "alice's")
    )
    # the forged 2099 does not make mallory's first attempt beat her own later one
    (subs / "HW2_mallory_attempt_2026-10-03-09-00-00_01_gradient_descent.ipynb").write_text(
        marked("01_gradient_descent", "mallory's second")
    )
    # Moodle's marker, tried before Blackboard's, used to win too
    (
        subs
        / "HW2_mallory_attempt_2026-10-01-09-00-00_x_1234567_assignsubmission_file_02_ema_adam.ipynb"
    ).write_text(marked("02_ema_adam", "mallory's"))
    out = tmp_path / "out"
    students = {s.student: s for s in intake.stage(subs, out)}
    assert set(students) == {"alice", "mallory"}
    assert staged(out, "alice") == ["alice's"]
    assert staged(out, "mallory", "02_ema_adam") == ["mallory's"]
    assert staged(out, "mallory") == ["mallory's second"]
    assert students["mallory"].notebooks["01_gradient_descent"].name.startswith("2026-10-03")


def test_canvas_and_moodle_files_named_like_other_students_stay_their_owners(tmp_path):
    archive = tmp_path / "submissions.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr(
            "doejane_12345_9001_01_gradient_descent.ipynb", marked("01_gradient_descent", "jane's")
        )
        zf.writestr(
            "roeeric_67890_9002_doejane_12345_9003_01_gradient_descent.ipynb",
            marked("01_gradient_descent", "eric's"),
        )
        zf.writestr(
            "roeeric_67890_9002_x_12345_assignsubmission_file_02_ema_adam.ipynb",
            marked("02_ema_adam", "eric's"),
        )
    out = tmp_path / "out"
    students = {s.student: s for s in intake.stage(archive, out)}
    assert set(students) == {"12345", "67890"}
    assert staged(out, "12345") == ["jane's"] and staged(out, "12345", "02_ema_adam") is None
    assert staged(out, "67890") == ["eric's"] and staged(out, "67890", "02_ema_adam") == ["eric's"]


def test_moodle_names_that_hold_another_participants_marker(tmp_path):
    subs = tmp_path / "subs"
    subs.mkdir()
    (
        subs / "Eve_7654321_assignsubmission_file_Jane Doe_1234567_assignsubmission_file_"
        "01_gradient_descent.ipynb"
    ).write_text(marked("01_gradient_descent", "eve's"))
    # a folder per submission ends with Moodle's marker: a display name cannot forge it
    folder = subs / "X_1234567_assignsubmission_file_ Eve_7654321_assignsubmission_file_"
    folder.mkdir()
    (folder / "02_ema_adam.ipynb").write_text(marked("02_ema_adam", "eve's"))
    out = tmp_path / "out"
    students = {s.student: s for s in intake.stage(subs, out)}
    assert set(students) == {"7654321"}
    assert staged(out, "7654321") == ["eve's"] and staged(out, "7654321", "02_ema_adam") == [
        "eve's"
    ]


def test_whatever_a_students_folder_holds_stays_theirs(tmp_path):
    subs = tmp_path / "subs"
    alice = subs / "alice"
    (alice / "bob" / "hw2").mkdir(parents=True)
    (alice / "bob" / "hw2" / "01_gradient_descent.ipynb").write_text(
        marked("01_gradient_descent", "a1")
    )
    (alice / "HW2_bob_attempt_2099-01-01-00-00-00_02_ema_adam.ipynb").write_text(
        marked("02_ema_adam", "a2")
    )
    (alice / "doejane_12345_9001_03_training.ipynb").write_text(marked("03_training", "a3"))
    (alice / "Bob Roe_7654321_assignsubmission_file_").mkdir()
    (alice / "Bob Roe_7654321_assignsubmission_file_" / "04_initialization.ipynb").write_text(
        marked("04_initialization", "a4")
    )
    with zipfile.ZipFile(alice / "bob.zip", "w") as zf:  # a zip is not opened: it stays hers
        zf.writestr("01_gradient_descent.ipynb", marked("01_gradient_descent", "zipped"))
    (subs / "bob").mkdir()
    (subs / "bob" / "01_gradient_descent.ipynb").write_text(marked("01_gradient_descent", "bob's"))
    out = tmp_path / "out"
    students = {s.student: s for s in intake.stage(subs, out)}
    assert set(students) == {"alice", "bob"}
    assert [staged(out, "alice", name) for name in kit.NOTEBOOKS] == [
        ["a1"],
        ["a2"],
        ["a3"],
        ["a4"],
    ]
    assert "ignored bob.zip: not a notebook of this homework" in students["alice"].problems
    assert staged(out, "bob") == ["bob's"]
    assert sorted(p.name for p in out.iterdir()) == ["alice", "bob", "intake.json"]


def test_a_notebook_named_like_another_part_is_graded_as_the_part_it_holds(tmp_path):
    subs = tmp_path / "subs"
    release_copy(subs / "carol", "01_gradient_descent", "02_ema_adam.ipynb")
    (carol,) = intake.stage(subs, tmp_path / "out")
    assert list(carol.notebooks) == ["01_gradient_descent"]
    assert (
        "02_ema_adam.ipynb holds the cells of 01_gradient_descent.ipynb: graded as 01_gradient_descent"
        in carol.problems
    )
    # a cell pasted from another part does not make the content say otherwise than the name
    mixed = json.loads((RELEASE / "02_ema_adam.ipynb").read_text())
    mixed["cells"].append(
        json.loads((RELEASE / "01_gradient_descent.ipynb").read_text())["cells"][6]
    )
    assert intake.canonical_by_content(mixed) is None


@pytest.mark.parametrize(
    "folder, says",
    [
        ("intake.json", "'intake.json' cannot be a student id"),
        ("submitted", "'submitted' cannot be a student id"),
        ("___", "'___' cannot be a student id"),
        ("-h", None),  # an option to nbgrader_steps' command line: the id is "h"
    ],
)
def test_folder_names_that_cannot_be_student_ids(tmp_path, folder, says):
    release_copy(tmp_path / "subs" / folder, "01_gradient_descent")
    out = tmp_path / "out"
    (student,) = intake.stage(tmp_path / "subs", out)
    assert (out / student.student / "hw2" / "01_gradient_descent.ipynb").is_file()
    assert json.loads((out / "intake.json").read_text())[student.student]["notebooks"]
    if says:
        assert student.student.startswith(intake.student_id(folder) or "unnamed")
        assert any(says in p and "staged as" in p for p in student.problems)
    else:
        assert student.student == "h"


def test_dot_and_empty_lms_users_never_reach_outside_out(tmp_path):
    subs = tmp_path / "subs"
    subs.mkdir()
    release_copy(
        subs, "01_gradient_descent", "HW2_.._attempt_2026-10-01-09-00-00_01_gradient_descent.ipynb"
    )
    release_copy(subs, "02_ema_adam", "HW2_._attempt_2026-10-01-09-00-00_02_ema_adam.ipynb")
    out = tmp_path / "course" / "submitted"
    students = intake.stage(subs, out)
    assert len(students) == 2 and all(s.student.startswith("unnamed-") for s in students)
    assert sorted(p.name for p in (tmp_path / "course").iterdir()) == ["submitted"]
    for bad in ("..", ".", "", "a/b", "intake.json", "Source", "*", "x" * 101):
        with pytest.raises(ValueError, match="unsafe student id"):
            intake._target(out, bad)


def test_submissions_that_come_out_as_the_same_id_are_kept_apart(tmp_path):
    subs = tmp_path / "subs"
    for folder, mark in [
        ("alice", "lower"),
        ("Alice", "upper"),
        ("ann o'neil", "a"),
        ("ann o neil", "b"),
        ("12345", "folder"),
    ]:
        (subs / folder).mkdir(parents=True)
        (subs / folder / "01_gradient_descent.ipynb").write_text(
            marked("01_gradient_descent", mark)
        )
    for prefix, name, mark in [
        ("doejane_12345_9001", "01_gradient_descent", "canvas"),
        ("HW2_j_doe_attempt_2026-10-01-09-00-00", "02_ema_adam", "j_doe"),
        ("HW2_doe_attempt_2026-10-01-09-00-00", "02_ema_adam", "doe"),
    ]:
        (subs / f"{prefix}_{name}.ipynb").write_text(marked(name, mark))
    out = tmp_path / "out"
    students = intake.stage(subs, out)
    assert len(students) == 8 and len({s.student.lower() for s in students}) == 8
    marks = sorted(
        str(staged(out, s.student) or staged(out, s.student, "02_ema_adam")) for s in students
    )
    expected = ["lower", "upper", "a", "b", "folder", "canvas", "j_doe", "doe"]
    assert marks == sorted(str([mark]) for mark in expected)
    for s in students:
        assert any(
            "also comes out as student id" in p and "check whose it is" in p for p in s.problems
        )


def test_a_moodle_participants_folders_are_one_student(tmp_path):
    subs = tmp_path / "subs"
    release_copy(subs / "Jane Doe_1234567_assignsubmission_file_", "01_gradient_descent")
    (subs / "Jane Doe_1234567_assignsubmission_onlinetext_").mkdir()
    (subs / "Jane Doe_1234567_assignsubmission_onlinetext_" / "onlinetext.html").write_text("hi")
    release_copy(subs, "02_ema_adam", "Jane Doe_1234567_assignsubmission_file_02_ema_adam.ipynb")
    (jane,) = intake.stage(subs, tmp_path / "out")
    assert jane.student == "1234567" and set(jane.notebooks) == {
        "01_gradient_descent",
        "02_ema_adam",
    }


def test_a_zipped_folder_of_a_flat_download_is_not_one_student(tmp_path):
    archive = tmp_path / "submissions.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for prefix, mark in [("doejane_12345_9001", "jane"), ("roeeric_67890_9002", "eric")]:
            zf.writestr(
                f"HW2/{prefix}_01_gradient_descent.ipynb", marked("01_gradient_descent", mark)
            )
    out = tmp_path / "out"
    assert {s.student for s in intake.stage(archive, out)} == {"12345", "67890"}
    assert (staged(out, "12345"), staged(out, "67890")) == (["jane"], ["eric"])


def test_zip_members_stay_inside_and_an_empty_download_gives_an_empty_report(tmp_path):
    archive = tmp_path / "submissions.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("../../escaped.ipynb", marked("01_gradient_descent", "x"))
        zf.writestr("/abs/escaped2.ipynb", marked("01_gradient_descent", "x"))
    students = {s.student for s in intake.stage(archive, tmp_path / "out")}
    assert students == {intake.UNATTRIBUTED, "abs"}
    assert not list(tmp_path.parent.glob("escaped*")) and not (tmp_path / "escaped.ipynb").exists()
    (tmp_path / "empty").mkdir()
    assert intake.stage(tmp_path / "empty", tmp_path / "out2") == []
    assert json.loads((tmp_path / "out2" / "intake.json").read_text()) == {}


def test_symbolic_links_are_not_followed(tmp_path):
    subs = tmp_path / "subs"
    (subs / "bob").mkdir(parents=True)
    (subs / "bob" / "01_gradient_descent.ipynb").write_text(marked("01_gradient_descent", "bob's"))
    (subs / "mallory").mkdir()
    (subs / "mallory" / "01_gradient_descent.ipynb").symlink_to(
        subs / "bob" / "01_gradient_descent.ipynb"
    )
    (subs / "mallory" / "notes").symlink_to(subs / "bob", target_is_directory=True)
    out = tmp_path / "out"
    students = {s.student: s for s in intake.stage(subs, out)}
    assert staged(out, "mallory") is None and staged(out, "bob") == ["bob's"]
    assert "ignored 01_gradient_descent.ipynb: a symbolic link" in students["mallory"].problems
    assert "ignored notes: a symbolic link" in students["mallory"].problems


def test_forged_nbgrader_metadata_does_not_break_matching(tmp_path):
    notebook = json.loads((RELEASE / "03_training.ipynb").read_text())
    notebook["cells"][0]["metadata"]["nbgrader"] = "forged"
    notebook["cells"][1]["metadata"]["nbgrader"] = {"grade_id": ["gd_loop"]}
    assert intake.canonical_by_content(notebook) == "03_training"
    (tmp_path / "subs" / "erin").mkdir(parents=True)
    (tmp_path / "subs" / "erin" / "homework.ipynb").write_text(json.dumps(notebook))
    (erin,) = intake.stage(tmp_path / "subs", tmp_path / "out")
    assert list(erin.notebooks) == ["03_training"]


# Identity: who the LMS says handed each entry in, recorded for writing grades back.


def test_the_identity_of_each_entry_is_the_lms_record(tmp_path):
    subs = tmp_path / "subs"
    release_copy(subs, "01_gradient_descent", "doejane_LATE_12345_9001_01_gradient_descent.ipynb")
    # a forged prefix inside the uploaded file's name names neither the user nor the name
    release_copy(
        subs,
        "01_gradient_descent",
        "roeeric_67890_9002_doejane_12345_9003_01_gradient_descent.ipynb",
    )
    release_copy(subs / "Jane Doe_1234567_assignsubmission_file_", "01_gradient_descent")
    release_copy(subs, "02_ema_adam", "Eric Roe_7654321_assignsubmission_file_02_ema_adam.ipynb")
    release_copy(
        subs,
        "01_gradient_descent",
        "HW2_jdoe_attempt_2026-10-01-09-00-00_01_gradient_descent.ipynb",
    )
    release_copy(subs / "Ann O'Neil (TA)", "03_training")
    out = tmp_path / "out"
    identities = {s.student: s.identity for s in intake.stage(subs, out)}
    Identity = intake.Identity
    assert identities == {
        "12345": Identity("Canvas", "12345", "doejane"),
        "67890": Identity("Canvas", "67890", "roeeric"),
        "1234567": Identity("Moodle", "1234567", "Jane Doe"),
        "7654321": Identity("Moodle", "7654321", "Eric Roe"),
        "jdoe": Identity("Blackboard", "jdoe", ""),
        "Ann_O_Neil_TA": Identity(None, "Ann O'Neil (TA)", ""),
    }
    report = json.loads((out / "intake.json").read_text())
    assert report["1234567"]["identity"] == {"lms": "Moodle", "user": "1234567", "name": "Jane Doe"}
    assert report["Ann_O_Neil_TA"]["identity"] == {
        "lms": None,
        "user": "Ann O'Neil (TA)",
        "name": "",
    }
    assert set(report["jdoe"]) == {"notebooks", "problems", "identity"}  # the existing keys stay


def test_a_suffixed_student_id_keeps_its_entrys_identity(tmp_path):
    subs = tmp_path / "subs"
    (subs / "12345").mkdir(parents=True)
    (subs / "12345" / "01_gradient_descent.ipynb").write_text(
        marked("01_gradient_descent", "folder")
    )
    (subs / "doejane_12345_9001_01_gradient_descent.ipynb").write_text(
        marked("01_gradient_descent", "canvas")
    )
    out = tmp_path / "out"
    students = intake.stage(subs, out)
    assert len(students) == 2 and all(s.student.startswith("12345-") for s in students)
    by_mark = {staged(out, s.student)[0]: s for s in students}
    assert by_mark["canvas"].identity == intake.Identity("Canvas", "12345", "doejane")
    assert by_mark["folder"].identity == intake.Identity(None, "12345", "")
    report = json.loads((out / "intake.json").read_text())
    assert report[by_mark["canvas"].student]["identity"]["lms"] == "Canvas"


def test_files_that_name_no_student_have_no_identity(tmp_path):
    subs = tmp_path / "subs"
    release_copy(subs, "01_gradient_descent")
    (student,) = intake.stage(subs, tmp_path / "out")
    assert student.student == intake.UNATTRIBUTED and student.identity == intake.Identity(
        None, "", ""
    )


@pytest.fixture(scope="module")
def example_class(tmp_path_factory):
    """The main job's example class (scripts/examples.py), as per-student folders."""
    import sys

    sys.path.insert(0, str(ROOT / "scripts"))
    import examples

    folders = tmp_path_factory.mktemp("example") / "class"
    examples.write_class(folders, ec_models=False)  # the intake needs the names only
    return examples, folders


@pytest.mark.parametrize("lms", ["canvas", "moodle", "blackboard"])
def test_the_example_class_as_an_lms_download_keeps_who_is_who(example_class, tmp_path, lms):
    """Laid out as each LMS's download (what README 5b's LMS files are made from), every
    student is found under the LMS's id, with the name it gives and all four notebooks
    (or the ones they handed in)."""
    examples, folders = example_class
    examples.as_lms_download(folders, tmp_path / "download", lms)
    staged = {s.student: s for s in intake.stage(tmp_path / "download", tmp_path / "submitted")}
    for student, (name, canvas, moodle, blackboard) in examples.ROSTER.items():
        expected = {
            "canvas": intake.Identity("Canvas", canvas, "".join(reversed(name.lower().split()))),
            "moodle": intake.Identity("Moodle", moodle, name),
            "blackboard": intake.Identity("Blackboard", blackboard, ""),
        }[lms]
        found = staged[expected.user]
        assert found.identity == expected
        handed_in = list((folders / student).glob("*.ipynb"))
        assert len(found.notebooks) == len(handed_in), (student, found.problems)
        assert bool(found.extras) == (student in ("reference", "ben"))  # EC1's model file
