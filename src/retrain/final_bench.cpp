#include <algorithm>
#include <chrono>
#include <memory>
#include <vector>

#include <torch/torch.h>

#include "augment.hpp"
#include "hpcnas/data/dataset.hpp"
#include "hpcnas/retrain/final_training.hpp"
#include "hpcnas/train/flat_sgd.hpp"
#include "hpcnas/train/trainer.hpp"
#include "training_task.hpp"

namespace hpcnas::retrain {

double bench_final_step(const config::BenchConfig& bench) {
  constexpr double kDropPath = 0.2;
  if (bench.threads > 0)
    torch::set_num_threads(bench.threads);
  config::FinalTrainConfig cfg; // momentum, weight decay and clipping: train's defaults
  cfg.data.dataset = "fashion-mnist";
  cfg.network = bench.network;
  cfg.crop_padding = 2;
  cfg.cutout = 0;
  cfg.flip = true;
  cfg.auxiliary_weight = 0.4;
  const auto task = make_image_task(cfg, space::darts_v2(), torch::kCPU);
  task->module().train();
  train::FlatSgd sgd(task->module().parameters(), cfg.momentum, cfg.weight_decay, cfg.grad_clip);
  const auto order = data::split_permutation(task->train_size(), cfg.seed);
  const std::int64_t batch = bench.batch_size;
  const int steps = bench.warmup + std::max(bench.steps, 1);
  std::vector<double> times;
  std::unique_ptr<train::OperatorTrace> trace;
  for (int step = 0; step < steps; ++step) {
    const std::int64_t first =
        (step * batch) % std::max<std::int64_t>(1, task->train_size() - batch);
    const std::vector<std::int64_t> rows(order.begin() + first, order.begin() + first + batch);
    std::vector<std::uint64_t> keys;
    for (std::int64_t i = 0; i < batch; ++i)
      keys.push_back(image_key(cfg.seed, 0, step, i));
    if (step == bench.warmup)
      trace = std::make_unique<train::OperatorTrace>(bench.profile);
    const auto start = std::chrono::steady_clock::now();
    sgd.zero_grad();
    task->train(rows, keys, kDropPath).loss.backward();
    sgd.step(0.05);
    if (step >= bench.warmup)
      times.push_back(
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  return train::median(times);
}

} // namespace hpcnas::retrain
