#include <cmath>

#include <ATen/CPUGeneratorImpl.h>

#include "hpcnas/data/dataset.hpp"

namespace hpcnas::data {
namespace {

constexpr double kPi = 3.14159265358979323846;
constexpr double kBackground = 50.0;
constexpr double kContrast = 140.0;
constexpr double kNoiseStd = 30.0;
constexpr double kGrating = 1.0;
constexpr double kBlob = 0.3;

// Class k: a grating whose orientation and period depend on k (a local texture that survives
// global pooling) plus a bright blob at a seeded position. Values in [0, 1], shape [C, H, W].
torch::Tensor prototype(int k, int classes, int channels, int height, int width,
                        at::Generator& gen) {
  const auto opts = torch::TensorOptions().dtype(torch::kFloat64);
  const auto y = torch::arange(height, opts).view({height, 1});
  const auto x = torch::arange(width, opts).view({1, width});
  const double angle = kPi * (k / 2) / ((classes + 1) / 2);
  const double period = (k % 2 == 0) ? 3.0 : 6.0;
  const auto coord = x * std::cos(angle) + y * std::sin(angle);

  const auto r = torch::rand({channels + 2}, gen, opts);
  const auto blob_y = r[0].item<double>() * (height - 1);
  const auto blob_x = r[1].item<double>() * (width - 1);
  const double radius = std::max(1.0, std::min(height, width) / 6.0);
  const auto blob =
      torch::exp(-((y - blob_y).pow(2) + (x - blob_x).pow(2)) / (2 * radius * radius));

  std::vector<torch::Tensor> planes;
  for (int c = 0; c < channels; ++c) {
    const double phase = 2 * kPi * r[2 + c].item<double>();
    const auto grating = 0.5 + 0.5 * torch::cos(2 * kPi * coord / period + phase);
    planes.push_back(torch::clamp(kGrating * grating + kBlob * blob, 0.0, 1.0));
  }
  return torch::stack(planes);
}

} // namespace

Dataset make_synthetic(std::int64_t n, int channels, int height, int width, int classes,
                       std::uint64_t seed) {
  if (n < 1 || channels < 1 || height < 1 || width < 1 || classes < 1) {
    throw DataError("synthetic: bad shape " + std::to_string(n) + "x" + std::to_string(channels) +
                    "x" + std::to_string(height) + "x" + std::to_string(width) + " with " +
                    std::to_string(classes) + " classes");
  }
  auto gen = at::detail::createCPUGenerator(seed);
  std::vector<torch::Tensor> prototypes;
  for (int k = 0; k < classes; ++k) {
    prototypes.push_back(prototype(k, classes, channels, height, width, gen));
  }
  const auto table = torch::stack(prototypes);

  // Balanced classes in a seeded order.
  auto labels = torch::arange(n, torch::kInt64).remainder(classes);
  labels = labels.index_select(0, torch::randperm(n, gen, torch::kInt64));

  auto images = table.index_select(0, labels).to(torch::kFloat32);
  images.mul_(kContrast).add_(kBackground);
  images.add_(torch::randn({n, channels, height, width}, gen, torch::kFloat32).mul_(kNoiseStd));
  Dataset out;
  out.images = images.round_().clamp_(0, 255).to(torch::kUInt8);
  out.labels = labels;
  return out;
}

} // namespace hpcnas::data
