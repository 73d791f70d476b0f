#include "hpcnas/darts/supernet.hpp"

#include <array>
#include <string>

namespace hpcnas::darts {

namespace {

constexpr int kStates = 2 + space::kNodes;

/// A supernet cell: two preprocessed inputs, kNodes nodes, each the mixed sum over all earlier
/// states; output the concatenation of the nodes (4 * C channels).
class SuperCellImpl : public torch::nn::Module {
public:
  SuperCellImpl(std::int64_t c_prev_prev, std::int64_t c_prev, std::int64_t c, bool reduction,
                bool reduction_prev)
      : reduction_(reduction) {
    if (reduction_prev)
      pre0_ = register_module("pre0", model::FactorizedReduce(c_prev_prev, c, false));
    else
      pre0_ = register_module("pre0", model::ReluConvBn(c_prev_prev, c, 1, 1, 0, false));
    pre1_ = register_module("pre1", model::ReluConvBn(c_prev, c, 1, 1, 0, false));
    for (int i = 0; i < space::kNodes; ++i)
      for (int j = 0; j < 2 + i; ++j) {
        const std::int64_t stride = reduction && j < 2 ? 2 : 1;
        edges_.push_back(
            register_module("edge" + std::to_string(edges_.size()), MixedEdge(c, stride)));
      }
  }

  bool reduction() const { return reduction_; }
  MixedEdge edge(int e) const { return edges_[e]; }

