# Sourced by the SLURM tests: a throwaway one-host SLURM (tests/slurm/start-local-slurm.sh, or
# the scripts of the same interface in HPCNAS_SLURM_SCRIPTS) with its state under $WORK. Needs
# REPOSITORY and WORK; a test without root is skipped (77).
SLURM_SCRIPTS=${HPCNAS_SLURM_SCRIPTS:-$REPOSITORY/tests/slurm}
SLURM_DIR=$WORK/slurm

# start_local_slurm NODES: starts NODES emulated nodes of 4 CPUs, sources the clients' settings.
start_local_slurm() {
  [ "$(id -u)" = 0 ] || { echo "SKIPPED: the local SLURM needs root"; exit 77; }
  [ -f "$SLURM_SCRIPTS/start-local-slurm.sh" ] ||
    { echo "FAILED: no start-local-slurm.sh in $SLURM_SCRIPTS"; exit 1; }
  chmod 755 "$WORK" # munged wants every folder above its socket searchable by all
  # A port of its own, so a second cluster on this host does not collide.
  export LOCAL_SLURM_PORT=$((20000 + $$ % 20000)) LOCAL_SLURM_NODES=$1 LOCAL_SLURM_CPUS=4
  if ! timeout 120 bash "$SLURM_SCRIPTS/start-local-slurm.sh" "$SLURM_DIR" >/dev/null \
    2>"$WORK/slurm-start.log"; then
    cat "$WORK/slurm-start.log"
    echo "FAILED: the local SLURM did not start"
    exit 1
  fi
  source "$SLURM_DIR/env.sh"
}

stop_local_slurm() {
  timeout 60 bash "$SLURM_SCRIPTS/stop-local-slurm.sh" "$SLURM_DIR" >/dev/null 2>&1
}
