#pragma once
// The LSTM policy of the RL controller (private to search/): the decisions of ENAS's
// micro-search (image cells) and of its recurrent cell search.

#include <functional>
#include <random>

#include <torch/torch.h>

#include "hpcnas/search/rl_controller.hpp"

namespace hpcnas::search {

struct PolicyOptions {
  int hidden = 64;
  double temperature = 5.0;
  double tanh_constant = 2.5;
  space::SearchSpace search_space = space::SearchSpace::image();
};

/// Chooses decision `step` for every row of the batch from its (processed) logits [B, choices];
/// returns the chosen indices as int64 [B].
using Pick = std::function<torch::Tensor(int step, const torch::Tensor& logits)>;

/// Log-probability and entropy of each row's decision sequence, summed over its decisions.
struct PolicyPass {
  torch::Tensor log_prob; ///< [B]
  torch::Tensor entropy;  ///< [B]
};

/// One LSTMCell steps through the decisions. Image cells (normal, then reduce, the state carried
/// over): per cell, two steps on the start embedding give the anchors of the two cell inputs;
/// per node: input a, input b (a pointer v^T tanh(W1 h_anchor + W2 h) over the anchors of the
/// states the node may read; the chosen anchor is the next step's input), op a, op b (a linear
/// layer over the ops; the op's embedding is the next input), then one more step whose hidden
/// state is the node's anchor. Recurrent cells: one step on the start embedding gives node 0's
/// anchor; per node: its input (the same pointer), its activation (a linear layer over the
/// activations), then the step that gives its anchor.
class PolicyImpl : public torch::nn::Module {
public:
  explicit PolicyImpl(PolicyOptions options);
  /// Runs `batch` decision sequences; `pick` chooses (samples, or forces) each decision.
  PolicyPass run(std::int64_t batch, const Pick& pick);
  /// Every parameter drawn uniformly from [-bound, bound] with `rng` (ENAS initialises its
  /// controller this way), so the initial policy depends on the seed only.
  void init_uniform(std::mt19937_64& rng, double bound);
  const PolicyOptions& options() const { return options_; }

private:
  torch::Tensor process(torch::Tensor logits) const;
  struct Pass;
  void run_image_cells(Pass& pass);
  void run_recurrent_cell(Pass& pass);

  PolicyOptions options_;
  torch::nn::LSTMCell lstm_{nullptr};
  torch::Tensor start_; ///< [1, H] input of the first step and of each anchor step
  torch::nn::Embedding op_embedding_{nullptr};
  torch::nn::Linear op_logits_{nullptr};
  torch::nn::Linear attn_anchor_{nullptr};
  torch::nn::Linear attn_query_{nullptr};
  torch::nn::Linear attn_v_{nullptr};
};
TORCH_MODULE(Policy);

} // namespace hpcnas::search
