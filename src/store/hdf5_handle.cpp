#include "hdf5_handle.hpp"

namespace hpcnas::store::hdf5 {

namespace {

// At exit HDF5 closes every file still open. A damaged file whose H5Fclose failed stays open,
// and closing it a second time crashes inside HDF5 (found by the run-file fuzz target: `--resume`
// of such a file printed its error, then died of SIGSEGV instead of exiting 2). Every file here
// is closed by its owner and flushed after each row, so that exit handler is turned off, before
// any other HDF5 call (it only takes effect then).
[[maybe_unused]] const herr_t kNoExitHandler = H5dont_atexit();

} // namespace

void silence_errors() {
  thread_local const bool silenced = [] {
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
    return true;
  }();
  (void)silenced;
}

namespace {

// Walked upward the first entry is the innermost, usually the most specific (errno text,
// "file signature not found", ...).
herr_t take_innermost(unsigned n, const H5E_error2_t* error, void* data) {
  auto* message = static_cast<std::string*>(data);
  if (n == 0 && error->desc != nullptr) {
    *message = error->desc;
  }
  return 0;
}

} // namespace

void throw_error(std::string_view operation, std::string_view file, std::string_view object) {
  std::string detail;
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, take_innermost, &detail);
  H5Eclear2(H5E_DEFAULT);
  std::string message = "run file '" + std::string(file) + "'";
  if (!object.empty()) {
    message += ", " + std::string(object);
  }
  message += ": " + std::string(operation) + " failed";
  if (!detail.empty()) {
    message += ": " + detail;
  }
  throw StoreError(message);
}

Datatype utf8_string_type(std::string_view file) {
  Datatype type(check(H5Tcopy(H5T_C_S1), "H5Tcopy", file, "string type"));
  check(H5Tset_size(type.get(), H5T_VARIABLE), "H5Tset_size", file, "string type");
  check(H5Tset_cset(type.get(), H5T_CSET_UTF8), "H5Tset_cset", file, "string type");
  return type;
}

namespace {

void write_scalar_attribute(hid_t location, const std::string& name, hid_t file_type,
                            hid_t memory_type, const void* value, std::string_view file) {
  const std::string object = "attribute '" + name + "'";
  // Replaces an attribute of the same name (a resumed run writes its results again).
  if (check(H5Aexists(location, name.c_str()), "H5Aexists", file, object) > 0)
    check(H5Adelete(location, name.c_str()), "H5Adelete", file, object);
  Dataspace space(check(H5Screate(H5S_SCALAR), "H5Screate", file, object));
  Attribute attribute(
      check(H5Acreate2(location, name.c_str(), file_type, space.get(), H5P_DEFAULT, H5P_DEFAULT),
            "H5Acreate2", file, object));
  check(H5Awrite(attribute.get(), memory_type, value), "H5Awrite", file, object);
}

} // namespace

void write_string_attribute(hid_t location, const std::string& name, const std::string& value,
                            std::string_view file) {
  const Datatype type = utf8_string_type(file);
  const char* text = value.c_str();
  write_scalar_attribute(location, name, type.get(), type.get(), &text, file);
}

void write_int_attribute(hid_t location, const std::string& name, int value,
                         std::string_view file) {
  write_scalar_attribute(location, name, H5T_STD_I32LE, H5T_NATIVE_INT, &value, file);
}

void write_double_attribute(hid_t location, const std::string& name, double value,
                            std::string_view file) {
  write_scalar_attribute(location, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, &value, file);
}

std::string read_string_attribute(hid_t location, const std::string& name, std::string_view file) {
  const std::string path(file);
  const std::string object = "attribute '" + name + "' of /";
  const htri_t exists = check(H5Aexists(location, name.c_str()), "H5Aexists", path, object);
  if (exists == 0) {
    throw StoreError("run file '" + path + "' has no " + object);
  }
  const Attribute attribute(
      check(H5Aopen(location, name.c_str(), H5P_DEFAULT), "H5Aopen", path, object));
  const Datatype type(check(H5Aget_type(attribute.get()), "H5Aget_type", path, object));
  if (H5Tget_class(type.get()) != H5T_STRING) {
    throw StoreError("run file '" + path + "', " + object + " is not a string");
  }

  if (check(H5Tis_variable_str(type.get()), "H5Tis_variable_str", path, object) > 0) {
    const Datatype memory = utf8_string_type(path);
    char* text = nullptr;
    check(H5Aread(attribute.get(), memory.get(), &text), "H5Aread", path, object);
    std::string value = text != nullptr ? text : "";
    const Dataspace space(check(H5Screate(H5S_SCALAR), "H5Screate", path, object));
    H5Dvlen_reclaim(memory.get(), space.get(), H5P_DEFAULT, &text);
    return value;
  }

  // Fixed-length strings, as other tools may write them.
  const std::size_t size = H5Tget_size(type.get());
  std::string value(size, '\0');
  check(H5Aread(attribute.get(), type.get(), value.data()), "H5Aread", path, object);
  value.resize(value.find_last_not_of('\0') + 1);
  return value;
}

namespace {

/// Reads the scalar attribute `name` of `location` as `memory_type` into `value`.
void read_scalar_attribute(hid_t location, const std::string& name, hid_t memory_type, void* value,
                           std::string_view file) {
  const std::string path(file);
  const std::string object = "attribute '" + name + "'";
  if (check(H5Aexists(location, name.c_str()), "H5Aexists", path, object) == 0)
    throw StoreError("'" + path + "' has no " + object);
  const Attribute attribute(
      check(H5Aopen(location, name.c_str(), H5P_DEFAULT), "H5Aopen", path, object));
  check(H5Aread(attribute.get(), memory_type, value), "H5Aread", path, object);
}

} // namespace

int read_int_attribute(hid_t location, const std::string& name, std::string_view file) {
  int value = 0;
  read_scalar_attribute(location, name, H5T_NATIVE_INT, &value, file);
  return value;
}

double read_double_attribute(hid_t location, const std::string& name, std::string_view file) {
  double value = 0;
  read_scalar_attribute(location, name, H5T_NATIVE_DOUBLE, &value, file);
  return value;
}

PropertyList unlocked_file_access(std::string_view file) {
  PropertyList fapl(check(H5Pcreate(H5P_FILE_ACCESS), "H5Pcreate", file, "file access"));
#if H5_VERSION_GE(1, 10, 7)
  check(H5Pset_file_locking(fapl.get(), false, true), "H5Pset_file_locking", file, "/");
#endif
  return fapl;
}

} // namespace hpcnas::store::hdf5
