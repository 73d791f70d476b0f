#pragma once
/// What the architect (architect.hpp) trains: a supernet of weights and architecture parameters
/// alpha, one [edges, ops] matrix per cell type, which mixing_weights() turns into the weights
/// that mix the candidates. The image supernet (supernet.hpp) has two, normal and reduce, each
/// mixed by a softmax per edge; the recurrent supernet (recurrent_supernet.hpp) one, mixed by a
/// softmax per node.

#include <vector>

#include <torch/torch.h>

namespace hpcnas::darts {

/// One micro-batch: images x [n, C, H, W], or token ids x [n, T] with their lengths [n]; labels
/// y [n].
struct Batch {
  torch::Tensor x;
  torch::Tensor y;
  torch::Tensor lengths; ///< texts only; undefined for images
};

class SearchNetworkImpl : public torch::nn::Module {
public:
  /// Logits of `batch` with explicit mixing weights, one [edges, ops] tensor per alpha in
  /// arch_parameters() order; pass detached weights when no gradient with respect to alpha is
  /// needed.
  virtual torch::Tensor logits(const Batch& batch, const std::vector<torch::Tensor>& weights) = 0;
  /// Logits of `batch` with mixing_weights(false).
  torch::Tensor logits(const Batch& batch);
  /// The mixing weights of the current alpha, of alpha itself or (detach) of a detached copy.
  /// By default a softmax over each edge's ops (DARTS).
  virtual std::vector<torch::Tensor> mixing_weights(bool detach) const;

  /// Every parameter but alpha (what SGD trains).
  virtual std::vector<torch::Tensor> weight_parameters() const = 0;
  /// The alpha matrices (what Adam trains).
  virtual std::vector<torch::Tensor> arch_parameters() const = 0;
  /// Running statistics every rank must share before evaluation (BatchNorm's); none by default.
  virtual std::vector<torch::Tensor> batchnorm_statistics() const { return {}; }
};

} // namespace hpcnas::darts
