#include "rl_policy.hpp"

#include "hpcnas/train/generator_guard.hpp"

namespace hpcnas::search {

PolicyImpl::PolicyImpl(PolicyOptions options) : options_(options) {
  train::GlobalGeneratorGuard guard;
  const int h = options_.hidden;
  lstm_ = register_module("lstm", torch::nn::LSTMCell(h, h));
  start_ = register_parameter("start", torch::zeros({1, h}));
  // Image cells choose among ops, recurrent cells among activations: the same layers, sized for
  // the space (so an image policy has exactly the parameters, in order, it always had).
  const int ops = options_.search_space.op_choices();
  op_embedding_ = register_module("op_embedding", torch::nn::Embedding(ops, h));
  op_logits_ =
      register_module("op_logits", torch::nn::Linear(torch::nn::LinearOptions(h, ops).bias(false)));
  attn_anchor_ =
      register_module("attn_anchor", torch::nn::Linear(torch::nn::LinearOptions(h, h).bias(false)));
  attn_query_ =
      register_module("attn_query", torch::nn::Linear(torch::nn::LinearOptions(h, h).bias(false)));
  attn_v_ =
      register_module("attn_v", torch::nn::Linear(torch::nn::LinearOptions(h, 1).bias(false)));
}

void PolicyImpl::init_uniform(std::mt19937_64& rng, double bound) {
  torch::NoGradGuard no_grad;
  std::uniform_real_distribution<float> dist(static_cast<float>(-bound), static_cast<float>(bound));
  for (auto& item : named_parameters()) {
    torch::Tensor& p = item.value();
    std::vector<float> values(static_cast<std::size_t>(p.numel()));
    for (float& v : values)
      v = dist(rng);
    p.copy_(torch::from_blob(values.data(), p.sizes(), torch::kFloat32));
  }
}

torch::Tensor PolicyImpl::process(torch::Tensor logits) const {
  logits = logits / options_.temperature;
  if (options_.tanh_constant > 0)
    logits = options_.tanh_constant * torch::tanh(logits);
  return logits;
}

/// The state of one run(): the LSTM's, the summed log-probabilities and entropies, and the
/// anchors of the states a node may read.
struct PolicyImpl::Pass {
  PolicyImpl& policy;
  const Pick& pick;
  std::int64_t batch;
  torch::Tensor hx, cx, start, log_prob, entropy;
  std::vector<torch::Tensor> anchors, anchors_projected;
  int step = 0;

  Pass(PolicyImpl& p, const Pick& pk, std::int64_t b)
      : policy(p), pick(pk), batch(b), hx(torch::zeros({b, p.options_.hidden})),
        cx(torch::zeros({b, p.options_.hidden})), start(p.start_.expand({b, p.options_.hidden})),
        log_prob(torch::zeros({b})), entropy(torch::zeros({b})) {}

  void lstm_step(const torch::Tensor& input) {
    auto [next_h, next_c] = policy.lstm_->forward(input, std::make_tuple(hx, cx));
    hx = next_h;
    cx = next_c;
  }
  torch::Tensor decide(const torch::Tensor& raw_logits) {
    const torch::Tensor logits = policy.process(raw_logits);
    const torch::Tensor log_p = torch::log_softmax(logits, 1);
    const torch::Tensor chosen = pick(step++, logits);
    log_prob = log_prob + log_p.gather(1, chosen.view({batch, 1})).squeeze(1);
    entropy = entropy - (log_p.exp() * log_p).sum(1);
    return chosen;
  }
  /// The LSTM's state after the last step becomes a state nodes may read.
  void add_anchor() {
    anchors.push_back(hx);
    anchors_projected.push_back(policy.attn_anchor_(hx));
  }
  /// Steps on `input`, points at one of the anchors; returns the chosen anchor.
  torch::Tensor choose_input(const torch::Tensor& input) {
    const torch::Tensor stacked = torch::stack(anchors, 1);             // [B, n, H]
    const torch::Tensor projected = torch::stack(anchors_projected, 1); // [B, n, H]
    lstm_step(input);
    const torch::Tensor query = torch::tanh(projected + policy.attn_query_(hx).unsqueeze(1));
    const torch::Tensor chosen = decide(policy.attn_v_(query).squeeze(2));
    return stacked.gather(1, chosen.view({batch, 1, 1}).expand({batch, 1, stacked.size(2)}))
        .squeeze(1);
  }
  /// Steps on `input`, chooses an op (or activation); returns its embedding.
  torch::Tensor choose_op(const torch::Tensor& input) {
    lstm_step(input);
    return policy.op_embedding_(decide(policy.op_logits_(hx)));
  }
};

void PolicyImpl::run_image_cells(Pass& pass) {
  torch::Tensor input = pass.start;
  for (int cell = 0; cell < 2; ++cell) {
    pass.anchors.clear();
    pass.anchors_projected.clear();
    for (int k = 0; k < 2; ++k) {
      pass.lstm_step(input);
      pass.add_anchor();
    }
    for (int node = 0; node < space::kNodes; ++node) {
      for (int k = 0; k < 2; ++k)
        input = pass.choose_input(input);
      for (int k = 0; k < 2; ++k)
        input = pass.choose_op(input);
      pass.lstm_step(input);
      pass.add_anchor();
      input = pass.start;
    }
  }
}

void PolicyImpl::run_recurrent_cell(Pass& pass) {
  pass.lstm_step(pass.start);
  pass.add_anchor(); // node 0
  torch::Tensor input = pass.start;
  for (int node = 0; node < options_.search_space.recurrent_nodes(); ++node) {
    input = pass.choose_input(input);
    input = pass.choose_op(input);
    pass.lstm_step(input);
    pass.add_anchor();
    input = pass.start;
  }
}

PolicyPass PolicyImpl::run(std::int64_t batch, const Pick& pick) {
  Pass pass(*this, pick, batch);
  if (options_.search_space.is_recurrent())
    run_recurrent_cell(pass);
  else
    run_image_cells(pass);
  return {pass.log_prob, pass.entropy};
}

} // namespace hpcnas::search
