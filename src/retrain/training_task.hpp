#pragma once
// What an image and a text final training do differently (private to retrain/): their data and
// network, the forward pass of training rows and of evaluation rows, and the ONNX export.
// FinalTraining keeps everything they share: batches, gradients, checkpoints, evaluation sums.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "hpcnas/config/search_config.hpp"
#include "hpcnas/retrain/final_training.hpp"

namespace hpcnas::retrain {

enum class Split { kTest, kHoldout };

/// A forward pass of training rows.
struct TrainRows {
  torch::Tensor loss;   ///< to back-propagate: the mean over the rows, auxiliary head included
  torch::Tensor logits; ///< of the main head [rows, classes]
  torch::Tensor labels; ///< [rows], on the training device
};

class TrainingTask {
public:
  virtual ~TrainingTask() = default;
  virtual torch::nn::Module& module() = 0;
  virtual int classes() const = 0;
  /// "images" or "texts", for messages.
  virtual const char* rows_name() const = 0;
  /// Whether train() applies drop-path (the epoch records then show its probability).
  virtual bool drops_paths() const = 0;
  virtual std::int64_t train_size() const = 0;
  /// Rows of the split; 0 for a holdout the run has not.
  virtual std::int64_t size(Split split) const = 0;
  /// The training rows `rows`; keys[i] seeds row i's random choices (augmentation, drop-path,
  /// with drop-path probability `drop_path`).
  virtual TrainRows train(const std::vector<std::int64_t>& rows,
                          const std::vector<std::uint64_t>& keys, double drop_path) = 0;
  /// Logits (on the CPU) and labels of the rows `index` of `split`, in evaluation mode.
  virtual torch::Tensor logits(Split split, const torch::Tensor& index) = 0;
  virtual torch::Tensor labels(Split split, const torch::Tensor& index) const = 0;
  /// See FinalTraining::export_onnx.
  virtual ExportSample export_onnx(const std::string& path, int rows) = 0;
};

/// The DARTS evaluation network of `genotype` on an image dataset (augmentation, auxiliary head,
/// drop-path), its parameters drawn from the global generator.
std::unique_ptr<TrainingTask> make_image_task(const config::FinalTrainConfig& cfg,
                                              const space::Genotype& genotype,
                                              torch::Device device);
/// The text classifier of a recurrent cell or a baseline on a text dataset: the training split,
/// the validation split as the holdout, the test split.
std::unique_ptr<TrainingTask> make_text_task(const config::FinalTrainConfig& cfg,
                                             const TrainedModel& model, torch::Device device);

} // namespace hpcnas::retrain
