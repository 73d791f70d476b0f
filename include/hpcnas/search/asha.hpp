#pragma once
/// Asynchronous successive halving (ASHA; Li et al., MLSys 2020), the promotion rule behind
/// `--scheduler asha`. Free of MPI and torch: the Dispatcher asks it, whenever a trainer is idle,
/// whether a child should go on to the next rung before the strategy proposes a new one.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "hpcnas/space/architecture.hpp"

namespace hpcnas::search {

/// The rungs of --min-epochs, --max-epochs and --eta: min * eta^k below max, then max.
std::vector<int> asha_rungs(int min_epochs, int max_epochs, int eta);

/// A child that goes on to the next rung.
struct Promotion {
  std::int64_t from = -1; ///< the evaluation whose weights it continues
  space::Architecture genotype;
  int rung = 0; ///< index of the rung it is promoted to
};

/// ASHA's rule: for an idle trainer, from the highest rung down, the best child of rung k among
/// its top floor(n_k / eta) (n_k results in the rung so far) that has not gone on yet goes on to
/// rung k + 1; when there is none, a new child starts at rung 0. Promotions never wait for a rung
/// to fill. A failed result joins its rung and is never promoted. Ties go to the older result.
class AshaScheduler {
public:
  AshaScheduler(std::vector<int> rungs, int eta,
                space::SearchSpace space = space::SearchSpace::image());

  const std::vector<int>& rungs() const { return rungs_; }
  /// The promotion for an idle trainer, or nothing: start a new child. A child is promoted once.
  std::optional<Promotion> promote();
  /// A finished evaluation at rung `rung` (its index).
  void record(std::int64_t id, const space::Architecture& genotype, int rung, double reward,
              bool ok);
  /// Results recorded at rung `rung`.
  std::size_t rung_size(int rung) const {
    return members_.at(static_cast<std::size_t>(rung)).size();
  }

  /// Every rung's members, as text: a resumed search continues exactly.
  std::string save_state() const;
  /// Throws std::runtime_error on a state of other rungs or a damaged one.
  void load_state(const std::string& state);

private:
  struct Member {
    std::int64_t id = 0;
    space::Architecture genotype;
    double reward = 0;
    bool ok = false;
    bool promoted = false;
  };

  std::vector<int> rungs_;
  int eta_;
  space::SearchSpace space_;                 ///< of the saved members' encodings
  std::vector<std::vector<Member>> members_; ///< per rung, in arrival order
};

} // namespace hpcnas::search
