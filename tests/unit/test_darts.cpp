#include <cmath>
#include <vector>

#include <catch2/catch.hpp>
#include <torch/torch.h>

#include "hpcnas/darts/architect.hpp"
#include "hpcnas/darts/derive.hpp"
#include "hpcnas/darts/supernet.hpp"

using namespace hpcnas;
using darts::kEdges;
using darts::kOps;
using space::Op;

namespace {

constexpr int kNone = static_cast<int>(Op::kNone);

/// alpha with every value 0 but `value` at (edge, op).
void set(std::vector<double>& alpha, int edge, Op op, double value) {
  alpha[edge * kOps + static_cast<int>(op)] = value;
}

double relative_difference(const torch::Tensor& a, const torch::Tensor& b) {
  return (a - b).norm().item<double>() / std::max(b.norm().item<double>(), 1e-30);
}

darts::SupernetOptions tiny_options(bool fast = true) {
  darts::SupernetOptions o;
  o.in_channels = 1;
  o.num_classes = 3;
  o.channels = 2;
  o.layers = 3;
  o.fast = fast;
  return o;
}

} // namespace

TEST_CASE("the DARTS rule keeps per node the two edges with the strongest non-none op", "[darts]") {
  std::vector<double> alpha(kEdges * kOps, 0.0);
  // Node 0 (edges 0, 1): both kept; 'none' dominating edge 1 is ignored for the op.
  set(alpha, 0, Op::kSepConv3x3, 2.0);
  set(alpha, 1, Op::kNone, 9.0);
  set(alpha, 1, Op::kMaxPool3x3, 1.0);
  // Node 1 (edges 2, 3, 4 from inputs 0, 1, 2): input 2 strongest, then input 0.
  set(alpha, 2, Op::kSkipConnect, 1.0);
  set(alpha, 3, Op::kDilConv3x3, 0.5);
  set(alpha, 4, Op::kSepConv5x5, 3.0);
  // Node 2 (edges 5..8 from inputs 0..3): a huge 'none' on input 1 must not select it.
  set(alpha, 6, Op::kNone, 50.0);
  set(alpha, 6, Op::kAvgPool3x3, 0.1);
  set(alpha, 7, Op::kDilConv5x5, 2.0);
  set(alpha, 8, Op::kSkipConnect, 1.5);
  // Node 3 (edges 9..13 from inputs 0..4): all equal: ties keep the lower inputs, in order.
  const auto cell = darts::derive_cell(alpha);

  // Softmax per edge: on edge 1 'none' takes almost all weight, so its max_pool is weak and
  // edge 0 is stronger; both are kept anyway (a node has two inputs).
  CHECK(cell.edges[0] == space::Edge{Op::kSepConv3x3, 0});
  CHECK(cell.edges[1] == space::Edge{Op::kMaxPool3x3, 1});
  CHECK(cell.edges[2] == space::Edge{Op::kSepConv5x5, 2});
  CHECK(cell.edges[3] == space::Edge{Op::kSkipConnect, 0});
  CHECK(cell.edges[4] == space::Edge{Op::kDilConv5x5, 2});
  CHECK(cell.edges[5] == space::Edge{Op::kSkipConnect, 3});
  CHECK(cell.edges[6].input == 0);
  CHECK(cell.edges[7].input == 1);
  CHECK(cell.edges[6].op != Op::kNone);

  const auto genotype = darts::derive_genotype(alpha, alpha);
  CHECK_NOTHROW(genotype.validate());
  CHECK(darts::count_skip_connections(genotype.normal) == 2);
  CHECK_THROWS_AS(darts::derive_cell(std::vector<double>(5)), std::invalid_argument);
}

TEST_CASE("a genotype derived from random alpha is always valid", "[darts]") {
  torch::manual_seed(3);
  for (int trial = 0; trial < 20; ++trial) {
    const auto t = torch::randn({kEdges * kOps}, torch::kFloat64);
    std::vector<double> alpha(t.data_ptr<double>(), t.data_ptr<double>() + t.numel());
    const auto g = darts::derive_genotype(alpha, alpha);
    CHECK_NOTHROW(g.validate());
    CHECK(space::Genotype::parse(g.to_string()) == g);
  }
}

