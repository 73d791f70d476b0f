#pragma once
/// The discrete child network of a genotype, as in DARTS: a stem, L cells with reduction cells
/// at L/3 and 2L/3, global average pooling and a linear head. Same architecture, parameters and
/// FLOPs as the DARTS reference code (checked against shared/bench/torch_peer.py: equal outputs and
/// gradients in double precision).
///
/// The forward pass computes the same function with less work than a literal transcription: it
/// runs channels-last (NHWC) throughout, computes each state's ReLU once for all ReLU-first ops
/// reading it, computes a parameter-free op (pooling) applied twice to the same input once, and
/// sums a node's two edges in place.

#include <cstdint>

#include <torch/torch.h>

#include "hpcnas/space/genotype.hpp"

namespace hpcnas::model {

struct NetworkOptions {
  int in_channels = 1;
  int num_classes = 10;
  int channels = 16; ///< C
  int layers = 8;    ///< L
  int stem_multiplier = 3;
};

class NetworkImpl : public torch::nn::Module {
public:
  NetworkImpl(const space::Genotype& genotype, const NetworkOptions& options);
  torch::Tensor forward(torch::Tensor x);

private:
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
