#!/usr/bin/env bash
# A scaling study in one command: submits the same run at several node counts (one sbatch job
# each, its own run file), waits for all of them, then writes the table of `hpcnas report
# --scaling` (scaling.md, scaling.csv) and the plots of scripts/plot_scaling.py (scaling.png, and
# timeline.png of the largest search run) into the study's folder.
#
#   jobs/scaling-study.sh [options] [-- extra hpcnas options]
#     --nodes 1,2,4,8         node counts (default 1,2,4)
#     --tasks-per-node N      MPI ranks per node (default 4)
#     --kind search|darts     what to run (default search)
#     --mode surrogate|train  search: surrogate evaluations of --eval-seconds each, a budget of
#                             --evals-per-trainer per trainer (isolates the pool's overhead); or
#                             real training at a fixed --budget (default surrogate)
#     --eval-seconds S        surrogate evaluation time (default 1)
#     --evals-per-trainer E   surrogate budget per trainer (default 20)
#     --budget B              train mode: evaluations of every run (default 64)
#     --batch B               darts: global batch (strong scaling, the default) or, with --weak,
#                             the batch of each rank (default 64 strong, 16 weak)
#     --weak                  darts: fixed per-rank batch (weak scaling)
#     --time HH:MM:SS         each job's time limit (default 01:00:00)
#     --out DIR               the study's folder (default scaling-<date>)
#     --sbatch "OPTIONS"      more sbatch options, e.g. "--partition gpu --account x"
#     --serial                submit each job after the previous one ended (when the runs would
#                             share cores, e.g. emulated nodes on one host), not all at once
# Environment: HPCNAS (default build/hpcnas), SLURM_WAIT_TIMEOUT (seconds to wait for the jobs,
# default: no limit). Run it from the repository root on a login node.
set -euo pipefail

nodes_list=1,2,4 tasks_per_node=4 kind=search mode=surrogate eval_seconds=1 evals_per_trainer=20
budget=64 batch="" weak=0 time_limit=01:00:00 out="" sbatch_extra="" serial=0
die() { echo "scaling-study: $*" >&2; exit 2; }
while [ $# -gt 0 ]; do
  case $1 in
    --nodes) nodes_list=$2; shift 2 ;;
    --tasks-per-node) tasks_per_node=$2; shift 2 ;;
    --kind) kind=$2; shift 2 ;;
    --mode) mode=$2; shift 2 ;;
    --eval-seconds) eval_seconds=$2; shift 2 ;;
    --evals-per-trainer) evals_per_trainer=$2; shift 2 ;;
    --budget) budget=$2; shift 2 ;;
    --batch) batch=$2; shift 2 ;;
    --weak) weak=1; shift ;;
    --serial) serial=1; shift ;;
    --time) time_limit=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --sbatch) sbatch_extra=$2; shift 2 ;;
    --) shift; break ;;
    *) die "unknown option '$1' (see the header of $0)" ;;
  esac
done
[[ $nodes_list =~ ^[1-9][0-9]*(,[1-9][0-9]*)*$ ]] || die "--nodes must be a list like 1,2,4"
[[ $tasks_per_node =~ ^[1-9][0-9]*$ ]] || die "--tasks-per-node must be a positive integer"
case $kind in search|darts) ;; *) die "--kind must be search or darts" ;; esac
case $mode in surrogate|train) ;; *) die "--mode must be surrogate or train" ;; esac
[ -n "$batch" ] || { [ "$weak" = 1 ] && batch=16 || batch=64; }

hpcnas=$(readlink -f "${HPCNAS:-build/hpcnas}")
[ -x "$hpcnas" ] || die "no executable at ${HPCNAS:-build/hpcnas} (build first, or set HPCNAS)"
repository=$(cd "$(dirname "$0")/.." && pwd)
out=${out:-scaling-$(date +%Y%m%d-%H%M%S)}
mkdir -p "$out"
out=$(cd "$out" && pwd)
if [ "$(id -u)" = 0 ]; then
  export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
fi

waiters=()
IFS=, read -r -a node_counts <<<"$nodes_list"
for n in "${node_counts[@]}"; do
  ranks=$((n * tasks_per_node))
  run=$out/$kind-n$n.h5
  if [ "$kind" = search ]; then
    trainers=$((ranks > 1 ? ranks - 1 : 1))
    if [ "$mode" = surrogate ]; then
      args=(search --evaluator surrogate --surrogate-seconds "$eval_seconds"
            --budget $((trainers * evals_per_trainer)))
    else
      args=(search --budget "$budget")
    fi
  else
    global=$batch
    [ "$weak" = 1 ] && global=$((batch * ranks))
    args=(darts --batch-size "$global")
  fi
  command="srun --mpi=pmix $hpcnas ${args[*]} $* --out $run --overwrite"
  # shellcheck disable=SC2086
  sbatch --wait --parsable --job-name "hpcnas-scaling-n$n" --nodes "$n" \
    --ntasks-per-node "$tasks_per_node" --cpus-per-task 1 --time "$time_limit" \
    --output "$out/$kind-n$n.out" $sbatch_extra --wrap "$command" >"$out/$kind-n$n.job" &
  waiters+=($!)
  echo "scaling-study: submitted $n node(s), $ranks ranks: $command"
  if [ "$serial" = 1 ]; then
    wait "${waiters[-1]}" || die "the job of $n node(s) failed: see $out/$kind-n$n.out"
    unset 'waiters[-1]'
  fi
done

# Each `sbatch --wait` returns when its job ends, with the job's exit code.
status=0
deadline=$((SECONDS + ${SLURM_WAIT_TIMEOUT:-999999999}))
for waiter in "${waiters[@]}"; do
  while kill -0 "$waiter" 2>/dev/null && [ "$SECONDS" -lt "$deadline" ]; do sleep 2; done
  if kill -0 "$waiter" 2>/dev/null; then
    kill "$waiter" 2>/dev/null
    for f in "$out"/*.job; do [ -s "$f" ] && timeout 30 scancel "$(cat "$f")"; done
    status=1
  fi
  wait "$waiter" || status=1
done
[ "$status" = 0 ] || die "a job failed or timed out: see $out/*.out"

runs=()
for n in "${node_counts[@]}"; do runs+=("$out/$kind-n$n.h5"); done
"$hpcnas" report --scaling "${runs[@]}" | tee "$out/scaling.md"
"$hpcnas" report --scaling "${runs[@]}" --csv >"$out/scaling.csv"
plot=(--table "$out/scaling.csv" --out "$out")
[ "$kind" = search ] && plot+=(--timeline "${runs[-1]}")
/usr/bin/python3 "$repository/scripts/plot_scaling.py" "${plot[@]}"
