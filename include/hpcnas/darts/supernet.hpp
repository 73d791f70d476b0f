#pragma once
/// The DARTS supernet: every edge of a cell is a mixed operation over all 8 candidates ('none'
/// included), weighted by softmax(alpha) of its cell type. Architecture as in DARTS and in
/// ../shared/bench/torch_peer.py: a stem (3x3 conv to stem_multiplier * C, affine BatchNorm),
/// L cells with reductions at L/3 and 2L/3, preprocessing and operations with BatchNorm without
/// affine parameters, pooling followed by BatchNorm, global average pooling and a linear head.
///
/// Two formulations of the same mathematics:
///  - fast (default): the ReLU an edge's operations share is computed once per state, 'none'
///    costs nothing (its output is exactly zero, so it adds nothing and its weight gets no
///    gradient from the product), and a node accumulates w * op(x) in place without temporaries.
///  - plain: sum over all 8 ops of w_k * op_k(x) with a fresh temporary per op, as the Python
///    reference writes it; kept to test the fast path against.

#include <cstdint>
#include <vector>

#include <torch/torch.h>

#include "hpcnas/model/operations.hpp"
#include "hpcnas/space/genotype.hpp"

namespace hpcnas::darts {

inline constexpr int kEdges = 14; ///< mixed edges per cell: 2 + 3 + 4 + 5
inline constexpr int kOps = space::kSupernetOps;

struct SupernetOptions {
  int in_channels = 1;
  int num_classes = 10;
  int channels = 16; ///< C
  int layers = 8;    ///< L
  int stem_multiplier = 3;
  bool fast = true; ///< false: the plain per-operation formulation (see the file comment)
};

/// One edge: all kOps operations of one input state, mixed by a weight vector.
class MixedEdgeImpl : public torch::nn::Module {
public:
  MixedEdgeImpl(std::int64_t channels, std::int64_t stride);

  /// sum_k weights[k] * op_k(x), the plain way (one temporary per operation).
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& weights);

  /// Adds weights[k] * op_k(x) for every op but 'none' into `accumulator` in place, or returns
  /// the first such product when `accumulator` is undefined. `relu_x` is relu(x), shared.
  torch::Tensor accumulate(torch::Tensor accumulator, const torch::Tensor& x,
                           const torch::Tensor& relu_x, const torch::Tensor& weights);

  /// The module of op k.
  model::Operation op(int k) const { return ops_[k]; }

private:
  std::vector<model::Operation> ops_;
};
TORCH_MODULE(MixedEdge);

class SupernetImpl : public torch::nn::Module {
public:
  explicit SupernetImpl(const SupernetOptions& options);

  /// Logits for x with the cell weights softmax(alpha_normal) and softmax(alpha_reduce).
  torch::Tensor forward(const torch::Tensor& x);
  /// Logits for x with explicit per-edge op weights [kEdges, kOps] (rows sum to 1 in DARTS);
  /// pass detached weights when no gradient with respect to alpha is needed.
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& weights_normal,
                        const torch::Tensor& weights_reduce);

  /// Every parameter but alpha (what SGD trains).
  std::vector<torch::Tensor> weight_parameters() const;
  /// {alpha_normal, alpha_reduce}, each [kEdges, kOps] (what Adam trains).
  std::vector<torch::Tensor> arch_parameters() const { return {alpha_normal_, alpha_reduce_}; }
  /// The running statistics of every BatchNorm (mean and variance; not the batch counters).
  std::vector<torch::Tensor> batchnorm_statistics() const;

  const SupernetOptions& options() const { return options_; }
  /// Mixed edge e of cell i (for tests).
  MixedEdge edge(int cell, int e) const;

private:
  struct Parts; // defined in supernet.cpp
  SupernetOptions options_;
  std::shared_ptr<Parts> parts_;
  torch::Tensor alpha_normal_, alpha_reduce_;
};
TORCH_MODULE(Supernet);

} // namespace hpcnas::darts
