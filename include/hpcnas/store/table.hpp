#pragma once
/// Internal to the store part: a table is one HDF5 group of equal-length, extendible, chunked 1-D
/// datasets, one per column, appended a row at a time. /evaluations and /controller are tables.

#include <cstdint>
#include <string>
#include <vector>

#include "hpcnas/store/hdf5_handle.hpp"

namespace hpcnas::store {

enum class ColumnKind { kInt64, kInt32, kFloat64, kString };

struct ColumnSpec {
  const char* name;
  ColumnKind kind;
};

class TableWriter {
public:
  TableWriter() = default;
  /// Creates the group `name` under `file` and an empty dataset per column.
  TableWriter(hid_t file, std::string path, std::string name, std::vector<ColumnSpec> columns);
  /// Opens an existing table to append to it. Columns a killed writer left one row longer are
  /// cut back to the rows present in every column.
  static TableWriter open(hid_t file, std::string path, std::string name,
                          std::vector<ColumnSpec> columns);

  /// Appends one row without flushing. cells[c] points at a std::int64_t, std::int32_t, double or
  /// `const char*` according to the kind of column c.
  void append(const std::vector<const void*>& cells);
  /// Cuts every column back to its first `rows` rows (fewer rows than present: no change).
  void truncate(std::int64_t rows);
  std::int64_t rows() const { return rows_; }

private:
  void prepare_transfer();
  /// Sets every column's extent to `rows`.
  void set_rows(std::int64_t rows);

  std::string path_;
  std::string name_;
  std::vector<ColumnSpec> columns_;
  hdf5::Group group_;
  hdf5::Datatype string_type_;
  hdf5::Dataspace one_row_;
  hdf5::PropertyList transfer_;
  std::vector<hdf5::Dataset> datasets_;
  std::int64_t rows_ = 0;
};

/// Reads the columns of a table; only rows present in every column count (a writer killed in
/// the middle of an append may leave some columns one row longer).
class TableReader {
public:
  /// Throws StoreError when the group or a column is missing.
  TableReader(hid_t file, std::string path, std::string name, std::vector<ColumnSpec> columns);
  std::size_t rows() const { return rows_; }

  /// Reads the column named `column` (one of the specs'); the index overloads take its position.
  template <typename T> void read(const std::string& column, std::vector<T>& out) const {
    read(index_of(column), out);
  }
  void read(std::size_t column, std::vector<std::int64_t>& out) const;
  void read(std::size_t column, std::vector<std::int32_t>& out) const;
  void read(std::size_t column, std::vector<double>& out) const;
  void read(std::size_t column, std::vector<std::string>& out) const;

private:
  std::size_t index_of(const std::string& column) const;
  template <typename T>
  void read_numbers(std::size_t column, hid_t memory_type, std::vector<T>& out) const;
  std::string object(std::size_t column) const;

  std::string path_;
  std::string name_;
  std::vector<ColumnSpec> columns_;
  std::vector<hdf5::Dataset> datasets_;
  std::size_t rows_ = 0;
};

} // namespace hpcnas::store
