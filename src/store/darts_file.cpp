#include "hpcnas/store/darts_file.hpp"

#include <algorithm>
#include <array>
#include <filesystem>
#include <system_error>

#include "hdf5_handle.hpp"
#include "hpcnas/store/checkpoint.hpp"
#include "root_attributes.hpp"
#include "table.hpp"

namespace hpcnas::store {

namespace {

using hdf5::check;

constexpr const char* kGroup = "darts";
constexpr const char* kEpochs = "darts/epochs";
constexpr const char* kRecurrentAlpha = "/darts/alpha_recurrent";

/// The alpha datasets of a space and the record's member each one holds.
std::vector<const char*> alpha_names(bool recurrent) {
  if (recurrent)
    return {kRecurrentAlpha};
  return {"/darts/alpha_normal", "/darts/alpha_reduce"};
}

template <typename Record> auto alpha_values(Record& row, bool recurrent) {
  using Values = decltype(&row.alpha_normal); // const for a const record
  if (recurrent)
    return std::vector<Values>{&row.alpha_recurrent};
  return std::vector<Values>{&row.alpha_normal, &row.alpha_reduce};
}

const char* op_names(bool recurrent) {
  return recurrent ? "tanh,relu,sigmoid,identity"
                   : "none,max_pool_3x3,avg_pool_3x3,skip_connect,sep_conv_3x3,sep_conv_5x5,"
                     "dil_conv_3x3,dil_conv_5x5";
}

/// Whether the file at `root` holds a recurrent cell's alpha.
bool holds_recurrent(hid_t root) { return H5Lexists(root, kRecurrentAlpha, H5P_DEFAULT) > 0; }

/// Dimensions [epochs, edges, ops] of the alpha dataset `name`; StoreError when it is not 3-D.
std::array<hsize_t, 3> alpha_dims(hid_t dataset, const std::string& path, const char* name) {
  const hdf5::Dataspace space(check(H5Dget_space(dataset), "H5Dget_space", path, name));
  std::array<hsize_t, 3> dims{};
  if (check(H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr),
            "H5Sget_simple_extent_dims", path, name) != 3)
    throw StoreError("run file '" + path + "', " + name + ": expected 3-D");
  return dims;
}

} // namespace

struct DartsFile::Impl {
  std::string path;
  AlphaLayout layout;
  std::vector<const char*> alpha_names;
  hdf5::File file; // declared first, so closed last
  hdf5::Group group;
  TableWriter epochs;
  std::vector<hdf5::Dataset> alphas;

  void flush() { check(H5Fflush(file.get(), H5F_SCOPE_GLOBAL), "H5Fflush", path, "/"); }

  /// Sets the epoch extent of every alpha dataset.
  void set_alpha_epochs(hsize_t epochs) {
    const std::array<hsize_t, 3> extent{epochs, static_cast<hsize_t>(layout.edges),
                                        static_cast<hsize_t>(layout.ops)};
    for (std::size_t i = 0; i < alphas.size(); ++i)
      check(H5Dset_extent(alphas[i].get(), extent.data()), "H5Dset_extent", path, alpha_names[i]);
  }
};

