#!/usr/bin/env bash
# Grade a class on a Slurm cluster: a job array of K shards, then one job that merges them.
#   bash scripts/slurm_grade.sh [--array LIST] SUBMISSIONS DIR K [grade options, e.g. --jobs 2]
# Task i of the array runs `bash run.sh grade SUBMISSIONS --out DIR/shard-i --shard i/K`
# (autograder/grade.py); the merge job, once every task has succeeded, runs
# `bash run.sh merge DIR/shard-1 ... DIR/shard-K --out DIR` (autograder/shards.py). Prints
# "<array job id> <merge job id>"; each job's log is DIR/slurm-*.out.
# A shard that failed is rerun alone, then merged: `--array 2` submits only task 2 (K stays
# the number of shards), and a new merge job after it. A rerun resumes where the shard stopped.
# SUBMISSIONS, DIR and this kit must be on a file system every node shares, and the jobs must
# run as root on nodes set up once with `bash run.sh sandbox` (grading refuses otherwise).
# Each task asks for as many CPUs as its --jobs; sbatch's other settings come from the
# environment (SBATCH_PARTITION, SBATCH_TIMELIMIT, ...).
set -euo pipefail
if [ "${1:-}" = --task ] || [ "${1:-}" = --merge ]; then  # inside a job, in the kit's folder
  role=$1 submissions=$2 dir=$3 count=$4
  shift 4
  if [ "$role" = --task ]; then
    exec bash run.sh grade "$submissions" --out "$dir/shard-$SLURM_ARRAY_TASK_ID" \
      --shard "$SLURM_ARRAY_TASK_ID/$count" "$@"
  fi
  exec bash run.sh merge $(for i in $(seq 1 "$count"); do echo "$dir/shard-$i"; done) --out "$dir"
fi
array=""
if [ "${1:-}" = --array ]; then array=$2; shift 2; fi
if [ $# -lt 3 ]; then
  echo "usage: bash scripts/slurm_grade.sh [--array LIST] SUBMISSIONS DIR K [grade options]" >&2
  exit 2
fi
submissions=$(realpath "$1") dir=$(realpath -m "$2") count=$3
shift 3
cpus=1  # each task gets the CPUs its --jobs workers use
previous=""
for arg in "$@"; do
  case "$arg" in --jobs=*) cpus=${arg#--jobs=} ;; esac
  if [ "$previous" = --jobs ]; then cpus=$arg; fi
  previous=$arg
done
kit=$(cd "$(dirname "$0")/.." && pwd)
script=$kit/scripts/slurm_grade.sh
mkdir -p "$dir"
# a task's id is its shard; K is passed on, not read from the array, so that a rerun of one
# task (--array 2) still grades shard 2 of K
grading=$(sbatch --parsable --job-name=hw2-grade --array="${array:-1-$count}" --chdir="$kit" \
  --cpus-per-task="$cpus" \
  --output="$dir/slurm-%A_%a.out" "$script" --task "$submissions" "$dir" "$count" "$@")
merging=$(sbatch --parsable --job-name=hw2-merge --dependency="afterok:${grading%%;*}" \
  --kill-on-invalid-dep=yes --chdir="$kit" --output="$dir/slurm-%j-merge.out" \
  "$script" --merge "$submissions" "$dir" "$count")
echo "${grading%%;*} ${merging%%;*}"
