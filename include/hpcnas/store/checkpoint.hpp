#pragma once
/// Checkpoints of a search, beside its run file: `<run>.ckpt` and the one before,
/// `<run>.ckpt.prev`. Each is a small HDF5 file holding one payload (the controller's DispatchState
/// with the strategy's state, and the hash of the search-defining options) and, as attributes of
/// `/`, its schema version, checksum, and readable next_id/recorded. Written atomically: a
/// temporary file is written, fsync'ed and renamed over the checkpoint after the old one became
/// `.prev`.

#include <cstdint>
#include <optional>
#include <string>

#include "hpcnas/search/dispatcher.hpp"

namespace hpcnas::store {

inline constexpr int kCheckpointSchemaVersion = 1;

struct Checkpoint {
  search::DispatchState dispatch;
  std::string config_hash; ///< of the options that define the search
};

/// `<run_file>.ckpt`
std::string checkpoint_path(const std::string& run_file);
/// `<run_file>.ckpt.prev`
std::string previous_checkpoint_path(const std::string& run_file);

/// Writes the checkpoint of `run_file` atomically and keeps the one it replaces as `.prev`.
void write_checkpoint(const std::string& run_file, const Checkpoint& checkpoint);

struct LoadedCheckpoint {
  Checkpoint checkpoint;
  std::string path;     ///< the file it came from
  std::string fallback; ///< why the newest was skipped, when the previous one was used
};

/// The newest checkpoint of `run_file` that passes its checksum, else the previous one (saying
/// why in `fallback`). Nothing when neither file exists. Throws StoreError, naming the files and
/// what is wrong, when checkpoints exist and none is valid.
std::optional<LoadedCheckpoint> load_checkpoint(const std::string& run_file);

/// FNV-1a 64-bit hash, as 16 hex digits: checksums and the configuration hash.
std::string fnv1a_hex(const std::string& data);

} // namespace hpcnas::store
