#pragma once
/// Per-image randomness of the final training, drawn from hashes instead of a generator: the
/// crop offset, flip and cutout square of an image and its drop-path masks depend only on the
/// image's key (seed, epoch, step, position in the global batch), never on which rank or
/// micro-batch processes it. So the data-parallel step is the same at any number of ranks.

#include <cstdint>
#include <vector>

#include <torch/torch.h>

namespace hpcnas::retrain {

/// Key of the image at `position` of global batch `step` of `epoch`.
std::uint64_t image_key(std::uint64_t seed, int epoch, std::int64_t step, std::int64_t position);

/// The augmentations of DARTS's training pipeline, in its order: random crop of the image
/// padded with black, horizontal flip, then cutout (a square set to 0 after normalisation, its
/// centre anywhere in the image, clipped at the border).
struct AugmentOptions {
  int crop_padding = 0; ///< 0: no crop
  bool flip = false;
  int cutout = 0;           ///< side of the square; 0: no cutout
  std::vector<float> black; ///< per channel, the normalised value of a 0 pixel
};

/// Augmented copies of `images` (float32 [n, C, H, W], contiguous, normalised), image i drawn
/// from keys[i].
torch::Tensor augment(const torch::Tensor& images, const std::vector<std::uint64_t>& keys,
                      const AugmentOptions& options);

/// Drop-path factors [cells, edges, n] for the images of `keys`: 0 with probability `drop`,
/// else 1 / (1 - drop). Undefined when drop is 0.
torch::Tensor drop_path_keep(const std::vector<std::uint64_t>& keys, int cells, int edges,
                             double drop);

} // namespace hpcnas::retrain
