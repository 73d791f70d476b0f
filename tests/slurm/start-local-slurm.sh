#!/usr/bin/env bash
# Starts a throwaway SLURM on this one host for the tests and for trying the job scripts: munged,
# slurmctld and one slurmd per emulated node (n1..nN, all on 127.0.0.1, each on a port of its
# own), everything (config, key, state, logs, pid files) under DIR. Runs as root, needs the
# Debian packages slurm-wlm and munge and nothing of /etc/slurm, /etc/munge or systemd.
#
#   start-local-slurm.sh DIR && source DIR/env.sh     (stop it with stop-local-slurm.sh DIR)
#
# Environment:
#   LOCAL_SLURM_NODES    emulated nodes (1)
#   LOCAL_SLURM_CPUS     CPUs each node declares, more than the host has if need be (4)
#   LOCAL_SLURM_PORT     slurmctld's port (16817); node i's slurmd listens on PORT + i
#   LOCAL_SLURM_TIMEOUT  seconds to wait for every node to be up (60)
# DIR/env.sh (also printed on stdout) sets what a client and an MPI job need: SLURM_CONF, and
# Open MPI's consent to run as root. Progress and errors go to stderr; exit 1 on any failure,
# after the tail of each log. Refuses to start over a cluster of DIR that still runs.
set -euo pipefail

dir=${1:?usage: start-local-slurm.sh DIR}
dir=${dir%/}
nodes=${LOCAL_SLURM_NODES:-1}
cpus=${LOCAL_SLURM_CPUS:-4}
port=${LOCAL_SLURM_PORT:-16817}
timeout_s=${LOCAL_SLURM_TIMEOUT:-60}
conf=$dir/etc/slurm.conf

say() { echo "start-local-slurm: $*" >&2; }
# fail MESSAGE: says why, with the logs' last lines once this run's daemons write them.
logs_written=0
fail() {
  say "FAILED: $*"
  [ "$logs_written" = 1 ] || exit 1
  local log
  for log in "$dir"/log/*.log; do
    [ -s "$log" ] && { echo "--- last lines of $log" >&2; tail -n 8 "$log" >&2; }
  done
  exit 1
}

# live_pid PIDFILE: prints the pid in PIDFILE when that process runs and is a daemon of this
# DIR (its command line names DIR), so a stale file whose pid was reused does not count.
live_pid() {
  local pid
  pid=$(cat "$1" 2>/dev/null) || return 1
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF "$dir/" || return 1
  echo "$pid"
}

# detached COMMAND...: runs a daemon that forks itself into the background, with none of this
# shell's descriptors: a daemon holding the caller's pipe would keep a test runner waiting for
# the end of that output for as long as the cluster runs.
detached() {
  (
    for fd in /proc/"$BASHPID"/fd/*; do
      fd=${fd##*/}
      if [ "$fd" -gt 2 ]; then eval "exec $fd>&-"; fi
    done
    exec "$@" </dev/null >>"$dir/log/daemons.log" 2>&1
  )
}

# start_daemon NAME PIDFILE COMMAND...: starts it and waits up to 5 s for its pid file.
start_daemon() {
  local name=$1 pidfile=$2
  shift 2
  detached "$@" || fail "$name did not start"
  for _ in $(seq 50); do
    live_pid "$pidfile" >/dev/null && { say "$name runs (pid $(cat "$pidfile"))"; return 0; }
    sleep 0.1
  done
  fail "$name wrote no pid file $pidfile"
}

