#pragma once
/// Internal to the store part: a table is one HDF5 group of equal-length, extendible, chunked 1-D
/// datasets, one per column, appended a row at a time. /evaluations and /controller are tables.
/// A table of records (record_columns, append_record, read_records) has one column per field
/// its record type lists in fields(); numbers are stored as they are, the rest as text.
/// A numeric column a record type added after its table's first release (listed in the record's
/// kAddedColumns) reads as its fill value (NaN, -1) from a file without it, and is created, with
/// the fill value in the rows already there, when such a file is reopened to append.

#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>
#include <vector>

#include "hdf5_handle.hpp"

namespace hpcnas::store {

enum class ColumnKind { kInt64, kInt32, kFloat64, kString };

struct ColumnSpec {
  const char* name;
  ColumnKind kind;
  bool added_later = false; ///< may be absent from older files (numeric columns only)
};

class TableWriter {
public:
  TableWriter() = default;
  /// Creates the group `name` under `file` and an empty dataset per column.
  TableWriter(hid_t file, std::string path, std::string name, std::vector<ColumnSpec> columns);
  /// Opens an existing table to append to it. Columns a killed writer left one row longer are
  /// cut back to the rows present in every column; added columns missing from it are created.
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
  /// A new column of `rows` rows holding the fill value (NaN for doubles, -1 for integers).
  hdf5::Dataset create_column(const ColumnSpec& spec, hsize_t rows) const;
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
  /// Throws StoreError when the group or a column is missing (but for an added column).
  TableReader(hid_t file, std::string path, std::string name, std::vector<ColumnSpec> columns);
  std::size_t rows() const { return rows_; }
  const std::string& path() const { return path_; }
  const std::string& name() const { return name_; }

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
  std::vector<hdf5::Dataset> datasets_; ///< invalid for an added column the file lacks
  std::size_t rows_ = 0;
};

namespace detail {

template <typename T> constexpr ColumnKind column_kind() {
  if constexpr (std::is_same_v<T, std::int64_t>)
    return ColumnKind::kInt64;
  else if constexpr (std::is_same_v<T, std::int32_t>)
    return ColumnKind::kInt32;
  else if constexpr (std::is_same_v<T, double>)
    return ColumnKind::kFloat64;
  else
    return ColumnKind::kString; // a std::string, or a type with to_text/from_text
}

template <typename Record, typename = void> struct AddedColumns {
  static bool contains(const char*) { return false; }
};
template <typename Record>
struct AddedColumns<Record, std::void_t<decltype(Record::kAddedColumns)>> {
  static bool contains(const char* name) {
    for (const char* added : Record::kAddedColumns)
      if (std::string_view(added) == name)
        return true;
    return false;
  }
};

/// How a field of type T is held in memory for HDF5: itself, or its text.
template <typename T>
using Stored = std::conditional_t<column_kind<T>() == ColumnKind::kString, std::string, T>;

} // namespace detail

/// The columns of a table of `Record`s: one per field, in the order fields() lists them.
template <typename Record> std::vector<ColumnSpec> record_columns() {
  std::vector<ColumnSpec> columns;
  Record probe{};
  Record::fields(probe, [&](const char* name, const auto& field) {
    columns.push_back({name, detail::column_kind<std::decay_t<decltype(field)>>(),
                       detail::AddedColumns<Record>::contains(name)});
  });
  return columns;
}

/// Appends `record` as one row (no flush).
template <typename Record> void append_record(TableWriter& table, const Record& record) {
  std::deque<std::string> texts;   // deques: the cells point into them while they grow
  std::deque<const char*> strings; // HDF5 takes a variable-length string as a char pointer
  std::vector<const void*> cells;
  Record::fields(record, [&](const char*, const auto& field) {
    using T = std::decay_t<decltype(field)>;
    if constexpr (detail::column_kind<T>() != ColumnKind::kString) {
      cells.push_back(&field);
    } else {
      if constexpr (std::is_same_v<T, std::string>)
        strings.push_back(field.c_str());
      else
        strings.push_back(texts.emplace_back(to_text(field)).c_str());
      cells.push_back(&strings.back());
    }
  });
  table.append(cells);
}

/// Reads every row of a table of `Record`s. A field whose text does not parse is a StoreError
/// naming the file, the row and the column.
template <typename Record> std::vector<Record> read_records(const TableReader& reader) {
  using Column = std::variant<std::vector<std::int64_t>, std::vector<std::int32_t>,
                              std::vector<double>, std::vector<std::string>>;
  std::vector<Column> columns;
  Record probe{};
  Record::fields(probe, [&](const char*, const auto& field) {
    std::vector<detail::Stored<std::decay_t<decltype(field)>>> values;
    reader.read(columns.size(), values);
    columns.emplace_back(std::move(values));
  });
  std::vector<Record> records(reader.rows());
  for (std::size_t row = 0; row < records.size(); ++row) {
    std::size_t column = 0;
    Record::fields(records[row], [&](const char* name, auto& field) {
      using T = std::decay_t<decltype(field)>;
      const auto& value = std::get<std::vector<detail::Stored<T>>>(columns[column++])[row];
      if constexpr (std::is_same_v<T, detail::Stored<T>>) {
        field = value;
      } else {
        try {
          from_text(value, field);
        } catch (const std::exception& e) { // SpaceError, an unknown status name
          throw StoreError("run file '" + reader.path() + "': /" + reader.name() + " row " +
                           std::to_string(row) + ", " + name + ": " + e.what());
        }
      }
    });
  }
  return records;
}

} // namespace hpcnas::store
