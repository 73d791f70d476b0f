#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <zlib.h>

#include "hpcnas/data/dataset.hpp"
#include "require_data_error.hpp"
#include "temp_dir.hpp"

namespace fs = std::filesystem;
using hpcnas::config::DataConfig;
using hpcnas::data::DataError;

namespace {

using Bytes = std::vector<std::uint8_t>;

void put_u32(Bytes& out, std::uint32_t v) {
  out.push_back(static_cast<std::uint8_t>(v >> 24));
  out.push_back(static_cast<std::uint8_t>(v >> 16));
  out.push_back(static_cast<std::uint8_t>(v >> 8));
  out.push_back(static_cast<std::uint8_t>(v));
}

void write_raw(const std::string& path, const Bytes& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
  REQUIRE(out.good());
}

void write_gz(const std::string& path, const Bytes& bytes) {
  gzFile f = gzopen(path.c_str(), "wb");
  REQUIRE(f != nullptr);
  REQUIRE(gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size())) ==
          static_cast<int>(bytes.size()));
  REQUIRE(gzclose(f) == Z_OK);
}

struct IdxData {
  std::uint32_t n, h, w;
  Bytes pixels, labels;
};

IdxData sample_idx(std::uint32_t n = 5, std::uint32_t h = 4, std::uint32_t w = 3) {
  IdxData d{n, h, w, {}, {}};
  for (std::uint32_t i = 0; i < n * h * w; ++i) {
    d.pixels.push_back(static_cast<std::uint8_t>((i * 37 + 11) % 256));
  }
  for (std::uint32_t i = 0; i < n; ++i) {
    d.labels.push_back(static_cast<std::uint8_t>((i * 7) % 10));
  }
  return d;
}

Bytes idx_images(const IdxData& d, std::uint32_t magic = 0x803) {
  Bytes out;
  put_u32(out, magic);
  put_u32(out, d.n);
  put_u32(out, d.h);
  put_u32(out, d.w);
  out.insert(out.end(), d.pixels.begin(), d.pixels.end());
  return out;
}

Bytes idx_labels(const IdxData& d, std::uint32_t magic = 0x801) {
  Bytes out;
  put_u32(out, magic);
  put_u32(out, static_cast<std::uint32_t>(d.labels.size()));
  out.insert(out.end(), d.labels.begin(), d.labels.end());
  return out;
}

Bytes to_bytes(const torch::Tensor& t) {
  const auto c = t.contiguous();
  const auto* p = c.data_ptr<std::uint8_t>();
  return Bytes(p, p + c.numel());
}

std::vector<std::int64_t> to_vector(const torch::Tensor& t) {
  const auto c = t.contiguous();
  const auto* p = c.data_ptr<std::int64_t>();
  return {p, p + c.numel()};
}

std::vector<std::int64_t> as_int64(const Bytes& b) { return {b.begin(), b.end()}; }

std::set<std::string> image_keys(const torch::Tensor& images) {
  const auto c = images.contiguous();
  const auto row = c[0].numel() * static_cast<std::int64_t>(c.element_size());
  const auto* p = static_cast<const char*>(c.data_ptr());
  std::set<std::string> keys;
  for (std::int64_t i = 0; i < c.size(0); ++i) {
    keys.emplace(p + i * row, static_cast<std::size_t>(row));
  }
  return keys;
}

DataConfig synthetic_config(int val_size = 2000, std::uint64_t seed = 7) {
  DataConfig cfg;
  cfg.dataset = "synthetic";
  cfg.val_size = val_size;
  cfg.split_seed = seed;
  return cfg;
}

} // namespace

TEST_CASE("read_idx reads raw and gzipped files alike", "[data][idx]") {
  TempDir dir;
  const auto d = sample_idx();
  const bool gz = GENERATE(false, true);
  const auto images = dir.file(gz ? "img.gz" : "img");
  const auto labels = dir.file(gz ? "lbl.gz" : "lbl");
  (gz ? write_gz : write_raw)(images, idx_images(d));
  (gz ? write_gz : write_raw)(labels, idx_labels(d));

  const auto data = hpcnas::data::read_idx(images, labels);
  REQUIRE(data.images.dtype() == torch::kUInt8);
  REQUIRE(data.labels.dtype() == torch::kInt64);
  REQUIRE(data.images.sizes() == torch::IntArrayRef({5, 1, 4, 3}));
  REQUIRE(data.size() == 5);
  CHECK(to_bytes(data.images) == d.pixels);
  CHECK(to_vector(data.labels) == as_int64(d.labels));
}

