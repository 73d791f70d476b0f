#include "hpcnas/space/recurrent.hpp"

#include <algorithm>
#include <array>
#include <sstream>

#include "text_cursor.hpp"

namespace hpcnas::space {
namespace {

constexpr std::array<std::string_view, kCandidateActivations + 1> kActivationNames = {
    "none", "tanh", "relu", "sigmoid", "identity"};

/// Number of earlier nodes node i + 1 may read: nodes 0..i.
constexpr int inputs_of_recurrent_node(int i) { return i + 1; }

void validate_node(const RecurrentNode& node, int i) {
  if (node.activation == Activation::kNone)
    throw SpaceError("recurrent node " + std::to_string(i + 1) +
                     ": 'none' is only allowed in a supernet");
  if (node.input < 0 || node.input >= inputs_of_recurrent_node(i))
    throw SpaceError("recurrent node " + std::to_string(i + 1) + ": input " +
                     std::to_string(node.input) + " is not an earlier node (allowed 0.." +
                     std::to_string(i) + ")");
}

void validate_count(std::size_t nodes) {
  if (nodes == 0 || nodes > static_cast<std::size_t>(kMaxRecurrentNodes))
    throw SpaceError("a recurrent cell has 1 to " + std::to_string(kMaxRecurrentNodes) +
                     " nodes, not " + std::to_string(nodes));
}

/// Recursive-descent parser over the DARTS recurrent genotype text.
class RecurrentParser {
public:
  explicit RecurrentParser(std::string_view text) : in_(text) {}

  RecurrentGenotype parse() {
    RecurrentGenotype g;
    std::vector<int> concat;
    bool seen_recurrent = false;
    bool seen_concat = false;
    in_.expect_word("Genotype");
    in_.expect('(');
    for (int field = 0; field < 2; ++field) {
      if (field > 0)
        in_.expect(',');
      const std::string name = in_.identifier();
      in_.expect('=');
      if (name == "recurrent" && !seen_recurrent) {
        seen_recurrent = true;
        g.nodes = nodes();
      } else if (name == "concat" && !seen_concat) {
        seen_concat = true;
        concat = in_.integer_list_or_range();
      } else if (name == "recurrent" || name == "concat") {
        in_.fail("'" + name + "' given twice");
      } else {
        in_.fail("unknown field '" + name +
                 "' (a recurrent genotype has 'recurrent' and "
                 "'concat')");
      }
    }
    in_.expect(')');
    in_.expect_end();
    std::vector<int> every_node;
    for (int i = 1; i <= static_cast<int>(g.nodes.size()); ++i)
      every_node.push_back(i);
    if (concat != every_node)
      in_.fail("'concat' must be range(1, " + std::to_string(g.nodes.size() + 1) +
               "): the cell's output averages all its nodes");
    g.validate();
    return g;
  }

private:
  std::vector<RecurrentNode> nodes() {
    std::vector<RecurrentNode> out;
    in_.expect('[');
    while (!in_.peek(']')) {
      if (!out.empty())
        in_.expect(',');
      in_.expect('(');
      const std::size_t name_pos = in_.position();
      RecurrentNode node;
      try {
        node.activation = activation_from_name(in_.quoted());
      } catch (const SpaceError& err) {
        in_.rewind_to(name_pos);
        in_.fail(err.what());
      }
      in_.expect(',');
      node.input = in_.integer();
      in_.expect(')');
      out.push_back(node);
      if (out.size() > static_cast<std::size_t>(kMaxRecurrentNodes))
        in_.fail("more than " + std::to_string(kMaxRecurrentNodes) + " recurrent nodes");
    }
    in_.expect(']');
    return out;
  }

