#pragma once
/// Plain binary packing of trivially copyable values, strings and genotypes, for the pool's
/// messages and the checkpoint's payload. Same machine word order on both ends (one cluster).

#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include "hpcnas/space/genotype.hpp"

namespace hpcnas::space {

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
  void put_genotype(const Genotype& g) {
    for (int v : g.encode())
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
  Genotype get_genotype() {
    std::vector<int> code(kEncodingLength);
    for (int& v : code)
      v = get<std::int32_t>();
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
