#pragma once
/// The discrete child network of a genotype, as in DARTS: a stem, L cells with reduction cells
/// at L/3 and 2L/3, global average pooling and a linear head. For the final training it is
/// DARTS's evaluation network: optionally the auxiliary head on the cell at 2L/3, and drop-path
/// on the edges of every cell. Same architecture, parameters and FLOPs as the DARTS reference code
/// (checked against bench/torch_peer.py: equal outputs and gradients in double precision).
///
/// The forward pass computes the same function with less work than a literal transcription: it
/// runs channels-last (NHWC) throughout, computes each state's ReLU once for all ReLU-first ops
/// reading it, computes a parameter-free op (pooling) applied twice to the same input once, and
/// sums a node's two edges in place.

#include <cstdint>
#include <vector>

#include <torch/torch.h>

#include "hpcnas/model/graph_sink.hpp"
#include "hpcnas/space/genotype.hpp"

namespace hpcnas::model {

struct NetworkOptions {
  int in_channels = 1;
  int num_classes = 10;
  int channels = 16; ///< C
  int layers = 8;    ///< L
  int stem_multiplier = 3;
  bool auxiliary_head = false; ///< DARTS's auxiliary classifier on the cell at 2L/3
  int image_size = 28;         ///< input height (= width): sizes the auxiliary head
};

/// Logits of a training forward pass; auxiliary_logits is undefined without the head.
struct TrainingOutput {
  torch::Tensor logits;
  torch::Tensor auxiliary_logits;
};

class NetworkImpl : public torch::nn::Module {
public:
  NetworkImpl(const space::Genotype& genotype, const NetworkOptions& options);
  /// Logits, without the auxiliary head and without drop-path.
  torch::Tensor forward(torch::Tensor x);
  /// Logits and auxiliary logits with drop-path: `drop_path_keep` [cells(), kEdgesPerCell, N]
  /// holds per edge and image 0 (path dropped) or 1 / keep probability, and is undefined for no
  /// drop-path. Identity edges are never dropped (as in DARTS).
  TrainingOutput forward_train(torch::Tensor x, const torch::Tensor& drop_path_keep);
  int cells() const;
  /// Inference forward pass that returns, instead of the logits, the inputs of the ReLUs applied
  /// to the stem and to every cell output but the last (each cell's output concatenates its
  /// nodes): the activation pattern zero-cost proxies read (train/proxy.hpp).
  std::vector<torch::Tensor> relu_inputs(torch::Tensor x);

  /// Describes the inference-mode network (no auxiliary head, no drop-path) on an input of
  /// `height` x `width` named `input`; returns the name of the logits. Throws
  /// std::invalid_argument for sizes the graph cannot express (not multiples of 4).
  std::string emit(GraphSink& graph, const std::string& input, int height, int width) const;

private:
  TrainingOutput run(torch::Tensor x, const torch::Tensor& drop_path_keep, bool auxiliary,
                     std::vector<torch::Tensor>* relu_inputs = nullptr);

  struct Parts; // stem, cells, head: defined in network.cpp
  std::shared_ptr<Parts> parts_;
};
TORCH_MODULE(Network);

/// Trainable parameters of a module.
std::int64_t count_parameters(const torch::nn::Module& module);

/// FLOPs of one forward pass of one image of shape [C, H, W], counted from the layers the
/// forward pass actually runs (convolutions and linear layers: 2 FLOPs per multiply-add).
std::int64_t count_flops(Network& network, int channels, int height, int width);

} // namespace hpcnas::model
