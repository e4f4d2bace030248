#!/usr/bin/env bash
# The kit's entry point. Each command first sets up .venv (see scripts/setup_env.sh).
#   bash run.sh          the main job: check the data, run the helpers end to end, write build/
#   bash run.sh test     the test suite (pytest; extra arguments go to pytest)
#   bash run.sh build    rebuild source/hw2 and release/hw2 from notebooks/ (--check: verify only)
#   bash run.sh bench    the harness-overhead benchmark (arguments go to the script)
set -euo pipefail
cd "$(dirname "$0")"
bash scripts/setup_env.sh
python=${HW2_VENV:-.venv}/bin/python
command=${1:-main}
shift || true
case "$command" in
  main)  exec "$python" scripts/main_job.py "$@" ;;
  test)  exec "$python" -m pytest "$@" ;;
  build) exec "$python" scripts/build.py "$@" ;;
  bench) exec "$python" benchmarks/harness_overhead.py "$@" ;;
  *) echo "usage: bash run.sh [main|test|build|bench] [args...]" >&2; exit 2 ;;
esac
