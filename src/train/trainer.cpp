#include "hpcnas/train/trainer.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <functional>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "hpcnas/data/dataset.hpp"
#include "hpcnas/model/network.hpp"
#include "hpcnas/model/operations.hpp"
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

torch::Tensor batch_of(const torch::Tensor& images, const torch::Tensor& index) {
  return model::to_channels_last(images.index_select(0, index));
}

/// Accuracy on `val`, or nothing when `interrupted` said so between batches (polled there too,
/// so that a trainer validating a large child still answers a stop and sends its heartbeats).
std::optional<double> validation_accuracy(model::Network& net, const data::Dataset& val,
                                          int batch_size, const std::function<bool()>& interrupted) {
  torch::NoGradGuard no_grad;
  net->eval();
  const std::int64_t n = val.size();
  if (n == 0) {
    return 0.0;
  }
  const std::int64_t batch = std::max(batch_size, 256);
  std::int64_t correct = 0;
  for (std::int64_t start = 0; start < n; start += batch) {
    if (interrupted()) {
      return std::nullopt;
    }
    const std::int64_t end = std::min(n, start + batch);
    auto x = model::to_channels_last(val.images.slice(0, start, end));
    auto pred = net->forward(x).argmax(1);
    correct += pred.eq(val.labels.slice(0, start, end)).sum().item<std::int64_t>();
  }
  return static_cast<double>(correct) / static_cast<double>(n);
}

double latency_ms(model::Network& net, const data::DataSplits& splits, int batch, int repeats) {
  torch::NoGradGuard no_grad;
  net->eval();
  auto x = model::to_channels_last(
      torch::randn({std::max(batch, 1), splits.channels, splits.height, splits.width}));
  net->forward(x); // warm-up: first-call allocations and oneDNN primitive creation
  std::vector<double> times;
  for (int i = 0; i < std::max(repeats, 1); ++i) {
    const auto start = Clock::now();
    net->forward(x);
    times.push_back(seconds_since(start) * 1e3);
  }
  return median(times);
}

std::string where(int epoch, std::int64_t step) {
  return "epoch " + std::to_string(epoch + 1) + ", step " + std::to_string(step + 1);
}

/// Parameters, buffers (batch-norm statistics) and the momentum of a child whose training an ASHA
/// promotion may continue; written to a temporary file and renamed, so a file is whole or absent.
void save_weights(const std::string& path, model::Network& net, const FlatSgd& sgd) {
  std::vector<torch::Tensor> tensors{sgd.packed(sgd.params())};
  if (sgd.momentum_buffer().defined())
    tensors.push_back(sgd.packed(sgd.momentum_buffer()));
  for (const auto& b : net->buffers())
    tensors.push_back(b);
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  const std::string temporary = path + ".tmp";
  torch::save(tensors, temporary);
  std::filesystem::rename(temporary, path);
}

