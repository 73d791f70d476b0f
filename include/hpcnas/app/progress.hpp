#pragma once
/// Rank 0's log of a search: one line per finished evaluation (n/budget, reward, best so far,
/// evaluations per hour, ETA), failures with their cause, and the best architecture at the end.

#include <chrono>
#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

#include "hpcnas/train/evaluation.hpp"
#include "hpcnas/train/trainer.hpp"

namespace hpcnas::app {

/// Seconds as hh:mm:ss.
std::string clock_text(double seconds);

/// A trainer's log of the child it trains: a line after an epoch (loss, training accuracy, time
/// per epoch, the child's ETA) when `min_seconds` passed since its last line, so a slow child
/// shows progress and fast ones do not flood the job's output.
class EpochLog {
public:
  EpochLog(std::ostream& out, int rank, double min_seconds);
  void epoch(const train::EpochProgress& progress);

private:
  std::ostream& out_;
  int rank_;
  double min_seconds_;
  std::chrono::steady_clock::time_point last_;
};

class ProgressLog {
public:
  /// `show_epochs`: each line names the child's epochs (a scheduler varies them).
  ProgressLog(std::ostream& out, std::int64_t budget, std::string label, bool show_epochs = false);
  void record(const train::EvalResult& result);
  /// A result recorded before a resume: counted and considered for the best, not printed.
  void restore(const train::EvalResult& result);
  /// The best successful result so far, if any.
  const std::optional<train::EvalResult>& best() const { return best_; }
  std::int64_t failures() const { return failures_; }

private:
  std::ostream& out_;
  std::int64_t budget_;
  std::string label_; ///< "" or " (surrogate)"
  bool show_epochs_;
  std::int64_t done_ = 0;
  std::int64_t restored_ = 0;
  std::int64_t failures_ = 0;
  std::optional<train::EvalResult> best_;
  std::chrono::steady_clock::time_point start_;
};

/// What checkpoints cost on this file system (state, HDF5 write, fsync, renames): operators size
/// the checkpoint frequency from the line print() writes at the end of a run.
class CheckpointTimes {
public:
  void add(double milliseconds) { milliseconds_.push_back(milliseconds); }
  std::size_t count() const { return milliseconds_.size(); }
  /// "[hpcnas] checkpoints: N written, median X ms, max Y ms" (nothing when none was written).
  void print(std::ostream& out) const;

private:
  std::vector<double> milliseconds_;
};

} // namespace hpcnas::app
