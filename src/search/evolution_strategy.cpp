#include <cmath>
#include <ostream>
#include <sstream>
#include <stdexcept>

#include "hpcnas/search/evolution.hpp"

namespace hpcnas::search {
namespace {
constexpr const char* kStateMagic = "hpcnas-evolution-v1";
} // namespace

Tournament run_tournament(const std::deque<Member>& population, int sample, std::mt19937_64& rng) {
  if (population.empty())
    throw std::logic_error("tournament on an empty population");
  Tournament t;
  std::uniform_int_distribution<std::size_t> pick(0, population.size() - 1);
  for (int i = 0; i < sample; ++i) {
    const std::size_t drawn = pick(rng);
    t.drawn.push_back(drawn);
    if (i == 0 || population[drawn].reward > population[t.winner].reward)
      t.winner = drawn;
  }
  return t;
}

Member member_of(const train::EvalResult& result) {
  Member m;
  m.genotype = result.genotype;
  m.reward =
      result.status == train::EvalStatus::kOk && std::isfinite(result.reward) ? result.reward : 0.0;
  m.id = result.id;
  return m;
}

void age_in(std::deque<Member>& population, const Member& m, int size) {
  population.push_back(m);
  while (static_cast<int>(population.size()) > size)
    population.pop_front();
}

void write_population(std::ostream& out, const std::deque<Member>& population) {
  const auto precision = out.precision(17);
  out << population.size() << '\n';
  for (const Member& m : population) {
    out << m.id << ' ' << m.reward;
    for (int v : m.genotype.encode())
      out << ' ' << v;
    out << '\n';
  }
  out.precision(precision);
}

std::deque<Member> read_population(std::istream& in, std::size_t limit,
                                   const space::SearchSpace& space) {
  std::size_t size = 0;
  if (!(in >> size) || size > limit)
    throw std::runtime_error("bad population size (saved with a larger --population?)");
  std::deque<Member> population;
  for (std::size_t i = 0; i < size; ++i) {
    Member m;
    std::vector<int> code(static_cast<std::size_t>(space.encoding_length()));
    in >> m.id >> m.reward;
    for (int& v : code)
      in >> v;
    if (!in)
      throw std::runtime_error("member " + std::to_string(i) + " is truncated");
    try {
      m.genotype = space.decode(code);
    } catch (const space::SpaceError& e) {
      throw std::runtime_error("member " + std::to_string(i) + ": " + e.what());
    }
    population.push_back(m);
  }
  return population;
}

EvolutionStrategy::EvolutionStrategy(std::uint64_t seed, const config::EvolutionConfig& cfg,
                                     space::SearchSpace space)
    : Strategy(space), cfg_(cfg), rng_(train::evaluation_seed(seed, -4)) {}

space::Architecture EvolutionStrategy::propose() {
  ++proposed_;
  if (proposed_ <= cfg_.population || population_.empty())
    return space().sample(rng_);
  const Tournament t = run_tournament(population_, cfg_.sample, rng_);
  return space().mutate(population_[t.winner].genotype, rng_);
}

void EvolutionStrategy::discard(const space::Architecture&) { --proposed_; }

void EvolutionStrategy::observe(const train::EvalResult& result) {
  age_in(population_, member_of(result), cfg_.population);
  ++observed_;
}

std::vector<char> EvolutionStrategy::save_state() const {
  std::ostringstream out;
  out << kStateMagic << '\n' << rng_ << '\n' << proposed_ << ' ' << observed_ << '\n';
  write_population(out, population_);
  const std::string text = out.str();
  return {text.begin(), text.end()};
}

void EvolutionStrategy::load_state(const std::vector<char>& state) {
  auto corrupt = [](const std::string& what) {
    return std::runtime_error("evolution strategy: corrupt saved state: " + what);
  };
  std::istringstream in(std::string(state.begin(), state.end()));
  std::string magic;
  std::getline(in, magic);
  if (magic != kStateMagic)
    throw corrupt("not an evolution state");
  std::mt19937_64 rng;
  std::int64_t proposed = 0, observed = 0;
  in >> rng >> proposed >> observed;
  if (!in || proposed < 0 || observed < 0)
    throw corrupt("bad header");
  std::deque<Member> population;
  try {
    population = read_population(in, static_cast<std::size_t>(cfg_.population), space());
  } catch (const std::runtime_error& e) {
    throw corrupt(e.what());
  }
  rng_ = rng;
  proposed_ = proposed;
  observed_ = observed;
  population_ = std::move(population);
}

} // namespace hpcnas::search
