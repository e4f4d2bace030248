"""The kit's files: the one home of the assignment name, the notebooks and which files go where.

Standard library only and no imports of the kit's own: ``scripts/build.py`` and
``scripts/leak_check.py`` (no torch there) and the sandbox's setup read it.

    ASSIGNMENT     the nbgrader assignment (source/hw2, release/hw2, the gradebook's name)
    NOTEBOOKS      the four notebooks, in order (notebooks/NN_name.py authors each)
    SHIPPED_FILES  the files of what the notebooks import: hw2utils.py and the hw2checks package
    SUPPORT_FILES  copied beside the notebooks into source/hw2, and so released to students
    STUDENT_FILES  all a student may be given (the leak check allows nothing else)
    BUNDLED        what the Gradescope autograder zip carries
    PROTECTED      what grading reads from the kit: hashed, and closed to the sandbox users
"""

from pathlib import Path

ASSIGNMENT = "hw2"
METADATA_KEY = ASSIGNMENT  # a cell's own metadata beside nbgrader's (extra_credit)
NOTEBOOKS = ("01_gradient_descent", "02_ema_adam", "03_training", "04_initialization")

UTILS = "hw2utils.py"  # the helpers
CHECKS = "hw2checks"  # the visible checks: a package, one module per notebook
SHIPPED_MODULES = (UTILS, CHECKS)  # what the notebooks import: a file and a package's folder
# the package's modules are whatever .py files its folder holds (this file is autograder/kit.py)
SHIPPED_FILES = (
    UTILS,
    *sorted(
        f"{CHECKS}/{path.name}"
        for path in (Path(__file__).resolve().parent.parent / CHECKS).glob("*.py")
    ),
)
DATA_FOLDER = "data"
DATA_FILES = tuple(
    f"{DATA_FOLDER}/{name}"
    for name in ("tiny-classification.npz", "hard-classification.npz", "DATASHEET.md")
)
SUPPORT_FILES = SHIPPED_FILES + DATA_FILES
STUDENT_README = "README.md"  # the bundle's own, written by scripts/bundle.py
STUDENT_FILES = frozenset(
    (*(f"{name}.ipynb" for name in NOTEBOOKS), *SUPPORT_FILES, STUDENT_README)
)

# instructor-only: the grader, ``lessons`` (the judges build Part 3's networks and the dataset
# rule from it), the probes the sandbox runs, and how nbgrader and pip are set up
GRADER_PACKAGES = ("autograder", "lessons", "hw2probes")
CONFIG_FILES = ("nbgrader_config.py", "requirements.txt")
BUNDLED = (*GRADER_PACKAGES, *SHIPPED_MODULES, f"source/{ASSIGNMENT}", *CONFIG_FILES)
PROTECTED = (*GRADER_PACKAGES, *SHIPPED_MODULES, "source", "release", DATA_FOLDER, *CONFIG_FILES)
