#include "hpcnas/retrain/final_training.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <optional>
#include <sstream>
#include <stdexcept>

#include <torch/torch.h>

#include "augment.hpp"
#include "hpcnas/data/dataset.hpp"
#include "hpcnas/model/network.hpp"
#include "hpcnas/space/hash.hpp"
#include "hpcnas/train/flat_sgd.hpp"
#include "training_task.hpp"

namespace hpcnas::retrain {

namespace {

using Clock = std::chrono::steady_clock;
constexpr std::int64_t kStateVersion = 1;
constexpr std::int64_t kEvalBatch = 256;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

std::vector<double> to_vector(const torch::Tensor& t) {
  const auto d = t.detach().to(torch::kCPU, torch::kFloat64).contiguous().view(-1);
  return std::vector<double>(d.data_ptr<double>(), d.data_ptr<double>() + d.numel());
}

torch::Device training_device(const std::string& name, const comm::Collective& tensors) {
  if (name == "cpu")
    return torch::kCPU;
  if (!torch::cuda::is_available())
    throw std::invalid_argument("--device cuda: LibTorch sees no CUDA GPU");
  if (tensors.size() > 1 && tensors.cuda_device() < 0)
    throw std::invalid_argument("--device cuda on " + std::to_string(tensors.size()) +
                                " ranks needs the NCCL backend (configure with "
                                "-DHPCNAS_WITH_NCCL=ON)");
  return {torch::kCUDA, static_cast<c10::DeviceIndex>(std::max(tensors.cuda_device(), 0))};
}

/// Sums of an evaluation over a dataset: loss, correct, count and the confusion matrix.
struct Evaluation {
  double loss_sum = 0;
  double correct = 0;
  double count = 0;
  std::vector<double> confusion;
  double loss() const { return count > 0 ? loss_sum / count : 0; }
  double accuracy() const { return count > 0 ? correct / count : 0; }
};

/// Training so far in the epoch in progress, summed over ranks and segments (a segment ends at
/// a checkpoint), identical on every rank, saved with the state.
struct EpochProgress {
  double loss_sum = 0;
  double correct = 0;
  double count = 0;
  double seconds = 0;           ///< rank 0's wall time of the finished segments
  double allreduce_seconds = 0; ///< mean over ranks, finished segments
  static constexpr int kFields = 5;
  std::array<double, kFields> values() const {
    return {loss_sum, correct, count, seconds, allreduce_seconds};
  }
  static EpochProgress from(const double* v) { return {v[0], v[1], v[2], v[3], v[4]}; }
};

struct EpochPlan {
  int epoch = 0;
  std::vector<std::int64_t> order;
  std::int64_t steps = 0;
  double learning_rate = 0;
  double drop_path = 0;
};

} // namespace

TrainedModel TrainedModel::baseline(const std::string& kind) {
  if (kind != "lstm" && kind != "gru")
    throw std::invalid_argument("baseline '" + kind + "' is not one of: lstm, gru");
  TrainedModel model;
  model.baseline_ = kind;
  return model;
}

TrainedModel TrainedModel::parse(const std::string& text) {
  if (text == "lstm" || text == "gru")
    return baseline(text);
  return space::Architecture::parse(text);
}

const space::Architecture& TrainedModel::architecture() const {
  if (is_baseline())
    throw std::logic_error("a " + baseline_ + " baseline has no architecture");
  return architecture_;
}

struct FinalTraining::Impl {
  config::FinalTrainConfig cfg;
  comm::Collective& host;      ///< bookkeeping, flags and saved state, in host memory
  comm::TimedCollective timed; ///< gradients and parameters, in the memory of `device`
  torch::Device device;
  std::unique_ptr<TrainingTask> task;
  std::unique_ptr<train::FlatSgd> sgd;
  std::vector<std::pair<std::string, torch::Tensor>> statistics; ///< BatchNorm running stats
  bool started = false;
  Position position;
  EpochProgress progress;
  Clock::time_point segment_start;
  std::optional<TestResults> last_test; ///< of the last finished epoch, this process

