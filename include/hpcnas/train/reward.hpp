#pragma once
/// Turns a measured child into the scalar the strategy maximises.

#include "hpcnas/config/search_config.hpp"
#include "hpcnas/train/evaluation.hpp"

namespace hpcnas::train {

/// accuracy: val_accuracy. latency: val_accuracy * (latency_ms / target)^w (MnasNet soft
/// constraint, w < 0). params: val_accuracy, or 0 above max_params. A failed child gets 0.
double compute_reward(const config::RewardConfig& cfg, const EvalResult& result);

} // namespace hpcnas::train
