"""autograder.recorded: a rerun skips a student only while the gradebook holds them exactly as
executed. A course folder here has a bare SQLite file for its gradebook (the mark is a table
of its own); tests/test_grade.py reruns a real batch."""

import pytest

from autograder import recorded
from autograder.course_setup import KEY_FILE
from autograder.kit import ASSIGNMENT
from autograder.nbgrader_steps import EXECUTED

STUDENT = "ada"


@pytest.fixture
def course(tmp_path):
    course = tmp_path / "course"
    executed = course / EXECUTED / STUDENT
    (executed / ASSIGNMENT).mkdir(parents=True)
    (executed / "worker.json").write_text('{"problems": [], "flags": []}')
    (executed / ASSIGNMENT / "01_gradient_descent.ipynb").write_text("{}")
    (course / KEY_FILE).write_text("key one\n")
    (course / "gradebook.db").touch()
    pages = course / "feedback" / STUDENT / ASSIGNMENT
    pages.mkdir(parents=True)
    (pages / "01_gradient_descent.html").write_text("<html></html>")
    return course


def marked(course, feedback=True):
    recorded.mark(course, STUDENT, recorded.digest(course, STUDENT), feedback)
    return course


def held(course, feedback=True):
    return recorded.holds(course, STUDENT, recorded.digest(course, STUDENT), feedback)


def test_a_recorded_student_is_held_and_another_is_not(course):
    assert not held(course)
    marked(course)
    assert held(course)
    assert not recorded.holds(course, "bob", recorded.digest(course, STUDENT), True)


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(
            lambda c: (
                c / EXECUTED / STUDENT / ASSIGNMENT / "01_gradient_descent.ipynb"
            ).write_text('{"graded": "again"}'),
            id="a graded notebook executed again",
        ),
        pytest.param(
            lambda c: (c / EXECUTED / STUDENT / "worker.json").write_text(
                '{"problems": ["x"], "flags": []}'
            ),
            id="the worker's record",
        ),
        pytest.param(
            lambda c: (c / EXECUTED / STUDENT / ASSIGNMENT / "timestamp.txt").write_text("now"),
            id="a file added (the hand-in's timestamp)",
        ),
        pytest.param(lambda c: (c / KEY_FILE).write_text("key two\n"), id="the kit's notebooks"),
        pytest.param(lambda c: (c / "gradebook.db").unlink(), id="the gradebook deleted"),
        pytest.param(
            lambda c: (c / "gradebook.db").unlink() or (c / "gradebook.db").touch(),
            id="a new gradebook",
        ),
        pytest.param(
            lambda c: [p.unlink() for p in (c / "feedback").rglob("*.html")],
            id="the feedback pages deleted",
        ),
    ],
)
def test_any_change_to_what_was_recorded_records_the_student_again(course, change):
    marked(course)
    change(course)
    assert not held(course)


def test_a_student_recorded_without_feedback_is_recorded_again_when_feedback_is_wanted(course):
    marked(course, feedback=False)
    assert held(course, feedback=False)
    assert not held(course, feedback=True)
