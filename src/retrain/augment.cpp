#include "augment.hpp"

#include <algorithm>

#include "hpcnas/space/hash.hpp"

namespace hpcnas::retrain {

namespace {

using space::splitmix64;

/// Draw k of a key: a uniform double in [0, 1).
double uniform(std::uint64_t key, std::uint64_t k) {
  return static_cast<double>(splitmix64(key + k) >> 11) * 0x1.0p-53;
}

/// Draw k of a key: a uniform integer in [0, n).
std::int64_t below(std::uint64_t key, std::uint64_t k, std::int64_t n) {
  return std::min<std::int64_t>(n - 1, static_cast<std::int64_t>(uniform(key, k) * n));
}

// The first draws of a key serve the augmentation, the drop-path masks follow.
enum Draw : std::uint64_t { kCropY, kCropX, kFlip, kCutoutY, kCutoutX, kDropPath };

} // namespace

std::uint64_t image_key(std::uint64_t seed, int epoch, std::int64_t step, std::int64_t position) {
  const std::uint64_t epoch_key = splitmix64(seed ^ splitmix64(static_cast<std::uint64_t>(epoch)));
  const std::uint64_t step_key =
      splitmix64(epoch_key ^ splitmix64(static_cast<std::uint64_t>(step)));
  return splitmix64(step_key ^ splitmix64(static_cast<std::uint64_t>(position) + 1));
}

torch::Tensor augment(const torch::Tensor& images, const std::vector<std::uint64_t>& keys,
                      const AugmentOptions& options) {
  TORCH_CHECK(images.dim() == 4 && images.is_contiguous() &&
                  images.scalar_type() == torch::kFloat32 && images.device().is_cpu(),
              "augment: expected contiguous float32 [n, C, H, W] images on the CPU");
  const auto n = images.size(0);
  const auto channels = images.size(1);
  const auto h = images.size(2);
  const auto w = images.size(3);
  TORCH_CHECK(static_cast<std::int64_t>(keys.size()) == n, "augment: one key per image");
  auto out = torch::empty_like(images);
  const float* in = images.data_ptr<float>();
  float* o = out.data_ptr<float>();
  const std::int64_t pad = options.crop_padding;
  for (std::int64_t i = 0; i < n; ++i) {
    const auto key = keys[static_cast<std::size_t>(i)];
    // Offset of the crop in the padded image, minus the padding: the source of output (y, x).
    const std::int64_t dy = pad > 0 ? below(key, kCropY, 2 * pad + 1) - pad : 0;
    const std::int64_t dx = pad > 0 ? below(key, kCropX, 2 * pad + 1) - pad : 0;
    const bool flip = options.flip && uniform(key, kFlip) < 0.5;
    std::int64_t y1 = 0, y2 = 0, x1 = 0, x2 = 0;
    if (options.cutout > 0) {
      const std::int64_t cy = below(key, kCutoutY, h);
      const std::int64_t cx = below(key, kCutoutX, w);
      const std::int64_t half = options.cutout / 2;
      y1 = std::clamp<std::int64_t>(cy - half, 0, h);
      y2 = std::clamp<std::int64_t>(cy + half, 0, h);
      x1 = std::clamp<std::int64_t>(cx - half, 0, w);
      x2 = std::clamp<std::int64_t>(cx + half, 0, w);
    }
    for (std::int64_t c = 0; c < channels; ++c) {
      const float* plane = in + (i * channels + c) * h * w;
      float* target = o + (i * channels + c) * h * w;
      const float black = options.black.empty() ? 0.0f : options.black[static_cast<std::size_t>(c)];
      for (std::int64_t y = 0; y < h; ++y) {
        const std::int64_t sy = y + dy;
        for (std::int64_t x = 0; x < w; ++x) {
          const std::int64_t sx = (flip ? w - 1 - x : x) + dx;
          float value = sy >= 0 && sy < h && sx >= 0 && sx < w ? plane[sy * w + sx] : black;
          if (y >= y1 && y < y2 && x >= x1 && x < x2) {
            value = 0.0f;
          }
          target[y * w + x] = value;
        }
      }
    }
  }
  return out;
}

torch::Tensor drop_path_keep(const std::vector<std::uint64_t>& keys, int cells, int edges,
                             double drop) {
  if (drop <= 0) {
    return {};
  }
  const auto n = static_cast<std::int64_t>(keys.size());
  auto keep = torch::empty({cells, edges, n}, torch::kFloat32);
  float* k = keep.data_ptr<float>();
  const float scale = static_cast<float>(1.0 / (1.0 - drop));
  for (int c = 0; c < cells; ++c) {
    for (int e = 0; e < edges; ++e) {
      for (std::int64_t i = 0; i < n; ++i) {
        const auto draw = kDropPath + static_cast<std::uint64_t>(c * edges + e);
        k[(c * edges + e) * n + i] =
            uniform(keys[static_cast<std::size_t>(i)], draw) < drop ? 0.0f : scale;
      }
    }
  }
  return keep;
}

} // namespace hpcnas::retrain
