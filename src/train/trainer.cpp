#include "hpcnas/train/trainer.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <torch/csrc/autograd/profiler_legacy.h>
#include <torch/torch.h>

#include "hpcnas/data/dataset.hpp"
#include "hpcnas/data/text_dataset.hpp"
#include "hpcnas/model/network.hpp"
#include "hpcnas/model/operations.hpp"
#include "hpcnas/model/text_classifier.hpp"
#include "hpcnas/train/flat_sgd.hpp"
#include "hpcnas/train/reward.hpp"

namespace hpcnas::train {

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

/// Forward, cross-entropy, backward of one batch; returns the loss (not yet checked).
torch::Tensor forward_backward(model::Network& net, const torch::Tensor& x,
                               const torch::Tensor& y) {
  auto loss = torch::nn::functional::cross_entropy(net->forward(x), y);
  loss.backward();
  return loss;
}

/// Accuracy over `n` validation rows, `batch` at a time, of `correct(start, end)` (the number of
/// rows in [start, end) predicted right); nothing when `interrupted` said so between batches
/// (polled there too, so that a trainer validating a large child still answers a stop and sends
/// its heartbeats).
std::optional<double>
accuracy_over(std::int64_t n, std::int64_t batch, const std::function<bool()>& interrupted,
              const std::function<std::int64_t(std::int64_t, std::int64_t)>& correct) {
  torch::NoGradGuard no_grad;
  if (n == 0)
    return 0.0;
  std::int64_t right = 0;
  for (std::int64_t start = 0; start < n; start += batch) {
    if (interrupted())
      return std::nullopt;
    right += correct(start, std::min(n, start + batch));
  }
  return static_cast<double>(right) / static_cast<double>(n);
}

/// Rows whose highest logit is their label.
std::int64_t count_correct(const torch::Tensor& logits, const torch::Tensor& labels) {
  return logits.argmax(1).eq(labels).sum().item<std::int64_t>();
}

/// Median milliseconds of `repeats` inference forwards of `forward`, after one warm-up (first-call
/// allocations and oneDNN primitive creation).
double median_forward_ms(const std::function<void()>& forward, int repeats) {
  torch::NoGradGuard no_grad;
  forward();
  std::vector<double> times;
  for (int i = 0; i < std::max(repeats, 1); ++i) {
    const auto start = Clock::now();
    forward();
    times.push_back(seconds_since(start) * 1e3);
  }
  return median(times);
}

/// What differs between the children of the image and the text tasks: the network, how rows of a
/// split are fed to it, and the latency input. Training and validation are shared.
class ChildTask {
public:
  virtual ~ChildTask() = default;
  virtual torch::nn::Module& module() = 0;
  virtual const torch::Tensor& train_labels() const = 0;
  virtual const torch::Tensor& validation_labels() const = 0;
  /// Logits of the training rows `index`.
  virtual torch::Tensor train_logits(const torch::Tensor& index) = 0;
  /// Logits of the validation rows [start, end).
  virtual torch::Tensor validation_logits(std::int64_t start, std::int64_t end) = 0;
  virtual double latency_ms(int batch, int repeats) = 0;
  virtual std::int64_t flops() = 0;
};

/// Cross-entropy of the training rows `index` and their logits, the backward done; the loss is not
/// yet checked.
std::pair<torch::Tensor, torch::Tensor> forward_backward(ChildTask& child,
                                                         const torch::Tensor& index) {
  const auto logits = child.train_logits(index);
  auto loss =
      torch::nn::functional::cross_entropy(logits, child.train_labels().index_select(0, index));
  loss.backward();
  return {loss, logits};
}

std::optional<double> validation_accuracy(ChildTask& child, std::int64_t batch,
                                          const std::function<bool()>& interrupted) {
  child.module().eval();
  const auto& labels = child.validation_labels();
  return accuracy_over(
      labels.size(0), batch, interrupted, [&](std::int64_t start, std::int64_t end) {
        return count_correct(child.validation_logits(start, end), labels.slice(0, start, end));
      });
}

class ImageChild : public ChildTask {
public:
  ImageChild(const space::Genotype& genotype, const config::NetworkConfig& network,
             const data::DataSplits& splits)
      : splits_(splits),
        net_(genotype, child_network_options(network, splits.channels, splits.num_classes)) {}
  torch::nn::Module& module() override { return *net_; }
  const torch::Tensor& train_labels() const override { return splits_.train.labels; }
  const torch::Tensor& validation_labels() const override { return splits_.validation.labels; }
  torch::Tensor train_logits(const torch::Tensor& index) override {
    return net_->forward(model::to_channels_last(splits_.train.images.index_select(0, index)));
  }
  torch::Tensor validation_logits(std::int64_t start, std::int64_t end) override {
    return net_->forward(model::to_channels_last(splits_.validation.images.slice(0, start, end)));
  }
  double latency_ms(int batch, int repeats) override {
    net_->eval();
    const auto x = model::to_channels_last(
        torch::randn({std::max(batch, 1), splits_.channels, splits_.height, splits_.width}));
    return median_forward_ms([&] { net_->forward(x); }, repeats);
  }
  std::int64_t flops() override {
    return model::count_flops(net_, splits_.channels, splits_.height, splits_.width);
  }

private:
  const data::DataSplits& splits_;
  model::Network net_;
};

class TextChild : public ChildTask {
public:
  TextChild(const space::RecurrentGenotype& genotype, const config::NetworkConfig& network,
            const data::TextSplits& splits)
      : splits_(splits), net_(genotype, text_classifier_options(network, splits)) {}
  torch::nn::Module& module() override { return *net_; }
  const torch::Tensor& train_labels() const override { return splits_.train.labels; }
  const torch::Tensor& validation_labels() const override { return splits_.validation.labels; }
  torch::Tensor train_logits(const torch::Tensor& index) override {
    const auto& train = splits_.train;
    return net_->forward(train.tokens.index_select(0, index), train.lengths.index_select(0, index));
  }
  torch::Tensor validation_logits(std::int64_t start, std::int64_t end) override {
    const auto& val = splits_.validation;
    return net_->forward(val.tokens.slice(0, start, end), val.lengths.slice(0, start, end));
  }
  /// Texts of the split's longest length (at most --max-tokens) of words drawn from the
  /// vocabulary, the unknown word included (a vocabulary may hold nothing else).
  double latency_ms(int batch, int repeats) override {
    net_->eval();
    const auto steps = splits_.train.tokens.size(1);
    const auto tokens = torch::randint(data::Vocabulary::kUnknownId,
                                       static_cast<std::int64_t>(splits_.vocabulary.size()),
                                       {std::max(batch, 1), steps}, torch::kLong);
    const auto lengths = torch::full({std::max(batch, 1)}, steps, torch::kLong);
    return median_forward_ms([&] { net_->forward(tokens, lengths); }, repeats);
  }
  /// Not counted for recurrent cells: 0.
  std::int64_t flops() override { return 0; }

private:
  const data::TextSplits& splits_;
  model::TextClassifier net_;
};

std::string where(int epoch, std::int64_t step) {
  return "epoch " + std::to_string(epoch + 1) + ", step " + std::to_string(step + 1);
}

/// Parameters, buffers (batch-norm statistics) and the momentum of a child whose training an ASHA
/// promotion may continue; written to a temporary file and renamed, so a file is whole or absent.
void save_weights(const std::string& path, torch::nn::Module& net, const FlatSgd& sgd) {
  std::vector<torch::Tensor> tensors{sgd.packed(sgd.params())};
  if (sgd.momentum_buffer().defined())
    tensors.push_back(sgd.packed(sgd.momentum_buffer()));
  for (const auto& b : net.buffers())
    tensors.push_back(b);
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  const std::string temporary = path + ".tmp";
  torch::save(tensors, temporary);
  std::filesystem::rename(temporary, path);
}

void load_weights(const std::string& path, std::int64_t id, torch::nn::Module& net, FlatSgd& sgd) {
  if (!std::filesystem::exists(path))
    throw std::runtime_error("cannot continue evaluation " + std::to_string(id) + ": its weights " +
                             path + " are missing");
  std::vector<torch::Tensor> tensors;
  torch::load(tensors, path);
  const auto buffers = net.buffers();
  const std::size_t expected = 1 + (sgd.momentum_buffer().defined() ? 1 : 0) + buffers.size();
  if (tensors.size() != expected || tensors[0].numel() != sgd.parameter_count())
    throw std::runtime_error("cannot continue evaluation " + std::to_string(id) + ": " + path +
                             " holds another network");
  torch::NoGradGuard no_grad;
  std::size_t next = 0;
  sgd.unpack(tensors[next++], sgd.params());
  if (sgd.momentum_buffer().defined())
    sgd.unpack(tensors[next++], sgd.momentum_buffer());
  for (auto b : buffers)
    b.copy_(tensors[next++]);
}

/// Trains `child` as `request` says (SGD with momentum on a cosine schedule; continued from saved
/// weights for an ASHA promotion), then measures it into `result`; a timeout, a stop, or a loss
/// that is not finite end it early with that status.
void train_child(ChildTask& child, const config::SearchConfig& cfg, const EvalRequest& request,
                 const std::function<bool()>& interrupted, const EpochCallback& on_epoch,
                 EvalResult& result, Clock::time_point start) {
  const auto& tc = cfg.train;
  result.params = model::count_parameters(child.module());
  result.flops = child.flops();

  const std::int64_t n = child.train_labels().size(0);
  const std::int64_t batch = std::max(tc.batch_size, 1);
  // A last batch of one row cannot be batch-normalised in training mode: drop it.
  std::int64_t steps_per_epoch = n / batch + (n % batch >= 2 ? 1 : 0);
  if (steps_per_epoch == 0) {
    throw std::invalid_argument("training split has " + std::to_string(n) +
                                " rows: too few to train");
  }
  // With a scheduler the learning rate follows one schedule over --max-epochs, of which a
  // child at a rung of e epochs has trained the first e: a promoted child continues on it.
  const int epochs = request.epochs > 0 ? request.epochs : tc.epochs;
  const auto& scheduler = cfg.scheduler;
  const int schedule_epochs = scheduler.asha() ? scheduler.max_epochs : epochs;
  const int first_epoch = request.continues >= 0 ? request.from_epochs : 0;
  const std::int64_t total_steps = steps_per_epoch * std::max(schedule_epochs, 0);
  FlatSgd sgd(child.module().parameters(), tc.momentum, tc.weight_decay, tc.grad_clip);
  if (request.continues >= 0)
    load_weights(weights_path(cfg.out, request.continues), request.continues, child.module(), sgd);
  auto generator = at::detail::createCPUGenerator(request.seed);
  // The epochs done draw their orders too, so that a continuation with the seed of the run it
  // continues retraces that run exactly (a unit test checks it).
  for (int epoch = 0; epoch < first_epoch; ++epoch)
    torch::randperm(n, generator, torch::kLong);

  child.module().train();
  std::int64_t global_step = steps_per_epoch * first_epoch;
  for (int epoch = first_epoch; epoch < epochs; ++epoch) {
    const auto epoch_start = Clock::now();
    double loss_sum = 0;
    std::int64_t rows = 0;
    std::int64_t correct = 0;
    const auto perm = torch::randperm(n, generator, torch::kLong);
    for (std::int64_t s = 0; s < steps_per_epoch; ++s, ++global_step) {
      if (tc.eval_timeout > 0 && seconds_since(start) > tc.eval_timeout) {
        std::ostringstream msg;
        msg << "timed out after " << seconds_since(start) << " s at " << where(epoch, s)
            << " (eval timeout " << tc.eval_timeout << " s)";
        result.status = EvalStatus::kTimeout;
        result.message = msg.str();
        result.train_seconds = seconds_since(start);
        return;
      }
      if (interrupted()) {
        result.status = EvalStatus::kInterrupted;
        result.message = "interrupted at " + where(epoch, s);
        return;
      }
      sgd.zero_grad();
      const auto index = perm.slice(0, s * batch, std::min(n, (s + 1) * batch));
      const auto [loss, logits] = forward_backward(child, index);
      const double value = loss.item<double>();
      if (!std::isfinite(value)) {
        result.status = EvalStatus::kDiverged;
        result.message = "loss is " + std::to_string(value) + " at " + where(epoch, s);
        result.train_seconds = seconds_since(start);
        return;
      }
      sgd.step(cosine_lr(tc.learning_rate, tc.min_learning_rate, global_step, total_steps));
      if (on_epoch) {
        loss_sum += value * static_cast<double>(index.size(0));
        rows += index.size(0);
        correct += count_correct(logits.detach(), child.train_labels().index_select(0, index));
      }
    }
    if (on_epoch)
      on_epoch({request.id, epoch, epochs, loss_sum / static_cast<double>(rows),
                static_cast<double>(correct) / static_cast<double>(rows),
                seconds_since(epoch_start)});
  }
  result.train_seconds = seconds_since(start);
  if (scheduler.asha() && epochs < scheduler.max_epochs)
    save_weights(weights_path(cfg.out, request.id), child.module(), sgd);
  const auto accuracy = validation_accuracy(child, std::max(tc.batch_size, 256), interrupted);
  if (!accuracy) {
    result.status = EvalStatus::kInterrupted;
    result.message = "interrupted during validation";
    return;
  }
  result.val_accuracy = *accuracy;
  result.latency_ms = child.latency_ms(tc.latency_batch, tc.latency_repeats);
  result.status = EvalStatus::kOk;
}

/// Runs `train` into a result for `request`, turning any exception into an error result, and
/// computes its reward.
EvalResult evaluate_with(const config::SearchConfig& cfg, const EvalRequest& request, int rank,
                         const std::function<void(EvalResult&, Clock::time_point)>& train) {
  EvalResult result;
  result.id = request.id;
  result.genotype = request.genotype;
  result.rank = rank;
  result.started = unix_time();
  const auto start = Clock::now();
  try {
    train(result, start);
  } catch (const c10::Error& e) {
    result.status = EvalStatus::kError;
    result.message = e.what_without_backtrace();
  } catch (const std::exception& e) {
    result.status = EvalStatus::kError;
    result.message = e.what();
  } catch (...) {
    result.status = EvalStatus::kError;
    result.message = "unknown exception";
  }
  if (result.status != EvalStatus::kOk) {
    result.val_accuracy = 0;
  }
  result.reward = compute_reward(cfg.reward, result);
  result.finished = unix_time();
  if (result.train_seconds == 0) {
    result.train_seconds = seconds_since(start);
  }
  return result;
}

/// Trains image children on an image dataset, text children (recurrent cells) on a text one.
class TrainingEvaluator : public Evaluator {
public:
  TrainingEvaluator(const config::SearchConfig& cfg, int rank, EpochCallback on_epoch)
      : cfg_(cfg), rank_(rank), on_epoch_(std::move(on_epoch)) {
    if (cfg_.train.threads > 0) {
      torch::set_num_threads(cfg_.train.threads);
    }
    if (config::is_text_dataset(cfg_.data.dataset))
      text_splits_ = data::load_text_splits(cfg_.data);
    else
      image_splits_ = data::load_splits(cfg_.data);
  }

