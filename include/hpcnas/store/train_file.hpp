#pragma once
/// The HDF5 run file of `hpcnas train`, written by rank 0 only. Layout:
///   /                  attributes as in a search run file (schema_version, hpcnas_version,
///                      command_line, ranks, nodes, config.<option>); kind = "train";
///                      genotype (DARTS text); parameters; when trained --from a run file:
///                      source_run and source_seconds (that run's wall time); after the last
///                      epoch: test_accuracy, test_loss, worst_class, worst_class_accuracy
///   /epochs/<c>        one row per epoch (TrainEpochRow), 1-D extendible columns
///   /test/confusion    int64 [classes, classes] of the final model: row = true class,
///                      column = predicted class
///   /test/per_class_accuracy   float64 [classes]
///   /export/images     float32 [n, C, H, W]: test images as the ONNX model takes them (pixels
///                      in [0, 1]); /export/logits float32 [n, classes]: hpcnas's logits of them;
///                      attribute onnx: the path of the exported model
/// Each append and write flushes the file, so h5py reads it during the run.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "hpcnas/retrain/records.hpp"
#include "hpcnas/store/run_file.hpp"

namespace hpcnas::store {

/// What the run file says about where its genotype came from and what was trained.
struct TrainSource {
  std::string genotype;
  std::int64_t parameters = 0;
  std::string source_run;     ///< "" when given as --genotype
  double source_seconds = -1; ///< wall time of the source run (-1: unknown)
};

using retrain::ExportSample;
using retrain::TestResults;
using retrain::TrainEpochRow;

class TrainFile {
public:
  /// Creates the file (refuses to replace one unless overwrite).
  static TrainFile create(const std::string& path, bool overwrite, const RunAttributes& attrs,
                          const TrainSource& source);
  /// Reopens a train run file to continue it. Throws StoreError when it is missing, not a train
  /// run file, or of another schema version.
  static TrainFile open_append(const std::string& path);
  TrainFile(TrainFile&&) noexcept;
  TrainFile& operator=(TrainFile&&) noexcept;
  ~TrainFile();

  void append(const TrainEpochRow& row);
  /// Keeps only the first `epochs` rows (a resume recomputes the rest) and flushes.
  void truncate(std::int64_t epochs);
  std::int64_t epochs() const;
  /// Writes (or replaces) /test and the test attributes of `/`.
  void write_test(const TestResults& results);
  /// Writes (or replaces) /export.
  void write_export(const ExportSample& sample);

private:
  struct Impl;
  explicit TrainFile(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

/// Everything a train run file holds, read back (open or closed).
struct TrainHistory {
  TrainSource source;
  std::vector<TrainEpochRow> epochs;
  bool tested = false; ///< /test was written
  TestResults test;
};
TrainHistory read_train(const std::string& path);
ExportSample read_export(const std::string& path);

/// The kind attribute of a run file: "search" (also for files without one), "darts" or "train".
std::string read_run_kind(const std::string& path);

} // namespace hpcnas::store
