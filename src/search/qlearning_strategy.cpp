#include "hpcnas/search/qlearning.hpp"

#include <algorithm>
#include <cmath>
#include <sstream>
#include <stdexcept>

namespace hpcnas::search {

namespace {
constexpr const char* kStateMagic = "hpcnas-qlearning-v1";
constexpr int kMaxReplayedDraws = 8; ///< known architectures drawn per proposal that are replayed
} // namespace

QLearningStrategy::QLearningStrategy(std::uint64_t seed, const config::QLearningConfig& cfg,
                                     int budget, space::SearchSpace space)
    : Strategy(space), max_choices_(space.max_choices()), cfg_(cfg),
      span_(cfg.epsilon_span > 0 ? cfg.epsilon_span : budget),
      rng_(train::evaluation_seed(seed, -5)),
      q_(static_cast<std::size_t>(space.decisions() * max_choices_ * max_choices_), cfg.initial_q) {
}

double& QLearningStrategy::cell(int step, int previous, int action) {
  return q_[static_cast<std::size_t>((step * max_choices_ + previous) * max_choices_ + action)];
}

double QLearningStrategy::q(int step, int previous, int action) const {
  return q_[static_cast<std::size_t>((step * max_choices_ + previous) * max_choices_ + action)];
}

double QLearningStrategy::epsilon() const {
  if (cfg_.epsilon_stages <= 1 || span_ <= 0)
    return proposed_ < span_ ? cfg_.epsilon_start : cfg_.epsilon_end;
  const std::int64_t stage =
      std::min<std::int64_t>(cfg_.epsilon_stages - 1, proposed_ * cfg_.epsilon_stages / span_);
  return cfg_.epsilon_start + (cfg_.epsilon_end - cfg_.epsilon_start) * static_cast<double>(stage) /
                                  (cfg_.epsilon_stages - 1);
}

QLearningStrategy::Decisions QLearningStrategy::draw(double random_share) {
  const int decisions = space().decisions();
  Decisions d(static_cast<std::size_t>(decisions));
  int previous = 0;
  std::uniform_real_distribution<double> coin(0.0, 1.0);
  for (int step = 0; step < decisions; ++step) {
    const int n = space().choices(step);
    int pick = 0;
    if (random_share < 1 && (random_share <= 0 || coin(rng_) >= random_share)) {
      double best = q(step, previous, 0);
      int ties = 1;
      for (int a = 1; a < n; ++a) {
        const double value = q(step, previous, a);
        if (value > best) {
          best = value;
          pick = a;
          ties = 1;
        } else if (value == best && std::uniform_int_distribution<int>(0, ties++)(rng_) == 0) {
          pick = a; // reservoir sampling: each of the tied actions with equal chance
        }
      }
    } else {
      pick = std::uniform_int_distribution<int>(0, n - 1)(rng_);
    }
    d[step] = pick;
    previous = pick;
  }
  return d;
}

space::Architecture QLearningStrategy::propose() {
  const bool greedy = std::uniform_real_distribution<double>(0.0, 1.0)(rng_) >= epsilon();
  ++proposed_;
  for (int attempt = 0;; ++attempt) {
    // A greedy architecture proposed before is followed by near-greedy ones: each decision at
    // random with a chance that grows with the attempts, so the search moves around the
    // table's optimum instead of drawing it again.
    const double random_share =
        greedy ? std::min(1.0, static_cast<double>(attempt) / space().decisions()) : 1.0;
    Decisions d = draw(random_share);
    if (proposed_set_.insert(d).second)
      return space().from_decisions(d);
    const auto known = rewards_.find(d);
    if (known != rewards_.end() && attempt < kMaxReplayedDraws)
      remember(d, known->second); // evaluated before: its reward again, not a second training
  }
}

void QLearningStrategy::discard(const space::Architecture& genotype) {
  --proposed_;
  const Decisions d = space().decisions_of(genotype);
  if (rewards_.count(d) == 0)
    proposed_set_.erase(d);
}

void QLearningStrategy::observe(const train::EvalResult& result) {
  const double reward =
      result.status == train::EvalStatus::kOk && std::isfinite(result.reward) ? result.reward : 0.0;
  const Decisions d = space().decisions_of(result.genotype);
  rewards_[d] = reward;
  proposed_set_.insert(d); // a replayed result on resume was proposed before the checkpoint
  remember(d, reward);
}

void QLearningStrategy::remember(const Decisions& decisions, double reward) {
  memory_.push_back({decisions, reward});
  std::uniform_int_distribution<std::size_t> pick(0, memory_.size() - 1);
  for (int i = 0; i < cfg_.replay; ++i)
    update_along(memory_[pick(rng_)]);
}

void QLearningStrategy::update_along(const Experience& e) {
  // Last decision first, so one replay carries the reward back along the whole sequence. Peng's
  // Q(lambda): each target mixes the one-step backup (the best value of the next state) with the
  // return carried back along this path, which starts as the reward.
  double carried = e.reward;
  const int decisions = space().decisions();
  for (int step = decisions - 1; step >= 0; --step) {
    const int previous = step > 0 ? e.decisions[step - 1] : 0;
    const int action = e.decisions[step];
    double target = e.reward;
    if (step + 1 < decisions) {
      double best_next = q(step + 1, action, 0);
      for (int a = 1; a < space().choices(step + 1); ++a)
        best_next = std::max(best_next, q(step + 1, action, a));
      target = (1 - cfg_.lambda) * best_next + cfg_.lambda * carried;
    }
    carried = target;
    double& value = cell(step, previous, action);
    value += cfg_.learning_rate * (target - value);
  }
}

std::vector<char> QLearningStrategy::save_state() const {
  std::ostringstream out;
  out.precision(17);
  out << kStateMagic << '\n' << rng_ << '\n' << proposed_ << ' ' << span_ << '\n';
  for (double v : q_)
    out << v << ' ';
  out << '\n' << memory_.size() << '\n';
  for (const Experience& e : memory_) {
    out << e.reward;
    for (int v : e.decisions)
      out << ' ' << v;
    out << '\n';
  }
  out << proposed_set_.size() << '\n';
  for (const Decisions& d : proposed_set_) {
    for (int v : d)
      out << v << ' ';
    out << '\n';
  }
  const std::string text = out.str();
  return {text.begin(), text.end()};
}

void QLearningStrategy::load_state(const std::vector<char>& state) {
  auto corrupt = [](const std::string& what) {
    return std::runtime_error("qlearning strategy: corrupt saved state: " + what);
  };
  std::istringstream in(std::string(state.begin(), state.end()));
  std::string magic;
  std::getline(in, magic);
  if (magic != kStateMagic)
    throw corrupt("not a qlearning state");
  std::mt19937_64 rng;
  std::int64_t proposed = 0, span = 0;
  in >> rng >> proposed >> span;
  std::vector<double> q(q_.size());
  for (double& v : q)
    in >> v;
  if (!in || proposed < 0)
    throw corrupt("bad header or Q-table");
  auto read_decisions = [&](const std::string& what) {
    Decisions d(static_cast<std::size_t>(space().decisions()));
    for (int& v : d)
      in >> v;
    if (!in)
      throw corrupt(what + " is truncated");
    try {
      space().from_decisions(d); // validates
    } catch (const space::SpaceError& e) {
      throw corrupt(what + ": " + e.what());
    }
    return d;
  };
  std::size_t count = 0;
  in >> count;
  std::vector<Experience> memory;
  std::map<Decisions, double> rewards;
  for (std::size_t i = 0; in && i < count; ++i) {
    Experience e;
    in >> e.reward;
    e.decisions = read_decisions("experience " + std::to_string(i));
    rewards[e.decisions] = e.reward;
    memory.push_back(std::move(e));
  }
  in >> count;
  std::set<Decisions> proposed_set;
  for (std::size_t i = 0; in && i < count; ++i)
    proposed_set.insert(read_decisions("proposal " + std::to_string(i)));
  if (!in)
    throw corrupt("truncated");
  rng_ = rng;
  proposed_ = proposed;
  span_ = span;
  q_ = std::move(q);
  memory_ = std::move(memory);
  rewards_ = std::move(rewards);
  proposed_set_ = std::move(proposed_set);
}

} // namespace hpcnas::search
