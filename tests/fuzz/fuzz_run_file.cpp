// The run-file readers of `--resume` and `report` (search, darts and train run files): any file
// is read or rejected with StoreError naming it; no crash, leak or hang. Seeds are small run
// files of each kind, so most inputs are HDF5 files with damaged metadata or data.
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
  read_with([&] { read_run_kind(path); });
  read_with([&] { read_config(path); });
  read_with([&] {
    const EvaluationTable table = read_evaluations(path);
    for (std::size_t row = 0; row < table.rows(); ++row)
      table.result(row); // what a resume replays: genotype and status parsed from text
  });
  read_with([&] { read_controller(path); });
  read_with([&] { read_darts(path); });
  read_with([&] { read_train(path); });
  read_with([&] { read_export(path); });
  read_with([&] { RunFile::open_append(path); });
  return 0;
}
