#include "hpcnas/store/run_file.hpp"

#include <algorithm>
#include <array>
#include <filesystem>
#include <limits>
#include <system_error>

#include "hpcnas/store/hdf5_handle.hpp"
#include "hpcnas/store/table.hpp"

namespace hpcnas::store {

namespace {

using hdf5::check;
using K = ColumnKind;

// The order is the order of the cells built in RunFile::append and read in read_evaluations.
const std::vector<ColumnSpec> kEvaluationColumns{
    {"id", K::kInt64},           {"genotype", K::kString},
    {"reward", K::kFloat64},     {"val_accuracy", K::kFloat64},
    {"params", K::kInt64},       {"flops", K::kInt64},
    {"latency_ms", K::kFloat64}, {"train_seconds", K::kFloat64},
    {"rank", K::kInt32},         {"status", K::kString},
    {"message", K::kString},     {"started", K::kFloat64},
    {"finished", K::kFloat64},
};
const std::vector<ColumnSpec> kControllerColumns{
    {"update", K::kInt64},    {"mean_reward", K::kFloat64}, {"baseline", K::kFloat64},
    {"entropy", K::kFloat64}, {"loss", K::kFloat64},        {"grad_norm", K::kFloat64},
};
constexpr const char* kEvaluations = "evaluations";
constexpr const char* kController = "controller";

// File locking is off for writer and readers alike: the writer flushes after every row, and
// h5py, h5dump and `hpcnas report` must read the file while a run holds it open.
hdf5::PropertyList file_access(const std::string& path) {
  hdf5::PropertyList fapl(check(H5Pcreate(H5P_FILE_ACCESS), "H5Pcreate", path, "file access"));
#if H5_VERSION_GE(1, 10, 7)
  check(H5Pset_file_locking(fapl.get(), false, true), "H5Pset_file_locking", path, "/");
#endif
  return fapl;
}

hdf5::File open_read_only(const std::string& path) {
  hdf5::silence_errors();
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    throw StoreError("run file '" + path + "' does not exist");
  }
  const hdf5::PropertyList fapl = file_access(path);
  return hdf5::File(check(H5Fopen(path.c_str(), H5F_ACC_RDONLY, fapl.get()), "H5Fopen", path, "/"));
}

} // namespace

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
  const hdf5::PropertyList fapl = file_access(path);
  // Default (earliest) file format on purpose: a writer killed while using the latest format
  // leaves a file that needs h5clear before it can be opened again.
  impl->file = hdf5::File(check(
      H5Fcreate(path.c_str(), overwrite ? H5F_ACC_TRUNC : H5F_ACC_EXCL, H5P_DEFAULT, fapl.get()),
      "H5Fcreate", path, "/"));
  try {
    const hid_t root = impl->file.get();
    hdf5::write_int_attribute(root, "schema_version", kSchemaVersion, path);
    hdf5::write_string_attribute(root, "hpcnas_version", HPCNAS_VERSION, path);
    hdf5::write_string_attribute(root, "command_line", attrs.command_line, path);
    for (const auto& [name, value] : attrs.config) {
      hdf5::write_string_attribute(root, "config." + name, value, path);
    }

    impl->evaluations = TableWriter(root, path, kEvaluations, kEvaluationColumns);
    impl->controller = TableWriter(root, path, kController, kControllerColumns);
    check(H5Fflush(root, H5F_SCOPE_GLOBAL), "H5Fflush", path, "/");
  } catch (...) {
    // A half-written run file would only make the retry need --overwrite.
    impl.reset();
    std::filesystem::remove(path, ec);
    throw;
  }
  return RunFile(std::move(impl));
}

void RunFile::append(const train::EvalResult& result) {
  const std::string genotype = result.genotype.to_string();
  const char* genotype_text = genotype.c_str();
  const char* status_text = train::status_name(result.status);
  const char* message_text = result.message.c_str();
  impl_->evaluations.append({
      &result.id,
      &genotype_text,
      &result.reward,
      &result.val_accuracy,
      &result.params,
      &result.flops,
      &result.latency_ms,
      &result.train_seconds,
      &result.rank,
      &status_text,
      &message_text,
      &result.started,
      &result.finished,
  });
  impl_->flush();
}

void RunFile::append_controller(const search::ControllerUpdate& u) {
  impl_->controller.append(
      {&u.update, &u.mean_reward, &u.baseline, &u.entropy, &u.loss, &u.grad_norm});
  impl_->flush();
}

std::int64_t RunFile::rows() const { return impl_->evaluations.rows(); }

const std::string& RunFile::path() const { return impl_->path; }

EvaluationTable read_evaluations(const std::string& path) {
  const hdf5::File file = open_read_only(path);
  const TableReader reader(file.get(), path, kEvaluations, kEvaluationColumns);
  EvaluationTable t;
  reader.read(0, t.id);
  reader.read(1, t.genotype);
  reader.read(2, t.reward);
  reader.read(3, t.val_accuracy);
  reader.read(4, t.params);
  reader.read(5, t.flops);
  reader.read(6, t.latency_ms);
  reader.read(7, t.train_seconds);
  reader.read(8, t.rank);
  reader.read(9, t.status);
  reader.read(10, t.message);
  reader.read(11, t.started);
  reader.read(12, t.finished);
  return t;
}

ControllerTable read_controller(const std::string& path) {
  const hdf5::File file = open_read_only(path);
  const TableReader reader(file.get(), path, kController, kControllerColumns);
  ControllerTable t;
  reader.read(0, t.update);
  reader.read(1, t.mean_reward);
  reader.read(2, t.baseline);
  reader.read(3, t.entropy);
  reader.read(4, t.loss);
  reader.read(5, t.grad_norm);
  return t;
}

std::string read_root_attribute(const std::string& path, const std::string& name) {
  const hdf5::File file = open_read_only(path);
  const std::string object = "attribute '" + name + "' of /";
  const htri_t exists = check(H5Aexists(file.get(), name.c_str()), "H5Aexists", path, object);
  if (exists == 0) {
    throw StoreError("run file '" + path + "' has no " + object);
  }
  const hdf5::Attribute attribute(
      check(H5Aopen(file.get(), name.c_str(), H5P_DEFAULT), "H5Aopen", path, object));
  const hdf5::Datatype type(check(H5Aget_type(attribute.get()), "H5Aget_type", path, object));
  if (H5Tget_class(type.get()) != H5T_STRING) {
    throw StoreError("run file '" + path + "', " + object + " is not a string");
  }

  if (check(H5Tis_variable_str(type.get()), "H5Tis_variable_str", path, object) > 0) {
    const hdf5::Datatype memory = hdf5::utf8_string_type(path);
    char* text = nullptr;
    check(H5Aread(attribute.get(), memory.get(), &text), "H5Aread", path, object);
    std::string value = text != nullptr ? text : "";
    const hdf5::Dataspace space(check(H5Screate(H5S_SCALAR), "H5Screate", path, object));
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

} // namespace hpcnas::store
