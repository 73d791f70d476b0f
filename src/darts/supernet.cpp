#include "hpcnas/darts/supernet.hpp"

#include <array>
#include <string>

namespace hpcnas::darts {

namespace {

constexpr int kStates = 2 + space::kNodes;

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

/// Channel i * groups + g of the result is channel g * (C / groups) + i of x: the channel
/// shuffle of PC-DARTS, written as it does (the plain path). ATen's channel_shuffle has no
/// gradient in this LibTorch.
torch::Tensor shuffle_channels(const torch::Tensor& x, std::int64_t groups) {
  const auto n = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3);
  return x.reshape({n, groups, c / groups, h, w}).transpose(1, 2).reshape({n, c, h, w});
}

torch::Tensor empty_channels_last(torch::IntArrayRef sizes, const torch::Tensor& like) {
  return torch::empty(sizes, like.options().memory_format(torch::MemoryFormat::ChannelsLast));
}

/// {x[:, :first], x[:, first:]} as channels-last copies; the backward writes both gradients into
/// one channels-last gradient of x.
struct SplitChannels : torch::autograd::Function<SplitChannels> {
  static variable_list forward(AutogradContext* ctx, const torch::Tensor& x, std::int64_t first) {
    ctx->saved_data["first"] = first;
    return {model::to_channels_last(x.narrow(1, 0, first)),
            model::to_channels_last(x.narrow(1, first, x.size(1) - first))};
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto first = ctx->saved_data["first"].toInt();
    const auto& g = grads[0];
    auto grad = empty_channels_last({g.size(0), first + grads[1].size(1), g.size(2), g.size(3)}, g);
    grad.narrow(1, 0, first).copy_(g);
    grad.narrow(1, first, grads[1].size(1)).copy_(grads[1]);
    return {grad, torch::Tensor()};
  }
};

/// channel_shuffle(cat({mixed, bypass}, 1), groups) in one copy, with channels-last results in
/// both directions; mixed has C / groups channels, bypass the other ones.
struct ShuffledCat : torch::autograd::Function<ShuffledCat> {
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& mixed,
                               const torch::Tensor& bypass, std::int64_t groups) {
    ctx->saved_data["groups"] = groups;
    const auto n = mixed.size(0), part = mixed.size(1), h = mixed.size(2), w = mixed.size(3);
    auto out = empty_channels_last({n, groups * part, h, w}, mixed);
    // [n, i, g, h, w] is output channel i * groups + g.
    auto grouped = out.view({n, part, groups, h, w});
    grouped.select(2, 0).copy_(mixed);
    grouped.narrow(2, 1, groups - 1)
        .copy_(bypass.reshape({n, groups - 1, part, h, w}).transpose(1, 2));
    return out;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto groups = ctx->saved_data["groups"].toInt();
    const auto& g = grads[0];
    const auto n = g.size(0), part = g.size(1) / groups, h = g.size(2), w = g.size(3);
    const auto grouped = g.reshape({n, part, groups, h, w});
    auto grad_bypass = empty_channels_last({n, (groups - 1) * part, h, w}, g);
    grad_bypass.view({n, groups - 1, part, h, w})
        .copy_(grouped.narrow(2, 1, groups - 1).transpose(1, 2));
    return {model::to_channels_last(grouped.select(2, 0)), grad_bypass, torch::Tensor()};
  }
};

/// A supernet cell: two preprocessed inputs, kNodes nodes, each the mixed sum over all earlier
/// states; output the concatenation of the nodes (4 * C channels).
class SuperCellImpl : public torch::nn::Module {
public:
  SuperCellImpl(std::int64_t c_prev_prev, std::int64_t c_prev, std::int64_t c, bool reduction,
                bool reduction_prev, int partial_channels)
      : reduction_(reduction), partial_channels_(partial_channels) {
    if (reduction_prev)
      pre0_ = register_module("pre0", model::FactorizedReduce(c_prev_prev, c, false));
    else
      pre0_ = register_module("pre0", model::ReluConvBn(c_prev_prev, c, 1, 1, 0, false));
    pre1_ = register_module("pre1", model::ReluConvBn(c_prev, c, 1, 1, 0, false));
    for (int i = 0; i < space::kNodes; ++i)
      for (int j = 0; j < 2 + i; ++j) {
        const std::int64_t stride = reduction && j < 2 ? 2 : 1;
        edges_.push_back(register_module("edge" + std::to_string(edges_.size()),
                                         MixedEdge(c, stride, partial_channels)));
      }
  }

  bool reduction() const { return reduction_; }
  MixedEdge edge(int e) const { return edges_[e]; }

