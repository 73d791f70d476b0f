#include "hpcnas/store/run_file.hpp"

#include <algorithm>
#include <array>
#include <filesystem>
#include <limits>
#include <system_error>

#include "hpcnas/store/hdf5_handle.hpp"

namespace hpcnas::store {

namespace {

using hdf5::check;

enum class Kind { kInt64, kInt32, kFloat64, kString };

struct ColumnSpec {
  const char* name;
  Kind kind;
};

// The order is the order of the cells built in RunFile::append.
constexpr std::array<ColumnSpec, 13> kColumns{{
    {"id", Kind::kInt64},
    {"genotype", Kind::kString},
    {"reward", Kind::kFloat64},
    {"val_accuracy", Kind::kFloat64},
    {"params", Kind::kInt64},
    {"flops", Kind::kInt64},
    {"latency_ms", Kind::kFloat64},
    {"train_seconds", Kind::kFloat64},
    {"rank", Kind::kInt32},
    {"status", Kind::kString},
    {"message", Kind::kString},
    {"started", Kind::kFloat64},
    {"finished", Kind::kFloat64},
}};
constexpr std::size_t kColumnCount = kColumns.size();
constexpr hsize_t kChunkRows = 256;
constexpr std::size_t kTransferBuffer = 4096;
constexpr const char* kGroup = "evaluations";

std::string column_path(const char* name) { return std::string("/") + kGroup + "/" + name; }

hid_t file_type(Kind kind, hid_t string_type) {
  switch (kind) {
  case Kind::kInt64:
    return H5T_STD_I64LE;
  case Kind::kInt32:
    return H5T_STD_I32LE;
  case Kind::kFloat64:
    return H5T_IEEE_F64LE;
  case Kind::kString:
    return string_type;
  }
  return H5I_INVALID_HID;
}

hid_t memory_type(Kind kind, hid_t string_type) {
  switch (kind) {
  case Kind::kInt64:
    return H5T_NATIVE_INT64;
  case Kind::kInt32:
    return H5T_NATIVE_INT32;
  case Kind::kFloat64:
    return H5T_NATIVE_DOUBLE;
  case Kind::kString:
    return string_type;
  }
  return H5I_INVALID_HID;
}

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

hsize_t dataset_rows(hid_t dataset, const std::string& path, const std::string& object) {
  hdf5::Dataspace space(check(H5Dget_space(dataset), "H5Dget_space", path, object));
  const int rank =
      check(H5Sget_simple_extent_ndims(space.get()), "H5Sget_simple_extent_ndims", path, object);
  if (rank != 1) {
    throw StoreError("run file '" + path + "', " + object + ": expected a 1-D dataset, found " +
                     std::to_string(rank) + "-D");
  }
  hsize_t rows = 0;
  check(H5Sget_simple_extent_dims(space.get(), &rows, nullptr), "H5Sget_simple_extent_dims", path,
        object);
  return rows;
}

// Reads the first `rows` elements of a column into `out` (numbers) via `memory`.
template <typename T>
void read_column(hid_t dataset, hid_t memory, hsize_t rows, const std::string& path,
                 const std::string& object, std::vector<T>& out) {
  out.resize(rows);
  if (rows == 0) {
    return;
  }
  hdf5::Dataspace file_space(check(H5Dget_space(dataset), "H5Dget_space", path, object));
  const hsize_t start = 0;
  check(H5Sselect_hyperslab(file_space.get(), H5S_SELECT_SET, &start, nullptr, &rows, nullptr),
        "H5Sselect_hyperslab", path, object);
  hdf5::Dataspace memory_space(
      check(H5Screate_simple(1, &rows, nullptr), "H5Screate_simple", path, object));
  check(H5Dread(dataset, memory, memory_space.get(), file_space.get(), H5P_DEFAULT, out.data()),
        "H5Dread", path, object);
}

void read_string_column(hid_t dataset, hid_t string_type, hsize_t rows, const std::string& path,
                        const std::string& object, std::vector<std::string>& out) {
  std::vector<char*> raw;
  read_column(dataset, string_type, rows, path, object, raw);
  out.clear();
  out.reserve(rows);
  for (const char* text : raw) {
    out.emplace_back(text != nullptr ? text : "");
  }
  if (rows > 0) {
    hdf5::Dataspace space(
        check(H5Screate_simple(1, &rows, nullptr), "H5Screate_simple", path, object));
    check(H5Dvlen_reclaim(string_type, space.get(), H5P_DEFAULT, raw.data()), "H5Dvlen_reclaim",
          path, object);
  }
}

} // namespace

struct RunFile::Impl {
  std::string path;
  // Declared first, so closed last.
  hdf5::File file;
  hdf5::Group evaluations;
  hdf5::Datatype string_type;
  hdf5::Dataspace one_row;
  hdf5::PropertyList transfer;
  std::array<hdf5::Dataset, kColumnCount> columns;
  std::int64_t rows = 0;

  void close() {
    for (auto& column : columns) {
      column.reset();
    }
    one_row.reset();
    transfer.reset();
    string_type.reset();
    evaluations.reset();
    file.reset();
  }
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

