#pragma once
// For the fuzz targets of file readers: the input becomes files in a folder of this process's
// own (the readers take paths), rewritten for each input.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <utility>
#include <vector>

namespace fuzz {

/// This process's scratch folder, made once.
inline const std::string& scratch() {
  static const std::string folder = [] {
    char name[] = "/tmp/hpcnas-fuzz-XXXXXX";
    if (mkdtemp(name) == nullptr)
      std::abort();
    return std::string(name);
  }();
  return folder;
}

/// Writes `size` bytes to `scratch()/name` and returns the path.
inline std::string write_file(const std::string& name, const std::uint8_t* data, std::size_t size) {
  const std::string path = scratch() + "/" + name;
  std::FILE* file = std::fopen(path.c_str(), "wb");
  if (file == nullptr)
    std::abort();
  if (size > 0 && std::fwrite(data, 1, size, file) != size)
    std::abort();
  std::fclose(file);
  return path;
}

/// Cuts the input in two at a point given by its first two bytes (so that the fuzzer can move
/// the cut), for readers of two files.
inline std::pair<std::vector<std::uint8_t>, std::vector<std::uint8_t>>
split(const std::uint8_t* data, std::size_t size) {
  if (size < 2)
    return {{}, {}};
  const std::size_t rest = size - 2;
  const std::size_t cut = rest == 0 ? 0 : (std::size_t{data[0]} << 8 | data[1]) % (rest + 1);
  return {{data + 2, data + 2 + cut}, {data + 2 + cut, data + size}};
}

} // namespace fuzz
