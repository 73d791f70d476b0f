#include "hpcnas/darts/search_network.hpp"

namespace hpcnas::darts {

std::vector<torch::Tensor> op_weights(const std::vector<torch::Tensor>& alphas, bool detach) {
  std::vector<torch::Tensor> weights;
  weights.reserve(alphas.size());
  for (const auto& a : alphas)
    weights.push_back(torch::softmax(detach ? a.detach() : a, -1));
  return weights;
}

torch::Tensor SearchNetworkImpl::logits(const Batch& batch) {
  return logits(batch, op_weights(arch_parameters(), false));
}

} // namespace hpcnas::darts