TEST_CASE("read_idx detects gzip from the content, not the name", "[data][idx]") {
  TempDir dir;
  const auto d = sample_idx();
  write_gz(dir.file("images-idx3-ubyte"), idx_images(d));
  write_raw(dir.file("labels.gz"), idx_labels(d));
  const auto data = hpcnas::data::read_idx(dir.file("images-idx3-ubyte"), dir.file("labels.gz"));
  CHECK(to_bytes(data.images) == d.pixels);
  CHECK(to_vector(data.labels) == as_int64(d.labels));
}

TEST_CASE("read_idx rejects bad files with the path in the message", "[data][idx]") {
  TempDir dir;
  const auto d = sample_idx();
  const auto images = dir.file("img");
  const auto labels = dir.file("lbl");
  write_raw(images, idx_images(d));
  write_raw(labels, idx_labels(d));
  auto read = [&] { hpcnas::data::read_idx(images, labels); };

  SECTION("wrong image magic") {
    write_raw(images, idx_images(d, 0x801));
    require_data_error(read, {images, "magic", "0x00000801"});
  }
  SECTION("wrong label magic") {
    write_gz(labels, idx_labels(d, 0x803));
    require_data_error(read, {labels, "magic"});
  }
  SECTION("truncated raw pixels") {
    auto bytes = idx_images(d);
    bytes.resize(bytes.size() - 7);
    write_raw(images, bytes);
    require_data_error(read, {images, "truncated: expected 60 bytes of pixels, got 53"});
  }
  SECTION("truncated gzip pixels") {
    auto bytes = idx_images(d);
    bytes.resize(bytes.size() - 1);
    write_gz(images, bytes);
    require_data_error(read, {images, "truncated: expected 60 bytes of pixels, got 59"});
  }
  SECTION("truncated gzip stream") {
    write_gz(images, idx_images(sample_idx(50, 28, 28)));
    write_raw(labels, idx_labels(sample_idx(50, 28, 28)));
    const auto size = fs::file_size(images);
    fs::resize_file(images, size / 2);
    require_data_error(read, {images});
  }
  SECTION("truncated header") {
    write_raw(images, Bytes{0, 0, 8});
    require_data_error(read, {images, "truncated"});
  }
  SECTION("truncated labels") {
    auto bytes = idx_labels(d);
    bytes.pop_back();
    write_raw(labels, bytes);
    require_data_error(read, {labels, "truncated"});
  }
  SECTION("missing image file") {
    fs::remove(images);
    require_data_error(read, {images, "no such file"});
  }
  SECTION("missing label file") {
    fs::remove(labels);
    require_data_error(read, {labels, "no such file"});
  }
  SECTION("label count differs from image count") {
    auto fewer = d;
    fewer.labels.pop_back();
    write_raw(labels, idx_labels(fewer));
    require_data_error(read, {labels, images, "4 labels", "5 images"});
  }
  SECTION("label out of range") {
    auto bad = d;
    bad.labels[3] = 10;
    write_raw(labels, idx_labels(bad));
    require_data_error(read, {labels, "label 10 at index 3"});
  }
}

TEST_CASE("read_cifar10 reads records across batches", "[data][cifar]") {
  TempDir dir;
  std::vector<std::string> paths;
  Bytes all_pixels;
  std::vector<std::int64_t> all_labels;
  for (int file = 0; file < 2; ++file) {
    Bytes bytes;
    for (int r = 0; r < 2 + file; ++r) {
      const int label = (file * 3 + r) % 10;
      bytes.push_back(static_cast<std::uint8_t>(label));
      all_labels.push_back(label);
      for (int i = 0; i < 3072; ++i) {
        const auto v = static_cast<std::uint8_t>((i * 13 + r * 5 + file * 101) % 256);
        bytes.push_back(v);
        all_pixels.push_back(v);
      }
    }
    paths.push_back(dir.file("data_batch_" + std::to_string(file + 1) + ".bin"));
    write_raw(paths.back(), bytes);
  }
  const auto data = hpcnas::data::read_cifar10(paths);
  REQUIRE(data.images.sizes() == torch::IntArrayRef({5, 3, 32, 32}));
  CHECK(to_bytes(data.images) == all_pixels);
  CHECK(to_vector(data.labels) == all_labels);
  // Channel-major: the first 1024 pixel bytes of a record are the red plane.
  CHECK(data.images[0][1][0][0].item<int>() == (1024 * 13) % 256);

  SECTION("a single record") {
    const auto one = hpcnas::data::read_cifar10({paths[0]});
    REQUIRE(one.size() == 2);
    CHECK(to_bytes(one.images[1]) == Bytes(all_pixels.begin() + 3072, all_pixels.begin() + 6144));
  }
}

