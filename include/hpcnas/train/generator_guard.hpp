#pragma once
/// Leaves LibTorch's global CPU generator as it was: module constructors draw their default
/// initialisation from it, and a one-rank run trains children with it, so work on the side (the
/// RL policy, a zero-cost proxy) must not move it.

#include <torch/torch.h>

namespace hpcnas::train {

class GlobalGeneratorGuard {
public:
  GlobalGeneratorGuard() : generator_(at::detail::getDefaultCPUGenerator()) {
    state_ = generator_.get_state();
  }
  ~GlobalGeneratorGuard() { generator_.set_state(state_); }
  GlobalGeneratorGuard(const GlobalGeneratorGuard&) = delete;
  GlobalGeneratorGuard& operator=(const GlobalGeneratorGuard&) = delete;

private:
  at::Generator generator_;
  torch::Tensor state_;
};

} // namespace hpcnas::train
