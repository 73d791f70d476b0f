#pragma once
/// The DARTS recurrent supernet (`hpcnas darts --space rnn`): the text classifier of
/// model/text_classifier.hpp (an embedding, a cell unrolled over the tokens, the mean of its
/// hidden states over each text, a linear head) whose cell mixes every choice of every node.
///
/// Node 0 is the fixed node of every recurrent cell (space/recurrent.hpp). Node i in 1..N reads
/// every earlier node j through its own map W_i, [c_j, v_j] = s_j W_i, and mixes the highways of
/// every input j and activation f:
///   s_i = sum_j sum_f w[(i, j), f] * (s_j + sigmoid(c_j) * (f(v_j) - s_j)),
/// w the softmax of alpha_recurrent over all i x 4 (input, activation) pairs of node i: the
/// distribution of the node's own discrete choice. The hidden state is the mean of nodes 1..N.
/// As in DARTS's search cell, W_i is shared by the edges into node i, so the cell derived from
/// alpha (derive_recurrent) has the shapes of the weights its nodes trained with.
///
/// DARTS instead weighs each edge by its own softmax over 'none' and the activations, sums the
/// edges, and batch-normalises every node to keep that sum bounded. Without the normalisation
/// the sum grows with the node's inputs and over the tokens: on SpamAssassin (8 nodes, 64 tokens,
/// learning rate 1) the loss was NaN within the first epoch. A softmax per node makes each node
/// a convex combination, bounded like a discrete cell's, and one-hot weights give exactly the
/// discrete cell.

#include <cstdint>
#include <vector>

#include <torch/torch.h>

#include "hpcnas/darts/search_network.hpp"
#include "hpcnas/model/text_classifier.hpp"
#include "hpcnas/space/recurrent.hpp"

namespace hpcnas::darts {

/// Columns of alpha_recurrent: the candidate activations (space::candidate_activation order).
inline constexpr int kRecurrentOps = space::kCandidateActivations;

/// Edges of a recurrent cell of `nodes` nodes: node i reads nodes 0..i-1, N(N+1)/2 in all. Edge
/// (i, j) is row i(i-1)/2 + j of alpha_recurrent.
constexpr int recurrent_edges(int nodes) { return nodes * (nodes + 1) / 2; }

struct RecurrentSupernetOptions {
  model::TextClassifierOptions classifier;
  int nodes = space::kDefaultRecurrentNodes;
};

class RecurrentSupernetImpl : public SearchNetworkImpl {
public:
  explicit RecurrentSupernetImpl(const RecurrentSupernetOptions& options);

  /// batch.x: tokens [B, T] (0-padded), batch.lengths [B]; weights: {[edges, kRecurrentOps]}.
  torch::Tensor logits(const Batch& batch, const std::vector<torch::Tensor>& weights) override;
  using SearchNetworkImpl::logits;

  /// One step of the mixed cell: x [B, embedding], h [B, hidden], weights [edges, ops].
  torch::Tensor cell(const torch::Tensor& x, const torch::Tensor& h, const torch::Tensor& weights);

  std::vector<torch::Tensor> weight_parameters() const override;
  /// {alpha_recurrent} [recurrent_edges(nodes), kRecurrentOps].
  std::vector<torch::Tensor> arch_parameters() const override { return {alpha_}; }
  /// The softmax of alpha over each node's rows together (see the file comment).
  std::vector<torch::Tensor> mixing_weights(bool detach) const override;

  /// W_0 [embedding + hidden, 2 hidden] and W_1..W_N [hidden, 2 hidden], as in
  /// model::RecurrentCell (for tests).
  const std::vector<torch::Tensor>& cell_weights() const { return cell_w_; }
  const RecurrentSupernetOptions& options() const { return options_; }

private:
  RecurrentSupernetOptions options_;
  torch::nn::Embedding embedding_{nullptr};
  std::vector<torch::Tensor> cell_w_;
  torch::nn::Linear head_{nullptr};
  torch::Tensor alpha_;
};
TORCH_MODULE(RecurrentSupernet);

} // namespace hpcnas::darts
