#include "hpcnas/app/progress.hpp"

#include <algorithm>
#include <cstdio>
#include <ostream>

namespace hpcnas::app {

std::string clock_text(double seconds) {
  const auto s = static_cast<long long>(seconds + 0.5);
  char text[32];
  std::snprintf(text, sizeof text, "%02lld:%02lld:%02lld", s / 3600, s / 60 % 60, s % 60);
  return text;
}

EpochLog::EpochLog(std::ostream& out, int rank, double min_seconds)
    : out_(out), rank_(rank), min_seconds_(min_seconds), last_(std::chrono::steady_clock::now()) {}

void EpochLog::epoch(const train::EpochProgress& p) {
  const auto now = std::chrono::steady_clock::now();
  if (std::chrono::duration<double>(now - last_).count() < min_seconds_)
    return;
  last_ = now;
  char line[256];
  std::snprintf(line, sizeof line,
                "[hpcnas] rank %d: evaluation %lld epoch %d/%d loss %.4f train accuracy %.4f "
                "(%.1f s per epoch, ETA %s)",
                rank_, static_cast<long long>(p.id), p.epoch + 1, p.epochs, p.loss, p.accuracy,
                p.epoch_seconds, clock_text(p.epoch_seconds * (p.epochs - p.epoch - 1)).c_str());
  out_ << line << std::endl;
}

ProgressLog::ProgressLog(std::ostream& out, std::int64_t budget, std::string label,
                         bool show_epochs)
    : out_(out), budget_(budget), label_(std::move(label)), show_epochs_(show_epochs),
      start_(std::chrono::steady_clock::now()) {}

void ProgressLog::restore(const train::EvalResult& result) {
  ++done_;
  ++restored_;
  if (result.status != train::EvalStatus::kOk)
    ++failures_;
  else if (!best_ || result.reward > best_->reward)
    best_ = result;
}

void ProgressLog::record(const train::EvalResult& result) {
  ++done_;
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  const auto fresh = static_cast<double>(done_ - restored_);
  const double per_hour = elapsed > 0 ? fresh * 3600.0 / elapsed : 0.0;
  const double eta = fresh > 0 ? elapsed / fresh * static_cast<double>(budget_ - done_) : 0.0;
  char line[256];
  if (result.status != train::EvalStatus::kOk) {
    ++failures_;
    std::snprintf(line, sizeof line,
                  "[hpcnas] %lld/%lld id=%lld rank=%d FAILED (%s): ", static_cast<long long>(done_),
                  static_cast<long long>(budget_), static_cast<long long>(result.id), result.rank,
                  train::status_name(result.status));
    out_ << line << result.message << std::endl;
    return;
  }
  if (!best_ || result.reward > best_->reward)
    best_ = result;
  // The fidelity when a scheduler varies it: which rung, and which row a promotion continued.
  char fidelity[64] = "";
  if (result.continues >= 0)
    std::snprintf(fidelity, sizeof fidelity, " epochs=%d (continues id %lld)", result.epochs,
                  static_cast<long long>(result.continues));
  else if (show_epochs_)
    std::snprintf(fidelity, sizeof fidelity, " epochs=%d", result.epochs);
  std::snprintf(line, sizeof line,
                "[hpcnas] %lld/%lld id=%lld rank=%d%s %s=%.4f best=%.4f evals/h=%.0f eta=%s",
                static_cast<long long>(done_), static_cast<long long>(budget_),
                static_cast<long long>(result.id), result.rank, fidelity, label_.c_str(),
                result.reward, best_->reward, per_hour, clock_text(eta).c_str());
  out_ << line << std::endl;
}

void CheckpointTimes::print(std::ostream& out) const {
  if (milliseconds_.empty())
    return;
  auto sorted = milliseconds_;
  std::sort(sorted.begin(), sorted.end());
  char line[128];
  std::snprintf(line, sizeof line, "[hpcnas] checkpoints: %zu written, median %.1f ms, max %.1f ms",
                sorted.size(), sorted[(sorted.size() - 1) / 2], sorted.back());
  out << line << std::endl;
}

} // namespace hpcnas::app
