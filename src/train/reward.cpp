#include "hpcnas/train/reward.hpp"

#include <cmath>

namespace hpcnas::train {

double compute_reward(const config::RewardConfig& cfg, const EvalResult& result) {
  if (result.status != EvalStatus::kOk)
    return 0.0;
  if (cfg.kind == "latency") {
    if (result.latency_ms <= 0 || cfg.target_latency_ms <= 0)
      return result.val_accuracy;
    return result.val_accuracy *
           std::pow(result.latency_ms / cfg.target_latency_ms, cfg.latency_weight);
  }
  if (cfg.kind == "params") {
    if (cfg.max_params > 0 && static_cast<double>(result.params) > cfg.max_params)
      return 0.0;
  }
  return result.val_accuracy;
}

} // namespace hpcnas::train