TEST_CASE("read_cifar10 rejects bad files with the path in the message", "[data][cifar]") {
  TempDir dir;
  const auto path = dir.file("data_batch_1.bin");
  SECTION("size not a multiple of a record") {
    write_raw(path, Bytes(3073 + 100, 1));
    require_data_error([&] { hpcnas::data::read_cifar10({path}); }, {path, "3173", "3073"});
  }
  SECTION("empty file") {
    write_raw(path, Bytes{});
    require_data_error([&] { hpcnas::data::read_cifar10({path}); }, {path});
  }
  SECTION("missing file") {
    require_data_error([&] { hpcnas::data::read_cifar10({path}); }, {path, "no such file"});
  }
  SECTION("label out of range") {
    Bytes bytes(2 * 3073, 0);
    bytes[3073] = 10;
    write_raw(path, bytes);
    require_data_error([&] { hpcnas::data::read_cifar10({path}); }, {path, "record 1", "label 10"});
  }
}

TEST_CASE("make_synthetic is deterministic for a seed and balanced", "[data][synthetic]") {
  const auto a = hpcnas::data::make_synthetic(500, 2, 12, 10, 10, 42);
  const auto b = hpcnas::data::make_synthetic(500, 2, 12, 10, 10, 42);
  const auto c = hpcnas::data::make_synthetic(500, 2, 12, 10, 10, 43);
  REQUIRE(a.images.sizes() == torch::IntArrayRef({500, 2, 12, 10}));
  REQUIRE(a.images.dtype() == torch::kUInt8);
  REQUIRE(a.labels.dtype() == torch::kInt64);
  CHECK(torch::equal(a.images, b.images));
  CHECK(torch::equal(a.labels, b.labels));
  CHECK_FALSE(torch::equal(a.images, c.images));
  CHECK(torch::bincount(a.labels).eq(50).all().item<bool>());
  CHECK(a.labels.min().item<std::int64_t>() == 0);
  CHECK(a.labels.max().item<std::int64_t>() == 9);
  require_data_error([] { hpcnas::data::make_synthetic(0, 1, 4, 4, 10, 1); }, {"synthetic"});
}

TEST_CASE("a tiny CNN learns the synthetic set within one epoch", "[data][synthetic]") {
  torch::manual_seed(0);
  auto cfg = synthetic_config(1000);
  cfg.train_subset = 2000;
  const auto splits = hpcnas::data::load_splits(cfg);

  // Two conv-BN-ReLU layers, global pooling and a classifier, trained with the project's default
  // SGD settings (learning rate 0.025, momentum 0.9, batch 64).
  namespace nn = torch::nn;
  nn::Sequential net(nn::Conv2d(nn::Conv2dOptions(1, 16, 3).padding(1)), nn::BatchNorm2d(16),
                     nn::ReLU(), nn::Conv2d(nn::Conv2dOptions(16, 16, 3).padding(1)),
                     nn::BatchNorm2d(16), nn::ReLU(), nn::AdaptiveAvgPool2d(1), nn::Flatten(),
                     nn::Linear(16, 10));
  torch::optim::SGD opt(net->parameters(), torch::optim::SGDOptions(0.025).momentum(0.9));
  const std::int64_t batch = 64;
  for (std::int64_t i = 0; i + batch <= splits.train.size(); i += batch) {
    const auto x = splits.train.images.slice(0, i, i + batch);
    const auto y = splits.train.labels.slice(0, i, i + batch);
    opt.zero_grad();
    torch::nn::functional::cross_entropy(net->forward(x), y).backward();
    opt.step();
  }
  net->eval();
  torch::NoGradGuard no_grad;
  const auto predicted = net->forward(splits.validation.images).argmax(1);
  const double accuracy =
      predicted.eq(splits.validation.labels).to(torch::kDouble).mean().item<double>();
  INFO("validation accuracy " << accuracy);
  CHECK(accuracy > 0.5);
}

