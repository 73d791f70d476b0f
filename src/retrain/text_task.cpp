// The final training of a text classifier: a recurrent cell or a baseline LSTM or GRU on a text
// dataset's training split, the validation split as the holdout, tested on the test split.

#include <stdexcept>

#include "hpcnas/data/text_dataset.hpp"
#include "hpcnas/model/text_classifier.hpp"
#include "hpcnas/train/trainer.hpp"
#include "training_task.hpp"

namespace hpcnas::retrain {
namespace {

model::TextClassifier make_classifier(const TrainedModel& model,
                                      const model::TextClassifierOptions& options) {
  if (model.is_baseline())
    return model::TextClassifier(model.baseline_kind(), options);
  return model::TextClassifier(model.architecture().recurrent(), options);
}

class TextTask : public TrainingTask {
public:
  TextTask(const config::FinalTrainConfig& cfg, const TrainedModel& model, torch::Device device)
      : device_(device), splits_(data::load_text_splits(cfg.data)) {
    torch::manual_seed(cfg.seed);
    net_ = make_classifier(model, train::text_classifier_options(cfg.network, splits_));
  }

  torch::nn::Module& module() override { return *net_; }
  int classes() const override { return splits_.num_classes(); }
  const char* rows_name() const override { return "texts"; }
  bool drops_paths() const override { return false; }
  std::int64_t train_size() const override { return splits_.train.size(); }
  std::int64_t size(Split split) const override { return set(split).size(); }

  TrainRows train(const std::vector<std::int64_t>& rows, const std::vector<std::uint64_t>&,
                  double) override {
    const auto index = torch::tensor(rows, torch::kLong);
    const auto y = splits_.train.labels.index_select(0, index).to(device_);
    const auto logits = forward(splits_.train, index);
    return {torch::nn::functional::cross_entropy(logits, y), logits, y};
  }

  torch::Tensor logits(Split split, const torch::Tensor& index) override {
    return forward(set(split), index).to(torch::kCPU);
  }
  torch::Tensor labels(Split split, const torch::Tensor& index) const override {
    return set(split).labels.index_select(0, index);
  }

  ExportSample export_onnx(const std::string&, int) override {
    throw std::invalid_argument("ONNX export of text classifiers is not supported");
  }

private:
  const data::TextDataset& set(Split split) const {
    return split == Split::kTest ? splits_.test : splits_.validation;
  }
  torch::Tensor forward(const data::TextDataset& set, const torch::Tensor& index) {
    return net_->forward(set.tokens.index_select(0, index).to(device_),
                         set.lengths.index_select(0, index).to(device_));
  }

  torch::Device device_;
  data::TextSplits splits_;
  model::TextClassifier net_{nullptr};
};

} // namespace

std::unique_ptr<TrainingTask> make_text_task(const config::FinalTrainConfig& cfg,
                                             const TrainedModel& model, torch::Device device) {
  return std::make_unique<TextTask>(cfg, model, device);
}

} // namespace hpcnas::retrain
