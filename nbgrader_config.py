"""nbgrader configuration of the HW2 course (read by nbgrader from the course root)."""
c = get_config()  # noqa: F821 -- provided by nbgrader when it loads this file

c.CourseDirectory.course_id = "hw2-training-deep-network"
c.CourseDirectory.source_directory = "source"
c.CourseDirectory.release_directory = "release"

# Per-cell execution limit while validating, and in the class course, whose config is a copy
# of this file (autograder/limits.py is its one home). In grading mode the longest provided
# cell trains a network for a few epochs: seconds on a 2-core CPU. A submission that hangs
# loses only the cell that hangs.
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from autograder.limits import Limits  # noqa: E402

c.Execute.timeout = Limits.cell
c.Execute.interrupt_on_timeout = True
