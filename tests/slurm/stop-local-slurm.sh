#!/usr/bin/env bash
# Stops the one-host SLURM that start-local-slurm.sh started in DIR:
#
#   stop-local-slurm.sh DIR
#
# First cancels its jobs and waits for them to end while the daemons still run, so that their
# processes end as SLURM ends them; then stops the daemons named by DIR/run/*.pid (slurmd,
# slurmctld, munged; SIGKILL after 15 s); last, kills any job step daemon still writing into DIR,
# with its processes. Never picks processes by name alone. Keeps DIR's logs and key. Exits 0 when
# nothing of DIR runs any more (also when nothing ran), 1 when a daemon survived.
set -euo pipefail

dir=${1:?usage: stop-local-slurm.sh DIR}
dir=${dir%/}

say() { echo "stop-local-slurm: $*" >&2; }

# live_pid PIDFILE: prints the pid in PIDFILE when that process runs and is a daemon of this
# DIR (its command line names DIR).
live_pid() {
  local pid
  pid=$(cat "$1" 2>/dev/null) || return 1
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF "$dir/" || return 1
  echo "$pid"
}

# stop_daemons PIDFILE...: SIGTERM to those that run, SIGKILL to any still there after 15 s.
stop_daemons() {
  local pidfile pid pids=()
  for pidfile in "$@"; do
    if pid=$(live_pid "$pidfile"); then
      say "stopping $(basename "$pidfile" .pid) (pid $pid)"
      pids+=("$pid")
    fi
  done
  [ ${#pids[@]} -gt 0 ] || return 0
  kill -TERM "${pids[@]}" 2>/dev/null || true
  for _ in $(seq 150); do
    alive=0
    for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [ "$alive" = 0 ] && return 0
    sleep 0.1
  done
  for pid in "${pids[@]}"; do
    if kill -0 "$pid" 2>/dev/null; then
      say "pid $pid outlived SIGTERM: SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
    fi
  done
  sleep 0.5
}

# with_descendants PID: PID and every process below it.
with_descendants() {
  local child
  echo "$1"
  for child in $(ps -o pid= --ppid "$1"); do with_descendants "$child"; done
}

[ -d "$dir/run" ] || { say "nothing to stop: no $dir/run"; exit 0; }
shopt -s nullglob

# 1. Jobs first: a job step's processes outlive a stopped slurmd.
if live_pid "$dir/run/slurmctld.pid" >/dev/null; then
  export SLURM_CONF=$dir/etc/slurm.conf
  jobs=$(timeout 10 squeue --noheader --format=%i 2>/dev/null | tr '\n' ' ' || true)
  if [ -n "${jobs// /}" ]; then
    say "cancelling jobs $jobs"
    # shellcheck disable=SC2086  # one job id a word
    timeout 10 scancel $jobs || true
    for _ in $(seq 400); do
      [ -z "$(timeout 10 squeue --noheader --format=%i 2>/dev/null || true)" ] && break
      sleep 0.1
    done
  fi
fi

# 2. The nodes before the controller, munged last: each needs the ones after it to stop cleanly.
stop_daemons "$dir"/run/slurmd.*.pid
stop_daemons "$dir/run/slurmctld.pid"
stop_daemons "$dir/run/munged.pid"

# 3. A job step daemon left behind holds its node's log file in DIR open.
for proc in /proc/[0-9]*; do
  [ "$(cat "$proc/comm" 2>/dev/null)" = slurmstepd ] || continue
  [ -n "$(find "$proc/fd" -maxdepth 1 -lname "$dir/*" 2>/dev/null | head -n 1)" ] || continue
  leftover=$(with_descendants "${proc#/proc/}" | tr '\n' ' ')
  say "killing a job step daemon left behind, with its processes: $leftover"
  # shellcheck disable=SC2086  # one pid a word
  kill -KILL $leftover 2>/dev/null || true
done

status=0
for pidfile in "$dir"/run/*.pid; do
  if pid=$(live_pid "$pidfile"); then
    say "FAILED: pid $pid ($pidfile) still runs"
    status=1
  else
    rm -f "$pidfile"
  fi
done
[ "$status" = 0 ] && say "stopped; logs are in $dir/log"
exit "$status"
