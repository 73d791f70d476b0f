#include "hpcnas/darts/search.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <memory>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <string>

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include "hpcnas/darts/architect.hpp"
#include "hpcnas/darts/derive.hpp"
#include "hpcnas/darts/recurrent_supernet.hpp"
#include "hpcnas/darts/supernet.hpp"
#include "hpcnas/data/dataset.hpp"
#include "hpcnas/data/text_dataset.hpp"
#include "hpcnas/space/hash.hpp"
#include "hpcnas/train/flat_sgd.hpp"
#include "hpcnas/train/trainer.hpp"

namespace hpcnas::darts {

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

using space::splitmix64;

std::vector<double> to_vector(const torch::Tensor& t) {
  const auto d = t.detach().to(torch::kCPU, torch::kFloat64).contiguous().view(-1);
  return std::vector<double>(d.data_ptr<double>(), d.data_ptr<double>() + d.numel());
}

torch::Tensor index_tensor(const std::vector<std::int64_t>& idx, torch::Device device) {
  return torch::tensor(idx, torch::kLong).to(device);
}

/// The device named by --device: "cuda" is the GPU `tensors` is bound to (one rank: the first).
torch::Device search_device(const std::string& name, const comm::Collective& tensors) {
  if (name == "cpu")
    return torch::kCPU;
  if (!torch::cuda::is_available())
    throw std::invalid_argument("--device cuda: LibTorch sees no CUDA GPU (a CPU-only LibTorch, "
                                "or no GPU on this node)");
  if (tensors.size() > 1 && tensors.cuda_device() < 0)
    throw std::invalid_argument("--device cuda on " + std::to_string(tensors.size()) +
                                " ranks needs the NCCL backend (configure with "
                                "-DHPCNAS_WITH_NCCL=ON)");
  return {torch::kCUDA, static_cast<c10::DeviceIndex>(std::max(tensors.cuda_device(), 0))};
}

ArchitectOptions architect_options(const config::DartsConfig& cfg) {
  ArchitectOptions o;
  o.order = cfg.order;
  o.momentum = cfg.momentum;
  o.weight_decay = cfg.weight_decay;
  o.grad_clip = cfg.grad_clip;
  o.arch_learning_rate = cfg.arch_learning_rate;
  o.arch_beta1 = cfg.arch_beta1;
  o.arch_beta2 = cfg.arch_beta2;
  o.arch_weight_decay = cfg.arch_weight_decay;
  return o;
}

/// A split on the search device: images, or token ids with their lengths; and labels.
struct SplitTensors {
  torch::Tensor inputs;
  torch::Tensor lengths; ///< texts only
  torch::Tensor labels;

  std::int64_t size() const { return labels.size(0); }
  Batch gather(const torch::Tensor& index) const {
    return {inputs.index_select(0, index), labels.index_select(0, index),
            lengths.defined() ? lengths.index_select(0, index) : torch::Tensor()};
  }
};

/// The search network and its training and validation splits on `device`, for cfg.space.
struct SearchSetup {
  std::shared_ptr<SearchNetworkImpl> net;
  SplitTensors train, validation;
  const char* examples = "images"; ///< what a split holds, for messages
};

/// The image supernet of `network`'s C, L and stem for images of `in_channels` channels.
SupernetOptions supernet_options(const config::NetworkConfig& network, int partial_channels,
                                 int in_channels, int num_classes) {
  SupernetOptions options;
  options.in_channels = in_channels;
  options.num_classes = num_classes;
  options.channels = network.channels;
  options.layers = network.layers;
  options.stem_multiplier = network.stem_multiplier;
  options.partial_channels = partial_channels;
  return options;
}

SearchSetup image_setup(const config::DartsConfig& cfg) {
  data::DataSplits splits = data::load_splits(cfg.data);
  const SupernetOptions options =
      supernet_options(cfg.network, cfg.partial_channels, splits.channels, splits.num_classes);
  torch::manual_seed(cfg.seed);
  return {Supernet(options).ptr(),
          {splits.train.images, {}, splits.train.labels},
          {splits.validation.images, {}, splits.validation.labels},
          "images"};
}

SearchSetup text_setup(const config::DartsConfig& cfg) {
  const data::TextSplits splits = data::load_text_splits(cfg.data);
  RecurrentSupernetOptions options;
  options.classifier = train::text_classifier_options(cfg.network, splits);
  options.nodes = cfg.network.rnn_nodes;
  torch::manual_seed(cfg.seed);
  const auto tensors = [](const data::TextDataset& set) {
    return SplitTensors{set.tokens, set.lengths, set.labels};
  };
  return {RecurrentSupernet(options).ptr(), tensors(splits.train), tensors(splits.validation),
          "texts"};
}

} // namespace