  Impl(const config::FinalTrainConfig& c, comm::Collective& h, comm::Collective& tensors)
      : cfg(c), host(h), timed(tensors), device(training_device(c.device, tensors)) {}

  EpochPlan plan(int epoch) const {
    EpochPlan p;
    p.epoch = epoch;
    const std::uint64_t seed =
        space::splitmix64(cfg.seed ^ space::splitmix64(static_cast<std::uint64_t>(epoch) + 1));
    p.order = data::split_permutation(task->train_size(), seed);
    p.steps = task->train_size() / cfg.batch_size;
    if (cfg.steps_per_epoch > 0)
      p.steps = std::min<std::int64_t>(p.steps, cfg.steps_per_epoch);
    p.learning_rate = train::cosine_lr(cfg.learning_rate, cfg.min_learning_rate, epoch, cfg.epochs);
    p.drop_path = task->drops_paths() ? cfg.drop_path * epoch / cfg.epochs : 0.0;
    return p;
  }

  /// Rank 0's parameters and BatchNorm statistics on every rank.
  void broadcast_state() {
    broadcast_tensor(sgd->params());
    for (auto& [name, buffer] : statistics)
      broadcast_tensor(buffer);
  }

  void broadcast_tensor(torch::Tensor& t) {
    if (t.scalar_type() == torch::kFloat32) {
      timed.broadcast(t.data_ptr(), static_cast<std::size_t>(t.numel()), comm::DataType::kFloat32,
                      0);
    } else { // BatchNorm's int64 counter: as bytes
      timed.broadcast(t.data_ptr(), static_cast<std::size_t>(t.numel() * t.element_size()),
                      comm::DataType::kByte, 0);
    }
  }

  void start() {
    if (!started)
      broadcast_state();
    started = true;
  }

  void begin_segment() {
    timed.take_allreduce_seconds();
    segment_start = Clock::now();
  }

  /// Adds this segment's rank-0 wall time and mean allreduce time to the epoch's progress.
  void fold_segment() {
    std::vector<double> slots{host.rank() == 0 ? seconds_since(segment_start) : 0.0,
                              timed.take_allreduce_seconds() / host.size()};
    host.allreduce_sum(slots.data(), slots.size(), comm::DataType::kFloat64);
    progress.seconds += slots[0];
    progress.allreduce_seconds += slots[1];
    begin_segment();
  }

  /// Step b of the plan on this rank's micro-batches, the gradient sum over ranks, the SGD step.
  /// Returns this rank's {loss sum, correct, count}.
  std::array<double, 3> take_step(const EpochPlan& p, std::int64_t b) {
    const std::int64_t batch = cfg.batch_size;
    const std::int64_t parts = static_cast<std::int64_t>(host.size()) * cfg.accumulate;
    std::array<double, 3> sums{0, 0, 0};
    sgd->zero_grad();
    for (int k = 0; k < cfg.accumulate; ++k) {
      const std::int64_t m = static_cast<std::int64_t>(host.rank()) * cfg.accumulate + k;
      const std::int64_t begin = m * batch / parts;
      const std::int64_t end = (m + 1) * batch / parts;
      if (end <= begin)
        continue;
      std::vector<std::int64_t> rows(p.order.begin() + b * batch + begin,
                                     p.order.begin() + b * batch + end);
      std::vector<std::uint64_t> keys;
      for (std::int64_t i = begin; i < end; ++i)
        keys.push_back(image_key(cfg.seed, p.epoch, b, i));
      const TrainRows out = task->train(rows, keys, p.drop_path);
      // The mean over the micro-batch, weighted by its share: the sum is the global mean.
      const double share = static_cast<double>(end - begin) / static_cast<double>(batch);
      (out.loss * share).backward();
      const double n = static_cast<double>(end - begin);
      sums[0] +=
          torch::nn::functional::cross_entropy(out.logits.detach(), out.labels).item<double>() * n;
      sums[1] +=
          static_cast<double>(out.logits.argmax(1).eq(out.labels).sum().item<std::int64_t>());
      sums[2] += n;
    }
    auto& grads = sgd->grads();
    timed.allreduce_sum(grads.data_ptr(), static_cast<std::size_t>(grads.numel()),
                        comm::DataType::kFloat32);
    sgd->step(p.learning_rate);
    return sums;
  }

