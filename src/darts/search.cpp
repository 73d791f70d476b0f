#include "hpcnas/darts/search.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <stdexcept>
#include <string>

#include <torch/torch.h>

#include "hpcnas/darts/architect.hpp"
#include "hpcnas/darts/derive.hpp"
#include "hpcnas/data/dataset.hpp"

namespace hpcnas::darts {

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

std::uint64_t mix(std::uint64_t x) { // splitmix64
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

std::vector<double> to_vector(const torch::Tensor& t) {
  const auto d = t.detach().to(torch::kFloat64).contiguous().view(-1);
  return std::vector<double>(d.data_ptr<double>(), d.data_ptr<double>() + d.numel());
}

torch::Tensor index_tensor(const std::vector<std::int64_t>& idx) {
  return torch::tensor(idx, torch::kLong);
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

/// "CxHxW" -> {C, H, W}; throws std::invalid_argument naming the bad value.
std::array<int, 3> parse_shape(const std::string& text) {
  std::array<int, 3> dims{};
  std::size_t pos = 0;
  for (int i = 0; i < 3; ++i) {
    const std::size_t end = i < 2 ? text.find('x', pos) : text.size();
    const std::string part = end == std::string::npos ? "" : text.substr(pos, end - pos);
    const bool digits =
        !part.empty() && part.size() <= 6 &&
        std::all_of(part.begin(), part.end(), [](char c) { return c >= '0' && c <= '9'; });
    if (!digits || std::stoi(part) <= 0)
      throw std::invalid_argument("--input '" + text +
                                  "': expected CxHxW with positive integers, e.g. 3x32x32");
    dims[i] = std::stoi(part);
    pos = end + 1;
  }
  return dims;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

} // namespace

/// Every rank's step and allreduce seconds of the epoch, summed into per-rank slots so that
/// every rank can take the mean and the maximum.
void record_step_times(comm::Collective& collective, double step_seconds,
                       double allreduce_seconds, EpochRecord& record) {
  const auto n = static_cast<std::size_t>(collective.size());
  std::vector<double> slots(2 * n, 0.0);
  slots[collective.rank()] = step_seconds;
  slots[n + collective.rank()] = allreduce_seconds;
  collective.allreduce_sum(slots.data(), slots.size(), comm::DataType::kFloat64);
  for (std::size_t r = 0; r < n; ++r) {
    record.step_seconds += slots[r] / static_cast<double>(n);
    record.allreduce_seconds += slots[n + r] / static_cast<double>(n);
    record.allreduce_seconds_max = std::max(record.allreduce_seconds_max, slots[n + r]);
  }
}

struct DartsSearch::Impl {
  config::DartsConfig cfg;
  comm::Collective& collective;
  comm::TimedCollective timed; ///< the architect's collective: times the step's allreduces
  data::DataSplits splits;
  std::unique_ptr<Architect> architect;
  bool started = false; ///< rank 0's parameters broadcast (first epoch)

  Impl(const config::DartsConfig& c, comm::Collective& coll)
      : cfg(c), collective(coll), timed(coll) {}

  /// Micro-batches of this rank from the global batch `indices` of `set`.
  std::vector<Batch> shard(const data::Dataset& set, const std::vector<std::int64_t>& indices) {
    const std::int64_t parts = static_cast<std::int64_t>(collective.size()) * cfg.accumulate;
    const std::int64_t n = static_cast<std::int64_t>(indices.size());
    std::vector<Batch> out;
    for (int k = 0; k < cfg.accumulate; ++k) {
      const std::int64_t m = static_cast<std::int64_t>(collective.rank()) * cfg.accumulate + k;
      const std::int64_t begin = m * n / parts;
      const std::int64_t end = (m + 1) * n / parts;
      if (end <= begin)
        continue;
      const auto idx = index_tensor({indices.begin() + begin, indices.begin() + end});
      out.push_back({set.images.index_select(0, idx), set.labels.index_select(0, idx)});
    }
    return out;
  }

  double learning_rate(int epoch) const {
    const double progress = static_cast<double>(epoch) / cfg.epochs;
    return cfg.min_learning_rate +
           0.5 * (cfg.learning_rate - cfg.min_learning_rate) * (1 + std::cos(M_PI * progress));
  }
};

DartsSearch::DartsSearch(const config::DartsConfig& cfg, comm::Collective& collective)
    : impl_(std::make_unique<Impl>(cfg, collective)) {
  if (cfg.threads > 0)
    torch::set_num_threads(cfg.threads);
  auto& s = *impl_;
  s.splits = data::load_splits(cfg.data);
  const std::int64_t parts = static_cast<std::int64_t>(collective.size()) * cfg.accumulate;
  if (cfg.batch_size < parts)
    throw std::invalid_argument("--batch-size " + std::to_string(cfg.batch_size) +
                                " is smaller than ranks x --accumulate (" + std::to_string(parts) +
                                "): some micro-batches would be empty");
  if (s.splits.train.size() < cfg.batch_size)
    throw std::invalid_argument("the training split has " + std::to_string(s.splits.train.size()) +
                                " images, fewer than --batch-size " +
                                std::to_string(cfg.batch_size));
  torch::manual_seed(cfg.seed);
  SupernetOptions options;
  options.in_channels = s.splits.channels;
  options.num_classes = s.splits.num_classes;
  options.channels = cfg.network.channels;
  options.layers = cfg.network.layers;
  options.stem_multiplier = cfg.network.stem_multiplier;
  options.partial_channels = cfg.partial_channels;
  Supernet net(options);
  net->train();
  s.architect = std::make_unique<Architect>(net, architect_options(cfg), s.timed);
}

DartsSearch::~DartsSearch() = default;

EpochRecord DartsSearch::run_epoch(int epoch) {
  auto& s = *impl_;
  const auto& cfg = s.cfg;
  if (!s.started) {
    s.architect->broadcast_parameters();
    s.started = true;
  }
  const auto start = Clock::now();
  EpochRecord record;
  record.epoch = epoch;
  record.learning_rate = s.learning_rate(epoch);

  const std::uint64_t epoch_seed = mix(cfg.seed ^ mix(static_cast<std::uint64_t>(epoch) + 1));
  const auto train_order = data::split_permutation(s.splits.train.size(), epoch_seed);
  const auto val_order = data::split_permutation(s.splits.validation.size(), mix(epoch_seed));
  const std::int64_t batch = cfg.batch_size;
  std::int64_t steps = s.splits.train.size() / batch;
  if (cfg.steps_per_epoch > 0)
    steps = std::min<std::int64_t>(steps, cfg.steps_per_epoch);

  auto& net = s.architect->net();
  net->train();
  StepStats train;
  const std::int64_t n_val = s.splits.validation.size();
  const auto steps_start = Clock::now();
  s.timed.take_allreduce_seconds();
  for (std::int64_t b = 0; b < steps; ++b) {
    const std::vector<std::int64_t> train_idx(train_order.begin() + b * batch,
                                              train_order.begin() + (b + 1) * batch);
    std::vector<std::int64_t> val_idx(batch);
    for (std::int64_t i = 0; i < batch; ++i)
      val_idx[i] = val_order[(b * batch + i) % n_val];
    const auto st =
        s.architect->step(s.shard(s.splits.train, train_idx), s.shard(s.splits.validation, val_idx),
                          batch, batch, record.learning_rate);
    train.loss_sum += st.loss_sum;
    train.correct += st.correct;
    train.count += st.count;
  }
  record.steps = steps;
  record_step_times(s.collective, seconds_since(steps_start), s.timed.take_allreduce_seconds(),
                    record);

  // Validation on the whole split: rank r takes images r, r + N, ...
  s.architect->average_batchnorm_statistics();
  net->eval();
  double val_loss = 0;
  std::int64_t val_correct = 0, val_count = 0;
  {
    torch::NoGradGuard no_grad;
    std::vector<std::int64_t> mine;
    for (std::int64_t i = s.collective.rank(); i < n_val; i += s.collective.size())
      mine.push_back(i);
    for (std::size_t first = 0; first < mine.size(); first += batch) {
      const std::size_t last = std::min(mine.size(), first + static_cast<std::size_t>(batch));
      const auto idx = index_tensor({mine.begin() + first, mine.begin() + last});
      const auto x = s.splits.validation.images.index_select(0, idx);
      const auto y = s.splits.validation.labels.index_select(0, idx);
      const auto logits = net->forward(x);
      val_loss +=
          torch::nn::functional::cross_entropy(
              logits, y, torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum))
              .item<double>();
      val_correct += logits.argmax(1).eq(y).sum().item<std::int64_t>();
      val_count += y.size(0);
    }
  }
  net->train();
  double sums[6] = {
      train.loss_sum, static_cast<double>(train.correct), static_cast<double>(train.count),
      val_loss,       static_cast<double>(val_correct),   static_cast<double>(val_count)};
  s.collective.allreduce_sum(sums, 6, comm::DataType::kFloat64);
  record.train_loss = sums[2] > 0 ? sums[0] / sums[2] : 0;
  record.train_accuracy = sums[2] > 0 ? sums[1] / sums[2] : 0;
  record.val_loss = sums[5] > 0 ? sums[3] / sums[5] : 0;
  record.val_accuracy = sums[5] > 0 ? sums[4] / sums[5] : 0;

  const auto alphas = net->arch_parameters();
  record.alpha_normal = to_vector(alphas[0]);
  record.alpha_reduce = to_vector(alphas[1]);
  record.genotype = derive_genotype(record.alpha_normal, record.alpha_reduce);
  record.normal_skip_connections = count_skip_connections(record.genotype.normal);
  // Every rank reports rank 0's time, so all records are identical.
  double seconds = s.collective.rank() == 0 ? seconds_since(start) : 0;
  s.collective.allreduce_sum(&seconds, 1, comm::DataType::kFloat64);
  record.seconds = seconds;
  return record;
}

void DartsSearch::run(const std::function<bool(const EpochRecord&)>& on_epoch) {
  for (int epoch = 0; epoch < impl_->cfg.epochs; ++epoch)
    if (!on_epoch(run_epoch(epoch)))
      return;
}

std::vector<double> DartsSearch::flat_weights() const {
  auto& net = impl_->architect->net();
  torch::NoGradGuard no_grad;
  const auto w = net->weight_parameters();
  return to_vector(flatten(w, w));
}

std::vector<double> DartsSearch::flat_alphas() const {
  auto& net = impl_->architect->net();
  torch::NoGradGuard no_grad;
  const auto a = net->arch_parameters();
  return to_vector(flatten(a, a));
}

double bench_supernet_step(const config::BenchConfig& cfg) {
  const auto shape = parse_shape(cfg.input);
  if (cfg.batch_size < 2)
    throw std::invalid_argument("--batch-size must be at least 2 (BatchNorm in training mode)");
  if (cfg.threads > 0)
    torch::set_num_threads(cfg.threads);
  torch::manual_seed(0);
  SupernetOptions options;
  options.in_channels = shape[0];
  options.channels = cfg.network.channels;
  options.layers = cfg.network.layers;
  options.stem_multiplier = cfg.network.stem_multiplier;
  options.partial_channels = cfg.partial_channels;
  Supernet net(options);
  net->train();
  comm::SoloCollective solo;
  ArchitectOptions ao;
  ao.order = cfg.order;
  Architect architect(net, ao, solo);
  const std::int64_t b = cfg.batch_size;
  const std::vector<Batch> train{
      {torch::randn({b, shape[0], shape[1], shape[2]}), torch::randint(0, 10, {b}, torch::kLong)}};
  const std::vector<Batch> val{
      {torch::randn({b, shape[0], shape[1], shape[2]}), torch::randint(0, 10, {b}, torch::kLong)}};
  std::vector<double> times;
  for (int step = 0; step < cfg.warmup + std::max(cfg.steps, 1); ++step) {
    const auto start = Clock::now();
    architect.step(train, val, b, b, 0.025);
    if (step >= cfg.warmup)
      times.push_back(seconds_since(start));
  }
  return median(times);
}

} // namespace hpcnas::darts
