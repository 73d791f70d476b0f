#include "hpcnas/model/network.hpp"

#include <algorithm>
#include <array>
#include <stdexcept>
#include <string>
#include <vector>

#include "hpcnas/model/operations.hpp"

namespace hpcnas::model {

namespace {

/// The discrete cell of a genotype: two preprocessed inputs, kNodes nodes, each the sum of two
/// edges, output the concatenation of all nodes (4 * C channels).
class CellImpl : public torch::nn::Module {
public:
  CellImpl(const space::Cell& genes, std::int64_t c_prev_prev, std::int64_t c_prev, std::int64_t c,
           bool reduction, bool reduction_prev)
      : genes_(genes) {
    for (int e = 0; e < space::kEdgesPerCell; ++e) {
      const int input = genes.edges[e].input;
      TORCH_CHECK(input >= 0 && input < 2 + e / 2, "cell edge ", e, " reads state ", input,
                  ", not an earlier state");
    }
    if (reduction_prev) {
      pre0_ = register_module("pre0", FactorizedReduce(c_prev_prev, c, true));
    } else {
      pre0_ = register_module("pre0", ReluConvBn(c_prev_prev, c, 1, 1, 0, true));
    }
    pre1_ = register_module("pre1", ReluConvBn(c_prev, c, 1, 1, 0, true));
    for (int e = 0; e < space::kEdgesPerCell; ++e) {
      const auto& edge = genes.edges[e];
      const std::int64_t stride = reduction && edge.input < 2 ? 2 : 1;
      edges_.push_back(register_module("edge" + std::to_string(e),
                                       make_operation(edge.op, c, stride, /*affine=*/true)));
      if (edges_.back()->starts_with_relu()) {
        needs_relu_[edge.input] = true;
      }
      // A parameter-free op (pooling, identity) on the same input as an earlier edge gives the
      // same tensor: compute it once and let autograd sum the two gradients.
      same_as_[e] = -1;
      if (count_parameters(*edges_.back()) == 0 && edge.op != space::Op::kNone) {
        for (int f = 0; f < e; ++f) {
          if (genes.edges[f] == edge) {
            same_as_[e] = same_as_[f] >= 0 ? same_as_[f] : f;
            break;
          }
        }
      }
    }
    // An edge output may take the node's sum in place only if nothing else holds it.
    for (int e = 0; e < space::kEdgesPerCell; ++e) {
      const auto& edge = genes.edges[e];
      identity_[e] = edge.op == space::Op::kSkipConnect && !(reduction && edge.input < 2);
      owned_[e] = same_as_[e] < 0 && !identity_[e];
      for (int f = 0; f < space::kEdgesPerCell; ++f) {
        if (same_as_[f] == e) {
          owned_[e] = false;
        }
      }
    }
  }

  /// s0, s1: the two previous cells' outputs; r0, r1: their ReLUs, computed once by the network.
  /// keep: drop-path factors [kEdgesPerCell, N], or undefined for none.
  torch::Tensor forward(const torch::Tensor& s0, const torch::Tensor& r0, const torch::Tensor& s1,
                        const torch::Tensor& r1, const torch::Tensor& keep) {
    std::array<torch::Tensor, kStates> states;
    std::array<torch::Tensor, kStates> relus; // shared by all ReLU-first edges reading a state
    std::array<torch::Tensor, space::kEdgesPerCell> outputs;
    std::array<bool, space::kEdgesPerCell> owned = owned_;
    states[0] = pre0_->forward(s0, r0);
    states[1] = pre1_->forward(s1, r1);
    for (int s = 0; s < 2; ++s) {
      if (needs_relu_[s]) {
        relus[s] = torch::relu(states[s]);
      }
    }
    for (int i = 0; i < space::kNodes; ++i) {
      for (int e = 2 * i; e < 2 * i + 2; ++e) {
        const int in = genes_.edges[e].input;
        outputs[e] =
            same_as_[e] >= 0 ? outputs[same_as_[e]] : edges_[e]->forward(states[in], relus[in]);
      }
      if (keep.defined()) {
        for (int e = 2 * i; e < 2 * i + 2; ++e) {
          if (!identity_[e]) {
            outputs[e] = outputs[e] * keep[e].view({-1, 1, 1, 1});
            owned[e] = true;
          }
        }
      }
      const int a = 2 * i;
      const int b = 2 * i + 1;
      auto node = owned[a]   ? outputs[a].add_(outputs[b])
                  : owned[b] ? outputs[b].add_(outputs[a])
                             : outputs[a] + outputs[b];
      if (needs_relu_[2 + i]) {
        relus[2 + i] = torch::relu(node);
      }
      states[2 + i] = std::move(node);
    }
    return cat_channels({states[2], states[3], states[4], states[5]});
  }

