# Sourced by the job scripts: start a search (`hpcnas search` or `hpcnas darts`) or a final
# training (`hpcnas train`), or resume it when its run file exists, and requeue the job when
# SLURM's signal stopped it before the end.
# Settings (environment):
#   HPCNAS  executable (default $SLURM_SUBMIT_DIR/build/hpcnas)
#   OUT     run file (default $SLURM_SUBMIT_DIR/<strategy>-search.h5, or darts.h5); its
#           checkpoint is beside it
#   BUDGET  evaluations of `hpcnas search` (default 500)
#   EPOCHS  epochs of `hpcnas darts` (default 50)
#   FROM    `hpcnas train`: the search or DARTS run file whose best genotype it trains
#   GENOTYPE  `hpcnas train`: or the genotype itself, in DARTS text
#   EXPORT  `hpcnas train`: the ONNX model to write at the end (default beside OUT, .onnx)
#   HPCNAS_ARGS  further options for a new run, e.g. "--evaluator surrogate"
#   LAUNCH  srun (default) or mpirun
#   REQUEUE 1 (default): requeue this job when stopped early; 0: leave that to a chain (chain.sh)
#   STOP_MARGIN  seconds before the time limit at which a requeued job stops (default 180, as
#           the --signal=USR1@180 of the job scripts)
set -euo pipefail

# hpcnas_search_job STRATEGY: `hpcnas search --strategy STRATEGY`, new or resumed.
hpcnas_search_job() {
  local strategy=$1
  local dir=${SLURM_SUBMIT_DIR:-$PWD}
  local out=${OUT:-$dir/$strategy-search.h5}
  local budget=${BUDGET:-500}
  local -a args
  if [ -e "$out" ]; then
    echo "hpcnas job ${SLURM_JOB_ID:-}: resuming $out"
    args=(--resume "$out" --budget "$budget")
  else
    # shellcheck disable=SC2206
    args=(--strategy "$strategy" --budget "$budget" --threads "${SLURM_CPUS_PER_TASK:-1}"
          --out "$out" ${HPCNAS_ARGS:-})
  fi
  hpcnas_run_and_requeue search "${args[@]}"
}

# hpcnas_darts_job: `hpcnas darts`, new or resumed.
hpcnas_darts_job() {
  local dir=${SLURM_SUBMIT_DIR:-$PWD}
  local out=${OUT:-$dir/darts.h5}
  local -a args
  if [ -e "$out" ]; then
    echo "hpcnas job ${SLURM_JOB_ID:-}: resuming $out"
    args=(--resume "$out")
  else
    # shellcheck disable=SC2206
    args=(--epochs "${EPOCHS:-50}" --threads "${SLURM_CPUS_PER_TASK:-1}" --out "$out"
          ${HPCNAS_ARGS:-})
  fi
  hpcnas_run_and_requeue darts "${args[@]}"
}

# hpcnas_train_job: `hpcnas train` of FROM's best genotype (or GENOTYPE), new or resumed; the
# trained model is exported to EXPORT.
hpcnas_train_job() {
  local dir=${SLURM_SUBMIT_DIR:-$PWD}
  local out=${OUT:-$dir/final.h5}
  local export=${EXPORT:-${out%.h5}.onnx}
  local -a args
  if [ -e "$out" ]; then
    echo "hpcnas job ${SLURM_JOB_ID:-}: resuming $out"
    args=(--resume "$out" --export "$export")
  else
    if [ -n "${FROM:-}" ]; then
      args=(--from "$FROM")
    elif [ -n "${GENOTYPE:-}" ]; then
      args=(--genotype "$GENOTYPE")
    else
      echo "hpcnas train job: set FROM (a run file) or GENOTYPE" >&2
      return 2
    fi
    # shellcheck disable=SC2206
    args+=(--threads "${SLURM_CPUS_PER_TASK:-1}" --out "$out" --export "$export"
           ${HPCNAS_ARGS:-})
  fi
  hpcnas_run_and_requeue train "${args[@]}"
}

