#pragma once
/// Derivation of a discrete genotype from DARTS architecture parameters (torch-free).

#include <vector>

#include "hpcnas/space/genotype.hpp"
#include "hpcnas/space/recurrent.hpp"

namespace hpcnas::darts {

/// The DARTS rule for one cell. `alpha` holds kEdges x kSupernetOps values, row-major, edges in
/// supernet order (node 0: inputs 0, 1; node 1: inputs 0, 1, 2; ...), ops in space::Op order.
/// Per edge the op weights are softmax(alpha row); per node the two incoming edges whose
/// strongest op other than 'none' is strongest are kept (ties: the lower input), strongest
/// first, each with that op. Throws std::invalid_argument on a wrong size.
space::Cell derive_cell(const std::vector<double>& alpha);

/// Both cells.
space::Genotype derive_genotype(const std::vector<double>& alpha_normal,
                                const std::vector<double>& alpha_reduce);

/// A recurrent cell of `nodes` nodes from alpha_recurrent: N(N+1)/2 rows of kCandidateActivations
/// values (space::candidate_activation order); row i(i-1)/2 + j is the edge from node j into node
/// i. Per node the (input, activation) pair of the largest alpha, which has the largest weight of
/// the node's softmax (ties: the lower input, then the lower activation). Throws
/// std::invalid_argument on a wrong size.
space::RecurrentGenotype derive_recurrent(const std::vector<double>& alpha, int nodes);

/// Number of skip_connect edges in a cell (DARTS collapses towards many of them).
int count_skip_connections(const space::Cell& cell);

/// softmax of each row of a rows x cols row-major matrix.
std::vector<double> row_softmax(const std::vector<double>& values, int cols);

} // namespace hpcnas::darts
