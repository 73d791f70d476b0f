#include "hpcnas/darts/derive.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <stdexcept>
#include <string>

namespace hpcnas::darts {

std::vector<double> row_softmax(const std::vector<double>& values, int cols) {
  std::vector<double> out(values.size());
  for (std::size_t row = 0; row + cols <= values.size(); row += cols) {
    const double top = *std::max_element(values.begin() + row, values.begin() + row + cols);
    double sum = 0;
    for (int k = 0; k < cols; ++k)
      sum += out[row + k] = std::exp(values[row + k] - top);
    for (int k = 0; k < cols; ++k)
      out[row + k] /= sum;
  }
  return out;
}

space::Cell derive_cell(const std::vector<double>& alpha) {
  constexpr int kOps = space::kSupernetOps;
  constexpr int kEdges = space::kNodes * (space::kNodes + 3) / 2;
  if (alpha.size() != static_cast<std::size_t>(kEdges * kOps))
    throw std::invalid_argument("derive_cell: alpha has " + std::to_string(alpha.size()) +
                                " values, expected " + std::to_string(kEdges * kOps));
  const auto w = row_softmax(alpha, kOps);
  const int none = static_cast<int>(space::Op::kNone);
  // The strongest op of an edge other than 'none', and its weight.
  const auto best = [&](int edge) {
    int best_k = -1;
    for (int k = 0; k < kOps; ++k)
      if (k != none && (best_k < 0 || w[edge * kOps + k] > w[edge * kOps + best_k]))
        best_k = k;
    return std::make_pair(best_k, w[edge * kOps + best_k]);
  };

  space::Cell cell;
  int offset = 0;
  for (int node = 0; node < space::kNodes; ++node) {
    const int inputs = 2 + node;
    std::vector<int> order(inputs);
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](int a, int b) {
      return best(offset + a).second > best(offset + b).second;
    });
    for (int slot = 0; slot < 2; ++slot) {
      const int input = order[slot];
      cell.edges[2 * node + slot] = {static_cast<space::Op>(best(offset + input).first), input};
    }
    offset += inputs;
  }
  return cell;
}

space::Genotype derive_genotype(const std::vector<double>& alpha_normal,
                                const std::vector<double>& alpha_reduce) {
  return {derive_cell(alpha_normal), derive_cell(alpha_reduce)};
}

space::RecurrentGenotype derive_recurrent(const std::vector<double>& alpha, int nodes) {
  constexpr int kOps = space::kCandidateActivations;
  const std::size_t edges = static_cast<std::size_t>(nodes) * (nodes + 1) / 2;
  if (nodes < 1 || alpha.size() != edges * kOps)
    throw std::invalid_argument("derive_recurrent: alpha has " + std::to_string(alpha.size()) +
                                " values, expected " + std::to_string(edges * kOps) + " for " +
                                std::to_string(nodes) + " nodes");
  space::RecurrentGenotype cell;
  for (int node = 1; node <= nodes; ++node) {
    const auto first = alpha.begin() + static_cast<std::ptrdiff_t>(node * (node - 1) / 2) * kOps;
    const auto best = static_cast<int>(std::max_element(first, first + node * kOps) - first);
    cell.nodes.push_back({space::candidate_activation(best % kOps), best / kOps});
  }
  return cell;
}

int count_skip_connections(const space::Cell& cell) {
  return static_cast<int>(std::count_if(cell.edges.begin(), cell.edges.end(), [](const auto& e) {
    return e.op == space::Op::kSkipConnect;
  }));
}

} // namespace hpcnas::darts