  /// r0, r1: relu(s0), relu(s1) computed once by the network (undefined in the plain path).
  torch::Tensor forward(const torch::Tensor& s0, const torch::Tensor& r0, const torch::Tensor& s1,
                        const torch::Tensor& r1, const torch::Tensor& weights, bool fast) {
    std::array<torch::Tensor, kStates> states;
    std::array<torch::Tensor, kStates> relus;
    states[0] = pre0_->forward(s0, r0);
    states[1] = pre1_->forward(s1, r1);
    int offset = 0;
    for (int i = 0; i < space::kNodes; ++i) {
      torch::Tensor node;
      for (int j = 0; j < 2 + i; ++j) {
        const auto w = weights[offset + j];
        if (fast) {
          if (!relus[j].defined())
            relus[j] = torch::relu(states[j]);
          node = edges_[offset + j]->accumulate(node, states[j], relus[j], w);
        } else {
          auto y = edges_[offset + j]->forward(states[j], w);
          node = node.defined() ? node + y : y;
        }
      }
      offset += 2 + i;
      states[2 + i] = node;
    }
    return torch::cat({states[2], states[3], states[4], states[5]}, 1);
  }

private:
  bool reduction_;
  std::shared_ptr<model::OperationImpl> pre0_, pre1_;
  std::vector<MixedEdge> edges_;
};
TORCH_MODULE(SuperCell);

} // namespace

MixedEdgeImpl::MixedEdgeImpl(std::int64_t channels, std::int64_t stride) {
  for (int k = 0; k < kOps; ++k) {
    const auto op = static_cast<space::Op>(k);
    ops_.push_back(register_module(std::string(space::op_name(op)),
                                   model::make_operation(op, channels, stride, false)));
  }
}

torch::Tensor MixedEdgeImpl::forward(const torch::Tensor& x, const torch::Tensor& weights) {
  torch::Tensor sum;
  for (int k = 0; k < kOps; ++k) {
    auto y = weights[k] * ops_[k]->forward(x);
    sum = sum.defined() ? sum + y : y;
  }
  return sum;
}

torch::Tensor MixedEdgeImpl::accumulate(torch::Tensor accumulator, const torch::Tensor& x,
                                        const torch::Tensor& relu_x, const torch::Tensor& weights) {
  // k = 0 is 'none': exactly zero, so it adds nothing.
  for (int k = 1; k < kOps; ++k) {
    auto& op = ops_[k];
    auto y = op->forward(x, op->starts_with_relu() ? relu_x : torch::Tensor());
    if (!accumulator.defined())
      accumulator = y * weights[k];
    else
      accumulator.addcmul_(y, weights[k]);
  }
  return accumulator;
}

struct SupernetImpl::Parts {
  model::Conv stem_conv{nullptr};
  torch::nn::BatchNorm2d stem_bn{nullptr};
  std::vector<SuperCell> cells;
  torch::nn::Linear head{nullptr};
};

SupernetImpl::SupernetImpl(const SupernetOptions& options)
    : options_(options), parts_(std::make_shared<Parts>()) {
  TORCH_CHECK(options.in_channels > 0 && options.num_classes > 0 && options.channels > 0 &&
                  options.layers > 0 && options.stem_multiplier > 0,
              "Supernet: channels, classes, C, layers and stem multiplier must be positive");
  const std::int64_t c_stem = static_cast<std::int64_t>(options.stem_multiplier) * options.channels;
  parts_->stem_conv = register_module(
      "stem_conv", model::Conv(model::ConvOptions(options.in_channels, c_stem, 3).padding(1)));
  parts_->stem_bn = register_module("stem_bn", torch::nn::BatchNorm2d(c_stem));
  std::int64_t c_prev_prev = c_stem;
  std::int64_t c_prev = c_stem;
  std::int64_t c = options.channels;
  bool reduction_prev = false;
  for (int i = 0; i < options.layers; ++i) {
    const bool reduction = i == options.layers / 3 || i == 2 * options.layers / 3;
    if (reduction)
      c *= 2;
    parts_->cells.push_back(register_module(
        "cell" + std::to_string(i), SuperCell(c_prev_prev, c_prev, c, reduction, reduction_prev)));
    reduction_prev = reduction;
    c_prev_prev = c_prev;
    c_prev = space::kNodes * c;
  }
  parts_->head = register_module("head", torch::nn::Linear(c_prev, options.num_classes));
  alpha_normal_ = register_parameter("alpha_normal", 1e-3 * torch::randn({kEdges, kOps}));
  alpha_reduce_ = register_parameter("alpha_reduce", 1e-3 * torch::randn({kEdges, kOps}));
}

torch::Tensor SupernetImpl::forward(const torch::Tensor& x) {
  return forward(x, torch::softmax(alpha_normal_, -1), torch::softmax(alpha_reduce_, -1));
}

torch::Tensor SupernetImpl::forward(const torch::Tensor& input, const torch::Tensor& weights_normal,
                                    const torch::Tensor& weights_reduce) {
  auto& p = *parts_;
  const bool fast = options_.fast;
  auto s1 = p.stem_bn(p.stem_conv(fast ? model::to_channels_last(input) : input));
  auto r1 = fast ? torch::relu(s1) : torch::Tensor();
  auto s0 = s1;
  auto r0 = r1;
  const auto n = p.cells.size();
  for (std::size_t i = 0; i < n; ++i) {
    auto& cell = p.cells[i];
    auto out =
        cell->forward(s0, r0, s1, r1, cell->reduction() ? weights_reduce : weights_normal, fast);
    s0 = std::move(s1);
    r0 = std::move(r1);
    s1 = std::move(out);
    r1 = fast && i + 1 < n ? torch::relu(s1) : torch::Tensor();
  }
  return p.head(s1.mean({2, 3}));
}

std::vector<torch::Tensor> SupernetImpl::weight_parameters() const {
  std::vector<torch::Tensor> weights;
  for (const auto& item : named_parameters()) {
    if (item.key() != "alpha_normal" && item.key() != "alpha_reduce")
      weights.push_back(item.value());
  }
  return weights;
}

std::vector<torch::Tensor> SupernetImpl::batchnorm_statistics() const {
  const auto ends_with = [](const std::string& name, const std::string& suffix) {
    return name.size() >= suffix.size() &&
           name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
  };
  std::vector<torch::Tensor> stats;
  for (const auto& item : named_buffers()) {
    if (ends_with(item.key(), "running_mean") || ends_with(item.key(), "running_var"))
      stats.push_back(item.value());
  }
  return stats;
}

MixedEdge SupernetImpl::edge(int cell, int e) const { return parts_->cells.at(cell)->edge(e); }

} // namespace hpcnas::darts
