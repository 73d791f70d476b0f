#pragma once
/// Internal to the store part: RAII handles over HDF5 ids and the check helper that turns a
/// failed HDF5 call into a StoreError. Only src/store includes this header (and so hdf5.h).

#include <hdf5.h>

#include <string>
#include <string_view>
#include <utility>

#include "hpcnas/store/run_file.hpp"

namespace hpcnas::store::hdf5 {

/// Owns one HDF5 id and closes it with `Close` (H5Fclose, H5Dclose, ...). Move-only.
template <herr_t (*Close)(hid_t)> class Handle {
public:
  Handle() = default;
  explicit Handle(hid_t id) : id_(id) {}
  Handle(Handle&& other) noexcept : id_(std::exchange(other.id_, H5I_INVALID_HID)) {}
  Handle& operator=(Handle&& other) noexcept {
    if (this != &other) {
      reset();
      id_ = std::exchange(other.id_, H5I_INVALID_HID);
    }
    return *this;
  }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  ~Handle() { reset(); }

  hid_t get() const { return id_; }
  bool valid() const { return id_ >= 0; }
  /// Closes the id now and returns what the close returned (negative: it failed): a file's
  /// last writes happen when it closes, so a writer checks this on a full disk.
  herr_t close() noexcept {
    const herr_t status = id_ >= 0 ? Close(id_) : 0;
    id_ = H5I_INVALID_HID;
    return status;
  }
  /// Closes the id now; errors are ignored (this also runs in destructors).
  void reset() noexcept {
    if (id_ >= 0) {
      Close(id_);
    }
    id_ = H5I_INVALID_HID;
  }

private:
  hid_t id_ = H5I_INVALID_HID;
};

using File = Handle<H5Fclose>;
using Group = Handle<H5Gclose>;
using Dataset = Handle<H5Dclose>;
using Dataspace = Handle<H5Sclose>;
using Datatype = Handle<H5Tclose>;
using PropertyList = Handle<H5Pclose>;
using Attribute = Handle<H5Aclose>;

/// Turns off HDF5's printing of its error stack to stderr, once per thread (the library keeps
/// that setting per thread in thread-safe builds). Every entry point of the store calls it.
void silence_errors();

/// Throws StoreError "run file '<file>', <object>: <operation> failed: <innermost HDF5
/// message>" and clears the HDF5 error stack.
[[noreturn]] void throw_error(std::string_view operation, std::string_view file,
                              std::string_view object);

/// Returns `value` (an id, herr_t or htri_t) unless it is negative, which throws.
template <typename T>
T check(T value, std::string_view operation, std::string_view file, std::string_view object) {
  if (value < 0) {
    throw_error(operation, file, object);
  }
  return value;
}

/// A variable-length UTF-8 C string type, as h5py writes `str`.
Datatype utf8_string_type(std::string_view file);

/// Writes a scalar attribute on `location` (an open file, group or dataset).
void write_string_attribute(hid_t location, const std::string& name, const std::string& value,
                            std::string_view file);
void write_int_attribute(hid_t location, const std::string& name, int value, std::string_view file);
void write_double_attribute(hid_t location, const std::string& name, double value,
                            std::string_view file);

/// Reads a string attribute (variable or fixed length); throws StoreError when it is missing.
std::string read_string_attribute(hid_t location, const std::string& name, std::string_view file);
/// Reads an integer attribute; throws StoreError when it is missing.
int read_int_attribute(hid_t location, const std::string& name, std::string_view file);

/// Reads a floating-point attribute; throws StoreError when it is missing.
double read_double_attribute(hid_t location, const std::string& name, std::string_view file);

/// File access without HDF5's file locking, for writers and readers alike: a writer flushes
/// after every row, and h5py, h5dump and hpcnas itself must read a file a run holds open.
PropertyList unlocked_file_access(std::string_view file);

} // namespace hpcnas::store::hdf5
