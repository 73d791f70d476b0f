#include <cmath>
#include <random>

#include <catch2/catch.hpp>
#include <torch/torch.h>

#include "hpcnas/model/network.hpp"
#include "hpcnas/model/operations.hpp"
#include "hpcnas/space/genotype.hpp"

using hpcnas::model::count_flops;
using hpcnas::model::count_parameters;
using hpcnas::model::Network;
using hpcnas::model::NetworkOptions;
using hpcnas::space::Genotype;
using hpcnas::space::Op;

namespace {

NetworkOptions small_options(int in_channels) {
  NetworkOptions o;
  o.in_channels = in_channels;
  o.num_classes = 10;
  o.channels = 4;
  o.layers = 5;
  return o;
}

// Every normal edge a skip_connect and every reduction edge a max_pool, all reading inputs 0
// and 1: the only FLOPs are the stem, the cell preprocessing and the head.
Genotype skip_and_pool_genotype() {
  Genotype g;
  for (int e = 0; e < hpcnas::space::kEdgesPerCell; ++e) {
    g.normal.edges[e] = {Op::kSkipConnect, e % 2};
    g.reduce.edges[e] = {Op::kMaxPool3x3, e % 2};
  }
  return g;
}

} // namespace

TEST_CASE("random genotypes give [B, classes] logits on MNIST and CIFAR shapes", "[model]") {
  torch::manual_seed(0);
  std::mt19937_64 rng(42);
  for (int i = 0; i < 50; ++i) {
    const Genotype g = hpcnas::space::sample_genotype(rng);
    INFO("genotype " << i << ": " << g.to_string());
    for (auto shape : {std::array<int, 3>{1, 28, 28}, std::array<int, 3>{3, 32, 32}}) {
      Network net(g, small_options(shape[0]));
      auto y = net->forward(torch::randn({2, shape[0], shape[1], shape[2]}));
      REQUIRE(y.sizes() == torch::IntArrayRef({2, 10}));
      REQUIRE(torch::isfinite(y).all().item<bool>());
    }
  }
}

TEST_CASE("training step runs backward through every edge kind", "[model]") {
  torch::manual_seed(1);
  std::mt19937_64 rng(7);
  Network net(hpcnas::space::sample_genotype(rng), small_options(1));
  auto loss = net->forward(torch::randn({4, 1, 16, 16})).pow(2).mean();
  loss.backward();
  for (const auto& p : net->parameters()) {
    REQUIRE(p.grad().defined());
  }
}

TEST_CASE("odd input sizes are handled by the factorized reduce", "[model]") {
  Network net(hpcnas::space::darts_v2(), small_options(1));
  auto y = net->forward(torch::randn({2, 1, 13, 11}));
  REQUIRE(y.sizes() == torch::IntArrayRef({2, 10}));
}

namespace {

/// Conv(options) on x in channels-last layout against LibTorch's conv2d on x as it is: the
/// output, both gradients, and the input's gradient alone (as an architecture step asks).
void require_conv_matches_libtorch(const hpcnas::model::ConvOptions& options,
                                   const torch::Tensor& x) {
  hpcnas::model::Conv conv(options);
  auto input = hpcnas::model::to_channels_last(x.clone()).requires_grad_();
  auto y = conv(input);
  const auto upstream = torch::randn_like(y);
  (y * upstream).sum().backward();

  auto reference_input = x.clone().requires_grad_();
  auto reference_weight = conv->weight.detach().clone().requires_grad_();
  auto reference = torch::conv2d(reference_input, reference_weight, {}, options.stride(),
                                 options.padding(), options.dilation(), options.groups());
  (reference * upstream).sum().backward();
  REQUIRE(torch::allclose(y, reference, 1e-5, 1e-5));
  REQUIRE(torch::allclose(input.grad(), reference_input.grad(), 1e-5, 1e-5));
  REQUIRE(torch::allclose(conv->weight.grad(), reference_weight.grad(), 1e-4, 1e-4));

  auto again = hpcnas::model::to_channels_last(x.clone()).requires_grad_();
  const auto input_only = torch::autograd::grad({(conv(again) * upstream).sum()}, {again});
  REQUIRE(torch::allclose(input_only[0], reference_input.grad(), 1e-5, 1e-5));
}

} // namespace