  std::string emit(GraphSink& graph, const std::string& s0, const std::string& s1) const {
    std::array<std::string, kStates> states;
    states[0] = pre0_->emit(graph, s0);
    states[1] = pre1_->emit(graph, s1);
    for (int i = 0; i < space::kNodes; ++i) {
      const auto a = edges_[2 * i]->emit(graph, states[genes_.edges[2 * i].input]);
      const auto b = edges_[2 * i + 1]->emit(graph, states[genes_.edges[2 * i + 1].input]);
      states[2 + i] = graph.add(a, b);
    }
    return graph.concat({states[2], states[3], states[4], states[5]});
  }

private:
  static constexpr int kStates = 2 + space::kNodes;
  space::Cell genes_;
  std::shared_ptr<OperationImpl> pre0_, pre1_;
  std::vector<Operation> edges_;
  std::array<bool, kStates> needs_relu_{};
  std::array<int, space::kEdgesPerCell> same_as_{}; ///< earlier edge with the same result, or -1
  std::array<bool, space::kEdgesPerCell> owned_{};  ///< output held by nothing but the node
  std::array<bool, space::kEdgesPerCell> identity_{}; ///< the edge passes its input through
};
TORCH_MODULE(Cell);

/// DARTS's auxiliary classifier (AuxiliaryHeadCIFAR): ReLU, 5x5 average pooling with stride 3,
/// 1x1 conv to 128 channels, BN, ReLU, conv to 768 channels, BN, ReLU, linear. DARTS sizes it for
/// 8x8 features (a 2x2 conv after the pooling); here the second conv's kernel is the pooled
/// size, so 8x8 features give DARTS's head and 7x7 ones (Fashion-MNIST) end at 1x1 too.
class AuxiliaryHeadImpl : public torch::nn::Module {
public:
  AuxiliaryHeadImpl(std::int64_t channels, std::int64_t size, std::int64_t classes)
      : pool_(std::min<std::int64_t>(5, size)) {
    const std::int64_t pooled = (size - pool_) / kPoolStride + 1;
    conv1_ = register_module("conv1", Conv(ConvOptions(channels, 128, 1)));
    bn1_ = register_module("bn1", torch::nn::BatchNorm2d(128));
    conv2_ = register_module("conv2", Conv(ConvOptions(128, 768, pooled)));
    bn2_ = register_module("bn2", torch::nn::BatchNorm2d(768));
    classifier_ = register_module("classifier", CountedLinear(768, classes));
  }