case $dir in /*) ;; *) fail "DIR must be an absolute path: $dir" ;; esac
for value in "$nodes" "$cpus" "$port" "$timeout_s"; do
  [[ $value =~ ^[1-9][0-9]*$ ]] ||
    fail "LOCAL_SLURM_NODES, _CPUS, _PORT and _TIMEOUT must be positive integers"
done
[ "$(id -u)" = 0 ] || fail "run as root: munged, slurmctld and slurmd run as root here"
for tool in munged slurmctld slurmd sinfo srun; do
  command -v "$tool" >/dev/null || fail "$tool is missing: apt-get install slurm-wlm munge"
done
for pidfile in "$dir"/run/*.pid; do
  if live_pid "$pidfile" >/dev/null; then
    fail "a daemon of $dir still runs ($pidfile): stop-local-slurm.sh $dir first"
  fi
done

# DIR's folders are replaced below, so DIR must be new, empty or one that this script made.
if [ -d "$dir" ] && [ ! -e "$dir/.local-slurm" ] && [ -n "$(ls -A "$dir")" ]; then
  fail "$dir is neither empty nor a folder of start-local-slurm.sh"
fi
mkdir -p "$dir"
touch "$dir/.local-slurm"
# A fresh cluster each time: job ids from 1, no jobs or node states of an earlier one.
rm -rf "${dir:?}/etc" "$dir/state" "$dir/spool" "$dir/tmp" "$dir/run" "$dir/log"
mkdir -p "$dir"/{etc,state,run,log,munge}
logs_written=1
# munged refuses a socket in a folder that not everyone may search.
chmod 755 "$dir" "$dir/munge"
node_names=()
for i in $(seq "$nodes"); do
  node_names+=("n$i")
  mkdir -p "$dir/spool/n$i" "$dir/tmp/n$i"
done

# 1. munged with a key and socket of this DIR. The key is made once and kept, as on a cluster.
if [ ! -s "$dir/munge/munge.key" ]; then
  (umask 077 && head -c 1024 /dev/urandom >"$dir/munge/munge.key") || fail "cannot write a munge key"
fi
chmod 600 "$dir/munge/munge.key"
start_daemon munged "$dir/run/munged.pid" munged --socket="$dir/munge/munge.socket" \
  --key-file="$dir/munge/munge.key" --pid-file="$dir/run/munged.pid" \
  --log-file="$dir/log/munged.log" --seed-file="$dir/munge/munged.seed"

# 2. The configuration. Several slurmd on one host work because Debian builds SLURM with
# multiple-slurmd support: %n in a path stands for the node's name.
cat >"$conf" <<EOF
# Written by start-local-slurm.sh: a one-host test cluster of $nodes emulated node(s).
ClusterName=hpcnas-local
SlurmctldHost=localhost(127.0.0.1)
SlurmctldPort=$port
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
# cred_expire also sets how long a requeued job waits before it may start again (120 s by
# default): the requeue tests would take minutes longer.
AuthInfo=socket=$dir/munge/munge.socket,cred_expire=10
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool/%n
TmpFS=$dir/tmp/%n
SlurmctldPidFile=$dir/run/slurmctld.pid
SlurmdPidFile=$dir/run/slurmd.%n.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.%n.log
SlurmctldDebug=info
SlurmdDebug=info
# Neither cgroups nor systemd in a container: follow a job's processes through /proc, bind
# nothing, and collect no usage.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
# Finished jobs are listed in this file ('sacct -c' reads it; there is no database).
JobCompType=jobcomp/filetxt
JobCompLoc=$dir/state/jobcomp.txt
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/backfill
# Start a submitted batch job right away rather than up to 3 s later.
SchedulerParameters=batch_sched_delay=0
# Debian's Open MPI starts under srun through PMIx only.
MpiDefault=pmix
# A node that was down is back as soon as its slurmd registers.
ReturnToService=2
# Take the CPUs below as given even where the host has fewer cores.
SlurmdParameters=config_overrides
NodeName=n[1-$nodes] NodeHostname=localhost NodeAddr=127.0.0.1 Port=[$((port + 1))-$((port + nodes))] CPUs=$cpus State=UNKNOWN
PartitionName=local Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
export SLURM_CONF=$conf

# 3. The controller, then one slurmd per node; each forks itself into the background.
start_daemon slurmctld "$dir/run/slurmctld.pid" slurmctld -f "$conf"
for node in "${node_names[@]}"; do
  start_daemon "slurmd $node" "$dir/run/slurmd.$node.pid" slurmd -f "$conf" -N "$node"
done

# 4. Ready once every node reports idle, and once a job step ran on all of them: that proves
# munge, slurmd and slurmstepd, which a node's state alone does not.
idle=0
for _ in $(seq $((timeout_s * 4))); do
  idle=$(timeout 10 sinfo --noheader --Node --format='%T' 2>/dev/null | grep -c '^idle$' || true)
  [ "$idle" = "$nodes" ] && break
  sleep 0.25
done
if [ "$idle" != "$nodes" ]; then
  timeout 10 sinfo --Node --long >&2 || true
  fail "$idle of $nodes node(s) idle after ${timeout_s} s"
fi
timeout 60 srun --immediate=30 --nodes="$nodes" --ntasks="$nodes" --mpi=none true ||
  fail "a job step on all $nodes node(s) failed"
say "ready: $nodes node(s) of $cpus CPUs, slurmctld on port $port, state in $dir"

# 5. What a client and a job need. sbatch hands the submitting shell's environment to the job.
{
  echo "export SLURM_CONF=$conf"
  echo "export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1"
  # The emulated nodes share one host, and Open MPI's shared-memory transport crashes between
  # ranks that SLURM placed on different nodes of it: use TCP between them.
  if [ "$nodes" -gt 1 ]; then echo "export OMPI_MCA_btl=self,tcp"; fi
} >"$dir/env.sh"
cat "$dir/env.sh"