TEST_CASE("a strided 1x1 convolution of channels-last input equals the NCHW one, gradients too",
          "[model]") {
  torch::manual_seed(3);
  for (std::int64_t in_channels = 1; in_channels <= 9; ++in_channels) {
    for (std::int64_t size : {28, 27, 8, 7}) {
      INFO(in_channels << " channels, " << size << "x" << size);
      require_conv_matches_libtorch(hpcnas::model::ConvOptions(in_channels, 3, 1).stride(2),
                                    torch::randn({4, in_channels, size, size}));
    }
  }
}

TEST_CASE("a depthwise convolution of channels-last input equals LibTorch's, gradients too",
          "[model]") {
  // Every filter, stride and dilation DARTS uses (the dilated ones run the project's backward
  // kernels), odd sizes, channel counts that are not a multiple of the vector width, a single
  // image.
  torch::manual_seed(5);
  struct Case {
    std::int64_t kernel, stride, dilation;
  };
  for (const Case& c : {Case{3, 1, 1}, Case{5, 1, 1}, Case{3, 1, 2}, Case{5, 1, 2}, Case{3, 2, 1},
                        Case{5, 2, 1}, Case{3, 2, 2}, Case{5, 2, 2}}) {
    for (const std::int64_t channels : {1, 3, 16, 21}) {
      for (const std::int64_t size : {9, 8, 4}) {
        for (const std::int64_t images : {1, 3}) {
          INFO(c.kernel << "x" << c.kernel << " stride " << c.stride << " dilation " << c.dilation
                        << ", " << channels << " channels, " << size << "x" << size << ", "
                        << images << " images");
          require_conv_matches_libtorch(hpcnas::model::ConvOptions(channels, channels, c.kernel)
                                            .stride(c.stride)
                                            .padding(c.dilation * (c.kernel - 1) / 2)
                                            .dilation(c.dilation)
                                            .groups(channels),
                                        torch::randn({images, channels, size, size}));
        }
      }
    }
  }
}

TEST_CASE("a factorized reduce equals its two strided convolutions of the image and of the image "
          "shifted by a pixel, gradients too",
          "[model]") {
  torch::manual_seed(6);
  for (const std::int64_t size : {8, 7, 2}) {
    INFO(size << "x" << size);
    hpcnas::model::FactorizedReduce reduce(3, 6, /*affine=*/false);
    const auto x = torch::randn({2, 3, size, size});
    auto input = hpcnas::model::to_channels_last(x.clone()).requires_grad_();
    auto y = reduce->forward(input, torch::Tensor());
    const auto upstream = torch::randn_like(y);
    (y * upstream).sum().backward();

    // DARTS's formulation, on NCHW tensors: the shifted image is x[:, :, 1:, 1:], padded at the
    // end to an even size.
    const auto params = reduce->named_parameters();
    auto reference_input = x.clone().requires_grad_();
    const auto r = torch::relu(reference_input);
    const auto a = torch::conv2d(r, params["conv_a.weight"].detach(), {}, 2);
    const auto shifted =
        torch::constant_pad_nd(r.slice(2, 1).slice(3, 1), {0, size % 2, 0, size % 2});
    const auto b = torch::conv2d(shifted, params["conv_b.weight"].detach(), {}, 2);
    auto reference =
        torch::batch_norm(torch::cat({a, b}, 1), {}, {}, {}, {}, true, 0.1, 1e-5, false);
    (reference * upstream).sum().backward();
    REQUIRE(torch::allclose(y, reference, 1e-5, 1e-5));
    REQUIRE(torch::allclose(input.grad(), reference_input.grad(), 1e-5, 1e-5));
  }
}

TEST_CASE("children of 2 channels train (factorized reduces of 2 to 7 channels)", "[model]") {
  torch::manual_seed(4);
  std::mt19937_64 rng(11);
  NetworkOptions options = small_options(1);
  options.channels = 2;
  options.layers = 3;
  for (int i = 0; i < 8; ++i) {
    Network net(hpcnas::space::sample_genotype(rng), options);
    for (int step = 0; step < 3; ++step) {
      auto loss = net->forward(torch::randn({8, 1, 28, 28})).pow(2).mean();
      loss.backward();
      REQUIRE(std::isfinite(loss.item<double>()));
    }
  }
}

