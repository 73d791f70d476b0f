#include "hpcnas/store/train_file.hpp"

#include <algorithm>
#include <filesystem>
#include <system_error>

#include "hdf5_handle.hpp"
#include "hpcnas/store/checkpoint.hpp"
#include "root_attributes.hpp"
#include "table.hpp"

namespace hpcnas::store {

namespace {

using hdf5::check;

constexpr const char* kKind = "train";
constexpr const char* kEpochs = "epochs";

/// Creates (or replaces) the dataset `name` of `dims` and writes `data` (memory type `type`).
void write_array(hid_t file, const std::string& path, const std::string& name,
                 const std::vector<hsize_t>& dims, hid_t file_type, hid_t memory_type,
                 const void* data) {
  if (H5Lexists(file, name.c_str(), H5P_DEFAULT) > 0)
    check(H5Ldelete(file, name.c_str(), H5P_DEFAULT), "H5Ldelete", path, name);
  hdf5::PropertyList links(check(H5Pcreate(H5P_LINK_CREATE), "H5Pcreate", path, name));
  check(H5Pset_create_intermediate_group(links.get(), 1), "H5Pset_create_intermediate_group", path,
        name);
  hdf5::Dataspace space(check(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr),
                              "H5Screate_simple", path, name));
  hdf5::Dataset dataset(check(
      H5Dcreate2(file, name.c_str(), file_type, space.get(), links.get(), H5P_DEFAULT, H5P_DEFAULT),
      "H5Dcreate2", path, name));
  check(H5Dwrite(dataset.get(), memory_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data), "H5Dwrite", path,
        name);
}

/// Reads a whole dataset as `memory_type` elements; its dimensions go to `dims`.
template <typename T>
std::vector<T> read_array(hid_t file, const std::string& path, const std::string& name,
                          hid_t memory_type, std::vector<std::int64_t>& dims) {
  hdf5::Dataset dataset(check(H5Dopen2(file, name.c_str(), H5P_DEFAULT), "H5Dopen2", path, name));
  hdf5::Dataspace space(check(H5Dget_space(dataset.get()), "H5Dget_space", path, name));
  const int rank =
      check(H5Sget_simple_extent_ndims(space.get()), "H5Sget_simple_extent_ndims", path, name);
  std::vector<hsize_t> extent(static_cast<std::size_t>(rank));
  check(H5Sget_simple_extent_dims(space.get(), extent.data(), nullptr), "H5Sget_simple_extent_dims",
        path, name);
  std::size_t count = 1;
  dims.clear();
  for (auto d : extent) {
    dims.push_back(static_cast<std::int64_t>(d));
    count *= d;
  }
  std::vector<T> out(count);
  if (count > 0)
    check(H5Dread(dataset.get(), memory_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, out.data()), "H5Dread",
          path, name);
  return out;
}

} // namespace

struct TrainFile::Impl {
  std::string path;
  hdf5::File file; // declared first, so closed last
  TableWriter epochs;

  void flush() { check(H5Fflush(file.get(), H5F_SCOPE_GLOBAL), "H5Fflush", path, "/"); }
};