TEST_CASE("a mixed edge is the weighted sum of its operations", "[darts]") {
  torch::manual_seed(1);
  for (const int stride : {1, 2}) {
    darts::MixedEdge edge(4, stride);
    edge->train();
    const auto x = torch::randn({3, 4, 8, 8});
    const auto w = torch::softmax(torch::randn({kOps}), 0);
    torch::Tensor expected = torch::zeros_like(edge->forward(x, w));
    for (int k = 0; k < kOps; ++k)
      expected = expected + w[k] * edge->op(k)->forward(x);
    CHECK(relative_difference(edge->forward(x, w), expected) < 1e-6);
    auto input = darts::edge_input(x, 1);
    const auto fast = edge->accumulate(torch::Tensor(), input, w);
    CHECK(relative_difference(fast, expected) < 1e-6);
    // 'none' alone gives exactly zero.
    auto only_none = torch::zeros({kOps});
    only_none[kNone] = 1.0;
    CHECK(edge->forward(x, only_none).abs().max().item<double>() == 0.0);
  }
}

TEST_CASE("edges reading one state share its pooling and still equal their own", "[darts]") {
  torch::manual_seed(11);
  for (const int k : {1, 4})
    for (const int stride : {1, 2}) {
      darts::MixedEdge first(8, stride, k), second(8, stride, k);
      first->train();
      second->train();
      const auto x = torch::randn({3, 8, 8, 8});
      const auto w = torch::softmax(torch::randn({kOps}), 0);
      auto shared = darts::edge_input(x, k);
      first->accumulate(torch::Tensor(), shared, w);
      REQUIRE(shared.max_pooled.defined());
      REQUIRE(shared.avg_pooled.defined());
      REQUIRE(shared.bypassed.defined() == (k > 1));
      auto own = darts::edge_input(x, k);
      CHECK(relative_difference(second->accumulate(torch::Tensor(), shared, w),
                                second->accumulate(torch::Tensor(), own, w)) < 1e-6);
    }
}

TEST_CASE("with partial channels an edge mixes C/K channels and shuffles the rest in", "[darts]") {
  torch::manual_seed(5);
  const int k = 4;
  const int part = 2; // C/K of 8 channels
  for (const int stride : {1, 2}) {
    darts::MixedEdge edge(8, stride, k);
    edge->train();
    auto x = torch::randn({3, 8, 8, 8}).requires_grad_();
    const auto w = torch::softmax(torch::randn({kOps}), 0);
    // By hand: the ops on the first C/K channels, the others max-pooled 2x2 on a strided edge;
    // channel i * K + g of the output is channel g * C/K + i of their concatenation.
    torch::Tensor expected;
    {
      torch::NoGradGuard no_grad;
      torch::Tensor mixed = torch::zeros({3, part, 8 / stride, 8 / stride});
      for (int op = 0; op < kOps; ++op)
        mixed = mixed + w[op] * edge->op(op)->forward(x.narrow(1, 0, part));
      auto bypass = x.narrow(1, part, 8 - part);
      if (stride == 2)
        bypass = torch::max_pool2d(bypass, {2, 2}, {2, 2});
      const auto joined = torch::cat({mixed, bypass}, 1);
      expected = torch::empty_like(joined);
      for (int g = 0; g < k; ++g)
        for (int i = 0; i < part; ++i)
          expected.select(1, i * k + g).copy_(joined.select(1, g * part + i));
    }
    const auto plain = edge->forward(x, w);
    CHECK(plain.sizes() == torch::IntArrayRef({3, 8, 8 / stride, 8 / stride}));
    CHECK(relative_difference(plain, expected) < 1e-6);
    auto input = darts::edge_input(x, k);
    const auto fast = edge->accumulate(torch::Tensor(), input, w);
    CHECK(relative_difference(fast, expected) < 1e-6);
    CHECK(fast.is_contiguous(torch::MemoryFormat::ChannelsLast));
    const auto ones = torch::ones_like(expected);
    auto fresh = darts::edge_input(x, k);
    CHECK(relative_difference(edge->accumulate(ones.clone(), fresh, w), expected + ones) < 1e-6);

    // The same input gradient, channels-last on the fast path (a slice's would be NCHW).
    const auto g = torch::randn_like(expected);
    const auto grad_plain = torch::autograd::grad({plain}, {x}, {g})[0];
    const auto grad_fast = torch::autograd::grad({fast}, {x}, {g})[0];
    CHECK(relative_difference(grad_fast, grad_plain) < 1e-5);
    CHECK(grad_fast.is_contiguous(torch::MemoryFormat::ChannelsLast));
  }
}

