#include <array>
#include <cmath>
#include <filesystem>
#include <limits>
#include <numeric>
#include <random>

#include "hpcnas/data/dataset.hpp"
#include "memory.hpp"

namespace hpcnas::data {
namespace {

namespace fs = std::filesystem;

constexpr std::int64_t kSyntheticSize = 12000;
constexpr std::int64_t kSyntheticTestSize = 2000;
constexpr int kSyntheticSide = 16;
constexpr std::uint64_t kSyntheticSeed = 1234;
constexpr int kNumClasses = 10;
constexpr int kCifarBatches = 5;
constexpr const char* kValidNames = "fashion-mnist, mnist, cifar10, synthetic";

bool is_file(const fs::path& path) {
  std::error_code ec;
  return fs::is_regular_file(path, ec);
}

// Prefers name.gz, then name; if neither exists, names the .gz path in the error.
std::string find_idx_file(const fs::path& dir, const std::string& name,
                          const std::string& dataset) {
  const auto gz = dir / (name + ".gz");
  if (is_file(gz)) {
    return gz.string();
  }
  const auto raw = dir / name;
  if (is_file(raw)) {
    return raw.string();
  }
  throw DataError(raw.string() + "(.gz): no such file (dataset " + dataset +
                  "; set --data-dir to the folder holding it)");
}

std::vector<std::string> cifar_batches(const std::string& data_dir) {
  if (data_dir.empty()) {
    throw DataError("dataset cifar10 needs --data-dir (folder with data_batch_1.bin ... "
                    "data_batch_5.bin)");
  }
  fs::path dir(data_dir);
  // Accept the parent of the folder that the CIFAR-10 archive unpacks to.
  if (!is_file(dir / "data_batch_1.bin") &&
      is_file(dir / "cifar-10-batches-bin" / "data_batch_1.bin")) {
    dir /= "cifar-10-batches-bin";
  }
  std::vector<std::string> paths;
  for (int i = 1; i <= kCifarBatches; ++i) {
    paths.push_back((dir / ("data_batch_" + std::to_string(i) + ".bin")).string());
  }
  return paths;
}

Dataset load_training_set(const config::DataConfig& cfg) {
  const auto& name = cfg.dataset;
  const std::string dir = cfg.data_dir.empty() ? default_data_dir(name) : cfg.data_dir;
  if (name == "fashion-mnist" || name == "mnist") {
    const auto images = find_idx_file(dir, "train-images-idx3-ubyte", name);
    const auto labels = find_idx_file(dir, "train-labels-idx1-ubyte", name);
    return read_idx(images, labels);
  }
  if (name == "cifar10") {
    return read_cifar10(cifar_batches(dir));
  }
  if (name == "synthetic") {
    return make_synthetic(kSyntheticSize, 1, kSyntheticSide, kSyntheticSide, kNumClasses,
                          kSyntheticSeed);
  }
  throw DataError("unknown dataset '" + name + "' (valid: " + kValidNames + ")");
}

// The dataset's test set, never read by a search.
Dataset load_test_set(const config::DataConfig& cfg) {
  const auto& name = cfg.dataset;
  const std::string dir = cfg.data_dir.empty() ? default_data_dir(name) : cfg.data_dir;
  if (name == "fashion-mnist" || name == "mnist") {
    const auto images = find_idx_file(dir, "t10k-images-idx3-ubyte", name);
    const auto labels = find_idx_file(dir, "t10k-labels-idx1-ubyte", name);
    return read_idx(images, labels);
  }
  if (name == "cifar10") {
    const auto train = cifar_batches(dir);
    return read_cifar10({(fs::path(train.front()).parent_path() / "test_batch.bin").string()});
  }
  if (name == "synthetic") {
    return make_synthetic(kSyntheticTestSize, 1, kSyntheticSide, kSyntheticSide, kNumClasses,
                          kSyntheticSeed + 1);
  }
  throw DataError("unknown dataset '" + name + "' (valid: " + kValidNames + ")");
}

// Contiguous uint8 images [N, C, H, W] and int64 labels, or DataError naming the dataset.
Dataset checked(Dataset data, const std::string& dataset) {
  data.images = data.images.contiguous();
  data.labels = data.labels.contiguous();
  if (data.images.dim() != 4 || data.images.scalar_type() != torch::kUInt8 ||
      data.labels.scalar_type() != torch::kInt64) {
    throw DataError("dataset " + dataset + ": expected uint8 images [N,C,H,W], int64 labels");
  }
  return data;
}

using ByteTable = std::vector<std::array<float, 256>>;

// Exact per-channel mean and standard deviation (in byte units) of the given rows, from byte
// histograms.
std::vector<ChannelStatistics> channel_statistics(const torch::Tensor& images,
                                                  const std::int64_t* rows, std::int64_t count) {
  const auto channels = images.size(1);
  const auto plane = images.size(2) * images.size(3);
  const auto* pixels = images.data_ptr<std::uint8_t>();
  std::vector<std::array<std::uint64_t, 256>> histogram(static_cast<std::size_t>(channels));
  for (auto& h : histogram) {
    h.fill(0);
  }
  for (std::int64_t r = 0; r < count; ++r) {
    for (std::int64_t c = 0; c < channels; ++c) {
      const auto* p = pixels + (rows[r] * channels + c) * plane;
      auto& h = histogram[static_cast<std::size_t>(c)];
      for (std::int64_t i = 0; i < plane; ++i) {
        ++h[p[i]];
      }
    }
  }
  std::vector<ChannelStatistics> stats(static_cast<std::size_t>(channels));
  for (std::size_t c = 0; c < stats.size(); ++c) {
    double n = 0, sum = 0, sum_sq = 0;
    for (int v = 0; v < 256; ++v) {
      const auto k = static_cast<double>(histogram[c][v]);
      n += k;
      sum += k * v;
      sum_sq += k * v * v;
    }
    const double mean = sum / n;
    const double var = std::max(0.0, sum_sq / n - mean * mean);
    stats[c] = {mean, var > 1e-12 ? std::sqrt(var) : 1.0};
  }
  return stats;
}

// For each channel the normalised float value of every byte.
ByteTable normalisation_table(const std::vector<ChannelStatistics>& stats) {
  ByteTable table(stats.size());
  for (std::size_t c = 0; c < table.size(); ++c) {
    for (int v = 0; v < 256; ++v) {
      table[c][v] = static_cast<float>((v - stats[c].mean) / stats[c].stdev);
    }
  }
  return table;
}

// Gathers the given rows and maps their bytes through the table in one pass, so each output
// float is written once and no uint8 or unnormalised float copy is made.
Dataset normalised_rows(const Dataset& data, const std::int64_t* rows, std::int64_t count,
                        const ByteTable& table) {
  const auto channels = data.images.size(1);
  const auto plane = data.images.size(2) * data.images.size(3);
  auto images = detail::empty_for_data({count, channels, data.images.size(2), data.images.size(3)},
                                       torch::kFloat32);
  auto labels = torch::empty({count}, torch::kInt64);
  const auto* pixels = data.images.data_ptr<std::uint8_t>();
  const auto* source_labels = data.labels.data_ptr<std::int64_t>();
  auto* out = images.data_ptr<float>();
  auto* out_labels = labels.data_ptr<std::int64_t>();
  for (std::int64_t r = 0; r < count; ++r) {
    out_labels[r] = source_labels[rows[r]];
    for (std::int64_t c = 0; c < channels; ++c) {
      const auto* p = pixels + (rows[r] * channels + c) * plane;
      const auto& t = table[static_cast<std::size_t>(c)];
      auto* o = out + (r * channels + c) * plane;
      for (std::int64_t i = 0; i < plane; ++i) {
        o[i] = t[p[i]];
      }
    }
  }
  return {images, labels};
}

std::int64_t checked_subset(int subset, std::int64_t available, const char* option,
                            const std::string& part) {
  if (subset < 0 || subset > available) {
    throw DataError(std::string(option) + " " + std::to_string(subset) + " must be in [0, " +
                    std::to_string(available) + "]: the " + part + " part holds " +
                    std::to_string(available) + " images");
  }
  return subset == 0 ? available : subset;
}

} // namespace

std::vector<std::int64_t> split_permutation(std::int64_t n, std::uint64_t seed) {
  std::vector<std::int64_t> perm(static_cast<std::size_t>(std::max<std::int64_t>(n, 0)));
  std::iota(perm.begin(), perm.end(), std::int64_t{0});
  std::mt19937_64 rng(seed);
  // Fisher-Yates with rejection sampling: std::uniform_int_distribution is not portable.
  for (std::size_t i = perm.size(); i > 1; --i) {
    const std::uint64_t bound = i;
    const std::uint64_t limit = std::numeric_limits<std::uint64_t>::max() -
                                std::numeric_limits<std::uint64_t>::max() % bound;
    std::uint64_t draw = rng();
    while (draw >= limit) {
      draw = rng();
    }
    std::swap(perm[i - 1], perm[draw % bound]);
  }
  return perm;
}

std::string default_data_dir(const std::string& dataset) {
  if (dataset == "fashion-mnist") {
    return "/usr/share/datasets/fashion-mnist";
  }
  if (dataset == "mnist") {
    return "/usr/share/datasets/mnist";
  }
  return "";
}

DataSplits load_splits(const config::DataConfig& cfg) {
  const auto full = checked(load_training_set(cfg), cfg.dataset);
  const auto total = full.size();
  if (cfg.val_size < 1 || cfg.val_size >= total) {
    throw DataError("--val-size " + std::to_string(cfg.val_size) + " must be in [1, " +
                    std::to_string(total - 1) + "]: dataset " + cfg.dataset + " holds " +
                    std::to_string(total) + " training images");
  }

  const auto perm = split_permutation(total, cfg.split_seed);
  const auto val_count = checked_subset(cfg.val_subset, cfg.val_size, "--val-subset", "validation");
  const auto train_available = total - cfg.val_size;
  const auto train_count =
      checked_subset(cfg.train_subset, train_available, "--train-subset", "training");

  DataSplits out;
  out.channels = static_cast<int>(full.images.size(1));
  out.height = static_cast<int>(full.images.size(2));
  out.width = static_cast<int>(full.images.size(3));
  out.num_classes = kNumClasses;

  // Statistics of the whole training part, so an image is normalised the same way whatever
  // train_subset is.
  const auto* val_rows = perm.data();
  const auto* train_rows = perm.data() + cfg.val_size;
  const auto table =
      normalisation_table(channel_statistics(full.images, train_rows, train_available));
  out.train = normalised_rows(full, train_rows, train_count, table);
  out.validation = normalised_rows(full, val_rows, val_count, table);
  return out;
}

FinalData load_final_data(const config::DataConfig& cfg, int holdout) {
  const auto full = checked(load_training_set(cfg), cfg.dataset);
  const auto test = checked(load_test_set(cfg), cfg.dataset);
  const auto total = full.size();
  if (holdout < 0 || holdout >= total) {
    throw DataError("--holdout " + std::to_string(holdout) + " must be in [0, " +
                    std::to_string(total - 1) + "]: dataset " + cfg.dataset + " holds " +
                    std::to_string(total) + " training images");
  }
  if (test.images.sizes().slice(1) != full.images.sizes().slice(1)) {
    throw DataError("dataset " + cfg.dataset +
                    ": test images differ in shape from the training "
                    "images");
  }
  // The same permutation as a search's split: with --holdout equal to the search's --val-size,
  // the holdout is the search's validation split.
  const auto perm = split_permutation(total, cfg.split_seed);
  const auto train_available = total - holdout;
  const auto train_count =
      checked_subset(cfg.train_subset, train_available, "--train-subset", "training");
  const auto* holdout_rows = perm.data();
  const auto* train_rows = perm.data() + holdout;

  FinalData out;
  out.channels = static_cast<int>(full.images.size(1));
  out.height = static_cast<int>(full.images.size(2));
  out.width = static_cast<int>(full.images.size(3));
  out.num_classes = kNumClasses;
  out.statistics = channel_statistics(full.images, train_rows, train_available);
  const auto table = normalisation_table(out.statistics);
  out.train = normalised_rows(full, train_rows, train_count, table);
  out.holdout = normalised_rows(full, holdout_rows, holdout, table);
  std::vector<std::int64_t> test_rows(static_cast<std::size_t>(test.size()));
  std::iota(test_rows.begin(), test_rows.end(), std::int64_t{0});
  out.test = normalised_rows(test, test_rows.data(), test.size(), table);
  return out;
}

} // namespace hpcnas::data