  EvalResult evaluate(const EvalRequest& request) override {
    const auto interrupt = [this] { return interrupted(); };
    if (text_splits_)
      return evaluate_text_child(cfg_, *text_splits_, request.genotype.recurrent(), request, rank_,
                                 interrupt, on_epoch_);
    return evaluate_with(cfg_, request, rank_, [&](EvalResult& result, Clock::time_point start) {
      torch::manual_seed(request.seed);
      ImageChild child(request.genotype.image(), cfg_.network, *image_splits_);
      train_child(child, cfg_, request, interrupt, on_epoch_, result, start);
    });
  }

private:
  config::SearchConfig cfg_;
  int rank_;
  EpochCallback on_epoch_;
  std::optional<data::DataSplits> image_splits_;
  std::optional<data::TextSplits> text_splits_;
};

} // namespace

model::TextClassifierOptions text_classifier_options(const config::NetworkConfig& network,
                                                     const data::TextSplits& splits) {
  model::TextClassifierOptions options;
  options.vocabulary = static_cast<std::int64_t>(splits.vocabulary.size());
  options.embedding = network.embedding;
  options.hidden = network.hidden;
  options.num_classes = splits.num_classes();
  return options;
}

EvalResult evaluate_text_child(const config::SearchConfig& cfg, const data::TextSplits& splits,
                               const space::RecurrentGenotype& genotype, const EvalRequest& request,
                               int rank, const std::function<bool()>& interrupted,
                               const EpochCallback& on_epoch) {
  return evaluate_with(cfg, request, rank, [&](EvalResult& result, Clock::time_point start) {
    torch::manual_seed(request.seed);
    TextChild child(genotype, cfg.network, splits);
    train_child(child, cfg, request, interrupted, on_epoch, result, start);
  });
}

