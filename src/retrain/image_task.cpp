// The final training of an image genotype: DARTS's evaluation network with augmentation, an
// auxiliary head and drop-path, and its ONNX export.

#include <algorithm>

#include "augment.hpp"
#include "hpcnas/data/dataset.hpp"
#include "hpcnas/deploy/onnx_export.hpp"
#include "hpcnas/model/network.hpp"
#include "training_task.hpp"

namespace hpcnas::retrain {
namespace {

class ImageTask : public TrainingTask {
public:
  ImageTask(const config::FinalTrainConfig& cfg, const space::Genotype& genotype,
            torch::Device device)
      : cfg_(cfg), device_(device), data_(data::load_final_data(cfg.data, cfg.holdout)) {
    for (const auto& stats : data_.statistics)
      augment_options_.black.push_back(static_cast<float>(-stats.mean / stats.stdev));
    augment_options_.crop_padding = cfg.crop_padding;
    augment_options_.flip = cfg.flip;
    augment_options_.cutout = cfg.cutout;

    torch::manual_seed(cfg.seed);
    model::NetworkOptions options;
    options.in_channels = data_.channels;
    options.num_classes = data_.num_classes;
    options.channels = cfg.network.channels;
    options.layers = cfg.network.layers;
    options.stem_multiplier = cfg.network.stem_multiplier;
    options.auxiliary_head = cfg.auxiliary_weight > 0;
    options.image_size = data_.height;
    net_ = model::Network(genotype, options);
  }

  torch::nn::Module& module() override { return *net_; }
  int classes() const override { return data_.num_classes; }
  const char* rows_name() const override { return "images"; }
  bool drops_paths() const override { return true; }
  std::int64_t train_size() const override { return data_.train.size(); }
  std::int64_t size(Split split) const override { return set(split).size(); }

  TrainRows train(const std::vector<std::int64_t>& rows, const std::vector<std::uint64_t>& keys,
                  double drop_path) override {
    const auto index = torch::tensor(rows, torch::kLong);
    const auto x =
        augment(data_.train.images.index_select(0, index).contiguous(), keys, augment_options_)
            .to(device_);
    const auto y = data_.train.labels.index_select(0, index).to(device_);
    auto keep = drop_path_keep(keys, net_->cells(), space::kEdgesPerCell, drop_path);
    if (keep.defined())
      keep = keep.to(device_);
    const auto out = net_->forward_train(x, keep);
    auto loss = torch::nn::functional::cross_entropy(out.logits, y);
    if (out.auxiliary_logits.defined())
      loss = loss +
             cfg_.auxiliary_weight * torch::nn::functional::cross_entropy(out.auxiliary_logits, y);
    return {loss, out.logits, y};
  }

  torch::Tensor logits(Split split, const torch::Tensor& index) override {
    return net_->forward(set(split).images.index_select(0, index).to(device_)).to(torch::kCPU);
  }
  torch::Tensor labels(Split split, const torch::Tensor& index) const override {
    return set(split).labels.index_select(0, index);
  }

  ExportSample export_onnx(const std::string& path, int images) override {
    deploy::OnnxInput input;
    input.channels = data_.channels;
    input.height = data_.height;
    input.width = data_.width;
    input.classes = data_.num_classes;
    for (const auto& stats : data_.statistics) {
      input.mean.push_back(stats.mean / 255.0);
      input.stdev.push_back(stats.stdev / 255.0);
    }
    net_->eval();
    deploy::export_onnx(net_, input, path);

    // The check sample: test images as the model takes them, and hpcnas's logits of them.
    ExportSample sample;
    sample.onnx_path = path;
    const auto n = std::min<std::int64_t>(images, data_.test.size());
    const std::vector<std::int64_t> shape{1, input.channels, 1, 1};
    const auto mean = torch::tensor(input.mean, torch::kFloat64).to(torch::kFloat32).view(shape);
    const auto stdev = torch::tensor(input.stdev, torch::kFloat64).to(torch::kFloat32).view(shape);
    const auto raw = (data_.test.images.slice(0, 0, n) * stdev + mean).contiguous();
    torch::Tensor logits;
    {
      torch::NoGradGuard no_grad;
      logits = net_->forward(((raw - mean) / stdev).to(device_)).to(torch::kCPU).contiguous();
    }
    net_->train();
    sample.image_shape = raw.sizes().vec();
    sample.images.assign(raw.data_ptr<float>(), raw.data_ptr<float>() + raw.numel());
    sample.logits_shape = logits.sizes().vec();
    sample.logits.assign(logits.data_ptr<float>(), logits.data_ptr<float>() + logits.numel());
    return sample;
  }

private:
  const data::Dataset& set(Split split) const {
    return split == Split::kTest ? data_.test : data_.holdout;
  }

  config::FinalTrainConfig cfg_;
  torch::Device device_;
  data::FinalData data_;
  AugmentOptions augment_options_;
  model::Network net_{nullptr};
};

} // namespace

std::unique_ptr<TrainingTask> make_image_task(const config::FinalTrainConfig& cfg,
                                              const space::Genotype& genotype,
                                              torch::Device device) {
  return std::make_unique<ImageTask>(cfg, genotype, device);
}

} // namespace hpcnas::retrain
