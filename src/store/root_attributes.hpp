#pragma once
/// What the run file and the DARTS file share (store-internal): the attributes on `/` and
/// opening a file for reading.

#include <hdf5.h>

#include <string>

#include "hdf5_handle.hpp"
#include "hpcnas/store/run_file.hpp"

namespace hpcnas::store {

/// schema_version, hpcnas_version, command_line, ranks, nodes and one "config.<option>" string
/// attribute per resolved option.
void write_root_attributes(hid_t root, const RunAttributes& attrs, const std::string& path);

/// Opens an existing file read-only without HDF5's file locking (so it can be read while a run
/// writes it); StoreError when it is missing or not HDF5.
hdf5::File open_read_only(const std::string& path);

/// Opens an existing run file to append to it (resume). Throws StoreError when it is missing,
/// not an hpcnas run file, or of another schema version.
hdf5::File open_for_append(const std::string& path);

} // namespace hpcnas::store
