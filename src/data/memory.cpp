#include "memory.hpp"

#include <sys/mman.h>

namespace hpcnas::data::detail {
namespace {

constexpr std::size_t kHugePage = std::size_t{2} << 20;
constexpr std::size_t kMinBytes = std::size_t{8} << 20;

} // namespace

torch::Tensor empty_for_data(torch::IntArrayRef sizes, torch::ScalarType type) {
  std::size_t bytes = c10::elementSize(type);
  for (const auto s : sizes) {
    bytes *= static_cast<std::size_t>(s);
  }
  if (bytes < kMinBytes) {
    return torch::empty(sizes, type);
  }
  const std::size_t length = (bytes + kHugePage - 1) / kHugePage * kHugePage;
  void* memory = mmap(nullptr, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (memory == MAP_FAILED) {
    return torch::empty(sizes, type);
  }
#ifdef MADV_HUGEPAGE
  madvise(memory, length, MADV_HUGEPAGE);
#endif
  return torch::from_blob(
      memory, sizes, [length](void* p) { munmap(p, length); }, torch::TensorOptions(type));
}

} // namespace hpcnas::data::detail
