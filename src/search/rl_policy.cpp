#include "rl_policy.hpp"

#include "hpcnas/train/generator_guard.hpp"

namespace hpcnas::search {

PolicyImpl::PolicyImpl(PolicyOptions options) : options_(options) {
  train::GlobalGeneratorGuard guard;
  const int h = options_.hidden;
  lstm_ = register_module("lstm", torch::nn::LSTMCell(h, h));
  start_ = register_parameter("start", torch::zeros({1, h}));
  op_embedding_ = register_module("op_embedding", torch::nn::Embedding(space::kCandidateOps, h));
  op_logits_ = register_module(
      "op_logits",
      torch::nn::Linear(torch::nn::LinearOptions(h, space::kCandidateOps).bias(false)));
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

PolicyPass PolicyImpl::run(std::int64_t batch, const Pick& pick) {
  const int h = options_.hidden;
  torch::Tensor hx = torch::zeros({batch, h});
  torch::Tensor cx = torch::zeros({batch, h});
  const torch::Tensor start = start_.expand({batch, h});
  torch::Tensor log_prob = torch::zeros({batch});
  torch::Tensor entropy = torch::zeros({batch});
  int step = 0;

  auto lstm_step = [&](const torch::Tensor& input) {
    auto [next_h, next_c] = lstm_->forward(input, std::make_tuple(hx, cx));
    hx = next_h;
    cx = next_c;
  };
  auto decide = [&](const torch::Tensor& raw_logits) {
    const torch::Tensor logits = process(raw_logits);
    const torch::Tensor log_p = torch::log_softmax(logits, 1);
    const torch::Tensor chosen = pick(step++, logits);
    log_prob = log_prob + log_p.gather(1, chosen.view({batch, 1})).squeeze(1);
    entropy = entropy - (log_p.exp() * log_p).sum(1);
    return chosen;
  };

  torch::Tensor input = start;
  for (int cell = 0; cell < 2; ++cell) {
    std::vector<torch::Tensor> anchors, anchors_projected;
    for (int k = 0; k < 2; ++k) {
      lstm_step(input);
      anchors.push_back(hx);
      anchors_projected.push_back(attn_anchor_(hx));
    }
    for (int node = 0; node < space::kNodes; ++node) {
      const torch::Tensor stacked = torch::stack(anchors, 1);             // [B, n, H]
      const torch::Tensor projected = torch::stack(anchors_projected, 1); // [B, n, H]
      for (int k = 0; k < 2; ++k) {
        lstm_step(input);
        const torch::Tensor query = torch::tanh(projected + attn_query_(hx).unsqueeze(1));
        const torch::Tensor chosen = decide(attn_v_(query).squeeze(2));
        input = stacked.gather(1, chosen.view({batch, 1, 1}).expand({batch, 1, h})).squeeze(1);
      }
      for (int k = 0; k < 2; ++k) {
        lstm_step(input);
        input = op_embedding_(decide(op_logits_(hx)));
      }
      lstm_step(input);
      anchors.push_back(hx);
      anchors_projected.push_back(attn_anchor_(hx));
      input = start;
    }
  }
  return {log_prob, entropy};
}

} // namespace hpcnas::search