# hpcnas_run_and_requeue COMMAND ARGS...: runs `hpcnas COMMAND ARGS...` on the job's tasks and
# requeues the job when a signal stopped it.
# Seconds this job has left before its time limit, from squeue (nothing when unknown).
hpcnas_seconds_left() {
  local left days=0 seconds=0 part
  left=$(squeue -h -j "$SLURM_JOB_ID" -o %L 2>/dev/null) || return 0
  case $left in *-*) days=${left%%-*}; left=${left#*-} ;; esac
  local -a parts
  IFS=: read -r -a parts <<<"$left"
  for part in "${parts[@]}"; do
    [[ $part =~ ^[0-9]+$ ]] || return 0
    seconds=$((seconds * 60 + 10#$part))
  done
  echo $((days * 86400 + seconds))
}

hpcnas_run_and_requeue() {
  local dir=${SLURM_SUBMIT_DIR:-$PWD}
  local hpcnas=${HPCNAS:-$dir/build/hpcnas}
  if [ "$(id -u)" = 0 ]; then
    export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
  fi
  local log
  log=$(mktemp)
  # Measured with SLURM 22.05: a job requeued before its time limit is sent its --signal the
  # moment it restarts, and never again. That signal would kill a task before hpcnas is ready for
  # it, or stop the run a second after it started, round after round. So a restarted job's tasks
  # start with USR1 ignored (hpcnas keeps an ignored signal ignored), and this script sends the
  # tasks SIGTERM itself STOP_MARGIN seconds before the time limit (under srun), on which hpcnas
  # checkpoints as on USR1. This script and its tee outlive the time limit's SIGTERM, to requeue
  # the job should it come first.
  local -a command=("$hpcnas")
  local timer=""
  if [ "${SLURM_RESTART_COUNT:-0}" -gt 0 ]; then
    # shellcheck disable=SC2016 # expanded by the task's shell
    command=(/bin/sh -c 'trap "" USR1; exec "$0" "$@"' "$hpcnas")
    local left margin=${STOP_MARGIN:-180}
    left=$(hpcnas_seconds_left)
    if [ -n "$left" ] && [ "$left" -gt "$margin" ]; then
      # The job steps' tasks only: srun itself would take SIGTERM as an order to kill the step.
      (sleep $((left - margin)); scancel --signal=TERM "$SLURM_JOB_ID") &
      timer=$!
    fi
  fi
  local terminated=0
  trap 'terminated=1' TERM
  # Debian's Open MPI starts under srun through PMIx (pmi2 does not work with it). A task that
  # dies ends the whole step at once, so the others do not wait for it in MPI until the time
  # limit and the job can requeue.
  local -a launcher=(srun --mpi=pmix --kill-on-bad-exit=1)
  [ "${LAUNCH:-srun}" = mpirun ] && launcher=(mpirun)
  local status
  "${launcher[@]}" "${command[@]}" "$@" | (trap '' TERM; exec tee "$log") && status=0 ||
    status=${PIPESTATUS[0]}
  trap - TERM
  [ -z "$timer" ] || kill "$timer" 2>/dev/null || true
  # hpcnas exits 0 when a signal stopped it after a checkpoint. A signal that lands before hpcnas
  # can catch it kills the step instead (status above 128), and the time limit may end the step
  # with any status. Either way the run file and its checkpoint are intact: continue in a
  # requeued job.
  local stopped=0
  if [ "$status" = 0 ] && grep -q "^\[hpcnas\] stopped by signal" "$log"; then stopped=1; fi
  [ "$status" -gt 128 ] && stopped=1
  [ "$terminated" = 1 ] && stopped=1
  rm -f "$log"
  if [ "$stopped" = 1 ] && [ "${REQUEUE:-1}" = 1 ]; then
    echo "hpcnas job ${SLURM_JOB_ID:-}: stopped before the end, requeueing"
    scontrol requeue "$SLURM_JOB_ID"
    return 0
  fi
  return "$status"
}
