// The CIFAR-10 binary batch reader, over two batch files: read or rejected with DataError; no
// crash, leak or hang, and every record's label 0-9.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "../../src/data/raw_readers.hpp"
#include "fuzz_files.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace hpcnas::data;
  const auto [first, second] = fuzz::split(data, size);
  const std::vector<std::string> batches = {
      fuzz::write_file("data_batch_1.bin", first.data(), first.size()),
      fuzz::write_file("data_batch_2.bin", second.data(), second.size())};
  std::vector<std::uint8_t> pixels;
  std::int64_t count = 0;
  try {
    const auto labels = detail::read_cifar10_raw(
        batches, [&](const detail::PixelShape& shape, const std::string&) {
          if (shape.channels != 3 || shape.height != 32 || shape.width != 32)
            __builtin_trap();
          count = shape.count;
          pixels.resize(static_cast<std::size_t>(shape.count * 3 * 32 * 32));
          return pixels.data();
        });
    if (static_cast<std::int64_t>(labels.size()) != count ||
        first.size() + second.size() != static_cast<std::size_t>(count) * 3073)
      __builtin_trap();
    for (std::uint8_t label : labels)
      if (label > 9)
        __builtin_trap();
  } catch (const DataError&) {
  }
  return 0;
}