constexpr std::int64_t kStateVersion = 1;

/// An epoch's training so far, summed over ranks and over the segments it ran in (a segment ends
/// at a checkpoint), so it is the same on every rank and survives a resume.
struct EpochProgress {
  double loss_sum = 0;
  double correct = 0;
  double count = 0;
  double step_seconds = 0;          ///< mean over ranks
  double allreduce_seconds = 0;     ///< mean over ranks
  double allreduce_seconds_max = 0; ///< per segment the slowest rank; summed over segments
  double seconds = 0;               ///< rank 0's wall time in the segments before this one

  static constexpr int kFields = 7;
  std::array<double, kFields> values() const {
    return {loss_sum, correct, count, step_seconds, allreduce_seconds, allreduce_seconds_max,
            seconds};
  }
  static EpochProgress from(const double* v) {
    return {v[0], v[1], v[2], v[3], v[4], v[5], v[6]};
  }
};

/// The batch order, length and learning rate of one epoch (identical on every rank).
struct EpochPlan {
  int epoch = 0;
  std::vector<std::int64_t> train_order;
  std::vector<std::int64_t> val_order;
  std::int64_t steps = 0;
  double learning_rate = 0;
};

struct DartsSearch::Impl {
  config::DartsConfig cfg;
  comm::Collective& host;      ///< bookkeeping sums, flags and saved state, in host memory
  comm::TimedCollective timed; ///< the architect's (tensor) collective: times its allreduces
  torch::Device device;
  SearchSetup setup; ///< the network and the splits, on `device`
  std::unique_ptr<Architect> architect;
  bool started = false; ///< every rank holds the same parameters (rank 0's, or a resumed state)
  bool ended = false;   ///< on_epoch ended the search; a resumed state stays ended
  SearchPosition position;
  EpochProgress progress;
  // This rank's training since the current segment began.
  StepStats segment;
  Clock::time_point segment_start;

  Impl(const config::DartsConfig& c, comm::Collective& h, comm::Collective& tensors)
      : cfg(c), host(h), timed(tensors), device(search_device(c.device, tensors)) {}

  /// Micro-batches of this rank from the global batch `indices` of `set`.
  std::vector<Batch> shard(const SplitTensors& set, const std::vector<std::int64_t>& indices) {
    const std::int64_t parts = static_cast<std::int64_t>(host.size()) * cfg.accumulate;
    const std::int64_t n = static_cast<std::int64_t>(indices.size());
    std::vector<Batch> out;
    for (int k = 0; k < cfg.accumulate; ++k) {
      const std::int64_t m = static_cast<std::int64_t>(host.rank()) * cfg.accumulate + k;
      const std::int64_t begin = m * n / parts;
      const std::int64_t end = (m + 1) * n / parts;
      if (end <= begin)
        continue;
      out.push_back(
          set.gather(index_tensor({indices.begin() + begin, indices.begin() + end}, device)));
    }
    return out;
  }

  double learning_rate(int epoch) const {
    return train::cosine_lr(cfg.learning_rate, cfg.min_learning_rate, epoch, cfg.epochs);
  }

