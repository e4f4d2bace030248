"""Grades back into the LMS: each LMS's import file, read back with the csv module, against
the columns its documentation and importer spell (see autograder/lms.py for the sources)."""

import csv
import datetime
import json
import zipfile
from pathlib import Path

import pytest

from autograder import intake, lms
from autograder.intake import Identity
from autograder.lms import Row

ROOT = Path(__file__).resolve().parents[1]
NOW = datetime.datetime(2026, 12, 7, 9, 30, tzinfo=datetime.UTC)
# Spelled here from the sources, not from lms.py, so a misspelled column there fails.
DOCUMENTED = {
    # Canvas: gradebook_importer.rb (header check) and the Canvas import guides
    "canvas": ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"],
    # Moodle: mod/assign/lang/en/assign.php, assignfeedback_comments' plugin name
    "moodle": [
        "Identifier",
        "Full name",
        "Grade",
        "Maximum Grade",
        "Last modified (grade)",
        "Feedback comments",
    ],
    # Blackboard: "The unique identifier used for each Student is the Student's User Name"
    "blackboard": ["Username"],
}
NAME = 'Doe, "JJ" Zoë'  # a comma, quotes and non-ASCII in one display name


def klass(system, users):
    """A small class for ``system``: identified (one with an awkward name, one under a
    suffixed kit id), extra credit over 100, withheld, a plain folder, another LMS, none,
    and two kit students sharing one LMS id."""
    other = "Moodle" if system != "Moodle" else "Canvas"
    a, b, c, d = users
    return [
        Row("alice", Identity(system, a, NAME), 83.456, comment="Good, but see 2.3"),
        Row(f"{b}-1a2b3c4d", Identity(system, b, "roe"), 105.0),  # extra credit; suffixed id
        Row("carol", Identity(system, c, "smith"), None, pending=6.0),
        Row("Ann_O_Neil_TA", Identity(None, "Ann O'Neil (TA)"), 90.0),
        Row("erin", Identity(other, "777", "Erin"), 70.0),
        Row("frank", None, 50.0),
        Row("gus", Identity(system, d, "g"), 60.0),
        Row("gus-2", Identity(system, d, "g"), 61.0),
    ]


def read(path):
    raw = path.read_bytes()
    assert not raw.startswith(b"\xef\xbb\xbf")  # no byte-order mark before the first header
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.reader(f))


def reasons(written):
    return dict(written.not_written)


def check_not_written(written, lms_name):
    why = reasons(written)
    assert "plain folder" in why["Ann_O_Neil_TA"]
    assert f"not {lms_name}" in why["erin"]
    assert "no identity" in why["frank"]
    assert "also student gus-2" in why["gus"] and "also student gus" in why["gus-2"]
    assert "withheld: 6 points" in why["carol"]
    sidecar = read(written.sidecar)
    assert sidecar[0] == ["student", "why"]
    assert {r[0] for r in sidecar[1:]} == set(why)


def test_canvas_import_file(tmp_path):
    users = ["12345", "67890", "11111", "22222"]
    written = lms.write("canvas", klass("Canvas", users), tmp_path, "HW2", 100, "4242", now=NOW)
    table = read(written.path)
    assert written.path.name == "canvas-grades.csv"
    assert table[0] == DOCUMENTED["canvas"] + ["HW2 (4242)"]
    assert not any(r[0] == "Points Possible" for r in table)  # would reset an existing assignment
    by_id = {r[1]: r for r in table[1:]}
    assert set(by_id) == {"12345", "67890"}  # keyed by the Canvas user id, not the kit's id
    assert by_id["12345"] == [NAME, "12345", "", "", "", "83.46"]
    assert by_id["67890"][-1] == "105"  # extra credit above points possible stays
    assert "11111" not in by_id  # withheld: an empty cell would clear a grade in Canvas
    assert set(written.written) == {"alice", "67890-1a2b3c4d"}
    check_not_written(written, "Canvas")


def test_canvas_new_assignment_gets_a_points_possible_row(tmp_path):
    rows = [Row("12345", Identity("Canvas", "12345", "doejane"), 99.5)]
    written = lms.write("Canvas", rows, tmp_path, "HW2: Training, deep", 100)
    table = read(written.path)
    assert table[0] == DOCUMENTED["canvas"] + ["HW2: Training, deep"]
    assert table[1] == ["Points Possible", "", "", "", "", "100"]
    assert table[2][1:] == ["12345", "", "", "", "99.5"]
    assert written.sidecar is None and not (tmp_path / "canvas-not-written.csv").exists()


def test_moodle_grading_worksheet(tmp_path):
    users = ["1234567", "7654321", "1111111", "2222222"]
    written = lms.write("moodle", klass("Moodle", users), tmp_path, "HW2", 100, now=NOW)
    table = read(written.path)
    assert written.path.name == "moodle-grading-worksheet.csv"
    assert table[0] == DOCUMENTED["moodle"]
    rows = {r[0]: dict(zip(table[0], r)) for r in table[1:]}
    assert set(rows) == {"Participant 1234567", "Participant 7654321", "Participant 1111111"}
    alice = rows["Participant 1234567"]
    assert alice == {
        "Identifier": "Participant 1234567",
        "Full name": NAME,
        "Grade": "83.46",
        "Maximum Grade": "100",
        "Last modified (grade)": "2026-12-07T09:30:00+00:00",
        "Feedback comments": "Good, but see 2.3",
    }
    # Moodle skips an empty Grade (the withheld one keeps its grade) and one above the maximum
    assert rows["Participant 1111111"]["Grade"] == ""
    assert rows["Participant 7654321"]["Grade"] == ""
    assert "above the Maximum Grade 100" in reasons(written)["7654321-1a2b3c4d"]
    assert written.written == ("alice",)
    check_not_written(written, "Moodle")