std::string weights_path(const std::string& run_file, std::int64_t id) {
  return run_file + ".weights/" + std::to_string(id) + ".pt";
}

std::unique_ptr<Evaluator> make_training_evaluator(const config::SearchConfig& cfg, int rank,
                                                   EpochCallback on_epoch) {
  return std::make_unique<TrainingEvaluator>(cfg, rank, std::move(on_epoch));
}

double median(std::vector<double> values) {
  if (values.empty()) {
    return 0;
  }
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

model::NetworkOptions child_network_options(const config::NetworkConfig& network, int in_channels,
                                            int num_classes) {
  model::NetworkOptions options;
  options.in_channels = in_channels;
  options.num_classes = num_classes;
  options.channels = network.channels;
  options.layers = network.layers;
  options.stem_multiplier = network.stem_multiplier;
  return options;
}

OperatorTrace::OperatorTrace(const std::string& path) {
  if (!path.empty())
    profile_ = std::make_shared<torch::autograd::profiler::RecordProfile>(path);
}

double bench_child_step(const config::BenchConfig& cfg) {
  const auto& shape = cfg.shape;
  if (cfg.threads > 0) {
    torch::set_num_threads(cfg.threads);
  }
  torch::manual_seed(0);
  model::Network net(space::darts_v2(), child_network_options(cfg.network, shape[0], 10));
  net->train();
  FlatSgd sgd(net->parameters(), 0.9, 3e-4, 5.0);
  const auto x =
      model::to_channels_last(torch::randn({cfg.batch_size, shape[0], shape[1], shape[2]}));
  const auto y = torch::randint(0, 10, {cfg.batch_size}, torch::kLong);
  std::vector<double> times;
  std::unique_ptr<OperatorTrace> trace;
  for (int step = 0; step < cfg.warmup + std::max(cfg.steps, 1); ++step) {
    if (step == cfg.warmup)
      trace = std::make_unique<OperatorTrace>(cfg.profile);
    const auto start = Clock::now();
    sgd.zero_grad();
    forward_backward(net, x, y);
    sgd.step(0.025);
    if (step >= cfg.warmup) {
      times.push_back(seconds_since(start));
    }
  }
  return median(times);
}

} // namespace hpcnas::train
