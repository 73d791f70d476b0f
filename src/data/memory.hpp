#pragma once
// Private to the data part: allocation of the large dataset tensors.

#include <torch/torch.h>

namespace hpcnas::data::detail {

/// An uninitialised contiguous tensor whose memory is advised to use transparent huge pages
/// when it is large. The whole dataset is written once right after loading, and on some
/// virtual machines the page faults of that first touch cost more than the work itself.
/// Falls back to torch::empty for small tensors or when mmap fails.
torch::Tensor empty_for_data(torch::IntArrayRef sizes, torch::ScalarType type);

} // namespace hpcnas::data::detail
