#!/usr/bin/env bash
# The kit's entry point. Each command first sets up .venv (see scripts/setup_env.sh).
#   bash run.sh          the main job: check the data, run the helpers end to end, write build/
#   bash run.sh test     the test suite: every test but the certification runs (pytest -m "not
#                        certify"; extra arguments go to pytest), on HW2_TEST_WORKERS pytest-xdist
#                        workers (default 2). CI runs it, then `certify`
#   bash run.sh test --fast   the fast lane for development: the tests marked neither slow nor
#                        certify (pytest.ini), one class still graded in the sandbox
#   bash run.sh certify  the certification runs (pytest -m certify): the grader's corpora, the
#                        probe-seed sweeps, the Slurm cluster run (HW2_SLURM_TEST=1 unless set),
#                        the certifier's and GPU check's smoke runs, the main job
#   bash run.sh build    rebuild source/hw2 and release/hw2 from notebooks/ (--check: verify only)
#   bash run.sh bench    the harness-overhead benchmark (arguments go to the script)
#   bash run.sh bundle   the student bundle: build/student/hw2/ and hw2.zip, leak-checked
#   bash run.sh grade SUBMISSIONS --out DIR [--jobs N] [--shard i/K]   grade a class (autograder/grade.py)
#   bash run.sh merge SHARD_DIR... --out DIR   one gradebook and tables from graded shards (autograder/shards.py)
#   bash run.sh export DIR [--lms canvas moodle blackboard] [--feedback]   after hand grading:
#                        final tables, feedback, LMS import files (autograder/export.py)
#   bash run.sh gradescope [--out ZIP]                    the Gradescope autograder zip
#   bash run.sh bench-grading [--students N]              grading speed and memory
#   bash run.sh sandbox  (root) create the sandbox users and lock the kit (autograder/sandbox/provision.py)
#   bash run.sh style    ruff check, ruff format --check, mypy (scripts/style.sh; --fix applies ruff's fixes)
set -euo pipefail
cd "$(dirname "$0")"
bash scripts/setup_env.sh
python=${HW2_VENV:-.venv}/bin/python
command=${1:-main}
shift || true
if [ "$command" = main ] || [ "$command" = test ] || [ "$command" = certify ]; then
  # grading runs students' code as sandbox users; as root, make them (idempotent, quiet when done)
  if [ "$(id -u)" -eq 0 ]; then "$python" -m autograder.sandbox setup --kit . --quiet || true; fi
fi
case "$command" in
  main)  exec "$python" scripts/main_job.py "$@" ;;
  test)
    # the lanes' marker expressions (pytest.ini says what each marker means; tests/test_lanes.py
    # reads these two lines)
    lane_full="not certify"
    lane_fast="not slow and not certify"
    lane=$lane_full
    args=()
    for arg in "$@"; do
      if [ "$arg" = --fast ]; then lane=$lane_fast; else args+=("$arg"); fi
    done
    # on pytest-xdist workers (HW2_TEST_WORKERS, default 2; 0 runs the tests in this process):
    # the tests marked sandbox share one worker, each other file is a unit (tests/conftest.py)
    workers=${HW2_TEST_WORKERS:-2}
    exec "$python" -m pytest -n "$workers" -m "$lane" "${args[@]}" ;;
  certify)
    lane_certify="certify"
    # the Slurm test (tests/test_shards.py) is one of them; it skips where Slurm is missing
    export HW2_SLURM_TEST=${HW2_SLURM_TEST:-1}
    exec "$python" -m pytest -m "$lane_certify" "$@" ;;
  build) exec "$python" scripts/build.py "$@" ;;
  bench) exec "$python" benchmarks/harness_overhead.py "$@" ;;
  bundle) exec "$python" scripts/bundle.py "$@" ;;
  grade) exec "$python" -m autograder.grade "$@" ;;
  merge) exec "$python" -m autograder.shards merge "$@" ;;
  export) exec "$python" -m autograder.export "$@" ;;
  gradescope) exec "$python" -m autograder.gradescope build "$@" ;;
  bench-grading) exec "$python" benchmarks/grading_speed.py "$@" ;;
  sandbox) exec "$python" -m autograder.sandbox setup --kit . "$@" ;;
  style) exec bash scripts/style.sh "$@" ;;
  *) echo "usage: bash run.sh [main|test|certify|build|bench|bundle|grade|merge|export|gradescope|bench-grading|sandbox|style] [args...]" >&2; exit 2 ;;
esac
