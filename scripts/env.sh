# Sourced by the other scripts: the project's packages, the build folder, and MPI as root.
HPCNAS_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
HPCNAS_BUILD=${HPCNAS_BUILD:-$HPCNAS_ROOT/build}
HPCNAS_PACKAGES="build-essential cmake ccache libtorch-dev libopenblas0-pthread libopenmpi-dev
  openmpi-bin libhdf5-dev hdf5-tools libboost-program-options-dev catch2 zlib1g-dev
  dataset-fashion-mnist python3-h5py libonnx-dev libprotobuf-dev python3-onnx python3-opencv
  python3-matplotlib graphviz"
# Open MPI refuses to start as root unless told that is intended.
if [ "$(id -u)" = 0 ]; then
  export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
fi

# Installs the Debian packages that are missing (nothing when all are there).
hpcnas_install() {
  local missing=() p
  for p in $HPCNAS_PACKAGES "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "installing: ${missing[*]}"
  local sudo=""
  [ "$(id -u)" = 0 ] || sudo=sudo
  $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q "${missing[@]}"
}

# Configures (Release unless CMAKE_BUILD_TYPE says otherwise) and builds with both cores.
hpcnas_build() {
  cmake -S "$HPCNAS_ROOT" -B "$HPCNAS_BUILD" -DCMAKE_BUILD_TYPE="${CMAKE_BUILD_TYPE:-Release}" "$@"
  cmake --build "$HPCNAS_BUILD" -j "$(nproc)"
}
