// The IDX reader (MNIST, Fashion-MNIST; raw or gzipped) through the same code the datasets use:
// any pair of files is read or rejected with DataError; no crash, leak or hang, and pixels and
// labels come back only as the headers describe them.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "../../src/data/raw_readers.hpp"
#include "fuzz_files.hpp"

namespace {
// Larger claims are refused as an allocation failure would be: hpcnas names the file then too.
constexpr std::int64_t kMaxPixelBytes = std::int64_t{1} << 24;
} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace hpcnas::data;
  const auto [image_bytes, label_bytes] = fuzz::split(data, size);
  const auto images = fuzz::write_file("images-idx3-ubyte", image_bytes.data(), image_bytes.size());
  const auto labels = fuzz::write_file("labels-idx1-ubyte", label_bytes.data(), label_bytes.size());
  std::vector<std::uint8_t> pixels;
  detail::PixelShape shape;
  try {
    const auto read = detail::read_idx_raw(
        images, labels, [&](const detail::PixelShape& claimed, const std::string& path) {
          const std::int64_t bytes = claimed.count * claimed.channels * claimed.height *
                                     claimed.width;
          if (bytes <= 0 || bytes > kMaxPixelBytes)
            throw DataError(path + ": cannot allocate");
          shape = claimed;
          pixels.resize(static_cast<std::size_t>(bytes));
          return pixels.data();
        });
    if (static_cast<std::int64_t>(read.size()) != shape.count || shape.channels != 1)
      __builtin_trap();
    for (std::uint8_t label : read)
      if (label > 9)
        __builtin_trap();
  } catch (const DataError&) {
  }
  return 0;
}
