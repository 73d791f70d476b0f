// The run-file readers of `--resume` and `report` (search, darts and train run files), as the
// application calls them: verify_readable first (a trial read in a child process, which turns
// HDF5's own crashes and hangs on damaged files into a StoreError), then the reads. Any file is
// read or rejected with StoreError naming it; no crash, leak or hang. Seeds are small run files
// of each kind, so most inputs are HDF5 files with damaged metadata or data.
#include <hdf5.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_files.hpp"
#include "hpcnas/store/darts_file.hpp"
#include "hpcnas/store/run_file.hpp"
#include "hpcnas/store/train_file.hpp"

namespace {

template <typename Read> void read_with(Read read) {
  try {
    read();
  } catch (const hpcnas::store::StoreError&) {
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace hpcnas::store;
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  const std::string path = fuzz::write_file("run.h5", data, size);
  try {
    verify_readable(path, TrialLimits{5, std::size_t{1} << 30});
  } catch (const StoreError&) {
    return 0; // the application stops here with exit 2
  }
  read_with([&] { read_run_kind(path); });
  read_with([&] { read_config(path); });
  read_with([&] { read_evaluations(path); }); // what a resume replays, genotypes parsed
  read_with([&] { read_controller(path); });
  read_with([&] { read_darts(path); });
  read_with([&] { read_train(path); });
  read_with([&] { read_export(path); });
  read_with([&] { RunFile::open_append(path); });
  return 0;
}
