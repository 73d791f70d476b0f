#pragma once
/// The search strategies behind one interface. The controller asks for an architecture whenever
/// a trainer is idle and reports each finished evaluation in arrival order; a strategy that
/// learns in batches keeps its own buffer. Strategies know nothing of MPI or HDF5.

#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "hpcnas/config/search_config.hpp"
#include "hpcnas/space/architecture.hpp"
#include "hpcnas/train/evaluation.hpp"

namespace hpcnas::search {

/// One policy update of a learning strategy: a row of /controller in the run file.
struct ControllerUpdate {
  std::int64_t update = 0; ///< 0, 1, 2, ...
  double mean_reward = 0;  ///< of the batch of results the update used
  double baseline = 0;     ///< moving-average baseline after the update
  double entropy = 0;      ///< mean policy entropy over the batch
  double loss = 0;
  double grad_norm = 0; ///< before clipping

  /// A record (see train::EvalResult): one /controller column per field.
  template <typename Self, typename Visit> static void fields(Self& self, Visit&& visit) {
    visit("update", self.update);
    visit("mean_reward", self.mean_reward);
    visit("baseline", self.baseline);
    visit("entropy", self.entropy);
    visit("loss", self.loss);
    visit("grad_norm", self.grad_norm);
  }
};

/// A search strategy over one space::SearchSpace: it proposes architectures of that space only.
class Strategy {
public:
  explicit Strategy(space::SearchSpace space) : space_(space) {}
  virtual ~Strategy() = default;
  virtual std::string name() const = 0;
  const space::SearchSpace& space() const { return space_; }
  /// The next architecture to evaluate.
  virtual space::Architecture propose() = 0;
  /// A proposal that will not be evaluated (a prefilter passed it over): the strategy forgets it
  /// as if it had not been proposed, so that its counts and what it awaits cover children sent
  /// to trainers only. Strategies that keep nothing per proposal ignore it.
  virtual void discard(const space::Architecture& genotype) { (void)genotype; }
  /// A finished evaluation (failed ones included, with reward 0), in arrival order.
  virtual void observe(const train::EvalResult& result) = 0;
  /// Updates made since the last call (learning strategies only), for the run file.
  virtual std::vector<ControllerUpdate> take_updates() { return {}; }
  /// Everything needed to continue exactly (generators, population, policy and optimiser), as
  /// an opaque byte string for the checkpoint; load_state restores it into a strategy made from
  /// the same configuration.
  virtual std::vector<char> save_state() const = 0;
  virtual void load_state(const std::vector<char>& state) = 0;

private:
  space::SearchSpace space_;
};

/// Random search: every decision (an edge's input and op, a node's input and activation) drawn
/// uniformly, seeded by the run seed.
class RandomStrategy : public Strategy {
public:
  explicit RandomStrategy(std::uint64_t seed,
                          space::SearchSpace space = space::SearchSpace::image());
  std::string name() const override { return "random"; }
  space::Architecture propose() override;
  void observe(const train::EvalResult&) override {}
  std::vector<char> save_state() const override;
  void load_state(const std::vector<char>& state) override;

private:
  std::mt19937_64 rng_;
};

/// The space a search of `cfg` explores: recurrent cells of --rnn-nodes for a text dataset,
/// else image cells.
space::SearchSpace search_space(const config::SearchConfig& cfg);

/// The strategy named by cfg.strategy over search_space(cfg), seeded from cfg.seed.
std::unique_ptr<Strategy> make_strategy(const config::SearchConfig& cfg);

} // namespace hpcnas::search
