#pragma once
/// The records of a final training: one epoch, the test results, the export check sample.
/// Plain data, torch-free: the store writes them, the report reads them.

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

namespace hpcnas::retrain {

/// One epoch of a final training (holdout columns are 0 without --holdout).
struct TrainEpochRow {
  std::int64_t epoch = 0;
  std::int64_t steps = 0;
  double learning_rate = 0;
  double drop_path = 0;
  double train_loss = 0;
  double train_accuracy = 0;
  double test_loss = 0;
  double test_accuracy = 0;
  double holdout_loss = 0;
  double holdout_accuracy = 0;
  double epoch_seconds = 0;
  double allreduce_seconds = 0; ///< mean over ranks

  /// A record (see train::EvalResult): one /epochs column per field.
  template <typename Self, typename Visit> static void fields(Self& self, Visit&& visit) {
    visit("epoch", self.epoch);
    visit("steps", self.steps);
    visit("learning_rate", self.learning_rate);
    visit("drop_path", self.drop_path);
    visit("train_loss", self.train_loss);
    visit("train_accuracy", self.train_accuracy);
    visit("test_loss", self.test_loss);
    visit("test_accuracy", self.test_accuracy);
    visit("holdout_loss", self.holdout_loss);
    visit("holdout_accuracy", self.holdout_accuracy);
    visit("epoch_seconds", self.epoch_seconds);
    visit("allreduce_seconds", self.allreduce_seconds);
  }
};

/// The final model on the test set.
struct TestResults {
  int classes = 0;
  std::vector<std::int64_t> confusion; ///< classes x classes, row = true class
  double loss = 0;
  double accuracy = 0;
  std::vector<double> per_class_accuracy() const {
    std::vector<double> accuracy(static_cast<std::size_t>(classes), 0.0);
    for (int t = 0; t < classes; ++t) {
      std::int64_t total = 0;
      for (int p = 0; p < classes; ++p)
        total += confusion[static_cast<std::size_t>(t * classes + p)];
      if (total > 0)
        accuracy[t] = static_cast<double>(confusion[static_cast<std::size_t>(t * classes + t)]) /
                      static_cast<double>(total);
    }
    return accuracy;
  }
  /// The class with the lowest accuracy (the first of equals; -1 without classes).
  int worst_class() const {
    const auto accuracy = per_class_accuracy();
    return accuracy.empty() ? -1
                            : static_cast<int>(std::min_element(accuracy.begin(), accuracy.end()) -
                                               accuracy.begin());
  }
};

/// Inputs and hpcnas's outputs of the exported model, for checks in another runtime.
struct ExportSample {
  std::string onnx_path;
  std::vector<std::int64_t> image_shape; ///< [n, C, H, W]
  std::vector<float> images;
  std::vector<std::int64_t> logits_shape; ///< [n, classes]
  std::vector<float> logits;
};

} // namespace hpcnas::retrain
