// The checkpoint reader of `--resume` (search, darts, train), twice per input:
// - the input as a checkpoint file, torn or flipped anywhere (the seal stops it before HDF5
//   parses a byte: an earlier, unsealed format let a damaged file hang HDF5 1.10);
// - the input as the payload of a sealed checkpoint, which reaches the payload decoders that a
//   flipped byte never could.
// Either way the newest checkpoint is used or StoreError names what is wrong (with `.prev`
// absent there is no fallback); no crash, leak or hang.
#include <hdf5.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_files.hpp"
#include "hpcnas/store/checkpoint.hpp"
#include "hpcnas/store/run_file.hpp"

namespace {

template <typename Load> void load_with(Load load) {
  try {
    load();
  } catch (const hpcnas::store::StoreError&) {
  }
}

void load_every_kind(const std::string& run) {
  load_with([&] { hpcnas::store::load_checkpoint(run); });
  load_with([&] { hpcnas::store::load_epoch_checkpoint(run, "darts"); });
  load_with([&] { hpcnas::store::load_epoch_checkpoint(run, "train"); });
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  const std::string run = fuzz::scratch() + "/run.h5";
  fuzz::write_file("run.h5.ckpt", data, size);
  load_every_kind(run);
  // The kind is chosen by the first byte, so that each decoder gets every payload shape.
  static const char* const kinds[] = {"search", "darts", "train"};
  const char* kind = kinds[size > 0 ? data[0] % 3 : 0];
  hpcnas::store::write_checkpoint_file(hpcnas::store::checkpoint_path(run), kind,
                                       {reinterpret_cast<const char*>(data),
                                        reinterpret_cast<const char*>(data) + size});
  load_every_kind(run);
  return 0;
}
