#include "hpcnas/store/run_file.hpp"

#include <algorithm>
#include <array>
#include <filesystem>
#include <limits>
#include <system_error>

#include "hdf5_handle.hpp"
#include "hpcnas/store/checkpoint.hpp"
#include "root_attributes.hpp"
#include "table.hpp"

namespace hpcnas::store {

namespace {

using hdf5::check;

constexpr const char* kEvaluations = "evaluations";
constexpr const char* kController = "controller";

/// Opens an existing file with `flags` (H5F_ACC_RDONLY or H5F_ACC_RDWR) without file locking.
hdf5::File open_existing(const std::string& path, unsigned flags) {
  hdf5::silence_errors();
  std::error_code ec;
  if (!std::filesystem::exists(path, ec))
    throw StoreError("run file '" + path + "' does not exist");
  const hdf5::PropertyList fapl = hdf5::unlocked_file_access(path);
  return hdf5::File(check(H5Fopen(path.c_str(), flags, fapl.get()), "H5Fopen", path, "/"));
}

} // namespace

hdf5::File open_read_only(const std::string& path) {
  return open_existing(path, H5F_ACC_RDONLY);
}

hdf5::File open_for_append(const std::string& path) {
  hdf5::File file = open_existing(path, H5F_ACC_RDWR);
  if (H5Aexists(file.get(), "schema_version") <= 0)
    throw StoreError("'" + path + "' is not an hpcnas run file (no schema_version attribute)");
  const int version = hdf5::read_int_attribute(file.get(), "schema_version", path);
  if (version != kSchemaVersion)
    throw StoreError("run file '" + path + "' has schema version " + std::to_string(version) +
                     ", this hpcnas reads version " + std::to_string(kSchemaVersion));
  return file;
}

void write_root_attributes(hid_t root, const RunAttributes& attrs, const std::string& path) {
  hdf5::write_int_attribute(root, "schema_version", kSchemaVersion, path);
  hdf5::write_string_attribute(root, "hpcnas_version", HPCNAS_VERSION, path);
  hdf5::write_string_attribute(root, "command_line", attrs.command_line, path);
  hdf5::write_int_attribute(root, "ranks", attrs.ranks, path);
  hdf5::write_int_attribute(root, "nodes", attrs.nodes, path);
  for (const auto& [name, value] : attrs.config)
    hdf5::write_string_attribute(root, "config." + name, value, path);
}

struct RunFile::Impl {
  std::string path;
  // Declared first, so closed last.
  hdf5::File file;
  TableWriter evaluations;
  TableWriter controller;

  void flush() { check(H5Fflush(file.get(), H5F_SCOPE_GLOBAL), "H5Fflush", path, "/"); }
};

RunFile::RunFile(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
RunFile::RunFile(RunFile&&) noexcept = default;
RunFile& RunFile::operator=(RunFile&&) noexcept = default;
RunFile::~RunFile() = default;

RunFile RunFile::create(const std::string& path, bool overwrite, const RunAttributes& attrs) {
  hdf5::silence_errors();
  std::error_code ec;
  if (!overwrite && std::filesystem::exists(path, ec)) {
    throw StoreError("refusing to overwrite existing run file '" + path + "' (pass --overwrite)");
  }

  auto impl = std::make_unique<Impl>();
  impl->path = path;
  const hdf5::PropertyList fapl = hdf5::unlocked_file_access(path);
  // Default (earliest) file format on purpose: a writer killed while using the latest format
  // leaves a file that needs h5clear before it can be opened again.
  impl->file = hdf5::File(check(
      H5Fcreate(path.c_str(), overwrite ? H5F_ACC_TRUNC : H5F_ACC_EXCL, H5P_DEFAULT, fapl.get()),
      "H5Fcreate", path, "/"));
  try {
    const hid_t root = impl->file.get();
    write_root_attributes(root, attrs, path);

    impl->evaluations = TableWriter(root, path, kEvaluations, record_columns<EvaluationRow>());
    impl->controller =
        TableWriter(root, path, kController, record_columns<search::ControllerUpdate>());
    check(H5Fflush(root, H5F_SCOPE_GLOBAL), "H5Fflush", path, "/");
    remove_checkpoints(path);
  } catch (...) {
    // A half-written run file would only make the retry need --overwrite.
    impl.reset();
    std::filesystem::remove(path, ec);
    throw;
  }
  return RunFile(std::move(impl));
}

RunFile RunFile::open_append(const std::string& path) {
  auto impl = std::make_unique<Impl>();
  impl->path = path;
  impl->file = open_for_append(path);
  const hid_t root = impl->file.get();
  impl->evaluations = TableWriter::open(root, path, kEvaluations, record_columns<EvaluationRow>());
  impl->controller =
      TableWriter::open(root, path, kController, record_columns<search::ControllerUpdate>());
  impl->flush();
  return RunFile(std::move(impl));
}

std::int64_t RunFile::controller_rows() const { return impl_->controller.rows(); }

void RunFile::append(const train::EvalResult& result, const train::ControllerTiming& timing) {
  append_record(impl_->evaluations, EvaluationRow{result, timing});
  impl_->flush();
}

void RunFile::append_controller(const search::ControllerUpdate& update) {
  append_record(impl_->controller, update);
  impl_->flush();
}

std::int64_t RunFile::rows() const { return impl_->evaluations.rows(); }

const std::string& RunFile::path() const { return impl_->path; }

std::vector<EvaluationRow> read_evaluations(const std::string& path) {
  const hdf5::File file = open_read_only(path);
  return read_records<EvaluationRow>(
      TableReader(file.get(), path, kEvaluations, record_columns<EvaluationRow>()));
}

std::vector<search::ControllerUpdate> read_controller(const std::string& path) {
  const hdf5::File file = open_read_only(path);
  return read_records<search::ControllerUpdate>(
      TableReader(file.get(), path, kController, record_columns<search::ControllerUpdate>()));
}

std::vector<std::pair<std::string, std::string>> read_config(const std::string& path) {
  const hdf5::File file = open_read_only(path);
  std::vector<std::string> names;
  auto collect = [](hid_t, const char* name, const H5A_info_t*, void* data) -> herr_t {
    static_cast<std::vector<std::string>*>(data)->emplace_back(name);
    return 0;
  };
  hsize_t index = 0;
  check(H5Aiterate2(file.get(), H5_INDEX_NAME, H5_ITER_INC, &index, collect, &names), "H5Aiterate2",
        path, "/");
  const std::string prefix = "config.";
  std::vector<std::pair<std::string, std::string>> config;
  for (const auto& name : names)
    if (name.compare(0, prefix.size(), prefix) == 0)
      config.emplace_back(name.substr(prefix.size()),
                          hdf5::read_string_attribute(file.get(), name, path));
  return config;
}

std::string read_root_attribute(const std::string& path, const std::string& name) {
  const hdf5::File file = open_read_only(path);
  return hdf5::read_string_attribute(file.get(), name, path);
}

bool has_root_attribute(const std::string& path, const std::string& name) {
  const hdf5::File file = open_read_only(path);
  return check(H5Aexists(file.get(), name.c_str()), "H5Aexists", path, "/") > 0;
}

int read_root_int_attribute(const std::string& path, const std::string& name) {
  const hdf5::File file = open_read_only(path);
  return hdf5::read_int_attribute(file.get(), name, path);
}

} // namespace hpcnas::store