  detail::TextCursor in_;
};

} // namespace

std::string_view activation_name(Activation activation) {
  return kActivationNames.at(static_cast<std::size_t>(activation));
}

Activation activation_from_name(std::string_view name) {
  return static_cast<Activation>(detail::index_of_name(kActivationNames, name, "activation"));
}

Activation candidate_activation(int i) {
  if (i < 0 || i >= kCandidateActivations)
    throw SpaceError("candidate activation index " + std::to_string(i) + " out of range");
  return static_cast<Activation>(i + 1);
}

std::vector<int> RecurrentGenotype::encode() const {
  std::vector<int> code;
  code.reserve(2 * nodes.size());
  for (const RecurrentNode& node : nodes) {
    code.push_back(node.input);
    code.push_back(static_cast<int>(node.activation) - 1);
  }
  return code;
}

RecurrentGenotype RecurrentGenotype::decode(const std::vector<int>& code) {
  if (code.empty() || code.size() % 2 != 0)
    throw SpaceError("recurrent genotype encoding has " + std::to_string(code.size()) +
                     " values, expected 2 per node");
  validate_count(code.size() / 2);
  RecurrentGenotype g;
  for (std::size_t pos = 0; pos < code.size(); pos += 2) {
    const int activation = code[pos + 1];
    if (activation < 0 || activation >= kCandidateActivations)
      throw SpaceError("recurrent genotype encoding position " + std::to_string(pos + 1) +
                       ": activation index " + std::to_string(activation) + " out of range 0.." +
                       std::to_string(kCandidateActivations - 1));
    g.nodes.push_back({candidate_activation(activation), code[pos]});
  }
  g.validate();
  return g;
}

std::string RecurrentGenotype::to_string() const {
  std::ostringstream out;
  out << "Genotype(recurrent=[";
  for (std::size_t i = 0; i < nodes.size(); ++i)
    out << (i > 0 ? ", " : "") << "('" << activation_name(nodes[i].activation) << "', "
        << nodes[i].input << ')';
  out << "], concat=range(1, " << nodes.size() + 1 << "))";
  return out.str();
}

RecurrentGenotype RecurrentGenotype::parse(std::string_view text) {
  return RecurrentParser(text).parse();
}

void RecurrentGenotype::validate() const {
  validate_count(nodes.size());
  for (std::size_t i = 0; i < nodes.size(); ++i)
    validate_node(nodes[i], static_cast<int>(i));
}

RecurrentGenotype darts_v2_recurrent() {
  return RecurrentGenotype::parse(
      "Genotype(recurrent=[('sigmoid', 0), ('relu', 1), ('relu', 1), ('identity', 1), "
      "('tanh', 2), ('sigmoid', 5), ('tanh', 3), ('relu', 5)], concat=range(1, 9))");
}

RecurrentGenotype sample_recurrent(int nodes, std::mt19937_64& rng) {
  validate_count(static_cast<std::size_t>(std::max(nodes, 0)));
  RecurrentGenotype g;
  std::uniform_int_distribution<int> activation_dist(0, kCandidateActivations - 1);
  for (int i = 0; i < nodes; ++i) {
    const int input = std::uniform_int_distribution<int>(0, inputs_of_recurrent_node(i) - 1)(rng);
    g.nodes.push_back({candidate_activation(activation_dist(rng)), input});
  }
  return g;
}

RecurrentGenotype mutate(const RecurrentGenotype& parent, std::mt19937_64& rng) {
  parent.validate();
  RecurrentGenotype child = parent;
  const int i =
      std::uniform_int_distribution<int>(0, static_cast<int>(parent.nodes.size()) - 1)(rng);
  RecurrentNode& node = child.nodes[i];
  // Node 1 reads node 0 only; every node has 4 activations, so that mutation is always possible.
  const bool mutate_input =
      inputs_of_recurrent_node(i) > 1 && std::uniform_int_distribution<int>(0, 1)(rng) == 1;
  if (mutate_input) {
    // Draw among the other inputs so the child always differs from its parent.
    const int pick = std::uniform_int_distribution<int>(0, inputs_of_recurrent_node(i) - 2)(rng);
    node.input = pick < node.input ? pick : pick + 1;
  } else {
    const int current = static_cast<int>(node.activation) - 1;
    const int pick = std::uniform_int_distribution<int>(0, kCandidateActivations - 2)(rng);
    node.activation = candidate_activation(pick < current ? pick : pick + 1);
  }
  return child;
}

} // namespace hpcnas::space
