#pragma once
/// The HDF5 run file of `hpcnas darts`, written by rank 0 only. Layout:
///   /                    attributes as in a search run file: schema_version, hpcnas_version,
///                        command_line, config.<option>; plus kind = "darts"
///   /darts/epochs/<c>    one row per epoch, one 1-D extendible column per darts::EpochRecord field
///   /darts/alpha_normal  image cells: float64 [epoch, edge, op], extendible along epoch: alpha
///   /darts/alpha_reduce  after each epoch (edges in supernet order, ops in space::Op order,
///                        'none' first); attribute `ops`: the op names, comma-separated
///   /darts/alpha_recurrent  a recurrent cell instead: the same for its edges (row i(i-1)/2 + j:
///                        node j into node i) and activations
/// Each append writes every dataset and flushes the file, so h5py reads it during the run.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "hpcnas/darts/epoch_record.hpp"
#include "hpcnas/store/run_file.hpp"

namespace hpcnas::store {

/// The alpha datasets of a DARTS run file: those of image cells, or that of a recurrent cell;
/// each [epochs, edges, ops].
struct AlphaLayout {
  bool recurrent = false;
  int edges = 0;
  int ops = 0;
};

/// Everything of /darts, read back whole.
struct DartsHistory {
  std::vector<darts::EpochRecord> epochs; ///< alpha included
  AlphaLayout alphas;
};

class DartsFile {
public:
  /// Creates the file (refuses to replace one unless overwrite) with the alpha datasets of
  /// `alphas`.
  static DartsFile create(const std::string& path, bool overwrite, const RunAttributes& attrs,
                          const AlphaLayout& alphas);
  /// Reopens a DARTS run file to continue it (resume). Throws StoreError when it is missing,
  /// not a DARTS run file, or of another schema version.
  static DartsFile open_append(const std::string& path);
  DartsFile(DartsFile&&) noexcept;
  DartsFile& operator=(DartsFile&&) noexcept;
  ~DartsFile();

  /// Appends one epoch (row and alpha) and flushes.
  void append(const darts::EpochRecord& row);
  /// Keeps only the first `epochs` epochs (a resume drops those its checkpoint does not cover:
  /// they are computed again) and flushes.
  void truncate(std::int64_t epochs);
  std::int64_t epochs() const;

private:
  struct Impl;
  explicit DartsFile(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

/// Reads /darts of a DARTS run file (open or closed).
DartsHistory read_darts(const std::string& path);

} // namespace hpcnas::store
