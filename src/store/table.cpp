#include "table.hpp"

#include <algorithm>
#include <limits>
#include <stdexcept>
#include <type_traits>

namespace hpcnas::store {
namespace {

using hdf5::check;

constexpr hsize_t kChunkRows = 256;
// The default 1 MiB type-conversion buffer is cleared on every string write: a row needs only a
// few hundred bytes, and the big buffer made appends up to 100x slower.
constexpr std::size_t kTransferBuffer = 4096;

hid_t file_type(ColumnKind kind, hid_t string_type) {
  switch (kind) {
  case ColumnKind::kInt64:
    return H5T_STD_I64LE;
  case ColumnKind::kInt32:
    return H5T_STD_I32LE;
  case ColumnKind::kFloat64:
    return H5T_IEEE_F64LE;
  case ColumnKind::kString:
    return string_type;
  }
  return H5I_INVALID_HID;
}

hid_t memory_type(ColumnKind kind, hid_t string_type) {
  switch (kind) {
  case ColumnKind::kInt64:
    return H5T_NATIVE_INT64;
  case ColumnKind::kInt32:
    return H5T_NATIVE_INT32;
  case ColumnKind::kFloat64:
    return H5T_NATIVE_DOUBLE;
  case ColumnKind::kString:
    return string_type;
  }
  return H5I_INVALID_HID;
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

} // namespace

TableWriter::TableWriter(hid_t file, std::string path, std::string name,
                         std::vector<ColumnSpec> columns)
    : path_(std::move(path)), name_(std::move(name)), columns_(std::move(columns)) {
  const std::string group_path = "/" + name_;
  group_ = hdf5::Group(check(H5Gcreate2(file, name_.c_str(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
                             "H5Gcreate2", path_, group_path));
  prepare_transfer();
  for (const ColumnSpec& spec : columns_)
    datasets_.push_back(create_column(spec, 0));
}

hdf5::Dataset TableWriter::create_column(const ColumnSpec& spec, hsize_t rows) const {
  const std::string object = "/" + name_ + "/" + spec.name;
  const hsize_t unlimited = H5S_UNLIMITED;
  hdf5::Dataspace space(
      check(H5Screate_simple(1, &rows, &unlimited), "H5Screate_simple", path_, object));
  hdf5::PropertyList dcpl(
      check(H5Pcreate(H5P_DATASET_CREATE), "H5Pcreate", path_, "dataset creation"));
  check(H5Pset_chunk(dcpl.get(), 1, &kChunkRows), "H5Pset_chunk", path_, object);
  // Rows without a value (an added column's older rows) read as NaN or -1, not as 0.
  if (spec.kind == ColumnKind::kFloat64) {
    const double nan = std::numeric_limits<double>::quiet_NaN();
    check(H5Pset_fill_value(dcpl.get(), H5T_NATIVE_DOUBLE, &nan), "H5Pset_fill_value", path_,
          object);
  } else if (spec.kind != ColumnKind::kString) {
    const std::int64_t none = -1;
    check(H5Pset_fill_value(dcpl.get(), H5T_NATIVE_INT64, &none), "H5Pset_fill_value", path_,
          object);
  }
  return hdf5::Dataset(
      check(H5Dcreate2(group_.get(), spec.name, file_type(spec.kind, string_type_.get()),
                       space.get(), H5P_DEFAULT, dcpl.get(), H5P_DEFAULT),
            "H5Dcreate2", path_, object));
}

void TableWriter::prepare_transfer() {
  string_type_ = hdf5::utf8_string_type(path_);
  const hsize_t one = 1;
  one_row_ =
      hdf5::Dataspace(check(H5Screate_simple(1, &one, nullptr), "H5Screate_simple", path_, "/"));
  transfer_ = hdf5::PropertyList(
      check(H5Pcreate(H5P_DATASET_XFER), "H5Pcreate", path_, "dataset transfer"));
  check(H5Pset_buffer(transfer_.get(), kTransferBuffer, nullptr, nullptr), "H5Pset_buffer", path_,
        "dataset transfer");
}

TableWriter TableWriter::open(hid_t file, std::string path, std::string name,
                              std::vector<ColumnSpec> columns) {
  TableWriter t;
  t.path_ = std::move(path);
  t.name_ = std::move(name);
  t.columns_ = std::move(columns);
  const std::string group_path = "/" + t.name_;
  if (H5Lexists(file, t.name_.c_str(), H5P_DEFAULT) <= 0) {
    H5Eclear2(H5E_DEFAULT);
    throw StoreError("run file '" + t.path_ + "' is not an hpcnas run file (no " + group_path +
                     " group)");
  }
  t.group_ = hdf5::Group(
      check(H5Gopen2(file, t.name_.c_str(), H5P_DEFAULT), "H5Gopen2", t.path_, group_path));
  t.prepare_transfer();
  hsize_t rows = std::numeric_limits<hsize_t>::max();
  std::vector<bool> missing;
  for (const ColumnSpec& spec : t.columns_) {
    const std::string object = group_path + "/" + spec.name;
    missing.push_back(spec.added_later && H5Lexists(t.group_.get(), spec.name, H5P_DEFAULT) <= 0);
    if (missing.back()) {
      H5Eclear2(H5E_DEFAULT);
      t.datasets_.emplace_back();
      continue;
    }
    t.datasets_.emplace_back(
        check(H5Dopen2(t.group_.get(), spec.name, H5P_DEFAULT), "H5Dopen2", t.path_, object));
    rows = std::min(rows, dataset_rows(t.datasets_.back().get(), t.path_, object));
  }
  for (std::size_t c = 0; c < t.columns_.size(); ++c)
    if (missing[c])
      t.datasets_[c] = t.create_column(t.columns_[c], rows);
  t.set_rows(static_cast<std::int64_t>(rows));
  return t;
}

void TableWriter::truncate(std::int64_t rows) {
  if (rows < rows_)
    set_rows(rows);
}

void TableWriter::set_rows(std::int64_t rows) {
  const hsize_t extent = static_cast<hsize_t>(rows);
  for (std::size_t c = 0; c < columns_.size(); ++c)
    check(H5Dset_extent(datasets_[c].get(), &extent), "H5Dset_extent", path_,
          "/" + name_ + "/" + columns_[c].name);
  rows_ = rows;
}

void TableWriter::append(const std::vector<const void*>& cells) {
  // Every column is extended to rows + 1 (not by one), so a retry after a failure rewrites the
  // same row instead of leaving a hole.
  const hsize_t row = static_cast<hsize_t>(rows_);
  const hsize_t new_size = row + 1;
  const hsize_t one = 1;
  for (std::size_t c = 0; c < columns_.size(); ++c) {
    const std::string object = "/" + name_ + "/" + columns_[c].name;
    const hid_t dataset = datasets_[c].get();
    check(H5Dset_extent(dataset, &new_size), "H5Dset_extent", path_, object);
    hdf5::Dataspace file_space(check(H5Dget_space(dataset), "H5Dget_space", path_, object));
    check(H5Sselect_hyperslab(file_space.get(), H5S_SELECT_SET, &row, nullptr, &one, nullptr),
          "H5Sselect_hyperslab", path_, object);
    check(H5Dwrite(dataset, memory_type(columns_[c].kind, string_type_.get()), one_row_.get(),
                   file_space.get(), transfer_.get(), cells[c]),
          "H5Dwrite", path_, object);
  }
  rows_ = static_cast<std::int64_t>(new_size);
}

TableReader::TableReader(hid_t file, std::string path, std::string name,
                         std::vector<ColumnSpec> columns)
    : path_(std::move(path)), name_(std::move(name)), columns_(std::move(columns)) {
  if (H5Lexists(file, name_.c_str(), H5P_DEFAULT) <= 0) {
    H5Eclear2(H5E_DEFAULT);
    throw StoreError("run file '" + path_ + "' is not an hpcnas run file (no /" + name_ +
                     " group)");
  }
  hsize_t rows = std::numeric_limits<hsize_t>::max();
  for (std::size_t c = 0; c < columns_.size(); ++c) {
    if (columns_[c].added_later && H5Lexists(file, object(c).c_str(), H5P_DEFAULT) <= 0) {
      H5Eclear2(H5E_DEFAULT);
      datasets_.emplace_back();
      continue;
    }
    datasets_.emplace_back(
        check(H5Dopen2(file, object(c).c_str(), H5P_DEFAULT), "H5Dopen2", path_, object(c)));
    rows = std::min(rows, dataset_rows(datasets_.back().get(), path_, object(c)));
  }
  rows_ = columns_.empty() ? 0 : rows;
}

std::size_t TableReader::index_of(const std::string& column) const {
  for (std::size_t i = 0; i < columns_.size(); ++i)
    if (columns_[i].name == column)
      return i;
  throw std::logic_error("table " + name_ + " has no column '" + column + "'");
}

std::string TableReader::object(std::size_t column) const {
  return "/" + name_ + "/" + columns_[column].name;
}

template <typename T>
void TableReader::read_numbers(std::size_t column, hid_t memory, std::vector<T>& out) const {
  if (!datasets_[column].valid()) { // an added column this file predates
    if constexpr (std::is_floating_point_v<T>)
      out.assign(rows_, std::numeric_limits<T>::quiet_NaN());
    else if constexpr (std::is_integral_v<T>)
      out.assign(rows_, T{-1});
    else
      out.assign(rows_, T{});
    return;
  }
  out.resize(rows_);
  if (rows_ == 0)
    return;
  const hsize_t rows = rows_;
  const hsize_t start = 0;
  const hid_t dataset = datasets_[column].get();
  hdf5::Dataspace file_space(check(H5Dget_space(dataset), "H5Dget_space", path_, object(column)));
  check(H5Sselect_hyperslab(file_space.get(), H5S_SELECT_SET, &start, nullptr, &rows, nullptr),
        "H5Sselect_hyperslab", path_, object(column));
  hdf5::Dataspace memory_space(
      check(H5Screate_simple(1, &rows, nullptr), "H5Screate_simple", path_, object(column)));
  check(H5Dread(dataset, memory, memory_space.get(), file_space.get(), H5P_DEFAULT, out.data()),
        "H5Dread", path_, object(column));
}

void TableReader::read(std::size_t column, std::vector<std::int64_t>& out) const {
  read_numbers(column, H5T_NATIVE_INT64, out);
}

void TableReader::read(std::size_t column, std::vector<std::int32_t>& out) const {
  read_numbers(column, H5T_NATIVE_INT32, out);
}

void TableReader::read(std::size_t column, std::vector<double>& out) const {
  read_numbers(column, H5T_NATIVE_DOUBLE, out);
}

void TableReader::read(std::size_t column, std::vector<std::string>& out) const {
  const hdf5::Datatype string_type = hdf5::utf8_string_type(path_);
  std::vector<char*> raw;
  read_numbers(column, string_type.get(), raw);
  out.resize(raw.size());
  for (std::size_t i = 0; i < raw.size(); ++i)
    out[i] = raw[i] != nullptr ? raw[i] : "";
  if (!raw.empty() && datasets_[column].valid()) {
    const hsize_t rows = raw.size();
    hdf5::Dataspace space(
        check(H5Screate_simple(1, &rows, nullptr), "H5Screate_simple", path_, object(column)));
    check(H5Dvlen_reclaim(string_type.get(), space.get(), H5P_DEFAULT, raw.data()),
          "H5Dvlen_reclaim", path_, object(column));
  }
}

} // namespace hpcnas::store
