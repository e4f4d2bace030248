"""The class's nbgrader course (autograder/course_setup.py): generated once per content of the
kit and copied from the cache after that; a rerun's course keeps its grades and is generated
again only when the kit's notebooks or config changed."""

import os
import shutil
import sqlite3

import pytest

from autograder import course_setup
from autograder.kit import ASSIGNMENT


@pytest.fixture
def kit(tmp_path, monkeypatch):
    """A copy of what generate_assignment reads, with course_setup pointed at it and at a cache
    of its own."""
    root = tmp_path / "kit"
    shutil.copytree(course_setup.ROOT / "source" / ASSIGNMENT, root / "source" / ASSIGNMENT)
    shutil.copy(course_setup.ROOT / course_setup.CONFIG, root / course_setup.CONFIG)
    monkeypatch.setattr(course_setup, "ROOT", root)
    monkeypatch.setattr(course_setup, "COURSE_CACHE", tmp_path / "cache")
    return root


def notebook(kit):
    return next((kit / "source" / ASSIGNMENT).glob("*.ipynb"))


def test_the_key_follows_every_file_generate_assignment_reads(kit):
    before = course_setup.content_key()
    assert course_setup.content_key() == before
    (kit / "source" / ASSIGNMENT / "__pycache__").mkdir()
    (kit / "source" / ASSIGNMENT / "__pycache__" / "x.pyc").write_bytes(b"\0")
    assert course_setup.content_key() == before  # bytecode is not content
    for changed in (notebook(kit), kit / course_setup.CONFIG):
        original = changed.read_bytes()
        changed.write_bytes(original + b"\n")
        assert course_setup.content_key() != before, changed.name
        changed.write_bytes(original)
    (kit / "source" / ASSIGNMENT / "extra.txt").write_text("new")
    assert course_setup.content_key() != before


@pytest.mark.slow  # two real generate_assignment runs: about 20 s
def test_a_course_is_a_copy_of_the_cache_and_a_rerun_keeps_its_grades(kit, tmp_path):
    first, second = tmp_path / "one" / "course", tmp_path / "two" / "course"
    course_setup.make_course(first)
    cached = course_setup.COURSE_CACHE / course_setup.content_key()
    assert (cached / "gradebook.db").is_file()
    assert oct(course_setup.COURSE_CACHE.stat().st_mode & 0o777) == "0o700"
    course_setup.make_course(second)
    assert (second / "gradebook.db").read_bytes() == (cached / "gradebook.db").read_bytes()
    assert sorted(p.name for p in (second / "release" / ASSIGNMENT).iterdir()) == sorted(
        p.name for p in (cached / "release" / ASSIGNMENT).iterdir()
    )
    # a rerun's course: its gradebook holds a student, who stays when the kit changed
    with sqlite3.connect(second / "gradebook.db") as db:
        db.execute("insert into student (id) values ('kept')")
    course_setup.make_course(second)  # the same kit: nothing to do
    release = next((second / "release" / ASSIGNMENT).glob("*.ipynb"))
    assert "CHANGED-MARKER" not in release.read_text()
    source = notebook(kit)
    source.write_text(
        source.read_text().replace(
            '"cells": [',
            '"cells": [{"cell_type": "markdown", "metadata": {}, "source": ["CHANGED-MARKER"]},',
            1,
        )
    )
    course_setup.make_course(second)
    assert "CHANGED-MARKER" in (second / "release" / ASSIGNMENT / source.name).read_text()
    with sqlite3.connect(second / "gradebook.db") as db:
        assert db.execute("select id from student").fetchall() == [("kept",)]
    assert (second / course_setup.KEY_FILE).read_text().strip() == course_setup.content_key()


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a folder away takes root")
def test_a_cache_folder_another_user_owns_is_refused(kit):
    """Its owner could plant a gradebook or release that every later batch would copy."""
    course_setup.COURSE_CACHE.mkdir()
    os.chown(course_setup.COURSE_CACHE, 65534, 65534)  # nobody
    with pytest.raises(RuntimeError, match="belongs to user 65534"):
        course_setup.make_course(kit.parent / "course")
