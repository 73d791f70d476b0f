#pragma once
/// The HDF5 run file, written by rank 0 only. Layout:
///   /                 attributes: schema_version, hpcnas_version, command_line, ranks and nodes
///                     (of the run that created it), one string attribute "config.<option>" per
///                     resolved option
///   /evaluations/<c>  one 1-D extendible, chunked dataset per field c of EvaluationRow
///   /controller/<c>   the same per field of search::ControllerUpdate (learning strategies)
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

/// One row of /evaluations: a trainer's result and rank 0's timing of it, one column per field
/// of each (see train::EvalResult).
struct EvaluationRow {
  train::EvalResult result;
  train::ControllerTiming timing;

  /// Columns added since schema version 2: a file without them reads NaN there, and gets them
  /// when it is resumed.
  static constexpr const char* kAddedColumns[] = {"proxy_score", "epochs", "continues"};

  template <typename Self, typename Visit> static void fields(Self& self, Visit&& visit) {
    train::EvalResult::fields(self.result, visit);
    train::ControllerTiming::fields(self.timing, visit);
  }
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

/// Limits of verify_readable's trial read.
struct TrialLimits {
  double seconds = 60;                      ///< wall time of the trial process
  std::size_t bytes = std::size_t{2} << 30; ///< resident memory of the trial process
};

/// Reads everything of the run file at `path` once in a child process (fork), so that a file
/// damaged in a way that crashes HDF5, hangs it or makes it exhaust memory (HDF5 1.10 is not
/// safe on damaged files; docs/testing.md, Fuzzing) is a StoreError here rather than the end of
/// the caller. A file that HDF5 reads, or refuses with an error, passes: the caller's own read
/// reports that error. Writes nothing. Call it before the first read of a file from elsewhere
/// (--resume, --from, report).
void verify_readable(const std::string& path, const TrialLimits& limits = {});

/// Reads /evaluations of a run file (open or closed). A row whose genotype or status does not
/// parse is a StoreError naming the file and the row.
std::vector<EvaluationRow> read_evaluations(const std::string& path);

/// Reads /controller of a run file (empty for strategies that do not learn).
std::vector<search::ControllerUpdate> read_controller(const std::string& path);

/// The resolved options a run file was created with ("config.<option>" attributes of `/`).
std::vector<std::pair<std::string, std::string>> read_config(const std::string& path);

/// Reads a string attribute of `/`; throws StoreError when it is missing.
std::string read_root_attribute(const std::string& path, const std::string& name);
/// Whether `/` has the attribute `name`.
bool has_root_attribute(const std::string& path, const std::string& name);
/// Reads an integer attribute of `/`; throws StoreError when it is missing.
int read_root_int_attribute(const std::string& path, const std::string& name);

} // namespace hpcnas::store