TEST_CASE("partial channels: shapes, fewer parameters, K must divide C", "[darts]") {
  const auto count = [](const torch::nn::Module& module) {
    std::int64_t n = 0;
    for (const auto& p : module.parameters())
      n += p.numel();
    return n;
  };
  auto o = tiny_options();
  o.in_channels = 3;
  o.channels = 8;
  darts::Supernet full(o);
  o.partial_channels = 4;
  darts::Supernet partial(o);
  for (const int size : {8, 7}) // odd: the pooled bypass must match the strided operations
    CHECK(partial->forward(torch::randn({4, 3, size, size})).sizes() == torch::IntArrayRef({4, 3}));
  CHECK(count(*partial) < count(*full));
  // A first-cell edge holds the operations of a full edge on C/K = 2 channels.
  CHECK(count(*partial->edge(0, 0)) == count(*darts::MixedEdge(2, 1)));
  CHECK(count(*partial->edge(0, 0)) < count(*full->edge(0, 0)));
  for (const int k : {0, 3, 16}) {
    o.partial_channels = k;
    CHECK_THROWS_WITH(darts::Supernet(o), Catch::Contains("partial channels"));
  }
  CHECK_THROWS_WITH(darts::MixedEdge(8, 1, 3), Catch::Contains("partial channels"));
}

TEST_CASE("supernet forward shapes and parameter groups", "[darts]") {
  darts::SupernetOptions o;
  o.in_channels = 3;
  o.num_classes = 10;
  o.channels = 4;
  o.layers = 5;
  darts::Supernet net(o);
  const auto logits = net->forward(torch::randn({2, 3, 16, 16}));
  CHECK(logits.sizes() == torch::IntArrayRef({2, 10}));
  const auto alphas = net->arch_parameters();
  REQUIRE(alphas.size() == 2);
  CHECK(alphas[0].sizes() == torch::IntArrayRef({kEdges, kOps}));
  CHECK(alphas[1].sizes() == torch::IntArrayRef({kEdges, kOps}));
  CHECK(net->weight_parameters().size() + 2 == net->parameters().size());
  CHECK(net->forward(torch::randn({2, 3, 15, 15})).sizes() == torch::IntArrayRef({2, 10}));
}

TEST_CASE("logits and alpha gradients of the fast supernet equal the plain formulation's",
          "[darts]") {
  for (const int partial_channels : {1, 4})
    for (const bool reduce_input : {false, true}) {
      INFO("partial channels " << partial_channels << ", reduction after reduction "
                               << reduce_input);
      auto options = tiny_options(true);
      options.channels = partial_channels == 1 ? 4 : 8;
      options.layers = reduce_input ? 3 : 4;
      options.partial_channels = partial_channels;
      torch::manual_seed(7);
      darts::Supernet fast(options);
      options.fast = false;
      torch::manual_seed(7);
      darts::Supernet plain(options);
      const auto x = torch::randn({4, 1, 12, 12});
      const auto y = torch::randint(0, 3, {4}, torch::kLong);
      torch::Tensor logits[2];
      std::vector<torch::Tensor> grads[2];
      int i = 0;
      for (auto* net : {&fast, &plain}) {
        (*net)->train();
        logits[i] = (*net)->forward(x);
        const auto loss = torch::nn::functional::cross_entropy(logits[i], y);
        grads[i++] = torch::autograd::grad({loss}, (*net)->arch_parameters());
      }
      CHECK(relative_difference(logits[0], logits[1]) < 1e-4);
      for (int a = 0; a < 2; ++a)
        CHECK(relative_difference(grads[0][a], grads[1][a]) < 1e-4);
    }
}

