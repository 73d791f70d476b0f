#pragma once
/// Zero-cost proxies: scores of an untrained child network that are meant to rank children as
/// their trained accuracy would, at the cost of one forward (and backward) pass.

#include <cstdint>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "hpcnas/model/network.hpp"

namespace hpcnas::train {

/// SynFlow (Tanaka et al., 2020), as a zero-cost proxy (Abdelfattah et al., 2021): the network
/// initialised from `seed`, every parameter replaced by its absolute value, batch normalisation
/// at its initial statistics (so it scales by about 1, as the proxy's BN-free copy does), in
/// double precision; R = sum of the logits of one all-ones image of `input_shape` [C, H, W];
/// score = sum over the weights of convolutions and linear layers of |w * dR/dw|. Returned as
/// log(score), as the raw sum spans many orders of magnitude.
double synflow_score(const space::Genotype& genotype, const model::NetworkOptions& options,
                     const std::vector<std::int64_t>& input_shape, std::uint64_t seed);

/// NASWOT (Mellor et al., 2021): the network initialised from `seed`, in training mode (batch
/// statistics), run on `images` [N, C, H, W]; each image's binary code is which units of the
/// ReLUs of model::NetworkImpl::relu_inputs are active; K[i][j] = the number of units where
/// images i and j agree; score = log |det K|. -inf when two images have the same code.
double naswot_score(const space::Genotype& genotype, const model::NetworkOptions& options,
                    const torch::Tensor& images, std::uint64_t seed);

/// Kendall's tau-b of two equally long samples (ties counted as in tau-b); NaN for fewer than
/// two pairs or a sample without variation.
double kendall_tau(const std::vector<double>& x, const std::vector<double>& y);

/// "synflow" or "naswot", scored on `images` (synflow uses only their shape).
double proxy_score(const std::string& proxy, const space::Genotype& genotype,
                   const model::NetworkOptions& options, const torch::Tensor& images,
                   std::uint64_t seed);

} // namespace hpcnas::train
