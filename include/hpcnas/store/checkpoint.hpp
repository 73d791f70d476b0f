#pragma once
/// Checkpoints of a run, beside its run file: `<run>.ckpt` and the one before, `<run>.ckpt.prev`.
/// Each is a small HDF5 file holding one payload and, as attributes of `/`, its schema version,
/// checksum, kind ("search", "darts" or "train") and readable progress. Its first 512 bytes (an
/// HDF5 user block) hold a seal, the checksum of the rest of the file, checked before HDF5 opens
/// it: a truncated or damaged checkpoint is refused without being parsed.
///  - search: the controller's DispatchState with the strategy's state and the hash of the
///    search-defining options; attributes next_id and recorded;
///  - darts and train: the serialised state of the supernet search or of the final training and
///    the options' hash; attributes epoch, step.
/// Written atomically: a temporary file is written, fsync'ed and renamed over the checkpoint
/// after the old one became `.prev`.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "hpcnas/search/dispatcher.hpp"

namespace hpcnas::store {

inline constexpr int kCheckpointSchemaVersion = 2; ///< 2: sealed

/// A checkpoint of `hpcnas search`.
struct Checkpoint {
  search::DispatchState dispatch;
  std::string config_hash; ///< of the options that define the search
};

/// A checkpoint of `hpcnas darts` (kind "darts") or `hpcnas train` (kind "train").
struct EpochCheckpoint {
  std::vector<char> state; ///< DartsSearch::save_state() or FinalTraining::save_state()
  std::string config_hash; ///< of the options that define the run
  std::int64_t epoch = 0;  ///< the epoch in progress (0-based): epochs before it are done
  std::int64_t step = 0;   ///< steps of that epoch done
};

/// `<run_file>.ckpt`
std::string checkpoint_path(const std::string& run_file);
/// `<run_file>.ckpt.prev`
std::string previous_checkpoint_path(const std::string& run_file);

/// Removes the checkpoints of `run_file`: a run file created anew (--overwrite) must not be
/// resumed from a checkpoint of the run it replaced.
void remove_checkpoints(const std::string& run_file);

/// Writes the checkpoint of `run_file` atomically and keeps the one it replaces as `.prev`.
void write_checkpoint(const std::string& run_file, const Checkpoint& checkpoint);
void write_checkpoint(const std::string& run_file, const std::string& kind,
                      const EpochCheckpoint& checkpoint);

template <typename T> struct Loaded {
  T checkpoint;
  std::string path;     ///< the file it came from
  std::string fallback; ///< why the newest was skipped, when the previous one was used
};
using LoadedCheckpoint = Loaded<Checkpoint>;

/// The newest checkpoint of `run_file` that passes its checksum and is of the right kind, else
/// the previous one (saying why in `fallback`). Nothing when neither file exists. Throws
/// StoreError, naming the files and what is wrong, when checkpoints exist and none is valid.
std::optional<LoadedCheckpoint> load_checkpoint(const std::string& run_file);
std::optional<Loaded<EpochCheckpoint>> load_epoch_checkpoint(const std::string& run_file,
                                                             const std::string& kind);

/// FNV-1a 64-bit hash, as 16 hex digits: checksums and the configuration hash.
std::string fnv1a_hex(const std::string& data);

/// A sealed checkpoint file holding `payload` as it is (for the fuzz target of the readers).
void write_checkpoint_file(const std::string& path, const std::string& kind,
                           const std::vector<char>& payload);

} // namespace hpcnas::store
