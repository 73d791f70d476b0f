#pragma once
/// Text classifiers over token ids: an embedding, a recurrent layer unrolled over the sequence,
/// the mean of its hidden states over each text's tokens, and a linear head. The recurrent layer
/// is a searched DARTS cell (space/recurrent.hpp) or, as baselines, a plain LSTM or GRU.
/// The mean rather than the last hidden state: a mail is hundreds of tokens, and the mean gives
/// every step a direct path to the loss.

#include <cstdint>
#include <string>

#include <torch/torch.h>

#include "hpcnas/space/recurrent.hpp"

namespace hpcnas::model {

/// A fresh map of a recurrent cell, [rows, columns], initialised as DARTS does: uniform in
/// +-0.04. The discrete cell and the recurrent supernet both start from it.
torch::Tensor recurrent_cell_weight(std::int64_t rows, std::int64_t columns);

/// One step of a DARTS recurrent cell: h_t from x_t and h_{t-1} (equations in recurrent.hpp).
class RecurrentCellImpl : public torch::nn::Module {
public:
  RecurrentCellImpl(const space::RecurrentGenotype& genotype, std::int64_t input_size,
                    std::int64_t hidden_size);
  /// x [B, input_size], h [B, hidden_size] -> the next hidden state [B, hidden_size].
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& h);

private:
  space::RecurrentGenotype genotype_;
  std::int64_t hidden_size_;
  torch::Tensor w0_;                  ///< [input + hidden, 2 hidden]: node 0's gate and value
  std::vector<torch::Tensor> node_w_; ///< per node [hidden, 2 hidden]
};
TORCH_MODULE(RecurrentCell);

struct TextClassifierOptions {
  std::int64_t vocabulary = 2; ///< ids 0 (padding) .. vocabulary - 1
  std::int64_t embedding = 64;
  std::int64_t hidden = 64;
  int num_classes = 2;
};

class TextClassifierImpl : public torch::nn::Module {
public:
  /// The searched cell.
  TextClassifierImpl(const space::RecurrentGenotype& genotype,
                     const TextClassifierOptions& options);
  /// A baseline: `kind` is "lstm" or "gru" (std::invalid_argument otherwise).
  TextClassifierImpl(const std::string& kind, const TextClassifierOptions& options);

  /// tokens [B, T] int64 (0-padded on the right), lengths [B] int64 in 1..T -> logits
  /// [B, classes]. The steps past the batch's longest text are not computed.
  torch::Tensor forward(const torch::Tensor& tokens, const torch::Tensor& lengths);

private:
  void build_common(const TextClassifierOptions& options);
  /// Hidden states [B, T, hidden] of the recurrent layer over the embedded tokens.
  torch::Tensor hidden_states(const torch::Tensor& embedded);

  TextClassifierOptions options_;
  torch::nn::Embedding embedding_{nullptr};
  RecurrentCell cell_{nullptr};
  torch::nn::LSTM lstm_{nullptr};
  torch::nn::GRU gru_{nullptr};
  torch::nn::Linear head_{nullptr};
};
TORCH_MODULE(TextClassifier);

/// tokens [B, T] cut to the batch's longest text, max(lengths) steps.
torch::Tensor trim_to_longest(const torch::Tensor& tokens, const torch::Tensor& lengths);
/// The mean of hidden states [B, T, H] over each text's own steps (lengths [B]) -> [B, H].
torch::Tensor mean_over_texts(const torch::Tensor& states, const torch::Tensor& lengths);

} // namespace hpcnas::model
