// The dataset files as tensors: the raw readers fill a tensor's memory directly.
#include "hpcnas/data/dataset.hpp"
#include "memory.hpp"
#include "raw_readers.hpp"

namespace hpcnas::data {
namespace {

/// A PixelBuffer backed by an uninitialised uint8 tensor, kept in `images`.
detail::PixelBuffer into(torch::Tensor& images) {
  return [&images](const detail::PixelShape& shape, const std::string& path) {
    try {
      images = detail::empty_for_data({shape.count, shape.channels, shape.height, shape.width},
                                      torch::kUInt8);
    } catch (const c10::Error&) {
      throw DataError(path + ": cannot allocate the " +
                      std::to_string(shape.count * shape.channels * shape.height * shape.width) +
                      " bytes of pixels that the header claims");
    }
    return images.data_ptr<std::uint8_t>();
  };
}

Dataset with_labels(torch::Tensor images, std::vector<std::uint8_t> labels) {
  Dataset out;
  out.images = std::move(images);
  out.labels =
      torch::from_blob(labels.data(), {static_cast<std::int64_t>(labels.size())}, torch::kUInt8)
          .to(torch::kInt64);
  return out;
}

} // namespace

Dataset read_idx(const std::string& images_path, const std::string& labels_path) {
  torch::Tensor images;
  auto labels = detail::read_idx_raw(images_path, labels_path, into(images));
  return with_labels(std::move(images), std::move(labels));
}

Dataset read_cifar10(const std::vector<std::string>& batch_paths) {
  torch::Tensor images;
  auto labels = detail::read_cifar10_raw(batch_paths, into(images));
  return with_labels(std::move(images), std::move(labels));
}

} // namespace hpcnas::data
