#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <zlib.h>

#include "raw_readers.hpp"

namespace hpcnas::data::detail {
namespace {

namespace fs = std::filesystem;

constexpr std::uint32_t kIdxImagesMagic = 0x00000803;
constexpr std::uint32_t kIdxLabelsMagic = 0x00000801;
constexpr std::int64_t kCifarRecordBytes = 1 + 3 * 32 * 32;
constexpr int kNumClasses = 10;
constexpr std::size_t kReadChunk = std::size_t{1} << 30;
// No IDX file we read comes near this; a larger header means a corrupt file, not a big dataset.
constexpr std::uint64_t kMaxIdxBytes = std::uint64_t{1} << 40;

[[noreturn]] void fail(const std::string& path, const std::string& what) {
  throw DataError(path + ": " + what);
}

void require_regular_file(const std::string& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) {
    fail(path, "no such file");
  }
  if (!fs::is_regular_file(path, ec)) {
    fail(path, "not a regular file");
  }
}

std::string hex32(std::uint32_t value) {
  char text[16];
  std::snprintf(text, sizeof text, "0x%08x", value);
  return text;
}

// gzopen/gzread read gzipped and raw files alike, so the format is detected from the content.
class GzReader {
public:
  explicit GzReader(const std::string& path) : path_(path) {
    require_regular_file(path);
    file_ = gzopen(path.c_str(), "rb");
    if (file_ == nullptr) {
      fail(path, std::string("cannot open: ") + std::strerror(errno));
    }
    gzbuffer(file_, 1 << 20);
  }
  GzReader(const GzReader&) = delete;
  GzReader& operator=(const GzReader&) = delete;
  ~GzReader() { gzclose(file_); }

  // Reads up to n bytes into out; returns how many were read (fewer only at the end of file).
  std::size_t read(std::uint8_t* out, std::size_t n) {
    std::size_t got = 0;
    while (got < n) {
      const auto want = static_cast<unsigned>(std::min(n - got, kReadChunk));
      const int r = gzread(file_, out + got, want);
      if (r < 0) {
        int code = 0;
        fail(path_, std::string("read error: ") + gzerror(file_, &code));
      }
      if (r == 0) {
        break;
      }
      got += static_cast<std::size_t>(r);
    }
    return got;
  }

  std::uint32_t read_u32(const char* what) {
    std::uint8_t bytes[4];
    if (read(bytes, 4) != 4) {
      fail(path_, std::string("truncated: file ends inside the header (") + what + ")");
    }
    return (std::uint32_t{bytes[0]} << 24) | (std::uint32_t{bytes[1]} << 16) |
           (std::uint32_t{bytes[2]} << 8) | std::uint32_t{bytes[3]};
  }

private:
  std::string path_;
  gzFile file_ = nullptr;
};

void check_labels(const std::uint8_t* labels, std::size_t n, const std::string& path,
                  const char* record) {
  for (std::size_t i = 0; i < n; ++i) {
    if (labels[i] >= kNumClasses) {
      fail(path, "label " + std::to_string(labels[i]) + " at " + record + " " + std::to_string(i) +
                     " is out of range 0-" + std::to_string(kNumClasses - 1));
    }
  }
}

} // namespace