  /// Loss, accuracy and confusion on `split`, BatchNorm statistics of rank 0; rank r evaluates
  /// rows r, r + N, ...
  Evaluation evaluate(Split split) {
    for (auto& [name, buffer] : statistics)
      broadcast_tensor(buffer);
    const int classes = task->classes();
    std::vector<double> sums(3 + static_cast<std::size_t>(classes * classes), 0.0);
    task->module().eval();
    {
      torch::NoGradGuard no_grad;
      std::vector<std::int64_t> mine;
      for (std::int64_t i = host.rank(); i < task->size(split); i += host.size())
        mine.push_back(i);
      for (std::size_t first = 0; first < mine.size(); first += kEvalBatch) {
        const std::size_t last = std::min(mine.size(), first + kEvalBatch);
        const auto index = torch::tensor(
            std::vector<std::int64_t>(mine.begin() + first, mine.begin() + last), torch::kLong);
        const auto y = task->labels(split, index);
        const auto logits = task->logits(split, index);
        sums[0] +=
            torch::nn::functional::cross_entropy(
                logits, y, torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum))
                .item<double>();
        const auto predicted = logits.argmax(1);
        const auto* t = y.data_ptr<std::int64_t>();
        const auto* q = predicted.data_ptr<std::int64_t>();
        for (std::int64_t i = 0; i < y.size(0); ++i) {
          sums[1] += t[i] == q[i] ? 1 : 0;
          sums[3 + static_cast<std::size_t>(t[i] * classes + q[i])] += 1;
        }
        sums[2] += static_cast<double>(y.size(0));
      }
    }
    task->module().train();
    host.allreduce_sum(sums.data(), sums.size(), comm::DataType::kFloat64);
    return {sums[0], sums[1], sums[2], std::vector<double>(sums.begin() + 3, sums.end())};
  }

  TestResults test_results(const Evaluation& e) const {
    TestResults r;
    r.classes = task->classes();
    for (double c : e.confusion)
      r.confusion.push_back(static_cast<std::int64_t>(c));
    r.loss = e.loss();
    r.accuracy = e.accuracy();
    return r;
  }

  TrainEpochRow finish_epoch(const EpochPlan& p) {
    fold_segment();
    const auto evaluation_start = Clock::now();
    TrainEpochRow row;
    row.epoch = p.epoch;
    row.steps = p.steps;
    row.learning_rate = p.learning_rate;
    row.drop_path = p.drop_path;
    row.train_loss = progress.count > 0 ? progress.loss_sum / progress.count : 0;
    row.train_accuracy = progress.count > 0 ? progress.correct / progress.count : 0;
    const Evaluation test = evaluate(Split::kTest);
    row.test_loss = test.loss();
    row.test_accuracy = test.accuracy();
    last_test = test_results(test);
    if (task->size(Split::kHoldout) > 0) {
      const Evaluation holdout = evaluate(Split::kHoldout);
      row.holdout_loss = holdout.loss();
      row.holdout_accuracy = holdout.accuracy();
    }
    double seconds = host.rank() == 0 ? seconds_since(evaluation_start) : 0;
    host.allreduce_sum(&seconds, 1, comm::DataType::kFloat64);
    row.epoch_seconds = progress.seconds + seconds;
    row.allreduce_seconds = progress.allreduce_seconds;
    position = {p.epoch + 1, 0};
    progress = EpochProgress{};
    begin_segment();
    return row;
  }
};

