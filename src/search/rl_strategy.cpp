#include <cmath>
#include <sstream>
#include <stdexcept>

#include "hpcnas/search/rl_controller.hpp"
#include "rl_policy.hpp"

namespace hpcnas::search {
namespace {

constexpr double kInitBound = 0.1;
constexpr int kStateVersion = 1;

/// Columns of the checkpoint's table of untaken updates: the fields of a ControllerUpdate.
int count_update_fields() {
  const ControllerUpdate probe;
  int count = 0;
  ControllerUpdate::fields(probe, [&count](const char*, const auto&) { ++count; });
  return count;
}
const int kUpdateFields = count_update_fields();

torch::Tensor decisions_tensor(const std::vector<std::vector<int>>& rows, int decisions) {
  torch::Tensor out =
      torch::empty({static_cast<std::int64_t>(rows.size()), decisions}, torch::kInt64);
  auto a = out.accessor<std::int64_t, 2>();
  for (std::size_t r = 0; r < rows.size(); ++r)
    for (int s = 0; s < decisions; ++s)
      a[static_cast<std::int64_t>(r)][s] = rows[r][static_cast<std::size_t>(s)];
  return out;
}

Pick forced_pick(const torch::Tensor& decisions) {
  return [decisions](int step, const torch::Tensor&) { return decisions.select(1, step); };
}

std::string rng_text(const std::mt19937_64& rng) {
  std::ostringstream out;
  out << rng;
  return out.str();
}

} // namespace

struct RlStrategy::Impl {
  Impl(std::uint64_t seed, const config::RlConfig& c, space::SearchSpace space)
      : cfg(c), space(space),
        policy(PolicyOptions{c.hidden, c.temperature, c.tanh_constant, space}),
        rng(train::evaluation_seed(seed, -3)) {
    policy->init_uniform(rng, kInitBound);
    optimizer = std::make_unique<torch::optim::Adam>(policy->parameters(),
                                                     torch::optim::AdamOptions(cfg.learning_rate));
  }

  void update();
  torch::Tensor as_tensor(const std::vector<std::vector<int>>& rows) const {
    return decisions_tensor(rows, space.decisions());
  }

