#include "hpcnas/darts/search_network.hpp"

namespace hpcnas::darts {

std::vector<torch::Tensor> SearchNetworkImpl::mixing_weights(bool detach) const {
  std::vector<torch::Tensor> weights;
  for (const auto& a : arch_parameters())
    weights.push_back(torch::softmax(detach ? a.detach() : a, -1));
  return weights;
}

torch::Tensor SearchNetworkImpl::logits(const Batch& batch) {
  return logits(batch, mixing_weights(false));
}

} // namespace hpcnas::darts