  EpochPlan plan(int epoch) const {
    EpochPlan p;
    p.epoch = epoch;
    const std::uint64_t epoch_seed =
        splitmix64(cfg.seed ^ splitmix64(static_cast<std::uint64_t>(epoch) + 1));
    p.train_order = data::split_permutation(setup.train.size(), epoch_seed);
    p.val_order = data::split_permutation(setup.validation.size(), splitmix64(epoch_seed));
    p.steps = setup.train.size() / cfg.batch_size;
    if (cfg.steps_per_epoch > 0)
      p.steps = std::min<std::int64_t>(p.steps, cfg.steps_per_epoch);
    p.learning_rate = learning_rate(epoch);
    return p;
  }

  /// Before the first step: every rank starts from rank 0's parameters.
  void start() {
    if (!started)
      architect->broadcast_parameters();
    started = true;
  }

  void begin_segment() {
    segment = StepStats{};
    timed.take_allreduce_seconds();
    segment_start = Clock::now();
  }

  /// Search step `b` of the plan: global training batch b, and the next batch of validation
  /// images (cycling through the split).
  void take_step(const EpochPlan& p, std::int64_t b) {
    const std::int64_t batch = cfg.batch_size;
    const std::int64_t n_val = setup.validation.size();
    const std::vector<std::int64_t> train_idx(p.train_order.begin() + b * batch,
                                              p.train_order.begin() + (b + 1) * batch);
    std::vector<std::int64_t> val_idx(batch);
    for (std::int64_t i = 0; i < batch; ++i)
      val_idx[i] = p.val_order[(b * batch + i) % n_val];
    const auto st = architect->step(shard(setup.train, train_idx), shard(setup.validation, val_idx),
                                    batch, batch, p.learning_rate);
    segment.loss_sum += st.loss_sum;
    segment.correct += st.correct;
    segment.count += st.count;
  }

  /// Adds every rank's segment (training sums, step and allreduce seconds) to the epoch's
  /// progress with one allreduce: sums in the first slots, per-rank times in one slot per rank.
  void fold_segment() {
    const auto n = static_cast<std::size_t>(host.size());
    const auto r = static_cast<std::size_t>(host.rank());
    std::vector<double> slots(3 + 2 * n, 0.0);
    slots[0] = segment.loss_sum;
    slots[1] = static_cast<double>(segment.correct);
    slots[2] = static_cast<double>(segment.count);
    slots[3 + r] = seconds_since(segment_start);
    slots[3 + n + r] = timed.take_allreduce_seconds();
    host.allreduce_sum(slots.data(), slots.size(), comm::DataType::kFloat64);
    progress.loss_sum += slots[0];
    progress.correct += slots[1];
    progress.count += slots[2];
    double segment_max = 0;
    for (std::size_t i = 0; i < n; ++i) {
      progress.step_seconds += slots[3 + i] / static_cast<double>(n);
      progress.allreduce_seconds += slots[3 + n + i] / static_cast<double>(n);
      segment_max = std::max(segment_max, slots[3 + n + i]);
    }
    progress.allreduce_seconds_max += segment_max;
    // Rank 0's clock for the segment, the same on every rank.
    double seconds = host.rank() == 0 ? slots[3] : 0;
    host.allreduce_sum(&seconds, 1, comm::DataType::kFloat64);
    progress.seconds += seconds;
    begin_segment();
  }

