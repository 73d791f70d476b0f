#include "hpcnas/search/hybrid.hpp"

#include <algorithm>
#include <cmath>
#include <iterator>
#include <sstream>
#include <stdexcept>

namespace hpcnas::search {
namespace {

constexpr const char* kStateMagic = "hpcnas-hybrid-v1";
constexpr double kAdvantageClip = 3; ///< in spreads: one failed child must not swamp the policy

int draw(const std::vector<double>& p, std::mt19937_64& rng) {
  const double u = std::uniform_real_distribution<double>(0.0, 1.0)(rng);
  double cumulative = 0;
  int last = 0;
  for (std::size_t i = 0; i < p.size(); ++i) {
    if (p[i] <= 0)
      continue;
    last = static_cast<int>(i);
    cumulative += p[i];
    if (u < cumulative)
      return last;
  }
  return last; // rounding left u above the sum
}

} // namespace

MutationPolicy::MutationPolicy(space::SearchSpace space)
    : space_(space), slots_(space.max_choices()),
      worth_(static_cast<std::size_t>(space.decisions() * slots_), 0.0) {}

std::vector<double> MutationPolicy::probabilities(const std::vector<int>& parent) const {
  const int decisions = space_.decisions();
  if (parent.size() != static_cast<std::size_t>(decisions))
    throw std::invalid_argument("mutation policy: a parent of " + std::to_string(parent.size()) +
                                " decisions");
  std::vector<double> logit(worth_.size(), -INFINITY);
  double top = -INFINITY;
  for (int p = 0; p < decisions; ++p) {
    const int n = space_.choices(p);
    const int current = parent[static_cast<std::size_t>(p)];
    for (int v = 0; v < n; ++v)
      if (v != current) {
        double& l = at(logit, p, v);
        l = worth(p, v) - worth(p, current) - std::log(n - 1.0);
        top = std::max(top, l);
      }
  }
  std::vector<double> prob(logit.size(), 0.0);
  double sum = 0;
  for (std::size_t i = 0; i < logit.size(); ++i)
    if (std::isfinite(logit[i]))
      sum += prob[i] = std::exp(logit[i] - top);
  for (double& v : prob)
    v /= sum;
  return prob;
}

Mutation MutationPolicy::sample(const std::vector<int>& parent, std::mt19937_64& rng) const {
  const int chosen = draw(probabilities(parent), rng);
  Mutation m;
  m.position = chosen / slots_;
  m.from = parent[static_cast<std::size_t>(m.position)];
  m.to = chosen % slots_;
  return m;
}

PolicyStep MutationPolicy::reinforce(const std::vector<int>& parent, const Mutation& m,
                                     double advantage, double learning_rate) {
  const std::vector<double> prob = probabilities(parent);
  const std::size_t chosen = static_cast<std::size_t>(m.position * slots_ + m.to);
  PolicyStep step;
  step.log_probability = std::log(prob.at(chosen));
  for (double q : prob)
    if (q > 0)
      step.entropy -= q * std::log(q);
  // d log pi / d w[p][v]: for v != parent's c, [chosen is (p, v)] - pi(p, v); for v = c, the
  // negative sum of those over p's other values, -([chosen is at p] - pi(p)).
  std::vector<double> grad(worth_.size(), 0.0);
  for (int p = 0; p < space_.decisions(); ++p) {
    const int current = parent[static_cast<std::size_t>(p)];
    for (int v = 0; v < slots_; ++v) {
      const std::size_t i = static_cast<std::size_t>(p * slots_ + v);
      if (prob[i] <= 0 && i != chosen)
        continue;
      const double g = (i == chosen ? 1.0 : 0.0) - prob[i];
      at(grad, p, v) += g;
      at(grad, p, current) -= g;
    }
  }
  double norm2 = 0;
  for (std::size_t i = 0; i < grad.size(); ++i) {
    worth_[i] += learning_rate * advantage * grad[i];
    norm2 += grad[i] * grad[i];
  }
  step.grad_norm = std::abs(advantage) * std::sqrt(norm2);
  return step;
}

double MutationPolicy::worth(int position, int value) const {
  if (position < 0 || position >= space_.decisions() || value < 0 || value >= slots_)
    throw std::out_of_range("mutation policy: no weight (" + std::to_string(position) + ", " +
                            std::to_string(value) + ")");
  return worth_[static_cast<std::size_t>(position * slots_ + value)];
}

std::vector<double> MutationPolicy::weights() const { return worth_; }

void MutationPolicy::set_weights(const std::vector<double>& values) {
  const std::size_t expected = worth_.size();
  if (values.size() != expected)
    throw std::runtime_error("mutation policy: " + std::to_string(values.size()) +
                             " weights, expected " + std::to_string(expected));
  for (double v : values)
    if (!std::isfinite(v))
      throw std::runtime_error("mutation policy: a weight is not finite");
  worth_ = values;
}

HybridStrategy::HybridStrategy(std::uint64_t seed, const config::EvolutionConfig& evolution,
                               const config::HybridConfig& cfg, space::SearchSpace space)
    : Strategy(space), evolution_(evolution), cfg_(cfg), rng_(train::evaluation_seed(seed, -6)),
      policy_(space) {}

space::Architecture HybridStrategy::propose() {
  ++proposed_;
  if (proposed_ <= evolution_.population || population_.empty())
    return space().sample(rng_);
  const Member& parent = population_[run_tournament(population_, evolution_.sample, rng_).winner];
  const std::vector<int> parent_decisions = space().decisions_of(parent.genotype);
  const Mutation m = policy_.sample(parent_decisions, rng_);
  std::vector<int> child = parent_decisions;
  child[static_cast<std::size_t>(m.position)] = m.to;
  out_.emplace(child, Outstanding{m, parent.reward});
  return space().from_decisions(child);
}

void HybridStrategy::discard(const space::Architecture& genotype) {
  --proposed_;
  const auto [first, last] = out_.equal_range(space().decisions_of(genotype));
  if (first != last)
    out_.erase(std::prev(last)); // the newest: the one just proposed
}

void HybridStrategy::observe(const train::EvalResult& result) {
  const Member member = member_of(result);
  const auto it = out_.find(space().decisions_of(result.genotype));
  if (it != out_.end()) {
    learn(it->first, it->second, member.reward);
    out_.erase(it);
  }
  age_in(population_, member, evolution_.population);
  ++observed_;
}

void HybridStrategy::learn(const std::vector<int>& child, const Outstanding& o, double reward) {
  std::vector<int> parent = child;
  parent[static_cast<std::size_t>(o.mutation.position)] = o.mutation.from;
  const double improvement = reward - o.parent_reward;
  const double spread = std::sqrt(improvement_var_);
  const double advantage =
      updates_ == 0 || spread <= 0
          ? 0.0
          : std::clamp((improvement - improvement_mean_) / spread, -kAdvantageClip, kAdvantageClip);
  const PolicyStep step = policy_.reinforce(parent, o.mutation, advantage, cfg_.learning_rate);

  // Exponentially weighted mean and variance of the improvements (the first one starts them).
  if (updates_ == 0) {
    improvement_mean_ = improvement;
  } else {
    const double weight = 1 - cfg_.baseline_decay;
    const double delta = improvement - improvement_mean_;
    improvement_mean_ += weight * delta;
    improvement_var_ = (1 - weight) * (improvement_var_ + weight * delta * delta);
  }
  ControllerUpdate row;
  row.update = updates_++;
  row.mean_reward = reward;
  row.baseline = improvement_mean_;
  row.entropy = step.entropy;
  row.loss = -advantage * step.log_probability;
  row.grad_norm = step.grad_norm;
  untaken_.push_back(row);
}

std::vector<ControllerUpdate> HybridStrategy::take_updates() {
  std::vector<ControllerUpdate> out;
  out.swap(untaken_);
  return out;
}

std::vector<char> HybridStrategy::save_state() const {
  std::ostringstream out;
  out.precision(17);
  out << kStateMagic << '\n'
      << rng_ << '\n'
      << proposed_ << ' ' << observed_ << ' ' << updates_ << ' ' << improvement_mean_ << ' '
      << improvement_var_ << '\n';
  for (double v : policy_.weights())
    out << v << ' ';
  out << '\n';
  write_population(out, population_);
  out << out_.size() << '\n';
  for (const auto& [child, o] : out_) {
    out << o.mutation.position << ' ' << o.mutation.from << ' ' << o.mutation.to << ' '
        << o.parent_reward;
    for (int v : child)
      out << ' ' << v;
    out << '\n';
  }
  out << untaken_.size() << '\n';
  for (const ControllerUpdate& u : untaken_) {
    ControllerUpdate::fields(u, [&out](const char*, const auto& field) { out << field << ' '; });
    out << '\n';
  }
  const std::string text = out.str();
  return {text.begin(), text.end()};
}

void HybridStrategy::load_state(const std::vector<char>& state) {
  try {
    std::istringstream in(std::string(state.begin(), state.end()));
    std::string magic;
    std::getline(in, magic);
    if (magic != kStateMagic)
      throw std::runtime_error("not a hybrid state");
    std::mt19937_64 rng;
    std::int64_t proposed = 0, observed = 0, updates = 0;
    double mean = 0, var = 0;
    in >> rng >> proposed >> observed >> updates >> mean >> var;
    if (!in || proposed < 0 || observed < 0 || updates < 0 || !(var >= 0))
      throw std::runtime_error("bad header");
    std::vector<double> weights(policy_.weights().size());
    for (double& v : weights)
      in >> v;
    if (!in)
      throw std::runtime_error("truncated policy");
    MutationPolicy policy(space());
    policy.set_weights(weights);
    std::deque<Member> population =
        read_population(in, static_cast<std::size_t>(evolution_.population), space());
    std::size_t count = 0;
    in >> count;
    std::multimap<std::vector<int>, Outstanding> out;
    for (std::size_t i = 0; in && i < count; ++i) {
      Outstanding o;
      std::vector<int> child(static_cast<std::size_t>(space().decisions()));
      in >> o.mutation.position >> o.mutation.from >> o.mutation.to >> o.parent_reward;
      for (int& v : child)
        in >> v;
      if (!in)
        break;
      space().from_decisions(child); // validates
      if (o.mutation.position < 0 || o.mutation.position >= space().decisions() ||
          child[static_cast<std::size_t>(o.mutation.position)] != o.mutation.to ||
          o.mutation.from < 0 || o.mutation.from >= space().choices(o.mutation.position) ||
          o.mutation.from == o.mutation.to)
        throw std::runtime_error("mutation " + std::to_string(i) + " does not match its child");
      out.emplace(std::move(child), o);
    }
    if (!in)
      throw std::runtime_error("truncated list of mutations out");
    std::vector<ControllerUpdate> untaken;
    in >> count;
    for (std::size_t i = 0; in && i < count; ++i) {
      ControllerUpdate u;
      ControllerUpdate::fields(u, [&in](const char*, auto& field) { in >> field; });
      untaken.push_back(u);
    }
    if (!in)
      throw std::runtime_error("truncated updates");

    rng_ = rng;
    proposed_ = proposed;
    observed_ = observed;
    updates_ = updates;
    improvement_mean_ = mean;
    improvement_var_ = var;
    policy_ = policy;
    population_ = std::move(population);
    out_ = std::move(out);
    untaken_ = std::move(untaken);
  } catch (const std::exception& e) {
    throw std::runtime_error(std::string("hybrid strategy: corrupt saved state: ") + e.what());
  }
}

} // namespace hpcnas::search
