#pragma once
/// The project's two hashes. splitmix64 derives seeds: neighbouring inputs give unrelated
/// outputs, so seeds derived from (run seed, epoch, index) never share a stream. FNV-1a
/// fingerprints bytes: checkpoint payloads and the options that define a run.

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace hpcnas::space {

/// splitmix64's output function: a bijective mix of 64 bits.
constexpr std::uint64_t mix64(std::uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

inline constexpr std::uint64_t kGoldenGamma = 0x9e3779b97f4a7c15ULL;

constexpr std::uint64_t splitmix64(std::uint64_t x) { return mix64(x + kGoldenGamma); }

inline constexpr std::uint64_t kFnvOffset = 0xcbf29ce484222325ULL;

/// FNV-1a (64-bit) of `bytes`, continuing from `hash` (so data can be hashed in pieces).
constexpr std::uint64_t fnv1a(std::string_view bytes, std::uint64_t hash = kFnvOffset) {
  for (const char c : bytes) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 0x100000001b3ULL;
  }
  return hash;
}

} // namespace hpcnas::space