TEST_CASE("split_permutation is a seeded permutation", "[data][split]") {
  const auto a = hpcnas::data::split_permutation(1000, 5);
  CHECK(a == hpcnas::data::split_permutation(1000, 5));
  CHECK(a != hpcnas::data::split_permutation(1000, 6));
  auto sorted = a;
  std::sort(sorted.begin(), sorted.end());
  for (std::int64_t i = 0; i < 1000; ++i) {
    REQUIRE(sorted[static_cast<std::size_t>(i)] == i);
  }
  // Pinned values: the split must not change with the compiler or the standard library.
  CHECK(hpcnas::data::split_permutation(8, 1) == std::vector<std::int64_t>{4, 6, 3, 5, 1, 7, 2, 0});
  CHECK(hpcnas::data::split_permutation(0, 1).empty());
}

TEST_CASE("load_splits on the synthetic set", "[data][split]") {
  const auto splits = hpcnas::data::load_splits(synthetic_config());
  REQUIRE(splits.train.size() == 10000);
  REQUIRE(splits.validation.size() == 2000);
  CHECK(splits.channels == 1);
  CHECK(splits.height == 16);
  CHECK(splits.width == 16);
  CHECK(splits.num_classes == 10);
  CHECK(splits.train.images.dtype() == torch::kFloat32);
  CHECK(splits.train.images.sizes() == torch::IntArrayRef({10000, 1, 16, 16}));
  CHECK(splits.validation.images.sizes() == torch::IntArrayRef({2000, 1, 16, 16}));
  CHECK(splits.train.labels.dtype() == torch::kInt64);
  CHECK(splits.train.images.mean().item<double>() == Approx(0).margin(1e-4));
  CHECK(splits.train.images.std(false).item<double>() == Approx(1).epsilon(1e-4));
  CHECK(std::abs(splits.validation.images.mean().item<double>()) < 0.05);

  SECTION("train and validation are disjoint and cover the set") {
    const auto train = image_keys(splits.train.images);
    const auto validation = image_keys(splits.validation.images);
    CHECK(train.size() == 10000);
    CHECK(validation.size() == 2000);
    std::size_t shared = 0;
    for (const auto& key : validation) {
      shared += train.count(key);
    }
    CHECK(shared == 0);
  }
  SECTION("the split is deterministic for a seed") {
    const auto again = hpcnas::data::load_splits(synthetic_config());
    CHECK(torch::equal(again.train.images, splits.train.images));
    CHECK(torch::equal(again.validation.labels, splits.validation.labels));
    const auto other = hpcnas::data::load_splits(synthetic_config(2000, 8));
    CHECK_FALSE(torch::equal(other.validation.images, splits.validation.images));
  }
  SECTION("subsets take the first images of each part") {
    auto cfg = synthetic_config();
    cfg.train_subset = 300;
    cfg.val_subset = 100;
    const auto sub = hpcnas::data::load_splits(cfg);
    REQUIRE(sub.train.size() == 300);
    REQUIRE(sub.validation.size() == 100);
    CHECK(torch::equal(sub.train.images, splits.train.images.slice(0, 0, 300)));
    CHECK(torch::equal(sub.train.labels, splits.train.labels.slice(0, 0, 300)));
    CHECK(torch::equal(sub.validation.images, splits.validation.images.slice(0, 0, 100)));
  }
}

TEST_CASE("load_splits rejects bad settings", "[data][split]") {
  SECTION("val_size as large as the set") {
    require_data_error([] { hpcnas::data::load_splits(synthetic_config(12000)); },
                       {"--val-size", "12000", "11999"});
  }
  SECTION("val_size zero") {
    require_data_error([] { hpcnas::data::load_splits(synthetic_config(0)); }, {"--val-size"});
  }
  SECTION("train_subset larger than the train part") {
    auto cfg = synthetic_config();
    cfg.train_subset = 10001;
    require_data_error([&] { hpcnas::data::load_splits(cfg); }, {"--train-subset", "10000"});
  }
  SECTION("val_subset larger than the validation part") {
    auto cfg = synthetic_config();
    cfg.val_subset = 2001;
    require_data_error([&] { hpcnas::data::load_splits(cfg); }, {"--val-subset", "2000"});
  }
  SECTION("unknown dataset") {
    DataConfig cfg;
    cfg.dataset = "imagenet";
    require_data_error([&] { hpcnas::data::load_splits(cfg); },
                       {"imagenet", "fashion-mnist", "mnist", "cifar10", "synthetic"});
  }
  SECTION("cifar10 without a folder") {
    DataConfig cfg;
    cfg.dataset = "cifar10";
    require_data_error([&] { hpcnas::data::load_splits(cfg); }, {"--data-dir", "data_batch_1.bin"});
  }
  SECTION("IDX folder without the files") {
    TempDir dir;
    DataConfig cfg;
    cfg.dataset = "mnist";
    cfg.data_dir = dir.str();
    require_data_error([&] { hpcnas::data::load_splits(cfg); },
                       {dir.file("train-images-idx3-ubyte")});
  }
}

