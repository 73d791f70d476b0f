#!/usr/bin/env bash
# From data to a deployable model in one submission: a search job, and a training job that
# starts when the search completed successfully (afterok) and trains its best genotype, tests it
# and exports it to ONNX. Prints both job ids; waits until both are done and prints where the
# trained run file and the model are (--no-wait: prints the ids and returns).
#   jobs/pipeline.sh [--no-wait] SEARCH_JOBSCRIPT [sbatch options for both jobs...]
# e.g. jobs/pipeline.sh jobs/search-evolution.sbatch --time 02:00:00
#      jobs/pipeline.sh jobs/darts.sbatch
# Settings (environment), besides those of jobs/search-job.sh that the search script reads:
#   RUN         the search's run file (default $PWD/pipeline-search.h5)
#   FINAL       the training's run file (default $PWD/final.h5)
#   MODEL       the ONNX model (default $PWD/model.onnx)
#   SEARCH_ARGS options of the search (its HPCNAS_ARGS), e.g. "--evaluator surrogate"
#   TRAIN_ARGS  options of the training (its HPCNAS_ARGS), e.g. "--epochs 100 --channels 16"
#   POLL        seconds between looks at the queue while waiting (default 10)
set -euo pipefail
usage() { echo "usage: jobs/pipeline.sh [--no-wait] SEARCH_JOBSCRIPT [sbatch options...]" >&2; exit 2; }
wait_for_jobs=1
if [ "${1:-}" = --no-wait ]; then wait_for_jobs=0; shift; fi
[ $# -ge 1 ] || usage
search_script=$1
shift
[ -f "$search_script" ] || { echo "pipeline.sh: no job script '$search_script'" >&2; exit 2; }
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
run=${RUN:-$PWD/pipeline-search.h5}
final=${FINAL:-$PWD/final.h5}
model=${MODEL:-$PWD/model.onnx}

search_job=$(sbatch --parsable --export "ALL,OUT=$run,HPCNAS_ARGS=${SEARCH_ARGS:-}" "$@" \
  "$search_script")
search_job=${search_job%%;*}
train_job=$(sbatch --parsable --dependency "afterok:$search_job" --kill-on-invalid-dep=yes \
  --export "ALL,FROM=$run,OUT=$final,EXPORT=$model,HPCNAS_ARGS=${TRAIN_ARGS:-}" "$@" \
  "$here/train.sbatch")
train_job=${train_job%%;*}
echo "search job $search_job: $run"
echo "train job $train_job (after search job $search_job succeeds): $final"
[ "$wait_for_jobs" = 1 ] || exit 0

# Both jobs leave the queue when done; a requeued search stays in it and keeps its id.
while squeue --noheader --jobs "$search_job,$train_job" 2>/dev/null | grep -q .; do
  sleep "${POLL:-10}"
done
if [ -e "$final" ] && [ -e "$model" ]; then
  echo "done: trained run file $final"
  echo "done: ONNX model $model"
else
  echo "pipeline.sh: the jobs ended without $final and $model: see the job logs" \
    "(search job $search_job, train job $train_job)" >&2
  exit 1
fi