  /// r0, r1: relu(s0), relu(s1) computed once by the network (undefined in the plain path).
  torch::Tensor forward(const torch::Tensor& s0, const torch::Tensor& r0, const torch::Tensor& s1,
                        const torch::Tensor& r1, const torch::Tensor& weights, bool fast) {
    std::array<torch::Tensor, kStates> states;
    std::array<EdgeInput, kStates> inputs; // fast path: prepared once per state
    states[0] = pre0_->forward(s0, r0);
    states[1] = pre1_->forward(s1, r1);
    int offset = 0;
    for (int i = 0; i < space::kNodes; ++i) {
      torch::Tensor node;
      for (int j = 0; j < 2 + i; ++j) {
        const auto w = weights[offset + j];
        if (fast) {
          if (!inputs[j].mixed.defined())
            inputs[j] = edge_input(states[j], partial_channels_);
          node = edges_[offset + j]->accumulate(node, inputs[j], w);
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
  int partial_channels_;
  std::shared_ptr<model::OperationImpl> pre0_, pre1_;
  std::vector<MixedEdge> edges_;
};
TORCH_MODULE(SuperCell);

} // namespace

EdgeInput edge_input(const torch::Tensor& state, int partial_channels) {
  EdgeInput input;
  if (partial_channels == 1) {
    input.mixed = state;
  } else {
    auto parts = SplitChannels::apply(state, state.size(1) / partial_channels);
    input.mixed = parts[0];
    input.bypass = parts[1];
  }
  input.relu_mixed = torch::relu(input.mixed);
  return input;
}

MixedEdgeImpl::MixedEdgeImpl(std::int64_t channels, std::int64_t stride, int partial_channels)
    : stride_(stride), partial_channels_(partial_channels) {
  TORCH_CHECK(partial_channels >= 1 && channels % partial_channels == 0,
              "MixedEdge: partial channels K = ", partial_channels,
              " must be at least 1 and divide the ", channels, " channels");
  for (int k = 0; k < kOps; ++k) {
    const auto op = static_cast<space::Op>(k);
    ops_.push_back(
        register_module(std::string(space::op_name(op)),
                        model::make_operation(op, channels / partial_channels, stride, false)));
  }
}

torch::Tensor MixedEdgeImpl::bypass(const torch::Tensor& x) const {
  // ceil_mode: an odd size halves to ceil(H / 2), as the strided operations do.
  return stride_ == 1 ? x : torch::max_pool2d(x, {2, 2}, {2, 2}, {0, 0}, {1, 1}, true);
}

torch::Tensor MixedEdgeImpl::forward(const torch::Tensor& x, const torch::Tensor& weights) {
  const bool partial = partial_channels_ > 1;
  const auto part = x.size(1) / partial_channels_;
  torch::Tensor sum;
  for (int k = 0; k < kOps; ++k) {
    auto y = weights[k] * ops_[k]->forward(partial ? x.narrow(1, 0, part) : x);
    sum = sum.defined() ? sum + y : y;
  }
  if (!partial)
    return sum;
  const auto bypassed = bypass(x.narrow(1, part, x.size(1) - part));
  return shuffle_channels(torch::cat({sum, bypassed}, 1), partial_channels_);
}

torch::Tensor MixedEdgeImpl::accumulate(torch::Tensor accumulator, EdgeInput& input,
                                        const torch::Tensor& weights) {
  const bool partial = partial_channels_ > 1;
  // Without partial channels the operations accumulate straight into the node.
  auto sum = partial ? torch::Tensor() : std::move(accumulator);
  const auto output = [&](int k) {
    auto& op = ops_[k];
    const auto run = [&] {
      return op->forward(input.mixed, op->starts_with_relu() ? input.relu_mixed : torch::Tensor());
    };
    switch (static_cast<space::Op>(k)) {
    case space::Op::kMaxPool3x3:
      return input.max_pooled.defined() ? input.max_pooled : (input.max_pooled = run());
    case space::Op::kAvgPool3x3:
      return input.avg_pooled.defined() ? input.avg_pooled : (input.avg_pooled = run());
    default:
      return run();
    }
  };
  // k = 0 is 'none': exactly zero, so it adds nothing.
  for (int k = 1; k < kOps; ++k) {
    auto y = output(k);
    if (!sum.defined())
      sum = y * weights[k];
    else
      sum.addcmul_(y, weights[k]);
  }
  if (!partial)
    return sum;
  if (!input.bypassed.defined())
    input.bypassed = bypass(input.bypass);
  auto y = ShuffledCat::apply(sum, input.bypassed, partial_channels_);
  return accumulator.defined() ? accumulator.add_(y) : y;
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
  // Cells have C, 2C or 4C channels: K divides them all when it divides C.
  TORCH_CHECK(options.partial_channels >= 1 && options.channels % options.partial_channels == 0,
              "Supernet: partial channels K = ", options.partial_channels,
              " must be at least 1 and divide C = ", options.channels);
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
        "cell" + std::to_string(i),
        SuperCell(c_prev_prev, c_prev, c, reduction, reduction_prev, options.partial_channels)));
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

torch::Tensor SupernetImpl::logits(const Batch& batch, const std::vector<torch::Tensor>& weights) {
  return forward(batch.x, weights.at(0), weights.at(1));
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