FinalTraining::FinalTraining(const config::FinalTrainConfig& cfg, const TrainedModel& model,
                             comm::Collective& host, comm::Collective& tensors)
    : impl_(std::make_unique<Impl>(cfg, host, tensors)) {
  if (cfg.threads > 0)
    torch::set_num_threads(cfg.threads);
  auto& s = *impl_;
  const bool text_data = config::is_text_dataset(cfg.data.dataset);
  if (model.is_text() != text_data)
    throw std::invalid_argument(
        std::string(model.is_text() ? "a recurrent cell or baseline trains on a text dataset"
                                    : "an image genotype trains on an image dataset") +
        ", not on --dataset " + cfg.data.dataset);
  s.task = text_data ? make_text_task(cfg, model, s.device)
                     : make_image_task(cfg, model.architecture().image(), s.device);
  const std::int64_t parts = static_cast<std::int64_t>(host.size()) * cfg.accumulate;
  if (cfg.batch_size < 2 * parts)
    throw std::invalid_argument("--batch-size " + std::to_string(cfg.batch_size) +
                                " leaves fewer than 2 images per micro-batch at ranks x "
                                "--accumulate = " +
                                std::to_string(parts) + " (BatchNorm needs 2)");
  if (s.task->train_size() < cfg.batch_size)
    throw std::invalid_argument("the training set has " + std::to_string(s.task->train_size()) +
                                " " + s.task->rows_name() + ", fewer than --batch-size " +
                                std::to_string(cfg.batch_size));
  torch::nn::Module& net = s.task->module();
  net.train();
  net.to(s.device);
  s.sgd = std::make_unique<train::FlatSgd>(net.parameters(), cfg.momentum, cfg.weight_decay,
                                           cfg.grad_clip);
  for (const auto& item : net.named_buffers())
    s.statistics.emplace_back(item.key(), item.value());
  s.begin_segment();
}

FinalTraining::~FinalTraining() = default;

RunEnd FinalTraining::run(const Hooks& hooks) {
  auto& s = *impl_;
  s.start();
  auto last_checkpoint = Clock::now();
  auto last_progress = Clock::now();
  const auto checkpoint = [&] {
    if (hooks.checkpoint)
      hooks.checkpoint(s.position);
    last_checkpoint = Clock::now();
  };
  while (s.position.epoch < s.cfg.epochs) {
    const EpochPlan plan = s.plan(s.position.epoch);
    s.begin_segment();
    last_progress = Clock::now();
    while (s.position.step < plan.steps) {
      const auto sums = s.take_step(plan, s.position.step);
      ++s.position.step;
      // One agreement per step: any rank's stop, rank 0's checkpoint clock, the step's sums.
      const bool due = hooks.checkpoint_seconds > 0 &&
                       seconds_since(last_checkpoint) >= hooks.checkpoint_seconds;
      std::array<double, 5> flags{hooks.stop_requested && hooks.stop_requested() ? 1.0 : 0.0,
                                  s.host.rank() == 0 && due ? 1.0 : 0.0, sums[0], sums[1], sums[2]};
      s.host.allreduce_sum(flags.data(), flags.size(), comm::DataType::kFloat64);
      s.progress.loss_sum += flags[2];
      s.progress.correct += flags[3];
      s.progress.count += flags[4];
      const bool stop = flags[0] > 0;
      if (hooks.on_progress && seconds_since(last_progress) >= hooks.progress_seconds &&
          s.position.step < plan.steps) {
        hooks.on_progress(plan.epoch, s.position.step, plan.steps,
                          s.progress.loss_sum / s.progress.count,
                          s.progress.correct / s.progress.count);
        last_progress = Clock::now();
      }
      if (s.position.step == plan.steps)
        break; // the epoch's end checkpoints and checks for a stop
      if (stop || flags[1] > 0) {
        s.fold_segment();
        checkpoint();
      }
      if (stop)
        return RunEnd::kStopped;
    }
    const TrainEpochRow row = s.finish_epoch(plan);
    if (hooks.on_epoch)
      hooks.on_epoch(row);
    double stop = hooks.stop_requested && hooks.stop_requested() ? 1.0 : 0.0;
    s.host.allreduce_sum(&stop, 1, comm::DataType::kFloat64);
    checkpoint();
    if (stop > 0 && s.position.epoch < s.cfg.epochs)
      return RunEnd::kStopped;
  }
  return RunEnd::kCompleted;
}

