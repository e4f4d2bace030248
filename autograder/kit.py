"""The kit's files: the one home of the assignment name, the notebooks and which files go where.

Standard library only and no imports of the kit's own: ``scripts/build.py`` and
``scripts/leak_check.py`` (no torch there) and the sandbox's setup read it.

    ASSIGNMENT     the nbgrader assignment (source/hw2, release/hw2, the gradebook's name)
    NOTEBOOKS      the four notebooks, in order (notebooks/NN_name.py authors each)
    SUPPORT_FILES  copied beside the notebooks into source/hw2, and so released to students
    STUDENT_FILES  all a student may be given (the leak check allows nothing else)
    BUNDLED        what the Gradescope autograder zip carries
    PROTECTED      what grading reads from the kit: hashed, and closed to the sandbox users
"""

ASSIGNMENT = "hw2"
METADATA_KEY = ASSIGNMENT  # a cell's own metadata beside nbgrader's (extra_credit)
NOTEBOOKS = ("01_gradient_descent", "02_ema_adam", "03_training", "04_initialization")

UTILS, CHECKS = "hw2utils.py", "hw2checks.py"  # the helpers, and the visible checks
SHIPPED_MODULES = (UTILS, CHECKS)  # what the notebooks import
DATA_FOLDER = "data"
DATA_FILES = tuple(
    f"{DATA_FOLDER}/{name}"
    for name in ("tiny-classification.npz", "hard-classification.npz", "DATASHEET.md")
)
SUPPORT_FILES = SHIPPED_MODULES + DATA_FILES
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
