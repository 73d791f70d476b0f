#pragma once
/// SGD with momentum and weight decay on flat buffers, shared by child training and the final
/// training of `hpcnas train`.

#include <cstdint>
#include <vector>

#include <torch/torch.h>

namespace hpcnas::train {

/// SGD with momentum and weight decay (PyTorch semantics: no dampening, no Nesterov, decay added
/// to the gradient) after clipping the global gradient norm, on flat buffers: the parameters
/// become views into one tensor and their gradients views into another, into which backward
/// accumulates. The whole update is then a handful of vector operations instead of several per
/// parameter tensor, the norm is one reduction, and a data-parallel step sums one buffer. As
/// with zero_grad(set_to_none=False) in PyTorch, a parameter that got no gradient still decays
/// and keeps its momentum.
class FlatSgd {
public:
  FlatSgd(const std::vector<torch::Tensor>& params, double momentum, double weight_decay,
          double clip);

  void zero_grad() { grads_.zero_(); }
  /// Clips, decays and applies the gradient buffer with learning rate `lr`.
  void step(double lr);

  /// Every parameter, flattened in the order given (views of the module's parameters).
  torch::Tensor& params() { return params_; }
  /// Their gradients, flattened in the same order.
  torch::Tensor& grads() { return grads_; }
  /// The momentum buffer (undefined without momentum).
  torch::Tensor& momentum_buffer() { return buffer_; }

private:
  double momentum_;
  double weight_decay_;
  double clip_;
  torch::Tensor params_;
  torch::Tensor grads_;
  torch::Tensor buffer_;
};

/// Cosine schedule from lr0 down to lr_min: the rate at `step` of `total` (step in [0, total)).
double cosine_lr(double lr0, double lr_min, std::int64_t step, std::int64_t total);

} // namespace hpcnas::train
