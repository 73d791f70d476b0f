#include "hpcnas/train/flat_sgd.hpp"

#include <cmath>

namespace hpcnas::train {

FlatSgd::FlatSgd(const std::vector<torch::Tensor>& params, double momentum, double weight_decay,
                 double clip)
    : momentum_(momentum), weight_decay_(weight_decay), clip_(clip) {
  torch::NoGradGuard no_grad;
  std::int64_t total = 0;
  for (const auto& p : params) {
    total += p.numel();
  }
  const auto options = params.empty() ? torch::TensorOptions() : params.front().options();
  params_ = torch::empty({total}, options);
  grads_ = torch::zeros({total}, options);
  if (momentum_ != 0) {
    buffer_ = torch::zeros({total}, options); // first step: 0 * momentum + d_p = d_p
  }
  std::int64_t offset = 0;
  for (auto p : params) {
    const auto n = p.numel();
    auto param_view = params_.narrow(0, offset, n).view(p.sizes());
    param_view.copy_(p);
    p.set_data(param_view);
    p.mutable_grad() = grads_.narrow(0, offset, n).view(p.sizes());
    offset += n;
  }
}

void FlatSgd::step(double lr) {
  torch::NoGradGuard no_grad;
  if (clip_ > 0) {
    // As torch.nn.utils.clip_grad_norm_: scale by clip / (norm + 1e-6) when that is < 1.
    const double norm = grads_.norm().item<double>();
    const double coef = clip_ / (norm + 1e-6);
    if (coef < 1) {
      grads_.mul_(coef);
    }
  }
  if (weight_decay_ != 0) {
    grads_.add_(params_, weight_decay_);
  }
  if (momentum_ != 0) {
    buffer_.mul_(momentum_).add_(grads_);
    params_.add_(buffer_, -lr);
  } else {
    params_.add_(grads_, -lr);
  }
}

double cosine_lr(double lr0, double lr_min, std::int64_t step, std::int64_t total) {
  if (total <= 1) {
    return lr0;
  }
  const double progress = static_cast<double>(step) / static_cast<double>(total);
  constexpr double kPi = 3.14159265358979323846;
  return lr_min + 0.5 * (lr0 - lr_min) * (1.0 + std::cos(kPi * progress));
}

} // namespace hpcnas::train