void FinalTraining::run_steps(std::int64_t steps) {
  auto& s = *impl_;
  s.start();
  const EpochPlan plan = s.plan(s.position.epoch);
  for (std::int64_t i = 0; i < steps && s.position.step < plan.steps; ++i) {
    s.take_step(plan, s.position.step);
    ++s.position.step;
  }
}

TestResults FinalTraining::test() {
  auto& s = *impl_;
  s.start();
  if (s.last_test && s.position.epoch >= s.cfg.epochs)
    return *s.last_test;
  return s.test_results(s.evaluate(Split::kTest));
}

ExportSample FinalTraining::export_onnx(const std::string& path, int images) {
  return impl_->task->export_onnx(path, images);
}

std::vector<char> FinalTraining::save_state() const {
  const auto& s = *impl_;
  torch::serialize::OutputArchive archive;
  archive.write("version", c10::IValue(kStateVersion));
  archive.write("epoch", c10::IValue(static_cast<std::int64_t>(s.position.epoch)));
  archive.write("step", c10::IValue(s.position.step));
  const auto progress = s.progress.values();
  archive.write("progress", torch::tensor(std::vector<double>(progress.begin(), progress.end()),
                                          torch::kFloat64));
  archive.write("params", s.sgd->packed(s.sgd->params()).to(torch::kCPU));
  if (s.sgd->momentum_buffer().defined())
    archive.write("momentum", s.sgd->packed(s.sgd->momentum_buffer()).to(torch::kCPU));
  for (const auto& [name, buffer] : s.statistics)
    archive.write("statistics." + name, buffer.to(torch::kCPU), /*is_buffer=*/true);
  std::ostringstream out;
  archive.save_to(out);
  const std::string bytes = out.str();
  return {bytes.begin(), bytes.end()};
}

void FinalTraining::resume(const std::vector<char>& state_on_root) {
  auto& s = *impl_;
  const std::vector<char> state = comm::broadcast_bytes(s.host, state_on_root);
  if (state.empty())
    return; // nothing saved yet: start from the beginning

  std::istringstream in(std::string(state.begin(), state.end()));
  torch::serialize::InputArchive archive;
  c10::IValue value;
  try {
    archive.load_from(in, torch::kCPU);
    archive.read("version", value);
    if (value.toInt() != kStateVersion)
      throw std::runtime_error("state version " + std::to_string(value.toInt()) + ", expected " +
                               std::to_string(kStateVersion));
    archive.read("epoch", value);
    const int epoch = static_cast<int>(value.toInt());
    archive.read("step", value);
    const std::int64_t step = value.toInt();
    torch::Tensor progress, params, momentum;
    archive.read("progress", progress);
    archive.read("params", params);
    if (progress.numel() != EpochProgress::kFields || params.numel() != s.sgd->parameter_count())
      throw std::runtime_error("the saved network has " + std::to_string(params.numel()) +
                               " parameters, this one " + std::to_string(s.sgd->parameter_count()));
    torch::NoGradGuard no_grad;
    s.sgd->unpack(params, s.sgd->params());
    if (s.sgd->momentum_buffer().defined()) {
      archive.read("momentum", momentum);
      s.sgd->unpack(momentum, s.sgd->momentum_buffer());
    }
    for (auto& [name, buffer] : s.statistics) {
      torch::Tensor saved;
      archive.read("statistics." + name, saved, /*is_buffer=*/true);
      buffer.copy_(saved);
    }
    s.position = {epoch, step};
    s.progress = EpochProgress::from(progress.contiguous().data_ptr<double>());
  } catch (const c10::Error& e) {
    throw std::runtime_error(std::string("cannot read the training state: ") +
                             e.what_without_backtrace());
  }
  s.started = true; // every rank loaded the same bytes
}

Position FinalTraining::position() const { return impl_->position; }

std::int64_t FinalTraining::parameters() const {
  return model::count_parameters(impl_->task->module());
}

std::vector<double> FinalTraining::flat_weights() const {
  return to_vector(impl_->sgd->packed(impl_->sgd->params()));
}

} // namespace hpcnas::retrain