std::vector<std::uint8_t> read_idx_raw(const std::string& images_path,
                                       const std::string& labels_path,
                                       const PixelBuffer& pixels_for) {
  GzReader images_file(images_path);
  const auto images_magic = images_file.read_u32("magic");
  if (images_magic != kIdxImagesMagic) {
    fail(images_path, "not an IDX image file (magic " + hex32(images_magic) + ", expected " +
                          hex32(kIdxImagesMagic) + ")");
  }
  const std::uint64_t n = images_file.read_u32("image count");
  const std::uint64_t height = images_file.read_u32("height");
  const std::uint64_t width = images_file.read_u32("width");
  if (n == 0 || height == 0 || width == 0) {
    fail(images_path, "empty IDX image file (" + std::to_string(n) + " images of " +
                          std::to_string(height) + "x" + std::to_string(width) + ")");
  }
  if (height > 65536 || width > 65536 || n * height * width > kMaxIdxBytes) {
    fail(images_path, "implausible IDX dimensions " + std::to_string(n) + "x" +
                          std::to_string(height) + "x" + std::to_string(width));
  }

  GzReader labels_file(labels_path);
  const auto labels_magic = labels_file.read_u32("magic");
  if (labels_magic != kIdxLabelsMagic) {
    fail(labels_path, "not an IDX label file (magic " + hex32(labels_magic) + ", expected " +
                          hex32(kIdxLabelsMagic) + ")");
  }
  const std::uint64_t label_count = labels_file.read_u32("label count");
  if (label_count != n) {
    fail(labels_path, "holds " + std::to_string(label_count) + " labels but " + images_path +
                          " holds " + std::to_string(n) + " images");
  }

  // Read straight into the caller's memory: on a fresh process, touching memory is a large part
  // of the cost, so the pixels are written exactly once.
  const std::uint64_t pixel_bytes = n * height * width;
  std::uint8_t* pixels = pixels_for({static_cast<std::int64_t>(n), 1,
                                     static_cast<std::int64_t>(height),
                                     static_cast<std::int64_t>(width)},
                                    images_path);
  const auto got = images_file.read(pixels, pixel_bytes);
  if (got != pixel_bytes) {
    fail(images_path, "truncated: expected " + std::to_string(pixel_bytes) +
                          " bytes of pixels, got " + std::to_string(got));
  }
  std::vector<std::uint8_t> labels(n);
  const auto got_labels = labels_file.read(labels.data(), n);
  if (got_labels != n) {
    fail(labels_path, "truncated: expected " + std::to_string(n) + " bytes of labels, got " +
                          std::to_string(got_labels));
  }
  check_labels(labels.data(), n, labels_path, "index");
  return labels;
}

std::vector<std::uint8_t> read_cifar10_raw(const std::vector<std::string>& batch_paths,
                                           const PixelBuffer& pixels_for) {
  if (batch_paths.empty()) {
    throw DataError("CIFAR-10: no batch files given");
  }
  std::vector<std::uintmax_t> sizes;
  std::uintmax_t total = 0;
  for (const auto& path : batch_paths) {
    require_regular_file(path);
    std::error_code ec;
    const auto size = fs::file_size(path, ec);
    if (ec) {
      fail(path, "cannot read the size: " + ec.message());
    }
    if (size == 0 || size % kCifarRecordBytes != 0) {
      fail(path, "size " + std::to_string(size) + " bytes is not a positive multiple of " +
                     std::to_string(kCifarRecordBytes) +
                     " (one CIFAR-10 record: 1 label byte + 3072 pixel bytes)");
    }
    sizes.push_back(size);
    total += size;
  }

  const auto n = static_cast<std::int64_t>(total / kCifarRecordBytes);
  std::uint8_t* pixels = pixels_for({n, 3, 32, 32}, batch_paths.front());
  std::vector<std::uint8_t> labels(static_cast<std::size_t>(n));
  std::int64_t record = 0;
  for (std::size_t i = 0; i < batch_paths.size(); ++i) {
    const auto& path = batch_paths[i];
    std::ifstream in(path, std::ios::binary);
    if (!in) {
      fail(path, std::string("cannot open: ") + std::strerror(errno));
    }
    const auto records = static_cast<std::int64_t>(sizes[i] / kCifarRecordBytes);
    for (std::int64_t r = 0; r < records; ++r, ++record) {
      in.read(reinterpret_cast<char*>(&labels[record]), 1);
      in.read(reinterpret_cast<char*>(pixels + record * (kCifarRecordBytes - 1)),
              kCifarRecordBytes - 1);
      if (!in) {
        fail(path, "truncated: cannot read record " + std::to_string(r) + " of " +
                       std::to_string(records));
      }
    }
    check_labels(labels.data() + (record - records), static_cast<std::size_t>(records), path,
                 "record");
  }
  return labels;
}

} // namespace hpcnas::data::detail
