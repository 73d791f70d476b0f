#!/usr/bin/env bash
# chain.sh N JOBSCRIPT [sbatch options...]: submits N jobs, each starting after the previous one
# ended in any way (afterany); each resumes the run file the first one started, and one that
# finds the budget reached exits at once. Prints the job ids.
set -euo pipefail
[ $# -ge 2 ] || { echo "usage: jobs/chain.sh N JOBSCRIPT [sbatch options...]" >&2; exit 2; }
n=$1
script=$2
shift 2
[[ $n =~ ^[1-9][0-9]*$ ]] || { echo "chain.sh: N must be a positive integer" >&2; exit 2; }
previous=""
for _ in $(seq "$n"); do
  dependency=()
  [ -n "$previous" ] && dependency=(--dependency "afterany:$previous")
  # In a chain the next job resumes: no self-requeue, so the chain does not double up.
  previous=$(REQUEUE=0 sbatch --parsable --export ALL,REQUEUE=0 "${dependency[@]}" "$@" "$script")
  previous=${previous%%;*}
  echo "$previous"
done
