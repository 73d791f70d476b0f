#pragma once
/// The recurrent cell search space of DARTS and ENAS, for sequence tasks (text classification):
/// its activations, the RecurrentGenotype, its integer encoding and the DARTS text format.
///
/// The cell reads x_t and h_{t-1}. Node 0 mixes them with a highway gate: from
/// [c, h] = [x_t, h_{t-1}] W_0, s_0 = h_{t-1} + sigmoid(c) * (tanh(h) - h_{t-1}). Each further
/// node i picks one earlier node j and one activation f: from [c, h] = s_j W_i,
/// s_i = s_j + sigmoid(c) * (f(h) - s_j). The new hidden state h_t is the mean of nodes 1..N.
/// That is the DARTS cell (all nodes averaged) rather than ENAS's (only the nodes no other node
/// reads): its genotypes, DARTS_V2's among them, then mean exactly what the DARTS code trains,
/// and the continuous relaxation of `darts --space rnn` averages every node too.

#include <cstdint>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "hpcnas/space/genotype.hpp"

namespace hpcnas::space {

/// Candidate activations of a recurrent node. kNone exists only in the recurrent supernet.
enum class Activation : std::uint8_t { kNone = 0, kTanh, kRelu, kSigmoid, kIdentity };

inline constexpr int kCandidateActivations = 4;  ///< all of Activation but 'none'
inline constexpr int kDefaultRecurrentNodes = 8; ///< DARTS and ENAS
inline constexpr int kMaxRecurrentNodes = 64;

/// DARTS name of an activation: "tanh", "relu", "sigmoid", "identity" or "none".
std::string_view activation_name(Activation activation);
/// Inverse of activation_name; throws SpaceError for an unknown name.
Activation activation_from_name(std::string_view name);
/// The candidate activation with index i in [0, kCandidateActivations).
Activation candidate_activation(int i);

/// Node i + 1 of a cell: `activation` applied to the map of the earlier node `input` (0..i).
struct RecurrentNode {
  Activation activation = Activation::kTanh;
  int input = 0;
  bool operator==(const RecurrentNode& o) const {
    return activation == o.activation && input == o.input;
  }
};

struct RecurrentGenotype {
  std::vector<RecurrentNode> nodes; ///< nodes 1..N in order (node 0 is fixed)

  bool operator==(const RecurrentGenotype& o) const { return nodes == o.nodes; }
  bool operator!=(const RecurrentGenotype& o) const { return !(*this == o); }

  /// Encoding: per node, (input, candidate activation index); 2N values.
  std::vector<int> encode() const;
  /// Inverse of encode; throws SpaceError naming the first invalid position.
  static RecurrentGenotype decode(const std::vector<int>& code);

  /// DARTS text: Genotype(recurrent=[('sigmoid', 0), ('relu', 1), ...], concat=range(1, 9)).
  std::string to_string() const;
  /// Parses the DARTS text (concat as a list or as range(1, N + 1); it must name every node);
  /// throws SpaceError saying what is wrong and at which character.
  static RecurrentGenotype parse(std::string_view text);

  /// Throws SpaceError for no nodes, too many, 'none', or an input that is not an earlier node.
  void validate() const;
};

/// A recurrent genotype as a record field (a run-file column): its DARTS text.
inline std::string to_text(const RecurrentGenotype& genotype) { return genotype.to_string(); }
inline void from_text(std::string_view text, RecurrentGenotype& genotype) {
  genotype = RecurrentGenotype::parse(text);
}

/// The published DARTS_V2 recurrent cell (second-order DARTS on Penn Treebank).
RecurrentGenotype darts_v2_recurrent();

/// A uniformly random cell of `nodes` nodes: each node's input and activation drawn
/// independently.
RecurrentGenotype sample_recurrent(int nodes, std::mt19937_64& rng);

/// One mutation: change one node's activation or (for nodes after the first) its input. The
/// result is valid and differs from the parent.
RecurrentGenotype mutate(const RecurrentGenotype& parent, std::mt19937_64& rng);

} // namespace hpcnas::space
