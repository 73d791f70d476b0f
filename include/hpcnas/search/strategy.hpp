#pragma once
/// The search strategies behind one interface. The controller asks for an architecture whenever
/// a trainer is idle and reports each finished evaluation in arrival order; a strategy that
/// learns in batches keeps its own buffer. Strategies know nothing of MPI or HDF5.

#include <memory>
#include <random>
#include <string>

#include "hpcnas/config/search_config.hpp"
#include "hpcnas/space/genotype.hpp"
#include "hpcnas/train/evaluation.hpp"

namespace hpcnas::search {

class Strategy {
public:
  virtual ~Strategy() = default;
  virtual std::string name() const = 0;
  /// The next architecture to evaluate.
  virtual space::Genotype propose() = 0;
  /// A finished evaluation (failed ones included, with reward 0), in arrival order.
  virtual void observe(const train::EvalResult& result) = 0;
};

/// Random search: every edge's input and op drawn uniformly, seeded by the run seed.
class RandomStrategy : public Strategy {
public:
  explicit RandomStrategy(std::uint64_t seed);
  std::string name() const override { return "random"; }
  space::Genotype propose() override;
  void observe(const train::EvalResult&) override {}

private:
  std::mt19937_64 rng_;
};

/// The strategy named by cfg.strategy, seeded from cfg.seed.
std::unique_ptr<Strategy> make_strategy(const config::SearchConfig& cfg);

} // namespace hpcnas::search