def test_moodle_writes_extra_credit_under_a_raised_maximum(tmp_path):
    rows = [Row("1234567", Identity("Moodle", "1234567", "Jane Doe"), 105.0)]
    written = lms.write("moodle", rows, tmp_path, "HW2", 110, now=NOW)
    assert read(written.path)[1][2:4] == ["105", "110"] and written.not_written == ()


def test_blackboard_upload_file(tmp_path):
    users = ["jdoe", "eroe", "asmith", "gus"]
    written = lms.write("blackboard", klass("Blackboard", users), tmp_path, "HW2", 100, "123456")
    table = read(written.path)
    assert written.path.name == "blackboard-grades.csv"
    assert table[0] == DOCUMENTED["blackboard"] + ["HW2 [Total Pts: 100 Score] |123456"]
    assert table[1:] == [["jdoe", "83.46"], ["eroe", "105"]]
    # comma-delimited: every field in quotes, as Blackboard's docs require
    lines = written.path.read_text(encoding="utf-8").splitlines()
    assert lines[1] == '"jdoe","83.46"'
    check_not_written(written, "Blackboard")


def test_blackboard_new_column_is_named_plainly(tmp_path):
    rows = [Row("jdoe", Identity("Blackboard", "jdoe"), 71.0)]
    written = lms.write("blackboard", rows, tmp_path, 'HW2 "final", Zoë', 100)
    assert read(written.path) == [["Username", 'HW2 "final", Zoë'], ["jdoe", "71"]]


@pytest.mark.parametrize(
    "value, text",
    [
        (83.0000001, "83"),
        (83.456, "83.46"),
        (83.5, "83.5"),
        (100, "100"),
        (0.004, "0"),
        (-0.001, "0"),
        (105.25, "105.25"),
    ],
)
def test_numbers_are_plain_decimals(value, text):
    assert lms.number(value) == text


def test_the_columns_match_the_documented_spellings():
    assert list(lms.CANVAS_COLUMNS) == DOCUMENTED["canvas"]
    assert list(lms.MOODLE_COLUMNS) == DOCUMENTED["moodle"]
    assert list(lms.BLACKBOARD_COLUMNS) == DOCUMENTED["blackboard"]


def test_an_unknown_lms_is_refused(tmp_path):
    with pytest.raises(ValueError, match="unknown LMS"):
        lms.write("d2l", [], tmp_path, "HW2", 100)


def test_a_later_export_that_writes_everyone_removes_the_old_list(tmp_path):
    rows = [Row("12345", Identity("Canvas", "12345", "doejane"), None, pending=4)]
    assert lms.write("canvas", rows, tmp_path, "HW2", 100, "1").sidecar.exists()
    rows = [Row("12345", Identity("Canvas", "12345", "doejane"), 88)]
    assert lms.write("canvas", rows, tmp_path, "HW2", 100, "1").sidecar is None
    assert not (tmp_path / "canvas-not-written.csv").exists()


def test_identities_from_intake_json_key_the_canvas_file(tmp_path):
    """From a flat Canvas download through intake.json to the import file: the id Canvas
    gave each file's uploader, even where the kit's id was suffixed or the name forged."""
    archive = tmp_path / "submissions.zip"
    notebook = (ROOT / "release" / "hw2" / "01_gradient_descent.ipynb").read_bytes()
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("doejane_12345_9001_01_gradient_descent.ipynb", notebook)
        zf.writestr("roeeric_67890_9002_doejane_12345_9003_01_gradient_descent.ipynb", notebook)
        zf.writestr("12345/01_gradient_descent.ipynb", notebook)  # a plain folder "12345"
    out = tmp_path / "submitted"
    intake.stage(archive, out)
    report = json.loads((out / "intake.json").read_text())
    rows = [Row(student, Identity(**entry["identity"]), 80.0) for student, entry in report.items()]
    written = lms.write("canvas", rows, tmp_path / "export", "HW2", 100, "4242")
    ids = [r[1] for r in read(written.path)[1:]]
    assert sorted(ids) == ["12345", "67890"]
    (folder,) = [s for s, why in written.not_written]
    assert report[folder]["identity"] == {"lms": None, "user": "12345", "name": ""}


@pytest.mark.parametrize("system", ["canvas", "moodle"])
def test_a_name_a_spreadsheet_would_run_is_shown_as_text(tmp_path, system):
    """A display name a user may set in their LMS profile, like "=HYPERLINK(...)", is
    written with a leading apostrophe: opened in a spreadsheet it stays text."""
    rows = [
        Row("alice", Identity(system.capitalize(), "12345", '=HYPERLINK("http://x","y")'), 80.0),
        Row("bob", Identity(system.capitalize(), "67890", "Bob -"), 70.0),
    ]
    table = read(lms.write(system, rows, tmp_path, "HW2", 100, "4242", now=NOW).path)
    names = [row[0 if system == "canvas" else 1] for row in table[1:]]
    assert names == ['\'=HYPERLINK("http://x","y")', "Bob -"]