void load_weights(const std::string& path, std::int64_t id, model::Network& net, FlatSgd& sgd) {
  if (!std::filesystem::exists(path))
    throw std::runtime_error("cannot continue evaluation " + std::to_string(id) + ": its weights " +
                             path + " are missing");
  std::vector<torch::Tensor> tensors;
  torch::load(tensors, path);
  const auto buffers = net->buffers();
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

class TrainingEvaluator : public Evaluator {
public:
  TrainingEvaluator(const config::SearchConfig& cfg, int rank) : cfg_(cfg), rank_(rank) {
    if (cfg_.train.threads > 0) {
      torch::set_num_threads(cfg_.train.threads);
    }
    splits_ = data::load_splits(cfg_.data);
  }

  EvalResult evaluate(const EvalRequest& request) override {
    EvalResult result;
    result.id = request.id;
    result.genotype = request.genotype;
    result.rank = rank_;
    result.started = unix_time();
    const auto start = Clock::now();
    try {
      run(request, result, start);
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
    result.reward = compute_reward(cfg_.reward, result);
    result.finished = unix_time();
    if (result.train_seconds == 0) {
      result.train_seconds = seconds_since(start);
    }
    return result;
  }

private:
  void run(const EvalRequest& request, EvalResult& result, Clock::time_point start) {
    const auto& tc = cfg_.train;
    torch::manual_seed(request.seed);
    model::Network net(request.genotype,
                       child_network_options(cfg_.network, splits_.channels, splits_.num_classes));
    result.params = model::count_parameters(*net);
    result.flops = model::count_flops(net, splits_.channels, splits_.height, splits_.width);

    const auto& train = splits_.train;
    const std::int64_t n = train.size();
    const std::int64_t batch = std::max(tc.batch_size, 1);
    // A last batch of one image cannot be batch-normalised in training mode: drop it.
    std::int64_t steps_per_epoch = n / batch + (n % batch >= 2 ? 1 : 0);
    if (steps_per_epoch == 0) {
      throw std::invalid_argument("training split has " + std::to_string(n) +
                                  " images: too few to train");
    }
    // With a scheduler the learning rate follows one schedule over --max-epochs, of which a
    // child at a rung of e epochs has trained the first e: a promoted child continues on it.
    const int epochs = request.epochs > 0 ? request.epochs : tc.epochs;
    const auto& scheduler = cfg_.scheduler;
    const int schedule_epochs = scheduler.asha() ? scheduler.max_epochs : epochs;
    const int first_epoch = request.continues >= 0 ? request.from_epochs : 0;
    const std::int64_t total_steps = steps_per_epoch * std::max(schedule_epochs, 0);
    FlatSgd sgd(net->parameters(), tc.momentum, tc.weight_decay, tc.grad_clip);
    if (request.continues >= 0)
      load_weights(weights_path(cfg_.out, request.continues), request.continues, net, sgd);
    auto generator = at::detail::createCPUGenerator(request.seed);
    // The epochs done draw their orders too, so that a continuation with the seed of the run it
    // continues retraces that run exactly (a unit test checks it).
    for (int epoch = 0; epoch < first_epoch; ++epoch)
      torch::randperm(n, generator, torch::kLong);

    net->train();
    std::int64_t global_step = steps_per_epoch * first_epoch;
    for (int epoch = first_epoch; epoch < epochs; ++epoch) {
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
        const auto index = perm.slice(0, s * batch, std::min(n, (s + 1) * batch));
        const auto x = batch_of(train.images, index);
        const auto y = train.labels.index_select(0, index);
        sgd.zero_grad();
        const auto loss = forward_backward(net, x, y);
        const double value = loss.item<double>();
        if (!std::isfinite(value)) {
          result.status = EvalStatus::kDiverged;
          result.message = "loss is " + std::to_string(value) + " at " + where(epoch, s);
          result.train_seconds = seconds_since(start);
          return;
        }
        sgd.step(cosine_lr(tc.learning_rate, tc.min_learning_rate, global_step, total_steps));
      }
    }
    result.train_seconds = seconds_since(start);
    if (scheduler.asha() && epochs < scheduler.max_epochs)
      save_weights(weights_path(cfg_.out, request.id), net, sgd);
    const auto accuracy = validation_accuracy(net, splits_.validation, tc.batch_size,
                                              [this] { return interrupted(); });
    if (!accuracy) {
      result.status = EvalStatus::kInterrupted;
      result.message = "interrupted during validation";
      return;
    }
    result.val_accuracy = *accuracy;
    result.latency_ms = latency_ms(net, splits_, tc.latency_batch, tc.latency_repeats);
    result.status = EvalStatus::kOk;
  }

  config::SearchConfig cfg_;
  int rank_;
  data::DataSplits splits_;
};

} // namespace

std::string weights_path(const std::string& run_file, std::int64_t id) {
  return run_file + ".weights/" + std::to_string(id) + ".pt";
}

std::unique_ptr<Evaluator> make_training_evaluator(const config::SearchConfig& cfg, int rank) {
  return std::make_unique<TrainingEvaluator>(cfg, rank);
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
  for (int step = 0; step < cfg.warmup + std::max(cfg.steps, 1); ++step) {
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
