#pragma once
/// The DARTS/NASNet cell search space: operations, the Genotype of a normal and a reduction
/// cell, its fixed-length integer encoding and the DARTS text format.

#include <array>
#include <cstdint>
#include <random>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace hpcnas::space {

/// Candidate operations. kNone exists only on supernet edges; a Genotype never holds it.
enum class Op : std::uint8_t {
  kNone = 0,
  kMaxPool3x3,
  kAvgPool3x3,
  kSkipConnect,
  kSepConv3x3,
  kSepConv5x5,
  kDilConv3x3,
  kDilConv5x5,
};

inline constexpr int kSupernetOps = 8;  ///< all of Op, 'none' included
inline constexpr int kCandidateOps = 7; ///< the ops a genotype may use (all but 'none')
inline constexpr int kNodes = 4;        ///< intermediate nodes per cell
inline constexpr int kEdgesPerCell = 2 * kNodes;
inline constexpr int kEncodingLength = 2 * kEdgesPerCell * 2; ///< (input, op) per edge, 2 cells

/// DARTS name of an op, e.g. "sep_conv_3x3".
std::string_view op_name(Op op);
/// Inverse of op_name; throws SpaceError for an unknown name.
Op op_from_name(std::string_view name);
/// The candidate op with index i in [0, kCandidateOps).
Op candidate_op(int i);

/// Bad genotype text, encoding or edge.
class SpaceError : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

/// One incoming edge of an intermediate node: an op applied to an earlier state.
/// Inputs 0 and 1 are the two previous cells' outputs, 2.. the earlier intermediate nodes.
struct Edge {
  Op op = Op::kSkipConnect;
  int input = 0;
  bool operator==(const Edge& o) const { return op == o.op && input == o.input; }
};

/// A cell: node i (0-based) sums edges[2i] and edges[2i+1]; output concatenates all nodes.
struct Cell {
  std::array<Edge, kEdgesPerCell> edges{};
  bool operator==(const Cell& o) const { return edges == o.edges; }
};

struct Genotype {
  Cell normal;
  Cell reduce;

  bool operator==(const Genotype& o) const { return normal == o.normal && reduce == o.reduce; }
  bool operator!=(const Genotype& o) const { return !(*this == o); }

  /// Fixed-length encoding: per cell, per edge, (input, candidate op index).
  std::vector<int> encode() const;
  /// Inverse of encode; throws SpaceError naming the first invalid position.
  static Genotype decode(const std::vector<int>& code);

  /// DARTS text: Genotype(normal=[('sep_conv_3x3', 0), ...], normal_concat=[2, 3, 4, 5], ...).
  std::string to_string() const;
  /// Parses the DARTS text (concat as a list or as range(2, 6)); throws SpaceError saying
  /// what is wrong and at which character.
  static Genotype parse(std::string_view text);

  /// Throws SpaceError if an edge has 'none' or an input that is not an earlier state.
  void validate() const;
};

/// A genotype as a field of a record (a run-file column): its DARTS text. Found by
/// argument-dependent lookup, like every record field stored as text.
inline std::string to_text(const Genotype& genotype) { return genotype.to_string(); }
inline void from_text(std::string_view text, Genotype& genotype) {
  genotype = Genotype::parse(text);
}

/// The published DARTS_V2 cell (second-order DARTS on CIFAR-10).
Genotype darts_v2();

/// A uniformly random genotype: each edge's input and op drawn independently.
Genotype sample_genotype(std::mt19937_64& rng);

/// One mutation as in regularized evolution: change one op or one input of one edge. The result
/// is always valid and differs from the parent.
Genotype mutate(const Genotype& parent, std::mt19937_64& rng);

} // namespace hpcnas::space