  torch::Tensor forward(const torch::Tensor& x) {
    auto y = torch::avg_pool2d(torch::relu(x), {pool_, pool_}, {kPoolStride, kPoolStride}, {0, 0},
                               /*ceil_mode=*/false, /*count_include_pad=*/false);
    y = torch::relu(bn1_(conv1_(y)));
    y = torch::relu(bn2_(conv2_(y)));
    return classifier_(y.flatten(1));
  }

private:
  static constexpr std::int64_t kPoolStride = 3;
  std::int64_t pool_;
  Conv conv1_{nullptr}, conv2_{nullptr};
  torch::nn::BatchNorm2d bn1_{nullptr}, bn2_{nullptr};
  CountedLinear classifier_{nullptr};
};
TORCH_MODULE(AuxiliaryHead);

/// Height (or width) after a stride-2 operation of the cells: every one pads to ceil(size / 2).
int halved(int size) { return (size + 1) / 2; }

} // namespace

struct NetworkImpl::Parts {
  Conv stem_conv{nullptr};
  torch::nn::BatchNorm2d stem_bn{nullptr};
  std::vector<Cell> cells;
  CountedLinear head{nullptr};
  AuxiliaryHead auxiliary{nullptr};
  int auxiliary_after = -1; ///< the cell whose output feeds the auxiliary head
};

NetworkImpl::NetworkImpl(const space::Genotype& genotype, const NetworkOptions& options)
    : parts_(std::make_shared<Parts>()) {
  TORCH_CHECK(options.in_channels > 0 && options.num_classes > 0 && options.channels > 0 &&
                  options.layers > 0 && options.stem_multiplier > 0,
              "Network: channels, classes, C, layers and stem multiplier must be positive");
  const std::int64_t c_stem = static_cast<std::int64_t>(options.stem_multiplier) * options.channels;
  parts_->stem_conv =
      register_module("stem_conv", Conv(ConvOptions(options.in_channels, c_stem, 3).padding(1)));
  parts_->stem_bn = register_module("stem_bn", torch::nn::BatchNorm2d(c_stem));

  std::int64_t c_prev_prev = c_stem;
  std::int64_t c_prev = c_stem;
  std::int64_t c = options.channels;
  bool reduction_prev = false;
  const int layers = options.layers;
  int size = options.image_size;
  for (int i = 0; i < layers; ++i) {
    const bool reduction = i == layers / 3 || i == 2 * layers / 3;
    if (reduction) {
      c *= 2;
      size = halved(size);
    }
    parts_->cells.push_back(register_module(
        "cell" + std::to_string(i), Cell(reduction ? genotype.reduce : genotype.normal, c_prev_prev,
                                         c_prev, c, reduction, reduction_prev)));
    reduction_prev = reduction;
    c_prev_prev = c_prev;
    c_prev = space::kNodes * c;
    if (options.auxiliary_head && i == 2 * layers / 3) {
      parts_->auxiliary_after = i;
      parts_->auxiliary =
          register_module("auxiliary", AuxiliaryHead(c_prev, size, options.num_classes));
    }
  }
  parts_->head = register_module("head", CountedLinear(c_prev, options.num_classes));
}

torch::Tensor NetworkImpl::forward(torch::Tensor x) {
  return run(std::move(x), torch::Tensor(), /*auxiliary=*/false).logits;
}

TrainingOutput NetworkImpl::forward_train(torch::Tensor x, const torch::Tensor& drop_path_keep) {
  return run(std::move(x), drop_path_keep, is_training());
}

std::vector<torch::Tensor> NetworkImpl::relu_inputs(torch::Tensor x) {
  std::vector<torch::Tensor> out;
  run(std::move(x), torch::Tensor(), /*auxiliary=*/false, &out);
  return out;
}

TrainingOutput NetworkImpl::run(torch::Tensor x, const torch::Tensor& drop_path_keep,
                                bool auxiliary, std::vector<torch::Tensor>* relu_inputs) {
  auto& p = *parts_;
  TrainingOutput out;
  auto s1 = p.stem_bn(p.stem_conv(to_channels_last(x)));
  if (relu_inputs) {
    relu_inputs->push_back(s1);
  }
  auto r1 = torch::relu(s1);
  auto s0 = s1;
  auto r0 = r1;
  const auto n = p.cells.size();
  for (std::size_t i = 0; i < n; ++i) {
    const auto keep =
        drop_path_keep.defined() ? drop_path_keep[static_cast<std::int64_t>(i)] : torch::Tensor();
    auto cell_output = p.cells[i]->forward(s0, r0, s1, r1, keep);
    s0 = std::move(s1);
    r0 = std::move(r1);
    s1 = std::move(cell_output);
    // Every cell output but the last feeds the next cells' ReLU-first preprocessing.
    r1 = i + 1 < n ? torch::relu(s1) : torch::Tensor();
    if (relu_inputs && i + 1 < n) {
      relu_inputs->push_back(s1);
    }
    if (auxiliary && static_cast<int>(i) == p.auxiliary_after) {
      out.auxiliary_logits = p.auxiliary(s1);
    }
  }
  out.logits = p.head(global_average_pool(s1));
  return out;
}

int NetworkImpl::cells() const { return static_cast<int>(parts_->cells.size()); }

std::string NetworkImpl::emit(GraphSink& graph, const std::string& input, int height,
                              int width) const {
  if (height % 4 != 0 || width % 4 != 0) {
    throw std::invalid_argument("the inference graph needs an image size divisible by 4 (got " +
                                std::to_string(height) + "x" + std::to_string(width) + ")");
  }
  const auto& p = *parts_;
  auto s1 = emit_batch_norm(graph, p.stem_conv->emit(graph, input), p.stem_bn);
  auto s0 = s1;
  for (const auto& cell : p.cells) {
    auto out = cell->emit(graph, s0, s1);
    s0 = std::move(s1);
    s1 = std::move(out);
  }
  return p.head->emit(graph, graph.global_average_pool(s1));
}

std::int64_t count_parameters(const torch::nn::Module& module) {
  std::int64_t total = 0;
  for (const auto& p : module.parameters()) {
    if (p.requires_grad()) {
      total += p.numel();
    }
  }
  return total;
}

std::int64_t count_flops(Network& network, int channels, int height, int width) {
  const bool was_training = network->is_training();
  network->eval();
  std::int64_t flops = 0;
  {
    torch::NoGradGuard no_grad;
    FlopCounter counter;
    network->forward(torch::zeros({1, channels, height, width}));
    flops = counter.flops();
  }
  network->train(was_training);
  return flops;
}

} // namespace hpcnas::model