TEST_CASE("the second-order alpha gradient matches a finite-difference check", "[darts]") {
  torch::manual_seed(11);
  darts::Supernet net(tiny_options());
  net->to(torch::kFloat64);
  net->train();
  comm::SoloCollective solo;
  darts::ArchitectOptions options;
  options.order = 2;
  // DARTS's r = 0.01 perturbs the weights across ReLU and max-pool kinks of this tiny net, where
  // the gradient jumps; a small r checks the formula itself (with r = 0.01 it differs by tens of
  // percent here, from those kinks, while the exact double-backward value matches the numeric
  // derivative).
  options.hessian_radius = 1e-6;
  darts::Architect architect(net.ptr(), options, solo);
  const std::int64_t b = 4;
  const std::vector<darts::Batch> train{
      {torch::randn({b, 1, 8, 8}, torch::kFloat64), torch::randint(0, 3, {b}, torch::kLong), {}}};
  const std::vector<darts::Batch> val{
      {torch::randn({b, 1, 8, 8}, torch::kFloat64), torch::randint(0, 3, {b}, torch::kLong), {}}};
  // A large step makes the second-order term large against the first-order one.
  const double lr = 0.5;
  {
    // Larger alpha than the initial 1e-3 noise, so that the op weights differ.
    torch::NoGradGuard no_grad;
    for (auto& a : net->arch_parameters())
      a.copy_(torch::randn(a.sizes(), torch::kFloat64));
  }
  const auto analytic = architect.arch_gradient(train, val, b, b, lr);

  auto weights = net->weight_parameters();
  auto alphas = net->arch_parameters();
  const auto loss_of = [&](const darts::Batch& batch, bool detach_alpha) {
    const auto wn = torch::softmax(detach_alpha ? alphas[0].detach() : alphas[0], -1);
    const auto wr = torch::softmax(detach_alpha ? alphas[1].detach() : alphas[1], -1);
    return torch::nn::functional::cross_entropy(net->forward(batch.x, wn, wr), batch.y);
  };
  // f(alpha) = L_val(w - lr * (dL_train/dw + wd * w), alpha): the unrolled objective (the
  // momentum buffer is still zero).
  const auto unrolled_objective = [&]() {
    const auto g = torch::autograd::grad({loss_of(train[0], true)}, weights);
    std::vector<torch::Tensor> saved;
    torch::NoGradGuard no_grad;
    for (std::size_t i = 0; i < weights.size(); ++i) {
      saved.push_back(weights[i].clone());
      weights[i].sub_(lr * (g[i] + options.weight_decay * weights[i]));
    }
    const double value = loss_of(val[0], true).item<double>();
    for (std::size_t i = 0; i < weights.size(); ++i)
      weights[i].copy_(saved[i]);
    return value;
  };
  const auto first_order = torch::autograd::grad({loss_of(val[0], false)}, alphas);
  // Exact second order by double backward, to tell the finite-difference error apart.
  std::vector<torch::Tensor> exact;
  {
    const auto g = torch::autograd::grad({loss_of(train[0], true)}, weights);
    std::vector<torch::Tensor> saved;
    {
      torch::NoGradGuard no_grad;
      for (std::size_t i = 0; i < weights.size(); ++i) {
        saved.push_back(weights[i].clone());
        weights[i].sub_(lr * (g[i] + options.weight_decay * weights[i]));
      }
    }
    auto both = alphas;
    both.insert(both.end(), weights.begin(), weights.end());
    const auto gv = torch::autograd::grad({loss_of(val[0], false)}, both);
    {
      torch::NoGradGuard no_grad;
      for (std::size_t i = 0; i < weights.size(); ++i)
        weights[i].copy_(saved[i]);
    }
    const auto gt = torch::autograd::grad({loss_of(train[0], false)}, weights, {}, true, true);
    torch::Tensor dot = torch::zeros({}, torch::kFloat64);
    for (std::size_t i = 0; i < weights.size(); ++i)
      dot = dot + (gt[i] * gv[2 + i]).sum();
    const auto hv = torch::autograd::grad({dot}, alphas, {}, false, false, true);
    for (int a = 0; a < 2; ++a)
      exact.push_back(gv[a] - lr * hv[a]);
  }
  for (int a = 0; a < 2; ++a)
    CHECK(relative_difference(analytic[a], exact[a]) < 1e-4);

  const double h = 1e-5;
  double max_error = 0, max_value = 0, max_second_order = 0;
  for (int a = 0; a < 2; ++a)
    for (const int index : {0, 9, 19, 30, 42, 55, 67, 80, 95, 111}) {
      auto flat = alphas[a].view(-1);
      const double original = flat[index].item<double>();
      double values[2];
      for (int s = 0; s < 2; ++s) {
        {
          torch::NoGradGuard no_grad;
          flat[index] = original + (s == 0 ? h : -h);
        }
        values[s] = unrolled_objective();
      }
      {
        torch::NoGradGuard no_grad;
        flat[index] = original;
      }
      const double numeric = (values[0] - values[1]) / (2 * h);
      const double got = analytic[a].view(-1)[index].item<double>();

      max_error = std::max(max_error, std::abs(got - numeric));
      max_value = std::max(max_value, std::abs(numeric));
      max_second_order = std::max(
          max_second_order, std::abs(numeric - first_order[a].view(-1)[index].item<double>()));
    }
  INFO("max |analytic - numeric| " << max_error << ", max |numeric| " << max_value
                                   << ", max second-order part " << max_second_order);
  CHECK(max_second_order > 1e-3 * max_value); // the check can tell first from second order
  CHECK(max_error < 1e-3 * max_value);
  CHECK(max_error < 0.05 * max_second_order);
}
