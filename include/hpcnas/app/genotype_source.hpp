#pragma once
/// Where `hpcnas train` takes its genotype from: DARTS text, or the result of a search or DARTS
/// run file.

#include <string>

#include "hpcnas/space/architecture.hpp"

namespace hpcnas::app {

struct PickedGenotype {
  space::Architecture genotype; ///< an image genotype or (a text search's) recurrent cell
  std::string description;    ///< e.g. "evaluation 41 of run.h5 (reward 0.8130)"
  double source_seconds = -1; ///< the source run's wall time (-1: given as text)
};

/// The genotype of `--from run` (search: the best successful evaluation by reward, or the
/// evaluation whose id `pick` names; darts: the last epoch's). Throws config::ConfigError for a
/// bad `pick` and store::StoreError for a file that is not a run file or holds no result. A file
/// from elsewhere is verified first (verify_run_file or store::verify_readable).
PickedGenotype pick_genotype(const std::string& run, const std::string& pick);

} // namespace hpcnas::app
