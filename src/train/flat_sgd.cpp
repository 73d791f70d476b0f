#include "hpcnas/train/flat_sgd.hpp"

#include <cmath>

namespace hpcnas::train {

namespace {
constexpr std::int64_t kCudaSlotAlignment = 16; // floats: 64 bytes
} // namespace

FlatSgd::FlatSgd(const std::vector<torch::Tensor>& params, double momentum, double weight_decay,
                 double clip, std::int64_t alignment)
    : momentum_(momentum), weight_decay_(weight_decay), clip_(clip) {
  torch::NoGradGuard no_grad;
  const auto options = params.empty() ? torch::TensorOptions() : params.front().options();
  if (alignment <= 0)
    alignment = options.device().is_cuda() ? kCudaSlotAlignment : 1;
  std::int64_t total = 0;
  for (const auto& p : params) {
    total = (total + alignment - 1) / alignment * alignment;
    slots_.push_back({total, p.numel()});
    total += p.numel();
    parameter_count_ += p.numel();
  }
  params_ = torch::zeros({total}, options);
  grads_ = torch::zeros({total}, options);
  if (momentum_ != 0) {
    buffer_ = torch::zeros({total}, options); // first step: 0 * momentum + d_p = d_p
  }
  for (std::size_t i = 0; i < params.size(); ++i) {
    auto p = params[i];
    const auto [offset, n] = slots_[i];
    auto param_view = params_.narrow(0, offset, n).view(p.sizes());
    param_view.copy_(p);
    p.set_data(param_view);
    p.mutable_grad() = grads_.narrow(0, offset, n).view(p.sizes());
  }
}

torch::Tensor FlatSgd::packed(const torch::Tensor& flat) const {
  if (flat.numel() == parameter_count_)
    return flat; // no padding
  std::vector<torch::Tensor> parts;
  parts.reserve(slots_.size());
  for (const auto& slot : slots_)
    parts.push_back(flat.narrow(0, slot.offset, slot.numel));
  return torch::cat(parts);
}

void FlatSgd::unpack(const torch::Tensor& packed, torch::Tensor& flat) const {
  TORCH_CHECK(packed.numel() == parameter_count_, "FlatSgd::unpack: ", packed.numel(),
              " values for ", parameter_count_, " parameters");
  torch::NoGradGuard no_grad;
  std::int64_t at = 0;
  for (const auto& slot : slots_) {
    flat.narrow(0, slot.offset, slot.numel).copy_(packed.narrow(0, at, slot.numel));
    at += slot.numel;
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
