#pragma once
/// Plain binary packing of trivially copyable values, strings and genotypes, for the pool's
/// messages and the checkpoint's payload. Same machine word order on both ends (one cluster).

#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include "hpcnas/space/architecture.hpp"

namespace hpcnas::space {

/// Marks a recurrent cell in a byte stream; an image encoding starts with an input (0 or 1).
inline constexpr std::int32_t kRecurrentMark = -1;

class ByteWriter {
public:
  template <typename T> void put(const T& value) {
    static_assert(std::is_trivially_copyable_v<T>);
    const auto* p = reinterpret_cast<const char*>(&value);
    bytes_.insert(bytes_.end(), p, p + sizeof(T));
  }
  void put_bytes(const std::vector<char>& bytes) {
    put(static_cast<std::uint64_t>(bytes.size()));
    bytes_.insert(bytes_.end(), bytes.begin(), bytes.end());
  }
  void put_string(const std::string& s) { put_bytes({s.begin(), s.end()}); }
  /// An image genotype as its encoding (as hpcnas always wrote it); a recurrent cell as
  /// kRecurrentMark, its node count and its encoding. No image encoding starts with the mark.
  void put_architecture(const Architecture& a) {
    if (a.is_recurrent()) {
      put(kRecurrentMark);
      put(static_cast<std::int32_t>(a.recurrent().nodes.size()));
    }
    for (int v : a.encode())
      put(static_cast<std::int32_t>(v));
  }
  std::vector<char> take() { return std::move(bytes_); }

private:
  std::vector<char> bytes_;
};

/// Reads what a ByteWriter wrote; a short buffer throws std::runtime_error naming `what`.
class ByteReader {
public:
  ByteReader(const std::vector<char>& bytes, std::string what)
      : bytes_(bytes), what_(std::move(what)) {}
  template <typename T> T get() {
    static_assert(std::is_trivially_copyable_v<T>);
    need(sizeof(T));
    T value;
    std::memcpy(&value, bytes_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return value;
  }
  std::vector<char> get_bytes() {
    const auto n = get<std::uint64_t>();
    need(n);
    std::vector<char> out(bytes_.begin() + pos_, bytes_.begin() + pos_ + n);
    pos_ += n;
    return out;
  }
  std::string get_string() {
    const auto bytes = get_bytes();
    return {bytes.begin(), bytes.end()};
  }
  Architecture get_architecture() {
    const auto first = get<std::int32_t>();
    if (first == kRecurrentMark) {
      const auto nodes = get<std::int32_t>();
      if (nodes < 1 || nodes > kMaxRecurrentNodes)
        throw std::runtime_error(what_ + ": a recurrent cell of " + std::to_string(nodes) +
                                 " nodes");
      std::vector<int> code(static_cast<std::size_t>(2 * nodes));
      for (int& v : code)
        v = get<std::int32_t>();
      return RecurrentGenotype::decode(code);
    }
    std::vector<int> code(kEncodingLength);
    code[0] = first;
    for (std::size_t i = 1; i < code.size(); ++i)
      code[i] = get<std::int32_t>();
    return Genotype::decode(code);
  }
  bool at_end() const { return pos_ == bytes_.size(); }

private:
  void need(std::uint64_t n) const {
    if (n > bytes_.size() - pos_)
      throw std::runtime_error(what_ + ": truncated data");
  }
  const std::vector<char>& bytes_;
  std::string what_;
  std::size_t pos_ = 0;
};

} // namespace hpcnas::space
