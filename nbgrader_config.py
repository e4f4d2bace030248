"""nbgrader configuration of the HW2 course (read by nbgrader from the course root)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from autograder.limits import Limits  # importable once the kit's root is on sys.path

c = get_config()  # type: ignore[name-defined]  # noqa: F821 -- nbgrader provides it when it loads this file

c.CourseDirectory.course_id = "hw2-training-deep-network"
c.CourseDirectory.source_directory = "source"
c.CourseDirectory.release_directory = "release"

# Per-cell execution limit while validating, and in the class course, whose config is a copy
# of this file (autograder/limits.py is its one home). In grading mode the longest provided
# cell trains a network for a few epochs: seconds on a 2-core CPU. A submission that hangs
# loses only the cell that hangs.
c.Execute.timeout = Limits.cell
c.Execute.interrupt_on_timeout = True
