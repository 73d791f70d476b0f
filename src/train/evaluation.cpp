#include "hpcnas/train/evaluation.hpp"

#include <algorithm>
#include <chrono>
#include <stdexcept>

#include "hpcnas/space/hash.hpp"

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
  // The pair mixed as splitmix64 mixes: neighbouring ids and seeds give unrelated streams.
  return space::mix64(run_seed * space::kGoldenGamma + static_cast<std::uint64_t>(id) + 1);
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