  /// Ends the epoch of `p` after its last step: validation, the record, the next position.
  EpochRecord finish_epoch(const EpochPlan& p) {
    fold_segment();
    const auto validation_start = Clock::now();
    EpochRecord record;
    record.epoch = p.epoch;
    record.steps = p.steps;
    record.learning_rate = p.learning_rate;
    record.train_loss = progress.count > 0 ? progress.loss_sum / progress.count : 0;
    record.train_accuracy = progress.count > 0 ? progress.correct / progress.count : 0;
    record.step_seconds = progress.step_seconds;
    record.allreduce_seconds = progress.allreduce_seconds;
    record.allreduce_seconds_max = progress.allreduce_seconds_max;
    validate(record);

    const auto alphas = architect->net().arch_parameters();
    if (cfg.space == "rnn") {
      record.alpha_recurrent = to_vector(alphas[0]);
      record.genotype = derive_recurrent(record.alpha_recurrent, cfg.network.rnn_nodes);
    } else {
      record.alpha_normal = to_vector(alphas[0]);
      record.alpha_reduce = to_vector(alphas[1]);
      const space::Genotype genotype = derive_genotype(record.alpha_normal, record.alpha_reduce);
      record.normal_skip_connections = count_skip_connections(genotype.normal);
      record.genotype = genotype;
    }
    // Every rank reports rank 0's time, so all records are identical.
    double seconds = host.rank() == 0 ? seconds_since(validation_start) : 0;
    host.allreduce_sum(&seconds, 1, comm::DataType::kFloat64);
    record.epoch_seconds = progress.seconds + seconds;

    position = {p.epoch + 1, 0};
    progress = EpochProgress{};
    return record;
  }

  /// Loss and accuracy on the whole validation split, BatchNorm in inference mode with running
  /// statistics of rank 0; rank r takes examples r, r + N, ...
  void validate(EpochRecord& record) {
    architect->broadcast_batchnorm_statistics();
    auto& net = architect->net();
    net.eval();
    double sums[3] = {0, 0, 0}; // loss, correct, count
    {
      torch::NoGradGuard no_grad;
      const std::int64_t n_val = setup.validation.size();
      std::vector<std::int64_t> mine;
      for (std::int64_t i = host.rank(); i < n_val; i += host.size())
        mine.push_back(i);
      const auto batch = static_cast<std::size_t>(cfg.batch_size);
      for (std::size_t first = 0; first < mine.size(); first += batch) {
        const std::size_t last = std::min(mine.size(), first + batch);
        const Batch b = setup.validation.gather(
            index_tensor({mine.begin() + first, mine.begin() + last}, device));
        const auto& y = b.y;
        const auto logits = net.logits(b);
        sums[0] += torch::nn::functional::cross_entropy(
                       logits, y,
                       torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum))
                       .item<double>();
        sums[1] += static_cast<double>(logits.argmax(1).eq(y).sum().item<std::int64_t>());
        sums[2] += static_cast<double>(y.size(0));
      }
    }
    net.train();
    host.allreduce_sum(sums, 3, comm::DataType::kFloat64);
    record.val_loss = sums[2] > 0 ? sums[0] / sums[2] : 0;
    record.val_accuracy = sums[2] > 0 ? sums[1] / sums[2] : 0;
  }

  /// One agreement of all ranks: {any rank's `stop`, rank 0's `root_flag`} on every rank.
  std::array<bool, 2> agree(bool stop, bool root_flag) {
    double flags[2] = {stop ? 1.0 : 0.0, host.rank() == 0 && root_flag ? 1.0 : 0.0};
    host.allreduce_sum(flags, 2, comm::DataType::kFloat64);
    return {flags[0] > 0, flags[1] > 0};
  }
};

