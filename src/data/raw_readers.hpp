#pragma once
// Private to the data part: the file formats, torch-free, so that they can be fuzzed alone. The
// readers check the headers first, then ask the caller for the pixels' memory (once) and fill it.

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "hpcnas/data/data_error.hpp"

namespace hpcnas::data::detail {

/// Images as the headers describe them: count x channels x height x width bytes.
struct PixelShape {
  std::int64_t count = 0;
  std::int64_t channels = 0;
  std::int64_t height = 0;
  std::int64_t width = 0;
};

/// Memory for the pixels of `shape`, read from `path` (named when it cannot be had).
using PixelBuffer = std::function<std::uint8_t*(const PixelShape& shape, const std::string& path)>;

/// An IDX image file and its label file, raw or gzipped: pixels into the buffer, labels (each
/// 0-9) returned. Throws DataError "<path>: <what>".
std::vector<std::uint8_t> read_idx_raw(const std::string& images_path,
                                       const std::string& labels_path,
                                       const PixelBuffer& pixels_for);

/// CIFAR-10 binary batches (records of 1 label byte + 3072 pixel bytes), as read_idx_raw.
std::vector<std::uint8_t> read_cifar10_raw(const std::vector<std::string>& batch_paths,
                                           const PixelBuffer& pixels_for);

} // namespace hpcnas::data::detail