    const std::string group_path = std::string("/") + kGroup;
    impl->evaluations =
        hdf5::Group(check(H5Gcreate2(root, kGroup, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
                          "H5Gcreate2", path, group_path));
    impl->string_type = hdf5::utf8_string_type(path);
    const hsize_t one = 1;
    impl->one_row =
        hdf5::Dataspace(check(H5Screate_simple(1, &one, nullptr), "H5Screate_simple", path, "/"));

    // The default 1 MiB type-conversion buffer is cleared on every string write: a row needs
    // only a few hundred bytes.
    impl->transfer = hdf5::PropertyList(
        check(H5Pcreate(H5P_DATASET_XFER), "H5Pcreate", path, "dataset transfer"));
    check(H5Pset_buffer(impl->transfer.get(), kTransferBuffer, nullptr, nullptr), "H5Pset_buffer",
          path, "dataset transfer");

    const hsize_t initial = 0;
    const hsize_t unlimited = H5S_UNLIMITED;
    hdf5::Dataspace space(
        check(H5Screate_simple(1, &initial, &unlimited), "H5Screate_simple", path, group_path));
    hdf5::PropertyList dcpl(
        check(H5Pcreate(H5P_DATASET_CREATE), "H5Pcreate", path, "dataset creation"));
    check(H5Pset_chunk(dcpl.get(), 1, &kChunkRows), "H5Pset_chunk", path, group_path);
    for (std::size_t c = 0; c < kColumnCount; ++c) {
      const ColumnSpec& spec = kColumns[c];
      impl->columns[c] =
          hdf5::Dataset(check(H5Dcreate2(impl->evaluations.get(), spec.name,
                                         file_type(spec.kind, impl->string_type.get()), space.get(),
                                         H5P_DEFAULT, dcpl.get(), H5P_DEFAULT),
                              "H5Dcreate2", path, column_path(spec.name)));
    }
    check(H5Fflush(root, H5F_SCOPE_GLOBAL), "H5Fflush", path, "/");
  } catch (...) {
    // A half-written run file would only make the retry need --overwrite.
    impl->close();
    std::filesystem::remove(path, ec);
    throw;
  }
  return RunFile(std::move(impl));
}

void RunFile::append(const train::EvalResult& result) {
  Impl& impl = *impl_;
  const std::string genotype = result.genotype.to_string();
  const char* genotype_text = genotype.c_str();
  const char* status_text = train::status_name(result.status);
  const char* message_text = result.message.c_str();
  const std::array<const void*, kColumnCount> cells{
      &result.id,       &genotype_text, &result.reward,     &result.val_accuracy,
      &result.params,   &result.flops,  &result.latency_ms, &result.train_seconds,
      &result.rank,     &status_text,   &message_text,      &result.started,
      &result.finished,
  };

  // Every column is extended to rows + 1 (not by one), so a retry after a failure rewrites
  // the same row instead of leaving a hole.
  const hsize_t row = static_cast<hsize_t>(impl.rows);
  const hsize_t new_size = row + 1;
  const hsize_t one = 1;
  for (std::size_t c = 0; c < kColumnCount; ++c) {
    const ColumnSpec& spec = kColumns[c];
    const hid_t dataset = impl.columns[c].get();
    check(H5Dset_extent(dataset, &new_size), "H5Dset_extent", impl.path, column_path(spec.name));
    hdf5::Dataspace file_space(
        check(H5Dget_space(dataset), "H5Dget_space", impl.path, column_path(spec.name)));
    check(H5Sselect_hyperslab(file_space.get(), H5S_SELECT_SET, &row, nullptr, &one, nullptr),
          "H5Sselect_hyperslab", impl.path, column_path(spec.name));
    check(H5Dwrite(dataset, memory_type(spec.kind, impl.string_type.get()), impl.one_row.get(),
                   file_space.get(), impl.transfer.get(), cells[c]),
          "H5Dwrite", impl.path, column_path(spec.name));
  }
  check(H5Fflush(impl.file.get(), H5F_SCOPE_GLOBAL), "H5Fflush", impl.path, "/");
  impl.rows = static_cast<std::int64_t>(new_size);
}

std::int64_t RunFile::rows() const { return impl_->rows; }

const std::string& RunFile::path() const { return impl_->path; }

EvaluationTable read_evaluations(const std::string& path) {
  const hdf5::File file = open_read_only(path);
  const htri_t has_group = H5Lexists(file.get(), kGroup, H5P_DEFAULT);
  if (has_group <= 0) {
    H5Eclear2(H5E_DEFAULT);
    throw StoreError("run file '" + path + "' is not an hpcnas run file (no /" + kGroup +
                     " group)");
  }

  std::array<hdf5::Dataset, kColumnCount> columns;
  // A writer killed in the middle of an append may leave some columns one row longer: only
  // rows present in every column count.
  hsize_t rows = std::numeric_limits<hsize_t>::max();
  for (std::size_t c = 0; c < kColumnCount; ++c) {
    const std::string object = column_path(kColumns[c].name);
    columns[c] = hdf5::Dataset(
        check(H5Dopen2(file.get(), object.c_str(), H5P_DEFAULT), "H5Dopen2", path, object));
    rows = std::min(rows, dataset_rows(columns[c].get(), path, object));
  }

  const hdf5::Datatype string_type = hdf5::utf8_string_type(path);
  EvaluationTable table;
  auto numbers = [&](std::size_t c, auto& out) {
    read_column(columns[c].get(), memory_type(kColumns[c].kind, string_type.get()), rows, path,
                column_path(kColumns[c].name), out);
  };
  auto strings = [&](std::size_t c, std::vector<std::string>& out) {
    read_string_column(columns[c].get(), string_type.get(), rows, path,
                       column_path(kColumns[c].name), out);
  };
  numbers(0, table.id);
  strings(1, table.genotype);
  numbers(2, table.reward);
  numbers(3, table.val_accuracy);
  numbers(4, table.params);
  numbers(5, table.flops);
  numbers(6, table.latency_ms);
  numbers(7, table.train_seconds);
  numbers(8, table.rank);
  strings(9, table.status);
  strings(10, table.message);
  numbers(11, table.started);
  numbers(12, table.finished);
  return table;
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
