#pragma once
/// What a search explores: an Architecture (an image cell pair or a recurrent cell) and the
/// SearchSpace it comes from. The search path (strategies, the pool, checkpoints, the run file)
/// carries Architectures, so every strategy serves both spaces; a strategy sees a space only as
/// a fixed sequence of decisions, each with a number of choices, plus sampling and mutation.

#include <random>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "hpcnas/space/genotype.hpp"
#include "hpcnas/space/recurrent.hpp"

namespace hpcnas::space {

/// A Genotype (normal and reduction cell of an image network) or a RecurrentGenotype.
class Architecture {
public:
  Architecture() = default;
  Architecture(Genotype genotype) : value_(std::move(genotype)) {}          // NOLINT: implicit
  Architecture(RecurrentGenotype genotype) : value_(std::move(genotype)) {} // NOLINT: implicit

  bool is_recurrent() const { return std::holds_alternative<RecurrentGenotype>(value_); }
  /// The image genotype; throws SpaceError when this is a recurrent cell.
  const Genotype& image() const;
  /// The recurrent genotype; throws SpaceError when this is an image genotype.
  const RecurrentGenotype& recurrent() const;

  /// The DARTS text of either kind.
  std::string to_string() const;
  /// Parses either DARTS text (a recurrent one names the field 'recurrent').
  static Architecture parse(std::string_view text);
  /// The kind's own encoding (Genotype::encode or RecurrentGenotype::encode).
  std::vector<int> encode() const;

  friend bool operator==(const Architecture& a, const Architecture& b) {
    return a.value_ == b.value_;
  }
  friend bool operator!=(const Architecture& a, const Architecture& b) { return !(a == b); }

private:
  std::variant<Genotype, RecurrentGenotype> value_;
};

/// An architecture as a record field (the run file's genotype column): its DARTS text.
inline std::string to_text(const Architecture& a) { return a.to_string(); }
inline void from_text(std::string_view text, Architecture& a) { a = Architecture::parse(text); }

/// The space a search explores: image cells (the DARTS/NASNet space) or recurrent cells of a
/// given number of nodes. Its decisions are the order in which a controller builds an
/// architecture: for image cells, per cell (normal, reduce) and node, input a, input b, op a,
/// op b (ENAS micro-search); for recurrent cells, per node, its input then its activation
/// (ENAS's recurrent controller).
class SearchSpace {
public:
  static SearchSpace image() { return SearchSpace(0); }
  static SearchSpace recurrent(int nodes);

  bool is_recurrent() const { return nodes_ > 0; }
  int recurrent_nodes() const { return nodes_; }
  /// "image cells" or "recurrent cells of N nodes", for messages.
  std::string describe() const;

  int decisions() const;
  /// Choices of decision `position`: the earlier states for an input, else the ops.
  int choices(int position) const;
  /// The largest choices() of any decision.
  int max_choices() const;
  /// Choices of an op (image) or activation (recurrent) decision.
  int op_choices() const;

  /// The architecture as its decisions; throws SpaceError when it is not of this space.
  std::vector<int> decisions_of(const Architecture& a) const;
  /// Inverse of decisions_of; throws SpaceError on an invalid sequence.
  Architecture from_decisions(const std::vector<int>& decisions) const;

  /// Length of Architecture::encode() for this space.
  int encoding_length() const;
  /// Inverse of Architecture::encode; throws SpaceError on an invalid code.
  Architecture decode(const std::vector<int>& code) const;

  /// Uniformly random: sample_genotype or sample_recurrent (the same draws of `rng`).
  Architecture sample(std::mt19937_64& rng) const;
  /// One mutation (space::mutate of the kind); throws SpaceError for another space's parent.
  Architecture mutate(const Architecture& parent, std::mt19937_64& rng) const;
  /// Throws SpaceError naming the difference when `a` is not of this space.
  void require(const Architecture& a) const;

  bool operator==(const SearchSpace& o) const { return nodes_ == o.nodes_; }

private:
  explicit SearchSpace(int nodes) : nodes_(nodes) {}
  int nodes_; ///< 0: image cells
};

} // namespace hpcnas::space
