#include "hpcnas/train/evaluation.hpp"

#include <algorithm>
#include <chrono>
#include <stdexcept>

namespace hpcnas::train {

const char* status_name(EvalStatus status) {
  switch (status) {
  case EvalStatus::kOk:
    return "ok";
  case EvalStatus::kDiverged:
    return "diverged";
  case EvalStatus::kError:
    return "error";
  case EvalStatus::kTimeout:
    return "timeout";
  case EvalStatus::kInterrupted:
    return "interrupted";
  case EvalStatus::kLost:
    return "lost";
  }
  return "unknown";
}

EvalStatus status_from_name(const std::string& name) {
  for (EvalStatus s : {EvalStatus::kOk, EvalStatus::kDiverged, EvalStatus::kError,
                       EvalStatus::kTimeout, EvalStatus::kInterrupted, EvalStatus::kLost})
    if (name == status_name(s))
      return s;
  throw std::invalid_argument("unknown evaluation status '" + name + "'");
}

std::uint64_t evaluation_seed(std::uint64_t run_seed, std::int64_t id) {
  // splitmix64 of the pair: neighbouring ids and seeds give unrelated streams.
  std::uint64_t z = run_seed * 0x9E3779B97F4A7C15ULL + static_cast<std::uint64_t>(id) + 1;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

double unix_time() {
  using namespace std::chrono;
  return duration<double>(system_clock::now().time_since_epoch()).count();
}

namespace {

class ForcedFailureEvaluator : public Evaluator {
public:
  ForcedFailureEvaluator(std::unique_ptr<Evaluator> inner, std::vector<std::int64_t> ids)
      : inner_(std::move(inner)), ids_(std::move(ids)) {}

  EvalResult evaluate(const EvalRequest& request) override {
    if (std::find(ids_.begin(), ids_.end(), request.id) == ids_.end())
      return inner_->evaluate(request);
    EvalResult result;
    result.id = request.id;
    result.genotype = request.genotype;
    result.status = EvalStatus::kError;
    result.started = result.finished = unix_time();
    result.message = "forced failure of id " + std::to_string(request.id) + " (--fail-ids)";
    return result;
  }

  void set_interrupt(std::function<bool()> interrupt) override {
    inner_->set_interrupt(std::move(interrupt));
  }

private:
  std::unique_ptr<Evaluator> inner_;
  std::vector<std::int64_t> ids_;
};

} // namespace

std::unique_ptr<Evaluator> with_forced_failures(std::unique_ptr<Evaluator> inner,
                                                std::vector<std::int64_t> ids) {
  if (ids.empty())
    return inner;
  return std::make_unique<ForcedFailureEvaluator>(std::move(inner), std::move(ids));
}

} // namespace hpcnas::train