TEST_CASE("load_splits reads IDX and CIFAR-10 folders", "[data][split]") {
  TempDir dir;
  SECTION("IDX, raw files") {
    const auto d = sample_idx(20, 5, 6);
    write_raw(dir.file("train-images-idx3-ubyte"), idx_images(d));
    write_raw(dir.file("train-labels-idx1-ubyte"), idx_labels(d));
    DataConfig cfg;
    cfg.dataset = "mnist";
    cfg.data_dir = dir.str();
    cfg.val_size = 4;
    const auto splits = hpcnas::data::load_splits(cfg);
    CHECK(splits.train.size() == 16);
    CHECK(splits.validation.size() == 4);
    CHECK(splits.channels == 1);
    CHECK(splits.height == 5);
    CHECK(splits.width == 6);
  }
  SECTION("IDX, .gz preferred over raw") {
    const auto d = sample_idx(20, 5, 6);
    write_gz(dir.file("train-images-idx3-ubyte.gz"), idx_images(d));
    write_gz(dir.file("train-labels-idx1-ubyte.gz"), idx_labels(d));
    write_raw(dir.file("train-images-idx3-ubyte"), Bytes{1, 2, 3});
    DataConfig cfg;
    cfg.dataset = "fashion-mnist";
    cfg.data_dir = dir.str();
    cfg.val_size = 4;
    CHECK(hpcnas::data::load_splits(cfg).train.size() == 16);
  }
  SECTION("CIFAR-10, five batches") {
    for (int i = 1; i <= 5; ++i) {
      Bytes bytes(4 * 3073);
      for (std::size_t j = 0; j < bytes.size(); ++j) {
        bytes[j] = static_cast<std::uint8_t>((j * 31 + i) % 256);
      }
      for (int r = 0; r < 4; ++r) {
        bytes[r * 3073] = static_cast<std::uint8_t>((r + i) % 10);
      }
      write_raw(dir.file("data_batch_" + std::to_string(i) + ".bin"), bytes);
    }
    DataConfig cfg;
    cfg.dataset = "cifar10";
    cfg.data_dir = dir.str();
    cfg.val_size = 5;
    const auto splits = hpcnas::data::load_splits(cfg);
    CHECK(splits.train.size() == 15);
    CHECK(splits.validation.size() == 5);
    CHECK(splits.channels == 3);
    CHECK(splits.height == 32);
    CHECK(splits.width == 32);
    const auto per_channel = splits.train.images.mean({0, 2, 3});
    CHECK(per_channel.abs().max().item<double>() < 1e-4);
  }
  SECTION("CIFAR-10, a missing batch is named") {
    write_raw(dir.file("data_batch_1.bin"), Bytes(3073, 0));
    DataConfig cfg;
    cfg.dataset = "cifar10";
    cfg.data_dir = dir.str();
    cfg.val_size = 1;
    require_data_error([&] { hpcnas::data::load_splits(cfg); },
                       {dir.file("data_batch_2.bin"), "no such file"});
  }
}

TEST_CASE("load_splits reads the installed Fashion-MNIST", "[data][fashion]") {
  DataConfig cfg;
  cfg.dataset = "fashion-mnist";
  cfg.val_size = 10000;
  cfg.split_seed = 3;
  const auto splits = hpcnas::data::load_splits(cfg);
  REQUIRE(splits.train.size() == 50000);
  REQUIRE(splits.validation.size() == 10000);
  CHECK(splits.channels == 1);
  CHECK(splits.height == 28);
  CHECK(splits.width == 28);
  CHECK(splits.train.images.sizes() == torch::IntArrayRef({50000, 1, 28, 28}));
  CHECK(splits.train.images.mean().item<double>() == Approx(0).margin(1e-3));
  CHECK(splits.train.images.std(false).item<double>() == Approx(1).epsilon(1e-3));
  // Fashion-MNIST's training set is balanced: 6000 images per class.
  const auto counts = torch::bincount(torch::cat({splits.train.labels, splits.validation.labels}));
  CHECK(counts.eq(6000).all().item<bool>());
}