DartsSearch::DartsSearch(const config::DartsConfig& cfg, comm::Collective& host,
                         comm::Collective& tensors)
    : impl_(std::make_unique<Impl>(cfg, host, tensors)) {
  if (cfg.threads > 0)
    torch::set_num_threads(cfg.threads);
  auto& s = *impl_;
  s.setup = cfg.space == "rnn" ? text_setup(cfg) : image_setup(cfg);
  const char* examples = s.setup.examples;
  const std::int64_t parts = static_cast<std::int64_t>(host.size()) * cfg.accumulate;
  if (cfg.batch_size < parts)
    throw std::invalid_argument("--batch-size " + std::to_string(cfg.batch_size) +
                                " is smaller than ranks x --accumulate (" + std::to_string(parts) +
                                "): some micro-batches would be empty");
  if (s.setup.train.size() < cfg.batch_size)
    throw std::invalid_argument("the training split has " + std::to_string(s.setup.train.size()) +
                                " " + examples + ", fewer than --batch-size " +
                                std::to_string(cfg.batch_size));
  auto& net = *s.setup.net;
  net.train();
  net.to(s.device);
  for (auto* set : {&s.setup.train, &s.setup.validation})
    for (auto* t : {&set->inputs, &set->lengths, &set->labels})
      if (t->defined())
        *t = t->to(s.device);
  s.architect = std::make_unique<Architect>(s.setup.net, architect_options(cfg), s.timed);
}

DartsSearch::~DartsSearch() = default;

EpochRecord DartsSearch::run_epoch(int epoch) {
  auto& s = *impl_;
  s.start();
  s.position = {epoch, 0};
  s.progress = EpochProgress{};
  const EpochPlan plan = s.plan(epoch);
  s.begin_segment();
  for (std::int64_t b = 0; b < plan.steps; ++b)
    s.take_step(plan, b);
  return s.finish_epoch(plan);
}

RunEnd DartsSearch::run(const RunHooks& hooks) {
  auto& s = *impl_;
  if (s.ended)
    return RunEnd::kAlreadyEnded;
  s.start();
  const auto stop_requested = [&] { return hooks.stop_requested && hooks.stop_requested(); };
  // Hooks are the same on every rank, so either all ranks agree after each step or none does.
  const bool agreeing = static_cast<bool>(hooks.stop_requested) || hooks.checkpoint_seconds > 0;
  auto last_checkpoint = Clock::now();
  const auto checkpoint = [&] {
    if (hooks.checkpoint)
      hooks.checkpoint(s.position);
    last_checkpoint = Clock::now();
  };
  while (s.position.epoch < s.cfg.epochs) {
    const EpochPlan plan = s.plan(s.position.epoch);
    s.begin_segment();
    while (s.position.step < plan.steps) {
      s.take_step(plan, s.position.step);
      ++s.position.step;
      if (s.position.step == plan.steps || !agreeing)
        continue; // the epoch's end checkpoints and checks for a stop anyway
      const bool due = hooks.checkpoint_seconds > 0 &&
                       seconds_since(last_checkpoint) >= hooks.checkpoint_seconds;
      const auto [stop, checkpoint_due] = s.agree(stop_requested(), due);
      if (stop || checkpoint_due) {
        s.fold_segment();
        checkpoint();
      }
      if (stop)
        return RunEnd::kStopped;
    }
    const EpochRecord record = s.finish_epoch(plan);
    const bool end = hooks.on_epoch && !hooks.on_epoch(record);
    const auto [stop, ended] = s.agree(stop_requested(), end); // rank 0's verdict counts
    s.ended = ended;
    checkpoint();
    if (ended)
      return RunEnd::kEnded;
    if (stop)
      return RunEnd::kStopped;
  }
  return RunEnd::kCompleted;
}

std::vector<char> DartsSearch::save_state() const {
  const auto& s = *impl_;
  torch::serialize::OutputArchive archive;
  archive.write("version", c10::IValue(kStateVersion));
  archive.write("epoch", c10::IValue(static_cast<std::int64_t>(s.position.epoch)));
  archive.write("step", c10::IValue(s.position.step));
  archive.write("ended", c10::IValue(s.ended));
  const auto progress = s.progress.values();
  archive.write("progress", torch::tensor(std::vector<double>(progress.begin(), progress.end()),
                                          torch::kFloat64));
  auto generator = at::detail::getDefaultCPUGenerator();
  {
    std::lock_guard<std::mutex> lock(generator.mutex());
    archive.write("generator", generator.get_state());
  }
  torch::serialize::OutputArchive architect;
  s.architect->save(architect);
  archive.write("architect", architect);
  std::ostringstream out;
  archive.save_to(out);
  const std::string bytes = out.str();
  return {bytes.begin(), bytes.end()};
}