TrainFile::TrainFile(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
TrainFile::TrainFile(TrainFile&&) noexcept = default;
TrainFile& TrainFile::operator=(TrainFile&&) noexcept = default;
TrainFile::~TrainFile() = default;

TrainFile TrainFile::create(const std::string& path, bool overwrite, const RunAttributes& attrs,
                            const TrainSource& source) {
  hdf5::silence_errors();
  std::error_code ec;
  if (!overwrite && std::filesystem::exists(path, ec))
    throw StoreError("refusing to overwrite existing run file '" + path + "' (pass --overwrite)");
  auto impl = std::make_unique<Impl>();
  impl->path = path;
  const hdf5::PropertyList fapl = hdf5::unlocked_file_access(path);
  impl->file = hdf5::File(check(
      H5Fcreate(path.c_str(), overwrite ? H5F_ACC_TRUNC : H5F_ACC_EXCL, H5P_DEFAULT, fapl.get()),
      "H5Fcreate", path, "/"));
  try {
    const hid_t root = impl->file.get();
    write_root_attributes(root, attrs, path);
    hdf5::write_string_attribute(root, "kind", kKind, path);
    hdf5::write_string_attribute(root, "genotype", source.genotype, path);
    hdf5::write_double_attribute(root, "parameters", static_cast<double>(source.parameters), path);
    if (!source.source_run.empty()) {
      hdf5::write_string_attribute(root, "source_run", source.source_run, path);
      hdf5::write_double_attribute(root, "source_seconds", source.source_seconds, path);
    }
    impl->epochs = TableWriter(root, path, kEpochs, record_columns<TrainEpochRow>());
    impl->flush();
    remove_checkpoints(path);
  } catch (...) {
    impl.reset();
    std::filesystem::remove(path, ec);
    throw;
  }
  return TrainFile(std::move(impl));
}

TrainFile TrainFile::open_append(const std::string& path) {
  auto impl = std::make_unique<Impl>();
  impl->path = path;
  impl->file = open_for_append(path);
  const hid_t root = impl->file.get();
  if (H5Aexists(root, "kind") <= 0 || hdf5::read_string_attribute(root, "kind", path) != kKind)
    throw StoreError("'" + path + "' is not the run file of an hpcnas train run");
  impl->epochs = TableWriter::open(root, path, kEpochs, record_columns<TrainEpochRow>());
  impl->flush();
  return TrainFile(std::move(impl));
}

void TrainFile::append(const TrainEpochRow& row) {
  append_record(impl_->epochs, row);
  impl_->flush();
}

void TrainFile::truncate(std::int64_t epochs) {
  impl_->epochs.truncate(epochs);
  impl_->flush();
}

std::int64_t TrainFile::epochs() const { return impl_->epochs.rows(); }

void TrainFile::write_test(const TestResults& results) {
  auto& s = *impl_;
  const hid_t root = s.file.get();
  const auto k = static_cast<hsize_t>(results.classes);
  write_array(root, s.path, "test/confusion", {k, k}, H5T_STD_I64LE, H5T_NATIVE_INT64,
              results.confusion.data());
  const auto per_class = results.per_class_accuracy();
  write_array(root, s.path, "test/per_class_accuracy", {k}, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE,
              per_class.data());
  const int worst = results.worst_class();
  hdf5::write_double_attribute(root, "test_accuracy", results.accuracy, s.path);
  hdf5::write_double_attribute(root, "test_loss", results.loss, s.path);
  hdf5::write_int_attribute(root, "worst_class", worst, s.path);
  hdf5::write_double_attribute(root, "worst_class_accuracy", per_class[worst], s.path);
  s.flush();
}

void TrainFile::write_export(const ExportSample& sample) {
  auto& s = *impl_;
  const hid_t root = s.file.get();
  const std::vector<hsize_t> image_dims(sample.image_shape.begin(), sample.image_shape.end());
  const std::vector<hsize_t> logit_dims(sample.logits_shape.begin(), sample.logits_shape.end());
  write_array(root, s.path, "export/images", image_dims, H5T_IEEE_F32LE, H5T_NATIVE_FLOAT,
              sample.images.data());
  write_array(root, s.path, "export/logits", logit_dims, H5T_IEEE_F32LE, H5T_NATIVE_FLOAT,
              sample.logits.data());
  hdf5::Group group(check(H5Gopen2(root, "export", H5P_DEFAULT), "H5Gopen2", s.path, "/export"));
  hdf5::write_string_attribute(group.get(), "onnx", sample.onnx_path, s.path);
  s.flush();
}

TrainHistory read_train(const std::string& path) {
  const hdf5::File file = open_read_only(path);
  const hid_t root = file.get();
  if (read_run_kind(path) != kKind)
    throw StoreError("'" + path + "' is not the run file of an hpcnas train run");
  TrainHistory h;
  h.source.genotype = hdf5::read_string_attribute(root, "genotype", path);
  h.source.parameters =
      static_cast<std::int64_t>(hdf5::read_double_attribute(root, "parameters", path));
  if (H5Aexists(root, "source_run") > 0) {
    h.source.source_run = hdf5::read_string_attribute(root, "source_run", path);
    h.source.source_seconds = hdf5::read_double_attribute(root, "source_seconds", path);
  }
  h.epochs = read_records<TrainEpochRow>(
      TableReader(root, path, kEpochs, record_columns<TrainEpochRow>()));
  h.tested = H5Lexists(root, "test", H5P_DEFAULT) > 0;
  if (h.tested) {
    std::vector<std::int64_t> dims;
    h.test.confusion =
        read_array<std::int64_t>(root, path, "test/confusion", H5T_NATIVE_INT64, dims);
    h.test.classes = static_cast<int>(dims.at(0));
    h.test.accuracy = hdf5::read_double_attribute(root, "test_accuracy", path);
    h.test.loss = hdf5::read_double_attribute(root, "test_loss", path);
  }
  return h;
}

ExportSample read_export(const std::string& path) {
  const hdf5::File file = open_read_only(path);
  ExportSample sample;
  sample.images =
      read_array<float>(file.get(), path, "export/images", H5T_NATIVE_FLOAT, sample.image_shape);
  sample.logits =
      read_array<float>(file.get(), path, "export/logits", H5T_NATIVE_FLOAT, sample.logits_shape);
  return sample;
}

std::string read_run_kind(const std::string& path) {
  const hdf5::File file = open_read_only(path);
  return H5Aexists(file.get(), "kind") > 0 ? hdf5::read_string_attribute(file.get(), "kind", path)
                                           : std::string("search");
}

} // namespace hpcnas::store
