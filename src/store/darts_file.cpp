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
constexpr std::array<const char*, 2> kAlphaNames{"/darts/alpha_normal", "/darts/alpha_reduce"};
constexpr const char* kOpNames = "none,max_pool_3x3,avg_pool_3x3,skip_connect,sep_conv_3x3,"
                                 "sep_conv_5x5,dil_conv_3x3,dil_conv_5x5";

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
  int edges = 0;
  int ops = 0;
  hdf5::File file; // declared first, so closed last
  hdf5::Group group;
  TableWriter epochs;
  std::array<hdf5::Dataset, 2> alphas;

  void flush() { check(H5Fflush(file.get(), H5F_SCOPE_GLOBAL), "H5Fflush", path, "/"); }

  /// Sets the epoch extent of both alpha datasets.
  void set_alpha_epochs(hsize_t epochs) {
    const std::array<hsize_t, 3> extent{epochs, static_cast<hsize_t>(edges),
                                        static_cast<hsize_t>(ops)};
    for (std::size_t i = 0; i < alphas.size(); ++i)
      check(H5Dset_extent(alphas[i].get(), extent.data()), "H5Dset_extent", path, kAlphaNames[i]);
  }
};

DartsFile::DartsFile(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
DartsFile::DartsFile(DartsFile&&) noexcept = default;
DartsFile& DartsFile::operator=(DartsFile&&) noexcept = default;
DartsFile::~DartsFile() = default;

DartsFile DartsFile::create(const std::string& path, bool overwrite, const RunAttributes& attrs,
                            int edges, int ops) {
  hdf5::silence_errors();
  std::error_code ec;
  if (!overwrite && std::filesystem::exists(path, ec))
    throw StoreError("refusing to overwrite existing run file '" + path + "' (pass --overwrite)");
  auto impl = std::make_unique<Impl>();
  impl->path = path;
  impl->edges = edges;
  impl->ops = ops;
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

    const std::array<hsize_t, 3> initial{0, static_cast<hsize_t>(edges), static_cast<hsize_t>(ops)};
    const std::array<hsize_t, 3> maximum{H5S_UNLIMITED, initial[1], initial[2]};
    const std::array<hsize_t, 3> chunk{1, initial[1], initial[2]};
    for (std::size_t i = 0; i < kAlphaNames.size(); ++i) {
      hdf5::Dataspace space(check(H5Screate_simple(3, initial.data(), maximum.data()),
                                  "H5Screate_simple", path, kAlphaNames[i]));
      hdf5::PropertyList dcpl(
          check(H5Pcreate(H5P_DATASET_CREATE), "H5Pcreate", path, kAlphaNames[i]));
      check(H5Pset_chunk(dcpl.get(), 3, chunk.data()), "H5Pset_chunk", path, kAlphaNames[i]);
      impl->alphas[i] =
          hdf5::Dataset(check(H5Dcreate2(root, kAlphaNames[i], H5T_IEEE_F64LE, space.get(),
                                         H5P_DEFAULT, dcpl.get(), H5P_DEFAULT),
                              "H5Dcreate2", path, kAlphaNames[i]));
      hdf5::write_string_attribute(impl->alphas[i].get(), "ops", kOpNames, path);
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
  for (std::size_t i = 0; i < kAlphaNames.size(); ++i) {
    impl->alphas[i] = hdf5::Dataset(
        check(H5Dopen2(root, kAlphaNames[i], H5P_DEFAULT), "H5Dopen2", path, kAlphaNames[i]));
    const auto dims = alpha_dims(impl->alphas[i].get(), path, kAlphaNames[i]);
    impl->edges = static_cast<int>(dims[1]);
    impl->ops = static_cast<int>(dims[2]);
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
  const hsize_t cells = static_cast<hsize_t>(s.edges) * static_cast<hsize_t>(s.ops);
  const std::array<const std::vector<double>*, 2> values{&row.alpha_normal, &row.alpha_reduce};
  const hsize_t epoch = static_cast<hsize_t>(s.epochs.rows());
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (values[i]->size() != cells)
      throw StoreError("run file '" + s.path + "', " + kAlphaNames[i] + ": expected " +
                       std::to_string(cells) + " values, got " + std::to_string(values[i]->size()));
    const hid_t dataset = s.alphas[i].get();
    const std::array<hsize_t, 3> extent{epoch + 1, static_cast<hsize_t>(s.edges),
                                        static_cast<hsize_t>(s.ops)};
    check(H5Dset_extent(dataset, extent.data()), "H5Dset_extent", s.path, kAlphaNames[i]);
    hdf5::Dataspace file_space(
        check(H5Dget_space(dataset), "H5Dget_space", s.path, kAlphaNames[i]));
    const std::array<hsize_t, 3> start{epoch, 0, 0};
    const std::array<hsize_t, 3> count{1, extent[1], extent[2]};
    check(H5Sselect_hyperslab(file_space.get(), H5S_SELECT_SET, start.data(), nullptr, count.data(),
                              nullptr),
          "H5Sselect_hyperslab", s.path, kAlphaNames[i]);
    hdf5::Dataspace memory(check(H5Screate_simple(3, count.data(), nullptr), "H5Screate_simple",
                                 s.path, kAlphaNames[i]));
    check(H5Dwrite(dataset, H5T_NATIVE_DOUBLE, memory.get(), file_space.get(), H5P_DEFAULT,
                   values[i]->data()),
          "H5Dwrite", s.path, kAlphaNames[i]);
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
  std::array<std::vector<double>, 2> alpha;
  hsize_t rows = history.epochs.size();
  for (std::size_t i = 0; i < kAlphaNames.size(); ++i) {
    const hdf5::Dataset dataset(
        check(H5Dopen2(file.get(), kAlphaNames[i], H5P_DEFAULT), "H5Dopen2", path, kAlphaNames[i]));
    const auto dims = alpha_dims(dataset.get(), path, kAlphaNames[i]);
    history.edges = static_cast<int>(dims[1]);
    history.ops = static_cast<int>(dims[2]);
    rows = std::min(rows, dims[0]);
    alpha[i].resize(dims[0] * dims[1] * dims[2]);
    if (!alpha[i].empty())
      check(
          H5Dread(dataset.get(), H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, alpha[i].data()),
          "H5Dread", path, kAlphaNames[i]);
  }
  const std::size_t cells = static_cast<std::size_t>(history.edges) * history.ops;
  history.epochs.resize(rows); // an append cut short may leave alpha one epoch ahead of the rows
  for (hsize_t r = 0; r < rows; ++r) {
    darts::EpochRecord& row = history.epochs[r];
    row.alpha_normal.assign(alpha[0].begin() + r * cells, alpha[0].begin() + (r + 1) * cells);
    row.alpha_reduce.assign(alpha[1].begin() + r * cells, alpha[1].begin() + (r + 1) * cells);
  }
  return history;
}

} // namespace hpcnas::store
