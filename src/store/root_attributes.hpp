#pragma once
/// The attributes on `/` that every hpcnas file carries (store-internal).

#include <hdf5.h>

#include <string>

#include "hpcnas/store/run_file.hpp"

namespace hpcnas::store {

/// schema_version, hpcnas_version, command_line, ranks, nodes and one "config.<option>" string
/// attribute per resolved option.
void write_root_attributes(hid_t root, const RunAttributes& attrs, const std::string& path);

} // namespace hpcnas::store
