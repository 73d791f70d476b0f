#pragma once
/// splitmix64: the one seed-derivation hash of the project. Neighbouring inputs give unrelated
/// outputs, so seeds derived from (run seed, epoch, index) never share a stream.

#include <cstdint>

namespace hpcnas::space {

constexpr std::uint64_t splitmix64(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

} // namespace hpcnas::space