TEST_CASE("DARTS_V2 matches the PyTorch peer's architecture", "[model]") {
  NetworkOptions o; // C = 16, L = 8, stem multiplier 3, 10 classes
  o.in_channels = 1;
  Network mnist(hpcnas::space::darts_v2(), o);
  // torch_peer.py: sum(p.numel() for p in Network(1, 16, 10, 8, DARTS_V2).parameters())
  CHECK(count_parameters(*mnist) == 245242);
  // FLOPs counted with forward hooks on the peer's Conv2d and Linear layers (same convention).
  CHECK(count_flops(mnist, 1, 28, 28) == 65171200);

  o.in_channels = 3;
  Network cifar(hpcnas::space::darts_v2(), o);
  CHECK(count_parameters(*cifar) == 246106);
  CHECK(count_flops(cifar, 3, 32, 32) == 86889472);
}

TEST_CASE("count_flops counts the convolutions and the head of a skip/pool network", "[model]") {
  NetworkOptions o;
  o.in_channels = 1;
  o.num_classes = 10;
  o.channels = 2; // C
  o.layers = 3;   // normal, reduce, reduce
  Network net(skip_and_pool_genotype(), o);
  // 8x8 input. Conv FLOPs = 2 * Cout * Hout * Wout * Cin * k * k, linear = 2 * in * out.
  const std::int64_t stem = 2 * 6 * 8 * 8 * 1 * 3 * 3; // 1 -> 3C = 6, 3x3, 8x8
  // cell 0, normal, C = 2: pre0 and pre1 are 1x1 convs 6 -> 2 at 8x8; output 4C = 8 channels.
  const std::int64_t cell0 = 2 * (2 * 2 * 8 * 8 * 6);
  // cell 1, reduction, C = 4: pre0 6 -> 4, pre1 8 -> 4, both 1x1 at 8x8; max pools; 16 ch 4x4.
  const std::int64_t cell1 = 2 * 4 * 8 * 8 * 6 + 2 * 4 * 8 * 8 * 8;
  // cell 2, reduction after a reduction, C = 8: pre0 is a factorized reduce of the 8-channel
  // 8x8 output of cell 0 (two 1x1 stride-2 convs 8 -> 4 at 4x4), pre1 1x1 16 -> 8 at 4x4.
  const std::int64_t cell2 = 2 * (2 * 4 * 4 * 4 * 8) + 2 * 8 * 4 * 4 * 16;
  const std::int64_t head = 2 * 32 * 10; // 4C = 32 features -> 10 classes
  REQUIRE(count_flops(net, 1, 8, 8) == stem + cell0 + cell1 + cell2 + head);
  REQUIRE(count_flops(net, 1, 8, 8) == 23936);
  // Counting leaves the mode alone.
  REQUIRE(net->is_training());
}

TEST_CASE("FlopCounter counts only while alive and nests", "[model]") {
  hpcnas::model::Conv conv(hpcnas::model::ConvOptions(4, 8, 3).padding(1).groups(2));
  torch::NoGradGuard no_grad;
  conv->forward(torch::zeros({1, 4, 5, 5})); // not counted
  hpcnas::model::FlopCounter outer;
  conv->forward(torch::zeros({3, 4, 5, 5})); // per image: 2 * 8 * 25 * (4 / 2) * 9
  {
    hpcnas::model::FlopCounter inner;
    conv->forward(torch::zeros({1, 4, 5, 5}));
    REQUIRE(inner.flops() == 7200);
  }
  REQUIRE(outer.flops() == 7200);
}

TEST_CASE("make_operation builds every op, 'none' included, in both flavours", "[model]") {
  auto x = torch::randn({2, 8, 6, 6});
  for (int i = 0; i < hpcnas::space::kSupernetOps; ++i) {
    const auto op = static_cast<Op>(i);
    for (bool affine : {true, false}) {
      for (std::int64_t stride : {1, 2}) {
        INFO("op " << hpcnas::space::op_name(op) << " affine " << affine << " stride " << stride);
        auto module = hpcnas::model::make_operation(op, 8, stride, affine);
        auto y = module->forward(x);
        REQUIRE(y.sizes() == torch::IntArrayRef({2, 8, 6 / stride, 6 / stride}));
        if (op == Op::kNone) {
          REQUIRE(y.abs().sum().item<double>() == 0);
        }
        if (op == Op::kMaxPool3x3 || op == Op::kAvgPool3x3) {
          REQUIRE(count_parameters(*module) == 0); // affine=false BN has no parameters
        }
      }
    }
  }
}