DartsFile::DartsFile(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
DartsFile::DartsFile(DartsFile&&) noexcept = default;
DartsFile& DartsFile::operator=(DartsFile&&) noexcept = default;
DartsFile::~DartsFile() = default;

DartsFile DartsFile::create(const std::string& path, bool overwrite, const RunAttributes& attrs,
                            const AlphaLayout& alphas) {
  hdf5::silence_errors();
  std::error_code ec;
  if (!overwrite && std::filesystem::exists(path, ec))
    throw StoreError("refusing to overwrite existing run file '" + path + "' (pass --overwrite)");
  auto impl = std::make_unique<Impl>();
  impl->path = path;
  impl->layout = alphas;
  impl->alpha_names = alpha_names(alphas.recurrent);
  const hdf5::PropertyList fapl = hdf5::unlocked_file_access(path);
  impl->file = hdf5::File(check(
      H5Fcreate(path.c_str(), overwrite ? H5F_ACC_TRUNC : H5F_ACC_EXCL, H5P_DEFAULT, fapl.get()),
      "H5Fcreate", path, "/"));
  try {
    const hid_t root = impl->file.get();
    write_root_attributes(root, attrs, path);
    hdf5::write_string_attribute(root, "kind", "darts", path);
    impl->group = hdf5::Group(check(H5Gcreate2(root, kGroup, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
                                    "H5Gcreate2", path, "/darts"));
    impl->epochs = TableWriter(root, path, kEpochs, record_columns<darts::EpochRecord>());

    const std::array<hsize_t, 3> initial{0, static_cast<hsize_t>(alphas.edges),
                                         static_cast<hsize_t>(alphas.ops)};
    const std::array<hsize_t, 3> maximum{H5S_UNLIMITED, initial[1], initial[2]};
    const std::array<hsize_t, 3> chunk{1, initial[1], initial[2]};
    for (const char* name : impl->alpha_names) {
      hdf5::Dataspace space(check(H5Screate_simple(3, initial.data(), maximum.data()),
                                  "H5Screate_simple", path, name));
      hdf5::PropertyList dcpl(check(H5Pcreate(H5P_DATASET_CREATE), "H5Pcreate", path, name));
      check(H5Pset_chunk(dcpl.get(), 3, chunk.data()), "H5Pset_chunk", path, name);
      impl->alphas.emplace_back(check(
          H5Dcreate2(root, name, H5T_IEEE_F64LE, space.get(), H5P_DEFAULT, dcpl.get(), H5P_DEFAULT),
          "H5Dcreate2", path, name));
      hdf5::write_string_attribute(impl->alphas.back().get(), "ops", op_names(alphas.recurrent),
                                   path);
    }
    impl->flush();
    remove_checkpoints(path);
  } catch (...) {
    impl.reset();
    std::filesystem::remove(path, ec);
    throw;
  }
  return DartsFile(std::move(impl));
}

DartsFile DartsFile::open_append(const std::string& path) {
  auto impl = std::make_unique<Impl>();
  impl->path = path;
  impl->file = open_for_append(path);
  const hid_t root = impl->file.get();
  if (H5Aexists(root, "kind") <= 0 || hdf5::read_string_attribute(root, "kind", path) != "darts")
    throw StoreError("'" + path + "' is not the run file of an hpcnas darts search");
  impl->epochs = TableWriter::open(root, path, kEpochs, record_columns<darts::EpochRecord>());
  impl->layout.recurrent = holds_recurrent(root);
  impl->alpha_names = alpha_names(impl->layout.recurrent);
  for (const char* name : impl->alpha_names) {
    impl->alphas.emplace_back(check(H5Dopen2(root, name, H5P_DEFAULT), "H5Dopen2", path, name));
    const auto dims = alpha_dims(impl->alphas.back().get(), path, name);
    impl->layout.edges = static_cast<int>(dims[1]);
    impl->layout.ops = static_cast<int>(dims[2]);
  }
  // An append killed half-way may have written alpha without the row: alpha follows the rows.
  impl->set_alpha_epochs(static_cast<hsize_t>(impl->epochs.rows()));
  impl->flush();
  return DartsFile(std::move(impl));
}

void DartsFile::truncate(std::int64_t epochs) {
  auto& s = *impl_;
  if (epochs >= s.epochs.rows())
    return;
  s.epochs.truncate(epochs);
  s.set_alpha_epochs(static_cast<hsize_t>(epochs));
  s.flush();
}

void DartsFile::append(const darts::EpochRecord& row) {
  auto& s = *impl_;
  const hsize_t cells = static_cast<hsize_t>(s.layout.edges) * static_cast<hsize_t>(s.layout.ops);
  const auto values = alpha_values(row, s.layout.recurrent);
  const hsize_t epoch = static_cast<hsize_t>(s.epochs.rows());
  for (std::size_t i = 0; i < values.size(); ++i) {
    const char* name = s.alpha_names[i];
    if (values[i]->size() != cells)
      throw StoreError("run file '" + s.path + "', " + name + ": expected " +
                       std::to_string(cells) + " values, got " + std::to_string(values[i]->size()));
    const hid_t dataset = s.alphas[i].get();
    const std::array<hsize_t, 3> extent{epoch + 1, static_cast<hsize_t>(s.layout.edges),
                                        static_cast<hsize_t>(s.layout.ops)};
    check(H5Dset_extent(dataset, extent.data()), "H5Dset_extent", s.path, name);
    hdf5::Dataspace file_space(check(H5Dget_space(dataset), "H5Dget_space", s.path, name));
    const std::array<hsize_t, 3> start{epoch, 0, 0};
    const std::array<hsize_t, 3> count{1, extent[1], extent[2]};
    check(H5Sselect_hyperslab(file_space.get(), H5S_SELECT_SET, start.data(), nullptr, count.data(),
                              nullptr),
          "H5Sselect_hyperslab", s.path, name);
    hdf5::Dataspace memory(
        check(H5Screate_simple(3, count.data(), nullptr), "H5Screate_simple", s.path, name));
    check(H5Dwrite(dataset, H5T_NATIVE_DOUBLE, memory.get(), file_space.get(), H5P_DEFAULT,
                   values[i]->data()),
          "H5Dwrite", s.path, name);
  }
  append_record(s.epochs, row);
  s.flush();
}

std::int64_t DartsFile::epochs() const { return impl_->epochs.rows(); }

DartsHistory read_darts(const std::string& path) {
  const hdf5::File file = open_read_only(path);
  DartsHistory history;
  history.epochs = read_records<darts::EpochRecord>(
      TableReader(file.get(), path, kEpochs, record_columns<darts::EpochRecord>()));
  AlphaLayout& layout = history.alphas;
  layout.recurrent = holds_recurrent(file.get());
  const auto names = alpha_names(layout.recurrent);
  std::vector<std::vector<double>> alpha(names.size());
  hsize_t rows = history.epochs.size();
  for (std::size_t i = 0; i < names.size(); ++i) {
    const hdf5::Dataset dataset(
        check(H5Dopen2(file.get(), names[i], H5P_DEFAULT), "H5Dopen2", path, names[i]));
    const auto dims = alpha_dims(dataset.get(), path, names[i]);
    layout.edges = static_cast<int>(dims[1]);
    layout.ops = static_cast<int>(dims[2]);
    rows = std::min(rows, dims[0]);
    alpha[i].resize(dims[0] * dims[1] * dims[2]);
    if (!alpha[i].empty())
      check(
          H5Dread(dataset.get(), H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, alpha[i].data()),
          "H5Dread", path, names[i]);
  }
  const std::size_t cells = static_cast<std::size_t>(layout.edges) * layout.ops;
  history.epochs.resize(rows); // an append cut short may leave alpha one epoch ahead of the rows
  for (hsize_t r = 0; r < rows; ++r) {
    const auto values = alpha_values(history.epochs[r], layout.recurrent);
    for (std::size_t i = 0; i < values.size(); ++i)
      values[i]->assign(alpha[i].begin() + r * cells, alpha[i].begin() + (r + 1) * cells);
  }
  return history;
}

} // namespace hpcnas::store