void DartsSearch::resume(const std::vector<char>& state_on_root) {
  auto& s = *impl_;
  const std::vector<char> state = comm::broadcast_bytes(s.host, state_on_root);
  if (state.empty())
    return; // nothing saved yet: start from the beginning

  std::istringstream in(std::string(state.begin(), state.end()));
  torch::serialize::InputArchive archive, architect;
  c10::IValue value;
  torch::Tensor progress, generator;
  try {
    archive.load_from(in, s.device); // a CPU checkpoint resumes on a GPU and back
    archive.read("version", value);
    if (value.toInt() != kStateVersion)
      throw std::runtime_error("state version " + std::to_string(value.toInt()) + ", expected " +
                               std::to_string(kStateVersion));
    archive.read("epoch", value);
    const int epoch = static_cast<int>(value.toInt());
    archive.read("step", value);
    const std::int64_t step = value.toInt();
    archive.read("ended", value);
    const bool ended = value.toBool();
    archive.read("progress", progress);
    archive.read("generator", generator);
    archive.read("architect", architect);
    if (progress.numel() != EpochProgress::kFields)
      throw std::runtime_error("the epoch progress has " + std::to_string(progress.numel()) +
                               " values");
    s.architect->load(architect);
    s.position = {epoch, step};
    s.ended = ended;
    s.progress = EpochProgress::from(progress.contiguous().data_ptr<double>());
  } catch (const c10::Error& e) {
    throw std::runtime_error(std::string("cannot read the DARTS state: ") +
                             e.what_without_backtrace());
  }
  auto default_generator = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(default_generator.mutex());
  default_generator.set_state(generator);
  s.started = true; // every rank loaded the same bytes
}

SearchPosition DartsSearch::position() const { return impl_->position; }

std::vector<double> DartsSearch::flat_weights() const {
  torch::NoGradGuard no_grad;
  const auto w = impl_->architect->net().weight_parameters();
  return to_vector(flatten(w, w));
}

std::vector<double> DartsSearch::flat_alphas() const {
  torch::NoGradGuard no_grad;
  const auto a = impl_->architect->net().arch_parameters();
  return to_vector(flatten(a, a));
}

double bench_supernet_step(const config::BenchConfig& cfg) {
  const auto& shape = cfg.shape;
  if (cfg.threads > 0)
    torch::set_num_threads(cfg.threads);
  torch::manual_seed(0);
  const SupernetOptions options = supernet_options(cfg.network, cfg.partial_channels, shape[0], 10);
  comm::SoloCollective solo;
  const torch::Device device = search_device(cfg.device, solo);
  Supernet net(options);
  net->train();
  net->to(device);
  ArchitectOptions ao;
  ao.order = cfg.order;
  Architect architect(net.ptr(), ao, solo);
  const std::int64_t b = cfg.batch_size;
  const auto random_batch = [&] {
    return Batch{torch::randn({b, shape[0], shape[1], shape[2]}).to(device),
                 torch::randint(0, 10, {b}, torch::kLong).to(device), torch::Tensor()};
  };
  const std::vector<Batch> train{random_batch()};
  const std::vector<Batch> val{random_batch()};
  // GPU kernels run asynchronously: a step is timed until its last kernel finished.
  const auto step = [&] {
    architect.step(train, val, b, b, 0.025);
    if (device.is_cuda())
      torch::cuda::synchronize(device.index());
  };
  for (int i = 0; i < cfg.warmup; ++i)
    step();
  const train::OperatorTrace trace(cfg.profile);
  std::vector<double> times;
  for (int i = 0; i < std::max(cfg.steps, 1); ++i) {
    const auto start = Clock::now();
    step();
    times.push_back(seconds_since(start));
  }
  return train::median(times);
}

} // namespace hpcnas::darts
