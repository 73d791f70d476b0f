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
///
/// On a GPU each parameter's slot starts on a 64-byte boundary (zero padding between slots,
/// which stays zero): CUDA kernels that load vectors need aligned views (a packed buffer ended
/// `hpcnas train --device cuda` with "misaligned address" on an H200). On a CPU the slots are
/// packed. Checkpoints hold the packed layout, whatever the device (packed() and unpack()).
class FlatSgd {
public:
  /// alignment: elements per slot boundary; 0 chooses by the parameters' device (16 floats on
  /// CUDA, 1 elsewhere).
  FlatSgd(const std::vector<torch::Tensor>& params, double momentum, double weight_decay,
          double clip, std::int64_t alignment = 0);

  void zero_grad() { grads_.zero_(); }
  /// Clips, decays and applies the gradient buffer with learning rate `lr`.
  void step(double lr);

  /// Every parameter, flattened in the order given (views of the module's parameters).
  torch::Tensor& params() { return params_; }
  const torch::Tensor& params() const { return params_; }
  /// Their gradients, flattened in the same order.
  torch::Tensor& grads() { return grads_; }
  /// The momentum buffer (undefined without momentum).
  torch::Tensor& momentum_buffer() { return buffer_; }
  const torch::Tensor& momentum_buffer() const { return buffer_; }

  /// The number of parameters (the buffers' length without padding).
  std::int64_t parameter_count() const { return parameter_count_; }
  /// `flat` (params(), grads() or momentum_buffer()) without the padding between slots.
  torch::Tensor packed(const torch::Tensor& flat) const;
  /// Copies a packed buffer (of parameter_count() elements) into the slots of `flat`.
  void unpack(const torch::Tensor& packed, torch::Tensor& flat) const;

private:
  struct Slot {
    std::int64_t offset;
    std::int64_t numel;
  };
  std::vector<Slot> slots_;
  std::int64_t parameter_count_ = 0;
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
