#include "hpcnas/darts/early_stop.hpp"

namespace hpcnas::darts {

EarlyStop::EarlyStop(int max_skips, int stable_epochs)
    : max_skips_(max_skips), stable_epochs_(stable_epochs) {}

std::string EarlyStop::after_epoch(const space::Architecture& genotype,
                                   int normal_skip_connections) {
  const std::string text = genotype.to_string();
  unchanged_ = text == previous_ ? unchanged_ + 1 : 0;
  previous_ = text;
  if (max_skips_ > 0 && normal_skip_connections >= max_skips_)
    return "the normal cell has " + std::to_string(normal_skip_connections) +
           (normal_skip_connections == 1 ? " skip connection" : " skip connections") +
           " (--stop-skips " + std::to_string(max_skips_) + ")";
  if (stable_epochs_ > 0 && unchanged_ >= stable_epochs_)
    return "the derived genotype has not changed for " + std::to_string(unchanged_) +
           " epochs (--stop-stable " + std::to_string(stable_epochs_) + ")";
  return "";
}

} // namespace hpcnas::darts
