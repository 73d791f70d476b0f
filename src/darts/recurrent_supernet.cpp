#include "hpcnas/darts/recurrent_supernet.hpp"

#include <string>

namespace hpcnas::darts {

RecurrentSupernetImpl::RecurrentSupernetImpl(const RecurrentSupernetOptions& options)
    : options_(options) {
  const auto& c = options.classifier;
  TORCH_CHECK(options.nodes >= 1 && options.nodes <= space::kMaxRecurrentNodes,
              "RecurrentSupernet: nodes must be in 1..", space::kMaxRecurrentNodes);
  TORCH_CHECK(c.vocabulary >= 2 && c.embedding >= 1 && c.hidden >= 1 && c.num_classes >= 2,
              "RecurrentSupernet: vocabulary >= 2, embedding and hidden >= 1, classes >= 2");
  embedding_ = register_module(
      "embedding",
      torch::nn::Embedding(torch::nn::EmbeddingOptions(c.vocabulary, c.embedding).padding_idx(0)));
  cell_w_.push_back(
      register_parameter("w0", model::recurrent_cell_weight(c.embedding + c.hidden, 2 * c.hidden)));
  for (int i = 1; i <= options.nodes; ++i)
    cell_w_.push_back(register_parameter("w" + std::to_string(i),
                                         model::recurrent_cell_weight(c.hidden, 2 * c.hidden)));
  head_ = register_module("head", torch::nn::Linear(c.hidden, c.num_classes));
  alpha_ = register_parameter("alpha_recurrent",
                              1e-3 * torch::randn({recurrent_edges(options.nodes), kRecurrentOps}));
}

torch::Tensor RecurrentSupernetImpl::cell(const torch::Tensor& x, const torch::Tensor& h,
                                          const torch::Tensor& weights) {
  const std::int64_t hidden = options_.classifier.hidden;
  const auto gate_value = torch::cat({x, h}, 1).mm(cell_w_[0]).split(hidden, 1);
  std::vector<torch::Tensor> states{h + torch::sigmoid(gate_value[0]) *
                                            (torch::tanh(gate_value[1]) - h)};
  torch::Tensor sum;
  for (int i = 1; i <= options_.nodes; ++i) {
    const auto inputs = torch::stack(states);                      // [i, B, hidden]
    const auto parts = inputs.matmul(cell_w_[i]).split(hidden, 2); // [i, B, 2 hidden] split
    const auto gate = torch::sigmoid(parts[0]);
    const auto& v = parts[1];
    // Rows of edges (i, 0..i-1), as [i, 1, 1] columns per activation.
    const auto w = weights.narrow(0, i * (i - 1) / 2, i).unsqueeze(2).unsqueeze(3);
    const auto weight = [&](space::Activation f) {
      return w.select(1, static_cast<int>(f) - static_cast<int>(space::Activation::kTanh));
    };
    // sum_f w_f (s + g (f(v) - s)) = (sum_f w_f) (1 - g) s + g sum_f w_f f(v).
    const auto mixed_activation = weight(space::Activation::kTanh) * torch::tanh(v) +
                                  weight(space::Activation::kRelu) * torch::relu(v) +
                                  weight(space::Activation::kSigmoid) * torch::sigmoid(v) +
                                  weight(space::Activation::kIdentity) * v;
    const auto node = (w.sum(1) * (1 - gate) * inputs + gate * mixed_activation).sum(0);
    states.push_back(node);
    sum = sum.defined() ? sum + node : node;
  }
  return sum / static_cast<double>(options_.nodes);
}

torch::Tensor RecurrentSupernetImpl::logits(const Batch& batch,
                                            const std::vector<torch::Tensor>& weights) {
  const auto tokens = model::trim_to_longest(batch.x, batch.lengths);
  const auto embedded = embedding_(tokens);
  auto h = torch::zeros({embedded.size(0), options_.classifier.hidden}, embedded.options());
  std::vector<torch::Tensor> states;
  states.reserve(static_cast<std::size_t>(embedded.size(1)));
  for (std::int64_t t = 0; t < embedded.size(1); ++t) {
    h = cell(embedded.select(1, t), h, weights.at(0));
    states.push_back(h);
  }
  return head_(model::mean_over_texts(torch::stack(states, 1), batch.lengths));
}

std::vector<torch::Tensor> RecurrentSupernetImpl::mixing_weights(bool detach) const {
  const auto alpha = detach ? alpha_.detach() : alpha_;
  std::vector<torch::Tensor> nodes;
  for (int i = 1; i <= options_.nodes; ++i) {
    const auto rows = alpha.narrow(0, i * (i - 1) / 2, i);
    nodes.push_back(torch::softmax(rows.reshape(-1), 0).view(rows.sizes()));
  }
  return {torch::cat(nodes)};
}

std::vector<torch::Tensor> RecurrentSupernetImpl::weight_parameters() const {
  std::vector<torch::Tensor> weights;
  for (const auto& item : named_parameters())
    if (item.key() != "alpha_recurrent")
      weights.push_back(item.value());
  return weights;
}

} // namespace hpcnas::darts
