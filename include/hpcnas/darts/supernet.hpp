#pragma once
/// The DARTS supernet: every edge of a cell is a mixed operation over all 8 candidates ('none'
/// included), weighted by softmax(alpha) of its cell type. Architecture as in DARTS and in
/// bench/torch_peer.py: a stem (3x3 conv to stem_multiplier * C, affine BatchNorm),
/// L cells with reductions at L/3 and 2L/3, preprocessing and operations with BatchNorm without
/// affine parameters, pooling followed by BatchNorm, global average pooling and a linear head.
///
/// Two formulations of the same mathematics:
///  - fast (default): the ReLU an edge's operations share is computed once per state, 'none'
///    costs nothing (its output is exactly zero, so it adds nothing and its weight gets no
///    gradient from the product), and a node accumulates w * op(x) in place without temporaries.
///    The pooling operations (pool, then BatchNorm without affine parameters) and the PC-DARTS
///    bypass have no weights, so all edges reading the same state compute the same function of
///    it: the first edge's result serves them all. (In training BatchNorm uses the batch's
///    statistics, identical for all; the running statistics of the edges that reuse it are never
///    used and stay at their start.)
///  - plain: sum over all 8 ops of w_k * op_k(x) with a fresh temporary per op, as the Python
///    reference writes it; kept to test the fast path against.
///
/// Partial channel connections (PC-DARTS, Xu et al. 2020), when SupernetOptions::partial_channels
/// K > 1: an edge's operations see only the first C/K channels of its input, the other channels
/// bypass them (max-pooled 2x2 on a stride-2 edge), and the edge's output is
/// channel_shuffle(cat(mixed, bypass), K), so that the next edge mixes other channels. The
/// operations hold about 1/K of the activations, so a larger batch fits. PC-DARTS's edge
/// normalisation (a second set of weights over the edges of a node) is not implemented.

#include <cstdint>
#include <vector>

#include <torch/torch.h>

#include "hpcnas/darts/search_network.hpp"
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
  bool fast = true;         ///< false: the plain per-operation formulation (see the file comment)
  int partial_channels = 1; ///< K: operations see C/K channels (PC-DARTS); 1 = all; divides C
};

/// An edge input as the fast path shares it among all edges reading the same state: split and
/// passed through the ReLU once per state, not once per edge.
struct EdgeInput {
  torch::Tensor mixed;      ///< the channels the operations see: all, or the first C/K
  torch::Tensor relu_mixed; ///< relu(mixed), for the operations that start with a ReLU
  torch::Tensor bypass;     ///< with K > 1 the other C - C/K channels; undefined with K = 1
  /// BatchNorm(max_pool(mixed)), BatchNorm(avg_pool(mixed)) and the bypass at the edges' output
  /// resolution: left by the first edge that reads this state, for the others.
  torch::Tensor max_pooled, avg_pooled, bypassed;
};

/// `state` prepared for edges with `partial_channels` K. With K > 1 the two parts are
/// channels-last copies whose backward hands the state one channels-last gradient (slicing would
/// hand it NCHW zeros, which put every BatchNorm behind it on its slow path).
EdgeInput edge_input(const torch::Tensor& state, int partial_channels);

/// One edge: all kOps operations of one input state, mixed by a weight vector; with
/// `partial_channels` K > 1 the operations are built on channels / K channels (see the file
/// comment).
class MixedEdgeImpl : public torch::nn::Module {
public:
  MixedEdgeImpl(std::int64_t channels, std::int64_t stride, int partial_channels = 1);

  /// sum_k weights[k] * op_k(x), the plain way (one temporary per operation); with K > 1
  /// channel_shuffle(cat(sum_k weights[k] * op_k(x[:, :C/K]), bypass(x[:, C/K:])), K).
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& weights);

  /// Adds the edge's output, computed the fast way, into `accumulator` in place, or returns it
  /// when `accumulator` is undefined. The mixed sum skips 'none' and accumulates
  /// weights[k] * op_k in place. Pooling results already in `input` are used, missing ones are
  /// computed and left there (see the file comment).
  torch::Tensor accumulate(torch::Tensor accumulator, EdgeInput& input,
                           const torch::Tensor& weights);

  /// The module of op k.
  model::Operation op(int k) const { return ops_[k]; }

private:
  /// The bypassed channels at the edge's output resolution.
  torch::Tensor bypass(const torch::Tensor& x) const;

  std::int64_t stride_;
  int partial_channels_;
  std::vector<model::Operation> ops_;
};
TORCH_MODULE(MixedEdge);

class SupernetImpl : public SearchNetworkImpl {
public:
  explicit SupernetImpl(const SupernetOptions& options);

  /// Logits for x with the cell weights softmax(alpha_normal) and softmax(alpha_reduce).
  torch::Tensor forward(const torch::Tensor& x);
  /// Logits for x with explicit per-edge op weights [kEdges, kOps] (rows sum to 1 in DARTS);
  /// pass detached weights when no gradient with respect to alpha is needed.
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& weights_normal,
                        const torch::Tensor& weights_reduce);
  /// forward(batch.x, weights[0], weights[1]).
  torch::Tensor logits(const Batch& batch, const std::vector<torch::Tensor>& weights) override;
  using SearchNetworkImpl::logits;

  std::vector<torch::Tensor> weight_parameters() const override;
  /// {alpha_normal, alpha_reduce}, each [kEdges, kOps].
  std::vector<torch::Tensor> arch_parameters() const override {
    return {alpha_normal_, alpha_reduce_};
  }
  /// The running statistics of every BatchNorm (mean and variance; not the batch counters).
  std::vector<torch::Tensor> batchnorm_statistics() const override;

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
