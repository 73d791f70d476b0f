#pragma once
/// Image classification datasets as in-memory tensors: IDX (MNIST, Fashion-MNIST; raw or .gz),
/// CIFAR-10 binary batches, and a small generated synthetic set. Each rank loads its data once.

#include <cstdint>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "hpcnas/config/search_config.hpp"
#include "hpcnas/data/data_error.hpp"

namespace hpcnas::data {

/// Images as float32 [N, C, H, W], normalised per channel to zero mean and unit variance
/// (statistics of the training part); labels as int64 [N].
struct Dataset {
  torch::Tensor images;
  torch::Tensor labels;
  std::int64_t size() const { return labels.defined() ? labels.size(0) : 0; }
};

/// The train and validation parts of a training set, split with a seeded permutation.
/// The test set is never loaded for a reward.
struct DataSplits {
  Dataset train;
  Dataset validation;
  int channels = 0;
  int height = 0;
  int width = 0;
  int num_classes = 10;
};

/// Mean and standard deviation of one channel's pixels, in byte units (0-255).
struct ChannelStatistics {
  double mean = 0;
  double stdev = 1;
};

/// What `hpcnas train` trains and tests on: the training set less `holdout` images kept out for
/// model selection, and the test set, all normalised with the training part's statistics.
struct FinalData {
  Dataset train;
  Dataset holdout; ///< empty without --holdout
  Dataset test;
  std::vector<ChannelStatistics> statistics; ///< the normalisation, per channel
  int channels = 0;
  int height = 0;
  int width = 0;
  int num_classes = 10;
};

/// Reads an IDX image file (magic 0x00000803) and its label file (0x00000801), raw or gzipped
/// (detected from the content, not the name). Pixels come back as uint8 [N, 1, H, W]; labels must
/// be 0-9. Messages have the form "<path>: <what>", e.g. "<path>: truncated: expected X bytes of
/// pixels, got Y".
Dataset read_idx(const std::string& images_path, const std::string& labels_path);

/// Reads CIFAR-10 binary batches (each record: 1 label byte + 3072 pixel bytes, channel-major).
/// uint8 [N,3,32,32]; a file whose size is not a positive multiple of 3073 is rejected.
Dataset read_cifar10(const std::vector<std::string>& batch_paths);

/// A small learnable dataset: class k images carry a class-specific pattern (a grating whose
/// orientation and period depend on k, plus a faint blob) plus seeded noise; classes balanced.
/// uint8 [n, channels, height, width], identical for the same arguments.
Dataset make_synthetic(std::int64_t n, int channels, int height, int width, int classes,
                       std::uint64_t seed);

/// The seeded permutation of 0..n-1 that load_splits uses: the first val_size entries are the
/// validation indices, the rest the training indices. Portable (std::mt19937_64 and a plain
/// Fisher-Yates shuffle), so every rank and process gets the same split for the same seed.
std::vector<std::int64_t> split_permutation(std::int64_t n, std::uint64_t seed);

/// The default folder of a dataset name (e.g. /usr/share/datasets/fashion-mnist).
std::string default_data_dir(const std::string& dataset);

/// Loads the training set named by cfg, splits off cfg.val_size images for validation with a
/// permutation seeded by cfg.split_seed, applies train_subset/val_subset, converts to float and
/// normalises. The mean and standard deviation per channel are those of the whole training part
/// (before train_subset). Throws DataError naming the file or the bad setting.
DataSplits load_splits(const config::DataConfig& cfg);

/// Loads the training set and the test set named by cfg (t10k-* for IDX datasets,
/// test_batch.bin for CIFAR-10, a generated set for synthetic). The first `holdout` images of
/// the permutation seeded by cfg.split_seed are held out (so `holdout` = the search's
/// --val-size gives the search's validation split); cfg.train_subset applies to the rest;
/// val_size and val_subset are ignored. Throws DataError naming the file or the bad setting.
FinalData load_final_data(const config::DataConfig& cfg, int holdout);

} // namespace hpcnas::data