  config::RlConfig cfg;
  space::SearchSpace space;
  Policy policy;
  std::unique_ptr<torch::optim::Adam> optimizer;
  std::mt19937_64 rng;
  double baseline = 0;
  bool baseline_started = false;
  std::int64_t updates = 0;
  std::vector<std::vector<int>> pending_decisions; ///< observed, not yet in an update
  std::vector<double> pending_rewards;
  std::vector<ControllerUpdate> untaken;
};

RlStrategy::RlStrategy(std::uint64_t seed, const config::RlConfig& cfg, space::SearchSpace space)
    : Strategy(space), impl_(std::make_unique<Impl>(seed, cfg, space)) {}

RlStrategy::~RlStrategy() = default;

space::Architecture RlStrategy::propose() {
  torch::NoGradGuard no_grad;
  std::vector<int> decisions;
  decisions.reserve(static_cast<std::size_t>(space().decisions()));
  std::uniform_real_distribution<double> uniform(0.0, 1.0);
  impl_->policy->run(1, [&](int, const torch::Tensor& logits) {
    const torch::Tensor probs = torch::softmax(logits.to(torch::kFloat64), 1).contiguous();
    const double* p = probs.data_ptr<double>();
    const int n = static_cast<int>(probs.size(1));
    const double u = uniform(impl_->rng);
    int choice = n - 1;
    double cumulative = 0;
    for (int i = 0; i < n; ++i) {
      cumulative += p[i];
      if (u < cumulative) {
        choice = i;
        break;
      }
    }
    decisions.push_back(choice);
    return torch::full({1}, choice, torch::kInt64);
  });
  return space().from_decisions(decisions);
}

void RlStrategy::observe(const train::EvalResult& result) {
  const double reward = result.status == train::EvalStatus::kOk ? result.reward : 0.0;
  impl_->pending_decisions.push_back(space().decisions_of(result.genotype));
  impl_->pending_rewards.push_back(std::isfinite(reward) ? reward : 0.0);
  if (static_cast<int>(impl_->pending_rewards.size()) >= impl_->cfg.batch)
    impl_->update();
}

void RlStrategy::Impl::update() {
  const auto batch = static_cast<std::int64_t>(pending_rewards.size());
  const torch::Tensor rewards = torch::tensor(pending_rewards, torch::kFloat64).to(torch::kFloat32);
  double mean_reward = 0;
  for (double r : pending_rewards)
    mean_reward += r;
  mean_reward /= static_cast<double>(batch);
  if (!baseline_started) {
    baseline = mean_reward;
    baseline_started = true;
  }

  const PolicyPass pass = policy->run(batch, forced_pick(as_tensor(pending_decisions)));
  const torch::Tensor advantage = rewards - static_cast<float>(baseline);
  const torch::Tensor entropy = pass.entropy.mean();
  const torch::Tensor loss =
      -(advantage * pass.log_prob).mean() - static_cast<float>(cfg.entropy_weight) * entropy;
  optimizer->zero_grad();
  loss.backward();
  const double grad_norm = torch::nn::utils::clip_grad_norm_(policy->parameters(), cfg.grad_clip);
  optimizer->step();

  for (double r : pending_rewards)
    baseline = cfg.baseline_decay * baseline + (1 - cfg.baseline_decay) * r;
  ControllerUpdate row;
  row.update = updates++;
  row.mean_reward = mean_reward;
  row.baseline = baseline;
  row.entropy = entropy.item<double>();
  row.loss = loss.item<double>();
  row.grad_norm = grad_norm;
  untaken.push_back(row);
  pending_decisions.clear();
  pending_rewards.clear();
}

std::vector<ControllerUpdate> RlStrategy::take_updates() {
  std::vector<ControllerUpdate> out;
  out.swap(impl_->untaken);
  return out;
}

std::vector<double> RlStrategy::choice_probabilities(const space::Architecture& g, int step) const {
  if (step < 0 || step >= space().decisions())
    throw std::out_of_range("policy decision " + std::to_string(step) + " out of range");
  torch::NoGradGuard no_grad;
  const torch::Tensor decisions = impl_->as_tensor({space().decisions_of(g)});
  std::vector<double> out;
  impl_->policy->run(1, [&](int s, const torch::Tensor& logits) {
    if (s == step) {
      const torch::Tensor probs = torch::softmax(logits.to(torch::kFloat64), 1).contiguous();
      out.assign(probs.data_ptr<double>(), probs.data_ptr<double>() + probs.size(1));
    }
    return decisions.select(1, s);
  });
  return out;
}

double RlStrategy::log_probability(const space::Architecture& g) const {
  torch::NoGradGuard no_grad;
  return impl_->policy->run(1, forced_pick(impl_->as_tensor({space().decisions_of(g)})))
      .log_prob.item<double>();
}

double RlStrategy::baseline() const { return impl_->baseline; }

std::int64_t RlStrategy::updates() const { return impl_->updates; }

std::vector<char> RlStrategy::save_state() const {
  const Impl& s = *impl_;
  torch::serialize::OutputArchive archive, policy_archive, adam_archive;
  s.policy->save(policy_archive);
  s.optimizer->save(adam_archive);
  archive.write("version", c10::IValue(static_cast<std::int64_t>(kStateVersion)));
  archive.write("hidden", c10::IValue(static_cast<std::int64_t>(s.cfg.hidden)));
  archive.write("policy", policy_archive);
  archive.write("adam", adam_archive);
  archive.write("baseline", c10::IValue(s.baseline));
  archive.write("baseline_started", c10::IValue(s.baseline_started));
  archive.write("updates", c10::IValue(s.updates));
  archive.write("rng", c10::IValue(rng_text(s.rng)));
  archive.write("pending_decisions", s.as_tensor(s.pending_decisions));
  archive.write("pending_rewards", torch::tensor(s.pending_rewards, torch::kFloat64));
  // One row per update not yet written to the run file, one column per ControllerUpdate field.
  torch::Tensor rows =
      torch::empty({static_cast<std::int64_t>(s.untaken.size()), kUpdateFields}, torch::kFloat64);
  auto cells = rows.accessor<double, 2>();
  for (std::size_t i = 0; i < s.untaken.size(); ++i) {
    int column = 0;
    ControllerUpdate::fields(s.untaken[i], [&](const char*, const auto& field) {
      cells[static_cast<std::int64_t>(i)][column++] = static_cast<double>(field);
    });
  }
  archive.write("untaken", rows);
  std::ostringstream out;
  archive.save_to(out);
  const std::string bytes = out.str();
  return {bytes.begin(), bytes.end()};
}

void RlStrategy::load_state(const std::vector<char>& state) {
  Impl& s = *impl_;
  try {
    std::istringstream in(std::string(state.begin(), state.end()));
    torch::serialize::InputArchive archive, policy_archive, adam_archive;
    archive.load_from(in);
    c10::IValue value;
    archive.read("version", value);
    if (value.toInt() != kStateVersion)
      throw std::runtime_error("version " + std::to_string(value.toInt()) + ", expected " +
                               std::to_string(kStateVersion));
    archive.read("hidden", value);
    if (value.toInt() != s.cfg.hidden)
      throw std::runtime_error("saved with --rl-hidden " + std::to_string(value.toInt()) +
                               ", this run has " + std::to_string(s.cfg.hidden));
    // Read everything before changing anything, so a failure leaves the strategy as it was.
    archive.read("policy", policy_archive);
    archive.read("adam", adam_archive);
    archive.read("baseline", value);
    const double baseline = value.toDouble();
    archive.read("baseline_started", value);
    const bool baseline_started = value.toBool();
    archive.read("updates", value);
    const std::int64_t updates = value.toInt();
    archive.read("rng", value);
    std::mt19937_64 rng;
    std::istringstream rng_in(value.toStringRef());
    rng_in >> rng;
    if (!rng_in)
      throw std::runtime_error("bad generator state");
    torch::Tensor decisions, rewards, rows;
    archive.read("pending_decisions", decisions);
    archive.read("pending_rewards", rewards);
    archive.read("untaken", rows);
    const int decision_count = s.space.decisions();
    if (decisions.dim() != 2 || decisions.size(1) != decision_count ||
        rewards.size(0) != decisions.size(0) || rows.dim() != 2 || rows.size(1) != kUpdateFields)
      throw std::runtime_error("bad buffer shapes");
    std::vector<std::vector<int>> pending_decisions;
    std::vector<double> pending_rewards;
    decisions = decisions.to(torch::kInt64).contiguous();
    rewards = rewards.to(torch::kFloat64).contiguous();
    for (std::int64_t r = 0; r < decisions.size(0); ++r) {
      std::vector<int> row(static_cast<std::size_t>(decision_count));
      for (int c = 0; c < decision_count; ++c)
        row[static_cast<std::size_t>(c)] = static_cast<int>(decisions[r][c].item<std::int64_t>());
      s.space.from_decisions(row); // validates
      pending_decisions.push_back(std::move(row));
      pending_rewards.push_back(rewards[r].item<double>());
    }
    std::vector<ControllerUpdate> untaken;
    rows = rows.to(torch::kFloat64).contiguous();
    const auto cells = rows.accessor<double, 2>();
    for (std::int64_t r = 0; r < rows.size(0); ++r) {
      ControllerUpdate u;
      int column = 0;
      ControllerUpdate::fields(u, [&](const char*, auto& field) {
        field = static_cast<std::decay_t<decltype(field)>>(cells[r][column++]);
      });
      untaken.push_back(u);
    }

    Policy policy(s.policy->options());
    policy->load(policy_archive);
    auto optimizer = std::make_unique<torch::optim::Adam>(
        policy->parameters(), torch::optim::AdamOptions(s.cfg.learning_rate));
    optimizer->load(adam_archive);

    s.policy = policy;
    s.optimizer = std::move(optimizer);
    s.baseline = baseline;
    s.baseline_started = baseline_started;
    s.updates = updates;
    s.rng = rng;
    s.pending_decisions = std::move(pending_decisions);
    s.pending_rewards = std::move(pending_rewards);
    s.untaken = std::move(untaken);
  } catch (const std::exception& e) {
    std::string what = e.what();
    if (const auto newline = what.find('\n'); newline != std::string::npos)
      what.resize(newline); // c10::Error appends a C++ backtrace
    throw std::runtime_error("rl strategy: corrupt saved state: " + what);
  }
}

} // namespace hpcnas::search
