#pragma once
/// The HDF5 run file, written by rank 0 only. Layout:
///   /                 attributes: schema_version, hpcnas_version, command_line, ranks and nodes
///                     (of the run that created it), one string attribute "config.<option>" per
///                     resolved option
///   /evaluations/<c>  one 1-D extendible, chunked dataset per column c (see EvaluationTable)
/// Each append extends every column by one row and flushes the file, so a crash loses at most
/// in-flight work and h5py/h5dump read the file while the run goes on.

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "hpcnas/search/strategy.hpp"
#include "hpcnas/train/evaluation.hpp"

namespace hpcnas::store {

/// 2: rank 0's timing columns (dispatched, received, rank0_*_seconds), ranks and nodes on `/`.
inline constexpr int kSchemaVersion = 2;

/// Any HDF5 failure, with the file and object path in the message.
class StoreError : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

/// Attributes written on `/` when a run file is created.
struct RunAttributes {
  std::string command_line;
  std::vector<std::pair<std::string, std::string>> config; ///< resolved option -> value
  int ranks = 1; ///< MPI ranks
  int nodes = 1; ///< distinct hosts among them
};

/// The columns of /evaluations, read back whole (for tests, report and resume).
struct EvaluationTable {
  std::vector<std::int64_t> id;
  std::vector<std::string> genotype; ///< DARTS text
  std::vector<double> reward;
  std::vector<double> val_accuracy;
  std::vector<std::int64_t> params;
  std::vector<std::int64_t> flops;
  std::vector<double> latency_ms;
  std::vector<double> train_seconds;
  std::vector<std::int32_t> rank;
  std::vector<std::string> status; ///< status_name()
  std::vector<std::string> message;
  std::vector<double> started;
  std::vector<double> finished;
  std::vector<double> dispatched; ///< ControllerTiming, one column per field
  std::vector<double> received;
  std::vector<double> rank0_strategy_seconds;
  std::vector<double> rank0_store_seconds;
  std::string path; ///< the run file it was read from
  std::size_t rows() const { return id.size(); }
  /// Row `row` as the result it recorded (resume replays these). A row that does not parse (a
  /// damaged genotype or status) is a StoreError naming the file and the row.
  train::EvalResult result(std::size_t row) const;

private:
  train::EvalResult parse_row(std::size_t row) const;
};

/// The columns of /controller, read back whole.
struct ControllerTable {
  std::vector<std::int64_t> update;
  std::vector<double> mean_reward;
  std::vector<double> baseline;
  std::vector<double> entropy;
  std::vector<double> loss;
  std::vector<double> grad_norm;
  std::size_t rows() const { return update.size(); }
};

class RunFile {
public:
  /// Creates a new run file. Refuses (StoreError) to replace an existing file unless overwrite.
  static RunFile create(const std::string& path, bool overwrite, const RunAttributes& attrs);
  /// Reopens a run file to append to it (resume). Throws StoreError when it is missing, not a
  /// run file, or of another schema version.
  static RunFile open_append(const std::string& path);
  RunFile(RunFile&&) noexcept;
  RunFile& operator=(RunFile&&) noexcept;
  ~RunFile();

  /// Appends one row to every column of /evaluations and flushes the file.
  void append(const train::EvalResult& result, const train::ControllerTiming& timing);
  /// Appends one row to /controller and flushes the file.
  void append_controller(const search::ControllerUpdate& update);
  std::int64_t rows() const;
  std::int64_t controller_rows() const;
  const std::string& path() const;

private:
  struct Impl;
  explicit RunFile(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

/// Reads /evaluations of a run file (open or closed).
EvaluationTable read_evaluations(const std::string& path);

/// Reads /controller of a run file (empty for strategies that do not learn).
ControllerTable read_controller(const std::string& path);

/// The resolved options a run file was created with ("config.<option>" attributes of `/`).
std::vector<std::pair<std::string, std::string>> read_config(const std::string& path);

/// Reads a string attribute of `/`; throws StoreError when it is missing.
std::string read_root_attribute(const std::string& path, const std::string& name);
/// Whether `/` has the attribute `name`.
bool has_root_attribute(const std::string& path, const std::string& name);
/// Reads an integer attribute of `/`; throws StoreError when it is missing.
int read_root_int_attribute(const std::string& path, const std::string& name);

} // namespace hpcnas::store
