# Sourced by the search job scripts: start the search, or resume it when its run file exists, and
# requeue the job when SLURM's signal stopped it before the budget. Settings (environment):
#   HPCNAS  executable (default $SLURM_SUBMIT_DIR/build/hpcnas)
#   OUT     run file (default $SLURM_SUBMIT_DIR/<strategy>-search.h5); its checkpoint is beside it
#   BUDGET  evaluations (default 500)
#   HPCNAS_ARGS  further `hpcnas search` options, e.g. "--evaluator surrogate"
#   LAUNCH  srun (default) or mpirun
#   REQUEUE 1 (default): requeue this job when stopped early; 0: leave that to a chain (chain.sh)
set -euo pipefail

hpcnas_search_job() {
  local strategy=$1
  local dir=${SLURM_SUBMIT_DIR:-$PWD}
  local hpcnas=${HPCNAS:-$dir/build/hpcnas}
  local out=${OUT:-$dir/$strategy-search.h5}
  local budget=${BUDGET:-500}
  local threads=${SLURM_CPUS_PER_TASK:-1}
  local -a args
  if [ -e "$out" ]; then
    echo "hpcnas job ${SLURM_JOB_ID:-}: resuming $out"
    args=(--resume "$out" --budget "$budget")
  else
    # shellcheck disable=SC2206
    args=(--strategy "$strategy" --budget "$budget" --threads "$threads" --out "$out"
          ${HPCNAS_ARGS:-})
  fi
  if [ "$(id -u)" = 0 ]; then
    export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
  fi
  local log
  log=$(mktemp)
  # Debian's Open MPI starts under srun through PMIx (pmi2 does not work with it).
  local status
  if [ "${LAUNCH:-srun}" = mpirun ]; then
    mpirun "$hpcnas" search "${args[@]}" | tee "$log" && status=0 || status=${PIPESTATUS[0]}
  else
    srun --mpi=pmix "$hpcnas" search "${args[@]}" | tee "$log" && status=0 ||
      status=${PIPESTATUS[0]}
  fi
  # hpcnas exits 0 when a signal stopped it after a checkpoint. A signal that lands before hpcnas
  # can catch it (a requeued job starting on a busy node) kills the step instead (status above
  # 128). Either way the run file and its checkpoint are intact: continue in a requeued job.
  local stopped=0
  if [ "$status" = 0 ] && grep -q "^\[hpcnas\] stopped by signal" "$log"; then stopped=1; fi
  [ "$status" -gt 128 ] && stopped=1
  rm -f "$log"
  if [ "$stopped" = 1 ] && [ "${REQUEUE:-1}" = 1 ]; then
    echo "hpcnas job ${SLURM_JOB_ID:-}: stopped before the budget, requeueing"
    scontrol requeue "$SLURM_JOB_ID"
    return 0
  fi
  return "$status"
}
