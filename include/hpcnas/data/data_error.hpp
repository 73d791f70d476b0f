#pragma once
/// The one error of the data part, apart from dataset.hpp so that torch-free code (the raw
/// readers, their fuzz targets) can throw and catch it.

#include <stdexcept>

namespace hpcnas::data {

/// A missing, truncated or malformed data file; the message names the file.
class DataError : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

} // namespace hpcnas::data
