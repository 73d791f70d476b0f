#include "hpcnas/space/architecture.hpp"

#include <algorithm>

namespace hpcnas::space {
namespace {

/// Image decisions per cell: per node, input a, input b, op a, op b.
constexpr int kImageDecisionsPerCell = 4 * kNodes;
constexpr int kImageDecisions = 2 * kImageDecisionsPerCell;

std::vector<int> image_decisions(const Genotype& g) {
  std::vector<int> out;
  out.reserve(kImageDecisions);
  for (const Cell* cell : {&g.normal, &g.reduce})
    for (int node = 0; node < kNodes; ++node) {
      const Edge& a = cell->edges[2 * node];
      const Edge& b = cell->edges[2 * node + 1];
      out.insert(out.end(),
                 {a.input, b.input, static_cast<int>(a.op) - 1, static_cast<int>(b.op) - 1});
    }
  return out;
}

Genotype image_from_decisions(const std::vector<int>& decisions) {
  Genotype g;
  std::size_t pos = 0;
  for (Cell* cell : {&g.normal, &g.reduce})
    for (int node = 0; node < kNodes; ++node) {
      Edge& a = cell->edges[2 * node];
      Edge& b = cell->edges[2 * node + 1];
      a.input = decisions[pos++];
      b.input = decisions[pos++];
      a.op = candidate_op(decisions[pos++]);
      b.op = candidate_op(decisions[pos++]);
    }
  g.validate();
  return g;
}

RecurrentGenotype recurrent_from_decisions(const std::vector<int>& decisions) {
  // The recurrent decisions are its encoding: per node, (input, activation index).
  return RecurrentGenotype::decode(decisions);
}

} // namespace

const Genotype& Architecture::image() const {
  if (const auto* g = std::get_if<Genotype>(&value_))
    return *g;
  throw SpaceError("a recurrent cell where an image genotype is needed");
}

const RecurrentGenotype& Architecture::recurrent() const {
  if (const auto* g = std::get_if<RecurrentGenotype>(&value_))
    return *g;
  throw SpaceError("an image genotype where a recurrent cell is needed");
}

std::string Architecture::to_string() const {
  return std::visit([](const auto& g) { return g.to_string(); }, value_);
}

Architecture Architecture::parse(std::string_view text) {
  if (text.find("recurrent") != std::string_view::npos)
    return RecurrentGenotype::parse(text);
  return Genotype::parse(text);
}

std::vector<int> Architecture::encode() const {
  return std::visit([](const auto& g) { return g.encode(); }, value_);
}

SearchSpace SearchSpace::recurrent(int nodes) {
  if (nodes < 1 || nodes > kMaxRecurrentNodes)
    throw SpaceError("a recurrent cell has 1 to " + std::to_string(kMaxRecurrentNodes) +
                     " nodes, not " + std::to_string(nodes));
  return SearchSpace(nodes);
}

std::string SearchSpace::describe() const {
  return is_recurrent() ? "recurrent cells of " + std::to_string(nodes_) + " nodes"
                        : std::string("image cells");
}

int SearchSpace::decisions() const { return is_recurrent() ? 2 * nodes_ : kImageDecisions; }

int SearchSpace::choices(int position) const {
  if (is_recurrent()) // node i (0-based) reads one of nodes 0..i
    return position % 2 == 0 ? position / 2 + 1 : kCandidateActivations;
  const int within_cell = position % kImageDecisionsPerCell;
  return within_cell % 4 < 2 ? within_cell / 4 + 2 : kCandidateOps;
}

int SearchSpace::max_choices() const {
  return is_recurrent() ? std::max(nodes_, kCandidateActivations)
                        : std::max(kNodes + 1, kCandidateOps);
}

int SearchSpace::op_choices() const {
  return is_recurrent() ? kCandidateActivations : kCandidateOps;
}

void SearchSpace::require(const Architecture& a) const {
  if (a.is_recurrent() != is_recurrent())
    throw SpaceError("the search space is " + describe() + ", not " +
                     (a.is_recurrent() ? "recurrent cells" : "image cells"));
  if (is_recurrent() && a.recurrent().nodes.size() != static_cast<std::size_t>(nodes_))
    throw SpaceError("the search space is " + describe() + ", not a cell of " +
                     std::to_string(a.recurrent().nodes.size()) + " nodes");
}

std::vector<int> SearchSpace::decisions_of(const Architecture& a) const {
  require(a);
  return is_recurrent() ? a.recurrent().encode() : image_decisions(a.image());
}

Architecture SearchSpace::from_decisions(const std::vector<int>& decisions) const {
  if (decisions.size() != static_cast<std::size_t>(this->decisions()))
    throw SpaceError("decisions of " + describe() + ": " + std::to_string(decisions.size()) +
                     " values, expected " + std::to_string(this->decisions()));
  if (is_recurrent())
    return recurrent_from_decisions(decisions);
  return image_from_decisions(decisions);
}

int SearchSpace::encoding_length() const { return is_recurrent() ? 2 * nodes_ : kEncodingLength; }

Architecture SearchSpace::decode(const std::vector<int>& code) const {
  if (code.size() != static_cast<std::size_t>(encoding_length()))
    throw SpaceError("encoding of " + describe() + ": " + std::to_string(code.size()) +
                     " values, expected " + std::to_string(encoding_length()));
  if (is_recurrent())
    return RecurrentGenotype::decode(code);
  return Genotype::decode(code);
}

Architecture SearchSpace::sample(std::mt19937_64& rng) const {
  if (is_recurrent())
    return sample_recurrent(nodes_, rng);
  return sample_genotype(rng);
}

Architecture SearchSpace::mutate(const Architecture& parent, std::mt19937_64& rng) const {
  require(parent);
  if (is_recurrent())
    return space::mutate(parent.recurrent(), rng);
  return space::mutate(parent.image(), rng);
}

} // namespace hpcnas::space
