#include "hpcnas/model/text_classifier.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace hpcnas::model {
namespace {

torch::Tensor activate(space::Activation activation, const torch::Tensor& x) {
  switch (activation) {
  case space::Activation::kTanh:
    return torch::tanh(x);
  case space::Activation::kRelu:
    return torch::relu(x);
  case space::Activation::kSigmoid:
    return torch::sigmoid(x);
  case space::Activation::kIdentity:
    return x;
  case space::Activation::kNone:
    break;
  }
  throw std::invalid_argument("a recurrent cell node has no activation");
}

} // namespace

torch::Tensor recurrent_cell_weight(std::int64_t rows, std::int64_t columns) {
  return torch::empty({rows, columns}).uniform_(-0.04, 0.04);
}

RecurrentCellImpl::RecurrentCellImpl(const space::RecurrentGenotype& genotype,
                                     std::int64_t input_size, std::int64_t hidden_size)
    : genotype_(genotype), hidden_size_(hidden_size) {
  genotype_.validate();
  w0_ = register_parameter("w0", recurrent_cell_weight(input_size + hidden_size, 2 * hidden_size));
  for (std::size_t i = 0; i < genotype_.nodes.size(); ++i)
    node_w_.push_back(register_parameter("w" + std::to_string(i + 1),
                                         recurrent_cell_weight(hidden_size, 2 * hidden_size)));
}

torch::Tensor RecurrentCellImpl::forward(const torch::Tensor& x, const torch::Tensor& h) {
  // Each node: [c, v] = s W; s' = s + sigmoid(c) * (f(v) - s), a highway from its input.
  const auto highway = [&](const torch::Tensor& s, const torch::Tensor& gate_value,
                           space::Activation f) {
    const auto parts = gate_value.split(hidden_size_, 1);
    return s + torch::sigmoid(parts[0]) * (activate(f, parts[1]) - s);
  };
  std::vector<torch::Tensor> states;
  states.reserve(genotype_.nodes.size() + 1);
  states.push_back(highway(h, torch::cat({x, h}, 1).mm(w0_), space::Activation::kTanh));
  torch::Tensor sum;
  for (std::size_t i = 0; i < genotype_.nodes.size(); ++i) {
    const auto& node = genotype_.nodes[i];
    const torch::Tensor& input = states[static_cast<std::size_t>(node.input)];
    states.push_back(highway(input, input.mm(node_w_[i]), node.activation));
    sum = sum.defined() ? sum + states.back() : states.back();
  }
  return sum / static_cast<double>(genotype_.nodes.size());
}

TextClassifierImpl::TextClassifierImpl(const space::RecurrentGenotype& genotype,
                                       const TextClassifierOptions& options) {
  build_common(options);
  cell_ = register_module("cell", RecurrentCell(genotype, options.embedding, options.hidden));
}

TextClassifierImpl::TextClassifierImpl(const std::string& kind,
                                       const TextClassifierOptions& options) {
  build_common(options);
  if (kind == "lstm")
    lstm_ = register_module(
        "lstm", torch::nn::LSTM(
                    torch::nn::LSTMOptions(options.embedding, options.hidden).batch_first(true)));
  else if (kind == "gru")
    gru_ = register_module(
        "gru",
        torch::nn::GRU(torch::nn::GRUOptions(options.embedding, options.hidden).batch_first(true)));
  else
    throw std::invalid_argument("recurrent layer '" + kind + "': expected lstm or gru");
}

void TextClassifierImpl::build_common(const TextClassifierOptions& options) {
  if (options.vocabulary < 2 || options.embedding < 1 || options.hidden < 1 ||
      options.num_classes < 2)
    throw std::invalid_argument("text classifier: vocabulary >= 2, embedding and hidden >= 1, "
                                "classes >= 2");
  options_ = options;
  embedding_ = register_module(
      "embedding",
      torch::nn::Embedding(
          torch::nn::EmbeddingOptions(options.vocabulary, options.embedding).padding_idx(0)));
  head_ = register_module("head", torch::nn::Linear(options.hidden, options.num_classes));
}

torch::Tensor TextClassifierImpl::hidden_states(const torch::Tensor& embedded) {
  if (lstm_)
    return std::get<0>(lstm_->forward(embedded));
  if (gru_)
    return std::get<0>(gru_->forward(embedded));
  const auto steps = embedded.size(1);
  auto h = torch::zeros({embedded.size(0), options_.hidden}, embedded.options());
  std::vector<torch::Tensor> out;
  out.reserve(static_cast<std::size_t>(steps));
  for (std::int64_t t = 0; t < steps; ++t) {
    h = cell_(embedded.select(1, t), h);
    out.push_back(h);
  }
  return torch::stack(out, 1);
}

torch::Tensor TextClassifierImpl::forward(const torch::Tensor& tokens,
                                          const torch::Tensor& lengths) {
  TORCH_CHECK(tokens.dim() == 2 && lengths.dim() == 1 && lengths.size(0) == tokens.size(0),
              "text classifier: tokens [B, T] and lengths [B] expected");
  return head_(
      mean_over_texts(hidden_states(embedding_(trim_to_longest(tokens, lengths))), lengths));
}

torch::Tensor trim_to_longest(const torch::Tensor& tokens, const torch::Tensor& lengths) {
  return tokens.narrow(1, 0, std::min(tokens.size(1), lengths.max().item<std::int64_t>()));
}

torch::Tensor mean_over_texts(const torch::Tensor& states, const torch::Tensor& lengths) {
  // Steps past a text's end are computed with the rest of the batch but left out of its mean.
  const auto steps = torch::arange(states.size(1), lengths.options()).unsqueeze(0);
  const auto mask = (steps < lengths.unsqueeze(1)).to(states.scalar_type()).unsqueeze(2);
  return (states * mask).sum(1) / lengths.to(states.scalar_type()).clamp_min(1).unsqueeze(1);
}

} // namespace hpcnas::model
